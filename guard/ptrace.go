package guard

import (
	"fmt"
	"strconv"
	"strings"
)

// Requests every architecture shares (include/uapi/linux/ptrace.h).
var ptraceRequests = map[int64]string{
	0x0:    "PTRACE_TRACEME",
	0x1:    "PTRACE_PEEKTEXT",
	0x2:    "PTRACE_PEEKDATA",
	0x3:    "PTRACE_PEEKUSR",
	0x4:    "PTRACE_POKETEXT",
	0x5:    "PTRACE_POKEDATA",
	0x6:    "PTRACE_POKEUSR",
	0x7:    "PTRACE_CONT",
	0x8:    "PTRACE_KILL",
	0x9:    "PTRACE_SINGLESTEP",
	0x10:   "PTRACE_ATTACH",
	0x11:   "PTRACE_DETACH",
	0x18:   "PTRACE_SYSCALL",
	0x4200: "PTRACE_SETOPTIONS",
	0x4201: "PTRACE_GETEVENTMSG",
	0x4202: "PTRACE_GETSIGINFO",
	0x4203: "PTRACE_SETSIGINFO",
	0x4204: "PTRACE_GETREGSET",
	0x4205: "PTRACE_SETREGSET",
	0x4206: "PTRACE_SEIZE",
	0x4207: "PTRACE_INTERRUPT",
	0x4208: "PTRACE_LISTEN",
	0x4209: "PTRACE_PEEKSIGINFO",
	0x420a: "PTRACE_GETSIGMASK",
	0x420b: "PTRACE_SETSIGMASK",
	0x420c: "PTRACE_SECCOMP_GET_FILTER",
	0x420d: "PTRACE_SECCOMP_GET_METADATA",
	0x420e: "PTRACE_GET_SYSCALL_INFO",
	0x420f: "PTRACE_GET_RSEQ_CONFIGURATION",
	0x4210: "PTRACE_SET_SYSCALL_USER_DISPATCH_CONFIG",
	0x4211: "PTRACE_GET_SYSCALL_USER_DISPATCH_CONFIG",
	0x4212: "PTRACE_SET_SYSCALL_INFO",
}

// PtraceRequestName names a ptrace(2) request, or gives its number in hex
// when neither the common nor this architecture's list knows it.
func PtraceRequestName(request int64) string {
	if name, ok := ptraceRequests[request]; ok {
		return name
	}
	if name, ok := archPtraceRequests[request]; ok {
		return name
	}
	return "0x" + strconv.FormatInt(request, 16)
}

// ParsePtraceRequest reads a request as a name (PTRACE_ATTACH, or ATTACH,
// any case) or a number (16, 0x4206).
func ParsePtraceRequest(s string) (int64, error) {
	if n, err := strconv.ParseInt(s, 0, 64); err == nil {
		return n, nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "PTRACE_") {
		name = "PTRACE_" + name
	}
	for _, table := range []map[int64]string{ptraceRequests, archPtraceRequests} {
		for n, known := range table {
			if known == name {
				return n, nil
			}
		}
	}
	return 0, fmt.Errorf("unknown ptrace request %q (use a name such as PTRACE_ATTACH or a number)", s)
}
