/* SPDX-License-Identifier: MIT */
/*
 * Diagnostics: core never prints. Whatever it refuses, it describes in a
 * struct volt_diag that the caller passes in, and the caller decides where
 * the words go (stderr, syslog, a test assertion).
 */
#ifndef VOLTFS_DIAG_H
#define VOLTFS_DIAG_H

#include <stddef.h>

struct volt_diag {
	char file[256];	  /* ref or object the problem is in, "" if none */
	char entry[512];  /* manifest entry (path), "" if the file as a whole */
	char reason[256]; /* why, in words */
};

/* Clear all fields. */
void volt_diag_clear(struct volt_diag *d);

/*
 * Record a problem: entry may be NULL. Always returns err (a negative errno)
 * so that callers can write "return volt_diag_set(d, -EINVAL, ...)".
 * d may be NULL, in which case only err is returned.
 */
int volt_diag_set(struct volt_diag *d, int err, const char *entry, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Format "file: entry: reason" into buf (always NUL-terminated). */
void volt_diag_format(const struct volt_diag *d, char *buf, size_t size);

/* Callback through which multi-file operations report each refused file. */
typedef void (*volt_report_fn)(void *ctx, const struct volt_diag *d);

#endif
