/* SPDX-License-Identifier: MIT */
/*
 * Test support: temporary folders, files, CAS fixtures and real FUSE mounts
 * of the built voltfs. Helpers assert (cr_assert) instead of returning errors.
 */
#ifndef VOLTFS_TEST_SUPPORT_H
#define VOLTFS_TEST_SUPPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "voltfs/cas.h"

/* A new empty folder under $TMPDIR (malloc'ed path). */
char *vt_tmpdir(void);
/* rm -rf, after unmounting anything mounted below (best effort). */
void vt_rmtree(const char *path);
/* "<a>/<b>" (malloc'ed). */
char *vt_join(const char *a, const char *b);

/* Write a file, making its parent folders. */
void vt_write_file(const char *path, const void *buf, size_t len, mode_t mode);
void vt_write_str(const char *path, const char *s);
/* The whole file (malloc'ed, NUL-terminated) or NULL with errno set. */
char *vt_read_file(const char *path, size_t *len);

/* An empty store: <cas>/refs and <cas>/objects. */
void vt_cas_init(const char *cas);
/* Store buf as an XXH3-128 object with mode; its name goes to hex. */
void vt_put_object(const char *cas, const void *buf, size_t len, mode_t mode,
		   char hex[VOLT_HASH_HEX_MAX + 1]);
/* Write json as refs/<profile>-<id>.json with the right id; the file name goes to name. */
void vt_put_ref(const char *cas, const char *profile, const char *json, char name[64]);
/* Unlink refs/<name>: the ref is gone, as a writer removes it. */
void vt_drop_ref(const char *cas, const char *name);

struct vt_mount {
	pid_t pid;
	char *mnt;
	char *log; /* the daemon's stderr */
};

/* Is /dev/fuse usable here? Mount tests skip (cr_skip_test) only when it is not. */
bool vt_have_fuse(void);
/*
 * Start `voltfs -f [-o opts] cas mnt` and wait until mnt is a FUSE mount
 * (bounded poll on statfs, no fixed sleep). opts may be NULL; the
 * environment's VOLTFS_TEST_MOUNT_OPTS, if set, is added to them.
 */
void vt_mount(struct vt_mount *m, const char *cas, const char *mnt, const char *opts);
/* The same with another build of the daemon (bin: its path). */
void vt_mount_bin(struct vt_mount *m, const char *bin, const char *cas, const char *mnt,
		  const char *opts);
/* fusermount3 -u, then wait for the daemon: its exit status (0 = clean). */
int vt_unmount(struct vt_mount *m);
/* For a test's .fini: unmount (lazily) and reap, asserting nothing. */
void vt_mount_cleanup(struct vt_mount *m);
/* The daemon's log so far (malloc'ed). */
char *vt_mount_log(const struct vt_mount *m);

/*
 * The counter key of user.volt.stats on mnt (a mount's root): the number on
 * the line that starts with exactly "key ", or -1 if there is none.
 */
long long vt_mount_stat(const char *mnt, const char *key);
/* Entries of folder dir but . and .. (dot files only if hidden); -1 if it cannot be opened. */
int vt_count_entries(const char *dir, bool hidden);

/* Run a shell command; its exit status. stdout into *out if out != NULL (malloc'ed). */
int vt_run(const char *cmd, char **out);

#endif
