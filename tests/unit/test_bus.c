// SPDX-License-Identifier: GPL-2.0-only
/* bus: registration, overlap rules, dispatch, unclaimed accesses, concurrency. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "bus.h"
#include "util.h"

/* A device that records its last access. */
struct dev {
	unsigned int id;
	unsigned int reads, writes;
	uint64_t last_off, last_val;
	unsigned int last_size;
};

static uint64_t dev_read(void *opaque, uint64_t off, unsigned int size)
{
	struct dev *d = opaque;

	d->reads++;
	d->last_off = off;
	d->last_size = size;
	/* Distinct per device and offset; more bytes than any access needs. */
	return 0xA5A50000ULL << 32 | (uint64_t)d->id << 16 | off;
}

static void dev_write(void *opaque, uint64_t off, unsigned int size, uint64_t val)
{
	struct dev *d = opaque;

	d->writes++;
	d->last_off = off;
	d->last_size = size;
	d->last_val = val;
}

static const struct bus_ops dev_ops = { .read = dev_read, .write = dev_write };

static int setup_bus(void **state)
{
	static struct bus bus;

	assert_int_equal(bus_init(&bus, "test"), 0);
	*state = &bus;
	return 0;
}

static int teardown_bus(void **state)
{
	bus_destroy(*state);
	return 0;
}

static void test_register_dispatch(void **state)
{
	struct bus *bus = *state;
	struct dev a = { .id = 1 }, b = { .id = 2 };
	uint8_t data[8];
	uint64_t v;

	assert_int_equal(bus_register(bus, 0x3f8, 8, &dev_ops, &a, "a"), 0);
	assert_int_equal(bus_register(bus, 0x60, 5, &dev_ops, &b, "b"), 0);

	memset(data, 0, sizeof(data));
	assert_true(bus_access(bus, 0x3fd, data, 1, false));
	assert_int_equal(a.reads, 1);
	assert_int_equal(a.last_off, 5);
	assert_int_equal(a.last_size, 1);
	assert_int_equal(data[0], 5);
	assert_int_equal(data[1], 0);       /* only `size` bytes are stored */

	memset(data, 0, sizeof(data));
	assert_true(bus_access(bus, 0x60, data, 4, false));
	memcpy(&v, data, 8);
	assert_int_equal(v, 0x00020000);    /* id 2, offset 0, 4 bytes little-endian */
	assert_int_equal(b.reads, 1);
	assert_int_equal(a.reads, 1);

	/* Writes pass exactly `size` bytes, little-endian. */
	v = 0x1122334455667788ULL;
	memcpy(data, &v, 8);
	assert_true(bus_access(bus, 0x64, data, 1, true));
	assert_int_equal(b.writes, 1);
	assert_int_equal(b.last_off, 4);
	assert_int_equal(b.last_val, 0x88);
	assert_true(bus_access(bus, 0x3f8, data, 2, true));
	assert_int_equal(a.last_val, 0x7788);
	assert_int_equal(a.last_size, 2);
	assert_true(bus_access(bus, 0x3f8, data, 8, true));
	assert_int_equal(a.last_val, 0x1122334455667788ULL);
	assert_int_equal(a.writes, 2);
	assert_int_equal(b.writes, 1);
}

static void test_unclaimed(void **state)
{
	struct bus *bus = *state;
	struct dev a = { .id = 1 };
	static const unsigned int sizes[] = { 1, 2, 4, 8 };

	assert_int_equal(bus_register(bus, 0x100, 8, &dev_ops, &a, "a"), 0);
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		unsigned int n = sizes[i];
		uint8_t data[16];

		/* Reads of nothing give all-ones in exactly `size` bytes. */
		memset(data, 0x11, sizeof(data));
		assert_false(bus_access(bus, 0x200, data, n, false));
		for (unsigned int j = 0; j < sizeof(data); j++)
			assert_int_equal(data[j], j < n ? 0xff : 0x11);
		/* Just below and just after the range. */
		memset(data, 0x11, sizeof(data));
		assert_false(bus_access(bus, 0x100 - n, data, n, false));
		assert_int_equal(data[0], 0xff);
		assert_false(bus_access(bus, 0x108, data, n, false));
		/* Writes to nothing are dropped and leave the buffer alone. */
		memset(data, 0x22, sizeof(data));
		assert_false(bus_access(bus, 0x200, data, n, true));
		assert_int_equal(data[0], 0x22);
	}
	/* Repeated unclaimed accesses keep working past the log's memory. */
	for (unsigned int i = 0; i < 4 * BUS_UNCLAIMED_LOG; i++) {
		uint8_t d = 0;

		assert_false(bus_access(bus, 0x1000 + i, &d, 1, false));
		assert_int_equal(d, 0xff);
	}
	assert_int_equal(a.reads, 0);
	assert_int_equal(a.writes, 0);
}

