// SPDX-License-Identifier: GPL-2.0-only
/* The control API's HTTP server: libmicrohttpd on a unix socket, threads of its own. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <json-c/json.h>
#include <microhttpd.h>

#include "api/api.h"
#include "api/mhd.h"
#include "api/request.h"
#include "control.h"
#include "log.h"

#define API_MAX_CONNECTIONS 16
#define API_IDLE_TIMEOUT_S 30
#define API_DISCARD_MAX (16u << 20)     /* read and dropped of an oversized body */

struct api {
	struct ctl_queue ctl;
	struct mhd_lib lib;             /* libmicrohttpd, loaded by api_start() */
	struct MHD_Daemon *mhd;
	char *path;
	dev_t dev;                      /* the socket we bound, removed at exit only if */
	ino_t ino;                      /* it is still ours */
};

/* One HTTP request in progress. */
struct api_conn {
	enum ctl_op op;
	char *body;
	size_t len;
	bool too_big;
};

static enum MHD_Result send_json(struct api *api, struct MHD_Connection *c,
				 unsigned int status, struct json_object *obj, const char *allow)
{
	const char *s = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN |
							   JSON_C_TO_STRING_NOSLASHESCAPE);
	size_t n = strlen(s);
	struct MHD_Response *r;
	enum MHD_Result ret;
	char *buf = malloc(n + 2);

	if (!buf)
		return MHD_NO;
	memcpy(buf, s, n);
	buf[n] = '\n';
	buf[n + 1] = '\0';
	r = api->lib.create_response_from_buffer(n + 1, buf, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(buf);
		return MHD_NO;
	}
	api->lib.add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	if (allow)
		api->lib.add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
	ret = api->lib.queue_response(c, status, r);
	api->lib.destroy_response(r);
	return ret;
}

