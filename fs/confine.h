/* SPDX-License-Identifier: MIT */
/*
 * The daemon's confinement once mounted: no new privileges, a Landlock
 * domain that reads beneath the store only, no capability its features do
 * not use; and the one unconfined helper that can still unmount.
 */
#ifndef VOLTFS_CONFINE_H
#define VOLTFS_CONFINE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct voltfs_confine {
	const char *store; /* read beneath it (files and folders); nothing else is readable */
	/* NULL, or NULL-terminated folders to write beneath (a registry's objects/, refs/). */
	const char *const *writable;
	/* NULL, or NULL-terminated files and folders also to read (a registry's CAs, DNS). */
	const char *const *readable;
	/* TCP: NULL refuses every connect and bind; else connect to these ports only,
	 * 0-terminated (ABI >= 4). */
	const uint16_t *connect_ports;
	/* FUSE passthrough registers backing files with CAP_SYS_ADMIN: keep it while on. */
	bool keep_sys_admin;
	/*
	 * FUSE passthrough: the kernel opens an object's store file again, with
	 * the daemon's credentials (its Landlock domain), for each open of the
	 * object, exec(2) included: the store must be executable then too.
	 */
	bool exec_store;
	/* -o clone_fd: every libfuse worker opens /dev/fuse again. */
	bool dev_fuse;
};

/*
 * Confine the calling thread and what it starts from now on (threads made
 * before keep what they had: call it before any other thread exists).
 * PR_SET_NO_NEW_PRIVS, then the Landlock domain (where the kernel has none,
 * one log line and no domain), then the capabilities: every set empty but
 * CAP_SYS_ADMIN when keep_sys_admin. 0, or a negative errno after a log line
 * that names the step; the caller must not serve unconfined then.
 */
int voltfs_confine_apply(const struct voltfs_confine *c);

/*
 * A confined daemon cannot unmount (Landlock refuses umount(2), NO_NEW_PRIVS
 * a setuid fusermount3), so before confining it forks a helper that can:
 * the helper closes every descriptor but its pipe (never holding /dev/fuse)
 * and waits. voltfs_unmounter_finish asks it to unmount mnt (umount2 lazily,
 * else fusermount3 -uz) unless the kernel already ended the session
 * (fuse_fd reports POLLERR), waits until it is done and reaps it. If the
 * daemon dies instead, the helper sees the pipe close and leaves the mount
 * as it is, as a crash leaves it.
 */
struct voltfs_unmounter {
	pid_t pid;
	int fd; /* the write end of the helper's pipe */
};

int voltfs_unmounter_start(struct voltfs_unmounter *u, const char *mnt);
void voltfs_unmounter_finish(struct voltfs_unmounter *u, int fuse_fd);

#endif
