/* SPDX-License-Identifier: GPL-2.0-only */
/* Fake guest memory for unit tests: a small malloc'd guest or the real layout, lazily backed. */
#ifndef KITE_TEST_FAKE_GUEST_H
#define KITE_TEST_FAKE_GUEST_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "memory.h"
#include "util.h"

#define GUEST_SIZE (16 * MiB)
#define FILL 0xAA

struct fake {
	struct guest_mem gm;
	void *map;
	uint64_t size;
};

/* A hand-made single-region guest backed by malloc'd memory. */
static inline struct fake *small_guest(void)
{
	struct fake *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->map = malloc(GUEST_SIZE);
	assert_non_null(f->map);
	memset(f->map, FILL, GUEST_SIZE);
	f->gm.regions[0] = (struct mem_region){ .gpa = 0, .size = GUEST_SIZE, .hva = f->map };
	f->gm.nr = 1;
	f->gm.total = GUEST_SIZE;
	return f;
}

/* The real layout for `size` (with the 3-4 GiB hole), lazily backed. */
static inline struct fake *layout_guest(uint64_t size)
{
	struct fake *f = calloc(1, sizeof(*f));
	uint64_t off = 0;

	assert_non_null(f);
	assert_int_equal(mem_layout(&f->gm, size), 0);
	f->map = mmap(NULL, size, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	assert_true(f->map != MAP_FAILED);
	f->size = size;
	for (unsigned int i = 0; i < f->gm.nr; i++) {
		f->gm.regions[i].hva = (uint8_t *)f->map + off;
		off += f->gm.regions[i].size;
	}
	return f;
}

static inline void free_guest(struct fake *f)
{
	if (f->size)
		munmap(f->map, f->size);
	else
		free(f->map);
	free(f);
}

static inline uint8_t *ram(struct fake *f)
{
	return f->map;
}

#endif
