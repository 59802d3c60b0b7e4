package testenv

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// ProcStatus reads a process's State ("S (sleeping)", "T (stopped)",
// "t (tracing stop)", "Z (zombie)"...) and TracerPid (0: traced by no
// one) from /proc/PID/status. Its lines are split at the first colon, so
// a comm holding ") " or anything else cannot shift the fields, as it can
// in /proc/PID/stat. A process that is gone is an error (fs.ErrNotExist).
func ProcStatus(pid int) (state string, tracerPid int, err error) {
	path := "/proc/" + strconv.Itoa(pid) + "/status"
	b, err := os.ReadFile(path)
	if err != nil {
		return "", 0, err
	}
	haveState, haveTracer := false, false
	for _, line := range strings.Split(string(b), "\n") {
		key, value, _ := strings.Cut(line, ":")
		value = strings.TrimSpace(value)
		switch key {
		case "State":
			state, haveState = value, true
		case "TracerPid":
			if tracerPid, err = strconv.Atoi(value); err != nil {
				return "", 0, fmt.Errorf("%s: TracerPid %q", path, value)
			}
			haveTracer = true
		}
	}
	if !haveState || !haveTracer {
		return "", 0, fmt.Errorf("%s has no State or no TracerPid line", path)
	}
	return state, tracerPid, nil
}

// ErrorInjectable says whether the running kernel lets BPF programs
// change function's return value: a kernel built with
// CONFIG_FUNCTION_ERROR_INJECTION lists such functions in debugfs
// (error_injection/list), which is mounted for the look if it is not.
// Debian's kernels are built without it.
func ErrorInjectable(t testing.TB, function string) bool {
	t.Helper()
	dir := "/sys/kernel/debug"
	if _, err := os.Stat(dir + "/error_injection"); err != nil {
		dir = t.TempDir()
		if err := unix.Mount("debugfs", dir, "debugfs", 0, ""); err != nil {
			t.Fatalf("mount debugfs: %v", err)
		}
		defer unix.Unmount(dir, 0)
	}
	data, err := os.ReadFile(dir + "/error_injection/list")
	if errors.Is(err, os.ErrNotExist) {
		return false
	}
	if err != nil {
		t.Fatalf("read the error-injection list: %v", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if fields := strings.Fields(line); len(fields) > 0 && fields[0] == function {
			return true
		}
	}
	return false
}
