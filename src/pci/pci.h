/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KITE_PCI_PCI_H
#define KITE_PCI_PCI_H

/*
 * PCI: one host bridge, bus 0, 32 slots of single-function devices.
 *
 * Configuration space is reached through ports 0xCF8/0xCFC (mechanism #1)
 * and through ECAM (MMIO, described by the ACPI MCFG table); both end in
 * pci_cfg_read()/pci_cfg_write(), serialised by the host's lock.  A device
 * is a 4 KiB config image plus a write mask: a guest write changes only the
 * bits the mask allows, so BAR sizing (write all ones, read back) and
 * read-only registers need no special code.
 *
 * BARs are assigned by kite (the firmware's job): 32-bit memory BARs in the
 * 32-bit hole, 64-bit ones above RAM.  When the guest moves a BAR or turns
 * decoding off, the range is unregistered from the bus -- which waits for
 * handlers still running in it on other vCPUs -- and registered again at the
 * new address; ops->bar_moved() lets the device move what KVM maps for it
 * (ioeventfds).
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "bus.h"
#include "machine.h"

#define PCI_CFG_SIZE            4096
#define PCI_NUM_BARS            6
#define PCI_MAX_SLOTS           32

/* Standard header registers. */
#define PCI_VENDOR_ID           0x00
#define PCI_DEVICE_ID           0x02
#define PCI_COMMAND             0x04
#define  PCI_COMMAND_IO         0x1
#define  PCI_COMMAND_MEMORY     0x2
#define  PCI_COMMAND_MASTER     0x4
#define  PCI_COMMAND_INTX_DISABLE 0x400
#define PCI_STATUS              0x06
#define  PCI_STATUS_INTERRUPT   0x08
#define  PCI_STATUS_CAP_LIST    0x10
#define PCI_REVISION_ID         0x08
#define PCI_CLASS_PROG          0x09
#define PCI_HEADER_TYPE         0x0e
#define PCI_BAR0                0x10
#define PCI_SUBSYSTEM_VENDOR_ID 0x2c
#define PCI_SUBSYSTEM_ID        0x2e
#define PCI_CAPABILITY_LIST     0x34
#define PCI_INTERRUPT_LINE      0x3c
#define PCI_INTERRUPT_PIN       0x3d

#define PCI_CAP_ID_MSIX         0x11
#define PCI_CAP_ID_VNDR         0x09

#define PCI_BAR_UNMAPPED        UINT64_MAX

enum pci_bar_type { PCI_BAR_NONE, PCI_BAR_IO, PCI_BAR_MEM32, PCI_BAR_MEM64 };

struct pci_dev;

struct pci_dev_ops {
	/* After a guest config write was applied (off, size as written).  May be NULL. */
	void (*config_written)(struct pci_dev *d, uint32_t off, unsigned int size);
	/* Before a guest config read of [off, off + size): refresh cfg[] if needed.  May be NULL. */
	void (*config_read)(struct pci_dev *d, uint32_t off, unsigned int size);
	/*
	 * BAR `bar` moved from old to new (PCI_BAR_UNMAPPED: not decoded).
	 * Runs with the host lock held, after the bus range moved.  May be NULL.
	 */
	void (*bar_moved)(struct pci_dev *d, unsigned int bar, uint64_t old, uint64_t new);
};

struct pci_bar {
	enum pci_bar_type type;
	uint64_t size;                  /* a power of two */
	uint64_t mapped;                /* where the bus has it, or PCI_BAR_UNMAPPED */
	const struct bus_ops *ops;      /* offset is relative to the BAR */
	void *opaque;
};

struct pci_host;

struct pci_dev {
	uint8_t cfg[PCI_CFG_SIZE];
	uint8_t wmask[PCI_CFG_SIZE];    /* bits the guest may change */
	struct pci_bar bars[PCI_NUM_BARS];
	uint8_t last_cap;               /* offset of the last capability (0: none) */
	uint8_t cap_len_last;           /* and its length */
	unsigned int slot;
	struct pci_host *host;
	const struct pci_dev_ops *ops;
	void *opaque;
	const char *name;
	struct irq_line intx;           /* INTA#, routed to an IOAPIC pin */
};

