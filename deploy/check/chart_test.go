package check

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os/exec"
	"reflect"
	"strings"
	"sync"
	"testing"

	"sigs.k8s.io/yaml"
)

const chartDir = "../helm/sigguard"

// helmBin is the pinned Helm (this module's tool directive), built or
// found in the build cache once: `go tool -n` prints its path, saving
// each render the half second `go tool helm` spends checking it is current.
var helmBin = sync.OnceValues(func() (string, error) {
	out, err := exec.Command("go", "tool", "-n", "helm").Output()
	if err != nil {
		return "", fmt.Errorf("go tool -n helm: %w", err)
	}
	return strings.TrimSpace(string(out)), nil
})

// render runs `helm template` on the chart.
func render(t *testing.T, args ...string) ([]byte, error) {
	t.Helper()
	helm, err := helmBin()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(helm, append([]string{"template", "sigguard", chartDir,
		"--namespace", "sigguard"}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, &renderError{err: err, stderr: stderr.String()}
	}
	return out, nil
}

type renderError struct {
	err    error
	stderr string
}

func (e *renderError) Error() string { return e.err.Error() + ": " + e.stderr }

// Each value set renders objects that decode strictly and do what
// sigguard needs with those values.
func TestChart(t *testing.T) {
	on := Want{Pin: true, Metrics: true, Tier: "auto"}
	cases := []struct {
		name string
		args []string
		want Want
	}{
		{"defaults", nil, on},
		{"pin off", []string{"--set", "pin=false"}, Want{Pin: false, Metrics: true, Tier: "auto"}},
		{"signal tier", []string{"--set", "tier=signal"}, Want{Pin: true, Metrics: true, Tier: "signal"}},
		{"lsm tier", []string{"--set", "tier=lsm"}, Want{Pin: true, Metrics: true, Tier: "lsm"}},
		{"fmod_ret tier, no pin", []string{"--set", "tier=fmod_ret,pin=false"}, Want{Pin: false, Metrics: true, Tier: "fmod_ret"}},
		{"metrics off", []string{"--set", "metrics.enabled=false"}, Want{Pin: true, Metrics: false, Tier: "auto"}},
		{"metrics on another port", []string{"--set", "metrics.port=9100,metrics.host=0.0.0.0"}, on},
		{"policy as text", []string{"-f", "testdata/policy-text.values.yaml"}, on},
		{"extra args", []string{"--set", "extraArgs={--compat}"}, on},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := render(t, tc.args...)
			if err != nil {
				t.Fatal(err)
			}
			objs, err := DecodeStream("helm template", out)
			if err != nil {
				t.Fatal(err)
			}
			if len(objs) != 2 {
				t.Errorf("%d objects, want a DaemonSet and a ConfigMap", len(objs))
			}
			fleet, err := FindFleet(objs)
			if err != nil {
				t.Fatal(err)
			}
			for _, err := range fleet.Check(tc.want) {
				t.Error(err)
			}
			checkPolicies(t, fleet)
		})
	}
}

// With default values the chart renders what deploy/kubernetes holds: the
// same pod, the same rollout, the same policy (labels aside).
func TestChartDefaultsAreTheManifests(t *testing.T) {
	out, err := render(t)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := DecodeStream("helm template", out)
	if err != nil {
		t.Fatal(err)
	}
	chart, err := FindFleet(objs)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := FindFleet(decodeManifests(t))
	if err != nil {
		t.Fatal(err)
	}
	same := func(what string, a, b any) {
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		if !bytes.Equal(ja, jb) {
			t.Errorf("%s differs:\nchart:     %s\nmanifests: %s", what, ja, jb)
		}
	}
	cd, pd := chart.DaemonSet, plain.DaemonSet
	same("DaemonSet name", cd.ObjectMeta.Name+"/"+cd.Namespace, pd.Name+"/"+pd.Namespace)
	same("pod spec", cd.Spec.Template.Spec, pd.Spec.Template.Spec)
	same("pod annotations", cd.Spec.Template.Annotations, pd.Spec.Template.Annotations)
	same("update strategy", cd.Spec.UpdateStrategy, pd.Spec.UpdateStrategy)
	same("ConfigMap name", chart.ConfigMap.Name+"/"+chart.ConfigMap.Namespace, plain.ConfigMap.Name+"/"+plain.ConfigMap.Namespace)
	same("ConfigMap keys", keys(chart.ConfigMap.Data), keys(plain.ConfigMap.Data))
	for k := range plain.ConfigMap.Data {
		var a, b any
		if err := yaml.Unmarshal([]byte(chart.ConfigMap.Data[k]), &a); err != nil {
			t.Fatal(err)
		}
		if err := yaml.Unmarshal([]byte(plain.ConfigMap.Data[k]), &b); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Errorf("policy %s differs:\nchart:\n%s\nmanifests:\n%s", k, chart.ConfigMap.Data[k], plain.ConfigMap.Data[k])
		}
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// The values schema refuses what would render a broken or surprising
// pod: an unknown (misspelt) key, a tier sigguard does not know, a port
// of the wrong type.
func TestChartRefusesBadValues(t *testing.T) {
	for set, where := range map[string]string{
		"metrics.enabeld=false":      "'enabeld' not allowed",
		"tier=best":                  "at '/tier'",
		"metrics.port=http":          "at '/metrics/port'",
		"pin=yes-please":             "at '/pin'",
		"image.pullPolicy=Sometimes": "at '/image/pullPolicy'",
	} {
		_, err := render(t, "--set", set)
		if err == nil {
			t.Errorf("--set %s rendered; want the values schema to refuse it", set)
		} else if !strings.Contains(err.Error(), where) {
			t.Errorf("--set %s: refused, but the error does not say %q: %v", set, where, err)
		}
	}
}

// helm lint --strict: the chart's metadata, templates and schema are sound.
func TestChartLints(t *testing.T) {
	helm, err := helmBin()
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(helm, "lint", "--strict", chartDir).CombinedOutput(); err != nil {
		t.Errorf("helm lint --strict: %v\n%s", err, out)
	}
}
