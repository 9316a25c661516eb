// SPDX-License-Identifier: GPL-2.0-only
/*
 * PCI host bridge (CF8/CFC, ECAM, BARs on the buses) and MSI-X, as a guest
 * sees them: fake devices on a real host and real buses, a fake MSI router.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "bus.h"
#include "log.h"
#include "memory.h"
#include "pci/msix.h"
#include "pci/pci.h"
#include "util.h"

#define TDEV_SLOT       1
#define TDEV_DEVFN      (TDEV_SLOT << 3)
#define BAR0_SIZE       0x1000          /* 32-bit memory */
#define BAR2_SIZE       0x4000          /* 64-bit memory: BAR2 + BAR3 */
#define MMIO64_BASE     0x180000000ULL  /* 6 GiB: "RAM" ends here */
#define NVEC            4

struct moved {
	unsigned int bar;
	uint64_t old, new;
};

struct tdev {
	struct pci_dev pci;
	struct msix msix;
	bool has_msix;
	atomic_uint reads, writes;
	atomic_ullong last_off, last_val;
	struct moved moves[16];
	unsigned int nr_moves;
	/* The blocking handler (see test_move_waits_for_handler). */
	bool block;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	atomic_int inside, release, handler_done, move_done, move_saw_handler_done;
};

struct fix {
	struct bus pio, mmio;
	struct pci_host host;
	struct tdev dev;
	unsigned int intx_sets, intx_gsi;
	int intx_level;
	/* fake MSI router */
	struct { bool live; uint64_t addr; uint32_t data; int efd; } routes[32];
	int next_gsi;
	unsigned int route_calls, release_calls;
	int route_fail;
};

/* ---- the fake device ---- */

static uint64_t tdev_read(void *opaque, uint64_t off, unsigned int size)
{
	struct tdev *t = opaque;

	(void)size;
	if (t->block && off == 0x20) {      /* only the access under test blocks */
		pthread_mutex_lock(&t->mu);
		atomic_store(&t->inside, 1);
		pthread_cond_broadcast(&t->cv);
		while (!atomic_load(&t->release))
			pthread_cond_wait(&t->cv, &t->mu);
		pthread_mutex_unlock(&t->mu);
		atomic_store(&t->handler_done, 1);
	}
	atomic_fetch_add(&t->reads, 1);
	atomic_store(&t->last_off, off);
	return 0xC0DE0000u | off;
}

static void tdev_write(void *opaque, uint64_t off, unsigned int size, uint64_t val)
{
	struct tdev *t = opaque;

	(void)size;
	atomic_fetch_add(&t->writes, 1);
	atomic_store(&t->last_off, off);
	atomic_store(&t->last_val, val);
}

static const struct bus_ops tdev_ops = { .read = tdev_read, .write = tdev_write };

/* BAR2 holds the MSI-X table at 0 and the PBA at 0x800. */
static uint64_t tdev_msix_read(void *opaque, uint64_t off, unsigned int size)
{
	struct tdev *t = opaque;

	return off >= 0x800 ? msix_pba_read(&t->msix, off - 0x800, size) :
			      msix_table_read(&t->msix, off, size);
}

static void tdev_msix_write(void *opaque, uint64_t off, unsigned int size, uint64_t val)
{
	struct tdev *t = opaque;

	if (off < 0x800)
		msix_table_write(&t->msix, off, size, val);
}

static const struct bus_ops tdev_msix_ops = { .read = tdev_msix_read, .write = tdev_msix_write };

static void tdev_bar_moved(struct pci_dev *d, unsigned int bar, uint64_t old, uint64_t new)
{
	struct tdev *t = d->opaque;

	if (t->nr_moves < ARRAY_SIZE(t->moves))
		t->moves[t->nr_moves++] = (struct moved){ bar, old, new };
}

static void tdev_config_written(struct pci_dev *d, uint32_t off, unsigned int size)
{
	struct tdev *t = d->opaque;

	if (t->has_msix)
		msix_config_written(&t->msix, off, size);
}

static const struct pci_dev_ops tdev_pci_ops = {
	.config_written = tdev_config_written,
	.bar_moved = tdev_bar_moved,
};

/* ---- fakes of the machine ---- */

static int fake_set_irq(void *ctx, unsigned int gsi, int level)
{
	struct fix *f = ctx;

	f->intx_sets++;
	f->intx_gsi = gsi;
	f->intx_level = level;
	return 0;
}

static int fake_route(void *ctx, int *gsi, uint64_t addr, uint32_t data, int efd)
{
	struct fix *f = ctx;

	f->route_calls++;
	if (f->route_fail)
		return -f->route_fail;
	if (*gsi < 0)
		*gsi = f->next_gsi++;
	f->routes[*gsi].live = true;
	f->routes[*gsi].addr = addr;
	f->routes[*gsi].data = data;
	f->routes[*gsi].efd = efd;
	return 0;
}

static void fake_release(void *ctx, int gsi, int efd)
{
	struct fix *f = ctx;

	f->release_calls++;
	if (f->routes[gsi].efd == efd)
		f->routes[gsi].live = false;
}

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	struct tdev *t;

	assert_non_null(f);
	alarm(60);
	t = &f->dev;
	assert_int_equal(bus_init(&f->pio, "pio"), 0);
	assert_int_equal(bus_init(&f->mmio, "mmio"), 0);
	assert_int_equal(pci_host_init(&f->host, &f->pio, &f->mmio, MMIO64_BASE,
				       (struct irq_line){ fake_set_irq, f, 0 }), 0);
	pci_dev_init(&t->pci, "tdev", 0x1234, 0x5678, 0x0c0330, 0x07, 0xaaaa, 0xbbbb,
		     &tdev_pci_ops, t);
	pthread_mutex_init(&t->mu, NULL);
	pthread_cond_init(&t->cv, NULL);
	assert_int_equal(pci_dev_add_bar(&t->pci, 0, PCI_BAR_MEM32, BAR0_SIZE, &tdev_ops, t), 0);
	assert_int_equal(pci_dev_add_bar(&t->pci, 2, PCI_BAR_MEM64, BAR2_SIZE, &tdev_msix_ops, t),
			 0);
	assert_int_equal(msix_init(&t->msix, &t->pci, NVEC, 2, 0, 0x800,
				   (struct msi_router){ fake_route, fake_release, f }), 0);
	t->has_msix = true;
	assert_int_equal(pci_host_add(&f->host, &t->pci), 0);
	assert_int_equal(t->pci.slot, TDEV_SLOT);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;

	if (f->dev.has_msix)
		msix_destroy(&f->dev.msix);
	pthread_mutex_destroy(&f->dev.mu);
	pthread_cond_destroy(&f->dev.cv);
	pci_host_destroy(&f->host);
	bus_destroy(&f->mmio);
	bus_destroy(&f->pio);
	free(f);
	alarm(0);
	return 0;
}

/* ---- the guest's accesses ---- */

static uint64_t pio_rd(struct fix *f, uint16_t port, unsigned int size)
{
	uint64_t v = 0;

	bus_access(&f->pio, port, &v, size, false);
	return v;
}

static void pio_wr(struct fix *f, uint16_t port, unsigned int size, uint64_t v)
{
	bus_access(&f->pio, port, &v, size, true);
}

static uint64_t mmio_rd(struct fix *f, uint64_t addr, unsigned int size, bool *claimed)
{
	uint64_t v = 0;
	bool c = bus_access(&f->mmio, addr, &v, size, false);

	if (claimed)
		*claimed = c;
	return v;
}

static bool mmio_wr(struct fix *f, uint64_t addr, unsigned int size, uint64_t v)
{
	return bus_access(&f->mmio, addr, &v, size, true);
}

/* Mechanism #1. */
static uint32_t cf8_rd(struct fix *f, unsigned int bus, unsigned int devfn, unsigned int reg,
		       unsigned int size)
{
	pio_wr(f, PCI_CFG_ADDR_PORT, 4, 0x80000000u | bus << 16 | devfn << 8 | (reg & 0xfc));
	return pio_rd(f, PCI_CFG_DATA_PORT + (reg & 3), size);
}

