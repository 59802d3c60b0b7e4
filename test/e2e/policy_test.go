package e2e

import (
	"bytes"
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

// syncBuffer is a bytes.Buffer safe to read while exec writes to it.
type syncBuffer struct {
	mu  chan struct{}
	buf bytes.Buffer
}

func newSyncBuffer() *syncBuffer { return &syncBuffer{mu: make(chan struct{}, 1)} }

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu <- struct{}{}
	defer func() { <-b.mu }()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu <- struct{}{}
	defer func() { <-b.mu }()
	return b.buf.String()
}

func (b *syncBuffer) waitFor(t *testing.T, text string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(b.String(), text) {
		if time.Now().After(deadline) {
			t.Fatalf("stderr never said %q:\n%s", text, b.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestPolicyFileAndReloadOnHangup(t *testing.T) {
	testenv.RequireRoot(t)
	bin := testenv.Build(t, "./cmd/sigguard")
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

	ready := filepath.Join(dir, "ready")
	guard := exec.Command(bin, "--policy", policy, "--ready-file", ready, "--output", "json")
	stdout, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdout.Close()
	stderr := newSyncBuffer()
	guard.Stdout, guard.Stderr = w, stderr
	if err := guard.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	defer guard.Process.Kill()
	exited := make(chan error, 1)
	go func() { exited <- guard.Wait() }()
	waitForFile(t, ready, exited)
	lines := readLines(stdout)

	run := func() (*exec.Cmd, error) {
		cmd := cg.Command(offender, "fail")
		cmd.Env = append(os.Environ(), "OFFENDER_CALLS=1")
		return cmd, cmd.Run()
	}
	cmd, err := run()
	if err != nil {
		t.Fatalf("audited offender: %v", err)
	}
	if ev := waitForEvent(t, lines, cmd.Process.Pid); ev.Action != "audit" {
		t.Errorf("first policy: %+v", ev)
	}

	// Enforce next: rewrite the file and send SIGHUP.
	write(fmt.Sprintf("rules:\n  - name: enforce\n    syscalls: [memory-access]\n    match: { cgroup: [%s] }\n", cg.Path))
	guard.Process.Signal(syscall.SIGHUP)
	stderr.waitFor(t, "reloaded "+policy)
	cmd, err = run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("after the reload the offender should die of SIGKILL: %v", err)
	}
	if ev := waitForEvent(t, lines, cmd.Process.Pid); ev.Action != "signal-process" {
		t.Errorf("second policy: %+v", ev)
	}

	// A broken file is refused, with its position, and the last good policy stays.
	write("rules:\n  - name: broken\n    syscalls: [nope]\n")
	guard.Process.Signal(syscall.SIGHUP)
	stderr.waitFor(t, "reload rejected, the previous policy stays in force: "+policy+":3:16: unknown syscall or preset \"nope\"")
	if _, err := run(); !errors.As(err, &ee) {
		t.Fatalf("after a rejected reload the offender should still die: %v", err)
	}

	guard.Process.Signal(syscall.SIGTERM)
	if err := <-exited; err != nil {
		t.Fatalf("sigguard: %v\n%s", err, stderr.String())
	}
}

func TestCheckCommand(t *testing.T) {
	bin := testenv.Build(t, "./cmd/sigguard")
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	os.WriteFile(good, []byte("rules:\n  - name: no-debuggers\n    syscalls: [memory-access]\n    match: { comm: [gdb] }\n"), 0o644)
	out, err := exec.Command(bin, "check", good).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "rule 1 no-debuggers: ptrace, process_vm_readv") ||
		!strings.Contains(string(out), "1 rules; hooks: open, openat, openat2, perf_event_open, pidfd_getfd, process_vm_readv, process_vm_writev, ptrace") {
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
