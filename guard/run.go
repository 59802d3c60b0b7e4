package guard

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/cilium/ebpf/ringbuf"

	"github.com/sigguard/sigguard/internal/bpf"
)

// pollInterval bounds how long a loss or a cancelled context goes unnoticed
// while no event arrives.
const pollInterval = 100 * time.Millisecond

// linger is how soon the reader looks again after it has drained events:
// the kernel wakes it at most once per millisecond, so events that follow
// a wakeup closely are picked up by this deadline instead.
const linger = 2 * time.Millisecond

// Run delivers every event to handle until ctx ends or handle fails. The
// *Event is reused between calls. Loss of events is reported as a KindLost
// event within about 100 ms of the kernel counting it. When ctx ends, Run
// detaches the programs (enforcement stops), delivers the events still in
// the ring buffer and returns nil.
func (g *Guard) Run(ctx context.Context, handle func(*Event) error) error {
	return g.RunBatched(ctx, handle, func() error { return nil })
}

// RunBatched is Run for a handler that holds on to what it makes of
// events (output lines gathered for one write, say) until caughtUp is
// called: whenever the reader has emptied the ring buffer and found
// nothing new within linger (2 ms); at every poll tick (100 ms), for a
// flood that never lets the ring buffer empty; and after the last events
// when ctx ends. While events are few, each so waits in the handler about
// 2 ms at most; under a flood caughtUp runs a few hundred times a second
// at most, not once per event.
func (g *Guard) RunBatched(ctx context.Context, handle func(*Event) error, caughtUp func() error) error {
	// Close waits on this lock before it frees the maps Run reads.
	g.runMu.Lock()
	defer g.runMu.Unlock()
	if g.closed.Load() {
		return ErrClosed
	}
	err := g.run(ctx, handle, caughtUp)
	if err != nil && g.closed.Load() {
		return ErrClosed
	}
	return err
}

func (g *Guard) run(ctx context.Context, handle func(*Event) error, caughtUp func() error) error {
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
			// The ring buffer is empty and stayed so until the deadline.
			if err := caughtUp(); err != nil {
				return err
			}
		case errors.Is(err, ringbuf.ErrClosed):
			return ErrClosed
		default:
			return fmt.Errorf("read ring buffer: %w", err)
		}

		now := time.Now()
		if !now.Before(tick) {
			if ctx.Err() != nil {
				if err := g.drain(handle); err != nil {
					return err
				}
				return caughtUp()
			}
			if err := g.reportLoss(handle); err != nil {
				return err
			}
			if err := g.reportUnconfirmed(handle); err != nil {
				return err
			}
			if err := g.reportHeldBack(handle, now); err != nil {
				return err
			}
			if err := g.noteReaderProgress(); err != nil {
				return err
			}
			if err := caughtUp(); err != nil {
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
	g.ids.fill(&g.event)
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

// heldBackEvery is how often a rule's held-back calls are reported at most.
const heldBackEvery = time.Second

// reportHeldBack reports, once a second at most, each rule whose at_most
// held calls back since the last report: they made no event of their own.
func (g *Guard) reportHeldBack(handle func(*Event) error, now time.Time) error {
	if now.Sub(g.heldBackAt) < heldBackEvery {
		return nil
	}
	total, err := g.counter(bpf.GuardCounterSG_COUNTER_HELD_BACK)
	if err != nil || total == g.heldBackSeen {
		return err
	}
	g.heldBackAt, g.heldBackSeen = now, total
	g.mu.Lock()
	cur := g.current
	g.mu.Unlock()
	if cur == nil {
		return nil
	}
	stats, err := ruleStats(g.maps.RuleCounters, cur.gen, cur.names)
	if err != nil {
		return err
	}
	if g.heldBackRules == nil || g.heldBackGen != cur {
		g.heldBackRules, g.heldBackGen = make([]uint64, len(stats)), cur
	}
	for i, st := range stats {
		if st.HeldBack <= g.heldBackRules[i] {
			continue
		}
		g.event = Event{Kind: KindHeldBack, Time: now, Rule: st.Rule, HeldBack: st.HeldBack - g.heldBackRules[i],
			HeldBackTotal: st.HeldBack}
		g.heldBackRules[i] = st.HeldBack
		if err := handle(&g.event); err != nil {
			return err
		}
	}
	return nil
}
