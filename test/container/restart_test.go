package container

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sigguard/sigguard/internal/kernfs"
)

// Protection follows containers through `docker restart`. The engine
// keeps a restarted container's cgroup path but makes a new directory,
// with a new cgroup id, while a policy names the path: both the rule on
// callers in a container and the rule protecting one must hold for the
// new directory.
func TestProtectionSurvivesRestart(t *testing.T) {
	requireEngine(t)
	w := startWorkload(t) // its processes may not debug
	p := startWorkload(t) // no one may debug its processes
	s := startSigguard(t, policyFor(
		[2]string{"in-workload", "cgroup: [" + w.cgroup(t) + "]"},
		[2]string{"protect", "target:\n  cgroup: [" + p.cgroup(t) + "]"},
	), guardOpts{})
	enforced := func(t *testing.T) {
		t.Run("strace in the workload", func(t *testing.T) {
			if _, status := w.debugIn(t, "strace"); status != killed {
				t.Errorf("exit status %d, want %d (SIGKILL)", status, killed)
			}
		})
		t.Run("strace from the host against the protected", func(t *testing.T) {
			hostStrace(t, p.pid(t))
		})
	}
	t.Run("before", enforced)

	before := []uint64{cgroupID(t, w), cgroupID(t, p)}
	if _, err := docker("restart", "--time", "0", w.id, p.id); err != nil {
		t.Fatal(err)
	}
	if after := []uint64{cgroupID(t, w), cgroupID(t, p)}; after[0] == before[0] || after[1] == before[1] {
		t.Fatalf("cgroup ids before the restart %v, after %v: the engine kept a directory, so this test proves nothing", before, after)
	}
	t.Run("after restart", enforced)
	// And sigguard says so: a notice for each path whose directory is new
	// (recreated, or removed and then found again).
	for _, c := range []*container{w, p} {
		saysRecreated(t, s, c.cgroup(t))
	}
	if s.inspect(t, "{{.State.Running}}") != "true" {
		t.Fatalf("sigguard's container stopped after the restarts:\n%s", s.logs(t))
	}
}

// cgroupID is the id of c's cgroup v2 directory: its inode number.
func cgroupID(t testing.TB, c *container) uint64 {
	t.Helper()
	mount, err := kernfs.Cgroup2Mount()
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(mount, c.cgroup(t)))
	if err != nil {
		t.Fatal(err)
	}
	return st.Sys().(*syscall.Stat_t).Ino
}

// saysRecreated waits up to 5 s for sigguard's log to say that the cgroup
// at path is guarded again under its new directory.
func saysRecreated(t testing.TB, s *sigguard, path string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		logs := s.logs(t)
		for _, line := range strings.Split(logs, "\n") {
			// The notice names the directory under the hierarchy's mount.
			if strings.Contains(line, path+" was recreated (id ") || strings.Contains(line, path+" now exists (id ") {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Errorf("no notice that %s was recreated; sigguard's log:\n%s", path, logs)
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}
