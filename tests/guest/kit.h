/*
 * kit.h - declarations of the kite guest test kit.
 *
 * Freestanding (no libc).  Each helper lives in its own small file and its
 * functions are prefixed with the file's name (serial_*, acpi_*, madt_*, ...).
 * Runs identity mapped at 1 MiB; see layout.h and kite-testguest.ld.
 */
#ifndef KIT_H
#define KIT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "layout.h"

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int32_t s32;
typedef int64_t s64;

#define KIT_PACKED	__attribute__((packed))
#define KIT_NORETURN	__attribute__((noreturn))
#define KIT_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define KIT_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define KIB		((u64)1024)
#define MIB		((u64)1024 * KIB)
#define GIB		((u64)1024 * MIB)

/* ---- string.c: the few libc functions the compiler may call ---------- */
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);

/* ---- fmt.c: printf-style formatting (%s %c %d %u %x %p, l/ll, width, 0) */
typedef void (*fmt_sink_fn)(void *ctx, char c);
void fmt_vformat(fmt_sink_fn sink, void *ctx, const char *fmt, va_list ap);
int fmt_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int fmt_snprintf(char *buf, size_t size, const char *fmt, ...) KIT_PRINTF(3, 4);

/* ---- serial.c: COM1 (0x3F8), polled ------------------------------------ */
#define SERIAL_PORT	0x3F8
void serial_init(void);
void serial_putc(char c);
void serial_puts(const char *s);
void serial_vprintf(const char *fmt, va_list ap);
void serial_printf(const char *fmt, ...) KIT_PRINTF(1, 2);

/* ---- bootinfo.c: PVH struct hvm_start_info ----------------------------- */
#define HVM_START_MAGIC	0x336ec578
struct hvm_start_info {
	u32 magic;
	u32 version;
	u32 flags;
	u32 nr_modules;
	u64 modlist_paddr;
	u64 cmdline_paddr;
	u64 rsdp_paddr;
	u64 memmap_paddr;	/* version >= 1 */
	u32 memmap_entries;	/* version >= 1 */
	u32 reserved;
};
extern u32 bootinfo_paddr;	/* where EBX pointed */
extern bool bootinfo_valid;	/* magic matched */
extern u32 bootinfo_version;
extern u64 bootinfo_rsdp;	/* rsdp_paddr (0: scan) */
void bootinfo_init(u32 paddr);	/* also copies the cmdline */

/* ---- cmdline.c: "test=NAME key=value ..." (copied out of low memory) --- */
void cmdline_init(u64 paddr);
const char *cmdline_get(void);
/* Copies the value of key (up to the next space) into out; false if absent. */
bool cmdline_value(const char *key, char *out, size_t out_size);
bool cmdline_u64(const char *key, u64 *val);
/* "256M", "3G", "4096K", "1048576" -> bytes */
bool cmdline_parse_size(const char *s, u64 *bytes);

/* ---- memmap.c: PVH memory map (copied) --------------------------------- */
#define MEMMAP_RAM	1
#define MEMMAP_MAX	128
struct memmap_entry {
	u64 addr;
	u64 size;
	u32 type;
	u32 reserved;
};
extern struct memmap_entry memmap[MEMMAP_MAX];
extern u32 memmap_count;
void memmap_init(const struct hvm_start_info *si);
bool memmap_is_ram(u64 addr, u64 size);	/* [addr, addr+size) inside one RAM entry */
u64 memmap_ram_end(void);		/* highest end of any RAM entry */
const char *memmap_type_name(u32 type);

/* ---- cpu.h: inline port I/O, MSR, TSC, ... ----------------------------- */
#include "cpu.h"

/* ---- idt.c: exception/interrupt dispatch -------------------------------- */
struct idt_frame {
	u64 r15, r14, r13, r12, r11, r10, r9, r8;
	u64 rdi, rsi, rbp, rbx, rdx, rcx, rax;
	u64 vector, error;
	u64 rip, cs, rflags, rsp, ss;	/* pushed by the CPU */
};
typedef void (*idt_handler_fn)(struct idt_frame *f);
extern volatile u32 idt_count[256];	/* interrupts taken, per vector */
extern volatile u32 idt_last_vector;
void idt_set_handler(u8 vector, idt_handler_fn fn);
void idt_dispatch(struct idt_frame *f);

