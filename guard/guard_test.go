package guard_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sigguard/sigguard/guard"
	"github.com/sigguard/sigguard/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// running is a guard scoped to a test's cgroup, read in the background.
type running struct {
	g      *guard.Guard
	mu     sync.Mutex
	events []guard.Event
	wake   chan struct{}
}

// startGuard starts a guard with one rule scoped to cg and reads its events
// until the test ends; then it checks that nothing stays loaded. A handler
// delay, if given, stalls the reader on the first event.
func startGuard(t *testing.T, cg *testenv.Cgroup, rule guard.Rule, cfg guard.Config, stall time.Duration) *running {
	t.Helper()
	rule.Match.Cgroup = append(rule.Match.Cgroup, cg.Path)
	cfg.Rules = []guard.Rule{rule}
	return startGuardWith(t, cfg, stall)
}

// startGuardWith starts cfg as it is: every rule in it must be scoped to
// the test's own processes.
func startGuardWith(t *testing.T, cfg guard.Config, stall time.Duration) *running {
	t.Helper()
	// The signal tier unless a test asks otherwise: it runs on every
	// kernel, and most tests are about its mechanics.
	if cfg.Tier == guard.TierAuto {
		cfg.Tier = guard.TierSignal
	}
	g, err := guard.Start(cfg)
	if err != nil {
		t.Fatalf("start guard: %v", err)
	}
	r := &running{g: g, wake: make(chan struct{}, 1)}
	ids := g.ProgramIDs()
	if len(ids) == 0 {
		t.Fatal("guard reports no loaded programs")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		first := true
		done <- g.Run(ctx, func(ev *guard.Event) error {
			if first && stall > 0 {
				time.Sleep(stall)
			}
			first = false
			r.mu.Lock()
			r.events = append(r.events, *ev)
			r.mu.Unlock()
			select {
			case r.wake <- struct{}{}:
			default:
			}
			return nil
		})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
		if err := g.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
		testenv.AssertUnloaded(t, ids)
	})
	return r
}

// eventsOf waits until want events of pid arrived (or 3 s passed), waits a
// little longer for any extra one, and returns them all.
// eventsOf waits for the interventions on pid.
func (r *running) eventsOf(pid int, want int) []guard.Event {
	return r.eventsWhere(want, func(ev *guard.Event) bool { return ev.PID == pid })
}

// exitsOf waits for the proof that pid, killed, has exited.
func (r *running) exitsOf(pid int) []guard.Event {
	return r.kindWhere(1, func(ev *guard.Event) bool { return ev.Kind == guard.KindExited && ev.PID == pid })
}

// eventsWhere waits for want interventions that keep accepts.
func (r *running) eventsWhere(want int, keep func(*guard.Event) bool) []guard.Event {
	return r.kindWhere(want, func(ev *guard.Event) bool { return ev.Kind == guard.KindIntervention && keep(ev) })
}

