// SPDX-License-Identifier: GPL-2.0-only
/* 16550A UART: the console on COM1 with its interrupt. */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "hw/serial.h"

enum {
	UART_RBR = 0, UART_THR = 0, UART_DLL = 0,
	UART_IER = 1, UART_DLM = 1,
	UART_IIR = 2, UART_FCR = 2,
	UART_LCR = 3, UART_MCR = 4, UART_LSR = 5, UART_MSR = 6, UART_SCR = 7,
};

#define IER_RDI   0x01
#define IER_THRI  0x02
#define IIR_NONE  0x01
#define IIR_THRI  0x02
#define IIR_RDI   0x04
#define IIR_FIFO  0xc0
#define LCR_DLAB  0x80
#define MCR_LOOP  0x10
#define LSR_DR    0x01
#define LSR_THRE  0x20
#define LSR_TEMT  0x40
#define MSR_DEFAULT 0xb0   /* DCD, DSR, CTS */

/*
 * The console stops feeding us while fewer than this many bytes are free (one
 * input byte can become two), and waits for rx_space_efd: signal it whenever
 * the guest frees space in a queue that was that full.
 */
#define RX_LOW_SPACE 2

int serial_init(struct serial *s, int out_fd, struct irq_line irq)
{
	memset(s, 0, sizeof(*s));
	s->s.lsr = LSR_THRE | LSR_TEMT;
	s->s.msr = MSR_DEFAULT;
	s->out_fd = out_fd;
	s->rx_space_efd = -1;
	s->irq = irq;
	s->irq_level = -1;
	return -pthread_mutex_init(&s->lock, NULL);
}

void serial_destroy(struct serial *s)
{
	pthread_mutex_destroy(&s->lock);
}

static uint8_t serial_iir(const struct serial_state *st)
{
	uint8_t fifo = (st->fcr & 1) ? IIR_FIFO : 0;

	if ((st->ier & IER_RDI) && st->rx_count)
		return IIR_RDI | fifo;
	if ((st->ier & IER_THRI) && st->thr_ipending)
		return IIR_THRI | fifo;
	return IIR_NONE | fifo;
}

/* Drive the line only when its level changes: each KVM_IRQ_LINE is a system call. */
static void serial_update_irq(struct serial *s)
{
	int level = !(serial_iir(&s->s) & IIR_NONE);

	if (level == s->irq_level)
		return;
	s->irq_level = level;
	irq_line_set(&s->irq, level);
}

static void serial_rx_push(struct serial_state *st, uint8_t c)
{
	if (st->rx_count == SERIAL_RX_BUF)
		return;
	st->rx[(st->rx_head + st->rx_count) % SERIAL_RX_BUF] = c;
	st->rx_count++;
	st->lsr |= LSR_DR;
}

static void serial_tx(struct serial *s, uint8_t c)
{
	if (s->s.mcr & MCR_LOOP) {
		serial_rx_push(&s->s, c);
	} else if (s->out_fd >= 0) {
		ssize_t r;

		do {
			r = write(s->out_fd, &c, 1);
		} while (r < 0 && errno == EINTR);
	}
	s->s.thr_ipending = 1;
}

static uint8_t serial_msr(const struct serial_state *st)
{
	uint8_t m = st->mcr;

	if (!(m & MCR_LOOP))
		return st->msr;
	/* Loopback: RTS->CTS, DTR->DSR, OUT1->RI, OUT2->DCD. */
	return ((m & 0x02) << 3) | ((m & 0x01) << 5) | ((m & 0x04) << 4) | ((m & 0x08) << 4);
}

static void serial_notify_space(struct serial *s)
{
	uint64_t one = 1;

	if (s->rx_space_efd >= 0 && write(s->rx_space_efd, &one, sizeof(one)) < 0)
		return;
}

static uint64_t serial_read(void *opaque, uint64_t off, unsigned int size)
{
	struct serial *s = opaque;
	struct serial_state *st = &s->s;
	uint8_t v = 0xff;
	bool notify = false;

	(void)size;
	pthread_mutex_lock(&s->lock);
	switch (off) {
	case UART_RBR:
		if (st->lcr & LCR_DLAB) {
			v = st->dll;
			break;
		}
		v = 0;
		if (st->rx_count) {
			notify = SERIAL_RX_BUF - st->rx_count < RX_LOW_SPACE;
			v = st->rx[st->rx_head];
			st->rx_head = (st->rx_head + 1) % SERIAL_RX_BUF;
			st->rx_count--;
		}
		if (!st->rx_count)
			st->lsr &= ~LSR_DR;
		break;
	case UART_IER:
		v = (st->lcr & LCR_DLAB) ? st->dlm : st->ier;
		break;
	case UART_IIR:
		v = serial_iir(st);
		if ((v & 0x0f) == IIR_THRI)
			st->thr_ipending = 0;
		break;
	case UART_LCR: v = st->lcr; break;
	case UART_MCR: v = st->mcr; break;
	case UART_LSR: v = st->lsr; break;
	case UART_MSR: v = serial_msr(st); break;
	case UART_SCR: v = st->scr; break;
	}
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
	if (notify)
		serial_notify_space(s);
	return v;
}

static void serial_write(void *opaque, uint64_t off, unsigned int size, uint64_t val)
{
	struct serial *s = opaque;
	struct serial_state *st = &s->s;
	uint8_t v = val;
	bool notify = false;

	(void)size;
	pthread_mutex_lock(&s->lock);
	switch (off) {
	case UART_THR:
		if (st->lcr & LCR_DLAB)
			st->dll = v;
		else
			serial_tx(s, v);
		break;
	case UART_IER:
		if (st->lcr & LCR_DLAB) {
			st->dlm = v;
			break;
		}
		/* Enabling the THR-empty interrupt while THR is empty raises it. */
		if ((v & IER_THRI) && !(st->ier & IER_THRI))
			st->thr_ipending = 1;
		st->ier = v & 0x0f;
		break;
	case UART_FCR:
		st->fcr = v & 0xc9;
		if (v & 0x02) {              /* clear receive FIFO */
			notify = SERIAL_RX_BUF - st->rx_count < RX_LOW_SPACE;
			st->rx_count = 0;
			st->lsr &= ~LSR_DR;
		}
		break;
	case UART_LCR: st->lcr = v; break;
	case UART_MCR: st->mcr = v & 0x1f; break;
	case UART_SCR: st->scr = v; break;
	default: break;              /* LSR and MSR are read-only */
	}
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
	if (notify)
		serial_notify_space(s);
}

size_t serial_rx_space(struct serial *s)
{
	size_t n;

	pthread_mutex_lock(&s->lock);
	n = SERIAL_RX_BUF - s->s.rx_count;
	pthread_mutex_unlock(&s->lock);
	return n;
}

size_t serial_rx(struct serial *s, const uint8_t *buf, size_t len)
{
	size_t i;

	pthread_mutex_lock(&s->lock);
	for (i = 0; i < len && s->s.rx_count < SERIAL_RX_BUF; i++)
		serial_rx_push(&s->s, buf[i]);
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
	return i;
}

const struct bus_ops serial_ops = {
	.read = serial_read,
	.write = serial_write,
};
