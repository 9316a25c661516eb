// SPDX-License-Identifier: GPL-2.0-only
/* virtio-blk: requests from a fake driver in fake guest memory to a temp image. */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "evloop.h"
#include "log.h"
#include "util.h"
#include "virtio/blk.h"
#include "virtio/virtio.h"

#include "fake_guest.h"

#define IMG_SIZE    (1 * MiB)
#define IMG_SECTORS (IMG_SIZE / 512)
#define QSIZE       256
#define DESC        0x10000ULL
#define AVAIL       0x20000ULL
#define USED        0x30000ULL
#define HEAP        0x100000ULL     /* headers, data, status bytes */
#define SERIAL      "ABCDEFGHIJKLMNOPQRST"

#define W VIRTQ_DESC_F_WRITE

struct fix {
	struct fake *g;
	struct evloop ev;
	struct virtio_env env;
	struct virtio_dev *vd;
	char path[64];
	unsigned int notifies;
	unsigned int config_notifies;
	uint16_t avail_idx;
	uint16_t next_desc;
	gpa_t heap;
};

/* ---- the transport's side ---- */

static void fake_notify_queue(void *ctx, unsigned int q)
{
	struct fix *f = ctx;

	(void)q;
	f->notifies++;
	evloop_stop(&f->ev);
}

static void fake_notify_config(void *ctx)
{
	struct fix *f = ctx;

	f->config_notifies++;
	evloop_stop(&f->ev);
}

static const struct virtio_transport_ops fake_transport = {
	.notify_queue = fake_notify_queue,
	.notify_config = fake_notify_config,
};

static void *gp(struct fix *f, gpa_t gpa, uint64_t len)
{
	void *p = mem_ptr(&f->g->gm, gpa, len);

	assert_non_null(p);
	return p;
}

/* The driver sets the queue up and DRIVER_OK, as virtio-pci would. */
static void driver_ok(struct fix *f)
{
	struct virtio_dev *vd = f->vd;

	memset(gp(f, DESC, USED - DESC + VIRTQ_USED_BYTES(QSIZE)), 0,
	       USED - DESC + VIRTQ_USED_BYTES(QSIZE));
	virtio_dev_lock(vd);
	vd->features = vd->host_features;
	assert_int_equal(virtq_configure(&vd->vqs[0], QSIZE, DESC, AVAIL, USED, false), 0);
	vd->status = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
		     VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK;
	virtio_dev_unlock(vd);
	f->avail_idx = 0;
	f->next_desc = 0;
}

static void make_image(struct fix *f, uint64_t size)
{
	uint8_t buf[4096];
	int fd;

	strcpy(f->path, "/tmp/kite-blk-XXXXXX");
	fd = mkstemp(f->path);
	assert_true(fd >= 0);
	for (uint64_t off = 0; off < size; off += sizeof(buf)) {
		for (unsigned int i = 0; i < sizeof(buf); i++)
			buf[i] = (uint8_t)((off + i) / 512 + 1);        /* sector number + 1 */
		assert_int_equal(pwrite(fd, buf, MIN(sizeof(buf), size - off), off),
				 MIN(sizeof(buf), size - off));
	}
	close(fd);
}

static int create(struct fix *f, const char *extra, unsigned int nr_vcpus)
{
	struct blk_opts o;
	char arg[128], err[256];
	int ret;

	snprintf(arg, sizeof(arg), "%s%s", f->path, extra);
	assert_int_equal(blk_parse_opts(arg, &o, err, sizeof(err)), 0);
	f->env.nr_vcpus = nr_vcpus;
	ret = virtio_blk_create(&f->vd, &o, &f->env, 0);
	if (ret)
		return ret;
	f->vd->t_ops = &fake_transport;
	f->vd->t_ctx = f;
	driver_ok(f);
	return 0;
}

static int setup_with(void **state, const char *extra)
{
	struct fix *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	alarm(60);              /* a lost completion must not hang the suite */
	f->g = layout_guest(GUEST_SIZE);
	assert_int_equal(evloop_init(&f->ev), 0);
	f->env = (struct virtio_env){ .mem = &f->g->gm, .io = &f->ev, .nr_vcpus = 1 };
	f->heap = HEAP;
	make_image(f, IMG_SIZE);
	assert_int_equal(create(f, extra, 1), 0);
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return setup_with(state, ",serial=" SERIAL);
}

static int setup_direct(void **state)
{
	return setup_with(state, ",cache=none");
}

static int setup_ro(void **state)
{
	return setup_with(state, ",readonly");
}

static int teardown(void **state)
{
	struct fix *f = *state;

	if (f->vd)
		f->vd->ops->destroy(f->vd);
	evloop_destroy(&f->ev);
	unlink(f->path);
	free_guest(f->g);
	free(f);
	alarm(0);
	return 0;
}

/* ---- the driver's side ---- */

