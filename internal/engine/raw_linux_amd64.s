//go:build linux && amd64

#include "textflag.h"
#include "go_asm.h"

// func rawSpawn(h *header) uintptr
//
// Everything between the two rt_sigprocmask calls runs with every signal
// blocked, so no handler and no preemption can run on either side of the
// clone. The child starts at the instruction after SYSCALL with the same
// registers (R12 still holds h) and its stack pointer at the top of the
// region's stack; it jumps to the interpreter and never returns into Go.
TEXT ·rawSpawn(SB),NOSPLIT|NOFRAME,$0-16
	MOVQ	h+0(FP), R12

	// rt_sigprocmask(SIG_SETMASK, &h.fullMask, &h.oldMask, 8)
	MOVQ	$const_sysRtSigprocmask, AX
	MOVQ	$const_sigSetmask, DI
	LEAQ	header_fullMask(R12), SI
	LEAQ	header_oldMask(R12), DX
	MOVQ	$8, R10
	SYSCALL

	CMPQ	header_mode(R12), $const_modeClone3
	JNE	legacy
	// clone3(&h.cloneArgs, sizeof)
	MOVQ	$const_sysClone3, AX
	LEAQ	header_cloneArgs(R12), DI
	MOVQ	$const_cloneArgsSize, SI
	SYSCALL
	JMP	cloned
legacy:
	// clone(flags, stack, &h.pidfd (CLONE_PIDFD), &h.tid (CLEARTID), tls)
	MOVQ	$const_sysClone, AX
	MOVQ	header_legacyFlags(R12), DI
	MOVQ	header_stackTop(R12), SI
	LEAQ	header_pidfd(R12), DX
	LEAQ	header_tid(R12), R10
	XORQ	R8, R8
	SYSCALL
cloned:
	TESTQ	AX, AX
	JEQ	child

	// Parent: restore the thread's mask, return the pid or -errno.
	MOVQ	AX, R13
	MOVQ	$const_sysRtSigprocmask, AX
	MOVQ	$const_sigSetmask, DI
	LEAQ	header_oldMask(R12), SI
	XORQ	DX, DX
	MOVQ	$8, R10
	SYSCALL
	MOVQ	R13, ret+8(FP)
	RET

	// Child. Registers: R12 = h, BX = current op, R13 = ops left,
	// R14 = signal number in the reset loop (the child never returns to
	// Go, so the g register is free). SYSCALL clobbers CX and R11, so the
	// flags word is reloaded after each call.
child:
	MOVQ	header_prog(R12), BX
	MOVQ	header_nops(R12), R13
loop:
	TESTQ	R13, R13
	JEQ	ended
	// Record which op runs, so that a child killed before exec is told
	// apart from one that exec'd.
	MOVQ	BX, header_curOp(R12)
	MOVQ	const_opFlags(BX), CX
	TESTQ	$const_flagReset, CX
	JNE	reset
	TESTQ	$const_flagWait, CX
	JNE	wait
	// Load the six arguments; flag bit k makes argument k indirect.
	MOVQ	const_opArg0(BX), DI
	TESTQ	$1, CX
	JEQ	2(PC)
	MOVQ	(DI), DI
	MOVQ	const_opArg1(BX), SI
	TESTQ	$2, CX
	JEQ	2(PC)
	MOVQ	(SI), SI
	MOVQ	const_opArg2(BX), DX
	TESTQ	$4, CX
	JEQ	2(PC)
	MOVQ	(DX), DX
	MOVQ	const_opArg3(BX), R10
	TESTQ	$8, CX
	JEQ	2(PC)
	MOVQ	(R10), R10
	MOVQ	const_opArg4(BX), R8
	TESTQ	$16, CX
	JEQ	2(PC)
	MOVQ	(R8), R8
	MOVQ	const_opArg5(BX), R9
	TESTQ	$32, CX
	JEQ	2(PC)
	MOVQ	(R9), R9
	MOVQ	const_opNr(BX), AX
	SYSCALL
result:
	// AX in [-4095, -1] is -errno.
	CMPQ	AX, $-4095
	JCC	failed
	MOVQ	const_opFlags(BX), CX
	TESTQ	$const_flagStore, CX
	JEQ	nostore
	MOVQ	const_opStoreAddr(BX), DX
	MOVQ	AX, (DX)
nostore:
	TESTQ	$const_flagExpect, CX
	JEQ	advance
	CMPQ	AX, const_opExpect(BX)
	JEQ	advance
	MOVQ	const_opExpectErrno(BX), AX
	JMP	fail
advance:
	ADDQ	$const_opSize, BX
	DECQ	R13
	JMP	loop

failed:
	NEGQ	AX
	CMPQ	AX, const_opAllowErrno(BX)
	JEQ	advance
fail:
	// Record {step, errno} for the parent and exit.
	MOVQ	const_opStep(BX), DX
	MOVQ	DX, header_failStep(R12)
	MOVQ	AX, header_failErrno(R12)
die:
	MOVQ	$const_sysExitGroup, AX
	MOVQ	$const_exitFailed, DI
	SYSCALL
	// Still here: a seccomp filter of the child's own refused exit_group.
	// A fault cannot be refused: the kernel forces SIGSEGV to its default
	// action (handlers were reset, and a blocked or ignored forced signal
	// is reset to the default), and the child dies.
	XORQ	AX, AX
	MOVQ	AX, (AX)
	JMP	die

ended:
	// The program ran out without an exec.
	MOVQ	$-1, header_failStep(R12)
	MOVQ	$const_errEnded, header_failErrno(R12)
	JMP	die

reset:
	// For sig in 1..64: if its handler value is above the op's first
	// argument (1: neither SIG_DFL nor SIG_IGN; 0: not SIG_DFL), set it
	// to SIG_DFL.
	MOVQ	const_opArg0(BX), R9
	MOVQ	$1, R14
rloop:
	MOVQ	$const_sysRtSigaction, AX
	MOVQ	R14, DI
	XORQ	SI, SI
	LEAQ	header_oldAct(R12), DX
	MOVQ	$8, R10
	SYSCALL
	CMPQ	AX, $-4095
	JCC	result
	MOVQ	header_oldAct(R12), AX
	CMPQ	AX, R9
	JLS	rnext
	MOVQ	$const_sysRtSigaction, AX
	MOVQ	R14, DI
	LEAQ	header_dflAct(R12), SI
	XORQ	DX, DX
	MOVQ	$8, R10
	SYSCALL
	CMPQ	AX, $-4095
	JCC	result
rnext:
	INCQ	R14
	CMPQ	R14, $64
	JLS	rloop
	XORQ	AX, AX
	JMP	result

wait:
	// Sleep until the 4-byte word at the first argument is not zero; the
	// second argument is a timeout for each sleep. A timeout fails the op
	// (the parent never woke us); other errors (EAGAIN: the word changed,
	// EINTR) retry.
	MOVQ	const_opArg0(BX), DI
	MOVL	(DI), AX
	TESTL	AX, AX
	JNE	wdone
	MOVQ	$const_sysFutex, AX
	MOVQ	$const_futexWait, SI
	XORQ	DX, DX
	MOVQ	const_opArg1(BX), R10
	SYSCALL
	CMPQ	AX, $const_negETIMEDOUT
	JEQ	result
	JMP	wait
wdone:
	XORQ	AX, AX
	JMP	result
