package guard_test

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sigguard/sigguard/guard"
	"github.com/sigguard/sigguard/internal/testenv"
)

// More x86-64 and ia32 syscall numbers the offender calls raw.
const (
	nrGetpid       = 39
	ia32Unshare    = 310
	cloneNewuser   = "0x10000000" // CLONE_NEWUSER
	newuserBit32Up = "0x1000000000000000"
)

// genericBypass is one way to get the effect a generic rule forbids, run
// on the signal tier, and what the table says comes of it.
type genericBypass struct {
	attempt string // the route, as the table says it
	rule    string // the rule, as the table says it
	outcome string // caught, not caught, ...
	why     string
	// signalled is the outcome try must measure: whether the rule's
	// signal reached the process that made the attempt.
	signalled bool
	// covered names the test that runs this row elsewhere (try is nil).
	covered string
	guard   func(t *testing.T) guard.Rule
	try     func(t *testing.T, e *bypassEnv) bool
}

// bypassEnv is a row's world: its guard, scoped to cg, and another cgroup
// the rule does not cover.
type bypassEnv struct {
	r        *running
	cg       *testenv.Cgroup
	outside  *testenv.Cgroup
	offender string
}

var (
	unshareNewuser = "`unshare`, `flags` any_bits `CLONE_NEWUSER`, KILL"
	cloneNewuserR  = "`clone`, `clone_flags` any_bits `CLONE_NEWUSER`, KILL"
	pollSlow       = "`poll`, slower_than 100ms, KILL"
)

func unshareRule(t *testing.T) guard.Rule {
	return guard.Rule{Syscalls: generic(t, "unshare"), Action: guard.ActionSignalProcess, Signal: syscall.SIGKILL,
		Args: []guard.ArgCondition{{Arg: "flags", Condition: guard.Condition{Op: guard.CondAnyBits, Values: []uint64{unix.CLONE_NEWUSER}}}}}
}

func cloneRule(t *testing.T) guard.Rule {
	return guard.Rule{Syscalls: generic(t, "clone"), Action: guard.ActionSignalProcess, Signal: syscall.SIGKILL,
		Args: []guard.ArgCondition{{Arg: "clone_flags", Condition: guard.Condition{Op: guard.CondAnyBits, Values: []uint64{unix.CLONE_NEWUSER}}}}}
}

func slowRule(names ...string) func(t *testing.T) guard.Rule {
	return func(t *testing.T) guard.Rule {
		var set []guard.Syscall
		for _, n := range names {
			set = append(set, generic(t, n)...)
		}
		return guard.Rule{Syscalls: set, Action: guard.ActionSignalProcess, Signal: syscall.SIGKILL,
			When: guard.When{SlowerThan: 100 * time.Millisecond}}
	}
}

func execSucceedsRule(t *testing.T) guard.Rule {
	return guard.Rule{Syscalls: generic(t, "execve"), Action: guard.ActionSignalProcess, Signal: syscall.SIGKILL,
		When: guard.When{Returns: &guard.Condition{Op: guard.CondEquals, Values: []uint64{0}}}}
}

// killedRun runs the offender in cg and says whether it died of SIGKILL;
// check, if set, judges the output of a run that was not killed.
func killedRun(t *testing.T, cg *testenv.Cgroup, check func(out string) error, args ...string) bool {
	t.Helper()
	out, err := cg.Command(testenv.Offender(t), args...).Output()
	if killedBySIGKILL(err) {
		return true
	}
	if err != nil {
		t.Fatalf("offender %v: %v (%q)", args, err, out)
	}
	if check != nil {
		if err := check(string(out)); err != nil {
			t.Errorf("offender %v: %v (output %q)", args, err, out)
		}
	}
	return false
}

func wants(pattern string) func(string) error {
	re := regexp.MustCompile(pattern)
	return func(out string) error {
		if !re.MatchString(out) {
			return fmt.Errorf("want output matching %q", pattern)
		}
		return nil
	}
}

