package testenv

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A comm may hold ") " and a state letter, which once fooled a reader of
// /proc/PID/stat cutting at the first ") ": ProcStatus is not fooled,
// and follows the process from sleeping to zombie to gone.
func TestProcStatusReadsPastATrickyComm(t *testing.T) {
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep(1)")
	}
	const comm = "x) Z (y"
	link := filepath.Join(t.TempDir(), comm)
	if err := os.Symlink(sleep, link); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(link, "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waited := false
	t.Cleanup(func() {
		if !waited {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	pid := cmd.Process.Pid
	if got, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm"); strings.TrimSpace(string(got)) != comm {
		t.Fatalf("comm %q, want %q", got, comm)
	}
	waitState := func(prefix string) {
		t.Helper()
		for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			state, tracer, err := ProcStatus(pid)
			if err != nil || tracer != 0 {
				t.Fatalf("status of %d: %q, tracer %d, %v", pid, state, tracer, err)
			}
			if strings.HasPrefix(state, prefix) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("state of %d: %q, want %s...", pid, state, prefix)
			}
		}
	}
	waitState("S (sleeping)")
	cmd.Process.Kill()
	waitState("Z (zombie)")
	cmd.Wait()
	waited = true
	if state, _, err := ProcStatus(pid); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("status of a reaped process: %q, %v; want fs.ErrNotExist", state, err)
	}
}
