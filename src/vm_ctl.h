/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KITE_VM_CTL_H
#define KITE_VM_CTL_H

/* The VMM thread's side of the control API: each ctl_op becomes vm_* calls. */
struct ctl_queue;
struct vm;

/* Answer q's requests for vm from vm->ev's loop (the VMM thread); q may be NULL. */
int vm_ctl_attach(struct ctl_queue *q, struct vm *vm);
void vm_ctl_detach(struct ctl_queue *q);

#endif
