// SPDX-License-Identifier: GPL-2.0-only
/* cpuid: topology leaves and pass-through from a synthetic KVM "supported" table. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "arch/x86/cpuid.h"
#include "util.h"

#define IDX KVM_CPUID_FLAG_SIGNIFCANT_INDEX

static const uint32_t leaf1_ecx = 0x7ffafbff;   /* bit 31 (hypervisor) clear */
static const uint32_t leaf1_edx = 0xbfebfbff;   /* HTT (bit 28) set as on the host */
static const uint32_t leaf1_ebx = 0xabcd0801;   /* junk in 31:16, CLFLUSH 8, brand 1 */
static const uint32_t l4_junk = 0xfc000000u | (0x3ffu << 14);   /* host topology bits */
static const uint32_t x8_ecx = 0x0001f0ff;      /* PerfTscSize bit 16 and host NC/ApicIdSize */

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
static struct kvm_cpuid2 *supported_table(uint32_t max_basic, bool with_1f)
{
	struct kvm_cpuid2 *c = alloc_cpuid(32);
	/* Leaf 4: type (4:0) and level (7:5) for L1d, L1i, L2, L3, then the end. */
	static const uint32_t l4[] = { 0x21, 0x22, 0x43, 0x63, 0x00 };

	add(c, 0, 0, 0, max_basic, str4("Genu"), str4("ntel"), str4("ineI"));
	add(c, 1, 0, 0, 0x000906ea, leaf1_ebx, leaf1_ecx, leaf1_edx);
	for (unsigned int i = 0; i < ARRAY_SIZE(l4); i++)
		add(c, 4, i, IDX, l4[i] ? l4[i] | l4_junk : 0, 0x01c0003f, 0x3f + i, i == 3 ? 6 : 0);
	add(c, 7, 0, IDX, 0, 0x029c67af, 0x40000000, 0xbc000400);
	/* The host's own topology: must not leak into the guest. */
	add(c, 0xb, 0, IDX, 1, 2, 0x100, 0x33);
	add(c, 0xb, 1, IDX, 4, 12, 0x201, 0x33);
	if (with_1f) {
		add(c, 0x1f, 0, IDX, 1, 2, 0x100, 0x33);
		add(c, 0x1f, 1, IDX, 4, 12, 0x201, 0x33);
	}
	add(c, 0xd, 0, IDX, 0x7, 0x340, 0x340, 0);
	add(c, 0xd, 1, IDX, 0xf, 0, 0, 0);
	add(c, 0x40000000, 0, 0, 0x40000001, str4("KVMK"), str4("VMKV"), str4("M\0\0\0"));
	add(c, 0x40000001, 0, 0, 0x01007afb, 0, 0, 0x00000001);
	add(c, 0x80000000, 0, 0, 0x8000001e, 0, 0, 0);
	add(c, 0x80000001, 0, 0, 0, 0, 0x00000121, 0x2c100800);
	add(c, 0x80000008, 0, 0, 0x00003027, 0, x8_ecx, 0);
	add(c, 0x8000001e, 0, 0, 0x55, 0x0166, 0x0302, 0);
	return c;
}

static struct kvm_cpuid_entry2 *find(struct kvm_cpuid2 *c, uint32_t fn, uint32_t idx)
{
	struct kvm_cpuid_entry2 *e = cpuid_find(c, fn, idx);

	if (!e)
		fail_msg("leaf %#x.%u missing", fn, idx);
	return e;
}

static unsigned int count_leaf(const struct kvm_cpuid2 *c, uint32_t fn)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < c->nent; i++)
		n += c->entries[i].function == fn;
	return n;
}

static unsigned int pow2_ceil(unsigned int n)
{
	unsigned int p = 1;

	while (p < n)
		p <<= 1;
	return p;
}

