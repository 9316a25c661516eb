// SPDX-License-Identifier: GPL-2.0-only
/* Control API requests: routing and JSON body validation (no HTTP, no VM). */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "api/request.h"

enum field_type { F_UINT, F_STRING };

struct field {
	const char *name;
	enum field_type type;
	bool required;
	uint64_t min, max;      /* F_UINT, inclusive (max < UINT64_MAX: json-c clamps) */
	size_t max_len;         /* F_STRING: bytes */
};

#define MAX_FIELDS 4

struct body_spec {
	const char *example;    /* for messages */
	const struct field *fields;
	unsigned int nr;
	/* Semantic checks; vals[i] is fields[i]'s value or NULL if absent. */
	int (*fill)(struct ctl_request *req, struct json_object *const *vals, char *err,
		    size_t errlen);
};

static int fill_balloon(struct ctl_request *req, struct json_object *const *vals, char *err,
			size_t errlen)
{
	uint64_t v = json_object_get_uint64(vals[0]);

	if (v % API_BALLOON_PAGE) {
		snprintf(err, errlen, "field 'target_bytes' must be a multiple of %d (the balloon's "
			 "page size), not %llu", API_BALLOON_PAGE, (unsigned long long)v);
		return 400;
	}
	req->args.balloon.target_bytes = v;
	return 0;
}

static int fill_snapshot(struct ctl_request *req, struct json_object *const *vals, char *err,
			 size_t errlen)
{
	const char *dir = json_object_get_string(vals[0]);

	if (dir[0] != '/') {
		snprintf(err, errlen, "field 'dir' must be an absolute path (starting with '/')");
		return 400;
	}
	snprintf(req->args.snapshot.dir, sizeof(req->args.snapshot.dir), "%s", dir);
	return 0;
}

static int fill_migrate(struct ctl_request *req, struct json_object *const *vals, char *err,
			size_t errlen)
{
	int ret = api_parse_migrate_uri(json_object_get_string(vals[0]), req, err, errlen);

	if (ret)
		return ret;
	req->args.migrate.max_downtime_ms = vals[1] ? (uint32_t)json_object_get_uint64(vals[1]) :
						      API_MIGRATE_DOWNTIME_DEFAULT_MS;
	return 0;
}

static const struct field balloon_fields[] = {
	{ "target_bytes", F_UINT, true, 0, UINT64_MAX - 1, 0 },
};
static const struct body_spec balloon_body = {
	"{\"target_bytes\": N}", balloon_fields, 1, fill_balloon,
};

static const struct field snapshot_fields[] = {
	{ "dir", F_STRING, true, 0, 0, PATH_MAX - 1 },
};
static const struct body_spec snapshot_body = {
	"{\"dir\": \"/path\"}", snapshot_fields, 1, fill_snapshot,
};

static const struct field migrate_fields[] = {
	{ "uri", F_STRING, true, 0, 0, CTL_URI_MAX - 1 },
	{ "max_downtime_ms", F_UINT, false, 1, API_MIGRATE_DOWNTIME_MAX_MS, 0 },
};
static const struct body_spec migrate_body = {
	"{\"uri\": \"tcp:HOST:PORT\" or \"unix:/PATH\", \"max_downtime_ms\": N}",
	migrate_fields, 2, fill_migrate,
};

static const struct route {
	const char *method;
	const char *path;
	enum ctl_op op;
	const struct body_spec *body;   /* NULL: no arguments */
} routes[] = {
	{ "GET", "/vm", CTL_STATUS, NULL },
	{ "PUT", "/vm/pause", CTL_PAUSE, NULL },
	{ "PUT", "/vm/resume", CTL_RESUME, NULL },
	{ "PUT", "/vm/shutdown", CTL_SHUTDOWN, NULL },
	{ "PUT", "/vm/reset", CTL_RESET, NULL },
	{ "PUT", "/vm/balloon", CTL_BALLOON_SET, &balloon_body },
	{ "GET", "/vm/balloon", CTL_BALLOON_GET, NULL },
	{ "PUT", "/vm/snapshot", CTL_SNAPSHOT, &snapshot_body },
	{ "PUT", "/vm/migrate", CTL_MIGRATE, &migrate_body },
	{ "GET", "/vm/migrate", CTL_MIGRATE_GET, NULL },
	{ "PUT", "/vm/migrate/cancel", CTL_MIGRATE_CANCEL, NULL },
};

