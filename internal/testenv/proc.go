package testenv

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
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

// ReturnModifiable says whether the running kernel lets an fmod_ret
// program change function's return value, by loading the least such
// program: Linux lets it for functions on the error-injection list
// (CONFIG_FUNCTION_ERROR_INJECTION, which Debian's kernels lack), for
// security hooks, and on newer kernels for syscalls.
func ReturnModifiable(t testing.TB, function string) bool {
	t.Helper()
	p, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Type: ebpf.Tracing, AttachType: ebpf.AttachModifyReturn, AttachTo: function, License: "GPL",
		Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, 0), asm.Return()},
	})
	if err != nil {
		t.Logf("an fmod_ret program on %s does not load: %v", function, err)
		return false
	}
	p.Close()
	return true
}
