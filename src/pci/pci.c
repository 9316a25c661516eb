// SPDX-License-Identifier: GPL-2.0-only
/* PCI host bridge, configuration space (CF8/CFC and ECAM), BARs. */
#include <errno.h>
#include <string.h>

#include "log.h"
#include "pci/pci.h"

#define PCI_IO_BASE     0xc000ULL
#define PCI_IO_END      0x10000ULL

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

static struct pci_dev *pci_find(struct pci_host *h, unsigned int bus, unsigned int devfn)
{
	if (bus != 0 || (devfn & 7) != 0 || (devfn >> 3) >= PCI_MAX_SLOTS)
		return NULL;
	return h->devs[devfn >> 3];
}

static uint64_t bar_addr(const struct pci_dev *d, unsigned int n)
{
	uint32_t lo = pci_get32(d, PCI_BAR0 + 4 * n);

	switch (d->bars[n].type) {
	case PCI_BAR_IO:
		return lo & 0xfffc;
	case PCI_BAR_MEM32:
		return lo & ~0xfu;
	case PCI_BAR_MEM64:
		return (lo & ~0xfull) | (uint64_t)pci_get32(d, PCI_BAR0 + 4 * n + 4) << 32;
	default:
		return 0;
	}
}

/* Put BAR n where its register and the command register say; lock held. */
static void pci_bar_update(struct pci_dev *d, unsigned int n)
{
	struct pci_bar *b = &d->bars[n];
	uint16_t cmd = pci_get16(d, PCI_COMMAND);
	bool io = b->type == PCI_BAR_IO;
	struct bus *bus;
	uint64_t addr = bar_addr(d, n), want = PCI_BAR_UNMAPPED, old = b->mapped;

	if (b->type == PCI_BAR_NONE || !d->host)
		return;
	bus = io ? d->host->pio : d->host->mmio;
	if ((cmd & (io ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY)) && addr &&
	    addr + b->size > addr && addr + b->size <= (io ? PCI_IO_END : 1ULL << 52))
		want = addr;
	if (want == old)
		return;
	if (old != PCI_BAR_UNMAPPED)
		bus_unregister(bus, old);       /* waits for handlers running in it */
	b->mapped = PCI_BAR_UNMAPPED;
	if (want != PCI_BAR_UNMAPPED) {
		if (bus_register(bus, want, b->size, b->ops, b->opaque, d->name) == 0)
			b->mapped = want;
		else
			pr_debug("%s: BAR%u at %#llx overlaps another range; not decoded",
				 d->name, n, (unsigned long long)want);
	}
	if (b->mapped != old && d->ops && d->ops->bar_moved)
		d->ops->bar_moved(d, n, old, b->mapped);
}

uint32_t pci_cfg_read(struct pci_host *h, unsigned int bus, unsigned int devfn, uint32_t off,
		      unsigned int size)
{
	struct pci_dev *d;
	uint32_t v = 0;

	if ((size != 1 && size != 2 && size != 4) || off >= PCI_CFG_SIZE ||
	    size > PCI_CFG_SIZE - off)
		return ~0u;
	pthread_mutex_lock(&h->lock);
	d = pci_find(h, bus, devfn);
	if (!d) {
		v = size == 4 ? ~0u : (1u << (8 * size)) - 1;
	} else {
		if (d->ops && d->ops->config_read)
			d->ops->config_read(d, off, size);
		for (unsigned int i = 0; i < size; i++)
			v |= (uint32_t)d->cfg[off + i] << (8 * i);
	}
	pthread_mutex_unlock(&h->lock);
	return v;
}

void pci_cfg_write(struct pci_host *h, unsigned int bus, unsigned int devfn, uint32_t off,
		   unsigned int size, uint32_t val)
{
	struct pci_dev *d;

	if ((size != 1 && size != 2 && size != 4) || off >= PCI_CFG_SIZE ||
	    size > PCI_CFG_SIZE - off)
		return;
	pthread_mutex_lock(&h->lock);
	d = pci_find(h, bus, devfn);
	if (!d) {
		pthread_mutex_unlock(&h->lock);
		return;
	}
	for (unsigned int i = 0; i < size; i++) {
		uint8_t m = d->wmask[off + i], b = val >> (8 * i);

		if (m)      /* read-only bytes (e.g. status) are never rewritten */
			d->cfg[off + i] = (d->cfg[off + i] & ~m) | (b & m);
	}
	/* The command register or a BAR changed: re-decode. */
	if (off < PCI_BAR0 + 4 * PCI_NUM_BARS && off + size > PCI_COMMAND)
		for (unsigned int n = 0; n < PCI_NUM_BARS; n++)
			pci_bar_update(d, n);
	if (d->ops && d->ops->config_written)
		d->ops->config_written(d, off, size);
	pthread_mutex_unlock(&h->lock);
}

