package guard_test

import (
	"bytes"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sigguard/sigguard/guard"
	"github.com/sigguard/sigguard/internal/testenv"
)

// selfAccess is a way a process reaches its own memory, or a sibling
// thread's: no other process is involved, so a guard must let it be.
type selfAccess struct {
	name string // the subtest's name
	mode string // `offender once MODE 0`, or `offender pidns once MODE 0`
	// why explains what the kernel sees, for whoever reads a failure.
	why string
}

var selfAccesses = []selfAccess{
	{"open /proc/self/mem", "self-mem-open",
		"/proc/self is a link to the caller's pid as the /proc mount's pid namespace numbers it"},
	{"open /proc/thread-self/mem", "thread-self-mem",
		"/proc/thread-self is <pid>/task/<tid>: the mem file's directory is the caller's own tid"},
	{"open /proc/getpid()/mem", "own-pid-mem",
		"a container's process knows itself by its namespace pid"},
	{"process_vm_readv of getpid()", "vm-readv-self",
		"the kernel looks the pid up in the caller's pid namespace"},
	{"perf_event_open of getpid()", "perf-self-pid",
		"pid = getpid() instead of 0: the same task, named by number"},
	{"pidfd_getfd through its own pidfd", "pidfd-getfd-self",
		"a pidfd names a struct pid, the same in every namespace"},
	{"io_uring OPENAT of /proc/self/mem, then READ", "uring-self-mem",
		"the open runs in an io-wq worker, a thread of the caller's process"},
	{"open /proc/self/task/<sibling tid>/mem", "sibling-mem",
		"a sibling thread shares the caller's mm: its mem file is the caller's memory"},
	{"process_vm_readv of a sibling tid", "vm-readv-sibling",
		"process_vm_readv takes any tid of the process, whose mm is the caller's"},
	{"perf_event_open of a sibling tid", "perf-sibling",
		"an in-process per-thread profiler: one event per thread of its own"},
}

// TestFalsePositiveSelfAccess runs, under a kill rule over every memory
// route (scoped to the test's cgroup), each way a process reaches its own
// memory or its threads', in the host's pid namespace and as the init of a
// fresh pid namespace with its own /proc, as in a container. None may be
// killed or reported: a guard must judge which process a call reaches,
// not compare the number the caller gave with its own pid and tid in the
// host's namespace. Two controls first show the guard catches calls that
// do reach another process, from either namespace.
func TestFalsePositiveSelfAccess(t *testing.T) {
	testenv.RequireRoot(t)
	offender := testenv.Offender(t)
	for _, tier := range falsePositiveTiers(t) {
		t.Run(string(tier), func(t *testing.T) {
			cg := testenv.NewCgroup(t)
			rule := guard.Rule{Syscalls: guard.Presets["memory-access"], Action: guard.ActionSignalProcess, Signal: syscall.SIGKILL}
			r := startGuard(t, cg, rule, guard.Config{Tier: tier}, 0)
			t.Run("control: host/open of another process's mem", func(t *testing.T) {
				victim := cg.Start(t, "sleep", "60")
				checkControlKilled(t, r, runOffender(t, cg, offender, "once", "mem-openat", strconv.Itoa(victim.Process.Pid)))
			})
			t.Run("control: pidns/debugger of its own child", func(t *testing.T) {
				checkControlKilled(t, r, runOffender(t, cg, offender, "pidns", "debug-child"))
			})
			for _, where := range []string{"host", "pidns"} {
				for _, a := range selfAccesses {
					t.Run(where+"/"+a.name, func(t *testing.T) {
						args := []string{"once", a.mode, "0"}
						if where == "pidns" {
							args = append([]string{"pidns"}, args...)
						}
						checkSelfAccessPasses(t, r, a, runOffender(t, cg, offender, args...))
					})
				}
			}
		})
	}
}

// falsePositiveTiers are the signal tier, where the false kills were
// found, and the best tier the kernel offers when that is a deny tier:
// there the kernel's access check passes a process's own threads without
// asking any LSM, but perf_event_open is still judged at syscall entry.
func falsePositiveTiers(t *testing.T) []guard.Tier {
	tiers := []guard.Tier{guard.TierSignal}
	if best, _ := autoTier(t); best != guard.TierSignal {
		tiers = append(tiers, best)
	}
	return tiers
}

