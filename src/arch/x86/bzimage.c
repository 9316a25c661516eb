// SPDX-License-Identifier: GPL-2.0-only
/* bzImage loading with the x86 Linux boot protocol's 64-bit entry. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "arch/x86/bzimage.h"
#include "util.h"

static uint32_t rd32(const uint8_t *p, size_t off)
{
	uint32_t v;

	memcpy(&v, p + off, 4);
	return v;
}

static uint16_t rd16(const uint8_t *p, size_t off)
{
	uint16_t v;

	memcpy(&v, p + off, 2);
	return v;
}

static int fail(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return -ENOEXEC;
}

bool bzimage_detect(const uint8_t *img, size_t size)
{
	return size >= BZ_HEADER + 4 && !memcmp(img + BZ_HEADER, "HdrS", 4);
}

int bzimage_load(const struct guest_mem *gm, const uint8_t *img, size_t size,
		 struct bzimage_boot *out, char *err, size_t errlen)
{
	uint64_t setup_size, payload, init_size;
	unsigned int setup_sects;
	uint16_t version;
	uint8_t *dst;

	if (size < 0x270)
		return fail(err, errlen, "is too small to be a bzImage (%zu bytes): truncated?", size);
	if (rd16(img, BZ_BOOT_FLAG) != 0xaa55 || memcmp(img + BZ_HEADER, "HdrS", 4))
		return fail(err, errlen, "has no Linux boot-protocol header (HdrS)");
	version = rd16(img, 0x206);
	if (version < BZ_MIN_VERSION)
		return fail(err, errlen, "uses boot protocol %u.%02u; kite needs 2.12 or newer "
			    "(Linux 3.8+)", version >> 8, version & 0xff);
	if (!(img[BP_LOADFLAGS] & 0x01))
		return fail(err, errlen, "is a zImage (not loaded high): not supported");
	if (!(rd16(img, BP_XLOADFLAGS) & 0x01))
		return fail(err, errlen, "has no 64-bit entry point (XLF_KERNEL_64): a 64-bit "
			    "kernel is needed");
	setup_sects = img[BZ_SETUP_HDR] ? img[BZ_SETUP_HDR] : 4;
	setup_size = (uint64_t)(setup_sects + 1) * 512;
	if (setup_size >= size)
		return fail(err, errlen, "is truncated: the setup code (%llu bytes) fills the file",
			    (unsigned long long)setup_size);
	payload = size - setup_size;
	/* syssize counts 16-byte paragraphs of the protected-mode kernel. */
	if ((uint64_t)rd32(img, 0x1f4) * 16 > payload)
		return fail(err, errlen, "is truncated: the header says %llu bytes of kernel, the file "
			    "has %llu", (unsigned long long)rd32(img, 0x1f4) * 16,
			    (unsigned long long)payload);
	/*
	 * init_size counts from where the kernel runs, not where it is loaded:
	 * the decompressor moves it to pref_address (non-relocatable) or to the
	 * load address aligned up to kernel_alignment, at least LOAD_PHYSICAL_ADDR
	 * (= pref_address) when relocatable.
	 */
	init_size = rd32(img, BP_INIT_SIZE);
	uint64_t pref = 0, align = rd32(img, 0x230);
	uint64_t start, end;

	memcpy(&pref, img + 0x258, 8);
	if (img[0x234]) {
		if (!align || (align & (align - 1)) || align > GiB)
			return fail(err, errlen, "has a bad kernel_alignment 0x%llx",
				    (unsigned long long)align);
		start = ALIGN_UP(MAX(BZ_LOAD_ADDR, pref), align);
	} else {
		start = pref ? pref : BZ_LOAD_ADDR;
	}
	if (start > MEM_4G || init_size > MEM_4G)
		return fail(err, errlen, "wants to run at 0x%llx with %llu bytes: not supported",
			    (unsigned long long)start, (unsigned long long)init_size);
	end = MAX(BZ_LOAD_ADDR + payload, start + init_size);
	if (!mem_is_ram(gm, BZ_LOAD_ADDR, end - BZ_LOAD_ADDR) ||
	    !(dst = mem_ptr(gm, BZ_LOAD_ADDR, payload)))
		return fail(err, errlen, "needs RAM up to %llu MiB to decompress and run: give the "
			    "VM more --memory", (unsigned long long)(end >> 20) + 1);
	memcpy(dst, img + setup_size, payload);
	out->entry = BZ_LOAD_ADDR + BZ_ENTRY64_OFFSET;
	out->zero_page = BZ_ZERO_PAGE;
	out->kernel_end = end;
	out->initrd_max = rd32(img, BP_INITRD_ADDR_MAX);
	return 0;
}

