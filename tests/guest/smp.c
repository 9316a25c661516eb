/*
 * smp.c - start application processors with INIT-SIPI-SIPI.
 *
 * Each AP runs smp_tramp.S (real mode, copied below 1 MiB) -> ap_start32
 * -> long mode (entry.S), takes a stack by atomic increment of smp_ap_next
 * and calls smp_ap_main(), which records the APIC ID read from its LAPIC.
 */
#include "kit.h"

volatile u32 smp_ap_next;
volatile u32 smp_ap_count;
volatile u32 smp_ap_apic_id[SMP_MAX_AP];
u8 smp_ap_stacks[SMP_MAX_AP][1u << SMP_AP_STACK_SHIFT] __attribute__((aligned(16)));

extern const u8 smp_tramp_start[], smp_tramp_end[];

void smp_ap_main(u32 index)
{
	smp_ap_apic_id[index] = lapic_id();
	__atomic_fetch_add(&smp_ap_count, 1, __ATOMIC_SEQ_CST);
}

static bool smp_reported(u32 apic_id)
{
	u32 n = smp_ap_count;

	for (u32 i = 0; i < n && i < SMP_MAX_AP; i++)
		if (smp_ap_apic_id[i] == apic_id)
			return true;
	return false;
}

static bool smp_wait(u32 want, u64 us)
{
	u64 end = tsc_deadline_us(us);

	while (smp_ap_count < want) {
		if (tsc_passed(end))
			return false;
		cpu_pause();
	}
	return true;
}

u32 smp_start_aps(const u32 *ids, u32 n, u64 timeout_us)
{
	u32 self = lapic_id(), want = 0;
	u32 sipi = 0x4600 | (SMP_TRAMPOLINE_ADDR >> 12);	/* StartUp, assert */

	if (memmap_count && !memmap_is_ram(SMP_TRAMPOLINE_ADDR, 4096))
		serial_printf("smp: warning: trampoline page %x is not RAM in the memory map\n",
			      SMP_TRAMPOLINE_ADDR);
	memcpy((void *)(uintptr_t)SMP_TRAMPOLINE_ADDR, smp_tramp_start,
	       (size_t)(smp_tramp_end - smp_tramp_start));
	lapic_enable();
	for (u32 i = 0; i < n; i++) {
		if (ids[i] == self)
			continue;
		want++;
		if (!lapic_send_ipi(ids[i], 0x4500))		/* INIT, assert */
			serial_printf("smp: INIT to %u not delivered\n", ids[i]);
	}
	if (!want)
		return 0;
	tsc_delay_us(10000);
	for (u32 i = 0; i < n; i++)
		if (ids[i] != self && !lapic_send_ipi(ids[i], sipi))
			serial_printf("smp: SIPI to %u not delivered\n", ids[i]);
	if (!smp_wait(want, 1000)) {
		for (u32 i = 0; i < n; i++)
			if (ids[i] != self && !smp_reported(ids[i]))
				lapic_send_ipi(ids[i], sipi);
		smp_wait(want, timeout_us);
	}
	return smp_ap_count;
}
