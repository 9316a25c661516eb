// SPDX-License-Identifier: GPL-2.0-only
/* aml: the AML byte-code writer, checked byte for byte and by decoding it back. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "arch/x86/aml.h"
#include "util.h"
#include "aml_parse.h"

static int setup(void **state)
{
	struct aml *a = malloc(sizeof(*a));

	if (!a)
		return -1;
	aml_init(a);
	*state = a;
	return 0;
}

static int teardown(void **state)
{
	aml_free(*state);
	free(*state);
	return 0;
}

#define EXPECT_BYTES(a, ...) do {                                               \
	static const uint8_t want_[] = { __VA_ARGS__ };                          \
	expect_bytes((a), want_, sizeof(want_), __LINE__);                       \
} while (0)

static void expect_bytes(struct aml *a, const uint8_t *want, size_t n, int line)
{
	if (a->err)
		fail_msg("line %d: aml error %d", line, a->err);
	if (a->len != n || memcmp(a->buf, want, n)) {
		char got[256] = "", exp[256] = "";

		for (size_t i = 0; i < a->len && i < 40; i++)
			snprintf(got + strlen(got), sizeof(got) - strlen(got), "%02x ", a->buf[i]);
		for (size_t i = 0; i < n && i < 40; i++)
			snprintf(exp + strlen(exp), sizeof(exp) - strlen(exp), "%02x ", want[i]);
		fail_msg("line %d:\n  got  (%zu) %s\n  want (%zu) %s", line, a->len, got, n, exp);
	}
	aml_free(a);
	aml_init(a);
}

static void test_integers(void **state)
{
	struct aml *a = *state;

	aml_integer(a, 0);
	EXPECT_BYTES(a, 0x00);                                   /* ZeroOp */
	aml_integer(a, 1);
	EXPECT_BYTES(a, 0x01);                                   /* OneOp */
	aml_integer(a, 2);
	EXPECT_BYTES(a, 0x0a, 0x02);                             /* BytePrefix */
	aml_integer(a, 0xff);
	EXPECT_BYTES(a, 0x0a, 0xff);
	aml_integer(a, 0x100);
	EXPECT_BYTES(a, 0x0b, 0x00, 0x01);                       /* WordPrefix */
	aml_integer(a, 0xbeef);
	EXPECT_BYTES(a, 0x0b, 0xef, 0xbe);
	aml_integer(a, 0xffff);
	EXPECT_BYTES(a, 0x0b, 0xff, 0xff);
	aml_integer(a, 0x10000);
	EXPECT_BYTES(a, 0x0c, 0x00, 0x00, 0x01, 0x00);           /* DWordPrefix */
	aml_integer(a, 0xfec00000);
	EXPECT_BYTES(a, 0x0c, 0x00, 0x00, 0xc0, 0xfe);
	aml_integer(a, 0xffffffff);
	EXPECT_BYTES(a, 0x0c, 0xff, 0xff, 0xff, 0xff);
	aml_integer(a, 0x100000000ULL);
	EXPECT_BYTES(a, 0x0e, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00);  /* QWordPrefix */
	aml_integer(a, 0x0123456789abcdefULL);
	EXPECT_BYTES(a, 0x0e, 0xef, 0xcd, 0xab, 0x89, 0x67, 0x45, 0x23, 0x01);
	aml_integer(a, UINT64_MAX);
	EXPECT_BYTES(a, 0x0e, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff);
}

static void test_integers_roundtrip(void **state)
{
	struct aml *a = *state;
	uint64_t v = 1;

	/* Every power of two and its neighbours decode back to the same value. */
	for (int bit = 0; bit < 64; bit++, v <<= 1) {
		uint64_t cases[3] = { v - 1, v, v + 1 };

		for (int k = 0; k < 3; k++) {
			static struct aml_doc d;
			struct aml_obj o = { 0 };
			long n;

			aml_integer(a, cases[k]);
			assert_int_equal(a->err, 0);
			n = aml_read_data(&d, a->buf, a->buf, a->buf + a->len, &o);
			assert_int_equal(n, (long)a->len);
			assert_int_equal(o.type, AOBJ_INT);
			assert_int_equal(o.ival, cases[k]);
			/* Smallest encoding. */
			assert_int_equal(a->len, cases[k] <= 1 ? 1 : cases[k] <= 0xff ? 2 :
					 cases[k] <= 0xffff ? 3 : cases[k] <= 0xffffffff ? 5 : 9);
			aml_free(a);
			aml_init(a);
		}
	}
}

