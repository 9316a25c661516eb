// SPDX-License-Identifier: GPL-2.0-only
/* A VM: KVM_CREATE_VM, memory, irqchip, platform devices, kernel, vCPUs. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <time.h>
#include <numa.h>
#include <sched.h>
#include <unistd.h>

#include "arch/x86/acpi.h"
#include "arch/x86/boot.h"
#include "arch/x86/bzimage.h"
#include "arch/x86/cpu.h"
#include "arch/x86/platform.h"
#include "log.h"
#include "util.h"
#include "vcpu.h"
#include "virtio/balloon.h"
#include "virtio/console.h"
#include "virtio/rng.h"
#include "vm.h"
#include "vm_state.h"

static int vm_set_irq(void *ctx, unsigned int gsi, int level)
{
	struct vm *vm = ctx;
	struct kvm_irq_level irq = { .irq = gsi, .level = level };

	return kvm_ioctl(vm->fd, KVM_IRQ_LINE, &irq);
}

static void vm_machine_event(void *ctx, enum machine_event ev)
{
	static const enum vm_stop stop[] = {
		[MACHINE_POWEROFF] = VM_STOP_POWEROFF,
		[MACHINE_RESET] = VM_STOP_RESET,
		[MACHINE_PANIC] = VM_STOP_PANIC,
	};

	vm_request_stop(ctx, stop[ev]);
}

void vm_request_stop(struct vm *vm, enum vm_stop why)
{
	int expected = VM_RUNNING;
	uint64_t one = 1;

	if (!__atomic_compare_exchange_n(&vm->stop, &expected, why, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return;
	if (write(vm->stop_efd, &one, sizeof(one)) < 0)
		pr_err("cannot signal the VMM thread: %s", strerror(errno));
	/* Parked vCPUs must see the stop too. */
	pthread_mutex_lock(&vm->run_lock);
	pthread_cond_broadcast(&vm->run_cond);
	pthread_mutex_unlock(&vm->run_lock);
}

void vm_vcpu_park(struct vm *vm)
{
	pthread_mutex_lock(&vm->run_lock);
	vm->nr_parked++;
	pthread_cond_broadcast(&vm->run_cond);
	while (vm->pause_req && !vm_stopping(vm))
		pthread_cond_wait(&vm->run_cond, &vm->run_lock);
	vm->nr_parked--;
	pthread_mutex_unlock(&vm->run_lock);
}

static unsigned int vm_nr_started(const struct vm *vm)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		n += vm->vcpus[i].started;
	return n;
}

static void vm_park_vcpus(struct vm *vm)
{
	pthread_mutex_lock(&vm->run_lock);
	__atomic_store_n(&vm->pause_req, true, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&vm->run_lock);
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		vcpu_kick(&vm->vcpus[i]);
	pthread_mutex_lock(&vm->run_lock);
	while (vm->nr_parked < vm_nr_started(vm) && !vm_stopping(vm))
		pthread_cond_wait(&vm->run_cond, &vm->run_lock);
	pthread_mutex_unlock(&vm->run_lock);
}

static void vm_unpark_vcpus(struct vm *vm)
{
	pthread_mutex_lock(&vm->run_lock);
	__atomic_store_n(&vm->pause_req, false, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&vm->run_cond);
	pthread_mutex_unlock(&vm->run_lock);
}

int vm_handover(struct vm *vm, bool take)
{
	for (unsigned int i = 0; i < vm->nr_virtio; i++) {
		struct virtio_dev *vd = vm->virtio[i].vd;
		int ret;

		if (!vd->ops->handover)
			continue;
		ret = vd->ops->handover(vd, take);
		if (ret) {
			/* All or nothing: give back what this call took. */
			while (take && i--)
				if (vm->virtio[i].vd->ops->handover)
					vm->virtio[i].vd->ops->handover(vm->virtio[i].vd, false);
			return ret;
		}
	}
	return 0;
}

/*
 * One throttle period: parked pct% of it, running the rest.  Short, so that
 * the guest never stalls long in one piece (at 80%: 16 ms parked, 4 ms
 * running) and a stop-and-copy does not add a long parked stretch to the
 * guest's downtime; each period costs one kick of every vCPU.
 */
