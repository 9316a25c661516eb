// SPDX-License-Identifier: GPL-2.0-only
/* compat: the CPU profile for kvm-pvm hosts (CPUID hiding, guest command-line flags, names). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "arch/x86/compat.h"
#include "arch/x86/cpuid.h"
#include "log.h"
#include "util.h"

#define IDX KVM_CPUID_FLAG_SIGNIFCANT_INDEX

#define CX16       (1u << 13)
#define PCID       (1u << 17)
#define X2APIC     (1u << 21)
#define HYPERVISOR (1u << 31)
#define PV_SEND_IPI (1u << KVM_CPUID_FEATURE_PV_SEND_IPI)

/* Leaf 1 ECX with every bit but the hypervisor bit (cpuid_build sets that). */
static const uint32_t leaf1_ecx = 0x7fffffff;
/* Leaf 0x40000001 EAX: every KVM feature bit 0-24. */
static const uint32_t kvm_features = 0x01ffffff;

static struct kvm_cpuid2 *alloc_cpuid(unsigned int n)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));

	assert_non_null(c);
	return c;
}

static void add(struct kvm_cpuid2 *c, uint32_t fn, uint32_t idx, uint32_t flags,
		uint32_t eax, uint32_t ebx, uint32_t ecx, uint32_t edx)
{
	c->entries[c->nent++] = (struct kvm_cpuid_entry2){
		.function = fn, .index = idx, .flags = flags,
		.eax = eax, .ebx = ebx, .ecx = ecx, .edx = edx,
	};
}

static uint32_t str4(const char *s)
{
	uint32_t v;

	memcpy(&v, s, 4);
	return v;
}

/* What KVM_GET_SUPPORTED_CPUID might say on an Intel host. */
static struct kvm_cpuid2 *supported_table(bool with_kvm_leaves)
{
	struct kvm_cpuid2 *c = alloc_cpuid(32);

	add(c, 0, 0, 0, 0x1f, str4("Genu"), str4("ntel"), str4("ineI"));
	add(c, 1, 0, 0, 0x000906ea, 0xabcd0801, leaf1_ecx, 0xbfebfbff);
	add(c, 4, 0, IDX, 0x21, 0x01c0003f, 0x3f, 0);
	add(c, 4, 1, IDX, 0x22, 0x01c0003f, 0x3f, 0);
	add(c, 4, 2, IDX, 0, 0, 0, 0);
	/* Leaf 7 with bit 13 and 17 set in every register: only leaf 1 ECX may lose them. */
	add(c, 7, 0, IDX, 0, 0x029e67af | CX16 | PCID, 0x40020000 | CX16, 0xbc022400);
	add(c, 0xb, 0, IDX, 1, 2, 0x100, 0x33);
	add(c, 0xb, 1, IDX, 4, 12, 0x201, 0x33);
	add(c, 0xd, 0, IDX, 0x7, 0x340, 0x340, 0);
	add(c, 0xd, 1, IDX, 0xf, 0, 0, 0);
	if (with_kvm_leaves) {
		add(c, 0x40000000, 0, 0, 0x40000001, str4("KVMK"), str4("VMKV"), str4("M\0\0\0"));
		add(c, 0x40000001, 0, 0, kvm_features, PV_SEND_IPI, PV_SEND_IPI, 0x00000001);
	}
	add(c, 0x80000000, 0, 0, 0x80000008, 0, 0, 0);
	add(c, 0x80000001, 0, 0, 0, 0, 0x00000121 | CX16, 0x2c100800);
	add(c, 0x80000008, 0, 0, 0x00003027, 0, 0, 0);
	return c;
}

static struct kvm_cpuid2 *built(bool with_kvm_leaves, unsigned int apic, unsigned int n)
{
	struct kvm_cpuid2 *sup = supported_table(with_kvm_leaves);
	struct kvm_cpuid2 *out = alloc_cpuid(64);

	assert_int_equal(cpuid_build(sup, apic, n, out, 64), 0);
	free(sup);
	return out;
}

static struct kvm_cpuid2 *dup_cpuid(const struct kvm_cpuid2 *c)
{
	size_t len = sizeof(*c) + c->nent * sizeof(c->entries[0]);
	struct kvm_cpuid2 *d = malloc(len);

	assert_non_null(d);
	memcpy(d, c, len);
	return d;
}

static struct kvm_cpuid_entry2 *find(struct kvm_cpuid2 *c, uint32_t fn, uint32_t idx)
{
	struct kvm_cpuid_entry2 *e = cpuid_find(c, fn, idx);

	if (!e)
		fail_msg("leaf %#x.%u missing", fn, idx);
	return e;
}

