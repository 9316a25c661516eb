// SPDX-License-Identifier: GPL-2.0-only
/* acpi: RSDP, XSDT, FADT, MADT and DSDT as a guest's OSPM would read them. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "arch/x86/acpi.h"
#include "arch/x86/aml.h"
#include "arch/x86/platform.h"
#include "util.h"
#include "aml_parse.h"

#define BUF_SIZE (128 * 1024)
#define BASE     0xE0000ULL
#define POISON   0xCC

struct built {
	uint8_t *buf;
	long used;
	gpa_t base;
};

static struct built build(unsigned int ncpus, gpa_t base)
{
	struct acpi_config cfg = { .ncpus = ncpus };
	struct built b = { .buf = malloc(BUF_SIZE), .base = base };

	assert_non_null(b.buf);
	memset(b.buf, POISON, BUF_SIZE);
	b.used = acpi_build(b.buf, BUF_SIZE, base, &cfg);
	if (b.used <= 0)
		fail_msg("acpi_build(ncpus=%u) = %ld", ncpus, b.used);
	assert_true(b.used <= BUF_SIZE);
	/* Nothing past the bytes it reports using is touched. */
	for (long i = b.used; i < BUF_SIZE; i++)
		if (b.buf[i] != POISON)
			fail_msg("byte %ld past the %ld used was written", i, b.used);
	return b;
}

/* A table at guest-physical `gpa`, checked to lie wholly inside the used bytes. */
static const struct acpi_header *table_at(const struct built *b, uint64_t gpa, const char *sig)
{
	const struct acpi_header *h;
	uint64_t off;

	if (gpa < b->base || gpa - b->base + sizeof(*h) > (uint64_t)b->used)
		fail_msg("%s pointer %#llx outside [%#llx, +%ld)", sig, (unsigned long long)gpa,
			 (unsigned long long)b->base, b->used);
	off = gpa - b->base;
	h = (const struct acpi_header *)(b->buf + off);
	if (h->length < sizeof(*h) || off + h->length > (uint64_t)b->used)
		fail_msg("%s length %u overruns the tables", sig, h->length);
	if (memcmp(h->signature, sig, 4))
		fail_msg("expected %s at %#llx, found %.4s", sig, (unsigned long long)gpa,
			 h->signature);
	if (acpi_checksum(h, h->length))
		fail_msg("%s checksum does not sum to 0", sig);
	assert_memory_equal(h->oem_id, ACPI_OEM_ID, 6);
	return h;
}

static const struct acpi_rsdp *rsdp_of(const struct built *b)
{
	const struct acpi_rsdp *r = (const struct acpi_rsdp *)b->buf;

	assert_memory_equal(r->signature, "RSD PTR ", 8);
	assert_int_equal(acpi_checksum(r, 20), 0);
	assert_int_equal(acpi_checksum(r, sizeof(*r)), 0);
	assert_int_equal(r->revision, 2);
	assert_int_equal(r->length, 36);
	assert_int_equal(sizeof(*r), 36);
	assert_memory_equal(r->oem_id, ACPI_OEM_ID, 6);
	return r;
}

/* The XSDT's entries; fails unless each points at a valid table in the buffer. */
static unsigned int xsdt_entries(const struct built *b, uint64_t *out, unsigned int max)
{
	const struct acpi_rsdp *r = rsdp_of(b);
	const struct acpi_header *x = table_at(b, r->xsdt_address, "XSDT");
	unsigned int n;

	assert_int_equal((x->length - sizeof(*x)) % 8, 0);
	n = (x->length - sizeof(*x)) / 8;
	assert_true(n >= 2 && n <= max);
	memcpy(out, x + 1, n * 8);
	return n;
}

