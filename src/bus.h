/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KITE_BUS_H
#define KITE_BUS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/*
 * A bus maps address ranges (port I/O or MMIO) to device callbacks.  vCPU
 * threads look ranges up concurrently; a range is reference-counted while its
 * handler runs, so bus_unregister() (e.g. a PCI BAR being moved by another
 * vCPU) waits for handlers still inside it before returning.
 */
struct bus_ops {
	uint64_t (*read)(void *opaque, uint64_t offset, unsigned int size);
	void (*write)(void *opaque, uint64_t offset, unsigned int size, uint64_t value);
};

struct bus_range;

#define BUS_UNCLAIMED_LOG 16

struct bus {
	const char *name;            /* "pio" or "mmio", for messages */
	pthread_rwlock_t lock;
	struct bus_range **ranges;   /* sorted by base, non-overlapping */
	unsigned int nr, cap;
	pthread_mutex_t log_lock;
	uint64_t unclaimed[BUS_UNCLAIMED_LOG];  /* addresses already logged */
	unsigned int nr_unclaimed;
};

int bus_init(struct bus *bus, const char *name);
void bus_destroy(struct bus *bus);

/* Claim [base, base + len).  -EEXIST if it overlaps an existing range. */
int bus_register(struct bus *bus, uint64_t base, uint64_t len,
		 const struct bus_ops *ops, void *opaque, const char *name);
/* Release the range starting at base; waits for running handlers. */
int bus_unregister(struct bus *bus, uint64_t base);

/*
 * Dispatch one access of `size` bytes (1, 2, 4 or 8) at `addr`.  `data` is the
 * little-endian buffer of the exit.  Unclaimed reads return all-ones; the
 * first accesses to each unclaimed address are logged once.  Returns true if
 * a device claimed the access.
 */
bool bus_access(struct bus *bus, uint64_t addr, void *data, unsigned int size, bool is_write);

#endif
