/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KITE_VIRTIO_VIRTIO_H
#define KITE_VIRTIO_VIRTIO_H

/*
 * A virtio device, independent of its transport (VIRTIO 1.2 §2, §4.1).
 *
 * A device (blk, net, console, rng, ...) embeds or points to a struct
 * virtio_dev and fills it with virtio_dev_init(); the transport (virtio-pci,
 * src/virtio/pci.c) owns the registers the driver sees -- status, feature
 * words, queue registers, MSI-X vectors -- and calls the device's ops.
 *
 * Threads and locking.  vd->lock serialises everything that touches the
 * device's state:
 *   - the transport takes it around every register access (vCPU threads) and
 *     around ops->queue_notify() (the I/O thread, on an ioeventfd);
 *   - a device's own event sources on the I/O thread (a TAP fd, an io_uring
 *     completion eventfd, a timer) must take it with virtio_dev_lock().
 * So every op below is called with vd->lock held, and never blocks on the
 * guest.  Device work runs on the I/O thread, never on a vCPU thread:
 * queue_notify is only called there; reset() and activate() are called on a
 * vCPU thread and must not process requests (activate may kick the I/O
 * thread with an eventfd).
 *
 * Guest errors.  A device that finds a broken queue or a malformed request it
 * cannot answer calls virtio_dev_needs_reset(): the status gets
 * DEVICE_NEEDS_RESET, the driver gets a configuration-change interrupt, and
 * the device must not touch its queues again until reset().  One warning is
 * logged per device (virtq logs its own once per queue).
 */
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "memory.h"
#include "virtio/virtq.h"

struct evloop;

/* Device types (§5). */
#define VIRTIO_ID_NET           1
#define VIRTIO_ID_BLOCK         2
#define VIRTIO_ID_CONSOLE       3
#define VIRTIO_ID_RNG           4
#define VIRTIO_ID_BALLOON       5
#define VIRTIO_ID_VSOCK         19
#define VIRTIO_ID_FS            26

/* Device status (§2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE       1
#define VIRTIO_STATUS_DRIVER            2
#define VIRTIO_STATUS_DRIVER_OK         4
#define VIRTIO_STATUS_FEATURES_OK       8
#define VIRTIO_STATUS_DEVICE_NEEDS_RESET 64
#define VIRTIO_STATUS_FAILED            128

/* Reserved feature bits (§6) the transport handles. */
#define VIRTIO_F_INDIRECT_DESC  28
#define VIRTIO_F_EVENT_IDX      29
#define VIRTIO_F_VERSION_1      32

#define VIRTIO_BIT(b)           (1ULL << (b))

/* What every device offers on top of its own feature bits. */
#define VIRTIO_TRANSPORT_FEATURES \
	(VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC) | \
	 VIRTIO_BIT(VIRTIO_F_EVENT_IDX))

struct virtio_dev;

struct virtio_dev_ops {
	/*
	 * Device-specific configuration space (§4.1.4.6).  The transport has
	 * checked that [off, off + len) lies inside config_size; len is 1, 2,
	 * 4 or 8.  config_write may be NULL (read-only space).
	 */
	void (*config_read)(struct virtio_dev *vd, uint32_t off, void *buf, uint32_t len);
	void (*config_write)(struct virtio_dev *vd, uint32_t off, const void *buf, uint32_t len);
	/*
	 * The driver set DRIVER_OK; vd->features holds the negotiated bits and
	 * every enabled queue is ready.  A negative errno makes the transport
	 * set DEVICE_NEEDS_RESET.  May be NULL.
	 */
	int (*activate)(struct virtio_dev *vd);
	/* Queue q was notified (I/O thread).  Only called after activate. */
	void (*queue_notify)(struct virtio_dev *vd, unsigned int q);
	/*
	 * Device reset (vCPU thread): wait for in-flight requests to finish
	 * (their results are dropped -- the queues are reset by the transport
	 * afterwards) and return device-specific state to its initial values.
	 */
	void (*reset)(struct virtio_dev *vd);
	/*
	 * Pause / snapshot (I/O thread parked, lock held): complete every
	 * request in flight and give back (push) every chain the device holds,
	 * so the queues' state is all there is.  May be NULL.
	 */
	void (*quiesce)(struct virtio_dev *vd);
	/*
	 * Live migration on one host or shared storage: hand host resources
	 * another VM needs (a disk's lock) over.  take=false on the source once
	 * the target has everything; take=true on the target before it runs
	 * (waiting a little for the source to let go), or on the source when
	 * the migration failed after all.  0 or -errno (one line logged).  May
	 * be NULL.
	 */
	int (*handover)(struct virtio_dev *vd, bool take);
	/* Free the device (after the I/O thread has stopped). */
	void (*destroy)(struct virtio_dev *vd);
	/*
	 * Snapshot of the device-specific state: a plain struct of state_size
	 * bytes with fixed-width fields and no pointers.  save is called with
	 * no request in flight; restore checks every field (-EINVAL on a bad
	 * state, device untouched; -EREMCHG when the state does not fit this
	 * device's host side, e.g. a disk that changed size, after logging one
	 * line saying so).  May be NULL when state_size is 0.
	 */
	size_t state_size;
	void (*save)(struct virtio_dev *vd, void *state);
	int (*restore)(struct virtio_dev *vd, const void *state);
};

