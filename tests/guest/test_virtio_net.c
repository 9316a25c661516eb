/*
 * test_virtio_net.c - virtio-net over virtio-pci against the responder of
 * tests/virtio_cases.py on the host end of a TAP device.
 *
 *   test=virtio_net [mac=52:54:00:12:34:56] [frames=N] [burst=M] [msix=0]
 *
 * Protocol: raw Ethernet frames of EtherType 0x88B5 (local experimental)
 * whose payload starts with a 16-byte header
 *     "KITENET\0", u32 seq, u16 kind, u16 data_len   (little endian)
 * followed by data_len bytes.
 *   kind 1 (guest -> broadcast): echo request, data[j] = (seq * 7 + j) & 0xFF
 *   kind 2 (host -> guest MAC):  echo reply, same seq and length, data ^ 0xA5
 *   kind 3 (guest -> broadcast): burst request, seq = M
 *   kind 4 (host -> guest MAC):  burst frame seq 0..M-1, data[j] = (seq + j) & 0xFF
 * The guest sends N echo requests of varying length (60- to 1514-byte
 * frames) one at a time, each answered within 2 s (3 tries); then asks for
 * a burst of M frames, more than it has receive buffers, and must get all of
 * them in order while it refills.  Frames of other kinds or EtherTypes are
 * ignored.  All of that runs at CPL3 with interrupts enabled.  With MSI-X
 * (default) each echo reply must be announced by the receive queue's vector
 * (armed before the request: EVENT_IDX used_event or flags) before the
 * guest looks at the ring; the burst is polled.
 */
#include "kit.h"

#define VIRTIO_NET_F_MAC	(1ULL << 5)
#define VIRTIO_NET_F_STATUS	(1ULL << 16)
#define NET_HDR_LEN		12	/* virtio_net_hdr_v1 (VERSION_1) */
#define NET_ETHERTYPE		0x88B5
#define NET_RXBUFS		16
#define NET_BUF			2048
#define NET_MSIX_VECTOR		0x51
#define NET_MAX_DATA		(1514 - 14 - 16)

static struct virtio_dev net_dev;
static struct virtq net_rx, net_tx;
static volatile u32 net_irqs;

struct net_args {
	u8 mac[6];
	u32 frames, burst;
	bool msix;
	u8 *rxbufs, *txbuf;
	/* results */
	u32 sent, resent, replies, burst_got, ignored, rx_total, irq_replies;
	u32 fail_seq;
	const char *fail;	/* static string */
	u32 fail_a, fail_b;
};

static const u32 net_sizes[] = { 30, 100, 1000, NET_MAX_DATA, 46, 512 };

static void net_put16(u8 *p, u16 v) { p[0] = (u8)v; p[1] = (u8)(v >> 8); }
static void net_put32(u8 *p, u32 v) { net_put16(p, (u16)v); net_put16(p + 2, (u16)(v >> 16)); }
static u16 net_get16(const u8 *p) { return (u16)(p[0] | p[1] << 8); }
static u32 net_get32(const u8 *p) { return net_get16(p) | (u32)net_get16(p + 2) << 16; }

static bool net_send(struct net_args *a, u32 seq, u16 kind, u32 len)
{
	u8 *f = a->txbuf + NET_HDR_LEN;
	struct virtq_buf b[2];
	u64 end;
	u16 head;

	for (u32 i = 0; i < NET_HDR_LEN; i++)
		a->txbuf[i] = 0;
	for (u32 i = 0; i < 6; i++) {
		f[i] = 0xFF;
		f[6 + i] = a->mac[i];
	}
	f[12] = NET_ETHERTYPE >> 8;
	f[13] = NET_ETHERTYPE & 0xFF;
	for (u32 i = 0; i < 8; i++)
		f[14 + i] = (u8)"KITENET"[i];
	net_put32(f + 22, seq);
	net_put16(f + 26, kind);
	net_put16(f + 28, (u16)len);
	for (u32 j = 0; j < len; j++)
		f[30 + j] = (u8)(seq * 7 + j);
	/* header and frame: a chain of two device-readable descriptors */
	b[0].addr = (u64)(uintptr_t)a->txbuf;
	b[0].len = NET_HDR_LEN;
	b[1].addr = (u64)(uintptr_t)f;
	b[1].len = 30 + len < 60 ? 60 : 30 + len;
	if (virtq_add(&net_tx, b, 2, 0) < 0) {
		a->fail = "transmit queue full";
		return false;
	}
	virtq_kick(&net_tx);
	end = tsc_deadline_us(2000000);
	while (!virtq_get(&net_tx, &head, NULL)) {
		if (tsc_passed(end)) {
			a->fail = "transmitted frame not returned by the device within 2 s";
			return false;
		}
		cpu_pause();
	}
	a->sent++;
	return true;
}

