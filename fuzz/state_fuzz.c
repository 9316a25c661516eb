// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target for the VM state format (src/state/format.c,
 * src/state/blob.c) and the "config" section reader (src/vm_config_state.c):
 * what a snapshot's state file or the start of a migration stream (whoever
 * connects to `kite run --incoming`) hands to kite before anything else is
 * checked.
 *
 * Input layout:
 *   byte 0      mode: bit 0: fix the CRCs (header and every section whose
 *               length fits) so the fuzzer gets past them; bit 1: the rest is
 *               a "config" section's payload, wrapped here into a valid image
 *               (header, that section with version 1, CRCs)
 *   the rest    the state image (or, with bit 1, the config payload)
 * The image is parsed from a heap copy exactly as long as it, so
 * AddressSanitizer sees any read past it.
 *
 * Checked: every section of a parsed image lies inside the buffer, in order,
 * with a NUL-terminated id; state_find() finds what it lists.  A
 * configuration vm_state_config() accepts is one the command line could have
 * given: vCPUs, memory, profile, strings NUL-terminated, booleans 0 or 1,
 * and a NUMA topology numa_validate() accepts (the restore and --incoming
 * paths build the VM from it as if it had been validated); and it survives
 * save -> parse -> read unchanged.
 *
 * The booleans and the NUMA topology are the checks kite fails today (a
 * snapshot or stream whose config section holds a NUMA topology or a bool
 * the command line would refuse is taken as it is).  Set
 * STATE_FUZZ_LENIENT=1 to leave them out and fuzz past them.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "numa_topo.h"
#include "state/format.h"
#include "vm_state.h"

#define CHECK(cond, ...) do {                                                   \
	if (!(cond)) {                                                          \
		fprintf(stderr, "state_fuzz: check failed: %s (line %d): ", #cond,\
			__LINE__);                                              \
		fprintf(stderr, __VA_ARGS__);                                   \
		fputc('\n', stderr);                                            \
		abort();                                                        \
	}                                                                       \
} while (0)

/* A host with four NUMA nodes. */
static bool host_node_ok(int node)
{
	return node >= 0 && node < 4;
}

static void fix_crcs(uint8_t *buf, size_t len)
{
	struct state_header h;
	size_t off = sizeof(h);

	if (len < sizeof(h))
		return;
	memcpy(&h, buf, sizeof(h));
	h.crc = state_crc32(&h, offsetof(struct state_header, crc));
	memcpy(buf, &h, sizeof(h));
	for (uint32_t i = 0; i < h.nr_sections && len - off >= sizeof(struct state_section_header);
	     i++) {
		struct state_section_header sh;
		uLong c;

		memcpy(&sh, buf + off, sizeof(sh));
		if (sh.length > len - off - sizeof(sh))
			return;
		sh.crc = 0;
		c = crc32(0L, (const Bytef *)&sh, sizeof(sh));
		c = crc32(c, buf + off + sizeof(sh), (uInt)sh.length);
		sh.crc = c;
		memcpy(buf + off, &sh, sizeof(sh));
		off += sizeof(sh) + sh.length;
	}
}

/* A valid image around one config payload. */
static uint8_t *wrap_config(const uint8_t *p, size_t n, size_t *len)
{
	struct state_writer w;
	struct blob out;
	uint8_t *buf;

	state_writer_init(&w);
	state_add(&w, "config", 1, p, n);
	if (state_finish(&w, 0x1234, &out)) {
		state_writer_free(&w);
		blob_free(&out);
		return NULL;
	}
	state_writer_free(&w);
	*len = out.len;
	buf = malloc(out.len);
	if (buf)
		memcpy(buf, out.buf, out.len);
	blob_free(&out);
	return buf;
}

static bool byte_bool_ok(const void *p)
{
	uint8_t b;

	memcpy(&b, p, 1);       /* not a bool load: that would be the UB we look for */
	return b <= 1;
}

static bool lenient;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *e = getenv("STATE_FUZZ_LENIENT");

	(void)argc;
	(void)argv;
	lenient = e && *e && strcmp(e, "0");
	return 0;
}

