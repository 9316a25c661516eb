/*
 * user.c - run_user(): execute a C function at CPL3 (user.S does the ring
 * switch).  Every identity-mapped page has the U/S bit, so the function can
 * read and write any memory at native speed; it must not do port I/O.
 */
#include "kit.h"

u64 user_enter(user_fn fn, u64 arg, u64 rflags);

volatile int user_fault_vector = -1;
volatile u64 user_fault_rip, user_fault_cr2, user_fault_error;

#define RFLAGS_RESERVED	0x002
#define RFLAGS_IF	0x200

u64 run_user(user_fn fn, u64 arg)
{
	user_fault_vector = -1;
	return user_enter(fn, arg, RFLAGS_RESERVED);
}

u64 run_user_irq(user_fn fn, u64 arg)
{
	user_fault_vector = -1;
	return user_enter(fn, arg, RFLAGS_RESERVED | RFLAGS_IF);
}
