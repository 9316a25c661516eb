// SPDX-License-Identifier: GPL-2.0-only
/* vCPU threads: KVM_RUN and dispatch of exits to the buses. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "arch/x86/cpu.h"
#include "log.h"
#include "vcpu.h"
#include "vcpu_prof.h"
#include "vm.h"

static void vcpu_kick_handler(int sig)
{
	(void)sig;
}

int vcpu_install_kick_handler(void)
{
	struct sigaction sa = { .sa_handler = vcpu_kick_handler };

	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: KVM_RUN must return -EINTR. */
	return sigaction(VCPU_KICK_SIGNAL, &sa, NULL) < 0 ? -errno : 0;
}

int vcpu_create(struct vm *vm, unsigned int id, struct vcpu *vcpu)
{
	int ret;

	memset(vcpu, 0, sizeof(*vcpu));
	vcpu->vm = vm;
	vcpu->id = id;
	vcpu->fd = kvm_ioctl_val(vm->fd, KVM_CREATE_VCPU, (unsigned long)id);
	if (vcpu->fd < 0) {
		ret = vcpu->fd;
		pr_err("vCPU %u: KVM_CREATE_VCPU: %s", id, strerror(-ret));
		return ret;
	}
	vcpu->run = mmap(NULL, vm->kvm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu->fd, 0);
	if (vcpu->run == MAP_FAILED) {
		ret = -errno;
		pr_err("vCPU %u: mmap of kvm_run: %s", id, strerror(-ret));
		goto out_close;
	}
	ret = x86_vcpu_init(vcpu->fd, vm->kvm, id, vm->nr_vcpus,
			    vm->cfg->cpu_profile == CPU_PROFILE_COMPAT);
	if (ret)
		goto out_unmap;
	return 0;

out_unmap:
	munmap(vcpu->run, vm->kvm->run_size);
out_close:
	close(vcpu->fd);
	vcpu->fd = -1;
	vcpu->run = NULL;
	return ret;
}

void vcpu_destroy(struct vcpu *vcpu)
{
	if (vcpu->run)
		munmap(vcpu->run, vcpu->vm->kvm->run_size);
	if (vcpu->fd >= 0)
		close(vcpu->fd);
	vcpu->run = NULL;
	vcpu->fd = -1;
}

static void vcpu_handle_io(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	uint64_t bytes = (uint64_t)run->io.size * run->io.count;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;

	/* The data area is KVM's, but check it lies inside the mapping anyway. */
	if (run->io.data_offset > (uint64_t)vcpu->vm->kvm->run_size ||
	    bytes > vcpu->vm->kvm->run_size - run->io.data_offset)
		return;
	for (uint32_t i = 0; i < run->io.count; i++)
		bus_access(&vcpu->vm->pio, run->io.port, data + i * run->io.size, run->io.size,
			   run->io.direction == KVM_EXIT_IO_OUT);
}

static void vcpu_handle_mmio(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;

	if (run->mmio.len == 0 || run->mmio.len > sizeof(run->mmio.data))
		return;
	bus_access(&vcpu->vm->mmio, run->mmio.phys_addr, run->mmio.data, run->mmio.len,
		   run->mmio.is_write);
}

