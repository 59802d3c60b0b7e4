package guard

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/sigguard/sigguard/internal/bpf"
	"github.com/sigguard/sigguard/internal/syscalls"
)

// Syscall identifies a guarded syscall.
type Syscall uint16

const (
	SyscallPtrace          = Syscall(bpf.GuardSyscallIdSG_SYSCALL_PTRACE)
	SyscallProcessVMReadv  = Syscall(bpf.GuardSyscallIdSG_SYSCALL_PROCESS_VM_READV)
	SyscallProcessVMWritev = Syscall(bpf.GuardSyscallIdSG_SYSCALL_PROCESS_VM_WRITEV)
	SyscallPidfdGetfd      = Syscall(bpf.GuardSyscallIdSG_SYSCALL_PIDFD_GETFD)
	SyscallPerfEventOpen   = Syscall(bpf.GuardSyscallIdSG_SYSCALL_PERF_EVENT_OPEN)
	// The open syscalls are guarded only where they open /proc/<pid>/mem of
	// another process; the check runs on the opened file at syscall exit.
	SyscallOpen    = Syscall(bpf.GuardSyscallIdSG_SYSCALL_OPEN)
	SyscallOpenat  = Syscall(bpf.GuardSyscallIdSG_SYSCALL_OPENAT)
	SyscallOpenat2 = Syscall(bpf.GuardSyscallIdSG_SYSCALL_OPENAT2)
	SyscallCreat   = Syscall(bpf.GuardSyscallIdSG_SYSCALL_CREAT)
	// SyscallIoUring is io_uring's way to /proc/<pid>/mem: an open request
	// (IORING_OP_OPENAT, OPENAT2) that opened another process's mem file,
	// or a request (READ, WRITE...) on a descriptor of one. Event.Request
	// holds the opcode.
	SyscallIoUring = Syscall(bpf.GuardSyscallIdSG_SYSCALL_IO_URING)
)

// route is one way to another process's memory: one row here and one in
// the kernel side's table (internal/bpf/syscalls_x86.h, checked against
// this one by the tests). Hooks, presets, the 32-bit dispatch and the
// policy reference's table derive from these rows.
type route struct {
	syscall    Syscall
	name       string   // policy name
	tracepoint string   // in the syscalls group; "" for tp_btf programs
	program    string   // the tracepoint's program in the BPF object
	tracing    []string // tp_btf programs, for a route with no syscall of its own (see attachTracing)
	native     int      // x86-64 syscall number; 0 for none
	compat     int      // ia32 syscall number; 0 for none
	atExit     bool     // judged at syscall exit, on what the call made
	target     string   // how the kernel side finds what the call reaches
	presets    []string // presets that include it
	guards     string   // what it guards, for the policy reference
}

const (
	byPid      = "the task with that pid in the caller's pid namespace, as the kernel looks it up"
	byFile     = "the process of the /proc/<pid> directory the opened file lives in (its proc inode)"
	memPresets = "proc-mem memory-access"
)

var routes = []route{
	{SyscallPtrace, "ptrace", "sys_enter_ptrace", bpf.GuardProgSgPtrace, nil, 101, 26, false,
		byPid + "; none for PTRACE_TRACEME", []string{"memory-access"},
		"ptrace(2), every request"},
	{SyscallProcessVMReadv, "process_vm_readv", "sys_enter_process_vm_readv", bpf.GuardProgSgVmReadv, nil, 310, 347, false,
		byPid, []string{"memory-access"},
		"reading another process's memory directly"},
	{SyscallProcessVMWritev, "process_vm_writev", "sys_enter_process_vm_writev", bpf.GuardProgSgVmWritev, nil, 311, 348, false,
		byPid, []string{"memory-access"},
		"writing another process's memory directly"},
	{SyscallPidfdGetfd, "pidfd_getfd", "sys_enter_pidfd_getfd", bpf.GuardProgSgPidfdGetfd, nil, 438, 438, false,
		"the process the pidfd refers to (its struct pid)", []string{"memory-access"},
		"taking a copy of another process's file descriptor"},
	{SyscallPerfEventOpen, "perf_event_open", "sys_enter_perf_event_open", bpf.GuardProgSgPerfOpen, nil, 298, 336, false,
		byPid + "; every process for pid -1 or a cgroup; the caller for pid 0", []string{"memory-access"},
		"perf events on another process, or on every process of a CPU (pid -1)"},
	{SyscallOpen, "proc-mem-open", "sys_exit_open", bpf.GuardProgSgOpenExit, nil, 2, 5, true, byFile, strings.Fields(memPresets),
		"opens of another process's `/proc/<pid>/mem` (or `/proc/<pid>/task/<tid>/mem`)"},
	{SyscallOpenat, "proc-mem-openat", "sys_exit_openat", bpf.GuardProgSgOpenatExit, nil, 257, 295, true, byFile, strings.Fields(memPresets),
		"the same, by openat(2)"},
	{SyscallOpenat2, "proc-mem-openat2", "sys_exit_openat2", bpf.GuardProgSgOpenat2Exit, nil, 437, 437, true, byFile, strings.Fields(memPresets),
		"the same, by openat2(2)"},
	{SyscallCreat, "proc-mem-creat", "sys_exit_creat", bpf.GuardProgSgCreatExit, nil, 85, 8, true, byFile, strings.Fields(memPresets),
		"the same, by creat(2), which opens for writing"},
	{SyscallIoUring, "io_uring", "", "", []string{bpf.GuardProgSgUringComplete, bpf.GuardProgSgUringCompleteRes,
		bpf.GuardProgSgUringFileGet}, 0, 0, true, byFile, strings.Fields(memPresets),
		"the same opens made by io_uring (`IORING_OP_OPENAT`, `OPENAT2`), and io_uring requests on such a file; events name the opcode as the request (`IORING_OP_OPENAT`, `IORING_OP_WRITE`...)"},
}

