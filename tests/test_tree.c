// SPDX-License-Identifier: MIT
/*
 * Tests for core/tree.c: the tree index built from a parsed manifest, its
 * fixed top level, lookup, the breadth-first child ranges, paths, the
 * refusals the tree makes on its own, and the size of a 100 000-path tree.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/logging.h>

#include "voltfs/manifest.h"
#include "voltfs/tree.h"

#define CREATED "2024-05-01T12:00:00Z"

/* A manifest's JSON text from paths; each hash is XXH3-128 of the path (or given). */
static char *make_json(const char *const *paths, const char *const *hashes, size_t n)
{
	size_t cap = 256, len = 0;
	char *buf = malloc(cap);

	cr_assert_not_null(buf);
	len = (size_t)snprintf(buf, cap,
			       "{\"name\": \"kvm-linux\", \"created_at\": \"%s\", "
			       "\"objects\": {",
			       CREATED);
	for (size_t i = 0; i < n; i++) {
		char hex[VOLT_HASH_HEX_MAX + 1];
		struct volt_hash h;
		size_t need = strlen(paths[i]) + VOLT_HASH_HEX_MAX + 16;

		if (hashes && hashes[i]) {
			snprintf(hex, sizeof(hex), "%s", hashes[i]);
		} else {
			volt_hash_xxh128(&h, paths[i], strlen(paths[i]));
			volt_hash_format(&h, hex);
		}
		while (len + need + 8 > cap)
			buf = realloc(buf, cap *= 2);
		cr_assert_not_null(buf);
		len += (size_t)snprintf(buf + len, cap - len, "%s\"%s\": \"%s\"", i ? ", " : "",
					paths[i], hex);
	}
	snprintf(buf + len, cap - len, "}}");
	return buf;
}

static void parse_ok(struct volt_manifest *m, const char *json)
{
	struct volt_diag d;
	int ret;

	volt_diag_clear(&d);
	ret = volt_manifest_parse(m, json, strlen(json), &d);
	cr_assert_eq(ret, 0, "parse: %d (%s: %s)", ret, d.entry, d.reason);
}

static struct volt_tree *build_ok(const struct volt_manifest *m)
{
	struct volt_tree *t = NULL;
	struct volt_diag d;
	int ret;

	volt_diag_clear(&d);
	ret = volt_tree_build(&t, m, &d);
	cr_assert_eq(ret, 0, "build: %d (%s: %s)", ret, d.entry, d.reason);
	cr_assert_not_null(t);
	return t;
}

static uint32_t lookup_str(const struct volt_tree *t, uint32_t dir, const char *name)
{
	return volt_tree_lookup(t, dir, name, strlen(name));
}

/* Walk path component by component: the node, or VOLT_TREE_NONE. Inner nodes must be folders. */
static uint32_t walk(const struct volt_tree *t, const char *path, size_t len)
{
	uint32_t node = VOLT_TREE_ROOT;
	const char *p = path, *end = path + len;

	if (len == 0)
		return VOLT_TREE_ROOT;
	for (;;) {
		const char *slash = memchr(p, '/', (size_t)(end - p));
		size_t n = (size_t)((slash ? slash : end) - p);
		size_t got_len;
		const char *got;

		node = volt_tree_lookup(t, node, p, n);
		if (node == VOLT_TREE_NONE)
			return node;
		got = volt_tree_name(t, node, &got_len);
		cr_expect_eq(got_len, n, "%.*s", (int)len, path);
		cr_expect(memcmp(got, p, n) == 0 && got[n] == '\0', "name '%s' for '%.*s'", got,
			  (int)n, p);
		if (!slash)
			return node;
		cr_assert_eq(volt_tree_kind(t, node), VOLT_NODE_DIR, "%.*s in %.*s", (int)n, p,
			     (int)len, path);
		p = slash + 1;
	}
}

/* Every manifest path is a FILE node with its entry's hash. */
static void expect_all_paths(const struct volt_tree *t, const struct volt_manifest *m)
{
	for (size_t i = 0; i < m->n_entries; i++) {
		const struct volt_manifest_entry *e = &m->entries[i];
		uint32_t node = walk(t, e->path, e->path_len);
		struct volt_hash h;

		cr_assert_neq(node, VOLT_TREE_NONE, "%s not found", e->path);
		cr_assert_eq(volt_tree_kind(t, node), VOLT_NODE_FILE, "%s", e->path);
		memset(&h, 0xaa, sizeof(h));
		volt_tree_hash(t, node, &h);
		cr_assert(volt_hash_equal(&h, &e->hash), "%s: wrong hash", e->path);
	}
}

