/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KITE_X86_VCPU_STATE_H
#define KITE_X86_VCPU_STATE_H

/*
 * The complete state of one x86 vCPU, for snapshots and migration: CPUID,
 * general and system registers, FPU/SSE/AVX (XSAVE), XCRs, debug registers,
 * LAPIC, every MSR KVM can save (TSC included), pending events, MP state.
 * The vCPU must be out of KVM_RUN (paused).  Restore applies them in the
 * order KVM needs: CPUID, sregs, regs, XSAVE, XCRs, debug registers, LAPIC,
 * MSRs (after the LAPIC, for TSC deadline), MP state, events last.
 */
#include <stddef.h>
#include <stdint.h>

#include "kvm.h"
#include "state/blob.h"

#define X86_VCPU_STATE_VERSION 1

int x86_vcpu_save(int vcpu_fd, const struct kvm_sys *kvm, struct blob *out);
/*
 * Call on a vCPU freshly set up by x86_vcpu_init().  Refuses (-EINVAL, one
 * line in err) a state whose CPUID has features this host does not give
 * that vCPU, or a malformed state.
 */
int x86_vcpu_restore(int vcpu_fd, const struct kvm_sys *kvm, const uint8_t *data, size_t len,
		     char *err, size_t errlen);

/* A fingerprint of the host's KVM-supported CPUID (for the state header). */
uint64_t x86_cpuid_fingerprint(const struct kvm_sys *kvm);

#endif
