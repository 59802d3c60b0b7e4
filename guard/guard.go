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
	"maps"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"sort"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/ringbuf"

	"golang.org/x/sys/unix"

	"github.com/sigguard/sigguard/internal/bpf"
	"github.com/sigguard/sigguard/internal/kernfs"
)

// pollInterval bounds how long a loss or a cancelled context goes unnoticed
// while no event arrives.
const pollInterval = 100 * time.Millisecond

// linger is how soon the reader looks again after it has drained events:
// the kernel wakes it at most once per millisecond, so events that follow
// a wakeup closely are picked up by this deadline instead.
const linger = 2 * time.Millisecond

// Guard is a running set of attached programs and the reader of their events.
type Guard struct {
	spec    *ebpf.CollectionSpec
	coll    *ebpf.Collection // the maps, created once; programs load into them
	maps    bpf.GuardMaps
	allMaps map[string]*ebpf.Map // every map by name, for loading programs into
	reader  *ringbuf.Reader

	// mu serialises Reload, and guards links and current against it.
	mu          sync.Mutex
	progs       map[string]*ebpf.Program // loaded when a policy first needs them
	links       map[Syscall][]link.Link
	compatEnter link.Link // whole-table hooks for 32-bit syscalls
	compatExit  link.Link
	onceLinks   map[string]link.Link // tracing hooks attached once needed, kept until Close
	current     *compiled            // the generation in force
	previous    *compiled            // the one before, whose tables are cleared on reuse
	// names holds each generation's rule names for the reader, which
	// must name events of the generation that matched them.
	names [2]atomic.Pointer[[]string]

	// Reused by Run for every record, so reading allocates nothing.
	record ringbuf.Record
	raw    bpf.GuardEvent
	event  Event
	clock  bootClock

	lostReported uint64
	unconfirmed  atomic.Uint64
	cleanup      atomic.Bool // the policy in force cleans up after kills
	runMu        sync.Mutex  // held by Run
	closed       atomic.Bool // set first thing by Close
	closeOnce    sync.Once
	closeErr     error

	tier       Tier     // how the guard enforces, chosen at start
	passedOver []string // why better tiers were not taken

	pin   *pinState  // nil unless Config.PinDir
	pinMu sync.Mutex // guards pin.record

	sharers sharerState // whether kills reach a caller's descriptor-table sharers
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
}

// Start checks the kernel and privileges, loads the programs with cfg's
// rules and attaches the hooks they need. When Start returns without error,
// enforcement is live; on error nothing is left loaded.
func Start(cfg Config) (_ *Guard, err error) {
	if err := validateRingBufferSize(cfg.RingBufferBytes); err != nil {
		return nil, err
	}
	policy, err := compile(cfg, 0)
	if err != nil {
		return nil, err
	}
	if err := checkPrivileges(); err != nil {
		return nil, err
	}
	// Before any bpf(2) call: a bad directory is bad input.
	var pin *pinState
	if cfg.PinDir != "" {
		if pin, err = claimPinDir(cfg.PinDir); err != nil {
			return nil, err
		}
	}
	raiseMemlock()
	if err := checkKernelAndTracefs(); err != nil {
		if pin != nil {
			pin.lock.Close()
		}
		return nil, err
	}

	g := &Guard{links: map[Syscall][]link.Link{}, progs: map[string]*ebpf.Program{}, onceLinks: map[string]link.Link{}, pin: pin}
	defer func() {
		if err != nil {
			g.abandonPin()
			_ = g.Close()
		}
	}()
	if err := g.load(cfg); err != nil {
		return nil, err
	}
	if err := g.exemptSelf(); err != nil {
		return nil, err
	}
	if g.reader, err = ringbuf.NewReader(g.maps.Events); err != nil {
		return nil, fmt.Errorf("open ring buffer reader: %w", err)
	}
	g.clock.sync()
	if g.adopting() {
		if err := g.takeOver(cfg); err != nil {
			return nil, err
		}
		g.pin.owned = true
		// An upgrade that died between pinning its own hooks and removing
		// the old build's left both enforcing: finish it.
		if err := g.pin.removeSetAside(); err != nil {
			return nil, err
		}
		return g, nil
	}
	// The deny tier's hook goes first: from the moment a rule is in force,
	// the calls it judges are judged there.
	if err := g.chooseTier(cfg.Tier); err != nil {
		return nil, err
	}
	// Hooks attach last, onto a policy already in place.
	if err := g.install(policy); err != nil {
		return nil, err
	}
	if g.pin != nil {
		if err := g.pinMaps(); err != nil {
			return nil, err
		}
		// Only now may the hooks of a guard this one replaces go.
		if err := g.pin.removeSetAside(); err != nil {
			return nil, err
		}
	}
	return g, nil
}

