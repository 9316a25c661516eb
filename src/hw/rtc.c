// SPDX-License-Identifier: GPL-2.0-only
/* MC146818 CMOS real-time clock on ports 0x70/0x71, following the host's UTC time. */
#include <string.h>
#include <time.h>

#include "hw/rtc.h"

enum {
	RTC_SEC = 0x00, RTC_MIN = 0x02, RTC_HOUR = 0x04, RTC_WDAY = 0x06,
	RTC_MDAY = 0x07, RTC_MON = 0x08, RTC_YEAR = 0x09,
	RTC_REG_A = 0x0a, RTC_REG_B = 0x0b, RTC_REG_C = 0x0c, RTC_REG_D = 0x0d,
	RTC_CENTURY = 0x32,
};

#define REG_B_SET   0x80
#define REG_B_BIN   0x04
#define REG_B_24H   0x02

static int64_t rtc_host_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec;
}

int rtc_init(struct rtc *rtc, int64_t (*now)(void))
{
	memset(rtc, 0, sizeof(*rtc));
	rtc->now = now ? now : rtc_host_now;
	rtc->s.cmos[RTC_REG_A] = 0x26;           /* 32.768 kHz base, 1024 Hz rate */
	rtc->s.cmos[RTC_REG_B] = REG_B_24H;      /* BCD, 24-hour */
	rtc->s.cmos[RTC_REG_D] = 0x80;           /* valid RAM and time */
	return -pthread_mutex_init(&rtc->lock, NULL);
}

void rtc_destroy(struct rtc *rtc)
{
	pthread_mutex_destroy(&rtc->lock);
}

static uint8_t to_reg(const struct rtc_state *s, int v)
{
	return (s->cmos[RTC_REG_B] & REG_B_BIN) ? v : ((v / 10) << 4) | (v % 10);
}

static int from_reg(const struct rtc_state *s, uint8_t v)
{
	return (s->cmos[RTC_REG_B] & REG_B_BIN) ? v : (v >> 4) * 10 + (v & 0x0f);
}

static uint8_t rtc_hour_reg(const struct rtc_state *s, int hour)
{
	if (s->cmos[RTC_REG_B] & REG_B_24H)
		return to_reg(s, hour);
	/* 12-hour: 1..12, bit 7 = PM. */
	return to_reg(s, hour % 12 ? hour % 12 : 12) | (hour >= 12 ? 0x80 : 0);
}

/* Refresh the time registers from the host clock plus the guest's offset. */
static void rtc_update(struct rtc *rtc)
{
	struct rtc_state *s = &rtc->s;
	time_t t = rtc->now() + s->offset;
	struct tm tm;

	if (s->cmos[RTC_REG_B] & REG_B_SET)
		return;                          /* guest is setting the clock */
	gmtime_r(&t, &tm);
	s->cmos[RTC_SEC] = to_reg(s, tm.tm_sec);
	s->cmos[RTC_MIN] = to_reg(s, tm.tm_min);
	s->cmos[RTC_HOUR] = rtc_hour_reg(s, tm.tm_hour);
	s->cmos[RTC_WDAY] = to_reg(s, tm.tm_wday + 1);
	s->cmos[RTC_MDAY] = to_reg(s, tm.tm_mday);
	s->cmos[RTC_MON] = to_reg(s, tm.tm_mon + 1);
	s->cmos[RTC_YEAR] = to_reg(s, tm.tm_year % 100);
	s->cmos[RTC_CENTURY] = to_reg(s, (tm.tm_year + 1900) / 100);
}

/* The guest wrote the time registers: derive the new offset from them. */
static void rtc_set_offset(struct rtc *rtc)
{
	struct rtc_state *s = &rtc->s;
	uint8_t h = s->cmos[RTC_HOUR];
	struct tm tm = { 0 };
	int hour;

	if (s->cmos[RTC_REG_B] & REG_B_24H) {
		hour = from_reg(s, h);
	} else {
		hour = from_reg(s, h & 0x7f) % 12;
		if (h & 0x80)
			hour += 12;
	}
	tm.tm_sec = from_reg(s, s->cmos[RTC_SEC]);
	tm.tm_min = from_reg(s, s->cmos[RTC_MIN]);
	tm.tm_hour = hour;
	tm.tm_mday = from_reg(s, s->cmos[RTC_MDAY]);
	tm.tm_mon = from_reg(s, s->cmos[RTC_MON]) - 1;
	tm.tm_year = from_reg(s, s->cmos[RTC_CENTURY]) * 100 + from_reg(s, s->cmos[RTC_YEAR]) - 1900;
	s->offset = (int64_t)timegm(&tm) - rtc->now();
}

static uint64_t rtc_read(void *opaque, uint64_t off, unsigned int size)
{
	struct rtc *rtc = opaque;
	struct rtc_state *s = &rtc->s;
	uint8_t v;

	(void)size;
	if (off == 0)
		return 0xff;                     /* the index port is write-only */
	pthread_mutex_lock(&rtc->lock);
	switch (s->index) {
	case RTC_SEC: case RTC_MIN: case RTC_HOUR: case RTC_WDAY:
	case RTC_MDAY: case RTC_MON: case RTC_YEAR: case RTC_CENTURY:
		rtc_update(rtc);
		v = s->cmos[s->index];
		break;
	case RTC_REG_A:
		v = s->cmos[RTC_REG_A] & 0x7f;   /* update-in-progress never seen */
		break;
	case RTC_REG_C:
		v = s->cmos[RTC_REG_C];
		s->cmos[RTC_REG_C] = 0;          /* reading clears the flags */
		break;
	default:
		v = s->cmos[s->index];
		break;
	}
	pthread_mutex_unlock(&rtc->lock);
	return v;
}

static void rtc_write(void *opaque, uint64_t off, unsigned int size, uint64_t val)
{
	struct rtc *rtc = opaque;
	struct rtc_state *s = &rtc->s;
	uint8_t v = val;

	(void)size;
	pthread_mutex_lock(&rtc->lock);
	if (off == 0) {
		s->index = v & 0x7f;             /* bit 7 is the NMI mask */
		goto out;
	}
	switch (s->index) {
	case RTC_SEC: case RTC_MIN: case RTC_HOUR: case RTC_WDAY:
	case RTC_MDAY: case RTC_MON: case RTC_YEAR: case RTC_CENTURY:
		rtc_update(rtc);
		s->cmos[s->index] = v;
		if (!(s->cmos[RTC_REG_B] & REG_B_SET))
			rtc_set_offset(rtc);
		break;
	case RTC_REG_B: {
		bool was_set = s->cmos[RTC_REG_B] & REG_B_SET;

		if (!was_set && (v & REG_B_SET))
			rtc_update(rtc);         /* freeze the current time */
		s->cmos[RTC_REG_B] = v;
		if (was_set && !(v & REG_B_SET))
			rtc_set_offset(rtc);
		break;
	}
	case RTC_REG_C:
	case RTC_REG_D:
		break;                           /* read-only */
	default:
		s->cmos[s->index] = v;
		break;
	}
out:
	pthread_mutex_unlock(&rtc->lock);
}

const struct bus_ops rtc_ops = {
	.read = rtc_read,
	.write = rtc_write,
};
