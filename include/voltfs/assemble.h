/* SPDX-License-Identifier: MIT */
/*
 * The reference's eager assembly (Resolve): every object hard-linked into
 * <dest>/, copied where linking fails. The fallback for hosts without FUSE,
 * and the baseline the benchmarks compare against.
 */
#ifndef VOLTFS_ASSEMBLE_H
#define VOLTFS_ASSEMBLE_H

#include "voltfs/cas.h"
#include "voltfs/diag.h"
#include "voltfs/manifest.h"
#include "voltfs/profile.h"

struct volt_assemble_stats {
	size_t linked;
	size_t copied;
};

/*
 * Make dest (and bin/, lib/, firmware/) and link or copy every object of m
 * into it. A copy keeps the object's mode; a missing object fails the whole
 * assembly with -ENOENT and d naming entry and hash. 0 or -errno.
 */
int volt_assemble(const struct volt_cas *cas, const struct volt_manifest *m, const char *dest,
		  struct volt_assemble_stats *stats, struct volt_diag *d);

struct volt_resolved {
	enum volt_profile profile;
	char binary[4096];   /* <base>/<profile>/bin/qemu-system-<arch> */
	char firmware[4096]; /* <base>/<profile>/firmware */
	char lib[4096];	     /* <base>/<profile>/lib */
	char arch[64];
};

/*
 * Resolve: if <base>/<profile>/bin/qemu-system-<arch> exists, just fill r;
 * else load the profile's best ref and assemble it there first. -ENOENT if
 * the profile has no usable ref; -ENOEXEC if the binary is still missing
 * after assembly.
 */
int volt_resolve(const struct volt_cas *cas, enum volt_profile p, const char *arch,
		 const char *base, struct volt_resolved *r, struct volt_diag *d);

#endif
