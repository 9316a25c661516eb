// SPDX-License-Identifier: GPL-2.0-only
/*
 * bzimage: the x86 Linux boot protocol loader (64-bit entry) against hand-built
 * bzImages, boot_params / GDT / page tables, and initrd placement under the
 * kernel's initrd_addr_max.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <cmocka.h>

#include "arch/x86/boot.h"
#include "arch/x86/bzimage.h"
#include "memory.h"
#include "util.h"

#include "fake_guest.h"

/* ---- synthetic bzImages ---- */

#define SETUP_SECTS   3                            /* + the boot sector */
#define SETUP_SIZE    ((SETUP_SECTS + 1) * 512)
#define PAYLOAD       0x3000                       /* a whole number of paragraphs */
#define IMG_SIZE      (SETUP_SIZE + PAYLOAD)
#define INIT_SIZE     0x200000
#define INITRD_MAX    0x37ffffffu
#define CMDLINE_SIZE  0x7ffu
#define HDR_LEN       0x6a                         /* header ends at 0x202 + 0x6a = 0x26c */
#define HDR_END       (0x202 + HDR_LEN)
#define SETUP_FILL    0x5c
#define IMG_CAP       0x40000

struct image {
	uint8_t b[IMG_CAP];
	size_t size;
};

static void put16(uint8_t *p, size_t off, uint16_t v) { memcpy(p + off, &v, 2); }
static void put32(uint8_t *p, size_t off, uint32_t v) { memcpy(p + off, &v, 4); }
static void put64(uint8_t *p, size_t off, uint64_t v) { memcpy(p + off, &v, 8); }
static uint16_t get16(const uint8_t *p, size_t off) { uint16_t v; memcpy(&v, p + off, 2); return v; }
static uint32_t get32(const uint8_t *p, size_t off) { uint32_t v; memcpy(&v, p + off, 4); return v; }
static uint64_t get64(const uint8_t *p, size_t off) { uint64_t v; memcpy(&v, p + off, 8); return v; }

/* Payload byte i: never SETUP_FILL, never FILL, varies with i. */
static uint8_t payload_byte(size_t i)
{
	return (uint8_t)((i * 31 + 7) ^ (i >> 8)) | 1;     /* odd: FILL and SETUP_FILL are even */
}

/*
 * Write the setup header of a good 64-bit bzImage (protocol 2.15) with
 * `setup_sects` and `payload` bytes of kernel; the payload follows the setup.
 */
static void build_image_n(struct image *im, unsigned int setup_sects, size_t payload)
{
	unsigned int real_sects = setup_sects ? setup_sects : 4;
	size_t setup = (real_sects + 1) * 512;
	uint8_t *b = im->b;

	assert_true(setup + payload <= IMG_CAP);
	memset(im->b, SETUP_FILL, setup);
	b[0x1f1] = setup_sects;
	put16(b, 0x1f2, 0x0001);                /* root_flags */
	put32(b, 0x1f4, payload / 16);          /* syssize */
	put16(b, 0x1f8, 0);                     /* ram_size */
	put16(b, 0x1fa, 0xffff);                /* vid_mode: normal */
	put16(b, 0x1fc, 0);                     /* root_dev */
	put16(b, 0x1fe, 0xaa55);                /* boot_flag */
	b[0x200] = 0xeb;                        /* jmp short */
	b[0x201] = HDR_LEN;
	memcpy(b + 0x202, "HdrS", 4);
	put16(b, 0x206, 0x020f);                /* version 2.15 */
	put32(b, 0x208, 0);                     /* realmode_swtch */
	put16(b, 0x20c, 0x1000);                /* start_sys_seg */
	put16(b, 0x20e, 0x3a40);                /* kernel_version */
	b[0x210] = 0x00;                        /* type_of_loader */
	b[0x211] = 0x01;                        /* loadflags: LOADED_HIGH */
	put16(b, 0x212, 0x8000);                /* setup_move_size */
	put32(b, 0x214, 0x100000);              /* code32_start */
	put32(b, 0x218, 0);                     /* ramdisk_image */
	put32(b, 0x21c, 0);                     /* ramdisk_size */
	put32(b, 0x220, 0);                     /* bootsect_kludge */
	put16(b, 0x224, 0);                     /* heap_end_ptr */
	b[0x226] = 0;                           /* ext_loader_ver */
	b[0x227] = 0;                           /* ext_loader_type */
	put32(b, 0x228, 0);                     /* cmd_line_ptr */
	put32(b, 0x22c, INITRD_MAX);            /* initrd_addr_max */
	put32(b, 0x230, 0x200000);              /* kernel_alignment */
	b[0x234] = 0;                           /* relocatable_kernel: no */
	b[0x235] = 21;                          /* min_alignment */
	put16(b, 0x236, 0x0003);                /* xloadflags: KERNEL_64 | CAN_BE_LOADED_ABOVE_4G */
	put32(b, 0x238, CMDLINE_SIZE);          /* cmdline_size */
	put32(b, 0x23c, 0);                     /* hardware_subarch */
	put64(b, 0x240, 0);                     /* hardware_subarch_data */
	put32(b, 0x248, 0x3c5);                 /* payload_offset */
	put32(b, 0x24c, 0x2345);                /* payload_length */
	put64(b, 0x250, 0);                     /* setup_data */
	put64(b, 0x258, BZ_LOAD_ADDR);          /* pref_address: where it is loaded */
	put32(b, 0x260, INIT_SIZE);             /* init_size */
	put32(b, 0x264, 0x190);                 /* handover_offset */
	put32(b, 0x268, 0x4280);                /* kernel_info_offset */
	/* Bytes just past the header (HDR_END): not part of it. */
	put32(b, HDR_END, 0xdeadbeef);
	for (size_t i = 0; i < payload; i++)
		b[setup + i] = payload_byte(i);
	im->size = setup + payload;
}

static void build_image(struct image *im)
{
	build_image_n(im, SETUP_SECTS, PAYLOAD);
}

static struct image *new_image(void)
{
	struct image *im = malloc(sizeof(*im));

	assert_non_null(im);
	build_image(im);
	return im;
}

/* An exact-size heap copy, so that reads past the end are caught by ASan. */
static uint8_t *image_copy(const struct image *im)
{
	uint8_t *copy = malloc(im->size ? im->size : 1);

	assert_non_null(copy);
	memcpy(copy, im->b, im->size);
	return copy;
}

