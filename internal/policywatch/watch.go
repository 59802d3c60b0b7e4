// Package policywatch tells when a file's content changes, however it is
// changed: written in place, replaced by a rename (an editor's save), or
// swapped under a symlink (a Kubernetes ConfigMap volume renames a new
// ..data symlink over the old one, then removes the old directory).
//
// It watches the directory holding the file, and the directory the file
// resolves to when that is elsewhere, waits for a burst of changes to end,
// then reads the file and reports it only if its content differs from the
// content last reported (or read at the start).
package policywatch

import (
	"bytes"
	"crypto/sha256"
	"os"
	"path/filepath"
	"time"

	"github.com/sigguard/sigguard/internal/inotify"
)

// Rescan is how often the file is read even when no watch fired, for
// what a watch cannot see (a directory replaced wholesale, a full queue).
const Rescan = 10 * time.Second

// Change is what Watcher reports.
type Change struct {
	// Data is the file's new content, read after the changes settled.
	Data []byte
	// Err is set instead when the file cannot be read (removed, or the
	// symlink dangles). It is reported once, until the file is back.
	Err error
}

// Watcher watches one file.
type Watcher struct {
	path     string
	debounce time.Duration
	in       *inotify.Watcher
	watches  map[string]int // watched directory: watch descriptor
	last     [32]byte       // hash of the content last reported
	failing  bool           // the last read failed, and that was reported
	changes  chan Change
	stop     chan struct{}
	done     chan struct{}
}

// Watch starts watching path. Changes that follow each other within
// debounce are read as one.
func Watch(path string, debounce time.Duration) (*Watcher, error) {
	in, err := inotify.New()
	if err != nil {
		return nil, err
	}
	w := &Watcher{
		path: path, debounce: debounce, in: in, watches: map[string]int{},
		changes: make(chan Change), stop: make(chan struct{}), done: make(chan struct{}),
	}
	if data, err := readFile(path); err == nil {
		w.last = sha256.Sum256(data)
	}
	if err := w.rewatch(); err != nil {
		in.Close()
		return nil, err
	}
	events := make(chan struct{}, 1)
	go w.read(events)
	go w.loop(events)
	return w, nil
}

// Changes delivers the file's changes until Close.
func (w *Watcher) Changes() <-chan Change { return w.changes }

// Close stops watching.
func (w *Watcher) Close() error {
	close(w.stop)
	err := w.in.Close()
	<-w.done
	return err
}

// read turns batches of inotify events into wake-ups: which names changed
// does not matter, the file is read again either way.
func (w *Watcher) read(events chan<- struct{}) {
	for {
		if _, err := w.in.Read(); err != nil {
			return // closed
		}
		select {
		case events <- struct{}{}:
		default: // a wake-up is pending already
		}
	}
}

func (w *Watcher) loop(events <-chan struct{}) {
	defer close(w.done)
	settle := time.NewTimer(time.Hour)
	settle.Stop()
	rescan := time.NewTicker(Rescan)
	defer rescan.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-events:
			settle.Reset(w.debounce)
			continue
		case <-settle.C:
		case <-rescan.C:
		}
		// Where the file resolves may have moved (a new ..data target):
		// follow it before reading, so no later change goes unseen.
		_ = w.rewatch()
		if c, ok := w.check(); ok {
			select {
			case w.changes <- c:
			case <-w.stop:
				return
			}
		}
	}
}

// check reads the file and says whether that is news.
func (w *Watcher) check() (Change, bool) {
	data, err := readFile(w.path)
	if err != nil {
		if w.failing {
			return Change{}, false
		}
		w.failing = true
		return Change{Err: err}, true
	}
	w.failing = false
	sum := sha256.Sum256(data)
	if bytes.Equal(sum[:], w.last[:]) {
		return Change{}, false
	}
	w.last = sum
	return Change{Data: data}, true
}

// rewatch watches the directory holding the path and, when the path is a
// symlink, the directory of the file it resolves to; it drops watches of
// directories that are neither any more.
func (w *Watcher) rewatch() error {
	want := map[string]bool{filepath.Dir(w.path): true}
	if real, err := filepath.EvalSymlinks(w.path); err == nil {
		want[filepath.Dir(real)] = true
	}
	for dir, wd := range w.watches {
		if !want[dir] {
			_ = w.in.Remove(wd)
			delete(w.watches, dir)
		}
	}
	var first error
	for dir := range want {
		// Added again every time: a directory removed and made again
		// needs a new watch, and adding a watched one is harmless.
		wd, err := w.in.Add(dir, inotify.Entries|inotify.Self)
		if err != nil {
			delete(w.watches, dir)
			if first == nil {
				first = err
			}
			continue
		}
		w.watches[dir] = wd
	}
	return first
}

// readFile reads through any symlinks, as loading the policy does.
func readFile(path string) ([]byte, error) { return os.ReadFile(path) }
