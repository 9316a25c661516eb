// SPDX-License-Identifier: GPL-2.0-only
/* Split virtqueues, device side: checked chain walking, used ring, notifications, state. */
#include <endian.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "util.h"
#include "virtio/virtq.h"

/* Keep the compiler from re-reading guest memory in place of a local copy. */
#define barrier() __asm__ __volatile__("" ::: "memory")

static const char *vq_name(const struct virtq *vq)
{
	return vq->name ? vq->name : "virtqueue";
}

static void vq_vwarn(struct virtq *vq, const char *fmt, va_list ap)
{
	char msg[256];

	if (vq->warned)
		return;
	vq->warned = true;
	if (log_get_level() < LOG_WARN)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	pr_warn("%s: %s", vq_name(vq), msg);
}

static void __attribute__((format(printf, 2, 3)))
vq_warn(struct virtq *vq, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vq_vwarn(vq, fmt, ap);
	va_end(ap);
}

/* A guest error: the queue is broken until reset; returns err. */
static int __attribute__((format(printf, 3, 4)))
vq_fail(struct virtq *vq, int err, const char *fmt, ...)
{
	va_list ap;

	vq->broken = true;
	va_start(ap, fmt);
	vq_vwarn(vq, fmt, ap);
	va_end(ap);
	return err;
}

static bool is_pow2(uint32_t x)
{
	return x && !(x & (x - 1));
}

/* Resolve one ring: inside one RAM region, aligned in guest and host memory. */
static void *ring_ptr(const struct guest_mem *mem, gpa_t gpa, uint64_t len, uint64_t align)
{
	void *p;

	if (gpa & (align - 1))
		return NULL;
	p = mem_ptr(mem, gpa, len);
	if (!p || ((uintptr_t)p & (align - 1)))
		return NULL;
	return p;
}

