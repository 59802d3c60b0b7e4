package kernfs_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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

// Searching, the hierarchy is walked at most once a second: a cgroup made
// since the last walk is not yet named (and not taken for gone), then is;
// one removed before a walk is gone without another.
func TestCgroupPathByWalkIsRateLimited(t *testing.T) {
	testenv.RequireRoot(t)
	cg := testenv.NewCgroup(t)
	paths, err := kernfs.NewCgroupPaths()
	if err != nil {
		t.Fatal(err)
	}
	paths.SearchOnly()
	first, err := kernfs.ResolveCgroup(cg.Path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := paths.Path(first.ID); err != nil {
		t.Fatal(err)
	}
	later := cg.Child(t)
	c, err := kernfs.ResolveCgroup(later.Path)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := paths.Path(c.ID); !errors.Is(err, kernfs.ErrCgroupNotYet) {
		t.Fatalf("a cgroup made just after a walk: %q, %v; want ErrCgroupNotYet", got, err)
	}
	time.Sleep(1100 * time.Millisecond)
	mount, err := kernfs.Cgroup2Mount()
	if err != nil {
		t.Fatal(err)
	}
	want := strings.TrimPrefix(later.Path, mount)
	if got, err := paths.Path(c.ID); got != want || err != nil {
		t.Fatalf("a second later: %q, %v; want %q", got, err, want)
	}
	// Removed before the next walk: gone, and known to be.
	if err := os.Mkdir(filepath.Join(cg.Path, "brief"), 0o755); err != nil {
		t.Fatal(err)
	}
	brief, err := kernfs.ResolveCgroup(filepath.Join(cg.Path, "brief"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(cg.Path, "brief")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond)
	if _, err := paths.Path(brief.ID); !errors.Is(err, kernfs.ErrCgroupGone) {
		t.Fatalf("a cgroup removed before the walk: %v; want ErrCgroupGone", err)
	}
}
