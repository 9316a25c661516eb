// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target for virtio-net (src/virtio/net.c) on top of the split
 * virtqueues.
 *
 * The input is the guest and the network: the guest's memory layout (two
 * RAM regions, maybe a hole between them), the features it negotiates, the
 * layout of the rx and tx queues, a script of driver, network and backend
 * operations, and the guest memory image (rings, descriptors, headers,
 * frames).  The "TAP" is a SOCK_SEQPACKET socketpair whose backend ops can be
 * told to fail; frames the device sends are read back and checked (a whole
 * header, at most 65562 bytes).  Each RAM region is its own heap allocation,
 * so AddressSanitizer reports any access outside guest RAM.
 *
 * Input layout:
 *   5 bytes     region 0 pages - 1 (% 16), hole pages (% 4), region 1 pages - 1
 *               (% 16), features (bit 0 MRG_RXBUF, bit 1 EVENT_IDX, bit 2
 *               GUEST_CSUM, bit 3 GUEST_TSO4, bit 4 CSUM), n = operations (% 64)
 *   each queue  size (get_size), desc, avail, used (get_gpa), rx then tx
 *   8n bytes    n operations: opcode (run_op), then 7 bytes of arguments (among
 *               them "the driver adds a well-formed chain", so rx and tx get deep)
 *   the rest    guest memory image: region 0 from its start, then region 1
 */
#include <endian.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz_input.h"
#include "evloop.h"
#include "log.h"
#include "memory.h"
#include "net/tap.h"
#include "util.h"
#include "virtio/net.h"
#include "virtio/virtio.h"

#define PAGE    4096u

/* ---- the socketpair "TAP" ---- */

struct fz_backend {
	struct net_backend be;
	int read_err;
	int write_err;
};

static ssize_t fz_writev(struct net_backend *be, const struct iovec *iov, int iovcnt)
{
	struct fz_backend *b = (struct fz_backend *)be;
	struct msghdr m = { .msg_iov = (struct iovec *)iov, .msg_iovlen = iovcnt };
	ssize_t n;

	if (b->write_err)
		return -b->write_err;
	n = sendmsg(be->fd, &m, MSG_DONTWAIT);
	return n < 0 ? -errno : n;
}

static ssize_t fz_readv(struct net_backend *be, const struct iovec *iov, int iovcnt)
{
	struct fz_backend *b = (struct fz_backend *)be;
	struct msghdr m = { .msg_iov = (struct iovec *)iov, .msg_iovlen = iovcnt };
	ssize_t n;

	if (b->read_err)
		return -b->read_err;
	n = recvmsg(be->fd, &m, MSG_DONTWAIT | MSG_TRUNC);
	return n < 0 ? -errno : n;
}

static int fz_set_offload(struct net_backend *be, unsigned int flags)
{
	(void)be;
	(void)flags;
	return 0;
}

static void fz_close(struct net_backend *be)
{
	close(be->fd);
	free(be);
}

static const struct net_backend_ops fz_ops = {
	.writev = fz_writev,
	.readv = fz_readv,
	.set_offload = fz_set_offload,
	.close = fz_close,
};

/* ---- the guest ---- */

struct guest {
	struct guest_mem gm;
	uint64_t span;
	struct evloop ev;
	struct virtio_env env;
	struct virtio_dev *vd;
	struct fz_backend *be;
	int host;
	uint64_t features;
	bool event_idx;
	unsigned int irqs, config_irqs;
	uint16_t next_desc[2];          /* the driver's next free descriptor per queue */
	uint8_t frame[VIRTIO_NET_MAX_BUF + 64];
};

static void fz_notify_queue(void *ctx, unsigned int q)
{
	struct guest *g = ctx;

	CHECK(q < 2);
	g->irqs++;
}

static void fz_notify_config(void *ctx)
{
	struct guest *g = ctx;

	g->config_irqs++;
}

static const struct virtio_transport_ops fz_t_ops = {
	.notify_queue = fz_notify_queue,
	.notify_config = fz_notify_config,
};

