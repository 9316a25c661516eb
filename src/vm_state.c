// SPDX-License-Identifier: GPL-2.0-only
/* Save and restore everything but guest RAM, as state-format sections. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/vcpu_state.h"
#include "log.h"
#include "vcpu.h"
#include "vm_state.h"

#define VIRTIO_SECTION_VERSION 1

/* ---- KVM's VM-wide devices --------------------------------------------- */

static int save_kvm(struct vm *vm, struct state_writer *w, char *err, size_t errlen)
{
	struct kvm_irqchip chips[3];
	struct kvm_pit_state2 pit;
	struct kvm_clock_data clock = { 0 };
	int ret = 0;

	for (int i = 0; i < 3 && !ret; i++) {
		chips[i] = (struct kvm_irqchip){ .chip_id = i };
		ret = kvm_ioctl(vm->fd, KVM_GET_IRQCHIP, &chips[i]);
	}
	ret = ret ?: kvm_ioctl(vm->fd, KVM_GET_PIT2, &pit);
	ret = ret ?: kvm_ioctl(vm->fd, KVM_GET_CLOCK, &clock);
	if (ret) {
		snprintf(err, errlen, "cannot read KVM's irqchip, PIT or clock: %s", strerror(-ret));
		return ret;
	}
	state_add(w, "irqchip", 1, chips, sizeof(chips));
	state_add(w, "pit", 1, &pit, sizeof(pit));
	state_add(w, "clock", 1, &clock, sizeof(clock));
	return 0;
}

static const struct state_section *need(const struct state_image *img, const char *id,
					uint32_t version, size_t len, char *err, size_t errlen)
{
	const struct state_section *s = state_find(img, id);

	if (!s || s->version != version || (len && s->length != len)) {
		snprintf(err, errlen, "section '%s' is missing or has an unknown version or size", id);
		return NULL;
	}
	return s;
}

static int restore_kvm(struct vm *vm, const struct state_image *img, char *err, size_t errlen)
{
	const struct state_section *chips = need(img, "irqchip", 1, 3 * sizeof(struct kvm_irqchip),
						 err, errlen);
	const struct state_section *pit = chips ? need(img, "pit", 1, sizeof(struct kvm_pit_state2),
						       err, errlen) : NULL;
	const struct state_section *clock = pit ? need(img, "clock", 1,
						       sizeof(struct kvm_clock_data), err, errlen) : NULL;
	struct kvm_irqchip c[3];
	struct kvm_pit_state2 p;
	struct kvm_clock_data k;
	int ret = 0;

	if (!clock)
		return -EINVAL;
	memcpy(c, chips->data, sizeof(c));
	memcpy(&p, pit->data, sizeof(p));
	memcpy(&k, clock->data, sizeof(k));
	for (int i = 0; i < 3 && !ret; i++) {
		if (c[i].chip_id != (uint32_t)i) {
			snprintf(err, errlen, "malformed irqchip section");
			return -EINVAL;
		}
		ret = kvm_ioctl(vm->fd, KVM_SET_IRQCHIP, &c[i]);
	}
	ret = ret ?: kvm_ioctl(vm->fd, KVM_SET_PIT2, &p);
	/* Only the clock value: flags such as KVM_CLOCK_TSC_STABLE are KVM's to decide. */
	k.flags = 0;
	memset(k.pad, 0, sizeof(k.pad));
	ret = ret ?: kvm_ioctl(vm->fd, KVM_SET_CLOCK, &k);
	if (ret)
		snprintf(err, errlen, "KVM refused the irqchip, PIT or clock state: %s", strerror(-ret));
	return ret;
}

/* ---- platform devices ----------------------------------------------------- */

#define PLATFORM(id, field) { id, offsetof(struct vm, field), sizeof(((struct vm *)0)->field.s) }

static const struct {
	const char *id;
	size_t off, size;
} platform[] = {
	PLATFORM("serial", serial),
	PLATFORM("rtc", rtc),
	PLATFORM("i8042", i8042),
	PLATFORM("pm", pm),
	PLATFORM("pvpanic", pvpanic),
};

