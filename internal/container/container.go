// Package container tells, from a cgroup v2 path, which container and
// which Kubernetes pod a process runs in. Container engines name the cgroup
// they make for a container after its id, each in its own way; the ways
// this package knows are the rows of layouts, and everything else (the
// parser, its tests, the table in docs/containers.md) is made from them.
//
// The path is the one the kernel gives, relative to the cgroup v2 root as
// /proc/PID/cgroup prints it ("/system.slice/docker-<id>.scope"). Nothing
// here reads the file system: a path is only text.
package container

import (
	"regexp"
	"strings"
)

// Identity is what a cgroup path says of the container around a process.
// The zero Identity: no container this package knows of.
type Identity struct {
	// Runtime names the engine whose layout the path follows: "docker",
	// "containerd", "cri-o" or "podman"; "" for no container.
	Runtime string
	// ContainerID is the full container id (64 lowercase hex digits).
	ContainerID string
	// PodUID is the Kubernetes pod's UID, with its dashes (the systemd
	// driver writes them as underscores in slice names); "" outside a pod.
	// Static pods have a 32-hex-digit UID, given as it is.
	PodUID string
}

type kind uint8

const (
	containerRow kind = iota // the component's group is a container id
	podRow                   // the component's group is a pod UID
)

// layout is one way a cgroup is named after a container or a pod: a path
// component that name matches, under a component that parent matches ("":
// under anything). name's first group is the id. In example, <id> stands
// for a container id, <uid> for a pod UID and <uid_> for one with its
// dashes as underscores.
type layout struct {
	kind    kind
	runtime string
	driver  string // the engine's cgroup driver: "cgroupfs" or "systemd"
	example string
	parent  string
	name    string
	note    string
}

const (
	hex64 = `([0-9a-f]{64})`
	// A pod UID: an RFC 4122 UUID, or a static pod's 32-hex-digit hash.
	podUID        = `([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32})`
	podUIDSystemd = `([0-9a-f]{8}_[0-9a-f]{4}_[0-9a-f]{4}_[0-9a-f]{4}_[0-9a-f]{12}|[0-9a-f]{32})`
	podCgroupfs   = `pod` + podUID
)

// layouts: a process's container is the outermost component a container
// row matches, its pod the outermost component a pod row matches. Outermost,
// because whatever runs in a container may make cgroups below its own
// (a nested engine, or anyone who names a directory after another
// container to pose as it): the outermost match is the one the host's
// engine made. A container in a container is reported as the outer one.
var layouts = []layout{
	{kind: containerRow, runtime: "docker", driver: "cgroupfs", example: "/docker/<id>",
		parent: `docker`, name: hex64},
	{kind: containerRow, runtime: "docker", driver: "systemd", example: "/system.slice/docker-<id>.scope",
		name: `docker-` + hex64 + `\.scope`},
	{kind: containerRow, runtime: "containerd", driver: "cgroupfs", example: "/kubepods/burstable/pod<uid>/<id>",
		parent: podCgroupfs, name: hex64,
		note: "Kubernetes (CRI); Docker through cri-dockerd names it the same way"},
	{kind: containerRow, runtime: "containerd", driver: "systemd",
		example: "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid_>.slice/cri-containerd-<id>.scope",
		name:    `cri-containerd-` + hex64 + `\.scope`, note: "Kubernetes (CRI)"},
	{kind: containerRow, runtime: "cri-o", driver: "cgroupfs", example: "/kubepods/besteffort/pod<uid>/crio-<id>",
		name: `crio-` + hex64},
	{kind: containerRow, runtime: "cri-o", driver: "systemd",
		example: "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod<uid_>.slice/crio-<id>.scope",
		name:    `crio-` + hex64 + `\.scope`, note: "`crio-conmon-<id>.scope` is the container's monitor, outside it: no container"},
	{kind: containerRow, runtime: "podman", driver: "cgroupfs", example: "/libpod_parent/libpod-<id>",
		name: `libpod-` + hex64},
	{kind: containerRow, runtime: "podman", driver: "systemd", example: "/machine.slice/libpod-<id>.scope",
		name: `libpod-` + hex64 + `\.scope`,
		note: "also under a user's slice (rootless); `libpod-conmon-<id>.scope` is the monitor: no container"},
	{kind: podRow, driver: "cgroupfs", example: "/kubepods/burstable/pod<uid>",
		parent: `kubepods|besteffort|burstable`, name: podCgroupfs,
		note: "guaranteed pods sit right under `/kubepods`"},
	{kind: podRow, driver: "systemd", example: "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid_>.slice",
		name: `(?:[^/]*-)?kubepods(?:-besteffort|-burstable)?-pod` + podUIDSystemd + `\.slice`,
		note: "guaranteed pods: `/kubepods.slice/kubepods-pod<uid_>.slice`; a kubelet `--cgroup-root` prefixes the slice names"},
}

// compiled holds each row's patterns, anchored to a whole component.
type compiled struct {
	*layout
	parent, name *regexp.Regexp
}

var rows = compile(layouts)

func compile(ls []layout) []compiled {
	out := make([]compiled, len(ls))
	for i := range ls {
		out[i] = compiled{layout: &ls[i], name: regexp.MustCompile(`^(?:` + ls[i].name + `)$`)}
		if ls[i].parent != "" {
			out[i].parent = regexp.MustCompile(`^(?:` + ls[i].parent + `)$`)
		}
	}
	return out
}

// Parse says what path names: the container and the pod (outermost
// matches).
func Parse(path string) Identity {
	var id Identity
	parts := strings.Split(strings.Trim(path, "/"), "/")
	for i := 0; i < len(parts) && (id.ContainerID == "" || id.PodUID == ""); i++ {
		parent := ""
		if i > 0 {
			parent = parts[i-1]
		}
		for _, r := range rows {
			got, ok := r.match(parent, parts[i])
			if !ok {
				continue
			}
			switch {
			case r.kind == containerRow && id.ContainerID == "":
				id.Runtime, id.ContainerID = r.runtime, got
			case r.kind == podRow && id.PodUID == "":
				id.PodUID = strings.ReplaceAll(got, "_", "-")
			}
		}
	}
	return id
}

func (r *compiled) match(parent, name string) (string, bool) {
	if r.parent != nil && !r.parent.MatchString(parent) {
		return "", false
	}
	m := r.name.FindStringSubmatch(name)
	if m == nil {
		return "", false
	}
	return m[1], true
}

// ShortID is the first 12 digits of a container id, as engines show it.
func ShortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
