/* SPDX-License-Identifier: MIT */
/*
 * A client of the OCI distribution API (v2): manifests by tag or digest,
 * blobs by digest, monolithic uploads, with the registry's auth (anonymous,
 * Basic, or Bearer tokens from the challenge's realm, renewed on 401 and
 * expiry) and retries with backoff and jitter for what is safe to repeat.
 * Everything a registry sends is bounded and checked: a manifest's size and
 * digest, a blob's length and SHA-256 before its last byte is accepted.
 *
 * One struct volt_registry is shared by threads (the token under its lock);
 * each thread brings its own struct volt_http.
 */
#ifndef VOLTFS_REGISTRY_H
#define VOLTFS_REGISTRY_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "voltfs/auth.h"
#include "voltfs/cas.h"
#include "voltfs/diag.h"
#include "voltfs/http.h"

#define VOLT_REGISTRY_HOST_MAX 256
#define VOLT_REGISTRY_REPO_MAX 256
#define VOLT_REGISTRY_TAG_MAX 128

/* "http://HOST[:PORT]/REPO" (plain HTTP) or "[https://]HOST[:PORT]/REPO". */
struct volt_registry_addr {
	bool plain_http;
	char host[VOLT_REGISTRY_HOST_MAX]; /* with its :port when given */
	char repo[VOLT_REGISTRY_REPO_MAX]; /* lowercase path components */
};

/* Parse an address. 0, or -EINVAL with d->reason saying why. */
int volt_registry_parse_addr(const char *s, struct volt_registry_addr *a, struct volt_diag *d);
/* "http://host/repo" or "host/repo" (HTTPS) into out. */
void volt_registry_format_addr(const struct volt_registry_addr *a, char *out, size_t size);

/* Is s a tag the distribution API takes ([A-Za-z0-9_][A-Za-z0-9._-]{0,127})? */
bool volt_registry_tag_ok(const char *s);

struct volt_registry {
	struct volt_registry_addr addr;
	struct volt_http_opts http_opts;
	struct volt_creds creds; /* owned copy; user NULL: anonymous */
	bool push;		 /* ask tokens for push as well as pull */
	int attempts;		 /* tries of a request that may be repeated (>= 1) */
	long backoff_ms;	 /* before the second try; doubles, with jitter */
	pthread_mutex_t lock;	 /* over authorization and expiry */
	char *authorization;	 /* the header value that last worked, or NULL */
	struct timespec expiry;	 /* of a Bearer token (CLOCK_MONOTONIC) */
};

/* 0 or -ENOMEM. creds may be NULL (anonymous); it is copied. */
int volt_registry_open(struct volt_registry *r, const struct volt_registry_addr *a,
		       const struct volt_http_opts *opts, const struct volt_creds *creds);
void volt_registry_close(struct volt_registry *r);

/*
 * The errors of every call below: -ENOENT (no such tag, manifest or blob),
 * -EACCES (refused with the credentials there are), -EBADMSG (the registry
 * broke the protocol, or sent what does not match its digest), -EFBIG (over
 * a bound, or longer than announced), -ETIMEDOUT / -ECONNREFUSED /
 * -EHOSTUNREACH / -EPROTO / -EIO (transport), -ENOMEM. d names the
 * registry (file), tag or digest (entry) and why (reason): never a secret.
 */

/*
 * GET the manifest of reference (a tag, or a "sha256:..." digest), at most
 * max bytes, into *buf (malloc'ed, NUL-terminated, *len bytes) and its
 * SHA-256 into digest. A digest reference must match the bytes.
 */
int volt_registry_get_manifest(struct volt_registry *r, struct volt_http *h, const char *reference,
			       size_t max, char **buf, size_t *len, struct volt_hash *digest,
			       struct volt_diag *d);

/* HEAD a tag: the digest of the manifest it names (cheap: no body). */
int volt_registry_head_manifest(struct volt_registry *r, struct volt_http *h, const char *tag,
				struct volt_hash *digest, struct volt_diag *d);

/* PUT a manifest of media_type under tag. */
int volt_registry_put_manifest(struct volt_registry *r, struct volt_http *h, const char *tag,
			       const char *media_type, const void *buf, size_t len,
			       struct volt_diag *d);

/* 1 if the registry has the blob (its size into *size when not NULL), 0 if not. */
int volt_registry_blob_exists(struct volt_registry *r, struct volt_http *h,
			      const struct volt_hash *digest, uint64_t *size, struct volt_diag *d);

/* Upload a blob: size bytes of fd from offset 0, or of buf when fd < 0. */
int volt_registry_put_blob(struct volt_registry *r, struct volt_http *h,
			   const struct volt_hash *digest, int fd, const void *buf, uint64_t size,
			   struct volt_diag *d);

/*
 * GET a blob of exactly size bytes into sink, which sees every byte before
 * the call returns; the call succeeds only if the bytes are size long and
 * their SHA-256 is digest (-EBADMSG, or -EFBIG for a longer body). A
 * failure after some bytes reached the sink means the sink's bytes are not
 * the blob: discard them. Retried from the start when it may be; the sink's
 * reset (may be NULL when attempts is 1) empties it before a retry.
 */
int volt_registry_get_blob(struct volt_registry *r, struct volt_http *h,
			   const struct volt_hash *digest, uint64_t size, volt_http_sink_fn sink,
			   int (*reset)(void *ctx), void *ctx, struct volt_diag *d);

#endif