struct pci_host {
	struct bus *pio, *mmio;
	pthread_mutex_t lock;           /* config space of every device */
	uint32_t cf8;                   /* the address latch of mechanism #1 */
	struct pci_dev *devs[PCI_MAX_SLOTS];
	struct pci_dev bridge;          /* 00:00.0 */
	uint64_t ecam_base;
	uint64_t mmio32_base, mmio32_end, mmio32_next;
	uint64_t mmio64_base, mmio64_end, mmio64_next;
	struct irq_line intx_template;  /* set(), ctx: how devices drive their INTx GSI */
};

/* Where things are (the ACPI tables describe the same). */
#define PCI_CFG_ADDR_PORT       0xcf8
#define PCI_CFG_DATA_PORT       0xcfc
#define PCI_ECAM_BASE           0xe0000000ULL
#define PCI_ECAM_SIZE           0x100000ULL          /* bus 0 only */
#define PCI_MMIO32_BASE         0xc0000000ULL
#define PCI_MMIO32_END          0xe0000000ULL
#define PCI_MMIO64_SIZE         (64ULL << 30)
#define PCI_INTX_GSI_BASE       16                   /* INTA# of slot s: GSI 16 + s % 8 */

static inline unsigned int pci_intx_gsi(unsigned int slot)
{
	return PCI_INTX_GSI_BASE + slot % 8;
}

/*
 * Set up the host bridge and claim 0xCF8-0xCFF and the ECAM window.  The
 * 64-bit BAR window starts at mmio64_base (above RAM, 1 GiB aligned).
 */
int pci_host_init(struct pci_host *h, struct bus *pio, struct bus *mmio, uint64_t mmio64_base,
		  struct irq_line intx_template);
void pci_host_destroy(struct pci_host *h);

/* Initialise a device's header (type 0) before adding BARs and capabilities. */
void pci_dev_init(struct pci_dev *d, const char *name, uint16_t vendor, uint16_t device,
		  uint32_t class_code, uint8_t revision, uint16_t subsys_vendor, uint16_t subsys_id,
		  const struct pci_dev_ops *ops, void *opaque);
/* Declare BAR n (size a power of two, >= 16 for memory). */
int pci_dev_add_bar(struct pci_dev *d, unsigned int n, enum pci_bar_type type, uint64_t size,
		    const struct bus_ops *ops, void *opaque);
/* Append a capability of `len` bytes (id and next filled in); returns its offset or -ENOSPC. */
int pci_dev_add_cap(struct pci_dev *d, uint8_t id, uint8_t len);
/* Plug the device into the next free slot, assign its BARs and map them.  0 or -errno. */
int pci_host_add(struct pci_host *h, struct pci_dev *d);

/* Config space access (also used by unit tests).  Bad offsets read ones / are ignored. */
uint32_t pci_cfg_read(struct pci_host *h, unsigned int bus, unsigned int devfn, uint32_t off,
		      unsigned int size);
void pci_cfg_write(struct pci_host *h, unsigned int bus, unsigned int devfn, uint32_t off,
		   unsigned int size, uint32_t val);

/* Little-endian config image helpers. */
static inline uint16_t pci_get16(const struct pci_dev *d, uint32_t off)
{
	return d->cfg[off] | (uint16_t)d->cfg[off + 1] << 8;
}

static inline uint32_t pci_get32(const struct pci_dev *d, uint32_t off)
{
	return pci_get16(d, off) | (uint32_t)pci_get16(d, off + 2) << 16;
}

static inline void pci_set16(struct pci_dev *d, uint32_t off, uint16_t v)
{
	d->cfg[off] = v;
	d->cfg[off + 1] = v >> 8;
}

static inline void pci_set32(struct pci_dev *d, uint32_t off, uint32_t v)
{
	pci_set16(d, off, v);
	pci_set16(d, off + 2, v >> 16);
}

static inline void pci_set_wmask16(struct pci_dev *d, uint32_t off, uint16_t m)
{
	d->wmask[off] = m;
	d->wmask[off + 1] = m >> 8;
}

/*
 * Snapshot restore: take the guest-visible config image (writable bits
 * only; read-only ones must match) and decode the BARs it programs.
 * -EINVAL if a read-only byte differs.
 */
int pci_dev_restore_config(struct pci_dev *d, const uint8_t cfg[PCI_CFG_SIZE]);

/* Drive INTA# (level); no-op if the guest set INTX_DISABLE when asserting. */
void pci_dev_set_intx(struct pci_dev *d, int level);

#endif
