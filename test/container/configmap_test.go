package container

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A policy mounted from a Kubernetes ConfigMap changes the way the
// kubelet writes it: each version in a directory of its own
// (..2026_12_02_...), a symbolic link ..data naming the current one,
// swapped by renaming a new link over it, and policy.yaml a link through
// ..data. No one sends sigguard a SIGHUP: the swap alone must bring the
// new rules into force.
func TestConfigMapSwapReloads(t *testing.T) {
	requireEngine(t)
	w := startWorkload(t)
	rule := func(name, action string) string {
		return fmt.Sprintf("rules:\n  - name: %s\n    syscalls: [memory-access]\n    match:\n      cgroup: [%s]\n    action: %s\n",
			name, w.cgroup(t), action)
	}
	dir := t.TempDir()
	configMapWrite(t, dir, "..2026_12_02_10_00_00.1", rule("v1-audit", "{ audit: true }"))
	if err := os.Symlink("..data/policy.yaml", filepath.Join(dir, "policy.yaml")); err != nil {
		t.Fatal(err)
	}
	s := startSigguard(t, "", guardOpts{policyDir: dir})

	if status := w.offenderIn(t, "attach"); status != 0 {
		t.Fatalf("offender under the audit rule: exit status %d, want 0", status)
	}
	s.waitIntervention(t, "the audited attach", func(ev event) bool { return ev.Rule == "v1-audit" && ev.Action == "audit" })

	configMapWrite(t, dir, "..2026_12_02_10_05_00.2", rule("v2-kill", "{ signal: KILL }"))
	status := 0
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		if status = w.offenderIn(t, "attach"); status == killed {
			break
		}
	}
	if status != killed {
		t.Fatalf("20 s after the ConfigMap's swap the offender still exits %d, want %d (SIGKILL): the new policy is not in force:\n%s",
			status, killed, s.logs(t))
	}
	if _, status := w.debugIn(t, "strace"); status != killed {
		t.Errorf("strace after the swap: exit status %d, want %d", status, killed)
	}
	s.waitIntervention(t, "the new rule's kill", func(ev event) bool { return ev.Rule == "v2-kill" && ev.Comm == "strace" })
}

// configMapWrite writes a version of policy.yaml as the kubelet does: a
// new timestamped directory, then ..data swapped to it in one rename, then
// the old version removed.
func configMapWrite(t testing.TB, dir, version, policy string) {
	t.Helper()
	if err := os.Mkdir(filepath.Join(dir, version), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, version, "policy.yaml"), policy)
	old, _ := os.Readlink(filepath.Join(dir, "..data"))
	tmp := filepath.Join(dir, "..data_tmp")
	if err := os.Symlink(version, tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	if old != "" {
		if err := os.RemoveAll(filepath.Join(dir, old)); err != nil {
			t.Fatal(err)
		}
	}
}