static gpa_t galloc(struct fix *f, uint64_t len)
{
	gpa_t gpa = f->heap;

	f->heap = ALIGN_UP(f->heap + len + 1, 4096);
	assert_true(f->heap < GUEST_SIZE);
	memset(gp(f, gpa, f->heap - gpa), 0xEE, f->heap - gpa);
	return gpa;
}

struct tdesc {
	gpa_t addr;
	uint32_t len;
	uint16_t flags;
};

/* Lay out a chain in the descriptor table and make it available. */
static uint16_t publish(struct fix *f, const struct tdesc *d, unsigned int n)
{
	uint16_t head = f->next_desc;
	uint16_t *avail = gp(f, AVAIL, VIRTQ_AVAIL_BYTES(QSIZE));

	for (unsigned int i = 0; i < n; i++) {
		uint16_t id = (head + i) % QSIZE;
		struct virtq_desc v = {
			htole64(d[i].addr), htole32(d[i].len),
			htole16(d[i].flags | (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0)),
			htole16((id + 1) % QSIZE),
		};

		memcpy(gp(f, DESC + 16ULL * id, 16), &v, 16);
	}
	f->next_desc = (head + n) % QSIZE;
	avail[2 + f->avail_idx % QSIZE] = htole16(head);
	f->avail_idx++;
	__atomic_store_n(&avail[1], htole16(f->avail_idx), __ATOMIC_RELEASE);
	return head;
}

static void kick(struct fix *f)
{
	virtio_dev_lock(f->vd);
	f->vd->ops->queue_notify(f->vd, 0);
	virtio_dev_unlock(f->vd);
}

static uint16_t used_idx(struct fix *f)
{
	struct virtq_used *u = gp(f, USED, VIRTQ_USED_BYTES(QSIZE));

	return le16toh(__atomic_load_n(&u->idx, __ATOMIC_ACQUIRE));
}

static struct virtq_used_elem used_elem(struct fix *f, uint16_t i)
{
	struct virtq_used *u = gp(f, USED, VIRTQ_USED_BYTES(QSIZE));

	return (struct virtq_used_elem){ le32toh(u->ring[i % QSIZE].id),
					 le32toh(u->ring[i % QSIZE].len) };
}

/* Run the I/O loop until the used ring reaches `target`. */
static void wait_used(struct fix *f, uint16_t target)
{
	while ((int16_t)(used_idx(f) - target) < 0) {
		f->ev.stop = false;
		assert_int_equal(evloop_run(&f->ev), 0);
	}
}

struct req {
	gpa_t hdr, data, status;
	uint16_t head;
};

/* A request: header, one data buffer (device-writable for IN), status. */
static void build(struct fix *f, struct req *r, uint32_t type, uint64_t sector, uint32_t len,
		  bool data_writable)
{
	struct virtio_blk_outhdr h = { htole32(type), 0, htole64(sector) };
	struct tdesc d[3];
	unsigned int n = 0;

	r->hdr = galloc(f, sizeof(h));
	memcpy(gp(f, r->hdr, sizeof(h)), &h, sizeof(h));
	r->data = galloc(f, len);
	r->status = galloc(f, 1);
	d[n++] = (struct tdesc){ r->hdr, sizeof(h), 0 };
	if (len)
		d[n++] = (struct tdesc){ r->data, len, data_writable ? W : 0 };
	d[n++] = (struct tdesc){ r->status, 1, W };
	r->head = publish(f, d, n);
}

static uint8_t status_of(struct fix *f, const struct req *r)
{
	return *(uint8_t *)gp(f, r->status, 1);
}

/* Submit one request and wait for its answer; returns the status byte. */
static uint8_t run(struct fix *f, struct req *r, uint32_t type, uint64_t sector, uint32_t len,
		   bool data_writable)
{
	uint16_t before = used_idx(f);

	build(f, r, type, sector, len, data_writable);
	kick(f);
	wait_used(f, before + 1);
	assert_int_equal(used_elem(f, before).id, r->head);
	return status_of(f, r);
}

static void file_read(struct fix *f, uint64_t off, void *buf, size_t len)
{
	int fd = open(f->path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, buf, len, off), len);
	close(fd);
}

static bool all_bytes(const uint8_t *p, size_t len, uint8_t v)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != v)
			return false;
	return true;
}

/* ---- options ---- */

static void expect_bad_opts(const char *arg, const char *needle)
{
	struct blk_opts o;
	char err[256] = "";

	assert_int_equal(blk_parse_opts(arg, &o, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, needle));
	assert_null(strchr(err, '\n'));
}

