/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KITE_VIRTIO_RNG_H
#define KITE_VIRTIO_RNG_H

#include "virtio/virtio.h"

/* Bytes given per request at most: a 4 GiB chain gets this much, not more. */
#define VIRTIO_RNG_MAX_REQUEST  (64 * 1024)

/* virtio-rng (§5.4): one request queue filled from getrandom(2). */
int virtio_rng_create(struct virtio_dev **out, const struct virtio_env *env);

#endif
