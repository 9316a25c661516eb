/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KITE_PCI_MSIX_H
#define KITE_PCI_MSIX_H

/*
 * MSI-X (PCI Local Bus 3.0 §6.8.2): a capability, a vector table and a
 * pending-bit array in one of the device's BARs.
 *
 * Each vector owns an eventfd.  When the guest unmasks a vector with MSI-X
 * enabled, the vector's address/data are routed to a GSI and the eventfd is
 * attached to it (KVM GSI routing + KVM_IRQFD, behind struct msi_router), so
 * msix_notify() -- any thread -- is one eventfd write.  A masked vector
 * records a pending bit instead, delivered when it is unmasked.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "pci/pci.h"

#define MSIX_MAX_VECTORS        128
#define MSIX_NO_VECTOR          0xffff
#define MSIX_ENTRY_SIZE         16
#define MSIX_CTRL_ENABLE        0x8000
#define MSIX_CTRL_FMASK         0x4000
#define MSIX_VEC_MASKED         1

/* How MSI messages reach the guest; the VM implements it with KVM, tests fake it. */
struct msi_router {
	/*
	 * Route GSI *gsi (-1: allocate one and store it) to the MSI message
	 * (addr, data) and make eventfd `efd` inject it.  0 or -errno.
	 */
	int (*route)(void *ctx, int *gsi, uint64_t addr, uint32_t data, int efd);
	/* Detach efd from gsi and free the GSI. */
	void (*release)(void *ctx, int gsi, int efd);
	void *ctx;
};

struct msix_vec {
	uint32_t addr_lo, addr_hi, data, ctrl;   /* the guest's table entry */
	int gsi;                                 /* -1 until first routed */
	int efd;
	bool routed;                             /* gsi carries (r_addr, r_data) */
	uint64_t r_addr;
	uint32_t r_data;
};

struct msix {
	struct pci_dev *pdev;
	unsigned int cap;                        /* config offset of the capability */
	unsigned int nr;
	struct msix_vec vec[MSIX_MAX_VECTORS];
	uint64_t pba[MSIX_MAX_VECTORS / 64];
	pthread_mutex_t lock;
	struct msi_router router;
};

/* Snapshot state of the table and pending bits (routes are rebuilt at restore). */
struct msix_state {
	uint32_t nr;
	uint32_t reserved;
	struct { uint32_t addr_lo, addr_hi, data, ctrl; } vec[MSIX_MAX_VECTORS];
	uint64_t pba[MSIX_MAX_VECTORS / 64];
};

/*
 * Add the capability to d: nr vectors (1..MSIX_MAX_VECTORS), table and PBA
 * at the given offsets of BAR `bar` (the BAR's handler forwards accesses to
 * msix_table_*() / msix_pba_read()).  All vectors start masked.
 */
int msix_init(struct msix *m, struct pci_dev *d, unsigned int nr, unsigned int bar,
	      uint32_t table_off, uint32_t pba_off, struct msi_router router);
void msix_destroy(struct msix *m);

uint64_t msix_table_read(struct msix *m, uint64_t off, unsigned int size);
void msix_table_write(struct msix *m, uint64_t off, unsigned int size, uint64_t val);
uint64_t msix_pba_read(struct msix *m, uint64_t off, unsigned int size);

/* The guest wrote config space (call from pci_dev_ops.config_written). */
void msix_config_written(struct msix *m, uint32_t off, unsigned int size);

/* MSI-X enable bit set in the capability. */
bool msix_enabled(const struct msix *m);

/* Signal vector v: deliver, or mark pending if masked.  -EINVAL if v is out of range. */
int msix_notify(struct msix *m, unsigned int v);

/* Function reset: every vector masked, nothing pending, MSI-X disabled. */
void msix_reset(struct msix *m);

void msix_save(struct msix *m, struct msix_state *s);
int msix_restore(struct msix *m, const struct msix_state *s);

#endif
