/*
 * test_triple_fault.c - an exception at CPL0 with an empty IDT: #UD -> #GP
 * -> #DF -> triple fault (shutdown).  The VM must not get past it.
 */
#include "kit.h"

const char *test_triple_fault(void)
{
	static const struct { u16 limit; u64 base; } KIT_PACKED empty = { 0, 0 };

	serial_puts("KITE-TRIPLE-FAULT\n");
	__asm__ volatile("lidt %0\n\tud2" : : "m"(empty) : "memory");
	return "still running after a triple fault";
}