#define VM_THROTTLE_PERIOD_US 20000

void vm_throttle_vcpus(struct vm *vm, unsigned int pct)
{
	struct timespec until;

	pct = MIN(pct, 99u);
	pthread_mutex_lock(&vm->pause_mutex);
	if (!vm->paused && !vm_stopping(vm)) {
		vm_park_vcpus(vm);
		/*
		 * Parked for pct ms, with pause_mutex released meanwhile: a
		 * vm_pause() (migration's stop-and-copy) must not wait for the
		 * rest of this slice.  It finds the vCPUs parked and keeps them
		 * so; then they are its to resume, not ours.
		 */
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_nsec += (long)pct * VM_THROTTLE_PERIOD_US * 10;
		until.tv_sec += until.tv_nsec / 1000000000;
		until.tv_nsec %= 1000000000;
		while (!vm->paused &&
		       pthread_cond_timedwait(&vm->throttle_cond, &vm->pause_mutex, &until) == 0)
			;
		if (!vm->paused)
			vm_unpark_vcpus(vm);
	}
	pthread_mutex_unlock(&vm->pause_mutex);
	usleep((100 - pct) * VM_THROTTLE_PERIOD_US / 100);
}

static int vm_set_slots(struct vm *vm, uint32_t flags)
{
	for (unsigned int i = 0; i < vm->mem.nr; i++) {
		struct mem_region *r = &vm->mem.regions[i];
		struct kvm_userspace_memory_region kr = {
			.slot = i,
			.flags = flags,
			.guest_phys_addr = r->gpa,
			.memory_size = r->size,
			.userspace_addr = (uintptr_t)r->hva,
		};
		int ret = kvm_ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &kr);

		if (ret)
			return ret;
	}
	return 0;
}

int vm_dirty_log(struct vm *vm, bool on)
{
	return vm_set_slots(vm, on ? KVM_MEM_LOG_DIRTY_PAGES : 0);
}

int vm_get_dirty_log(struct vm *vm, unsigned int r, uint64_t *bitmap)
{
	uint64_t words = (vm->mem.regions[r].size / 4096 + 63) / 64;
	uint64_t *tmp = calloc(words, 8);
	struct kvm_dirty_log log = { .slot = r };
	int ret;

	if (!tmp)
		return -ENOMEM;
	log.dirty_bitmap = tmp;
	ret = kvm_ioctl(vm->fd, KVM_GET_DIRTY_LOG, &log);
	if (!ret)
		for (uint64_t w = 0; w < words; w++)
			bitmap[w] |= tmp[w];
	free(tmp);
	return ret;
}

static int vm_pause_locked(struct vm *vm);

int vm_pause(struct vm *vm)
{
	int ret;

	pthread_mutex_lock(&vm->pause_mutex);
	ret = vm_pause_locked(vm);
	pthread_mutex_unlock(&vm->pause_mutex);
	return ret;
}

static int vm_pause_locked(struct vm *vm)
{
	if (vm->paused)
		return 0;
	if (vm_stopping(vm))
		return -ESHUTDOWN;
	pthread_mutex_lock(&vm->run_lock);
	__atomic_store_n(&vm->pause_req, true, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&vm->run_lock);
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		vcpu_kick(&vm->vcpus[i]);
	pthread_mutex_lock(&vm->run_lock);
	while (vm->nr_parked < vm_nr_started(vm) && !vm_stopping(vm))
		pthread_cond_wait(&vm->run_cond, &vm->run_lock);
	pthread_mutex_unlock(&vm->run_lock);
	if (vm_stopping(vm)) {
		vm_unpark_vcpus(vm);
		return -ESHUTDOWN;
	}
	/* Tell each vCPU's kvmclock it was stopped (no soft-lockup alarms in the guest). */
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		if (vm->vcpus[i].started && ioctl(vm->vcpus[i].fd, KVM_KVMCLOCK_CTRL, 0) < 0 &&
		    errno != EINVAL)
			pr_debug("vCPU %u: KVM_KVMCLOCK_CTRL: %s", i, strerror(errno));
	/* Devices: no more queue processing, nothing held. */
	iothread_pause(&vm->io);
	for (unsigned int i = 0; i < vm->nr_virtio; i++) {
		struct virtio_dev *vd = vm->virtio[i].vd;

		if (vd->ops->quiesce) {
			virtio_dev_lock(vd);
			vd->ops->quiesce(vd);
			virtio_dev_unlock(vd);
		}
	}
	vm->paused = true;
	return 0;
}

