package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sigguard/sigguard/internal/testenv"
)

// A flood of ptrace calls in audit mode: sigguard stays up, its memory stays
// bounded, and every call is either delivered or counted as lost, exactly.
// The rate is logged, not asserted (speed goals live in `sigguard bench`).
func TestFloodIsAccountedForExactly(t *testing.T) {
	testenv.RequireRoot(t)
	bin := testenv.Build(t, "./cmd/sigguard")
	offender := testenv.Offender(t)
	cg := testenv.NewCgroup(t)
	ready := filepath.Join(t.TempDir(), "ready")
	guard := exec.Command(bin, "--cgroup", cg.Path, "--audit", "--output", "json", "--ready-file", ready)
	stdout, err := guard.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	guard.Stderr = &stderr
	if err := guard.Start(); err != nil {
		t.Fatal(err)
	}
	defer guard.Process.Kill()

	var delivered, lostReported uint64
	reading := make(chan struct{})
	go func() {
		defer close(reading)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var ev struct {
				Type string `json:"type"`
				Lost uint64 `json:"lost"`
			}
			if json.Unmarshal(sc.Bytes(), &ev) == nil {
				switch ev.Type {
				case "intervention":
					delivered++
				case "lost":
					lostReported += ev.Lost
				}
			}
		}
	}()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(ready); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready: %s", stderr.String())
		}
	}

	const offenders, calls = 3, 4_000_000
	var maxRSS float64
	sampling := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-sampling:
				return
			case <-time.After(100 * time.Millisecond):
				maxRSS = max(maxRSS, rssMiB(guard.Process.Pid))
			}
		}
	}()
	began := time.Now()
	var cmds []*exec.Cmd
	for i := 0; i < offenders; i++ {
		cmd := cg.Command(offender, "fail")
		cmd.Env = append(os.Environ(), "OFFENDER_CALLS="+strconv.Itoa(calls))
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
	}
	for _, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Fatalf("audited offender: %v", err)
		}
	}
	elapsed := time.Since(began)
	time.Sleep(300 * time.Millisecond) // the last lost report
	close(sampling)
	wg.Wait()
	if st, err := os.ReadFile("/proc/" + strconv.Itoa(guard.Process.Pid) + "/stat"); err != nil || bytes.Contains(st, []byte(") Z ")) {
		t.Fatalf("sigguard died under the flood: %s", stderr.String())
	}
	if err := guard.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-reading
	if err := guard.Wait(); err != nil {
		t.Fatalf("sigguard: %v\n%s", err, stderr.String())
	}

	m := regexp.MustCompile(`stopped: (\d+) interventions, \d+ calls denied, \d+ signals sent, \d+ failed sends, \d+ held back, (\d+) events lost`).FindStringSubmatch(stderr.String())
	if m == nil {
		t.Fatalf("no summary:\n%s", stderr.String())
	}
	matched, _ := strconv.ParseUint(m[1], 10, 64)
	lost, _ := strconv.ParseUint(m[2], 10, 64)
	offered := uint64(offenders * calls)
	t.Logf("%d calls in %v (%.2f M/s offered): %d delivered, %d lost, sigguard RSS at most %.1f MiB",
		offered, elapsed.Round(time.Millisecond), float64(offered)/elapsed.Seconds()/1e6, delivered, lost, maxRSS)
	if matched != offered {
		t.Errorf("the kernel matched %d of %d calls", matched, offered)
	}
	if delivered+lost != offered {
		t.Errorf("delivered %d + lost %d != offered %d", delivered, lost, offered)
	}
	if lostReported != lost {
		t.Errorf("lost records on stdout add up to %d, the summary says %d", lostReported, lost)
	}
	if maxRSS == 0 || maxRSS > 64 {
		t.Errorf("sigguard's RSS reached %.1f MiB under the flood (bound: 64)", maxRSS)
	}
}

// In kill mode, every one of many offenders started together dies, and
// none gets a call back.
func TestEveryOffenderOfAFloodDies(t *testing.T) {
	testenv.RequireRoot(t)
	offender := testenv.Offender(t)
	cg := testenv.NewCgroup(t)
	startBinary(t, "--cgroup", cg.Path)
	const total, batch = 120, 12
	for done := 0; done < total; done += batch {
		var cmds []*exec.Cmd
		var counts []*testenv.Counter
		for i := 0; i < batch; i++ {
			count := testenv.NewCounter(t)
			cmd := cg.Command(offender, "fail")
			cmd.Env = append(os.Environ(), count.Env())
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			cmds, counts = append(cmds, cmd), append(counts, count)
		}
		for i, cmd := range cmds {
			err := cmd.Wait()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
				t.Fatalf("offender %d: %v, want SIGKILL", done+i, err)
			}
			if n := counts[i].Value(t); n != 0 {
				t.Fatalf("offender %d got %d calls through", done+i, n)
			}
		}
	}
}

func rssMiB(pid int) float64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	m := regexp.MustCompile(`VmRSS:\s+(\d+) kB`).FindSubmatch(b)
	if m == nil {
		return 0
	}
	kb, _ := strconv.Atoi(string(m[1]))
	return float64(kb) / 1024
}
