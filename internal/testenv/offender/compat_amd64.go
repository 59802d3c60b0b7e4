package main

import "syscall"

// compatPtrace calls ptrace through the 32-bit entry (int $0x80) from this
// 64-bit process: the kernel runs the ia32 syscall table with TS_COMPAT set,
// and no syscalls:* tracepoint fires.
func compatPtrace(request, pid int) syscall.Errno {
	ret := int32(int80(ia32Ptrace, uint32(request), uint32(pid)))
	if ret < 0 {
		return syscall.Errno(-ret)
	}
	return 0
}

const ia32Ptrace = 26

// int80 is in compat_amd64.s.
func int80(nr, a1, a2 uint32) uint32