var genericBypasses = []genericBypass{
	{attempt: "`unshare(CLONE_NEWUSER)` from the main thread", rule: unshareNewuser, outcome: "caught", signalled: true,
		why: "the flags register at `sys_enter_unshare`", guard: unshareRule,
		try: func(t *testing.T, e *bypassEnv) bool {
			return killedRun(t, e.cg, nil, "syscall", strconv.Itoa(nrUnshare), cloneNewuser)
		}},
	{attempt: "the same from another thread", rule: unshareNewuser, outcome: "caught", signalled: true,
		why: "every thread's calls fire the tracepoint", guard: unshareRule,
		try: func(t *testing.T, e *bypassEnv) bool {
			return killedRun(t, e.cg, nil, "syscall-thread", strconv.Itoa(nrUnshare), cloneNewuser)
		}},
	{attempt: "the same from a child process (fork and exec)", rule: unshareNewuser, outcome: "caught", signalled: true,
		why: "the child is born in the rule's cgroup", guard: unshareRule,
		try: func(t *testing.T, e *bypassEnv) bool {
			return killedRun(t, e.cg, nil, "child", "syscall", strconv.Itoa(nrUnshare), cloneNewuser)
		}},
	{attempt: "the same from a new pid namespace", rule: unshareNewuser, outcome: "caught", signalled: true,
		why: "the cgroup and the registers do not depend on the pid namespace", guard: unshareRule,
		try: func(t *testing.T, e *bypassEnv) bool {
			return killedRun(t, e.cg, nil, "pidns", "syscall", strconv.Itoa(nrUnshare), cloneNewuser)
		}},
	{attempt: "`unshare(CLONE_NEWUSER \\| 1<<32)`, garbage above the flags", rule: unshareNewuser, outcome: "caught", signalled: true,
		why:   "`flags` is an unsigned long, judged whole; the kernel would refuse the call anyway (`EINVAL`: unknown bits)",
		guard: unshareRule,
		try: func(t *testing.T, e *bypassEnv) bool {
			return killedRun(t, e.cg, nil, "syscall", strconv.Itoa(nrUnshare), "0x110000000")
		}},
	{attempt: "`unshare(CLONE_NEWUSER << 32)`, the bit moved up", rule: unshareNewuser, outcome: "not caught, harmless", signalled: false,
		why:   "not the bit the rule names; the kernel refuses it with `EINVAL` (no narrowing: the kernel reads all 64 bits)",
		guard: unshareRule,
		try: func(t *testing.T, e *bypassEnv) bool {
			return killedRun(t, e.cg, wants(`errno=22\b`), "syscall", strconv.Itoa(nrUnshare), newuserBit32Up)
		}},
	{attempt: "`clone(CLONE_NEWUSER)`", rule: unshareNewuser, outcome: "not caught", signalled: false,
		why: "another syscall: a rule names each syscall it judges (the child gets its user namespace)", guard: unshareRule,
		try: func(t *testing.T, e *bypassEnv) bool {
			return killedRun(t, e.cg, wants(`newuser=yes`), "clone-newuser", "clone")
		}},
	{attempt: "`clone(CLONE_NEWUSER)`", rule: cloneNewuserR, outcome: "caught", signalled: true,
		why: "`sys_enter_clone` names the flags `clone_flags`", guard: cloneRule,
		try: func(t *testing.T, e *bypassEnv) bool {
			return killedRun(t, e.cg, nil, "clone-newuser", "clone")
		}},
	{attempt: "`clone3` with `CLONE_NEWUSER`", rule: cloneNewuserR, outcome: "not caught", signalled: false,
		why: "clone3's flags are in a struct behind a pointer (`uargs`), which no condition may read; a rule naming `clone3` " +
			"can only judge every call of it (the child gets its user namespace)", guard: cloneRule,
		try: func(t *testing.T, e *bypassEnv) bool {
			_, err := guard.Start(guard.Config{Tier: guard.TierSignal, Rules: []guard.Rule{{
				Syscalls: generic(t, "clone3"), Action: guard.ActionSignalProcess, Signal: syscall.SIGKILL,
				Match: guard.Matchers{Cgroup: []string{e.cg.Path}},
				Args:  []guard.ArgCondition{{Arg: "uargs", Condition: guard.Condition{Op: guard.CondAnyBits, Values: []uint64{1}}}}}}})
			if err == nil {
				t.Fatal("a condition on clone3's uargs pointer was accepted")
			}
			return killedRun(t, e.cg, wants(`newuser=yes by=clone3`), "clone-newuser", "clone3")
		}},
	{attempt: "`unshare(CLONE_NEWUSER)` by `int $0x80` (ia32 unshare, 310)", rule: unshareNewuser, outcome: "not caught", signalled: false,
		why: "32-bit calls fire no per-syscall tracepoint (the Go offender is multi-threaded, so the kernel says " +
			"`EINVAL`; a single-threaded caller gets its namespace)", guard: unshareRule,
		try: func(t *testing.T, e *bypassEnv) bool {
			return killedRun(t, e.cg, wants(`errno=22\b`), "int80", strconv.Itoa(ia32Unshare), cloneNewuser)
		}},
	{attempt: "an int argument with garbage in its upper 32 bits", rule: "`getpriority`, `which` equals `PRIO_PGRP`, KILL",
		outcome: "caught", signalled: true, covered: "TestIntArgumentIsJudgedAsTheKernelSeesIt",
		why: "narrowed to the declared C type, as the kernel's body sees it"},
	{attempt: "`close(999)` from another thread", rule: "`close`, fails_with `EBADF`, KILL", outcome: "caught", signalled: true,
		why: "judged at `sys_exit_close` on the thread's own entry",
		guard: func(t *testing.T) guard.Rule {
			return guard.Rule{Syscalls: generic(t, "close"), Action: guard.ActionSignalProcess, Signal: syscall.SIGKILL,
				When: guard.When{FailsWith: []syscall.Errno{syscall.EBADF}}}
		},
		try: func(t *testing.T, e *bypassEnv) bool {
			return killedRun(t, e.cg, nil, "syscall-thread", strconv.Itoa(nrClose), "999")
		}},
	{attempt: "a thread dies inside a slow poll (`exit_group` from the main thread)", rule: "`poll`, slower_than 100ms, audit",
		outcome: "judged at exit", signalled: true,
		why: "the kernel runs `sys_exit_poll` (ret `-ERESTART_RESTARTBLOCK`) before the thread dies: no entry is left behind",
		guard: func(t *testing.T) guard.Rule {
			return guard.Rule{Syscalls: generic(t, "poll"), Action: guard.ActionAudit, Signal: syscall.SIGKILL,
				When: guard.When{SlowerThan: 100 * time.Millisecond}}
		},
		try: func(t *testing.T, e *bypassEnv) bool {
			cmd := e.cg.Command(e.offender, "poll-die", "300")
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("poll-die: %v %q", err, out)
			}
			tid, _ := strconv.Atoi(regexp.MustCompile(`tid=(\d+)`).FindStringSubmatch(string(out))[1])
			evs := e.r.eventsWhere(1, func(ev *guard.Event) bool { return ev.TID == tid })
			for _, ev := range evs {
				if !ev.AtExit || ev.Ret != -516 || ev.Duration < 290*time.Millisecond {
					t.Errorf("event %+v: want the poll's exit, ret -ERESTART_RESTARTBLOCK, after >= 300 ms", ev)
				}
			}
			return len(evs) == 1
		}},
	{attempt: "a process outside the cgroup reuses the tid of a thread that never returned from a named call " +
		"(`exit(2)`), then makes a fast poll", rule: "`exit`, `poll`, slower_than 100ms, KILL",
		outcome: "not signalled", signalled: false,
		why: "the entry noted for `exit` is never consumed; the exit program drops an entry of another syscall (`ctx->id`) " +
			"or older than the calling task",
		guard: slowRule("exit", "poll"),
		try: func(t *testing.T, e *bypassEnv) bool {
			out, err := e.cg.Command(e.offender, "thread-exit").Output()
			if err != nil {
				t.Fatalf("thread-exit: %v %q", err, out)
			}
			tid, _ := strconv.Atoi(regexp.MustCompile(`tid=(\d+)`).FindStringSubmatch(string(out))[1])
			return reuseTid(t, e, tid, "syscall", strconv.Itoa(nrPoll), "0", "0", "0")
		}},
	{attempt: "`execve` from the main thread", rule: "`execve`, returns equals 0, KILL", outcome: "caught", signalled: true,
		why: "entry and exit on the same thread", guard: execSucceedsRule,
		try: func(t *testing.T, e *bypassEnv) bool {
			return awaitInside(t, e, "exec", "syscall", strconv.Itoa(nrGetpid))
		}},
	{attempt: "`execve` from another thread", rule: "`execve`, returns equals 0, KILL", outcome: "caught", signalled: true,
		why:   "the exec takes over the main thread's tid, so the entry is kept by task, not by tid",
		guard: execSucceedsRule,
		try: func(t *testing.T, e *bypassEnv) bool {
			return awaitInside(t, e, "exec-thread", "syscall", strconv.Itoa(nrGetpid))
		}},
	{attempt: "a process outside the cgroup reuses the tid a thread had when it entered a successful exec, then execs",
		rule: "`execve`, slower_than 100ms, KILL", outcome: "not signalled", signalled: false,
		why:   "the exec's exit consumes its entry (kept by task); an entry older than the calling task would be dropped",
		guard: slowRule("execve"),
		try: func(t *testing.T, e *bypassEnv) bool {
			out, err := e.cg.Command(e.offender, "exec-thread", "syscall", strconv.Itoa(nrGetpid)).Output()
			if err != nil {
				t.Fatalf("exec-thread: %v %q", err, out)
			}
			tid, _ := strconv.Atoi(regexp.MustCompile(`tid=(\d+)`).FindStringSubmatch(string(out))[1])
			// The new process's own exec of the offender is its first call.
			return reuseTid(t, e, tid, "syscall", strconv.Itoa(nrGetpid))
		}},
	{attempt: "`openat` of a missing file by io_uring (`IORING_OP_OPENAT`)", rule: "`openat`, fails_with `ENOENT`, KILL",
		outcome: "not caught", signalled: false,
		why: "io_uring's opens make no syscall; the generic route sees syscalls only",
		guard: func(t *testing.T) guard.Rule {
			return guard.Rule{Syscalls: generic(t, "openat"), Action: guard.ActionSignalProcess, Signal: syscall.SIGKILL,
				When: guard.When{FailsWith: []syscall.Errno{syscall.ENOENT}}}
		},
		try: func(t *testing.T, e *bypassEnv) bool {
			missing := filepath.Join(t.TempDir(), "missing")
			return killedRun(t, e.cg, wants(`res=-2\b`), "uring-openat", missing)
		}},
	{attempt: "16 threads race the rate limit with 200 calls each", rule: "`getppid`, at_most 5/1h per process, audit",
		outcome: "at most 5 events", signalled: true,
		why: "the count is added to, then read: a race can hold back more, never let more through; every call is counted",
		guard: func(t *testing.T) guard.Rule {
			return guard.Rule{Syscalls: generic(t, "getppid"), Action: guard.ActionAudit, Signal: syscall.SIGKILL,
				AtMost: &guard.RateLimit{Count: 5, Per: time.Hour, Scope: guard.RateProcess}}
		},
		try: func(t *testing.T, e *bypassEnv) bool {
			const threads, each = 16, 200
			cmd := e.cg.Command(e.offender, "threads-repeat", strconv.Itoa(threads), strconv.Itoa(each), strconv.Itoa(nrGetppid))
			if out, err := cmd.Output(); err != nil {
				t.Fatalf("threads-repeat: %v %q", err, out)
			}
			events := len(e.r.eventsOf(cmd.Process.Pid, 5))
			st, err := e.r.g.Stats()
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%d calls: %d events, %d held back, %d matched", threads*each, events, st.HeldBack, st.Interventions)
			// An hour's boundary during the calls would let 5 more through.
			if events > 10 || uint64(events)+st.HeldBack != st.Interventions || st.Interventions != threads*each {
				t.Errorf("%d events + %d held back, %d matched, %d calls", events, st.HeldBack, st.Interventions, threads*each)
			}
			return events > 0 && events <= 10
		}},
	{attempt: "a process moves into the rule's cgroup during a slow poll", rule: pollSlow, outcome: "not caught",
		signalled: false, why: "the caller is matched at entry, when it was outside; the exit judges only calls noted then",
		guard: slowRule("poll"),
		try: func(t *testing.T, e *bypassEnv) bool {
			return moveDuringPoll(t, e.outside, e.cg)
		}},
	{attempt: "a process moves out of the rule's cgroup during a slow poll", rule: pollSlow, outcome: "caught",
		signalled: true, why: "the exit judges the rules noted at entry, wherever the caller is by then",
		guard: slowRule("poll"),
		try: func(t *testing.T, e *bypassEnv) bool {
			return moveDuringPoll(t, e.cg, e.outside)
		}},
}