static void check_config(const struct vm_config *c)
{
	char err[256];
	struct numa_config *numa;

	CHECK(c->ncpus >= 1 && c->ncpus <= 4096, "ncpus %u", c->ncpus);
	CHECK(c->cpu_profile == CPU_PROFILE_HOST || c->cpu_profile == CPU_PROFILE_COMPAT,
	      "profile %d", c->cpu_profile);
	CHECK(c->on_reboot == ON_REBOOT_EXIT || c->on_reboot == ON_REBOOT_RESTART, "on_reboot %d",
	      c->on_reboot);
	CHECK(c->mem_size >= (2 << 20) && c->mem_size <= MEM_MAX_SIZE && c->mem_size % 4096 == 0,
	      "mem %llu", (unsigned long long)c->mem_size);
	CHECK(byte_bool_ok(&c->rng) && byte_bool_ok(&c->virtio_console), "rng/console");
	CHECK(c->kernel != NULL, "no kernel");
	CHECK(c->nr_disks <= VM_MAX_VIRTIO && c->nr_nets <= VM_MAX_VIRTIO, "%u disks %u nets",
	      c->nr_disks, c->nr_nets);
	for (unsigned int i = 0; i < c->nr_disks; i++) {
		CHECK(memchr(c->disks[i].path, '\0', sizeof(c->disks[i].path)), "disk path");
		CHECK(memchr(c->disks[i].serial, '\0', sizeof(c->disks[i].serial)), "serial");
		CHECK(lenient || (byte_bool_ok(&c->disks[i].readonly) &&
				  byte_bool_ok(&c->disks[i].direct)),
		      "disk %u: a boolean (readonly/direct) that is neither 0 nor 1 was accepted", i);
	}
	for (unsigned int i = 0; i < c->nr_nets; i++) {
		CHECK(memchr(c->nets[i].tap, '\0', sizeof(c->nets[i].tap)), "tap name");
		CHECK(lenient || byte_bool_ok(&c->nets[i].has_mac),
		      "net %u: a boolean (has_mac) that is neither 0 nor 1 was accepted", i);
	}
	if (lenient)
		return;
	/* What the command line guarantees before numa_validate() runs. */
	CHECK(c->numa.nr_nodes <= NUMA_MAX_NODES, "%u nodes", c->numa.nr_nodes);
	CHECK(byte_bool_ok(&c->numa.cpu_affinity), "cpu_affinity is neither 0 nor 1");
	for (unsigned int i = 0; i < NUMA_MAX_NODES; i++) {
		CHECK(byte_bool_ok(&c->numa.nodes[i].defined), "node %u: defined is neither 0 nor 1", i);
		CHECK(c->numa.nodes[i].nr_ranges <= NUMA_MAX_RANGES,
		      "node %u: %u cpus= ranges accepted (at most %u fit): numa_cpu_node() and "
		      "numa_validate() read past the node", i, c->numa.nodes[i].nr_ranges,
		      NUMA_MAX_RANGES);
	}
	/* Its own allocation: ASan sees a read past it. */
	numa = malloc(sizeof(*numa));
	CHECK(numa != NULL, "malloc");
	memcpy(numa, &c->numa, sizeof(*numa));
	err[0] = '\0';
	CHECK(numa_validate(numa, c->ncpus, c->mem_size, 4096, host_node_ok, err, sizeof(err)) == 0,
	      "vm_state_config() accepted a NUMA topology that numa_validate() refuses (the "
	      "restored/incoming VM is built from it unchecked): %s", err);
	free(numa);
}

static bool str_eq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

/* save -> parse -> read gives the same configuration. */
static void round_trip(const struct vm_config *c)
{
	struct state_writer w;
	struct state_image img;
	struct vm_config d;
	struct blob out;
	char err[256];

	state_writer_init(&w);
	vm_state_save_config(c, &w);
	CHECK(state_finish(&w, 42, &out) == 0, "state_finish");
	state_writer_free(&w);
	CHECK(state_parse(out.buf, out.len, &img, err, sizeof(err)) == 0, "re-parse: %s", err);
	memset(&d, 0, sizeof(d));
	CHECK(vm_state_config(&img, &d, err, sizeof(err)) == 0, "re-read: %s", err);
	CHECK(d.ncpus == c->ncpus && d.cpu_profile == c->cpu_profile &&
	      d.on_reboot == c->on_reboot && d.mem_size == c->mem_size &&
	      d.nr_disks == c->nr_disks && d.nr_nets == c->nr_nets, "scalars differ");
	CHECK(!memcmp(&d.rng, &c->rng, 1) && !memcmp(&d.virtio_console, &c->virtio_console, 1),
	      "rng/console differ");
	CHECK(!memcmp(d.disks, c->disks, c->nr_disks * sizeof(*c->disks)), "disks differ");
	CHECK(!memcmp(d.nets, c->nets, c->nr_nets * sizeof(*c->nets)), "nets differ");
	CHECK(!memcmp(&d.numa, &c->numa, sizeof(d.numa)), "numa differs");
	CHECK(str_eq(d.kernel, c->kernel) && str_eq(d.initrd, c->initrd) &&
	      str_eq(d.cmdline, c->cmdline), "strings differ");
	vm_state_config_free(&d);
	state_image_free(&img);
	blob_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct state_image img;
	struct vm_config cfg;
	uint8_t *buf;
	size_t len;
	char err[256];
	int ret;

	if (size < 1)
		return 0;
	if (data[0] & 2) {
		buf = wrap_config(data + 1, size - 1, &len);
		if (!buf)
			return 0;
	} else {
		len = size - 1;
		buf = malloc(len ? len : 1);
		if (!buf)
			return 0;
		memcpy(buf, data + 1, len);
		if (data[0] & 1)
			fix_crcs(buf, len);
	}
	err[0] = '\0';
	ret = state_parse(buf, len, &img, err, sizeof(err));
	if (ret) {
		CHECK(err[0] && memchr(err, '\0', sizeof(err)), "no message for %d", ret);
		CHECK(img.sections == NULL && img.nr == 0, "a failed parse left sections");
		free(buf);
		return 0;
	}
	CHECK(img.nr == img.hdr.nr_sections, "%u of %u sections", img.nr, img.hdr.nr_sections);
	{
		const uint8_t *at = buf + sizeof(struct state_header);

		for (unsigned int i = 0; i < img.nr; i++) {
			const struct state_section *s = &img.sections[i];

			at += sizeof(struct state_section_header);
			CHECK(s->data == at && s->length <= (uint64_t)(buf + len - at),
			      "section %u out of place", i);
			CHECK(memchr(s->id, '\0', sizeof(s->id)), "id not terminated");
			CHECK(state_find(&img, s->id) != NULL, "state_find misses %s", s->id);
			at += s->length;
		}
		CHECK(at == buf + len, "bytes left over");
	}
	memset(&cfg, 0, sizeof(cfg));
	err[0] = '\0';
	ret = vm_state_config(&img, &cfg, err, sizeof(err));
	if (ret) {
		CHECK(err[0], "no message");
		CHECK(!cfg.disks && !cfg.nets && !cfg.kernel && !cfg.initrd && !cfg.cmdline,
		      "a refused configuration was (partly) taken");
	} else {
		check_config(&cfg);
		round_trip(&cfg);
		vm_state_config_free(&cfg);
	}
	state_image_free(&img);
	free(buf);
	return 0;
}
