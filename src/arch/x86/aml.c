// SPDX-License-Identifier: GPL-2.0-only
/* AML byte-code writer (ACPI 6.4, chapter 20) for the few constructs kite needs. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/aml.h"

enum { AML_PKG, AML_BUFFER };

void aml_init(struct aml *a)
{
	memset(a, 0, sizeof(*a));
}

void aml_free(struct aml *a)
{
	free(a->buf);
	memset(a, 0, sizeof(*a));
}

static void aml_bytes(struct aml *a, const void *p, size_t n)
{
	if (a->err)
		return;
	if (a->len + n > a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 256;
		uint8_t *b;

		while (cap < a->len + n)
			cap *= 2;
		b = realloc(a->buf, cap);
		if (!b) {
			a->err = -ENOMEM;
			return;
		}
		a->buf = b;
		a->cap = cap;
	}
	memcpy(a->buf + a->len, p, n);
	a->len += n;
}

static void aml_byte(struct aml *a, uint8_t b)
{
	aml_bytes(a, &b, 1);
}

static void aml_le(struct aml *a, uint64_t v, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		aml_byte(a, v >> (8 * i));
}

void aml_integer(struct aml *a, uint64_t v)
{
	if (v == 0)
		aml_byte(a, 0x00);            /* ZeroOp */
	else if (v == 1)
		aml_byte(a, 0x01);            /* OneOp */
	else if (v <= 0xff) {
		aml_byte(a, 0x0a);            /* BytePrefix */
		aml_le(a, v, 1);
	} else if (v <= 0xffff) {
		aml_byte(a, 0x0b);            /* WordPrefix */
		aml_le(a, v, 2);
	} else if (v <= 0xffffffff) {
		aml_byte(a, 0x0c);            /* DWordPrefix */
		aml_le(a, v, 4);
	} else {
		aml_byte(a, 0x0e);            /* QWordPrefix */
		aml_le(a, v, 8);
	}
}

void aml_string(struct aml *a, const char *s)
{
	aml_byte(a, 0x0d);                    /* StringPrefix */
	aml_bytes(a, s, strlen(s) + 1);
}

