// SPDX-License-Identifier: GPL-2.0-only
/* ACPI tables: RSDP, XSDT, FADT (PM1a block, reset register), DSDT, MADT. */
#include <errno.h>
#include <string.h>

#include "arch/x86/acpi.h"
#include "arch/x86/aml.h"
#include "arch/x86/platform.h"
#include "util.h"

#define ACPI_FADT_WBINVD          (1u << 0)
#define ACPI_FADT_PROC_C1         (1u << 2)
#define ACPI_FADT_SLP_BUTTON      (1u << 5)
#define ACPI_FADT_TMR_VAL_EXT     (1u << 8)
#define ACPI_FADT_RESET_REG_SUP   (1u << 10)
#define ACPI_BOOT_8042            (1u << 1)
#define ACPI_BOOT_NO_VGA          (1u << 2)
#define ACPI_BOOT_NO_CSTATES      (1u << 4)

struct acpi_writer {
	uint8_t *buf;
	size_t size, off;
	gpa_t base;
	int err;
};

uint8_t acpi_checksum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;

	while (len--)
		sum += *b++;
	return sum;
}

/* Reserve `len` bytes (16-byte aligned); returns a host pointer or NULL. */
static void *acpi_alloc(struct acpi_writer *w, size_t len, gpa_t *gpa)
{
	size_t off = ALIGN_UP(w->off, 16);

	if (w->err || off > w->size || len > w->size - off) {
		w->err = -E2BIG;
		return NULL;
	}
	w->off = off + len;
	*gpa = w->base + off;
	memset(w->buf + off, 0, len);
	return w->buf + off;
}

static void acpi_header_init(struct acpi_header *h, const char *sig, uint32_t len, uint8_t rev)
{
	memcpy(h->signature, sig, 4);
	h->length = len;
	h->revision = rev;
	memcpy(h->oem_id, ACPI_OEM_ID, 6);
	memcpy(h->oem_table_id, ACPI_OEM_TABLE_ID, 8);
	h->oem_revision = 1;
	memcpy(h->creator_id, "KITE", 4);
	h->creator_revision = 1;
}

static void acpi_finish(struct acpi_header *h)
{
	h->checksum = 0;
	h->checksum = -acpi_checksum(h, h->length);
}

static struct acpi_gas gas_io(uint16_t port, uint8_t bits, uint8_t access)
{
	return (struct acpi_gas){ .space_id = 1, .bit_width = bits, .access_size = access,
				  .address = port };
}

/* The PCI host bridge: ECAM-capable (PNP0A08), its windows, INTx routing. */
static void dsdt_pci(struct aml *a, const struct acpi_config *cfg)
{
	aml_device(a, "PCI0");
	aml_name_eisaid(a, "_HID", "PNP0A08");
	aml_name_eisaid(a, "_CID", "PNP0A03");
	aml_name_int(a, "_SEG", 0);
	aml_name_int(a, "_BBN", 0);
	aml_name_int(a, "_UID", 0);
	aml_name(a, "_CRS");
	aml_buffer(a);
	aml_res_word_bus(a, 0, 0);
	aml_res_io(a, PCI_CFG_ADDR_PORT_X86, 8);
	aml_res_word_io(a, 0x0000, 0x0cf7);
	aml_res_word_io(a, 0x0d00, 0xffff);
	aml_res_dword_mem(a, cfg->mmio32_base, cfg->mmio32_end - 1);
	aml_res_qword_mem(a, cfg->mmio64_base, cfg->mmio64_end - 1);
	aml_res_end(a);
	aml_end(a);
	/* INTA# of slot s -> GSI 16 + s % 8 (level, active low: the PCI default). */
	aml_name(a, "_PRT");
	aml_package(a, 32);
	for (unsigned int s = 0; s < 32; s++) {
		aml_package(a, 4);
		aml_integer(a, (uint64_t)s << 16 | 0xffff);
		aml_integer(a, 0);
		aml_integer(a, 0);
		aml_integer(a, PCI_INTX_GSI_BASE_X86 + s % 8);
		aml_end(a);
	}
	aml_end(a);
	aml_end(a);          /* PCI0 */
}

