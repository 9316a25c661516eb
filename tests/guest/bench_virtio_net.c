/*
 * bench_virtio_net.c - virtio-net frame throughput for bench/net, against a
 * counter (guest -> host) and a sender (host -> guest) on the host end of a
 * TAP device.
 *
 *   test=bench_net phases=t64:N,t1514:N,r64:N,r1514:N [gap_ms=300]
 *
 * Each phase is a letter, a frame size in bytes (as written to / read from
 * the TAP, no FCS: 60 to 1514) and a frame count, run in the order given:
 *   tSIZE:N  transmit N frames as fast as the device takes them
 *   rSIZE:N  receive N frames from the host's sender, timed from the first
 *            to the Nth; frames of other sizes or phases are not counted
 * After the BEGIN line and each phase the guest waits gap_ms (at CPL3; at least that long for a
 * TSC up to 4 GHz) so the host can read its counters between phases.
 * Frames: broadcast, EtherType 0x88B5, payload "KITEBNCH", u32 seq, u8 phase
 * number (1-based index in `phases`), zeros to the size.
 *
 * The work runs at CPL3 with interrupts off, polling the used rings; the
 * device is notified once per batch, and only when EVENT_IDX says it waits
 * for it.  One descriptor per frame (virtio header and frame together).
 *
 * Output (bench/net parses it):
 *   KITE-BENCH-BEGIN tsc=T
 *   KITE-BENCH-RX-READY phase=K size=S frames=N    (the host starts sending)
 *   KITE-BENCH phase=K dir=tx|rx size=S frames=N ticks=T kicks=N ignored=N
 *   KITE-BENCH-END tsc=T
 * ticks: guest TSC; the harness calibrates the TSC from the BEGIN/END lines
 * (see bench_virtio_blk.c).
 */
#include "kit.h"

#define VIRTIO_NET_F_MAC	(1ULL << 5)
#define BN_HDR_LEN		12	/* virtio_net_hdr_v1 */
#define BN_ETHERTYPE		0x88B5
#define BN_BUF			2048
#define BN_MAX_PHASES		8
#define BN_FIRST_US		20000000ULL	/* rx: wait for the first frame */
#define BN_STALL_US		5000000ULL	/* rx: no frame for this long */
#define BN_PHASE_US		120000000ULL	/* tx phase, at <= 4 GHz TSC */

static struct virtio_dev bn_dev;
static struct virtq bn_rx, bn_tx;

struct bn_phase {
	char dir;		/* 't' or 'r' */
	u32 size;
	u64 frames;
	u8 id;
	/* results */
	u64 ticks, done, kicks, ignored;
	const char *fail;
};

struct bn_ctx {
	u8 mac[6];
	u8 *rxbufs, *txbufs;	/* BN_BUF per descriptor */
	struct bn_phase *p;
};

static void bn_frame(struct bn_ctx *c, u8 *buf, u32 size, u8 id, u32 seq)
{
	u8 *f = buf + BN_HDR_LEN;

	for (u32 i = 0; i < BN_HDR_LEN; i++)
		buf[i] = 0;
	for (u32 i = 0; i < 6; i++) {
		f[i] = 0xFF;
		f[6 + i] = c->mac[i];
	}
	f[12] = BN_ETHERTYPE >> 8;
	f[13] = BN_ETHERTYPE & 0xFF;
	for (u32 i = 0; i < 8; i++)
		f[14 + i] = (u8)"KITEBNCH"[i];
	f[22] = (u8)seq;
	f[23] = (u8)(seq >> 8);
	f[24] = (u8)(seq >> 16);
	f[25] = (u8)(seq >> 24);
	f[26] = id;
	for (u32 i = 27; i < size; i++)
		f[i] = 0;
}

