// SPDX-License-Identifier: GPL-2.0-only
/* Guest NUMA and memory options: parsing, validation, node ranges, SRAT/SLIT. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "arch/x86/acpi.h"
#include "mem_host.h"
#include "numa_topo.h"
#include "util.h"

static char err[512];

static bool host_has_0_1(int node)
{
	return node == 0 || node == 1;
}

static void parse_ok(struct numa_config *c, const char *arg)
{
	if (numa_parse_node(c, arg, err, sizeof(err)))
		fail_msg("--numa %s: %s", arg, err);
}

static void parse_bad(const char *arg, const char *want)
{
	struct numa_config c = { 0 };

	err[0] = '\0';
	assert_int_equal(numa_parse_node(&c, arg, err, sizeof(err)), -EINVAL);
	if (!strstr(err, want))
		fail_msg("--numa %s: message '%s' lacks '%s'", arg, err, want);
	assert_null(strchr(err, '\n'));
}

static void test_parse_node(void **state)
{
	struct numa_config c = { 0 };

	(void)state;
	parse_ok(&c, "node=0,cpus=0-1,memory=2G,host-node=0");
	parse_ok(&c, "node=1,cpus=2,cpus=4-5,mem=1G");
	assert_int_equal(c.nr_nodes, 2);
	assert_int_equal(c.nodes[0].mem, 2ULL << 30);
	assert_int_equal(c.nodes[0].host_node, 0);
	assert_int_equal(c.nodes[1].host_node, -1);
	assert_int_equal(c.nodes[1].nr_ranges, 2);
	assert_int_equal(c.nodes[1].cpus[1].first, 4);
	assert_int_equal(c.nodes[1].cpus[1].last, 5);
	parse_bad("node=0,cpus=0", "memory=SIZE");
	parse_bad("node=0,memory=1G", "cpus=");
	parse_bad("cpus=0,memory=1G", "node=N");
	parse_bad("node=99,cpus=0,memory=1G", "node number");
	parse_bad("node=0,cpus=3-1,memory=1G", "empty range");
	parse_bad("node=0,cpus=x,memory=1G", "cpus=x");
	parse_bad("node=0,cpus=0,memory=lots", "not a size");
	parse_bad("node=0,cpus=0,memory=1G,colour=red", "unknown key 'colour'");
	parse_bad("node=0,cpus=0,memory=1G,host-node=-1", "host-node");
	parse_bad("node=0,cpus", "KEY=VALUE");
	/* The same node twice. */
	assert_int_equal(numa_parse_node(&c, "node=1,cpus=3,memory=1G", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "twice"));
}

static void test_parse_distance(void **state)
{
	struct numa_config c = { 0 };

	(void)state;
	assert_int_equal(numa_parse_distance(&c, "0:1=30", err, sizeof(err)), 0);
	assert_int_equal(c.dist[0][1], 30);
	assert_int_equal(numa_parse_distance(&c, "1:1=10", err, sizeof(err)), 0);
	assert_int_equal(numa_parse_distance(&c, "0:1=10", err, sizeof(err)), -EINVAL);
	assert_int_equal(numa_parse_distance(&c, "0:1=255", err, sizeof(err)), -EINVAL);
	assert_int_equal(numa_parse_distance(&c, "0:0=20", err, sizeof(err)), -EINVAL);
	assert_int_equal(numa_parse_distance(&c, "0:1", err, sizeof(err)), -EINVAL);
	assert_int_equal(numa_parse_distance(&c, "0:1=20x", err, sizeof(err)), -EINVAL);
	assert_int_equal(numa_parse_distance(&c, "0:99=20", err, sizeof(err)), -EINVAL);
}

static void two_nodes(struct numa_config *c)
{
	memset(c, 0, sizeof(*c));
	parse_ok(c, "node=0,cpus=0-1,memory=2G,host-node=0");
	parse_ok(c, "node=1,cpus=2-3,memory=2G");
}

static void validate_bad(struct numa_config *c, unsigned int ncpus, uint64_t mem,
			 const char *want)
{
	err[0] = '\0';
	assert_int_equal(numa_validate(c, ncpus, mem, 4096, host_has_0_1, err, sizeof(err)),
			 -EINVAL);
	if (!strstr(err, want))
		fail_msg("message '%s' lacks '%s'", err, want);
}

