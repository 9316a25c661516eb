// SPDX-License-Identifier: GPL-2.0-only
/* util: parse_size, parse_uint, fmt_size, ilog2_ceil. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "util.h"

#define SENTINEL 0x5a5a5a5a5a5a5a5aULL

static void expect_size(const char *s, uint64_t want)
{
	uint64_t v = SENTINEL;
	int ret = parse_size(s, &v);

	if (ret != 0 || v != want)
		fail_msg("parse_size(\"%s\") = %d, %#llx; want 0, %#llx", s, ret,
			 (unsigned long long)v, (unsigned long long)want);
}

static void expect_size_err(const char *s, int err)
{
	uint64_t v = SENTINEL;
	int ret = parse_size(s, &v);

	if (ret != err)
		fail_msg("parse_size(\"%s\") = %d (value %#llx); want %d", s ? s : "(null)", ret,
			 (unsigned long long)v, err);
	assert_int_equal(v, SENTINEL);    /* output untouched on error */
}

static void test_parse_size_units(void **state)
{
	(void)state;
	expect_size("512M", 512 * MiB);
	expect_size("512m", 512 * MiB);
	expect_size("512MB", 512 * MiB);
	expect_size("512MiB", 512 * MiB);
	expect_size("4G", 4 * GiB);
	expect_size("2GiB", 2 * GiB);
	expect_size("2gib", 2 * GiB);
	expect_size("1536k", 1536 * KiB);
	expect_size("1536K", 1536 * KiB);
	expect_size("1536KB", 1536 * KiB);
	expect_size("1T", 1ULL << 40);
	expect_size("4096B", 4096);
	expect_size("4096b", 4096);
}

static void test_parse_size_plain_is_mib(void **state)
{
	(void)state;
	expect_size("1024", 1024 * MiB);
	expect_size("1", MiB);
	expect_size("0", 0);
	expect_size("0G", 0);
	expect_size("007", 7 * MiB);
}

static void test_parse_size_garbage(void **state)
{
	(void)state;
	expect_size_err("", -EINVAL);
	expect_size_err("abc", -EINVAL);
	expect_size_err("M", -EINVAL);
	expect_size_err("12Q", -EINVAL);
	expect_size_err("-1", -EINVAL);
	expect_size_err("+1", -EINVAL);
	expect_size_err(" 1", -EINVAL);
	expect_size_err("1 ", -EINVAL);
	expect_size_err("1.5G", -EINVAL);
	expect_size_err("1G1", -EINVAL);
	expect_size_err("1GG", -EINVAL);
	expect_size_err("1GiBx", -EINVAL);
	expect_size_err("1Gi", -EINVAL);
	expect_size_err("1iB", -EINVAL);
	expect_size_err("4096BiB", -EINVAL);   /* "iB" only after a binary prefix */
	expect_size_err("0x10", -EINVAL);
	expect_size_err(NULL, -EINVAL);
}

static void test_parse_size_overflow(void **state)
{
	(void)state;
	/* Digits alone overflow 64 bits. */
	expect_size_err("99999999999999999999", -ERANGE);
	expect_size_err("18446744073709551616B", -ERANGE);
	/* 2^24 TiB = 2^64: the shift overflows. */
	expect_size_err("16777216T", -ERANGE);
	expect_size_err("17179869184G", -ERANGE);
	/* A plain number is MiB: 2^44 MiB = 2^64. */
	expect_size_err("17592186044416", -ERANGE);
	/* The largest values that still fit. */
	expect_size("16777215T", 16777215ULL << 40);
	expect_size("17592186044415", 17592186044415ULL << 20);
	expect_size("18446744073709551615B", UINT64_MAX);
}

static void expect_uint(const char *s, uint64_t min, uint64_t max, int err, uint64_t want)
{
	uint64_t v = SENTINEL;
	int ret = parse_uint(s, min, max, &v);

	if (ret != err)
		fail_msg("parse_uint(\"%s\", %llu, %llu) = %d; want %d", s ? s : "(null)",
			 (unsigned long long)min, (unsigned long long)max, ret, err);
	assert_int_equal(v, err ? SENTINEL : want);
}

