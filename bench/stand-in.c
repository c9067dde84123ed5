// SPDX-License-Identifier: MIT
/*
 * A small real executable that stands in for bin/qemu-system-x86_64 in the
 * benchmark's synthetic profiles: static, so running it from a mount reads
 * only its own file, and it answers --version as QEMU does.
 */
#include <stdio.h>

int main(void)
{
	puts("QEMU emulator version 0.0.0 (volt-bench stand-in)");
	return 0;
}