/* ---- user.c: run a function at CPL3 ------------------------------------- */
typedef u64 (*user_fn)(u64 arg);
/* Runs fn(arg) in ring 3 (interrupts disabled) and returns its result.
 * On an exception at CPL3 returns (u64)-1 and sets user_fault_vector. */
u64 run_user(user_fn fn, u64 arg);
/* Same with interrupts enabled while in ring 3. */
u64 run_user_irq(user_fn fn, u64 arg);
extern volatile int user_fault_vector;	/* -1: none */
extern volatile u64 user_fault_rip, user_fault_cr2, user_fault_error;

/* ---- paging.c: map RAM above 4 GiB -------------------------------------- */
/* Identity maps [4 GiB, end) with 2 MiB pages (U/S set). */
bool paging_map_upto(u64 end);

/* ---- acpi.c: RSDP, XSDT/RSDT, tables ------------------------------------ */
struct acpi_rsdp {
	char signature[8];
	u8 checksum;
	char oem_id[6];
	u8 revision;
	u32 rsdt_address;
	u32 length;		/* revision >= 2 */
	u64 xsdt_address;
	u8 ext_checksum;
	u8 reserved[3];
} KIT_PACKED;
struct acpi_header {
	char signature[4];
	u32 length;
	u8 revision;
	u8 checksum;
	char oem_id[6];
	char oem_table_id[8];
	u32 oem_revision;
	u32 creator_id;
	u32 creator_revision;
} KIT_PACKED;
struct acpi_gas {
	u8 space_id;		/* 0 system memory, 1 system I/O */
	u8 bit_width;
	u8 bit_offset;
	u8 access_size;
	u64 address;
} KIT_PACKED;
bool acpi_init(void);		/* finds RSDP + root table; cached */
const struct acpi_rsdp *acpi_rsdp(void);
const struct acpi_header *acpi_root(void);	/* XSDT or RSDT */
bool acpi_root_is_xsdt(void);
u32 acpi_table_count(void);
const struct acpi_header *acpi_table(u32 index);
const struct acpi_header *acpi_find(const char sig[4], u32 instance);
u8 acpi_checksum(const void *p, u32 len);	/* byte sum, computed at CPL3 */
bool acpi_table_valid(const struct acpi_header *h);	/* length + checksum */
u64 acpi_gas_read(const struct acpi_gas *g);
void acpi_gas_write(const struct acpi_gas *g, u64 value);
/* Offset of the first occurrence of pat in table h at or after `from`
 * (searched at CPL3); 0 if none. */
u32 acpi_find_bytes(const struct acpi_header *h, const void *pat, u32 len, u32 from);

/* ---- fadt.c: FADT fields ------------------------------------------------ */
#define FADT_HW_REDUCED_ACPI	(1u << 20)
const struct acpi_header *fadt_get(void);
u32 fadt_flags(void);
const struct acpi_header *fadt_dsdt(void);
bool fadt_pm1_cnt(int which, struct acpi_gas *out);	/* which: 0 = a, 1 = b */
bool fadt_sleep_control(struct acpi_gas *out);
u8 fadt_century(void);		/* CMOS index of the century, 0 if none */
u16 fadt_iapc_boot_arch(void);

/* ---- dsdt.c: \_S5_ ------------------------------------------------------ */
bool dsdt_s5(u8 *slp_typa, u8 *slp_typb);

/* ---- madt.c: MADT ------------------------------------------------------- */
#define MADT_MAX_IOAPIC	8
#define MADT_MAX_ISO	32
struct madt_info {
	u64 lapic_addr;
	u32 flags;
	u32 ncpus;			/* enabled processors */
	u32 cpu_apic_id[SMP_MAX_CPUS];
	u8 cpu_is_x2apic[SMP_MAX_CPUS];
	u32 ndisabled;			/* listed but not enabled */
	u32 nioapic;
	struct { u8 id; u32 addr; u32 gsi_base; } ioapic[MADT_MAX_IOAPIC];
	u32 niso;
	struct { u8 bus; u8 source; u32 gsi; u16 flags; } iso[MADT_MAX_ISO];
};
extern struct madt_info madt;
bool madt_init(void);		/* parses the MADT once; false if absent */
/* ISA IRQ -> GSI, polarity (true = active low), trigger (true = level) */
void madt_isa_irq(u8 irq, u32 *gsi, bool *active_low, bool *level);

