// SPDX-License-Identifier: GPL-2.0-only
/*
 * virtio-balloon behind the virtio-pci transport, driven as a guest driver
 * would (tests/unit/vpci_rig.h), with lazily backed anonymous guest memory:
 * inflated and reported pages read back zero (MADV_DONTNEED), bad PFNs are
 * skipped, statistics are parsed and the buffer held until the host asks,
 * the configuration space, queue numbering, save/restore, quiesce, reset.
 */
#include <endian.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "log.h"
#include "util.h"
#include "virtio/balloon.h"

#include "vpci_rig.h"

#define W       VIRTQ_DESC_F_WRITE
#define V1      VIRTIO_BIT(VIRTIO_F_VERSION_1)
#define F_STATS VIRTIO_BIT(VIRTIO_BALLOON_F_STATS_VQ)
#define F_OOM   VIRTIO_BIT(VIRTIO_BALLOON_F_DEFLATE_ON_OOM)
#define F_REP   VIRTIO_BIT(VIRTIO_BALLOON_F_PAGE_REPORTING)
#define ALL     (V1 | F_STATS | F_OOM | F_REP)
#define INFQ    0
#define DEFQ    1
#define STATQ   2
#define REPQ    3
#define PAGES   0x800000ULL     /* guest pages the tests balloon, above the rig's heap */
#define PG      4096ULL

static int bal_create(struct virtio_dev **out, const struct virtio_env *env, void *arg)
{
	(void)arg;
	return virtio_balloon_create(out, env);
}

static int setup(void **state)
{
	return rig_setup(state, 32 * MiB, bal_create, NULL);
}

static struct virtio_balloon_info info(struct rig *r, bool refresh)
{
	struct virtio_balloon_info bi;

	virtio_balloon_info(r->vd, &bi, refresh);
	return bi;
}

/* Fill guest page n of the balloon area (host pages get populated). */
static void touch(struct rig *r, unsigned int n)
{
	memset(gp(r, PAGES + n * PG, PG), 0x5a, PG);
}

static bool zero(struct rig *r, unsigned int n)
{
	const uint8_t *p = gp(r, PAGES + n * PG, PG);

	for (size_t i = 0; i < PG; i++)
		if (p[i])
			return false;
	return true;
}

/* A PFN array in guest memory. */
static gpa_t pfns(struct rig *r, const uint32_t *v, unsigned int n)
{
	gpa_t a = galloc(r, 4ULL * n + 4, 0);
	uint32_t *p = gp(r, a, 4ULL * n);

	for (unsigned int i = 0; i < n; i++)
		p[i] = htole32(v[i]);
	return a;
}

static uint32_t pfn(unsigned int n)
{
	return (PAGES >> 12) + n;
}

/* ---- features, configuration ---- */

