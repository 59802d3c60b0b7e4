package guard

import (
	"strconv"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/sigguard/sigguard/internal/bpf"
)

// Kind says what an Event reports.
type Kind uint8

const (
	// KindIntervention: a guarded syscall matched a rule.
	KindIntervention = Kind(bpf.GuardEventKindSG_EVENT_INTERVENTION)
	// KindExited proves a kill: a process sigguard sent SIGKILL to has
	// exited; Event.Latency is the time from the offending call's entry.
	KindExited = Kind(bpf.GuardEventKindSG_EVENT_EXITED)
	// KindLost: the ring buffer was full and the kernel dropped events;
	// Event.Lost says how many since the previous report.
	KindLost Kind = 100
	// KindUnconfirmed warns that a process sigguard sent SIGKILL to had
	// not exited UnconfirmedAfter later; Event.Latency is how long ago.
	KindUnconfirmed Kind = 101
	// KindHeldBack: a rule's at_most held back calls (Event.HeldBack since
	// the last report), reported at most once a second per rule.
	KindHeldBack Kind = 102
)

// UnconfirmedAfter is how long a SIGKILLed process may take to exit before
// sigguard warns that it has not.
const UnconfirmedAfter = time.Second

func (k Kind) String() string {
	switch k {
	case KindIntervention:
		return "intervention"
	case KindExited:
		return "exited"
	case KindLost:
		return "lost"
	case KindUnconfirmed:
		return "unconfirmed"
	case KindHeldBack:
		return "held_back"
	}
	return "kind-" + strconv.Itoa(int(k))
}

// TargetKind says what a call reaches, as the kernel side resolved it.
type TargetKind uint8

const (
	// TargetNone: no other process (PTRACE_TRACEME).
	TargetNone = TargetKind(bpf.GuardTargetKindSG_TARGET_NONE)
	// TargetProcess: a task of another process (Event.Target).
	TargetProcess = TargetKind(bpf.GuardTargetKindSG_TARGET_TASK)
	// TargetEvery: every process (perf_event_open of pid -1, or of a cgroup).
	TargetEvery = TargetKind(bpf.GuardTargetKindSG_TARGET_EVERY)
	// TargetMissing: no task has the number in the caller's pid
	// namespace, so the call fails; no target rule matches it.
	TargetMissing = TargetKind(bpf.GuardTargetKindSG_TARGET_MISSING)
	// TargetUnresolved: the kernel's tables could not be read at the
	// call; every target rule held for it (none exempted it).
	TargetUnresolved = TargetKind(bpf.GuardTargetKindSG_TARGET_UNRESOLVED)
)

func (k TargetKind) String() string {
	switch k {
	case TargetNone:
		return "none"
	case TargetProcess:
		return "process"
	case TargetEvery:
		return "every"
	case TargetMissing:
		return "missing"
	case TargetUnresolved:
		return "unresolved"
	}
	return "target-" + strconv.Itoa(int(k))
}

// Comm is a task's command name as the kernel keeps it: at most 15 bytes,
// NUL-padded, and not necessarily valid UTF-8.
type Comm [16]byte

// Bytes returns the name without its padding.
func (c *Comm) Bytes() []byte {
	for i, b := range c {
		if b == 0 {
			return c[:i]
		}
	}
	return c[:]
}

func (c Comm) String() string { return string(c.Bytes()) }

// Event is one report from the guard. Run reuses it for every call of the
// handler: copy what must outlive the call.
type Event struct {
	Kind Kind
	// Time is when the syscall entered the kernel (for KindLost, when the
	// loss was noticed).
	Time time.Time
	// BootNs is when the kernel's hook ran, in CLOCK_BOOTTIME nanoseconds
	// (bpf_ktime_get_boot_ns), for events from the kernel: a process can
	// read the same clock to put its own moments beside it.
	BootNs uint64

	PID int // thread group id, in the initial pid namespace
	TID int // the calling thread
	// NsPID is the caller's pid in its own pid namespace (a container's),
	// equal to PID for a caller in the initial one.
	NsPID int
	PPID  int // real parent's thread group id
	UID   uint32
	GID   uint32
	Comm  Comm

	Syscall Syscall
	// Compat: the call came through the 32-bit syscall entry.
	Compat bool
	// Request is ptrace's request argument, or the io_uring opcode (0 for
	// other syscalls).
	Request int64
	// Target is the process the call reaches, by its pid in the initial
	// pid namespace, as the kernel resolves it: the task behind ptrace's,
	// process_vm_*'s or perf_event_open's pid (a number in the caller's
	// own pid namespace), behind pidfd_getfd's pidfd, or behind the
	// /proc/<pid> directory of an opened mem file. -1: every process
	// (perf_event_open of pid -1 or of a cgroup); 0: none (TargetKind
	// says why).
	Target int64
	// TargetTID is the thread the call names (initial pid namespace), and
	// TargetNsPID the target's pid as the caller's namespace names it (0
	// when the target is not visible there; for TargetMissing, the number
	// the call gave).
	TargetTID   int
	TargetNsPID int
	// TargetKind says what the call reaches.
	TargetKind TargetKind

	// CgroupID is the caller's cgroup v2 id (for KindExited, the exited
	// process's), read in the kernel when the event was written: the
	// cgroup directory's inode number. Cgroup is its path from the
	// hierarchy's root, as /proc/PID/cgroup prints it ("/docker/<id>");
	// "" when the cgroup was removed before the event was read, is not
	// below the root of sigguard's cgroup v2 mount, or no cgroup v2
	// hierarchy is mounted. ContainerID (the full id) and PodUID (a
	// Kubernetes pod's UID, with dashes) are what that path names, ""
	// for none; docs/containers.md lists the layouts recognised.
	CgroupID    uint64
	Cgroup      string
	ContainerID string
	PodUID      string
	// The same of the target thread, when the call reaches a task
	// (TargetProcess); 0 and "" otherwise.
	TargetCgroupID    uint64
	TargetCgroup      string
	TargetContainerID string
	TargetPodUID      string

	Action Action
	// Tier is the tier of the hook that judged the call; Denied says it
	// refused the call with EPERM (deny tiers only).
	Tier   Tier
	Denied bool
	Signal syscall.Signal
	// Result is what the signal helper returned: 0 when the kernel queued
	// the signal, -errno when it refused. Always 0 for ActionAudit.
	Result int
	// Rule is the name of the rule that matched.
	Rule string

	// Latency: for KindExited, from the offending call's entry to the
	// exit; for KindUnconfirmed, since the offending call.
	Latency time.Duration

	// Resumed and Reaped, for KindExited: the process the killed caller
	// had stopped, now sent SIGCONT, and its own child that the call
	// targeted, now killed too (Config.KeepCollateral); 0 for none.
	Resumed int
	Reaped  int

	// The generic route's call (Syscall.Generic): its arguments as the
	// registers held them, and for a rule judged at the call's exit
	// (AtExit) what it returned and how long it took from entry to exit.
	Args     [6]uint64
	AtExit   bool
	Ret      int64
	Duration time.Duration

	// HeldBack, for KindHeldBack: calls Rule's at_most held back since
	// the previous report (no signal, no event); HeldBackTotal since the
	// rule was loaded.
	HeldBack      uint64
	HeldBackTotal uint64

	// Lost counts events the kernel dropped since the previous KindLost.
	Lost uint64
	// LostTotal counts every dropped event since the guard started.
	LostTotal uint64
}

