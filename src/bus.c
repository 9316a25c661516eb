// SPDX-License-Identifier: GPL-2.0-only
/* Port-I/O and MMIO buses: sorted ranges, binary search, refcounted handlers. */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "log.h"

struct bus_range {
	uint64_t base, len;
	const struct bus_ops *ops;
	void *opaque;
	const char *name;
	int refs;   /* handlers running now (atomic) */
};

int bus_init(struct bus *bus, const char *name)
{
	memset(bus, 0, sizeof(*bus));
	bus->name = name;
	if (pthread_rwlock_init(&bus->lock, NULL))
		return -ENOMEM;
	pthread_mutex_init(&bus->log_lock, NULL);
	return 0;
}

void bus_destroy(struct bus *bus)
{
	unsigned int i;

	for (i = 0; i < bus->nr; i++)
		free(bus->ranges[i]);
	free(bus->ranges);
	pthread_rwlock_destroy(&bus->lock);
	pthread_mutex_destroy(&bus->log_lock);
	bus->ranges = NULL;
	bus->nr = bus->cap = 0;
}

/* Index of the first range whose end is above addr (caller holds the lock). */
static unsigned int bus_search(const struct bus *bus, uint64_t addr)
{
	unsigned int lo = 0, hi = bus->nr;

	while (lo < hi) {
		unsigned int mid = (lo + hi) / 2;
		const struct bus_range *r = bus->ranges[mid];

		if (addr - r->base < r->len || addr < r->base)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

int bus_register(struct bus *bus, uint64_t base, uint64_t len,
		 const struct bus_ops *ops, void *opaque, const char *name)
{
	struct bus_range *r;
	unsigned int i;
	int ret = 0;

	if (!len || base + len - 1 < base)
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	*r = (struct bus_range){ base, len, ops, opaque, name, 0 };

	pthread_rwlock_wrlock(&bus->lock);
	i = bus_search(bus, base);
	if ((i < bus->nr && bus->ranges[i]->base <= base + len - 1)) {
		ret = -EEXIST;
		goto out_unlock;
	}
	if (bus->nr == bus->cap) {
		unsigned int cap = bus->cap ? bus->cap * 2 : 16;
		struct bus_range **n = realloc(bus->ranges, cap * sizeof(*n));

		if (!n) {
			ret = -ENOMEM;
			goto out_unlock;
		}
		bus->ranges = n;
		bus->cap = cap;
	}
	memmove(&bus->ranges[i + 1], &bus->ranges[i], (bus->nr - i) * sizeof(*bus->ranges));
	bus->ranges[i] = r;
	bus->nr++;
out_unlock:
	pthread_rwlock_unlock(&bus->lock);
	if (ret)
		free(r);
	return ret;
}

int bus_unregister(struct bus *bus, uint64_t base)
{
	struct bus_range *r = NULL;
	unsigned int i;

	pthread_rwlock_wrlock(&bus->lock);
	i = bus_search(bus, base);
	if (i < bus->nr && bus->ranges[i]->base == base) {
		r = bus->ranges[i];
		memmove(&bus->ranges[i], &bus->ranges[i + 1],
			(bus->nr - i - 1) * sizeof(*bus->ranges));
		bus->nr--;
	}
	pthread_rwlock_unlock(&bus->lock);
	if (!r)
		return -ENOENT;
	/* No new lookup can find r now; wait for handlers already inside it. */
	while (__atomic_load_n(&r->refs, __ATOMIC_ACQUIRE))
		sched_yield();
	free(r);
	return 0;
}

static void bus_log_unclaimed(struct bus *bus, uint64_t addr, unsigned int size, bool is_write)
{
	unsigned int i;

	pthread_mutex_lock(&bus->log_lock);
	for (i = 0; i < bus->nr_unclaimed; i++)
		if (bus->unclaimed[i] == addr)
			goto out;
	if (bus->nr_unclaimed < BUS_UNCLAIMED_LOG) {
		bus->unclaimed[bus->nr_unclaimed++] = addr;
		pr_info("%s: unclaimed %u-byte %s at 0x%llx ignored%s", bus->name, size,
			is_write ? "write" : "read", (unsigned long long)addr,
			is_write ? "" : " (reads as all-ones)");
	}
out:
	pthread_mutex_unlock(&bus->log_lock);
}

bool bus_access(struct bus *bus, uint64_t addr, void *data, unsigned int size, bool is_write)
{
	struct bus_range *r = NULL;
	uint64_t val = 0;
	unsigned int i;

	pthread_rwlock_rdlock(&bus->lock);
	i = bus_search(bus, addr);
	if (i < bus->nr && addr >= bus->ranges[i]->base &&
	    size <= bus->ranges[i]->len - (addr - bus->ranges[i]->base)) {
		r = bus->ranges[i];
		__atomic_add_fetch(&r->refs, 1, __ATOMIC_ACQUIRE);
	}
	pthread_rwlock_unlock(&bus->lock);

	if (!r) {
		if (!is_write)
			memset(data, 0xff, size);
		bus_log_unclaimed(bus, addr, size, is_write);
		return false;
	}
	if (is_write) {
		memcpy(&val, data, size);      /* x86 is little-endian */
		if (r->ops->write)
			r->ops->write(r->opaque, addr - r->base, size, val);
	} else {
		val = r->ops->read ? r->ops->read(r->opaque, addr - r->base, size) : ~0ULL;
		memcpy(data, &val, size);
	}
	__atomic_sub_fetch(&r->refs, 1, __ATOMIC_RELEASE);
	return true;
}