static const struct route *op_route(enum ctl_op op)
{
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if (routes[i].op == op)
			return &routes[i];
	return NULL;
}

const char *api_op_method(enum ctl_op op)
{
	const struct route *r = op_route(op);

	return r ? r->method : "?";
}

const char *api_op_path(enum ctl_op op)
{
	const struct route *r = op_route(op);

	return r ? r->path : "?";
}

int api_route(const char *method, const char *path, enum ctl_op *op, const char **allow)
{
	bool get = false, put = false;

	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (strcmp(routes[i].path, path))
			continue;
		if (!strcmp(routes[i].method, method)) {
			*op = routes[i].op;
			return 0;
		}
		get |= !strcmp(routes[i].method, "GET");
		put |= !strcmp(routes[i].method, "PUT");
	}
	if (!get && !put)
		return 404;
	*allow = get && put ? "GET, PUT" : get ? "GET" : "PUT";
	return 405;
}

const char *api_printable(const char *s, char *buf, size_t len)
{
	size_t i;

	for (i = 0; s[i] && i + 4 < len; i++)
		buf[i] = isprint((unsigned char)s[i]) && s[i] != '\'' ? s[i] : '?';
	if (s[i] && i + 4 <= len) {
		memcpy(buf + i, "...", 3);
		i += 3;
	}
	buf[i] = '\0';
	return buf;
}

static bool all_blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
			return false;
	return true;
}

static const char *field_list(const struct body_spec *spec, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (unsigned int i = 0; spec && i < spec->nr && off < len; i++)
		off += snprintf(buf + off, len - off, "%s%s", i ? ", " : "", spec->fields[i].name);
	return spec ? buf : "no fields";
}

static const char *type_name(struct json_object *v)
{
	switch (json_object_get_type(v)) {
	case json_type_null: return "null";
	case json_type_boolean: return "a boolean";
	case json_type_double: return "a fractional number";
	case json_type_int: return "an integer";
	case json_type_object: return "an object";
	case json_type_array: return "an array";
	case json_type_string: return "a string";
	}
	return "something else";
}

static int check_field(const struct field *f, struct json_object *v, char *err, size_t errlen)
{
	if (f->type == F_UINT) {
		uint64_t u;

		if (json_object_get_type(v) != json_type_int) {
			snprintf(err, errlen, "field '%s' must be an integer, not %s", f->name,
				 type_name(v));
			return 400;
		}
		u = json_object_get_uint64(v);
		if (json_object_get_int64(v) < 0 || u < f->min) {
			snprintf(err, errlen, "field '%s' must be at least %llu", f->name,
				 (unsigned long long)f->min);
			return 400;
		}
		if (u > f->max) {
			snprintf(err, errlen, "field '%s' is too large: at most %llu", f->name,
				 (unsigned long long)f->max);
			return 400;
		}
		return 0;
	}
	if (json_object_get_type(v) != json_type_string) {
		snprintf(err, errlen, "field '%s' must be a string, not %s", f->name, type_name(v));
		return 400;
	}
	size_t n = (size_t)json_object_get_string_len(v);

	if (n == 0) {
		snprintf(err, errlen, "field '%s' must not be empty", f->name);
		return 400;
	}
	if (strlen(json_object_get_string(v)) != n) {
		snprintf(err, errlen, "field '%s' contains a NUL character", f->name);
		return 400;
	}
	if (n > f->max_len) {
		snprintf(err, errlen, "field '%s' is too long: at most %zu bytes", f->name,
			 f->max_len);
		return 400;
	}
	return 0;
}