/* Every entry but (skip_fn) is byte-identical, in the same order. */
static void check_others_identical(const struct kvm_cpuid2 *a, const struct kvm_cpuid2 *b,
				   uint32_t skip1, uint32_t skip2)
{
	assert_int_equal(a->nent, b->nent);
	for (unsigned int i = 0; i < a->nent; i++) {
		const struct kvm_cpuid_entry2 *x = &a->entries[i], *y = &b->entries[i];

		assert_int_equal(x->function, y->function);
		assert_int_equal(x->index, y->index);
		assert_int_equal(x->flags, y->flags);
		if (x->function == skip1 || x->function == skip2)
			continue;
		if (memcmp(x, y, sizeof(*x)))
			fail_msg("leaf %#x.%u changed", x->function, x->index);
	}
}

static void test_filter_leaf1(void **state)
{
	struct kvm_cpuid2 *c = built(true, 1, 4);
	struct kvm_cpuid2 *before = dup_cpuid(c);
	struct kvm_cpuid_entry2 *b1 = find(before, 1, 0), *e;

	(void)state;
	/* The table really offers what is to be hidden, and what is to be kept. */
	assert_true(b1->ecx & CX16);
	assert_true(b1->ecx & PCID);
	assert_true(b1->ecx & X2APIC);
	assert_true(b1->ecx & HYPERVISOR);

	compat_filter_cpuid(c);
	e = find(c, 1, 0);
	assert_false(e->ecx & CX16);
	assert_false(e->ecx & PCID);
	assert_true(e->ecx & X2APIC);
	assert_true(e->ecx & HYPERVISOR);
	/* Exactly those two bits go, every other bit of ECX stays. */
	assert_int_equal(e->ecx, b1->ecx & ~(CX16 | PCID));
	assert_int_equal(e->ecx ^ b1->ecx, CX16 | PCID);
	/* The other registers of leaf 1 are untouched (APIC ID, features in EDX). */
	assert_int_equal(e->eax, b1->eax);
	assert_int_equal(e->ebx, b1->ebx);
	assert_int_equal(e->edx, b1->edx);
	free(before);
	free(c);
}

static void test_filter_kvm_leaf(void **state)
{
	struct kvm_cpuid2 *c = built(true, 0, 2);
	struct kvm_cpuid2 *before = dup_cpuid(c);
	struct kvm_cpuid_entry2 *b = find(before, 0x40000001, 0), *e;

	(void)state;
	assert_int_equal(b->eax, kvm_features);
	assert_true(b->eax & PV_SEND_IPI);
	compat_filter_cpuid(c);
	e = find(c, 0x40000001, 0);
	assert_int_equal(PV_SEND_IPI, 1u << 11);
	assert_false(e->eax & PV_SEND_IPI);
	assert_int_equal(e->eax, kvm_features & ~PV_SEND_IPI);
	/* Other registers keep bit 11 (it only means PV_SEND_IPI in EAX). */
	assert_int_equal(e->ebx, b->ebx);
	assert_int_equal(e->ecx, b->ecx);
	assert_int_equal(e->edx, b->edx);
	/* The signature leaf is untouched. */
	assert_memory_equal(find(c, 0x40000000, 0), find(before, 0x40000000, 0),
			    sizeof(struct kvm_cpuid_entry2));
	free(before);
	free(c);
}

static void test_filter_others_identical(void **state)
{
	struct kvm_cpuid2 *c = built(true, 3, 8);
	struct kvm_cpuid2 *before = dup_cpuid(c);

	(void)state;
	compat_filter_cpuid(c);
	check_others_identical(before, c, 1, 0x40000001);
	/* Leaf 7 and 0x80000001 still have the bits at CX16's and PCID's positions. */
	assert_int_equal(find(c, 7, 0)->ebx, find(before, 7, 0)->ebx);
	assert_true(find(c, 7, 0)->ebx & (CX16 | PCID));
	assert_true(find(c, 0x80000001, 0)->ecx & CX16);
	free(before);
	free(c);
}

static void test_filter_idempotent(void **state)
{
	struct kvm_cpuid2 *c = built(true, 0, 1);
	struct kvm_cpuid2 *once;

	(void)state;
	compat_filter_cpuid(c);
	once = dup_cpuid(c);
	compat_filter_cpuid(c);
	assert_memory_equal(c, once, sizeof(*c) + c->nent * sizeof(c->entries[0]));
	free(once);
	free(c);
}

static void test_filter_no_kvm_leaf(void **state)
{
	struct kvm_cpuid2 *c = built(false, 0, 2);
	struct kvm_cpuid2 *before = dup_cpuid(c);

	(void)state;
	assert_null(cpuid_find(c, 0x40000001, 0));
	compat_filter_cpuid(c);
	assert_null(cpuid_find(c, 0x40000001, 0));
	assert_int_equal(c->nent, before->nent);
	assert_int_equal(find(c, 1, 0)->ecx, find(before, 1, 0)->ecx & ~(CX16 | PCID));
	check_others_identical(before, c, 1, 1);
	free(before);
	free(c);
}