/* Do [a, a + alen) and [b, b + blen) overlap?  Both lie inside RAM: no wrap-around. */
static bool ranges_overlap(gpa_t a, uint64_t alen, gpa_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

struct rings {
	const uint8_t *desc;
	struct virtq_avail *avail;
	struct virtq_used *used;
};

/* Check a layout; on failure returns -EINVAL with the reason in `why`. */
static int check_layout(const struct virtq *vq, const struct virtq_state *s,
			struct rings *r, char *why, size_t why_len)
{
	if (!is_pow2(s->size) || s->size > vq->max_size) {
		snprintf(why, why_len, "queue size %u is not a power of two in [1, %u]",
			 s->size, vq->max_size);
		return -EINVAL;
	}
	r->desc = ring_ptr(vq->mem, s->desc_addr, VIRTQ_DESC_BYTES(s->size), 16);
	if (!r->desc) {
		snprintf(why, why_len, "descriptor table %#llx (%llu bytes) is not "
			 "16-byte aligned inside RAM", (unsigned long long)s->desc_addr,
			 VIRTQ_DESC_BYTES(s->size));
		return -EINVAL;
	}
	r->avail = ring_ptr(vq->mem, s->avail_addr, VIRTQ_AVAIL_BYTES(s->size), 2);
	if (!r->avail) {
		snprintf(why, why_len, "available ring %#llx (%llu bytes) is not "
			 "2-byte aligned inside RAM", (unsigned long long)s->avail_addr,
			 VIRTQ_AVAIL_BYTES(s->size));
		return -EINVAL;
	}
	r->used = ring_ptr(vq->mem, s->used_addr, VIRTQ_USED_BYTES(s->size), 4);
	if (!r->used) {
		snprintf(why, why_len, "used ring %#llx (%llu bytes) is not "
			 "4-byte aligned inside RAM", (unsigned long long)s->used_addr,
			 VIRTQ_USED_BYTES(s->size));
		return -EINVAL;
	}
	/*
	 * The device writes the used ring: over the available ring or the
	 * descriptors, its own writes would become new requests, and a queue
	 * whose requests complete at once would feed itself for ever.
	 */
	if (ranges_overlap(s->used_addr, VIRTQ_USED_BYTES(s->size), s->avail_addr,
			   VIRTQ_AVAIL_BYTES(s->size)) ||
	    ranges_overlap(s->used_addr, VIRTQ_USED_BYTES(s->size), s->desc_addr,
			   VIRTQ_DESC_BYTES(s->size))) {
		snprintf(why, why_len, "used ring %#llx overlaps the available ring %#llx or "
			 "the descriptor table %#llx", (unsigned long long)s->used_addr,
			 (unsigned long long)s->avail_addr, (unsigned long long)s->desc_addr);
		return -EINVAL;
	}
	return 0;
}

int virtq_init(struct virtq *vq, const struct guest_mem *mem, uint16_t max_size,
	       const char *name)
{
	memset(vq, 0, sizeof(*vq));
	if (!is_pow2(max_size) || max_size > VIRTQ_MAX_SIZE)
		return -EINVAL;
	vq->mem = mem;
	vq->name = name;
	vq->max_size = max_size;
	virtq_reset(vq);
	return 0;
}

void virtq_reset(struct virtq *vq)
{
	memset(&vq->s, 0, sizeof(vq->s));
	vq->s.size = vq->max_size;
	vq->broken = false;
	vq->desc = NULL;
	vq->avail = NULL;
	vq->used = NULL;
}

int virtq_enable(struct virtq *vq, bool event_idx)
{
	struct rings r;
	char why[160];
	int ret;

	if (vq->s.ready)
		return -EBUSY;
	ret = check_layout(vq, &vq->s, &r, why, sizeof(why));
	if (ret) {
		vq_warn(vq, "cannot enable: %s", why);
		return ret;
	}
	vq->desc = r.desc;
	vq->avail = r.avail;
	vq->used = r.used;
	vq->s.next_avail = 0;
	vq->s.next_used = 0;
	vq->s.signalled_used = 0;
	vq->s.signalled_used_valid = 0;
	vq->s.event_idx = event_idx;
	vq->s.ready = 1;
	vq->broken = false;
	return 0;
}

int virtq_configure(struct virtq *vq, uint16_t size, gpa_t desc, gpa_t avail,
		    gpa_t used, bool event_idx)
{
	if (vq->s.ready)
		return -EBUSY;
	vq->s.size = size;
	vq->s.desc_addr = desc;
	vq->s.avail_addr = avail;
	vq->s.used_addr = used;
	return virtq_enable(vq, event_idx);
}

/* Copy descriptor i of a table into *d once; only the copy is looked at. */
static void read_desc(const uint8_t *table, uint32_t i, struct virtq_desc *d)
{
	memcpy(d, table + (size_t)i * sizeof(*d), sizeof(*d));
	barrier();
	d->addr = le64toh(d->addr);
	d->len = le32toh(d->len);
	d->flags = le16toh(d->flags);
	d->next = le16toh(d->next);
}

static int walk_chain(struct virtq *vq, uint16_t head, struct virtq_chain *c)
{
	const uint32_t size = vq->s.size;
	const uint8_t *table = vq->desc;
	uint32_t entries = size, idx = head, count = 0;
	uint64_t rlen = 0, wlen = 0;
	unsigned int nseg = 0, nr_read = 0;
	bool indirect = false, writing = false;
	struct virtq_desc d;

	for (;;) {
		read_desc(table, idx, &d);
		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			if (indirect)
				return vq_fail(vq, -EINVAL, "chain %u: nested indirect "
					       "descriptor", head);
			if (d.flags & VIRTQ_DESC_F_NEXT)
				return vq_fail(vq, -EINVAL, "chain %u: indirect descriptor "
					       "%u has F_NEXT", head, idx);
			if (!d.len || d.len % sizeof(d) || d.len / sizeof(d) > size)
				return vq_fail(vq, -EINVAL, "chain %u: indirect table of "
					       "%u bytes (not a multiple of 16 in [16, %u])",
					       head, d.len, size * 16);
			table = mem_ptr(vq->mem, d.addr, d.len);
			if (!table)
				return vq_fail(vq, -EFAULT, "chain %u: indirect table %#llx "
					       "(%u bytes) is not in RAM", head,
					       (unsigned long long)d.addr, d.len);
			entries = d.len / sizeof(d);
			indirect = true;
			idx = 0;
			continue;
		}
		if (++count > size)
			return vq_fail(vq, -ELOOP, "chain %u: more than %u descriptors "
				       "(a loop?)", head, size);
		if (d.len) {
			bool write = d.flags & VIRTQ_DESC_F_WRITE;
			void *p;

			if (!write && writing)
				return vq_fail(vq, -EINVAL, "chain %u: readable descriptor "
					       "after a writable one", head);
			p = mem_ptr(vq->mem, d.addr, d.len);
			if (!p)
				return vq_fail(vq, -EFAULT, "chain %u: buffer %#llx (%u bytes) "
					       "is not inside one RAM region", head,
					       (unsigned long long)d.addr, d.len);
			if (nseg == VIRTQ_MAX_SEGS)
				return vq_fail(vq, -E2BIG, "chain %u: more than %u buffers",
					       head, VIRTQ_MAX_SEGS);
			if (write) {
				/* Same reason as the used ring (check_layout). */
				if (ranges_overlap(d.addr, d.len, vq->s.avail_addr,
						   VIRTQ_AVAIL_BYTES(size)))
					return vq_fail(vq, -EINVAL, "chain %u: writable buffer "
						       "%#llx (%u bytes) overlaps the available "
						       "ring", head, (unsigned long long)d.addr,
						       d.len);
				wlen += d.len;
				writing = true;
			} else {
				rlen += d.len;
				nr_read++;
			}
			if (rlen > UINT32_MAX || wlen > UINT32_MAX)
				return vq_fail(vq, -EOVERFLOW, "chain %u: 4 GiB or more "
					       "of buffers", head);
			c->iov[nseg].iov_base = p;
			c->iov[nseg].iov_len = d.len;
			nseg++;
		}
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			break;
		if (d.next >= entries)
			return vq_fail(vq, -EINVAL, "chain %u: next index %u >= %u",
				       head, d.next, entries);
		idx = d.next;
	}
	c->head = head;
	c->nr_read = nr_read;
	c->nr_write = nseg - nr_read;
	c->read_len = rlen;
	c->write_len = wlen;
	return 0;
}

