// SPDX-License-Identifier: GPL-2.0-only
/* memory: layout, the mem_ptr choke point, mem_is_ram, e820, mem_alloc. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <cmocka.h>

#include "memory.h"
#include "util.h"

/*
 * Lay out `size` bytes and back the regions with an inaccessible reservation
 * (PROT_NONE, no swap accounting): enough to check the pointers mem_ptr
 * computes for large layouts without touching memory.
 */
static void *reserve(struct guest_mem *gm, uint64_t size)
{
	uint64_t off = 0;
	void *map;

	assert_int_equal(mem_layout(gm, size), 0);
	map = mmap(NULL, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	assert_true(map != MAP_FAILED);
	for (unsigned int i = 0; i < gm->nr; i++) {
		gm->regions[i].hva = (uint8_t *)map + off;
		off += gm->regions[i].size;
	}
	return map;
}

static void test_layout_256m(void **state)
{
	struct guest_mem gm;

	(void)state;
	memset(&gm, 0xaa, sizeof(gm));
	assert_int_equal(mem_layout(&gm, 256 * MiB), 0);
	assert_int_equal(gm.nr, 1);
	assert_int_equal(gm.regions[0].gpa, 0);
	assert_int_equal(gm.regions[0].size, 256 * MiB);
	assert_null(gm.regions[0].hva);
	assert_int_equal(gm.total, 256 * MiB);
	assert_null(gm.map);
}

static void test_layout_3g(void **state)
{
	struct guest_mem gm;

	(void)state;
	assert_int_equal(mem_layout(&gm, 3 * GiB), 0);
	assert_int_equal(gm.nr, 1);
	assert_int_equal(gm.regions[0].gpa, 0);
	assert_int_equal(gm.regions[0].gpa + gm.regions[0].size, 0xC0000000ULL);
	assert_int_equal(gm.total, 3 * GiB);

	/* One page more spills above 4 GiB. */
	assert_int_equal(mem_layout(&gm, 3 * GiB + 4 * KiB), 0);
	assert_int_equal(gm.nr, 2);
	assert_int_equal(gm.regions[0].size, 3 * GiB);
	assert_int_equal(gm.regions[1].gpa, MEM_4G);
	assert_int_equal(gm.regions[1].size, 4 * KiB);
}

static void test_layout_6g(void **state)
{
	struct guest_mem gm;

	(void)state;
	assert_int_equal(mem_layout(&gm, 6 * GiB), 0);
	assert_int_equal(gm.nr, 2);
	assert_int_equal(gm.regions[0].gpa, 0);
	assert_int_equal(gm.regions[0].size, MEM_HOLE_START);
	assert_int_equal(gm.regions[1].gpa, 4 * GiB);
	assert_int_equal(gm.regions[1].size, 3 * GiB);
	assert_int_equal(gm.regions[0].size + gm.regions[1].size, 6 * GiB);
	assert_int_equal(gm.total, 6 * GiB);
}

static void test_layout_limits(void **state)
{
	static const uint64_t bad[] = {
		0, 4 * KiB, 1 * MiB, 2 * MiB - 4 * KiB, 2 * MiB + 1, 2 * MiB + 2048,
		256 * MiB + 512, 6 * GiB + 100, MEM_MAX_SIZE + 4 * KiB, 1ULL << 46, UINT64_MAX,
	};
	struct guest_mem gm;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		if (mem_layout(&gm, bad[i]) != -EINVAL)
			fail_msg("mem_layout(%#llx) accepted", (unsigned long long)bad[i]);
		assert_int_equal(gm.nr, 0);
	}
	assert_int_equal(mem_layout(&gm, 2 * MiB), 0);
	assert_int_equal(gm.nr, 1);
	assert_int_equal(gm.regions[0].size, 2 * MiB);
	assert_int_equal(mem_layout(&gm, 2 * MiB + 4 * KiB), 0);
	assert_int_equal(mem_layout(&gm, MEM_MAX_SIZE), 0);
	assert_int_equal(gm.nr, 2);
	assert_int_equal(gm.regions[1].gpa + gm.regions[1].size,
			 MEM_MAX_SIZE + (MEM_4G - MEM_HOLE_START));
	assert_true(gm.regions[1].gpa + gm.regions[1].size <= (1ULL << 46));
}