static void test_straddle(void **state)
{
	struct bus *bus = *state;
	struct dev a = { .id = 1 }, b = { .id = 2 };
	uint8_t data[8];

	assert_int_equal(bus_register(bus, 0x100, 8, &dev_ops, &a, "a"), 0);
	assert_int_equal(bus_register(bus, 0x108, 8, &dev_ops, &b, "b"), 0);
	/* Fits exactly at the end. */
	assert_true(bus_access(bus, 0x104, data, 4, false));
	assert_true(bus_access(bus, 0x100, data, 8, false));
	assert_int_equal(a.reads, 2);
	/* Crosses from a into b: neither claims it. */
	memset(data, 0, sizeof(data));
	assert_false(bus_access(bus, 0x106, data, 4, false));
	assert_int_equal(data[0], 0xff);
	assert_int_equal(data[3], 0xff);
	assert_false(bus_access(bus, 0x107, data, 2, true));
	assert_false(bus_access(bus, 0x101, data, 8, false));
	/* Crosses b's end into nothing. */
	assert_false(bus_access(bus, 0x10f, data, 2, false));
	assert_true(bus_access(bus, 0x10f, data, 1, false));
	assert_int_equal(a.reads, 2);
	assert_int_equal(a.writes, 0);
	assert_int_equal(b.reads, 1);
	assert_int_equal(b.writes, 0);
}

static void test_overlap_rejected(void **state)
{
	struct bus *bus = *state;
	struct dev a = { .id = 1 }, c = { .id = 3 }, x = { .id = 9 };
	static const struct { uint64_t base, len; } shapes[] = {
		{ 0x100, 0x100 },     /* identical */
		{ 0x0f0, 0x020 },     /* starts before, ends inside */
		{ 0x1f0, 0x020 },     /* starts inside, ends after */
		{ 0x080, 0x200 },     /* contains it */
		{ 0x140, 0x010 },     /* contained in it */
		{ 0x100, 0x001 },     /* first byte */
		{ 0x1ff, 0x001 },     /* last byte */
		{ 0x0ff, 0x002 },     /* one byte either side of its start */
		{ 0x1ff, 0x002 },     /* one byte either side of its end */
		{ 0x100, 0x010 },     /* same start, shorter */
		{ 0x1f0, 0x010 },     /* same end, later start */
		{ 0x1f0, 0x120 },     /* bridges both ranges */
		{ 0x000, 0x1000 },    /* covers both */
		{ 0x2ff, 0x002 },     /* into the second range */
		{ 0, UINT64_MAX },    /* everything */
	};
	uint8_t data[4];

	assert_int_equal(bus_register(bus, 0x100, 0x100, &dev_ops, &a, "a"), 0);
	assert_int_equal(bus_register(bus, 0x300, 0x100, &dev_ops, &c, "c"), 0);
	for (size_t i = 0; i < ARRAY_SIZE(shapes); i++) {
		int ret = bus_register(bus, shapes[i].base, shapes[i].len, &dev_ops, &x, "x");

		if (ret != -EEXIST)
			fail_msg("[%#llx, +%#llx) over [0x100, 0x200) and [0x300, 0x400): got %d",
				 (unsigned long long)shapes[i].base,
				 (unsigned long long)shapes[i].len, ret);
	}
	/* Nothing was taken over. */
	assert_true(bus_access(bus, 0x100, data, 1, false));
	assert_true(bus_access(bus, 0x1ff, data, 1, false));
	assert_true(bus_access(bus, 0x300, data, 1, false));
	assert_false(bus_access(bus, 0x200, data, 1, false));
	assert_int_equal(x.reads, 0);
	assert_int_equal(a.reads, 2);
	assert_int_equal(c.reads, 1);

	/* Adjacent ranges are fine, including filling the gap exactly. */
	assert_int_equal(bus_register(bus, 0x0f0, 0x10, &dev_ops, &x, "x1"), 0);
	assert_int_equal(bus_register(bus, 0x400, 0x10, &dev_ops, &x, "x2"), 0);
	assert_int_equal(bus_register(bus, 0x200, 0x100, &dev_ops, &x, "x3"), 0);
	assert_true(bus_access(bus, 0x0ff, data, 1, false));
	assert_true(bus_access(bus, 0x200, data, 1, false));
	assert_true(bus_access(bus, 0x2ff, data, 1, false));
	assert_true(bus_access(bus, 0x40f, data, 1, false));
	assert_int_equal(x.reads, 4);
	assert_int_equal(a.reads, 2);
	assert_int_equal(c.reads, 1);
}