static void test_features_config(void **state)
{
	struct rig *r = *state;
	uint64_t f = device_features(r);

	assert_true(f & F_STATS);
	assert_true(f & F_OOM);
	assert_true(f & F_REP);
	assert_false(f & VIRTIO_BIT(VIRTIO_BALLOON_F_MUST_TELL_HOST));
	assert_false(f & VIRTIO_BIT(VIRTIO_BALLOON_F_FREE_PAGE_HINT));
	assert_false(f & VIRTIO_BIT(VIRTIO_BALLOON_F_PAGE_POISON));
	assert_int_equal(r->vd->nr_queues, 4);

	driver_init(r, ALL, true);
	io_step(r);
	irqs(r, 0);
	assert_int_equal(bar_rd(r, VIRTIO_PCI_DEVICE + 0, 4), 0);
	assert_int_equal(bar_rd(r, VIRTIO_PCI_DEVICE + 4, 4), 0);

	/* The host sets a target: num_pages, and a configuration-change interrupt. */
	virtio_balloon_set_target(r->vd, 1234);
	assert_int_equal(bar_rd(r, VIRTIO_PCI_DEVICE + 0, 4), 1234);
	assert_int_equal(bar_rd(r, VIRTIO_PCI_DEVICE + 0, 2), 1234);
	assert_int_equal(irqs(r, 0), 1);
	virtio_balloon_set_target(r->vd, 1234);         /* no change: no interrupt */
	assert_int_equal(irqs(r, 0), 0);

	/* The driver writes actual (whole, or a part); num_pages is not the driver's. */
	bar_wr(r, VIRTIO_PCI_DEVICE + 4, 4, 1000);
	assert_int_equal(bar_rd(r, VIRTIO_PCI_DEVICE + 4, 4), 1000);
	assert_int_equal(info(r, false).actual_pages, 1000);
	bar_wr(r, VIRTIO_PCI_DEVICE + 6, 2, 1);
	assert_int_equal(info(r, false).actual_pages, 0x10000 + 1000);
	bar_wr(r, VIRTIO_PCI_DEVICE + 0, 4, 7);
	bar_wr(r, VIRTIO_PCI_DEVICE + 8, 4, 7);
	bar_wr(r, VIRTIO_PCI_DEVICE + 12, 4, 7);
	assert_int_equal(bar_rd(r, VIRTIO_PCI_DEVICE + 0, 4), 1234);
	assert_int_equal(bar_rd(r, VIRTIO_PCI_DEVICE + 8, 4), 0);
	assert_int_equal(bar_rd(r, VIRTIO_PCI_DEVICE + 12, 4), 0);
	assert_int_equal(info(r, false).target_pages, 1234);
	assert_true(info(r, false).driver_ok);

	/* A driver reset: the target stays (the host's), actual is the new driver's. */
	status_wr(r, 0);
	assert_int_equal(info(r, false).target_pages, 1234);
	assert_int_equal(info(r, false).actual_pages, 0);
	assert_false(info(r, false).driver_ok);
}

/* ---- inflate, deflate ---- */

static void test_inflate_releases(void **state)
{
	struct rig *r = *state;
	uint32_t v[] = { pfn(0), pfn(2), pfn(3), pfn(4), pfn(7) };   /* runs: 0, 2-4, 7 */
	gpa_t a;

	driver_init(r, ALL, true);
	io_step(r);
	for (unsigned int i = 0; i < 9; i++)
		touch(r, i);
	a = pfns(r, v, ARRAY_SIZE(v));
	publish(r, INFQ, &(struct tdesc){ a, sizeof(v), 0 }, 1);
	notify(r, INFQ);
	assert_int_equal(io_step(r), 1);
	assert_int_equal(used_idx(r, INFQ), 1);
	assert_int_equal(used_elem(r, INFQ, 0).len, 0);
	assert_int_equal(irqs(r, INFQ + 1), 1);
	for (unsigned int i = 0; i < 9; i++)
		assert_true(zero(r, i) == (i == 0 || (i >= 2 && i <= 4) || i == 7));
	assert_int_equal(info(r, false).released_bytes, 5 * PG);
	assert_int_equal(info(r, false).bad_pfns, 0);

	/* Deflate: nothing to do but give the buffer back; the page is usable again. */
	a = pfns(r, v, 2);
	publish(r, DEFQ, &(struct tdesc){ a, 8, 0 }, 1);
	notify(r, DEFQ);
	assert_int_equal(io_step(r), 1);
	assert_int_equal(used_idx(r, DEFQ), 1);
	touch(r, 0);
	assert_false(zero(r, 0));
	assert_false(r->vd->status & ST_NEEDS_RESET);
}

