package policywatch_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sigguard/sigguard/internal/policywatch"
)

const debounce = 50 * time.Millisecond

func watch(t *testing.T, path string) *policywatch.Watcher {
	t.Helper()
	w := policywatch.Watch(path, debounce)
	if err := w.Polling(); err != nil {
		t.Fatalf("polled, not watched: %v", err)
	}
	t.Cleanup(func() {
		if err := w.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return w
}

// next waits for the next change.
func next(t *testing.T, w *policywatch.Watcher) policywatch.Change {
	t.Helper()
	select {
	case c := <-w.Changes():
		return c
	case <-time.After(3 * time.Second):
		t.Fatal("no change reported")
	}
	panic("unreachable")
}

// expectContent waits for a change with content want, and then for quiet:
// one change is one report.
func expectContent(t *testing.T, w *policywatch.Watcher, want string) {
	t.Helper()
	c := next(t, w)
	if c.Err != nil || string(c.Data) != want {
		t.Fatalf("change %q, %v; want %q", c.Data, c.Err, want)
	}
	expectQuiet(t, w)
}

func expectQuiet(t *testing.T, w *policywatch.Watcher) {
	t.Helper()
	select {
	case c := <-w.Changes():
		t.Fatalf("unexpected change %q, %v", c.Data, c.Err)
	case <-time.After(5 * debounce):
	}
}

func write(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// A ConfigMap volume: policy.yaml -> ..data/policy.yaml, ..data -> a
// timestamped directory. The kubelet writes a new directory, points
// ..data_tmp at it, renames that over ..data and removes the old one.
func TestConfigMapSwap(t *testing.T) {
	dir := t.TempDir()
	version := func(stamp, text string) string {
		name := "..2026_12_02_" + stamp
		if err := os.Mkdir(filepath.Join(dir, name), 0o755); err != nil {
			t.Fatal(err)
		}
		write(t, filepath.Join(dir, name, "policy.yaml"), text)
		write(t, filepath.Join(dir, name, "other-key"), "unrelated")
		return name
	}
	old := version("10_00_00.1", "v1")
	must(t, os.Symlink(old, filepath.Join(dir, "..data")))
	must(t, os.Symlink("..data/policy.yaml", filepath.Join(dir, "policy.yaml")))
	must(t, os.Symlink("..data/other-key", filepath.Join(dir, "other-key")))
	w := watch(t, filepath.Join(dir, "policy.yaml"))

	for i, text := range []string{"v2", "v3"} {
		name := version("10_00_0"+string(rune('1'+i))+".2", text)
		must(t, os.Symlink(name, filepath.Join(dir, "..data_tmp")))
		must(t, os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")))
		must(t, os.RemoveAll(filepath.Join(dir, old)))
		old = name
		expectContent(t, w, text)
	}
	// An update of another key leaves the policy's content as it was.
	name := version("10_00_09.9", "v3")
	must(t, os.Symlink(name, filepath.Join(dir, "..data_tmp")))
	must(t, os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")))
	must(t, os.RemoveAll(filepath.Join(dir, old)))
	expectQuiet(t, w)
}

// An editor saves to a temporary file and renames it over the policy.
func TestEditorRename(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "policy.yaml")
	write(t, path, "v1")
	w := watch(t, path)
	write(t, path+".swp", "v2")
	must(t, os.Rename(path+".swp", path))
	expectContent(t, w, "v2")
}

// Truncate and write in place, in pieces: one report, of the whole.
func TestInPlaceWrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "policy.yaml")
	write(t, path, "v1")
	w := watch(t, path)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	must(t, err)
	for _, piece := range []string{"v", "2", "-", "long"} {
		_, err := f.WriteString(piece)
		must(t, err)
		time.Sleep(debounce / 5)
	}
	must(t, f.Close())
	expectContent(t, w, "v2-long")
	// The same content written again is no change.
	write(t, path, "v2-long")
	expectQuiet(t, w)
}

// A removed file is reported once; its return is a change.
func TestDeleteThenCreate(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "policy.yaml")
	write(t, path, "v1")
	w := watch(t, path)
	must(t, os.Remove(path))
	if c := next(t, w); c.Err == nil || !os.IsNotExist(c.Err) {
		t.Fatalf("after removal: %q, %v; want a not-exist error", c.Data, c.Err)
	}
	expectQuiet(t, w)
	write(t, path, "v2")
	expectContent(t, w, "v2")
	// Removed and made again with the content in force: nothing to
	// reload once it is back.
	must(t, os.Remove(path))
	if c := next(t, w); c.Err == nil {
		t.Fatalf("after the second removal: %q", c.Data)
	}
	write(t, path, "v2")
	expectQuiet(t, w)
}

// A directory on the path that is a symlink, swapped for another: seen
// by its parent's watch, long before the rescan.
func TestSymlinkedDirectorySwap(t *testing.T) {
	dir := t.TempDir()
	for _, v := range []string{"v1", "v2"} {
		must(t, os.Mkdir(filepath.Join(dir, v), 0o755))
		write(t, filepath.Join(dir, v, "policy.yaml"), v)
	}
	must(t, os.Symlink("v1", filepath.Join(dir, "current")))
	w := watch(t, filepath.Join(dir, "current", "policy.yaml"))
	must(t, os.Symlink("v2", filepath.Join(dir, "current.tmp")))
	must(t, os.Rename(filepath.Join(dir, "current.tmp"), filepath.Join(dir, "current")))
	expectContent(t, w, "v2")
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