#define SENTINEL 0x5151515151515151ULL

struct result {
	int ret;
	struct bzimage_boot bz;
	char err[256];
};

static struct result load(const struct guest_mem *gm, const struct image *im)
{
	struct result r = { .bz = { SENTINEL, SENTINEL, SENTINEL, 0x51515151 } };
	uint8_t *copy = image_copy(im);

	r.ret = bzimage_load(gm, copy, im->size, &r.bz, r.err, sizeof(r.err));
	free(copy);
	return r;
}

static void expect_reject(struct fake *f, const struct image *im, const char *why,
			  const char *needle)
{
	struct result r;

	memset(ram(f) + BZ_LOAD_ADDR, FILL, 0x1000);
	r = load(&f->gm, im);
	if (r.ret != -ENOEXEC)
		fail_msg("%s: got %d, want -ENOEXEC", why, r.ret);
	if (!r.err[0] || !strstr(r.err, needle))
		fail_msg("%s: error \"%s\" does not mention \"%s\"", why, r.err, needle);
	/* Nothing is returned and nothing is loaded on failure. */
	assert_int_equal(r.bz.entry, SENTINEL);
	assert_int_equal(r.bz.zero_page, SENTINEL);
	assert_int_equal(r.bz.kernel_end, SENTINEL);
	assert_int_equal(r.bz.initrd_max, 0x51515151);
	for (size_t i = 0; i < 0x1000; i++)
		if (ram(f)[BZ_LOAD_ADDR + i] != FILL)
			fail_msg("%s: guest RAM at %#zx written by a rejected image", why,
				 (size_t)BZ_LOAD_ADDR + i);
}

static void expect_load(struct fake *f, const struct image *im, struct result *r)
{
	*r = load(&f->gm, im);
	if (r->ret)
		fail_msg("good image rejected (%d): %s", r->ret, r->err);
}

/* ---- detection ---- */

static void test_detect(void **state)
{
	struct image *im = new_image();
	uint8_t *copy;

	(void)state;
	copy = image_copy(im);
	assert_true(bzimage_detect(copy, im->size));
	free(copy);
	/* Just enough bytes for "HdrS". */
	im->size = 0x206;
	copy = image_copy(im);
	assert_true(bzimage_detect(copy, im->size));
	free(copy);
	/* One short of it, and nothing at all. */
	im->size = 0x205;
	copy = image_copy(im);
	assert_false(bzimage_detect(copy, im->size));
	free(copy);
	assert_false(bzimage_detect((const uint8_t *)"", 0));
	/* Other magics. */
	build_image(im);
	memcpy(im->b + 0x202, "HdrT", 4);
	assert_false(bzimage_detect(im->b, im->size));
	memcpy(im->b + 0x202, "hdrs", 4);
	assert_false(bzimage_detect(im->b, im->size));
	memcpy(im->b, "\177ELF", 4);
	memset(im->b + 0x202, 0, 4);
	assert_false(bzimage_detect(im->b, im->size));
	free(im);
}

/* ---- bzimage_load: good images ---- */

static void check_payload_at_1m(struct fake *f, size_t payload)
{
	for (size_t i = 0; i < payload; i++)
		if (ram(f)[BZ_LOAD_ADDR + i] != payload_byte(i))
			fail_msg("payload byte %#zx: got %#x, want %#x", i,
				 ram(f)[BZ_LOAD_ADDR + i], payload_byte(i));
}

static void test_load_good(void **state)
{
	struct fake *f = small_guest();
	struct image *im = new_image();
	struct result r;

	(void)state;
	expect_load(f, im, &r);
	assert_int_equal(r.bz.entry, 0x100200);
	assert_int_equal(r.bz.entry, BZ_LOAD_ADDR + BZ_ENTRY64_OFFSET);
	assert_int_equal(r.bz.zero_page, 0x7000);
	assert_int_equal(r.bz.kernel_end, 1 * MiB + INIT_SIZE);
	assert_int_equal(r.bz.initrd_max, INITRD_MAX);
	/* The protected-mode kernel (not the setup) at 1 MiB, nothing around it touched. */
	check_payload_at_1m(f, PAYLOAD);
	assert_int_equal(ram(f)[BZ_LOAD_ADDR - 1], FILL);
	assert_int_equal(ram(f)[BZ_LOAD_ADDR + PAYLOAD], FILL);
	assert_int_equal(ram(f)[BZ_ZERO_PAGE], FILL);

	/* initrd_max is whatever the header says. */
	build_image(im);
	put32(im->b, 0x22c, 0x7fffffff);
	expect_load(f, im, &r);
	assert_int_equal(r.bz.initrd_max, 0x7fffffff);
	free(im);
	free_guest(f);
}

static void test_load_kernel_end(void **state)
{
	struct fake *f = small_guest();
	struct image *im = malloc(sizeof(*im));
	struct result r;

	(void)state;
	assert_non_null(im);
	/* init_size smaller than the file's kernel: the payload decides. */
	build_image(im);
	put32(im->b, 0x260, PAYLOAD / 2);
	expect_load(f, im, &r);
	assert_int_equal(r.bz.kernel_end, 1 * MiB + PAYLOAD);
	/* init_size 0 (absent). */
	build_image(im);
	put32(im->b, 0x260, 0);
	expect_load(f, im, &r);
	assert_int_equal(r.bz.kernel_end, 1 * MiB + PAYLOAD);
	/* Equal. */
	build_image(im);
	put32(im->b, 0x260, PAYLOAD);
	expect_load(f, im, &r);
	assert_int_equal(r.bz.kernel_end, 1 * MiB + PAYLOAD);
	/* One byte more than the payload. */
	build_image(im);
	put32(im->b, 0x260, PAYLOAD + 1);
	expect_load(f, im, &r);
	assert_int_equal(r.bz.kernel_end, 1 * MiB + PAYLOAD + 1);
	/* A payload that is not a whole number of paragraphs, syssize rounded down. */
	build_image_n(im, SETUP_SECTS, PAYLOAD + 5);
	put32(im->b, 0x260, 0);
	expect_load(f, im, &r);
	assert_int_equal(r.bz.kernel_end, 1 * MiB + PAYLOAD + 5);
	check_payload_at_1m(f, PAYLOAD + 5);
	/* Exactly the RAM above 1 MiB. */
	build_image(im);
	put32(im->b, 0x260, GUEST_SIZE - 1 * MiB);
	expect_load(f, im, &r);
	assert_int_equal(r.bz.kernel_end, GUEST_SIZE);
	free(im);
	free_guest(f);
}

