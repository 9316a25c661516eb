// SPDX-License-Identifier: GPL-2.0-only
/* pm: ACPI PM1a event/control blocks, the power button and the PM timer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "hw/pm.h"
#include "arch/x86/platform.h"

#define STS      0
#define EN       2
#define CNT      4
#define TMR      8
#define PWRBTN   (1u << 8)
#define SCI_EN   (1u << 0)
#define SLP_EN   (1u << 13)
#define SLP_TYP(t) ((unsigned int)(t) << 10)

struct ctx {
	struct pm pm;
	int sci_level;
	unsigned int sci_raises, sci_gsi;
	unsigned int events[2];
};

static int fake_sci(void *c, unsigned int gsi, int level)
{
	struct ctx *x = c;

	x->sci_gsi = gsi;
	if (level && !x->sci_level)
		x->sci_raises++;
	x->sci_level = level;
	return 0;
}

static void fake_event(void *c, enum machine_event ev)
{
	struct ctx *x = c;

	assert_true(ev == MACHINE_POWEROFF || ev == MACHINE_RESET);
	x->events[ev]++;
}

static int setup(void **state)
{
	struct ctx *x = calloc(1, sizeof(*x));

	if (!x)
		return -1;
	if (pm_init(&x->pm, (struct irq_line){ .set = fake_sci, .ctx = x, .gsi = SCI_IRQ },
		    (struct machine_events){ .raise = fake_event, .ctx = x }))
		return -1;
	*state = x;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *x = *state;

	pm_destroy(&x->pm);
	free(x);
	return 0;
}

static uint64_t rd(struct ctx *x, unsigned int off, unsigned int size)
{
	return pm_ops.read(&x->pm, off, size);
}

static void wr(struct ctx *x, unsigned int off, unsigned int size, uint64_t v)
{
	pm_ops.write(&x->pm, off, size, v);
}

static void test_poweroff(void **state)
{
	struct ctx *x = *state;

	wr(x, CNT, 2, SLP_TYP(ACPI_S5_SLP_TYP) | SLP_EN);
	assert_int_equal(x->events[MACHINE_POWEROFF], 1);
	assert_int_equal(x->events[MACHINE_RESET], 0);
	/* SLP_EN is write-only; SLP_TYP stays; SCI_EN stays set. */
	assert_int_equal(rd(x, CNT, 2), SLP_TYP(5) | SCI_EN);
	/* Nothing more happens without another SLP_EN. */
	wr(x, CNT, 2, SLP_TYP(5));
	assert_int_equal(x->events[MACHINE_POWEROFF], 1);
	wr(x, CNT, 2, SLP_TYP(5) | SLP_EN);
	assert_int_equal(x->events[MACHINE_POWEROFF], 2);
}

static void test_other_sleep_types(void **state)
{
	struct ctx *x = *state;

	for (unsigned int t = 0; t < 8; t++) {
		if (t == ACPI_S5_SLP_TYP)
			continue;
		wr(x, CNT, 2, SLP_TYP(t) | SLP_EN);
		assert_int_equal(rd(x, CNT, 2) & ~SCI_EN, SLP_TYP(t));
	}
	/* S5 without SLP_EN, then SLP_EN with another type: neither powers off. */
	wr(x, CNT, 2, SLP_TYP(5));
	wr(x, CNT, 2, SLP_TYP(0) | SLP_EN);
	assert_int_equal(x->events[MACHINE_POWEROFF], 0);
	assert_int_equal(x->events[MACHINE_RESET], 0);
}

static void test_poweroff_bytewise(void **state)
{
	struct ctx *x = *state;
	uint16_t v = SLP_TYP(5) | SLP_EN | SCI_EN;

	/* Low byte first: nothing yet; the high byte completes it. */
	wr(x, CNT, 1, v & 0xff);
	assert_int_equal(x->events[MACHINE_POWEROFF], 0);
	wr(x, CNT + 1, 1, v >> 8);
	assert_int_equal(x->events[MACHINE_POWEROFF], 1);
	/* A 32-bit write covering the control register counts once. */
	wr(x, CNT, 4, SLP_TYP(5) | SLP_EN);
	assert_int_equal(x->events[MACHINE_POWEROFF], 2);
	/* Byte writes that change only SLP_TYP's low part keep the rest. */
	wr(x, CNT, 2, SLP_TYP(4));
	wr(x, CNT, 1, 0x00);
	assert_int_equal(rd(x, CNT, 2), SLP_TYP(4) | SCI_EN);
	assert_int_equal(x->events[MACHINE_POWEROFF], 2);
}

static void test_sci_en_sticky(void **state)
{
	struct ctx *x = *state;

	assert_int_equal(rd(x, CNT, 2) & SCI_EN, SCI_EN);
	wr(x, CNT, 2, 0);
	assert_int_equal(rd(x, CNT, 2), SCI_EN);
	wr(x, CNT, 1, 0);
	assert_int_equal(rd(x, CNT, 1), SCI_EN);
	/* The reserved bytes after the control register read as zero. */
	assert_int_equal(rd(x, 6, 2), 0);
}