static const struct acpi_header *find_table(const struct built *b, const char *sig)
{
	uint64_t e[16];
	unsigned int n = xsdt_entries(b, e, 16);
	const struct acpi_header *found = NULL;

	for (unsigned int i = 0; i < n; i++) {
		const struct acpi_header *h;

		if (e[i] < b->base || e[i] - b->base + sizeof(*h) > (uint64_t)b->used)
			fail_msg("XSDT entry %u (%#llx) outside the tables", i,
				 (unsigned long long)e[i]);
		h = (const struct acpi_header *)(b->buf + (e[i] - b->base));
		if (!memcmp(h->signature, sig, 4)) {
			if (found)
				fail_msg("two %s tables in the XSDT", sig);
			found = table_at(b, e[i], sig);
		}
	}
	if (!found)
		fail_msg("no %s in the XSDT", sig);
	return found;
}

static const unsigned int cpu_counts[] = { 1, 2, 3, 8, 300 };

static void test_rsdp_xsdt(void **state)
{
	(void)state;
	for (size_t c = 0; c < ARRAY_SIZE(cpu_counts); c++) {
		struct built b = build(cpu_counts[c], BASE);
		uint64_t e[16];
		unsigned int n = xsdt_entries(&b, e, 16);

		/* The RSDP is first, at base (the guest scans 0xE0000..0xFFFFF for it). */
		assert_int_equal(BASE % 16, 0);
		for (unsigned int i = 0; i < n; i++) {
			const struct acpi_header *h;

			if (e[i] < BASE || e[i] >= BASE + b.used)
				fail_msg("XSDT entry %#llx outside the buffer", (unsigned long long)e[i]);
			h = (const struct acpi_header *)(b.buf + (e[i] - BASE));
			table_at(&b, e[i], (const char []){ h->signature[0], h->signature[1],
				 h->signature[2], h->signature[3], 0 });
			/* The DSDT is reached through the FADT, not the XSDT. */
			assert_memory_not_equal(h->signature, "DSDT", 4);
		}
		find_table(&b, "FACP");
		find_table(&b, "APIC");
		free(b.buf);
	}
}

static void test_base_relocates_pointers(void **state)
{
	struct built a = build(4, BASE), b = build(4, 0xF0000);
	const struct acpi_rsdp *ra = rsdp_of(&a), *rb = rsdp_of(&b);
	const struct acpi_fadt *fa = (const void *)find_table(&a, "FACP");
	const struct acpi_fadt *fb = (const void *)find_table(&b, "FACP");

	(void)state;
	assert_int_equal(a.used, b.used);
	assert_int_equal(ra->xsdt_address - BASE, rb->xsdt_address - 0xF0000);
	assert_int_equal(fa->dsdt - BASE, fb->dsdt - 0xF0000);
	table_at(&b, fb->x_dsdt, "DSDT");
	free(a.buf);
	free(b.buf);
}

