// SPDX-License-Identifier: GPL-2.0-only
/* Guest RAM backends: anonymous, memfd, hugetlb, file; NUMA binding; prefault; usage. */
#include <errno.h>
#include <fcntl.h>
#include <linux/memfd.h>
#include <numaif.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mem_host.h"
#include "util.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

static const char *const backend_names[] = {
	[MEM_BACKEND_ANON] = "anon",
	[MEM_BACKEND_MEMFD] = "memfd",
	[MEM_BACKEND_HUGETLB] = "hugetlb",
	[MEM_BACKEND_FILE] = "file",
};

const char *mem_backend_name(enum mem_backend b)
{
	return b < ARRAY_SIZE(backend_names) ? backend_names[b] : "?";
}

int mem_parse_opts(const char *arg, struct mem_opts *o, char *err, size_t errlen)
{
	char buf[4200], *save = NULL, *tok;
	bool have_backend = false;
	uint64_t v, page;
	char sz[32];

	memset(o, 0, sizeof(*o));
	if (strlen(arg) >= sizeof(buf)) {
		snprintf(err, errlen, "--memory value is too long");
		return -EINVAL;
	}
	strcpy(buf, arg);
	tok = strtok_r(buf, ",", &save);
	if (!tok || parse_size(tok, &v)) {
		snprintf(err, errlen, "--memory '%s' is not a size: use e.g. 512M or 4G", tok ? tok : arg);
		return -EINVAL;
	}
	if (v == 0) {
		snprintf(err, errlen, "--memory must be more than 0");
		return -EINVAL;
	}
	if (v < 2 * MiB || v > MEM_MAX_SIZE) {
		snprintf(err, errlen, "--memory %s is out of range: use 2M to 32T", tok);
		return -EINVAL;
	}
	o->size = v;
	while ((tok = strtok_r(NULL, ",", &save))) {
		char *val = strchr(tok, '=');

		if (val)
			*val++ = '\0';
		if (!strcmp(tok, "prefault") && !val) {
			o->prefault = true;
		} else if (!strcmp(tok, "backend") && val) {
			unsigned int b;

			for (b = 0; b < ARRAY_SIZE(backend_names); b++)
				if (!strcmp(val, backend_names[b]))
					break;
			if (b == ARRAY_SIZE(backend_names)) {
				snprintf(err, errlen, "--memory: unknown backend '%s': use backend=anon, "
					 "memfd, hugetlb or file", val);
				return -EINVAL;
			}
			o->backend = b;
			have_backend = true;
		} else if (!strcmp(tok, "hugepages") && val) {
			if (parse_size(val, &v) || (v != 2 * MiB && v != GiB)) {
				snprintf(err, errlen, "--memory: hugepages=%s: use hugepages=2M or 1G", val);
				return -EINVAL;
			}
			o->hugepage_size = v;
		} else if (!strcmp(tok, "path") && val && *val) {
			snprintf(o->path, sizeof(o->path), "%s", val);
		} else {
			snprintf(err, errlen, "--memory: unknown option '%s%s%s': use SIZE[,backend=anon|"
				 "memfd|hugetlb|file][,hugepages=2M|1G][,prefault][,path=FILE]",
				 tok, val ? "=" : "", val ? val : "");
			return -EINVAL;
		}
	}
	if (o->hugepage_size && !have_backend)
		o->backend = MEM_BACKEND_HUGETLB;
	if (o->hugepage_size && o->backend != MEM_BACKEND_HUGETLB) {
		snprintf(err, errlen, "--memory: hugepages= goes with backend=hugetlb, not backend=%s",
			 backend_names[o->backend]);
		return -EINVAL;
	}
	if (o->backend == MEM_BACKEND_HUGETLB && !o->hugepage_size)
		o->hugepage_size = 2 * MiB;
	if (o->backend == MEM_BACKEND_FILE && !o->path[0]) {
		snprintf(err, errlen, "--memory: backend=file needs path=FILE");
		return -EINVAL;
	}
	if (o->backend != MEM_BACKEND_FILE && o->path[0]) {
		snprintf(err, errlen, "--memory: path= goes with backend=file");
		return -EINVAL;
	}
	page = o->backend == MEM_BACKEND_HUGETLB ? o->hugepage_size : 4 * KiB;
	if (o->size % page) {
		snprintf(err, errlen, "--memory %s is not a multiple of %s%s: round it to one",
			 fmt_size(o->size, sz, sizeof(sz)), page == 4 * KiB ? "4 KiB" :
			 page == GiB ? "1 GiB" : "2 MiB",
			 page == 4 * KiB ? "" : " (the huge page size)");
		return -EINVAL;
	}
	return 0;
}