static void test_status_w1c(void **state)
{
	struct ctx *x = *state;

	assert_int_equal(rd(x, STS, 2), 0);
	pm_power_button(&x->pm);
	assert_int_equal(rd(x, STS, 2), PWRBTN);
	/* Writing 0 leaves it; writing other bits leaves it. */
	wr(x, STS, 2, 0);
	assert_int_equal(rd(x, STS, 2), PWRBTN);
	wr(x, STS, 2, ~PWRBTN & 0xffff);
	assert_int_equal(rd(x, STS, 2), PWRBTN);
	/* Writing 1 clears it. */
	wr(x, STS, 2, PWRBTN);
	assert_int_equal(rd(x, STS, 2), 0);
	/* Byte-wise too: bit 8 is bit 0 of the second byte. */
	pm_power_button(&x->pm);
	wr(x, STS, 1, 0xff);
	assert_int_equal(rd(x, STS, 2), PWRBTN);
	wr(x, STS + 1, 1, 0x01);
	assert_int_equal(rd(x, STS, 2), 0);
	/* Clearing again is harmless. */
	wr(x, STS, 2, 0xffff);
	assert_int_equal(rd(x, STS, 2), 0);
}

static void test_power_button_sci(void **state)
{
	struct ctx *x = *state;

	/* Not enabled: status set, no SCI. */
	pm_power_button(&x->pm);
	assert_int_equal(rd(x, STS, 2) & PWRBTN, PWRBTN);
	assert_int_equal(x->sci_level, 0);
	assert_int_equal(x->sci_raises, 0);
	/* Enabling it with the status pending raises the SCI. */
	wr(x, EN, 2, PWRBTN);
	assert_int_equal(rd(x, EN, 2), PWRBTN);
	assert_int_equal(x->sci_level, 1);
	assert_int_equal(x->sci_gsi, SCI_IRQ);
	/* The OS acknowledges: the line drops. */
	wr(x, STS, 2, PWRBTN);
	assert_int_equal(x->sci_level, 0);
	/* Enabled: a press raises it at once. */
	pm_power_button(&x->pm);
	assert_int_equal(x->sci_level, 1);
	assert_int_equal(x->sci_raises, 2);
	/* Disabling the enable bit drops it, status stays. */
	wr(x, EN, 2, 0);
	assert_int_equal(x->sci_level, 0);
	assert_int_equal(rd(x, STS, 2), PWRBTN);
	/* A 32-bit write at offset 0 sets PM1_EN without clearing status. */
	wr(x, STS, 4, (uint64_t)PWRBTN << 16);
	assert_int_equal(rd(x, EN, 2), PWRBTN);
	assert_int_equal(rd(x, STS, 2), PWRBTN);
	assert_int_equal(x->sci_level, 1);
	assert_int_equal(rd(x, STS, 4), PWRBTN | (PWRBTN << 16));
	/* No power-off or reset from any of this. */
	assert_int_equal(x->events[MACHINE_POWEROFF], 0);
	assert_int_equal(x->events[MACHINE_RESET], 0);
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void test_pm_timer(void **state)
{
	struct ctx *x = *state;
	struct timespec ms10 = { 0, 10 * 1000 * 1000 };
	uint64_t m0, m1, m2, m3;
	uint32_t t1, t2, ticks;
	double lo, hi;

	/* Read it between host clock readings, so the bounds need no slack for scheduling. */
	m0 = mono_ns();
	t1 = rd(x, TMR, 4);
	m1 = mono_ns();
	nanosleep(&ms10, NULL);
	m2 = mono_ns();
	t2 = rd(x, TMR, 4);
	m3 = mono_ns();
	ticks = t2 - t1;
	lo = (m2 - m1) * 3579545e-9 - 2;
	hi = (m3 - m0) * 3579545e-9 + 2;
	print_message("PM timer: %u ticks over ~%.3f ms (%.0f..%.0f)\n", ticks,
		      (m2 - m1) / 1e6, lo, hi);
	assert_true(ticks >= lo && ticks <= hi);
	/* 3.579545 MHz: at least 35795 ticks in the (at least) 10 ms slept. */
	assert_true(ticks >= 35795 - 2);

	/* Monotonic over many reads; writes do not disturb it. */
	t1 = rd(x, TMR, 4);
	wr(x, TMR, 4, 0);
	for (int i = 0; i < 1000; i++) {
		t2 = rd(x, TMR, 4);
		assert_true((int32_t)(t2 - t1) >= 0);
		t1 = t2;
	}
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_poweroff),
		T(test_other_sleep_types),
		T(test_poweroff_bytewise),
		T(test_sci_en_sticky),
		T(test_status_w1c),
		T(test_power_button_sci),
		T(test_pm_timer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
