// SPDX-License-Identifier: GPL-2.0-only
/* PVH boot: ELF kernel loading through XEN_ELFNOTE_PHYS32_ENTRY, and hvm_start_info. */
#include <elf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "arch/x86/boot.h"
#include "util.h"

static int fail(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return -ENOEXEC;
}

/* Is [off, off + len) inside an image of `size` bytes? */
static bool in_image(uint64_t off, uint64_t len, size_t size)
{
	return off <= size && len <= size - off;
}

static int pvh_find_note(const uint8_t *img, size_t size, const Elf64_Phdr *ph, uint64_t *entry)
{
	uint64_t off = ph->p_offset, end = ph->p_offset + ph->p_filesz;

	while (off + sizeof(Elf64_Nhdr) <= end) {
		Elf64_Nhdr nh;
		uint64_t name_off, desc_off, next;

		memcpy(&nh, img + off, sizeof(nh));
		name_off = off + sizeof(nh);
		desc_off = name_off + ALIGN_UP((uint64_t)nh.n_namesz, 4);
		next = desc_off + ALIGN_UP((uint64_t)nh.n_descsz, 4);
		if (next > end || next <= off)
			return -ENOEXEC;
		if (nh.n_type == XEN_ELFNOTE_PHYS32_ENTRY && nh.n_namesz == 4 &&
		    !memcmp(img + name_off, "Xen", 4) && (nh.n_descsz == 4 || nh.n_descsz == 8)) {
			uint64_t v = 0;

			memcpy(&v, img + desc_off, nh.n_descsz);
			*entry = nh.n_descsz == 4 ? (uint32_t)v : v;
			return 0;
		}
		off = next;
	}
	(void)size;
	return -ENOENT;
}

int pvh_load_elf(const struct guest_mem *gm, const uint8_t *img, size_t size,
		 gpa_t *entry, gpa_t *kernel_end, char *err, size_t errlen)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)img;
	uint64_t pvh_entry = 0, end = 0;
	bool have_note = false, have_load = false;

	if (size < sizeof(Elf64_Ehdr))
		return fail(err, errlen, "is too small to be a kernel (%zu bytes): truncated?", size);
	if (memcmp(eh->e_ident, ELFMAG, SELFMAG))
		return fail(err, errlen, "is not an ELF kernel (no ELF magic); kite boots "
			    "PVH ELF kernels such as vmlinux");
	if (eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_ident[EI_DATA] != ELFDATA2LSB ||
	    eh->e_machine != EM_X86_64)
		return fail(err, errlen, "is not a 64-bit little-endian x86-64 ELF file");
	if (eh->e_type != ET_EXEC)
		return fail(err, errlen, "is an ELF file but not an executable (type %u)", eh->e_type);
	if (eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phnum == 0 || eh->e_phnum > 64 ||
	    !in_image(eh->e_phoff, (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr), size))
		return fail(err, errlen, "has a bad or truncated program header table");

	for (unsigned int i = 0; i < eh->e_phnum; i++) {
		Elf64_Phdr ph;

		memcpy(&ph, img + eh->e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type != PT_LOAD && ph.p_type != PT_NOTE)
			continue;
		if (!in_image(ph.p_offset, ph.p_filesz, size))
			return fail(err, errlen, "is truncated: segment %u needs bytes %llu..%llu "
				    "but the file has %zu", i, (unsigned long long)ph.p_offset,
				    (unsigned long long)(ph.p_offset + ph.p_filesz), size);
		if (ph.p_type == PT_NOTE) {
			if (!have_note && !pvh_find_note(img, size, &ph, &pvh_entry))
				have_note = true;
			continue;
		}
		if (ph.p_filesz > ph.p_memsz)
			return fail(err, errlen, "segment %u is larger in the file than in memory", i);
		if (!ph.p_memsz)
			continue;
		if (ph.p_paddr < MEM_HIGH_START)
			return fail(err, errlen, "segment %u loads at 0x%llx, below 1 MiB", i,
				    (unsigned long long)ph.p_paddr);
		uint8_t *dst = mem_ptr(gm, ph.p_paddr, ph.p_memsz);

		if (!dst)
			return fail(err, errlen, "segment %u (0x%llx, %llu bytes) does not fit in "
				    "guest RAM: give the VM more --memory", i,
				    (unsigned long long)ph.p_paddr, (unsigned long long)ph.p_memsz);
		memcpy(dst, img + ph.p_offset, ph.p_filesz);
		memset(dst + ph.p_filesz, 0, ph.p_memsz - ph.p_filesz);
		end = MAX(end, ph.p_paddr + ph.p_memsz);
		have_load = true;
	}
	if (!have_load)
		return fail(err, errlen, "has no loadable segments");
	if (!have_note)
		return fail(err, errlen, "has no PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY): build "
			    "Linux with CONFIG_PVH=y");
	if (!mem_ptr(gm, pvh_entry, 1) || pvh_entry >= MEM_4G)
		return fail(err, errlen, "PVH entry point 0x%llx is not in guest RAM below 4 GiB",
			    (unsigned long long)pvh_entry);
	*entry = pvh_entry;
	*kernel_end = end;
	return 0;
}