int vm_resume(struct vm *vm)
{
	pthread_mutex_lock(&vm->pause_mutex);
	if (vm->paused)
		iothread_resume(&vm->io);
	vm->paused = false;
	vm_unpark_vcpus(vm);
	pthread_mutex_unlock(&vm->pause_mutex);
	return 0;
}

static int vm_setup_memory(struct vm *vm)
{
	struct numa_mem_range ranges[NUMA_MAX_NODES + MEM_MAX_REGIONS];
	struct sysinfo si;
	uint64_t host;
	unsigned int nr;
	char a[32], b[32], err[512];
	int ret;

	if (vm->cfg->mem.backend != MEM_BACKEND_HUGETLB && sysinfo(&si) == 0) {
		host = ((uint64_t)si.totalram + si.totalswap) * si.mem_unit;
		if (vm->cfg->mem_size > host) {
			pr_err("--memory %s is more than this host can back (%s of RAM and swap): "
			       "ask for less", fmt_size(vm->cfg->mem_size, a, sizeof(a)),
			       fmt_size(host, b, sizeof(b)));
			return -E2BIG;
		}
	}
	ret = mem_create(&vm->mem, &vm->cfg->mem, err, sizeof(err));
	if (ret) {
		pr_err("%s", err);
		return ret == -EINVAL ? -EINVAL : -E2BIG;
	}
	/* Bind each guest node's memory to its host node before anything touches it. */
	nr = numa_mem_ranges(&vm->cfg->numa, &vm->mem, ranges, ARRAY_SIZE(ranges));
	for (unsigned int i = 0; i < nr; i++) {
		int host_node = vm->cfg->numa.nodes[ranges[i].node].host_node;

		if (host_node < 0)
			continue;
		ret = mem_bind_node(&vm->mem, ranges[i].gpa, ranges[i].size, host_node);
		if (ret) {
			pr_err("cannot bind guest node %u's memory to host node %d: %s",
			       ranges[i].node, host_node, strerror(-ret));
			return ret;
		}
	}
	if (vm->cfg->mem.prefault) {
		ret = mem_prefault(&vm->mem);
		if (ret) {
			pr_err("cannot populate guest RAM (prefault): %s", strerror(-ret));
			return -E2BIG;
		}
	}
	for (unsigned int i = 0; i < vm->mem.nr; i++) {
		struct mem_region *r = &vm->mem.regions[i];
		struct kvm_userspace_memory_region kr = {
			.slot = i,
			.guest_phys_addr = r->gpa,
			.memory_size = r->size,
			.userspace_addr = (uintptr_t)r->hva,
		};

		ret = kvm_ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &kr);
		if (ret) {
			pr_err("KVM_SET_USER_MEMORY_REGION slot %u: %s", i, strerror(-ret));
			return ret;
		}
	}
	return 0;
}

static int vm_setup_irqchip(struct vm *vm)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	uint64_t addr = KVM_IDENTITY_MAP_ADDR;
	int ret;

	/* Only VMX uses these; other backends may refuse them, which is fine. */
	if (ioctl(vm->fd, KVM_SET_IDENTITY_MAP_ADDR, &addr) < 0)
		pr_debug("KVM_SET_IDENTITY_MAP_ADDR: %s (not needed on this host)", strerror(errno));
	if (ioctl(vm->fd, KVM_SET_TSS_ADDR, (unsigned long)KVM_TSS_ADDR) < 0)
		pr_debug("KVM_SET_TSS_ADDR: %s (not needed on this host)", strerror(errno));
	ret = kvm_ioctl_val(vm->fd, KVM_CREATE_IRQCHIP, 0);
	if (ret) {
		pr_err("KVM_CREATE_IRQCHIP: %s", strerror(-ret));
		return ret;
	}
	ret = kvm_ioctl(vm->fd, KVM_CREATE_PIT2, &pit);
	if (ret)
		pr_err("KVM_CREATE_PIT2: %s", strerror(-ret));
	return ret;
}