/*
 * The structure every tree must have: each folder's children are a range
 * whose parent is that folder, each non-root node is in exactly one range,
 * subdirs counts the folders of the range, and names within one folder are
 * unique and found again by lookup.
 */
static void expect_structure(const struct volt_tree *t)
{
	uint32_t count = volt_tree_count(t), files = 0, seen_total = 0;
	char *seen = calloc(count, 1);

	cr_assert_not_null(seen);
	cr_assert_eq(volt_tree_parent(t, VOLT_TREE_ROOT), VOLT_TREE_ROOT);
	cr_assert_eq(volt_tree_kind(t, VOLT_TREE_ROOT), VOLT_NODE_DIR);
	for (uint32_t n = 0; n < count; n++) {
		uint32_t first = 0, nchild = 0, dirs = 0;

		if (volt_tree_kind(t, n) == VOLT_NODE_FILE)
			files++;
		if (volt_tree_kind(t, n) != VOLT_NODE_DIR) {
			cr_assert_eq(volt_tree_subdirs(t, n), 0);
			continue;
		}
		volt_tree_children(t, n, &first, &nchild);
		cr_assert_leq((uint64_t)first + nchild, count, "node %u", n);
		for (uint32_t c = first; c < first + nchild; c++) {
			size_t len;
			const char *name = volt_tree_name(t, c, &len);

			cr_assert_neq(c, VOLT_TREE_ROOT);
			cr_assert_eq(volt_tree_parent(t, c), n, "child %u of %u", c, n);
			cr_assert_eq(seen[c], 0, "node %u in two folders", c);
			seen[c] = 1;
			seen_total++;
			cr_assert_eq(len, strlen(name));
			cr_assert_eq(volt_tree_lookup(t, n, name, len), c, "%s in %u", name, n);
			dirs += volt_tree_kind(t, c) == VOLT_NODE_DIR;
		}
		cr_assert_eq(volt_tree_subdirs(t, n), dirs, "node %u", n);
	}
	cr_assert_eq(seen_total, count - 1, "every node but the root is a child once");
	cr_assert_eq(volt_tree_files(t), files);
	free(seen);
}

Test(tree, top_level_of_empty_manifest)
{
	static const char *const synth[] = { "args", "env", "unit" };
	static const char *const dirs[] = { "bin", "lib", "firmware" };
	struct volt_manifest m;
	struct volt_tree *t;
	uint32_t first, count;

	parse_ok(&m, "{\"name\": \"kvm-linux\", \"created_at\": \"" CREATED "\", \"objects\": {}}");
	t = build_ok(&m);
	volt_manifest_release(&m);
	cr_expect_eq(volt_tree_count(t), 7);
	cr_expect_eq(volt_tree_files(t), 0);
	volt_tree_children(t, VOLT_TREE_ROOT, &first, &count);
	cr_expect_eq(count, 6);
	cr_expect_eq(volt_tree_subdirs(t, VOLT_TREE_ROOT), 3);
	for (int i = 0; i < 3; i++) {
		uint32_t n = lookup_str(t, VOLT_TREE_ROOT, dirs[i]);

		cr_assert_neq(n, VOLT_TREE_NONE, "%s", dirs[i]);
		cr_expect_eq(volt_tree_kind(t, n), VOLT_NODE_DIR, "%s", dirs[i]);
		volt_tree_children(t, n, &first, &count);
		cr_expect_eq(count, 0, "%s is empty", dirs[i]);
		cr_expect_eq(volt_tree_subdirs(t, n), 0);
	}
	for (int i = 0; i < VOLT_SYNTH_COUNT; i++) {
		uint32_t n = lookup_str(t, VOLT_TREE_ROOT, synth[i]);

		cr_assert_neq(n, VOLT_TREE_NONE, "%s", synth[i]);
		cr_expect_eq(volt_tree_kind(t, n), VOLT_NODE_SYNTH, "%s", synth[i]);
		cr_expect_eq(volt_tree_synth(t, n), (enum volt_synth)i, "%s", synth[i]);
	}
	cr_expect_str_eq(volt_tree_name(t, VOLT_TREE_ROOT, NULL), "");
	expect_structure(t);
	volt_tree_free(t);
}

static const char *const sample_paths[] = {
	"bin/qemu-system-x86_64",
	"lib/libx.so",
	"lib/libx.so.1",
	"lib/sub/deep/liby.so.1",
	"firmware/bios.bin",
	"firmware/edk2/OVMF_CODE.fd",
	"share/qemu/keymaps/en-us",
	"README",
};

#define N_SAMPLE (sizeof(sample_paths) / sizeof(sample_paths[0]))

static struct volt_tree *sample_tree(struct volt_manifest *m)
{
	char *json = make_json(sample_paths, NULL, N_SAMPLE);
	struct volt_tree *t;

	parse_ok(m, json);
	free(json);
	t = build_ok(m);
	return t;
}

Test(tree, every_path_looks_up_with_its_hash)
{
	struct volt_manifest m;
	struct volt_tree *t = sample_tree(&m);
	uint32_t lib, sub;

	cr_assert_eq(m.n_entries, N_SAMPLE);
	expect_all_paths(t, &m);
	expect_structure(t);
	cr_expect_eq(volt_tree_files(t), N_SAMPLE);
	/* root, bin lib firmware args env unit share, sub deep edk2 qemu keymaps, 8 files */
	cr_expect_eq(volt_tree_count(t), 1 + 7 + 5 + N_SAMPLE);
	cr_expect_eq(volt_tree_subdirs(t, VOLT_TREE_ROOT), 4);
	lib = lookup_str(t, VOLT_TREE_ROOT, "lib");
	cr_assert_neq(lib, VOLT_TREE_NONE);
	cr_expect_eq(volt_tree_subdirs(t, lib), 1);
	sub = lookup_str(t, lib, "sub");
	cr_assert_neq(sub, VOLT_TREE_NONE);
	cr_expect_eq(volt_tree_kind(t, sub), VOLT_NODE_DIR);
	cr_expect_eq(volt_tree_subdirs(t, sub), 1);
	volt_manifest_release(&m);
	volt_tree_free(t);
}

/* The tree owns copies of names and hashes: the manifest may go first. */
Test(tree, outlives_its_manifest)
{
	struct volt_manifest m, again;
	struct volt_tree *t = sample_tree(&m);
	char *json = make_json(sample_paths, NULL, N_SAMPLE);

	volt_manifest_release(&m);
	parse_ok(&again, json);
	free(json);
	expect_all_paths(t, &again);
	volt_manifest_release(&again);
	volt_tree_free(t);
}

Test(tree, missing_names_are_none)
{
	struct volt_manifest m;
	struct volt_tree *t = sample_tree(&m);
	uint32_t bin = lookup_str(t, VOLT_TREE_ROOT, "bin");
	uint32_t file = walk(t, "lib/libx.so", strlen("lib/libx.so"));
	uint32_t args = lookup_str(t, VOLT_TREE_ROOT, "args");

	cr_assert_neq(bin, VOLT_TREE_NONE);
	cr_assert_neq(file, VOLT_TREE_NONE);
	cr_assert_neq(args, VOLT_TREE_NONE);
	cr_expect_eq(lookup_str(t, VOLT_TREE_ROOT, "nope"), VOLT_TREE_NONE);
	cr_expect_eq(lookup_str(t, VOLT_TREE_ROOT, "bi"), VOLT_TREE_NONE);
	cr_expect_eq(lookup_str(t, VOLT_TREE_ROOT, "binx"), VOLT_TREE_NONE);
	cr_expect_eq(lookup_str(t, VOLT_TREE_ROOT, "BIN"), VOLT_TREE_NONE);
	cr_expect_eq(lookup_str(t, VOLT_TREE_ROOT, ""), VOLT_TREE_NONE);
	cr_expect_eq(lookup_str(t, VOLT_TREE_ROOT, "."), VOLT_TREE_NONE);
	cr_expect_eq(lookup_str(t, VOLT_TREE_ROOT, ".."), VOLT_TREE_NONE);
	/* a name that exists, but in another folder */
	cr_expect_eq(lookup_str(t, VOLT_TREE_ROOT, "qemu-system-x86_64"), VOLT_TREE_NONE);
	cr_expect_eq(lookup_str(t, VOLT_TREE_ROOT, "libx.so"), VOLT_TREE_NONE);
	cr_expect_eq(lookup_str(t, bin, "libx.so"), VOLT_TREE_NONE);
	cr_expect_eq(lookup_str(t, bin, "README"), VOLT_TREE_NONE);
	/* a whole path is not a name */
	cr_expect_eq(lookup_str(t, VOLT_TREE_ROOT, "lib/libx.so"), VOLT_TREE_NONE);
	/* len counts: "bin" from "binary" by length */
	cr_expect_eq(volt_tree_lookup(t, VOLT_TREE_ROOT, "binary", 3), bin);
	cr_expect_eq(volt_tree_lookup(t, VOLT_TREE_ROOT, "bin", 2), VOLT_TREE_NONE);
	/* no lookup inside a file, a synthetic file or a node that does not exist */
	cr_expect_eq(lookup_str(t, file, "x"), VOLT_TREE_NONE);
	cr_expect_eq(lookup_str(t, file, ""), VOLT_TREE_NONE);
	cr_expect_eq(lookup_str(t, args, "x"), VOLT_TREE_NONE);
	cr_expect_eq(lookup_str(t, volt_tree_count(t), "bin"), VOLT_TREE_NONE);
	cr_expect_eq(lookup_str(t, VOLT_TREE_NONE, "bin"), VOLT_TREE_NONE);
	volt_manifest_release(&m);
	volt_tree_free(t);
}

