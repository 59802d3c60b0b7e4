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
	for in, want := range map[string]string{hybrid: "/sys/fs/cgroup/unified", unified: "/sys/fs/cgroup", subtree: "/mnt/with space"} {
		got, err := cgroup2MountFrom(strings.NewReader(in))
		if err != nil || got != want {
			t.Errorf("got %q, %v; want %q", got, err, want)
		}
	}
	if _, err := cgroup2MountFrom(strings.NewReader("32 31 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n")); !errors.Is(err, ErrNoCgroup2) {
		t.Errorf("v1 only: %v, want ErrNoCgroup2", err)
	}
}

func TestUnescapeMountPath(t *testing.T) {
	for in, want := range map[string]string{`a\040b`: "a b", `a\134b`: `a\b`, `plain`: "plain", `trail\04`: `trail\04`, `x\9zz`: `x\9zz`} {
		if got := unescapeMountPath(in); got != want {
			t.Errorf("unescape(%q) = %q, want %q", in, got, want)
		}
	}
}
