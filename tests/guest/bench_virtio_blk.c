/*
 * bench_virtio_blk.c - virtio-blk throughput and IOPS for bench/blk.
 *
 *   test=bench_blk [phases=rwx] [seq_bs=1M] [seq_qd=8] [seq_bytes=SIZE]
 *                  [rand_bs=4K] [rand_qd=32] [rand_ops=N] [seed=N]
 *
 * Phases, in this order, each selected by a letter of `phases`:
 *   r  seq_read:  seq_bytes from sector 0 in seq_bs requests, seq_qd in flight
 *   w  seq_write: the same, writing (buffers hold a fixed non-zero pattern)
 *   x  rand_read: rand_ops reads of rand_bs at uniformly random rand_bs-aligned
 *                 offsets over the whole disk (xorshift64* PRNG), rand_qd in
 *                 flight
 * seq_bytes defaults to the disk's capacity; offsets wrap at its end.
 *
 * All request work runs at CPL3 with interrupts off, polling the used ring:
 * completions are reaped in a batch, their slots refilled at once and the
 * device notified once per batch, and only when EVENT_IDX says it waits for
 * a notification (one exit; while it is busy it does not).  No MSI-X.
 *
 * Output, machine-readable (bench/blk parses it):
 *   KITE-BENCH-BEGIN tsc=T
 *   KITE-BENCH phase=NAME bs=B qd=Q ops=N bytes=N ticks=N kicks=N
 *   KITE-BENCH-END tsc=T
 * ticks are guest TSC ticks from the first submission to the last
 * completion of the phase.  The guest does not know its TSC frequency: the
 * harness derives it from the BEGIN/END lines (TSC difference over the host
 * time between their arrival, several seconds apart), which is more robust
 * than CPUID 0x15/0x40000010 (absent on AMD hosts and under kite) and
 * keeps serial latency out of each phase's time.
 */
#include "kit.h"

#define VIRTIO_BLK_F_FLUSH	(1ULL << 9)
#define VIRTIO_BLK_T_IN		0
#define VIRTIO_BLK_T_OUT	1
#define VIRTIO_BLK_T_FLUSH	4
#define VIRTIO_BLK_S_OK		0

#define BB_MAX_QD		64
#define BB_TIMEOUT_US		120000000ULL	/* per phase (at <= 4 GHz TSC) */
#define BB_DMA_BUDGET		(24 * MIB)	/* for data buffers */

struct bb_hdr {
	u32 type;
	u32 reserved;
	u64 sector;
};

static struct virtio_dev bb_dev;
static struct virtq bb_q;
static struct bb_hdr *bb_hdrs;		/* BB_MAX_QD */
static volatile u8 *bb_status;		/* BB_MAX_QD, 16 apart */

struct bb_phase {
	const char *name;
	u32 type;		/* VIRTIO_BLK_T_IN / OUT */
	bool random;
	u64 bs, qd, ops;
	u64 disk_bytes;
	u8 *bufs;		/* qd * bs */
	u64 seed;
	/* results */
	u64 ticks, done, kicks;
	int err;		/* 0 or VIRTQ_ERR_* */
	u32 bad_status;
	u64 bad_op;
};

