// SPDX-License-Identifier: GPL-2.0-only
/* virtio-net: one rx/tx queue pair on a network backend (VIRTIO 1.2 §5.1). */
#include <endian.h>
#include <errno.h>
#include <stdarg.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "evloop.h"
#include "log.h"
#include "net/tap.h"
#include "util.h"
#include "virtio/net.h"

#define NET_HDR_LEN     sizeof(struct virtio_net_hdr)
#define NET_RX_BUDGET   256     /* frames per EPOLLIN; the level-triggered fd brings us back */

_Static_assert(NET_HDR_LEN == TAP_VNET_HDR_LEN, "the TAP passes our headers unchanged");

/* What has been logged once per device. */
enum {
	NET_WARN_TX_SHORT = 1 << 0,
	NET_WARN_TX_LONG = 1 << 1,
	NET_WARN_TX_REFUSED = 1 << 2,
	NET_WARN_RX_DROP = 1 << 3,
	NET_WARN_RX_ERR = 1 << 4,
	NET_WARN_GONE = 1 << 5,
};

struct net_dev {
	struct virtio_dev vd;
	struct net_backend *be;
	struct evloop *io;
	char name[32];
	char tap[IFNAMSIZ];             /* the TAP's name, for a hand-over */
	uint8_t mac[6];
	uint16_t status;                /* VIRTIO_NET_S_LINK_UP */
	unsigned int warned;            /* NET_WARN_* */

	/* The backend fd on io: the I/O thread's business only. */
	bool polled;                    /* registered (false once the backend is gone) */
	uint32_t events;                /* what it is polled for */
	bool rx_stopped;                /* no rx buffers: EPOLLIN off until an rx kick */

	/* Transmit. */
	bool tx_pending;                /* tx holds a chain the backend refused with EAGAIN */
	struct virtq_chain tx;

	/* Receive: a frame in rxbuf, copied into one or more chains. */
	uint8_t *rxbuf;                 /* VIRTIO_NET_MAX_BUF bytes */
	uint32_t rx_len;                /* frame bytes in rxbuf, header included; 0 = none */
	uint32_t rx_off;                /* bytes of it placed in chains so far */
	bool rx_held;                   /* rx is popped and unused: the frame's first chain */
	struct virtq_chain rx;
	struct virtq_chain rx_more;     /* the chain being filled after the first (MRG_RXBUF) */
	uint16_t rx_nr;                 /* chains filled after the first */
	uint16_t rx_heads[VIRTIO_NET_QUEUE_SIZE];
	uint32_t rx_lens[VIRTIO_NET_QUEUE_SIZE];

	uint64_t rx_packets, rx_bytes, rx_dropped;
	uint64_t tx_packets, tx_bytes, tx_dropped;
};

static struct net_dev *to_net(struct virtio_dev *vd)
{
	return vd->priv;
}

/* ---- options ---- */

static int opt_fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int opt_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Exactly "xx:xx:xx:xx:xx:xx" in s[0, len). */
static bool parse_mac(const char *s, size_t len, uint8_t mac[6])
{
	if (len != 17)
		return false;
	for (unsigned int i = 0; i < 6; i++) {
		int hi = hexval(s[3 * i]), lo = hexval(s[3 * i + 1]);

		if (hi < 0 || lo < 0 || (i < 5 && s[3 * i + 2] != ':'))
			return false;
		mac[i] = hi << 4 | lo;
	}
	return true;
}

/* What the kernel accepts as an interface name (dev_valid_name), without '%'. */
static bool valid_ifname(const char *s, size_t len)
{
	if (!len || len >= IFNAMSIZ || (len == 1 && s[0] == '.') ||
	    (len == 2 && s[0] == '.' && s[1] == '.'))
		return false;
	for (size_t i = 0; i < len; i++)
		if (s[i] == '/' || s[i] == ':' || s[i] == '%' || s[i] <= ' ' || s[i] == 0x7f)
			return false;
	return true;
}

