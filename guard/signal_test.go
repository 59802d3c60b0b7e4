package guard

import (
	"strings"
	"syscall"
	"testing"
)

func TestParseSignal(t *testing.T) {
	for in, want := range map[string]syscall.Signal{
		"KILL": 9, "SIGKILL": 9, "kill": 9, "9": 9, " 9 ": 9, "usr1": 10, "SIGUSR1": 10, "STOP": 19,
		"1": 1, "64": 64, "32": 32, "RTMIN": 34, "SIGRTMIN+2": 36, "rtmax": 64, "RTMAX-1": 63, "RTMIN+30": 64,
	} {
		got, err := ParseSignal(in)
		if err != nil || got != want {
			t.Errorf("ParseSignal(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
}

func TestParseSignalRejects(t *testing.T) {
	for in, wantMsg := range map[string]string{
		"0":          "signal 0 is not a signal",
		"65":         "out of range",
		"-1":         "out of range",
		"FOO":        `unknown signal "FOO"`,
		"":           "empty signal",
		"RTMIN+31":   "unknown signal",
		"RTMAX+1":    "unknown signal",
		"SIGRTMIN-1": "unknown signal",
	} {
		_, err := ParseSignal(in)
		if err == nil || !strings.Contains(err.Error(), wantMsg) {
			t.Errorf("ParseSignal(%q) error = %v, want it to say %q", in, err, wantMsg)
		}
	}
}

func TestSignalNamesRoundTrip(t *testing.T) {
	for n := 1; n <= 64; n++ {
		name := SignalName(syscall.Signal(n))
		got, err := ParseSignal(name)
		if n == 32 || n == 33 {
			// glibc's internal signals have no name; they go by number.
			if name != "SIG32" && name != "SIG33" {
				t.Errorf("SignalName(%d) = %q", n, name)
			}
			continue
		}
		if err != nil || int(got) != n {
			t.Errorf("SignalName(%d) = %q, which parses as %d, %v", n, name, got, err)
		}
	}
	for n, want := range map[int]string{9: "SIGKILL", 10: "SIGUSR1", 34: "SIGRTMIN", 49: "SIGRTMIN+15", 50: "SIGRTMAX-14", 64: "SIGRTMAX"} {
		if got := SignalName(syscall.Signal(n)); got != want {
			t.Errorf("SignalName(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestPtraceRequestName(t *testing.T) {
	for req, want := range map[int64]string{
		0: "PTRACE_TRACEME", 2: "PTRACE_PEEKDATA", 16: "PTRACE_ATTACH", 0x4206: "PTRACE_SEIZE", 0x7777: "0x7777",
	} {
		if got := PtraceRequestName(req); got != want {
			t.Errorf("PtraceRequestName(%#x) = %q, want %q", req, got, want)
		}
	}
}
