// SPDX-License-Identifier: GPL-2.0-only
/* Guest RAM: layout, host backing, and the bounds-checked gpa -> host choke point. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "memory.h"
#include "util.h"

int mem_layout(struct guest_mem *gm, uint64_t size)
{
	uint64_t low = MIN(size, MEM_HOLE_START);

	memset(gm, 0, sizeof(*gm));
	if (size < 2 * MiB || size > MEM_MAX_SIZE || size % (4 * KiB))
		return -EINVAL;
	gm->regions[gm->nr++] = (struct mem_region){ .gpa = 0, .size = low };
	if (size > low)
		gm->regions[gm->nr++] = (struct mem_region){ .gpa = MEM_4G, .size = size - low };
	gm->total = size;
	return 0;
}

int mem_alloc(struct guest_mem *gm, uint64_t size)
{
	uint64_t off = 0;
	unsigned int i;
	void *map;
	int ret;

	ret = mem_layout(gm, size);
	if (ret)
		return ret;
	map = mmap(NULL, size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (map == MAP_FAILED)
		return -errno;
	/* Transparent huge pages where the host allows them; best effort. */
	madvise(map, size, MADV_HUGEPAGE);
	madvise(map, size, MADV_DONTDUMP);
	gm->map = map;
	gm->map_size = size;
	gm->page_size = 4 * KiB;
	gm->fd = -1;
	for (i = 0; i < gm->nr; i++) {
		gm->regions[i].hva = (uint8_t *)map + off;
		off += gm->regions[i].size;
	}
	return 0;
}

bool mem_page_is_zero(const void *p)
{
	const uint64_t *w = p;

	for (size_t i = 0; i < 4096 / 8; i += 4)
		if (w[i] | w[i + 1] | w[i + 2] | w[i + 3])
			return false;
	return true;
}

void mem_mark_dirty(const struct guest_mem *gm, gpa_t gpa, uint64_t len)
{
	if (!__atomic_load_n(&gm->dirty_on, __ATOMIC_ACQUIRE) || !len)
		return;
	for (unsigned int i = 0; i < gm->nr; i++) {
		const struct mem_region *r = &gm->regions[i];
		uint64_t first, last;

		if (gpa < r->gpa || gpa - r->gpa >= r->size || !gm->dirty[i])
			continue;
		first = (gpa - r->gpa) / 4096;
		last = (MIN(gpa - r->gpa + len, r->size) - 1) / 4096;
		for (uint64_t p = first; p <= last; p++)
			__atomic_fetch_or(&gm->dirty[i][p / 64], 1ULL << (p % 64), __ATOMIC_RELAXED);
		return;
	}
}

int mem_dirty_start(struct guest_mem *gm)
{
	for (unsigned int i = 0; i < gm->nr; i++) {
		gm->dirty[i] = calloc((gm->regions[i].size / 4096 + 63) / 64, 8);
		if (!gm->dirty[i]) {
			mem_dirty_stop(gm);
			return -ENOMEM;
		}
	}
	__atomic_store_n(&gm->dirty_on, true, __ATOMIC_RELEASE);
	return 0;
}

void mem_dirty_stop(struct guest_mem *gm)
{
	__atomic_store_n(&gm->dirty_on, false, __ATOMIC_RELEASE);
	/* Callers stop tracking with the devices quiesced or the VM paused. */
	for (unsigned int i = 0; i < MEM_MAX_REGIONS; i++) {
		free(gm->dirty[i]);
		gm->dirty[i] = NULL;
	}
}

void mem_dirty_collect(struct guest_mem *gm, unsigned int r, uint64_t *out)
{
	uint64_t words = (gm->regions[r].size / 4096 + 63) / 64;

	if (r >= gm->nr || !gm->dirty[r])
		return;
	for (uint64_t w = 0; w < words; w++)
		out[w] |= __atomic_exchange_n(&gm->dirty[r][w], 0, __ATOMIC_RELAXED);
}

