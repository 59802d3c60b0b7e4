package kernfs

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// fileidKernfs is the file handle type kernfs (cgroup v2's file system)
// encodes its nodes with: 8 bytes holding the node's 64-bit id, which is
// the cgroup id BPF programs read.
const fileidKernfs = 0xfe

// ErrCgroupGone means no cgroup has that id any more: it was removed.
// Cgroup ids are never reused, so the answer will not change.
var ErrCgroupGone = errors.New("no cgroup has that id (removed)")

// ErrCgroupOutside means the cgroup is out of sight: not below the root of
// the cgroup v2 mount (a cgroup namespace's mount shows only its subtree).
var ErrCgroupOutside = errors.New("the cgroup is outside the cgroup v2 mount")

// CgroupPaths finds cgroup v2 directories by id. Not safe for concurrent use.
type CgroupPaths struct {
	mount string
	// walk: file handles cannot be opened here (open_by_handle_at wants
	// CAP_DAC_READ_SEARCH), so the hierarchy is searched instead.
	walk  bool
	index walkIndex // walk: what the last search found
}

// NewCgroupPaths finds the cgroup v2 mount.
func NewCgroupPaths() (*CgroupPaths, error) {
	mount, err := Cgroup2Mount()
	if err != nil {
		return nil, err
	}
	return &CgroupPaths{mount: mount}, nil
}

// Path returns the cgroup with id as /proc/PID/cgroup prints it, relative
// to the hierarchy's root ("/system.slice/ssh.service", "/" for the root),
// or ErrCgroupGone.
//
// The kernel opens the directory from a kernfs file handle of the id
// (open_by_handle_at on the cgroup v2 mount; a removed cgroup gives
// ESTALE) and /proc/self/fd names it: a few syscalls, whatever the size of
// the hierarchy. Without the capability that takes, the hierarchy is
// walked, comparing inode numbers (a cgroup's inode number is its id).
func (c *CgroupPaths) Path(id uint64) (string, error) {
	if !c.walk {
		abs, err := c.byHandle(id)
		switch {
		case err == nil:
			return c.relative(abs)
		case errors.Is(err, unix.ESTALE), errors.Is(err, unix.ENOENT):
			return "", ErrCgroupGone
		case errors.Is(err, unix.EPERM), errors.Is(err, unix.EOPNOTSUPP), errors.Is(err, unix.ENOSYS):
			c.walk = true
		default:
			return "", err
		}
	}
	abs, err := c.index.find(c.mount, id, time.Now())
	if err != nil {
		return "", err
	}
	return c.relative(abs)
}

func (c *CgroupPaths) byHandle(id uint64) (string, error) {
	// Not O_PATH: open_by_handle_at takes the mount from a descriptor
	// that an O_PATH one is not (EBADF).
	mfd, err := unix.Open(c.mount, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", fmt.Errorf("open %s: %w", c.mount, err)
	}
	defer unix.Close(mfd)
	var raw [8]byte
	binary.NativeEndian.PutUint64(raw[:], id)
	fd, err := unix.OpenByHandleAt(mfd, unix.NewFileHandle(fileidKernfs, raw[:]), unix.O_PATH|unix.O_CLOEXEC)
	if err != nil {
		return "", fmt.Errorf("open cgroup %d by handle: %w", id, err)
	}
	defer unix.Close(fd)
	path, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd))
	if err != nil {
		return "", err
	}
	// The kernel marks the path of a directory removed since it was opened
	// with this suffix; but a live cgroup may be named so (anyone who may
	// make cgroups can): only a path that no longer leads to the id is one
	// that was removed.
	if strings.HasSuffix(path, " (deleted)") {
		var st unix.Stat_t
		if err := unix.Stat(path, &st); err != nil || st.Ino != id {
			return "", unix.ESTALE
		}
	}
	return path, nil
}

// relative turns a path under the mount into one from the hierarchy's
// root. The kernel names a directory that is not below the mount's root
// by a path that is not under the mount either.
func (c *CgroupPaths) relative(abs string) (string, error) {
	if abs == c.mount {
		return "/", nil
	}
	rel, ok := strings.CutPrefix(abs, c.mount+"/")
	if !ok {
		return "", ErrCgroupOutside
	}
	return "/" + rel, nil
}

// SearchOnly makes Path walk the hierarchy, as it does where file handles
// cannot be opened (for tests of that way).
func (c *CgroupPaths) SearchOnly() { c.walk = true }
