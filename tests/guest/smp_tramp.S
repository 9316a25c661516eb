/*
 * smp_tramp.S - real-mode AP trampoline, copied to SMP_TRAMPOLINE_ADDR by
 * smp.c.  An AP starts here (CS = addr >> 4, IP = 0) after INIT-SIPI-SIPI,
 * loads the kit's GDT, enables protection and far-jumps to ap_start32
 * (entry.S) in the image, which goes on to long mode.
 */
#include "layout.h"

	.section .rodata, "a"
	.code16
	.globl smp_tramp_start, smp_tramp_end
smp_tramp_start:
	cli
	cld
	movw	%cs, %ax
	movw	%ax, %ds
	lgdtl	smp_tramp_gdt_desc - smp_tramp_start
	movl	%cr0, %eax
	orl	$CR0_PE, %eax
	movl	%eax, %cr0
	ljmpl	$KITE_CS32, $ap_start32

	.balign 8
smp_tramp_gdt_desc:
	.word KITE_GDT_SIZE - 1
	.long kite_gdt
smp_tramp_end:
	.code64