static void test_load_setup_sects(void **state)
{
	struct fake *f = small_guest();
	struct image *im = malloc(sizeof(*im));
	struct result r;

	(void)state;
	assert_non_null(im);
	/* setup_sects 0 means 4: the kernel starts at 5 * 512. */
	build_image_n(im, 0, PAYLOAD);
	assert_int_equal(im->size, 5 * 512 + PAYLOAD);
	expect_load(f, im, &r);
	check_payload_at_1m(f, PAYLOAD);
	assert_int_equal(r.bz.entry, 0x100200);
	assert_int_equal(ram(f)[BZ_LOAD_ADDR + PAYLOAD], FILL);
	/* One sector, and a large setup (64 sectors). */
	memset(ram(f) + BZ_LOAD_ADDR, FILL, 0x10000);
	build_image_n(im, 1, PAYLOAD);
	expect_load(f, im, &r);
	check_payload_at_1m(f, PAYLOAD);
	memset(ram(f) + BZ_LOAD_ADDR, FILL, 0x10000);
	build_image_n(im, 64, PAYLOAD);
	expect_load(f, im, &r);
	check_payload_at_1m(f, PAYLOAD);
	assert_int_equal(ram(f)[BZ_LOAD_ADDR + PAYLOAD], FILL);
	free(im);
	free_guest(f);
}

/* ---- bzimage_load: rejections ---- */

static void test_reject_size(void **state)
{
	struct fake *f = small_guest();
	struct image *im = new_image();

	(void)state;
	im->size = 0;
	expect_reject(f, im, "empty file", "too small");
	im->size = 0x206;
	expect_reject(f, im, "header only", "too small");
	im->size = 0x26f;
	expect_reject(f, im, "0x26f bytes", "too small");
	/* 0x270 passes the size check but then has no kernel after the setup. */
	im->size = 0x270;
	expect_reject(f, im, "0x270 bytes", "truncated");
	free(im);
	free_guest(f);
}

static void test_reject_header(void **state)
{
	struct fake *f = small_guest();
	struct image *im = new_image();

	(void)state;
	put16(im->b, 0x1fe, 0);
	expect_reject(f, im, "no boot flag", "HdrS");
	build_image(im);
	put16(im->b, 0x1fe, 0x55aa);
	expect_reject(f, im, "byte-swapped boot flag", "HdrS");
	build_image(im);
	memset(im->b + 0x202, 0, 4);
	expect_reject(f, im, "no HdrS", "HdrS");
	build_image(im);
	memcpy(im->b + 0x202, "HdrZ", 4);
	expect_reject(f, im, "bad HdrS", "HdrS");

	/* Protocol versions below 2.12. */
	build_image(im);
	put16(im->b, 0x206, 0x020b);
	expect_reject(f, im, "protocol 2.11", "2.11");
	expect_reject(f, im, "protocol 2.11", "2.12");
	build_image(im);
	put16(im->b, 0x206, 0x0200);
	expect_reject(f, im, "protocol 2.00", "2.00");
	build_image(im);
	put16(im->b, 0x206, 0x0112);
	expect_reject(f, im, "protocol 1.18", "1.18");

	/* Not loaded high (a zImage). */
	build_image(im);
	im->b[0x211] = 0;
	expect_reject(f, im, "loadflags 0", "zImage");
	build_image(im);
	im->b[0x211] = 0x80 | 0x20;
	expect_reject(f, im, "loadflags without LOADED_HIGH", "zImage");

	/* No 64-bit entry point. */
	build_image(im);
	put16(im->b, 0x236, 0);
	expect_reject(f, im, "xloadflags 0", "64-bit");
	build_image(im);
	put16(im->b, 0x236, 0x0002 | 0x0004 | 0x0008);
	expect_reject(f, im, "xloadflags without XLF_KERNEL_64", "XLF_KERNEL_64");
	free(im);
	free_guest(f);
}

static void test_reject_truncated(void **state)
{
	struct fake *f = small_guest();
	struct image *im = new_image();
	struct result r;

	(void)state;
	/* The setup code is larger than the file. */
	im->b[0x1f1] = 200;
	expect_reject(f, im, "setup larger than the file", "truncated");
	/* Exactly as large: no kernel left. */
	build_image(im);
	im->size = SETUP_SIZE;
	expect_reject(f, im, "setup fills the file", "truncated");
	build_image(im);
	im->b[0x1f1] = IMG_SIZE / 512 - 1;       /* (sects + 1) * 512 == IMG_SIZE */
	expect_reject(f, im, "setup sects fill the file", "truncated");
	/* ...even when syssize claims no kernel either: the file holds no kernel. */
	build_image(im);
	im->size = SETUP_SIZE;
	put32(im->b, 0x1f4, 0);
	expect_reject(f, im, "setup only, syssize 0", "truncated");

	/* syssize says more than the file holds. */
	build_image(im);
	put32(im->b, 0x1f4, PAYLOAD / 16 + 1);
	expect_reject(f, im, "syssize one paragraph too many", "truncated");
	build_image(im);
	im->size -= 1;
	expect_reject(f, im, "file one byte short", "truncated");
	build_image(im);
	put32(im->b, 0x1f4, 0xffffffff);
	expect_reject(f, im, "syssize huge", "truncated");
	/* The message gives both sizes. */
	build_image(im);
	put32(im->b, 0x1f4, 0x1000);
	r = load(&f->gm, im);
	assert_int_equal(r.ret, -ENOEXEC);
	assert_non_null(strstr(r.err, "65536"));
	assert_non_null(strstr(r.err, "12288"));

	/* syssize smaller than the payload is fine (trailing data). */
	build_image(im);
	put32(im->b, 0x1f4, PAYLOAD / 16 - 1);
	expect_load(f, im, &r);
	free(im);
	free_guest(f);
}

