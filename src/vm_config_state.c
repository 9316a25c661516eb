// SPDX-License-Identifier: GPL-2.0-only
/* The "config" state section: what it takes to rebuild the same VM elsewhere. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm_state.h"

#define CONFIG_VERSION 1

/* A bool read from bytes must be 0 or 1 before it is used as one. */
static bool byte_bool_ok(const bool *b)
{
	uint8_t v;

	memcpy(&v, b, 1);
	return v <= 1;
}

static bool bools_ok(const struct blk_opts *d, uint32_t nd, const struct net_opts *n, uint32_t nn,
		     const struct numa_config *numa)
{
	for (uint32_t i = 0; i < nd; i++)
		if (!byte_bool_ok(&d[i].readonly) || !byte_bool_ok(&d[i].direct))
			return false;
	for (uint32_t i = 0; i < nn; i++)
		if (!byte_bool_ok(&n[i].has_mac))
			return false;
	if (!byte_bool_ok(&numa->cpu_affinity))
		return false;
	for (unsigned int i = 0; i < NUMA_MAX_NODES; i++)
		if (!byte_bool_ok(&numa->nodes[i].defined) ||
		    numa->nodes[i].nr_ranges > NUMA_MAX_RANGES)
			return false;
	return true;
}

static void put_str(struct blob *b, const char *s)
{
	uint32_t n = s ? strlen(s) : UINT32_MAX;

	blob_put_u32(b, n);
	if (s)
		blob_put(b, s, n);
}

/* A string of at most 1 MiB, or NULL; *ok cleared on a malformed one. */
static char *get_str(struct blob_reader *r, bool *ok)
{
	uint32_t n;
	char *s;

	if (!blob_get_u32(r, &n) || (n != UINT32_MAX && n > (1u << 20))) {
		*ok = false;
		return NULL;
	}
	if (n == UINT32_MAX)
		return NULL;
	s = calloc(1, n + 1);
	if (!s || !blob_get(r, s, n) || strlen(s) != n) {
		free(s);
		*ok = false;
		return NULL;
	}
	return s;
}

void vm_state_save_config(const struct vm_config *c, struct state_writer *w)
{
	struct blob b;

	blob_init(&b);
	blob_put_u32(&b, c->ncpus);
	blob_put_u32(&b, c->cpu_profile);
	blob_put_u32(&b, c->on_reboot);
	blob_put_u64(&b, c->mem_size);
	blob_put_u32(&b, c->rng);
	blob_put_u32(&b, c->virtio_console);
	blob_put_u32(&b, c->balloon);
	blob_put_u32(&b, sizeof(struct blk_opts));
	blob_put_u32(&b, c->nr_disks);
	blob_put(&b, c->disks, c->nr_disks * sizeof(struct blk_opts));
	blob_put_u32(&b, sizeof(struct net_opts));
	blob_put_u32(&b, c->nr_nets);
	blob_put(&b, c->nets, c->nr_nets * sizeof(struct net_opts));
	blob_put_u32(&b, sizeof(struct numa_config));
	blob_put(&b, &c->numa, sizeof(c->numa));
	/* What a reboot of the restored VM boots. */
	put_str(&b, c->kernel);
	put_str(&b, c->initrd);
	put_str(&b, c->cmdline);
	state_add(w, "config", CONFIG_VERSION, b.buf, b.len);
	blob_free(&b);
}

