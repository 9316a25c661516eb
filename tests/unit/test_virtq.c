// SPDX-License-Identifier: GPL-2.0-only
/* virtq: split virtqueues against a hostile driver, in fake guest memory. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "log.h"
#include "memory.h"
#include "util.h"
#include "virtio/virtq.h"

/*
 * The real x86 layout of a 6 GiB guest: RAM [0, 3 GiB), the MMIO hole, RAM
 * [4 GiB, 7 GiB).  Lazily backed: only the pages a test writes exist.
 */
#define GUEST_SIZE  (6 * GiB)
#define RAM_END     (MEM_4G + GUEST_SIZE - MEM_HOLE_START)
#define QSIZE       256
#define DESC        0x10000ULL
#define AVAIL       0x20000ULL
#define USED        0x30000ULL
#define TABLE       0x80000ULL      /* indirect tables */
#define TABLE2      0x90000ULL
#define BUF         0x100000ULL     /* data buffers */

#define N VIRTQ_DESC_F_NEXT
#define W VIRTQ_DESC_F_WRITE
#define I VIRTQ_DESC_F_INDIRECT

struct fix {
	struct guest_mem gm;
	uint8_t *map;
	struct virtq vq;
	struct virtq_chain c;
	uint16_t size;
	uint16_t avail_idx;         /* the driver's copy */
};

static void *gp(struct fix *f, gpa_t gpa, uint64_t len)
{
	void *p = mem_ptr(&f->gm, gpa, len);

	assert_non_null(p);
	return p;
}

static void reconfigure(struct fix *f, uint16_t size, bool event_idx)
{
	virtq_reset(&f->vq);
	memset(gp(f, DESC, VIRTQ_DESC_BYTES(size)), 0, VIRTQ_DESC_BYTES(size));
	memset(gp(f, AVAIL, VIRTQ_AVAIL_BYTES(size)), 0, VIRTQ_AVAIL_BYTES(size));
	memset(gp(f, USED, VIRTQ_USED_BYTES(size)), 0, VIRTQ_USED_BYTES(size));
	assert_int_equal(virtq_configure(&f->vq, size, DESC, AVAIL, USED, event_idx), 0);
	f->size = size;
	f->avail_idx = 0;
}

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	uint64_t off = 0;

	assert_non_null(f);
	assert_int_equal(mem_layout(&f->gm, GUEST_SIZE), 0);
	f->map = mmap(NULL, GUEST_SIZE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	assert_true(f->map != MAP_FAILED);
	for (unsigned int i = 0; i < f->gm.nr; i++) {
		f->gm.regions[i].hva = f->map + off;
		off += f->gm.regions[i].size;
	}
	assert_int_equal(virtq_init(&f->vq, &f->gm, QSIZE, "test-vq"), 0);
	reconfigure(f, QSIZE, false);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;

	munmap(f->map, GUEST_SIZE);
	free(f);
	return 0;
}

/* ---- the driver's side (Firecracker's test_utils) ---- */

struct tdesc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
};

static void put_desc(struct fix *f, gpa_t table, uint32_t i, uint64_t addr, uint32_t len,
		     uint16_t flags, uint16_t next)
{
	struct virtq_desc d = { htole64(addr), htole32(len), htole16(flags), htole16(next) };

	memcpy(gp(f, table + 16ULL * i, 16), &d, 16);
}

static void set_desc(struct fix *f, uint32_t i, uint64_t addr, uint32_t len,
		     uint16_t flags, uint16_t next)
{
	put_desc(f, DESC, i, addr, len, flags, next);
}

/* Descriptors first..first+n-1 of `table`, linked in order with F_NEXT. */
static void add_desc_chain(struct fix *f, gpa_t table, uint16_t first,
			   const struct tdesc *d, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		put_desc(f, table, first + i, d[i].addr, d[i].len,
			 d[i].flags | (i + 1 < n ? N : 0), first + i + 1);
}

static uint16_t *avail_ring(struct fix *f)
{
	return gp(f, AVAIL, VIRTQ_AVAIL_BYTES(f->size));
}

static void set_avail_idx(struct fix *f, uint16_t idx)
{
	f->avail_idx = idx;
	__atomic_store_n(&avail_ring(f)[1], htole16(idx), __ATOMIC_RELEASE);
}

/* Make chain `head` available. */
static void publish(struct fix *f, uint16_t head)
{
	avail_ring(f)[2 + (f->avail_idx & (f->size - 1))] = htole16(head);
	set_avail_idx(f, f->avail_idx + 1);
}

static void set_avail_flags(struct fix *f, uint16_t flags)
{
	avail_ring(f)[0] = htole16(flags);
}

static void set_used_event(struct fix *f, uint16_t v)
{
	avail_ring(f)[2 + f->size] = htole16(v);
}

static struct virtq_used *used_ring(struct fix *f)
{
	return gp(f, USED, VIRTQ_USED_BYTES(f->size));
}

static uint16_t used_idx(struct fix *f)
{
	return le16toh(__atomic_load_n(&used_ring(f)->idx, __ATOMIC_ACQUIRE));
}

static uint16_t avail_event(struct fix *f)
{
	uint16_t v;

	memcpy(&v, gp(f, USED + 4 + 8ULL * f->size, 2), 2);
	return le16toh(v);
}

static void check_used_elem(struct fix *f, uint16_t used_index, uint32_t id, uint32_t len)
{
	struct virtq_used_elem *e = &used_ring(f)->ring[used_index & (f->size - 1)];

	assert_int_equal(le32toh(e->id), id);
	assert_int_equal(le32toh(e->len), len);
}

/* Publish and pop n one-buffer chains (heads 0..n-1). */
static void pop_n(struct fix *f, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		uint16_t head = i & (f->size - 1);

		set_desc(f, head, BUF + 0x1000ULL * head, 64, W, 0);
		publish(f, head);
		assert_int_equal(virtq_pop(&f->vq, &f->c), 0);
		assert_int_equal(f->c.head, head);
	}
}

