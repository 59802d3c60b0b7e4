package kernfs

import (
	"errors"
	"strings"
	"testing"
)

func TestCgroup2MountFrom(t *testing.T) {
	hybrid := `31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`
	unified := `25 20 0:22 / /sys/fs/cgroup rw,nosuid shared:9 - cgroup2 cgroup2 rw,nsdelegate
`
	subtree := `25 20 0:22 /system.slice /mnt/cg rw - cgroup2 cgroup2 rw
26 20 0:22 / /mnt/with\040space rw - cgroup2 cgroup2 rw
`
	// In a cgroup namespace the whole hierarchy's root reads "/..", the
	// namespace's own root "/": only the directory itself tells them apart.
	namespaced := `41 31 0:38 /.. /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw
153 152 0:38 / /sys/fs/cgroup/unified rw - cgroup2 none rw
`
	roots := map[string]bool{"/sys/fs/cgroup/unified": true, "/sys/fs/cgroup": true, "/mnt/with space": true}
	isRoot := func(dir string) bool { return roots[dir] }
	for in, want := range map[string]string{hybrid: "/sys/fs/cgroup/unified", unified: "/sys/fs/cgroup", subtree: "/mnt/with space", namespaced: "/sys/fs/cgroup/unified"} {
		got, err := cgroup2MountFrom(strings.NewReader(in), isRoot)
		if err != nil || got != want {
			t.Errorf("got %q, %v; want %q", got, err, want)
		}
	}
	if _, err := cgroup2MountFrom(strings.NewReader("32 31 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n"), isRoot); !errors.Is(err, ErrNoCgroup2) {
		t.Errorf("v1 only: %v, want ErrNoCgroup2", err)
	}
	// Mounted, but nowhere whole: a subtree, or a namespace's own part
	// covering the whole hierarchy's mount.
	var pe *PartialCgroup2Error
	if _, err := cgroup2MountFrom(strings.NewReader(namespaced), func(string) bool { return false }); !errors.As(err, &pe) || len(pe.MountPoints) != 1 {
		t.Errorf("no whole hierarchy: %v, want a PartialCgroup2Error naming the mount point once", err)
	}
}

func TestUnescapeMountPath(t *testing.T) {
	for in, want := range map[string]string{`a\040b`: "a b", `a\134b`: `a\b`, `plain`: "plain", `trail\04`: `trail\04`, `x\9zz`: `x\9zz`} {
		if got := unescapeMountPath(in); got != want {
			t.Errorf("unescape(%q) = %q, want %q", in, got, want)
		}
	}
}
