/*
 * fmt.c - minimal printf formatting: %s %c %d %i %u %x %X %p %%, the
 * length modifiers l/ll/z, a field width and the '0' and '-' flags.
 */
#include "kit.h"

static void fmt_emit_num(fmt_sink_fn sink, void *ctx, u64 v, unsigned base,
			 bool neg, bool upper, int width, char pad, bool left)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char buf[24];
	int n = 0, len;

	do {
		buf[n++] = digits[v % base];
		v /= base;
	} while (v);
	len = n + (neg ? 1 : 0);
	if (neg && pad == '0')
		sink(ctx, '-');
	if (!left)
		for (; len < width; len++)
			sink(ctx, pad);
	if (neg && pad != '0')
		sink(ctx, '-');
	while (n)
		sink(ctx, buf[--n]);
	if (left)
		for (; len < width; len++)
			sink(ctx, ' ');
}

void fmt_vformat(fmt_sink_fn sink, void *ctx, const char *fmt, va_list ap)
{
	for (; *fmt; fmt++) {
		int width = 0, lng = 0;
		char pad = ' ';
		bool left = false;

		if (*fmt != '%') {
			sink(ctx, *fmt);
			continue;
		}
		fmt++;
		for (;; fmt++) {
			if (*fmt == '0')
				pad = '0';
			else if (*fmt == '-')
				left = true;
			else
				break;
		}
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		while (*fmt == 'l' || *fmt == 'z') {
			lng++;
			fmt++;
		}
		switch (*fmt) {
		case 's': {
			const char *s = va_arg(ap, const char *);
			int len;

			if (!s)
				s = "(null)";
			len = (int)strlen(s);
			if (!left)
				for (; len < width; len++)
					sink(ctx, ' ');
			while (*s)
				sink(ctx, *s++);
			if (left)
				for (; len < width; len++)
					sink(ctx, ' ');
			break;
		}
		case 'c':
			sink(ctx, (char)va_arg(ap, int));
			break;
		case 'd':
		case 'i': {
			s64 v = lng ? va_arg(ap, s64) : va_arg(ap, int);

			fmt_emit_num(sink, ctx, v < 0 ? -(u64)v : (u64)v, 10, v < 0,
				     false, width, pad, left);
			break;
		}
		case 'u':
			fmt_emit_num(sink, ctx, lng ? va_arg(ap, u64) : va_arg(ap, unsigned),
				     10, false, false, width, pad, left);
			break;
		case 'x':
		case 'X':
			fmt_emit_num(sink, ctx, lng ? va_arg(ap, u64) : va_arg(ap, unsigned),
				     16, false, *fmt == 'X', width, pad, left);
			break;
		case 'p':
			sink(ctx, '0');
			sink(ctx, 'x');
			fmt_emit_num(sink, ctx, (u64)(uintptr_t)va_arg(ap, void *), 16,
				     false, false, width, pad, left);
			break;
		case '%':
			sink(ctx, '%');
			break;
		case '\0':
			return;
		default:
			sink(ctx, '%');
			sink(ctx, *fmt);
			break;
		}
	}
}

struct fmt_buf {
	char *buf;
	size_t size, len;
};

static void fmt_buf_sink(void *ctx, char c)
{
	struct fmt_buf *b = ctx;

	if (b->len + 1 < b->size)
		b->buf[b->len] = c;
	b->len++;
}

int fmt_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct fmt_buf b = { buf, size, 0 };

	fmt_vformat(fmt_buf_sink, &b, fmt, ap);
	if (size)
		buf[b.len < size ? b.len : size - 1] = '\0';
	return (int)b.len;
}

int fmt_snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = fmt_vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
