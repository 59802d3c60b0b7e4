package guard

import (
	"fmt"

	"github.com/cilium/ebpf"

	"github.com/sigguard/sigguard/internal/bpf"
)

// Stats are the kernel-side counters, summed over CPUs.
type Stats struct {
	// Interventions counts calls that matched a rule, audit included.
	Interventions uint64
	// Signalled counts signals the kernel accepted (queued).
	Signalled uint64
	// FailedSends counts signals the kernel refused.
	FailedSends uint64
	// EventsLost counts events dropped because the ring buffer was full.
	EventsLost uint64
	// MissedRuns counts times the kernel skipped a program because another
	// BPF program was running on that CPU (Linux 5.12+; else 0).
	MissedRuns uint64
	// Unresolved counts matched calls whose target the kernel side could
	// not read: every target rule held for them (see docs/policy.md).
	Unresolved uint64
	// Confirmed counts SIGKILLs followed by the process's exit.
	Confirmed uint64
	// Denied counts calls refused in a deny tier.
	Denied uint64
	// SharersKilled counts processes killed because they shared the
	// descriptor table of a caller killed for an open of /proc/<pid>/mem
	// or a pidfd_getfd (signal tier, Linux 6.13+).
	SharersKilled uint64
	// Unconfirmed counts SIGKILLed processes still alive UnconfirmedAfter
	// later (reported as KindUnconfirmed).
	Unconfirmed uint64
	// HeldBack counts matched calls a rule's at_most held back: no signal
	// and no event, only this count (and KindHeldBack reports).
	HeldBack uint64
}

func (g *Guard) counter(which bpf.GuardCounter) (uint64, error) {
	return sumPerCPU(g.maps.Counters, uint32(which))
}

func sumPerCPU(m *ebpf.Map, key uint32) (uint64, error) {
	var perCPU []uint64
	if err := m.Lookup(key, &perCPU); err != nil {
		return 0, fmt.Errorf("read counter %d: %w", key, err)
	}
	var sum uint64
	for _, v := range perCPU {
		sum += v
	}
	return sum, nil
}

// Stats reads the kernel-side counters. It works until Close, also after
// Run has returned.
func (g *Guard) Stats() (Stats, error) {
	var s Stats
	for _, c := range counterFields(&s) {
		v, err := g.counter(c.which)
		if err != nil {
			return Stats{}, err
		}
		*c.into = v
	}
	s.Unconfirmed = g.unconfirmed.Load()
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, p := range g.progs {
		if ps, err := p.Stats(); err == nil {
			s.MissedRuns += ps.RecursionMisses
		}
	}
	return s, nil
}

type counterField struct {
	which bpf.GuardCounter
	into  *uint64
}

// counterFields pairs the kernel's counters with the Stats fields they fill.
func counterFields(s *Stats) []counterField {
	return []counterField{
		{bpf.GuardCounterSG_COUNTER_MATCHED, &s.Interventions},
		{bpf.GuardCounterSG_COUNTER_SIGNALLED, &s.Signalled},
		{bpf.GuardCounterSG_COUNTER_SEND_FAILED, &s.FailedSends},
		{bpf.GuardCounterSG_COUNTER_EVENTS_LOST, &s.EventsLost},
		{bpf.GuardCounterSG_COUNTER_UNRESOLVED, &s.Unresolved},
		{bpf.GuardCounterSG_COUNTER_CONFIRMED, &s.Confirmed},
		{bpf.GuardCounterSG_COUNTER_DENIED, &s.Denied},
		{bpf.GuardCounterSG_COUNTER_SHARERS, &s.SharersKilled},
		{bpf.GuardCounterSG_COUNTER_HELD_BACK, &s.HeldBack},
	}
}

// RuleStats are one rule's kernel-side counters.
type RuleStats struct {
	Rule        string
	Matched     uint64
	Signalled   uint64
	FailedSends uint64
	Denied      uint64
	HeldBack    uint64 // matched, but held back by the rule's at_most
}

// RuleStats reads the counters of the rules in force, in rule order. They
// start at 0 when a policy is loaded.
func (g *Guard) RuleStats() ([]RuleStats, error) {
	g.mu.Lock()
	cur := g.current
	g.mu.Unlock()
	if cur == nil {
		return nil, ErrClosed
	}
	return ruleStats(g.maps.RuleCounters, cur.gen, cur.names)
}

// ruleStats reads generation gen's per-rule counters.
func ruleStats(counters *ebpf.Map, gen uint32, names []string) ([]RuleStats, error) {
	out := make([]RuleStats, len(names))
	for i, name := range names {
		out[i].Rule = name
		base := (gen*MaxRules + uint32(i)) * ruleCounters
		for c, into := range []*uint64{&out[i].Matched, &out[i].Signalled, &out[i].FailedSends, &out[i].Denied, &out[i].HeldBack} {
			v, err := sumPerCPU(counters, base+uint32(c))
			if err != nil {
				return nil, err
			}
			*into = v
		}
	}
	return out, nil
}

// RingFill is the share of the ring buffer holding events not yet read.
func (g *Guard) RingFill() float64 {
	if g.closed.Load() || g.reader == nil || g.reader.BufferSize() == 0 {
		return 0
	}
	return float64(g.reader.AvailableBytes()) / float64(g.reader.BufferSize())
}

// ProgramIDs lists the kernel ids of the loaded programs, e.g. to check
// from outside that none is left after Close.
func (g *Guard) ProgramIDs() []ebpf.ProgramID {
	g.mu.Lock()
	defer g.mu.Unlock()
	var ids []ebpf.ProgramID
	for _, p := range g.progs {
		if info, err := p.Info(); err == nil {
			if id, ok := info.ID(); ok {
				ids = append(ids, id)
			}
		}
	}
	return ids
}