static void dsdt_body(struct aml *a, const struct acpi_config *cfg)
{
	aml_scope(a, "\\_SB_");
	if (cfg->pci)
		dsdt_pci(a, cfg);

	aml_device(a, "COM1");
	aml_name_eisaid(a, "_HID", "PNP0501");
	aml_name_int(a, "_UID", 1);
	aml_name(a, "_CRS");
	aml_buffer(a);
	aml_res_io(a, COM1_BASE, 8);
	aml_res_irq(a, COM1_IRQ);
	aml_res_end(a);
	aml_end(a);          /* buffer */
	aml_end(a);          /* COM1 */

	aml_device(a, "RTC_");
	aml_name_eisaid(a, "_HID", "PNP0B00");
	aml_name(a, "_CRS");
	aml_buffer(a);
	aml_res_io(a, RTC_BASE, 2);
	aml_res_irq(a, 8);
	aml_res_end(a);
	aml_end(a);
	aml_end(a);

	/* pvpanic: Linux's pvpanic-mmio driver binds to QEMU0001 (I/O resource). */
	aml_device(a, "PEVT");
	aml_name_string(a, "_HID", "QEMU0001");
	aml_name(a, "_CRS");
	aml_buffer(a);
	aml_res_io(a, PVPANIC_PORT, 1);
	aml_res_end(a);
	aml_end(a);
	aml_end(a);

	aml_end(a);          /* \_SB */

	/* \_S5_: SLP_TYPa, SLP_TYPb, reserved, reserved. */
	aml_name(a, "\\_S5_");
	aml_package(a, 4);
	aml_integer(a, ACPI_S5_SLP_TYP);
	aml_integer(a, ACPI_S5_SLP_TYP);
	aml_integer(a, 0);
	aml_integer(a, 0);
	aml_end(a);
}

static gpa_t acpi_dsdt(struct acpi_writer *w, const struct acpi_config *cfg)
{
	struct acpi_header *h;
	struct aml a;
	gpa_t gpa = 0;

	aml_init(&a);
	dsdt_body(&a, cfg);
	if (a.err || a.depth) {
		w->err = a.err ? a.err : -EINVAL;
		goto out;
	}
	h = acpi_alloc(w, sizeof(*h) + a.len, &gpa);
	if (!h)
		goto out;
	acpi_header_init(h, "DSDT", sizeof(*h) + a.len, 2);
	memcpy(h + 1, a.buf, a.len);
	acpi_finish(h);
out:
	aml_free(&a);
	return gpa;
}

static gpa_t acpi_fadt(struct acpi_writer *w, gpa_t dsdt)
{
	struct acpi_fadt *f;
	gpa_t gpa;

	f = acpi_alloc(w, sizeof(*f), &gpa);
	if (!f)
		return 0;
	acpi_header_init(&f->h, "FACP", sizeof(*f), 6);
	f->dsdt = dsdt;
	f->x_dsdt = dsdt;
	f->sci_int = SCI_IRQ;
	f->smi_cmd = 0;                       /* no SMM: ACPI mode is always on */
	f->pm1a_evt_blk = PM_BASE;
	f->pm1a_cnt_blk = PM_BASE + PM1_CNT_OFF;
	f->pm_tmr_blk = PM_BASE + PM_TMR_OFF;
	f->pm1_evt_len = PM1_EVT_LEN;
	f->pm1_cnt_len = PM1_CNT_LEN;
	f->pm_tmr_len = PM_TMR_LEN;
	f->x_pm1a_evt_blk = gas_io(PM_BASE, PM1_EVT_LEN * 8, 2);
	f->x_pm1a_cnt_blk = gas_io(PM_BASE + PM1_CNT_OFF, PM1_CNT_LEN * 8, 2);
	f->x_pm_tmr_blk = gas_io(PM_BASE + PM_TMR_OFF, PM_TMR_LEN * 8, 3);
	f->p_lvl2_lat = 101;                  /* > 100: C2 not supported */
	f->p_lvl3_lat = 1001;                 /* > 1000: C3 not supported */
	f->century = 0x32;                    /* CMOS century register */
	f->iapc_boot_arch = ACPI_BOOT_8042 | ACPI_BOOT_NO_VGA | ACPI_BOOT_NO_CSTATES;
	f->flags = ACPI_FADT_WBINVD | ACPI_FADT_PROC_C1 | ACPI_FADT_SLP_BUTTON |
		   ACPI_FADT_TMR_VAL_EXT | ACPI_FADT_RESET_REG_SUP;
	/* Reset: the i8042 pulse-reset command. */
	f->reset_reg = gas_io(I8042_CMD_PORT, 8, 1);
	f->reset_value = I8042_RESET_CMD;
	f->minor_version = 4;
	memcpy(&f->hypervisor_vendor_id, "KITEVMM\0", 8);
	acpi_finish(&f->h);
	return gpa;
}

