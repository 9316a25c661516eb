/*
 * test_virtio_blk.c - virtio-blk over virtio-pci against a disk image the
 * harness (tests/virtio_cases.py) filled with a known pattern.
 *
 *   test=virtio_blk sectors=N [serial=S] [ro=1] [msix=0]
 *
 * Checks: capacity = N; GET_ID = S; the first sectors and then the whole
 * disk (read at CPL3 with several requests in flight, indirect descriptors
 * when offered) hold the pattern; a read past the end and an unknown request
 * type fail with IOERR/UNSUPP; an MSI-X interrupt arrives for a completion.
 * Writable disks (FLUSH required): writes sectors [1024, +256) with the
 * "written" pattern and reads them back, FLUSH, WRITE_ZEROES [2048, +128)
 * (reads back zeros) and DISCARD [3072, +128) if offered.  Lines
 * "KITE-BLK-WRITE|ZEROES|DISCARD first count" tell the harness what to
 * expect in the image afterwards.  ro=1: the device must offer RO and fail a
 * write with IOERR (the harness checks the image is unchanged).
 *
 * Pattern of sector s (128 little-endian u32 words) for a seed:
 *   w[0] = s, w[1] = seed, w[i] = (i * 0x9E3779B1 + seed) ^ (s * 0x85EBCA77 + 1)
 */
#include "kit.h"

#define BLK_SEED_DISK	0x4B534944u	/* "DISK" */
#define BLK_SEED_WRITE	0x54495257u	/* "WRIT" */

#define VIRTIO_BLK_F_SIZE_MAX	(1ULL << 1)
#define VIRTIO_BLK_F_SEG_MAX	(1ULL << 2)
#define VIRTIO_BLK_F_RO		(1ULL << 5)
#define VIRTIO_BLK_F_BLK_SIZE	(1ULL << 6)
#define VIRTIO_BLK_F_FLUSH	(1ULL << 9)
#define VIRTIO_BLK_F_DISCARD	(1ULL << 13)
#define VIRTIO_BLK_F_WRITE_ZEROES (1ULL << 14)

#define VIRTIO_BLK_T_IN		0
#define VIRTIO_BLK_T_OUT	1
#define VIRTIO_BLK_T_FLUSH	4
#define VIRTIO_BLK_T_GET_ID	8
#define VIRTIO_BLK_T_DISCARD	11
#define VIRTIO_BLK_T_WRITE_ZEROES 13
#define VIRTIO_BLK_S_OK		0
#define VIRTIO_BLK_S_IOERR	1
#define VIRTIO_BLK_S_UNSUPP	2

#define BLK_MSIX_VECTOR		0x50
#define BLK_QD			4		/* requests in flight in the bulk read */
#define BLK_CHUNK_MAX		(256 * KIB)
#define BLK_BULK_MAX		(64 * MIB)	/* read at most this much of the disk */
#define BLK_TIMEOUT_US		5000000

#define BLK_WRITE_FIRST	1024
#define BLK_WRITE_COUNT	256
#define BLK_ZERO_FIRST	2048
#define BLK_ZERO_COUNT	128
#define BLK_DISCARD_FIRST 3072
#define BLK_DISCARD_COUNT 128

struct blk_hdr {
	u32 type;
	u32 reserved;
	u64 sector;
};

struct blk_seg {		/* DISCARD / WRITE_ZEROES */
	u64 sector;
	u32 num_sectors;
	u32 flags;
};

static struct virtio_dev blk_dev;
static struct virtq blk_q;
static u32 blk_seg_bytes;	/* bytes per data descriptor */
static u32 blk_chunk;		/* bytes per bulk request */
static struct blk_hdr *blk_hdrs;	/* BLK_QD headers */
static volatile u8 *blk_status;	/* BLK_QD status bytes, 16 apart */
static u8 *blk_buf;		/* BLK_QD * BLK_CHUNK_MAX */

/* ---- pattern (CPL3) ---------------------------------------------------- */