// Success reports whether the intervention took: the kernel refused the
// call, or accepted the signal. A signal accepted is queued, which does
// not mean the process is already dead.
func (e *Event) Success() bool { return e.Denied || (e.Action != ActionAudit && e.Result == 0) }

// Errno is the helper's error, or 0.
func (e *Event) Errno() syscall.Errno {
	if e.Result < 0 {
		return syscall.Errno(-e.Result)
	}
	return 0
}

// RequestName names the ptrace request or the io_uring opcode; "" for
// other syscalls.
func (e *Event) RequestName() string {
	switch e.Syscall {
	case SyscallPtrace:
		return PtraceRequestName(e.Request)
	case SyscallIoUring:
		return IoUringOpName(e.Request)
	}
	return ""
}

const compatFlag = uint16(bpf.GuardSyscallIdSG_SYSCALL_COMPAT)

// genericRoute is the kernel's id of the generic route, which events
// carry with the syscall's number.
const genericRoute = Syscall(bpf.GuardSyscallIdSG_SYSCALL_GENERIC)

// eventSize is the size of struct event, which the kernel writes verbatim.
const eventSize = int(unsafe.Sizeof(bpf.GuardEvent{}))

// decodeEvent fills ev from a ring buffer sample without allocating. The
// sample is copied into an aligned struct first: ring buffer records are
// only 8-byte aligned by convention, not by the Go type system.
func decodeEvent(sample []byte, raw *bpf.GuardEvent, clock *bootClock, names *[2]atomic.Pointer[[]string], ev *Event) bool {
	if len(sample) < eventSize {
		return false
	}
	copy(unsafe.Slice((*byte)(unsafe.Pointer(raw)), eventSize), sample)

	*ev = Event{
		Kind:    Kind(raw.Kind),
		Time:    clock.wall(raw.BootNs),
		BootNs:  raw.BootNs,
		PID:     int(raw.Tgid),
		TID:     int(raw.Tid),
		PPID:    int(raw.Ppid),
		UID:     raw.Uid,
		GID:     raw.Gid,
		Syscall: Syscall(raw.Syscall &^ compatFlag),
		Compat:  raw.Syscall&compatFlag != 0,
		Request: raw.Request,
		Target:  raw.Target,
		NsPID:   int(raw.NsTgid),

		TargetTID:      int(raw.TargetTid),
		TargetNsPID:    int(raw.TargetNr),
		TargetKind:     TargetKind(raw.TargetKind),
		CgroupID:       raw.CgroupId,
		TargetCgroupID: raw.TargetCgroupId,
		Action:         Action(raw.Action),
		Tier:           tierOf(raw.Tier),
		Denied:         raw.Denied != 0,
		Signal:         syscall.Signal(raw.Signal),
		Result:         int(raw.Result),
	}
	if ev.Kind == KindExited {
		ev.Latency = time.Duration(raw.BootNs - raw.CallNs)
		ev.Resumed, ev.Reaped = int(raw.Resume), int(raw.Reap)
	}
	if ev.Syscall == genericRoute && ev.Kind == KindExited {
		ev.Syscall = GenericSyscall(int(raw.Nr))
	} else if ev.Syscall == genericRoute {
		ev.Syscall = GenericSyscall(int(raw.Nr))
		ev.Args = raw.Args
		// The kernel side copies six registers' worth of the tracepoint's
		// record; past the syscall's own arguments they are stale.
		if names, ok := argNames()[ev.Syscall]; ok {
			clear(ev.Args[len(names):])
		}
		ev.AtExit = raw.AtExit != 0
		if ev.AtExit {
			ev.Ret, ev.Duration = raw.Ret, time.Duration(raw.LatencyNs)
		}
	}
	for i, c := range raw.Comm {
		ev.Comm[i] = byte(c)
	}
	if gen := names[raw.Generation&1].Load(); gen != nil && int(raw.Rule) < len(*gen) {
		ev.Rule = (*gen)[raw.Rule]
	}
	return true
}
