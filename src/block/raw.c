// SPDX-License-Identifier: GPL-2.0-only
/* Raw disk images: open, lock, size, and asynchronous I/O through io_uring. */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "block/raw.h"
#include "log.h"
#include "util.h"

static int raw_open_error(int err, const char *path, bool readonly, bool direct, const char *who)
{
	switch (err) {
	case ENOENT:
		pr_err("%s: disk image %s does not exist: check the path", who, path);
		return -EINVAL;
	case EACCES:
	case EPERM:
	case EROFS:
		pr_err("%s: cannot open disk image %s %s: %s; check its permissions%s", who, path,
		       readonly ? "for reading" : "for reading and writing", strerror(err),
		       readonly ? "" : " or add ,readonly");
		return -EINVAL;
	case EISDIR:
		pr_err("%s: disk image %s is a directory: give a regular file or a block device",
		       who, path);
		return -EINVAL;
	case EINVAL:
		if (direct) {
			pr_err("%s: the file system of %s does not support O_DIRECT: use "
			       "cache=writeback", who, path);
			return -EINVAL;
		}
		break;
	case ENOTDIR:
	case ELOOP:
	case ENAMETOOLONG:
	case ENXIO:
	case ENODEV:
		pr_err("%s: cannot open disk image %s: %s", who, path, strerror(err));
		return -EINVAL;
	}
	pr_err("%s: cannot open disk image %s: %s", who, path, strerror(err));
	return -err;
}

static int raw_lock(struct raw_image *img, const char *path, const char *who)
{
	struct flock fl = {
		.l_type = img->readonly ? F_RDLCK : F_WRLCK,
		.l_whence = SEEK_SET,
	};

	if (fcntl(img->fd, F_OFD_SETLK, &fl) == 0)
		return 0;
	if (errno == EAGAIN || errno == EACCES) {
		pr_err("%s: disk image %s is in use by another VM (it holds a %s lock on it): "
		       "stop that VM, or give both ,readonly", who, path,
		       img->readonly ? "write" : "read or write");
		return -EINVAL;
	}
	pr_err("%s: cannot lock disk image %s: %s", who, path, strerror(errno));
	return -errno;
}

int raw_lock_take(struct raw_image *img, unsigned int wait_ms)
{
	struct flock fl = {
		.l_type = img->readonly ? F_RDLCK : F_WRLCK,
		.l_whence = SEEK_SET,
	};

	for (unsigned int waited = 0;; waited += 20) {
		if (fcntl(img->fd, F_OFD_SETLK, &fl) == 0)
			return 0;
		if ((errno != EAGAIN && errno != EACCES) || waited >= wait_ms)
			return errno == EACCES ? -EAGAIN : -errno;
		usleep(20000);
	}
}

void raw_lock_drop(struct raw_image *img)
{
	struct flock fl = { .l_type = F_UNLCK, .l_whence = SEEK_SET };

	fcntl(img->fd, F_OFD_SETLK, &fl);
}

int raw_open(struct raw_image *img, const char *path, bool readonly, bool direct,
	     const char *who)
{
	int flags = (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NONBLOCK | O_NOCTTY;
	struct stat st;
	int ret;

	bool defer = img->defer_lock;

	memset(img, 0, sizeof(*img));
	img->defer_lock = defer;
	img->readonly = readonly;
	img->direct = direct;
	img->block_size = RAW_SECTOR;
	if (direct)
		flags |= O_DIRECT;
	/* O_NONBLOCK: a FIFO must not hang the open; it is rejected below. */
	img->fd = open(path, flags);
	if (img->fd < 0)
		return raw_open_error(errno, path, readonly, direct, who);
	if (fstat(img->fd, &st) < 0) {
		ret = -errno;
		pr_err("%s: cannot stat disk image %s: %s", who, path, strerror(errno));
		goto out_close;
	}
	if (S_ISREG(st.st_mode)) {
		img->size = st.st_size;
	} else if (S_ISBLK(st.st_mode)) {
		int bs = 0;

		if (ioctl(img->fd, BLKGETSIZE64, &img->size) < 0 ||
		    ioctl(img->fd, BLKSSZGET, &bs) < 0) {
			ret = -errno;
			pr_err("%s: cannot get the size of block device %s: %s", who, path,
			       strerror(errno));
			goto out_close;
		}
		if (bs > (int)RAW_SECTOR && bs <= 65536 && !(bs & (bs - 1)))
			img->block_size = bs;
	} else {
		pr_err("%s: disk image %s is not a regular file or a block device", who, path);
		ret = -EINVAL;
		goto out_close;
	}
	if (!img->size || img->size % RAW_SECTOR) {
		pr_err("%s: disk image %s is %llu bytes, not a non-zero multiple of 512: resize "
		       "it to one (truncate -s SIZE)", who, path, (unsigned long long)img->size);
		ret = -EINVAL;
		goto out_close;
	}
	/* Back to blocking: io_uring fails O_NONBLOCK files with -EAGAIN. */
	if (fcntl(img->fd, F_SETFL, fcntl(img->fd, F_GETFL) & ~O_NONBLOCK) < 0) {
		ret = -errno;
		pr_err("%s: cannot set the flags of %s: %s", who, path, strerror(errno));
		goto out_close;
	}
	if (!img->defer_lock) {
		ret = raw_lock(img, path, who);
		if (ret)
			goto out_close;
	}
	return 0;
out_close:
	close(img->fd);
	img->fd = -1;
	return ret;
}

void raw_close(struct raw_image *img)
{
	if (img->fd >= 0)
		close(img->fd);         /* drops the OFD lock */
	img->fd = -1;
}

bool raw_iov_aligned(const struct raw_image *img, const struct iovec *iov, unsigned int n)
{
	uintptr_t mask = img->block_size - 1, bits = 0;

	if (!img->direct)
		return true;
	for (unsigned int i = 0; i < n; i++)
		bits |= (uintptr_t)iov[i].iov_base | iov[i].iov_len;
	return !(bits & mask);
}

int raw_aio_init(struct raw_aio *a, unsigned int max_inflight, const char *who)
{
	struct io_uring_params p = {
		.flags = IORING_SETUP_CQSIZE,
		.cq_entries = max_inflight,
	};
	int ret;

	memset(a, 0, sizeof(*a));
	a->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (a->efd < 0) {
		ret = -errno;
		pr_err("%s: eventfd: %s", who, strerror(errno));
		return ret;
	}
	ret = io_uring_queue_init_params(MIN(max_inflight, 256u), &a->ring, &p);
	if (ret < 0) {
		pr_err("%s: cannot set up io_uring: %s (is io_uring disabled on this host? "
		       "see /proc/sys/kernel/io_uring_disabled)", who, strerror(-ret));
		goto out_close;
	}
	ret = io_uring_register_eventfd(&a->ring, a->efd);
	if (ret < 0) {
		pr_err("%s: io_uring_register_eventfd: %s", who, strerror(-ret));
		goto out_exit;
	}
	a->ready = true;
	return 0;
out_exit:
	io_uring_queue_exit(&a->ring);
out_close:
	close(a->efd);
	a->efd = -1;
	return ret;
}

static void raw_aio_ignore(void *opaque, void *tag, int res)
{
	(void)opaque;
	(void)tag;
	(void)res;
}

void raw_aio_fini(struct raw_aio *a)
{
	if (!a->ready)
		return;
	raw_aio_drain(a, raw_aio_ignore, NULL);
	io_uring_queue_exit(&a->ring);
	close(a->efd);
	a->efd = -1;
	a->ready = false;
}

static struct io_uring_sqe *raw_aio_sqe(struct raw_aio *a)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&a->ring);

	if (!sqe) {
		io_uring_submit(&a->ring);
		sqe = io_uring_get_sqe(&a->ring);
	}
	return sqe;
}