/* ---- 0xCF8/0xCFC ------------------------------------------------------ */

static uint64_t cf8_read(void *opaque, uint64_t off, unsigned int size)
{
	struct pci_host *h = opaque;

	if (off != 0 || size != 4)
		return ~0ULL;
	return __atomic_load_n(&h->cf8, __ATOMIC_RELAXED);
}

static void cf8_write(void *opaque, uint64_t off, unsigned int size, uint64_t val)
{
	struct pci_host *h = opaque;

	/* Only dword accesses hit the latch (0xCF9 byte writes are not ours). */
	if (off == 0 && size == 4)
		__atomic_store_n(&h->cf8, (uint32_t)val, __ATOMIC_RELAXED);
}

static const struct bus_ops cf8_ops = { .read = cf8_read, .write = cf8_write };

static bool cfc_decode(struct pci_host *h, uint64_t off, unsigned int size, unsigned int *bus,
		       unsigned int *devfn, uint32_t *reg)
{
	uint32_t a = __atomic_load_n(&h->cf8, __ATOMIC_RELAXED);

	if (!(a & 0x80000000u) || off + size > 4)
		return false;
	*bus = (a >> 16) & 0xff;
	*devfn = (a >> 8) & 0xff;
	*reg = (a & 0xfc) + off;
	return true;
}

static uint64_t cfc_read(void *opaque, uint64_t off, unsigned int size)
{
	unsigned int bus, devfn;
	uint32_t reg;

	if (!cfc_decode(opaque, off, size, &bus, &devfn, &reg))
		return ~0ULL;
	return pci_cfg_read(opaque, bus, devfn, reg, size);
}

static void cfc_write(void *opaque, uint64_t off, unsigned int size, uint64_t val)
{
	unsigned int bus, devfn;
	uint32_t reg;

	if (cfc_decode(opaque, off, size, &bus, &devfn, &reg))
		pci_cfg_write(opaque, bus, devfn, reg, size, val);
}

static const struct bus_ops cfc_ops = { .read = cfc_read, .write = cfc_write };

/* ---- ECAM --------------------------------------------------------------- */

static uint64_t ecam_read(void *opaque, uint64_t off, unsigned int size)
{
	if (size == 8)
		return ecam_read(opaque, off, 4) | ecam_read(opaque, off + 4, 4) << 32;
	return pci_cfg_read(opaque, off >> 20, (off >> 12) & 0xff, off & 0xfff, size);
}

static void ecam_write(void *opaque, uint64_t off, unsigned int size, uint64_t val)
{
	if (size == 8) {
		ecam_write(opaque, off, 4, (uint32_t)val);
		ecam_write(opaque, off + 4, 4, val >> 32);
		return;
	}
	pci_cfg_write(opaque, off >> 20, (off >> 12) & 0xff, off & 0xfff, size, val);
}

static const struct bus_ops ecam_ops = { .read = ecam_read, .write = ecam_write };

/* ---- devices ------------------------------------------------------------ */

void pci_dev_init(struct pci_dev *d, const char *name, uint16_t vendor, uint16_t device,
		  uint32_t class_code, uint8_t revision, uint16_t subsys_vendor, uint16_t subsys_id,
		  const struct pci_dev_ops *ops, void *opaque)
{
	memset(d, 0, sizeof(*d));
	d->name = name;
	d->ops = ops;
	d->opaque = opaque;
	for (unsigned int n = 0; n < PCI_NUM_BARS; n++)
		d->bars[n].mapped = PCI_BAR_UNMAPPED;
	pci_set16(d, PCI_VENDOR_ID, vendor);
	pci_set16(d, PCI_DEVICE_ID, device);
	pci_set32(d, PCI_REVISION_ID, class_code << 8 | revision);
	pci_set16(d, PCI_SUBSYSTEM_VENDOR_ID, subsys_vendor);
	pci_set16(d, PCI_SUBSYSTEM_ID, subsys_id);
	pci_set_wmask16(d, PCI_COMMAND, PCI_COMMAND_IO | PCI_COMMAND_MEMORY |
			PCI_COMMAND_MASTER | PCI_COMMAND_INTX_DISABLE);
	d->wmask[PCI_INTERRUPT_LINE] = 0xff;
}

