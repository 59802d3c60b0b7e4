package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"
)

var pinDirs atomic.Uint64

// PinDir names a pin directory of the test's own under /sys/fs/bpf (not yet
// created). At cleanup whatever is pinned there is unpinned, and the
// programs its hooks ran must be gone: a test leaves nothing enforcing.
func PinDir(t testing.TB) string {
	t.Helper()
	dir := filepath.Join("/sys/fs/bpf", "sigguard-test-"+strconv.Itoa(os.Getpid())+"-"+strconv.FormatUint(pinDirs.Add(1), 10))
	t.Cleanup(func() {
		ids := PinnedPrograms(t, dir)
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("remove pins: %v", err)
		}
		AssertUnloaded(t, ids)
	})
	return dir
}

// PinnedPrograms lists the programs of the links pinned under dir/links.
func PinnedPrograms(t testing.TB, dir string) []ebpf.ProgramID {
	t.Helper()
	entries, _ := os.ReadDir(filepath.Join(dir, "links"))
	var ids []ebpf.ProgramID
	for _, e := range entries {
		l, err := link.LoadPinnedLink(filepath.Join(dir, "links", e.Name()), nil)
		if err != nil {
			t.Errorf("open pinned link %s: %v", e.Name(), err)
			continue
		}
		if info, err := l.Info(); err == nil {
			ids = append(ids, info.Program)
		}
		l.Close()
	}
	return ids
}

// KernelAtLeast says whether the running kernel is major.minor or newer.
func KernelAtLeast(t testing.TB, major, minor int) bool {
	t.Helper()
	var uts unix.Utsname
	if err := unix.Uname(&uts); err != nil {
		t.Fatal(err)
	}
	var maj, min int
	if _, err := fmt.Sscanf(unix.ByteSliceToString(uts.Release[:]), "%d.%d", &maj, &min); err != nil {
		t.Fatalf("parse kernel release: %v", err)
	}
	return maj > major || (maj == major && min >= minor)
}
