package main

import (
	"encoding/binary"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/sigguard/sigguard/internal/uring"
)

// The bypass suite's attacks, each one attempt on a victim started as
// `offender victim` (the same non-PIE binary, so marker and secret sit at
// the same addresses in both): an attack ending in -marker tries to zero
// the victim's marker, one ending in -loot to read its secret and write
// what it got to the file OFFENDER_LOOT names.
//
//	offender attack ROUTE PID          prints errno=N (0: the attempt went through)
//	offender attack thread:ROUTE PID   the same from a thread other than the main one
//	offender attack vfork:ROUTE PID    from a helper child (see helper_amd64.go)
func init() {
	oneShots["attack"] = attack
	for name, a := range attacks {
		calls[name] = a
	}
}

// secret is the victim's word an attacker wants; the victim sets it at
// random and tells only the test (OFFENDER_SECRET).
var secret uint64

var attacks = map[string]func(pid int) syscall.Errno{
	"ptrace-attach-poke-marker": attachThen(func(pid int) syscall.Errno {
		_, err := unix.PtracePokeData(pid, uintptr(unsafe.Pointer(&marker)), make([]byte, 8))
		return errnoOf(err)
	}),
	"ptrace-attach-peek-loot": attachThen(func(pid int) syscall.Errno {
		buf := make([]byte, 8)
		if _, err := unix.PtracePeekData(pid, uintptr(unsafe.Pointer(&secret)), buf); err != nil {
			return err.(syscall.Errno)
		}
		return loot(buf)
	}),
	"ptrace-setregs": func(pid int) syscall.Errno { return errnoOf(unix.PtraceSetRegs(pid, &unix.PtraceRegs{})) },
	"vm-readv-loot":  vmReadSecret,
	"mem-read-loot":  func(pid int) syscall.Errno { return memRW(pid, false) },
	"mem-write-marker": func(pid int) syscall.Errno {
		return memRW(pid, true)
	},
	"uring-read-loot":      func(pid int) syscall.Errno { return uringRW(pid, uring.OpOpenat, 0, false) },
	"uring-write-marker":   func(pid int) syscall.Errno { return uringRW(pid, uring.OpOpenat, 0, true) },
	"uring-openat2-marker": func(pid int) syscall.Errno { return uringRW(pid, uring.OpOpenat2, 0, true) },
	// An open whose path the kernel has looked up before completes inline,
	// in io_uring_enter; a first one is handed to an io-wq worker.
	"uring-inline-marker": func(pid int) syscall.Errno {
		var st unix.Stat_t
		unix.Stat(fmt.Sprintf("/proc/%d/mem", pid), &st)
		return uringRW(pid, uring.OpOpenat, 0, true)
	},
	// IOSQE_ASYNC: the open and the write run in an io-wq worker thread.
	"uring-async-marker":  func(pid int) syscall.Errno { return uringRW(pid, uring.OpOpenat, uring.FlagAsync, true) },
	"uring-sqpoll-marker": func(pid int) syscall.Errno { return uringRW(pid, uring.OpOpenat, sqpoll, true) },
	"uring-link-marker":   uringLinked,
	"uring-direct-marker": func(pid int) syscall.Errno { return uringDirect(pid, 0) },
	"uring-skip-direct-marker": func(pid int) syscall.Errno {
		return uringDirect(pid, uring.FlagCQESkipOnOK)
	},
	"uring-skip-write-marker":  func(pid int) syscall.Errno { return uringSkipped(pid, false) },
	"uring-skip-pwrite-marker": func(pid int) syscall.Errno { return uringSkipped(pid, true) },
}

