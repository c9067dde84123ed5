// SPDX-License-Identifier: MIT
/*
 * Tests for core/build.c (`volt-cas build`): a source folder becomes one
 * object per distinct content and a ref written last, and every refused
 * source leaves no ref behind.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "support.h"
#include "voltfs/build.h"
#include "voltfs/manifest.h"

static char *tmp, *src, *cas_path;
static struct volt_cas cas;

static void setup(void)
{
	int ret;

	tmp = vt_tmpdir();
	src = vt_join(tmp, "src");
	cas_path = vt_join(tmp, "cas");
	cr_assert_eq(mkdir(src, 0755), 0);
	ret = volt_cas_open(&cas, cas_path, true);
	cr_assert_eq(ret, 0, "cas open: %d", ret);
}

static void teardown(void)
{
	volt_cas_release(&cas);
	vt_rmtree(tmp);
	free(cas_path);
	free(src);
	free(tmp);
}

TestSuite(build, .init = setup, .fini = teardown);

static void put_src(const char *rel, const char *content, mode_t mode)
{
	char *p = vt_join(src, rel);

	vt_write_file(p, content, strlen(content), mode);
	free(p);
}

static void link_src(const char *target, const char *rel)
{
	char *p = vt_join(src, rel);

	cr_assert_eq(symlink(target, p), 0, "symlink %s: %s", p, strerror(errno));
	free(p);
}

struct expect {
	const char *path;
	const char *content;
	mode_t object_mode;
};

/* The source of the main tests, and the manifest it must give. */
static const struct expect tree[] = {
	{ "bin/qemu-system-x86_64", "#!/bin/sh\necho qemu\n", 0555 },
	{ "firmware/bios.bin", "BIOS image bytes", 0444 },
	{ "lib/libx.so", "libx shared object", 0444 },
	{ "lib/libx.so.1", "libx shared object", 0444 },  /* link to lib/libx.so */
	{ "pc-bios/bios.bin", "BIOS image bytes", 0444 }, /* pc-bios -> firmware */
	{ "share/a.dat", "same bytes twice", 0444 },
	{ "share/b.dat", "same bytes twice", 0444 },
	{ "share/qemu/keymaps/en-us", "include common\nmap 0x409\n", 0444 },
};

#define N_TREE (sizeof(tree) / sizeof(tree[0]))
#define N_DISTINCT 5 /* qemu, bios, libx, same bytes, keymap */

static void make_tree(void)
{
	put_src("bin/qemu-system-x86_64", tree[0].content, 0755);
	put_src("firmware/bios.bin", tree[1].content, 0644);
	put_src("lib/libx.so", tree[2].content, 0644);
	link_src("libx.so", "lib/libx.so.1");
	link_src("firmware", "pc-bios");
	put_src("share/a.dat", tree[5].content, 0644);
	put_src("share/b.dat", tree[6].content, 0600);
	put_src("share/qemu/keymaps/en-us", tree[7].content, 0444);
}

static uint64_t tree_bytes(void)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < N_TREE; i++)
		sum += strlen(tree[i].content);
	return sum;
}

/* Names in a store folder; dot files (temporaries) counted apart. */
static size_t count_entries(const char *sub, size_t *dot)
{
	char *p = vt_join(cas_path, sub);
	DIR *dir = opendir(p);
	struct dirent *de;
	size_t n = 0, dots = 0;

	cr_assert_not_null(dir, "%s: %s", p, strerror(errno));
	while ((de = readdir(dir))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (de->d_name[0] == '.')
			dots++;
		else
			n++;
	}
	closedir(dir);
	free(p);
	if (dot)
		*dot = dots;
	return n;
}

struct progress {
	uint64_t calls, last_files, last_bytes;
	bool in_order;
};

static void on_progress(void *ctx, uint64_t files, uint64_t bytes)
{
	struct progress *p = ctx;

	p->calls++;
	if (files != p->calls || bytes < p->last_bytes)
		p->in_order = false;
	p->last_files = files;
	p->last_bytes = bytes;
}

static int run_build(enum volt_profile profile, struct volt_build_result *r, struct volt_diag *d,
		     struct progress *prog)
{
	struct volt_build_opts o = {
		.profile = profile,
		.src = src,
		.arch = "x86_64",
		.qemu_version = "9.0.1",
		.progress = prog ? on_progress : NULL,
		.progress_ctx = prog,
	};

	volt_diag_clear(d);
	return volt_build(&cas, &o, r, d);
}

/* Load the ref r names, checking its name is <profile>-<id>.json with the right id. */
static void load_ref(const struct volt_build_result *r, const char *profile,
		     struct volt_manifest *m)
{
	char *refs = vt_join(cas_path, "refs"), *p = vt_join(refs, r->ref_name), *buf;
	char hex[VOLT_HASH_HEX_MAX + 1], want[VOLT_REF_NAME_MAX], id[VOLT_REF_ID_LEN + 1];
	struct volt_hash h;
	struct volt_diag d;
	size_t len = 0;
	int ret;