/* ---- srat.c: SRAT (CPU and memory affinity) and SLIT (distances) ------ */
#define SRAT_ENTRIES_OFFSET	48	/* header + reserved (4) + reserved (8) */
#define SRAT_SLIT_ENTRIES_OFFSET 44	/* header + number of localities (8) */
#define SRAT_ENABLED		1	/* flags bit 0, CPU and memory entries */
#define SRAT_MEM_HOTPLUG	2
#define SRAT_MEM_NONVOLATILE	4
#define SRAT_MAX_CPUS		128
#define SRAT_MAX_MEM		64
struct srat_mem {
	u64 base, len;
	u32 domain, flags;
};
struct srat_info {
	const struct acpi_header *table;
	u32 ncpus;			/* enabled type 0 and type 2 entries */
	struct { u32 apic_id; u32 domain; bool x2apic; } cpu[SRAT_MAX_CPUS];
	u32 ncpus_disabled;
	u32 nmem;			/* enabled memory affinity entries */
	struct srat_mem mem[SRAT_MAX_MEM];
	u32 nmem_disabled;
	u32 nother;			/* other structure types (skipped) */
	u32 nbad;			/* too short, or running past the end */
};
extern struct srat_info srat;
bool srat_init(void);		/* parses the SRAT once; false if absent */
/* Proximity domain of an APIC ID: -1 not listed, -2 listed in two domains. */
s64 srat_cpu_domain(u32 apic_id);
/* Domain of the enabled memory range holding addr (its end in *range_end),
 * or -1. */
s64 srat_mem_domain(u64 addr, u64 *range_end);
const struct acpi_header *srat_slit(void);	/* NULL if there is no SLIT */
u64 srat_slit_localities(void);
int srat_slit_distance(u32 from, u32 to);	/* -1 if out of range / no SLIT */

/* ---- lapic.c: local APIC (xAPIC MMIO) ----------------------------------- */
#define LAPIC_ID	0x020
#define LAPIC_VER	0x030
#define LAPIC_TPR	0x080
#define LAPIC_EOI	0x0B0
#define LAPIC_SVR	0x0F0
#define LAPIC_ESR	0x280
#define LAPIC_ICR_LO	0x300
#define LAPIC_ICR_HI	0x310
#define LAPIC_LVT_TIMER	0x320
#define LAPIC_LVT_LINT0	0x350
#define LAPIC_LVT_LINT1	0x360
#define LAPIC_LVT_ERROR	0x370
#define LAPIC_TIMER_ICR	0x380
#define LAPIC_TIMER_CCR	0x390
#define LAPIC_TIMER_DCR	0x3E0
#define LAPIC_SPURIOUS_VECTOR 0xFF
extern u64 lapic_base;
u32 lapic_read(u32 reg);
void lapic_write(u32 reg, u32 val);
u32 lapic_id(void);
void lapic_enable(void);
bool lapic_x2apic_enable(void);	/* this CPU to x2APIC mode (MSR access) */
void lapic_eoi(void);
bool lapic_enabled(void);
/* Sends an IPI (ICR low = icr_lo) to dest; waits for delivery (bounded). */
bool lapic_send_ipi(u32 dest, u32 icr_lo);
void lapic_timer_periodic(u8 vector, u32 divide_cfg, u32 initial_count);
void lapic_timer_stop(void);

/* ---- ioapic.c: I/O APIC -------------------------------------------------- */
u32 ioapic_read(u32 base, u32 reg);
void ioapic_write(u32 base, u32 reg, u32 val);
/* Routes gsi to vector on APIC dest (physical); false if no IOAPIC has it. */
bool ioapic_route(u32 gsi, u8 vector, u32 dest, bool active_low, bool level);
void ioapic_mask(u32 gsi);

/* ---- pic.c: legacy 8259 ------------------------------------------------- */
void pic_mask_all(void);