/* PFNs outside RAM are skipped and counted; the rest still goes; the device runs on. */
static void test_inflate_bad_pfns(void **state)
{
	struct rig *r = *state;
	uint32_t v[] = { pfn(1), (32 * MiB) >> 12, 0xffffffffu, pfn(5), (MEM_HOLE_START >> 12) + 3 };
	gpa_t a;

	driver_init(r, ALL, true);
	io_step(r);
	touch(r, 1);
	touch(r, 5);
	touch(r, 6);
	a = pfns(r, v, ARRAY_SIZE(v));
	/* 2 bytes of garbage after the array: ignored. */
	publish(r, INFQ, &(struct tdesc){ a, sizeof(v) + 2, 0 }, 1);
	/* An empty buffer and one split across two descriptors. */
	publish(r, INFQ, &(struct tdesc){ a, 0, 0 }, 1);
	a = pfns(r, (uint32_t[]){ pfn(6) }, 1);
	submit(r, INFQ, (struct tdesc[]){ { a, 3, 0 }, { a + 3, 1, 0 } }, 2);
	assert_int_equal(used_idx(r, INFQ), 3);
	assert_true(zero(r, 1));
	assert_true(zero(r, 5));
	assert_true(zero(r, 6));
	assert_int_equal(info(r, false).bad_pfns, 3);
	assert_int_equal(info(r, false).released_bytes, 3 * PG);
	assert_false(r->vd->status & ST_NEEDS_RESET);
	/* Writable buffers on inflateq are ignored too. */
	a = galloc(r, 64, 0);
	submit(r, INFQ, &(struct tdesc){ a, 64, W }, 1);
	assert_int_equal(used_idx(r, INFQ), 4);
	assert_int_equal(used_elem(r, INFQ, 3).len, 0);
	assert_false(r->vd->status & ST_NEEDS_RESET);
}

/* A chain over VIRTIO_BALLOON_MAX_PFNS: the rest is skipped (counted as bad). */
static void test_inflate_too_many(void **state)
{
	struct rig *r = *state;
	unsigned int n = VIRTIO_BALLOON_MAX_PFNS + 10;
	uint32_t *v = calloc(n, 4);
	gpa_t a;

	assert_non_null(v);
	for (unsigned int i = 0; i < n; i++)
		v[i] = pfn(i % 4);             /* the same 4 pages over and over */
	driver_init(r, ALL, true);
	io_step(r);
	a = pfns(r, v, n);
	submit(r, INFQ, &(struct tdesc){ a, 4 * n, 0 }, 1);
	assert_int_equal(used_idx(r, INFQ), 1);
	assert_int_equal(info(r, false).bad_pfns, 10);
	assert_int_equal(info(r, false).released_bytes, VIRTIO_BALLOON_MAX_PFNS * PG);
	free(v);
}

/* A broken queue: DEVICE_NEEDS_RESET, nothing else. */
static void test_broken_queue(void **state)
{
	struct rig *r = *state;

	driver_init(r, ALL, true);
	io_step(r);
	publish(r, INFQ, &(struct tdesc){ 64 * MiB, 4, 0 }, 1);     /* outside RAM */
	notify(r, INFQ);
	io_step(r);
	assert_true(status_rd(r) & ST_NEEDS_RESET);
	assert_int_equal(used_idx(r, INFQ), 0);
}

/* ---- statistics ---- */

static gpa_t stats_buf(struct rig *r, const uint16_t *tags, const uint64_t *vals, unsigned int n)
{
	gpa_t a = galloc(r, 10ULL * n + 16, 0);
	uint8_t *p = gp(r, a, 10ULL * n + 16);

	for (unsigned int i = 0; i < n; i++) {
		uint16_t t = htole16(tags[i]);
		uint64_t v = htole64(vals[i]);

		memcpy(p + 10 * i, &t, 2);
		memcpy(p + 10 * i + 2, &v, 8);
	}
	return a;
}

