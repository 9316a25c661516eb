// SPDX-License-Identifier: GPL-2.0-only
/* Device I/O threads. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "iothread.h"
#include "log.h"

static void iothread_stop_cb(void *opaque, uint32_t events)
{
	struct iothread *io = opaque;

	(void)events;
	evloop_stop(&io->ev);
}

static void iothread_pause_cb(void *opaque, uint32_t events)
{
	struct iothread *io = opaque;
	uint64_t n;

	(void)events;
	if (read(io->pause_efd, &n, sizeof(n)) < 0)
		return;
	pthread_mutex_lock(&io->lock);
	io->parked = true;
	pthread_cond_broadcast(&io->cond);
	while (io->pause_req)
		pthread_cond_wait(&io->cond, &io->lock);
	io->parked = false;
	pthread_mutex_unlock(&io->lock);
}

int iothread_init(struct iothread *io, const char *name)
{
	int ret;

	memset(io, 0, sizeof(*io));
	snprintf(io->name, sizeof(io->name), "%s", name);
	pthread_mutex_init(&io->lock, NULL);
	pthread_cond_init(&io->cond, NULL);
	io->pause_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	io->stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (io->stop_efd < 0 || io->pause_efd < 0)
		return -errno;
	ret = evloop_init(&io->ev);
	ret = ret ?: evloop_add(&io->ev, io->stop_efd, EPOLLIN, iothread_stop_cb, io);
	ret = ret ?: evloop_add(&io->ev, io->pause_efd, EPOLLIN, iothread_pause_cb, io);
	return ret;
}

void iothread_pause(struct iothread *io)
{
	uint64_t one = 1;

	if (!io->started)
		return;
	pthread_mutex_lock(&io->lock);
	io->pause_req = true;
	if (write(io->pause_efd, &one, sizeof(one)) < 0)
		pr_err("%s: cannot pause: %s", io->name, strerror(errno));
	while (!io->parked)
		pthread_cond_wait(&io->cond, &io->lock);
	pthread_mutex_unlock(&io->lock);
}

void iothread_resume(struct iothread *io)
{
	pthread_mutex_lock(&io->lock);
	io->pause_req = false;
	pthread_cond_broadcast(&io->cond);
	pthread_mutex_unlock(&io->lock);
}

static void *iothread_main(void *opaque)
{
	struct iothread *io = opaque;
	int ret = evloop_run(&io->ev);

	if (ret)
		pr_err("%s: event loop failed: %s", io->name, strerror(-ret));
	return NULL;
}

int iothread_start(struct iothread *io)
{
	int ret = pthread_create(&io->thread, NULL, iothread_main, io);

	if (ret)
		return -ret;
	pthread_setname_np(io->thread, io->name);
	io->started = true;
	return 0;
}

void iothread_stop(struct iothread *io)
{
	uint64_t one = 1;

	if (!io->started)
		return;
	iothread_resume(io);
	if (write(io->stop_efd, &one, sizeof(one)) < 0)
		pr_err("%s: cannot stop: %s", io->name, strerror(errno));
	pthread_join(io->thread, NULL);
	io->started = false;
}

void iothread_destroy(struct iothread *io)
{
	iothread_stop(io);
	evloop_destroy(&io->ev);
	if (io->stop_efd >= 0)
		close(io->stop_efd);
	if (io->pause_efd >= 0)
		close(io->pause_efd);
	io->stop_efd = io->pause_efd = -1;
}
