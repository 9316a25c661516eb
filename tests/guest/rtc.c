/*
 * rtc.c - MC146818 CMOS real-time clock (ports 0x70/0x71).
 */
#include "kit.h"

#define RTC_SECONDS	0x00
#define RTC_MINUTES	0x02
#define RTC_HOURS	0x04
#define RTC_DAY		0x07
#define RTC_MONTH	0x08
#define RTC_YEAR	0x09
#define RTC_REG_A	0x0A
#define RTC_REG_B	0x0B
#define RTC_A_UIP	0x80
#define RTC_B_24H	0x02
#define RTC_B_BINARY	0x04

u8 rtc_cmos_read(u8 index)
{
	outb(0x70, index & 0x7F);	/* bit 7 clear: NMI stays enabled */
	return inb(0x71);
}

static u32 rtc_bcd(u32 v)
{
	return (v & 0x0F) + (v >> 4) * 10;
}

static void rtc_raw(u8 r[7])
{
	u8 century = fadt_century();

	r[0] = rtc_cmos_read(RTC_SECONDS);
	r[1] = rtc_cmos_read(RTC_MINUTES);
	r[2] = rtc_cmos_read(RTC_HOURS);
	r[3] = rtc_cmos_read(RTC_DAY);
	r[4] = rtc_cmos_read(RTC_MONTH);
	r[5] = rtc_cmos_read(RTC_YEAR);
	r[6] = century ? rtc_cmos_read(century) : 0;
}

static bool rtc_wait_uip(void)
{
	u64 end = tsc_deadline_us(20000);	/* UIP lasts < 2 ms */

	while (rtc_cmos_read(RTC_REG_A) & RTC_A_UIP)
		if (tsc_passed(end))
			return false;
	return true;
}

bool rtc_read(struct rtc_time *t)
{
	u8 a[7], b[7];
	u32 hour;
	bool pm, bin;
	int tries;

	/* read until two consecutive reads outside an update agree */
	for (tries = 0; tries < 10; tries++) {
		if (!rtc_wait_uip())
			return false;
		rtc_raw(a);
		if (!rtc_wait_uip())
			return false;
		rtc_raw(b);
		if (!memcmp(a, b, sizeof(a)))
			break;
	}
	if (tries == 10)
		return false;
	t->reg_b = rtc_cmos_read(RTC_REG_B);
	bin = t->reg_b & RTC_B_BINARY;
	pm = !(t->reg_b & RTC_B_24H) && (a[2] & 0x80);
	hour = a[2] & 0x7F;
	t->second = bin ? a[0] : rtc_bcd(a[0]);
	t->minute = bin ? a[1] : rtc_bcd(a[1]);
	hour = bin ? hour : rtc_bcd(hour);
	t->day = bin ? a[3] : rtc_bcd(a[3]);
	t->month = bin ? a[4] : rtc_bcd(a[4]);
	t->year = bin ? a[5] : rtc_bcd(a[5]);
	if (!(t->reg_b & RTC_B_24H))	/* 12-hour clock: 12 AM = 0h, 12 PM = 12h */
		hour = (hour % 12) + (pm ? 12 : 0);
	t->hour = hour;
	if (a[6])
		t->year += 100 * (bin ? a[6] : rtc_bcd(a[6]));
	else
		t->year += t->year < 70 ? 2000 : 1900;
	return true;
}

/* days since 1970-01-01 of a civil date (H. Hinnant's algorithm) */
static s64 rtc_days_from_civil(s64 y, u32 m, u32 d)
{
	s64 era;
	u32 yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (u32)(y - era * 400);
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (s64)doe - 719468;
}

s64 rtc_to_unix(const struct rtc_time *t)
{
	return rtc_days_from_civil(t->year, t->month, t->day) * 86400 +
	       t->hour * 3600 + t->minute * 60 + t->second;
}
