/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KITE_MACHINE_H
#define KITE_MACHINE_H

/*
 * The two things a platform device may ask of the machine it sits in: drive
 * an interrupt line, and request a machine-level event (power-off, reset).
 * The VM provides them; unit tests provide fakes.
 */
struct irq_line {
	int (*set)(void *ctx, unsigned int gsi, int level);
	void *ctx;
	unsigned int gsi;
};

static inline void irq_line_set(const struct irq_line *l, int level)
{
	if (l->set)
		l->set(l->ctx, l->gsi, level);
}

enum machine_event {
	MACHINE_POWEROFF,      /* ACPI S5 */
	MACHINE_RESET,         /* i8042 / ACPI reset register */
	MACHINE_PANIC,         /* the guest kernel panicked (pvpanic) */
};

struct machine_events {
	void (*raise)(void *ctx, enum machine_event ev);
	void *ctx;
};

static inline void machine_event(const struct machine_events *m, enum machine_event ev)
{
	if (m->raise)
		m->raise(m->ctx, ev);
}

#endif