static void cf8_wr(struct fix *f, unsigned int bus, unsigned int devfn, unsigned int reg,
		   unsigned int size, uint32_t v)
{
	pio_wr(f, PCI_CFG_ADDR_PORT, 4, 0x80000000u | bus << 16 | devfn << 8 | (reg & 0xfc));
	pio_wr(f, PCI_CFG_DATA_PORT + (reg & 3), size, v);
}

static uint64_t ecam(unsigned int devfn, unsigned int reg)
{
	return PCI_ECAM_BASE + ((uint64_t)devfn << 12) + reg;
}

static uint32_t ecam_rd(struct fix *f, unsigned int devfn, unsigned int reg, unsigned int size)
{
	return mmio_rd(f, ecam(devfn, reg), size, NULL);
}

static void ecam_wr(struct fix *f, unsigned int devfn, unsigned int reg, unsigned int size,
		    uint32_t v)
{
	mmio_wr(f, ecam(devfn, reg), size, v);
}

static uint64_t bar_addr(struct fix *f, unsigned int n)
{
	uint64_t lo = ecam_rd(f, TDEV_DEVFN, PCI_BAR0 + 4 * n, 4);

	if ((lo & 6) == 4)
		return (lo & ~0xfULL) | (uint64_t)ecam_rd(f, TDEV_DEVFN, PCI_BAR0 + 4 * n + 4, 4) << 32;
	return lo & ~0xfULL;
}

static bool claimed_at(struct fix *f, uint64_t addr)
{
	bool c;

	mmio_rd(f, addr, 4, &c);
	return c;
}

/* ---- config space ---- */

static void test_ids_cf8_and_ecam(void **state)
{
	struct fix *f = *state;

	/* The host bridge at 00:00.0. */
	assert_int_equal(cf8_rd(f, 0, 0, PCI_VENDOR_ID, 2), 0x1b36);
	assert_int_equal(cf8_rd(f, 0, 0, PCI_DEVICE_ID, 2), 0x0008);
	assert_int_equal(cf8_rd(f, 0, 0, PCI_REVISION_ID, 4) >> 8, 0x060000);
	assert_int_equal(ecam_rd(f, 0, 0, 4), 0x00081b36);
	assert_int_equal(ecam_rd(f, 0, PCI_HEADER_TYPE, 1), 0);
	/* The test device at 00:01.0, both ways, all access sizes. */
	assert_int_equal(cf8_rd(f, 0, TDEV_DEVFN, 0, 4), 0x56781234);
	assert_int_equal(cf8_rd(f, 0, TDEV_DEVFN, PCI_DEVICE_ID, 2), 0x5678);
	assert_int_equal(cf8_rd(f, 0, TDEV_DEVFN, 1, 1), 0x12);
	assert_int_equal(cf8_rd(f, 0, TDEV_DEVFN, 3, 1), 0x56);
	assert_int_equal(cf8_rd(f, 0, TDEV_DEVFN, PCI_REVISION_ID, 4), 0x0c033007);
	assert_int_equal(cf8_rd(f, 0, TDEV_DEVFN, PCI_CLASS_PROG, 1), 0x30);
	assert_int_equal(cf8_rd(f, 0, TDEV_DEVFN, PCI_HEADER_TYPE, 1), 0);
	assert_int_equal(cf8_rd(f, 0, TDEV_DEVFN, PCI_SUBSYSTEM_VENDOR_ID, 4), 0xbbbbaaaa);
	assert_int_equal(ecam_rd(f, TDEV_DEVFN, 0, 4), 0x56781234);
	assert_int_equal(ecam_rd(f, TDEV_DEVFN, PCI_SUBSYSTEM_ID, 2), 0xbbbb);
	assert_int_equal(ecam_rd(f, TDEV_DEVFN, PCI_REVISION_ID, 4), 0x0c033007);
	/* An 8-byte ECAM read is two dwords. */
	assert_int_equal(mmio_rd(f, ecam(TDEV_DEVFN, 0), 8, NULL),
			 0x56781234ULL | (uint64_t)ecam_rd(f, TDEV_DEVFN, 4, 4) << 32);
	/* INTA#, routed to GSI 16 + slot. */
	assert_int_equal(ecam_rd(f, TDEV_DEVFN, PCI_INTERRUPT_PIN, 1), 1);
	assert_int_equal(ecam_rd(f, TDEV_DEVFN, PCI_INTERRUPT_LINE, 1), pci_intx_gsi(TDEV_SLOT));
	/* The latch reads back; byte accesses to 0xCF8 are not the latch. */
	pio_wr(f, PCI_CFG_ADDR_PORT, 4, 0x80000108);
	assert_int_equal(pio_rd(f, PCI_CFG_ADDR_PORT, 4), 0x80000108);
	pio_wr(f, PCI_CFG_ADDR_PORT + 1, 1, 0x06);
	pio_wr(f, PCI_CFG_ADDR_PORT, 1, 0x00);
	assert_int_equal(pio_rd(f, PCI_CFG_ADDR_PORT, 4), 0x80000108);
	assert_int_equal(pio_rd(f, PCI_CFG_ADDR_PORT, 2), 0xffff);
}

static void test_absent_slots(void **state)
{
	struct fix *f = *state;
	uint8_t before[PCI_CFG_SIZE];

	for (unsigned int slot = 2; slot < PCI_MAX_SLOTS; slot++) {
		assert_int_equal(cf8_rd(f, 0, slot << 3, 0, 4), 0xffffffffu);
		assert_int_equal(cf8_rd(f, 0, slot << 3, 2, 2), 0xffff);
		assert_int_equal(ecam_rd(f, slot << 3, 0, 4), 0xffffffffu);
		assert_int_equal(ecam_rd(f, slot << 3, 0xe, 1), 0xff);
	}
	/* Function 1..7 of a present device, and bus 1 (through CF8). */
	for (unsigned int fn = 1; fn < 8; fn++)
		assert_int_equal(ecam_rd(f, TDEV_DEVFN | fn, 0, 4), 0xffffffffu);
	assert_int_equal(cf8_rd(f, 1, TDEV_DEVFN, 0, 4), 0xffffffffu);
	assert_int_equal(cf8_rd(f, 255, 0, 0, 2), 0xffff);
	assert_int_equal(pci_cfg_read(&f->host, 1, 0, 0, 4), 0xffffffffu);
	/* The enable bit off: CFC is not config space. */
	pio_wr(f, PCI_CFG_ADDR_PORT, 4, TDEV_DEVFN << 8);
	assert_int_equal(pio_rd(f, PCI_CFG_DATA_PORT, 4), 0xffffffffu);
	/* Writes to absent functions go nowhere. */
	memcpy(before, f->dev.pci.cfg, sizeof(before));
	cf8_wr(f, 0, 5 << 3, PCI_COMMAND, 2, 0);
	ecam_wr(f, TDEV_DEVFN | 1, PCI_COMMAND, 2, 0);
	cf8_wr(f, 1, TDEV_DEVFN, PCI_COMMAND, 2, 0);
	pio_wr(f, PCI_CFG_ADDR_PORT, 4, TDEV_DEVFN << 8 | PCI_COMMAND);
	pio_wr(f, PCI_CFG_DATA_PORT, 2, 0);
	assert_memory_equal(before, f->dev.pci.cfg, sizeof(before));
	assert_true(claimed_at(f, bar_addr(f, 0)));
}