static uint64_t get_gpa(struct guest *g, struct input *in)
{
	uint8_t kind = get8(in);

	if (kind % 8 == 0)
		return get(in, 8);
	if (kind % 8 == 1)
		return get(in, 4) % (g->span + 2 * PAGE);
	return get(in, 2) * 16 % g->span;
}

static uint16_t get_size(struct input *in)
{
	uint8_t kind = get8(in);

	if (kind & 0x80)
		return get(in, 2);
	return 1u << (kind % 10);
}

/* The driver: reset, features, both queues, DRIVER_OK (as the transport would). */
static void driver_start(struct guest *g, struct input *in)
{
	struct virtio_dev *vd = g->vd;

	virtio_dev_lock(vd);
	virtio_dev_reset(vd);
	vd->features = g->features & vd->host_features;
	vd->status = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK;
	for (unsigned int q = 0; q < 2; q++) {
		uint16_t size = get_size(in);
		uint64_t desc = get_gpa(g, in), avail = get_gpa(g, in), used = get_gpa(g, in);

		virtq_configure(&vd->vqs[q], size, desc, avail, used, g->event_idx);
		g->next_desc[q] = 0;
	}
	if (vd->ops->activate(vd) == 0)
		vd->status |= VIRTIO_STATUS_DRIVER_OK;
	else
		vd->status |= VIRTIO_STATUS_DEVICE_NEEDS_RESET;
	virtio_dev_unlock(vd);
}

static uint32_t ready_events(struct guest *g)
{
	struct epoll_event e[4];
	uint32_t ev = 0;
	int n = epoll_wait(g->ev.epfd, e, 4, 0);

	for (int i = 0; i < n; i++)
		ev |= e[i].events;
	return ev;
}

/* The I/O thread's loop, a few rounds. */
static void poll_rounds(struct guest *g, unsigned int rounds)
{
	for (unsigned int i = 0; i < rounds; i++) {
		uint32_t ev = ready_events(g);

		if (!ev)
			return;
		virtio_net_backend_event(g->vd, ev);
	}
}

/* What the device sent: whole frames with a header, never more than the maximum. */
static void host_drain(struct guest *g)
{
	for (unsigned int i = 0; i < 512 && g->host >= 0; i++) {
		ssize_t n = recv(g->host, g->frame, sizeof(g->frame), MSG_DONTWAIT | MSG_TRUNC);

		if (n < 0)
			return;
		CHECK(n >= 12 && n <= VIRTIO_NET_MAX_BUF);
	}
}

static void host_send(struct guest *g, const uint8_t *a)
{
	uint32_t len = (a[0] | a[1] << 8 | (a[2] & 1) << 16) % (VIRTIO_NET_MAX_BUF + 16);

	if (g->host < 0)
		return;
	memset(g->frame, a[3], MIN(len, 64u));
	if (send(g->host, g->frame, len, MSG_DONTWAIT) < 0)
		CHECK(errno == EAGAIN || errno == ENOBUFS || errno == EMSGSIZE);
}

static void kick(struct guest *g, unsigned int q)
{
	virtio_dev_lock(g->vd);
	if (virtio_dev_running(g->vd))
		g->vd->ops->queue_notify(g->vd, q);
	virtio_dev_unlock(g->vd);
}

static void save_restore(struct guest *g, const uint8_t *a)
{
	struct virtio_net_state s1, s2, bad;
	struct virtio_dev *vd = g->vd;

	virtio_dev_lock(vd);
	vd->ops->save(vd, &s1);
	CHECK(vd->ops->restore(vd, &s1) == 0);
	vd->ops->save(vd, &s2);
	CHECK(memcmp(&s1, &s2, sizeof(s1)) == 0);
	bad = s1;
	((uint8_t *)&bad)[a[0] % sizeof(bad)] ^= a[1];
	if (vd->ops->restore(vd, &bad) == 0) {
		vd->ops->save(vd, &s2);
		CHECK(!(s2.mac[0] & 1) && !(s2.status & ~VIRTIO_NET_S_LINK_UP));
	} else {
		vd->ops->save(vd, &s2);
		CHECK(memcmp(&s1, &s2, sizeof(s1)) == 0);
	}
	virtio_dev_unlock(vd);
}

