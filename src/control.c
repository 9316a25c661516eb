// SPDX-License-Identifier: GPL-2.0-only
/* The control queue between the API thread and the VMM thread. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "control.h"
#include "log.h"

/* Request states (under q->lock). */
enum { REQ_NEW, REQ_QUEUED, REQ_RUNNING, REQ_DONE, REQ_CANCELLED };

static const char *const op_names[CTL_NR_OPS] = {
	[CTL_STATUS] = "status",
	[CTL_PAUSE] = "pause",
	[CTL_RESUME] = "resume",
	[CTL_SHUTDOWN] = "shutdown",
	[CTL_RESET] = "reset",
	[CTL_BALLOON_SET] = "balloon",
	[CTL_BALLOON_GET] = "balloon status",
	[CTL_SNAPSHOT] = "snapshot",
	[CTL_MIGRATE] = "migrate",
	[CTL_MIGRATE_GET] = "migration status",
	[CTL_MIGRATE_CANCEL] = "migration cancel",
};

const char *ctl_op_name(enum ctl_op op)
{
	return (unsigned int)op < CTL_NR_OPS ? op_names[op] : "unknown";
}

int ctl_init(struct ctl_queue *q, unsigned int timeout_ms)
{
	pthread_condattr_t ca;
	int ret;

	memset(q, 0, sizeof(*q));
	q->timeout_ms = timeout_ms;
	q->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (q->efd < 0)
		return -errno;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	ret = -pthread_cond_init(&q->done, &ca);
	pthread_condattr_destroy(&ca);
	if (!ret) {
		ret = -pthread_mutex_init(&q->lock, NULL);
		if (ret)
			pthread_cond_destroy(&q->done);
	}
	if (ret) {
		close(q->efd);
		q->efd = -1;
	}
	return ret;
}

struct ctl_request *ctl_request_new(enum ctl_op op)
{
	struct ctl_request *req = calloc(1, sizeof(*req));

	if (!req)
		return NULL;
	req->op = op;
	req->refs = 1;
	req->state = REQ_NEW;
	return req;
}

void ctl_request_put(struct ctl_request *req)
{
	if (!req || __atomic_sub_fetch(&req->refs, 1, __ATOMIC_ACQ_REL))
		return;
	json_object_put(req->reply);
	free(req);
}

/* Answer a request that will never run (q->lock held). */
static void fail_locked(struct ctl_request *req, const char *why)
{
	req->http_status = 503;
	snprintf(req->error, sizeof(req->error), "%s", why);
	req->state = REQ_DONE;
}

void ctl_close(struct ctl_queue *q)
{
	struct ctl_request *req;

	pthread_mutex_lock(&q->lock);
	q->closed = true;
	while ((req = q->head)) {
		q->head = req->next;
		if (req->state == REQ_QUEUED)
			fail_locked(req, "the VM has stopped");
		ctl_request_put(req);       /* the queue's reference */
	}
	q->tail = NULL;
	pthread_cond_broadcast(&q->done);
	pthread_mutex_unlock(&q->lock);
}

void ctl_destroy(struct ctl_queue *q)
{
	if (q->efd < 0)
		return;
	ctl_close(q);
	pthread_mutex_destroy(&q->lock);
	pthread_cond_destroy(&q->done);
	close(q->efd);
	q->efd = -1;
}

