package guard

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// ErrPrivileges means the process may not load and attach the programs.
var ErrPrivileges = errors.New("not privileged enough to load BPF programs")

const privilegeHint = "run as root, or grant CAP_BPF and CAP_PERFMON (Linux 5.8+) plus CAP_DAC_OVERRIDE to read tracefs"

// capName names the capabilities the messages mention.
var capName = map[int]string{
	unix.CAP_SYS_ADMIN: "CAP_SYS_ADMIN",
	unix.CAP_BPF:       "CAP_BPF",
	unix.CAP_PERFMON:   "CAP_PERFMON",
}

// privilegeProblem says which capabilities are missing to load and attach
// the programs, and how to grant them. Loading tracing programs takes
// CAP_BPF and CAP_PERFMON (Linux 5.8+), or CAP_SYS_ADMIN, which covers
// both and is the only way on kernels, and container engines, that
// predate the two (Docker 20.10 knows neither). The effective set is what
// counts: uid 0 in a container has only what the engine grants it.
func privilegeProblem() error {
	caps, err := effectiveCaps()
	if err != nil {
		return fmt.Errorf("cannot read this process's capabilities: %w", err)
	}
	has := func(c int) bool { return caps&(1<<uint(c)) != 0 }
	if has(unix.CAP_SYS_ADMIN) || (has(unix.CAP_BPF) && has(unix.CAP_PERFMON)) {
		return nil
	}
	if !kernelKnowsCap(unix.CAP_PERFMON) {
		return fmt.Errorf("%w: it lacks CAP_SYS_ADMIN (uid %d), and this kernel has no CAP_BPF or CAP_PERFMON (Linux 5.8+) to grant instead: "+
			"run as root, or grant CAP_SYS_ADMIN (docker run --cap-add SYS_ADMIN; Kubernetes: securityContext.capabilities.add: [SYS_ADMIN])",
			ErrPrivileges, os.Geteuid())
	}
	var missing, add []string
	for _, c := range []int{unix.CAP_BPF, unix.CAP_PERFMON} {
		if !has(c) {
			missing = append(missing, capName[c])
			add = append(add, strings.TrimPrefix(capName[c], "CAP_"))
		}
	}
	root := ""
	if os.Geteuid() != 0 {
		root = "run as root, or "
	}
	return fmt.Errorf("%w: it lacks %s (uid %d; loading takes CAP_BPF and CAP_PERFMON, or CAP_SYS_ADMIN): %sgrant %s "+
		"(docker run --cap-add %s, or --cap-add SYS_ADMIN on Docker 20.10 and older, which know neither; "+
		"Kubernetes: securityContext.capabilities.add: [%s]; systemd: AmbientCapabilities=%s)",
		ErrPrivileges, strings.Join(missing, " and "), os.Geteuid(), root, strings.Join(missing, " and "),
		strings.Join(add, " --cap-add "), strings.Join(add, ", "), strings.Join(missing, " "))
}

// kernelKnowsCap says whether the running kernel has capability c: it
// numbers its capabilities up to /proc/sys/kernel/cap_last_cap.
func kernelKnowsCap(c int) bool {
	b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err != nil {
		return true // cannot tell: name the newer capabilities
	}
	last, err := strconv.Atoi(strings.TrimSpace(string(b)))
	return err != nil || c <= last
}

func effectiveCaps() (uint64, error) {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return 0, err
	}
	return uint64(data[0].Effective) | uint64(data[1].Effective)<<32, nil
}

// hintFor adds what to do about the errors a start-up commonly meets.
func hintFor(err error) string {
	switch {
	case errors.Is(err, unix.EPERM), errors.Is(err, unix.EACCES):
		return " (" + privilegeHint + ")"
	case errors.Is(err, unix.ENOMEM):
		return " (the memlock limit may be too low: raise it with ulimit -l, or run on Linux 5.11+)"
	}
	return ""
}
