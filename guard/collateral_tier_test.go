package guard_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sigguard/sigguard/guard"
	"github.com/sigguard/sigguard/internal/testenv"
)

// The caller's own child that its attach targeted (strace's probe child)
// is killed after the caller only where the attach ran: in the signal
// tier. A deny tier refused the attach, which touched no one, so the
// child is left alone. Deny tiers run this in the kernel matrix.
func TestOwnChildIsReapedOnlyWhenTheAttachRan(t *testing.T) {
	testenv.RequireRoot(t)
	offender := testenv.Offender(t)
	tiers := []guard.Tier{guard.TierSignal}
	if best, _ := autoTier(t); best != guard.TierSignal {
		tiers = append(tiers, best)
	}
	for _, tier := range tiers {
		t.Run(string(tier), func(t *testing.T) {
			cg := testenv.NewCgroup(t)
			r := startGuard(t, cg, killRule, guard.Config{Tier: tier}, 0)
			// The shell becomes the offender, so the sleep is its child;
			// the sleep must not hold the output Output waits to close.
			cmd := cg.Command("sh", "-c", `sleep 60 >/dev/null 2>&1 & echo $!; exec "$0" seize $!`, offender)
			out, err := cmd.Output()
			assertKilled(t, err, "the attaching parent")
			child, err := strconv.Atoi(strings.TrimSpace(string(out)))
			if err != nil {
				t.Fatalf("child pid: %q", out)
			}
			exits := r.exitsOf(cmd.Process.Pid)
			if len(exits) != 1 {
				t.Fatalf("want the caller's exit confirmed, got %+v", exits)
			}
			reaped := tier == guard.TierSignal
			if got := exits[0].Reaped == child; got != reaped {
				t.Errorf("tier %s: exit says reaped %d, want the child %d reaped: %v", tier, exits[0].Reaped, child, reaped)
			}
			if reaped {
				waitFor(t, fmt.Sprintf("the child %d to be gone", child), func() bool { return !isRunning(child) })
				return
			}
			time.Sleep(300 * time.Millisecond) // a clean-up would have run by now
			if !isRunning(child) {
				t.Errorf("tier %s: the child of a refused attach was killed", tier)
			}
		})
	}
}

// isRunning says whether pid is a live process (not gone, not a zombie).
func isRunning(pid int) bool {
	state, _, err := testenv.ProcStatus(pid)
	return err == nil && !strings.HasPrefix(state, "Z") && !strings.HasPrefix(state, "X")
}
