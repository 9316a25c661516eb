/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KITE_VM_STATE_H
#define KITE_VM_STATE_H

/*
 * The whole VM's state but guest RAM, as state-format sections
 * (docs/ARCHITECTURE.md lists them): the configuration needed to rebuild an
 * identical VM, KVM's clock, irqchip and PIT, every vCPU, the platform
 * devices, and every PCI function with its virtio transport, queues and
 * device state.  Saving needs a paused VM (vm_pause()).
 */
#include <stddef.h>

#include "state/format.h"
#include "vm.h"

int vm_state_save(struct vm *vm, struct state_writer *w, char *err, size_t errlen);
/* Only the "config" section (the start of a migration stream). */
void vm_state_save_config(const struct vm_config *c, struct state_writer *w);

/*
 * Fill cfg (which must hold defaults: fds, etc.) from the "config" section.
 * disks/nets point into arrays allocated here (freed with vm_state_config_free).
 */
int vm_state_config(const struct state_image *img, struct vm_config *cfg, char *err,
		    size_t errlen);
void vm_state_config_free(struct vm_config *cfg);

/* Apply the image to a VM created from that configuration, before vm_start(). */
int vm_state_restore(struct vm *vm, const struct state_image *img, char *err, size_t errlen);

#endif
