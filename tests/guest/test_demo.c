/*
 * test_demo.c - the README's demo: print what the guest finds (memory map,
 * ACPI tables, CPUs, the RTC's time) and power off.  Only checks that the
 * APs listed in the MADT start.
 */
#include "kit.h"

const char *test_demo(void)
{
	struct rtc_time t;
	u32 n;

	serial_printf("demo: command line '%s'\n", cmdline_get());
	for (u32 i = 0; i < memmap_count; i++)
		if (memmap[i].size)
			serial_printf("demo: memory [%016lx-%016lx) %s\n", memmap[i].addr,
				      memmap[i].addr + memmap[i].size, memmap_type_name(memmap[i].type));
	if (!acpi_init())
		return "no ACPI tables";
	for (u32 i = 0; i < acpi_table_count(); i++) {
		const struct acpi_header *h = acpi_table(i);

		if (h)
			serial_printf("demo: ACPI %c%c%c%c at %p, %u bytes\n", h->signature[0],
				      h->signature[1], h->signature[2], h->signature[3],
				      (const void *)h, h->length);
	}
	if (!madt_init())
		return "no MADT";
	n = smp_start_aps(madt.cpu_apic_id, madt.ncpus < SMP_MAX_CPUS ? madt.ncpus : SMP_MAX_CPUS,
			  2000000);
	serial_printf("demo: %u CPU(s) in the MADT, BSP APIC ID %u, %u AP(s) started:",
		      madt.ncpus, lapic_id(), n);
	for (u32 i = 0; i < n && i < SMP_MAX_AP; i++)
		serial_printf(" %u", smp_ap_apic_id[i]);
	serial_printf("\n");
	if (rtc_read(&t))
		serial_printf("demo: RTC %u-%02u-%02u %02u:%02u:%02u UTC\n", t.year, t.month,
			      t.day, t.hour, t.minute, t.second);
	if (n + 1 != madt.ncpus)
		return kit_reason("%u of %u APs started", n, madt.ncpus - 1);
	return NULL;
}
