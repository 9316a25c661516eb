// SPDX-License-Identifier: GPL-2.0-only
/* The control API without sockets: routing, body validation, the control queue. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>
#include <cmocka.h>

#include <json-c/json.h>

#include "api/request.h"
#include "control.h"

/* Parse body for op; returns the status and leaves the message in err. */
static int parse(enum ctl_op op, const char *body, struct ctl_request *req, char *err, size_t len)
{
	memset(req, 0, sizeof(*req));
	err[0] = '\0';
	return api_parse_body(op, body, strlen(body), req, err, len);
}

#define EXPECT_400(op, body, pattern) do {                                          \
	struct ctl_request r_;                                                      \
	char e_[256];                                                               \
	assert_int_equal(parse(op, body, &r_, e_, sizeof(e_)), 400);                \
	if (!strstr(e_, pattern))                                                   \
		fail_msg("%s: error '%s' lacks '%s'", body, e_, pattern);           \
} while (0)

#define EXPECT_OK(op, body) do {                                                    \
	struct ctl_request r_;                                                      \
	char e_[256];                                                               \
	if (parse(op, body, &r_, e_, sizeof(e_)))                                   \
		fail_msg("%s: %s", body, e_);                                       \
} while (0)

static void test_route(void **state)
{
	enum ctl_op op;
	const char *allow = NULL;

	(void)state;
	assert_int_equal(api_route("GET", "/vm", &op, &allow), 0);
	assert_int_equal(op, CTL_STATUS);
	assert_int_equal(api_route("PUT", "/vm/pause", &op, &allow), 0);
	assert_int_equal(op, CTL_PAUSE);
	assert_int_equal(api_route("PUT", "/vm/resume", &op, &allow), 0);
	assert_int_equal(op, CTL_RESUME);
	assert_int_equal(api_route("PUT", "/vm/shutdown", &op, &allow), 0);
	assert_int_equal(op, CTL_SHUTDOWN);
	assert_int_equal(api_route("PUT", "/vm/reset", &op, &allow), 0);
	assert_int_equal(op, CTL_RESET);
	assert_int_equal(api_route("PUT", "/vm/balloon", &op, &allow), 0);
	assert_int_equal(op, CTL_BALLOON_SET);
	assert_int_equal(api_route("GET", "/vm/balloon", &op, &allow), 0);
	assert_int_equal(op, CTL_BALLOON_GET);
	assert_int_equal(api_route("PUT", "/vm/snapshot", &op, &allow), 0);
	assert_int_equal(op, CTL_SNAPSHOT);
	assert_int_equal(api_route("PUT", "/vm/migrate", &op, &allow), 0);
	assert_int_equal(op, CTL_MIGRATE);
	assert_int_equal(api_route("GET", "/vm/migrate", &op, &allow), 0);
	assert_int_equal(op, CTL_MIGRATE_GET);
	assert_int_equal(api_route("PUT", "/vm/migrate/cancel", &op, &allow), 0);
	assert_int_equal(op, CTL_MIGRATE_CANCEL);

	assert_int_equal(api_route("GET", "/", &op, &allow), 404);
	assert_int_equal(api_route("GET", "/vm/", &op, &allow), 404);
	assert_int_equal(api_route("GET", "/VM", &op, &allow), 404);
	assert_int_equal(api_route("PUT", "/vm/pause/", &op, &allow), 404);
	assert_int_equal(api_route("GET", "", &op, &allow), 404);

	assert_int_equal(api_route("POST", "/vm/pause", &op, &allow), 405);
	assert_string_equal(allow, "PUT");
	assert_int_equal(api_route("PUT", "/vm", &op, &allow), 405);
	assert_string_equal(allow, "GET");
	assert_int_equal(api_route("DELETE", "/vm/balloon", &op, &allow), 405);
	assert_string_equal(allow, "GET, PUT");
	assert_int_equal(api_route("get", "/vm", &op, &allow), 405);   /* methods are case-sensitive */

	assert_string_equal(api_op_method(CTL_MIGRATE_GET), "GET");
	assert_string_equal(api_op_path(CTL_MIGRATE_CANCEL), "/vm/migrate/cancel");
}

