// SPDX-License-Identifier: GPL-2.0-only
/* virtio-console: hvc0 on the host's console. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <unistd.h>

#include "evloop.h"
#include "log.h"
#include "virtio/console.h"

#define RXQ 0
#define TXQ 1

struct virtio_console {
	struct virtio_dev vd;
	int out_fd;                     /* our own non-blocking description of the output */
	bool out_pollable;
	bool waiting_out;               /* EPOLLOUT armed, tx stalled */
	struct virtq_chain tx;          /* the chain being written */
	bool tx_pending;
	uint32_t tx_off;                /* bytes of tx already written */
	struct virtq_chain rx;
	uint32_t in_len;
	uint8_t in[VIRTIO_CONSOLE_INBUF];
	int space_efd;
	uint64_t written;
};

/* ---- output -------------------------------------------------------------- */

/* Write what is left of the current chain; false if the reader is stalled. */
static bool con_write_chain(struct virtio_console *c)
{
	struct virtq_chain *ch = &c->tx;
	uint64_t skip = c->tx_off;

	for (unsigned int i = 0; i < ch->nr_read; i++) {
		const uint8_t *p = ch->iov[i].iov_base;
		size_t len = ch->iov[i].iov_len;

		if (skip >= len) {
			skip -= len;
			continue;
		}
		p += skip;
		len -= skip;
		skip = 0;
		while (len) {
			ssize_t n = write(c->out_fd, p, len);

			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && errno == EAGAIN)
				return false;
			if (n <= 0) {
				/* The reader is gone: drop the output, keep the guest going. */
				c->tx_off = ch->read_len;
				return true;
			}
			p += n;
			len -= n;
			c->tx_off += n;
			c->written += n;
		}
	}
	return true;
}

static void con_tx(struct virtio_console *c)
{
	struct virtio_dev *vd = &c->vd;
	struct virtq *vq = &vd->vqs[TXQ];
	bool pushed = false;
	int ret;

	if (c->waiting_out)
		return;
	for (;;) {
		virtq_set_notify(vq, false);
		for (;;) {
			if (!c->tx_pending) {
				ret = virtq_pop(vq, &c->tx);
				if (ret)
					break;
				c->tx_pending = true;
				c->tx_off = 0;
			}
			if (!con_write_chain(c)) {
				/* Stalled reader: resume on EPOLLOUT. */
				if (pushed)
					virtio_dev_used(vd, TXQ);
				pushed = false;
				if (c->out_pollable &&
				    evloop_set_events(vd->io, c->out_fd, EPOLLOUT) == 0) {
					c->waiting_out = true;
					return;
				}
				continue;      /* not pollable: a blocking retry is all we can do */
			}
			virtq_push(vq, c->tx.head, 0);
			c->tx_pending = false;
			pushed = true;
		}
		if (pushed)
			virtio_dev_used(vd, TXQ);
		pushed = false;
		if (ret != -EAGAIN) {
			virtio_dev_needs_reset(vd, "bad transmit queue");
			return;
		}
		virtq_set_notify(vq, true);
		if (!virtq_has_avail(vq))
			return;
	}
}

static void con_out_ready(void *opaque, uint32_t events)
{
	struct virtio_console *c = opaque;

	(void)events;
	virtio_dev_lock(&c->vd);
	evloop_set_events(c->vd.io, c->out_fd, 0);
	c->waiting_out = false;
	if (virtio_dev_running(&c->vd))
		con_tx(c);
	virtio_dev_unlock(&c->vd);
}

/* ---- input --------------------------------------------------------------- */

static void con_signal_space(struct virtio_console *c)
{
	uint64_t one = 1;

	if (c->space_efd >= 0 && write(c->space_efd, &one, sizeof(one)) < 0)
		pr_debug("virtio-console: space eventfd: %m");
}

/* Move buffered input into the guest's receive buffers; lock held. */
static void con_rx(struct virtio_console *c)
{
	struct virtio_dev *vd = &c->vd;
	struct virtq *vq = &vd->vqs[RXQ];
	bool was_full = VIRTIO_CONSOLE_INBUF - c->in_len < 2;
	bool pushed = false;

	while (c->in_len && virtio_dev_running(vd)) {
		int ret = virtq_pop(vq, &c->rx);
		uint32_t n;

		if (ret == -EAGAIN)
			break;
		if (ret) {
			virtio_dev_needs_reset(vd, "bad receive queue");
			break;
		}
		n = c->rx.write_len < c->in_len ? c->rx.write_len : c->in_len;
		virtq_chain_write(&c->rx, 0, c->in, n);
		memmove(c->in, c->in + n, c->in_len - n);
		c->in_len -= n;
		virtq_push(vq, c->rx.head, n);
		pushed = true;
	}
	if (pushed)
		virtio_dev_used(vd, RXQ);
	if (was_full && VIRTIO_CONSOLE_INBUF - c->in_len >= 2)
		con_signal_space(c);
}

size_t virtio_console_input(struct virtio_dev *vd, const uint8_t *buf, size_t len)
{
	struct virtio_console *c = vd->priv;
	size_t n;

	virtio_dev_lock(vd);
	n = VIRTIO_CONSOLE_INBUF - c->in_len;
	n = len < n ? len : n;
	memcpy(c->in + c->in_len, buf, n);
	c->in_len += n;
	con_rx(c);
	virtio_dev_unlock(vd);
	return n;
}