/*
 * The driver adds a chain of 1-4 descriptors (device-writable on rx, readable
 * on tx, unless told otherwise) to a ready queue and makes it available.
 */
static void add_chain(struct guest *g, const uint8_t *a)
{
	unsigned int qi = a[0] & 1, n = 1 + (a[0] >> 1) % 4;
	struct virtq *vq = &g->vd->vqs[qi];
	uint16_t size = vq->s.size, *idx, *ring, avail;
	uint64_t addr = (uint64_t)(a[1] | a[2] << 8) * 16 % g->span;
	uint32_t len = (a[3] | a[4] << 8) % (qi == 0 ? 4096 : 2048);
	uint16_t head;

	if (!vq->s.ready)
		return;
	head = g->next_desc[qi] % size;
	for (unsigned int i = 0; i < n; i++) {
		uint16_t id = (head + i) % size;
		uint16_t flags = (qi == 0) ^ ((a[5] >> i) & 1) ? VIRTQ_DESC_F_WRITE : 0;
		struct virtq_desc d = {
			htole64(addr + (uint64_t)i * len), htole32(len),
			htole16(flags | (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0)),
			htole16((id + 1) % size),
		};
		void *p = mem_ptr(&g->gm, vq->s.desc_addr + 16ULL * id, 16);

		if (p)
			memcpy(p, &d, 16);
	}
	g->next_desc[qi] = (head + n) % size;
	idx = mem_ptr(&g->gm, vq->s.avail_addr + 2, 2);
	if (!idx)
		return;
	avail = le16toh(*idx);
	ring = mem_ptr(&g->gm, vq->s.avail_addr + 4 + 2ULL * (avail % size), 2);
	if (ring)
		*ring = htole16(head);
	__atomic_store_n(idx, htole16(avail + 1), __ATOMIC_RELEASE);
	if (a[6] & 1)
		kick(g, qi);
}