static void test_no_argument_ops(void **state)
{
	(void)state;
	EXPECT_OK(CTL_PAUSE, "");
	EXPECT_OK(CTL_PAUSE, "{}");
	EXPECT_OK(CTL_PAUSE, " \r\n\t{ }\n");
	EXPECT_OK(CTL_RESUME, "  ");
	EXPECT_OK(CTL_SHUTDOWN, "{}");
	EXPECT_OK(CTL_RESET, "");
	EXPECT_OK(CTL_MIGRATE_CANCEL, "{}");
	EXPECT_OK(CTL_STATUS, "");
	EXPECT_OK(CTL_BALLOON_GET, "");

	EXPECT_400(CTL_PAUSE, "{\"now\": true}", "unknown field 'now': PUT /vm/pause takes no fields");
	EXPECT_400(CTL_STATUS, "{}", "GET /vm takes no request body");
	EXPECT_400(CTL_MIGRATE_GET, " ", "takes no request body");
	EXPECT_400(CTL_RESET, "null", "must be a JSON object, not null");
	EXPECT_400(CTL_RESET, "[]", "must be a JSON object, not an array");
	EXPECT_400(CTL_RESET, "\"reset\"", "not a string");
	EXPECT_400(CTL_RESET, "42", "not an integer");
}

static void test_malformed(void **state)
{
	struct ctl_request req;
	char err[256], deep[256], big[API_BODY_MAX + 2];

	(void)state;
	EXPECT_400(CTL_PAUSE, "{", "ends in the middle");
	EXPECT_400(CTL_PAUSE, "{\"a\":", "ends in the middle");
	EXPECT_400(CTL_PAUSE, "{\"a\" 1}", "malformed JSON at byte");
	EXPECT_400(CTL_PAUSE, "{} {}", "malformed JSON at byte 3");
	EXPECT_400(CTL_PAUSE, "{}\n\n[", "malformed JSON at byte");
	EXPECT_400(CTL_PAUSE, "{},", "malformed JSON");
	EXPECT_400(CTL_PAUSE, "{\"a\":1,}", "malformed JSON");
	EXPECT_400(CTL_PAUSE, "pause", "malformed JSON");
	EXPECT_400(CTL_BALLOON_SET, "{\"target_bytes\": 01}", "malformed JSON");
	EXPECT_400(CTL_SNAPSHOT, "{\"dir\": \"/\xff\"}", "malformed JSON");

	/* A NUL byte in the body (a length, not a C string). */
	memset(&req, 0, sizeof(req));
	assert_int_equal(api_parse_body(CTL_PAUSE, "{}\0", 3, &req, err, sizeof(err)), 400);
	assert_non_null(strstr(err, "NUL"));

	/* Nesting: API_JSON_DEPTH levels at most. */
	memset(deep, 0, sizeof(deep));
	for (int i = 0; i < 40; i++) {
		deep[i] = '[';
		deep[79 - i] = ']';
	}
	EXPECT_400(CTL_PAUSE, deep, "nested too deeply");
	EXPECT_400(CTL_PAUSE, "{\"a\": {\"b\": {}}}", "unknown field 'a'");

	/* The cap. */
	memset(big, ' ', sizeof(big));
	big[0] = '{';
	big[API_BODY_MAX - 1] = '}';
	memset(&req, 0, sizeof(req));
	assert_int_equal(api_parse_body(CTL_PAUSE, big, API_BODY_MAX, &req, err, sizeof(err)), 0);
	assert_int_equal(api_parse_body(CTL_PAUSE, big, API_BODY_MAX + 1, &req, err, sizeof(err)),
			 400);
	assert_non_null(strstr(err, "larger than 65536"));
}

