/*
 * main.c - kit_main(): boot, pick the test named by "test=NAME" on the
 * command line, print the verdict and power off.
 *
 * Result protocol (grepped by tests/run.py): exactly one final line
 *   KITE-TEST-PASS <name>   or   KITE-TEST-FAIL <name>: <reason>
 * then ACPI power-off; if that returns: "KITE-TEST-FAIL poweroff: returned".
 * Options for every test: hold=1 halts after the verdict instead of powering
 * off (bench/boot measures the VMM's memory meanwhile); x2apic=1 switches
 * the boot CPU's LAPIC to x2APIC mode first.
 */
#include "kit.h"

void kit_main(u32 start_info);

const char *kit_test_name = "none";
static char kit_name_buf[64];
static char kit_reason_buf[256];
static bool kit_stopping;

#define KIT_TEST_ENTRY(name) { #name, test_##name },
static const struct {
	const char *name;
	kit_test_fn fn;
} kit_tests[] = { KIT_TESTS(KIT_TEST_ENTRY) };

const char *kit_reason(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fmt_vsnprintf(kit_reason_buf, sizeof(kit_reason_buf), fmt, ap);
	va_end(ap);
	return kit_reason_buf;
}

KIT_NORETURN void kit_halt(void)
{
	for (;;) {
		cpu_cli();
		cpu_hlt();
	}
}

static KIT_NORETURN void kit_power_off_or_halt(void)
{
	power_off();
	serial_puts("KITE-TEST-FAIL poweroff: returned\n");
	kit_halt();
}

KIT_NORETURN void kit_fail_stop(const char *fmt, ...)
{
	va_list ap;

	cpu_cli();
	if (kit_stopping)	/* failed while failing: just stop */
		kit_halt();
	kit_stopping = true;
	serial_printf("KITE-TEST-FAIL %s: ", kit_test_name);
	va_start(ap, fmt);
	serial_vprintf(fmt, ap);
	va_end(ap);
	serial_putc('\n');
	kit_power_off_or_halt();
}

void kit_main(u32 start_info)
{
	const char *reason;
	kit_test_fn fn = NULL;
	u64 hold, x2apic;

	serial_init();
	bootinfo_init(start_info);
	if (cmdline_value("test", kit_name_buf, sizeof(kit_name_buf)) && kit_name_buf[0])
		kit_test_name = kit_name_buf;
	if (!strcmp(kit_test_name, "hello"))
		serial_puts("KITE-HELLO\n");	/* benchmark marker: as early as possible */

	if (!bootinfo_valid)
		kit_fail_stop("bad hvm_start_info at %x (magic %x)", start_info,
			      start_info ? *(const u32 *)(uintptr_t)start_info : 0);
	memmap_init((const void *)(uintptr_t)start_info);

	/* x2apic=1: run the test with the boot CPU's LAPIC in x2APIC mode */
	if (cmdline_u64("x2apic", &x2apic) && x2apic)
		serial_printf("x2apic: %s\n", lapic_x2apic_enable() ? "enabled" : "not supported");
	for (u32 i = 0; i < KIT_ARRAY_SIZE(kit_tests); i++)
		if (!strcmp(kit_tests[i].name, kit_test_name))
			fn = kit_tests[i].fn;
	if (kit_test_name != kit_name_buf)
		reason = kit_reason("no test=NAME on the command line '%s'", cmdline_get());
	else if (!fn)
		reason = "unknown test";
	else
		reason = fn();

	if (reason)
		serial_printf("KITE-TEST-FAIL %s: %s\n", kit_test_name, reason);
	else
		serial_printf("KITE-TEST-PASS %s\n", kit_test_name);
	if (cmdline_u64("hold", &hold) && hold) {
		/* bench/boot samples the VMM's memory while the guest sits here */
		serial_puts("KITE-HOLD\n");
		kit_halt();
	}
	kit_power_off_or_halt();
}