static void test_parse_opts(void **state)
{
	struct blk_opts o;
	char err[256];

	(void)state;
	assert_int_equal(blk_parse_opts("disk.img", &o, err, sizeof(err)), 0);
	assert_string_equal(o.path, "disk.img");
	assert_false(o.readonly);
	assert_false(o.direct);
	assert_string_equal(o.serial, "");
	assert_int_equal(blk_parse_opts("/a/b.raw,readonly,cache=none,serial=" SERIAL, &o,
					err, sizeof(err)), 0);
	assert_string_equal(o.path, "/a/b.raw");
	assert_true(o.readonly);
	assert_true(o.direct);
	assert_string_equal(o.serial, SERIAL);
	assert_int_equal(blk_parse_opts("x,cache=none,cache=writeback", &o, err, sizeof(err)), 0);
	assert_false(o.direct);

	expect_bad_opts("", "needs a path");
	expect_bad_opts(",readonly", "needs a path");
	expect_bad_opts("x,serial=" SERIAL "U", "1 to 20 bytes");
	expect_bad_opts("x,serial=", "1 to 20 bytes");
	expect_bad_opts("x,serial=a b", "printable");
	expect_bad_opts("x,cache=directsync", "cache=none or cache=writeback");
	expect_bad_opts("x,ro", "unknown option 'ro'");
	expect_bad_opts("x,,readonly", "empty option");
	expect_bad_opts("x,", "empty option");
	expect_bad_opts("x,readonlyy", "unknown option");
}

/* ---- creation ---- */

static void test_features_and_config(void **state)
{
	struct fix *f = *state;
	struct virtio_dev *vd = f->vd;
	struct virtio_blk_config c;

	assert_string_equal(vd->name, "virtio-blk0");
	assert_int_equal(vd->device_id, VIRTIO_ID_BLOCK);
	assert_int_equal(vd->nr_queues, 1);
	assert_int_equal(vd->config_size, 60);
	assert_true(vd->host_features & VIRTIO_BIT(VIRTIO_BLK_F_FLUSH));
	assert_true(vd->host_features & VIRTIO_BIT(VIRTIO_BLK_F_DISCARD));
	assert_true(vd->host_features & VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES));
	assert_true(vd->host_features & VIRTIO_BIT(VIRTIO_BLK_F_MQ));
	assert_true(vd->host_features & VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX));
	assert_true(vd->host_features & VIRTIO_BIT(VIRTIO_BLK_F_BLK_SIZE));
	assert_false(vd->host_features & VIRTIO_BIT(VIRTIO_BLK_F_RO));
	assert_true(vd->host_features & VIRTIO_BIT(VIRTIO_F_VERSION_1));

	/* Every access the transport lets through (inside config_size) works. */
	memset(&c, 0, sizeof(c));
	for (uint32_t off = 0; off < vd->config_size; off++)
		vd->ops->config_read(vd, off, (uint8_t *)&c + off, 1);
	assert_int_equal(le64toh(c.capacity), IMG_SECTORS);
	assert_int_equal(le32toh(c.seg_max), QSIZE - 2);
	assert_int_equal(le32toh(c.blk_size), 512);
	assert_int_equal(le16toh(c.num_queues), 1);
	assert_true(le32toh(c.max_discard_sectors) > 0);
	assert_true(le32toh(c.max_discard_seg) > 0);
	assert_true(le32toh(c.max_write_zeroes_sectors) > 0);
	assert_true(le32toh(c.max_write_zeroes_seg) > 0);
	assert_int_equal(c.write_zeroes_may_unmap, 1);
	for (uint32_t len = 1; len <= 8; len *= 2) {
		for (uint32_t off = 0; off + len <= vd->config_size; off++) {
			uint8_t buf[8];

			vd->ops->config_read(vd, off, buf, len);
			assert_memory_equal(buf, (uint8_t *)&c + off, len);
		}
	}
}

static void test_mq(void **state)
{
	struct fix *f = *state;
	struct virtio_blk_config c;

	f->vd->ops->destroy(f->vd);
	f->vd = NULL;
	assert_int_equal(create(f, "", 4), 0);
	assert_int_equal(f->vd->nr_queues, 4);
	f->vd->ops->config_read(f->vd, offsetof(struct virtio_blk_config, num_queues),
				&c.num_queues, 2);
	assert_int_equal(le16toh(c.num_queues), 4);
	f->vd->ops->destroy(f->vd);
	f->vd = NULL;
	assert_int_equal(create(f, "", 200), 0);
	assert_int_equal(f->vd->nr_queues, BLK_MAX_QUEUES);
}

static void test_bad_images(void **state)
{
	struct fix *f = *state;
	struct virtio_dev *vd;
	struct blk_opts o = { 0 };
	int fd;

	strcpy(o.path, "/tmp/kite-blk-does-not-exist.img");
	assert_int_equal(virtio_blk_create(&vd, &o, &f->env, 1), -EINVAL);
	strcpy(o.path, "/tmp");
	assert_int_equal(virtio_blk_create(&vd, &o, &f->env, 1), -EINVAL);
	o.readonly = true;
	assert_int_equal(virtio_blk_create(&vd, &o, &f->env, 1), -EINVAL);
	strcpy(o.path, "/dev/null");
	assert_int_equal(virtio_blk_create(&vd, &o, &f->env, 1), -EINVAL);
	/* Not a multiple of 512 bytes. */
	strcpy(o.path, "/tmp/kite-blk-odd-XXXXXX");
	fd = mkstemp(o.path);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 1000), 0);
	close(fd);
	assert_int_equal(virtio_blk_create(&vd, &o, &f->env, 1), -EINVAL);
	unlink(o.path);
}

