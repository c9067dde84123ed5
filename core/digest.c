// SPDX-License-Identifier: MIT
/* SHA-256 through libcrypto's EVP interface, and OCI digest strings. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "voltfs/digest.h"

int volt_sha256_init(struct volt_sha256 *s)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	s->ctx = NULL;
	if (!ctx)
		return -ENOMEM;
	if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(ctx);
		return -ENOMEM;
	}
	s->ctx = ctx;
	return 0;
}

int volt_sha256_update(struct volt_sha256 *s, const void *buf, size_t len)
{
	return EVP_DigestUpdate(s->ctx, buf, len) == 1 ? 0 : -ENOMEM;
}

int volt_sha256_final(struct volt_sha256 *s, struct volt_hash *out)
{
	int ret = EVP_DigestFinal_ex(s->ctx, out->bytes, NULL) == 1 ? 0 : -ENOMEM;

	out->len = ret == 0 ? VOLT_HASH_SHA256_LEN : 0;
	volt_sha256_release(s);
	return ret;
}

void volt_sha256_release(struct volt_sha256 *s)
{
	EVP_MD_CTX_free(s->ctx);
	s->ctx = NULL;
}

int volt_sha256_buf(struct volt_hash *out, const void *buf, size_t len)
{
	struct volt_sha256 s;
	int ret = volt_sha256_init(&s);

	if (ret < 0)
		return ret;
	ret = volt_sha256_update(&s, buf, len);
	if (ret < 0) {
		volt_sha256_release(&s);
		return ret;
	}
	return volt_sha256_final(&s, out);
}

int volt_digest_parse(struct volt_hash *h, const char *s, size_t len)
{
	size_t plen = sizeof(VOLT_DIGEST_PREFIX) - 1;

	if (len != plen + 2 * VOLT_HASH_SHA256_LEN || memcmp(s, VOLT_DIGEST_PREFIX, plen) != 0)
		return -EINVAL;
	return volt_hash_parse(h, s + plen, len - plen);
}

void volt_digest_format(const struct volt_hash *h, char out[VOLT_DIGEST_STR_MAX])
{
	size_t plen = sizeof(VOLT_DIGEST_PREFIX) - 1;

	memcpy(out, VOLT_DIGEST_PREFIX, plen);
	volt_hash_format(h, out + plen);
}
