/*
 * cmdline.c - the kernel command line: "test=NAME key=value ...".
 */
#include "kit.h"

#define CMDLINE_MAX 1024
static char cmdline_buf[CMDLINE_MAX];

void cmdline_init(u64 paddr)
{
	const char *src = (const char *)(uintptr_t)paddr;
	u32 i = 0;

	if (paddr && paddr < 4 * GIB)
		for (; i < CMDLINE_MAX - 1 && src[i]; i++)
			cmdline_buf[i] = src[i];
	cmdline_buf[i] = '\0';
}

const char *cmdline_get(void)
{
	return cmdline_buf;
}

bool cmdline_value(const char *key, char *out, size_t out_size)
{
	size_t klen = strlen(key);
	const char *p = cmdline_buf;

	while (*p) {
		while (*p == ' ')
			p++;
		if (!strncmp(p, key, klen) && p[klen] == '=') {
			size_t n = 0;

			p += klen + 1;
			while (p[n] && p[n] != ' ' && n + 1 < out_size) {
				out[n] = p[n];
				n++;
			}
			out[n] = '\0';
			return true;
		}
		while (*p && *p != ' ')
			p++;
	}
	return false;
}

bool cmdline_parse_size(const char *s, u64 *bytes)
{
	u64 v = 0;

	if (*s < '0' || *s > '9')
		return false;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		for (s += 2; *s; s++) {
			char c = *s;
			unsigned d;

			if (c >= '0' && c <= '9')
				d = c - '0';
			else if (c >= 'a' && c <= 'f')
				d = c - 'a' + 10;
			else if (c >= 'A' && c <= 'F')
				d = c - 'A' + 10;
			else
				break;
			v = v * 16 + d;
		}
	} else {
		for (; *s >= '0' && *s <= '9'; s++)
			v = v * 10 + (u64)(*s - '0');
	}
	switch (*s) {
	case 'k': case 'K': v *= KIB; s++; break;
	case 'm': case 'M': v *= MIB; s++; break;
	case 'g': case 'G': v *= GIB; s++; break;
	case 't': case 'T': v *= 1024 * GIB; s++; break;
	}
	if (*s == 'i' || *s == 'B')	/* tolerate "MiB"/"MB"-style suffixes */
		s++;
	if (*s == 'B')
		s++;
	if (*s)
		return false;
	*bytes = v;
	return true;
}

bool cmdline_u64(const char *key, u64 *val)
{
	char buf[32];

	return cmdline_value(key, buf, sizeof(buf)) && cmdline_parse_size(buf, val);
}
