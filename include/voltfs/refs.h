/* SPDX-License-Identifier: MIT */
/*
 * Refs: finding the manifest that serves a profile. A ref file is named
 * <profile>-<id>.json with <id> 8 lowercase hex characters. Of the valid
 * refs of a profile, the newest created_at serves it, a tie going to the
 * greatest file name; a broken ref is reported and skipped, so it never
 * hides a good older one.
 */
#ifndef VOLTFS_REFS_H
#define VOLTFS_REFS_H

#include "voltfs/cas.h"
#include "voltfs/diag.h"
#include "voltfs/manifest.h"
#include "voltfs/profile.h"

#define VOLT_REF_ID_LEN 8
#define VOLT_REF_NAME_MAX 64

/*
 * Split a refs/ file name. Returns 0 with *p and id (9 bytes) set;
 * -EINVAL if it is not <word>-<8 hex>.json; -ENOENT if it is, but <word>
 * is no known profile (the ref is to be ignored, and said so).
 */
int volt_ref_parse_name(const char *name, enum volt_profile *p, char id[VOLT_REF_ID_LEN + 1]);

/* Make the name of a ref for profile p and manifest bytes buf. */
void volt_ref_make_name(enum volt_profile p, const void *buf, size_t len,
			char name[VOLT_REF_NAME_MAX]);

struct volt_ref {
	enum volt_profile profile;
	char name[VOLT_REF_NAME_MAX]; /* file name in refs/ */
	char id[VOLT_REF_ID_LEN + 1];
};

/*
 * FindCASRef, done right: load the ref that serves p into m (and its name
 * into ref). Every candidate that fails to load is passed to report (may be
 * NULL). 0; -ENOENT if p has no usable ref; or -errno reading refs/.
 */
int volt_refs_load_best(const struct volt_cas *cas, enum volt_profile p, struct volt_manifest *m,
			struct volt_ref *ref, volt_report_fn report, void *ctx);

/*
 * Call fn for each ref file of a known profile, in name order, without
 * loading it. Names that are not refs of known profiles go to report.
 * Stops at and returns the first non-zero return of fn; else 0 or -errno.
 */
int volt_refs_each(const struct volt_cas *cas, int (*fn)(void *ctx, const struct volt_ref *r),
		   void *ctx, volt_report_fn report, void *report_ctx);

#endif