static uint64_t null_read(void *opaque, uint64_t off, unsigned int size)
{
	(void)opaque; (void)off; (void)size;
	return ~0ULL;
}

static void null_write(void *opaque, uint64_t off, unsigned int size, uint64_t val)
{
	(void)opaque; (void)off; (void)size; (void)val;
}

/* Port 0x80 (POST codes / I/O delay): accepted silently. */
static const struct bus_ops null_ops = { .read = null_read, .write = null_write };

static int vm_setup_devices(struct vm *vm)
{
	struct machine_events events = { vm_machine_event, vm };
	int ret;

	ret = serial_init(&vm->serial, vm->cfg->console_out_fd,
			  (struct irq_line){ vm_set_irq, vm, COM1_IRQ });
	ret = ret ?: rtc_init(&vm->rtc, NULL);
	ret = ret ?: i8042_init(&vm->i8042, events);
	ret = ret ?: pm_init(&vm->pm, (struct irq_line){ vm_set_irq, vm, SCI_IRQ }, events);
	ret = ret ?: pvpanic_init(&vm->pvpanic, events);
	if (ret)
		return ret;
	ret = bus_register(&vm->pio, COM1_BASE, 8, &serial_ops, &vm->serial, "com1");
	ret = ret ?: bus_register(&vm->pio, RTC_BASE, 2, &rtc_ops, &vm->rtc, "rtc");
	ret = ret ?: bus_register(&vm->pio, I8042_DATA_PORT, 5, &i8042_ops, &vm->i8042, "i8042");
	ret = ret ?: bus_register(&vm->pio, PM_BASE, PM_SIZE, &pm_ops, &vm->pm, "acpi-pm");
	ret = ret ?: bus_register(&vm->pio, POST_PORT, 1, &null_ops, NULL, "post");
	ret = ret ?: bus_register(&vm->pio, PVPANIC_PORT, 1, &pvpanic_ops, &vm->pvpanic, "pvpanic");
	if (ret)
		pr_err("cannot register platform devices: %s", strerror(-ret));
	return ret;
}

/* Wrap a created device in virtio-pci and plug it in. */
static int vm_add_virtio(struct vm *vm, struct virtio_dev *vd)
{
	struct vm_virtio *v = &vm->virtio[vm->nr_virtio];
	struct msi_router router = { irq_routes_msi, irq_routes_release, &vm->irq };
	struct ioeventfd_ops ioev = { irq_routes_ioeventfd, &vm->irq };
	int ret;

	v->vd = vd;
	vm->nr_virtio++;
	ret = virtio_pci_init(&v->vp, vd, &vm->io.ev, router, ioev);
	v->transport = true;
	ret = ret ?: pci_host_add(&vm->pci, &v->vp.pci);
	if (ret)
		pr_err("%s: cannot attach it to PCI: %s", vd->name, strerror(-ret));
	return ret;
}

