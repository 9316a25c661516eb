/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KITE_KVM_H
#define KITE_KVM_H

#include <stdbool.h>
#include <sys/ioctl.h>
#include <linux/kvm.h>

/*
 * ioctl wrapper that checks at compile time that the argument's type has the
 * size the ioctl number encodes (as the KVM selftests do).  Returns the ioctl
 * result, or -errno.
 */
#define kvm_ioctl(fd, cmd, arg) ({ \
	_Static_assert(sizeof(*(arg)) == _IOC_SIZE(cmd), "ioctl argument size: " #cmd); \
	int __r = ioctl((fd), (cmd), (arg)); \
	__r < 0 ? -errno : __r; })

/* For ioctls whose argument is a plain value or a variable-size struct. */
#define kvm_ioctl_val(fd, cmd, arg) ({ \
	int __r = ioctl((fd), (cmd), (arg)); \
	__r < 0 ? -errno : __r; })

struct kvm_sys {
	int fd;               /* /dev/kvm */
	int run_size;         /* KVM_GET_VCPU_MMAP_SIZE */
	int max_vcpus;        /* KVM_CAP_MAX_VCPUS */
	bool pvm;             /* kvm-pvm backend: guest CPL0 code is emulated */
	struct kvm_cpuid2 *cpuid;   /* KVM_GET_SUPPORTED_CPUID */
};

/*
 * Open /dev/kvm and read what the VMM needs.  On failure prints one line that
 * says how to fix it and returns -errno.
 */
int kvm_sys_open(struct kvm_sys *kvm);
void kvm_sys_close(struct kvm_sys *kvm);
int kvm_check_cap(const struct kvm_sys *kvm, long cap);

#endif
