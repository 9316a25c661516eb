// SPDX-License-Identifier: GPL-2.0-only
/* Guest NUMA topology: parsing and validation. */
#include <errno.h>
#include <numa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "numa_topo.h"
#include "util.h"

static int parse_u32(const char *s, uint32_t max, uint32_t *out)
{
	uint64_t v;

	if (parse_uint(s, 0, max, &v))
		return -EINVAL;
	*out = v;
	return 0;
}

int numa_parse_node(struct numa_config *c, const char *arg, char *err, size_t errlen)
{
	char buf[1024], *save = NULL, *tok;
	struct numa_node n = { .host_node = -1 };
	uint32_t id = UINT32_MAX;
	bool have_mem = false;

	if (strlen(arg) >= sizeof(buf)) {
		snprintf(err, errlen, "--numa value is too long");
		return -EINVAL;
	}
	strcpy(buf, arg);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *val = strchr(tok, '=');

		if (!val) {
			snprintf(err, errlen, "--numa: '%s' is not KEY=VALUE: use node=N,cpus=A-B,"
				 "memory=SIZE[,host-node=H]", tok);
			return -EINVAL;
		}
		*val++ = '\0';
		if (!strcmp(tok, "node")) {
			if (parse_u32(val, NUMA_MAX_NODES - 1, &id)) {
				snprintf(err, errlen, "--numa: node=%s: use a node number from 0 to %d",
					 val, NUMA_MAX_NODES - 1);
				return -EINVAL;
			}
		} else if (!strcmp(tok, "cpus")) {
			char *dash = strchr(val, '-');
			uint32_t a, b;

			if (dash)
				*dash = '\0';
			if (parse_u32(val, UINT32_MAX - 1, &a) ||
			    (dash && parse_u32(dash + 1, UINT32_MAX - 1, &b))) {
				snprintf(err, errlen, "--numa: cpus=%s%s%s: use a vCPU number or a range "
					 "A-B (repeat cpus= for more)", val, dash ? "-" : "",
					 dash ? dash + 1 : "");
				return -EINVAL;
			}
			if (!dash)
				b = a;
			if (b < a) {
				snprintf(err, errlen, "--numa: cpus=%u-%u is an empty range", a, b);
				return -EINVAL;
			}
			if (n.nr_ranges == NUMA_MAX_RANGES) {
				snprintf(err, errlen, "--numa: more than %d cpus= entries: use ranges",
					 NUMA_MAX_RANGES);
				return -EINVAL;
			}
			n.cpus[n.nr_ranges].first = a;
			n.cpus[n.nr_ranges].last = b;
			n.nr_ranges++;
		} else if (!strcmp(tok, "memory") || !strcmp(tok, "mem")) {
			if (parse_size(val, &n.mem)) {
				snprintf(err, errlen, "--numa: memory=%s is not a size: use e.g. 2G", val);
				return -EINVAL;
			}
			have_mem = true;
		} else if (!strcmp(tok, "host-node")) {
			uint32_t h;

			if (parse_u32(val, 1023, &h)) {
				snprintf(err, errlen, "--numa: host-node=%s is not a node number", val);
				return -EINVAL;
			}
			n.host_node = h;
		} else {
			snprintf(err, errlen, "--numa: unknown key '%s': use node=N,cpus=A-B,memory=SIZE"
				 "[,host-node=H]", tok);
			return -EINVAL;
		}
	}
	if (id == UINT32_MAX || !have_mem || !n.nr_ranges) {
		snprintf(err, errlen, "--numa %s: give node=N, cpus=... and memory=SIZE", arg);
		return -EINVAL;
	}
	if (c->nodes[id].defined) {
		snprintf(err, errlen, "--numa: node %u is given twice", id);
		return -EINVAL;
	}
	n.defined = true;
	c->nodes[id] = n;
	if (id + 1 > c->nr_nodes)
		c->nr_nodes = id + 1;
	return 0;
}

int numa_parse_distance(struct numa_config *c, const char *arg, char *err, size_t errlen)
{
	unsigned int a, b, d;
	int end = 0;

	if (sscanf(arg, "%u:%u=%u%n", &a, &b, &d, &end) != 3 || arg[end]) {
		snprintf(err, errlen, "--numa-distance '%s': use A:B=DISTANCE, e.g. 0:1=20", arg);
		return -EINVAL;
	}
	if (a >= NUMA_MAX_NODES || b >= NUMA_MAX_NODES) {
		snprintf(err, errlen, "--numa-distance %s: no such node (0 to %d)", arg,
			 NUMA_MAX_NODES - 1);
		return -EINVAL;
	}
	if (a == b ? d != NUMA_LOCAL_DISTANCE : (d <= NUMA_LOCAL_DISTANCE || d > 254)) {
		snprintf(err, errlen, "--numa-distance %s: %s", arg, a == b ?
			 "a node's distance to itself is 10" :
			 "the distance between two nodes is 11 to 254 (10 is local)");
		return -EINVAL;
	}
	c->dist[a][b] = d;
	return 0;
}

static bool libnuma_node_ok(int node)
{
	if (numa_available() < 0)
		return node == 0;       /* a host without NUMA support is one node */
	return node <= numa_max_node() && numa_bitmask_isbitset(numa_all_nodes_ptr, node);
}

unsigned int numa_cpu_node(const struct numa_config *c, unsigned int cpu)
{
	for (unsigned int i = 0; i < c->nr_nodes; i++)
		for (unsigned int r = 0; r < c->nodes[i].nr_ranges; r++)
			if (cpu >= c->nodes[i].cpus[r].first && cpu <= c->nodes[i].cpus[r].last)
				return i;
	return 0;
}

