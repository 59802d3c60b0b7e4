package guard

import (
	"fmt"

	"github.com/cilium/ebpf"

	"github.com/sigguard/sigguard/internal/bpf"
)

// Reload replaces the rules (and Compat; the ring buffer keeps its size)
// without a moment unguarded: the new rules are written beside the old
// ones, new hooks attached, and one map write makes the kernel switch. On
// error the old rules stay in force. A cgroup the rules name that does
// not exist is no error: a Notice says so, and the rules match nothing for
// it until it does (cgroups.go).
func (g *Guard) Reload(cfg Config) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.current == nil || g.closed.Load() {
		return ErrClosed
	}
	next, err := compile(cfg, 1-g.generation())
	if err != nil {
		return err
	}
	if err := g.install(next); err != nil {
		return err
	}
	for _, n := range next.missingNotices() {
		g.notify(n)
	}
	g.cgroups.policyChanged()
	return nil
}

func (g *Guard) generation() uint32 {
	if g.current == nil {
		return 1 // so that the first policy is generation 0
	}
	return g.current.gen
}

// install writes policy as the next generation, attaches the hooks it
// needs, switches the kernel to it, then detaches the hooks only the
// previous generation needed. Callers hold g.mu (or own g exclusively).
//
// The previous generation's tables stay as they are: a program that read
// the generation number just before the switch may still be reading them.
// They are cleared only when their slot is reused, a reload later, and
// after an RCU grace period, which no program run outlasts.
func (g *Guard) install(next *compiled) (err error) {
	if err := g.clearSlot(next.gen); err != nil {
		return err
	}
	switched := false
	defer func() {
		// A policy that never came into force leaves nothing in its
		// slot for a later one to inherit.
		if err != nil && !switched {
			g.deleteMatchers(next)
			// Nor the hooks it attached (and pinned) for nothing. The
			// policy in force is known unless it was adopted from a pin
			// with other rules, which keeps everything until the next
			// successful install.
			if g.current != nil && g.current.syscalls != nil {
				_ = g.detachUnneeded(g.current)
			}
		}
	}()
	if err := g.writeGeneration(next); err != nil {
		return err
	}
	if err := g.attachFor(next); err != nil {
		return err
	}
	g.names[next.gen].Store(&next.names)
	// The pin record names the policy of a slot before the slot comes into
	// force: a crash right after the switch must not leave it naming an
	// older policy, which a restart would then take for the one enforced.
	if err := g.recordPolicy(next); err != nil {
		return err
	}
	if err := g.maps.Active.Update(uint32(0), next.gen, ebpf.UpdateAny); err != nil {
		return fmt.Errorf("switch to the new policy: %w", err)
	}
	switched = true
	if err := g.newCgroupEpoch(); err != nil {
		return err
	}
	if err := g.bumpVariable(bpf.GuardVarPolicySerial); err != nil {
		return err
	}
	g.previous, g.current = g.current, next
	return g.detachUnneeded(next)
}

// detachUnneeded drops the syscall hooks and 32-bit hooks c does not use:
// after a switch, those only the policy before it used; after an install
// that failed, those it attached for nothing.
func (g *Guard) detachUnneeded(c *compiled) error {
	if err := g.hooks.dropRoutes(c.syscalls); err != nil {
		return err
	}
	if err := g.dropGeneric(c); err != nil {
		return err
	}
	return g.syncCompat(c, true)
}

// attachFor attaches every hook policy c needs that is not attached yet.
func (g *Guard) attachFor(next *compiled) error {
	// What watches the results of a kill, first: the signalling hooks
	// below act on the new generation from the moment they attach.
	if next.kills {
		if err := g.attachOnce(bpf.GuardProgSgConfirmExit); err != nil {
			return err
		}
	}
	if next.cleanup {
		if err := g.attachOnce(bpf.GuardProgSgNoteStop); err != nil {
			return err
		}
	}
	if err := g.startSharerKills(next); err != nil {
		return err
	}
	g.cleanup.Store(next.cleanup)
	for s := range next.syscalls {
		if s.Generic() {
			continue // attachGeneric
		}
		if err := g.attach(s); err != nil {
			return err
		}
	}
	if err := g.attachGeneric(next); err != nil {
		return err
	}
	if next.syscalls[SyscallOpenat] {
		g.teachProcMem()
	}
	return g.syncCompat(next, false)
}

// clearSlot removes what the policy that last used generation gen left in
// the matcher table, once no program can still be reading it.
func (g *Guard) clearSlot(gen uint32) error {
	stale := g.previous
	if stale == nil || stale.gen != gen {
		return nil
	}
	waitForRCUGracePeriod()
	if err := g.deleteMatchers(stale); err != nil {
		return err
	}
	g.previous = nil
	return nil
}
