// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target for the virtio-pci transport (src/virtio/pci.c), the PCI
 * host (src/pci/pci.c: CF8/CFC, ECAM, BARs), MSI-X (src/pci/msix.c) and the
 * two simplest devices behind them, virtio-rng and virtio-console.
 *
 * The input is the guest: its memory layout (two RAM regions, maybe a hole
 * between them), a script of what its vCPUs and the host do -- BAR reads and
 * writes (common config, ISR, device config, notify, MSI-X table and PBA),
 * config-space accesses through ECAM and CF8/CFC (BAR moves, command
 * register, MSI-X control, the VIRTIO_PCI_CAP_PCI_CFG window), kicks run as
 * the I/O thread would, console input and output drains, save/restore --
 * and the guest memory image (rings, descriptors, buffers).  Both devices
 * sit on one host with real buses; the MSI router, the ioeventfd wiring and
 * the INTx line are fakes that can be told to fail.  Each RAM region is its
 * own heap allocation, so AddressSanitizer reports any access outside guest
 * RAM.  Everything is created and destroyed per input.
 *
 * Checked after every operation: MSI-X vectors the transport holds are in
 * the table or NO_VECTOR; a device that processes its queues has
 * FEATURES_OK and only offered features; rng never reports more than
 * VIRTIO_RNG_MAX_REQUEST bytes in a used element; transport, MSI-X and
 * console save -> restore -> save give the same bytes.
 *
 * Input layout:
 *   4 bytes     region 0 pages - 1 (% 16), hole pages (% 4), region 1 pages - 1
 *               (% 16), n = operations (% 128)
 *   8n bytes    n operations: opcode (run_op), then 7 bytes of arguments; the
 *               first is the device (bit 0) for most.  Opcode 12 is a whole
 *               driver init: queue q of size 1 << (a[1] % 9) at base =
 *               a[2..3] * 16 + q * ALIGN_UP(ring bytes + 64, 16), desc, avail,
 *               used back to back (used 4-aligned); a[1] bit 7: MSI-X on
 *               (vector q + 1 for queue q), bit 6: every offered feature
 *   the rest    guest memory image: region 0 from its start, then region 1
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "fuzz_input.h"
#include "bus.h"
#include "evloop.h"
#include "log.h"
#include "memory.h"
#include "pci/msix.h"
#include "pci/pci.h"
#include "util.h"
#include "virtio/console.h"
#include "virtio/pci.h"
#include "virtio/rng.h"
#include "virtio/virtio.h"

#define PAGE    4096u
#define NDEV    2               /* 0: rng (slot 1), 1: console (slot 2) */

static struct state {
	struct guest_mem gm;
	uint64_t span;
	struct bus pio, mmio;
	struct pci_host host;
	struct evloop ev;
	struct virtio_dev *vd[NDEV];
	struct virtio_pci vp[NDEV];
	int pipe[2];
	int stopper;                    /* always readable: bounds an evloop run */
	unsigned int stopper_calls;
	int next_gsi;
	bool route_fail, ioev_fail;
	unsigned int irqs;
} s;

/* ---- fakes ---- */

static int fz_route(void *ctx, int *gsi, uint64_t addr, uint32_t data, int efd)
{
	(void)ctx; (void)addr; (void)data; (void)efd;
	if (s.route_fail)
		return -ENOSPC;
	if (*gsi < 0)
		*gsi = s.next_gsi++;
	return 0;
}

static void fz_release(void *ctx, int gsi, int efd)
{
	(void)ctx; (void)gsi; (void)efd;
}

static int fz_ioev(void *ctx, uint64_t addr, int efd, bool assign)
{
	(void)ctx; (void)addr; (void)efd;
	return assign && s.ioev_fail ? -ENOSPC : 0;
}

static int fz_irq(void *ctx, unsigned int gsi, int level)
{
	(void)ctx; (void)gsi;
	s.irqs += level;
	return 0;
}

static void stopper_cb(void *opaque, uint32_t events)
{
	(void)opaque; (void)events;
	/* The second time round every other ready fd had its turn. */
	if (++s.stopper_calls >= 2)
		evloop_stop(&s.ev);
}

