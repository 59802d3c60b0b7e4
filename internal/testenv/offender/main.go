// Command offender calls ptrace(2) the ways tests need and counts, in a
// shared memory word, how many of its calls returned to user space.
//
//	offender MODE [TARGET_PID]
//
// Modes that loop (OFFENDER_CALLS times, default 1000) and exit 0 when every
// call returned: attach, seize, traceme, peekdata, fail (a cheap call that
// fails with ESRCH). One-shot modes print one line and exit 0 on success:
// seize-once, usr1, thread-usr1. OFFENDER_COUNT names the count file.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/sigguard/sigguard/internal/bench"
)

// A pid no process has: the kernel's pid_max is at most 2^22.
const noSuchPid = 1 << 30

// The main goroutine keeps the main thread, so that a goroutine locked to
// a thread of its own (thread-usr1) is guaranteed to be on another one.
func init() { runtime.LockOSThread() }

func main() {
	if len(os.Args) < 2 {
		fail("usage: offender MODE [TARGET_PID]")
	}
	// One-shot modes parse their own arguments.
	if run, ok := oneShots[os.Args[1]]; ok {
		run(os.Args[2:])
		return
	}
	target := noSuchPid
	if len(os.Args) > 2 {
		n, err := strconv.Atoi(os.Args[2])
		if err != nil {
			fail("bad target pid: %v", err)
		}
		target = n
	}
	counter := openCounter()
	if call, ok := calls[os.Args[1]]; ok {
		loop(counter, func() syscall.Errno { return call(target) })
		return
	}
	switch mode := os.Args[1]; mode {
	case "seize-once":
		seizeOnce(counter, target)
	case "usr1":
		waitForUSR1(counter)
	case "thread-usr1":
		threadPending(counter)
	default:
		fail("unknown mode %q", mode)
	}
}

// calls are the looping modes: one attempt each to reach target.
var calls = map[string]func(target int) syscall.Errno{
	"attach":   func(pid int) syscall.Errno { return rawPtrace(unix.PTRACE_ATTACH, pid) },
	"seize":    func(pid int) syscall.Errno { return rawPtrace(unix.PTRACE_SEIZE, pid) },
	"traceme":  func(int) syscall.Errno { return rawPtrace(unix.PTRACE_TRACEME, 0) },
	"peekdata": func(pid int) syscall.Errno { return rawPtrace(unix.PTRACE_PEEKDATA, pid) },
	"fail":     func(int) syscall.Errno { return rawPtrace(unix.PTRACE_PEEKDATA, noSuchPid) },
	"vm-readv": func(pid int) syscall.Errno { return vm(unix.SYS_PROCESS_VM_READV, pid) },
	"vm-writev": func(pid int) syscall.Errno {
		return vm(unix.SYS_PROCESS_VM_WRITEV, pid)
	},
	"pidfd-getfd": pidfdGetfd,
	"perf-open":   perfOpen,
	"mem-open":    func(pid int) syscall.Errno { return openMem(unix.SYS_OPEN, pid) },
	"mem-openat":  func(pid int) syscall.Errno { return openMem(unix.SYS_OPENAT, pid) },
	"mem-openat2": func(pid int) syscall.Errno { return openMem(unix.SYS_OPENAT2, pid) },
	"mem-dirfd":   openMemThroughDirfd,
	"mem-symlink": openMemThroughSymlink,
	"mem-self":    func(int) syscall.Errno { return openMem(unix.SYS_OPENAT, os.Getpid()) },
	"mem-creat":   func(pid int) syscall.Errno { return openMem(unix.SYS_CREAT, pid) },
	// The kernel uses the pid's low 32 bits; junk above must not hide it.
	"attach-hibits":   func(pid int) syscall.Errno { return rawPtrace(unix.PTRACE_ATTACH, pid|1<<32) },
	"compat-attach":   func(pid int) syscall.Errno { return compatPtrace(unix.PTRACE_ATTACH, pid) },
	"compat-mem-open": compatOpenMem,
}

