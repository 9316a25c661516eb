/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KITE_VIRTIO_VIRTQ_H
#define KITE_VIRTIO_VIRTQ_H

/*
 * Split virtqueues (VIRTIO 1.2 §2.7), device side.
 *
 * The guest driver is hostile.  Every value read from guest memory is copied
 * into a local before it is checked and used (no double fetch), every guest
 * address goes through mem_ptr(), and a violation never crashes, hangs or
 * touches host memory outside guest RAM: the call returns a negative errno,
 * the queue is marked broken (every later virtq_pop() returns -EIO until
 * virtq_reset()), and one warning is logged per queue for its whole life
 * (not again after a reset, so a guest that resets in a loop cannot flood
 * the log).  The device then sets DEVICE_NEEDS_RESET (or stops the queue).
 *
 * Life cycle, as the transport drives it:
 *
 *   virtq_init()        once, with the guest memory and the device's maximum
 *                       queue size; the queue is not ready, size = max_size.
 *   vq->s.size, .desc_addr, .avail_addr, .used_addr
 *                       while !vq->s.ready the transport stores the driver's
 *                       register writes (queue_size, queue_desc, queue_driver,
 *                       queue_device) straight into the state: they are plain
 *                       registers, read back as written, checked only when...
 *   virtq_enable()      ...the driver writes queue_enable = 1: validates the
 *                       layout and makes the queue ready (-EINVAL otherwise).
 *   virtq_configure()   the four values plus virtq_enable() in one call.
 *   virtq_pop() ... virtq_push() ... virtq_needs_notify()   the data path.
 *   virtq_reset()       device reset: back to the state after virtq_init().
 *
 * Threads: a struct virtq is used by one thread at a time (the device's I/O
 * thread); enabling, resetting, saving and restoring must be serialised with
 * it by the device.  The guest runs concurrently: ring indices are read and
 * written with __atomic builtins and the barriers the spec asks for.
 *
 * Rings are resolved to host pointers once, at enable/restore time (guest RAM
 * never moves while a VM exists).  Each ring must lie inside one RAM region.
 * Nothing the device writes may land on the avail ring: the used ring must
 * not overlap it (nor the descriptor table), and a chain with a writable
 * buffer over it is refused.  Otherwise a queue whose requests complete at
 * once would publish its own new requests and keep the I/O thread busy for
 * ever (found by fuzz/blk_fuzz).
 *
 * kite is x86-only; guest values are little-endian and converted with
 * le16toh() and friends anyway.
 */
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "memory.h"

#define VIRTQ_MAX_SIZE          32768   /* split queues: a power of two up to 32768 */
#define VIRTQ_MAX_SEGS          1024    /* non-empty buffers per chain (= IOV_MAX) */

#define VIRTQ_DESC_F_NEXT       1
#define VIRTQ_DESC_F_WRITE      2
#define VIRTQ_DESC_F_INDIRECT   4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_USED_F_NO_NOTIFY  1

/* Guest-memory layouts (little-endian). */
struct virtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct virtq_avail {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[];        /* [size], then uint16_t used_event */
};

struct virtq_used_elem {
	uint32_t id;
	uint32_t len;
};

struct virtq_used {
	uint16_t flags;
	uint16_t idx;
	struct virtq_used_elem ring[];  /* [size], then uint16_t avail_event */
};

/* Ring sizes in bytes (§2.7), event fields included whether negotiated or not. */
#define VIRTQ_DESC_BYTES(n)  (16ULL * (n))
#define VIRTQ_AVAIL_BYTES(n) (6ULL + 2ULL * (n))
#define VIRTQ_USED_BYTES(n)  (6ULL + 8ULL * (n))

/*
 * Snapshot/migration state: plain fixed-width data, no pointers, no implicit
 * padding (reserved bytes are saved as zero and must be zero at restore).
 * next_avail and next_used are stored, never rebuilt from guest memory.
 */
