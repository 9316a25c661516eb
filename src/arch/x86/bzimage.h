/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KITE_X86_BZIMAGE_H
#define KITE_X86_BZIMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "memory.h"

/* The x86 Linux boot protocol (Documentation/arch/x86/boot.rst), 64-bit entry. */
#define BZ_SETUP_HDR       0x1f1
#define BZ_BOOT_FLAG       0x1fe      /* 0xAA55 */
#define BZ_HEADER          0x202      /* "HdrS" */
#define BZ_MIN_VERSION     0x020c     /* 2.12: xloadflags, 64-bit entry */
#define BZ_LOAD_ADDR       0x100000ULL
#define BZ_ENTRY64_OFFSET  0x200

/* Guest addresses of what the loader writes (all below the EBDA). */
#define BZ_GDT_ADDR        0x500ULL
#define BZ_ZERO_PAGE       0x7000ULL
#define BZ_PML4_ADDR       0x9000ULL  /* + PDPT 0xA000, 4 PDs 0xB000-0xEFFF */

/* boot_params fields kite fills (offsets in the zero page). */
#define BP_ACPI_RSDP       0x070
#define BP_E820_ENTRIES    0x1e8
#define BP_TYPE_OF_LOADER  0x210
#define BP_LOADFLAGS       0x211
#define BP_RAMDISK_IMAGE   0x218
#define BP_RAMDISK_SIZE    0x21c
#define BP_HEAP_END_PTR    0x224
#define BP_CMD_LINE_PTR    0x228
#define BP_INITRD_ADDR_MAX 0x22c
#define BP_XLOADFLAGS      0x236
#define BP_CMDLINE_SIZE    0x238
#define BP_INIT_SIZE       0x260
#define BP_E820_TABLE      0x2d0
#define BP_E820_MAX        128

bool bzimage_detect(const uint8_t *img, size_t size);

struct bzimage_boot {
	gpa_t entry;           /* 64-bit entry point */
	gpa_t zero_page;       /* boot_params, for RSI */
	gpa_t kernel_end;      /* first byte above the kernel's init_size */
	uint32_t initrd_max;   /* highest address an initrd may end at */
};

/*
 * Check the setup header and load the protected-mode kernel at 1 MiB.  On
 * failure returns -ENOEXEC with a one-line reason in err.
 */
int bzimage_load(const struct guest_mem *gm, const uint8_t *img, size_t size,
		 struct bzimage_boot *out, char *err, size_t errlen);

/*
 * Write boot_params (setup header from the image, command line, initrd, e820,
 * RSDP), the GDT and identity-mapping page tables for the 64-bit entry.
 * -E2BIG if the command line is longer than the kernel accepts.
 */
int bzimage_setup(const struct guest_mem *gm, const uint8_t *img, size_t size,
		  const struct bzimage_boot *bz, const char *cmdline, gpa_t initrd,
		  uint64_t initrd_size, gpa_t rsdp);

#endif