static int vm_setup_pci(struct vm *vm)
{
	struct virtio_env env = { &vm->mem, &vm->io.ev, vm->cfg->ncpus, vm->cfg->incoming_fd >= 0 };
	struct irq_line intx = { vm_set_irq, vm, 0 };
	uint64_t ram_end = MEM_4G;
	struct virtio_dev *vd;
	int ret;

	_Static_assert(PCI_INTX_GSI_BASE == PCI_INTX_GSI_BASE_X86, "one INTx GSI base");
	for (unsigned int i = 0; i < vm->mem.nr; i++)
		ram_end = MAX(ram_end, vm->mem.regions[i].gpa + vm->mem.regions[i].size);
	vm->virtio = calloc(VM_MAX_VIRTIO, sizeof(*vm->virtio));
	if (!vm->virtio)
		return -ENOMEM;
	ret = irq_routes_init(&vm->irq, vm->fd, vm->kvm->fd);
	ret = ret ?: iothread_init(&vm->io, "kite-io");
	ret = ret ?: pci_host_init(&vm->pci, &vm->pio, &vm->mmio, ram_end, intx);
	ret = ret ?: mem_reserve(&vm->mem, PCI_ECAM_BASE, PCI_ECAM_SIZE);
	if (ret) {
		pr_err("cannot set up PCI: %s", strerror(-ret));
		return ret;
	}
	if (vm->cfg->nr_disks + vm->cfg->nr_nets + 3 > VM_MAX_VIRTIO) {
		pr_err("too many devices: at most %d disks and NICs together", VM_MAX_VIRTIO - 3);
		return -EINVAL;
	}
	for (unsigned int i = 0; i < vm->cfg->nr_nets; i++) {
		ret = virtio_net_create(&vd, &vm->cfg->nets[i], &env, i);
		if (ret)
			return ret == -EINVAL ? ret : -EIO;   /* the device said why */
		ret = vm_add_virtio(vm, vd);
		if (ret)
			return ret;
	}
	for (unsigned int i = 0; i < vm->cfg->nr_disks; i++) {
		ret = virtio_blk_create(&vd, &vm->cfg->disks[i], &env, i);
		if (ret)
			return ret == -EINVAL ? ret : -EIO;   /* the device said why */
		ret = vm_add_virtio(vm, vd);
		if (ret)
			return ret;
	}
	if (vm->cfg->virtio_console) {
		ret = virtio_console_create(&vm->console, &env, vm->cfg->console_out_fd);
		if (ret) {
			pr_err("cannot create the virtio-console device: %s", strerror(-ret));
			return ret;
		}
		ret = vm_add_virtio(vm, vm->console);
		if (ret)
			return ret;
	}
	if (vm->cfg->rng) {
		ret = virtio_rng_create(&vd, &env);
		if (ret) {
			pr_err("cannot create the virtio-rng device: %s", strerror(-ret));
			return ret;
		}
		ret = vm_add_virtio(vm, vd);
		if (ret)
			return ret;
	}
	if (vm->cfg->balloon) {
		ret = virtio_balloon_create(&vm->balloon, &env);
		if (ret) {
			pr_err("cannot create the virtio-balloon device: %s", strerror(-ret));
			return ret;
		}
		ret = vm_add_virtio(vm, vm->balloon);
		if (ret)
			return ret;
	}
	return 0;
}

static void vm_destroy_pci(struct vm *vm)
{
	iothread_stop(&vm->io);
	for (unsigned int i = 0; vm->virtio && i < vm->nr_virtio; i++) {
		struct vm_virtio *v = &vm->virtio[i];

		if (v->transport)
			virtio_pci_destroy(&v->vp);
		if (v->vd && v->vd->ops->destroy)
			v->vd->ops->destroy(v->vd);
	}
	free(vm->virtio);
	vm->virtio = NULL;
	iothread_destroy(&vm->io);
	pci_host_destroy(&vm->pci);
	if (vm->irq.table)
		irq_routes_destroy(&vm->irq);
}

static size_t port_serial_rx(void *o, const uint8_t *b, size_t n) { return serial_rx(o, b, n); }
static size_t port_serial_space(void *o) { return serial_rx_space(o); }
static void port_serial_efd(void *o, int efd) { ((struct serial *)o)->rx_space_efd = efd; }
static size_t port_vcon_rx(void *o, const uint8_t *b, size_t n) { return virtio_console_input(o, b, n); }
static size_t port_vcon_space(void *o) { return virtio_console_input_space(o); }
static void port_vcon_efd(void *o, int efd) { virtio_console_set_space_efd(o, efd); }

struct console_port vm_console_port(struct vm *vm)
{
	if (vm->console)
		return (struct console_port){ port_vcon_rx, port_vcon_space, port_vcon_efd,
					      vm->console };
	return (struct console_port){ port_serial_rx, port_serial_space, port_serial_efd,
				      &vm->serial };
}

/* Map a user-given file read-only; prints one line on failure. */
static int map_file(const char *what, const char *path, const uint8_t **data, size_t *size)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	void *p;

	if (fd < 0) {
		pr_err("cannot open %s '%s': %s", what, path, strerror(errno));
		return -errno;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		pr_err("%s '%s' is not a regular file", what, path);
		close(fd);
		return -EINVAL;
	}
	if (st.st_size == 0) {
		pr_err("%s '%s' is empty", what, path);
		close(fd);
		return -EINVAL;
	}
	p = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED) {
		pr_err("cannot read %s '%s': %s", what, path, strerror(errno));
		return -EIO;
	}
	*data = p;
	*size = st.st_size;
	return 0;
}

