package main

import (
	"fmt"
	"os"
	"runtime"
	"sync/atomic"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/sigguard/sigguard/internal/uring"
)

// Self-access modes reach the offender's own memory, or a sibling
// thread's, by each route a guard watches: what language runtimes,
// in-process debuggers and per-thread profilers do every day. None of them
// touches another process. Each is a route of the looping and `once`
// modes, whose PID argument it ignores, and returns errno 0 only when it
// read back the word it went for:
//
//	offender once self-mem-open 0     open /proc/self/mem, pread the marker
//	offender once thread-self-mem 0   the same through /proc/thread-self/mem
//	offender once own-pid-mem 0       through /proc/<getpid()>/mem
//	offender once vm-readv-self 0     process_vm_readv(getpid())
//	offender once perf-self-pid 0     perf_event_open of a task clock, pid = getpid() (not 0)
//	offender once pidfd-getfd-self 0  pidfd_getfd on a pidfd of its own process
//	offender once uring-self-mem 0    io_uring OPENAT of /proc/self/mem, then READ
//	offender once sibling-mem 0       /proc/self/task/<sibling tid>/mem, pread
//	offender once vm-readv-sibling 0  process_vm_readv(<sibling tid>)
//	offender once perf-sibling 0      perf_event_open of a task clock on a sibling thread
//
// In a pid namespace (offender pidns once MODE 0) every number above is
// the namespace's: getpid() is 1 there, and /proc/self resolves to "1".
func init() {
	for name, call := range selfAccess {
		calls[name] = call
	}
}

var selfAccess = map[string]func(int) syscall.Errno{
	"self-mem-open":   func(int) syscall.Errno { return readMarkerFrom("/proc/self/mem") },
	"thread-self-mem": func(int) syscall.Errno { return readMarkerFrom("/proc/thread-self/mem") },
	"own-pid-mem": func(int) syscall.Errno {
		return readMarkerFrom(fmt.Sprintf("/proc/%d/mem", os.Getpid()))
	},
	"vm-readv-self":    func(int) syscall.Errno { return vmReadMarker(os.Getpid()) },
	"perf-self-pid":    func(int) syscall.Errno { return perfTaskClock(os.Getpid()) },
	"pidfd-getfd-self": func(int) syscall.Errno { return pidfdGetOwnFd() },
	"uring-self-mem":   func(int) syscall.Errno { return uringReadMarker("/proc/self/mem") },
	"sibling-mem": onSibling(func(tid int) syscall.Errno {
		return readMarkerFrom(fmt.Sprintf("/proc/self/task/%d/mem", tid))
	}),
	"vm-readv-sibling": onSibling(vmReadMarker),
	"perf-sibling":     onSibling(perfTaskClock),
}

// markerRead says whether buf holds this process's marker word: EIO if
// the read came back short or with anything else.
func markerRead(buf []byte) syscall.Errno {
	if len(buf) != 8 || *(*uint64)(unsafe.Pointer(&buf[0])) != atomic.LoadUint64(&marker) {
		return syscall.EIO
	}
	return 0
}

// readMarkerFrom opens a mem file read-only and preads the marker word
// at its address: the offset in a mem file is an address in its mm.
func readMarkerFrom(path string) syscall.Errno {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return errnoOf(err)
	}
	defer unix.Close(fd)
	buf := make([]byte, 8)
	n, err := unix.Pread(fd, buf, int64(uintptr(unsafe.Pointer(&marker))))
	if err != nil {
		return errnoOf(err)
	}
	return markerRead(buf[:n])
}

// vmReadMarker reads the marker word of pid's mm, which is this
// process's own when pid is this process or one of its threads.
func vmReadMarker(pid int) syscall.Errno {
	buf := make([]byte, 8)
	local := []unix.Iovec{{Base: &buf[0], Len: 8}}
	remote := []unix.RemoteIovec{{Base: uintptr(unsafe.Pointer(&marker)), Len: 8}}
	n, err := unix.ProcessVMReadv(pid, local, remote, 0)
	if err != nil {
		return errnoOf(err)
	}
	return markerRead(buf[:n])
}

// perfTaskClock counts the task clock of one thread (pid a tid) or of a
// whole process (pid its tgid), in user space only: a software event any
// user may open on a task they could ptrace, which is how per-thread
// profilers sample their own threads.
func perfTaskClock(pid int) syscall.Errno {
	attr := unix.PerfEventAttr{
		Type:   unix.PERF_TYPE_SOFTWARE,
		Config: unix.PERF_COUNT_SW_TASK_CLOCK,
		Bits:   unix.PerfBitExcludeKernel | unix.PerfBitExcludeHv,
	}
	attr.Size = uint32(unsafe.Sizeof(attr))
	fd, err := unix.PerfEventOpen(&attr, pid, -1, -1, unix.PERF_FLAG_FD_CLOEXEC)
	if err != nil {
		return errnoOf(err)
	}
	defer unix.Close(fd)
	count := make([]byte, 8)
	if n, err := unix.Read(fd, count); err != nil || n != 8 {
		return syscall.EIO
	}
	return 0
}

// pidfdGetOwnFd takes a copy of one of its own descriptors (the pidfd
// itself) through a pidfd of its own process.
func pidfdGetOwnFd() syscall.Errno {
	pidfd, err := unix.PidfdOpen(os.Getpid(), 0)
	if err != nil {
		return errnoOf(err)
	}
	defer unix.Close(pidfd)
	fd, err := unix.PidfdGetfd(pidfd, pidfd, 0)
	if err != nil {
		return errnoOf(err)
	}
	unix.Close(fd)
	return 0
}

// uringReadMarker opens path with an io_uring OPENAT and reads the
// marker through the descriptor with an io_uring READ. The first open of
// a path goes to an io-wq worker, a thread of this process, whose
// /proc/self is this process too.
func uringReadMarker(p string) syscall.Errno {
	ring := newRing(0)
	defer ring.Close()
	path = append([]byte(p), 0)
	fd, errno := runOne(ring, uring.SQE{Opcode: uring.OpOpenat, FD: int32(unix.AT_FDCWD),
		Addr: uint64(uintptr(unsafe.Pointer(&path[0]))), OpFlags: unix.O_RDONLY | unix.O_CLOEXEC})
	if errno != 0 {
		return errno
	}
	defer unix.Close(int(fd))
	rwBuf = make([]byte, 8)
	n, errno := runOne(ring, uring.SQE{Opcode: uring.OpRead, FD: fd, Addr: uint64(uintptr(unsafe.Pointer(&rwBuf[0]))),
		Len: 8, Off: uint64(uintptr(unsafe.Pointer(&marker)))})
	if errno != 0 {
		return errno
	}
	return markerRead(rwBuf[:n])
}

// onSibling makes call on the tid of another thread of this process,
// which waits meanwhile: the caller runs on the main thread (held by the
// main goroutine), the sibling on one locked to a goroutine of its own,
// which ends with it.
func onSibling(call func(tid int) syscall.Errno) func(int) syscall.Errno {
	return func(int) syscall.Errno {
		tids := make(chan int)
		done := make(chan struct{})
		go func() {
			runtime.LockOSThread() // never unlocked: the thread exits with the goroutine
			tids <- unix.Gettid()
			<-done
		}()
		tid := <-tids
		defer close(done)
		if tid == unix.Gettid() {
			fail("the sibling thread is the caller's own")
		}
		return call(tid)
	}
}