static void test_fadt(void **state)
{
	(void)state;
	for (size_t c = 0; c < ARRAY_SIZE(cpu_counts); c++) {
		struct built b = build(cpu_counts[c], BASE);
		const struct acpi_fadt *f = (const void *)find_table(&b, "FACP");

		assert_int_equal(f->h.revision, 6);
		assert_int_equal(f->h.length, 276);
		assert_int_equal(sizeof(*f), 276);
		assert_int_equal(f->pm1a_evt_blk, 0x600);
		assert_int_equal(f->pm1a_cnt_blk, 0x604);
		assert_int_equal(f->pm_tmr_blk, 0x608);
		assert_int_equal(f->pm1_evt_len, 4);
		assert_int_equal(f->pm1_cnt_len, 2);
		assert_int_equal(f->pm_tmr_len, 4);
		assert_int_equal(f->pm1b_evt_blk, 0);
		assert_int_equal(f->pm1b_cnt_blk, 0);
		assert_int_equal(f->sci_int, 9);
		assert_int_equal(f->smi_cmd, 0);            /* ACPI mode is always on */
		/* The 64-bit blocks describe the same ports, in I/O space. */
		assert_int_equal(f->x_pm1a_evt_blk.space_id, 1);
		assert_int_equal(f->x_pm1a_evt_blk.address, 0x600);
		assert_int_equal(f->x_pm1a_evt_blk.bit_width, 32);
		assert_int_equal(f->x_pm1a_cnt_blk.space_id, 1);
		assert_int_equal(f->x_pm1a_cnt_blk.address, 0x604);
		assert_int_equal(f->x_pm1a_cnt_blk.bit_width, 16);
		assert_int_equal(f->x_pm_tmr_blk.space_id, 1);
		assert_int_equal(f->x_pm_tmr_blk.address, 0x608);
		assert_int_equal(f->x_pm_tmr_blk.bit_width, 32);
		assert_int_equal(f->x_pm1b_evt_blk.address, 0);
		/* Not hardware-reduced: the PM1 blocks above are real. */
		assert_int_equal(f->flags & (1u << 20), 0);
		/* 32-bit PM timer (TMR_VAL_EXT) and the reset register (i8042 0xFE). */
		assert_int_not_equal(f->flags & (1u << 8), 0);
		assert_int_not_equal(f->flags & (1u << 10), 0);
		assert_int_equal(f->reset_reg.space_id, 1);
		assert_int_equal(f->reset_reg.address, I8042_CMD_PORT);
		assert_int_equal(f->reset_reg.bit_width, 8);
		assert_int_equal(f->reset_value, 0xfe);
		assert_int_equal(f->century, 0x32);
		/* DSDT pointers agree and lead to a valid DSDT. */
		assert_int_not_equal(f->dsdt, 0);
		assert_int_equal(f->x_dsdt, f->dsdt);
		table_at(&b, f->x_dsdt, "DSDT");
		free(b.buf);
	}
}

static void check_madt(const struct built *b, unsigned int ncpus)
{
	const struct acpi_madt *m = (const void *)find_table(b, "APIC");
	const uint8_t *p = (const uint8_t *)(m + 1), *end = (const uint8_t *)m + m->h.length;
	uint8_t *seen = calloc(ncpus, 1);
	unsigned int cpus = 0, ioapics = 0, iso0 = 0, iso_sci = 0;

	assert_non_null(seen);
	assert_int_equal(m->lapic_address, 0xFEE00000u);
	assert_int_equal(m->flags & 1, 1);                 /* PCAT_COMPAT */
	while (p < end) {
		assert_true(end - p >= 2);
		assert_true(p[1] >= 2 && p[1] <= end - p);
		switch (p[0]) {
		case 0: {
			struct madt_lapic l;

			assert_int_equal(p[1], sizeof(l));
			memcpy(&l, p, sizeof(l));
			assert_true(l.flags & 1);
			/* Type 0 for APIC IDs below 255; 255 is the broadcast ID. */
			assert_true(l.apic_id < 255);
			assert_true(l.apic_id < ncpus);
			assert_int_equal(seen[l.apic_id]++, 0);
			cpus++;
			break;
		}
		case 9: {
			struct madt_x2apic x;

			assert_int_equal(p[1], sizeof(x));
			memcpy(&x, p, sizeof(x));
			assert_true(x.flags & 1);
			assert_true(x.x2apic_id >= 255);
			assert_true(x.x2apic_id < ncpus);
			assert_int_equal(seen[x.x2apic_id]++, 0);
			cpus++;
			break;
		}
		case 1: {
			struct madt_ioapic io;

			assert_int_equal(p[1], sizeof(io));
			memcpy(&io, p, sizeof(io));
			assert_int_equal(io.address, 0xFEC00000u);
			assert_int_equal(io.gsi_base, 0);
			assert_int_equal(io.id, IOAPIC_ID);
			ioapics++;
			break;
		}
		case 2: {
			struct madt_iso iso;

			assert_int_equal(p[1], sizeof(iso));
			memcpy(&iso, p, sizeof(iso));
			assert_int_equal(iso.bus, 0);
			if (iso.source == 0) {
				assert_int_equal(iso.gsi, 2);       /* PIT IRQ0 -> GSI 2 */
				iso0++;
			} else if (iso.source == SCI_IRQ) {
				assert_int_equal(iso.gsi, SCI_IRQ);
				assert_int_equal(iso.flags, 0x000d); /* level, active high */
				iso_sci++;
			}
			break;
		}
		default:
			break;
		}
		p += p[1];
	}
	assert_ptr_equal(p, end);
	assert_int_equal(cpus, ncpus);
	for (unsigned int i = 0; i < ncpus; i++)
		if (seen[i] != 1)
			fail_msg("APIC ID %u listed %u times (ncpus %u)", i, seen[i], ncpus);
	assert_int_equal(ioapics, 1);
	assert_int_equal(iso0, 1);
	assert_int_equal(iso_sci, 1);
	free(seen);
}

