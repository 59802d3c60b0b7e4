package guard

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"

	"github.com/sigguard/sigguard/internal/bpf"
	"github.com/sigguard/sigguard/internal/kernfs"
)

// DefaultPinDir is where a pinned guard lives unless told otherwise.
const DefaultPinDir = kernfs.BPFFSPath + "/sigguard"

// A pinned guard is a directory on the BPF filesystem:
//
//	maps/<name>   every map, counters and the event ring buffer included
//	links/<name>  every attached hook (its program comes with it)
//
// maps/pin_meta is pinned last: its presence marks a complete pin. While a
// link stays pinned, its program runs whether or not any process holds it.
const (
	pinMapsDir  = "maps"
	pinLinksDir = "links"
	// A pin made by another sigguard build is moved here while this one
	// attaches its own hooks, and removed once they are in place.
	oldMapsDir  = "old-maps"
	oldLinksDir = "old-links"
)

// pinSubdirs in the order Unpin empties them: hooks first, so that
// enforcement ends before the maps its programs use go.
var pinSubdirs = []string{pinLinksDir, oldLinksDir, pinMapsDir, oldMapsDir}

// errOtherBuild says the pins were made by another sigguard build, whose
// maps and programs this one cannot share.
var errOtherBuild = errors.New("pinned by another sigguard build")

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

// pinState is a guard's hold on its pin directory.
type pinState struct {
	dir      string
	found    bool     // a complete pin was there at start: adopt it
	setAside bool     // another build's pin waits in old-* until ours is complete
	lock     *os.File // flock'ed for the guard's life: one reader per pin
	owned    bool     // the pin is this guard's: complete, or adopted to the end
	foreign  bool     // an incomplete pin of another sigguard: never removed here
	record   bpf.GuardPinRecord
	adopted  *Adoption
}

// claimPinDir makes dir (on the BPF filesystem) and locks it against a
// second sigguard, which would otherwise race this one for the same maps.
func claimPinDir(dir string) (*pinState, error) {
	if err := checkPinDirAbs(dir); err != nil {
		return nil, err
	}
	if err := kernfs.EnsureBPFFS(); err != nil {
		return nil, err
	}
	if !kernfs.IsBPFFS(dir) {
		return nil, configError(SettingPinDir, "%s is not on a bpf filesystem (use a directory under %s)", dir, kernfs.BPFFSPath)
	}
	for _, sub := range []string{pinMapsDir, pinLinksDir} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			return nil, fmt.Errorf("create pin directory: %w (is %s on a writable bpf filesystem?)", err, dir)
		}
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	p := &pinState{dir: dir, lock: lock}
	p.found = p.complete()
	return p, nil
}

// adopting says whether this guard took over an existing pin.
func (g *Guard) adopting() bool { return g.pin != nil && g.pin.found }

// lockDir takes an exclusive flock on a directory; it holds until the
// file is closed or the process ends, crash included.
func lockDir(dir string) (*os.File, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("open pin directory: %w", err)
	}
	if err := flockBriefly(f); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("another sigguard is running with the pins at %s (stop it first, or use another --pin-dir)", dir)
		}
		return nil, fmt.Errorf("lock pin directory %s: %w", dir, err)
	}
	return f, nil
}

