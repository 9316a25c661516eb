/*
 * virtio_ring.c - split virtqueues (VIRTIO 1.2 section 2.7): descriptor
 * chains, indirect descriptors, EVENT_IDX, polling the used ring; plus the
 * bump allocator for memory the devices reach by DMA.
 *
 * The ring functions touch only memory and the notify register (MMIO), so
 * tests run their loops over them at CPL3 (run_user), where kvm-pvm hosts
 * execute natively; virtq_run() does one request that way.
 */
#include "kit.h"

static u64 dma_next, dma_end;

static u64 zero_user(u64 argp)
{
	const u64 *a = (const u64 *)(uintptr_t)argp;
	volatile u64 *p = (volatile u64 *)(uintptr_t)a[0];

	for (u64 i = 0; i < a[1] / 8; i++)
		p[i] = 0;
	return 0;
}

void virtq_zero(void *p, u64 len)
{
	u64 a[2] = { (u64)(uintptr_t)p, len & ~7ULL };

	run_user(zero_user, (u64)(uintptr_t)a);
	if (len & 7)
		memset((u8 *)p + (len & ~7ULL), 0, len & 7);
}

void *virtq_dma_alloc(u64 size, u64 align)
{
	u64 a;

	if (!dma_end) {
		if (memmap_count && !memmap_is_ram(VIRTQ_DMA_BASE, VIRTQ_DMA_SIZE))
			kit_fail_stop("virtio DMA memory [%lx, %lx) is not RAM (need mem >= 128M)",
				      VIRTQ_DMA_BASE, VIRTQ_DMA_BASE + VIRTQ_DMA_SIZE);
		dma_next = VIRTQ_DMA_BASE;
		dma_end = VIRTQ_DMA_BASE + VIRTQ_DMA_SIZE;
		virtq_zero((void *)(uintptr_t)dma_next, VIRTQ_DMA_SIZE);
	}
	if (!align)
		align = 16;
	a = (dma_next + align - 1) & ~(align - 1);
	if (a + size > dma_end)
		return NULL;
	dma_next = a + size;
	return (void *)(uintptr_t)a;
}

bool virtq_init(struct virtq *q, u16 index, u16 size, bool event_idx, bool indirect)
{
	u64 avail_bytes = 6 + 2 * (u64)size, used_bytes = 6 + 8 * (u64)size;

	if (!size || size > VIRTQ_MAX_SIZE)
		return false;
	memset(q, 0, sizeof(*q));
	q->index = index;
	q->size = size;
	q->event_idx = event_idx;
	q->indirect = indirect;
	q->desc = virtq_dma_alloc(16 * (u64)size, 4096);
	q->avail = virtq_dma_alloc(avail_bytes, 4096);
	q->used = virtq_dma_alloc(used_bytes, 4096);
	if (!q->desc || !q->avail || !q->used)
		return false;
	for (u16 i = 0; i < size; i++)
		q->desc[i].next = (u16)(i + 1);
	q->free_head = 0;
	q->num_free = size;
	if (indirect) {
		u8 *t = virtq_dma_alloc((u64)size * VIRTQ_INDIRECT_MAX * 16, 4096);

		if (!t)
			return false;
		for (u16 i = 0; i < size; i++)
			q->ind[i] = (struct virtq_desc *)(t + (u64)i * VIRTQ_INDIRECT_MAX * 16);
	}
	return true;
}

int virtq_add(struct virtq *q, const struct virtq_buf *b, u16 nout, u16 nin)
{
	u16 n = nout + nin, head, idx;

	if (!n)
		return -1;
	if (q->indirect && n > 1 && n <= VIRTQ_INDIRECT_MAX) {
		struct virtq_desc *t;

		if (!q->num_free)
			return -1;
		head = q->free_head;
		q->free_head = q->desc[head].next;
		q->num_free--;
		t = q->ind[head];
		for (u16 i = 0; i < n; i++) {
			t[i].addr = b[i].addr;
			t[i].len = b[i].len;
			t[i].flags = (i >= nout ? VIRTQ_DESC_F_WRITE : 0) |
				     (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0);
			t[i].next = (u16)(i + 1 < n ? i + 1 : 0);
		}
		q->desc[head].addr = (u64)(uintptr_t)t;
		q->desc[head].len = n * 16;
		q->desc[head].flags = VIRTQ_DESC_F_INDIRECT;
		q->chain_len[head] = 1;
	} else {
		if (q->num_free < n)
			return -1;
		head = idx = q->free_head;
		for (u16 i = 0; i < n; i++) {
			u16 next = q->desc[idx].next;

			q->desc[idx].addr = b[i].addr;
			q->desc[idx].len = b[i].len;
			q->desc[idx].flags = (i >= nout ? VIRTQ_DESC_F_WRITE : 0) |
					     (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0);
			if (i + 1 < n)
				idx = next;
			else
				q->free_head = next;
		}
		q->num_free -= n;
		q->chain_len[head] = n;
	}
	q->avail[2 + q->avail_idx % q->size] = head;
	cpu_barrier();		/* x86: stores stay in order; the compiler must too */
	q->avail_idx++;
	q->avail[1] = q->avail_idx;
	q->added++;
	return head;
}

