package main

import (
	"fmt"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

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

const (
	ia32Open   = 5
	ia32Ptrace = 26
)

// compatOpenMem opens /proc/<pid>/mem through the 32-bit entry. Its
// pointers are 32 bits wide, so the path lives in a mapping below 2 GiB.
func compatOpenMem(pid int) syscall.Errno {
	page, err := unix.Mmap(-1, 0, 4096, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_32BIT)
	if err != nil {
		fail("mmap below 2 GiB: %v", err)
	}
	defer unix.Munmap(page)
	copy(page, fmt.Sprintf("/proc/%d/mem\x00", pid))
	ret := int32(int80(ia32Open, uint32(uintptr(unsafe.Pointer(&page[0]))), unix.O_RDONLY))
	if ret < 0 {
		return syscall.Errno(-ret)
	}
	unix.Close(int(ret))
	return 0
}

// int80 is in compat_amd64.s.
func int80(nr, a1, a2 uint32) uint32
