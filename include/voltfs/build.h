/* SPDX-License-Identifier: MIT */
/*
 * Ingest: turn a folder into CAS objects and a ref (`volt-cas build`).
 */
#ifndef VOLTFS_BUILD_H
#define VOLTFS_BUILD_H

#include <stdint.h>

#include "voltfs/cas.h"
#include "voltfs/diag.h"
#include "voltfs/profile.h"
#include "voltfs/refs.h"

struct volt_build_opts {
	enum volt_profile profile;
	const char *src;	  /* folder to ingest; links are followed */
	const char *arch;	  /* manifest "arch", NULL for none */
	const char *qemu_version; /* NULL for none */
	/* Called after each file, may be NULL. */
	void (*progress)(void *ctx, uint64_t files, uint64_t bytes);
	void *progress_ctx;
};

struct volt_build_result {
	char ref_name[VOLT_REF_NAME_MAX];
	uint64_t files;
	uint64_t new_objects;
	uint64_t bytes;
};

/*
 * Ingest o->src into cas: one object per distinct content (written only
 * once, atomically), then the ref, written last. 0 or -errno, with d naming
 * the file that failed; on failure no ref is written.
 */
int volt_build(struct volt_cas *cas, const struct volt_build_opts *o, struct volt_build_result *r,
	       struct volt_diag *d);

#endif
