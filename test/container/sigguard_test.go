package container

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"

	"github.com/sigguard/sigguard/internal/testenv"
)

// sigguardCaps are the capabilities the DaemonSet grants, as Docker 20.10
// knows them: it has no names for CAP_BPF and CAP_PERFMON, and
// CAP_SYS_ADMIN stands for both. No CAP_SYS_PTRACE: sigguard reads no
// other process's memory, exe or namespaces. CAP_SYS_RESOURCE (raising the
// memlock limit before Linux 5.11) is left out: an engine cannot grant a
// capability outside its own bounding set, and some hosts drop it there.
var sigguardCaps = []string{"SYS_ADMIN", "DAC_READ_SEARCH", "KILL"}

// guardOpts are how a test's sigguard differs from the plain DaemonSet.
type guardOpts struct {
	// policyDir is a directory holding policy.yaml, mounted where
	// sigguard reads it; default, a new one holding the test's policy.
	policyDir string
	// pinDir, when set, pins there on the host's bpf filesystem.
	pinDir string
	// dockerArgs are more options of docker run (a log driver).
	dockerArgs []string
}

// sigguard is a sigguard container, enforcing.
type sigguard struct {
	*container
	metrics  string // http://127.0.0.1:PORT
	programs []ebpf.ProgramID
	pinned   bool
}

// startSigguard runs sigguard as a DaemonSet would and returns once it
// enforces policy: host pid and cgroup namespaces, host networking (for
// its metrics port, on loopback), the host's cgroup tree read-only, the
// policy from a mounted directory, JSON events on standard output.
func startSigguard(t testing.TB, policy string, opts guardOpts) *sigguard {
	t.Helper()
	if opts.policyDir == "" {
		opts.policyDir = t.TempDir()
		writeFile(t, filepath.Join(opts.policyDir, "policy.yaml"), policy)
	}
	ready := t.TempDir()
	addr := testenv.FreeLoopbackAddr(t)
	args := []string{"--network", "host", "--pid", "host", "--cgroupns", "host",
		"-v", "/sys/fs/cgroup:/sys/fs/cgroup:ro",
		"-v", opts.policyDir + ":/etc/sigguard:ro",
		"-v", ready + ":/run/sigguard"}
	args = append(args, capFlags()...)
	if opts.pinDir != "" {
		args = append(args, "-v", "/sys/fs/bpf:/sys/fs/bpf")
	}
	args = append(args, opts.dockerArgs...)
	args = append(args, sigguardImage, "--policy", "/etc/sigguard/policy.yaml", "--output", "json",
		"--metrics-addr", addr, "--ready-file", "/run/sigguard/ready")
	if opts.pinDir != "" {
		args = append(args, "--pin-dir", opts.pinDir)
	}
	s := &sigguard{metrics: "http://" + addr, pinned: opts.pinDir != ""}
	// Registered before the container's removal, so it runs after it:
	// programs a removed sigguard held must be gone (pinned ones stay
	// until their test unpins them).
	t.Cleanup(func() {
		if !s.pinned {
			testenv.AssertUnloaded(t, s.programs)
		}
	})
	s.container = runContainer(t, args...)
	s.waitUntilReady(t, filepath.Join(ready, "ready"))
	s.programs = testenv.ProgramsOf(t, s.pid(t))
	if len(s.programs) == 0 {
		t.Fatalf("sigguard (host pid %d) holds no BPF program once ready", s.pid(t))
	}
	return s
}

func (s *sigguard) waitUntilReady(t testing.TB, ready string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(ready); err == nil {
			return
		}
		if s.inspect(t, "{{.State.Running}}") != "true" {
			t.Fatalf("sigguard's container exited before it was ready (status %s):\n%s",
				s.inspect(t, "{{.State.ExitCode}}"), s.logs(t))
		}
		if time.Now().After(deadline) {
			t.Fatalf("sigguard did not write its ready file within 30 s:\n%s", s.logs(t))
		}
	}
}

// event is one JSON line of sigguard's output; raw keeps every field.
type event struct {
	Type        string `json:"type"`
	PID         int    `json:"pid"`
	NsPID       int    `json:"ns_pid"`
	Comm        string `json:"comm"`
	Syscall     string `json:"syscall"`
	Request     string `json:"request"`
	Target      int    `json:"target"`
	TargetNsPID int    `json:"target_ns_pid"`
	Action      string `json:"action"`
	Rule        string `json:"rule"`
	raw         map[string]any
}

func (e event) String() string {
	b, _ := json.Marshal(e.raw)
	return string(b)
}

// events reads sigguard's events from the container's log.
func (s *sigguard) events(t testing.TB) []event {
	t.Helper()
	var evs []event
	for _, line := range strings.Split(s.stdout(t), "\n") {
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var ev event
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("sigguard printed a line that is not JSON: %v\n%s", err, line)
		}
		if err := json.Unmarshal([]byte(line), &ev.raw); err != nil {
			t.Fatal(err)
		}
		evs = append(evs, ev)
	}
	return evs
}

// interventions are the events of calls a rule matched.
func (s *sigguard) interventions(t testing.TB, match func(event) bool) []event {
	t.Helper()
	var evs []event
	for _, ev := range s.events(t) {
		if ev.Type == "intervention" && match(ev) {
			evs = append(evs, ev)
		}
	}
	return evs
}

// waitIntervention waits up to 10 s for an intervention that match
// accepts: sigguard reads its ring buffer a moment after the kill.
func (s *sigguard) waitIntervention(t testing.TB, what string, match func(event) bool) event {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if evs := s.interventions(t, match); len(evs) > 0 {
			return evs[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no event of %s within 10 s; sigguard's log:\n%s", what, s.logs(t))
		}
	}
}

// assertContainer checks that the event's field (container_id for the
// caller, target_container_id for the target) names c: the full id of the
// container whose cgroup the process is in.
func assertContainer(t testing.TB, ev event, field string, c *container) {
	t.Helper()
	if got, ok := ev.raw[field]; !ok || got != c.id {
		t.Errorf("event's %s is %v, want %s: %s", field, got, c.id, ev)
	}
}

// httpStatus is the status of a GET of url, or 0 if none came.
func httpStatus(url string) int {
	client := http.Client{Timeout: 2 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// policyFor is a policy of one rule per entry: name, then the YAML of its
// match block (one key per line).
func policyFor(rules ...[2]string) string {
	var b strings.Builder
	b.WriteString("rules:\n")
	for _, r := range rules {
		fmt.Fprintf(&b, "  - name: %s\n    syscalls: [memory-access]\n    match:\n", r[0])
		for _, line := range strings.Split(strings.TrimSpace(r[1]), "\n") {
			fmt.Fprintf(&b, "      %s\n", line)
		}
	}
	return b.String()
}