static int parse_object(const struct route *r, struct json_object *obj, struct ctl_request *req,
			char *err, size_t errlen)
{
	const struct body_spec *spec = r->body;
	struct json_object *vals[MAX_FIELDS] = { NULL };
	char name[48], list[128];
	int ret;

	json_object_object_foreach(obj, key, val) {
		unsigned int i;

		for (i = 0; spec && i < spec->nr; i++)
			if (!strcmp(spec->fields[i].name, key))
				break;
		if (!spec || i == spec->nr) {
			snprintf(err, errlen, "unknown field '%s': %s %s takes %s",
				 api_printable(key, name, sizeof(name)), r->method, r->path,
				 field_list(spec, list, sizeof(list)));
			return 400;
		}
		ret = check_field(&spec->fields[i], val, err, errlen);
		if (ret)
			return ret;
		vals[i] = val;
	}
	for (unsigned int i = 0; spec && i < spec->nr; i++) {
		if (spec->fields[i].required && !vals[i]) {
			snprintf(err, errlen, "missing field '%s': %s %s takes %s",
				 spec->fields[i].name, r->method, r->path, spec->example);
			return 400;
		}
	}
	return spec ? spec->fill(req, vals, err, errlen) : 0;
}

int api_parse_body(enum ctl_op op, const char *body, size_t len, struct ctl_request *req,
		   char *err, size_t errlen)
{
	const struct route *r = op_route(op);
	struct json_tokener *tok;
	struct json_object *obj;
	enum json_tokener_error jerr;
	size_t end;
	int ret;

	if (!r) {
		snprintf(err, errlen, "unknown operation");
		return 400;
	}
	if (len > API_BODY_MAX) {
		snprintf(err, errlen, "the request body is larger than %d bytes", API_BODY_MAX);
		return 400;
	}
	if (!strcmp(r->method, "GET")) {
		if (len) {
			snprintf(err, errlen, "GET %s takes no request body", r->path);
			return 400;
		}
		return 0;
	}
	if (all_blank(body, len)) {
		if (!r->body)
			return 0;
		snprintf(err, errlen, "the request body is empty: %s %s takes %s", r->method,
			 r->path, r->body->example);
		return 400;
	}
	if (memchr(body, '\0', len)) {
		snprintf(err, errlen, "malformed JSON: the body contains a NUL byte");
		return 400;
	}
	tok = json_tokener_new_ex(API_JSON_DEPTH);
	if (!tok) {
		snprintf(err, errlen, "out of memory");
		return 500;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, body, (int)len);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	if (jerr == json_tokener_continue) {
		/* The end of the body ends a top-level literal ("null", "42"). */
		obj = json_tokener_parse_ex(tok, "", 1);
		jerr = json_tokener_get_error(tok);
		if (jerr == json_tokener_success)
			end = len;
		else
			jerr = json_tokener_continue;
	}
	json_tokener_free(tok);
	if (jerr == json_tokener_continue) {
		snprintf(err, errlen, "malformed JSON: the body ends in the middle of a value");
		ret = 400;
	} else if (jerr != json_tokener_success) {
		snprintf(err, errlen, "malformed JSON at byte %zu: %s", end,
			 jerr == json_tokener_error_depth ? "nested too deeply" :
			 json_tokener_error_desc(jerr));
		ret = 400;
	} else if (!all_blank(body + end, len - end)) {
		snprintf(err, errlen, "malformed JSON at byte %zu: more after the object", end);
		ret = 400;
	} else if (json_object_get_type(obj) != json_type_object) {
		snprintf(err, errlen, "the request body must be a JSON object, not %s",
			 type_name(obj));
		ret = 400;
	} else {
		ret = parse_object(r, obj, req, err, errlen);
	}
	json_object_put(obj);
	return ret;
}

