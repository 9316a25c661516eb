/*
 * pcidev.c - PCI devices on bus 0: enumeration (ECAM if the MCFG has it,
 * else 0xCF8/0xCFC), capability lists, BAR sizing and assignment.
 *
 * A BAR left at 0 (QEMU microvm has no firmware to assign BARs) gets an
 * address from a window the platform decodes: PCIDEV_WINDOW_BASE (QEMU
 * microvm's 32-bit PCIe MMIO window) or "pcimem=ADDR" on the command line.
 * BARs the VMM assigned (kite does) are kept; those above 4 GiB get mapped
 * (paging_map_upto).
 */
#include "kit.h"

static u64 pcidev_next;		/* next free address in the window */
static u64 pcidev_end;

static bool pcidev_present(u32 bdf)
{
	u16 vendor = pci_conf_read16(bdf, PCI_VENDOR_ID);

	return vendor != 0xFFFF && vendor != 0;
}

static void pcidev_read(u32 bdf, struct pci_dev *d)
{
	u32 id = pci_conf_read32(bdf, PCI_VENDOR_ID);

	memset(d, 0, sizeof(*d));
	d->bdf = bdf;
	d->vendor = (u16)id;
	d->device = (u16)(id >> 16);
	d->class_rev = pci_conf_read32(bdf, 0x08);
	d->header_type = pci_conf_read8(bdf, PCI_HEADER_TYPE);
	if ((d->header_type & 0x7F) != 0)
		return;		/* bridges: no BARs we care about */
	for (int i = 0; i < 6; i++) {
		u32 lo = pci_conf_read32(bdf, PCI_BAR0 + 4 * i);

		if (lo & 1) {
			d->bar_io[i] = true;
			d->bar[i] = lo & ~3u;
			continue;
		}
		d->bar[i] = lo & ~0xFu;
		if ((lo & 6) == 4 && i < 5) {
			d->bar_64[i] = true;
			d->bar[i] |= (u64)pci_conf_read32(bdf, PCI_BAR0 + 4 * (i + 1)) << 32;
			i++;
		}
	}
}

u32 pcidev_scan(struct pci_dev *out, u32 max)
{
	u32 n = 0;

	pci_ecam_init();
	for (u8 dev = 0; dev < 32; dev++) {
		u8 nfn = 1;

		for (u8 fn = 0; fn < nfn; fn++) {
			u32 bdf = PCI_BDF(0, dev, fn);

			if (!pcidev_present(bdf))
				continue;
			if (fn == 0 && (pci_conf_read8(bdf, PCI_HEADER_TYPE) & 0x80))
				nfn = 8;
			if (n < max)
				pcidev_read(bdf, &out[n]);
			n++;
		}
	}
	return n;
}

bool pcidev_find(u16 vendor, u16 device, u32 instance, struct pci_dev *out)
{
	static struct pci_dev devs[64];
	u32 n = pcidev_scan(devs, KIT_ARRAY_SIZE(devs));

	if (n > KIT_ARRAY_SIZE(devs))
		n = KIT_ARRAY_SIZE(devs);
	for (u32 i = 0; i < n; i++) {
		if (devs[i].vendor == vendor && devs[i].device == device && instance-- == 0) {
			*out = devs[i];
			return true;
		}
	}
	return false;
}

u16 pcidev_find_cap(const struct pci_dev *d, u8 id, u16 after)
{
	u16 pos;
	int guard = 48;

	if (!(pci_conf_read16(d->bdf, PCI_STATUS) & PCI_STATUS_CAP_LIST))
		return 0;
	pos = after ? pci_conf_read8(d->bdf, after + 1) : pci_conf_read8(d->bdf, PCI_CAP_PTR);
	while (pos >= 0x40 && guard--) {
		pos &= 0xFC;
		if (pci_conf_read8(d->bdf, pos) == id)
			return pos;
		pos = pci_conf_read8(d->bdf, pos + 1);
	}
	return 0;
}

/*
 * The host bridge's 32-bit memory window from its _CRS: the first DWord
 * Address Space Descriptor of type memory in the DSDT (tag 0x87, length 23,
 * resource type 0; minimum at +10, length at +22).  QEMU's GPEX _CRS has
 * exactly one; microvm's other devices use fixed descriptors.
 */
static bool pcidev_dsdt_window(u64 *base, u64 *size)
{
	static const u8 pat[4] = { 0x87, 0x17, 0x00, 0x00 };
	const struct acpi_header *d;
	const u8 *p;
	u32 off, min, len;

	if (!acpi_init() || !(d = fadt_dsdt()))
		return false;
	off = acpi_find_bytes(d, pat, 4, sizeof(*d));
	if (!off || off + 26 > d->length)
		return false;
	p = (const u8 *)d + off;
	min = (u32)p[10] | (u32)p[11] << 8 | (u32)p[12] << 16 | (u32)p[13] << 24;
	len = (u32)p[22] | (u32)p[23] << 8 | (u32)p[24] << 16 | (u32)p[25] << 24;
	if (!min || !len || (u64)min + len > 4 * GIB)
		return false;
	*base = min;
	*size = len;
	return true;
}

