// Package watchdog keeps sigguard from being frozen by the very attack it
// answers. In the signal tier a PTRACE_ATTACH still takes effect before
// the SIGKILL of its caller lands, and the kernel stops the victim with
// SIGSTOP. When the victim is sigguard itself (gdb -p <sigguard>), the
// attacker dies, but sigguard is left stopped with no tracer: the kernel
// goes on enforcing, yet nothing is reported, confirmed or cleaned up, and
// a stopped process cannot resume itself. The watchdog is a second,
// small process that sends SIGCONT when that happens; sigguard in turn
// resumes the watchdog if an attach stops it, through its ordinary
// clean-up after a kill.
package watchdog

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Command is the hidden sub-command the sigguard binary runs the watchdog
// under (sigguard __watchdog PID).
const Command = "__watchdog"

// Interval is how often the watchdog looks at sigguard's state.
const Interval = 50 * time.Millisecond

// Start runs the watchdog for the calling process, from the executable
// that is running now; what it has to say goes to stderr, a line at a
// time. stop ends it.
func Start(stderr io.Writer) (stop func(), err error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("start watchdog: find own executable: %w", err)
	}
	// stderr only: the watchdog must not hold sigguard's output open.
	cmd := exec.Command(exe, Command, strconv.Itoa(os.Getpid()))
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start watchdog: %w", err)
	}
	return func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}, nil
}

// Main is the watchdog process: it resumes pid each time it finds it
// stopped with no tracer, and returns when pid exits. args is [PID].
func Main(args []string) int {
	if len(args) != 1 {
		fmt.Fprintf(os.Stderr, "sigguard %s: takes one pid\n", Command)
		return 2
	}
	pid, err := strconv.Atoi(args[0])
	if err != nil || pid <= 0 {
		fmt.Fprintf(os.Stderr, "sigguard %s: %q is not a pid\n", Command, args[0])
		return 2
	}
	slim()
	if err := watch(pid); err != nil {
		fmt.Fprintf(os.Stderr, "sigguard %s: %v\n", Command, err)
		return 1
	}
	return 0
}

// watch polls pid's pidfd, which becomes readable when pid exits, and
// between polls reads its state. Signals go through the pidfd, so a pid
// reused after sigguard's exit is never signalled.
func watch(pid int) error {
	pidfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return fmt.Errorf("open pidfd of %d: %w (needs Linux 5.3)", pid, err)
	}
	defer unix.Close(pidfd)
	for {
		fds := []unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, int(Interval/time.Millisecond))
		if err != nil && !errors.Is(err, unix.EINTR) {
			return fmt.Errorf("poll pidfd: %w", err)
		}
		if n > 0 {
			return nil // sigguard exited
		}
		if stoppedUntraced(pid) {
			if err := unix.PidfdSendSignal(pidfd, unix.SIGCONT, nil, 0); err != nil && !errors.Is(err, unix.ESRCH) {
				return fmt.Errorf("resume %d: %w", pid, err)
			}
			fmt.Fprintf(os.Stderr, "sigguard: warning: sigguard (pid %d) was stopped with no tracer "+
				"(an attach on it whose caller was killed, or a SIGSTOP); its watchdog resumed it\n", pid)
		}
	}
}

// atFDCWD is AT_FDCWD (-100) as the raw syscall takes it.
var atFDCWD = ^uintptr(99)

// stoppedUntraced says whether pid is in a group stop ("T") with no
// tracer. A stop under a live tracer ("t") is the tracer's to end; and
// once a killed attacher is gone, its victim is left in "T". It reads into
// a buffer on the stack and allocates nothing: it runs 20 times a second
// for as long as sigguard does, and garbage would grow the heap.
func stoppedUntraced(pid int) bool {
	var path [32]byte
	p := append(strconv.AppendInt(append(path[:0], "/proc/"...), int64(pid), 10), "/status\x00"...)
	r, _, errno := unix.Syscall6(unix.SYS_OPENAT, atFDCWD, uintptr(unsafe.Pointer(&p[0])),
		unix.O_RDONLY|unix.O_CLOEXEC, 0, 0, 0)
	if errno != 0 {
		return false
	}
	fd := int(r)
	defer unix.Close(fd)
	// State and TracerPid are among the first lines: what does not fit
	// is not needed.
	var buf [2048]byte
	n := 0
	for n < len(buf) {
		m, err := unix.Read(fd, buf[n:])
		if m <= 0 || err != nil {
			break
		}
		n += m
	}
	status := buf[:n]
	state, tracer := statusField(status, "State:"), statusField(status, "TracerPid:")
	return bytes.HasPrefix(state, []byte("T")) && string(tracer) == "0"
}

// statusField is the value of one "Name:\tvalue" line of /proc/PID/status.
func statusField(status []byte, name string) []byte {
	for len(status) > 0 {
		line, rest, _ := bytes.Cut(status, []byte("\n"))
		if v, ok := bytes.CutPrefix(line, []byte(name)); ok {
			return bytes.TrimSpace(v)
		}
		status = rest
	}
	return nil
}