/* Place the initrd (if any) and copy it into guest RAM. */
static int vm_load_initrd(struct vm *vm, gpa_t kernel_end, uint64_t limit, gpa_t *gpa,
			  uint64_t *size)
{
	const uint8_t *initrd;
	size_t len;
	int ret;

	*gpa = 0;
	*size = 0;
	if (!vm->cfg->initrd)
		return 0;
	ret = map_file("initrd", vm->cfg->initrd, &initrd, &len);
	if (ret)
		return -ENOEXEC;
	ret = boot_initrd_addr_below(&vm->mem, len, kernel_end, limit, gpa);
	if (!ret)
		ret = mem_write(&vm->mem, *gpa, initrd, len);
	munmap((void *)initrd, len);
	if (ret) {
		pr_err("initrd '%s' (%zu bytes) does not fit in guest RAM below %s: give the VM "
		       "more --memory", vm->cfg->initrd, len,
		       limit < MEM_HOLE_START ? "the kernel's initrd limit" : "3 GiB");
		return -ENOEXEC;
	}
	*size = len;
	return 0;
}

static int vm_boot_pvh(struct vm *vm, const uint8_t *img, size_t size)
{
	gpa_t entry, kend, initrd, start_info;
	uint64_t initrd_size;
	char err[256];
	int ret;

	ret = pvh_load_elf(&vm->mem, img, size, &entry, &kend, err, sizeof(err));
	if (ret) {
		pr_err("kernel '%s' %s", vm->cfg->kernel, err);
		return -ENOEXEC;
	}
	ret = vm_load_initrd(vm, kend, UINT64_MAX, &initrd, &initrd_size);
	if (ret)
		return ret;
	ret = pvh_write_start_info(&vm->mem, vm->cfg->cmdline, MEM_ACPI_START, initrd,
				   initrd_size, &start_info);
	if (ret == -E2BIG) {
		pr_err("--cmdline is too long: 64 KiB at most");
		return -ENOEXEC;
	}
	if (!ret)
		ret = x86_vcpu_set_pvh_entry(vm->vcpus[0].fd, entry, start_info);
	if (ret)
		pr_err("cannot set up the PVH boot: %s", strerror(-ret));
	return ret;
}

static int vm_boot_bzimage(struct vm *vm, const uint8_t *img, size_t size)
{
	struct bzimage_boot bz;
	gpa_t initrd;
	uint64_t initrd_size;
	char err[256];
	int ret;

	ret = bzimage_load(&vm->mem, img, size, &bz, err, sizeof(err));
	if (ret) {
		pr_err("kernel '%s' %s", vm->cfg->kernel, err);
		return -ENOEXEC;
	}
	ret = vm_load_initrd(vm, bz.kernel_end, bz.initrd_max, &initrd, &initrd_size);
	if (ret)
		return ret;
	ret = bzimage_setup(&vm->mem, img, size, &bz, vm->cfg->cmdline, initrd, initrd_size,
			    MEM_ACPI_START);
	if (ret == -E2BIG) {
		pr_err("--cmdline is longer than kernel '%s' accepts", vm->cfg->kernel);
		return -ENOEXEC;
	}
	if (!ret)
		ret = x86_vcpu_set_linux64_entry(vm->vcpus[0].fd, bz.entry, bz.zero_page,
						 BZ_GDT_ADDR, BZ_PML4_ADDR);
	if (ret)
		pr_err("cannot set up the Linux boot: %s", strerror(-ret));
	return ret;
}

