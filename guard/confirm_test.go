package guard

import (
	"context"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/sigguard/sigguard/internal/bpf"
)

func TestIsOverdue(t *testing.T) {
	const now = uint64(100 * time.Second)
	for call, want := range map[uint64]bool{
		now - uint64(2*time.Second):        true,
		now - uint64(UnconfirmedAfter) - 1: true,
		now - uint64(UnconfirmedAfter):     false,
		now - uint64(500*time.Millisecond): false,
		now + uint64(time.Millisecond):     false, // from the future: a clock step
	} {
		if got := isOverdue(call, now); got != want {
			t.Errorf("call %v before now: overdue %v, want %v", time.Duration(now-call), got, want)
		}
	}
}

// A SIGKILLed process that does not exit cannot be made on demand, so the
// test plants the kernel's record of a kill of a live process (a sleep this
// test starts), a second old, and expects one warning and one count.
func TestUnconfirmedKillIsReportedOnce(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("privileged test run without root in CI")
		}
		t.Skip("needs root")
	}
	// Scoped to this test process's descendants (and a pid nobody has).
	g, err := Start(Config{Rules: []Rule{{Match: Matchers{TargetPID: []int{1<<30 - 7}, Ancestor: []int{os.Getpid()}},
		Action: ActionSignalProcess, Signal: syscall.SIGKILL}}})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	victim := exec.Command("sleep", "30")
	if err := victim.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { victim.Process.Kill(); victim.Wait() }()
	now, err := bootNow()
	if err != nil {
		t.Fatal(err)
	}
	planted := bpf.GuardKill{CallNs: now - uint64(time.Second) - uint64(100*time.Millisecond), Syscall: uint16(SyscallPtrace)}
	if err := g.maps.Kills.Put(uint32(victim.Process.Pid), &planted); err != nil {
		t.Fatal(err)
	}
	// Counted as note_kill counts it; forgetting it is counted too.
	if err := g.bumpVariable(bpf.GuardVarKillsNoted); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	var warnings []Event
	if err := g.Run(ctx, func(ev *Event) error {
		if ev.Kind == KindUnconfirmed {
			warnings = append(warnings, *ev)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 1 || warnings[0].PID != victim.Process.Pid || warnings[0].Comm.String() != "sleep" ||
		warnings[0].Latency < UnconfirmedAfter || warnings[0].Rule != "rule-1" {
		t.Fatalf("want one warning about pid %d, got %+v", victim.Process.Pid, warnings)
	}
	if stats, err := g.Stats(); err != nil || stats.Unconfirmed != 1 {
		t.Errorf("stats %+v, %v: want 1 unconfirmed", stats, err)
	}
	// Forgotten, the kill no longer counts as pending for the exit hook.
	var counts [3]uint64
	for i, name := range []string{bpf.GuardVarKillsNoted, bpf.GuardVarKillsEnded, bpf.GuardVarKillsForgotten} {
		if err := g.coll.Variables[name].Get(&counts[i]); err != nil {
			t.Fatal(err)
		}
	}
	if counts[0] != counts[1]+counts[2] || counts[2] != 1 {
		t.Errorf("kills noted %d, ended %d, forgotten %d: want noted = ended + forgotten, one forgotten", counts[0], counts[1], counts[2])
	}
}

func TestParseStartTicks(t *testing.T) {
	got, err := parseStartTicks([]byte("4242 (a) b (c) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 12345 67 18446744073709551615"))
	if err != nil || got != 987654 {
		t.Errorf("start ticks: %d, %v; want 987654 (comm with spaces and parentheses)", got, err)
	}
	if _, err := parseStartTicks([]byte("1 (x) S 1")); err == nil {
		t.Error("a short stat line was accepted")
	}
}
