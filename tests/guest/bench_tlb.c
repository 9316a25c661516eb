/*
 * bench_tlb.c - start-up marker and a TLB-heavy random walk for bench/memory.
 *
 *   test=bench_tlb [base=256M] [size=2G] [cycles=16]
 *
 * Prints KITE-BENCH-MARKER first thing (bench/memory times process start to
 * it; main.c has already set up the serial port, the boot info and the memory
 * map by then, a few thousand emulated CPL0 instructions more than `hello`),
 * then, all at CPL3 with interrupts off, over the n = size / 4 KiB pages of
 * [base, base + size) (RAM below 4 GiB, identity mapped by entry.S with
 * 2 MiB guest pages, so the guest's own TLB footprint is small and the host's
 * page size is what decides):
 *   touch    writes one u64 into every page, in address order: the guest's
 *            first touch of the range (host page faults when not prefaulted)
 *   shuffle  Sattolo's shuffle of those page indices: a random cyclic
 *            permutation (one cycle through all n pages), xorshift64* PRNG
 *   link     turns each index into the address of that page's slot
 *   walk     pointer chase: cycles * n dependent loads, each in another page
 *            chosen by the permutation; every load is a TLB miss and a cache
 *            miss unless the host's pages are big enough for the TLB
 * Each page's slot is one cache line at a pseudo-random line offset within
 * the page (i * golden ratio, top 6 bits), so the lines spread over all cache
 * sets instead of piling into the few that offset 0 of every page maps to.
 * The walk must end where it started (cycles whole cycles): else FAIL.
 *
 * Output, machine-readable (bench/memory parses it):
 *   KITE-BENCH-MARKER
 *   KITE-BENCH-BEGIN tsc=T
 *   KITE-BENCH phase=NAME pages=N steps=N ticks=N          (touch, shuffle, link)
 *   KITE-BENCH phase=walk pages=N steps=N ticks=N chunk=8192 chunks=N
 *              chunk_min=N chunk_p10=N chunk_med=N
 *   KITE-BENCH-END tsc=T
 * ticks are guest TSC ticks read at CPL3 around each phase; the walk is also
 * timed per chunk of 8192 loads (fastest, 10th percentile and median chunk):
 * on a busy host the vCPU thread gets preempted and TSC time runs on, and
 * the fast chunks are the undisturbed ones.  The guest does
 * not know its TSC frequency: the harness derives it from the BEGIN/END lines
 * (TSC difference over the host time between their arrival, ~1 s or more
 * apart), as bench/blk does.
 */
#include "kit.h"

#define TLB_PAGE	4096ULL
#define TLB_MAX_TOP	(4 * GIB - 64 * MIB)	/* stay below the MMIO hole */

struct tlb_args {
	u64 base, pages, steps;
	u64 seed;
	u64 ticks;	/* out */
	u64 end;	/* out: walk's last address */
	u64 chunks;	/* out: walk chunks timed (tlb_chunk_ticks, sorted) */
};

/* The walk is timed in chunks of TLB_CHUNK loads too: on a busy host the
 * vCPU thread is preempted now and then, and TSC time runs on meanwhile;
 * the fastest chunks are the ones that ran undisturbed. */
#define TLB_CHUNK	((u64)8192)
#define TLB_MAX_CHUNKS	4096
static u64 tlb_chunk_ticks[TLB_MAX_CHUNKS];

static inline u64 *tlb_slot(u64 base, u64 i)
{
	u64 line = (i * 0x9E3779B97F4A7C15ULL) >> 58;	/* 0..63 */

	return (u64 *)(uintptr_t)(base + i * TLB_PAGE + line * 64);
}

static u64 tlb_touch_user(u64 argp)
{
	struct tlb_args *a = (void *)(uintptr_t)argp;
	u64 t0 = rdtsc();

	for (u64 i = 0; i < a->pages; i++)
		*(volatile u64 *)tlb_slot(a->base, i) = i;
	a->ticks = rdtsc() - t0;
	return 0;
}

static u64 tlb_shuffle_user(u64 argp)
{
	struct tlb_args *a = (void *)(uintptr_t)argp;
	u64 x = a->seed | 1, t0 = rdtsc();

	/* Sattolo: for i = n-1 .. 1, swap a[i] with a[j], j uniform in [0, i). */
	for (u64 i = a->pages - 1; i > 0; i--) {
		u64 *pi = tlb_slot(a->base, i), *pj, v, r;

		x ^= x >> 12;
		x ^= x << 25;
		x ^= x >> 27;
		r = x * 0x2545F4914F6CDD1DULL;
		pj = tlb_slot(a->base, (u64)(((unsigned __int128)r * i) >> 64));
		v = *pi;
		*pi = *pj;
		*pj = v;
	}
	a->ticks = rdtsc() - t0;
	return 0;
}

