// SPDX-License-Identifier: GPL-2.0-only
/* Logging to stderr: one line per message, prefixed with "kite: ". */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

static enum log_level log_level = LOG_WARN;

void log_set_level(enum log_level level)
{
	log_level = level;
}

enum log_level log_get_level(void)
{
	return log_level;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n;

	if (level > log_level)
		return;
	n = snprintf(buf, sizeof(buf), "kite: %s",
		     level == LOG_ERR ? "error: " : level == LOG_WARN ? "warning: " : "");
	va_start(ap, fmt);
	n += vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof(buf) - 2)
		n = sizeof(buf) - 3;
	/* "\r\n" so lines stay aligned while the console is in raw mode. */
	if (n > 0 && buf[n - 1] == '\n')
		n--;
	buf[n++] = '\r';
	buf[n++] = '\n';
	/* One write() so concurrent vCPU threads do not interleave lines. */
	if (write(STDERR_FILENO, buf, n) < 0)
		return;
}
