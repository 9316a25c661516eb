/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KITE_X86_CPUID_H
#define KITE_X86_CPUID_H

#include <linux/kvm.h>

/* Leaf 0x40000001 (KVM features) bit that the compat profile may hide. */
#define KVM_CPUID_FEATURE_PV_SEND_IPI 11

/*
 * Build the CPUID table of one vCPU from KVM's supported table: topology
 * leaves (1, 4, 0xB, 0x1F, 0x80000008, 0x8000001E) consistent with `ncpus`
 * cores in one socket, one thread each, and this vCPU's APIC ID; the
 * hypervisor bit set; the KVM signature leaves (0x40000000...) passed through
 * unchanged.  `out` must have room for `max` entries.  Returns 0 or -E2BIG.
 * Pure function: unit-tested without KVM.
 */
int cpuid_build(const struct kvm_cpuid2 *supported, unsigned int apic_id,
		unsigned int ncpus, struct kvm_cpuid2 *out, unsigned int max);

/* Find an entry (NULL if absent). */
struct kvm_cpuid_entry2 *cpuid_find(struct kvm_cpuid2 *c, unsigned int function,
				    unsigned int index);

#endif
