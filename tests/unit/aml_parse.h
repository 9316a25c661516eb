/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A small, strict AML reader for the unit tests: it decodes the subset kite
 * emits (Scope, Device, Name with integer/string/buffer/package data) and
 * fails on anything else, on a PkgLength that does not match its contents,
 * and on a BufferSize or NumElements that does not match what follows.
 */
#ifndef KITE_TEST_AML_PARSE_H
#define KITE_TEST_AML_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

enum aml_obj_type { AOBJ_INT, AOBJ_STRING, AOBJ_BUFFER, AOBJ_PACKAGE, AOBJ_SCOPE, AOBJ_DEVICE };

#define AML_ELEMS_MAX 16

struct aml_obj {
	char path[96];               /* absolute, e.g. "\\_SB_.COM1._HID" */
	enum aml_obj_type type;
	uint64_t ival;               /* AOBJ_INT */
	const uint8_t *data;         /* string / buffer bytes */
	size_t len;                  /* string length / buffer size */
	unsigned int nelem;          /* package NumElements */
	uint64_t elems[AML_ELEMS_MAX];  /* package elements (integers only) */
};

struct aml_doc {
	struct aml_obj obj[1024];
	unsigned int n;
	char error[128];
};

/* Decode a PkgLength at p; returns its encoded size (0 on error). */
static inline size_t aml_read_pkglen(const uint8_t *p, const uint8_t *end, size_t *len)
{
	unsigned int follow;

	if (p >= end)
		return 0;
	follow = p[0] >> 6;
	if ((size_t)(end - p) < 1 + follow)
		return 0;
	if (!follow) {
		*len = p[0] & 0x3f;
		return 1;
	}
	if (p[0] & 0x30)             /* bits 5:4 must be zero in multi-byte encodings */
		return 0;
	*len = p[0] & 0x0f;
	for (unsigned int i = 1; i <= follow; i++)
		*len |= (size_t)p[i] << (4 + 8 * (i - 1));
	return 1 + follow;
}