int virtq_pop(struct virtq *vq, struct virtq_chain *c)
{
	uint16_t size = vq->s.size, next = vq->s.next_avail;
	uint16_t avail_idx, pending, head;
	int ret;

	if (vq->broken)
		return -EIO;
	if (!vq->s.ready)
		return -EAGAIN;
	avail_idx = le16toh(__atomic_load_n(&vq->avail->idx, __ATOMIC_ACQUIRE));
	pending = avail_idx - next;
	if (!pending)
		return -EAGAIN;
	if (pending > size)
		return vq_fail(vq, -EINVAL, "avail idx %u is %u entries ahead of %u "
			       "(queue size %u)", avail_idx, pending, next, size);
	if ((uint16_t)(next - vq->s.next_used) >= size)
		return vq_fail(vq, -EINVAL, "more than %u chains in flight", size);
	head = le16toh(__atomic_load_n(&vq->avail->ring[next & (size - 1)],
				       __ATOMIC_RELAXED));
	if (head >= size)
		return vq_fail(vq, -EINVAL, "head %u >= queue size %u", head, size);
	ret = walk_chain(vq, head, c);
	if (ret)
		return ret;
	vq->s.next_avail = next + 1;
	return 0;
}

bool virtq_has_avail(struct virtq *vq)
{
	if (!vq->s.ready || vq->broken)
		return false;
	return le16toh(__atomic_load_n(&vq->avail->idx, __ATOMIC_ACQUIRE)) !=
	       vq->s.next_avail;
}

