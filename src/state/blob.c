// SPDX-License-Identifier: GPL-2.0-only
/* Growable state buffers and bounds-checked readers. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "state/blob.h"

void blob_init(struct blob *b)
{
	memset(b, 0, sizeof(*b));
}

void blob_free(struct blob *b)
{
	free(b->buf);
	blob_init(b);
}

void blob_put(struct blob *b, const void *p, size_t n)
{
	if (b->err || !n)
		return;
	if (n > b->cap - b->len) {
		size_t cap = b->cap ? b->cap : 4096;
		uint8_t *nb;

		while (cap - b->len < n) {
			if (cap > SIZE_MAX / 2) {
				b->err = -ENOMEM;
				return;
			}
			cap *= 2;
		}
		nb = realloc(b->buf, cap);
		if (!nb) {
			b->err = -ENOMEM;
			return;
		}
		b->buf = nb;
		b->cap = cap;
	}
	memcpy(b->buf + b->len, p, n);
	b->len += n;
}

bool blob_get(struct blob_reader *r, void *out, size_t n)
{
	if (r->bad || n > r->left) {
		r->bad = true;
		return false;
	}
	memcpy(out, r->p, n);
	r->p += n;
	r->left -= n;
	return true;
}

bool blob_get_u32(struct blob_reader *r, uint32_t *v)
{
	return blob_get(r, v, 4);
}

bool blob_get_u64(struct blob_reader *r, uint64_t *v)
{
	return blob_get(r, v, 8);
}
