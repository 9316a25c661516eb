/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KITE_X86_AML_H
#define KITE_X86_AML_H

#include <stddef.h>
#include <stdint.h>

/*
 * A tiny AML (ACPI Machine Language) writer for the DSDT: named integers,
 * strings and EISA IDs, scopes, devices, packages and resource templates.
 * Open constructs (scope, device, package, buffer) are closed with aml_end();
 * their PkgLength is computed then.  Errors are sticky in `err`.
 */
#define AML_MAX_DEPTH 16

struct aml {
	uint8_t *buf;
	size_t len, cap;
	int err;
	unsigned int depth;
	struct { size_t start; int kind; } open[AML_MAX_DEPTH];
};

void aml_init(struct aml *a);
void aml_free(struct aml *a);

void aml_integer(struct aml *a, uint64_t v);
void aml_string(struct aml *a, const char *s);
void aml_name(struct aml *a, const char *path);      /* NameOp + NameString; a value follows */
void aml_name_int(struct aml *a, const char *path, uint64_t v);
void aml_name_string(struct aml *a, const char *path, const char *s);
void aml_name_eisaid(struct aml *a, const char *path, const char *id);  /* "PNP0501" */

void aml_scope(struct aml *a, const char *path);
void aml_device(struct aml *a, const char *path);
void aml_package(struct aml *a, unsigned int nelem);
void aml_buffer(struct aml *a);
void aml_end(struct aml *a);

/* Resource descriptors, to be written inside aml_buffer() ... aml_end(). */
void aml_res_io(struct aml *a, uint16_t base, uint8_t len);
void aml_res_irq(struct aml *a, unsigned int irq);
void aml_res_memory32(struct aml *a, uint32_t base, uint32_t len);
/* Word/DWord/QWord address space descriptors [min, max] (producer, fixed). */
void aml_res_word_bus(struct aml *a, uint16_t min, uint16_t max);
void aml_res_word_io(struct aml *a, uint16_t min, uint16_t max);
void aml_res_dword_mem(struct aml *a, uint32_t min, uint32_t max);
void aml_res_qword_mem(struct aml *a, uint64_t min, uint64_t max);
void aml_res_end(struct aml *a);

uint32_t aml_eisaid(const char *id);

#endif
