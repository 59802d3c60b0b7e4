package guard

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/cilium/ebpf"

	"github.com/sigguard/sigguard/internal/bpf"
	"github.com/sigguard/sigguard/internal/kernfs"
)

// startTracking attaches the hooks that keep the kernel's table of task
// identities current, then fills in the tasks that existed before. In that
// order, no task falls between the two; and the kernel's own records, being
// newer, are never overwritten by the fill.
func (g *Guard) startTracking() error {
	if g.onceLinks[bpf.GuardProgSgTrackFork] != nil {
		return nil
	}
	for _, name := range []string{bpf.GuardProgSgTrackExec, bpf.GuardProgSgTrackExit, bpf.GuardProgSgTrackCgroup, bpf.GuardProgSgTrackFork} {
		if err := g.attachOnce(name); err != nil {
			return err
		}
	}
	return g.fillIdentities()
}

// fillIdentities records every task in /proc the kernel has not recorded.
func (g *Guard) fillIdentities() error {
	mount, err := kernfs.Cgroup2Mount()
	if err != nil {
		return err
	}
	tasks, err := filepath.Glob("/proc/[0-9]*/task/[0-9]*")
	if err != nil {
		return err
	}
	ancestry := map[string][]uint64{}
	for _, task := range tasks {
		tid, err := strconv.ParseUint(filepath.Base(task), 10, 32)
		if err != nil {
			continue
		}
		id, ok := identityOf(task, mount, ancestry)
		if !ok {
			continue // gone meanwhile, or a kernel thread (no executable)
		}
		err = g.maps.Identities.Update(uint32(tid), &id, ebpf.UpdateNoExist)
		if err != nil && !errors.Is(err, ebpf.ErrKeyExist) {
			return fmt.Errorf("record task %d: %w", tid, err)
		}
	}
	return nil
}

func identityOf(task, mount string, ancestry map[string][]uint64) (bpf.GuardIdentity, bool) {
	var id bpf.GuardIdentity
	dev, ino, err := executableID(task + "/exe")
	if err != nil {
		return id, false
	}
	id.ExeDev, id.ExeIno = dev, ino
	path, err := cgroupPath(task + "/cgroup")
	if err != nil {
		return id, false
	}
	ids, ok := ancestry[path]
	if !ok {
		ids = cgroupAncestry(mount, path)
		ancestry[path] = ids
	}
	copy(id.Cgroups[:], ids)
	return id, true
}

// cgroupPath reads a task's cgroup v2 path ("0::/system.slice/x.service").
func cgroupPath(file string) (string, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if path, ok := strings.CutPrefix(line, "0::"); ok {
			return path, nil
		}
	}
	return "", errors.New("no cgroup v2 line")
}

// cgroupAncestry lists the cgroup ids of path and its ancestors, by level
// from the root: the inode numbers of their directories.
func cgroupAncestry(mount, path string) []uint64 {
	var ids []uint64
	dir := mount
	parts := strings.Split(strings.Trim(path, "/"), "/")
	for level := 0; level <= len(parts) && level < len(bpf.GuardIdentity{}.Cgroups); level++ {
		if level > 0 {
			if parts[level-1] == "" {
				break
			}
			dir = filepath.Join(dir, parts[level-1])
		}
		cg, err := kernfs.ResolveCgroup(dir)
		if err != nil {
			break
		}
		ids = append(ids, cg.ID)
	}
	return ids
}
