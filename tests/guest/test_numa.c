/*
 * test_numa.c - guest NUMA topology from ACPI (SRAT, SLIT) against the
 * expectation on the command line:
 *
 *   test=numa numa=ID:CPUS:SIZE[,ID:CPUS:SIZE...] [dist=D00,D01,...]
 *
 * Nodes are listed in guest-physical RAM order: the first node has the first
 * SIZE bytes of RAM in address order (RAM below the hole under 4 GiB, then
 * RAM from 4 GiB up), the next node the following SIZE bytes, ...  ID is the
 * node's number (= SRAT proximity domain = SLIT index); the IDs must be
 * 0..N-1 in any order.  CPUS: vCPU indices (the order of the MADT's
 * processor entries) as "A" or "A-B" joined by '+' ("0-1+4"), or empty for
 * a node without CPUs.  dist: the N x N SLIT matrix, row-major, by node ID;
 * without it a SLIT is optional but must hold the defaults (10 local, 20
 * remote) if present.  Example: numa=0:0-1:128M,1:2-3:128M dist=10,21,21,10
 *
 * Checks: SRAT and SLIT found through the XSDT/RSDT with good checksums;
 * every MADT processor in exactly one SRAT proximity domain, the expected
 * one, and no SRAT processor the MADT lacks; every RAM byte of the PVH memory
 * map in an enabled SRAT memory range of the expected node, and every SRAT
 * memory range inside its node's share of RAM (none over the hole); node
 * sizes add up to the guest's RAM; the SLIT matrix; then one word per
 * 64 KiB (more on big guests) of every node's RAM above 1 MiB written with a
 * pattern naming address and node, all read back afterwards (catches two
 * nodes backed by the same host memory) and restored, at CPL3.
 */
#include "kit.h"

#define NUMA_MAX_NODES	16
#define NUMA_MAX_RANGES	128
#define NUMA_MAX_WORDS	32768
#define NUMA_HOLE_START	0xFEC00000ULL
#define FOUR_GIB	(4 * GIB)

extern const u8 kite_image_start[], kite_image_end[];

struct numa_node {
	u32 id;
	u64 cpus;		/* bit i: vCPU index i */
	u64 size;
	u32 nspans;
	u64 span_start[2], span_end[2];	/* guest-physical, below / above the hole */
	u64 srat_bytes;		/* sum of its SRAT memory ranges */
	u64 touched;
};

static struct numa_node numa_nodes[NUMA_MAX_NODES];
static u32 numa_n;
static u32 numa_dist[NUMA_MAX_NODES * NUMA_MAX_NODES];
static bool numa_have_dist;

/* ------------------------------------------------------------ expectation */

static const char *numa_parse_u32(const char *p, u32 *out)
{
	u64 v = 0;

	if (*p < '0' || *p > '9')
		return NULL;
	for (; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (u64)(*p - '0');
		if (v > 0xFFFFFFFF)
			return NULL;
	}
	*out = (u32)v;
	return p;
}

/* "0-1+4" -> bitmask; stops at ':' */
static const char *numa_parse_cpus(const char *p, u64 *mask)
{
	*mask = 0;
	while (*p && *p != ':') {
		u32 a, b;

		p = numa_parse_u32(p, &a);
		if (!p)
			return NULL;
		b = a;
		if (*p == '-') {
			p = numa_parse_u32(p + 1, &b);
			if (!p)
				return NULL;
		}
		if (b < a || b >= 64)
			return NULL;
		for (u32 i = a; i <= b; i++)
			*mask |= 1ULL << i;
		if (*p == '+')
			p++;
		else if (*p != ':')
			return NULL;
	}
	return p;
}

