/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KITE_HW_I8042_H
#define KITE_HW_I8042_H

#include <pthread.h>
#include <stdint.h>

#include "bus.h"
#include "machine.h"

/* Just enough of the PS/2 controller for the reset command. */
struct i8042_state {
	uint8_t cmd_byte;
	uint8_t pending_cmd;   /* command waiting for its data byte */
	uint8_t outbuf;
	uint8_t obf;           /* output buffer full */
};

struct i8042 {
	struct i8042_state s;
	pthread_mutex_t lock;
	struct machine_events events;
};

int i8042_init(struct i8042 *k, struct machine_events events);
void i8042_destroy(struct i8042 *k);

extern const struct bus_ops i8042_ops;   /* registered at 0x60 (data) and 0x64 (cmd) */

#endif
