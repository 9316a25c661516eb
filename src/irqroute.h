/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KITE_IRQROUTE_H
#define KITE_IRQROUTE_H

/*
 * KVM's GSI routing table, irqfds and ioeventfds.
 *
 * KVM_SET_GSI_ROUTING replaces the whole table, so kite keeps its own copy:
 * the in-kernel irqchip's default routes (GSI 0-15 to PIC and IOAPIC, 16-23
 * to the IOAPIC) plus one MSI route per MSI-X vector in use, allocated from
 * GSI 24 up.  Any vCPU thread may change it (MSI-X table writes): a mutex
 * serialises the updates.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <linux/kvm.h>

struct irq_routes {
	int vm_fd;
	pthread_mutex_t lock;
	struct kvm_irq_routing *table;
	unsigned int cap;               /* entries allocated */
	unsigned int max_gsi;           /* KVM_CAP_IRQ_ROUTING */
	uint8_t *gsi_used;              /* [max_gsi] */
	bool any_length;                /* KVM_CAP_IOEVENTFD_ANY_LENGTH */
};

int irq_routes_init(struct irq_routes *r, int vm_fd, int kvm_fd);
void irq_routes_destroy(struct irq_routes *r);

/* struct msi_router callbacks (ctx = struct irq_routes *). */
int irq_routes_msi(void *ctx, int *gsi, uint64_t addr, uint32_t data, int efd);
void irq_routes_release(void *ctx, int gsi, int efd);

/* struct ioeventfd_ops callback: a write of any size at MMIO addr signals efd. */
int irq_routes_ioeventfd(void *ctx, uint64_t addr, int efd, bool assign);

#endif
