package kernfs

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

// Cgroup identifies a cgroup v2 directory the way BPF helpers see it.
type Cgroup struct {
	Path string
	// ID is the kernfs node id, which is also the directory's inode number;
	// bpf_get_current_cgroup_id and friends return it.
	ID uint64
	// Level is the depth below the hierarchy's root (the root is level 0),
	// the argument bpf_get_current_ancestor_cgroup_id takes.
	Level int
}

// ErrNoCgroup2 means no cgroup v2 hierarchy is mounted.
var ErrNoCgroup2 = errors.New("no cgroup v2 hierarchy is mounted")

// Cgroup2Mount returns where the whole cgroup v2 hierarchy is mounted,
// read from /proc/self/mountinfo: hybrid layouts put it at
// /sys/fs/cgroup/unified, unified ones at /sys/fs/cgroup. A mount that
// shows only part of it (a subtree, or a cgroup namespace's root, which is
// what a container's own cgroup2 mount shows) is no use: the kernel
// matches cgroups by their depth in the whole hierarchy.
func Cgroup2Mount() (string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return "", fmt.Errorf("read mount table: %w", err)
	}
	defer f.Close()
	mount, err := cgroup2MountFrom(f, isHierarchyRoot)
	return mount, explainCgroupNamespace(err)
}

// cgroup2MountFrom picks the first cgroup2 mount point at which isRoot
// finds the hierarchy's root.
func cgroup2MountFrom(r io.Reader, isRoot func(mountPoint string) bool) (string, error) {
	var partial []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		// "36 25 0:31 / /sys/fs/cgroup rw,... shared:9 - cgroup2 cgroup2 rw"
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		fields, fsFields := strings.Fields(pre), strings.Fields(post)
		if len(fields) < 5 || len(fsFields) < 1 || fsFields[0] != "cgroup2" {
			continue
		}
		// The root field says nothing certain here: in a cgroup
		// namespace it is relative to the namespace's root ("/.." for
		// the whole hierarchy, "/" for the namespace's own part), and a
		// mount may be covered by a later one.
		mountPoint := unescapeMountPath(fields[4])
		if isRoot(mountPoint) {
			return mountPoint, nil
		}
		if !slices.Contains(partial, mountPoint) {
			partial = append(partial, mountPoint)
		}
	}
	if err := sc.Err(); err != nil {
		return "", fmt.Errorf("read mount table: %w", err)
	}
	if len(partial) > 0 {
		return "", &PartialCgroup2Error{MountPoints: partial}
	}
	return "", ErrNoCgroup2
}

// unescapeMountPath undoes mountinfo's octal escapes (\040 for a space...).
func unescapeMountPath(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			var v byte
			valid := true
			for _, c := range []byte(s[i+1 : i+4]) {
				if c < '0' || c > '7' {
					valid = false
					break
				}
				v = v*8 + (c - '0')
			}
			if valid {
				b.WriteByte(v)
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// ErrCgroupMissing means a path that could be a cgroup v2 directory does
// not exist (yet, or any more): its parent is a cgroup, or missing too.
var ErrCgroupMissing = errors.New("no such cgroup")

// ResolveCgroup turns a cgroup v2 directory into the id and level the kernel
// matches on. The path is either under the cgroup v2 mount
// (/sys/fs/cgroup/system.slice) or a path in the hierarchy as
// /proc/PID/cgroup prints it (/system.slice, or system.slice).
//
// A path that may become a cgroup but is not one now returns the Cgroup
// with its Path and Level and ID 0, and an error that is ErrCgroupMissing;
// any other error means the path can never name a cgroup.
func ResolveCgroup(path string) (Cgroup, error) {
	mount, err := Cgroup2Mount()
	if err != nil {
		return Cgroup{}, err
	}
	return ResolveCgroupIn(mount, path)
}

// ResolveCgroupIn is ResolveCgroup with the cgroup v2 mount already known.
func ResolveCgroupIn(mount, path string) (Cgroup, error) {
	abs := filepath.Clean(path)
	if abs != mount && !strings.HasPrefix(abs, mount+"/") {
		abs = filepath.Join(mount, abs)
	}
	rel, err := filepath.Rel(mount, abs)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return Cgroup{}, fmt.Errorf("%s is outside the cgroup v2 hierarchy at %s", path, mount)
	}
	cg := Cgroup{Path: abs}
	if rel != "." {
		cg.Level = len(strings.Split(rel, string(filepath.Separator)))
	}
	var st unix.Stat_t
	if err := unix.Stat(abs, &st); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return cg, missingCgroup(mount, abs, path)
		}
		return Cgroup{}, fmt.Errorf("cgroup %s: %w", abs, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR || !isFilesystem(abs, unix.CGROUP2_SUPER_MAGIC) {
		return Cgroup{}, fmt.Errorf("%s is not a cgroup v2 directory (cgroup v2 is mounted at %s)", path, mount)
	}
	cg.ID = st.Ino
	return cg, nil
}

// missingCgroup explains why abs does not exist: it may be created later
// if the nearest ancestor that exists is a cgroup directory (a file such
// as cgroup.procs has no children).
func missingCgroup(mount, abs, path string) error {
	for dir := filepath.Dir(abs); ; dir = filepath.Dir(dir) {
		var st unix.Stat_t
		err := unix.Stat(dir, &st)
		if errors.Is(err, unix.ENOENT) && dir != mount {
			continue
		}
		if err != nil {
			return fmt.Errorf("cgroup %s: %s: %w", abs, dir, err)
		}
		if st.Mode&unix.S_IFMT != unix.S_IFDIR || !isFilesystem(dir, unix.CGROUP2_SUPER_MAGIC) {
			return fmt.Errorf("%s can never be a cgroup: %s is not a cgroup v2 directory (cgroup v2 is mounted at %s)", path, dir, mount)
		}
		return fmt.Errorf("%w %s (cgroup v2 directories are under %s)", ErrCgroupMissing, abs, mount)
	}
}

// ExistingAncestor is the nearest directory at or above path, within the
// cgroup v2 mount, that exists: where a watch learns of path's creation.
func ExistingAncestor(mount, path string) string {
	for dir := path; ; dir = filepath.Dir(dir) {
		if dir == mount || !strings.HasPrefix(dir, mount+"/") {
			return mount
		}
		if _, err := os.Stat(dir); err == nil {
			return dir
		}
	}
}
