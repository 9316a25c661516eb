// SPDX-License-Identifier: GPL-2.0-only
/* The state format: round trips, and every kind of damage refused with a clear reason. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "state/blob.h"
#include "state/format.h"

static void build(struct blob *img)
{
	struct state_writer w;
	uint8_t big[10000];

	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = i * 7;
	state_writer_init(&w);
	state_add(&w, "config", 1, "hello", 5);
	state_add(&w, "empty", 3, NULL, 0);
	state_add(&w, "a-section-id-of-exactly-32-bytes", 2, big, sizeof(big));
	assert_int_equal(state_finish(&w, 0x1234, img), 0);
	state_writer_free(&w);
}

static void test_round_trip(void **state)
{
	struct blob img, again;
	struct state_image p;
	struct state_writer w;
	char err[256];
	const struct state_section *s;

	(void)state;
	build(&img);
	assert_int_equal(state_parse(img.buf, img.len, &p, err, sizeof(err)), 0);
	assert_int_equal(p.nr, 3);
	assert_int_equal(p.hdr.cpuid_fingerprint, 0x1234);
	s = state_find(&p, "config");
	assert_non_null(s);
	assert_int_equal(s->version, 1);
	assert_int_equal(s->length, 5);
	assert_memory_equal(s->data, "hello", 5);
	s = state_find(&p, "a-section-id-of-exactly-32-bytes");
	assert_non_null(s);
	assert_int_equal(s->length, 10000);
	assert_int_equal(state_find(&p, "empty")->length, 0);
	assert_null(state_find(&p, "missing"));
	/* save -> load -> save gives the same bytes. */
	state_writer_init(&w);
	for (unsigned int i = 0; i < p.nr; i++)
		state_add(&w, p.sections[i].id, p.sections[i].version, p.sections[i].data,
			  p.sections[i].length);
	assert_int_equal(state_finish(&w, p.hdr.cpuid_fingerprint, &again), 0);
	assert_int_equal(again.len, img.len);
	assert_memory_equal(again.buf, img.buf, img.len);
	state_writer_free(&w);
	blob_free(&again);
	state_image_free(&p);
	blob_free(&img);
}

static void expect_bad(const uint8_t *buf, size_t len, const char *want)
{
	struct state_image p;
	char err[256] = "";

	assert_int_equal(state_parse(buf, len, &p, err, sizeof(err)), -EINVAL);
	if (!strstr(err, want))
		fail_msg("error '%s' lacks '%s'", err, want);
}

static void test_truncated_everywhere(void **state)
{
	struct blob img;

	(void)state;
	build(&img);
	for (size_t n = 0; n < img.len; n++)
		expect_bad(img.buf, n, n < sizeof(struct state_header) ? "truncated" : "truncated");
	blob_free(&img);
}

static void test_corruption(void **state)
{
	struct blob img;
	struct state_header h;

	(void)state;
	build(&img);
	/* Every single flipped byte is caught (header CRC, section CRC, lengths, magic). */
	for (size_t i = 0; i < img.len; i++) {
		struct state_image p;
		char err[256];

		img.buf[i] ^= 0x40;
		if (state_parse(img.buf, img.len, &p, err, sizeof(err)) == 0)
			fail_msg("a flipped byte at %zu went unnoticed", i);
		img.buf[i] ^= 0x40;
	}
	memcpy(&h, img.buf, sizeof(h));
	h.version = 7;
	h.crc = state_crc32(&h, offsetof(struct state_header, crc));
	memcpy(img.buf, &h, sizeof(h));
	expect_bad(img.buf, img.len, "format version 7");
	memcpy(&h, img.buf, sizeof(h));
	h.version = STATE_FORMAT_VERSION;
	memcpy(h.arch, "aarch64", 8);
	h.crc = state_crc32(&h, offsetof(struct state_header, crc));
	memcpy(img.buf, &h, sizeof(h));
	expect_bad(img.buf, img.len, "architecture 'aarch64'");
	memcpy(img.buf, "NOTKITE!", 8);
	expect_bad(img.buf, img.len, "bad magic");
	blob_free(&img);
}

static void test_trailing_garbage(void **state)
{
	struct blob img;

	(void)state;
	build(&img);
	blob_put(&img, "xx", 2);
	expect_bad(img.buf, img.len, "unexpected bytes");
	blob_free(&img);
}

static void test_reader_bounds(void **state)
{
	struct blob_reader r;
	uint32_t v;
	uint64_t w;
	uint8_t data[6] = { 1, 0, 0, 0, 2, 0 };

	(void)state;
	blob_reader_init(&r, data, sizeof(data));
	assert_true(blob_get_u32(&r, &v));
	assert_int_equal(v, 1);
	assert_false(blob_get_u64(&r, &w));       /* 2 bytes left */
	assert_true(r.bad);
	assert_false(blob_get_u32(&r, &v));       /* sticky */
	assert_false(blob_done(&r));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_truncated_everywhere),
		cmocka_unit_test(test_corruption),
		cmocka_unit_test(test_trailing_garbage),
		cmocka_unit_test(test_reader_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
