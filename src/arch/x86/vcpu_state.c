// SPDX-License-Identifier: GPL-2.0-only
/* Save and restore the complete state of an x86 vCPU. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/vcpu_state.h"
#include "state/format.h"

#define MAX_CPUID_ENTRIES 256
#define XSAVE_MAX (64 * 1024)

/* A kvm_cpuid2 with room for MAX_CPUID_ENTRIES entries, nent set to that. */
static struct kvm_cpuid2 *cpuid_alloc(void)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + MAX_CPUID_ENTRIES * sizeof(c->entries[0]));

	if (c)
		c->nent = MAX_CPUID_ENTRIES;
	return c;
}

/* The MSRs KVM can save and restore on this host. */
static int msr_index_list(const struct kvm_sys *kvm, struct kvm_msr_list **out)
{
	struct kvm_msr_list probe = { .nmsrs = 0 }, *l;
	int ret = ioctl(kvm->fd, KVM_GET_MSR_INDEX_LIST, &probe);

	if (ret < 0 && errno != E2BIG)
		return -errno;
	l = calloc(1, sizeof(*l) + probe.nmsrs * sizeof(uint32_t));
	if (!l)
		return -ENOMEM;
	l->nmsrs = probe.nmsrs;
	if (ioctl(kvm->fd, KVM_GET_MSR_INDEX_LIST, l) < 0) {
		ret = -errno;
		free(l);
		return ret;
	}
	*out = l;
	return 0;
}

static size_t xsave_size(const struct kvm_sys *kvm)
{
	int n = ioctl(kvm->fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE2);

	return n > (int)sizeof(struct kvm_xsave) && n <= XSAVE_MAX ? (size_t)n :
	       sizeof(struct kvm_xsave);
}

int x86_vcpu_save(int fd, const struct kvm_sys *kvm, struct blob *out)
{
	struct kvm_cpuid2 *cpuid = cpuid_alloc();
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_xcrs xcrs;
	struct kvm_debugregs dbg;
	struct kvm_lapic_state lapic;
	struct kvm_vcpu_events events;
	struct kvm_mp_state mp;
	struct kvm_msr_list *list = NULL;
	struct kvm_msrs *msrs = NULL, *batch = NULL;
	size_t xs = xsave_size(kvm);
	void *xsave = calloc(1, xs);
	uint32_t nsaved = 0;
	int ret;

	if (!xsave || !cpuid) {
		free(xsave);
		free(cpuid);
		return -ENOMEM;
	}
	ret = kvm_ioctl_val(fd, KVM_GET_CPUID2, cpuid);
	ret = ret ?: kvm_ioctl(fd, KVM_GET_REGS, &regs);
	ret = ret ?: kvm_ioctl(fd, KVM_GET_SREGS, &sregs);
	ret = ret ?: kvm_ioctl_val(fd, xs > sizeof(struct kvm_xsave) ? KVM_GET_XSAVE2 : KVM_GET_XSAVE,
				   xsave);
	ret = ret ?: kvm_ioctl(fd, KVM_GET_XCRS, &xcrs);
	ret = ret ?: kvm_ioctl(fd, KVM_GET_DEBUGREGS, &dbg);
	ret = ret ?: kvm_ioctl(fd, KVM_GET_LAPIC, &lapic);
	ret = ret ?: kvm_ioctl(fd, KVM_GET_VCPU_EVENTS, &events);
	ret = ret ?: kvm_ioctl(fd, KVM_GET_MP_STATE, &mp);
	ret = ret ?: msr_index_list(kvm, &list);
	if (ret)
		goto out;
	msrs = calloc(1, sizeof(*msrs) + list->nmsrs * sizeof(struct kvm_msr_entry));
	batch = calloc(1, sizeof(*batch) + list->nmsrs * sizeof(struct kvm_msr_entry));
	if (!msrs || !batch) {
		ret = -ENOMEM;
		goto out;
	}
	/* KVM_GET_MSRS stops at the first MSR it cannot read: skip that one and go on. */
	for (uint32_t i = 0; i < list->nmsrs;) {
		uint32_t want = list->nmsrs - i;
		int n;

		batch->nmsrs = want;
		for (uint32_t k = 0; k < want; k++)
			batch->entries[k] = (struct kvm_msr_entry){ .index = list->indices[i + k] };
		n = ioctl(fd, KVM_GET_MSRS, batch);
		if (n < 0) {
			ret = -errno;
			goto out;
		}
		memcpy(&msrs->entries[nsaved], batch->entries, n * sizeof(batch->entries[0]));
		nsaved += n;
		i += n + ((uint32_t)n < want);          /* skip the one that failed */
	}
	blob_put_u32(out, cpuid->nent);
	blob_put(out, cpuid->entries, cpuid->nent * sizeof(cpuid->entries[0]));
	blob_put(out, &regs, sizeof(regs));
	blob_put(out, &sregs, sizeof(sregs));
	blob_put_u32(out, xs);
	blob_put(out, xsave, xs);
	blob_put(out, &xcrs, sizeof(xcrs));
	blob_put(out, &dbg, sizeof(dbg));
	blob_put(out, &lapic, sizeof(lapic));
	blob_put(out, &events, sizeof(events));
	blob_put(out, &mp, sizeof(mp));
	blob_put_u32(out, nsaved);
	blob_put(out, msrs->entries, nsaved * sizeof(msrs->entries[0]));
	ret = out->err;
out:
	free(xsave);
	free(list);
	free(msrs);
	free(batch);
	free(cpuid);
	return ret;
}

