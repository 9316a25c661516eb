/*
 * test_migrate.c - test=migrate: a guest whose memory keeps changing, for
 * pause/resume, snapshot/restore and (live) migration tests on the host
 * (QEMU's migration-test pattern).
 *
 *   test=migrate [buf=SIZE] [cpus=N] [passes=N] [period_ms=MS]
 *
 * At CPL3 the boot CPU increments the first byte of every 4 KiB page of the
 * buffer [MIG_BUF_ADDR, +buf) (default 64M), lowest page first, pass after
 * pass; after each complete pass it increments the 64-bit pass counter in
 * the info page.  The buffer starts zeroed, so after P complete passes every
 * page's first byte is P mod 256, and while pass P+1 runs the pages below
 * the writer hold P+1 mod 256 and the rest P mod 256: one edge at most.
 * With cpus=N (N >= 2) every AP runs a counter loop of its own at CPL3.
 * About every period_ms (default 500) the boot CPU comes back to CPL0 and
 * prints a progress line; it never stops unless passes=N is given (then it
 * checks the pattern after N passes and reports PASS).
 *
 * Console lines (the host parses them):
 *   KITE-MIG buf=0x4000000 size=0x4000000 info=0x3fff000 cpus=2 tsc_khz=... period_ms=500
 *   KITE-MIG pass=P cpu1=M [cpu2=...] tsc=T   (T: the TSC when printed)
 *
 * Info page at MIG_INFO_ADDR (little-endian u64s):
 *   +0 magic "KITEMIG1"   +8 pass (completed passes)   +16 page index where
 *   the writer was when it last came back to CPL0   +24 buffer address
 *   +32 buffer size   +40 number of CPUs   +64*k counter of cpu k (k >= 1)
 *
 * APs: smp.c leaves them in cli/hlt after they report; an NMI (which wakes
 * them) sends each to its counter loop at CPL3 by rewriting the interrupt
 * frame.  They never come back to CPL0 (they have no TSS of their own).
 * TSC frequency: measured against PIT channel 0 (~10 ms) for the period.
 */
#include "kit.h"

#define MIG_INFO_ADDR	((u64)0x3FFF000)	/* the page just below the buffer */
#define MIG_BUF_ADDR	((u64)0x4000000)	/* 64 MiB */
#define MIG_PAGE	((u64)4096)
#define MIG_MAGIC	0x3147494D4554494BULL	/* "KITEMIG1" */
#define MIG_MAX_AP	7

struct mig_info {
	u64 magic;
	u64 pass;
	u64 pos;
	u64 buf, size;
	u64 ncpus;
	u64 pad[2];
	struct { u64 count; u64 pad[7]; } cpu[MIG_MAX_AP];	/* cpu k: cpu[k - 1] */
};

_Static_assert(sizeof(struct mig_info) <= 4096, "info page");
_Static_assert(__builtin_offsetof(struct mig_info, cpu) == 64, "cpu k at +64*k");

struct mig_args {
	volatile struct mig_info *info;
	volatile u8 *buf;
	u64 pages;
	u64 pos;		/* next page of the current pass */
	u64 pass;		/* completed passes */
	u64 stop_pass;		/* 0: never */
	u64 period_tsc;
};

extern u8 smp_ap_stacks[SMP_MAX_AP][1u << SMP_AP_STACK_SHIFT];
static u8 mig_ap_user_stack[MIG_MAX_AP][4096] __attribute__((aligned(16)));
static volatile u32 mig_ap_entered;

/* CPL3: passes over the buffer until the period is over (or stop_pass). */
static u64 mig_work(u64 argp)
{
	struct mig_args *a = (void *)(uintptr_t)argp;
	volatile u8 *buf = a->buf;
	u64 pos = a->pos, pass = a->pass, t0 = rdtsc();

	for (;;) {
		u64 end = pos + 256 < a->pages ? pos + 256 : a->pages;

		for (; pos < end; pos++)
			buf[pos * MIG_PAGE]++;
		if (pos == a->pages) {
			pos = 0;
			a->info->pass = ++pass;
			if (a->stop_pass && pass >= a->stop_pass)
				break;
		}
		{
			u64 now = rdtsc();

			/* (a TSC that went backwards ends the period too) */
			if (now - t0 >= a->period_tsc || now < t0)
				break;
		}
	}
	a->pos = pos;
	a->pass = pass;
	a->info->pos = pos;
	return 0;
}

/* CPL3: zero the first byte of every page. */
static u64 mig_zero(u64 argp)
{
	struct mig_args *a = (void *)(uintptr_t)argp;

	for (u64 i = 0; i < a->pages; i++)
		a->buf[i * MIG_PAGE] = 0;
	return 0;
}

/* CPL3 on an AP, forever. */
static void mig_ap_loop(u64 cpu)
{
	volatile struct mig_info *info = (void *)(uintptr_t)MIG_INFO_ADDR;

	for (;;)
		info->cpu[cpu - 1].count++;
}

/* NMI: on an AP parked in smp.c's hlt loop, go to mig_ap_loop at CPL3. */
static void mig_nmi(struct idt_frame *f)
{
	u64 base = (u64)(uintptr_t)smp_ap_stacks;
	u64 idx;

	if (f->rsp <= base || f->rsp > base + sizeof(smp_ap_stacks))
		return;		/* not on an AP's stack: not ours */
	idx = (f->rsp - 1 - base) >> SMP_AP_STACK_SHIFT;
	if (idx >= MIG_MAX_AP)
		return;
	f->rdi = idx + 1;
	f->rip = (u64)(uintptr_t)mig_ap_loop;
	f->cs = KITE_USER_CS;
	f->ss = KITE_USER_DS;
	f->rsp = (u64)(uintptr_t)&mig_ap_user_stack[idx][4096 - 8];
	f->rflags = 0x2;	/* IF=0 */
	__atomic_fetch_add(&mig_ap_entered, 1, __ATOMIC_SEQ_CST);
}