static gpa_t acpi_madt(struct acpi_writer *w, const struct acpi_config *cfg)
{
	size_t len = sizeof(struct acpi_madt) + sizeof(struct madt_ioapic) +
		     2 * sizeof(struct madt_iso) + sizeof(struct madt_lapic_nmi);
	struct acpi_madt *m;
	uint8_t *p;
	gpa_t gpa;

	for (unsigned int i = 0; i < cfg->ncpus; i++)
		len += i < 255 ? sizeof(struct madt_lapic) : sizeof(struct madt_x2apic);
	m = acpi_alloc(w, len, &gpa);
	if (!m)
		return 0;
	acpi_header_init(&m->h, "APIC", len, 5);
	m->lapic_address = LAPIC_ADDR;
	m->flags = 1;                         /* PCAT_COMPAT: dual 8259 present */
	p = (uint8_t *)(m + 1);
	for (unsigned int i = 0; i < cfg->ncpus; i++) {
		if (i < 255) {
			struct madt_lapic l = { 0, sizeof(l), i, i, 1 };

			memcpy(p, &l, sizeof(l));
			p += sizeof(l);
		} else {
			struct madt_x2apic x = { 9, sizeof(x), 0, i, 1, i };

			memcpy(p, &x, sizeof(x));
			p += sizeof(x);
		}
	}
	struct madt_ioapic io = { 1, sizeof(io), IOAPIC_ID, 0, IOAPIC_ADDR, 0 };
	/* ISA IRQ0 (PIT) arrives on GSI 2; the SCI is level-triggered, active high. */
	struct madt_iso iso0 = { 2, sizeof(iso0), 0, 0, 2, 0 };
	struct madt_iso iso9 = { 2, sizeof(iso9), 0, SCI_IRQ, SCI_IRQ, 0x000d };
	struct madt_lapic_nmi nmi = { 4, sizeof(nmi), 0xff, 0, 1 };

	memcpy(p, &io, sizeof(io));
	p += sizeof(io);
	memcpy(p, &iso0, sizeof(iso0));
	p += sizeof(iso0);
	memcpy(p, &iso9, sizeof(iso9));
	p += sizeof(iso9);
	memcpy(p, &nmi, sizeof(nmi));
	acpi_finish(&m->h);
	return gpa;
}

static gpa_t acpi_mcfg(struct acpi_writer *w, const struct acpi_config *cfg)
{
	size_t len = sizeof(struct acpi_header) + 8 + sizeof(struct acpi_mcfg_alloc);
	struct acpi_header *h;
	struct acpi_mcfg_alloc m = { .base = cfg->ecam_base, .segment = 0, .start_bus = 0,
				     .end_bus = 0 };
	gpa_t gpa;

	h = acpi_alloc(w, len, &gpa);
	if (!h)
		return 0;
	acpi_header_init(h, "MCFG", len, 1);
	memcpy((uint8_t *)(h + 1) + 8, &m, sizeof(m));
	acpi_finish(h);
	return gpa;
}

