/*
 * ioapic.c - I/O APIC redirection entries (IOAPICs found in the MADT).
 */
#include "kit.h"

#define IOAPIC_REGSEL	0x00
#define IOAPIC_WIN	0x10
#define IOAPIC_VER	0x01
#define IOAPIC_REDTBL	0x10

u32 ioapic_read(u32 base, u32 reg)
{
	mmio_write32(base + IOAPIC_REGSEL, reg);
	return mmio_read32(base + IOAPIC_WIN);
}

void ioapic_write(u32 base, u32 reg, u32 val)
{
	mmio_write32(base + IOAPIC_REGSEL, reg);
	mmio_write32(base + IOAPIC_WIN, val);
}

/* finds the IOAPIC serving gsi; returns its base, pin in *pin */
static u32 ioapic_find(u32 gsi, u32 *pin)
{
	for (u32 i = 0; i < madt.nioapic; i++) {
		u32 base = madt.ioapic[i].addr;
		u32 nredir = ((ioapic_read(base, IOAPIC_VER) >> 16) & 0xFF) + 1;

		if (gsi >= madt.ioapic[i].gsi_base && gsi < madt.ioapic[i].gsi_base + nredir) {
			*pin = gsi - madt.ioapic[i].gsi_base;
			return base;
		}
	}
	return 0;
}

bool ioapic_route(u32 gsi, u8 vector, u32 dest, bool active_low, bool level)
{
	u32 pin, base = ioapic_find(gsi, &pin);
	u32 lo = vector;	/* fixed delivery, physical destination */

	if (!base)
		return false;
	if (active_low)
		lo |= 1u << 13;
	if (level)
		lo |= 1u << 15;
	ioapic_write(base, IOAPIC_REDTBL + 2 * pin, 1u << 16);	/* masked while changing */
	ioapic_write(base, IOAPIC_REDTBL + 2 * pin + 1, dest << 24);
	ioapic_write(base, IOAPIC_REDTBL + 2 * pin, lo);
	return true;
}

void ioapic_mask(u32 gsi)
{
	u32 pin, base = ioapic_find(gsi, &pin);

	if (base)
		ioapic_write(base, IOAPIC_REDTBL + 2 * pin,
			     ioapic_read(base, IOAPIC_REDTBL + 2 * pin) | (1u << 16));
}
