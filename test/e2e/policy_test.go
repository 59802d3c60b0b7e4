package e2e

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sigguard/sigguard/internal/testenv"
)

func TestPolicyFileAndReloadOnHangup(t *testing.T) {
	testenv.RequireRoot(t)
	offender := testenv.Offender(t)
	cg := testenv.NewCgroup(t)
	dir := t.TempDir()
	policy := filepath.Join(dir, "policy.yaml")
	write := func(text string) {
		if err := os.WriteFile(policy, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(fmt.Sprintf("rules:\n  - name: watch\n    match: { cgroup: [%s] }\n    action: { audit: true }\n", cg.Path))

	guard := startBinary(t, "--policy", policy)

	run := func() (*exec.Cmd, error) {
		cmd := cg.Command(offender, "fail")
		cmd.Env = append(os.Environ(), "OFFENDER_CALLS=1")
		return cmd, cmd.Run()
	}
	cmd, err := run()
	if err != nil {
		t.Fatalf("audited offender: %v", err)
	}
	if ev := guard.event(t, cmd.Process.Pid); ev.Action != "audit" {
		t.Errorf("first policy: %+v", ev)
	}

	// Enforce next: rewrite the file and send SIGHUP.
	write(fmt.Sprintf("rules:\n  - name: enforce\n    syscalls: [memory-access]\n    match: { cgroup: [%s] }\n", cg.Path))
	guard.cmd.Process.Signal(syscall.SIGHUP)
	guard.stderr.waitFor(t, "reloaded "+policy)
	// Now every memory syscall is guarded: only 32-bit calls and what the
	// signal tier leaves of io_uring stay open. The reload's lines follow
	// "reloaded": wait for its last.
	for deadline := time.Now().Add(5 * time.Second); strings.Count(guard.stderr.String(), "open route: 32-bit syscalls") < 2; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the reload did not describe its open routes:\n%s", guard.stderr)
		}
	}
	if after := guard.stderr.String()[strings.LastIndex(guard.stderr.String(), "reloaded"):]; strings.Contains(after, "open route: process_vm") {
		t.Errorf("open routes after the reload:\n%s", after)
	}
	cmd, err = run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("after the reload the offender should die of SIGKILL: %v", err)
	}
	if ev := guard.event(t, cmd.Process.Pid); ev.Action != "signal-process" {
		t.Errorf("second policy: %+v", ev)
	}

	// A broken file is refused, with its position, and the last good policy stays.
	write("rules:\n  - name: broken\n    syscalls: [nope]\n")
	guard.cmd.Process.Signal(syscall.SIGHUP)
	guard.stderr.waitFor(t, "reload rejected, the previous policy stays in force: "+policy+":3:16: unknown syscall or preset \"nope\"")
	if _, err := run(); !errors.As(err, &ee) {
		t.Fatalf("after a rejected reload the offender should still die: %v", err)
	}

	if err := guard.stop(t, syscall.SIGTERM); err != nil {
		t.Fatalf("sigguard: %v\n%s", err, guard.stderr)
	}
}

func TestCheckCommand(t *testing.T) {
	bin := testenv.Build(t, "./cmd/sigguard")
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	os.WriteFile(good, []byte("rules:\n  - name: no-debuggers\n    syscalls: [memory-access]\n    match: { comm: [gdb] }\n"), 0o644)
	out, err := exec.Command(bin, "check", good).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "rule 1 no-debuggers: ptrace, process_vm_readv") ||
		!strings.Contains(string(out), "1 rules; hooks: io_uring, perf_event_open, pidfd_getfd, proc-mem-creat, proc-mem-open, proc-mem-openat, proc-mem-openat2, process_vm_readv, process_vm_writev, ptrace") {
		t.Errorf("check of a good policy: %v\n%s", err, out)
	}

	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("rules:\n  - name: x\n    action: { signal: 0 }\n"), 0o644)
	cmd := exec.Command(bin, "check", bad)
	out, err = cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.HasPrefix(string(out), "sigguard: "+bad+":3:23: signal: signal 0 is not a signal") {
		t.Errorf("check of a bad policy: %v\n%s", err, out)
	}
}