/* Start the bump allocator above every memory BAR already inside the window. */
static void pcidev_window_init(void)
{
	static struct pci_dev devs[64];
	u64 base = PCIDEV_WINDOW_BASE, size = PCIDEV_WINDOW_SIZE;
	u32 n;

	if (pcidev_end)
		return;
	if (cmdline_u64("pcimem", &base))
		serial_printf("pci: BAR window at %lx (pcimem=)\n", base);
	else if (pcidev_dsdt_window(&base, &size))
		serial_printf("pci: BAR window [%lx, %lx) from the DSDT\n", base, base + size);
	else
		serial_printf("pci: BAR window at %lx (default)\n", base);
	pcidev_next = base;
	pcidev_end = base + size;
	n = pcidev_scan(devs, KIT_ARRAY_SIZE(devs));
	if (n > KIT_ARRAY_SIZE(devs))
		n = KIT_ARRAY_SIZE(devs);
	for (u32 i = 0; i < n; i++)
		for (int b = 0; b < 6; b++)
			if (!devs[i].bar_io[b] && devs[i].bar[b] >= pcidev_next &&
			    devs[i].bar[b] < pcidev_end)
				pcidev_next = devs[i].bar[b] + 0x100000;	/* size unknown: 1 MiB */
}

static u64 pcidev_bar_size(u32 bdf, int i, bool is64)
{
	u16 off = PCI_BAR0 + 4 * i;
	u32 lo = pci_conf_read32(bdf, off), hi = 0, mlo, mhi = ~0u;
	u64 mask;

	pci_conf_write32(bdf, off, ~0u);
	mlo = pci_conf_read32(bdf, off);
	pci_conf_write32(bdf, off, lo);
	if (is64) {
		hi = pci_conf_read32(bdf, off + 4);
		pci_conf_write32(bdf, off + 4, ~0u);
		mhi = pci_conf_read32(bdf, off + 4);
		pci_conf_write32(bdf, off + 4, hi);
	}
	mask = (u64)mhi << 32 | (mlo & ~0xFu);
	if (!is64)
		mask |= 0xFFFFFFFF00000000ULL;
	if (!(mlo & ~0xFu))
		return 0;
	return ~mask + 1;
}

const char *pcidev_enable(struct pci_dev *d)
{
	u16 cmd = pci_conf_read16(d->bdf, PCI_COMMAND);

	pcidev_window_init();
	/* decoding off while sizing */
	pci_conf_write16(d->bdf, PCI_COMMAND, cmd & ~(PCI_COMMAND_MEMORY | 1));
	for (int i = 0; i < 6; i++) {
		u64 size;

		if (d->bar_io[i])
			continue;
		size = pcidev_bar_size(d->bdf, i, d->bar_64[i]);
		d->bar_size[i] = size;
		if (size && !d->bar[i]) {
			u64 a = (pcidev_next + size - 1) & ~(size - 1);

			if (a + size > pcidev_end || a + size > 4 * GIB) {
				pci_conf_write16(d->bdf, PCI_COMMAND, cmd);
				return kit_reason("no room for BAR%d (%lx bytes) of %02x:%02x.%x in "
						  "the window ending at %lx", i, size,
						  PCI_BDF_BUS(d->bdf), PCI_BDF_DEV(d->bdf),
						  PCI_BDF_FN(d->bdf), pcidev_end);
			}
			pcidev_next = a + size;
			pci_conf_write32(d->bdf, PCI_BAR0 + 4 * i, (u32)a);
			if (d->bar_64[i])
				pci_conf_write32(d->bdf, PCI_BAR0 + 4 * i + 4, (u32)(a >> 32));
			d->bar[i] = a;
			serial_printf("pci: %02x:%02x.%x BAR%d := %lx (%lx bytes)\n",
				      PCI_BDF_BUS(d->bdf), PCI_BDF_DEV(d->bdf), PCI_BDF_FN(d->bdf),
				      i, a, size);
		}
		/* the static identity map ends at 4 GiB: extend it to BARs above */
		if (size && d->bar[i] + size > 4 * GIB && !paging_map_upto(d->bar[i] + size)) {
			pci_conf_write16(d->bdf, PCI_COMMAND, cmd);
			return kit_reason("BAR%d at %lx: cannot map it (the kit maps up to 512 GiB)",
					  i, d->bar[i]);
		}
		if (d->bar_64[i])
			i++;
	}
	cmd |= PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_INTX_OFF;
	pci_conf_write16(d->bdf, PCI_COMMAND, cmd);
	if ((pci_conf_read16(d->bdf, PCI_COMMAND) & (PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER)) !=
	    (PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER))
		return kit_reason("command register %x: memory decoding or bus mastering "
				  "did not stick", pci_conf_read16(d->bdf, PCI_COMMAND));
	return NULL;
}