/* Feature registers whose bits a guest may rely on. */
static const struct { uint32_t leaf, sub; } feature_leaves[] = {
	{ 1, 0 }, { 7, 0 }, { 7, 1 }, { 0xd, 1 }, { 0x80000001, 0 }, { 0x80000007, 0 },
	{ 0x80000008, 0 },
};

static const struct kvm_cpuid_entry2 *find_leaf(const struct kvm_cpuid_entry2 *e, uint32_t n,
						uint32_t leaf, uint32_t sub)
{
	for (uint32_t i = 0; i < n; i++)
		if (e[i].function == leaf &&
		    (!(e[i].flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) || e[i].index == sub))
			return &e[i];
	return NULL;
}

/*
 * Are the saved CPUID's features a subset of what this host gives a vCPU?
 * The reference is the fresh vCPU's own CPUID (as kite set it up here and
 * the host adjusted it), not KVM_GET_SUPPORTED_CPUID: some hosts (kvm-pvm)
 * add features to every vCPU that the supported list does not show.
 */
static int cpuid_check(const struct kvm_cpuid2 *host, const struct kvm_cpuid_entry2 *e, uint32_t n,
		       char *err, size_t errlen)
{
	static const char *const regname[] = { "eax", "ebx", "ecx", "edx" };

	for (size_t i = 0; i < sizeof(feature_leaves) / sizeof(feature_leaves[0]); i++) {
		uint32_t leaf = feature_leaves[i].leaf, sub = feature_leaves[i].sub;
		const struct kvm_cpuid_entry2 *s = find_leaf(e, n, leaf, sub);
		const struct kvm_cpuid_entry2 *h = find_leaf(host->entries, host->nent, leaf, sub);
		uint32_t sv[4], hv[4];

		if (!s)
			continue;
		if (leaf == 0x80000008) {
			/* Only the physical address width matters: it must not shrink. */
			if (h && (s->eax & 0xff) > (h->eax & 0xff)) {
				snprintf(err, errlen, "the snapshot's CPU has %u physical address bits, "
					 "this host %u", s->eax & 0xff, h->eax & 0xff);
				return -EINVAL;
			}
			continue;
		}
		sv[0] = leaf == 1 || leaf == 0x80000001 || leaf == 0x80000007 ? 0 : s->eax;
		sv[1] = leaf == 1 ? 0 : s->ebx;       /* leaf 1 ebx: APIC id, counts */
		sv[2] = s->ecx;
		sv[3] = s->edx;
		hv[0] = h ? h->eax : 0;
		hv[1] = h ? h->ebx : 0;
		hv[2] = h ? h->ecx : 0;
		hv[3] = h ? h->edx : 0;
		if (leaf == 1)
			sv[2] &= ~(1u << 27);          /* OSXSAVE mirrors CR4, not a host feature */
		if (leaf == 7 && sub == 0)
			sv[0] = 0;                     /* max subleaf */
		if (leaf == 0xd)
			sv[1] = 0;                     /* a size, not features */
		for (int r = 0; r < 4; r++)
			if (sv[r] & ~hv[r]) {
				snprintf(err, errlen, "the snapshot's CPU has features this host lacks "
					 "(CPUID leaf %#x.%u %s bits %#x): restore it on a host with "
					 "the same or a newer CPU", leaf, sub, regname[r], sv[r] & ~hv[r]);
				return -EINVAL;
			}
	}
	return 0;
}