static void net_repost(u16 head, u8 *bufs)
{
	struct virtq_buf b = { (u64)(uintptr_t)(bufs + (u64)head * NET_BUF), NET_BUF };

	virtq_add(&net_rx, &b, 0, 1);
	virtq_kick(&net_rx);
}

/* Waits for a frame of `kind` (and seq, for replies); checks it.  Returns
 * 1 if got, 0 on timeout, -1 on a bad frame (a->fail set). */
static int net_wait(struct net_args *a, u16 kind, u32 seq, u64 timeout_us)
{
	u64 end = tsc_deadline_us(timeout_us);

	for (;;) {
		u16 head;
		u32 len, dlen;
		const u8 *f;

		if (!virtq_get(&net_rx, &head, &len)) {
			if (tsc_passed(end))
				return 0;
			cpu_pause();
			continue;
		}
		a->rx_total++;
		if (head >= NET_RXBUFS) {
			a->fail = "receive queue returned an unknown buffer";
			return -1;
		}
		f = a->rxbufs + (u64)head * NET_BUF + NET_HDR_LEN;
		if (len < NET_HDR_LEN + 30 || len > NET_BUF ||
		    f[12] != NET_ETHERTYPE >> 8 || f[13] != (NET_ETHERTYPE & 0xFF) ||
		    net_get16(f + 26) != kind || (kind == 2 && net_get32(f + 22) != seq)) {
			a->ignored++;		/* not ours, or a late duplicate */
			net_repost(head, a->rxbufs);
			continue;
		}
		dlen = net_get16(f + 28);
		for (u32 i = 0; i < 6; i++)
			if (f[i] != a->mac[i]) {
				a->fail = "frame for another MAC address";
				return -1;
			}
		if (len < NET_HDR_LEN + 30 + dlen) {
			a->fail = "frame shorter than its data length";
			a->fail_a = len;
			a->fail_b = dlen;
			return -1;
		}
		for (u32 j = 0; j < dlen; j++) {
			u32 s = net_get32(f + 22);
			u8 want = kind == 2 ? (u8)((s * 7 + j) ^ 0xA5) : (u8)(s + j);

			if (f[30 + j] != want) {
				a->fail = "frame data differs";
				a->fail_seq = s;
				a->fail_a = j;
				a->fail_b = f[30 + j];
				return -1;
			}
		}
		if (kind == 4 && net_get32(f + 22) != seq) {
			a->fail = "burst frame out of order";
			a->fail_a = net_get32(f + 22);
			a->fail_b = seq;
			return -1;
		}
		if (kind == 2 && dlen != net_sizes[seq % KIT_ARRAY_SIZE(net_sizes)]) {
			a->fail = "reply length differs";
			a->fail_a = dlen;
			return -1;
		}
		net_repost(head, a->rxbufs);
		return 1;
	}
}

static u64 net_user(u64 argp)
{
	struct net_args *a = (void *)(uintptr_t)argp;

	for (u32 seq = 0; seq < a->frames; seq++) {
		u32 len = net_sizes[seq % KIT_ARRAY_SIZE(net_sizes)];
		int r = 0;

		for (int tries = 0; tries < 3 && r == 0; tries++) {
			u32 before = net_irqs;
			bool irq = false;

			if (tries)
				a->resent++;
			if (a->msix)	/* one interrupt, for the next frame received */
				virtq_irq(&net_rx, true);
			if (!net_send(a, seq, 1, len))
				return 1;
			if (a->msix) {
				/* the interrupt first, then look at the ring */
				u64 end = tsc_deadline_us(2000000);

				while (net_irqs == before && !tsc_passed(end))
					cpu_pause();
				irq = net_irqs != before;
			}
			r = net_wait(a, 2, seq, a->msix ? 100000 : 2000000);
			if (r > 0 && a->msix && !irq) {
				a->fail = "a reply arrived but no MSI-X interrupt (armed with used_event)";
				a->fail_seq = seq;
				return 1;
			}
			a->irq_replies += irq;
		}
		if (r < 0)
			return 1;
		if (r == 0) {
			a->fail = "no reply to an echo request (3 tries, 2 s each)";
			a->fail_seq = seq;
			return 1;
		}
		a->replies++;
	}
	virtq_irq(&net_rx, false);	/* the burst is polled */
	if (!a->burst)
		return 0;
	if (!net_send(a, a->burst, 3, 0))
		return 1;
	for (u32 i = 0; i < a->burst; i++) {
		int r = net_wait(a, 4, i, 3000000);

		if (r < 0)
			return 1;
		if (r == 0) {
			a->fail = "burst frame missing";
			a->fail_seq = i;
			return 1;
		}
		a->burst_got++;
	}
	return 0;
}

static void net_irq_handler(struct idt_frame *f)
{
	(void)f;
	net_irqs++;
	lapic_eoi();
}

