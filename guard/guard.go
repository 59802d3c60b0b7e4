// Package guard loads sigguard's kernel programs, matches callers of
// guarded syscalls against rules inside the kernel, signals them from there
// and delivers a report of every intervention.
//
// A Guard is configured once (Config), started (Start), read until its
// context ends (Run), and closed (Close). The package never logs, exits or
// reads flags; errors say what went wrong and what to do about it.
package guard

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/ringbuf"
	"github.com/cilium/ebpf/rlimit"

	"github.com/sigguard/sigguard/internal/bpf"
	"github.com/sigguard/sigguard/internal/kernfs"
)

// Tier names how the guard enforces.
type Tier string

// TierSignal signals the caller from a syscall-entry tracepoint. It cannot
// veto the call: the syscall body still runs before the signal is delivered.
const TierSignal Tier = "signal"

// pollInterval bounds how long a loss or a cancelled context goes unnoticed
// while no event arrives.
const pollInterval = 100 * time.Millisecond

// Guard is a running set of attached programs and the reader of their events.
type Guard struct {
	rules  []Rule
	objs   bpf.GuardObjects
	links  []link.Link
	reader *ringbuf.Reader

	// Reused by Run for every record, so reading allocates nothing.
	record ringbuf.Record
	raw    bpf.GuardEvent
	event  Event
	clock  bootClock

	lostReported uint64
	closeOnce    sync.Once
	closeErr     error
}

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
}

// Start checks the kernel and privileges, loads the programs with cfg's
// rules and attaches them. When Start returns without error, enforcement
// is live; on error nothing is left loaded.
func Start(cfg Config) (_ *Guard, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := checkPrivileges(); err != nil {
		return nil, err
	}
	// Kernels before 5.11 charge BPF memory to RLIMIT_MEMLOCK; later ones
	// ignore it and this is a no-op.
	if err := rlimit.RemoveMemlock(); err != nil {
		return nil, fmt.Errorf("raise memlock limit: %w%s", err, hintFor(err))
	}
	if err := CheckKernel(); err != nil {
		return nil, err
	}
	if err := kernfs.EnsureTracefs(); err != nil {
		return nil, err
	}
	kernelRules, err := resolveRules(cfg.Rules)
	if err != nil {
		return nil, err
	}

	g := &Guard{rules: namedRules(cfg.Rules)}
	defer func() {
		if err != nil {
			_ = g.Close()
		}
	}()
	if err := g.load(cfg); err != nil {
		return nil, err
	}
	if err := g.writeRules(kernelRules); err != nil {
		return nil, err
	}
	if g.reader, err = ringbuf.NewReader(g.objs.Events); err != nil {
		return nil, fmt.Errorf("open ring buffer reader: %w", err)
	}
	// Attach last: from here on, callers are signalled.
	if err := g.attach(); err != nil {
		return nil, err
	}
	g.clock.sync()
	return g, nil
}

// namedRules gives every unnamed rule its default name once, so that
// events can carry names without building strings per event.
func namedRules(rules []Rule) []Rule {
	named := make([]Rule, len(rules))
	for i, r := range rules {
		r.Name = r.nameOr(i)
		named[i] = r
	}
	return named
}

// resolveRules turns rules into their kernel form, resolving cgroup paths
// to the ids the kernel compares.
func resolveRules(rules []Rule) ([]bpf.GuardRule, error) {
	out := make([]bpf.GuardRule, len(rules))
	for i, r := range rules {
		out[i] = bpf.GuardRule{
			Ppid:   uint32(r.ParentPID),
			Signal: uint32(r.Signal),
			Action: uint8(r.Action),
			InUse:  1,
		}
		if r.Cgroup == "" {
			continue
		}
		cg, err := kernfs.ResolveCgroup(r.Cgroup)
		if err != nil {
			return nil, &ConfigError{Rule: r.nameOr(i), Setting: SettingCgroup, Err: err}
		}
		out[i].CgroupId = cg.ID
		out[i].CgroupLevel = uint32(cg.Level)
	}
	return out, nil
}

func (g *Guard) load(cfg Config) error {
	spec, err := bpf.LoadGuard()
	if err != nil {
		return fmt.Errorf("read embedded bpf object: %w", err)
	}
	if err := spec.Variables[bpf.GuardVarSelfTgid].Set(uint32(os.Getpid())); err != nil {
		return fmt.Errorf("set self_tgid: %w", err)
	}
	if cfg.RingBufferBytes != 0 {
		spec.Maps[bpf.GuardMapEvents].MaxEntries = uint32(cfg.RingBufferBytes)
	}
	if err := spec.LoadAndAssign(&g.objs, nil); err != nil {
		var ve *ebpf.VerifierError
		if errors.As(err, &ve) {
			// The whole log: its last lines alone rarely explain a rejection.
			return fmt.Errorf("load bpf programs: the verifier rejected them: %w\n%+v", err, ve)
		}
		return fmt.Errorf("load bpf programs: %w%s", err, hintFor(err))
	}
	return nil
}

func (g *Guard) writeRules(rules []bpf.GuardRule) error {
	for i := range rules {
		if err := g.objs.Rules.Update(uint32(i), &rules[i], ebpf.UpdateAny); err != nil {
			return fmt.Errorf("write rule %d: %w", i, err)
		}
	}
	return nil
}

func (g *Guard) attach() error {
	l, err := link.Tracepoint("syscalls", "sys_enter_ptrace", g.objs.SigguardPtrace, nil)
	if err != nil {
		hint := hintFor(err)
		if errors.Is(err, os.ErrNotExist) {
			hint = " (the kernel needs CONFIG_FTRACE_SYSCALLS for syscall tracepoints)"
		}
		return fmt.Errorf("attach tracepoint syscalls/sys_enter_ptrace: %w%s", err, hint)
	}
	g.links = append(g.links, l)
	return nil
}

