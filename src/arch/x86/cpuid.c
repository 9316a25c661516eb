// SPDX-License-Identifier: GPL-2.0-only
/* CPUID for a vCPU: KVM's supported set plus a topology consistent with --cpus. */
#include <errno.h>
#include <string.h>

#include "arch/x86/cpuid.h"
#include "util.h"

struct kvm_cpuid_entry2 *cpuid_find(struct kvm_cpuid2 *c, unsigned int function,
				    unsigned int index)
{
	for (unsigned int i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		if (e->function != function)
			continue;
		if ((e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) && e->index != index)
			continue;
		return e;
	}
	return NULL;
}

static int cpuid_add(struct kvm_cpuid2 *out, unsigned int max, const struct kvm_cpuid_entry2 *e)
{
	if (out->nent >= max)
		return -E2BIG;
	out->entries[out->nent++] = *e;
	return 0;
}

/* Extended topology (leaf 0xB or 0x1F): level 0 = SMT, 1 = core, then invalid. */
static int cpuid_add_ext_topology(struct kvm_cpuid2 *out, unsigned int max, unsigned int leaf,
				  unsigned int apic_id, unsigned int ncpus)
{
	for (unsigned int sub = 0; sub < 3; sub++) {
		struct kvm_cpuid_entry2 e = {
			.function = leaf, .index = sub,
			.flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
			.edx = apic_id,
		};
		int ret;

		if (sub == 0) {           /* SMT: one thread per core */
			e.eax = 0;
			e.ebx = 1;
			e.ecx = sub | (1 << 8);
		} else if (sub == 1) {    /* core: all vCPUs in one package */
			e.eax = ilog2_ceil(ncpus);
			e.ebx = ncpus;
			e.ecx = sub | (2 << 8);
		} else {
			e.ecx = sub;      /* type 0: no more levels */
		}
		ret = cpuid_add(out, max, &e);
		if (ret)
			return ret;
	}
	return 0;
}

int cpuid_build(const struct kvm_cpuid2 *supported, unsigned int apic_id,
		unsigned int ncpus, struct kvm_cpuid2 *out, unsigned int max)
{
	unsigned int pkg_ids = 1u << ilog2_ceil(ncpus);
	bool have_1f = false;
	int ret;

	out->nent = 0;
	for (unsigned int i = 0; i < supported->nent; i++) {
		struct kvm_cpuid_entry2 e = supported->entries[i];

		switch (e.function) {
		case 0x1:
			e.ebx = (e.ebx & 0xffff) | (MIN(pkg_ids, 255u) << 16) | ((apic_id & 0xff) << 24);
			if (ncpus > 1)
				e.edx |= 1u << 28;         /* HTT: several logical CPUs */
			else
				e.edx &= ~(1u << 28);
			e.ecx |= 1u << 31;                 /* running under a hypervisor */
			break;
		case 0x4:
			/* Cores per package - 1; caches shared by all (L3) or private. */
			e.eax &= 0x03ffffff;
			e.eax |= (pkg_ids - 1) << 26;
			e.eax &= ~(0xfffu << 14);
			if (((e.eax >> 5) & 7) >= 3)
				e.eax |= (pkg_ids - 1) << 14;
			break;
		case 0xb:
			continue;   /* rebuilt below */
		case 0x1f:
			have_1f = true;
			continue;
		case 0x80000008:
			e.ecx = (e.ecx & ~0xf0ffu) | MIN(ncpus - 1, 255u) | (ilog2_ceil(ncpus) << 12);
			break;
		case 0x8000001e:
			e.eax = apic_id;
			e.ebx = apic_id & 0xff;    /* core id; one thread per core */
			e.ecx = 0;                 /* node 0, one node per package */
			break;
		default:
			break;
		}
		ret = cpuid_add(out, max, &e);
		if (ret)
			return ret;
	}
	/* Always describe the topology in leaf 0xB; Linux prefers it on AMD and Intel. */
	ret = cpuid_add_ext_topology(out, max, 0xb, apic_id, ncpus);
	if (!ret && have_1f)
		ret = cpuid_add_ext_topology(out, max, 0x1f, apic_id, ncpus);
	if (ret)
		return ret;
	/* Leaf 0 must advertise 0xB if KVM's max basic leaf is lower. */
	struct kvm_cpuid_entry2 *l0 = cpuid_find(out, 0, 0);

	if (l0 && l0->eax < 0xb)
		l0->eax = 0xb;
	return 0;
}