// flockBriefly takes the exclusive lock, retrying for a moment: sigguard
// status takes a shared lock for an instant to see whether a reader runs,
// and must not make a start or an unpin at that moment fail.
func flockBriefly(f *os.File) error {
	var err error
	for try := 0; try < 25; try++ {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if !errors.Is(err, unix.EWOULDBLOCK) {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
	return err
}

func (p *pinState) mapPath(name string) string {
	return filepath.Join(p.dir, pinMapsDir, pinName(name))
}

func (p *pinState) linkPath(name string) string {
	return filepath.Join(p.dir, pinLinksDir, name)
}

// pinName turns ".bss" into "bss": internal maps pin without the dot.
func pinName(mapName string) string { return strings.TrimPrefix(mapName, ".") }

// complete says whether the directory holds a whole pinned guard.
func (p *pinState) complete() bool {
	_, err := os.Stat(p.mapPath(bpf.GuardMapPinMeta))
	return err == nil
}

// empty says whether nothing at all is pinned there.
func (p *pinState) empty() bool {
	for _, sub := range []string{pinMapsDir, pinLinksDir} {
		entries, err := os.ReadDir(filepath.Join(p.dir, sub))
		if err != nil || len(entries) > 0 {
			return false
		}
	}
	return true
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

// objectDigest identifies the BPF object this binary carries: pinned maps
// and programs are only adopted by the build that made them.
func objectDigest() [32]uint8 { return sha256.Sum256(bpf.GuardObject()) }

// digest identifies a compiled policy apart from its generation, so a
// restart with the same rules can leave the pinned ones in force.
func (c *compiled) digest() [32]uint8 {
	h := sha256.New()
	write := func(v any) { _ = binary.Write(h, binary.LittleEndian, v) }
	for _, n := range c.names {
		h.Write([]byte(n))
		h.Write([]byte{0})
	}
	write(c.policy)
	for _, r := range c.rules {
		write(r)
	}
	keys := make([]bpf.GuardMatcherKey, 0, len(c.matchers))
	for k := range c.matchers {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.Key != b.Key {
			return a.Key < b.Key
		}
		if a.A != b.A {
			return a.A < b.A
		}
		return a.B < b.B
	})
	for _, k := range keys {
		v := c.matchers[k]
		k.Generation = 0
		write(k)
		write(v)
	}
	write([]bool{c.compat, c.kills, c.cleanup})
	return [32]uint8(h.Sum(nil))
}

// keepLink pins a newly attached hook, when the guard is pinned.
func (g *Guard) keepLink(name string, l link.Link) error {
	if g.pin == nil {
		return nil
	}
	if err := l.Pin(g.pin.linkPath(name)); err != nil {
		hint := ""
		if errors.Is(err, ebpf.ErrNotSupported) {
			hint = " (pinning syscall tracepoint links needs Linux 5.15 or later; run without --pin)"
		}
		return fmt.Errorf("pin %s: %w%s", name, err, hint)
	}
	return nil
}

// dropLink detaches a hook for good: unpinned first, or it would stay.
func (g *Guard) dropLink(l link.Link) error {
	if g.pin != nil {
		if err := l.Unpin(); err != nil {
			return err
		}
	}
	return l.Close()
}

// adoptLinks takes over the hooks pinned by an earlier sigguard, so that
// install finds them attached and attaches nothing twice.
func (g *Guard) adoptLinks() error {
	entries, err := os.ReadDir(filepath.Join(g.pin.dir, pinLinksDir))
	if err != nil {
		return fmt.Errorf("read pinned links: %w (sigguard unpin --pin-dir %s removes the pin)", err, g.pin.dir)
	}
	bySlot := map[string]*link.Link{
		bpf.GuardProgSgCompatEnter: &g.compatEnter,
		bpf.GuardProgSgCompatExit:  &g.compatExit,
	}
	bySyscall := map[string]Syscall{}
	for s, h := range hooks {
		if h.tracepoint != "" {
			bySyscall[h.tracepoint] = s
		}
		for _, name := range h.tracing {
			bySyscall[name] = s
		}
	}
	for _, e := range entries {
		l, err := link.LoadPinnedLink(g.pin.linkPath(e.Name()), nil)
		if err != nil {
			return fmt.Errorf("open pinned link %s: %w (sigguard unpin --pin-dir %s removes the pin)", e.Name(), err, g.pin.dir)
		}
		switch s, isSyscall := bySyscall[e.Name()]; {
		case isSyscall:
			g.links[s] = append(g.links[s], l)
		case bySlot[e.Name()] != nil:
			*bySlot[e.Name()] = l
		default:
			g.onceLinks[e.Name()] = l
		}
	}
	return nil
}

// pinMaps pins every map; the record goes last, marking the pin complete.
func (g *Guard) pinMaps() error {
	for name, m := range g.allMaps {
		if name == bpf.GuardMapPinMeta {
			continue
		}
		if err := m.Pin(g.pin.mapPath(name)); err != nil {
			return fmt.Errorf("pin map %s: %w%s", name, err, hintFor(err))
		}
	}
	g.pinMu.Lock()
	defer g.pinMu.Unlock()
	if err := g.writeRecordLocked(); err != nil {
		return err
	}
	if err := g.maps.PinMeta.Pin(g.pin.mapPath(bpf.GuardMapPinMeta)); err != nil {
		return fmt.Errorf("pin map %s: %w%s", bpf.GuardMapPinMeta, err, hintFor(err))
	}
	g.pin.owned = true
	return nil
}

// writeRecordLocked stores who reads the events and what it has reported
// so far. Callers hold pinMu.
func (g *Guard) writeRecordLocked() error {
	r := &g.pin.record
	r.Object = objectDigest()
	r.Tier = g.tier.kernelTier()
	r.ReaderTgid = uint32(os.Getpid())
	r.ReaderSeenNs = bootNs()
	for i := range r.Seen {
		v, err := g.counter(bpf.GuardCounter(i))
		if err != nil {
			return err
		}
		r.Seen[i] = v
	}
	if err := g.maps.PinMeta.Update(uint32(0), r, ebpf.UpdateAny); err != nil {
		return fmt.Errorf("write pin record: %w%s", err, hintFor(err))
	}
	return nil
}

// releasePin runs when a pinned guard closes: the programs stay, and the
// record says no one reads their events now.
func (g *Guard) releasePin() error {
	g.pinMu.Lock()
	defer g.pinMu.Unlock()
	if !g.pin.owned {
		// Start failed before this guard took the pin over: the record
		// stays the last owner's, so the next sigguard still reports what
		// that one left unreported. Only the exemption goes.
		var err error
		if g.coll != nil {
			err = g.setSelf(0, 0)
		}
		return errors.Join(err, g.pin.lock.Close())
	}
	err := g.writeRecordLocked()
	g.pin.record.ReaderTgid = 0
	if err == nil {
		err = g.maps.PinMeta.Update(uint32(0), &g.pin.record, ebpf.UpdateAny)
	}
	// Nothing is exempt while no sigguard runs.
	err = errors.Join(err, g.setSelf(0, 0))
	return errors.Join(err, g.pin.lock.Close())
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
	p.found, p.setAside = false, true
	return nil
}

// removeSetAside ends the other build's enforcement, now that this
// guard's hooks are attached and pinned.
func (p *pinState) removeSetAside() error {
	return errors.Join(removePins(filepath.Join(p.dir, oldLinksDir)), removePins(filepath.Join(p.dir, oldMapsDir)))
}

// removePins unpins everything in dir and removes it; a missing dir is fine.
func removePins(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", dir, err)
	}
	for _, e := range entries {
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
			return fmt.Errorf("unpin %s: %w", filepath.Join(dir, e.Name()), err)
		}
	}
	if err := os.Remove(dir); err != nil {
		return fmt.Errorf("remove %s: %w", dir, err)
	}
	return nil
}