// awaitInside starts `offender await ARGS...` outside the rule's cgroup
// (so that its own exec is not judged), moves it in, lets it go on, and
// says whether it died of SIGKILL.
func awaitInside(t *testing.T, e *bypassEnv, args ...string) bool {
	t.Helper()
	cmd := e.outside.Command(e.offender, append([]string{"await"}, args...)...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewReader(stdout)
	if line, err := lines.ReadString('\n'); err != nil || !strings.HasPrefix(line, "ready") {
		t.Fatalf("await: %q %v", line, err)
	}
	moveTo(t, e.cg, cmd.Process.Pid)
	stdin.Write([]byte("go\n"))
	rest, _ := io.ReadAll(lines)
	err = cmd.Wait()
	if killedBySIGKILL(err) {
		return true
	}
	if err != nil || !strings.Contains(string(rest), "ret=") {
		t.Fatalf("await %v: %v %q", args, err, rest)
	}
	return false
}

// moveDuringPoll starts a 1 s poll in from, moves the process to to
// 300 ms in, and says whether it died of SIGKILL.
func moveDuringPoll(t *testing.T, from, to *testenv.Cgroup) bool {
	t.Helper()
	cmd := from.Command(testenv.Offender(t), "syscall", strconv.Itoa(nrPoll), "0", "0", "1000")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	moveTo(t, to, cmd.Process.Pid)
	err := cmd.Wait()
	if err != nil && !killedBySIGKILL(err) {
		t.Fatalf("poll: %v", err)
	}
	return killedBySIGKILL(err)
}

func moveTo(t *testing.T, cg *testenv.Cgroup, pid int) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(cg.Path, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0); err != nil {
		t.Fatalf("move %d into %s: %v", pid, cg.Path, err)
	}
}

