// SPDX-License-Identifier: MIT
/*
 * The CAS store: object names and every path into objects/ and refs/.
 * All access is relative to descriptors opened once, never by joined path.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <xxhash.h>

#include "voltfs/cas.h"

/* Lowercase hex digit values plus one; 0 for everything else (uppercase too: one object, one name). */
static const uint8_t hex_plus_one[256] = {
	['0'] = 1,  ['1'] = 2,	['2'] = 3,  ['3'] = 4,	['4'] = 5,  ['5'] = 6,
	['6'] = 7,  ['7'] = 8,	['8'] = 9,  ['9'] = 10, ['a'] = 11, ['b'] = 12,
	['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
};

int volt_hash_parse(struct volt_hash *h, const char *hex, size_t len)
{
	int bad = 0;

	if (len != 2 * VOLT_HASH_XXH128_LEN && len != 2 * VOLT_HASH_SHA256_LEN)
		return -EINVAL;
	for (size_t i = 0; i < len; i += 2) {
		int hi = hex_plus_one[(unsigned char)hex[i]] - 1;
		int lo = hex_plus_one[(unsigned char)hex[i + 1]] - 1;

		bad |= hi | lo; /* negative if either is not a digit */
		h->bytes[i / 2] = (uint8_t)((hi & 15) << 4 | (lo & 15));
	}
	if (bad < 0)
		return -EINVAL;
	h->len = (uint8_t)(len / 2);
	return 0;
}

void volt_hash_format(const struct volt_hash *h, char out[VOLT_HASH_HEX_MAX + 1])
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < h->len; i++) {
		out[2 * i] = digits[h->bytes[i] >> 4];
		out[2 * i + 1] = digits[h->bytes[i] & 15];
	}
	out[2 * h->len] = '\0';
}

bool volt_hash_equal(const struct volt_hash *a, const struct volt_hash *b)
{
	return a->len == b->len && memcmp(a->bytes, b->bytes, a->len) == 0;
}

static void hash_from_xxh128(struct volt_hash *h, XXH128_hash_t v)
{
	XXH128_canonical_t c;

	XXH128_canonicalFromHash(&c, v);
	h->len = VOLT_HASH_XXH128_LEN;
	memcpy(h->bytes, c.digest, VOLT_HASH_XXH128_LEN);
}

void volt_hash_xxh128(struct volt_hash *h, const void *buf, size_t len)
{
	hash_from_xxh128(h, XXH3_128bits(buf, len));
}

/*
 * Feed fd's content, from offset 0, to fn in 1 MiB chunks; stop at fn's
 * first error. The bytes read go to *size. 0 or -errno.
 */
static int read_chunks(int fd, int (*fn)(void *ctx, const void *buf, size_t n), void *ctx,
		       uint64_t *size)
{
	enum { CHUNK = 1 << 20 };
	char *buf = malloc(CHUNK);
	off_t off = 0;
	int ret = 0;

	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n = pread(fd, buf, CHUNK, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			ret = -errno;
		if (n <= 0)
			break;
		ret = fn(ctx, buf, (size_t)n);
		if (ret < 0)
			break;
		off += n;
	}
	free(buf);
	if (size)
		*size = (uint64_t)off;
	return ret;
}

static int xxh128_update(void *ctx, const void *buf, size_t n)
{
	XXH3_128bits_update(ctx, buf, n);
	return 0;
}

int volt_hash_xxh128_fd(struct volt_hash *h, int fd, uint64_t *size_out)
{
	XXH3_state_t *state = XXH3_createState();
	int ret;

	if (!state)
		return -ENOMEM;
	XXH3_128bits_reset(state);
	ret = read_chunks(fd, xxh128_update, state, size_out);
	if (ret == 0)
		hash_from_xxh128(h, XXH3_128bits_digest(state));
	XXH3_freeState(state);
	return ret;
}

static int sha256_update(void *ctx, const void *buf, size_t n)
{
	return EVP_DigestUpdate(ctx, buf, n) == 1 ? 0 : -ENOMEM;
}

int volt_hash_sha256_fd(struct volt_hash *h, int fd, uint64_t *size_out)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ret = -ENOMEM;

	if (ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1)
		ret = read_chunks(fd, sha256_update, ctx, size_out);
	if (ret == 0 && EVP_DigestFinal_ex(ctx, h->bytes, NULL) != 1)
		ret = -ENOMEM;
	h->len = ret == 0 ? VOLT_HASH_SHA256_LEN : 0;
	EVP_MD_CTX_free(ctx);
	return ret;
}

int volt_cas_verify_fd(int fd, const struct volt_hash *h)
{
	struct volt_hash got = { .len = h->len };
	int ret;

	if (h->len == VOLT_HASH_XXH128_LEN)
		ret = volt_hash_xxh128_fd(&got, fd, NULL);
	else if (h->len == VOLT_HASH_SHA256_LEN)
		ret = volt_hash_sha256_fd(&got, fd, NULL);
	else
		return -EINVAL;
	if (ret < 0)
		return ret;
	return volt_hash_equal(&got, h) ? 0 : -EIO;
}

