package guard

import (
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/sigguard/sigguard/internal/inotify"
	"github.com/sigguard/sigguard/internal/kernfs"
)

// The cgroups a policy names are followed while the guard runs: mkdir and
// rmdir in cgroupfs go through the VFS, so a watch on a cgroup's parent
// hears of the directory going and coming, and the kernel's table is
// rewritten to the id the path has now. A rescan every cgroupRescan stands
// in for what a watch cannot see (a full event queue, no inotify at all).
const (
	cgroupRescan = 10 * time.Second
	// removalGrace is how long a removed cgroup may take to come back
	// before its removal is announced; a restart within it is announced
	// as one recreation.
	removalGrace = 2 * time.Second
)

// watchMask: names made, removed or renamed in a cgroup's parent, and the
// parent itself going. Not writes: cgroupfs files change all the time.
const watchMask = unix.IN_CREATE | unix.IN_DELETE | unix.IN_MOVED_FROM | unix.IN_MOVED_TO |
	inotify.Self | unix.IN_ONLYDIR

type cgroupTracker struct {
	g       *Guard
	mount   string
	w       *inotify.Watcher // nil: rescans alone
	watches map[string]int   // watched directory: watch descriptor
	warned  bool             // a watch could not be added, and it was said
	gone    map[string]uint64
	goneAt  map[string]time.Time
	events  chan []inotify.Event
	kick    chan struct{} // the policy changed
	stop    chan struct{}
	done    chan struct{}
}

// followCgroups starts following the current policy's cgroups (and those
// of every policy reloaded later). Callers own g exclusively.
func (g *Guard) followCgroups() {
	mount, err := kernfs.Cgroup2Mount()
	if err != nil {
		// Then no policy can name a cgroup (it would not have loaded),
		// and no event can name one either.
		g.notify(Notice{Kind: NoticeCgroupsUnnamed, Err: err})
		return
	}
	t := &cgroupTracker{
		g: g, mount: mount, watches: map[string]int{},
		gone: map[string]uint64{}, goneAt: map[string]time.Time{},
		events: make(chan []inotify.Event, 1), kick: make(chan struct{}, 1),
		stop: make(chan struct{}), done: make(chan struct{}),
	}
	if t.w, err = inotify.New(); err != nil {
		g.notify(Notice{Kind: NoticeCgroupTracking, Err: fmt.Errorf("%w; they are looked at every %v instead", err, cgroupRescan)})
	} else {
		go t.read()
	}
	g.cgroups = t
	go t.loop()
}

// stopFollowing ends the tracker and waits for it.
func (t *cgroupTracker) stopFollowing() {
	if t == nil {
		return
	}
	// The loop first, so that no pass adds a watch to a closed watcher
	// (and warns of it); closing the watcher then ends the reader.
	close(t.stop)
	<-t.done
	if t.w != nil {
		t.w.Close()
	}
}

// policyChanged makes the tracker look at a newly installed policy.
func (t *cgroupTracker) policyChanged() {
	if t == nil {
		return
	}
	select {
	case t.kick <- struct{}{}:
	default:
	}
}

func (t *cgroupTracker) read() {
	for {
		evs, err := t.w.Read()
		if err != nil {
			return // closed
		}
		select {
		case t.events <- evs:
		case <-t.stop:
			return
		}
	}
}

func (t *cgroupTracker) loop() {
	defer close(t.done)
	rescan := time.NewTicker(cgroupRescan)
	defer rescan.Stop()
	grace := time.NewTimer(time.Hour)
	defer grace.Stop()
	t.pass(time.Now())
	for {
		if next, ok := t.nextAnnouncement(); ok {
			grace.Reset(time.Until(next))
		}
		select {
		case <-t.stop:
			return
		case evs := <-t.events:
			seen := time.Now()
			t.forgetEnded(evs)
			t.pass(seen)
		case <-t.kick:
			// Removals pending announcement stay: a path the new policy
			// still names and that comes back is a recreation, and
			// announceRemovals drops those it no longer names.
			t.pass(time.Now())
		case <-rescan.C:
			t.pass(time.Now())
		case <-grace.C:
			t.announceRemovals()
		}
	}
}

// forgetEnded drops the watches the kernel ended (their directory went).
func (t *cgroupTracker) forgetEnded(evs []inotify.Event) {
	for _, ev := range evs {
		if ev.Mask&unix.IN_IGNORED == 0 {
			continue
		}
		for dir, wd := range t.watches {
			if wd == ev.Watch {
				delete(t.watches, dir)
			}
		}
	}
}

// pass resolves every cgroup the policy names again, rewrites the
// kernel's table for those whose id changed, says so, and moves the
// watches to where the paths' parents are now. seen is when the change
// that led here was read.
//
// A watch added on the way is only listening from then on: a directory
// made between the look and the watch (mkdir -p of a path whose parent
// was missing) would go unheard, so after adding one the paths are looked
// at again, until no watch moves (a path of n missing levels: n rounds),
// at most passRounds times: directories made and removed without end
// cannot hold the guard's lock; the next event or rescan looks again.
func (t *cgroupTracker) pass(seen time.Time) {
	g := t.g
	g.mu.Lock()
	defer g.mu.Unlock()
	for round := 0; round < passRounds && t.resolve(seen); round++ {
	}
}

// passRounds bounds the rounds of one pass.
const passRounds = 8

