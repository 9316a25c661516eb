// SPDX-License-Identifier: GPL-2.0-only
/*
 * virtio-net: the device driven through its ops with a fake transport, fake
 * guest memory and a socketpair standing in for the TAP; plus one test with a
 * real TAP inside a private network namespace.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "evloop.h"
#include "log.h"
#include "memory.h"
#include "net/tap.h"
#include "util.h"
#include "virtio/net.h"
#include "virtio/virtio.h"
#include "fake_guest.h"

#define RXQ VIRTIO_NET_RXQ
#define TXQ VIRTIO_NET_TXQ
#define HDR 12
#define W VIRTQ_DESC_F_WRITE

/* ---- a socketpair backend with fault injection ---- */

struct sp_backend {
	struct net_backend be;
	int read_err;           /* nonzero: readv fails with -read_err */
	int write_err;
	unsigned int offload;
	int offload_calls;
};

static ssize_t sp_writev(struct net_backend *be, const struct iovec *iov, int iovcnt)
{
	struct sp_backend *sp = (struct sp_backend *)be;
	struct msghdr m = { .msg_iov = (struct iovec *)iov, .msg_iovlen = iovcnt };
	ssize_t n;

	if (sp->write_err)
		return -sp->write_err;
	n = sendmsg(be->fd, &m, MSG_DONTWAIT);
	return n < 0 ? -errno : n;
}

static ssize_t sp_readv(struct net_backend *be, const struct iovec *iov, int iovcnt)
{
	struct sp_backend *sp = (struct sp_backend *)be;
	struct msghdr m = { .msg_iov = (struct iovec *)iov, .msg_iovlen = iovcnt };
	ssize_t n;

	if (sp->read_err)
		return -sp->read_err;
	n = recvmsg(be->fd, &m, MSG_DONTWAIT | MSG_TRUNC);
	return n < 0 ? -errno : n;
}

static int sp_set_offload(struct net_backend *be, unsigned int flags)
{
	struct sp_backend *sp = (struct sp_backend *)be;

	sp->offload = flags;
	sp->offload_calls++;
	return 0;
}

static void sp_close(struct net_backend *be)
{
	close(be->fd);
	free(be);
}

static const struct net_backend_ops sp_ops = {
	.writev = sp_writev,
	.readv = sp_readv,
	.set_offload = sp_set_offload,
	.close = sp_close,
};

/* ---- the fixture: guest, loop, device, fake transport ---- */

struct gq {                     /* the driver's view of one queue */
	gpa_t desc, avail, used;
	uint16_t size;
	uint16_t avail_idx;
	uint16_t next_desc;
	uint16_t used_seen;
};

struct fix {
	struct fake *g;
	struct evloop ev;
	struct virtio_env env;
	struct virtio_dev *vd;
	struct sp_backend *sp;
	int host;               /* the other end of the socketpair: "the network" */
	struct gq q[2];
	gpa_t next_buf;
	unsigned int notified[2];
	unsigned int config_irqs;
};

static const uint8_t test_mac[6] = { 0x52, 0x54, 0x00, 0xab, 0xcd, 0xef };

static void t_notify_queue(void *ctx, unsigned int q)
{
	struct fix *f = ctx;

	assert_true(q < 2);
	f->notified[q]++;
}

static void t_notify_config(void *ctx)
{
	struct fix *f = ctx;

	f->config_irqs++;
}

static const struct virtio_transport_ops t_ops = {
	.notify_queue = t_notify_queue,
	.notify_config = t_notify_config,
};

static void *gp(struct fix *f, gpa_t gpa, uint64_t len)
{
	void *p = mem_ptr(&f->g->gm, gpa, len);

	assert_non_null(p);
	return p;
}

static gpa_t gbuf(struct fix *f, uint32_t len)
{
	gpa_t a = f->next_buf;

	f->next_buf = ALIGN_UP(a + len, 64);
	assert_true(f->next_buf < GUEST_SIZE);
	return a;
}

static void new_device(struct fix *f, struct virtio_dev **vd, struct sp_backend **spp, int *host)
{
	struct sp_backend *sp = calloc(1, sizeof(*sp));
	int sv[2];

	assert_non_null(sp);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
	sp->be.ops = &sp_ops;
	sp->be.fd = sv[0];
	assert_int_equal(virtio_net_create_backend(vd, &sp->be, test_mac, &f->env, 0), 0);
	(*vd)->t_ops = &t_ops;
	(*vd)->t_ctx = f;
	*spp = sp;
	*host = sv[1];
}