/* A guest error: the call fails with err, the queue is broken, and stays so. */
static void expect_pop_error(struct fix *f, int err)
{
	assert_int_equal(virtq_pop(&f->vq, &f->c), err);
	assert_true(f->vq.broken);
	assert_int_equal(virtq_pop(&f->vq, &f->c), -EIO);
	assert_false(virtq_has_avail(&f->vq));
	assert_int_equal(virtq_push(&f->vq, 0, 0), -EIO);
}

/* One chain of n descriptors at head 0, published; pop must fail with err. */
static void expect_chain_error(struct fix *f, const struct tdesc *d, unsigned int n, int err)
{
	add_desc_chain(f, DESC, 0, d, n);
	publish(f, 0);
	expect_pop_error(f, err);
}

static void expect_configure(struct fix *f, uint16_t size, gpa_t desc, gpa_t avail,
			     gpa_t used, int err)
{
	virtq_reset(&f->vq);
	assert_int_equal(virtq_configure(&f->vq, size, desc, avail, used, false), err);
	assert_int_equal(f->vq.s.ready, err ? 0 : 1);
	assert_int_equal(virtq_pop(&f->vq, &f->c), -EAGAIN);
}

/* ---- configuration ---- */

static void test_size_zero(void **state)
{
	expect_configure(*state, 0, DESC, AVAIL, USED, -EINVAL);
}

static void test_size_not_power_of_two(void **state)
{
	struct fix *f = *state;

	expect_configure(f, 3, DESC, AVAIL, USED, -EINVAL);
	expect_configure(f, 255, DESC, AVAIL, USED, -EINVAL);
	expect_configure(f, 1, DESC, AVAIL, USED, 0);
	expect_configure(f, 128, DESC, AVAIL, USED, 0);
}

static void test_size_above_max(void **state)
{
	struct fix *f = *state;
	struct virtq vq;

	expect_configure(f, 512, DESC, AVAIL, USED, -EINVAL);
	expect_configure(f, 32768, DESC, AVAIL, USED, -EINVAL);
	expect_configure(f, 256, DESC, AVAIL, USED, 0);
	/* The device's maximum itself must be a power of two up to 32768. */
	assert_int_equal(virtq_init(&vq, &f->gm, 0, "x"), -EINVAL);
	assert_int_equal(virtq_init(&vq, &f->gm, 48, "x"), -EINVAL);
	assert_int_equal(virtq_init(&vq, &f->gm, 65535, "x"), -EINVAL);
	assert_int_equal(virtq_init(&vq, &f->gm, 32768, "x"), 0);
	assert_int_equal(vq.s.size, 32768);
}

static void test_misaligned_rings(void **state)
{
	struct fix *f = *state;

	expect_configure(f, QSIZE, DESC + 8, AVAIL, USED, -EINVAL);
	expect_configure(f, QSIZE, DESC + 1, AVAIL, USED, -EINVAL);
	expect_configure(f, QSIZE, DESC, AVAIL + 1, USED, -EINVAL);
	expect_configure(f, QSIZE, DESC, AVAIL, USED + 2, -EINVAL);
	expect_configure(f, QSIZE, DESC, AVAIL, USED + 1, -EINVAL);
	/* The minimum alignments are enough. */
	expect_configure(f, QSIZE, DESC + 16, AVAIL + 2, USED + 4, 0);
}

static void test_rings_outside_ram(void **state)
{
	struct fix *f = *state;

	/* In the MMIO hole, straddling the end of low RAM, past the end of RAM. */
	expect_configure(f, QSIZE, 0xD0000000ULL, AVAIL, USED, -EINVAL);
	expect_configure(f, QSIZE, MEM_HOLE_START - 0x800, AVAIL, USED, -EINVAL);
	expect_configure(f, QSIZE, DESC, MEM_HOLE_START - 0x100, USED, -EINVAL);
	expect_configure(f, QSIZE, DESC, AVAIL, RAM_END - 0x800, -EINVAL);
	expect_configure(f, QSIZE, DESC, AVAIL, RAM_END, -EINVAL);
	/* Wrapping around the address space. */
	expect_configure(f, QSIZE, 0xFFFFFFFFFFFFFFF0ULL, AVAIL, USED, -EINVAL);
	expect_configure(f, QSIZE, DESC, 0xFFFFFFFFFFFFFFFEULL, USED, -EINVAL);
	expect_configure(f, QSIZE, DESC, AVAIL, 0xFFFFFFFFFFFFFFFCULL, -EINVAL);
	/* The event fields count: the used ring needs 6 + 8 * size bytes. */
	expect_configure(f, QSIZE, DESC, AVAIL, RAM_END - VIRTQ_USED_BYTES(QSIZE) - 2, 0);
	expect_configure(f, QSIZE, DESC, AVAIL, RAM_END - VIRTQ_USED_BYTES(QSIZE) + 2, -EINVAL);
	/* Rings above 4 GiB are fine. */
	expect_configure(f, QSIZE, MEM_4G, MEM_4G + 0x10000, RAM_END - 0x10000, 0);
}

/* The device writes the used ring: never over the avail ring or the descriptors. */
static void test_used_ring_overlaps(void **state)
{
	struct fix *f = *state;

	expect_configure(f, QSIZE, DESC, AVAIL, AVAIL, -EINVAL);
	/* The used ring's last 2 bytes over the avail ring's first ones (4-byte aligned). */
	expect_configure(f, QSIZE, DESC, AVAIL, AVAIL - VIRTQ_USED_BYTES(QSIZE) + 2, -EINVAL);
	/* 4 bytes lower it ends 2 bytes before the avail ring: accepted. */
	expect_configure(f, QSIZE, DESC, AVAIL, AVAIL - VIRTQ_USED_BYTES(QSIZE) - 2, 0);
	/* The avail ring's last bytes (used_event) over the used ring's first ones. */
	expect_configure(f, QSIZE, DESC, USED - VIRTQ_AVAIL_BYTES(QSIZE) + 2, USED, -EINVAL);
	expect_configure(f, QSIZE, DESC, AVAIL, DESC + 16 * 100, -EINVAL);
	/* Adjacent is fine, and so are the avail ring and the descriptors overlapping. */
	expect_configure(f, QSIZE, DESC, AVAIL, AVAIL + VIRTQ_AVAIL_BYTES(QSIZE) + 2, 0);
	expect_configure(f, QSIZE, DESC, USED - VIRTQ_AVAIL_BYTES(QSIZE), USED, 0);
	expect_configure(f, QSIZE, DESC, DESC + 16, USED, 0);
}

