/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KITE_EVLOOP_H
#define KITE_EVLOOP_H

#include <stdbool.h>
#include <stdint.h>

/* A minimal epoll event loop: the VMM thread runs one; device I/O threads may run others. */
typedef void (*evloop_cb)(void *opaque, uint32_t events);

struct evloop_handler;

struct evloop {
	int epfd;
	bool stop;
	struct evloop_handler *handlers;
};

int evloop_init(struct evloop *ev);
void evloop_destroy(struct evloop *ev);
int evloop_add(struct evloop *ev, int fd, uint32_t events, evloop_cb cb, void *opaque);
int evloop_set_events(struct evloop *ev, int fd, uint32_t events);
int evloop_del(struct evloop *ev, int fd);
/* Dispatch events until evloop_stop() is called from a callback. */
int evloop_run(struct evloop *ev);
static inline void evloop_stop(struct evloop *ev) { ev->stop = true; }

#endif