/* The driver: negotiate `features`, set up both queues of qsize, DRIVER_OK. */
static void start(struct fix *f, uint64_t features, uint16_t qsize)
{
	struct virtio_dev *vd = f->vd;

	virtio_dev_lock(vd);
	virtio_dev_reset(vd);
	vd->features = (features | VIRTIO_BIT(VIRTIO_F_VERSION_1)) & vd->host_features;
	for (unsigned int i = 0; i < 2; i++) {
		struct gq *q = &f->q[i];

		*q = (struct gq){ 0x10000 + 0x30000ULL * i, 0x20000 + 0x30000ULL * i,
				  0x30000 + 0x30000ULL * i, qsize, 0, 0, 0 };
		memset(gp(f, q->desc, VIRTQ_DESC_BYTES(qsize)), 0, VIRTQ_DESC_BYTES(qsize));
		memset(gp(f, q->avail, VIRTQ_AVAIL_BYTES(qsize)), 0, VIRTQ_AVAIL_BYTES(qsize));
		memset(gp(f, q->used, VIRTQ_USED_BYTES(qsize)), 0, VIRTQ_USED_BYTES(qsize));
		assert_int_equal(virtq_configure(&vd->vqs[i], qsize, q->desc, q->avail, q->used,
						 false), 0);
	}
	vd->status = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
		     VIRTIO_STATUS_FEATURES_OK;
	assert_int_equal(vd->ops->activate(vd), 0);
	vd->status |= VIRTIO_STATUS_DRIVER_OK;
	virtio_dev_unlock(vd);
}

struct tdesc {
	gpa_t addr;
	uint32_t len;
	uint16_t flags;
};

/* Add a chain to queue qi and make it available; returns its head. */
static uint16_t add_chain(struct fix *f, unsigned int qi, const struct tdesc *d, unsigned int n)
{
	struct gq *q = &f->q[qi];
	uint16_t head = q->next_desc, *ring;

	for (unsigned int i = 0; i < n; i++) {
		uint16_t id = (head + i) % q->size, next = (head + i + 1) % q->size;
		struct virtq_desc vd = { htole64(d[i].addr), htole32(d[i].len),
					 htole16(d[i].flags | (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0)),
					 htole16(next) };

		memcpy(gp(f, q->desc + 16ULL * id, 16), &vd, 16);
	}
	q->next_desc = (head + n) % q->size;
	ring = gp(f, q->avail, VIRTQ_AVAIL_BYTES(q->size));
	ring[2 + q->avail_idx % q->size] = htole16(head);
	q->avail_idx++;
	__atomic_store_n(&ring[1], htole16(q->avail_idx), __ATOMIC_RELEASE);
	return head;
}

static uint16_t used_idx(struct fix *f, unsigned int qi)
{
	struct virtq_used *u = gp(f, f->q[qi].used, VIRTQ_USED_BYTES(f->q[qi].size));

	return le16toh(__atomic_load_n(&u->idx, __ATOMIC_ACQUIRE));
}

/* The next used element of queue qi (asserts there is one). */
static struct virtq_used_elem next_used(struct fix *f, unsigned int qi)
{
	struct gq *q = &f->q[qi];
	struct virtq_used *u = gp(f, q->used, VIRTQ_USED_BYTES(q->size));
	struct virtq_used_elem e;

	assert_true(used_idx(f, qi) != q->used_seen);
	e = u->ring[q->used_seen++ % q->size];
	e.id = le32toh(e.id);
	e.len = le32toh(e.len);
	return e;
}

static void kick(struct fix *f, unsigned int q)
{
	virtio_dev_lock(f->vd);
	f->vd->ops->queue_notify(f->vd, q);
	virtio_dev_unlock(f->vd);
}

/* What the loop would report for the backend fd right now. */
static uint32_t ready_events(struct fix *f)
{
	struct epoll_event e[4];
	uint32_t ev = 0;
	int n = epoll_wait(f->ev.epfd, e, 4, 0);

	for (int i = 0; i < n; i++)
		ev |= e[i].events;
	return ev;
}

/* Deliver what the loop reports, as the I/O thread would. */
static void poll_once(struct fix *f)
{
	uint32_t ev = ready_events(f);

	if (ev)
		virtio_net_backend_event(f->vd, ev);
}

static struct virtio_net_state stats(struct fix *f)
{
	struct virtio_net_state s;

	virtio_dev_lock(f->vd);
	f->vd->ops->save(f->vd, &s);
	virtio_dev_unlock(f->vd);
	return s;
}

static uint16_t cfg_status(struct fix *f)
{
	uint16_t v;

	virtio_dev_lock(f->vd);
	f->vd->ops->config_read(f->vd, VIRTIO_NET_CFG_STATUS, &v, 2);
	virtio_dev_unlock(f->vd);
	return le16toh(v);
}

/* A frame from the network: header (flags set to check they pass), payload of len bytes. */
static void host_send(struct fix *f, uint32_t len, uint8_t seed)
{
	uint8_t *buf = malloc(HDR + len);
	struct virtio_net_hdr h = { .flags = 1, .gso_type = 0, .hdr_len = htole16(14),
				    .num_buffers = htole16(0x7777) };

	assert_non_null(buf);
	memcpy(buf, &h, HDR);
	for (uint32_t i = 0; i < len; i++)
		buf[HDR + i] = seed + i;
	assert_int_equal(send(f->host, buf, HDR + len, 0), (ssize_t)(HDR + len));
	free(buf);
}

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->g = small_guest();
	assert_int_equal(evloop_init(&f->ev), 0);
	f->env = (struct virtio_env){ &f->g->gm, &f->ev, 1 };
	f->next_buf = 0x100000;
	new_device(f, &f->vd, &f->sp, &f->host);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;

	f->vd->ops->destroy(f->vd);
	close(f->host);
	evloop_destroy(&f->ev);
	free_guest(f->g);
	free(f);
	return 0;
}