	buf = vt_read_file(p, &len);
	cr_assert_not_null(buf, "ref %s: %s", p, strerror(errno));
	volt_hash_xxh128(&h, buf, len);
	volt_hash_format(&h, hex);
	snprintf(want, sizeof(want), "%s-%.8s.json", profile, hex);
	cr_expect_str_eq(r->ref_name, want);
	snprintf(id, sizeof(id), "%.8s", hex);
	ret = volt_manifest_load(m, cas.refs_fd, r->ref_name, id, &d);
	cr_assert_eq(ret, 0, "load %s: %d (%s: %s)", r->ref_name, ret, d.entry, d.reason);
	free(buf);
	free(p);
	free(refs);
}

static void expect_manifest(const struct volt_manifest *m)
{
	cr_expect_eq(m->n_entries, N_TREE);
	cr_expect_str_eq(m->name, "kvm-linux");
	cr_assert_not_null(m->profile);
	cr_expect_str_eq(m->profile, "kvm-linux");
	cr_assert_not_null(m->arch);
	cr_expect_str_eq(m->arch, "x86_64");
	cr_assert_not_null(m->qemu_version);
	cr_expect_str_eq(m->qemu_version, "9.0.1");
	cr_expect_eq(m->total_bytes, (int64_t)tree_bytes());
	for (size_t i = 0; i < N_TREE; i++) {
		const struct volt_manifest_entry *e = volt_manifest_find(m, tree[i].path);
		struct volt_hash h;

		cr_assert_not_null(e, "%s not in the manifest", tree[i].path);
		volt_hash_xxh128(&h, tree[i].content, strlen(tree[i].content));
		cr_expect(volt_hash_equal(&e->hash, &h), "%s: wrong hash", tree[i].path);
	}
}

static void expect_objects(void)
{
	char *objects = vt_join(cas_path, "objects");

	for (size_t i = 0; i < N_TREE; i++) {
		char hex[VOLT_HASH_HEX_MAX + 1], *p, *got;
		struct volt_hash h;
		struct stat st;

		volt_hash_xxh128(&h, tree[i].content, strlen(tree[i].content));
		volt_hash_format(&h, hex);
		p = vt_join(objects, hex);
		cr_assert_eq(lstat(p, &st), 0, "object of %s: %s", tree[i].path, strerror(errno));
		cr_expect(S_ISREG(st.st_mode), "%s", tree[i].path);
		cr_expect_eq(st.st_mode & 07777, tree[i].object_mode, "object of %s: mode %o",
			     tree[i].path, st.st_mode & 07777);
		got = vt_read_file(p, NULL);
		cr_assert_not_null(got);
		cr_expect_str_eq(got, tree[i].content, "object of %s", tree[i].path);
		free(got);
		free(p);
	}
	free(objects);
}

Test(build, ingests_a_tree)
{
	struct progress prog = { .in_order = true };
	struct volt_build_result r;
	struct volt_manifest m;
	struct volt_diag d;
	size_t dots;
	int ret;

	make_tree();
	ret = run_build(VOLT_PROFILE_KVM_LINUX, &r, &d, &prog);
	cr_assert_eq(ret, 0, "build: %d (%s: %s)", ret, d.entry, d.reason);
	cr_expect_eq(r.files, N_TREE);
	cr_expect_eq(r.new_objects, N_DISTINCT, "identical contents stored once");
	cr_expect_eq(r.bytes, tree_bytes());
	cr_expect_eq(count_entries("objects", &dots), N_DISTINCT);
	cr_expect_eq(dots, 0, "temporary files left in objects/");
	cr_expect_eq(count_entries("refs", &dots), 1);
	cr_expect_eq(dots, 0, "temporary files left in refs/");
	load_ref(&r, "kvm-linux", &m);
	expect_manifest(&m);
	expect_objects();
	cr_expect_eq(prog.calls, N_TREE, "one progress call per file");
	cr_expect(prog.in_order, "progress counts do not grow one file at a time");
	cr_expect_eq(prog.last_files, r.files);
	cr_expect_eq(prog.last_bytes, r.bytes);
	volt_manifest_release(&m);
}

