/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KITE_HW_RTC_H
#define KITE_HW_RTC_H

#include <pthread.h>
#include <stdint.h>

#include "bus.h"

/* MC146818 CMOS RTC state: plain data for snapshots. */
struct rtc_state {
	uint8_t index;
	uint8_t cmos[128];
	int64_t offset;        /* guest wall-clock seconds minus host UTC seconds */
};

struct rtc {
	struct rtc_state s;
	pthread_mutex_t lock;
	int64_t (*now)(void);  /* host UTC seconds; replaceable in tests */
};

int rtc_init(struct rtc *rtc, int64_t (*now)(void));
void rtc_destroy(struct rtc *rtc);

extern const struct bus_ops rtc_ops;

#endif
