// SPDX-License-Identifier: GPL-2.0-only
/* rtc: the MC146818 CMOS clock against a fake host clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "hw/rtc.h"

/* Unix times worked out independently of the code under test. */
#define T_2026_11_25_195608 1795636568LL     /* Wednesday */
#define T_2024_02_29_123456 1709210096LL     /* Thursday, leap day */
#define T_2000_02_29_235959 951868799LL      /* Tuesday, century leap day */
#define T_2099_12_31_235959 4102444799LL     /* Thursday */
#define T_2030_01_01_080000 1893484800LL
#define T_2026_11_25_000500 1795565100LL
#define T_2026_11_25_120500 1795608300LL

enum { SEC = 0, MIN = 2, HOUR = 4, WDAY = 6, MDAY = 7, MON = 8, YEAR = 9,
       REG_A = 0x0a, REG_B = 0x0b, REG_C = 0x0c, REG_D = 0x0d, CENTURY = 0x32 };

static int64_t fake_time;

static int64_t fake_now(void)
{
	return fake_time;
}

static int setup(void **state)
{
	struct rtc *r = malloc(sizeof(*r));

	if (!r)
		return -1;
	fake_time = T_2026_11_25_195608;
	if (rtc_init(r, fake_now))
		return -1;
	*state = r;
	return 0;
}

static int teardown(void **state)
{
	rtc_destroy(*state);
	free(*state);
	return 0;
}

static uint8_t cmos_read(struct rtc *r, uint8_t idx)
{
	rtc_ops.write(r, 0, 1, idx);
	return rtc_ops.read(r, 1, 1);
}

static void cmos_write(struct rtc *r, uint8_t idx, uint8_t v)
{
	rtc_ops.write(r, 0, 1, idx);
	rtc_ops.write(r, 1, 1, v);
}

struct clock { uint8_t sec, min, hour, wday, mday, mon, year, century; };

static void expect_clock(struct rtc *r, struct clock want, int line)
{
	struct clock got = {
		cmos_read(r, SEC), cmos_read(r, MIN), cmos_read(r, HOUR), cmos_read(r, WDAY),
		cmos_read(r, MDAY), cmos_read(r, MON), cmos_read(r, YEAR), cmos_read(r, CENTURY),
	};

	if (memcmp(&got, &want, sizeof(got)))
		fail_msg("line %d: got %02x%02x-%02x-%02x (wday %x) %02x:%02x:%02x, "
			 "want %02x%02x-%02x-%02x (wday %x) %02x:%02x:%02x", line,
			 got.century, got.year, got.mon, got.mday, got.wday, got.hour, got.min, got.sec,
			 want.century, want.year, want.mon, want.mday, want.wday, want.hour, want.min,
			 want.sec);
}

#define EXPECT_CLOCK(r, ...) expect_clock((r), (struct clock){ __VA_ARGS__ }, __LINE__)

static void test_bcd_time(void **state)
{
	struct rtc *r = *state;

	/* sec, min, hour, wday (Sunday = 1), mday, mon, year, century */
	EXPECT_CLOCK(r, 0x08, 0x56, 0x19, 0x04, 0x25, 0x11, 0x26, 0x20);
	/* The clock follows the host. */
	fake_time += 3600 * 4 + 4 * 60 + 2;           /* 2026-11-26 00:00:10 */
	EXPECT_CLOCK(r, 0x10, 0x00, 0x00, 0x05, 0x26, 0x11, 0x26, 0x20);
}

static void test_leap_days(void **state)
{
	struct rtc *r = *state;

	fake_time = T_2024_02_29_123456;
	EXPECT_CLOCK(r, 0x56, 0x34, 0x12, 0x05, 0x29, 0x02, 0x24, 0x20);
	fake_time += 12 * 3600;                       /* the next day is 1 March */
	EXPECT_CLOCK(r, 0x56, 0x34, 0x00, 0x06, 0x01, 0x03, 0x24, 0x20);
	fake_time = T_2000_02_29_235959;
	EXPECT_CLOCK(r, 0x59, 0x59, 0x23, 0x03, 0x29, 0x02, 0x00, 0x20);
	fake_time++;
	EXPECT_CLOCK(r, 0x00, 0x00, 0x00, 0x04, 0x01, 0x03, 0x00, 0x20);
	/* The century register turns over too. */
	fake_time = T_2099_12_31_235959;
	EXPECT_CLOCK(r, 0x59, 0x59, 0x23, 0x05, 0x31, 0x12, 0x99, 0x20);
	fake_time++;
	EXPECT_CLOCK(r, 0x00, 0x00, 0x00, 0x06, 0x01, 0x01, 0x00, 0x21);
}

