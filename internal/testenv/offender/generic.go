package main

import (
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Modes for the generic route, which judges any syscall by its number:
//
//	offender syscall NR [ARG...]           one raw call; prints tid=T ret=R errno=E
//	offender syscall-thread NR [ARG...]    the same from a second thread, while the
//	                                       main thread waits; prints main=M too
//	offender syscall-usr2 NR [ARG...]      the call from a second thread, with a
//	                                       SIGUSR2 handler that records the thread it
//	                                       ran on; prints usr2=T (0: none in 2 s)
//	offender repeat COUNT NR [ARG...]      COUNT raw calls; prints calls=N
//	offender syscall-nice NR [ARG...]      one raw call, then prints its own nice
//	                                       value: nice=N (whether setpriority ran)
//
// Arguments are numbers in Go's syntax (0x10, -1), as whole 64-bit registers:
// an int argument can carry anything in its upper half.
func init() {
	oneShots["syscall"] = func(args []string) { rawCall(args, false) }
	oneShots["syscall-thread"] = func(args []string) { rawCall(args, true) }
	oneShots["syscall-usr2"] = rawCallAwaitUSR2
	oneShots["repeat"] = repeatCall
	oneShots["syscall-nice"] = func(args []string) {
		rawCall(args, false)
		nice, err := unix.Getpriority(unix.PRIO_PROCESS, 0)
		if err != nil {
			fail("getpriority: %v", err)
		}
		fmt.Printf("nice=%d\n", 20-nice) // the raw syscall's 40..1 scale, as the man page says
	}
}

// parseCall reads NR [ARG...] into a syscall number and six registers.
func parseCall(args []string) (uintptr, [6]uintptr) {
	var regs [6]uintptr
	if len(args) < 1 || len(args) > 7 {
		fail("usage: offender syscall NR [ARG...] (at most 6 arguments)")
	}
	nr, err := strconv.ParseUint(args[0], 0, 64)
	if err != nil {
		fail("bad syscall number %q", args[0])
	}
	for i, a := range args[1:] {
		v, err := strconv.ParseInt(a, 0, 64)
		if err != nil {
			u, uerr := strconv.ParseUint(a, 0, 64)
			if uerr != nil {
				fail("bad argument %q", a)
			}
			v = int64(u)
		}
		regs[i] = uintptr(v)
	}
	return uintptr(nr), regs
}

// call makes the call on the current thread and returns its tid and
// result. Not RawSyscall: the runtime would take a call that blocks for
// a Go routine that does not yield, and interrupt it (SIGURG, EINTR).
func call(nr uintptr, regs [6]uintptr) (tid int, ret uintptr, errno syscall.Errno) {
	tid = unix.Gettid()
	ret, _, errno = syscall.Syscall6(nr, regs[0], regs[1], regs[2], regs[3], regs[4], regs[5])
	return tid, ret, errno
}

func rawCall(args []string, otherThread bool) {
	nr, regs := parseCall(args)
	if !otherThread {
		tid, ret, errno := call(nr, regs)
		fmt.Printf("tid=%d ret=%d errno=%d\n", tid, int64(ret), int(errno))
		return
	}
	done := make(chan string)
	go func() {
		runtime.LockOSThread() // this goroutine's thread is never the main one (init locks that)
		tid, ret, errno := call(nr, regs)
		done <- fmt.Sprintf("tid=%d ret=%d errno=%d", tid, int64(ret), int(errno))
	}()
	fmt.Printf("%s main=%d\n", <-done, unix.Gettid())
}

// rawCallAwaitUSR2 makes the call from a second thread and waits for the
// SIGUSR2 a rule judged at exit should bring. Which thread it was sent to
// is in the event (a Go handler does not run on the thread the signal
// was sent to; examples/slowcall's C handler shows that part).
func rawCallAwaitUSR2(args []string) {
	nr, regs := parseCall(args)
	got := make(chan os.Signal, 1)
	signal.Notify(got, syscall.SIGUSR2)
	done := make(chan int)
	go func() {
		runtime.LockOSThread()
		tid, _, _ := call(nr, regs)
		done <- tid
	}()
	tid := <-done
	select {
	case <-got:
		fmt.Printf("tid=%d usr2=received\n", tid)
	case <-time.After(2 * time.Second):
		fmt.Printf("tid=%d usr2=none\n", tid)
	}
}

func repeatCall(args []string) {
	if len(args) < 2 {
		fail("usage: offender repeat COUNT NR [ARG...]")
	}
	n, err := strconv.Atoi(args[0])
	if err != nil {
		fail("bad count %q", args[0])
	}
	nr, regs := parseCall(args[1:])
	for range n {
		call(nr, regs)
	}
	fmt.Printf("calls=%d\n", n)
}