static u64 tlb_link_user(u64 argp)
{
	struct tlb_args *a = (void *)(uintptr_t)argp;
	u64 t0 = rdtsc();

	for (u64 i = 0; i < a->pages; i++) {
		u64 *p = tlb_slot(a->base, i);

		*p = (u64)(uintptr_t)tlb_slot(a->base, *p);
	}
	a->ticks = rdtsc() - t0;
	return 0;
}

static u64 tlb_walk_user(u64 argp)
{
	struct tlb_args *a = (void *)(uintptr_t)argp;
	const u64 *p = tlb_slot(a->base, 0);
	u64 left = a->steps, n = 0, t0 = rdtsc(), t = t0;

	while (left) {
		u64 k = left < TLB_CHUNK ? left : TLB_CHUNK, t1;

		for (u64 i = k; i; i--)
			p = (const u64 *)(uintptr_t)*p;
		t1 = rdtsc();
		if (k == TLB_CHUNK && n < TLB_MAX_CHUNKS)
			tlb_chunk_ticks[n++] = t1 - t;
		t = t1;
		left -= k;
	}
	a->ticks = t - t0;
	a->end = (u64)(uintptr_t)p;
	/* insertion sort: a few thousand entries at most */
	for (u64 i = 1; i < n; i++) {
		u64 v = tlb_chunk_ticks[i], j = i;

		for (; j && tlb_chunk_ticks[j - 1] > v; j--)
			tlb_chunk_ticks[j] = tlb_chunk_ticks[j - 1];
		tlb_chunk_ticks[j] = v;
	}
	a->chunks = n;
	return 0;
}

static const char *tlb_phase(const char *name, user_fn fn, struct tlb_args *a)
{
	run_user(fn, (u64)(uintptr_t)a);
	if (user_fault_vector >= 0)
		return kit_reason("%s: exception %d at CPL3 (rip %lx cr2 %lx)", name,
				  user_fault_vector, user_fault_rip, user_fault_cr2);
	if (fn != tlb_walk_user) {
		serial_printf("KITE-BENCH phase=%s pages=%lu steps=%lu ticks=%lu\n", name,
			      a->pages, a->pages, a->ticks);
		return NULL;
	}
	if (!a->chunks)
		return kit_reason("walk: fewer than %lu steps", TLB_CHUNK);
	serial_printf("KITE-BENCH phase=%s pages=%lu steps=%lu ticks=%lu chunk=%lu chunks=%lu "
		      "chunk_min=%lu chunk_p10=%lu chunk_med=%lu\n", name, a->pages, a->steps,
		      a->ticks, TLB_CHUNK, a->chunks, tlb_chunk_ticks[0],
		      tlb_chunk_ticks[a->chunks / 10], tlb_chunk_ticks[a->chunks / 2]);
	return NULL;
}

const char *test_bench_tlb(void)
{
	struct tlb_args a = { .seed = 0x853C49E6748FEA9BULL };
	u64 base = 256 * MIB, size = 2 * GIB, cycles = 16;
	const char *why;

	serial_puts("KITE-BENCH-MARKER\n");	/* bench/memory: start-to-marker */
	cmdline_u64("base", &base);
	cmdline_u64("size", &size);
	cmdline_u64("cycles", &cycles);
	if (base % TLB_PAGE || size < 2 * TLB_PAGE || size % TLB_PAGE || !cycles ||
	    base + size > TLB_MAX_TOP || base < 64 * MIB)
		return kit_reason("bad base=%lx size=%lx cycles=%lu (4 KiB multiples, "
				  "64 MiB <= base, base + size <= %lx)", base, size, cycles,
				  TLB_MAX_TOP);
	if (memmap_count && !memmap_is_ram(base, size))
		return kit_reason("[%lx, %lx) is not RAM in the memory map (need mem >= %lu MiB)",
				  base, base + size, (base + size) >> 20);
	a.base = base;
	a.pages = size / TLB_PAGE;
	a.steps = cycles * a.pages;
	serial_printf("bench_tlb: %lu MiB at %lx, %lu pages, %lu steps\n", size >> 20, base,
		      a.pages, a.steps);

	serial_printf("KITE-BENCH-BEGIN tsc=%lu\n", rdtsc());
	if ((why = tlb_phase("touch", tlb_touch_user, &a)) ||
	    (why = tlb_phase("shuffle", tlb_shuffle_user, &a)) ||
	    (why = tlb_phase("link", tlb_link_user, &a)) ||
	    (why = tlb_phase("walk", tlb_walk_user, &a)))
		return why;
	serial_printf("KITE-BENCH-END tsc=%lu\n", rdtsc());
	if (a.end != (u64)(uintptr_t)tlb_slot(base, 0))
		return kit_reason("walk ended at %lx, not at its start %lx: not one cycle", a.end,
				  (u64)(uintptr_t)tlb_slot(base, 0));
	return NULL;
}
