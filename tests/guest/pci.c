/*
 * pci.c - PCI configuration space through the 0xCF8/0xCFC mechanism #1,
 * and through PCIe ECAM (MCFG) with pci_conf_*().
 */
#include "kit.h"

static u32 pci_addr(u8 bus, u8 dev, u8 fn, u8 off)
{
	return 0x80000000u | (u32)bus << 16 | (u32)(dev & 31) << 11 |
	       (u32)(fn & 7) << 8 | (off & 0xFC);
}

u32 pci_cfg_read32(u8 bus, u8 dev, u8 fn, u8 off)
{
	outl(0xCF8, pci_addr(bus, dev, fn, off));
	return inl(0xCFC);
}

void pci_cfg_write32(u8 bus, u8 dev, u8 fn, u8 off, u32 val)
{
	outl(0xCF8, pci_addr(bus, dev, fn, off));
	outl(0xCFC, val);
}

u16 pci_cfg_read16(u8 bus, u8 dev, u8 fn, u8 off)
{
	outl(0xCF8, pci_addr(bus, dev, fn, off));
	return inw(0xCFC + (off & 2));
}

u8 pci_cfg_read8(u8 bus, u8 dev, u8 fn, u8 off)
{
	outl(0xCF8, pci_addr(bus, dev, fn, off));
	return inb(0xCFC + (off & 3));
}

void pci_cfg_write16(u8 bus, u8 dev, u8 fn, u8 off, u16 val)
{
	outl(0xCF8, pci_addr(bus, dev, fn, off));
	outw(0xCFC + (off & 2), val);
}

void pci_cfg_write8(u8 bus, u8 dev, u8 fn, u8 off, u8 val)
{
	outl(0xCF8, pci_addr(bus, dev, fn, off));
	outb(0xCFC + (off & 3), val);
}

/*
 * PCI Express enhanced configuration access (ECAM), described by the ACPI
 * MCFG table: one 4 KiB window per function at base + (bus << 20 | dev << 15
 * | fn << 12).  pci_conf_*() use it when pci_ecam_init() found an entry for
 * segment 0 covering the bus, else 0xCF8/0xCFC (offsets < 256 only).
 */
struct mcfg_entry {
	u64 base;
	u16 segment;
	u8 bus_start, bus_end;
	u32 reserved;
} KIT_PACKED;

u64 pci_ecam_base;		/* physical address of bus 0's window; 0: none */
u8 pci_ecam_bus_start, pci_ecam_bus_end;
static bool pci_ecam_done;

/*
 * Without an MCFG: the host bridge's _CBA method (ACPI 6.x, "configuration
 * base address") as QEMU builds it for GPEX, Method(_CBA) { Return(base) }:
 *   14 PkgLen "_CBA" flags A4 (0C dword | 0E qword)
 */
static bool pci_ecam_from_dsdt(void)
{
	const struct acpi_header *d = fadt_dsdt();
	const u8 *p;
	u32 off = 0;
	u64 base = 0;

	while (d && (off = acpi_find_bytes(d, "_CBA", 4, off + 1)) != 0) {
		p = (const u8 *)d + off + 4;
		if (off < 2 || off + 16 > d->length || p[-6] != 0x14 || p[0] & 0x07 || p[1] != 0xA4)
			continue;	/* not a 0-argument method returning a constant */
		if (p[2] == 0x0C)
			base = (u64)p[3] | (u64)p[4] << 8 | (u64)p[5] << 16 | (u64)p[6] << 24;
		else if (p[2] == 0x0E)
			memcpy(&base, p + 3, 8);
		if (base && base < 4 * GIB)
			break;
		base = 0;
	}
	if (!base)
		return false;
	pci_ecam_base = base;
	pci_ecam_bus_start = 0;
	pci_ecam_bus_end = 0;	/* bus 0 only: the bus range is in _CRS */
	return true;
}

bool pci_ecam_init(void)
{
	const struct acpi_header *h;
	const struct mcfg_entry *e;
	u32 n;
	char how[8] = "";

	if (pci_ecam_done)
		return pci_ecam_base != 0;
	pci_ecam_done = true;
	cmdline_value("pcicfg", how, sizeof(how));
	if (!strcmp(how, "cf8") || !acpi_init())
		return false;
	if (!(h = acpi_find("MCFG", 0)))
		return strcmp(how, "mcfg") ? pci_ecam_from_dsdt() : false;
	if (h->length < sizeof(*h) + 8 + sizeof(*e))
		return false;
	n = (h->length - sizeof(*h) - 8) / sizeof(*e);
	e = (const void *)((const u8 *)h + sizeof(*h) + 8);
	for (u32 i = 0; i < n; i++, e++) {
		if (e->segment != 0 || !e->base || e->base >= 4 * GIB)
			continue;
		/* base is the address of bus 0 even if bus_start > 0 */
		pci_ecam_base = e->base;
		pci_ecam_bus_start = e->bus_start;
		pci_ecam_bus_end = e->bus_end;
		return true;
	}
	return false;
}

static u64 pci_ecam_addr(u32 bdf, u16 off)
{
	u8 bus = PCI_BDF_BUS(bdf);

	if (!pci_ecam_base || bus < pci_ecam_bus_start || bus > pci_ecam_bus_end)
		return 0;
	return pci_ecam_base + ((u64)bdf << 12) + (off & 0xFFF);
}

u32 pci_conf_read32(u32 bdf, u16 off)
{
	u64 a = pci_ecam_addr(bdf, off & ~3);

	if (a)
		return mmio_read32(a);
	if (off > 0xFC)
		return ~0u;
	return pci_cfg_read32(PCI_BDF_BUS(bdf), PCI_BDF_DEV(bdf), PCI_BDF_FN(bdf), (u8)off);
}

u16 pci_conf_read16(u32 bdf, u16 off)
{
	u64 a = pci_ecam_addr(bdf, off & ~1);

	if (a)
		return mmio_read16(a);
	if (off > 0xFE)
		return 0xFFFF;
	return pci_cfg_read16(PCI_BDF_BUS(bdf), PCI_BDF_DEV(bdf), PCI_BDF_FN(bdf), (u8)off);
}

u8 pci_conf_read8(u32 bdf, u16 off)
{
	u64 a = pci_ecam_addr(bdf, off);

	if (a)
		return mmio_read8(a);
	if (off > 0xFF)
		return 0xFF;
	return pci_cfg_read8(PCI_BDF_BUS(bdf), PCI_BDF_DEV(bdf), PCI_BDF_FN(bdf), (u8)off);
}

void pci_conf_write32(u32 bdf, u16 off, u32 val)
{
	u64 a = pci_ecam_addr(bdf, off & ~3);

	if (a)
		mmio_write32(a, val);
	else if (off <= 0xFC)
		pci_cfg_write32(PCI_BDF_BUS(bdf), PCI_BDF_DEV(bdf), PCI_BDF_FN(bdf), (u8)off, val);
}

void pci_conf_write16(u32 bdf, u16 off, u16 val)
{
	u64 a = pci_ecam_addr(bdf, off & ~1);

	if (a)
		mmio_write16(a, val);
	else if (off <= 0xFE)
		pci_cfg_write16(PCI_BDF_BUS(bdf), PCI_BDF_DEV(bdf), PCI_BDF_FN(bdf), (u8)off, val);
}
