/* SPDX-License-Identifier: MIT */
/*
 * The content-addressed store: object names, object paths and safe access.
 *
 *   <cas>/refs/<profile>-<id>.json   manifests
 *   <cas>/objects/<hash>             the exact bytes of one file
 *
 * An object name is lowercase hex: 32 characters (XXH3-128, canonical
 * big-endian, as `xxhsum -H2` prints) or 64 (SHA-256). Nothing else is an
 * object name, so a name can never hold '/', '.' or NUL, and every object
 * lives directly in objects/. All object access goes through a descriptor
 * on objects/ with O_NOFOLLOW: a link planted in the store is refused, never
 * followed.
 */
#ifndef VOLTFS_CAS_H
#define VOLTFS_CAS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#define VOLT_HASH_XXH128_LEN 16
#define VOLT_HASH_SHA256_LEN 32
#define VOLT_HASH_MAX_LEN 32
#define VOLT_HASH_HEX_MAX (2 * VOLT_HASH_MAX_LEN)

struct volt_hash {
	uint8_t len; /* 16 (XXH3-128) or 32 (SHA-256); 0 = none */
	uint8_t bytes[VOLT_HASH_MAX_LEN];
};

/* Parse an object name of len characters. 0, or -EINVAL if it is not one. */
int volt_hash_parse(struct volt_hash *h, const char *hex, size_t len);

/* Write the object name (2 * h->len hex chars and a NUL) into out. */
void volt_hash_format(const struct volt_hash *h, char out[VOLT_HASH_HEX_MAX + 1]);

bool volt_hash_equal(const struct volt_hash *a, const struct volt_hash *b);

/* XXH3-128 of a buffer, as a volt_hash of length 16. Cannot fail. */
void volt_hash_xxh128(struct volt_hash *h, const void *buf, size_t len);

/* XXH3-128 of a descriptor's content from offset 0. 0 or -errno. */
int volt_hash_xxh128_fd(struct volt_hash *h, int fd, uint64_t *size_out);
/* SHA-256 of a descriptor's content from offset 0, as a volt_hash of length 32. 0 or -errno. */
int volt_hash_sha256_fd(struct volt_hash *h, int fd, uint64_t *size_out);

/*
 * Is the content of fd (read from offset 0) the object h names? XXH3-128
 * for 16-byte names, SHA-256 (libcrypto) for 32-byte ones. 0 if it is,
 * -EIO if not (corrupt or truncated), or -errno from reading. Thread-safe.
 */
int volt_cas_verify_fd(int fd, const struct volt_hash *h);

struct volt_cas {
	int root_fd;	/* <cas> */
	int refs_fd;	/* <cas>/refs */
	int objects_fd; /* <cas>/objects */
	char *path;	/* <cas> as given, owned */
};

#define VOLT_CAS_DEFAULT "/var/lib/volt/cas"

/*
 * Open an existing store. With create, make <cas>, refs/ and objects/ first
 * (mode 0755) where missing. 0 or -errno (-ENOENT / -ENOTDIR when it is not
 * a store). On failure cas holds nothing.
 */
int volt_cas_open(struct volt_cas *cas, const char *path, bool create);
void volt_cas_release(struct volt_cas *cas);

/* lstat of an object: 0, -ENOENT if absent, -EIO if it is not a regular file. */
int volt_cas_stat_object(const struct volt_cas *cas, const struct volt_hash *h, struct stat *st);

/*
 * Open an object read-only (O_NOFOLLOW, O_CLOEXEC) and fstat it; its type is
 * checked first (O_PATH), so what is not a regular file is never opened for
 * reading. Returns the descriptor (>= 0, owned by the caller), -ENOENT if
 * absent, -EIO if it is not a regular file (st then says what it is), or
 * another -errno.
 */
int volt_cas_open_object(const struct volt_cas *cas, const struct volt_hash *h, struct stat *st);

/*
 * Store the content of src_fd (read from offset 0) as an XXH3-128 object.
 * An object that exists already with the right size is left as it is (one
 * of another size is corrupt and replaced); a new one is written to a
 * temporary file, fsync'ed and renamed into place, so readers never see a
 * partial object. exec keeps the execute bits (0555 vs 0444).
 * *written tells whether a new object was made. 0 or -errno.
 */
int volt_cas_put_fd(struct volt_cas *cas, int src_fd, bool exec, struct volt_hash *out,
		    uint64_t *size_out, bool *written);

/*
 * Store the object h from fill, which writes its bytes into fd (a temporary
 * file in objects/, from offset 0; a download, say). The bytes are checked
 * against h before the object gets its name: -EIO if they are not h, and
 * nothing is stored. An object already there is kept. 0 or -errno.
 */
int volt_cas_put_object(struct volt_cas *cas, const struct volt_hash *h, bool exec,
			int (*fill)(int fd, void *ctx), void *ctx);

/*
 * Store a buffer as a ref file named name in refs/, atomically and durably:
 * objects/ is synced first, so the objects a ref names survive a crash that
 * the ref survives. 0 or -errno.
 */
int volt_cas_put_ref(struct volt_cas *cas, const char *name, const void *buf, size_t len);

#endif