/* How a device signals the driver; provided by the transport (or a test). */
struct virtio_transport_ops {
	void (*notify_queue)(void *ctx, unsigned int q);        /* used buffers in q */
	void (*notify_config)(void *ctx);                       /* configuration change */
};

/* What the VM gives every virtio device. */
struct virtio_env {
	const struct guest_mem *mem;
	struct evloop *io;            /* the I/O thread's loop (register fds before it starts) */
	unsigned int nr_vcpus;        /* e.g. for one queue per vCPU */
	bool incoming;                /* an incoming migration: defer what handover() takes */
};

struct virtio_dev {
	const struct virtio_dev_ops *ops;
	const char *name;             /* "virtio-blk0": for messages */
	uint16_t device_id;           /* VIRTIO_ID_* */
	uint64_t host_features;       /* offered: device bits | VIRTIO_TRANSPORT_FEATURES */
	uint64_t features;            /* negotiated (valid once FEATURES_OK) */
	uint8_t status;               /* device status register */
	bool warned;                  /* the one needs-reset warning was logged */
	uint32_t config_size;         /* bytes of device-specific config space */
	uint32_t config_generation;
	uint16_t nr_queues;
	struct virtq *vqs;            /* [nr_queues] */
	char *qnames;                 /* the queues' names, one block */
	const struct guest_mem *mem;
	struct evloop *io;
	pthread_mutex_t lock;
	const struct virtio_transport_ops *t_ops;
	void *t_ctx;
	void *priv;                   /* the device's own data */
};

/*
 * Initialise vd for a device: nr_queues queues of max_queue_size entries
 * (a power of two <= VIRTQ_MAX_SIZE) named "<name> q<N>".  `features` are
 * the device-specific bits; the transport bits are added.  0 or -errno.
 */
int virtio_dev_init(struct virtio_dev *vd, const struct virtio_dev_ops *ops,
		    const struct virtio_env *env, const char *name, uint16_t device_id,
		    uint64_t features, uint16_t nr_queues, uint16_t max_queue_size,
		    uint32_t config_size, void *priv);
/* Free what virtio_dev_init() allocated (not ops->destroy). */
void virtio_dev_fini(struct virtio_dev *vd);

static inline void virtio_dev_lock(struct virtio_dev *vd) { pthread_mutex_lock(&vd->lock); }
static inline void virtio_dev_unlock(struct virtio_dev *vd) { pthread_mutex_unlock(&vd->lock); }

static inline bool virtio_dev_has(const struct virtio_dev *vd, unsigned int bit)
{
	return vd->features & VIRTIO_BIT(bit);
}

/* DRIVER_OK set and not DEVICE_NEEDS_RESET: queues may be processed. */
static inline bool virtio_dev_running(const struct virtio_dev *vd)
{
	return (vd->status & (VIRTIO_STATUS_DRIVER_OK | VIRTIO_STATUS_DEVICE_NEEDS_RESET)) ==
	       VIRTIO_STATUS_DRIVER_OK;
}

/*
 * After pushing used buffers on queue q: interrupt the driver if
 * virtq_needs_notify() says so.  Lock held.
 */
void virtio_dev_used(struct virtio_dev *vd, unsigned int q);

/* Signal a configuration change (e.g. link status); bumps the generation.  Lock held. */
void virtio_dev_config_changed(struct virtio_dev *vd);

/* A guest error the device cannot answer: DEVICE_NEEDS_RESET (see above).  Lock held. */
void virtio_dev_needs_reset(struct virtio_dev *vd, const char *why);

/*
 * Transport side: reset the device (ops->reset, then every queue, status,
 * features) and save/restore the common state.  Lock held.
 */
void virtio_dev_reset(struct virtio_dev *vd);

#endif
