package guard

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/sigguard/sigguard/internal/bpf"
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

// hook is where the kernel side watches a syscall: a tracepoint in the
// syscalls group, or, where there is no syscall, tp_btf programs.
type hook struct {
	name       string   // policy name
	tracepoint string   // in the syscalls group; "" for tp_btf programs
	program    string   // the tracepoint's program in the BPF object
	tracing    []string // tp_btf programs, for a route with no syscall of its own (see attachTracing)
}

var hooks = map[Syscall]hook{
	SyscallPtrace:          {"ptrace", "sys_enter_ptrace", bpf.GuardProgSgPtrace, nil},
	SyscallProcessVMReadv:  {"process_vm_readv", "sys_enter_process_vm_readv", bpf.GuardProgSgVmReadv, nil},
	SyscallProcessVMWritev: {"process_vm_writev", "sys_enter_process_vm_writev", bpf.GuardProgSgVmWritev, nil},
	SyscallPidfdGetfd:      {"pidfd_getfd", "sys_enter_pidfd_getfd", bpf.GuardProgSgPidfdGetfd, nil},
	SyscallPerfEventOpen:   {"perf_event_open", "sys_enter_perf_event_open", bpf.GuardProgSgPerfOpen, nil},
	SyscallOpen:            {"open", "sys_exit_open", bpf.GuardProgSgOpenExit, nil},
	SyscallOpenat:          {"openat", "sys_exit_openat", bpf.GuardProgSgOpenatExit, nil},
	SyscallOpenat2:         {"openat2", "sys_exit_openat2", bpf.GuardProgSgOpenat2Exit, nil},
	SyscallCreat:           {"creat", "sys_exit_creat", bpf.GuardProgSgCreatExit, nil},
	SyscallIoUring: {"io_uring", "", "", []string{bpf.GuardProgSgUringComplete, bpf.GuardProgSgUringCompleteRes,
		bpf.GuardProgSgUringFileGet}},
}

// Presets name groups of syscalls.
var Presets = map[string][]Syscall{
	// Opens of /proc/<pid>/mem of another process, by any open syscall or io_uring.
	"proc-mem": {SyscallOpen, SyscallOpenat, SyscallOpenat2, SyscallCreat, SyscallIoUring},
	// Every route to another process's memory sigguard knows.
	"memory-access": {SyscallPtrace, SyscallProcessVMReadv, SyscallProcessVMWritev, SyscallPidfdGetfd,
		SyscallPerfEventOpen, SyscallOpen, SyscallOpenat, SyscallOpenat2, SyscallCreat, SyscallIoUring},
}

func (s Syscall) String() string {
	if h, ok := hooks[s]; ok {
		return h.name
	}
	return "syscall-" + strconv.Itoa(int(s))
}

// ParseSyscalls reads a syscall or preset name.
func ParseSyscalls(name string) ([]Syscall, error) {
	if set, ok := Presets[name]; ok {
		return set, nil
	}
	for s, h := range hooks {
		if h.name == name {
			return []Syscall{s}, nil
		}
	}
	return nil, fmt.Errorf("unknown syscall or preset %q (known: %s)", name, strings.Join(SyscallNames(), ", "))
}

// SyscallNames lists the syscall and preset names ParseSyscalls accepts.
func SyscallNames() []string {
	var names []string
	for p := range Presets {
		names = append(names, p)
	}
	for _, h := range hooks {
		names = append(names, h.name)
	}
	sort.Strings(names)
	return names
}
