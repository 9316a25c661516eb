/*
 * acpi.c - RSDP discovery, XSDT/RSDT walk, checksums, generic addresses.
 *
 * Loops over table bytes (the RSDP scan of 0xE0000-0xFFFFF, checksums) run
 * at CPL3 through run_user(): at CPL0 they would be emulated.
 */
#include "kit.h"

static const struct acpi_rsdp *acpi_rsdp_ptr;
static const struct acpi_header *acpi_root_ptr;
static bool acpi_xsdt;
static u32 acpi_nentries;
static bool acpi_done, acpi_ok;

struct acpi_sum_args {
	u64 addr;
	u64 len;
};

static u64 acpi_sum_user(u64 argp)
{
	const struct acpi_sum_args *a = (const void *)(uintptr_t)argp;
	const u8 *p = (const u8 *)(uintptr_t)a->addr;
	u8 sum = 0;

	for (u64 i = 0; i < a->len; i++)
		sum += p[i];
	return sum;
}

u8 acpi_checksum(const void *p, u32 len)
{
	struct acpi_sum_args a = { (u64)(uintptr_t)p, len };

	return (u8)run_user(acpi_sum_user, (u64)(uintptr_t)&a);
}

static bool acpi_rsdp_sig(const void *p)
{
	return !memcmp(p, "RSD PTR ", 8);
}

/* CPL3: scan [start, end) on 16-byte boundaries for a valid RSDP. */
static u64 acpi_scan_user(u64 range)
{
	u64 start = range >> 32, end = range & 0xFFFFFFFF;

	for (u64 a = start; a + 20 <= end; a += 16) {
		const u8 *p = (const u8 *)(uintptr_t)a;
		u8 sum = 0;

		if (p[0] != 'R' || !acpi_rsdp_sig(p))
			continue;
		for (int i = 0; i < 20; i++)
			sum += p[i];
		if (!sum)
			return a;
	}
	return 0;
}

static u64 acpi_scan(u64 start, u64 end)
{
	u64 r = run_user(acpi_scan_user, start << 32 | end);

	return r == ~0ULL ? 0 : r;
}

bool acpi_init(void)
{
	u64 rsdp = 0, root;

	if (acpi_done)
		return acpi_ok;
	acpi_done = true;
	if (bootinfo_rsdp && bootinfo_rsdp < 4 * GIB &&
	    acpi_rsdp_sig((const void *)(uintptr_t)bootinfo_rsdp))
		rsdp = bootinfo_rsdp;
	if (!rsdp) {
		u64 ebda = (u64)(*(volatile u16 *)0x40E) << 4;

		rsdp = acpi_scan(0xE0000, 0x100000);
		if (!rsdp && ebda >= 0x80000 && ebda < 0xA0000)
			rsdp = acpi_scan(ebda, ebda + 1024);
	}
	if (!rsdp) {
		serial_printf("acpi: no RSDP (start info rsdp_paddr %lx)\n", bootinfo_rsdp);
		return false;
	}
	acpi_rsdp_ptr = (const void *)(uintptr_t)rsdp;
	if (acpi_rsdp_ptr->revision >= 2 && acpi_rsdp_ptr->xsdt_address) {
		root = acpi_rsdp_ptr->xsdt_address;
		acpi_xsdt = true;
	} else {
		root = acpi_rsdp_ptr->rsdt_address;
	}
	if (!root || root >= 4 * GIB) {
		serial_printf("acpi: bad root table address %lx\n", root);
		return false;
	}
	acpi_root_ptr = (const void *)(uintptr_t)root;
	if (memcmp(acpi_root_ptr->signature, acpi_xsdt ? "XSDT" : "RSDT", 4) ||
	    acpi_root_ptr->length < sizeof(struct acpi_header) ||
	    acpi_root_ptr->length > 1 * MIB) {
		serial_printf("acpi: bad %s at %lx\n", acpi_xsdt ? "XSDT" : "RSDT", root);
		return false;
	}
	acpi_nentries = (acpi_root_ptr->length - sizeof(struct acpi_header)) / (acpi_xsdt ? 8 : 4);
	acpi_ok = true;
	return true;
}

