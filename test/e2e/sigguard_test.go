// Package e2e runs the built sigguard binary the way a user or a script
// does, scoped to this test process's children.
package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sigguard/sigguard/internal/testenv"
)

type event struct {
	Type    string `json:"type"`
	Rule    string `json:"rule"`
	Time    string `json:"time"`
	PID     int    `json:"pid"`
	Comm    string `json:"comm"`
	Request string `json:"request"`
	Target  int    `json:"target"`
	Signal  string `json:"signal"`
	Action  string `json:"action"`
	Success bool   `json:"success"`
	Result  int    `json:"result"`
	Tier    string `json:"tier"`
	Denied  bool   `json:"denied"`
}

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

func TestBinaryKillsAndReports(t *testing.T) {
	for _, stop := range []os.Signal{os.Interrupt, syscall.SIGTERM} {
		t.Run(stop.String(), func(t *testing.T) { killAndReport(t, stop) })
	}
}

func killAndReport(t *testing.T, stop os.Signal) {
	testenv.RequireRoot(t)
	offender := testenv.Offender(t)
	guard := startBinary(t, "--ppid", strconv.Itoa(os.Getpid()))
	progs := testenv.ProgramsOf(t, guard.cmd.Process.Pid)
	if len(progs) == 0 {
		t.Fatal("the ready file exists but sigguard holds no BPF program")
	}
	if content, _ := os.ReadFile(guard.ready); strings.TrimSpace(string(content)) != strconv.Itoa(guard.cmd.Process.Pid) {
		t.Errorf("ready file holds %q, want the guard's pid", content)
	}

	cg := testenv.NewCgroup(t)
	victim := cg.Start(t, "sleep", "60")
	attacker := cg.Command(offender, "attach", strconv.Itoa(victim.Process.Pid))
	err := attacker.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("offender: %v, want killed by SIGKILL", err)
	}

	ev := guard.event(t, attacker.Process.Pid)
	if ev.Type != "intervention" || ev.Comm != "offender" || ev.Request != "PTRACE_ATTACH" ||
		ev.Target != victim.Process.Pid || ev.Signal != "SIGKILL" || ev.Action != "signal-process" ||
		!ev.Success || ev.Result != 0 {
		t.Errorf("event does not describe the kill: %+v", ev)
	}
	if _, err := time.Parse(time.RFC3339Nano, ev.Time); err != nil {
		t.Errorf("time %q is not RFC 3339: %v", ev.Time, err)
	}

	if err := guard.stop(t, stop); err != nil {
		t.Fatalf("sigguard exited with %v; stderr:\n%s", err, guard.stderr)
	}
	log := guard.stderr.String()
	for _, want := range []string{
		"tier signal (",
		"hooked: ptrace",
		"rule 1 command-line: ptrace: SIGKILL to the calling process, callers with ppid " + strconv.Itoa(os.Getpid()),
		"warning: open route: process_vm_readv, process_vm_writev, pidfd_getfd, perf_event_open, proc-mem-open, proc-mem-openat, proc-mem-openat2, proc-mem-creat, io_uring (guard them",
		"warning: open route: 32-bit syscalls",
		"stopped: 1 interventions, 0 calls denied, 1 signals sent, 0 failed sends, 0 held back, 0 events lost",
		"rule command-line: 1 matched, 0 denied, 1 signals sent, 0 failed sends",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("stderr lacks %q:\n%s", want, log)
		}
	}
	if _, err := os.Stat(guard.ready); !os.IsNotExist(err) {
		t.Errorf("ready file left behind: %v", err)
	}
	testenv.AssertUnloaded(t, progs)
}

