// SPDX-License-Identifier: GPL-2.0-only
/*
 * virtio-pci modern transport, as a guest driver sees it: config space
 * (capabilities, the PCI-config access window), the BAR's registers, kicks,
 * MSI-X and INTx interrupts, status negotiation, reset, save/restore.  With
 * virtio-rng and a small fake device that keeps a request in flight.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "log.h"
#include "util.h"
#include "virtio/rng.h"

#include "vpci_rig.h"

#define W VIRTQ_DESC_F_WRITE
#define F_ALL (VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC) | \
	       VIRTIO_BIT(VIRTIO_F_EVENT_IDX))

/* ---- a fake device: 8 bytes of writable config, one request kept in flight ---- */

struct slow {
	struct virtio_dev vd;
	struct virtq_chain chain;
	uint8_t config[8];
	unsigned int notifies, resets, activates;
	int activate_ret;
	bool in_flight;
	pthread_t worker;
	atomic_int work_done;
	bool ready_at_reset, drained_at_reset, chain_valid_at_reset;
};

static void *slow_worker(void *arg)
{
	struct slow *s = arg;
	struct timespec ms = { 0, 30 * 1000 * 1000 };

	/* The "I/O": slow, and it writes into the guest's buffer. */
	nanosleep(&ms, NULL);
	for (unsigned int i = 0; i < s->chain.nr_write; i++)
		memset(virtq_chain_write_iov(&s->chain)[i].iov_base, 0x5a,
		       virtq_chain_write_iov(&s->chain)[i].iov_len);
	atomic_store(&s->work_done, 1);
	return NULL;
}

static void slow_config_read(struct virtio_dev *vd, uint32_t off, void *buf, uint32_t len)
{
	struct slow *s = vd->priv;

	memcpy(buf, s->config + off, len);
}

static void slow_config_write(struct virtio_dev *vd, uint32_t off, const void *buf, uint32_t len)
{
	struct slow *s = vd->priv;

	memcpy(s->config + off, buf, len);
}

static int slow_activate(struct virtio_dev *vd)
{
	struct slow *s = vd->priv;

	s->activates++;
	return s->activate_ret;
}

static void slow_queue_notify(struct virtio_dev *vd, unsigned int q)
{
	struct slow *s = vd->priv;

	s->notifies++;
	if (s->in_flight || virtq_pop(&vd->vqs[q], &s->chain))
		return;
	s->in_flight = true;
	atomic_store(&s->work_done, 0);
	assert_int_equal(pthread_create(&s->worker, NULL, slow_worker, s), 0);
}

/* The completion side (the device's own event on the I/O thread); lock held. */
static void slow_complete(struct slow *s)
{
	if (!s->in_flight)
		return;
	pthread_join(s->worker, NULL);
	s->in_flight = false;
	virtq_push(&s->vd.vqs[0], s->chain.head, s->chain.write_len);
	virtio_dev_used(&s->vd, 0);
}

static void slow_reset(struct virtio_dev *vd)
{
	struct slow *s = vd->priv;

	s->resets++;
	s->ready_at_reset = vd->vqs[0].s.ready;
	s->chain_valid_at_reset = s->in_flight;
	/* Wait for the request in flight; its result is dropped. */
	if (s->in_flight) {
		pthread_join(s->worker, NULL);
		s->in_flight = false;
	}
	s->drained_at_reset = atomic_load(&s->work_done);
	memset(s->config, 0, sizeof(s->config));
}

static void slow_destroy(struct virtio_dev *vd)
{
	struct slow *s = vd->priv;

	if (s->in_flight)
		pthread_join(s->worker, NULL);
	virtio_dev_fini(vd);
	free(s);
}

static const struct virtio_dev_ops slow_ops = {
	.config_read = slow_config_read,
	.config_write = slow_config_write,
	.activate = slow_activate,
	.queue_notify = slow_queue_notify,
	.reset = slow_reset,
	.destroy = slow_destroy,
};

static int slow_create(struct virtio_dev **out, const struct virtio_env *env, void *arg)
{
	struct slow *s = calloc(1, sizeof(*s));

	(void)arg;
	assert_non_null(s);
	assert_int_equal(virtio_dev_init(&s->vd, &slow_ops, env, "slow", 42, 0x5, 1, 256,
					 sizeof(s->config), s), 0);
	memcpy(s->config, "ABCDEFGH", 8);
	*out = &s->vd;
	return 0;
}

static int rng_create(struct virtio_dev **out, const struct virtio_env *env, void *arg)
{
	(void)arg;
	return virtio_rng_create(out, env);
}

/* ---- fixtures ---- */

static int setup_rng(void **state)
{
	return rig_setup(state, 16 * MiB, rng_create, NULL);
}

static int setup_slow(void **state)
{
	return rig_setup(state, 16 * MiB, slow_create, NULL);
}

/* One 64-byte writable buffer on queue 0; returns its address. */
static gpa_t rng_request(struct rig *r, uint32_t len)
{
	gpa_t buf = galloc(r, len, 0);

	publish(r, 0, &(struct tdesc){ buf, len, W }, 1);
	return buf;
}

/* ---- config space ---- */

