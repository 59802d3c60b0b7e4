package unittest

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// helperEnv makes a re-executed test binary a helper process; its value
// is how many threads to add to the Go runtime's own.
const helperEnv = "SIGGUARD_UNITTEST_HELPER"

// HelperTest is the test function a helper runs as: a package that starts
// helpers defines
//
//	func TestBPFHelperProcess(t *testing.T) { unittest.ServeHelper(t) }
const HelperTest = "TestBPFHelperProcess"

// ServeHelper, in a process StartHelper started, holds the extra threads
// asked for, says "ready" and waits for its standard input to close, then
// exits. In any other process it skips the calling test.
func ServeHelper(t *testing.T) {
	threads, err := strconv.Atoi(os.Getenv(helperEnv))
	if err != nil {
		t.Skip("only runs as a helper process started by the tests")
	}
	started := make(chan struct{})
	for range threads {
		go func() {
			runtime.LockOSThread() // never unlocked: the thread stays this goroutine's
			started <- struct{}{}
			select {}
		}()
	}
	for range threads {
		<-started
	}
	os.Stdout.WriteString("ready\n")
	_, _ = io.Copy(io.Discard, os.Stdin)
	os.Exit(0)
}

// Thread is one thread of a helper: its host id and its id in the helper's
// own pid namespace.
type Thread struct {
	Host, NS int
}

// Helper is a process made of this test binary: several threads, in
// whatever namespaces and cgroup the command asked for.
type Helper struct {
	Pid     int      // host pid
	NSPid   int      // pid in its own pid namespace
	Pidfd   int      // a pidfd of it, closed at cleanup
	Threads []Thread // its threads, the leader first
}

// StartHelper starts cmd, a command of this very test binary (os.Executable)
// with its namespace and cgroup attributes set as the test needs, as a
// helper with threads extra threads. The helper is killed at cleanup.
func StartHelper(t testing.TB, cmd *exec.Cmd, threads int) *Helper {
	t.Helper()
	cmd.Args = append(cmd.Args, "-test.run=^"+HelperTest+"$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"="+strconv.Itoa(threads))
	pidfd := -1
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.PidFD = &pidfd
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start helper: %v", err)
	}
	t.Cleanup(func() {
		stdin.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if pidfd >= 0 {
			syscall.Close(pidfd)
		}
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "ready\n" {
		t.Fatalf("helper did not start: %q, %v", line, err)
	}
	h := &Helper{Pid: cmd.Process.Pid, Pidfd: pidfd}
	h.NSPid = NSPid(t, filepath.Join("/proc", strconv.Itoa(h.Pid), "status"))
	h.Threads = []Thread{{Host: h.Pid, NS: h.NSPid}}
	entries, err := os.ReadDir(filepath.Join("/proc", strconv.Itoa(h.Pid), "task"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		tid, err := strconv.Atoi(e.Name())
		if err != nil || tid == h.Pid {
			continue
		}
		h.Threads = append(h.Threads, Thread{Host: tid,
			NS: NSPid(t, filepath.Join("/proc", strconv.Itoa(h.Pid), "task", e.Name(), "status"))})
	}
	if len(h.Threads) < threads+1 {
		t.Fatalf("helper %d has %d threads, want at least %d", h.Pid, len(h.Threads), threads+1)
	}
	return h
}

// NSPid is the last number of a /proc status file's NSpid line: the id in
// the task's own (deepest) pid namespace.
func NSPid(t testing.TB, status string) int {
	t.Helper()
	ids := NSPids(t, status)
	return ids[len(ids)-1]
}

// NSPids is a /proc status file's NSpid line: the task's id in each pid
// namespace from the initial one down to its own.
func NSPids(t testing.TB, status string) []int {
	t.Helper()
	b, err := os.ReadFile(status)
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "NSpid:"); ok {
			var ids []int
			for _, f := range strings.Fields(v) {
				n, err := strconv.Atoi(f)
				if err != nil {
					t.Fatalf("%s: NSpid %q", status, v)
				}
				ids = append(ids, n)
			}
			if len(ids) == 0 {
				t.Fatalf("%s: empty NSpid", status)
			}
			return ids
		}
	}
	t.Fatalf("no NSpid in %s", status)
	return nil
}

// OwnThread is a thread of this process other than the leader, kept until
// the test ends.
func OwnThread(t testing.TB) int {
	t.Helper()
	done := make(chan struct{})
	t.Cleanup(func() { close(done) })
	// A locked goroutine may land on the main thread; it then keeps that
	// thread, so the next one cannot.
	for range 8 {
		tid := make(chan int)
		go func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			tid <- syscall.Gettid()
			<-done
		}()
		if n := <-tid; n != os.Getpid() {
			return n
		}
	}
	t.Fatal("no thread other than the main one")
	return 0
}

// PidMax is /proc/sys/kernel/pid_max: pids are below it.
func PidMax(t testing.TB) int {
	t.Helper()
	b, err := os.ReadFile("/proc/sys/kernel/pid_max")
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// Exists says whether the initial pid namespace has a task (process or
// thread) numbered pid: /proc/<tid> resolves for threads too.
func Exists(pid int) bool {
	_, err := os.Stat("/proc/" + strconv.Itoa(pid))
	return err == nil
}

// FreePid is a number near pid_max that no task has now: the kernel
// allocates pids upward and wraps, so the top of the range is the last to
// be used.
func FreePid(t testing.TB) int {
	t.Helper()
	for n := PidMax(t) - 1; n > 300; n-- {
		if !Exists(n) {
			return n
		}
	}
	t.Fatal("no free pid")
	return 0
}
