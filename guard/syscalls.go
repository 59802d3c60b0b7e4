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
)

// hook is where the kernel side watches a syscall.
type hook struct {
	name       string // policy name
	tracepoint string // in the syscalls group
	program    string // in the BPF object
}

var hooks = map[Syscall]hook{
	SyscallPtrace:          {"ptrace", "sys_enter_ptrace", bpf.GuardProgSgPtrace},
	SyscallProcessVMReadv:  {"process_vm_readv", "sys_enter_process_vm_readv", bpf.GuardProgSgVmReadv},
	SyscallProcessVMWritev: {"process_vm_writev", "sys_enter_process_vm_writev", bpf.GuardProgSgVmWritev},
	SyscallPidfdGetfd:      {"pidfd_getfd", "sys_enter_pidfd_getfd", bpf.GuardProgSgPidfdGetfd},
	SyscallPerfEventOpen:   {"perf_event_open", "sys_enter_perf_event_open", bpf.GuardProgSgPerfOpen},
	SyscallOpen:            {"open", "sys_exit_open", bpf.GuardProgSgOpenExit},
	SyscallOpenat:          {"openat", "sys_exit_openat", bpf.GuardProgSgOpenatExit},
	SyscallOpenat2:         {"openat2", "sys_exit_openat2", bpf.GuardProgSgOpenat2Exit},
	SyscallCreat:           {"creat", "sys_exit_creat", bpf.GuardProgSgCreatExit},
}

// Presets name groups of syscalls.
var Presets = map[string][]Syscall{
	// Opens of /proc/<pid>/mem of another process, by any open syscall.
	"proc-mem": {SyscallOpen, SyscallOpenat, SyscallOpenat2, SyscallCreat},
	// Every route to another process's memory sigguard knows.
	"memory-access": {SyscallPtrace, SyscallProcessVMReadv, SyscallProcessVMWritev, SyscallPidfdGetfd,
		SyscallPerfEventOpen, SyscallOpen, SyscallOpenat, SyscallOpenat2, SyscallCreat},
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
