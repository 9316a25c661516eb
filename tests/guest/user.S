/*
 * user.S - run a function at CPL3 and come back (see user.c).
 *
 * u64 user_enter(u64 (*fn)(u64), u64 arg, u64 rflags)
 *   Saves the callee-saved registers, points TSS.RSP0 at the current stack
 *   and IRETs to fn(arg) in ring 3 on the user stack, whose top holds the
 *   address of user_exit: when fn returns, user_exit executes int3 (the #BP
 *   gate has DPL3); idt_dispatch() recognises a #BP from CPL3 at
 *   user_exit_bp and calls user_abort(RAX).  ("int $n" would be the obvious
 *   choice, but kvm-pvm hosts turn it into #UD at CPL3, see layout.h.)
 *
 * void user_abort(u64 value)
 *   Restores the kernel stack saved by user_enter and makes user_enter
 *   return value.  Also used for exceptions at CPL3 (value = -1).
 */
#include "layout.h"

	.text
	.code64
	.globl user_enter, user_exit_bp, user_abort
user_enter:
	pushfq
	pushq	%rbx
	pushq	%rbp
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	movq	%rsp, user_saved_rsp(%rip)
	movq	%rsp, kite_tss+4(%rip)		/* TSS.RSP0 */
	leaq	user_stack_top(%rip), %rax
	leaq	user_exit(%rip), %rcx
	movq	%rcx, -8(%rax)
	subq	$8, %rax
	pushq	$KITE_USER_DS			/* SS */
	pushq	%rax				/* RSP */
	pushq	%rdx				/* RFLAGS */
	pushq	$KITE_USER_CS			/* CS */
	pushq	%rdi				/* RIP */
	movq	%rsi, %rdi
	iretq

user_exit:					/* ring 3 */
	int3
user_exit_bp:
	ud2

user_abort:					/* ring 0 */
	movq	%rdi, %rax
	movq	user_saved_rsp(%rip), %rsp
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%rbp
	popq	%rbx
	popfq
	ret

	.bss
	.balign 8
user_saved_rsp:
	.quad 0
	.balign 4096
	.skip KITE_USER_STACK_SIZE
user_stack_top:
