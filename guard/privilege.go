package guard

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// ErrPrivileges means the process may not load and attach the programs.
var ErrPrivileges = errors.New("not privileged enough to load BPF programs")

const privilegeHint = "run as root, or grant CAP_BPF and CAP_PERFMON (Linux 5.8+) plus CAP_DAC_OVERRIDE to read tracefs"

// checkPrivileges fails early, with the capabilities to grant, instead of
// letting a raw EPERM surface from the first bpf(2) call.
func checkPrivileges() error {
	caps, err := effectiveCaps()
	if err != nil {
		return fmt.Errorf("read capabilities: %w", err)
	}
	has := func(c int) bool { return caps&(1<<uint(c)) != 0 }
	if has(unix.CAP_SYS_ADMIN) || (has(unix.CAP_BPF) && has(unix.CAP_PERFMON)) {
		return nil
	}
	return fmt.Errorf("%w (uid %d; %s)", ErrPrivileges, os.Geteuid(), privilegeHint)
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