static void check_topology_leaf(struct kvm_cpuid2 *out, uint32_t leaf, unsigned int apic,
				unsigned int n)
{
	struct kvm_cpuid_entry2 *e;
	unsigned int shift;

	assert_int_equal(count_leaf(out, leaf), 3);
	/* Level 0: SMT, one thread per core. */
	e = find(out, leaf, 0);
	assert_int_equal(e->index, 0);
	assert_true(e->flags & IDX);
	assert_int_equal(e->eax & 0x1f, 0);
	assert_int_equal(e->ebx & 0xffff, 1);
	assert_int_equal(e->ecx & 0xff, 0);
	assert_int_equal((e->ecx >> 8) & 0xff, 1);
	assert_int_equal(e->edx, apic);
	/* Level 1: core, all vCPUs of the package. */
	e = find(out, leaf, 1);
	assert_int_equal(e->index, 1);
	shift = e->eax & 0x1f;
	assert_int_equal(shift, ilog2_ceil(n));
	assert_true((1u << shift) >= n);
	assert_true(n == 1 || (1u << (shift - 1)) < n);
	assert_int_equal(e->ebx & 0xffff, n);
	assert_int_equal(e->ecx & 0xff, 1);
	assert_int_equal((e->ecx >> 8) & 0xff, 2);
	assert_int_equal(e->edx, apic);
	/* Every vCPU's APIC ID shifted right by the core width is the same package. */
	assert_int_equal(apic >> shift, 0);
	/* Level 2: invalid, ending the enumeration. */
	e = find(out, leaf, 2);
	assert_int_equal(e->index, 2);
	assert_int_equal((e->ecx >> 8) & 0xff, 0);
	assert_int_equal(e->ecx & 0xff, 2);
	assert_int_equal(e->ebx & 0xffff, 0);
	assert_int_equal(e->edx, apic);
}

static void check_vcpu(struct kvm_cpuid2 *sup, unsigned int apic, unsigned int n, bool with_1f)
{
	struct kvm_cpuid2 *out = alloc_cpuid(64);
	struct kvm_cpuid_entry2 *e;
	unsigned int p2 = pow2_ceil(n);

	assert_int_equal(cpuid_build(sup, apic, n, out, 64), 0);

	/* Everything but the rebuilt topology leaves is present. */
	for (unsigned int i = 0; i < sup->nent; i++) {
		const struct kvm_cpuid_entry2 *s = &sup->entries[i];

		if (s->function == 0xb || s->function == 0x1f)
			continue;
		e = find(out, s->function, s->index);
		assert_int_equal(e->index, s->index);
	}
	assert_int_equal(out->nent, sup->nent - (with_1f ? 4 : 2) + (with_1f ? 6 : 3));

	e = find(out, 0, 0);
	assert_int_equal(e->eax, 0xd);
	assert_int_equal(e->ebx, str4("Genu"));

	/* Leaf 1: initial APIC ID, logical processor count, HTT, hypervisor. */
	e = find(out, 1, 0);
	assert_int_equal(e->eax, 0x000906ea);
	assert_int_equal(e->ebx >> 24, apic & 0xff);
	assert_true(((e->ebx >> 16) & 0xff) >= MIN(n, 255u));
	assert_int_equal((e->ebx >> 16) & 0xff, MIN(p2, 255u));
	assert_int_equal(e->ebx & 0xffff, leaf1_ebx & 0xffff);
	assert_int_equal(!!(e->edx & (1u << 28)), n > 1);
	assert_int_equal(e->edx & ~(1u << 28), leaf1_edx & ~(1u << 28));
	assert_true(e->ecx & (1u << 31));
	assert_int_equal(e->ecx & ~(1u << 31), leaf1_ecx);

	/* Leaf 4: cores per package; L1/L2 private, L3 shared by all. */
	for (unsigned int i = 0; i < 4; i++) {
		static const unsigned int want_level[] = { 1, 1, 2, 3 }, want_type[] = { 1, 2, 3, 3 };
		unsigned int level;

		e = find(out, 4, i);
		level = (e->eax >> 5) & 7;
		assert_int_equal(level, want_level[i]);
		assert_int_equal(e->eax & 0x1f, want_type[i]);
		assert_int_equal(e->eax >> 26, MIN(p2 - 1, 63u));
		assert_int_equal((e->eax >> 14) & 0xfff, level >= 3 ? p2 - 1 : 0);
		assert_int_equal(e->ebx, 0x01c0003f);
		assert_int_equal(e->ecx, 0x3f + i);
	}
	e = find(out, 4, 4);
	assert_int_equal(e->eax & 0x1f, 0);      /* the terminator stays a terminator */

	check_topology_leaf(out, 0xb, apic, n);
	if (with_1f)
		check_topology_leaf(out, 0x1f, apic, n);
	else
		assert_int_equal(count_leaf(out, 0x1f), 0);

	/* KVM's own leaves pass through untouched. */
	for (uint32_t fn = 0x40000000; fn <= 0x40000001; fn++) {
		const struct kvm_cpuid_entry2 *s = cpuid_find(sup, fn, 0);

		assert_memory_equal(find(out, fn, 0), s, sizeof(*s));
	}
	assert_memory_equal(&find(out, 0x40000000, 0)->ebx, "KVMKVMKVM\0\0\0", 12);
	assert_memory_equal(find(out, 7, 0), cpuid_find(sup, 7, 0), sizeof(*e));
	assert_memory_equal(find(out, 0xd, 1), cpuid_find(sup, 0xd, 1), sizeof(*e));

	/* AMD: NC and ApicIdCoreIdSize; other bits kept. */
	e = find(out, 0x80000008, 0);
	assert_int_equal(e->eax, 0x00003027);
	assert_int_equal(e->ecx & 0xff, MIN(n - 1, 255u));
	assert_int_equal((e->ecx >> 12) & 0xf, ilog2_ceil(n));
	assert_int_equal(e->ecx & ~0xf0ffu, x8_ecx & ~0xf0ffu);
	/* AMD: extended APIC ID, core ID, one thread per core, node 0. */
	e = find(out, 0x8000001e, 0);
	assert_int_equal(e->eax, apic);
	assert_int_equal(e->ebx & 0xff, apic & 0xff);
	assert_int_equal((e->ebx >> 8) & 0xff, 0);
	assert_int_equal(e->ecx & 0xff, 0);
	free(out);
}