static void test_enable_twice(void **state)
{
	struct fix *f = *state;

	assert_int_equal(virtq_enable(&f->vq, false), -EBUSY);
	assert_int_equal(virtq_configure(&f->vq, 1, DESC, AVAIL, USED, false), -EBUSY);
	assert_int_equal(f->vq.s.size, QSIZE);
}

static void test_not_ready(void **state)
{
	struct fix *f = *state;

	set_desc(f, 0, BUF, 8, 0, 0);
	publish(f, 0);
	virtq_reset(&f->vq);
	assert_int_equal(virtq_pop(&f->vq, &f->c), -EAGAIN);
	assert_false(virtq_has_avail(&f->vq));
	assert_int_equal(virtq_push(&f->vq, 0, 0), -EIO);
	assert_false(virtq_needs_notify(&f->vq));
	virtq_set_notify(&f->vq, false);
}

/* ---- well-formed chains ---- */

static void test_pop_simple(void **state)
{
	struct fix *f = *state;
	const struct tdesc d[] = {
		{ BUF, 16, 0 }, { BUF + 0x1000, 100, 0 },
		{ BUF + 0x2000, 200, W }, { BUF + 0x3000, 1, W },
	};
	uint8_t hdr[20], out[2] = { 0xAB, 0xCD };
	uint8_t *b0 = gp(f, BUF, 16), *b1 = gp(f, BUF + 0x1000, 100);

	for (unsigned int i = 0; i < 16; i++)
		b0[i] = i;
	for (unsigned int i = 0; i < 100; i++)
		b1[i] = 16 + i;
	add_desc_chain(f, DESC, 5, d, 4);
	publish(f, 5);
	assert_true(virtq_has_avail(&f->vq));
	assert_int_equal(virtq_pop(&f->vq, &f->c), 0);
	assert_int_equal(f->c.head, 5);
	assert_int_equal(f->c.nr_read, 2);
	assert_int_equal(f->c.nr_write, 2);
	assert_int_equal(f->c.read_len, 116);
	assert_int_equal(f->c.write_len, 201);
	assert_ptr_equal(virtq_chain_read_iov(&f->c)[1].iov_base, b1);
	assert_ptr_equal(virtq_chain_write_iov(&f->c)[0].iov_base, gp(f, BUF + 0x2000, 1));
	assert_int_equal(virtq_chain_write_iov(&f->c)[1].iov_len, 1);

	/* A header across the two readable buffers. */
	assert_int_equal(virtq_chain_read(&f->c, 10, hdr, sizeof(hdr)), 0);
	for (unsigned int i = 0; i < sizeof(hdr); i++)
		assert_int_equal(hdr[i], 10 + i);
	/* A status across the two writable buffers. */
	assert_int_equal(virtq_chain_write(&f->c, 199, out, 2), 0);
	assert_int_equal(*(uint8_t *)gp(f, BUF + 0x2000 + 199, 1), 0xAB);
	assert_int_equal(*(uint8_t *)gp(f, BUF + 0x3000, 1), 0xCD);

	assert_int_equal(virtq_push(&f->vq, f->c.head, 201), 0);
	check_used_elem(f, 0, 5, 201);
	assert_int_equal(used_idx(f), 1);
	assert_int_equal(virtq_pop(&f->vq, &f->c), -EAGAIN);
	assert_false(virtq_has_avail(&f->vq));
	assert_false(f->vq.broken);
}

static void test_chain_of_queue_size(void **state)
{
	struct fix *f = *state;
	struct tdesc d[QSIZE];

	for (unsigned int i = 0; i < QSIZE; i++)
		d[i] = (struct tdesc){ BUF + 8 * i, 8, i >= QSIZE / 2 ? W : 0 };
	add_desc_chain(f, DESC, 0, d, QSIZE);
	publish(f, 0);
	assert_int_equal(virtq_pop(&f->vq, &f->c), 0);
	assert_int_equal(f->c.nr_read, QSIZE / 2);
	assert_int_equal(f->c.nr_write, QSIZE / 2);
	assert_int_equal(f->c.read_len, 8 * QSIZE / 2);
	assert_int_equal(f->c.write_len, 8 * QSIZE / 2);
}

static void test_chain_too_long(void **state)
{
	struct fix *f = *state;

	/* One direct descriptor then an indirect table of `size`: size + 1. */
	set_desc(f, 0, BUF, 8, N, 1);
	set_desc(f, 1, TABLE, 16 * QSIZE, I, 0);
	for (unsigned int i = 0; i < QSIZE; i++)
		put_desc(f, TABLE, i, BUF + i, 1, i + 1 < QSIZE ? N : 0, i + 1);
	publish(f, 0);
	expect_pop_error(f, -ELOOP);
}

static void test_chain_loop(void **state)
{
	struct fix *f = *state;
	struct timespec t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	set_desc(f, 0, BUF, 8, N, 1);
	set_desc(f, 1, BUF, 8, N, 2);
	set_desc(f, 2, BUF, 8, N, 0);
	publish(f, 0);
	expect_pop_error(f, -ELOOP);

	/* A descriptor that is its own next, all zero-length (no segment limit). */
	reconfigure(f, QSIZE, false);
	set_desc(f, 7, 0, 0, N, 7);
	publish(f, 7);
	expect_pop_error(f, -ELOOP);

	/* A loop inside an indirect table. */
	reconfigure(f, QSIZE, false);
	set_desc(f, 0, TABLE, 32, I, 0);
	put_desc(f, TABLE, 0, BUF, 8, N, 1);
	put_desc(f, TABLE, 1, BUF, 8, N, 0);
	publish(f, 0);
	expect_pop_error(f, -ELOOP);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_true(t1.tv_sec - t0.tv_sec < 5);
}