static void test_validate(void **state)
{
	struct numa_config c;

	(void)state;
	two_nodes(&c);
	assert_int_equal(numa_validate(&c, 4, 4ULL << 30, 4096, host_has_0_1, err, sizeof(err)), 0);
	/* Defaults: 10 local, 20 remote; one direction given → symmetric. */
	assert_int_equal(c.dist[0][0], 10);
	assert_int_equal(c.dist[0][1], 20);
	two_nodes(&c);
	numa_parse_distance(&c, "1:0=31", err, sizeof(err));
	assert_int_equal(numa_validate(&c, 4, 4ULL << 30, 4096, host_has_0_1, err, sizeof(err)), 0);
	assert_int_equal(c.dist[0][1], 31);
	assert_int_equal(c.dist[1][0], 31);
	assert_int_equal(numa_cpu_node(&c, 1), 0);
	assert_int_equal(numa_cpu_node(&c, 3), 1);

	two_nodes(&c);
	validate_bad(&c, 4, 5ULL << 30, "adds up to 4 GiB, not --memory 5 GiB");
	two_nodes(&c);
	validate_bad(&c, 5, 4ULL << 30, "vCPU 4 is in no node");
	two_nodes(&c);
	validate_bad(&c, 3, 4ULL << 30, "lists vCPU 3 but there are only 3");
	memset(&c, 0, sizeof(c));
	parse_ok(&c, "node=0,cpus=0-2,memory=2G");
	parse_ok(&c, "node=1,cpus=2-3,memory=2G");
	validate_bad(&c, 4, 4ULL << 30, "vCPU 2 is in nodes 0 and 1");
	memset(&c, 0, sizeof(c));
	parse_ok(&c, "node=0,cpus=0-1,memory=2G");
	parse_ok(&c, "node=2,cpus=2-3,memory=2G");
	validate_bad(&c, 4, 4ULL << 30, "node 1 is missing");
	memset(&c, 0, sizeof(c));
	parse_ok(&c, "node=0,cpus=0-1,memory=2G,host-node=7");
	parse_ok(&c, "node=1,cpus=2-3,memory=2G");
	validate_bad(&c, 4, 4ULL << 30, "host-node=7 does not exist");
	two_nodes(&c);
	numa_parse_distance(&c, "0:3=20", err, sizeof(err));
	validate_bad(&c, 4, 4ULL << 30, "no node 3");
	two_nodes(&c);
	c.cpu_affinity = true;
	validate_bad(&c, 4, 4ULL << 30, "node 1 has no host-node=");
	memset(&c, 0, sizeof(c));
	parse_ok(&c, "node=0,cpus=0,memory=1025M");
	parse_ok(&c, "node=1,cpus=1,memory=1023M");
	err[0] = '\0';
	assert_int_equal(numa_validate(&c, 2, 2ULL << 30, 2 << 20, host_has_0_1, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "not a multiple of the 2 MiB page size"));
	/* No topology: distances or affinity alone are mistakes. */
	memset(&c, 0, sizeof(c));
	assert_int_equal(numa_validate(&c, 2, 1ULL << 30, 4096, host_has_0_1, err, sizeof(err)), 0);
	c.cpu_affinity = true;
	assert_int_equal(numa_validate(&c, 2, 1ULL << 30, 4096, host_has_0_1, err, sizeof(err)),
			 -EINVAL);
}

static void test_mem_ranges_across_hole(void **state)
{
	struct numa_mem_range r[8];
	struct guest_mem gm;
	struct numa_config c;
	unsigned int n;

	(void)state;
	two_nodes(&c);
	assert_int_equal(mem_layout(&gm, 4ULL << 30), 0);
	n = numa_mem_ranges(&c, &gm, r, 8);
	/* RAM: [0, 3G) and [4G, 5G).  Node 0: [0, 2G); node 1: [2G, 3G) + [4G, 5G). */
	assert_int_equal(n, 3);
	assert_int_equal(r[0].node, 0);
	assert_int_equal(r[0].gpa, 0);
	assert_int_equal(r[0].size, 2ULL << 30);
	assert_int_equal(r[1].node, 1);
	assert_int_equal(r[1].gpa, 2ULL << 30);
	assert_int_equal(r[1].size, 1ULL << 30);
	assert_int_equal(r[2].node, 1);
	assert_int_equal(r[2].gpa, 4ULL << 30);
	assert_int_equal(r[2].size, 1ULL << 30);
	/* Too small an output array: truncated, never overrun. */
	assert_int_equal(numa_mem_ranges(&c, &gm, r, 2), 2);
}

