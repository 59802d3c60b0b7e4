package container

import (
	"errors"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sigguard/sigguard/internal/testenv"
)

// A target.cgroup rule protects a container from every caller: a sidecar
// sharing its pid namespace, and a process on the host. Both are killed,
// and the protected container goes on running, not left stopped by the
// attach.
func TestTargetCgroupProtectsContainer(t *testing.T) {
	requireEngine(t)
	p := startWorkload(t)
	victim := p.pid(t)
	s := startSigguard(t, policyFor([2]string{"protect", "target:\n  cgroup: [" + p.cgroup(t) + "]"}), guardOpts{})

	t.Run("sidecar", func(t *testing.T) {
		sidecar := runContainer(t, "--network", "none", "--pid", "container:"+p.id, workloadImage,
			"timeout", "10", "strace", "-o", "/dev/null", "-p", "1")
		if status := sidecar.wait(t, 20*time.Second); status != killed {
			t.Fatalf("strace in a sidecar: exit status %d, want %d (SIGKILL):\n%s", status, killed, sidecar.logs(t))
		}
		ev := s.waitIntervention(t, "the sidecar's strace", func(ev event) bool {
			return ev.Comm == "strace" && ev.Target == victim
		})
		if ev.TargetNsPID != 1 || ev.Rule != "protect" {
			t.Errorf("event: target_ns_pid %d, rule %q; want 1 (the shared namespace's pid 1), protect: %s", ev.TargetNsPID, ev.Rule, ev)
		}
		assertContainer(t, ev, "container_id", sidecar)
		assertContainer(t, ev, "target_container_id", p)
		assertStillRunning(t, p, victim)
	})

	t.Run("host", func(t *testing.T) {
		cmd := hostStrace(t, victim)
		ev := s.waitIntervention(t, "the host's strace", func(ev event) bool { return ev.PID == cmd.Process.Pid })
		if ev.Target != victim || ev.NsPID != ev.PID {
			t.Errorf("event: target %d, ns_pid %d; want %d, the host pid %d: %s", ev.Target, ev.NsPID, victim, ev.PID, ev)
		}
		assertContainer(t, ev, "target_container_id", p)
		assertStillRunning(t, p, victim)
	})
}

// hostStrace runs strace on the host, in a test cgroup of its own,
// against pid, and fails the test unless SIGKILL ends it.
func hostStrace(t testing.TB, pid int) *exec.Cmd {
	t.Helper()
	cg := testenv.NewCgroup(t)
	cmd := cg.Command(testenv.RequireCommand(t, "strace"), "-o", "/dev/null", "-p", strconv.Itoa(pid))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("strace on the host against pid %d: %v, want killed by SIGKILL", pid, err)
		}
	case <-time.After(5 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("strace on the host against pid %d still ran after 5 s", pid)
	}
	return cmd
}

// assertStillRunning checks that c runs the same first process, and
// that it is not left stopped or traced by the attach that was killed.
func assertStillRunning(t testing.TB, c *container, pid int) {
	t.Helper()
	var state string
	var tracer int
	stopped := func() bool { return strings.HasPrefix(state, "t") || strings.HasPrefix(state, "T") }
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		var err error
		if state, tracer, err = testenv.ProcStatus(pid); err != nil {
			t.Fatalf("protected process %d: %v", pid, err)
		}
		if !stopped() && tracer == 0 {
			break
		}
	}
	if stopped() || tracer != 0 {
		t.Errorf("protected process %d is in state %s with tracer %d, want running untraced", pid, state, tracer)
	}
	if running, now := c.inspect(t, "{{.State.Running}}"), c.pid(t); running != "true" || now != pid {
		t.Errorf("protected container: running %s, pid %d; want true, %d", running, now, pid)
	}
}