static void test_bad_accesses(void **state)
{
	struct fix *f = *state;
	uint8_t before[PCI_CFG_SIZE];
	bool c;

	memcpy(before, f->dev.pci.cfg, sizeof(before));
	/* Odd sizes, offsets past the end, straddling the end. */
	assert_int_equal(pci_cfg_read(&f->host, 0, TDEV_DEVFN, 0, 3), 0xffffffffu);
	assert_int_equal(pci_cfg_read(&f->host, 0, TDEV_DEVFN, 0, 8), 0xffffffffu);
	assert_int_equal(pci_cfg_read(&f->host, 0, TDEV_DEVFN, 0, 0), 0xffffffffu);
	assert_int_equal(pci_cfg_read(&f->host, 0, TDEV_DEVFN, PCI_CFG_SIZE, 1), 0xffffffffu);
	assert_int_equal(pci_cfg_read(&f->host, 0, TDEV_DEVFN, PCI_CFG_SIZE - 2, 4), 0xffffffffu);
	assert_int_equal(pci_cfg_read(&f->host, 0, TDEV_DEVFN, UINT32_MAX, 4), 0xffffffffu);
	assert_int_equal(pci_cfg_read(&f->host, 0, TDEV_DEVFN, UINT32_MAX - 1, 4), 0xffffffffu);
	assert_int_equal(pci_cfg_read(&f->host, 0, 0xffff, 0, 4), 0xffffffffu);
	assert_int_equal(pci_cfg_read(&f->host, 0, TDEV_DEVFN, PCI_CFG_SIZE - 4, 4), 0);
	pci_cfg_write(&f->host, 0, TDEV_DEVFN, PCI_COMMAND, 3, 0);
	pci_cfg_write(&f->host, 0, TDEV_DEVFN, PCI_COMMAND, 8, 0);
	pci_cfg_write(&f->host, 0, TDEV_DEVFN, PCI_CFG_SIZE, 4, 0);
	pci_cfg_write(&f->host, 0, TDEV_DEVFN, PCI_CFG_SIZE - 2, 4, ~0u);
	pci_cfg_write(&f->host, 0, TDEV_DEVFN, UINT32_MAX - 1, 4, ~0u);
	pci_cfg_write(&f->host, 0, 0xffff, PCI_COMMAND, 2, 0);
	/* Extended config space (0x100..0xfff) exists only through ECAM and is read-only zeros. */
	assert_int_equal(ecam_rd(f, TDEV_DEVFN, 0x100, 4), 0);
	ecam_wr(f, TDEV_DEVFN, 0x100, 4, 0x12345678);
	assert_int_equal(ecam_rd(f, TDEV_DEVFN, 0x100, 4), 0);
	assert_int_equal(ecam_rd(f, TDEV_DEVFN, 0xffc, 4), 0);
	/* An 8-byte ECAM access at the very end of a function's space. */
	assert_int_equal(mmio_rd(f, ecam(TDEV_DEVFN, 0xffc), 8, &c), 0xffffffff00000000ULL);
	assert_true(c);
	/* CFC: an access that crosses the 4-byte window is not claimed. */
	pio_wr(f, PCI_CFG_ADDR_PORT, 4, 0x80000000u | TDEV_DEVFN << 8);
	assert_false(bus_access(&f->pio, PCI_CFG_DATA_PORT + 2, &(uint32_t){ 0 }, 4, false));
	assert_int_equal(pio_rd(f, PCI_CFG_DATA_PORT + 1, 2), 0x7812);
	assert_int_equal(pio_rd(f, PCI_CFG_DATA_PORT + 2, 2), 0x5678);
	pio_wr(f, PCI_CFG_DATA_PORT + 2, 4, 0);         /* unclaimed: harmless */
	pio_wr(f, PCI_CFG_DATA_PORT, 8, 0);             /* idem */
	assert_memory_equal(before, f->dev.pci.cfg, sizeof(before));
	assert_true(claimed_at(f, bar_addr(f, 0)));
}

