package check

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

const manifestDir = "../kubernetes"

// decodeManifests decodes every YAML file of deploy/kubernetes strictly.
func decodeManifests(t *testing.T) []Object {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(manifestDir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests in %s (%v)", manifestDir, err)
	}
	var objs []Object
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeStream(f, data)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		objs = append(objs, got...)
	}
	return objs
}

// The plain manifests decode strictly, and the DaemonSet does what sigguard needs.
func TestManifests(t *testing.T) {
	objs := decodeManifests(t)
	kinds := map[string]int{}
	for _, o := range objs {
		kinds[o.GVK.Kind]++
	}
	if kinds["Namespace"] != 1 || kinds["DaemonSet"] != 1 || kinds["ConfigMap"] != 1 || len(objs) != 3 {
		t.Errorf("objects %v, want one Namespace, DaemonSet and ConfigMap", kinds)
	}
	fleet, err := FindFleet(objs)
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range fleet.Check(Want{Pin: true, Metrics: true, Tier: "auto"}) {
		t.Error(err)
	}
	if img := fleet.DaemonSet.Spec.Template.Spec.Containers[0].Image; img != "sigguard:dev" {
		t.Errorf("image %s, want sigguard:dev (docs/fleet.md builds and loads that)", img)
	}
	checkPolicies(t, fleet)
}

// binDir holds the sigguard binary the tests build (once) to check policies.
var binDir string

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

var sigguardBin = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "sigguard-check-")
	if err != nil {
		return "", err
	}
	binDir = dir
	bin := filepath.Join(dir, "sigguard")
	// The repository's own module, two levels up.
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/sigguard")
	cmd.Dir = "../.."
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("%w\n%s", err, out)
	}
	return bin, nil
})

// checkPolicies runs `sigguard check` on every policy in the ConfigMap.
func checkPolicies(t *testing.T, fleet Fleet) {
	t.Helper()
	bin, err := sigguardBin()
	if err != nil {
		t.Fatalf("build sigguard: %v", err)
	}
	for key, policy := range fleet.ConfigMap.Data {
		file := filepath.Join(t.TempDir(), key)
		if err := os.WriteFile(file, []byte(policy), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(bin, "check", file).CombinedOutput(); err != nil {
			t.Errorf("ConfigMap %s key %s: sigguard check: %v\n%s", fleet.ConfigMap.Name, key, err, out)
		}
	}
}
