// SPDX-License-Identifier: GPL-2.0-only
/* virtio-blk: requests from the guest's queues to io_uring on a raw image. */
#include <endian.h>
#include <errno.h>
#include <linux/falloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "block/raw.h"
#include "evloop.h"
#include "log.h"
#include "util.h"
#include "virtio/blk.h"

#define BLK_SEG_MAX             (BLK_QUEUE_SIZE - 2)    /* header and status take two */
#define BLK_MAX_DWZ_SEGS        16
#define BLK_MAX_DWZ_SECTORS     (1u << 22)              /* 2 GiB per segment */
#define BLK_DISCARD_ALIGN       8                       /* sectors: 4 KiB */
#define BLK_BOUNCE_BUDGET       (64 * MiB)              /* O_DIRECT bounce buffers in use */
#define BLK_ASYNC               0x100                   /* blk_start(): completes later */

struct blk;

struct blk_req {
	struct blk_queue *bq;
	uint8_t *status;                /* the last writable byte, in guest RAM */
	struct iovec *iov;              /* the data buffers: part of chain.iov */
	unsigned int niov;
	uint32_t len;                   /* data bytes */
	uint32_t written;               /* used length to report */
	uint32_t type;
	unsigned int pending;           /* io_uring operations in flight */
	uint8_t result;                 /* VIRTIO_BLK_S_* so far */
	void *bounce;                   /* O_DIRECT bounce buffer, or NULL */
	struct iovec bounce_iov;
	struct virtq_chain chain;       /* last: about 16 KiB */
};

struct blk_queue {
	struct blk *b;
	unsigned int index;
	unsigned int nr_free;
	uint16_t *free;                 /* [BLK_QUEUE_SIZE] indices into reqs */
	struct blk_req *reqs;           /* [BLK_QUEUE_SIZE] */
};

struct blk {
	struct virtio_dev vd;
	struct raw_image img;
	struct raw_aio aio;
	struct virtio_blk_config cfg;   /* as the driver reads it */
	struct blk_queue *queues;       /* [vd.nr_queues] */
	struct evloop *io;
	uint64_t sectors;
	uint64_t bounce_bytes;
	uint32_t notify_mask;           /* queues with new used buffers */
	bool efd_added;
	char serial[VIRTIO_BLK_ID_BYTES];       /* zero-padded */
	char name[24];
	char path[PATH_MAX];            /* for messages */
};

static struct blk *to_blk(struct virtio_dev *vd)
{
	return vd->priv;
}

/* ---- options ---- */

static int opt_fail(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static bool opt_is(const char *p, size_t len, const char *name)
{
	return len == strlen(name) && !memcmp(p, name, len);
}

static bool opt_has_prefix(const char *p, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);

	return len >= n && !memcmp(p, prefix, n);
}

static int opt_parse_one(const char *p, size_t len, struct blk_opts *o, char *err,
			 size_t errlen)
{
	if (opt_is(p, len, "readonly")) {
		o->readonly = true;
	} else if (opt_has_prefix(p, len, "cache=")) {
		if (opt_is(p + 6, len - 6, "none"))
			o->direct = true;
		else if (opt_is(p + 6, len - 6, "writeback"))
			o->direct = false;
		else
			return opt_fail(err, errlen, "--disk: unknown cache mode '%.*s': use "
					"cache=none or cache=writeback", (int)(len - 6), p + 6);
	} else if (opt_has_prefix(p, len, "serial=")) {
		size_t n = len - 7;

		if (!n || n > VIRTIO_BLK_ID_BYTES)
			return opt_fail(err, errlen, "--disk: serial '%.*s' is %zu bytes: give "
					"1 to %d bytes", (int)n, p + 7, n, VIRTIO_BLK_ID_BYTES);
		for (size_t i = 0; i < n; i++)
			if (p[7 + i] <= ' ' || p[7 + i] > '~')
				return opt_fail(err, errlen, "--disk: the serial may only contain "
						"printable ASCII characters without blanks");
		memcpy(o->serial, p + 7, n);
		o->serial[n] = 0;
	} else {
		return opt_fail(err, errlen, "--disk: unknown option '%.*s': use "
				"PATH[,readonly][,cache=none|writeback][,serial=ID]", (int)len, p);
	}
	return 0;
}

