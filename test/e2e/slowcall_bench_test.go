package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/sigguard/sigguard/examples/slowcall/slowcalltest"
	"github.com/sigguard/sigguard/internal/testenv"
)

// BenchmarkSlowReadHandlerLatency measures, for docs/performance.md, the
// time from a slow read's exit (the kernel's stamp on the event) to the
// first instruction of the handler the signal ran, on the reading thread:
// 40 reads each made slow on purpose, under a rule with no rate limit.
//
//	go test -run '^$' -bench SlowReadHandlerLatency -benchtime 1x ./test/e2e/
func BenchmarkSlowReadHandlerLatency(b *testing.B) {
	testenv.RequireRoot(b)
	bin := slowcalltest.Build(b)
	cg := testenv.NewCgroup(b)
	policy := filepath.Join(b.TempDir(), "policy.yaml")
	if err := os.WriteFile(policy, []byte(fmt.Sprintf(`rules:
  - name: slow-read
    syscalls: [read]
    match: { cgroup: [%s] }
    when: { slower_than: 10ms }
    action: { signal: USR2, scope: thread }
`, cg.Path)), 0o644); err != nil {
		b.Fatal(err)
	}
	const reads = 40
	var delays []time.Duration
	for range b.N {
		guard := startBinary(b, "--policy", policy)
		p := slowcalltest.Start(b, cg.Command(bin))
		p.Stdin.WriteString("first\n")
		p.WorkerTID(b)
		for range reads {
			time.Sleep(25 * time.Millisecond)
			p.Stdin.WriteString("slow\n")
		}
		report, err := p.Finish(b)
		if err != nil {
			b.Fatalf("slowcall: %v", err)
		}
		if err := guard.stop(b, syscall.SIGTERM); err != nil {
			b.Fatalf("sigguard: %v", err)
		}
		var stamps []int64
		for line := range guard.lines {
			var ev slowEvent
			if json.Unmarshal(line, &ev) == nil && ev.Type == "intervention" && ev.PID == p.Cmd.Process.Pid {
				stamps = append(stamps, ev.BootNS)
			}
		}
		slices.Sort(stamps)
		if len(stamps) != len(report.Handlers) {
			b.Fatalf("%d events and %d handler runs", len(stamps), len(report.Handlers))
		}
		for i, h := range report.Handlers {
			delays = append(delays, time.Duration(h.BootNS-stamps[i]))
		}
	}
	slices.Sort(delays)
	at := func(q float64) time.Duration { return delays[int(q*float64(len(delays)-1))] }
	b.ReportMetric(float64(at(0.5).Microseconds()), "median-µs")
	b.ReportMetric(float64(at(0.9).Microseconds()), "p90-µs")
	b.ReportMetric(float64(delays[len(delays)-1].Microseconds()), "max-µs")
	b.Logf("%d slow reads: from the read's exit to the handler's first instruction: min %v, median %v, p90 %v, max %v",
		len(delays), delays[0], at(0.5), at(0.9), delays[len(delays)-1])
}