// Adopted says what the guard found in its pin directory at start; nil if
// it started a new pin or runs unpinned.
func (g *Guard) Adopted() *Adoption {
	if g.pin == nil {
		return nil
	}
	return g.pin.adopted
}

// PinDir is the directory the guard is pinned in, or "".
func (g *Guard) PinDir() string {
	if g.pin == nil {
		return ""
	}
	return g.pin.dir
}

// activeGeneration reads which generation the kernel enforces.
func (g *Guard) activeGeneration() (uint32, error) {
	var gen uint32
	if err := g.maps.Active.Lookup(uint32(0), &gen); err != nil {
		return 0, fmt.Errorf("read active generation: %w", err)
	}
	return gen % 2, nil
}

// writeNames stores a generation's rule names for whoever adopts the pin.
func (g *Guard) writeNames(c *compiled) error {
	for i := uint32(0); i < MaxRules; i++ {
		var n bpf.GuardRuleName
		if int(i) < len(c.names) {
			copy(n.Name[:len(n.Name)-1], toInt8(c.names[i]))
		}
		if err := g.maps.RuleNames.Update(c.gen*MaxRules+i, &n, ebpf.UpdateAny); err != nil {
			return fmt.Errorf("write rule names: %w", err)
		}
	}
	return nil
}

// readNames reads back the names of generation gen's rules.
func readNames(m *ebpf.Map, gen uint32, rules uint64) ([]string, error) {
	var names []string
	for i := uint32(0); i < MaxRules && rules&(1<<i) != 0; i++ {
		var n bpf.GuardRuleName
		if err := m.Lookup(gen*MaxRules+i, &n); err != nil {
			return nil, fmt.Errorf("read rule names: %w", err)
		}
		names = append(names, fromInt8(n.Name[:]))
	}
	return names, nil
}

