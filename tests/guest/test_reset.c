/*
 * test_reset.c - i8042 reset (0xFE to port 0x64).  Printing KITE-RESET
 * first; the VM must not get past the reset.
 */
#include "kit.h"

const char *test_reset(void)
{
	serial_puts("KITE-RESET\n");
	power_reset_i8042();
	return "still running 0.5 s after the i8042 reset command";
}
