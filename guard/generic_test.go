package guard_test

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/sigguard/sigguard/guard"
	"github.com/sigguard/sigguard/internal/testenv"
)

// x86-64 syscall numbers the offender calls raw.
const (
	nrClose       = 3
	nrPoll        = 7
	nrGetppid     = 110
	nrGetpriority = 140
	nrSetpriority = 141
	nrUnshare     = 272
)

func generic(t *testing.T, name string) []guard.Syscall {
	t.Helper()
	set, err := guard.ParseSyscalls(name)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// offenderCall runs the offender's one-shot mode in cg and returns its
// output and how it ended.
func offenderCall(t *testing.T, cg *testenv.Cgroup, mode string, args ...string) (string, error) {
	t.Helper()
	out, err := cg.Command(testenv.Offender(t), append([]string{mode}, args...)...).Output()
	return string(out), err
}

var callLine = regexp.MustCompile(`tid=(\d+) ret=(-?\d+) errno=(\d+)`)

// parseCall reads the offender's tid=T ret=R errno=E.
func parseCall(t *testing.T, out string) (tid int, ret int64, errno int) {
	t.Helper()
	m := callLine.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no call result in %q", out)
	}
	tid, _ = strconv.Atoi(m[1])
	ret, _ = strconv.ParseInt(m[2], 10, 64)
	errno, _ = strconv.Atoi(m[3])
	return tid, ret, errno
}

// An argument condition selects the calls: unshare(CLONE_NEWUSER) is
// killed, from the main thread or another one, unshare(0) is not.
func TestGenericRuleJudgesArguments(t *testing.T) {
	testenv.RequireRoot(t)
	cg := testenv.NewCgroup(t)
	r := startGuard(t, cg, guard.Rule{
		Syscalls: generic(t, "unshare"), Action: guard.ActionSignalProcess, Signal: syscall.SIGKILL,
		Args: []guard.ArgCondition{{Arg: "flags", Condition: guard.Condition{Op: guard.CondAnyBits, Values: []uint64{unix.CLONE_NEWUSER}}}},
	}, guard.Config{}, 0)

	out, err := offenderCall(t, cg, "syscall", strconv.Itoa(nrUnshare), "0")
	if err != nil {
		t.Fatalf("unshare(0) must not be touched: %v (%q)", err, out)
	}
	for _, mode := range []string{"syscall", "syscall-thread"} {
		cmd := cg.Command(testenv.Offender(t), mode, strconv.Itoa(nrUnshare), "0x10000000")
		out, err := cmd.Output()
		assertKilled(t, err, mode+" unshare(CLONE_NEWUSER) ("+string(out)+")")
		evs := r.eventsOf(cmd.Process.Pid, 1)
		if len(evs) != 1 {
			t.Fatalf("%s: %d events, want 1", mode, len(evs))
		}
		ev := evs[0]
		if ev.Syscall.String() != "unshare" || ev.Args[0] != unix.CLONE_NEWUSER || ev.AtExit || ev.Rule == "" {
			t.Errorf("%s: event %+v", mode, ev)
		}
		// The proof of the kill names the syscall too.
		if exits := r.exitsOf(cmd.Process.Pid); len(exits) != 1 || exits[0].Syscall.String() != "unshare" {
			t.Errorf("%s: exits %+v, want one for unshare", mode, exits)
		}
	}
	if n := len(r.eventsWhere(0, func(*guard.Event) bool { return true })); n != 2 {
		t.Errorf("%d events in all, want the 2 kills only", n)
	}
}

// The kernel's body sees an int argument as the low 32 bits of its
// register, sign-extended: the rule judges the same value. A caller that
// sets the upper half does not slip past it, and one whose low half
// differs is not caught by the upper half.
func TestIntArgumentIsJudgedAsTheKernelSeesIt(t *testing.T) {
	testenv.RequireRoot(t)
	cg := testenv.NewCgroup(t)
	startGuard(t, cg, guard.Rule{
		Syscalls: generic(t, "getpriority"), Action: guard.ActionSignalProcess, Signal: syscall.SIGKILL,
		Args: []guard.ArgCondition{{Arg: "which", Condition: guard.Condition{Op: guard.CondEquals, Values: []uint64{unix.PRIO_PGRP}}}},
	}, guard.Config{}, 0)
	_, err := offenderCall(t, cg, "syscall", strconv.Itoa(nrGetpriority), "0xdead000000000001", "0")
	assertKilled(t, err, "getpriority(PRIO_PGRP with garbage in the upper half)")
	if out, err := offenderCall(t, cg, "syscall", strconv.Itoa(nrGetpriority), "0x100000000", "0"); err != nil {
		t.Errorf("getpriority(PRIO_PROCESS, upper half 1) is no PRIO_PGRP call: %v (%q)", err, out)
	}
}