static u64 bn_tx_user(u64 argp)
{
	struct bn_ctx *c = (void *)(uintptr_t)argp;
	struct bn_phase *p = c->p;
	u64 sent = 0, kicks0 = bn_tx.kicks, t0, end;
	u16 head;

	/* every descriptor gets its frame once; only the sequence number changes */
	for (u32 i = 0; i < bn_tx.size; i++)
		bn_frame(c, c->txbufs + (u64)i * BN_BUF, p->size, p->id, 0);
	t0 = rdtsc();
	end = tsc_deadline_us(BN_PHASE_US);
	while (p->done < p->frames) {
		bool added = false;

		while (virtq_get(&bn_tx, &head, NULL))
			p->done++;
		while (sent < p->frames && bn_tx.num_free) {
			u8 *f = c->txbufs + (u64)bn_tx.free_head * BN_BUF + BN_HDR_LEN;
			struct virtq_buf b = { (u64)(uintptr_t)(f - BN_HDR_LEN), BN_HDR_LEN + p->size };

			*(volatile u32 *)(f + 22) = (u32)sent;
			if (virtq_add(&bn_tx, &b, 1, 0) < 0)
				break;
			sent++;
			added = true;
		}
		if (added) {
			virtq_kick(&bn_tx);
		} else if (p->done < p->frames) {
			if (tsc_passed(end)) {
				p->fail = "transmit: the device stopped returning buffers";
				return 1;
			}
			cpu_pause();
		}
	}
	p->ticks = rdtsc() - t0;
	p->kicks = bn_tx.kicks - kicks0;
	return 0;
}

static u64 bn_rx_user(u64 argp)
{
	struct bn_ctx *c = (void *)(uintptr_t)argp;
	struct bn_phase *p = c->p;
	u64 kicks0 = bn_rx.kicks, t0 = 0, end = tsc_deadline_us(BN_FIRST_US);
	u16 head;
	u32 len;

	while (p->done < p->frames) {
		bool got = false;

		while (virtq_get(&bn_rx, &head, &len)) {
			const u8 *f;
			struct virtq_buf b;

			if (head >= bn_rx.size) {
				p->fail = "receive queue returned an unknown buffer";
				return 1;
			}
			f = c->rxbufs + (u64)head * BN_BUF + BN_HDR_LEN;
			if (len == BN_HDR_LEN + p->size && f[12] == (BN_ETHERTYPE >> 8) &&
			    f[13] == (BN_ETHERTYPE & 0xFF) && f[14] == 'K' && f[21] == 'H' &&
			    f[26] == p->id) {
				if (!p->done++)
					t0 = rdtsc();
			} else {
				p->ignored++;
			}
			/* the same buffer goes back (the free list hands `head` out again) */
			b.addr = (u64)(uintptr_t)(c->rxbufs + (u64)bn_rx.free_head * BN_BUF);
			b.len = BN_BUF;
			virtq_add(&bn_rx, &b, 0, 1);
			got = true;
			if (p->done == p->frames)
				break;
		}
		if (got) {
			virtq_kick(&bn_rx);
			end = tsc_deadline_us(p->done ? BN_STALL_US : BN_FIRST_US);
		} else {
			if (tsc_passed(end)) {
				p->fail = p->done ? "receive: frames stopped coming"
						  : "receive: no frame from the host's sender";
				return 1;
			}
			cpu_pause();
		}
	}
	p->ticks = rdtsc() - t0;
	p->kicks = bn_rx.kicks - kicks0;
	return 0;
}

static u64 bn_spin_user(u64 us)
{
	tsc_delay_us(us);
	return 0;
}

/* "t64:100000,r1514:50000" */
static const char *bn_parse(const char *s, struct bn_phase *ph, u32 *n)
{
	*n = 0;
	while (*s) {
		struct bn_phase *p;
		u64 v;

		if (*n == BN_MAX_PHASES)
			return "more than 8 phases";
		p = &ph[(*n)++];
		memset(p, 0, sizeof(*p));
		p->id = (u8)*n;
		p->dir = *s++;
		if (p->dir != 't' && p->dir != 'r')
			return "phases: each starts with t (transmit) or r (receive)";
		for (v = 0; *s >= '0' && *s <= '9'; s++)
			v = v * 10 + (u64)(*s - '0');
		p->size = (u32)v;
		if (*s++ != ':')
			return "phases: write tSIZE:FRAMES or rSIZE:FRAMES";
		for (v = 0; *s >= '0' && *s <= '9'; s++)
			v = v * 10 + (u64)(*s - '0');
		p->frames = v;
		if (p->size < 60 || p->size > 1514 || !p->frames)
			return "phases: sizes 60 to 1514, at least one frame";
		if (*s == ',')
			s++;
		else if (*s)
			return "phases: comma-separated";
	}
	return *n ? NULL : "no phases";
}

