/*
 * test_cpl3.c - run_user() on a loop that writes and sums 64 MiB of RAM:
 * CPL3 code runs natively, so this must be fast and correct.
 */
#include "kit.h"

#define CPL3_BASE	(16 * MIB)
#define CPL3_SIZE	(64 * MIB)
#define CPL3_MAX_TSC	(5000ULL * 1000 * 1000)	/* >= ~1.2 s; emulated would take ~1 min */

struct cpl3_args {
	u64 base, words;
	u64 written_sum;
};

static u64 cpl3_work(u64 argp)
{
	struct cpl3_args *a = (void *)(uintptr_t)argp;
	volatile u64 *p = (volatile u64 *)(uintptr_t)a->base;
	u64 wsum = 0, rsum = 0;

	for (u64 i = 0; i < a->words; i++) {
		u64 v = i * 0x9E3779B97F4A7C15ULL + 1;

		p[i] = v;
		wsum += v;
	}
	for (u64 i = 0; i < a->words; i++)
		rsum += p[i];
	a->written_sum = wsum;
	return rsum;
}

const char *test_cpl3(void)
{
	struct cpl3_args a = { CPL3_BASE, CPL3_SIZE / 8, 0 };
	u64 t0, dt, sum, expect;

	if (memmap_count && !memmap_is_ram(CPL3_BASE, CPL3_SIZE))
		return "[16 MiB, 80 MiB) is not RAM in the memory map (need mem >= 128M)";
	t0 = rdtsc();
	sum = run_user(cpl3_work, (u64)(uintptr_t)&a);
	dt = rdtsc() - t0;
	if (user_fault_vector >= 0)
		return kit_reason("exception %d at CPL3 (rip %lx cr2 %lx)", user_fault_vector,
				  user_fault_rip, user_fault_cr2);
	/* sum of i*K+1 for i < n, mod 2^64 */
	{
		u64 n = a.words, K = 0x9E3779B97F4A7C15ULL;
		u64 tri = (n % 2 == 0) ? (n / 2) * (n - 1) : n * ((n - 1) / 2);

		expect = tri * K + n;
	}
	serial_printf("cpl3: wrote+summed %lu MiB at CPL3 in %lu TSC ticks, sum %lx (expect %lx)\n",
		      CPL3_SIZE >> 20, dt, sum, expect);
	if (sum != expect || a.written_sum != expect)
		return kit_reason("sum %lx (written %lx), expected %lx", sum, a.written_sum, expect);
	if (dt > CPL3_MAX_TSC)
		return kit_reason("took %lu TSC ticks: CPL3 does not run natively?", dt);
	return NULL;
}