/* ---- options ---- */

static void test_parse_opts(void **state)
{
	static const char *const bad[] = {
		"", "tap", "tap=", "mac=52:54:00:12:34:56", "tap=a,tap=b", "tap=a/b",
		"tap=a:b", "tap=%d", "tap=with space", "tap=0123456789abcdef",
		"tap=t,mac=52:54:00:12:34", "tap=t,mac=52:54:00:12:34:5g",
		"tap=t,mac=52-54-00-12-34-56", "tap=t,mac=01:00:5e:00:00:01",
		"tap=t,mac=00:00:00:00:00:00", "tap=t,mac=52:54:00:12:34:56,mac=52:54:00:12:34:57",
		"tap=t,queues=2", "tap=t,", "tap=t,,mac=52:54:00:12:34:56",
	};
	struct net_opts o;
	char err[256];
	uint8_t mac[6];

	(void)state;
	assert_int_equal(net_parse_opts("tap=tap0", &o, err, sizeof(err)), 0);
	assert_string_equal(o.tap, "tap0");
	assert_false(o.has_mac);
	assert_int_equal(net_parse_opts("mac=02:AB:cd:00:00:01,tap=0123456789abcde", &o, err,
					sizeof(err)), 0);
	assert_string_equal(o.tap, "0123456789abcde");
	assert_true(o.has_mac);
	assert_memory_equal(o.mac, ((uint8_t[]){ 0x02, 0xab, 0xcd, 0, 0, 1 }), 6);

	for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++) {
		err[0] = 0;
		if (net_parse_opts(bad[i], &o, err, sizeof(err)) != -EINVAL)
			fail_msg("'%s' was accepted", bad[i]);
		assert_true(strlen(err) > 10);
		assert_null(strchr(err, '\n'));
	}
	net_parse_opts("tap=t,mac=01:00:5e:00:00:01", &o, err, sizeof(err));
	assert_non_null(strstr(err, "multicast"));

	net_default_mac(0, mac);
	assert_memory_equal(mac, ((uint8_t[]){ 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 }), 6);
	net_default_mac(3, mac);
	assert_int_equal(mac[5], 0x59);
	assert_int_equal(mac[0] & 3, 2);        /* locally administered unicast */
}

/* ---- features, config, activate ---- */

static void test_config_and_offloads(void **state)
{
	struct fix *f = *state;
	uint8_t cfg[VIRTIO_NET_CFG_SIZE];
	uint64_t want = VIRTIO_BIT(VIRTIO_NET_F_MAC) | VIRTIO_BIT(VIRTIO_NET_F_STATUS) |
			VIRTIO_BIT(VIRTIO_NET_F_CSUM) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM) |
			VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4) |
			VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO6) | VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF) |
			VIRTIO_BIT(VIRTIO_F_VERSION_1);

	assert_string_equal(f->vd->name, "virtio-net0");
	assert_int_equal(f->vd->device_id, VIRTIO_ID_NET);
	assert_int_equal(f->vd->nr_queues, 2);
	assert_int_equal(f->vd->vqs[0].max_size, 256);
	assert_int_equal(f->vd->host_features & want, want);
	assert_int_equal(f->vd->config_size, VIRTIO_NET_CFG_SIZE);
	virtio_dev_lock(f->vd);
	for (unsigned int i = 0; i < sizeof(cfg); i++)
		f->vd->ops->config_read(f->vd, i, &cfg[i], 1);
	virtio_dev_unlock(f->vd);
	assert_memory_equal(cfg, test_mac, 6);
	assert_int_equal(cfg[6] | cfg[7] << 8, VIRTIO_NET_S_LINK_UP);
	assert_int_equal(cfg[8] | cfg[9] << 8, 1);

	start(f, VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4) |
		 VIRTIO_BIT(VIRTIO_NET_F_GUEST_ECN), 256);
	assert_int_equal(f->sp->offload, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO_ECN);
	start(f, VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO6), 256);     /* TSO without CSUM: none */
	assert_int_equal(f->sp->offload, 0);
	start(f, 0, 256);
	assert_int_equal(f->sp->offload, 0);
}

/* ---- transmit ---- */