int net_parse_opts(const char *arg, struct net_opts *o, char *err, size_t errlen)
{
	const char *p = arg;
	bool have_tap = false;

	memset(o, 0, sizeof(*o));
	if (!arg || !*arg)
		return opt_fail(err, errlen, "--net needs tap=NAME, e.g. --net tap=tap0");
	for (;;) {
		const char *end = strchrnul(p, ','), *eq = memchr(p, '=', end - p);
		size_t klen = eq ? (size_t)(eq - p) : (size_t)(end - p);
		const char *v = eq ? eq + 1 : end;
		size_t vlen = end - v;

		if (end == p) {
			return opt_fail(err, errlen, "--net %s: empty option (a stray comma?): write "
					"tap=NAME[,mac=xx:xx:xx:xx:xx:xx]", arg);
		} else if (klen == 3 && !memcmp(p, "tap", 3) && eq) {
			if (have_tap)
				return opt_fail(err, errlen, "--net: tap= given twice; give one TAP per --net");
			if (!valid_ifname(v, vlen))
				return opt_fail(err, errlen, "--net: tap=%.*s is not an interface name: "
						"use 1 to %d characters without '/', ':', '%%' or blanks",
						(int)vlen, v, IFNAMSIZ - 1);
			memcpy(o->tap, v, vlen);
			have_tap = true;
		} else if (klen == 3 && !memcmp(p, "mac", 3) && eq) {
			if (o->has_mac)
				return opt_fail(err, errlen, "--net: mac= given twice; give it once");
			if (!parse_mac(v, vlen, o->mac))
				return opt_fail(err, errlen, "--net: mac=%.*s is not a MAC address: "
						"write six hex bytes, e.g. mac=52:54:00:12:34:56",
						(int)vlen, v);
			if (o->mac[0] & 1)
				return opt_fail(err, errlen, "--net: mac=%.*s is a multicast address: "
						"the first byte must be even, e.g. 52:54:00:...",
						(int)vlen, v);
			if (!(o->mac[0] | o->mac[1] | o->mac[2] | o->mac[3] | o->mac[4] | o->mac[5]))
				return opt_fail(err, errlen, "--net: mac=00:00:00:00:00:00 is not a usable "
						"address: leave mac= out for a default one");
			o->has_mac = true;
		} else {
			return opt_fail(err, errlen, "--net: unknown option '%.*s': write "
					"tap=NAME[,mac=xx:xx:xx:xx:xx:xx]", (int)(end - p), p);
		}
		if (!*end)
			break;
		p = end + 1;
	}
	if (!have_tap)
		return opt_fail(err, errlen, "--net needs tap=NAME, e.g. --net tap=tap0");
	return 0;
}

void net_default_mac(unsigned int index, uint8_t mac[6])
{
	uint32_t low = 0x123456 + index;

	mac[0] = 0x52;          /* locally administered, unicast */
	mac[1] = 0x54;
	mac[2] = 0x00;
	mac[3] = low >> 16;
	mac[4] = low >> 8;
	mac[5] = low;
}

/* ---- the backend fd ---- */

static void net_tx(struct net_dev *n);

/*
 * After handling an event (I/O thread): poll the backend fd for what the
 * device waits for; with the backend gone, drop a tx chain that waited for it.
 */
static void net_update_events(struct net_dev *n)
{
	uint32_t ev = 0;

	if (!n->polled) {
		if (n->tx_pending && virtio_dev_running(&n->vd))
			net_tx(n);
		return;
	}
	if (!n->rx_stopped)
		ev |= EPOLLIN;
	if (n->tx_pending)
		ev |= EPOLLOUT;
	if (ev != n->events && evloop_set_events(n->io, n->be->fd, ev) == 0)
		n->events = ev;
}

static bool backend_gone(ssize_t err)
{
	return err == -EBADFD || err == -ENODEV || err == -EIO;
}

