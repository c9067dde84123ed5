/* SPDX-License-Identifier: MIT */
/*
 * SHA-256 (libcrypto) as the OCI registries address blobs: a streaming
 * context, a one-shot helper, and the "sha256:<64 hex>" digest string (a
 * descriptor's SHA-256 is volt_hash_sha256_fd, with the store's hashes). The
 * result is a struct volt_hash of length 32, the same value a 64-character
 * object name holds.
 */
#ifndef VOLTFS_DIGEST_H
#define VOLTFS_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#include "voltfs/cas.h"

#define VOLT_DIGEST_PREFIX "sha256:"
#define VOLT_DIGEST_STR_MAX (sizeof(VOLT_DIGEST_PREFIX) - 1 + 2 * VOLT_HASH_SHA256_LEN + 1)

struct volt_sha256 {
	void *ctx; /* EVP_MD_CTX, owned */
};

/* 0, or -ENOMEM. On failure s holds nothing. */
int volt_sha256_init(struct volt_sha256 *s);
/* 0, or -ENOMEM (libcrypto failed). */
int volt_sha256_update(struct volt_sha256 *s, const void *buf, size_t len);
/* The digest into out (len 32), then s is released. 0 or -ENOMEM. */
int volt_sha256_final(struct volt_sha256 *s, struct volt_hash *out);
/* Free s without a result; safe on a released or zeroed context. */
void volt_sha256_release(struct volt_sha256 *s);

/* SHA-256 of a buffer. 0 or -ENOMEM. */
int volt_sha256_buf(struct volt_hash *out, const void *buf, size_t len);

/* Parse exactly "sha256:" and 64 lowercase hex characters of s[0..len). 0 or -EINVAL. */
int volt_digest_parse(struct volt_hash *h, const char *s, size_t len);
/* "sha256:<hex>" of a 32-byte hash into out. */
void volt_digest_format(const struct volt_hash *h, char out[VOLT_DIGEST_STR_MAX]);

#endif
