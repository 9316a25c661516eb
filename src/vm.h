/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KITE_VM_H
#define KITE_VM_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "bus.h"
#include "console.h"
#include "evloop.h"
#include "iothread.h"
#include "migrate.h"
#include "irqroute.h"
#include "pci/pci.h"
#include "virtio/blk.h"
#include "virtio/net.h"
#include "virtio/pci.h"
#include "kvm.h"
#include "arch/x86/compat.h"
#include "memory.h"
#include "mem_host.h"
#include "numa_topo.h"
#include "hw/i8042.h"
#include "hw/pm.h"
#include "hw/pvpanic.h"
#include "hw/rtc.h"
#include "hw/serial.h"

enum on_reboot { ON_REBOOT_EXIT, ON_REBOOT_RESTART };

/* Everything the user asked for; owned by main, read-only to the VM. */
struct vm_config {
	const char *kernel;
	const char *initrd;
	const char *cmdline;
	uint64_t mem_size;
	struct mem_opts mem;            /* backend, huge pages, prefault (mem.size = mem_size) */
	struct numa_config numa;        /* validated */
	bool stats;                     /* --stats: memory accounting at exit */
	const char *profile_path;       /* --profile-guest: vCPU 0 samples (vcpu_prof.h) */
	const struct state_image *restore;  /* --restore: apply this state instead of booting */
	int incoming_fd;                /* --incoming: the source's connection, -1 if none */
	unsigned int ncpus;
	enum cpu_profile cpu_profile;   /* resolved: host or compat */
	enum on_reboot on_reboot;
	const struct blk_opts *disks;   /* --disk, in order: virtio-blk0, 1, ... */
	unsigned int nr_disks;
	const struct net_opts *nets;    /* --net, in order: virtio-net0, 1, ... */
	unsigned int nr_nets;
	bool rng;               /* a virtio-rng device */
	bool balloon;           /* a virtio-balloon device (--balloon) */
	bool virtio_console;    /* console input/output through virtio-console (hvc0) */
	int console_in_fd;      /* guest console input; -1 for none */
	int console_out_fd;     /* guest console output */
};

/* Why a VM stopped; main turns it into an exit status. */
enum vm_stop {
	VM_RUNNING = 0,
	VM_STOP_POWEROFF,       /* ACPI S5 */
	VM_STOP_RESET,          /* guest asked to reboot */
	VM_STOP_TRIPLE_FAULT,   /* KVM_EXIT_SHUTDOWN */
	VM_STOP_PANIC,          /* the guest reported a panic (pvpanic) */
	VM_STOP_QUIT,           /* console escape or a signal */
	VM_STOP_ERROR,          /* emulation failure or internal error */
	VM_STOP_MIGRATED,       /* a live migration completed: the VM runs elsewhere now */
};

struct vcpu;
struct state_image;

/* A virtio device on the PCI bus. */
struct vm_virtio {
	struct virtio_dev *vd;
	struct virtio_pci vp;
	bool transport;              /* vp initialised */
};

#define VM_MAX_VIRTIO 25         /* 22 disks and NICs, console, rng, balloon */

struct vm {
	const struct vm_config *cfg;
	struct kvm_sys *kvm;
	int fd;                      /* KVM_CREATE_VM */
	struct guest_mem mem;
	struct bus pio, mmio;
	struct vcpu *vcpus;
	unsigned int nr_vcpus;

	struct serial serial;
	struct rtc rtc;
	struct i8042 i8042;
	struct pm pm;
	struct pvpanic pvpanic;

	struct irq_routes irq;       /* GSI routing, irqfds, ioeventfds */
	struct pci_host pci;
	struct iothread io;          /* device work: virtqueues, TAP, io_uring */
	struct vm_virtio *virtio;    /* [VM_MAX_VIRTIO] */
	unsigned int nr_virtio;
	struct virtio_dev *console; /* the virtio-console, if any */
	struct virtio_dev *balloon; /* the virtio-balloon, if any */

	struct evloop *ev;           /* the VMM thread's loop */
	int stop_efd;                /* vCPUs/devices -> VMM thread: a stop was requested */
	int stop;                    /* enum vm_stop, first request wins (atomic) */

	/* Pause: vCPUs park at an instruction boundary (after pending I/O completed). */
	pthread_mutex_t run_lock;
	pthread_cond_t run_cond;
	bool pause_req;              /* vCPUs must park (atomic reads in the run loop) */
	unsigned int nr_parked;
	bool paused;                 /* vm_pause() completed */
	pthread_mutex_t pause_mutex; /* serialises vm_pause/vm_resume/vm_throttle_vcpus */
	pthread_cond_t throttle_cond; /* vm_throttle_vcpus() sleeps on it, pause_mutex released */

	struct migration mig;        /* outgoing live migration (API) */
	uint64_t start_ns;
};

/* Where host console input goes: the virtio-console if configured, else the UART. */
struct console_port vm_console_port(struct vm *vm);

/* Create the VM, its memory, devices and vCPUs, and load the kernel. */
int vm_create(struct vm *vm, const struct vm_config *cfg, struct kvm_sys *kvm, struct evloop *ev);
/* Start the vCPU threads. */
int vm_start(struct vm *vm);
/* Ask the VM to stop (any thread); the first reason wins. */
void vm_request_stop(struct vm *vm, enum vm_stop why);
/* Stop and join all vCPU threads (VMM thread only). */
void vm_stop_vcpus(struct vm *vm);
void vm_destroy(struct vm *vm);

/*
 * Pause (VMM thread): every vCPU leaves KVM_RUN at an instruction boundary
 * (pending port/MMIO reads completed) and parks; the I/O thread parks; every
 * device gives back or completes the chains it holds.  Idempotent.
 * vm_resume() undoes it.  0, or -errno if the VM is stopping.
 */
int vm_pause(struct vm *vm);
int vm_resume(struct vm *vm);
/* Live migration: hand devices' host resources over (see virtio_dev_ops.handover). */
int vm_handover(struct vm *vm, bool take);
/* Auto-converge: keep the vCPUs parked for pct ms of the next 100 ms (any thread). */
void vm_throttle_vcpus(struct vm *vm, unsigned int pct);
/* Turn KVM's dirty page log on/off for every memory slot. */
int vm_dirty_log(struct vm *vm, bool on);
/* Read (and clear) slot r's dirty bitmap, ORed into bitmap. */
int vm_get_dirty_log(struct vm *vm, unsigned int r, uint64_t *bitmap);
/* A vCPU thread: park while a pause is requested (called from the run loop). */
void vm_vcpu_park(struct vm *vm);
/* --stats: one line on stderr with the guest RAM size, what the host populated, the page size. */
void vm_print_stats(struct vm *vm);

static inline bool vm_stopping(const struct vm *vm)
{
	return __atomic_load_n(&vm->stop, __ATOMIC_ACQUIRE) != VM_RUNNING;
}

#endif
