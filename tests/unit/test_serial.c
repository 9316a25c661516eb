// SPDX-License-Identifier: GPL-2.0-only
/* serial: the 16550A as the guest's driver sees it through its eight ports. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <cmocka.h>

#include "hw/serial.h"
#include "util.h"

enum { RBR = 0, THR = 0, DLL = 0, IER = 1, DLM = 1, IIR = 2, FCR = 2, LCR = 3, MCR = 4,
       LSR = 5, MSR = 6, SCR = 7 };

struct fake_irq {
	unsigned int gsi;
	int level;
	unsigned int raises, calls;
};

static int fake_irq_set(void *ctx, unsigned int gsi, int level)
{
	struct fake_irq *f = ctx;

	f->gsi = gsi;
	f->calls++;
	if (level && !f->level)
		f->raises++;
	f->level = level;
	return 0;
}

struct ctx {
	struct serial s;
	struct fake_irq irq;
	int pipe[2];
	int efd;
};

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));

	if (!c || pipe2(c->pipe, O_NONBLOCK | O_CLOEXEC))
		return -1;
	c->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (c->efd < 0)
		return -1;
	if (serial_init(&c->s, c->pipe[1],
			(struct irq_line){ .set = fake_irq_set, .ctx = &c->irq, .gsi = 4 }))
		return -1;
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	serial_destroy(&c->s);
	close(c->pipe[0]);
	close(c->pipe[1]);
	close(c->efd);
	free(c);
	return 0;
}

static uint8_t rd(struct ctx *c, unsigned int off)
{
	return serial_ops.read(&c->s, off, 1);
}

static void wr(struct ctx *c, unsigned int off, uint8_t v)
{
	serial_ops.write(&c->s, off, 1, v);
}

/* Bytes the UART has sent to its out_fd so far. */
static size_t sent(struct ctx *c, char *buf, size_t max)
{
	ssize_t n = read(c->pipe[0], buf, max);

	if (n < 0) {
		assert_int_equal(errno, EAGAIN);
		return 0;
	}
	return n;
}

static uint64_t efd_count(struct ctx *c)
{
	uint64_t v = 0;

	if (read(c->efd, &v, sizeof(v)) < 0) {
		assert_int_equal(errno, EAGAIN);
		return 0;
	}
	return v;
}

static void test_reset_state(void **state)
{
	struct ctx *c = *state;

	assert_int_equal(rd(c, LSR), 0x60);      /* THRE | TEMT, no data */
	assert_int_equal(rd(c, IIR), 0x01);      /* no interrupt pending, FIFO off */
	assert_int_equal(rd(c, IER), 0x00);
	assert_int_equal(rd(c, LCR), 0x00);
	assert_int_equal(rd(c, MCR), 0x00);
	assert_int_equal(rd(c, MSR), 0xb0);      /* DCD, DSR, CTS */
	assert_int_equal(c->irq.level, 0);
	assert_int_equal(c->irq.raises, 0);
}

static void test_transmit(void **state)
{
	struct ctx *c = *state;
	char buf[16];

	wr(c, THR, 'h');
	wr(c, THR, 'i');
	wr(c, THR, '\n');
	assert_int_equal(sent(c, buf, sizeof(buf)), 3);
	assert_memory_equal(buf, "hi\n", 3);
	/* Transmission is instant: the holding register is empty again. */
	assert_int_equal(rd(c, LSR) & 0x60, 0x60);
	/* Interrupts disabled: the line never rose. */
	assert_int_equal(c->irq.raises, 0);
	assert_int_equal(rd(c, IIR), 0x01);
	/* Writes to the read-only registers change nothing. */
	wr(c, LSR, 0x00);
	wr(c, MSR, 0x00);
	assert_int_equal(rd(c, LSR), 0x60);
	assert_int_equal(rd(c, MSR), 0xb0);
	assert_int_equal(sent(c, buf, sizeof(buf)), 0);
}

static void test_thr_interrupt(void **state)
{
	struct ctx *c = *state;
	char buf[4];

	/* Enabling THRI while the THR is empty raises the interrupt at once. */
	wr(c, IER, 0x02);
	assert_int_equal(c->irq.level, 1);
	assert_int_equal(c->irq.raises, 1);
	assert_int_equal(c->irq.gsi, 4);
	assert_int_equal(rd(c, IER), 0x02);
	/* Reading IIR reports it and acknowledges it. */
	assert_int_equal(rd(c, IIR), 0x02);
	assert_int_equal(c->irq.level, 0);
	assert_int_equal(rd(c, IIR), 0x01);
	/* Each transmitted byte empties the THR again: another interrupt. */
	wr(c, THR, 'x');
	assert_int_equal(c->irq.level, 1);
	assert_int_equal(c->irq.raises, 2);
	assert_int_equal(rd(c, IIR), 0x02);
	assert_int_equal(c->irq.level, 0);
	/* Disabling THRI drops a pending interrupt. */
	wr(c, THR, 'y');
	assert_int_equal(c->irq.level, 1);
	wr(c, IER, 0x00);
	assert_int_equal(c->irq.level, 0);
	assert_int_equal(rd(c, IIR), 0x01);
	assert_int_equal(sent(c, buf, sizeof(buf)), 2);
	/* IER's upper nibble is not writable. */
	wr(c, IER, 0xf0);
	assert_int_equal(rd(c, IER), 0x00);
}

