package guard_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sigguard/sigguard/guard"
	"github.com/sigguard/sigguard/internal/bpf"
	"github.com/sigguard/sigguard/internal/testenv"
)

// An upgrade whose maps have another layout (the pin record grew, say) is
// adopted as another build: no panic, no crash loop, the counts said to
// be unknown, the old hooks removed once the new ones enforce.
func TestAdoptingAPinOfAnotherLayout(t *testing.T) {
	requirePinning(t)
	dir := testenv.PinDir(t)
	cg := testenv.NewCgroup(t)
	cfg := pinnedConfig(cg, dir, guard.ActionSignalProcess)
	pinAndLeave(t, cfg)
	if err := testenv.PinRecordOfAnotherLayout(dir); err != nil {
		t.Fatalf("replace the pin record: %v", err)
	}

	g, err := guard.Start(cfg)
	if err != nil {
		t.Fatalf("adopt a pin of another layout: %v", err)
	}
	if a := g.Adopted(); a == nil || !a.OtherBuild || !a.CountsUnknown {
		t.Errorf("adoption: %+v, want another build with unknown counts", a)
	}
	_, err, n := attackOnce(t, cg, "attach")
	assertKilled(t, err, "offender under the upgraded guard")
	if n != 0 {
		t.Errorf("%d calls returned, want 0", n)
	}
	if err := g.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("pin directory holds %d entries after the upgrade, want maps and links only", len(entries))
	}
	if st, err := guard.ReadPin(dir); err != nil || st.Rules[0].Rule != "pinned" {
		t.Errorf("status after the upgrade: %+v, %v", st, err)
	}
}

// pinAndLeave starts a pinned guard and closes it: its pins go on
// enforcing with no process.
func pinAndLeave(t *testing.T, cfg guard.Config) {
	t.Helper()
	g, err := guard.Start(cfg)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	if err := g.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
}

// A restart with the same rules leaves them in force untouched; the other
// generation may still hold the rules before them, which the next reload
// must clear before writing there, or they would match again.
func TestReloadAfterSameRulesAdoptionForgetsOlderRules(t *testing.T) {
	requirePinning(t)
	dir := testenv.PinDir(t)
	older, current, next := testenv.NewCgroup(t), testenv.NewCgroup(t), testenv.NewCgroup(t)
	scopedTo := func(cg *testenv.Cgroup) guard.Config {
		cfg := pinnedConfig(cg, dir, guard.ActionSignalProcess)
		cfg.Tier = guard.TierSignal
		return cfg
	}
	g, err := guard.Start(scopedTo(older))
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	if err := g.Reload(scopedTo(current)); err != nil {
		t.Fatalf("reload: %v", err)
	}
	if err := g.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	g, err = guard.Start(scopedTo(current))
	if err != nil {
		t.Fatalf("restart: %v", err)
	}
	defer g.Close()
	if a := g.Adopted(); a == nil || !a.SamePolicy {
		t.Fatalf("adoption: %+v, want the same rules left in force", a)
	}
	if err := g.Reload(scopedTo(next)); err != nil {
		t.Fatalf("reload after adoption: %v", err)
	}
	_, err, _ = attackOnce(t, next, "attach")
	assertKilled(t, err, "offender the new rules name")
	state, err, _ := attackOnce(t, older, "seize-once")
	if err != nil || !state.Success() {
		t.Errorf("offender only rules two reloads old named: %v (their matchers outlived them)", err)
	}
}

// The tier of a pinned guard is its hooks': a restart that asks for
// another by name is refused, rather than silently keeping the pinned one.
func TestAdoptionKeepsThePinnedTierOrRefuses(t *testing.T) {
	requirePinning(t)
	dir := testenv.PinDir(t)
	cg := testenv.NewCgroup(t)
	cfg := pinnedConfig(cg, dir, guard.ActionAudit)
	cfg.Tier = guard.TierSignal
	pinAndLeave(t, cfg)
	for _, other := range []guard.Tier{guard.TierLSM, guard.TierFmodRet} {
		cfg.Tier = other
		g, err := guard.Start(cfg)
		var ce *guard.ConfigError
		if !errors.As(err, &ce) || ce.Setting != guard.SettingTier {
			if g != nil {
				g.Close()
			}
			t.Fatalf("adopting a signal-tier pin with --tier %s: %v, want a tier ConfigError", other, err)
		}
	}
	cfg.Tier = guard.TierAuto
	g, err := guard.Start(cfg)
	if err != nil {
		t.Fatalf("adopt with the tier left to the pin: %v", err)
	}
	defer g.Close()
	if g.Tier() != guard.TierSignal {
		t.Errorf("adopted tier %s, want the pinned signal tier", g.Tier())
	}
}

