/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KITE_API_API_H
#define KITE_API_API_H

/*
 * The per-VM control API: HTTP/1.1 + JSON on a unix socket (--api-socket),
 * served by libmicrohttpd on threads of its own (one listening, one per
 * connection, at most 16), never on a vCPU's path.  Each request is checked
 * (src/api/request.c), then handed to the VMM thread through the control
 * queue (src/control.c) and answered from there (src/vm_ctl.c).  The API
 * is described in docs/api.yaml.
 */
struct api;
struct ctl_queue;

/*
 * Create the socket at path (mode 0600; a stale socket there is replaced,
 * anything else is refused) and start serving.  Start it with the signals
 * the VMM thread reads through its signalfd blocked: the API threads
 * inherit the mask.  0, or -errno after one line on stderr: -EIO when
 * kite itself failed, anything else is a problem with the path.
 */
int api_start(struct api **out, const char *path);
/* The queue the VMM thread answers (vm_ctl_attach); NULL for a NULL api. */
struct ctl_queue *api_ctl(struct api *api);
/* Stop serving (requests in flight get 503), remove the socket, free; NULL is fine. */
void api_stop(struct api *api);

#endif