static void test_memory_opts(void **state)
{
	struct mem_opts o;
	static const struct { const char *arg, *want; } bad[] = {
		{ "lots", "not a size" },
		{ "0", "more than 0" },
		{ "1M", "out of range" },
		{ "3000001B", "multiple of 4 KiB" },
		{ "4G,backend=magic", "unknown backend 'magic'" },
		{ "4G,hugepages=4M", "hugepages=2M or 1G" },
		{ "3G,hugepages=1G,backend=memfd", "goes with backend=hugetlb" },
		{ "1025M,hugepages=2M", "multiple of 2 MiB" },
		{ "3584M,hugepages=1G", "multiple of 1 GiB" },
		{ "1G,backend=file", "needs path=FILE" },
		{ "1G,path=/tmp/x", "goes with backend=file" },
		{ "1G,sparkle", "unknown option 'sparkle'" },
	};

	(void)state;
	assert_int_equal(mem_parse_opts("512M", &o, err, sizeof(err)), 0);
	assert_int_equal(o.size, 512ULL << 20);
	assert_int_equal(o.backend, MEM_BACKEND_ANON);
	assert_false(o.prefault);
	assert_int_equal(mem_parse_opts("4G,hugepages=1G,prefault", &o, err, sizeof(err)), 0);
	assert_int_equal(o.backend, MEM_BACKEND_HUGETLB);
	assert_int_equal(o.hugepage_size, 1ULL << 30);
	assert_true(o.prefault);
	assert_int_equal(mem_parse_opts("64M,backend=hugetlb", &o, err, sizeof(err)), 0);
	assert_int_equal(o.hugepage_size, 2ULL << 20);
	assert_int_equal(mem_parse_opts("64M,backend=file,path=/tmp/ram.img", &o, err, sizeof(err)), 0);
	assert_string_equal(o.path, "/tmp/ram.img");
	assert_int_equal(mem_parse_opts("64M,backend=memfd", &o, err, sizeof(err)), 0);
	assert_int_equal(o.backend, MEM_BACKEND_MEMFD);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		err[0] = '\0';
		assert_int_equal(mem_parse_opts(bad[i].arg, &o, err, sizeof(err)), -EINVAL);
		if (!strstr(err, bad[i].want))
			fail_msg("--memory %s: message '%s' lacks '%s'", bad[i].arg, err, bad[i].want);
	}
}

/* ---- SRAT / SLIT ---------------------------------------------------------- */

static const struct acpi_header *find(const uint8_t *buf, long used, gpa_t base, const char *sig)
{
	const struct acpi_rsdp *rsdp = (const void *)buf;
	const struct acpi_header *x = (const void *)(buf + (rsdp->xsdt_address - base));
	unsigned int n = (x->length - sizeof(*x)) / 8;

	assert_true(rsdp->xsdt_address - base < (uint64_t)used);
	for (unsigned int i = 0; i < n; i++) {
		uint64_t p;
		const struct acpi_header *h;

		memcpy(&p, (const uint8_t *)(x + 1) + 8 * i, 8);
		assert_true(p >= base && p - base < (uint64_t)used);
		h = (const void *)(buf + (p - base));
		if (!memcmp(h->signature, sig, 4)) {
			assert_true(p - base + h->length <= (uint64_t)used);
			assert_int_equal(acpi_checksum(h, h->length), 0);
			return h;
		}
	}
	return NULL;
}

