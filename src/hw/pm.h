/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KITE_HW_PM_H
#define KITE_HW_PM_H

#include <pthread.h>
#include <stdint.h>

#include "bus.h"
#include "machine.h"

/* ACPI fixed hardware: PM1a event and control blocks and the PM timer. */
struct pm_state {
	uint16_t pm1_sts, pm1_en, pm1_cnt;
};

struct pm {
	struct pm_state s;
	pthread_mutex_t lock;
	uint64_t start_ns;       /* PM timer epoch (CLOCK_MONOTONIC) */
	struct irq_line sci;
	struct machine_events events;
};

int pm_init(struct pm *pm, struct irq_line sci, struct machine_events events);
void pm_destroy(struct pm *pm);

/* Press the ACPI power button (graceful shutdown request to the guest). */
void pm_power_button(struct pm *pm);

extern const struct bus_ops pm_ops;

#endif
