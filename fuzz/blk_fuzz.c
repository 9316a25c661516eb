// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target for virtio-blk (src/virtio/blk.c, src/block/raw.c) on top
 * of the split virtqueues.
 *
 * The input is the guest: its memory layout (two RAM regions, maybe a hole
 * between them), which device it drives (cache=writeback or cache=none, the
 * latter with bounce buffers for misaligned buffers), the queue layout, a
 * script of driver and device operations, and the guest memory image (rings,
 * descriptors, request headers, discard segments, data).  Requests really go
 * to a small temporary image through io_uring; completions are drained
 * synchronously (virtio_blk_drain), so a run is deterministic.  Each RAM
 * region is its own heap allocation, so AddressSanitizer reports any access
 * outside guest RAM, by the device or by the kernel on its behalf.
 *
 * Two devices live for the whole run (creating an io_uring per input would
 * be slow); between inputs they are reset, which waits for everything in
 * flight, before the guest memory is freed.
 *
 * Input layout:
 *   5 bytes     region 0 pages - 1 (% 16), hole pages (% 4), region 1 pages - 1
 *               (% 16), flags (bit 0: cache=none device, bit 1: EVENT_IDX,
 *               bit 2: driver refuses DISCARD/WRITE_ZEROES), n = operations (% 64)
 *   the queue   size (get_size), desc, avail, used (get_gpa)
 *   8n bytes    n operations: opcode (run_op), then 7 bytes of arguments
 *   the rest    guest memory image: region 0 from its start, then region 1
 */
#include <endian.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_input.h"
#include "fuzz_virtio.h"
#include "evloop.h"
#include "log.h"
#include "memory.h"
#include "util.h"
#include "virtio/blk.h"
#include "virtio/virtio.h"

#define PAGE       4096u
#define IMG_SIZE   (64 * 1024)

/* What lives for the whole run: libFuzzer gives the harness no other place. */
static struct harness {
	struct guest_mem gm;            /* regions replaced per input, while queues are reset */
	struct evloop ev;               /* completion eventfds registered, never run */
	struct virtio_dev *dev[2];      /* cache=writeback, cache=none */
	char path[2][64];
	uint64_t span;
} h;

static void make_device(unsigned int i, const char *extra)
{
	struct virtio_env env = { .mem = &h.gm, .io = &h.ev, .nr_vcpus = 2 };
	struct blk_opts o;
	char arg[128], err[256];
	int fd;

	snprintf(h.path[i], sizeof(h.path[i]), "/tmp/kite-blk-fuzz-XXXXXX");
	fd = mkstemp(h.path[i]);
	CHECK(fd >= 0);
	CHECK(ftruncate(fd, IMG_SIZE) == 0);
	close(fd);
	snprintf(arg, sizeof(arg), "%s,serial=fuzz%u%s", h.path[i], i, extra);
	CHECK(blk_parse_opts(arg, &o, err, sizeof(err)) == 0);
	CHECK(virtio_blk_create(&h.dev[i], &o, &env, i) == 0);
	/* The image is open and locked: the name can go (nothing left behind). */
	unlink(h.path[i]);
	h.dev[i]->t_ops = &fuzz_transport;
	h.dev[i]->t_ctx = &h;
}

static uint64_t get_gpa(struct input *in)
{
	uint8_t kind = get8(in);

	if (kind % 8 == 0)
		return get(in, 8);
	if (kind % 8 == 1)
		return get(in, 4) % (h.span + 2 * PAGE);
	return get(in, 2) * 16 % h.span;
}

static uint16_t get_size(struct input *in)
{
	uint8_t kind = get8(in);

	if (kind & 0x80)
		return get(in, 2);
	return 1u << (kind % 10);
}

/* The driver's part of initialisation, after a reset. */
static void driver_ok(struct virtio_dev *vd, uint16_t size, gpa_t desc, gpa_t avail, gpa_t used,
		      bool event_idx, bool no_dwz)
{
	vd->features = vd->host_features;
	if (!event_idx)
		vd->features &= ~VIRTIO_BIT(VIRTIO_F_EVENT_IDX);
	if (no_dwz)
		vd->features &= ~(VIRTIO_BIT(VIRTIO_BLK_F_DISCARD) |
				  VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES));
	virtq_configure(&vd->vqs[0], size, desc, avail, used, event_idx);
	vd->status = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
		     VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK;
}

static void kick(struct virtio_dev *vd, unsigned int q, bool drain)
{
	virtio_dev_lock(vd);
	/* The transport only notifies a running device. */
	if (vd->status & VIRTIO_STATUS_DRIVER_OK)
		vd->ops->queue_notify(vd, q);
	if (drain)
		virtio_blk_drain(vd);
	virtio_dev_unlock(vd);
}

