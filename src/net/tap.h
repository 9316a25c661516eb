/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KITE_NET_TAP_H
#define KITE_NET_TAP_H

/*
 * Network backends: where a virtio-net device's frames go on the host.
 *
 * A backend moves whole frames, each starting with the 12-byte virtio-net
 * header (struct virtio_net_hdr, VIRTIO 1.2 §5.1.6), through a nonblocking
 * fd.  The device polls be->fd on its event loop: EPOLLIN when a frame can be
 * read, EPOLLOUT when a full backend can take one again.  The TAP below is
 * the one real backend; tests and the fuzzer plug in a socketpair with their
 * own ops.
 */
#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

struct net_backend;

struct net_backend_ops {
	/*
	 * Send one frame gathered from iov.  Bytes sent, or -errno: -EAGAIN
	 * when the backend is full (wait for EPOLLOUT), -EIO/-EBADFD/-ENODEV
	 * when it is gone, anything else for a frame it refused.
	 */
	ssize_t (*writev)(struct net_backend *be, const struct iovec *iov, int iovcnt);
	/*
	 * Receive one frame into iov.  Returns the frame's full length, which
	 * may exceed the buffer (the frame was truncated and is lost), or
	 * -errno: -EAGAIN when there is none, -EIO/-EBADFD/-ENODEV when the
	 * backend is gone.
	 */
	ssize_t (*readv)(struct net_backend *be, const struct iovec *iov, int iovcnt);
	/* Which offloads the host may send us (TUN_F_* bits).  0 or -errno. */
	int (*set_offload)(struct net_backend *be, unsigned int tun_flags);
	/* Close the fd and free the backend. */
	void (*close)(struct net_backend *be);
};

struct net_backend {
	const struct net_backend_ops *ops;
	int fd;                 /* nonblocking; the device polls it */
};

/* The virtio-net header size the TAP is set to (TUNSETVNETHDRSZ). */
#define TAP_VNET_HDR_LEN        12

/*
 * Open the TAP interface `name` (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR, vnet
 * header size 12, no offloads), creating it if it does not exist and we have
 * CAP_NET_ADMIN.  On failure logs one line saying why and what to do, and
 * returns -errno.
 */
int tap_open(const char *name, struct net_backend **out);
/*
 * The same, but a TAP another process has open (EBUSY: the source of a live
 * migration on this host) gives a backend with fd -1, to tap_reattach() later.
 */
int tap_open_deferrable(const char *name, struct net_backend **out);
/* (Re)open the TAP into be, waiting up to wait_ms while another process has it. */
int tap_reattach(struct net_backend *be, const char *name, unsigned int wait_ms);
/* Close the fd (be->fd = -1), so another process can open the TAP. */
void tap_detach(struct net_backend *be);

#endif