static void test_locked(void **state)
{
	struct fix *f = *state;
	struct virtio_dev *vd;
	struct blk_opts o = { 0 };

	strcpy(o.path, f->path);
	/* The fixture's device holds a write lock: no one else may open it. */
	assert_int_equal(virtio_blk_create(&vd, &o, &f->env, 1), -EINVAL);
	o.readonly = true;
	assert_int_equal(virtio_blk_create(&vd, &o, &f->env, 1), -EINVAL);
	/* Read-only users share it. */
	f->vd->ops->destroy(f->vd);
	f->vd = NULL;
	assert_int_equal(create(f, ",readonly", 1), 0);
	assert_int_equal(virtio_blk_create(&vd, &o, &f->env, 1), 0);
	o.readonly = false;
	{
		struct virtio_dev *vd2;

		assert_int_equal(virtio_blk_create(&vd2, &o, &f->env, 2), -EINVAL);
	}
	virtio_blk_destroy(vd);
}

/* ---- requests ---- */

static void test_write_read(void **state)
{
	struct fix *f = *state;
	struct req w, r;
	uint8_t file[1024];

	build(f, &w, VIRTIO_BLK_T_OUT, 3, 1024, false);
	for (unsigned int i = 0; i < 1024; i++)
		((uint8_t *)gp(f, w.data, 1024))[i] = i * 7;
	kick(f);
	wait_used(f, 1);
	assert_int_equal(status_of(f, &w), VIRTIO_BLK_S_OK);
	assert_int_equal(used_elem(f, 0).len, 1);
	file_read(f, 3 * 512, file, sizeof(file));
	assert_memory_equal(file, gp(f, w.data, 1024), 1024);

	assert_int_equal(run(f, &r, VIRTIO_BLK_T_IN, 3, 1024, true), VIRTIO_BLK_S_OK);
	assert_memory_equal(gp(f, r.data, 1024), gp(f, w.data, 1024), 1024);
	assert_int_equal(used_elem(f, 1).len, 1025);
	/* The sectors around are untouched. */
	file_read(f, 2 * 512, file, 512);
	assert_true(all_bytes(file, 512, 3));
	file_read(f, 5 * 512, file, 512);
	assert_true(all_bytes(file, 512, 6));
	assert_true(f->notifies >= 2);
}

/* VERSION_1 means any layout: header and data share buffers. */
static void test_any_layout(void **state)
{
	struct fix *f = *state;
	struct virtio_blk_outhdr h = { htole32(VIRTIO_BLK_T_OUT), 0, htole64(10) };
	gpa_t a = galloc(f, 16 + 100), b = galloc(f, 412), s = galloc(f, 600);
	uint8_t file[512], *pa = gp(f, a, 116), *pb = gp(f, b, 412), *ps;
	struct tdesc d[3] = { { a, 116, 0 }, { b, 412, 0 }, { s, 1, W } };

	memcpy(pa, &h, 16);
	memset(pa + 16, 0x11, 100);
	memset(pb, 0x22, 412);
	publish(f, d, 3);
	kick(f);
	wait_used(f, 1);
	assert_int_equal(*(uint8_t *)gp(f, s, 1), VIRTIO_BLK_S_OK);
	file_read(f, 10 * 512, file, 512);
	assert_true(all_bytes(file, 100, 0x11));
	assert_true(all_bytes(file + 100, 412, 0x22));

	/* A read whose data and status share one buffer: status is its last byte. */
	h.type = htole32(VIRTIO_BLK_T_IN);
	memcpy(pa, &h, 16);
	d[0] = (struct tdesc){ a, 16, 0 };
	d[1] = (struct tdesc){ s, 513, W };
	publish(f, d, 2);
	kick(f);
	wait_used(f, 2);
	ps = gp(f, s, 513);
	assert_int_equal(ps[512], VIRTIO_BLK_S_OK);
	assert_memory_equal(ps, file, 512);
}

static void test_flush(void **state)
{
	struct fix *f = *state;
	struct req r;

	assert_int_equal(run(f, &r, VIRTIO_BLK_T_FLUSH, 0, 0, false), VIRTIO_BLK_S_OK);
	/* A sector field is ignored. */
	assert_int_equal(run(f, &r, VIRTIO_BLK_T_FLUSH, UINT64_MAX, 0, false), VIRTIO_BLK_S_OK);
}