/* PIT channel 0 count (latched). */
static u16 mig_pit_read(void)
{
	u8 lo, hi;

	outb(0x43, 0x00);
	lo = inb(0x40);
	hi = inb(0x40);
	return (u16)(hi << 8 | lo);
}

/* TSC kHz from ~10 ms of PIT channel 0 (1.193182 MHz); 0 if it doesn't count. */
static u64 mig_tsc_khz(void)
{
	u64 t0, t1, limit = 200000ULL * TSC_MAX_MHZ;	/* >= 200 ms */
	u16 c0, c;

	outb(0x43, 0x30);	/* channel 0, lobyte/hibyte, mode 0, binary */
	outb(0x40, 0xFF);
	outb(0x40, 0xFF);
	c0 = mig_pit_read();
	t0 = rdtsc();
	do {
		c = mig_pit_read();
		t1 = rdtsc();
		if (t1 - t0 > limit)
			return 0;
	} while ((u16)(c0 - c) < 11932);
	return (t1 - t0) * 1193182ULL / ((u64)(u16)(c0 - c) * 1000);
}

static const char *mig_check(const struct mig_args *a)
{
	u8 want = (u8)a->pass;

	for (u64 i = 0; i < a->pages; i++)
		if (a->buf[i * MIG_PAGE] != want)
			return kit_reason("page %lu holds %u after %lu passes, expected %u", i,
					  a->buf[i * MIG_PAGE], a->pass, want);
	return NULL;
}

const char *test_migrate(void)
{
	volatile struct mig_info *info = (void *)(uintptr_t)MIG_INFO_ADDR;
	struct mig_args a = { 0 };
	u64 size = 64 * MIB, ncpus = 1, period_ms = 500, khz, stop = 0;
	u32 naps = 0;

	cmdline_u64("buf", &size);
	cmdline_u64("cpus", &ncpus);
	cmdline_u64("period_ms", &period_ms);
	cmdline_u64("passes", &stop);
	size &= ~(MIG_PAGE - 1);
	if (!size)
		return "buf= must be at least 4K";
	if (ncpus < 1 || ncpus > 1 + MIG_MAX_AP)
		return kit_reason("cpus=%lu: 1 to %u supported", ncpus, 1 + MIG_MAX_AP);
	if (memmap_count && !memmap_is_ram(MIG_INFO_ADDR, MIG_BUF_ADDR - MIG_INFO_ADDR + size))
		return kit_reason("[%lx, %lx) is not RAM (need mem >= buf + 64M)", MIG_INFO_ADDR,
				  MIG_BUF_ADDR + size);
	khz = mig_tsc_khz();
	if (!khz)
		khz = TSC_MAX_MHZ * 1000;	/* no PIT: periods get longer */
	serial_printf("KITE-MIG buf=0x%lx size=0x%lx info=0x%lx cpus=%lu tsc_khz=%lu period_ms=%lu\n",
		      MIG_BUF_ADDR, size, MIG_INFO_ADDR, ncpus, khz, period_ms);

	memset((void *)(uintptr_t)MIG_INFO_ADDR, 0, MIG_PAGE);
	info->buf = MIG_BUF_ADDR;
	info->size = size;
	info->ncpus = ncpus;
	a.info = info;
	a.buf = (volatile u8 *)(uintptr_t)MIG_BUF_ADDR;
	a.pages = size / MIG_PAGE;
	a.stop_pass = stop;
	a.period_tsc = khz * period_ms;
	run_user(mig_zero, (u64)(uintptr_t)&a);
	if (user_fault_vector >= 0)
		return kit_reason("exception %d at CPL3 zeroing the buffer (rip %lx cr2 %lx)",
				  user_fault_vector, user_fault_rip, user_fault_cr2);

	if (ncpus > 1) {
		if (!acpi_init() || !madt_init())
			return "no MADT";
		if (madt.ncpus != ncpus)
			return kit_reason("MADT lists %u CPUs, cpus=%lu", madt.ncpus, ncpus);
		idt_set_handler(2, mig_nmi);
		naps = smp_start_aps(madt.cpu_apic_id, madt.ncpus, 2000000);
		if (naps != ncpus - 1)
			return kit_reason("%u of %lu APs started", naps, ncpus - 1);
		for (u32 i = 0; i < naps; i++)
			if (!lapic_send_ipi(smp_ap_apic_id[i], 0x4400))	/* NMI */
				return kit_reason("NMI to APIC ID %u not delivered",
						  smp_ap_apic_id[i]);
		for (u64 end = tsc_deadline_us(2000000); mig_ap_entered < naps;)
			if (tsc_passed(end))
				return kit_reason("%u of %u APs took the NMI", mig_ap_entered, naps);
	}
	info->magic = MIG_MAGIC;	/* last: the host may look for it */

	for (;;) {
		run_user(mig_work, (u64)(uintptr_t)&a);
		if (user_fault_vector >= 0)
			return kit_reason("exception %d at CPL3 (rip %lx cr2 %lx)", user_fault_vector,
					  user_fault_rip, user_fault_cr2);
		serial_printf("KITE-MIG pass=%lu", a.pass);
		for (u32 i = 1; i <= naps; i++)
			serial_printf(" cpu%u=%lu", i, info->cpu[i - 1].count);
		serial_printf(" tsc=%lu\n", rdtsc());
		if (stop && a.pass >= stop)
			return mig_check(&a);
	}
}
