package guard_test

import (
	"errors"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sigguard/sigguard/guard"
	"github.com/sigguard/sigguard/internal/testenv"
)

// expectedTier is the tier the kernel matrix requires of the kernel it
// booted (SIGGUARD_EXPECT_TIER: "lsm" for BPF LSM, "fmod_ret" for a kernel
// booted without bpf in lsm=); TierAuto outside the matrix.
func expectedTier(t *testing.T) guard.Tier {
	tier, err := guard.ParseTier(os.Getenv("SIGGUARD_EXPECT_TIER")) // "": TierAuto
	if err != nil {
		t.Fatalf("SIGGUARD_EXPECT_TIER: %v", err)
	}
	return tier
}

// autoTierCache keeps autoTier's answer: the kernel's offer does not
// change while the test binary runs, and loading a guard takes 3 to 10 s
// in the kernel matrix's emulated guests.
var autoTierCache struct {
	sync.Mutex
	known      bool
	tier       guard.Tier
	passedOver []string
}

// autoTier starts an audit guard with the tier left to the kernel, and
// returns what it chose and why it passed over better ones. Only the first
// call that gets an answer starts a guard; later ones are told the same.
func autoTier(t *testing.T) (guard.Tier, []string) {
	t.Helper()
	c := &autoTierCache
	c.Lock()
	defer c.Unlock()
	if !c.known {
		c.tier, c.passedOver = startAutoTier(t)
		c.known = true
	}
	return c.tier, slices.Clone(c.passedOver)
}

func startAutoTier(t *testing.T) (guard.Tier, []string) {
	t.Helper()
	cg := testenv.NewCgroup(t)
	g, err := guard.Start(guard.Config{Rules: []guard.Rule{{
		Action: guard.ActionAudit, Signal: syscall.SIGKILL, Match: guard.Matchers{Cgroup: []string{cg.Path}},
	}}})
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	ids := g.ProgramIDs()
	defer testenv.AssertUnloaded(t, ids)
	defer g.Close()
	return g.Tier(), g.TierPassedOver()
}

func TestTierIsTheBestTheKernelOffers(t *testing.T) {
	testenv.RequireRoot(t)
	tier, passedOver := autoTier(t)
	t.Logf("tier %s; passed over: %q", tier, passedOver)
	if want := expectedTier(t); want != guard.TierAuto && tier != want {
		t.Fatalf("tier %s, want %s on this kernel (passed over: %q)", tier, want, passedOver)
	}
	switch tier {
	case guard.TierLSM:
		if len(passedOver) != 0 {
			t.Errorf("the best tier was taken, yet some were passed over: %q", passedOver)
		}
	case guard.TierFmodRet:
		if len(passedOver) != 1 || !strings.HasPrefix(passedOver[0], "lsm: ") {
			t.Errorf("fmod_ret must say why lsm was passed over: %q", passedOver)
		}
	case guard.TierSignal:
		if len(passedOver) != 2 {
			t.Errorf("the signal tier must say why lsm and fmod_ret were passed over: %q", passedOver)
		}
	}
}

func TestTierCanBeChosen(t *testing.T) {
	testenv.RequireRoot(t)
	best, _ := autoTier(t)
	cg := testenv.NewCgroup(t)
	rule := guard.Rule{Action: guard.ActionAudit, Signal: syscall.SIGKILL, Match: guard.Matchers{Cgroup: []string{cg.Path}}}
	g, err := guard.Start(guard.Config{Rules: []guard.Rule{rule}, Tier: guard.TierSignal})
	if err != nil {
		t.Fatalf("the signal tier must always start: %v", err)
	}
	if g.Tier() != guard.TierSignal || len(g.TierPassedOver()) != 0 {
		t.Errorf("asked for signal, got %s (passed over %q)", g.Tier(), g.TierPassedOver())
	}
	g.Close()
	if best != guard.TierSignal {
		return
	}
	// Asking for what the kernel cannot do is refused, nothing loaded.
	_, err = guard.Start(guard.Config{Rules: []guard.Rule{rule}, Tier: guard.TierLSM})
	var ce *guard.ConfigError
	if !errors.As(err, &ce) || ce.Setting != guard.SettingTier {
		t.Fatalf("asked for lsm on a kernel without it: %v, want a tier ConfigError", err)
	}
}

// denyTier is the deny tier this kernel offers, or skips: such kernels
// run this in the kernel matrix, and TestTierIsTheBestTheKernelOffers
// fails there if the tier is missing.
func denyTier(t *testing.T) guard.Tier {
	t.Helper()
	testenv.RequireRoot(t)
	tier, passedOver := autoTier(t)
	if tier == guard.TierSignal {
		t.Skipf("no deny tier on this kernel (%q); the kernel matrix runs this where there is one", passedOver)
	}
	return tier
}