static void test_register_invalid(void **state)
{
	struct bus *bus = *state;
	struct dev a = { .id = 1 };
	uint8_t data[8];

	assert_int_equal(bus_register(bus, 0x100, 0, &dev_ops, &a, "empty"), -EINVAL);
	assert_int_equal(bus_register(bus, UINT64_MAX, 2, &dev_ops, &a, "wraps"), -EINVAL);
	assert_int_equal(bus_register(bus, 2, UINT64_MAX, &dev_ops, &a, "wraps"), -EINVAL);
	/* Ranges ending exactly at the top of the address space are valid. */
	assert_int_equal(bus_register(bus, 1, UINT64_MAX, &dev_ops, &a, "all"), 0);
	assert_int_equal(bus_unregister(bus, 1), 0);
	assert_int_equal(bus_register(bus, UINT64_MAX - 15, 16, &dev_ops, &a, "top"), 0);
	assert_true(bus_access(bus, UINT64_MAX, data, 1, false));
	assert_int_equal(a.last_off, 15);
	assert_true(bus_access(bus, UINT64_MAX - 7, data, 8, false));
	/* ...but an access running past 2^64 is not. */
	assert_false(bus_access(bus, UINT64_MAX - 6, data, 8, false));
	assert_false(bus_access(bus, UINT64_MAX, data, 2, false));
	assert_int_equal(a.reads, 2);
}

static void test_null_ops(void **state)
{
	struct bus *bus = *state;
	static const struct bus_ops none = { 0 };
	uint8_t data[4] = { 0 };

	/* A claimed range without handlers: reads are all-ones, writes dropped. */
	assert_int_equal(bus_register(bus, 0x80, 1, &none, NULL, "post"), 0);
	assert_true(bus_access(bus, 0x80, data, 1, false));
	assert_int_equal(data[0], 0xff);
	assert_int_equal(data[1], 0);
	assert_true(bus_access(bus, 0x80, data, 1, true));
}

static void test_unregister(void **state)
{
	struct bus *bus = *state;
	struct dev a = { .id = 1 }, b = { .id = 2 };
	uint8_t data[4];

	assert_int_equal(bus_register(bus, 0x100, 0x10, &dev_ops, &a, "a"), 0);
	assert_int_equal(bus_register(bus, 0x110, 0x10, &dev_ops, &b, "b"), 0);
	/* Only the base address names a range. */
	assert_int_equal(bus_unregister(bus, 0x108), -ENOENT);
	assert_int_equal(bus_unregister(bus, 0x120), -ENOENT);
	assert_int_equal(bus_unregister(bus, 0x0), -ENOENT);
	assert_true(bus_access(bus, 0x108, data, 1, false));
	assert_int_equal(bus->nr, 2);

	assert_int_equal(bus_unregister(bus, 0x100), 0);
	assert_int_equal(bus->nr, 1);
	assert_false(bus_access(bus, 0x100, data, 1, false));
	assert_true(bus_access(bus, 0x110, data, 1, false));
	assert_int_equal(bus_unregister(bus, 0x100), -ENOENT);
	/* The space is free again, for a different shape. */
	assert_int_equal(bus_register(bus, 0x0f8, 0x18, &dev_ops, &a, "a2"), 0);
	assert_true(bus_access(bus, 0x0f8, data, 1, false));
	assert_int_equal(a.last_off, 0);
	assert_int_equal(a.reads, 2);
	assert_int_equal(bus_unregister(bus, 0x110), 0);
	assert_int_equal(bus_unregister(bus, 0x0f8), 0);
	assert_int_equal(bus->nr, 0);
	assert_false(bus_access(bus, 0x110, data, 1, false));
}

