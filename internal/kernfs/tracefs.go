// Package kernfs finds and, where needed, mounts the kernel filesystems
// sigguard depends on: tracefs (tracepoint ids) and cgroup v2 (cgroup ids).
package kernfs

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// TracefsPath is where tracefs lives on current kernels. cilium/ebpf also
// accepts the older debugfs location, /sys/kernel/debug/tracing.
const TracefsPath = "/sys/kernel/tracing"

const legacyTracefsPath = "/sys/kernel/debug/tracing"

// EnsureTracefs makes tracefs reachable. Attaching a syscall tracepoint needs
// its id, which only tracefs publishes; on a fresh machine of ours
// /sys/kernel/tracing is an empty directory, so mount it there.
func EnsureTracefs() error {
	for _, dir := range []string{TracefsPath, legacyTracefsPath} {
		if isFilesystem(dir, unix.TRACEFS_MAGIC) {
			return nil
		}
	}
	if err := os.MkdirAll(TracefsPath, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("create %s: %w", TracefsPath, err)
	}
	if err := unix.Mount("nodev", TracefsPath, "tracefs", 0, ""); err != nil {
		return fmt.Errorf("mount tracefs at %s: %w (mount it by hand: mount -t tracefs nodev %s)",
			TracefsPath, err, TracefsPath)
	}
	return nil
}

func isFilesystem(dir string, magic int64) bool {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return false
	}
	return int64(st.Type) == magic
}
