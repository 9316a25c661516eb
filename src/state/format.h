/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KITE_STATE_FORMAT_H
#define KITE_STATE_FORMAT_H

/*
 * The VM state format (snapshot "state" file, and the device-state part of
 * a migration stream):
 *
 *   header   magic "KITESTAT", format version, architecture, CPUID
 *            fingerprint, section count, CRC32 of the header
 *   section  id (NUL-padded, 32 bytes), section version, payload length,
 *            CRC32 of the section header and payload, then the payload
 *   ...
 *
 * Little-endian, fixed-width.  A reader checks the header, then every
 * section's length against the bytes left and its CRC before anything looks
 * inside; unknown sections are skipped; a known section with a version it
 * does not understand is refused by its consumer.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "state/blob.h"

#define STATE_MAGIC             "KITESTAT"
#define STATE_FORMAT_VERSION    1
#define STATE_ARCH              "x86_64"
#define STATE_ID_LEN            32
#define STATE_MAX_SECTIONS      4096

struct state_header {
	char magic[8];
	uint32_t version;
	uint32_t nr_sections;
	char arch[16];
	uint64_t cpuid_fingerprint;
	uint32_t reserved;
	uint32_t crc;                   /* CRC32 of the bytes before it */
} __attribute__((packed));

struct state_section_header {
	char id[STATE_ID_LEN];
	uint32_t version;
	uint32_t crc;                   /* CRC32 of this header (crc = 0) and the payload */
	uint64_t length;
} __attribute__((packed));

/* Writing: sections are collected in a blob, then the header is put in front. */
struct state_writer {
	struct blob body;
	uint32_t nr_sections;
};

void state_writer_init(struct state_writer *w);
void state_writer_free(struct state_writer *w);
void state_add(struct state_writer *w, const char *id, uint32_t version, const void *data,
	       size_t len);
/* The complete image (header + sections) in out (caller frees with blob_free). */
int state_finish(struct state_writer *w, uint64_t cpuid_fingerprint, struct blob *out);

/* Reading: the image stays in the caller's buffer; sections point into it. */
struct state_section {
	char id[STATE_ID_LEN + 1];
	uint32_t version;
	const uint8_t *data;
	uint64_t length;
};

struct state_image {
	struct state_header hdr;
	unsigned int nr;
	struct state_section *sections;
};

/*
 * Parse and verify an image: magic, version, architecture, every length and
 * CRC.  -EINVAL with one line in err ("truncated", "CRC mismatch in section
 * X", "format version 7, this kite reads 1", ...).
 */
int state_parse(const uint8_t *buf, size_t len, struct state_image *img, char *err, size_t errlen);
void state_image_free(struct state_image *img);
/* The section with this id, or NULL. */
const struct state_section *state_find(const struct state_image *img, const char *id);

uint32_t state_crc32(const void *p, size_t n);
/* Continue a CRC32 over more bytes (any length). */
uint32_t state_crc32_update(uint32_t crc, const void *p, size_t n);

#endif
