package e2e

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sigguard/sigguard/internal/testenv"
)

func httpGet(url string) (int, string, error) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// /healthz and /readyz answer beside /metrics: alive and ready while the
// guard enforces, gone once it has stopped.
func TestHealthAndReadinessWhileEnforcing(t *testing.T) {
	testenv.RequireRoot(t)
	cg := testenv.NewCgroup(t)
	b := startBinary(t, "--cgroup", cg.Path, "--metrics-addr", "127.0.0.1:0")
	m := regexp.MustCompile(`health at (http://\S+)/healthz`).FindStringSubmatch(b.stderr.String())
	if m == nil {
		t.Fatalf("no health address on stderr:\n%s", b.stderr)
	}
	base := m[1]
	for path, want := range map[string]string{"/healthz": "ok", "/readyz": "ready", "/metrics": "sigguard_events_lost_total 0"} {
		code, body, err := httpGet(base + path)
		if err != nil || code != http.StatusOK || !strings.Contains(body, want) {
			t.Errorf("%s: %d %q (%v), want 200 saying %q", path, code, body, err, want)
		}
	}
	if err := b.stop(t, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if _, _, err := httpGet(base + "/healthz"); err == nil {
		t.Error("/healthz still answers after sigguard stopped")
	}
}

// During start-up /healthz says alive and /readyz 503 with the reason. A
// second sigguard waiting for a pin directory another holds stays in
// start-up long enough to ask.
func TestReadinessDuringStartUp(t *testing.T) {
	testenv.RequireRoot(t)
	if !testenv.KernelAtLeast(t, 5, 15) {
		t.Skip("pinning needs Linux 5.15")
	}
	cg := testenv.NewCgroup(t)
	pin := testenv.PinDir(t)
	if err := os.MkdirAll(pin, 0o700); err != nil {
		t.Fatal(err)
	}
	lock, err := os.Open(pin)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	addr := testenv.FreeLoopbackAddr(t)
	cmd := exec.Command(testenv.Build(t, "./cmd/sigguard"), "--cgroup", cg.Path, "--tier", "signal", "--pin-dir", pin, "--metrics-addr", addr)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill() })

	var ready, alive string
	for deadline := time.Now().Add(5 * time.Second); ready == "" && time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		code, body, err := httpGet("http://" + addr + "/readyz")
		if err != nil {
			continue
		}
		ready = strings.TrimSpace(body)
		if code != http.StatusServiceUnavailable || !strings.HasPrefix(ready, "starting") || strings.Contains(ready, "\n") {
			t.Errorf("/readyz during start-up: %d %q, want 503 and one line saying it is starting", code, ready)
		}
		if code, body, err := httpGet("http://" + addr + "/healthz"); err == nil {
			alive = body
			if code != http.StatusOK {
				t.Errorf("/healthz during start-up: %d %q, want 200", code, body)
			}
		}
	}
	if ready == "" || alive == "" {
		t.Fatalf("no answer from %s during start-up; stderr:\n%s", addr, stderr.String())
	}
	var ee *exec.ExitError
	select {
	case err := <-exited:
		if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(stderr.String(), "another sigguard is running") {
			t.Errorf("sigguard: %v, stderr %q; want exit 1 for the pin held by another", err, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("sigguard did not give up on the held pin directory")
	}
}

// --log-format json: every stderr line is a JSON object with time, level
// and msg, the start-up and the summary carry their figures as fields,
// and stdout still carries the events.
func TestLogFormatJSON(t *testing.T) {
	testenv.RequireRoot(t)
	offender := testenv.Offender(t)
	cg := testenv.NewCgroup(t)
	b := startBinary(t, "--cgroup", cg.Path, "--log-format", "json", "--metrics-addr", "127.0.0.1:0")
	// The watchdog, a process of its own, logs through sigguard too: stop
	// sigguard and it resumes it, and says so.
	if err := b.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(b.stderr.String(), "its watchdog resumed it"); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the watchdog did not resume sigguard within 5 s:\n%s", b.stderr)
		}
	}
	checkKilled(t, b, cg, offender)
	type line struct {
		Time, Level, Msg string
		Tier             string
		Interventions    *uint64
		Healthz          string
	}
	var lines []line
	for _, text := range strings.Split(strings.TrimSpace(b.stderr.String()), "\n") {
		var l line
		if err := json.Unmarshal([]byte(text), &l); err != nil || l.Time == "" || l.Level == "" || l.Msg == "" || strings.HasPrefix(l.Msg, "sigguard: ") {
			t.Errorf("not a JSON log line with time, level and msg: %q (%v)", text, err)
		}
		lines = append(lines, l)
	}
	has := func(what string, match func(line) bool) {
		t.Helper()
		for _, l := range lines {
			if match(l) {
				return
			}
		}
		t.Errorf("no %s among the JSON lines:\n%s", what, b.stderr)
	}
	has("start-up line with the tier", func(l line) bool {
		return l.Level == "INFO" && l.Tier == "signal" && strings.HasPrefix(l.Msg, "tier signal")
	})
	has("warning", func(l line) bool { return l.Level == "WARN" && strings.HasPrefix(l.Msg, "open route") })
	has("watchdog's warning", func(l line) bool { return l.Level == "WARN" && strings.Contains(l.Msg, "its watchdog resumed it") })
	has("health address", func(l line) bool { return strings.HasSuffix(l.Healthz, "/healthz") })
	has("summary with 1 intervention", func(l line) bool {
		return l.Interventions != nil && *l.Interventions == 1 && strings.HasPrefix(l.Msg, "stopped: 1 interventions")
	})
}

