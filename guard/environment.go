package guard

import (
	"bufio"
	"errors"
	"os"
	"strings"

	"github.com/sigguard/sigguard/internal/kernfs"
)

// EnvironmentError means the guard refuses to start where it would
// enforce wrongly or not at all: in a container that does not share what
// it must with the host, or without the capabilities it needs. Nothing was
// loaded. Each problem says what is wrong and how to fix it.
type EnvironmentError struct {
	Problems []error
}

func (e *EnvironmentError) Error() string {
	if len(e.Problems) == 1 {
		return "cannot enforce here: " + e.Problems[0].Error()
	}
	var b strings.Builder
	b.WriteString("cannot enforce here:")
	for _, p := range e.Problems {
		b.WriteString("\n  - " + p.Error())
	}
	return b.String()
}

// Unwrap gives errors.Is and errors.As each problem (ErrPrivileges...).
func (e *EnvironmentError) Unwrap() []error { return e.Problems }

// checkEnvironment finds, before any bpf(2) call, every reason this
// process cannot enforce correctly, and returns them together.
func checkEnvironment() error {
	var problems []error
	for _, check := range []func() error{pidNamespaceProblem, privilegeProblem} {
		if p := check(); p != nil {
			problems = append(problems, p)
		}
	}
	if len(problems) == 0 {
		return nil
	}
	return &EnvironmentError{Problems: problems}
}

// pidNamespaceProblem refuses a pid namespace other than the host's. The
// kernel side names every process by its host pid: in a container's pid
// namespace sigguard would exempt the wrong process instead of itself
// (and be killed by its own rules), and clean up after kills by signalling
// whatever process has the event's number here.
func pidNamespaceProblem() error {
	initial, err := kernfs.InInitialNamespace("pid")
	if err == nil && initial && nsPidDepth() <= 1 {
		return nil
	}
	what := "sigguard runs in a pid namespace of its own (a container's), where process ids are not the host's ids its kernel programs see"
	if err != nil {
		what = "cannot tell whether sigguard runs in the host's pid namespace (" + err.Error() + ")"
	}
	return errors.New(what + ": run it in the host's pid namespace (docker run --pid=host; Kubernetes: hostPID: true)")
}

// nsPidDepth is how many pid namespaces this process has a pid in: the
// NSpid line of /proc/self/status has one field per level (Linux 4.1+),
// 0 when it cannot be read.
func nsPidDepth() int {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "NSpid:"); ok {
			return len(strings.Fields(rest))
		}
	}
	return 0
}