func rawPtrace(request, pid int) syscall.Errno {
	_, _, errno := unix.RawSyscall6(unix.SYS_PTRACE, uintptr(request), uintptr(pid), 0, 0, 0, 0)
	return errno
}

// vm reads or writes one word at an address the target surely maps: its
// own copy of this program's data (same binary only by chance, so this
// mostly fails with EFAULT, which is fine: only the attempt matters).
func vm(nr uintptr, pid int) syscall.Errno {
	var word uint64
	local := unix.Iovec{Base: (*byte)(unsafe.Pointer(&word)), Len: 8}
	remote := unix.RemoteIovec{Base: uintptr(unsafe.Pointer(&word)), Len: 8}
	_, _, errno := unix.Syscall6(nr, uintptr(pid), uintptr(unsafe.Pointer(&local)), 1,
		uintptr(unsafe.Pointer(&remote)), 1, 0)
	return errno
}

func pidfdGetfd(pid int) syscall.Errno {
	pidfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		fail("pidfd_open %d: %v", pid, err)
	}
	defer unix.Close(pidfd)
	fd, _, errno := unix.Syscall(unix.SYS_PIDFD_GETFD, uintptr(pidfd), 0, 0)
	if errno == 0 {
		unix.Close(int(fd))
	}
	return errno
}

func perfOpen(pid int) syscall.Errno {
	attr := unix.PerfEventAttr{Type: unix.PERF_TYPE_SOFTWARE, Config: unix.PERF_COUNT_SW_DUMMY}
	attr.Size = uint32(unsafe.Sizeof(attr))
	fd, err := unix.PerfEventOpen(&attr, pid, -1, -1, 0)
	if err == nil {
		unix.Close(fd)
		return 0
	}
	return err.(syscall.Errno)
}

// atFdcwd is AT_FDCWD (-100) as a syscall argument: a variable, since a
// negative constant does not convert to uintptr.
var cwd = unix.AT_FDCWD
var atFdcwd = uintptr(cwd)

func openMem(nr uintptr, pid int) syscall.Errno {
	path, _ := unix.BytePtrFromString(fmt.Sprintf("/proc/%d/mem", pid))
	var fd uintptr
	var errno syscall.Errno
	switch nr {
	case unix.SYS_OPEN:
		fd, _, errno = unix.Syscall(nr, uintptr(unsafe.Pointer(path)), unix.O_RDONLY, 0)
	case unix.SYS_CREAT:
		fd, _, errno = unix.Syscall(nr, uintptr(unsafe.Pointer(path)), 0o600, 0)
	case unix.SYS_OPENAT:
		fd, _, errno = unix.Syscall6(nr, atFdcwd, uintptr(unsafe.Pointer(path)), unix.O_RDONLY, 0, 0, 0)
	case unix.SYS_OPENAT2:
		how := unix.OpenHow{Flags: unix.O_RDONLY}
		fd, _, errno = unix.Syscall6(nr, atFdcwd, uintptr(unsafe.Pointer(path)),
			uintptr(unsafe.Pointer(&how)), unsafe.Sizeof(how), 0, 0)
	}
	if errno == 0 {
		unix.Close(int(fd))
	}
	return errno
}

// openMemThroughDirfd opens "mem" relative to an open /proc/<pid>: no
// path the kernel sees says /proc/<pid>/mem.
func openMemThroughDirfd(pid int) syscall.Errno {
	dir, err := unix.Open(fmt.Sprintf("/proc/%d", pid), unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		fail("open /proc/%d: %v", pid, err)
	}
	defer unix.Close(dir)
	fd, err := unix.Openat(dir, "mem", unix.O_RDONLY, 0)
	if err == nil {
		unix.Close(fd)
		return 0
	}
	return err.(syscall.Errno)
}

// openMemThroughSymlink opens <tmp>/link/mem where link points at /proc/<pid>.
func openMemThroughSymlink(pid int) syscall.Errno {
	dir, err := os.MkdirTemp("", "offender-")
	if err != nil {
		fail("%v", err)
	}
	defer os.RemoveAll(dir)
	link := dir + "/link"
	if err := os.Symlink(fmt.Sprintf("/proc/%d", pid), link); err != nil {
		fail("%v", err)
	}
	fd, err := unix.Open(link+"/mem", unix.O_RDONLY, 0)
	if err == nil {
		unix.Close(fd)
		return 0
	}
	return err.(syscall.Errno)
}

