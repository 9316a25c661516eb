/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KITE_API_MHD_H
#define KITE_API_MHD_H

#include <microhttpd.h>

/*
 * libmicrohttpd, loaded with dlopen() when an API server starts instead of
 * being linked into kite: it brings GnuTLS and eight more libraries whose
 * mapping, relocation and constructors cost every kite process ~1.5 ms
 * before main() (measured: `kite --version` 2.2 ms linked, 0.7 ms without),
 * and a VM started without --api-socket (a restore, a boot) never uses them.
 * The functions kite calls, typed from the library's own header.
 */
struct mhd_lib {
	void *handle;
	__typeof__(MHD_start_daemon) *start_daemon;
	__typeof__(MHD_stop_daemon) *stop_daemon;
	__typeof__(MHD_create_response_from_buffer) *create_response_from_buffer;
	__typeof__(MHD_add_response_header) *add_response_header;
	__typeof__(MHD_queue_response) *queue_response;
	__typeof__(MHD_destroy_response) *destroy_response;
	__typeof__(MHD_lookup_connection_value) *lookup_connection_value;
};

/* Load the library into *lib: 0, or -ENOENT with the reason logged once. */
int mhd_load(struct mhd_lib *lib);

void mhd_unload(struct mhd_lib *lib);

#endif