static uint8_t run_dwz(struct fix *f, uint32_t type, const struct virtio_blk_dwz *segs,
		       unsigned int n)
{
	struct req r;
	uint16_t before = used_idx(f);
	struct virtio_blk_outhdr h = { htole32(type), 0, 0 };
	struct tdesc d[3];

	r.hdr = galloc(f, 16);
	memcpy(gp(f, r.hdr, 16), &h, 16);
	r.data = galloc(f, 16 * n);
	memcpy(gp(f, r.data, 16 * n), segs, 16 * n);
	r.status = galloc(f, 1);
	d[0] = (struct tdesc){ r.hdr, 16, 0 };
	d[1] = (struct tdesc){ r.data, 16 * n, 0 };
	d[2] = (struct tdesc){ r.status, 1, W };
	publish(f, d, 3);
	kick(f);
	wait_used(f, before + 1);
	return status_of(f, &r);
}

static struct virtio_blk_dwz seg(uint64_t sector, uint32_t n, uint32_t flags)
{
	return (struct virtio_blk_dwz){ htole64(sector), htole32(n), htole32(flags) };
}

static void test_discard_write_zeroes(void **state)
{
	struct fix *f = *state;
	struct virtio_blk_dwz s[3];
	uint8_t file[16 * 512];

	s[0] = seg(8, 8, 0);
	assert_int_equal(run_dwz(f, VIRTIO_BLK_T_DISCARD, s, 1), VIRTIO_BLK_S_OK);
	file_read(f, 8 * 512, file, 8 * 512);
	assert_true(all_bytes(file, 8 * 512, 0));
	file_read(f, 16 * 512, file, 512);
	assert_true(all_bytes(file, 512, 17));

	s[0] = seg(20, 2, 0);
	s[1] = seg(30, 1, VIRTIO_BLK_WZ_F_UNMAP);
	s[2] = seg(40, 0, 0);
	assert_int_equal(run_dwz(f, VIRTIO_BLK_T_WRITE_ZEROES, s, 3), VIRTIO_BLK_S_OK);
	file_read(f, 19 * 512, file, 12 * 512);
	assert_true(all_bytes(file, 512, 20));
	assert_true(all_bytes(file + 512, 2 * 512, 0));
	assert_true(all_bytes(file + 3 * 512, 512, 23));
	assert_true(all_bytes(file + 11 * 512, 512, 0));
	file_read(f, 31 * 512, file, 512);
	assert_true(all_bytes(file, 512, 32));

	/* Flags: unknown ones, or unmap on a discard, are unsupported. */
	s[0] = seg(8, 1, 2);
	assert_int_equal(run_dwz(f, VIRTIO_BLK_T_WRITE_ZEROES, s, 1), VIRTIO_BLK_S_UNSUPP);
	s[0] = seg(8, 1, VIRTIO_BLK_WZ_F_UNMAP);
	assert_int_equal(run_dwz(f, VIRTIO_BLK_T_DISCARD, s, 1), VIRTIO_BLK_S_UNSUPP);
	/* Out of range, in any segment: nothing is done. */
	s[0] = seg(50, 1, 0);
	s[1] = seg(IMG_SECTORS - 1, 2, 0);
	assert_int_equal(run_dwz(f, VIRTIO_BLK_T_WRITE_ZEROES, s, 2), VIRTIO_BLK_S_IOERR);
	file_read(f, 50 * 512, file, 512);
	assert_true(all_bytes(file, 512, 51));
	s[0] = seg(UINT64_MAX, 1, 0);
	assert_int_equal(run_dwz(f, VIRTIO_BLK_T_DISCARD, s, 1), VIRTIO_BLK_S_IOERR);
	/* No segment at all. */
	assert_int_equal(run_dwz(f, VIRTIO_BLK_T_DISCARD, s, 0), VIRTIO_BLK_S_IOERR);
}

static void test_dwz_not_negotiated(void **state)
{
	struct fix *f = *state;
	struct virtio_blk_dwz s = seg(0, 1, 0);

	f->vd->features &= ~(VIRTIO_BIT(VIRTIO_BLK_F_DISCARD) |
			     VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES));
	assert_int_equal(run_dwz(f, VIRTIO_BLK_T_DISCARD, &s, 1), VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(run_dwz(f, VIRTIO_BLK_T_WRITE_ZEROES, &s, 1), VIRTIO_BLK_S_UNSUPP);
}

static void test_get_id(void **state)
{
	struct fix *f = *state;
	struct req r;
	uint8_t *p;

	assert_int_equal(run(f, &r, VIRTIO_BLK_T_GET_ID, 0, 20, true), VIRTIO_BLK_S_OK);
	assert_memory_equal(gp(f, r.data, 20), SERIAL, 20);
	/* A 1-byte buffer gets 1 byte. */
	assert_int_equal(run(f, &r, VIRTIO_BLK_T_GET_ID, 0, 1, true), VIRTIO_BLK_S_OK);
	p = gp(f, r.data, 2);
	assert_int_equal(p[0], 'A');
	assert_int_equal(p[1], 0xEE);
	/* A 512-byte buffer: the serial, then NUL padding to 20 bytes. */
	assert_int_equal(run(f, &r, VIRTIO_BLK_T_GET_ID, 0, 512, true), VIRTIO_BLK_S_OK);
	assert_memory_equal(gp(f, r.data, 20), SERIAL, 20);
}

