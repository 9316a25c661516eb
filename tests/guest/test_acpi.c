/*
 * test_acpi.c - RSDP checksum(s), every XSDT/RSDT table's checksum, and the
 * presence of FADT, DSDT (through the FADT) and MADT.
 */
#include "kit.h"

static void acpi_print(const char *what, const struct acpi_header *h)
{
	serial_printf("acpi: %-4s at %p: %c%c%c%c len %u rev %u oem '%c%c%c%c%c%c'\n",
		      what, (const void *)h, h->signature[0], h->signature[1],
		      h->signature[2], h->signature[3], h->length, h->revision,
		      h->oem_id[0], h->oem_id[1], h->oem_id[2], h->oem_id[3],
		      h->oem_id[4], h->oem_id[5]);
}

const char *test_acpi(void)
{
	const struct acpi_rsdp *rsdp;
	const struct acpi_header *root, *fadt, *dsdt;
	u32 n;

	if (!acpi_init())
		return "ACPI RSDP/root table not found";
	rsdp = acpi_rsdp();
	serial_printf("acpi: RSDP at %p rev %u rsdt %x xsdt %lx (start info rsdp_paddr %lx)\n",
		      (const void *)rsdp, rsdp->revision, rsdp->rsdt_address,
		      rsdp->revision >= 2 ? rsdp->xsdt_address : 0, bootinfo_rsdp);
	if (acpi_checksum(rsdp, 20))
		return "RSDP checksum (first 20 bytes) is wrong";
	if (rsdp->revision >= 2) {
		if (rsdp->length < 36 || rsdp->length > 4096)
			return kit_reason("RSDP length %u is wrong", rsdp->length);
		if (acpi_checksum(rsdp, rsdp->length))
			return "RSDP extended checksum is wrong";
	}
	root = acpi_root();
	acpi_print(acpi_root_is_xsdt() ? "XSDT" : "RSDT", root);
	if (!acpi_table_valid(root))
		return kit_reason("%s checksum is wrong", acpi_root_is_xsdt() ? "XSDT" : "RSDT");
	n = acpi_table_count();
	for (u32 i = 0; i < n; i++) {
		const struct acpi_header *h = acpi_table(i);

		if (!h)
			return kit_reason("root table entry %u is null or above 4 GiB", i);
		acpi_print("", h);
		if (!acpi_table_valid(h))
			return kit_reason("table %c%c%c%c at %p: bad length or checksum",
					  h->signature[0], h->signature[1], h->signature[2],
					  h->signature[3], (const void *)h);
	}
	fadt = fadt_get();
	if (!fadt)
		return "no FADT (FACP)";
	dsdt = fadt_dsdt();
	if (!dsdt)
		return "FADT has no DSDT address";
	acpi_print("DSDT", dsdt);
	if (memcmp(dsdt->signature, "DSDT", 4) || !acpi_table_valid(dsdt))
		return "DSDT signature, length or checksum is wrong";
	if (!acpi_find("APIC", 0))
		return "no MADT (APIC)";
	serial_printf("acpi: %u tables, FADT flags %x%s\n", n, fadt_flags(),
		      (fadt_flags() & FADT_HW_REDUCED_ACPI) ? " (hardware-reduced)" : "");
	return NULL;
}
