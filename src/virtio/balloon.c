// SPDX-License-Identifier: GPL-2.0-only
/* virtio-balloon: inflate/deflate, memory statistics, free page reporting (see balloon.h). */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "log.h"
#include "mem_host.h"
#include "util.h"
#include "virtio/balloon.h"

#define BAL_NR_QUEUES   4
#define BAL_QSIZE       128
#define BAL_PFN_BATCH   256             /* PFNs copied out of the chain at a time */

enum bal_role { ROLE_NONE, ROLE_INFLATE, ROLE_DEFLATE, ROLE_STATS, ROLE_REPORTING };

/* Device-specific configuration (§5.5.4), little-endian. */
struct bal_config {
	uint32_t num_pages;
	uint32_t actual;
	uint32_t free_page_hint_cmd_id;
	uint32_t poison_val;
};

struct virtio_balloon {
	struct virtio_dev vd;
	struct virtq_chain chain;       /* scratch for popping */
	enum bal_role role[BAL_NR_QUEUES];
	uint64_t page_size;             /* host page size backing guest RAM */
	bool shared;                    /* MADV_REMOVE (else MADV_DONTNEED) */
	bool stats_held;                /* the driver's stats buffer is ours */
	uint16_t stats_head;
	struct virtio_balloon_state s;
	uint64_t stats_ns;
	uint64_t released_bytes, reported_bytes, bad_pfns;
	bool warned_pfn, warned_stats, warned_release;
};

static const char *const stat_names[VIRTIO_BALLOON_S_NR] = {
	"swap_in", "swap_out", "major_faults", "minor_faults", "free_memory",
	"total_memory", "available_memory", "disk_caches", "hugetlb_allocations",
	"hugetlb_failures", "oom_kills", "alloc_stalls", "async_scans", "direct_scans",
	"async_reclaims", "direct_reclaims",
};