static void test_stats(void **state)
{
	struct rig *r = *state;
	struct virtio_balloon_info bi;
	gpa_t a;

	driver_init(r, ALL, true);
	io_step(r);
	bi = info(r, true);
	assert_int_equal(bi.stats_valid, 0);
	assert_int_equal(bi.stats_ns, 0);

	a = stats_buf(r, (uint16_t[]){ VIRTIO_BALLOON_S_MEMFREE, VIRTIO_BALLOON_S_MEMTOT, 99,
				       VIRTIO_BALLOON_S_NR },
		      (uint64_t[]){ 100 * MiB, 256 * MiB, 5, 6 }, 4);
	publish(r, STATQ, &(struct tdesc){ a, 40, 0 }, 1);
	notify(r, STATQ);
	assert_int_equal(io_step(r), 1);
	assert_int_equal(used_idx(r, STATQ), 0);                /* held */
	bi = info(r, false);
	assert_int_equal(bi.stats_valid,
			 (1u << VIRTIO_BALLOON_S_MEMFREE) | (1u << VIRTIO_BALLOON_S_MEMTOT));
	assert_int_equal(bi.stats[VIRTIO_BALLOON_S_MEMFREE], 100 * MiB);
	assert_int_equal(bi.stats[VIRTIO_BALLOON_S_MEMTOT], 256 * MiB);
	assert_true(bi.stats_ns != 0);
	assert_string_equal(virtio_balloon_stat_name(VIRTIO_BALLOON_S_MEMFREE), "free_memory");
	assert_string_equal(virtio_balloon_stat_name(VIRTIO_BALLOON_S_CACHES), "disk_caches");
	assert_null(virtio_balloon_stat_name(VIRTIO_BALLOON_S_NR));

	/* The host asks for fresh numbers: the buffer goes back, once. */
	irqs(r, STATQ + 1);
	info(r, true);
	assert_int_equal(used_idx(r, STATQ), 1);
	assert_int_equal(used_elem(r, STATQ, 0).len, 0);
	assert_int_equal(irqs(r, STATQ + 1), 1);
	info(r, true);
	assert_int_equal(used_idx(r, STATQ), 1);

	/* The driver refills it. */
	a = stats_buf(r, (uint16_t[]){ VIRTIO_BALLOON_S_MEMFREE, VIRTIO_BALLOON_S_SWAP_IN },
		      (uint64_t[]){ 50 * MiB, 7 }, 2);
	submit(r, STATQ, &(struct tdesc){ a, 20, 0 }, 1);
	bi = info(r, false);
	assert_int_equal(bi.stats[VIRTIO_BALLOON_S_MEMFREE], 50 * MiB);
	assert_int_equal(bi.stats[VIRTIO_BALLOON_S_MEMTOT], 256 * MiB);  /* still the latest */
	assert_int_equal(bi.stats[VIRTIO_BALLOON_S_SWAP_IN], 7);

	/* A second buffer while one is held: the older one goes back. */
	a = stats_buf(r, (uint16_t[]){ VIRTIO_BALLOON_S_MEMFREE }, (uint64_t[]){ 1 }, 1);
	submit(r, STATQ, &(struct tdesc){ a, 10, 0 }, 1);
	assert_int_equal(used_idx(r, STATQ), 2);
	assert_int_equal(info(r, false).stats[VIRTIO_BALLOON_S_MEMFREE], 1);
	assert_false(r->vd->status & ST_NEEDS_RESET);
}

/* Lengths that are not a multiple of 10, or too long, change nothing (buffer still held). */
static void test_stats_malformed(void **state)
{
	struct rig *r = *state;
	static const uint32_t lens[] = { 9, 11, 15, 1, VIRTIO_BALLOON_MAX_STATS + 10 };
	gpa_t a;

	driver_init(r, ALL, true);
	io_step(r);
	a = stats_buf(r, (uint16_t[]){ VIRTIO_BALLOON_S_MEMFREE }, (uint64_t[]){ 42 }, 1);
	submit(r, STATQ, &(struct tdesc){ a, 10, 0 }, 1);
	for (unsigned int i = 0; i < ARRAY_SIZE(lens); i++) {
		gpa_t b = galloc(r, lens[i], 0x11);

		info(r, true);
		assert_int_equal(used_idx(r, STATQ), i + 1);
		submit(r, STATQ, &(struct tdesc){ b, lens[i], 0 }, 1);
		assert_int_equal(used_idx(r, STATQ), i + 1);        /* held */
		assert_int_equal(info(r, false).stats_valid, 1u << VIRTIO_BALLOON_S_MEMFREE);
		assert_int_equal(info(r, false).stats[VIRTIO_BALLOON_S_MEMFREE], 42);
	}
	/* An empty one (zero-length descriptor: no buffers at all) is fine too. */
	info(r, true);
	submit(r, STATQ, &(struct tdesc){ a, 0, 0 }, 1);
	assert_false(r->vd->status & ST_NEEDS_RESET);
	/* Split over descriptors: read across them. */
	info(r, true);
	a = stats_buf(r, (uint16_t[]){ VIRTIO_BALLOON_S_MEMFREE }, (uint64_t[]){ 43 }, 1);
	submit(r, STATQ, (struct tdesc[]){ { a, 3, 0 }, { a + 3, 7, 0 } }, 2);
	assert_int_equal(info(r, false).stats[VIRTIO_BALLOON_S_MEMFREE], 43);
}

