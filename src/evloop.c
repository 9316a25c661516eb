// SPDX-License-Identifier: GPL-2.0-only
/* epoll event loop. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "evloop.h"

struct evloop_handler {
	int fd;
	evloop_cb cb;
	void *opaque;
	struct evloop_handler *next;
};

int evloop_init(struct evloop *ev)
{
	memset(ev, 0, sizeof(*ev));
	ev->epfd = epoll_create1(EPOLL_CLOEXEC);
	return ev->epfd < 0 ? -errno : 0;
}

void evloop_destroy(struct evloop *ev)
{
	while (ev->handlers) {
		struct evloop_handler *h = ev->handlers;

		ev->handlers = h->next;
		free(h);
	}
	if (ev->epfd >= 0)
		close(ev->epfd);
	ev->epfd = -1;
}

static struct evloop_handler *evloop_find(struct evloop *ev, int fd)
{
	for (struct evloop_handler *h = ev->handlers; h; h = h->next)
		if (h->fd == fd)
			return h;
	return NULL;
}

int evloop_add(struct evloop *ev, int fd, uint32_t events, evloop_cb cb, void *opaque)
{
	struct evloop_handler *h = calloc(1, sizeof(*h));
	struct epoll_event e = { .events = events };

	if (!h)
		return -ENOMEM;
	*h = (struct evloop_handler){ fd, cb, opaque, ev->handlers };
	e.data.ptr = h;
	if (epoll_ctl(ev->epfd, EPOLL_CTL_ADD, fd, &e) < 0) {
		int ret = -errno;

		free(h);
		return ret;
	}
	ev->handlers = h;
	return 0;
}

int evloop_set_events(struct evloop *ev, int fd, uint32_t events)
{
	struct evloop_handler *h = evloop_find(ev, fd);
	struct epoll_event e = { .events = events };

	if (!h)
		return -ENOENT;
	e.data.ptr = h;
	return epoll_ctl(ev->epfd, EPOLL_CTL_MOD, fd, &e) < 0 ? -errno : 0;
}

int evloop_del(struct evloop *ev, int fd)
{
	struct evloop_handler *h = evloop_find(ev, fd);

	if (!h)
		return -ENOENT;
	epoll_ctl(ev->epfd, EPOLL_CTL_DEL, fd, NULL);
	/* Events of the current round may still point at h: keep it, dead,
	 * until evloop_destroy(). */
	h->fd = -1;
	h->cb = NULL;
	return 0;
}

int evloop_run(struct evloop *ev)
{
	struct epoll_event events[16];

	while (!ev->stop) {
		int n = epoll_wait(ev->epfd, events, 16, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (int i = 0; i < n && !ev->stop; i++) {
			struct evloop_handler *h = events[i].data.ptr;

			if (h->cb)
				h->cb(h->opaque, events[i].events);
		}
	}
	return 0;
}
