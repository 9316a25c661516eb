/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KITE_VCPU_PROF_H
#define KITE_VCPU_PROF_H

struct vcpu;
struct vcpu_prof;

/*
 * --profile-guest FILE: a sampling profile of vCPU 0, for finding where a
 * guest spends its time (on kvm-pvm hosts, where guest kernel code is
 * emulated, no profiler inside the guest sees it).  A timer sends the vCPU
 * thread its kick signal every millisecond; each KVM_RUN it interrupts is a
 * sample: one line "SECONDS RIP W..." (hex): RIP, then up to sixteen of the
 * first 64 8-byte words at the guest's RSP (when it translates to guest RAM)
 * that look like higher-half kernel addresses (return-address candidates).
 * bench/guest-profile turns the file into per-function counts, a timeline
 * and callers.  Call from the vCPU's own thread.  NULL if it cannot start
 * (said once).
 */
struct vcpu_prof *vcpu_prof_start(struct vcpu *vcpu, const char *path);

/* After KVM_RUN returned EINTR: record where the guest is (p is not NULL). */
void vcpu_prof_sample(struct vcpu_prof *p);

void vcpu_prof_stop(struct vcpu_prof *p);

#endif