/* The devices' state structs come first in each device (checked by the _Static_asserts). */
_Static_assert(offsetof(struct serial, s) == 0, "serial state first");
_Static_assert(offsetof(struct rtc, s) == 0, "rtc state first");
_Static_assert(offsetof(struct i8042, s) == 0, "i8042 state first");
_Static_assert(offsetof(struct pm, s) == 0, "pm state first");
_Static_assert(offsetof(struct pvpanic, s) == 0, "pvpanic state first");

/* ---- PCI and virtio -------------------------------------------------------- */

static void save_virtio(struct vm_virtio *v, struct state_writer *w)
{
	struct virtio_dev *vd = v->vd;
	struct virtio_pci_state ps;
	struct msix_state ms;
	struct blob b;
	char id[STATE_ID_LEN];
	void *dev = NULL;

	blob_init(&b);
	pthread_mutex_lock(&v->vp.pci.host->lock);
	blob_put(&b, v->vp.pci.cfg, PCI_CFG_SIZE);
	pthread_mutex_unlock(&v->vp.pci.host->lock);
	virtio_pci_save(&v->vp, &ps);
	msix_save(&v->vp.msix, &ms);
	blob_put(&b, &ps, sizeof(ps));
	blob_put(&b, &ms, sizeof(ms));
	virtio_dev_lock(vd);
	blob_put_u32(&b, vd->nr_queues);
	for (unsigned int q = 0; q < vd->nr_queues; q++) {
		struct virtq_state qs;

		virtq_save(&vd->vqs[q], &qs);
		blob_put(&b, &qs, sizeof(qs));
	}
	blob_put_u32(&b, vd->ops->state_size);
	if (vd->ops->state_size && vd->ops->save) {
		dev = calloc(1, vd->ops->state_size);
		if (dev) {
			vd->ops->save(vd, dev);
			blob_put(&b, dev, vd->ops->state_size);
		} else {
			b.err = -ENOMEM;
		}
	}
	virtio_dev_unlock(vd);
	snprintf(id, sizeof(id), "virtio:%s", vd->name);
	state_add(w, id, VIRTIO_SECTION_VERSION, b.buf, b.len);
	if (b.err)
		w->body.err = b.err;
	free(dev);
	blob_free(&b);
}

static int restore_virtio(struct vm_virtio *v, const struct state_image *img, char *err,
			  size_t errlen)
{
	struct virtio_dev *vd = v->vd;
	struct virtio_pci_state ps;
	struct msix_state ms;
	uint8_t cfg[PCI_CFG_SIZE];
	struct blob_reader r;
	char id[STATE_ID_LEN + 8];
	uint32_t nq, dsz;
	void *dev = NULL;
	const struct state_section *s;
	int ret = -EINVAL;

	snprintf(id, sizeof(id), "virtio:%s", vd->name);
	s = need(img, id, VIRTIO_SECTION_VERSION, 0, err, errlen);
	if (!s)
		return -EINVAL;
	blob_reader_init(&r, s->data, s->length);
	if (!blob_get(&r, cfg, sizeof(cfg)) || !blob_get(&r, &ps, sizeof(ps)) ||
	    !blob_get(&r, &ms, sizeof(ms)) || !blob_get_u32(&r, &nq) || nq != vd->nr_queues)
		goto bad;
	/* Read-only bytes (ids, class, capabilities) must match: the same device. */
	ret = pci_dev_restore_config(&v->vp.pci, cfg);
	if (ret)
		goto bad;
	if (msix_restore(&v->vp.msix, &ms) || virtio_pci_restore(&v->vp, &ps))
		goto bad;
	virtio_dev_lock(vd);
	for (unsigned int q = 0; q < nq; q++) {
		struct virtq_state qs;

		if (!blob_get(&r, &qs, sizeof(qs)) || virtq_restore(&vd->vqs[q], &qs)) {
			virtio_dev_unlock(vd);
			goto bad;
		}
	}
	if (!blob_get_u32(&r, &dsz) || dsz != vd->ops->state_size) {
		virtio_dev_unlock(vd);
		goto bad;
	}
	if (dsz) {
		dev = malloc(dsz);
		ret = !dev || !blob_get(&r, dev, dsz) || !vd->ops->restore ? -EINVAL :
		      vd->ops->restore(vd, dev);
		if (ret) {
			virtio_dev_unlock(vd);
			if (ret == -EREMCHG) {          /* the device said why */
				err[0] = '\0';
				free(dev);
				return ret;
			}
			goto bad;
		}
	}
	/* A running device starts again, as after DRIVER_OK. */
	if (virtio_dev_running(vd) && vd->ops->activate && vd->ops->activate(vd))
		virtio_dev_needs_reset(vd, "the device could not start after a restore");
	virtio_dev_unlock(vd);
	if (!blob_done(&r))
		goto bad;
	virtio_pci_kick_all(&v->vp);
	free(dev);
	return 0;
bad:
	free(dev);
	snprintf(err, errlen, "the state of %s does not fit this device (malformed, or a "
		 "different configuration)", vd->name);
	return -EINVAL;
}

