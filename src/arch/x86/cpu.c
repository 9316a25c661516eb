// SPDX-License-Identifier: GPL-2.0-only
/* x86 vCPU state: CPUID, MSRs, FPU, LAPIC, entry registers, dumps, emulation failures. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/compat.h"
#include "arch/x86/cpu.h"
#include "arch/x86/cpuid.h"
#include "log.h"
#include "util.h"

#define MSR_IA32_SYSENTER_CS   0x174
#define MSR_IA32_SYSENTER_ESP  0x175
#define MSR_IA32_SYSENTER_EIP  0x176
#define MSR_IA32_TSC           0x10
#define MSR_IA32_MISC_ENABLE   0x1a0
#define MSR_STAR               0xc0000081
#define MSR_LSTAR              0xc0000082
#define MSR_CSTAR              0xc0000083
#define MSR_SYSCALL_MASK       0xc0000084
#define MSR_KERNEL_GS_BASE     0xc0000102
#define MISC_ENABLE_FAST_STRING 1ULL

#define APIC_LVT0  0x350
#define APIC_LVT1  0x360
#define APIC_MODE_NMI    0x4
#define APIC_MODE_EXTINT 0x7

static int x86_set_cpuid(int fd, const struct kvm_sys *kvm, unsigned int apic_id, unsigned int ncpus,
			 bool compat)
{
	unsigned int max = kvm->cpuid->nent + 8;
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + max * sizeof(c->entries[0]));
	int ret;

	if (!c)
		return -ENOMEM;
	ret = cpuid_build(kvm->cpuid, apic_id, ncpus, c, max);
	if (!ret && compat)
		compat_filter_cpuid(c);
	if (!ret)
		ret = kvm_ioctl_val(fd, KVM_SET_CPUID2, c);
	if (ret < 0)
		pr_err("vCPU %u: KVM_SET_CPUID2: %s", apic_id, strerror(-ret));
	free(c);
	return ret < 0 ? ret : 0;
}

static int x86_set_msrs(int fd, unsigned int id)
{
	static const struct { uint32_t index; uint64_t data; } init[] = {
		{ MSR_IA32_SYSENTER_CS, 0 }, { MSR_IA32_SYSENTER_ESP, 0 },
		{ MSR_IA32_SYSENTER_EIP, 0 }, { MSR_STAR, 0 }, { MSR_CSTAR, 0 },
		{ MSR_KERNEL_GS_BASE, 0 }, { MSR_SYSCALL_MASK, 0 }, { MSR_LSTAR, 0 },
		{ MSR_IA32_TSC, 0 }, { MSR_IA32_MISC_ENABLE, MISC_ENABLE_FAST_STRING },
	};
	union {
		struct kvm_msrs hdr;
		uint8_t bytes[sizeof(struct kvm_msrs) + sizeof(struct kvm_msr_entry) * ARRAY_SIZE(init)];
	} msrs = { .hdr.nmsrs = ARRAY_SIZE(init) };
	int ret;

	for (size_t i = 0; i < ARRAY_SIZE(init); i++) {
		msrs.hdr.entries[i].index = init[i].index;
		msrs.hdr.entries[i].data = init[i].data;
	}
	ret = kvm_ioctl_val(fd, KVM_SET_MSRS, &msrs);
	if (ret < 0)
		return ret;
	if (ret != (int)ARRAY_SIZE(init))
		pr_debug("vCPU %u: KVM_SET_MSRS set %d of %zu MSRs (stopped at 0x%x)", id, ret,
			 ARRAY_SIZE(init), init[ret].index);
	return 0;
}

static int x86_set_fpu(int fd)
{
	struct kvm_fpu fpu = { .fcw = 0x37f, .mxcsr = 0x1f80 };

	return kvm_ioctl(fd, KVM_SET_FPU, &fpu);
}

/* LINT0 = ExtINT (the 8259), LINT1 = NMI, as firmware leaves them. */
static int x86_set_lapic_lvts(int fd)
{
	struct kvm_lapic_state lapic;
	uint32_t *lvt0 = (uint32_t *)&lapic.regs[APIC_LVT0];
	uint32_t *lvt1 = (uint32_t *)&lapic.regs[APIC_LVT1];
	int ret = kvm_ioctl(fd, KVM_GET_LAPIC, &lapic);

	if (ret < 0)
		return ret;
	*lvt0 = (*lvt0 & ~0x700u) | (APIC_MODE_EXTINT << 8);
	*lvt1 = (*lvt1 & ~0x700u) | (APIC_MODE_NMI << 8);
	return kvm_ioctl(fd, KVM_SET_LAPIC, &lapic);
}

