// SPDX-License-Identifier: GPL-2.0-only
/* i8042 keyboard controller: self-test, command byte, output port, and reset. */
#include <string.h>

#include "hw/i8042.h"
#include "arch/x86/platform.h"

#define STS_OBF     0x01
#define STS_SYS     0x04
#define STS_UNLOCK  0x10

int i8042_init(struct i8042 *k, struct machine_events events)
{
	memset(k, 0, sizeof(*k));
	k->s.cmd_byte = 0x61;   /* translate, system flag, keyboard interrupt */
	k->events = events;
	return -pthread_mutex_init(&k->lock, NULL);
}

void i8042_destroy(struct i8042 *k)
{
	pthread_mutex_destroy(&k->lock);
}

static void i8042_out(struct i8042_state *s, uint8_t v)
{
	s->outbuf = v;
	s->obf = 1;
}

/* The bus range covers ports 0x60..0x64: offset 0 is data, offset 4 is command/status. */
static uint64_t i8042_read(void *opaque, uint64_t off, unsigned int size)
{
	struct i8042 *k = opaque;
	uint8_t v = 0xff;

	(void)size;
	pthread_mutex_lock(&k->lock);
	if (off == 0) {
		v = k->s.outbuf;
		k->s.obf = 0;
	} else if (off == 4) {
		v = STS_SYS | STS_UNLOCK | (k->s.obf ? STS_OBF : 0);
	}
	pthread_mutex_unlock(&k->lock);
	return v;
}

static void i8042_write(void *opaque, uint64_t off, unsigned int size, uint64_t val)
{
	struct i8042 *k = opaque;
	struct i8042_state *s = &k->s;
	uint8_t v = val;
	bool reset = false;

	(void)size;
	pthread_mutex_lock(&k->lock);
	if (off == 4) {
		switch (v) {
		case 0x20: i8042_out(s, s->cmd_byte); break;  /* read command byte */
		case 0x60: case 0xd1: case 0xd2: case 0xd3: case 0xd4:
			s->pending_cmd = v;                 /* data byte follows */
			break;
		case 0xaa: i8042_out(s, 0x55); break;       /* controller self-test */
		case 0xab: case 0xa9: i8042_out(s, 0x00); break;  /* port tests */
		case 0xd0: i8042_out(s, 0x03); break;       /* read output port */
		default:
			/* 0xF0-0xFF pulse output lines; bit 0 clear pulses reset. */
			if (v >= 0xf0 && !(v & 1))
				reset = true;
			break;
		}
	} else if (off == 0) {
		switch (s->pending_cmd) {
		case 0x60: s->cmd_byte = v; break;
		case 0xd1: if (!(v & 1)) reset = true; break;   /* output port, bit 0 = reset line */
		case 0xd2: case 0xd3: i8042_out(s, v); break;   /* echo as if from a device */
		case 0xd4: break;                                /* no mouse */
		default: i8042_out(s, 0xfa); break;              /* keyboard: ACK */
		}
		s->pending_cmd = 0;
	}
	pthread_mutex_unlock(&k->lock);
	if (reset)
		machine_event(&k->events, MACHINE_RESET);
}

const struct bus_ops i8042_ops = {
	.read = i8042_read,
	.write = i8042_write,
};