int boot_initrd_addr(const struct guest_mem *gm, uint64_t size, gpa_t kernel_end, gpa_t *addr)
{
	return boot_initrd_addr_below(gm, size, kernel_end, UINT64_MAX, addr);
}

int boot_initrd_addr_below(const struct guest_mem *gm, uint64_t size, gpa_t kernel_end,
			   uint64_t limit, gpa_t *addr)
{
	uint64_t low_end = gm->regions[0].size;
	gpa_t a;

	if (limit < UINT64_MAX)
		low_end = MIN(low_end, limit + 1);

	if (size > low_end)
		return -ENOMEM;
	a = (low_end - size) & ~0xfffULL;
	if (a < ALIGN_UP(kernel_end, 4096))
		return -ENOMEM;
	*addr = a;
	return 0;
}

int pvh_write_start_info(const struct guest_mem *gm, const char *cmdline, gpa_t rsdp,
			 gpa_t initrd, uint64_t initrd_size, gpa_t *start_info)
{
	struct hvm_start_info si = {
		.magic = HVM_START_MAGIC,
		.version = 1,
		.rsdp_paddr = rsdp,
	};
	struct e820_entry e820[MEM_E820_MAX];
	struct hvm_memmap_entry mm[MEM_E820_MAX];
	gpa_t mod_gpa = MEM_START_INFO + sizeof(si);
	gpa_t mm_gpa = mod_gpa + sizeof(struct hvm_modlist_entry);
	unsigned int n = mem_e820(gm, e820, ARRAY_SIZE(e820));
	size_t cl = cmdline ? strlen(cmdline) + 1 : 1;

	if (cl > MEM_CMDLINE_MAX)
		return -E2BIG;
	if (mem_write(gm, MEM_CMDLINE, cmdline ? cmdline : "", cl))
		return -EFAULT;
	si.cmdline_paddr = MEM_CMDLINE;
	for (unsigned int i = 0; i < n; i++)
		mm[i] = (struct hvm_memmap_entry){ e820[i].addr, e820[i].size, e820[i].type, 0 };
	si.memmap_paddr = mm_gpa;
	si.memmap_entries = n;
	if (initrd_size) {
		struct hvm_modlist_entry mod = { .paddr = initrd, .size = initrd_size };

		if (mem_write(gm, mod_gpa, &mod, sizeof(mod)))
			return -EFAULT;
		si.nr_modules = 1;
		si.modlist_paddr = mod_gpa;
	}
	if (mem_write(gm, mm_gpa, mm, n * sizeof(mm[0])) ||
	    mem_write(gm, MEM_START_INFO, &si, sizeof(si)))
		return -EFAULT;
	*start_info = MEM_START_INFO;
	return 0;
}
