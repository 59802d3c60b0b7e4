package main

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// A debugger of its own child, meant to run inside a pid namespace:
//
//	offender pidns debug-child [PID]
//
// It starts `offender victim` as its child, attaches to it with
// PTRACE_ATTACH, reads the child's marker word with PTRACE_PEEKDATA,
// detaches and ends the child. With PID, the child is made to get that pid
// in the debugger's pid namespace (through ns_last_pid), so that the
// number the debugger names collides with whatever host process has it.
// Prints child=N (the child's pid as the debugger sees it), then errno=0
// when the word read back right.
func init() { oneShots["debug-child"] = debugChild }

func debugChild(args []string) {
	if len(args) > 1 {
		fail("usage: offender debug-child [PID]")
	}
	var child *exec.Cmd
	if len(args) == 0 {
		child = startChildVictim()
	} else {
		want, err := strconv.Atoi(args[0])
		if err != nil || want < 2 {
			fail("bad pid %q", args[0])
		}
		child = startChildVictimAs(want)
	}
	defer func() { child.Process.Kill(); child.Wait() }()
	fmt.Printf("child=%d\n", child.Process.Pid)
	fmt.Printf("errno=%d\n", peekChild(child.Process.Pid))
}

// startChildVictimAs starts the child with pid want in this process's pid
// namespace. Threads take their ids from the same numbers as processes:
// the Go runtime's threads of this process hold the first few pids of a
// fresh namespace, and one it starts between setting ns_last_pid and the
// fork takes the number meant for the child. So: set, fork, and try again
// until the child got it (the runtime soon stops starting threads).
func startChildVictimAs(want int) *exec.Cmd {
	for range 100 {
		setLastPid(want - 1)
		child := startChildVictim()
		if child.Process.Pid == want {
			return child
		}
		child.Process.Kill()
		child.Wait()
	}
	fail("no child got pid %d in 100 tries", want)
	return nil
}

// setLastPid makes n the last pid handed out in this process's pid
// namespace: the next fork (or thread) gets n+1, if free. It writes
// /proc/sys/kernel/ns_last_pid (CONFIG_CHECKPOINT_RESTORE), which acts on
// the writer's pid namespace.
func setLastPid(n int) {
	err := os.WriteFile("/proc/sys/kernel/ns_last_pid", []byte(strconv.Itoa(n)), 0)
	if errors.Is(err, fs.ErrNotExist) {
		unsupported("no /proc/sys/kernel/ns_last_pid (a kernel without CONFIG_CHECKPOINT_RESTORE)")
	}
	if err != nil {
		fail("set ns_last_pid: %v", err)
	}
}

// startChildVictim starts `offender victim` and waits for it to be ready.
func startChildVictim() *exec.Cmd {
	exe, err := os.Executable()
	if err != nil {
		fail("%v", err)
	}
	child := exec.Command(exe, "victim")
	child.Env = append(os.Environ(), "OFFENDER_SECRET=")
	out, err := child.StdoutPipe()
	if err != nil {
		fail("%v", err)
	}
	if err := child.Start(); err != nil {
		fail("start the child: %v", err)
	}
	if line, err := bufio.NewReader(out).ReadString('\n'); err != nil || line != "ready\n" {
		fail("the child did not get ready: %q, %v", line, err)
	}
	return child
}

// peekChild attaches to pid, waits for its stop, and reads its marker
// (the same binary: the same address). Every ptrace request comes from
// the main thread, the tracer, which the main goroutine holds.
func peekChild(pid int) syscall.Errno {
	if err := unix.PtraceAttach(pid); err != nil {
		return errnoOf(err)
	}
	defer unix.PtraceDetach(pid)
	var ws unix.WaitStatus
	if _, err := unix.Wait4(pid, &ws, unix.WALL, nil); err != nil {
		return errnoOf(err)
	}
	if !ws.Stopped() {
		return syscall.ECHILD
	}
	buf := make([]byte, 8)
	if _, err := unix.PtracePeekData(pid, uintptr(unsafe.Pointer(&marker)), buf); err != nil {
		return errnoOf(err)
	}
	return markerRead(buf)
}