static void test_mem_ptr_bounds(void **state)
{
	struct guest_mem gm;
	const uint64_t low = MEM_HOLE_START, high_end = MEM_4G + 3 * GiB;
	uint8_t *map = reserve(&gm, 6 * GiB);
	uint8_t *hi = map + low;

	(void)state;
	/* Inside. */
	assert_ptr_equal(mem_ptr(&gm, 0, 1), map);
	assert_ptr_equal(mem_ptr(&gm, 0x1234, 16), map + 0x1234);
	assert_ptr_equal(mem_ptr(&gm, 0, low), map);
	assert_ptr_equal(mem_ptr(&gm, MEM_4G, 8), hi);
	assert_ptr_equal(mem_ptr(&gm, MEM_4G + 0x5000, 3 * GiB - 0x5000), hi + 0x5000);
	/* Last byte of each region. */
	assert_ptr_equal(mem_ptr(&gm, low - 1, 1), map + low - 1);
	assert_ptr_equal(mem_ptr(&gm, high_end - 1, 1), hi + 3 * GiB - 1);
	assert_ptr_equal(mem_ptr(&gm, high_end - 8, 8), hi + 3 * GiB - 8);
	/* One past the end. */
	assert_null(mem_ptr(&gm, low, 1));
	assert_null(mem_ptr(&gm, high_end, 1));
	assert_null(mem_ptr(&gm, low, 0));
	/* A range crossing a region end, into the hole or beyond RAM. */
	assert_null(mem_ptr(&gm, low - 1, 2));
	assert_null(mem_ptr(&gm, low - 0x1000, 0x2000));
	assert_null(mem_ptr(&gm, 0, low + 1));
	assert_null(mem_ptr(&gm, high_end - 4, 8));
	/* A range spanning the hole from low to high RAM. */
	assert_null(mem_ptr(&gm, low - 0x1000, MEM_4G - low + 0x2000));
	/* The hole. */
	assert_null(mem_ptr(&gm, 0xC0000000ULL, 4));
	assert_null(mem_ptr(&gm, 0xFEC00000ULL, 4));
	assert_null(mem_ptr(&gm, MEM_4G - 1, 1));
	assert_null(mem_ptr(&gm, MEM_4G - 1, 2));
	/* Wrap-around and huge lengths. */
	assert_null(mem_ptr(&gm, 0xFFFFFFFFFFFFFFF0ULL, 0x20));
	assert_null(mem_ptr(&gm, 0xFFFFFFFFFFFFFFFFULL, 1));
	assert_null(mem_ptr(&gm, 0x1000, UINT64_MAX));
	assert_null(mem_ptr(&gm, 0x1000, UINT64_MAX - 0xfff));
	assert_null(mem_ptr(&gm, MEM_4G + 0x1000, 0xFFFFFFFFFFFFF000ULL));
	assert_null(mem_ptr(&gm, 0x1000, 6 * GiB));
	/* Zero length: a valid pointer inside RAM, nothing outside it. */
	assert_ptr_equal(mem_ptr(&gm, 0x1000, 0), map + 0x1000);
	assert_null(mem_ptr(&gm, 0xD0000000ULL, 0));

	munmap(map, 6 * GiB);
}

static void test_mem_ptr_unbacked(void **state)
{
	struct guest_mem gm;

	(void)state;
	/* Laid out but not allocated: no host pointer for anything. */
	assert_int_equal(mem_layout(&gm, 64 * MiB), 0);
	assert_null(mem_ptr(&gm, 0x1000, 1));
	assert_int_equal(mem_write(&gm, 0x1000, "x", 1), -EFAULT);
}

static void test_mem_is_ram(void **state)
{
	struct guest_mem gm;
	const uint64_t low = MEM_HOLE_START, high_end = MEM_4G + 3 * GiB;

	(void)state;
	assert_int_equal(mem_layout(&gm, 6 * GiB), 0);
	assert_true(mem_is_ram(&gm, 0, 1));
	assert_true(mem_is_ram(&gm, 0, low));
	assert_true(mem_is_ram(&gm, low - 1, 1));
	assert_false(mem_is_ram(&gm, low - 1, 2));
	assert_false(mem_is_ram(&gm, 0, low + 1));
	assert_false(mem_is_ram(&gm, low, 1));
	assert_false(mem_is_ram(&gm, 0xFEE00000ULL, 4));
	assert_false(mem_is_ram(&gm, MEM_4G - 1, 2));
	assert_true(mem_is_ram(&gm, MEM_4G, 3 * GiB));
	assert_true(mem_is_ram(&gm, high_end - 1, 1));
	assert_false(mem_is_ram(&gm, high_end - 1, 2));
	assert_false(mem_is_ram(&gm, high_end, 1));
	/* Spanning both regions includes the hole. */
	assert_false(mem_is_ram(&gm, 0, 7 * GiB));
	assert_false(mem_is_ram(&gm, 0xFFFFFFFFFFFFFFF0ULL, 0x20));
	assert_false(mem_is_ram(&gm, 0x1000, UINT64_MAX));

	/*
	 * Hand-made adjacent regions: the range is RAM across the boundary,
	 * though mem_ptr (one region only) refuses it.
	 */
	static uint8_t a[4096], b[4096], c[4096];
	struct guest_mem adj = {
		.regions = { { 0x100000, 4096, a }, { 0x101000, 4096, b }, { 0x102000, 4096, c } },
		.nr = 3, .total = 3 * 4096,
	};

	assert_true(mem_is_ram(&adj, 0x100ff0, 0x20));
	assert_true(mem_is_ram(&adj, 0x100000, 3 * 4096));
	assert_true(mem_is_ram(&adj, 0x100800, 2 * 4096));
	assert_false(mem_is_ram(&adj, 0x100000, 3 * 4096 + 1));
	assert_false(mem_is_ram(&adj, 0xfffff, 2));
	assert_null(mem_ptr(&adj, 0x100ff0, 0x20));
	assert_ptr_equal(mem_ptr(&adj, 0x101ff0, 0x10), b + 0xff0);
	assert_ptr_equal(mem_ptr(&adj, 0x102000, 4096), c);
}