// status and unpin take a directory from the command line: one outside a
// bpf filesystem is bad input, and nothing in it is touched.
func TestUnpinRefusesADirectoryThatHoldsNoPins(t *testing.T) {
	testenv.RequireRoot(t)
	dir := t.TempDir()
	for _, sub := range []string{"maps", "links"} {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	precious := filepath.Join(dir, "maps", "important.db")
	if err := os.WriteFile(precious, []byte("data"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{dir, "relative/dir"} {
		var ce *guard.ConfigError
		if _, err := guard.Unpin(d); !errors.As(err, &ce) || ce.Setting != guard.SettingPinDir {
			t.Errorf("unpin %s: %v, want a pin directory ConfigError", d, err)
		}
		if _, err := guard.ReadPin(d); !errors.As(err, &ce) || ce.Setting != guard.SettingPinDir {
			t.Errorf("status %s: %v, want a pin directory ConfigError", d, err)
		}
	}
	if _, err := os.Stat(precious); err != nil {
		t.Errorf("unpin touched a file outside bpffs: %v", err)
	}
	if _, err := guard.Unpin("/sys/fs/bpf/sigguard-test-never-made"); !errors.Is(err, guard.ErrNotPinned) {
		t.Errorf("unpin of a missing directory: %v, want ErrNotPinned", err)
	}
}

// A pin left incomplete (a sigguard that died while pinning) is refused,
// and left as it is: the hooks it holds still enforce, and the message
// says how to remove it. status says whether any hook is left.
func TestIncompletePinIsRefusedAndLeftInPlace(t *testing.T) {
	requirePinning(t)
	dir := testenv.PinDir(t)
	cg := testenv.NewCgroup(t)
	cfg := pinnedConfig(cg, dir, guard.ActionSignalProcess)
	pinAndLeave(t, cfg)
	if err := os.Remove(filepath.Join(dir, "maps", "pin_meta")); err != nil {
		t.Fatal(err)
	}
	hooks := testenv.PinnedPrograms(t, dir)
	if g, err := guard.Start(cfg); err == nil || !strings.Contains(err.Error(), "sigguard unpin --pin-dir "+dir) {
		if g != nil {
			g.Close()
		}
		t.Fatalf("start on an incomplete pin: %v, want a refusal naming unpin", err)
	}
	if left := testenv.PinnedPrograms(t, dir); len(left) != len(hooks) || len(hooks) == 0 {
		t.Errorf("the refused start removed pinned hooks: %d before, %d after", len(hooks), len(left))
	}
	_, err, _ := attackOnce(t, cg, "attach")
	assertKilled(t, err, "offender under the incomplete pin's hooks")
}

func TestStatusSaysWhenNoHookIsLeft(t *testing.T) {
	requirePinning(t)
	dir := testenv.PinDir(t)
	cg := testenv.NewCgroup(t)
	pinAndLeave(t, pinnedConfig(cg, dir, guard.ActionAudit))
	st, err := guard.ReadPin(dir)
	if err != nil || !st.Enforcing() || st.Reader != 0 || st.TakingOver {
		t.Fatalf("status of a pinned guard: %+v, %v", st, err)
	}
	ids := testenv.PinnedPrograms(t, dir)
	entries, _ := os.ReadDir(filepath.Join(dir, "links"))
	for _, e := range entries {
		if err := os.Remove(filepath.Join(dir, "links", e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	testenv.AssertUnloaded(t, ids)
	if st, err := guard.ReadPin(dir); err != nil || st.Enforcing() {
		t.Errorf("status with every hook gone: %+v, %v, want not enforcing", st, err)
	}
}

// sigguard status takes the pin directory's lock for an instant to see
// whether a reader runs: a start at that moment waits, it does not fail.
func TestStartWaitsOutABriefLockHolder(t *testing.T) {
	requirePinning(t)
	dir := testenv.PinDir(t)
	cg := testenv.NewCgroup(t)
	cfg := pinnedConfig(cg, dir, guard.ActionAudit)
	pinAndLeave(t, cfg)
	f, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	released := time.AfterFunc(100*time.Millisecond, func() { unix.Flock(int(f.Fd()), unix.LOCK_UN) })
	defer released.Stop()
	g, err := guard.Start(cfg)
	if err != nil {
		t.Fatalf("start while status held the lock for 100 ms: %v", err)
	}
	g.Close()
}

// An upgrade that died after pinning its own hooks left the old build's
// set aside, still enforcing: status lists them, and the next adoption
// removes them.
func TestAdoptionFinishesAnInterruptedUpgrade(t *testing.T) {
	requirePinning(t)
	dir, other := testenv.PinDir(t), testenv.PinDir(t)
	cg := testenv.NewCgroup(t)
	cfg := pinnedConfig(cg, dir, guard.ActionAudit)
	pinAndLeave(t, cfg)
	otherCfg := cfg
	otherCfg.PinDir = other
	pinAndLeave(t, otherCfg)
	oldHooks := testenv.PinnedPrograms(t, other)
	if err := os.Rename(filepath.Join(other, "links"), filepath.Join(dir, "old-links")); err != nil {
		t.Fatal(err)
	}
	st, err := guard.ReadPin(dir)
	if err != nil || len(st.SetAside) != len(oldHooks) || len(oldHooks) == 0 {
		t.Fatalf("status of an unfinished upgrade: %+v, %v (want %d set-aside hooks)", st, err, len(oldHooks))
	}
	g, err := guard.Start(cfg)
	if err != nil {
		t.Fatalf("adopt: %v", err)
	}
	defer g.Close()
	if _, err := os.Stat(filepath.Join(dir, "old-links")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the set-aside hooks are still pinned after adoption: %v", err)
	}
	testenv.AssertUnloaded(t, oldHooks)
}

// A start refused while taking a pin over (here for its --tier) leaves
// the pin record as the last reader wrote it: the sigguard that adopts
// the pin next still reports what went on unattended before the refusal.
func TestRefusedAdoptionLeavesTheUnattendedCountsToTheNext(t *testing.T) {
	requirePinning(t)
	dir := testenv.PinDir(t)
	cg := testenv.NewCgroup(t)
	cfg := pinnedConfig(cg, dir, guard.ActionSignalProcess)
	cfg.Tier = guard.TierSignal
	pinAndLeave(t, cfg)
	_, err, n := attackOnce(t, cg, "attach")
	assertKilled(t, err, "offender under the pins alone")
	if n != 0 {
		t.Errorf("%d calls returned, want 0", n)
	}
	cfg.Tier = guard.TierLSM
	g, err := guard.Start(cfg)
	var ce *guard.ConfigError
	if !errors.As(err, &ce) || ce.Setting != guard.SettingTier {
		if g != nil {
			g.Close()
		}
		t.Fatalf("adopting a signal-tier pin with --tier lsm: %v, want a tier ConfigError", err)
	}
	cfg.Tier = guard.TierAuto
	g, err = guard.Start(cfg)
	if err != nil {
		t.Fatalf("adopt after the refused start: %v", err)
	}
	defer g.Close()
	if a := g.Adopted(); a == nil || a.Unattended.Interventions != 1 || a.Unattended.Signalled != 1 {
		t.Errorf("adoption after a refused start: %+v, want the unattended kill (1 intervention, 1 signal) still reported", a)
	}
}

// While a sigguard holds the pin's lock but the record still names the
// last reader, which is gone, status says a takeover is under way.
func TestStatusSaysWhenATakeoverIsUnderway(t *testing.T) {
	requirePinning(t)
	dir := testenv.PinDir(t)
	cg := testenv.NewCgroup(t)
	pinAndLeave(t, pinnedConfig(cg, dir, guard.ActionAudit))
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	setPinReader(t, dir, gone.Process.Pid)
	if st, err := guard.ReadPin(dir); err != nil || st.Reader != 0 || st.TakingOver {
		t.Fatalf("status with no lock held: %+v, %v, want no reader and no takeover", st, err)
	}

	// The lock a starting sigguard takes first: an exclusive flock on the
	// directory, held by another open file than status's.
	f, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	if st, err := guard.ReadPin(dir); err != nil || st.Reader != 0 || !st.TakingOver {
		t.Errorf("status with the lock held and the record naming gone pid %d: %+v, %v, want a takeover under way",
			gone.Process.Pid, st, err)
	}
	setPinReader(t, dir, os.Getpid())
	if st, err := guard.ReadPin(dir); err != nil || st.Reader != os.Getpid() || st.TakingOver {
		t.Errorf("status with the lock held and the record naming a live reader: %+v, %v, want reader %d", st, err, os.Getpid())
	}
}

// setPinReader makes the pin record name pid as its reader.
func setPinReader(t *testing.T, dir string, pid int) {
	t.Helper()
	if err := testenv.EditPinRecord(dir, func(r *bpf.GuardPinRecord) { r.ReaderTgid = uint32(pid) }); err != nil {
		t.Fatal(err)
	}
}
