// SPDX-License-Identifier: GPL-2.0-only
/* The `compat` CPU profile for kvm-pvm hosts (see compat.h and docs/HOST-COMPAT.md). */
#include "arch/x86/compat.h"
#include "arch/x86/cpuid.h"
#include "log.h"

#define CPUID1_ECX_CX16   (1u << 13)
#define CPUID1_ECX_PCID   (1u << 17)

void compat_filter_cpuid(struct kvm_cpuid2 *c)
{
	struct kvm_cpuid_entry2 *e = cpuid_find(c, 1, 0);

	if (e)
		e->ecx &= ~(CPUID1_ECX_CX16 | CPUID1_ECX_PCID);
	e = cpuid_find(c, 0x40000001, 0);
	if (e)
		e->eax &= ~(1u << KVM_CPUID_FEATURE_PV_SEND_IPI);
}

void compat_describe(void)
{
	pr_info("cpu profile compat: hiding CPUID CX16 (cmpxchg16b cannot be emulated here), "
		"PCID (INVPCID is not emulated), KVM PV_SEND_IPI (a Linux guest's second vCPU "
		"never comes up with it)");
	pr_info("cpu profile compat: appending to the kernel command line '" COMPAT_CMDLINE_FLAGS
		"' (this host forces XSAVE, AVX, POPCNT, RDRAND and leaf 7 into CPUID whatever "
		"kite sets)");
	pr_info("cpu profile compat: putting '" COMPAT_SPEED_FLAGS "' before the kernel "
		"command line (each skips boot work that takes 0.3-1.6 s when guest kernel code "
		"is emulated; the command line's own flags win, e.g. loglevel=7 or rodata=on)");
	pr_info("cpu profile compat: skipping 'fwait' at CPL0 (an emulation failure here); "
		"int3 at CPL0 is delivered as #BP in every profile");
}

const char *cpu_profile_name(enum cpu_profile p)
{
	switch (p) {
	case CPU_PROFILE_HOST: return "host";
	case CPU_PROFILE_COMPAT: return "compat";
	default: return "auto";
	}
}