int x86_vcpu_init(int fd, const struct kvm_sys *kvm, unsigned int apic_id, unsigned int ncpus,
		  bool compat)
{
	int ret;

	ret = x86_set_cpuid(fd, kvm, apic_id, ncpus, compat);
	if (ret)
		return ret;
	ret = x86_set_msrs(fd, apic_id);
	if (ret) {
		pr_err("vCPU %u: KVM_SET_MSRS: %s", apic_id, strerror(-ret));
		return ret;
	}
	ret = x86_set_fpu(fd);
	if (ret) {
		pr_err("vCPU %u: KVM_SET_FPU: %s", apic_id, strerror(-ret));
		return ret;
	}
	ret = x86_set_lapic_lvts(fd);
	if (ret)
		pr_err("vCPU %u: LAPIC setup: %s", apic_id, strerror(-ret));
	return ret;
}

int x86_vcpu_set_pvh_entry(int fd, gpa_t entry, gpa_t start_info)
{
	struct kvm_segment code = {
		.base = 0, .limit = 0xffffffff, .selector = 0x08, .type = 0xb,
		.present = 1, .dpl = 0, .db = 1, .s = 1, .l = 0, .g = 1,
	};
	struct kvm_segment data = code;
	struct kvm_segment tr = {
		.base = 0, .limit = 0x67, .selector = 0x18, .type = 0xb, .present = 1,
	};
	struct kvm_sregs sregs;
	struct kvm_regs regs = { .rflags = 0x2, .rip = entry, .rbx = start_info };
	int ret;

	ret = kvm_ioctl(fd, KVM_GET_SREGS, &sregs);
	if (ret)
		return ret;
	data.selector = 0x10;
	data.type = 0x3;
	sregs.cs = code;
	sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = data;
	sregs.tr = tr;
	sregs.cr0 = 0x11;          /* PE | ET */
	sregs.cr4 = 0;
	sregs.efer = 0;
	ret = kvm_ioctl(fd, KVM_SET_SREGS, &sregs);
	if (ret)
		return ret;
	return kvm_ioctl(fd, KVM_SET_REGS, &regs);
}

int x86_vcpu_set_linux64_entry(int fd, gpa_t entry, gpa_t zero_page, gpa_t gdt, gpa_t pml4)
{
	struct kvm_segment code = {
		.base = 0, .limit = 0xffffffff, .selector = 0x10, .type = 0xb,
		.present = 1, .dpl = 0, .db = 0, .s = 1, .l = 1, .g = 1,
	};
	struct kvm_segment data = {
		.base = 0, .limit = 0xffffffff, .selector = 0x18, .type = 0x3,
		.present = 1, .dpl = 0, .db = 1, .s = 1, .l = 0, .g = 1,
	};
	struct kvm_segment tr = {
		.base = 0, .limit = 0x67, .selector = 0x20, .type = 0xb, .present = 1,
	};
	struct kvm_sregs sregs;
	struct kvm_regs regs = { .rflags = 0x2, .rip = entry, .rsi = zero_page };
	int ret;

	ret = kvm_ioctl(fd, KVM_GET_SREGS, &sregs);
	if (ret)
		return ret;
	sregs.cs = code;
	sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = data;
	sregs.tr = tr;
	sregs.gdt.base = gdt;
	sregs.gdt.limit = 4 * 8 - 1;
	sregs.cr3 = pml4;
	sregs.cr4 = 0x20;                    /* PAE */
	sregs.cr0 = 0x80050033;              /* PG | AM | WP | NE | ET | MP | PE */
	sregs.efer = 0x500;                  /* LME | LMA */
	ret = kvm_ioctl(fd, KVM_SET_SREGS, &sregs);
	if (ret)
		return ret;
	return kvm_ioctl(fd, KVM_SET_REGS, &regs);
}

