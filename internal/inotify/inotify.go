// Package inotify is the little of inotify(7) sigguard needs: directory
// watches read as batches of events, on Go's poller so Close unblocks a
// Read.
package inotify

import (
	"errors"
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// What a directory watch reports about the names in it, and about itself.
const (
	// Entries: a name in the directory appeared, went, was renamed, or
	// the file behind it was written or had its metadata changed.
	Entries = unix.IN_CREATE | unix.IN_DELETE | unix.IN_MOVED_FROM | unix.IN_MOVED_TO |
		unix.IN_CLOSE_WRITE | unix.IN_MODIFY | unix.IN_ATTRIB
	// Self: the directory itself was removed or renamed (its watch ends).
	Self = unix.IN_DELETE_SELF | unix.IN_MOVE_SELF
)

// Overflow is set in an event that stands for events the kernel dropped
// because the queue was full: whoever reads must look at everything again.
const Overflow = unix.IN_Q_OVERFLOW

// Event is one inotify record.
type Event struct {
	Watch int    // the watch descriptor Add returned
	Mask  uint32 // IN_* bits
	Name  string // the entry in a watched directory, "" for the directory
}

// Watcher is an inotify instance.
type Watcher struct {
	f   *os.File
	buf [64 * (unix.SizeofInotifyEvent + unix.NAME_MAX + 1)]byte
}

// New opens an inotify instance.
func New() (*Watcher, error) {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("inotify: %w", err)
	}
	// A non-blocking descriptor goes onto the runtime's poller: Read
	// parks the goroutine, and Close wakes it.
	return &Watcher{f: os.NewFile(uintptr(fd), "inotify")}, nil
}

// Add watches path for mask and returns the watch descriptor; adding a
// path already watched returns its descriptor again.
func (w *Watcher) Add(path string, mask uint32) (int, error) {
	var wd int
	err := w.control(func(fd int) (err error) {
		wd, err = unix.InotifyAddWatch(fd, path, mask)
		return err
	})
	if err != nil {
		return -1, fmt.Errorf("watch %s: %w", path, err)
	}
	return wd, nil
}

// Remove ends a watch. A watch the kernel already ended (its directory
// went) is not an error.
func (w *Watcher) Remove(wd int) error {
	err := w.control(func(fd int) error {
		_, err := unix.InotifyRmWatch(fd, uint32(wd))
		return err
	})
	if errors.Is(err, unix.EINVAL) {
		return nil
	}
	return err
}

func (w *Watcher) control(f func(fd int) error) error {
	rc, err := w.f.SyscallConn()
	if err != nil {
		return err
	}
	var opErr error
	if err := rc.Control(func(fd uintptr) { opErr = f(int(fd)) }); err != nil {
		return err
	}
	return opErr
}

// Read waits for events and returns those queued. After Close it returns
// os.ErrClosed.
func (w *Watcher) Read() ([]Event, error) {
	n, err := w.f.Read(w.buf[:])
	if err != nil {
		return nil, err
	}
	return parse(w.buf[:n]), nil
}

// parse splits the kernel's records: a struct inotify_event, then the
// name, NUL-padded to len bytes.
func parse(b []byte) []Event {
	var out []Event
	for len(b) >= unix.SizeofInotifyEvent {
		raw := (*unix.InotifyEvent)(unsafe.Pointer(&b[0]))
		end := unix.SizeofInotifyEvent + int(raw.Len)
		if end > len(b) {
			break
		}
		name := b[unix.SizeofInotifyEvent:end]
		for i, c := range name {
			if c == 0 {
				name = name[:i]
				break
			}
		}
		out = append(out, Event{Watch: int(raw.Wd), Mask: raw.Mask, Name: string(name)})
		b = b[end:]
	}
	return out
}

// Close ends every watch and wakes a Read in progress.
func (w *Watcher) Close() error { return w.f.Close() }