int virtq_chain_read(const struct virtq_chain *c, uint64_t offset, void *dst, uint64_t len)
{
	uint8_t *out = dst;

	if (offset > c->read_len || len > c->read_len - offset)
		return -EINVAL;
	for (unsigned int i = 0; i < c->nr_read && len; i++) {
		const struct iovec *v = &c->iov[i];
		uint64_t n;

		if (offset >= v->iov_len) {
			offset -= v->iov_len;
			continue;
		}
		n = MIN(len, v->iov_len - offset);
		memcpy(out, (const uint8_t *)v->iov_base + offset, n);
		out += n;
		len -= n;
		offset = 0;
	}
	return 0;
}

int virtq_chain_write(const struct virtq_chain *c, uint64_t offset, const void *src,
		      uint64_t len)
{
	const uint8_t *in = src;

	if (offset > c->write_len || len > c->write_len - offset)
		return -EINVAL;
	for (unsigned int i = c->nr_read; i < c->nr_read + c->nr_write && len; i++) {
		const struct iovec *v = &c->iov[i];
		uint64_t n;

		if (offset >= v->iov_len) {
			offset -= v->iov_len;
			continue;
		}
		n = MIN(len, v->iov_len - offset);
		memcpy((uint8_t *)v->iov_base + offset, in, n);
		in += n;
		len -= n;
		offset = 0;
	}
	return 0;
}

/*
 * A migration tracks device writes: mark the chain's writable buffers dirty
 * (walking it again, bounded; a guest that changed it meanwhile only hurts
 * its own migration) and the used ring.
 */
static void mark_chain_dirty(struct virtq *vq, uint16_t head)
{
	const uint8_t *table = vq->desc;
	uint32_t entries = vq->s.size, idx = head;
	bool indirect = false;
	struct virtq_desc d;

	for (uint32_t n = 0; n < 2u * vq->s.size + 1; n++) {
		read_desc(table, idx, &d);
		if ((d.flags & VIRTQ_DESC_F_INDIRECT) && !indirect) {
			if (!d.len || d.len % sizeof(d) || d.len / sizeof(d) > vq->s.size ||
			    !(table = mem_ptr(vq->mem, d.addr, d.len)))
				break;
			entries = d.len / sizeof(d);
			indirect = true;
			idx = 0;
			continue;
		}
		if ((d.flags & VIRTQ_DESC_F_WRITE) && mem_ptr(vq->mem, d.addr, d.len))
			mem_mark_dirty(vq->mem, d.addr, d.len);
		if (!(d.flags & VIRTQ_DESC_F_NEXT) || d.next >= entries)
			break;
		idx = d.next;
	}
	mem_mark_dirty(vq->mem, vq->s.used_addr, VIRTQ_USED_BYTES(vq->s.size));
}

int virtq_push(struct virtq *vq, uint16_t head, uint32_t written)
{
	uint16_t size = vq->s.size, idx = vq->s.next_used;
	struct virtq_used_elem *e;

	if (!vq->s.ready || vq->broken)
		return -EIO;
	if (head >= size || idx == vq->s.next_avail) {
		vq_warn(vq, "device bug: push of head %u with %u in flight", head,
			(uint16_t)(vq->s.next_avail - idx));
		return -EINVAL;
	}
	if (__atomic_load_n(&vq->mem->dirty_on, __ATOMIC_RELAXED))
		mark_chain_dirty(vq, head);
	e = &vq->used->ring[idx & (size - 1)];
	__atomic_store_n(&e->id, htole32(head), __ATOMIC_RELAXED);
	__atomic_store_n(&e->len, htole32(written), __ATOMIC_RELAXED);
	idx++;
	vq->s.next_used = idx;
	/* The element is visible before the index that publishes it. */
	__atomic_store_n(&vq->used->idx, htole16(idx), __ATOMIC_RELEASE);
	/* 32768 pushes without a decision: signalled_used no longer compares. */
	if ((int16_t)(idx - vq->s.signalled_used) < 1)
		vq->s.signalled_used_valid = 0;
	return 0;
}

