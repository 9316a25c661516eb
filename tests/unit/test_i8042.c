// SPDX-License-Identifier: GPL-2.0-only
/* i8042: self-test, command byte, output port and the reset paths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "hw/i8042.h"
#include "arch/x86/platform.h"

#define DATA 0                                  /* port 0x60 */
#define CMD  (I8042_CMD_PORT - I8042_DATA_PORT) /* port 0x64 */
#define OBF  0x01

struct ctx {
	struct i8042 k;
	unsigned int events[2];
};

static void fake_event(void *c, enum machine_event ev)
{
	struct ctx *x = c;

	assert_true(ev == MACHINE_POWEROFF || ev == MACHINE_RESET);
	x->events[ev]++;
}

static int setup(void **state)
{
	struct ctx *x = calloc(1, sizeof(*x));

	if (!x || i8042_init(&x->k, (struct machine_events){ .raise = fake_event, .ctx = x }))
		return -1;
	*state = x;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *x = *state;

	i8042_destroy(&x->k);
	free(x);
	return 0;
}

static uint8_t rd(struct ctx *x, unsigned int off)
{
	return i8042_ops.read(&x->k, off, 1);
}

static void wr(struct ctx *x, unsigned int off, uint8_t v)
{
	i8042_ops.write(&x->k, off, 1, v);
}

static void test_reset_command(void **state)
{
	struct ctx *x = *state;

	assert_int_equal(CMD, 4);
	wr(x, CMD, 0xfe);
	assert_int_equal(x->events[MACHINE_RESET], 1);
	assert_int_equal(x->events[MACHINE_POWEROFF], 0);
	wr(x, CMD, I8042_RESET_CMD);
	assert_int_equal(x->events[MACHINE_RESET], 2);
}

static void test_other_pulses(void **state)
{
	struct ctx *x = *state;

	/* 0xFF pulses no line; odd pulse commands leave the reset line alone. */
	wr(x, CMD, 0xff);
	wr(x, CMD, 0xf1);
	wr(x, CMD, 0xfd);
	assert_int_equal(x->events[MACHINE_RESET], 0);
	/* Pulse commands with bit 0 clear do pulse reset. */
	wr(x, CMD, 0xf0);
	assert_int_equal(x->events[MACHINE_RESET], 1);
	/* 0xFE on the data port is just data, not a command. */
	wr(x, DATA, 0xfe);
	assert_int_equal(x->events[MACHINE_RESET], 1);
}

static void test_self_test(void **state)
{
	struct ctx *x = *state;

	assert_int_equal(rd(x, CMD) & OBF, 0);
	wr(x, CMD, 0xaa);
	assert_int_equal(rd(x, CMD) & OBF, OBF);
	assert_int_equal(rd(x, CMD) & 0x04, 0x04);     /* system flag */
	assert_int_equal(rd(x, DATA), 0x55);
	/* Reading the data port empties the output buffer. */
	assert_int_equal(rd(x, CMD) & OBF, 0);
	/* Interface tests pass. */
	wr(x, CMD, 0xab);
	assert_int_equal(rd(x, CMD) & OBF, OBF);
	assert_int_equal(rd(x, DATA), 0x00);
	assert_int_equal(x->events[MACHINE_RESET], 0);
}

static void test_command_byte(void **state)
{
	struct ctx *x = *state;

	wr(x, CMD, 0x20);
	assert_int_equal(rd(x, CMD) & OBF, OBF);
	assert_int_equal(rd(x, DATA), 0x61);
	/* 0x60: the next data byte is the new command byte. */
	wr(x, CMD, 0x60);
	wr(x, DATA, 0x45);
	assert_int_equal(rd(x, CMD) & OBF, 0);         /* no reply to a write */
	wr(x, CMD, 0x20);
	assert_int_equal(rd(x, DATA), 0x45);
	/* Only the byte after 0x60 is taken: the next one goes to the keyboard (ACK). */
	wr(x, DATA, 0x12);
	assert_int_equal(rd(x, CMD) & OBF, OBF);
	assert_int_equal(rd(x, DATA), 0xfa);
	wr(x, CMD, 0x20);
	assert_int_equal(rd(x, DATA), 0x45);
	assert_int_equal(x->events[MACHINE_RESET], 0);
}

static void test_output_port(void **state)
{
	struct ctx *x = *state;

	/* 0xD1 then a byte with bit 0 (the reset line) set: no reset. */
	wr(x, CMD, 0xd1);
	wr(x, DATA, 0xdf);
	assert_int_equal(x->events[MACHINE_RESET], 0);
	wr(x, CMD, 0xd1);
	wr(x, DATA, 0x03);
	assert_int_equal(x->events[MACHINE_RESET], 0);
	/* Bit 0 clear pulls reset. */
	wr(x, CMD, 0xd1);
	wr(x, DATA, 0xfe);
	assert_int_equal(x->events[MACHINE_RESET], 1);
	/* The data byte is consumed: the same value again is keyboard data. */
	wr(x, DATA, 0xfe);
	assert_int_equal(x->events[MACHINE_RESET], 1);
	/* Reading the output port: A20 and reset lines high. */
	wr(x, CMD, 0xd0);
	assert_int_equal(rd(x, DATA) & 0x03, 0x03);
}

static void test_echo_commands(void **state)
{
	struct ctx *x = *state;

	/* 0xD2: write the keyboard output buffer, as if the keyboard sent it. */
	wr(x, CMD, 0xd2);
	wr(x, DATA, 0x1c);
	assert_int_equal(rd(x, CMD) & OBF, OBF);
	assert_int_equal(rd(x, DATA), 0x1c);
	/* 0xD4: to the (absent) mouse: swallowed. */
	wr(x, CMD, 0xd4);
	wr(x, DATA, 0xf4);
	assert_int_equal(rd(x, CMD) & OBF, 0);
	/* Unused offsets of the range read as 0xff. */
	assert_int_equal(rd(x, 1), 0xff);
	assert_int_equal(rd(x, 3), 0xff);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_reset_command),
		T(test_other_pulses),
		T(test_self_test),
		T(test_command_byte),
		T(test_output_port),
		T(test_echo_commands),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
