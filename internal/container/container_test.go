package container

import (
	"flag"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the layouts table in docs/containers.md")

const (
	id     = "3f4e8a1c9b2d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f"
	id2    = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	uid    = "8e1d2c3b-4a59-4687-9a0b-1c2d3e4f5a6b"
	static = "6d4ba5e1f1d2b7b2a9c0e5c7c3a8f5e1" // a static pod's UID: a hash
)

// Every row's own example, filled in, gives back the ids it names.
func TestEveryLayoutParsesItsExample(t *testing.T) {
	for _, l := range layouts {
		path := strings.NewReplacer("<id>", id, "<uid_>", strings.ReplaceAll(uid, "-", "_"), "<uid>", uid).Replace(l.example)
		got := Parse(path)
		want := Identity{}
		if strings.Contains(l.example, "<id>") {
			want.Runtime, want.ContainerID = l.runtime, id
		}
		if strings.Contains(l.example, "<uid") {
			want.PodUID = uid
		}
		if got != want {
			t.Errorf("%s %s row: Parse(%q) = %+v, want %+v", l.runtime, l.driver, path, got, want)
		}
	}
}

func TestParse(t *testing.T) {
	uidU := strings.ReplaceAll(uid, "-", "_")
	for _, tc := range []struct {
		name, path string
		want       Identity
	}{
		{"docker cgroupfs", "/docker/" + id, Identity{"docker", id, ""}},
		{"docker systemd", "/system.slice/docker-" + id + ".scope", Identity{"docker", id, ""}},
		{"docker rootless", "/user.slice/user-1000.slice/user@1000.service/docker.service/docker-" + id + ".scope",
			Identity{"docker", id, ""}},
		{"a service inside a docker container", "/docker/" + id + "/system.slice/cron.service", Identity{"docker", id, ""}},
		{"docker in docker: the outer one", "/docker/" + id + "/docker/" + id2, Identity{"docker", id, ""}},
		{"a cgroup in a container named after another: the container", "/system.slice/docker-" + id + ".scope/docker-" + id2 + ".scope", Identity{"docker", id, ""}},
		{"containerd cgroupfs, burstable", "/kubepods/burstable/pod" + uid + "/" + id, Identity{"containerd", id, uid}},
		{"containerd cgroupfs, guaranteed", "/kubepods/pod" + uid + "/" + id, Identity{"containerd", id, uid}},
		{"containerd systemd, besteffort", "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + uidU +
			".slice/cri-containerd-" + id + ".scope", Identity{"containerd", id, uid}},
		{"containerd systemd, guaranteed", "/kubepods.slice/kubepods-pod" + uidU + ".slice/cri-containerd-" + id + ".scope",
			Identity{"containerd", id, uid}},
		{"static pod", "/kubepods/burstable/pod" + static + "/" + id, Identity{"containerd", id, static}},
		{"static pod, systemd", "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + static +
			".slice/cri-containerd-" + id + ".scope", Identity{"containerd", id, static}},
		{"kubelet under a custom root", "/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/" +
			"kubelet-kubepods-besteffort-pod" + uidU + ".slice/cri-containerd-" + id + ".scope", Identity{"containerd", id, uid}},
		{"cri-o systemd", "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + uidU + ".slice/crio-" + id + ".scope",
			Identity{"cri-o", id, uid}},
		{"cri-o: the container's own sub-cgroup", "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + uidU +
			".slice/crio-" + id + ".scope/container", Identity{"cri-o", id, uid}},
		{"cri-o cgroupfs", "/kubepods/besteffort/pod" + uid + "/crio-" + id, Identity{"cri-o", id, uid}},
		{"cri-o conmon is not the container", "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + uidU +
			".slice/crio-conmon-" + id + ".scope", Identity{"", "", uid}},
		{"podman systemd", "/machine.slice/libpod-" + id + ".scope", Identity{"podman", id, ""}},
		{"podman rootless", "/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" + id + ".scope",
			Identity{"podman", id, ""}},
		{"podman split cgroup", "/machine.slice/libpod-" + id + ".scope/container", Identity{"podman", id, ""}},
		{"podman cgroupfs", "/libpod_parent/libpod-" + id, Identity{"podman", id, ""}},
		{"podman conmon is not the container", "/machine.slice/libpod-conmon-" + id + ".scope", Identity{}},
		{"pod sandbox slice alone", "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + uidU + ".slice",
			Identity{"", "", uid}},
		{"root", "/", Identity{}},
		{"empty", "", Identity{}},
		{"a service", "/system.slice/ssh.service", Identity{}},
		{"a user session", "/user.slice/user-1000.slice/session-3.scope", Identity{}},
		{"hex id under no engine's parent", "/sigguard-test/" + id, Identity{}},
		{"short id", "/docker/" + id[:12], Identity{}},
		{"upper-case hex", "/docker/" + strings.ToUpper(id), Identity{}},
		{"id with a suffix", "/system.slice/docker-" + id + ".scope.bak", Identity{}},
		{"pod UID with mixed separators", "/kubepods.slice/kubepods-pod8e1d2c3b_4a59-4687_9a0b_1c2d3e4f5a6b.slice", Identity{}},
		{"pod UID of dashes in a systemd slice", "/kubepods.slice/kubepods-pod" + uid + ".slice", Identity{}},
	} {
		if got := Parse(tc.path); got != tc.want {
			t.Errorf("%s: Parse(%q) = %+v, want %+v", tc.name, tc.path, got, tc.want)
		}
	}
}

func TestShortID(t *testing.T) {
	if got := ShortID(id); got != id[:12] {
		t.Errorf("ShortID = %q", got)
	}
	if got := ShortID("abc"); got != "abc" {
		t.Errorf("ShortID(abc) = %q", got)
	}
}

const (
	docPath    = "../../docs/containers.md"
	tableBegin = "<!-- made from the rows of internal/container/container.go; go test ./internal/container -update rewrites it -->\n"
	tableEnd   = "<!-- end of the layouts -->\n"
)

// docs/containers.md's table is the layouts' rows.
func TestLayoutsTableInDocs(t *testing.T) {
	data, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	before, rest, ok := strings.Cut(string(data), tableBegin)
	old, after, ok2 := strings.Cut(rest, tableEnd)
	if !ok || !ok2 {
		t.Fatalf("%s has no %q and %q around its table", docPath, tableBegin, tableEnd)
	}
	want := LayoutsMarkdown()
	if old == want {
		return
	}
	if *update {
		if err := os.WriteFile(docPath, []byte(before+tableBegin+want+tableEnd+after), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("docs/containers.md's table is not what the layouts make (go test ./internal/container -update rewrites it):\nhas\n%s\nwant\n%s", old, want)
}

func BenchmarkParse(b *testing.B) {
	path := "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + strings.ReplaceAll(uid, "-", "_") +
		".slice/cri-containerd-" + id + ".scope"
	for b.Loop() {
		Parse(path)
	}
}
