// SPDX-License-Identifier: GPL-2.0-only
/* Live migration: the receiver's page records (see migrate_stream.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "memory.h"
#include "migrate_stream.h"

int mig_apply_pages(struct guest_mem *gm, bool data, const uint8_t *p, uint64_t len, char *err,
		    size_t errlen)
{
	size_t per = data ? 8 + MIG_PAGE : 8;
	uint32_t cnt = 0;

	if (len >= 4)
		memcpy(&cnt, p, 4);
	if (len < 4 || cnt > MIG_BATCH || len != 4 + (uint64_t)cnt * per) {
		snprintf(err, errlen, "bad migration stream: a page record of %llu bytes",
			 (unsigned long long)len);
		return -EPROTO;
	}
	/* Every address first: a bad record changes nothing. */
	for (uint32_t i = 0; i < cnt; i++) {
		uint64_t gpa;

		memcpy(&gpa, p + 4 + 8 * i, 8);
		if (gpa % MIG_PAGE || !mem_ptr(gm, gpa, MIG_PAGE)) {
			snprintf(err, errlen, "bad migration stream: page %#llx is not guest RAM",
				 (unsigned long long)gpa);
			return -EPROTO;
		}
	}
	for (uint32_t i = 0; i < cnt; i++) {
		uint64_t gpa;
		uint8_t *dst;

		memcpy(&gpa, p + 4 + 8 * i, 8);
		dst = mem_ptr(gm, gpa, MIG_PAGE);
		if (data)
			memcpy(dst, p + 4 + 8 * cnt + (size_t)i * MIG_PAGE, MIG_PAGE);
		else
			memset(dst, 0, MIG_PAGE);
	}
	return 0;
}
