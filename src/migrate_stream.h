/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KITE_MIGRATE_STREAM_H
#define KITE_MIGRATE_STREAM_H

/*
 * The page records of a migration stream (migrate.h describes the stream),
 * on their own so that they can be fuzzed without the VM (fuzz/migstream_fuzz.c).
 *
 * PAGES payload: u32 count (at most MIG_BATCH), count u64 gpas, count 4 KiB pages.
 * ZEROS payload: u32 count (at most MIG_BATCH), count u64 gpas.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MIG_PAGE        4096
#define MIG_BATCH       256             /* pages per PAGES/ZEROS record */

struct guest_mem;

/*
 * Apply one PAGES (data) or ZEROS record's payload to guest memory: the
 * count, the length and every address are checked before anything is
 * written.  0 or -EPROTO with one line in err.  (Pure: fuzzed.)
 */
int mig_apply_pages(struct guest_mem *gm, bool data, const uint8_t *p, uint64_t len, char *err,
		    size_t errlen);

#endif