// The deny tier refuses every route before it takes effect: the caller
// gets an error, the victim is untouched, and a deny rule sends nothing.
func TestDenyRefusesBeforeTheCallTakesEffect(t *testing.T) {
	tier := denyTier(t)
	offender := testenv.Offender(t)
	for _, route := range []struct {
		mode  string
		errno syscall.Errno
		call  guard.Syscall
	}{
		{"attach", syscall.EPERM, guard.SyscallPtrace},
		{"seize", syscall.EPERM, guard.SyscallPtrace},
		{"vm-readv", syscall.EPERM, guard.SyscallProcessVMReadv},
		{"vm-writev-marker", syscall.EPERM, guard.SyscallProcessVMWritev},
		// mm_access turns every refusal into EACCES, whatever the LSM said.
		{"mem-openat", syscall.EACCES, guard.SyscallOpenat},
		{"pidfd-getfd", syscall.EPERM, guard.SyscallPidfdGetfd},
	} {
		t.Run(route.mode, func(t *testing.T) {
			cg := testenv.NewCgroup(t)
			r := startGuard(t, cg, guard.Rule{Syscalls: guard.Presets["memory-access"], Action: guard.ActionDeny},
				guard.Config{Tier: tier}, 0)
			victim, report := startVictim(t, cg, offender)
			cmd := cg.Command(offender, "once", route.mode, strconv.Itoa(victim.Process.Pid))
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("offender: %v (a deny rule must not signal)", err)
			}
			if got := strings.TrimSpace(string(out)); got != "errno="+strconv.Itoa(int(route.errno)) {
				t.Errorf("offender got %s, want errno=%d (%v)", got, route.errno, route.errno)
			}
			assertVictimUntouched(t, victim.Process.Pid, report)
			evs := r.eventsOf(cmd.Process.Pid, 1)
			if len(evs) != 1 || !evs[0].Denied || evs[0].Tier != tier || evs[0].Syscall != route.call ||
				evs[0].Target != int64(victim.Process.Pid) || !evs[0].Success() {
				t.Errorf("want one denied %s event in tier %s naming %d, got %+v", route.call, tier, victim.Process.Pid, evs)
			}
		})
	}
}

// perf_event_open checks ptrace access only for callers without
// CAP_PERFMON: root's call never reaches a deny tier's hook. It is judged
// at syscall entry in every tier, so a deny rule kills such a caller, and
// the event says it was not refused.
func TestDenyTierKillsPerfEventOpenAtEntry(t *testing.T) {
	tier := denyTier(t)
	cg := testenv.NewCgroup(t)
	r := startGuard(t, cg, guard.Rule{Syscalls: guard.Presets["memory-access"], Action: guard.ActionDeny},
		guard.Config{Tier: tier}, 0)
	state, err, n := attackOnce(t, cg, "perf-open")
	assertKilled(t, err, "root's perf_event_open under a deny rule")
	if n != 0 {
		t.Errorf("%d calls returned, want 0", n)
	}
	evs := r.eventsOf(state.Pid(), 1)
	if len(evs) != 1 || evs[0].Denied || evs[0].Tier != guard.TierSignal || evs[0].Syscall != guard.SyscallPerfEventOpen {
		t.Errorf("want one perf_event_open event judged at entry (tier signal, not denied), got %+v", evs)
	}
}

// With a signal action, the deny tier refuses the call and signals too.
func TestDenyTierAlsoSignalsWhenTheRuleSaysSo(t *testing.T) {
	tier := denyTier(t)
	offender := testenv.Offender(t)
	cg := testenv.NewCgroup(t)
	r := startGuard(t, cg, guard.Rule{Action: guard.ActionSignalProcess, Signal: syscall.SIGKILL}, guard.Config{Tier: tier}, 0)
	victim, report := startVictim(t, cg, offender)
	count := testenv.NewCounter(t)
	cmd := cg.Command(offender, "attach", strconv.Itoa(victim.Process.Pid))
	cmd.Env = append(os.Environ(), count.Env())
	assertKilled(t, cmd.Run(), "attach under a kill rule")
	if n := count.Value(t); n != 0 {
		t.Errorf("%d calls returned, want 0", n)
	}
	assertVictimUntouched(t, victim.Process.Pid, report)
	evs := r.eventsOf(cmd.Process.Pid, 1)
	if len(evs) != 1 || !evs[0].Denied || evs[0].Tier != tier || evs[0].Result != 0 {
		t.Errorf("want one denied-and-signalled event, got %+v", evs)
	}
}

// startVictim starts the offender as a victim holding a marker, and
// returns a function asking it whether the marker is intact.
func startVictim(t *testing.T, cg *testenv.Cgroup, offender string) (*exec.Cmd, func() string) {
	t.Helper()
	v := startSecretVictim(t, cg, offender)
	return v.cmd, v.report
}

// assertVictimUntouched checks the victim is running, traced by no one,
// and holds its marker as it was.
func assertVictimUntouched(t *testing.T, pid int, report func() string) {
	t.Helper()
	time.Sleep(50 * time.Millisecond) // a stop would have landed by now
	tracer, state := tracerAndState(t, pid)
	if isStopped(state) {
		t.Errorf("victim is stopped: %s", state)
	}
	if tracer != 0 {
		t.Errorf("victim is traced by %d", tracer)
	}
	if got := report(); got != "intact" {
		t.Errorf("victim's marker: %s, want intact", got)
	}
}
