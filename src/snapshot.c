// SPDX-License-Identifier: GPL-2.0-only
/* Snapshot directories: the state file and the sparse memory file, written atomically. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arch/x86/vcpu_state.h"
#include "log.h"
#include "snapshot.h"
#include "util.h"
#include "vm_state.h"

#define PAGE 4096

static int write_all(int fd, const void *p, size_t n, off_t off)
{
	while (n) {
		ssize_t w = pwrite(fd, p, n, off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		p = (const uint8_t *)p + w;
		n -= w;
		off += w;
	}
	return 0;
}

/* Guest RAM, region after region, skipping all-zero pages (holes). */
static int write_memory(const struct guest_mem *gm, int fd)
{
	off_t off = 0;
	int ret;

	for (unsigned int r = 0; r < gm->nr; r++) {
		const uint8_t *p = gm->regions[r].hva;
		uint64_t size = gm->regions[r].size, i = 0;

		while (i < size) {
			uint64_t start;

			while (i < size && mem_page_is_zero(p + i))
				i += PAGE;
			start = i;
			while (i < size && !mem_page_is_zero(p + i) && i - start < (64ULL << 20))
				i += PAGE;
			if (i > start) {
				ret = write_all(fd, p + start, i - start, off + start);
				if (ret)
					return ret;
			}
		}
		off += size;
	}
	return ftruncate(fd, off) < 0 ? -errno : 0;
}

static int write_file(const char *dir, const char *name, const void *data, size_t len,
		      const struct guest_mem *gm)
{
	char path[PATH_MAX];
	int fd, ret;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	ret = gm ? write_memory(gm, fd) : write_all(fd, data, len, 0);
	if (!ret && fsync(fd) < 0)
		ret = -errno;
	if (close(fd) < 0 && !ret)
		ret = -errno;
	return ret;
}

static void remove_dir(const char *dir)
{
	char path[PATH_MAX];
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

static int fsync_parent(const char *dir)
{
	char parent[PATH_MAX], *slash;
	int fd, ret = 0;

	snprintf(parent, sizeof(parent), "%s", dir);
	slash = strrchr(parent, '/');
	if (slash == parent)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	else
		strcpy(parent, ".");
	fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

int vm_snapshot(struct vm *vm, const char *dir, char *err, size_t errlen)
{
	bool was_paused = vm->paused;
	struct state_writer w;
	struct blob image;
	char tmp[PATH_MAX];
	struct stat st;
	size_t dlen = strlen(dir);
	int ret;

	err[0] = '\0';
	while (dlen > 1 && dir[dlen - 1] == '/')
		dlen--;
	if (!dlen || dlen + 32 >= sizeof(tmp)) {
		snprintf(err, errlen, "snapshot directory '%s' is not a usable path", dir);
		return -EINVAL;
	}
	if (stat(dir, &st) == 0 && !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "'%s' exists and is not a directory", dir);
		return -EINVAL;
	}
	snprintf(tmp, sizeof(tmp), "%.*s.tmp-%d", (int)dlen, dir, (int)getpid());
	remove_dir(tmp);                                /* a leftover of ours */
	if (mkdir(tmp, 0700) < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot create '%s': %s", tmp, strerror(errno));
		return ret;
	}
	ret = vm_pause(vm);
	if (ret) {
		snprintf(err, errlen, "cannot pause the VM: %s", strerror(-ret));
		remove_dir(tmp);
		return ret;
	}
	state_writer_init(&w);
	blob_init(&image);
	ret = vm_state_save(vm, &w, err, errlen);
	ret = ret ?: state_finish(&w, x86_cpuid_fingerprint(vm->kvm), &image);
	if (!ret) {
		ret = write_file(tmp, "state", image.buf, image.len, NULL);
		ret = ret ?: write_file(tmp, "memory", NULL, 0, &vm->mem);
		if (ret)
			snprintf(err, errlen, "cannot write the snapshot in '%s': %s", tmp,
				 strerror(-ret));
	}
	state_writer_free(&w);
	blob_free(&image);
	if (!was_paused)
		vm_resume(vm);
	if (ret) {
		remove_dir(tmp);
		return ret;
	}
	/* Into place: swap with an existing snapshot (atomic), else a plain rename. */
	char final[PATH_MAX];

	snprintf(final, sizeof(final), "%.*s", (int)dlen, dir);
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, final, RENAME_EXCHANGE) == 0) {
		remove_dir(tmp);                        /* the previous snapshot */
	} else if (rename(tmp, final) < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot move the snapshot into '%s': %s", final,
			 strerror(errno));
		remove_dir(tmp);
		return ret;
	}
	fsync_parent(final);
	return 0;
}

int snapshot_load_state(const char *dir, uint8_t **buf, size_t *len, struct state_image *img,
			char *err, size_t errlen)
{
	char path[PATH_MAX], why[256];
	struct stat st;
	uint8_t *b;
	int fd, ret;

	snprintf(path, sizeof(path), "%s/state", dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open snapshot state '%s': %s", path, strerror(errno));
		return -EINVAL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > (256 << 20)) {
		snprintf(err, errlen, "snapshot state '%s' is not a regular file of sane size", path);
		close(fd);
		return -EINVAL;
	}
	b = malloc(st.st_size ? st.st_size : 1);
	if (!b) {
		close(fd);
		return -ENOMEM;
	}
	for (off_t off = 0; off < st.st_size;) {
		ssize_t n = pread(fd, b + off, st.st_size - off, off);

		if (n <= 0) {
			snprintf(err, errlen, "cannot read '%s': %s", path,
				 n < 0 ? strerror(errno) : "short read");
			free(b);
			close(fd);
			return -EINVAL;
		}
		off += n;
	}
	close(fd);
	ret = state_parse(b, st.st_size, img, why, sizeof(why));
	if (ret) {
		snprintf(err, errlen, "snapshot '%s' is unusable: %s", dir, why);
		free(b);
		return -EINVAL;
	}
	*buf = b;
	*len = st.st_size;
	return 0;
}
