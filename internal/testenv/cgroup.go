package testenv

import (
	"os/exec"
	"testing"

	"github.com/sigguard/sigguard/internal/kernfs"
)

// Cgroup is a cgroup v2 directory a test owns: guards are scoped to it,
// offenders start inside it, and everything in it is killed at cleanup.
type Cgroup struct {
	*kernfs.OwnCgroup
}

// NewCgroup creates a fresh cgroup for the test.
func NewCgroup(t testing.TB) *Cgroup {
	t.Helper()
	cg, err := kernfs.NewCgroup("", "sigguard-test")
	if err != nil {
		t.Fatalf("create test cgroup: %v", err)
	}
	return adopt(t, cg)
}

// Child creates a cgroup below this one, removed before its parent.
func (c *Cgroup) Child(t testing.TB) *Cgroup {
	t.Helper()
	cg, err := c.OwnCgroup.Child("child")
	if err != nil {
		t.Fatalf("create child cgroup: %v", err)
	}
	return adopt(t, cg)
}

func adopt(t testing.TB, cg *kernfs.OwnCgroup) *Cgroup {
	t.Cleanup(func() {
		if err := cg.Destroy(); err != nil {
			t.Errorf("remove cgroup: %v", err)
		}
	})
	return &Cgroup{cg}
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
