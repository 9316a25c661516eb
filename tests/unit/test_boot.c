// SPDX-License-Identifier: GPL-2.0-only
/* boot: the PVH ELF loader against hand-built images, hvm_start_info, initrd placement. */
#include <elf.h>
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
#include "memory.h"
#include "util.h"

#include "fake_guest.h"

/* ---- ELF images ---- */

#define PH_OFF     64
#define NOTE_OFF   0x180      /* room for up to 5 program headers before it */
#define LOAD_OFF   0x200
#define LOAD_FILE  0x300
#define LOAD_MEM   0x1000
#define LOAD_PADDR 0x100000ULL
#define ENTRY      0x100010ULL
#define IMG_SIZE   (LOAD_OFF + LOAD_FILE)

_Static_assert(PH_OFF + 5 * sizeof(Elf64_Phdr) <= NOTE_OFF, "program headers overlap the notes");
_Static_assert(NOTE_OFF + 64 <= LOAD_OFF, "notes overlap the segment data");

struct image {
	union {
		uint8_t b[0x2000];
		Elf64_Ehdr eh;              /* keeps the buffer aligned like a real file */
	};
	size_t size;
};

static Elf64_Ehdr *ehdr(struct image *im)
{
	return &im->eh;
}

static Elf64_Phdr *phdr(struct image *im, unsigned int i)
{
	return (Elf64_Phdr *)(im->b + PH_OFF + i * sizeof(Elf64_Phdr));
}

static uint8_t data_byte(size_t i)
{
	return (uint8_t)(i * 31 + 7) | 1;    /* never 0 or FILL-like runs */
}

/* Write a note at `off`; returns the offset after it. */
static size_t put_note(struct image *im, size_t off, uint32_t type, const char *name,
		       uint32_t namesz, const void *desc, uint32_t descsz)
{
	Elf64_Nhdr nh = { .n_namesz = namesz, .n_descsz = descsz, .n_type = type };

	memcpy(im->b + off, &nh, sizeof(nh));
	off += sizeof(nh);
	memcpy(im->b + off, name, namesz);
	off += ALIGN_UP(namesz, 4);
	memcpy(im->b + off, desc, descsz);
	return off + ALIGN_UP(descsz, 4);
}

/*
 * A good PVH kernel: a PT_NOTE holding a GNU build-id note and the Xen
 * PHYS32_ENTRY note, and a PT_LOAD of LOAD_FILE bytes (LOAD_MEM in memory) at 1 MiB.
 */
