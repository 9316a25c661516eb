// SPDX-License-Identifier: GPL-2.0-only
/* GSI routing, irqfd and ioeventfd on the in-kernel irqchip. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "irqroute.h"
#include "kvm.h"
#include "log.h"

#define IRQ_FIRST_MSI_GSI 24

static struct kvm_irq_routing_entry *route_find(struct irq_routes *r, unsigned int gsi)
{
	for (unsigned int i = 0; i < r->table->nr; i++)
		if (r->table->entries[i].gsi == gsi &&
		    r->table->entries[i].type == KVM_IRQ_ROUTING_MSI)
			return &r->table->entries[i];
	return NULL;
}

static int route_commit(struct irq_routes *r)
{
	return kvm_ioctl_val(r->vm_fd, KVM_SET_GSI_ROUTING, r->table);
}

int irq_routes_init(struct irq_routes *r, int vm_fd, int kvm_fd)
{
	int max;

	memset(r, 0, sizeof(*r));
	r->vm_fd = vm_fd;
	pthread_mutex_init(&r->lock, NULL);
	max = ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IRQ_ROUTING);
	if (max <= IRQ_FIRST_MSI_GSI) {
		pr_err("this KVM has no GSI routing (KVM_CAP_IRQ_ROUTING): MSI-X needs it");
		return -ENOSYS;
	}
	r->any_length = ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IOEVENTFD_ANY_LENGTH) > 0;
	r->max_gsi = max;
	r->cap = 64;
	r->table = calloc(1, sizeof(*r->table) + r->cap * sizeof(r->table->entries[0]));
	r->gsi_used = calloc(max, 1);
	if (!r->table || !r->gsi_used)
		return -ENOMEM;
	/* KVM's default routing for the in-kernel PIC + IOAPIC. */
	for (unsigned int gsi = 0; gsi < 24; gsi++) {
		struct kvm_irq_routing_entry *e = &r->table->entries[r->table->nr++];

		*e = (struct kvm_irq_routing_entry){ .gsi = gsi, .type = KVM_IRQ_ROUTING_IRQCHIP };
		e->u.irqchip.irqchip = KVM_IRQCHIP_IOAPIC;
		e->u.irqchip.pin = gsi;
		r->gsi_used[gsi] = 1;
		if (gsi < 16) {
			e = &r->table->entries[r->table->nr++];
			*e = (struct kvm_irq_routing_entry){ .gsi = gsi,
							     .type = KVM_IRQ_ROUTING_IRQCHIP };
			e->u.irqchip.irqchip = gsi < 8 ? KVM_IRQCHIP_PIC_MASTER :
							 KVM_IRQCHIP_PIC_SLAVE;
			e->u.irqchip.pin = gsi % 8;
		}
	}
	return 0;
}

void irq_routes_destroy(struct irq_routes *r)
{
	free(r->table);
	free(r->gsi_used);
	r->table = NULL;
	r->gsi_used = NULL;
	pthread_mutex_destroy(&r->lock);
}

int irq_routes_msi(void *ctx, int *gsi, uint64_t addr, uint32_t data, int efd)
{
	struct irq_routes *r = ctx;
	struct kvm_irq_routing_entry *e;
	bool fresh = *gsi < 0;
	int ret;

	pthread_mutex_lock(&r->lock);
	if (fresh) {
		unsigned int g;

		for (g = IRQ_FIRST_MSI_GSI; g < r->max_gsi && r->gsi_used[g]; g++)
			;
		if (g == r->max_gsi) {
			ret = -ENOSPC;
			goto out;
		}
		if (r->table->nr == r->cap) {
			unsigned int cap = r->cap * 2;
			struct kvm_irq_routing *t = realloc(r->table, sizeof(*t) +
							    cap * sizeof(t->entries[0]));

			if (!t) {
				ret = -ENOMEM;
				goto out;
			}
			r->table = t;
			r->cap = cap;
		}
		e = &r->table->entries[r->table->nr++];
		*e = (struct kvm_irq_routing_entry){ .gsi = g, .type = KVM_IRQ_ROUTING_MSI };
		r->gsi_used[g] = 1;
		*gsi = g;
	} else {
		e = route_find(r, *gsi);
		if (!e) {
			ret = -ENOENT;
			goto out;
		}
	}
	e->u.msi.address_lo = (uint32_t)addr;
	e->u.msi.address_hi = addr >> 32;
	e->u.msi.data = data;
	ret = route_commit(r);
	if (!ret && fresh) {
		struct kvm_irqfd irqfd = { .fd = efd, .gsi = *gsi };

		ret = kvm_ioctl(r->vm_fd, KVM_IRQFD, &irqfd);
	}
	if (ret && fresh) {
		r->table->nr--;
		r->gsi_used[*gsi] = 0;
		*gsi = -1;
		route_commit(r);
	}
out:
	pthread_mutex_unlock(&r->lock);
	return ret;
}

void irq_routes_release(void *ctx, int gsi, int efd)
{
	struct irq_routes *r = ctx;
	struct kvm_irqfd irqfd = { .fd = efd, .gsi = gsi, .flags = KVM_IRQFD_FLAG_DEASSIGN };
	struct kvm_irq_routing_entry *e;

	pthread_mutex_lock(&r->lock);
	kvm_ioctl(r->vm_fd, KVM_IRQFD, &irqfd);
	e = route_find(r, gsi);
	if (e) {
		*e = r->table->entries[--r->table->nr];
		r->gsi_used[gsi] = 0;
	}
	pthread_mutex_unlock(&r->lock);
}

int irq_routes_ioeventfd(void *ctx, uint64_t addr, int efd, bool assign)
{
	struct irq_routes *r = ctx;
	struct kvm_ioeventfd io = {
		.addr = addr,
		.len = r->any_length ? 0 : 2,
		.fd = efd,
		.flags = assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN,
	};

	return kvm_ioctl(r->vm_fd, KVM_IOEVENTFD, &io);
}