static void test_reject_ram(void **state)
{
	struct fake *f = small_guest();
	struct fake *big = layout_guest(4 * GiB);
	struct image *im = new_image();
	struct result r;

	(void)state;
	/* init_size one byte beyond guest RAM. */
	put32(im->b, 0x260, GUEST_SIZE - 1 * MiB + 1);
	expect_reject(f, im, "init_size past the end of RAM", "RAM");
	expect_reject(f, im, "init_size past the end of RAM", "--memory");
	build_image(im);
	put32(im->b, 0x260, 0xffffffff);
	expect_reject(f, im, "init_size 4 GiB", "RAM");

	/* A big guest: init_size running into the 32-bit hole. */
	build_image(im);
	put32(im->b, 0x260, MEM_HOLE_START - 1 * MiB + 0x1000);
	memset(ram(big) + BZ_LOAD_ADDR, FILL, 0x1000);
	r = load(&big->gm, im);
	assert_int_equal(r.ret, -ENOEXEC);
	assert_non_null(strstr(r.err, "RAM"));
	/* Up to the hole is fine. */
	build_image(im);
	put32(im->b, 0x260, MEM_HOLE_START - 1 * MiB);
	expect_load(big, im, &r);
	assert_int_equal(r.bz.kernel_end, MEM_HOLE_START);
	free(im);
	free_guest(big);
	free_guest(f);
}

static void test_err_truncated(void **state)
{
	struct fake *f = small_guest();
	struct image *im = new_image();
	struct bzimage_boot bz;
	char err[8];

	(void)state;
	im->b[0x211] = 0;
	memset(err, 'X', sizeof(err));
	assert_int_equal(bzimage_load(&f->gm, im->b, im->size, &bz, err, sizeof(err)), -ENOEXEC);
	assert_int_equal(err[sizeof(err) - 1], 0);
	assert_int_equal(strlen(err), sizeof(err) - 1);
	free(im);
	free_guest(f);
}

/* ---- bzimage_setup ---- */

#define RSDP 0xE0000ULL

struct booted {
	struct fake *f;
	struct image *im;
	uint8_t *copy;
	struct bzimage_boot bz;
};

static void boot_load(struct booted *b, struct fake *f, struct image *im)
{
	char err[256];

	b->f = f;
	b->im = im;
	b->copy = image_copy(im);
	if (bzimage_load(&f->gm, b->copy, im->size, &b->bz, err, sizeof(err)))
		fail_msg("load failed: %s", err);
}

static int boot_setup(struct booted *b, const char *cmdline, gpa_t initrd, uint64_t initrd_size)
{
	return bzimage_setup(&b->f->gm, b->copy, b->im->size, &b->bz, cmdline, initrd,
			     initrd_size, RSDP);
}

static void boot_done(struct booted *b)
{
	free(b->copy);
}

static uint8_t *zero_page(struct fake *f)
{
	return ram(f) + BZ_ZERO_PAGE;
}

static void test_setup_boot_params(void **state)
{
	struct fake *f = small_guest();
	struct image *im = new_image();
	const char *cl = "console=ttyS0 root=/dev/vda rw";
	struct booted b;
	uint8_t *bp = zero_page(f);

	(void)state;
	/* Some garbage in the image's loader fields, which must be overridden. */
	im->b[0x210] = 0x21;
	put32(im->b, 0x218, 0x12345678);
	put32(im->b, 0x21c, 0x9abc);
	put32(im->b, 0x228, 0x99000);
	boot_load(&b, f, im);
	memset(ram(f) + MEM_CMDLINE, 'X', 256);
	assert_int_equal(boot_setup(&b, cl, 0, 0), 0);

	/* The setup header, copied from the image. */
	assert_int_equal(bp[0x1f1], SETUP_SECTS);
	assert_int_equal(get16(bp, 0x1f2), 0x0001);
	assert_int_equal(get32(bp, 0x1f4), PAYLOAD / 16);
	assert_int_equal(get16(bp, 0x1fa), 0xffff);
	assert_int_equal(get16(bp, 0x1fe), 0xaa55);
	assert_int_equal(bp[0x200], 0xeb);
	assert_int_equal(bp[0x201], HDR_LEN);
	assert_memory_equal(bp + 0x202, "HdrS", 4);
	assert_int_equal(get16(bp, 0x206), 0x020f);
	assert_int_equal(get16(bp, 0x20e), 0x3a40);
	assert_int_equal(get32(bp, 0x214), 0x100000);
	assert_int_equal(get32(bp, BP_INITRD_ADDR_MAX), INITRD_MAX);
	assert_int_equal(get32(bp, 0x230), 0x200000);
	assert_int_equal(get16(bp, BP_XLOADFLAGS), 0x0003);
	assert_int_equal(get32(bp, BP_CMDLINE_SIZE), CMDLINE_SIZE);
	assert_int_equal(get32(bp, 0x248), 0x3c5);
	assert_int_equal(get64(bp, 0x258), BZ_LOAD_ADDR);
	assert_int_equal(get32(bp, BP_INIT_SIZE), INIT_SIZE);
	assert_int_equal(get32(bp, 0x268), 0x4280);
	/* Only the header: not what comes before it nor after its end (0x202 + byte 0x201). */
	assert_int_equal(bp[0x1f0], 0);
	assert_int_equal(get32(bp, HDR_END), 0);
	/* The rest of boot_params below the header is cleared (guest RAM was FILL). */
	for (size_t i = 0; i < BZ_SETUP_HDR; i++) {
		if ((i >= BP_ACPI_RSDP && i < BP_ACPI_RSDP + 8) || i == BP_E820_ENTRIES)
			continue;
		if (bp[i])
			fail_msg("boot_params byte %#zx is %#x, not cleared", i, bp[i]);
	}

	/* What the loader fills in. */
	assert_int_equal(bp[BP_TYPE_OF_LOADER], 0xff);
	assert_true(bp[BP_LOADFLAGS] & 0x01);            /* LOADED_HIGH kept */
	assert_int_equal(get32(bp, BP_CMD_LINE_PTR), 0x20000);
	assert_int_equal(get32(bp, BP_CMD_LINE_PTR), MEM_CMDLINE);
	assert_int_equal(get32(bp, 0x0c8), 0);            /* ext_cmd_line_ptr */
	assert_string_equal((char *)ram(f) + MEM_CMDLINE, cl);
	assert_int_equal(ram(f)[MEM_CMDLINE + strlen(cl)], 0);
	assert_int_equal(ram(f)[MEM_CMDLINE + strlen(cl) + 1], 'X');
	assert_int_equal(get32(bp, BP_RAMDISK_IMAGE), 0);
	assert_int_equal(get32(bp, BP_RAMDISK_SIZE), 0);
	assert_int_equal(get64(bp, BP_ACPI_RSDP), 0xE0000);
	assert_int_equal(get64(bp, 0x0c0), 0);            /* ext_ramdisk_image/size */
	/* The kernel at 1 MiB is untouched by the setup. */
	check_payload_at_1m(f, PAYLOAD);
	boot_done(&b);

	/* A different RSDP address goes where it is asked. */
	boot_load(&b, f, im);
	assert_int_equal(bzimage_setup(&f->gm, b.copy, im->size, &b.bz, cl, 0, 0, 0xF1230), 0);
	assert_int_equal(get64(bp, BP_ACPI_RSDP), 0xF1230);
	boot_done(&b);
	free(im);
	free_guest(f);
}

