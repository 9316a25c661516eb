/*
 * madt.c - parse the MADT ("APIC"): processors (LAPIC type 0, x2APIC type 9),
 * I/O APICs (type 1), interrupt source overrides (type 2), LAPIC address
 * override (type 5).
 */
#include "kit.h"

struct madt_info madt;
static bool madt_done, madt_ok;

static void madt_add_cpu(u32 apic_id, u32 flags, bool x2)
{
	if (!(flags & 1)) {
		madt.ndisabled++;
		return;
	}
	for (u32 i = 0; i < madt.ncpus; i++)
		if (madt.cpu_apic_id[i] == apic_id)
			return;		/* listed twice (type 0 and 9) */
	if (madt.ncpus < SMP_MAX_CPUS) {
		madt.cpu_apic_id[madt.ncpus] = apic_id;
		madt.cpu_is_x2apic[madt.ncpus] = x2;
	}
	madt.ncpus++;
}

bool madt_init(void)
{
	const struct acpi_header *h;
	const u8 *p, *end;

	if (madt_done)
		return madt_ok;
	madt_done = true;
	madt.lapic_addr = 0xFEE00000;
	h = acpi_find("APIC", 0);
	if (!h || h->length < 44)
		return false;
	p = (const u8 *)h;
	memcpy(&madt.flags, p + 40, 4);
	{
		u32 a;

		memcpy(&a, p + 36, 4);
		if (a)
			madt.lapic_addr = a;
	}
	end = p + h->length;
	for (p += 44; p + 2 <= end && p[1] >= 2 && p + p[1] <= end; p += p[1]) {
		u32 v32, flags;
		u16 v16;

		switch (p[0]) {
		case 0:		/* processor local APIC */
			if (p[1] < 8)
				break;
			memcpy(&flags, p + 4, 4);
			madt_add_cpu(p[3], flags, false);
			break;
		case 1:		/* I/O APIC */
			if (p[1] < 12 || madt.nioapic >= MADT_MAX_IOAPIC)
				break;
			madt.ioapic[madt.nioapic].id = p[2];
			memcpy(&madt.ioapic[madt.nioapic].addr, p + 4, 4);
			memcpy(&madt.ioapic[madt.nioapic].gsi_base, p + 8, 4);
			madt.nioapic++;
			break;
		case 2:		/* interrupt source override */
			if (p[1] < 10 || madt.niso >= MADT_MAX_ISO)
				break;
			madt.iso[madt.niso].bus = p[2];
			madt.iso[madt.niso].source = p[3];
			memcpy(&v32, p + 4, 4);
			memcpy(&v16, p + 8, 2);
			madt.iso[madt.niso].gsi = v32;
			madt.iso[madt.niso].flags = v16;
			madt.niso++;
			break;
		case 5:		/* local APIC address override */
			if (p[1] >= 12)
				memcpy(&madt.lapic_addr, p + 4, 8);
			break;
		case 9:		/* processor local x2APIC */
			if (p[1] < 16)
				break;
			memcpy(&v32, p + 4, 4);
			memcpy(&flags, p + 8, 4);
			madt_add_cpu(v32, flags, true);
			break;
		}
	}
	lapic_base = madt.lapic_addr;
	madt_ok = true;
	return true;
}

void madt_isa_irq(u8 irq, u32 *gsi, bool *active_low, bool *level)
{
	*gsi = irq;
	*active_low = false;	/* ISA default: edge, active high */
	*level = false;
	for (u32 i = 0; i < madt.niso; i++) {
		u16 f = madt.iso[i].flags;

		if (madt.iso[i].bus != 0 || madt.iso[i].source != irq)
			continue;
		*gsi = madt.iso[i].gsi;
		if ((f & 3) == 3)
			*active_low = true;
		if (((f >> 2) & 3) == 3)
			*level = true;
	}
}
