// SPDX-License-Identifier: GPL-2.0-only
/*
 * virtio-rng and virtio-console behind the virtio-pci transport, driven as a
 * guest driver would (tests/unit/vpci_rig.h): what lands in the guest's
 * buffers and used rings, what reaches the console's output pipe, and that a
 * stalled reader never blocks the device.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "log.h"
#include "util.h"
#include "virtio/console.h"
#include "virtio/rng.h"

#include "vpci_rig.h"

#define W       VIRTQ_DESC_F_WRITE
#define RXQ     0
#define TXQ     1
#define V1      VIRTIO_BIT(VIRTIO_F_VERSION_1)

struct cfix {
	struct rig r;
	int pipe[2];            /* [0]: our (non-blocking) reader, [1]: the console's output */
	bool timed_out;
};

static int rng_create(struct virtio_dev **out, const struct virtio_env *env, void *arg)
{
	(void)arg;
	return virtio_rng_create(out, env);
}

static int con_create(struct virtio_dev **out, const struct virtio_env *env, void *arg)
{
	return virtio_console_create(out, env, *(int *)arg);
}

static int setup_rng(void **state)
{
	return rig_setup(state, 16 * MiB, rng_create, NULL);
}

/* The real layout of a 6 GiB guest, lazily backed: RAM [0, 3 GiB) and [4 GiB, 7 GiB). */
static int setup_rng_big(void **state)
{
	return rig_setup(state, 6 * GiB, rng_create, NULL);
}

static int setup_con(void **state)
{
	struct cfix *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	alarm(60);
	assert_int_equal(pipe2(f->pipe, O_CLOEXEC), 0);
	assert_int_equal(fcntl(f->pipe[0], F_SETFL, O_NONBLOCK), 0);
	assert_true(fcntl(f->pipe[1], F_SETPIPE_SZ, 4096) >= 4096);
	rig_init(&f->r, 16 * MiB, con_create, &f->pipe[1]);
	*state = f;
	return 0;
}

static int teardown_con(void **state)
{
	struct cfix *f = *state;

	rig_fini(&f->r);
	if (f->pipe[0] >= 0)
		close(f->pipe[0]);
	close(f->pipe[1]);
	free(f);
	alarm(0);
	return 0;
}

/* ---- virtio-rng ---- */

static bool varied(const uint8_t *p, size_t n)
{
	for (size_t i = 1; i < n; i++)
		if (p[i] != p[0])
			return true;
	return false;
}

static void test_rng_request(void **state)
{
	struct rig *r = *state;
	gpa_t a, b, c;

	driver_init(r, V1, true);
	io_step(r);
	irqs(r, 1);
	a = galloc(r, 4096, 0);
	b = galloc(r, 4096, 0);
	publish(r, 0, &(struct tdesc){ a, 4096, W }, 1);
	publish(r, 0, &(struct tdesc){ b, 4096, W }, 1);
	notify(r, 0);
	assert_int_equal(io_step(r), 1);
	assert_int_equal(used_idx(r, 0), 2);
	assert_int_equal(used_elem(r, 0, 0).len, 4096);
	assert_int_equal(used_elem(r, 0, 1).len, 4096);
	assert_true(varied(gp(r, a, 4096), 4096));
	assert_true(varied(gp(r, b, 4096), 4096));
	assert_memory_not_equal(gp(r, a, 4096), gp(r, b, 4096), 4096);
	assert_true(irqs(r, 1) >= 1);
	/* Zero-length and tiny buffers. */
	c = galloc(r, 8, 0xcc);
	submit(r, 0, (struct tdesc[]){ { c, 0, W }, { c + 4, 1, W } }, 2);
	assert_int_equal(used_idx(r, 0), 3);
	assert_int_equal(used_elem(r, 0, 2).len, 1);
	assert_int_equal(*(uint8_t *)gp(r, c, 1), 0xcc);
	assert_int_equal(*(uint8_t *)gp(r, c + 5, 1), 0xcc);
}

