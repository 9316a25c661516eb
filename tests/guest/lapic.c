/*
 * lapic.c - local APIC: xAPIC MMIO at the MADT's address, or the x2APIC MSRs
 * when firmware/VMM left the LAPIC in x2APIC mode.
 */
#include "kit.h"

#define MSR_APIC_BASE		0x1B
#define APIC_BASE_ENABLE	(1u << 11)
#define APIC_BASE_X2APIC	(1u << 10)
#define MSR_X2APIC_BASE		0x800

u64 lapic_base = 0xFEE00000;

static bool lapic_x2(void)
{
	return rdmsr(MSR_APIC_BASE) & APIC_BASE_X2APIC;
}

u32 lapic_read(u32 reg)
{
	if (lapic_x2())
		return (u32)rdmsr(MSR_X2APIC_BASE + (reg >> 4));
	return mmio_read32(lapic_base + reg);
}

void lapic_write(u32 reg, u32 val)
{
	if (lapic_x2())
		wrmsr(MSR_X2APIC_BASE + (reg >> 4), val);
	else
		mmio_write32(lapic_base + reg, val);
}

u32 lapic_id(void)
{
	if (lapic_x2())
		return (u32)rdmsr(MSR_X2APIC_BASE + (LAPIC_ID >> 4));
	return mmio_read32(lapic_base + LAPIC_ID) >> 24;
}

bool lapic_enabled(void)
{
	return (rdmsr(MSR_APIC_BASE) & APIC_BASE_ENABLE) && (lapic_read(LAPIC_SVR) & 0x100);
}

void lapic_enable(void)
{
	u64 apic_base_msr = rdmsr(MSR_APIC_BASE);

	if (!(apic_base_msr & APIC_BASE_ENABLE))
		wrmsr(MSR_APIC_BASE, apic_base_msr | APIC_BASE_ENABLE);
	lapic_write(LAPIC_TPR, 0);
	lapic_write(LAPIC_SVR, 0x100 | LAPIC_SPURIOUS_VECTOR);
}

bool lapic_x2apic_enable(void)
{
	u32 a, b, c, d;
	u64 msr = rdmsr(MSR_APIC_BASE);

	cpuid(1, 0, &a, &b, &c, &d);
	if (!(c & (1u << 21)))		/* CPUID.1:ECX.x2APIC */
		return false;
	if (!(msr & APIC_BASE_ENABLE))
		wrmsr(MSR_APIC_BASE, msr |= APIC_BASE_ENABLE);
	wrmsr(MSR_APIC_BASE, msr | APIC_BASE_X2APIC);
	return true;
}

void lapic_eoi(void)
{
	lapic_write(LAPIC_EOI, 0);
}

bool lapic_send_ipi(u32 dest, u32 icr_lo)
{
	u64 end;

	if (lapic_x2()) {	/* one 64-bit ICR, no delivery status */
		wrmsr(MSR_X2APIC_BASE + (LAPIC_ICR_LO >> 4), (u64)dest << 32 | icr_lo);
		return true;
	}
	lapic_write(LAPIC_ICR_HI, dest << 24);
	lapic_write(LAPIC_ICR_LO, icr_lo);
	end = tsc_deadline_us(100000);
	while (lapic_read(LAPIC_ICR_LO) & (1u << 12)) {	/* delivery pending */
		if (tsc_passed(end))
			return false;
		cpu_pause();
	}
	return true;
}

void lapic_timer_periodic(u8 vector, u32 divide_cfg, u32 initial_count)
{
	lapic_write(LAPIC_TIMER_DCR, divide_cfg);
	lapic_write(LAPIC_LVT_TIMER, vector | (1u << 17));	/* periodic */
	lapic_write(LAPIC_TIMER_ICR, initial_count);
}

void lapic_timer_stop(void)
{
	lapic_write(LAPIC_LVT_TIMER, 1u << 16);	/* masked */
	lapic_write(LAPIC_TIMER_ICR, 0);
}