static void test_setup_header_len(void **state)
{
	struct fake *f = small_guest();
	struct image *im = new_image();
	struct booted b;
	uint8_t *bp = zero_page(f);

	(void)state;
	/* A short header (2.12 era, ends at 0x264): init_size copied, the rest not. */
	im->b[0x201] = 0x62;
	boot_load(&b, f, im);
	assert_int_equal(boot_setup(&b, "", 0, 0), 0);
	assert_int_equal(get32(bp, BP_INIT_SIZE), INIT_SIZE);
	assert_int_equal(get32(bp, 0x264), 0);
	assert_int_equal(get32(bp, 0x268), 0);
	boot_done(&b);

	/*
	 * A header length byte running into the e820 table (0x202 + 0xff = 0x301):
	 * no image bytes land there.  Set up in a 1 MiB view of the guest, whose
	 * e820 has two entries (0x2d0-0x2f7), so that 0x2f8-0x300 would show them.
	 */
	build_image(im);
	im->b[0x201] = 0xff;
	memset(im->b + 0x270, 0xEE, 0x301 - 0x270);
	boot_load(&b, f, im);
	{
		struct guest_mem one = f->gm;
		unsigned int n;

		one.regions[0].size = 1 * MiB;
		one.total = 1 * MiB;
		assert_int_equal(bzimage_setup(&one, b.copy, im->size, &b.bz, "", 0, 0, RSDP), 0);
		n = bp[BP_E820_ENTRIES];
		assert_int_equal(n, 2);
		for (size_t i = BP_E820_TABLE + n * 20; i < 0x400; i++)
			if (bp[i])
				fail_msg("byte %#zx past the e820 table is %#x", i, bp[i]);
	}
	boot_done(&b);
	free(im);
	free_guest(f);
}

static void test_setup_cmdline(void **state)
{
	struct fake *f = small_guest();
	struct image *im = new_image();
	char *cl = malloc(MEM_CMDLINE_MAX + 2);
	struct booted b;
	uint8_t *bp = zero_page(f);

	(void)state;
	assert_non_null(cl);
	boot_load(&b, f, im);
	/* No command line: an empty string. */
	memset(ram(f) + MEM_CMDLINE, 'X', 16);
	assert_int_equal(boot_setup(&b, NULL, 0, 0), 0);
	assert_int_equal(ram(f)[MEM_CMDLINE], 0);
	assert_int_equal(get32(bp, BP_CMD_LINE_PTR), MEM_CMDLINE);

	/* Exactly cmdline_size characters (the size excludes the NUL). */
	memset(cl, 'a', CMDLINE_SIZE);
	cl[CMDLINE_SIZE] = 0;
	memset(ram(f) + MEM_CMDLINE, 'X', CMDLINE_SIZE + 2);
	assert_int_equal(boot_setup(&b, cl, 0, 0), 0);
	assert_int_equal(ram(f)[MEM_CMDLINE + CMDLINE_SIZE - 1], 'a');
	assert_int_equal(ram(f)[MEM_CMDLINE + CMDLINE_SIZE], 0);
	assert_int_equal(ram(f)[MEM_CMDLINE + CMDLINE_SIZE + 1], 'X');

	/* One more is -E2BIG, with nothing written. */
	memset(cl, 'b', CMDLINE_SIZE + 1);
	cl[CMDLINE_SIZE + 1] = 0;
	memset(ram(f) + MEM_CMDLINE, 'X', 16);
	memset(bp, FILL, 4096);
	assert_int_equal(boot_setup(&b, cl, 0, 0), -E2BIG);
	assert_int_equal(ram(f)[MEM_CMDLINE], 'X');
	assert_int_equal(bp[BP_TYPE_OF_LOADER], FILL);
	boot_done(&b);

	/* A kernel that takes anything: kite's own 64 KiB buffer is the limit. */
	build_image(im);
	put32(im->b, 0x238, 0x100000);
	boot_load(&b, f, im);
	memset(cl, 'c', MEM_CMDLINE_MAX - 1);
	cl[MEM_CMDLINE_MAX - 1] = 0;
	assert_int_equal(boot_setup(&b, cl, 0, 0), 0);
	assert_int_equal(ram(f)[MEM_CMDLINE + MEM_CMDLINE_MAX - 2], 'c');
	assert_int_equal(ram(f)[MEM_CMDLINE + MEM_CMDLINE_MAX - 1], 0);
	memset(cl, 'd', MEM_CMDLINE_MAX);
	cl[MEM_CMDLINE_MAX] = 0;
	assert_int_equal(boot_setup(&b, cl, 0, 0), -E2BIG);
	assert_int_equal(ram(f)[MEM_CMDLINE], 'c');
	boot_done(&b);

	/* A kernel that takes no command line at all. */
	build_image(im);
	put32(im->b, 0x238, 0);
	boot_load(&b, f, im);
	assert_int_equal(boot_setup(&b, "", 0, 0), 0);
	assert_int_equal(boot_setup(&b, "x", 0, 0), -E2BIG);
	boot_done(&b);
	free(cl);
	free(im);
	free_guest(f);
}

