package guard

// What guard reads from /proc is read here.

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// tickNs is a clock tick of /proc/<pid>/stat (USER_HZ is 100).
const tickNs = uint64(10 * time.Millisecond)

// startTicks reads when a process started, in clock ticks since boot
// (CLOCK_BOOTTIME, the kernel's bpf_ktime_get_boot_ns clock). A process
// that started within the tick of the call passes: a pid is not recycled
// that fast in practice.
func startTicks(pid int) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseStartTicks(b)
}

// ownStartTicks reads this process's start time as /proc reports it, in
// clock ticks since boot: the kernel side compares it with the task's.
func ownStartTicks() (uint64, error) { return startTicks(os.Getpid()) }

// parseStartTicks reads field 22 (starttime) of a /proc/<pid>/stat.
func parseStartTicks(b []byte) (uint64, error) {
	// The comm in parentheses may hold spaces; fields count from after it.
	rest := b[bytes.LastIndexByte(b, ')')+1:]
	fields := strings.Fields(string(rest))
	const startTimeField = 22 - 3 // field 22, counted after pid and comm
	if len(fields) <= startTimeField {
		return 0, errors.New("short /proc/<pid>/stat")
	}
	return strconv.ParseUint(fields[startTimeField], 10, 64)
}

// readComm reads a process's command name from /proc/<pid>/comm.
func readComm(pid int) (Comm, error) {
	var c Comm
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	if err != nil {
		return c, err
	}
	n := copy(c[:15], b)
	if n > 0 && c[n-1] == '\n' {
		c[n-1] = 0
	}
	return c, nil
}

// ioUringEnabled reads kernel.io_uring_disabled (Linux 6.6+): 2 disables
// io_uring for everyone. Older kernels have no switch.
func ioUringEnabled() bool {
	b, err := os.ReadFile("/proc/sys/kernel/io_uring_disabled")
	return err != nil || strings.TrimSpace(string(b)) != "2"
}
