// SPDX-License-Identifier: MIT
/*
 * Listings as a program walks them: a listing resumed at any position that
 * telldir gave (seekdir, or lseek of the descriptor and getdents64) lists
 * each entry after it exactly once, at the root and in folders larger than
 * one reply; and every entry's d_ino is the st_ino that lstat gives it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "support.h"

/* lib/ holds more entries than one 4 KiB reply: the daemon is asked to resume. */
#define LIB_FILES 300

static char *dir, *cas, *mnt;
static struct vt_mount m;

static void setup(void)
{
	char hex[VOLT_HASH_HEX_MAX + 1], ref[64], *json, *at;
	size_t cap = 64 * (LIB_FILES + 8), len = 0;
	static const char *const profiles[] = { "kvm-linux", "emulate-x86", "emulate-foreign" };

	dir = vt_tmpdir();
	cas = vt_join(dir, "cas");
	mnt = vt_join(dir, "mnt");
	vt_cas_init(cas);
	for (int p = 0; p < 3; p++) {
		json = malloc(cap + 4 * VOLT_HASH_HEX_MAX * (LIB_FILES + 8));
		at = json;
		vt_put_object(cas, profiles[p], strlen(profiles[p]), 0555, hex);
		len = (size_t)sprintf(at,
				      "{\"name\": \"%s\", \"created_at\": "
				      "\"2026-01-01T00:00:00Z\", "
				      "\"objects\": {\"bin/qemu-system-x86_64\": \"%s\"",
				      profiles[p], hex);
		for (int i = 0; i < LIB_FILES; i++) {
			char body[64];

			snprintf(body, sizeof(body), "%s lib %d\n", profiles[p], i);
			vt_put_object(cas, body, strlen(body), 0444, hex);
			len += (size_t)sprintf(at + len, ", \"lib/l%03d.so\": \"%s\"", i, hex);
		}
		/* A folder and a file at the same level, and one shared object. */
		vt_put_object(cas, "shared\n", 7, 0444, hex);
		len += (size_t)sprintf(at + len,
				       ", \"share/a/one\": \"%s\", \"share/b\": \"%s\", "
				       "\"share/c\": \"%s\"}}",
				       hex, hex, hex);
		vt_put_ref(cas, profiles[p], json, ref);
		free(json);
	}
	vt_mount(&m, cas, mnt, NULL);
}

static void teardown(void)
{
	vt_mount_cleanup(&m);
	vt_rmtree(dir);
	free(cas);
	free(mnt);
	free(dir);
}

TestSuite(readdir, .init = setup, .fini = teardown, .timeout = 120);

struct listing {
	char **names;
	long *pos; /* telldir after each entry: where the next one starts */
	size_t n;
};

static void listing_free(struct listing *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->names[i]);
	free(l->names);
	free(l->pos);
}

/* The whole listing of path, with the position after each entry. */
static struct listing list_all(const char *path)
{
	struct listing l = { 0 };
	size_t cap = 0;
	struct dirent *de;
	DIR *d = opendir(path);

	cr_assert_not_null(d, "opendir %s: %s", path, strerror(errno));
	while ((errno = 0, de = readdir(d))) {
		/* A listing that repeats itself would never end. */
		cr_assert_lt(l.n, 10000, "%s: a listing without end (at '%s')", path, de->d_name);
		if (l.n == cap) {
			cap = cap ? 2 * cap : 64;
			l.names = realloc(l.names, cap * sizeof(*l.names));
			l.pos = realloc(l.pos, cap * sizeof(*l.pos));
		}
		l.names[l.n] = strdup(de->d_name);
		l.pos[l.n++] = telldir(d);
	}
	cr_assert_eq(errno, 0, "readdir %s: %s", path, strerror(errno));
	closedir(d);
	return l;
}

/* Every name listed once; the names want (NULL-terminated) among them. */
static void expect_each_once(const char *path, const struct listing *l, const char *const *want)
{
	for (size_t i = 0; i < l->n; i++)
		for (size_t j = i + 1; j < l->n; j++)
			cr_assert_str_neq(l->names[i], l->names[j], "%s lists '%s' twice", path,
					  l->names[i]);
	for (; *want; want++) {
		size_t i = 0;

		while (i < l->n && strcmp(l->names[i], *want) != 0)
			i++;
		cr_assert_lt(i, l->n, "%s does not list '%s'", path, *want);
	}
}

/*
 * Resume the listing of path after each entry k, in a new stream: with
 * seekdir (glibc's own buffer) and with lseek + getdents64 (what the kernel
 * gives, no library between). The rest must be exactly entries k+1...
 */