/*
 * The backend hung up or failed: link down, tell the driver, never poll it
 * again (I/O thread).
 */
static void net_backend_lost(struct net_dev *n, const char *why)
{
	if (n->polled) {
		evloop_del(n->io, n->be->fd);
		n->polled = false;
	}
	if (!(n->warned & NET_WARN_GONE))
		pr_warn("%s: the network backend %s; the link is down", n->name, why);
	n->warned |= NET_WARN_GONE;
	n->rx_len = 0;
	if (n->status & VIRTIO_NET_S_LINK_UP) {
		n->status &= ~VIRTIO_NET_S_LINK_UP;
		virtio_dev_config_changed(&n->vd);
	}
}

/* ---- transmit ---- */

static void net_warn_once(struct net_dev *n, unsigned int what, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void net_warn_once(struct net_dev *n, unsigned int what, const char *fmt, ...)
{
	char msg[160];
	va_list ap;

	if (n->warned & what)
		return;
	n->warned |= what;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pr_warn("%s: %s (logged once)", n->name, msg);
}

/*
 * Send the chain in n->tx.  0 when it is done with (sent or dropped and
 * pushed), -EAGAIN when the backend is full (chain kept), another -errno
 * after a guest error (DEVICE_NEEDS_RESET).
 */
static int net_tx_one(struct net_dev *n)
{
	struct virtq_chain *c = &n->tx;
	struct virtq *vq = &n->vd.vqs[VIRTIO_NET_TXQ];
	ssize_t ret;

	if (c->nr_write) {
		virtio_dev_needs_reset(&n->vd, "a tx chain has a device-writable buffer");
		return -EINVAL;
	}
	if (c->read_len < NET_HDR_LEN) {
		net_warn_once(n, NET_WARN_TX_SHORT, "tx: dropped a %u-byte chain, shorter than "
			      "the %zu-byte header", c->read_len, NET_HDR_LEN);
		n->tx_dropped++;
	} else if (c->read_len - NET_HDR_LEN > VIRTIO_NET_MAX_FRAME) {
		net_warn_once(n, NET_WARN_TX_LONG, "tx: dropped a %zu-byte frame, longer than %u",
			      c->read_len - NET_HDR_LEN, VIRTIO_NET_MAX_FRAME);
		n->tx_dropped++;
	} else if (!n->polled) {
		n->tx_dropped++;                /* link down */
	} else {
		ret = n->be->ops->writev(n->be, c->iov, c->nr_read);
		if (ret == -EAGAIN)
			return -EAGAIN;
		if (ret >= 0) {
			n->tx_packets++;
			n->tx_bytes += c->read_len - NET_HDR_LEN;
		} else if (ret == -EBADFD || ret == -ENODEV) {
			/* (A TAP that is down answers EIO: only this frame is lost.) */
			n->tx_dropped++;
			net_backend_lost(n, "is gone");
		} else {
			n->tx_dropped++;
			net_warn_once(n, NET_WARN_TX_REFUSED, "tx: the backend refused a frame: %s%s",
				      strerror((int)-ret),
				      ret == -EIO ? " (is the TAP interface up?)" : "");
		}
	}
	virtq_push(vq, c->head, 0);
	return 0;
}

static void net_tx(struct net_dev *n)
{
	struct virtq *vq = &n->vd.vqs[VIRTIO_NET_TXQ];
	bool pushed = false;
	int ret;

	if (n->tx_pending) {
		ret = net_tx_one(n);
		if (ret == -EAGAIN)
			return;
		n->tx_pending = false;
		pushed = true;
		if (ret)
			goto out;
	}
	for (;;) {
		virtq_set_notify(vq, false);
		while ((ret = virtq_pop(vq, &n->tx)) == 0) {
			ret = net_tx_one(n);
			if (ret == -EAGAIN) {
				n->tx_pending = true;   /* wait for EPOLLOUT, not for kicks */
				goto out;
			}
			pushed = true;
			if (ret)
				goto out;
		}
		if (ret != -EAGAIN) {
			virtio_dev_needs_reset(&n->vd, "bad tx queue");
			goto out;
		}
		virtq_set_notify(vq, true);
		if (!virtq_has_avail(vq))
			break;
	}
out:
	if (pushed)
		virtio_dev_used(&n->vd, VIRTIO_NET_TXQ);
}

/* ---- receive ---- */

/* A popped rx chain the driver made right?  Otherwise DEVICE_NEEDS_RESET. */
static int net_rx_check(struct net_dev *n, int pop_ret, const struct virtq_chain *c)
{
	if (pop_ret == -EAGAIN)
		return -EAGAIN;
	if (pop_ret) {
		virtio_dev_needs_reset(&n->vd, "bad rx queue");
		return pop_ret;
	}
	if (c->nr_read || c->write_len < NET_HDR_LEN) {
		virtio_dev_needs_reset(&n->vd, "an rx chain is not a device-writable buffer "
				       "of at least 12 bytes");
		return -EINVAL;
	}
	return 0;
}

static void net_rx_drop(struct net_dev *n, const char *why)
{
	net_warn_once(n, NET_WARN_RX_DROP, "rx: dropped a %zu-byte frame: %s",
		      n->rx_len - NET_HDR_LEN, why);
	n->rx_dropped++;
	n->rx_len = 0;
}

/* Hand the finished frame to the guest: first chain, then the others. */
static void net_rx_complete(struct net_dev *n)
{
	struct virtq *vq = &n->vd.vqs[VIRTIO_NET_RXQ];
	uint16_t num = htole16(1 + n->rx_nr);
	uint32_t first = MIN(n->rx_len, n->rx.write_len);

	memcpy(n->rxbuf + offsetof(struct virtio_net_hdr, num_buffers), &num, 2);
	virtq_chain_write(&n->rx, 0, n->rxbuf, first);
	virtq_push(vq, n->rx.head, first);
	for (unsigned int i = 0; i < n->rx_nr; i++)
		virtq_push(vq, n->rx_heads[i], n->rx_lens[i]);
	n->rx_packets++;
	n->rx_bytes += n->rx_len - NET_HDR_LEN;
	n->rx_held = false;
	n->rx_nr = 0;
	n->rx_len = 0;
}

/*
 * Place the frame in rxbuf.  0 when it is done with (delivered or dropped),
 * -EAGAIN when the guest must add buffers first (progress kept), another
 * -errno after a guest error.  *pushed says whether used entries were added.
 */
static int net_rx_place(struct net_dev *n, bool *pushed)
{
	struct virtq *vq = &n->vd.vqs[VIRTIO_NET_RXQ];
	bool mrg = virtio_dev_has(&n->vd, VIRTIO_NET_F_MRG_RXBUF);
	int ret;

	if (!n->rx_held) {
		ret = net_rx_check(n, virtq_pop(vq, &n->rx), &n->rx);
		if (ret)
			return ret;
		n->rx_held = true;
		n->rx_nr = 0;
		n->rx_off = 0;
	}
	if (!n->rx_off)
		n->rx_off = MIN(n->rx_len, n->rx.write_len);   /* copied at the end */
	if (n->rx_off < n->rx_len && !mrg) {
		net_rx_drop(n, "larger than the rx buffer (and no MRG_RXBUF)");
		return 0;                       /* the chain stays for the next frame */
	}
	while (n->rx_off < n->rx_len) {
		struct virtq_chain *c = &n->rx_more;
		uint32_t k;

		if (1u + n->rx_nr >= vq->s.size) {
			/* All the queue's buffers would not hold it. */
			for (unsigned int i = 0; i < n->rx_nr; i++)
				virtq_push(vq, n->rx_heads[i], 0);
			*pushed |= n->rx_nr > 0;
			n->rx_nr = 0;
			n->rx_off = 0;
			net_rx_drop(n, "larger than all rx buffers together");
			return 0;
		}
		ret = net_rx_check(n, virtq_pop(vq, c), c);
		if (ret)
			return ret;
		k = MIN(n->rx_len - n->rx_off, c->write_len);
		virtq_chain_write(c, 0, n->rxbuf + n->rx_off, k);
		n->rx_heads[n->rx_nr] = c->head;
		n->rx_lens[n->rx_nr] = k;
		n->rx_nr++;
		n->rx_off += k;
	}
	net_rx_complete(n);
	*pushed = true;
	return 0;
}

/*
 * Read one frame from the backend into rxbuf.  0 with a frame, or -errno:
 * -EAGAIN (none), -ENOLINK (backend gone), or another error (frame lost).
 */
static int net_rx_read(struct net_dev *n)
{
	struct iovec iov = { n->rxbuf, VIRTIO_NET_MAX_BUF };
	struct virtio_net_hdr h;
	ssize_t ret = n->be->ops->readv(n->be, &iov, 1);

	if (ret == -EAGAIN || ret == -EINTR)
		return -EAGAIN;
	if (backend_gone(ret)) {
		net_backend_lost(n, "is gone");
		return -ENOLINK;
	}
	if (ret < 0) {
		net_warn_once(n, NET_WARN_RX_ERR, "rx: reading the backend: %s",
			      strerror((int)-ret));
		n->rx_dropped++;
		return (int)ret;
	}
	if ((size_t)ret < NET_HDR_LEN || ret > VIRTIO_NET_MAX_BUF) {
		net_warn_once(n, NET_WARN_RX_DROP, "rx: dropped a %zd-byte frame from the "
			      "backend (not %zu to %u bytes with the header)", ret,
			      NET_HDR_LEN, VIRTIO_NET_MAX_BUF);
		n->rx_dropped++;
		return -EMSGSIZE;
	}
	n->rx_len = ret;
	n->rx_off = 0;
	/* The driver reads flags only with GUEST_CSUM (§5.1.6.3.2). */
	if (!virtio_dev_has(&n->vd, VIRTIO_NET_F_GUEST_CSUM)) {
		memcpy(&h, n->rxbuf, NET_HDR_LEN);
		h.flags = 0;
		memcpy(n->rxbuf, &h, NET_HDR_LEN);
	}
	return 0;
}

/* Are there rx chains to pop?  If not, ask for a kick and stop polling EPOLLIN. */
static bool net_rx_wait_buffers(struct net_dev *n)
{
	struct virtq *vq = &n->vd.vqs[VIRTIO_NET_RXQ];

	if (virtq_has_avail(vq))
		return true;
	virtq_set_notify(vq, true);
	if (virtq_has_avail(vq)) {
		virtq_set_notify(vq, false);
		return true;
	}
	n->rx_stopped = true;
	return false;
}

static void net_rx(struct net_dev *n)
{
	bool pushed = false;
	int ret;

	for (unsigned int budget = NET_RX_BUDGET; budget && n->polled; budget--) {
		if (!n->rx_len) {
			if (!n->rx_held && !net_rx_wait_buffers(n))
				break;
			ret = net_rx_read(n);
			if (ret == -EAGAIN || ret == -ENOLINK)
				break;
			if (ret)
				continue;
		}
		ret = net_rx_place(n, &pushed);
		if (ret == -EAGAIN) {
			if (!net_rx_wait_buffers(n))
				break;
			continue;
		}
		if (ret)
			break;
	}
	if (pushed)
		virtio_dev_used(&n->vd, VIRTIO_NET_RXQ);
}

/* Not running: frames from the host have nowhere to go. */
static void net_rx_discard(struct net_dev *n)
{
	for (unsigned int budget = NET_RX_BUDGET; budget; budget--) {
		int ret = net_rx_read(n);

		if (ret == -EAGAIN || ret == -ENOLINK)
			break;
		if (ret == 0) {
			n->rx_dropped++;
			n->rx_len = 0;
		}
	}
}

/* ---- event sources ---- */

void virtio_net_backend_event(void *opaque, uint32_t events)
{
	struct virtio_dev *vd = opaque;
	struct net_dev *n = to_net(vd);

	virtio_dev_lock(vd);
	if (!n->polled)
		goto out;
	if (events & (EPOLLHUP | EPOLLERR)) {
		net_backend_lost(n, "hung up");
		net_update_events(n);
		goto out;
	}
	if (!virtio_dev_running(vd)) {
		if (events & EPOLLIN)
			net_rx_discard(n);
		n->tx_pending = false;          /* stopped or reset: nobody waits for it */
		n->rx_stopped = false;
		net_update_events(n);
		goto out;
	}
	if (events & EPOLLOUT)
		net_tx(n);
	if (events & EPOLLIN)
		net_rx(n);
	net_update_events(n);
out:
	virtio_dev_unlock(vd);
}

static void net_queue_notify(struct virtio_dev *vd, unsigned int q)
{
	struct net_dev *n = to_net(vd);

	if (!virtio_dev_running(vd))
		return;
	if (q == VIRTIO_NET_TXQ) {
		if (!n->tx_pending)             /* else EPOLLOUT resumes it */
			net_tx(n);
	} else if (q == VIRTIO_NET_RXQ) {
		n->rx_stopped = false;
		virtq_set_notify(&vd->vqs[VIRTIO_NET_RXQ], false);
		net_rx(n);
	}
	net_update_events(n);
}

/* ---- virtio_dev_ops ---- */

static void net_config_read(struct virtio_dev *vd, uint32_t off, void *buf, uint32_t len)
{
	struct net_dev *n = to_net(vd);
	uint8_t cfg[VIRTIO_NET_CFG_SIZE];
	uint16_t status = htole16(n->status), pairs = htole16(1);

	memcpy(cfg + VIRTIO_NET_CFG_MAC, n->mac, 6);
	memcpy(cfg + VIRTIO_NET_CFG_STATUS, &status, 2);
	memcpy(cfg + VIRTIO_NET_CFG_MAX_VQ_PAIRS, &pairs, 2);
	memset(buf, 0, len);
	if (off < sizeof(cfg))
		memcpy(buf, cfg + off, MIN(len, sizeof(cfg) - off));
}

static unsigned int net_tun_offloads(const struct virtio_dev *vd)
{
	unsigned int f = 0;

	if (!virtio_dev_has(vd, VIRTIO_NET_F_GUEST_CSUM))
		return 0;
	f = TUN_F_CSUM;
	if (virtio_dev_has(vd, VIRTIO_NET_F_GUEST_TSO4))
		f |= TUN_F_TSO4;
	if (virtio_dev_has(vd, VIRTIO_NET_F_GUEST_TSO6))
		f |= TUN_F_TSO6;
	if ((f & (TUN_F_TSO4 | TUN_F_TSO6)) && virtio_dev_has(vd, VIRTIO_NET_F_GUEST_ECN))
		f |= TUN_F_TSO_ECN;
	return f;
}

static int net_activate(struct virtio_dev *vd)
{
	struct net_dev *n = to_net(vd);
	int ret;

	if (!virtio_dev_has(vd, VIRTIO_F_VERSION_1))
		return -EINVAL;         /* the 10-byte legacy header is not supported */
	if (!n->polled)
		return 0;               /* link down: nothing to tell the backend */
	ret = n->be->ops->set_offload(n->be, net_tun_offloads(vd));
	if (ret)
		pr_warn("%s: cannot set the backend's offloads: %s", n->name, strerror(-ret));
	return ret;
}

static void net_reset(struct virtio_dev *vd)
{
	struct net_dev *n = to_net(vd);

	/* The queues are reset next: forget every chain popped from them. */
	n->tx_pending = false;
	n->rx_held = false;
	n->rx_nr = 0;
	n->rx_len = 0;
	n->rx_off = 0;
}

/*
 * Pause/snapshot: give back every chain held, so the queues' indices are the
 * whole state.  A frame half placed, or one waiting for the TAP, is dropped
 * (as a lossy link may); the guest sees its buffers come back empty.
 */
static void net_quiesce(struct virtio_dev *vd)
{
	struct net_dev *n = to_net(vd);
	struct virtq *rxq = &vd->vqs[VIRTIO_NET_RXQ], *txq = &vd->vqs[VIRTIO_NET_TXQ];

	if (n->tx_pending) {
		virtq_push(txq, n->tx.head, 0);
		n->tx_dropped++;
		n->tx_pending = false;
		virtio_dev_used(vd, VIRTIO_NET_TXQ);
	}
	if (n->rx_held) {
		virtq_push(rxq, n->rx.head, 0);
		for (unsigned int i = 0; i < n->rx_nr; i++)
			virtq_push(rxq, n->rx_heads[i], 0);
		if (n->rx_len)
			n->rx_dropped++;
		n->rx_held = false;
		n->rx_nr = 0;
		n->rx_len = 0;
		n->rx_off = 0;
		virtio_dev_used(vd, VIRTIO_NET_RXQ);
	}
}

static void net_destroy(struct virtio_dev *vd)
{
	struct net_dev *n = to_net(vd);

	if (n->polled)
		evloop_del(n->io, n->be->fd);
	n->be->ops->close(n->be);
	virtio_dev_fini(vd);
	free(n->rxbuf);
	free(n);
}

static void net_save(struct virtio_dev *vd, void *state)
{
	struct net_dev *n = to_net(vd);
	struct virtio_net_state *s = state;

	memset(s, 0, sizeof(*s));
	memcpy(s->mac, n->mac, 6);
	s->status = n->status;
	s->rx_packets = n->rx_packets;
	s->rx_bytes = n->rx_bytes;
	s->rx_dropped = n->rx_dropped;
	s->tx_packets = n->tx_packets;
	s->tx_bytes = n->tx_bytes;
	s->tx_dropped = n->tx_dropped;
}

static int net_restore(struct virtio_dev *vd, const void *state)
{
	struct net_dev *n = to_net(vd);
	const struct virtio_net_state *s = state;
	static const uint8_t zero[6];

	if ((s->mac[0] & 1) || !memcmp(s->mac, zero, 6) || (s->status & ~VIRTIO_NET_S_LINK_UP))
		return -EINVAL;
	memcpy(n->mac, s->mac, 6);
	/* The link is as saved, unless this backend is gone. */
	n->status = n->polled ? s->status : 0;
	n->rx_packets = s->rx_packets;
	n->rx_bytes = s->rx_bytes;
	n->rx_dropped = s->rx_dropped;
	n->tx_packets = s->tx_packets;
	n->tx_bytes = s->tx_bytes;
	n->tx_dropped = s->tx_dropped;
	return 0;
}

/*
 * Live migration on one host: a single-queue TAP opens once, so the source
 * closes it (I/O thread parked) and the target opens it before it runs.
 */
static int net_handover(struct virtio_dev *vd, bool take)
{
	struct net_dev *n = to_net(vd);
	int ret;

	if (!n->tap[0])
		return 0;               /* not a TAP */
	if (!take) {
		if (n->polled)
			evloop_del(n->io, n->be->fd);
		n->polled = false;
		tap_detach(n->be);
		return 0;
	}
	if (n->be->fd < 0) {
		ret = tap_reattach(n->be, n->tap, 10000);
		if (ret)
			return ret;
	}
	if (!n->polled) {
		ret = evloop_add(n->io, n->be->fd, EPOLLIN, virtio_net_backend_event, &n->vd);
		if (ret) {
			pr_err("%s: cannot poll the network backend: %s", n->name, strerror(-ret));
			return ret;
		}
		n->polled = true;
		n->events = EPOLLIN;
		n->rx_stopped = false;
	}
	if (virtio_dev_running(vd))
		n->be->ops->set_offload(n->be, net_tun_offloads(vd));
	return 0;
}

static const struct virtio_dev_ops net_ops = {
	.config_read = net_config_read,
	.activate = net_activate,
	.queue_notify = net_queue_notify,
	.reset = net_reset,
	.quiesce = net_quiesce,
	.handover = net_handover,
	.destroy = net_destroy,
	.state_size = sizeof(struct virtio_net_state),
	.save = net_save,
	.restore = net_restore,
};

/* ---- creation ---- */

#define NET_HOST_FEATURES \
	(VIRTIO_BIT(VIRTIO_NET_F_MAC) | VIRTIO_BIT(VIRTIO_NET_F_STATUS) | \
	 VIRTIO_BIT(VIRTIO_NET_F_CSUM) | VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4) | \
	 VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO6) | VIRTIO_BIT(VIRTIO_NET_F_HOST_ECN) | \
	 VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF))
