/* SPDX-License-Identifier: MIT */
/*
 * -o supervise: a small holder process that plays systemd's file descriptor
 * store for the daemon where there is no systemd, so the FUSE connection
 * outlives the daemon (a crash, a hand-over, an upgrade).
 */
#ifndef VOLTFS_SUPERVISE_H
#define VOLTFS_SUPERVISE_H

#include <stdbool.h>

struct voltfs_supervise {
	/* The daemon: an absolute path, exec'ed anew at each start (a replaced file is an upgrade). */
	const char *bin;
	char *const *argv; /* its arguments, NULL-terminated; argv[0] is only a name */
	/*
	 * Stay in the foreground, the daemons writing to this stderr. Else the
	 * caller's process returns (voltfs_supervise gives its status) once the
	 * first daemon said READY=1, or with the daemon's status and messages if
	 * it failed before; the holder goes on in the background, logging to syslog.
	 */
	bool foreground;
	int level; /* the least urgent of its own log lines kept (syslog priority) */
};

/*
 * Run the holder: a notify socket of its own (NOTIFY_SOCKET for the daemon,
 * messages taken from the running daemon's pid only), the descriptors stored
 * by name (FDSTORE=1, FDSTOREREMOVE=1, FDNAME=), the daemon started again
 * with them (LISTEN_PID, LISTEN_FDS, LISTEN_FDNAMES, from fd 3, in the order
 * stored) whenever it exits while a descriptor named "fuse" is stored; one
 * daemon at a time. A daemon that dies before READY=1 is started again after
 * a growing pause, and after VOLTFS_SUPERVISE_TRIES such deaths in a row the
 * holder gives up (the mount is left dead, said in the log). SIGTERM and
 * SIGINT are passed on to the daemon (a real stop: it is not started again),
 * SIGUSR1 too (a hand-over). Returns the exit status for the calling
 * process: the last daemon's (128 + signal if killed) once the store is
 * empty, 1 when it gave up or could not start.
 */
int voltfs_supervise(const struct voltfs_supervise *s);

#define VOLTFS_SUPERVISE_TRIES 5

/*
 * voltfs -o supervise: the holder of this very command line. The daemon is
 * argv[0] as found now (an absolute path, through PATH if need be, not
 * /proc/self/exe), run with -f and without "supervise" in its -o lists.
 */
int voltfs_supervise_main(int argc, char *argv[], bool foreground, int level);

#endif
