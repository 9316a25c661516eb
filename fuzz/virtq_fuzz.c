// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target for split virtqueues (src/virtio/virtq.c).
 *
 * The input is the guest: its memory layout (two RAM regions, possibly with a
 * hole between them), the queue layout the driver programs, a script of
 * device operations, and the guest memory image (rings, descriptors,
 * indirect tables).  Each region is its own heap allocation, so ASan reports
 * any access outside guest RAM; after every successful pop the harness also
 * checks that each iovec lies inside one region and the byte counts add up.
 *
 * Input layout (fuzz/make_seeds.py writes well-formed examples):
 *   5 bytes     region 0 pages - 1 (% 16), hole pages (% 4, 0 = adjacent
 *               regions), region 1 pages - 1 (% 16), log2 max_size (% 16),
 *               n = number of operations (% 64)
 *   the queue   size (get_size), desc, avail, used (get_gpa), event_idx (bit 0)
 *   8n bytes    n operations: opcode (run_op), then 7 bytes of arguments
 *   the rest    guest memory image: region 0 from its start, then region 1
 */
#include <endian.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_input.h"
#include "log.h"
#include "memory.h"
#include "util.h"
#include "virtio/virtq.h"

#define PAGE         4096u
#define MAX_INFLIGHT 64

struct guest {
	struct guest_mem gm;
	uint64_t span;          /* end of the highest region */
	struct virtq vq;
	struct virtq_chain c;
	uint16_t inflight[MAX_INFLIGHT];
	unsigned int nr_inflight;
	uint8_t scratch[PAGE];
};

/* Does [p, p + len) lie inside one region's host memory? */
static int in_one_region(const struct guest *g, const void *p, size_t len)
{
	const uint8_t *b = p;

	for (unsigned int i = 0; i < g->gm.nr; i++) {
		const struct mem_region *r = &g->gm.regions[i];

		if (b >= r->hva && b < r->hva + r->size && len <= (size_t)(r->hva + r->size - b))
			return 1;
	}
	return 0;
}

static void check_chain(const struct guest *g, const struct virtq *vq,
			const struct virtq_chain *c)
{
	uint64_t rlen = 0, wlen = 0;

	CHECK(c->head < vq->s.size);
	CHECK(c->nr_read + c->nr_write <= VIRTQ_MAX_SEGS);
	for (unsigned int i = 0; i < c->nr_read + c->nr_write; i++) {
		CHECK(c->iov[i].iov_len > 0);
		CHECK(in_one_region(g, c->iov[i].iov_base, c->iov[i].iov_len));
		if (i < c->nr_read)
			rlen += c->iov[i].iov_len;
		else
			wlen += c->iov[i].iov_len;
	}
	CHECK(rlen == c->read_len && wlen == c->write_len);
}

/*
 * A guest address: mostly 16-byte aligned inside the layout (so that queues
 * get configured and rings read), sometimes any address near it or anything.
 */
static uint64_t get_gpa(struct guest *g, struct input *in)
{
	uint8_t kind = get8(in);

	if (kind % 8 == 0)
		return get(in, 8);
	if (kind % 8 == 1)
		return get(in, 4) % (g->span + 2 * PAGE);
	return get(in, 2) * 16 % g->span;
}

static uint16_t get_size(struct input *in)
{
	uint8_t kind = get8(in);

	if (kind & 0x80)
		return get(in, 2);
	return 1u << (kind % 16);
}

static void configure(struct guest *g, struct input *in)
{
	uint16_t size = get_size(in);
	uint64_t desc = get_gpa(g, in), avail = get_gpa(g, in), used = get_gpa(g, in);
	int event_idx = get8(in) & 1;

	virtq_reset(&g->vq);
	g->nr_inflight = 0;
	virtq_configure(&g->vq, size, desc, avail, used, event_idx);
}

static void do_pop(struct guest *g, const uint8_t *a, int keep)
{
	int ret = virtq_pop(&g->vq, &g->c);
	uint32_t off = a[0] | a[1] << 8, len = (a[2] | a[3] << 8) % (PAGE + 1);

	if (ret) {
		CHECK(ret < 0);
		if (ret != -EAGAIN && ret != -EIO)
			CHECK(g->vq.broken);
		return;
	}
	check_chain(g, &g->vq, &g->c);
	if (virtq_chain_read(&g->c, off, g->scratch, len) == 0)
		CHECK((uint64_t)off + len <= g->c.read_len);
	else
		CHECK((uint64_t)off + len > g->c.read_len);
	if (virtq_chain_write(&g->c, off, g->scratch, len) == 0)
		CHECK((uint64_t)off + len <= g->c.write_len);
	else
		CHECK((uint64_t)off + len > g->c.write_len);
	/* Whole-part copies reach every byte of every buffer. */
	if (g->c.read_len <= PAGE)
		CHECK(virtq_chain_read(&g->c, 0, g->scratch, g->c.read_len) == 0);
	if (g->c.write_len <= PAGE)
		CHECK(virtq_chain_write(&g->c, 0, g->scratch, g->c.write_len) == 0);
	if (keep && g->nr_inflight < MAX_INFLIGHT)
		g->inflight[g->nr_inflight++] = g->c.head;
	else
		CHECK(virtq_push(&g->vq, g->c.head, MIN(len, g->c.write_len)) == 0);
}

