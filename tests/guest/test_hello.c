/*
 * test_hello.c - "KITE-HELLO" is printed by kit_main() right after serial
 * setup (benchmark marker); nothing else to do.
 */
#include "kit.h"

const char *test_hello(void)
{
	return NULL;
}
