/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KITE_VCPU_H
#define KITE_VCPU_H

#include <pthread.h>
#include <stdbool.h>
#include <linux/kvm.h>

struct vm;

struct vcpu {
	struct vm *vm;
	unsigned int id;          /* also the APIC ID */
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool started;
	bool emu_failure_logged;
};

int vcpu_create(struct vm *vm, unsigned int id, struct vcpu *vcpu);
int vcpu_start(struct vcpu *vcpu);
/* Make a vCPU leave KVM_RUN promptly (immediate_exit + signal). */
void vcpu_kick(struct vcpu *vcpu);
void vcpu_destroy(struct vcpu *vcpu);

/* The signal used to kick vCPU threads out of KVM_RUN; installed once. */
#define VCPU_KICK_SIGNAL SIGUSR1
int vcpu_install_kick_handler(void);

#endif