int numa_validate(struct numa_config *c, unsigned int ncpus, uint64_t mem_size,
		  uint64_t page_size, bool (*host_node_ok)(int node), char *err, size_t errlen)
{
	uint64_t total = 0;
	char a[32], b[32];

	if (!c->nr_nodes) {
		for (unsigned int i = 0; i < NUMA_MAX_NODES; i++)
			for (unsigned int j = 0; j < NUMA_MAX_NODES; j++)
				if (c->dist[i][j]) {
					snprintf(err, errlen, "--numa-distance needs --numa nodes");
					return -EINVAL;
				}
		if (c->cpu_affinity) {
			snprintf(err, errlen, "--cpu-affinity needs --numa nodes with host-node=");
			return -EINVAL;
		}
		return 0;
	}
	if (!host_node_ok)
		host_node_ok = libnuma_node_ok;
	for (unsigned int i = 0; i < c->nr_nodes; i++) {
		struct numa_node *n = &c->nodes[i];

		if (!n->defined) {
			snprintf(err, errlen, "--numa: node %u is missing: number the nodes 0 to %u",
				 i, c->nr_nodes - 1);
			return -EINVAL;
		}
		if (n->mem % page_size) {
			snprintf(err, errlen, "--numa: node %u's memory=%s is not a multiple of the %s "
				 "page size", i, fmt_size(n->mem, a, sizeof(a)),
				 fmt_size(page_size, b, sizeof(b)));
			return -EINVAL;
		}
		if (n->host_node >= 0 && !host_node_ok(n->host_node)) {
			snprintf(err, errlen, "--numa: node %u: host-node=%d does not exist on this host "
				 "(see /sys/devices/system/node)", i, n->host_node);
			return -EINVAL;
		}
		for (unsigned int r = 0; r < n->nr_ranges; r++)
			if (n->cpus[r].last >= ncpus) {
				snprintf(err, errlen, "--numa: node %u lists vCPU %u but there are only %u "
					 "(--cpus)", i, n->cpus[r].last, ncpus);
				return -EINVAL;
			}
		total += n->mem;
	}
	for (unsigned int cpu = 0; cpu < ncpus; cpu++) {
		int owner = -1;

		for (unsigned int i = 0; i < c->nr_nodes; i++)
			for (unsigned int r = 0; r < c->nodes[i].nr_ranges; r++) {
				if (cpu < c->nodes[i].cpus[r].first || cpu > c->nodes[i].cpus[r].last)
					continue;
				if (owner >= 0 && owner != (int)i) {
					snprintf(err, errlen, "--numa: vCPU %u is in nodes %d and %u: put each "
						 "vCPU in exactly one node", cpu, owner, i);
					return -EINVAL;
				}
				owner = i;
			}
		if (owner < 0) {
			snprintf(err, errlen, "--numa: vCPU %u is in no node: put each vCPU in exactly "
				 "one node", cpu);
			return -EINVAL;
		}
	}
	if (total != mem_size) {
		snprintf(err, errlen, "--numa: the nodes' memory adds up to %s, not --memory %s",
			 fmt_size(total, a, sizeof(a)), fmt_size(mem_size, b, sizeof(b)));
		return -EINVAL;
	}
	if (c->cpu_affinity) {
		for (unsigned int i = 0; i < c->nr_nodes; i++)
			if (c->nodes[i].host_node < 0) {
				snprintf(err, errlen, "--cpu-affinity: node %u has no host-node= to pin "
					 "its vCPUs to", i);
				return -EINVAL;
			}
	}
	for (unsigned int i = 0; i < NUMA_MAX_NODES; i++)
		for (unsigned int j = 0; j < NUMA_MAX_NODES; j++) {
			if (c->dist[i][j] && (i >= c->nr_nodes || j >= c->nr_nodes)) {
				snprintf(err, errlen, "--numa-distance %u:%u: no node %u", i, j,
					 i >= c->nr_nodes ? i : j);
				return -EINVAL;
			}
		}
	for (unsigned int i = 0; i < c->nr_nodes; i++)
		for (unsigned int j = 0; j < c->nr_nodes; j++)
			if (!c->dist[i][j])
				c->dist[i][j] = i == j ? NUMA_LOCAL_DISTANCE :
						c->dist[j][i] ? c->dist[j][i] : NUMA_REMOTE_DISTANCE;
	return 0;
}

unsigned int numa_mem_ranges(const struct numa_config *c, const struct guest_mem *gm,
			     struct numa_mem_range *out, unsigned int max)
{
	unsigned int n = 0, node = 0, r = 0;
	uint64_t node_left, reg_off = 0;

	if (!c->nr_nodes)
		return 0;
	node_left = c->nodes[0].mem;
	while (node < c->nr_nodes && r < gm->nr) {
		const struct mem_region *reg = &gm->regions[r];
		uint64_t take;

		if (!node_left) {
			if (++node < c->nr_nodes)
				node_left = c->nodes[node].mem;
			continue;
		}
		if (reg_off == reg->size) {
			r++;
			reg_off = 0;
			continue;
		}
		take = MIN(node_left, reg->size - reg_off);
		if (n == max)
			break;
		out[n++] = (struct numa_mem_range){ node, reg->gpa + reg_off, take };
		reg_off += take;
		node_left -= take;
	}
	return n;
}
