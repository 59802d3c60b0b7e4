package guard

import (
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/sigguard/sigguard/internal/bpf"
)

func sample(raw bpf.GuardEvent) []byte {
	return append([]byte(nil), unsafe.Slice((*byte)(unsafe.Pointer(&raw)), unsafe.Sizeof(raw))...)
}

func TestDecodeEvent(t *testing.T) {
	raw := bpf.GuardEvent{
		BootNs: 5_000_000_123, Request: 0x4206, Target: 4321, Tgid: 100, Tid: 101, Ppid: 99, Uid: 1000, Gid: 1001,
		Signal: 9, Result: -1, Syscall: uint16(SyscallPtrace), Kind: uint8(KindIntervention),
		Action: uint8(ActionSignalThread), Rule: 1, Generation: 1, CgroupId: 4242, TargetCgroupId: 4343,
	}
	for i, c := range "strace" {
		raw.Comm[i] = int8(c)
	}
	clock := bootClock{offset: 1_700_000_000_000_000_000}
	var names [2]atomic.Pointer[[]string]
	names[1].Store(&[]string{"first", "second"})
	var ev Event
	var scratch bpf.GuardEvent
	// Odd offset: records are not aligned the way Go types are.
	buf := append([]byte{0}, sample(raw)...)[1:]
	if !decodeEvent(buf, &scratch, &clock, &names, &ev) {
		t.Fatal("decode failed")
	}
	want := Event{
		Kind: KindIntervention, Time: time.Unix(0, 1_700_000_005_000_000_123), BootNs: 5_000_000_123, PID: 100, TID: 101, PPID: 99,
		UID: 1000, GID: 1001, Syscall: SyscallPtrace, Request: 0x4206, Target: 4321,
		Action: ActionSignalThread, Tier: TierSignal, Signal: syscall.SIGKILL, Result: -1, Rule: "second",
		CgroupID: 4242, TargetCgroupID: 4343,
	}
	copy(want.Comm[:], "strace")
	if ev != want {
		t.Errorf("decoded\n%+v\nwant\n%+v", ev, want)
	}
	if ev.Success() || ev.Errno() != syscall.EPERM || ev.RequestName() != "PTRACE_SEIZE" {
		t.Errorf("Success %v Errno %v Request %s", ev.Success(), ev.Errno(), ev.RequestName())
	}
	if decodeEvent(buf[:eventSize-1], &scratch, &clock, &names, &ev) {
		t.Error("a short record decoded")
	}
}

// A generic route's event names its syscall by number, keeps the
// arguments the syscall has (the rest of the record is stale), and its
// result and duration when judged at exit.
func TestDecodeGenericEvent(t *testing.T) {
	names, ok := argNames()[GenericSyscall(0)]
	if !ok || len(names) != 3 {
		t.Skipf("read's argument names are not known here (%v): the kernel's tracepoints are not readable", names)
	}
	raw := bpf.GuardEvent{
		BootNs: 7, Syscall: uint16(genericRoute), Kind: uint8(KindIntervention), Nr: 0, AtExit: 1, Ret: -11,
		LatencyNs: 250_000_000, Args: [6]uint64{3, 0x7ffd0000, 4096, 0xdead, 0xbeef, 0xf00d},
	}
	var ev Event
	var scratch bpf.GuardEvent
	var rules [2]atomic.Pointer[[]string]
	if !decodeEvent(sample(raw), &scratch, &bootClock{}, &rules, &ev) {
		t.Fatal("decode failed")
	}
	if ev.Syscall.String() != "read" || ev.Args != [6]uint64{3, 0x7ffd0000, 4096} || !ev.AtExit || ev.Ret != -11 ||
		ev.Duration != 250*time.Millisecond {
		t.Errorf("decoded %+v", ev)
	}
	raw.Kind, raw.Nr = uint8(KindExited), 272
	if !decodeEvent(sample(raw), &scratch, &bootClock{}, &rules, &ev) || ev.Syscall.String() != "unshare" {
		t.Errorf("an exit after a kill for unshare decoded as %v", ev.Syscall)
	}
}

// struct event is laid out by hand, without implicit padding (sigguard.h).
func TestEventSize(t *testing.T) {
	if eventSize != 200 {
		t.Errorf("struct event is %d bytes, want 200", eventSize)
	}
}

func TestDecodeEventAllocatesNothing(t *testing.T) {
	buf := sample(bpf.GuardEvent{Kind: uint8(KindIntervention), Rule: 0})
	var names [2]atomic.Pointer[[]string]
	names[0].Store(&[]string{"r"})
	var ev Event
	var scratch bpf.GuardEvent
	var clock bootClock
	if n := testing.AllocsPerRun(1000, func() { decodeEvent(buf, &scratch, &clock, &names, &ev) }); n != 0 {
		t.Errorf("decodeEvent allocates %.1f times per event", n)
	}
}

func BenchmarkDecodeEvent(b *testing.B) {
	buf := sample(bpf.GuardEvent{Kind: uint8(KindIntervention), Tgid: 1, Rule: 0})
	var names [2]atomic.Pointer[[]string]
	names[0].Store(&[]string{"r"})
	var ev Event
	var scratch bpf.GuardEvent
	var clock bootClock
	b.ReportAllocs()
	for b.Loop() {
		decodeEvent(buf, &scratch, &clock, &names, &ev)
	}
}

func TestAuditIsNeverSuccess(t *testing.T) {
	ev := Event{Action: ActionAudit}
	if ev.Success() {
		t.Error("an audit event reports a signal as sent")
	}
}