const struct acpi_rsdp *acpi_rsdp(void)
{
	return acpi_init() ? acpi_rsdp_ptr : NULL;
}

const struct acpi_header *acpi_root(void)
{
	return acpi_init() ? acpi_root_ptr : NULL;
}

bool acpi_root_is_xsdt(void)
{
	return acpi_xsdt;
}

u32 acpi_table_count(void)
{
	return acpi_init() ? acpi_nentries : 0;
}

const struct acpi_header *acpi_table(u32 index)
{
	const u8 *ent;
	u64 addr;

	if (!acpi_init() || index >= acpi_nentries)
		return NULL;
	ent = (const u8 *)acpi_root_ptr + sizeof(struct acpi_header);
	if (acpi_xsdt)
		memcpy(&addr, ent + 8 * index, 8);
	else
		addr = *(const u32 *)(ent + 4 * index);
	if (!addr || addr >= 4 * GIB)
		return NULL;
	return (const void *)(uintptr_t)addr;
}

const struct acpi_header *acpi_find(const char sig[4], u32 instance)
{
	for (u32 i = 0; i < acpi_table_count(); i++) {
		const struct acpi_header *h = acpi_table(i);

		if (h && !memcmp(h->signature, sig, 4) && instance-- == 0)
			return h;
	}
	return NULL;
}

bool acpi_table_valid(const struct acpi_header *h)
{
	return h && h->length >= sizeof(*h) && h->length <= 16 * MIB &&
	       acpi_checksum(h, h->length) == 0;
}

static u32 acpi_gas_width(const struct acpi_gas *g)
{
	if (g->bit_width == 8 || g->bit_width == 16 || g->bit_width == 32 || g->bit_width == 64)
		return g->bit_width;
	if (g->access_size >= 1 && g->access_size <= 4)
		return 8u << (g->access_size - 1);
	return 8;
}

u64 acpi_gas_read(const struct acpi_gas *g)
{
	u32 w = acpi_gas_width(g);

	if (g->space_id == 1) {
		u16 port = (u16)g->address;

		return w == 8 ? inb(port) : w == 16 ? inw(port) : inl(port);
	}
	if (g->space_id == 0) {
		switch (w) {
		case 8: return mmio_read8(g->address);
		case 16: return mmio_read16(g->address);
		case 32: return mmio_read32(g->address);
		default: return mmio_read64(g->address);
		}
	}
	return ~0ULL;
}

void acpi_gas_write(const struct acpi_gas *g, u64 value)
{
	u32 w = acpi_gas_width(g);

	if (g->space_id == 1) {
		u16 port = (u16)g->address;

		if (w == 8)
			outb(port, (u8)value);
		else if (w == 16)
			outw(port, (u16)value);
		else
			outl(port, (u32)value);
	} else if (g->space_id == 0) {
		switch (w) {
		case 8: mmio_write8(g->address, (u8)value); break;
		case 16: mmio_write16(g->address, (u16)value); break;
		case 32: mmio_write32(g->address, (u32)value); break;
		default: mmio_write64(g->address, value); break;
		}
	}
}

struct acpi_bytes_args {
	u64 start, len, pat, pat_len;
};

static u64 acpi_bytes_user(u64 argp)
{
	const struct acpi_bytes_args *a = (const void *)(uintptr_t)argp;
	const u8 *p = (const u8 *)(uintptr_t)a->start, *pat = (const u8 *)(uintptr_t)a->pat;

	for (u64 i = 0; i + a->pat_len <= a->len; i++) {
		u64 k = 0;

		while (k < a->pat_len && p[i + k] == pat[k])
			k++;
		if (k == a->pat_len)
			return i + 1;
	}
	return 0;
}

u32 acpi_find_bytes(const struct acpi_header *h, const void *pat, u32 len, u32 from)
{
	struct acpi_bytes_args a;
	u64 r;

	if (!h || h->length > 16 * MIB || from >= h->length)
		return 0;
	a.start = (u64)(uintptr_t)h + from;
	a.len = h->length - from;
	a.pat = (u64)(uintptr_t)pat;
	a.pat_len = len;
	r = run_user(acpi_bytes_user, (u64)(uintptr_t)&a);
	if (!r || r == ~0ULL)
		return 0;
	return (u32)(from + r - 1);
}
