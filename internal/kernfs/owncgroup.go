package kernfs

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// OwnCgroup is a cgroup v2 directory this process created for processes it
// starts, kills and cleans up itself (tests, the bench).
type OwnCgroup struct {
	Path string
	fd   int
}

// NewCgroup creates a fresh cgroup named prefix-XXXX under parent, or under
// the cgroup v2 mount when parent is "".
func NewCgroup(parent, prefix string) (*OwnCgroup, error) {
	if parent == "" {
		mount, err := Cgroup2Mount()
		if err != nil {
			return nil, err
		}
		parent = mount
	}
	path, err := os.MkdirTemp(parent, prefix+"-")
	if err != nil {
		return nil, fmt.Errorf("create cgroup: %w", err)
	}
	return openOwn(path)
}

// MakeCgroup creates the cgroup at exactly path, whose parent must exist.
func MakeCgroup(path string) (*OwnCgroup, error) {
	if err := os.Mkdir(path, 0o755); err != nil {
		return nil, fmt.Errorf("create cgroup: %w", err)
	}
	return openOwn(path)
}

// openOwn opens a cgroup this process just made, or removes it.
func openOwn(path string) (*OwnCgroup, error) {
	fd, err := syscall.Open(path, syscall.O_DIRECTORY|syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("open cgroup: %w", err)
	}
	return &OwnCgroup{Path: path, fd: fd}, nil
}

// Child creates a cgroup below this one.
func (c *OwnCgroup) Child(prefix string) (*OwnCgroup, error) { return NewCgroup(c.Path, prefix) }

// Command prepares cmd to start inside the cgroup (clone3 with
// CLONE_INTO_CGROUP: it never runs outside it, not even briefly).
func (c *OwnCgroup) Command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: c.fd}
	return cmd
}

// Pids lists the processes in the cgroup.
func (c *OwnCgroup) Pids() ([]int, error) {
	b, err := os.ReadFile(filepath.Join(c.Path, "cgroup.procs"))
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, f := range strings.Fields(string(b)) {
		if n, err := strconv.Atoi(f); err == nil {
			pids = append(pids, n)
		}
	}
	return pids, nil
}

// Destroy kills whatever is left in the cgroup (orphans such as strace's
// probe child, victims left stopped by a killed attach) and removes it.
// Child cgroups must be destroyed first.
func (c *OwnCgroup) Destroy() error {
	defer syscall.Close(c.fd)
	deadline := time.Now().Add(5 * time.Second)
	for {
		pids, err := c.Pids()
		if err != nil {
			return err
		}
		if len(pids) == 0 {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("processes %v survive in %s", pids, c.Path)
		}
		c.killAll(pids)
		time.Sleep(20 * time.Millisecond)
	}
	return os.Remove(c.Path)
}

// killAll uses cgroup.kill (Linux 5.14+), which also catches processes
// forked meanwhile, and falls back to killing the pids one by one.
func (c *OwnCgroup) killAll(pids []int) {
	// Opened without O_CREAT: where cgroup.kill does not exist, creating
	// it in cgroupfs fails with a permission error, not ErrNotExist.
	if err := writeExisting(filepath.Join(c.Path, "cgroup.kill"), "1"); err == nil || !errors.Is(err, os.ErrNotExist) {
		return
	}
	for _, pid := range pids {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}

// writeExisting writes s to a file that must already exist.
func writeExisting(path, s string) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(s)
	return errors.Join(err, f.Close())
}
