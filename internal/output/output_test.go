package output

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sigguard/sigguard/guard"
)

var update = flag.Bool("update", false, "rewrite the golden files")

const (
	containerID       = "3f4e8a1c9b2d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f"
	targetContainerID = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	podUID            = "8e1d2c3b-4a59-4687-9a0b-1c2d3e4f5a6b"
	podUIDUnderscores = "8e1d2c3b_4a59_4687_9a0b_1c2d3e4f5a6b"
)

// events covers every shape a line can take.
func events() []guard.Event {
	at := time.Date(2026, 11, 25, 13, 54, 45, 123000000, time.UTC)
	killed := guard.Event{
		Kind: guard.KindIntervention, Time: at, PID: 8857, TID: 8857, PPID: 8850, UID: 0,
		Syscall: guard.SyscallPtrace, Request: 0x4206, Target: 8858, TargetTID: 8858, TargetNsPID: 12, TargetKind: guard.TargetProcess, NsPID: 11, Action: guard.ActionSignalProcess,
		Signal: 9, Rule: "command-line", Tier: guard.TierSignal,
	}
	// A caller in a Docker container, a target in a Kubernetes pod.
	killed.CgroupID, killed.Cgroup = 4242, "/system.slice/docker-"+containerID+".scope"
	killed.ContainerID = containerID
	killed.TargetCgroupID = 4343
	killed.TargetCgroup = "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + podUIDUnderscores +
		".slice/cri-containerd-" + targetContainerID + ".scope"
	killed.TargetContainerID, killed.TargetPodUID = targetContainerID, podUID
	copy(killed.Comm[:], "strace")
	refused := killed
	refused.PID, refused.TID, refused.Result, refused.Request, refused.Target = 1, 1, -1, 16, 42
	// On the host, its target's cgroup removed before the event was read.
	refused.CgroupID, refused.Cgroup, refused.ContainerID = 1, "/", ""
	refused.TargetCgroup, refused.TargetContainerID, refused.TargetPodUID = "", "", ""
	copy(refused.Comm[:], "init\x00\x00")
	audit := killed
	audit.Action, audit.Request, audit.UID = guard.ActionAudit, 0, 1000
	copy(audit.Comm[:], "gdb\x00\x00\x00")
	thread := killed
	thread.Action, thread.TID, thread.Signal, thread.Request = guard.ActionSignalThread, 8860, 36, 2
	hostile := killed
	copy(hostile.Comm[:], "a\"b\\c\nd\xffé\x00")
	procMem := killed
	procMem.Syscall, procMem.Request, procMem.Target, procMem.Compat = guard.SyscallProcessVMWritev, 0, 4242, true
	denied := killed
	denied.Action, denied.Tier, denied.Denied, denied.Request = guard.ActionDeny, guard.TierLSM, true, 16
	deniedKilled := denied
	deniedKilled.Action, deniedKilled.Tier = guard.ActionSignalProcess, guard.TierFmodRet
	lost := guard.Event{Kind: guard.KindLost, Time: at.Add(time.Second), Lost: 1234, LostTotal: 5678}
	exited := guard.Event{Kind: guard.KindExited, Time: at, PID: 8857, Syscall: guard.SyscallPtrace, Rule: "command-line",
		Latency: 142 * time.Microsecond, Resumed: 8858, Reaped: 8859,
		CgroupID: killed.CgroupID, Cgroup: killed.Cgroup, ContainerID: killed.ContainerID}
	copy(exited.Comm[:], "strace")
	stuck := exited
	stuck.Kind, stuck.Latency = guard.KindUnconfirmed, 1200*time.Millisecond
	// The warning comes from user space, which has no cgroup id for it.
	stuck.CgroupID, stuck.Cgroup, stuck.ContainerID = 0, "", ""
	return []guard.Event{killed, refused, audit, thread, hostile, procMem, denied, deniedKilled, lost, exited, stuck}
}

func render(t *testing.T, f Format) []byte {
	var buf bytes.Buffer
	w := New(f, &buf)
	if err := w.Begin(); err != nil {
		t.Fatal(err)
	}
	for _, ev := range events() {
		ev.Time = ev.Time.In(time.UTC)
		if err := w.Write(&ev); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (go test -run %s -update rewrites it)\ngot:\n%s\nwant:\n%s", name, t.Name(), got, want)
	}
}

func TestTableGolden(t *testing.T) {
	old := time.Local
	time.Local = time.UTC
	defer func() { time.Local = old }()
	golden(t, "table.golden", render(t, Table))
}

func TestJSONGolden(t *testing.T) {
	got := render(t, JSON)
	golden(t, "events.jsonl.golden", got)
	// Every line must be valid JSON on its own, whatever the comm holds.
	for _, line := range bytes.Split(bytes.TrimSpace(got), []byte("\n")) {
		var v map[string]any
		if err := json.Unmarshal(line, &v); err != nil {
			t.Errorf("invalid JSON line %s: %v", line, err)
		}
	}
}

func TestHostileCommCannotForgeLines(t *testing.T) {
	for _, f := range Formats {
		var buf bytes.Buffer
		w := New(f, &buf)
		ev := events()[4]
		if err := w.Write(&ev); err != nil {
			t.Fatal(err)
		}
		if n := bytes.Count(buf.Bytes(), []byte("\n")); n != 1 {
			t.Errorf("%s: a comm with a newline produced %d lines", f, n)
		}
	}
}

func TestParseFormat(t *testing.T) {
	for in, want := range map[string]Format{"table": Table, "json": JSON, "JSON": JSON} {
		if got, err := ParseFormat(in); err != nil || got != want {
			t.Errorf("ParseFormat(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := ParseFormat("xml"); err == nil {
		t.Error("xml accepted")
	}
}

func TestWritersAllocateNothingPerEvent(t *testing.T) {
	for _, f := range Formats {
		w := New(f, discard{})
		ev := events()[0]
		w.Write(&ev) // grows the buffer once
		if n := testing.AllocsPerRun(1000, func() { w.Write(&ev) }); n != 0 {
			t.Errorf("%s writer allocates %.1f times per event", f, n)
		}
	}
}

func BenchmarkWrite(b *testing.B) {
	for _, f := range Formats {
		b.Run(string(f), func(b *testing.B) {
			w := New(f, discard{})
			ev := events()[0]
			b.ReportAllocs()
			for b.Loop() {
				w.Write(&ev)
			}
		})
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
