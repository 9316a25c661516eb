/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KITE_API_REQUEST_H
#define KITE_API_REQUEST_H

/*
 * The control API's requests, without HTTP: which (method, path) is which
 * operation, and each operation's JSON body, validated field by field into
 * a struct ctl_request.  Pure functions: unit-tested and fuzzed on strings.
 */
#include <stddef.h>

#include "control.h"

#define API_BODY_MAX (64 * 1024)        /* larger request bodies get 400 */
#define API_JSON_DEPTH 8                /* nesting deeper than this is refused */

/* Migration defaults and limits. */
#define API_MIGRATE_DOWNTIME_DEFAULT_MS 300
#define API_MIGRATE_DOWNTIME_MAX_MS 60000
/* The balloon works in 4 KiB pages. */
#define API_BALLOON_PAGE 4096

/*
 * Route a request.  0: *op is set.  404: no such path.  405: the path takes
 * other methods, listed in *allow ("GET", "PUT" or "GET, PUT").
 */
int api_route(const char *method, const char *path, enum ctl_op *op, const char **allow);

/*
 * Check a request body for op and fill req->args.  GET operations take no
 * body; PUT operations without arguments take none or "{}"; the others an
 * object with exactly their fields.  0, or 400 with the problem in err.
 */
int api_parse_body(enum ctl_op op, const char *body, size_t len, struct ctl_request *req,
		   char *err, size_t errlen);

/* Check a migration URI ("tcp:HOST:PORT" or "unix:/PATH") into req->args.migrate. */
int api_parse_migrate_uri(const char *uri, struct ctl_request *req, char *err, size_t errlen);

/*
 * A client-supplied string for a message: printable ASCII (others and '
 * become '?'), cut with "..." to fit len (at least 4).
 */
const char *api_printable(const char *s, char *buf, size_t len);

/* HTTP method and path of an operation (for messages and the docs). */
const char *api_op_method(enum ctl_op op);
const char *api_op_path(enum ctl_op op);

#endif
