/*
 * layout.h - constants shared by the assembly and C parts of the kit.
 */
#ifndef KIT_LAYOUT_H
#define KIT_LAYOUT_H

/* GDT selectors */
#define KITE_CS64	0x08
#define KITE_DS		0x10
#define KITE_CS32	0x18
#define KITE_USER_DS	(0x20 | 3)
#define KITE_USER_CS	(0x28 | 3)
#define KITE_TSS	0x30
#define KITE_TSS_SIZE	104
#define KITE_GDT_SIZE	64	/* 6 descriptors + 16-byte TSS descriptor */

/* Control registers / MSRs */
#define CR0_PE		0x00000001
#define CR0_MP		0x00000002
#define CR0_ET		0x00000010
#define CR0_NE		0x00000020
#define CR0_WP		0x00010000
#define CR0_PG		0x80000000
#define CR4_PAE		0x00000020
#define MSR_EFER	0xC0000080
#define EFER_LME	0x00000100

/* Page table entry bits */
#define PTE_P		0x001
#define PTE_W		0x002
#define PTE_U		0x004
#define PTE_PWT		0x008
#define PTE_PCD		0x010
#define PTE_PS		0x080

#define KITE_BSP_STACK_SIZE	0x8000
#define KITE_USER_STACK_SIZE	0x10000

/* Application processors: stacks of 1 << SMP_AP_STACK_SHIFT bytes each. */
#define SMP_MAX_CPUS		64
#define SMP_MAX_AP		(SMP_MAX_CPUS - 1)
#define SMP_AP_STACK_SHIFT	13
/* Real-mode trampoline: SIPI vector 0x08 = physical 0x8000. */
#define SMP_TRAMPOLINE_ADDR	0x8000

/*
 * Vector whose gate has DPL3: a run_user() function returns to ring 0 with
 * an int3 (#BP).  Not "int $n": on kvm-pvm hosts "int n" at CPL3 is handed
 * to KVM's instruction emulator, which cannot do it and injects #UD.
 */
#define KITE_VEC_USER_RETURN	3

#endif
