/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KITE_CONSOLE_H
#define KITE_CONSOLE_H

#include <stdbool.h>
#include <termios.h>

#include "evloop.h"
#include "hw/serial.h"

/*
 * The host side of the guest console: stdin feeds the UART, with raw mode
 * on a terminal and an escape prefix (Ctrl-A) like QEMU's: Ctrl-A x quits,
 * Ctrl-A Ctrl-A sends Ctrl-A, Ctrl-A h prints help.
 */
struct console {
	int in_fd;
	bool raw;
	struct termios saved;
	bool escape;
	bool quit_requested;
	struct serial *serial;
	struct evloop *ev;
	int space_efd;
	void (*quit)(void *ctx);
	void *quit_ctx;
};

/* Put the terminal in raw mode (if in_fd is one); restored by console_restore(). */
void console_setup_terminal(struct console *c, int in_fd);
void console_restore(struct console *c);

/* Connect the console to a VM's UART and event loop. */
int console_attach(struct console *c, struct evloop *ev, struct serial *serial,
		   void (*quit)(void *ctx), void *ctx);
void console_detach(struct console *c);

#endif
