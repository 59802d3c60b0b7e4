#include "textflag.h"

// func cloneCall(flags, stack, nr, a1, a2, a3, a4, a5 uintptr) (pid, errno uintptr)
//
// clone(2) with flags; the child makes the one syscall nr(a1..a5, 0) and
// exits (this task only) with status 0, or the call's errno. The child
// runs nothing else: with CLONE_VM it shares the parent's memory and must
// not touch the Go runtime, so the call's arguments travel in registers
// clone leaves alone (syscalls clobber only AX, CX and R11).
TEXT ·cloneCall(SB), NOSPLIT, $0-80
	MOVQ nr+16(FP), R12
	MOVQ a1+24(FP), R13
	MOVQ a2+32(FP), R14
	MOVQ a3+40(FP), R15
	MOVQ a4+48(FP), BX
	MOVQ a5+56(FP), R9
	MOVQ flags+0(FP), DI
	MOVQ stack+8(FP), SI
	XORQ DX, DX
	XORQ R10, R10
	XORQ R8, R8
	MOVQ $56, AX // SYS_clone
	SYSCALL
	CMPQ AX, $0
	JEQ child
	JLT failed
	MOVQ AX, pid+64(FP)
	MOVQ $0, errno+72(FP)
	RET

failed:
	NEGQ AX
	MOVQ $0, pid+64(FP)
	MOVQ AX, errno+72(FP)
	RET

child:
	MOVQ R12, AX
	MOVQ R13, DI
	MOVQ R14, SI
	MOVQ R15, DX
	MOVQ BX, R10
	MOVQ R9, R8
	XORQ R9, R9
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
