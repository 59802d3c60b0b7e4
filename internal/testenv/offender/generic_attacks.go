package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/sigguard/sigguard/internal/kernfs"
	"github.com/sigguard/sigguard/internal/uring"
)

// Modes that try to get past a generic rule (guard/generic_bypass_test.go):
//
//	offender child MODE ARGS...            MODE runs in a child process (fork and exec);
//	                                       prints child: pid=N, ends as the child ended
//	offender userns                        prints userns=<its user namespace>
//	offender clone-newuser clone|clone3    starts `offender userns` in a new user
//	                                       namespace, by clone(2) (CLONE_NEWUSER in its
//	                                       flags register) or clone3(2) (the flags in a
//	                                       struct in memory); prints newuser=yes when the
//	                                       child's user namespace is not this one's
//	offender uring-openat PATH             opens PATH by io_uring (IORING_OP_OPENAT), no
//	                                       open syscall; prints res=R (-errno or an fd)
//	offender threads-repeat THREADS COUNT NR [ARG...]
//	                                       THREADS threads, released together, each make
//	                                       COUNT raw calls; prints calls=N
//	offender exec-thread MODE ARGS...      a thread other than the main one prints
//	                                       tid=T pid=P, then execs `offender MODE ARGS...`
//	                                       (the exec takes over the main thread's tid)
//	offender poll-die MS                   a second thread enters poll(NULL, 0, 60 s) and
//	                                       prints tid=T; MS ms later the main thread
//	                                       ends the process (exit_group) under it
//	offender thread-exit                   a second thread prints tid=T and ends itself
//	                                       (exit(2), which never returns); the process
//	                                       then waits 100 ms and exits
//	offender exec MODE ARGS...             the main thread execs `offender MODE ARGS...`
//	offender await MODE ARGS...            prints ready pid=P, waits for a line on its
//	                                       standard input, then runs MODE in this process
//	                                       (a test moves it into a cgroup meanwhile)
//	offender int80 NR [ARG1 [ARG2]]        (x86-64) one call through the 32-bit entry;
//	                                       prints ret=R errno=E
func init() {
	oneShots["child"] = runChild
	oneShots["userns"] = func([]string) {
		ns, err := os.Readlink("/proc/self/ns/user")
		if err != nil {
			fail("%v", err)
		}
		fmt.Printf("userns=%s\n", ns)
	}
	oneShots["clone-newuser"] = cloneNewuser
	oneShots["uring-openat"] = uringOpenat
	oneShots["threads-repeat"] = threadsRepeat
	oneShots["exec-thread"] = execFromThread
	oneShots["poll-die"] = pollDie
	oneShots["thread-exit"] = threadExit
	oneShots["exec"] = func(args []string) {
		if len(args) == 0 {
			fail("usage: offender exec MODE ARGS...")
		}
		exe := self()
		fail("exec: %v", unix.Exec(exe, append([]string{exe}, args...), os.Environ()))
	}
	oneShots["await"] = func(args []string) {
		if len(args) == 0 || oneShots[args[0]] == nil {
			fail("usage: offender await MODE ARGS... (a one-shot mode)")
		}
		fmt.Printf("ready pid=%d\n", os.Getpid())
		var line string
		fmt.Scanln(&line)
		oneShots[args[0]](args[1:])
	}
}

// threadExit ends a thread by exit(2): a goroutine that returns while
// locked to its thread takes the thread with it.
func threadExit([]string) {
	tids := make(chan int)
	go func() {
		runtime.LockOSThread()
		tids <- unix.Gettid()
	}()
	fmt.Printf("tid=%d\n", <-tids)
	time.Sleep(100 * time.Millisecond)
}

func self() string {
	exe, err := os.Executable()
	if err != nil {
		fail("%v", err)
	}
	return exe
}

func runChild(args []string) {
	if len(args) == 0 {
		fail("usage: offender child MODE ARGS...")
	}
	cmd := exec.Command(self(), args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		fail("start child: %v", err)
	}
	fmt.Printf("child: pid=%d\n", cmd.Process.Pid)
	relay(cmd.Wait())
}