static void test_balloon(void **state)
{
	struct ctl_request req;
	char err[256];

	(void)state;
	assert_int_equal(parse(CTL_BALLOON_SET, "{\"target_bytes\": 1073741824}", &req, err,
			       sizeof(err)), 0);
	assert_int_equal(req.args.balloon.target_bytes, 1ULL << 30);
	assert_int_equal(parse(CTL_BALLOON_SET, "{\"target_bytes\": 0}", &req, err, sizeof(err)), 0);
	assert_int_equal(req.args.balloon.target_bytes, 0);
	/* The largest multiple of 4096 below 2^64. */
	assert_int_equal(parse(CTL_BALLOON_SET, "{\"target_bytes\": 18446744073709547520}", &req,
			       err, sizeof(err)), 0);
	assert_true(req.args.balloon.target_bytes == 18446744073709547520ULL);

	EXPECT_400(CTL_BALLOON_SET, "", "the request body is empty: PUT /vm/balloon takes");
	EXPECT_400(CTL_BALLOON_SET, "{}", "missing field 'target_bytes'");
	EXPECT_400(CTL_BALLOON_SET, "{\"target_bytes\": \"1G\"}", "must be an integer, not a string");
	EXPECT_400(CTL_BALLOON_SET, "{\"target_bytes\": 4096.0}", "not a fractional number");
	EXPECT_400(CTL_BALLOON_SET, "{\"target_bytes\": 1e9}", "not a fractional number");
	EXPECT_400(CTL_BALLOON_SET, "{\"target_bytes\": true}", "not a boolean");
	EXPECT_400(CTL_BALLOON_SET, "{\"target_bytes\": null}", "not null");
	EXPECT_400(CTL_BALLOON_SET, "{\"target_bytes\": {}}", "not an object");
	EXPECT_400(CTL_BALLOON_SET, "{\"target_bytes\": -1}", "at least 0");
	EXPECT_400(CTL_BALLOON_SET, "{\"target_bytes\": -99999999999999999999}", "at least 0");
	EXPECT_400(CTL_BALLOON_SET, "{\"target_bytes\": 18446744073709551615}", "too large");
	EXPECT_400(CTL_BALLOON_SET, "{\"target_bytes\": 99999999999999999999999}", "too large");
	EXPECT_400(CTL_BALLOON_SET, "{\"target_bytes\": 4097}", "multiple of 4096");
	EXPECT_400(CTL_BALLOON_SET, "{\"target_bytes\": 4096, \"now\": 1}", "unknown field 'now'");
	EXPECT_400(CTL_BALLOON_SET, "{\"Target_bytes\": 4096}", "unknown field 'Target_bytes'");
}

static void test_snapshot(void **state)
{
	struct ctl_request req;
	char err[256], *body;
	size_t n;

	(void)state;
	assert_int_equal(parse(CTL_SNAPSHOT, "{\"dir\": \"/var/lib/kite/snap 1\"}", &req, err,
			       sizeof(err)), 0);
	assert_string_equal(req.args.snapshot.dir, "/var/lib/kite/snap 1");
	assert_int_equal(parse(CTL_SNAPSHOT, "{\"dir\": \"\\/tmp\\/\\u00e9\"}", &req, err,
			       sizeof(err)), 0);
	assert_string_equal(req.args.snapshot.dir, "/tmp/\xc3\xa9");

	EXPECT_400(CTL_SNAPSHOT, "{}", "missing field 'dir'");
	EXPECT_400(CTL_SNAPSHOT, "{\"dir\": \"\"}", "must not be empty");
	EXPECT_400(CTL_SNAPSHOT, "{\"dir\": \"snap\"}", "absolute path");
	EXPECT_400(CTL_SNAPSHOT, "{\"dir\": \"/a\\u0000b\"}", "contains a NUL");
	EXPECT_400(CTL_SNAPSHOT, "{\"dir\": 5}", "must be a string, not an integer");
	EXPECT_400(CTL_SNAPSHOT, "{\"dir\": [\"/a\"]}", "must be a string, not an array");

	/* PATH_MAX - 1 bytes is the longest. */
	n = PATH_MAX + 32;
	body = malloc(n);
	assert_non_null(body);
	if (!body)
		return;
	snprintf(body, n, "{\"dir\": \"/%0*d\"}", PATH_MAX - 2, 0);
	assert_int_equal(parse(CTL_SNAPSHOT, body, &req, err, sizeof(err)), 0);
	assert_int_equal(strlen(req.args.snapshot.dir), PATH_MAX - 1);
	snprintf(body, n, "{\"dir\": \"/%0*d\"}", PATH_MAX - 1, 0);
	assert_int_equal(parse(CTL_SNAPSHOT, body, &req, err, sizeof(err)), 400);
	assert_non_null(strstr(err, "too long"));
	free(body);
}