/* One 4-character name segment, padded with '_'. */
static void aml_nameseg(struct aml *a, const char *s, size_t n)
{
	char seg[4] = { '_', '_', '_', '_' };

	if (n == 0 || n > 4 || !(isupper((unsigned char)s[0]) || s[0] == '_')) {
		a->err = -EINVAL;
		return;
	}
	for (size_t i = 1; i < n; i++) {
		if (!isupper((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) && s[i] != '_') {
			a->err = -EINVAL;
			return;
		}
	}
	memcpy(seg, s, n);
	aml_bytes(a, seg, 4);
}

/* NameString: optional root '\', then 1, 2 (DualNamePrefix) or more (MultiNamePrefix) segments. */
static void aml_namestring(struct aml *a, const char *path)
{
	const char *segs[16];
	size_t lens[16];
	unsigned int n = 0;

	if (*path == '\\') {
		aml_byte(a, '\\');
		path++;
	}
	while (*path && n < 16) {
		const char *dot = strchr(path, '.');
		size_t len = dot ? (size_t)(dot - path) : strlen(path);

		segs[n] = path;
		lens[n++] = len;
		path += len + (dot ? 1 : 0);
	}
	if (*path) {
		a->err = -E2BIG;                  /* more segments than we hold */
		return;
	}
	if (n == 0) {
		aml_byte(a, 0x00);            /* NullName */
		return;
	}
	if (n == 2)
		aml_byte(a, 0x2e);
	else if (n > 2) {
		aml_byte(a, 0x2f);
		aml_byte(a, n);
	}
	for (unsigned int i = 0; i < n; i++)
		aml_nameseg(a, segs[i], lens[i]);
}

void aml_name(struct aml *a, const char *path)
{
	aml_byte(a, 0x08);                    /* NameOp */
	aml_namestring(a, path);
}

void aml_name_int(struct aml *a, const char *path, uint64_t v)
{
	aml_name(a, path);
	aml_integer(a, v);
}

void aml_name_string(struct aml *a, const char *path, const char *s)
{
	aml_name(a, path);
	aml_string(a, s);
}

uint32_t aml_eisaid(const char *id)
{
	/* Three letters (5 bits each) and four hex digits, stored big-endian. */
	uint32_t v = ((id[0] - '@') & 0x1f) << 26 | ((id[1] - '@') & 0x1f) << 21 |
		     ((id[2] - '@') & 0x1f) << 16 | (uint32_t)strtoul(id + 3, NULL, 16);

	return __builtin_bswap32(v);
}

void aml_name_eisaid(struct aml *a, const char *path, const char *id)
{
	aml_name(a, path);
	aml_byte(a, 0x0c);
	aml_le(a, aml_eisaid(id), 4);
}

static void aml_open(struct aml *a, int kind)
{
	if (a->depth >= AML_MAX_DEPTH) {
		a->err = -E2BIG;
		return;
	}
	a->open[a->depth].start = a->len;
	a->open[a->depth].kind = kind;
	a->depth++;
}

void aml_scope(struct aml *a, const char *path)
{
	aml_byte(a, 0x10);                    /* ScopeOp */
	aml_open(a, AML_PKG);
	aml_namestring(a, path);
}

void aml_device(struct aml *a, const char *path)
{
	aml_byte(a, 0x5b);                    /* ExtOpPrefix */
	aml_byte(a, 0x82);                    /* DeviceOp */
	aml_open(a, AML_PKG);
	aml_namestring(a, path);
}

void aml_package(struct aml *a, unsigned int nelem)
{
	if (nelem > 0xff) {
		a->err = -E2BIG;                  /* NumElements is one byte */
		return;
	}
	aml_byte(a, 0x12);                    /* PackageOp */
	aml_open(a, AML_PKG);
	aml_byte(a, nelem);
}

void aml_buffer(struct aml *a)
{
	aml_byte(a, 0x11);                    /* BufferOp */
	aml_open(a, AML_BUFFER);
}

/* Insert `n` bytes at `pos`, shifting what follows. */
static void aml_insert(struct aml *a, size_t pos, const uint8_t *p, size_t n)
{
	size_t tail = a->len - pos;

	aml_bytes(a, p, n);                   /* grow */
	if (a->err)
		return;
	memmove(a->buf + pos + n, a->buf + pos, tail);
	memcpy(a->buf + pos, p, n);
}

void aml_end(struct aml *a)
{
	uint8_t hdr[16];
	size_t n = 0, body, start;
	unsigned int pl;

	if (a->err)
		return;
	if (!a->depth) {
		a->err = -EINVAL;
		return;
	}
	a->depth--;
	start = a->open[a->depth].start;
	if (a->open[a->depth].kind == AML_BUFFER) {
		/* BufferSize comes before the bytes, inside the PkgLength. */
		struct aml sz;

		aml_init(&sz);
		aml_integer(&sz, a->len - start);
		if (!sz.err)
			aml_insert(a, start, sz.buf, sz.len);
		else
			a->err = sz.err;
		aml_free(&sz);
		if (a->err)
			return;
	}
	body = a->len - start;
	/* PkgLength counts itself: pick the smallest encoding that fits. */
	if (body + 1 < 0x40) {
		hdr[n++] = body + 1;
	} else {
		for (pl = 2; pl <= 4; pl++) {
			size_t total = body + pl;

			if (total < (1ULL << (4 + 8 * (pl - 1)))) {
				hdr[n++] = ((pl - 1) << 6) | (total & 0xf);
				for (unsigned int i = 1; i < pl; i++)
					hdr[n++] = total >> (4 + 8 * (i - 1));
				break;
			}
		}
		if (!n) {
			a->err = -E2BIG;
			return;
		}
	}
	aml_insert(a, start, hdr, n);
}

void aml_res_io(struct aml *a, uint16_t base, uint8_t len)
{
	uint8_t d[8] = { 0x47, 0x01, base & 0xff, base >> 8, base & 0xff, base >> 8, 1, len };

	aml_bytes(a, d, sizeof(d));
}

void aml_res_irq(struct aml *a, unsigned int irq)
{
	uint16_t mask = 1u << (irq & 15);
	uint8_t d[3] = { 0x22, mask & 0xff, mask >> 8 };

	if (irq > 15) {
		a->err = -EINVAL;                 /* IRQNoFlags covers ISA IRQs 0-15 */
		return;
	}
	aml_bytes(a, d, sizeof(d));
}

void aml_res_memory32(struct aml *a, uint32_t base, uint32_t len)
{
	/* Memory32Fixed, read-write. */
	uint8_t d[12] = { 0x86, 9, 0, 1 };

	for (int i = 0; i < 4; i++) {
		d[4 + i] = base >> (8 * i);
		d[8 + i] = len >> (8 * i);
	}
	aml_bytes(a, d, sizeof(d));
}

/*
 * Address space descriptors (ACPI 6.4 §6.4.3.5): producer, min and max
 * fixed, positive decode.  type 0 memory (read-write, non-cacheable),
 * 1 I/O (whole range), 2 bus numbers.
 */
static void aml_res_addr(struct aml *a, uint8_t tag, unsigned int width, uint8_t type,
			 uint64_t min, uint64_t max)
{
	uint8_t d[3 + 3 + 5 * 8];
	unsigned int n = 0, body = 3 + 5 * width;
	uint64_t vals[5] = { 0, min, max, 0, max - min + 1 };

	d[n++] = tag;
	d[n++] = body & 0xff;
	d[n++] = body >> 8;
	d[n++] = type;
	d[n++] = 0x0c;                        /* MinFixed | MaxFixed, producer */
	d[n++] = type == 0 ? 0x01 : type == 1 ? 0x03 : 0;
	for (unsigned int i = 0; i < 5; i++)
		for (unsigned int b = 0; b < width; b++)
			d[n++] = vals[i] >> (8 * b);
	aml_bytes(a, d, n);
}

void aml_res_word_bus(struct aml *a, uint16_t min, uint16_t max)
{
	aml_res_addr(a, 0x88, 2, 2, min, max);
}

void aml_res_word_io(struct aml *a, uint16_t min, uint16_t max)
{
	aml_res_addr(a, 0x88, 2, 1, min, max);
}

void aml_res_dword_mem(struct aml *a, uint32_t min, uint32_t max)
{
	aml_res_addr(a, 0x87, 4, 0, min, max);
}

void aml_res_qword_mem(struct aml *a, uint64_t min, uint64_t max)
{
	aml_res_addr(a, 0x8a, 8, 0, min, max);
}

void aml_res_end(struct aml *a)
{
	uint8_t d[2] = { 0x79, 0x00 };        /* End tag, checksum 0 = "ignore" */

	aml_bytes(a, d, sizeof(d));
}