static void test_readonly_registers(void **state)
{
	struct fix *f = *state;
	static const unsigned int ro[] = {
		PCI_VENDOR_ID, PCI_DEVICE_ID, PCI_STATUS, PCI_REVISION_ID, PCI_CLASS_PROG,
		0x0a, PCI_HEADER_TYPE, PCI_SUBSYSTEM_VENDOR_ID, PCI_SUBSYSTEM_ID,
		PCI_CAPABILITY_LIST, PCI_INTERRUPT_PIN, 0x30, 0x3e, 0x40, 0x80, 0xfc,
	};
	uint32_t before[ARRAY_SIZE(ro)];

	for (unsigned int i = 0; i < ARRAY_SIZE(ro); i++)
		before[i] = ecam_rd(f, TDEV_DEVFN, ro[i], 2);
	for (unsigned int i = 0; i < ARRAY_SIZE(ro); i++) {
		ecam_wr(f, TDEV_DEVFN, ro[i], 2, 0xffff);
		ecam_wr(f, TDEV_DEVFN, ro[i], 1, 0);
	}
	for (unsigned int i = 0; i < ARRAY_SIZE(ro); i++)
		assert_int_equal(ecam_rd(f, TDEV_DEVFN, ro[i], 2), before[i]);
	/* The status register keeps its capability bit. */
	assert_true(ecam_rd(f, TDEV_DEVFN, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
	/* Command: only IO, MEMORY, MASTER and INTX_DISABLE are writable. */
	ecam_wr(f, TDEV_DEVFN, PCI_COMMAND, 2, 0xffff);
	assert_int_equal(ecam_rd(f, TDEV_DEVFN, PCI_COMMAND, 2),
			 PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
			 PCI_COMMAND_INTX_DISABLE);
	/* A dword write to command+status leaves status alone. */
	ecam_wr(f, TDEV_DEVFN, PCI_COMMAND, 4, 0xffff0000u | PCI_COMMAND_MEMORY);
	assert_int_equal(ecam_rd(f, TDEV_DEVFN, PCI_COMMAND, 4),
			 (uint32_t)before[2] << 16 | PCI_COMMAND_MEMORY);
	/* Interrupt line is a scratch register for the OS. */
	ecam_wr(f, TDEV_DEVFN, PCI_INTERRUPT_LINE, 1, 0x5a);
	assert_int_equal(ecam_rd(f, TDEV_DEVFN, PCI_INTERRUPT_LINE, 1), 0x5a);
	/* The host bridge has no writable interrupt line. */
	ecam_wr(f, 0, PCI_INTERRUPT_LINE, 1, 0x5a);
	assert_int_equal(ecam_rd(f, 0, PCI_INTERRUPT_LINE, 1), 0);
	/* Unimplemented BARs (1, 4, 5) read 0 and stay 0. */
	for (unsigned int n = 1; n < 6; n += (n == 1 ? 3 : 1)) {
		ecam_wr(f, TDEV_DEVFN, PCI_BAR0 + 4 * n, 4, ~0u);
		assert_int_equal(ecam_rd(f, TDEV_DEVFN, PCI_BAR0 + 4 * n, 4), 0);
	}
}

static void test_bar_assignment(void **state)
{
	struct fix *f = *state;
	uint64_t b0 = bar_addr(f, 0), b2 = bar_addr(f, 2);
	bool c;

	/* BAR0: 32-bit, in the 32-bit window, size-aligned, decoded. */
	assert_int_equal(ecam_rd(f, TDEV_DEVFN, PCI_BAR0, 4) & 0xf, 0);
	assert_true(b0 >= PCI_MMIO32_BASE && b0 + BAR0_SIZE <= PCI_MMIO32_END);
	assert_int_equal(b0 % BAR0_SIZE, 0);
	assert_int_equal(f->dev.pci.bars[0].mapped, b0);
	/* BAR2: 64-bit (type bits 10b), above 4 GiB and above "RAM", size-aligned. */
	assert_int_equal(ecam_rd(f, TDEV_DEVFN, PCI_BAR0 + 8, 4) & 0xf, 0x4);
	assert_true(b2 >= MMIO64_BASE && b2 >= MEM_4G);
	assert_int_equal(b2 % BAR2_SIZE, 0);
	assert_int_equal(f->dev.pci.bars[2].mapped, b2);
	assert_true(ecam_rd(f, TDEV_DEVFN, PCI_COMMAND, 2) & PCI_COMMAND_MEMORY);
	/* Accesses reach the handler with BAR-relative offsets; the BAR's ends are exact. */
	assert_int_equal(mmio_rd(f, b0 + 0x10, 4, &c), 0xC0DE0010u);
	assert_true(c);
	assert_int_equal(atomic_load(&f->dev.last_off), 0x10);
	assert_true(mmio_wr(f, b0 + BAR0_SIZE - 4, 4, 0x1234));
	assert_int_equal(atomic_load(&f->dev.last_off), BAR0_SIZE - 4);
	assert_int_equal(atomic_load(&f->dev.last_val), 0x1234);
	assert_false(claimed_at(f, b0 + BAR0_SIZE));
	assert_false(claimed_at(f, b0 - 4));
	assert_true(claimed_at(f, b2));
	assert_true(claimed_at(f, b2 + BAR2_SIZE - 4));
	assert_false(claimed_at(f, b2 + BAR2_SIZE));
	/* A second device goes after the first, without overlap. */
	struct pci_dev d2;

	pci_dev_init(&d2, "d2", 0x1234, 0x1111, 0xff0000, 0, 0, 0, NULL, NULL);
	assert_int_equal(pci_dev_add_bar(&d2, 0, PCI_BAR_MEM32, BAR0_SIZE, &tdev_ops, &f->dev), 0);
	assert_int_equal(pci_dev_add_bar(&d2, 4, PCI_BAR_MEM64, 1ULL << 30, &tdev_ops, &f->dev), 0);
	assert_int_equal(pci_host_add(&f->host, &d2), 0);
	assert_int_equal(d2.slot, 2);
	assert_true(d2.bars[0].mapped >= b0 + BAR0_SIZE);
	assert_true(d2.bars[4].mapped >= b2 + BAR2_SIZE);
	assert_int_equal(d2.bars[4].mapped % (1ULL << 30), 0);
	assert_int_equal(ecam_rd(f, 2 << 3, PCI_INTERRUPT_LINE, 1), pci_intx_gsi(2));
}

static void test_bad_bar_declarations(void **state)
{
	struct pci_dev d;

	(void)state;
	pci_dev_init(&d, "d", 1, 2, 0, 0, 0, 0, NULL, NULL);
	assert_int_equal(pci_dev_add_bar(&d, 6, PCI_BAR_MEM32, 4096, &tdev_ops, NULL), -EINVAL);
	assert_int_equal(pci_dev_add_bar(&d, 0, PCI_BAR_MEM32, 4095, &tdev_ops, NULL), -EINVAL);
	assert_int_equal(pci_dev_add_bar(&d, 0, PCI_BAR_MEM32, 8, &tdev_ops, NULL), -EINVAL);
	assert_int_equal(pci_dev_add_bar(&d, 0, PCI_BAR_MEM32, 0, &tdev_ops, NULL), -EINVAL);
	assert_int_equal(pci_dev_add_bar(&d, 0, PCI_BAR_NONE, 4096, &tdev_ops, NULL), -EINVAL);
	assert_int_equal(pci_dev_add_bar(&d, 5, PCI_BAR_MEM64, 4096, &tdev_ops, NULL), -EINVAL);
	assert_int_equal(pci_dev_add_bar(&d, 0, PCI_BAR_MEM32, 4096, &tdev_ops, NULL), 0);
	assert_int_equal(pci_dev_add_bar(&d, 0, PCI_BAR_MEM32, 4096, &tdev_ops, NULL), -EINVAL);
	assert_int_equal(pci_dev_add_bar(&d, 1, PCI_BAR_MEM64, 4096, &tdev_ops, NULL), 0);
	/* BAR2 is BAR1's upper half. */
	assert_int_equal(pci_dev_add_bar(&d, 2, PCI_BAR_MEM32, 4096, &tdev_ops, NULL), -EINVAL);
}

static void test_bar_sizing(void **state)
{
	struct fix *f = *state;
	uint32_t orig0 = ecam_rd(f, TDEV_DEVFN, PCI_BAR0, 4);
	uint32_t orig2 = ecam_rd(f, TDEV_DEVFN, PCI_BAR0 + 8, 4);
	uint32_t orig3 = ecam_rd(f, TDEV_DEVFN, PCI_BAR0 + 12, 4);
	uint64_t b0 = bar_addr(f, 0), b2 = bar_addr(f, 2);

	/* As Linux does it: decoding off, write ones, read the mask, restore. */
	ecam_wr(f, TDEV_DEVFN, PCI_COMMAND, 2, 0);
	ecam_wr(f, TDEV_DEVFN, PCI_BAR0, 4, ~0u);
	assert_int_equal(ecam_rd(f, TDEV_DEVFN, PCI_BAR0, 4), (uint32_t)~(BAR0_SIZE - 1));
	ecam_wr(f, TDEV_DEVFN, PCI_BAR0, 4, orig0);
	assert_int_equal(ecam_rd(f, TDEV_DEVFN, PCI_BAR0, 4), orig0);

	ecam_wr(f, TDEV_DEVFN, PCI_BAR0 + 8, 4, ~0u);
	ecam_wr(f, TDEV_DEVFN, PCI_BAR0 + 12, 4, ~0u);
	assert_int_equal(ecam_rd(f, TDEV_DEVFN, PCI_BAR0 + 8, 4),
			 (uint32_t)~(BAR2_SIZE - 1) | 0x4);
	assert_int_equal(ecam_rd(f, TDEV_DEVFN, PCI_BAR0 + 12, 4), 0xffffffffu);
	ecam_wr(f, TDEV_DEVFN, PCI_BAR0 + 8, 4, orig2);
	ecam_wr(f, TDEV_DEVFN, PCI_BAR0 + 12, 4, orig3);
	assert_int_equal(bar_addr(f, 2), b2);
	/* Nothing decoded while sizing... */
	assert_false(claimed_at(f, b0));
	assert_false(claimed_at(f, b2));
	ecam_wr(f, TDEV_DEVFN, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	/* ...and back where they were. */
	assert_true(claimed_at(f, b0));
	assert_true(claimed_at(f, b2));

	/* Sizing with decoding on (some OSes do): still the mask, then back. */
	ecam_wr(f, TDEV_DEVFN, PCI_BAR0, 4, ~0u);
	assert_int_equal(ecam_rd(f, TDEV_DEVFN, PCI_BAR0, 4), (uint32_t)~(BAR0_SIZE - 1));
	ecam_wr(f, TDEV_DEVFN, PCI_BAR0 + 8, 4, ~0u);
	ecam_wr(f, TDEV_DEVFN, PCI_BAR0 + 12, 4, ~0u);
	assert_int_equal(ecam_rd(f, TDEV_DEVFN, PCI_BAR0 + 12, 4), 0xffffffffu);
	ecam_wr(f, TDEV_DEVFN, PCI_BAR0, 4, orig0);
	ecam_wr(f, TDEV_DEVFN, PCI_BAR0 + 8, 4, orig2);
	ecam_wr(f, TDEV_DEVFN, PCI_BAR0 + 12, 4, orig3);
	assert_true(claimed_at(f, b0));
	assert_true(claimed_at(f, b2));
	assert_int_equal(f->dev.pci.bars[0].mapped, b0);
	assert_int_equal(f->dev.pci.bars[2].mapped, b2);
	/* The low type bits are read-only. */
	ecam_wr(f, TDEV_DEVFN, PCI_BAR0 + 8, 4, orig2 & ~0xfu);
	assert_int_equal(ecam_rd(f, TDEV_DEVFN, PCI_BAR0 + 8, 4) & 0xf, 0x4);
}

static void test_command_memory(void **state)
{
	struct fix *f = *state;
	uint64_t b0 = bar_addr(f, 0), b2 = bar_addr(f, 2);
	unsigned int reads;
	bool c;

	f->dev.nr_moves = 0;
	ecam_wr(f, TDEV_DEVFN, PCI_COMMAND, 2, PCI_COMMAND_MASTER);
	reads = atomic_load(&f->dev.reads);
	assert_int_equal(mmio_rd(f, b0, 4, &c), 0xffffffffu);
	assert_false(c);
	assert_false(mmio_wr(f, b0, 4, 1));
	assert_false(claimed_at(f, b2));
	assert_int_equal(atomic_load(&f->dev.reads), reads);
	assert_int_equal(f->dev.pci.bars[0].mapped, PCI_BAR_UNMAPPED);
	assert_int_equal(f->dev.nr_moves, 2);
	assert_int_equal(f->dev.moves[0].bar, 0);
	assert_int_equal(f->dev.moves[0].old, b0);
	assert_int_equal(f->dev.moves[0].new, PCI_BAR_UNMAPPED);
	assert_int_equal(f->dev.moves[1].bar, 2);
	assert_int_equal(f->dev.moves[1].new, PCI_BAR_UNMAPPED);
	/* The BAR registers keep their values. */
	assert_int_equal(bar_addr(f, 0), b0);
	/* I/O decoding alone does not map memory BARs. */
	ecam_wr(f, TDEV_DEVFN, PCI_COMMAND, 2, PCI_COMMAND_IO);
	assert_false(claimed_at(f, b0));
	/* Memory decoding on again. */
	ecam_wr(f, TDEV_DEVFN, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	assert_int_equal(mmio_rd(f, b0 + 8, 4, &c), 0xC0DE0008u);
	assert_true(c);
	assert_true(claimed_at(f, b2));
	assert_int_equal(f->dev.nr_moves, 4);
	assert_int_equal(f->dev.moves[2].old, PCI_BAR_UNMAPPED);
	assert_int_equal(f->dev.moves[2].new, b0);
	/* A write that does not change decoding moves nothing. */
	ecam_wr(f, TDEV_DEVFN, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	ecam_wr(f, TDEV_DEVFN, PCI_BAR0, 4, (uint32_t)b0);
	assert_int_equal(f->dev.nr_moves, 4);
}

static void test_bar_move(void **state)
{
	struct fix *f = *state;
	uint64_t b0 = bar_addr(f, 0), b2 = bar_addr(f, 2);
	uint64_t n0 = 0xd0000000ULL, n2 = 0x2000000000ULL;
	bool c;

	f->dev.nr_moves = 0;
	ecam_wr(f, TDEV_DEVFN, PCI_BAR0, 4, (uint32_t)n0);
	assert_false(claimed_at(f, b0));
	assert_int_equal(mmio_rd(f, n0 + 4, 4, &c), 0xC0DE0004u);
	assert_true(c);
	assert_int_equal(f->dev.nr_moves, 1);
	assert_int_equal(f->dev.moves[0].bar, 0);
	assert_int_equal(f->dev.moves[0].old, b0);
	assert_int_equal(f->dev.moves[0].new, n0);
	/* A 64-bit BAR moves in two steps (low, then high dword). */
	ecam_wr(f, TDEV_DEVFN, PCI_BAR0 + 8, 4, (uint32_t)n2 | 4);
	ecam_wr(f, TDEV_DEVFN, PCI_BAR0 + 12, 4, n2 >> 32);
	assert_int_equal(bar_addr(f, 2), n2);
	assert_false(claimed_at(f, b2));
	assert_true(claimed_at(f, n2));
	assert_int_equal(f->dev.pci.bars[2].mapped, n2);
	assert_int_equal(f->dev.moves[f->dev.nr_moves - 1].new, n2);
	/* Below 4 GiB too (a 64-bit BAR may live anywhere). */
	ecam_wr(f, TDEV_DEVFN, PCI_BAR0 + 12, 4, 0);
	ecam_wr(f, TDEV_DEVFN, PCI_BAR0 + 8, 4, 0xd0100000u);
	assert_true(claimed_at(f, 0xd0100000ULL));
	assert_false(claimed_at(f, n2));
	/* Onto another BAR: not decoded (nothing crashes), until moved away. */
	ecam_wr(f, TDEV_DEVFN, PCI_BAR0 + 8, 4, (uint32_t)n0);
	assert_int_equal(f->dev.pci.bars[2].mapped, PCI_BAR_UNMAPPED);
	assert_int_equal(mmio_rd(f, n0, 4, &c), 0xC0DE0000u);  /* BAR0 still there */
	ecam_wr(f, TDEV_DEVFN, PCI_BAR0 + 8, 4, 0xd0200000u);
	assert_int_equal(f->dev.pci.bars[2].mapped, 0xd0200000ULL);
	assert_true(claimed_at(f, 0xd0200000ULL));
	/* Onto the ECAM window: refused the same way, ECAM keeps working. */
	ecam_wr(f, TDEV_DEVFN, PCI_BAR0, 4, (uint32_t)PCI_ECAM_BASE);
	assert_int_equal(f->dev.pci.bars[0].mapped, PCI_BAR_UNMAPPED);
	assert_int_equal(ecam_rd(f, TDEV_DEVFN, 0, 4), 0x56781234);
	/* Address 0 means "not assigned": not decoded. */
	ecam_wr(f, TDEV_DEVFN, PCI_BAR0, 4, 0);
	assert_int_equal(f->dev.pci.bars[0].mapped, PCI_BAR_UNMAPPED);
	assert_false(claimed_at(f, 0));
	ecam_wr(f, TDEV_DEVFN, PCI_BAR0, 4, (uint32_t)b0);
	assert_true(claimed_at(f, b0));
}

/* ---- a BAR moved while another vCPU is inside its handler ---- */

struct mover {
	struct fix *f;
	uint64_t to;
};

static void *reader_thread(void *arg)
{
	struct fix *f = arg;
	uint64_t v = 0;

	/* vCPU 1: a read of BAR0 that blocks in the device. */
	bus_access(&f->mmio, f->dev.pci.bars[0].mapped + 0x20, &v, 4, false);
	return (void *)(uintptr_t)(v == (0xC0DE0000u | 0x20));
}

static void *mover_thread(void *arg)
{
	struct mover *m = arg;
	struct tdev *t = &m->f->dev;
	uint64_t v = (uint32_t)m->to;

	/* vCPU 2: moves BAR0 through ECAM. */
	bus_access(&m->f->mmio, ecam(TDEV_DEVFN, PCI_BAR0), &v, 4, true);
	atomic_store(&t->move_saw_handler_done, atomic_load(&t->handler_done));
	atomic_store(&t->move_done, 1);
	return NULL;
}

static void test_move_waits_for_handler(void **state)
{
	struct fix *f = *state;
	struct tdev *t = &f->dev;
	uint64_t b0 = bar_addr(f, 0), n0 = 0xd0000000ULL;
	struct timespec ms = { 0, 20 * 1000 * 1000 };
	struct mover m = { f, n0 };
	pthread_t tr, tm;
	void *ok;
	bool c;

	t->block = true;
	assert_int_equal(pthread_create(&tr, NULL, reader_thread, f), 0);
	pthread_mutex_lock(&t->mu);
	while (!atomic_load(&t->inside))
		pthread_cond_wait(&t->cv, &t->mu);
	pthread_mutex_unlock(&t->mu);
	assert_int_equal(pthread_create(&tm, NULL, mover_thread, &m), 0);
	/* The move must wait for the handler... */
	for (int i = 0; i < 5; i++) {
		nanosleep(&ms, NULL);
		assert_int_equal(atomic_load(&t->move_done), 0);
	}
	/* ...while other vCPUs no longer reach the old address (the range is gone). */
	for (int i = 0; i < 100 && claimed_at(f, b0); i++)
		nanosleep(&ms, NULL);
	assert_false(claimed_at(f, b0));
	assert_int_equal(atomic_load(&t->handler_done), 0);
	/* Release the handler. */
	pthread_mutex_lock(&t->mu);
	atomic_store(&t->release, 1);
	pthread_cond_broadcast(&t->cv);
	pthread_mutex_unlock(&t->mu);
	pthread_join(tr, &ok);
	pthread_join(tm, NULL);
	assert_true(ok != NULL);                        /* the old access completed normally */
	assert_int_equal(atomic_load(&t->move_done), 1);
	assert_int_equal(atomic_load(&t->move_saw_handler_done), 1);
	/* Afterwards: the new address only. */
	assert_false(claimed_at(f, b0));
	assert_int_equal(mmio_rd(f, n0 + 0x40, 4, &c), 0xC0DE0040u);
	assert_true(c);
	assert_int_equal(f->dev.pci.bars[0].mapped, n0);
	assert_int_equal(f->dev.moves[f->dev.nr_moves - 1].old, b0);
	assert_int_equal(f->dev.moves[f->dev.nr_moves - 1].new, n0);
	/* Config space stays usable. */
	assert_int_equal(ecam_rd(f, TDEV_DEVFN, 0, 4), 0x56781234);
}

/* ---- INTx ---- */

static void test_intx(void **state)
{
	struct fix *f = *state;
	struct pci_dev *d = &f->dev.pci;

	pci_dev_set_intx(d, 1);
	assert_int_equal(f->intx_gsi, pci_intx_gsi(TDEV_SLOT));
	assert_int_equal(f->intx_level, 1);
	assert_true(ecam_rd(f, TDEV_DEVFN, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	pci_dev_set_intx(d, 0);
	assert_int_equal(f->intx_level, 0);
	assert_false(ecam_rd(f, TDEV_DEVFN, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	/* INTX_DISABLE: the status bit still says so, the line stays low. */
	ecam_wr(f, TDEV_DEVFN, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_INTX_DISABLE);
	f->intx_sets = 0;
	pci_dev_set_intx(d, 1);
	assert_int_equal(f->intx_sets, 0);
	assert_int_equal(f->intx_level, 0);
	assert_true(ecam_rd(f, TDEV_DEVFN, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	pci_dev_set_intx(d, 0);
	assert_false(ecam_rd(f, TDEV_DEVFN, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
}

static void test_slots_full(void **state)
{
	struct fix *f = *state;
	static struct pci_dev d[PCI_MAX_SLOTS];
	unsigned int n = 0;

	for (unsigned int i = 0; i < PCI_MAX_SLOTS; i++)
		pci_dev_init(&d[i], "x", 0x1234, i, 0xff0000, 0, 0, 0, NULL, NULL);
	for (unsigned int i = 0; i < PCI_MAX_SLOTS; i++) {
		if (pci_host_add(&f->host, &d[i]) == 0)
			n++;
		else
			break;
	}
	assert_int_equal(n, PCI_MAX_SLOTS - 2);         /* bridge + tdev */
	assert_int_equal(pci_host_add(&f->host, &d[PCI_MAX_SLOTS - 1]), -ENOSPC);
	assert_int_equal(ecam_rd(f, 31 << 3, PCI_DEVICE_ID, 2), PCI_MAX_SLOTS - 3);
}

/* ---- capabilities ---- */

static void test_cap_list(void **state)
{
	struct fix *f = *state;
	struct pci_dev d;
	unsigned int c, n = 0;
	int c1, c2;

	(void)f;
	pci_dev_init(&d, "d", 1, 2, 0, 0, 0, 0, NULL, NULL);
	assert_false(pci_get16(&d, PCI_STATUS) & PCI_STATUS_CAP_LIST);
	c1 = pci_dev_add_cap(&d, PCI_CAP_ID_VNDR, 13);
	c2 = pci_dev_add_cap(&d, PCI_CAP_ID_VNDR, 16);
	assert_int_equal(c1, 0x40);
	assert_int_equal(c2, 0x50);                     /* dword aligned after 13 bytes */
	assert_true(pci_get16(&d, PCI_STATUS) & PCI_STATUS_CAP_LIST);
	for (c = d.cfg[PCI_CAPABILITY_LIST]; c; c = d.cfg[c + 1])
		n++;
	assert_int_equal(n, 2);
	/* Space runs out at 0x100, not beyond. */
	while (pci_dev_add_cap(&d, PCI_CAP_ID_VNDR, 64) > 0)
		;
	assert_int_equal(pci_dev_add_cap(&d, PCI_CAP_ID_VNDR, 1), -ENOSPC);
	n = 0;
	for (c = d.cfg[PCI_CAPABILITY_LIST]; c && n < 64; c = d.cfg[c + 1]) {
		assert_true(c >= 0x40 && c % 4 == 0 && c < 0x100);
		n++;
	}
	assert_int_equal(c, 0);
}

/* ---- MSI-X ---- */

#define TBL(v, field)   (bar_addr(f, 2) + 16ULL * (v) + (field))
#define PBA             (bar_addr(f, 2) + 0x800)

static unsigned int msix_cap(struct fix *f)
{
	for (unsigned int c = ecam_rd(f, TDEV_DEVFN, PCI_CAPABILITY_LIST, 1), n = 0; c && n < 48;
	     c = ecam_rd(f, TDEV_DEVFN, c + 1, 1), n++)
		if (ecam_rd(f, TDEV_DEVFN, c, 1) == PCI_CAP_ID_MSIX)
			return c;
	fail_msg("no MSI-X capability");
	return 0;
}

static void msix_ctrl(struct fix *f, uint16_t v)
{
	ecam_wr(f, TDEV_DEVFN, msix_cap(f) + 2, 2, v);
}

static uint64_t efd_count(int efd)
{
	uint64_t n = 0;

	if (read(efd, &n, sizeof(n)) != sizeof(n))
		return 0;
	return n;
}

static void program(struct fix *f, unsigned int v, uint64_t addr, uint32_t data, uint32_t ctrl)
{
	mmio_wr(f, TBL(v, 0), 4, (uint32_t)addr);
	mmio_wr(f, TBL(v, 4), 4, addr >> 32);
	mmio_wr(f, TBL(v, 8), 4, data);
	mmio_wr(f, TBL(v, 12), 4, ctrl);
}

static void test_msix_capability(void **state)
{
	struct fix *f = *state;
	unsigned int c = msix_cap(f);

	assert_int_equal(ecam_rd(f, TDEV_DEVFN, c + 2, 2), NVEC - 1);
	assert_int_equal(ecam_rd(f, TDEV_DEVFN, c + 4, 4), 0x000 | 2);     /* table, BIR 2 */
	assert_int_equal(ecam_rd(f, TDEV_DEVFN, c + 8, 4), 0x800 | 2);     /* PBA, BIR 2 */
	/* Only enable and function mask are writable. */
	ecam_wr(f, TDEV_DEVFN, c + 2, 2, 0xffff);
	assert_int_equal(ecam_rd(f, TDEV_DEVFN, c + 2, 2),
			 MSIX_CTRL_ENABLE | MSIX_CTRL_FMASK | (NVEC - 1));
	assert_true(msix_enabled(&f->dev.msix));
	ecam_wr(f, TDEV_DEVFN, c + 4, 4, 0);
	ecam_wr(f, TDEV_DEVFN, c + 8, 4, 0);
	ecam_wr(f, TDEV_DEVFN, c, 2, 0);
	assert_int_equal(ecam_rd(f, TDEV_DEVFN, c + 4, 4), 2);
	assert_int_equal(ecam_rd(f, TDEV_DEVFN, c + 8, 4), 0x802);
	assert_int_equal(ecam_rd(f, TDEV_DEVFN, c, 1), PCI_CAP_ID_MSIX);
	ecam_wr(f, TDEV_DEVFN, c + 3, 1, 0);
	assert_false(msix_enabled(&f->dev.msix));
	assert_int_equal(ecam_rd(f, TDEV_DEVFN, c + 2, 2), NVEC - 1);
	/* Bad arguments. */
	struct msix m;
	struct pci_dev d;

	pci_dev_init(&d, "d", 1, 2, 0, 0, 0, 0, NULL, NULL);
	assert_int_equal(msix_init(&m, &d, 0, 0, 0, 0x800, f->dev.msix.router), -EINVAL);
	assert_int_equal(msix_init(&m, &d, MSIX_MAX_VECTORS + 1, 0, 0, 0x800,
				   f->dev.msix.router), -EINVAL);
	assert_int_equal(msix_init(&m, &d, 1, 6, 0, 0x800, f->dev.msix.router), -EINVAL);
	assert_int_equal(msix_init(&m, &d, 1, 0, 4, 0x800, f->dev.msix.router), -EINVAL);
}

static void test_msix_table(void **state)
{
	struct fix *f = *state;
	bool c;

	/* All vectors start masked, zeroed. */
	for (unsigned int v = 0; v < NVEC; v++) {
		assert_int_equal(mmio_rd(f, TBL(v, 0), 4, NULL), 0);
		assert_int_equal(mmio_rd(f, TBL(v, 8), 4, NULL), 0);
		assert_int_equal(mmio_rd(f, TBL(v, 12), 4, NULL), MSIX_VEC_MASKED);
	}
	program(f, 1, 0xfee01000ULL, 0x4041, 1);
	mmio_wr(f, TBL(1, 4), 4, 0x12345678);
	assert_int_equal(mmio_rd(f, TBL(1, 0), 4, NULL), 0xfee01000u);
	assert_int_equal(mmio_rd(f, TBL(1, 4), 4, NULL), 0x12345678);
	assert_int_equal(mmio_rd(f, TBL(1, 8), 4, NULL), 0x4041);
	assert_int_equal(mmio_rd(f, TBL(1, 0), 8, NULL), 0x12345678fee01000ULL);
	mmio_wr(f, TBL(1, 0), 8, 0xfee02000ULL);
	assert_int_equal(mmio_rd(f, TBL(1, 0), 8, NULL), 0xfee02000ULL);
	/* Vector control: only the mask bit is writable. */
	mmio_wr(f, TBL(1, 12), 4, 0xffffffff);
	assert_int_equal(mmio_rd(f, TBL(1, 12), 4, NULL), MSIX_VEC_MASKED);
	mmio_wr(f, TBL(1, 12), 4, 0xfffffffe);
	assert_int_equal(mmio_rd(f, TBL(1, 12), 4, NULL), 0);
	mmio_wr(f, TBL(1, 12), 4, 1);
	/* Odd accesses: read 0, write nothing. */
	assert_int_equal(mmio_rd(f, TBL(1, 2), 4, NULL), 0);
	assert_int_equal(mmio_rd(f, TBL(1, 8), 2, NULL), 0);
	assert_int_equal(mmio_rd(f, TBL(1, 8), 1, NULL), 0);
	mmio_wr(f, TBL(1, 8), 2, 0xffff);
	mmio_wr(f, TBL(1, 9), 1, 0xff);
	mmio_wr(f, TBL(1, 6), 4, 0xffffffff);
	assert_int_equal(mmio_rd(f, TBL(1, 8), 4, NULL), 0x4041);
	/* Past the table (but inside the BAR): reads 0, writes ignored. */
	assert_int_equal(mmio_rd(f, TBL(NVEC, 0), 4, &c), 0);
	assert_true(c);
	mmio_wr(f, TBL(NVEC, 12), 4, 0);
	mmio_wr(f, TBL(0x7f, 12), 8, 0);
	assert_int_equal(msix_table_read(&f->dev.msix, UINT64_MAX - 3, 4), 0);
	msix_table_write(&f->dev.msix, UINT64_MAX - 3, 4, 0);
	assert_int_equal(msix_table_read(&f->dev.msix, UINT64_MAX - 7, 8), 0);
	/* The PBA is read-only and reads 0 with nothing pending. */
	assert_int_equal(mmio_rd(f, PBA, 8, NULL), 0);
	mmio_wr(f, PBA, 8, ~0ULL);
	assert_int_equal(mmio_rd(f, PBA, 8, NULL), 0);
	assert_int_equal(mmio_rd(f, PBA + 8, 8, NULL), 0);     /* past the PBA */
	assert_int_equal(msix_pba_read(&f->dev.msix, 2, 4), 0);  /* misaligned */
	assert_int_equal(msix_pba_read(&f->dev.msix, 0, 2), 0);
	/* (An offset whose end wraps around must not index pba[]: pba[-1] is what it would read.) */
	f->dev.msix.vec[MSIX_MAX_VECTORS - 1].r_data = 0xdeadbeef;
	assert_int_equal(msix_pba_read(&f->dev.msix, UINT64_MAX - 7, 8), 0);
	assert_int_equal(msix_pba_read(&f->dev.msix, UINT64_MAX - 3, 4), 0);
	assert_int_equal(f->route_calls, 0);           /* MSI-X off: nothing routed */
}

static void test_msix_masked_pending(void **state)
{
	struct fix *f = *state;
	struct msix *m = &f->dev.msix;

	msix_ctrl(f, MSIX_CTRL_ENABLE);
	program(f, 2, 0xfee00000ULL, 0x4022, MSIX_VEC_MASKED);
	assert_int_equal(f->route_calls, 0);
	/* Masked: pending bit, no signal. */
	assert_int_equal(msix_notify(m, 2), 0);
	assert_int_equal(efd_count(m->vec[2].efd), 0);
	assert_int_equal(mmio_rd(f, PBA, 8, NULL), 1u << 2);
	assert_int_equal(mmio_rd(f, PBA, 4, NULL), 1u << 2);
	assert_int_equal(mmio_rd(f, PBA + 4, 4, NULL), 0);
	assert_int_equal(msix_notify(m, 2), 0);        /* still one pending bit */
	assert_int_equal(mmio_rd(f, PBA, 8, NULL), 1u << 2);
	/* Unmask: route programmed, the pending message delivered once. */
	mmio_wr(f, TBL(2, 12), 4, 0);
	assert_int_equal(f->route_calls, 1);
	assert_true(f->routes[0].live);
	assert_int_equal(f->routes[0].addr, 0xfee00000ULL);
	assert_int_equal(f->routes[0].data, 0x4022);
	assert_int_equal(f->routes[0].efd, m->vec[2].efd);
	assert_int_equal(efd_count(m->vec[2].efd), 1);
	assert_int_equal(mmio_rd(f, PBA, 8, NULL), 0);
	/* Unmasked: straight to the eventfd, no pending bit, no new route. */
	assert_int_equal(msix_notify(m, 2), 0);
	assert_int_equal(msix_notify(m, 2), 0);
	assert_int_equal(efd_count(m->vec[2].efd), 2);
	assert_int_equal(mmio_rd(f, PBA, 8, NULL), 0);
	assert_int_equal(f->route_calls, 1);
	/* Other vectors untouched. */
	for (unsigned int v = 0; v < NVEC; v++)
		if (v != 2)
			assert_int_equal(efd_count(m->vec[v].efd), 0);
	/* Mask again: pending again. */
	mmio_wr(f, TBL(2, 12), 4, 1);
	assert_int_equal(msix_notify(m, 2), 0);
	assert_int_equal(efd_count(m->vec[2].efd), 0);
	assert_int_equal(mmio_rd(f, PBA, 8, NULL), 1u << 2);
	mmio_wr(f, TBL(2, 12), 4, 0);
	assert_int_equal(efd_count(m->vec[2].efd), 1);
	assert_int_equal(f->route_calls, 1);           /* same message: same route */
	/* Out of range. */
	assert_int_equal(msix_notify(m, NVEC), -EINVAL);
	assert_int_equal(msix_notify(m, MSIX_NO_VECTOR), -EINVAL);
	assert_int_equal(msix_notify(m, UINT32_MAX), -EINVAL);
	assert_int_equal(mmio_rd(f, PBA, 8, NULL), 0);
}

static void test_msix_function_mask_and_enable(void **state)
{
	struct fix *f = *state;
	struct msix *m = &f->dev.msix;

	/* Disabled: unmasking routes nothing, notifications pend. */
	program(f, 0, 0xfee00000ULL, 0x4030, 0);
	assert_int_equal(f->route_calls, 0);
	assert_int_equal(msix_notify(m, 0), 0);
	assert_int_equal(efd_count(m->vec[0].efd), 0);
	assert_int_equal(mmio_rd(f, PBA, 4, NULL), 1);
	/* Enable + function mask: still pending. */
	msix_ctrl(f, MSIX_CTRL_ENABLE | MSIX_CTRL_FMASK);
	assert_int_equal(f->route_calls, 0);
	assert_int_equal(efd_count(m->vec[0].efd), 0);
	assert_int_equal(msix_notify(m, 0), 0);
	assert_int_equal(mmio_rd(f, PBA, 4, NULL), 1);
	/* Function mask cleared: routed and delivered. */
	msix_ctrl(f, MSIX_CTRL_ENABLE);
	assert_int_equal(f->route_calls, 1);
	assert_int_equal(f->routes[0].data, 0x4030);
	assert_int_equal(efd_count(m->vec[0].efd), 1);
	assert_int_equal(mmio_rd(f, PBA, 4, NULL), 0);
	/* Function mask again: pending, then delivered on clear. */
	msix_ctrl(f, MSIX_CTRL_ENABLE | MSIX_CTRL_FMASK);
	assert_int_equal(msix_notify(m, 0), 0);
	assert_int_equal(efd_count(m->vec[0].efd), 0);
	msix_ctrl(f, MSIX_CTRL_ENABLE);
	assert_int_equal(efd_count(m->vec[0].efd), 1);
	/* Byte-wide write of the control's high byte works too. */
	ecam_wr(f, TDEV_DEVFN, msix_cap(f) + 3, 1, 0);
	assert_false(msix_enabled(m));
	assert_int_equal(msix_notify(m, 0), 0);
	assert_int_equal(efd_count(m->vec[0].efd), 0);
	ecam_wr(f, TDEV_DEVFN, msix_cap(f) + 3, 1, MSIX_CTRL_ENABLE >> 8);
	assert_int_equal(efd_count(m->vec[0].efd), 1);
	/* A write elsewhere in config space does not deliver anything. */
	assert_int_equal(f->route_calls, 1);
}

static void test_msix_route_update(void **state)
{
	struct fix *f = *state;
	struct msix *m = &f->dev.msix;
	int gsi;

	msix_ctrl(f, MSIX_CTRL_ENABLE);
	program(f, 3, 0xfee00000ULL, 0x4050, 0);
	assert_int_equal(f->route_calls, 1);
	gsi = m->vec[3].gsi;
	assert_true(gsi >= 0);
	/* New data: the same GSI re-routed to the new message. */
	mmio_wr(f, TBL(3, 8), 4, 0x4051);
	assert_int_equal(f->route_calls, 2);
	assert_int_equal(m->vec[3].gsi, gsi);
	assert_int_equal(f->routes[gsi].data, 0x4051);
	/* New address (a different CPU). */
	mmio_wr(f, TBL(3, 0), 4, 0xfee03000u);
	assert_int_equal(f->route_calls, 3);
	assert_int_equal(f->routes[gsi].addr, 0xfee03000ULL);
	mmio_wr(f, TBL(3, 4), 4, 1);
	assert_int_equal(f->routes[gsi].addr, 0x1fee03000ULL);
	/* The same values again: no new route. */
	mmio_wr(f, TBL(3, 8), 4, 0x4051);
	assert_int_equal(f->route_calls, 4);
	/* A routing failure: the message pends, nothing is signalled, retried on the next change. */
	f->route_fail = ENOSPC;
	mmio_wr(f, TBL(3, 8), 4, 0x4052);
	assert_int_equal(msix_notify(m, 3), 0);
	assert_int_equal(efd_count(m->vec[3].efd), 0);
	assert_int_equal(mmio_rd(f, PBA, 4, NULL), 1u << 3);
	f->route_fail = 0;
	mmio_wr(f, TBL(3, 12), 4, 0);
	assert_int_equal(f->routes[m->vec[3].gsi].data, 0x4052);
	assert_int_equal(efd_count(m->vec[3].efd), 1);
	assert_int_equal(mmio_rd(f, PBA, 4, NULL), 0);
	/* destroy releases the GSIs it allocated. */
	msix_destroy(m);
	f->dev.has_msix = false;
	assert_int_equal(f->release_calls, 1);
	assert_false(f->routes[gsi].live);
}

static void test_msix_reset(void **state)
{
	struct fix *f = *state;
	struct msix *m = &f->dev.msix;

	msix_ctrl(f, MSIX_CTRL_ENABLE);
	program(f, 1, 0xfee00000ULL, 0x4061, 1);
	msix_notify(m, 1);
	msix_reset(m);
	assert_false(msix_enabled(m));
	assert_int_equal(ecam_rd(f, TDEV_DEVFN, msix_cap(f) + 2, 2), NVEC - 1);
	assert_int_equal(mmio_rd(f, PBA, 8, NULL), 0);
	assert_int_equal(mmio_rd(f, TBL(1, 8), 4, NULL), 0);
	assert_int_equal(mmio_rd(f, TBL(1, 12), 4, NULL), MSIX_VEC_MASKED);
}

static void test_msix_save_restore(void **state)
{
	struct fix *f = *state;
	struct msix *m = &f->dev.msix;
	struct msix_state s, s2, bad;
	unsigned int routes;

	msix_ctrl(f, MSIX_CTRL_ENABLE);
	program(f, 0, 0xfee00000ULL, 0x4070, 0);
	program(f, 1, 0xfee01000ULL, 0x4071, 1);
	program(f, 3, 0xfee02000ULL, 0x4073, 1);
	msix_notify(m, 1);
	efd_count(m->vec[0].efd);
	msix_save(m, &s);
	assert_int_equal(s.nr, NVEC);
	assert_int_equal(s.vec[1].data, 0x4071);
	assert_int_equal(s.pba[0], 1u << 1);
	/* Restore into a reset function: same table, same pending bits, routes rebuilt. */
	msix_reset(m);
	msix_ctrl(f, MSIX_CTRL_ENABLE);         /* config space is restored separately */
	routes = f->route_calls;
	assert_int_equal(msix_restore(m, &s), 0);
	assert_int_equal(f->route_calls, routes + 1);  /* vector 0 (unmasked) */
	msix_save(m, &s2);
	assert_memory_equal(&s, &s2, sizeof(s));
	assert_int_equal(mmio_rd(f, TBL(3, 8), 4, NULL), 0x4073);
	assert_int_equal(mmio_rd(f, TBL(1, 12), 4, NULL), MSIX_VEC_MASKED);
	assert_int_equal(mmio_rd(f, PBA, 4, NULL), 1u << 1);
	assert_int_equal(msix_notify(m, 0), 0);
	assert_int_equal(efd_count(m->vec[0].efd), 1);
	mmio_wr(f, TBL(1, 12), 4, 0);
	assert_int_equal(efd_count(m->vec[1].efd), 1);
	/* Bad states are refused and change nothing. */
	msix_save(m, &s);
	bad = s; bad.nr = NVEC + 1;
	assert_int_equal(msix_restore(m, &bad), -EINVAL);
	bad = s; bad.reserved = 1;
	assert_int_equal(msix_restore(m, &bad), -EINVAL);
	bad = s; bad.vec[0].ctrl = 2;
	assert_int_equal(msix_restore(m, &bad), -EINVAL);
	bad = s; bad.vec[NVEC].data = 1;
	assert_int_equal(msix_restore(m, &bad), -EINVAL);
	bad = s; bad.vec[MSIX_MAX_VECTORS - 1].ctrl = 1;
	assert_int_equal(msix_restore(m, &bad), -EINVAL);
	bad = s; bad.pba[0] |= 1u << NVEC;
	assert_int_equal(msix_restore(m, &bad), -EINVAL);
	bad = s; bad.pba[1] = 1;
	assert_int_equal(msix_restore(m, &bad), -EINVAL);
	msix_save(m, &s2);
	assert_memory_equal(&s, &s2, sizeof(s));
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_ids_cf8_and_ecam),
		T(test_absent_slots),
		T(test_bad_accesses),
		T(test_readonly_registers),
		T(test_bar_assignment),
		T(test_bad_bar_declarations),
		T(test_bar_sizing),
		T(test_command_memory),
		T(test_bar_move),
		T(test_move_waits_for_handler),
		T(test_intx),
		T(test_slots_full),
		T(test_cap_list),
		T(test_msix_capability),
		T(test_msix_table),
		T(test_msix_masked_pending),
		T(test_msix_function_mask_and_enable),
		T(test_msix_route_update),
		T(test_msix_reset),
		T(test_msix_save_restore),
	};

	log_set_level(LOG_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