static void test_header_and_caps(void **state)
{
	struct rig *r = *state;
	bool seen[6] = { false };
	unsigned int c, n = 0, msix = 0;

	assert_int_equal(cfg_rd(r, PCI_VENDOR_ID, 2), 0x1af4);
	assert_int_equal(cfg_rd(r, PCI_DEVICE_ID, 2), 0x1040 + VIRTIO_ID_RNG);
	assert_int_equal(cfg_rd(r, PCI_REVISION_ID, 1), 1);
	assert_int_equal(cfg_rd(r, PCI_SUBSYSTEM_VENDOR_ID, 2), 0x1af4);
	assert_int_equal(cfg_rd(r, PCI_SUBSYSTEM_ID, 2), 0x40);
	assert_int_equal(cfg_rd(r, PCI_HEADER_TYPE, 1), 0);
	assert_true(cfg_rd(r, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
	assert_int_equal(cfg_rd(r, PCI_INTERRUPT_PIN, 1), 1);
	/* BAR0: 64-bit memory, 32 KiB, above 4 GiB. */
	assert_int_equal(cfg_rd(r, PCI_BAR0, 4) & 0xf, 4);
	assert_true(r->bar >= MEM_4G);
	cfg_wr(r, PCI_COMMAND, 2, 0);
	cfg_wr(r, PCI_BAR0, 4, ~0u);
	assert_int_equal(cfg_rd(r, PCI_BAR0, 4), (uint32_t)~(VIRTIO_PCI_BAR_SIZE - 1) | 4);
	cfg_wr(r, PCI_BAR0, 4, (uint32_t)r->bar);
	cfg_wr(r, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	assert_int_equal(r->vp.pci.bars[0].mapped, r->bar);

	/* The capability list: well-formed, terminates, each type once. */
	for (c = cfg_rd(r, PCI_CAPABILITY_LIST, 1); c; c = cfg_rd(r, c + 1, 1)) {
		assert_true(++n < 48);
		assert_true(c >= 0x40 && c < 0x100 && c % 4 == 0);
		if (cfg_rd(r, c, 1) == PCI_CAP_ID_MSIX) {
			msix = c;
			continue;
		}
		assert_int_equal(cfg_rd(r, c, 1), PCI_CAP_ID_VNDR);
		unsigned int len = cfg_rd(r, c + 2, 1), type = cfg_rd(r, c + 3, 1);

		assert_true(type >= 1 && type <= 5);
		assert_false(seen[type]);
		seen[type] = true;
		assert_true(c + len <= 0x100);
		if (type == 5) {
			assert_int_equal(len, 20);
			continue;
		}
		assert_int_equal(cfg_rd(r, c + 4, 1), 0);          /* BAR 0 */
		assert_int_equal(cfg_rd(r, c + 12, 4), 0x1000);
		switch (type) {
		case 1:
			assert_int_equal(cfg_rd(r, c + 8, 4), VIRTIO_PCI_COMMON);
			break;
		case 2:
			assert_int_equal(len, 20);
			assert_int_equal(cfg_rd(r, c + 8, 4), VIRTIO_PCI_NOTIFY);
			assert_int_equal(cfg_rd(r, c + 16, 4), VIRTIO_PCI_NOTIFY_MULT);
			break;
		case 3:
			assert_int_equal(cfg_rd(r, c + 8, 4), VIRTIO_PCI_ISR);
			break;
		case 4:
			assert_int_equal(cfg_rd(r, c + 8, 4), VIRTIO_PCI_DEVICE);
			break;
		}
	}
	for (unsigned int t = 1; t <= 5; t++)
		assert_true(seen[t]);
	assert_true(msix != 0);
	assert_int_equal(cfg_rd(r, msix + 2, 2), r->vd->nr_queues);        /* nr - 1 */
	assert_int_equal(cfg_rd(r, msix + 4, 4), VIRTIO_PCI_MSIX_TABLE);   /* BIR 0 */
	assert_int_equal(cfg_rd(r, msix + 8, 4), VIRTIO_PCI_MSIX_PBA);
	/* Capability bytes are read-only (the PCI_CFG window's fields excepted). */
	c = cfg_rd(r, PCI_CAPABILITY_LIST, 1);
	cfg_wr(r, c, 4, 0);
	assert_int_equal(cfg_rd(r, PCI_CAPABILITY_LIST, 1), c);
	assert_true(cfg_rd(r, c, 1) != 0);
	/* num_queues. */
	assert_int_equal(bar_rd(r, CC_NUM_QUEUES, 2), 1);
}

/* ---- the init sequence and a request ---- */

static void test_init_and_request(void **state)
{
	struct rig *r = *state;
	struct virtq_used_elem e;
	uint8_t *p;
	gpa_t buf;
	bool varied = false;

	assert_int_equal(status_rd(r), 0);
	driver_init(r, VIRTIO_BIT(VIRTIO_F_VERSION_1), true);
	/* Routes: config vector 0 and queue vector 1 were unmasked with MSI-X on. */
	assert_int_equal(r->route_calls, 2);
	assert_int_equal(r->routes[1].data, 0x41);
	assert_int_equal(r->routes[1].efd, r->vp.msix.vec[1].efd);
	/* DRIVER_OK kicks enabled queues (buffers may predate it). */
	irqs(r, 1);
	io_step(r);
	irqs(r, 1);

	buf = rng_request(r, 64);
	notify(r, 0);
	assert_int_equal(io_step(r), 1);
	assert_int_equal(used_idx(r, 0), 1);
	e = used_elem(r, 0, 0);
	assert_int_equal(e.id, 0);
	assert_int_equal(e.len, 64);
	p = gp(r, buf, 64);
	for (unsigned int i = 1; i < 64; i++)
		varied |= p[i] != p[0];
	assert_true(varied);
	assert_true(irqs(r, 1) >= 1);
	assert_int_equal(irqs(r, 0), 0);               /* no config interrupt */
	assert_int_equal(r->intx_level, 0);             /* MSI-X: no INTx */
	assert_int_equal(bar_rd(r, VIRTIO_PCI_ISR, 1), 0);
	/* Read-back of the queue registers the driver wrote. */
	bar_wr(r, CC_Q_SELECT, 2, 0);
	assert_int_equal(bar_rd(r, CC_Q_SIZE, 2), RIG_QSIZE);
	assert_int_equal(bar_rd(r, CC_Q_MSIX, 2), 1);
	assert_int_equal(bar_rd(r, CC_Q_NOTIFY_OFF, 2), 0);
	assert_int_equal(bar_rd(r, CC_Q_DESC, 8), QDESC(0));
	assert_int_equal(bar_rd(r, CC_Q_DRIVER, 4), QAVAIL(0));
	assert_int_equal(bar_rd(r, CC_Q_DRIVER + 4, 4), 0);
	assert_int_equal(bar_rd(r, CC_Q_DEVICE, 8), QUSED(0));
	/* Queue registers are frozen while the queue is enabled. */
	bar_wr(r, CC_Q_SIZE, 2, 8);
	bar_wr(r, CC_Q_DESC, 8, 0x200000);
	bar_wr(r, CC_Q_ENABLE, 2, 0);
	assert_int_equal(bar_rd(r, CC_Q_SIZE, 2), RIG_QSIZE);
	assert_int_equal(bar_rd(r, CC_Q_DESC, 8), QDESC(0));
	assert_int_equal(bar_rd(r, CC_Q_ENABLE, 2), 1);
	/* Two more requests in one kick, with a two-buffer chain. */
	gpa_t a = galloc(r, 16, 0), b = galloc(r, 100, 0);

	publish(r, 0, (struct tdesc[]){ { a, 16, W }, { b, 100, W } }, 2);
	rng_request(r, 1);
	notify(r, 0);
	assert_int_equal(io_step(r), 1);
	assert_int_equal(used_idx(r, 0), 3);
	assert_int_equal(used_elem(r, 0, 1).len, 116);
	assert_int_equal(used_elem(r, 0, 2).len, 1);
	/* Status bits stick until a reset: dropping FEATURES_OK (or anything) does not. */
	status_wr(r, ST_ACK | ST_DRIVER_OK);
	assert_int_equal(status_rd(r), ST_ACK | ST_DRIVER | ST_FEATURES_OK | ST_DRIVER_OK);
	status_wr(r, ST_DRIVER_OK | VIRTIO_STATUS_FAILED);
	assert_int_equal(status_rd(r), ST_ACK | ST_DRIVER | ST_FEATURES_OK | ST_DRIVER_OK |
			 VIRTIO_STATUS_FAILED);
	/* The feature bits read back; features cannot change after FEATURES_OK. */
	bar_wr(r, CC_GFSELECT, 4, 1);
	assert_int_equal(bar_rd(r, CC_GF, 4), 1);
	bar_wr(r, CC_GF, 4, 0);
	assert_int_equal(bar_rd(r, CC_GF, 4), 1);
	assert_int_equal(r->vd->features, VIRTIO_BIT(VIRTIO_F_VERSION_1));
}

static void test_feature_select(void **state)
{
	struct rig *r = *state;

	bar_wr(r, CC_DFSELECT, 4, 0);
	assert_int_equal(bar_rd(r, CC_DFSELECT, 4), 0);
	assert_int_equal(bar_rd(r, CC_DF, 4),
			 VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC) | VIRTIO_BIT(VIRTIO_F_EVENT_IDX));
	bar_wr(r, CC_DFSELECT, 4, 1);
	assert_int_equal(bar_rd(r, CC_DF, 4), 1);       /* VERSION_1 */
	bar_wr(r, CC_DFSELECT, 4, 2);
	assert_int_equal(bar_rd(r, CC_DFSELECT, 4), 2);
	assert_int_equal(bar_rd(r, CC_DF, 4), 0);
	bar_wr(r, CC_DFSELECT, 4, 0xffffffff);
	assert_int_equal(bar_rd(r, CC_DF, 4), 0);
	/* device_feature is read-only. */
	bar_wr(r, CC_DFSELECT, 4, 0);
	bar_wr(r, CC_DF, 4, 0);
	assert_int_equal(bar_rd(r, CC_DF, 4),
			 VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC) | VIRTIO_BIT(VIRTIO_F_EVENT_IDX));
	/* Driver words 0 and 1; word 2 and beyond read 0, writes go nowhere. */
	status_wr(r, ST_ACK | ST_DRIVER);
	bar_wr(r, CC_GFSELECT, 4, 0);
	bar_wr(r, CC_GF, 4, VIRTIO_BIT(VIRTIO_F_EVENT_IDX));
	bar_wr(r, CC_GFSELECT, 4, 1);
	bar_wr(r, CC_GF, 4, 1);
	bar_wr(r, CC_GFSELECT, 4, 2);
	bar_wr(r, CC_GF, 4, 0xffffffff);
	assert_int_equal(bar_rd(r, CC_GF, 4), 0);
	bar_wr(r, CC_GFSELECT, 4, 0);
	assert_int_equal(bar_rd(r, CC_GF, 4), VIRTIO_BIT(VIRTIO_F_EVENT_IDX));
	assert_int_equal(r->vd->features,
			 VIRTIO_BIT(VIRTIO_F_EVENT_IDX) | VIRTIO_BIT(VIRTIO_F_VERSION_1));
	/* Only 4-byte accesses count. */
	bar_wr(r, CC_GF, 2, 0);
	bar_wr(r, CC_GFSELECT, 2, 1);
	assert_int_equal(bar_rd(r, CC_GFSELECT, 4), 0);
	assert_int_equal(r->vd->features,
			 VIRTIO_BIT(VIRTIO_F_EVENT_IDX) | VIRTIO_BIT(VIRTIO_F_VERSION_1));
	/* A 64-bit read of the two select registers is harmless. */
	(void)bar_rd(r, CC_DFSELECT, 8);
}

static void test_features_ok_refused(void **state)
{
	struct rig *r = *state;

	/* An unoffered feature (rng has none of its own). */
	status_wr(r, ST_ACK | ST_DRIVER);
	driver_features(r, VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(0));
	status_wr(r, ST_ACK | ST_DRIVER | ST_FEATURES_OK);
	assert_int_equal(status_rd(r), ST_ACK | ST_DRIVER);
	driver_features(r, VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(40));
	status_wr(r, ST_ACK | ST_DRIVER | ST_FEATURES_OK);
	assert_int_equal(status_rd(r), ST_ACK | ST_DRIVER);
	/* No VERSION_1 (a legacy driver). */
	driver_features(r, VIRTIO_BIT(VIRTIO_F_EVENT_IDX));
	status_wr(r, ST_ACK | ST_DRIVER | ST_FEATURES_OK);
	assert_int_equal(status_rd(r), ST_ACK | ST_DRIVER);
	/* ...and DRIVER_OK after that is refused too: the device needs a reset. */
	status_wr(r, ST_ACK | ST_DRIVER | ST_DRIVER_OK);
	assert_true(status_rd(r) & ST_NEEDS_RESET);
	status_wr(r, 0);
	assert_int_equal(status_rd(r), 0);
	/* The driver can try again with a subset; then it sticks. */
	status_wr(r, ST_ACK | ST_DRIVER);
	driver_features(r, F_ALL);
	status_wr(r, ST_ACK | ST_DRIVER | ST_FEATURES_OK);
	assert_int_equal(status_rd(r), ST_ACK | ST_DRIVER | ST_FEATURES_OK);
	/* NEEDS_RESET is not the driver's to set. */
	status_wr(r, ST_ACK | ST_DRIVER | ST_FEATURES_OK | ST_NEEDS_RESET);
	assert_int_equal(status_rd(r), ST_ACK | ST_DRIVER | ST_FEATURES_OK);
	/* Status is one byte: wider writes are ignored. */
	bar_wr(r, CC_STATUS, 2, 0);
	assert_int_equal(status_rd(r), ST_ACK | ST_DRIVER | ST_FEATURES_OK);
}

static void test_queue_sel_out_of_range(void **state)
{
	struct rig *r = *state;
	struct virtq_state before, after;

	status_wr(r, ST_ACK | ST_DRIVER);
	virtq_save(&r->vd->vqs[0], &before);
	for (unsigned int i = 0; i < 2; i++) {
		uint16_t sel = i ? 0xffff : 1;

		bar_wr(r, CC_Q_SELECT, 2, sel);
		assert_int_equal(bar_rd(r, CC_Q_SELECT, 2), sel);
		assert_int_equal(bar_rd(r, CC_Q_SIZE, 2), 0);
		assert_int_equal(bar_rd(r, CC_Q_ENABLE, 2), 0);
		assert_int_equal(bar_rd(r, CC_Q_MSIX, 2), MSIX_NO_VECTOR);
		assert_int_equal(bar_rd(r, CC_Q_NOTIFY_OFF, 2), 0);
		assert_int_equal(bar_rd(r, CC_Q_DESC, 8), 0);
		assert_int_equal(bar_rd(r, CC_Q_DRIVER, 8), 0);
		assert_int_equal(bar_rd(r, CC_Q_DEVICE, 8), 0);
		bar_wr(r, CC_Q_SIZE, 2, 16);
		bar_wr(r, CC_Q_MSIX, 2, 0);
		bar_wr(r, CC_Q_DESC, 8, QDESC(0));
		bar_wr(r, CC_Q_DRIVER, 4, QAVAIL(0));
		bar_wr(r, CC_Q_DEVICE + 4, 4, 0);
		bar_wr(r, CC_Q_ENABLE, 2, 1);
		assert_int_equal(bar_rd(r, CC_Q_SIZE, 2), 0);
		assert_int_equal(bar_rd(r, CC_Q_MSIX, 2), MSIX_NO_VECTOR);
		/* Kicks of queues that do not exist go nowhere. */
		bar_wr(r, VIRTIO_PCI_NOTIFY + VIRTIO_PCI_NOTIFY_MULT * 1, 2, 1);
		bar_wr(r, VIRTIO_PCI_NOTIFY + 0xffc, 4, 0xffff);
		assert_int_equal(io_step(r), 0);
	}
	virtq_save(&r->vd->vqs[0], &after);
	assert_memory_equal(&before, &after, sizeof(before));
	assert_int_equal(r->vp.queue_msix[0], MSIX_NO_VECTOR);
	assert_int_equal(r->vd->status & ST_NEEDS_RESET, 0);
	/* Queue 0 is still there. */
	bar_wr(r, CC_Q_SELECT, 2, 0);
	assert_int_equal(bar_rd(r, CC_Q_SIZE, 2), 256);
	/* 4-byte writes to queue_select are not queue_select writes. */
	bar_wr(r, CC_Q_SELECT, 4, 0xffff);
	assert_int_equal(bar_rd(r, CC_Q_SELECT, 2), 0);
}

static void test_device_config_bounds(void **state)
{
	struct rig *r = *state;
	struct slow *s = r->vd->priv;

	assert_int_equal(bar_rd(r, VIRTIO_PCI_DEVICE, 8), 0x4847464544434241ULL);
	assert_int_equal(bar_rd(r, VIRTIO_PCI_DEVICE + 4, 4), 0x48474645);
	assert_int_equal(bar_rd(r, VIRTIO_PCI_DEVICE + 7, 1), 'H');
	/* Past the end, or straddling it: reads 0, writes ignored. */
	assert_int_equal(bar_rd(r, VIRTIO_PCI_DEVICE + 8, 1), 0);
	assert_int_equal(bar_rd(r, VIRTIO_PCI_DEVICE + 6, 4), 0);
	assert_int_equal(bar_rd(r, VIRTIO_PCI_DEVICE + 4, 8), 0);
	assert_int_equal(bar_rd(r, VIRTIO_PCI_DEVICE + 0xff8, 8), 0);
	bar_wr(r, VIRTIO_PCI_DEVICE + 8, 4, 0xffffffff);
	bar_wr(r, VIRTIO_PCI_DEVICE + 6, 4, 0xffffffff);
	bar_wr(r, VIRTIO_PCI_DEVICE + 1, 8, ~0ULL);
	bar_wr(r, VIRTIO_PCI_DEVICE + 0xffc, 4, 0xffffffff);
	assert_memory_equal(s->config, "ABCDEFGH", 8);
	assert_int_equal(virtio_pci_bar_read(&r->vp, VIRTIO_PCI_DEVICE + 0xffffffffULL, 4), 0);
	virtio_pci_bar_write(&r->vp, VIRTIO_PCI_DEVICE + 0xfffffffcULL, 8, ~0ULL);
	assert_memory_equal(s->config, "ABCDEFGH", 8);
	/* Inside: reaches the device. */
	bar_wr(r, VIRTIO_PCI_DEVICE + 6, 2, 0x7a79);
	assert_memory_equal(s->config, "ABCDEFyz", 8);
	/* Past the common config, the ISR byte and the notify region: 0. */
	assert_int_equal(bar_rd(r, 0x38, 4), 0);
	assert_int_equal(bar_rd(r, 0x36, 4), 0);
	assert_int_equal(bar_rd(r, 0x34, 8), 0);
	assert_int_equal(bar_rd(r, 0xffc, 4), 0);
	assert_int_equal(bar_rd(r, VIRTIO_PCI_ISR + 1, 1), 0);
	assert_int_equal(bar_rd(r, VIRTIO_PCI_NOTIFY, 4), 0);
	bar_wr(r, 0x38, 4, ~0u);
	bar_wr(r, 0x36, 4, ~0u);
	bar_wr(r, VIRTIO_PCI_ISR, 1, 0xff);
	assert_int_equal(bar_rd(r, VIRTIO_PCI_ISR, 1), 0);
	/* Far beyond the BAR (callers other than the bus). */
	assert_int_equal(virtio_pci_bar_read(&r->vp, UINT64_MAX - 7, 8), 0);
	virtio_pci_bar_write(&r->vp, UINT64_MAX - 7, 8, 0);
}

static void test_msix_vector_beyond_table(void **state)
{
	struct rig *r = *state;
	unsigned int nr = r->vp.msix.nr;       /* queues + 1 */

	assert_int_equal(bar_rd(r, CC_MSIX_CONFIG, 2), MSIX_NO_VECTOR);
	bar_wr(r, CC_MSIX_CONFIG, 2, nr);
	assert_int_equal(bar_rd(r, CC_MSIX_CONFIG, 2), MSIX_NO_VECTOR);
	bar_wr(r, CC_MSIX_CONFIG, 2, 0x7fff);
	assert_int_equal(bar_rd(r, CC_MSIX_CONFIG, 2), MSIX_NO_VECTOR);
	bar_wr(r, CC_MSIX_CONFIG, 2, nr - 1);
	assert_int_equal(bar_rd(r, CC_MSIX_CONFIG, 2), nr - 1);
	bar_wr(r, CC_MSIX_CONFIG, 2, MSIX_NO_VECTOR);
	assert_int_equal(bar_rd(r, CC_MSIX_CONFIG, 2), MSIX_NO_VECTOR);
	bar_wr(r, CC_Q_SELECT, 2, 0);
	bar_wr(r, CC_Q_MSIX, 2, nr);
	assert_int_equal(bar_rd(r, CC_Q_MSIX, 2), MSIX_NO_VECTOR);
	bar_wr(r, CC_Q_MSIX, 2, 1000);
	assert_int_equal(bar_rd(r, CC_Q_MSIX, 2), MSIX_NO_VECTOR);
	bar_wr(r, CC_Q_MSIX, 2, 0);
	assert_int_equal(bar_rd(r, CC_Q_MSIX, 2), 0);
	/* A device with NO_VECTOR for its queue and MSI-X on: no interrupt at all, no crash. */
	bar_wr(r, CC_Q_MSIX, 2, 0xfffe);
	bar_wr(r, CC_MSIX_CONFIG, 2, 0xfffe);
	driver_init(r, VIRTIO_BIT(VIRTIO_F_VERSION_1), true);
	bar_wr(r, CC_Q_SELECT, 2, 0);
	bar_wr(r, CC_Q_MSIX, 2, 0xfffe);
	bar_wr(r, CC_MSIX_CONFIG, 2, 0xfffe);
	io_step(r);
	irqs(r, 1);
	rng_request(r, 8);
	notify(r, 0);
	io_step(r);
	assert_int_equal(used_idx(r, 0), 1);
	for (unsigned int v = 0; v < nr; v++)
		assert_int_equal(irqs(r, v), 0);
	assert_int_equal(r->intx_level, 0);
}

static void test_driver_ok_without_features_ok(void **state)
{
	struct rig *r = *state;

	status_wr(r, ST_ACK);
	status_wr(r, ST_ACK | ST_DRIVER);
	driver_features(r, VIRTIO_BIT(VIRTIO_F_VERSION_1));
	msix_setup(r, 2);
	bar_wr(r, CC_MSIX_CONFIG, 2, 0);
	rings_clear(r, 0);
	queue_setup(r, 0, RIG_QSIZE, 1, QDESC(0), QAVAIL(0), QUSED(0));
	status_wr(r, ST_ACK | ST_DRIVER | ST_DRIVER_OK);
	assert_int_equal(status_rd(r), ST_ACK | ST_DRIVER | ST_DRIVER_OK | ST_NEEDS_RESET);
	assert_int_equal(irqs(r, 0), 1);                /* a config-change interrupt */
	/* The queue is never processed. */
	rng_request(r, 32);
	notify(r, 0);
	io_step(r);
	assert_int_equal(used_idx(r, 0), 0);
	/* Setting FEATURES_OK now changes nothing: still needs a reset. */
	status_wr(r, ST_ACK | ST_DRIVER | ST_FEATURES_OK | ST_DRIVER_OK);
	assert_true(status_rd(r) & ST_NEEDS_RESET);
	notify(r, 0);
	io_step(r);
	assert_int_equal(used_idx(r, 0), 0);
	/* Reset clears it; a proper init works. */
	status_wr(r, 0);
	assert_int_equal(status_rd(r), 0);
	driver_init(r, VIRTIO_BIT(VIRTIO_F_VERSION_1), true);
	rng_request(r, 32);
	notify(r, 0);
	io_step(r);
	assert_int_equal(used_idx(r, 0), 1);
}

static void test_bad_queue_layout(void **state)
{
	struct rig *r = *state;
	static const struct { gpa_t desc, avail, used; uint16_t size; } bad[] = {
		{ QDESC(0) + 8, QAVAIL(0), QUSED(0), RIG_QSIZE },      /* misaligned desc */
		{ QDESC(0), QAVAIL(0) + 1, QUSED(0), RIG_QSIZE },      /* misaligned avail */
		{ QDESC(0), QAVAIL(0), QUSED(0) + 2, RIG_QSIZE },      /* misaligned used */
		{ 0x10000000ULL, QAVAIL(0), QUSED(0), RIG_QSIZE },     /* outside RAM */
		{ QDESC(0), QAVAIL(0), 16 * MiB - 8, RIG_QSIZE },      /* straddles RAM's end */
		{ QDESC(0), QAVAIL(0), ~0ULL - 3, RIG_QSIZE },         /* wraps */
		{ QDESC(0), QAVAIL(0), QUSED(0), 48 },                 /* not a power of two */
		{ QDESC(0), QAVAIL(0), QUSED(0), 512 },                /* above the maximum */
		{ QDESC(0), QAVAIL(0), QUSED(0), 0 },
	};

	for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++) {
		status_wr(r, 0);
		status_wr(r, ST_ACK | ST_DRIVER);
		driver_features(r, VIRTIO_BIT(VIRTIO_F_VERSION_1));
		status_wr(r, ST_ACK | ST_DRIVER | ST_FEATURES_OK);
		rings_clear(r, 0);
		queue_setup(r, 0, bad[i].size, MSIX_NO_VECTOR, bad[i].desc, bad[i].avail,
			    bad[i].used);
		assert_true(status_rd(r) & ST_NEEDS_RESET);
		assert_int_equal(bar_rd(r, CC_Q_ENABLE, 2), 0);
		status_wr(r, ST_ACK | ST_DRIVER | ST_FEATURES_OK | ST_DRIVER_OK);
		assert_true(status_rd(r) & ST_NEEDS_RESET);
		rng_request(r, 4);
		notify(r, 0);
		io_step(r);
		assert_int_equal(used_idx(r, 0), 0);
	}
	status_wr(r, 0);
	assert_int_equal(status_rd(r), 0);
	driver_init(r, VIRTIO_BIT(VIRTIO_F_VERSION_1), false);
	rng_request(r, 4);
	notify(r, 0);
	io_step(r);
	assert_int_equal(used_idx(r, 0), 1);
}

