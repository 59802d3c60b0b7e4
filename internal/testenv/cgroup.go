package testenv

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sigguard/sigguard/internal/kernfs"
)

// Cgroup is a cgroup v2 directory a test owns: guards are scoped to it,
// offenders start inside it, and everything in it is killed at cleanup.
type Cgroup struct {
	Path string
	fd   int
}

// NewCgroup creates a fresh cgroup for the test.
func NewCgroup(t testing.TB) *Cgroup {
	t.Helper()
	mount, err := kernfs.Cgroup2Mount()
	if err != nil {
		t.Fatalf("find cgroup v2: %v", err)
	}
	path, err := os.MkdirTemp(mount, "sigguard-test-")
	if err != nil {
		t.Fatalf("create test cgroup: %v", err)
	}
	return (&Cgroup{}).adopt(t, path)
}

// Child creates a cgroup below this one, removed before its parent.
func (c *Cgroup) Child(t testing.TB) *Cgroup {
	t.Helper()
	path, err := os.MkdirTemp(c.Path, "child-")
	if err != nil {
		t.Fatalf("create child cgroup: %v", err)
	}
	return c.adopt(t, path)
}

func (c *Cgroup) adopt(t testing.TB, path string) *Cgroup {
	fd, err := syscall.Open(path, syscall.O_DIRECTORY|syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("open cgroup: %v", err)
	}
	cg := &Cgroup{Path: path, fd: fd}
	t.Cleanup(func() {
		if err := cg.destroy(); err != nil {
			t.Errorf("remove cgroup: %v", err)
		}
	})
	return cg
}

// Command prepares cmd to start inside the cgroup (clone3 with
// CLONE_INTO_CGROUP, so it never runs outside it, not even briefly).
func (c *Cgroup) Command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: c.fd}
	return cmd
}

// Start starts a long-lived process (a victim) in the cgroup.
func (c *Cgroup) Start(t testing.TB, name string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := c.Command(name, args...)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd
}

// Pids lists the processes in the cgroup.
func (c *Cgroup) Pids() ([]int, error) {
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

// destroy kills whatever is left in the cgroup (orphans such as strace's
// probe child, victims left stopped by a killed attach) and removes it.
func (c *Cgroup) destroy() error {
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
func (c *Cgroup) killAll(pids []int) {
	err := os.WriteFile(filepath.Join(c.Path, "cgroup.kill"), []byte("1"), 0)
	if err == nil || !errors.Is(err, os.ErrNotExist) {
		return
	}
	for _, pid := range pids {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}
