/* SPDX-License-Identifier: MIT */
/*
 * Store maintenance (`volt-cas verify`, `volt-cas gc`): rehash every object,
 * and remove the objects no ref names. Both only report through callbacks;
 * the caller decides where the words go.
 */
#ifndef VOLTFS_MAINTAIN_H
#define VOLTFS_MAINTAIN_H

#include <stdbool.h>
#include <stdint.h>

#include "voltfs/cas.h"
#include "voltfs/diag.h"

struct volt_verify_stats {
	uint64_t objects;  /* object names in objects/ that were checked */
	uint64_t bytes;	   /* their total size */
	uint64_t corrupt;  /* content not what the name says, or not a readable regular file */
	uint64_t vanished; /* removed while verify ran (a concurrent gc): not corrupt */
};

/*
 * Rehash every object of objects/ (XXH3-128 or SHA-256, as its name says)
 * with nworkers threads (0: one per online CPU). Names that are not object
 * names, dot files among them, are left alone. Once all are done, each
 * corrupt object goes to report in name order: d->file = the object name,
 * d->reason = why ("content does not match its name", "not a regular
 * file", "read: ..."). 0 with stats filled (corruption is not a failure of
 * verify), or -errno when objects/ cannot be listed. Reentrant.
 */
int volt_cas_verify_all(const struct volt_cas *cas, unsigned nworkers,
			struct volt_verify_stats *stats, volt_report_fn report, void *ctx);

/* Default of volt_gc_opts.grace: a build in progress is younger than an hour. */
#define VOLT_GC_GRACE_DEFAULT 3600

struct volt_gc_opts {
	bool force; /* remove; else only say what would be removed */
	/*
	 * Seconds: an unreferenced object or temporary file modified less than
	 * this long ago is kept. `volt-cas build` writes objects before their
	 * ref, so a fresh object may be one whose ref is not written yet.
	 */
	int64_t grace;
	/*
	 * Pruning (both 0: none). Of each known profile's refs, ranked as
	 * voltfs ranks them, a ref is kept when it is among the newest keep
	 * (0: this rule is off), or created less than keep_seconds ago (0:
	 * off), and always when it ranks first (the build that serves); every
	 * other one is removed (refs/ first), then the objects only it named.
	 * Refs of profiles this version does not know are all kept.
	 */
	uint32_t keep;
	int64_t keep_seconds;
};

enum volt_gc_kind {
	VOLT_GC_OBJECT,	   /* objects/<hash> that no ref names */
	VOLT_GC_TEMPORARY, /* objects/.tmp-* or refs/.tmp-*: a writer that died */
	VOLT_GC_REF,	   /* refs/<profile>-<id>.json: an older build pruned */
};

struct volt_gc_item {
	enum volt_gc_kind kind;
	const char *dir;  /* "objects" or "refs" */
	const char *name; /* the entry in dir */
	uint64_t size;
	int err; /* with force: 0 if removed, else -errno of the unlink */
};

struct volt_gc_stats {
	uint64_t refs;	       /* ref files read */
	uint64_t pruned;       /* of those, older builds pruned: removed, or would be */
	uint64_t referenced;   /* distinct objects they name */
	uint64_t missing;      /* of those, absent from objects/ */
	uint64_t objects;      /* object files in objects/ */
	uint64_t unreferenced; /* named by no ref, older than grace: removed, or would be */
	uint64_t unreferenced_bytes;
	uint64_t recent;    /* named by no ref but younger than grace: kept */
	uint64_t temporary; /* stale temporary files: removed, or would be */
	uint64_t failed;    /* removals that failed (force only) */
};

/*
 * Garbage-collect cas: every object that no ref names, and every stale
 * temporary file, goes to fn (in name order per folder) and, with
 * o->force, is removed; with o->keep or o->keep_seconds, so is each
 * older build they do not keep (before any object, so a ref never names a
 * removed object), and its objects then count as named by no ref. A ref
 * whose removal fails keeps its objects. Every entry of refs/ named like a ref
 * (<word>-<8 hex>.json, of a known profile or not) must load and pass its
 * id check: if one does not, nothing is removed and nothing reported, and
 * the return is -EBADMSG with d naming the ref and why. With no ref at
 * all, the return is -ENOENT (removing every object is never what was
 * meant). Other names in refs/ name nothing; they go to report (may be
 * NULL). Entries of objects/ that are not object names are left alone.
 * 0 or -errno (d says what failed). Not safe against a concurrent build
 * that reuses an old unreferenced object; the grace covers new ones.
 */
int volt_cas_gc(struct volt_cas *cas, const struct volt_gc_opts *o,
		void (*fn)(void *ctx, const struct volt_gc_item *it), void *ctx,
		struct volt_gc_stats *stats, volt_report_fn report, struct volt_diag *d);

#endif