func (r *running) kindWhere(want int, keep func(*guard.Event) bool) []guard.Event {
	deadline := time.Now().Add(3 * time.Second)
	for {
		got := r.filter(keep)
		if len(got) >= want || time.Now().After(deadline) {
			time.Sleep(100 * time.Millisecond)
			return r.filter(keep)
		}
		select {
		case <-r.wake:
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (r *running) filter(keep func(*guard.Event) bool) []guard.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []guard.Event
	for i := range r.events {
		if keep(&r.events[i]) {
			out = append(out, r.events[i])
		}
	}
	return out
}

var killRule = guard.Rule{Action: guard.ActionSignalProcess, Signal: syscall.SIGKILL}

// assertKilled checks that cmd died of SIGKILL.
func assertKilled(t *testing.T, err error, what string) {
	t.Helper()
	if !killedBySIGKILL(err) {
		t.Fatalf("%s: want death by SIGKILL, got %v", what, err)
	}
}

// killedBySIGKILL says whether err is the exit of a command that died of
// SIGKILL.
func killedBySIGKILL(err error) bool {
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return false
	}
	ws := ee.Sys().(syscall.WaitStatus)
	return ws.Signaled() && ws.Signal() == syscall.SIGKILL
}

func TestKillsPtraceCallersBeforeTheCallReturns(t *testing.T) {
	testenv.RequireRoot(t)
	offender := testenv.Offender(t)
	for _, tc := range []struct {
		mode    string
		request string
		victim  bool
	}{
		{"attach", "PTRACE_ATTACH", true},
		{"seize", "PTRACE_SEIZE", true},
		{"traceme", "PTRACE_TRACEME", false},
		{"peekdata", "PTRACE_PEEKDATA", true},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			cg := testenv.NewCgroup(t)
			r := startGuard(t, cg, killRule, guard.Config{}, 0)
			var args []string
			target := int64(0)
			if tc.victim {
				victim := cg.Start(t, "sleep", "60")
				target = int64(victim.Process.Pid)
				args = append(args, strconv.Itoa(victim.Process.Pid))
			}
			count := testenv.NewCounter(t)
			cmd := cg.Command(offender, append([]string{tc.mode}, args...)...)
			cmd.Env = append(os.Environ(), count.Env())
			err := cmd.Run()
			assertKilled(t, err, "offender")
			if n := count.Value(t); n != 0 {
				t.Errorf("%d ptrace calls returned to the offender, want 0", n)
			}

			evs := r.eventsOf(cmd.Process.Pid, 1)
			if len(evs) != 1 {
				t.Fatalf("got %d events for the offender, want exactly 1: %+v", len(evs), evs)
			}
			ev := evs[0]
			if ev.Comm.String() != "offender" || ev.RequestName() != tc.request || ev.Target != target ||
				!ev.Success() || ev.Signal != syscall.SIGKILL || ev.Action != guard.ActionSignalProcess ||
				ev.Syscall != guard.SyscallPtrace || ev.PPID != os.Getpid() || ev.UID != 0 {
				t.Errorf("event does not describe the call: %+v", ev)
			}
			if age := time.Since(ev.Time); age < 0 || age > 10*time.Second {
				t.Errorf("event time %v is %v away from now", ev.Time, age)
			}
			// Proof of kill: the kernel saw the process exit, after the call.
			exits := r.exitsOf(cmd.Process.Pid)
			if len(exits) != 1 || exits[0].Latency <= 0 || exits[0].Latency > guard.UnconfirmedAfter ||
				exits[0].Rule != ev.Rule || exits[0].Comm.String() != "offender" {
				t.Errorf("want one exit event within %v of the call, got %+v", guard.UnconfirmedAfter, exits)
			}
		})
	}
}

func TestProcessOutsideTheScopeKeepsWorkingPtrace(t *testing.T) {
	testenv.RequireRoot(t)
	offender := testenv.Offender(t)
	guarded, outside := testenv.NewCgroup(t), testenv.NewCgroup(t)
	r := startGuard(t, guarded, killRule, guard.Config{}, 0)

	victim := outside.Start(t, "sleep", "60")
	cmd := outside.Command(offender, "seize-once", strconv.Itoa(victim.Process.Pid))
	out, err := cmd.Output()
	if err != nil || strings.TrimSpace(string(out)) != "errno=0" {
		t.Fatalf("ptrace outside the guard's cgroup failed: %v, %q", err, out)
	}
	if evs := r.eventsOf(cmd.Process.Pid, 0); len(evs) != 0 {
		t.Errorf("the guard reported a process outside its scope: %+v", evs)
	}
}

func TestParentPIDScope(t *testing.T) {
	testenv.RequireRoot(t)
	offender := testenv.Offender(t)
	cg := testenv.NewCgroup(t)
	// Children of this test process are in scope; a grandchild is not.
	rule := killRule
	rule.Match.PPID = []int{os.Getpid()}
	r := startGuard(t, cg, rule, guard.Config{}, 0)

	child := cg.Command(offender, "fail")
	assertKilled(t, child.Run(), "child of the scoped parent")
	if evs := r.eventsOf(child.Process.Pid, 1); len(evs) != 1 || evs[0].PPID != os.Getpid() {
		t.Errorf("want one event with ppid %d, got %+v", os.Getpid(), evs)
	}

	// "; exit $?" keeps the shell from exec'ing the offender in its place.
	grandchild := cg.Command("/bin/sh", "-c", offender+" fail; exit $?")
	grandchild.Env = append(os.Environ(), "OFFENDER_CALLS=10")
	if err := grandchild.Run(); err != nil {
		t.Errorf("grandchild (not a direct child) was stopped: %v", err)
	}
}

