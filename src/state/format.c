// SPDX-License-Identifier: GPL-2.0-only
/* The versioned, sectioned, CRC-checked VM state format. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "state/format.h"

uint32_t state_crc32_update(uint32_t crc, const void *p, size_t n)
{
	uLong c = crc;

	while (n) {               /* zlib takes uInt lengths: feed it in chunks */
		uInt chunk = n > (1u << 30) ? (1u << 30) : (uInt)n;

		c = crc32(c, p, chunk);
		p = (const uint8_t *)p + chunk;
		n -= chunk;
	}
	return c;
}

uint32_t state_crc32(const void *p, size_t n)
{
	return state_crc32_update(crc32(0L, Z_NULL, 0), p, n);
}

/* CRC32 of the section header (its crc field zero) and the payload. */
static uint32_t section_crc(const struct state_section_header *sh, const void *data, size_t len)
{
	struct state_section_header h = *sh;

	h.crc = 0;
	return state_crc32_update(state_crc32(&h, sizeof(h)), data, len);
}

void state_writer_init(struct state_writer *w)
{
	blob_init(&w->body);
	w->nr_sections = 0;
}

void state_writer_free(struct state_writer *w)
{
	blob_free(&w->body);
}

void state_add(struct state_writer *w, const char *id, uint32_t version, const void *data,
	       size_t len)
{
	struct state_section_header h;

	memset(&h, 0, sizeof(h));
	memcpy(h.id, id, strnlen(id, STATE_ID_LEN));      /* NUL-padded, not terminated */
	h.version = version;
	h.length = len;
	h.crc = section_crc(&h, data, len);
	blob_put(&w->body, &h, sizeof(h));
	blob_put(&w->body, data, len);
	w->nr_sections++;
}

int state_finish(struct state_writer *w, uint64_t cpuid_fingerprint, struct blob *out)
{
	struct state_header h;

	if (w->body.err)
		return w->body.err;
	memset(&h, 0, sizeof(h));
	memcpy(h.magic, STATE_MAGIC, 8);
	h.version = STATE_FORMAT_VERSION;
	h.nr_sections = w->nr_sections;
	memcpy(h.arch, STATE_ARCH, sizeof(STATE_ARCH) - 1);
	h.cpuid_fingerprint = cpuid_fingerprint;
	h.crc = state_crc32(&h, offsetof(struct state_header, crc));
	blob_init(out);
	blob_put(out, &h, sizeof(h));
	blob_put(out, w->body.buf, w->body.len);
	return out->err;
}

int state_parse(const uint8_t *buf, size_t len, struct state_image *img, char *err, size_t errlen)
{
	struct blob_reader r;

	memset(img, 0, sizeof(*img));
	blob_reader_init(&r, buf, len);
	if (!blob_get(&r, &img->hdr, sizeof(img->hdr))) {
		snprintf(err, errlen, "truncated: %zu bytes, less than a header", len);
		return -EINVAL;
	}
	if (memcmp(img->hdr.magic, STATE_MAGIC, 8)) {
		snprintf(err, errlen, "not a kite state file (bad magic)");
		return -EINVAL;
	}
	if (img->hdr.crc != state_crc32(&img->hdr, offsetof(struct state_header, crc))) {
		snprintf(err, errlen, "corrupted header (CRC mismatch)");
		return -EINVAL;
	}
	if (img->hdr.version != STATE_FORMAT_VERSION) {
		snprintf(err, errlen, "format version %u, this kite reads version %u",
			 img->hdr.version, STATE_FORMAT_VERSION);
		return -EINVAL;
	}
	if (strncmp(img->hdr.arch, STATE_ARCH, sizeof(img->hdr.arch))) {
		snprintf(err, errlen, "made for architecture '%.16s', this is %s", img->hdr.arch,
			 STATE_ARCH);
		return -EINVAL;
	}
	if (img->hdr.nr_sections > STATE_MAX_SECTIONS) {
		snprintf(err, errlen, "corrupted header: %u sections", img->hdr.nr_sections);
		return -EINVAL;
	}
	img->sections = calloc(img->hdr.nr_sections + 1, sizeof(*img->sections));
	if (!img->sections)
		return -ENOMEM;
	for (unsigned int i = 0; i < img->hdr.nr_sections; i++) {
		struct state_section_header sh;
		struct state_section *s = &img->sections[i];

		if (!blob_get(&r, &sh, sizeof(sh)) || sh.length > r.left) {
			snprintf(err, errlen, "truncated in section %u of %u", i + 1,
				 img->hdr.nr_sections);
			state_image_free(img);
			return -EINVAL;
		}
		memcpy(s->id, sh.id, STATE_ID_LEN);
		s->id[STATE_ID_LEN] = '\0';
		s->version = sh.version;
		s->data = r.p;
		s->length = sh.length;
		if (section_crc(&sh, s->data, s->length) != sh.crc) {
			snprintf(err, errlen, "corrupted section '%s' (CRC mismatch)", s->id);
			state_image_free(img);
			return -EINVAL;
		}
		r.p += sh.length;
		r.left -= sh.length;
		img->nr++;
	}
	if (r.left) {
		snprintf(err, errlen, "%zu unexpected bytes after the last section", r.left);
		state_image_free(img);
		return -EINVAL;
	}
	return 0;
}

void state_image_free(struct state_image *img)
{
	free(img->sections);
	img->sections = NULL;
	img->nr = 0;
}

const struct state_section *state_find(const struct state_image *img, const char *id)
{
	for (unsigned int i = 0; i < img->nr; i++)
		if (!strcmp(img->sections[i].id, id))
			return &img->sections[i];
	return NULL;
}
