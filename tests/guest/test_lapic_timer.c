/*
 * test_lapic_timer.c - LAPIC timer in periodic mode: at least 5 ticks
 * within a bounded (TSC) wait.
 */
#include "kit.h"

#define TIMER_VECTOR	0x40
#define TIMER_TICKS	5

static volatile u32 timer_ticks;

static void timer_handler(struct idt_frame *f)
{
	(void)f;
	timer_ticks++;
	lapic_eoi();
}

const char *test_lapic_timer(void)
{
	u64 t0, t1, end;
	u32 ticks;

	if (acpi_init())
		madt_init();	/* LAPIC address from the MADT if there is one */
	pic_mask_all();
	lapic_enable();
	idt_set_handler(TIMER_VECTOR, timer_handler);
	serial_printf("lapic_timer: LAPIC at %lx id %u version %x\n", lapic_base, lapic_id(),
		      lapic_read(LAPIC_VER));
	/* divide by 16, 62500 counts: 1 ms at the 1 GHz bus KVM emulates */
	t0 = rdtsc();
	lapic_timer_periodic(TIMER_VECTOR, 0x3, 62500);
	end = tsc_deadline_us(3000000);
	cpu_sti();
	while (timer_ticks < TIMER_TICKS && !tsc_passed(end))
		cpu_pause();
	cpu_cli();
	t1 = rdtsc();
	lapic_timer_stop();
	ticks = timer_ticks;
	serial_printf("lapic_timer: %u ticks in %lu TSC ticks (current count %u)\n", ticks,
		      t1 - t0, lapic_read(LAPIC_TIMER_CCR));
	if (ticks < TIMER_TICKS)
		return kit_reason("only %u timer interrupts within the wait", ticks);
	return NULL;
}