static gpa_t acpi_srat(struct acpi_writer *w, const struct acpi_config *cfg)
{
	size_t len = sizeof(struct acpi_header) + 12 + cfg->nr_numa_ranges * sizeof(struct srat_mem);
	struct acpi_header *h;
	uint8_t *p;
	gpa_t gpa;

	for (unsigned int i = 0; i < cfg->ncpus; i++)
		len += i < 255 ? sizeof(struct srat_lapic) : sizeof(struct srat_x2apic);
	h = acpi_alloc(w, len, &gpa);
	if (!h)
		return 0;
	acpi_header_init(h, "SRAT", len, 3);
	p = (uint8_t *)(h + 1);
	memcpy(p, &(uint32_t){ 1 }, 4);           /* reserved, 1 for compatibility */
	p += 12;
	for (unsigned int i = 0; i < cfg->ncpus; i++) {
		uint32_t node = numa_cpu_node(cfg->numa, i);

		if (i < 255) {
			struct srat_lapic l = { 0, sizeof(l), node & 0xff, i, 1, 0,
						{ node >> 8, node >> 16, node >> 24 }, 0 };

			memcpy(p, &l, sizeof(l));
			p += sizeof(l);
		} else {
			struct srat_x2apic x = { 2, sizeof(x), 0, node, i, 1, 0, 0 };

			memcpy(p, &x, sizeof(x));
			p += sizeof(x);
		}
	}
	for (unsigned int i = 0; i < cfg->nr_numa_ranges; i++) {
		const struct numa_mem_range *r = &cfg->numa_ranges[i];
		struct srat_mem m = { 1, sizeof(m), r->node, 0, r->gpa, r->size, 0, 1, 0 };

		memcpy(p, &m, sizeof(m));
		p += sizeof(m);
	}
	acpi_finish(h);
	return gpa;
}

static gpa_t acpi_slit(struct acpi_writer *w, const struct acpi_config *cfg)
{
	unsigned int n = cfg->numa->nr_nodes;
	size_t len = sizeof(struct acpi_header) + 8 + n * n;
	struct acpi_header *h;
	uint8_t *p;
	gpa_t gpa;

	h = acpi_alloc(w, len, &gpa);
	if (!h)
		return 0;
	acpi_header_init(h, "SLIT", len, 1);
	p = (uint8_t *)(h + 1);
	memcpy(p, &(uint64_t){ n }, 8);
	p += 8;
	for (unsigned int i = 0; i < n; i++)
		for (unsigned int j = 0; j < n; j++)
			*p++ = cfg->numa->dist[i][j];
	acpi_finish(h);
	return gpa;
}

long acpi_build(uint8_t *buf, size_t size, gpa_t base, const struct acpi_config *cfg)
{
	struct acpi_writer w = { .buf = buf, .size = size, .base = base };
	struct acpi_rsdp *rsdp;
	struct acpi_header *xsdt;
	gpa_t rsdp_gpa, xsdt_gpa, tables[8];
	unsigned int n = 0;

	if (!cfg->ncpus)
		return -EINVAL;
	rsdp = acpi_alloc(&w, sizeof(*rsdp), &rsdp_gpa);
	if (!rsdp)
		return w.err;
	gpa_t dsdt = acpi_dsdt(&w, cfg);

	tables[n++] = acpi_fadt(&w, dsdt);
	tables[n++] = acpi_madt(&w, cfg);
	if (cfg->pci)
		tables[n++] = acpi_mcfg(&w, cfg);
	if (cfg->numa && cfg->numa->nr_nodes) {
		tables[n++] = acpi_srat(&w, cfg);
		tables[n++] = acpi_slit(&w, cfg);
	}
	xsdt = acpi_alloc(&w, sizeof(*xsdt) + n * sizeof(uint64_t), &xsdt_gpa);
	if (w.err)
		return w.err;
	acpi_header_init(xsdt, "XSDT", sizeof(*xsdt) + n * sizeof(uint64_t), 1);
	memcpy(xsdt + 1, tables, n * sizeof(uint64_t));
	acpi_finish(xsdt);

	memcpy(rsdp->signature, "RSD PTR ", 8);
	memcpy(rsdp->oem_id, ACPI_OEM_ID, 6);
	rsdp->revision = 2;
	rsdp->length = sizeof(*rsdp);
	rsdp->xsdt_address = xsdt_gpa;
	rsdp->checksum = -acpi_checksum(rsdp, 20);
	rsdp->extended_checksum = -acpi_checksum(rsdp, sizeof(*rsdp));
	return w.off;
}