/* ---- many ranges against a linear reference ---- */

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;

static uint64_t rnd(void)
{
	uint64_t x = rng_state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return rng_state = x;
}

#define NREF 600

struct ref {
	uint64_t base, len;
	bool live;
	struct dev dev;
};

static struct ref refs[NREF];

static int ref_find(uint64_t addr, unsigned int size)
{
	for (int i = 0; i < NREF; i++)
		if (refs[i].live && addr >= refs[i].base &&
		    addr + size <= refs[i].base + refs[i].len)
			return i;
	return -1;
}

static bool ref_overlaps(uint64_t base, uint64_t len)
{
	for (int i = 0; i < NREF; i++)
		if (refs[i].live && base < refs[i].base + refs[i].len &&
		    refs[i].base < base + len)
			return true;
	return false;
}

static void check_lookups(struct bus *bus, unsigned int n)
{
	static const unsigned int sizes[] = { 1, 2, 4, 8 };

	for (unsigned int k = 0; k < n; k++) {
		uint64_t addr = rnd() % 0x11000;
		unsigned int size = sizes[rnd() % 4];
		int want = ref_find(addr, size);
		uint64_t v = 0;
		bool got = bus_access(bus, addr, &v, size, false);

		if (got != (want >= 0))
			fail_msg("access %#llx/%u: bus says %d, reference says %d",
				 (unsigned long long)addr, size, got, want);
		if (want >= 0) {
			uint64_t expect = 0;
			uint64_t full = 0xA5A50000ULL << 32 | (uint64_t)refs[want].dev.id << 16 |
					(addr - refs[want].base);

			memcpy(&expect, &full, size);
			assert_int_equal(v, expect);
			assert_int_equal(refs[want].dev.last_off, addr - refs[want].base);
		} else {
			assert_int_equal(v, size == 8 ? UINT64_MAX : (1ULL << (8 * size)) - 1);
		}
	}
}

static void test_many_ranges(void **state)
{
	struct bus *bus = *state;
	unsigned int live = 0, rejected = 0;

	for (int i = 0; i < NREF; i++) {
		uint64_t base = rnd() % 0x10000, len = 1 + rnd() % 48;
		bool clash = ref_overlaps(base, len);
		int ret;

		refs[i] = (struct ref){ .base = base, .len = len, .dev = { .id = i } };
		ret = bus_register(bus, base, len, &dev_ops, &refs[i].dev, "r");
		if (ret != (clash ? -EEXIST : 0))
			fail_msg("register [%#llx, +%llu): got %d, reference clash %d",
				 (unsigned long long)base, (unsigned long long)len, ret, clash);
		refs[i].live = !clash;
		live += !clash;
		rejected += clash;
	}
	/* Both outcomes occurred, and the table grew past its first allocation. */
	assert_true(live > 100);
	assert_true(rejected > 10);
	assert_int_equal(bus->nr, live);
	for (unsigned int i = 1; i < bus->nr; i++)
		assert_true(bus->ranges[i - 1] != bus->ranges[i]);
	check_lookups(bus, 20000);

	/* Every range answers at its first and last byte. */
	for (int i = 0; i < NREF; i++) {
		uint8_t d;

		if (!refs[i].live)
			continue;
		assert_true(bus_access(bus, refs[i].base, &d, 1, false));
		assert_int_equal(refs[i].dev.last_off, 0);
		assert_true(bus_access(bus, refs[i].base + refs[i].len - 1, &d, 1, false));
		assert_int_equal(refs[i].dev.last_off, refs[i].len - 1);
	}

	/* Remove about half, then check again. */
	for (int i = 0; i < NREF; i++) {
		if (!refs[i].live || (rnd() & 1))
			continue;
		assert_int_equal(bus_unregister(bus, refs[i].base), 0);
		refs[i].live = false;
		live--;
	}
	assert_int_equal(bus->nr, live);
	check_lookups(bus, 20000);

	/* Refill the gaps and check once more. */
	for (int i = 0; i < NREF; i++) {
		uint64_t base, len;
		bool clash;
		int ret;

		if (refs[i].live)
			continue;
		base = rnd() % 0x10000;
		len = 1 + rnd() % 16;
		clash = ref_overlaps(base, len);
		refs[i].base = base;
		refs[i].len = len;
		ret = bus_register(bus, base, len, &dev_ops, &refs[i].dev, "r");
		assert_int_equal(ret, clash ? -EEXIST : 0);
		refs[i].live = !clash;
	}
	check_lookups(bus, 20000);
}

