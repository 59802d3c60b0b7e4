package guard_test

import (
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/sigguard/sigguard/guard"
	"github.com/sigguard/sigguard/internal/kernfs"
	"github.com/sigguard/sigguard/internal/testenv"
)

// fixedCgroup is a cgroup at a path the test chose.
type fixedCgroup struct {
	*kernfs.OwnCgroup
	destroyed bool
}

// makeCgroup creates the cgroup at exactly path, destroyed at cleanup
// unless the test destroyed it.
func makeCgroup(t *testing.T, path string) *fixedCgroup {
	t.Helper()
	own, err := kernfs.MakeCgroup(path)
	if err != nil {
		t.Fatal(err)
	}
	cg := &fixedCgroup{OwnCgroup: own}
	t.Cleanup(func() { cg.destroy(t) })
	return cg
}

func (cg *fixedCgroup) destroy(t *testing.T) {
	t.Helper()
	if cg.destroyed {
		return
	}
	cg.destroyed = true
	if err := cg.Destroy(); err != nil {
		t.Errorf("remove cgroup: %v", err)
	}
}

func cgroupIno(t *testing.T, path string) uint64 {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}

// waitNotice reads notices until one of kind about path arrives.
func waitNotice(t *testing.T, g *guard.Guard, kind guard.NoticeKind, path string, within time.Duration) guard.Notice {
	t.Helper()
	timeout := time.After(within)
	for {
		select {
		case n := <-g.Notices():
			t.Logf("notice: %s", n)
			if n.Kind == kind && n.Cgroup == path {
				return n
			}
		case <-timeout:
			t.Fatalf("no notice %d about %s within %v", kind, path, within)
		}
	}
}

// killedIn runs one guarded call from cg and reports whether the guard
// killed it.
func killedIn(t *testing.T, offender string, cg *kernfs.OwnCgroup) bool {
	t.Helper()
	cmd := cg.Command(offender, "fail")
	cmd.Env = append(os.Environ(), "OFFENDER_CALLS=1")
	err := cmd.Run()
	if err != nil && !killedBySIGKILL(err) {
		t.Fatalf("offender: %v", err)
	}
	return err != nil
}

// A rule naming a cgroup follows it through docker restart's rmdir and
// mkdir at the same path (a new id) without a reload, and says so.
func TestRecreatedCgroupStaysGuarded(t *testing.T) {
	testenv.RequireRoot(t)
	offender := testenv.Offender(t)
	parent := testenv.NewCgroup(t)
	path := filepath.Join(parent.Path, "box")
	box := makeCgroup(t, path)
	rule := killRule
	rule.Name = "box"
	rule.Match.Cgroup = []string{path}
	r := startGuardWith(t, guard.Config{Rules: []guard.Rule{rule}}, 0)
	if !killedIn(t, offender, box.OwnCgroup) {
		t.Fatal("the offender in the named cgroup was not killed")
	}

	var latencies []time.Duration
	for i := range 10 {
		old := cgroupIno(t, path)
		box.destroy(t)
		began := time.Now()
		box = makeCgroup(t, path)
		n := waitNotice(t, r.g, guard.NoticeCgroupRecreated, path, 5*time.Second)
		latencies = append(latencies, time.Since(began))
		if now := cgroupIno(t, path); n.OldID != old || n.NewID != now || !slices.Equal(n.Rules, []string{"box"}) {
			t.Errorf("recreation %d: notice %+v, want ids %d -> %d for rule box", i, n, old, now)
		}
		// The notice follows the kernel's table: the new cgroup is guarded.
		if !killedIn(t, offender, box.OwnCgroup) {
			t.Fatalf("recreation %d: the offender in the recreated cgroup was not killed", i)
		}
	}
	slices.Sort(latencies)
	t.Logf("mkdir to the kernel's table updated (notice received): median %v, max %v over %d recreations",
		latencies[len(latencies)/2], latencies[len(latencies)-1], len(latencies))

	// Removed for good: said after a grace, and the rule stays loaded.
	box.destroy(t)
	waitNotice(t, r.g, guard.NoticeCgroupRemoved, path, 5*time.Second)
	if killedIn(t, offender, parent.OwnCgroup) {
		t.Error("an offender outside the named cgroup was killed")
	}
}

