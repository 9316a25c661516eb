/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KITE_VIRTIO_PCI_H
#define KITE_VIRTIO_PCI_H

/*
 * virtio-pci modern transport (VIRTIO 1.2 §4.1), VERSION_1 only.
 *
 * One 64-bit memory BAR (BAR 0, 32 KiB) holds every structure:
 *   0x0000 common configuration      0x3000 notifications (4 bytes per queue)
 *   0x1000 ISR status                0x4000 MSI-X table
 *   0x2000 device configuration      0x6000 MSI-X pending bits
 * and the capability list points at them (plus the PCI-config access cap).
 *
 * Each queue has a kick eventfd.  KVM_IOEVENTFD attaches it to the queue's
 * notification address, so a guest kick wakes the I/O thread without going
 * through kite's vCPU thread; an MMIO exit on the notify region (no
 * ioeventfd) writes the same eventfd.  The I/O thread then calls the
 * device's queue_notify with the device lock held.
 *
 * Interrupts: MSI-X when the driver enabled it (queue and config vectors),
 * else INTx (the ISR status bits, cleared when the driver reads them).
 */
#include <stdbool.h>
#include <stdint.h>

#include "evloop.h"
#include "pci/msix.h"
#include "pci/pci.h"
#include "virtio/virtio.h"

#define VIRTIO_PCI_BAR_SIZE     0x8000
#define VIRTIO_PCI_COMMON       0x0000
#define VIRTIO_PCI_ISR          0x1000
#define VIRTIO_PCI_DEVICE       0x2000
#define VIRTIO_PCI_NOTIFY       0x3000
#define VIRTIO_PCI_NOTIFY_MULT  4
#define VIRTIO_PCI_MSIX_TABLE   0x4000
#define VIRTIO_PCI_MSIX_PBA     0x6000
#define VIRTIO_PCI_MAX_QUEUES   (0x1000 / VIRTIO_PCI_NOTIFY_MULT)

/* How notifications are wired into KVM; the VM implements it, tests fake it. */
struct ioeventfd_ops {
	/* Attach (assign) or detach efd to writes at guest-physical MMIO addr. */
	int (*set)(void *ctx, uint64_t addr, int efd, bool assign);
	void *ctx;
};

struct virtio_pci {
	struct pci_dev pci;
	struct virtio_dev *vd;
	struct msix msix;
	struct ioeventfd_ops ioev;
	struct evloop *io;
	uint32_t dfselect, gfselect;
	uint16_t queue_sel;
	uint16_t msix_config;
	uint16_t *queue_msix;           /* [nr_queues] */
	struct virtio_pci_kick {
		struct virtio_pci *vp;
		unsigned int q;
		int efd;
		bool ioev_on;           /* attached at the BAR's notify address */
	} *kicks;                       /* [nr_queues] */
	uint8_t isr;
	/* The VIRTIO_PCI_CAP_PCI_CFG window (§4.1.4.9). */
	unsigned int cfg_cap;
	char name[32];
};

/* Transport state for snapshots (device and queue state are saved separately). */
struct virtio_pci_state {
	uint32_t dfselect, gfselect;
	uint64_t features;
	uint16_t queue_sel;
	uint16_t msix_config;
	uint8_t status;
	uint8_t isr;
	uint8_t reserved[2];
	uint32_t config_generation;
	uint32_t reserved2;
	uint16_t queue_msix[VIRTIO_PCI_MAX_QUEUES];
};

/*
 * Wrap vd in a PCI function: builds the config space, the BAR and MSI-X
 * (nr_queues + 1 vectors), creates the kick eventfds and registers them on
 * `io` (before the I/O thread starts).  Plug it in with pci_host_add().
 */
int virtio_pci_init(struct virtio_pci *vp, struct virtio_dev *vd, struct evloop *io,
		    struct msi_router router, struct ioeventfd_ops ioev);
void virtio_pci_destroy(struct virtio_pci *vp);

/* Exposed for unit tests and fuzzing: the BAR's MMIO handlers. */
uint64_t virtio_pci_bar_read(void *opaque, uint64_t off, unsigned int size);
void virtio_pci_bar_write(void *opaque, uint64_t off, unsigned int size, uint64_t val);
/* Run what a kick of queue q does on the I/O thread (tests call it directly). */
void virtio_pci_kick(struct virtio_pci *vp, unsigned int q);

/* Kick every ready queue once (after a restore: buffers may be waiting). */
void virtio_pci_kick_all(struct virtio_pci *vp);

void virtio_pci_save(struct virtio_pci *vp, struct virtio_pci_state *s);
int virtio_pci_restore(struct virtio_pci *vp, const struct virtio_pci_state *s);

#endif