static inline u64 bb_rand(u64 *s)
{
	u64 x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

/* Queue the request for op number `op` in `slot` (CPL3); false if full. */
static bool bb_submit(struct bb_phase *p, u32 slot, u64 op, u64 *rng, int *head_slot)
{
	struct virtq_buf b[3];
	u64 off;
	int head;

	if (p->random)
		off = (bb_rand(rng) % (p->disk_bytes / p->bs)) * p->bs;
	else
		off = (op * p->bs) % (p->disk_bytes / p->bs * p->bs);
	bb_hdrs[slot].type = p->type;
	bb_hdrs[slot].reserved = 0;
	bb_hdrs[slot].sector = off / 512;
	bb_status[16 * slot] = 0xFF;
	b[0].addr = (u64)(uintptr_t)&bb_hdrs[slot];
	b[0].len = sizeof(struct bb_hdr);
	b[1].addr = (u64)(uintptr_t)(p->bufs + slot * p->bs);
	b[1].len = (u32)p->bs;
	b[2].addr = (u64)(uintptr_t)&bb_status[16 * slot];
	b[2].len = 1;
	head = p->type == VIRTIO_BLK_T_OUT ? virtq_add(&bb_q, b, 2, 1)
					   : virtq_add(&bb_q, b, 1, 2);
	if (head < 0)
		return false;
	head_slot[head] = (int)slot;
	return true;
}

static u64 bb_phase_user(u64 argp)
{
	struct bb_phase *p = (void *)(uintptr_t)argp;
	int head_slot[VIRTQ_MAX_SIZE];
	u64 issued = 0, rng = p->seed, kicks0 = bb_q.kicks, t0, end;

	for (u32 i = 0; i < VIRTQ_MAX_SIZE; i++)
		head_slot[i] = -1;
	t0 = rdtsc();
	end = tsc_deadline_us(BB_TIMEOUT_US);
	for (u32 slot = 0; slot < p->qd && issued < p->ops; slot++, issued++)
		if (!bb_submit(p, slot, issued, &rng, head_slot)) {
			p->err = VIRTQ_ERR_FULL;
			return 1;
		}
	virtq_kick(&bb_q);
	while (p->done < p->ops) {
		bool refilled = false;
		u16 head;
		u32 len;

		while (virtq_get(&bb_q, &head, &len)) {
			int slot;

			if (head >= VIRTQ_MAX_SIZE || (slot = head_slot[head]) < 0) {
				p->err = VIRTQ_ERR_ID;
				return 1;
			}
			head_slot[head] = -1;
			if (bb_status[16 * slot] != VIRTIO_BLK_S_OK) {
				p->bad_status = bb_status[16 * slot];
				p->bad_op = p->done;
				return 1;
			}
			p->done++;
			if (issued < p->ops) {
				if (!bb_submit(p, (u32)slot, issued++, &rng, head_slot)) {
					p->err = VIRTQ_ERR_FULL;
					return 1;
				}
				refilled = true;
			}
		}
		if (refilled) {
			virtq_kick(&bb_q);
		} else if (p->done < p->ops) {
			if (tsc_passed(end)) {
				p->err = VIRTQ_ERR_TIMEOUT;
				return 1;
			}
			cpu_pause();
		}
	}
	p->ticks = rdtsc() - t0;
	p->kicks = bb_q.kicks - kicks0;
	return 0;
}

static u64 bb_fill_user(u64 argp)
{
	const u64 *a = (const u64 *)(uintptr_t)argp;
	u64 *w = (u64 *)(uintptr_t)a[0];

	for (u64 i = 0; i < a[1] / 8; i++)
		w[i] = 0xA5C3000000000000ULL ^ (i * 0x9E3779B97F4A7C15ULL);
	return 0;
}

static bool bb_has(const char *s, char c)
{
	for (; *s; s++)
		if (*s == c)
			return true;
	return false;
}

static const char *bb_run(struct bb_phase *p)
{
	u64 r;

	if (p->bs > p->disk_bytes)
		return kit_reason("%s: request size %lu above the disk's %lu bytes", p->name,
				  p->bs, p->disk_bytes);
	if (!p->ops)
		return NULL;
	r = run_user(bb_phase_user, (u64)(uintptr_t)p);
	if (user_fault_vector >= 0)
		return kit_reason("%s: %s", p->name, virtq_strerror(VIRTQ_ERR_FAULT));
	if (r) {
		if (p->err)
			return kit_reason("%s: %s after %lu requests", p->name, virtq_strerror(p->err),
					  p->done);
		return kit_reason("%s: request %lu failed with status %u", p->name, p->bad_op,
				  p->bad_status);
	}
	serial_printf("KITE-BENCH phase=%s bs=%lu qd=%lu ops=%lu bytes=%lu ticks=%lu kicks=%lu\n",
		      p->name, p->bs, p->qd, p->done, p->done * p->bs, p->ticks, p->kicks);
	return NULL;
}

const char *test_bench_blk(void)
{
	static struct bb_phase ph[3];
	char phases[8] = "rwx";
	u64 sectors, seq_bs = MIB, seq_qd = 8, seq_bytes, rand_bs = 4 * KIB, rand_qd = 32;
	u64 rand_ops = 100000, seed = 0x6B697465626C6B31ULL, fill[2];
	u8 *seq_buf, *rand_buf;
	const char *why;
	char v[32];

	if ((why = virtio_pci_find(VIRTIO_ID_BLOCK, 0, &bb_dev)))
		return why;
	if ((why = virtio_negotiate(&bb_dev, VIRTIO_F_INDIRECT_DESC | VIRTIO_F_EVENT_IDX |
				    VIRTIO_BLK_F_FLUSH, 0)))
		return why;
	sectors = virtio_cfg_read64(&bb_dev, 0);
	cmdline_value("phases", phases, sizeof(phases));
	if (cmdline_value("seq_bs", v, sizeof(v)) && !cmdline_parse_size(v, &seq_bs))
		return "bad seq_bs=";
	if (cmdline_value("rand_bs", v, sizeof(v)) && !cmdline_parse_size(v, &rand_bs))
		return "bad rand_bs=";
	seq_bytes = sectors * 512;
	if (cmdline_value("seq_bytes", v, sizeof(v)) && !cmdline_parse_size(v, &seq_bytes))
		return "bad seq_bytes=";
	cmdline_u64("seq_qd", &seq_qd);
	cmdline_u64("rand_qd", &rand_qd);
	cmdline_u64("rand_ops", &rand_ops);
	cmdline_u64("seed", &seed);
	if (!seed)
		seed = 1;
	if (seq_qd < 1 || seq_qd > BB_MAX_QD || rand_qd < 1 || rand_qd > BB_MAX_QD)
		return kit_reason("queue depths must be 1 to %u", BB_MAX_QD);
	if (seq_bs < 512 || seq_bs % 512 || seq_qd * seq_bs > BB_DMA_BUDGET)
		return kit_reason("seq_bs=%lu x seq_qd=%lu: above %lu MiB of buffers", seq_bs,
				  seq_qd, BB_DMA_BUDGET >> 20);
	if (rand_bs < 512 || rand_bs % 512 || rand_qd * rand_bs > 4 * MIB)
		return "rand_bs x rand_qd: above 4 MiB of buffers";
	if (!(bb_dev.features & VIRTIO_F_INDIRECT_DESC))
		return "the device does not offer INDIRECT_DESC (needed for queue depth 64)";
	if ((why = virtio_queue_setup(&bb_dev, &bb_q, 0, VIRTQ_MAX_SIZE, VIRTIO_NO_VECTOR)))
		return why;
	bb_hdrs = virtq_dma_alloc(BB_MAX_QD * sizeof(struct bb_hdr), 64);
	bb_status = virtq_dma_alloc(BB_MAX_QD * 16, 64);
	seq_buf = virtq_dma_alloc(seq_qd * seq_bs, 4096);
	rand_buf = virtq_dma_alloc(rand_qd * rand_bs, 4096);
	if (!bb_hdrs || !bb_status || !seq_buf || !rand_buf)
		return "out of DMA memory";
	virtio_driver_ok(&bb_dev);
	serial_printf("bench_blk: %lu sectors (%lu MiB), queue %u entries, features %s\n", sectors,
		      sectors / 2048, bb_q.size, virtio_feature_names(VIRTIO_ID_BLOCK,
								      bb_dev.features));
	fill[0] = (u64)(uintptr_t)seq_buf;
	fill[1] = seq_qd * seq_bs;
	run_user(bb_fill_user, (u64)(uintptr_t)fill);

	ph[0] = (struct bb_phase){ .name = "seq_read", .type = VIRTIO_BLK_T_IN, .bs = seq_bs,
				   .qd = seq_qd, .ops = seq_bytes / seq_bs, .bufs = seq_buf };
	ph[1] = (struct bb_phase){ .name = "seq_write", .type = VIRTIO_BLK_T_OUT, .bs = seq_bs,
				   .qd = seq_qd, .ops = seq_bytes / seq_bs, .bufs = seq_buf };
	ph[2] = (struct bb_phase){ .name = "rand_read", .type = VIRTIO_BLK_T_IN, .random = true,
				   .bs = rand_bs, .qd = rand_qd, .ops = rand_ops, .bufs = rand_buf };
	serial_printf("KITE-BENCH-BEGIN tsc=%lu\n", rdtsc());
	for (u32 i = 0; i < 3; i++) {
		if (!bb_has(phases, "rwx"[i]))
			continue;
		ph[i].disk_bytes = sectors * 512;
		ph[i].seed = seed;
		if ((why = bb_run(&ph[i])))
			return why;
	}
	serial_printf("KITE-BENCH-END tsc=%lu\n", rdtsc());
	if (bb_dev.features & VIRTIO_BLK_F_FLUSH) {
		struct virtq_buf b[2] = {
			{ (u64)(uintptr_t)&bb_hdrs[0], sizeof(struct bb_hdr) },
			{ (u64)(uintptr_t)&bb_status[0], 1 },
		};
		int r;

		bb_hdrs[0] = (struct bb_hdr){ VIRTIO_BLK_T_FLUSH, 0, 0 };
		bb_status[0] = 0xFF;
		r = virtq_run(&bb_q, b, 1, 1, NULL, 30000000, false);
		if (r || bb_status[0] != VIRTIO_BLK_S_OK)
			return kit_reason("FLUSH: %s, status %u", virtq_strerror(r), bb_status[0]);
	}
	virtio_reset(&bb_dev);
	return NULL;
}
