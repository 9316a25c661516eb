/*
 * srat.c - parse the SRAT (System Resource Affinity Table): processor local
 * APIC affinity (type 0), memory affinity (type 1), processor local x2APIC
 * affinity (type 2); and the SLIT (System Locality Information Table).
 * Other SRAT structures (GICC, ITS, generic initiators) are counted and
 * skipped.
 */
#include "kit.h"

struct srat_info srat;
static bool srat_done, srat_ok;
static const struct acpi_header *srat_slit_table;
static u64 srat_slit_n;
static bool srat_slit_done;

static void srat_add_cpu(u32 apic_id, u32 domain, u32 flags, bool x2)
{
	if (!(flags & SRAT_ENABLED)) {
		srat.ncpus_disabled++;
		return;
	}
	if (srat.ncpus < SRAT_MAX_CPUS) {
		srat.cpu[srat.ncpus].apic_id = apic_id;
		srat.cpu[srat.ncpus].domain = domain;
		srat.cpu[srat.ncpus].x2apic = x2;
	}
	srat.ncpus++;
}

bool srat_init(void)
{
	const struct acpi_header *h;
	const u8 *p, *end;

	if (srat_done)
		return srat_ok;
	srat_done = true;
	h = acpi_find("SRAT", 0);
	if (!h || h->length < SRAT_ENTRIES_OFFSET)
		return false;
	srat.table = h;
	p = (const u8 *)h;
	end = p + h->length;
	for (p += SRAT_ENTRIES_OFFSET; p + 2 <= end && p[1] >= 2 && p + p[1] <= end; p += p[1]) {
		u32 dom, id, flags;
		u64 base, len;

		switch (p[0]) {
		case 0:		/* processor local APIC/SAPIC affinity */
			if (p[1] < 16) {
				srat.nbad++;
				break;
			}
			dom = p[2] | (u32)p[9] << 8 | (u32)p[10] << 16 | (u32)p[11] << 24;
			memcpy(&flags, p + 4, 4);
			srat_add_cpu(p[3], dom, flags, false);
			break;
		case 1:		/* memory affinity */
			if (p[1] < 40) {
				srat.nbad++;
				break;
			}
			memcpy(&dom, p + 2, 4);
			memcpy(&base, p + 8, 8);
			memcpy(&len, p + 16, 8);
			memcpy(&flags, p + 28, 4);
			if (!(flags & SRAT_ENABLED)) {
				srat.nmem_disabled++;
				break;
			}
			if (srat.nmem < SRAT_MAX_MEM) {
				srat.mem[srat.nmem].base = base;
				srat.mem[srat.nmem].len = len;
				srat.mem[srat.nmem].domain = dom;
				srat.mem[srat.nmem].flags = flags;
			}
			srat.nmem++;
			break;
		case 2:		/* processor local x2APIC affinity */
			if (p[1] < 24) {
				srat.nbad++;
				break;
			}
			memcpy(&dom, p + 4, 4);
			memcpy(&id, p + 8, 4);
			memcpy(&flags, p + 12, 4);
			srat_add_cpu(id, dom, flags, true);
			break;
		default:
			srat.nother++;
			break;
		}
	}
	if (p != end)
		srat.nbad++;	/* a structure ran past the end, or length < 2 */
	srat_ok = true;
	return true;
}

s64 srat_cpu_domain(u32 apic_id)
{
	s64 dom = -1;

	for (u32 i = 0; i < srat.ncpus && i < SRAT_MAX_CPUS; i++) {
		if (srat.cpu[i].apic_id != apic_id)
			continue;
		if (dom >= 0 && dom != srat.cpu[i].domain)
			return -2;	/* listed in two domains */
		dom = srat.cpu[i].domain;
	}
	return dom;
}

s64 srat_mem_domain(u64 addr, u64 *range_end)
{
	for (u32 i = 0; i < srat.nmem && i < SRAT_MAX_MEM; i++) {
		const struct srat_mem *m = &srat.mem[i];

		if (addr >= m->base && addr - m->base < m->len) {
			if (range_end)
				*range_end = m->base + m->len;
			return m->domain;
		}
	}
	return -1;
}

static bool srat_slit_init(void)
{
	const struct acpi_header *h;

	if (srat_slit_done)
		return srat_slit_table != NULL;
	srat_slit_done = true;
	h = acpi_find("SLIT", 0);
	if (!h || h->length < SRAT_SLIT_ENTRIES_OFFSET)
		return false;
	memcpy(&srat_slit_n, (const u8 *)h + 36, 8);
	srat_slit_table = h;
	return true;
}

const struct acpi_header *srat_slit(void)
{
	return srat_slit_init() ? srat_slit_table : NULL;
}

u64 srat_slit_localities(void)
{
	return srat_slit_init() ? srat_slit_n : 0;
}

int srat_slit_distance(u32 from, u32 to)
{
	const u8 *m;

	if (!srat_slit_init() || from >= srat_slit_n || to >= srat_slit_n ||
	    srat_slit_n > 256 ||
	    SRAT_SLIT_ENTRIES_OFFSET + srat_slit_n * srat_slit_n > srat_slit_table->length)
		return -1;
	m = (const u8 *)srat_slit_table + SRAT_SLIT_ENTRIES_OFFSET;
	return m[from * srat_slit_n + to];
}
