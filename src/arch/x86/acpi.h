/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KITE_X86_ACPI_H
#define KITE_X86_ACPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "memory.h"
#include "numa_topo.h"

#define ACPI_OEM_ID        "KITE  "
#define ACPI_OEM_TABLE_ID  "KITEVM  "

struct acpi_header {
	char signature[4];
	uint32_t length;
	uint8_t revision;
	uint8_t checksum;
	char oem_id[6];
	char oem_table_id[8];
	uint32_t oem_revision;
	char creator_id[4];
	uint32_t creator_revision;
} __attribute__((packed));

struct acpi_rsdp {
	char signature[8];
	uint8_t checksum;
	char oem_id[6];
	uint8_t revision;
	uint32_t rsdt_address;
	uint32_t length;
	uint64_t xsdt_address;
	uint8_t extended_checksum;
	uint8_t reserved[3];
} __attribute__((packed));

struct acpi_gas {
	uint8_t space_id;      /* 0 memory, 1 system I/O */
	uint8_t bit_width;
	uint8_t bit_offset;
	uint8_t access_size;   /* 1 byte, 2 word, 3 dword, 4 qword */
	uint64_t address;
} __attribute__((packed));

struct acpi_fadt {
	struct acpi_header h;
	uint32_t firmware_ctrl;
	uint32_t dsdt;
	uint8_t reserved0;
	uint8_t preferred_pm_profile;
	uint16_t sci_int;
	uint32_t smi_cmd;
	uint8_t acpi_enable, acpi_disable, s4bios_req, pstate_cnt;
	uint32_t pm1a_evt_blk, pm1b_evt_blk, pm1a_cnt_blk, pm1b_cnt_blk;
	uint32_t pm2_cnt_blk, pm_tmr_blk, gpe0_blk, gpe1_blk;
	uint8_t pm1_evt_len, pm1_cnt_len, pm2_cnt_len, pm_tmr_len;
	uint8_t gpe0_blk_len, gpe1_blk_len, gpe1_base, cst_cnt;
	uint16_t p_lvl2_lat, p_lvl3_lat, flush_size, flush_stride;
	uint8_t duty_offset, duty_width, day_alrm, mon_alrm, century;
	uint16_t iapc_boot_arch;
	uint8_t reserved1;
	uint32_t flags;
	struct acpi_gas reset_reg;
	uint8_t reset_value;
	uint16_t arm_boot_arch;
	uint8_t minor_version;
	uint64_t x_firmware_ctrl, x_dsdt;
	struct acpi_gas x_pm1a_evt_blk, x_pm1b_evt_blk, x_pm1a_cnt_blk, x_pm1b_cnt_blk;
	struct acpi_gas x_pm2_cnt_blk, x_pm_tmr_blk, x_gpe0_blk, x_gpe1_blk;
	struct acpi_gas sleep_control_reg, sleep_status_reg;
	uint64_t hypervisor_vendor_id;
} __attribute__((packed));

struct acpi_madt {
	struct acpi_header h;
	uint32_t lapic_address;
	uint32_t flags;
} __attribute__((packed));

struct madt_lapic {
	uint8_t type, length, uid, apic_id;
	uint32_t flags;
} __attribute__((packed));

struct madt_x2apic {
	uint8_t type, length;
	uint16_t reserved;
	uint32_t x2apic_id, flags, uid;
} __attribute__((packed));

struct madt_ioapic {
	uint8_t type, length, id, reserved;
	uint32_t address, gsi_base;
} __attribute__((packed));

struct madt_iso {
	uint8_t type, length, bus, source;
	uint32_t gsi;
	uint16_t flags;
} __attribute__((packed));

struct madt_lapic_nmi {
	uint8_t type, length, uid;
	uint16_t flags;
	uint8_t lint;
} __attribute__((packed));

/* What the tables describe; grows with NUMA (SRAT/SLIT) and PCI (MCFG). */
struct acpi_config {
	unsigned int ncpus;
	/* PCI host bridge: ECAM for bus 0 and the BAR windows (end exclusive). */
	bool pci;
	uint64_t ecam_base;
	uint64_t mmio32_base, mmio32_end;
	uint64_t mmio64_base, mmio64_end;
	/* Guest NUMA (NULL or nr_nodes 0: none): SRAT and SLIT. */
	const struct numa_config *numa;
	const struct numa_mem_range *numa_ranges;
	unsigned int nr_numa_ranges;
};

struct srat_lapic {
	uint8_t type, length, proximity_lo, apic_id;
	uint32_t flags;
	uint8_t sapic_eid, proximity_hi[3];
	uint32_t clock_domain;
} __attribute__((packed));

struct srat_mem {
	uint8_t type, length;
	uint32_t proximity;
	uint16_t reserved1;
	uint64_t base, size;
	uint32_t reserved2, flags;
	uint64_t reserved3;
} __attribute__((packed));

struct srat_x2apic {
	uint8_t type, length;
	uint16_t reserved1;
	uint32_t proximity, x2apic_id, flags, clock_domain, reserved2;
} __attribute__((packed));

struct acpi_mcfg_alloc {
	uint64_t base;
	uint16_t segment;
	uint8_t start_bus, end_bus;
	uint32_t reserved;
} __attribute__((packed));

/*
 * Build RSDP, XSDT, FADT, DSDT and MADT into `buf`, which the guest sees at
 * guest-physical `base` (MEM_ACPI_START); the RSDP comes first, at `base`.
 * Returns the bytes used, or -E2BIG / -ENOMEM.  Pure: unit-tested without KVM.
 */
long acpi_build(uint8_t *buf, size_t size, gpa_t base, const struct acpi_config *cfg);

uint8_t acpi_checksum(const void *p, size_t len);

#endif