/* ---- concurrency ---- */

struct hammer {
	struct bus *bus;
	atomic_bool stop;
	atomic_int live;           /* 1 while the flaky range is registered */
	atomic_ulong calls;        /* handler invocations on the flaky range */
	atomic_ulong violations;   /* handler ran while not registered */
	atomic_ulong claimed, unclaimed, stable_misses, stable_calls;
};

static uint64_t flaky_read(void *opaque, uint64_t off, unsigned int size)
{
	struct hammer *h = opaque;

	(void)off;
	(void)size;
	if (!atomic_load(&h->live))
		atomic_fetch_add(&h->violations, 1);
	/* Linger a little so that unregister often finds us inside. */
	for (volatile int i = 0; i < 200; i++)
		;
	if (!atomic_load(&h->live))
		atomic_fetch_add(&h->violations, 1);
	atomic_fetch_add(&h->calls, 1);
	return 0x42;
}

static const struct bus_ops flaky_ops = { .read = flaky_read };

static uint64_t stable_read(void *opaque, uint64_t off, unsigned int size)
{
	struct hammer *h = opaque;

	(void)off;
	(void)size;
	atomic_fetch_add(&h->stable_calls, 1);
	return 0;
}

static const struct bus_ops stable_ops = { .read = stable_read };

static void *hammer_thread(void *arg)
{
	struct hammer *h = arg;

	while (!atomic_load(&h->stop)) {
		uint64_t v = 0;

		if (bus_access(h->bus, 0x1000, &v, 4, false)) {
			if (v != 0x42)
				atomic_fetch_add(&h->violations, 1);
			atomic_fetch_add(&h->claimed, 1);
		} else {
			if (v != 0xffffffff)
				atomic_fetch_add(&h->violations, 1);
			atomic_fetch_add(&h->unclaimed, 1);
		}
		if (!bus_access(h->bus, 0x2000, &v, 1, false))
			atomic_fetch_add(&h->stable_misses, 1);
	}
	return NULL;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_concurrent_unregister(void **state)
{
	struct bus *bus = *state;
	static struct hammer h;
	pthread_t t[2];
	unsigned int cycles = 0;
	double deadline = now_s() + 2.0;

	memset(&h, 0, sizeof(h));
	h.bus = bus;
	assert_int_equal(bus_register(bus, 0x2000, 1, &stable_ops, &h, "stable"), 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, hammer_thread, &h), 0);

	while (cycles < 3000 && now_s() < deadline) {
		unsigned long before = atomic_load(&h.calls);

		atomic_store(&h.live, 1);
		assert_int_equal(bus_register(bus, 0x1000, 8, &flaky_ops, &h, "flaky"), 0);
		/* Wait until a handler has run (bounded), so unregister races it. */
		for (int spin = 0; spin < 10000 && atomic_load(&h.calls) == before; spin++)
			sched_yield();
		/* Also move other ranges about, reallocating the table. */
		if (cycles % 50 == 0) {
			for (uint64_t a = 0; a < 40; a++)
				assert_int_equal(bus_register(bus, 0x10000 + a * 4, 4, &flaky_ops,
							      &h, "filler"), 0);
			for (uint64_t a = 0; a < 40; a++)
				assert_int_equal(bus_unregister(bus, 0x10000 + a * 4), 0);
		}
		assert_int_equal(bus_unregister(bus, 0x1000), 0);
		/* From here on no handler may run in the flaky range. */
		atomic_store(&h.live, 0);
		cycles++;
		for (int spin = 0; spin < 3; spin++)
			sched_yield();
	}
	atomic_store(&h.stop, true);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);

	print_message("%u cycles, %lu handler calls, %lu claimed, %lu unclaimed\n", cycles,
		      atomic_load(&h.calls), atomic_load(&h.claimed), atomic_load(&h.unclaimed));
	assert_int_equal(atomic_load(&h.violations), 0);
	assert_int_equal(atomic_load(&h.stable_misses), 0);
	assert_int_equal(atomic_load(&h.stable_calls),
			 atomic_load(&h.claimed) + atomic_load(&h.unclaimed));
	assert_true(cycles >= 20);
	assert_true(atomic_load(&h.claimed) > 0);
	assert_true(atomic_load(&h.unclaimed) > 0);
}