// Tier says how this guard enforces.
func (g *Guard) Tier() Tier { return TierSignal }

// Rules returns the rules in force, each with its name filled in.
func (g *Guard) Rules() []Rule { return append([]Rule(nil), g.rules...) }

// Run delivers every event to handle until ctx ends or handle fails. The
// *Event is reused between calls. Loss of events is reported as a KindLost
// event within about 100 ms of the kernel counting it. When ctx ends, Run
// detaches the programs (enforcement stops), delivers the events still in
// the ring buffer and returns nil.
func (g *Guard) Run(ctx context.Context, handle func(*Event) error) error {
	next := time.Now().Add(pollInterval)
	g.reader.SetDeadline(next)
	for n := 1; ; n++ {
		err := g.reader.ReadInto(&g.record)
		switch {
		case err == nil:
			if err := g.deliver(handle); err != nil {
				return err
			}
			// Under a steady flood the deadline never fires; look at
			// the clock every few records instead.
			if n%64 != 0 || time.Now().Before(next) {
				continue
			}
		case errors.Is(err, os.ErrDeadlineExceeded):
		case errors.Is(err, ringbuf.ErrClosed):
			return ErrClosed
		default:
			return fmt.Errorf("read ring buffer: %w", err)
		}

		if ctx.Err() != nil {
			return g.drain(handle)
		}
		if err := g.reportLoss(handle); err != nil {
			return err
		}
		g.clock.sync()
		next = time.Now().Add(pollInterval)
		g.reader.SetDeadline(next)
	}
}

// ErrClosed is returned by Run when the Guard was closed under it.
var ErrClosed = errors.New("guard closed")

func (g *Guard) deliver(handle func(*Event) error) error {
	if !decodeEvent(g.record.RawSample, &g.raw, &g.clock, g.rules, &g.event) {
		return fmt.Errorf("short ring buffer record: %d bytes, want %d (kernel and user space built from different sources?)",
			len(g.record.RawSample), eventSize)
	}
	return handle(&g.event)
}

// drain stops enforcement, then hands over what the ring buffer still holds.
func (g *Guard) drain(handle func(*Event) error) error {
	if err := g.detach(); err != nil {
		return err
	}
	g.reader.SetDeadline(time.Now())
	for {
		err := g.reader.ReadInto(&g.record)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return g.reportLoss(handle)
		}
		if err != nil {
			return fmt.Errorf("drain ring buffer: %w", err)
		}
		if err := g.deliver(handle); err != nil {
			return err
		}
	}
}

func (g *Guard) reportLoss(handle func(*Event) error) error {
	lost, err := g.counter(bpf.GuardCounterSG_COUNTER_EVENTS_LOST)
	if err != nil {
		return err
	}
	if lost <= g.lostReported {
		return nil
	}
	g.event = Event{Kind: KindLost, Time: time.Now(), Lost: lost - g.lostReported, LostTotal: lost}
	g.lostReported = lost
	return handle(&g.event)
}

func (g *Guard) counter(which bpf.GuardCounter) (uint64, error) {
	var perCPU []uint64
	if err := g.objs.Counters.Lookup(uint32(which), &perCPU); err != nil {
		return 0, fmt.Errorf("read counter %d: %w", which, err)
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
	for _, c := range []struct {
		which bpf.GuardCounter
		into  *uint64
	}{
		{bpf.GuardCounterSG_COUNTER_MATCHED, &s.Interventions},
		{bpf.GuardCounterSG_COUNTER_SIGNALLED, &s.Signalled},
		{bpf.GuardCounterSG_COUNTER_SEND_FAILED, &s.FailedSends},
		{bpf.GuardCounterSG_COUNTER_EVENTS_LOST, &s.EventsLost},
	} {
		v, err := g.counter(c.which)
		if err != nil {
			return Stats{}, err
		}
		*c.into = v
	}
	if ps, err := g.objs.SigguardPtrace.Stats(); err == nil {
		s.MissedRuns = ps.RecursionMisses
	}
	return s, nil
}

// ProgramIDs lists the kernel ids of the loaded programs, e.g. to check
// from outside that none is left after Close.
func (g *Guard) ProgramIDs() []ebpf.ProgramID {
	var ids []ebpf.ProgramID
	for _, p := range []*ebpf.Program{g.objs.SigguardPtrace} {
		if p == nil {
			continue
		}
		if info, err := p.Info(); err == nil {
			if id, ok := info.ID(); ok {
				ids = append(ids, id)
			}
		}
	}
	return ids
}

func (g *Guard) detach() error {
	var errs []error
	for _, l := range g.links {
		if err := l.Close(); err != nil {
			errs = append(errs, fmt.Errorf("detach: %w", err))
		}
	}
	g.links = nil
	return errors.Join(errs...)
}

// Close detaches and unloads everything. It is safe to call more than once
// and while Run is blocked, which then returns ErrClosed.
func (g *Guard) Close() error {
	g.closeOnce.Do(func() {
		errs := []error{g.detach()}
		if g.reader != nil {
			errs = append(errs, g.reader.Close())
		}
		errs = append(errs, g.objs.Close())
		g.closeErr = errors.Join(errs...)
	})
	return g.closeErr
}

// Limits says in a few words what the tier cannot prevent.
func (t Tier) Limits() string {
	switch t {
	case TierSignal:
		return "signal at syscall entry; the call itself still runs, so ATTACH, SEIZE and TRACEME take effect"
	}
	return string(t)
}