const char *test_bench_net(void)
{
	static struct bn_phase ph[BN_MAX_PHASES];
	static struct bn_ctx c;
	static char spec[200];
	const char *why;
	u64 gap_ms = 300;
	u32 nph;

	cmdline_u64("gap_ms", &gap_ms);
	if (!cmdline_value("phases", spec, sizeof(spec)))
		return "phases= missing, e.g. phases=t64:100000,r64:100000";
	if ((why = bn_parse(spec, ph, &nph)))
		return why;
	if ((why = virtio_pci_find(VIRTIO_ID_NET, 0, &bn_dev)))
		return why;
	/* no offloads, no MRG_RXBUF (2 KiB buffers hold any frame here), no control queue */
	if ((why = virtio_negotiate(&bn_dev, VIRTIO_NET_F_MAC | VIRTIO_F_EVENT_IDX,
				    VIRTIO_NET_F_MAC)))
		return why;
	for (u32 i = 0; i < 6; i++)
		c.mac[i] = virtio_cfg_read8(&bn_dev, i);
	if ((why = virtio_queue_setup(&bn_dev, &bn_rx, 0, VIRTQ_MAX_SIZE, VIRTIO_NO_VECTOR)))
		return why;
	if ((why = virtio_queue_setup(&bn_dev, &bn_tx, 1, VIRTQ_MAX_SIZE, VIRTIO_NO_VECTOR)))
		return why;
	c.rxbufs = virtq_dma_alloc((u64)bn_rx.size * BN_BUF, 4096);
	c.txbufs = virtq_dma_alloc((u64)bn_tx.size * BN_BUF, 4096);
	if (!c.rxbufs || !c.txbufs)
		return "out of DMA memory";
	for (u32 i = 0; i < bn_rx.size; i++) {
		struct virtq_buf b = { (u64)(uintptr_t)(c.rxbufs + (u64)i * BN_BUF), BN_BUF };

		if (virtq_add(&bn_rx, &b, 0, 1) != (int)i)
			return "receive queue: unexpected descriptor numbering";
	}
	virtio_driver_ok(&bn_dev);
	virtq_kick(&bn_rx);
	serial_printf("bench_net: MAC %02x:%02x:%02x:%02x:%02x:%02x, rx %u / tx %u entries, "
		      "features %s\n", c.mac[0], c.mac[1], c.mac[2], c.mac[3], c.mac[4], c.mac[5],
		      bn_rx.size, bn_tx.size, virtio_feature_names(VIRTIO_ID_NET, bn_dev.features));
	serial_printf("KITE-BENCH-BEGIN tsc=%lu\n", rdtsc());
	run_user(bn_spin_user, gap_ms * 1000);
	for (u32 i = 0; i < nph; i++) {
		struct bn_phase *p = &ph[i];

		c.p = p;
		if (p->dir == 'r')
			serial_printf("KITE-BENCH-RX-READY phase=%u size=%u frames=%lu\n", p->id,
				      p->size, p->frames);
		run_user(p->dir == 't' ? bn_tx_user : bn_rx_user, (u64)(uintptr_t)&c);
		if (user_fault_vector >= 0)
			return virtq_strerror(VIRTQ_ERR_FAULT);
		if (p->fail)
			return kit_reason("phase %u (%c%u): %s after %lu frames", p->id, p->dir,
					  p->size, p->fail, p->done);
		serial_printf("KITE-BENCH phase=%u dir=%s size=%u frames=%lu ticks=%lu kicks=%lu "
			      "ignored=%lu\n", p->id, p->dir == 't' ? "tx" : "rx", p->size, p->done,
			      p->ticks, p->kicks, p->ignored);
		run_user(bn_spin_user, gap_ms * 1000);
	}
	serial_printf("KITE-BENCH-END tsc=%lu\n", rdtsc());
	virtio_reset(&bn_dev);
	return NULL;
}