static void test_receive(void **state)
{
	struct ctx *c = *state;

	/* Data with RDI disabled: DR but no interrupt. */
	assert_int_equal(serial_rx(&c->s, (const uint8_t *)"abc", 3), 3);
	assert_int_equal(rd(c, LSR) & 0x01, 0x01);
	assert_int_equal(c->irq.level, 0);
	assert_int_equal(rd(c, IIR), 0x01);
	/* Enabling RDI with data waiting raises it. */
	wr(c, IER, 0x01);
	assert_int_equal(c->irq.level, 1);
	assert_int_equal(rd(c, IIR), 0x04);
	assert_int_equal(c->irq.level, 1);          /* IIR read does not clear RDI */
	/* Bytes come out in order; DR and the interrupt go with the last. */
	assert_int_equal(rd(c, RBR), 'a');
	assert_int_equal(rd(c, LSR) & 0x01, 0x01);
	assert_int_equal(c->irq.level, 1);
	assert_int_equal(rd(c, RBR), 'b');
	assert_int_equal(rd(c, RBR), 'c');
	assert_int_equal(rd(c, LSR) & 0x01, 0x00);
	assert_int_equal(c->irq.level, 0);
	assert_int_equal(rd(c, IIR), 0x01);
	assert_int_equal(rd(c, LSR) & 0x60, 0x60);
	/* New data raises it again. */
	assert_int_equal(serial_rx(&c->s, (const uint8_t *)"z", 1), 1);
	assert_int_equal(c->irq.level, 1);
	assert_int_equal(c->irq.raises, 2);
	assert_int_equal(rd(c, RBR), 'z');
	assert_int_equal(c->irq.level, 0);
}

static void test_interrupt_priority(void **state)
{
	struct ctx *c = *state;

	/* Received data outranks THR empty; THRI shows once RX is drained. */
	wr(c, IER, 0x03);
	assert_int_equal(serial_rx(&c->s, (const uint8_t *)"q", 1), 1);
	assert_int_equal(rd(c, IIR), 0x04);
	assert_int_equal(rd(c, IIR), 0x04);
	assert_int_equal(rd(c, RBR), 'q');
	assert_int_equal(c->irq.level, 1);
	assert_int_equal(rd(c, IIR), 0x02);
	assert_int_equal(c->irq.level, 0);
}

static void test_dlab(void **state)
{
	struct ctx *c = *state;
	char buf[4];

	wr(c, IER, 0x01);
	wr(c, LCR, 0x83);                 /* DLAB, 8N1 */
	assert_int_equal(rd(c, LCR), 0x83);
	wr(c, DLL, 0x0c);                 /* 9600 baud */
	wr(c, DLM, 0x00);
	assert_int_equal(rd(c, DLL), 0x0c);
	assert_int_equal(rd(c, DLM), 0x00);
	wr(c, DLM, 0x12);
	assert_int_equal(rd(c, DLM), 0x12);
	/* Nothing was transmitted, IER kept its value. */
	assert_int_equal(sent(c, buf, sizeof(buf)), 0);
	/* A DLL read does not consume received data. */
	assert_int_equal(serial_rx(&c->s, (const uint8_t *)"k", 1), 1);
	assert_int_equal(rd(c, DLL), 0x0c);
	wr(c, LCR, 0x03);
	assert_int_equal(rd(c, IER), 0x01);
	assert_int_equal(rd(c, RBR), 'k');
	wr(c, THR, 'T');
	assert_int_equal(sent(c, buf, sizeof(buf)), 1);
	assert_int_equal(buf[0], 'T');
	/* The divisor survives. */
	wr(c, LCR, 0x80);
	assert_int_equal(rd(c, DLL), 0x0c);
	assert_int_equal(rd(c, DLM), 0x12);
}

