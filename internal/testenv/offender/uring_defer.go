package main

import (
	"errors"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/sigguard/sigguard/internal/uring"
)

// io_uring opens on a ring set up with IORING_SETUP_DEFER_TASKRUN (which
// needs IORING_SETUP_SINGLE_ISSUER; Linux 6.1). With IOSQE_ASYNC the open
// runs in an io-wq worker, a thread of this process, which installs the
// descriptor in the shared table as soon as the file is open. Its
// completion is not posted then: on such a ring the worker queues it as
// task work for the submitting task (ctx->lockless_cq), and only that
// task posts it, when it calls io_uring_enter with GETEVENTS. The signal
// tier judges an io_uring open at its completion, by the descriptor
// number the completion carries: until then the descriptor is there to
// use with pwrite(2), and by then it may be closed.
func init() {
	calls["uring-defer-pwrite-marker"] = func(pid int) syscall.Errno { return uringDeferred(pid, reapOpen) }
	calls["uring-defer-close-marker"] = func(pid int) syscall.Errno { return uringDeferred(pid, reapClosed) }
	calls["uring-defer-noreap-marker"] = func(pid int) syscall.Errno { return uringDeferred(pid, reapNever) }
}

// reap is what a deferred attack does after its write.
type reap int

const (
	reapOpen   reap = iota // ask for the completion, the descriptor still open
	reapClosed             // close the descriptor, then ask for the completion
	reapNever              // never ask: exit with the descriptor and the ring open
)

// As we read the kernel, an exiting submitter does not post deferred
// completions: at exit io_uring cancels only the requests it tracks
// (those on files of other rings), and an open is not one. The ring's
// teardown, once its file is released, hands such work to a kernel
// worker, which has no descriptor table of this process to look the
// number up in. Measured: no event for reapNever.

// uringDeferred opens /proc/<pid>/mem on a deferred ring and zeroes the
// marker with pwrite(2) on the descriptor before its completion is
// posted, then reaps as r says.
func uringDeferred(pid int, r reap) syscall.Errno {
	ring := deferredRing()
	fd := nextFD()
	if err := ring.Queue(openSQE(pid, uring.OpOpenat, uring.FlagAsync)); err != nil {
		fail("%v", err)
	}
	if err := ring.Enter(0); err != nil { // submit only: no GETEVENTS
		fail("%v", err)
	}
	if errno := awaitFD(int(fd)); errno != 0 {
		return errno
	}
	_, err := unix.Pwrite(int(fd), make([]byte, 8), int64(uintptr(unsafe.Pointer(&marker))))
	if r == reapNever {
		return errnoOf(err) // the process exits with both open
	}
	defer ring.Close()
	if r == reapClosed {
		unix.Close(int(fd))
	}
	// The completion is posted here, in this thread.
	if errno := reapOne(ring); errno != 0 {
		return errno
	}
	if r == reapOpen {
		unix.Close(int(fd))
	}
	return errnoOf(err)
}

// deferredRing sets up a ring whose completions wait for its submitter;
// unsupported where the kernel does not know the flags (EINVAL).
func deferredRing() *uring.Ring {
	ring, err := uring.New(8, uring.SetupSingleIssuer|uring.SetupDeferTaskrun)
	if errors.Is(err, unix.EINVAL) {
		unsupported("no IORING_SETUP_DEFER_TASKRUN before Linux 6.1")
	}
	if uring.Unavailable(err) {
		unsupported("%v", err)
	}
	if err != nil {
		fail("%v", err)
	}
	return ring
}

// reapOne asks for the one completion submitted and returns its errno.
func reapOne(ring *uring.Ring) syscall.Errno {
	cqes, err := ring.Run(1)
	if err != nil {
		fail("%v", err)
	}
	if len(cqes) != 1 {
		fail("io_uring: %d completions, want 1", len(cqes))
	}
	if cqes[0].Res < 0 {
		return syscall.Errno(-cqes[0].Res)
	}
	return 0
}

// awaitFD waits for descriptor fd to exist: nothing else says when an
// open whose completion is not posted is done. Not with time.Sleep: the
// Go runtime's first timer opens descriptors of its own.
func awaitFD(fd int) syscall.Errno {
	for deadline := time.Now().Add(5 * time.Second); ; unix.Nanosleep(&unix.Timespec{Nsec: 1e6}, nil) {
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err == nil {
			return 0
		}
		if time.Now().After(deadline) {
			return syscall.ETIMEDOUT
		}
	}
}