static inline bool aml_seg_ok(const uint8_t *s)
{
	if (!((s[0] >= 'A' && s[0] <= 'Z') || s[0] == '_'))
		return false;
	for (int i = 1; i < 4; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return false;
	return true;
}

/* Decode a NameString into "\\A.B" / "A.B" form; returns bytes consumed (0 on error). */
static inline size_t aml_read_namestring(const uint8_t *p, const uint8_t *end, char *out, size_t outlen)
{
	const uint8_t *q = p;
	unsigned int nseg;
	size_t o = 0;

	if (q < end && *q == '\\') {
		out[o++] = '\\';
		q++;
	}
	if (q >= end)
		return 0;
	if (*q == 0x00) {
		nseg = 0;
		q++;
	} else if (*q == 0x2e) {
		nseg = 2;
		q++;
	} else if (*q == 0x2f) {
		if (q + 1 >= end)
			return 0;
		nseg = q[1];
		q += 2;
		if (nseg < 3)          /* MultiNamePrefix is for three or more */
			return 0;
	} else {
		nseg = 1;
	}
	if ((size_t)(end - q) < 4 * (size_t)nseg || o + 5 * (size_t)nseg + 1 > outlen)
		return 0;
	for (unsigned int i = 0; i < nseg; i++, q += 4) {
		if (!aml_seg_ok(q))
			return 0;
		if (i)
			out[o++] = '.';
		memcpy(out + o, q, 4);
		o += 4;
	}
	out[o] = 0;
	return q - p;
}

static inline int aml_fail(struct aml_doc *d, const uint8_t *base, const uint8_t *p, const char *what)
{
	snprintf(d->error, sizeof(d->error), "%s at offset %zu", what, (size_t)(p - base));
	return -1;
}

/* Parse a computational data object; returns bytes consumed or -1. */
static inline long aml_read_data(struct aml_doc *d, const uint8_t *base, const uint8_t *p,
				 const uint8_t *end, struct aml_obj *o)
{
	static const unsigned int isz[] = { [0x0a] = 1, [0x0b] = 2, [0x0c] = 4, [0x0e] = 8 };
	size_t pl = 0, n;

	if (p >= end)
		return aml_fail(d, base, p, "missing data");
	switch (p[0]) {
	case 0x00: case 0x01:
		o->type = AOBJ_INT;
		o->ival = p[0];
		return 1;
	case 0xff:
		o->type = AOBJ_INT;
		o->ival = ~0ULL;
		return 1;
	case 0x0a: case 0x0b: case 0x0c: case 0x0e:
		n = isz[p[0]];
		if ((size_t)(end - p) < 1 + n)
			return aml_fail(d, base, p, "truncated integer");
		o->type = AOBJ_INT;
		o->ival = 0;
		for (size_t i = 0; i < n; i++)
			o->ival |= (uint64_t)p[1 + i] << (8 * i);
		return 1 + n;
	case 0x0d: {
		const uint8_t *nul = memchr(p + 1, 0, end - p - 1);

		if (!nul)
			return aml_fail(d, base, p, "unterminated string");
		o->type = AOBJ_STRING;
		o->data = p + 1;
		o->len = nul - (p + 1);
		return nul + 1 - p;
	}
	case 0x11: {              /* BufferOp PkgLength BufferSize ByteList */
		struct aml_obj sz = { 0 };
		size_t k = aml_read_pkglen(p + 1, end, &pl);
		const uint8_t *bend;
		long m;

		if (!k || pl < k || pl > (size_t)(end - p - 1))
			return aml_fail(d, base, p, "bad buffer PkgLength");
		bend = p + 1 + pl;
		m = aml_read_data(d, base, p + 1 + k, bend, &sz);
		if (m < 0 || sz.type != AOBJ_INT)
			return aml_fail(d, base, p, "bad BufferSize");
		o->type = AOBJ_BUFFER;
		o->data = p + 1 + k + m;
		o->len = bend - o->data;
		if (sz.ival != o->len)
			return aml_fail(d, base, p, "BufferSize does not match the bytes");
		return bend - p;
	}
	case 0x12: {              /* PackageOp PkgLength NumElements PackageElementList */
		size_t k = aml_read_pkglen(p + 1, end, &pl);
		const uint8_t *pend, *q;
		unsigned int cnt = 0;

		if (!k || pl < k + 1 || pl > (size_t)(end - p - 1))
			return aml_fail(d, base, p, "bad package PkgLength");
		pend = p + 1 + pl;
		o->type = AOBJ_PACKAGE;
		o->nelem = p[1 + k];
		for (q = p + 2 + k; q < pend; cnt++) {
			struct aml_obj e = { 0 };
			long m = aml_read_data(d, base, q, pend, &e);

			if (m < 0)
				return -1;
			if (cnt < AML_ELEMS_MAX)
				o->elems[cnt] = e.type == AOBJ_INT ? e.ival : ~0ULL;
			q += m;
		}
		if (cnt != o->nelem)
			return aml_fail(d, base, p, "NumElements does not match the elements");
		return pend - p;
	}
	default:
		return aml_fail(d, base, p, "unknown data object");
	}
}

static inline void aml_join(char *out, size_t outlen, const char *scope, const char *name)
{
	if (name[0] == '\\')
		snprintf(out, outlen, "%s", name);
	else if (!strcmp(scope, "\\"))
		snprintf(out, outlen, "\\%s", name);
	else
		snprintf(out, outlen, "%s.%s", scope, name);
}

static inline struct aml_obj *aml_new(struct aml_doc *d)
{
	if (d->n >= sizeof(d->obj) / sizeof(d->obj[0]))
		return NULL;
	memset(&d->obj[d->n], 0, sizeof(d->obj[0]));
	return &d->obj[d->n++];
}

static inline int aml_read_termlist(struct aml_doc *d, const uint8_t *base, const uint8_t *p,
				    const uint8_t *end, const char *scope)
{
	while (p < end) {
		char name[96];
		struct aml_obj *o = aml_new(d);
		size_t k, pl = 0, ns;

		if (!o)
			return aml_fail(d, base, p, "too many objects");
		if (p[0] == 0x10 || (p[0] == 0x5b && end - p >= 2 && p[1] == 0x82)) {
			unsigned int op = p[0] == 0x10 ? 1 : 2;
			const uint8_t *cend;

			if (end - p < (long)op + 1)
				return aml_fail(d, base, p, "truncated scope/device");
			k = aml_read_pkglen(p + op, end, &pl);
			if (!k || pl < k || pl > (size_t)(end - p - op))
				return aml_fail(d, base, p, "bad scope/device PkgLength");
			cend = p + op + pl;
			ns = aml_read_namestring(p + op + k, cend, name, sizeof(name));
			if (!ns)
				return aml_fail(d, base, p, "bad NameString");
			o->type = op == 1 ? AOBJ_SCOPE : AOBJ_DEVICE;
			aml_join(o->path, sizeof(o->path), scope, name);
			{
				char inner[96];

				snprintf(inner, sizeof(inner), "%s", o->path);
				if (aml_read_termlist(d, base, p + op + k + ns, cend, inner))
					return -1;
			}
			p = cend;
		} else if (p[0] == 0x08) {
			long m;

			ns = aml_read_namestring(p + 1, end, name, sizeof(name));
			if (!ns)
				return aml_fail(d, base, p, "bad NameString");
			m = aml_read_data(d, base, p + 1 + ns, end, o);
			if (m < 0)
				return -1;
			aml_join(o->path, sizeof(o->path), scope, name);
			p += 1 + ns + m;
		} else {
			return aml_fail(d, base, p, "unexpected opcode");
		}
	}
	return 0;
}

/* Parse a whole TermList (e.g. a DSDT body); 0 on success, else d->error says why. */
static inline int aml_parse(struct aml_doc *d, const uint8_t *p, size_t len)
{
	memset(d, 0, sizeof(*d));
	return aml_read_termlist(d, p, p, p + len, "\\");
}

static inline struct aml_obj *aml_lookup(struct aml_doc *d, const char *path)
{
	for (unsigned int i = 0; i < d->n; i++)
		if (!strcmp(d->obj[i].path, path))
			return &d->obj[i];
	return NULL;
}

#endif
