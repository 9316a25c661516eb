// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target for the control API's request parsing and validation
 * (src/api/request.c): what any client on --api-socket can send.
 *
 * Input: byte 0 selects what is fuzzed, the rest is the client's bytes.
 *   byte 0 < 0xf0   api_parse_body(op = byte 0 % CTL_NR_OPS, rest): a request
 *                   body, exactly as long as the input (a heap copy, so ASan
 *                   sees any read past it; no terminating NUL)
 *   0xf0 - 0xf7     api_route(method, path): the rest split at the first '\n'
 *   0xf8 - 0xff     api_parse_migrate_uri(rest as a C string)
 * After each call the harness checks the answer: a known status, a non-empty
 * message for an error, and for a success the documented properties of the
 * arguments (absolute paths, port 1-65535, sizes in range, ...).
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_input.h"
#include "api/request.h"
#include "control.h"

static void check_err(const char *err, size_t len)
{
	CHECK(memchr(err, '\0', len) != NULL);
	CHECK(err[0] != '\0');
}

static void check_args(enum ctl_op op, const struct ctl_request *req)
{
	switch (op) {
	case CTL_BALLOON_SET:
		CHECK(req->args.balloon.target_bytes % API_BALLOON_PAGE == 0);
		break;
	case CTL_SNAPSHOT:
		CHECK(req->args.snapshot.dir[0] == '/');
		CHECK(strnlen(req->args.snapshot.dir, PATH_MAX) < PATH_MAX);
		break;
	case CTL_MIGRATE:
		CHECK(req->args.migrate.max_downtime_ms >= 1 &&
		      req->args.migrate.max_downtime_ms <= API_MIGRATE_DOWNTIME_MAX_MS);
		if (req->args.migrate.transport == CTL_MIGRATE_TCP) {
			CHECK(req->args.migrate.port >= 1);
			CHECK(req->args.migrate.host[0] != '\0');
			CHECK(!strncmp(req->args.migrate.uri, "tcp:", 4));
		} else {
			CHECK(req->args.migrate.transport == CTL_MIGRATE_UNIX);
			CHECK(req->args.migrate.path[0] == '/');
			CHECK(!strncmp(req->args.migrate.uri, "unix:", 5));
		}
		break;
	default:
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctl_request *req;
	char err[256];
	uint8_t sel;
	char *s;
	int ret;

	if (size < 1 || size > API_BODY_MAX + 2)
		return 0;
	sel = data[0];
	data++;
	size--;
	req = calloc(1, sizeof(*req));
	if (!req)
		return 0;
	memset(err, 0, sizeof(err));
	if (sel < 0xf0) {
		enum ctl_op op = (enum ctl_op)(sel % CTL_NR_OPS);
		char *body = malloc(size ? size : 1);

		if (!body) {
			free(req);
			return 0;
		}
		memcpy(body, data, size);
		ret = api_parse_body(op, body, size, req, err, sizeof(err));
		CHECK(ret == 0 || ret == 400 || ret == 500);
		if (ret)
			check_err(err, sizeof(err));
		else
			check_args(op, req);
		free(body);
	} else {
		s = malloc(size + 1);
		if (!s) {
			free(req);
			return 0;
		}
		memcpy(s, data, size);
		s[size] = '\0';
		if (sel < 0xf8) {
			char *nl = strchr(s, '\n');
			const char *allow = NULL;
			enum ctl_op op = CTL_NR_OPS;

			if (nl)
				*nl = '\0';
			ret = api_route(s, nl ? nl + 1 : "", &op, &allow);
			CHECK(ret == 0 || ret == 404 || ret == 405);
			if (ret == 0)
				CHECK((unsigned int)op < CTL_NR_OPS);
			if (ret == 405)
				CHECK(allow && allow[0]);
		} else {
			req->args.migrate.max_downtime_ms = 1;
			ret = api_parse_migrate_uri(s, req, err, sizeof(err));
			CHECK(ret == 0 || ret == 400);
			if (ret)
				check_err(err, sizeof(err));
			else
				check_args(CTL_MIGRATE, req);
		}
		free(s);
	}
	free(req);
	return 0;
}
