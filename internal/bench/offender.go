package bench

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// OffenderCommand is the hidden subcommand under which the sigguard binary
// plays the bench's offenders: `sigguard __bench-offender MODE ARGS...`.
const OffenderCommand = "__bench-offender"

// A pid no process has: the kernel's pid_max is at most 2^22.
const noSuchPid = 1 << 30

// failingPtrace is the offender's cheap offending call: it fails with
// ESRCH, so nothing happens but the syscall itself.
func failingPtrace() {
	unix.RawSyscall6(unix.SYS_PTRACE, unix.PTRACE_PEEKDATA, noSuchPid, 0, 0, 0, 0)
}

// RunOffender plays one offender and returns its exit status:
//
//	loop CALLS COUNTFILE   failing ptrace CALLS times, counting returns in COUNTFILE
//	paced RATE CALLS       failing ptrace CALLS times at RATE calls/s (0: flat out)
//	time SYSCALL ROUNDS N  print ns per call of getpid or ptrace, or per open+close
//	                       pair of /dev/null ("open"), per round, as JSON
//	hog                    spin forever (CPU load)
func RunOffender(args []string) int {
	if len(args) == 0 {
		return fail("no mode")
	}
	runtime.LockOSThread()
	switch args[0] {
	case "loop":
		if len(args) != 3 {
			return fail("loop CALLS COUNTFILE")
		}
		counter, err := OpenCounter(args[2])
		if err != nil {
			return fail("%v", err)
		}
		for i := atoi(args[1]); i > 0; i-- {
			failingPtrace()
			atomic.AddUint64(counter, 1)
		}
	case "paced":
		if len(args) != 3 {
			return fail("paced RATE CALLS")
		}
		paced(atoi(args[1]), atoi(args[2]))
	case "time":
		if len(args) != 4 {
			return fail("time getpid|ptrace|open ROUNDS N")
		}
		return timeCalls(args[1], atoi(args[2]), atoi(args[3]))
	case "hog":
		//lint:ignore SA5002 spinning is the point: CPU load
		for {
		}
	default:
		return fail("unknown mode %q", args[0])
	}
	return 0
}

func paced(rate, calls int) {
	start := time.Now()
	for i := 1; i <= calls; i++ {
		failingPtrace()
		if rate > 0 && i%64 == 0 {
			due := start.Add(time.Duration(float64(i) / float64(rate) * float64(time.Second)))
			for time.Now().Before(due) {
			}
		}
	}
}

func timeCalls(which string, rounds, n int) int {
	call := func() { unix.RawSyscall(unix.SYS_GETPID, 0, 0, 0) }
	switch which {
	case "ptrace":
		call = failingPtrace
	case "open":
		devNull, _ := unix.BytePtrFromString("/dev/null")
		cwd := unix.AT_FDCWD
		call = func() {
			fd, _, errno := unix.RawSyscall6(unix.SYS_OPENAT, uintptr(cwd),
				uintptr(unsafe.Pointer(devNull)), unix.O_RDONLY|unix.O_CLOEXEC, 0, 0, 0)
			if errno == 0 {
				unix.RawSyscall(unix.SYS_CLOSE, fd, 0, 0)
			}
		}
	}
	perRound := make([]float64, rounds)
	for r := range perRound {
		start := time.Now()
		for i := 0; i < n; i++ {
			call()
		}
		perRound[r] = float64(time.Since(start).Nanoseconds()) / float64(n)
	}
	out, _ := json.Marshal(perRound)
	fmt.Println(string(out))
	return 0
}

// OpenCounter maps an 8-byte file shared with the process that reads it.
func OpenCounter(path string) (*uint64, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	mem, err := unix.Mmap(int(f.Fd()), 0, 8, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("map count file: %w", err)
	}
	return (*uint64)(unsafe.Pointer(&mem[0])), nil
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

func fail(format string, args ...any) int {
	fmt.Fprintf(os.Stderr, "bench offender: "+format+"\n", args...)
	return 2
}