static void test_loopback(void **state)
{
	struct ctx *c = *state;
	char buf[4];

	wr(c, IER, 0x01);
	wr(c, MCR, 0x10);
	assert_int_equal(rd(c, MCR), 0x10);
	wr(c, THR, 0x5a);
	/* Echoed into RBR, not sent out. */
	assert_int_equal(sent(c, buf, sizeof(buf)), 0);
	assert_int_equal(rd(c, LSR) & 0x01, 0x01);
	assert_int_equal(c->irq.level, 1);
	assert_int_equal(rd(c, IIR), 0x04);
	assert_int_equal(rd(c, RBR), 0x5a);
	assert_int_equal(c->irq.level, 0);
	/* Modem control lines loop back to status: RTS->CTS, DTR->DSR, OUT1->RI, OUT2->DCD. */
	wr(c, MCR, 0x10);
	assert_int_equal(rd(c, MSR) & 0xf0, 0x00);
	wr(c, MCR, 0x11);
	assert_int_equal(rd(c, MSR) & 0xf0, 0x20);
	wr(c, MCR, 0x12);
	assert_int_equal(rd(c, MSR) & 0xf0, 0x10);
	wr(c, MCR, 0x14);
	assert_int_equal(rd(c, MSR) & 0xf0, 0x40);
	wr(c, MCR, 0x18);
	assert_int_equal(rd(c, MSR) & 0xf0, 0x80);
	wr(c, MCR, 0x1f);
	assert_int_equal(rd(c, MSR) & 0xf0, 0xf0);
	/* Out of loopback: the real line status again, and bytes go out. */
	wr(c, MCR, 0x0b);
	assert_int_equal(rd(c, MSR), 0xb0);
	wr(c, THR, 'o');
	assert_int_equal(sent(c, buf, sizeof(buf)), 1);
	assert_int_equal(rd(c, LSR) & 0x01, 0x00);
	/* MCR has five bits. */
	wr(c, MCR, 0xff);
	assert_int_equal(rd(c, MCR), 0x1f);
}

static void test_loopback_full(void **state)
{
	struct ctx *c = *state;
	uint8_t *in = malloc(SERIAL_RX_BUF);

	assert_non_null(in);
	for (int i = 0; i < SERIAL_RX_BUF; i++)
		in[i] = (uint8_t)(i + 1);
	assert_int_equal(serial_rx(&c->s, in, SERIAL_RX_BUF), SERIAL_RX_BUF);
	/* An echoed byte with the queue full is lost, not written over queued data. */
	wr(c, MCR, 0x10);
	wr(c, THR, 0xee);
	assert_int_equal(serial_rx_space(&c->s), 0);
	for (int i = 0; i < SERIAL_RX_BUF; i++)
		if (rd(c, RBR) != in[i])
			fail_msg("byte %d changed", i);
	assert_int_equal(rd(c, LSR) & 0x01, 0);
	/* With room again, loopback works. */
	wr(c, THR, 0xee);
	assert_int_equal(rd(c, RBR), 0xee);
	free(in);
}

static void test_fcr(void **state)
{
	struct ctx *c = *state;

	wr(c, IER, 0x01);
	assert_int_equal(serial_rx(&c->s, (const uint8_t *)"old", 3), 3);
	assert_int_equal(c->irq.level, 1);
	/* Enable FIFOs: IIR's top bits say so. */
	wr(c, FCR, 0x01);
	assert_int_equal(rd(c, IIR), 0xc4);
	assert_int_equal(rd(c, LSR) & 0x01, 0x01);
	/* Clear RX: data, DR and the interrupt are gone. */
	wr(c, FCR, 0x03);
	assert_int_equal(rd(c, LSR) & 0x01, 0x00);
	assert_int_equal(c->irq.level, 0);
	assert_int_equal(rd(c, IIR), 0xc1);
	assert_int_equal(serial_rx_space(&c->s), SERIAL_RX_BUF);
	/* New data starts afresh. */
	assert_int_equal(serial_rx(&c->s, (const uint8_t *)"new", 3), 3);
	assert_int_equal(rd(c, RBR), 'n');
	assert_int_equal(rd(c, RBR), 'e');
	assert_int_equal(rd(c, RBR), 'w');
	assert_int_equal(rd(c, LSR) & 0x01, 0x00);
	/* FIFOs off again. */
	wr(c, FCR, 0x00);
	assert_int_equal(rd(c, IIR), 0x01);
}

static void test_scratch(void **state)
{
	struct ctx *c = *state;

	assert_int_equal(rd(c, SCR), 0);
	wr(c, SCR, 0xa5);
	assert_int_equal(rd(c, SCR), 0xa5);
	wr(c, SCR, 0x5a);
	assert_int_equal(rd(c, SCR), 0x5a);
}