/* ---- smp.c: start APs ---------------------------------------------------- */
extern volatile u32 smp_ap_next;		/* APs that entered long mode */
extern volatile u32 smp_ap_count;		/* APs that reported */
extern volatile u32 smp_ap_apic_id[SMP_MAX_AP];
/* INIT-SIPI-SIPI to every APIC ID in ids[] (skips the BSP); waits until
 * all have reported or timeout_us passed.  Returns the number reported. */
u32 smp_start_aps(const u32 *ids, u32 n, u64 timeout_us);
void smp_ap_main(u32 index);

/* ---- pci.c: configuration space through 0xCF8/0xCFC --------------------- */
u32 pci_cfg_read32(u8 bus, u8 dev, u8 fn, u8 off);
void pci_cfg_write32(u8 bus, u8 dev, u8 fn, u8 off, u32 val);
u16 pci_cfg_read16(u8 bus, u8 dev, u8 fn, u8 off);
u8 pci_cfg_read8(u8 bus, u8 dev, u8 fn, u8 off);
void pci_cfg_write16(u8 bus, u8 dev, u8 fn, u8 off, u16 val);
void pci_cfg_write8(u8 bus, u8 dev, u8 fn, u8 off, u8 val);
/* ... and through ECAM (the MCFG's window for segment 0) when there is one:
 * pci_conf_*() take bdf = bus << 8 | dev << 3 | fn and offsets up to 4 KiB
 * (256 B without ECAM). */
#define PCI_BDF(b, d, f)	((u32)(b) << 8 | (u32)((d) & 31) << 3 | (u32)((f) & 7))
#define PCI_BDF_BUS(x)		((u8)((x) >> 8))
#define PCI_BDF_DEV(x)		((u8)(((x) >> 3) & 31))
#define PCI_BDF_FN(x)		((u8)((x) & 7))
extern u64 pci_ecam_base;	/* 0: no MCFG (or not yet looked for) */
extern u8 pci_ecam_bus_start, pci_ecam_bus_end;
/* Looks once for ECAM: the MCFG, else a _CBA method in the DSDT (QEMU
 * microvm has no MCFG); true if ECAM is used.  "pcicfg=cf8" on the command
 * line: use 0xCF8/0xCFC only; "pcicfg=mcfg": ECAM only from the MCFG. */
bool pci_ecam_init(void);
u32 pci_conf_read32(u32 bdf, u16 off);
u16 pci_conf_read16(u32 bdf, u16 off);
u8 pci_conf_read8(u32 bdf, u16 off);
void pci_conf_write32(u32 bdf, u16 off, u32 val);
void pci_conf_write16(u32 bdf, u16 off, u16 val);

/* ---- pcidev.c: devices on bus 0, capabilities, BARs ---------------------- */
#define PCI_VENDOR_ID		0x00
#define PCI_COMMAND		0x04
#define PCI_COMMAND_MEMORY	0x0002
#define PCI_COMMAND_MASTER	0x0004
#define PCI_COMMAND_INTX_OFF	0x0400
#define PCI_STATUS		0x06
#define PCI_STATUS_CAP_LIST	0x0010
#define PCI_HEADER_TYPE		0x0E
#define PCI_BAR0		0x10
#define PCI_CAP_PTR		0x34
#define PCI_CAP_ID_MSIX		0x11
#define PCI_CAP_ID_VNDR		0x09
struct pci_dev {
	u32 bdf;
	u16 vendor, device;
	u32 class_rev;		/* class << 8 | revision */
	u8 header_type;
	u64 bar[6];		/* memory BAR addresses (0: none/unassigned) */
	u64 bar_size[6];	/* after pcidev_enable() */
	bool bar_io[6], bar_64[6];
};
/* Default window for BARs nobody assigned (no firmware under QEMU microvm):
 * QEMU microvm's 32-bit PCIe MMIO window; "pcimem=ADDR" overrides it. */
#define PCIDEV_WINDOW_BASE	0xC0000000ULL
#define PCIDEV_WINDOW_SIZE	0x20000000ULL
u32 pcidev_scan(struct pci_dev *out, u32 max);	/* all functions on bus 0 */
bool pcidev_find(u16 vendor, u16 device, u32 instance, struct pci_dev *out);
u16 pcidev_find_cap(const struct pci_dev *d, u8 id, u16 after);	/* 0: none */
/* Sizes the BARs, gives unassigned memory BARs an address in the window
 * and enables memory decoding + bus mastering; NULL or the reason. */