void mem_free(struct guest_mem *gm)
{
	mem_dirty_stop(gm);
	if (gm->map)
		munmap(gm->map, gm->map_size);
	if (gm->map && gm->fd >= 0)
		close(gm->fd);
	memset(gm, 0, sizeof(*gm));
}

void *mem_ptr(const struct guest_mem *gm, gpa_t gpa, uint64_t len)
{
	unsigned int i;

	for (i = 0; i < gm->nr; i++) {
		const struct mem_region *r = &gm->regions[i];

		if (gpa < r->gpa || gpa - r->gpa >= r->size)
			continue;
		if (len > r->size - (gpa - r->gpa) || !r->hva)
			return NULL;
		return r->hva + (gpa - r->gpa);
	}
	return NULL;
}

bool mem_is_ram(const struct guest_mem *gm, gpa_t gpa, uint64_t len)
{
	while (len) {
		unsigned int i;
		uint64_t chunk = 0;

		for (i = 0; i < gm->nr; i++) {
			const struct mem_region *r = &gm->regions[i];

			if (gpa >= r->gpa && gpa - r->gpa < r->size) {
				chunk = MIN(len, r->size - (gpa - r->gpa));
				break;
			}
		}
		if (!chunk)
			return false;
		gpa += chunk;
		len -= chunk;
	}
	return true;
}

int mem_write(const struct guest_mem *gm, gpa_t gpa, const void *src, uint64_t len)
{
	void *p = mem_ptr(gm, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(p, src, len);
	return 0;
}

int mem_read(const struct guest_mem *gm, gpa_t gpa, void *dst, uint64_t len)
{
	const void *p = mem_ptr(gm, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(dst, p, len);
	return 0;
}

int mem_reserve(struct guest_mem *gm, gpa_t gpa, uint64_t size)
{
	if (gm->nr_reserved == MEM_MAX_RESERVED)
		return -ENOSPC;
	if (!size || gpa + size < gpa || mem_ptr(gm, gpa, 1) || mem_ptr(gm, gpa + size - 1, 1))
		return -EINVAL;
	gm->reserved[gm->nr_reserved].gpa = gpa;
	gm->reserved[gm->nr_reserved].size = size;
	gm->nr_reserved++;
	return 0;
}

unsigned int mem_e820(const struct guest_mem *gm, struct e820_entry *out, unsigned int max)
{
	struct e820_entry tmp[MEM_E820_MAX];
	unsigned int n = 0, i;

	for (i = 0; i < gm->nr; i++) {
		const struct mem_region *r = &gm->regions[i];

		if (r->gpa == 0) {
			/* Low RAM, the EBDA/BIOS area (reserved, holds ACPI), then the rest. */
			tmp[n++] = (struct e820_entry){ 0, MEM_EBDA_START, E820_RAM };
			tmp[n++] = (struct e820_entry){ MEM_EBDA_START,
				MEM_HIGH_START - MEM_EBDA_START, E820_RESERVED };
			if (r->size > MEM_HIGH_START)
				tmp[n++] = (struct e820_entry){ MEM_HIGH_START,
					r->size - MEM_HIGH_START, E820_RAM };
		} else {
			tmp[n++] = (struct e820_entry){ r->gpa, r->size, E820_RAM };
		}
	}
	for (i = 0; i < gm->nr_reserved; i++)
		tmp[n++] = (struct e820_entry){ gm->reserved[i].gpa, gm->reserved[i].size,
						E820_RESERVED };
	/* Sorted by address (insertion sort: a handful of entries). */
	for (i = 1; i < n; i++) {
		struct e820_entry e = tmp[i];
		unsigned int j = i;

		for (; j > 0 && tmp[j - 1].addr > e.addr; j--)
			tmp[j] = tmp[j - 1];
		tmp[j] = e;
	}
	for (i = 0; i < n && i < max; i++)
		out[i] = tmp[i];
	return MIN(n, max);
}