static const char *numa_parse(void)
{
	static char buf[512], dbuf[1024];
	char *p = buf;
	u64 all = 0;

	if (!cmdline_value("numa", buf, sizeof(buf)) || !buf[0])
		return "missing numa=ID:CPUS:SIZE,... on the command line";
	while (*p) {
		struct numa_node *n;
		char *size;
		const char *q;

		if (numa_n == NUMA_MAX_NODES)
			return "numa=: too many nodes for the test";
		n = &numa_nodes[numa_n];
		q = numa_parse_u32(p, &n->id);
		if (!q || *q != ':')
			return kit_reason("numa=: bad node ID at '%s'", p);
		q = numa_parse_cpus(q + 1, &n->cpus);
		if (!q || *q != ':')
			return kit_reason("numa=: bad CPU list in node %u", n->id);
		size = (char *)q + 1;
		for (p = size; *p && *p != ','; p++)
			;
		if (*p)
			*p++ = '\0';
		if (!cmdline_parse_size(size, &n->size))
			return kit_reason("numa=: bad size '%s' in node %u", size, n->id);
		if (n->cpus & all)
			return kit_reason("numa=: a vCPU is listed twice (node %u)", n->id);
		all |= n->cpus;
		numa_n++;
	}
	for (u32 i = 0; i < numa_n; i++) {
		if (numa_nodes[i].id >= numa_n)
			return kit_reason("numa=: node IDs must be 0..%u", numa_n - 1);
		for (u32 j = 0; j < i; j++)
			if (numa_nodes[j].id == numa_nodes[i].id)
				return kit_reason("numa=: node %u listed twice", numa_nodes[i].id);
	}
	if (all & (all + 1))
		return "numa=: the vCPU indices must be 0..N-1";

	if (cmdline_value("dist", dbuf, sizeof(dbuf))) {
		const char *d = dbuf;

		for (u32 k = 0; k < numa_n * numa_n; k++) {
			d = numa_parse_u32(d, &numa_dist[k]);
			if (!d || (k + 1 < numa_n * numa_n ? *d != ',' : *d != '\0'))
				return kit_reason("dist=: expected %u comma-separated numbers",
						  numa_n * numa_n);
			d++;
		}
		numa_have_dist = true;
	} else {
		for (u32 i = 0; i < numa_n; i++)
			for (u32 j = 0; j < numa_n; j++)
				numa_dist[i * numa_n + j] = i == j ? 10 : 20;
	}
	return NULL;
}

static struct numa_node *numa_node_by_id(u64 id)
{
	for (u32 i = 0; i < numa_n; i++)
		if (numa_nodes[i].id == id)
			return &numa_nodes[i];
	return NULL;
}

static u32 numa_popcount(u64 v)
{
	u32 n = 0;

	for (; v; v &= v - 1)
		n++;
	return n;
}

/* Which node the layout gives guest-physical addr; *span_end: where that stops. */
static struct numa_node *numa_expected_node(u64 addr, u64 *span_end)
{
	for (u32 i = 0; i < numa_n; i++)
		for (u32 s = 0; s < numa_nodes[i].nspans; s++)
			if (addr >= numa_nodes[i].span_start[s] && addr < numa_nodes[i].span_end[s]) {
				*span_end = numa_nodes[i].span_end[s];
				return &numa_nodes[i];
			}
	return NULL;
}

/* ------------------------------------------------------------------- CPUs */

static const char *numa_check_cpus(void)
{
	u32 ncpus = 0;

	for (u32 i = 0; i < numa_n; i++)
		ncpus += numa_popcount(numa_nodes[i].cpus);
	if (madt.ncpus != ncpus)
		return kit_reason("MADT lists %u enabled processors, numa= names %u",
				  madt.ncpus, ncpus);
	if (srat.ncpus > SRAT_MAX_CPUS)
		return "too many SRAT processor entries for the test";
	for (u32 c = 0; c < ncpus; c++) {
		u32 apic = madt.cpu_apic_id[c];
		s64 dom = srat_cpu_domain(apic);
		struct numa_node *want = NULL;

		for (u32 i = 0; i < numa_n; i++)
			if (numa_nodes[i].cpus & (1ULL << c))
				want = &numa_nodes[i];
		serial_printf("numa: vCPU %u: APIC ID %u -> SRAT domain %ld (expected node %u)\n",
			      c, apic, dom, want->id);
		if (dom == -1)
			return kit_reason("vCPU %u (APIC ID %u) is in no SRAT proximity domain",
					  c, apic);
		if (dom == -2)
			return kit_reason("vCPU %u (APIC ID %u) is in two SRAT proximity domains",
					  c, apic);
		if ((u64)dom != want->id)
			return kit_reason("vCPU %u (APIC ID %u) is in domain %ld, expected node %u",
					  c, apic, dom, want->id);
	}
	for (u32 i = 0; i < srat.ncpus; i++) {
		bool found = false;

		for (u32 c = 0; c < madt.ncpus && c < SMP_MAX_CPUS; c++)
			if (madt.cpu_apic_id[c] == srat.cpu[i].apic_id)
				found = true;
		if (!found)
			return kit_reason("SRAT lists APIC ID %u (domain %u), which the MADT lacks",
					  srat.cpu[i].apic_id, srat.cpu[i].domain);
	}
	return NULL;
}

