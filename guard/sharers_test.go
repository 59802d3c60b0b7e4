package guard_test

import (
	"slices"
	"syscall"
	"testing"

	"github.com/sigguard/sigguard/guard"
	"github.com/sigguard/sigguard/internal/testenv"
)

// A process sharing the descriptor table of a caller killed for
// pidfd_getfd (clone with CLONE_FILES, a process of its own) would keep
// the descriptor the call installs after its kill; the kill reaches it
// too, before it can use it. Linux 6.13 and later: the kernel side needs
// bpf_send_signal_task, and on such a kernel its absence fails the test.
func TestSharersOfAKilledCallerAreKilled(t *testing.T) {
	testenv.RequireRoot(t)
	offender := testenv.Offender(t)
	cg := testenv.NewCgroup(t)
	r := startGuard(t, cg, guard.Rule{Syscalls: guard.Presets["memory-access"], Action: guard.ActionSignalProcess,
		Signal: syscall.SIGKILL}, guard.Config{Tier: guard.TierSignal}, 0)
	if !r.g.SharersReached() {
		if testenv.KernelAtLeast(t, 6, 13) {
			t.Fatal("Linux 6.13 or later, yet kills do not reach descriptor-table sharers")
		}
		t.Skip("before Linux 6.13 no BPF program can signal another task")
	}
	i := slices.IndexFunc(bypasses, func(b bypass) bool { return b.mode == "files-sharer-getfd-marker" })
	const tries = 3
	for range tries {
		out := runBypass(t, offender, &scopedGuard{cg, r}, bypasses[i])
		if !out.killed || out.landed {
			t.Errorf("caller killed %v, the sharer's write landed %v: want killed, and no write", out.killed, out.landed)
		}
	}
	stats, err := r.g.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if stats.SharersKilled != tries {
		t.Errorf("%d sharers killed, want %d", stats.SharersKilled, tries)
	}
}