const char *pcidev_enable(struct pci_dev *d);

/* ---- virtio_ring.c: split virtqueues, DMA memory ----------------------- */
#define VIRTQ_DESC_F_NEXT	1
#define VIRTQ_DESC_F_WRITE	2
#define VIRTQ_DESC_F_INDIRECT	4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_MAX_SIZE		256
#define VIRTQ_INDIRECT_MAX	16	/* descriptors per indirect table */
struct virtq_desc {
	u64 addr;
	u32 len;
	u16 flags;
	u16 next;
} KIT_PACKED;
struct virtq_buf {	/* one piece of a request: device-readable ones first */
	u64 addr;
	u32 len;
};
struct virtq {
	u16 index, size;
	volatile struct virtq_desc *desc;
	volatile u16 *avail;	/* flags, idx, ring[size], used_event */
	volatile u16 *used;	/* flags, idx, {u32 id, u32 len}[size], avail_event */
	u64 notify_addr;	/* MMIO: write the queue index (u16) */
	bool event_idx, indirect, irq_on;
	u16 free_head, num_free;
	u16 avail_idx, last_used, kicked_idx;
	u16 chain_len[VIRTQ_MAX_SIZE];		/* descriptors held by each head */
	struct virtq_desc *ind[VIRTQ_MAX_SIZE];	/* indirect table per head */
	u32 kicks, added, completed;
};
/* DMA memory: a bump allocator over [VIRTQ_DMA_BASE, +VIRTQ_DMA_SIZE),
 * zeroed (at CPL3) by the first call; needs RAM there (mem >= 128M). */
#define VIRTQ_DMA_BASE		(32 * MIB)
#define VIRTQ_DMA_SIZE		(32 * MIB)
void *virtq_dma_alloc(u64 size, u64 align);	/* NULL if exhausted */
/* Allocates the rings (and indirect tables if indirect). */
bool virtq_init(struct virtq *q, u16 index, u16 size, bool event_idx, bool indirect);
/* The ring functions touch only memory and MMIO: callable at CPL3. */
int virtq_add(struct virtq *q, const struct virtq_buf *b, u16 nout, u16 nin);	/* head or -1 */
void virtq_kick(struct virtq *q);	/* notifies unless EVENT_IDX says no need */
bool virtq_get(struct virtq *q, u16 *head, u32 *len);	/* a used buffer, if any */
/* Ask for interrupts or not.  With EVENT_IDX "enable" arms one interrupt,
 * for the next used buffer after those already seen; call again to re-arm. */
void virtq_irq(struct virtq *q, bool enable);
/* Lets pending interrupts in (spins us microseconds at CPL3 with IF=1):
 * devices may interrupt once even when asked not to (QEMU does for the
 * first used buffer with EVENT_IDX). */
void virtq_irq_drain(u64 us);
/* Waits (IF=1, CPL3) up to us microseconds for *counter to leave `before`:
 * the MSI may land just after the poll saw the used buffer. */
bool virtq_irq_wait(volatile u32 *counter, u32 before, u64 us);
/* One request (add, kick, poll for it) run at CPL3, with interrupts
 * enabled there if irq.  0, or VIRTQ_ERR_*. */
#define VIRTQ_ERR_FULL		-1
#define VIRTQ_ERR_TIMEOUT	-2
#define VIRTQ_ERR_FAULT		-3
#define VIRTQ_ERR_ID		-4
int virtq_run(struct virtq *q, const struct virtq_buf *b, u16 nout, u16 nin, u32 *used_len,
	      u64 timeout_us, bool irq);
const char *virtq_strerror(int err);
/* Zero / fill memory at CPL3 (fast on kvm-pvm hosts). */
void virtq_zero(void *p, u64 len);