static void wr32(uint8_t *p, size_t off, uint32_t v) { memcpy(p + off, &v, 4); }
static void wr64(uint8_t *p, size_t off, uint64_t v) { memcpy(p + off, &v, 8); }

/* Identity map of the first 4 GiB with 2 MiB pages; GDT with __BOOT_CS/__BOOT_DS. */
static int bzimage_write_tables(const struct guest_mem *gm)
{
	static const uint64_t gdt[4] = {
		0, 0,
		0x00af9a000000ffffULL,       /* 0x10: 64-bit code */
		0x00cf92000000ffffULL,       /* 0x18: data */
	};
	uint64_t *pml4 = mem_ptr(gm, BZ_PML4_ADDR, 4096);
	uint64_t *pdpt = mem_ptr(gm, BZ_PML4_ADDR + 0x1000, 4096);
	uint64_t *pd = mem_ptr(gm, BZ_PML4_ADDR + 0x2000, 4 * 4096);

	if (!pml4 || !pdpt || !pd || mem_write(gm, BZ_GDT_ADDR, gdt, sizeof(gdt)))
		return -EFAULT;
	memset(pml4, 0, 4096);
	memset(pdpt, 0, 4096);
	pml4[0] = (BZ_PML4_ADDR + 0x1000) | 0x3;
	for (unsigned int i = 0; i < 4; i++)
		pdpt[i] = (BZ_PML4_ADDR + 0x2000 + i * 0x1000) | 0x3;
	for (unsigned int i = 0; i < 4 * 512; i++)
		pd[i] = ((uint64_t)i << 21) | 0x83;      /* present, writable, 2 MiB */
	return 0;
}

int bzimage_setup(const struct guest_mem *gm, const uint8_t *img, size_t size,
		  const struct bzimage_boot *bz, const char *cmdline, gpa_t initrd,
		  uint64_t initrd_size, gpa_t rsdp)
{
	uint8_t *bp = mem_ptr(gm, bz->zero_page, 4096);
	struct e820_entry e820[MEM_E820_MAX];
	size_t hdr_end = MIN((size_t)BZ_HEADER + img[0x201], size);
	size_t cl = strlen(cmdline ? cmdline : "");
	uint32_t cmdline_size = rd32(img, BP_CMDLINE_SIZE);
	unsigned int n;

	if (!bp)
		return -EFAULT;
	if (cl > cmdline_size || cl + 1 > MEM_CMDLINE_MAX)
		return -E2BIG;
	if (initrd_size && (initrd > bz->initrd_max || initrd > UINT32_MAX ||
			    initrd_size > (uint64_t)bz->initrd_max + 1 - initrd))
		return -ERANGE;
	memset(bp, 0, 4096);
	hdr_end = MIN(hdr_end, (size_t)BP_E820_TABLE);
	memcpy(bp + BZ_SETUP_HDR, img + BZ_SETUP_HDR, hdr_end - BZ_SETUP_HDR);
	bp[BP_TYPE_OF_LOADER] = 0xff;                 /* undefined boot loader */
	bp[BP_LOADFLAGS] |= 0x80;                     /* CAN_USE_HEAP */
	memcpy(bp + BP_HEAP_END_PTR, &(uint16_t){ 0xfe00 }, 2);
	if (mem_write(gm, MEM_CMDLINE, cmdline ? cmdline : "", cl + 1))
		return -EFAULT;
	wr32(bp, BP_CMD_LINE_PTR, MEM_CMDLINE);
	wr32(bp, BP_RAMDISK_IMAGE, initrd_size ? initrd : 0);
	wr32(bp, BP_RAMDISK_SIZE, initrd_size);
	wr64(bp, BP_ACPI_RSDP, rsdp);
	n = mem_e820(gm, e820, ARRAY_SIZE(e820));
	bp[BP_E820_ENTRIES] = n;
	for (unsigned int i = 0; i < n; i++) {
		uint8_t *e = bp + BP_E820_TABLE + i * 20;

		wr64(e, 0, e820[i].addr);
		wr64(e, 8, e820[i].size);
		wr32(e, 16, e820[i].type);
	}
	return bzimage_write_tables(gm);
}