size_t virtio_console_input_space(struct virtio_dev *vd)
{
	struct virtio_console *c = vd->priv;
	size_t n;

	virtio_dev_lock(vd);
	n = VIRTIO_CONSOLE_INBUF - c->in_len;
	virtio_dev_unlock(vd);
	return n;
}

void virtio_console_set_space_efd(struct virtio_dev *vd, int efd)
{
	struct virtio_console *c = vd->priv;

	virtio_dev_lock(vd);
	c->space_efd = efd;
	virtio_dev_unlock(vd);
}

uint64_t virtio_console_written(struct virtio_dev *vd)
{
	struct virtio_console *c = vd->priv;
	uint64_t n;

	virtio_dev_lock(vd);
	n = c->written;
	virtio_dev_unlock(vd);
	return n;
}

/* ---- ops ----------------------------------------------------------------- */

struct con_config {
	uint16_t cols, rows;
	uint32_t max_nr_ports;
	uint32_t emerg_wr;
} __attribute__((packed));

static void con_config_read(struct virtio_dev *vd, uint32_t off, void *buf, uint32_t len)
{
	struct con_config cfg = { 80, 25, 1, 0 };

	(void)vd;
	memcpy(buf, (uint8_t *)&cfg + off, len);
}

static void con_config_write(struct virtio_dev *vd, uint32_t off, const void *buf, uint32_t len)
{
	struct virtio_console *c = vd->priv;
	uint8_t ch;

	/* emerg_wr: one character, written straight out (best effort). */
	if (off != offsetof(struct con_config, emerg_wr) || len != 4 ||
	    !virtio_dev_has(vd, VIRTIO_CONSOLE_F_EMERG_WRITE))
		return;
	memcpy(&ch, buf, 1);
	if (write(c->out_fd, &ch, 1) == 1)
		c->written++;
}

static void con_queue_notify(struct virtio_dev *vd, unsigned int q)
{
	struct virtio_console *c = vd->priv;

	if (q == TXQ)
		con_tx(c);
	else
		con_rx(c);
}

static void con_reset(struct virtio_dev *vd)
{
	struct virtio_console *c = vd->priv;

	/* Output is synchronous: nothing in flight but a stalled chain, dropped. */
	if (c->waiting_out)
		evloop_set_events(vd->io, c->out_fd, 0);
	c->waiting_out = false;
	c->tx_pending = false;
	c->tx_off = 0;
}

/* Pause/snapshot: a chain stalled on the reader is given back (its rest unwritten). */
static void con_quiesce(struct virtio_dev *vd)
{
	struct virtio_console *c = vd->priv;

	if (c->waiting_out)
		evloop_set_events(vd->io, c->out_fd, 0);
	c->waiting_out = false;
	if (c->tx_pending) {
		virtq_push(&vd->vqs[TXQ], c->tx.head, 0);
		c->tx_pending = false;
		virtio_dev_used(vd, TXQ);
	}
}

static void con_destroy(struct virtio_dev *vd)
{
	struct virtio_console *c = vd->priv;

	if (c->out_pollable)
		evloop_del(vd->io, c->out_fd);
	close(c->out_fd);
	virtio_dev_fini(vd);
	free(c);
}

static void con_save(struct virtio_dev *vd, void *state)
{
	struct virtio_console *c = vd->priv;
	struct virtio_console_state *s = state;

	memset(s, 0, sizeof(*s));
	s->in_len = c->in_len;
	memcpy(s->in, c->in, c->in_len);
}

static int con_restore(struct virtio_dev *vd, const void *state)
{
	struct virtio_console *c = vd->priv;
	const struct virtio_console_state *s = state;

	if (s->in_len > VIRTIO_CONSOLE_INBUF || s->reserved)
		return -EINVAL;
	c->in_len = s->in_len;
	memcpy(c->in, s->in, s->in_len);
	return 0;
}

static const struct virtio_dev_ops console_ops = {
	.config_read = con_config_read,
	.config_write = con_config_write,
	.queue_notify = con_queue_notify,
	.reset = con_reset,
	.quiesce = con_quiesce,
	.destroy = con_destroy,
	.state_size = sizeof(struct virtio_console_state),
	.save = con_save,
	.restore = con_restore,
};

int virtio_console_create(struct virtio_dev **out, const struct virtio_env *env, int out_fd)
{
	struct virtio_console *c = calloc(1, sizeof(*c));
	char path[64];
	int ret;

	if (!c)
		return -ENOMEM;
	c->space_efd = -1;
	/*
	 * A description of our own, so O_NONBLOCK does not leak into the
	 * shared stdout; fall back to a dup (blocking) if it cannot be reopened.
	 */
	struct stat st;

	c->out_fd = -1;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", out_fd);
	/* Regular files never stall, and must share the UART's file offset. */
	if (fstat(out_fd, &st) == 0 && !S_ISREG(st.st_mode))
		c->out_fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (c->out_fd < 0)
		c->out_fd = fcntl(out_fd, F_DUPFD_CLOEXEC, 3);
	if (c->out_fd < 0) {
		ret = -errno;
		free(c);
		return ret;
	}
	ret = virtio_dev_init(&c->vd, &console_ops, env, "virtio-console", VIRTIO_ID_CONSOLE,
			      VIRTIO_BIT(VIRTIO_CONSOLE_F_EMERG_WRITE), 2, 256,
			      sizeof(struct con_config), c);
	if (ret) {
		close(c->out_fd);
		free(c);
		return ret;
	}
	c->out_pollable = evloop_add(env->io, c->out_fd, 0, con_out_ready, c) == 0;
	*out = &c->vd;
	return 0;
}