static void test_parse_uint(void **state)
{
	(void)state;
	expect_uint("5", 1, 8, 0, 5);
	expect_uint("1", 1, 8, 0, 1);          /* bounds are inclusive */
	expect_uint("8", 1, 8, 0, 8);
	expect_uint("0", 1, 8, -ERANGE, 0);
	expect_uint("9", 1, 8, -ERANGE, 0);
	expect_uint("0", 0, 0, 0, 0);
	expect_uint("0008", 1, 8, 0, 8);
	expect_uint("18446744073709551615", 0, UINT64_MAX, 0, UINT64_MAX);
	expect_uint("18446744073709551616", 0, UINT64_MAX, -ERANGE, 0);
	expect_uint("99999999999999999999999", 0, UINT64_MAX, -ERANGE, 0);
	expect_uint("", 0, 10, -EINVAL, 0);
	expect_uint(NULL, 0, 10, -EINVAL, 0);
	expect_uint("abc", 0, 10, -EINVAL, 0);
	expect_uint("-1", 0, 10, -EINVAL, 0);
	expect_uint("+1", 0, 10, -EINVAL, 0);
	expect_uint(" 1", 0, 10, -EINVAL, 0);
	expect_uint("1 ", 0, 10, -EINVAL, 0);
	expect_uint("1k", 0, 10000, -EINVAL, 0);
	expect_uint("0x1", 0, 10, -EINVAL, 0);
}

static void expect_fmt(uint64_t bytes, const char *want)
{
	char buf[64];

	memset(buf, 'X', sizeof(buf));
	assert_ptr_equal(fmt_size(bytes, buf, sizeof(buf)), buf);
	assert_string_equal(buf, want);
}

static void test_fmt_size(void **state)
{
	char small[6];

	(void)state;
	expect_fmt(512 * MiB, "512 MiB");
	expect_fmt(6 * GiB, "6 GiB");
	expect_fmt(1536 * MiB, "1536 MiB");
	expect_fmt(1024 * GiB, "1024 GiB");
	expect_fmt(4 * KiB, "4 KiB");
	expect_fmt(1536 * KiB, "1536 KiB");
	expect_fmt(4097, "4097 bytes");
	expect_fmt(0, "0 bytes");
	expect_fmt(MiB + KiB, "1025 KiB");
	expect_fmt(UINT64_MAX, "18446744073709551615 bytes");
	/* Truncated to the buffer, still NUL-terminated. */
	memset(small, 'X', sizeof(small));
	fmt_size(512 * MiB, small, sizeof(small));
	assert_string_equal(small, "512 M");
}

static void test_ilog2_ceil(void **state)
{
	static const struct { uint64_t x; unsigned int want; } cases[] = {
		{ 1, 0 }, { 2, 1 }, { 3, 2 }, { 4, 2 }, { 5, 3 }, { 7, 3 }, { 8, 3 },
		{ 9, 4 }, { 255, 8 }, { 256, 8 }, { 257, 9 }, { 300, 9 },
		{ 1ULL << 32, 32 }, { (1ULL << 32) + 1, 33 }, { 1ULL << 63, 63 },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		unsigned int got = ilog2_ceil(cases[i].x);

		if (got != cases[i].want)
			fail_msg("ilog2_ceil(%llu) = %u, want %u",
				 (unsigned long long)cases[i].x, got, cases[i].want);
	}
	/* Cross-check: 2^(r-1) < x <= 2^r. */
	for (uint64_t x = 2; x < 5000; x++) {
		unsigned int r = ilog2_ceil(x);

		assert_true((1ULL << r) >= x);
		assert_true((1ULL << (r - 1)) < x);
	}
}

static void test_squeeze_spaces(void **state)
{
	char a[] = "  console=ttyS0   quiet  ";
	char b[] = "a  kite.cmd=\"x  y\"   b";
	char c[] = "   ";
	char d[] = "";

	(void)state;
	assert_string_equal(str_squeeze_spaces(a), "console=ttyS0 quiet");
	assert_string_equal(str_squeeze_spaces(b), "a kite.cmd=\"x  y\" b");
	assert_string_equal(str_squeeze_spaces(c), "");
	assert_string_equal(str_squeeze_spaces(d), "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_squeeze_spaces),
		cmocka_unit_test(test_parse_size_units),
		cmocka_unit_test(test_parse_size_plain_is_mib),
		cmocka_unit_test(test_parse_size_garbage),
		cmocka_unit_test(test_parse_size_overflow),
		cmocka_unit_test(test_parse_uint),
		cmocka_unit_test(test_fmt_size),
		cmocka_unit_test(test_ilog2_ceil),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