static void dump_seg(const char *name, const struct kvm_segment *s)
{
	fprintf(stderr, "  %-3s sel=%04x base=%016llx limit=%08x type=%x dpl=%u p=%u l=%u db=%u\r\n",
		name, s->selector, (unsigned long long)s->base, s->limit, s->type, s->dpl,
		s->present, s->l, s->db);
}

void x86_vcpu_dump(int fd, unsigned int id)
{
	struct kvm_regs r;
	struct kvm_sregs s;

	if (kvm_ioctl(fd, KVM_GET_REGS, &r) || kvm_ioctl(fd, KVM_GET_SREGS, &s)) {
		fprintf(stderr, "kite: vCPU %u: cannot read registers\r\n", id);
		return;
	}
	fprintf(stderr, "kite: vCPU %u registers:\r\n"
		"  rip=%016llx rflags=%016llx\r\n"
		"  rax=%016llx rbx=%016llx rcx=%016llx rdx=%016llx\r\n"
		"  rsi=%016llx rdi=%016llx rsp=%016llx rbp=%016llx\r\n"
		"  r8 =%016llx r9 =%016llx r10=%016llx r11=%016llx\r\n"
		"  r12=%016llx r13=%016llx r14=%016llx r15=%016llx\r\n"
		"  cr0=%016llx cr2=%016llx cr3=%016llx cr4=%016llx efer=%016llx\r\n",
		id, r.rip, r.rflags, r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi, r.rsp, r.rbp,
		r.r8, r.r9, r.r10, r.r11, r.r12, r.r13, r.r14, r.r15,
		s.cr0, s.cr2, s.cr3, s.cr4, s.efer);
	dump_seg("cs", &s.cs);
	dump_seg("ss", &s.ss);
	dump_seg("ds", &s.ds);
	dump_seg("tr", &s.tr);
	fprintf(stderr, "  gdt base=%016llx limit=%04x  idt base=%016llx limit=%04x\r\n",
		s.gdt.base, s.gdt.limit, s.idt.base, s.idt.limit);
}

/* Walk the guest page tables (reads only through the guest-memory choke point). */
int x86_gva_to_gpa(int fd, const struct guest_mem *mem, uint64_t gva, gpa_t *gpa)
{
	struct kvm_translation tr = { .linear_address = gva };
	struct kvm_sregs s;
	uint64_t table, entry;
	int levels, ret;

	if (!kvm_ioctl(fd, KVM_TRANSLATE, &tr) && tr.valid) {
		*gpa = tr.physical_address;
		return 0;
	}
	ret = kvm_ioctl(fd, KVM_GET_SREGS, &s);
	if (ret)
		return ret;
	if (!(s.cr0 & (1u << 31))) {          /* paging off */
		*gpa = gva & 0xffffffff;
		return 0;
	}
	if (!(s.cr4 & (1u << 5)))             /* 32-bit non-PAE paging: not needed */
		return -ENOTSUP;
	levels = (s.efer & (1u << 10)) ? 4 : 3;
	table = s.cr3 & ~0xfffULL;
	if (levels == 3)
		table = s.cr3 & ~0x1fULL;
	for (int l = levels; l >= 1; l--) {
		unsigned int shift = 12 + 9 * (l - 1);
		unsigned int idx = (l == 3 && levels == 3) ? (gva >> 30) & 3 : (gva >> shift) & 0x1ff;

		if (mem_read(mem, table + idx * 8, &entry, 8))
			return -EFAULT;
		if (!(entry & 1))
			return -EFAULT;
		if (l > 1 && l < 4 && (entry & 0x80)) {   /* 1 GiB or 2 MiB page */
			uint64_t mask = (1ULL << shift) - 1;

			*gpa = (entry & 0x000ffffffffff000ULL & ~mask) | (gva & mask);
			return 0;
		}
		table = entry & 0x000ffffffffff000ULL;
	}
	*gpa = table | (gva & 0xfff);
	return 0;
}

