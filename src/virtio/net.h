/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KITE_VIRTIO_NET_H
#define KITE_VIRTIO_NET_H

/*
 * virtio-net (VIRTIO 1.2 §5.1): one receive/transmit queue pair (queue 0 rx,
 * queue 1 tx, 256 entries each) on a network backend (src/net/tap.h).
 *
 * Frames pass between the guest and the backend with their 12-byte
 * virtio-net header unchanged (the TAP's vnet header size is 12), except
 * num_buffers, which the device fills in on receive.  Checksum and
 * segmentation offloads are offered both ways; on activate the backend is
 * told which ones the guest accepted (TUNSETOFFLOAD).
 *
 * Transmit: a kick on the tx queue writes each chain's readable part to the
 * backend straight from guest memory.  When the backend is full the chain is
 * kept and the device waits for EPOLLOUT.
 *
 * Receive: when the backend fd is readable, a frame is read into a host
 * buffer and copied into the guest's rx buffers: with MRG_RXBUF into as many
 * chains as it needs, without it into one chain that must hold it all.  When
 * the guest has no rx buffers the device stops polling for EPOLLIN until the
 * rx queue is kicked.  A frame that cannot fit (one chain too small without
 * MRG_RXBUF, the whole queue too small with it) is dropped and counted.
 *
 * A backend that hangs up or fails (EPOLLHUP/EPOLLERR, EIO, EBADFD, ENODEV)
 * takes the link down (status, config interrupt), is no longer polled, and
 * tx chains are then consumed and dropped.
 *
 * Wiring: net_parse_opts() the --net argument, virtio_net_create() before
 * the I/O thread starts (it adds the backend fd to env->io itself), hand the
 * virtio_dev to the transport, which sets t_ops/t_ctx and calls the ops with
 * vd->lock held; ops->destroy() after the I/O thread has stopped.
 *
 * Snapshots: besides struct virtio_net_state, the device holds chains only
 * while it waits (a tx chain for EPOLLOUT; rx chains for a frame that needs
 * more buffers, or one kept after a dropped frame).  Those are in flight in
 * the sense of ops->save and not in the state: a device saved while it holds
 * some restores with those buffers lost to the guest (TODO: a quiesce op, or
 * virtq support for giving a popped chain back).
 */
#include <stddef.h>
#include <stdint.h>
#include <net/if.h>

#include "virtio/virtio.h"

struct net_backend;

/* Feature bits (§5.1.3). */
#define VIRTIO_NET_F_CSUM               0
#define VIRTIO_NET_F_GUEST_CSUM         1
#define VIRTIO_NET_F_MAC                5
#define VIRTIO_NET_F_GUEST_TSO4         7
#define VIRTIO_NET_F_GUEST_TSO6         8
#define VIRTIO_NET_F_GUEST_ECN          9
#define VIRTIO_NET_F_HOST_TSO4          11
#define VIRTIO_NET_F_HOST_TSO6          12
#define VIRTIO_NET_F_HOST_ECN           13
#define VIRTIO_NET_F_MRG_RXBUF          15
#define VIRTIO_NET_F_STATUS             16

#define VIRTIO_NET_S_LINK_UP            1

/* The header in front of every frame (§5.1.6), little-endian. */
struct virtio_net_hdr {
	uint8_t flags;
	uint8_t gso_type;
	uint16_t hdr_len;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
	uint16_t num_buffers;
};

_Static_assert(sizeof(struct virtio_net_hdr) == 12, "virtio_net_hdr is 12 bytes");

/* Device configuration space (§5.1.4): mac, status, max_virtqueue_pairs. */
#define VIRTIO_NET_CFG_MAC              0
#define VIRTIO_NET_CFG_STATUS           6
#define VIRTIO_NET_CFG_MAX_VQ_PAIRS     8
#define VIRTIO_NET_CFG_SIZE             10

#define VIRTIO_NET_RXQ                  0
#define VIRTIO_NET_TXQ                  1
#define VIRTIO_NET_QUEUE_SIZE           256
#define VIRTIO_NET_MAX_FRAME            65550   /* bytes after the header */
#define VIRTIO_NET_MAX_BUF              (12 + VIRTIO_NET_MAX_FRAME)

/* --net tap=NAME[,mac=xx:xx:xx:xx:xx:xx] */
struct net_opts {
	char tap[IFNAMSIZ];
	uint8_t mac[6];
	bool has_mac;           /* else virtio_net_create() derives one from the index */
};

/*
 * Parse `arg` into o.  0, or -EINVAL with a one-line message in err naming
 * the problem and what to do.
 */
int net_parse_opts(const char *arg, struct net_opts *o, char *err, size_t errlen);

/* The default MAC of device `index`: 52:54:00:12:xx:xx, locally administered. */
void net_default_mac(unsigned int index, uint8_t mac[6]);

/*
 * Snapshot state: the configuration the guest sees and the counters.
 * Fixed-width, no padding.  (Host resources -- the TAP -- are opened again
 * from the options at restore.)
 */
struct virtio_net_state {
	uint8_t mac[6];
	uint16_t status;                /* VIRTIO_NET_S_LINK_UP or 0 */
	uint64_t rx_packets;
	uint64_t rx_bytes;
	uint64_t rx_dropped;
	uint64_t tx_packets;
	uint64_t tx_bytes;
	uint64_t tx_dropped;
};

_Static_assert(sizeof(struct virtio_net_state) == 56, "virtio_net_state has no hidden padding");

/*
 * Create "virtio-net<index>" on the TAP named in o (opened, or created if
 * absent and we have CAP_NET_ADMIN).  A TAP that cannot be opened: one error
 * line saying why and what to do, and -EINVAL.  The device registers the TAP
 * fd on env->io (before the I/O thread starts); the transport then sets
 * vd->t_ops/t_ctx.  Free with vd->ops->destroy() after the I/O thread stopped.
 */
int virtio_net_create(struct virtio_dev **out, const struct net_opts *o,
		      const struct virtio_env *env, unsigned int index);

/*
 * The same on a backend the caller opened (tests, other backends); the device
 * owns `be` from now on, also on failure.
 */
int virtio_net_create_backend(struct virtio_dev **out, struct net_backend *be,
			      const uint8_t mac[6], const struct virtio_env *env,
			      unsigned int index);

/*
 * The backend fd's event callback as registered on env->io (it takes the
 * device lock): exported so that tests can deliver events directly.
 */
void virtio_net_backend_event(void *vd, uint32_t events);

#endif