static void test_rng_readable_only(void **state)
{
	struct rig *r = *state;
	gpa_t a = galloc(r, 256, 0x11), b = galloc(r, 256, 0x22);

	driver_init(r, V1, true);
	io_step(r);
	submit(r, 0, (struct tdesc[]){ { a, 256, 0 }, { b, 256, 0 } }, 2);
	assert_int_equal(used_idx(r, 0), 1);
	assert_int_equal(used_elem(r, 0, 0).len, 0);
	for (unsigned int i = 0; i < 256; i++) {
		assert_int_equal(((uint8_t *)gp(r, a, 256))[i], 0x11);
		assert_int_equal(((uint8_t *)gp(r, b, 256))[i], 0x22);
	}
	/* A readable buffer before writable ones: only the writable part counts. */
	submit(r, 0, (struct tdesc[]){ { a, 256, 0 }, { b, 256, W } }, 2);
	assert_int_equal(used_idx(r, 0), 2);
	assert_int_equal(used_elem(r, 0, 1).len, 256);
	assert_int_equal(((uint8_t *)gp(r, a, 256))[100], 0x11);
	assert_int_equal(status_rd(r) & ST_NEEDS_RESET, 0);
}

/* Huge chains in a 6 GiB guest: the addresses are never written beyond 64 KiB. */
static void test_rng_huge_chains(void **state)
{
	struct rig *r = *state;
	const gpa_t base = 0x10000000ULL;       /* 256 MiB, in the low RAM region */
	uint8_t *p = gp(r, base, 3 * GiB - base);

	driver_init(r, V1, true);
	io_step(r);
	irqs(r, 0);
	/* 4 GiB - 1 in three buffers: accepted, capped at VIRTIO_RNG_MAX_REQUEST. */
	submit(r, 0, (struct tdesc[]){ { base, 1 * GiB, W }, { base, 1 * GiB, W },
					{ base, 2 * GiB - 1, W } }, 3);
	assert_int_equal(used_idx(r, 0), 1);
	assert_int_equal(used_elem(r, 0, 0).len, VIRTIO_RNG_MAX_REQUEST);
	assert_true(varied(p, VIRTIO_RNG_MAX_REQUEST));
	assert_true(varied(p + VIRTIO_RNG_MAX_REQUEST - 64, 64));
	for (unsigned int i = 0; i < 4096; i++)
		assert_int_equal(p[VIRTIO_RNG_MAX_REQUEST + i], 0);
	/* Many buffers, each under the cap, adding up past it. */
	memset(p, 0, VIRTIO_RNG_MAX_REQUEST);
	struct tdesc many[40];

	for (unsigned int i = 0; i < ARRAY_SIZE(many); i++)
		many[i] = (struct tdesc){ base + i * 0x1000ULL * 2, 0x2000, W };
	publish(r, 0, many, ARRAY_SIZE(many));
	notify(r, 0);
	io_step(r);
	assert_int_equal(used_idx(r, 0), 2);
	assert_int_equal(used_elem(r, 0, 1).len, VIRTIO_RNG_MAX_REQUEST);
	assert_true(varied(p + 0xe000, 0x2000));        /* buffer 7, the last one filled */
	for (unsigned int i = 0; i < 0x2000; i++)
		assert_int_equal(p[0x10000 + i], 0);     /* buffer 8: untouched */
	assert_int_equal(status_rd(r) & ST_NEEDS_RESET, 0);
	/* Exactly 4 GiB: the virtq refuses the chain, the device needs a reset. */
	memset(p, 0, VIRTIO_RNG_MAX_REQUEST);
	submit(r, 0, (struct tdesc[]){ { base, 1 * GiB, W }, { base, 1 * GiB, W },
					{ base, 1 * GiB, W }, { base, 1 * GiB, W } }, 4);
	assert_int_equal(used_idx(r, 0), 2);
	assert_true(status_rd(r) & ST_NEEDS_RESET);
	assert_int_equal(irqs(r, 0), 1);                /* a config-change interrupt */
	assert_false(varied(p, VIRTIO_RNG_MAX_REQUEST));
	assert_int_equal(p[0], 0);
	/* Nothing more until a reset. */
	notify(r, 0);
	io_step(r);
	assert_int_equal(used_idx(r, 0), 2);
	/* After a reset, 2 x 2 GiB (more than 4 GiB, in two descriptors) is refused just as well. */
	driver_init(r, V1, true);
	io_step(r);
	irqs(r, 0);
	submit(r, 0, (struct tdesc[]){ { base, 2 * GiB, W }, { base, 2 * GiB + 4096, W } }, 2);
	assert_int_equal(used_idx(r, 0), 0);
	assert_true(status_rd(r) & ST_NEEDS_RESET);
	assert_int_equal(p[0], 0);
}

/* ---- virtio-console ---- */

static size_t drain(struct cfix *f, uint8_t *buf, size_t max)
{
	size_t got = 0;

	for (;;) {
		ssize_t n = read(f->pipe[0], buf ? buf + got : (uint8_t[4096]){ 0 },
				 buf ? max - got : 4096);

		if (n <= 0)
			break;
		got += n;
		if (buf && got == max)
			break;
	}
	return got;
}