static void test_strings(void **state)
{
	struct aml *a = *state;

	aml_string(a, "abc");
	EXPECT_BYTES(a, 0x0d, 'a', 'b', 'c', 0x00);
	aml_string(a, "");
	EXPECT_BYTES(a, 0x0d, 0x00);
	aml_name_string(a, "_STR", "KITE");
	EXPECT_BYTES(a, 0x08, '_', 'S', 'T', 'R', 0x0d, 'K', 'I', 'T', 'E', 0x00);
}

static void test_name_paths(void **state)
{
	struct aml *a = *state;

	/* One segment, relative and rooted. */
	aml_name(a, "_HID");
	EXPECT_BYTES(a, 0x08, '_', 'H', 'I', 'D');
	aml_name(a, "\\_S5_");
	EXPECT_BYTES(a, 0x08, '\\', '_', 'S', '5', '_');
	/* The root alone: RootChar NullName. */
	aml_name(a, "\\");
	EXPECT_BYTES(a, 0x08, '\\', 0x00);
	/* Short segments are padded with '_'. */
	aml_name(a, "\\_SB");
	EXPECT_BYTES(a, 0x08, '\\', '_', 'S', 'B', '_');
	aml_name(a, "A");
	EXPECT_BYTES(a, 0x08, 'A', '_', '_', '_');
	/* Two segments: DualNamePrefix. */
	aml_name(a, "\\_SB_.PCI0");
	EXPECT_BYTES(a, 0x08, '\\', 0x2e, '_', 'S', 'B', '_', 'P', 'C', 'I', '0');
	aml_name(a, "_SB.COM1");
	EXPECT_BYTES(a, 0x08, 0x2e, '_', 'S', 'B', '_', 'C', 'O', 'M', '1');
	/* Three or more: MultiNamePrefix SegCount. */
	aml_name(a, "\\_SB_.PCI0.ISA_");
	EXPECT_BYTES(a, 0x08, '\\', 0x2f, 0x03, '_', 'S', 'B', '_', 'P', 'C', 'I', '0',
		     'I', 'S', 'A', '_');
	aml_name(a, "A.B.C.D.E");
	EXPECT_BYTES(a, 0x08, 0x2f, 0x05, 'A', '_', '_', '_', 'B', '_', '_', '_', 'C', '_', '_', '_',
		     'D', '_', '_', '_', 'E', '_', '_', '_');
}

static void expect_name_error(struct aml *a, const char *path)
{
	aml_name(a, path);
	if (!a->err)
		fail_msg("name \"%s\" accepted", path);
	aml_free(a);
	aml_init(a);
}

static void test_name_errors(void **state)
{
	struct aml *a = *state;

	expect_name_error(a, "ABCDE");          /* more than four characters */
	expect_name_error(a, "\\_SB_.PCI00");
	expect_name_error(a, "1ABC");           /* leading digit */
	expect_name_error(a, "abcd");           /* lower case */
	expect_name_error(a, "_hid");
	expect_name_error(a, "AB-C");           /* not a name character */
	expect_name_error(a, "A..B");           /* empty segment */
	expect_name_error(a, ".ABC");
}

static void test_name_too_many_segments(void **state)
{
	struct aml *a = *state;
	char longpath[128] = "\\";

	/* More segments than the writer can hold must not be silently dropped. */
	for (int i = 0; i < 17; i++)
		strcat(longpath, i ? ".SEGM" : "SEGM");
	expect_name_error(a, longpath);
}

static void test_eisaid(void **state)
{
	struct aml *a = *state;

	assert_int_equal(aml_eisaid("PNP0501"), 0x0105D041);
	assert_int_equal(aml_eisaid("PNP0B00"), 0x000BD041);
	assert_int_equal(aml_eisaid("PNP0A03"), 0x030AD041);
	assert_int_equal(aml_eisaid("PNP0C0C"), 0x0C0CD041);   /* power button */
	assert_int_equal(aml_eisaid("ABC1234"), 0x34124304);
	aml_name_eisaid(a, "_HID", "PNP0501");
	EXPECT_BYTES(a, 0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x05, 0x01);
	aml_name_int(a, "_UID", 1);
	EXPECT_BYTES(a, 0x08, '_', 'U', 'I', 'D', 0x01);
}