int blk_parse_opts(const char *arg, struct blk_opts *o, char *err, size_t errlen)
{
	const char *p = strchr(arg, ',');
	size_t plen = p ? (size_t)(p - arg) : strlen(arg);

	memset(o, 0, sizeof(*o));
	if (!plen)
		return opt_fail(err, errlen, "--disk needs a path to an image: --disk "
				"PATH[,readonly][,cache=none|writeback][,serial=ID]");
	if (plen >= sizeof(o->path))
		return opt_fail(err, errlen, "--disk: the path is longer than %zu bytes",
				sizeof(o->path) - 1);
	memcpy(o->path, arg, plen);
	while (p) {
		const char *opt = p + 1;
		int ret;

		p = strchr(opt, ',');
		plen = p ? (size_t)(p - opt) : strlen(opt);
		if (!plen)
			return opt_fail(err, errlen, "--disk: empty option (two commas, or one at "
					"the end?)");
		ret = opt_parse_one(opt, plen, o, err, errlen);
		if (ret)
			return ret;
	}
	return 0;
}

/* ---- requests ---- */

static void blk_req_free(struct blk *b, struct blk_req *r)
{
	struct blk_queue *bq = r->bq;

	if (r->bounce) {
		b->bounce_bytes -= r->bounce_iov.iov_len;
		free(r->bounce);
		r->bounce = NULL;
	}
	bq->free[bq->nr_free++] = r - bq->reqs;
}

/* Answer the request (unless the device needs a reset) and recycle it. */
static void blk_finish(struct blk *b, struct blk_req *r, uint8_t status)
{
	struct virtio_dev *vd = &b->vd;
	unsigned int q = r->bq->index;

	if (virtio_dev_running(vd)) {
		*r->status = status;
		if (virtq_push(&vd->vqs[q], r->chain.head, r->written) == 0)
			b->notify_mask |= 1u << q;
	}
	blk_req_free(b, r);
}

/* Interrupt the driver for the queues that got used buffers. */
static void blk_signal(struct blk *b)
{
	while (b->notify_mask) {
		unsigned int q = __builtin_ctz(b->notify_mask);

		b->notify_mask &= b->notify_mask - 1;
		virtio_dev_used(&b->vd, q);
	}
}

/* The status byte is the last writable byte: take it out of the chain. */
static uint8_t *blk_take_status(struct virtq_chain *c)
{
	struct iovec *last = &c->iov[c->nr_read + c->nr_write - 1];

	last->iov_len--;
	if (!last->iov_len)
		c->nr_write--;
	c->write_len--;
	return (uint8_t *)last->iov_base + last->iov_len;
}

/* The readable buffers after the header: adjusts chain.iov in place. */
static void blk_data_after_header(struct blk_req *r)
{
	struct virtq_chain *c = &r->chain;
	size_t skip = sizeof(struct virtio_blk_outhdr);
	unsigned int i = 0;

	while (i < c->nr_read && c->iov[i].iov_len <= skip)
		skip -= c->iov[i++].iov_len;
	if (i < c->nr_read) {
		c->iov[i].iov_base = (uint8_t *)c->iov[i].iov_base + skip;
		c->iov[i].iov_len -= skip;
	}
	r->iov = c->iov + i;
	r->niov = c->nr_read - i;
	r->len = c->read_len - sizeof(struct virtio_blk_outhdr);
}

static void iov_copy(const struct iovec *iov, unsigned int n, uint8_t *buf, bool to_buf)
{
	for (unsigned int i = 0; i < n; i++) {
		if (to_buf)
			memcpy(buf, iov[i].iov_base, iov[i].iov_len);
		else
			memcpy(iov[i].iov_base, buf, iov[i].iov_len);
		buf += iov[i].iov_len;
	}
}

/* O_DIRECT with buffers the kernel cannot take as they are: one aligned copy. */
static int blk_bounce(struct blk *b, struct blk_req *r, bool write)
{
	if (r->len > BLK_BOUNCE_BUDGET - b->bounce_bytes)
		return -ENOMEM;
	if (posix_memalign(&r->bounce, 4096, r->len)) {
		r->bounce = NULL;
		return -ENOMEM;
	}
	b->bounce_bytes += r->len;
	r->bounce_iov = (struct iovec){ r->bounce, r->len };
	if (write)
		iov_copy(r->iov, r->niov, r->bounce, true);
	return 0;
}

static bool blk_range_ok(const struct blk *b, uint64_t sector, uint64_t n)
{
	return sector <= b->sectors && n <= b->sectors - sector;
}