static inline u32 blk_word(u64 s, u32 seed, u32 i)
{
	if (i == 0)
		return (u32)s;
	if (i == 1)
		return seed;
	return (i * 0x9E3779B1u + seed) ^ ((u32)s * 0x85EBCA77u + 1);
}

struct blk_pat_args {
	u64 buf, first, count;
	u32 seed;		/* 0: expect zeros */
	bool fill;
	u64 bad_sector;		/* out: first mismatching sector */
	u32 bad_word, bad_val;
};

static u64 blk_pattern_user(u64 argp)
{
	struct blk_pat_args *a = (void *)(uintptr_t)argp;
	u32 *w = (u32 *)(uintptr_t)a->buf;
	u64 bad = 0;

	for (u64 s = a->first; s < a->first + a->count; s++, w += 128) {
		for (u32 i = 0; i < 128; i++) {
			u32 want = a->seed ? blk_word(s, a->seed, i) : 0;

			if (a->fill) {
				w[i] = want;
			} else if (w[i] != want) {
				if (!bad++) {
					a->bad_sector = s;
					a->bad_word = i;
					a->bad_val = w[i];
				}
				break;
			}
		}
	}
	return bad;
}

static u64 blk_pattern(void *buf, u64 first, u64 count, u32 seed, bool fill,
		       struct blk_pat_args *out)
{
	struct blk_pat_args a = { (u64)(uintptr_t)buf, first, count, seed, fill, 0, 0, 0 };
	u64 r = run_user(blk_pattern_user, (u64)(uintptr_t)&a);

	if (out)
		*out = a;
	return r;
}

/* ---- requests --------------------------------------------------------- */

/* Header, data split into descriptors of blk_seg_bytes, status. */
static u16 blk_bufs(struct virtq_buf *b, u32 slot, u32 type, u64 sector, void *data, u32 len,
		    u16 *nout)
{
	u16 n = 0;
	bool data_out = type != VIRTIO_BLK_T_IN && type != VIRTIO_BLK_T_GET_ID;

	blk_hdrs[slot].type = type;
	blk_hdrs[slot].reserved = 0;
	blk_hdrs[slot].sector = sector;
	b[n].addr = (u64)(uintptr_t)&blk_hdrs[slot];
	b[n++].len = sizeof(struct blk_hdr);
	if (data_out)
		for (u32 off = 0; off < len; off += blk_seg_bytes, n++) {
			b[n].addr = (u64)(uintptr_t)data + off;
			b[n].len = len - off < blk_seg_bytes ? len - off : blk_seg_bytes;
		}
	*nout = n;
	if (!data_out)
		for (u32 off = 0; off < len; off += blk_seg_bytes, n++) {
			b[n].addr = (u64)(uintptr_t)data + off;
			b[n].len = len - off < blk_seg_bytes ? len - off : blk_seg_bytes;
		}
	blk_status[16 * slot] = 0xFF;
	b[n].addr = (u64)(uintptr_t)&blk_status[16 * slot];
	b[n++].len = 1;
	return n;
}

/* One request; returns the status byte, or a VIRTQ_ERR_* (negative). */
static int blk_request(u32 type, u64 sector, void *data, u32 len, bool irq)
{
	struct virtq_buf b[2 + BLK_CHUNK_MAX / 512];
	u16 nout, n = blk_bufs(b, 0, type, sector, data, len, &nout);
	u32 used = 0;
	int r = virtq_run(&blk_q, b, nout, n - nout, &used, BLK_TIMEOUT_US, irq);

	return r < 0 ? r : blk_status[0];
}

static const char *blk_status_name(int st)
{
	switch (st) {
	case VIRTIO_BLK_S_OK: return "OK";
	case VIRTIO_BLK_S_IOERR: return "IOERR";
	case VIRTIO_BLK_S_UNSUPP: return "UNSUPP";
	case 0xFF: return "untouched";
	default: return st < 0 ? virtq_strerror(st) : "?";
	}
}

/* ---- bulk read at CPL3: BLK_QD requests in flight, each chunk checked --- */

