// Package slowcalltest builds, starts and reads the slowcall example
// (../slowcall.c), for the tests that drive it: its own, which signals it by
// hand, and the end-to-end test in test/e2e, which has sigguard signal it
// when a read is slow.
package slowcalltest

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sigguard/sigguard/internal/testenv"
)

// Build compiles slowcall.c with gcc, with the flags the README gives, and
// returns the executable's path.
func Build(t testing.TB) string {
	t.Helper()
	gcc := testenv.RequireCommand(t, "gcc")
	src := filepath.Join(testenv.ModuleRoot(t), "examples", "slowcall", "slowcall.c")
	out := filepath.Join(t.TempDir(), "slowcall")
	if msg, err := exec.Command(gcc, "-O1", "-g", "-rdynamic", "-pthread", "-o", out, src).CombinedOutput(); err != nil {
		t.Fatalf("gcc slowcall.c: %v\n%s", err, msg)
	}
	return out
}

// Proc is a running slowcall: its stdin is a pipe the test writes, its
// report lines come through a pipe of their own (fd 3), and its stderr,
// which holds the handler's stack traces, goes to a file.
type Proc struct {
	Cmd   *exec.Cmd
	Stdin *os.File // the write end of slowcall's stdin
	lines <-chan string
	seen  []string // report lines read so far
	errf  string
}

// Start starts cmd (made by exec.Command or a cgroup's Command for a
// slowcall from Build) with the pipes wired; a cleanup kills it.
func Start(t testing.TB, cmd *exec.Cmd) *Proc {
	t.Helper()
	stdin, stdinW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	report, reportW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &Proc{Cmd: cmd, Stdin: stdinW, errf: filepath.Join(t.TempDir(), "stderr")}
	stderr, err := os.Create(p.errf)
	if err != nil {
		t.Fatal(err)
	}
	defer stderr.Close()
	cmd.Stdin, cmd.Stderr = stdin, stderr
	cmd.ExtraFiles = []*os.File{reportW}
	cmd.Env = append(os.Environ(), "SLOWCALL_REPORT_FD=3")
	if err := cmd.Start(); err != nil {
		t.Fatalf("start slowcall: %v", err)
	}
	stdin.Close()
	reportW.Close() // so that the report pipe ends when slowcall exits
	t.Cleanup(func() {
		cmd.Process.Kill()
		stdinW.Close()
		report.Close()
	})
	lines := make(chan string, 64)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(report)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	p.lines = lines
	return p
}

// Next waits up to timeout for the next report line; ok is false when the
// report ended or the time ran out.
func (p *Proc) Next(timeout time.Duration) (line string, ok bool) {
	select {
	case line, ok = <-p.lines:
		if ok {
			p.seen = append(p.seen, line)
		}
		return line, ok
	case <-time.After(timeout):
		return "", false
	}
}

// WorkerTID waits for the worker thread's first line and returns its tid.
func (p *Proc) WorkerTID(t testing.TB) int {
	t.Helper()
	line, ok := p.Next(10 * time.Second)
	var tid int
	if !ok {
		t.Fatalf("slowcall did not name its worker within 10 s; stderr:\n%s", p.Stderr())
	}
	if _, err := fmt.Sscanf(line, "worker tid=%d", &tid); err != nil {
		t.Fatalf("first report line %q: %v", line, err)
	}
	return tid
}

// Finish closes slowcall's stdin, which ends its worker's loop, waits for
// it to exit and returns everything it reported.
func (p *Proc) Finish(t testing.TB) (Report, error) {
	t.Helper()
	p.Stdin.Close()
	exited := make(chan error, 1)
	go func() { exited <- p.Cmd.Wait() }()
	var err error
	select {
	case err = <-exited:
	case <-time.After(10 * time.Second):
		t.Fatalf("slowcall did not exit within 10 s of the end of its input; stderr:\n%s", p.Stderr())
	}
	for {
		if _, ok := p.Next(5 * time.Second); !ok {
			break
		}
	}
	r, perr := Parse(p.seen)
	if perr != nil {
		t.Fatalf("%v; stderr:\n%s", perr, p.Stderr())
	}
	return r, err
}

// Stderr is what slowcall wrote on stderr so far: the handler's stack
// traces.
func (p *Proc) Stderr() string {
	b, err := os.ReadFile(p.errf)
	if err != nil {
		return "(reading slowcall's stderr: " + err.Error() + ")"
	}
	return string(b)
}

// Report is slowcall's report lines, parsed.
type Report struct {
	WorkerTID int
	Handlers  []Handler
	Reads     []Read
	Done      int // the read count of the "done" line, -1 without one
}

// Handler is one run of the SIGUSR2 handler.
type Handler struct {
	TID    int
	BootNS int64 // CLOCK_BOOTTIME at the handler's first instruction
	Seq    int   // 1 for the first run
}

// Read is one read(2) of stdin that returned data.
type Read struct {
	TID         int
	Bytes       int
	BootNSAfter int64 // CLOCK_BOOTTIME right after the call returned
}

// Parse reads report lines; a line it does not know is an error.
func Parse(lines []string) (Report, error) {
	r := Report{Done: -1}
	for _, line := range lines {
		var err error
		switch kind, _, _ := strings.Cut(line, " "); kind {
		case "worker":
			_, err = fmt.Sscanf(line, "worker tid=%d", &r.WorkerTID)
		case "handler":
			var h Handler
			_, err = fmt.Sscanf(line, "handler tid=%d boot_ns=%d seq=%d", &h.TID, &h.BootNS, &h.Seq)
			r.Handlers = append(r.Handlers, h)
		case "read":
			var rd Read
			_, err = fmt.Sscanf(line, "read tid=%d bytes=%d boot_ns_after=%d", &rd.TID, &rd.Bytes, &rd.BootNSAfter)
			r.Reads = append(r.Reads, rd)
		case "done":
			_, err = fmt.Sscanf(line, "done reads=%d", &r.Done)
		default:
			err = fmt.Errorf("unknown line")
		}
		if err != nil {
			return r, fmt.Errorf("slowcall's report line %q: %v", line, err)
		}
	}
	return r, nil
}

// Bytes is the data the reads returned in all.
func (r Report) Bytes() int {
	n := 0
	for _, rd := range r.Reads {
		n += rd.Bytes
	}
	return n
}
