package guard_test

import (
	"errors"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/sigguard/sigguard/guard"
	"github.com/sigguard/sigguard/internal/testenv"
)

// Each deny tier the kernel offers, forced in turn, refuses an attach and
// leaves the victim running and untraced. The kernel matrix reads the
// "deny tier X: refuses" lines for docs/kernels.md.
func TestEveryDenyTierTheKernelOffersRefuses(t *testing.T) {
	testenv.RequireRoot(t)
	offender := testenv.Offender(t)
	for _, tier := range []guard.Tier{guard.TierLSM, guard.TierFmodRet} {
		t.Run(string(tier), func(t *testing.T) {
			cg := testenv.NewCgroup(t)
			rule := guard.Rule{Action: guard.ActionDeny, Match: guard.Matchers{Cgroup: []string{cg.Path}}}
			g, err := guard.Start(guard.Config{Rules: []guard.Rule{rule}, Tier: tier})
			var ce *guard.ConfigError
			if errors.As(err, &ce) && ce.Setting == guard.SettingTier {
				// The tier the kernel matrix requires of this kernel, or
				// else the one sigguard picks when left to itself, is
				// offered: its refusal is a failure, not a skip. (Where
				// both are known, TestTierIsTheBestTheKernelOffers holds
				// them equal; the expected one costs no guard start.)
				offered := expectedTier(t)
				if offered == guard.TierAuto {
					offered, _ = autoTier(t)
				}
				if tier == offered {
					t.Fatalf("deny tier %s refused, yet this kernel offers it: %v", tier, err)
				}
				t.Skipf("deny tier %s: not offered (%v)", tier, err)
			}
			if err != nil {
				t.Fatalf("start in tier %s: %v", tier, err)
			}
			ids := g.ProgramIDs()
			defer testenv.AssertUnloaded(t, ids)
			defer g.Close()
			victim, report := startVictim(t, cg, offender)
			out, err := cg.Command(offender, "once", "attach", strconv.Itoa(victim.Process.Pid)).Output()
			if got := strings.TrimSpace(string(out)); err != nil || got != "errno=1" {
				t.Fatalf("attach in tier %s: %v, %q; want errno=1 (EPERM)", tier, err, got)
			}
			assertVictimUntouched(t, victim.Process.Pid, report)
			t.Logf("deny tier %s: refuses", tier)
		})
	}
}

// In a deny tier, a rule with a signal both refuses the call and signals:
// the caller sees EPERM returned, then the signal arrives. A non-fatal
// signal shows both (SIGKILL would end the caller before it could tell).
func TestDenyTierReturnsEPERMAndSignals(t *testing.T) {
	tier := denyTier(t)
	offender := testenv.Offender(t)
	cg := testenv.NewCgroup(t)
	r := startGuard(t, cg, guard.Rule{Action: guard.ActionSignalProcess, Signal: syscall.SIGUSR1}, guard.Config{Tier: tier}, 0)
	victim, report := startVictim(t, cg, offender)
	cmd := cg.Command(offender, "once-usr1", "attach", strconv.Itoa(victim.Process.Pid))
	out, err := cmd.Output()
	if got := strings.TrimSpace(string(out)); err != nil || !strings.HasPrefix(got, "errno=1\nusr1 received") {
		t.Fatalf("offender: %v, %q; want errno=1 (EPERM) and then the SIGUSR1", err, got)
	}
	assertVictimUntouched(t, victim.Process.Pid, report)
	evs := r.eventsOf(cmd.Process.Pid, 1)
	if len(evs) != 1 || !evs[0].Denied || evs[0].Tier != tier || evs[0].Signal != syscall.SIGUSR1 || !evs[0].Success() {
		t.Errorf("want one denied event that sent SIGUSR1, got %+v", evs)
	}
}