struct blk_bulk_args {
	u64 sectors;		/* how many to read from sector 0 */
	u64 requests, bad, bad_sector;
	u32 bad_word, bad_val;
	u64 checksum;		/* sum of all words read */
	int err;
	u8 bad_status;
};

static u64 blk_bulk_user(u64 argp)
{
	struct blk_bulk_args *a = (void *)(uintptr_t)argp;
	u64 per = blk_chunk / 512, next = 0, done = 0;
	u64 slot_sector[BLK_QD];
	u32 slot_count[BLK_QD];
	int head_slot[VIRTQ_MAX_SIZE];
	u64 end = tsc_deadline_us(60000000);

	for (u32 i = 0; i < VIRTQ_MAX_SIZE; i++)
		head_slot[i] = -1;
	/* fill the pipeline */
	for (u32 slot = 0; slot < BLK_QD && next < a->sectors; slot++) {
		struct virtq_buf b[2 + BLK_CHUNK_MAX / 512];
		u32 count = a->sectors - next < per ? (u32)(a->sectors - next) : (u32)per;
		u16 nout, n = blk_bufs(b, slot, VIRTIO_BLK_T_IN, next,
				       blk_buf + (u64)slot * BLK_CHUNK_MAX, count * 512, &nout);
		int head = virtq_add(&blk_q, b, nout, n - nout);

		if (head < 0) {
			a->err = VIRTQ_ERR_FULL;
			return 1;
		}
		head_slot[head] = (int)slot;
		slot_sector[slot] = next;
		slot_count[slot] = count;
		next += count;
		a->requests++;
	}
	virtq_kick(&blk_q);
	while (done < a->sectors) {
		u16 head;
		u32 len, slot;
		const u32 *w;

		if (!virtq_get(&blk_q, &head, &len)) {
			if (tsc_passed(end)) {
				a->err = VIRTQ_ERR_TIMEOUT;
				return 1;
			}
			cpu_pause();
			continue;
		}
		if (head >= VIRTQ_MAX_SIZE || head_slot[head] < 0) {
			a->err = VIRTQ_ERR_ID;
			return 1;
		}
		slot = (u32)head_slot[head];
		head_slot[head] = -1;
		if (blk_status[16 * slot] != VIRTIO_BLK_S_OK) {
			a->bad_status = blk_status[16 * slot];
			a->bad_sector = slot_sector[slot];
			return 1;
		}
		/* check the chunk */
		w = (const u32 *)(blk_buf + (u64)slot * BLK_CHUNK_MAX);
		for (u64 s = slot_sector[slot]; s < slot_sector[slot] + slot_count[slot];
		     s++, w += 128) {
			bool bad = false;

			for (u32 i = 0; i < 128; i++) {
				a->checksum += w[i];
				if (w[i] != blk_word(s, BLK_SEED_DISK, i) && !bad) {
					bad = true;
					if (!a->bad) {
						a->bad_sector = s;
						a->bad_word = i;
						a->bad_val = w[i];
					}
				}
			}
			a->bad += bad;
		}
		done += slot_count[slot];
		/* reuse the slot */
		if (next < a->sectors) {
			struct virtq_buf b[2 + BLK_CHUNK_MAX / 512];
			u32 count = a->sectors - next < per ? (u32)(a->sectors - next) : (u32)per;
			u16 nout, n = blk_bufs(b, slot, VIRTIO_BLK_T_IN, next,
					       blk_buf + (u64)slot * BLK_CHUNK_MAX, count * 512,
					       &nout);
			int h = virtq_add(&blk_q, b, nout, n - nout);

			if (h < 0) {
				a->err = VIRTQ_ERR_FULL;
				return 1;
			}
			head_slot[h] = (int)slot;
			slot_sector[slot] = next;
			slot_count[slot] = count;
			next += count;
			a->requests++;
			virtq_kick(&blk_q);
		}
	}
	return 0;
}

/* ---- the test ---------------------------------------------------------- */

static volatile u32 blk_irqs;

