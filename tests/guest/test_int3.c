/*
 * test_int3.c - int3 at CPL0 reaches the #BP handler once, with the
 * return address just after the instruction, and execution continues.
 */
#include "kit.h"

static volatile u32 bp_count;
static volatile u64 bp_rip;

static void bp_handler(struct idt_frame *f)
{
	bp_count++;
	bp_rip = f->rip;
	if (*(const u8 *)(uintptr_t)f->rip == 0xCC)	/* reported as a fault: skip */
		f->rip++;
}

const char *test_int3(void)
{
	u64 at, after;
	volatile u32 continued = 0;

	idt_set_handler(3, bp_handler);
	__asm__ volatile("leaq 1f(%%rip), %0\n\t"
			 "leaq 2f(%%rip), %1\n"
			 "1:\tint3\n"
			 "2:"
			 : "=&r"(at), "=&r"(after) : : "memory");
	continued = 1;
	serial_printf("int3: handler ran %u time(s), int3 at %lx, reported rip %lx, continued %u\n",
		      bp_count, at, bp_rip, continued);
	if (bp_count != 1)
		return kit_reason("#BP handler ran %u times", bp_count);
	if (bp_rip != after)
		return kit_reason("#BP frame rip %lx, expected %lx (after the int3 at %lx)",
				  bp_rip, after, at);
	return NULL;
}