static void test_setup_initrd(void **state)
{
	struct fake *f = small_guest();
	struct image *im = new_image();
	struct booted b;
	uint8_t *bp = zero_page(f);

	(void)state;
	boot_load(&b, f, im);
	assert_int_equal(boot_setup(&b, "", 0x800000, 0x123456), 0);
	assert_int_equal(get32(bp, BP_RAMDISK_IMAGE), 0x800000);
	assert_int_equal(get32(bp, BP_RAMDISK_SIZE), 0x123456);
	/* Size 0: no initrd, whatever the address. */
	assert_int_equal(boot_setup(&b, "", 0x800000, 0), 0);
	assert_int_equal(get32(bp, BP_RAMDISK_IMAGE), 0);
	assert_int_equal(get32(bp, BP_RAMDISK_SIZE), 0);
	/* Ending exactly at initrd_addr_max (its last byte may be there). */
	assert_int_equal(boot_setup(&b, "", INITRD_MAX + 1 - 0x1000, 0x1000), 0);
	assert_int_equal(get32(bp, BP_RAMDISK_IMAGE), INITRD_MAX + 1 - 0x1000);
	/* One byte above it. */
	memset(bp, FILL, 4096);
	assert_int_equal(boot_setup(&b, "", INITRD_MAX + 1 - 0x1000, 0x1001), -ERANGE);
	assert_int_equal(boot_setup(&b, "", INITRD_MAX + 1, 1), -ERANGE);
	assert_int_equal(boot_setup(&b, "", 0x100000000ULL, 0x1000), -ERANGE);
	assert_int_equal(bp[BP_TYPE_OF_LOADER], FILL);      /* nothing written */
	boot_done(&b);

	/* A lower limit from another kernel. */
	build_image(im);
	put32(im->b, 0x22c, 0x00ffffff);
	boot_load(&b, f, im);
	assert_int_equal(b.bz.initrd_max, 0x00ffffff);
	assert_int_equal(boot_setup(&b, "", 0xff0000, 0x10000), 0);
	assert_int_equal(boot_setup(&b, "", 0xff0000, 0x10001), -ERANGE);
	boot_done(&b);
	free(im);
	free_guest(f);
}

static void check_e820(struct fake *f)
{
	struct e820_entry e[MEM_MAX_REGIONS + 2];
	unsigned int n = mem_e820(&f->gm, e, ARRAY_SIZE(e));
	const uint8_t *bp = zero_page(f);

	assert_true(n > 0);
	assert_int_equal(bp[BP_E820_ENTRIES], n);
	for (unsigned int i = 0; i < n; i++) {
		const uint8_t *p = bp + BP_E820_TABLE + i * 20;

		assert_int_equal(get64(p, 0), e[i].addr);
		assert_int_equal(get64(p, 8), e[i].size);
		assert_int_equal(get32(p, 16), e[i].type);
	}
	/* Nothing after the last entry. */
	for (unsigned int i = 0; i < 20; i++)
		assert_int_equal(bp[BP_E820_TABLE + n * 20 + i], 0);
}

static void test_setup_e820(void **state)
{
	struct fake *f = small_guest();
	struct fake *big = layout_guest(6 * GiB);
	struct image *im = new_image();
	struct booted b;
	const uint8_t *bp;

	(void)state;
	boot_load(&b, f, im);
	assert_int_equal(boot_setup(&b, "", 0, 0), 0);
	check_e820(f);
	/* Low RAM, the reserved EBDA/BIOS area, RAM above 1 MiB. */
	bp = zero_page(f);
	assert_int_equal(bp[BP_E820_ENTRIES], 3);
	assert_int_equal(get64(bp, BP_E820_TABLE + 40), 1 * MiB);
	assert_int_equal(get64(bp, BP_E820_TABLE + 48), GUEST_SIZE - 1 * MiB);
	assert_int_equal(get32(bp, BP_E820_TABLE + 56), E820_RAM);
	boot_done(&b);

	/* Above the hole too. */
	boot_load(&b, big, im);
	assert_int_equal(boot_setup(&b, "", 0, 0), 0);
	check_e820(big);
	bp = zero_page(big);
	assert_int_equal(bp[BP_E820_ENTRIES], 4);
	assert_int_equal(get64(bp, BP_E820_TABLE + 60), MEM_4G);
	assert_int_equal(get64(bp, BP_E820_TABLE + 68), 6 * GiB - MEM_HOLE_START);
	boot_done(&b);
	free(im);
	free_guest(big);
	free_guest(f);
}

static void test_setup_gdt(void **state)
{
	struct fake *f = small_guest();
	struct image *im = new_image();
	struct booted b;
	uint64_t gdt[4];

	(void)state;
	boot_load(&b, f, im);
	assert_int_equal(boot_setup(&b, "", 0, 0), 0);
	assert_int_equal(mem_read(&f->gm, BZ_GDT_ADDR, gdt, sizeof(gdt)), 0);
	assert_int_equal(BZ_GDT_ADDR, 0x500);
	assert_int_equal(gdt[0], 0);
	assert_int_equal(gdt[1], 0);
	/* 0x10 (__BOOT_CS): present, DPL 0, code, execute/read, L = 1, D = 0. */
	assert_int_equal(gdt[2], 0x00af9a000000ffffULL);
	assert_true(gdt[2] & (1ULL << 47));       /* P */
	assert_int_equal((gdt[2] >> 45) & 3, 0);  /* DPL */
	assert_true(gdt[2] & (1ULL << 44));       /* S */
	assert_true(gdt[2] & (1ULL << 43));       /* code */
	assert_true(gdt[2] & (1ULL << 53));       /* L */
	assert_false(gdt[2] & (1ULL << 54));      /* D must be 0 with L */
	/* 0x18 (__BOOT_DS): present, data, writable, 4 GiB. */
	assert_int_equal(gdt[3], 0x00cf92000000ffffULL);
	assert_true(gdt[3] & (1ULL << 47));
	assert_false(gdt[3] & (1ULL << 43));
	assert_true(gdt[3] & (1ULL << 41));
	boot_done(&b);
	free(im);
	free_guest(f);
}

/*
 * Translate `va` with the 4-level tables at `cr3`, reading the tables out of
 * guest memory as the CPU would.  Returns the physical address, and the page
 * size through *psize; fails the test on a non-present entry.
 */