static void stop_cb(void *opaque, uint32_t events)
{
	struct cfix *f = opaque;
	uint64_t n;

	(void)events;
	if (read(f->r.vp.msix.vec[TXQ + 1].efd, &n, sizeof(n)) < 0)
		return;
	evloop_stop(&f->r.ev);
}

static void watchdog_cb(void *opaque, uint32_t events)
{
	struct cfix *f = opaque;

	(void)events;
	f->timed_out = true;
	evloop_stop(&f->r.ev);
}

/* Run the I/O thread's loop until the transmit queue interrupts (5 s at most). */
static void run_until_tx_irq(struct cfix *f)
{
	struct itimerspec five = { .it_value = { 5, 0 } };
	int efd = f->r.vp.msix.vec[TXQ + 1].efd;
	int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);

	assert_true(tfd >= 0);
	assert_int_equal(timerfd_settime(tfd, 0, &five, NULL), 0);
	assert_int_equal(evloop_add(&f->r.ev, efd, EPOLLIN, stop_cb, f), 0);
	assert_int_equal(evloop_add(&f->r.ev, tfd, EPOLLIN, watchdog_cb, f), 0);
	f->r.ev.stop = false;
	assert_int_equal(evloop_run(&f->r.ev), 0);
	evloop_del(&f->r.ev, efd);
	evloop_del(&f->r.ev, tfd);
	close(tfd);
	assert_false(f->timed_out);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static gpa_t put(struct rig *r, const void *data, size_t len)
{
	gpa_t g = galloc(r, len, 0);

	memcpy(gp(r, g, len), data, len);
	return g;
}

static void test_console_tx(void **state)
{
	struct cfix *f = *state;
	struct rig *r = &f->r;
	uint8_t out[64];
	gpa_t a = put(r, "hello, ", 7), b = put(r, "world\n", 6);

	driver_init(r, V1, true);
	io_step(r);
	irqs(r, TXQ + 1);
	publish(r, TXQ, (struct tdesc[]){ { a, 7, 0 }, { b, 6, 0 } }, 2);
	notify(r, TXQ);
	assert_int_equal(io_step(r), 1);
	assert_int_equal(drain(f, out, sizeof(out)), 13);
	assert_memory_equal(out, "hello, world\n", 13);
	assert_int_equal(used_idx(r, TXQ), 1);
	assert_int_equal(used_elem(r, TXQ, 0).len, 0);
	assert_true(irqs(r, TXQ + 1) >= 1);
	assert_int_equal(virtio_console_written(r->vd), 13);
	/* Writable buffers in a transmit chain are ignored. */
	submit(r, TXQ, (struct tdesc[]){ { a, 7, 0 }, { b, 6, W } }, 2);
	assert_int_equal(drain(f, out, sizeof(out)), 7);
	assert_int_equal(used_idx(r, TXQ), 2);
	/* The reader goes away: output is dropped, the guest keeps going (no SIGPIPE death). */
	close(f->pipe[0]);
	f->pipe[0] = -1;
	submit(r, TXQ, (struct tdesc[]){ { a, 7, 0 } }, 1);
	assert_int_equal(used_idx(r, TXQ), 3);
	assert_int_equal(status_rd(r) & ST_NEEDS_RESET, 0);
}

