/*
 * idt.S - static IDT, 256 interrupt stubs and the common handler.
 *
 * The stubs are 16 bytes apart starting at the page-aligned idt_stubs, so
 * the IDT can be built entirely by the assembler/linker (no CPL0 loop).
 * Every stub pushes (error code or 0, vector) and jumps to idt_common, which
 * calls idt_dispatch(struct idt_frame *) in idt.c.  The #BP gate (vector 3)
 * has DPL3: run_user() functions return through an int3 (user.S).
 */
#include "layout.h"

	.section .text.idt, "ax"
	.code64
	.balign 4096
	.globl idt_stubs
idt_stubs:
	.set vec, 0
	.rept 256
	.balign 16
	.if (vec == 8) || ((vec >= 10) && (vec <= 14)) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30)
	/* the CPU pushed an error code */
	.else
	pushq	$0
	.endif
	pushq	$vec
	jmp	idt_common
	.set vec, vec + 1
	.endr
	.balign 16
	.globl idt_stubs_end
idt_stubs_end:		/* the linker script checks this is idt_stubs + 4096 */

idt_common:
	pushq	%rax
	pushq	%rcx
	pushq	%rdx
	pushq	%rbx
	pushq	%rbp
	pushq	%rsi
	pushq	%rdi
	pushq	%r8
	pushq	%r9
	pushq	%r10
	pushq	%r11
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	cld
	movq	%rsp, %rdi
	call	idt_dispatch
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%r11
	popq	%r10
	popq	%r9
	popq	%r8
	popq	%rdi
	popq	%rsi
	popq	%rbp
	popq	%rbx
	popq	%rdx
	popq	%rcx
	popq	%rax
	addq	$16, %rsp
	iretq

/* ---- The IDT: 64-bit interrupt gates, DPL0 except #BP (run_user return) --- */
	.data
	.balign 16
	.globl kite_idt, kite_idt_desc
kite_idt:
	.set vec, 0
	.rept 256
	.word idt_stubs_lo16 + 16 * vec	/* offset 15:0 (no carry: page aligned) */
	.word KITE_CS64
	.byte 0				/* IST */
	.if vec == KITE_VEC_USER_RETURN
	.byte 0xEE			/* present, DPL3, 64-bit interrupt gate */
	.else
	.byte 0x8E			/* present, DPL0, 64-bit interrupt gate */
	.endif
	.word idt_stubs_hi16		/* offset 31:16 */
	.long 0				/* offset 63:32 */
	.long 0
	.set vec, vec + 1
	.endr
kite_idt_end:

	.balign 8
	.word 0, 0, 0
kite_idt_desc:
	.word kite_idt_end - kite_idt - 1
	.quad kite_idt
