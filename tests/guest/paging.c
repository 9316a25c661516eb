/*
 * paging.c - extend the static identity map (entry.S: 0..4 GiB) to RAM
 * above 4 GiB, with 2 MiB pages from a pool of page directories.
 */
#include "kit.h"

#define PAGING_POOL_PDS 60		/* up to 64 GiB of address space */

extern u64 kite_pdpt[512];
static u64 paging_pool[PAGING_POOL_PDS][512] __attribute__((aligned(4096)));
static u32 paging_pool_used;

bool paging_map_upto(u64 end)
{
	u64 gib_end = (end + GIB - 1) / GIB;
	bool changed = false;

	if (gib_end > 512)
		return false;
	for (u64 g = 4; g < gib_end; g++) {
		u64 *pd;

		if (kite_pdpt[g] & PTE_P)
			continue;
		if (paging_pool_used == PAGING_POOL_PDS)
			return false;
		pd = paging_pool[paging_pool_used++];
		for (u64 i = 0; i < 512; i++)
			pd[i] = ((g << 30) + (i << 21)) | PTE_P | PTE_W | PTE_U | PTE_PS;
		kite_pdpt[g] = (u64)(uintptr_t)pd | PTE_P | PTE_W | PTE_U;
		changed = true;
	}
	if (changed)
		write_cr3(read_cr3());
	return true;
}
