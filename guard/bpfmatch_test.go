package guard

import (
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/sigguard/sigguard/internal/bpf"
	"github.com/sigguard/sigguard/internal/bpf/unittest"
	"github.com/sigguard/sigguard/internal/kernfs"
	"github.com/sigguard/sigguard/internal/testenv"
)

// The kernel side's matching on its own: matching_rules (judge.h), run by
// BPF_PROG_TEST_RUN in a test object that includes the real headers (see
// internal/bpf/unittest), for a call of this test's own thread, against
// the policy compile() makes of guard.Rule values. Nothing is attached,
// signalled or reported.

func TestBPFHelperProcess(t *testing.T) { unittest.ServeHelper(t) }

const (
	kindTask    = uint8(bpf.GuardTargetKindSG_TARGET_TASK)
	kindMissing = uint8(bpf.GuardTargetKindSG_TARGET_MISSING)
)

type matchCase struct {
	name    string
	rules   []Rule
	syscall Syscall // 0: ptrace
	request int64
	target  int    // the pid the call names, in this (the initial) pid namespace
	want    uint64 // the rules that match
	check   func(t *testing.T, got unittest.UnitMatchResult)
}

// resolvedTo checks that matching resolved the target to this task.
func resolvedTo(tgid, tid int) func(*testing.T, unittest.UnitMatchResult) {
	return func(t *testing.T, got unittest.UnitMatchResult) {
		t.Helper()
		if got.Resolved != 1 || got.TargetKind != kindTask || int(got.TargetTgid) != tgid || int(got.TargetTid) != tid {
			t.Errorf("target: resolved %d, kind %d, tgid %d, tid %d; want task %d, thread %d",
				got.Resolved, got.TargetKind, got.TargetTgid, got.TargetTid, tgid, tid)
		}
	}
}

// resolvedMissing checks that matching found no task for the target.
func resolvedMissing(t *testing.T, got unittest.UnitMatchResult) {
	t.Helper()
	if got.Resolved != 1 || got.TargetKind != kindMissing {
		t.Errorf("target: resolved %d, kind %d; want SG_TARGET_MISSING", got.Resolved, got.TargetKind)
	}
}

// unresolved checks that matching stopped before it read the target:
// calls no rule holds by the caller's keys pay nothing for it.
func unresolved(t *testing.T, got unittest.UnitMatchResult) {
	t.Helper()
	if got.Resolved != 0 {
		t.Errorf("the target was resolved (kind %d) though no rule held the caller", got.TargetKind)
	}
}

// exempted checks the rules an except list exempted.
func exempted(mask uint64) func(*testing.T, unittest.UnitMatchResult) {
	return func(t *testing.T, got unittest.UnitMatchResult) {
		t.Helper()
		if got.Exempt != mask {
			t.Errorf("exempt %#x, want %#x", got.Exempt, mask)
		}
	}
}

func noCandidates(t *testing.T, got unittest.UnitMatchResult) {
	t.Helper()
	if got.Candidates != 0 {
		t.Errorf("candidates %#x for a syscall no rule guards", got.Candidates)
	}
}

func both(checks ...func(*testing.T, unittest.UnitMatchResult)) func(*testing.T, unittest.UnitMatchResult) {
	return func(t *testing.T, got unittest.UnitMatchResult) {
		t.Helper()
		for _, c := range checks {
			c(t, got)
		}
	}
}

