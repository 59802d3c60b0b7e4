package main

import (
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// marker is a word a victim holds and a writer tries to overwrite. Both
// run this same non-PIE binary, so it sits at the same address in each.
var marker uint64 = 0x5349474755415244 // "SIGGUARD"

// oneShots are modes that act once and report, for tests of what a call
// achieved (the deny tier's EPERM, a write that must not land):
//
//	offender once ROUTE PID        one call of a looping mode's route; prints errno=N
//	offender once-usr1 ROUTE PID   the same, then waits for the SIGUSR1 the call
//	                               should bring: prints usr1 received, or usr1 not
//	                               received and exits 3 after 5 s
//	offender victim                holds marker; on SIGUSR2 prints intact or overwritten
var oneShots = map[string]func(args []string){
	"once":      callOnce,
	"once-usr1": callOnceAwaitUSR1,
	"victim":    holdMarker,
}

func init() {
	calls["vm-writev-marker"] = writeMarker
}

func callOnce(args []string) {
	if len(args) != 2 {
		fail("usage: offender once|once-usr1 ROUTE PID")
	}
	call, ok := calls[args[0]]
	pid, err := strconv.Atoi(args[1])
	if !ok || err != nil {
		fail("once: unknown route %q or bad pid %q", args[0], args[1])
	}
	fmt.Printf("errno=%d\n", int(call(pid)))
}

// callOnceAwaitUSR1 is once, then waits for a SIGUSR1: in a deny tier a
// rule with a signal both refuses the call and signals its caller.
func callOnceAwaitUSR1(args []string) {
	got := notifyUSR1()
	callOnce(args)
	awaitUSR1(got)
}

// writeMarker overwrites the target's marker with process_vm_writev.
func writeMarker(pid int) syscall.Errno {
	var zero uint64
	local := unix.Iovec{Base: (*byte)(unsafe.Pointer(&zero)), Len: 8}
	remote := unix.RemoteIovec{Base: uintptr(unsafe.Pointer(&marker)), Len: 8}
	_, _, errno := unix.Syscall6(unix.SYS_PROCESS_VM_WRITEV, uintptr(pid), uintptr(unsafe.Pointer(&local)), 1,
		uintptr(unsafe.Pointer(&remote)), 1, 0)
	return errno
}

func holdMarker([]string) {
	report := make(chan os.Signal, 1)
	signal.Notify(report, unix.SIGUSR2)
	setSecret()
	fmt.Println("ready")
	<-report
	// Read through a pointer the compiler cannot fold into the constant.
	if *(*uint64)(unsafe.Pointer(&marker)) == 0x5349474755415244 {
		fmt.Println("intact")
		return
	}
	fmt.Println("overwritten")
}