static int open_dir_at(int dirfd, const char *name, bool create)
{
	int fd;

	if (create && mkdirat(dirfd, name, 0755) < 0 && errno != EEXIST)
		return -errno;
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int volt_cas_open(struct volt_cas *cas, const char *path, bool create)
{
	int ret;

	cas->root_fd = cas->refs_fd = cas->objects_fd = -1;
	cas->path = strdup(path);
	if (!cas->path)
		return -ENOMEM;
	ret = open_dir_at(AT_FDCWD, path, create);
	if (ret < 0)
		goto fail;
	cas->root_fd = ret;
	ret = open_dir_at(cas->root_fd, "refs", create);
	if (ret < 0)
		goto fail;
	cas->refs_fd = ret;
	ret = open_dir_at(cas->root_fd, "objects", create);
	if (ret < 0)
		goto fail;
	cas->objects_fd = ret;
	return 0;
fail:
	volt_cas_release(cas);
	return ret;
}

void volt_cas_release(struct volt_cas *cas)
{
	if (cas->objects_fd >= 0)
		close(cas->objects_fd);
	if (cas->refs_fd >= 0)
		close(cas->refs_fd);
	if (cas->root_fd >= 0)
		close(cas->root_fd);
	free(cas->path);
	cas->root_fd = cas->refs_fd = cas->objects_fd = -1;
	cas->path = NULL;
}

/*
 * A link in objects/ is refused (ELOOP, then EIO). voltfs-test-nocheck, a
 * test-only build never installed, follows it, so that test_confine shows the
 * daemon's Landlock domain refusing an object that leads outside the store.
 */
#ifdef VOLTFS_TEST_NO_PATH_CHECK
#define OBJECT_NOFOLLOW 0
#define OBJECT_STAT_NOFOLLOW 0
#else
#define OBJECT_NOFOLLOW O_NOFOLLOW
#define OBJECT_STAT_NOFOLLOW AT_SYMLINK_NOFOLLOW
#endif

int volt_cas_stat_object(const struct volt_cas *cas, const struct volt_hash *h, struct stat *st)
{
	char name[VOLT_HASH_HEX_MAX + 1];

	volt_hash_format(h, name);
	if (fstatat(cas->objects_fd, name, st, OBJECT_STAT_NOFOLLOW) < 0)
		return -errno;
	return S_ISREG(st->st_mode) ? 0 : -EIO;
}

/*
 * Open for reading the very inode that fd_path (O_PATH) refers to: through
 * /proc, so that nothing put in its name meanwhile is opened instead. Where
 * /proc is not mounted, by name again, refused if the name now holds another
 * inode (-ESTALE; what was opened is closed unread).
 */
static int reopen_checked(int dirfd, const char *name, int fd_path, const struct stat *st)
{
	char proc[64];
	struct stat now;
	int fd;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd_path);
	fd = open(proc, O_RDONLY | O_CLOEXEC);
	if (fd >= 0 || (errno != ENOENT && errno != ENOTDIR))
		return fd < 0 ? -errno : fd;
	/* O_NONBLOCK: should a FIFO have been put in place meanwhile, do not hang on it. */
	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return errno == ELOOP ? -ESTALE : -errno;
	if (fstat(fd, &now) < 0 || now.st_dev != st->st_dev || now.st_ino != st->st_ino) {
		close(fd);
		return -ESTALE;
	}
	return fd;
}

int volt_cas_open_object(const struct volt_cas *cas, const struct volt_hash *h, struct stat *st)
{
	char name[VOLT_HASH_HEX_MAX + 1];
	int fd_path, fd;

	volt_hash_format(h, name);
	st->st_mode = 0;
	/*
	 * Its type is checked before anything opens it for reading: opening a
	 * device node or a FIFO can have effects of its own. O_PATH opens
	 * nothing (a symbolic link itself, with O_NOFOLLOW).
	 */
	fd_path = openat(cas->objects_fd, name, O_PATH | OBJECT_NOFOLLOW | O_CLOEXEC);
	if (fd_path < 0)
		return -errno;
	if (fstat(fd_path, st) < 0) {
		fd = -errno;
		st->st_mode = 0;
	} else if (!S_ISREG(st->st_mode)) {
		fd = -EIO;
	} else {
		fd = reopen_checked(cas->objects_fd, name, fd_path, st);
	}
	close(fd_path);
	return fd;
}

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Copy src into dst, hashing what was copied: the object is what was hashed. */
static int copy_fd_hashed(int dst, int src, struct volt_hash *h)
{
	char buf[1 << 16];
	XXH3_state_t *state = XXH3_createState();
	off_t off = 0;
	int ret = 0;

	if (!state)
		return -ENOMEM;
	XXH3_128bits_reset(state);
	for (;;) {
		ssize_t n = pread(src, buf, sizeof(buf), off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			break;
		}
		if (n == 0)
			break;
		XXH3_128bits_update(state, buf, (size_t)n);
		ret = write_all(dst, buf, (size_t)n);
		if (ret < 0)
			break;
		off += n;
	}
	if (ret == 0)
		hash_from_xxh128(h, XXH3_128bits_digest(state));
	XXH3_freeState(state);
	return ret;
}