static void test_topology(void **state)
{
	static const unsigned int counts[] = { 1, 2, 3, 8 };

	(void)state;
	for (int with_1f = 0; with_1f < 2; with_1f++) {
		struct kvm_cpuid2 *sup = supported_table(0xd, with_1f);
		size_t bytes = sizeof(*sup) + sup->nent * sizeof(sup->entries[0]);
		void *copy = malloc(bytes);

		assert_non_null(copy);
		memcpy(copy, sup, bytes);
		for (size_t c = 0; c < ARRAY_SIZE(counts); c++)
			for (unsigned int apic = 0; apic < counts[c]; apic++)
				check_vcpu(sup, apic, counts[c], with_1f);
		/* The supported table is input only. */
		assert_memory_equal(copy, sup, bytes);
		free(copy);
		free(sup);
	}
}

/* More vCPUs than the 8-bit count fields hold (the ACPI tables allow it via x2APIC). */
static void test_many_cpus(void **state)
{
	static const unsigned int apics[] = { 0, 1, 254, 255, 256, 299 };
	struct kvm_cpuid2 *sup = supported_table(0xd, true);

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(apics); i++)
		check_vcpu(sup, apics[i], 300, true);
	free(sup);
}

static void test_leaf0_raised(void **state)
{
	struct kvm_cpuid2 *sup = supported_table(0xa, false);
	struct kvm_cpuid2 *out = alloc_cpuid(64);

	(void)state;
	/* A max basic leaf below 0xB would hide the topology leaf. */
	assert_int_equal(cpuid_build(sup, 0, 2, out, 64), 0);
	assert_int_equal(find(out, 0, 0)->eax, 0xb);
	free(sup);
	sup = supported_table(0x1f, true);
	assert_int_equal(cpuid_build(sup, 0, 2, out, 64), 0);
	assert_int_equal(find(out, 0, 0)->eax, 0x1f);   /* never lowered */
	free(sup);
	free(out);
}

static void test_e2big(void **state)
{
	struct kvm_cpuid2 *sup = supported_table(0xd, true);
	struct kvm_cpuid2 *full = alloc_cpuid(64);
	unsigned int need;

	(void)state;
	assert_int_equal(cpuid_build(sup, 1, 4, full, 64), 0);
	need = full->nent;
	/* An output buffer of exactly `max` entries: any smaller fails, without overflow. */
	for (unsigned int max = 0; max <= need; max++) {
		struct kvm_cpuid2 *out = alloc_cpuid(max);
		int ret = cpuid_build(sup, 1, 4, out, max);

		if (max < need) {
			if (ret != -E2BIG)
				fail_msg("max %u of %u needed: got %d", max, need, ret);
			assert_true(out->nent <= max);
		} else {
			assert_int_equal(ret, 0);
			assert_int_equal(out->nent, need);
			assert_memory_equal(out->entries, full->entries, need * sizeof(out->entries[0]));
		}
		free(out);
	}
	free(full);
	free(sup);
}

static void test_find(void **state)
{
	struct kvm_cpuid2 *sup = supported_table(0xd, false);

	(void)state;
	/* Significant index: subleaves are distinct. */
	assert_int_equal(cpuid_find(sup, 4, 3)->eax & 0xff, 0x63);
	assert_int_equal(cpuid_find(sup, 4, 0)->eax & 0xff, 0x21);
	assert_null(cpuid_find(sup, 4, 9));
	/* No significant index: any index matches. */
	assert_int_equal(cpuid_find(sup, 1, 5)->eax, 0x000906ea);
	assert_null(cpuid_find(sup, 0x12345, 0));
	free(sup);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_topology),
		cmocka_unit_test(test_many_cpus),
		cmocka_unit_test(test_leaf0_raised),
		cmocka_unit_test(test_e2big),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