func loop(counter *uint64, call func() syscall.Errno) {
	n := 1000
	if s := os.Getenv("OFFENDER_CALLS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	// ptrace relations belong to a thread: keep every call on one.
	runtime.LockOSThread()
	for i := 0; i < n; i++ {
		call()
		atomic.AddUint64(counter, 1)
	}
}

func ptrace(counter *uint64, request, pid int) syscall.Errno {
	_, _, errno := unix.RawSyscall6(unix.SYS_PTRACE, uintptr(request), uintptr(pid), 0, 0, 0, 0)
	atomic.AddUint64(counter, 1)
	return errno
}

func seizeOnce(counter *uint64, pid int) {
	runtime.LockOSThread()
	errno := ptrace(counter, unix.PTRACE_SEIZE, pid)
	fmt.Printf("errno=%d\n", errno)
	if errno != 0 {
		os.Exit(1)
	}
}

func waitForUSR1(counter *uint64) {
	got := notifyUSR1()
	ptrace(counter, unix.PTRACE_PEEKDATA, noSuchPid)
	awaitUSR1(got)
}

// notifyUSR1 catches SIGUSR1 from now on, for awaitUSR1.
func notifyUSR1() <-chan os.Signal {
	got := make(chan os.Signal, 1)
	signal.Notify(got, unix.SIGUSR1)
	return got
}

// awaitUSR1 prints whether SIGUSR1 came within 5 s, and exits 3 if not.
func awaitUSR1(got <-chan os.Signal) {
	select {
	case <-got:
		fmt.Println("usr1 received")
	case <-time.After(5 * time.Second):
		fmt.Println("usr1 not received")
		os.Exit(3)
	}
}

// threadPending calls ptrace from a thread other than the main one, with
// SIGUSR1 blocked on it, then reports where the signal is pending: on the
// thread (thread-directed) or on the process (shared).
func threadPending(counter *uint64) {
	done := make(chan map[string]any)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with us
		tid := unix.Gettid()
		var set, old unix.Sigset_t
		set.Val[0] = 1 << (unix.SIGUSR1 - 1)
		if err := unix.PthreadSigmask(unix.SIG_BLOCK, &set, &old); err != nil {
			fail("block SIGUSR1: %v", err)
		}
		ptrace(counter, unix.PTRACE_PEEKDATA, noSuchPid)
		time.Sleep(200 * time.Millisecond) // the helper queues through irq_work
		thread, shared := pendingUSR1(tid)
		done <- map[string]any{"pid": os.Getpid(), "tid": tid, "thread_pending": thread, "shared_pending": shared}
	}()
	out, _ := json.Marshal(<-done)
	fmt.Println(string(out))
}

func pendingUSR1(tid int) (thread, shared bool) {
	status, err := os.ReadFile(fmt.Sprintf("/proc/self/task/%d/status", tid))
	if err != nil {
		fail("%v", err)
	}
	bit := uint64(1) << (unix.SIGUSR1 - 1)
	for _, line := range strings.Split(string(status), "\n") {
		key, value, _ := strings.Cut(line, ":")
		mask, _ := strconv.ParseUint(strings.TrimSpace(value), 16, 64)
		switch key {
		case "SigPnd":
			thread = mask&bit != 0
		case "ShdPnd":
			shared = mask&bit != 0
		}
	}
	return thread, shared
}

// openCounter maps the count file shared with the test; without one the
// count goes nowhere.
func openCounter() *uint64 {
	path := os.Getenv("OFFENDER_COUNT")
	if path == "" {
		return new(uint64)
	}
	counter, err := bench.OpenCounter(path)
	if err != nil {
		fail("%v", err)
	}
	return counter
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "offender: "+format+"\n", args...)
	os.Exit(2)
}
