/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KITE_NUMA_TOPO_H
#define KITE_NUMA_TOPO_H

/*
 * Guest NUMA topology from the command line:
 *   --numa node=N,cpus=A[-B][,cpus=...],memory=SIZE[,host-node=H]
 *   --numa-distance A:B=D
 * Nodes are numbered 0..n-1; guest RAM is split among them in node order
 * (node 0 gets the lowest guest-physical RAM).  The guest sees it through
 * ACPI SRAT and SLIT; host-node binds a node's memory (mbind) and, with
 * --cpu-affinity, pins its vCPU threads to that host node's CPUs.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "memory.h"

#define NUMA_MAX_NODES          16
#define NUMA_MAX_RANGES         16      /* cpus= entries per node */
#define NUMA_LOCAL_DISTANCE     10
#define NUMA_REMOTE_DISTANCE    20

struct numa_node {
	bool defined;
	uint64_t mem;
	int host_node;                  /* -1: not bound */
	unsigned int nr_ranges;
	struct { uint32_t first, last; } cpus[NUMA_MAX_RANGES];
};

struct numa_config {
	unsigned int nr_nodes;          /* 0: no NUMA topology */
	struct numa_node nodes[NUMA_MAX_NODES];
	uint8_t dist[NUMA_MAX_NODES][NUMA_MAX_NODES];   /* 0: not given */
	bool cpu_affinity;
};

/* Parse one --numa / --numa-distance; 0 or -EINVAL with one line in err. */
int numa_parse_node(struct numa_config *c, const char *arg, char *err, size_t errlen);
int numa_parse_distance(struct numa_config *c, const char *arg, char *err, size_t errlen);

/*
 * Check the whole topology against --cpus and --memory (and the backend's
 * page size), fill default distances.  host_nodes_ok(node) says whether a
 * host node exists (NULL: libnuma).  0 or -EINVAL with one line in err.
 */
int numa_validate(struct numa_config *c, unsigned int ncpus, uint64_t mem_size,
		  uint64_t page_size, bool (*host_node_ok)(int node), char *err, size_t errlen);

/* The node vCPU `cpu` belongs to (after numa_validate). */
unsigned int numa_cpu_node(const struct numa_config *c, unsigned int cpu);

/*
 * The guest-physical ranges of each node's memory, in address order, for a
 * memory layout: fills out[] (node, gpa, size) and returns the count, at most
 * max.  A node's memory may be split by the 3-4 GiB hole.
 */
struct numa_mem_range {
	unsigned int node;
	gpa_t gpa;
	uint64_t size;
};
unsigned int numa_mem_ranges(const struct numa_config *c, const struct guest_mem *gm,
			     struct numa_mem_range *out, unsigned int max);

#endif
