/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KITE_STATE_BLOB_H
#define KITE_STATE_BLOB_H

/*
 * A growable byte buffer to serialise state into, and a bounds-checked
 * cursor to read it back.  Readers never trust a length they read: every
 * blob_get() checks it against what is left and fails (sticky) otherwise.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct blob {
	uint8_t *buf;
	size_t len, cap;
	int err;                /* -ENOMEM, sticky */
};

void blob_init(struct blob *b);
void blob_free(struct blob *b);
void blob_put(struct blob *b, const void *p, size_t n);
static inline void blob_put_u32(struct blob *b, uint32_t v) { blob_put(b, &v, 4); }
static inline void blob_put_u64(struct blob *b, uint64_t v) { blob_put(b, &v, 8); }

struct blob_reader {
	const uint8_t *p;
	size_t left;
	bool bad;               /* a read ran past the end: sticky */
};

static inline void blob_reader_init(struct blob_reader *r, const void *p, size_t n)
{
	r->p = p;
	r->left = n;
	r->bad = false;
}

/* Copy n bytes out; false (and r->bad) if fewer are left. */
bool blob_get(struct blob_reader *r, void *out, size_t n);
bool blob_get_u32(struct blob_reader *r, uint32_t *v);
bool blob_get_u64(struct blob_reader *r, uint64_t *v);
/* Everything consumed and nothing ran short. */
static inline bool blob_done(const struct blob_reader *r)
{
	return !r->bad && r->left == 0;
}

#endif