static void blk_irq_handler(struct idt_frame *f)
{
	(void)f;
	blk_irqs++;
	lapic_eoi();
}

static const char *blk_setup(bool use_msix)
{
	const char *why;
	u64 want = VIRTIO_F_INDIRECT_DESC | VIRTIO_F_EVENT_IDX | VIRTIO_BLK_F_RO |
		   VIRTIO_BLK_F_BLK_SIZE | VIRTIO_BLK_F_FLUSH | VIRTIO_BLK_F_DISCARD |
		   VIRTIO_BLK_F_WRITE_ZEROES | VIRTIO_BLK_F_SEG_MAX | VIRTIO_BLK_F_SIZE_MAX;
	u16 vec = VIRTIO_NO_VECTOR;

	if ((why = virtio_pci_find(VIRTIO_ID_BLOCK, 0, &blk_dev)))
		return why;
	if ((why = virtio_negotiate(&blk_dev, want, 0)))
		return why;
	if (use_msix) {
		if (acpi_init())
			madt_init();
		pic_mask_all();
		lapic_enable();
		idt_set_handler(BLK_MSIX_VECTOR, blk_irq_handler);
		if ((why = virtio_msix_route(&blk_dev, 0, BLK_MSIX_VECTOR)))
			return why;
		vec = 0;
	}
	if ((why = virtio_queue_setup(&blk_dev, &blk_q, 0, 128, vec)))
		return why;
	virtio_driver_ok(&blk_dev);
	if (!(virtio_status(&blk_dev) & VIRTIO_STATUS_DRIVER_OK) ||
	    (virtio_status(&blk_dev) & (VIRTIO_STATUS_NEEDS_RESET | VIRTIO_STATUS_FAILED)))
		return kit_reason("device status %x after DRIVER_OK", virtio_status(&blk_dev));
	return NULL;
}

static const char *blk_limits(void)
{
	u32 size_max = 0, seg_max = 0, segs;
	u16 max_desc;

	blk_seg_bytes = 64 * KIB;
	if (blk_dev.features & VIRTIO_BLK_F_SIZE_MAX) {
		size_max = virtio_cfg_read32(&blk_dev, 8);
		if (size_max && size_max < blk_seg_bytes)
			blk_seg_bytes = size_max & ~511u;
		if (blk_seg_bytes < 512)
			return kit_reason("size_max %u: less than a sector", size_max);
	}
	/* descriptors per request: header + data + status */
	max_desc = blk_q.indirect ? VIRTQ_INDIRECT_MAX : blk_q.size / BLK_QD;
	segs = max_desc - 2;
	if (blk_dev.features & VIRTIO_BLK_F_SEG_MAX) {
		seg_max = virtio_cfg_read32(&blk_dev, 12);
		if (seg_max && seg_max < segs)
			segs = seg_max;
	}
	if (!segs)
		return "seg_max 0";
	blk_chunk = segs * blk_seg_bytes;
	if (blk_chunk > BLK_CHUNK_MAX)
		blk_chunk = BLK_CHUNK_MAX;
	blk_chunk &= ~511u;
	serial_printf("virtio_blk: size_max %u seg_max %u: %u-byte descriptors, %u KiB per "
		      "bulk request (%s)\n", size_max, seg_max, blk_seg_bytes, blk_chunk >> 10,
		      blk_q.indirect ? "indirect" : "direct chains");
	return NULL;
}

