//go:build !amd64

package main

import "syscall"

// Only x86-64 has a 32-bit syscall entry worth testing here.
func compatPtrace(request, pid int) syscall.Errno { return syscall.ENOSYS }

func compatOpenMem(pid int) syscall.Errno { return syscall.ENOSYS }
