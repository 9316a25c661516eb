// SPDX-License-Identifier: GPL-2.0-only
/* virtio-pci modern transport. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "log.h"
#include "virtio/pci.h"

#define VIRTIO_PCI_CAP_COMMON_CFG 1
#define VIRTIO_PCI_CAP_NOTIFY_CFG 2
#define VIRTIO_PCI_CAP_ISR_CFG    3
#define VIRTIO_PCI_CAP_DEVICE_CFG 4
#define VIRTIO_PCI_CAP_PCI_CFG    5

#define VP_COMMON_SIZE            0x38

/* struct virtio_pci_common_cfg (§4.1.4.3), little-endian. */
struct vp_common {
	uint32_t device_feature_select;
	uint32_t device_feature;
	uint32_t driver_feature_select;
	uint32_t driver_feature;
	uint16_t config_msix_vector;
	uint16_t num_queues;
	uint8_t device_status;
	uint8_t config_generation;
	uint16_t queue_select;
	uint16_t queue_size;
	uint16_t queue_msix_vector;
	uint16_t queue_enable;
	uint16_t queue_notify_off;
	uint64_t queue_desc;
	uint64_t queue_driver;
	uint64_t queue_device;
} __attribute__((packed));

_Static_assert(sizeof(struct vp_common) == VP_COMMON_SIZE, "common config layout");

static uint32_t pci_class_of(uint16_t id)
{
	switch (id) {
	case VIRTIO_ID_NET: return 0x020000;       /* network, ethernet */
	case VIRTIO_ID_BLOCK: return 0x010000;     /* storage, SCSI (as QEMU) */
	case VIRTIO_ID_CONSOLE: return 0x078000;   /* communication, other */
	case VIRTIO_ID_RNG: return 0x00ff00;
	default: return 0xff0000;
	}
}

/* ---- interrupts (device lock held) ------------------------------------- */

static void vp_interrupt(struct virtio_pci *vp, uint16_t vector, uint8_t isr_bit)
{
	if (msix_enabled(&vp->msix)) {
		if (vector != MSIX_NO_VECTOR)
			msix_notify(&vp->msix, vector);
		return;
	}
	vp->isr |= isr_bit;
	pci_dev_set_intx(&vp->pci, 1);
}

static void vp_notify_queue(void *ctx, unsigned int q)
{
	struct virtio_pci *vp = ctx;

	if (q < vp->vd->nr_queues)
		vp_interrupt(vp, vp->queue_msix[q], 1);
}

static void vp_notify_config(void *ctx)
{
	struct virtio_pci *vp = ctx;

	vp_interrupt(vp, vp->msix_config, 2);
}

static const struct virtio_transport_ops vp_transport_ops = {
	.notify_queue = vp_notify_queue,
	.notify_config = vp_notify_config,
};

/* ---- kicks --------------------------------------------------------------- */

void virtio_pci_kick(struct virtio_pci *vp, unsigned int q)
{
	struct virtio_dev *vd = vp->vd;

	virtio_dev_lock(vd);
	if (q < vd->nr_queues && virtio_dev_running(vd) && vd->vqs[q].s.ready && vd->ops->queue_notify)
		vd->ops->queue_notify(vd, q);
	virtio_dev_unlock(vd);
}

static void vp_kick_cb(void *opaque, uint32_t events)
{
	struct virtio_pci_kick *k = opaque;
	uint64_t n;

	(void)events;
	if (read(k->efd, &n, sizeof(n)) != sizeof(n))
		return;
	virtio_pci_kick(k->vp, k->q);
}

static void vp_signal_kick(struct virtio_pci_kick *k)
{
	uint64_t one = 1;

	if (write(k->efd, &one, sizeof(one)) < 0)
		pr_debug("%s: kick eventfd: %m", k->vp->name);
}

/* ---- common configuration ------------------------------------------------ */

static uint16_t vp_valid_vector(struct virtio_pci *vp, uint16_t v)
{
	return v < vp->msix.nr ? v : MSIX_NO_VECTOR;
}

