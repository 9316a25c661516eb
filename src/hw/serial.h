/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KITE_HW_SERIAL_H
#define KITE_HW_SERIAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "bus.h"
#include "machine.h"

#define SERIAL_RX_BUF 4096

/* Guest-visible 16550A state: plain data, saved and restored as is. */
struct serial_state {
	uint8_t ier, lcr, mcr, lsr, msr, scr, dll, dlm, fcr;
	uint8_t thr_ipending;      /* THR-empty interrupt pending */
	uint16_t rx_head, rx_count;
	uint8_t rx[SERIAL_RX_BUF]; /* receive queue (the FIFO, extended) */
};

struct serial {
	struct serial_state s;
	pthread_mutex_t lock;
	int out_fd;                /* transmitted bytes go here */
	int rx_space_efd;          /* signalled when the guest frees space in a queue that had < 2 bytes free; -1: none */
	struct irq_line irq;
	int irq_level;             /* last level driven (host-side cache, -1 = unknown) */
};

int serial_init(struct serial *s, int out_fd, struct irq_line irq);
void serial_destroy(struct serial *s);

/* Queue received bytes for the guest; returns how many were accepted. */
size_t serial_rx(struct serial *s, const uint8_t *buf, size_t len);
size_t serial_rx_space(struct serial *s);

extern const struct bus_ops serial_ops;

#endif