static void test_next_out_of_range(void **state)
{
	struct fix *f = *state;

	set_desc(f, 0, BUF, 8, N, QSIZE);
	publish(f, 0);
	expect_pop_error(f, -EINVAL);

	reconfigure(f, QSIZE, false);
	set_desc(f, 0, BUF, 8, N, 0xFFFF);
	publish(f, 0);
	expect_pop_error(f, -EINVAL);

	/* Inside an indirect table, next is bounded by the table's length. */
	reconfigure(f, QSIZE, false);
	set_desc(f, 0, TABLE, 4 * 16, I, 0);
	put_desc(f, TABLE, 0, BUF, 8, N, 4);
	publish(f, 0);
	expect_pop_error(f, -EINVAL);
}

static void test_head_out_of_range(void **state)
{
	struct fix *f = *state;

	publish(f, QSIZE);
	expect_pop_error(f, -EINVAL);

	reconfigure(f, QSIZE, false);
	publish(f, 0xFFFF);
	expect_pop_error(f, -EINVAL);
}

static void test_avail_idx_too_far_ahead(void **state)
{
	struct fix *f = *state;

	/* Exactly size entries ahead is fine. */
	for (unsigned int i = 0; i < QSIZE; i++) {
		set_desc(f, i, BUF, 8, 0, 0);
		publish(f, i);
	}
	assert_int_equal(virtq_pop(&f->vq, &f->c), 0);

	reconfigure(f, QSIZE, false);
	set_desc(f, 0, BUF, 8, 0, 0);
	set_avail_idx(f, QSIZE + 1);
	expect_pop_error(f, -EINVAL);

	/* "Behind" is the same as far ahead, modulo 2^16. */
	reconfigure(f, QSIZE, false);
	set_avail_idx(f, 0xFFFF);
	expect_pop_error(f, -EINVAL);
}

static void test_in_flight_limit(void **state)
{
	struct fix *f = *state;

	reconfigure(f, 4, false);
	pop_n(f, 4);
	/* A driver that makes head 0 available again while the device has it. */
	publish(f, 0);
	expect_pop_error(f, -EINVAL);

	/* Pushing one makes room for one. */
	reconfigure(f, 4, false);
	pop_n(f, 4);
	assert_int_equal(virtq_push(&f->vq, 2, 0), 0);
	publish(f, 2);
	assert_int_equal(virtq_pop(&f->vq, &f->c), 0);
	assert_int_equal(f->c.head, 2);
}

/* ---- buffers ---- */

static void test_desc_addr_wraps(void **state)
{
	const struct tdesc d[] = { { 0xFFFFFFFFFFFFFFF0ULL, 0x20, 0 } };

	expect_chain_error(*state, d, 1, -EFAULT);
}

static void test_desc_past_ram_end(void **state)
{
	struct fix *f = *state;
	const struct tdesc bad[] = { { RAM_END - 8, 4096, W } };
	const struct tdesc ok[] = { { RAM_END - 8, 8, W } };

	add_desc_chain(f, DESC, 0, ok, 1);
	publish(f, 0);
	assert_int_equal(virtq_pop(&f->vq, &f->c), 0);
	assert_int_equal(f->c.write_len, 8);
	expect_chain_error(f, bad, 1, -EFAULT);
}

static void test_desc_in_mmio_hole(void **state)
{
	const struct tdesc d[] = { { BUF, 8, 0 }, { 0xC0001000ULL, 16, W } };

	expect_chain_error(*state, d, 2, -EFAULT);
}

static void test_desc_spans_hole(void **state)
{
	/* The last bytes of low RAM and the first of the hole. */
	const struct tdesc d[] = { { MEM_HOLE_START - 8, 16, 0 } };

	expect_chain_error(*state, d, 1, -EFAULT);
}

static void test_desc_spans_adjacent_regions(void **state)
{
	struct fix *f = *state;
	const struct tdesc d[] = { { 1 * GiB - 8, 16, 0 } };
	const struct tdesc ok[] = { { 1 * GiB - 8, 8, 0 }, { 1 * GiB, 8, 0 } };

	/* Split low RAM into [0, 1 GiB) and [1 GiB, 3 GiB): contiguous in both. */
	f->gm.regions[2] = f->gm.regions[1];
	f->gm.regions[1] = (struct mem_region){ 1 * GiB, 2 * GiB, f->map + 1 * GiB };
	f->gm.regions[0].size = 1 * GiB;
	f->gm.nr = 3;
	reconfigure(f, QSIZE, false);

	add_desc_chain(f, DESC, 0, ok, 2);
	publish(f, 0);
	assert_int_equal(virtq_pop(&f->vq, &f->c), 0);
	assert_int_equal(f->c.nr_read, 2);
	expect_chain_error(f, d, 1, -EFAULT);
}

static void test_zero_length_descs(void **state)
{
	struct fix *f = *state;
	/* Zero-length descriptors: no segment, address and direction ignored. */
	const struct tdesc d[] = {
		{ 0xFFFFFFFFFFFFFFF0ULL, 0, 0 }, { BUF, 8, 0 }, { 0xD0000000ULL, 0, W },
		{ BUF + 8, 4, 0 }, { BUF + 16, 16, W }, { 0, 0, 0 },
	};
	const struct tdesc empty[] = { { 0, 0, 0 }, { 0, 0, W } };

	add_desc_chain(f, DESC, 0, d, ARRAY_SIZE(d));
	publish(f, 0);
	assert_int_equal(virtq_pop(&f->vq, &f->c), 0);
	assert_int_equal(f->c.nr_read, 2);
	assert_int_equal(f->c.nr_write, 1);
	assert_int_equal(f->c.read_len, 12);
	assert_int_equal(f->c.write_len, 16);

	add_desc_chain(f, DESC, 10, empty, 2);
	publish(f, 10);
	assert_int_equal(virtq_pop(&f->vq, &f->c), 0);
	assert_int_equal(f->c.head, 10);
	assert_int_equal(f->c.nr_read + f->c.nr_write, 0);
	assert_int_equal(f->c.read_len + f->c.write_len, 0);
}

