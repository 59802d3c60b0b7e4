package kernfs

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// walkEvery is how often the hierarchy may be searched: a search visits
// every cgroup, and the reader that asks must not spend its time on them
// under a burst of new ids.
const walkEvery = time.Second

// ErrCgroupNotYet means a cgroup id newer than the last search of the
// hierarchy, which may not be searched again yet: ask later.
var ErrCgroupNotYet = errors.New("cgroup made since the hierarchy was last searched")

// walkIndex names cgroups by id from a search of the whole hierarchy
// (where file handles cannot be opened), searched again at most every
// walkEvery. A cgroup's id is its kernfs node id, which the kernel hands
// out in increasing order (the low 32 bits cyclically, the high 32 bits
// counting the wraps) and never reuses: an id at most the newest one a
// search found, and not found by it, was gone before it.
type walkIndex struct {
	paths  map[uint64]string
	newest uint64
	at     time.Time
}

func (x *walkIndex) find(mount string, id uint64, now time.Time) (string, error) {
	if path, ok := x.paths[id]; ok && stillNamed(path, id) {
		return path, nil
	}
	if x.paths != nil && id <= x.newest {
		return "", ErrCgroupGone
	}
	if !x.at.IsZero() && now.Sub(x.at) < walkEvery {
		return "", ErrCgroupNotYet
	}
	if err := x.search(mount, now); err != nil {
		return "", err
	}
	if path, ok := x.paths[id]; ok {
		return path, nil
	}
	return "", ErrCgroupGone
}

// stillNamed says whether path is still the directory of cgroup id: it
// may have been removed since the search.
func stillNamed(path string, id uint64) bool {
	var st unix.Stat_t
	return unix.Stat(path, &st) == nil && st.Ino == id
}

// search records every cgroup below mount.
func (x *walkIndex) search(mount string, now time.Time) error {
	paths := map[uint64]string{}
	var newest uint64
	err := filepath.WalkDir(mount, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			// A cgroup removed under the walk, or one this process may
			// not read: skip it, so that the rest is still searched.
			if path != mount {
				return nil
			}
			return err
		}
		if !d.IsDir() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		if st, ok := info.Sys().(*syscall.Stat_t); ok {
			paths[st.Ino] = path
			newest = max(newest, st.Ino)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("search %s for cgroups: %w", mount, err)
	}
	x.paths, x.newest, x.at = paths, newest, now
	return nil
}
