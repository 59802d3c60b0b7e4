package kernfs_test

import (
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
