/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KITE_X86_PLATFORM_H
#define KITE_X86_PLATFORM_H

/* Where kite's x86 platform devices live; ACPI tables describe the same values. */
#define COM1_BASE        0x3f8
#define COM1_IRQ         4
#define I8042_DATA_PORT  0x60
#define I8042_CMD_PORT   0x64
#define I8042_RESET_CMD  0xfe
#define RTC_BASE         0x70
#define POST_PORT        0x80
#define PVPANIC_PORT     0x505    /* QEMU-compatible ISA pvpanic, ACPI "QEMU0001" */

#define PM_BASE          0x600    /* ACPI PM1a event (4), control (2), timer (4) */
#define PM1_EVT_LEN      4
#define PM1_CNT_OFF      4
#define PM1_CNT_LEN      2
#define PM_TMR_OFF       8
#define PM_TMR_LEN       4
#define PM_SIZE          12
#define SCI_IRQ          9
#define ACPI_S5_SLP_TYP  5        /* \_S5_ value written to PM1a_CNT.SLP_TYP */

#define PCI_CFG_ADDR_PORT_X86 0xcf8  /* 0xCF8-0xCFF: PCI configuration mechanism #1 */
#define PCI_INTX_GSI_BASE_X86 16   /* PCI INTA# of slot s: GSI 16 + s % 8 */

#define IOAPIC_ADDR      0xfec00000u
#define IOAPIC_ID        0
#define IOAPIC_PINS      24
#define LAPIC_ADDR       0xfee00000u

/* KVM needs three pages for its TSS and one for the identity map (in the hole). */
#define KVM_IDENTITY_MAP_ADDR 0xfeffc000ULL
#define KVM_TSS_ADDR          0xfeffd000ULL

#endif
