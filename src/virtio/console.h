/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KITE_VIRTIO_CONSOLE_H
#define KITE_VIRTIO_CONSOLE_H

/*
 * virtio-console (§5.3), one port (hvc0), no MULTIPORT.
 *
 * Output (transmitq) is written to out_fd by the I/O thread through a
 * non-blocking file description of its own: when the host reader stalls,
 * the device keeps the chain, waits for EPOLLOUT, and the guest's queue
 * fills up -- no vCPU or I/O thread ever blocks on the reader.
 * Input comes from the host console (stdin, after the Ctrl-A escapes) into
 * a small buffer and is delivered into the receiveq's buffers.
 */
#include <stddef.h>
#include <stdint.h>

#include "virtio/virtio.h"

#define VIRTIO_CONSOLE_F_SIZE           0
#define VIRTIO_CONSOLE_F_EMERG_WRITE    2
#define VIRTIO_CONSOLE_INBUF            4096

struct virtio_console_state {
	uint32_t in_len;                /* bytes buffered for the guest */
	uint32_t reserved;
	uint8_t in[VIRTIO_CONSOLE_INBUF];
};

int virtio_console_create(struct virtio_dev **out, const struct virtio_env *env, int out_fd);

/* Host console input (any thread but the I/O thread's callbacks): bytes accepted. */
size_t virtio_console_input(struct virtio_dev *vd, const uint8_t *buf, size_t len);
/* Room for input; when it was below 2, space_efd is signalled as it grows. */
size_t virtio_console_input_space(struct virtio_dev *vd);
void virtio_console_set_space_efd(struct virtio_dev *vd, int efd);

/* Bytes written to out_fd so far (statistics, tests). */
uint64_t virtio_console_written(struct virtio_dev *vd);

#endif