func checkKernelAndTracefs() error {
	if err := CheckKernel(); err != nil {
		return err
	}
	return kernfs.EnsureTracefs()
}

// raiseMemlock lifts RLIMIT_MEMLOCK, which kernels before 5.11 charge BPF
// maps and programs to; later kernels ignore it. cilium/ebpf's rlimit
// package would do the same, but probes BPF as soon as it is imported,
// and sigguard makes no bpf(2) call before its input is known to be good.
// A failure shows later as a load error, which hintFor explains.
func raiseMemlock() {
	limit := unix.Rlimit{Cur: unix.RLIM_INFINITY, Max: unix.RLIM_INFINITY}
	_ = unix.Setrlimit(unix.RLIMIT_MEMLOCK, &limit)
}

// Reload replaces the rules (and Compat; the ring buffer keeps its size)
// without a moment unguarded: the new rules are written beside the old
// ones, new hooks attached, and one map write makes the kernel switch. On
// error the old rules stay in force.
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
	return g.install(next)
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
	g.previous, g.current = g.current, next
	return g.detachUnneeded(next)
}

// detachUnneeded drops the syscall hooks and 32-bit hooks c does not use:
// after a switch, those only the policy before it used; after an install
// that failed, those it attached for nothing.
func (g *Guard) detachUnneeded(c *compiled) error {
	for s, ls := range g.links {
		if c.syscalls[s] {
			continue
		}
		for _, l := range ls {
			if err := g.dropLink(l); err != nil {
				return fmt.Errorf("detach %s: %w", s, err)
			}
		}
		delete(g.links, s)
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
		if err := g.attach(s); err != nil {
			return err
		}
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

// deleteMatchers empties c's generation of the matcher table. It looks
// through the table rather than at c: a policy adopted from a pin left
// entries this process never compiled.
func (g *Guard) deleteMatchers(c *compiled) error {
	var (
		key   bpf.GuardMatcherKey
		masks bpf.GuardMatcherMasks
		stale []bpf.GuardMatcherKey
	)
	for it := g.maps.Matchers.Iterate(); it.Next(&key, &masks); {
		if key.Generation == c.gen {
			stale = append(stale, key)
		}
	}
	for _, k := range stale {
		if err := g.maps.Matchers.Delete(k); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			return fmt.Errorf("remove old policy: %w", err)
		}
	}
	return nil
}

// waitForRCUGracePeriod returns after every BPF program run that began
// before it has ended: membarrier(MEMBARRIER_CMD_GLOBAL) is
// synchronize_rcu() in the kernel. Where it is unavailable (nohz_full
// kernels refuse it), a pause far longer than any program run stands in.
func waitForRCUGracePeriod() {
	const memberarrierCmdGlobal = 1
	if _, _, errno := unix.Syscall(unix.SYS_MEMBARRIER, memberarrierCmdGlobal, 0, 0); errno != 0 {
		time.Sleep(50 * time.Millisecond)
	}
}

// load creates the maps. Programs are loaded as policies need them: each
// costs ~12 ms of verification here, and most policies need one or two.
func (g *Guard) load(cfg Config) error {
	spec, err := bpf.LoadGuard()
	if err != nil {
		return fmt.Errorf("read embedded bpf object: %w", err)
	}
	if cfg.RingBufferBytes != 0 {
		spec.Maps[bpf.GuardMapEvents].MaxEntries = uint32(cfg.RingBufferBytes)
	}
	var pinned map[string]*ebpf.Map
	if g.adopting() {
		pinned, err = g.pin.loadPinnedMaps(spec)
		if errors.Is(err, errOtherBuild) {
			err = g.pin.setAsideOtherBuild()
		}
		if err != nil {
			return err
		}
		defer func() {
			for _, m := range pinned {
				m.Close()
			}
		}()
	} else if g.pin != nil && !g.pin.empty() {
		// Whatever hooks it did pin still enforce: they stay until a
		// human removes them.
		g.pin.foreign = true
		return fmt.Errorf("%s holds an incomplete pin, left by a sigguard that failed while pinning "+
			"(sigguard unpin --pin-dir %s removes it)", g.pin.dir, g.pin.dir)
	}
	g.spec = spec
	g.coll, err = ebpf.NewCollectionWithOptions(&ebpf.CollectionSpec{Maps: spec.Maps, Variables: spec.Variables, Types: spec.Types},
		ebpf.CollectionOptions{MapReplacements: pinned})
	if err != nil {
		return fmt.Errorf("create bpf maps: %w%s", err, hintFor(err))
	}
	// Assign takes the named maps out of coll.Maps; programs loaded later
	// need all of them, the internal .rodata and .bss included.
	g.allMaps = maps.Clone(g.coll.Maps)
	if err := g.coll.Assign(&g.maps); err != nil {
		return fmt.Errorf("create bpf maps: %w", err)
	}
	return nil
}

// program loads a program once, into the maps load created.
func (g *Guard) program(name string) (*ebpf.Program, error) {
	if p := g.progs[name]; p != nil {
		return p, nil
	}
	one := &ebpf.CollectionSpec{
		Maps: g.spec.Maps, Variables: g.spec.Variables, Types: g.spec.Types,
		Programs: map[string]*ebpf.ProgramSpec{name: g.spec.Programs[name]},
	}
	coll, err := ebpf.NewCollectionWithOptions(one, ebpf.CollectionOptions{MapReplacements: g.allMaps})
	if err != nil {
		var ve *ebpf.VerifierError
		if errors.As(err, &ve) {
			// The whole log: its last lines alone rarely explain a rejection.
			return nil, fmt.Errorf("load bpf program %s: the verifier rejected it: %w\n%+v", name, err, ve)
		}
		return nil, fmt.Errorf("load bpf program %s: %w%s", name, err, hintFor(err))
	}
	defer coll.Close()
	p := coll.DetachProgram(name)
	g.progs[name] = p
	return p, nil
}

// writeGeneration fills the inactive generation's tables and zeroes its
// per-rule counters. The kernel does not read them until `active` flips.
func (g *Guard) writeGeneration(c *compiled) error {
	for k, v := range c.matchers {
		if err := g.maps.Matchers.Update(k, v, ebpf.UpdateAny); err != nil {
			return fmt.Errorf("write policy values: %w (the kernel table holds %d)", err, g.maps.Matchers.MaxEntries())
		}
	}
	for i := uint32(0); i < MaxRules; i++ {
		var r bpf.GuardRule
		if int(i) < len(c.rules) {
			r = c.rules[i]
		}
		if err := g.maps.Rules.Update(c.gen*MaxRules+i, &r, ebpf.UpdateAny); err != nil {
			return fmt.Errorf("write rule %d: %w", i, err)
		}
	}
	zero := make([]uint64, ebpf.MustPossibleCPU())
	for i := uint32(0); i < MaxRules*ruleCounters; i++ {
		if err := g.maps.RuleCounters.Update(c.gen*MaxRules*ruleCounters+i, zero, ebpf.UpdateAny); err != nil {
			return fmt.Errorf("reset rule counters: %w", err)
		}
	}
	if err := g.maps.Policies.Update(c.gen, &c.policy, ebpf.UpdateAny); err != nil {
		return fmt.Errorf("write policy: %w", err)
	}
	return g.writeNames(c)
}

const ruleCounters = uint32(bpf.GuardRuleCounterSG_RULE_COUNTER_MAX)

// attach hooks a syscall's tracepoint, once.
func (g *Guard) attach(s Syscall) error {
	if len(g.links[s]) > 0 {
		return nil
	}
	h := hooks[s]
	if h.tracepoint == "" {
		return g.attachTracing(s)
	}
	prog, err := g.program(h.program)
	if err != nil {
		return err
	}
	l, err := retryWhileHeld(func() (link.Link, error) { return link.Tracepoint("syscalls", h.tracepoint, prog, nil) })
	if err != nil {
		hint := hintFor(err)
		if errors.Is(err, os.ErrNotExist) {
			hint = " (the kernel needs CONFIG_FTRACE_SYSCALLS for syscall tracepoints)"
		}
		return fmt.Errorf("attach tracepoint syscalls/%s: %w%s", h.tracepoint, err, hint)
	}
	g.links[s] = []link.Link{l}
	return g.keepLink(h.tracepoint, l)
}

// attachTracing hooks the route that has no syscall, io_uring, with the
// tp_btf programs this kernel takes: all of them, or, on a kernel that
// lacks them, none (OpenRoutes says so).
func (g *Guard) attachTracing(s Syscall) error {
	programs, why := uringPrograms()
	if why != "" {
		return nil
	}
	for _, name := range programs {
		l, err := g.attachProgram(name, name, true)
		if err != nil {
			return err
		}
		g.links[s] = append(g.links[s], l)
		if err := g.keepLink(name, l); err != nil {
			return err
		}
	}
	return nil
}

// isExist recognises EEXIST, which cilium/ebpf reports as text only
// ("cannot create bpf perf link: file exists").
func isExist(err error) bool {
	return err != nil && (errors.Is(err, unix.EEXIST) || strings.HasSuffix(err.Error(), unix.EEXIST.Error()))
}

// attachOnce attaches a tracing program (tp_btf) if it is not yet.
func (g *Guard) attachOnce(name string) error {
	if g.onceLinks[name] != nil {
		return nil
	}
	l, err := g.attachProgram(name, name, false)
	if err != nil {
		return err
	}
	g.onceLinks[name] = l
	return g.keepLink(name, l)
}

// attachProgram loads a program and attaches it to the kernel hook it
// names by BTF; an attach error calls the hook what. A hook that a reload
// may detach and attach again retries while the kernel still holds the
// last link (retryWhileHeld); one kept until Close attaches in one try.
func (g *Guard) attachProgram(name, what string, retry bool) (link.Link, error) {
	p, err := g.program(name)
	if err != nil {
		return nil, err
	}
	attach := func() (link.Link, error) { return attachBTF(p) }
	var l link.Link
	if retry {
		l, err = retryWhileHeld(attach)
	} else {
		l, err = attach()
	}
	if err != nil {
		return nil, fmt.Errorf("attach %s: %w%s", what, err, hintFor(err))
	}
	return l, nil
}

// attachBTF attaches a program that names its kernel hook by BTF:
// link.AttachTracing takes fentry, fexit and fmod_ret programs, an LSM
// program needs link.AttachLSM (AttachTracing refuses its type).
func attachBTF(p *ebpf.Program) (link.Link, error) {
	if p.Type() == ebpf.LSM {
		return link.AttachLSM(link.LSMOptions{Program: p})
	}
	return link.AttachTracing(link.TracingOptions{Program: p})
}

// syncCompat attaches (before a switch) or detaches (after it) the two
// whole-table hooks for 32-bit syscalls: the entry hook for ptrace,
// process_vm_*, pidfd_getfd and perf_event_open, the exit hook for opens of
// /proc/<pid>/mem. Each costs every syscall of every process, so each runs
// only when the policy needs it.
func (g *Guard) syncCompat(c *compiled, detach bool) error {
	for _, h := range []struct {
		link *link.Link
		prog string
		need bool
	}{
		{&g.compatEnter, bpf.GuardProgSgCompatEnter, c.compat && c.guardsAny(compatEnterSyscalls)},
		{&g.compatExit, bpf.GuardProgSgCompatExit, c.compat && c.guardsAny(Presets["proc-mem"])},
	} {
		switch {
		case !detach && h.need && *h.link == nil:
			l, err := g.attachProgram(h.prog, "32-bit syscall hook", true)
			if err != nil {
				return err
			}
			*h.link = l
			if err := g.keepLink(h.prog, l); err != nil {
				return err
			}
		case detach && !h.need && *h.link != nil:
			if err := g.dropLink(*h.link); err != nil {
				return fmt.Errorf("detach 32-bit syscall hook: %w", err)
			}
			*h.link = nil
		}
	}
	return nil
}

var compatEnterSyscalls = []Syscall{SyscallPtrace, SyscallProcessVMReadv, SyscallProcessVMWritev, SyscallPidfdGetfd, SyscallPerfEventOpen}

// retryWhileHeld attaches, and tries again for up to a second while the
// kernel refuses with EEXIST: a hook detached by an earlier reload stays
// attached while any process still holds its link, and a child this
// process forks holds a copy until its exec has closed it.
func retryWhileHeld(attach func() (link.Link, error)) (link.Link, error) {
	l, err := attach()
	for wait := time.Millisecond; isExist(err) && wait < time.Second; wait *= 2 {
		time.Sleep(wait)
		l, err = attach()
	}
	return l, err
}

func (g *Guard) detachCompat() error {
	var errs []error
	for _, l := range []*link.Link{&g.compatEnter, &g.compatExit} {
		if *l != nil {
			errs = append(errs, (*l).Close())
			*l = nil
		}
	}
	return errors.Join(errs...)
}

// Compat reports whether 32-bit syscalls are hooked.
func (g *Guard) Compat() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.compatEnter != nil || g.compatExit != nil
}