/* Fetch up to `len` instruction bytes at CS:RIP; returns how many were read. */
static unsigned int fetch_insn(int fd, const struct guest_mem *mem, struct kvm_run *run,
			       uint8_t *buf, unsigned int len)
{
	struct kvm_regs r;
	struct kvm_sregs s;
	unsigned int n = 0;

	/* Newer kernels hand the bytes over with the exit. */
	if (run->emulation_failure.ndata >= 3 &&
	    (run->emulation_failure.flags & KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES)) {
		n = MIN(len, (unsigned int)run->emulation_failure.insn_size);
		memcpy(buf, run->emulation_failure.insn_bytes, n);
		if (n)
			return n;
	}
	if (kvm_ioctl(fd, KVM_GET_REGS, &r) || kvm_ioctl(fd, KVM_GET_SREGS, &s))
		return 0;
	for (n = 0; n < len; n++) {
		gpa_t gpa;

		if (x86_gva_to_gpa(fd, mem, s.cs.base + r.rip + n, &gpa) || mem_read(mem, gpa, &buf[n], 1))
			break;
	}
	return n;
}

static int skip_insn(int fd, unsigned int len)
{
	struct kvm_regs r;
	int ret = kvm_ioctl(fd, KVM_GET_REGS, &r);

	if (ret)
		return ret;
	r.rip += len;
	return kvm_ioctl(fd, KVM_SET_REGS, &r);
}

static int inject_bp(int fd)
{
	struct kvm_regs r;
	struct kvm_vcpu_events ev;
	int ret;

	ret = kvm_ioctl(fd, KVM_GET_REGS, &r);
	if (ret)
		return ret;
	ret = kvm_ioctl(fd, KVM_GET_VCPU_EVENTS, &ev);
	if (ret)
		return ret;
	r.rip += 1;                /* #BP is a trap: it reports the next instruction */
	ret = kvm_ioctl(fd, KVM_SET_REGS, &r);
	if (ret)
		return ret;
	ev.exception.injected = 1;
	ev.exception.nr = 3;
	ev.exception.has_error_code = 0;
	ev.exception.error_code = 0;
	ev.flags = 0;
	return kvm_ioctl(fd, KVM_SET_VCPU_EVENTS, &ev);
}

int x86_handle_internal_error(int fd, unsigned int id, struct kvm_run *run,
			      const struct guest_mem *mem, bool compat)
{
	uint8_t insn[15];
	unsigned int n = 0;
	char hex[15 * 3 + 1] = "";

	if (run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION) {
		n = fetch_insn(fd, mem, run, insn, sizeof(insn));
		if (n >= 1 && insn[0] == 0xcc) {
			int ret = inject_bp(fd);

			if (!ret)
				return 0;
			pr_err("vCPU %u: could not deliver #BP for int3: %s", id, strerror(-ret));
		}
		/* fwait waits for pending x87 exceptions; kite's guests have none. */
		if (n >= 1 && insn[0] == 0x9b && compat && !skip_insn(fd, 1))
			return 0;
	}
	for (unsigned int i = 0; i < n; i++)
		snprintf(hex + 3 * i, sizeof(hex) - 3 * i, "%02x ", insn[i]);
	pr_err("vCPU %u: KVM could not run the guest (internal error, suberror %u)%s%s",
	       id, run->internal.suberror, n ? "; instruction bytes at RIP: " : "", hex);
	x86_vcpu_dump(fd, id);
	if (run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION)
		pr_err("hint: the host's KVM could not emulate this guest instruction; on a kvm-pvm "
		       "host (no VT-x) guest kernel code is emulated and some instructions are "
		       "unsupported: try the guest on hardware KVM, or avoid the instruction");
	return -EIO;
}
