package guard_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/sigguard/sigguard/guard"
	"github.com/sigguard/sigguard/internal/kernfs"
	"github.com/sigguard/sigguard/internal/testenv"
)

// layoutCgroup makes the cgroups names below parent, one inside the next,
// and returns the deepest, opened for CLONE_INTO_CGROUP. They are removed
// at cleanup, after the processes the test started in them are gone
// (cleanups registered later run first).
func layoutCgroup(t *testing.T, parent string, names ...string) (path string, fd int) {
	t.Helper()
	path = parent
	for _, name := range names {
		path = filepath.Join(path, name)
		if err := os.Mkdir(path, 0o755); err != nil {
			t.Fatalf("create cgroup: %v", err)
		}
		dir := path
		t.Cleanup(func() {
			if err := os.Remove(dir); err != nil {
				t.Errorf("remove cgroup: %v", err)
			}
		})
	}
	fd, err := syscall.Open(path, syscall.O_DIRECTORY|syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("open cgroup: %v", err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	return path, fd
}

func commandIn(fd int, name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: fd}
	return cmd
}

// cgroupOf is the id of a cgroup directory and its path as events give it.
func cgroupOf(t *testing.T, dir string) (uint64, string) {
	t.Helper()
	c, err := kernfs.ResolveCgroup(dir)
	if err != nil {
		t.Fatal(err)
	}
	mount, err := kernfs.Cgroup2Mount()
	if err != nil {
		t.Fatal(err)
	}
	return c.ID, strings.TrimPrefix(dir, mount)
}

// An offender in a Docker-named cgroup attacks a victim in a
// Kubernetes-pod-named cgroup of another test cgroup: the intervention
// names both sides' cgroups, containers and pod, in the signal tier (from
// the pid the call names) and in the deny tier the kernel offers (from
// the task its access check hands over); the proof of a kill names the
// offender's.
func TestEventIdentityOfCallerAndTarget(t *testing.T) {
	testenv.RequireRoot(t)
	tiers := []guard.Tier{guard.TierSignal}
	if best, _ := autoTier(t); best != guard.TierSignal {
		tiers = append(tiers, best)
	}
	for _, tier := range tiers {
		t.Run(string(tier), func(t *testing.T) { testEventIdentity(t, tier) })
	}
}

func testEventIdentity(t *testing.T, tier guard.Tier) {
	offender := testenv.Offender(t)
	const (
		callerID = "3f4e8a1c9b2d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f"
		targetID = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
		podUID   = "8e1d2c3b-4a59-4687-9a0b-1c2d3e4f5a6b"
	)
	callerCg, targetCg := testenv.NewCgroup(t), testenv.NewCgroup(t)
	callerDir, callerFd := layoutCgroup(t, callerCg.Path, "docker-"+callerID+".scope")
	targetDir, targetFd := layoutCgroup(t, targetCg.Path,
		"kubepods-besteffort-pod"+strings.ReplaceAll(podUID, "-", "_")+".slice", "cri-containerd-"+targetID+".scope")
	victim := commandIn(targetFd, "sleep", "60")
	if err := victim.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { victim.Process.Kill(); victim.Wait() })

	// The signal tier kills at a ptrace call it judges at entry; a deny
	// tier refuses the attach in its access check.
	rule, mode := killRule, "peekdata"
	if tier != guard.TierSignal {
		rule, mode = guard.Rule{Action: guard.ActionDeny}, "attach"
	}
	r := startGuard(t, callerCg, rule, guard.Config{Tier: tier}, 0)
	cmd := commandIn(callerFd, offender, mode, strconv.Itoa(victim.Process.Pid))
	cmd.Env = append(os.Environ(), "OFFENDER_CALLS=1")
	err := cmd.Run()
	if tier == guard.TierSignal {
		assertKilled(t, err, "offender")
	} else if err != nil {
		t.Fatalf("refused offender: %v", err)
	}
	evs := r.eventsOf(cmd.Process.Pid, 1)
	if len(evs) != 1 || evs[0].Tier != tier {
		t.Fatalf("want one intervention in tier %s, got %+v", tier, evs)
	}
	ev := evs[0]
	wantID, wantPath := cgroupOf(t, callerDir)
	if ev.CgroupID != wantID || ev.Cgroup != wantPath || ev.ContainerID != callerID || ev.PodUID != "" {
		t.Errorf("caller: cgroup %d %q, container %q, pod %q; want %d %q, container %s, no pod",
			ev.CgroupID, ev.Cgroup, ev.ContainerID, ev.PodUID, wantID, wantPath, callerID)
	}
	wantTargetID, wantTargetPath := cgroupOf(t, targetDir)
	if ev.Target != int64(victim.Process.Pid) || ev.TargetCgroupID != wantTargetID || ev.TargetCgroup != wantTargetPath ||
		ev.TargetContainerID != targetID || ev.TargetPodUID != podUID {
		t.Errorf("target %d: cgroup %d %q, container %q, pod %q; want %d: %d %q, container %s, pod %s",
			ev.Target, ev.TargetCgroupID, ev.TargetCgroup, ev.TargetContainerID, ev.TargetPodUID,
			victim.Process.Pid, wantTargetID, wantTargetPath, targetID, podUID)
	}
	if ev.PID != cmd.Process.Pid || ev.NsPID != ev.PID || ev.TargetNsPID != victim.Process.Pid {
		t.Errorf("pids: %d (ns %d), target ns pid %d", ev.PID, ev.NsPID, ev.TargetNsPID)
	}
	if tier != guard.TierSignal {
		return
	}
	exits := r.exitsOf(cmd.Process.Pid)
	if len(exits) != 1 || exits[0].CgroupID != wantID || exits[0].Cgroup != wantPath || exits[0].ContainerID != callerID ||
		exits[0].TargetCgroupID != 0 {
		t.Errorf("proof of kill: %+v; want the caller's cgroup %d %q", exits, wantID, wantPath)
	}
}

// A call that reaches no task names no target cgroup; the caller's is
// named all the same, here a plain cgroup that is no container.
func TestEventIdentityWithoutTarget(t *testing.T) {
	testenv.RequireRoot(t)
	offender := testenv.Offender(t)
	cg := testenv.NewCgroup(t)
	rule := killRule
	rule.Action = guard.ActionAudit
	r := startGuard(t, cg, rule, guard.Config{}, 0)

	cmd := cg.Command(offender, "fail")
	cmd.Env = append(os.Environ(), "OFFENDER_CALLS=2")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	evs := r.eventsOf(cmd.Process.Pid, 2)
	wantID, wantPath := cgroupOf(t, cg.Path)
	if len(evs) != 2 {
		t.Fatalf("want 2 events, got %d", len(evs))
	}
	for _, ev := range evs {
		if ev.TargetKind != guard.TargetMissing || ev.CgroupID != wantID || ev.Cgroup != wantPath || ev.ContainerID != "" ||
			ev.TargetCgroupID != 0 || ev.TargetCgroup != "" {
			t.Errorf("event %+v; want the caller's cgroup %d %q and no target cgroup", ev, wantID, wantPath)
		}
	}
}
