// SPDX-License-Identifier: GPL-2.0-only
/* libmicrohttpd loaded on demand (see mhd.h). */
#include <dlfcn.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "api/mhd.h"
#include "log.h"

/* The ABI kite is built against (Debian 12: libmicrohttpd12). */
#define MHD_SONAME "libmicrohttpd.so.12"

int mhd_load(struct mhd_lib *lib)
{
	static const struct { const char *name; size_t off; } fns[] = {
		{ "MHD_start_daemon", offsetof(struct mhd_lib, start_daemon) },
		{ "MHD_stop_daemon", offsetof(struct mhd_lib, stop_daemon) },
		{ "MHD_create_response_from_buffer", offsetof(struct mhd_lib, create_response_from_buffer) },
		{ "MHD_add_response_header", offsetof(struct mhd_lib, add_response_header) },
		{ "MHD_queue_response", offsetof(struct mhd_lib, queue_response) },
		{ "MHD_destroy_response", offsetof(struct mhd_lib, destroy_response) },
		{ "MHD_lookup_connection_value", offsetof(struct mhd_lib, lookup_connection_value) },
	};

	memset(lib, 0, sizeof(*lib));
	lib->handle = dlopen(MHD_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!lib->handle) {
		pr_err("the API needs libmicrohttpd (%s): %s; install it with "
		       "'apt-get install libmicrohttpd12'", MHD_SONAME, dlerror());
		return -ENOENT;
	}
	for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
		void *f = dlsym(lib->handle, fns[i].name);

		if (!f) {
			pr_err("%s has no %s: a libmicrohttpd too old for kite", MHD_SONAME, fns[i].name);
			mhd_unload(lib);
			return -ENOENT;
		}
		memcpy((char *)lib + fns[i].off, &f, sizeof(f));
	}
	return 0;
}

void mhd_unload(struct mhd_lib *lib)
{
	if (lib->handle)
		dlclose(lib->handle);
	memset(lib, 0, sizeof(*lib));
}
