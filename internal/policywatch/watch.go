// Package policywatch tells when a file's content changes, however it is
// changed: written in place, replaced by a rename (an editor's save), or
// swapped under a symlink (a Kubernetes ConfigMap volume renames a new
// ..data symlink over the old one, then removes the old directory).
//
// It watches the directory holding the file, the directory holding each
// symlink on its path, and the directory the file resolves to, waits for
// a burst of changes to end, then reads the file and reports it only if
// its content differs from the content last reported (or read at the
// start). Where inotify cannot be had (no instance left, a directory that
// cannot be watched), it reads the file every Poll instead.
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

// Poll is how often the file is read when inotify cannot watch it.
const Poll = time.Second

// newInotify is inotify.New, or a failure in a test.
var newInotify = inotify.New

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
	in       *inotify.Watcher // nil when polling
	polling  error            // why the file is polled, nil when watched
	watches  map[string]int   // watched directory: watch descriptor
	last     [32]byte         // hash of the content last reported
	failing  bool             // the last read failed, and that was reported
	changes  chan Change
	stop     chan struct{}
	done     chan struct{}
}

// Watch starts watching path: its content now is what later changes are
// compared with. Changes that follow each other within debounce are read
// as one. It always watches; Polling says when only by reading the file
// every Poll.
func Watch(path string, debounce time.Duration) *Watcher {
	w := &Watcher{
		path: path, debounce: debounce, watches: map[string]int{},
		changes: make(chan Change), stop: make(chan struct{}), done: make(chan struct{}),
	}
	if data, err := readFile(path); err == nil {
		w.last = sha256.Sum256(data)
	}
	events := make(chan struct{}, 1)
	if w.in, w.polling = newInotify(); w.polling == nil {
		if w.polling = w.rewatch(); w.polling != nil {
			w.in.Close()
			w.in = nil
		}
	}
	if w.in != nil {
		go w.read(w.in, events)
	}
	go w.loop(events)
	return w
}

// Polling is why the file is read every Poll rather than watched, or nil.
func (w *Watcher) Polling() error { return w.polling }

// Changes delivers the file's changes until Close.
func (w *Watcher) Changes() <-chan Change { return w.changes }

// Close stops watching.
func (w *Watcher) Close() error {
	close(w.stop)
	var err error
	if w.in != nil {
		err = w.in.Close()
	}
	<-w.done
	return err
}

// read turns batches of inotify events into wake-ups: which names changed
// does not matter, the file is read again either way.
func (w *Watcher) read(in *inotify.Watcher, events chan<- struct{}) {
	for {
		if _, err := in.Read(); err != nil {
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
	every := Rescan
	if w.in == nil {
		every = Poll
	}
	rescan := time.NewTicker(every)
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
		if w.in != nil {
			_ = w.rewatch()
		}
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

// rewatch watches the directory holding the path, the directory holding
// each symlink on the path (a swapped symlinked directory is a rename in
// its parent), and the directory of the file the path resolves to; it
// drops watches of directories that are none of these any more.
func (w *Watcher) rewatch() error {
	want := map[string]bool{filepath.Dir(w.path): true}
	if real, err := filepath.EvalSymlinks(w.path); err == nil {
		want[filepath.Dir(real)] = true
	}
	for _, link := range symlinksOn(w.path) {
		want[filepath.Dir(link)] = true
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

// symlinksOn lists the directories on path, as written, that are
// symlinks.
func symlinksOn(path string) []string {
	var links []string
	for dir := filepath.Dir(filepath.Clean(path)); ; dir = filepath.Dir(dir) {
		if fi, err := os.Lstat(dir); err == nil && fi.Mode()&os.ModeSymlink != 0 {
			links = append(links, dir)
		}
		if parent := filepath.Dir(dir); parent == dir {
			return links
		}
	}
}