/* Decode the PkgLength after a one-byte opcode; returns the encoding size. */
static size_t check_pkglen(const struct aml *a, size_t op_len)
{
	size_t pl = 0, k = aml_read_pkglen(a->buf + op_len, a->buf + a->len, &pl);

	assert_int_not_equal(k, 0);
	/* PkgLength counts itself and everything up to the end of the object. */
	assert_int_equal(pl, a->len - op_len);
	/* And uses the smallest encoding that fits. */
	if (pl < 0x40)
		assert_int_equal(k, 1);
	else if (pl < (1u << 12) + 1)
		assert_true(k == 2 || (k == 3 && pl - 3 + 2 >= (1u << 12)));
	else if (pl < (1u << 20) + 2)
		assert_true(k == 3 || (k == 4 && pl - 4 + 3 >= (1u << 20)));
	else
		assert_int_equal(k, 4);
	/* The lead byte's count of following bytes matches. */
	assert_int_equal((a->buf[op_len] >> 6) + 1, k);
	return k;
}

static void test_pkglen_package_sweep(void **state)
{
	struct aml *a = *state;

	/* Package(k) { Zero x k }: body = NumElements + k bytes. */
	for (unsigned int k = 0; k <= 255; k++) {
		static struct aml_doc d;
		struct aml_obj o = { 0 };
		size_t enc;

		aml_package(a, k);
		for (unsigned int i = 0; i < k; i++)
			aml_integer(a, 0);
		aml_end(a);
		assert_int_equal(a->err, 0);
		assert_int_equal(a->depth, 0);
		assert_int_equal(a->buf[0], 0x12);
		enc = check_pkglen(a, 1);
		/* 1 + k + 1 < 64 fits in one byte: k <= 61. */
		assert_int_equal(enc, k <= 61 ? 1 : 2);
		assert_int_equal(a->buf[1 + enc], k);
		assert_int_equal(aml_read_data(&d, a->buf, a->buf, a->buf + a->len, &o), (long)a->len);
		assert_int_equal(o.nelem, k);
		aml_free(a);
		aml_init(a);
	}
}

static void check_buffer_of(struct aml *a, size_t n)
{
	static struct aml_doc d;
	struct aml_obj o = { 0 };
	long used;

	/* Buffer() { n bytes }: here n ZeroOps, one byte each. */
	aml_buffer(a);
	for (size_t i = 0; i < n; i++)
		aml_integer(a, 0);
	aml_end(a);
	assert_int_equal(a->err, 0);
	assert_int_equal(a->buf[0], 0x11);
	check_pkglen(a, 1);
	used = aml_read_data(&d, a->buf, a->buf, a->buf + a->len, &o);
	if (used != (long)a->len)
		fail_msg("buffer of %zu: %s", n, d.error);
	assert_int_equal(o.type, AOBJ_BUFFER);
	assert_int_equal(o.len, n);
	aml_free(a);
	aml_init(a);
}

static void test_pkglen_buffer_sweep(void **state)
{
	struct aml *a = *state;

	/* Every size across the 1->2 and 2->3 byte PkgLength boundaries. */
	for (size_t n = 0; n <= 4200; n++)
		check_buffer_of(a, n);
	/* Around the 3->4 byte boundary (2^20). */
	for (size_t n = (1u << 20) - 12; n <= (1u << 20) + 4; n++)
		check_buffer_of(a, n);
}