int vm_state_config(const struct state_image *img, struct vm_config *cfg, char *err,
		    size_t errlen)
{
	const struct state_section *s = state_find(img, "config");
	struct blob_reader r;
	uint32_t ncpus, profile, reboot, rng, vcon, balloon, dsz, nd, nsz, nn, numasz;
	struct blk_opts *disks = NULL;
	struct net_opts *nets = NULL;
	char *kernel = NULL, *initrd = NULL, *cmdline = NULL;
	bool ok = true;
	uint64_t mem;

	if (!s || s->version != CONFIG_VERSION) {
		snprintf(err, errlen, "no configuration section (version %u) in the state",
			 CONFIG_VERSION);
		return -EINVAL;
	}
	blob_reader_init(&r, s->data, s->length);
	if (!blob_get_u32(&r, &ncpus) || !blob_get_u32(&r, &profile) ||
	    !blob_get_u32(&r, &reboot) || !blob_get_u64(&r, &mem) || !blob_get_u32(&r, &rng) ||
	    !blob_get_u32(&r, &vcon) || !blob_get_u32(&r, &balloon) || !blob_get_u32(&r, &dsz) ||
	    dsz != sizeof(*disks) ||
	    !blob_get_u32(&r, &nd) || nd > VM_MAX_VIRTIO)
		goto bad;
	disks = calloc(nd + 1, sizeof(*disks));
	if (!disks || !blob_get(&r, disks, nd * sizeof(*disks)) || !blob_get_u32(&r, &nsz) ||
	    nsz != sizeof(*nets) || !blob_get_u32(&r, &nn) || nn > VM_MAX_VIRTIO)
		goto bad;
	nets = calloc(nn + 1, sizeof(*nets));
	if (!nets || !blob_get(&r, nets, nn * sizeof(*nets)) || !blob_get_u32(&r, &numasz) ||
	    numasz != sizeof(cfg->numa) || !blob_get(&r, &cfg->numa, sizeof(cfg->numa)))
		goto bad;
	kernel = get_str(&r, &ok);
	initrd = get_str(&r, &ok);
	cmdline = get_str(&r, &ok);
	if (!ok || !kernel || !blob_done(&r))
		goto bad;
	if (!ncpus || ncpus > 4096 || profile > CPU_PROFILE_COMPAT || profile == CPU_PROFILE_AUTO ||
	    reboot > ON_REBOOT_RESTART ||
	    mem < 2 * 1024 * 1024 || mem > MEM_MAX_SIZE || mem % 4096 || rng > 1 || vcon > 1 ||
	    balloon > 1 ||
	    cfg->numa.nr_nodes > NUMA_MAX_NODES || !bools_ok(disks, nd, nets, nn, &cfg->numa))
		goto bad;
	{
		char why[256];

		/* The same checks as --numa on the command line (host nodes included). */
		if (numa_validate(&cfg->numa, ncpus, mem, 4096, NULL, why, sizeof(why))) {
			free(disks);
			free(nets);
			free(kernel);
			free(initrd);
			free(cmdline);
			snprintf(err, errlen, "the NUMA topology in the state does not fit: %s", why);
			return -EINVAL;
		}
	}
	for (uint32_t i = 0; i < nd; i++) {
		disks[i].path[sizeof(disks[i].path) - 1] = '\0';
		disks[i].serial[sizeof(disks[i].serial) - 1] = '\0';
	}
	for (uint32_t i = 0; i < nn; i++)
		nets[i].tap[sizeof(nets[i].tap) - 1] = '\0';
	cfg->ncpus = ncpus;
	cfg->cpu_profile = profile;
	cfg->on_reboot = reboot;
	cfg->mem_size = mem;
	cfg->rng = rng;
	cfg->virtio_console = vcon;
	cfg->balloon = balloon;
	cfg->disks = disks;
	cfg->nr_disks = nd;
	cfg->nets = nets;
	cfg->nr_nets = nn;
	cfg->kernel = kernel;
	cfg->initrd = initrd;
	cfg->cmdline = cmdline;
	return 0;
bad:
	free(disks);
	free(nets);
	free(kernel);
	free(initrd);
	free(cmdline);
	snprintf(err, errlen, "malformed configuration section");
	return -EINVAL;
}

void vm_state_config_free(struct vm_config *cfg)
{
	free((void *)cfg->disks);
	free((void *)cfg->nets);
	free((void *)cfg->kernel);
	free((void *)cfg->initrd);
	free((void *)cfg->cmdline);
	cfg->disks = NULL;
	cfg->nets = NULL;
	cfg->kernel = cfg->initrd = cfg->cmdline = NULL;
}