static void test_console_tx_stall(void **state)
{
	struct cfix *f = *state;
	struct rig *r = &f->r;
	static uint8_t big[6000], out[8192];
	uint64_t first;
	gpa_t a, b;
	double t0;
	size_t got;

	for (unsigned int i = 0; i < sizeof(big); i++)
		big[i] = 'a' + i % 26;
	a = put(r, big, sizeof(big));
	b = put(r, "0123456789", 10);
	driver_init(r, V1, true);
	io_step(r);
	irqs(r, TXQ + 1);
	/* 6000 bytes into a 4 KiB pipe nobody reads: the kick returns at once. */
	publish(r, TXQ, (struct tdesc[]){ { a, 3000, 0 }, { a + 3000, 3000, 0 } }, 2);
	notify(r, TXQ);
	t0 = now();
	assert_int_equal(io_step(r), 1);
	assert_true(now() - t0 < 1.0);
	first = virtio_console_written(r->vd);
	assert_true(first > 0 && first <= 4096);
	assert_int_equal(used_idx(r, TXQ), 0);
	/* More output meanwhile: queued behind the stalled chain, nothing written. */
	publish(r, TXQ, (struct tdesc[]){ { b, 10, 0 } }, 1);
	notify(r, TXQ);
	t0 = now();
	io_step(r);
	assert_true(now() - t0 < 1.0);
	assert_int_equal(virtio_console_written(r->vd), first);
	assert_int_equal(used_idx(r, TXQ), 0);
	/* Input is not held up by stalled output. */
	submit(r, RXQ, (struct tdesc[]){ { galloc(r, 16, 0), 16, W } }, 1);
	assert_int_equal(virtio_console_input(r->vd, (const uint8_t *)"k", 1), 1);
	assert_int_equal(used_idx(r, RXQ), 1);
	/* The reader drains; EPOLLOUT on the I/O thread's loop resumes the output. */
	got = drain(f, out, sizeof(out));
	assert_int_equal(got, first);
	irqs(r, TXQ + 1);
	run_until_tx_irq(f);
	got += drain(f, out + got, sizeof(out) - got);
	assert_int_equal(got, 6010);
	assert_memory_equal(out, big, 6000);
	assert_memory_equal(out + 6000, "0123456789", 10);
	assert_int_equal(used_idx(r, TXQ), 2);
	assert_int_equal(virtio_console_written(r->vd), 6010);
	/* Once done, EPOLLOUT is no longer armed: the loop has nothing to report. */
	struct epoll_event ev[4];

	assert_int_equal(epoll_wait(r->ev.epfd, ev, 4, 0), 0);
}

static void test_console_reset_while_stalled(void **state)
{
	struct cfix *f = *state;
	struct rig *r = &f->r;
	static uint8_t big[8000], out[8192];
	struct epoll_event ev[4];
	gpa_t a, b;

	memset(big, 'x', sizeof(big));
	a = put(r, big, sizeof(big));
	b = put(r, "after", 5);
	driver_init(r, V1, true);
	io_step(r);
	submit(r, TXQ, (struct tdesc[]){ { a, sizeof(big), 0 } }, 1);
	assert_int_equal(virtio_console_written(r->vd), 4096);
	/* The driver resets the device: the stalled chain is dropped. */
	status_wr(r, 0);
	assert_int_equal(drain(f, out, sizeof(out)), 4096);
	assert_int_equal(epoll_wait(r->ev.epfd, ev, 4, 0), 0);      /* EPOLLOUT disarmed */
	assert_int_equal(virtio_console_written(r->vd), 4096);
	/* A new session's output goes out alone. */
	driver_init(r, V1, true);
	io_step(r);
	submit(r, TXQ, (struct tdesc[]){ { b, 5, 0 } }, 1);
	assert_int_equal(drain(f, out, sizeof(out)), 5);
	assert_memory_equal(out, "after", 5);
	assert_int_equal(used_idx(r, TXQ), 1);
}

static void test_console_rx(void **state)
{
	struct cfix *f = *state;
	struct rig *r = &f->r;
	gpa_t b1 = galloc(r, 8, 0xee), b2 = galloc(r, 8, 0xee), b3 = galloc(r, 8, 0xee);

	/* Before the driver is up: buffered. */
	assert_int_equal(virtio_console_input_space(r->vd), VIRTIO_CONSOLE_INBUF);
	assert_int_equal(virtio_console_input(r->vd, (const uint8_t *)"abc", 3), 3);
	assert_int_equal(virtio_console_input_space(r->vd), VIRTIO_CONSOLE_INBUF - 3);
	driver_init(r, V1, true);
	io_step(r);
	irqs(r, RXQ + 1);
	assert_int_equal(used_idx(r, RXQ), 0);
	/* The driver posts receive buffers and kicks: the buffered input arrives. */
	publish(r, RXQ, &(struct tdesc){ b1, 8, W }, 1);
	submit(r, RXQ, &(struct tdesc){ b2, 8, W }, 1);
	assert_int_equal(used_idx(r, RXQ), 1);
	assert_int_equal(used_elem(r, RXQ, 0).len, 3);
	assert_memory_equal(gp(r, b1, 4), "abc\xee", 4);
	assert_true(irqs(r, RXQ + 1) >= 1);
	assert_int_equal(virtio_console_input_space(r->vd), VIRTIO_CONSOLE_INBUF);
	/* Input larger than the posted buffer: the rest waits. */
	assert_int_equal(virtio_console_input(r->vd, (const uint8_t *)"0123456789AB", 12), 12);
	assert_int_equal(used_idx(r, RXQ), 2);
	assert_int_equal(used_elem(r, RXQ, 1).len, 8);
	assert_memory_equal(gp(r, b2, 8), "01234567", 8);
	assert_int_equal(virtio_console_input_space(r->vd), VIRTIO_CONSOLE_INBUF - 4);
	submit(r, RXQ, &(struct tdesc){ b3, 8, W }, 1);
	assert_int_equal(used_idx(r, RXQ), 3);
	assert_int_equal(used_elem(r, RXQ, 2).len, 4);
	assert_memory_equal(gp(r, b3, 5), "89AB\xee", 5);
	/* A receive buffer with no writable part takes nothing. */
	publish(r, RXQ, &(struct tdesc){ b1, 8, 0 }, 1);
	publish(r, RXQ, &(struct tdesc){ b2, 8, W }, 1);
	assert_int_equal(virtio_console_input(r->vd, (const uint8_t *)"xy", 2), 2);
	assert_int_equal(used_idx(r, RXQ), 5);
	assert_int_equal(used_elem(r, RXQ, 3).len, 0);
	assert_int_equal(used_elem(r, RXQ, 4).len, 2);
	assert_memory_equal(gp(r, b2, 2), "xy", 2);
	assert_int_equal(status_rd(r) & ST_NEEDS_RESET, 0);
}

