package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sigguard/sigguard/internal/kernfs"
	"github.com/sigguard/sigguard/internal/testenv"
)

// refusal is what a sigguard run that refused to start left behind.
type refusal struct {
	code   int
	stderr string
	calls  string // its bpf(2) and perf_event_open(2) calls, as strace saw them
}

// runRefused runs sigguard, traced by strace, in cgroup home, through
// prefix (unshare, setpriv...) and a shell script around it, to its end.
// script gets the traced command line in "$@" and may prepare the
// namespace first.
func runRefused(t *testing.T, home *testenv.Cgroup, prefix []string, script string, args ...string) refusal {
	t.Helper()
	strace := testenv.RequireCommand(t, "strace")
	bin := testenv.Build(t, "./cmd/sigguard")
	trace := filepath.Join(t.TempDir(), "trace")
	argv := append(append([]string{}, prefix...), "sh", "-c", script, "sh", strace, "-f", "-qq", "-e", "trace=bpf,perf_event_open", "-o", trace, bin)
	c := home.Command(argv[0], append(argv[1:], args...)...)
	var stderr bytes.Buffer
	c.Stderr = &stderr
	c.SysProcAttr.Setpgid = true
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	// A sigguard that does not refuse runs until stopped: stop it, and
	// fail rather than hang. (What it started is in the test's cgroup,
	// which the cgroup's clean-up empties.)
	timer := time.AfterFunc(20*time.Second, func() { syscall.Kill(-c.Process.Pid, syscall.SIGKILL) })
	err := c.Wait()
	if !timer.Stop() {
		t.Fatalf("%v: still running after 20 s, want a refusal\n%s", argv, stderr.String())
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("%v: %v, want a refusal\n%s", argv, err, stderr.String())
	}
	calls, _ := os.ReadFile(trace)
	return refusal{code: ee.ExitCode(), stderr: stderr.String(), calls: string(calls)}
}

// check asserts exit status 2, a message naming the problem and its fix,
// and not a single call into BPF: nothing was loaded, so nothing is left.
func (r refusal) check(t *testing.T, wants ...string) {
	t.Helper()
	if r.code != 2 {
		t.Errorf("exit status %d, want 2; stderr:\n%s", r.code, r.stderr)
	}
	for _, want := range wants {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if strings.Contains(r.calls, "bpf(") || strings.Contains(r.calls, "perf_event_open(") {
		t.Errorf("sigguard called into BPF before refusing:\n%s", r.calls)
	}
}

// noPin asserts that a pin directory was never made.
func noPin(t *testing.T, dir string) {
	t.Helper()
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		os.RemoveAll(dir)
		t.Errorf("%s exists after a refusal: %v", dir, err)
	}
}

const exec0 = `exec "$@"`

// In a pid namespace of its own, sigguard's pids are not the ones its
// programs see: it refuses, however /proc is mounted.
func TestRefusesAPidNamespaceOfItsOwn(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireCommand(t, "unshare")
	cg := testenv.NewCgroup(t)
	for name, prefix := range map[string][]string{
		"with its own /proc":    {"unshare", "--pid", "--fork", "--mount-proc"},
		"with the host's /proc": {"unshare", "--pid", "--fork"},
	} {
		t.Run(name, func(t *testing.T) {
			pin := testenv.PinDir(t)
			r := runRefused(t, testenv.NewCgroup(t), prefix, exec0, "--cgroup", cg.Path, "--tier", "signal", "--pin-dir", pin)
			r.check(t, "pid namespace of its own", "docker run --pid=host", "hostPID: true")
			noPin(t, pin)
		})
	}
}