/* ---- set-up ---- */

static bool setup(void)
{
	struct virtio_env env = { .mem = &s.gm, .io = &s.ev, .nr_vcpus = 1 };
	struct msi_router router = { fz_route, fz_release, NULL };
	struct ioeventfd_ops ioev = { fz_ioev, NULL };
	uint64_t one = 1;

	CHECK(bus_init(&s.pio, "pio") == 0);
	CHECK(bus_init(&s.mmio, "mmio") == 0);
	CHECK(evloop_init(&s.ev) == 0);
	CHECK(pci_host_init(&s.host, &s.pio, &s.mmio, MEM_4G,
			    (struct irq_line){ fz_irq, NULL, 0 }) == 0);
	CHECK(pipe2(s.pipe, O_CLOEXEC | O_NONBLOCK) == 0);
	fcntl(s.pipe[1], F_SETPIPE_SZ, 4096);
	s.stopper = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	CHECK(s.stopper >= 0);
	CHECK(write(s.stopper, &one, sizeof(one)) == sizeof(one));
	CHECK(evloop_add(&s.ev, s.stopper, EPOLLIN, stopper_cb, NULL) == 0);
	CHECK(virtio_rng_create(&s.vd[0], &env) == 0);
	CHECK(virtio_console_create(&s.vd[1], &env, s.pipe[1]) == 0);
	for (unsigned int i = 0; i < NDEV; i++) {
		CHECK(virtio_pci_init(&s.vp[i], s.vd[i], &s.ev, router, ioev) == 0);
		CHECK(pci_host_add(&s.host, &s.vp[i].pci) == 0);
	}
	return true;
}

static void teardown(void)
{
	for (unsigned int i = 0; i < NDEV; i++) {
		virtio_pci_destroy(&s.vp[i]);
		s.vd[i]->ops->destroy(s.vd[i]);
	}
	evloop_del(&s.ev, s.stopper);
	close(s.stopper);
	close(s.pipe[0]);
	close(s.pipe[1]);
	pci_host_destroy(&s.host);
	evloop_destroy(&s.ev);
	bus_destroy(&s.mmio);
	bus_destroy(&s.pio);
}

/* ---- the guest's accesses ---- */

static unsigned int size_of(uint8_t b)
{
	return 1u << (b % 4);
}

static uint64_t bar_of(unsigned int d)
{
	uint64_t m = s.vp[d].pci.bars[0].mapped;

	/* Not decoded: aim at where it was assigned (the access is unclaimed or hits another range). */
	return m != PCI_BAR_UNMAPPED ? m : MEM_4G + d * VIRTIO_PCI_BAR_SIZE;
}

static uint64_t arg(const uint8_t *a, unsigned int from, unsigned int n)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < n; i++)
		v |= (uint64_t)a[from + i] << (8 * i);
	return v;
}

/* What a kick does on the I/O thread, for every queue whose eventfd fired. */
static void io_thread(unsigned int d)
{
	for (unsigned int q = 0; q < s.vd[d]->nr_queues; q++) {
		uint64_t n;

		if (read(s.vp[d].kicks[q].efd, &n, sizeof(n)) == sizeof(n))
			virtio_pci_kick(&s.vp[d], q);
	}
}