static void test_srat_slit(void **state)
{
	struct numa_mem_range r[8];
	struct guest_mem gm;
	struct numa_config c;
	uint8_t *buf = calloc(1, 128 * 1024);
	const struct acpi_header *srat, *slit;
	const uint8_t *p, *end;
	unsigned int cpus_seen = 0, mem_seen = 0;
	long used;

	(void)state;
	memset(&c, 0, sizeof(c));
	parse_ok(&c, "node=0,cpus=0,cpus=2,memory=2G");
	parse_ok(&c, "node=1,cpus=1,cpus=3,memory=2G");
	numa_parse_distance(&c, "0:1=25", err, sizeof(err));
	assert_int_equal(numa_validate(&c, 4, 4ULL << 30, 4096, host_has_0_1, err, sizeof(err)), 0);
	assert_int_equal(mem_layout(&gm, 4ULL << 30), 0);
	struct acpi_config cfg = { .ncpus = 4, .numa = &c, .numa_ranges = r };

	cfg.nr_numa_ranges = numa_mem_ranges(&c, &gm, r, 8);
	used = acpi_build(buf, 128 * 1024, 0xE0000, &cfg);
	assert_true(used > 0);
	srat = find(buf, used, 0xE0000, "SRAT");
	slit = find(buf, used, 0xE0000, "SLIT");
	assert_non_null(srat);
	assert_non_null(slit);
	assert_int_equal(srat->revision, 3);
	p = (const uint8_t *)(srat + 1) + 12;
	end = (const uint8_t *)srat + srat->length;
	while (p < end) {
		assert_true(p[1] >= 2 && p + p[1] <= end);
		if (p[0] == 0) {
			const struct srat_lapic *l = (const void *)p;

			assert_int_equal(l->length, 16);
			assert_int_equal(l->flags & 1, 1);
			assert_int_equal(l->proximity_lo, l->apic_id % 2);   /* 0,2 → 0; 1,3 → 1 */
			cpus_seen |= 1u << l->apic_id;
		} else if (p[0] == 1) {
			const struct srat_mem *m = (const void *)p;

			assert_int_equal(m->length, 40);
			assert_int_equal(m->flags & 1, 1);
			assert_int_equal(m->base, r[mem_seen].gpa);
			assert_int_equal(m->size, r[mem_seen].size);
			assert_int_equal(m->proximity, r[mem_seen].node);
			mem_seen++;
		} else {
			fail_msg("unexpected SRAT entry type %u", p[0]);
		}
		p += p[1];
	}
	assert_int_equal(cpus_seen, 0xf);
	assert_int_equal(mem_seen, 3);
	/* SLIT: 2 localities, then the matrix. */
	p = (const uint8_t *)(slit + 1);
	assert_int_equal(slit->length, sizeof(*slit) + 8 + 4);
	assert_int_equal(p[0], 2);
	assert_memory_equal(p + 8, ((uint8_t[]){ 10, 25, 25, 10 }), 4);
	free(buf);
}

static void test_no_numa_no_srat(void **state)
{
	uint8_t *buf = calloc(1, 128 * 1024);
	struct acpi_config cfg = { .ncpus = 2 };
	long used = acpi_build(buf, 128 * 1024, 0xE0000, &cfg);

	(void)state;
	assert_true(used > 0);
	assert_null(find(buf, used, 0xE0000, "SRAT"));
	assert_null(find(buf, used, 0xE0000, "SLIT"));
	free(buf);
}

static void test_mcfg(void **state)
{
	uint8_t *buf = calloc(1, 128 * 1024);
	struct acpi_config cfg = { .ncpus = 1, .pci = true, .ecam_base = 0xE0000000,
				   .mmio32_base = 0xC0000000, .mmio32_end = 0xE0000000,
				   .mmio64_base = 1ULL << 32, .mmio64_end = 1ULL << 36 };
	long used = acpi_build(buf, 128 * 1024, 0xE0000, &cfg);
	const struct acpi_header *h;
	struct acpi_mcfg_alloc m;

	(void)state;
	assert_true(used > 0);
	h = find(buf, used, 0xE0000, "MCFG");
	assert_non_null(h);
	assert_int_equal(h->length, sizeof(*h) + 8 + sizeof(m));
	memcpy(&m, (const uint8_t *)(h + 1) + 8, sizeof(m));
	assert_int_equal(m.base, 0xE0000000);
	assert_int_equal(m.segment, 0);
	assert_int_equal(m.start_bus, 0);
	assert_int_equal(m.end_bus, 0);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_node),
		cmocka_unit_test(test_parse_distance),
		cmocka_unit_test(test_validate),
		cmocka_unit_test(test_mem_ranges_across_hole),
		cmocka_unit_test(test_memory_opts),
		cmocka_unit_test(test_srat_slit),
		cmocka_unit_test(test_no_numa_no_srat),
		cmocka_unit_test(test_mcfg),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