/* ---- virtio_pci.c: virtio 1.x PCI transport (modern only) ---------------- */
#define VIRTIO_PCI_VENDOR	0x1AF4
#define VIRTIO_PCI_DEVICE(type)	(0x1040 + (type))
#define VIRTIO_ID_NET		1
#define VIRTIO_ID_BLOCK		2
#define VIRTIO_ID_CONSOLE	3
#define VIRTIO_ID_RNG		4
#define VIRTIO_F_INDIRECT_DESC	(1ULL << 28)
#define VIRTIO_F_EVENT_IDX	(1ULL << 29)
#define VIRTIO_F_VERSION_1	(1ULL << 32)
#define VIRTIO_STATUS_ACKNOWLEDGE 1
#define VIRTIO_STATUS_DRIVER	2
#define VIRTIO_STATUS_DRIVER_OK	4
#define VIRTIO_STATUS_FEATURES_OK 8
#define VIRTIO_STATUS_NEEDS_RESET 64
#define VIRTIO_STATUS_FAILED	128
#define VIRTIO_NO_VECTOR	0xFFFF
struct virtio_dev {
	struct pci_dev pci;
	u16 type;
	u64 common, notify, isr, devcfg;	/* MMIO addresses of the structures */
	u32 notify_mult, devcfg_len;
	u16 msix_cap, msix_count;		/* 0: no MSI-X */
	u64 msix_table;
	u64 offered, features;			/* device features; negotiated */
	u16 num_queues;
};
/* Finds the instance'th virtio device of type on bus 0, enables it (BARs,
 * bus master) and maps its capabilities; NULL or the reason. */
const char *virtio_pci_find(u16 type, u32 instance, struct virtio_dev *v);
void virtio_reset(struct virtio_dev *v);
u8 virtio_status(struct virtio_dev *v);
/* Reset, ACKNOWLEDGE, DRIVER, features (offered & want; VERSION_1 and
 * `need` must be offered), FEATURES_OK (checked). */
const char *virtio_negotiate(struct virtio_dev *v, u64 want, u64 need);
/* Sets up queue index (size min(device max, max_size)); msix_vector is the
 * MSI-X table entry or VIRTIO_NO_VECTOR. */
const char *virtio_queue_setup(struct virtio_dev *v, struct virtq *q, u16 index, u16 max_size,
			       u16 msix_vector);
void virtio_driver_ok(struct virtio_dev *v);
u8 virtio_cfg_read8(struct virtio_dev *v, u32 off);
u16 virtio_cfg_read16(struct virtio_dev *v, u32 off);
u32 virtio_cfg_read32(struct virtio_dev *v, u32 off);
u64 virtio_cfg_read64(struct virtio_dev *v, u32 off);
/* MSI-X table entry -> vector on this CPU's LAPIC; enables MSI-X. */
const char *virtio_msix_route(struct virtio_dev *v, u16 entry, u8 vector);
void virtio_msix_off(struct virtio_dev *v);
const char *virtio_feature_names(u16 type, u64 features);	/* static buffer */

/* ---- rtc.c: CMOS RTC ----------------------------------------------------- */
struct rtc_time { u32 year, month, day, hour, minute, second; u8 reg_b; };
u8 rtc_cmos_read(u8 index);
bool rtc_read(struct rtc_time *t);
s64 rtc_to_unix(const struct rtc_time *t);

/* ---- power.c: ACPI power-off, i8042 reset -------------------------------- */
void power_off(void);		/* returns only if power-off failed */
void power_reset_i8042(void);	/* returns only if the reset failed */

/* ---- main.c: test dispatch, result protocol ------------------------------ */
extern const char *kit_test_name;
/* Formats a failure reason into a static buffer (for a test's return). */
const char *kit_reason(const char *fmt, ...) KIT_PRINTF(1, 2);
KIT_NORETURN void kit_fail_stop(const char *fmt, ...) KIT_PRINTF(1, 2);
KIT_NORETURN void kit_halt(void);

/* Every test returns NULL on success or the failure reason. */
typedef const char *(*kit_test_fn)(void);
#define KIT_TESTS(X) \
	X(hello) X(memmap) X(acpi) X(smp) X(uart_irq) X(rtc) X(lapic_timer) \
	X(cpl3) X(int3) X(poweroff) X(reset) X(triple_fault) X(demo) \
	X(emufail) X(virtio_blk) X(virtio_net) X(virtio_rng) X(virtio_console) \
	X(bench_blk) X(bench_net) \
	X(numa) \
	X(bench_tlb) \
	X(migrate)
#define KIT_DECLARE_TEST(name) const char *test_##name(void);
KIT_TESTS(KIT_DECLARE_TEST)

#endif