// reuseTid starts `offender ARGS...` outside the rule's cgroup as host
// pid tid, which a thread of the rule's cgroup had (ns_last_pid of the
// initial pid namespace, the numbers the guard keys by; a fresh pid
// namespace would only choose the namespace's own numbers), and says
// whether it died of SIGKILL. Skips when other processes keep taking
// the number first.
func reuseTid(t *testing.T, e *bypassEnv, tid int, args ...string) bool {
	t.Helper()
	// Long enough for a stale entry of the old thread to pass for a slow call.
	time.Sleep(150 * time.Millisecond)
	for range 50 {
		if _, err := os.Stat("/proc/" + strconv.Itoa(tid)); err == nil {
			time.Sleep(20 * time.Millisecond)
			continue
		}
		if err := os.WriteFile("/proc/sys/kernel/ns_last_pid", []byte(strconv.Itoa(tid-1)), 0); err != nil {
			t.Fatalf("set ns_last_pid: %v", err)
		}
		cmd := e.outside.Command(e.offender, args...)
		var out strings.Builder
		cmd.Stdout = &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		err := cmd.Wait()
		if cmd.Process.Pid != tid {
			continue
		}
		if err != nil && !killedBySIGKILL(err) {
			t.Fatalf("offender %v as pid %d: %v %q", args, tid, err, out.String())
		}
		if evs := e.r.eventsOf(tid, 0); len(evs) > 0 {
			t.Logf("events on pid %d: %+v", tid, evs)
		}
		return killedBySIGKILL(err)
	}
	t.Skipf("could not start a process as pid %d", tid)
	return false
}