// A result condition is judged at the call's exit, on what it returned.
func TestFailsWithIsJudgedAtExit(t *testing.T) {
	testenv.RequireRoot(t)
	cg := testenv.NewCgroup(t)
	r := startGuard(t, cg, guard.Rule{
		Syscalls: generic(t, "close"), Action: guard.ActionSignalProcess, Signal: syscall.SIGKILL,
		When: guard.When{FailsWith: []syscall.Errno{syscall.EBADF}},
	}, guard.Config{}, 0)
	if out, err := offenderCall(t, cg, "syscall", strconv.Itoa(nrClose), "0"); err != nil {
		t.Fatalf("close(0) succeeds and must not be touched: %v (%q)", err, out)
	}
	cmd := cg.Command(testenv.Offender(t), "syscall", strconv.Itoa(nrClose), "999")
	_, err := cmd.Output()
	assertKilled(t, err, "close(999), EBADF")
	evs := r.eventsOf(cmd.Process.Pid, 1)
	if len(evs) != 1 || !evs[0].AtExit || evs[0].Ret != -int64(syscall.EBADF) || evs[0].Args[0] != 999 {
		t.Fatalf("events %+v, want one at exit with ret -EBADF", evs)
	}
}

// slower_than is the time from entry to exit on the calling thread, and
// the thread scope signals that thread as it returns.
func TestSlowerThanSignalsTheCallingThread(t *testing.T) {
	testenv.RequireRoot(t)
	cg := testenv.NewCgroup(t)
	r := startGuard(t, cg, guard.Rule{
		Syscalls: generic(t, "poll"), Action: guard.ActionSignalThread, Signal: syscall.SIGUSR2,
		When: guard.When{SlowerThan: 100 * time.Millisecond},
	}, guard.Config{}, 0)
	// poll(NULL, 0, ms) sleeps ms milliseconds.
	out, err := offenderCall(t, cg, "syscall-usr2", strconv.Itoa(nrPoll), "0", "0", "5")
	if err != nil || !regexp.MustCompile(`usr2=none`).MatchString(out) {
		t.Fatalf("a 5 ms poll is not slow: %v %q", err, out)
	}
	cmd := cg.Command(testenv.Offender(t), "syscall-usr2", strconv.Itoa(nrPoll), "0", "0", "300")
	outb, err := cmd.Output()
	if err != nil || !regexp.MustCompile(`usr2=received`).Match(outb) {
		t.Fatalf("a 300 ms poll must bring SIGUSR2: %v %q; events %+v", err, outb, r.eventsWhere(1, func(*guard.Event) bool { return true }))
	}
	tid, _ := strconv.Atoi(regexp.MustCompile(`tid=(\d+)`).FindStringSubmatch(string(outb))[1])
	evs := r.eventsOf(cmd.Process.Pid, 1)
	if len(evs) != 1 {
		t.Fatalf("%d events, want 1", len(evs))
	}
	ev := evs[0]
	if ev.TID != tid || ev.TID == ev.PID || !ev.AtExit || ev.Duration < 290*time.Millisecond || ev.Action != guard.ActionSignalThread {
		t.Errorf("event %+v: want the polling thread %d (not the main one), at exit, after >= 300 ms", ev, tid)
	}
}

// at_most lets a rule act a given number of times per window; what it
// holds back is counted, and reported, never silently dropped.
func TestAtMostHoldsBackAndCounts(t *testing.T) {
	testenv.RequireRoot(t)
	cg := testenv.NewCgroup(t)
	r := startGuard(t, cg, guard.Rule{
		Name: "limited", Syscalls: generic(t, "getppid"), Action: guard.ActionAudit, Signal: syscall.SIGKILL,
		AtMost: &guard.RateLimit{Count: 3, Per: time.Hour, Scope: guard.RateProcess},
	}, guard.Config{}, 0)
	const calls = 50
	if out, err := offenderCall(t, cg, "repeat", strconv.Itoa(calls), strconv.Itoa(nrGetppid)); err != nil {
		t.Fatalf("repeat: %v %q", err, out)
	}
	events := len(r.eventsWhere(3, func(*guard.Event) bool { return true }))
	st, err := r.g.Stats()
	if err != nil {
		t.Fatal(err)
	}
	rs, _ := r.g.RuleStats()
	// Windows are aligned to the boot clock: an hour's boundary during the
	// calls would let 3 more through.
	if events < 3 || events > 6 || uint64(events)+st.HeldBack != calls || st.Interventions != calls ||
		len(rs) != 1 || rs[0].HeldBack != st.HeldBack {
		t.Fatalf("%d events, %d held back, %d matched (rule: %+v): want 3 events and the other %d held back",
			events, st.HeldBack, st.Interventions, rs, calls-3)
	}
	held := r.kindWhere(1, func(ev *guard.Event) bool { return ev.Kind == guard.KindHeldBack })
	if len(held) != 1 || held[0].Rule != "limited" || held[0].HeldBack != st.HeldBack {
		t.Errorf("held-back reports %+v, want one of %d for rule limited", held, st.HeldBack)
	}
}

