package guard

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sort"

	"github.com/cilium/ebpf"

	"github.com/sigguard/sigguard/internal/bpf"
)

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
	g.pin.phase = g.pin.phase.completed()
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
	if !g.pin.phase.owned() {
		// Start failed before this guard took the pin over: the record
		// stays the last owner's, so the next sigguard still reports what
		// that one left unreported. Only the exemption goes.
		var err error
		if g.coll != nil {
			err = g.clearSelf()
		}
		return errors.Join(err, g.pin.lock.Close())
	}
	err := g.writeRecordLocked()
	g.pin.record.ReaderTgid = 0
	if err == nil {
		err = g.maps.PinMeta.Update(uint32(0), &g.pin.record, ebpf.UpdateAny)
	}
	// Nothing is exempt while no sigguard runs.
	err = errors.Join(err, g.clearSelf())
	return errors.Join(err, g.pin.lock.Close())
}

// recordPolicy notes the generation now in force in the pin record.
func (g *Guard) recordPolicy(c *compiled) error {
	if g.pin == nil {
		return nil
	}
	g.pinMu.Lock()
	defer g.pinMu.Unlock()
	g.pin.record.Policy[c.gen] = c.digest()
	if !g.pin.phase.recording() {
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
