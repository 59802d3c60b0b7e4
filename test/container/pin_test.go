package container

import (
	"errors"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sigguard/sigguard/internal/testenv"
)

// With --pin and the host's bpf filesystem mounted, enforcement outlives
// sigguard's container: a DaemonSet's pod deleted, or its image rolled,
// leaves no gap. `sigguard unpin`, run in a container of the same image,
// ends it and leaves nothing in /sys/fs/bpf.
func TestPinnedOutlivesContainer(t *testing.T) {
	requireEngine(t)
	w := startWorkload(t)
	// A pin directory of the test's own, never the default one; its
	// cleanup removes what is left and checks the programs are gone.
	pinDir := testenv.PinDir(t)
	s := startSigguard(t, policyFor([2]string{"in-workload", "cgroup: [" + w.cgroup(t) + "]"}), guardOpts{pinDir: pinDir})
	if status := w.offenderIn(t, "attach"); status != killed {
		t.Fatalf("offender in the workload with sigguard running: exit status %d, want %d", status, killed)
	}
	pinned := testenv.PinnedPrograms(t, pinDir)
	if len(pinned) == 0 {
		t.Fatalf("nothing pinned under %s on the host", pinDir)
	}

	reader := s.pid(t)
	if _, err := docker("rm", "--force", s.id); err != nil {
		t.Fatal(err)
	}
	waitGone(t, reader)
	if status := w.offenderIn(t, "attach"); status != killed {
		t.Errorf("offender after sigguard's container was removed: exit status %d, want %d (the pinned hooks enforce)", status, killed)
	}
	if _, status := w.debugIn(t, "strace"); status != killed {
		t.Errorf("strace after sigguard's container was removed: exit status %d, want %d", status, killed)
	}

	unpin := runContainer(t, append(append([]string{"--network", "none", "--pid", "host", "-v", "/sys/fs/bpf:/sys/fs/bpf"},
		capFlags()...), sigguardImage, "unpin", "--pin-dir", pinDir)...)
	if status := unpin.wait(t, 30*time.Second); status != 0 {
		t.Fatalf("sigguard unpin in a container: exit status %d:\n%s", status, unpin.logs(t))
	}
	if out := unpin.stdout(t); !strings.HasPrefix(out, "unpinned "+pinDir) {
		t.Errorf("sigguard unpin said %q, want it to report what it unpinned", out)
	}
	if _, err := os.Stat(pinDir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%s after unpin: %v, want it gone", pinDir, err)
	}
	testenv.AssertUnloaded(t, append(pinned, s.programs...))
	if status := w.offenderIn(t, "attach"); status != 0 {
		t.Errorf("offender after unpin: exit status %d, want 0 (nothing enforces)", status)
	}
}

// capFlags grants sigguardCaps and nothing else.
func capFlags() []string {
	flags := []string{"--cap-drop", "ALL"}
	for _, c := range sigguardCaps {
		flags = append(flags, "--cap-add", c)
	}
	return flags
}

// waitGone waits for a host process to have exited.
func waitGone(t testing.TB, pid int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); errors.Is(err, fs.ErrNotExist) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %d still runs 10 s after its container was removed", pid)
		}
	}
}