static void expect_resumable(const char *path, const struct listing *l)
{
	for (size_t k = 0; k < l->n; k++) {
		struct dirent *de;
		size_t next = k + 1;
		DIR *d = opendir(path);
		char buf[8192];
		long got;
		int fd;

		cr_assert_not_null(d);
		seekdir(d, l->pos[k]);
		while ((de = readdir(d))) {
			cr_assert_lt(next, l->n, "%s after '%s' (seekdir): '%s' past the end", path,
				     l->names[k], de->d_name);
			cr_assert_str_eq(de->d_name, l->names[next],
					 "%s after '%s' (seekdir): '%s', want '%s'", path,
					 l->names[k], de->d_name, l->names[next]);
			next++;
		}
		closedir(d);
		cr_assert_eq(next, l->n, "%s after '%s' (seekdir): ends at '%s'", path, l->names[k],
			     l->names[next]);

		fd = open(path, O_RDONLY | O_DIRECTORY);
		cr_assert_geq(fd, 0);
		cr_assert_eq(lseek(fd, l->pos[k], SEEK_SET), l->pos[k]);
		next = k + 1;
		while ((got = syscall(SYS_getdents64, fd, buf, sizeof(buf))) > 0) {
			for (long at = 0; at < got;) {
				const char *name =
					buf + at + 19; /* d_ino, d_off, d_reclen, d_type */

				cr_assert_lt(next, l->n, "%s after '%s' (lseek): '%s' past the end",
					     path, l->names[k], name);
				cr_assert_str_eq(name, l->names[next],
						 "%s after '%s' (lseek): '%s', want '%s'", path,
						 l->names[k], name, l->names[next]);
				next++;
				at += *(unsigned short *)(buf + at + 16);
			}
		}
		cr_assert_eq(got, 0, "getdents64: %s", strerror(errno));
		close(fd);
		cr_assert_eq(next, l->n, "%s after '%s' (lseek): ends at '%s'", path, l->names[k],
			     l->names[next]);
	}
}

Test(readdir, root_resumed_at_every_offset)
{
	static const char *const want[] = {
		".", "..", "kvm-linux", "emulate-x86", "emulate-foreign", "default", NULL
	};
	struct listing l = list_all(mnt);

	cr_assert_eq(l.n, 6, "the root lists %zu entries", l.n);
	expect_each_once(mnt, &l, want);
	expect_resumable(mnt, &l);
	listing_free(&l);
}

Test(readdir, folders_resumed_at_every_offset)
{
	static const char *const in_lib[] = { ".", "..", "l000.so", "l299.so", NULL };
	static const char *const in_share[] = { ".", "..", "a", "b", "c", NULL };
	/* firmware/ is there even when the build names nothing in it. */
	static const char *const in_profile[] = { ".",	   "..",   "bin", "lib",  "firmware",
						  "share", "args", "env", "unit", NULL };
	const struct {
		const char *rel;
		const char *const *want;
		size_t n;
	} folders[] = {
		{ "kvm-linux/lib", in_lib, LIB_FILES + 2 },
		{ "emulate-x86/share", in_share, 5 },
		{ "kvm-linux", in_profile, 9 },
	};

	for (size_t i = 0; i < sizeof(folders) / sizeof(*folders); i++) {
		char *path = vt_join(mnt, folders[i].rel);
		struct listing l = list_all(path);

		cr_assert_eq(l.n, folders[i].n, "%s lists %zu entries, want %zu", path, l.n,
			     folders[i].n);
		expect_each_once(path, &l, folders[i].want);
		expect_resumable(path, &l);
		listing_free(&l);
		free(path);
	}
}

/*
 * d_ino of every entry (but "..", which at the root names another filesystem)
 * is lstat's st_ino. The whole listing is read first, with no lookup between
 * its reads: then the kernel asks for the rest of a large folder with plain
 * READDIR, not READDIRPLUS, and both replies are checked.
 */
static void expect_dino_is_stino(const char *path, int depth)
{
	struct dirent *de;
	DIR *d = opendir(path);
	char **names = NULL;
	ino_t *inos = NULL;
	size_t n = 0;

	cr_assert_not_null(d, "opendir %s: %s", path, strerror(errno));
	while ((de = readdir(d))) {
		cr_assert_lt(n, 10000, "%s: a listing without end", path);
		names = realloc(names, (n + 1) * sizeof(*names));
		inos = realloc(inos, (n + 1) * sizeof(*inos));
		names[n] = strdup(de->d_name);
		inos[n++] = (ino_t)de->d_ino;
	}
	closedir(d);
	cr_assert_gt(n, 0, "%s: not even '.' listed", path);
	for (size_t i = 0; i < n; i++) {
		struct stat st;
		char *child = vt_join(path, names[i]);

		if (strcmp(names[i], "..") != 0) {
			cr_assert_eq(lstat(child, &st), 0, "lstat %s: %s", child, strerror(errno));
			cr_assert_eq(inos[i], st.st_ino, "%s: d_ino %ju, st_ino %ju", child,
				     (uintmax_t)inos[i], (uintmax_t)st.st_ino);
			if (S_ISDIR(st.st_mode) && strcmp(names[i], ".") != 0 && depth < 4)
				expect_dino_is_stino(child, depth + 1);
		}
		free(child);
		free(names[i]);
	}
	free(names);
	free(inos);
}

Test(readdir, d_ino_is_st_ino)
{
	char *lib = vt_join(mnt, "kvm-linux/lib");
	struct listing l;

	/* Listed before anything in it was looked up: the kernel's own entries. */
	expect_dino_is_stino(lib, 4);
	/* A second listing, now that every entry was looked up. */
	l = list_all(lib);
	cr_assert_eq(l.n, LIB_FILES + 2);
	listing_free(&l);
	expect_dino_is_stino(lib, 4);
	/* Everything else, the root included. */
	expect_dino_is_stino(mnt, 0);
	free(lib);
}