func checkSelfAccessPasses(t *testing.T, r *running, a selfAccess, run offenderRun) {
	t.Helper()
	if run.out.unsupported != "" {
		t.Skipf("this kernel cannot make the call: %s", run.out.unsupported)
	}
	switch {
	case killedBySIGKILL(run.err):
		t.Errorf("killed by SIGKILL, yet it reached only itself (%s)", a.why)
	case run.err != nil:
		t.Fatalf("offender: %v (%s)", run.err, run.output())
	case !run.out.returned || run.out.errno != 0:
		t.Errorf("the call did not complete: returned %v, errno %d (%s)", run.out.returned, run.out.errno, run.output())
	}
	for _, pid := range run.pids() {
		if evs := r.eventsOf(pid, 0); len(evs) != 0 {
			t.Errorf("interventions on pid %d, which reached only itself (%s): %+v", pid, a.why, evs)
		}
	}
}

// checkControlKilled checks that a call reaching another process was
// killed and reported.
func checkControlKilled(t *testing.T, r *running, run offenderRun) {
	t.Helper()
	if run.out.unsupported != "" {
		t.Skipf("this kernel cannot make the call: %s", run.out.unsupported)
	}
	if !killedBySIGKILL(run.err) {
		t.Fatalf("the guard let a call to another process through: %v (%s)", run.err, run.output())
	}
	if evs := r.eventsOf(run.caller(), 1); len(evs) == 0 {
		t.Errorf("no event for the killed caller %d", run.caller())
	}
}

// offenderRun is how one offender run ended, and what it printed.
type offenderRun struct {
	cmd            *exec.Cmd
	err            error // cmd.Wait's
	out            offenderOutput
	stdout, stderr string
}

// offenderOutput is what the offender's lines said.
type offenderOutput struct {
	nsPid       int // pidns: pid=N, the host pid of the process in the namespace; 0 without one
	returned    bool
	errno       int    // errno=N, printed only when the call returned
	child       int    // child=N, the debug-child's child, as the debugger numbers it
	unsupported string // unsupported: WHY, for a call the kernel cannot make
}

// runOffender runs the offender in cg to its end (a hung one ends by
// SIGTERM after a minute, which no caught one dies of).
func runOffender(t *testing.T, cg *testenv.Cgroup, offender string, args ...string) offenderRun {
	t.Helper()
	cmd := cg.Command(offender, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	hung := time.AfterFunc(time.Minute, func() { cmd.Process.Signal(syscall.SIGTERM) })
	err := cmd.Wait()
	hung.Stop()
	return offenderRun{cmd: cmd, err: err, out: parseOffenderOutput(stdout.String()),
		stdout: stdout.String(), stderr: stderr.String()}
}

func parseOffenderOutput(stdout string) offenderOutput {
	var o offenderOutput
	for _, line := range strings.Split(stdout, "\n") {
		if v, ok := strings.CutPrefix(line, "pidns: pid="); ok {
			o.nsPid, _ = strconv.Atoi(v)
		}
		if v, ok := strings.CutPrefix(line, "child="); ok {
			o.child, _ = strconv.Atoi(v)
		}
		if v, ok := strings.CutPrefix(line, "unsupported: "); ok {
			o.unsupported = v
		}
	}
	o.returned, o.errno = parseErrno(stdout)
	return o
}

// caller is the host pid of the process that made the calls: the one in
// the pid namespace, or the offender itself.
func (r offenderRun) caller() int {
	if r.out.nsPid != 0 {
		return r.out.nsPid
	}
	return r.cmd.Process.Pid
}

// pids are the run's processes: the offender, and the one it started in a
// pid namespace.
func (r offenderRun) pids() []int {
	if r.out.nsPid != 0 {
		return []int{r.cmd.Process.Pid, r.out.nsPid}
	}
	return []int{r.cmd.Process.Pid}
}

func (r offenderRun) output() string {
	return strings.TrimSpace(r.stdout + r.stderr)
}