// resolve is one round of pass; it says whether a watch was added.
// Callers hold g.mu.
func (t *cgroupTracker) resolve(seen time.Time) (watchAdded bool) {
	g := t.g
	c := g.current
	if c == nil || g.closed.Load() || c.cgroupID == nil {
		return false
	}
	paths := c.cgroupPaths()
	before := c.cgroupID
	ids := maps.Clone(before)
	var changed []string
	for _, p := range paths {
		cg, err := resolveCgroupIn(t.mount, p)
		if err != nil {
			cg.ID = 0 // missing, or no longer a directory: nothing to match
		}
		if cg.ID != before[p] {
			ids[p] = cg.ID
			changed = append(changed, p)
		}
	}
	if len(changed) > 0 {
		if err := g.retarget(c, ids); err != nil {
			g.notify(Notice{Kind: NoticeCgroupTracking, Err: err})
		} else {
			latency := time.Since(seen)
			for _, p := range changed {
				t.changed(c, p, before[p], ids[p], latency)
			}
		}
	}
	return t.rewatch(paths)
}

// changed announces that path's id went from old to id (0: none).
func (t *cgroupTracker) changed(c *compiled, path string, old, id uint64, latency time.Duration) {
	if id == 0 {
		t.gone[path], t.goneAt[path] = old, time.Now()
		return
	}
	n := Notice{Kind: NoticeCgroupCreated, Cgroup: path, Rules: c.rulesNaming(path), OldID: old, NewID: id, Latency: latency}
	if gone, ok := t.gone[path]; ok {
		n.OldID = gone
		delete(t.gone, path)
		delete(t.goneAt, path)
	}
	if n.OldID != 0 {
		n.Kind = NoticeCgroupRecreated
	}
	t.g.notify(n)
}

// nextAnnouncement is when the earliest removal not yet announced is due.
func (t *cgroupTracker) nextAnnouncement() (time.Time, bool) {
	var next time.Time
	for _, at := range t.goneAt {
		if next.IsZero() || at.Before(next) {
			next = at
		}
	}
	return next.Add(removalGrace), !next.IsZero()
}

// announceRemovals says which cgroups went and stayed away removalGrace.
func (t *cgroupTracker) announceRemovals() {
	g := t.g
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.current == nil || g.closed.Load() {
		return
	}
	for path, at := range t.goneAt {
		if time.Since(at) < removalGrace {
			continue
		}
		if slices.Contains(g.current.cgroupPaths(), path) {
			g.notify(Notice{Kind: NoticeCgroupRemoved, Cgroup: path, Rules: g.current.rulesNaming(path), OldID: t.gone[path]})
		}
		delete(t.gone, path)
		delete(t.goneAt, path)
	}
}

// rewatch watches the nearest existing ancestor of each path's parent,
// where the path (or the next missing directory above it) will appear,
// and every directory above it up to the mount: a cgroup directory's
// removal is not reported to a watch on the directory itself (kernfs
// keeps its inode; IN_DELETE_SELF and IN_IGNORED come late or never),
// only to the watch on its parent, so each level is watched from the one
// above. It says whether it watches a directory it did not watch before.
func (t *cgroupTracker) rewatch(paths []string) (added bool) {
	if t.w == nil {
		return false
	}
	want := map[string]bool{}
	for _, p := range paths {
		for dir := kernfs.ExistingAncestor(t.mount, filepath.Dir(p)); !want[dir]; dir = filepath.Dir(dir) {
			want[dir] = true
			if dir == t.mount || !strings.HasPrefix(dir, t.mount+"/") {
				break
			}
		}
	}
	for dir, wd := range t.watches {
		if !want[dir] {
			_ = t.w.Remove(wd)
			delete(t.watches, dir)
		}
	}
	for dir := range want {
		// Added again every time, even when watched: a directory
		// removed and made again under the same name needs a new watch,
		// and its old one's end may have been lost with a full queue.
		// Adding a watched directory returns its watch as it is.
		wd, err := t.w.Add(dir, watchMask)
		if err != nil {
			delete(t.watches, dir)
			if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) {
				// Removed since it was found: nothing watches the
				// path now, so look again for where it is.
				added = true
				continue
			}
			if !t.warned {
				t.warned = true
				t.g.notify(Notice{Kind: NoticeCgroupTracking, Err: fmt.Errorf("%w; it is looked at every %v instead", err, cgroupRescan)})
			}
			continue
		}
		if old, ok := t.watches[dir]; !ok || old != wd {
			added = true
		}
		t.watches[dir] = wd
	}
	return added
}

// retarget rewrites c's generation of the kernel's table for the cgroup
// ids in ids. An id that went is deleted first: no process is left in a
// removed cgroup, so nothing matched it, and the table never needs room
// for both. Callers hold g.mu.
func (g *Guard) retarget(c *compiled, ids map[string]uint64) error {
	next := c.table(ids)
	for k := range c.matchers {
		if _, ok := next[k]; ok {
			continue
		}
		if err := g.maps.Matchers.Delete(k); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			return fmt.Errorf("remove a cgroup's old id: %w", err)
		}
	}
	for k, v := range next {
		if old, ok := c.matchers[k]; ok && old == v {
			continue
		}
		if err := g.maps.Matchers.Update(k, v, ebpf.UpdateAny); err != nil {
			return fmt.Errorf("write a cgroup's new id: %w", err)
		}
	}
	c.matchers, c.cgroupID = next, ids
	if err := g.newCgroupEpoch(); err != nil {
		return err
	}
	// A restart that adopts the pin compares against the ids of now.
	return g.recordPolicy(c)
}
