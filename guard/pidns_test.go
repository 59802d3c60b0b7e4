package guard_test

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/sigguard/sigguard/guard"
	"github.com/sigguard/sigguard/internal/testenv"
)

// A rule's target pids are host pids (README, "Namespaces"); a caller
// names its target by a number of its own pid namespace, and a thread by
// its tid. These tests check that a target rule protects the process the
// call reaches, whatever number reached it, and only that process.

// markerAttacks are the attacks on a victim's marker word the target rule
// tests make: one by ptrace, one by process_vm_writev, one through
// /proc/<pid>/mem.
var markerAttacks = []struct {
	name string
	mode string // `offender attack MODE PID`
	want guard.Syscall
}{
	{"ptrace ATTACH, then POKEDATA", "ptrace-attach-poke-marker", guard.SyscallPtrace},
	{"process_vm_writev", "vm-writev-marker", guard.SyscallProcessVMWritev},
	{"/proc/pid/mem: open, pwrite", "mem-write-marker", guard.SyscallOpenat},
}

// protecting is a kill rule over every memory route for calls that reach
// the process with host pid pid (startGuard scopes its callers to the
// test's cgroup).
func protecting(pid int) guard.Rule {
	return guard.Rule{Syscalls: guard.Presets["memory-access"], Action: guard.ActionSignalProcess, Signal: syscall.SIGKILL,
		Match: guard.Matchers{TargetPID: []int{pid}}}
}

// The victim is the init of a pid namespace of its own (pid 1 there), and
// protected by its host pid. An attacker born in the same namespace (as
// with `docker run --pid=container:X`, or a pod's containers sharing one
// process namespace) names it 1. Both attackers, from the host by host
// pid and from inside by namespace pid, reach the same process: both must
// be killed, the victim's marker untouched.
func TestPidNamespaceAttackerNamingItsVictimByANamespacePidIsKilled(t *testing.T) {
	testenv.RequireRoot(t)
	offender := testenv.Offender(t)
	for _, a := range markerAttacks {
		for _, inside := range []bool{false, true} {
			name := a.name + "/from the host, by host pid"
			if inside {
				name = a.name + "/from the victim's namespace, by namespace pid"
			}
			t.Run(name, func(t *testing.T) {
				cg := testenv.NewCgroup(t)
				v := startNsVictim(t, cg, offender)
				r := startGuard(t, cg, protecting(v.pid), guard.Config{}, 0)
				args := []string{"attack", a.mode, strconv.Itoa(v.pid)}
				// The event names the victim by host pid, and as the caller's namespace names it.
				want := reached{pid: v.pid, nsPid: v.pid}
				if inside {
					args = []string{"pidns-join", strconv.Itoa(v.pid), "attack", a.mode, strconv.Itoa(v.nsPid)}
					want.nsPid = v.nsPid
				}
				checkAttackCaught(t, r, runOffender(t, cg, offender, args...), a.want, want)
				checkMarkerIntact(t, v.pid, v.report)
			})
		}
	}
}

// A debugger inside a pid namespace traces its own child, which the
// namespace numbers as a protected host process's pid P (the debugger sets
// ns_last_pid to make the numbers collide). The rule protects host P, not
// every process some namespace calls P: the debugger must live, and the
// host process stay untouched. The control, a caller in the host naming P,
// is killed.
func TestPidNamespaceDebuggerOfItsOwnChildIsNotTakenForTheProtectedPid(t *testing.T) {
	testenv.RequireRoot(t)
	offender := testenv.Offender(t)
	cg := testenv.NewCgroup(t)
	protected := cg.Start(t, "sleep", "60").Process.Pid
	r := startGuard(t, cg, protecting(protected), guard.Config{}, 0)
	t.Run("debugger of its own child numbered P in a pid namespace", func(t *testing.T) {
		run := runOffender(t, cg, offender, "pidns", "debug-child", strconv.Itoa(protected))
		if run.out.unsupported != "" {
			t.Skipf("this kernel cannot number the child: %s", run.out.unsupported)
		}
		if killedBySIGKILL(run.err) {
			t.Errorf("the debugger was killed for tracing its own child, numbered %d in its namespace", protected)
		} else if run.err != nil || run.out.child != protected {
			t.Fatalf("offender: %v, child %d, want %d (%s)", run.err, run.out.child, protected, run.output())
		}
		if !run.out.returned || run.out.errno != 0 {
			t.Errorf("the debugger did not read its child's word: returned %v, errno %d", run.out.returned, run.out.errno)
		}
		for _, pid := range run.pids() {
			if evs := r.eventsOf(pid, 0); len(evs) != 0 {
				t.Errorf("interventions on pid %d, which reached no protected process: %+v", pid, evs)
			}
		}
		if tracer, state := tracerAndState(t, protected); tracer != 0 || isStopped(state) {
			t.Errorf("the protected process: TracerPid %d, State %s", tracer, state)
		}
	})
	t.Run("control: a host process seizing P", func(t *testing.T) {
		checkControlKilled(t, r, runOffender(t, cg, offender, "once", "seize", strconv.Itoa(protected)))
	})
}

