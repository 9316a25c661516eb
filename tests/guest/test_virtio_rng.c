/*
 * test_virtio_rng.c - virtio-rng (entropy device) over virtio-pci:
 *
 *   test=virtio_rng
 *
 * Fills RNG_READS buffers of RNG_BUF bytes through the request queue and
 * checks that the device wrote something (used length > 0, at most the
 * buffer), that the bytes are not all equal, that two buffers differ and
 * that 1 KiB of output covers most byte values (random data hits ~251 of
 * 256; a counter or a constant far fewer).
 */
#include "kit.h"

#define RNG_READS	8
#define RNG_BUF		256
#define RNG_MIN_DISTINCT 160

struct rng_stats_args {
	u64 buf, len;
	u32 distinct;
	u32 max_run;		/* longest run of one byte value */
};

static u64 rng_stats_user(u64 argp)
{
	struct rng_stats_args *a = (void *)(uintptr_t)argp;
	const u8 *p = (const u8 *)(uintptr_t)a->buf;
	u8 seen[256];
	u32 run = 1;

	for (u32 i = 0; i < 256; i++)
		seen[i] = 0;
	for (u64 i = 0; i < a->len; i++) {
		if (!seen[p[i]]++)
			a->distinct++;
		run = i && p[i] == p[i - 1] ? run + 1 : 1;
		if (run > a->max_run)
			a->max_run = run;
	}
	return 0;
}

const char *test_virtio_rng(void)
{
	static struct virtio_dev dev;
	static struct virtq q;
	struct rng_stats_args st = { 0 };
	u8 *buf;
	u64 total = 0;
	const char *why;

	if ((why = virtio_pci_find(VIRTIO_ID_RNG, 0, &dev)))
		return why;
	if ((why = virtio_negotiate(&dev, VIRTIO_F_INDIRECT_DESC | VIRTIO_F_EVENT_IDX, 0)))
		return why;
	if ((why = virtio_queue_setup(&dev, &q, 0, 64, VIRTIO_NO_VECTOR)))
		return why;
	virtio_driver_ok(&dev);
	buf = virtq_dma_alloc(RNG_READS * RNG_BUF, 4096);
	if (!buf)
		return "out of DMA memory";
	for (u32 i = 0; i < RNG_READS; i++) {
		/* the device may return fewer bytes than asked: ask until full */
		u32 got = 0;

		for (int tries = 0; got < RNG_BUF && tries < 64; tries++) {
			struct virtq_buf b = { (u64)(uintptr_t)(buf + i * RNG_BUF + got), RNG_BUF - got };
			u32 len = 0;
			int r = virtq_run(&q, &b, 0, 1, &len, 5000000, false);

			if (r)
				return kit_reason("request %u: %s", i, virtq_strerror(r));
			if (len > RNG_BUF - got)
				return kit_reason("device claims %u bytes written into a %u-byte buffer",
						  len, RNG_BUF - got);
			got += len;
		}
		if (got < RNG_BUF)
			return kit_reason("only %u of %u bytes after 64 requests", got, RNG_BUF);
		total += got;
	}
	st.buf = (u64)(uintptr_t)buf;
	st.len = RNG_READS * RNG_BUF;
	run_user(rng_stats_user, (u64)(uintptr_t)&st);
	serial_printf("virtio_rng: %lu bytes in %u requests: %02x %02x %02x %02x ..., %u distinct "
		      "byte values, longest run %u\n", total, q.completed, buf[0], buf[1], buf[2],
		      buf[3], st.distinct, st.max_run);
	if (!memcmp(buf, buf + RNG_BUF, RNG_BUF))
		return "two reads returned the same bytes";
	if (st.distinct < RNG_MIN_DISTINCT)
		return kit_reason("only %u distinct byte values in %u bytes: not random", st.distinct,
				  RNG_READS * RNG_BUF);
	if (st.max_run > 8)
		return kit_reason("a run of %u equal bytes", st.max_run);
	virtio_reset(&dev);
	return NULL;
}