int pci_dev_add_bar(struct pci_dev *d, unsigned int n, enum pci_bar_type type, uint64_t size,
		    const struct bus_ops *ops, void *opaque)
{
	uint32_t off = PCI_BAR0 + 4 * n;
	uint64_t mask = ~(size - 1);

	if (n >= PCI_NUM_BARS || type == PCI_BAR_NONE || !size || (size & (size - 1)) ||
	    d->bars[n].type != PCI_BAR_NONE ||
	    (n > 0 && d->bars[n - 1].type == PCI_BAR_MEM64) ||      /* its upper half */
	    (type == PCI_BAR_MEM64 && (n + 1 >= PCI_NUM_BARS || d->bars[n + 1].type)) ||
	    (type == PCI_BAR_IO && (size < 4 || size > 256)) ||
	    (type == PCI_BAR_MEM32 && (size < 16 || size > (1ULL << 30))) ||
	    (type == PCI_BAR_MEM64 && size < 16))
		return -EINVAL;
	d->bars[n] = (struct pci_bar){ type, size, PCI_BAR_UNMAPPED, ops, opaque };
	switch (type) {
	case PCI_BAR_IO:
		pci_set32(d, off, 1);
		d->wmask[off] = mask & 0xfc;
		d->wmask[off + 1] = mask >> 8;
		break;
	case PCI_BAR_MEM32:
		pci_set32(d, off, 0);
		for (unsigned int i = 0; i < 4; i++)
			d->wmask[off + i] = (mask & 0xfffffff0u) >> (8 * i);
		break;
	case PCI_BAR_MEM64:
		pci_set32(d, off, 0x4);          /* 64-bit, not prefetchable */
		for (unsigned int i = 0; i < 8; i++)
			d->wmask[off + i] = (mask & ~0xfULL) >> (8 * i);
		break;
	default:
		break;
	}
	return 0;
}

int pci_dev_add_cap(struct pci_dev *d, uint8_t id, uint8_t len)
{
	/* Capabilities are packed from 0x40 up, dword aligned. */
	unsigned int off = d->last_cap ? align_up(d->last_cap + d->cap_len_last, 4) : 0x40;
	if (len < 2 || off + len > 0x100)
		return -ENOSPC;
	d->cfg[off] = id;
	d->cfg[off + 1] = 0;
	if (d->last_cap)
		d->cfg[d->last_cap + 1] = off;
	else
		d->cfg[PCI_CAPABILITY_LIST] = off;
	pci_set16(d, PCI_STATUS, pci_get16(d, PCI_STATUS) | PCI_STATUS_CAP_LIST);
	d->last_cap = off;
	d->cap_len_last = len;
	return off;
}

int pci_dev_restore_config(struct pci_dev *d, const uint8_t cfg[PCI_CFG_SIZE])
{
	struct pci_host *h = d->host;

	for (unsigned int i = 0; i < PCI_CFG_SIZE; i++)
		if ((cfg[i] ^ d->cfg[i]) & ~d->wmask[i] && i != PCI_STATUS)
			return -EINVAL;
	pthread_mutex_lock(&h->lock);
	for (unsigned int i = 0; i < PCI_CFG_SIZE; i++)
		d->cfg[i] = (d->cfg[i] & ~d->wmask[i]) | (cfg[i] & d->wmask[i]);
	for (unsigned int n = 0; n < PCI_NUM_BARS; n++)
		pci_bar_update(d, n);
	pthread_mutex_unlock(&h->lock);
	return 0;
}

void pci_dev_set_intx(struct pci_dev *d, int level)
{
	uint16_t st = pci_get16(d, PCI_STATUS);

	/* The status bit and the line are the device's; config reads may race benignly. */
	pci_set16(d, PCI_STATUS, level ? st | PCI_STATUS_INTERRUPT : st & ~PCI_STATUS_INTERRUPT);
	if (level && (pci_get16(d, PCI_COMMAND) & PCI_COMMAND_INTX_DISABLE))
		return;
	irq_line_set(&d->intx, level);
}