// --version names the build: a -ldflags -X override wins; otherwise a
// build from a git checkout names its commit.
func TestVersionFromTheBuild(t *testing.T) {
	goTool := testenv.RequireCommand(t, "go")
	git := testenv.RequireCommand(t, "git")
	dir := t.TempDir()
	build := func(srcDir, out string, flags ...string) string {
		t.Helper()
		cmd := exec.Command(goTool, append(append([]string{"build"}, flags...), "-o", out, "./cmd/sigguard")...)
		cmd.Dir = srcDir
		// The environment may turn VCS stamping off (GOFLAGS=-buildvcs=false).
		cmd.Env = append(os.Environ(), "GOFLAGS=-buildvcs=true")
		if msg, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %v: %v\n%s", flags, err, msg)
		}
		version, err := exec.Command(out, "--version").Output()
		if err != nil {
			t.Fatalf("%s --version: %v", out, err)
		}
		return string(version)
	}
	root := testenv.ModuleRoot(t)
	if v := build(root, filepath.Join(dir, "override"), "-ldflags", "-X github.com/sigguard/sigguard/internal/cli.Version=v9.8.7"); !strings.HasPrefix(v, "sigguard v9.8.7 (go") {
		t.Errorf("with -X: %q", v)
	}

	// A clone: the go tool stamps a checkout only where .git is a
	// directory (not in a git worktree).
	clone := filepath.Join(dir, "clone")
	if out, err := exec.Command(git, "clone", "-q", "--no-hardlinks", root, clone).CombinedOutput(); err != nil {
		t.Fatalf("git clone: %v\n%s", err, out)
	}
	head, err := exec.Command(git, "-C", clone, "rev-parse", "HEAD").Output()
	if err != nil {
		t.Fatal(err)
	}
	v := build(clone, filepath.Join(dir, "stamped"))
	want := regexp.MustCompile(`^sigguard v\S+, commit ` + strings.TrimSpace(string(head)) + ` of \S+Z \(go`)
	if !want.MatchString(v) || strings.Contains(v, "uncommitted") {
		t.Errorf("from a clean clone: %q, want the module version, the commit %s and its time", v, strings.TrimSpace(string(head)))
	}
}