static void test_console_input_space(void **state)
{
	struct cfix *f = *state;
	struct rig *r = &f->r;
	static uint8_t lots[VIRTIO_CONSOLE_INBUF + 1000];
	gpa_t buf = galloc(r, 8192, 0);
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	uint64_t n;

	assert_true(efd >= 0);
	virtio_console_set_space_efd(r->vd, efd);
	memset(lots, 'z', sizeof(lots));
	driver_init(r, V1, true);
	io_step(r);
	/* No receive buffers: the input buffer fills, then refuses. */
	assert_int_equal(virtio_console_input(r->vd, lots, sizeof(lots)), VIRTIO_CONSOLE_INBUF);
	assert_int_equal(virtio_console_input_space(r->vd), 0);
	assert_int_equal(virtio_console_input(r->vd, lots, 1), 0);
	assert_int_equal(virtio_console_input(r->vd, lots, 0), 0);
	assert_int_equal(read(efd, &n, sizeof(n)), -1);         /* not signalled yet */
	/* The guest takes some: space comes back, and the space eventfd says so. */
	submit(r, RXQ, &(struct tdesc){ buf, 1000, W }, 1);
	assert_int_equal(used_elem(r, RXQ, 0).len, 1000);
	assert_int_equal(virtio_console_input_space(r->vd), 1000);
	assert_int_equal(read(efd, &n, sizeof(n)), sizeof(n));
	assert_int_equal(n, 1);
	/* Not signalled again while there is room. */
	submit(r, RXQ, &(struct tdesc){ buf, 100, W }, 1);
	assert_int_equal(virtio_console_input_space(r->vd), 1100);
	assert_int_equal(read(efd, &n, sizeof(n)), -1);
	/* Everything delivered in order. */
	submit(r, RXQ, &(struct tdesc){ buf, 8192, W }, 1);
	assert_int_equal(used_elem(r, RXQ, 2).len, VIRTIO_CONSOLE_INBUF - 1100);
	assert_int_equal(virtio_console_input_space(r->vd), VIRTIO_CONSOLE_INBUF);
	virtio_console_set_space_efd(r->vd, -1);
	close(efd);
}

