/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KITE_VIRTIO_BALLOON_H
#define KITE_VIRTIO_BALLOON_H

/*
 * virtio-balloon (VIRTIO 1.2 §5.5): the host asks the guest to give memory
 * back (num_pages, in 4 KiB pages), the guest hands pages over on inflateq
 * and takes them back on deflateq, reports what it holds in `actual`, sends
 * memory statistics on statsq and free pages on reporting_vq.
 *
 * Features offered: STATS_VQ, DEFLATE_ON_OOM (the guest may take pages back
 * when it runs out of memory) and PAGE_REPORTING.  Not offered:
 * MUST_TELL_HOST (deflating needs nothing from the host: a released page is
 * faulted back in when the guest touches it), FREE_PAGE_HINT (a migration
 * optimisation) and PAGE_POISON.
 *
 * Queues.  Only the queues of negotiated features exist, and the driver
 * numbers them in order of presence (as Linux and QEMU do; VIRTIO 1.3
 * §5.5.2 says so): 0 inflateq, 1 deflateq, then statsq if STATS_VQ was
 * negotiated, then reporting_vq if PAGE_REPORTING was -- so with both,
 * reporting_vq is queue 3 (free_page_vq is never there: FREE_PAGE_HINT is
 * not offered).  The device has 4 queues; which role each has is decided
 * when the driver sets DRIVER_OK.
 *
 * Releasing memory.  Inflated pages (32-bit PFNs, guest-physical address
 * pfn << 12) and reported free pages go back to the host: MADV_DONTNEED for
 * anonymous RAM (reads back zero), MADV_REMOVE (a hole punched in the memfd
 * or file) for shared backends, MADV_DONTNEED again where MADV_REMOVE is
 * refused (a snapshot mapped copy-on-write: the page reads back as the
 * snapshot had it).  Only whole pages of the backing page size are released:
 * with hugetlb, a 4 KiB inflate releases nothing (it is only accounted),
 * but a run of contiguous PFNs or a reported block covering a whole huge
 * page releases it.  With transparent huge pages, khugepaged may populate a
 * released range again when it collapses it (as with any balloon).
 *
 * The guest only hurts itself: PFNs outside guest RAM are skipped and
 * counted (one warning per device), a chain is taken up to
 * VIRTIO_BALLOON_MAX_PFNS PFNs, a malformed stats buffer is ignored (and
 * kept).
 *
 * Statistics.  The driver posts one buffer of (le16 tag, le64 value) entries
 * and the device keeps it; to ask for fresh numbers the device gives it back
 * and the driver refills and reposts it.  virtio_balloon_info() with
 * refresh does that; the answer has the latest numbers already there.
 * quiesce gives the held buffer back (a snapshot holds no chain).
 */
#include <stdbool.h>
#include <stdint.h>

#include "virtio/virtio.h"

#define VIRTIO_BALLOON_F_MUST_TELL_HOST   0
#define VIRTIO_BALLOON_F_STATS_VQ         1
#define VIRTIO_BALLOON_F_DEFLATE_ON_OOM   2
#define VIRTIO_BALLOON_F_FREE_PAGE_HINT   3
#define VIRTIO_BALLOON_F_PAGE_POISON      4
#define VIRTIO_BALLOON_F_PAGE_REPORTING   5

#define VIRTIO_BALLOON_PAGE_SHIFT         12
#define VIRTIO_BALLOON_PAGE               (1u << VIRTIO_BALLOON_PAGE_SHIFT)

/* Statistics tags (§5.5.6.3, plus the ones Linux added since). */
#define VIRTIO_BALLOON_S_SWAP_IN          0
#define VIRTIO_BALLOON_S_SWAP_OUT         1
#define VIRTIO_BALLOON_S_MAJFLT           2
#define VIRTIO_BALLOON_S_MINFLT           3
#define VIRTIO_BALLOON_S_MEMFREE          4
#define VIRTIO_BALLOON_S_MEMTOT           5
#define VIRTIO_BALLOON_S_AVAIL            6
#define VIRTIO_BALLOON_S_CACHES           7
#define VIRTIO_BALLOON_S_NR               16      /* tags kept; others are ignored */

/* PFNs taken from one inflate/deflate chain at most (Linux sends 256). */
#define VIRTIO_BALLOON_MAX_PFNS           (64 * 1024)
/* Largest stats buffer accepted (bytes): 64 entries of 10 bytes. */
#define VIRTIO_BALLOON_MAX_STATS          640

/* Snapshot state: plain fixed-width data. */
struct virtio_balloon_state {
	uint32_t target_pages;          /* num_pages: what the host asks for */
	uint32_t actual_pages;          /* actual: what the driver says it holds */
	uint32_t stats_valid;           /* bit t: stats[t] was reported */
	uint32_t reserved;              /* 0 */
	uint64_t stats[VIRTIO_BALLOON_S_NR];
};

_Static_assert(sizeof(struct virtio_balloon_state) == 16 + 8 * VIRTIO_BALLOON_S_NR,
	       "virtio_balloon_state has no hidden padding");

/* What the control API reports. */
struct virtio_balloon_info {
	uint32_t target_pages;
	uint32_t actual_pages;
	bool driver_ok;                 /* a driver runs the device */
	uint32_t stats_valid;
	uint64_t stats[VIRTIO_BALLOON_S_NR];
	uint64_t stats_ns;              /* CLOCK_MONOTONIC of the last stats update; 0: none */
	uint64_t released_bytes;        /* released by inflates (host pages) */
	uint64_t reported_bytes;        /* released by free page reporting (host pages) */
	uint64_t bad_pfns;              /* PFNs outside guest RAM, skipped */
};

int virtio_balloon_create(struct virtio_dev **out, const struct virtio_env *env);

/* Ask the guest to hold `pages` 4 KiB pages (config change interrupt).  Any thread. */
void virtio_balloon_set_target(struct virtio_dev *vd, uint32_t pages);

/*
 * Current state.  With refresh, a held stats buffer is given back so that
 * the driver sends fresh numbers (seen by the next call).  Any thread.
 */
void virtio_balloon_info(struct virtio_dev *vd, struct virtio_balloon_info *out, bool refresh);

/* "free_memory", ... for tag < VIRTIO_BALLOON_S_NR; NULL for an unnamed tag. */
const char *virtio_balloon_stat_name(unsigned int tag);

#endif
