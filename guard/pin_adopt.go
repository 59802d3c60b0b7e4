package guard

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"

	"github.com/sigguard/sigguard/internal/bpf"
)

// Adoption is what a guard found when it took over pinned programs.
type Adoption struct {
	// Dir is the pin directory.
	Dir string
	// CrashedReader is the pid of the sigguard that read the events before
	// and ended without closing (0 if it closed, or none did).
	CrashedReader int
	// Since is when that reader last reported; everything after went
	// unattended until now.
	Since time.Time
	// Unattended are the kernel's counts since then: enforcement went on,
	// but no one reported it. The events themselves are still in the ring
	// buffer unless it overflowed (EventsLost).
	Unattended Stats
	// SamePolicy says the pinned rules were the ones asked for, so they
	// stayed in force untouched and their counters continue; otherwise the
	// new rules replaced them as a reload would.
	SamePolicy bool
	// OtherBuild says the pins came from another sigguard build (an
	// upgrade): this guard attached its own hooks first and only then
	// removed the old ones, and counters start again.
	OtherBuild bool
	// CountsUnknown says Unattended could not be read: the other build
	// kept its counters in another layout.
	CountsUnknown bool
}

// loadPinnedMaps opens every map the spec declares from the pin directory,
// after checking that they were made for this very BPF object.
func (p *pinState) loadPinnedMaps(spec *ebpf.CollectionSpec) (map[string]*ebpf.Map, error) {
	// The record's first bytes name the object that made the pins. They
	// are compared before anything else is read: another build may have
	// other maps, or the same maps with other value layouts.
	if err := p.checkSameBuild(); err != nil {
		return nil, err
	}
	pinned := map[string]*ebpf.Map{}
	fail := func(err error) (map[string]*ebpf.Map, error) {
		for _, m := range pinned {
			m.Close()
		}
		return nil, err
	}
	for name := range spec.Maps {
		m, err := ebpf.LoadPinnedMap(p.mapPath(name), nil)
		if err != nil {
			return fail(fmt.Errorf("open pinned map %s: %w (the pin at %s is incomplete: sigguard unpin --pin-dir %s removes it)",
				name, err, p.dir, p.dir))
		}
		pinned[name] = m
	}
	if err := pinned[bpf.GuardMapPinMeta].Lookup(uint32(0), &p.record); err != nil {
		return fail(fmt.Errorf("read pin record: %w (sigguard unpin --pin-dir %s removes the pin)", err, p.dir))
	}
	// The ring buffer keeps the size it was made with.
	spec.Maps[bpf.GuardMapEvents].MaxEntries = pinned[bpf.GuardMapEvents].MaxEntries()
	return pinned, nil
}

// checkSameBuild returns errOtherBuild, with what can be told of the time
// unattended, when the pins were made by another BPF object.
func (p *pinState) checkSameBuild() error {
	meta, err := ebpf.LoadPinnedMap(p.mapPath(bpf.GuardMapPinMeta), nil)
	if err != nil {
		return fmt.Errorf("open pinned map %s: %w (sigguard unpin --pin-dir %s removes the pin)", bpf.GuardMapPinMeta, err, p.dir)
	}
	defer meta.Close()
	raw, err := meta.LookupBytes(uint32(0))
	if err != nil {
		return fmt.Errorf("read pin record: %w (sigguard unpin --pin-dir %s removes the pin)", err, p.dir)
	}
	want := objectDigest()
	if len(raw) >= len(want) && [32]uint8(raw[:len(want)]) == want {
		return nil
	}
	p.adopted = &Adoption{Dir: p.dir, OtherBuild: true, CountsUnknown: true}
	// The counts can be read only where the record has this build's layout.
	if len(raw) == binary.Size(p.record) {
		if err := meta.Lookup(uint32(0), &p.record); err == nil {
			p.adopted.CrashedReader = crashedReader(p.record)
			var clock bootClock
			clock.sync()
			p.adopted.Since = clock.wall(p.record.ReaderSeenNs)
			if counters, err := ebpf.LoadPinnedMap(p.mapPath(bpf.GuardMapCounters), nil); err == nil {
				if u, err := unattendedSince(p.record, counters); err == nil {
					p.adopted.Unattended, p.adopted.CountsUnknown = u, false
				}
				counters.Close()
			}
		}
	}
	return errOtherBuild
}

// adoptLinks takes over the hooks pinned by an earlier sigguard into the
// hook registry, so that install finds them attached and attaches nothing
// twice.
func (g *Guard) adoptLinks() error {
	entries, err := os.ReadDir(g.pin.linksDir())
	if err != nil {
		return fmt.Errorf("read pinned links: %w (sigguard unpin --pin-dir %s removes the pin)", err, g.pin.dir)
	}
	for _, e := range entries {
		l, err := link.LoadPinnedLink(g.pin.linkPath(e.Name()), nil)
		if err != nil {
			return fmt.Errorf("open pinned link %s: %w (sigguard unpin --pin-dir %s removes the pin)", e.Name(), err, g.pin.dir)
		}
		g.hooks.adopt(e.Name(), l)
	}
	return nil
}

// adopt sums up what happened since the last reader reported, and names
// the pinned generation's rules for the events still in the ring buffer.
func (g *Guard) adopt() error {
	r := g.pin.record
	unattended, err := unattendedSince(r, g.maps.Counters)
	if err != nil {
		return err
	}
	g.pin.adopted = &Adoption{Dir: g.pin.dir, CrashedReader: crashedReader(r), Since: g.clock.wall(r.ReaderSeenNs), Unattended: unattended}
	// Losses before the last report were reported by that reader.
	g.lostReported = r.Seen[bpf.GuardCounterSG_COUNTER_EVENTS_LOST]
	return nil
}