static void test_console_config(void **state)
{
	struct cfix *f = *state;
	struct rig *r = &f->r;
	uint8_t out[8];

	assert_true(device_features(r) & VIRTIO_BIT(VIRTIO_CONSOLE_F_EMERG_WRITE));
	assert_false(device_features(r) & VIRTIO_BIT(VIRTIO_CONSOLE_F_SIZE));
	assert_int_equal(bar_rd(r, VIRTIO_PCI_DEVICE + 0, 2), 80);
	assert_int_equal(bar_rd(r, VIRTIO_PCI_DEVICE + 2, 2), 25);
	assert_int_equal(bar_rd(r, VIRTIO_PCI_DEVICE + 4, 4), 1);
	assert_int_equal(bar_rd(r, VIRTIO_PCI_DEVICE + 8, 4), 0);
	assert_int_equal(bar_rd(r, VIRTIO_PCI_DEVICE + 12, 4), 0);        /* past the end */
	assert_int_equal(bar_rd(r, VIRTIO_PCI_DEVICE + 10, 4), 0);
	/* emerg_wr without the feature: nothing. */
	driver_init(r, V1, true);
	bar_wr(r, VIRTIO_PCI_DEVICE + 8, 4, 'X');
	assert_int_equal(drain(f, out, sizeof(out)), 0);
	/* With it: one character, straight out; other widths/offsets do nothing. */
	driver_init(r, V1 | VIRTIO_BIT(VIRTIO_CONSOLE_F_EMERG_WRITE), true);
	bar_wr(r, VIRTIO_PCI_DEVICE + 8, 4, 'X');
	bar_wr(r, VIRTIO_PCI_DEVICE + 8, 1, 'Y');
	bar_wr(r, VIRTIO_PCI_DEVICE + 4, 4, 'Z');
	bar_wr(r, VIRTIO_PCI_DEVICE + 12, 4, 'W');
	assert_int_equal(drain(f, out, sizeof(out)), 1);
	assert_int_equal(out[0], 'X');
	assert_int_equal(bar_rd(r, VIRTIO_PCI_DEVICE + 4, 4), 1);
}

static void test_console_save_restore(void **state)
{
	struct cfix *f = *state;
	struct rig *r = &f->r;
	const struct virtio_dev_ops *ops = r->vd->ops;
	static struct virtio_console_state s, s2, bad;
	gpa_t buf = galloc(r, 16, 0);

	assert_int_equal(ops->state_size, sizeof(s));
	assert_int_equal(virtio_console_input(r->vd, (const uint8_t *)"hello", 5), 5);
	virtio_dev_lock(r->vd);
	ops->save(r->vd, &s);
	virtio_dev_unlock(r->vd);
	assert_int_equal(s.in_len, 5);
	assert_memory_equal(s.in, "hello", 5);
	assert_int_equal(virtio_console_input(r->vd, (const uint8_t *)" world", 6), 6);
	virtio_dev_lock(r->vd);
	assert_int_equal(ops->restore(r->vd, &s), 0);
	ops->save(r->vd, &s2);
	virtio_dev_unlock(r->vd);
	assert_memory_equal(&s, &s2, sizeof(s));
	assert_int_equal(virtio_console_input_space(r->vd), VIRTIO_CONSOLE_INBUF - 5);
	/* Bad states change nothing. */
	bad = s;
	bad.in_len = VIRTIO_CONSOLE_INBUF + 1;
	virtio_dev_lock(r->vd);
	assert_int_equal(ops->restore(r->vd, &bad), -EINVAL);
	bad = s;
	bad.in_len = UINT32_MAX;
	assert_int_equal(ops->restore(r->vd, &bad), -EINVAL);
	bad = s;
	bad.reserved = 1;
	assert_int_equal(ops->restore(r->vd, &bad), -EINVAL);
	ops->save(r->vd, &s2);
	virtio_dev_unlock(r->vd);
	assert_memory_equal(&s, &s2, sizeof(s));
	/* A full buffer round-trips too. */
	bad = s;
	bad.in_len = VIRTIO_CONSOLE_INBUF;
	memset(bad.in, 'q', sizeof(bad.in));
	virtio_dev_lock(r->vd);
	assert_int_equal(ops->restore(r->vd, &bad), 0);
	virtio_dev_unlock(r->vd);
	assert_int_equal(virtio_console_input_space(r->vd), 0);
	/* The restored input reaches the guest. */
	driver_init(r, V1, true);
	submit(r, RXQ, &(struct tdesc){ buf, 16, W }, 1);
	assert_int_equal(used_elem(r, RXQ, 0).len, 16);
	assert_memory_equal(gp(r, buf, 16), "qqqqqqqqqqqqqqqq", 16);
}

int main(void)
{
#define R(fn) cmocka_unit_test_setup_teardown(fn, setup_rng, rig_teardown)
#define C(fn) cmocka_unit_test_setup_teardown(fn, setup_con, teardown_con)
	const struct CMUnitTest tests[] = {
		R(test_rng_request),
		R(test_rng_readable_only),
		cmocka_unit_test_setup_teardown(test_rng_huge_chains, setup_rng_big, rig_teardown),
		C(test_console_tx),
		C(test_console_tx_stall),
		C(test_console_reset_while_stalled),
		C(test_console_rx),
		C(test_console_input_space),
		C(test_console_config),
		C(test_console_save_restore),
	};

	signal(SIGPIPE, SIG_IGN);
	log_set_level(LOG_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