const char *test_virtio_blk(void)
{
	char serial[32], id[24];
	u64 sectors, ro = 0, msix = 1, capacity, t0, dt;
	struct blk_pat_args pa;
	struct blk_bulk_args bulk;
	const char *why;
	int st;
	u32 irqs_before;

	if (!cmdline_u64("sectors", &sectors))
		return "no sectors=N on the command line";
	cmdline_u64("ro", &ro);
	cmdline_u64("msix", &msix);
	if ((why = blk_setup(msix != 0)))
		return why;
	blk_hdrs = virtq_dma_alloc(BLK_QD * sizeof(struct blk_hdr), 64);
	blk_status = virtq_dma_alloc(BLK_QD * 16, 64);
	blk_buf = virtq_dma_alloc(BLK_QD * BLK_CHUNK_MAX, 4096);
	if (!blk_hdrs || !blk_status || !blk_buf)
		return "out of DMA memory";
	if ((why = blk_limits()))
		return why;

	capacity = virtio_cfg_read64(&blk_dev, 0);
	serial_printf("virtio_blk: capacity %lu sectors (%lu MiB)", capacity, capacity >> 11);
	if (blk_dev.features & VIRTIO_BLK_F_BLK_SIZE)
		serial_printf(", blk_size %u", virtio_cfg_read32(&blk_dev, 20));
	serial_printf("\n");
	if (capacity != sectors)
		return kit_reason("capacity %lu sectors, the disk has %lu", capacity, sectors);
	if (capacity < BLK_DISCARD_FIRST + BLK_DISCARD_COUNT)
		return "disk too small for the test (need 2 MiB)";

	/* GET_ID */
	if (cmdline_value("serial", serial, sizeof(serial))) {
		memset(blk_buf, 0, 32);
		st = blk_request(VIRTIO_BLK_T_GET_ID, 0, blk_buf, 20, false);
		if (st != VIRTIO_BLK_S_OK)
			return kit_reason("GET_ID: status %s", blk_status_name(st));
		memcpy(id, blk_buf, 20);
		id[20] = '\0';
		serial_printf("virtio_blk: GET_ID '%s'\n", id);
		if (strcmp(id, serial))
			return kit_reason("GET_ID returned '%s', expected '%s'", id, serial);
	}

	/* first 8 sectors */
	st = blk_request(VIRTIO_BLK_T_IN, 0, blk_buf, 8 * 512, false);
	if (st != VIRTIO_BLK_S_OK)
		return kit_reason("read of sectors 0-7: status %s", blk_status_name(st));
	if (blk_pattern(blk_buf, 0, 8, BLK_SEED_DISK, false, &pa))
		return kit_reason("sector %lu word %u reads %x, expected %x", pa.bad_sector,
				  pa.bad_word, pa.bad_val, blk_word(pa.bad_sector, BLK_SEED_DISK,
								    pa.bad_word));

	/* MSI-X: interrupts asked for (virtq_irq: with EVENT_IDX, used_event =
	 * the last used index seen) must come, for each of 3 requests in turn */
	if (msix) {
		u32 got[3];

		virtq_irq_drain(2000);	/* a stale one (QEMU's first used buffer) */
		for (u32 round = 0; round < 3; round++) {
			irqs_before = blk_irqs;
			virtq_irq(&blk_q, true);
			st = blk_request(VIRTIO_BLK_T_IN, 8 + round, blk_buf, 512, true);
			virtq_irq_wait(&blk_irqs, irqs_before, 1000000);
			virtq_irq(&blk_q, false);
			got[round] = blk_irqs - irqs_before;
			if (st != VIRTIO_BLK_S_OK)
				return kit_reason("read of sector %u: status %s", 8 + round,
						  blk_status_name(st));
			if (!got[round])
				return kit_reason("no MSI-X interrupt on vector %x for completed request "
						  "%u of 3 (used_event %u, used idx %u)", BLK_MSIX_VECTOR,
						  round + 1, (u16)(blk_q.last_used - 1), blk_q.used[1]);
		}
		serial_printf("virtio_blk: MSI-X vector %x: %u, %u, %u interrupt(s) for 3 requests\n",
			      BLK_MSIX_VECTOR, got[0], got[1], got[2]);
	}

	/* the whole disk (up to 64 MiB) at CPL3 */
	memset(&bulk, 0, sizeof(bulk));
	bulk.sectors = capacity * 512 > BLK_BULK_MAX ? BLK_BULK_MAX / 512 : capacity;
	t0 = rdtsc();
	run_user(blk_bulk_user, (u64)(uintptr_t)&bulk);
	dt = rdtsc() - t0;
	if (user_fault_vector >= 0)
		return virtq_strerror(VIRTQ_ERR_FAULT);
	serial_printf("virtio_blk: read and checked %lu MiB in %lu requests at CPL3 in %lu TSC "
		      "ticks (%u kicks), checksum %lx\n", bulk.sectors >> 11, bulk.requests, dt,
		      blk_q.kicks, bulk.checksum);
	if (bulk.err)
		return kit_reason("bulk read: %s", virtq_strerror(bulk.err));
	if (bulk.bad_status)
		return kit_reason("bulk read at sector %lu: status %s", bulk.bad_sector,
				  blk_status_name(bulk.bad_status));
	if (bulk.bad)
		return kit_reason("%lu sectors differ from the pattern; first: sector %lu word %u "
				  "reads %x, expected %x", bulk.bad, bulk.bad_sector, bulk.bad_word,
				  bulk.bad_val, blk_word(bulk.bad_sector, BLK_SEED_DISK,
							 bulk.bad_word));

	/* errors every disk must report */
	st = blk_request(VIRTIO_BLK_T_IN, capacity, blk_buf, 512, false);
	serial_printf("virtio_blk: read past the end: %s\n", blk_status_name(st));
	if (st != VIRTIO_BLK_S_IOERR)
		return kit_reason("read of sector %lu (past the end): status %s, expected IOERR",
				  capacity, blk_status_name(st));
	st = blk_request(0x7F, 0, NULL, 0, false);
	serial_printf("virtio_blk: request type 0x7f: %s\n", blk_status_name(st));
	if (st != VIRTIO_BLK_S_UNSUPP)
		return kit_reason("unknown request type 0x7f: status %s, expected UNSUPP",
				  blk_status_name(st));

	if (ro) {
		if (!(blk_dev.offered & VIRTIO_BLK_F_RO))
			return "read-only disk (ro=1) but the device does not offer VIRTIO_BLK_F_RO";
		blk_pattern(blk_buf, BLK_WRITE_FIRST, 8, BLK_SEED_WRITE, true, NULL);
		st = blk_request(VIRTIO_BLK_T_OUT, BLK_WRITE_FIRST, blk_buf, 8 * 512, false);
		serial_printf("virtio_blk: write to the read-only disk: %s\n", blk_status_name(st));
		if (st != VIRTIO_BLK_S_IOERR)
			return kit_reason("write to a read-only disk: status %s, expected IOERR",
					  blk_status_name(st));
		st = blk_request(VIRTIO_BLK_T_IN, BLK_WRITE_FIRST, blk_buf, 8 * 512, false);
		if (st != VIRTIO_BLK_S_OK)
			return kit_reason("read after the refused write: %s", blk_status_name(st));
		if (blk_pattern(blk_buf, BLK_WRITE_FIRST, 8, BLK_SEED_DISK, false, &pa))
			return kit_reason("the refused write changed sector %lu", pa.bad_sector);
		return NULL;
	}
	if (blk_dev.offered & VIRTIO_BLK_F_RO)
		return "the device offers VIRTIO_BLK_F_RO for a writable disk";
	if (!(blk_dev.features & VIRTIO_BLK_F_FLUSH))
		return "writable disk without VIRTIO_BLK_F_FLUSH: the guest cannot make writes "
		       "durable";

	/* write, read back */
	blk_pattern(blk_buf, BLK_WRITE_FIRST, BLK_WRITE_COUNT, BLK_SEED_WRITE, true, NULL);
	st = blk_request(VIRTIO_BLK_T_OUT, BLK_WRITE_FIRST, blk_buf, BLK_WRITE_COUNT * 512, false);
	if (st != VIRTIO_BLK_S_OK)
		return kit_reason("write of sectors %u+%u: status %s", BLK_WRITE_FIRST,
				  BLK_WRITE_COUNT, blk_status_name(st));
	serial_printf("KITE-BLK-WRITE %u %u\n", BLK_WRITE_FIRST, BLK_WRITE_COUNT);
	virtq_zero(blk_buf, BLK_WRITE_COUNT * 512);
	st = blk_request(VIRTIO_BLK_T_IN, BLK_WRITE_FIRST, blk_buf, BLK_WRITE_COUNT * 512, false);
	if (st != VIRTIO_BLK_S_OK)
		return kit_reason("read back of sectors %u+%u: status %s", BLK_WRITE_FIRST,
				  BLK_WRITE_COUNT, blk_status_name(st));
	if (blk_pattern(blk_buf, BLK_WRITE_FIRST, BLK_WRITE_COUNT, BLK_SEED_WRITE, false, &pa))
		return kit_reason("read back: sector %lu word %u is %x, wrote %x", pa.bad_sector,
				  pa.bad_word, pa.bad_val,
				  blk_word(pa.bad_sector, BLK_SEED_WRITE, pa.bad_word));
	st = blk_request(VIRTIO_BLK_T_FLUSH, 0, NULL, 0, false);
	serial_printf("virtio_blk: wrote and read back %u sectors, FLUSH: %s\n", BLK_WRITE_COUNT,
		      blk_status_name(st));
	if (st != VIRTIO_BLK_S_OK)
		return kit_reason("FLUSH: status %s", blk_status_name(st));

	if (blk_dev.features & VIRTIO_BLK_F_WRITE_ZEROES) {
		struct blk_seg *seg = (struct blk_seg *)(blk_buf + BLK_CHUNK_MAX - 64);

		seg->sector = BLK_ZERO_FIRST;
		seg->num_sectors = BLK_ZERO_COUNT;
		seg->flags = 0;
		st = blk_request(VIRTIO_BLK_T_WRITE_ZEROES, 0, seg, sizeof(*seg), false);
		serial_printf("virtio_blk: WRITE_ZEROES %u+%u: %s\n", BLK_ZERO_FIRST, BLK_ZERO_COUNT,
			      blk_status_name(st));
		if (st != VIRTIO_BLK_S_OK)
			return kit_reason("WRITE_ZEROES: status %s", blk_status_name(st));
		serial_printf("KITE-BLK-ZEROES %u %u\n", BLK_ZERO_FIRST, BLK_ZERO_COUNT);
		st = blk_request(VIRTIO_BLK_T_IN, BLK_ZERO_FIRST, blk_buf, BLK_ZERO_COUNT * 512,
				 false);
		if (st != VIRTIO_BLK_S_OK)
			return kit_reason("read after WRITE_ZEROES: %s", blk_status_name(st));
		if (blk_pattern(blk_buf, BLK_ZERO_FIRST, BLK_ZERO_COUNT, 0, false, &pa))
			return kit_reason("after WRITE_ZEROES sector %lu word %u is %x", pa.bad_sector,
					  pa.bad_word, pa.bad_val);
	}
	if (blk_dev.features & VIRTIO_BLK_F_DISCARD) {
		struct blk_seg *seg = (struct blk_seg *)(blk_buf + BLK_CHUNK_MAX - 64);

		seg->sector = BLK_DISCARD_FIRST;
		seg->num_sectors = BLK_DISCARD_COUNT;
		seg->flags = 0;
		st = blk_request(VIRTIO_BLK_T_DISCARD, 0, seg, sizeof(*seg), false);
		serial_printf("virtio_blk: DISCARD %u+%u: %s\n", BLK_DISCARD_FIRST, BLK_DISCARD_COUNT,
			      blk_status_name(st));
		if (st != VIRTIO_BLK_S_OK)
			return kit_reason("DISCARD: status %s", blk_status_name(st));
		serial_printf("KITE-BLK-DISCARD %u %u\n", BLK_DISCARD_FIRST, BLK_DISCARD_COUNT);
	}
	st = blk_request(VIRTIO_BLK_T_FLUSH, 0, NULL, 0, false);
	if (st != VIRTIO_BLK_S_OK)
		return kit_reason("final FLUSH: status %s", blk_status_name(st));
	virtio_reset(&blk_dev);
	return NULL;
}
