package kernfs_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sigguard/sigguard/internal/kernfs"
	"github.com/sigguard/sigguard/internal/testenv"
)

// A cgroup's id leads back to its path, by file handle and by the walk
// used where handles cannot be opened, whatever its name; a removed
// cgroup's id leads nowhere.
func TestCgroupPathByID(t *testing.T) {
	testenv.RequireRoot(t)
	cg := testenv.NewCgroup(t)
	child := cg.Child(t)
	mount, err := kernfs.Cgroup2Mount()
	if err != nil {
		t.Fatal(err)
	}
	gone, err := kernfs.NewCgroup(cg.Path, "gone")
	if err != nil {
		t.Fatal(err)
	}
	goneCg, err := kernfs.ResolveCgroup(gone.Path)
	if err != nil {
		t.Fatal(err)
	}
	if err := gone.Destroy(); err != nil {
		t.Fatal(err)
	}
	// A live cgroup whose name ends as the kernel marks a removed file's
	// path must still be named, not taken for gone.
	decoy := filepath.Join(cg.Path, "decoy (deleted)")
	if err := os.Mkdir(decoy, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(decoy) })
	for _, way := range []string{"handle", "walk"} {
		paths, err := kernfs.NewCgroupPaths()
		if err != nil {
			t.Fatal(err)
		}
		if way == "walk" {
			paths.SearchOnly()
		}
		for _, dir := range []string{mount, cg.Path, child.Path, decoy} {
			c, err := kernfs.ResolveCgroup(dir)
			if err != nil {
				t.Fatal(err)
			}
			want := "/" + strings.TrimPrefix(strings.TrimPrefix(dir, mount), "/")
			if got, err := paths.Path(c.ID); got != want || err != nil {
				t.Errorf("%s: cgroup %d is %q, %v; want %q", way, c.ID, got, err, want)
			}
		}
		if got, err := paths.Path(goneCg.ID); !errors.Is(err, kernfs.ErrCgroupGone) {
			t.Errorf("%s: removed cgroup %d is %q, %v; want ErrCgroupGone", way, goneCg.ID, got, err)
		}
	}
}

// The id of the test's own cgroup, from /proc/self/cgroup's path, is the
// one the kernel reports for it.
func TestCgroupPathOfOwnCgroup(t *testing.T) {
	testenv.RequireRoot(t)
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	var own string
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "0::"); ok {
			own = rest
		}
	}
	if own == "" {
		t.Skip("no cgroup v2 line in /proc/self/cgroup")
	}
	c, err := kernfs.ResolveCgroup(own)
	if err != nil {
		t.Fatal(err)
	}
	paths, err := kernfs.NewCgroupPaths()
	if err != nil {
		t.Fatal(err)
	}
	if got, err := paths.Path(c.ID); got != own || err != nil {
		t.Errorf("own cgroup %d is %q, %v; want %q", c.ID, got, err, own)
	}
}

// What one cache miss costs the event reader, each way.
func BenchmarkCgroupPath(b *testing.B) {
	testenv.RequireRoot(b)
	cg := testenv.NewCgroup(b)
	c, err := kernfs.ResolveCgroup(cg.Path)
	if err != nil {
		b.Fatal(err)
	}
	for _, way := range []string{"handle", "walk"} {
		b.Run(way, func(b *testing.B) {
			paths, err := kernfs.NewCgroupPaths()
			if err != nil {
				b.Fatal(err)
			}
			if way == "walk" {
				paths.SearchOnly()
			}
			for b.Loop() {
				if _, err := paths.Path(c.ID); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