/*
 * Write into dirfd/name atomically: an O_TMPFILE-like temporary name, fsync,
 * then rename (or link, for objects: never replace one that raced us in).
 */
static int put_atomic(int dirfd, const char *name, mode_t mode, bool replace,
		      int (*fill)(int fd, const void *arg), const void *arg)
{
	static unsigned long seq; /* threads of one process write at once */
	char tmp[128];
	int fd, ret;

	snprintf(tmp, sizeof(tmp), ".tmp-%ld-%lu-%s", (long)getpid(),
		 __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED), name);
	/* Read-write: a writer may check what it wrote before the name is given. */
	fd = openat(dirfd, tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	ret = fill(fd, arg);
	if (ret == 0 && fchmod(fd, mode) < 0)
		ret = -errno;
	if (ret == 0 && fsync(fd) < 0)
		ret = -errno;
	if (close(fd) < 0 && ret == 0)
		ret = -errno;
	if (ret == 0) {
		if (replace)
			ret = renameat(dirfd, tmp, dirfd, name) < 0 ? -errno : 0;
		else
			ret = linkat(dirfd, tmp, dirfd, name, 0) < 0 && errno != EEXIST ? -errno
											: 0;
	}
	if (ret < 0 || !replace)
		unlinkat(dirfd, tmp, 0);
	return ret;
}

struct fd_arg {
	int src;
	struct volt_hash expect;
};

static int fill_from_fd(int fd, const void *arg)
{
	const struct fd_arg *a = arg;
	struct volt_hash got;
	int ret = copy_fd_hashed(fd, a->src, &got);

	if (ret == 0 && !volt_hash_equal(&got, &a->expect))
		ret = -EAGAIN; /* the source changed between hashing and copying */
	return ret;
}

int volt_cas_put_fd(struct volt_cas *cas, int src_fd, bool exec, struct volt_hash *out,
		    uint64_t *size_out, bool *written)
{
	char name[VOLT_HASH_HEX_MAX + 1];
	struct fd_arg arg = { .src = src_fd };
	bool replace = false;
	struct stat st;
	int ret;

	*written = false;
	ret = volt_hash_xxh128_fd(out, src_fd, size_out);
	if (ret < 0)
		return ret;
	volt_hash_format(out, name);
	if (fstatat(cas->objects_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		/* Written once: content named by its hash never changes... */
		if (S_ISREG(st.st_mode) && (uint64_t)st.st_size == *size_out)
			return 0;
		/* ...unless what is there is not it: repair by replacing, atomically. */
		replace = true;
	} else if (errno != ENOENT) {
		return -errno;
	}
	arg.expect = *out;
	ret = put_atomic(cas->objects_fd, name, exec ? 0555 : 0444, replace, fill_from_fd, &arg);
	if (ret == 0)
		*written = true;
	return ret;
}

struct fill_arg {
	int (*fill)(int fd, void *ctx);
	void *ctx;
	const struct volt_hash *h;
};

static int fill_checked(int fd, const void *arg)
{
	const struct fill_arg *a = arg;
	int ret = a->fill(fd, a->ctx);

	/* The bytes are the object's or no name is ever given to them. */
	return ret < 0 ? ret : volt_cas_verify_fd(fd, a->h);
}

int volt_cas_put_object(struct volt_cas *cas, const struct volt_hash *h, bool exec,
			int (*fill)(int fd, void *ctx), void *ctx)
{
	char name[VOLT_HASH_HEX_MAX + 1];
	struct fill_arg a = { fill, ctx, h };

	volt_hash_format(h, name);
	return put_atomic(cas->objects_fd, name, exec ? 0555 : 0444, false, fill_checked, &a);
}

struct buf_arg {
	const void *buf;
	size_t len;
};

static int fill_from_buf(int fd, const void *arg)
{
	const struct buf_arg *b = arg;

	return write_all(fd, b->buf, b->len);
}

int volt_cas_put_ref(struct volt_cas *cas, const char *name, const void *buf, size_t len)
{
	struct buf_arg b = { buf, len };
	int ret;

	/*
	 * Durable in order: the objects' names before the ref that names them,
	 * then the ref's own name. A crash never leaves a ref without its objects.
	 */
	if (fsync(cas->objects_fd) < 0)
		return -errno;
	ret = put_atomic(cas->refs_fd, name, 0644, true, fill_from_buf, &b);
	if (ret == 0 && fsync(cas->refs_fd) < 0)
		ret = -errno;
	return ret;
}
