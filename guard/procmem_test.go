package guard

import (
	"os"
	"syscall"
	"testing"

	"github.com/sigguard/sigguard/internal/bpf"
)

// Once openat is hooked, the programs know /proc/<pid>/mem's f_op: opens
// of other files then cost the hook two reads, not four. (That the
// files are still caught with it is the bypass suite's business: it
// opens them every way there is, under a guard that has learned it.)
func TestOpenHookLearnsProcMem(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("privileged test run without root in CI")
		}
		t.Skip("needs root")
	}
	// Audit only, and for a command name no process here has.
	g, err := Start(Config{Rules: []Rule{{Syscalls: Presets["memory-access"], Match: Matchers{Comm: []string{"sg-no-such-comm"}},
		Action: ActionAudit, Signal: syscall.SIGKILL}}})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	var fops uint64
	if err := g.coll.Variables[bpf.GuardVarProcMemFops].Get(&fops); err != nil {
		t.Fatal(err)
	}
	if fops == 0 {
		t.Fatal("the open hook did not learn /proc/<pid>/mem's f_op from sigguard's own open")
	}
}