// Bad input is refused before sigguard makes a single bpf(2) call: strace
// shows every one it would make, probes included.
func TestBinaryRejectsBadInputWithoutTouchingBPF(t *testing.T) {
	testenv.RequireRoot(t)
	strace := testenv.RequireCommand(t, "strace")
	bin := testenv.Build(t, "./cmd/sigguard")
	for _, args := range [][]string{
		{"--bogus"}, {"--signal", "0"}, {"--signal", "65"}, {"--signal", "FOO"}, {"--ppid", "-1"},
		{"--ppid", "abc"}, {"--output", "xml"}, {"--ready-file", "/no/such/dir/ready"}, {"--cgroup", ""},
		{"--ppid", strconv.Itoa(1 << 30)}, {"--cgroup", "../outside"}, {"--policy", "/no/such/policy.yaml"},
		{"--pin-dir", "/tmp"}, {"--pin-dir", "relative"}, {"--pin-dir", ""},
	} {
		trace := filepath.Join(t.TempDir(), "trace")
		// A sigguard that does not refuse would run until stopped.
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, strace, append([]string{"-f", "-qq", "-e", "trace=bpf,perf_event_open", "-o", trace, bin}, args...)...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 2 {
			t.Errorf("%v: %v, want exit status 2", args, err)
		}
		if msg := stderr.String(); strings.Count(msg, "\n") != 1 || !strings.HasPrefix(msg, "sigguard: ") {
			t.Errorf("%v: want one line on stderr, got %q", args, msg)
		}
		if calls, _ := os.ReadFile(trace); bytes.Contains(calls, []byte("bpf(")) || bytes.Contains(calls, []byte("perf_event_open(")) {
			t.Errorf("%v: sigguard called into BPF before refusing:\n%s", args, calls)
		}
	}
}

func TestBinaryWithoutPrivilegesNamesTheCapabilities(t *testing.T) {
	testenv.RequireRoot(t)
	setpriv := testenv.RequireCommand(t, "setpriv")
	bin := testenv.Build(t, "./cmd/sigguard")
	cmd := exec.Command(setpriv, "--reuid", "65534", "--regid", "65534", "--clear-groups", "--inh-caps=-all", bin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 {
		t.Fatalf("unprivileged run: %v, want exit status 2", err)
	}
	for _, want := range []string{"not privileged", "CAP_BPF", "CAP_PERFMON"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("message %q lacks %q", stderr.String(), want)
		}
	}
}

// --pin: enforcement survives kill -9 of sigguard, the next sigguard adopts
// the pins and reports what happened meanwhile, and unpin ends it.
func TestPinnedGuardSurvivesKill9(t *testing.T) {
	testenv.RequireRoot(t)
	if !testenv.KernelAtLeast(t, 5, 15) {
		t.Skip("hooks are pinnable from Linux 5.15 (guard's TestPinningBefore515IsRefused checks the refusal)")
	}
	bin := testenv.Build(t, "./cmd/sigguard")
	dir := testenv.PinDir(t)
	cg := testenv.NewCgroup(t)
	args := []string{"--cgroup", cg.Path, "--pin-dir", dir}

	first := startBinary(t, args...)
	first.stderr.waitFor(t, "pinned at "+dir)
	if err := first.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-first.exited

	unattended := attack(t, cg)
	status, code := runBinary(t, bin, "status", "--pin-dir", dir)
	for _, want := range []string{"reader:   none", "sys_enter_ptrace", "rule 1 command-line: 1 matched, 0 denied, 1 signals sent", "counters: 1 interventions"} {
		if code != 0 || !strings.Contains(status, want) {
			t.Errorf("status (exit %d) lacks %q:\n%s", code, want, status)
		}
	}

	second := startBinary(t, args...)
	second.stderr.waitFor(t, "adopted the guard pinned at "+dir+" (with the same rules")
	second.stderr.waitFor(t, fmt.Sprintf("sigguard pid %d ended without closing): 1 interventions, 1 signals sent", first.cmd.Process.Pid))
	if ev := second.event(t, unattended); ev.Type != "intervention" || ev.Rule != "command-line" {
		t.Errorf("the unattended kill's event: %+v", ev)
	}
	attended := attack(t, cg)
	second.event(t, attended)
	if err := second.stop(t, syscall.SIGTERM); err != nil {
		t.Fatalf("sigguard exited with %v:\n%s", err, second.stderr)
	}
	for _, want := range []string{"stopped: 2 interventions, 0 calls denied, 2 signals sent", "rule command-line: 2 matched", "still enforcing: pinned at " + dir} {
		if !strings.Contains(second.stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, second.stderr)
		}
	}
	attack(t, cg) // still enforced after a clean exit

	progs := testenv.PinnedPrograms(t, dir)
	if out, code := runBinary(t, bin, "unpin", "--pin-dir", dir); code != 0 || !strings.Contains(out, "unpinned "+dir) {
		t.Errorf("unpin (exit %d): %s", code, out)
	}
	testenv.AssertUnloaded(t, progs)
	if out, code := runBinary(t, bin, "status", "--pin-dir", dir); code != 1 || !strings.Contains(out, "nothing pinned") {
		t.Errorf("status after unpin (exit %d): %s", code, out)
	}
}