/* ---- the whole VM ---------------------------------------------------------- */

int vm_state_save(struct vm *vm, struct state_writer *w, char *err, size_t errlen)
{
	int ret;

	if (!vm->paused) {
		snprintf(err, errlen, "the VM must be paused to save its state");
		return -EBUSY;
	}
	vm_state_save_config(vm->cfg, w);
	ret = save_kvm(vm, w, err, errlen);
	if (ret)
		return ret;
	for (size_t i = 0; i < sizeof(platform) / sizeof(platform[0]); i++) {
		/* vCPUs are parked: nothing else touches these registers. */
		state_add(w, platform[i].id, 1, (uint8_t *)vm + platform[i].off, platform[i].size);
	}
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		struct blob b;
		char id[16];

		blob_init(&b);
		ret = x86_vcpu_save(vm->vcpus[i].fd, vm->kvm, &b);
		if (ret) {
			snprintf(err, errlen, "cannot read vCPU %u's state: %s", i, strerror(-ret));
			blob_free(&b);
			return ret;
		}
		snprintf(id, sizeof(id), "vcpu%u", i);
		state_add(w, id, X86_VCPU_STATE_VERSION, b.buf, b.len);
		blob_free(&b);
	}
	for (unsigned int i = 0; i < vm->nr_virtio; i++)
		save_virtio(&vm->virtio[i], w);
	if (w->body.err) {
		snprintf(err, errlen, "out of memory while saving the VM state");
		return w->body.err;
	}
	return 0;
}

int vm_state_restore(struct vm *vm, const struct state_image *img, char *err, size_t errlen)
{
	int ret;

	for (unsigned int i = 0; i < vm->nr_virtio; i++) {
		ret = restore_virtio(&vm->virtio[i], img, err, errlen);
		if (ret)
			return ret;
	}
	for (size_t i = 0; i < sizeof(platform) / sizeof(platform[0]); i++) {
		const struct state_section *s = need(img, platform[i].id, 1, platform[i].size, err,
						     errlen);

		if (!s)
			return -EINVAL;
		memcpy((uint8_t *)vm + platform[i].off, s->data, platform[i].size);
	}
	ret = restore_kvm(vm, img, err, errlen);
	if (ret)
		return ret;
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		const struct state_section *s;
		char id[16];

		snprintf(id, sizeof(id), "vcpu%u", i);
		s = need(img, id, X86_VCPU_STATE_VERSION, 0, err, errlen);
		if (!s)
			return -EINVAL;
		ret = x86_vcpu_restore(vm->vcpus[i].fd, vm->kvm, s->data, s->length, err, errlen);
		if (ret) {
			if (!err[0])
				snprintf(err, errlen, "vCPU %u: %s", i, strerror(-ret));
			return ret;
		}
	}
	return 0;
}