static void test_tx_frame(void **state)
{
	struct fix *f = *state;
	gpa_t hdr = gbuf(f, HDR), data = gbuf(f, 100);
	struct virtio_net_hdr h = { .flags = 1, .csum_start = htole16(34),
				    .csum_offset = htole16(16), .num_buffers = 0 };
	uint8_t got[256];
	struct virtq_used_elem e;
	uint16_t head;

	start(f, 0, 256);
	memcpy(gp(f, hdr, HDR), &h, HDR);
	for (int i = 0; i < 100; i++)
		((uint8_t *)gp(f, data, 100))[i] = i;
	head = add_chain(f, TXQ, (struct tdesc[]){ { hdr, HDR, 0 }, { data, 60, 0 },
						  { data + 60, 40, 0 } }, 3);
	kick(f, TXQ);
	assert_int_equal(recv(f->host, got, sizeof(got), MSG_DONTWAIT), HDR + 100);
	assert_memory_equal(got, &h, HDR);
	assert_memory_equal(got + HDR, gp(f, data, 100), 100);
	e = next_used(f, TXQ);
	assert_int_equal(e.id, head);
	assert_int_equal(e.len, 0);
	assert_int_equal(f->notified[TXQ], 1);
	assert_int_equal(stats(f).tx_packets, 1);
	assert_int_equal(stats(f).tx_bytes, 100);
}

static void test_tx_short_dropped(void **state)
{
	struct fix *f = *state;
	gpa_t b = gbuf(f, 64);
	uint8_t got[64];

	start(f, 0, 256);
	add_chain(f, TXQ, (struct tdesc[]){ { b, 11, 0 } }, 1);
	add_chain(f, TXQ, (struct tdesc[]){ { b, 0, 0 } }, 1);
	kick(f, TXQ);
	assert_int_equal(recv(f->host, got, sizeof(got), MSG_DONTWAIT), -1);
	assert_int_equal(errno, EAGAIN);
	assert_int_equal(next_used(f, TXQ).len, 0);
	assert_int_equal(next_used(f, TXQ).len, 0);
	assert_int_equal(stats(f).tx_dropped, 2);
	assert_int_equal(stats(f).tx_packets, 0);
	assert_true(virtio_dev_running(f->vd));
}

static void test_tx_too_long_dropped(void **state)
{
	struct fix *f = *state;
	gpa_t b = gbuf(f, HDR + VIRTIO_NET_MAX_FRAME + 1);

	start(f, 0, 256);
	memset(gp(f, b, HDR), 0, HDR);
	add_chain(f, TXQ, (struct tdesc[]){ { b, HDR + VIRTIO_NET_MAX_FRAME + 1, 0 } }, 1);
	kick(f, TXQ);
	assert_int_equal(stats(f).tx_dropped, 1);
	assert_int_equal(used_idx(f, TXQ), 1);
}

static void test_tx_writable_needs_reset(void **state)
{
	struct fix *f = *state;
	gpa_t b = gbuf(f, 64);

	start(f, 0, 256);
	add_chain(f, TXQ, (struct tdesc[]){ { b, HDR + 20, 0 }, { b + 32, 16, W } }, 2);
	kick(f, TXQ);
	assert_true(f->vd->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	assert_int_equal(f->config_irqs, 1);
	assert_int_equal(used_idx(f, TXQ), 0);
	/* The device leaves its queues alone until a reset. */
	add_chain(f, TXQ, (struct tdesc[]){ { b, HDR + 20, 0 } }, 1);
	kick(f, TXQ);
	assert_int_equal(used_idx(f, TXQ), 0);
	start(f, 0, 256);
	assert_true(virtio_dev_running(f->vd));
}

/* A full backend: the chain waits for EPOLLOUT, then goes out; no busy loop meanwhile. */
static void test_tx_eagain(void **state)
{
	struct fix *f = *state;
	gpa_t b = gbuf(f, HDR + 1000);
	uint8_t got[2048];
	int sent = 0;

	start(f, 0, 256);
	memset(gp(f, b, HDR + 1000), 0, HDR + 1000);
	/* Send until the socket is full and a frame waits. */
	for (;;) {
		add_chain(f, TXQ, (struct tdesc[]){ { b, HDR + 1000, 0 } }, 1);
		kick(f, TXQ);
		if (used_idx(f, TXQ) != ++sent)
			break;
		assert_true(sent < 100000);
	}
	assert_true(ready_events(f) == 0);      /* not readable, not writable: quiet */
	/* Kicks while it waits do nothing. */
	add_chain(f, TXQ, (struct tdesc[]){ { b, HDR + 1000, 0 } }, 1);
	kick(f, TXQ);
	assert_int_equal(used_idx(f, TXQ), sent - 1);
	/* The network drains; EPOLLOUT brings both chains out. */
	while (recv(f->host, got, sizeof(got), MSG_DONTWAIT) > 0)
		;
	assert_true(ready_events(f) & EPOLLOUT);
	poll_once(f);
	assert_int_equal(used_idx(f, TXQ), sent + 1);
	assert_false(ready_events(f) & EPOLLOUT);
	assert_int_equal(stats(f).tx_packets, sent + 1);
}

/* ---- receive ---- */

static void check_rx_hdr(struct fix *f, gpa_t at, uint16_t num_buffers, uint8_t flags)
{
	struct virtio_net_hdr h;

	memcpy(&h, gp(f, at, HDR), HDR);
	assert_int_equal(le16toh(h.num_buffers), num_buffers);
	assert_int_equal(h.flags, flags);
	assert_int_equal(le16toh(h.hdr_len), 14);
}

static void check_payload(struct fix *f, gpa_t at, uint32_t off, uint32_t len, uint8_t seed)
{
	uint8_t *p = gp(f, at, len);

	for (uint32_t i = 0; i < len; i++)
		if (p[i] != (uint8_t)(seed + off + i))
			fail_msg("payload byte %u: %u != %u", off + i, p[i], (uint8_t)(seed + off + i));
}

static void test_rx_one_chain(void **state)
{
	struct fix *f = *state;
	gpa_t a = gbuf(f, 8), b = gbuf(f, 2000);
	struct virtq_used_elem e;
	uint16_t head;

	start(f, VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM), 256);
	/* The header split across two descriptors. */
	head = add_chain(f, RXQ, (struct tdesc[]){ { a, 8, W }, { b, 2000, W } }, 2);
	kick(f, RXQ);
	host_send(f, 1500, 7);
	poll_once(f);
	e = next_used(f, RXQ);
	assert_int_equal(e.id, head);
	assert_int_equal(e.len, HDR + 1500);
	{
		uint8_t hdr[HDR];

		memcpy(hdr, gp(f, a, 8), 8);
		memcpy(hdr + 8, gp(f, b, 4), 4);
		assert_int_equal(hdr[0], 1);            /* flags pass with GUEST_CSUM */
		assert_int_equal(hdr[10] | hdr[11] << 8, 1);
	}
	check_payload(f, b + 4, 0, 1500, 7);
	assert_int_equal(f->notified[RXQ], 1);
	assert_int_equal(stats(f).rx_packets, 1);
	assert_int_equal(stats(f).rx_bytes, 1500);
}

