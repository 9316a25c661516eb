/*
 * test_poweroff.c - nothing but the ACPI power-off every test ends with
 * (the runner checks the VMM's exit status).
 */
#include "kit.h"

const char *test_poweroff(void)
{
	if (!acpi_init() || !fadt_get())
		return "no ACPI FADT to power off with";
	return NULL;
}