// A syscall no rule names runs none of sigguard's programs: the generic
// route's hooks are on the named syscalls' own tracepoints.
func TestUnnamedSyscallsRunNothing(t *testing.T) {
	testenv.RequireRoot(t)
	stats, err := ebpf.EnableStats(uint32(unix.BPF_STATS_RUN_TIME))
	if err != nil {
		t.Fatalf("enable run statistics: %v", err)
	}
	defer stats.Close()
	cg := testenv.NewCgroup(t)
	r := startGuard(t, cg, guard.Rule{Syscalls: generic(t, "unshare"), Action: guard.ActionAudit, Signal: syscall.SIGKILL},
		guard.Config{}, 0)
	if got := r.g.Hooked(); len(got) != 1 || got[0].String() != "unshare" {
		t.Fatalf("hooked %v, want unshare alone", got)
	}
	before := runCounts(t, r.g)
	if out, err := offenderCall(t, cg, "repeat", "1000", strconv.Itoa(nrGetppid)); err != nil {
		t.Fatalf("repeat: %v %q", err, out)
	}
	for id, n := range runCounts(t, r.g) {
		if n != before[id] {
			t.Errorf("program %d ran %d times during 1000 getppid calls", id, n-before[id])
		}
	}
}

func runCounts(t *testing.T, g *guard.Guard) map[ebpf.ProgramID]uint64 {
	t.Helper()
	out := map[ebpf.ProgramID]uint64{}
	for _, id := range g.ProgramIDs() {
		p, err := ebpf.NewProgramFromID(id)
		if err != nil {
			t.Fatal(err)
		}
		st, err := p.Stats()
		p.Close()
		if err != nil {
			t.Fatal(err)
		}
		out[id] = st.RunCount
	}
	return out
}

// A reload attaches the hooks the new rules need before they are in force
// and detaches those only the old ones needed.
func TestReloadMovesTheGenericHooks(t *testing.T) {
	testenv.RequireRoot(t)
	cg := testenv.NewCgroup(t)
	kill := func(name string) guard.Config {
		return guard.Config{Tier: guard.TierSignal, Rules: []guard.Rule{{Syscalls: generic(t, name), Action: guard.ActionSignalProcess,
			Signal: syscall.SIGKILL, Match: guard.Matchers{Cgroup: []string{cg.Path}},
			Args: []guard.ArgCondition{{Arg: "arg0", Condition: guard.Condition{Op: guard.CondEquals, Values: []uint64{0x10000000}}}}}}}
	}
	r := startGuardWith(t, kill("unshare"), 0)
	if err := r.g.Reload(kill("getpriority")); err != nil {
		t.Fatal(err)
	}
	if got := r.g.Hooked(); len(got) != 1 || got[0].String() != "getpriority" {
		t.Fatalf("hooked %v after the reload, want getpriority alone", got)
	}
	if out, err := offenderCall(t, cg, "syscall", strconv.Itoa(nrUnshare), "0x10000000"); err != nil {
		t.Errorf("unshare is no longer guarded: %v (%q)", err, out)
	}
	_, err := offenderCall(t, cg, "syscall", strconv.Itoa(nrGetpriority), "0x10000000", "0")
	assertKilled(t, err, "getpriority under the reloaded rule")
}

