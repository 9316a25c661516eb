// SPDX-License-Identifier: GPL-2.0-only
/* virtio-rng: entropy from the host's getrandom(2). */
#include <errno.h>
#include <stdlib.h>
#include <sys/random.h>

#include "log.h"
#include "virtio/rng.h"

struct virtio_rng {
	struct virtio_dev vd;
	struct virtq_chain chain;
	uint64_t bytes;                 /* given to the guest, for statistics */
};

/* Fill the chain's writable buffers, up to VIRTIO_RNG_MAX_REQUEST bytes. */
static uint32_t rng_fill(struct virtq_chain *c)
{
	struct iovec *iov = virtq_chain_write_iov(c);
	uint32_t done = 0;

	for (unsigned int i = 0; i < c->nr_write && done < VIRTIO_RNG_MAX_REQUEST; i++) {
		size_t want = iov[i].iov_len;
		uint8_t *p = iov[i].iov_base;

		if (want > VIRTIO_RNG_MAX_REQUEST - done)
			want = VIRTIO_RNG_MAX_REQUEST - done;
		while (want) {
			ssize_t n = getrandom(p, want, 0);

			if (n < 0) {
				if (errno == EINTR)
					continue;
				return done;
			}
			p += n;
			want -= n;
			done += n;
		}
	}
	return done;
}

static void rng_queue_notify(struct virtio_dev *vd, unsigned int q)
{
	struct virtio_rng *r = vd->priv;
	struct virtq *vq = &vd->vqs[q];
	bool pushed = false;
	int ret;

	for (;;) {
		virtq_set_notify(vq, false);
		while ((ret = virtq_pop(vq, &r->chain)) == 0) {
			uint32_t n = rng_fill(&r->chain);

			r->bytes += n;
			virtq_push(vq, r->chain.head, n);
			pushed = true;
		}
		if (pushed)
			virtio_dev_used(vd, q);
		pushed = false;
		if (ret != -EAGAIN) {
			virtio_dev_needs_reset(vd, "bad request queue");
			return;
		}
		virtq_set_notify(vq, true);
		if (!virtq_has_avail(vq))
			return;
	}
}

static void rng_destroy(struct virtio_dev *vd)
{
	struct virtio_rng *r = vd->priv;

	virtio_dev_fini(vd);
	free(r);
}

static const struct virtio_dev_ops rng_ops = {
	.queue_notify = rng_queue_notify,
	.destroy = rng_destroy,
};

int virtio_rng_create(struct virtio_dev **out, const struct virtio_env *env)
{
	struct virtio_rng *r = calloc(1, sizeof(*r));
	int ret;

	if (!r)
		return -ENOMEM;
	ret = virtio_dev_init(&r->vd, &rng_ops, env, "virtio-rng", VIRTIO_ID_RNG, 0, 1, 256, 0, r);
	if (ret) {
		free(r);
		return ret;
	}
	*out = &r->vd;
	return 0;
}
