// SPDX-License-Identifier: MIT
/*
 * The holder of -o supervise (fs/supervise.c) around another program, for
 * test_supervise: supervise-holder [-f] PROGRAM [ARG...]. voltfs itself
 * always holds voltfs; this lets the tests hold a stand-in that misbehaves
 * on purpose (tests/supervise_peer.c).
 */
#include <string.h>
#include <syslog.h>

#include "supervise.h"

int main(int argc, char *argv[])
{
	struct voltfs_supervise s = { .level = LOG_DEBUG };
	int i = 1;

	if (i < argc && strcmp(argv[i], "-f") == 0) {
		s.foreground = true;
		i++;
	}
	if (i >= argc)
		return 2;
	s.bin = argv[i];
	s.argv = argv + i;
	return voltfs_supervise(&s);
}