/* Linux's vring_need_event(): did new_idx pass event since old? */
static bool need_event(uint16_t event, uint16_t new_idx, uint16_t old)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old);
}

bool virtq_needs_notify(struct virtq *vq)
{
	uint16_t old, event;
	bool valid;

	if (!vq->s.ready || vq->broken)
		return false;
	/* Our used->idx store before the driver's flags/used_event load. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!vq->s.event_idx)
		return !(le16toh(__atomic_load_n(&vq->avail->flags, __ATOMIC_RELAXED)) &
			 VIRTQ_AVAIL_F_NO_INTERRUPT);
	old = vq->s.signalled_used;
	valid = vq->s.signalled_used_valid;
	vq->s.signalled_used = vq->s.next_used;
	vq->s.signalled_used_valid = 1;
	if (!valid)
		return true;
	event = le16toh(__atomic_load_n(&vq->avail->ring[vq->s.size], __ATOMIC_RELAXED));
	return need_event(event, vq->s.next_used, old);
}

void virtq_set_notify(struct virtq *vq, bool enable)
{
	if (!vq->s.ready || vq->broken)
		return;
	if (vq->s.event_idx) {
		uint16_t *avail_event = (uint16_t *)(vq->used->ring + vq->s.size);

		if (enable)
			__atomic_store_n(avail_event, htole16(vq->s.next_avail),
					 __ATOMIC_RELAXED);
	} else {
		__atomic_store_n(&vq->used->flags,
				 htole16(enable ? 0 : VIRTQ_USED_F_NO_NOTIFY),
				 __ATOMIC_RELAXED);
	}
	/* The store before the caller's next look at avail->idx. */
	if (enable)
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

void virtq_save(const struct virtq *vq, struct virtq_state *out)
{
	memset(out, 0, sizeof(*out));
	out->desc_addr = vq->s.desc_addr;
	out->avail_addr = vq->s.avail_addr;
	out->used_addr = vq->s.used_addr;
	out->size = vq->s.size;
	out->next_avail = vq->s.next_avail;
	out->next_used = vq->s.next_used;
	out->signalled_used = vq->s.signalled_used;
	out->ready = vq->s.ready;
	out->event_idx = vq->s.event_idx;
	out->signalled_used_valid = vq->s.signalled_used_valid;
}

int virtq_restore(struct virtq *vq, const struct virtq_state *in)
{
	struct virtq_state s = *in;
	struct rings r = { 0 };
	char why[160];

	if (s.ready > 1 || s.event_idx > 1 || s.signalled_used_valid > 1) {
		pr_warn("%s: restore: flags %u/%u/%u are not 0 or 1", vq_name(vq),
			s.ready, s.event_idx, s.signalled_used_valid);
		return -EINVAL;
	}
	for (unsigned int i = 0; i < ARRAY_SIZE(s.reserved); i++) {
		if (s.reserved[i]) {
			pr_warn("%s: restore: reserved bytes are not 0", vq_name(vq));
			return -EINVAL;
		}
	}
	if (s.ready) {
		if (check_layout(vq, &s, &r, why, sizeof(why))) {
			pr_warn("%s: restore: %s", vq_name(vq), why);
			return -EINVAL;
		}
		if ((uint16_t)(s.next_avail - s.next_used) > s.size) {
			pr_warn("%s: restore: next_avail %u is more than %u ahead of "
				"next_used %u", vq_name(vq), s.next_avail, s.size, s.next_used);
			return -EINVAL;
		}
	}
	vq->s = s;
	vq->desc = r.desc;
	vq->avail = r.avail;
	vq->used = r.used;
	vq->broken = false;
	return 0;
}
