/*
 * test_memmap.c - mem=SIZE: the RAM entries of the PVH memory map account
 * for SIZE ((highest RAM end below 4 GiB) + (RAM above 4 GiB)), no RAM in
 * [0xFEC00000, 4 GiB), RAM above 4 GiB when SIZE > 3 GiB, and one word in
 * every 2 MiB of every RAM range can be written and read back (at CPL3).
 */
#include "kit.h"

#define MMIO_HOLE_START	0xFEC00000ULL
#define FOUR_GIB	(4 * GIB)

struct memmap_touch {
	u64 touched;
	u64 bad_addr;
	u64 bad_value;
};

static bool memmap_touch_word(u64 addr)
{
	volatile u64 *p = (volatile u64 *)(uintptr_t)addr;
	u64 old = *p, pattern = addr ^ 0x5A5AA5A5C3C33C3CULL;
	bool ok;

	*p = pattern;
	ok = *p == pattern;
	*p = old;
	return ok;
}

static u64 memmap_touch_user(u64 argp)
{
	struct memmap_touch *t = (void *)(uintptr_t)argp;

	for (u32 i = 0; i < memmap_count; i++) {
		u64 start = (memmap[i].addr + 7) & ~7ULL;
		u64 end = memmap[i].addr + memmap[i].size;

		if (memmap[i].type != MEMMAP_RAM || start + 8 > end)
			continue;
		for (u64 a = start; a + 8 <= end; a = (a & ~(2 * MIB - 1)) + 2 * MIB) {
			t->touched++;
			if (!memmap_touch_word(a)) {
				t->bad_addr = a;
				return 1;
			}
		}
		t->touched++;
		if (!memmap_touch_word((end - 8) & ~7ULL)) {
			t->bad_addr = (end - 8) & ~7ULL;
			return 1;
		}
	}
	return 0;
}

const char *test_memmap(void)
{
	u64 want, below = 0, above = 0, r;
	struct memmap_touch t = { 0, 0, 0 };
	char buf[32];

	if (!cmdline_value("mem", buf, sizeof(buf)) || !cmdline_parse_size(buf, &want))
		return "missing or bad mem=SIZE on the command line";
	if (!memmap_count)
		return kit_reason("no memory map in hvm_start_info (version %u)", bootinfo_version);
	serial_printf("memmap: %u entries (start info version %u)\n", memmap_count, bootinfo_version);
	for (u32 i = 0; i < memmap_count; i++) {
		const struct memmap_entry *e = &memmap[i];
		u64 s = e->addr, end = e->addr + e->size;

		serial_printf("memmap: [%016lx-%016lx) %s (type %u)\n", s, end,
			      memmap_type_name(e->type), e->type);
		if (e->type != MEMMAP_RAM)
			continue;
		if (s < FOUR_GIB && end > MMIO_HOLE_START)
			return kit_reason("RAM [%lx-%lx) overlaps [fec00000-100000000)", s, end);
		if (s < FOUR_GIB && (end < FOUR_GIB ? end : FOUR_GIB) > below)
			below = end < FOUR_GIB ? end : FOUR_GIB;
		if (end > FOUR_GIB)
			above += end - (s > FOUR_GIB ? s : FOUR_GIB);
	}
	serial_printf("memmap: RAM end below 4G %lx + above 4G %lx = %lx (mem= %lx)\n",
		      below, above, below + above, want);
	if (below + above != want)
		return kit_reason("RAM accounts for %lu MiB, expected %lu MiB",
				  (below + above) >> 20, want >> 20);
	if (want > 3 * GIB && !above)
		return "mem > 3G but no RAM above 4 GiB";
	if (!paging_map_upto(memmap_ram_end()))
		return kit_reason("cannot map RAM up to %lx", memmap_ram_end());
	r = run_user(memmap_touch_user, (u64)(uintptr_t)&t);
	if (user_fault_vector >= 0)
		return kit_reason("exception %d at CPL3 touching RAM (rip %lx cr2 %lx)",
				  user_fault_vector, user_fault_rip, user_fault_cr2);
	serial_printf("memmap: touched %lu words\n", t.touched);
	if (r)
		return kit_reason("RAM word at %lx did not read back", t.bad_addr);
	return NULL;
}
