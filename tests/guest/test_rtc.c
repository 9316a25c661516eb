/*
 * test_rtc.c - epoch=SECONDS: the CMOS RTC, converted to Unix time, is
 * within 5 s of the host's time.  Read in the VMM's default format, then
 * again after switching register B to each other format (binary/BCD,
 * 24h/12h); VMMs (kite, QEMU) format the time registers when they are read.
 */
#include "kit.h"

#define RTC_REG_B	0x0B
#define RTC_B_24H	0x02
#define RTC_B_BINARY	0x04

static void rtc_write_b(u8 v)
{
	outb(0x70, RTC_REG_B);
	outb(0x71, v);
}

static const char *rtc_check(u64 epoch, const char *what)
{
	struct rtc_time t;
	s64 now, diff;

	if (!rtc_read(&t))
		return "RTC update-in-progress never cleared or reads unstable";
	now = rtc_to_unix(&t);
	diff = now - (s64)epoch;
	serial_printf("rtc: %-8s %u-%02u-%02u %02u:%02u:%02u (reg B %x: %s, %s) unix %ld, diff %ld s\n",
		      what, t.year, t.month, t.day, t.hour, t.minute, t.second, t.reg_b,
		      (t.reg_b & RTC_B_BINARY) ? "binary" : "BCD",
		      (t.reg_b & RTC_B_24H) ? "24h" : "12h", now, diff);
	if (diff < -5 || diff > 5)
		return kit_reason("RTC time (%s) %ld differs from epoch %lu by %ld s", what, now,
				  epoch, diff);
	return NULL;
}

const char *test_rtc(void)
{
	static const u8 modes[] = { RTC_B_BINARY | RTC_B_24H, RTC_B_24H, RTC_B_BINARY, 0 };
	const char *reason;
	u64 epoch;
	u8 b;

	if (!cmdline_u64("epoch", &epoch))
		return "missing epoch=SECONDS on the command line";
	acpi_init();		/* for the FADT century index, if any */
	serial_printf("rtc: epoch= %lu, FADT century register %x\n", epoch, fadt_century());
	reason = rtc_check(epoch, "default");
	if (reason)
		return reason;
	b = rtc_cmos_read(RTC_REG_B);
	for (u32 i = 0; i < KIT_ARRAY_SIZE(modes); i++) {
		if (modes[i] == (b & (RTC_B_BINARY | RTC_B_24H)))
			continue;
		rtc_write_b((u8)((b & ~(RTC_B_BINARY | RTC_B_24H)) | modes[i]));
		reason = rtc_check(epoch, "switched");
		if (reason)
			break;
	}
	rtc_write_b(b);
	return reason;
}