int pci_host_add(struct pci_host *h, struct pci_dev *d)
{
	unsigned int slot;

	for (slot = 0; slot < PCI_MAX_SLOTS && h->devs[slot]; slot++)
		;
	if (slot == PCI_MAX_SLOTS) {
		pr_err("%s: no free PCI slot (%d devices at most)", d->name, PCI_MAX_SLOTS - 1);
		return -ENOSPC;
	}
	d->slot = slot;
	d->host = h;
	d->intx = h->intx_template;
	d->intx.gsi = pci_intx_gsi(slot);
	d->cfg[PCI_INTERRUPT_PIN] = 1;
	d->cfg[PCI_INTERRUPT_LINE] = d->intx.gsi;
	/* Assign the BARs as firmware would, largest first is not needed: one BAR each. */
	for (unsigned int n = 0; n < PCI_NUM_BARS; n++) {
		struct pci_bar *b = &d->bars[n];
		uint64_t *next, end;

		if (b->type == PCI_BAR_NONE)
			continue;
		if (b->type == PCI_BAR_IO) {
			pr_err("%s: I/O BARs are not assigned by kite", d->name);
			return -EINVAL;
		}
		next = b->type == PCI_BAR_MEM64 ? &h->mmio64_next : &h->mmio32_next;
		end = b->type == PCI_BAR_MEM64 ? h->mmio64_end : h->mmio32_end;
		if (align_up(*next, b->size) + b->size > end) {
			pr_err("%s: no room for BAR%u (%llu bytes) in the PCI window", d->name, n,
			       (unsigned long long)b->size);
			return -ENOSPC;
		}
		*next = align_up(*next, b->size);
		pci_set32(d, PCI_BAR0 + 4 * n, (pci_get32(d, PCI_BAR0 + 4 * n) & 0xf) |
			  (uint32_t)*next);
		if (b->type == PCI_BAR_MEM64)
			pci_set32(d, PCI_BAR0 + 4 * n + 4, *next >> 32);
		*next += b->size;
	}
	pthread_mutex_lock(&h->lock);
	h->devs[slot] = d;
	pci_set16(d, PCI_COMMAND, pci_get16(d, PCI_COMMAND) | PCI_COMMAND_MEMORY);
	for (unsigned int n = 0; n < PCI_NUM_BARS; n++)
		pci_bar_update(d, n);
	pthread_mutex_unlock(&h->lock);
	return 0;
}

int pci_host_init(struct pci_host *h, struct bus *pio, struct bus *mmio, uint64_t mmio64_base,
		  struct irq_line intx_template)
{
	int ret;

	memset(h, 0, sizeof(*h));
	h->pio = pio;
	h->mmio = mmio;
	h->ecam_base = PCI_ECAM_BASE;
	h->mmio32_base = h->mmio32_next = PCI_MMIO32_BASE;
	h->mmio32_end = PCI_MMIO32_END;
	h->mmio64_base = h->mmio64_next = align_up(mmio64_base, 1ULL << 30);
	h->mmio64_end = h->mmio64_base + PCI_MMIO64_SIZE;
	h->intx_template = intx_template;
	pthread_mutex_init(&h->lock, NULL);

	/* 00:00.0: the host bridge (Red Hat's "QEMU PCIe host bridge" ids). */
	pci_dev_init(&h->bridge, "pci-host", 0x1b36, 0x0008, 0x060000, 0, 0x1af4, 0x1100,
		     NULL, NULL);
	h->bridge.wmask[PCI_INTERRUPT_LINE] = 0;
	h->bridge.host = h;
	h->devs[0] = &h->bridge;

	ret = bus_register(pio, PCI_CFG_ADDR_PORT, 4, &cf8_ops, h, "pci-cf8");
	ret = ret ?: bus_register(pio, PCI_CFG_DATA_PORT, 4, &cfc_ops, h, "pci-cfc");
	ret = ret ?: bus_register(mmio, PCI_ECAM_BASE, PCI_ECAM_SIZE, &ecam_ops, h, "pci-ecam");
	return ret;
}

void pci_host_destroy(struct pci_host *h)
{
	pthread_mutex_destroy(&h->lock);
}
