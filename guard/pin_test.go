package guard_test

import (
	"context"
	"errors"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sigguard/sigguard/guard"
	"github.com/sigguard/sigguard/internal/bpf"
	"github.com/sigguard/sigguard/internal/testenv"
)

// requirePinning skips where hooks cannot be pinned (before Linux 5.15);
// TestPinningBefore515IsRefused checks what happens there instead.
func requirePinning(t *testing.T) {
	t.Helper()
	testenv.RequireRoot(t)
	if !testenv.KernelAtLeast(t, 5, 15) {
		t.Skip("syscall tracepoint links are pinnable from Linux 5.15 (TestPinningBefore515IsRefused runs instead)")
	}
}

func TestPinningBefore515IsRefused(t *testing.T) {
	testenv.RequireRoot(t)
	if testenv.KernelAtLeast(t, 5, 15) {
		t.Skip("this kernel pins hooks (the other pin tests run)")
	}
	dir := testenv.PinDir(t)
	cg := testenv.NewCgroup(t)
	g, err := guard.Start(pinnedConfig(cg, dir, guard.ActionAudit))
	if err == nil {
		g.Close()
		t.Fatal("pinning started on a kernel that cannot pin tracepoint links")
	}
	if !strings.Contains(err.Error(), "Linux 5.15") {
		t.Errorf("error does not say what is needed: %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("a failed pin left %d entries in %s", len(entries), dir)
	}
}

// pinnedConfig is a kill rule for the test's cgroup, pinned in dir.
func pinnedConfig(cg *testenv.Cgroup, dir string, action guard.Action) guard.Config {
	return guard.Config{PinDir: dir, Rules: []guard.Rule{{
		Name: "pinned", Syscalls: []guard.Syscall{guard.SyscallPtrace}, Action: action, Signal: syscall.SIGKILL,
		Match: guard.Matchers{Cgroup: []string{cg.Path}},
	}}}
}

// attackOnce runs an offender in mode (attach, perf-open...) against a
// sleeping victim and returns how it ended and how many calls returned to it.
func attackOnce(t *testing.T, cg *testenv.Cgroup, mode string) (*os.ProcessState, error, uint64) {
	t.Helper()
	victim := cg.Start(t, "sleep", "60")
	count := testenv.NewCounter(t)
	cmd := cg.Command(testenv.Offender(t), mode, strconv.Itoa(victim.Process.Pid))
	cmd.Env = append(os.Environ(), count.Env())
	err := cmd.Run()
	return cmd.ProcessState, err, count.Value(t)
}

// collect runs g's reader until stop, keeping the interventions.
func collect(t *testing.T, g *guard.Guard) (events func() []guard.Event, stop func()) {
	var mu sync.Mutex
	var got []guard.Event
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- g.Run(ctx, func(ev *guard.Event) error {
			if ev.Kind == guard.KindIntervention {
				mu.Lock()
				got = append(got, *ev)
				mu.Unlock()
			}
			return nil
		})
	}()
	events = func() []guard.Event {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(got)
	}
	stop = func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
		if err := g.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	}
	return events, stop
}

func TestPinnedGuardOutlivesItsProcessAndIsAdopted(t *testing.T) {
	requirePinning(t)
	dir := testenv.PinDir(t)
	cg := testenv.NewCgroup(t)
	cfg := pinnedConfig(cg, dir, guard.ActionSignalProcess)

	g, err := guard.Start(cfg)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	if g.Adopted() != nil {
		t.Fatal("a new pin reports an adoption")
	}
	_, err, n := attackOnce(t, cg, "attach")
	assertKilled(t, err, "offender under the pinning guard")
	events, stop := collect(t, g)
	waitFor(t, "the first intervention", func() bool { return len(events()) == 1 })
	stop()

	// No process holds the programs now: the pins do.
	_, err, n2 := attackOnce(t, cg, "attach")
	assertKilled(t, err, "offender with no sigguard running")
	if n+n2 != 0 {
		t.Errorf("%d calls returned to the offenders, want 0", n+n2)
	}
	st, err := guard.ReadPin(dir)
	if err != nil {
		t.Fatalf("read pin: %v", err)
	}
	if st.Reader != 0 || st.Stats.Interventions != 2 || st.Stats.Signalled != 2 || len(st.Rules) != 1 ||
		st.Rules[0].Rule != "pinned" || st.Rules[0].Matched != 2 || !slices.Contains(st.Hooks, "sys_enter_ptrace") {
		t.Errorf("pin status after the reader left: %+v", st)
	}

	// The same rules again: adopted as they are, the counters continue, and
	// the unattended kill's event is still in the ring buffer.
	g, err = guard.Start(cfg)
	if err != nil {
		t.Fatalf("restart: %v", err)
	}
	a := g.Adopted()
	if a == nil || !a.SamePolicy || a.CrashedReader != 0 || a.Unattended.Interventions != 1 || a.Unattended.Signalled != 1 {
		t.Errorf("adoption: %+v", a)
	}
	rs, err := g.RuleStats()
	if err != nil || len(rs) != 1 || rs[0].Matched != 2 {
		t.Errorf("rule counters after adoption: %+v, %v (want them to continue at 2)", rs, err)
	}
	events, stop = collect(t, g)
	waitFor(t, "the unattended intervention's event", func() bool { return len(events()) == 1 })
	if ev := events()[0]; ev.Rule != "pinned" || ev.Syscall != guard.SyscallPtrace {
		t.Errorf("unattended event: %+v", ev)
	}
	stop()

	// Other rules take over as a reload would: audit lets the offender live.
	g, err = guard.Start(pinnedConfig(cg, dir, guard.ActionAudit))
	if err != nil {
		t.Fatalf("start with other rules: %v", err)
	}
	if a := g.Adopted(); a == nil || a.SamePolicy {
		t.Errorf("adoption with other rules: %+v", a)
	}
	state, err, _ := attackOnce(t, cg, "seize-once")
	if err != nil || !state.Success() {
		t.Errorf("offender under the audit rule: %v", err)
	}
	if err := g.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}

	ids := testenv.PinnedPrograms(t, dir)
	removed, err := guard.Unpin(dir)
	if err != nil || len(removed) == 0 {
		t.Fatalf("unpin: %v, %v", removed, err)
	}
	testenv.AssertUnloaded(t, ids)
	if _, err := guard.ReadPin(dir); !errors.Is(err, guard.ErrNotPinned) {
		t.Errorf("read pin after unpin: %v, want ErrNotPinned", err)
	}
}