/* quiesce gives the held buffer back (a snapshot holds no chain); so does nothing twice. */
static void test_quiesce(void **state)
{
	struct rig *r = *state;
	gpa_t a;

	driver_init(r, ALL, true);
	io_step(r);
	a = stats_buf(r, (uint16_t[]){ VIRTIO_BALLOON_S_MEMFREE }, (uint64_t[]){ 42 }, 1);
	submit(r, STATQ, &(struct tdesc){ a, 10, 0 }, 1);
	assert_int_equal(used_idx(r, STATQ), 0);
	virtio_dev_lock(r->vd);
	r->vd->ops->quiesce(r->vd);
	virtio_dev_unlock(r->vd);
	assert_int_equal(used_idx(r, STATQ), 1);
	virtio_dev_lock(r->vd);
	r->vd->ops->quiesce(r->vd);
	virtio_dev_unlock(r->vd);
	info(r, true);
	assert_int_equal(used_idx(r, STATQ), 1);
	assert_int_equal(info(r, false).stats[VIRTIO_BALLOON_S_MEMFREE], 42);
	/* Before any driver: nothing to do. */
	status_wr(r, 0);
	virtio_dev_lock(r->vd);
	r->vd->ops->quiesce(r->vd);
	virtio_dev_unlock(r->vd);
}

/* ---- free page reporting ---- */

static void test_reporting(void **state)
{
	struct rig *r = *state;

	driver_init(r, ALL, true);
	io_step(r);
	for (unsigned int i = 0; i < 8; i++)
		touch(r, i);
	/* Pages 0-1 whole; [page 3 + 100, page 5 + 100): only page 4 is whole. */
	publish(r, REPQ, (struct tdesc[]){ { PAGES, 2 * PG, W },
					   { PAGES + 3 * PG + 100, 2 * PG, W } }, 2);
	notify(r, REPQ);
	assert_int_equal(io_step(r), 1);
	assert_int_equal(used_idx(r, REPQ), 1);
	assert_int_equal(irqs(r, REPQ + 1), 1);
	for (unsigned int i = 0; i < 8; i++)
		assert_true(zero(r, i) == (i <= 1 || i == 4));
	assert_int_equal(info(r, false).reported_bytes, 3 * PG);
	assert_int_equal(info(r, false).released_bytes, 0);
	/* Readable buffers are accepted too. */
	submit(r, REPQ, &(struct tdesc){ PAGES + 6 * PG, PG, 0 }, 1);
	assert_true(zero(r, 6));
	assert_false(zero(r, 7));
}

/* Without STATS_VQ the reporting queue is queue 2 (queues are numbered in order of presence). */
static void test_queue_numbering(void **state)
{
	struct rig *r = *state;
	uint32_t v[] = { pfn(0) };
	gpa_t a;

	driver_init(r, V1 | F_REP, true);
	io_step(r);
	touch(r, 1);
	submit(r, 2, &(struct tdesc){ PAGES + PG, PG, W }, 1);
	assert_int_equal(used_idx(r, 2), 1);
	assert_true(zero(r, 1));
	/* Queue 3 does not exist for this driver: ignored. */
	touch(r, 1);
	submit(r, 3, &(struct tdesc){ PAGES + PG, PG, W }, 1);
	assert_int_equal(used_idx(r, 3), 0);
	assert_false(zero(r, 1));

	/* Neither: queue 2 is nothing. */
	driver_init(r, V1, true);
	io_step(r);
	touch(r, 0);
	a = pfns(r, v, 1);
	submit(r, 2, &(struct tdesc){ a, 4, 0 }, 1);
	assert_int_equal(used_idx(r, 2), 0);
	assert_false(zero(r, 0));
	assert_false(r->vd->status & ST_NEEDS_RESET);
}