static uint64_t check_e820(const struct guest_mem *gm, const struct e820_entry *e, unsigned int n)
{
	uint64_t ram = 0;

	/* Sorted, non-overlapping, no empty entries. */
	for (unsigned int i = 0; i < n; i++) {
		assert_true(e[i].size > 0);
		if (i)
			assert_true(e[i].addr >= e[i - 1].addr + e[i - 1].size);
		if (e[i].type == E820_RAM) {
			ram += e[i].size;
			assert_true(mem_is_ram(gm, e[i].addr, e[i].size));
		}
	}
	return ram;
}

static void test_e820_256m(void **state)
{
	struct guest_mem gm;
	struct e820_entry e[16];
	unsigned int n;

	(void)state;
	assert_int_equal(mem_layout(&gm, 256 * MiB), 0);
	n = mem_e820(&gm, e, ARRAY_SIZE(e));
	assert_int_equal(n, 3);
	assert_int_equal(e[0].addr, 0);
	assert_int_equal(e[0].size, 0x9FC00);
	assert_int_equal(e[0].type, E820_RAM);
	assert_int_equal(e[1].addr, 0x9FC00);
	assert_int_equal(e[1].addr + e[1].size, 0x100000);
	assert_int_equal(e[1].type, E820_RESERVED);
	assert_int_equal(e[2].addr, 0x100000);
	assert_int_equal(e[2].addr + e[2].size, 256 * MiB);
	assert_int_equal(e[2].type, E820_RAM);
	/* The ACPI tables and the PVH start info must be covered sensibly. */
	assert_true(MEM_ACPI_START >= e[1].addr && MEM_ACPI_END <= e[1].addr + e[1].size);
	assert_true(MEM_START_INFO + 4096 <= e[0].size);
	assert_int_equal(check_e820(&gm, e, n), 256 * MiB - (0x100000 - 0x9FC00));
}

static void test_e820_6g(void **state)
{
	struct guest_mem gm;
	struct e820_entry e[16];
	unsigned int n;

	(void)state;
	assert_int_equal(mem_layout(&gm, 6 * GiB), 0);
	n = mem_e820(&gm, e, ARRAY_SIZE(e));
	assert_int_equal(n, 4);
	assert_int_equal(e[0].type, E820_RAM);
	assert_int_equal(e[0].size, 0x9FC00);
	assert_int_equal(e[1].type, E820_RESERVED);
	assert_int_equal(e[2].addr, 0x100000);
	assert_int_equal(e[2].addr + e[2].size, MEM_HOLE_START);
	assert_int_equal(e[2].type, E820_RAM);
	assert_int_equal(e[3].addr, MEM_4G);
	assert_int_equal(e[3].size, 3 * GiB);
	assert_int_equal(e[3].type, E820_RAM);
	assert_int_equal(check_e820(&gm, e, n), 6 * GiB - (0x100000 - 0x9FC00));
}

static void test_e820_sizes(void **state)
{
	static const uint64_t sizes[] = {
		2 * MiB, 3 * MiB, 128 * MiB + 4 * KiB, 1 * GiB, 3 * GiB - 4 * KiB, 3 * GiB,
		3 * GiB + 4 * KiB, 4 * GiB, 64 * GiB, MEM_MAX_SIZE,
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		struct guest_mem gm;
		struct e820_entry e[16];
		unsigned int n;

		assert_int_equal(mem_layout(&gm, sizes[i]), 0);
		n = mem_e820(&gm, e, ARRAY_SIZE(e));
		assert_int_equal(n, sizes[i] > MEM_HOLE_START ? 4 : 3);
		assert_int_equal(check_e820(&gm, e, n), sizes[i] - (0x100000 - 0x9FC00));
	}
}

