/*
 * bootinfo.c - PVH start info: validated, and the parts we need copied out
 * (the VMM keeps it in low memory that the kit may reuse later).
 */
#include "kit.h"

u32 bootinfo_paddr;
bool bootinfo_valid;
u32 bootinfo_version;
u64 bootinfo_rsdp;

void bootinfo_init(u32 paddr)
{
	const struct hvm_start_info *si = (const void *)(uintptr_t)paddr;

	bootinfo_paddr = paddr;
	if (!paddr || si->magic != HVM_START_MAGIC)
		return;
	bootinfo_valid = true;
	bootinfo_version = si->version;
	bootinfo_rsdp = si->rsdp_paddr;
	cmdline_init(si->cmdline_paddr);
}