static void test_madt(void **state)
{
	(void)state;
	for (size_t c = 0; c < ARRAY_SIZE(cpu_counts); c++) {
		struct built b = build(cpu_counts[c], BASE);

		check_madt(&b, cpu_counts[c]);
		free(b.buf);
	}
}

static void test_madt_x2apic_boundary(void **state)
{
	(void)state;
	/* 255 CPUs fit in type-0 entries (IDs 0..254); the 256th needs x2APIC. */
	for (unsigned int n = 254; n <= 257; n++) {
		struct built b = build(n, BASE);

		check_madt(&b, n);
		free(b.buf);
	}
}

static const uint8_t s5_aml[] = {
	0x08, '\\', '_', 'S', '5', '_',         /* Name(\_S5_, */
	0x12, 0x08, 0x04,                      /*   Package(4) { PkgLength 8 */
	0x0a, 0x05, 0x0a, 0x05, 0x00, 0x00,    /*     5, 5, 0, 0 } ) */
};

static const uint8_t hid_pnp0501_aml[] = {
	0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x05, 0x01,   /* Name(_HID, EisaId("PNP0501")) */
};

static void test_dsdt(void **state)
{
	struct built b = build(2, BASE);
	const struct acpi_fadt *f = (const void *)find_table(&b, "FACP");
	const struct acpi_header *h = table_at(&b, f->dsdt, "DSDT");
	const uint8_t *body = (const uint8_t *)(h + 1);
	size_t len = h->length - sizeof(*h);
	struct aml_doc *doc = malloc(sizeof(*doc));
	struct aml_obj *o;

	(void)state;
	assert_non_null(doc);
	/* Revision 2: 64-bit AML integers. */
	assert_int_equal(h->revision, 2);
	/* The exact bytes of the sleep-state package and the UART's _HID. */
	assert_non_null(memmem(body, len, s5_aml, sizeof(s5_aml)));
	assert_non_null(memmem(body, len, hid_pnp0501_aml, sizeof(hid_pnp0501_aml)));

	/* The whole body parses, every PkgLength matching its contents. */
	if (aml_parse(doc, body, len))
		fail_msg("DSDT does not parse: %s", doc->error);

	o = aml_lookup(doc, "\\_S5_");
	assert_non_null(o);
	assert_int_equal(o->type, AOBJ_PACKAGE);
	assert_int_equal(o->nelem, 4);
	assert_int_equal(o->elems[0], ACPI_S5_SLP_TYP);
	assert_int_equal(o->elems[1], ACPI_S5_SLP_TYP);
	assert_int_equal(o->elems[2], 0);
	assert_int_equal(o->elems[3], 0);

	o = aml_lookup(doc, "\\_SB_");
	assert_non_null(o);
	assert_int_equal(o->type, AOBJ_SCOPE);
	o = aml_lookup(doc, "\\_SB_.COM1");
	assert_non_null(o);
	assert_int_equal(o->type, AOBJ_DEVICE);
	o = aml_lookup(doc, "\\_SB_.COM1._HID");
	assert_non_null(o);
	assert_int_equal(o->type, AOBJ_INT);
	assert_int_equal(o->ival, 0x0105D041);
	o = aml_lookup(doc, "\\_SB_.COM1._CRS");
	assert_non_null(o);
	assert_int_equal(o->type, AOBJ_BUFFER);
	{
		static const uint8_t crs[] = {
			0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x01, 0x08,  /* IO(Decode16, 0x3F8, 0x3F8, 1, 8) */
			0x22, 0x10, 0x00,                                /* IRQNoFlags() {4} */
			0x79, 0x00,                                      /* EndTag */
		};

		assert_int_equal(o->len, sizeof(crs));
		assert_memory_equal(o->data, crs, sizeof(crs));
	}
	o = aml_lookup(doc, "\\_SB_.RTC_._HID");
	assert_non_null(o);
	assert_int_equal(o->ival, aml_eisaid("PNP0B00"));
	o = aml_lookup(doc, "\\_SB_.RTC_._CRS");
	assert_non_null(o);
	assert_int_equal(o->type, AOBJ_BUFFER);
	assert_true(o->len >= 8);
	assert_int_equal(o->data[0], 0x47);
	assert_int_equal(o->data[2] | o->data[3] << 8, RTC_BASE);
	free(doc);
	free(b.buf);
}

