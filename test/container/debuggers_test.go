package container

import (
	"strings"
	"testing"
	"time"
)

// Debuggers run inside a workload container against a process of the
// same container are killed, and the event names them; the container's
// processes reaching their own memory are left alone.
func TestDebuggersInContainerKilled(t *testing.T) {
	requireEngine(t)
	// Docker's default seccomp profile refuses process_vm_readv (EPERM)
	// to a container without CAP_SYS_PTRACE, before any guard sees it;
	// debugging in a container is where it is granted.
	w := startWorkload(t, "--cap-add", "SYS_PTRACE")
	s := startSigguard(t, policyFor([2]string{"in-workload", "cgroup: [" + w.cgroup(t) + "]"}), guardOpts{})

	for _, debugger := range []string{"strace", "gdb"} {
		t.Run(debugger, func(t *testing.T) {
			caller, status := w.debugIn(t, debugger)
			if status != killed {
				t.Fatalf("%s in the container: exit status %d, want %d (SIGKILL)", debugger, status, killed)
			}
			ev := s.waitIntervention(t, debugger+"'s ptrace", func(ev event) bool {
				return ev.Comm == debugger && ev.NsPID == caller
			})
			if ev.Rule != "in-workload" || ev.Syscall != "ptrace" || ev.Action != "signal-process" {
				t.Errorf("event: rule %q, syscall %q, action %q; want in-workload, ptrace, signal-process: %s",
					ev.Rule, ev.Syscall, ev.Action, ev)
			}
			// The caller is a process of the container: its pid there is
			// the one its shell printed, and not its host pid.
			if ev.PID == ev.NsPID {
				t.Errorf("event's pid %d is also its ns_pid: the caller is not in the container's pid namespace: %s", ev.PID, ev)
			}
			assertContainer(t, ev, "container_id", w)
		})
	}

	t.Run("self-access", func(t *testing.T) {
		// What runtimes and in-process profilers do: each prints errno=0
		// when it read back its own memory.
		routes := []string{"self-mem-open", "thread-self-mem", "own-pid-mem", "vm-readv-self", "sibling-mem", "vm-readv-sibling"}
		script := ""
		for _, r := range routes {
			script += "offender once " + r + " 0 || echo " + r + " failed with $?\n"
		}
		out, status := w.exec(t, script)
		if status != 0 || strings.Count(out, "errno=0\n") != len(routes) {
			t.Fatalf("self-access in the container: exit status %d, want every route to print errno=0:\n%s", status, out)
		}
		// The same offender reaching another process of the container is
		// killed: the guard was watching it all along.
		if got := w.offenderIn(t, "attach"); got != killed {
			t.Fatalf("offender attaching to its neighbour: exit status %d, want %d", got, killed)
		}
		s.waitIntervention(t, "the offender's attach", func(ev event) bool { return ev.Comm == "offender" })
		for _, ev := range s.interventions(t, func(ev event) bool { return ev.Comm == "offender" }) {
			if ev.Syscall != "ptrace" {
				t.Errorf("self-access reported: %s", ev)
			}
		}
	})
}

// /readyz answers 200 once sigguard enforces: what a DaemonSet's
// readiness probe asks.
func TestReadyz(t *testing.T) {
	requireEngine(t)
	w := startWorkload(t)
	s := startSigguard(t, policyFor([2]string{"in-workload", "cgroup: [" + w.cgroup(t) + "]"}), guardOpts{})
	if got := httpStatus(s.metrics + "/metrics"); got != 200 {
		t.Fatalf("GET /metrics: %d, want 200", got)
	}
	var got int
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if got = httpStatus(s.metrics + "/readyz"); got == 200 {
			return
		}
	}
	t.Fatalf("GET /readyz of an enforcing sigguard: %d, want 200", got)
}