/* ---- reset with a request in flight ---- */

static void test_reset_in_flight(void **state)
{
	struct rig *r = *state;
	struct slow *s = r->vd->priv;
	unsigned int notifies;
	gpa_t buf;

	driver_init(r, VIRTIO_BIT(VIRTIO_F_VERSION_1), true);
	assert_int_equal(s->activates, 1);
	io_step(r);
	buf = rng_request(r, 256);
	notify(r, 0);
	assert_int_equal(io_step(r), 1);
	assert_true(s->in_flight);
	/* Another request queued, and a kick still pending for the I/O thread. */
	rng_request(r, 16);
	notify(r, 0);
	/* The driver resets the device while the request runs. */
	status_wr(r, 0);
	/* The device's reset ran while the queue was still set up, and waited for the I/O. */
	assert_int_equal(s->resets, 2);                 /* driver_init's and this one */
	assert_true(s->ready_at_reset);
	assert_true(s->chain_valid_at_reset);
	assert_true(s->drained_at_reset);
	assert_false(s->in_flight);
	/* The I/O finished into the buffer, but was not completed into the (reset) ring. */
	assert_int_equal(*(uint8_t *)gp(r, buf, 1), 0x5a);
	assert_int_equal(used_idx(r, 0), 0);
	/* The transport is back to its initial state. */
	assert_int_equal(status_rd(r), 0);
	assert_int_equal(bar_rd(r, CC_Q_ENABLE, 2), 0);
	assert_int_equal(bar_rd(r, CC_Q_SIZE, 2), 256);
	assert_int_equal(bar_rd(r, CC_Q_DESC, 8), 0);
	assert_int_equal(bar_rd(r, CC_Q_MSIX, 2), MSIX_NO_VECTOR);
	assert_int_equal(bar_rd(r, CC_MSIX_CONFIG, 2), MSIX_NO_VECTOR);
	assert_int_equal(bar_rd(r, CC_Q_SELECT, 2), 0);
	bar_wr(r, CC_GFSELECT, 4, 0);
	assert_int_equal(bar_rd(r, CC_GF, 4), 0);
	assert_int_equal(r->vd->features, 0);
	assert_int_equal(bar_rd(r, VIRTIO_PCI_DEVICE, 8), 0);
	/* The stale kick finds a device that is not running. */
	notifies = s->notifies;
	assert_int_equal(io_step(r), 1);
	assert_int_equal(s->notifies, notifies);
	assert_false(s->in_flight);
	/* MSI-X is not reset by a virtio reset. */
	assert_true(msix_enabled(&r->vp.msix));
	/* Again from the top: requests complete. */
	driver_init(r, VIRTIO_BIT(VIRTIO_F_VERSION_1), true);
	io_step(r);
	irqs(r, 1);
	rng_request(r, 16);
	notify(r, 0);
	io_step(r);
	virtio_dev_lock(r->vd);
	slow_complete(s);
	virtio_dev_unlock(r->vd);
	assert_int_equal(used_idx(r, 0), 1);
	assert_int_equal(used_elem(r, 0, 0).len, 16);
	assert_int_equal(irqs(r, 1), 1);
	/* activate() failing: DEVICE_NEEDS_RESET. */
	s->activate_ret = -EIO;
	status_wr(r, 0);
	status_wr(r, ST_ACK | ST_DRIVER);
	driver_features(r, VIRTIO_BIT(VIRTIO_F_VERSION_1));
	status_wr(r, ST_ACK | ST_DRIVER | ST_FEATURES_OK);
	status_wr(r, ST_ACK | ST_DRIVER | ST_FEATURES_OK | ST_DRIVER_OK);
	assert_true(status_rd(r) & ST_NEEDS_RESET);
}