static void test_readable_after_writable(void **state)
{
	const struct tdesc d[] = { { BUF, 8, 0 }, { BUF + 8, 8, W }, { BUF + 16, 8, 0 } };

	expect_chain_error(*state, d, 3, -EINVAL);
}

/*
 * A writable buffer over the avail ring: completing the request would write
 * new avail entries, and a queue whose requests complete at once (an error,
 * GET_ID, entropy) would feed itself for ever.  Readable ones may.
 */
static void test_writable_over_avail_ring(void **state)
{
	struct fix *f = *state;
	const struct tdesc ok[] = { { AVAIL, 8, 0 }, { BUF, 8, W } };
	const struct tdesc bad[] = { { BUF, 8, 0 }, { AVAIL + 2, 2, W } };
	const struct tdesc end[] = { { AVAIL + VIRTQ_AVAIL_BYTES(QSIZE) - 1, 4, W } };

	add_desc_chain(f, DESC, 0, ok, 2);
	publish(f, 0);
	assert_int_equal(virtq_pop(&f->vq, &f->c), 0);
	assert_int_equal(virtq_push(&f->vq, 0, 8), 0);
	add_desc_chain(f, DESC, 0, bad, 2);
	publish(f, 0);
	expect_pop_error(f, -EINVAL);
	virtq_reset(&f->vq);
	assert_int_equal(virtq_configure(&f->vq, QSIZE, DESC, AVAIL, USED, false), 0);
	expect_chain_error(f, end, 1, -EINVAL);
}

static void test_too_many_segments(void **state)
{
	struct fix *f = *state;
	static struct tdesc d[VIRTQ_MAX_SEGS + 1];

	assert_int_equal(virtq_init(&f->vq, &f->gm, 2048, "test-vq"), 0);
	reconfigure(f, 2048, false);
	for (unsigned int i = 0; i < ARRAY_SIZE(d); i++)
		d[i] = (struct tdesc){ BUF + i, 1, W };
	add_desc_chain(f, DESC, 0, d, VIRTQ_MAX_SEGS);
	publish(f, 0);
	assert_int_equal(virtq_pop(&f->vq, &f->c), 0);
	assert_int_equal(f->c.nr_write, VIRTQ_MAX_SEGS);
	assert_int_equal(f->c.write_len, VIRTQ_MAX_SEGS);

	expect_chain_error(f, d, VIRTQ_MAX_SEGS + 1, -E2BIG);
}

static void test_byte_count_overflow(void **state)
{
	struct fix *f = *state;
	const struct tdesc max[] = { { 0, 0x80000000U, 0 }, { 0, 0x7FFFFFFFU, 0 } };
	const struct tdesc r4g[] = { { 0, 0x80000000U, 0 }, { 0, 0x80000000U, 0 } };
	/* (Writable buffers must keep off the avail ring: these lie above 4 GiB.) */
	const struct tdesc w4g[] = { { 0, 1, 0 }, { MEM_4G, 0x80000000U, W },
				     { MEM_4G + GiB, 0x80000000U, W } };

	/* 4 GiB - 1 in each direction is the most a chain can carry. */
	add_desc_chain(f, DESC, 0, max, 2);
	publish(f, 0);
	assert_int_equal(virtq_pop(&f->vq, &f->c), 0);
	assert_int_equal(f->c.read_len, 0xFFFFFFFFU);

	expect_chain_error(f, r4g, 2, -EOVERFLOW);
	reconfigure(f, QSIZE, false);
	expect_chain_error(f, w4g, 3, -EOVERFLOW);
}

/* ---- indirect descriptors ---- */

static void test_indirect_ok(void **state)
{
	struct fix *f = *state;
	uint32_t v = 0x12345678, got = 0;

	/* A direct buffer, then an indirect table (its WRITE flag is ignored). */
	set_desc(f, 0, BUF, 16, N, 1);
	set_desc(f, 1, TABLE + 8, 3 * 16, I | W, 0);   /* any alignment */
	put_desc(f, TABLE + 8, 0, BUF + 0x100, 8, N, 2);
	put_desc(f, TABLE + 8, 2, BUF + 0x200, 32, W | N, 1);
	put_desc(f, TABLE + 8, 1, BUF + 0x300, 4, W, 0);
	publish(f, 0);
	assert_int_equal(virtq_pop(&f->vq, &f->c), 0);
	assert_int_equal(f->c.nr_read, 2);
	assert_int_equal(f->c.nr_write, 2);
	assert_int_equal(f->c.read_len, 24);
	assert_int_equal(f->c.write_len, 36);
	assert_int_equal(virtq_chain_write(&f->c, 32, &v, 4), 0);
	memcpy(&got, gp(f, BUF + 0x300, 4), 4);
	assert_int_equal(got, v);

	/* A table of exactly `size` entries. */
	set_desc(f, 2, TABLE2, 16 * QSIZE, I, 0);
	for (unsigned int i = 0; i < QSIZE; i++)
		put_desc(f, TABLE2, i, BUF + i, 1, i + 1 < QSIZE ? N : 0, i + 1);
	publish(f, 2);
	assert_int_equal(virtq_pop(&f->vq, &f->c), 0);
	assert_int_equal(f->c.head, 2);
	assert_int_equal(f->c.nr_read, QSIZE);
	assert_int_equal(f->c.read_len, QSIZE);

	assert_int_equal(virtq_push(&f->vq, 0, 4), 0);
	assert_int_equal(virtq_push(&f->vq, 2, 0), 0);
	check_used_elem(f, 0, 0, 4);
	check_used_elem(f, 1, 2, 0);
}