/* A DNS name or dotted IPv4 address: labels of letters, digits and '-'. */
static bool valid_hostname(const char *h, size_t n)
{
	size_t label = 0;

	if (n == 0 || n > 253)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = h[i];

		if (c == '.') {
			if (label == 0 || h[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)c) && c != '-')
			return false;
		if (c == '-' && label == 0)
			return false;
		if (++label > 63)
			return false;
	}
	return label > 0 && h[n - 1] != '-';
}

static bool parse_port(const char *s, uint16_t *port)
{
	unsigned long v = 0;
	size_t i;

	for (i = 0; s[i]; i++) {
		if (!isdigit((unsigned char)s[i]) || i >= 5)
			return false;
		v = v * 10 + (s[i] - '0');
	}
	if (i == 0 || v == 0 || v > 65535)
		return false;
	*port = (uint16_t)v;
	return true;
}

int api_parse_migrate_uri(const char *uri, struct ctl_request *req, char *err, size_t errlen)
{
	static const char usage[] = "'tcp:HOST:PORT' or 'unix:/PATH'";
	char host[256];

	if (!uri) {
		snprintf(err, errlen, "field 'uri' must be a string: %s", usage);
		return 400;
	}
	if (strlen(uri) >= sizeof(req->args.migrate.uri)) {
		snprintf(err, errlen, "field 'uri' is too long: at most %zu bytes",
			 sizeof(req->args.migrate.uri) - 1);
		return 400;
	}
	snprintf(req->args.migrate.uri, sizeof(req->args.migrate.uri), "%s", uri);
	if (!strncmp(uri, "unix:", 5)) {
		const char *path = uri + 5;

		if (path[0] != '/') {
			snprintf(err, errlen, "field 'uri': the path of a unix: URI must be absolute "
				 "(unix:/PATH)");
			return 400;
		}
		if (strlen(path) >= sizeof(req->args.migrate.path)) {
			snprintf(err, errlen, "field 'uri': a unix socket path is at most %zu bytes",
				 sizeof(req->args.migrate.path) - 1);
			return 400;
		}
		req->args.migrate.transport = CTL_MIGRATE_UNIX;
		snprintf(req->args.migrate.path, sizeof(req->args.migrate.path), "%s", path);
		return 0;
	}
	if (strncmp(uri, "tcp:", 4)) {
		snprintf(err, errlen, "field 'uri' must be %s", usage);
		return 400;
	}
	const char *hp = uri + 4, *colon;
	size_t hlen;
	bool ok;

	if (hp[0] == '[') {
		const char *close = strchr(hp, ']');
		struct in6_addr a6;

		if (!close || close[1] != ':') {
			snprintf(err, errlen, "field 'uri': an IPv6 address is written tcp:[ADDR]:PORT");
			return 400;
		}
		hlen = close - hp - 1;
		colon = close + 1;
		ok = hlen < sizeof(host);
		if (ok) {
			memcpy(host, hp + 1, hlen);
			host[hlen] = '\0';
			ok = inet_pton(AF_INET6, host, &a6) == 1;
		}
		if (!ok) {
			snprintf(err, errlen, "field 'uri': not an IPv6 address between [ and ]");
			return 400;
		}
	} else {
		colon = strrchr(hp, ':');
		if (!colon) {
			snprintf(err, errlen, "field 'uri': no port: it must be %s", usage);
			return 400;
		}
		hlen = colon - hp;
		if (memchr(hp, ':', hlen)) {
			snprintf(err, errlen, "field 'uri': an IPv6 address is written tcp:[ADDR]:PORT");
			return 400;
		}
		if (!valid_hostname(hp, hlen)) {
			snprintf(err, errlen, "field 'uri': the host must be a host name or an IP address");
			return 400;
		}
		memcpy(host, hp, hlen);
		host[hlen] = '\0';
	}
	if (!parse_port(colon + 1, &req->args.migrate.port)) {
		snprintf(err, errlen, "field 'uri': the port must be a number from 1 to 65535");
		return 400;
	}
	req->args.migrate.transport = CTL_MIGRATE_TCP;
	snprintf(req->args.migrate.host, sizeof(req->args.migrate.host), "%s", host);
	return 0;
}