func toInt8(s string) []int8 {
	out := make([]int8, len(s))
	for i := range len(s) {
		out[i] = int8(s[i])
	}
	return out
}

func fromInt8(b []int8) string {
	var out []byte
	for _, c := range b {
		if c == 0 {
			break
		}
		out = append(out, byte(c))
	}
	return string(out)
}

// setSelf writes which process the programs exempt: the reader.
// The two words are written in the order that never exempts a process
// that is not the reader, even between the writes.
func (g *Guard) setSelf(tgid uint32, startTicks uint64) error {
	setTgid := func() error { return g.coll.Variables[bpf.GuardVarSelfTgid].Set(tgid) }
	setTicks := func() error { return g.coll.Variables[bpf.GuardVarSelfStartTicks].Set(startTicks) }
	steps := []func() error{setTicks, setTgid}
	if tgid == 0 {
		steps = []func() error{setTgid, setTicks}
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return fmt.Errorf("set the exempt reader: %w", err)
		}
	}
	return nil
}

// exemptSelf makes the programs leave this process alone.
func (g *Guard) exemptSelf() error {
	ticks, err := ownStartTicks()
	if err != nil {
		return fmt.Errorf("read own start time: %w", err)
	}
	return g.setSelf(uint32(os.Getpid()), ticks)
}

// ownStartTicks reads this process's start time as /proc reports it, in
// clock ticks since boot: the kernel side compares it with the task's.
func ownStartTicks() (uint64, error) { return startTicks(os.Getpid()) }

// parseStartTicks reads field 22 (starttime) of a /proc/<pid>/stat.
func parseStartTicks(b []byte) (uint64, error) {
	// The comm in parentheses may hold spaces; fields count from after it.
	rest := b[bytes.LastIndexByte(b, ')')+1:]
	fields := strings.Fields(string(rest))
	const startTimeField = 22 - 3 // field 22, counted after pid and comm
	if len(fields) <= startTimeField {
		return 0, errors.New("short /proc/<pid>/stat")
	}
	return strconv.ParseUint(fields[startTimeField], 10, 64)
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
		if err := g.adopt(); err != nil {
			return err
		}
		g.pin.adopted.SamePolicy = true
		g.mu.Lock()
		defer g.mu.Unlock()
		g.names[active].Store(&same.names)
		g.current = same
		// The other slot may hold an older policy's matchers (a running
		// guard clears a slot only when it reuses it): the next reload must
		// clear them before writing there.
		g.previous = &compiled{gen: 1 - active}
		g.cleanup.Store(same.cleanup)
		if err := g.attachFor(same); err != nil {
			return err
		}
		return g.noteReaderProgress()
	}
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

// recordPolicy notes the generation now in force in the pin record.
func (g *Guard) recordPolicy(c *compiled) error {
	if g.pin == nil {
		return nil
	}
	g.pinMu.Lock()
	defer g.pinMu.Unlock()
	g.pin.record.Policy[c.gen] = c.digest()
	if !g.pin.found && !g.pin.owned {
		return nil // pinMaps writes the record when the pin is complete
	}
	return g.writeRecordLocked()
}

// noteReaderProgress tells the pin record what the reader has seen, so a
// sigguard that adopts the pin after a crash can say what went unreported.
func (g *Guard) noteReaderProgress() error {
	if g.pin == nil {
		return nil
	}
	g.pinMu.Lock()
	defer g.pinMu.Unlock()
	return g.writeRecordLocked()
}

// abandonPin undoes a new pin that failed half-way, so that no incomplete
// pin is left behind; an adopted pin stays, still enforcing its rules.
func (g *Guard) abandonPin() {
	p := g.pin
	if p == nil || p.found || p.foreign || p.lock == nil {
		return
	}
	for _, sub := range []string{pinLinksDir, pinMapsDir} {
		_ = removePins(filepath.Join(p.dir, sub))
	}
	// Another build's guard, set aside, goes back in force as it was.
	if p.setAside {
		_ = os.Rename(filepath.Join(p.dir, oldLinksDir), filepath.Join(p.dir, pinLinksDir))
		_ = os.Rename(filepath.Join(p.dir, oldMapsDir), filepath.Join(p.dir, pinMapsDir))
	} else {
		_ = os.Remove(p.dir) // made by this guard, and empty again
	}
	p.lock.Close()
	p.lock = nil
}
