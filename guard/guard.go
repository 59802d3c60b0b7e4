// Package guard loads sigguard's kernel programs, matches callers of
// guarded syscalls against rules inside the kernel, signals them from there
// and delivers a report of every intervention.
//
// A Guard is configured once (Config), started (Start), read until its
// context ends (Run), and closed (Close). Reload replaces its rules;
// Notices tells what became of the cgroups they name, which it follows by
// path. The package never logs, exits or reads flags; errors say what went
// wrong and what to do about it.
package guard

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/ringbuf"

	"github.com/sigguard/sigguard/internal/bpf"
)

// Guard is a running set of attached programs and the reader of their events.
type Guard struct {
	spec    *ebpf.CollectionSpec
	coll    *ebpf.Collection // the maps, created once; programs load into them
	maps    bpf.GuardMaps
	allMaps map[string]*ebpf.Map // every map by name, for loading programs into
	reader  *ringbuf.Reader

	// mu serialises Reload, and guards hooks and current against it.
	mu       sync.Mutex
	progs    map[string]*ebpf.Program // loaded when a policy first needs them
	hooks    hookRegistry             // every hook attached or adopted, pinned or not
	current  *compiled                // the generation in force
	previous *compiled                // the one before, whose tables are cleared on reuse
	// names holds each generation's rule names for the reader, which
	// must name events of the generation that matched them.
	names [2]atomic.Pointer[[]string]

	// Reused by Run for every record, so reading allocates nothing.
	record ringbuf.Record
	raw    bpf.GuardEvent
	event  Event
	clock  bootClock
	ids    identities // names the cgroups of events, for the reader

	lostReported uint64
	unconfirmed  atomic.Uint64
	cleanup      atomic.Bool // the policy in force cleans up after kills
	runMu        sync.Mutex  // held by Run
	closed       atomic.Bool // set first thing by Close
	closeOnce    sync.Once
	closeErr     error

	tier       Tier     // how the guard enforces, chosen at start
	passedOver []string // why better tiers were not taken
	// vetoRefused: generic syscalls a deny rule names whose function the
	// kernel would not let the veto attach to, and why (generichooks.go).
	vetoRefused map[Syscall]error
	// What reportHeldBack last reported: when, the total, and per rule of
	// the policy it read.
	heldBackAt    time.Time
	heldBackSeen  uint64
	heldBackRules []uint64
	heldBackGen   *compiled

	pin   *pinState  // nil unless Config.PinDir
	pinMu sync.Mutex // guards pin.record

	sharers sharerState // whether kills reach a caller's descriptor-table sharers

	cgroups *cgroupTracker // follows the cgroups the policy names
	notices chan Notice    // for Notices; closed by Close
}