static void test_rx_no_csum_clears_flags(void **state)
{
	struct fix *f = *state;
	gpa_t b = gbuf(f, 2048);

	start(f, 0, 256);
	add_chain(f, RXQ, (struct tdesc[]){ { b, 2048, W } }, 1);
	host_send(f, 60, 1);
	poll_once(f);
	assert_int_equal(next_used(f, RXQ).len, HDR + 60);
	check_rx_hdr(f, b, 1, 0);
}

static void test_rx_mergeable(void **state)
{
	struct fix *f = *state;
	gpa_t b[4];
	uint16_t heads[4];
	uint32_t lens[3] = { 1000, 1000, HDR + 2500 - 2000 };

	start(f, VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM), 256);
	for (int i = 0; i < 4; i++) {
		b[i] = gbuf(f, 1000);
		heads[i] = add_chain(f, RXQ, (struct tdesc[]){ { b[i], 1000, W } }, 1);
	}
	host_send(f, 2500, 3);
	poll_once(f);
	for (int i = 0; i < 3; i++) {
		struct virtq_used_elem e = next_used(f, RXQ);

		assert_int_equal(e.id, heads[i]);
		assert_int_equal(e.len, lens[i]);
	}
	assert_int_equal(used_idx(f, RXQ), 3);
	check_rx_hdr(f, b[0], 3, 1);
	check_payload(f, b[0] + HDR, 0, 1000 - HDR, 3);
	check_payload(f, b[1], 1000 - HDR, 1000, 3);
	check_payload(f, b[2], 2000 - HDR, 2500 - 2000 + HDR, 3);
	/* A small frame goes into the one buffer left, num_buffers 1. */
	host_send(f, 100, 9);
	poll_once(f);
	assert_int_equal(next_used(f, RXQ).len, HDR + 100);
	check_rx_hdr(f, b[3], 1, 1);
	assert_int_equal(stats(f).rx_packets, 2);
}

/* MRG_RXBUF: a frame waits for more buffers (EPOLLIN off), then completes. */
static void test_rx_mergeable_waits(void **state)
{
	struct fix *f = *state;
	gpa_t b0 = gbuf(f, 1000), b1 = gbuf(f, 1000);

	start(f, VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF), 256);
	add_chain(f, RXQ, (struct tdesc[]){ { b0, 1000, W } }, 1);
	host_send(f, 1500, 5);
	host_send(f, 10, 6);
	poll_once(f);
	assert_int_equal(used_idx(f, RXQ), 0);
	assert_int_equal(ready_events(f), 0);           /* waiting for a kick */
	add_chain(f, RXQ, (struct tdesc[]){ { b1, 1000, W } }, 1);
	kick(f, RXQ);
	assert_int_equal(used_idx(f, RXQ), 2);
	check_rx_hdr(f, b0, 2, 0);
	check_payload(f, b1, 1000 - HDR, 1500 + HDR - 1000, 5);
	/* The second frame waits for buffers in turn. */
	assert_int_equal(ready_events(f), 0);
	add_chain(f, RXQ, (struct tdesc[]){ { b0, 1000, W } }, 1);
	kick(f, RXQ);
	assert_int_equal(used_idx(f, RXQ), 3);
	check_rx_hdr(f, b0, 1, 0);
	check_payload(f, b0 + HDR, 0, 10, 6);
}