func TestBPFMatch(t *testing.T) {
	o := unittest.LoadForTest(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cg := testenv.NewCgroup(t)
	h := unittest.StartHelper(t, cg.Command(exe), 2)
	helperThread := h.Threads[1].Host
	self, ownThread := os.Getpid(), unittest.OwnThread(t)
	uid := uint32(os.Getuid())
	b, err := os.ReadFile("/proc/self/comm")
	if err != nil {
		t.Fatal(err)
	}
	comm := strings.TrimSpace(string(b))
	root, err := kernfs.Cgroup2Mount()
	if err != nil {
		t.Fatal(err)
	}
	free := unittest.FreePid(t)

	byUID := Rule{Match: Matchers{UID: []uint32{uid}}}
	protect := func(pids ...int) Rule { return Rule{Match: Matchers{TargetPID: pids}} }
	cases := []matchCase{
		{name: "uid: the caller's", rules: []Rule{byUID}, target: h.Pid, want: 1, check: resolvedTo(h.Pid, h.Pid)},
		{name: "uid: another", rules: []Rule{{Match: Matchers{UID: []uint32{uid + 4242}}}}, target: h.Pid, check: unresolved},
		{name: "comm: the caller's", rules: []Rule{{Match: Matchers{Comm: []string{comm}}}}, target: h.Pid, want: 1},
		{name: "comm: another", rules: []Rule{{Match: Matchers{Comm: []string{"no-such-comm"}}}}, target: h.Pid, check: unresolved},
		{name: "except: the caller's comm exempts", target: h.Pid, check: both(exempted(1), unresolved),
			rules: []Rule{{Match: Matchers{UID: []uint32{uid}}, Except: Matchers{Comm: []string{comm}}}}},
		{name: "except: another comm does not exempt", target: h.Pid, want: 1, check: exempted(0),
			rules: []Rule{{Match: Matchers{UID: []uint32{uid}}, Except: Matchers{Comm: []string{"no-such-comm"}}}}},
		{name: "except: only the rule that lists it", target: h.Pid, want: 2, check: exempted(1),
			rules: []Rule{{Match: Matchers{UID: []uint32{uid}}, Except: Matchers{Comm: []string{comm}}}, byUID}},
		{name: "every key listed must hold", target: h.Pid,
			rules: []Rule{{Match: Matchers{UID: []uint32{uid}, Comm: []string{"no-such-comm"}}}}},
		{name: "two rules match: both bits", rules: []Rule{byUID, {Match: Matchers{Comm: []string{comm}}}}, target: h.Pid, want: 3},
		{name: "a rule with no match lists: every caller", rules: []Rule{{}}, target: h.Pid, want: 1},
		{name: "syscall: a rule for another syscall", rules: []Rule{{Syscalls: []Syscall{SyscallProcessVMWritev}}},
			target: h.Pid, check: noCandidates},
		{name: "syscall: a rule for this one", rules: []Rule{{Syscalls: []Syscall{SyscallProcessVMWritev}}},
			syscall: SyscallProcessVMWritev, target: h.Pid, want: 1},
		{name: "request: listed", rules: []Rule{{Match: Matchers{Request: []int64{syscall.PTRACE_ATTACH}}}},
			request: syscall.PTRACE_ATTACH, target: h.Pid, want: 1},
		{name: "request: not listed", rules: []Rule{{Match: Matchers{Request: []int64{syscall.PTRACE_ATTACH}}}},
			request: syscall.PTRACE_PEEKDATA, target: h.Pid, check: unresolved},
		{name: "exe: the caller's", rules: []Rule{{Match: Matchers{Exe: []string{exe}}}}, target: h.Pid, want: 1},
		{name: "exe: another", rules: []Rule{{Match: Matchers{Exe: []string{"/bin/sh"}}}}, target: h.Pid},
		{name: "ppid: the caller's parent", rules: []Rule{{Match: Matchers{PPID: []int{os.Getppid()}}}}, target: h.Pid, want: 1},
		{name: "ppid: its own pid is no parent", rules: []Rule{{Match: Matchers{PPID: []int{self}}}}, target: h.Pid},
		{name: "ancestor: the parent", rules: []Rule{{Match: Matchers{Ancestor: []int{os.Getppid()}}}}, target: h.Pid, want: 1},
		{name: "ancestor: init", rules: []Rule{{Match: Matchers{Ancestor: []int{1}}}}, target: h.Pid, want: 1},
		{name: "ancestor: the helper is none", rules: []Rule{{Match: Matchers{Ancestor: []int{h.Pid}}}}, target: h.Pid},
		{name: "cgroup: the root holds the caller", rules: []Rule{{Match: Matchers{Cgroup: []string{root}}}}, target: h.Pid, want: 1},
		{name: "cgroup: the helper's does not", rules: []Rule{{Match: Matchers{Cgroup: []string{cg.Path}}}}, target: h.Pid},

		{name: "target.pid: the process", rules: []Rule{protect(h.Pid)}, target: h.Pid, want: 1, check: resolvedTo(h.Pid, h.Pid)},
		{name: "target.pid: another of its threads", rules: []Rule{protect(h.Pid)}, target: helperThread, want: 1,
			check: resolvedTo(h.Pid, helperThread)},
		{name: "target.pid: another process", rules: []Rule{protect(h.Pid)}, target: 1, check: resolvedTo(1, 1)},
		{name: "target.pid: a thread's own tid is not its process", rules: []Rule{protect(helperThread)}, target: helperThread,
			check: resolvedTo(h.Pid, helperThread)},
		{name: "target.pid: a missing target", rules: []Rule{protect(h.Pid, free)}, target: free, check: resolvedMissing},
		{name: "target.pid: pid 0 is missing", rules: []Rule{protect(h.Pid)}, target: 0, check: resolvedMissing},
		{name: "no target lists: a missing target still matches", rules: []Rule{byUID}, target: free, want: 1, check: resolvedMissing},
		{name: "except target.pid: exempts the process", target: h.Pid, check: exempted(1),
			rules: []Rule{{Match: Matchers{UID: []uint32{uid}}, Except: Matchers{TargetPID: []int{h.Pid}}}}},
		{name: "except target.pid: not another", target: 1, want: 1,
			rules: []Rule{{Match: Matchers{UID: []uint32{uid}}, Except: Matchers{TargetPID: []int{h.Pid}}}}},
		{name: "except target.pid: not a missing target", target: free, want: 1, check: resolvedMissing,
			rules: []Rule{{Match: Matchers{UID: []uint32{uid}}, Except: Matchers{TargetPID: []int{free}}}}},
		{name: "self: the caller's own process matches nothing", rules: []Rule{byUID, protect(self)}, target: self,
			check: resolvedTo(self, self)},
		{name: "self: nor another of its threads", rules: []Rule{byUID, protect(self)}, target: ownThread,
			check: resolvedTo(self, ownThread)},
		{name: "target.cgroup: the helper's", rules: []Rule{{Match: Matchers{TargetCgroup: []string{cg.Path}}}}, target: h.Pid, want: 1},
		{name: "target.cgroup: a helper thread", rules: []Rule{{Match: Matchers{TargetCgroup: []string{cg.Path}}}},
			target: helperThread, want: 1},
		{name: "target.cgroup: the root covers the helper's", rules: []Rule{{Match: Matchers{TargetCgroup: []string{root}}}},
			target: h.Pid, want: 1},
		{name: "target.cgroup: a process outside it", rules: []Rule{{Match: Matchers{TargetCgroup: []string{cg.Path}}}},
			target: 1, check: resolvedTo(1, 1)},
		{name: "target.exe: the helper's", rules: []Rule{{Match: Matchers{TargetExe: []string{exe}}}}, target: h.Pid, want: 1},
		{name: "target.exe: not init's", rules: []Rule{{Match: Matchers{TargetExe: []string{exe}}}}, target: 1},
		{name: "caller and target keys together", target: helperThread, want: 1,
			rules: []Rule{{Match: Matchers{UID: []uint32{uid}, Comm: []string{comm}, TargetPID: []int{h.Pid}, TargetCgroup: []string{cg.Path}}}}},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			gen := uint32(i % 2) // alternate, as reloads do
			for j := range c.rules {
				c.rules[j].Action, c.rules[j].Signal = ActionAudit, syscall.SIGKILL
			}
			compiled, err := compile(Config{Rules: c.rules}, gen)
			if err != nil {
				t.Fatalf("compile: %v", err)
			}
			if err := o.WriteGeneration(compiled.gen, compiled.policy, compiled.rules, compiled.matchers); err != nil {
				t.Fatal(err)
			}
			s := c.syscall
			if s == 0 {
				s = SyscallPtrace
			}
			got, err := o.Match(int64(c.target), uint16(s), c.request)
			if err != nil {
				t.Fatal(err)
			}
			if got.Generation != gen || int(got.Tgid) != self {
				t.Fatalf("ran as %d in generation %d, want %d in %d", got.Tgid, got.Generation, self, gen)
			}
			if got.Matched != c.want {
				t.Errorf("matched %#x, want %#x (candidates %#x, left %#x, exempt %#x, target kind %d)",
					got.Matched, c.want, got.Candidates, got.Left, got.Exempt, got.TargetKind)
			}
			if c.check != nil {
				c.check(t, got)
			}
		})
	}
}
