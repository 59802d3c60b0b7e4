package cli

import (
	"bytes"
	"strings"
	"syscall"
	"testing"

	"github.com/sigguard/sigguard/guard"
	"github.com/sigguard/sigguard/internal/bpf"
	"github.com/sigguard/sigguard/internal/testenv"
)

// sigguard status says when a pin enforces nothing any more, lists the
// hooks an unfinished upgrade set aside (which still enforce), and says
// when a sigguard is taking the pin over.
func TestPrintStatusSaysWhatThePinEnforces(t *testing.T) {
	const dir = "/sys/fs/bpf/sigguard-status"
	status := func(st guard.PinStatus) []string {
		st.Dir, st.Tier = dir, guard.TierSignal
		var out bytes.Buffer
		printStatus(&out, &st)
		return strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	}
	oldHooks := func(lines []string) string {
		for _, l := range lines {
			if strings.HasPrefix(l, "old hooks:") {
				return l
			}
		}
		return ""
	}

	lines := status(guard.PinStatus{})
	if want := "pinned guard at " + dir + ": NOT enforcing (no hook is pinned: sigguard unpin --pin-dir " + dir + " removes what is left)"; lines[0] != want {
		t.Errorf("status with no hook: first line %q, want %q", lines[0], want)
	}
	if l := oldHooks(lines); l != "" {
		t.Errorf("status with no hook lists old hooks: %q", l)
	}

	lines = status(guard.PinStatus{Hooks: []string{"sys_enter_ptrace"}})
	if want := "pinned guard at " + dir + ": enforcing"; lines[0] != want {
		t.Errorf("status with a hook: first line %q, want %q", lines[0], want)
	}
	if l := oldHooks(lines); l != "" {
		t.Errorf("status with no upgrade under way lists old hooks: %q", l)
	}

	// Only the old build's hooks are left: they enforce.
	lines = status(guard.PinStatus{SetAside: []string{"sys_enter_ptrace", "sg_compat_enter"}})
	if want := "pinned guard at " + dir + ": enforcing"; lines[0] != want {
		t.Errorf("status with set-aside hooks only: first line %q, want %q", lines[0], want)
	}
	if l, want := oldHooks(lines), "old hooks: sys_enter_ptrace, sg_compat_enter (another build's, set aside by an upgrade that has not finished; they enforce too)"; l != want {
		t.Errorf("status of an unfinished upgrade: old hooks line %q, want %q (all lines: %q)", l, want, lines)
	}

	for _, c := range []struct {
		st   guard.PinStatus
		want string
	}{
		{guard.PinStatus{}, "reader:   none (enforcing unattended; a sigguard started with --pin-dir " + dir + " adopts it)"},
		{guard.PinStatus{TakingOver: true}, "reader:   a sigguard is taking the pin over"},
		{guard.PinStatus{Reader: 4242}, "reader:   sigguard pid 4242"},
	} {
		c.st.Hooks = []string{"sys_enter_ptrace"}
		if lines := status(c.st); !strings.HasPrefix(lines[2], c.want+"; counters last noted ") {
			t.Errorf("reader line %q, want it to start %q", lines[2], c.want)
		}
	}
}

// At start, a pinned sigguard says what it found: a new pin, or another
// build's, whose unattended counts it reads where the layout allows and
// otherwise says are unknown.
func TestDescribePinSaysWhatWasAdopted(t *testing.T) {
	testenv.RequireRoot(t)
	if !testenv.KernelAtLeast(t, 5, 15) {
		t.Skip("syscall tracepoint links are pinnable from Linux 5.15")
	}
	dir := testenv.PinDir(t)
	cg := testenv.NewCgroup(t)
	cfg := guard.Config{PinDir: dir, Tier: guard.TierSignal, Rules: []guard.Rule{{
		Name: "pinned", Syscalls: []guard.Syscall{guard.SyscallPtrace}, Action: guard.ActionAudit, Signal: syscall.SIGKILL,
		Match: guard.Matchers{Cgroup: []string{cg.Path}},
	}}}
	describe := func() string {
		t.Helper()
		g, err := guard.Start(cfg)
		if err != nil {
			t.Fatalf("start: %v", err)
		}
		var out bytes.Buffer
		describePin(newLogger(logText, &out), g)
		if err := g.Close(); err != nil {
			t.Fatalf("close: %v", err)
		}
		return out.String()
	}

	if out, want := describe(), "sigguard: pinned at "+dir+": enforcement goes on if sigguard exits or dies\n"; out != want {
		t.Errorf("a new pin described as %q, want %q", out, want)
	}

	// Another build of this layout: its counts are read, its events are not.
	if err := testenv.EditPinRecord(dir, func(r *bpf.GuardPinRecord) { r.Object = [32]uint8{} }); err != nil {
		t.Fatal(err)
	}
	out := describe()
	for _, want := range []string{
		"sigguard: adopted the guard pinned at " + dir + " (made by another sigguard build: it enforced until this build's hooks were attached, then was removed)\n",
		"sigguard: unattended since ",
		": 0 interventions, 0 signals sent, 0 failed sends, 0 events lost; their events, in the other build's ring buffer, were not read\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("adoption of another build's pin described as %q, want it to include %q", out, want)
		}
	}
	if strings.Contains(out, "unknown") {
		t.Errorf("adoption of another build's pin of this layout says the counts are unknown: %q", out)
	}

	// Another build of another layout: what it did is unknown.
	if err := testenv.PinRecordOfAnotherLayout(dir); err != nil {
		t.Fatal(err)
	}
	out = describe()
	want := "sigguard: adopted the guard pinned at " + dir + " (made by another sigguard build: it enforced until this build's hooks were attached, then was removed)\n" +
		"sigguard: what it did unattended is unknown: that build kept its counters in another layout, and its events were not read\n"
	if out != want {
		t.Errorf("adoption of a pin of another layout described as %q, want %q", out, want)
	}
}
