// SPDX-License-Identifier: MIT
/*
 * Eager assembly, as the reference's Resolve/assembleFromCAS do it: a real
 * folder of hard links into objects/, copies where a link cannot be made.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "voltfs/assemble.h"
#include "voltfs/refs.h"

static int mkdir_p(const char *path)
{
	char buf[4096];
	size_t len = strlen(path);

	if (len == 0 || len >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;

		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = c;
		if (!c)
			return 0;
	}
}

/* Make the parent folders of path under dirfd. */
static int mkdir_parents_at(int dirfd, const char *path)
{
	char buf[VOLT_PATH_MAX + 1];

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = strchr(buf, '/'); p; p = strchr(p + 1, '/')) {
		*p = '\0';
		if (mkdirat(dirfd, buf, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return 0;
}

/* Copy up to 64 KiB at offset off with pread/write; bytes copied or -1 with errno. */
static ssize_t copy_chunk(int src, int dst, off_t off)
{
	char buf[1 << 16];
	ssize_t n = pread(src, buf, sizeof(buf), off), done = 0;

	if (n <= 0)
		return n;
	while (done < n) {
		ssize_t w = write(dst, buf + done, (size_t)(n - done));

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		done += w;
	}
	return n;
}

static int copy_object(const struct volt_cas *cas, const struct volt_hash *h, int dirfd,
		       const char *path)
{
	struct stat st;
	off_t left;
	int src, dst, ret = 0;

	src = volt_cas_open_object(cas, h, &st);
	if (src < 0)
		return src;
	dst = openat(dirfd, path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, st.st_mode & 0555);
	if (dst < 0) {
		ret = -errno;
		goto out;
	}
	for (left = st.st_size; left > 0;) {
		ssize_t n = copy_file_range(src, NULL, dst, NULL, (size_t)left, 0);

		/* Across file systems some kernels refuse: copy by hand. */
		if (n < 0 &&
		    (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP))
			n = copy_chunk(src, dst, st.st_size - left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ret = n < 0 ? -errno : -EIO;
			break;
		}
		left -= n;
	}
	if (close(dst) < 0 && ret == 0)
		ret = -errno;
	if (ret < 0)
		unlinkat(dirfd, path, 0); /* never leave a short file that looks assembled */
out:
	close(src);
	return ret;
}

int volt_assemble(const struct volt_cas *cas, const struct volt_manifest *m, const char *dest,
		  struct volt_assemble_stats *stats, struct volt_diag *d)
{
	static const char *const dirs[] = { "bin", "lib", "firmware" };
	int dirfd, ret;

	memset(stats, 0, sizeof(*stats));
	ret = mkdir_p(dest);
	if (ret < 0)
		return volt_diag_set(d, ret, dest, "cannot make folder: %s", strerror(-ret));
	dirfd = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return volt_diag_set(d, -errno, dest, "cannot open: %s", strerror(errno));
	for (int i = 0; i < 3; i++) {
		if (mkdirat(dirfd, dirs[i], 0755) < 0 && errno != EEXIST) {
			ret = volt_diag_set(d, -errno, dirs[i], "mkdir: %s", strerror(errno));
			goto out;
		}
	}
	for (size_t i = 0; i < m->n_entries; i++) {
		const struct volt_manifest_entry *e = &m->entries[i];
		char hex[VOLT_HASH_HEX_MAX + 1];
		struct stat st;

		volt_hash_format(&e->hash, hex);
		ret = mkdir_parents_at(dirfd, e->path);
		if (ret < 0) {
			volt_diag_set(d, ret, e->path, "mkdir: %s", strerror(-ret));
			goto out;
		}
		/* A link in objects/ would be linked as a link: only regular files. */
		ret = volt_cas_stat_object(cas, &e->hash, &st);
		if (ret < 0) {
			volt_diag_set(d, ret, e->path, "object %s: %s", hex,
				      ret == -EIO ? "not a regular file" : strerror(-ret));
			goto out;
		}
		if (linkat(cas->objects_fd, hex, dirfd, e->path, 0) == 0) {
			stats->linked++;
			continue;
		}
		if (errno == EEXIST) {
			ret = volt_diag_set(d, -EEXIST, e->path, "already exists in %s", dest);
			goto out;
		}
		ret = copy_object(cas, &e->hash, dirfd, e->path);
		if (ret < 0) {
			volt_diag_set(d, ret, e->path, "link/copy %s: %s", hex, strerror(-ret));
			goto out;
		}
		stats->copied++;
	}
	ret = 0;
out:
	close(dirfd);
	return ret;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	remove(path);
	return 0;
}

static void remove_tree(const char *path)
{
	nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

int volt_resolve(const struct volt_cas *cas, enum volt_profile p, const char *arch,
		 const char *base, struct volt_resolved *r, struct volt_diag *d)
{
	const char *name = volt_profile_name(p);
	struct volt_assemble_stats stats;
	struct volt_manifest m;
	struct volt_ref ref;
	char bin[128], dir[3800], partial[3900];
	struct stat st;
	int ret;

	if (!name)
		return volt_diag_set(d, -EINVAL, NULL, "invalid QEMU profile");
	memset(r, 0, sizeof(*r));
	r->profile = p;
	snprintf(r->arch, sizeof(r->arch), "%s", volt_profile_arch(arch));
	ret = volt_profile_binary_name(arch, bin, sizeof(bin));
	if (ret < 0)
		return volt_diag_set(d, ret, NULL, "arch name too long");
	if ((size_t)snprintf(dir, sizeof(dir), "%s/%s", base, name) >= sizeof(dir))
		return volt_diag_set(d, -ENAMETOOLONG, base, "path too long");
	snprintf(r->binary, sizeof(r->binary), "%s/bin/%s", dir, bin);
	snprintf(r->firmware, sizeof(r->firmware), "%s/firmware", dir);
	snprintf(r->lib, sizeof(r->lib), "%s/lib", dir);
	if (stat(r->binary, &st) == 0)
		return 0; /* assembled before */
	ret = volt_refs_load_best(cas, p, &m, &ref, NULL, NULL);
	if (ret < 0)
		return volt_diag_set(d, ret, NULL, "QEMU profile %s not found in CAS", name);
	/* Assemble beside and rename into place: a half-made folder never looks assembled. */
	snprintf(partial, sizeof(partial), "%s.partial-%ld", dir, (long)getpid());
	ret = volt_assemble(cas, &m, partial, &stats, d);
	volt_manifest_release(&m);
	if (ret == 0 && rename(partial, dir) < 0)
		ret = volt_diag_set(d, -errno, dir, "rename into place: %s", strerror(errno));
	if (ret < 0) {
		remove_tree(partial);
		return ret;
	}
	if (stat(r->binary, &st) < 0)
		return volt_diag_set(d, -ENOEXEC, r->binary,
				     "QEMU binary not found after assembly");
	return 0;
}
