// SPDX-License-Identifier: GPL-2.0-only
/* kite: command line, signals, and the VMM thread's loop.  The only place that exits. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "api/api.h"
#include "console.h"
#include "evloop.h"
#include "kvm.h"
#include "log.h"
#include "mem_host.h"
#include "numa_topo.h"
#include "migrate.h"
#include "snapshot.h"
#include "vm_state.h"
#include "util.h"
#include "vcpu.h"
#include "vm.h"
#include "vm_ctl.h"

/* Exit statuses (documented in --help and the README). */
enum {
	EXIT_POWEROFF = 0,
	EXIT_ERROR = 1,
	EXIT_USAGE = 2,
	EXIT_RESET = 3,
	EXIT_TRIPLE_FAULT = 4,
	EXIT_PANIC = 5,
};

/* The default guest's kernel command line (guest/README.md explains each flag). */
#define DEFAULT_CMDLINE "console=ttyS0 reboot=k panic=-1"
#define DEFAULT_CMDLINE_HVC "console=hvc0 reboot=k panic=-1"

static const char usage_text[] =
"Usage: kite run [--kernel FILE] [OPTIONS]\n"
"       kite --help | --version\n"
"\n"
"kite is a KVM virtual machine monitor.  'kite run' boots a guest kernel on\n"
"/dev/kvm with a 16550A serial console on stdin/stdout.  Without --kernel it\n"
"boots kite's default Linux guest (built by ./setup.sh into\n"
"$KITE_CACHE/guest, default ~/.cache/kite/guest) to a shell.\n"
"\n"
"Options for 'kite run':\n"
"  -k, --kernel FILE       guest kernel: a bzImage (64-bit boot protocol), or an\n"
"                          ELF image with a PVH entry note (Linux vmlinux built\n"
"                          with CONFIG_PVH, or kite's test guest)\n"
"  -i, --initrd FILE       initial ramdisk\n"
"  -a, --cmdline STRING    kernel command line (at most 64 KiB); default for the\n"
"                          default guest: \"" DEFAULT_CMDLINE "\"\n"
"  -e, --cmdline-extra STRING  appended to the kernel command line (after the\n"
"                          default one or --cmdline), e.g. for the default\n"
"                          guest: kite.cmd=\"uname -a\" runs a command and powers\n"
"                          off, printing \"KITE-EXIT <status>\"\n"
"  -m, --memory SIZE[,backend=anon|memfd|hugetlb|file][,hugepages=2M|1G]\n"
"               [,prefault][,path=FILE]\n"
"                          guest RAM, e.g. 512M, 4G; a plain number is MiB\n"
"                          (default 128M).  RAM beyond 3 GiB is placed above\n"
"                          4 GiB, leaving a hole for devices below 4 GiB.\n"
"                          backend: 'anon' (default; transparent huge pages\n"
"                          requested), 'memfd' (shared, other processes can\n"
"                          map it), 'hugetlb' (hugetlbfs pages of\n"
"                          hugepages=2M (default) or 1G, reserved beforehand in\n"
"                          /sys/kernel/mm/hugepages), 'file' (path=FILE: a new\n"
"                          or empty file is sized to SIZE, an existing one must\n"
"                          be at least SIZE).  prefault: populate all of it\n"
"                          before the guest starts\n"
"      --numa node=N,cpus=A[-B][,cpus=...],memory=SIZE[,host-node=H]\n"
"                          a guest NUMA node (repeat for each, numbered from 0):\n"
"                          its vCPUs and memory (the nodes' memory adds up to\n"
"                          --memory; node 0 gets the lowest addresses), and\n"
"                          optionally the host node its memory is bound to.\n"
"                          The guest sees them in ACPI SRAT and SLIT\n"
"      --numa-distance A:B=D\n"
"                          distance from node A to B (11-254; default 20, and\n"
"                          B:A the same unless given)\n"
"      --cpu-affinity      pin each node's vCPU threads to its host node's CPUs\n"
"      --restore DIR       start from a snapshot directory (written by the API's\n"
"                          PUT /vm/snapshot): the kernel, memory, vCPUs and\n"
"                          devices come from it, so give no other VM options.\n"
"                          Guest RAM is mapped copy-on-write from DIR/memory.\n"
"                          Disk images are used as they are now: keeping them\n"
"                          consistent with the snapshot is up to you\n"
"      --api-socket PATH   serve the control API on a unix socket at PATH (mode\n"
"                          0600; a stale socket there is replaced): HTTP/1.1 +\n"
"                          JSON to get the VM's status, pause, resume, shut down\n"
"                          (ACPI power button), reset, snapshot (docs/api.yaml),\n"
"                          e.g. curl --unix-socket PATH http://localhost/vm\n"
"      --incoming URI      wait for a live migration on tcp:HOST:PORT or\n"
"                          unix:PATH (sent by the source's PUT /vm/migrate) and\n"
"                          run the VM that arrives; give no other VM options\n"
"      --stats             at exit, print guest RAM size, how much of it the\n"
"                          host populated, and the page size backing it\n"
"      --profile-guest FILE  sample vCPU 0 every millisecond into FILE (its\n"
"                          RIP and the words at its stack pointer), for\n"
"                          finding where a guest spends its time;\n"
"                          bench/guest-profile VMLINUX FILE reads it\n"
"  -c, --cpus N            number of vCPUs, each on its own thread (default 1)\n"
"      --on-reboot=ACTION  when the guest resets: 'exit' (status 3) or\n"
"                          'restart' the VM (default)\n"
"      --cpu-profile=NAME  'host': KVM's CPUID as it is (plus topology);\n"
"                          'compat': work around hosts without VT-x (kvm-pvm):\n"
"                          hide CX16, PCID and PV_SEND_IPI, add\n"
"                          '" COMPAT_CMDLINE_FLAGS "'\n"
"                          to the kernel command line and put the boot-time\n"
"                          flags '" COMPAT_SPEED_FLAGS "'\n"
"                          before it (add loglevel=7 to see kernel messages),\n"
"                          skip fwait at CPL0;\n"
"                          'auto' (default): compat on kvm-pvm hosts, else host\n"
"\n"
"Devices (virtio over PCI; the guest finds them by PCI enumeration):\n"
"      --console=KIND      where the console (stdin/stdout) is connected:\n"
"                          'serial' (COM1, default) or 'virtio' (virtio-console,\n"
"                          Linux hvc0; the default guest then gets\n"
"                          \"" DEFAULT_CMDLINE_HVC "\").  Output that\n"
"                          stdout cannot take waits in the guest's queue; a\n"
"                          stalled reader never blocks a vCPU\n"
"  -d, --disk PATH[,readonly][,cache=none|writeback][,serial=ID]\n"
"                          a virtio-blk disk backed by a raw image or block\n"
"                          device (size a multiple of 512), Linux /dev/vda,\n"
"                          vdb, ... in the order given.  'readonly': the guest\n"
"                          cannot write it; cache=none: O_DIRECT, bypassing the\n"
"                          host page cache (writeback: default); serial=ID: up\n"
"                          to 20 bytes the guest reads as the disk's serial.\n"
"                          The image is locked (OFD lock): two VMs cannot open\n"
"                          it read-write.  I/O runs on io_uring, one queue per\n"
"                          vCPU\n"
"      --net tap=NAME[,mac=XX:XX:XX:XX:XX:XX]\n"
"                          a virtio-net NIC on the host TAP device NAME (opened,\n"
"                          or created when kite may: CAP_NET_ADMIN); checksum\n"
"                          and TSO offloads pass through the vnet header.\n"
"                          Default MAC 52:54:00:12:34:56 plus the NIC's index.\n"
"                          If the TAP disappears, the guest sees link down\n"
"      --rng               a virtio-rng device fed from the host's getrandom(2)\n"
"                          (Linux: /dev/hwrng)\n"
"      --balloon           a virtio-balloon device: the control API's PUT\n"
"                          /vm/balloon asks the guest to hand memory back\n"
"                          (released on the host), GET /vm/balloon reports it\n"
"                          and the guest's memory statistics; free pages the\n"
"                          guest reports are released too (Linux:\n"
"                          CONFIG_VIRTIO_BALLOON)\n"
"\n"
"  -v, --verbose           say more (host quirks, ignored device accesses);\n"
"                          twice for debug messages\n"
"  -h, --help              show this help\n"
"  -V, --version           show the version\n"
"\n"
"Console: the guest's COM1 is stdin/stdout; on a terminal, input is raw.\n"
"  Ctrl-A x quits, Ctrl-A h lists the escapes, Ctrl-A Ctrl-A sends Ctrl-A.\n"
"\n"
"Exit status:\n"
"  0  the guest powered off (ACPI S5), or Ctrl-A x\n"
"  1  kite or KVM failed while the guest ran (e.g. an emulation failure)\n"
"  2  bad usage or input: options, kernel file, memory or vCPU count, /dev/kvm,\n"
"     a disk image (missing, unreadable, size, locked) or a TAP that cannot open\n"
"  3  the guest reset and --on-reboot=exit was given\n"
"  4  the guest triple-faulted (vCPU registers are printed)\n"
"  5  the guest kernel panicked (reported through pvpanic)\n"
"  128+N  kite was stopped by signal N\n";

