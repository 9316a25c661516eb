// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target for virtio-balloon (src/virtio/balloon.c) on top of the
 * split virtqueues.
 *
 * The input is the guest: its memory layout (two RAM regions, maybe a hole
 * between them), the backend the device believes it has (anonymous, or
 * shared -- MADV_REMOVE, refused on this private mapping, so the fallback
 * runs -- and a 2 MiB page size as with hugetlb), the features the driver
 * takes (so the queue numbering changes), the queue layout, a script of
 * driver and host operations (kicks, avail->idx bumps, guest writes, config
 * reads and writes, target changes, stats refreshes, quiesce, save/restore,
 * driver resets), and the guest memory image (rings, PFN arrays, stats
 * buffers).
 *
 * Each RAM region is its own mapping between PROT_NONE guard pages, so an
 * access outside guest RAM faults; and madvise() is interposed here: every
 * range the device gives back must be page-aligned and lie inside one RAM
 * region (releasing host memory that is not guest RAM would be a bug no
 * sanitizer sees).  Also checked: save -> restore -> save gives the same
 * bytes, and corrupted states are refused.
 *
 * Input layout:
 *   5 bytes     region 0 pages - 1 (% 16), hole pages (% 4), region 1 pages - 1
 *               (% 16), flags (bit 0: shared backend, bit 1: 2 MiB pages,
 *               bits 2-4: driver takes STATS_VQ / PAGE_REPORTING / EVENT_IDX),
 *               n = operations (% 64)
 *   3 bytes     queue layout: log2 size (% 8), base (2 bytes, * 16)
 *   8n bytes    n operations: opcode (run_op), then 7 bytes of arguments
 *   the rest    guest memory image: region 0 from its start, then region 1
 */
#include <endian.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fuzz_input.h"
#include "fuzz_virtio.h"
#include "log.h"
#include "mem_host.h"
#include "memory.h"
#include "util.h"
#include "virtio/balloon.h"
#include "virtio/virtio.h"

#define PAGE    4096u

static uint64_t get_le(const uint8_t *a, unsigned int bytes)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < bytes; i++)
		v |= (uint64_t)a[i] << (8 * i);
	return v;
}

/* What lives for the whole run (libFuzzer gives the harness no other place). */
static struct harness {
	struct guest_mem gm;
	uint8_t *map[2];                /* each region's mapping, guard pages included */
	uint64_t map_len[2];
	uint64_t span;
	unsigned int qlog;
	uint64_t qbase;
	uint64_t driver_features;
} h;

/* The device may only give back whole pages of guest RAM. */
int madvise(void *addr, size_t len, int advice)
{
	uintptr_t a = (uintptr_t)addr;
	bool inside = false;

	if (advice != MADV_DONTNEED && advice != MADV_REMOVE)
		return syscall(SYS_madvise, addr, len, advice);
	CHECK(a % PAGE == 0 && len % PAGE == 0 && len);
	for (unsigned int i = 0; i < h.gm.nr; i++) {
		uintptr_t s = (uintptr_t)h.gm.regions[i].hva;

		if (a >= s && a - s <= h.gm.regions[i].size && len <= h.gm.regions[i].size - (a - s))
			inside = true;
	}
	CHECK(inside);
	return syscall(SYS_madvise, addr, len, advice);
}