#define NET_GUEST_OFFLOADS \
	(VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4) | \
	 VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO6) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_ECN))

int virtio_net_create_backend(struct virtio_dev **out, struct net_backend *be,
			      const uint8_t mac[6], const struct virtio_env *env,
			      unsigned int index)
{
	struct net_dev *n = calloc(1, sizeof(*n));
	uint64_t features = NET_HOST_FEATURES;
	int ret;

	if (!n) {
		ret = -ENOMEM;
		goto out_close;
	}
	n->rxbuf = malloc(VIRTIO_NET_MAX_BUF);
	if (!n->rxbuf) {
		ret = -ENOMEM;
		goto out_free;
	}
	n->be = be;
	n->io = env->io;
	memcpy(n->mac, mac, 6);
	n->status = VIRTIO_NET_S_LINK_UP;
	snprintf(n->name, sizeof(n->name), "virtio-net%u", index);
	/*
	 * Offer the guest offloads only if the backend can send them to us (a
	 * deferred TAP, fd -1, is the source's: it offered them, as TAPs do).
	 */
	if (be->fd < 0 ||
	    be->ops->set_offload(be, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN) == 0)
		features |= NET_GUEST_OFFLOADS;
	if (be->fd >= 0)
		be->ops->set_offload(be, 0);
	ret = virtio_dev_init(&n->vd, &net_ops, env, n->name, VIRTIO_ID_NET, features, 2,
			      VIRTIO_NET_QUEUE_SIZE, VIRTIO_NET_CFG_SIZE, n);
	if (ret)
		goto out_free;
	if (be->fd >= 0) {
		ret = evloop_add(env->io, be->fd, EPOLLIN, virtio_net_backend_event, &n->vd);
		if (ret) {
			pr_err("%s: cannot poll the network backend: %s", n->name, strerror(-ret));
			goto out_fini;
		}
		n->polled = true;
		n->events = EPOLLIN;
	}
	*out = &n->vd;
	return 0;
out_fini:
	virtio_dev_fini(&n->vd);
out_free:
	free(n->rxbuf);
	free(n);
out_close:
	be->ops->close(be);
	return ret;
}

int virtio_net_create(struct virtio_dev **out, const struct net_opts *o,
		      const struct virtio_env *env, unsigned int index)
{
	struct net_backend *be;
	uint8_t mac[6];
	int ret;

	if (env->incoming ? tap_open_deferrable(o->tap, &be) : tap_open(o->tap, &be))
		return -EINVAL;         /* tap_open() said why */
	if (o->has_mac)
		memcpy(mac, o->mac, 6);
	else
		net_default_mac(index, mac);
	ret = virtio_net_create_backend(out, be, mac, env, index);
	if (!ret)
		snprintf(to_net(*out)->tap, sizeof(to_net(*out)->tap), "%s", o->tap);
	return ret;
}
