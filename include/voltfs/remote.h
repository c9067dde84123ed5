/* SPDX-License-Identifier: MIT */
/*
 * A store filled on demand from registries (ordered mirrors, tried in
 * turn): what a lazy mount asks of them. A profile's tag is resolved and
 * its ref kept in refs/ (so a restarted daemon or an offline host still
 * has it); an object is fetched into objects/ the first time it is wanted,
 * checked before it is named, one download per object however many ask.
 * Thread-safe; each thread gets its own HTTP handle. The FUSE binding asks
 * for objects and refs and never speaks HTTP.
 */
#ifndef VOLTFS_REMOTE_H
#define VOLTFS_REMOTE_H

#include <stddef.h>
#include <stdint.h>

#include "voltfs/cas.h"
#include "voltfs/diag.h"
#include "voltfs/oci.h"
#include "voltfs/profile.h"

struct volt_remote;

struct volt_remote_opts {
	const char *const *addrs; /* REGISTRY/REPO of each mirror, in order */
	size_t n_addrs;
	const char *ca_file;   /* or NULL: the system's CAs */
	const char *auth_file; /* or NULL: the files docker and podman read */
	long connect_timeout_ms;
	long stall_timeout_s;
};

struct volt_remote_stats {
	uint64_t fetches;     /* objects fetched */
	uint64_t fetch_bytes; /* their bytes */
	uint64_t fetch_failures;
	uint64_t tag_checks;  /* HEADs of a tag */
	uint64_t builds;      /* builds fetched (their manifest and ref) */
	uint64_t prefetched;  /* objects fetched by the background prefetch */
	uint64_t evictions;   /* objects removed to stay within cache_max */
	uint64_t cache_bytes; /* bytes of objects in the cache now (with a bound) */
};

/* 0, -EINVAL (a bad address or credentials file: d says which), or -ENOMEM. */
int volt_remote_new(struct volt_remote **out, struct volt_cas *cas,
		    const struct volt_remote_opts *o, struct volt_diag *d);
void volt_remote_free(struct volt_remote *r);

/*
 * Resolve tag ("<profile>" or "<profile>-<id>") at the first mirror that
 * answers; when it names a build other than the one last seen, fetch that
 * build's manifest and ref and store the ref in refs/. 1 when a ref was
 * stored, 0 when nothing changed, -ENOENT when no mirror has the tag, or
 * -errno (d says why; a ref already in refs/ keeps serving).
 */
int volt_remote_sync(struct volt_remote *r, const char *tag, struct volt_diag *d);

/*
 * The blob of object h in build ref_name ("<profile>-<id>.json"): its size
 * and mode, from the build's manifest (fetched by its pin tag the first
 * time, so a ref kept from an earlier run works too). 0, -ENOENT (no such
 * object in that build), or -errno.
 */
int volt_remote_blob(struct volt_remote *r, const char *ref_name, const struct volt_hash *h,
		     uint64_t *size, uint32_t *mode, struct volt_diag *d);

/*
 * Make object h of build ref_name present in objects/: fetched from the
 * first mirror that has it, checked against its digest, size and name
 * before it is named. Calls for one object at once share one download and
 * its result. 0 (present), or -errno (nothing stored; d says why).
 */
int volt_remote_fetch(struct volt_remote *r, const char *ref_name, const struct volt_hash *h,
		      struct volt_diag *d);

/*
 * The TCP ports the mirrors are reached on (their own, or 443 / 80), and
 * 443 for what they may redirect to or name as a token realm: into out
 * (at most max, 0-terminated when room is left), their count.
 */
size_t volt_remote_ports(const struct volt_remote *r, uint16_t *out, size_t max);

/*
 * Fetch every object of build ref_name the store lacks, in the background,
 * jobs at a time (at most 16), in path order; opens of the same objects
 * share these downloads. A new call replaces the build being prefetched.
 * 0 or -errno (no threads: nothing changes for opens).
 */
int volt_remote_prefetch(struct volt_remote *r, const char *ref_name, unsigned jobs);

/*
 * Whether an object may be removed from the cache now: 0 (not open; the
 * caller has let go of any idle descriptor on it), or -EBUSY (open).
 */
typedef int (*volt_remote_release_fn)(void *ctx, const struct volt_hash *h);

/*
 * Bound the objects in objects/ to max_bytes (0: no bound): before a fetch,
 * the least recently used objects that release says are not open are
 * removed until the new one fits; refs are never removed. Reads objects/
 * once for what is there. 0 or -errno.
 */
int volt_remote_set_cache(struct volt_remote *r, uint64_t max_bytes, volt_remote_release_fn release,
			  void *ctx);
/* Object h was opened: the most recently used now. Cheap; no-op without a bound. */
void volt_remote_touch(struct volt_remote *r, const struct volt_hash *h);

void volt_remote_get_stats(struct volt_remote *r, struct volt_remote_stats *s);

/* "ADDR" of the first mirror, and the manifest digest of the build from ref_name, if known. */
int volt_remote_origin(struct volt_remote *r, const char *ref_name, char *addr, size_t addr_size,
		       char *digest, size_t digest_size);

#endif