static void test_e820_truncated(void **state)
{
	struct guest_mem gm;
	struct e820_entry e[4];

	(void)state;
	assert_int_equal(mem_layout(&gm, 6 * GiB), 0);
	memset(e, 0xee, sizeof(e));
	assert_int_equal(mem_e820(&gm, e, 2), 2);
	assert_int_equal(e[0].addr, 0);
	assert_int_equal(e[1].type, E820_RESERVED);
	assert_int_equal(e[2].addr, 0xeeeeeeeeeeeeeeeeULL);   /* untouched */
	assert_int_equal(mem_e820(&gm, e, 0), 0);
}

static void test_mem_alloc_rw(void **state)
{
	struct guest_mem gm;
	uint8_t buf[64], back[64];

	(void)state;
	assert_int_equal(mem_alloc(&gm, 16 * MiB), 0);
	assert_non_null(gm.map);
	assert_int_equal(gm.map_size, 16 * MiB);
	assert_ptr_equal(gm.regions[0].hva, gm.map);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 7 + 1);
	/* Fresh RAM reads as zeros. */
	assert_int_equal(mem_read(&gm, 0x123456, back, sizeof(back)), 0);
	for (size_t i = 0; i < sizeof(back); i++)
		assert_int_equal(back[i], 0);
	assert_int_equal(mem_write(&gm, 0x123456, buf, sizeof(buf)), 0);
	assert_memory_equal((uint8_t *)gm.map + 0x123456, buf, sizeof(buf));
	assert_int_equal(mem_read(&gm, 0x123456, back, sizeof(back)), 0);
	assert_memory_equal(back, buf, sizeof(buf));
	/* The last bytes of RAM, and one byte too many. */
	assert_int_equal(mem_write(&gm, 16 * MiB - 64, buf, 64), 0);
	assert_int_equal(mem_write(&gm, 16 * MiB - 63, buf, 64), -EFAULT);
	assert_int_equal(mem_read(&gm, 16 * MiB - 63, back, 64), -EFAULT);
	assert_int_equal(mem_read(&gm, 0xFFFFFFFFFFFFFFF0ULL, back, 0x20), -EFAULT);
	mem_free(&gm);
	assert_int_equal(gm.nr, 0);
	assert_null(gm.map);
	assert_null(mem_ptr(&gm, 0, 1));
	mem_free(&gm);                    /* idempotent */

	assert_int_equal(mem_alloc(&gm, 1 * MiB), -EINVAL);
	assert_int_equal(mem_alloc(&gm, 16 * MiB + 1), -EINVAL);
}

static void test_mem_alloc_high(void **state)
{
	struct guest_mem gm;
	uint32_t v = 0xdeadbeef, back = 0;

	(void)state;
	if (mem_alloc(&gm, 3 * GiB + 64 * KiB)) {
		skip();       /* the host would not give us the address space */
		return;
	}
	assert_int_equal(gm.nr, 2);
	/* High RAM continues the host mapping right after low RAM. */
	assert_ptr_equal(gm.regions[1].hva, (uint8_t *)gm.map + MEM_HOLE_START);
	assert_int_equal(mem_write(&gm, MEM_4G + 0x100, &v, sizeof(v)), 0);
	assert_memory_equal((uint8_t *)gm.map + MEM_HOLE_START + 0x100, &v, sizeof(v));
	assert_int_equal(mem_read(&gm, MEM_4G + 0x100, &back, sizeof(back)), 0);
	assert_int_equal(back, v);
	assert_int_equal(mem_write(&gm, MEM_HOLE_START, &v, sizeof(v)), -EFAULT);
	assert_int_equal(mem_write(&gm, MEM_4G + 64 * KiB - 2, &v, sizeof(v)), -EFAULT);
	mem_free(&gm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout_256m),
		cmocka_unit_test(test_layout_3g),
		cmocka_unit_test(test_layout_6g),
		cmocka_unit_test(test_layout_limits),
		cmocka_unit_test(test_mem_ptr_bounds),
		cmocka_unit_test(test_mem_ptr_unbacked),
		cmocka_unit_test(test_mem_is_ram),
		cmocka_unit_test(test_e820_256m),
		cmocka_unit_test(test_e820_6g),
		cmocka_unit_test(test_e820_sizes),
		cmocka_unit_test(test_e820_truncated),
		cmocka_unit_test(test_mem_alloc_rw),
		cmocka_unit_test(test_mem_alloc_high),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
