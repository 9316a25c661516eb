/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KITE_FUZZ_INPUT_H
#define KITE_FUZZ_INPUT_H

/*
 * What every libFuzzer target here shares: reading values from the fuzz
 * input (zeros once it runs out), and CHECK(), an invariant whose failure
 * is a finding (abort, so libFuzzer saves the input).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define CHECK(cond) do {						\
		if (!(cond)) {						\
			fprintf(stderr, "%s:%d: check failed: %s\n",	\
				__FILE__, __LINE__, #cond);		\
			abort();					\
		}							\
	} while (0)

struct input {
	const uint8_t *p;
	size_t n;
};

static inline uint8_t get8(struct input *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

/* A little-endian value of `bytes` bytes (1 to 8). */
static inline uint64_t get(struct input *in, unsigned int bytes)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < bytes; i++)
		v |= (uint64_t)get8(in) << (8 * i);
	return v;
}

#endif
