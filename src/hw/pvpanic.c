// SPDX-License-Identifier: GPL-2.0-only
/* pvpanic: the guest tells the host it panicked. */
#include <string.h>

#include "hw/pvpanic.h"
#include "log.h"

int pvpanic_init(struct pvpanic *p, struct machine_events events)
{
	memset(p, 0, sizeof(*p));
	p->events = events;
	return 0;
}

static uint64_t pvpanic_read(void *opaque, uint64_t off, unsigned int size)
{
	(void)opaque; (void)off; (void)size;
	return PVPANIC_PANICKED | PVPANIC_CRASH_LOADED;
}

static void pvpanic_write(void *opaque, uint64_t off, unsigned int size, uint64_t val)
{
	struct pvpanic *p = opaque;
	uint8_t ev = val & (PVPANIC_PANICKED | PVPANIC_CRASH_LOADED);

	(void)off; (void)size;
	__atomic_or_fetch(&p->s.events, ev, __ATOMIC_RELAXED);
	if (ev & PVPANIC_CRASH_LOADED)
		pr_warn("the guest kernel crashed; its crash kernel is taking over");
	if (ev & PVPANIC_PANICKED) {
		pr_err("the guest kernel panicked");
		machine_event(&p->events, MACHINE_PANIC);
	}
}

const struct bus_ops pvpanic_ops = {
	.read = pvpanic_read,
	.write = pvpanic_write,
};
