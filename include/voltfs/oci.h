/* SPDX-License-Identifier: MIT */
/*
 * A profile build as an OCI artifact (image-spec 1.1 image manifest with
 * artifactType), laid out the way ORAS lays out files so that a stock
 * `oras pull` gives the files back:
 *
 *   config    the empty descriptor (application/vnd.oci.empty.v1+json, "{}")
 *   layers[0] the ref's bytes verbatim, title "<profile>-<id>.json"
 *   layers[n] one blob per distinct object of the ref, title = the first
 *             path (in path order) that names it, annotations carrying the
 *             ref's object name for it (XXH3-128 or SHA-256) and its mode
 *
 * Building is for push, parsing for pull: what a registry sends is bad input
 * and is refused whole (bounded sizes, exact digests, titles that are safe
 * paths, no duplicates), with the reason in a struct volt_diag.
 */
#ifndef VOLTFS_OCI_H
#define VOLTFS_OCI_H

#include <stddef.h>
#include <stdint.h>

#include "voltfs/cas.h"
#include "voltfs/diag.h"
#include "voltfs/manifest.h"

#define VOLT_OCI_MANIFEST_TYPE "application/vnd.oci.image.manifest.v1+json"
#define VOLT_OCI_ARTIFACT_TYPE "application/vnd.volt.profile.v1"
#define VOLT_OCI_EMPTY_TYPE "application/vnd.oci.empty.v1+json"
#define VOLT_OCI_REF_TYPE "application/vnd.volt.profile.ref.v1+json"
#define VOLT_OCI_OBJECT_TYPE "application/vnd.volt.profile.object.v1"
#define VOLT_OCI_ANN_TITLE "org.opencontainers.image.title"
#define VOLT_OCI_ANN_CREATED "org.opencontainers.image.created"
#define VOLT_OCI_ANN_OBJECT "vnd.volt.object" /* the ref's name for the blob */
#define VOLT_OCI_ANN_MODE "vnd.volt.mode"     /* "0555" or "0444" */
#define VOLT_OCI_ANN_REF "vnd.volt.ref"	      /* "<profile>-<id>" on the manifest */

/* The empty config blob every such manifest names. */
#define VOLT_OCI_EMPTY_BLOB "{}"
#define VOLT_OCI_EMPTY_DIGEST \
	"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"

#define VOLT_OCI_MANIFEST_MAX (4u << 20) /* bytes of a manifest (distribution's own bound) */
#define VOLT_OCI_BLOB_MAX (1ull << 34)	 /* bytes of one object blob (16 GiB) */
#define VOLT_OCI_LAYERS_MAX 1000001u	 /* layers: the ref and VOLT_MANIFEST_MAX_OBJECTS */

struct volt_oci_blob {
	struct volt_hash digest; /* SHA-256 of the bytes */
	uint64_t size;
	struct volt_hash object; /* the ref's object name (len 0 for the ref itself) */
	uint32_t mode;		 /* 0555 or 0444 (0644 for the ref) */
	const char *title;	 /* owned by the struct volt_oci, or by the caller when building */
};

struct volt_oci {
	struct volt_oci_blob ref;      /* layers[0] */
	struct volt_oci_blob *objects; /* the other layers, sorted by object name */
	size_t n_objects;
	char *arena; /* owns the titles of a parsed manifest */
};

/*
 * The distinct objects of m into *out (malloc'ed, n to *n), each once with
 * its title (the first path naming it, pointing into m) and object name set;
 * digest, size and mode are for the caller to fill. 0 or -ENOMEM.
 */
int volt_oci_objects(const struct volt_manifest *m, struct volt_oci_blob **out, size_t *n);

/*
 * The manifest JSON for a ref named ref_name (its bytes' digest and size in
 * ref) and its objects as volt_oci_objects gave them, filled in. *json is
 * malloc'ed (not NUL-terminated in *len, though it has one). 0, -ENOMEM, or
 * -EINVAL when an object is missing its digest.
 */
int volt_oci_build(const char *ref_name, const struct volt_oci_blob *ref,
		   const struct volt_oci_blob *objects, size_t n, const char *created_at,
		   char **json, size_t *len);

/*
 * Parse and check len bytes of a manifest a registry sent. 0 with o filled
 * (volt_oci_release), or -EBADMSG (not such a manifest: JSON, types, media
 * types), -EINVAL (a layer that breaks a rule: digest, title, mode,
 * duplicate), -EFBIG (over a bound), -ENOMEM; d says which layer and why.
 */
int volt_oci_parse(struct volt_oci *o, const char *buf, size_t len, struct volt_diag *d);
void volt_oci_release(struct volt_oci *o);

/*
 * Once the ref's bytes are in and parsed into m: every object m names has
 * exactly one blob, every blob is named by m, and a SHA-256 object name is
 * its blob's digest. 0 or -EINVAL (d says which).
 */
int volt_oci_check_ref(const struct volt_oci *o, const struct volt_manifest *m,
		       struct volt_diag *d);

/* The blob for a ref's object name, or NULL. O(log n). */
const struct volt_oci_blob *volt_oci_find(const struct volt_oci *o, const struct volt_hash *object);

#endif