func attack(args []string) {
	if len(args) != 2 {
		fail("usage: offender attack ROUTE PID")
	}
	if kind, route, ok := helperRoute(args[0]); ok {
		pid, err := strconv.Atoi(args[1])
		if err != nil {
			fail("bad pid %q", args[1])
		}
		runHelper(kind, route, pid)
		return
	}
	route, inThread := strings.CutPrefix(args[0], "thread:")
	if !inThread {
		callOnce(args)
		return
	}
	// The main goroutine holds the main thread (init): a goroutine locked
	// to a thread of its own runs on another one.
	done := make(chan struct{})
	go func() {
		runtime.LockOSThread()
		callOnce([]string{route, args[1]})
		close(done)
	}()
	<-done
}

func errnoOf(err error) syscall.Errno {
	if err == nil {
		return 0
	}
	return err.(syscall.Errno)
}

// attachThen attaches to pid, waits for it to stop, and does then.
func attachThen(then func(pid int) syscall.Errno) func(pid int) syscall.Errno {
	return func(pid int) syscall.Errno {
		runtime.LockOSThread()
		if err := unix.PtraceAttach(pid); err != nil {
			return err.(syscall.Errno)
		}
		var ws unix.WaitStatus
		if _, err := unix.Wait4(pid, &ws, unix.WALL, nil); err != nil {
			return err.(syscall.Errno)
		}
		defer unix.PtraceDetach(pid)
		return then(pid)
	}
}

// loot writes what an attack read where the test looks for it.
func loot(b []byte) syscall.Errno {
	if path := os.Getenv("OFFENDER_LOOT"); path != "" {
		if err := os.WriteFile(path, b, 0o600); err != nil {
			fail("write loot: %v", err)
		}
	}
	return 0
}

func vmReadSecret(pid int) syscall.Errno {
	buf := make([]byte, 8)
	local := unix.Iovec{Base: &buf[0], Len: 8}
	remote := unix.RemoteIovec{Base: uintptr(unsafe.Pointer(&secret)), Len: 8}
	n, _, errno := unix.Syscall6(unix.SYS_PROCESS_VM_READV, uintptr(pid), uintptr(unsafe.Pointer(&local)), 1,
		uintptr(unsafe.Pointer(&remote)), 1, 0)
	if errno != 0 {
		return errno
	}
	return lootIfWhole(int(n), buf)
}

func lootIfWhole(n int, buf []byte) syscall.Errno {
	if n != len(buf) {
		return syscall.EIO
	}
	return loot(buf)
}

// memRW opens /proc/<pid>/mem and zeroes the marker or reads the secret.
func memRW(pid int, write bool) syscall.Errno {
	fd, err := unix.Open(fmt.Sprintf("/proc/%d/mem", pid), unix.O_RDWR, 0)
	if err != nil {
		return err.(syscall.Errno)
	}
	defer unix.Close(fd)
	buf := make([]byte, 8)
	var n int
	if write {
		n, err = unix.Pwrite(fd, buf, int64(uintptr(unsafe.Pointer(&marker))))
	} else {
		n, err = unix.Pread(fd, buf, int64(uintptr(unsafe.Pointer(&secret))))
	}
	if err != nil {
		return err.(syscall.Errno)
	}
	if write {
		return 0
	}
	return lootIfWhole(n, buf)
}

// sqpoll, passed as an SQE flag to uringRW, asks for a ring polled by the
// kernel's SQPOLL thread instead (it is no SQE flag the kernel knows).
const sqpoll = 1 << 7

// uringRW opens /proc/<pid>/mem with an io_uring open request, then, in a
// second submission, reads the secret or zeroes the marker through the
// descriptor the open returned: no open, read or write syscall is made.
func uringRW(pid int, op uint8, flags uint8, write bool) syscall.Errno {
	setup := uint32(0)
	if flags&sqpoll != 0 {
		setup, flags = uring.SetupSQPoll, flags&^sqpoll
	}
	ring := newRing(setup)
	defer ring.Close()
	fd, errno := runOne(ring, openSQE(pid, op, flags))
	if errno != 0 {
		return errno
	}
	defer unix.Close(int(fd))
	buf := make([]byte, 8)
	sqe := rwSQE(fd, buf, write)
	sqe.Flags = flags
	n, errno := runOne(ring, sqe)
	if errno != 0 || write {
		return errno
	}
	return lootIfWhole(int(n), buf)
}

