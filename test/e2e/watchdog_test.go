package e2e

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/sigguard/sigguard/internal/testenv"
)

// In the signal tier a PTRACE_ATTACH on sigguard itself takes effect before
// the attacker's SIGKILL lands, and stops sigguard. With the clean-up on,
// sigguard often reads the attacker's exit before the stop holds and
// resumes itself; with --keep-collateral it stays stopped (seen here, 3 in
// 3) unless its watchdog resumes it. Either way later attacks must still
// be reported.
func TestAnAttachOnSigguardDoesNotFreezeIt(t *testing.T) {
	testenv.RequireRoot(t)
	cg := testenv.NewCgroup(t)
	b := startBinary(t, "--cgroup", cg.Path, "--keep-collateral")
	self := b.cmd.Process.Pid

	attacker := attackVictim(t, cg, self)
	b.stderr.waitFor(t, fmt.Sprintf("sigguard (pid %d) was stopped with no tracer", self))
	waitForJSON(t, b, "the attacker's exit", func(ev event) bool { return ev.Type == "exited" && ev.PID == attacker })
	later := attack(t, cg)
	waitForJSON(t, b, "the later attacker's exit", func(ev event) bool { return ev.Type == "exited" && ev.PID == later })
	if state, _, err := testenv.ProcStatus(self); err == nil && strings.HasPrefix(state, "T") {
		t.Errorf("sigguard is stopped: %s", state)
	}
	if err := b.stop(t, os.Interrupt); err != nil {
		t.Fatalf("sigguard exited with %v; stderr:\n%s", err, b.stderr)
	}
}