static int blk_rw(struct blk *b, struct blk_req *r, uint64_t sector, bool write)
{
	struct virtq_chain *c = &r->chain;
	const struct iovec *iov;
	unsigned int niov;
	int ret;

	if (write) {
		if (b->img.readonly)
			return VIRTIO_BLK_S_IOERR;
		blk_data_after_header(r);
	} else {
		r->iov = virtq_chain_write_iov(c);
		r->niov = c->nr_write;
		r->len = c->write_len;
	}
	if (r->len % RAW_SECTOR || !blk_range_ok(b, sector, r->len / RAW_SECTOR))
		return VIRTIO_BLK_S_IOERR;
	if (!r->len)
		return VIRTIO_BLK_S_OK;
	if (!raw_iov_aligned(&b->img, r->iov, r->niov) && blk_bounce(b, r, write))
		return VIRTIO_BLK_S_IOERR;
	iov = r->bounce ? &r->bounce_iov : r->iov;
	niov = r->bounce ? 1 : r->niov;
	if (write)
		ret = raw_aio_writev(&b->aio, &b->img, iov, niov, sector * RAW_SECTOR, r);
	else
		ret = raw_aio_readv(&b->aio, &b->img, iov, niov, sector * RAW_SECTOR, r);
	if (ret)
		return VIRTIO_BLK_S_IOERR;
	r->pending = 1;
	return BLK_ASYNC;
}

static int blk_dwz(struct blk *b, struct blk_req *r)
{
	struct virtq_chain *c = &r->chain;
	bool discard = r->type == VIRTIO_BLK_T_DISCARD;
	struct virtio_blk_dwz seg[BLK_MAX_DWZ_SEGS];
	uint32_t len = c->read_len - sizeof(struct virtio_blk_outhdr), nseg;

	if (!virtio_dev_has(&b->vd, discard ? VIRTIO_BLK_F_DISCARD : VIRTIO_BLK_F_WRITE_ZEROES))
		return VIRTIO_BLK_S_UNSUPP;
	if (b->img.readonly)
		return VIRTIO_BLK_S_IOERR;
	if (!len || len % sizeof(seg[0]))
		return VIRTIO_BLK_S_IOERR;
	nseg = len / sizeof(seg[0]);
	if (nseg > BLK_MAX_DWZ_SEGS)
		return VIRTIO_BLK_S_UNSUPP;
	if (virtq_chain_read(c, sizeof(struct virtio_blk_outhdr), seg, len))
		return VIRTIO_BLK_S_IOERR;
	/* Check every segment before starting any. */
	for (uint32_t i = 0; i < nseg; i++) {
		uint32_t flags = le32toh(seg[i].flags), n = le32toh(seg[i].num_sectors);

		if ((flags & ~VIRTIO_BLK_WZ_F_UNMAP) || (discard && flags))
			return VIRTIO_BLK_S_UNSUPP;
		if (n > BLK_MAX_DWZ_SECTORS || !blk_range_ok(b, le64toh(seg[i].sector), n))
			return VIRTIO_BLK_S_IOERR;
	}
	for (uint32_t i = 0; i < nseg; i++) {
		uint64_t n = le32toh(seg[i].num_sectors);
		int mode = discard || (le32toh(seg[i].flags) & VIRTIO_BLK_WZ_F_UNMAP) ?
			   FALLOC_FL_PUNCH_HOLE : FALLOC_FL_ZERO_RANGE;

		if (!n)
			continue;
		if (raw_aio_fallocate(&b->aio, &b->img, mode, le64toh(seg[i].sector) * RAW_SECTOR,
				      n * RAW_SECTOR, r)) {
			r->result = VIRTIO_BLK_S_IOERR;
			break;
		}
		r->pending++;
	}
	return r->pending ? BLK_ASYNC : r->result;
}

/* Start a request: a VIRTIO_BLK_S_* status to answer now, or BLK_ASYNC. */
static int blk_start(struct blk *b, struct blk_req *r)
{
	struct virtq_chain *c = &r->chain;
	struct virtio_blk_outhdr h;
	int ret;

	if (virtq_chain_read(c, 0, &h, sizeof(h)))
		return VIRTIO_BLK_S_IOERR;
	r->type = le32toh(h.type);
	switch (r->type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		return blk_rw(b, r, le64toh(h.sector), r->type == VIRTIO_BLK_T_OUT);
	case VIRTIO_BLK_T_FLUSH:
		ret = raw_aio_fdatasync(&b->aio, &b->img, r);
		if (ret)
			return VIRTIO_BLK_S_IOERR;
		r->pending = 1;
		return BLK_ASYNC;
	case VIRTIO_BLK_T_GET_ID:
		/* Up to 20 bytes, NUL-padded, clipped to the buffer. */
		virtq_chain_write(c, 0, b->serial, MIN((uint32_t)VIRTIO_BLK_ID_BYTES, c->write_len));
		return VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		return blk_dwz(b, r);
	default:
		return VIRTIO_BLK_S_UNSUPP;
	}
}

