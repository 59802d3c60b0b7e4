package policywatch

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sigguard/sigguard/internal/inotify"
)

// Without inotify (every instance in use), the file is read every Poll:
// a change is still reported, within about a Poll.
func TestPollsWithoutInotify(t *testing.T) {
	refused := errors.New("too many open files")
	newInotify = func() (*inotify.Watcher, error) { return nil, refused }
	t.Cleanup(func() { newInotify = inotify.New })

	path := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(path, []byte("v1"), 0o644); err != nil {
		t.Fatal(err)
	}
	w := Watch(path, 10*time.Millisecond)
	defer w.Close()
	if !errors.Is(w.Polling(), refused) {
		t.Fatalf("Polling() = %v, want the inotify failure", w.Polling())
	}
	if err := os.WriteFile(path, []byte("v2"), 0o644); err != nil {
		t.Fatal(err)
	}
	select {
	case c := <-w.Changes():
		if string(c.Data) != "v2" {
			t.Fatalf("change %q, %v; want v2", c.Data, c.Err)
		}
	case <-time.After(3 * Poll):
		t.Fatalf("no change reported within %v of polling", 3*Poll)
	}
}