/* ----------------------------------------------------------------- memory */

static const char *numa_layout(void)
{
	u64 below = 0, above = 0, total = 0, off = 0;

	for (u32 i = 0; i < memmap_count; i++) {
		u64 s = memmap[i].addr, e = memmap[i].addr + memmap[i].size;

		if (memmap[i].type != MEMMAP_RAM)
			continue;
		if (s < FOUR_GIB && e > NUMA_HOLE_START)
			return kit_reason("RAM [%lx-%lx) overlaps the hole under 4 GiB", s, e);
		if (s < FOUR_GIB && e > below)
			below = e;
		if (e > FOUR_GIB)
			above += e - (s > FOUR_GIB ? s : FOUR_GIB);
	}
	for (u32 i = 0; i < numa_n; i++)
		total += numa_nodes[i].size;
	serial_printf("numa: RAM: %lu MiB below 4 GiB (to %lx) + %lu MiB above; nodes: %lu MiB\n",
		      below >> 20, below, above >> 20, total >> 20);
	if (total != below + above)
		return kit_reason("the nodes' memory adds up to %lu MiB, the guest has %lu MiB",
				  total >> 20, (below + above) >> 20);
	for (u32 i = 0; i < numa_n; i++) {
		struct numa_node *n = &numa_nodes[i];
		u64 end = off + n->size;

		n->nspans = 0;
		if (off < below) {
			n->span_start[n->nspans] = off;
			n->span_end[n->nspans++] = end < below ? end : below;
		}
		if (end > below) {
			n->span_start[n->nspans] = FOUR_GIB + (off > below ? off : below) - below;
			n->span_end[n->nspans++] = FOUR_GIB + end - below;
		}
		for (u32 s = 0; s < n->nspans; s++)
			serial_printf("numa: node %u: expect [%lx-%lx)\n", n->id,
				      n->span_start[s], n->span_end[s]);
		off = end;
	}
	return NULL;
}

static const char *numa_check_memory(void)
{
	if (srat.nmem > SRAT_MAX_MEM)
		return "too many SRAT memory entries for the test";
	for (u32 i = 0; i < srat.nmem; i++) {
		const struct srat_mem *m = &srat.mem[i];
		struct numa_node *n = numa_node_by_id(m->domain);
		bool inside = false;

		serial_printf("numa: SRAT memory [%lx-%lx) domain %u flags %x\n",
			      m->base, m->base + m->len, m->domain, m->flags);
		if (!m->len)
			return kit_reason("SRAT memory range at %lx (domain %u) is empty",
					  m->base, m->domain);
		if (m->base + m->len < m->base)
			return kit_reason("SRAT memory range at %lx wraps", m->base);
		if (!n)
			return kit_reason("SRAT memory [%lx-%lx) is in domain %u: no such node",
					  m->base, m->base + m->len, m->domain);
		for (u32 s = 0; s < n->nspans; s++)
			if (m->base >= n->span_start[s] && m->base + m->len <= n->span_end[s])
				inside = true;
		if (!inside)
			return kit_reason("SRAT memory [%lx-%lx) of node %u is not inside that "
					  "node's share of RAM", m->base, m->base + m->len, m->domain);
		for (u32 j = 0; j < i; j++) {
			const struct srat_mem *o = &srat.mem[j];

			if (m->base < o->base + o->len && o->base < m->base + m->len)
				return kit_reason("SRAT memory ranges [%lx-%lx) and [%lx-%lx) overlap",
						  m->base, m->base + m->len, o->base, o->base + o->len);
		}
		n->srat_bytes += m->len;
	}
	/* every byte of RAM: in an SRAT range, of the node the layout says */
	for (u32 i = 0; i < memmap_count; i++) {
		u64 a = memmap[i].addr, e = memmap[i].addr + memmap[i].size;

		if (memmap[i].type != MEMMAP_RAM)
			continue;
		while (a < e) {
			u64 srat_end = 0, span_end = 0, next;
			s64 dom = srat_mem_domain(a, &srat_end);
			struct numa_node *want = numa_expected_node(a, &span_end);

			if (!want)
				return kit_reason("RAM at %lx is beyond the nodes' memory", a);
			if (dom < 0)
				return kit_reason("RAM at %lx (node %u) is in no SRAT memory range",
						  a, want->id);
			if ((u64)dom != want->id)
				return kit_reason("RAM at %lx is in SRAT domain %ld, expected node %u",
						  a, dom, want->id);
			next = srat_end < span_end ? srat_end : span_end;
			a = next < e ? next : e;
		}
	}
	return NULL;
}

