package e2e

import (
	"errors"
	"io"
	"net"
	"net/http"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sigguard/sigguard/internal/testenv"
)

func TestMetrics(t *testing.T) {
	testenv.RequireRoot(t)
	offender := testenv.Offender(t)
	cg := testenv.NewCgroup(t)
	guard := startBinary(t, "--cgroup", cg.Path, "--metrics-addr", "127.0.0.1:0")
	m := regexp.MustCompile(`metrics at (http://\S+/metrics)`).FindStringSubmatch(guard.stderr.String())
	if m == nil {
		t.Fatalf("no metrics address on stderr:\n%s", guard.stderr)
	}
	cmd := cg.Command(offender, "fail")
	var ee *exec.ExitError
	if err := cmd.Run(); !errors.As(err, &ee) {
		t.Fatalf("offender: %v", err)
	}
	guard.event(t, cmd.Process.Pid)

	var body string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		resp, err := http.Get(m[1])
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if body = string(b); strings.Contains(body, "sigguard_kill_latency_seconds_count 1") {
			break
		}
	}
	for _, want := range []string{
		`sigguard_interventions_total{action="signal-process",result="0",rule="command-line",syscall="ptrace"} 1`,
		`sigguard_rule_matches_total{rule="command-line"} 1`,
		`sigguard_rule_signals_sent_total{rule="command-line"} 1`,
		"sigguard_kills_confirmed_total 1",
		"sigguard_kills_unconfirmed_total 0",
		"sigguard_events_lost_total 0",
		"sigguard_kill_latency_seconds_count 1",
		"sigguard_ring_buffer_fill_ratio 0",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if err := guard.stop(t, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get(m[1]); err == nil {
		t.Error("metrics still served after sigguard stopped")
	}
}

// A port already taken is bad input: exit 2, before anything is loaded.
func TestMetricsPortInUse(t *testing.T) {
	testenv.RequireRoot(t)
	bin := testenv.Build(t, "./cmd/sigguard")
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	cmd := exec.Command(bin, "--cgroup", "/", "--metrics-addr", taken.Addr().String())
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(string(out), "--metrics-addr "+taken.Addr().String()) ||
		strings.Contains(string(out), "tier") {
		t.Errorf("exit %v, output %q", err, out)
	}
}