func TestAuditSignalsNothingAndReportsEveryCall(t *testing.T) {
	testenv.RequireRoot(t)
	offender := testenv.Offender(t)
	cg := testenv.NewCgroup(t)
	rule := killRule
	rule.Action = guard.ActionAudit
	r := startGuard(t, cg, rule, guard.Config{}, 0)

	const calls = 100
	count := testenv.NewCounter(t)
	cmd := cg.Command(offender, "fail")
	cmd.Env = append(os.Environ(), count.Env(), "OFFENDER_CALLS="+strconv.Itoa(calls))
	if err := cmd.Run(); err != nil {
		t.Fatalf("audited offender did not survive: %v", err)
	}
	if n := count.Value(t); n != calls {
		t.Errorf("%d calls returned, want %d", n, calls)
	}
	evs := r.eventsOf(cmd.Process.Pid, calls)
	if len(evs) != calls {
		t.Fatalf("got %d events, want %d", len(evs), calls)
	}
	for _, ev := range evs {
		if ev.Action != guard.ActionAudit || ev.Success() || ev.Result != 0 || ev.Signal != syscall.SIGKILL {
			t.Fatalf("audit event is wrong: %+v", ev)
		}
	}
	stats, err := r.g.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if stats.Interventions != calls || stats.Signalled != 0 || stats.FailedSends != 0 || stats.EventsLost != 0 || stats.Confirmed != 0 {
		t.Errorf("stats %+v, want %d interventions and nothing sent or lost", stats, calls)
	}
}

func TestUserSignalReachesTheOffendersHandler(t *testing.T) {
	testenv.RequireRoot(t)
	offender := testenv.Offender(t)
	cg := testenv.NewCgroup(t)
	rule := guard.Rule{Action: guard.ActionSignalProcess, Signal: syscall.SIGUSR1}
	r := startGuard(t, cg, rule, guard.Config{}, 0)

	cmd := cg.Command(offender, "usr1")
	out, err := cmd.Output()
	if err != nil || strings.TrimSpace(string(out)) != "usr1 received" {
		t.Fatalf("offender's SIGUSR1 handler did not run: %v, %q", err, out)
	}
	evs := r.eventsOf(cmd.Process.Pid, 1)
	if len(evs) != 1 || evs[0].Signal != syscall.SIGUSR1 || !evs[0].Success() {
		t.Errorf("want one successful SIGUSR1 event, got %+v", evs)
	}
}

// With SIGUSR1 blocked on the calling (non-main) thread, the thread action
// leaves the signal pending on that thread, while the process action makes
// it a process-wide signal that another thread takes.
func TestThreadScopeSignalsTheCallingThread(t *testing.T) {
	testenv.RequireRoot(t)
	offender := testenv.Offender(t)
	for _, tc := range []struct {
		action        guard.Action
		threadPending bool
	}{
		{guard.ActionSignalThread, true},
		{guard.ActionSignalProcess, false},
	} {
		t.Run(tc.action.String(), func(t *testing.T) {
			cg := testenv.NewCgroup(t)
			r := startGuard(t, cg, guard.Rule{Action: tc.action, Signal: syscall.SIGUSR1}, guard.Config{}, 0)
			cmd := cg.Command(offender, "thread-usr1")
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("offender: %v", err)
			}
			var got struct {
				PID           int  `json:"pid"`
				TID           int  `json:"tid"`
				ThreadPending bool `json:"thread_pending"`
				SharedPending bool `json:"shared_pending"`
			}
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("offender output %q: %v", out, err)
			}
			if got.TID == got.PID {
				t.Fatal("the offender called ptrace from its main thread; the test needs another one")
			}
			if got.ThreadPending != tc.threadPending || got.SharedPending {
				t.Errorf("SIGUSR1 pending on thread: %v, on process: %v; want thread %v, process false",
					got.ThreadPending, got.SharedPending, tc.threadPending)
			}
			evs := r.eventsOf(got.PID, 1)
			if len(evs) != 1 || evs[0].TID != got.TID || evs[0].Action != tc.action {
				t.Errorf("want one %v event from thread %d, got %+v", tc.action, got.TID, evs)
			}
		})
	}
}