/* ---- a notify storm ---- */

static unsigned int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	unsigned int n = 0;

	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static void test_notify_storm(void **state)
{
	struct rig *r = *state;
	unsigned int fds, ranges;
	uint64_t cnt;

	driver_init(r, VIRTIO_BIT(VIRTIO_F_VERSION_1), true);
	io_step(r);
	irqs(r, 1);
	fds = open_fds();
	ranges = r->mmio.nr;
	rng_request(r, 32);
	for (unsigned int i = 0; i < 20000; i++)
		notify(r, 0);
	/* One eventfd, its counter holding every kick. */
	assert_int_equal(read(r->vp.kicks[0].efd, &cnt, sizeof(cnt)), sizeof(cnt));
	assert_int_equal(cnt, 20000);
	virtio_pci_kick(&r->vp, 0);
	assert_int_equal(used_idx(r, 0), 1);
	assert_int_equal(irqs(r, 1), 1);
	/* Coalesced: one I/O-thread wakeup processes everything, the next finds nothing. */
	for (unsigned int i = 0; i < 20000; i++)
		notify(r, 0);
	assert_int_equal(io_step(r), 1);
	assert_int_equal(io_step(r), 0);
	assert_int_equal(used_idx(r, 0), 1);
	/* Nothing grew. */
	assert_int_equal(open_fds(), fds);
	assert_int_equal(r->mmio.nr, ranges);
	assert_int_equal(r->nr_ioev, r->vd->nr_queues);
	assert_int_equal(r->vp.msix.pba[0], 0);
	/* Kicks with any width and value, to every notify slot. */
	for (unsigned int off = 0; off < 0x1000; off += 2)
		bar_wr(r, VIRTIO_PCI_NOTIFY + off, off % 4 ? 2 : 4, 0xdeadbeef);
	assert_int_equal(io_step(r), 1);
	assert_int_equal(status_rd(r) & ST_NEEDS_RESET, 0);
}

