package kernfs

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// The kernel gives its initial namespaces fixed inode numbers
// (include/linux/proc_ns.h); every other namespace gets one allocated.
const (
	procCgroupInitIno = 0xEFFFFFFB
	procPidInitIno    = 0xEFFFFFFC
)

// rootCgroupID is the id, and so the inode number, of the cgroup v2
// hierarchy's root directory: its kernfs node is the first one allocated.
const rootCgroupID = 1

// PartialCgroup2Error means cgroup v2 is mounted, but no mount shows the
// whole hierarchy.
type PartialCgroup2Error struct {
	MountPoints []string
	// PrivateNamespace says this process is in a cgroup namespace of its
	// own, which is why its mounts show only part of the hierarchy.
	PrivateNamespace bool
}

func (e *PartialCgroup2Error) Error() string {
	at := strings.Join(e.MountPoints, ", ")
	if e.PrivateNamespace {
		return fmt.Sprintf("sigguard runs in a cgroup namespace of its own (a container's): the cgroup v2 file system at %s shows only "+
			"that namespace's part of the hierarchy, and the kernel matches cgroups by their place in the whole of it; %s", at, cgroupFix)
	}
	return fmt.Sprintf("cgroup v2 is mounted at %s, but only a part of the hierarchy (mount the whole of it: mount -t cgroup2 none /sys/fs/cgroup)", at)
}

// cgroupFix is how to give a container the whole cgroup v2 hierarchy.
const cgroupFix = "run in the host's cgroup namespace with the host's cgroup file system " +
	"(docker run --cgroupns=host -v /sys/fs/cgroup:/sys/fs/cgroup:ro), or mount the host's /sys/fs/cgroup anywhere in the " +
	"container and name cgroups under it; on Kubernetes, whose pods get a cgroup namespace of their own on cgroup v2 nodes, " +
	"that is a read-only hostPath volume of /sys/fs/cgroup"

// isHierarchyRoot says whether dir is the root of the cgroup v2 hierarchy
// itself, whatever the cgroup namespace and whatever mountinfo calls it.
func isHierarchyRoot(dir string) bool {
	var st unix.Stat_t
	return unix.Stat(dir, &st) == nil && st.Ino == rootCgroupID && isFilesystem(dir, unix.CGROUP2_SUPER_MAGIC)
}

// InInitialNamespace says whether this process is in the host's (initial)
// namespace of kind "pid" or "cgroup", by the inode the kernel gives it.
func InInitialNamespace(kind string) (bool, error) {
	want := map[string]uint64{"pid": procPidInitIno, "cgroup": procCgroupInitIno}[kind]
	var st unix.Stat_t
	if err := unix.Stat("/proc/self/ns/"+kind, &st); err != nil {
		return false, fmt.Errorf("read this process's %s namespace: %w", kind, err)
	}
	return st.Ino == want, nil
}

// explainCgroupNamespace adds, to a cgroup v2 hierarchy not found, that
// this process is in a cgroup namespace of its own, with the fix.
func explainCgroupNamespace(err error) error {
	if err == nil {
		return nil
	}
	initial, nsErr := InInitialNamespace("cgroup")
	if nsErr != nil || initial {
		return err
	}
	var pe *PartialCgroup2Error
	if errors.As(err, &pe) {
		pe.PrivateNamespace = true
		return pe
	}
	if errors.Is(err, ErrNoCgroup2) {
		return fmt.Errorf("%w in this container: %s", err, cgroupFix)
	}
	return err
}
