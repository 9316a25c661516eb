// SPDX-License-Identifier: GPL-2.0-only
/* Transport-independent virtio device core: queues, status, needs-reset. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "virtio/virtio.h"

int virtio_dev_init(struct virtio_dev *vd, const struct virtio_dev_ops *ops,
		    const struct virtio_env *env, const char *name, uint16_t device_id,
		    uint64_t features, uint16_t nr_queues, uint16_t max_queue_size,
		    uint32_t config_size, void *priv)
{
	int ret;

	memset(vd, 0, sizeof(*vd));
	if (!nr_queues)
		return -EINVAL;
	vd->ops = ops;
	vd->name = name;
	vd->device_id = device_id;
	vd->host_features = features | VIRTIO_TRANSPORT_FEATURES;
	vd->config_size = config_size;
	vd->nr_queues = nr_queues;
	vd->mem = env->mem;
	vd->io = env->io;
	vd->priv = priv;
	vd->vqs = calloc(nr_queues, sizeof(*vd->vqs));
	vd->qnames = calloc(nr_queues, 64);
	if (!vd->vqs || !vd->qnames) {
		ret = -ENOMEM;
		goto fail;
	}
	for (unsigned int q = 0; q < nr_queues; q++) {
		char *qname = vd->qnames + 64 * q;

		snprintf(qname, 64, "%s q%u", name, q);
		ret = virtq_init(&vd->vqs[q], env->mem, max_queue_size, qname);
		if (ret)
			goto fail;
	}
	pthread_mutex_init(&vd->lock, NULL);
	return 0;
fail:
	free(vd->vqs);
	free(vd->qnames);
	vd->vqs = NULL;
	vd->qnames = NULL;
	return ret;
}

void virtio_dev_fini(struct virtio_dev *vd)
{
	if (!vd->vqs)
		return;
	free(vd->qnames);
	free(vd->vqs);
	vd->qnames = NULL;
	vd->vqs = NULL;
	pthread_mutex_destroy(&vd->lock);
}

void virtio_dev_used(struct virtio_dev *vd, unsigned int q)
{
	if (q < vd->nr_queues && virtq_needs_notify(&vd->vqs[q]) && vd->t_ops)
		vd->t_ops->notify_queue(vd->t_ctx, q);
}

void virtio_dev_config_changed(struct virtio_dev *vd)
{
	vd->config_generation++;
	if ((vd->status & VIRTIO_STATUS_DRIVER_OK) && vd->t_ops)
		vd->t_ops->notify_config(vd->t_ctx);
}

void virtio_dev_needs_reset(struct virtio_dev *vd, const char *why)
{
	if (vd->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET)
		return;
	if (!vd->warned) {
		pr_warn("%s: %s; the device needs a reset by the guest driver", vd->name, why);
		vd->warned = true;
	}
	vd->status |= VIRTIO_STATUS_DEVICE_NEEDS_RESET;
	if ((vd->status & VIRTIO_STATUS_DRIVER_OK) && vd->t_ops)
		vd->t_ops->notify_config(vd->t_ctx);
}

void virtio_dev_reset(struct virtio_dev *vd)
{
	if (vd->ops->reset)
		vd->ops->reset(vd);
	for (unsigned int q = 0; q < vd->nr_queues; q++)
		virtq_reset(&vd->vqs[q]);
	vd->status = 0;
	vd->features = 0;
	vd->config_generation++;
}