static void do_save_restore(struct guest *g, const uint8_t *a)
{
	struct virtq_state s1, s2, bad;
	struct virtq vq2;

	virtq_save(&g->vq, &s1);
	CHECK(virtq_init(&vq2, &g->gm, g->vq.max_size, "fuzz-restored") == 0);
	/* A saved state always restores, to the same bytes. */
	CHECK(virtq_restore(&vq2, &s1) == 0);
	virtq_save(&vq2, &s2);
	CHECK(memcmp(&s1, &s2, sizeof(s1)) == 0);
	/* A corrupted state is rejected or accepted, never trusted blindly. */
	bad = s1;
	((uint8_t *)&bad)[a[0] % sizeof(bad)] ^= a[1];
	if (virtq_restore(&vq2, &bad) == 0 && vq2.s.ready) {
		CHECK(vq2.desc && vq2.avail && vq2.used);
		CHECK(in_one_region(g, vq2.desc, VIRTQ_DESC_BYTES(vq2.s.size)));
		CHECK(in_one_region(g, vq2.avail, VIRTQ_AVAIL_BYTES(vq2.s.size)));
		CHECK(in_one_region(g, vq2.used, VIRTQ_USED_BYTES(vq2.s.size)));
		if (virtq_pop(&vq2, &g->c) == 0)
			check_chain(g, &vq2, &g->c);
	}
}

static void run_op(struct guest *g, const uint8_t *op)
{
	const uint8_t *a = op + 1;
	struct input in = { a, 7 };

	switch (op[0] % 12) {
	case 0:
	case 1:
		do_pop(g, a, 0);
		break;
	case 2:
		do_pop(g, a, 1);
		break;
	case 3:         /* complete one kept chain, or push anything */
		if (g->nr_inflight && !(a[0] & 0x80)) {
			unsigned int i = a[0] % g->nr_inflight;

			virtq_push(&g->vq, g->inflight[i], a[1]);
			g->inflight[i] = g->inflight[--g->nr_inflight];
		} else {
			virtq_push(&g->vq, a[1] | a[2] << 8, a[3]);
		}
		break;
	case 4: {       /* the guest advances avail->idx */
		if (g->vq.s.ready) {
			uint16_t idx = le16toh(g->vq.avail->idx);

			g->vq.avail->idx = htole16(idx + 1 + a[0] % 4);
		}
		break;
	}
	case 5: {       /* the guest writes 2 bytes anywhere in its RAM */
		uint64_t gpa = get(&in, 4) % g->span;
		void *p = mem_ptr(&g->gm, gpa, 2);

		if (p)
			memcpy(p, a + 4, 2);
		break;
	}
	case 6:
		virtq_needs_notify(&g->vq);
		break;
	case 7:
		virtq_set_notify(&g->vq, a[0] & 1);
		virtq_has_avail(&g->vq);
		break;
	case 8:
		do_save_restore(g, a);
		break;
	case 9: {       /* the driver sets the queue up again */
		uint16_t size = 1u << (a[0] % 16);

		virtq_reset(&g->vq);
		g->nr_inflight = 0;
		virtq_configure(&g->vq, size, (a[1] | a[2] << 8) * 16 % g->span,
				(a[3] | a[4] << 8) * 2 % g->span,
				(a[5] | a[6] << 8) * 4 % g->span, a[0] >> 7);
		break;
	}
	case 10:
		virtq_reset(&g->vq);
		g->nr_inflight = 0;
		break;
	case 11:        /* a notify storm */
		for (unsigned int i = 0; i < 64; i++)
			if (virtq_pop(&g->vq, &g->c) == 0)
				CHECK(virtq_push(&g->vq, g->c.head, 0) == 0);
		break;
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_set_level(LOG_ERR);         /* guest errors are the point here */
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	struct guest *g = calloc(1, sizeof(*g));
	uint64_t r0, hole, r1, img;
	const uint8_t *ops;
	size_t ops_len;
	unsigned int nops;
	uint16_t max_size;

	if (!g)
		return 0;
	/* Header: the memory layout and the device's queue limit. */
	r0 = PAGE * (1 + get8(&in) % 16);
	hole = PAGE * (get8(&in) % 4);          /* 0: two adjacent regions */
	r1 = PAGE * (1 + get8(&in) % 16);
	max_size = 1u << (get8(&in) % 16);
	nops = get8(&in) % 64;
	g->gm.nr = 2;
	g->gm.regions[0] = (struct mem_region){ 0, r0, aligned_alloc(PAGE, r0) };
	g->gm.regions[1] = (struct mem_region){ r0 + hole, r1, aligned_alloc(PAGE, r1) };
	g->gm.total = r0 + r1;
	g->span = r0 + hole + r1;
	if (!g->gm.regions[0].hva || !g->gm.regions[1].hva)
		goto out;
	memset(g->gm.regions[0].hva, 0, r0);
	memset(g->gm.regions[1].hva, 0, r1);
	CHECK(virtq_init(&g->vq, &g->gm, max_size, "fuzz") == 0);
	configure(g, &in);

	/* The script, then the memory image. */
	ops = in.p;
	ops_len = MIN(in.n, (size_t)nops * 8);

	in.p += ops_len;
	in.n -= ops_len;
	img = MIN(in.n, r0);
	memcpy(g->gm.regions[0].hva, in.p, img);
	memcpy(g->gm.regions[1].hva, in.p + img, MIN(in.n - img, r1));

	for (size_t i = 0; i + 8 <= ops_len; i += 8)
		run_op(g, ops + i);
	/* Always end with a drain, as a device would after a kick. */
	for (unsigned int i = 0; i < 4; i++)
		run_op(g, (const uint8_t[8]){ 0 });
out:
	free(g->gm.regions[0].hva);
	free(g->gm.regions[1].hva);
	free(g);
	return 0;
}
