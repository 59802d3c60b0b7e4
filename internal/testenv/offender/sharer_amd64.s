#include "textflag.h"

// func cloneSharer(flags, fd, buf, off, ppid, pause uintptr) (pid, errno uintptr)
//
// clone(2) with flags and no stack of its own: without CLONE_VM the child
// runs on its private copy of this stack. The child touches neither the
// Go runtime nor memory the copy would need to be consistent: its state
// lives in registers clone and syscalls leave alone (syscalls clobber
// only AX, CX and R11). It loops:
//
//	ppid = getppid()
//	if fcntl(fd, F_GETFD) >= 0: exit(pwrite64(fd, buf, 8, off) < 0 ? errno : 0)
//	if ppid != the parent it was given: exit(3)
//	nanosleep(pause)
//
// getppid comes before the look: once the parent's whole thread group
// has exited (the child is then reparented), nothing changes the table
// any more, so a descriptor missing then is missing for good.
TEXT ·cloneSharer(SB), NOSPLIT, $0-64
	MOVQ fd+8(FP), R12
	MOVQ buf+16(FP), R13
	MOVQ off+24(FP), R14
	MOVQ ppid+32(FP), R15
	MOVQ pause+40(FP), BX
	MOVQ flags+0(FP), DI
	XORQ SI, SI
	XORQ DX, DX
	XORQ R10, R10
	XORQ R8, R8
	MOVQ $56, AX // SYS_clone
	SYSCALL
	CMPQ AX, $0
	JEQ child
	JLT failed
	MOVQ AX, pid+48(FP)
	MOVQ $0, errno+56(FP)
	RET

failed:
	NEGQ AX
	MOVQ $0, pid+48(FP)
	MOVQ AX, errno+56(FP)
	RET

child:
	MOVQ $110, AX // SYS_getppid
	SYSCALL
	MOVQ AX, R9
	MOVQ $72, AX // SYS_fcntl
	MOVQ R12, DI
	MOVQ $1, SI // F_GETFD
	XORQ DX, DX
	SYSCALL
	CMPQ AX, $0
	JGE write
	MOVQ $3, DI
	CMPQ R9, R15
	JNE exit
	MOVQ $35, AX // SYS_nanosleep
	MOVQ BX, DI
	XORQ SI, SI
	SYSCALL
	JMP child

write:
	MOVQ $18, AX // SYS_pwrite64
	MOVQ R12, DI
	MOVQ R13, SI
	MOVQ $8, DX
	MOVQ R14, R10
	SYSCALL
	XORQ DI, DI
	CMPQ AX, $0
	JGE exit
	NEGQ AX
	MOVQ AX, DI

exit:
	MOVQ $60, AX // SYS_exit
	SYSCALL
	RET
