/*
 * memmap.c - the PVH memory map (hvm_memmap_table_entry[]), copied out.
 */
#include "kit.h"

struct memmap_entry memmap[MEMMAP_MAX];
u32 memmap_count;

void memmap_init(const struct hvm_start_info *si)
{
	const struct memmap_entry *src;
	u32 n;

	memmap_count = 0;
	if (!si || si->magic != HVM_START_MAGIC || si->version < 1 || !si->memmap_paddr)
		return;
	n = si->memmap_entries;
	if (n > MEMMAP_MAX)
		n = MEMMAP_MAX;
	src = (const void *)(uintptr_t)si->memmap_paddr;
	memcpy(memmap, src, n * sizeof(memmap[0]));
	memmap_count = n;
}

bool memmap_is_ram(u64 addr, u64 size)
{
	for (u32 i = 0; i < memmap_count; i++) {
		const struct memmap_entry *e = &memmap[i];

		if (e->type == MEMMAP_RAM && addr >= e->addr &&
		    addr + size <= e->addr + e->size)
			return true;
	}
	return false;
}

u64 memmap_ram_end(void)
{
	u64 end = 0;

	for (u32 i = 0; i < memmap_count; i++)
		if (memmap[i].type == MEMMAP_RAM && memmap[i].addr + memmap[i].size > end)
			end = memmap[i].addr + memmap[i].size;
	return end;
}

const char *memmap_type_name(u32 type)
{
	switch (type) {
	case 1: return "ram";
	case 2: return "reserved";
	case 3: return "acpi";
	case 4: return "nvs";
	case 5: return "unusable";
	case 7: return "pmem";
	default: return "?";
	}
}
