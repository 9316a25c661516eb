/*
 * fadt.c - fields of the FADT ("FACP").
 */
#include "kit.h"

/* byte offsets in the FADT (ACPI 6.x, table 5.9) */
#define FADT_DSDT		40
#define FADT_PM1A_CNT_BLK	64
#define FADT_PM1B_CNT_BLK	68
#define FADT_PM1_CNT_LEN	89
#define FADT_CENTURY		108
#define FADT_IAPC_BOOT_ARCH	109
#define FADT_FLAGS		112
#define FADT_X_DSDT		140
#define FADT_X_PM1A_CNT_BLK	172
#define FADT_X_PM1B_CNT_BLK	184
#define FADT_SLEEP_CONTROL	244

const struct acpi_header *fadt_get(void)
{
	return acpi_find("FACP", 0);
}

static bool fadt_has(const struct acpi_header *f, u32 off, u32 len)
{
	return f && f->length >= off + len;
}

static u32 fadt_u32(const struct acpi_header *f, u32 off)
{
	u32 v;

	memcpy(&v, (const u8 *)f + off, 4);
	return v;
}

u32 fadt_flags(void)
{
	const struct acpi_header *f = fadt_get();

	return fadt_has(f, FADT_FLAGS, 4) ? fadt_u32(f, FADT_FLAGS) : 0;
}

const struct acpi_header *fadt_dsdt(void)
{
	const struct acpi_header *f = fadt_get();
	u64 a = 0;

	if (fadt_has(f, FADT_X_DSDT, 8))
		memcpy(&a, (const u8 *)f + FADT_X_DSDT, 8);
	if (!a && fadt_has(f, FADT_DSDT, 4))
		a = fadt_u32(f, FADT_DSDT);
	if (!a || a >= 4 * GIB)
		return NULL;
	return (const void *)(uintptr_t)a;
}

bool fadt_pm1_cnt(int which, struct acpi_gas *out)
{
	const struct acpi_header *f = fadt_get();
	u32 xoff = which ? FADT_X_PM1B_CNT_BLK : FADT_X_PM1A_CNT_BLK;
	u32 off = which ? FADT_PM1B_CNT_BLK : FADT_PM1A_CNT_BLK;

	if (fadt_has(f, xoff, sizeof(*out))) {
		memcpy(out, (const u8 *)f + xoff, sizeof(*out));
		if (out->address && out->space_id <= 1) {
			if (!out->bit_width && !out->access_size)
				out->bit_width = 16;
			return true;
		}
	}
	if (fadt_has(f, off, 4) && fadt_u32(f, off)) {
		out->space_id = 1;
		out->bit_width = 16;
		out->bit_offset = 0;
		out->access_size = 2;
		out->address = fadt_u32(f, off);
		return true;
	}
	return false;
}

bool fadt_sleep_control(struct acpi_gas *out)
{
	const struct acpi_header *f = fadt_get();

	if (!fadt_has(f, FADT_SLEEP_CONTROL, sizeof(*out)))
		return false;
	memcpy(out, (const u8 *)f + FADT_SLEEP_CONTROL, sizeof(*out));
	if (!out->bit_width && !out->access_size)
		out->bit_width = 8;
	return out->address != 0;
}

u8 fadt_century(void)
{
	const struct acpi_header *f = fadt_get();

	return fadt_has(f, FADT_CENTURY, 1) ? ((const u8 *)f)[FADT_CENTURY] : 0;
}

u16 fadt_iapc_boot_arch(void)
{
	const struct acpi_header *f = fadt_get();
	u16 v = 0;

	if (fadt_has(f, FADT_IAPC_BOOT_ARCH, 2))
		memcpy(&v, (const u8 *)f + FADT_IAPC_BOOT_ARCH, 2);
	return v;
}