/* Handle a popped chain (in r->chain). */
static void blk_handle(struct blk *b, struct blk_req *r)
{
	struct virtq_chain *c = &r->chain;
	int ret;

	if (!c->write_len) {
		/* No room for a status byte: the request cannot be answered. */
		virtq_push(&b->vd.vqs[r->bq->index], c->head, 0);
		blk_req_free(b, r);
		virtio_dev_needs_reset(&b->vd, "a request has no writable byte for its status");
		return;
	}
	r->written = c->write_len;
	r->status = blk_take_status(c);
	r->result = VIRTIO_BLK_S_OK;
	r->pending = 0;
	ret = blk_start(b, r);
	if (ret != BLK_ASYNC)
		blk_finish(b, r, ret);
}

static void blk_complete(void *opaque, void *tag, int res)
{
	struct blk *b = opaque;
	struct blk_req *r = tag;

	if (res < 0) {
		/* Discard is a hint: a file system without hole punching ignores it. */
		if (!(r->type == VIRTIO_BLK_T_DISCARD && res == -EOPNOTSUPP))
			r->result = VIRTIO_BLK_S_IOERR;
	} else if ((r->type == VIRTIO_BLK_T_IN || r->type == VIRTIO_BLK_T_OUT) &&
		   (uint32_t)res != r->len) {
		r->result = VIRTIO_BLK_S_IOERR;         /* short: the image shrank? */
	}
	if (!r->pending || --r->pending)
		return;
	if (r->bounce && r->type == VIRTIO_BLK_T_IN && r->result == VIRTIO_BLK_S_OK)
		iov_copy(r->iov, r->niov, r->bounce, false);
	blk_finish(b, r, r->result);
}

/* Reset: the request's results are dropped, the queues are reset next. */
static void blk_drop(void *opaque, void *tag, int res)
{
	struct blk_req *r = tag;

	(void)res;
	if (r->pending && !--r->pending)
		blk_req_free(opaque, r);
}

static void blk_queue_notify(struct virtio_dev *vd, unsigned int q);

static void blk_aio_event(void *opaque, uint32_t events)
{
	struct blk *b = opaque;

	(void)events;
	virtio_dev_lock(&b->vd);
	raw_aio_reap(&b->aio, blk_complete, b);
	blk_signal(b);
	/* Notifications stay off while requests are in flight: look for new ones now. */
	for (unsigned int q = 0; q < b->vd.nr_queues; q++)
		if (b->vd.vqs[q].s.ready)
			blk_queue_notify(&b->vd, q);
	virtio_dev_unlock(&b->vd);
}

/* ---- virtio_dev_ops ---- */

static void blk_queue_notify(struct virtio_dev *vd, unsigned int q)
{
	struct blk *b = to_blk(vd);
	struct blk_queue *bq;
	struct virtq *vq;
	unsigned int popped = 0;

	if (q >= vd->nr_queues || !virtio_dev_running(vd))
		return;
	bq = &b->queues[q];
	vq = &vd->vqs[q];
	for (;;) {
		virtq_set_notify(vq, false);
		/* The pool holds max_size requests and virtq bounds chains in flight by size. */
		while (bq->nr_free && virtio_dev_running(vd)) {
			struct blk_req *r = &bq->reqs[bq->free[bq->nr_free - 1]];
			int ret = virtq_pop(vq, &r->chain);

			if (ret == -EAGAIN)
				break;
			if (ret) {
				virtio_dev_needs_reset(vd, "the driver broke a request queue");
				goto out;
			}
			bq->nr_free--;
			blk_handle(b, r);
			/*
			 * Submit the 1st, 2nd, 4th, 8th, ... request at once: the
			 * disk starts on the first while the rest are parsed, and a
			 * burst of n costs about log2(n) syscalls.  One submission of the
			 * whole burst leaves the disk idle until all of it is
			 * parsed, and its completions then come back in lockstep
			 * (measured: 68k -> 85k random-read IOPS at QD 32, bench/blk).
			 */
			popped++;
			if (!(popped & (popped - 1)))
				raw_aio_submit(&b->aio);
		}
		if (!virtio_dev_running(vd))
			break;
		/*
		 * Requests in flight: their completions look at the ring again
		 * (blk_aio_event), so the driver need not kick -- no exit per
		 * request while the disk is busy.  Idle: ask for kicks.
		 */
		if (bq->nr_free < BLK_QUEUE_SIZE)
			break;
		virtq_set_notify(vq, true);
		if (!bq->nr_free || !virtq_has_avail(vq))
			break;
	}
out:
	raw_aio_submit(&b->aio);
	blk_signal(b);
}