struct virtq_state {
	uint64_t desc_addr;             /* queue_desc: descriptor table */
	uint64_t avail_addr;            /* queue_driver: available ring */
	uint64_t used_addr;             /* queue_device: used ring */
	uint16_t size;                  /* queue_size as the driver wrote it */
	uint16_t next_avail;            /* next avail ring entry to pop (last_avail_idx) */
	uint16_t next_used;             /* next used ring entry to fill (used->idx) */
	uint16_t signalled_used;        /* next_used at the last notify decision (EVENT_IDX) */
	uint8_t ready;                  /* queue_enable: 0 or 1 */
	uint8_t event_idx;              /* VIRTIO_F_EVENT_IDX negotiated: 0 or 1 */
	uint8_t signalled_used_valid;   /* signalled_used means something: 0 or 1 */
	uint8_t reserved[5];
};

_Static_assert(sizeof(struct virtq_state) == 40, "virtq_state has no hidden padding");

struct virtq {
	struct virtq_state s;
	const struct guest_mem *mem;
	const char *name;               /* for messages, e.g. "virtio-blk0 rq0"; not copied */
	uint16_t max_size;              /* device's maximum queue size (a power of two) */
	bool broken;                    /* a guest error was seen; only virtq_reset() clears it */
	bool warned;                    /* the one warning was logged (sticky) */
	/* Host views of the rings, valid while s.ready. */
	const uint8_t *desc;
	struct virtq_avail *avail;
	struct virtq_used *used;
};

/*
 * A popped descriptor chain.  iov[0, nr_read) are the device-readable
 * buffers, iov[nr_read, nr_read + nr_write) the device-writable ones, each a
 * host range inside one guest RAM region (zero-length descriptors are
 * skipped).  read_len/write_len are their byte totals, each below 4 GiB.
 * About 16 KiB: keep one per queue or per request, not many on a stack.
 */
struct virtq_chain {
	uint16_t head;                  /* descriptor id to give back to virtq_push() */
	unsigned int nr_read;
	unsigned int nr_write;
	uint32_t read_len;
	uint32_t write_len;
	struct iovec iov[VIRTQ_MAX_SEGS];
};

static inline struct iovec *virtq_chain_read_iov(struct virtq_chain *c)
{
	return c->iov;
}

static inline struct iovec *virtq_chain_write_iov(struct virtq_chain *c)
{
	return c->iov + c->nr_read;
}

/*
 * Set up a queue that is not ready, with size = max_size.  max_size must be
 * a power of two in [1, VIRTQ_MAX_SIZE] (-EINVAL otherwise); devices should
 * use at most VIRTQ_MAX_SEGS (see virtq_pop()).  `name` must outlive vq.
 */
int virtq_init(struct virtq *vq, const struct guest_mem *mem, uint16_t max_size,
	       const char *name);

/*
 * The driver wrote queue_enable = 1.  Checks vq->s: size a power of two in
 * [1, max_size]; desc_addr 16-byte, avail_addr 2-byte, used_addr 4-byte
 * aligned; each ring (VIRTQ_*_BYTES(size)) inside one RAM region.  On success
 * the queue is ready with next_avail = next_used = 0.  -EBUSY if already
 * ready, -EINVAL (one warning, queue left not ready) on a bad layout.
 */
int virtq_enable(struct virtq *vq, bool event_idx);

/* Store size and ring addresses, then virtq_enable(). */
int virtq_configure(struct virtq *vq, uint16_t size, gpa_t desc, gpa_t avail,
		    gpa_t used, bool event_idx);

/* Device reset: not ready, size = max_size, addresses and indices 0, not broken. */
void virtq_reset(struct virtq *vq);

