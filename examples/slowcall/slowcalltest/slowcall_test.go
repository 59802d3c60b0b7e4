package slowcalltest_test

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sigguard/sigguard/examples/slowcall/slowcalltest"
)

// The example without sigguard: SIGUSR2 sent by hand to the worker thread
// (tgkill) while it waits in read(2). The handler runs on that thread and
// its stack names read_request, and SA_RESTART restarts the interrupted
// read, which then returns the data written after the signal.
func TestHandlerRunsOnTheReadingThreadAndTheReadIsRestarted(t *testing.T) {
	bin := slowcalltest.Build(t)
	p := slowcalltest.Start(t, exec.Command(bin))
	pid := p.Cmd.Process.Pid
	tid := p.WorkerTID(t)
	if tid == pid {
		t.Fatalf("worker tid %d is the process's main thread", tid)
	}

	// Wait until the worker sleeps in read(2), syscall 0 on x86-64:
	// /proc/PID/task/TID/syscall starts with the number of the syscall a
	// blocked thread is in.
	sysfile := "/proc/" + strconv.Itoa(pid) + "/task/" + strconv.Itoa(tid) + "/syscall"
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		b, err := os.ReadFile(sysfile)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(string(b), "0 ") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the worker is not blocked in read after 5 s: %s", b)
		}
	}

	if err := unix.Tgkill(pid, tid, unix.SIGUSR2); err != nil {
		t.Fatal(err)
	}
	line, ok := p.Next(5 * time.Second)
	if !ok || !strings.HasPrefix(line, "handler tid="+strconv.Itoa(tid)+" ") || !strings.HasSuffix(line, " seq=1") {
		t.Fatalf("after the signal: %q, want the handler's line naming the worker", line)
	}
	// The read is still waiting: the handler interrupted it and the kernel
	// restarted it.
	if line, ok := p.Next(200 * time.Millisecond); ok {
		t.Fatalf("a report line before any input: %q", line)
	}

	const input = "hello\n"
	if _, err := p.Stdin.WriteString(input); err != nil {
		t.Fatal(err)
	}
	r, err := p.Finish(t)
	if err != nil {
		t.Fatalf("slowcall: %v; stderr:\n%s", err, p.Stderr())
	}
	if len(r.Handlers) != 1 || len(r.Reads) != 1 || r.Done != 1 {
		t.Fatalf("report %+v, want one handler run, then one read, then done reads=1", r)
	}
	h, rd := r.Handlers[0], r.Reads[0]
	if rd.TID != tid || rd.Bytes != len(input) {
		t.Errorf("read %+v, want %d bytes on the worker %d", rd, len(input), tid)
	}
	if h.BootNS >= rd.BootNSAfter {
		t.Errorf("the handler (boot_ns %d) did not run before the restarted read returned (%d)", h.BootNS, rd.BootNSAfter)
	}
	if !strings.Contains(p.Stderr(), "(read_request+") {
		t.Errorf("the handler's stack trace does not name read_request:\n%s", p.Stderr())
	}
}