void virtq_kick(struct virtq *q)
{
	bool need;

	__asm__ volatile("mfence" ::: "memory");	/* avail idx before avail_event */
	if (q->event_idx) {
		u16 event = q->used[2 + 4 * q->size];	/* avail_event */
		u16 new_idx = q->avail_idx, old = q->kicked_idx;

		need = (u16)(new_idx - event - 1) < (u16)(new_idx - old);
	} else {
		need = !(q->used[0] & 1);		/* VIRTQ_USED_F_NO_NOTIFY */
	}
	q->kicked_idx = q->avail_idx;
	if (need) {
		mmio_write16(q->notify_addr, q->index);
		q->kicks++;
	}
}

bool virtq_get(struct virtq *q, u16 *head, u32 *len)
{
	u16 slot, id, n;

	if (q->used[1] == q->last_used)
		return false;
	cpu_barrier();
	slot = q->last_used % q->size;
	id = (u16)*(volatile u32 *)&q->used[2 + 4 * slot];
	if (len)
		*len = *(volatile u32 *)&q->used[2 + 4 * slot + 2];
	q->last_used++;
	if (id >= q->size) {
		*head = 0xFFFF;
		return true;
	}
	*head = id;
	/* back to the free list: walk the chain */
	n = q->chain_len[id];
	{
		u16 last = id;

		for (u16 i = 1; i < n; i++)
			last = q->desc[last].next;
		q->desc[last].next = q->free_head;
	}
	q->free_head = id;
	q->num_free += n;
	q->chain_len[id] = 0;
	q->completed++;
	/* used_event stays where virtq_irq() put it: moving it here could race
	 * with the device's check after it published this entry, and the
	 * interrupt a test waits for would (rightly) not come */
	return true;
}

void virtq_irq(struct virtq *q, bool enable)
{
	q->irq_on = enable;
	if (q->event_idx)
		q->avail[2 + q->size] = enable ? q->last_used : (u16)(q->last_used - 0x8000);
	q->avail[0] = enable ? 0 : VIRTQ_AVAIL_F_NO_INTERRUPT;
	__asm__ volatile("mfence" ::: "memory");
}

static u64 spin_user(u64 us)
{
	u64 end = tsc_deadline_us(us);

	while (!tsc_passed(end))
		cpu_pause();
	return 0;
}

void virtq_irq_drain(u64 us)
{
	run_user_irq(spin_user, us);
}

struct irq_wait_args {
	volatile u32 *counter;
	u32 before;
	u64 us;
};

static u64 irq_wait_user(u64 argp)
{
	struct irq_wait_args *a = (void *)(uintptr_t)argp;
	u64 end = tsc_deadline_us(a->us);

	while (*a->counter == a->before && !tsc_passed(end))
		cpu_pause();
	return *a->counter != a->before;
}

bool virtq_irq_wait(volatile u32 *counter, u32 before, u64 us)
{
	struct irq_wait_args a = { counter, before, us };

	return run_user_irq(irq_wait_user, (u64)(uintptr_t)&a) == 1;
}

struct virtq_run_args {
	struct virtq *q;
	const struct virtq_buf *b;
	u16 nout, nin;
	u64 timeout_us;
	u32 len;
};

static u64 virtq_run_user(u64 argp)
{
	struct virtq_run_args *a = (void *)(uintptr_t)argp;
	int head = virtq_add(a->q, a->b, a->nout, a->nin);
	u64 end;
	u16 got;

	if (head < 0)
		return (u64)(s64)VIRTQ_ERR_FULL;
	virtq_kick(a->q);
	end = tsc_deadline_us(a->timeout_us);
	for (;;) {
		if (virtq_get(a->q, &got, &a->len))
			return got == head ? 0 : (u64)(s64)VIRTQ_ERR_ID;
		if (tsc_passed(end))
			return (u64)(s64)VIRTQ_ERR_TIMEOUT;
		cpu_pause();
	}
}

int virtq_run(struct virtq *q, const struct virtq_buf *b, u16 nout, u16 nin, u32 *used_len,
	      u64 timeout_us, bool irq)
{
	struct virtq_run_args a = { q, b, nout, nin, timeout_us, 0 };
	u64 r = irq ? run_user_irq(virtq_run_user, (u64)(uintptr_t)&a)
		    : run_user(virtq_run_user, (u64)(uintptr_t)&a);

	if (user_fault_vector >= 0)
		return VIRTQ_ERR_FAULT;
	if (used_len)
		*used_len = a.len;
	return (int)(s64)r;
}

const char *virtq_strerror(int err)
{
	switch (err) {
	case 0: return "ok";
	case VIRTQ_ERR_FULL: return "queue full";
	case VIRTQ_ERR_TIMEOUT: return "no used buffer before the timeout";
	case VIRTQ_ERR_FAULT: {
		static char buf[96];

		fmt_snprintf(buf, sizeof(buf), "exception %d at CPL3 (rip %lx cr2 %lx)",
			     user_fault_vector, user_fault_rip, user_fault_cr2);
		return buf;
	}
	case VIRTQ_ERR_ID: return "the device returned another buffer than the one added";
	default: return "?";
	}
}