static int vm_load_kernel(struct vm *vm)
{
	struct numa_mem_range ranges[NUMA_MAX_NODES + MEM_MAX_REGIONS];
	struct acpi_config acfg = {
		.numa = &vm->cfg->numa,
		.numa_ranges = ranges,
		.ncpus = vm->nr_vcpus,
		.pci = true,
		.ecam_base = PCI_ECAM_BASE,
		.mmio32_base = vm->pci.mmio32_base,
		.mmio32_end = vm->pci.mmio32_end,
		.mmio64_base = vm->pci.mmio64_base,
		.mmio64_end = vm->pci.mmio64_end,
	};
	const uint8_t *img;
	size_t size;
	uint8_t *acpi;
	long alen;
	int ret;

	acfg.nr_numa_ranges = numa_mem_ranges(&vm->cfg->numa, &vm->mem, ranges, ARRAY_SIZE(ranges));
	acpi = mem_ptr(&vm->mem, MEM_ACPI_START, MEM_ACPI_END - MEM_ACPI_START);
	alen = acpi ? acpi_build(acpi, MEM_ACPI_END - MEM_ACPI_START, MEM_ACPI_START, &acfg) : -EFAULT;
	if (alen < 0) {
		pr_err("cannot build ACPI tables: %s", strerror(-alen));
		return alen;
	}
	ret = map_file("kernel", vm->cfg->kernel, &img, &size);
	if (ret)
		return -ENOEXEC;
	if (size >= 4 && !memcmp(img, "\177ELF", 4)) {
		ret = vm_boot_pvh(vm, img, size);
	} else if (bzimage_detect(img, size)) {
		ret = vm_boot_bzimage(vm, img, size);
	} else {
		pr_err("kernel '%s' is not a kernel kite can boot: neither an ELF image with a "
		       "PVH note (vmlinux, CONFIG_PVH=y) nor a bzImage", vm->cfg->kernel);
		ret = -ENOEXEC;
	}
	munmap((void *)img, size);
	return ret;
}

int vm_create(struct vm *vm, const struct vm_config *cfg, struct kvm_sys *kvm, struct evloop *ev)
{
	struct timespec ts;
	int ret;

	memset(vm, 0, sizeof(*vm));
	vm->cfg = cfg;
	vm->kvm = kvm;
	vm->ev = ev;
	vm->stop_efd = -1;
	pthread_mutex_init(&vm->run_lock, NULL);
	pthread_mutex_init(&vm->pause_mutex, NULL);
	pthread_mutex_init(&vm->mig.lock, NULL);
	vm->mig.fd = -1;
	pthread_cond_init(&vm->run_cond, NULL);
	{
		pthread_condattr_t a;

		pthread_condattr_init(&a);
		pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
		pthread_cond_init(&vm->throttle_cond, &a);
		pthread_condattr_destroy(&a);
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	vm->start_ns = ts.tv_sec * 1000000000ULL + ts.tv_nsec;

	vm->fd = kvm_ioctl_val(kvm->fd, KVM_CREATE_VM, 0UL);
	if (vm->fd < 0) {
		ret = vm->fd;
		pr_err("KVM_CREATE_VM: %s", strerror(-ret));
		return ret;
	}
	vm->stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->stop_efd < 0)
		return -errno;
	ret = bus_init(&vm->pio, "pio");
	ret = ret ?: bus_init(&vm->mmio, "mmio");
	/*
	 * Memory slots before the irqchip: once an in-kernel irqchip exists, the
	 * first KVM_SET_USER_MEMORY_REGION waits for an SRCU grace period
	 * (~5 ms measured here); before it, the slot takes ~0.2 ms.
	 */
	ret = ret ?: vm_setup_memory(vm);
	ret = ret ?: vm_setup_irqchip(vm);
	ret = ret ?: vm_setup_devices(vm);
	ret = ret ?: vm_setup_pci(vm);
	if (ret)
		return ret;

	vm->vcpus = calloc(cfg->ncpus, sizeof(*vm->vcpus));
	if (!vm->vcpus)
		return -ENOMEM;
	vm->nr_vcpus = cfg->ncpus;
	for (unsigned int i = 0; i < cfg->ncpus; i++)
		vm->vcpus[i].fd = -1;
	for (unsigned int i = 0; i < cfg->ncpus; i++) {
		ret = vcpu_create(vm, i, &vm->vcpus[i]);
		if (ret)
			return ret;
	}
	if (cfg->incoming_fd >= 0)
		return 0;       /* memory and state arrive through the migration stream */
	if (cfg->restore) {
		char err[512] = "";

		ret = vm_state_restore(vm, cfg->restore, err, sizeof(err));
		if (ret && err[0])
			pr_err("cannot restore the snapshot: %s", err);
		return ret ? -EINVAL : 0;
	}
	return vm_load_kernel(vm);
}