// A path missing several levels deep, made at once (mkdir -p): the watch
// on the nearest ancestor hears only the first level; the levels below
// are found by looking again once the watch has moved down, not at the
// next rescan 10 s later. Made and removed again and again, to give a
// race between looking and watching its chances.
func TestMissingPathMadeAtOnce(t *testing.T) {
	testenv.RequireRoot(t)
	offender := testenv.Offender(t)
	parent := testenv.NewCgroup(t)
	levels := []string{filepath.Join(parent.Path, "a")}
	levels = append(levels, filepath.Join(levels[0], "b"))
	levels = append(levels, filepath.Join(levels[1], "c"))
	path := levels[2]
	rule := killRule
	rule.Name = "deep"
	rule.Match.Cgroup = []string{path}
	r := startGuardWith(t, guard.Config{Rules: []guard.Rule{rule}}, 0)
	waitNotice(t, r.g, guard.NoticeCgroupMissing, path, time.Second)
	var own *kernfs.OwnCgroup
	remove := func() {
		if own != nil {
			if err := own.Destroy(); err != nil {
				t.Fatal(err)
			}
			own = nil
		}
		for _, dir := range []string{levels[1], levels[0]} {
			if err := os.Remove(dir); err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
		}
	}
	t.Cleanup(remove)
	for round := range 10 {
		for _, dir := range levels[:2] {
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		var err error
		if own, err = kernfs.MakeCgroup(path); err != nil {
			t.Fatal(err)
		}
		kind := guard.NoticeCgroupRecreated // within the 2 s before a removal is announced
		if round == 0 {
			kind = guard.NoticeCgroupCreated
		}
		if n := waitNotice(t, r.g, kind, path, time.Second); n.NewID != cgroupIno(t, path) {
			t.Fatalf("round %d: notice %+v, want id %d", round, n, cgroupIno(t, path))
		}
		if round < 9 {
			remove()
		}
	}
	if !killedIn(t, offender, own) {
		t.Fatal("the offender in the path made at once was not killed")
	}
}

// A cgroup missing at start loads with a notice and matches nothing; once
// made, it is guarded. A path that can never be a cgroup stays an error.
func TestMissingCgroupLoadsThenFollows(t *testing.T) {
	testenv.RequireRoot(t)
	offender := testenv.Offender(t)
	parent := testenv.NewCgroup(t)
	path := filepath.Join(parent.Path, "later", "deeper")
	rule := killRule
	rule.Name = "later"
	rule.Match.Cgroup = []string{path}
	r := startGuardWith(t, guard.Config{Rules: []guard.Rule{rule}}, 0)
	waitNotice(t, r.g, guard.NoticeCgroupMissing, path, time.Second)
	if killedIn(t, offender, parent.OwnCgroup) {
		t.Fatal("an offender outside the missing cgroup was killed")
	}
	// Its parent appears first: the watch moves down to it.
	makeCgroup(t, filepath.Dir(path))
	time.Sleep(50 * time.Millisecond)
	deeper := makeCgroup(t, path)
	n := waitNotice(t, r.g, guard.NoticeCgroupCreated, path, 5*time.Second)
	if n.NewID != cgroupIno(t, path) {
		t.Errorf("notice %+v, want id %d", n, cgroupIno(t, path))
	}
	if !killedIn(t, offender, deeper.OwnCgroup) {
		t.Fatal("the offender in the cgroup made after start was not killed")
	}

	for _, never := range []string{"../outside", filepath.Join(parent.Path, "cgroup.procs", "x")} {
		bad := guard.Config{Rules: []guard.Rule{{Name: "bad", Match: guard.Matchers{Cgroup: []string{never}}, Action: guard.ActionAudit, Signal: 9}}}
		if err := r.g.Reload(bad); err == nil {
			t.Errorf("reload naming %s, which can never be a cgroup, was accepted", never)
		}
		if _, err := bad.Check(); err == nil {
			t.Errorf("check of %s passed", never)
		}
	}
	missing := guard.Config{Rules: []guard.Rule{{Name: "m", Match: guard.Matchers{TargetCgroup: []string{path + "-not-yet"}}, Action: guard.ActionAudit, Signal: 9}}}
	notices, err := missing.Check()
	if err != nil || len(notices) != 1 || notices[0].Kind != guard.NoticeCgroupMissing {
		t.Errorf("check of a missing cgroup: %v, %v; want one notice", notices, err)
	}
}

// The kernel caches what the cgroup rules say of each cgroup: a reload
// that names another cgroup, and one that names the first again, must
// each be obeyed at once, never the verdict cached under the policy
// before (a cached "no rule" would let an offender through; a cached
// "rule" would kill a process no rule names any more).
func TestCachedCgroupVerdictFollowsReloads(t *testing.T) {
	testenv.RequireRoot(t)
	offender := testenv.Offender(t)
	parent := testenv.NewCgroup(t)
	x := makeCgroup(t, filepath.Join(parent.Path, "x"))
	y := makeCgroup(t, filepath.Join(parent.Path, "y"))
	naming := func(path string) guard.Config {
		rule := killRule
		rule.Name = "one"
		rule.Match.Cgroup = []string{path}
		return guard.Config{Rules: []guard.Rule{rule}}
	}
	r := startGuardWith(t, naming(x.Path), 0)
	for round, want := range []string{"x", "y", "x", "y", "x"} {
		if round > 0 {
			path := map[string]string{"x": x.Path, "y": y.Path}[want]
			if err := r.g.Reload(naming(path)); err != nil {
				t.Fatal(err)
			}
		}
		// Twice each: the second call is judged on the verdict the first cached.
		for range 2 {
			if killedIn(t, offender, x.OwnCgroup) != (want == "x") {
				t.Fatalf("round %d (rule names %s): offender in x killed: %v", round, want, want != "x")
			}
			if killedIn(t, offender, y.OwnCgroup) != (want == "y") {
				t.Fatalf("round %d (rule names %s): offender in y killed: %v", round, want, want != "y")
			}
		}
	}
}