/* free_hugepages and nr_hugepages of one size; -1 if the host has no such pages. */
static long hugepages_read(uint64_t size, const char *what)
{
	char path[128];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/kernel/mm/hugepages/hugepages-%llukB/%s",
		 (unsigned long long)(size / KiB), what);
	f = fopen(path, "re");
	if (!f)
		return -1;
	if (fscanf(f, "%ld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

static int hugetlb_check(const struct mem_opts *o, char *err, size_t errlen)
{
	long need = o->size / o->hugepage_size;
	long free_pages = hugepages_read(o->hugepage_size, "free_hugepages");
	long resv = hugepages_read(o->hugepage_size, "resv_hugepages");
	long nr = hugepages_read(o->hugepage_size, "nr_hugepages");
	const char *ps = o->hugepage_size == GiB ? "1 GiB" : "2 MiB";

	if (free_pages < 0) {
		snprintf(err, errlen, "this host has no %s huge pages (no hugetlbfs support for them): "
			 "use hugepages=2M or another backend", ps);
		return -EINVAL;
	}
	/* Pages other processes reserved (mapped, not yet touched) count as free but are not. */
	if (resv > 0 && resv <= free_pages)
		free_pages -= resv;
	if (free_pages < need) {
		snprintf(err, errlen, "--memory needs %ld free %s huge pages but the host has %ld free "
			 "(of %ld): reserve more, e.g. as root: echo %ld > /sys/kernel/mm/hugepages/"
			 "hugepages-%llukB/nr_hugepages", need, ps, free_pages, nr,
			 nr + need - free_pages, (unsigned long long)(o->hugepage_size / KiB));
		return -EINVAL;
	}
	return 0;
}

static int open_backing(const struct mem_opts *o, char *err, size_t errlen)
{
	struct stat st;
	char a[32], b[32];
	unsigned int flags = MFD_CLOEXEC;
	int fd;

	switch (o->backend) {
	case MEM_BACKEND_HUGETLB:
		flags |= MFD_HUGETLB | (o->hugepage_size == GiB ? MFD_HUGE_1GB : MFD_HUGE_2MB);
		/* fall through */
	case MEM_BACKEND_MEMFD:
		fd = memfd_create("kite-guest-ram", flags);
		if (fd < 0) {
			snprintf(err, errlen, "cannot create a %s for guest RAM: %s",
				 o->backend == MEM_BACKEND_HUGETLB ? "hugetlb memfd" : "memfd",
				 strerror(errno));
			return -errno;
		}
		if (ftruncate(fd, o->size) < 0) {
			int ret = -errno;

			snprintf(err, errlen, "cannot size guest RAM to %s: %s",
				 fmt_size(o->size, a, sizeof(a)), strerror(errno));
			close(fd);
			return ret;
		}
		return fd;
	case MEM_BACKEND_FILE:
		if (o->private_file) {
			fd = open(o->path, O_RDONLY | O_CLOEXEC);
			if (fd < 0 || fstat(fd, &st) < 0 || (uint64_t)st.st_size != o->size) {
				snprintf(err, errlen, "snapshot memory '%s' is missing or not %s: %s",
					 o->path, fmt_size(o->size, a, sizeof(a)),
					 fd < 0 ? strerror(errno) : "wrong size");
				if (fd >= 0)
					close(fd);
				return -EINVAL;
			}
			return fd;
		}
		fd = open(o->path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (fd < 0) {
			snprintf(err, errlen, "cannot create or open memory file '%s': %s", o->path,
				 strerror(errno));
			return -EINVAL;
		}
		if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
			snprintf(err, errlen, "memory file '%s' is not a regular file", o->path);
			close(fd);
			return -EINVAL;
		}
		if (st.st_size == 0 && ftruncate(fd, o->size) < 0) {
			snprintf(err, errlen, "cannot size memory file '%s' to %s: %s", o->path,
				 fmt_size(o->size, a, sizeof(a)), strerror(errno));
			close(fd);
			return -EINVAL;
		}
		if (st.st_size != 0 && (uint64_t)st.st_size < o->size) {
			snprintf(err, errlen, "memory file '%s' is %s, smaller than --memory %s: give "
				 "a new or empty file, or one at least that big", o->path,
				 fmt_size(st.st_size, a, sizeof(a)), fmt_size(o->size, b, sizeof(b)));
			close(fd);
			return -EINVAL;
		}
		return fd;
	default:
		return -1;
	}
}

int mem_create(struct guest_mem *gm, const struct mem_opts *o, char *err, size_t errlen)
{
	uint64_t page = o->backend == MEM_BACKEND_HUGETLB ? o->hugepage_size : 4 * KiB;
	uint64_t align = MAX(page, 2 * MiB), off = 0;
	uint8_t *resv, *map;
	int fd = -1, ret;

	ret = mem_layout(gm, o->size);
	if (ret) {
		snprintf(err, errlen, "--memory: bad size");
		return -EINVAL;
	}
	if (o->backend == MEM_BACKEND_HUGETLB) {
		ret = hugetlb_check(o, err, errlen);
		if (ret)
			return ret;
	}
	if (o->backend != MEM_BACKEND_ANON) {
		fd = open_backing(o, err, errlen);
		if (fd < 0)
			return fd;
	}
	/* Reserve address space, then map at an address aligned to the page size. */
	resv = mmap(NULL, o->size + align, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		    -1, 0);
	if (resv == MAP_FAILED) {
		ret = -errno;
		snprintf(err, errlen, "cannot reserve address space for guest RAM: %s", strerror(errno));
		goto fail;
	}
	map = (uint8_t *)(((uintptr_t)resv + align - 1) & ~(uintptr_t)(align - 1));
	if (map > resv)
		munmap(resv, map - resv);
	if (map + o->size < resv + o->size + align)
		munmap(map + o->size, resv + o->size + align - (map + o->size));
	if (mmap(map, o->size, PROT_READ | PROT_WRITE,
		 MAP_FIXED | (fd < 0 ? MAP_PRIVATE | MAP_ANONYMOUS :
			      o->private_file ? MAP_PRIVATE : MAP_SHARED), fd, 0) == MAP_FAILED) {
		ret = -errno;
		munmap(map, o->size);
		if (o->backend == MEM_BACKEND_HUGETLB)
			snprintf(err, errlen, "cannot map %s huge pages for guest RAM: %s (are they "
				 "still free?)", o->hugepage_size == GiB ? "1 GiB" : "2 MiB",
				 strerror(-ret));
		else
			snprintf(err, errlen, "cannot map guest RAM: %s", strerror(-ret));
		if (o->backend == MEM_BACKEND_HUGETLB)
			ret = -EINVAL;
		goto fail;
	}
	if (o->backend != MEM_BACKEND_HUGETLB)
		madvise(map, o->size, MADV_HUGEPAGE);     /* best effort */
	madvise(map, o->size, MADV_DONTDUMP);
	gm->map = map;
	gm->map_size = o->size;
	gm->page_size = page;
	gm->backend = o->backend;
	gm->fd = fd;
	for (unsigned int i = 0; i < gm->nr; i++) {
		gm->regions[i].hva = map + off;
		off += gm->regions[i].size;
	}
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	return ret;
}

/* The host range behind [gpa, gpa + len), which must lie in one region. */
static uint8_t *host_range(struct guest_mem *gm, gpa_t gpa, uint64_t len)
{
	return len ? mem_ptr(gm, gpa, len) : NULL;
}

int mem_bind_node(struct guest_mem *gm, gpa_t gpa, uint64_t len, int node)
{
	unsigned long mask[4] = { 0 };
	uint8_t *p = host_range(gm, gpa, len);

	if (!p || node < 0 || node >= (int)(8 * sizeof(mask)) || len % gm->page_size ||
	    (uintptr_t)p % gm->page_size)
		return -EINVAL;
	mask[node / (8 * sizeof(long))] = 1UL << (node % (8 * sizeof(long)));
	if (mbind(p, len, MPOL_BIND, mask, 8 * sizeof(mask) + 1, MPOL_MF_STRICT | MPOL_MF_MOVE))
		return -errno;
	return 0;
}

int mem_prefault(struct guest_mem *gm)
{
	if (madvise(gm->map, gm->map_size, MADV_POPULATE_WRITE) == 0)
		return 0;
	if (errno != EINVAL)
		return -errno;
	/* Kernels before 5.14: touch every page, keeping what a file holds. */
	for (uint64_t off = 0; off < gm->map_size; off += gm->page_size) {
		volatile uint8_t *b = (uint8_t *)gm->map + off;

		*b = *b;
	}
	return 0;
}

int mem_usage(const struct guest_mem *gm, struct mem_usage *u)
{
	uintptr_t lo = (uintptr_t)gm->map, hi = lo + gm->map_size;
	bool inside = false;
	char line[512];
	FILE *f;

	memset(u, 0, sizeof(*u));
	f = fopen("/proc/self/smaps", "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long a, b, kb;
		char key[64];

		if (sscanf(line, "%llx-%llx ", &a, &b) == 2 && strchr(line, '-') < strchr(line, ' ')) {
			inside = a >= lo && b <= hi;
			continue;
		}
		if (!inside || sscanf(line, "%63[^:]: %llu kB", key, &kb) != 2)
			continue;
		if (!strcmp(key, "Rss") || !strcmp(key, "Shared_Hugetlb") ||
		    !strcmp(key, "Private_Hugetlb"))
			u->populated += kb * KiB;
		if (!strcmp(key, "AnonHugePages") || !strcmp(key, "ShmemPmdMapped") ||
		    !strcmp(key, "FilePmdMapped") || !strcmp(key, "Shared_Hugetlb") ||
		    !strcmp(key, "Private_Hugetlb"))
			u->huge += kb * KiB;
	}
	fclose(f);
	return 0;
}
