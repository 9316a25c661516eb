/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KITE_SNAPSHOT_H
#define KITE_SNAPSHOT_H

/*
 * Snapshots: a directory with two files,
 *   state    the VM state image (state/format.h): configuration, KVM, vCPUs,
 *            devices
 *   memory   guest RAM, regions back to back in guest-physical order, sparse
 *            (all-zero 4 KiB pages are holes)
 * written atomically: both go to a temporary directory next to DIR, are
 * fsync'ed, and the directory is then renamed into place (swapped with an
 * existing snapshot by renameat2(RENAME_EXCHANGE), the old one removed), so
 * a full disk or an I/O error leaves any previous snapshot intact.
 */
#include <stddef.h>

#include "state/format.h"
#include "vm.h"

/* Pause (if running), write DIR, resume (if it was running).  One line in err on failure. */
int vm_snapshot(struct vm *vm, const char *dir, char *err, size_t errlen);

/* Read and verify DIR/state into buf/img (caller frees both). */
int snapshot_load_state(const char *dir, uint8_t **buf, size_t *len, struct state_image *img,
			char *err, size_t errlen);

#endif