static void test_too_small(void **state)
{
	struct acpi_config cfg = { .ncpus = 3 };
	struct built full = build(3, BASE);

	(void)state;
	/* Every size short of what is needed fails cleanly, writing nothing beyond it. */
	for (long size = 0; size <= full.used; size++) {
		uint8_t *buf = malloc(size + 64);
		long ret;

		assert_non_null(buf);
		memset(buf, POISON, size + 64);
		ret = acpi_build(buf, size, BASE, &cfg);
		for (long i = size; i < size + 64; i++)
			if (buf[i] != POISON)
				fail_msg("size %ld: byte %ld written past the buffer", size, i);
		if (size < full.used) {
			if (ret != -E2BIG)
				fail_msg("size %ld of %ld needed: got %ld, want -E2BIG", size,
					 full.used, ret);
		} else {
			assert_int_equal(ret, full.used);
			assert_memory_equal(buf, full.buf, full.used);
		}
		free(buf);
	}
	free(full.buf);
}

static void test_deterministic(void **state)
{
	struct built a = build(8, BASE), b = build(8, BASE);

	(void)state;
	assert_int_equal(a.used, b.used);
	assert_memory_equal(a.buf, b.buf, a.used);
	free(a.buf);
	free(b.buf);
}

static void test_zero_cpus(void **state)
{
	struct acpi_config cfg = { .ncpus = 0 };
	uint8_t *buf = malloc(BUF_SIZE);

	(void)state;
	assert_non_null(buf);
	assert_int_equal(acpi_build(buf, BUF_SIZE, BASE, &cfg), -EINVAL);
	free(buf);
}

static void test_checksum(void **state)
{
	uint8_t d[5] = { 1, 2, 3, 4, 0 };

	(void)state;
	assert_int_equal(acpi_checksum(d, 0), 0);
	assert_int_equal(acpi_checksum(d, 4), 10);
	d[4] = (uint8_t)-10;
	assert_int_equal(acpi_checksum(d, 5), 0);
	memset(d, 0xff, sizeof(d));
	assert_int_equal(acpi_checksum(d, 5), (uint8_t)(5 * 0xff));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_checksum),
		cmocka_unit_test(test_rsdp_xsdt),
		cmocka_unit_test(test_base_relocates_pointers),
		cmocka_unit_test(test_fadt),
		cmocka_unit_test(test_madt),
		cmocka_unit_test(test_madt_x2apic_boundary),
		cmocka_unit_test(test_dsdt),
		cmocka_unit_test(test_too_small),
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_zero_cpus),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