// Hooked lists the syscalls whose hooks are attached.
func (g *Guard) Hooked() []Syscall {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []Syscall
	for s := range hooks {
		if len(g.links[s]) > 0 {
			out = append(out, s)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// Run delivers every event to handle until ctx ends or handle fails. The
// *Event is reused between calls. Loss of events is reported as a KindLost
// event within about 100 ms of the kernel counting it. When ctx ends, Run
// detaches the programs (enforcement stops), delivers the events still in
// the ring buffer and returns nil.
func (g *Guard) Run(ctx context.Context, handle func(*Event) error) error {
	// Close waits on this lock before it frees the maps Run reads.
	g.runMu.Lock()
	defer g.runMu.Unlock()
	if g.closed.Load() {
		return ErrClosed
	}
	err := g.run(ctx, handle)
	if err != nil && g.closed.Load() {
		return ErrClosed
	}
	return err
}

func (g *Guard) run(ctx context.Context, handle func(*Event) error) error {
	tick := time.Now().Add(pollInterval)
	g.reader.SetDeadline(tick)
	sawEvents := false
	for n := 1; ; n++ {
		err := g.reader.ReadInto(&g.record)
		switch {
		case err == nil:
			if err := g.deliver(handle); err != nil {
				return err
			}
			// Events came: look again within linger, not at the next
			// tick, for those written without a wakeup.
			if !sawEvents {
				sawEvents = true
				g.reader.SetDeadline(time.Now().Add(linger))
			}
			// Under a steady flood the deadline never fires; look at
			// the clock every few records instead.
			if n%64 != 0 || time.Now().Before(tick) {
				continue
			}
		case errors.Is(err, os.ErrDeadlineExceeded):
		case errors.Is(err, ringbuf.ErrClosed):
			return ErrClosed
		default:
			return fmt.Errorf("read ring buffer: %w", err)
		}

		now := time.Now()
		if !now.Before(tick) {
			if ctx.Err() != nil {
				return g.drain(handle)
			}
			if err := g.reportLoss(handle); err != nil {
				return err
			}
			if err := g.reportUnconfirmed(handle); err != nil {
				return err
			}
			if err := g.noteReaderProgress(); err != nil {
				return err
			}
			g.clock.sync()
			tick = now.Add(pollInterval)
		}
		// After events, look again soon: more may have come without a
		// wakeup. Idle, sleep until the next tick.
		deadline := tick
		if sawEvents {
			deadline = now.Add(linger)
			sawEvents = false
		}
		g.reader.SetDeadline(deadline)
	}
}

// ErrClosed is returned by Run when the Guard was closed under it.
var ErrClosed = errors.New("guard closed")

func (g *Guard) deliver(handle func(*Event) error) error {
	if !decodeEvent(g.record.RawSample, &g.raw, &g.clock, &g.names, &g.event) {
		return fmt.Errorf("short ring buffer record: %d bytes, want %d (kernel and user space built from different sources?)",
			len(g.record.RawSample), eventSize)
	}
	if g.event.Kind == KindExited {
		g.cleanUpAfter(&g.event, g.raw.CallNs)
	}
	return handle(&g.event)
}

// drain stops enforcement (unless pinned: then it goes on without a
// reader), then hands over what the ring buffer still holds.
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
	}
}

// RuleStats are one rule's kernel-side counters.
type RuleStats struct {
	Rule        string
	Matched     uint64
	Signalled   uint64
	FailedSends uint64
	Denied      uint64
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
		for c, into := range []*uint64{&out[i].Matched, &out[i].Signalled, &out[i].FailedSends, &out[i].Denied} {
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

// A pinned guard's hooks stay attached through their pins: closing them
// here only lets go of this process's hold.
func (g *Guard) detach() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	var errs []error
	for s, ls := range g.links {
		for _, l := range ls {
			if err := l.Close(); err != nil {
				errs = append(errs, fmt.Errorf("detach %s: %w", s, err))
			}
		}
		delete(g.links, s)
	}
	errs = append(errs, g.detachCompat())
	for name, l := range g.onceLinks {
		errs = append(errs, l.Close())
		delete(g.onceLinks, name)
	}
	return errors.Join(errs...)
}

// Close detaches and unloads everything. It is safe to call more than once
// and while Run is running: Close interrupts it, waits for it to return
// (with ErrClosed), and only then frees what Run reads.
func (g *Guard) Close() error {
	g.closeOnce.Do(func() {
		g.closed.Store(true)
		errs := []error{g.detach()}
		if g.pin != nil && g.pin.lock != nil {
			errs = append(errs, g.releasePin())
		}
		g.mu.Lock()
		g.current = nil
		g.mu.Unlock()
		if g.reader != nil {
			errs = append(errs, g.reader.Close())
		}
		g.runMu.Lock()
		defer g.runMu.Unlock()
		for _, p := range g.progs {
			errs = append(errs, p.Close())
		}
		errs = append(errs, g.maps.Close())
		if g.coll != nil {
			g.coll.Close()
		}
		g.closeErr = errors.Join(errs...)
	})
	return g.closeErr
}