static void save_restore(struct virtio_dev *vd, const uint8_t *a)
{
	struct virtio_blk_state s1, s2, bad;

	CHECK(vd->ops->state_size == sizeof(s1));
	virtio_dev_lock(vd);
	virtio_blk_drain(vd);
	vd->ops->save(vd, &s1);
	CHECK(vd->ops->restore(vd, &s1) == 0);
	vd->ops->save(vd, &s2);
	CHECK(memcmp(&s1, &s2, sizeof(s1)) == 0);
	/* Corrupted reserved bytes are refused (other fields log a mismatch). */
	bad = s1;
	bad.reserved[a[0] % sizeof(bad.reserved)] ^= a[1];
	CHECK((vd->ops->restore(vd, &bad) == 0) == (a[1] == 0));
	virtio_dev_unlock(vd);
}

static void run_op(struct virtio_dev *vd, const uint8_t *op, bool no_dwz)
{
	const uint8_t *a = op + 1;
	struct input in = { a, 7 };

	switch (op[0] % 10) {
	case 0:
	case 1:
	case 2:
		kick(vd, a[0] % 3, true);       /* queue 1 is never ready, 2 does not exist */
		break;
	case 3:                                 /* leave requests in flight */
		kick(vd, 0, false);
		break;
	case 4: {                               /* the guest advances avail->idx */
		struct virtq *vq = &vd->vqs[0];

		if (vq->s.ready)
			vq->avail->idx = htole16(le16toh(vq->avail->idx) + 1 + a[0] % 4);
		break;
	}
	case 5: {                               /* the guest writes 4 bytes anywhere in its RAM */
		uint64_t gpa = get(&in, 3) % h.span;
		void *p = mem_ptr(&h.gm, gpa, 4);

		if (p)
			memcpy(p, a + 3, 4);
		break;
	}
	case 6: {                               /* config space, as the transport allows */
		uint32_t len = 1u << (a[0] % 4), off = a[1] % vd->config_size;
		uint8_t buf[8];

		if (off + len <= vd->config_size)
			vd->ops->config_read(vd, off, buf, len);
		break;
	}
	case 7:
		save_restore(vd, a);
		break;
	case 8: {                               /* the driver resets and sets the queue up again */
		uint16_t size = 1u << (a[0] % 10);

		virtio_dev_lock(vd);
		virtio_dev_reset(vd);
		driver_ok(vd, size, (a[1] | a[2] << 8) * 16 % h.span,
			  (a[3] | a[4] << 8) * 2 % h.span, (a[5] | a[6] << 8) * 4 % h.span,
			  a[0] >> 7, no_dwz);
		virtio_dev_unlock(vd);
		break;
	}
	case 9:                                 /* a reset with requests in flight */
		kick(vd, 0, false);
		virtio_dev_lock(vd);
		virtio_dev_reset(vd);
		virtio_dev_unlock(vd);
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
	CHECK(evloop_init(&h.ev) == 0);
	make_device(0, "");
	make_device(1, ",cache=none");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	struct virtio_dev *vd;
	uint64_t r0, hole, r1, img;
	uint16_t qsize;
	gpa_t desc, avail, used;
	const uint8_t *ops;
	size_t ops_len;
	unsigned int nops;
	uint8_t flags;

	r0 = PAGE * (1 + get8(&in) % 16);
	hole = PAGE * (get8(&in) % 4);
	r1 = PAGE * (1 + get8(&in) % 16);
	flags = get8(&in);
	nops = get8(&in) % 64;
	vd = h.dev[flags & 1];
	h.gm.nr = 2;
	h.gm.regions[0] = (struct mem_region){ 0, r0, aligned_alloc(PAGE, r0) };
	h.gm.regions[1] = (struct mem_region){ r0 + hole, r1, aligned_alloc(PAGE, r1) };
	h.gm.total = r0 + r1;
	h.span = r0 + hole + r1;
	if (!h.gm.regions[0].hva || !h.gm.regions[1].hva)
		goto out;
	memset(h.gm.regions[0].hva, 0, r0);
	memset(h.gm.regions[1].hva, 0, r1);

	qsize = get_size(&in);
	desc = get_gpa(&in);
	avail = get_gpa(&in);
	used = get_gpa(&in);
	ops = in.p;
	ops_len = MIN(in.n, (size_t)nops * 8);
	in.p += ops_len;
	in.n -= ops_len;
	img = MIN(in.n, r0);
	memcpy(h.gm.regions[0].hva, in.p, img);
	memcpy(h.gm.regions[1].hva, in.p + img, MIN(in.n - img, r1));

	virtio_dev_lock(vd);
	driver_ok(vd, qsize, desc, avail, used, flags & 2, flags & 4);
	virtio_dev_unlock(vd);
	/* A kick first, as the driver would after filling the queue. */
	kick(vd, 0, true);
	for (size_t i = 0; i + 8 <= ops_len; i += 8)
		run_op(vd, ops + i, flags & 4);
	kick(vd, 0, true);
	/* Nothing in flight and no host pointer into this guest's memory. */
	virtio_dev_lock(vd);
	virtio_dev_reset(vd);
	virtio_dev_unlock(vd);
	for (unsigned int q = 0; q < vd->nr_queues; q++)
		CHECK(!vd->vqs[q].s.ready);
out:
	free(h.gm.regions[0].hva);
	free(h.gm.regions[1].hva);
	memset(&h.gm.regions, 0, sizeof(h.gm.regions));
	return 0;
}
