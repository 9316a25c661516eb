/*
 * serial.c - polled output on COM1.
 *
 * Every port access is a VM exit, so the transmitter status (LSR.THRE) is
 * polled once per FIFO load (16 bytes on a 16550A with FIFOs enabled)
 * rather than once per byte.
 */
#include "kit.h"

#define SERIAL_THR	0
#define SERIAL_IER	1
#define SERIAL_FCR	2
#define SERIAL_IIR	2
#define SERIAL_LCR	3
#define SERIAL_MCR	4
#define SERIAL_LSR	5
#define SERIAL_LSR_THRE	0x20

static u32 serial_room;		/* bytes we may write before polling LSR */
static u32 serial_fifo = 1;

void serial_init(void)
{
	outb(SERIAL_PORT + SERIAL_IER, 0x00);
	outb(SERIAL_PORT + SERIAL_LCR, 0x80);	/* DLAB */
	outb(SERIAL_PORT + 0, 0x01);		/* 115200 baud */
	outb(SERIAL_PORT + 1, 0x00);
	outb(SERIAL_PORT + SERIAL_LCR, 0x03);	/* 8N1 */
	outb(SERIAL_PORT + SERIAL_FCR, 0x07);	/* enable + clear FIFOs */
	outb(SERIAL_PORT + SERIAL_MCR, 0x03);	/* DTR | RTS, OUT2 off: no IRQ */
	if ((inb(SERIAL_PORT + SERIAL_IIR) & 0xC0) == 0xC0)
		serial_fifo = 16;
	serial_room = 0;
}

void serial_putc(char c)
{
	if (!serial_room) {
		/* bounded: a missing UART must not hang the guest */
		for (u32 i = 0; i < 100000; i++) {
			if (inb(SERIAL_PORT + SERIAL_LSR) & SERIAL_LSR_THRE)
				break;
			cpu_pause();
		}
		serial_room = serial_fifo;
	}
	outb(SERIAL_PORT + SERIAL_THR, (u8)c);
	serial_room--;
}

void serial_puts(const char *s)
{
	while (*s)
		serial_putc(*s++);
}

static void serial_sink(void *ctx, char c)
{
	(void)ctx;
	serial_putc(c);
}

void serial_vprintf(const char *fmt, va_list ap)
{
	fmt_vformat(serial_sink, NULL, fmt, ap);
}

void serial_printf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	serial_vprintf(fmt, ap);
	va_end(ap);
}