static void test_rx_full(void **state)
{
	struct ctx *c = *state;
	uint8_t *in = malloc(5000);

	assert_non_null(in);
	for (int i = 0; i < 5000; i++)
		in[i] = (uint8_t)(i * 7 + i / 256);
	assert_int_equal(serial_rx_space(&c->s), SERIAL_RX_BUF);
	/* Only what fits is accepted. */
	assert_int_equal(serial_rx(&c->s, in, 5000), SERIAL_RX_BUF);
	assert_int_equal(serial_rx_space(&c->s), 0);
	assert_int_equal(serial_rx(&c->s, in, 1), 0);
	for (int i = 0; i < SERIAL_RX_BUF; i++)
		if (rd(c, RBR) != in[i])
			fail_msg("byte %d out of order", i);
	assert_int_equal(rd(c, LSR) & 0x01, 0);
	assert_int_equal(serial_rx_space(&c->s), SERIAL_RX_BUF);

	/* Around the ring's end: 3000 in, 2000 out, 2000 in (wrapping), 3000 out. */
	assert_int_equal(serial_rx(&c->s, in, 3000), 3000);
	for (int i = 0; i < 2000; i++)
		assert_int_equal(rd(c, RBR), in[i]);
	assert_int_equal(serial_rx(&c->s, in + 3000, 2000), 2000);
	assert_int_equal(serial_rx_space(&c->s), SERIAL_RX_BUF - 3000);
	for (int i = 2000; i < 5000; i++)
		if (rd(c, RBR) != in[i])
			fail_msg("byte %d out of order after wrap", i);
	assert_int_equal(rd(c, LSR) & 0x01, 0);
	assert_int_equal(serial_rx(&c->s, in, 0), 0);
	free(in);
}

static void test_rx_space_eventfd(void **state)
{
	struct ctx *c = *state;
	uint8_t *in = calloc(1, SERIAL_RX_BUF);

	assert_non_null(in);
	c->s.rx_space_efd = c->efd;
	/* Draining a queue that never filled does not signal. */
	assert_int_equal(serial_rx(&c->s, in, 100), 100);
	for (int i = 0; i < 100; i++)
		rd(c, RBR);
	assert_int_equal(efd_count(c), 0);
	/* A full queue signals when the guest takes a byte... */
	assert_int_equal(serial_rx(&c->s, in, SERIAL_RX_BUF), SERIAL_RX_BUF);
	assert_int_equal(efd_count(c), 0);
	rd(c, RBR);
	assert_int_equal(efd_count(c), 1);
	/* ...and room appears. */
	assert_int_equal(serial_rx_space(&c->s), 1);
	assert_int_equal(serial_rx(&c->s, in, 5), 1);
	/* Reading with plenty of room left does not signal. */
	for (int i = 0; i < 10; i++)
		rd(c, RBR);
	(void)efd_count(c);
	for (int i = 0; i < 10; i++)
		rd(c, RBR);
	assert_int_equal(efd_count(c), 0);
	/* Clearing a full FIFO also frees the space: signalled too. */
	assert_int_equal(serial_rx(&c->s, in, SERIAL_RX_BUF), 20);
	assert_int_equal(serial_rx_space(&c->s), 0);
	wr(c, FCR, 0x07);
	assert_int_equal(efd_count(c), 1);
	assert_int_equal(serial_rx_space(&c->s), SERIAL_RX_BUF);
	/* No eventfd: nothing breaks. */
	c->s.rx_space_efd = -1;
	assert_int_equal(serial_rx(&c->s, in, SERIAL_RX_BUF), SERIAL_RX_BUF);
	rd(c, RBR);
	free(in);
}

/*
 * console.c stops reading stdin while serial_rx_space() < 2 (an input byte may
 * expand to two) and waits for rx_space_efd.  A queue left with one free byte
 * must therefore also signal when the guest drains it, or input stalls for good.
 */
static void test_rx_space_eventfd_nearly_full(void **state)
{
	struct ctx *c = *state;
	uint8_t *in = calloc(1, SERIAL_RX_BUF);

	assert_non_null(in);
	c->s.rx_space_efd = c->efd;
	assert_int_equal(serial_rx(&c->s, in, SERIAL_RX_BUF - 1), SERIAL_RX_BUF - 1);
	assert_int_equal(serial_rx_space(&c->s), 1);
	rd(c, RBR);
	assert_int_equal(serial_rx_space(&c->s), 2);
	assert_int_equal(efd_count(c), 1);
	free(in);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_reset_state),
		T(test_transmit),
		T(test_thr_interrupt),
		T(test_receive),
		T(test_interrupt_priority),
		T(test_dlab),
		T(test_loopback),
		T(test_loopback_full),
		T(test_fcr),
		T(test_scratch),
		T(test_rx_full),
		T(test_rx_space_eventfd),
		T(test_rx_space_eventfd_nearly_full),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