/*
 * Take the next available chain.  Returns 0 and fills `c`; -EAGAIN when
 * nothing is available or the queue is not ready (cheap: one atomic load);
 * -EIO if the queue is already broken; any other negative errno is a guest
 * error, after which the queue is broken:
 *   -EINVAL  avail->idx more than size ahead, more than size chains popped and
 *            not pushed, head or next index >= size, readable after writable,
 *            a bad indirect descriptor (empty, len % 16, len > size * 16,
 *            nested, with F_NEXT)
 *   -ELOOP   more than size descriptors in the chain (indirect ones included;
 *            the descriptor that points to the indirect table is not counted)
 *   -EFAULT  a buffer or indirect table not inside one RAM region
 *   -E2BIG   more than VIRTQ_MAX_SEGS non-empty buffers
 *   -EOVERFLOW  readable or writable bytes total 4 GiB or more
 * Every popped chain must be given back with virtq_push() (written = 0 for a
 * request the device rejects): a queue accepts at most `size` chains in flight.
 */
int virtq_pop(struct virtq *vq, struct virtq_chain *c);

/* Is there something to pop?  (A predicate: checks nothing else.) */
bool virtq_has_avail(struct virtq *vq);

/*
 * Copy len bytes at `offset` in the chain's readable part into dst / from src
 * into its writable part, across buffers.  0, or -EINVAL if [offset,
 * offset + len) is not inside that part.  Guest memory is read once.
 */
int virtq_chain_read(const struct virtq_chain *c, uint64_t offset, void *dst, uint64_t len);
int virtq_chain_write(const struct virtq_chain *c, uint64_t offset, const void *src,
		      uint64_t len);

/*
 * Give a chain back: writes the used element {head, written}, then (release)
 * used->idx.  `written` is the number of bytes the device wrote into the
 * writable part (the device's responsibility to keep <= write_len).
 * -EINVAL for a head >= size or nothing in flight (device bugs), -EIO if the
 * queue is not ready or broken.
 */
int virtq_push(struct virtq *vq, uint16_t head, uint32_t written);

/*
 * After a batch of virtq_push(): should the device interrupt the driver?
 * Without EVENT_IDX: unless the driver set VIRTQ_AVAIL_F_NO_INTERRUPT; with
 * it: if used->idx passed used_event since the last decision
 * (vring_need_event).  Records the decision, so call it once per batch and
 * send the interrupt when it says so.  false if not ready or broken.
 */
bool virtq_needs_notify(struct virtq *vq);

/*
 * Ask the driver for notifications (kicks) or tell it not to bother:
 * VIRTQ_USED_F_NO_NOTIFY, or with EVENT_IDX avail_event = next_avail (when
 * enabling; nothing to do when disabling).  After enabling, check
 * virtq_has_avail() again: buffers made available before the driver saw the
 * change do not come with a kick.  The usual loop:
 *
 *	for (;;) {
 *		virtq_set_notify(vq, false);
 *		while ((ret = virtq_pop(vq, c)) == 0)
 *			handle(c);
 *		if (ret != -EAGAIN)
 *			return ret;             (guest error: DEVICE_NEEDS_RESET)
 *		virtq_set_notify(vq, true);
 *		if (!virtq_has_avail(vq))
 *			return 0;
 *	}
 */
void virtq_set_notify(struct virtq *vq, bool enable);

/*
 * Snapshots.  Save only when no chain is in flight (devices drain first): the
 * chains popped and not pushed are not part of the state.  virtq_restore()
 * takes a queue set up by virtq_init() (mem, max_size, name) and checks the
 * state: flags 0 or 1, reserved bytes 0, and for a ready queue what
 * virtq_enable() checks plus next_avail - next_used <= size.  -EINVAL, queue
 * untouched, on a bad state; the broken flag is not part of the state (a
 * device restored in DEVICE_NEEDS_RESET must not process its queues).
 * save -> restore -> save gives the same bytes.
 */
void virtq_save(const struct virtq *vq, struct virtq_state *out);
int virtq_restore(struct virtq *vq, const struct virtq_state *in);

#endif
