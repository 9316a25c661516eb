/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KITE_VIRTIO_BLK_H
#define KITE_VIRTIO_BLK_H

/*
 * virtio-blk (VIRTIO 1.2 §5.2) on a raw image, with io_uring.
 *
 * One request pool per queue (queue size 256, one queue per vCPU up to
 * BLK_MAX_QUEUES), one io_uring per device whose completion eventfd is
 * registered on env->io at create time.  Requests run zero-copy on the
 * guest's buffers, except under cache=none when a buffer is not aligned for
 * O_DIRECT (a bounce buffer then).  The guest cannot stop kite: a malformed
 * request gets VIRTIO_BLK_S_IOERR or VIRTIO_BLK_S_UNSUPP, a broken queue
 * DEVICE_NEEDS_RESET, a failing host file IOERR.
 */
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "virtio/virtio.h"

#define VIRTIO_BLK_ID_BYTES     20
#define BLK_MAX_QUEUES          16
#define BLK_QUEUE_SIZE          256

/* Feature bits (§5.2.3). */
#define VIRTIO_BLK_F_SIZE_MAX   1
#define VIRTIO_BLK_F_SEG_MAX    2
#define VIRTIO_BLK_F_GEOMETRY   4
#define VIRTIO_BLK_F_RO         5
#define VIRTIO_BLK_F_BLK_SIZE   6
#define VIRTIO_BLK_F_FLUSH      9
#define VIRTIO_BLK_F_TOPOLOGY   10
#define VIRTIO_BLK_F_CONFIG_WCE 11
#define VIRTIO_BLK_F_MQ         12
#define VIRTIO_BLK_F_DISCARD    13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

/* Request types and status (§5.2.6). */
#define VIRTIO_BLK_T_IN         0
#define VIRTIO_BLK_T_OUT        1
#define VIRTIO_BLK_T_FLUSH      4
#define VIRTIO_BLK_T_GET_ID     8
#define VIRTIO_BLK_T_DISCARD    11
#define VIRTIO_BLK_T_WRITE_ZEROES 13

#define VIRTIO_BLK_S_OK         0
#define VIRTIO_BLK_S_IOERR      1
#define VIRTIO_BLK_S_UNSUPP     2

#define VIRTIO_BLK_WZ_F_UNMAP   1

/* The request header and a discard/write-zeroes segment (little-endian). */
struct virtio_blk_outhdr {
	uint32_t type;
	uint32_t ioprio;
	uint64_t sector;
};

struct virtio_blk_dwz {
	uint64_t sector;
	uint32_t num_sectors;
	uint32_t flags;
};

/*
 * Configuration space (§5.2.4), little-endian.  The device exposes the
 * fields up to write_zeroes_may_unmap (BLK_CONFIG_SIZE bytes): secure erase
 * and zoned devices are not offered.
 */
struct virtio_blk_config {
	uint64_t capacity;              /* 512-byte sectors */
	uint32_t size_max;
	uint32_t seg_max;
	uint16_t cylinders;
	uint8_t heads;
	uint8_t sectors;
	uint32_t blk_size;
	uint8_t physical_block_exp;
	uint8_t alignment_offset;
	uint16_t min_io_size;
	uint32_t opt_io_size;
	uint8_t writeback;
	uint8_t unused0;
	uint16_t num_queues;
	uint32_t max_discard_sectors;
	uint32_t max_discard_seg;
	uint32_t discard_sector_alignment;
	uint32_t max_write_zeroes_sectors;
	uint32_t max_write_zeroes_seg;
	uint8_t write_zeroes_may_unmap;
	uint8_t unused1[3];
	uint32_t max_secure_erase_sectors;
	uint32_t max_secure_erase_seg;
	uint32_t secure_erase_sector_alignment;
};

#define BLK_CONFIG_SIZE offsetof(struct virtio_blk_config, max_secure_erase_sectors)

_Static_assert(BLK_CONFIG_SIZE == 60 && sizeof(struct virtio_blk_config) == 72,
	       "virtio_blk_config has the layout of VIRTIO 1.2 5.2.4");

/* `--disk path[,readonly][,cache=none|writeback][,serial=STRING]` */
struct blk_opts {
	char path[PATH_MAX];
	bool readonly;
	bool direct;                    /* cache=none: O_DIRECT */
	char serial[VIRTIO_BLK_ID_BYTES + 1];
};

/*
 * Parse a --disk argument into o (defaults: read-write, cache=writeback, no
 * serial).  0, or -EINVAL with a one-line message in err.  A path cannot
 * contain a comma.
 */
int blk_parse_opts(const char *arg, struct blk_opts *o, char *err, size_t errlen);

/*
 * Snapshot state: what the device-specific part must agree on at restore
 * (the queues and features are the transport's).  Plain fixed-width data.
 */
struct virtio_blk_state {
	uint64_t capacity;              /* sectors: the image must have this size */
	uint16_t num_queues;
	uint8_t readonly;               /* 0 or 1 */
	uint8_t reserved[5];            /* 0 */
};

_Static_assert(sizeof(struct virtio_blk_state) == 16, "virtio_blk_state has no hidden padding");

/*
 * Create "virtio-blk<index>": open and lock the image, set up the queues and
 * the io_uring, register its completion eventfd on env->io (before the I/O
 * thread starts).  User errors (image missing, unreadable, locked, wrong
 * kind or size) print one line and return -EINVAL; others return -errno.
 * The caller attaches a transport (vd->t_ops, vd->t_ctx) afterwards.
 */
int virtio_blk_create(struct virtio_dev **out, const struct blk_opts *o,
		      const struct virtio_env *env, unsigned int index);

/*
 * Wait for every request in flight and complete it to the guest (used ring
 * and interrupt as usual).  Lock held.  Call before ops->save: a snapshot
 * takes a device with nothing in flight.
 */
void virtio_blk_drain(struct virtio_dev *vd);

/* Same as vd->ops->destroy(vd).  Call before the I/O thread's loop is destroyed. */
void virtio_blk_destroy(struct virtio_dev *vd);

#endif