static uint64_t walk(struct fake *f, uint64_t cr3, uint64_t va, uint64_t *psize)
{
	static const unsigned int shift[] = { 39, 30, 21, 12 };
	uint64_t table = cr3 & ~0xfffULL;

	for (unsigned int lvl = 0; lvl < 4; lvl++) {
		uint64_t e;
		unsigned int idx = (va >> shift[lvl]) & 511;

		assert_int_equal(mem_read(&f->gm, table + idx * 8, &e, 8), 0);
		if (!(e & 1))
			fail_msg("va %#llx: level %u entry %u not present (%#llx)",
				 (unsigned long long)va, lvl, idx, (unsigned long long)e);
		if (!(e & 2))
			fail_msg("va %#llx: level %u entry not writable", (unsigned long long)va, lvl);
		if (lvl == 0)
			assert_false(e & 0x80);     /* PS is reserved in a PML4E */
		if (lvl == 3 || (lvl > 0 && (e & 0x80))) {
			uint64_t size = 1ULL << shift[lvl];
			uint64_t frame = e & 0x000ffffffffff000ULL & ~(size - 1);

			*psize = size;
			return frame | (va & (size - 1));
		}
		table = e & 0x000ffffffffff000ULL;
	}
	fail_msg("unreachable");
	return 0;
}

static bool mapped(struct fake *f, uint64_t cr3, uint64_t va)
{
	static const unsigned int shift[] = { 39, 30, 21 };
	uint64_t table = cr3;

	for (unsigned int lvl = 0; lvl < 3; lvl++) {
		uint64_t e;

		assert_int_equal(mem_read(&f->gm, table + ((va >> shift[lvl]) & 511) * 8, &e, 8), 0);
		if (!(e & 1))
			return false;
		if (lvl > 0 && (e & 0x80))
			return true;
		table = e & 0x000ffffffffff000ULL;
	}
	return true;
}

static void test_setup_page_tables(void **state)
{
	struct fake *f = small_guest();
	struct image *im = new_image();
	static const uint64_t vas[] = {
		0, 0x500, 0x7000, 0x9000, 0x20000, 0x100000, 0x100200, 0x1fffff, 0x200000,
		0x3fe00123, 0x40000000, 0x7fffffff, 0x80000000, 0xBFFFFFFF, 0xC0000000,
		0xFEC00000, 0xFEE00000, 0xFFE00000, 0xFFFFFFFF,
	};
	struct booted b;

	(void)state;
	boot_load(&b, f, im);
	assert_int_equal(boot_setup(&b, "console=ttyS0", 0, 0), 0);
	assert_int_equal(BZ_PML4_ADDR, 0x9000);
	for (unsigned int i = 0; i < ARRAY_SIZE(vas); i++) {
		uint64_t size = 0;
		uint64_t pa = walk(f, BZ_PML4_ADDR, vas[i], &size);

		if (pa != vas[i])
			fail_msg("va %#llx maps to %#llx, not identity",
				 (unsigned long long)vas[i], (unsigned long long)pa);
		assert_int_equal(size, 2 * MiB);
	}
	/* Every 2 MiB page of the first 4 GiB. */
	for (uint64_t va = 0; va < MEM_4G; va += 2 * MiB) {
		uint64_t size, pa = walk(f, BZ_PML4_ADDR, va + 0x1234, &size);

		if (pa != va + 0x1234 || size != 2 * MiB)
			fail_msg("va %#llx not identity-mapped", (unsigned long long)va);
	}
	/* Nothing at or above 4 GiB. */
	assert_false(mapped(f, BZ_PML4_ADDR, MEM_4G));
	assert_false(mapped(f, BZ_PML4_ADDR, 5 * GiB));
	assert_false(mapped(f, BZ_PML4_ADDR, 1ULL << 39));
	assert_false(mapped(f, BZ_PML4_ADDR, 0xffffffff80000000ULL));

	/* The tables did not clobber the zero page, GDT or command line. */
	assert_int_equal(zero_page(f)[BP_TYPE_OF_LOADER], 0xff);
	assert_memory_equal(zero_page(f) + 0x202, "HdrS", 4);
	assert_string_equal((char *)ram(f) + MEM_CMDLINE, "console=ttyS0");
	{
		uint64_t cs;

		assert_int_equal(mem_read(&f->gm, BZ_GDT_ADDR + 0x10, &cs, 8), 0);
		assert_int_equal(cs, 0x00af9a000000ffffULL);
	}
	/* Nor the kernel. */
	check_payload_at_1m(f, PAYLOAD);
	boot_done(&b);
	free(im);
	free_guest(f);
}

/* The tables are rebuilt from scratch: stale entries in the pages are cleared. */
static void test_setup_tables_cleared(void **state)
{
	struct fake *f = small_guest();
	struct image *im = new_image();
	struct booted b;
	uint64_t e;

	(void)state;
	memset(ram(f) + BZ_PML4_ADDR, 0xff, 0x6000);
	boot_load(&b, f, im);
	assert_int_equal(boot_setup(&b, "", 0, 0), 0);
	assert_int_equal(mem_read(&f->gm, BZ_PML4_ADDR + 8, &e, 8), 0);
	assert_int_equal(e, 0);
	assert_int_equal(mem_read(&f->gm, BZ_PML4_ADDR + 511 * 8, &e, 8), 0);
	assert_int_equal(e, 0);
	assert_false(mapped(f, BZ_PML4_ADDR, MEM_4G));
	assert_false(mapped(f, BZ_PML4_ADDR, 0xffffffff80000000ULL));
	boot_done(&b);
	free(im);
	free_guest(f);
}

/* A guest too small for the tables (they need 0x500-0xF000): -EFAULT, not a crash. */
static void test_setup_no_ram(void **state)
{
	struct fake *f = small_guest();
	struct image *im = new_image();
	struct booted b;
	struct guest_mem tiny;

	(void)state;
	boot_load(&b, f, im);
	tiny = f->gm;
	tiny.regions[0].size = 0x8000;        /* zero page fits; command line, page tables do not */
	tiny.total = 0x8000;
	assert_int_equal(bzimage_setup(&tiny, b.copy, im->size, &b.bz, "", 0, 0, RSDP), -EFAULT);
	tiny.regions[0].size = 0x7800;        /* not even the zero page */
	assert_int_equal(bzimage_setup(&tiny, b.copy, im->size, &b.bz, "", 0, 0, RSDP), -EFAULT);
	boot_done(&b);
	free(im);
	free_guest(f);
}

/* ---- initrd placement under initrd_addr_max ---- */