// hooks indexes routes by syscall.
var hooks = func() map[Syscall]route {
	m := map[Syscall]route{}
	for _, r := range routes {
		m[r.syscall] = r
	}
	return m
}()

// Presets name groups of syscalls: "proc-mem", opens of /proc/<pid>/mem
// of another process by any open syscall or io_uring; "memory-access",
// every route to another process's memory sigguard knows.
var Presets = func() map[string][]Syscall {
	m := map[string][]Syscall{}
	for _, r := range routes {
		for _, p := range r.presets {
			m[p] = append(m[p], r.syscall)
		}
	}
	return m
}()

func (s Syscall) String() string {
	if h, ok := hooks[s]; ok {
		return h.name
	}
	if nr, ok := s.Number(); ok {
		if name, ok := syscalls.NameOf(nr); ok {
			return name
		}
		return "syscall-nr-" + strconv.Itoa(nr)
	}
	return "syscall-" + strconv.Itoa(int(s))
}

// Tracepoint is the syscall tracepoint a route's program is on
// ("sys_exit_openat" for proc-mem-openat), or a generic syscall's entry
// tracepoint; "" for a route with none (io_uring).
func (s Syscall) Tracepoint() string {
	if h, ok := hooks[s]; ok {
		return h.tracepoint
	}
	if s.Generic() {
		return "sys_enter_" + syscalls.TracepointOf(s.String())
	}
	return ""
}

// ParseSyscalls reads a syscall or preset name. A route's name (ptrace,
// process_vm_readv...) is that route, which judges every call of the
// syscall and what it reaches; any other syscall of the x86-64 table is
// judged by the generic route; a preset is its set.
func ParseSyscalls(name string) ([]Syscall, error) {
	if set, ok := Presets[name]; ok {
		return set, nil
	}
	if p, ok := syscalls.PresetNamed(name); ok {
		var set []Syscall
		for _, n := range p.Syscalls {
			set = append(set, mustGeneric(n))
		}
		return set, nil
	}
	if s, ok := routeNamed(name); ok {
		return []Syscall{s}, nil
	}
	if nr, ok := syscalls.Number(name); ok {
		return []Syscall{GenericSyscall(nr)}, nil
	}
	if near := syscalls.Near(name, SyscallNames()); len(near) > 0 {
		return nil, fmt.Errorf("unknown syscall or preset %q (did you mean %s?)", name, strings.Join(near, ", "))
	}
	return nil, fmt.Errorf("unknown syscall or preset %q: no syscall of the x86-64 table has that name, "+
		"and the presets are %s", name, strings.Join(presetNames(), ", "))
}

// presetNames lists every preset's name, sorted.
func presetNames() []string {
	var names []string
	for p := range Presets {
		names = append(names, p)
	}
	for _, p := range syscalls.Presets {
		names = append(names, p.Name)
	}
	sort.Strings(names)
	return names
}

// mustGeneric is a preset's syscall, which the presets' tests check is in
// the number table.
func mustGeneric(name string) Syscall {
	nr, ok := syscalls.Number(name)
	if !ok {
		panic("preset names syscall " + name + ", which has no number")
	}
	return GenericSyscall(nr)
}

// SyscallNames lists the syscall and preset names ParseSyscalls accepts.
func SyscallNames() []string {
	names := presetNames()
	for _, h := range hooks {
		names = append(names, h.name)
	}
	for _, n := range syscalls.AllNames() {
		if _, route := routeNamed(n); !route {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}

// routeNamed is the route a policy names so, if any.
func routeNamed(name string) (Syscall, bool) {
	for s, h := range hooks {
		if h.name == name {
			return s, true
		}
	}
	return 0, false
}

// genericBase is where the generic route's syscalls start: Syscall
// genericBase+nr is x86-64 syscall nr, every call of it, judged by the
// generic route (routes_generic.h). The routes' own ids are below it.
const genericBase Syscall = 0x1000

// GenericSyscall is x86-64 syscall nr, judged by the generic route.
func GenericSyscall(nr int) Syscall { return genericBase + Syscall(nr) }

// Number is the x86-64 syscall number of a generic route's syscall.
func (s Syscall) Number() (int, bool) {
	if s >= genericBase && s < genericBase+syscalls.MaxNumber {
		return int(s - genericBase), true
	}
	return 0, false
}

// Generic says whether the generic route judges s.
func (s Syscall) Generic() bool {
	_, ok := s.Number()
	return ok
}

// asGeneric is s as the generic route judges it: a route judged at entry
// whose syscall it is becomes that syscall, every call of it; a route
// that is not one syscall (proc-mem's opens, io_uring) has none.
func (s Syscall) asGeneric() (Syscall, bool) {
	if s.Generic() {
		return s, true
	}
	h, ok := hooks[s]
	if !ok || h.atExit || h.native == 0 {
		return 0, false
	}
	return GenericSyscall(h.native), true
}
