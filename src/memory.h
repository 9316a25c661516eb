/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KITE_MEMORY_H
#define KITE_MEMORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A guest-physical address.  Host pointers are always plain pointers. */
typedef uint64_t gpa_t;

/*
 * The guest-physical layout (x86):
 *   [0, low_end)                    RAM, low_end = min(size, MEM_HOLE_START)
 *   [MEM_HOLE_START, 4 GiB)         32-bit MMIO hole: PCI BARs, IOAPIC, LAPIC,
 *                                   KVM's TSS and identity-map pages
 *   [4 GiB, 4 GiB + size - low_end) the rest of RAM
 */
#define MEM_HOLE_START   0xC0000000ULL
#define MEM_4G           0x100000000ULL
#define MEM_MAX_REGIONS  8

/* Fixed low-memory addresses used by the loaders (see docs/ARCHITECTURE.md). */
#define MEM_START_INFO   0x6000ULL    /* PVH hvm_start_info + memory map */
#define MEM_CMDLINE      0x20000ULL   /* kernel command line */
#define MEM_CMDLINE_MAX  0x10000ULL
#define MEM_EBDA_START   0x9FC00ULL   /* reserved up to 1 MiB */
#define MEM_ACPI_START   0xE0000ULL   /* RSDP and ACPI tables */
#define MEM_ACPI_END     0x100000ULL
#define MEM_HIGH_START   0x100000ULL  /* kernels load at or above 1 MiB */

struct mem_region {
	gpa_t gpa;
	uint64_t size;
	uint8_t *hva;      /* host mapping; NULL until allocated */
};

#define MEM_MAX_RESERVED 4
/* Most entries mem_e820() returns. */
#define MEM_E820_MAX     (MEM_MAX_REGIONS + 2 + MEM_MAX_RESERVED)

struct guest_mem {
	struct mem_region regions[MEM_MAX_REGIONS];
	unsigned int nr;
	/* Non-RAM ranges the firmware map reports as reserved (e.g. PCI ECAM). */
	struct { gpa_t gpa; uint64_t size; } reserved[MEM_MAX_RESERVED];
	unsigned int nr_reserved;
	uint64_t total;      /* RAM bytes */
	void *map;           /* the one host mapping all regions live in */
	uint64_t map_size;
	uint64_t page_size;  /* host page size backing it (hugetlb), else 4 KiB */
	int backend;         /* enum mem_backend (mem_host.h) */
	int fd;              /* memfd or file behind the mapping; -1 for anonymous memory */
	/*
	 * Pages devices wrote, while a migration tracks them (NULL otherwise):
	 * one bit per 4 KiB page of each region, set atomically by
	 * mem_mark_dirty() from any thread.  KVM tracks what vCPUs write.
	 */
	uint64_t *dirty[MEM_MAX_REGIONS];
	bool dirty_on;
};

enum e820_type { E820_RAM = 1, E820_RESERVED = 2, E820_ACPI = 3 };

struct e820_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
};

/* Compute the RAM regions for `size` bytes (no allocation). */
int mem_layout(struct guest_mem *gm, uint64_t size);

/* Lay out and map `size` bytes of anonymous RAM.  -ENOMEM if it cannot be backed. */
int mem_alloc(struct guest_mem *gm, uint64_t size);
void mem_free(struct guest_mem *gm);

/*
 * The one choke point from guest-physical to host addresses: returns a host
 * pointer to [gpa, gpa + len) if the whole range lies in one RAM region,
 * else NULL.  Never wraps around.
 */
void *mem_ptr(const struct guest_mem *gm, gpa_t gpa, uint64_t len);

/* Copy in/out of guest RAM; -EFAULT if the range is not RAM. */
int mem_write(const struct guest_mem *gm, gpa_t gpa, const void *src, uint64_t len);
int mem_read(const struct guest_mem *gm, gpa_t gpa, void *dst, uint64_t len);

/* Is [gpa, gpa + len) entirely guest RAM (possibly spanning regions)? */
bool mem_is_ram(const struct guest_mem *gm, gpa_t gpa, uint64_t len);

/* Report [gpa, gpa + size) (outside RAM) as reserved in the e820 map. */
int mem_reserve(struct guest_mem *gm, gpa_t gpa, uint64_t size);

/* The firmware memory map (e820) for the layout, sorted.  Returns the entry count. */
unsigned int mem_e820(const struct guest_mem *gm, struct e820_entry *out, unsigned int max);

/* Is the 4 KiB page at p all zero?  (Snapshots and migration skip such pages.) */
bool mem_page_is_zero(const void *p);

/* Device writes: mark [gpa, gpa + len) dirty if a migration tracks them (cheap otherwise). */
void mem_mark_dirty(const struct guest_mem *gm, gpa_t gpa, uint64_t len);
/* Start/stop tracking device writes (allocates/frees the bitmaps). */
int mem_dirty_start(struct guest_mem *gm);
void mem_dirty_stop(struct guest_mem *gm);
/* Move region r's device-dirty bits into out (ORed), clearing them. */
void mem_dirty_collect(struct guest_mem *gm, unsigned int r, uint64_t *out);

/* Highest supported guest RAM size (keeps everything below 2^46). */
#define MEM_MAX_SIZE (1ULL << 45)

#endif