static void test_initrd_addr_below(void **state)
{
	struct guest_mem gm;
	gpa_t a = 0;

	(void)state;
	assert_int_equal(mem_layout(&gm, 256 * MiB), 0);
	/* A limit above RAM changes nothing: top of RAM. */
	assert_int_equal(boot_initrd_addr_below(&gm, 10 * MiB, 16 * MiB, INITRD_MAX, &a), 0);
	assert_int_equal(a, 246 * MiB);
	assert_int_equal(boot_initrd_addr_below(&gm, 10 * MiB, 16 * MiB, UINT64_MAX, &a), 0);
	assert_int_equal(a, 246 * MiB);
	/* A limit inside RAM: the last byte at or below it. */
	assert_int_equal(boot_initrd_addr_below(&gm, 10 * MiB, 16 * MiB, 128 * MiB - 1, &a), 0);
	assert_int_equal(a, 118 * MiB);
	assert_int_equal(boot_initrd_addr_below(&gm, 10 * MiB + 123, 16 * MiB, 100 * MiB + 0x777,
						&a), 0);
	assert_int_equal(a % 4096, 0);
	assert_true(a + 10 * MiB + 123 - 1 <= 100 * MiB + 0x777);
	assert_true(a + 10 * MiB + 123 - 1 > 100 * MiB + 0x777 - 4096);
	assert_true(a >= 16 * MiB);
	/* Exactly fits between the kernel and the limit. */
	assert_int_equal(boot_initrd_addr_below(&gm, 10 * MiB, 16 * MiB, 26 * MiB - 1, &a), 0);
	assert_int_equal(a, 16 * MiB);

	/* Nothing fits under the limit: -ENOMEM, *addr untouched. */
	a = 0x77;
	assert_int_equal(boot_initrd_addr_below(&gm, 10 * MiB, 16 * MiB, 26 * MiB - 2, &a),
			 -ENOMEM);
	assert_int_equal(boot_initrd_addr_below(&gm, 10 * MiB, 16 * MiB, 16 * MiB, &a), -ENOMEM);
	assert_int_equal(boot_initrd_addr_below(&gm, 10 * MiB, 16 * MiB, 8 * MiB, &a), -ENOMEM);
	assert_int_equal(boot_initrd_addr_below(&gm, 4096, 16 * MiB, 0, &a), -ENOMEM);
	assert_int_equal(boot_initrd_addr_below(&gm, 64 * MiB, 0, 32 * MiB, &a), -ENOMEM);
	assert_int_equal(a, 0x77);

	/* Big guest: the limit (4 GiB - 1) is above the hole, low RAM still decides. */
	assert_int_equal(mem_layout(&gm, 6 * GiB), 0);
	assert_int_equal(boot_initrd_addr_below(&gm, 64 * MiB, 32 * MiB, 0xffffffff, &a), 0);
	assert_int_equal(a, MEM_HOLE_START - 64 * MiB);
	assert_true(mem_is_ram(&gm, a, 64 * MiB));
	/* The common 0x37FFFFFF limit of older kernels. */
	assert_int_equal(boot_initrd_addr_below(&gm, 64 * MiB, 32 * MiB, 0x37ffffff, &a), 0);
	assert_int_equal(a, 0x38000000 - 64 * MiB);
	assert_int_equal(boot_initrd_addr_below(&gm, 0x38000000 - 32 * MiB + 1, 32 * MiB,
						0x37ffffff, &a), -ENOMEM);
}

/* load + initrd placement + setup agree: what placement returns, setup accepts. */
static void test_initrd_end_to_end(void **state)
{
	struct fake *f = small_guest();
	struct image *im = new_image();
	struct booted b;
	gpa_t a = 0;

	(void)state;
	put32(im->b, 0x22c, 12 * MiB - 1);
	boot_load(&b, f, im);
	assert_int_equal(boot_initrd_addr_below(&f->gm, 0x12345, b.bz.kernel_end,
						b.bz.initrd_max, &a), 0);
	assert_true(a >= b.bz.kernel_end);
	assert_true(a + 0x12345 <= 12 * MiB);
	assert_int_equal(boot_setup(&b, "", a, 0x12345), 0);
	assert_int_equal(get32(zero_page(f), BP_RAMDISK_IMAGE), a);
	assert_int_equal(get32(zero_page(f), BP_RAMDISK_SIZE), 0x12345);
	/* Too big for the room between the kernel and the limit. */
	assert_int_equal(boot_initrd_addr_below(&f->gm, 12 * MiB - b.bz.kernel_end + 1,
						b.bz.kernel_end, b.bz.initrd_max, &a), -ENOMEM);
	boot_done(&b);
	free(im);
	free_guest(f);
}

/* init_size counts from where the kernel runs: 16 MiB for a relocatable kernel
 * with LOAD_PHYSICAL_ADDR 16 MiB, so kernel_end is 16 MiB + init_size. */
static void test_load_runtime_address(void **state)
{
	struct fake *f = layout_guest(64 * MiB);
	struct image *im = new_image();
	struct result r;

	(void)state;
	im->b[0x234] = 1;                          /* relocatable */
	put64(im->b, 0x258, 16 * MiB);            /* pref_address = LOAD_PHYSICAL_ADDR */
	put32(im->b, 0x260, 4 * MiB);             /* init_size */
	expect_load(f, im, &r);
	assert_int_equal(r.bz.kernel_end, 20 * MiB);
	/* Non-relocatable at 16 MiB in a 16 MiB guest: it cannot run there. */
	free_guest(f);
	f = layout_guest(16 * MiB);
	im->b[0x234] = 0;
	expect_reject(f, im, "kernel runs above RAM", "RAM");
	free_guest(f);
	free(im);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_detect),
		cmocka_unit_test(test_load_good),
		cmocka_unit_test(test_load_runtime_address),
		cmocka_unit_test(test_load_kernel_end),
		cmocka_unit_test(test_load_setup_sects),
		cmocka_unit_test(test_reject_size),
		cmocka_unit_test(test_reject_header),
		cmocka_unit_test(test_reject_truncated),
		cmocka_unit_test(test_reject_ram),
		cmocka_unit_test(test_err_truncated),
		cmocka_unit_test(test_setup_boot_params),
		cmocka_unit_test(test_setup_header_len),
		cmocka_unit_test(test_setup_cmdline),
		cmocka_unit_test(test_setup_initrd),
		cmocka_unit_test(test_setup_e820),
		cmocka_unit_test(test_setup_gdt),
		cmocka_unit_test(test_setup_page_tables),
		cmocka_unit_test(test_setup_tables_cleared),
		cmocka_unit_test(test_setup_no_ram),
		cmocka_unit_test(test_initrd_addr_below),
		cmocka_unit_test(test_initrd_end_to_end),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