// uid 0 without the capabilities is told which ones it lacks and how to
// grant them; CAP_SYS_ADMIN alone is enough.
func TestNamesTheMissingCapabilities(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireCommand(t, "setpriv")
	cg := testenv.NewCgroup(t)
	for _, tc := range []struct {
		drop  string
		wants []string
	}{
		{"-bpf,-perfmon,-sys_admin", []string{"lacks CAP_BPF and CAP_PERFMON (uid 0", "--cap-add BPF --cap-add PERFMON",
			"--cap-add SYS_ADMIN on Docker 20.10", "securityContext.capabilities.add: [BPF, PERFMON]"}},
		{"-bpf,-sys_admin", []string{"lacks CAP_BPF (uid 0", "--cap-add BPF,", "capabilities.add: [BPF]"}},
	} {
		t.Run(tc.drop, func(t *testing.T) {
			pin := testenv.PinDir(t)
			r := runRefused(t, testenv.NewCgroup(t), []string{"setpriv", "--bounding-set", tc.drop}, exec0,
				"--cgroup", cg.Path, "--tier", "signal", "--pin-dir", pin)
			r.check(t, tc.wants...)
			if tc.drop == "-bpf,-sys_admin" && strings.Contains(r.stderr, "lacks CAP_BPF and CAP_PERFMON") {
				t.Errorf("CAP_PERFMON named missing although it was kept:\n%s", r.stderr)
			}
			noPin(t, pin)
		})
	}
	t.Run("as a JSON line", func(t *testing.T) {
		r := runRefused(t, testenv.NewCgroup(t), []string{"setpriv", "--bounding-set", "-bpf,-perfmon,-sys_admin"}, exec0,
			"--cgroup", cg.Path, "--tier", "signal", "--log-format", "json")
		r.check(t)
		var line struct {
			Level      string
			Msg        string
			ExitStatus int `json:"exit_status"`
			Problems   []string
		}
		if err := json.Unmarshal([]byte(r.stderr), &line); err != nil || line.Level != "ERROR" || line.ExitStatus != 2 ||
			len(line.Problems) != 1 || !strings.Contains(line.Problems[0], "lacks CAP_BPF and CAP_PERFMON") {
			t.Errorf("stderr %q (%v), want one JSON error line with the problem as a field", r.stderr, err)
		}
	})
	t.Run("CAP_SYS_ADMIN without CAP_BPF and CAP_PERFMON enforces", func(t *testing.T) {
		offender := testenv.Offender(t)
		b := startBinaryWith(t, func(name string, args ...string) *exec.Cmd {
			return exec.Command("setpriv", append([]string{"--bounding-set", "-bpf,-perfmon", name}, args...)...)
		}, "--cgroup", cg.Path)
		checkKilled(t, b, cg, offender)
	})
}

// checkKilled runs an offender in cg and checks that b killed and reported it.
func checkKilled(t *testing.T, b *binary, cg *testenv.Cgroup, offender string) {
	t.Helper()
	cmd := cg.Command(offender, "fail")
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("offender: %v, want killed by SIGKILL\n%s", err, b.stderr)
	}
	if ev := b.event(t, cmd.Process.Pid); ev.Signal != "SIGKILL" {
		t.Errorf("event %+v, want SIGKILL", ev)
	}
	if err := b.stop(t, syscall.SIGTERM); err != nil {
		t.Errorf("sigguard: %v\n%s", err, b.stderr)
	}
}