static void test_rx_too_big_dropped(void **state)
{
	struct fix *f = *state;
	gpa_t b = gbuf(f, 4096);
	uint16_t head;

	start(f, 0, 256);
	head = add_chain(f, RXQ, (struct tdesc[]){ { b, 4096, W } }, 1);
	host_send(f, 64 * 1024, 0);
	poll_once(f);
	assert_int_equal(used_idx(f, RXQ), 0);
	assert_int_equal(stats(f).rx_dropped, 1);
	/* 65 KiB is more than any frame may be (65550 bytes). */
	host_send(f, 65 * 1024, 0);
	poll_once(f);
	assert_int_equal(used_idx(f, RXQ), 0);
	assert_int_equal(stats(f).rx_dropped, 2);
	/* The buffer is still the guest's and takes the next frame. */
	host_send(f, 200, 4);
	poll_once(f);
	assert_int_equal(next_used(f, RXQ).id, head);
	check_payload(f, b + HDR, 0, 200, 4);
	assert_int_equal(stats(f).rx_packets, 1);
}

static void test_rx_too_big_mergeable_dropped(void **state)
{
	struct fix *f = *state;
	gpa_t b[4];

	start(f, VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF), 4);
	for (int i = 0; i < 4; i++) {
		b[i] = gbuf(f, 4096);
		add_chain(f, RXQ, (struct tdesc[]){ { b[i], 4096, W } }, 1);
	}
	host_send(f, 64 * 1024, 0);
	poll_once(f);
	assert_int_equal(stats(f).rx_dropped, 1);
	/* The buffers it had filled come back empty; the first one stays for the next frame. */
	assert_int_equal(used_idx(f, RXQ), 3);
	for (int i = 0; i < 3; i++)
		assert_int_equal(next_used(f, RXQ).len, 0);
	host_send(f, 300, 2);
	poll_once(f);
	assert_int_equal(next_used(f, RXQ).len, HDR + 300);
	check_rx_hdr(f, b[0], 1, 0);
	assert_true(virtio_dev_running(f->vd));
}

static void test_rx_no_buffers_stops_polling(void **state)
{
	struct fix *f = *state;
	gpa_t b = gbuf(f, 2048);

	start(f, 0, 256);
	host_send(f, 100, 1);
	assert_int_equal(ready_events(f), EPOLLIN);
	poll_once(f);
	assert_int_equal(ready_events(f), 0);   /* a frame waits, but EPOLLIN is off */
	assert_int_equal(stats(f).rx_packets, 0);
	/* The driver's kick brings it back. */
	add_chain(f, RXQ, (struct tdesc[]){ { b, 2048, W } }, 1);
	add_chain(f, RXQ, (struct tdesc[]){ { b + 2048, 2048, W } }, 1);
	kick(f, RXQ);
	assert_int_equal(next_used(f, RXQ).len, HDR + 100);
	check_payload(f, b + HDR, 0, 100, 1);
	host_send(f, 100, 2);
	assert_int_equal(ready_events(f), EPOLLIN);
}