// cloneNewuser starts a child in a new user namespace. Go's fork is
// clone(2) unless it must put the child into a cgroup, then clone3(2):
// clone3 here puts it into this process's own cgroup.
func cloneNewuser(args []string) {
	if len(args) != 1 || (args[0] != "clone" && args[0] != "clone3") {
		fail("usage: offender clone-newuser clone|clone3")
	}
	own, err := os.Readlink("/proc/self/ns/user")
	if err != nil {
		fail("%v", err)
	}
	cmd := exec.Command(self(), "userns")
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWUSER}
	if args[0] == "clone3" {
		fd, err := unix.Open(ownCgroup(), unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			fail("open own cgroup: %v", err)
		}
		defer unix.Close(fd)
		cmd.SysProcAttr.UseCgroupFD, cmd.SysProcAttr.CgroupFD = true, fd
	}
	out, err := cmd.Output()
	if err != nil {
		fail("child in a new user namespace: %v", err)
	}
	child := strings.TrimPrefix(strings.TrimSpace(string(out)), "userns=")
	newuser := "no"
	if child != own {
		newuser = "yes"
	}
	fmt.Printf("newuser=%s by=%s\n", newuser, args[0])
}

// ownCgroup is the cgroup v2 directory this process is in.
func ownCgroup() string {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		fail("%v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rel, ok := strings.CutPrefix(line, "0::"); ok {
			mount, err := kernfs.Cgroup2Mount()
			if err != nil {
				fail("%v", err)
			}
			return filepath.Join(mount, rel)
		}
	}
	fail("no cgroup v2 line in /proc/self/cgroup")
	return ""
}

// pathBuf keeps uring-openat's path alive for the kernel to read.
var pathBuf []byte

func uringOpenat(args []string) {
	if len(args) != 1 {
		fail("usage: offender uring-openat PATH")
	}
	ring := newRing(0)
	defer ring.Close()
	pathBuf = append([]byte(args[0]), 0)
	sqe := uring.SQE{Opcode: uring.OpOpenat, FD: int32(unix.AT_FDCWD), Addr: uint64(uintptr(unsafe.Pointer(&pathBuf[0]))),
		OpFlags: unix.O_RDONLY}
	cqes, err := ring.Run(1, sqe)
	if err != nil || len(cqes) != 1 {
		fail("io_uring openat: %v (%d completions)", err, len(cqes))
	}
	fmt.Printf("res=%d\n", cqes[0].Res)
}

func threadsRepeat(args []string) {
	if len(args) < 3 {
		fail("usage: offender threads-repeat THREADS COUNT NR [ARG...]")
	}
	threads, err1 := strconv.Atoi(args[0])
	n, err2 := strconv.Atoi(args[1])
	if err1 != nil || err2 != nil || threads < 1 {
		fail("bad THREADS or COUNT in %q", args[:2])
	}
	nr, regs := parseCall(args[2:])
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	ready.Add(threads)
	done.Add(threads)
	for range threads {
		go func() {
			defer done.Done()
			runtime.LockOSThread()
			ready.Done()
			<-start
			for range n {
				call(nr, regs)
			}
		}()
	}
	ready.Wait()
	close(start)
	done.Wait()
	fmt.Printf("calls=%d\n", threads*n)
}

func execFromThread(args []string) {
	if len(args) == 0 {
		fail("usage: offender exec-thread MODE ARGS...")
	}
	exe := self()
	errc := make(chan error)
	go func() {
		runtime.LockOSThread() // never the main thread (init locks that)
		fmt.Printf("tid=%d pid=%d\n", unix.Gettid(), os.Getpid())
		errc <- unix.Exec(exe, append([]string{exe}, args...), os.Environ())
	}()
	fail("exec from a thread: %v", <-errc)
}

func pollDie(args []string) {
	if len(args) != 1 {
		fail("usage: offender poll-die MS")
	}
	ms, err := strconv.Atoi(args[0])
	if err != nil {
		fail("bad MS %q", args[0])
	}
	tids := make(chan int)
	go func() {
		runtime.LockOSThread()
		tids <- unix.Gettid()
		call(unix.SYS_POLL, [6]uintptr{0, 0, 60000})
	}()
	fmt.Printf("tid=%d\n", <-tids)
	time.Sleep(time.Duration(ms) * time.Millisecond)
	os.Exit(0)
}
