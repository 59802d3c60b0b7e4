package check

import (
	"errors"
	"fmt"
	"net"
	"path"
	"slices"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// Want is what a rendering of sigguard's DaemonSet must do, beyond being
// well-formed: the settings a value set chooses.
type Want struct {
	Pin     bool   // --pin, and the host's bpf file system mounted for it
	Metrics bool   // --metrics-addr, its port, the probes and scrape annotations
	Tier    string // the --tier value
}

// Fleet is sigguard's objects found among decoded documents.
type Fleet struct {
	DaemonSet *appsv1.DaemonSet
	ConfigMap *corev1.ConfigMap
}

// FindFleet picks out the one DaemonSet and the one ConfigMap.
func FindFleet(objs []Object) (Fleet, error) {
	var f Fleet
	for _, o := range objs {
		switch v := o.Obj.(type) {
		case *appsv1.DaemonSet:
			if f.DaemonSet != nil {
				return f, fmt.Errorf("%s: a second DaemonSet", o.Source)
			}
			f.DaemonSet = v
		case *corev1.ConfigMap:
			if f.ConfigMap != nil {
				return f, fmt.Errorf("%s: a second ConfigMap", o.Source)
			}
			f.ConfigMap = v
		}
	}
	if f.DaemonSet == nil || f.ConfigMap == nil {
		return f, errors.New("want one DaemonSet and one ConfigMap")
	}
	return f, nil
}

// Check lists every way the fleet's objects miss what sigguard needs.
func (f Fleet) Check(want Want) []error {
	c := &checker{f: f, want: want}
	ds, cm := f.DaemonSet, f.ConfigMap
	if ds.Namespace != cm.Namespace {
		c.fail("DaemonSet in namespace %q, its ConfigMap in %q", ds.Namespace, cm.Namespace)
	}
	// The API server refuses a DaemonSet whose selector misses its pods.
	if sel, err := metav1.LabelSelectorAsSelector(ds.Spec.Selector); err != nil || sel.Empty() ||
		!sel.Matches(labels.Set(ds.Spec.Template.Labels)) {
		c.fail("the selector %v does not select the pod template's labels %v", ds.Spec.Selector, ds.Spec.Template.Labels)
	}
	pod := ds.Spec.Template.Spec
	if !pod.HostPID {
		c.fail("hostPID is not true: sigguard must see the host's pids")
	}
	if pod.HostNetwork {
		c.fail("hostNetwork is true: sigguard needs no host network")
	}
	if !slices.ContainsFunc(pod.Tolerations, toleratesAll) {
		c.fail("no toleration with operator Exists and no key: the pod would not run on tainted nodes")
	}
	if len(pod.Containers) != 1 || len(pod.InitContainers) != 0 {
		c.fail("want exactly one container, found %d (and %d init containers)", len(pod.Containers), len(pod.InitContainers))
		return c.errs
	}
	ctr := pod.Containers[0]
	args := c.args(ctr.Args)
	c.security(ctr.SecurityContext)
	c.mounts(pod, ctr, args)
	c.policy(pod, ctr, args)
	c.metrics(ds.Spec.Template.Annotations, ctr, args)
	c.resources(ctr.Resources)
	return c.errs
}

type checker struct {
	f    Fleet
	want Want
	errs []error
}

func (c *checker) fail(format string, a ...any) {
	c.errs = append(c.errs, fmt.Errorf(format, a...))
}

func toleratesAll(t corev1.Toleration) bool {
	return t.Operator == corev1.TolerationOpExists && t.Key == "" && t.Effect == ""
}

// args reads --flag=value and --flag arguments into a map.
func (c *checker) args(list []string) map[string]string {
	m := map[string]string{}
	for _, a := range list {
		name, value, _ := strings.Cut(a, "=")
		if !strings.HasPrefix(name, "--") {
			c.fail("argument %q is not --flag or --flag=value", a)
			continue
		}
		m[strings.TrimPrefix(name, "--")] = value
	}
	for flag, want := range map[string]string{"output": "json", "log-format": "json", "tier": c.want.Tier} {
		if m[flag] != want {
			c.fail("--%s is %q, want %q", flag, m[flag], want)
		}
	}
	if _, pin := m["pin"]; pin != c.want.Pin {
		c.fail("--pin given: %v, want %v", pin, c.want.Pin)
	}
	return m
}

// linuxCaps are the capability names Kubernetes passes to the runtime.
var linuxCaps = strings.Fields(`CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID SETPCAP
	LINUX_IMMUTABLE NET_BIND_SERVICE NET_BROADCAST NET_ADMIN NET_RAW IPC_LOCK IPC_OWNER SYS_MODULE
	SYS_RAWIO SYS_CHROOT SYS_PTRACE SYS_PACCT SYS_ADMIN SYS_BOOT SYS_NICE SYS_RESOURCE SYS_TIME
	SYS_TTY_CONFIG MKNOD LEASE AUDIT_WRITE AUDIT_CONTROL SETFCAP MAC_OVERRIDE MAC_ADMIN SYSLOG
	WAKE_ALARM BLOCK_SUSPEND AUDIT_READ PERFMON BPF CHECKPOINT_RESTORE`)

// sigguardCaps are the capabilities sigguard uses (deploy/kubernetes/daemonset.yaml says why).
var sigguardCaps = []string{"BPF", "PERFMON", "DAC_READ_SEARCH", "KILL", "SYS_RESOURCE"}

func (c *checker) security(sc *corev1.SecurityContext) {
	if sc == nil {
		c.fail("no securityContext")
		return
	}
	isFalse := func(b *bool) bool { return b != nil && !*b }
	isTrue := func(b *bool) bool { return b != nil && *b }
	if !isFalse(sc.Privileged) {
		c.fail("privileged is not false")
	}
	if !isFalse(sc.AllowPrivilegeEscalation) {
		c.fail("allowPrivilegeEscalation is not false")
	}
	if !isTrue(sc.ReadOnlyRootFilesystem) {
		c.fail("readOnlyRootFilesystem is not true")
	}
	if sc.RunAsUser == nil || *sc.RunAsUser != 0 {
		c.fail("runAsUser is not 0: the kernel file systems sigguard reads are root's")
	}
	caps := sc.Capabilities
	if caps == nil || !slices.Equal(caps.Drop, []corev1.Capability{"ALL"}) {
		c.fail("capabilities do not drop ALL")
		return
	}
	var added []string
	for _, a := range caps.Add {
		name := strings.TrimPrefix(string(a), "CAP_")
		if !slices.Contains(linuxCaps, name) {
			c.fail("capability %q is not a Linux capability", a)
		}
		added = append(added, name)
	}
	if !slices.Equal(added, sigguardCaps) {
		c.fail("capabilities add %v, want exactly %v", added, sigguardCaps)
	}
}

// hostMount is a host path the pod mounts where sigguard looks for it.
type hostMount struct {
	path     string // on the host and in the container
	readOnly bool
	needed   func(Want) bool
}

var hostMounts = []hostMount{
	{"/sys/fs/cgroup", true, func(Want) bool { return true }},
	{"/sys/kernel/tracing", true, func(Want) bool { return true }},
	{"/sys/fs/bpf", false, func(w Want) bool { return w.Pin }},
	{"/sys/kernel/security", true, func(w Want) bool { return w.Tier == "auto" || w.Tier == "lsm" }},
}

var hostPathTypes = []corev1.HostPathType{"", corev1.HostPathDirectoryOrCreate, corev1.HostPathDirectory,
	corev1.HostPathFileOrCreate, corev1.HostPathFile, corev1.HostPathSocket, corev1.HostPathCharDev, corev1.HostPathBlockDev}

func (c *checker) mounts(pod corev1.PodSpec, ctr corev1.Container, args map[string]string) {
	volumes := map[string]corev1.Volume{}
	for _, v := range pod.Volumes {
		volumes[v.Name] = v
		if hp := v.HostPath; hp != nil && (hp.Type == nil || !slices.Contains(hostPathTypes, *hp.Type)) {
			c.fail("volume %s: hostPath type %v is not one Kubernetes knows", v.Name, hp.Type)
		}
	}
	used := map[string]bool{}
	byPath := map[string]corev1.VolumeMount{}
	for _, m := range ctr.VolumeMounts {
		used[m.Name] = true
		byPath[m.MountPath] = m
		if _, ok := volumes[m.Name]; !ok {
			c.fail("volumeMount %s: no volume of that name", m.Name)
		}
		// HostToContainer fails to start where the host's mount is
		// private; Bidirectional needs a privileged container.
		if p := m.MountPropagation; p != nil && *p != corev1.MountPropagationNone {
			c.fail("volumeMount %s: mountPropagation %s (the runtime refuses it where the host mount is private, or in a container that is not privileged)", m.Name, *p)
		}
	}
	for name := range volumes {
		if !used[name] {
			c.fail("volume %s is mounted nowhere", name)
		}
	}
	for _, hm := range hostMounts {
		m, ok := byPath[hm.path]
		if ok != hm.needed(c.want) {
			c.fail("%s mounted: %v, want %v", hm.path, ok, !ok)
			continue
		}
		if !ok {
			continue
		}
		if hp := volumes[m.Name].HostPath; hp == nil || hp.Path != hm.path {
			c.fail("%s: volume %s is not the host's %s", hm.path, m.Name, hm.path)
		}
		if m.ReadOnly != hm.readOnly {
			c.fail("%s: readOnly %v, want %v", hm.path, m.ReadOnly, hm.readOnly)
		}
	}
	if dir, ok := args["pin-dir"]; ok && !strings.HasPrefix(dir, "/sys/fs/bpf/") {
		c.fail("--pin-dir %s is outside the host's bpf file system at /sys/fs/bpf", dir)
	}
}

// policy checks that --policy names a key of the ConfigMap, mounted as a
// directory (a subPath mount would never see an update).
func (c *checker) policy(pod corev1.PodSpec, ctr corev1.Container, args map[string]string) {
	file := args["policy"]
	if file == "" {
		c.fail("no --policy")
		return
	}
	for _, m := range ctr.VolumeMounts {
		if path.Dir(file) != m.MountPath {
			continue
		}
		if m.SubPath != "" {
			c.fail("the policy is mounted with subPath, so ConfigMap updates never reach it")
		}
		for _, v := range pod.Volumes {
			if v.Name != m.Name {
				continue
			}
			if v.ConfigMap == nil || v.ConfigMap.Name != c.f.ConfigMap.Name {
				c.fail("--policy %s: volume %s is not the ConfigMap %s", file, v.Name, c.f.ConfigMap.Name)
				return
			}
			if len(v.ConfigMap.Items) != 0 {
				c.fail("volume %s lists items: mount the whole ConfigMap", v.Name)
			}
			if _, ok := c.f.ConfigMap.Data[path.Base(file)]; !ok {
				c.fail("--policy %s: the ConfigMap has no key %s", file, path.Base(file))
			}
			return
		}
	}
	c.fail("--policy %s: no volume is mounted at %s", file, path.Dir(file))
}

func (c *checker) metrics(annotations map[string]string, ctr corev1.Container, args map[string]string) {
	addr, on := args["metrics-addr"]
	if on != c.want.Metrics {
		c.fail("--metrics-addr given: %v, want %v", on, c.want.Metrics)
	}
	if !on {
		if len(ctr.Ports) != 0 || ctr.LivenessProbe != nil || ctr.ReadinessProbe != nil {
			c.fail("no metrics server, but ports or probes")
		}
		if _, ok := annotations["prometheus.io/scrape"]; ok {
			c.fail("no metrics server, but a scrape annotation")
		}
		return
	}
	_, portText, err := net.SplitHostPort(addr)
	port, _ := strconv.Atoi(portText)
	if err != nil || port == 0 {
		c.fail("--metrics-addr %q is not HOST:PORT", addr)
		return
	}
	var named string
	for _, p := range ctr.Ports {
		if int(p.ContainerPort) == port {
			named = p.Name
		}
	}
	if named == "" {
		c.fail("--metrics-addr port %d is not a containerPort", port)
	}
	for _, pr := range []struct {
		what  string
		probe *corev1.Probe
		path  string
	}{{"liveness", ctr.LivenessProbe, "/healthz"}, {"readiness", ctr.ReadinessProbe, "/readyz"}} {
		if pr.probe == nil || pr.probe.HTTPGet == nil {
			c.fail("no %s probe by HTTP GET", pr.what)
			continue
		}
		g := pr.probe.HTTPGet
		if g.Path != pr.path {
			c.fail("%s probe path %s, want %s", pr.what, g.Path, pr.path)
		}
		if g.Port.String() != named && g.Port.IntValue() != port {
			c.fail("%s probe port %s is not the metrics port %d", pr.what, g.Port.String(), port)
		}
	}
	want := map[string]string{"prometheus.io/scrape": "true", "prometheus.io/port": portText, "prometheus.io/path": "/metrics"}
	for k, v := range want {
		if annotations[k] != v {
			c.fail("annotation %s is %q, want %q", k, annotations[k], v)
		}
	}
}

func (c *checker) resources(r corev1.ResourceRequirements) {
	for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		if _, ok := r.Requests[name]; !ok {
			c.fail("no %s request", name)
		}
	}
	if _, ok := r.Limits[corev1.ResourceMemory]; !ok {
		c.fail("no memory limit")
	}
}
