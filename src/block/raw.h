/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KITE_BLOCK_RAW_H
#define KITE_BLOCK_RAW_H

/*
 * Raw disk images on the host: a regular file or a block device, opened and
 * locked for one VM, and asynchronous I/O on it through io_uring.
 *
 * Locking: an OFD lock over the whole file (F_OFD_SETLK): a write lock for
 * a read-write image, a read lock for a read-only one, so two VMs cannot
 * write the same image and a read-only user cannot share it with a writer.
 * OFD locks belong to the open file description: a second raw_open() of the
 * same image in the same process conflicts too.
 *
 * I/O: a struct raw_aio is one io_uring plus an eventfd that the kernel
 * signals on completions (io_uring_register_eventfd).  The caller queues
 * operations tagged with a pointer, submits them in a batch, and reaps
 * completions when the eventfd is readable: each one calls back with the tag
 * and the kernel's result (bytes, or -errno).  The iovecs given to readv and
 * writev must stay valid until their completion; nothing is copied.  One
 * thread at a time uses a raw_aio (callers serialise with their own lock).
 */
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include <liburing.h>

#define RAW_SECTOR 512u

struct raw_image {
	int fd;
	uint64_t size;                  /* bytes, a multiple of RAW_SECTOR */
	uint32_t block_size;            /* logical block size: 512 for files */
	bool readonly;
	bool direct;                    /* O_DIRECT (cache=none) */
	bool defer_lock;                /* set before raw_open(): open without the lock
					 * (an incoming migration takes it at hand-over) */
};

/* Take the OFD lock (waiting up to wait_ms for another VM to drop it); -EAGAIN if still held. */
int raw_lock_take(struct raw_image *img, unsigned int wait_ms);
/* Let another VM take it (the migration source, at hand-over). */
void raw_lock_drop(struct raw_image *img);

/*
 * Open and lock `path`.  `who` names the user in messages ("virtio-blk0").
 * User errors -- the file is missing or unreadable, not a regular file or a
 * block device, not a multiple of 512 bytes, locked by someone else, on a
 * file system without O_DIRECT -- print one line with pr_err() and return
 * -EINVAL; other failures print one line and return -errno.
 */
int raw_open(struct raw_image *img, const char *path, bool readonly, bool direct,
	     const char *who);
void raw_close(struct raw_image *img);

/* Does an iovec list meet the image's O_DIRECT alignment (true without O_DIRECT)? */
bool raw_iov_aligned(const struct raw_image *img, const struct iovec *iov, unsigned int n);

/* Called for each completion: the operation's tag and result (bytes or -errno). */
typedef void (*raw_aio_cb)(void *opaque, void *tag, int res);

struct raw_aio {
	struct io_uring ring;
	int efd;                        /* readable when completions are waiting */
	unsigned int inflight;          /* queued or submitted, not yet reaped */
	bool ready;
};

/*
 * A ring for up to `max_inflight` operations in flight (submission queue of
 * min(max_inflight, 256) entries, completion queue of max_inflight entries so
 * that completions are never dropped).  0 or -errno (with a message).
 */
int raw_aio_init(struct raw_aio *a, unsigned int max_inflight, const char *who);
/* Wait for everything in flight (results dropped), then free the ring. */
void raw_aio_fini(struct raw_aio *a);

/*
 * Queue an operation (not yet submitted).  0, or -EBUSY when the ring is
 * full even after submitting what was queued (the caller fails the request).
 */
int raw_aio_readv(struct raw_aio *a, const struct raw_image *img, const struct iovec *iov,
		  unsigned int n, uint64_t off, void *tag);
int raw_aio_writev(struct raw_aio *a, const struct raw_image *img, const struct iovec *iov,
		   unsigned int n, uint64_t off, void *tag);
int raw_aio_fdatasync(struct raw_aio *a, const struct raw_image *img, void *tag);
/* fallocate(2): mode FALLOC_FL_PUNCH_HOLE or FALLOC_FL_ZERO_RANGE (KEEP_SIZE is added). */
int raw_aio_fallocate(struct raw_aio *a, const struct raw_image *img, int mode, uint64_t off,
		      uint64_t len, void *tag);

/* Submit what was queued.  Number submitted or -errno (retried by the next submit). */
int raw_aio_submit(struct raw_aio *a);

/*
 * Reap the completions that are ready (clears the eventfd first, so none is
 * missed): cb(opaque, tag, res) for each.  Returns how many.
 */
unsigned int raw_aio_reap(struct raw_aio *a, raw_aio_cb cb, void *opaque);

/* Submit, then wait until nothing is in flight, calling cb for each completion. */
void raw_aio_drain(struct raw_aio *a, raw_aio_cb cb, void *opaque);

#endif
