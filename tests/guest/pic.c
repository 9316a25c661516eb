/*
 * pic.c - legacy 8259 PICs: masked, so only the IOAPIC delivers ISA IRQs.
 */
#include "kit.h"

void pic_mask_all(void)
{
	outb(0x21, 0xFF);
	outb(0xA1, 0xFF);
}