/* ---- save / restore ---- */

static void test_save_restore(void **state)
{
	struct rig *r = *state;
	const struct virtio_dev_ops *ops = r->vd->ops;
	struct virtio_balloon_state s, s2, bad;
	gpa_t a;

	assert_int_equal(ops->state_size, sizeof(s));
	driver_init(r, ALL, true);
	io_step(r);
	virtio_balloon_set_target(r->vd, 777);
	bar_wr(r, VIRTIO_PCI_DEVICE + 4, 4, 555);
	a = stats_buf(r, (uint16_t[]){ VIRTIO_BALLOON_S_MEMFREE, VIRTIO_BALLOON_S_CACHES },
		      (uint64_t[]){ 9, 10 }, 2);
	submit(r, STATQ, &(struct tdesc){ a, 20, 0 }, 1);
	virtio_dev_lock(r->vd);
	ops->quiesce(r->vd);
	memset(&s, 0xee, sizeof(s));
	ops->save(r->vd, &s);
	virtio_dev_unlock(r->vd);
	assert_int_equal(s.target_pages, 777);
	assert_int_equal(s.actual_pages, 555);
	assert_int_equal(s.reserved, 0);
	assert_int_equal(s.stats_valid, (1u << VIRTIO_BALLOON_S_MEMFREE) | (1u << VIRTIO_BALLOON_S_CACHES));
	assert_int_equal(s.stats[VIRTIO_BALLOON_S_CACHES], 10);
	assert_int_equal(s.stats[0], 0);

	/* Bad states: refused, device untouched. */
	bad = s; bad.reserved = 1;
	assert_int_equal(ops->restore(r->vd, &bad), -EINVAL);
	bad = s; bad.stats_valid |= 1u << VIRTIO_BALLOON_S_NR;
	assert_int_equal(ops->restore(r->vd, &bad), -EINVAL);
	bad = s; bad.stats[0] = 1;
	assert_int_equal(ops->restore(r->vd, &bad), -EINVAL);
	bad = s; bad.target_pages = (32 * MiB >> 12) + 1;
	assert_int_equal(ops->restore(r->vd, &bad), -EINVAL);
	assert_int_equal(info(r, false).target_pages, 777);

	/* Into a reset device: the same bytes come back. */
	status_wr(r, 0);
	virtio_balloon_set_target(r->vd, 0);
	assert_int_equal(info(r, false).actual_pages, 0);
	assert_int_equal(ops->restore(r->vd, &s), 0);
	ops->save(r->vd, &s2);
	assert_memory_equal(&s, &s2, sizeof(s));
	assert_int_equal(bar_rd(r, VIRTIO_PCI_DEVICE + 0, 4), 777);
	assert_int_equal(bar_rd(r, VIRTIO_PCI_DEVICE + 4, 4), 555);
	assert_int_equal(info(r, false).stats[VIRTIO_BALLOON_S_MEMFREE], 9);
	assert_true(info(r, false).stats_ns != 0);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, rig_teardown)
	const struct CMUnitTest tests[] = {
		T(test_features_config),
		T(test_inflate_releases),
		T(test_inflate_bad_pfns),
		T(test_inflate_too_many),
		T(test_broken_queue),
		T(test_stats),
		T(test_stats_malformed),
		T(test_quiesce),
		T(test_reporting),
		T(test_queue_numbering),
		T(test_save_restore),
	};

	log_set_level(LOG_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
