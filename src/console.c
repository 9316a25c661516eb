// SPDX-License-Identifier: GPL-2.0-only
/* Console input: stdin -> UART, raw terminal mode, Ctrl-A escape commands. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "console.h"
#include "log.h"
#include "util.h"

#define ESCAPE_CHAR 0x01   /* Ctrl-A */

void console_setup_terminal(struct console *c, int in_fd)
{
	struct termios t;

	memset(c, 0, sizeof(*c));
	c->in_fd = in_fd;
	c->space_efd = -1;
	if (in_fd < 0 || !isatty(in_fd) || tcgetattr(in_fd, &c->saved) < 0)
		return;
	t = c->saved;
	/* Raw input; output processing is left alone so host messages stay readable. */
	t.c_iflag &= ~(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
	t.c_lflag &= ~(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
	t.c_cflag &= ~(CSIZE | PARENB);
	t.c_cflag |= CS8;
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	if (tcsetattr(in_fd, TCSANOW, &t) == 0)
		c->raw = true;
}

void console_restore(struct console *c)
{
	if (c->raw)
		tcsetattr(c->in_fd, TCSANOW, &c->saved);
	c->raw = false;
}

static void console_help(void)
{
	static const char help[] =
		"\r\nkite console escapes:\r\n"
		"  Ctrl-A x    quit kite (the guest is stopped)\r\n"
		"  Ctrl-A h    this help\r\n"
		"  Ctrl-A Ctrl-A  send Ctrl-A to the guest\r\n";

	if (write(STDERR_FILENO, help, sizeof(help) - 1) < 0)
		return;
}

/* Apply the escape prefix; returns the bytes to forward in out. */
static size_t console_filter(struct console *c, const uint8_t *in, size_t n, uint8_t *out)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		uint8_t ch = in[i];

		if (c->escape) {
			c->escape = false;
			if (ch == 'x' || ch == 'X') {
				c->quit_requested = true;
				return o;
			} else if (ch == 'h' || ch == 'H' || ch == '?') {
				console_help();
			} else if (ch == ESCAPE_CHAR) {
				out[o++] = ESCAPE_CHAR;
			} else {
				out[o++] = ESCAPE_CHAR;
				out[o++] = ch;
			}
		} else if (ch == ESCAPE_CHAR) {
			c->escape = true;
		} else {
			out[o++] = ch;
		}
	}
	return o;
}

static void console_stdin(void *opaque, uint32_t events)
{
	struct console *c = opaque;
	uint8_t buf[256], out[512];
	size_t space = c->port.rx_space(c->port.opaque);
	ssize_t n;

	(void)events;
	if (space < 2) {
		/* The guest is not reading: wait until the UART drains. */
		evloop_set_events(c->ev, c->in_fd, 0);
		return;
	}
	n = read(c->in_fd, buf, MIN(sizeof(buf), space / 2));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		evloop_del(c->ev, c->in_fd);     /* EOF: no more input */
		return;
	}
	n = console_filter(c, buf, n, out);
	c->port.rx(c->port.opaque, out, n);
	if (c->quit_requested && c->quit)
		c->quit(c->quit_ctx);
}

static void console_space(void *opaque, uint32_t events)
{
	struct console *c = opaque;
	uint64_t v;

	(void)events;
	if (read(c->space_efd, &v, sizeof(v)) < 0)
		return;
	evloop_set_events(c->ev, c->in_fd, EPOLLIN);
}

int console_attach(struct console *c, struct evloop *ev, struct console_port port,
		   void (*quit)(void *ctx), void *ctx)
{
	int ret;

	c->ev = ev;
	c->port = port;
	c->attached = true;
	c->quit = quit;
	c->quit_ctx = ctx;
	if (c->in_fd < 0)
		return 0;
	c->space_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (c->space_efd < 0)
		return -errno;
	port.set_space_efd(port.opaque, c->space_efd);
	ret = evloop_add(ev, c->space_efd, EPOLLIN, console_space, c);
	if (ret)
		return ret;
	ret = evloop_add(ev, c->in_fd, EPOLLIN, console_stdin, c);
	if (ret == -EPERM)
		ret = 0;         /* a regular file or /dev/null cannot be polled: no input */
	return ret;
}

void console_detach(struct console *c)
{
	if (c->attached)
		c->port.set_space_efd(c->port.opaque, -1);
	c->attached = false;
	if (c->space_efd >= 0)
		close(c->space_efd);
	c->space_efd = -1;
}