static void test_indirect_empty(void **state)
{
	const struct tdesc d[] = { { TABLE, 0, I } };

	expect_chain_error(*state, d, 1, -EINVAL);
}

static void test_indirect_len_not_multiple(void **state)
{
	const struct tdesc d[] = { { TABLE, 24, I } };

	expect_chain_error(*state, d, 1, -EINVAL);
}

static void test_indirect_too_long(void **state)
{
	const struct tdesc d[] = { { TABLE, 16 * (QSIZE + 1), I } };

	expect_chain_error(*state, d, 1, -EINVAL);
}

static void test_indirect_nested(void **state)
{
	struct fix *f = *state;
	const struct tdesc d[] = { { TABLE, 32, I } };

	put_desc(f, TABLE, 0, BUF, 8, N, 1);
	put_desc(f, TABLE, 1, TABLE2, 16, I, 0);
	put_desc(f, TABLE2, 0, BUF, 8, 0, 0);
	expect_chain_error(f, d, 1, -EINVAL);
}

static void test_indirect_with_next(void **state)
{
	struct fix *f = *state;

	set_desc(f, 0, TABLE, 16, I | N, 1);
	set_desc(f, 1, BUF, 8, W, 0);
	put_desc(f, TABLE, 0, BUF, 8, 0, 0);
	publish(f, 0);
	expect_pop_error(f, -EINVAL);
}

static void test_indirect_outside_ram(void **state)
{
	struct fix *f = *state;
	const struct tdesc hole[] = { { 0xD0000000ULL, 32, I } };
	const struct tdesc span[] = { { MEM_HOLE_START - 16, 32, I } };
	const struct tdesc wrap[] = { { 0xFFFFFFFFFFFFFFF0ULL, 32, I } };

	expect_chain_error(f, hole, 1, -EFAULT);
	reconfigure(f, QSIZE, false);
	expect_chain_error(f, span, 1, -EFAULT);
	reconfigure(f, QSIZE, false);
	expect_chain_error(f, wrap, 1, -EFAULT);
}

static void test_two_indirects(void **state)
{
	struct fix *f = *state;

	/* Two indirect descriptors in one chain: the first must carry F_NEXT. */
	set_desc(f, 0, TABLE, 16, I | N, 1);
	set_desc(f, 1, TABLE2, 16, I, 0);
	put_desc(f, TABLE, 0, BUF, 8, 0, 0);
	put_desc(f, TABLE2, 0, BUF, 8, W, 0);
	publish(f, 0);
	expect_pop_error(f, -EINVAL);
}

/* ---- copying in and out ---- */

static void test_chain_read_write_bounds(void **state)
{
	struct fix *f = *state;
	const struct tdesc d[] = { { BUF, 8, 0 }, { BUF + 8, 8, 0 } };
	uint8_t buf[32];

	add_desc_chain(f, DESC, 0, d, 2);
	publish(f, 0);
	assert_int_equal(virtq_pop(&f->vq, &f->c), 0);
	assert_int_equal(virtq_chain_read(&f->c, 0, buf, 16), 0);
	assert_int_equal(virtq_chain_read(&f->c, 16, buf, 0), 0);
	assert_int_equal(virtq_chain_read(&f->c, 0, buf, 17), -EINVAL);
	assert_int_equal(virtq_chain_read(&f->c, 9, buf, 8), -EINVAL);
	assert_int_equal(virtq_chain_read(&f->c, 17, buf, 0), -EINVAL);
	assert_int_equal(virtq_chain_read(&f->c, UINT64_MAX, buf, 1), -EINVAL);
	assert_int_equal(virtq_chain_read(&f->c, 1, buf, UINT64_MAX), -EINVAL);
	/* No writable part at all. */
	assert_int_equal(virtq_chain_write(&f->c, 0, buf, 1), -EINVAL);
	assert_int_equal(virtq_chain_write(&f->c, 0, buf, 0), 0);
}

/* ---- used ring and notifications ---- */

static void test_push_errors(void **state)
{
	struct fix *f = *state;

	/* Nothing in flight, or a head that cannot exist: device bugs. */
	assert_int_equal(virtq_push(&f->vq, 0, 0), -EINVAL);
	pop_n(f, 1);
	assert_int_equal(virtq_push(&f->vq, QSIZE, 0), -EINVAL);
	assert_int_equal(used_idx(f), 0);
	assert_false(f->vq.broken);
	assert_int_equal(virtq_push(&f->vq, 0, 64), 0);
	assert_int_equal(virtq_push(&f->vq, 0, 64), -EINVAL);
	assert_int_equal(used_idx(f), 1);
}

static void test_notify_no_event_idx(void **state)
{
	struct fix *f = *state;

	pop_n(f, 2);
	assert_int_equal(virtq_push(&f->vq, 0, 10), 0);
	assert_true(virtq_needs_notify(&f->vq));
	set_avail_flags(f, VIRTQ_AVAIL_F_NO_INTERRUPT);
	assert_int_equal(virtq_push(&f->vq, 1, 20), 0);
	assert_false(virtq_needs_notify(&f->vq));
	check_used_elem(f, 0, 0, 10);
	check_used_elem(f, 1, 1, 20);
	assert_int_equal(used_idx(f), 2);

	virtq_set_notify(&f->vq, false);
	assert_int_equal(le16toh(used_ring(f)->flags), VIRTQ_USED_F_NO_NOTIFY);
	virtq_set_notify(&f->vq, true);
	assert_int_equal(le16toh(used_ring(f)->flags), 0);
}

