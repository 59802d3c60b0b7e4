package kernfs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// BPFFSPath is where the BPF filesystem is mounted by convention. Objects
// pinned there outlive the process that created them.
const BPFFSPath = "/sys/fs/bpf"

// EnsureBPFFS mounts the BPF filesystem at /sys/fs/bpf if nothing is
// mounted there yet (systemd mounts it at boot; minimal systems do not).
// unmount undoes that mount, if it made one.
func EnsureBPFFS() (unmount func(), err error) {
	if IsBPFFS(BPFFSPath) {
		return func() {}, nil
	}
	if err := os.MkdirAll(BPFFSPath, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("create %s: %w", BPFFSPath, err)
	}
	if err := unix.Mount("bpf", BPFFSPath, "bpf", 0, "mode=0700"); err != nil {
		return nil, fmt.Errorf("mount the bpf filesystem at %s: %w (mount it by hand: mount -t bpf bpf %s)",
			BPFFSPath, err, BPFFSPath)
	}
	return func() { _ = unix.Unmount(BPFFSPath, 0) }, nil
}

// IsBPFFS says whether dir, or the nearest existing directory above it,
// is on a BPF filesystem: only there can kernel objects be pinned.
func IsBPFFS(dir string) bool {
	for {
		if _, err := os.Stat(dir); err == nil {
			return isFilesystem(dir, unix.BPF_FS_MAGIC)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return false
		}
		dir = parent
	}
}

// SecurityfsPath is where securityfs, which lists the active LSMs, lives.
const SecurityfsPath = "/sys/kernel/security"

// EnsureSecurityfs mounts securityfs when it is not mounted.
func EnsureSecurityfs() error {
	if isFilesystem(SecurityfsPath, unix.SECURITYFS_MAGIC) {
		return nil
	}
	if err := unix.Mount("securityfs", SecurityfsPath, "securityfs", 0, ""); err != nil {
		return fmt.Errorf("mount securityfs at %s: %w (mount it by hand: mount -t securityfs securityfs %s)",
			SecurityfsPath, err, SecurityfsPath)
	}
	return nil
}