func TestSecondGuardOnOnePinIsRefused(t *testing.T) {
	requirePinning(t)
	dir := testenv.PinDir(t)
	cg := testenv.NewCgroup(t)
	cfg := pinnedConfig(cg, dir, guard.ActionAudit)
	g, err := guard.Start(cfg)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	defer g.Close()
	if g2, err := guard.Start(cfg); err == nil {
		g2.Close()
		t.Fatal("a second guard started on the same pin directory")
	}
	if _, err := guard.Unpin(dir); err == nil {
		t.Fatal("unpin went ahead while a guard runs with the pins")
	}
	if st, err := guard.ReadPin(dir); err != nil || st.Reader != os.Getpid() {
		t.Errorf("status while running: %+v, %v (want reader %d)", st, err, os.Getpid())
	}
}

func TestPinDirOutsideBPFFSIsAConfigError(t *testing.T) {
	testenv.RequireRoot(t)
	cg := testenv.NewCgroup(t)
	_, err := guard.Start(pinnedConfig(cg, t.TempDir(), guard.ActionAudit))
	var ce *guard.ConfigError
	if !errors.As(err, &ce) || ce.Setting != guard.SettingPinDir {
		t.Fatalf("start with a pin dir on tmpfs: %v, want a pin directory ConfigError", err)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(3 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// Offenders run back to back while pinned guards hand over to each other:
// with the same rules, with other rules, from "another build" (a record
// naming another object), and with no process at all in between. Not one
// offender may get a call through.
func TestPinHandoversLeaveNoGap(t *testing.T) {
	requirePinning(t)
	offender := testenv.Offender(t)
	dir := testenv.PinDir(t)
	cg := testenv.NewCgroup(t)
	kill := pinnedConfig(cg, dir, guard.ActionSignalProcess)
	other := pinnedConfig(cg, dir, guard.ActionSignalProcess)
	other.Rules[0].Name = "other"
	other.Rules[0].Syscalls = guard.Presets["memory-access"]

	// The first guard pins; from its start on, offenders must die.
	first, err := guard.Start(kill)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	if err := first.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	var handovers int
	var seen []guard.Adoption
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 1; i <= 12; i++ {
			cfg := kill
			if i%3 == 2 {
				cfg = other
			}
			if i%4 == 3 {
				if err := testenv.EditPinRecord(dir, func(r *bpf.GuardPinRecord) { r.Object = [32]uint8{} }); err != nil {
					t.Errorf("rewrite pin record: %v", err)
					return
				}
			}
			g, err := guard.Start(cfg)
			if err != nil {
				t.Errorf("handover %d: %v", i, err)
				return
			}
			if a := g.Adopted(); a != nil {
				seen = append(seen, *a)
			}
			time.Sleep(50 * time.Millisecond)
			if err := g.Close(); err != nil {
				t.Errorf("close %d: %v", i, err)
				return
			}
			handovers++
			time.Sleep(50 * time.Millisecond) // pins alone
		}
	}()

	offenders := 0
	for running := true; running; offenders++ {
		select {
		case <-done:
			running = false
		default:
		}
		count := testenv.NewCounter(t)
		cmd := cg.Command(offender, "fail")
		cmd.Env = append(os.Environ(), count.Env(), "OFFENDER_CALLS=200")
		assertKilled(t, cmd.Run(), "offender "+strconv.Itoa(offenders))
		if n := count.Value(t); n != 0 {
			t.Fatalf("offender %d got %d calls through during a handover", offenders, n)
		}
	}
	var same, replaced, otherBuild int
	for _, a := range seen {
		switch {
		case a.OtherBuild:
			otherBuild++
		case a.SamePolicy:
			same++
		default:
			replaced++
		}
	}
	if handovers != 12 || same == 0 || replaced == 0 || otherBuild == 0 || offenders < 20 {
		t.Errorf("%d handovers (%d same rules, %d other rules, %d other build), %d offenders: the test did not exercise them",
			handovers, same, replaced, otherBuild, offenders)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("pin directory holds %d entries, want maps and links only", len(entries))
	}
	t.Logf("%d offenders killed through %d handovers (%d same rules, %d other rules, %d other build)",
		offenders, handovers, same, replaced, otherBuild)
}
