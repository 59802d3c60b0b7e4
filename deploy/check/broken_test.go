package check

import (
	"os"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// The strict decoding refuses a broken copy of the real DaemonSet: each
// case changes one thing a cluster would ignore or refuse.
func TestBrokenManifestsAreRefused(t *testing.T) {
	good, err := os.ReadFile(manifestDir + "/daemonset.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := DecodeStream("daemonset.yaml", good); err != nil {
		t.Fatalf("the real DaemonSet does not decode: %v", err)
	}
	cases := []struct{ name, old, new, want string }{
		{"misspelt field", "hostPID: true", "hostPid: true", `unknown field "spec.template.spec.hostPid"`},
		{"unknown field", "readOnlyRootFilesystem: true", "readOnlyRootFilesystem: true\n            readOnlyRoot: true", `unknown field`},
		{"duplicate key", "hostPID: true", "hostPID: true\n      hostPID: false", `already set in map`},
		{"string for a number", "containerPort: 9911", `containerPort: "9911"`, `cannot unmarshal string`},
		{"number for a bool", "hostPID: true", "hostPID: 1", `cannot unmarshal number`},
		{"list for a string", "image: sigguard:dev", "image: [sigguard:dev]", `cannot unmarshal array`},
		{"bad quantity", "memory: 256Mi", "memory: lots", `quantities must match`},
		{"unknown kind", "kind: DaemonSet", "kind: DaemonSett", `no Go type`},
		{"kind in the wrong group", "apiVersion: apps/v1", "apiVersion: v1", `no Go type`},
		{"no kind", "kind: DaemonSet", "", `no apiVersion or kind`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(string(good), tc.old) {
				t.Fatalf("daemonset.yaml no longer holds %q: update this case", tc.old)
			}
			broken := strings.Replace(string(good), tc.old, tc.new, 1)
			_, err := DecodeStream("broken.yaml", []byte(broken))
			if err == nil {
				t.Fatalf("decoded without error; want %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
		})
	}
}

// The property checks fail a DaemonSet that decodes but would not work,
// or would hold more than sigguard needs.
func TestBrokenFleetsAreRefused(t *testing.T) {
	want := Want{Pin: true, Metrics: true, Tier: "auto"}
	cases := []struct {
		name   string
		break_ func(f Fleet)
		want   string
	}{
		{"privileged", func(f Fleet) { *ctr(f).SecurityContext.Privileged = true }, "privileged is not false"},
		{"no hostPID", func(f Fleet) { pod(f).HostPID = false }, "hostPID"},
		{"SYS_ADMIN added", func(f Fleet) { caps(f).Add = append(caps(f).Add, "SYS_ADMIN") }, "want exactly"},
		{"a capability misspelt", func(f Fleet) { caps(f).Add[0] = "BFP" }, `"BFP" is not a Linux capability`},
		{"nothing dropped", func(f Fleet) { caps(f).Drop = nil }, "drop ALL"},
		{"writable root", func(f Fleet) { *ctr(f).SecurityContext.ReadOnlyRootFilesystem = false }, "readOnlyRootFilesystem"},
		{"liveness on /metrics", func(f Fleet) { ctr(f).LivenessProbe.HTTPGet.Path = "/metrics" }, "liveness probe path /metrics"},
		{"readiness on another port", func(f Fleet) { ctr(f).ReadinessProbe.HTTPGet.Port.StrVal = "http" }, "readiness probe port http"},
		{"policy key renamed", func(f Fleet) { f.ConfigMap.Data = map[string]string{"sigguard.yaml": "rules: []"} }, "no key policy.yaml"},
		{"policy by subPath", func(f Fleet) { mount(f, "/etc/sigguard").SubPath = "policy.yaml" }, "subPath"},
		{"cgroup writable", func(f Fleet) { mount(f, "/sys/fs/cgroup").ReadOnly = false }, "/sys/fs/cgroup: readOnly false"},
		{"no bpffs for --pin", func(f Fleet) { mount(f, "/sys/fs/bpf").MountPath = "/bpf" }, "/sys/fs/bpf mounted: false"},
		{"Bidirectional", func(f Fleet) {
			p := corev1.MountPropagationBidirectional
			mount(f, "/sys/fs/bpf").MountPropagation = &p
		}, "mountPropagation Bidirectional"},
		{"hostPath type misspelt", func(f Fleet) { *pod(f).Volumes[1].HostPath.Type = "Directroy" }, "hostPath type"},
		{"table output", func(f Fleet) { ctr(f).Args[3] = "--output=table" }, `--output is "table"`},
		{"metrics port not exposed", func(f Fleet) { ctr(f).Ports[0].ContainerPort = 9100 }, "not a containerPort"},
		{"selector misses the pods", func(f Fleet) { f.DaemonSet.Spec.Template.Labels = map[string]string{"app": "x"} }, "does not select"},
		{"not on tainted nodes", func(f Fleet) { pod(f).Tolerations = nil }, "toleration"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fleet, err := FindFleet(decodeManifests(t))
			if err != nil {
				t.Fatal(err)
			}
			if errs := fleet.Check(want); len(errs) != 0 {
				t.Fatalf("the real manifests fail already: %v", errs)
			}
			tc.break_(fleet)
			errs := fleet.Check(want)
			for _, err := range errs {
				if strings.Contains(err.Error(), tc.want) {
					return
				}
			}
			t.Errorf("errors %v; want one saying %q", errs, tc.want)
		})
	}
}

func pod(f Fleet) *corev1.PodSpec       { return &f.DaemonSet.Spec.Template.Spec }
func ctr(f Fleet) *corev1.Container     { return &pod(f).Containers[0] }
func caps(f Fleet) *corev1.Capabilities { return ctr(f).SecurityContext.Capabilities }
func mount(f Fleet, path string) *corev1.VolumeMount {
	for i, m := range ctr(f).VolumeMounts {
		if m.MountPath == path {
			return &ctr(f).VolumeMounts[i]
		}
	}
	panic("no mount at " + path)
}
