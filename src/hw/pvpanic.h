/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KITE_HW_PVPANIC_H
#define KITE_HW_PVPANIC_H

#include <stdint.h>

#include "bus.h"
#include "machine.h"

/*
 * QEMU-compatible ISA pvpanic (one I/O port): the guest reads the events the
 * device supports and writes the event that happened.  PANICKED stops the VM
 * with its own exit status; CRASH_LOADED (a kdump kernel takes over) is logged.
 */
#define PVPANIC_PANICKED     (1u << 0)
#define PVPANIC_CRASH_LOADED (1u << 1)

struct pvpanic_state {
	uint8_t events;      /* events the guest reported so far */
};

struct pvpanic {
	struct pvpanic_state s;
	struct machine_events events;
};

int pvpanic_init(struct pvpanic *p, struct machine_events events);

extern const struct bus_ops pvpanic_ops;

#endif
