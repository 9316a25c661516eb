/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KITE_FUZZ_VIRTIO_H
#define KITE_FUZZ_VIRTIO_H

/*
 * A virtio transport for fuzz targets that drive a device directly: the
 * device's notifications go nowhere (the fuzzer looks for crashes and
 * CHECK() failures, not interrupts).
 */
#include "virtio/virtio.h"

static void fuzz_notify_queue(void *ctx, unsigned int q)
{
	(void)ctx;
	(void)q;
}

static void fuzz_notify_config(void *ctx)
{
	(void)ctx;
}

static const struct virtio_transport_ops fuzz_transport = {
	.notify_queue = fuzz_notify_queue,
	.notify_config = fuzz_notify_config,
};

#endif