static void test_notify_event_idx(void **state)
{
	struct fix *f = *state;

	reconfigure(f, QSIZE, true);
	pop_n(f, 8);
	/* The first decision always notifies; none without new used entries. */
	assert_int_equal(virtq_push(&f->vq, 0, 0), 0);
	assert_true(virtq_needs_notify(&f->vq));
	assert_false(virtq_needs_notify(&f->vq));
	/* used_event = 1: interrupt once entry 1 is used (idx goes 1 -> 2). */
	set_used_event(f, 1);
	assert_int_equal(virtq_push(&f->vq, 1, 0), 0);
	assert_true(virtq_needs_notify(&f->vq));
	/* used_event = 5: not at idx 3, 4, 5; at 6 (a batch crossing it). */
	set_used_event(f, 5);
	assert_int_equal(virtq_push(&f->vq, 2, 0), 0);
	assert_false(virtq_needs_notify(&f->vq));
	assert_int_equal(virtq_push(&f->vq, 3, 0), 0);
	assert_int_equal(virtq_push(&f->vq, 4, 0), 0);
	assert_false(virtq_needs_notify(&f->vq));
	assert_int_equal(virtq_push(&f->vq, 5, 0), 0);
	assert_int_equal(virtq_push(&f->vq, 6, 0), 0);
	assert_true(virtq_needs_notify(&f->vq));
	/* NO_INTERRUPT means nothing with EVENT_IDX. */
	set_avail_flags(f, VIRTQ_AVAIL_F_NO_INTERRUPT);
	set_used_event(f, 7);
	assert_int_equal(virtq_push(&f->vq, 7, 0), 0);
	assert_true(virtq_needs_notify(&f->vq));

	/* avail_event follows next_avail when enabling; used->flags stays 0. */
	virtq_set_notify(&f->vq, false);
	assert_int_equal(le16toh(used_ring(f)->flags), 0);
	virtq_set_notify(&f->vq, true);
	assert_int_equal(avail_event(f), 8);
	assert_int_equal(le16toh(used_ring(f)->flags), 0);
}

static void test_index_wrap(void **state)
{
	struct fix *f = *state;
	struct virtq_state s;

	for (int ev = 0; ev <= 1; ev++) {
		reconfigure(f, QSIZE, ev);
		virtq_save(&f->vq, &s);
		s.next_avail = s.next_used = s.signalled_used = 65534;
		s.signalled_used_valid = 1;
		assert_int_equal(virtq_restore(&f->vq, &s), 0);
		set_avail_idx(f, 65534);
		/* Four chains: avail->idx wraps 65534 -> 2, ring slots 254, 255, 0, 1. */
		pop_n(f, 4);
		assert_int_equal(f->vq.s.next_avail, 2);
		assert_int_equal(le16toh(avail_ring(f)[2 + 255]), 1);
		assert_int_equal(le16toh(avail_ring(f)[2 + 0]), 2);
		for (unsigned int i = 0; i < 4; i++)
			assert_int_equal(virtq_push(&f->vq, i, 100 + i), 0);
		assert_int_equal(used_idx(f), 2);
		check_used_elem(f, 254, 0, 100);
		check_used_elem(f, 255, 1, 101);
		check_used_elem(f, 0, 2, 102);
		check_used_elem(f, 1, 3, 103);
		/* used_event 65535 lies in (65534, 2]: notify; 10 does not. */
		set_used_event(f, 65535);
		assert_true(virtq_needs_notify(&f->vq));
		if (ev) {
			pop_n(f, 1);
			assert_int_equal(virtq_push(&f->vq, 0, 0), 0);
			set_used_event(f, 10);
			assert_false(virtq_needs_notify(&f->vq));
			virtq_set_notify(&f->vq, true);
			assert_int_equal(avail_event(f), 3);
		}
	}
}

static void test_event_idx_long_gap(void **state)
{
	struct fix *f = *state;

	/* 32768 used entries without a decision: notify, whatever used_event says. */
	reconfigure(f, QSIZE, true);
	assert_true(virtq_needs_notify(&f->vq));        /* the first decision, at 0 */
	for (unsigned int i = 0; i < 32768; i++) {
		pop_n(f, 1);
		assert_int_equal(virtq_push(&f->vq, 0, 0), 0);
	}
	set_used_event(f, 32768);
	assert_true(virtq_needs_notify(&f->vq));
}

/* ---- life cycle and state ---- */

static void test_reset(void **state)
{
	struct fix *f = *state;

	pop_n(f, 3);
	assert_int_equal(virtq_push(&f->vq, 0, 1), 0);
	publish(f, QSIZE);
	expect_pop_error(f, -EINVAL);

	virtq_reset(&f->vq);
	assert_false(f->vq.broken);
	assert_int_equal(f->vq.s.ready, 0);
	assert_int_equal(f->vq.s.size, QSIZE);
	assert_int_equal(f->vq.s.desc_addr | f->vq.s.avail_addr | f->vq.s.used_addr, 0);
	assert_int_equal(f->vq.s.next_avail | f->vq.s.next_used, 0);
	assert_int_equal(virtq_pop(&f->vq, &f->c), -EAGAIN);

	/* A fresh start from index 0. */
	reconfigure(f, QSIZE, false);
	pop_n(f, 1);
	assert_int_equal(virtq_push(&f->vq, 0, 7), 0);
	check_used_elem(f, 0, 0, 7);
	assert_int_equal(used_idx(f), 1);
}

static void test_save_restore_roundtrip(void **state)
{
	struct fix *f = *state;
	struct virtq_state a, b;
	struct virtq vq2;

	reconfigure(f, QSIZE, true);
	pop_n(f, 3);
	assert_int_equal(virtq_push(&f->vq, 0, 1), 0);
	assert_int_equal(virtq_push(&f->vq, 1, 2), 0);
	assert_int_equal(virtq_push(&f->vq, 2, 3), 0);
	assert_true(virtq_needs_notify(&f->vq));
	set_desc(f, 9, BUF, 8, 0, 0);
	publish(f, 9);

	memset(&a, 0x5A, sizeof(a));
	memset(&b, 0xA5, sizeof(b));
	virtq_save(&f->vq, &a);
	assert_int_equal(virtq_init(&vq2, &f->gm, QSIZE, "restored"), 0);
	assert_int_equal(virtq_restore(&vq2, &a), 0);
	virtq_save(&vq2, &b);
	assert_memory_equal(&a, &b, sizeof(a));
	assert_int_equal(a.next_avail, 3);
	assert_int_equal(a.next_used, 3);
	assert_int_equal(a.event_idx, 1);

	/* The restored queue carries on where the first one stopped. */
	assert_int_equal(virtq_pop(&vq2, &f->c), 0);
	assert_int_equal(f->c.head, 9);
	assert_int_equal(virtq_push(&vq2, 9, 8), 0);
	check_used_elem(f, 3, 9, 8);
	assert_int_equal(used_idx(f), 4);

	/* A queue that is not ready keeps the driver's raw register values. */
	virtq_reset(&f->vq);
	f->vq.s.size = 3;
	f->vq.s.desc_addr = 0xD0000001ULL;
	virtq_save(&f->vq, &a);
	assert_int_equal(virtq_restore(&vq2, &a), 0);
	virtq_save(&vq2, &b);
	assert_memory_equal(&a, &b, sizeof(a));
	assert_int_equal(virtq_enable(&vq2, false), -EINVAL);
}

