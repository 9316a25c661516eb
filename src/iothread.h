/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KITE_IOTHREAD_H
#define KITE_IOTHREAD_H

#include <pthread.h>
#include <stdbool.h>

#include "evloop.h"

/*
 * A thread running an epoll loop for device work (virtqueue kicks through
 * ioeventfds, TAP and io_uring completions).  Devices register their fds on
 * io->ev before iothread_start(); after it, only callbacks running on the
 * thread itself may change the loop.
 */
struct iothread {
	struct evloop ev;
	pthread_t thread;
	int stop_efd;
	bool started;
	char name[16];
	/* Pause: the thread parks in a callback until resumed. */
	int pause_efd;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool pause_req, parked;
};

int iothread_init(struct iothread *io, const char *name);
int iothread_start(struct iothread *io);
/* Stop and join the thread (callbacks have returned when this returns). */
void iothread_stop(struct iothread *io);
void iothread_destroy(struct iothread *io);
/* Park the thread between callbacks (any other thread); no-op if not started. */
void iothread_pause(struct iothread *io);
void iothread_resume(struct iothread *io);

#endif