static void test_get_id_short_serial(void **state)
{
	struct fix *f = *state;
	struct req r;
	uint8_t *p;

	f->vd->ops->destroy(f->vd);
	f->vd = NULL;
	assert_int_equal(create(f, ",serial=vol1", 1), 0);
	assert_int_equal(run(f, &r, VIRTIO_BLK_T_GET_ID, 0, 20, true), VIRTIO_BLK_S_OK);
	p = gp(f, r.data, 20);
	assert_string_equal((char *)p, "vol1");
	assert_true(all_bytes(p + 4, 16, 0));
}

static void test_bad_ranges(void **state)
{
	struct fix *f = *state;
	struct req r;

	assert_int_equal(run(f, &r, VIRTIO_BLK_T_IN, UINT64_MAX, 512, true), VIRTIO_BLK_S_IOERR);
	assert_int_equal(run(f, &r, VIRTIO_BLK_T_OUT, UINT64_MAX, 512, false), VIRTIO_BLK_S_IOERR);
	assert_int_equal(run(f, &r, VIRTIO_BLK_T_IN, IMG_SECTORS - 1, 1024, true),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(run(f, &r, VIRTIO_BLK_T_OUT, IMG_SECTORS, 512, false),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(run(f, &r, VIRTIO_BLK_T_IN, IMG_SECTORS - 1, 512, true), VIRTIO_BLK_S_OK);
	assert_true(all_bytes(gp(f, r.data, 512), 512, (uint8_t)IMG_SECTORS));
	/* Zero sectors at the very end is fine; 2^64 - 1 is not. */
	assert_int_equal(run(f, &r, VIRTIO_BLK_T_IN, IMG_SECTORS, 0, true), VIRTIO_BLK_S_OK);
	assert_int_equal(run(f, &r, VIRTIO_BLK_T_IN, UINT64_MAX, 0, true), VIRTIO_BLK_S_IOERR);
	/* Not a multiple of 512 bytes. */
	assert_int_equal(run(f, &r, VIRTIO_BLK_T_IN, 0, 511, true), VIRTIO_BLK_S_IOERR);
	assert_int_equal(run(f, &r, VIRTIO_BLK_T_OUT, 0, 513, false), VIRTIO_BLK_S_IOERR);
	/* The device keeps going. */
	assert_int_equal(run(f, &r, VIRTIO_BLK_T_IN, 0, 512, true), VIRTIO_BLK_S_OK);
	assert_true(virtio_dev_running(f->vd));
}

static void test_unknown_type(void **state)
{
	struct fix *f = *state;
	struct req r;

	assert_int_equal(run(f, &r, 99, 0, 0, false), VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(run(f, &r, 10 /* GET_LIFETIME */, 0, 16, true), VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(run(f, &r, UINT32_MAX, 0, 0, false), VIRTIO_BLK_S_UNSUPP);
	assert_true(virtio_dev_running(f->vd));
}

static void test_readonly(void **state)
{
	struct fix *f = *state;
	struct virtio_dev *vd = f->vd;
	struct virtio_blk_dwz s = seg(0, 1, 0);
	struct req r;
	uint8_t file[512];

	assert_true(vd->host_features & VIRTIO_BIT(VIRTIO_BLK_F_RO));
	assert_false(vd->host_features & VIRTIO_BIT(VIRTIO_BLK_F_DISCARD));
	assert_false(vd->host_features & VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES));
	build(f, &r, VIRTIO_BLK_T_OUT, 0, 512, false);
	memset(gp(f, r.data, 512), 0x55, 512);
	kick(f);
	wait_used(f, 1);
	assert_int_equal(status_of(f, &r), VIRTIO_BLK_S_IOERR);
	file_read(f, 0, file, 512);
	assert_true(all_bytes(file, 512, 1));
	/* Even if the driver claims the features. */
	vd->features |= VIRTIO_BIT(VIRTIO_BLK_F_DISCARD) | VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES);
	assert_int_equal(run_dwz(f, VIRTIO_BLK_T_DISCARD, &s, 1), VIRTIO_BLK_S_IOERR);
	assert_int_equal(run_dwz(f, VIRTIO_BLK_T_WRITE_ZEROES, &s, 1), VIRTIO_BLK_S_IOERR);
	assert_int_equal(run(f, &r, VIRTIO_BLK_T_IN, 0, 512, true), VIRTIO_BLK_S_OK);
	assert_int_equal(run(f, &r, VIRTIO_BLK_T_FLUSH, 0, 0, false), VIRTIO_BLK_S_OK);
}

/* ---- malformed chains ---- */

static void expect_needs_reset(struct fix *f)
{
	assert_true(f->vd->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	assert_false(virtio_dev_running(f->vd));
	assert_int_equal(f->config_notifies, 1);
}

static void test_readable_after_writable(void **state)
{
	struct fix *f = *state;
	gpa_t h = galloc(f, 16), s = galloc(f, 1), d = galloc(f, 512);
	struct tdesc c[3] = { { h, 16, 0 }, { s, 1, W }, { d, 512, 0 } };
	struct req r;

	publish(f, c, 3);
	kick(f);
	assert_true(f->vd->vqs[0].broken);
	expect_needs_reset(f);
	assert_int_equal(used_idx(f), 0);
	/* Later kicks do nothing. */
	build(f, &r, VIRTIO_BLK_T_FLUSH, 0, 0, false);
	kick(f);
	assert_int_equal(used_idx(f), 0);
	/* A reset brings it back. */
	virtio_dev_lock(f->vd);
	virtio_dev_reset(f->vd);
	virtio_dev_unlock(f->vd);
	assert_false(f->vd->vqs[0].broken);
	driver_ok(f);
	f->config_notifies = 0;
	assert_int_equal(run(f, &r, VIRTIO_BLK_T_FLUSH, 0, 0, false), VIRTIO_BLK_S_OK);
}

static void test_no_status_byte(void **state)
{
	struct fix *f = *state;
	gpa_t h = galloc(f, 16);
	struct virtio_blk_outhdr hdr = { htole32(VIRTIO_BLK_T_IN), 0, 0 };
	struct tdesc c[1] = { { h, 16, 0 } };
	uint16_t head;

	memcpy(gp(f, h, 16), &hdr, 16);
	head = publish(f, c, 1);
	kick(f);
	/* Given back with nothing written, and the device wants a reset. */
	assert_int_equal(used_idx(f), 1);
	assert_int_equal(used_elem(f, 0).id, head);
	assert_int_equal(used_elem(f, 0).len, 0);
	expect_needs_reset(f);
}

static void test_short_header(void **state)
{
	struct fix *f = *state;
	gpa_t h = galloc(f, 16), s = galloc(f, 1);
	struct tdesc c[2] = { { h, 8, 0 }, { s, 1, W } };

	memset(gp(f, h, 16), 0, 16);
	publish(f, c, 2);
	kick(f);
	wait_used(f, 1);
	assert_int_equal(*(uint8_t *)gp(f, s, 1), VIRTIO_BLK_S_IOERR);
	assert_true(virtio_dev_running(f->vd));
}

/* ---- the host side fails ---- */

static void test_file_shrunk(void **state)
{
	struct fix *f = *state;
	struct req r;

	assert_int_equal(truncate(f->path, 4096), 0);
	assert_int_equal(run(f, &r, VIRTIO_BLK_T_IN, 100, 512, true), VIRTIO_BLK_S_IOERR);
	/* Partly past the new end: short. */
	assert_int_equal(run(f, &r, VIRTIO_BLK_T_IN, 7, 1024, true), VIRTIO_BLK_S_IOERR);
	assert_int_equal(run(f, &r, VIRTIO_BLK_T_IN, 0, 4096, true), VIRTIO_BLK_S_OK);
	assert_true(virtio_dev_running(f->vd));
}

static void test_reset_in_flight(void **state)
{
	struct fix *f = *state;
	struct req r, rs[QSIZE / 3];        /* three descriptors each */
	unsigned int i;

	for (i = 0; i < QSIZE / 3; i++)
		build(f, &r, i % 2 ? VIRTIO_BLK_T_IN : VIRTIO_BLK_T_FLUSH, i, i % 2 ? 65536 : 0,
		      true);
	kick(f);                        /* submitted, not reaped */
	virtio_dev_lock(f->vd);
	virtio_dev_reset(f->vd);
	virtio_dev_unlock(f->vd);
	assert_int_equal(f->vd->status, 0);
	assert_int_equal(used_idx(f), 0);      /* results dropped */
	driver_ok(f);
	/* Every request slot is free again; stale completion signals find nothing. */
	for (i = 0; i < QSIZE / 3; i++)
		build(f, &rs[i], VIRTIO_BLK_T_IN, i, 512, true);
	kick(f);
	wait_used(f, QSIZE / 3);
	for (i = 0; i < QSIZE / 3; i++) {
		assert_int_equal(status_of(f, &rs[i]), VIRTIO_BLK_S_OK);
		assert_true(all_bytes(gp(f, rs[i].data, 512), 512, i + 1));
	}
}

/* ---- cache=none ---- */

static void test_direct(void **state)
{
	struct fix *f = *state;
	struct req w, r;
	uint8_t file[4096];
	gpa_t h, d, s;
	struct virtio_blk_outhdr hdr = { htole32(VIRTIO_BLK_T_OUT), 0, htole64(40) };

	/* Aligned buffers go straight to the kernel. */
	build(f, &w, VIRTIO_BLK_T_OUT, 8, 4096, false);
	memset(gp(f, w.data, 4096), 0x5A, 4096);
	kick(f);
	wait_used(f, 1);
	assert_int_equal(status_of(f, &w), VIRTIO_BLK_S_OK);
	file_read(f, 8 * 512, file, 4096);
	assert_true(all_bytes(file, 4096, 0x5A));

	/* Misaligned ones through a bounce buffer, both ways. */
	h = galloc(f, 16);
	d = galloc(f, 1200) + 3;
	s = galloc(f, 1);
	memcpy(gp(f, h, 16), &hdr, 16);
	memset(gp(f, d, 1024), 0x77, 1024);
	{
		struct tdesc c[4] = { { h, 16, 0 }, { d, 100, 0 }, { d + 100, 924, 0 },
				      { s, 1, W } };

		publish(f, c, 4);
	}
	kick(f);
	wait_used(f, 2);
	assert_int_equal(*(uint8_t *)gp(f, s, 1), VIRTIO_BLK_S_OK);
	file_read(f, 40 * 512, file, 1024);
	assert_true(all_bytes(file, 1024, 0x77));

	hdr.type = htole32(VIRTIO_BLK_T_IN);
	memcpy(gp(f, h, 16), &hdr, 16);
	d = galloc(f, 1200) + 5;
	{
		struct tdesc c[4] = { { h, 16, 0 }, { d, 1000, W }, { d + 1000, 24, W },
				      { s, 1, W } };

		publish(f, c, 4);
	}
	kick(f);
	wait_used(f, 3);
	assert_int_equal(*(uint8_t *)gp(f, s, 1), VIRTIO_BLK_S_OK);
	assert_true(all_bytes(gp(f, d, 1024), 1024, 0x77));

	assert_int_equal(run(f, &r, VIRTIO_BLK_T_IN, 8, 4096, true), VIRTIO_BLK_S_OK);
	assert_true(all_bytes(gp(f, r.data, 4096), 4096, 0x5A));
}

/* ---- snapshots ---- */

static void test_save_restore(void **state)
{
	struct fix *f = *state;
	const struct virtio_dev_ops *ops = f->vd->ops;
	struct virtio_blk_state s1, s2, bad;
	struct req r;

	assert_int_equal(ops->state_size, sizeof(struct virtio_blk_state));
	build(f, &r, VIRTIO_BLK_T_IN, 0, 512, true);
	kick(f);
	virtio_dev_lock(f->vd);
	virtio_blk_drain(f->vd);        /* before a snapshot: nothing in flight */
	virtio_dev_unlock(f->vd);
	assert_int_equal(used_idx(f), 1);
	assert_int_equal(status_of(f, &r), VIRTIO_BLK_S_OK);

	ops->save(f->vd, &s1);
	assert_int_equal(s1.capacity, IMG_SECTORS);
	assert_int_equal(s1.num_queues, 1);
	assert_int_equal(s1.readonly, 0);
	assert_int_equal(ops->restore(f->vd, &s1), 0);
	ops->save(f->vd, &s2);
	assert_memory_equal(&s1, &s2, sizeof(s1));

	bad = s1;
	bad.reserved[4] = 1;
	assert_int_equal(ops->restore(f->vd, &bad), -EINVAL);
	bad = s1;
	bad.capacity++;                 /* the host's disk changed: said why, -EREMCHG */
	assert_int_equal(ops->restore(f->vd, &bad), -EREMCHG);
	bad = s1;
	bad.readonly = 2;
	assert_int_equal(ops->restore(f->vd, &bad), -EINVAL);
	bad = s1;
	bad.num_queues = 2;
	assert_int_equal(ops->restore(f->vd, &bad), -EREMCHG);
	/* The device works as before. */
	assert_int_equal(run(f, &r, VIRTIO_BLK_T_IN, 1, 512, true), VIRTIO_BLK_S_OK);
}

int main(void)
{
#define T(t) cmocka_unit_test_setup_teardown(t, setup, teardown)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_opts),
		T(test_features_and_config),
		T(test_mq),
		T(test_bad_images),
		T(test_locked),
		T(test_write_read),
		T(test_any_layout),
		T(test_flush),
		T(test_discard_write_zeroes),
		T(test_dwz_not_negotiated),
		T(test_get_id),
		T(test_get_id_short_serial),
		T(test_bad_ranges),
		T(test_unknown_type),
		cmocka_unit_test_setup_teardown(test_readonly, setup_ro, teardown),
		T(test_readable_after_writable),
		T(test_no_status_byte),
		T(test_short_header),
		T(test_file_shrunk),
		T(test_reset_in_flight),
		cmocka_unit_test_setup_teardown(test_direct, setup_direct, teardown),
		T(test_save_restore),
	};

	log_set_level(LOG_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