const char *virtio_balloon_stat_name(unsigned int tag)
{
	return tag < VIRTIO_BALLOON_S_NR ? stat_names[tag] : NULL;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* ---- giving memory back ---------------------------------------------------- */

/*
 * Release the whole host pages inside [hva, hva + len) (a range inside one
 * guest RAM region).  Returns the bytes released.
 */
static uint64_t bal_release(struct virtio_balloon *b, uint8_t *hva, uint64_t len)
{
	uintptr_t start = ALIGN_UP((uintptr_t)hva, b->page_size);
	uintptr_t end = ((uintptr_t)hva + len) & ~(uintptr_t)(b->page_size - 1);

	if (end <= start)
		return 0;
	if (b->shared && madvise((void *)start, end - start, MADV_REMOVE) == 0)
		return end - start;
	if (b->shared) {
		/* A private (copy-on-write) mapping of a file: drop our copies instead. */
		pr_debug("%s: MADV_REMOVE: %m; using MADV_DONTNEED", b->vd.name);
		b->shared = false;
	}
	if (madvise((void *)start, end - start, MADV_DONTNEED) == 0)
		return end - start;
	if (!b->warned_release) {
		pr_warn("%s: cannot give guest memory back to the host: %m", b->vd.name);
		b->warned_release = true;
	}
	return 0;
}

static void bal_bad_pfns(struct virtio_balloon *b, uint64_t n, const char *why)
{
	b->bad_pfns += n;
	if (!b->warned_pfn) {
		pr_warn("%s: the guest %s; skipped (warned once)", b->vd.name, why);
		b->warned_pfn = true;
	}
}

/* An inflate chain: release each PFN's page, contiguous runs in one call. */
static void bal_inflate(struct virtio_balloon *b, const struct virtq_chain *c)
{
	uint64_t n = c->read_len / 4, bad = 0;
	uint8_t *run = NULL;
	uint64_t run_len = 0;
	uint32_t pfns[BAL_PFN_BATCH];

	if (c->read_len % 4)
		bal_bad_pfns(b, 0, "sent a PFN array whose size is not a multiple of 4");
	if (n > VIRTIO_BALLOON_MAX_PFNS) {
		bal_bad_pfns(b, n - VIRTIO_BALLOON_MAX_PFNS, "sent too many PFNs in one buffer");
		n = VIRTIO_BALLOON_MAX_PFNS;
	}
	for (uint64_t i = 0; i < n; i += BAL_PFN_BATCH) {
		unsigned int m = MIN(n - i, (uint64_t)BAL_PFN_BATCH);

		if (virtq_chain_read(c, i * 4, pfns, m * 4ULL))
			break;
		for (unsigned int j = 0; j < m; j++) {
			gpa_t gpa = (gpa_t)le32toh(pfns[j]) << VIRTIO_BALLOON_PAGE_SHIFT;
			uint8_t *p = mem_ptr(b->vd.mem, gpa, VIRTIO_BALLOON_PAGE);

			if (!p) {
				bad++;
				continue;
			}
			if (run && p == run + run_len) {
				run_len += VIRTIO_BALLOON_PAGE;
				continue;
			}
			if (run)
				b->released_bytes += bal_release(b, run, run_len);
			run = p;
			run_len = VIRTIO_BALLOON_PAGE;
		}
	}
	if (run)
		b->released_bytes += bal_release(b, run, run_len);
	if (bad)
		bal_bad_pfns(b, bad, "gave PFNs outside its RAM");
}

/* A reporting chain: every buffer is free guest memory. */
static void bal_report(struct virtio_balloon *b, const struct virtq_chain *c)
{
	for (unsigned int i = 0; i < c->nr_read + c->nr_write; i++)
		b->reported_bytes += bal_release(b, c->iov[i].iov_base, c->iov[i].iov_len);
}

/* ---- statistics ------------------------------------------------------------ */

static void bal_stats_parse(struct virtio_balloon *b, const struct virtq_chain *c)
{
	uint8_t buf[VIRTIO_BALLOON_MAX_STATS];
	uint32_t len = c->read_len;

	if (len % 10 || len > sizeof(buf) || virtq_chain_read(c, 0, buf, len)) {
		if (!b->warned_stats) {
			pr_warn("%s: the guest sent a malformed statistics buffer (%u bytes); "
				"ignored (warned once)", b->vd.name, len);
			b->warned_stats = true;
		}
		return;
	}
	for (uint32_t off = 0; off < len; off += 10) {
		uint16_t tag;
		uint64_t val;

		memcpy(&tag, buf + off, 2);
		memcpy(&val, buf + off + 2, 8);
		tag = le16toh(tag);
		if (tag >= VIRTIO_BALLOON_S_NR)
			continue;
		b->s.stats[tag] = le64toh(val);
		b->s.stats_valid |= 1u << tag;
	}
	b->stats_ns = now_ns();
}

/* Give the held stats buffer back: the driver refills and reposts it. */
static void bal_stats_give_back(struct virtio_balloon *b, unsigned int q)
{
	if (!b->stats_held)
		return;
	b->stats_held = false;
	if (virtq_push(&b->vd.vqs[q], b->stats_head, 0) == 0)
		virtio_dev_used(&b->vd, q);
}

static int bal_stats_queue(struct virtio_balloon *b, unsigned int q)
{
	struct virtq *vq = &b->vd.vqs[q];
	int ret;

	/* No notification suppression: a new buffer comes when we asked for it. */
	while ((ret = virtq_pop(vq, &b->chain)) == 0) {
		bal_stats_parse(b, &b->chain);
		/* A driver that posts another one: keep the newest. */
		bal_stats_give_back(b, q);
		b->stats_held = true;
		b->stats_head = b->chain.head;
	}
	return ret;
}

/* ---- queues ---------------------------------------------------------------- */

static int bal_page_queue(struct virtio_balloon *b, unsigned int q)
{
	struct virtq *vq = &b->vd.vqs[q];
	bool pushed = false;
	int ret;

	for (;;) {
		virtq_set_notify(vq, false);
		while ((ret = virtq_pop(vq, &b->chain)) == 0) {
			if (b->role[q] == ROLE_INFLATE)
				bal_inflate(b, &b->chain);
			else if (b->role[q] == ROLE_REPORTING)
				bal_report(b, &b->chain);
			/* deflate: nothing to do, the guest's next touch faults the page in */
			virtq_push(vq, b->chain.head, 0);
			pushed = true;
		}
		if (pushed)
			virtio_dev_used(&b->vd, q);
		pushed = false;
		if (ret != -EAGAIN)
			return ret;
		virtq_set_notify(vq, true);
		if (!virtq_has_avail(vq))
			return 0;
	}
}

static void bal_queue_notify(struct virtio_dev *vd, unsigned int q)
{
	struct virtio_balloon *b = vd->priv;
	int ret;

	if (q >= BAL_NR_QUEUES || b->role[q] == ROLE_NONE)
		return;
	ret = b->role[q] == ROLE_STATS ? bal_stats_queue(b, q) : bal_page_queue(b, q);
	if (ret && ret != -EAGAIN)
		virtio_dev_needs_reset(vd, "bad queue");
}

/* Which queue is which: only those of negotiated features exist, numbered in order. */
static int bal_activate(struct virtio_dev *vd)
{
	struct virtio_balloon *b = vd->priv;
	unsigned int q = 0;

	memset(b->role, 0, sizeof(b->role));
	b->role[q++] = ROLE_INFLATE;
	b->role[q++] = ROLE_DEFLATE;
	if (virtio_dev_has(vd, VIRTIO_BALLOON_F_STATS_VQ))
		b->role[q++] = ROLE_STATS;
	if (virtio_dev_has(vd, VIRTIO_BALLOON_F_PAGE_REPORTING))
		b->role[q++] = ROLE_REPORTING;
	return 0;
}

static int bal_stats_queue_index(const struct virtio_balloon *b)
{
	for (unsigned int q = 0; q < BAL_NR_QUEUES; q++)
		if (b->role[q] == ROLE_STATS)
			return q;
	return -1;
}

/* ---- ops ------------------------------------------------------------------- */

static void bal_config_read(struct virtio_dev *vd, uint32_t off, void *buf, uint32_t len)
{
	struct virtio_balloon *b = vd->priv;
	struct bal_config cfg = {
		.num_pages = htole32(b->s.target_pages),
		.actual = htole32(b->s.actual_pages),
	};

	memcpy(buf, (uint8_t *)&cfg + off, len);
}

/* Only `actual` is the driver's; any part of it may be written. */
static void bal_config_write(struct virtio_dev *vd, uint32_t off, const void *buf, uint32_t len)
{
	struct virtio_balloon *b = vd->priv;
	uint32_t actual = htole32(b->s.actual_pages);
	const uint8_t *src = buf;

	for (uint32_t i = 0; i < len; i++) {
		uint32_t o = off + i;

		if (o >= offsetof(struct bal_config, actual) &&
		    o < offsetof(struct bal_config, actual) + 4)
			((uint8_t *)&actual)[o - offsetof(struct bal_config, actual)] = src[i];
	}
	b->s.actual_pages = le32toh(actual);
}

/* Driver reset: the target is the host's and stays; the rest is the driver's. */
static void bal_reset(struct virtio_dev *vd)
{
	struct virtio_balloon *b = vd->priv;

	b->stats_held = false;          /* the queues are reset: nothing to give back */
	b->s.actual_pages = 0;
	b->s.stats_valid = 0;
	memset(b->s.stats, 0, sizeof(b->s.stats));
	b->stats_ns = 0;
	memset(b->role, 0, sizeof(b->role));
}

static void bal_quiesce(struct virtio_dev *vd)
{
	struct virtio_balloon *b = vd->priv;
	int q = bal_stats_queue_index(b);

	if (q >= 0)
		bal_stats_give_back(b, q);
	b->stats_held = false;
}

static void bal_destroy(struct virtio_dev *vd)
{
	struct virtio_balloon *b = vd->priv;

	virtio_dev_fini(vd);
	free(b);
}

static void bal_save(struct virtio_dev *vd, void *state)
{
	struct virtio_balloon *b = vd->priv;

	memcpy(state, &b->s, sizeof(b->s));
}

static int bal_restore(struct virtio_dev *vd, const void *state)
{
	struct virtio_balloon *b = vd->priv;
	struct virtio_balloon_state s;

	memcpy(&s, state, sizeof(s));
	if (s.reserved || s.stats_valid >> VIRTIO_BALLOON_S_NR ||
	    s.target_pages > vd->mem->total / VIRTIO_BALLOON_PAGE)
		return -EINVAL;
	for (unsigned int t = 0; t < VIRTIO_BALLOON_S_NR; t++)
		if (!(s.stats_valid & (1u << t)) && s.stats[t])
			return -EINVAL;
	b->s = s;
	b->stats_held = false;
	b->stats_ns = s.stats_valid ? now_ns() : 0;
	return 0;
}

static const struct virtio_dev_ops balloon_ops = {
	.config_read = bal_config_read,
	.config_write = bal_config_write,
	.activate = bal_activate,
	.queue_notify = bal_queue_notify,
	.reset = bal_reset,
	.quiesce = bal_quiesce,
	.destroy = bal_destroy,
	.state_size = sizeof(struct virtio_balloon_state),
	.save = bal_save,
	.restore = bal_restore,
};

/* ---- the host's side ------------------------------------------------------- */

void virtio_balloon_set_target(struct virtio_dev *vd, uint32_t pages)
{
	struct virtio_balloon *b = vd->priv;

	virtio_dev_lock(vd);
	if (b->s.target_pages != pages) {
		b->s.target_pages = pages;
		virtio_dev_config_changed(vd);
	}
	virtio_dev_unlock(vd);
}

void virtio_balloon_info(struct virtio_dev *vd, struct virtio_balloon_info *out, bool refresh)
{
	struct virtio_balloon *b = vd->priv;
	int q;

	virtio_dev_lock(vd);
	memset(out, 0, sizeof(*out));
	out->target_pages = b->s.target_pages;
	out->actual_pages = b->s.actual_pages;
	out->driver_ok = virtio_dev_running(vd);
	out->stats_valid = b->s.stats_valid;
	memcpy(out->stats, b->s.stats, sizeof(out->stats));
	out->stats_ns = b->stats_ns;
	out->released_bytes = b->released_bytes;
	out->reported_bytes = b->reported_bytes;
	out->bad_pfns = b->bad_pfns;
	q = bal_stats_queue_index(b);
	if (refresh && q >= 0 && virtio_dev_running(vd))
		bal_stats_give_back(b, q);
	virtio_dev_unlock(vd);
}

int virtio_balloon_create(struct virtio_dev **out, const struct virtio_env *env)
{
	struct virtio_balloon *b = calloc(1, sizeof(*b));
	uint64_t features = VIRTIO_BIT(VIRTIO_BALLOON_F_STATS_VQ) |
			    VIRTIO_BIT(VIRTIO_BALLOON_F_DEFLATE_ON_OOM) |
			    VIRTIO_BIT(VIRTIO_BALLOON_F_PAGE_REPORTING);
	int ret;

	if (!b)
		return -ENOMEM;
	b->page_size = MAX(env->mem->page_size, (uint64_t)VIRTIO_BALLOON_PAGE);
	b->shared = env->mem->backend != MEM_BACKEND_ANON;
	ret = virtio_dev_init(&b->vd, &balloon_ops, env, "virtio-balloon", VIRTIO_ID_BALLOON,
			      features, BAL_NR_QUEUES, BAL_QSIZE, sizeof(struct bal_config), b);
	if (ret) {
		free(b);
		return ret;
	}
	*out = &b->vd;
	return 0;
}