static uint8_t *map_region(unsigned int i, uint64_t size)
{
	uint8_t *m = mmap(NULL, size + 2 * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	CHECK(m != MAP_FAILED);
	CHECK(mprotect(m + PAGE, size, PROT_READ | PROT_WRITE) == 0);
	h.map[i] = m;
	h.map_len[i] = size + 2 * PAGE;
	return m + PAGE;
}

/* The driver's part of initialisation: features, every queue of them, DRIVER_OK. */
static void driver_ok(struct virtio_dev *vd)
{
	bool event_idx = h.driver_features & VIRTIO_BIT(VIRTIO_F_EVENT_IDX);
	uint16_t size = 1u << h.qlog;
	uint64_t stride = ALIGN_UP(VIRTQ_DESC_BYTES(size) + VIRTQ_AVAIL_BYTES(size) + 64, 16) +
			  ALIGN_UP(VIRTQ_USED_BYTES(size), 16);
	unsigned int nq = 2;

	vd->features = h.driver_features & vd->host_features;
	nq += !!(vd->features & VIRTIO_BIT(VIRTIO_BALLOON_F_STATS_VQ));
	nq += !!(vd->features & VIRTIO_BIT(VIRTIO_BALLOON_F_PAGE_REPORTING));
	for (unsigned int q = 0; q < nq; q++) {
		uint64_t base = (h.qbase + q * stride) % (h.span ? h.span : 1);
		uint64_t avail = base + VIRTQ_DESC_BYTES(size);
		uint64_t used = ALIGN_UP(avail + VIRTQ_AVAIL_BYTES(size) + 2, 4);

		virtq_configure(&vd->vqs[q], size, base & ~15ULL, avail, used, event_idx);
	}
	vd->status = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
		     VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK;
	if (vd->ops->activate(vd))
		vd->status |= VIRTIO_STATUS_DEVICE_NEEDS_RESET;
}

static void kick(struct virtio_dev *vd, unsigned int q)
{
	virtio_dev_lock(vd);
	/* The transport only notifies a running device's ready queues. */
	if (virtio_dev_running(vd) && vd->vqs[q].s.ready)
		vd->ops->queue_notify(vd, q);
	virtio_dev_unlock(vd);
}

static void save_restore(struct virtio_dev *vd, const uint8_t *a)
{
	struct virtio_balloon_state s1, s2, bad;

	CHECK(vd->ops->state_size == sizeof(s1));
	virtio_dev_lock(vd);
	vd->ops->quiesce(vd);
	vd->ops->save(vd, &s1);
	CHECK(s1.reserved == 0);
	CHECK(vd->ops->restore(vd, &s1) == 0);
	vd->ops->save(vd, &s2);
	CHECK(memcmp(&s1, &s2, sizeof(s1)) == 0);
	bad = s1;
	((uint8_t *)&bad)[a[0] % sizeof(bad)] ^= a[1];
	if (vd->ops->restore(vd, &bad) == 0) {
		/* Accepted: must be a consistent state, read back as given. */
		vd->ops->save(vd, &s2);
		CHECK(memcmp(&bad, &s2, sizeof(s2)) == 0);
		CHECK(bad.reserved == 0 && !(bad.stats_valid >> VIRTIO_BALLOON_S_NR));
		CHECK(bad.target_pages <= h.gm.total / PAGE);
	} else {
		vd->ops->save(vd, &s2);
		CHECK(memcmp(&s1, &s2, sizeof(s2)) == 0);
	}
	virtio_dev_unlock(vd);
}

static void run_op(struct virtio_dev *vd, const uint8_t *op)
{
	const uint8_t *a = op + 1;

	switch (op[0] % 12) {
	case 0:
	case 1:
	case 2:
		kick(vd, a[0] % vd->nr_queues);
		break;
	case 3: {                               /* the guest advances avail->idx */
		struct virtq *vq = &vd->vqs[a[0] % vd->nr_queues];

		if (vq->s.ready)
			vq->avail->idx = htole16(le16toh(vq->avail->idx) + 1 + a[1] % 4);
		break;
	}
	case 4: {                               /* the guest writes 4 bytes anywhere in its RAM */
		void *p = mem_ptr(&h.gm, get_le(a, 3) % (h.span ? h.span : 1), 4);

		if (p)
			memcpy(p, a + 3, 4);
		break;
	}
	case 5: {                               /* config space, as the transport allows */
		uint32_t len = 1u << (a[0] % 4), off = a[1] % vd->config_size;
		uint8_t buf[8];

		memcpy(buf, a + 2, 5);
		virtio_dev_lock(vd);
		if (off + len <= vd->config_size) {
			if (a[0] & 0x80)
				vd->ops->config_write(vd, off, buf, len);
			else
				vd->ops->config_read(vd, off, buf, len);
		}
		virtio_dev_unlock(vd);
		break;
	}
	case 6:
		save_restore(vd, a);
		break;
	case 7:                                 /* the driver resets and starts again */
		h.driver_features = get_le(a, 1) << 1 | VIRTIO_BIT(VIRTIO_F_VERSION_1) |
				    (a[1] & 1 ? VIRTIO_BIT(VIRTIO_F_EVENT_IDX) : 0);
		virtio_dev_lock(vd);
		virtio_dev_reset(vd);
		driver_ok(vd);
		virtio_dev_unlock(vd);
		break;
	case 8:                                 /* the host sets a target */
		virtio_balloon_set_target(vd, get_le(a, 4) % (h.gm.total / PAGE + 1));
		break;
	case 9: {                               /* the host reads the status */
		struct virtio_balloon_info bi;

		virtio_balloon_info(vd, &bi, a[0] & 1);
		CHECK(!(bi.stats_valid >> VIRTIO_BALLOON_S_NR));
		CHECK(bi.released_bytes <= UINT64_MAX / 2);
		break;
	}
	case 10:
		virtio_dev_lock(vd);
		vd->ops->quiesce(vd);
		virtio_dev_unlock(vd);
		break;
	case 11:                                /* a reset by the transport */
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
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	struct virtio_env env = { .mem = &h.gm, .io = NULL, .nr_vcpus = 1 };
	struct virtio_dev *vd = NULL;
	uint64_t r0, hole, r1, img;
	const uint8_t *ops;
	size_t ops_len;
	unsigned int nops;
	uint8_t flags;

	memset(&h, 0, sizeof(h));
	r0 = PAGE * (1 + get8(&in) % 16);
	hole = PAGE * (get8(&in) % 4);
	r1 = PAGE * (1 + get8(&in) % 16);
	flags = get8(&in);
	nops = get8(&in) % 64;
	h.qlog = get8(&in) % 8;
	h.qbase = (get8(&in) | get8(&in) << 8) * 16ULL;
	h.gm.nr = 2;
	h.gm.regions[0] = (struct mem_region){ 0, r0, map_region(0, r0) };
	h.gm.regions[1] = (struct mem_region){ r0 + hole, r1, map_region(1, r1) };
	h.gm.total = r0 + r1;
	h.gm.backend = flags & 1 ? MEM_BACKEND_MEMFD : MEM_BACKEND_ANON;
	h.gm.page_size = flags & 2 ? 2 * MiB : PAGE;
	h.gm.fd = -1;
	h.span = r0 + hole + r1;
	h.driver_features = VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_BALLOON_F_DEFLATE_ON_OOM) |
			    (flags & 4 ? VIRTIO_BIT(VIRTIO_BALLOON_F_STATS_VQ) : 0) |
			    (flags & 8 ? VIRTIO_BIT(VIRTIO_BALLOON_F_PAGE_REPORTING) : 0) |
			    (flags & 16 ? VIRTIO_BIT(VIRTIO_F_EVENT_IDX) : 0);

	ops = in.p;
	ops_len = MIN(in.n, (size_t)nops * 8);
	in.p += ops_len;
	in.n -= ops_len;
	img = MIN(in.n, r0);
	memcpy(h.gm.regions[0].hva, in.p, img);
	memcpy(h.gm.regions[1].hva, in.p + img, MIN(in.n - img, r1));

	CHECK(virtio_balloon_create(&vd, &env) == 0);
	vd->t_ops = &fuzz_transport;
	vd->t_ctx = &h;
	virtio_dev_lock(vd);
	driver_ok(vd);
	virtio_dev_unlock(vd);
	/* A kick of every queue first, as the driver would after filling them. */
	for (unsigned int q = 0; q < vd->nr_queues; q++)
		kick(vd, q);
	for (size_t i = 0; i + 8 <= ops_len; i += 8)
		run_op(vd, ops + i);
	for (unsigned int q = 0; q < vd->nr_queues; q++)
		kick(vd, q);
	virtio_dev_lock(vd);
	vd->ops->quiesce(vd);
	virtio_dev_reset(vd);
	virtio_dev_unlock(vd);
	vd->ops->destroy(vd);
	munmap(h.map[0], h.map_len[0]);
	munmap(h.map[1], h.map_len[1]);
	memset(&h.gm, 0, sizeof(h.gm));
	return 0;
}