/* ------------------------------------------------------------------ touch */

struct numa_touch {
	u64 stride;
	u32 nranges;
	struct { u64 start, end; u32 node; } range[NUMA_MAX_RANGES];
	u64 skip_start, skip_end;
	u64 *old;
	u64 max, nwords;
	u64 per_node[NUMA_MAX_NODES];
	u64 bad_addr, bad_got, bad_want;
};

static u64 numa_old[NUMA_MAX_WORDS];
static struct numa_touch numa_t;

static inline u64 numa_pattern(u64 addr, u32 node)
{
	return (addr * 0x9E3779B97F4A7C15ULL) ^ ((u64)(node + 1) << 56) ^ 0x4B4954454E554D41ULL;
}

/* CPL3: pass 1 saves and writes every word, pass 2 checks and restores. */
static u64 numa_touch_user(u64 argp)
{
	struct numa_touch *t = (void *)(uintptr_t)argp;
	u64 n = 0;
	bool bad = false;

	for (u32 r = 0; r < t->nranges; r++) {
		u64 a = (t->range[r].start + t->stride - 1) & ~(t->stride - 1);

		for (; a + 8 <= t->range[r].end && n < t->max; a += t->stride) {
			volatile u64 *p = (volatile u64 *)(uintptr_t)a;

			if (a + 8 > t->skip_start && a < t->skip_end)
				continue;
			t->old[n++] = *p;
			*p = numa_pattern(a, t->range[r].node);
			t->per_node[t->range[r].node]++;
		}
	}
	t->nwords = n;
	n = 0;
	for (u32 r = 0; r < t->nranges; r++) {
		u64 a = (t->range[r].start + t->stride - 1) & ~(t->stride - 1);

		for (; a + 8 <= t->range[r].end && n < t->nwords; a += t->stride) {
			volatile u64 *p = (volatile u64 *)(uintptr_t)a;
			u64 want = numa_pattern(a, t->range[r].node), got;

			if (a + 8 > t->skip_start && a < t->skip_end)
				continue;
			got = *p;
			if (got != want && !bad) {
				bad = true;
				t->bad_addr = a;
				t->bad_got = got;
				t->bad_want = want;
			}
			*p = t->old[n++];
		}
	}
	return bad;
}

static const char *numa_touch(void)
{
	struct numa_touch *t = &numa_t;
	u64 total = 0, r;

	t->nranges = 0;
	/* each node's SRAT ranges, cut to RAM entries above 1 MiB */
	for (u32 i = 0; i < srat.nmem; i++) {
		struct numa_node *n = numa_node_by_id(srat.mem[i].domain);

		for (u32 k = 0; k < memmap_count; k++) {
			u64 s = srat.mem[i].base, e = s + srat.mem[i].len;

			if (memmap[k].type != MEMMAP_RAM)
				continue;
			if (s < memmap[k].addr)
				s = memmap[k].addr;
			if (e > memmap[k].addr + memmap[k].size)
				e = memmap[k].addr + memmap[k].size;
			if (s < 1 * MIB)
				s = 1 * MIB;
			if (s >= e)
				continue;
			if (t->nranges == NUMA_MAX_RANGES)
				return "too many RAM ranges for the test";
			t->range[t->nranges].start = s;
			t->range[t->nranges].end = e;
			t->range[t->nranges].node = (u32)(n - numa_nodes);
			t->nranges++;
			total += e - s;
		}
	}
	t->stride = 64 * KIB;
	while (total / t->stride + t->nranges > NUMA_MAX_WORDS)
		t->stride *= 2;
	t->skip_start = (u64)(uintptr_t)kite_image_start;
	t->skip_end = (u64)(uintptr_t)kite_image_end;
	t->old = numa_old;
	t->max = NUMA_MAX_WORDS;
	if (!paging_map_upto(memmap_ram_end()))
		return kit_reason("cannot map RAM up to %lx", memmap_ram_end());
	r = run_user(numa_touch_user, (u64)(uintptr_t)t);
	if (user_fault_vector >= 0)
		return kit_reason("exception %d at CPL3 touching node memory (rip %lx cr2 %lx)",
				  user_fault_vector, user_fault_rip, user_fault_cr2);
	for (u32 i = 0; i < numa_n; i++) {
		numa_nodes[i].touched = t->per_node[i];
		serial_printf("numa: node %u: %lu MiB in SRAT, %lu words touched (one per %lu KiB)\n",
			      numa_nodes[i].id, numa_nodes[i].srat_bytes >> 20, t->per_node[i],
			      t->stride >> 10);
	}
	if (r) {
		struct numa_node *n;
		u64 end;

		n = numa_expected_node(t->bad_addr, &end);
		return kit_reason("node %u RAM at %lx read back %lx, wrote %lx (another node's "
				  "memory aliases it?)", n ? n->id : 999, t->bad_addr,
				  t->bad_got, t->bad_want);
	}
	for (u32 i = 0; i < numa_n; i++)
		if (numa_nodes[i].size >= 2 * MIB && !numa_nodes[i].touched)
			return kit_reason("node %u: no RAM of it could be touched", numa_nodes[i].id);
	return NULL;
}

