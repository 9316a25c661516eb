// SPDX-License-Identifier: GPL-2.0-only
/* /dev/kvm: open it, check the API, read capabilities and supported CPUID. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kvm.h"
#include "log.h"

#define KVM_DEV "/dev/kvm"

int kvm_check_cap(const struct kvm_sys *kvm, long cap)
{
	int r = ioctl(kvm->fd, KVM_CHECK_EXTENSION, cap);

	return r < 0 ? 0 : r;
}

static struct kvm_cpuid2 *kvm_get_supported_cpuid(int fd)
{
	int nent = 256;         /* KVM_MAX_CPUID_ENTRIES: one call, no E2BIG retry */

	for (;;) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + nent * sizeof(c->entries[0]));

		if (!c)
			return NULL;
		c->nent = nent;
		if (ioctl(fd, KVM_GET_SUPPORTED_CPUID, c) == 0)
			return c;
		free(c);
		if (errno != E2BIG || nent >= 4096)
			return NULL;
		nent *= 2;
	}
}

static bool host_is_pvm(void)
{
	return access("/sys/module/kvm_pvm", F_OK) == 0;
}

int kvm_sys_open(struct kvm_sys *kvm)
{
	int ret;

	memset(kvm, 0, sizeof(*kvm));
	kvm->fd = open(KVM_DEV, O_RDWR | O_CLOEXEC);
	if (kvm->fd < 0) {
		ret = -errno;
		if (ret == -ENOENT)
			pr_err(KVM_DEV " does not exist: load the KVM module (modprobe kvm_intel or kvm_amd) "
			       "and enable virtualization in the firmware");
		else if (ret == -EACCES || ret == -EPERM)
			pr_err("no permission to open " KVM_DEV ": add yourself to the 'kvm' group "
			       "(sudo usermod -aG kvm $USER, then log in again) or run as root");
		else
			pr_err("cannot open " KVM_DEV ": %s", strerror(-ret));
		return ret;
	}
	ret = ioctl(kvm->fd, KVM_GET_API_VERSION, 0);
	if (ret != KVM_API_VERSION) {
		pr_err(KVM_DEV " speaks KVM API %d, kite needs %d", ret, KVM_API_VERSION);
		ret = -EINVAL;
		goto out_close;
	}
	static const struct { long cap; const char *name; } needed[] = {
		{ KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP" },
		{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY" },
		{ KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID" },
		{ KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT" },
	};
	for (size_t i = 0; i < sizeof(needed) / sizeof(needed[0]); i++) {
		if (!kvm_check_cap(kvm, needed[i].cap)) {
			pr_err("this host's KVM lacks %s, which kite needs: use Linux 4.18 or newer",
			       needed[i].name);
			ret = -ENOTSUP;
			goto out_close;
		}
	}
	kvm->run_size = ioctl(kvm->fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (kvm->run_size < (int)sizeof(struct kvm_run)) {
		pr_err("KVM_GET_VCPU_MMAP_SIZE failed: %s", strerror(errno));
		ret = -EINVAL;
		goto out_close;
	}
	kvm->max_vcpus = kvm_check_cap(kvm, KVM_CAP_MAX_VCPUS);
	if (kvm->max_vcpus <= 0)
		kvm->max_vcpus = kvm_check_cap(kvm, KVM_CAP_NR_VCPUS);
	if (kvm->max_vcpus <= 0)
		kvm->max_vcpus = 4;
	kvm->cpuid = kvm_get_supported_cpuid(kvm->fd);
	if (!kvm->cpuid) {
		pr_err("KVM_GET_SUPPORTED_CPUID failed: %s", strerror(errno));
		ret = -EINVAL;
		goto out_close;
	}
	kvm->pvm = host_is_pvm();
	return 0;

out_close:
	close(kvm->fd);
	kvm->fd = -1;
	return ret;
}

void kvm_sys_close(struct kvm_sys *kvm)
{
	free(kvm->cpuid);
	if (kvm->fd >= 0)
		close(kvm->fd);
	kvm->cpuid = NULL;
	kvm->fd = -1;
}
