/*
 * test_emufail.c - an instruction the host may fail to emulate at CPL0.
 *
 * `fwait` at CPL0 is an emulation failure on kvm-pvm hosts: the VMM must
 * then print the instruction bytes, the registers and a hint, and exit
 * non-zero (the runner checks that).  Where the CPU runs guest CPL0 code
 * natively (hardware KVM), fwait simply executes and the test passes.
 */
#include "kit.h"

const char *test_emufail(void)
{
	serial_puts("KITE-EMUFAIL\n");
	__asm__ volatile("fwait" ::: "memory");
	serial_puts("emufail: fwait executed at CPL0\n");
	return NULL;
}
