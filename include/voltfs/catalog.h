/* SPDX-License-Identifier: MIT */
/*
 * The catalog: the profiles one CAS serves, each loaded on first use (best
 * ref -> manifest -> tree -> rendered synthetic files). Thread-safe. A
 * loaded profile is never freed while the catalog lives, so pointers to it
 * stay valid.
 */
#ifndef VOLTFS_CATALOG_H
#define VOLTFS_CATALOG_H

#include <stdint.h>
#include <time.h>

#include "voltfs/cas.h"
#include "voltfs/diag.h"
#include "voltfs/refs.h"
#include "voltfs/render.h"
#include "voltfs/tree.h"

struct volt_catalog;

/* One loaded build of a profile. Immutable once published. */
struct volt_loaded {
	enum volt_profile profile;
	char dirname[VOLT_REF_NAME_MAX]; /* its folder at the root: "<profile>" or "<profile>@<id>" */
	bool pinned;
	uint32_t serial;	 /* 1, 2, ...: unique per load in this catalog */
	struct volt_ref ref;	 /* the ref it came from */
	struct timespec created; /* created_at: mtime of folders and synthetic files */
	struct volt_tree *tree;
	struct volt_text synth[VOLT_SYNTH_COUNT];
	struct volt_file_counts counts;
	int64_t total_bytes;
	char *arch;	    /* manifest's, or NULL */
	char *qemu_version; /* manifest's, or NULL */
	/* The manifest's fields as "key=value" pairs (name, created_at, optional ones). */
	char *meta; /* NUL-separated "key\0value\0" pairs */
	size_t meta_len;
};

/* The value of manifest field key of l, or NULL. */
const char *volt_loaded_meta(const struct volt_loaded *l, const char *key);

/* Render settings shared by every profile: profile, name, arch and profile_dir are ignored. */
struct volt_catalog_opts {
	const char *mountpoint; /* absolute: synthetic files name paths under it */
	struct volt_render_input render;
	volt_report_fn report; /* each refused ref or ignored name; may be NULL */
	void *report_ctx;
};

/* Reads nothing from the store: loading waits for the first look. 0 or -ENOMEM. */
int volt_catalog_new(struct volt_catalog **out, const struct volt_cas *cas,
		     const struct volt_catalog_opts *o);
void volt_catalog_free(struct volt_catalog *c);

/*
 * The loaded build serving p: its newest valid ref, loaded on first call and
 * chosen again whenever refs/ has changed since (its mtime, or
 * volt_catalog_invalidate). -ENOENT when p has no usable ref, or -errno.
 * A build that stops serving stays loaded: its nodes and pointers stay valid.
 */
int volt_catalog_get(struct volt_catalog *c, enum volt_profile p, const struct volt_loaded **out);

/*
 * The pinned build of ref <p>-<id>.json, served as "<p>@<id>": its synthetic
 * files name that folder. Loaded once (callers naming it during its load wait
 * for that load) and kept, even if the ref goes away.
 * -ENOENT if the ref does not exist or is refused (reported), or -errno.
 */
int volt_catalog_get_pinned(struct volt_catalog *c, enum volt_profile p, const char *id,
			    const struct volt_loaded **out);

/* Say that refs/ changed (from inotify): the next get chooses again. Thread-safe. */
void volt_catalog_invalidate(struct volt_catalog *c);

/* Builds loaded so far (current, older and pinned). */
uint32_t volt_catalog_loads(struct volt_catalog *c);

/* The load with this serial, or NULL. Lock-free after the load. */
const struct volt_loaded *volt_catalog_by_serial(struct volt_catalog *c, uint32_t serial);

/*
 * What reading refs/ has cost so far: heads read to rank refs, refs parsed
 * in full (chosen ones and pins). Takes each profile's lock in turn.
 */
void volt_catalog_ref_stats(struct volt_catalog *c, struct volt_refs_stats *st);

/* mtime of refs/ (the root folder's mtime). 0 or -errno. */
int volt_catalog_refs_mtime(const struct volt_catalog *c, struct timespec *ts);

#endif