static void build_image(struct image *im)
{
	Elf64_Ehdr *eh = ehdr(im);
	uint32_t entry = ENTRY;
	uint8_t id[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	size_t end;

	memset(im, 0, sizeof(*im));
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_entry = 0xffffffff81000000ULL;    /* the 64-bit entry: not what PVH uses */
	eh->e_phoff = PH_OFF;
	eh->e_ehsize = sizeof(Elf64_Ehdr);
	eh->e_phentsize = sizeof(Elf64_Phdr);
	eh->e_phnum = 2;

	end = put_note(im, NOTE_OFF, NT_GNU_BUILD_ID, "GNU", 4, id, sizeof(id));
	end = put_note(im, end, XEN_ELFNOTE_PHYS32_ENTRY, "Xen", 4, &entry, 4);
	*phdr(im, 0) = (Elf64_Phdr){ .p_type = PT_NOTE, .p_offset = NOTE_OFF,
				     .p_filesz = end - NOTE_OFF, .p_align = 4 };
	*phdr(im, 1) = (Elf64_Phdr){ .p_type = PT_LOAD, .p_flags = PF_R | PF_X,
				     .p_offset = LOAD_OFF, .p_vaddr = 0xffffffff81000000ULL,
				     .p_paddr = LOAD_PADDR, .p_filesz = LOAD_FILE,
				     .p_memsz = LOAD_MEM, .p_align = 0x1000 };
	for (size_t i = 0; i < LOAD_FILE; i++)
		im->b[LOAD_OFF + i] = data_byte(i);
	im->size = IMG_SIZE;
}

struct result {
	int ret;
	gpa_t entry, end;
	char err[256];
};

/* Load from a heap copy of exactly im->size bytes, so over-reads are caught. */
static struct result load(const struct guest_mem *gm, const struct image *im)
{
	struct result r = { .entry = 0x1111, .end = 0x2222 };
	uint8_t *copy = malloc(im->size ? im->size : 1);

	assert_non_null(copy);
	memcpy(copy, im->b, im->size);
	r.ret = pvh_load_elf(gm, copy, im->size, &r.entry, &r.end, r.err, sizeof(r.err));
	free(copy);
	return r;
}

static void expect_reject(const struct guest_mem *gm, const struct image *im,
			  const char *why, const char *needle)
{
	struct result r = load(gm, im);

	if (r.ret != -ENOEXEC)
		fail_msg("%s: got %d, want -ENOEXEC", why, r.ret);
	if (!r.err[0] || !strstr(r.err, needle))
		fail_msg("%s: error \"%s\" does not mention \"%s\"", why, r.err, needle);
	/* Outputs untouched on failure. */
	assert_int_equal(r.entry, 0x1111);
	assert_int_equal(r.end, 0x2222);
}

static void test_good_image(void **state)
{
	struct fake *f = small_guest();
	struct image *im = malloc(sizeof(*im));
	struct result r;
	const uint8_t *ram = f->map;

	(void)state;
	build_image(im);
	r = load(&f->gm, im);
	if (r.ret)
		fail_msg("good image rejected: %s", r.err);
	assert_int_equal(r.entry, ENTRY);
	assert_int_equal(r.end, LOAD_PADDR + LOAD_MEM);
	for (size_t i = 0; i < LOAD_FILE; i++)
		assert_int_equal(ram[LOAD_PADDR + i], data_byte(i));
	/* bss is zero-filled, and nothing after it is touched. */
	for (size_t i = LOAD_FILE; i < LOAD_MEM; i++)
		if (ram[LOAD_PADDR + i])
			fail_msg("bss byte %#zx not zeroed", i);
	assert_int_equal(ram[LOAD_PADDR + LOAD_MEM], FILL);
	assert_int_equal(ram[LOAD_PADDR - 1], FILL);
	free(im);
	free_guest(f);
}

static void test_good_variants(void **state)
{
	struct fake *f = small_guest();
	struct image *im = malloc(sizeof(*im));
	const uint8_t *ram = f->map;
	struct result r;

	(void)state;
	/* A 64-bit entry note. */
	build_image(im);
	{
		uint64_t e64 = 0x100020;
		size_t end = put_note(im, NOTE_OFF, XEN_ELFNOTE_PHYS32_ENTRY, "Xen", 4, &e64, 8);

		phdr(im, 0)->p_filesz = end - NOTE_OFF;
	}
	r = load(&f->gm, im);
	assert_int_equal(r.ret, 0);
	assert_int_equal(r.entry, 0x100020);

	/* Two loadable segments, an empty one, and a segment type the loader ignores. */
	build_image(im);
	ehdr(im)->e_phnum = 5;
	*phdr(im, 2) = (Elf64_Phdr){ .p_type = PT_LOAD, .p_offset = LOAD_OFF + 0x100,
				     .p_paddr = 0x400000, .p_filesz = 0x80, .p_memsz = 0x2000 };
	*phdr(im, 3) = (Elf64_Phdr){ .p_type = PT_LOAD, .p_offset = 0, .p_paddr = 0x7c00,
				     .p_filesz = 0, .p_memsz = 0 };   /* empty: skipped */
	*phdr(im, 4) = (Elf64_Phdr){ .p_type = PT_GNU_STACK, .p_offset = UINT64_MAX,
				     .p_filesz = UINT64_MAX };        /* not examined */
	memset(f->map, FILL, GUEST_SIZE);
	r = load(&f->gm, im);
	if (r.ret)
		fail_msg("rejected: %s", r.err);
	assert_int_equal(r.end, 0x402000);
	assert_int_equal(ram[0x400000], data_byte(0x100));
	assert_int_equal(ram[0x40007f], data_byte(0x17f));
	assert_int_equal(ram[0x400080], 0);
	assert_int_equal(ram[0x401fff], 0);
	assert_int_equal(ram[0x402000], FILL);
	assert_int_equal(ram[0x7c00], FILL);

	/* A segment ending exactly at the end of RAM. */
	build_image(im);
	phdr(im, 1)->p_paddr = GUEST_SIZE - LOAD_MEM;
	{
		uint32_t e = GUEST_SIZE - LOAD_MEM;
		size_t end = put_note(im, NOTE_OFF, XEN_ELFNOTE_PHYS32_ENTRY, "Xen", 4, &e, 4);

		phdr(im, 0)->p_filesz = end - NOTE_OFF;
	}
	r = load(&f->gm, im);
	if (r.ret)
		fail_msg("rejected: %s", r.err);
	assert_int_equal(r.end, GUEST_SIZE);
	free(im);
	free_guest(f);
}

static void test_reject_header(void **state)
{
	struct fake *f = small_guest();
	struct image *im = malloc(sizeof(*im));

	(void)state;
	build_image(im);
	im->size = 0;
	expect_reject(&f->gm, im, "empty file", "too small");
	im->size = 4;
	expect_reject(&f->gm, im, "4 bytes", "too small");
	im->size = sizeof(Elf64_Ehdr) - 1;
	expect_reject(&f->gm, im, "short header", "too small");

	build_image(im);
	memcpy(im->b, "MZ\x90\x00", 4);
	expect_reject(&f->gm, im, "no magic", "ELF magic");
	build_image(im);
	im->b[3] = 'G';
	expect_reject(&f->gm, im, "bad magic", "ELF magic");

	build_image(im);
	ehdr(im)->e_ident[EI_CLASS] = ELFCLASS32;
	expect_reject(&f->gm, im, "ELF32", "64-bit");
	build_image(im);
	ehdr(im)->e_ident[EI_DATA] = ELFDATA2MSB;
	expect_reject(&f->gm, im, "big-endian", "little-endian");
	build_image(im);
	ehdr(im)->e_machine = EM_386;
	expect_reject(&f->gm, im, "i386", "x86-64");
	build_image(im);
	ehdr(im)->e_machine = EM_AARCH64;
	expect_reject(&f->gm, im, "arm64", "x86-64");

	build_image(im);
	ehdr(im)->e_type = ET_DYN;
	expect_reject(&f->gm, im, "ET_DYN", "not an executable");
	build_image(im);
	ehdr(im)->e_type = ET_REL;
	expect_reject(&f->gm, im, "ET_REL", "not an executable");
	free(im);
	free_guest(f);
}

static void test_reject_phdrs(void **state)
{
	struct fake *f = small_guest();
	struct image *im = malloc(sizeof(*im));

	(void)state;
	build_image(im);
	ehdr(im)->e_phoff = IMG_SIZE + 0x1000;
	expect_reject(&f->gm, im, "phoff beyond the file", "program header");
	build_image(im);
	ehdr(im)->e_phoff = IMG_SIZE - sizeof(Elf64_Phdr);      /* second entry runs off the end */
	expect_reject(&f->gm, im, "table truncated", "program header");
	build_image(im);
	ehdr(im)->e_phoff = UINT64_MAX - 8;
	expect_reject(&f->gm, im, "phoff wraps", "program header");
	build_image(im);
	ehdr(im)->e_phnum = 0xffff;                             /* 0xffff * 56 is past any file */
	expect_reject(&f->gm, im, "phnum huge", "program header");
	build_image(im);
	ehdr(im)->e_phentsize = 0xffff;
	expect_reject(&f->gm, im, "phentsize huge", "program header");
	build_image(im);
	ehdr(im)->e_phentsize = 32;
	expect_reject(&f->gm, im, "phentsize short", "program header");
	build_image(im);
	ehdr(im)->e_phnum = 0;
	expect_reject(&f->gm, im, "no program headers", "program header");
	free(im);
	free_guest(f);
}

static void test_reject_segments(void **state)
{
	struct fake *f = small_guest();
	struct image *im = malloc(sizeof(*im));

	(void)state;
	/* The file ends before the segment's data does. */
	build_image(im);
	im->size = IMG_SIZE - 1;
	expect_reject(&f->gm, im, "truncated file", "truncated");
	build_image(im);
	phdr(im, 1)->p_filesz = LOAD_MEM + 1;
	phdr(im, 1)->p_memsz = LOAD_MEM + 1;
	expect_reject(&f->gm, im, "filesz past the end", "truncated");
	build_image(im);
	phdr(im, 1)->p_offset = UINT64_MAX - 0x10;
	expect_reject(&f->gm, im, "offset wraps", "truncated");
	build_image(im);
	phdr(im, 0)->p_offset = IMG_SIZE;
	phdr(im, 0)->p_filesz = 1;
	expect_reject(&f->gm, im, "note past the end", "truncated");

	build_image(im);
	phdr(im, 1)->p_memsz = LOAD_FILE - 1;
	expect_reject(&f->gm, im, "filesz > memsz", "larger in the file");

	build_image(im);
	phdr(im, 1)->p_paddr = 0x7c00;
	expect_reject(&f->gm, im, "below 1 MiB", "below 1 MiB");
	build_image(im);
	phdr(im, 1)->p_paddr = LOAD_PADDR - 1;
	expect_reject(&f->gm, im, "just below 1 MiB", "below 1 MiB");

	build_image(im);
	phdr(im, 1)->p_paddr = GUEST_SIZE - LOAD_MEM + 1;
	expect_reject(&f->gm, im, "past the end of RAM", "guest RAM");
	build_image(im);
	phdr(im, 1)->p_paddr = GUEST_SIZE;
	expect_reject(&f->gm, im, "beyond RAM", "guest RAM");
	build_image(im);
	phdr(im, 1)->p_memsz = UINT64_MAX;
	expect_reject(&f->gm, im, "memsz huge", "guest RAM");
	build_image(im);
	phdr(im, 1)->p_paddr = 0xFFFFFFFFFFFFF000ULL;
	phdr(im, 1)->p_memsz = 0x2000;
	expect_reject(&f->gm, im, "paddr + memsz wraps", "guest RAM");

	/* Only notes: nothing to load. */
	build_image(im);
	ehdr(im)->e_phnum = 1;
	expect_reject(&f->gm, im, "no PT_LOAD", "no loadable");
	free(im);
	free_guest(f);
}

static void test_reject_hole(void **state)
{
	struct fake *f = layout_guest(4 * GiB);
	struct image *im = malloc(sizeof(*im));
	struct result r;

	(void)state;
	/* Into the 32-bit hole, and across its start. */
	build_image(im);
	phdr(im, 1)->p_paddr = MEM_HOLE_START;
	expect_reject(&f->gm, im, "in the hole", "guest RAM");
	build_image(im);
	phdr(im, 1)->p_paddr = MEM_HOLE_START - 0x800;
	expect_reject(&f->gm, im, "across the hole", "guest RAM");
	/* Spanning low RAM, the hole and high RAM. */
	build_image(im);
	phdr(im, 1)->p_paddr = MEM_HOLE_START - 0x1000;
	phdr(im, 1)->p_memsz = MEM_4G - MEM_HOLE_START + 0x2000;
	expect_reject(&f->gm, im, "over the hole", "guest RAM");
	/* High RAM above 4 GiB is fine for a segment. */
	build_image(im);
	phdr(im, 1)->p_paddr = MEM_4G + 0x1000;
	r = load(&f->gm, im);
	if (r.ret)
		fail_msg("high segment rejected: %s", r.err);
	assert_int_equal(r.end, MEM_4G + 0x1000 + LOAD_MEM);
	assert_int_equal(((uint8_t *)f->map)[MEM_HOLE_START + 0x1000], data_byte(0));
	free(im);
	free_guest(f);
}

static void set_entry_note(struct image *im, uint32_t type, const char *name, uint32_t namesz,
			   const void *desc, uint32_t descsz)
{
	size_t end = put_note(im, NOTE_OFF, type, name, namesz, desc, descsz);

	phdr(im, 0)->p_filesz = end - NOTE_OFF;
}

static void test_reject_notes(void **state)
{
	struct fake *f = small_guest();
	struct image *im = malloc(sizeof(*im));
	uint32_t e = ENTRY;
	uint16_t e16 = 0x1000;

	(void)state;
	/* No PT_NOTE at all. */
	build_image(im);
	*phdr(im, 0) = *phdr(im, 1);
	ehdr(im)->e_phnum = 1;
	expect_reject(&f->gm, im, "no notes", "PVH");
	/* Notes, but not the PVH one. */
	build_image(im);
	set_entry_note(im, 17, "Xen", 4, &e, 4);               /* another Xen note */
	expect_reject(&f->gm, im, "wrong note type", "PVH");
	build_image(im);
	set_entry_note(im, XEN_ELFNOTE_PHYS32_ENTRY, "Xem", 4, &e, 4);
	expect_reject(&f->gm, im, "wrong owner", "PVH");
	build_image(im);
	set_entry_note(im, XEN_ELFNOTE_PHYS32_ENTRY, "Xen", 4, &e16, 2);
	expect_reject(&f->gm, im, "2-byte entry", "PVH");
	/* Sizes that run past the segment must not be followed. */
	build_image(im);
	{
		Elf64_Nhdr nh = { .n_namesz = 0xfffffff0, .n_descsz = 4,
				  .n_type = XEN_ELFNOTE_PHYS32_ENTRY };

		memcpy(im->b + NOTE_OFF, &nh, sizeof(nh));
	}
	expect_reject(&f->gm, im, "namesz huge", "PVH");
	build_image(im);
	{
		Elf64_Nhdr nh = { .n_namesz = 4, .n_descsz = 0xffffffff,
				  .n_type = XEN_ELFNOTE_PHYS32_ENTRY };

		memcpy(im->b + NOTE_OFF, &nh, sizeof(nh));
	}
	expect_reject(&f->gm, im, "descsz huge", "PVH");
	/* The PVH note cut off by the segment's end. */
	build_image(im);
	phdr(im, 0)->p_filesz -= 2;
	expect_reject(&f->gm, im, "note truncated by p_filesz", "PVH");
	/* A segment too short to hold even a note header. */
	build_image(im);
	phdr(im, 0)->p_filesz = 5;
	expect_reject(&f->gm, im, "tiny note segment", "PVH");
	free(im);
	free_guest(f);
}

static void test_reject_entry(void **state)
{
	struct fake *f = small_guest();
	struct fake *big = layout_guest(6 * GiB);
	struct image *im = malloc(sizeof(*im));
	uint32_t e;
	uint64_t e64;

	(void)state;
	build_image(im);
	e = GUEST_SIZE;
	set_entry_note(im, XEN_ELFNOTE_PHYS32_ENTRY, "Xen", 4, &e, 4);
	expect_reject(&f->gm, im, "entry past RAM", "entry point");
	build_image(im);
	e = 0xfffffff0;
	set_entry_note(im, XEN_ELFNOTE_PHYS32_ENTRY, "Xen", 4, &e, 4);
	expect_reject(&f->gm, im, "entry at the top of 4 GiB", "entry point");
	/* In the hole of a big guest; in high RAM, which a 32-bit entry cannot reach. */
	build_image(im);
	e = 0xC0001000;
	set_entry_note(im, XEN_ELFNOTE_PHYS32_ENTRY, "Xen", 4, &e, 4);
	expect_reject(&big->gm, im, "entry in the hole", "entry point");
	build_image(im);
	e64 = MEM_4G + 0x1000;
	set_entry_note(im, XEN_ELFNOTE_PHYS32_ENTRY, "Xen", 4, &e64, 8);
	expect_reject(&big->gm, im, "entry above 4 GiB", "entry point");
	free(im);
	free_guest(big);
	free_guest(f);
}

static void test_err_truncated(void **state)
{
	struct fake *f = small_guest();
	struct image *im = malloc(sizeof(*im));
	char err[8];
	gpa_t entry, end;

	(void)state;
	build_image(im);
	ehdr(im)->e_type = ET_DYN;
	memset(err, 'X', sizeof(err));
	assert_int_equal(pvh_load_elf(&f->gm, im->b, im->size, &entry, &end, err, sizeof(err)),
			 -ENOEXEC);
	assert_int_equal(err[sizeof(err) - 1], 0);
	assert_int_equal(strlen(err), sizeof(err) - 1);
	free(im);
	free_guest(f);
}

/* ---- hvm_start_info ---- */

static void check_memmap(const struct fake *f, const struct hvm_start_info *si)
{
	struct e820_entry e[16];
	unsigned int n = mem_e820(&f->gm, e, ARRAY_SIZE(e));
	struct hvm_memmap_entry mm[16];

	assert_int_equal(si->memmap_entries, n);
	assert_int_equal(mem_read(&f->gm, si->memmap_paddr, mm, n * sizeof(mm[0])), 0);
	for (unsigned int i = 0; i < n; i++) {
		assert_int_equal(mm[i].addr, e[i].addr);
		assert_int_equal(mm[i].size, e[i].size);
		assert_int_equal(mm[i].type, e[i].type);
		assert_int_equal(mm[i].reserved, 0);
	}
	/* The map lies in RAM the e820 itself reports usable, clear of start_info. */
	assert_true(si->memmap_paddr >= MEM_START_INFO + sizeof(*si));
	assert_true(si->memmap_paddr + n * sizeof(mm[0]) <= e[0].addr + e[0].size);
	assert_true(si->memmap_paddr + n * sizeof(mm[0]) <= MEM_CMDLINE);
}

static void read_si(const struct fake *f, gpa_t at, struct hvm_start_info *si)
{
	assert_int_equal(at, MEM_START_INFO);
	assert_int_equal(mem_read(&f->gm, at, si, sizeof(*si)), 0);
	assert_int_equal(si->magic, HVM_START_MAGIC);
	assert_int_equal(si->magic, 0x336ec578);
	assert_int_equal(si->version, 1);
	assert_int_equal(si->flags, 0);
	assert_int_equal(si->reserved, 0);
}

static void test_start_info(void **state)
{
	struct fake *f = small_guest();
	const char *cl = "console=ttyS0 earlyprintk=serial root=/dev/vda rw";
	struct hvm_start_info si;
	gpa_t at = 0;
	char back[128];

	(void)state;
	assert_int_equal(sizeof(si), 56);
	assert_int_equal(pvh_write_start_info(&f->gm, cl, 0xE0000, 0, 0, &at), 0);
	read_si(f, at, &si);
	assert_int_equal(si.rsdp_paddr, 0xE0000);
	assert_int_equal(si.nr_modules, 0);
	assert_int_equal(si.modlist_paddr, 0);
	assert_int_equal(si.cmdline_paddr, MEM_CMDLINE);
	assert_int_equal(mem_read(&f->gm, si.cmdline_paddr, back, strlen(cl) + 1), 0);
	assert_string_equal(back, cl);
	check_memmap(f, &si);
	free_guest(f);
}

static void test_start_info_initrd(void **state)
{
	struct fake *f = layout_guest(6 * GiB);
	struct hvm_start_info si;
	struct hvm_modlist_entry mod;
	gpa_t at = 0;

	(void)state;
	assert_int_equal(pvh_write_start_info(&f->gm, "quiet", 0xE0000, 0x8000000, 0x123456, &at), 0);
	read_si(f, at, &si);
	assert_int_equal(si.nr_modules, 1);
	assert_int_equal(mem_read(&f->gm, si.modlist_paddr, &mod, sizeof(mod)), 0);
	assert_int_equal(mod.paddr, 0x8000000);
	assert_int_equal(mod.size, 0x123456);
	assert_int_equal(mod.cmdline_paddr, 0);
	assert_int_equal(mod.reserved, 0);
	/* The module entry overlaps neither start_info nor the memory map. */
	assert_true(si.modlist_paddr >= MEM_START_INFO + sizeof(si));
	assert_true(si.modlist_paddr + sizeof(mod) <= si.memmap_paddr ||
		    si.memmap_paddr + si.memmap_entries * sizeof(struct hvm_memmap_entry) <=
		    si.modlist_paddr);
	assert_int_equal(si.memmap_entries, 4);
	check_memmap(f, &si);
	free_guest(f);
}

static void test_start_info_cmdline(void **state)
{
	struct fake *f = small_guest();
	uint8_t *ram = f->map;
	struct hvm_start_info si;
	char *cl = malloc(MEM_CMDLINE_MAX + 2);
	gpa_t at = 0;

	(void)state;
	assert_non_null(cl);
	/* No command line: an empty string. */
	assert_int_equal(pvh_write_start_info(&f->gm, NULL, 0, 0, 0, &at), 0);
	read_si(f, at, &si);
	assert_int_equal(ram[si.cmdline_paddr], 0);

	/* A shorter line over a longer one is still terminated. */
	memset(ram + MEM_CMDLINE, 'X', 64);
	assert_int_equal(pvh_write_start_info(&f->gm, "ro", 0, 0, 0, &at), 0);
	assert_memory_equal(ram + MEM_CMDLINE, "ro", 3);
	assert_int_equal(ram[MEM_CMDLINE + 3], 'X');

	/* The longest line that fits (64 KiB with its NUL). */
	memset(cl, 'a', MEM_CMDLINE_MAX - 1);
	cl[MEM_CMDLINE_MAX - 1] = 0;
	assert_int_equal(pvh_write_start_info(&f->gm, cl, 0, 0, 0, &at), 0);
	assert_int_equal(ram[MEM_CMDLINE + MEM_CMDLINE_MAX - 2], 'a');
	assert_int_equal(ram[MEM_CMDLINE + MEM_CMDLINE_MAX - 1], 0);
	assert_int_equal(ram[MEM_CMDLINE + MEM_CMDLINE_MAX], FILL);

	/* One more is refused, and nothing is written. */
	memset(f->map, FILL, GUEST_SIZE);
	memset(cl, 'b', MEM_CMDLINE_MAX);
	cl[MEM_CMDLINE_MAX] = 0;
	at = 0x77;
	assert_int_equal(pvh_write_start_info(&f->gm, cl, 0, 0, 0, &at), -E2BIG);
	assert_int_equal(at, 0x77);
	assert_int_equal(ram[MEM_CMDLINE], FILL);
	assert_int_equal(ram[MEM_START_INFO], FILL);
	free(cl);
	free_guest(f);
}

/* ---- initrd placement ---- */

static void test_initrd_addr(void **state)
{
	struct guest_mem gm;
	gpa_t a = 0;

	(void)state;
	assert_int_equal(mem_layout(&gm, 256 * MiB), 0);
	/* Top of RAM, page-aligned, above the kernel. */
	assert_int_equal(boot_initrd_addr(&gm, 10 * MiB, 16 * MiB, &a), 0);
	assert_int_equal(a, 246 * MiB);
	assert_int_equal(boot_initrd_addr(&gm, 10 * MiB + 123, 16 * MiB, &a), 0);
	assert_int_equal(a % 4096, 0);
	assert_true(a + 10 * MiB + 123 <= 256 * MiB);
	assert_true(a + 10 * MiB + 123 > 256 * MiB - 4096);
	/* Exactly fits above the kernel. */
	assert_int_equal(boot_initrd_addr(&gm, 10 * MiB, 246 * MiB, &a), 0);
	assert_int_equal(a, 246 * MiB);
	/* Does not fit: overlaps the kernel, or is larger than RAM. */
	a = 0x77;
	assert_int_equal(boot_initrd_addr(&gm, 10 * MiB, 246 * MiB + 1, &a), -ENOMEM);
	assert_int_equal(boot_initrd_addr(&gm, 200 * MiB, 100 * MiB, &a), -ENOMEM);
	assert_int_equal(boot_initrd_addr(&gm, 256 * MiB + 4096, 2 * MiB, &a), -ENOMEM);
	assert_int_equal(boot_initrd_addr(&gm, UINT64_MAX, 2 * MiB, &a), -ENOMEM);
	assert_int_equal(a, 0x77);

	/* Big guests: below the 32-bit hole, not in high RAM. */
	assert_int_equal(mem_layout(&gm, 6 * GiB), 0);
	assert_int_equal(boot_initrd_addr(&gm, 64 * MiB, 32 * MiB, &a), 0);
	assert_int_equal(a, MEM_HOLE_START - 64 * MiB);
	assert_true(mem_is_ram(&gm, a, 64 * MiB));
	assert_int_equal(boot_initrd_addr(&gm, 4 * GiB, 32 * MiB, &a), -ENOMEM);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_image),
		cmocka_unit_test(test_good_variants),
		cmocka_unit_test(test_reject_header),
		cmocka_unit_test(test_reject_phdrs),
		cmocka_unit_test(test_reject_segments),
		cmocka_unit_test(test_reject_hole),
		cmocka_unit_test(test_reject_notes),
		cmocka_unit_test(test_reject_entry),
		cmocka_unit_test(test_err_truncated),
		cmocka_unit_test(test_start_info),
		cmocka_unit_test(test_start_info_initrd),
		cmocka_unit_test(test_start_info_cmdline),
		cmocka_unit_test(test_initrd_addr),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