static enum MHD_Result send_error(struct api *api, struct MHD_Connection *c, unsigned int status,
				  const char *allow, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static enum MHD_Result send_error(struct api *api, struct MHD_Connection *c, unsigned int status,
				  const char *allow, const char *fmt, ...)
{
	struct json_object *o = json_object_new_object();
	enum MHD_Result ret;
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pr_debug("api: %u %s", status, msg);
	if (!o)
		return MHD_NO;
	json_object_object_add(o, "error", json_object_new_string(msg));
	ret = send_json(api, c, status, o, allow);
	json_object_put(o);
	return ret;
}

/* The whole request is here: check it, pass it to the VMM thread, answer. */
static enum MHD_Result api_answer(struct api *api, struct MHD_Connection *c, struct api_conn *ac)
{
	struct ctl_request *req;
	enum MHD_Result ret;
	char err[256];
	int status;

	if (ac->too_big)
		return send_error(api, c, 400, NULL, "the request body is larger than %d bytes",
				  API_BODY_MAX);
	req = ctl_request_new(ac->op);
	if (!req)
		return send_error(api, c, 500, NULL, "out of memory");
	status = api_parse_body(ac->op, ac->body ? ac->body : "", ac->len, req, err, sizeof(err));
	if (status) {
		ctl_request_put(req);
		return send_error(api, c, status, NULL, "%s", err);
	}
	if (ac->op == CTL_SNAPSHOT)
		req->timeout_ms = CTL_SNAPSHOT_TIMEOUT_MS;
	if (ac->op != CTL_STATUS)
		pr_info("api: %s %s", api_op_method(ac->op), api_op_path(ac->op));
	switch (ctl_call(&api->ctl, req)) {
	case 0:
		if (req->http_status >= 400 || !req->reply)
			ret = send_error(api, c, req->http_status, NULL, "%s", req->error);
		else
			ret = send_json(api, c, req->http_status, req->reply, NULL);
		break;
	case -ETIMEDOUT:
		ret = send_error(api, c, 503, NULL, "the VMM thread did not answer within %u ms",
				 req->timeout_ms ?: api->ctl.timeout_ms);
		break;
	default:
		ret = send_error(api, c, 503, NULL, "the VM has stopped");
		break;
	}
	ctl_request_put(req);
	return ret;
}

static enum MHD_Result api_access(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct api *api = cls;
	struct api_conn *ac = *con_cls;
	const char *allow = NULL, *cl, *expect;
	char shown[96], shown_method[32];

	(void)version;
	if (!ac) {
		/* The headers are in; the body (if any) is not read yet. */
		ac = calloc(1, sizeof(*ac));
		if (!ac)
			return MHD_NO;
		*con_cls = ac;
		switch (api_route(method, url, &ac->op, &allow)) {
		case 0:
			break;
		case 405:
			return send_error(api, c, 405, allow, "%s takes %s, not %s",
					  api_printable(url, shown, sizeof(shown)), allow,
					  api_printable(method, shown_method, sizeof(shown_method)));
		default:
			return send_error(api, c, 404, NULL, "no such path: %s",
					  api_printable(url, shown, sizeof(shown)));
		}
		/*
		 * A body over the cap: answer now if the client waits for
		 * "100 Continue" or would send more than we read and discard;
		 * otherwise read it (discarding) and answer at its end, so a
		 * client that writes its whole body first still gets the 400.
		 */
		cl = api->lib.lookup_connection_value(c, MHD_HEADER_KIND,
						      MHD_HTTP_HEADER_CONTENT_LENGTH);
		expect = api->lib.lookup_connection_value(c, MHD_HEADER_KIND,
							  MHD_HTTP_HEADER_EXPECT);
		if (cl && strtoull(cl, NULL, 10) > API_BODY_MAX &&
		    (expect || strtoull(cl, NULL, 10) > API_DISCARD_MAX))
			return send_error(api, c, 400, NULL, "the request body is larger than %d bytes",
					  API_BODY_MAX);
		return MHD_YES;
	}
	if (*upload_data_size) {
		size_t n = *upload_data_size;

		*upload_data_size = 0;
		if (ac->too_big || ac->len + n > API_BODY_MAX) {
			/*
			 * Over the cap: MHD cannot answer in the middle of a body,
			 * so read on, discarding, and answer 400 at its end; past
			 * API_DISCARD_MAX (a chunked body), hang up instead.
			 */
			if (!ac->too_big) {
				ac->too_big = true;
				free(ac->body);
				ac->body = NULL;
			}
			ac->len += n;
			return ac->len > API_DISCARD_MAX ? MHD_NO : MHD_YES;
		}
		char *b = realloc(ac->body, ac->len + n + 1);

		if (!b)
			return MHD_NO;
		memcpy(b + ac->len, upload_data, n);
		ac->len += n;
		b[ac->len] = '\0';
		ac->body = b;
		return MHD_YES;
	}
	return api_answer(api, c, ac);
}

static void api_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			  enum MHD_RequestTerminationCode toe)
{
	struct api_conn *ac = *con_cls;

	(void)cls; (void)c; (void)toe;
	if (ac) {
		free(ac->body);
		free(ac);
	}
	*con_cls = NULL;
}

static void api_log(void *cls, const char *fmt, va_list ap)
{
	char msg[256];
	size_t n;

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = '\0';
	pr_info("api: libmicrohttpd: %s", msg);
}

/* Is someone listening on the unix socket at path? */
static int socket_in_use(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), ret;

	if (fd < 0)
		return -errno;
	ret = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0 ? 1 :
	      errno == ECONNREFUSED ? 0 : errno == EAGAIN ? 1 : -errno;
	close(fd);
	return ret;
}