static void usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("kite: error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (see 'kite --help')\n", stderr);
	exit(EXIT_USAGE);
}

enum { OPT_ON_REBOOT = 256, OPT_CPU_PROFILE, OPT_RNG, OPT_CONSOLE, OPT_NET, OPT_NUMA, OPT_NUMA_DIST, OPT_CPU_AFFINITY,
       OPT_STATS, OPT_RESTORE, OPT_API_SOCKET, OPT_INCOMING, OPT_BALLOON, OPT_PROFILE };

static const char *cmdline_extra;
static const char *restore_dir;      /* --restore DIR */
static const char *incoming_uri;     /* --incoming URI */
static const char *api_socket;       /* --api-socket PATH */

static void parse_run_args(int argc, char **argv, struct vm_config *cfg)
{
	static const struct option opts[] = {
		{ "kernel", required_argument, NULL, 'k' },
		{ "initrd", required_argument, NULL, 'i' },
		{ "cmdline", required_argument, NULL, 'a' },
		{ "cmdline-extra", required_argument, NULL, 'e' },
		{ "memory", required_argument, NULL, 'm' },
		{ "cpus", required_argument, NULL, 'c' },
		{ "on-reboot", required_argument, NULL, OPT_ON_REBOOT },
		{ "cpu-profile", required_argument, NULL, OPT_CPU_PROFILE },
		{ "rng", no_argument, NULL, OPT_RNG },
		{ "balloon", no_argument, NULL, OPT_BALLOON },
		{ "net", required_argument, NULL, OPT_NET },
		{ "numa", required_argument, NULL, OPT_NUMA },
		{ "numa-distance", required_argument, NULL, OPT_NUMA_DIST },
		{ "cpu-affinity", no_argument, NULL, OPT_CPU_AFFINITY },
		{ "stats", no_argument, NULL, OPT_STATS },
		{ "profile-guest", required_argument, NULL, OPT_PROFILE },
		{ "restore", required_argument, NULL, OPT_RESTORE },
		{ "incoming", required_argument, NULL, OPT_INCOMING },
		{ "api-socket", required_argument, NULL, OPT_API_SOCKET },
		{ "disk", required_argument, NULL, 'd' },
		{ "console", required_argument, NULL, OPT_CONSOLE },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cpus = "1", *memory = "128M";
	bool vm_opts_given = false;      /* --memory or --cpus given (even with default values) */
	int verbose = 0, c;
	uint64_t v;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":k:i:a:e:m:c:d:vh", opts, NULL)) != -1) {
		switch (c) {
		case 'k': cfg->kernel = optarg; break;
		case 'i': cfg->initrd = optarg; break;
		case 'a': cfg->cmdline = optarg; break;
		case 'e': cmdline_extra = optarg; break;
		case 'm': memory = optarg; vm_opts_given = true; break;
		case 'c': cpus = optarg; vm_opts_given = true; break;
		case 'v': verbose++; break;
		case 'h':
			fputs(usage_text, stdout);
			exit(0);
		case OPT_RNG: cfg->rng = true; break;
		case OPT_BALLOON: cfg->balloon = true; break;
		case OPT_STATS: cfg->stats = true; break;
		case OPT_PROFILE: cfg->profile_path = optarg; break;
		case OPT_RESTORE: restore_dir = optarg; break;
		case OPT_INCOMING: incoming_uri = optarg; break;
		case OPT_API_SOCKET: api_socket = optarg; break;
		case OPT_CPU_AFFINITY: cfg->numa.cpu_affinity = true; break;
		case OPT_NUMA:
		case OPT_NUMA_DIST: {
			char err[256];

			if ((c == OPT_NUMA ? numa_parse_node : numa_parse_distance)(&cfg->numa, optarg,
										      err, sizeof(err)))
				usage_error("%s", err);
			break;
		}
		case OPT_NET: {
			static struct net_opts nets[VM_MAX_VIRTIO];
			char err[256];

			if (cfg->nr_disks + cfg->nr_nets == VM_MAX_VIRTIO - 3)
				usage_error("too many --disk and --net options: %d at most",
					    VM_MAX_VIRTIO - 3);
			if (net_parse_opts(optarg, &nets[cfg->nr_nets], err, sizeof(err)))
				usage_error("%s", err);
			cfg->nets = nets;
			cfg->nr_nets++;
			break;
		}
		case 'd': {
			static struct blk_opts disks[VM_MAX_VIRTIO];
			char err[256];

			if (cfg->nr_disks + cfg->nr_nets == VM_MAX_VIRTIO - 3)
				usage_error("too many --disk and --net options: %d at most",
					    VM_MAX_VIRTIO - 3);
			if (blk_parse_opts(optarg, &disks[cfg->nr_disks], err, sizeof(err)))
				usage_error("%s", err);
			cfg->disks = disks;
			cfg->nr_disks++;
			break;
		}
		case OPT_CONSOLE:
			if (!strcmp(optarg, "serial"))
				cfg->virtio_console = false;
			else if (!strcmp(optarg, "virtio"))
				cfg->virtio_console = true;
			else
				usage_error("--console must be 'serial' or 'virtio', not '%s'", optarg);
			break;
		case OPT_ON_REBOOT:
			if (!strcmp(optarg, "exit"))
				cfg->on_reboot = ON_REBOOT_EXIT;
			else if (!strcmp(optarg, "restart"))
				cfg->on_reboot = ON_REBOOT_RESTART;
			else
				usage_error("--on-reboot must be 'exit' or 'restart', not '%s'", optarg);
			break;
		case OPT_CPU_PROFILE:
			vm_opts_given = true;
			if (!strcmp(optarg, "host"))
				cfg->cpu_profile = CPU_PROFILE_HOST;
			else if (!strcmp(optarg, "compat"))
				cfg->cpu_profile = CPU_PROFILE_COMPAT;
			else if (!strcmp(optarg, "auto"))
				cfg->cpu_profile = CPU_PROFILE_AUTO;
			else
				usage_error("--cpu-profile must be 'host', 'compat' or 'auto', not '%s'",
					    optarg);
			break;
		case ':':
			usage_error("option '%s' needs a value", argv[optind - 1]);
		default:
			usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		usage_error("unexpected argument '%s'", argv[optind]);
	if (cfg->profile_path) {
		/* Said now, not by the vCPU thread after the guest started. */
		int fd = open(cfg->profile_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

		if (fd < 0)
			usage_error("--profile-guest: cannot write '%s': %s", cfg->profile_path,
				    strerror(errno));
		close(fd);
	}
	if (restore_dir && incoming_uri)
		usage_error("--restore and --incoming both give the VM's state: use one");
	if (incoming_uri) {
		char err[256];

		if (migrate_check_uri(incoming_uri, err, sizeof(err)))
			usage_error("--incoming: %s", err);
	}
	if ((restore_dir || incoming_uri) && (cfg->kernel || cfg->initrd || cfg->cmdline || cmdline_extra ||
			    vm_opts_given || cfg->cpu_profile != CPU_PROFILE_AUTO || cfg->nr_disks ||
			    cfg->nr_nets || cfg->numa.nr_nodes || cfg->rng || cfg->virtio_console ||
			    cfg->balloon))
		usage_error("--%s takes the VM's configuration (kernel, memory, vCPUs, devices) "
			    "from the %s: give no other VM options", restore_dir ? "restore" : "incoming",
			    restore_dir ? "snapshot" : "source");
	log_set_level(verbose >= 2 ? LOG_DEBUG : verbose ? LOG_INFO : LOG_WARN);

	char err[512];
	int ret = mem_parse_opts(memory, &cfg->mem, err, sizeof(err));

	if (ret)
		usage_error("%s", err);
	cfg->mem_size = cfg->mem.size;
	ret = parse_uint(cpus, 0, UINT32_MAX, &v);
	if (ret)
		usage_error("--cpus '%s' is not a number", cpus);
	if (v == 0)
		usage_error("--cpus must be at least 1");
	cfg->ncpus = v;
	ret = numa_validate(&cfg->numa, cfg->ncpus, cfg->mem_size,
			    cfg->mem.backend == MEM_BACKEND_HUGETLB ? cfg->mem.hugepage_size : 4 * KiB,
			    NULL, err, sizeof(err));
	if (ret)
		usage_error("%s", err);
}

static void vm_quit(void *ctx)
{
	vm_request_stop(ctx, VM_STOP_QUIT);
}

static void on_stop_efd(void *opaque, uint32_t events)
{
	struct vm *vm = opaque;

	(void)events;
	if (vm_stopping(vm))
		evloop_stop(vm->ev);
}

/* What the VMM thread's signal handler needs; lives across restarts. */
struct sig_ctx {
	struct vm *vm;   /* the VM of this boot */
	int fd;          /* signalfd */
	int signo;       /* the signal that stopped the VM, 0 if none */
	int received;    /* the last signal received, even while the VM stopped */
};

static void on_signal(void *opaque, uint32_t events)
{
	struct sig_ctx *sc = opaque;
	struct signalfd_siginfo si;
	int signo;

	(void)events;
	if (read(sc->fd, &si, sizeof(si)) != sizeof(si))
		return;
	signo = (int)si.ssi_signo;
	pr_warn("received signal %d (%s): stopping the VM", signo, strsignal(signo));
	sc->received = signo;   /* a guest reset under way must not restart it */
	if (!vm_stopping(sc->vm))
		__atomic_store_n(&sc->signo, signo, __ATOMIC_RELAXED);
	vm_request_stop(sc->vm, VM_STOP_QUIT);
}

static int exit_status(enum vm_stop why, int signo)
{
	switch (why) {
	case VM_STOP_POWEROFF: return EXIT_POWEROFF;
	case VM_STOP_RESET: return EXIT_RESET;
	case VM_STOP_TRIPLE_FAULT: return EXIT_TRIPLE_FAULT;
	case VM_STOP_PANIC: return EXIT_PANIC;
	case VM_STOP_QUIT: return signo ? 128 + signo : EXIT_POWEROFF;
	case VM_STOP_MIGRATED: return EXIT_POWEROFF;
	default: return EXIT_ERROR;
	}
}

/* Run one boot of the VM; returns the stop reason or -errno. */
static int run_once(struct vm_config *cfg, struct kvm_sys *kvm, struct console *con,
		    struct sig_ctx *sc, struct ctl_queue *ctl, int *status)
{
	struct evloop ev;
	struct vm vm;
	int ret;

	sc->vm = &vm;
	sc->signo = 0;

	ret = evloop_init(&ev);
	if (ret) {
		pr_err("epoll: %s", strerror(-ret));
		*status = EXIT_ERROR;
		return ret;
	}
	ret = vm_create(&vm, cfg, kvm, &ev);
	if (ret) {
		*status = (ret == -ENOEXEC || ret == -E2BIG || ret == -EINVAL) ? EXIT_USAGE : EXIT_ERROR;
		goto out;
	}
	ret = evloop_add(&ev, vm.stop_efd, EPOLLIN, on_stop_efd, &vm);
	ret = ret ?: evloop_add(&ev, sc->fd, EPOLLIN, on_signal, sc);
	ret = ret ?: console_attach(con, &ev, vm_console_port(&vm), vm_quit, &vm);
	ret = ret ?: vm_ctl_attach(ctl, &vm);       /* --api-socket requests */
	if (ret) {
		pr_err("cannot set up the event loop: %s", strerror(-ret));
		*status = EXIT_ERROR;
		goto out;
	}
	if (cfg->incoming_fd >= 0) {
		/* --incoming: memory and state arrive now; start, then tell the source. */
		char err[512] = "";
		int fd = cfg->incoming_fd;

		cfg->incoming_fd = -1;
		ret = migrate_incoming_receive(&vm, fd, err, sizeof(err));
		if (!ret && vm_handover(&vm, true))
			snprintf(err, sizeof(err), "cannot take the disks over from the source");
		if (!ret && err[0])
			ret = -EBUSY;
		if (ret)
			migrate_incoming_ack(fd, ret, err[0] ? err : strerror(-ret));
		else
			ret = migrate_incoming_commit(fd, err, sizeof(err));
		ret = ret ?: vm_start(&vm);
		close(fd);
		if (ret) {
			pr_err("incoming migration failed: %s", err[0] ? err : strerror(-ret));
			*status = EXIT_ERROR;
			vm_request_stop(&vm, VM_STOP_ERROR);
			vm_stop_vcpus(&vm);
			goto out;
		}
		pr_info("incoming migration completed: the VM runs here now");
	} else {
		ret = vm_start(&vm);
	}
	if (!ret)
		evloop_run(&ev);
	vm_stop_vcpus(&vm);
	if (cfg->stats)
		vm_print_stats(&vm);
	ret = __atomic_load_n(&vm.stop, __ATOMIC_ACQUIRE);
	*status = exit_status(ret, sc->signo);
	if (ret == VM_STOP_RESET)
		pr_info("the guest reset");
out:
	vm_ctl_detach(ctl);
	console_detach(con);
	vm_destroy(&vm);
	evloop_destroy(&ev);
	sc->vm = NULL;
	return ret;
}

static int check_readable(const char *what, const char *path)
{
	if (access(path, R_OK) == 0)
		return 0;
	pr_err("cannot read %s '%s': %s", what, path, strerror(errno));
	return -errno;
}

/* Where setup.sh puts the default guest: $KITE_CACHE/guest, else XDG/HOME cache. */
static int default_guest_dir(char *buf, size_t len)
{
	const char *c = getenv("KITE_CACHE"), *x = getenv("XDG_CACHE_HOME"), *h = getenv("HOME");
	int n;

	if (c && *c)
		n = snprintf(buf, len, "%s/guest", c);
	else if (x && *x)
		n = snprintf(buf, len, "%s/kite/guest", x);
	else if (h && *h)
		n = snprintf(buf, len, "%s/.cache/kite/guest", h);
	else
		return -ENOENT;
	return n > 0 && (size_t)n < len ? 0 : -ENAMETOOLONG;
}

/* No --kernel: the default guest, which ./setup.sh builds. */
static void use_default_guest(struct vm_config *cfg, char *kernel, char *initrd, size_t len)
{
	char dir[4096];

	if (default_guest_dir(dir, sizeof(dir)) ||
	    snprintf(kernel, len, "%s/vmlinux", dir) >= (int)len ||
	    snprintf(initrd, len, "%s/initramfs.cpio", dir) >= (int)len)
		usage_error("no --kernel given, and no cache directory for the default guest: "
			    "set KITE_CACHE or HOME");
	if (access(kernel, R_OK) || access(initrd, R_OK)) {
		pr_err("no --kernel given and the default guest is not built in %s: run ./setup.sh "
		       "(or guest/build.sh), or pass --kernel FILE", dir);
		exit(EXIT_USAGE);
	}
	cfg->kernel = kernel;
	if (!cfg->initrd)
		cfg->initrd = initrd;
	if (!cfg->cmdline)
		cfg->cmdline = cfg->virtio_console ? DEFAULT_CMDLINE_HVC : DEFAULT_CMDLINE;
}

/* Is this a Linux kernel (a bzImage, or an ELF with the kernel's banner)? */
static bool kernel_is_linux(const char *path)
{
	static const char banner[] = "Linux version ";
	bool is_linux = false;
	char buf[1 << 16];
	size_t keep = 0;
	FILE *f = fopen(path, "rb");

	if (!f)
		return false;
	for (;;) {
		size_t n = fread(buf + keep, 1, sizeof(buf) - keep, f);

		if (!n)
			break;
		n += keep;
		if ((n > 0x206 && !keep && !memcmp(buf + 0x202, "HdrS", 4)) ||
		    memmem(buf, n, banner, sizeof(banner) - 1)) {
			is_linux = true;
			break;
		}
		keep = MIN(n, sizeof(banner) - 1);
		memmove(buf, buf + n - keep, keep);
	}
	fclose(f);
	return is_linux;
}

static int run_loop(struct vm_config *cfg, struct kvm_sys *kvm);

static int run_loop(struct vm_config *cfg, struct kvm_sys *kvm)
{
	struct console con;
	struct api *api = NULL;
	struct sig_ctx sc = { .fd = -1 };
	sigset_t set;
	int sigfd, status, ret;

	signal(SIGPIPE, SIG_IGN);
	ret = vcpu_install_kick_handler();
	if (ret) {
		pr_err("cannot install the vCPU kick handler: %s", strerror(-ret));
		return EXIT_ERROR;
	}
	/* SIGINT/SIGTERM/SIGHUP are read through a signalfd by the VMM thread only. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	sigdelset(&set, VCPU_KICK_SIGNAL);
	sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sigfd < 0) {
		pr_err("signalfd: %s", strerror(errno));
		return EXIT_ERROR;
	}
	/* The API thread starts with those signals blocked. */
	ret = api_socket ? api_start(&api, api_socket) : 0;
	if (ret) {
		close(sigfd);
		return ret == -EIO ? EXIT_ERROR : EXIT_USAGE;
	}

	console_setup_terminal(&con, cfg->console_in_fd);
	sc.fd = sigfd;
	for (;;) {
		ret = run_once(cfg, kvm, &con, &sc, api_ctl(api), &status);
		/* Ctrl-A x typed while the guest was resetting still quits. */
		if (con.quit_requested) {
			status = EXIT_POWEROFF;
			break;
		}
		if (ret == VM_STOP_RESET && cfg->on_reboot == ON_REBOOT_RESTART) {
			/* A signal that came while the guest was resetting: no restart. */
			if (sc.received) {
				status = 128 + sc.received;
				break;
			}
			pr_info("restarting the VM (--on-reboot=restart)");
			if (cfg->restore) {
				/* A restored VM reboots its kernel on fresh memory. */
				cfg->restore = NULL;
				memset(&cfg->mem, 0, sizeof(cfg->mem));
				cfg->mem.size = cfg->mem_size;
			}
			continue;
		}
		break;
	}
	api_stop(api);
	console_restore(&con);
	close(sigfd);
	return status;
}

/* kite run --restore DIR: the configuration and state come from the snapshot. */
static int cmd_run_restore(struct vm_config *cfg)
{
	uint8_t *buf = NULL;
	size_t len;
	struct state_image img;
	struct kvm_sys kvm;
	char err[512];
	int status;

	memset(&img, 0, sizeof(img));
	if (incoming_uri) {
		int fd = migrate_incoming_accept(incoming_uri, cfg, err, sizeof(err));

		if (fd < 0) {
			pr_err("%s", err);
			return fd == -EINVAL ? EXIT_USAGE : EXIT_ERROR;
		}
		cfg->incoming_fd = fd;
		memset(&cfg->mem, 0, sizeof(cfg->mem));
		cfg->mem.size = cfg->mem_size;
	} else {
		if (snapshot_load_state(restore_dir, &buf, &len, &img, err, sizeof(err)) ||
		    vm_state_config(&img, cfg, err, sizeof(err))) {
			pr_err("%s", err);
			free(buf);
			return EXIT_USAGE;
		}
		memset(&cfg->mem, 0, sizeof(cfg->mem));
		cfg->mem.size = cfg->mem_size;
		cfg->mem.backend = MEM_BACKEND_FILE;
		cfg->mem.private_file = true;
		snprintf(cfg->mem.path, sizeof(cfg->mem.path), "%s/memory", restore_dir);
		cfg->restore = &img;
	}
	if (kvm_sys_open(&kvm)) {
		status = EXIT_USAGE;
	} else {
		status = run_loop(cfg, &kvm);
		kvm_sys_close(&kvm);
	}
	state_image_free(&img);
	free(buf);
	vm_state_config_free(cfg);
	return status;
}

static int cmd_run(int argc, char **argv)
{
	struct vm_config cfg = {
		.incoming_fd = -1,
		.on_reboot = ON_REBOOT_RESTART,
		.console_in_fd = STDIN_FILENO,
		.console_out_fd = STDOUT_FILENO,
	};
	char kernel[4096], initrd[4096], *cmdline = NULL;
	struct kvm_sys kvm;
	int status;

	parse_run_args(argc, argv, &cfg);
	if (restore_dir || incoming_uri)
		return cmd_run_restore(&cfg);
	if (!cfg.kernel)
		use_default_guest(&cfg, kernel, initrd, sizeof(kernel));
	/* User files first: a typo should not need /dev/kvm to be reported. */
	if (check_readable("kernel", cfg.kernel) || (cfg.initrd && check_readable("initrd", cfg.initrd)))
		return EXIT_USAGE;
	if (kvm_sys_open(&kvm))
		return EXIT_USAGE;
	if (cfg.ncpus > (unsigned int)kvm.max_vcpus) {
		pr_err("--cpus %u is more than this host's KVM allows (%d): use fewer vCPUs",
		       cfg.ncpus, kvm.max_vcpus);
		return EXIT_USAGE;
	}
	if (kvm.pvm)
		pr_info("kvm-pvm host detected (no VT-x/AMD-V): guest code at CPL0 and in real mode "
			"is emulated by the host (~3.5 M instructions/s), so guest kernels boot far "
			"slower here than on hardware KVM");
	if (cfg.cpu_profile == CPU_PROFILE_AUTO)
		cfg.cpu_profile = kvm.pvm ? CPU_PROFILE_COMPAT : CPU_PROFILE_HOST;
	pr_info("cpu profile: %s%s", cpu_profile_name(cfg.cpu_profile),
		kvm.pvm ? " (kvm-pvm host)" : "");
	if (cfg.cpu_profile == CPU_PROFILE_COMPAT)
		compat_describe();
	/*
	 * The command line: the compat speed flags, default or --cmdline, the
	 * compat flags, --cmdline-extra (for the kernel, a later flag wins).
	 */
	if (asprintf(&cmdline, "%s %s %s %s",
		     cfg.cpu_profile == CPU_PROFILE_COMPAT ? COMPAT_SPEED_FLAGS : "",
		     cfg.cmdline ? cfg.cmdline : "",
		     cfg.cpu_profile == CPU_PROFILE_COMPAT ? COMPAT_CMDLINE_FLAGS : "",
		     cmdline_extra ? cmdline_extra : "") < 0) {
		pr_err("out of memory");
		return EXIT_ERROR;
	}
	cfg.cmdline = str_squeeze_spaces(cmdline);
	pr_info("kernel command line: %s", cfg.cmdline);
	if (kvm.pvm && kernel_is_linux(cfg.kernel))
		fprintf(stderr, "kite: note: this host has no VT-x (kvm-pvm) and emulates guest kernel "
			"code, so Linux takes about 15 s to boot here; on hardware KVM it takes "
			"milliseconds\n");

	status = run_loop(&cfg, &kvm);
	kvm_sys_close(&kvm);
	free(cmdline);
	return status;
}


int main(int argc, char **argv)
{
	if (argc < 2)
		usage_error("no command given");
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
		printf("kite %s\n", KITE_VERSION);
		return 0;
	}
	if (!strcmp(argv[1], "run"))
		return cmd_run(argc - 1, argv + 1);
	usage_error("unknown command '%s'", argv[1]);
}
