/*
 * entry.S - PVH entry, long mode switch, GDT/TSS and static page tables.
 *
 * Everything the boot CPU needs before C is static data, so the CPL0 path
 * (emulated instruction by instruction on kvm-pvm hosts) is ~30 instructions.
 */
#include "layout.h"

/* ---- PVH ELF note: XEN_ELFNOTE_PHYS32_ENTRY (18), name "Xen" ---------- */
	.section .note.kite, "a"
	.balign 4
	.long 4			/* n_namesz: "Xen\0" */
	.long 4			/* n_descsz: 32-bit entry point */
	.long 18		/* n_type: XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz "Xen"
	.long pvh_start32
	/* Zeros right after the note, outside PT_NOTE: a loader that reads the
	 * descriptor as a 64-bit value (QEMU's PVH loader does) gets the entry. */
	.section .kite_note_pad, "a", @progbits
	.long 0

/* Switch a CPU in 32-bit protected mode (flat segments, paging off) to long
 * mode on the static page tables and jump to \target in 64-bit code. */
.macro ENTER_LONG_MODE target
	movl	$KITE_DS, %eax
	movl	%eax, %ds
	movl	%eax, %es
	movl	%eax, %ss
	xorl	%eax, %eax
	movl	%eax, %fs
	movl	%eax, %gs
	movl	$CR4_PAE, %eax
	movl	%eax, %cr4
	movl	$kite_pml4, %eax
	movl	%eax, %cr3
	movl	$MSR_EFER, %ecx
	rdmsr
	orl	$EFER_LME, %eax
	wrmsr
	movl	$(CR0_PG | CR0_WP | CR0_NE | CR0_ET | CR0_MP | CR0_PE), %eax
	movl	%eax, %cr0
	ljmp	$KITE_CS64, $\target
.endm

	.section .text.entry, "ax"
	.code32
	.globl pvh_start32
pvh_start32:
	/* EBX = struct hvm_start_info *; GDTR/IDTR are not trusted. */
	cli
	cld
	movl	%ebx, %esi
	lgdt	kite_gdt_desc
	ENTER_LONG_MODE pvh_start64

	.globl ap_start32
ap_start32:
	/* APs arrive here from the real-mode trampoline (smp_tramp.S) with our
	 * GDT loaded and CS = KITE_CS32. */
	ENTER_LONG_MODE ap_start64

	.code64
pvh_start64:
	movq	$kite_bsp_stack_top, %rsp
	movl	$KITE_TSS, %eax
	ltr	%ax
	lidt	kite_idt_desc
	movl	%esi, %edi
	call	kit_main
1:	cli
	hlt
	jmp	1b

ap_start64:
	lidt	kite_idt_desc
	movl	$1, %eax
	lock xaddl %eax, smp_ap_next(%rip)
	cmpl	$SMP_MAX_AP, %eax
	jae	2f
	movl	%eax, %edi		/* arg: AP index */
	leaq	1(%rax), %rcx
	shlq	$SMP_AP_STACK_SHIFT, %rcx
	addq	$smp_ap_stacks, %rcx
	movq	%rcx, %rsp
	call	smp_ap_main
2:	cli
	hlt
	jmp	2b

/* ---- GDT, TSS --------------------------------------------------------- */
	.data
	.balign 16
	.globl kite_gdt, kite_gdt_desc
kite_gdt:
	.quad 0				/* 0x00 null */
	.quad 0x00af9b000000ffff	/* 0x08 kernel code, 64-bit */
	.quad 0x00cf93000000ffff	/* 0x10 kernel data */
	.quad 0x00cf9b000000ffff	/* 0x18 kernel code, 32-bit (AP trampoline) */
	.quad 0x00cff3000000ffff	/* 0x20 user data (DPL3) */
	.quad 0x00affb000000ffff	/* 0x28 user code, 64-bit (DPL3) */
	/* 0x30 TSS (64-bit, available), base split by the linker script */
	.word KITE_TSS_SIZE - 1
	.word kite_tss_lo16
	.byte kite_tss_b2
	.byte 0x89
	.byte 0
	.byte kite_tss_b3
	.long 0
	.long 0
kite_gdt_end:
	.if kite_gdt_end - kite_gdt != KITE_GDT_SIZE
	.error "KITE_GDT_SIZE does not match the GDT"
	.endif

	.balign 8
	.word 0, 0, 0
kite_gdt_desc:				/* usable by lgdt in 32- and 64-bit mode */
	.word kite_gdt_end - kite_gdt - 1
	.quad kite_gdt

	.balign 16
	.globl kite_tss
kite_tss:
	.long 0				/* reserved */
	.quad 0				/* RSP0: set by run_user */
	.quad 0, 0			/* RSP1, RSP2 */
	.quad 0				/* reserved */
	.quad 0, 0, 0, 0, 0, 0, 0	/* IST1..7 */
	.quad 0				/* reserved */
	.word 0				/* reserved */
	.word KITE_TSS_SIZE		/* I/O map base: no bitmap */

/* ---- Page tables: identity map of 0..4 GiB with 2 MiB pages, U/S set ----
 * 0xFE000000..4 GiB (IOAPIC, HPET, LAPIC, ...) is mapped uncached. RAM above
 * 4 GiB is added at run time by paging.c using spare PDPT slots. */
	.section .data.pagetables, "aw"
	.balign 4096
	.globl kite_pml4, kite_pdpt, kite_pd
kite_pml4:
	.quad kite_pdpt + PTE_P + PTE_W + PTE_U
	.fill 511, 8, 0
kite_pdpt:
	.quad kite_pd + 0x0000 + PTE_P + PTE_W + PTE_U
	.quad kite_pd + 0x1000 + PTE_P + PTE_W + PTE_U
	.quad kite_pd + 0x2000 + PTE_P + PTE_W + PTE_U
	.quad kite_pd + 0x3000 + PTE_P + PTE_W + PTE_U
	.fill 508, 8, 0
kite_pd:
	.set pde, 0
	.rept 2048
	.if pde >= 2032
	.quad (pde << 21) + PTE_P + PTE_W + PTE_U + PTE_PS + PTE_PWT + PTE_PCD
	.else
	.quad (pde << 21) + PTE_P + PTE_W + PTE_U + PTE_PS
	.endif
	.set pde, pde + 1
	.endr

/* ---- Stacks ------------------------------------------------------------ */
	.bss
	.balign 4096
	.globl kite_bsp_stack_top
	.skip KITE_BSP_STACK_SIZE
kite_bsp_stack_top:
