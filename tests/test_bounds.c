// SPDX-License-Identifier: MIT
/*
 * Every documented bound of include/voltfs/manifest.h at its edge and one
 * past it: manifest bytes (parsed and loaded from refs/), entries per
 * manifest, path length, name length and depth. At the edge the manifest is
 * accepted whole (and builds a tree); one past it, refused with the reason.
 * On a real mount, a path at the depth and length limits at once is served
 * and readable, walked one name at a time since it does not fit in the
 * kernel's PATH_MAX once the mount point is in front of it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "support.h"
#include "voltfs/manifest.h"
#include "voltfs/tree.h"

#define H1 "6bba86c7e069f56d5a10b435f1c8e49c"
#define HEAD "{\"name\":\"t\",\"created_at\":\"2026-01-02T03:04:05Z\",\"objects\":{"

int __lsan_do_recoverable_leak_check(void) __attribute__((weak));

static void check_leaks(void)
{
	if (__lsan_do_recoverable_leak_check && __lsan_do_recoverable_leak_check()) {
		fprintf(stderr, "LeakSanitizer: this test leaks (report above)\n");
		abort();
	}
}

TestSuite(bounds, .fini = check_leaks, .timeout = 240);

/*
 * A path of len bytes in depth components, the first first_len bytes long
 * and the rest sharing what is left evenly; component i is made of one
 * letter, so every name differs from its neighbours (malloc'ed).
 */
static char *make_path(size_t len, size_t depth, size_t first_len)
{
	size_t rest = len - (depth - 1) - first_len, pos = 0;
	char *p = malloc(len + 1);

	cr_assert_not_null(p);
	cr_assert(depth >= 1 && len >= first_len + (depth - 1));
	for (size_t i = 0; i < depth; i++) {
		size_t n = i == 0 ? first_len : rest / (depth - 1) + (i - 1 < rest % (depth - 1));

		cr_assert(n >= 1 && n <= VOLT_NAME_MAX, "component %zu: %zu bytes", i, n);
		if (i)
			p[pos++] = '/';
		memset(p + pos, 'a' + (int)(i % 26), n);
		pos += n;
	}
	cr_assert_eq(pos, len);
	p[len] = '\0';
	return p;
}

/* A manifest of the one path (malloc'ed). */
static char *one_path_manifest(const char *path)
{
	char *json;

	cr_assert(asprintf(&json, HEAD "\"%s\":\"" H1 "\"}}", path) > 0);
	return json;
}

/* path passes volt_path_check, and its manifest parses, builds and finds it. */
static void expect_path_ok(const char *path)
{
	char *json = one_path_manifest(path);
	struct volt_manifest m;
	struct volt_tree *t;
	struct volt_diag d;
	uint32_t node = VOLT_TREE_ROOT;

	cr_assert_eq(volt_path_check(path, strlen(path), &d), 0, "%zu bytes: %s", strlen(path),
		     d.reason);
	cr_assert_eq(volt_manifest_parse(&m, json, strlen(json), &d), 0, "%s", d.reason);
	cr_assert_eq(m.n_entries, 1);
	cr_assert_eq(m.entries[0].path_len, strlen(path));
	cr_assert_eq(volt_tree_build(&t, &m, &d), 0, "%s", d.reason);
	for (const char *p = path, *slash;; p = slash + 1) {
		slash = strchr(p, '/');
		node = volt_tree_lookup(t, node, p, slash ? (size_t)(slash - p) : strlen(p));
		cr_assert_neq(node, VOLT_TREE_NONE);
		if (!slash)
			break;
	}
	cr_assert_eq(volt_tree_kind(t, node), VOLT_NODE_FILE);
	volt_tree_free(t);
	volt_manifest_release(&m);
	free(json);
}

/* path is refused by volt_path_check and its manifest with -EINVAL and why. */
static void expect_path_refused(const char *path, const char *why)
{
	char *json = one_path_manifest(path);
	struct volt_manifest m;
	struct volt_diag d;

	volt_diag_clear(&d);
	cr_assert_eq(volt_path_check(path, strlen(path), &d), -EINVAL, "%zu bytes accepted",
		     strlen(path));
	cr_expect_not_null(strstr(d.reason, why), "reason: %s", d.reason);
	volt_diag_clear(&d);
	cr_assert_eq(volt_manifest_parse(&m, json, strlen(json), &d), -EINVAL);
	cr_expect_not_null(strstr(d.reason, why), "reason: %s", d.reason);
	free(json);
}

Test(bounds, path_length)
{
	/* 16 names of 255 bytes and 15 slashes: exactly VOLT_PATH_MAX. */
	char *at = make_path(VOLT_PATH_MAX, 16, VOLT_NAME_MAX);
	char *past = make_path(VOLT_PATH_MAX + 1, 17, VOLT_NAME_MAX);

	cr_assert_eq(VOLT_PATH_MAX, 4095);
	expect_path_ok(at);
	expect_path_refused(past, "longer than 4095 bytes");
	free(at);
	free(past);
}

/* n copies of c (malloc'ed). */
static char *repeat(char c, size_t n)
{
	char *s = malloc(n + 1);

	cr_assert_not_null(s);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

Test(bounds, name_length)
{
	char *at = repeat('n', VOLT_NAME_MAX), *past = repeat('n', VOLT_NAME_MAX + 1), *path;

	cr_assert_eq(VOLT_NAME_MAX, 255);
	/* Alone, first and last in a path. */
	expect_path_ok(at);
	expect_path_refused(past, "component longer than 255 bytes");
	cr_assert(asprintf(&path, "%s/x", at) > 0);
	expect_path_ok(path);
	free(path);
	cr_assert(asprintf(&path, "%s/x", past) > 0);
	expect_path_refused(path, "component longer than 255 bytes");
	free(path);
	cr_assert(asprintf(&path, "lib/%s", at) > 0);
	expect_path_ok(path);
	free(path);
	cr_assert(asprintf(&path, "lib/%s", past) > 0);
	expect_path_refused(path, "component longer than 255 bytes");
	free(path);
	free(at);
	free(past);
}

Test(bounds, depth)
{
	char *at = make_path(2 * VOLT_DEPTH_MAX - 1, VOLT_DEPTH_MAX, 1);
	char *past = make_path(2 * VOLT_DEPTH_MAX + 1, VOLT_DEPTH_MAX + 1, 1);

	cr_assert_eq(VOLT_DEPTH_MAX, 64);
	expect_path_ok(at);
	expect_path_refused(past, "deeper than 64 components");
	free(at);
	free(past);
}

/* All three path bounds at once: 64 names, one of 255 bytes, 4095 bytes in all. */
Test(bounds, path_at_every_limit_at_once)
{
	char *at = make_path(VOLT_PATH_MAX, VOLT_DEPTH_MAX, VOLT_NAME_MAX);

	expect_path_ok(at);
	free(at);
	/* One more byte in a middle name: over the length only. */
	at = make_path(VOLT_PATH_MAX + 1, VOLT_DEPTH_MAX, VOLT_NAME_MAX);
	expect_path_refused(at, "longer than 4095 bytes");
	free(at);
}

/* A manifest of len bytes: one entry, padded with whitespace JSON allows (malloc'ed). */
static char *padded_manifest(size_t len)
{
	const char *json = HEAD "\"bin/x\":\"" H1 "\"}}";
	char *buf = malloc(len);

	cr_assert_not_null(buf);
	memset(buf, ' ', len);
	memcpy(buf, json, strlen(json));
	buf[len - 1] = '\n';
	return buf;
}

Test(bounds, manifest_bytes_parsed)
{
	size_t at = VOLT_MANIFEST_MAX_BYTES;
	char *buf = padded_manifest(at + 1);
	struct volt_manifest m;
	struct volt_diag d;

	cr_assert_eq(VOLT_MANIFEST_MAX_BYTES, 64u << 20);
	cr_assert_eq(volt_manifest_parse(&m, buf, at, &d), 0, "%s", d.reason);
	cr_assert_eq(m.n_entries, 1);
	volt_manifest_release(&m);
	volt_diag_clear(&d);
	cr_assert_eq(volt_manifest_parse(&m, buf, at + 1, &d), -EFBIG);
	cr_expect_not_null(strstr(d.reason, "larger than 67108864 bytes"), "%s", d.reason);
	free(buf);
}

/* The same through volt_manifest_load: a ref file of the size, at and past. */
Test(bounds, manifest_bytes_loaded)
{
	size_t at = VOLT_MANIFEST_MAX_BYTES;
	char *dir = vt_tmpdir(), *buf = padded_manifest(at + 1), *path;
	struct volt_manifest m;
	struct volt_diag d;
	int dirfd = open(dir, O_RDONLY | O_DIRECTORY);

	cr_assert(dirfd >= 0);
	path = vt_join(dir, "at.json");
	vt_write_file(path, buf, at, 0644);
	free(path);
	path = vt_join(dir, "past.json");
	vt_write_file(path, buf, at + 1, 0644);
	free(path);
	cr_assert_eq(volt_manifest_load(&m, dirfd, "at.json", NULL, &d), 0, "%s", d.reason);
	volt_manifest_release(&m);
	cr_assert_eq(volt_manifest_load(&m, dirfd, "past.json", NULL, &d), -EFBIG);
	cr_expect_str_eq(d.file, "past.json");
	cr_expect_not_null(strstr(d.reason, "larger than"), "%s", d.reason);
	close(dirfd);
	vt_rmtree(dir);
	free(dir);
	free(buf);
}

/*
 * A manifest of n entries "o/<6 hex>/<4 hex>" (256 folders of up to 4096
 * files, so the tree is a real one), all naming one object (malloc'ed).
 */
static char *many_entries(size_t n, size_t *len)
{
	const size_t entry = sizeof("\"o/000000/0000\":\"" H1 "\",") - 1;
	size_t cap = strlen(HEAD) + n * entry + 3, pos;
	char *buf = malloc(cap);

	cr_assert_not_null(buf);
	pos = (size_t)sprintf(buf, HEAD);
	for (size_t i = 0; i < n; i++)
		pos += (size_t)sprintf(buf + pos, "%s\"o/%06zx/%04zx\":\"" H1 "\"", i ? "," : "",
				       i % 256, i / 256);
	pos += (size_t)sprintf(buf + pos, "}}");
	cr_assert_leq(pos, cap);
	*len = pos;
	return buf;
}

/*
 * VOLT_MANIFEST_MAX_OBJECTS is tested at its real value, not a smaller
 * stand-in: a million entries is 47 MB of JSON (under the byte bound), which
 * parses and builds in a few seconds even under ASan.
 */
Test(bounds, objects_per_manifest)
{
	size_t len;
	char *at = many_entries(VOLT_MANIFEST_MAX_OBJECTS, &len), *past;
	struct volt_manifest m;
	struct volt_tree *t;
	struct volt_diag d;

	cr_assert_eq(VOLT_MANIFEST_MAX_OBJECTS, 1000000u);
	cr_assert_leq(len, VOLT_MANIFEST_MAX_BYTES);
	cr_assert_eq(volt_manifest_parse(&m, at, len, &d), 0, "%s: %s", d.entry, d.reason);
	cr_assert_eq(m.n_entries, VOLT_MANIFEST_MAX_OBJECTS);
	cr_assert_not_null(volt_manifest_find(&m, "o/00003f/0f42"));
	cr_assert_eq(volt_tree_build(&t, &m, &d), 0, "%s", d.reason);
	cr_assert_eq(volt_tree_files(t), VOLT_MANIFEST_MAX_OBJECTS);
	volt_tree_free(t);
	volt_manifest_release(&m);
	free(at);

	past = many_entries(VOLT_MANIFEST_MAX_OBJECTS + 1, &len);
	volt_diag_clear(&d);
	cr_assert_eq(volt_manifest_parse(&m, past, len, &d), -EFBIG);
	cr_expect_str_eq(d.entry, "objects");
	cr_expect_not_null(strstr(d.reason, "more than 1000000 entries"), "%s", d.reason);
	free(past);
}

/* ---- on a real mount --------------------------------------------------- */

static char *dir, *cas, *m, *deep, *deeper;
static struct vt_mount mnt;

/* Also after a failed assertion: no daemon, folder or allocation outlives the test. */
static void teardown(void)
{
	vt_mount_cleanup(&mnt);
	vt_rmtree(dir);
	free(dir);
	free(cas);
	free(m);
	free(deep);
	free(deeper);
	dir = cas = m = deep = deeper = NULL;
	check_leaks();
}

/*
 * In the one suite: Criterion 2.4's runner leaks (LeakSanitizer says so) when
 * a second suite starts while a slow test of the first still runs.
 */
Test(bounds, path_at_every_limit_is_served_by_a_mount, .fini = teardown)
{
	static const char body[] = "at the very bottom\n";
	char hex[VOLT_HASH_HEX_MAX + 1], ref[64], *json, *full, *log, *p;
	char buf[64];
	struct stat st;
	int fd, next;
	ssize_t n;
	DIR *d;
	struct dirent *de;
	bool listed = false;

	deep = make_path(VOLT_PATH_MAX, VOLT_DEPTH_MAX, VOLT_NAME_MAX);
	deeper = make_path(2 * VOLT_DEPTH_MAX + 1, VOLT_DEPTH_MAX + 1, 1);
	dir = vt_tmpdir();
	cas = vt_join(dir, "cas");
	m = vt_join(dir, "mnt");
	vt_cas_init(cas);
	vt_put_object(cas, body, strlen(body), 0444, hex);
	cr_assert(asprintf(&json, HEAD "\"%s\":\"%s\"}}", deep, hex) > 0);
	vt_put_ref(cas, "kvm-linux", json, ref);
	free(json);
	cr_assert(asprintf(&json, HEAD "\"%s\":\"%s\"}}", deeper, hex) > 0);
	vt_put_ref(cas, "kvm-uefi", json, ref);
	free(json);
	vt_mount(&mnt, cas, m, NULL);

	/* The whole path does not fit in PATH_MAX: the kernel refuses it, not voltfs. */
	cr_assert(asprintf(&full, "%s/kvm-linux/%s", m, deep) > 0);
	cr_assert_gt(strlen(full), PATH_MAX - 1);
	cr_assert_eq(open(full, O_RDONLY), -1);
	cr_assert_eq(errno, ENAMETOOLONG);
	free(full);

	/* One name at a time, as a program with a deep tree must. */
	p = vt_join(m, "kvm-linux");
	fd = open(p, O_RDONLY | O_DIRECTORY);
	cr_assert(fd >= 0, "%s: %s", p, strerror(errno));
	free(p);
	for (char *name = deep, *slash; (slash = strchr(name, '/')); name = slash + 1) {
		*slash = '\0';
		next = openat(fd, name, O_RDONLY | O_DIRECTORY);
		cr_assert(next >= 0, "%zu-byte folder name: %s", strlen(name), strerror(errno));
		close(fd);
		fd = next;
		*slash = '/';
	}
	p = strrchr(deep, '/') + 1;
	d = fdopendir(dup(fd));
	cr_assert_not_null(d);
	while ((de = readdir(d)))
		listed |= strcmp(de->d_name, p) == 0;
	closedir(d);
	cr_assert(listed, "the deepest folder does not list its file");
	cr_assert_eq(fstatat(fd, p, &st, 0), 0, "%s", strerror(errno));
	cr_assert_eq(st.st_mode & 07777, 0444);
	cr_assert_eq(st.st_size, (off_t)strlen(body));
	next = openat(fd, p, O_RDONLY);
	cr_assert(next >= 0, "%s", strerror(errno));
	n = read(next, buf, sizeof(buf));
	cr_assert_eq(n, (ssize_t)strlen(body));
	cr_assert_eq(memcmp(buf, body, strlen(body)), 0);
	close(next);
	close(fd);

	/* One level deeper is refused whole, and the log says why. */
	p = vt_join(m, "kvm-uefi");
	cr_assert_eq(stat(p, &st), -1);
	cr_assert_eq(errno, ENOENT);
	free(p);
	log = vt_mount_log(&mnt);
	cr_assert_not_null(strstr(log, "deeper than 64 components"), "%s", log);
	free(log);

	cr_assert_eq(vt_unmount(&mnt), 0);
}