// In a cgroup namespace of its own, a mount of the whole hierarchy (the
// host's, bind-mounted) still serves: sigguard finds it by its root's id
// and matches the right cgroup. With only the namespace's own part
// mounted, it refuses with the fix.
func TestCgroupNamespaceOfItsOwn(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireCommand(t, "unshare")
	offender := testenv.Offender(t)
	// sigguard runs in cg, whose directory becomes its namespace's root;
	// the offenders run in cg's child.
	cg := testenv.NewCgroup(t)
	target := cg.Child(t)

	t.Run("the host's hierarchy mounted", func(t *testing.T) {
		b := startBinaryWith(t, func(name string, args ...string) *exec.Cmd {
			return cg.Command("unshare", append([]string{"--cgroup", name}, args...)...)
		}, "--cgroup", target.Path)
		if ns, err := os.Readlink("/proc/" + strconv.Itoa(b.cmd.Process.Pid) + "/ns/cgroup"); err != nil || ns == mustReadlink(t, "/proc/self/ns/cgroup") {
			t.Fatalf("sigguard's cgroup namespace %q (%v) is the test's", ns, err)
		}
		checkKilled(t, b, target, offender)
	})

	t.Run("only its own part mounted", func(t *testing.T) {
		mount, err := kernfs.Cgroup2Mount()
		if err != nil {
			t.Fatal(err)
		}
		// A private mount namespace: the host's hierarchy covered (by a
		// tmpfs, as the same mount cannot stack on itself) by the
		// namespace's own cgroup2 mount, which shows cg as its root.
		script := `mount -t tmpfs none "$0" && mount -t cgroup2 none "$0" && exec "$@"`
		r := runRefused(t, cg, []string{"unshare", "--cgroup", "--mount", "--propagation", "private", "sh", "-c", script, mount},
			exec0, "--cgroup", filepath.Join(mount, filepath.Base(target.Path)), "--tier", "signal")
		r.check(t, "cgroup namespace of its own", "--cgroupns=host", "-v /sys/fs/cgroup:/sys/fs/cgroup:ro", "hostPath volume of /sys/fs/cgroup")
	})

	// A policy naming no cgroup enforces there, but its events cannot
	// name cgroups or containers: it says so, with the same fix.
	t.Run("only its own part mounted, no cgroup rule", func(t *testing.T) {
		mount, err := kernfs.Cgroup2Mount()
		if err != nil {
			t.Fatal(err)
		}
		script := `mount -t tmpfs none "$0" && mount -t cgroup2 none "$0" && exec timeout -s TERM 3 "$@"`
		cmd := cg.Command("unshare", "--cgroup", "--mount", "--propagation", "private", "sh", "-c", script, mount,
			testenv.Build(t, "./cmd/sigguard"), "--ppid", strconv.Itoa(os.Getpid()), "--audit", "--tier", "signal")
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 124 {
			t.Fatalf("sigguard: %v, want it to run until stopped (timeout's 124)\n%s", err, out)
		}
		for _, want := range []string{"warning: events name no cgroup, container or pod", "--cgroupns=host"} {
			if !strings.Contains(string(out), want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
	})
}

func mustReadlink(t *testing.T, path string) string {
	t.Helper()
	s, err := os.Readlink(path)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// A pin on a bpf file system mounted only in sigguard's own mount
// namespace would vanish with it: refused, whether the container mounted
// it or sigguard would have, and sigguard's own mount is undone.
func TestRefusesToPinOnAContainersOwnBPFFS(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireCommand(t, "unshare")
	cg := testenv.NewCgroup(t)
	for name, mount := range map[string]string{
		"mounted by the container": `mount -t bpf bpf /sys/fs/bpf`,
		"mounted by sigguard":      `umount /sys/fs/bpf`,
	} {
		t.Run(name, func(t *testing.T) {
			pin := testenv.PinDir(t)
			// After sigguard: say how many bpf file systems are mounted
			// here, and what the pin directory's parent holds.
			script := mount + ` && "$@"; code=$?; grep -c " - bpf " /proc/self/mountinfo >&2; ls -A /sys/fs/bpf >&2; exit $code`
			r := runRefused(t, testenv.NewCgroup(t), []string{"unshare", "--mount", "--propagation", "private"}, script,
				"--cgroup", cg.Path, "--tier", "signal", "--pin-dir", pin)
			r.check(t, "mounted only in this container", "-v /sys/fs/bpf:/sys/fs/bpf", "mountPropagation")
			if strings.Contains(r.stderr, "\n"+filepath.Base(pin)+"\n") {
				t.Errorf("the pin directory was made in the container's bpf file system:\n%s", r.stderr)
			}
			if name == "mounted by sigguard" && !strings.Contains(r.stderr, "\n0\n") {
				t.Errorf("sigguard left its own bpf mount behind:\n%s", r.stderr)
			}
			noPin(t, pin)
		})
	}
}