int x86_vcpu_restore(int fd, const struct kvm_sys *kvm, const uint8_t *data, size_t len,
		     char *err, size_t errlen)
{
	struct kvm_cpuid2 *cpuid = cpuid_alloc(), *host = cpuid_alloc();
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_xcrs xcrs;
	struct kvm_debugregs dbg;
	struct kvm_lapic_state lapic;
	struct kvm_vcpu_events events;
	struct kvm_mp_state mp;
	struct kvm_msrs *msrs = NULL;
	struct blob_reader r;
	void *xsave = NULL;
	uint32_t nent, xs, nmsrs;
	const char *step = "";
	int ret = -EINVAL;

	blob_reader_init(&r, data, len);
	if (!cpuid || !host) {
		ret = -ENOMEM;
		goto out;
	}
	if (!blob_get_u32(&r, &nent) || nent > MAX_CPUID_ENTRIES ||
	    !blob_get(&r, cpuid->entries, nent * sizeof(cpuid->entries[0])) ||
	    !blob_get(&r, &regs, sizeof(regs)) || !blob_get(&r, &sregs, sizeof(sregs)) ||
	    !blob_get_u32(&r, &xs) || xs < sizeof(struct kvm_xsave) || xs > XSAVE_MAX)
		goto malformed;
	xsave = calloc(1, xs > xsave_size(kvm) ? xs : xsave_size(kvm));
	if (!xsave) {
		ret = -ENOMEM;
		goto out;
	}
	if (!blob_get(&r, xsave, xs) || !blob_get(&r, &xcrs, sizeof(xcrs)) ||
	    !blob_get(&r, &dbg, sizeof(dbg)) || !blob_get(&r, &lapic, sizeof(lapic)) ||
	    !blob_get(&r, &events, sizeof(events)) || !blob_get(&r, &mp, sizeof(mp)) ||
	    !blob_get_u32(&r, &nmsrs) || nmsrs > 4096)
		goto malformed;
	msrs = calloc(1, sizeof(*msrs) + nmsrs * sizeof(struct kvm_msr_entry));
	if (!msrs) {
		ret = -ENOMEM;
		goto out;
	}
	msrs->nmsrs = nmsrs;
	if (!blob_get(&r, msrs->entries, nmsrs * sizeof(msrs->entries[0])) || !blob_done(&r))
		goto malformed;
	if (xs > xsave_size(kvm)) {
		snprintf(err, errlen, "the snapshot's FPU state (%u bytes) is larger than this host "
			 "supports: restore it on a host with the same CPU", xs);
		goto out;
	}
	cpuid->nent = nent;
	ret = kvm_ioctl_val(fd, KVM_GET_CPUID2, host);
	if (ret) {
		snprintf(err, errlen, "KVM_GET_CPUID2: %s", strerror(-ret));
		goto out;
	}
	ret = cpuid_check(host, cpuid->entries, nent, err, errlen);
	if (ret)
		goto out;
	/* The order KVM needs (see the header). */
	ret = kvm_ioctl_val(fd, KVM_SET_CPUID2, cpuid);
	step = "KVM_SET_CPUID2";
	if (!ret) { ret = kvm_ioctl(fd, KVM_SET_SREGS, &sregs); step = "KVM_SET_SREGS"; }
	if (!ret) { ret = kvm_ioctl(fd, KVM_SET_REGS, &regs); step = "KVM_SET_REGS"; }
	if (!ret) { ret = kvm_ioctl_val(fd, KVM_SET_XSAVE, xsave); step = "KVM_SET_XSAVE"; }
	if (!ret) { ret = kvm_ioctl(fd, KVM_SET_XCRS, &xcrs); step = "KVM_SET_XCRS"; }
	if (!ret) { ret = kvm_ioctl(fd, KVM_SET_DEBUGREGS, &dbg); step = "KVM_SET_DEBUGREGS"; }
	if (!ret) { ret = kvm_ioctl(fd, KVM_SET_LAPIC, &lapic); step = "KVM_SET_LAPIC"; }
	if (!ret) {
		int n = ioctl(fd, KVM_SET_MSRS, msrs);

		step = "KVM_SET_MSRS";
		if (n < 0)
			ret = -errno;
		else if ((uint32_t)n != nmsrs)
			ret = -EINVAL;
		if (ret)
			snprintf(err, errlen, "this host's KVM refused MSR %#x of the snapshot",
				 n >= 0 && (uint32_t)n < nmsrs ? msrs->entries[n].index : 0);
	}
	if (!ret) { ret = kvm_ioctl(fd, KVM_SET_MP_STATE, &mp); step = "KVM_SET_MP_STATE"; }
	if (!ret) { ret = kvm_ioctl(fd, KVM_SET_VCPU_EVENTS, &events); step = "KVM_SET_VCPU_EVENTS"; }
	if (ret && !err[0])
		snprintf(err, errlen, "%s: %s", step, strerror(-ret));
	goto out;
malformed:
	snprintf(err, errlen, "malformed vCPU state");
	ret = -EINVAL;
out:
	free(xsave);
	free(msrs);
	free(cpuid);
	free(host);
	return ret;
}

uint64_t x86_cpuid_fingerprint(const struct kvm_sys *kvm)
{
	return state_crc32(kvm->cpuid->entries, kvm->cpuid->nent * sizeof(kvm->cpuid->entries[0]));
}