func TestThreadScopeSigkillIsFatalToTheProcess(t *testing.T) {
	testenv.RequireRoot(t)
	offender := testenv.Offender(t)
	cg := testenv.NewCgroup(t)
	r := startGuard(t, cg, guard.Rule{Action: guard.ActionSignalThread, Signal: syscall.SIGKILL}, guard.Config{}, 0)
	count := testenv.NewCounter(t)
	cmd := cg.Command(offender, "thread-usr1")
	cmd.Env = append(os.Environ(), count.Env())
	assertKilled(t, cmd.Run(), "offender")
	if n := count.Value(t); n != 0 {
		t.Errorf("%d calls returned, want 0", n)
	}
	if evs := r.eventsOf(cmd.Process.Pid, 1); len(evs) != 1 || evs[0].TID == evs[0].PID {
		t.Errorf("want one event from a non-main thread, got %+v", evs)
	}
}

func TestRealDebuggersAreKilled(t *testing.T) {
	testenv.RequireRoot(t)
	for _, tc := range []struct {
		tool string
		args func(victim int) []string
	}{
		{"strace", func(int) []string { return []string{"/bin/true"} }},
		{"gdb", func(victim int) []string { return []string{"-batch", "-p", strconv.Itoa(victim)} }},
	} {
		t.Run(tc.tool, func(t *testing.T) {
			path := testenv.RequireCommand(t, tc.tool)
			cg := testenv.NewCgroup(t)
			r := startGuard(t, cg, killRule, guard.Config{}, 0)
			victim := cg.Start(t, "sleep", "60")
			cmd := cg.Command(path, tc.args(victim.Process.Pid)...)
			assertKilled(t, cmd.Run(), tc.tool)
			evs := r.eventsOf(cmd.Process.Pid, 1)
			if len(evs) == 0 {
				t.Fatalf("no event names %s (pid %d)", tc.tool, cmd.Process.Pid)
			}
			if evs[0].Comm.String() != tc.tool || !evs[0].Success() {
				t.Errorf("event does not name %s as killed: %+v", tc.tool, evs[0])
			}
			// No collateral: the killed debugger leaves nothing stopped.
			if len(r.exitsOf(cmd.Process.Pid)) != 1 {
				t.Fatalf("%s's exit was not confirmed", tc.tool)
			}
			time.Sleep(200 * time.Millisecond)
			if !waitForState(t, victim.Process.Pid, "S") {
				t.Errorf("%s's victim was left in state %s", tc.tool, state(t, victim.Process.Pid))
			}
		})
	}
}

// A one-page ring buffer and a stalled reader: the kernel drops events,
// and every call is still accounted for, delivered or counted as lost.
func TestLostEventsAreCountedAndReported(t *testing.T) {
	testenv.RequireRoot(t)
	offender := testenv.Offender(t)
	cg := testenv.NewCgroup(t)
	rule := killRule
	rule.Action = guard.ActionAudit
	r := startGuard(t, cg, rule, guard.Config{RingBufferBytes: os.Getpagesize()}, 300*time.Millisecond)

	const calls = 5000
	cmd := cg.Command(offender, "fail")
	cmd.Env = append(os.Environ(), "OFFENDER_CALLS="+strconv.Itoa(calls))
	if err := cmd.Run(); err != nil {
		t.Fatalf("offender: %v", err)
	}

	var delivered, lost uint64
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		delivered = uint64(len(r.filter(func(ev *guard.Event) bool { return ev.PID == cmd.Process.Pid })))
		lost = 0
		for _, ev := range r.filter(func(ev *guard.Event) bool { return ev.Kind == guard.KindLost }) {
			lost += ev.Lost
		}
		if delivered+lost == calls {
			break
		}
	}
	if lost == 0 {
		t.Fatal("a one-page ring buffer with a stalled reader lost nothing: the test did not exercise loss")
	}
	if delivered+lost != calls {
		t.Errorf("delivered %d + reported lost %d != %d calls", delivered, lost, calls)
	}
	stats, err := r.g.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if stats.EventsLost != lost || stats.Interventions != calls {
		t.Errorf("stats %+v disagree with %d lost of %d", stats, lost, calls)
	}
}

