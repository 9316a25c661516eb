// SPDX-License-Identifier: GPL-2.0-only
/* The TAP backend: a Linux tun/tap fd with virtio-net headers. */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "log.h"
#include "net/tap.h"

static ssize_t tap_writev(struct net_backend *be, const struct iovec *iov, int iovcnt)
{
	ssize_t n = writev(be->fd, iov, iovcnt);

	return n < 0 ? -errno : n;
}

static ssize_t tap_readv(struct net_backend *be, const struct iovec *iov, int iovcnt)
{
	ssize_t n = readv(be->fd, iov, iovcnt);

	return n < 0 ? -errno : n;
}

static int tap_set_offload(struct net_backend *be, unsigned int tun_flags)
{
	return ioctl(be->fd, TUNSETOFFLOAD, (unsigned long)tun_flags) < 0 ? -errno : 0;
}

static void tap_close(struct net_backend *be)
{
	close(be->fd);
	free(be);
}

static const struct net_backend_ops tap_ops = {
	.writev = tap_writev,
	.readv = tap_readv,
	.set_offload = tap_set_offload,
	.close = tap_close,
};

/* What to do about a TUNSETIFF error. */
static void tap_hint(int err, const char *name, char *buf, size_t len)
{
	switch (err) {
	case EPERM:
	case EACCES:
		snprintf(buf, len, "run as root or create it with "
			 "`ip tuntap add %s mode tap user $USER`", name);
		break;
	case EBUSY:
		snprintf(buf, len, "another process has it open (a single-queue TAP opens "
			 "once): stop it or use another TAP");
		break;
	case EINVAL:
		snprintf(buf, len, "an interface of that name exists and is not a single-queue "
			 "TAP: delete it or pick another name");
		break;
	default:
		snprintf(buf, len, "check `ip link show %s`", name);
		break;
	}
}

/* Open the TAP's fd; with quiet, EBUSY (another process has it) is not logged. */
static int tap_open_fd(const char *name, bool quiet, int *out_fd)
{
	struct ifreq ifr = { 0 };
	int fd, err, hdr_len = TAP_VNET_HDR_LEN;
	unsigned int features = 0;
	char hint[256];

	if (strlen(name) >= IFNAMSIZ || !*name) {
		pr_err("cannot open TAP '%s': the name must have 1 to %d characters",
		       name, IFNAMSIZ - 1);
		return -EINVAL;
	}
	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		err = errno;
		if (err == EACCES || err == EPERM)
			pr_err("cannot open TAP '%s': /dev/net/tun: %s: run as root, or give "
			       "your user access to /dev/net/tun and create the TAP with "
			       "`ip tuntap add %s mode tap user $USER`", name, strerror(err), name);
		else
			pr_err("cannot open TAP '%s': /dev/net/tun: %s: load the tun module "
			       "(`modprobe tun`)", name, strerror(err));
		return -err;
	}
	if (ioctl(fd, TUNGETFEATURES, &features) == 0 && !(features & IFF_VNET_HDR)) {
		pr_err("cannot open TAP '%s': this kernel's tun driver has no vnet header "
		       "support (IFF_VNET_HDR)", name);
		err = EOPNOTSUPP;
		goto out_close;
	}
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	memcpy(ifr.ifr_name, name, strlen(name));
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		err = errno;
		if (!(quiet && err == EBUSY)) {
			tap_hint(err, name, hint, sizeof(hint));
			pr_err("cannot open TAP '%s': %s: %s", name, strerror(err), hint);
		}
		goto out_close;
	}
	if (ioctl(fd, TUNSETVNETHDRSZ, &hdr_len) < 0 ||
	    ioctl(fd, TUNSETOFFLOAD, 0UL) < 0) {
		err = errno;
		pr_err("cannot open TAP '%s': setting its vnet header size or offloads: %s",
		       name, strerror(err));
		goto out_close;
	}
	*out_fd = fd;
	return 0;
out_close:
	close(fd);
	return -err;
}

static int tap_backend(int fd, const char *name, struct net_backend **out)
{
	struct net_backend *be = calloc(1, sizeof(*be));

	if (!be) {
		pr_err("cannot open TAP '%s': out of memory", name);
		if (fd >= 0)
			close(fd);
		return -ENOMEM;
	}
	be->ops = &tap_ops;
	be->fd = fd;
	*out = be;
	return 0;
}

int tap_open(const char *name, struct net_backend **out)
{
	int fd, ret = tap_open_fd(name, false, &fd);

	return ret ?: tap_backend(fd, name, out);
}

int tap_open_deferrable(const char *name, struct net_backend **out)
{
	int fd = -1, ret = tap_open_fd(name, true, &fd);

	if (ret == -EBUSY)
		fd = -1;                /* another VM (the migration source) has it: later */
	else if (ret)
		return ret;
	return tap_backend(fd, name, out);
}

int tap_reattach(struct net_backend *be, const char *name, unsigned int wait_ms)
{
	int fd, ret;

	for (unsigned int waited = 0;; waited += 20) {
		ret = tap_open_fd(name, waited < wait_ms, &fd);
		if (ret != -EBUSY || waited >= wait_ms)
			break;
		usleep(20000);
	}
	if (ret)
		return ret;
	if (be->fd >= 0)
		close(be->fd);
	be->fd = fd;
	return 0;
}

void tap_detach(struct net_backend *be)
{
	if (be->fd >= 0)
		close(be->fd);
	be->fd = -1;
}
