// SPDX-License-Identifier: GPL-2.0-only
/* ACPI PM1a event/control registers (S5 power-off, power button) and the 3.58 MHz PM timer. */
#include <string.h>
#include <time.h>

#include "hw/pm.h"
#include "arch/x86/platform.h"

#define PM1_STS_PWRBTN   (1u << 8)
#define PM1_STS_WAK      (1u << 15)
#define PM1_CNT_SCI_EN   (1u << 0)
#define PM1_CNT_SLP_EN   (1u << 13)
#define PM1_CNT_SLP_TYP(v) (((v) >> 10) & 7)
#define PM_TIMER_HZ      3579545ULL

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

int pm_init(struct pm *pm, struct irq_line sci, struct machine_events events)
{
	memset(pm, 0, sizeof(*pm));
	pm->s.pm1_cnt = PM1_CNT_SCI_EN;       /* hardware is always in ACPI mode */
	pm->start_ns = mono_ns();
	pm->sci = sci;
	pm->events = events;
	return -pthread_mutex_init(&pm->lock, NULL);
}

void pm_destroy(struct pm *pm)
{
	pthread_mutex_destroy(&pm->lock);
}

static void pm_update_sci(struct pm *pm)
{
	irq_line_set(&pm->sci, !!(pm->s.pm1_sts & pm->s.pm1_en & PM1_STS_PWRBTN));
}

void pm_power_button(struct pm *pm)
{
	pthread_mutex_lock(&pm->lock);
	pm->s.pm1_sts |= PM1_STS_PWRBTN;
	pm_update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
}

static uint32_t pm_timer(const struct pm *pm)
{
	unsigned __int128 ticks = (unsigned __int128)(mono_ns() - pm->start_ns) * PM_TIMER_HZ;

	return (uint32_t)(ticks / 1000000000ULL);
}

static uint64_t pm_read(void *opaque, uint64_t off, unsigned int size)
{
	struct pm *pm = opaque;
	uint8_t regs[PM_SIZE];
	uint64_t v = 0;
	uint32_t tmr;

	pthread_mutex_lock(&pm->lock);
	memcpy(&regs[0], &pm->s.pm1_sts, 2);
	memcpy(&regs[2], &pm->s.pm1_en, 2);
	memcpy(&regs[PM1_CNT_OFF], &pm->s.pm1_cnt, 2);
	memset(&regs[6], 0, 2);
	tmr = pm_timer(pm);
	memcpy(&regs[PM_TMR_OFF], &tmr, 4);
	pthread_mutex_unlock(&pm->lock);
	/* The bus guarantees off + size <= PM_SIZE. */
	memcpy(&v, &regs[off], size);
	return v;
}

static void pm_write(void *opaque, uint64_t off, unsigned int size, uint64_t val)
{
	struct pm *pm = opaque;
	bool poweroff = false;

	pthread_mutex_lock(&pm->lock);
	for (unsigned int i = 0; i < size; i++) {
		unsigned int reg = off + i;
		uint16_t b = (val >> (8 * i)) & 0xff;
		unsigned int shift = (reg & 1) * 8;

		switch (reg) {
		case 0: case 1:                    /* PM1 status: write 1 to clear */
			pm->s.pm1_sts &= ~(b << shift);
			break;
		case 2: case 3:                    /* PM1 enable */
			pm->s.pm1_en = (pm->s.pm1_en & ~(0xff << shift)) | (b << shift);
			break;
		case PM1_CNT_OFF: case PM1_CNT_OFF + 1: {
			uint16_t cnt = (pm->s.pm1_cnt & ~(0xff << shift)) | (b << shift);

			if ((cnt & PM1_CNT_SLP_EN) && PM1_CNT_SLP_TYP(cnt) == ACPI_S5_SLP_TYP)
				poweroff = true;
			/* SLP_EN reads as zero; SCI_EN stays set. */
			pm->s.pm1_cnt = (cnt & ~PM1_CNT_SLP_EN) | PM1_CNT_SCI_EN;
			break;
		}
		default:                           /* timer and reserved: read-only */
			break;
		}
	}
	pm_update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
	if (poweroff)
		machine_event(&pm->events, MACHINE_POWEROFF);
}

const struct bus_ops pm_ops = {
	.read = pm_read,
	.write = pm_write,
};