/* A well-formed driver init with a queue layout from the arguments (gets the fuzzer deep). */
static void driver_init(unsigned int d, const uint8_t *a)
{
	struct virtio_pci *vp = &s.vp[d];
	struct virtio_dev *vd = s.vd[d];
	uint16_t size = 1u << (a[0] % 9);
	uint64_t base = arg(a, 1, 2) * 16 % s.span;
	bool msix = a[0] & 0x80;
	uint64_t f = VIRTIO_BIT(VIRTIO_F_VERSION_1) | (a[0] & 0x40 ? vd->host_features : 0);

	virtio_pci_bar_write(vp, 0x14, 1, 0);
	virtio_pci_bar_write(vp, 0x14, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	virtio_pci_bar_write(vp, 0x08, 4, 0);
	virtio_pci_bar_write(vp, 0x0c, 4, (uint32_t)f);
	virtio_pci_bar_write(vp, 0x08, 4, 1);
	virtio_pci_bar_write(vp, 0x0c, 4, f >> 32);
	virtio_pci_bar_write(vp, 0x14, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
			     VIRTIO_STATUS_FEATURES_OK);
	if (msix) {
		pci_cfg_write(&s.host, 0, vp->pci.slot << 3, vp->msix.cap + 2, 2, MSIX_CTRL_ENABLE);
		for (unsigned int v = 0; v < vp->msix.nr; v++) {
			msix_table_write(&vp->msix, 16 * v, 8, 0xfee00000ULL);
			msix_table_write(&vp->msix, 16 * v + 8, 4, 0x40 + v);
			msix_table_write(&vp->msix, 16 * v + 12, 4, 0);
		}
		virtio_pci_bar_write(vp, 0x10, 2, 0);
	}
	for (unsigned int q = 0; q < vd->nr_queues; q++) {
		uint64_t desc = base + q * ALIGN_UP(VIRTQ_DESC_BYTES(size) + VIRTQ_AVAIL_BYTES(size) +
						    VIRTQ_USED_BYTES(size) + 64, 16);
		uint64_t avail = desc + VIRTQ_DESC_BYTES(size);
		uint64_t used = ALIGN_UP(avail + VIRTQ_AVAIL_BYTES(size), 4);

		virtio_pci_bar_write(vp, 0x16, 2, q);
		virtio_pci_bar_write(vp, 0x18, 2, size);
		virtio_pci_bar_write(vp, 0x1a, 2, msix ? q + 1 : MSIX_NO_VECTOR);
		virtio_pci_bar_write(vp, 0x20, 8, desc);
		virtio_pci_bar_write(vp, 0x28, 8, avail);
		virtio_pci_bar_write(vp, 0x30, 8, used);
		virtio_pci_bar_write(vp, 0x1c, 2, 1);
	}
	virtio_pci_bar_write(vp, 0x14, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
			     VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
}

static void save_restore(unsigned int d, const uint8_t *a)
{
	struct virtio_pci *vp = &s.vp[d];
	static struct virtio_pci_state t1, t2, bad;
	static struct msix_state m1, m2;
	static struct virtio_console_state c1, c2;

	virtio_pci_save(vp, &t1);
	CHECK(virtio_pci_restore(vp, &t1) == 0);
	virtio_pci_save(vp, &t2);
	CHECK(memcmp(&t1, &t2, sizeof(t1)) == 0);
	/* A corrupted state: refused with nothing changed, or accepted as a whole. */
	bad = t1;
	((uint8_t *)&bad)[arg(a, 0, 2) % sizeof(bad)] ^= a[2] | 1;
	if (virtio_pci_restore(vp, &bad) == 0) {
		virtio_pci_save(vp, &t2);
		CHECK(memcmp(&bad, &t2, sizeof(bad)) == 0);
	} else {
		virtio_pci_save(vp, &t2);
		CHECK(memcmp(&t1, &t2, sizeof(t1)) == 0);
	}
	msix_save(&vp->msix, &m1);
	CHECK(msix_restore(&vp->msix, &m1) == 0);
	msix_save(&vp->msix, &m2);
	/*
	 * The same table; pending bits may only go: restoring routes an active
	 * vector whose route had failed and delivers what was pending.
	 */
	CHECK(memcmp(&m1.vec, &m2.vec, sizeof(m1.vec)) == 0 && m1.nr == m2.nr);
	for (unsigned int i = 0; i < ARRAY_SIZE(m1.pba); i++)
		CHECK(!(m2.pba[i] & ~m1.pba[i]));
	if (d == 1) {
		struct virtio_dev *vd = s.vd[1];

		CHECK(vd->ops->state_size == sizeof(c1));
		virtio_dev_lock(vd);
		vd->ops->save(vd, &c1);
		CHECK(vd->ops->restore(vd, &c1) == 0);
		vd->ops->save(vd, &c2);
		CHECK(memcmp(&c1, &c2, sizeof(c1)) == 0);
		c2.reserved = a[3];
		CHECK((vd->ops->restore(vd, &c2) == 0) == (a[3] == 0));
		virtio_dev_unlock(vd);
	}
}

static void check_invariants(void)
{
	for (unsigned int d = 0; d < NDEV; d++) {
		struct virtio_pci *vp = &s.vp[d];
		struct virtio_dev *vd = s.vd[d];

		CHECK(vp->msix_config == MSIX_NO_VECTOR || vp->msix_config < vp->msix.nr);
		for (unsigned int q = 0; q < vd->nr_queues; q++)
			CHECK(vp->queue_msix[q] == MSIX_NO_VECTOR || vp->queue_msix[q] < vp->msix.nr);
		if (virtio_dev_running(vd) && !(vd->status & VIRTIO_STATUS_FEATURES_OK))
			CHECK(!"a device runs without FEATURES_OK");
		if (vd->status & VIRTIO_STATUS_FEATURES_OK)
			CHECK(!(vd->features & ~vd->host_features) &&
			      (vd->features & VIRTIO_BIT(VIRTIO_F_VERSION_1)));
	}
}

/* rng: every used element written by this kick reports at most the cap. */
static void kick_checked(unsigned int d, unsigned int q)
{
	struct virtq *vq = q < s.vd[d]->nr_queues ? &s.vd[d]->vqs[q] : NULL;
	uint16_t before = vq ? vq->s.next_used : 0;

	virtio_pci_kick(&s.vp[d], q);
	if (d != 0 || !vq || !vq->s.ready)
		return;
	for (uint16_t i = before; i != vq->s.next_used; i++)
		CHECK(le32toh(vq->used->ring[i % vq->s.size].len) <= VIRTIO_RNG_MAX_REQUEST);
}

static void run_op(const uint8_t *op)
{
	const uint8_t *a = op + 1;
	unsigned int d = a[0] & 1;
	struct virtio_pci *vp = &s.vp[d];
	uint64_t v = 0;

	switch (op[0] % 20) {
	case 0:                                 /* vCPU: BAR read */
	case 1:
		bus_access(&s.mmio, bar_of(d) + arg(a, 1, 2) % VIRTIO_PCI_BAR_SIZE, &v,
			   size_of(a[3]), false);
		break;
	case 2:                                 /* vCPU: BAR write */
	case 3:
	case 4:
		v = arg(a, 4, 3) | (uint64_t)a[4] << 56;
		bus_access(&s.mmio, bar_of(d) + arg(a, 1, 2) % VIRTIO_PCI_BAR_SIZE, &v,
			   size_of(a[3]), true);
		break;
	case 5:                                 /* common config, the registers that matter */
		v = arg(a, 3, 4);
		virtio_pci_bar_write(vp, a[1] % 0x40, size_of(a[2]), v);
		break;
	case 6:                                 /* ECAM read */
		bus_access(&s.mmio, PCI_ECAM_BASE + ((uint64_t)(a[1] % 4) << 15) +
			   (arg(a, 2, 2) & 0xfff), &v, size_of(a[4]), false);
		break;
	case 7:                                 /* ECAM write (capabilities, BARs, command) */
	case 8:
		v = arg(a, 3, 4);
		bus_access(&s.mmio, PCI_ECAM_BASE + ((uint64_t)(1 + d) << 15) + (a[1] & 0xff),
			   &v, size_of(a[2]), true);
		break;
	case 9: {                               /* CF8/CFC */
		uint32_t latch = 0x80000000u | (a[1] % 4) << 11 | (a[2] & 0xfc);

		bus_access(&s.pio, PCI_CFG_ADDR_PORT, &latch, 4, true);
		v = arg(a, 4, 3);
		bus_access(&s.pio, PCI_CFG_DATA_PORT + (a[3] & 3), &v, size_of(a[3] >> 2),
			   a[3] & 0x80);
		break;
	}
	case 10:                                /* the I/O thread */
		io_thread(d);
		break;
	case 11:
		kick_checked(d, a[1] % 3);      /* queue 2 does not exist for either */
		break;
	case 12:
		driver_init(d, a + 1);
		break;
	case 13: {                              /* host console input */
		static uint8_t buf[VIRTIO_CONSOLE_INBUF];

		memset(buf, a[2], sizeof(buf));
		virtio_console_input(s.vd[1], buf, a[1] % 64);
		if (a[3] & 1)           /* fill the input buffer up */
			virtio_console_input(s.vd[1], buf, sizeof(buf));
		break;
	}
	case 14: {                              /* the console's reader drains, the loop runs */
		uint8_t buf[4096];

		if (read(s.pipe[0], buf, (a[1] + 1) * 16u) < 0 && errno != EAGAIN)
			CHECK(!"pipe read");
		s.stopper_calls = 0;
		s.ev.stop = false;
		CHECK(evloop_run(&s.ev) == 0);
		break;
	}
	case 15:
		save_restore(d, a + 1);
		break;
	case 16: {                              /* the guest writes 4 bytes anywhere in its RAM */
		void *p = mem_ptr(&s.gm, arg(a, 1, 3) % s.span, 4);

		if (p)
			memcpy(p, a + 3, 4);
		break;
	}
	case 17:                                /* device events */
		msix_notify(&vp->msix, a[1] % (vp->msix.nr + 2));
		virtio_dev_lock(s.vd[d]);
		if (a[2] & 1)
			virtio_dev_config_changed(s.vd[d]);
		virtio_dev_unlock(s.vd[d]);
		break;
	case 18:                                /* KVM refuses routes / ioeventfds from now on */
		s.route_fail = a[1] & 1;
		s.ioev_fail = a[1] & 2;
		break;
	case 19:                                /* direct handler calls with any offset */
		v = arg(a, 1, 6) << (a[0] >> 4);
		if (a[0] & 2)
			virtio_pci_bar_write(vp, v, size_of(a[0] >> 2), ~0ULL);
		else
			virtio_pci_bar_read(vp, v, size_of(a[0] >> 2));
		break;
	}
	check_invariants();
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_set_level(LOG_ERR);         /* guest errors are the point here */
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data;
	size_t n = size, ops_len, img;
	uint64_t r0, hole, r1;
	unsigned int nops;

	if (n < 4)
		return 0;
	memset(&s, 0, sizeof(s));
	r0 = PAGE * (1 + p[0] % 16);
	hole = PAGE * (p[1] % 4);
	r1 = PAGE * (1 + p[2] % 16);
	nops = p[3] % 128;
	p += 4;
	n -= 4;
	s.gm.nr = 2;
	s.gm.regions[0] = (struct mem_region){ 0, r0, aligned_alloc(PAGE, r0) };
	s.gm.regions[1] = (struct mem_region){ r0 + hole, r1, aligned_alloc(PAGE, r1) };
	s.gm.total = r0 + r1;
	s.span = r0 + hole + r1;
	if (!s.gm.regions[0].hva || !s.gm.regions[1].hva)
		goto out;
	memset(s.gm.regions[0].hva, 0, r0);
	memset(s.gm.regions[1].hva, 0, r1);
	ops_len = MIN(n, (size_t)nops * 8);
	img = MIN(n - ops_len, r0);
	memcpy(s.gm.regions[0].hva, p + ops_len, img);
	memcpy(s.gm.regions[1].hva, p + ops_len + img, MIN(n - ops_len - img, r1));

	setup();
	for (size_t i = 0; i + 8 <= ops_len; i += 8)
		run_op(p + i);
	/* The driver resets both devices: nothing may touch this guest's memory after. */
	for (unsigned int d = 0; d < NDEV; d++) {
		virtio_pci_bar_write(&s.vp[d], 0x14, 1, 0);
		for (unsigned int q = 0; q < s.vd[d]->nr_queues; q++)
			CHECK(!s.vd[d]->vqs[q].s.ready);
	}
	teardown();
out:
	free(s.gm.regions[0].hva);
	free(s.gm.regions[1].hva);
	return 0;
}
