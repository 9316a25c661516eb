/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KITE_UTIL_H
#define KITE_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define KiB (1ULL << 10)
#define MiB (1ULL << 20)
#define GiB (1ULL << 30)

#define ALIGN_UP(x, a) (((x) + (a) - 1) & ~((__typeof__(x))(a) - 1))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

/*
 * Parse a size such as "512M", "4G", "1536k", "2GiB".  A plain number is
 * MiB (as QEMU's -m).  Returns 0 or -EINVAL (garbage) / -ERANGE (overflow).
 */
int parse_size(const char *s, uint64_t *out);

/* Parse a decimal unsigned integer that must lie in [min, max]. */
int parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* Format a byte count for messages ("512 MiB", "6 GiB", "4 KiB", "1000 bytes"). */
const char *fmt_size(uint64_t bytes, char *buf, size_t len);

/* Trim leading/trailing blanks and collapse runs of blanks outside double quotes, in place. */
char *str_squeeze_spaces(char *s);

/* Read a whole small file (at most max bytes). Returns length or -errno. */
long read_file(const char *path, void *buf, size_t max);

/*
 * Close `fds` without waiting for what the kernel does on their last close:
 * a detached grandchild process holds a copy and closes them (KVM tears a VM
 * down on the last close of its fds, which takes 5-15 ms on some hosts).
 * Call only when no other threads run.  Falls back to plain close().
 */
void close_detached(int *fds, unsigned int n);

/* Ceiling of log2(x) for x >= 1. */
static inline unsigned int ilog2_ceil(uint64_t x)
{
	unsigned int r = 0;

	if (x > 1ULL << 63)
		return 64;
	while ((1ULL << r) < x)
		r++;
	return r;
}

#endif