/* bus_unregister() must wait for a handler that is still running. */
struct blocker {
	struct bus *bus;
	atomic_int entered, release, unregistered, handler_done;
};

static uint64_t blocking_read(void *opaque, uint64_t off, unsigned int size)
{
	struct blocker *b = opaque;

	(void)off;
	(void)size;
	atomic_store(&b->entered, 1);
	while (!atomic_load(&b->release))
		sched_yield();
	atomic_store(&b->handler_done, 1);
	return 7;
}

static const struct bus_ops blocking_ops = { .read = blocking_read };

static void *blocker_access(void *arg)
{
	struct blocker *b = arg;
	uint8_t v;

	bus_access(b->bus, 0x500, &v, 1, false);
	return NULL;
}

static void *blocker_unregister(void *arg)
{
	struct blocker *b = arg;

	/* (No cmocka asserts off the main thread: record the outcome instead.) */
	int ret = bus_unregister(b->bus, 0x500);

	/* The handler must have finished before unregister returned. */
	if (ret || !atomic_load(&b->handler_done))
		atomic_store(&b->unregistered, -1);
	else
		atomic_store(&b->unregistered, 1);
	return NULL;
}

static unsigned int ranges_now(struct bus *bus)
{
	unsigned int n;

	pthread_rwlock_rdlock(&bus->lock);
	n = bus->nr;
	pthread_rwlock_unlock(&bus->lock);
	return n;
}

static void test_unregister_waits(void **state)
{
	struct bus *bus = *state;
	static struct blocker b;
	struct timespec ms50 = { 0, 50 * 1000 * 1000 };
	pthread_t ta, tu;
	uint8_t v = 0;

	memset(&b, 0, sizeof(b));
	b.bus = bus;
	assert_int_equal(bus_register(bus, 0x500, 1, &blocking_ops, &b, "blocker"), 0);
	assert_int_equal(pthread_create(&ta, NULL, blocker_access, &b), 0);
	while (!atomic_load(&b.entered))
		sched_yield();
	assert_int_equal(pthread_create(&tu, NULL, blocker_unregister, &b), 0);
	nanosleep(&ms50, NULL);
	/* Still waiting for the handler... */
	assert_int_equal(atomic_load(&b.unregistered), 0);
	/* ...but new accesses no longer find the range. */
	for (int i = 0; i < 100 && ranges_now(bus); i++)
		nanosleep(&ms50, NULL);
	assert_int_equal(ranges_now(bus), 0);
	assert_false(bus_access(bus, 0x500, &v, 1, false));
	assert_int_equal(v, 0xff);
	atomic_store(&b.release, 1);
	pthread_join(tu, NULL);
	pthread_join(ta, NULL);
	assert_int_equal(atomic_load(&b.unregistered), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_register_dispatch, setup_bus, teardown_bus),
		cmocka_unit_test_setup_teardown(test_unclaimed, setup_bus, teardown_bus),
		cmocka_unit_test_setup_teardown(test_straddle, setup_bus, teardown_bus),
		cmocka_unit_test_setup_teardown(test_overlap_rejected, setup_bus, teardown_bus),
		cmocka_unit_test_setup_teardown(test_register_invalid, setup_bus, teardown_bus),
		cmocka_unit_test_setup_teardown(test_null_ops, setup_bus, teardown_bus),
		cmocka_unit_test_setup_teardown(test_unregister, setup_bus, teardown_bus),
		cmocka_unit_test_setup_teardown(test_many_ranges, setup_bus, teardown_bus),
		cmocka_unit_test_setup_teardown(test_concurrent_unregister, setup_bus, teardown_bus),
		cmocka_unit_test_setup_teardown(test_unregister_waits, setup_bus, teardown_bus),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