static void test_pkglen_examples(void **state)
{
	struct aml *a = *state;

	/* 100 content bytes: BufferSize 0A 64, body 102, total 104 = 0x68 -> 48 06. */
	aml_buffer(a);
	for (int i = 0; i < 100; i++)
		aml_integer(a, 0);
	aml_end(a);
	assert_int_equal(a->len, 1 + 2 + 2 + 100);
	assert_int_equal(a->buf[1], 0x48);
	assert_int_equal(a->buf[2], 0x06);
	assert_int_equal(a->buf[3], 0x0a);
	assert_int_equal(a->buf[4], 100);
	aml_free(a);
	aml_init(a);

	/* 5000 content bytes: BufferSize 0B 88 13, body 5003, total 5006 = 0x138E -> 8E 38 01. */
	aml_buffer(a);
	for (int i = 0; i < 5000; i++)
		aml_integer(a, 0);
	aml_end(a);
	assert_int_equal(a->len, 1 + 3 + 3 + 5000);
	assert_int_equal(a->buf[1], 0x8e);
	assert_int_equal(a->buf[2], 0x38);
	assert_int_equal(a->buf[3], 0x01);
	assert_int_equal(a->buf[4], 0x0b);
	assert_int_equal(a->buf[5] | a->buf[6] << 8, 5000);
}

static void test_scope_big(void **state)
{
	struct aml *a = *state;
	struct aml_doc *d = malloc(sizeof(*d));
	size_t pl = 0, k;

	assert_non_null(d);
	/* A scope over 4 KiB holding names: a 3-byte PkgLength after ScopeOp. */
	aml_scope(a, "\\BIG_");
	for (int i = 0; i < 500; i++)
		aml_name_int(a, "VAL_", 0x12345678);
	aml_end(a);
	assert_int_equal(a->err, 0);
	assert_int_equal(a->buf[0], 0x10);
	k = aml_read_pkglen(a->buf + 1, a->buf + a->len, &pl);
	assert_int_equal(k, 3);
	assert_int_equal(pl, a->len - 1);
	assert_int_equal(a->len, 1 + 3 + 5 + 500 * 10);
	/* The nested names start right after the scope name, and all parse. */
	assert_int_equal(a->buf[1 + k + 5], 0x08);
	if (aml_parse(d, a->buf, a->len))
		fail_msg("%s", d->error);
	assert_int_equal(d->n, 1 + 500);
	assert_int_equal(aml_lookup(d, "\\BIG_.VAL_")->ival, 0x12345678);
	free(d);
}

static void test_nested_device(void **state)
{
	struct aml *a = *state;
	struct aml_doc *d = malloc(sizeof(*d));
	struct aml_obj *o;

	assert_non_null(d);
	aml_scope(a, "\\_SB_");
	aml_device(a, "COM1");
	aml_name_eisaid(a, "_HID", "PNP0501");
	aml_name(a, "_CRS");
	aml_buffer(a);
	aml_res_io(a, 0x3f8, 8);
	aml_res_irq(a, 4);
	aml_res_end(a);
	aml_end(a);
	aml_end(a);
	aml_end(a);
	assert_int_equal(a->depth, 0);
	/* Hand-assembled, as iasl would for the same ASL. */
	{
		static const uint8_t want[] = {
			0x10, 0x2d, '\\', '_', 'S', 'B', '_',                  /* Scope(\_SB_) */
			0x5b, 0x82, 0x25, 'C', 'O', 'M', '1',                  /* Device(COM1) */
			0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x05, 0x01,
			0x08, '_', 'C', 'R', 'S', 0x11, 0x10, 0x0a, 0x0d,      /* Buffer(13) */
			0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x01, 0x08,        /* IO */
			0x22, 0x10, 0x00,                                      /* IRQNoFlags {4} */
			0x79, 0x00,                                            /* EndTag */
		};

		assert_int_equal(a->len, sizeof(want));
		assert_memory_equal(a->buf, want, sizeof(want));
	}
	if (aml_parse(d, a->buf, a->len))
		fail_msg("%s", d->error);
	o = aml_lookup(d, "\\_SB_.COM1._HID");
	assert_non_null(o);
	assert_int_equal(o->ival, 0x0105D041);
	o = aml_lookup(d, "\\_SB_.COM1._CRS");
	assert_non_null(o);
	assert_int_equal(o->len, 13);
	free(d);
}

