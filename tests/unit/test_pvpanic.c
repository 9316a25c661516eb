// SPDX-License-Identifier: GPL-2.0-only
/* pvpanic: the QEMU-compatible ISA panic port, with a fake machine-event sink. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "arch/x86/platform.h"
#include "bus.h"
#include "hw/pvpanic.h"
#include "log.h"

#define NR_EVENTS (MACHINE_PANIC + 1)

struct ctx {
	struct pvpanic p;
	unsigned int events[NR_EVENTS];
	unsigned int total;
	enum log_level old_level;
};

static void fake_event(void *c, enum machine_event ev)
{
	struct ctx *x = c;

	assert_true((unsigned int)ev < NR_EVENTS);
	x->events[ev]++;
	x->total++;
}

static int setup(void **state)
{
	struct ctx *x = calloc(1, sizeof(*x));

	if (!x)
		return -1;
	/* The device logs every report; keep the test output quiet. */
	x->old_level = log_get_level();
	log_set_level(LOG_ERR);
	if (pvpanic_init(&x->p, (struct machine_events){ .raise = fake_event, .ctx = x }))
		return -1;
	*state = x;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *x = *state;

	log_set_level(x->old_level);
	free(x);
	return 0;
}

static uint64_t rd(struct ctx *x)
{
	return pvpanic_ops.read(&x->p, 0, 1);
}

static void wr(struct ctx *x, uint64_t v)
{
	pvpanic_ops.write(&x->p, 0, 1, v);
}

static void test_constants(void **state)
{
	(void)state;
	/* The values Linux's pvpanic driver and QEMU use. */
	assert_int_equal(PVPANIC_PANICKED, 1);
	assert_int_equal(PVPANIC_CRASH_LOADED, 2);
	assert_int_equal(PVPANIC_PORT, 0x505);
}

static void test_init(void **state)
{
	struct ctx *x = *state;
	struct pvpanic p;

	(void)x;
	memset(&p, 0xff, sizeof(p));
	assert_int_equal(pvpanic_init(&p, (struct machine_events){ .raise = fake_event,
								   .ctx = x }), 0);
	assert_int_equal(p.s.events, 0);
	assert_ptr_equal(p.events.raise, fake_event);
	assert_ptr_equal(p.events.ctx, x);
}

static void test_read_capabilities(void **state)
{
	struct ctx *x = *state;

	assert_int_equal(rd(x), PVPANIC_PANICKED | PVPANIC_CRASH_LOADED);
	assert_int_equal(rd(x), 3);
	/* Wider reads and other offsets say the same; reading raises nothing. */
	assert_int_equal(pvpanic_ops.read(&x->p, 0, 4), 3);
	assert_int_equal(x->total, 0);
	assert_int_equal(x->p.s.events, 0);
	/* Capabilities, not state: unchanged after a report. */
	wr(x, PVPANIC_CRASH_LOADED);
	assert_int_equal(rd(x), 3);
}

static void test_panicked(void **state)
{
	struct ctx *x = *state;

	wr(x, PVPANIC_PANICKED);
	assert_int_equal(x->events[MACHINE_PANIC], 1);
	assert_int_equal(x->total, 1);
	assert_int_equal(x->p.s.events, PVPANIC_PANICKED);
	/* Once per write. */
	wr(x, PVPANIC_PANICKED);
	assert_int_equal(x->events[MACHINE_PANIC], 2);
	assert_int_equal(x->total, 2);
	assert_int_equal(x->p.s.events, PVPANIC_PANICKED);
	/* Never a power-off or a reset. */
	assert_int_equal(x->events[MACHINE_POWEROFF], 0);
	assert_int_equal(x->events[MACHINE_RESET], 0);
}

static void test_crash_loaded(void **state)
{
	struct ctx *x = *state;

	wr(x, PVPANIC_CRASH_LOADED);
	assert_int_equal(x->total, 0);
	assert_int_equal(x->p.s.events, PVPANIC_CRASH_LOADED);
	wr(x, PVPANIC_CRASH_LOADED);
	assert_int_equal(x->total, 0);
	/* Then the crash kernel panics too: recorded on top of the first event. */
	wr(x, PVPANIC_PANICKED);
	assert_int_equal(x->events[MACHINE_PANIC], 1);
	assert_int_equal(x->total, 1);
	assert_int_equal(x->p.s.events, PVPANIC_PANICKED | PVPANIC_CRASH_LOADED);
}

static void test_both_bits(void **state)
{
	struct ctx *x = *state;

	wr(x, PVPANIC_PANICKED | PVPANIC_CRASH_LOADED);
	assert_int_equal(x->events[MACHINE_PANIC], 1);
	assert_int_equal(x->total, 1);
	assert_int_equal(x->p.s.events, 3);
}

static void test_nothing(void **state)
{
	struct ctx *x = *state;

	wr(x, 0);
	assert_int_equal(x->total, 0);
	assert_int_equal(x->p.s.events, 0);
	/* Bits the device does not offer are ignored, not recorded. */
	wr(x, 0xfc);
	assert_int_equal(x->total, 0);
	assert_int_equal(x->p.s.events, 0);
	/* ...also next to a real one. */
	wr(x, 0xf0 | PVPANIC_CRASH_LOADED);
	assert_int_equal(x->total, 0);
	assert_int_equal(x->p.s.events, PVPANIC_CRASH_LOADED);
	wr(x, 0xf0 | PVPANIC_PANICKED);
	assert_int_equal(x->events[MACHINE_PANIC], 1);
	assert_int_equal(x->p.s.events, PVPANIC_PANICKED | PVPANIC_CRASH_LOADED);
}

static void test_no_sink(void **state)
{
	struct pvpanic p;

	(void)state;
	/* A machine without an event handler: recorded, nothing called. */
	assert_int_equal(pvpanic_init(&p, (struct machine_events){ 0 }), 0);
	pvpanic_ops.write(&p, 0, 1, PVPANIC_PANICKED);
	assert_int_equal(p.s.events, PVPANIC_PANICKED);
}

/* Through the port bus, as a vCPU's I/O exit reaches it. */
static void test_on_bus(void **state)
{
	struct ctx *x = *state;
	struct bus bus;
	uint8_t v = 0;

	assert_int_equal(bus_init(&bus, "pio"), 0);
	assert_int_equal(bus_register(&bus, PVPANIC_PORT, 1, &pvpanic_ops, &x->p, "pvpanic"), 0);
	assert_true(bus_access(&bus, PVPANIC_PORT, &v, 1, false));
	assert_int_equal(v, 3);
	v = PVPANIC_CRASH_LOADED;
	assert_true(bus_access(&bus, PVPANIC_PORT, &v, 1, true));
	assert_int_equal(x->total, 0);
	v = PVPANIC_PANICKED;
	assert_true(bus_access(&bus, PVPANIC_PORT, &v, 1, true));
	assert_int_equal(x->events[MACHINE_PANIC], 1);
	assert_int_equal(x->p.s.events, 3);
	/* The neighbouring ports are not the device's. */
	v = PVPANIC_PANICKED;
	assert_false(bus_access(&bus, PVPANIC_PORT + 1, &v, 1, true));
	assert_int_equal(x->events[MACHINE_PANIC], 1);
	bus_destroy(&bus);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_constants),
		cmocka_unit_test_setup_teardown(test_init, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_capabilities, setup, teardown),
		cmocka_unit_test_setup_teardown(test_panicked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_loaded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_both_bits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nothing, setup, teardown),
		cmocka_unit_test(test_no_sink),
		cmocka_unit_test_setup_teardown(test_on_bus, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
