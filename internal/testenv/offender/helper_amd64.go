package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Helpers make the offending call in a child that shares the offender's
// memory, so that the process sigguard signals is not the one that asked
// for the call:
//
//	offender attack vfork:ROUTE PID    a vfork child (CLONE_VM|CLONE_VFORK; the parent waits)
//	offender attack clonevm:ROUTE PID  a CLONE_VM child (a process of its own; the parent runs on)
//
// ROUTE is one of helperCalls. The parent survives what happens to the
// child and prints {"helper":PID,"signal":N,"errno":N}.

// helperCalls are the routes a helper can make: one raw syscall each.
var helperCalls = map[string]func(pid int) (nr uintptr, args [5]uintptr){
	"vm-writev-marker": func(pid int) (uintptr, [5]uintptr) {
		local := &unix.Iovec{Base: (*byte)(unsafe.Pointer(&zeroWord)), Len: 8}
		remote := &unix.RemoteIovec{Base: uintptr(unsafe.Pointer(&marker)), Len: 8}
		keep = append(keep, local, remote)
		return unix.SYS_PROCESS_VM_WRITEV, [5]uintptr{uintptr(pid), uintptr(unsafe.Pointer(local)), 1,
			uintptr(unsafe.Pointer(remote)), 1}
	},
	"ptrace-attach": func(pid int) (uintptr, [5]uintptr) {
		return unix.SYS_PTRACE, [5]uintptr{unix.PTRACE_ATTACH, uintptr(pid)}
	},
}

var zeroWord uint64

// keep holds what the child's call points to until the child is reaped.
var keep []any

const cloneVFork = unix.CLONE_VM | unix.CLONE_VFORK | uintptr(unix.SIGCHLD)
const cloneVM = unix.CLONE_VM | uintptr(unix.SIGCHLD)

func cloneCall(flags, stack, nr, a1, a2, a3, a4, a5 uintptr) (pid, errno uintptr)

// runHelper runs route in a helper child and reports how the child ended.
func runHelper(kind, route string, pid int) {
	flags := cloneVM
	if kind == "vfork" {
		flags = cloneVFork
	}
	call, ok := helperCalls[route]
	if !ok {
		fail("no helper route %q (known: vm-writev-marker, ptrace-attach)", route)
	}
	nr, a := call(pid)
	// A stack of its own: a signal handled in the child would push a frame.
	stack := make([]byte, 64<<10)
	keep = append(keep, stack)
	child, errno := cloneCall(flags, uintptr(unsafe.Pointer(&stack[len(stack)-64])), nr, a[0], a[1], a[2], a[3], a[4])
	if errno != 0 {
		fail("clone: %v", syscall.Errno(errno))
	}
	var ws unix.WaitStatus
	if _, err := unix.Wait4(int(child), &ws, 0, nil); err != nil {
		fail("wait for helper %d: %v", child, err)
	}
	out := map[string]int{"helper": int(child), "signal": 0, "errno": 0}
	if ws.Signaled() {
		out["signal"] = int(ws.Signal())
	} else {
		out["errno"] = ws.ExitStatus()
	}
	b, _ := json.Marshal(out)
	fmt.Println(string(b))
	keep = nil
}

// helperRoute splits "vfork:ROUTE" or "clonevm:ROUTE".
func helperRoute(mode string) (kind, route string, ok bool) {
	kind, route, ok = strings.Cut(mode, ":")
	return kind, route, ok && (kind == "vfork" || kind == "clonevm")
}