static void test_migrate(void **state)
{
	struct ctl_request req;
	char err[256];

	(void)state;
	assert_int_equal(parse(CTL_MIGRATE, "{\"uri\": \"tcp:dest.example.com:4444\"}", &req, err,
			       sizeof(err)), 0);
	assert_int_equal(req.args.migrate.transport, CTL_MIGRATE_TCP);
	assert_string_equal(req.args.migrate.host, "dest.example.com");
	assert_int_equal(req.args.migrate.port, 4444);
	assert_int_equal(req.args.migrate.max_downtime_ms, API_MIGRATE_DOWNTIME_DEFAULT_MS);
	assert_string_equal(req.args.migrate.uri, "tcp:dest.example.com:4444");

	assert_int_equal(parse(CTL_MIGRATE, "{\"max_downtime_ms\": 50, \"uri\": \"tcp:[fe80::1]:1\"}",
			       &req, err, sizeof(err)), 0);
	assert_string_equal(req.args.migrate.host, "fe80::1");
	assert_int_equal(req.args.migrate.port, 1);
	assert_int_equal(req.args.migrate.max_downtime_ms, 50);

	assert_int_equal(parse(CTL_MIGRATE, "{\"uri\": \"tcp:10.0.0.2:65535\"}", &req, err,
			       sizeof(err)), 0);
	assert_string_equal(req.args.migrate.host, "10.0.0.2");
	assert_int_equal(req.args.migrate.port, 65535);

	assert_int_equal(parse(CTL_MIGRATE, "{\"uri\": \"unix:/run/kite/mig.sock\"}", &req, err,
			       sizeof(err)), 0);
	assert_int_equal(req.args.migrate.transport, CTL_MIGRATE_UNIX);
	assert_string_equal(req.args.migrate.path, "/run/kite/mig.sock");

	EXPECT_400(CTL_MIGRATE, "{}", "missing field 'uri'");
	EXPECT_400(CTL_MIGRATE, "{\"uri\": \"\"}", "must not be empty");
	EXPECT_400(CTL_MIGRATE, "{\"uri\": \"ssh:host:22\"}", "'tcp:HOST:PORT' or 'unix:/PATH'");
	EXPECT_400(CTL_MIGRATE, "{\"uri\": \"TCP:host:22\"}", "'tcp:HOST:PORT'");
	EXPECT_400(CTL_MIGRATE, "{\"uri\": \"tcp:host\"}", "no port");
	EXPECT_400(CTL_MIGRATE, "{\"uri\": \"tcp::80\"}", "host");
	EXPECT_400(CTL_MIGRATE, "{\"uri\": \"tcp:host:\"}", "port");
	EXPECT_400(CTL_MIGRATE, "{\"uri\": \"tcp:host:0\"}", "port");
	EXPECT_400(CTL_MIGRATE, "{\"uri\": \"tcp:host:65536\"}", "port");
	EXPECT_400(CTL_MIGRATE, "{\"uri\": \"tcp:host:000080\"}", "port");
	EXPECT_400(CTL_MIGRATE, "{\"uri\": \"tcp:host:+80\"}", "port");
	EXPECT_400(CTL_MIGRATE, "{\"uri\": \"tcp:host:80 \"}", "port");
	EXPECT_400(CTL_MIGRATE, "{\"uri\": \"tcp:ho_st:80\"}", "host");
	EXPECT_400(CTL_MIGRATE, "{\"uri\": \"tcp:-host:80\"}", "host");
	EXPECT_400(CTL_MIGRATE, "{\"uri\": \"tcp:host-:80\"}", "host");
	EXPECT_400(CTL_MIGRATE, "{\"uri\": \"tcp:a..b:80\"}", "host");
	EXPECT_400(CTL_MIGRATE, "{\"uri\": \"tcp:::1:80\"}", "tcp:[ADDR]:PORT");
	EXPECT_400(CTL_MIGRATE, "{\"uri\": \"tcp:[::1:80\"}", "tcp:[ADDR]:PORT");
	EXPECT_400(CTL_MIGRATE, "{\"uri\": \"tcp:[::1]80\"}", "tcp:[ADDR]:PORT");
	EXPECT_400(CTL_MIGRATE, "{\"uri\": \"tcp:[host]:80\"}", "IPv6");
	EXPECT_400(CTL_MIGRATE, "{\"uri\": \"unix:\"}", "absolute");
	EXPECT_400(CTL_MIGRATE, "{\"uri\": \"unix:rel/sock\"}", "absolute");
	EXPECT_400(CTL_MIGRATE, "{\"uri\": \"unix:/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		   "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}", "at most 107 bytes");
	EXPECT_400(CTL_MIGRATE, "{\"uri\": \"tcp:h:1\", \"max_downtime_ms\": 0}", "at least 1");
	EXPECT_400(CTL_MIGRATE, "{\"uri\": \"tcp:h:1\", \"max_downtime_ms\": 60001}", "at most 60000");
	EXPECT_400(CTL_MIGRATE, "{\"uri\": \"tcp:h:1\", \"max_downtime_ms\": \"5\"}", "integer");
	EXPECT_400(CTL_MIGRATE, "{\"uri\": 1}", "must be a string");
}