// In a deny tier, a deny rule refuses the call before its body runs, with
// the errno the rule names, where the kernel lets a program change a
// syscall's return. Where it does not, the rule kills at entry instead,
// and the guard says so. Which of the two the kernel offers is found by
// loading the least such program, not from the guard.
func TestGenericDenyRefusesBeforeTheBodyRuns(t *testing.T) {
	tier := denyTier(t)
	cg := testenv.NewCgroup(t)
	r := startGuard(t, cg, guard.Rule{
		Syscalls: generic(t, "setpriority"), Action: guard.ActionDeny, DenyErrno: syscall.EACCES,
		Args: []guard.ArgCondition{{Arg: "niceval", Condition: guard.Condition{Op: guard.CondRange, Values: []uint64{5, 19}}}},
	}, guard.Config{Tier: tier}, 0)
	// setpriority(PRIO_PROCESS, 0, 7) from a process at nice 0.
	cmd := cg.Command(testenv.Offender(t), "syscall-nice", strconv.Itoa(nrSetpriority), "0", "0", "7")
	out, err := cmd.Output()
	if !testenv.ReturnModifiable(t, "__x64_sys_setpriority") {
		t.Logf("generic veto: kills at entry (the kernel lets no program change a syscall's return)")
		assertKilled(t, err, "setpriority under a deny rule the kernel cannot veto ("+string(out)+")")
		if open := strings.Join(r.g.OpenRoutes(), "\n"); !strings.Contains(open, "deny rules on setpriority") ||
			!strings.Contains(open, "the kernel refused the veto") {
			t.Errorf("the guard does not say the veto was refused:\n%s", open)
		}
		return
	}
	if err != nil {
		t.Fatalf("a refused call must not kill: %v (%q); open routes: %q", err, out, r.g.OpenRoutes())
	}
	_, ret, errno := parseCall(t, string(out))
	if ret != -1 && errno != int(syscall.EACCES) || !regexp.MustCompile(`nice=0\b`).Match(out) {
		t.Fatalf("output %q: want EACCES and nice still 0 (the body never ran)", out)
	}
	evs := r.eventsOf(cmd.Process.Pid, 1)
	if len(evs) != 1 || !evs[0].Denied || evs[0].Tier != guard.TierFmodRet {
		t.Fatalf("events %+v, want one denied by the fmod_ret veto", evs)
	}
	t.Logf("generic veto: refuses before the body (%s)", tier)
	// Outside the range, the call runs.
	out, err = cg.Command(testenv.Offender(t), "syscall-nice", strconv.Itoa(nrSetpriority), "0", "0", "3").Output()
	if err != nil || !regexp.MustCompile(`nice=3\b`).Match(out) {
		t.Fatalf("setpriority(3) must run: %v %q", err, out)
	}
}

// A pinned generic rule, with a result condition, goes on after its
// guard's process is gone, is adopted by the next one, and unpin removes
// its hooks with the rest.
func TestPinnedGenericRuleOutlivesItsProcess(t *testing.T) {
	requirePinning(t)
	dir := testenv.PinDir(t)
	cg := testenv.NewCgroup(t)
	cfg := guard.Config{PinDir: dir, Tier: guard.TierSignal, Rules: []guard.Rule{{
		Name: "no-userns", Syscalls: generic(t, "unshare"), Action: guard.ActionSignalProcess, Signal: syscall.SIGKILL,
		Match: guard.Matchers{Cgroup: []string{cg.Path}},
		Args:  []guard.ArgCondition{{Arg: "flags", Condition: guard.Condition{Op: guard.CondAnyBits, Values: []uint64{unix.CLONE_NEWUSER}}}},
	}, {
		Name: "ebadf", Syscalls: generic(t, "close"), Action: guard.ActionSignalProcess, Signal: syscall.SIGKILL,
		Match: guard.Matchers{Cgroup: []string{cg.Path}}, When: guard.When{FailsWith: []syscall.Errno{syscall.EBADF}},
	}}}
	g, err := guard.Start(cfg)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	if err := g.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	// No process holds the programs now: the pins do.
	_, err = offenderCall(t, cg, "syscall", strconv.Itoa(nrUnshare), "0x10000000")
	assertKilled(t, err, "unshare(CLONE_NEWUSER) with no sigguard running")
	_, err = offenderCall(t, cg, "syscall", strconv.Itoa(nrClose), "999")
	assertKilled(t, err, "close(999) with no sigguard running")
	st, err := guard.ReadPin(dir)
	if err != nil || st.Stats.Interventions != 2 || !slices.Contains(st.Hooks, "generic_enter_unshare") ||
		!slices.Contains(st.Hooks, "generic_exit_close") {
		t.Fatalf("pin status: %+v, %v", st, err)
	}
	g, err = guard.Start(cfg)
	if err != nil {
		t.Fatalf("adopt: %v", err)
	}
	if a := g.Adopted(); a == nil || !a.SamePolicy || a.Unattended.Interventions != 2 {
		t.Errorf("adoption: %+v", a)
	}
	if got := g.Hooked(); len(got) != 2 {
		t.Errorf("hooked after adoption: %v, want unshare and close", got)
	}
	if err := g.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	ids := testenv.PinnedPrograms(t, dir)
	if _, err := guard.Unpin(dir); err != nil {
		t.Fatalf("unpin: %v", err)
	}
	testenv.AssertUnloaded(t, ids)
	if out, err := offenderCall(t, cg, "syscall", strconv.Itoa(nrUnshare), "0x10000000"); err != nil {
		t.Errorf("unpinned, unshare must run: %v (%q)", err, out)
	}
}