/* --cpu-affinity: run vCPU i on the CPUs of its node's host node. */
static void vm_pin_vcpu(struct vm *vm, unsigned int i)
{
	int host_node = vm->cfg->numa.nodes[numa_cpu_node(&vm->cfg->numa, i)].host_node;
	struct bitmask *cpus = numa_allocate_cpumask();
	cpu_set_t set;
	int ret;

	CPU_ZERO(&set);
	if (cpus && numa_node_to_cpus(host_node, cpus) == 0)
		for (unsigned int c = 0; c < cpus->size && c < CPU_SETSIZE; c++)
			if (numa_bitmask_isbitset(cpus, c))
				CPU_SET(c, &set);
	if (cpus)
		numa_free_cpumask(cpus);
	ret = CPU_COUNT(&set) ? pthread_setaffinity_np(vm->vcpus[i].thread, sizeof(set), &set) :
				ENOENT;
	if (ret)
		pr_warn("vCPU %u: cannot pin to host node %d's CPUs: %s", i, host_node, strerror(ret));
}

void vm_print_stats(struct vm *vm)
{
	struct mem_usage u;
	char a[32], b[32], c[32], d[32];

	if (mem_usage(&vm->mem, &u)) {
		pr_err("memory: cannot read /proc/self/smaps");
		return;
	}
	fprintf(stderr, "kite: memory: %s guest RAM, %s populated, %s of it in huge pages; "
		"backend %s, %s %s\n", fmt_size(vm->mem.total, a, sizeof(a)),
		fmt_size(u.populated, b, sizeof(b)), fmt_size(u.huge, c, sizeof(c)),
		mem_backend_name(vm->mem.backend), fmt_size(vm->mem.page_size, d, sizeof(d)),
		vm->mem.backend == MEM_BACKEND_HUGETLB ? "pages" :
		"base pages (transparent huge pages requested)");
}

int vm_start(struct vm *vm)
{
	int ret = iothread_start(&vm->io);

	if (ret) {
		pr_err("cannot start the I/O thread: %s", strerror(-ret));
		return ret;
	}
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		ret = vcpu_start(&vm->vcpus[i]);
		if (ret) {
			vm_request_stop(vm, VM_STOP_ERROR);
			return ret;
		}
		if (vm->cfg->numa.cpu_affinity)
			vm_pin_vcpu(vm, i);
	}
	return 0;
}

void vm_stop_vcpus(struct vm *vm)
{
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		vcpu_kick(&vm->vcpus[i]);
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		if (vm->vcpus[i].started) {
			pthread_join(vm->vcpus[i].thread, NULL);
			vm->vcpus[i].started = false;
		}
	}
}

void vm_destroy(struct vm *vm)
{
	int *fds = calloc(vm->nr_vcpus + 1, sizeof(*fds));
	unsigned int nfds = 0;

	if (vm->mig.started) {
		migrate_cancel(&vm->mig);
		vm_resume(vm);
		migrate_join(&vm->mig);
	}
	if (vm->vcpus) {
		vm_stop_vcpus(vm);
		for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
			struct vcpu *v = &vm->vcpus[i];

			if (!v->vm)
				continue;
			if (fds && v->fd >= 0) {
				fds[nfds++] = v->fd;   /* closed below, detached */
				v->fd = -1;
			}
			vcpu_destroy(v);
		}
		free(vm->vcpus);
		vm->vcpus = NULL;
	}
	vm_destroy_pci(vm);
	mem_free(&vm->mem);
	bus_destroy(&vm->pio);
	bus_destroy(&vm->mmio);
	serial_destroy(&vm->serial);
	rtc_destroy(&vm->rtc);
	i8042_destroy(&vm->i8042);
	pm_destroy(&vm->pm);
	if (vm->stop_efd >= 0)
		close(vm->stop_efd);
	if (vm->fd >= 0) {
		if (fds)
			fds[nfds++] = vm->fd;
		else
			close(vm->fd);
	}
	/* KVM's VM teardown runs on the last close; don't make the user wait for it. */
	close_detached(fds, nfds);
	free(fds);
	vm->fd = vm->stop_efd = -1;
}
