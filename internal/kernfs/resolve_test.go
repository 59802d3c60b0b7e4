package kernfs_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sigguard/sigguard/internal/kernfs"
	"github.com/sigguard/sigguard/internal/testenv"
)

// A cgroup resolves to the same id and level however it is spelled: as a
// file system path, as /proc/PID/cgroup prints it, or relative.
func TestResolveCgroupSpellings(t *testing.T) {
	testenv.RequireRoot(t)
	cg := testenv.NewCgroup(t)
	child := cg.Child(t)
	mount, err := kernfs.Cgroup2Mount()
	if err != nil {
		t.Fatal(err)
	}
	rel := strings.TrimPrefix(child.Path, mount+"/")
	want, err := kernfs.ResolveCgroup(child.Path)
	if err != nil {
		t.Fatal(err)
	}
	if want.Level != 2 || want.ID == 0 {
		t.Errorf("%s: level %d id %d, want level 2", child.Path, want.Level, want.ID)
	}
	for _, spelling := range []string{"/" + rel, rel, child.Path + "/", filepath.Join(child.Path, "..", filepath.Base(child.Path))} {
		got, err := kernfs.ResolveCgroup(spelling)
		if err != nil || got.ID != want.ID || got.Level != want.Level {
			t.Errorf("%q resolves to %+v, %v; want %+v", spelling, got, err, want)
		}
	}
	if _, err := kernfs.ResolveCgroup("/../etc"); err == nil {
		t.Error("a path outside the hierarchy resolved")
	}
}

// A path that may yet become a cgroup resolves to ErrCgroupMissing with its
// level; one that never can (below a file, outside the mount) to another
// error.
func TestResolveMissingCgroup(t *testing.T) {
	testenv.RequireRoot(t)
	cg := testenv.NewCgroup(t)
	for level, path := range map[int]string{2: cg.Path + "/gone", 3: cg.Path + "/gone/deeper"} {
		got, err := kernfs.ResolveCgroup(path)
		if !errors.Is(err, kernfs.ErrCgroupMissing) {
			t.Errorf("%s: %v, want ErrCgroupMissing", path, err)
		}
		if want := (kernfs.Cgroup{Path: path, Level: level}); got != want {
			t.Errorf("%s resolves to %+v, want %+v", path, got, want)
		}
	}
	for _, path := range []string{cg.Path + "/cgroup.procs/x", "../etc/x"} {
		if _, err := kernfs.ResolveCgroup(path); err == nil || errors.Is(err, kernfs.ErrCgroupMissing) {
			t.Errorf("%s: %v, want an error other than ErrCgroupMissing", path, err)
		}
	}
	// The nearest existing ancestor is where a watch sees the path appear.
	mount, err := kernfs.Cgroup2Mount()
	if err != nil {
		t.Fatal(err)
	}
	if got := kernfs.ExistingAncestor(mount, cg.Path+"/gone/deeper"); got != cg.Path {
		t.Errorf("ExistingAncestor = %s, want %s", got, cg.Path)
	}
}