/* ------------------------------------------------------------------- SLIT */

static const char *numa_check_slit(void)
{
	const struct acpi_header *h = srat_slit();
	u64 nloc;

	if (!h) {
		if (numa_have_dist)
			return "no SLIT in the XSDT/RSDT (dist= expects one)";
		serial_printf("numa: no SLIT (none expected)\n");
		return NULL;
	}
	if (!acpi_table_valid(h))
		return "SLIT: bad length or checksum";
	nloc = srat_slit_localities();
	serial_printf("numa: SLIT: %lu localities:", nloc);
	for (u32 i = 0; i < nloc && i < NUMA_MAX_NODES; i++) {
		serial_printf(" [");
		for (u32 j = 0; j < nloc && j < NUMA_MAX_NODES; j++)
			serial_printf(j ? " %d" : "%d", srat_slit_distance(i, j));
		serial_printf("]");
	}
	serial_printf("\n");
	if (nloc != numa_n)
		return kit_reason("SLIT has %lu localities, expected %u", nloc, numa_n);
	if (h->length < SRAT_SLIT_ENTRIES_OFFSET + nloc * nloc)
		return kit_reason("SLIT length %u is too short for %lu localities", h->length, nloc);
	for (u32 i = 0; i < numa_n; i++)
		for (u32 j = 0; j < numa_n; j++) {
			int d = srat_slit_distance(i, j);

			if (d < 0 || (u32)d != numa_dist[i * numa_n + j])
				return kit_reason("SLIT distance %u->%u is %d, expected %u%s", i, j, d,
						  numa_dist[i * numa_n + j],
						  numa_have_dist ? "" : " (default)");
		}
	return NULL;
}

/* ------------------------------------------------------------------- test */

const char *test_numa(void)
{
	const char *why;

	why = numa_parse();
	if (why)
		return why;
	if (!memmap_count)
		return kit_reason("no memory map in hvm_start_info (version %u)", bootinfo_version);
	if (!acpi_init())
		return "ACPI RSDP/root table not found";
	if (!madt_init())
		return "no MADT";
	if (!srat_init())
		return kit_reason("no SRAT in the %s", acpi_root_is_xsdt() ? "XSDT" : "RSDT");
	serial_printf("numa: SRAT at %p len %u rev %u: %u CPU entries (%u disabled), %u memory "
		      "entries (%u disabled), %u other\n", (const void *)srat.table,
		      srat.table->length, srat.table->revision, srat.ncpus, srat.ncpus_disabled,
		      srat.nmem, srat.nmem_disabled, srat.nother);
	if (!acpi_table_valid(srat.table))
		return "SRAT: bad length or checksum";
	if (srat.nbad)
		return kit_reason("SRAT: %u malformed structures", srat.nbad);
	why = numa_check_cpus();
	if (!why)
		why = numa_layout();
	if (!why)
		why = numa_check_memory();
	if (!why)
		why = numa_check_slit();
	if (!why)
		why = numa_touch();
	return why;
}
