/*
 * pci.c - PCI configuration space through the 0xCF8/0xCFC mechanism #1.
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