static void vp_reset(struct virtio_pci *vp)
{
	struct virtio_dev *vd = vp->vd;

	virtio_dev_reset(vd);
	vp->dfselect = vp->gfselect = 0;
	vp->queue_sel = 0;
	vp->msix_config = MSIX_NO_VECTOR;
	for (unsigned int q = 0; q < vd->nr_queues; q++)
		vp->queue_msix[q] = MSIX_NO_VECTOR;
	vp->isr = 0;
	pci_dev_set_intx(&vp->pci, 0);
}

static void vp_set_status(struct virtio_pci *vp, uint8_t val)
{
	struct virtio_dev *vd = vp->vd;
	uint8_t old = vd->status;
	int ret;

	if (val == 0) {
		vp_reset(vp);
		return;
	}
	/*
	 * Bits only accumulate until a reset (§2.1.2: the driver must not clear
	 * them): a driver dropping FEATURES_OK after DRIVER_OK must not get to
	 * rewrite the features of a running device.
	 */
	val |= old;
	val &= ~VIRTIO_STATUS_DEVICE_NEEDS_RESET;
	if ((val & VIRTIO_STATUS_FEATURES_OK) && !(old & VIRTIO_STATUS_FEATURES_OK)) {
		/* Only offered features, and VERSION_1: else FEATURES_OK does not stick. */
		if ((vd->features & ~vd->host_features) ||
		    !(vd->features & VIRTIO_BIT(VIRTIO_F_VERSION_1)))
			val &= ~VIRTIO_STATUS_FEATURES_OK;
	}
	vd->status = val | (old & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	if (!(val & VIRTIO_STATUS_DRIVER_OK) || (old & VIRTIO_STATUS_DRIVER_OK))
		return;
	if (!(val & VIRTIO_STATUS_FEATURES_OK)) {
		virtio_dev_needs_reset(vd, "the driver set DRIVER_OK without FEATURES_OK");
		return;
	}
	if (vd->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET)
		return;
	ret = vd->ops->activate ? vd->ops->activate(vd) : 0;
	if (ret) {
		virtio_dev_needs_reset(vd, "the device could not start");
		return;
	}
	/* Buffers made available before DRIVER_OK came with no (useful) kick. */
	for (unsigned int q = 0; q < vd->nr_queues; q++)
		if (vd->vqs[q].s.ready)
			vp_signal_kick(&vp->kicks[q]);
}

static void vp_common_image(struct virtio_pci *vp, struct vp_common *c)
{
	struct virtio_dev *vd = vp->vd;
	struct virtq *vq = vp->queue_sel < vd->nr_queues ? &vd->vqs[vp->queue_sel] : NULL;

	memset(c, 0, sizeof(*c));
	c->device_feature_select = vp->dfselect;
	c->device_feature = vp->dfselect < 2 ? vd->host_features >> (32 * vp->dfselect) : 0;
	c->driver_feature_select = vp->gfselect;
	c->driver_feature = vp->gfselect < 2 ? vd->features >> (32 * vp->gfselect) : 0;
	c->config_msix_vector = vp->msix_config;
	c->num_queues = vd->nr_queues;
	c->device_status = vd->status;
	c->config_generation = vd->config_generation;
	c->queue_select = vp->queue_sel;
	if (vq) {
		c->queue_size = vq->s.size;
		c->queue_msix_vector = vp->queue_msix[vp->queue_sel];
		c->queue_enable = vq->s.ready;
		c->queue_notify_off = vp->queue_sel;
		c->queue_desc = vq->s.desc_addr;
		c->queue_driver = vq->s.avail_addr;
		c->queue_device = vq->s.used_addr;
	} else {
		c->queue_msix_vector = MSIX_NO_VECTOR;
	}
}

static uint64_t vp_common_read(struct virtio_pci *vp, uint64_t off, unsigned int size)
{
	struct vp_common c;
	uint64_t v = 0;

	if (off >= VP_COMMON_SIZE || size > VP_COMMON_SIZE - off)
		return 0;
	vp_common_image(vp, &c);
	memcpy(&v, (uint8_t *)&c + off, size);
	return v;
}

/* Store a (possibly partial: 32-bit halves) write into a 64-bit queue address. */
static void vp_write_addr(uint64_t *field, uint64_t off_in_field, unsigned int size, uint64_t val)
{
	if (size == 8 && off_in_field == 0)
		*field = val;
	else if (size == 4 && off_in_field == 0)
		*field = (*field & ~0xffffffffULL) | (uint32_t)val;
	else if (size == 4 && off_in_field == 4)
		*field = (*field & 0xffffffffULL) | (uint64_t)(uint32_t)val << 32;
}

static void vp_common_write(struct virtio_pci *vp, uint64_t off, unsigned int size, uint64_t val)
{
	struct virtio_dev *vd = vp->vd;
	struct virtq *vq = vp->queue_sel < vd->nr_queues ? &vd->vqs[vp->queue_sel] : NULL;
	bool features_fixed = vd->status & VIRTIO_STATUS_FEATURES_OK;

	switch (off) {
	case offsetof(struct vp_common, device_feature_select):
		if (size == 4)
			vp->dfselect = val;
		return;
	case offsetof(struct vp_common, driver_feature_select):
		if (size == 4)
			vp->gfselect = val;
		return;
	case offsetof(struct vp_common, driver_feature):
		if (size != 4 || features_fixed || vp->gfselect > 1)
			return;
		vd->features &= ~(0xffffffffULL << (32 * vp->gfselect));
		vd->features |= (uint64_t)(uint32_t)val << (32 * vp->gfselect);
		return;
	case offsetof(struct vp_common, config_msix_vector):
		if (size == 2)
			vp->msix_config = vp_valid_vector(vp, val);
		return;
	case offsetof(struct vp_common, device_status):
		if (size == 1)
			vp_set_status(vp, val);
		return;
	case offsetof(struct vp_common, queue_select):
		if (size == 2)
			vp->queue_sel = val;
		return;
	}
	if (!vq)
		return;         /* queue registers of a queue that does not exist */
	switch (off) {
	case offsetof(struct vp_common, queue_size):
		if (size == 2 && !vq->s.ready)
			vq->s.size = val;
		return;
	case offsetof(struct vp_common, queue_msix_vector):
		if (size == 2)
			vp->queue_msix[vp->queue_sel] = vp_valid_vector(vp, val);
		return;
	case offsetof(struct vp_common, queue_enable):
		if (size != 2 || val != 1 || vq->s.ready)
			return;
		if (virtq_enable(vq, virtio_dev_has(vd, VIRTIO_F_EVENT_IDX)) < 0)
			virtio_dev_needs_reset(vd, "the driver enabled a queue with a bad layout");
		return;
	}
	if (vq->s.ready || off < offsetof(struct vp_common, queue_desc))
		return;
	if (off < offsetof(struct vp_common, queue_driver))
		vp_write_addr(&vq->s.desc_addr, off - offsetof(struct vp_common, queue_desc), size, val);
	else if (off < offsetof(struct vp_common, queue_device))
		vp_write_addr(&vq->s.avail_addr, off - offsetof(struct vp_common, queue_driver), size, val);
	else if (off < VP_COMMON_SIZE)
		vp_write_addr(&vq->s.used_addr, off - offsetof(struct vp_common, queue_device), size, val);
}

/* ---- the BAR ------------------------------------------------------------- */

uint64_t virtio_pci_bar_read(void *opaque, uint64_t off, unsigned int size)
{
	struct virtio_pci *vp = opaque;
	struct virtio_dev *vd = vp->vd;
	uint64_t v = 0;

	if (off >= VIRTIO_PCI_MSIX_PBA)
		return msix_pba_read(&vp->msix, off - VIRTIO_PCI_MSIX_PBA, size);
	if (off >= VIRTIO_PCI_MSIX_TABLE)
		return msix_table_read(&vp->msix, off - VIRTIO_PCI_MSIX_TABLE, size);
	if (off >= VIRTIO_PCI_NOTIFY)
		return 0;
	virtio_dev_lock(vd);
	if (off >= VIRTIO_PCI_DEVICE) {
		off -= VIRTIO_PCI_DEVICE;
		if (off < vd->config_size && size <= vd->config_size - off && vd->ops->config_read)
			vd->ops->config_read(vd, off, &v, size);
	} else if (off >= VIRTIO_PCI_ISR) {
		if (off == VIRTIO_PCI_ISR) {
			v = vp->isr;            /* reading clears it (§4.1.4.5) */
			vp->isr = 0;
			pci_dev_set_intx(&vp->pci, 0);
		}
	} else {
		v = vp_common_read(vp, off, size);
	}
	virtio_dev_unlock(vd);
	return v;
}

void virtio_pci_bar_write(void *opaque, uint64_t off, unsigned int size, uint64_t val)
{
	struct virtio_pci *vp = opaque;
	struct virtio_dev *vd = vp->vd;

	if (off >= VIRTIO_PCI_MSIX_PBA)
		return;                         /* read-only */
	if (off >= VIRTIO_PCI_MSIX_TABLE) {
		msix_table_write(&vp->msix, off - VIRTIO_PCI_MSIX_TABLE, size, val);
		return;
	}
	if (off >= VIRTIO_PCI_NOTIFY) {
		/* No ioeventfd caught it: same eventfd, same I/O thread. */
		uint64_t q = (off - VIRTIO_PCI_NOTIFY) / VIRTIO_PCI_NOTIFY_MULT;

		if (q < vd->nr_queues)
			vp_signal_kick(&vp->kicks[q]);
		return;
	}
	virtio_dev_lock(vd);
	if (off >= VIRTIO_PCI_DEVICE) {
		off -= VIRTIO_PCI_DEVICE;
		if (off < vd->config_size && size <= vd->config_size - off && vd->ops->config_write)
			vd->ops->config_write(vd, off, &val, size);
	} else if (off < VIRTIO_PCI_ISR) {
		vp_common_write(vp, off, size, val);
	}
	virtio_dev_unlock(vd);
}

static const struct bus_ops vp_bar_ops = {
	.read = virtio_pci_bar_read,
	.write = virtio_pci_bar_write,
};

/* ---- PCI hooks (host lock held) ---------------------------------------- */

static void vp_bar_moved(struct pci_dev *d, unsigned int bar, uint64_t old, uint64_t new)
{
	struct virtio_pci *vp = d->opaque;

	if (bar != 0 || !vp->ioev.set)
		return;
	for (unsigned int q = 0; q < vp->vd->nr_queues; q++) {
		struct virtio_pci_kick *k = &vp->kicks[q];
		uint64_t qoff = VIRTIO_PCI_NOTIFY + (uint64_t)q * VIRTIO_PCI_NOTIFY_MULT;

		if (k->ioev_on && old != PCI_BAR_UNMAPPED)
			vp->ioev.set(vp->ioev.ctx, old + qoff, k->efd, false);
		k->ioev_on = false;
		if (new != PCI_BAR_UNMAPPED)
			k->ioev_on = vp->ioev.set(vp->ioev.ctx, new + qoff, k->efd, true) == 0;
	}
}

/* The VIRTIO_PCI_CAP_PCI_CFG window: cap + 4 bar, + 8 offset, + 12 length, + 16 data. */
static bool vp_cfg_window(struct virtio_pci *vp, uint64_t *off, unsigned int *len)
{
	const struct pci_dev *d = &vp->pci;
	unsigned int c = vp->cfg_cap;

	*off = pci_get32(d, c + 8);
	*len = pci_get32(d, c + 12);
	return d->cfg[c + 4] == 0 && (*len == 1 || *len == 2 || *len == 4) &&
	       *off < VIRTIO_PCI_BAR_SIZE && *off % *len == 0;
}

static void vp_config_written(struct pci_dev *d, uint32_t off, unsigned int size)
{
	struct virtio_pci *vp = d->opaque;
	unsigned int c = vp->cfg_cap;
	uint64_t woff;
	unsigned int len;

	msix_config_written(&vp->msix, off, size);
	if (off < c + 20 && off + size > c + 16 && vp_cfg_window(vp, &woff, &len))
		virtio_pci_bar_write(vp, woff, len, pci_get32(d, c + 16));
}

static void vp_config_read(struct pci_dev *d, uint32_t off, unsigned int size)
{
	struct virtio_pci *vp = d->opaque;
	unsigned int c = vp->cfg_cap;
	uint64_t woff;
	unsigned int len;

	if (off < c + 20 && off + size > c + 16 && vp_cfg_window(vp, &woff, &len))
		pci_set32(d, c + 16, virtio_pci_bar_read(vp, woff, len));
}

static const struct pci_dev_ops vp_pci_ops = {
	.config_written = vp_config_written,
	.config_read = vp_config_read,
	.bar_moved = vp_bar_moved,
};

/* ---- set-up -------------------------------------------------------------- */

static int vp_add_cap(struct pci_dev *d, uint8_t type, uint32_t off, uint32_t len,
		      uint8_t cap_len)
{
	int c = pci_dev_add_cap(d, PCI_CAP_ID_VNDR, cap_len);

	if (c < 0)
		return c;
	d->cfg[c + 2] = cap_len;
	d->cfg[c + 3] = type;
	d->cfg[c + 4] = 0;                   /* BAR 0 */
	pci_set32(d, c + 8, off);
	pci_set32(d, c + 12, len);
	return c;
}

int virtio_pci_init(struct virtio_pci *vp, struct virtio_dev *vd, struct evloop *io,
		    struct msi_router router, struct ioeventfd_ops ioev)
{
	struct pci_dev *d = &vp->pci;
	unsigned int nq = vd->nr_queues;
	int c, ret;

	memset(vp, 0, sizeof(*vp));
	if (nq > VIRTIO_PCI_MAX_QUEUES || nq + 1 > MSIX_MAX_VECTORS)
		return -EINVAL;
	vp->vd = vd;
	vp->io = io;
	vp->ioev = ioev;
	snprintf(vp->name, sizeof(vp->name), "%s", vd->name);
	vp->queue_msix = calloc(nq, sizeof(*vp->queue_msix));
	vp->kicks = calloc(nq, sizeof(*vp->kicks));
	if (!vp->queue_msix || !vp->kicks)
		return -ENOMEM;
	for (unsigned int q = 0; q < nq; q++)
		vp->kicks[q].efd = -1;

	pci_dev_init(d, vp->name, 0x1af4, 0x1040 + vd->device_id, pci_class_of(vd->device_id), 1,
		     0x1af4, 0x40, &vp_pci_ops, vp);
	ret = pci_dev_add_bar(d, 0, PCI_BAR_MEM64, VIRTIO_PCI_BAR_SIZE, &vp_bar_ops, vp);
	if (ret)
		return ret;
	ret = msix_init(&vp->msix, d, nq + 1, 0, VIRTIO_PCI_MSIX_TABLE, VIRTIO_PCI_MSIX_PBA, router);
	if (ret)
		return ret;
	c = vp_add_cap(d, VIRTIO_PCI_CAP_COMMON_CFG, VIRTIO_PCI_COMMON, 0x1000, 16);
	c = c < 0 ? c : vp_add_cap(d, VIRTIO_PCI_CAP_ISR_CFG, VIRTIO_PCI_ISR, 0x1000, 16);
	c = c < 0 ? c : vp_add_cap(d, VIRTIO_PCI_CAP_DEVICE_CFG, VIRTIO_PCI_DEVICE, 0x1000, 16);
	c = c < 0 ? c : vp_add_cap(d, VIRTIO_PCI_CAP_NOTIFY_CFG, VIRTIO_PCI_NOTIFY, 0x1000, 20);
	if (c >= 0)
		pci_set32(d, c + 16, VIRTIO_PCI_NOTIFY_MULT);
	c = c < 0 ? c : vp_add_cap(d, VIRTIO_PCI_CAP_PCI_CFG, 0, 0, 20);
	if (c < 0)
		return c;
	vp->cfg_cap = c;
	d->wmask[c + 4] = 0xff;
	for (unsigned int i = 8; i < 20; i++)
		d->wmask[c + i] = 0xff;

	vp->msix_config = MSIX_NO_VECTOR;
	for (unsigned int q = 0; q < nq; q++) {
		struct virtio_pci_kick *k = &vp->kicks[q];

		vp->queue_msix[q] = MSIX_NO_VECTOR;
		k->vp = vp;
		k->q = q;
		k->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (k->efd < 0)
			return -errno;
		ret = evloop_add(io, k->efd, EPOLLIN, vp_kick_cb, k);
		if (ret)
			return ret;
	}
	vd->t_ops = &vp_transport_ops;
	vd->t_ctx = vp;
	return 0;
}

void virtio_pci_destroy(struct virtio_pci *vp)
{
	if (vp->kicks) {
		for (unsigned int q = 0; q < vp->vd->nr_queues; q++) {
			struct virtio_pci_kick *k = &vp->kicks[q];

			if (k->efd < 0)
				continue;
			if (k->ioev_on && vp->pci.bars[0].mapped != PCI_BAR_UNMAPPED)
				vp->ioev.set(vp->ioev.ctx, vp->pci.bars[0].mapped + VIRTIO_PCI_NOTIFY +
					     q * VIRTIO_PCI_NOTIFY_MULT, k->efd, false);
			if (vp->io)
				evloop_del(vp->io, k->efd);
			close(k->efd);
		}
	}
	msix_destroy(&vp->msix);
	free(vp->kicks);
	free(vp->queue_msix);
	vp->kicks = NULL;
	vp->queue_msix = NULL;
}

void virtio_pci_kick_all(struct virtio_pci *vp)
{
	for (unsigned int q = 0; q < vp->vd->nr_queues; q++)
		if (vp->vd->vqs[q].s.ready)
			vp_signal_kick(&vp->kicks[q]);
}

void virtio_pci_save(struct virtio_pci *vp, struct virtio_pci_state *s)
{
	struct virtio_dev *vd = vp->vd;

	memset(s, 0, sizeof(*s));
	virtio_dev_lock(vd);
	s->dfselect = vp->dfselect;
	s->gfselect = vp->gfselect;
	s->features = vd->features;
	s->queue_sel = vp->queue_sel;
	s->msix_config = vp->msix_config;
	s->status = vd->status;
	s->isr = vp->isr;
	s->config_generation = vd->config_generation;
	for (unsigned int q = 0; q < vd->nr_queues; q++)
		s->queue_msix[q] = vp->queue_msix[q];
	virtio_dev_unlock(vd);
}

int virtio_pci_restore(struct virtio_pci *vp, const struct virtio_pci_state *s)
{
	struct virtio_dev *vd = vp->vd;
	uint8_t st = s->status;

	/*
	 * The status must be one the device can reach: features are checked only
	 * once FEATURES_OK stuck (before that the driver may have written any
	 * bits), and DRIVER_OK without FEATURES_OK always came with NEEDS_RESET.
	 */
	if (s->reserved[0] || s->reserved[1] || s->reserved2 || (s->isr & ~3) ||
	    ((st & VIRTIO_STATUS_FEATURES_OK) &&
	     ((s->features & ~vd->host_features) ||
	      !(s->features & VIRTIO_BIT(VIRTIO_F_VERSION_1)))) ||
	    ((st & VIRTIO_STATUS_DRIVER_OK) &&
	     !(st & (VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DEVICE_NEEDS_RESET))) ||
	    (s->msix_config != MSIX_NO_VECTOR && s->msix_config >= vp->msix.nr))
		return -EINVAL;
	for (unsigned int q = 0; q < VIRTIO_PCI_MAX_QUEUES; q++) {
		uint16_t v = s->queue_msix[q];

		if (q < vd->nr_queues ? (v != MSIX_NO_VECTOR && v >= vp->msix.nr) : v != 0)
			return -EINVAL;
	}
	virtio_dev_lock(vd);
	vp->dfselect = s->dfselect;
	vp->gfselect = s->gfselect;
	vd->features = s->features;
	vp->queue_sel = s->queue_sel;
	vp->msix_config = s->msix_config;
	vd->status = s->status;
	vp->isr = s->isr;
	vd->config_generation = s->config_generation;
	for (unsigned int q = 0; q < vd->nr_queues; q++)
		vp->queue_msix[q] = s->queue_msix[q];
	virtio_dev_unlock(vd);
	return 0;
}