// newRing sets up a ring, or ends the attack: unsupported where the kernel
// has no io_uring or forbids it (kernel.io_uring_disabled), failed on any
// other error, which must not pass for a kernel's limit.
func newRing(flags uint32) *uring.Ring {
	ring, err := uring.New(8, flags)
	if uring.Unavailable(err) {
		unsupported("%v", err)
	}
	if err != nil {
		fail("%v", err)
	}
	if ring.Features()&uring.FeatNativeWorkers == 0 {
		unsupported("io_uring's workers are kernel threads before Linux 5.12, outside the caller's process: not covered")
	}
	return ring
}

// unsupported ends an attack the kernel offers no means for: the test
// skips the route on such a kernel.
func unsupported(format string, args ...any) {
	fmt.Printf("unsupported: "+format+"\n", args...)
	os.Exit(0)
}

// path keeps the path of the current open alive for the kernel to read.
var path []byte

// how is OPENAT2's struct open_how, kept alive likewise.
var how = unix.OpenHow{Flags: unix.O_RDWR}

func openSQE(pid int, op uint8, flags uint8) uring.SQE {
	path = append([]byte(fmt.Sprintf("/proc/%d/mem", pid)), 0)
	sqe := uring.SQE{Opcode: op, Flags: flags, FD: int32(unix.AT_FDCWD), Addr: uint64(uintptr(unsafe.Pointer(&path[0])))}
	if op == uring.OpOpenat2 {
		sqe.Off, sqe.Len = uint64(uintptr(unsafe.Pointer(&how))), uint32(unsafe.Sizeof(how))
	} else {
		sqe.OpFlags = unix.O_RDWR
	}
	return sqe
}

// rwBuf keeps the buffer of the current read or write alive.
var rwBuf []byte

func rwSQE(fd int32, buf []byte, write bool) uring.SQE {
	rwBuf = buf
	sqe := uring.SQE{Opcode: uring.OpRead, FD: fd, Addr: uint64(uintptr(unsafe.Pointer(&buf[0]))), Len: uint32(len(buf)),
		Off: uint64(uintptr(unsafe.Pointer(&secret)))}
	if write {
		sqe.Opcode, sqe.Off = uring.OpWrite, uint64(uintptr(unsafe.Pointer(&marker)))
	}
	return sqe
}

// runOne submits one request and returns its result, or its errno.
func runOne(ring *uring.Ring, sqe uring.SQE) (int32, syscall.Errno) {
	cqes, err := ring.Run(1, sqe)
	if err != nil {
		fail("%v", err)
	}
	if len(cqes) != 1 {
		fail("io_uring: %d completions, want 1", len(cqes))
	}
	if cqes[0].Res < 0 {
		return 0, syscall.Errno(-cqes[0].Res)
	}
	return cqes[0].Res, 0
}

// nextFD is the number the next descriptor will get: the lowest free one.
func nextFD() int32 {
	fd, err := unix.Dup(0)
	if err != nil {
		fail("dup: %v", err)
	}
	unix.Close(fd)
	return int32(fd)
}

// uringLinked opens and writes in one submission: the write is linked to
// the open (it starts only once the open succeeded) and names the
// descriptor the open will get, guessed in advance.
func uringLinked(pid int) syscall.Errno {
	ring := newRing(0)
	defer ring.Close()
	requireLinkedFile(ring)
	write := rwSQE(nextFD(), make([]byte, 8), true)
	return runAll(ring, 2, openSQE(pid, uring.OpOpenat, uring.FlagLink), write)
}

// requireLinkedFile ends an attack that links a request to a file an
// earlier one opens: before Linux 5.17 the file was looked up at
// submission, before the open ran, so such a link could not work.
func requireLinkedFile(ring *uring.Ring) {
	if ring.Features()&uring.FeatLinkedFile == 0 {
		unsupported("linked requests look their file up at submission before Linux 5.17")
	}
}

