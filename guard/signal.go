package guard

import (
	"fmt"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Linux numbers signals 1 to 64. glibc keeps 32 and 33 for its threads, so
// SIGRTMIN is 34 in kill(1), bash and every C program; names follow that.
const (
	maxSignal = 64
	rtMin     = 34
	rtMax     = 64
)

// ParseSignal reads a signal the way kill(1) does: a number (9), a name with
// or without its SIG prefix in any case (KILL, SIGKILL, usr1) or a real-time
// signal relative to its range (RTMIN, RTMIN+3, SIGRTMAX-1).
func ParseSignal(s string) (syscall.Signal, error) {
	text := strings.TrimSpace(s)
	if text == "" {
		return 0, fmt.Errorf("empty signal (use a name such as KILL or a number from 1 to %d)", maxSignal)
	}
	if n, err := strconv.Atoi(text); err == nil {
		return signalInRange(n)
	}
	name := strings.ToUpper(text)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if sig := unix.SignalNum(name); sig != 0 {
		return sig, nil
	}
	if sig, ok := parseRealtime(name); ok {
		return signalInRange(sig)
	}
	return 0, fmt.Errorf("unknown signal %q (use a name such as KILL, USR1 or RTMIN+2, or a number from 1 to %d; kill -l lists them)",
		s, maxSignal)
}

func signalInRange(n int) (syscall.Signal, error) {
	switch {
	case n == 0:
		return 0, fmt.Errorf("signal 0 is not a signal, it only tests that a process exists (use 1 to %d, e.g. KILL)", maxSignal)
	case n < 0 || n > maxSignal:
		return 0, fmt.Errorf("signal %d is out of range (Linux signals are 1 to %d)", n, maxSignal)
	}
	return syscall.Signal(n), nil
}

// parseRealtime reads SIGRTMIN, SIGRTMIN+N, SIGRTMAX and SIGRTMAX-N.
func parseRealtime(name string) (int, bool) {
	for _, base := range []struct {
		prefix string
		value  int
		sign   byte
	}{{"SIGRTMIN", rtMin, '+'}, {"SIGRTMAX", rtMax, '-'}} {
		rest, ok := strings.CutPrefix(name, base.prefix)
		if !ok {
			continue
		}
		if rest == "" {
			return base.value, true
		}
		if rest[0] != base.sign {
			return 0, false
		}
		n, err := strconv.Atoi(rest[1:])
		if err != nil || n < 0 || n > rtMax-rtMin {
			return 0, false
		}
		if base.sign == '+' {
			return base.value + n, true
		}
		return base.value - n, true
	}
	return 0, false
}

// SignalName names a signal as kill -l does: SIGKILL, SIGRTMIN+3, SIGRTMAX-1.
func SignalName(sig syscall.Signal) string {
	n := int(sig)
	switch {
	case n >= rtMin && n <= rtMax:
		return realtimeName(n)
	case n >= 1 && n < rtMin:
		if name := unix.SignalName(sig); name != "" {
			return name
		}
	}
	return "SIG" + strconv.Itoa(n)
}

func realtimeName(n int) string {
	const middle = (rtMin + rtMax) / 2 // 49: SIGRTMIN+15, then SIGRTMAX-14
	switch {
	case n == rtMin:
		return "SIGRTMIN"
	case n == rtMax:
		return "SIGRTMAX"
	case n <= middle:
		return "SIGRTMIN+" + strconv.Itoa(n-rtMin)
	default:
		return "SIGRTMAX-" + strconv.Itoa(rtMax-n)
	}
}