static void test_restore_rejects_bad_state(void **state)
{
	struct fix *f = *state;
	struct virtq_state good, bad, before, after;

	pop_n(f, 2);
	virtq_save(&f->vq, &good);
	virtq_save(&f->vq, &before);
#define REJECT(field, value) do {					\
		bad = good;						\
		bad.field = (value);					\
		assert_int_equal(virtq_restore(&f->vq, &bad), -EINVAL);	\
		virtq_save(&f->vq, &after);				\
		assert_memory_equal(&before, &after, sizeof(after));	\
	} while (0)
	REJECT(ready, 2);
	REJECT(event_idx, 0xFF);
	REJECT(signalled_used_valid, 2);
	REJECT(reserved[4], 1);
	REJECT(size, 3);
	REJECT(size, 0);
	REJECT(size, 2 * QSIZE);
	REJECT(desc_addr, DESC + 8);
	REJECT(avail_addr, 0xD0000000ULL);
	REJECT(used_addr, RAM_END - 8);
	REJECT(next_avail, good.next_used + QSIZE + 1);
	REJECT(next_used, good.next_avail + 1);
#undef REJECT
	/* Still usable. */
	assert_int_equal(virtq_push(&f->vq, 1, 0), 0);
	assert_false(f->vq.broken);
}

static void test_notify_storm(void **state)
{
	struct fix *f = *state;
	struct timespec t0, t1;
	double s;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (unsigned int i = 0; i < 1000000; i++)
		assert_int_equal(virtq_pop(&f->vq, &f->c), -EAGAIN);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	s = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	assert_true(s < 2.0);
	assert_false(f->vq.broken);
	assert_false(f->vq.warned);
	/* And the queue still works. */
	pop_n(f, 1);
}

static void test_warns_once(void **state)
{
	struct fix *f = *state;
	FILE *tmp = tmpfile();
	char out[4096] = "";
	int saved, fd, lines = 0;
	ssize_t n;

	assert_non_null(tmp);
	fd = fileno(tmp);
	saved = dup(STDERR_FILENO);
	assert_true(dup2(fd, STDERR_FILENO) >= 0);
	log_set_level(LOG_WARN);

	publish(f, QSIZE);
	assert_int_equal(virtq_pop(&f->vq, &f->c), -EINVAL);
	assert_int_equal(virtq_pop(&f->vq, &f->c), -EIO);
	/* Even across a device reset: a guest looping on errors gets one line. */
	reconfigure(f, QSIZE, false);
	publish(f, QSIZE);
	assert_int_equal(virtq_pop(&f->vq, &f->c), -EINVAL);
	virtq_reset(&f->vq);
	assert_int_equal(virtq_configure(&f->vq, 3, DESC, AVAIL, USED, false), -EINVAL);

	log_set_level(LOG_ERR);
	assert_true(dup2(saved, STDERR_FILENO) >= 0);
	close(saved);
	n = pread(fd, out, sizeof(out) - 1, 0);
	assert_true(n > 0);
	out[n] = 0;
	fclose(tmp);
	for (char *p = out; (p = strchr(p, '\n')); p++)
		lines++;
	assert_int_equal(lines, 1);
	assert_non_null(strstr(out, "warning: test-vq: head 256 >= queue size 256"));
}

int main(void)
{
#define T(t) cmocka_unit_test_setup_teardown(t, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_size_zero),
		T(test_size_not_power_of_two),
		T(test_size_above_max),
		T(test_misaligned_rings),
		T(test_rings_outside_ram),
		T(test_used_ring_overlaps),
		T(test_enable_twice),
		T(test_not_ready),
		T(test_pop_simple),
		T(test_chain_of_queue_size),
		T(test_chain_too_long),
		T(test_chain_loop),
		T(test_next_out_of_range),
		T(test_head_out_of_range),
		T(test_avail_idx_too_far_ahead),
		T(test_in_flight_limit),
		T(test_desc_addr_wraps),
		T(test_desc_past_ram_end),
		T(test_desc_in_mmio_hole),
		T(test_desc_spans_hole),
		T(test_desc_spans_adjacent_regions),
		T(test_zero_length_descs),
		T(test_readable_after_writable),
		T(test_writable_over_avail_ring),
		T(test_too_many_segments),
		T(test_byte_count_overflow),
		T(test_indirect_ok),
		T(test_indirect_empty),
		T(test_indirect_len_not_multiple),
		T(test_indirect_too_long),
		T(test_indirect_nested),
		T(test_indirect_with_next),
		T(test_indirect_outside_ram),
		T(test_two_indirects),
		T(test_chain_read_write_bounds),
		T(test_push_errors),
		T(test_notify_no_event_idx),
		T(test_notify_event_idx),
		T(test_index_wrap),
		T(test_event_idx_long_gap),
		T(test_reset),
		T(test_save_restore_roundtrip),
		T(test_restore_rejects_bad_state),
		T(test_notify_storm),
		T(test_warns_once),
	};

	/* Guest errors are expected here; test_warns_once checks the message. */
	log_set_level(LOG_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