// runAll submits linked requests and returns the first failure.
func runAll(ring *uring.Ring, wait uint32, sqes ...uring.SQE) syscall.Errno {
	cqes, err := ring.Run(wait, sqes...)
	if err != nil {
		fail("%v", err)
	}
	for _, c := range cqes {
		if c.Res < 0 {
			return syscall.Errno(-c.Res)
		}
	}
	if uint32(len(cqes)) < wait {
		fail("io_uring: %d completions, want %d", len(cqes), wait)
	}
	return 0
}

// uringDirect opens into fixed-file slot 0 (a "direct descriptor": no
// descriptor in the process's table) and writes through the slot.
func uringDirect(pid int, openFlags uint8) syscall.Errno {
	ring := newRing(0)
	defer ring.Close()
	requireLinkedFile(ring)
	if openFlags&uring.FlagCQESkipOnOK != 0 && ring.Features()&uring.FeatCQESkip == 0 {
		unsupported("no IOSQE_CQE_SKIP_SUCCESS before Linux 5.17")
	}
	// Empty slots (-1) and opens into a slot came with Linux 5.15, before
	// the linked-file feature required above: any error is a failure.
	if err := ring.RegisterSparseFiles(1); err != nil {
		fail("%v", err)
	}
	open := openSQE(pid, uring.OpOpenat, openFlags|uring.FlagLink)
	open.FileIndex = 1 // slot 0, plus one
	write := rwSQE(0, make([]byte, 8), true)
	write.Flags = uring.FlagFixedFile
	wait := uint32(2)
	if openFlags&uring.FlagCQESkipOnOK != 0 {
		wait = 1
	}
	return runAll(ring, wait, open, write)
}

// uringSkipped opens with IOSQE_CQE_SKIP_SUCCESS, so the open posts no
// completion, and writes to the guessed descriptor: with a pwrite syscall,
// or with an io_uring write.
func uringSkipped(pid int, syscallWrite bool) syscall.Errno {
	ring := newRing(0)
	defer ring.Close()
	if ring.Features()&uring.FeatCQESkip == 0 {
		unsupported("no IOSQE_CQE_SKIP_SUCCESS before Linux 5.17")
	}
	fd := nextFD()
	if errno := runAll(ring, 0, openSQE(pid, uring.OpOpenat, uring.FlagCQESkipOnOK)); errno != 0 {
		return errno
	}
	// Nothing says when the open is done: wait for the descriptor to exist
	// (an io-wq worker may take a while to make it on a busy machine).
	// Not with time.Sleep: the Go runtime's first timer opens descriptors
	// of its own, which would take the number guessed above.
	for deadline := time.Now().Add(5 * time.Second); ; unix.Nanosleep(&unix.Timespec{Nsec: 1e6}, nil) {
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err == nil {
			break
		}
		if time.Now().After(deadline) {
			return syscall.ETIMEDOUT
		}
	}
	defer unix.Close(int(fd))
	if syscallWrite {
		_, err := unix.Pwrite(int(fd), make([]byte, 8), int64(uintptr(unsafe.Pointer(&marker))))
		if err != nil {
			return err.(syscall.Errno)
		}
		return 0
	}
	_, errno := runOne(ring, rwSQE(fd, make([]byte, 8), true))
	return errno
}

// setSecret makes the victim's secret and tells it to the test.
func setSecret() {
	path := os.Getenv("OFFENDER_SECRET")
	if path == "" {
		return
	}
	var b [8]byte
	if _, err := unix.Getrandom(b[:], 0); err != nil {
		fail("getrandom: %v", err)
	}
	secret = binary.NativeEndian.Uint64(b[:]) | 1 // never zero
	binary.NativeEndian.PutUint64(b[:], secret)
	if err := os.WriteFile(path, b[:], 0o600); err != nil {
		fail("write secret: %v", err)
	}
}
