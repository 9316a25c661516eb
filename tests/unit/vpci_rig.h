/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A virtio-pci device on a real PCI host and real buses, driven the way a
 * guest driver would: config space through ECAM, registers through MMIO on
 * the bus, rings in fake guest memory.  Fakes: the MSI router (records
 * routes; interrupts are counted by reading the vectors' eventfds), the
 * ioeventfd wiring (records assigns/deassigns) and the INTx line.  The I/O
 * thread is simulated: io_step() does what the kick callback does.
 */
#ifndef KITE_TEST_VPCI_RIG_H
#define KITE_TEST_VPCI_RIG_H

#include <endian.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bus.h"
#include "evloop.h"
#include "pci/msix.h"
#include "pci/pci.h"
#include "virtio/pci.h"
#include "virtio/virtio.h"

#include "fake_guest.h"

/* Offsets in struct virtio_pci_common_cfg (§4.1.4.3). */
#define CC_DFSELECT     0x00
#define CC_DF           0x04
#define CC_GFSELECT     0x08
#define CC_GF           0x0c
#define CC_MSIX_CONFIG  0x10
#define CC_NUM_QUEUES   0x12
#define CC_STATUS       0x14
#define CC_CFG_GEN      0x15
#define CC_Q_SELECT     0x16
#define CC_Q_SIZE       0x18
#define CC_Q_MSIX       0x1a
#define CC_Q_ENABLE     0x1c
#define CC_Q_NOTIFY_OFF 0x1e
#define CC_Q_DESC       0x20
#define CC_Q_DRIVER     0x28
#define CC_Q_DEVICE     0x30

#define ST_ACK          VIRTIO_STATUS_ACKNOWLEDGE
#define ST_DRIVER       VIRTIO_STATUS_DRIVER
#define ST_DRIVER_OK    VIRTIO_STATUS_DRIVER_OK
#define ST_FEATURES_OK  VIRTIO_STATUS_FEATURES_OK
#define ST_NEEDS_RESET  VIRTIO_STATUS_DEVICE_NEEDS_RESET

#define RIG_QSIZE       64
#define RIG_MAXQ        4
#define RIG_RINGS       0x100000ULL     /* queue q: desc, avail, used at + q * 0x10000 */
#define RIG_HEAP        0x400000ULL
#define RIG_MSI_ADDR    0xfee00000ULL
#define RIG_SLOT        1               /* the first device after the host bridge */
#define RIG_DEVFN       (RIG_SLOT << 3)

#define QDESC(q)        (RIG_RINGS + (q) * 0x10000ULL)
#define QAVAIL(q)       (QDESC(q) + 0x4000)
#define QUSED(q)        (QDESC(q) + 0x8000)

struct fake_route {
	bool live;
	uint64_t addr;
	uint32_t data;
	int efd;
};

struct fake_ioev {
	uint64_t addr;
	int efd;
};

struct rig {
	struct fake *g;
	struct bus pio, mmio;
	struct pci_host host;
	struct evloop ev;
	struct virtio_env env;
	struct virtio_dev *vd;
	struct virtio_pci vp;
	/* MSI router */
	struct fake_route routes[64];
	int next_gsi;
	unsigned int route_calls, release_calls;
	int route_fail;
	/* ioeventfds: the live ones, and counters */
	struct fake_ioev ioev[RIG_MAXQ * 4];
	unsigned int nr_ioev, assigns, deassigns;
	int ioev_fail;
	/* INTx */
	int intx_level;
	unsigned int intx_gsi, intx_sets;
	/* the driver's state */
	uint64_t bar;
	uint16_t avail_idx[RIG_MAXQ], next_desc[RIG_MAXQ], used_seen[RIG_MAXQ];
	gpa_t heap;
};

/* ---- fakes ---- */

static inline int rig_route(void *ctx, int *gsi, uint64_t addr, uint32_t data, int efd)
{
	struct rig *r = ctx;

	r->route_calls++;
	if (r->route_fail)
		return -r->route_fail;
	if (*gsi < 0)
		*gsi = r->next_gsi++;
	if (*gsi >= (int)ARRAY_SIZE(r->routes))
		return -ENOSPC;
	r->routes[*gsi] = (struct fake_route){ true, addr, data, efd };
	return 0;
}

static inline void rig_release(void *ctx, int gsi, int efd)
{
	struct rig *r = ctx;

	r->release_calls++;
	if (gsi >= 0 && gsi < (int)ARRAY_SIZE(r->routes) && r->routes[gsi].efd == efd)
		r->routes[gsi].live = false;
}

static inline int rig_ioev_set(void *ctx, uint64_t addr, int efd, bool assign)
{
	struct rig *r = ctx;

	if (assign) {
		r->assigns++;
		if (r->ioev_fail)
			return -r->ioev_fail;
		for (unsigned int i = 0; i < r->nr_ioev; i++)
			if (r->ioev[i].addr == addr)
				return -EEXIST;     /* as KVM: one per address */
		if (r->nr_ioev == ARRAY_SIZE(r->ioev))
			return -ENOSPC;
		r->ioev[r->nr_ioev++] = (struct fake_ioev){ addr, efd };
		return 0;
	}
	r->deassigns++;
	for (unsigned int i = 0; i < r->nr_ioev; i++) {
		if (r->ioev[i].addr == addr && r->ioev[i].efd == efd) {
			r->ioev[i] = r->ioev[--r->nr_ioev];
			return 0;
		}
	}
	return -ENOENT;
}

static inline int rig_set_irq(void *ctx, unsigned int gsi, int level)
{
	struct rig *r = ctx;

	r->intx_sets++;
	r->intx_gsi = gsi;
	r->intx_level = level;
	return 0;
}

/* ---- set-up ---- */

typedef int (*rig_create_fn)(struct virtio_dev **vd, const struct virtio_env *env, void *arg);

static inline void rig_init(struct rig *r, uint64_t guest_size, rig_create_fn create, void *arg)
{
	struct msi_router router = { rig_route, rig_release, r };
	struct ioeventfd_ops ioev = { rig_ioev_set, r };
	uint64_t ram_end = MEM_4G;

	memset(r, 0, sizeof(*r));
	r->g = layout_guest(guest_size);
	for (unsigned int i = 0; i < r->g->gm.nr; i++)
		ram_end = MAX(ram_end, r->g->gm.regions[i].gpa + r->g->gm.regions[i].size);
	r->heap = RIG_HEAP;
	assert_int_equal(bus_init(&r->pio, "pio"), 0);
	assert_int_equal(bus_init(&r->mmio, "mmio"), 0);
	assert_int_equal(evloop_init(&r->ev), 0);
	assert_int_equal(pci_host_init(&r->host, &r->pio, &r->mmio, ram_end,
				       (struct irq_line){ rig_set_irq, r, 0 }), 0);
	r->env = (struct virtio_env){ .mem = &r->g->gm, .io = &r->ev, .nr_vcpus = 1 };
	assert_int_equal(create(&r->vd, &r->env, arg), 0);
	assert_true(r->vd->nr_queues <= RIG_MAXQ);
	assert_int_equal(virtio_pci_init(&r->vp, r->vd, &r->ev, router, ioev), 0);
	assert_int_equal(pci_host_add(&r->host, &r->vp.pci), 0);
	assert_int_equal(r->vp.pci.slot, RIG_SLOT);
	r->bar = r->vp.pci.bars[0].mapped;
	assert_true(r->bar != PCI_BAR_UNMAPPED);
}

static inline void rig_fini(struct rig *r)
{
	virtio_pci_destroy(&r->vp);
	if (r->vd->ops->destroy)
		r->vd->ops->destroy(r->vd);
	pci_host_destroy(&r->host);
	evloop_destroy(&r->ev);
	bus_destroy(&r->mmio);
	bus_destroy(&r->pio);
	free_guest(r->g);
}

/* cmocka fixtures: a rig on the heap (*state), a 60 s alarm against hangs. */
static inline int rig_setup(void **state, uint64_t guest_size, rig_create_fn create, void *arg)
{
	struct rig *r = calloc(1, sizeof(*r));

	assert_non_null(r);
	alarm(60);
	rig_init(r, guest_size, create, arg);
	*state = r;
	return 0;
}

static inline int rig_teardown(void **state)
{
	struct rig *r = *state;

	rig_fini(r);
	free(r);
	alarm(0);
	return 0;
}

/* ---- the driver's accesses ---- */

static inline uint64_t mmio_rd(struct rig *r, uint64_t addr, unsigned int size)
{
	uint64_t v = 0;

	bus_access(&r->mmio, addr, &v, size, false);
	return v;
}

static inline void mmio_wr(struct rig *r, uint64_t addr, unsigned int size, uint64_t v)
{
	bus_access(&r->mmio, addr, &v, size, true);
}

static inline uint64_t bar_rd(struct rig *r, uint64_t off, unsigned int size)
{
	uint64_t v = 0;

	assert_true(bus_access(&r->mmio, r->bar + off, &v, size, false));
	return v;
}

static inline void bar_wr(struct rig *r, uint64_t off, unsigned int size, uint64_t v)
{
	assert_true(bus_access(&r->mmio, r->bar + off, &v, size, true));
}

static inline uint32_t cfg_rd(struct rig *r, uint32_t off, unsigned int size)
{
	return mmio_rd(r, PCI_ECAM_BASE + ((uint64_t)RIG_DEVFN << 12) + off, size);
}

static inline void cfg_wr(struct rig *r, uint32_t off, unsigned int size, uint32_t v)
{
	mmio_wr(r, PCI_ECAM_BASE + ((uint64_t)RIG_DEVFN << 12) + off, size, v);
}

static inline uint8_t status_rd(struct rig *r)
{
	return bar_rd(r, CC_STATUS, 1);
}

static inline void status_wr(struct rig *r, uint8_t st)
{
	bar_wr(r, CC_STATUS, 1, st);
}

static inline uint64_t device_features(struct rig *r)
{
	bar_wr(r, CC_DFSELECT, 4, 0);
	uint64_t lo = bar_rd(r, CC_DF, 4);
	bar_wr(r, CC_DFSELECT, 4, 1);
	return lo | bar_rd(r, CC_DF, 4) << 32;
}

static inline void driver_features(struct rig *r, uint64_t f)
{
	bar_wr(r, CC_GFSELECT, 4, 0);
	bar_wr(r, CC_GF, 4, (uint32_t)f);
	bar_wr(r, CC_GFSELECT, 4, 1);
	bar_wr(r, CC_GF, 4, f >> 32);
}

/* MSI-X capability offset (walks the list). */
static inline unsigned int rig_msix_cap(struct rig *r)
{
	for (unsigned int c = cfg_rd(r, PCI_CAPABILITY_LIST, 1), n = 0; c && n < 64;
	     c = cfg_rd(r, c + 1, 1), n++)
		if (cfg_rd(r, c, 1) == PCI_CAP_ID_MSIX)
			return c;
	fail_msg("no MSI-X capability");
	return 0;
}

/* Enable MSI-X and unmask vector v with message data 0x40 + v. */
static inline void msix_setup(struct rig *r, unsigned int nvec)
{
	unsigned int c = rig_msix_cap(r);

	cfg_wr(r, c + 2, 2, MSIX_CTRL_ENABLE);
	for (unsigned int v = 0; v < nvec; v++) {
		uint64_t e = VIRTIO_PCI_MSIX_TABLE + 16ULL * v;

		bar_wr(r, e + 0, 4, RIG_MSI_ADDR);
		bar_wr(r, e + 4, 4, 0);
		bar_wr(r, e + 8, 4, 0x40 + v);
		bar_wr(r, e + 12, 4, 0);
	}
}

/* Count (and consume) the interrupts vector v delivered. */
static inline uint64_t irqs(struct rig *r, unsigned int v)
{
	uint64_t n = 0;

	if (read(r->vp.msix.vec[v].efd, &n, sizeof(n)) != sizeof(n))
		return 0;
	return n;
}

static inline void *gp(struct rig *r, gpa_t gpa, uint64_t len)
{
	void *p = mem_ptr(&r->g->gm, gpa, len);

	assert_non_null(p);
	return p;
}

/* Set queue q up through the common config (64-bit addresses as two halves, like Linux). */
static inline void queue_setup(struct rig *r, unsigned int q, uint16_t size, uint16_t vector,
			gpa_t desc, gpa_t avail, gpa_t used)
{
	bar_wr(r, CC_Q_SELECT, 2, q);
	bar_wr(r, CC_Q_SIZE, 2, size);
	bar_wr(r, CC_Q_MSIX, 2, vector);
	bar_wr(r, CC_Q_DESC, 4, (uint32_t)desc);
	bar_wr(r, CC_Q_DESC + 4, 4, desc >> 32);
	bar_wr(r, CC_Q_DRIVER, 4, (uint32_t)avail);
	bar_wr(r, CC_Q_DRIVER + 4, 4, avail >> 32);
	bar_wr(r, CC_Q_DEVICE, 4, (uint32_t)used);
	bar_wr(r, CC_Q_DEVICE + 4, 4, used >> 32);
	bar_wr(r, CC_Q_ENABLE, 2, 1);
}

static inline void rings_clear(struct rig *r, unsigned int q)
{
	memset(gp(r, QDESC(q), 0x10000), 0, 0x10000);
	r->avail_idx[q] = r->next_desc[q] = r->used_seen[q] = 0;
}

/*
 * The whole driver init (§3.1.1): reset, ACK, DRIVER, features, FEATURES_OK,
 * queues (vector q + 1 for queue q when msix, config vector 0), DRIVER_OK.
 */
static inline void driver_init(struct rig *r, uint64_t features, bool msix)
{
	status_wr(r, 0);
	assert_int_equal(status_rd(r), 0);
	status_wr(r, ST_ACK);
	status_wr(r, ST_ACK | ST_DRIVER);
	assert_int_equal(device_features(r), r->vd->host_features);
	driver_features(r, features);
	status_wr(r, ST_ACK | ST_DRIVER | ST_FEATURES_OK);
	assert_int_equal(status_rd(r), ST_ACK | ST_DRIVER | ST_FEATURES_OK);
	if (msix) {
		msix_setup(r, r->vd->nr_queues + 1);
		bar_wr(r, CC_MSIX_CONFIG, 2, 0);
		assert_int_equal(bar_rd(r, CC_MSIX_CONFIG, 2), 0);
	}
	for (unsigned int q = 0; q < r->vd->nr_queues; q++) {
		rings_clear(r, q);
		queue_setup(r, q, RIG_QSIZE, msix ? q + 1 : MSIX_NO_VECTOR, QDESC(q), QAVAIL(q),
			    QUSED(q));
		assert_int_equal(bar_rd(r, CC_Q_ENABLE, 2), 1);
	}
	status_wr(r, ST_ACK | ST_DRIVER | ST_FEATURES_OK | ST_DRIVER_OK);
	assert_int_equal(status_rd(r), ST_ACK | ST_DRIVER | ST_FEATURES_OK | ST_DRIVER_OK);
}

/* ---- rings ---- */

static inline gpa_t galloc(struct rig *r, uint64_t len, uint8_t fill)
{
	gpa_t gpa = r->heap;

	r->heap = ALIGN_UP(r->heap + len, 4096);
	assert_true(r->heap <= r->g->gm.regions[0].size);
	memset(gp(r, gpa, len), fill, len);
	return gpa;
}

struct tdesc {
	gpa_t addr;
	uint32_t len;
	uint16_t flags;
};

/* Lay a chain out in queue q's descriptor table and make it available. */
static inline uint16_t publish(struct rig *r, unsigned int q, const struct tdesc *d, unsigned int n)
{
	uint16_t head = r->next_desc[q];
	uint16_t *avail = gp(r, QAVAIL(q), VIRTQ_AVAIL_BYTES(RIG_QSIZE));

	for (unsigned int i = 0; i < n; i++) {
		uint16_t id = (head + i) % RIG_QSIZE;
		struct virtq_desc v = {
			htole64(d[i].addr), htole32(d[i].len),
			htole16(d[i].flags | (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0)),
			htole16((id + 1) % RIG_QSIZE),
		};

		memcpy(gp(r, QDESC(q) + 16ULL * id, 16), &v, 16);
	}
	r->next_desc[q] = (head + n) % RIG_QSIZE;
	avail[2 + r->avail_idx[q] % RIG_QSIZE] = htole16(head);
	r->avail_idx[q]++;
	__atomic_store_n(&avail[1], htole16(r->avail_idx[q]), __ATOMIC_RELEASE);
	return head;
}

static inline uint16_t used_idx(struct rig *r, unsigned int q)
{
	struct virtq_used *u = gp(r, QUSED(q), VIRTQ_USED_BYTES(RIG_QSIZE));

	return le16toh(__atomic_load_n(&u->idx, __ATOMIC_ACQUIRE));
}

static inline struct virtq_used_elem used_elem(struct rig *r, unsigned int q, uint16_t i)
{
	struct virtq_used *u = gp(r, QUSED(q), VIRTQ_USED_BYTES(RIG_QSIZE));

	return (struct virtq_used_elem){ le32toh(u->ring[i % RIG_QSIZE].id),
					 le32toh(u->ring[i % RIG_QSIZE].len) };
}

/* The guest kicks queue q (an MMIO write to its notify address). */
static inline void notify(struct rig *r, unsigned int q)
{
	bar_wr(r, VIRTIO_PCI_NOTIFY + VIRTIO_PCI_NOTIFY_MULT * q, 2, q);
}

/*
 * The I/O thread: for each queue whose kick eventfd is readable, consume it
 * and run the kick, as the eventfd callback does.  Returns the kicks run.
 */
static inline unsigned int io_step(struct rig *r)
{
	unsigned int n = 0;

	for (unsigned int q = 0; q < r->vd->nr_queues; q++) {
		uint64_t cnt;

		if (read(r->vp.kicks[q].efd, &cnt, sizeof(cnt)) == sizeof(cnt)) {
			virtio_pci_kick(&r->vp, q);
			n++;
		}
	}
	return n;
}

/* One request as a driver makes it: lay the chain out, kick, let the I/O thread run once. */
static inline uint16_t submit(struct rig *r, unsigned int q, const struct tdesc *d, unsigned int n)
{
	uint16_t head = publish(r, q, d, n);

	notify(r, q);
	io_step(r);
	return head;
}

#endif
