/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KITE_CONSOLE_H
#define KITE_CONSOLE_H

#include <stdbool.h>
#include <termios.h>

#include <stddef.h>
#include <stdint.h>

#include "evloop.h"

/*
 * Where console input goes: the UART or a virtio-console.  rx() takes what
 * fits; when rx_space() was below 2 the port signals space_efd as it drains.
 */
struct console_port {
	size_t (*rx)(void *opaque, const uint8_t *buf, size_t len);
	size_t (*rx_space)(void *opaque);
	void (*set_space_efd)(void *opaque, int efd);
	void *opaque;
};

/*
 * The host side of the guest console: stdin feeds the port, with raw mode
 * on a terminal and an escape prefix (Ctrl-A) like QEMU's: Ctrl-A x quits,
 * Ctrl-A Ctrl-A sends Ctrl-A, Ctrl-A h prints help.
 */
struct console {
	int in_fd;
	bool raw;
	struct termios saved;
	bool escape;
	bool quit_requested;
	struct console_port port;
	bool attached;
	struct evloop *ev;
	int space_efd;
	void (*quit)(void *ctx);
	void *quit_ctx;
};

/* Put the terminal in raw mode (if in_fd is one); restored by console_restore(). */
void console_setup_terminal(struct console *c, int in_fd);
void console_restore(struct console *c);

/* Connect the console to a VM's input port and event loop. */
int console_attach(struct console *c, struct evloop *ev, struct console_port port,
		   void (*quit)(void *ctx), void *ctx);
void console_detach(struct console *c);

#endif
