// Package testenv is what sigguard's privileged tests share: root checks,
// a cgroup of their own to scope every guard to, offender processes that
// count their returned ptrace calls, and checks that nothing stays loaded.
package testenv

import (
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cilium/ebpf"
)

// RequireRoot skips a privileged test when not root, except in CI, where
// a privileged test that does not run is a failure.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatal("privileged test run without root in CI")
	}
	t.Skip("needs root")
}

// RequireCommand returns the path of a tool a test drives; like RequireRoot
// it only skips outside CI (.ci/run installs every tool the tests need).
func RequireCommand(t testing.TB, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is not installed (.ci/run should have installed it)", name)
	}
	t.Skipf("%s is not installed", name)
	return ""
}

var (
	buildMu  sync.Mutex
	buildDir string
	builtBin = map[string]string{}
)

// Build compiles a main package of this module (e.g. "./cmd/sigguard") once
// per test binary and returns the executable's path. The file is named
// after the package's directory, so its comm is predictable.
func Build(t testing.TB, pkg string) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if path, ok := builtBin[pkg]; ok {
		return path
	}
	// The kernel matrix's guests have no go tool: it builds the main
	// packages on the host and names their directory here.
	if dir := os.Getenv("SIGGUARD_TEST_BINARIES"); dir != "" {
		path := filepath.Join(dir, filepath.Base(pkg))
		if _, err := os.Stat(path); err != nil {
			t.Fatalf("prebuilt %s: %v (SIGGUARD_TEST_BINARIES=%s)", pkg, err, dir)
		}
		return path
	}
	path, err := build(t, pkg)
	if err != nil {
		t.Fatalf("build %s: %v", pkg, err)
	}
	builtBin[pkg] = path
	return path
}

// Main runs a test binary's tests and removes what Build built; call it
// from TestMain.
func Main(m *testing.M) int {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	return code
}

// Offender builds the offender program (its comm is "offender").
func Offender(t testing.TB) string { return Build(t, "./internal/testenv/offender") }

func build(t testing.TB, pkg string) (string, error) {
	if buildDir == "" {
		dir, err := os.MkdirTemp("", "sigguard-test-bin-")
		if err != nil {
			return "", err
		}
		// Readable by everyone: tests run these binaries as other users too.
		if err := os.Chmod(dir, 0o755); err != nil {
			return "", err
		}
		buildDir = dir
	}
	out := filepath.Join(buildDir, filepath.Base(pkg))
	goTool, err := exec.LookPath("go")
	if err != nil {
		return "", errors.New("the go tool is not on PATH")
	}
	cmd := exec.Command(goTool, "build", "-o", out, pkg)
	cmd.Dir = ModuleRoot(t)
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", errors.New(err.Error() + ": " + string(msg))
	}
	return out, nil
}

// ModuleRoot is the directory holding go.mod.
func ModuleRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test's directory")
		}
		dir = parent
	}
}

// Counter is a shared memory word an offender increments after every
// ptrace call that returned to it.
type Counter struct{ path string }

// NewCounter creates a zeroed count file.
func NewCounter(t testing.TB) *Counter {
	t.Helper()
	path := filepath.Join(t.TempDir(), "count")
	if err := os.WriteFile(path, make([]byte, 8), 0o600); err != nil {
		t.Fatal(err)
	}
	return &Counter{path: path}
}

// Env is the environment entry that hands the counter to an offender.
func (c *Counter) Env() string { return "OFFENDER_COUNT=" + c.path }

// Value reads how many calls returned.
func (c *Counter) Value(t testing.TB) uint64 {
	t.Helper()
	b, err := os.ReadFile(c.path)
	if err != nil || len(b) < 8 {
		t.Fatalf("read count file: %v", err)
	}
	return binary.NativeEndian.Uint64(b)
}

// AssertUnloaded fails when any of the program ids still names a loaded
// program. The kernel frees a program after its last reference is gone
// through deferred work, so this waits up to 2 s for each to go.
func AssertUnloaded(t testing.TB, ids []ebpf.ProgramID) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for _, id := range ids {
		for {
			p, err := ebpf.NewProgramFromID(id)
			if err != nil {
				break
			}
			info, _ := p.Info()
			p.Close()
			if time.Now().After(deadline) {
				t.Errorf("program %d (%s) is still loaded after the guard stopped", id, info.Name)
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// ProgramsOf lists the ids of the BPF programs a process holds open,
// read from /proc/PID/fdinfo.
func ProgramsOf(t testing.TB, pid int) []ebpf.ProgramID {
	t.Helper()
	dir := "/proc/" + strconv.Itoa(pid) + "/fdinfo"
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("list fds of %d: %v", pid, err)
	}
	var ids []ebpf.ProgramID
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "prog_id:"); ok {
				if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
					ids = append(ids, ebpf.ProgramID(n))
				}
			}
		}
	}
	return ids
}