func TestCloseUnloadsEverything(t *testing.T) {
	testenv.RequireRoot(t)
	cg := testenv.NewCgroup(t)
	killRule := killRule
	killRule.Match.Cgroup = []string{cg.Path}
	g, err := guard.Start(guard.Config{Rules: []guard.Rule{killRule}})
	if err != nil {
		t.Fatal(err)
	}
	ids := g.ProgramIDs()
	if len(ids) == 0 {
		t.Fatal("a started guard reports no programs")
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	testenv.AssertUnloaded(t, ids)
	if err := g.Run(context.Background(), func(*guard.Event) error { return nil }); !errors.Is(err, guard.ErrClosed) {
		t.Errorf("Run after Close: %v, want ErrClosed", err)
	}
}

// Every bad configuration is a ConfigError (exit status 2 in the CLI).
// That nothing reaches the kernel first is proven on the binary, by
// tracing its bpf(2) calls (test/e2e); counting loaded programs here
// would race with any other test run on the machine.
func TestBadConfigIsAConfigError(t *testing.T) {
	testenv.RequireRoot(t)
	for name, cfg := range map[string]guard.Config{
		"no rules":       {},
		"never a cgroup": {Rules: []guard.Rule{{Match: guard.Matchers{Cgroup: []string{"../outside"}}, Action: guard.ActionAudit, Signal: 9}}},
		"no such parent": {Rules: []guard.Rule{{Match: guard.Matchers{PPID: []int{1 << 30}}, Action: guard.ActionAudit, Signal: 9}}},
		"signal 0":       {Rules: []guard.Rule{{Action: guard.ActionAudit}}},
		"odd ring size":  {Rules: []guard.Rule{{Action: guard.ActionAudit, Signal: 9}}, RingBufferBytes: 5000},
	} {
		g, err := guard.Start(cfg)
		var ce *guard.ConfigError
		if !errors.As(err, &ce) {
			t.Errorf("%s: want a ConfigError, got %v", name, err)
		}
		if g != nil {
			t.Errorf("%s: Start returned a guard with its error", name)
			g.Close()
		}
	}
}

func TestCloseDuringRunReturnsErrClosed(t *testing.T) {
	testenv.RequireRoot(t)
	cg := testenv.NewCgroup(t)
	for i := 0; i < 10; i++ {
		rule := killRule
		rule.Match.Cgroup = []string{cg.Path}
		g, err := guard.Start(guard.Config{Rules: []guard.Rule{rule}})
		if err != nil {
			t.Fatal(err)
		}
		ids := g.ProgramIDs()
		done := make(chan error, 1)
		go func() { done <- g.Run(context.Background(), func(*guard.Event) error { return nil }) }()
		time.Sleep(time.Duration(i) * 30 * time.Millisecond)
		if err := g.Close(); err != nil {
			t.Fatalf("close: %v", err)
		}
		if err := <-done; !errors.Is(err, guard.ErrClosed) {
			t.Fatalf("Run after Close: %v, want ErrClosed", err)
		}
		testenv.AssertUnloaded(t, ids)
	}
}

// The rule matches any ptrace call by a descendant of this test's parent,
// this test process included: were sigguard's own process not exempt, the
// test binary would die here of SIGKILL.
func TestNeverMatchesItsOwnProcess(t *testing.T) {
	testenv.RequireRoot(t)
	const nobody = 1<<30 - 12345
	// Scoped to this test process and its descendants.
	g, err := guard.Start(guard.Config{Rules: []guard.Rule{{
		Match:  guard.Matchers{Ancestor: []int{os.Getppid()}},
		Action: guard.ActionSignalProcess, Signal: syscall.SIGKILL,
	}}})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	for i := 0; i < 100; i++ {
		syscall.Syscall(syscall.SYS_PTRACE, syscall.PTRACE_PEEKDATA, nobody, 0)
	}
	time.Sleep(100 * time.Millisecond)

	// The same call from another process is matched.
	cg := testenv.NewCgroup(t)
	cmd := cg.Command(testenv.Offender(t), "peekdata", strconv.Itoa(nobody))
	assertKilled(t, cmd.Run(), "offender naming the protected pid")
}
