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
 * Does a ref created at a (file name a_name) rank before one created at b,
 * on a host whose clock says now? Newer first, a tie to the greater name;
 * one dated more than a day after now ranks below every one that is not.
 */
bool volt_refs_rank_before(const struct timespec *a, const char *a_name, const struct timespec *b,
			   const char *b_name, time_t now);

/*
 * What choosing has learned about the refs of one profile, kept between
 * choices: a ref is read in full only when it is the one to serve, and
 * read at all only once while its name stays in refs/ (a ref refused is
 * read again only once its file changes). One memo is not thread-safe: its
 * caller serialises the choices made with it.
 */
struct volt_refs_memo;

/* What it cost so far. */
struct volt_refs_stats {
	uint64_t heads; /* ref files whose head was read for their created_at */
	uint64_t loads; /* ref files read and parsed in full */
};

/* A memo for the refs of p. 0, -EINVAL (no such profile) or -ENOMEM. */
int volt_refs_memo_new(struct volt_refs_memo **out, enum volt_profile p);
void volt_refs_memo_free(struct volt_refs_memo *memo);
void volt_refs_memo_stats(const struct volt_refs_memo *memo, struct volt_refs_stats *st);

/*
 * Choose the ref that serves memo's profile now, as volt_refs_load_best
 * does, reading only what changed in refs/ since the last choice with memo:
 * new names have their head read, then the best candidate is loaded in
 * full; if it fails to load, it is reported, remembered, and the next one is
 * tried. When the winner is named keep (a ref already loaded, may be NULL),
 * 1 with *ref set and m empty: nothing is read unless its file was
 * replaced since (then it is parsed again, and if its bytes no longer
 * match its name, refused and the next one tried). Else 0 with m loaded and
 * *ref set; -ENOENT when no ref is usable; or -errno (-ENOMEM: nothing was
 * decided). A ref is reported when it is found bad, not at every choice.
 */
int volt_refs_choose(struct volt_refs_memo *memo, const struct volt_cas *cas, const char *keep,
		     struct volt_manifest *m, struct volt_ref *ref, volt_report_fn report,
		     void *ctx);

/* The loaded ref name turned out unusable (its tree was refused): never choose it again. */
void volt_refs_memo_refuse(struct volt_refs_memo *memo, const char *name);

/*
 * FindCASRef, done right: load the ref that serves p into m (and its name
 * into ref), with a memo of its own (volt_refs_choose). Each candidate that
 * ranks above the one chosen and fails to load is passed to report (may be
 * NULL); one ranked below is never read in full. 0; -ENOENT if p has no
 * usable ref; or -errno reading refs/.
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
