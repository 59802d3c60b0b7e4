package guard_test

import (
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/sigguard/sigguard/guard"
	"github.com/sigguard/sigguard/internal/testenv"
)

// Offenders run back to back while the policy is reloaded again and again
// (some versions also attach and detach hooks) and bad versions are
// refused: not one offender may get a call through.
func TestReloadLeavesNoGap(t *testing.T) {
	testenv.RequireRoot(t)
	offender := testenv.Offender(t)
	cg := testenv.NewCgroup(t)
	scoped := guard.Matchers{Cgroup: []string{cg.Path}}
	killAll := func(name string, syscalls []guard.Syscall) guard.Rule {
		return guard.Rule{Name: name, Syscalls: syscalls, Match: scoped, Action: guard.ActionSignalProcess, Signal: syscall.SIGKILL}
	}
	auditGDB := guard.Rule{Name: "audit-gdb", Match: guard.Matchers{Cgroup: []string{cg.Path}, Comm: []string{"gdb"}},
		Action: guard.ActionAudit, Signal: 9}
	versions := []guard.Config{
		{Rules: []guard.Rule{killAll("a", nil)}},
		{Rules: []guard.Rule{auditGDB, killAll("b", nil)}},
		{Rules: []guard.Rule{killAll("a", nil)}},
		{Rules: []guard.Rule{auditGDB, killAll("c", guard.Presets["memory-access"])}}, // more hooks
	}
	bad := guard.Config{Rules: []guard.Rule{{Name: "bad", Match: guard.Matchers{Cgroup: []string{"../outside-the-hierarchy"}}, Action: guard.ActionAudit, Signal: 9}}}
	r := startGuardWith(t, versions[0], 0)

	const wantReloads = 40
	done, quit := make(chan struct{}), make(chan struct{})
	// Stop reloading before the test's cleanup closes the guard.
	defer func() { close(quit); <-done }()
	var reloads, rejected int
	var slowest time.Duration
	go func() {
		defer close(done)
		for i := 1; reloads < wantReloads; i++ {
			select {
			case <-quit:
				return
			default:
			}
			began := time.Now()
			if err := r.g.Reload(versions[i%len(versions)]); err != nil {
				t.Errorf("reload %d: %v", i, err)
				return
			}
			slowest = max(slowest, time.Since(began))
			reloads++
			if i%5 == 0 {
				if err := r.g.Reload(bad); err == nil {
					t.Error("a policy naming a path outside the cgroup hierarchy was accepted")
					return
				}
				rejected++
			}
		}
	}()

	pids := map[int]bool{}
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
		}
		count := testenv.NewCounter(t)
		cmd := cg.Command(offender, "fail")
		cmd.Env = append(os.Environ(), count.Env(), "OFFENDER_CALLS=200")
		assertKilled(t, cmd.Run(), "offender "+strconv.Itoa(len(pids)))
		if n := count.Value(t); n != 0 {
			t.Fatalf("offender %d got %d calls through during reloads", len(pids), n)
		}
		pids[cmd.Process.Pid] = true
	}
	if reloads < wantReloads || rejected == 0 || len(pids) < 20 {
		t.Errorf("%d reloads, %d rejected, %d offenders: the test did not exercise reloading", reloads, rejected, len(pids))
	}
	for _, ev := range r.filter(func(ev *guard.Event) bool { return pids[ev.PID] }) {
		if ev.Rule != "a" && ev.Rule != "b" && ev.Rule != "c" {
			t.Errorf("event names rule %q", ev.Rule)
		}
	}
	t.Logf("%d offenders killed through %d reloads (slowest %v) and %d rejected ones", len(pids), reloads, slowest, rejected)
}