// unattendedSince is what the kernel counted after the record's reader
// last took note.
func unattendedSince(r bpf.GuardPinRecord, counters *ebpf.Map) (Stats, error) {
	var s Stats
	for _, c := range counterFields(&s) {
		v, err := sumPerCPU(counters, uint32(c.which))
		if err != nil {
			return Stats{}, err
		}
		*c.into = v - r.Seen[c.which]
	}
	return s, nil
}

// crashedReader is the reader a record names, which ended without
// clearing it (a reader that closes writes 0).
func crashedReader(r bpf.GuardPinRecord) int {
	if r.ReaderTgid == uint32(os.Getpid()) {
		return 0
	}
	return int(r.ReaderTgid)
}

// adoptPin puts cfg's rules in force over the adopted pin, and makes the
// pin this guard's.
func (g *Guard) adoptPin(cfg Config) error {
	if err := g.takeOver(cfg); err != nil {
		return err
	}
	g.pin.phase = pinAdopted
	// An upgrade that died between pinning its own hooks and removing
	// the old build's left both enforcing: finish it.
	return g.pin.removeSetAside()
}

// takeOver puts cfg's rules in force over adopted pins. The pinned hooks
// never stopped: with the same rules nothing changes and the per-rule
// counters continue; with other rules, they are installed as a reload
// would, beside the pinned ones, and switched to in one map write.
func (g *Guard) takeOver(cfg Config) error {
	if err := g.adoptLinks(); err != nil {
		return err
	}
	if err := g.adoptTier(cfg.Tier); err != nil {
		return err
	}
	active, err := g.activeGeneration()
	if err != nil {
		return err
	}
	same, err := compile(cfg, active)
	if err != nil {
		return err
	}
	if same.digest() == g.pin.record.Policy[active] {
		return g.keepPinnedPolicy(same)
	}
	return g.replacePinnedPolicy(cfg, active)
}

// keepPinnedPolicy takes the pinned rules, the same as same, as they are.
func (g *Guard) keepPinnedPolicy(same *compiled) error {
	if err := g.adopt(); err != nil {
		return err
	}
	g.pin.adopted.SamePolicy = true
	g.mu.Lock()
	defer g.mu.Unlock()
	g.names[same.gen].Store(&same.names)
	g.current = same
	// The other slot may hold an older policy's matchers (a running
	// guard clears a slot only when it reuses it): the next reload must
	// clear them before writing there.
	g.previous = &compiled{gen: 1 - same.gen}
	g.cleanup.Store(same.cleanup)
	if err := g.attachFor(same); err != nil {
		return err
	}
	return g.noteReaderProgress()
}

// replacePinnedPolicy installs cfg's rules over the pinned ones, in force
// in generation active, as a reload would.
func (g *Guard) replacePinnedPolicy(cfg Config, active uint32) error {
	var policy bpf.GuardPolicy
	if err := g.maps.Policies.Lookup(active, &policy); err != nil {
		return fmt.Errorf("read pinned policy: %w", err)
	}
	names, err := readNames(g.maps.RuleNames, active, policy.Rules)
	if err != nil {
		return err
	}
	// Events of the pinned rules may still be in the ring buffer.
	g.names[active].Store(&names)
	if err := g.adopt(); err != nil {
		return err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.current = &compiled{gen: active, names: names}
	// Whatever the pinned guard left in the other slot goes first.
	g.previous = &compiled{gen: 1 - active}
	next, err := compile(cfg, 1-active)
	if err != nil {
		return err
	}
	if err := g.install(next); err != nil {
		return err
	}
	return g.noteReaderProgress()
}

// setAsideOtherBuild moves another build's pins out of the way, still
// enforcing, so this guard can pin its own beside them.
func (p *pinState) setAsideOtherBuild() error {
	for _, pair := range [][2]string{{pinLinksDir, oldLinksDir}, {pinMapsDir, oldMapsDir}} {
		old := filepath.Join(p.dir, pair[1])
		// Left by a replacement that failed: its own pins are older still.
		if err := removePins(old); err != nil {
			return err
		}
		if err := os.Rename(filepath.Join(p.dir, pair[0]), old); err != nil {
			return fmt.Errorf("set aside the other build's pins: %w (sigguard unpin --pin-dir %s removes them)", err, p.dir)
		}
		if err := os.Mkdir(filepath.Join(p.dir, pair[0]), 0o700); err != nil {
			return fmt.Errorf("create pin directory: %w (is %s on a writable bpf filesystem?)", err, p.dir)
		}
	}
	p.phase = pinUpgrading
	return nil
}

// removeSetAside ends the other build's enforcement, now that this
// guard's hooks are attached and pinned.
func (p *pinState) removeSetAside() error {
	return errors.Join(removePins(filepath.Join(p.dir, oldLinksDir)), removePins(filepath.Join(p.dir, oldMapsDir)))
}

// abandonPin undoes a new pin that failed half-way, so that no incomplete
// pin is left behind; an adopted pin stays, still enforcing its rules.
func (g *Guard) abandonPin() {
	p := g.pin
	if p == nil || !p.phase.madeHere() || p.lock == nil {
		return
	}
	for _, sub := range []string{pinLinksDir, pinMapsDir} {
		_ = removePins(filepath.Join(p.dir, sub))
	}
	// Another build's guard, set aside, goes back in force as it was.
	if p.phase.setAside() {
		_ = os.Rename(filepath.Join(p.dir, oldLinksDir), filepath.Join(p.dir, pinLinksDir))
		_ = os.Rename(filepath.Join(p.dir, oldMapsDir), filepath.Join(p.dir, pinMapsDir))
	} else {
		_ = os.Remove(p.dir) // made by this guard, and empty again
	}
	p.lock.Close()
	p.lock = nil
}