const (
	genericCoverageBegin = "<!-- generic coverage: made by TestGenericBypasses; go test ./guard -run TestGenericBypasses -update rewrites it -->\n"
	genericCoverageEnd   = "<!-- end of generic coverage -->\n"
)

// TestGenericBypasses tries the ways around a generic rule on the signal
// tier, each with a guard scoped to a cgroup of its own, and checks that
// each comes out as the table in docs/policy.md says.
func TestGenericBypasses(t *testing.T) {
	testenv.RequireRoot(t)
	offender := testenv.Offender(t)
	for _, b := range genericBypasses {
		if b.try == nil {
			continue
		}
		t.Run(b.attempt, func(t *testing.T) {
			cg := testenv.NewCgroup(t)
			outside := testenv.NewCgroup(t)
			r := startGuard(t, cg, b.guard(t), guard.Config{}, 0)
			got := b.try(t, &bypassEnv{r: r, cg: cg, outside: outside, offender: offender})
			if got != b.signalled {
				t.Errorf("%s under %s: signalled=%v, the table says %q (signalled=%v): fix the guard or update the row "+
					"(and docs/policy.md: go test ./guard -run TestGenericBypasses -update)", b.attempt, b.rule, got, b.outcome, b.signalled)
			}
		})
	}
	guard.CheckPolicyDocBlock(t, "generic coverage table", genericCoverageBegin, genericCoverageEnd, genericBypassTable())
}

func genericBypassTable() string {
	var b strings.Builder
	b.WriteString("| route / attempt | rule | outcome | why |\n|---|---|---|---|\n")
	for _, r := range genericBypasses {
		why := r.why
		if r.covered != "" {
			why += " (" + r.covered + ")"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", r.attempt, r.rule, r.outcome, why)
	}
	return b.String()
}
