package guard

import (
	"errors"

	"github.com/sigguard/sigguard/internal/container"
	"github.com/sigguard/sigguard/internal/kernfs"
)

// identityCacheSize bounds what the reader remembers of cgroups: the
// cache keeps two generations of at most this many ids each, and when the
// newer one is full the older is dropped (ids in use move back to the
// newer one as events name them). So at most 2 x 1024 cgroups, a few
// hundred KiB, are remembered however many come and go.
const identityCacheSize = 1024

// cgroupIdentity is what an event says of one cgroup.
type cgroupIdentity struct {
	path string
	container.Identity
}

// identities names the cgroups events carry the ids of. A cgroup named
// once costs a map lookup after that; a new one costs a few syscalls in
// the reader (kernfs.CgroupPaths, ~15 us). Cgroup ids are never reused,
// so what an id names, or that it names nothing any more, does not go
// stale. Used by the reader only.
type identities struct {
	// lookup names a cgroup id (kernfs.CgroupPaths.Path unless a test
	// sets it); nil until the first event, and when no cgroup v2
	// hierarchy is mounted.
	lookup func(id uint64) (string, error)
	tried  bool // lookup was set up (or found impossible)

	recent, older map[uint64]cgroupIdentity
}

// fill names the caller's and the target's cgroups in ev.
func (c *identities) fill(ev *Event) {
	caller := c.of(ev.CgroupID)
	ev.Cgroup, ev.ContainerID, ev.PodUID = caller.path, caller.ContainerID, caller.PodUID
	target := c.of(ev.TargetCgroupID)
	ev.TargetCgroup, ev.TargetContainerID, ev.TargetPodUID = target.path, target.ContainerID, target.PodUID
}

func (c *identities) of(id uint64) cgroupIdentity {
	if id == 0 {
		return cgroupIdentity{}
	}
	if v, ok := c.recent[id]; ok {
		return v
	}
	v, ok := c.older[id]
	if !ok {
		if v, ok = c.resolve(id); !ok {
			return v
		}
	}
	c.remember(id, v)
	return v
}

// resolve names id; false for an answer that may change (a passing
// failure), which is not remembered.
func (c *identities) resolve(id uint64) (cgroupIdentity, bool) {
	if !c.tried {
		c.tried = true
		if paths, err := kernfs.NewCgroupPaths(); err == nil {
			c.lookup = paths.Path
		}
	}
	if c.lookup == nil {
		return cgroupIdentity{}, true
	}
	path, err := c.lookup(id)
	switch {
	case err == nil:
		return cgroupIdentity{path: path, Identity: container.Parse(path)}, true
	case errors.Is(err, kernfs.ErrCgroupGone), errors.Is(err, kernfs.ErrCgroupOutside):
		return cgroupIdentity{}, true
	}
	return cgroupIdentity{}, false
}

func (c *identities) remember(id uint64, v cgroupIdentity) {
	if c.recent == nil {
		c.recent, c.older = make(map[uint64]cgroupIdentity), make(map[uint64]cgroupIdentity)
	}
	if len(c.recent) >= identityCacheSize {
		clear(c.older)
		c.older, c.recent = c.recent, c.older
	}
	c.recent[id] = v
}
