package guard_test

import (
	"context"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sigguard/sigguard/guard"
	"github.com/sigguard/sigguard/internal/testenv"
)

// A batching handler holds events until caughtUp: that must come soon
// after the events stop, with no more of them and no end of the run, and
// once more after the last events when the run ends.
func TestRunBatchedCatchesUpWhenTheEventsStop(t *testing.T) {
	testenv.RequireRoot(t)
	offender := testenv.Offender(t)
	cg := testenv.NewCgroup(t)
	rule := killRule
	rule.Action = guard.ActionAudit
	rule.Match.Cgroup = []string{cg.Path}
	g, err := guard.Start(guard.Config{Rules: []guard.Rule{rule}, Tier: guard.TierSignal})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()

	var held, released atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- g.RunBatched(ctx, func(ev *guard.Event) error {
			if ev.Kind == guard.KindIntervention {
				held.Add(1)
			}
			return nil
		}, func() error {
			released.Add(held.Swap(0))
			return nil
		})
	}()

	const calls = 100
	cmd := cg.Command(offender, "fail")
	cmd.Env = append(os.Environ(), "OFFENDER_CALLS="+strconv.Itoa(calls))
	if err := cmd.Run(); err != nil {
		t.Fatalf("audited offender: %v", err)
	}
	// The reader takes ~2 ms; a busy machine may delay it, not 1 s.
	for deadline := time.Now().Add(time.Second); released.Load() < calls && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	if n := released.Load(); n != calls {
		t.Errorf("%d of %d events released by caughtUp while the run goes on", n, calls)
	}
	// More events, and the run ends at once: none may stay held.

	again := cg.Command(offender, "fail")
	again.Env = cmd.Env
	if err := again.Run(); err != nil {
		t.Fatalf("audited offender: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
	if n, h := released.Load(), held.Load(); n != 2*calls || h != 0 {
		t.Errorf("after the run: %d events released, %d held; want %d and 0", n, h, 2*calls)
	}
}
