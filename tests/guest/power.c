/*
 * power.c - ACPI S5 power-off and the i8042 reset.
 *
 * Power-off: SLP_TYP from the DSDT's \_S5_, then either the PM1a/PM1b
 * control blocks (SLP_TYP << 10 | SLP_EN) or, on hardware-reduced ACPI or
 * when there is no PM1 control block, the FADT sleep control register
 * (SLP_TYP << 2 | SLP_EN(1 << 5)).
 */
#include "kit.h"

void power_off(void)
{
	struct acpi_gas pm1a, pm1b, slp;
	u8 typa, typb;
	bool have_s5, hw_reduced, have_pm1a, have_slp;

	if (!acpi_init() || !fadt_get()) {
		serial_printf("power: no ACPI FADT\n");
		return;
	}
	have_s5 = dsdt_s5(&typa, &typb);
	hw_reduced = fadt_flags() & FADT_HW_REDUCED_ACPI;
	have_pm1a = fadt_pm1_cnt(0, &pm1a);
	have_slp = fadt_sleep_control(&slp);
	if (!have_s5)
		serial_printf("power: no \\_S5_ in the DSDT, guessing SLP_TYP\n");

	if (have_slp && (hw_reduced || !have_pm1a)) {
		if (!have_s5)
			typa = 5;
		acpi_gas_write(&slp, (u64)((typa & 7) << 2) | (1u << 5));
	} else if (have_pm1a) {
		if (!have_s5)
			typa = typb = 0;
		if (fadt_pm1_cnt(1, &pm1b))
			acpi_gas_write(&pm1b, (acpi_gas_read(&pm1b) & ~0x3C00ull) |
				       (u64)(typb & 7) << 10 | (1u << 13));
		acpi_gas_write(&pm1a, (acpi_gas_read(&pm1a) & ~0x3C00ull) |
			       (u64)(typa & 7) << 10 | (1u << 13));
	} else {
		serial_printf("power: FADT has neither PM1a_CNT nor SLEEP_CONTROL\n");
		return;
	}
	tsc_delay_us(200000);	/* let the VMM act on it */
	serial_printf("power: still running (hw_reduced=%d pm1a=%d:%lx sleep_ctl=%d:%lx s5=%d/%u)\n",
		      hw_reduced, have_pm1a, have_pm1a ? pm1a.address : 0, have_slp,
		      have_slp ? slp.address : 0, have_s5, typa);
}

void power_reset_i8042(void)
{
	u64 end = tsc_deadline_us(100000);
	u8 st;

	/* wait (bounded) for the controller's input buffer to drain; a
	 * status of 0xFF means nothing answers there, so don't wait */
	while (((st = inb(0x64)) & 0x02) && st != 0xFF && !tsc_passed(end))
		cpu_pause();
	outb(0x64, 0xFE);	/* pulse the CPU reset line */
	tsc_delay_us(500000);
}