static void run_op(struct guest *g, const uint8_t *op)
{
	static const int errs[] = { 0, 0, 0, EINVAL, EIO, EBADFD, ENODEV, EAGAIN };
	const uint8_t *a = op + 1;
	struct input in = { a, 7 };

	switch (op[0] % 17) {
	case 0:
	case 1:
		kick(g, VIRTIO_NET_TXQ);
		break;
	case 2:
		kick(g, VIRTIO_NET_RXQ);
		break;
	case 3:
	case 4:
		host_send(g, a);
		break;
	case 5:
		poll_rounds(g, 1 + a[0] % 4);
		break;
	case 6:
		host_drain(g);
		break;
	case 7: {       /* the guest writes 2 bytes anywhere in its RAM */
		uint64_t gpa = get(&in, 4) % g->span;
		void *p = mem_ptr(&g->gm, gpa, 2);

		if (p)
			memcpy(p, a + 4, 2);
		break;
	}
	case 8: {       /* the guest advances an avail idx */
		struct virtq *vq = &g->vd->vqs[a[0] & 1];

		if (vq->s.ready) {
			uint16_t idx = le16toh(vq->avail->idx);

			vq->avail->idx = htole16(idx + 1 + a[1] % 8);
		}
		break;
	}
	case 9:
		save_restore(g, a);
		break;
	case 10:        /* the driver starts over */
		driver_start(g, &in);
		break;
	case 11:        /* the backend misbehaves, or behaves again */
		g->be->read_err = errs[a[0] % ARRAY_SIZE(errs)];
		g->be->write_err = errs[a[1] % ARRAY_SIZE(errs)];
		break;
	case 12:        /* the network goes away */
		if (a[0] == 0x42 && g->host >= 0) {
			close(g->host);
			g->host = -1;
		}
		break;
	case 13: {
		uint32_t len = 1u << (a[0] % 4), off = a[1] % (VIRTIO_NET_CFG_SIZE - len + 1);
		uint8_t buf[8];

		if (len > VIRTIO_NET_CFG_SIZE)
			break;
		virtio_dev_lock(g->vd);
		g->vd->ops->config_read(g->vd, off, buf, len);
		virtio_dev_unlock(g->vd);
		break;
	}
	case 14:
	case 15:
	case 16:
		add_chain(g, a);
		break;
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_set_level(LOG_ERR);         /* guest errors are the point here */
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t mac[6] = { 0x52, 0x54, 0, 0x12, 0x34, 0x56 };
	struct input in = { data, size };
	struct guest *g = calloc(1, sizeof(*g));
	uint64_t r0, hole, r1, img;
	const uint8_t *ops;
	size_t ops_len;
	unsigned int nops;
	uint8_t feat;
	int sv[2];

	if (!g)
		return 0;
	g->host = -1;
	r0 = PAGE * (1 + get8(&in) % 16);
	hole = PAGE * (get8(&in) % 4);
	r1 = PAGE * (1 + get8(&in) % 16);
	feat = get8(&in);
	nops = get8(&in) % 64;
	g->gm.nr = 2;
	g->gm.regions[0] = (struct mem_region){ 0, r0, aligned_alloc(PAGE, r0) };
	g->gm.regions[1] = (struct mem_region){ r0 + hole, r1, aligned_alloc(PAGE, r1) };
	g->gm.total = r0 + r1;
	g->span = r0 + hole + r1;
	if (!g->gm.regions[0].hva || !g->gm.regions[1].hva)
		goto out_mem;
	memset(g->gm.regions[0].hva, 0, r0);
	memset(g->gm.regions[1].hva, 0, r1);

	CHECK(evloop_init(&g->ev) == 0);
	g->env = (struct virtio_env){ &g->gm, &g->ev, 1 };
	CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
	g->be = calloc(1, sizeof(*g->be));
	CHECK(g->be);
	g->be->be.ops = &fz_ops;
	g->be->be.fd = sv[0];
	g->host = sv[1];
	CHECK(virtio_net_create_backend(&g->vd, &g->be->be, mac, &g->env, 0) == 0);
	g->vd->t_ops = &fz_t_ops;
	g->vd->t_ctx = g;
	g->features = VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_NET_F_MAC) |
		      VIRTIO_BIT(VIRTIO_NET_F_STATUS);
	if (feat & 1)
		g->features |= VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF);
	if (feat & 4)
		g->features |= VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM);
	if (feat & 8)
		g->features |= VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4);
	if (feat & 16)
		g->features |= VIRTIO_BIT(VIRTIO_NET_F_CSUM);
	g->event_idx = feat & 2;
	if (g->event_idx)
		g->features |= VIRTIO_BIT(VIRTIO_F_EVENT_IDX);
	driver_start(g, &in);

	ops = in.p;
	ops_len = MIN(in.n, (size_t)nops * 8);
	in.p += ops_len;
	in.n -= ops_len;
	img = MIN(in.n, r0);
	memcpy(g->gm.regions[0].hva, in.p, img);
	memcpy(g->gm.regions[1].hva, in.p + img, MIN(in.n - img, r1));

	for (size_t i = 0; i + 8 <= ops_len; i += 8)
		run_op(g, ops + i);
	/* Always end with both paths run, as after kicks and a readable TAP. */
	kick(g, VIRTIO_NET_TXQ);
	host_send(g, (const uint8_t[4]){ 60, 0, 0, 0x11 });
	poll_rounds(g, 4);
	kick(g, VIRTIO_NET_RXQ);
	host_drain(g);

	g->vd->ops->destroy(g->vd);
	if (g->host >= 0)
		close(g->host);
	evloop_destroy(&g->ev);
out_mem:
	free(g->gm.regions[0].hva);
	free(g->gm.regions[1].hva);
	free(g);
	return 0;
}