// ptrace, process_vm_writev and /proc/<tid>/mem all take a thread's id as
// well as a process's: the tid of a thread other than the leader reaches
// the same memory. A rule protecting the process's pid must cover it.
func TestPidNamespaceTargetPIDCoversEveryThreadOfTheProcess(t *testing.T) {
	testenv.RequireRoot(t)
	offender := testenv.Offender(t)
	for _, a := range markerAttacks {
		t.Run(a.name, func(t *testing.T) {
			cg := testenv.NewCgroup(t)
			v := startSecretVictim(t, cg, offender)
			pid := v.cmd.Process.Pid
			tid := otherThread(t, pid)
			r := startGuard(t, cg, protecting(pid), guard.Config{}, 0)
			checkAttackCaught(t, r, runOffender(t, cg, offender, "attack", a.mode, strconv.Itoa(tid)), a.want,
				reached{pid: pid, tid: tid, nsPid: tid})
			checkMarkerIntact(t, pid, v.report)
		})
	}
}

// reached is the target an event must name: the process by host pid, the
// thread (0: any), and the pid the caller's namespace knows it by.
type reached struct{ pid, tid, nsPid int }

// checkAttackCaught checks that the attacker died of SIGKILL before its
// call returned, with an event for the call that names what it reached.
func checkAttackCaught(t *testing.T, r *running, run offenderRun, want guard.Syscall, target reached) {
	t.Helper()
	if run.out.unsupported != "" {
		t.Skipf("this kernel cannot make the attack: %s", run.out.unsupported)
	}
	if !killedBySIGKILL(run.err) {
		t.Errorf("the attacker was not killed: %v (%s)", run.err, run.output())
	}
	if run.out.returned {
		t.Errorf("the attacker's call returned, errno %d", run.out.errno)
	}
	evs := r.eventsOf(run.caller(), 1)
	if len(evs) == 0 {
		t.Errorf("no event for the attacker %d", run.caller())
		return
	}
	if evs[0].Syscall != want || !evs[0].Success() {
		t.Errorf("want a %s event with the signal sent, got %+v", want, evs[0])
	}
	ev := evs[0]
	if ev.TargetKind != guard.TargetProcess || ev.Target != int64(target.pid) || ev.TargetNsPID != target.nsPid ||
		(target.tid != 0 && ev.TargetTID != target.tid) {
		t.Errorf("the event names target %s %d (thread %d, %d in the caller's namespace), want %+v",
			ev.TargetKind, ev.Target, ev.TargetTID, ev.TargetNsPID, target)
	}
}

// checkMarkerIntact checks that the victim was left neither traced nor
// stopped (resuming it if it was, so that it can answer) and that its
// marker holds.
func checkMarkerIntact(t *testing.T, pid int, report func() string) {
	t.Helper()
	if !victimReleased(t, pid) {
		t.Errorf("the victim was left traced or stopped")
		syscall.Kill(pid, syscall.SIGCONT)
	}
	if got := report(); got != "intact" {
		t.Errorf("the victim's marker: %q, want intact", got)
	}
}

// nsVictim is `offender pidns victim`: the victim as the init of a pid
// namespace of its own.
type nsVictim struct {
	pid    int // in the host's pid namespace
	nsPid  int // in its own
	report func() string
}

func startNsVictim(t *testing.T, cg *testenv.Cgroup, offender string) *nsVictim {
	t.Helper()
	cmd := cg.Command(offender, "pidns", "victim")
	cmd.Env = append(os.Environ(), "OFFENDER_SECRET=")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	v := &nsVictim{}
	t.Cleanup(func() {
		if v.pid != 0 {
			syscall.Kill(v.pid, syscall.SIGKILL)
		}
		cmd.Process.Kill()
		cmd.Wait()
	})
	// The wrapper's line and the victim's come in either order.
	lines := bufio.NewScanner(stdout)
	for ready := false; !ready || v.pid == 0; {
		if !lines.Scan() {
			t.Fatalf("the victim did not get ready (pid %d, ready %v)", v.pid, ready)
		}
		if p, ok := strings.CutPrefix(lines.Text(), "pidns: pid="); ok {
			v.pid, _ = strconv.Atoi(p)
		}
		ready = ready || lines.Text() == "ready"
	}
	v.nsPid = nsPidOf(t, v.pid)
	if v.nsPid == v.pid {
		t.Fatalf("the victim's pid is %d in its namespace as on the host", v.pid)
	}
	v.report = func() string {
		if err := syscall.Kill(v.pid, syscall.SIGUSR2); err != nil {
			t.Fatal(err)
		}
		lines.Scan()
		return lines.Text()
	}
	return v
}

// nsPidOf reads a process's pid in its innermost pid namespace: the last
// number of /proc/PID/status's NSpid line (Linux 4.1+), which lists it
// from the host's namespace down.
func nsPidOf(t *testing.T, pid int) int {
	t.Helper()
	status, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "NSpid:"); ok {
			if f := strings.Fields(v); len(f) > 0 {
				if n, err := strconv.Atoi(f[len(f)-1]); err == nil {
					return n
				}
			}
		}
	}
	t.Fatalf("no NSpid in /proc/%d/status", pid)
	return 0
}

// otherThread is the tid of a thread of pid other than its leader. A Go
// program has several from its start (sysmon, the garbage collector's).
func otherThread(t *testing.T, pid int) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/task")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if tid, err := strconv.Atoi(e.Name()); err == nil && tid != pid {
			return tid
		}
	}
	t.Fatalf("process %d has one thread", pid)
	return 0
}
