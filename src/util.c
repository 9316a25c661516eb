// SPDX-License-Identifier: GPL-2.0-only
/* Small parsing helpers shared by the command line and the tests. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"

int parse_size(const char *s, uint64_t *out)
{
	uint64_t v = 0, shift = 20;
	const char *p = s;

	if (!s || !isdigit((unsigned char)*p))
		return -EINVAL;
	for (; isdigit((unsigned char)*p); p++) {
		unsigned int d = *p - '0';

		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	if (*p) {
		switch (toupper((unsigned char)*p)) {
		case 'B': shift = 0; break;
		case 'K': shift = 10; break;
		case 'M': shift = 20; break;
		case 'G': shift = 30; break;
		case 'T': shift = 40; break;
		default: return -EINVAL;
		}
		p++;
		if (shift && (!strcasecmp(p, "iB") || !strcasecmp(p, "B")))
			p += strlen(p);
		if (*p)
			return -EINVAL;
	}
	if (v > (UINT64_MAX >> shift))
		return -ERANGE;
	*out = v << shift;
	return 0;
}

int parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	const char *p = s;

	if (!s || !*s)
		return -EINVAL;
	for (; *p; p++) {
		unsigned int d;

		if (!isdigit((unsigned char)*p))
			return -EINVAL;
		d = *p - '0';
		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

const char *fmt_size(uint64_t bytes, char *buf, size_t len)
{
	if (bytes && !(bytes % GiB))
		snprintf(buf, len, "%llu GiB", (unsigned long long)(bytes / GiB));
	else if (bytes && !(bytes % MiB))
		snprintf(buf, len, "%llu MiB", (unsigned long long)(bytes / MiB));
	else if (bytes && !(bytes % KiB))
		snprintf(buf, len, "%llu KiB", (unsigned long long)(bytes / KiB));
	else
		snprintf(buf, len, "%llu bytes", (unsigned long long)bytes);
	return buf;
}

char *str_squeeze_spaces(char *s)
{
	char *r = s, *w = s;
	bool quoted = false, blank = false;

	for (; *r; r++) {
		if (*r == '"')
			quoted = !quoted;
		if (*r == ' ' && !quoted) {
			blank = w != s;
			continue;
		}
		if (blank)
			*w++ = ' ';
		blank = false;
		*w++ = *r;
	}
	*w = '\0';
	return s;
}

long read_file(const char *path, void *buf, size_t max)
{
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	while (got < max) {
		ssize_t n = read(fd, (char *)buf + got, max - got);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			n = -errno;
			close(fd);
			return n;
		}
		if (n == 0)
			break;
		got += n;
	}
	close(fd);
	return got;
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

void close_detached(int *fds, unsigned int n)
{
	int gate[2] = { -1, -1 };
	pid_t pid;

	if (!n)
		return;
	/*
	 * The grandchild's close must be the last one: it waits until ours are
	 * done (EOF on the gate pipe).  Without the gate it could close first
	 * and leave the teardown to our close after all.
	 */
	if (pipe2(gate, O_CLOEXEC) < 0)
		gate[0] = gate[1] = -1;
	pid = fork();
	if (pid == 0) {
		unsigned int lo = 0;
		char c;

		if (fork() != 0)
			_exit(0);       /* the grandchild is re-parented to init */
		if (gate[1] >= 0) {
			close(gate[1]);
			while (read(gate[0], &c, 1) < 0 && errno == EINTR)
				;
		}
		/* Keep only fds[]: close every other descriptor (stdout pipes included). */
		qsort(fds, n, sizeof(*fds), cmp_int);
		for (unsigned int i = 0; i < n; i++) {
			if (fds[i] < 0)
				continue;
			if ((unsigned int)fds[i] > lo)
				close_range(lo, fds[i] - 1, 0);
			lo = fds[i] + 1;
		}
		close_range(lo, ~0U, 0);
		for (unsigned int i = 0; i < n; i++)
			if (fds[i] >= 0)
				close(fds[i]);
		_exit(0);
	}
	if (gate[0] >= 0)
		close(gate[0]);
	if (pid > 0)
		waitpid(pid, NULL, 0);
	for (unsigned int i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	if (gate[1] >= 0)
		close(gate[1]);         /* now the grandchild closes the last copies */
}