/* Every node's path leads back to it, and file paths are manifest paths. */
static void expect_paths_round_trip(const struct volt_tree *t, const struct volt_manifest *m)
{
	char buf[VOLT_PATH_MAX + 1];

	for (uint32_t n = 0; n < volt_tree_count(t); n++) {
		int ret = volt_tree_path(t, n, buf, sizeof(buf));

		cr_assert_eq(ret, 0, "node %u: %d", n, ret);
		cr_assert_eq(walk(t, buf, strlen(buf)), n, "node %u: '%s'", n, buf);
		if (volt_tree_kind(t, n) == VOLT_NODE_FILE) {
			const struct volt_manifest_entry *e = volt_manifest_find(m, buf);
			struct volt_hash h;

			cr_assert_not_null(e, "'%s' is no manifest path", buf);
			volt_tree_hash(t, n, &h);
			cr_assert(volt_hash_equal(&h, &e->hash), "%s", buf);
		}
	}
}

Test(tree, path_round_trips)
{
	struct volt_manifest m;
	struct volt_tree *t = sample_tree(&m);
	char buf[VOLT_PATH_MAX + 1];
	uint32_t n;

	expect_paths_round_trip(t, &m);
	cr_assert_eq(volt_tree_path(t, VOLT_TREE_ROOT, buf, sizeof(buf)), 0);
	cr_expect_str_eq(buf, "");
	n = lookup_str(t, VOLT_TREE_ROOT, "unit");
	cr_assert_eq(volt_tree_path(t, n, buf, sizeof(buf)), 0);
	cr_expect_str_eq(buf, "unit");
	n = walk(t, "lib/sub/deep", strlen("lib/sub/deep"));
	cr_assert_eq(volt_tree_path(t, n, buf, sizeof(buf)), 0);
	cr_expect_str_eq(buf, "lib/sub/deep");
	volt_manifest_release(&m);
	volt_tree_free(t);
}

Test(tree, path_too_long_for_buffer)
{
	static const char path[] = "lib/sub/deep/liby.so.1";
	struct volt_manifest m;
	struct volt_tree *t = sample_tree(&m);
	uint32_t n = walk(t, path, strlen(path));
	char buf[sizeof(path) + 8];

	cr_assert_neq(n, VOLT_TREE_NONE);
	/* exactly enough: the path and its NUL */
	memset(buf, 'x', sizeof(buf));
	cr_assert_eq(volt_tree_path(t, n, buf, sizeof(path)), 0);
	cr_expect_str_eq(buf, path);
	cr_expect_eq(buf[sizeof(path)], 'x', "wrote past size");
	/* one byte short, and much shorter: refused, nothing written past size */
	for (size_t size = 0; size < sizeof(path); size++) {
		memset(buf, 'x', sizeof(buf));
		cr_expect_eq(volt_tree_path(t, n, buf, size), -ENAMETOOLONG, "size %zu", size);
		for (size_t i = size; i < sizeof(buf); i++)
			cr_assert_eq(buf[i], 'x', "size %zu: byte %zu written", size, i);
	}
	memset(buf, 'x', sizeof(buf));
	cr_expect_eq(volt_tree_path(t, VOLT_TREE_ROOT, buf, 0), -ENAMETOOLONG);
	cr_expect_eq(volt_tree_path(t, VOLT_TREE_ROOT, buf, 1), 0);
	cr_expect_eq(buf[0], '\0');
	volt_manifest_release(&m);
	volt_tree_free(t);
}

/* Names sharing a prefix are distinct nodes; '.' sorts just below '/'. */
Test(tree, names_with_same_prefix)
{
	static const char *const paths[] = {
		"lib/a", "lib/a.so", "lib/a-b", "lib/ab", "lib/a.so.1", "lib/b/a", "lib/b/a.so",
	};
	struct volt_manifest m;
	struct volt_tree *t;
	char *json = make_json(paths, NULL, 7);
	uint32_t lib, first, count;

	parse_ok(&m, json);
	free(json);
	t = build_ok(&m);
	expect_all_paths(t, &m);
	expect_structure(t);
	expect_paths_round_trip(t, &m);
	lib = lookup_str(t, VOLT_TREE_ROOT, "lib");
	volt_tree_children(t, lib, &first, &count);
	cr_expect_eq(count, 6, "a, a.so, a-b, ab, a.so.1, b");
	cr_expect_eq(volt_tree_kind(t, lookup_str(t, lib, "a")), VOLT_NODE_FILE);
	cr_expect_eq(volt_tree_kind(t, lookup_str(t, lib, "b")), VOLT_NODE_DIR);
	cr_expect_eq(volt_tree_files(t), 7);
	volt_manifest_release(&m);
	volt_tree_free(t);
}

static void expect_parse_refused(const char *const *paths, size_t n, const char *entry)
{
	char *json = make_json(paths, NULL, n);
	struct volt_manifest m;
	struct volt_diag d;
	int ret;

	volt_diag_clear(&d);
	ret = volt_manifest_parse(&m, json, strlen(json), &d);
	cr_expect_eq(ret, -EINVAL, "%s: %d", json, ret);
	cr_expect_str_eq(d.entry, entry, "%s", json);
	cr_expect_neq(d.reason[0], '\0');
	free(json);
}

/* "lib/a" and "lib/a/b" cannot both be: the manifest refuses, whatever the order. */
Test(tree, file_and_folder_refused_by_parse)
{
	static const char *const ab[] = { "lib/a", "lib/a.so", "lib/a/b" };
	static const char *const ba[] = { "lib/a/b", "lib/a.so", "lib/a" };
	static const char *const deep[] = { "x/y", "x/y/z/w" };

	expect_parse_refused(ab, 3, "lib/a");
	expect_parse_refused(ba, 3, "lib/a");
	expect_parse_refused(deep, 2, "x/y");
}

/*
 * The tree does not rely on the parser alone: a hand-made manifest with a
 * conflict (as a future caller might pass) is refused with -EINVAL.
 */
static void expect_build_refused(const char *const *paths, size_t n, const char *entry)
{
	struct volt_manifest_entry *e = calloc(n, sizeof(*e));
	struct volt_manifest m = { 0 };
	static char sentinel;
	struct volt_tree *t = (struct volt_tree *)&sentinel; /* build must reset it */
	struct volt_diag d;
	int ret;

	cr_assert_not_null(e);
	for (size_t i = 0; i < n; i++) {
		e[i].path = paths[i];
		e[i].path_len = (uint32_t)strlen(paths[i]);
		volt_hash_xxh128(&e[i].hash, paths[i], strlen(paths[i]));
	}
	m.name = (char *)"kvm-linux";
	m.entries = e;
	m.n_entries = n;
	volt_diag_clear(&d);
	ret = volt_tree_build(&t, &m, &d);
	cr_expect_eq(ret, -EINVAL, "%s...: %d", paths[0], ret);
	cr_expect_null(t);
	if (entry)
		cr_expect_str_eq(d.entry, entry);
	cr_expect_neq(d.reason[0], '\0', "%s...: no reason", paths[0]);
	if (ret == 0)
		volt_tree_free(t);
	free(e);
}

Test(tree, build_refuses_conflicts_itself)
{
	static const char *const file_then_dir[] = { "lib/a", "lib/a/b" };
	static const char *const dir_then_file[] = { "lib/a/b", "lib/a" };
	static const char *const twice[] = { "lib/a", "lib/a" };
	static const char *const synth_file[] = { "args" };
	static const char *const synth_dir[] = { "env/x" };
	static const char *const top_file[] = { "firmware" };

	expect_build_refused(file_then_dir, 2, "lib/a/b");
	expect_build_refused(dir_then_file, 2, "lib/a");
	expect_build_refused(twice, 2, "lib/a");
	expect_build_refused(synth_file, 1, "args");
	expect_build_refused(synth_dir, 1, "env/x");
	expect_build_refused(top_file, 1, "firmware");
}

Test(tree, sha256_hashes_kept_whole)
{
	static const char *const paths[] = { "lib/sha.so", "lib/xxh.so" };
	static const char *const hashes[] = {
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		NULL,
	};
	char *json = make_json(paths, hashes, 2);
	struct volt_manifest m;
	struct volt_tree *t;
	struct volt_hash h;
	char hex[VOLT_HASH_HEX_MAX + 1];

	parse_ok(&m, json);
	free(json);
	t = build_ok(&m);
	expect_all_paths(t, &m);
	volt_tree_hash(t, walk(t, "lib/sha.so", 10), &h);
	cr_expect_eq(h.len, VOLT_HASH_SHA256_LEN);
	volt_hash_format(&h, hex);
	cr_expect_str_eq(hex, hashes[0]);
	volt_tree_hash(t, walk(t, "lib/xxh.so", 10), &h);
	cr_expect_eq(h.len, VOLT_HASH_XXH128_LEN);
	volt_manifest_release(&m);
	volt_tree_free(t);
}

#define BIG_DIRS 1000
#define BIG_PER_DIR 100
#define BIG_FILES (BIG_DIRS * BIG_PER_DIR)

/* 100 000 paths lib/dirNNN/fileNNNNN: builds, all found, under 100 bytes a path. */
Test(tree, hundred_thousand_paths, .timeout = 120)
{
	size_t cap = (size_t)BIG_FILES * 64 + 256, len;
	char *json = malloc(cap), path[64];
	struct volt_manifest m;
	struct volt_tree *t;
	double per_path;

	cr_assert_not_null(json);
	len = (size_t)snprintf(json, cap,
			       "{\"name\": \"kvm-linux\", \"created_at\": \"%s\", "
			       "\"objects\": {",
			       CREATED);
	for (unsigned i = 0; i < BIG_FILES; i++) {
		char hex[VOLT_HASH_HEX_MAX + 1];
		struct volt_hash h;

		snprintf(path, sizeof(path), "lib/dir%03u/file%05u", i / BIG_PER_DIR, i);
		volt_hash_xxh128(&h, path, strlen(path));
		volt_hash_format(&h, hex);
		len += (size_t)snprintf(json + len, cap - len, "%s\"%s\": \"%s\"", i ? "," : "",
					path, hex);
		cr_assert_lt(len, cap - 8);
	}
	len += (size_t)snprintf(json + len, cap - len, "}}");
	parse_ok(&m, json);
	free(json);
	cr_assert_eq(m.n_entries, BIG_FILES);
	t = build_ok(&m);
	cr_expect_eq(volt_tree_files(t), BIG_FILES);
	cr_expect_eq(volt_tree_count(t), 1 + 6 + BIG_DIRS + BIG_FILES);
	cr_expect_eq(volt_tree_subdirs(t, lookup_str(t, VOLT_TREE_ROOT, "lib")), BIG_DIRS);
	expect_all_paths(t, &m);
	expect_structure(t);
	expect_paths_round_trip(t, &m);
	per_path = (double)volt_tree_footprint(t) / volt_tree_files(t);
	cr_log_info("100 000-path tree: %zu bytes, %.1f bytes/path", volt_tree_footprint(t),
		    per_path);
	cr_expect_lt(per_path, 100.0, "%.1f bytes per path", per_path);
	volt_manifest_release(&m);
	volt_tree_free(t);
}