static void test_printable(void **state)
{
	char buf[16];

	(void)state;
	assert_string_equal(api_printable("abc", buf, sizeof(buf)), "abc");
	assert_string_equal(api_printable("a\nb'c\x01", buf, sizeof(buf)), "a?b?c?");
	assert_string_equal(api_printable("0123456789abcdefghij", buf, sizeof(buf)),
			    "0123456789ab...");
	EXPECT_400(CTL_PAUSE, "{\"a\\nb\": 1}", "unknown field 'a?b'");
}

/* ---- The control queue ---- */

struct vmm {
	struct ctl_queue q;
	pthread_t thread;
	int stop_pipe[2];
	unsigned int handled;
	unsigned int delay_ms;          /* a slow (wedged) VMM thread */
};

static void handle(void *opaque, struct ctl_request *req)
{
	struct vmm *v = opaque;

	if (v->delay_ms)
		usleep(v->delay_ms * 1000);
	v->handled++;
	if (req->op == CTL_PAUSE) {
		ctl_fail(req, 409, "the VM is already %s", "paused");
		return;
	}
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "op", json_object_new_string(ctl_op_name(req->op)));
	ctl_reply(req, 200, o);
}

static void on_stop(void *opaque, uint32_t events)
{
	(void)events;
	evloop_stop(opaque);
}

/* A VMM thread: an event loop answering the queue until stop_pipe is written. */
static void *vmm_thread(void *opaque)
{
	struct vmm *v = opaque;
	struct evloop ev;

	assert_int_equal(evloop_init(&ev), 0);
	assert_int_equal(evloop_add(&ev, v->stop_pipe[0], EPOLLIN, on_stop, &ev), 0);
	assert_int_equal(ctl_attach(&v->q, &ev, handle, v), 0);
	evloop_run(&ev);
	ctl_detach(&v->q);
	evloop_destroy(&ev);
	return NULL;
}

static void vmm_start(struct vmm *v, unsigned int timeout_ms)
{
	memset(v, 0, sizeof(*v));
	assert_int_equal(ctl_init(&v->q, timeout_ms), 0);
	assert_int_equal(pipe(v->stop_pipe), 0);
	assert_int_equal(pthread_create(&v->thread, NULL, vmm_thread, v), 0);
}

static void vmm_stop(struct vmm *v)
{
	assert_int_equal(write(v->stop_pipe[1], "x", 1), 1);
	pthread_join(v->thread, NULL);
	ctl_destroy(&v->q);
	close(v->stop_pipe[0]);
	close(v->stop_pipe[1]);
}

static void test_queue_call(void **state)
{
	struct vmm v;

	(void)state;
	vmm_start(&v, 5000);
	for (int i = 0; i < 100; i++) {
		struct ctl_request *req = ctl_request_new(i % 2 ? CTL_STATUS : CTL_PAUSE);

		assert_non_null(req);
		assert_int_equal(ctl_call(&v.q, req), 0);
		if (i % 2) {
			assert_int_equal(req->http_status, 200);
			assert_string_equal(json_object_get_string(json_object_object_get(req->reply, "op")),
					    "status");
		} else {
			assert_int_equal(req->http_status, 409);
			assert_string_equal(req->error, "the VM is already paused");
			assert_null(req->reply);
		}
		/* A request is submitted once. */
		assert_int_equal(ctl_call(&v.q, req), -ESHUTDOWN);
		ctl_request_put(req);
	}
	assert_int_equal(v.handled, 100);
	vmm_stop(&v);
}

struct caller {
	struct ctl_queue *q;
	int ok;
};

static void *caller_thread(void *opaque)
{
	struct caller *c = opaque;

	for (int i = 0; i < 50; i++) {
		struct ctl_request *req = ctl_request_new(CTL_STATUS);

		if (req && ctl_call(c->q, req) == 0 && req->http_status == 200)
			c->ok++;
		ctl_request_put(req);
	}
	return NULL;
}