static void test_binary_mode(void **state)
{
	struct rtc *r = *state;

	cmos_write(r, REG_B, 0x06);                   /* binary, 24-hour */
	assert_int_equal(cmos_read(r, REG_B), 0x06);
	EXPECT_CLOCK(r, 8, 56, 19, 4, 25, 11, 26, 20);
	cmos_write(r, REG_B, 0x02);                   /* back to BCD */
	EXPECT_CLOCK(r, 0x08, 0x56, 0x19, 0x04, 0x25, 0x11, 0x26, 0x20);
}

static void test_12_hour(void **state)
{
	struct rtc *r = *state;

	cmos_write(r, REG_B, 0x00);                   /* BCD, 12-hour */
	assert_int_equal(cmos_read(r, HOUR), 0x87);   /* 7 PM */
	fake_time = T_2026_11_25_000500;
	assert_int_equal(cmos_read(r, HOUR), 0x12);   /* 12 AM */
	fake_time = T_2026_11_25_120500;
	assert_int_equal(cmos_read(r, HOUR), 0x92);   /* 12 PM */
	fake_time += 3600;
	assert_int_equal(cmos_read(r, HOUR), 0x81);   /* 1 PM */
	fake_time -= 2 * 3600;
	assert_int_equal(cmos_read(r, HOUR), 0x11);   /* 11 AM */
	cmos_write(r, REG_B, 0x04);                   /* binary, 12-hour */
	assert_int_equal(cmos_read(r, HOUR), 11);
	fake_time = T_2026_11_25_195608 + 4 * 3600;   /* 23:56 */
	assert_int_equal(cmos_read(r, HOUR), 0x80 | 11);
}

static void test_status_registers(void **state)
{
	struct rtc *r = *state;

	/* Register A: divider and rate, never update-in-progress. */
	assert_int_equal(cmos_read(r, REG_A), 0x26);
	for (int i = 0; i < 50; i++) {
		assert_int_equal(cmos_read(r, REG_A) & 0x80, 0);
		fake_time++;
	}
	cmos_write(r, REG_A, 0xa6);
	assert_int_equal(cmos_read(r, REG_A), 0x26);
	/* Register B default: BCD, 24-hour. */
	assert_int_equal(cmos_read(r, REG_B), 0x02);
	/* Register D: valid RAM and time; read-only. */
	assert_int_equal(cmos_read(r, REG_D), 0x80);
	cmos_write(r, REG_D, 0x00);
	assert_int_equal(cmos_read(r, REG_D), 0x80);
	/* Register C: no flags; read-only. */
	cmos_write(r, REG_C, 0xf0);
	assert_int_equal(cmos_read(r, REG_C), 0x00);
}

static void test_set_time(void **state)
{
	struct rtc *r = *state;

	/* The guest's usual sequence: SET, write the fields, clear SET. */
	cmos_write(r, REG_B, 0x82);
	cmos_write(r, SEC, 0x00);
	cmos_write(r, MIN, 0x00);
	cmos_write(r, HOUR, 0x08);
	cmos_write(r, MDAY, 0x01);
	cmos_write(r, MON, 0x01);
	cmos_write(r, YEAR, 0x30);
	cmos_write(r, CENTURY, 0x20);
	/* Frozen while SET is on, whatever the host clock does. */
	fake_time += 100;
	assert_int_equal(cmos_read(r, SEC), 0x00);
	assert_int_equal(cmos_read(r, HOUR), 0x08);
	assert_int_equal(cmos_read(r, YEAR), 0x30);
	cmos_write(r, REG_B, 0x02);
	assert_int_equal(cmos_read(r, REG_B), 0x02);
	/* Runs from the new time: 2030-01-01 08:00:00 is a Tuesday. */
	EXPECT_CLOCK(r, 0x00, 0x00, 0x08, 0x03, 0x01, 0x01, 0x30, 0x20);
	fake_time += 61;
	EXPECT_CLOCK(r, 0x01, 0x01, 0x08, 0x03, 0x01, 0x01, 0x30, 0x20);
	fake_time += 24 * 3600;
	EXPECT_CLOCK(r, 0x01, 0x01, 0x08, 0x04, 0x02, 0x01, 0x30, 0x20);
	/* The offset is kept relative to the host, which is untouched. */
	assert_int_equal(r->s.offset, T_2030_01_01_080000 - (T_2026_11_25_195608 + 100));
}