static bool net_parse_mac(const char *s, u8 mac[6])
{
	for (int i = 0; i < 6; i++) {
		u32 v = 0;

		for (int k = 0; k < 2; k++, s++) {
			char c = *s;

			v <<= 4;
			if (c >= '0' && c <= '9')
				v |= (u32)(c - '0');
			else if (c >= 'a' && c <= 'f')
				v |= (u32)(c - 'a' + 10);
			else if (c >= 'A' && c <= 'F')
				v |= (u32)(c - 'A' + 10);
			else
				return false;
		}
		mac[i] = (u8)v;
		if (i < 5 && *s++ != ':')
			return false;
	}
	return *s == '\0';
}

const char *test_virtio_net(void)
{
	static struct net_args a;
	char macstr[32];
	u8 want_mac[6];
	u64 frames = 32, burst = 64, msix = 1, t0, dt;
	const char *why;
	u16 vec = VIRTIO_NO_VECTOR;

	cmdline_u64("frames", &frames);
	cmdline_u64("burst", &burst);
	cmdline_u64("msix", &msix);
	if ((why = virtio_pci_find(VIRTIO_ID_NET, 0, &net_dev)))
		return why;
	/* no checksum/TSO offloads, no MRG_RXBUF, no control queue */
	if ((why = virtio_negotiate(&net_dev, VIRTIO_NET_F_MAC | VIRTIO_NET_F_STATUS |
				    VIRTIO_F_INDIRECT_DESC | VIRTIO_F_EVENT_IDX, VIRTIO_NET_F_MAC)))
		return why;
	for (u32 i = 0; i < 6; i++)
		a.mac[i] = virtio_cfg_read8(&net_dev, i);
	fmt_snprintf(macstr, sizeof(macstr), "%02x:%02x:%02x:%02x:%02x:%02x", a.mac[0], a.mac[1],
		     a.mac[2], a.mac[3], a.mac[4], a.mac[5]);
	serial_printf("virtio_net: MAC %s", macstr);
	if (net_dev.features & VIRTIO_NET_F_STATUS)
		serial_printf(", status %x", virtio_cfg_read16(&net_dev, 6));
	serial_printf("\n");
	if (cmdline_value("mac", macstr, sizeof(macstr))) {
		if (!net_parse_mac(macstr, want_mac))
			return kit_reason("bad mac=%s on the command line", macstr);
		if (memcmp(want_mac, a.mac, 6))
			return kit_reason("device MAC differs from mac=%s", macstr);
	}
	if ((net_dev.features & VIRTIO_NET_F_STATUS) && !(virtio_cfg_read16(&net_dev, 6) & 1))
		return "link is down (VIRTIO_NET_S_LINK_UP clear)";
	if (msix) {
		if (acpi_init())
			madt_init();
		pic_mask_all();
		lapic_enable();
		idt_set_handler(NET_MSIX_VECTOR, net_irq_handler);
		if ((why = virtio_msix_route(&net_dev, 0, NET_MSIX_VECTOR)))
			return why;
		vec = 0;
	}
	if ((why = virtio_queue_setup(&net_dev, &net_rx, 0, NET_RXBUFS, vec)))
		return why;
	if ((why = virtio_queue_setup(&net_dev, &net_tx, 1, 16, VIRTIO_NO_VECTOR)))
		return why;
	a.rxbufs = virtq_dma_alloc(NET_RXBUFS * NET_BUF, 4096);
	a.txbuf = virtq_dma_alloc(NET_BUF, 4096);
	if (!a.rxbufs || !a.txbuf)
		return "out of DMA memory";
	for (u32 i = 0; i < net_rx.size; i++) {
		struct virtq_buf b = { (u64)(uintptr_t)(a.rxbufs + (u64)i * NET_BUF), NET_BUF };

		if (virtq_add(&net_rx, &b, 0, 1) != (int)i)
			return "receive queue: unexpected descriptor numbering";
	}
	virtio_driver_ok(&net_dev);
	virtq_kick(&net_rx);

	a.msix = msix != 0;
	a.frames = (u32)frames;
	a.burst = (u32)burst;
	t0 = rdtsc();
	run_user_irq(net_user, (u64)(uintptr_t)&a);
	dt = rdtsc() - t0;
	if (user_fault_vector >= 0)
		return virtq_strerror(VIRTQ_ERR_FAULT);
	serial_printf("virtio_net: %u frames sent (%u resent), %u replies, %u/%u burst frames, "
		      "%u received, %u ignored; %u rx interrupts, %u replies announced by one; %lu TSC "
		      "ticks\n", a.sent, a.resent, a.replies, a.burst_got, a.burst, a.rx_total, a.ignored,
		      net_irqs, a.irq_replies, dt);
	if (a.fail)
		return kit_reason("%s (seq %u; %u, %u)", a.fail, a.fail_seq, a.fail_a, a.fail_b);
	if (msix && a.irq_replies < a.replies)
		return kit_reason("only %u of %u replies announced by an MSI-X interrupt (vector %x)",
				  a.irq_replies, a.replies, NET_MSIX_VECTOR);
	virtio_reset(&net_dev);
	return NULL;
}
