/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KITE_MEM_HOST_H
#define KITE_MEM_HOST_H

/*
 * Where guest RAM lives on the host: the memory backends.
 *
 *   anon     private anonymous memory, transparent huge pages requested
 *            (MADV_HUGEPAGE) -- the default
 *   memfd    a memfd, mapped shared (other processes can map it too: the
 *            basis for snapshots and vhost-user)
 *   hugetlb  a memfd of 2 MiB or 1 GiB hugetlbfs pages (MFD_HUGETLB)
 *   file     a file (a persistent memory image), mapped shared
 *
 * The mapping is aligned in host-virtual space to the backing page size (at
 * least 2 MiB), and guest RAM regions start at 0 and 4 GiB with the low
 * region ending at 3 GiB, so huge pages line up in guest-physical and
 * host-virtual space alike.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "memory.h"

enum mem_backend { MEM_BACKEND_ANON, MEM_BACKEND_MEMFD, MEM_BACKEND_HUGETLB, MEM_BACKEND_FILE };

/* --memory SIZE[,backend=anon|memfd|hugetlb|file][,hugepages=2M|1G][,prefault][,path=FILE] */
struct mem_opts {
	uint64_t size;
	enum mem_backend backend;
	uint64_t hugepage_size;         /* hugetlb: 2 MiB or 1 GiB */
	bool prefault;
	char path[4096];                /* backend=file */
	bool private_file;              /* restore: map `path` copy-on-write, lazily, exactly SIZE */
};

/*
 * Parse `arg`.  0, or -EINVAL with one line in err naming the problem and
 * what to do.  Checks the size against the backend's page size.
 */
int mem_parse_opts(const char *arg, struct mem_opts *o, char *err, size_t errlen);

const char *mem_backend_name(enum mem_backend b);

/*
 * Lay out and map guest RAM with the chosen backend (not yet populated).
 * User errors (not enough free huge pages, a file that cannot be created or
 * is too small) put one line in err and return -EINVAL; other failures
 * -errno with a message in err.
 */
int mem_create(struct guest_mem *gm, const struct mem_opts *o, char *err, size_t errlen);

/* Bind the host memory behind guest [gpa, gpa + len) to host NUMA node `node` (mbind). */
int mem_bind_node(struct guest_mem *gm, gpa_t gpa, uint64_t len, int node);

/* Populate all of guest RAM now (MADV_POPULATE_WRITE), before a vCPU runs. */
int mem_prefault(struct guest_mem *gm);

/* What the host has actually populated, from /proc/self/smaps. */
struct mem_usage {
	uint64_t populated;             /* bytes backed by host memory */
	uint64_t huge;                  /* of which in huge pages (THP or hugetlb) */
};
int mem_usage(const struct guest_mem *gm, struct mem_usage *u);

#endif