/* ---- INTx and the ISR ---- */

static void test_isr_intx(void **state)
{
	struct rig *r = *state;

	driver_init(r, VIRTIO_BIT(VIRTIO_F_VERSION_1), false);
	assert_false(msix_enabled(&r->vp.msix));
	io_step(r);
	bar_rd(r, VIRTIO_PCI_ISR, 1);
	assert_int_equal(r->intx_level, 0);
	rng_request(r, 8);
	notify(r, 0);
	io_step(r);
	assert_int_equal(used_idx(r, 0), 1);
	/* The line is up, on the slot's GSI, and the PCI status says so. */
	assert_int_equal(r->intx_level, 1);
	assert_int_equal(r->intx_gsi, pci_intx_gsi(RIG_SLOT));
	assert_true(cfg_rd(r, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	/* Reading the ISR returns the queue bit and lowers the line. */
	assert_int_equal(bar_rd(r, VIRTIO_PCI_ISR, 1), 1);
	assert_int_equal(r->intx_level, 0);
	assert_false(cfg_rd(r, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	assert_int_equal(bar_rd(r, VIRTIO_PCI_ISR, 1), 0);
	/* A configuration change: bit 1. */
	virtio_dev_lock(r->vd);
	virtio_dev_config_changed(r->vd);
	virtio_dev_unlock(r->vd);
	assert_int_equal(r->intx_level, 1);
	assert_int_equal(bar_rd(r, CC_CFG_GEN, 1), r->vd->config_generation & 0xff);
	assert_int_equal(bar_rd(r, VIRTIO_PCI_ISR, 4), 2);
	assert_int_equal(r->intx_level, 0);
	/* INTX_DISABLE: the ISR still records, the line stays low. */
	cfg_wr(r, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_INTX_DISABLE);
	rng_request(r, 8);
	notify(r, 0);
	io_step(r);
	assert_int_equal(used_idx(r, 0), 2);
	assert_int_equal(r->intx_level, 0);
	assert_int_equal(bar_rd(r, VIRTIO_PCI_ISR, 1), 1);
	/* With MSI-X enabled the ISR is not used. */
	cfg_wr(r, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	msix_setup(r, 2);
	bar_wr(r, CC_Q_SELECT, 2, 0);
	bar_wr(r, CC_Q_MSIX, 2, 1);
	rng_request(r, 8);
	notify(r, 0);
	io_step(r);
	assert_int_equal(r->intx_level, 0);
	assert_int_equal(bar_rd(r, VIRTIO_PCI_ISR, 1), 0);
	assert_true(irqs(r, 1) >= 1);
	/* Reset deasserts a raised line. */
	cfg_wr(r, rig_msix_cap(r) + 2, 2, 0);
	rng_request(r, 8);
	notify(r, 0);
	io_step(r);
	assert_int_equal(r->intx_level, 1);
	status_wr(r, 0);
	assert_int_equal(r->intx_level, 0);
	assert_int_equal(bar_rd(r, VIRTIO_PCI_ISR, 1), 0);
}

/* ---- VIRTIO_PCI_CAP_PCI_CFG ---- */

static unsigned int find_vcap(struct rig *r, unsigned int type)
{
	for (unsigned int c = cfg_rd(r, PCI_CAPABILITY_LIST, 1); c; c = cfg_rd(r, c + 1, 1))
		if (cfg_rd(r, c, 1) == PCI_CAP_ID_VNDR && cfg_rd(r, c + 3, 1) == type)
			return c;
	fail_msg("no virtio capability %u", type);
	return 0;
}

static void win_set(struct rig *r, unsigned int c, uint8_t bar, uint32_t off, uint32_t len)
{
	cfg_wr(r, c + 4, 1, bar);
	cfg_wr(r, c + 8, 4, off);
	cfg_wr(r, c + 12, 4, len);
}

static void test_pci_cfg_window(void **state)
{
	struct rig *r = *state;
	unsigned int c = find_vcap(r, 5);

	/* Status through the window: write, read back. */
	win_set(r, c, 0, CC_STATUS, 1);
	cfg_wr(r, c + 16, 4, ST_ACK);
	assert_int_equal(status_rd(r), ST_ACK);
	cfg_wr(r, c + 16, 1, ST_ACK | ST_DRIVER);
	assert_int_equal(status_rd(r), ST_ACK | ST_DRIVER);
	assert_int_equal(cfg_rd(r, c + 16, 1), ST_ACK | ST_DRIVER);
	assert_int_equal(cfg_rd(r, c + 16, 4) & 0xff, ST_ACK | ST_DRIVER);
	/* The fields read back as written. */
	assert_int_equal(cfg_rd(r, c + 4, 1), 0);
	assert_int_equal(cfg_rd(r, c + 8, 4), CC_STATUS);
	assert_int_equal(cfg_rd(r, c + 12, 4), 1);
	/* Feature words: select, then read, through the window (4 bytes). */
	win_set(r, c, 0, CC_DFSELECT, 4);
	cfg_wr(r, c + 16, 4, 1);
	win_set(r, c, 0, CC_DF, 4);
	assert_int_equal(cfg_rd(r, c + 16, 4), 1);
	/* 2 bytes: num_queues. */
	win_set(r, c, 0, CC_NUM_QUEUES, 2);
	assert_int_equal(cfg_rd(r, c + 16, 2), 1);
	/* Bad windows: wrong BAR, bad length, misaligned, past the BAR -- nothing happens. */
	static const struct { uint8_t bar; uint32_t off, len; } bad[] = {
		{ 1, CC_STATUS, 1 }, { 0, CC_STATUS, 3 }, { 0, CC_STATUS, 8 }, { 0, CC_STATUS, 0 },
		{ 0, CC_MSIX_CONFIG + 1, 2 }, { 0, CC_STATUS, 4 }, { 0, VIRTIO_PCI_BAR_SIZE, 1 },
		{ 0, 0xffffffff, 1 }, { 0xff, CC_STATUS, 1 },
	};

	for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++) {
		win_set(r, c, bad[i].bar, bad[i].off, bad[i].len);
		cfg_wr(r, c + 16, 4, 0);
		assert_int_equal(status_rd(r), ST_ACK | ST_DRIVER);
	}
	/* Accesses next to the data field do not go through the window. */
	win_set(r, c, 0, CC_STATUS, 1);
	cfg_wr(r, c + 12, 4, 1);
	cfg_wr(r, c + 20, 4, 0);
	assert_int_equal(status_rd(r), ST_ACK | ST_DRIVER);
	/* Reading the ISR through it clears the ISR, as a BAR read does. */
	virtio_dev_lock(r->vd);
	r->vd->status |= ST_DRIVER_OK;
	virtio_dev_config_changed(r->vd);
	virtio_dev_unlock(r->vd);
	assert_int_equal(r->intx_level, 1);
	win_set(r, c, 0, VIRTIO_PCI_ISR, 1);
	assert_int_equal(cfg_rd(r, c + 16, 1), 2);
	assert_int_equal(r->intx_level, 0);
	assert_int_equal(bar_rd(r, VIRTIO_PCI_ISR, 1), 0);
	/* A kick through the window. */
	win_set(r, c, 0, VIRTIO_PCI_NOTIFY, 2);
	cfg_wr(r, c + 16, 2, 0);
	assert_int_equal(io_step(r), 1);
	/* The MSI-X table through the window. */
	win_set(r, c, 0, VIRTIO_PCI_MSIX_TABLE + 8, 4);
	cfg_wr(r, c + 16, 4, 0x4444);
	assert_int_equal(bar_rd(r, VIRTIO_PCI_MSIX_TABLE + 8, 4), 0x4444);
	/* Reset through the window. */
	win_set(r, c, 0, CC_STATUS, 1);
	cfg_wr(r, c + 16, 1, 0);
	assert_int_equal(status_rd(r), 0);
	/* The window works with memory decoding off (that is what it is for). */
	cfg_wr(r, PCI_COMMAND, 2, 0);
	cfg_wr(r, c + 16, 1, ST_ACK);
	assert_int_equal(cfg_rd(r, c + 16, 1), ST_ACK);
	cfg_wr(r, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	assert_int_equal(status_rd(r), ST_ACK);
}

/* ---- the BAR moves: ioeventfds follow ---- */

static bool ioev_at(struct rig *r, uint64_t addr, int efd)
{
	for (unsigned int i = 0; i < r->nr_ioev; i++)
		if (r->ioev[i].addr == addr && r->ioev[i].efd == efd)
			return true;
	return false;
}

static void test_bar_move_ioeventfd(void **state)
{
	struct rig *r = *state;
	uint64_t old = r->bar, new = 0x2000000000ULL;
	int efd = r->vp.kicks[0].efd;
	uint64_t v;

	/* pci_host_add assigned the notify address. */
	assert_int_equal(r->nr_ioev, 1);
	assert_true(ioev_at(r, old + VIRTIO_PCI_NOTIFY, efd));
	/* Decoding off: deassigned; on: assigned again. */
	cfg_wr(r, PCI_COMMAND, 2, 0);
	assert_int_equal(r->nr_ioev, 0);
	assert_int_equal(r->deassigns, 1);
	assert_false(bus_access(&r->mmio, old + CC_STATUS, &v, 1, false));
	cfg_wr(r, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	assert_true(ioev_at(r, old + VIRTIO_PCI_NOTIFY, efd));
	/* The guest moves the BAR (high dword first, then low, as Linux may). */
	cfg_wr(r, PCI_BAR0 + 4, 4, new >> 32);
	cfg_wr(r, PCI_BAR0, 4, (uint32_t)new);
	assert_int_equal(r->vp.pci.bars[0].mapped, new);
	assert_int_equal(r->nr_ioev, 1);
	assert_true(ioev_at(r, new + VIRTIO_PCI_NOTIFY, efd));
	assert_false(ioev_at(r, old + VIRTIO_PCI_NOTIFY, efd));
	assert_false(bus_access(&r->mmio, old + CC_NUM_QUEUES, &v, 2, false));
	r->bar = new;
	assert_int_equal(bar_rd(r, CC_NUM_QUEUES, 2), 1);
	/* Kicks through MMIO at the new address work. */
	driver_init(r, VIRTIO_BIT(VIRTIO_F_VERSION_1), true);
	io_step(r);
	rng_request(r, 8);
	notify(r, 0);
	assert_int_equal(io_step(r), 1);
	assert_int_equal(used_idx(r, 0), 1);
	/* KVM refusing the ioeventfd: the MMIO path still kicks. */
	r->ioev_fail = ENOSPC;
	cfg_wr(r, PCI_BAR0 + 4, 4, 0x30);
	assert_int_equal(r->nr_ioev, 0);
	assert_false(r->vp.kicks[0].ioev_on);
	r->bar = 0x3000000000ULL | (uint32_t)new;
	r->ioev_fail = 0;
	rng_request(r, 8);
	notify(r, 0);
	assert_int_equal(io_step(r), 1);
	assert_int_equal(used_idx(r, 0), 2);
	/* Moving on from there deassigns nothing it did not assign. */
	r->deassigns = 0;
	cfg_wr(r, PCI_BAR0 + 4, 4, 0x20);
	assert_int_equal(r->deassigns, 0);
	assert_true(ioev_at(r, new + VIRTIO_PCI_NOTIFY, efd));
	/* destroy deassigns what is live. */
	virtio_pci_destroy(&r->vp);
	assert_int_equal(r->nr_ioev, 0);
	/* (teardown's second destroy is a no-op) */
}

/* ---- save / restore ---- */

static void test_save_restore(void **state)
{
	struct rig *r = *state;
	struct virtio_pci_state s, s2, bad;

	driver_init(r, F_ALL, true);
	bar_wr(r, CC_DFSELECT, 4, 1);
	bar_wr(r, CC_GFSELECT, 4, 1);
	bar_wr(r, CC_Q_SELECT, 2, 7);
	virtio_pci_save(&r->vp, &s);
	assert_int_equal(s.features, F_ALL);
	assert_int_equal(s.status, ST_ACK | ST_DRIVER | ST_FEATURES_OK | ST_DRIVER_OK);
	assert_int_equal(s.msix_config, 0);
	assert_int_equal(s.queue_msix[0], 1);
	assert_int_equal(s.queue_msix[1], 0);
	assert_int_equal(s.queue_sel, 7);
	/* Reset, then restore: the driver sees the same registers. */
	status_wr(r, 0);
	assert_int_equal(virtio_pci_restore(&r->vp, &s), 0);
	virtio_pci_save(&r->vp, &s2);
	assert_memory_equal(&s, &s2, sizeof(s));
	assert_int_equal(status_rd(r), ST_ACK | ST_DRIVER | ST_FEATURES_OK | ST_DRIVER_OK);
	assert_int_equal(bar_rd(r, CC_DFSELECT, 4), 1);
	assert_int_equal(bar_rd(r, CC_GF, 4), 1);
	assert_int_equal(bar_rd(r, CC_MSIX_CONFIG, 2), 0);
	bar_wr(r, CC_Q_SELECT, 2, 0);
	assert_int_equal(bar_rd(r, CC_Q_MSIX, 2), 1);
	/* Bad states are refused, nothing changes. */
	status_wr(r, 0);
	virtio_pci_save(&r->vp, &s2);
	bad = s; bad.reserved[0] = 1;
	assert_int_equal(virtio_pci_restore(&r->vp, &bad), -EINVAL);
	bad = s; bad.reserved[1] = 1;
	assert_int_equal(virtio_pci_restore(&r->vp, &bad), -EINVAL);
	bad = s; bad.reserved2 = 1;
	assert_int_equal(virtio_pci_restore(&r->vp, &bad), -EINVAL);
	bad = s; bad.isr = 4;
	assert_int_equal(virtio_pci_restore(&r->vp, &bad), -EINVAL);
	bad = s; bad.features |= VIRTIO_BIT(0);
	assert_int_equal(virtio_pci_restore(&r->vp, &bad), -EINVAL);
	bad = s; bad.msix_config = 2;
	assert_int_equal(virtio_pci_restore(&r->vp, &bad), -EINVAL);
	bad = s; bad.queue_msix[0] = 2;
	assert_int_equal(virtio_pci_restore(&r->vp, &bad), -EINVAL);
	bad = s; bad.queue_msix[1] = MSIX_NO_VECTOR;    /* a queue that does not exist */
	assert_int_equal(virtio_pci_restore(&r->vp, &bad), -EINVAL);
	bad = s; bad.queue_msix[VIRTIO_PCI_MAX_QUEUES - 1] = 1;
	assert_int_equal(virtio_pci_restore(&r->vp, &bad), -EINVAL);
	bad = s; bad.status = ST_DRIVER_OK | ST_ACK | ST_DRIVER;   /* DRIVER_OK, no FEATURES_OK */
	assert_int_equal(virtio_pci_restore(&r->vp, &bad), -EINVAL);
	bad = s; bad.features = VIRTIO_BIT(VIRTIO_F_EVENT_IDX);     /* FEATURES_OK, no VERSION_1 */
	assert_int_equal(virtio_pci_restore(&r->vp, &bad), -EINVAL);
	virtio_pci_save(&r->vp, &bad);
	assert_memory_equal(&s2, &bad, sizeof(bad));
	/* NO_VECTOR everywhere is fine; so is a device that needs a reset. */
	bad = s; bad.msix_config = MSIX_NO_VECTOR; bad.queue_msix[0] = MSIX_NO_VECTOR;
	bad.status |= ST_NEEDS_RESET;
	assert_int_equal(virtio_pci_restore(&r->vp, &bad), 0);
	assert_true(status_rd(r) & ST_NEEDS_RESET);
	/* A pending ISR comes back and reads (and clears) as before. */
	status_wr(r, 0);
	cfg_wr(r, rig_msix_cap(r) + 2, 2, 0);
	bad = s; bad.isr = 3;
	assert_int_equal(virtio_pci_restore(&r->vp, &bad), 0);
	assert_int_equal(bar_rd(r, VIRTIO_PCI_ISR, 1), 3);
	assert_int_equal(bar_rd(r, VIRTIO_PCI_ISR, 1), 0);
	/* Any state the driver can reach round-trips: here, unoffered features written
	 * and FEATURES_OK refused. */
	status_wr(r, 0);
	status_wr(r, ST_ACK | ST_DRIVER);
	driver_features(r, VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(3));
	status_wr(r, ST_ACK | ST_DRIVER | ST_FEATURES_OK);
	assert_int_equal(status_rd(r), ST_ACK | ST_DRIVER);
	virtio_pci_save(&r->vp, &s);
	status_wr(r, 0);
	assert_int_equal(virtio_pci_restore(&r->vp, &s), 0);
	virtio_pci_save(&r->vp, &s2);
	assert_memory_equal(&s, &s2, sizeof(s));
	/* ...and so does DRIVER_OK without FEATURES_OK once it set DEVICE_NEEDS_RESET. */
	status_wr(r, ST_ACK | ST_DRIVER | ST_DRIVER_OK);
	virtio_pci_save(&r->vp, &s);
	assert_true(s.status & ST_NEEDS_RESET);
	status_wr(r, 0);
	assert_int_equal(virtio_pci_restore(&r->vp, &s), 0);
	assert_int_equal(status_rd(r), ST_ACK | ST_DRIVER | ST_DRIVER_OK | ST_NEEDS_RESET);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup_rng, rig_teardown)
#define S(fn) cmocka_unit_test_setup_teardown(fn, setup_slow, rig_teardown)
	const struct CMUnitTest tests[] = {
		T(test_header_and_caps),
		T(test_init_and_request),
		T(test_feature_select),
		T(test_features_ok_refused),
		T(test_queue_sel_out_of_range),
		S(test_device_config_bounds),
		T(test_msix_vector_beyond_table),
		T(test_driver_ok_without_features_ok),
		T(test_bad_queue_layout),
		S(test_reset_in_flight),
		T(test_notify_storm),
		T(test_isr_intx),
		T(test_pci_cfg_window),
		T(test_bar_move_ioeventfd),
		T(test_save_restore),
	};

	log_set_level(LOG_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
