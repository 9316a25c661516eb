/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KITE_X86_CPU_H
#define KITE_X86_CPU_H

#include <stdbool.h>
#include <stdint.h>

#include "kvm.h"
#include "memory.h"

/* CPUID (with topology), MSRs, FPU and LAPIC LVTs of a fresh vCPU. */
int x86_vcpu_init(int vcpu_fd, const struct kvm_sys *kvm, unsigned int apic_id,
		  unsigned int ncpus, bool compat);

/* Registers for the PVH entry: 32-bit protected mode, flat segments, EBX = start_info. */
int x86_vcpu_set_pvh_entry(int vcpu_fd, gpa_t entry, gpa_t start_info);

/* Registers for the Linux 64-bit boot protocol: long mode, identity paging, RSI = boot_params. */
int x86_vcpu_set_linux64_entry(int vcpu_fd, gpa_t entry, gpa_t zero_page, gpa_t gdt,
			       gpa_t pml4);

/* Print the vCPU's registers to stderr (after a triple fault or failure). */
void x86_vcpu_dump(int vcpu_fd, unsigned int id);

/*
 * Handle KVM_EXIT_INTERNAL_ERROR.  An `int3` the host could not emulate is
 * delivered to the guest as #BP (what a CPU with VT-x would do) and 0 is
 * returned; with `compat`, an `fwait` is skipped; anything else is explained (instruction bytes, registers, a
 * hint) and -EIO returned.
 */
int x86_handle_internal_error(int vcpu_fd, unsigned int id, struct kvm_run *run,
			      const struct guest_mem *mem, bool compat);

/* Translate a guest-virtual address with the vCPU's page tables (4-level, PAE, or none). */
int x86_gva_to_gpa(int vcpu_fd, const struct guest_mem *mem, uint64_t gva, gpa_t *gpa);

#endif
