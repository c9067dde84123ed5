/* SPDX-License-Identifier: MIT */
/*
 * Profile builds between a store and a registry: push (only the blobs the
 * registry lacks, several at a time, then the manifest and both tags), and
 * the fetches that pull and the lazy mount are made of (a build's OCI
 * manifest and ref, checked whole; one object, checked before it is named).
 * Layout: include/voltfs/oci.h. Tags: "<profile>" and "<profile>-<id>".
 */
#ifndef VOLTFS_TRANSFER_H
#define VOLTFS_TRANSFER_H

#include <stdint.h>

#include "voltfs/cas.h"
#include "voltfs/diag.h"
#include "voltfs/manifest.h"
#include "voltfs/oci.h"
#include "voltfs/refs.h"
#include "voltfs/registry.h"

struct volt_transfer_stats {
	uint64_t blobs;	     /* distinct objects of the build */
	uint64_t blobs_done; /* sent, or fetched */
	uint64_t blobs_had;  /* already there: not sent, or not fetched */
	uint64_t bytes;	     /* of all the build's objects */
	uint64_t bytes_done; /* sent or fetched */
};

/* Called now and then from the calling thread (never from a worker). */
typedef void (*volt_transfer_progress_fn)(void *ctx, const struct volt_transfer_stats *s);

/*
 * Push refs/<ref_name> ("<profile>-<id>.json") and its objects, jobs uploads
 * at a time; every object is verified against its name before it is sent.
 * The manifest goes last, tagged "<profile>-<id>" then "<profile>"; its
 * digest into *digest. 0 or -errno (d says what and why).
 */
int volt_transfer_push(struct volt_cas *cas, const char *ref_name, struct volt_registry *r,
		       int jobs, volt_transfer_progress_fn progress, void *ctx,
		       struct volt_transfer_stats *stats, struct volt_hash *digest,
		       struct volt_diag *d);

/* A build as fetched from a registry: its manifest, checked, and its ref. */
struct volt_remote_build {
	struct volt_oci oci;
	struct volt_manifest m; /* the ref, parsed (its strings in ref_bytes) */
	char *ref_bytes;	/* the ref's bytes verbatim */
	size_t ref_len;
	struct volt_ref ref;	 /* its name: "<profile>-<id>.json" */
	struct volt_hash digest; /* of the OCI manifest */
};

/*
 * Fetch the build tag names ("<profile>" or "<profile>-<id>"): the OCI
 * manifest, the ref blob (bounded, verified, parsed, its id its content's,
 * its profile the tag's) and the check that manifest and ref agree. With
 * store_ref, the ref is written into refs/ (atomically) once all that
 * holds. 0 with b filled (volt_remote_build_release), or -errno.
 */
int volt_transfer_fetch_build(struct volt_cas *cas, struct volt_registry *r, struct volt_http *h,
			      const char *tag, bool store_ref, struct volt_remote_build *b,
			      struct volt_diag *d);
void volt_remote_build_release(struct volt_remote_build *b);

/*
 * Fetch one object of a build into objects/: its blob, checked against the
 * blob's digest and size and then the object's name, before the name is
 * given. *fetched_bytes counts what came over the network. 0 or -errno.
 */
int volt_transfer_fetch_object(struct volt_cas *cas, struct volt_registry *r, struct volt_http *h,
			       const struct volt_oci_blob *blob, uint64_t *fetched_bytes,
			       struct volt_diag *d);

/*
 * Pull: fetch_build, then every object the store lacks, jobs at a time,
 * then the ref, last (so a ref in refs/ always has its objects). The ref's
 * name into *ref. 0 or -errno.
 */
int volt_transfer_pull(struct volt_cas *cas, struct volt_registry *r, const char *tag, int jobs,
		       volt_transfer_progress_fn progress, void *ctx,
		       struct volt_transfer_stats *stats, struct volt_ref *ref,
		       struct volt_diag *d);

#endif
