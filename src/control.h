/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KITE_CONTROL_H
#define KITE_CONTROL_H

/*
 * The control queue: how the API thread asks the VMM thread to do something.
 * The API thread fills a struct ctl_request and calls ctl_call(), which
 * queues it, wakes the VMM thread through an eventfd and waits (with a
 * timeout) until the VMM thread's handler has answered.  The VMM thread
 * registers the eventfd on its event loop (ctl_attach) and runs each queued
 * request through the handler (ctl_dispatch).  Nothing here knows about
 * HTTP or about struct vm.
 */
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "evloop.h"

struct json_object;

enum ctl_op {
	CTL_STATUS,             /* GET /vm */
	CTL_PAUSE,              /* PUT /vm/pause */
	CTL_RESUME,             /* PUT /vm/resume */
	CTL_SHUTDOWN,           /* PUT /vm/shutdown: ACPI power button */
	CTL_RESET,              /* PUT /vm/reset */
	CTL_BALLOON_SET,        /* PUT /vm/balloon {"target_bytes"} */
	CTL_BALLOON_GET,        /* GET /vm/balloon */
	CTL_SNAPSHOT,           /* PUT /vm/snapshot {"dir"} */
	CTL_MIGRATE,            /* PUT /vm/migrate {"uri", "max_downtime_ms"} */
	CTL_MIGRATE_GET,        /* GET /vm/migrate */
	CTL_MIGRATE_CANCEL,     /* PUT /vm/migrate/cancel */
	CTL_NR_OPS,
};

/* Longest migration URI ("unix:" + a sun_path, or "tcp:" + host + port). */
#define CTL_URI_MAX 300

enum ctl_migrate_transport { CTL_MIGRATE_TCP, CTL_MIGRATE_UNIX };

struct ctl_request {
	enum ctl_op op;
	union {
		struct { uint64_t target_bytes; } balloon;
		struct { char dir[PATH_MAX]; } snapshot;
		struct {
			char uri[CTL_URI_MAX];          /* as given */
			enum ctl_migrate_transport transport;
			char host[256];                 /* tcp: without [] for IPv6 */
			uint16_t port;                  /* tcp */
			char path[108];                 /* unix: (sun_path) */
			uint32_t max_downtime_ms;
		} migrate;
	} args;

	unsigned int timeout_ms;        /* how long ctl_call() waits; 0: the queue's */

	/* The answer, set by the VMM thread's handler. */
	int http_status;                /* 200, 202, 4xx, 5xx */
	struct json_object *reply;      /* success body (owned), or NULL */
	char error[256];                /* the message when http_status >= 400 */

	/* Private to control.c. */
	int refs;
	int state;
	struct ctl_request *next;
};

typedef void (*ctl_handler)(void *opaque, struct ctl_request *req);

struct ctl_queue {
	pthread_mutex_t lock;
	pthread_cond_t done;            /* a request was answered, or the queue closed */
	int efd;                        /* API thread -> VMM thread: requests are queued */
	struct ctl_request *head, *tail;
	bool closed;
	unsigned int timeout_ms;        /* how long ctl_call() waits for an answer */
	/* VMM thread only: who answers (set by ctl_attach, per VM). */
	struct evloop *ev;
	ctl_handler handler;
	void *opaque;
};

#define CTL_DEFAULT_TIMEOUT_MS 5000
#define CTL_SNAPSHOT_TIMEOUT_MS 600000  /* writes all of guest RAM */

int ctl_init(struct ctl_queue *q, unsigned int timeout_ms);
/* Fail every queued request (503) and refuse new ones; wakes all waiters. */
void ctl_close(struct ctl_queue *q);
/* After ctl_close() and once no thread calls ctl_call() any more. */
void ctl_destroy(struct ctl_queue *q);

/* A zeroed request for op with one reference (the caller's); NULL if out of memory. */
struct ctl_request *ctl_request_new(enum ctl_op op);
/* Drop a reference; the last one frees the request and its reply. */
void ctl_request_put(struct ctl_request *req);

/*
 * API thread: queue req and wait for the VMM thread's answer.  0: answered
 * (req->http_status, reply, error are set; 503 if the queue closed before
 * the request ran).  -ETIMEDOUT: no answer within req->timeout_ms or the
 * queue's timeout (the request is cancelled if it has not started);
 * -ESHUTDOWN: the queue is closed (the VM is gone).  Either way the caller
 * still owns its reference and drops it with ctl_request_put().
 */
int ctl_call(struct ctl_queue *q, struct ctl_request *req);

/* VMM thread: answer requests with handler(opaque, req) from ev's loop. */
int ctl_attach(struct ctl_queue *q, struct evloop *ev, ctl_handler handler, void *opaque);
void ctl_detach(struct ctl_queue *q);
/* VMM thread: answer every queued request (also what ctl_attach's callback does). */
void ctl_dispatch(struct ctl_queue *q);

/* Handler helpers: set an error answer (printf-style message) or a success. */
void ctl_fail(struct ctl_request *req, int http_status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void ctl_reply(struct ctl_request *req, int http_status, struct json_object *reply);

const char *ctl_op_name(enum ctl_op op);

#endif