static void test_filter_sparse_tables(void **state)
{
	struct kvm_cpuid2 *c = alloc_cpuid(4);

	(void)state;
	/* Empty: nothing to do, nothing to crash on. */
	compat_filter_cpuid(c);
	assert_int_equal(c->nent, 0);
	/* Only the KVM leaf. */
	add(c, 0x40000001, 0, 0, PV_SEND_IPI | 1, 0, 0, 0);
	compat_filter_cpuid(c);
	assert_int_equal(c->nent, 1);
	assert_int_equal(c->entries[0].eax, 1);
	/* Bits already clear stay clear; nothing else appears. */
	c->nent = 0;
	add(c, 1, 0, 0, 1, 2, X2APIC, 4);
	compat_filter_cpuid(c);
	assert_int_equal(c->entries[0].ecx, X2APIC);
	assert_int_equal(c->entries[0].eax, 1);
	assert_int_equal(c->entries[0].edx, 4);
	free(c);
}

/* ---- guest command-line flags ---- */

static bool has_token(const char *list, const char *sep, const char *want)
{
	char *copy = strdup(list), *save = NULL;
	bool found = false;

	assert_non_null(copy);
	for (char *t = strtok_r(copy, sep, &save); t; t = strtok_r(NULL, sep, &save))
		if (!strcmp(t, want))
			found = true;
	free(copy);
	return found;
}

static void test_cmdline_flags(void **state)
{
	const char *flags = COMPAT_CMDLINE_FLAGS;
	const char *cc;
	char list[256];
	size_t n;

	(void)state;
	assert_true(has_token(flags, " ", "noxsave"));
	assert_true(has_token(flags, " ", "nofsgsbase"));
	assert_true(has_token(flags, " ", "nopku"));
	assert_true(has_token(flags, " ", "noinvpcid"));
	/* Whole words, not substrings of others. */
	assert_false(has_token(flags, " ", "xsave"));

	/* One clearcpuid= with popcnt and rdrand among its comma-separated names. */
	cc = strstr(flags, "clearcpuid=");
	assert_non_null(cc);
	assert_true(cc == flags || cc[-1] == ' ');
	assert_null(strstr(cc + 1, "clearcpuid="));
	cc += strlen("clearcpuid=");
	n = strcspn(cc, " ");
	assert_true(n > 0 && n < sizeof(list));
	memcpy(list, cc, n);
	list[n] = 0;
	assert_true(has_token(list, ",", "popcnt"));
	assert_true(has_token(list, ",", "rdrand"));
	assert_null(strstr(list, ",,"));
	assert_true(list[0] != ',' && list[n - 1] != ',');

	/* Appendable to a command line: no leading, trailing or doubled spaces. */
	assert_true(flags[0] != ' ');
	assert_true(flags[strlen(flags) - 1] != ' ');
	assert_null(strstr(flags, "  "));
}

/* ---- profile names ---- */

static void test_profile_names(void **state)
{
	(void)state;
	assert_string_equal(cpu_profile_name(CPU_PROFILE_AUTO), "auto");
	assert_string_equal(cpu_profile_name(CPU_PROFILE_HOST), "host");
	assert_string_equal(cpu_profile_name(CPU_PROFILE_COMPAT), "compat");
	/* Never NULL, even for a value out of range. */
	assert_non_null(cpu_profile_name((enum cpu_profile)42));
}

/* ---- compat_describe: what it tells the user ---- */

/* Run compat_describe() at `level` and return what it wrote to stderr. */
static char *describe_at(enum log_level level)
{
	char path[] = "/tmp/kite-test-compat-XXXXXX";
	enum log_level old = log_get_level();
	int fd = mkstemp(path), saved;
	char *buf = calloc(1, 4096);
	ssize_t n;

	assert_true(fd >= 0);
	assert_non_null(buf);
	unlink(path);
	saved = dup(STDERR_FILENO);
	assert_true(saved >= 0);
	assert_true(dup2(fd, STDERR_FILENO) >= 0);
	log_set_level(level);
	compat_describe();
	log_set_level(old);
	assert_true(dup2(saved, STDERR_FILENO) >= 0);
	close(saved);
	n = pread(fd, buf, 4095, 0);
	close(fd);
	assert_true(n >= 0);
	buf[n] = 0;
	return buf;
}

static void test_describe(void **state)
{
	char *out;

	(void)state;
	out = describe_at(LOG_INFO);
	assert_non_null(strstr(out, "CX16"));
	assert_non_null(strstr(out, "PCID"));
	assert_non_null(strstr(out, "PV_SEND_IPI"));
	assert_non_null(strstr(out, COMPAT_CMDLINE_FLAGS));
	assert_non_null(strstr(out, "fwait"));
	free(out);
	/* At the default (warning) level it says nothing. */
	out = describe_at(LOG_WARN);
	assert_string_equal(out, "");
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_filter_leaf1),
		cmocka_unit_test(test_filter_kvm_leaf),
		cmocka_unit_test(test_filter_others_identical),
		cmocka_unit_test(test_filter_idempotent),
		cmocka_unit_test(test_filter_no_kvm_leaf),
		cmocka_unit_test(test_filter_sparse_tables),
		cmocka_unit_test(test_cmdline_flags),
		cmocka_unit_test(test_profile_names),
		cmocka_unit_test(test_describe),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