/* The listening socket, mode 0600; a stale socket file is replaced. */
static int api_listen(struct api *api, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	mode_t old;
	int fd, ret;

	if (!path[0] || strlen(path) >= sizeof(sa.sun_path)) {
		pr_err("--api-socket '%s': a unix socket path must have 1 to %zu bytes", path,
		       sizeof(sa.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, path, strlen(path));
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			pr_err("--api-socket '%s' exists and is not a socket: remove it or choose "
			       "another path", path);
			return -EEXIST;
		}
		ret = socket_in_use(&sa);
		if (ret) {
			if (ret > 0)
				pr_err("--api-socket '%s' is in use: another process listens on it",
				       path);
			else
				pr_err("--api-socket '%s': %s", path, strerror(-ret));
			return ret > 0 ? -EADDRINUSE : ret;
		}
		if (unlink(path) && errno != ENOENT) {
			ret = -errno;
			pr_err("--api-socket '%s': cannot remove the stale socket: %s", path,
			       strerror(-ret));
			return ret;
		}
		pr_info("api: replaced the stale socket %s", path);
	} else if (errno != ENOENT) {
		ret = -errno;
		pr_err("--api-socket '%s': %s", path, strerror(-ret));
		return ret;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		pr_err("cannot create the API socket: %s", strerror(errno));
		return -EIO;
	}
	/* Only the main thread runs yet, so the process-wide umask is ours. */
	old = umask(0177);
	ret = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ? -errno : 0;
	umask(old);
	if (!ret && chmod(path, 0600))
		ret = -errno;
	if (!ret && stat(path, &st))
		ret = -errno;
	if (!ret && listen(fd, API_MAX_CONNECTIONS))
		ret = -errno;
	if (ret) {
		pr_err("cannot create --api-socket '%s': %s", path, strerror(-ret));
		close(fd);
		return ret;
	}
	api->dev = st.st_dev;
	api->ino = st.st_ino;
	return fd;
}

static void api_unlink(struct api *api)
{
	struct stat st;

	if (api->path && lstat(api->path, &st) == 0 && st.st_dev == api->dev &&
	    st.st_ino == api->ino)
		unlink(api->path);
}

int api_start(struct api **out, const char *path)
{
	struct api *api = calloc(1, sizeof(*api));
	int fd, ret;

	*out = NULL;
	if (!api || !(api->path = strdup(path))) {
		free(api);
		pr_err("out of memory");
		return -EIO;
	}
	ret = ctl_init(&api->ctl, CTL_DEFAULT_TIMEOUT_MS);
	if (ret) {
		pr_err("cannot set up the API's control queue: %s", strerror(-ret));
		free(api->path);
		free(api);
		return -EIO;
	}
	ret = mhd_load(&api->lib);
	if (ret) {
		ctl_destroy(&api->ctl);
		free(api->path);
		free(api);
		return -EIO;
	}
	fd = api_listen(api, path);
	if (fd < 0) {
		mhd_unload(&api->lib);
		ctl_destroy(&api->ctl);
		free(api->path);
		free(api);
		return fd;
	}
	/*
	 * A thread per connection (16 at most) besides the listening thread:
	 * a request waiting for the VMM thread (a snapshot takes a while) does
	 * not hold up the other clients, each gets its own answer or 503.
	 */
	api->mhd = api->lib.start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
				    MHD_USE_POLL | MHD_USE_ERROR_LOG, 0,
				    NULL, NULL, api_access, api,
				    MHD_OPTION_EXTERNAL_LOGGER, api_log, api,
				    MHD_OPTION_LISTEN_SOCKET, fd,
				    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)API_MAX_CONNECTIONS,
				    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)API_IDLE_TIMEOUT_S,
				    MHD_OPTION_NOTIFY_COMPLETED, api_completed, api,
				    MHD_OPTION_END);
	if (!api->mhd) {
		pr_err("cannot start the API server on '%s' (libmicrohttpd failed; -v says why)",
		       path);
		close(fd);
		api_unlink(api);
		mhd_unload(&api->lib);
		ctl_destroy(&api->ctl);
		free(api->path);
		free(api);
		return -EIO;
	}
	pr_info("api: listening on %s", path);
	*out = api;
	return 0;
}

struct ctl_queue *api_ctl(struct api *api)
{
	return api ? &api->ctl : NULL;
}

void api_stop(struct api *api)
{
	if (!api)
		return;
	/* First: a request waiting for the VMM thread gets 503 now, so the
	 * server thread is free to stop. */
	ctl_close(&api->ctl);
	api->lib.stop_daemon(api->mhd);      /* joins its thread, closes the socket */
	mhd_unload(&api->lib);
	api_unlink(api);
	ctl_destroy(&api->ctl);
	free(api->path);
	free(api);
}