/* The bad rx chains: readable descriptors, or smaller than the header. */
static void test_rx_bad_chain_needs_reset(void **state)
{
	struct fix *f = *state;
	gpa_t b = gbuf(f, 64);

	start(f, 0, 256);
	add_chain(f, RXQ, (struct tdesc[]){ { b, 11, W } }, 1);
	host_send(f, 5, 1);
	poll_once(f);
	assert_true(f->vd->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	assert_int_equal(used_idx(f, RXQ), 0);
	/* Not running: frames are read and dropped, never a busy loop. */
	host_send(f, 5, 1);
	poll_once(f);
	assert_int_equal(ready_events(f), 0);

	start(f, 0, 256);
	add_chain(f, RXQ, (struct tdesc[]){ { b, 32, 0 }, { b + 32, 32, W } }, 2);
	host_send(f, 5, 1);
	poll_once(f);
	assert_true(f->vd->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
}

/* ---- the backend goes away ---- */

static void test_hangup_link_down(void **state)
{
	struct fix *f = *state;
	gpa_t b = gbuf(f, 64);
	uint32_t ev;

	start(f, VIRTIO_BIT(VIRTIO_NET_F_STATUS), 256);
	close(f->host);
	f->host = -1;
	ev = ready_events(f);
	assert_true(ev & (EPOLLHUP | EPOLLERR));
	poll_once(f);
	assert_int_equal(cfg_status(f), 0);
	assert_int_equal(f->config_irqs, 1);
	assert_int_equal(ready_events(f), 0);   /* no longer polled */
	/* tx chains are consumed and dropped. */
	memset(gp(f, b, HDR), 0, HDR);
	add_chain(f, TXQ, (struct tdesc[]){ { b, HDR + 20, 0 } }, 1);
	kick(f, TXQ);
	assert_int_equal(used_idx(f, TXQ), 1);
	assert_int_equal(stats(f).tx_dropped, 1);
	/* A reset and a new driver see the link down; saving keeps it down. */
	start(f, VIRTIO_BIT(VIRTIO_NET_F_STATUS), 256);
	assert_int_equal(cfg_status(f), 0);
	assert_int_equal(stats(f).status, 0);
	f->host = open("/dev/null", O_RDONLY);  /* for teardown */
}

static void test_read_error_link_down(void **state)
{
	struct fix *f = *state;

	start(f, VIRTIO_BIT(VIRTIO_NET_F_STATUS), 256);
	add_chain(f, RXQ, (struct tdesc[]){ { gbuf(f, 2048), 2048, W } }, 1);
	f->sp->read_err = EBADFD;
	host_send(f, 10, 0);
	poll_once(f);
	assert_int_equal(cfg_status(f), 0);
	assert_int_equal(f->config_irqs, 1);
	assert_int_equal(ready_events(f), 0);
}

static void test_write_eio_drops_frame(void **state)
{
	struct fix *f = *state;
	gpa_t b = gbuf(f, 64);

	start(f, VIRTIO_BIT(VIRTIO_NET_F_STATUS), 256);
	f->sp->write_err = EIO;         /* a TAP that is down */
	memset(gp(f, b, HDR), 0, HDR);
	add_chain(f, TXQ, (struct tdesc[]){ { b, HDR + 20, 0 } }, 1);
	kick(f, TXQ);
	assert_int_equal(used_idx(f, TXQ), 1);
	assert_int_equal(stats(f).tx_dropped, 1);
	assert_int_equal(cfg_status(f), VIRTIO_NET_S_LINK_UP);
	f->sp->write_err = ENODEV;      /* one that is gone */
	add_chain(f, TXQ, (struct tdesc[]){ { b, HDR + 20, 0 } }, 1);
	kick(f, TXQ);
	assert_int_equal(cfg_status(f), 0);
}

/* ---- snapshots ---- */

static void test_save_restore(void **state)
{
	struct fix *f = *state;
	struct virtio_net_state s1, s2, bad;
	struct virtio_dev *vd2;
	struct sp_backend *sp2;
	int host2;

	test_tx_frame(state);
	host_send(f, 60, 1);
	add_chain(f, RXQ, (struct tdesc[]){ { gbuf(f, 2048), 2048, W } }, 1);
	poll_once(f);
	s1 = stats(f);
	assert_int_equal(s1.tx_packets, 1);
	assert_int_equal(s1.rx_packets, 1);
	assert_memory_equal(s1.mac, test_mac, 6);
	assert_int_equal(s1.status, VIRTIO_NET_S_LINK_UP);

	new_device(f, &vd2, &sp2, &host2);
	virtio_dev_lock(vd2);
	assert_int_equal(vd2->ops->state_size, sizeof(s1));
	assert_int_equal(vd2->ops->restore(vd2, &s1), 0);
	vd2->ops->save(vd2, &s2);
	assert_memory_equal(&s1, &s2, sizeof(s1));

	bad = s1;
	bad.mac[0] |= 1;
	assert_int_equal(vd2->ops->restore(vd2, &bad), -EINVAL);
	bad = s1;
	memset(bad.mac, 0, 6);
	assert_int_equal(vd2->ops->restore(vd2, &bad), -EINVAL);
	bad = s1;
	bad.status = 2;
	assert_int_equal(vd2->ops->restore(vd2, &bad), -EINVAL);
	vd2->ops->save(vd2, &s2);
	assert_memory_equal(&s1, &s2, sizeof(s1));      /* untouched by the bad ones */
	virtio_dev_unlock(vd2);
	vd2->ops->destroy(vd2);
	close(host2);
}

/* ---- a real TAP, in a network namespace of our own ---- */

static int tap_child(void)
{
	struct fix *f = calloc(1, sizeof(*f));
	struct net_opts o;
	struct ifreq ifr = { 0 };
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	uint8_t frame[HDR + 60] = { 0 }, got[256];
	gpa_t tx, rx[8];
	char err[128];
	int s, ps, fd, i;
	bool found = false;

	if (!f || unshare(CLONE_NEWNET) < 0)
		return 10;
	/* No IPv6 chatter (router solicitations) on the new interface. */
	fd = open("/proc/sys/net/ipv6/conf/default/disable_ipv6", O_WRONLY);
	if (fd >= 0) {
		ssize_t w = write(fd, "1", 1);

		(void)w;
		close(fd);
	}
	f->g = small_guest();
	f->next_buf = 0x100000;
	f->env = (struct virtio_env){ &f->g->gm, &f->ev, 1 };
	if (evloop_init(&f->ev) || net_parse_opts("tap=kite-t0", &o, err, sizeof(err)))
		return 11;
	if (virtio_net_create(&f->vd, &o, &f->env, 0))
		return 12;
	f->vd->t_ops = &t_ops;
	f->vd->t_ctx = f;
	/* Bring it up, and listen on it like the host stack would. */
	s = socket(AF_INET, SOCK_DGRAM, 0);
	strcpy(ifr.ifr_name, "kite-t0");
	if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		return 13;
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0 || ioctl(s, SIOCGIFINDEX, &ifr) < 0)
		return 14;
	ps = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK, htons(ETH_P_ALL));
	sll.sll_ifindex = ifr.ifr_ifindex;
	if (ps < 0 || bind(ps, (struct sockaddr *)&sll, sizeof(sll)) < 0)
		return 15;

	/* A guest driver with the usual features. */
	start(f, VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM) |
		 VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4) | VIRTIO_BIT(VIRTIO_NET_F_CSUM), 256);
	/* tx: a broadcast frame with a local-experiment ethertype. */
	tx = gbuf(f, sizeof(frame));
	memset(frame + HDR, 0xff, 6);
	memcpy(frame + HDR + 6, test_mac, 6);
	frame[HDR + 12] = 0x88;
	frame[HDR + 13] = 0xb5;
	memcpy(frame + HDR + 14, "kite-tx", 7);
	memcpy(gp(f, tx, sizeof(frame)), frame, sizeof(frame));
	add_chain(f, TXQ, (struct tdesc[]){ { tx, sizeof(frame), 0 } }, 1);
	kick(f, TXQ);
	if (used_idx(f, TXQ) != 1 || stats(f).tx_packets != 1)
		return 16;
	for (i = 0; i < 100 && !found; i++) {
		ssize_t n = recv(ps, got, sizeof(got), 0);

		found = n == 60 && !memcmp(got + 14, "kite-tx", 7);
		if (!found)
			nanosleep(&ts, NULL);
	}
	if (!found)
		return 17;
	/* rx: the host sends a frame on the interface. */
	for (i = 0; i < 8; i++) {
		rx[i] = gbuf(f, 4096);
		add_chain(f, RXQ, (struct tdesc[]){ { rx[i], 4096, W } }, 1);
	}
	kick(f, RXQ);
	memcpy(got, test_mac, 6);
	memcpy(got + 6, frame + HDR + 6, 8);
	memcpy(got + 14, "kite-rx", 7);
	if (send(ps, got, 60, 0) != 60)
		return 18;
	found = false;
	for (i = 0; i < 100 && !found; i++) {
		poll_once(f);
		while (!found && used_idx(f, RXQ) != f->q[RXQ].used_seen) {
			struct virtq_used_elem e = next_used(f, RXQ);
			uint8_t *p = gp(f, rx[e.id], 4096);

			found = e.len == HDR + 60 && !memcmp(p + HDR + 14, "kite-rx", 7) &&
				p[10] == 1 && p[11] == 0;
		}
		if (!found)
			nanosleep(&ts, NULL);
	}
	if (!found)
		return 19;
	/* The interface disappears: link down, not polled, kite goes on. */
	if (system("ip link del kite-t0 2>/dev/null") == 0) {
		poll_once(f);
		if (cfg_status(f) != 0 || f->config_irqs != 1 || ready_events(f))
			return 20;
	}
	f->vd->ops->destroy(f->vd);
	evloop_destroy(&f->ev);
	free_guest(f->g);
	free(f);
	return 0;
}

