package guard_test

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sigguard/sigguard/guard"
	"github.com/sigguard/sigguard/internal/testenv"
)

// state reads a process's state letter ("S", "T"...).
func state(t *testing.T, pid int) string {
	t.Helper()
	s, _, err := testenv.ProcStatus(pid)
	if err != nil {
		t.Fatalf("read state of %d: %v", pid, err)
	}
	letter, _, _ := strings.Cut(s, " ")
	return letter
}

// waitForState waits up to 2 s for pid to be in state want.
func waitForState(t *testing.T, pid int, want string) bool {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if state(t, pid) == want {
			return true
		}
	}
	return false
}

// A killed PTRACE_ATTACH still stops its victim; sigguard resumes it, but
// only if it was running before.
func TestAttachVictimIsResumedOnlyIfItWasRunning(t *testing.T) {
	testenv.RequireRoot(t)
	offender := testenv.Offender(t)
	for _, tc := range []struct {
		name           string
		stoppedBefore  bool
		keepCollateral bool
		want           string // victim's state after
	}{
		{"running victim is resumed", false, false, "S"},
		{"stopped victim stays stopped", true, false, "T"},
		{"keep-collateral leaves it stopped", false, true, "T"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cg := testenv.NewCgroup(t)
			r := startGuard(t, cg, killRule, guard.Config{KeepCollateral: tc.keepCollateral}, 0)
			victim := cg.Start(t, "sleep", "60").Process.Pid
			if tc.stoppedBefore {
				syscall.Kill(victim, syscall.SIGSTOP)
				if !waitForState(t, victim, "T") {
					t.Fatal("victim did not stop")
				}
			}
			cmd := cg.Command(offender, "attach", strconv.Itoa(victim))
			cmd.Env = append(os.Environ(), "OFFENDER_CALLS=1")
			assertKilled(t, cmd.Run(), "attacher")
			exits := r.exitsOf(cmd.Process.Pid)
			if len(exits) != 1 {
				t.Fatalf("no exit confirmed: %+v", exits)
			}
			wantResumed := 0
			if tc.want == "S" {
				wantResumed = victim
			}
			if exits[0].Resumed != wantResumed {
				t.Errorf("exit event says resumed %d, want %d", exits[0].Resumed, wantResumed)
			}
			// A stop that never ends shows as T however long one waits;
			// a resumed sleep is back to S.
			time.Sleep(200 * time.Millisecond)
			if !waitForState(t, victim, tc.want) {
				t.Errorf("victim is in state %s, want %s", state(t, victim), tc.want)
			}
		})
	}
}

// strace's first ptrace call seizes a child it forked for the purpose;
// killing strace would leave that child in pause() forever.
func TestStraceLeavesNoOrphan(t *testing.T) {
	testenv.RequireRoot(t)
	strace := testenv.RequireCommand(t, "strace")
	for _, keep := range []bool{false, true} {
		t.Run("keep-collateral="+strconv.FormatBool(keep), func(t *testing.T) {
			cg := testenv.NewCgroup(t)
			r := startGuard(t, cg, killRule, guard.Config{KeepCollateral: keep}, 0)
			cmd := cg.Command(strace, "/bin/true")
			assertKilled(t, cmd.Run(), "strace")
			exits := r.exitsOf(cmd.Process.Pid)
			if len(exits) != 1 {
				t.Fatalf("no exit confirmed: %+v", exits)
			}
			var left []int
			for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
				var err error
				if left, err = cg.Pids(); err != nil {
					t.Fatal(err)
				}
				if len(left) == 0 {
					break
				}
			}
			if keep {
				if len(left) != 1 || exits[0].Reaped != 0 {
					t.Errorf("with keep-collateral the probe child should stay: left %v, reaped %d", left, exits[0].Reaped)
				}
				return
			}
			if len(left) != 0 || exits[0].Reaped == 0 {
				t.Errorf("processes left in the cgroup: %v (reaped %d)", left, exits[0].Reaped)
			}
		})
	}
}
