// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target for the page records of a migration stream
 * (mig_apply_pages() in src/migrate_stream.c): what the source -- or anyone
 * who connects to `kite run --incoming` -- writes into the target's guest
 * memory.  The record framing (length, CRC) is checked before this code
 * runs and is not what is fuzzed here; the payloads are.
 *
 * Input layout:
 *   3 bytes     region 0 pages - 1 (% 16), hole pages (% 4), region 1 pages
 *               - 1 (% 16); region 0 starts at gpa 0, region 1 after the hole
 *   records     until the input ends: a flags byte (bit 0: PAGES, else
 *               ZEROS; bit 1: well-formed: the harness sets the count from
 *               the length), a u32 length (% 2 MiB, cut to what is left),
 *               then that many payload bytes
 * Each RAM region is its own heap allocation, so AddressSanitizer reports
 * any access outside guest RAM.
 *
 * Checked against a reference model after every record: a refused record
 * changes nothing and says why in one line; an accepted one has a count of
 * at most MIG_BATCH, the exact length, only page-aligned addresses inside
 * RAM, and leaves memory exactly as the model says (pages copied or zeroed
 * in order, a later address in the same record winning).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memory.h"
#include "migrate_stream.h"

#define CHECK(cond, ...) do {                                                   \
	if (!(cond)) {                                                          \
		fprintf(stderr, "migstream_fuzz: check failed: %s (line %d): ",  \
			#cond, __LINE__);                                       \
		fprintf(stderr, __VA_ARGS__);                                   \
		fputc('\n', stderr);                                            \
		abort();                                                        \
	}                                                                       \
} while (0)

struct model {
	uint64_t gpa[2], size[2];
	uint8_t *mem[2];        /* the expected contents */
};

/* The model's own lookup: the region holding the whole page, or -1. */
static int model_region(const struct model *m, uint64_t gpa)
{
	for (int r = 0; r < 2; r++)
		if (gpa >= m->gpa[r] && gpa - m->gpa[r] < m->size[r] &&
		    m->size[r] - (gpa - m->gpa[r]) >= MIG_PAGE)
			return r;
	return -1;
}

/* What a well-formed record must do; false if it must be refused. */
static bool model_apply(struct model *m, bool data, const uint8_t *p, uint64_t len)
{
	uint64_t per = data ? 8 + MIG_PAGE : 8;
	uint32_t cnt;

	if (len < 4)
		return false;
	memcpy(&cnt, p, 4);
	if (cnt > MIG_BATCH || len != 4 + cnt * per)
		return false;
	for (uint32_t i = 0; i < cnt; i++) {
		uint64_t gpa;

		memcpy(&gpa, p + 4 + 8 * i, 8);
		if (gpa % MIG_PAGE || model_region(m, gpa) < 0)
			return false;
	}
	for (uint32_t i = 0; i < cnt; i++) {
		uint64_t gpa;
		int r;

		memcpy(&gpa, p + 4 + 8 * i, 8);
		r = model_region(m, gpa);
		if (data)
			memcpy(m->mem[r] + (gpa - m->gpa[r]), p + 4 + 8 * cnt + (size_t)i * MIG_PAGE,
			       MIG_PAGE);
		else
			memset(m->mem[r] + (gpa - m->gpa[r]), 0, MIG_PAGE);
	}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct guest_mem gm;
	struct model m;
	size_t off = 3;

	if (size < 3)
		return 0;
	memset(&gm, 0, sizeof(gm));
	memset(&m, 0, sizeof(m));
	m.size[0] = (uint64_t)(data[0] % 16 + 1) * MIG_PAGE;
	m.gpa[1] = m.size[0] + (uint64_t)(data[1] % 4) * MIG_PAGE;
	m.size[1] = (uint64_t)(data[2] % 16 + 1) * MIG_PAGE;
	for (int r = 0; r < 2; r++) {
		gm.regions[r] = (struct mem_region){ m.gpa[r], m.size[r],
						     aligned_alloc(MIG_PAGE, m.size[r]) };
		m.mem[r] = malloc(m.size[r]);
		CHECK(gm.regions[r].hva && m.mem[r], "out of memory");
		/* Something that is neither the data nor zero. */
		memset(gm.regions[r].hva, 0xa5 + r, m.size[r]);
		memset(m.mem[r], 0xa5 + r, m.size[r]);
	}
	gm.nr = 2;
	gm.total = m.size[0] + m.size[1];

	while (size - off >= 5) {
		uint8_t flags = data[off];
		uint32_t len;
		uint8_t *p;
		bool pages = flags & 1, accept;
		char err[256];
		int ret;

		memcpy(&len, data + off + 1, 4);
		off += 5;
		len %= 2u << 20;
		if (len > size - off)
			len = size - off;
		/* Its own allocation, exactly as long as the payload. */
		p = malloc(len ? len : 1);
		CHECK(p, "out of memory");
		memcpy(p, data + off, len);
		off += len;
		if ((flags & 2) && len >= 4) {
			uint32_t per = pages ? 8 + MIG_PAGE : 8, cnt = (len - 4) / per;

			cnt = cnt > MIG_BATCH ? MIG_BATCH : cnt;
			memcpy(p, &cnt, 4);
			len = 4 + cnt * per;
		}
		accept = model_apply(&m, pages, p, len);
		err[0] = '\0';
		ret = mig_apply_pages(&gm, pages, p, len, err, sizeof(err));
		if (accept) {
			CHECK(ret == 0, "a well-formed record of %u bytes was refused: %s", len, err);
		} else {
			CHECK(ret == -EPROTO, "a bad record of %u bytes gave %d", len, ret);
			CHECK(err[0] && memchr(err, '\0', sizeof(err)) && !strchr(err, '\n'),
			      "no one-line message");
		}
		for (int r = 0; r < 2; r++)
			CHECK(!memcmp(gm.regions[r].hva, m.mem[r], m.size[r]),
			      "region %d differs from the model after a %s record (%s)", r,
			      pages ? "PAGES" : "ZEROS", accept ? "accepted" : "refused");
		free(p);
	}
	for (int r = 0; r < 2; r++) {
		free(gm.regions[r].hva);
		free(m.mem[r]);
	}
	return 0;
}
