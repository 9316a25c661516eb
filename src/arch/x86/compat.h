/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KITE_X86_COMPAT_H
#define KITE_X86_COMPAT_H

#include <stdbool.h>
#include <linux/kvm.h>

/*
 * CPU profiles.  `host` passes KVM's supported CPUID through (plus topology).
 * `compat` works around the defects of kvm-pvm hosts (no VT-x: guest CPL0
 * code is emulated by KVM's instruction emulator), each item below with the
 * evidence in docs/HOST-COMPAT.md:
 *   - CPUID bits that KVM_SET_CPUID2 can hide there: CX16 (cmpxchg16b is not
 *     emulated), PCID, and KVM's PV_SEND_IPI (with it, a Linux guest's second
 *     vCPU never comes up);
 *   - guest command-line flags for the features that cannot be hidden (the
 *     host ORs XSAVE, AVX, POPCNT, RDRAND into leaf 1 and passes leaf 7 through);
 *   - `fwait` at CPL0, an emulation failure there, is skipped (RIP + 1);
 *   - guest command-line flags that skip boot work which costs seconds when
 *     emulated (COMPAT_SPEED_FLAGS), put before the user's command line so
 *     that the user's own values win.
 * `auto` picks compat on a kvm-pvm host and host elsewhere.
 */
enum cpu_profile { CPU_PROFILE_AUTO, CPU_PROFILE_HOST, CPU_PROFILE_COMPAT };

#define COMPAT_CMDLINE_FLAGS \
	"noxsave nofsgsbase nopku noinvpcid " \
	"clearcpuid=popcnt,rdrand,rdseed,erms,fsrm,serialize,rdpid,clflushopt,clwb,smap"

/*
 * Boot-time flags for kernels whose CPL0 code is emulated, each measured on
 * a kvm-pvm host (docs/HOST-COMPAT.md): quiet (every console byte is an
 * emulated 16550 access), noreplace-smp (no lock-prefix patching),
 * percpu_alloc=page, rodata=off (no page-table splitting to write-protect
 * the kernel: the guest kernel's text stays writable, so only here),
 * retain_initrd, rootfstype=ramfs.
 */
#define COMPAT_SPEED_FLAGS \
	"quiet noreplace-smp percpu_alloc=page rodata=off retain_initrd rootfstype=ramfs"

/* Hide what the compat profile hides in one vCPU's CPUID table. */
void compat_filter_cpuid(struct kvm_cpuid2 *c);

/* Print (at info level) what the compat profile changes and why. */
void compat_describe(void);

const char *cpu_profile_name(enum cpu_profile p);

#endif
