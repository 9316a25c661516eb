/*
 * idt.c - C side of interrupt handling: per-vector counts, registered
 * handlers, and fatal reporting of unexpected exceptions.
 * (The IDT itself is static, see idt.S.)
 */
#include "kit.h"

volatile u32 idt_count[256];
volatile u32 idt_last_vector = ~0u;
static idt_handler_fn idt_handlers[256];

void user_abort(u64 value) KIT_NORETURN;
extern const u8 user_exit_bp[];

void idt_set_handler(u8 vector, idt_handler_fn fn)
{
	idt_handlers[vector] = fn;
}

void idt_dispatch(struct idt_frame *f)
{
	u32 vec = (u32)f->vector & 0xFF;

	if ((f->cs & 3) == 3 && vec < 32) {
		/* from a run_user() function: its return (int3), or a fault */
		if (vec == KITE_VEC_USER_RETURN && f->rip == (u64)(uintptr_t)user_exit_bp)
			user_abort(f->rax);
		idt_count[vec]++;
		idt_last_vector = vec;
		user_fault_vector = (int)vec;
		user_fault_rip = f->rip;
		user_fault_error = f->error;
		user_fault_cr2 = vec == 14 ? read_cr2() : 0;
		user_abort(~0ULL);
	}
	idt_count[vec]++;
	idt_last_vector = vec;
	if (idt_handlers[vec]) {
		idt_handlers[vec](f);
		return;
	}
	if (vec < 32)
		kit_fail_stop("unexpected exception %u error %lx at rip %lx (cr2 %lx rsp %lx)",
			      vec, f->error, f->rip, read_cr2(), f->rsp);
	/* Unclaimed external interrupt: acknowledge it (not the spurious one). */
	if (vec != LAPIC_SPURIOUS_VECTOR && lapic_enabled())
		lapic_eoi();
}
