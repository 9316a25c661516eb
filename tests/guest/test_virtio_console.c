/*
 * test_virtio_console.c - virtio-console port 0 over virtio-pci (no
 * MULTIPORT: queue 0 receives, queue 1 transmits).
 *
 *   test=virtio_console [token=T]
 *
 * Writes "KITE-CONSOLE-OUT hello from the kite test guest" (as a chain of
 * two descriptors) and a 2 KiB line "KITE-CONSOLE-LONG <pattern>" to the
 * console; the harness finds them where the VMM puts virtio-console output.
 * With token=T it then prints KITE-CONSOLE-READY on the serial port, waits
 * (10 s) for the line "KITE-CONSOLE-IN T" on the console's input and answers
 * "KITE-CONSOLE-ECHO T" on the console.
 */
#include "kit.h"

#define CON_RXBUFS	8
#define CON_RXBUF	128
#define CON_LONG	2048

static struct virtio_dev con_dev;
static struct virtq con_rx, con_tx;

static const char *con_write(const char *a, const char *b)
{
	static char *dma;
	struct virtq_buf buf[2];
	u32 la = strlen(a), lb = b ? strlen(b) : 0;
	int r;

	if (!dma && !(dma = virtq_dma_alloc(CON_LONG + 256, 64)))
		return "out of DMA memory";
	if (la + lb > CON_LONG + 256)
		return "line too long";
	memcpy(dma, a, la);
	memcpy(dma + la, b, lb);
	buf[0].addr = (u64)(uintptr_t)dma;
	buf[0].len = la;
	buf[1].addr = (u64)(uintptr_t)dma + la;
	buf[1].len = lb;
	r = virtq_run(&con_tx, buf, lb ? 2 : 1, 0, NULL, 5000000, false);
	return r ? kit_reason("transmit: %s", virtq_strerror(r)) : NULL;
}

struct con_rx_args {
	char *line;		/* collected input */
	u32 len, max;
	u8 *bufs;
	u64 timeout_us;
	int err;
};

/* CPL3: collect received bytes until a newline (or timeout), reposting
 * each receive buffer after copying it out. */
static u64 con_rx_user(u64 argp)
{
	struct con_rx_args *a = (void *)(uintptr_t)argp;
	u64 end = tsc_deadline_us(a->timeout_us);

	for (;;) {
		u16 head;
		u32 len;

		if (!virtq_get(&con_rx, &head, &len)) {
			if (tsc_passed(end))
				return 1;
			cpu_pause();
			continue;
		}
		if (head >= CON_RXBUFS) {
			a->err = VIRTQ_ERR_ID;
			return 1;
		}
		/* the heads are the slot numbers: buffers were added in order */
		for (u32 i = 0; i < len && i < CON_RXBUF; i++) {
			char c = (char)a->bufs[head * CON_RXBUF + i];

			if (a->len + 1 < a->max)
				a->line[a->len++] = c;
			if (c == '\n') {
				a->line[a->len] = '\0';
				return 0;
			}
		}
		{
			struct virtq_buf b = { (u64)(uintptr_t)(a->bufs + head * CON_RXBUF), CON_RXBUF };

			virtq_add(&con_rx, &b, 0, 1);
			virtq_kick(&con_rx);
		}
	}
}

const char *test_virtio_console(void)
{
	char token[64], want[96], line[160];
	static char long_line[CON_LONG + 2];
	struct con_rx_args rx;
	const char *why;
	u8 *bufs;

	if ((why = virtio_pci_find(VIRTIO_ID_CONSOLE, 0, &con_dev)))
		return why;
	/* no MULTIPORT: port 0 only, queues 0 and 1 */
	if ((why = virtio_negotiate(&con_dev, VIRTIO_F_EVENT_IDX, 0)))
		return why;
	if ((why = virtio_queue_setup(&con_dev, &con_rx, 0, CON_RXBUFS, VIRTIO_NO_VECTOR)))
		return why;
	if ((why = virtio_queue_setup(&con_dev, &con_tx, 1, 16, VIRTIO_NO_VECTOR)))
		return why;
	bufs = virtq_dma_alloc(CON_RXBUFS * CON_RXBUF, 64);
	if (!bufs)
		return "out of DMA memory";
	for (u32 i = 0; i < con_rx.size; i++) {
		struct virtq_buf b = { (u64)(uintptr_t)(bufs + i * CON_RXBUF), CON_RXBUF };

		if (virtq_add(&con_rx, &b, 0, 1) != (int)i)
			return "receive queue: unexpected descriptor numbering";
	}
	virtio_driver_ok(&con_dev);
	virtq_kick(&con_rx);

	if ((why = con_write("KITE-CONSOLE-OUT ", "hello from the kite test guest\n")))
		return why;
	memcpy(long_line, "KITE-CONSOLE-LONG ", 18);
	for (u32 i = 18; i < CON_LONG; i++)
		long_line[i] = (char)('a' + i % 26);
	long_line[CON_LONG] = '\n';
	long_line[CON_LONG + 1] = '\0';
	if ((why = con_write(long_line, NULL)))
		return why;
	serial_printf("virtio_console: wrote 2 lines (%u transmit requests, %u kicks)\n",
		      con_tx.completed, con_tx.kicks);
	if (!cmdline_value("token", token, sizeof(token)))
		return NULL;

	serial_printf("KITE-CONSOLE-READY\n");
	memset(&rx, 0, sizeof(rx));
	rx.line = line;
	rx.max = sizeof(line);
	rx.bufs = bufs;
	rx.timeout_us = 10000000;
	run_user(con_rx_user, (u64)(uintptr_t)&rx);
	if (user_fault_vector >= 0)
		return virtq_strerror(VIRTQ_ERR_FAULT);
	line[rx.len] = '\0';
	if (rx.len && line[rx.len - 1] == '\n')
		line[rx.len - 1] = '\0';
	serial_printf("virtio_console: input '%s'\n", line);
	if (rx.err)
		return virtq_strerror(rx.err);
	fmt_snprintf(want, sizeof(want), "KITE-CONSOLE-IN %s", token);
	if (!rx.len)
		return "no input on the console within 10 s";
	if (strcmp(line, want))
		return kit_reason("console input '%s', expected '%s'", line, want);
	fmt_snprintf(want, sizeof(want), "KITE-CONSOLE-ECHO %s\n", token);
	if ((why = con_write(want, NULL)))
		return why;
	virtio_reset(&con_dev);
	return NULL;
}