static void test_set_single_field(void **state)
{
	struct rtc *r = *state;

	/* Without SET, writing one field moves the clock from there on. */
	cmos_write(r, MIN, 0x30);
	EXPECT_CLOCK(r, 0x08, 0x30, 0x19, 0x04, 0x25, 0x11, 0x26, 0x20);
	fake_time += 5;
	EXPECT_CLOCK(r, 0x13, 0x30, 0x19, 0x04, 0x25, 0x11, 0x26, 0x20);
	cmos_write(r, YEAR, 0x27);
	assert_int_equal(cmos_read(r, YEAR), 0x27);
	assert_int_equal(cmos_read(r, MON), 0x11);
	assert_int_equal(cmos_read(r, MIN), 0x30);
}

static void test_set_time_other_modes(void **state)
{
	struct rtc *r = *state;

	/* 12-hour BCD: 7 PM is hour 19. */
	cmos_write(r, REG_B, 0x80);
	cmos_write(r, HOUR, 0x87);
	cmos_write(r, MIN, 0x15);
	cmos_write(r, REG_B, 0x00);
	assert_int_equal(cmos_read(r, HOUR), 0x87);
	cmos_write(r, REG_B, 0x02);
	assert_int_equal(cmos_read(r, HOUR), 0x19);
	assert_int_equal(cmos_read(r, MIN), 0x15);
	/* 12 AM is hour 0. */
	cmos_write(r, REG_B, 0x80);
	cmos_write(r, HOUR, 0x12);
	cmos_write(r, REG_B, 0x00);
	assert_int_equal(cmos_read(r, HOUR), 0x12);
	cmos_write(r, REG_B, 0x02);
	assert_int_equal(cmos_read(r, HOUR), 0x00);
	/* Binary 24-hour (a mode change means rewriting every field, as on hardware). */
	cmos_write(r, REG_B, 0x86);
	cmos_write(r, SEC, 0);
	cmos_write(r, MIN, 30);
	cmos_write(r, YEAR, 26);
	cmos_write(r, CENTURY, 20);
	cmos_write(r, HOUR, 23);
	cmos_write(r, MDAY, 31);
	cmos_write(r, MON, 12);
	cmos_write(r, REG_B, 0x06);
	assert_int_equal(cmos_read(r, HOUR), 23);
	assert_int_equal(cmos_read(r, MDAY), 31);
	assert_int_equal(cmos_read(r, MON), 12);
	assert_int_equal(cmos_read(r, MIN), 30);
	fake_time += 3600;                            /* into the new year */
	assert_int_equal(cmos_read(r, HOUR), 0);
	assert_int_equal(cmos_read(r, MDAY), 1);
	assert_int_equal(cmos_read(r, MON), 1);
	assert_int_equal(cmos_read(r, YEAR), 27);
}

static void test_index_port(void **state)
{
	struct rtc *r = *state;

	/* Bit 7 of the index is the NMI mask, not part of the register number. */
	rtc_ops.write(r, 0, 1, 0x80 | MIN);
	assert_int_equal(rtc_ops.read(r, 1, 1), 0x56);
	rtc_ops.write(r, 0, 1, 0x80 | REG_D);
	assert_int_equal(rtc_ops.read(r, 1, 1), 0x80);
	rtc_ops.write(r, 0, 1, 0x80 | 0x40);
	rtc_ops.write(r, 1, 1, 0x5a);
	assert_int_equal(cmos_read(r, 0x40), 0x5a);
	assert_int_equal(cmos_read(r, 0x40 | 0x80), 0x5a);
	/* The index port itself reads as 0xff. */
	assert_int_equal(rtc_ops.read(r, 0, 1), 0xff);
	/* The data port reads the last selected register repeatedly. */
	rtc_ops.write(r, 0, 1, HOUR);
	assert_int_equal(rtc_ops.read(r, 1, 1), 0x19);
	assert_int_equal(rtc_ops.read(r, 1, 1), 0x19);
}

static void test_cmos_ram(void **state)
{
	struct rtc *r = *state;

	/* Plain battery-backed RAM outside the clock registers. */
	for (unsigned int i = 0x0e; i < 0x80; i++) {
		if (i == CENTURY)
			continue;
		cmos_write(r, i, (uint8_t)(i ^ 0xa5));
	}
	for (unsigned int i = 0x0e; i < 0x80; i++) {
		if (i == CENTURY)
			continue;
		if (cmos_read(r, i) != (uint8_t)(i ^ 0xa5))
			fail_msg("CMOS byte %#x lost", i);
	}
	/* None of that moved the clock. */
	EXPECT_CLOCK(r, 0x08, 0x56, 0x19, 0x04, 0x25, 0x11, 0x26, 0x20);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_bcd_time),
		T(test_leap_days),
		T(test_binary_mode),
		T(test_12_hour),
		T(test_status_registers),
		T(test_set_time),
		T(test_set_single_field),
		T(test_set_time_other_modes),
		T(test_index_port),
		T(test_cmos_ram),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