static void test_queue_concurrent(void **state)
{
	struct caller c[4];
	pthread_t t[4];
	struct vmm v;

	(void)state;
	vmm_start(&v, 5000);
	for (int i = 0; i < 4; i++) {
		c[i] = (struct caller){ &v.q, 0 };
		assert_int_equal(pthread_create(&t[i], NULL, caller_thread, &c[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(c[i].ok, 50);
	}
	vmm_stop(&v);
}

/* A wedged VMM thread: 503 after the timeout, not a hang; the late answer is dropped. */
static void test_queue_timeout(void **state)
{
	struct ctl_request *a, *b;
	struct vmm v;

	(void)state;
	vmm_start(&v, 50);
	v.delay_ms = 300;
	a = ctl_request_new(CTL_STATUS);
	b = ctl_request_new(CTL_STATUS);
	assert_int_equal(ctl_call(&v.q, a), -ETIMEDOUT);     /* running, too slowly */
	assert_int_equal(ctl_call(&v.q, b), -ETIMEDOUT);     /* queued behind it: cancelled */
	ctl_request_put(a);                                  /* the VMM thread still holds a */
	ctl_request_put(b);
	usleep(500 * 1000);
	assert_int_equal(v.handled, 1);                      /* b never ran */
	/* A per-request timeout. */
	a = ctl_request_new(CTL_STATUS);
	a->timeout_ms = 2000;
	assert_int_equal(ctl_call(&v.q, a), 0);
	assert_int_equal(a->http_status, 200);
	ctl_request_put(a);
	vmm_stop(&v);
}

/* No VMM thread attached (between two VMs), then the queue closes: 503. */
static void *close_later(void *opaque)
{
	usleep(100 * 1000);
	ctl_close(opaque);
	return NULL;
}

static void test_queue_close(void **state)
{
	struct ctl_queue q;
	struct ctl_request *req;
	pthread_t t;

	(void)state;
	assert_int_equal(ctl_init(&q, 5000), 0);
	req = ctl_request_new(CTL_PAUSE);
	assert_int_equal(pthread_create(&t, NULL, close_later, &q), 0);
	assert_int_equal(ctl_call(&q, req), 0);
	assert_int_equal(req->http_status, 503);
	assert_string_equal(req->error, "the VM has stopped");
	pthread_join(t, NULL);
	ctl_request_put(req);
	req = ctl_request_new(CTL_PAUSE);
	assert_int_equal(ctl_call(&q, req), -ESHUTDOWN);
	ctl_request_put(req);
	ctl_destroy(&q);
}

/* Requests queued while no VM is attached are answered by the next one. */
struct pending {
	struct ctl_queue *q;
	struct ctl_request *req;
	int ret;
};

static void *call_one(void *opaque)
{
	struct pending *p = opaque;

	p->ret = ctl_call(p->q, p->req);
	return NULL;
}

static void test_queue_reattach(void **state)
{
	struct ctl_queue q;
	struct pending p = { &q, ctl_request_new(CTL_STATUS), -1 };
	struct evloop ev;
	struct vmm v = { 0 };
	pthread_t t;

	(void)state;
	assert_int_equal(ctl_init(&q, 5000), 0);
	assert_int_equal(pthread_create(&t, NULL, call_one, &p), 0);
	usleep(100 * 1000);                      /* queued, nobody answers */
	assert_int_equal(v.handled, 0);
	assert_int_equal(evloop_init(&ev), 0);
	assert_int_equal(ctl_attach(&q, &ev, handle, &v), 0);
	ctl_dispatch(&q);                        /* what the loop does: the eventfd is readable */
	pthread_join(t, NULL);
	assert_int_equal(p.ret, 0);
	assert_int_equal(p.req->http_status, 200);
	assert_int_equal(v.handled, 1);
	ctl_detach(&q);
	evloop_destroy(&ev);
	ctl_request_put(p.req);
	ctl_destroy(&q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_route),
		cmocka_unit_test(test_no_argument_ops),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_balloon),
		cmocka_unit_test(test_snapshot),
		cmocka_unit_test(test_migrate),
		cmocka_unit_test(test_printable),
		cmocka_unit_test(test_queue_call),
		cmocka_unit_test(test_queue_concurrent),
		cmocka_unit_test(test_queue_timeout),
		cmocka_unit_test(test_queue_close),
		cmocka_unit_test(test_queue_reattach),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