static void blk_config_read(struct virtio_dev *vd, uint32_t off, void *buf, uint32_t len)
{
	struct blk *b = to_blk(vd);

	if (off > BLK_CONFIG_SIZE || len > BLK_CONFIG_SIZE - off) {
		memset(buf, 0, len);
		return;
	}
	memcpy(buf, (const uint8_t *)&b->cfg + off, len);
}

static void blk_reset(struct virtio_dev *vd)
{
	struct blk *b = to_blk(vd);

	raw_aio_drain(&b->aio, blk_drop, b);
	b->notify_mask = 0;
}

static void blk_save(struct virtio_dev *vd, void *state)
{
	struct blk *b = to_blk(vd);
	struct virtio_blk_state s = {
		.capacity = b->sectors,
		.num_queues = vd->nr_queues,
		.readonly = b->img.readonly,
	};

	memcpy(state, &s, sizeof(s));
}

static int blk_restore(struct virtio_dev *vd, const void *state)
{
	struct blk *b = to_blk(vd);
	struct virtio_blk_state s;

	memcpy(&s, state, sizeof(s));
	for (unsigned int i = 0; i < sizeof(s.reserved); i++)
		if (s.reserved[i])
			return -EINVAL;
	if (s.readonly > 1)
		return -EINVAL;
	if (s.readonly != b->img.readonly) {
		pr_err("%s: the snapshot has a %s disk, this VM a %s one", vd->name,
		       s.readonly ? "read-only" : "read-write",
		       b->img.readonly ? "read-only" : "read-write");
		return -EREMCHG;        /* said why */
	}
	if (s.capacity != b->sectors || s.num_queues != vd->nr_queues) {
		pr_err("%s: the snapshot has a disk of %llu sectors and %u queues, this VM "
		       "%llu sectors and %u queues", vd->name, (unsigned long long)s.capacity,
		       s.num_queues, (unsigned long long)b->sectors, vd->nr_queues);
		return -EREMCHG;        /* said why */
	}
	return 0;
}

static void blk_free(struct blk *b)
{
	if (b->efd_added)
		evloop_del(b->io, b->aio.efd);
	raw_aio_drain(&b->aio, blk_drop, b);
	raw_aio_fini(&b->aio);
	raw_close(&b->img);
	if (b->queues) {
		for (unsigned int q = 0; q < b->vd.nr_queues; q++) {
			free(b->queues[q].reqs);
			free(b->queues[q].free);
		}
		free(b->queues);
	}
	virtio_dev_fini(&b->vd);
	free(b);
}

static void blk_destroy(struct virtio_dev *vd)
{
	blk_free(to_blk(vd));
}

static int blk_handover(struct virtio_dev *vd, bool take)
{
	struct blk *b = vd->priv;
	int ret;

	if (!take) {
		raw_lock_drop(&b->img);
		return 0;
	}
	ret = raw_lock_take(&b->img, 10000);
	if (ret)
		pr_err("%s: disk image %s is still in use by another VM after 10 s: %s", vd->name,
		       b->path, ret == -EAGAIN ? "it holds a lock on it" : strerror(-ret));
	return ret;
}

static const struct virtio_dev_ops blk_ops = {
	.config_read = blk_config_read,
	.queue_notify = blk_queue_notify,
	.reset = blk_reset,
	.quiesce = virtio_blk_drain,
	.handover = blk_handover,
	.destroy = blk_destroy,
	.state_size = sizeof(struct virtio_blk_state),
	.save = blk_save,
	.restore = blk_restore,
};

/* ---- creation ---- */

