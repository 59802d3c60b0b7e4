package watchdog

import (
	"bufio"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// The watchdog resumes a process left stopped with no tracer, and returns
// once that process has exited. The victim says each SIGCONT it gets, and
// nothing but the watchdog sends one.
func TestWatchResumesAStoppedProcessUntilItExits(t *testing.T) {
	victim := exec.Command("sh", "-c", `trap 'echo resumed' CONT; echo ready; while :; do sleep 0.01; done`)
	out, err := victim.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := victim.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { victim.Process.Kill() })
	lines := bufio.NewScanner(out)
	if !lines.Scan() || lines.Text() != "ready" {
		t.Fatalf("victim did not start: %q", lines.Text())
	}
	pid := victim.Process.Pid
	done := make(chan error, 1)
	go func() { done <- watch(pid) }()

	for round := 0; round < 3; round++ {
		if err := victim.Process.Signal(syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
		resumed := make(chan bool, 1)
		go func() { resumed <- lines.Scan() && lines.Text() == "resumed" }()
		select {
		case ok := <-resumed:
			if !ok {
				t.Fatalf("round %d: victim said %q, want resumed", round, lines.Text())
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("round %d: the stopped victim was not resumed within 5 s", round)
		}
	}
	victim.Process.Kill()
	victim.Wait()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("watch: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("watch did not return after its process exited")
	}
}

// A process under a live tracer, or running, is not the watchdog's.
func TestStoppedUntracedReadsTheState(t *testing.T) {
	victim := exec.Command("sleep", "60")
	if err := victim.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { victim.Process.Kill() })
	pid := victim.Process.Pid
	if stoppedUntraced(pid) {
		t.Fatal("a sleeping process is taken for stopped")
	}
	victim.Process.Signal(syscall.SIGSTOP)
	for deadline := time.Now().Add(5 * time.Second); !stoppedUntraced(pid); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("a stopped process is not seen as stopped")
		}
	}
	if stoppedUntraced(1 << 30) {
		t.Error("a pid that does not exist is taken for stopped")
	}
}

func TestMainRefusesBadInput(t *testing.T) {
	for _, args := range [][]string{nil, {"x"}, {"0"}, {"1", "2"}} {
		if code := Main(args); code != 2 {
			t.Errorf("Main(%q) = %d, want 2", args, code)
		}
	}
}

// The check runs 20 times a second for as long as sigguard runs: it must
// leave no garbage, or the watchdog's heap grows until the collector runs.
func TestStoppedUntracedAllocatesNothing(t *testing.T) {
	victim := exec.Command("sleep", "60")
	if err := victim.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { victim.Process.Kill(); victim.Wait() })
	pid := victim.Process.Pid
	if n := testing.AllocsPerRun(100, func() { stoppedUntraced(pid) }); n != 0 {
		t.Errorf("stoppedUntraced allocates %.1f times a call, want 0", n)
	}
}
