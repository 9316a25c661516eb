/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KITE_X86_BOOT_H
#define KITE_X86_BOOT_H

#include <stddef.h>
#include <stdint.h>

#include "memory.h"

#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define HVM_START_MAGIC 0x336ec578

struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr;
	uint32_t memmap_entries;
	uint32_t reserved;
} __attribute__((packed));

struct hvm_modlist_entry {
	uint64_t paddr, size, cmdline_paddr, reserved;
} __attribute__((packed));

struct hvm_memmap_entry {
	uint64_t addr, size;
	uint32_t type, reserved;
} __attribute__((packed));

/*
 * Load an ELF kernel with a PVH entry note into guest RAM.  Every header
 * value is checked against the image size and guest RAM.  On failure returns
 * -ENOEXEC and writes a one-line reason into err.
 */
int pvh_load_elf(const struct guest_mem *gm, const uint8_t *img, size_t size,
		 gpa_t *entry, gpa_t *kernel_end, char *err, size_t errlen);

/* Where an initrd of `size` bytes goes: page-aligned, top of low RAM, above kernel_end. */
int boot_initrd_addr(const struct guest_mem *gm, uint64_t size, gpa_t kernel_end, gpa_t *addr);
/* The same, also ending at or below `limit` (the kernel's initrd_addr_max). */
int boot_initrd_addr_below(const struct guest_mem *gm, uint64_t size, gpa_t kernel_end,
			   uint64_t limit, gpa_t *addr);

/* Write hvm_start_info, the memory map and the command line; returns its address. */
int pvh_write_start_info(const struct guest_mem *gm, const char *cmdline, gpa_t rsdp,
			 gpa_t initrd, uint64_t initrd_size, gpa_t *start_info);

#endif
