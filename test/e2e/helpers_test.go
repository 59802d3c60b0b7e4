package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sigguard/sigguard/internal/testenv"
)

// binary is a sigguard process a test started.
type binary struct {
	cmd    *exec.Cmd
	ready  string
	lines  <-chan []byte // stdout, line by line
	stderr *stderrFile
	exited chan error
}

// startBinary starts the built sigguard with args, JSON output and a
// ready file, and returns once enforcement is live.
func startBinary(t testing.TB, args ...string) *binary {
	t.Helper()
	return startBinaryWith(t, exec.Command, args...)
}

// startBinaryWith is startBinary with the command made by command, which
// may run sigguard through another program (unshare, setpriv) or in a
// cgroup.
func startBinaryWith(t testing.TB, command func(name string, args ...string) *exec.Cmd, args ...string) *binary {
	t.Helper()
	bin := testenv.Build(t, "./cmd/sigguard")
	dir := t.TempDir()
	b := &binary{ready: filepath.Join(dir, "ready"), exited: make(chan error, 1)}
	b.stderr = newStderrFile(t, filepath.Join(dir, "stderr"))
	// The signal tier unless a test asks otherwise: it runs on every
	// kernel, and most tests are about its mechanics.
	if !slices.Contains(args, "--tier") {
		args = append(args, "--tier", "signal")
	}
	b.cmd = command(bin, append(args, "--ready-file", b.ready, "--output", "json")...)
	// A plain pipe rather than StdoutPipe, so that waiting for the exit
	// can run beside the reading.
	stdout, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdout.Close() })
	b.cmd.Stdout, b.cmd.Stderr = w, b.stderr.f
	if err := b.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	t.Cleanup(func() { b.cmd.Process.Kill() })
	go func() { b.exited <- b.cmd.Wait() }()
	b.lines = readLines(stdout)
	b.waitUntilReady(t)
	return b
}

func (b *binary) waitUntilReady(t testing.TB) {
	t.Helper()
	// Generous: under the kernel matrix's software emulation, loading and
	// verifying the programs alone takes 3 to 10 s.
	deadline := time.After(30 * time.Second)
	for {
		if _, err := os.Stat(b.ready); err == nil {
			return
		}
		select {
		case err := <-b.exited:
			t.Fatalf("sigguard exited before it was ready: %v\n%s", err, b.stderr)
		case <-deadline:
			t.Fatal("sigguard did not write its ready file within 30 s")
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// stop sends sig and waits for sigguard to exit.
func (b *binary) stop(t testing.TB, sig os.Signal) error {
	t.Helper()
	if err := b.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-b.exited:
		return err
	case <-time.After(10 * time.Second):
		t.Fatalf("sigguard did not stop within 10 s of %v", sig)
		return nil
	}
}

// event waits for the JSON event of pid.
func (b *binary) event(t *testing.T, pid int) event {
	t.Helper()
	return waitForJSON(t, b, fmt.Sprintf("an event for pid %d", pid), func(ev event) bool { return ev.PID == pid })
}

// waitForJSON reads sigguard's JSON lines until one matches.
func waitForJSON(t *testing.T, b *binary, what string, match func(event) bool) event {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case line, ok := <-b.lines:
			if !ok {
				t.Fatalf("sigguard's output ended before %s; stderr:\n%s", what, b.stderr)
			}
			var ev event
			if err := json.Unmarshal(line, &ev); err != nil {
				t.Fatalf("not a JSON line: %q: %v", line, err)
			}
			if match(ev) {
				return ev
			}
		case <-timeout:
			t.Fatalf("no %s within 5 s", what)
		}
	}
}

func readLines(r io.Reader) <-chan []byte {
	out := make(chan []byte, 64)
	go func() {
		defer close(out)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			out <- append([]byte(nil), sc.Bytes()...)
		}
	}()
	return out
}

// stderrFile is sigguard's stderr, a file the child writes itself. With
// a Go writer, exec copies the child's stderr through a pipe in a
// goroutine, and what sigguard printed before its ready file could still
// be in that pipe when a test read it: in the kernel matrix a test once
// found no start-up tier line although sigguard had written it. A file
// holds every line written before the ready file appeared.
type stderrFile struct {
	f *os.File
}

func newStderrFile(t testing.TB, path string) *stderrFile {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return &stderrFile{f: f}
}

func (b *stderrFile) String() string {
	text, err := os.ReadFile(b.f.Name())
	if err != nil {
		return "(reading sigguard's stderr: " + err.Error() + ")"
	}
	return string(text)
}

func (b *stderrFile) waitFor(t *testing.T, text string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(b.String(), text) {
		if time.Now().After(deadline) {
			t.Fatalf("stderr never said %q:\n%s", text, b.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
