package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Pid namespace modes run another mode the way it runs in a container:
// in a pid namespace of its own, with a /proc mounted for that namespace
// (so that /proc/self, /proc/thread-self and /proc/<pid> speak its
// numbers, not the host's).
//
//	offender pidns MODE ARGS...           MODE runs as the init (pid 1) of a fresh pid namespace
//	offender pidns-join PID MODE ARGS...  MODE runs as a new process in the pid namespace
//	                                      of PID (a host pid), as `docker run --pid=container:`
//	                                      or a pod sharing its process namespace would
//
// Both print "pidns: pid=N", N being the host pid of the process that
// runs MODE (the pid a guard's events name), pass MODE's output through,
// and end as MODE's process ended: with its exit status, or dying of the
// signal that killed it. Each MODE process also gets a mount namespace of
// its own, for its /proc; both namespaces go when it does.
func init() {
	oneShots["pidns"] = func(args []string) {
		if len(args) == 0 {
			fail("usage: offender pidns MODE ARGS...")
		}
		runInNamespace(args, unix.CLONE_NEWPID|unix.CLONE_NEWNS, "")
	}
	oneShots["pidns-join"] = joinPidns
	oneShots["pidns-init"] = pidnsInit
}

// joinPidns starts MODE in the pid namespace of the process PID.
func joinPidns(args []string) {
	if len(args) < 2 {
		fail("usage: offender pidns-join PID MODE ARGS...")
	}
	if _, err := strconv.Atoi(args[0]); err != nil {
		fail("bad pid %q", args[0])
	}
	nsPath := "/proc/" + args[0] + "/ns/pid"
	fd, err := unix.Open(nsPath, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		fail("open %s: %v", nsPath, err)
	}
	// setns(CLONE_NEWPID) never moves the caller: it sets the namespace
	// the calling thread's next children are born in (pid_for_children).
	// The main goroutine, which runs this and will fork, holds the main
	// thread (init in main.go).
	if err := unix.Setns(fd, unix.CLONE_NEWPID); err != nil {
		fail("setns %s: %v", nsPath, err)
	}
	unix.Close(fd)
	runInNamespace(args[1:], unix.CLONE_NEWNS, nsPath)
}

// runInNamespace starts `offender pidns-init MODE ARGS...` with the given
// clone flags, says its host pid, and relays how it ended. When wantNs is
// set, the child must have been born in that pid namespace.
func runInNamespace(args []string, cloneflags uintptr, wantNs string) {
	exe, err := os.Executable()
	if err != nil {
		fail("%v", err)
	}
	mnt, err := os.Readlink("/proc/self/ns/mnt")
	if err != nil {
		fail("%v", err)
	}
	cmd := exec.Command(exe, append([]string{"pidns-init"}, args...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), parentMntEnv+"="+mnt)
	// No Pdeathsig here: with it, Go's child compares getppid() with its
	// parent's pid, taking a difference for a parent already dead, and
	// SIGKILLs itself. A parent outside the child's pid namespace is pid
	// 0 to it: the init of a fresh namespace survives only because an
	// init ignores SIGKILL sent from inside its namespace, and a process
	// born in a namespace joined with setns dies. pidns-init asks for it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: cloneflags}
	if err := cmd.Start(); err != nil {
		fail("start in a new namespace: %v", err)
	}
	if wantNs != "" {
		requireSameNamespace(cmd.Process, wantNs)
	}
	fmt.Printf("pidns: pid=%d\n", cmd.Process.Pid)
	relay(cmd.Wait())
}

// requireSameNamespace ends the run if child was not born in the pid
// namespace wantNs names: the fork would have come from another thread.
func requireSameNamespace(child *os.Process, wantNs string) {
	want, err1 := os.Readlink(wantNs)
	got, err2 := os.Readlink("/proc/" + strconv.Itoa(child.Pid) + "/ns/pid")
	if err := errors.Join(err1, err2); err != nil || got != want {
		child.Kill()
		fail("the child's pid namespace is %s, want %s (%v)", got, want, err)
	}
}

// relay ends this process as its child's ended: with its exit status, or
// by the signal that killed it, so that whoever waits for this process
// can tell a kill from an exit.
func relay(err error) {
	var ee *exec.ExitError
	switch {
	case err == nil:
		os.Exit(0)
	case !errors.As(err, &ee):
		fail("wait: %v", err)
	}
	ws := ee.Sys().(syscall.WaitStatus)
	if !ws.Signaled() {
		os.Exit(ws.ExitStatus())
	}
	// SIGKILL ends this at once; a signal the Go runtime handles first
	// needs its default action back.
	signal.Reset(ws.Signal())
	syscall.Kill(os.Getpid(), ws.Signal())
	time.Sleep(time.Second)
	os.Exit(128 + int(ws.Signal()))
}

// pidnsInit runs in the new namespaces: it mounts a /proc of the pid
// namespace it was born in, then becomes `offender MODE ARGS...` (exec
// keeps the pid and the namespaces).
func pidnsInit(args []string) {
	if len(args) == 0 {
		fail("usage: offender pidns MODE ARGS...")
	}
	exe, err := os.Executable()
	if err != nil {
		fail("%v", err)
	}
	requireOwnMountNamespace()
	// A wrapper killed by a test takes its namespace with it. (Kept
	// across exec, which is not of a set-user-ID program.)
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0, 0, 0); err != nil {
		fail("PR_SET_PDEATHSIG: %v", err)
	}
	// A new mount namespace starts as a copy whose mounts keep their
	// propagation: were / shared with the host's, the proc mounted below
	// would show up on the host's /proc as well. Make every mount private
	// first.
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		fail("make / private: %v", err)
	}
	// procfs shows the pid namespace of the process that mounts it: in this
	// one, /proc/self names this process by its pid in its own namespace.
	if err := unix.Mount("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		fail("mount /proc: %v", err)
	}
	if self, err := os.Readlink("/proc/self"); err != nil || self != strconv.Itoa(os.Getpid()) {
		fail("/proc/self is %q (%v), want %d", self, err, os.Getpid())
	}
	err = unix.Exec(exe, append([]string{exe}, args...), os.Environ())
	fail("exec %s: %v", exe, err)
}

// parentMntEnv hands pidns-init the mount namespace of the process that
// started it, which pidns-init must not be in.
const parentMntEnv = "OFFENDER_PIDNS_PARENT_MNT"

// requireOwnMountNamespace refuses to mount anything unless this process
// was started by pidns or pidns-join, in a mount namespace of its own:
// pidns-init run by hand must not cover the host's /proc.
func requireOwnMountNamespace() {
	parent := os.Getenv(parentMntEnv)
	own, err := os.Readlink("/proc/self/ns/mnt")
	if err != nil || parent == "" || own == parent {
		fail("pidns-init runs only in a mount namespace of its own, started by pidns (%s, parent's %q, %v)", own, parent, err)
	}
	os.Unsetenv(parentMntEnv)
}
