package inotify_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sigguard/sigguard/internal/inotify"
	"github.com/sigguard/sigguard/internal/testenv"
)

// events reads w until it is closed.
func events(w *inotify.Watcher) <-chan inotify.Event {
	out := make(chan inotify.Event, 64)
	go func() {
		defer close(out)
		for {
			evs, err := w.Read()
			if err != nil {
				return
			}
			for _, ev := range evs {
				out <- ev
			}
		}
	}()
	return out
}

// waitFor reads until an event has all of mask's bits for name.
func waitFor(t *testing.T, evs <-chan inotify.Event, name string, mask uint32) {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case ev := <-evs:
			if ev.Name == name && ev.Mask&mask == mask {
				return
			}
		case <-timeout:
			t.Fatalf("no event %#x for %s", mask, name)
		}
	}
}

func TestDirectoryEventsAndClose(t *testing.T) {
	dir := t.TempDir()
	w, err := inotify.New()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Add(dir, inotify.Entries); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	evs := events(w)
	waitFor(t, evs, "f", unix.IN_CLOSE_WRITE)
	// Close wakes the reader parked in Read.
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	for range evs {
	}
	if _, err := w.Read(); !errors.Is(err, os.ErrClosed) {
		t.Errorf("read after close: %v, want ErrClosed", err)
	}
}

// mkdir and rmdir in cgroupfs go through the VFS, which reports them to
// a watch on the parent like anywhere else.
func TestCgroupfsReportsMkdirAndRmdir(t *testing.T) {
	testenv.RequireRoot(t)
	cg := testenv.NewCgroup(t)
	w, err := inotify.New()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := w.Add(cg.Path, inotify.Entries); err != nil {
		t.Fatal(err)
	}
	evs := events(w)
	child := filepath.Join(cg.Path, "c")
	if err := os.Mkdir(child, 0o755); err != nil {
		t.Fatal(err)
	}
	waitFor(t, evs, "c", unix.IN_CREATE|unix.IN_ISDIR)
	if err := os.Remove(child); err != nil {
		t.Fatal(err)
	}
	waitFor(t, evs, "c", unix.IN_DELETE|unix.IN_ISDIR)
}