static void test_real_tap(void **state)
{
	struct fix *f = *state;
	int status;
	pid_t pid;

	if (geteuid() != 0) {
		fprintf(stderr, "skipped: a real TAP needs root (CAP_NET_ADMIN) for a private "
			"network namespace\n");
		skip();
	}
	pid = fork();
	assert_true(pid >= 0);
	(void)f;
	if (pid == 0)
		_exit(tap_child());
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 10) {
		fprintf(stderr, "skipped: cannot create a network namespace\n");
		skip();
	}
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* A TAP that cannot be opened: -EINVAL (and one error line). */
static void test_tap_unavailable(void **state)
{
	struct fix *f = *state;
	struct net_opts o;
	char err[128];
	int status;
	pid_t pid;

	assert_int_equal(net_parse_opts("tap=kite-nope", &o, err, sizeof(err)), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct virtio_dev *vd;

		/* As nobody, in a namespace of our own where root could. */
		if (geteuid() == 0 && (unshare(CLONE_NEWNET) < 0 || setgid(65534) || setuid(65534)))
			_exit(10);
		_exit(virtio_net_create(&vd, &o, &f->env, 1) == -EINVAL ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 10)
		skip();
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_opts),
		cmocka_unit_test_setup_teardown(test_config_and_offloads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tx_frame, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tx_short_dropped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tx_too_long_dropped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tx_writable_needs_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tx_eagain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_one_chain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_no_csum_clears_flags, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_mergeable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_mergeable_waits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_too_big_dropped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_too_big_mergeable_dropped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_no_buffers_stops_polling, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_bad_chain_needs_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hangup_link_down, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_error_link_down, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_eio_drops_frame, setup, teardown),
		cmocka_unit_test_setup_teardown(test_save_restore, setup, teardown),
		cmocka_unit_test_setup_teardown(test_real_tap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tap_unavailable, setup, teardown),
	};

	log_set_level(LOG_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