static void blk_init_config(struct blk *b)
{
	struct virtio_blk_config *c = &b->cfg;

	c->capacity = htole64(b->sectors);
	c->seg_max = htole32(BLK_SEG_MAX);
	c->blk_size = htole32(b->img.block_size);
	c->num_queues = htole16(b->vd.nr_queues);
	c->max_discard_sectors = htole32(BLK_MAX_DWZ_SECTORS);
	c->max_discard_seg = htole32(BLK_MAX_DWZ_SEGS);
	c->discard_sector_alignment = htole32(BLK_DISCARD_ALIGN);
	c->max_write_zeroes_sectors = htole32(BLK_MAX_DWZ_SECTORS);
	c->max_write_zeroes_seg = htole32(BLK_MAX_DWZ_SEGS);
	c->write_zeroes_may_unmap = 1;
}

static int blk_alloc_queues(struct blk *b)
{
	b->queues = calloc(b->vd.nr_queues, sizeof(*b->queues));
	if (!b->queues)
		return -ENOMEM;
	for (unsigned int q = 0; q < b->vd.nr_queues; q++) {
		struct blk_queue *bq = &b->queues[q];

		bq->b = b;
		bq->index = q;
		bq->reqs = calloc(BLK_QUEUE_SIZE, sizeof(*bq->reqs));
		bq->free = calloc(BLK_QUEUE_SIZE, sizeof(*bq->free));
		if (!bq->reqs || !bq->free)
			return -ENOMEM;
		for (unsigned int i = 0; i < BLK_QUEUE_SIZE; i++) {
			bq->reqs[i].bq = bq;
			bq->free[i] = BLK_QUEUE_SIZE - 1 - i;
		}
		bq->nr_free = BLK_QUEUE_SIZE;
	}
	return 0;
}

int virtio_blk_create(struct virtio_dev **out, const struct blk_opts *o,
		      const struct virtio_env *env, unsigned int index)
{
	struct blk *b = calloc(1, sizeof(*b));
	uint64_t features = VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX) | VIRTIO_BIT(VIRTIO_BLK_F_BLK_SIZE) |
			    VIRTIO_BIT(VIRTIO_BLK_F_FLUSH) | VIRTIO_BIT(VIRTIO_BLK_F_MQ);
	unsigned int nq = MIN(MAX(env->nr_vcpus, 1u), (unsigned int)BLK_MAX_QUEUES);
	int ret;

	if (!b)
		return -ENOMEM;
	snprintf(b->name, sizeof(b->name), "virtio-blk%u", index);
	snprintf(b->path, sizeof(b->path), "%s", o->path);
	b->img.fd = -1;
	b->aio.efd = -1;
	b->img.defer_lock = env->incoming;
	ret = raw_open(&b->img, o->path, o->readonly, o->direct, b->name);
	if (ret) {
		free(b);
		return ret;
	}
	b->sectors = b->img.size / RAW_SECTOR;
	memcpy(b->serial, o->serial, strnlen(o->serial, VIRTIO_BLK_ID_BYTES));
	if (o->readonly)
		features |= VIRTIO_BIT(VIRTIO_BLK_F_RO);
	else
		features |= VIRTIO_BIT(VIRTIO_BLK_F_DISCARD) | VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES);
	ret = virtio_dev_init(&b->vd, &blk_ops, env, b->name, VIRTIO_ID_BLOCK, features, nq,
			      BLK_QUEUE_SIZE, BLK_CONFIG_SIZE, b);
	if (ret) {
		pr_err("%s: cannot set up the device: %s", b->name, strerror(-ret));
		raw_close(&b->img);
		free(b);
		return ret;
	}
	blk_init_config(b);
	ret = blk_alloc_queues(b);
	if (ret) {
		pr_err("%s: out of memory for %u request queues", b->name, nq);
		goto out_free;
	}
	ret = raw_aio_init(&b->aio, nq * BLK_QUEUE_SIZE, b->name);
	if (ret)
		goto out_free;
	b->io = env->io;
	if (b->io) {
		ret = evloop_add(b->io, b->aio.efd, EPOLLIN, blk_aio_event, b);
		if (ret) {
			pr_err("%s: cannot watch io_uring completions: %s", b->name, strerror(-ret));
			goto out_free;
		}
		b->efd_added = true;
	}
	*out = &b->vd;
	return 0;
out_free:
	blk_free(b);
	return ret;
}

void virtio_blk_drain(struct virtio_dev *vd)
{
	struct blk *b = to_blk(vd);

	raw_aio_drain(&b->aio, blk_complete, b);
	blk_signal(b);
}

void virtio_blk_destroy(struct virtio_dev *vd)
{
	if (vd)
		blk_free(to_blk(vd));
}
