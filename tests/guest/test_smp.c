/*
 * test_smp.c - cpus=N: the MADT lists N enabled processors, every AP starts
 * (INIT-SIPI-SIPI) and reports its APIC ID, and the N IDs seen are distinct
 * and match the MADT's.
 */
#include "kit.h"

static bool smp_in(const u32 *ids, u32 n, u32 id)
{
	for (u32 i = 0; i < n; i++)
		if (ids[i] == id)
			return true;
	return false;
}

const char *test_smp(void)
{
	u64 want;
	u32 bsp, n, seen[SMP_MAX_CPUS], nseen = 0;

	if (!cmdline_u64("cpus", &want))
		return "missing cpus=N on the command line";
	if (!acpi_init() || !madt_init())
		return "no MADT";
	serial_printf("smp: MADT: %u enabled processors (%u disabled), LAPIC at %lx:",
		      madt.ncpus, madt.ndisabled, madt.lapic_addr);
	for (u32 i = 0; i < madt.ncpus && i < SMP_MAX_CPUS; i++)
		serial_printf(" %u%s", madt.cpu_apic_id[i], madt.cpu_is_x2apic[i] ? "(x2)" : "");
	serial_printf("\n");
	if (madt.ncpus != want)
		return kit_reason("MADT lists %u enabled processors, expected %lu", madt.ncpus, want);
	if (madt.ncpus > SMP_MAX_CPUS)
		return "too many processors for the kit";
	bsp = lapic_id();
	serial_printf("smp: BSP APIC ID %u\n", bsp);
	if (!smp_in(madt.cpu_apic_id, madt.ncpus, bsp))
		return kit_reason("BSP APIC ID %u is not in the MADT", bsp);
	seen[nseen++] = bsp;

	n = smp_start_aps(madt.cpu_apic_id, madt.ncpus, 2000000);
	serial_printf("smp: %u APs reported (%u entered long mode):", n, smp_ap_next);
	for (u32 i = 0; i < n && i < SMP_MAX_AP; i++) {
		u32 id = smp_ap_apic_id[i];

		serial_printf(" %u", id);
		if (smp_in(seen, nseen, id))
			return kit_reason("APIC ID %u reported twice", id);
		if (!smp_in(madt.cpu_apic_id, madt.ncpus, id))
			return kit_reason("AP reported APIC ID %u, not in the MADT", id);
		seen[nseen++] = id;
	}
	serial_printf("\nsmp: APIC IDs seen:");
	for (u32 i = 0; i < nseen; i++)
		serial_printf(" %u", seen[i]);
	serial_printf("\n");
	if (nseen != want)
		return kit_reason("%u distinct APIC IDs seen, expected %lu", nseen, want);
	return NULL;
}
