package e2e

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/sigguard/sigguard/internal/kernfs"
	"github.com/sigguard/sigguard/internal/testenv"
)

// configMap is a directory laid out as a Kubernetes ConfigMap volume:
// policy.yaml -> ..data/policy.yaml, ..data -> ..<timestamp>.
type configMap struct {
	t       *testing.T
	dir     string
	current string
	n       int
}

func newConfigMap(t *testing.T, policy string) *configMap {
	c := &configMap{t: t, dir: t.TempDir()}
	c.current = c.version(policy)
	if err := os.Symlink(c.current, filepath.Join(c.dir, "..data")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("..data/policy.yaml", filepath.Join(c.dir, "policy.yaml")); err != nil {
		t.Fatal(err)
	}
	return c
}

func (c *configMap) path() string { return filepath.Join(c.dir, "policy.yaml") }

func (c *configMap) version(policy string) string {
	c.n++
	name := fmt.Sprintf("..2026_12_02_17_00_%02d.%d", c.n, 1000+c.n)
	if err := os.Mkdir(filepath.Join(c.dir, name), 0o755); err != nil {
		c.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(c.dir, name, "policy.yaml"), []byte(policy), 0o644); err != nil {
		c.t.Fatal(err)
	}
	return name
}

// update swaps the content in as the kubelet does: a new directory, a
// ..data_tmp symlink to it renamed over ..data, the old directory removed.
func (c *configMap) update(policy string) {
	name := c.version(policy)
	tmp := filepath.Join(c.dir, "..data_tmp")
	if err := os.Symlink(name, tmp); err != nil {
		c.t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(c.dir, "..data")); err != nil {
		c.t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(c.dir, c.current)); err != nil {
		c.t.Fatal(err)
	}
	c.current = name
}

func runOffenderIn(cg *kernfs.OwnCgroup, offender string) (*exec.Cmd, error) {
	cmd := cg.Command(offender, "fail")
	cmd.Env = append(os.Environ(), "OFFENDER_CALLS=1")
	return cmd, cmd.Run()
}

func diedOfSIGKILL(err error) bool {
	var ee *exec.ExitError
	return errors.As(err, &ee) && ee.Sys().(syscall.WaitStatus).Signal() == syscall.SIGKILL
}

// A ConfigMap update reloads the policy without SIGHUP; a broken update
// is refused and the policy in force stays.
func TestPolicyReloadsWhenAConfigMapChanges(t *testing.T) {
	testenv.RequireRoot(t)
	offender := testenv.Offender(t)
	cg := testenv.NewCgroup(t)
	cm := newConfigMap(t, fmt.Sprintf("rules:\n  - name: watch\n    match: { cgroup: [%s] }\n    action: { audit: true }\n", cg.Path))
	guard := startBinary(t, "--policy", cm.path())

	cmd, err := runOffenderIn(cg.OwnCgroup, offender)
	if err != nil {
		t.Fatalf("audited offender: %v", err)
	}
	if ev := guard.event(t, cmd.Process.Pid); ev.Action != "audit" {
		t.Errorf("first policy: %+v", ev)
	}

	cm.update(fmt.Sprintf("rules:\n  - name: enforce\n    match: { cgroup: [%s] }\n", cg.Path))
	guard.stderr.waitFor(t, "reloaded "+cm.path()+" (its content changed)")
	guard.stderr.waitFor(t, "rule 1 enforce:")
	cmd, err = runOffenderIn(cg.OwnCgroup, offender)
	if !diedOfSIGKILL(err) {
		t.Fatalf("after the ConfigMap update the offender should die of SIGKILL: %v\n%s", err, guard.stderr)
	}
	if ev := guard.event(t, cmd.Process.Pid); ev.Action != "signal-process" || ev.Rule != "enforce" {
		t.Errorf("second policy: %+v", ev)
	}

	cm.update("rules:\n  - name: broken\n    syscalls: [nope]\n")
	guard.stderr.waitFor(t, "reload rejected, the previous policy stays in force: "+cm.path()+":3:16: unknown syscall or preset \"nope\"")
	if _, err := runOffenderIn(cg.OwnCgroup, offender); !diedOfSIGKILL(err) {
		t.Fatalf("after a rejected update the offender should still die: %v", err)
	}
	if n := strings.Count(guard.stderr.String(), "reloaded "); n != 1 {
		t.Errorf("%d reloads, want 1:\n%s", n, guard.stderr)
	}
	if err := guard.stop(t, syscall.SIGTERM); err != nil {
		t.Fatalf("sigguard: %v\n%s", err, guard.stderr)
	}
}

// A cgroup named on the command line that does not exist yet is a
// warning; made, then remade (docker restart), it stays guarded, and
// sigguard says so.
func TestNamedCgroupMadeAndRemade(t *testing.T) {
	testenv.RequireRoot(t)
	offender := testenv.Offender(t)
	parent := testenv.NewCgroup(t)
	path := filepath.Join(parent.Path, "box")
	guard := startBinary(t, "--cgroup", path)
	guard.stderr.waitFor(t, "sigguard: warning: cgroup "+path+" does not exist; rule command-line matches nothing for it until it does")

	for _, want := range []string{"now exists (id ", "was recreated (id "} {
		box, err := kernfs.MakeCgroup(path)
		if err != nil {
			t.Fatal(err)
		}
		guard.stderr.waitFor(t, "sigguard: cgroup "+path+" "+want)
		_, err = runOffenderIn(box, offender)
		if derr := box.Destroy(); derr != nil {
			t.Fatal(derr)
		}
		if !diedOfSIGKILL(err) {
			t.Fatalf("offender in %s after %q: %v\n%s", path, want, err, guard.stderr)
		}
	}
	if err := guard.stop(t, syscall.SIGTERM); err != nil {
		t.Fatalf("sigguard: %v\n%s", err, guard.stderr)
	}
}
