/*
 * test_uart_irq.c - ISA IRQ 4 (after MADT interrupt source overrides)
 * through the IOAPIC to a vector; the UART's THR-empty interrupt must
 * arrive once enabled (IER bit 1, MCR OUT2).
 */
#include "kit.h"

#define UART_VECTOR	0x44

static volatile u32 uart_irqs;
static volatile u8 uart_iir;

static void uart_handler(struct idt_frame *f)
{
	(void)f;
	uart_iir = inb(SERIAL_PORT + 2);	/* reading IIR clears THRE */
	outb(SERIAL_PORT + 1, 0x00);		/* IER: no more interrupts */
	uart_irqs++;
	lapic_eoi();
}

const char *test_uart_irq(void)
{
	u32 gsi, dest;
	bool low, level;
	u64 t0, end;

	if (!acpi_init() || !madt_init())
		return "no MADT";
	if (!madt.nioapic)
		return "MADT lists no IOAPIC";
	madt_isa_irq(4, &gsi, &low, &level);
	for (u32 i = 0; i < madt.nioapic; i++)
		serial_printf("uart_irq: IOAPIC id %u at %x gsi base %u\n", madt.ioapic[i].id,
			      madt.ioapic[i].addr, madt.ioapic[i].gsi_base);
	for (u32 i = 0; i < madt.niso; i++)
		serial_printf("uart_irq: override bus %u irq %u -> gsi %u flags %x\n",
			      madt.iso[i].bus, madt.iso[i].source, madt.iso[i].gsi, madt.iso[i].flags);
	serial_printf("uart_irq: IRQ 4 -> GSI %u (%s, %s) -> vector %x\n", gsi,
		      low ? "active low" : "active high", level ? "level" : "edge", UART_VECTOR);

	pic_mask_all();
	lapic_enable();
	dest = lapic_id();
	idt_set_handler(UART_VECTOR, uart_handler);
	if (!ioapic_route(gsi, UART_VECTOR, dest, low, level))
		return kit_reason("no IOAPIC serves GSI %u", gsi);

	(void)inb(SERIAL_PORT + 2);		/* clear pending state */
	(void)inb(SERIAL_PORT + 5);
	outb(SERIAL_PORT + 4, 0x0B);		/* DTR | RTS | OUT2 */
	outb(SERIAL_PORT + 1, 0x02);		/* IER: THR empty */
	t0 = rdtsc();
	end = tsc_deadline_us(2000000);
	cpu_sti();
	while (!uart_irqs && !tsc_passed(end))
		cpu_pause();
	cpu_cli();
	outb(SERIAL_PORT + 1, 0x00);
	outb(SERIAL_PORT + 4, 0x03);
	ioapic_mask(gsi);

	serial_printf("uart_irq: %u interrupt(s), IIR %x, after %lu TSC ticks\n", uart_irqs,
		      uart_iir, rdtsc() - t0);
	if (!uart_irqs)
		return kit_reason("no interrupt on vector %x (GSI %u) within 2 s", UART_VECTOR, gsi);
	if ((uart_iir & 0x0F) != 0x02)
		return kit_reason("IIR %x in the handler, expected THR empty (x2)", uart_iir);
	return NULL;
}