static void raw_aio_queued(struct raw_aio *a, struct io_uring_sqe *sqe, void *tag)
{
	io_uring_sqe_set_data(sqe, tag);
	a->inflight++;
}

int raw_aio_readv(struct raw_aio *a, const struct raw_image *img, const struct iovec *iov,
		  unsigned int n, uint64_t off, void *tag)
{
	struct io_uring_sqe *sqe = raw_aio_sqe(a);

	if (!sqe)
		return -EBUSY;
	io_uring_prep_readv(sqe, img->fd, iov, n, off);
	raw_aio_queued(a, sqe, tag);
	return 0;
}

int raw_aio_writev(struct raw_aio *a, const struct raw_image *img, const struct iovec *iov,
		   unsigned int n, uint64_t off, void *tag)
{
	struct io_uring_sqe *sqe = raw_aio_sqe(a);

	if (!sqe)
		return -EBUSY;
	io_uring_prep_writev(sqe, img->fd, iov, n, off);
	raw_aio_queued(a, sqe, tag);
	return 0;
}

int raw_aio_fdatasync(struct raw_aio *a, const struct raw_image *img, void *tag)
{
	struct io_uring_sqe *sqe = raw_aio_sqe(a);

	if (!sqe)
		return -EBUSY;
	io_uring_prep_fsync(sqe, img->fd, IORING_FSYNC_DATASYNC);
	raw_aio_queued(a, sqe, tag);
	return 0;
}

int raw_aio_fallocate(struct raw_aio *a, const struct raw_image *img, int mode, uint64_t off,
		      uint64_t len, void *tag)
{
	struct io_uring_sqe *sqe = raw_aio_sqe(a);

	if (!sqe)
		return -EBUSY;
	io_uring_prep_fallocate(sqe, img->fd, mode | FALLOC_FL_KEEP_SIZE, off, len);
	raw_aio_queued(a, sqe, tag);
	return 0;
}

int raw_aio_submit(struct raw_aio *a)
{
	return io_uring_submit(&a->ring);
}

static unsigned int raw_aio_peek(struct raw_aio *a, raw_aio_cb cb, void *opaque)
{
	struct io_uring_cqe *cqe;
	unsigned int n = 0;

	while (io_uring_peek_cqe(&a->ring, &cqe) == 0) {
		void *tag = io_uring_cqe_get_data(cqe);
		int res = cqe->res;

		io_uring_cqe_seen(&a->ring, cqe);
		if (a->inflight)
			a->inflight--;
		cb(opaque, tag, res);
		n++;
	}
	return n;
}

unsigned int raw_aio_reap(struct raw_aio *a, raw_aio_cb cb, void *opaque)
{
	uint64_t v;

	if (read(a->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		pr_debug("io_uring eventfd: %s", strerror(errno));
	return raw_aio_peek(a, cb, opaque);
}

void raw_aio_drain(struct raw_aio *a, raw_aio_cb cb, void *opaque)
{
	while (a->inflight) {
		int ret = io_uring_submit_and_wait(&a->ring, 1);

		if (ret < 0 && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY) {
			pr_err("io_uring: waiting for %u requests: %s", a->inflight,
			       strerror(-ret));
			return;
		}
		raw_aio_peek(a, cb, opaque);
	}
}