Test(build, second_build_writes_no_object)
{
	struct volt_build_result r1, r2;
	struct volt_manifest m1, m2;
	struct volt_diag d;
	int ret;

	make_tree();
	ret = run_build(VOLT_PROFILE_KVM_LINUX, &r1, &d, NULL);
	cr_assert_eq(ret, 0, "build: %d (%s: %s)", ret, d.entry, d.reason);
	ret = run_build(VOLT_PROFILE_KVM_LINUX, &r2, &d, NULL);
	cr_assert_eq(ret, 0, "second build: %d (%s: %s)", ret, d.entry, d.reason);
	cr_expect_eq(r2.new_objects, 0);
	cr_expect_eq(r2.files, N_TREE);
	cr_expect_eq(count_entries("objects", NULL), N_DISTINCT);
	cr_expect_str_neq(r1.ref_name, r2.ref_name);
	cr_expect_eq(count_entries("refs", NULL), 2);
	load_ref(&r1, "kvm-linux", &m1);
	load_ref(&r2, "kvm-linux", &m2);
	expect_manifest(&m2);
	cr_expect(m2.created.tv_sec > m1.created.tv_sec ||
			  (m2.created.tv_sec == m1.created.tv_sec &&
			   m2.created.tv_nsec > m1.created.tv_nsec),
		  "created_at %s is not newer than %s", m2.created_at, m1.created_at);
	volt_manifest_release(&m1);
	volt_manifest_release(&m2);
}

Test(build, other_profile_names_its_ref)
{
	struct volt_build_result r;
	struct volt_diag d;
	int ret;

	put_src("bin/qemu-system-aarch64", "arm qemu", 0755);
	ret = run_build(VOLT_PROFILE_EMULATE_FOREIGN, &r, &d, NULL);
	cr_assert_eq(ret, 0, "build: %d (%s: %s)", ret, d.entry, d.reason);
	cr_expect_eq(strncmp(r.ref_name, "emulate-foreign-", 16), 0, "%s", r.ref_name);
	cr_expect_eq(strlen(r.ref_name), strlen("emulate-foreign-12345678.json"));
}

/* Each refused source: the error, d naming the culprit, and no ref. */
static void expect_refused(int err, const char *entry)
{
	struct volt_build_result r;
	struct volt_diag d;
	int ret;

	ret = run_build(VOLT_PROFILE_KVM_LINUX, &r, &d, NULL);
	if (err)
		cr_expect_eq(ret, err, "build: %d (%s: %s)", ret, d.entry, d.reason);
	else
		cr_expect_lt(ret, 0, "build succeeded");
	if (entry)
		cr_expect_not_null(strstr(d.entry, entry), "d.entry '%s' does not name %s", d.entry,
				   entry);
	cr_expect_neq(d.reason[0], '\0', "no reason");
	cr_expect_eq(count_entries("refs", NULL), 0, "a ref was written");
}

Test(build, reserved_top_level_name_refused)
{
	make_tree();
	put_src("args", "--not-a-profile-file", 0644);
	expect_refused(-EINVAL, "args");
}

Test(build, reserved_top_level_folder_refused)
{
	make_tree();
	put_src("unit/x", "x", 0644);
	expect_refused(-EINVAL, "unit");
}

Test(build, top_level_file_bin_refused)
{
	put_src("bin", "a file where a folder must be", 0755);
	expect_refused(-EINVAL, "bin");
}

Test(build, symlink_loop_refused, .timeout = 30)
{
	char *a = vt_join(src, "a");

	make_tree();
	cr_assert_eq(mkdir(a, 0755), 0);
	free(a);
	link_src("..", "a/loop");
	expect_refused(-ELOOP, "a/loop");
}

Test(build, self_link_refused, .timeout = 30)
{
	make_tree();
	link_src(".", "self");
	expect_refused(-ELOOP, "self");
}

Test(build, dangling_symlink_refused)
{
	make_tree();
	link_src("no-such-file.so", "lib/gone.so");
	expect_refused(0, "lib/gone.so");
}

Test(build, fifo_refused, .timeout = 30)
{
	char *p;

	make_tree();
	p = vt_join(src, "lib/pipe");
	cr_assert_eq(mkfifo(p, 0644), 0, "mkfifo: %s", strerror(errno));
	free(p);
	expect_refused(-EINVAL, "lib/pipe");
}

Test(build, unknown_profile_refused)
{
	struct volt_build_result r;
	struct volt_diag d;

	make_tree();
	cr_expect_eq(run_build(VOLT_PROFILE_INVALID, &r, &d, NULL), -EINVAL);
	cr_expect_eq(run_build(VOLT_PROFILE_COUNT, &r, &d, NULL), -EINVAL);
	cr_expect_eq(run_build((enum volt_profile)77, &r, &d, NULL), -EINVAL);
	cr_expect_eq(count_entries("refs", NULL), 0, "a ref was written");
	cr_expect_eq(count_entries("objects", NULL), 0, "objects were written");
}

Test(build, missing_source_refused)
{
	free(src);
	src = vt_join(tmp, "no-such-folder");
	expect_refused(-ENOENT, NULL);
}
