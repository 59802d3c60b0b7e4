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
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

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

// stoppedUntraced says whether pid is in a group stop ("T") with no
// tracer. A stop under a live tracer ("t") is the tracer's to end; and
// once a killed attacher is gone, its victim is left in "T".
func stoppedUntraced(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return false
	}
	state, tracer := statusField(string(b), "State:"), statusField(string(b), "TracerPid:")
	return strings.HasPrefix(state, "T") && tracer == "0"
}

// statusField is the value of one "Name:\tvalue" line of /proc/PID/status.
func statusField(status, name string) string {
	for _, line := range strings.Split(status, "\n") {
		if v, ok := strings.CutPrefix(line, name); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