static struct timespec deadline_after(unsigned int ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

int ctl_call(struct ctl_queue *q, struct ctl_request *req)
{
	struct timespec deadline = deadline_after(req->timeout_ms ?: q->timeout_ms);
	uint64_t one = 1;
	int ret = 0;

	pthread_mutex_lock(&q->lock);
	if (q->closed || req->state != REQ_NEW) {
		pthread_mutex_unlock(&q->lock);
		return -ESHUTDOWN;
	}
	__atomic_add_fetch(&req->refs, 1, __ATOMIC_RELAXED);   /* the queue's */
	req->state = REQ_QUEUED;
	req->next = NULL;
	if (q->tail)
		q->tail->next = req;
	else
		q->head = req;
	q->tail = req;
	if (write(q->efd, &one, sizeof(one)) != sizeof(one))
		pr_warn("api: cannot wake the VMM thread: %s", strerror(errno));
	while (req->state == REQ_QUEUED || req->state == REQ_RUNNING) {
		int r = pthread_cond_timedwait(&q->done, &q->lock, &deadline);

		if (r == ETIMEDOUT && (req->state == REQ_QUEUED || req->state == REQ_RUNNING)) {
			/* A queued request is skipped by the dispatcher; a running one
			 * finishes there, unseen. */
			if (req->state == REQ_QUEUED)
				req->state = REQ_CANCELLED;
			ret = -ETIMEDOUT;
			break;
		}
	}
	pthread_mutex_unlock(&q->lock);
	return ret;
}

void ctl_dispatch(struct ctl_queue *q)
{
	uint64_t n;

	if (read(q->efd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		pr_warn("api: control eventfd: %s", strerror(errno));
	for (;;) {
		struct ctl_request *req;

		pthread_mutex_lock(&q->lock);
		req = q->head;
		if (!req || !q->handler) {
			pthread_mutex_unlock(&q->lock);
			return;
		}
		q->head = req->next;
		if (!q->head)
			q->tail = NULL;
		if (req->state != REQ_QUEUED) {         /* cancelled: the caller gave up */
			pthread_mutex_unlock(&q->lock);
			ctl_request_put(req);
			continue;
		}
		req->state = REQ_RUNNING;
		pthread_mutex_unlock(&q->lock);

		req->http_status = 500;
		snprintf(req->error, sizeof(req->error), "internal error: %s was not answered",
			 ctl_op_name(req->op));
		q->handler(q->opaque, req);

		pthread_mutex_lock(&q->lock);
		req->state = REQ_DONE;
		pthread_cond_broadcast(&q->done);
		pthread_mutex_unlock(&q->lock);
		ctl_request_put(req);
	}
}

static void on_ctl_efd(void *opaque, uint32_t events)
{
	(void)events;
	ctl_dispatch(opaque);
}

int ctl_attach(struct ctl_queue *q, struct evloop *ev, ctl_handler handler, void *opaque)
{
	int ret = evloop_add(ev, q->efd, EPOLLIN, on_ctl_efd, q);

	if (ret)
		return ret;
	pthread_mutex_lock(&q->lock);
	q->ev = ev;
	q->handler = handler;
	q->opaque = opaque;
	pthread_mutex_unlock(&q->lock);
	/* Requests that came while no VM was attached (a restart): the eventfd
	 * is still readable, so the loop answers them. */
	return 0;
}

void ctl_detach(struct ctl_queue *q)
{
	uint64_t one = 1;

	if (!q->ev)
		return;
	evloop_del(q->ev, q->efd);
	pthread_mutex_lock(&q->lock);
	q->ev = NULL;
	q->handler = NULL;
	q->opaque = NULL;
	/* Keep the eventfd readable for what is still queued. */
	if (q->head && write(q->efd, &one, sizeof(one)) < 0)
		pr_warn("api: control eventfd: %s", strerror(errno));
	pthread_mutex_unlock(&q->lock);
}

void ctl_fail(struct ctl_request *req, int http_status, const char *fmt, ...)
{
	va_list ap;

	req->http_status = http_status;
	va_start(ap, fmt);
	vsnprintf(req->error, sizeof(req->error), fmt, ap);
	va_end(ap);
	json_object_put(req->reply);
	req->reply = NULL;
}

void ctl_reply(struct ctl_request *req, int http_status, struct json_object *reply)
{
	req->http_status = http_status;
	req->error[0] = '\0';
	json_object_put(req->reply);
	req->reply = reply;
}