static void test_deep_nesting(void **state)
{
	struct aml *a = *state;
	struct aml_doc *d = malloc(sizeof(*d));

	assert_non_null(d);
	/* Scopes nested to the limit, a big name innermost: every level's PkgLength is right. */
	for (int i = 0; i < AML_MAX_DEPTH; i++)
		aml_scope(a, "S___");
	for (int i = 0; i < 700; i++)
		aml_name_int(a, "X___", 0xffff);
	for (int i = 0; i < AML_MAX_DEPTH; i++)
		aml_end(a);
	assert_int_equal(a->err, 0);
	assert_int_equal(a->depth, 0);
	if (aml_parse(d, a->buf, a->len))
		fail_msg("%s", d->error);
	assert_non_null(aml_lookup(d, "\\S___.S___.S___.S___.S___.S___.S___.S___."
				   "S___.S___.S___.S___.S___.S___.S___.S___"));
	/* One more level is refused, and the error sticks. */
	aml_free(a);
	aml_init(a);
	for (int i = 0; i <= AML_MAX_DEPTH; i++)
		aml_scope(a, "S___");
	assert_int_equal(a->err, -E2BIG);
	free(d);
}

static void test_resources(void **state)
{
	struct aml *a = *state;

	aml_res_io(a, 0x70, 2);
	EXPECT_BYTES(a, 0x47, 0x01, 0x70, 0x00, 0x70, 0x00, 0x01, 0x02);
	aml_res_io(a, 0xcf8, 8);
	EXPECT_BYTES(a, 0x47, 0x01, 0xf8, 0x0c, 0xf8, 0x0c, 0x01, 0x08);
	aml_res_irq(a, 0);
	EXPECT_BYTES(a, 0x22, 0x01, 0x00);
	aml_res_irq(a, 9);
	EXPECT_BYTES(a, 0x22, 0x00, 0x02);
	aml_res_irq(a, 15);
	EXPECT_BYTES(a, 0x22, 0x00, 0x80);
	aml_res_memory32(a, 0xfec00000, 0x1000);
	EXPECT_BYTES(a, 0x86, 0x09, 0x00, 0x01, 0x00, 0x00, 0xc0, 0xfe, 0x00, 0x10, 0x00, 0x00);
	aml_res_end(a);
	EXPECT_BYTES(a, 0x79, 0x00);
}

static void test_res_irq_range(void **state)
{
	struct aml *a = *state;

	/* IRQNoFlags describes ISA IRQs 0-15 only; 16 must not become IRQ 0. */
	aml_res_irq(a, 16);
	assert_int_not_equal(a->err, 0);
	aml_free(a);
	aml_init(a);
	aml_res_irq(a, 0x104);
	assert_int_not_equal(a->err, 0);
}

static void test_package_too_big(void **state)
{
	struct aml *a = *state;

	aml_package(a, 255);
	assert_int_equal(a->err, 0);
	aml_free(a);
	aml_init(a);
	/* PackageOp's NumElements is one byte. */
	aml_package(a, 256);
	assert_int_not_equal(a->err, 0);
}

static void test_errors_sticky(void **state)
{
	struct aml *a = *state;
	size_t len;

	/* aml_end with nothing open. */
	aml_end(a);
	assert_int_equal(a->err, -EINVAL);
	len = a->len;
	aml_integer(a, 0x1234);
	aml_name(a, "_HID");
	aml_package(a, 1);
	aml_end(a);
	assert_int_equal(a->len, len);
	assert_int_equal(a->err, -EINVAL);
	aml_free(a);
	assert_int_equal(a->len, 0);
	assert_null(a->buf);
	assert_int_equal(a->err, 0);
	aml_init(a);

	/* A bad name in a scope poisons the whole stream. */
	aml_scope(a, "bad!");
	assert_int_not_equal(a->err, 0);
	aml_end(a);
	assert_int_not_equal(a->err, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_integers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_integers_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_strings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_name_paths, setup, teardown),
		cmocka_unit_test_setup_teardown(test_name_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_name_too_many_segments, setup, teardown),
		cmocka_unit_test_setup_teardown(test_eisaid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pkglen_package_sweep, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pkglen_buffer_sweep, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pkglen_examples, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scope_big, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nested_device, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deep_nesting, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resources, setup, teardown),
		cmocka_unit_test_setup_teardown(test_res_irq_range, setup, teardown),
		cmocka_unit_test_setup_teardown(test_package_too_big, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors_sticky, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
