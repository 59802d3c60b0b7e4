package guard

import (
	"errors"
	"strconv"
	"testing"

	"github.com/sigguard/sigguard/internal/kernfs"
)

// fakeCgroups answers lookups from a table, counting them.
type fakeCgroups struct {
	paths   map[uint64]string
	errs    map[uint64]error
	lookups map[uint64]int
}

func newIdentities(f *fakeCgroups) *identities {
	f.lookups = map[uint64]int{}
	return &identities{tried: true, lookup: func(id uint64) (string, error) {
		f.lookups[id]++
		if err, ok := f.errs[id]; ok {
			return "", err
		}
		if p, ok := f.paths[id]; ok {
			return p, nil
		}
		return "", kernfs.ErrCgroupGone
	}}
}

const (
	testContainer = "3f4e8a1c9b2d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f"
	testPod       = "8e1d2c3b-4a59-4687-9a0b-1c2d3e4f5a6b"
)

func TestIdentitiesFillAnEvent(t *testing.T) {
	f := &fakeCgroups{paths: map[uint64]string{
		10: "/system.slice/docker-" + testContainer + ".scope",
		20: "/kubepods/besteffort/pod" + testPod + "/crio-" + testContainer,
	}}
	c := newIdentities(f)
	ev := Event{CgroupID: 10, TargetCgroupID: 20}
	c.fill(&ev)
	want := Event{CgroupID: 10, Cgroup: f.paths[10], ContainerID: testContainer,
		TargetCgroupID: 20, TargetCgroup: f.paths[20], TargetContainerID: testContainer, TargetPodUID: testPod}
	if ev != want {
		t.Errorf("filled\n%+v\nwant\n%+v", ev, want)
	}
	// No target, and a removed caller cgroup: ids stay, names are empty.
	ev = Event{CgroupID: 30, Cgroup: "stale", TargetCgroup: "stale"}
	c.fill(&ev)
	if ev != (Event{CgroupID: 30}) {
		t.Errorf("filled %+v; want only the id", ev)
	}
	if f.lookups[0] != 0 {
		t.Error("cgroup id 0 (none) was looked up")
	}
}

// A cgroup is looked up once, and so is one that is gone (ids are never
// reused); a passing failure is tried again.
func TestIdentitiesRememberWhatDoesNotChange(t *testing.T) {
	f := &fakeCgroups{paths: map[uint64]string{1: "/a"}, errs: map[uint64]error{3: errors.New("too many open files")}}
	c := newIdentities(f)
	for range 5 {
		for _, id := range []uint64{1, 2, 3} {
			c.of(id)
		}
	}
	if f.lookups[1] != 1 || f.lookups[2] != 1 || f.lookups[3] != 5 {
		t.Errorf("lookups %v; want 1 for a cgroup, 1 for a removed one, 5 for one that failed", f.lookups)
	}
}

// However many cgroups events name, at most two generations are kept, and
// a cgroup still in use stays.
func TestIdentitiesAreBounded(t *testing.T) {
	f := &fakeCgroups{paths: map[uint64]string{}}
	for i := uint64(1); i <= 10*identityCacheSize; i++ {
		f.paths[i] = "/cg" + strconv.FormatUint(i, 10)
	}
	c := newIdentities(f)
	for i := uint64(1); i <= 10*identityCacheSize; i++ {
		c.of(i)
		c.of(1) // a busy cgroup
		if n := len(c.recent) + len(c.older); n > 2*identityCacheSize {
			t.Fatalf("%d cgroups remembered after %d; bound is %d", n, i, 2*identityCacheSize)
		}
	}
	if f.lookups[1] != 1 {
		t.Errorf("a cgroup in use was looked up %d times", f.lookups[1])
	}
	if got := c.of(5).path; got != "/cg5" {
		t.Errorf("an old cgroup looked up again names %q", got)
	}
}

// The reader's cost for a cgroup it knows: map lookups, no allocation.
func TestIdentitiesHitAllocatesNothing(t *testing.T) {
	f := &fakeCgroups{paths: map[uint64]string{1: "/docker/" + testContainer, 2: "/b"}}
	c := newIdentities(f)
	ev := Event{CgroupID: 1, TargetCgroupID: 2}
	c.fill(&ev)
	if n := testing.AllocsPerRun(1000, func() { c.fill(&ev) }); n != 0 {
		t.Errorf("fill allocates %.1f times per event", n)
	}
}

func BenchmarkIdentitiesHit(b *testing.B) {
	f := &fakeCgroups{paths: map[uint64]string{1: "/docker/" + testContainer, 2: "/b"}}
	c := newIdentities(f)
	ev := Event{CgroupID: 1, TargetCgroupID: 2}
	for b.Loop() {
		c.fill(&ev)
	}
}