// attack runs an offender that attaches to a victim in cg, insists that it
// died by SIGKILL with no call returned, and returns its pid.
func attack(t *testing.T, cg *testenv.Cgroup) int {
	t.Helper()
	return attackVictim(t, cg, cg.Start(t, "sleep", "60").Process.Pid)
}

// attackVictim is attack on a given victim.
func attackVictim(t *testing.T, cg *testenv.Cgroup, victim int) int {
	t.Helper()
	count := testenv.NewCounter(t)
	cmd := cg.Command(testenv.Offender(t), "attach", strconv.Itoa(victim))
	cmd.Env = append(os.Environ(), count.Env())
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("offender: %v, want killed by SIGKILL", err)
	}
	if n := count.Value(t); n != 0 {
		t.Errorf("%d calls returned to the offender, want 0", n)
	}
	return cmd.Process.Pid
}

// runBinary runs a sigguard command to its end: its output and exit status.
func runBinary(t *testing.T, bin string, args ...string) (string, int) {
	t.Helper()
	out, err := exec.Command(bin, args...).CombinedOutput()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("%v: %v", args, err)
	}
	if ee != nil {
		return string(out), ee.ExitCode()
	}
	return string(out), 0
}

// Left to itself, sigguard takes the best tier the kernel offers, says so,
// and the default rule both refuses (in a deny tier) and kills. The kernel
// matrix tells which tier each kernel must give (SIGGUARD_EXPECT_TIER).
func TestBinaryPicksTheBestTier(t *testing.T) {
	testenv.RequireRoot(t)
	cg := testenv.NewCgroup(t)
	guard := startBinary(t, "--cgroup", cg.Path, "--tier", "auto")
	want := os.Getenv("SIGGUARD_EXPECT_TIER")
	tier := ""
	for _, line := range strings.Split(guard.stderr.String(), "\n") {
		if rest, ok := strings.CutPrefix(line, "sigguard: tier "); ok && strings.Contains(rest, "(") {
			tier, _, _ = strings.Cut(rest, " ")
			break
		}
	}
	if tier == "" || (want != "" && tier != want) {
		t.Fatalf("start-up names tier %q, want %q:\n%s", tier, want, guard.stderr)
	}
	if tier == "signal" && !strings.Contains(guard.stderr.String(), "warning: the signal tier cannot prevent") {
		t.Errorf("the signal tier does not warn what it cannot prevent:\n%s", guard.stderr)
	}
	victim := cg.Start(t, "sleep", "60")
	pid := attackVictim(t, cg, victim.Process.Pid)
	ev := guard.event(t, pid)
	if ev.Tier != tier || ev.Denied != (tier != "signal") || !ev.Success {
		t.Errorf("event in tier %s: %+v", tier, ev)
	}
	if tier != "signal" {
		status, _ := os.ReadFile("/proc/" + strconv.Itoa(victim.Process.Pid) + "/status")
		if strings.Contains(string(status), "State:\tT") || strings.Contains(string(status), "State:\tt") ||
			!strings.Contains(string(status), "TracerPid:\t0") {
			t.Errorf("the victim of a refused attach was touched:\n%s", status)
		}
	}
}