/* Returns false when the vCPU should stop running. */
static bool vcpu_handle_exit(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	struct vm *vm = vcpu->vm;

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		vcpu_handle_io(vcpu);
		return true;
	case KVM_EXIT_MMIO:
		vcpu_handle_mmio(vcpu);
		return true;
	case KVM_EXIT_INTR:
		return true;
	case KVM_EXIT_HLT:
		/* Only without an in-kernel LAPIC; ours has one. */
		return true;
	case KVM_EXIT_SHUTDOWN:
		pr_err("vCPU %u: triple fault (the guest's CPU shut down)", vcpu->id);
		x86_vcpu_dump(vcpu->fd, vcpu->id);
		vm_request_stop(vm, VM_STOP_TRIPLE_FAULT);
		return false;
	case KVM_EXIT_SYSTEM_EVENT:
		switch (run->system_event.type) {
		case KVM_SYSTEM_EVENT_SHUTDOWN:
			vm_request_stop(vm, VM_STOP_POWEROFF);
			return false;
		case KVM_SYSTEM_EVENT_RESET:
			vm_request_stop(vm, VM_STOP_RESET);
			return false;
		default:
			pr_err("vCPU %u: system event %u", vcpu->id, run->system_event.type);
			vm_request_stop(vm, VM_STOP_ERROR);
			return false;
		}
	case KVM_EXIT_INTERNAL_ERROR:
		if (!x86_handle_internal_error(vcpu->fd, vcpu->id, run, &vm->mem,
					       vm->cfg->cpu_profile == CPU_PROFILE_COMPAT))
			return true;
		vm_request_stop(vm, VM_STOP_ERROR);
		return false;
	case KVM_EXIT_FAIL_ENTRY:
		pr_err("vCPU %u: KVM could not enter the guest (hardware reason 0x%llx)", vcpu->id,
		       (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		x86_vcpu_dump(vcpu->fd, vcpu->id);
		vm_request_stop(vm, VM_STOP_ERROR);
		return false;
	default:
		pr_err("vCPU %u: unexpected KVM exit reason %u", vcpu->id, run->exit_reason);
		x86_vcpu_dump(vcpu->fd, vcpu->id);
		vm_request_stop(vm, VM_STOP_ERROR);
		return false;
	}
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *vcpu = arg;
	struct vm *vm = vcpu->vm;
	struct vcpu_prof *prof = NULL;
	char name[16];
	sigset_t set;

	snprintf(name, sizeof(name), "kite-vcpu%u", vcpu->id);
	pthread_setname_np(pthread_self(), name);
	sigemptyset(&set);
	sigaddset(&set, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	if (vcpu->id == 0 && vm->cfg->profile_path)
		prof = vcpu_prof_start(vcpu, vm->cfg->profile_path);
	if (vcpu->id == 0 && log_get_level() >= LOG_INFO) {
		/* For start-up measurements (bench/snapshot): same clock as the caller's. */
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		pr_info("vCPU 0 enters the guest at CLOCK_MONOTONIC %lld.%06ld s",
			(long long)ts.tv_sec, ts.tv_nsec / 1000);
	}

	while (!vm_stopping(vm)) {
		int ret;

		/*
		 * A pause kicks us out of KVM_RUN with immediate_exit, which first
		 * completes a pending port/MMIO read: here we are at an
		 * instruction boundary.
		 */
		if (__atomic_load_n(&vm->pause_req, __ATOMIC_ACQUIRE)) {
			vm_vcpu_park(vm);
			continue;
		}
		ret = ioctl(vcpu->fd, KVM_RUN, 0);
		if (ret < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				if (prof)
					vcpu_prof_sample(prof);
				vcpu->run->immediate_exit = 0;
				continue;
			}
			pr_err("vCPU %u: KVM_RUN: %s", vcpu->id, strerror(errno));
			vm_request_stop(vm, VM_STOP_ERROR);
			break;
		}
		if (!vcpu_handle_exit(vcpu))
			break;
	}
	vcpu_prof_stop(prof);
	return NULL;
}

int vcpu_start(struct vcpu *vcpu)
{
	int ret = pthread_create(&vcpu->thread, NULL, vcpu_thread, vcpu);

	if (ret) {
		pr_err("vCPU %u: cannot create thread: %s", vcpu->id, strerror(ret));
		return -ret;
	}
	vcpu->started = true;
	return 0;
}

void vcpu_kick(struct vcpu *vcpu)
{
	if (!vcpu->started)
		return;
	__atomic_store_n(&vcpu->run->immediate_exit, 1, __ATOMIC_RELEASE);
	pthread_kill(vcpu->thread, VCPU_KICK_SIGNAL);
}
