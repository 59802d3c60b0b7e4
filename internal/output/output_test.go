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
	// The generic route: a kill at entry, judged on an argument; a slow
	// read signalled at its exit; a rule's at_most holding calls back.
	unshare := killed
	unshare.Syscall, unshare.Request, unshare.Target, unshare.TargetKind = guard.GenericSyscall(272), 0, 0, guard.TargetNone
	unshare.TargetTID, unshare.TargetNsPID, unshare.TargetCgroupID = 0, 0, 0
	unshare.TargetCgroup, unshare.TargetContainerID, unshare.TargetPodUID = "", "", ""
	unshare.Rule, unshare.BootNs = "no-user-namespaces", 91234567890
	unshare.Args[0] = 0x10000000
	slowRead := unshare
	slowRead.Syscall, slowRead.Action, slowRead.Signal, slowRead.Rule = guard.GenericSyscall(0), guard.ActionSignalThread, 12, "stack-on-slow-read"
	slowRead.Args = [6]uint64{0, 0x7ffd1234, 4096}
	slowRead.AtExit, slowRead.Ret, slowRead.Duration = true, 17, 412*time.Millisecond
	held := guard.Event{Kind: guard.KindHeldBack, Time: at.Add(time.Second), Rule: "stack-on-slow-read", HeldBack: 12, HeldBackTotal: 40}
	return []guard.Event{killed, refused, audit, thread, hostile, procMem, denied, deniedKilled, lost, exited, stuck,
		unshare, slowRead, held}
}

// testArgNames names arguments as this kernel's tracepoints do, without
// reading them.
func testArgNames(s guard.Syscall) []string {
	switch s {
	case guard.GenericSyscall(272):
		return []string{"unshare_flags"}
	case guard.GenericSyscall(0):
		return []string{"fd", "buf", "count"}
	}
	return nil
}

func init() { argNames = testArgNames }

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
	if err := w.Flush(); err != nil {
		t.Fatal(err)
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
		if err := w.Flush(); err != nil {
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

// Per event: formatting, the buffer written out when full (many times
// over the runs), and a new second of time every so often. Naming an
// event's cgroups is tested in package guard (TestIdentitiesHitAllocatesNothing).
func TestWritersAllocateNothingPerEvent(t *testing.T) {
	for _, f := range Formats {
		w := New(f, discard{})
		evs := events()
		for i := range evs {
			w.Write(&evs[i])
		}
		i := 0
		if n := testing.AllocsPerRun(1000, func() {
			// The same calls again and again, and one that differs each
			// time (the JSON writer copies repeated calls' text).
			ev := &evs[i%len(evs)]
			ev.Time = ev.Time.Add(7 * time.Millisecond)
			if i%3 == 0 {
				ev.TID++
			}
			w.Write(ev)
			i++
		}); n != 0 {
			t.Errorf("%s writer allocates %.1f times per event", f, n)
		}
		if n := testing.AllocsPerRun(100, func() { w.Flush() }); n != 0 {
			t.Errorf("%s writer allocates %.1f times per flush", f, n)
		}
	}
}

// A flood's lines are copied from the last few calls but for the time:
// each must still be the line its own event makes, whatever came before
// (more threads than are remembered, calls that differ in one field).
func TestRepeatedCallsMakeTheirOwnLines(t *testing.T) {
	base := events()
	var evs []guard.Event
	for i := range 40 {
		ev := base[i%3]
		ev.Time = ev.Time.Add(time.Duration(i) * 1234567 * time.Nanosecond)
		ev.TID += i % 11
		if i%7 == 0 {
			ev.Rule = "other"
		}
		evs = append(evs, ev)
	}
	var all bytes.Buffer
	w := New(JSON, &all)
	for _, ev := range evs {
		w.Write(&ev)
	}
	w.Flush()
	for i, line := range bytes.SplitAfter(all.Bytes(), []byte("\n"))[:len(evs)] {
		var one bytes.Buffer
		fresh := New(JSON, &one)
		fresh.Write(&evs[i])
		fresh.Flush()
		if !bytes.Equal(line, one.Bytes()) {
			t.Errorf("line %d:\n%s\nits event alone:\n%s", i, line, one.Bytes())
		}
	}
}

// Lines are held until the buffer is full or Flush is called, and every
// write carries whole lines.
func TestLinesAreWrittenWholeInBatches(t *testing.T) {
	for _, f := range Formats {
		var writes writeLog
		w := New(f, &writes)
		ev := events()[0]
		for range 3 {
			w.Write(&ev)
		}
		if len(writes) != 0 {
			t.Fatalf("%s: %d writes before the buffer is full or flushed", f, len(writes))
		}
		lines := 3
		for ; len(writes) == 0; lines++ {
			w.Write(&ev)
		}
		w.Write(&ev)
		lines++
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		w.Flush() // nothing left: no write
		if len(writes) != 2 {
			t.Fatalf("%s: %d writes, want the full buffer and the rest", f, len(writes))
		}
		if len(writes[0]) < flushAt {
			t.Errorf("%s: wrote %d bytes before the buffer was full (%d)", f, len(writes[0]), flushAt)
		}
		var all []byte
		for _, b := range writes {
			if b[len(b)-1] != '\n' {
				t.Errorf("%s: a write ends inside a line", f)
			}
			all = append(all, b...)
		}
		if got := bytes.Count(all, []byte("\n")); got != lines {
			t.Errorf("%s: %d lines written, want %d", f, got, lines)
		}
	}
}

// Times are formatted to the second once per second; the rest must
// still be exact, in the zone of each time (the table's) or in UTC.
func TestTimesAcrossSecondsAndZones(t *testing.T) {
	east := time.FixedZone("east", 5*3600+1800)
	at := time.Date(2026, 11, 25, 23, 59, 59, 999999999, time.UTC)
	times := []time.Time{at, at.In(east), at, at.Add(time.Nanosecond), at.Add(time.Second), at.Add(-time.Hour).In(east),
		at.Add(time.Millisecond), at.Add(-time.Second + 1)}
	for _, f := range Formats {
		var buf bytes.Buffer
		w := New(f, &buf)
		for _, at := range times {
			ev := events()[0]
			ev.Time = at
			w.Write(&ev)
		}
		w.Flush()
		lines := bytes.Split(bytes.TrimSuffix(buf.Bytes(), []byte("\n")), []byte("\n"))
		for i, at := range times {
			want := at.Format("15:04:05 ")
			if f == JSON {
				want = `{"type":"intervention","time":"` + at.UTC().Format("2006-01-02T15:04:05.000000000Z07:00") + `"`
			}
			if !bytes.HasPrefix(lines[i], []byte(want)) {
				t.Errorf("%s: line %d starts %.60s, want %s", f, i, lines[i], want)
			}
		}
	}
}

// BenchmarkWrite writes one call again and again, as in a flood; "new
// calls" changes the thread each time, so no line repeats another.
func BenchmarkWrite(b *testing.B) {
	for _, f := range Formats {
		for _, fresh := range []bool{false, true} {
			name := string(f)
			if fresh {
				name += ", new calls"
			}
			b.Run(name, func(b *testing.B) {
				w := New(f, discard{})
				ev := events()[0]
				b.ReportAllocs()
				for b.Loop() {
					if fresh {
						ev.TID++
					}
					ev.Time = ev.Time.Add(time.Microsecond)
					w.Write(&ev)
				}
			})
		}
	}
}

// writeLog keeps each write apart.
type writeLog [][]byte

func (l *writeLog) Write(p []byte) (int, error) {
	*l = append(*l, append([]byte(nil), p...))
	return len(p), nil
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
