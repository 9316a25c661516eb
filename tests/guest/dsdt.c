/*
 * dsdt.c - find the \_S5_ package in the DSDT: Name(_S5_, Package(){a, b, ...})
 * The byte search runs at CPL3; only the few package bytes are decoded here.
 */
#include "kit.h"

struct dsdt_scan_args {
	u64 start, len;
};

static u64 dsdt_scan_user(u64 argp)
{
	const struct dsdt_scan_args *a = (const void *)(uintptr_t)argp;
	const u8 *p = (const u8 *)(uintptr_t)a->start;

	for (u64 i = 1; i + 4 < a->len; i++) {
		if (p[i] == '_' && p[i + 1] == 'S' && p[i + 2] == '5' && p[i + 3] == '_' &&
		    (p[i - 1] == 0x08 || (p[i - 1] == '\\' && i >= 2 && p[i - 2] == 0x08)))
			return i;
	}
	return 0;
}

/* decodes one integer data object; returns bytes consumed (0: unknown) */
static u32 dsdt_int(const u8 *p, const u8 *end, u8 *v)
{
	if (p >= end)
		return 0;
	switch (p[0]) {
	case 0x00: *v = 0; return 1;		/* ZeroOp */
	case 0x01: *v = 1; return 1;		/* OneOp */
	case 0xFF: *v = 0xFF; return 1;		/* OnesOp */
	case 0x0A: if (p + 1 >= end) return 0; *v = p[1]; return 2;	/* BytePrefix */
	case 0x0B: if (p + 2 >= end) return 0; *v = p[1]; return 3;	/* WordPrefix */
	case 0x0C: if (p + 4 >= end) return 0; *v = p[1]; return 5;	/* DWordPrefix */
	default: return 0;
	}
}

bool dsdt_s5(u8 *slp_typa, u8 *slp_typb)
{
	const struct acpi_header *d = fadt_dsdt();
	struct dsdt_scan_args a;
	const u8 *p, *end;
	u64 off;
	u32 n;

	if (!d || memcmp(d->signature, "DSDT", 4) || d->length < sizeof(*d) ||
	    d->length > 16 * MIB)
		return false;
	a.start = (u64)(uintptr_t)d + sizeof(*d);
	a.len = d->length - sizeof(*d);
	off = run_user(dsdt_scan_user, (u64)(uintptr_t)&a);
	if (!off || off == ~0ULL)
		return false;
	p = (const u8 *)(uintptr_t)a.start + off + 4;
	end = (const u8 *)d + d->length;
	if (p + 3 > end || p[0] != 0x12)	/* PackageOp */
		return false;
	p += 1 + 1 + (p[1] >> 6);		/* PkgLength */
	p++;					/* NumElements */
	n = dsdt_int(p, end, slp_typa);
	if (!n)
		return false;
	p += n;
	if (!dsdt_int(p, end, slp_typb))
		*slp_typb = *slp_typa;
	return true;
}
