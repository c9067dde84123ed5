/* SPDX-License-Identifier: MIT */
/*
 * Profile manifests ("refs"): parsing with cJSON and full validation.
 * A manifest that breaks any rule of SPEC's "Bad input" is refused whole:
 * voltfs never serves part of a profile.
 */
#ifndef VOLTFS_MANIFEST_H
#define VOLTFS_MANIFEST_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#include "voltfs/cas.h"
#include "voltfs/diag.h"

/* Bounds on what one manifest may hold. */
#define VOLT_MANIFEST_MAX_BYTES (64u << 20) /* a ref file */
#define VOLT_MANIFEST_MAX_OBJECTS 1000000u  /* entries in "objects" */
#define VOLT_PATH_MAX 4095		    /* bytes in one manifest path */
#define VOLT_NAME_MAX 255		    /* bytes in one path component */
#define VOLT_DEPTH_MAX 64		    /* components in one path */

struct volt_manifest_entry {
	const char *path; /* relative, validated; points into the manifest */
	uint32_t path_len;
	struct volt_hash hash;
};

struct volt_manifest {
	/* Required. */
	char *name;
	char *created_at;		     /* as written */
	struct timespec created;	     /* parsed, UTC */
	struct volt_manifest_entry *entries; /* sorted by path */
	size_t n_entries;
	/* Optional: NULL / 0 when absent. */
	char *profile;
	char *qemu_version;
	char *build_date;
	char *build_host;
	char *arch;
	int64_t total_bytes;
	char *arena; /* owns the strings above */
};

/*
 * Parse and validate len bytes of JSON. On success m is filled (release with
 * volt_manifest_release) and 0 returned. On failure m holds nothing, and the
 * return is -EBADMSG (not a manifest: JSON, types, required fields) or
 * -EINVAL (an entry that breaks a rule), with d->entry/d->reason saying
 * which and why, or -ENOMEM / -EFBIG (over a bound).
 */
int volt_manifest_parse(struct volt_manifest *m, const char *buf, size_t len, struct volt_diag *d);

/*
 * Read refs file name under dirfd (O_NOFOLLOW, at most
 * VOLT_MANIFEST_MAX_BYTES) and parse it. With id (8 hex chars) given, the
 * file's XXH3-128 must begin with it, or -EBADMSG. d->file is set to name.
 */
int volt_manifest_load(struct volt_manifest *m, int dirfd, const char *name, const char *id,
		       struct volt_diag *d);

/*
 * The bytes of refs file name under dirfd (O_NOFOLLOW, a regular file of at
 * most VOLT_MANIFEST_MAX_BYTES) into *buf (malloc'ed, *len bytes). 0,
 * -EBADMSG (not a regular file), -EFBIG, or -errno.
 */
int volt_manifest_read(int dirfd, const char *name, char **buf, size_t *len);

void volt_manifest_release(struct volt_manifest *m);

/*
 * The light read that ranking refs needs: the top-level created_at of refs
 * file name under dirfd, read from the file's head without building the
 * document (volt-cas and sorted-key writers put it before "objects"). 0 with
 * *created (and created_at, as written, when non-NULL: >= 64 bytes) set;
 * -EAGAIN when the head alone cannot tell (no such key before the bytes
 * read end, an escape in a key or in the value, not RFC 3339 text): only a
 * full load can say, and it will refuse what is broken; -EBADMSG if it is
 * not a regular file (or a link); -errno reading. *st gets the file's stat
 * when it was opened (else zeroed). The value is exact for a manifest that
 * loads: whether the file is a valid manifest is volt_manifest_load's to say.
 */
int volt_manifest_read_created(int dirfd, const char *name, struct timespec *created,
			       char *created_at, struct stat *st);

/*
 * The same read over len bytes of a whole manifest in memory: 0 with
 * *created (and created_at) set, or -EAGAIN. Where volt_manifest_parse
 * accepts buf, a 0 here gives its created_at (the fuzz harness checks it).
 */
int volt_manifest_peek_created(const char *buf, size_t len, struct timespec *created,
			       char *created_at);

/* Find an entry by exact path: the entry or NULL. O(log n). */
const struct volt_manifest_entry *volt_manifest_find(const struct volt_manifest *m,
						     const char *path);

/* Validate a relative path as SPEC's "Bad input" requires. 0 or -EINVAL. */
int volt_path_check(const char *path, size_t len, struct volt_diag *d);

/* Parse an RFC 3339 timestamp into UTC. 0 or -EINVAL. */
int volt_time_parse_rfc3339(const char *s, struct timespec *ts);

/* Format now (UTC) as RFC 3339 with nanoseconds into buf (>= 40 bytes). */
void volt_time_format_rfc3339(const struct timespec *ts, char *buf, size_t size);

#endif
