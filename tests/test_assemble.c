// SPDX-License-Identifier: MIT
/*
 * Tests for core/assemble.c: the reference's eager assembly (hard links into
 * objects/, copies across file systems) and Resolve, on temporary stores.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "support.h"
#include "voltfs/assemble.h"
#include "voltfs/manifest.h"

static char *tmp, *cas_path;
static struct volt_cas cas;

static void setup(void)
{
	int ret;

	tmp = vt_tmpdir();
	cas_path = vt_join(tmp, "cas");
	vt_cas_init(cas_path);
	ret = volt_cas_open(&cas, cas_path, false);
	cr_assert_eq(ret, 0, "cas open: %d", ret);
}

static void teardown(void)
{
	volt_cas_release(&cas);
	vt_rmtree(tmp);
	free(cas_path);
	free(tmp);
}

TestSuite(assemble, .init = setup, .fini = teardown);

struct fixture_file {
	const char *path;
	const char *content;
	mode_t mode;
	char hex[VOLT_HASH_HEX_MAX + 1];
};

static struct fixture_file files[] = {
	{ "bin/qemu-system-x86_64", "#!/bin/sh\necho qemu x86_64\n", 0555, "" },
	{ "lib/libx.so", "libx shared object bytes", 0444, "" },
	{ "firmware/bios.bin", "BIOS image", 0444, "" },
	{ "share/qemu/keymaps/en-us", "include common\nmap 0x409\n", 0444, "" },
};

#define N_FILES (sizeof(files) / sizeof(files[0]))

/* Store every fixture file as an object; the manifest JSON for the first n of them. */
static char *put_files(size_t n, const char *created, const char *extra)
{
	char *json, *p;
	size_t cap = 4096;

	json = malloc(cap);
	cr_assert_not_null(json);
	p = json + snprintf(json, cap,
			    "{\"name\": \"kvm-linux\", \"created_at\": \"%s\"%s, "
			    "\"objects\": {",
			    created, extra ? extra : "");
	for (size_t i = 0; i < n; i++) {
		vt_put_object(cas_path, files[i].content, strlen(files[i].content), files[i].mode,
			      files[i].hex);
		p += snprintf(p, cap - (size_t)(p - json), "%s\"%s\": \"%s\"", i ? ", " : "",
			      files[i].path, files[i].hex);
	}
	snprintf(p, cap - (size_t)(p - json), "}}");
	return json;
}

static void parse_ok(struct volt_manifest *m, const char *json)
{
	struct volt_diag d;
	int ret;

	volt_diag_clear(&d);
	ret = volt_manifest_parse(m, json, strlen(json), &d);
	cr_assert_eq(ret, 0, "parse: %d (%s: %s)", ret, d.entry, d.reason);
}

static void expect_dir(const char *dest, const char *name)
{
	char *p = vt_join(dest, name);
	struct stat st;

	cr_assert_eq(stat(p, &st), 0, "%s: %s", p, strerror(errno));
	cr_expect(S_ISDIR(st.st_mode), "%s is not a folder", p);
	free(p);
}

static void object_stat(const char *hex, struct stat *st)
{
	char *objects = vt_join(cas_path, "objects"), *p = vt_join(objects, hex);

	cr_assert_eq(lstat(p, st), 0, "%s: %s", p, strerror(errno));
	free(p);
	free(objects);
}

/* dest/<path> holds the file's bytes; linked: it is the object's inode, else a copy. */
static void expect_file(const char *dest, const struct fixture_file *f, bool linked)
{
	char *p = vt_join(dest, f->path), *got;
	struct stat st, obj;
	size_t len = 0;

	cr_assert_eq(lstat(p, &st), 0, "%s: %s", p, strerror(errno));
	cr_assert(S_ISREG(st.st_mode), "%s is not a regular file", p);
	object_stat(f->hex, &obj);
	if (linked) {
		cr_expect_eq(st.st_ino, obj.st_ino, "%s is not a link to its object", f->path);
		cr_expect_eq(st.st_dev, obj.st_dev, "%s", f->path);
		cr_expect_geq(st.st_nlink, 2, "%s", f->path);
	} else {
		cr_expect(st.st_dev != obj.st_dev || st.st_ino != obj.st_ino, "%s", f->path);
		cr_expect_eq(st.st_mode & 07777, obj.st_mode & 07777, "%s: mode %o, object %o",
			     f->path, st.st_mode & 07777, obj.st_mode & 07777);
	}
	cr_expect_eq(st.st_mode & 07777, f->mode, "%s: mode %o", f->path, st.st_mode & 07777);
	got = vt_read_file(p, &len);
	cr_assert_not_null(got, "%s: %s", p, strerror(errno));
	cr_expect_eq(len, strlen(f->content), "%s", f->path);
	cr_expect_str_eq(got, f->content, "%s", f->path);
	free(got);
	free(p);
}

Test(assemble, links_every_object)
{
	char *json = put_files(N_FILES, "2024-05-01T12:00:00Z", NULL);
	char *dest = vt_join(tmp, "out/deeper/kvm-linux");
	struct volt_assemble_stats stats = { 99, 99 };
	struct volt_manifest m;
	struct volt_diag d;
	int ret;

	parse_ok(&m, json);
	volt_diag_clear(&d);
	ret = volt_assemble(&cas, &m, dest, &stats, &d);
	cr_assert_eq(ret, 0, "assemble: %d (%s: %s)", ret, d.entry, d.reason);
	cr_expect_eq(stats.linked, N_FILES);
	cr_expect_eq(stats.copied, 0);
	expect_dir(dest, "bin");
	expect_dir(dest, "lib");
	expect_dir(dest, "firmware");
	expect_dir(dest, "share/qemu/keymaps");
	for (size_t i = 0; i < N_FILES; i++)
		expect_file(dest, &files[i], true);
	volt_manifest_release(&m);
	free(json);
	free(dest);
}

/* bin/, lib/ and firmware/ are made even when no path lies in them. */
Test(assemble, top_folders_always_made)
{
	char *json = put_files(1, "2024-05-01T12:00:00Z", NULL);
	char *dest = vt_join(tmp, "kvm-linux");
	struct volt_assemble_stats stats;
	struct volt_manifest m;
	struct volt_diag d;
	int ret;

	parse_ok(&m, json);
	ret = volt_assemble(&cas, &m, dest, &stats, &d);
	cr_assert_eq(ret, 0, "assemble: %d (%s: %s)", ret, d.entry, d.reason);
	cr_expect_eq(stats.linked, 1);
	expect_dir(dest, "bin");
	expect_dir(dest, "lib");
	expect_dir(dest, "firmware");
	volt_manifest_release(&m);
	free(json);
	free(dest);
}

Test(assemble, missing_object_is_enoent)
{
	static const char missing[] = "0123456789abcdef0123456789abcdef";
	char *json = put_files(N_FILES, "2024-05-01T12:00:00Z", NULL);
	char *dest = vt_join(tmp, "kvm-linux"), *p;
	struct volt_assemble_stats stats;
	struct volt_manifest m;
	struct volt_diag d;
	int ret;

	/* lib/libx.so names an object that is not in the store */
	p = strstr(json, files[1].hex);
	cr_assert_not_null(p);
	memcpy(p, missing, 32);
	parse_ok(&m, json);
	volt_diag_clear(&d);
	ret = volt_assemble(&cas, &m, dest, &stats, &d);
	cr_expect_eq(ret, -ENOENT, "assemble: %d", ret);
	cr_expect_str_eq(d.entry, "lib/libx.so");
	cr_expect_not_null(strstr(d.reason, missing), "reason '%s' does not name the hash",
			   d.reason);
	p = vt_join(dest, "lib/libx.so");
	cr_expect_neq(access(p, F_OK), 0, "%s was made", p);
	free(p);
	volt_manifest_release(&m);
	free(json);
	free(dest);
}

/* A link planted in objects/ is never linked (nor followed) into the profile. */
Test(assemble, planted_symlink_refused)
{
	char *json = put_files(N_FILES, "2024-05-01T12:00:00Z", NULL);
	char *dest = vt_join(tmp, "kvm-linux"), *secret = vt_join(tmp, "secret");
	char *objects = vt_join(cas_path, "objects"), *obj = vt_join(objects, files[2].hex), *p;
	struct volt_assemble_stats stats;
	struct volt_manifest m;
	struct volt_diag d;
	struct stat st = { 0 };
	int ret;

	vt_write_str(secret, "secret bytes");
	cr_assert_eq(unlink(obj), 0);
	cr_assert_eq(symlink(secret, obj), 0);
	parse_ok(&m, json);
	volt_diag_clear(&d);
	ret = volt_assemble(&cas, &m, dest, &stats, &d);
	cr_expect_lt(ret, 0, "a planted link was accepted");
	cr_expect_str_eq(d.entry, files[2].path);
	cr_expect_not_null(strstr(d.reason, files[2].hex), "reason '%s'", d.reason);
	p = vt_join(dest, files[2].path);
	cr_expect_neq(lstat(p, &st), 0, "%s exists (mode %o)", p, st.st_mode);
	free(p);
	volt_manifest_release(&m);
	free(json);
	free(dest);
	free(secret);
	free(objects);
	free(obj);
}

Test(assemble, already_assembled_is_eexist)
{
	char *json = put_files(N_FILES, "2024-05-01T12:00:00Z", NULL);
	char *dest = vt_join(tmp, "kvm-linux");
	struct volt_assemble_stats stats;
	struct volt_manifest m;
	struct volt_diag d;
	int ret;

	parse_ok(&m, json);
	ret = volt_assemble(&cas, &m, dest, &stats, &d);
	cr_assert_eq(ret, 0, "assemble: %d (%s: %s)", ret, d.entry, d.reason);
	volt_diag_clear(&d);
	ret = volt_assemble(&cas, &m, dest, &stats, &d);
	cr_expect_eq(ret, -EEXIST, "second assemble: %d", ret);
	cr_expect_neq(d.entry[0], '\0');
	/* the first assembly is left as it was */
	for (size_t i = 0; i < N_FILES; i++)
		expect_file(dest, &files[i], true);
	volt_manifest_release(&m);
	free(json);
	free(dest);
}

/*
 * Across file systems a hard link fails with EXDEV: the object is copied,
 * keeping its mode. /dev/shm is tmpfs on most hosts; skipped where it is
 * the same file system as the temporary folder.
 */
Test(assemble, copies_across_file_systems)
{
	char *json = put_files(N_FILES, "2024-05-01T12:00:00Z", NULL);
	char shm[] = "/dev/shm/voltfs-test-XXXXXX";
	struct volt_assemble_stats stats;
	struct volt_manifest m;
	struct volt_diag d;
	struct stat a, b;
	char *dest;
	int ret;

	if (stat(tmp, &a) < 0 || stat("/dev/shm", &b) < 0 || a.st_dev == b.st_dev)
		cr_skip_test("/dev/shm is not a second file system here");
	cr_assert_not_null(mkdtemp(shm), "mkdtemp: %s", strerror(errno));
	dest = vt_join(shm, "kvm-linux");
	parse_ok(&m, json);
	volt_diag_clear(&d);
	ret = volt_assemble(&cas, &m, dest, &stats, &d);
	cr_expect_eq(ret, 0, "assemble: %d (%s: %s)", ret, d.entry, d.reason);
	if (ret == 0) {
		cr_expect_eq(stats.copied, N_FILES);
		cr_expect_eq(stats.linked, 0);
		for (size_t i = 0; i < N_FILES; i++)
			expect_file(dest, &files[i], false);
	}
	volt_manifest_release(&m);
	vt_rmtree(shm);
	free(json);
	free(dest);
}

static void put_ref(const char *json)
{
	char name[64];

	vt_put_ref(cas_path, "kvm-linux", json, name);
}

Test(assemble, resolve_assembles_once)
{
	char *json = put_files(N_FILES, "2024-05-01T12:00:00Z", NULL);
	char *base = vt_join(tmp, "qemu"), *dir, *want, *libx;
	struct timespec old[2] = { { 1000000000, 0 }, { 1000000000, 0 } };
	struct volt_resolved r;
	struct volt_diag d;
	struct stat st;
	int ret;

	put_ref(json);
	volt_diag_clear(&d);
	ret = volt_resolve(&cas, VOLT_PROFILE_KVM_LINUX, NULL, base, &r, &d);
	cr_assert_eq(ret, 0, "resolve: %d (%s: %s)", ret, d.entry, d.reason);
	dir = vt_join(base, "kvm-linux");
	cr_expect_eq(r.profile, VOLT_PROFILE_KVM_LINUX);
	cr_expect_str_eq(r.arch, "x86_64");
	want = vt_join(dir, "bin/qemu-system-x86_64");
	cr_expect_str_eq(r.binary, want);
	free(want);
	want = vt_join(dir, "firmware");
	cr_expect_str_eq(r.firmware, want);
	free(want);
	want = vt_join(dir, "lib");
	cr_expect_str_eq(r.lib, want);
	free(want);
	for (size_t i = 0; i < N_FILES; i++)
		expect_file(dir, &files[i], true);

	/* Second call: the binary is there, nothing is touched. */
	libx = vt_join(dir, "lib/libx.so");
	cr_assert_eq(unlink(libx), 0);
	cr_assert_eq(utimensat(AT_FDCWD, dir, old, 0), 0);
	memset(&r, 0, sizeof(r));
	volt_diag_clear(&d);
	ret = volt_resolve(&cas, VOLT_PROFILE_KVM_LINUX, "", base, &r, &d);
	cr_expect_eq(ret, 0, "second resolve: %d (%s: %s)", ret, d.entry, d.reason);
	cr_expect_neq(access(libx, F_OK), 0, "second resolve assembled again");
	cr_assert_eq(stat(dir, &st), 0);
	cr_expect_eq(st.st_mtim.tv_sec, old[1].tv_sec, "second resolve touched %s", dir);
	cr_expect_str_eq(r.arch, "x86_64");
	cr_expect_not_null(strstr(r.binary, "/kvm-linux/bin/qemu-system-x86_64"), "%s", r.binary);
	free(libx);
	free(dir);
	free(base);
	free(json);
}

/* The guest arch picks the binary; the newest ref is the one assembled. */
Test(assemble, resolve_arch_and_newest_ref)
{
	static struct fixture_file arm[] = {
		{ "bin/qemu-system-aarch64", "#!/bin/sh\necho qemu aarch64\n", 0555, "" },
		{ "firmware/QEMU_EFI.fd", "aarch64 EFI", 0444, "" },
	};
	char *old_json = put_files(N_FILES, "2024-01-01T00:00:00Z", NULL);
	char *base = vt_join(tmp, "qemu"), *dir, *p, json[1024];
	struct volt_resolved r;
	struct volt_diag d;
	int ret;

	for (size_t i = 0; i < 2; i++)
		vt_put_object(cas_path, arm[i].content, strlen(arm[i].content), arm[i].mode,
			      arm[i].hex);
	snprintf(json, sizeof(json),
		 "{\"name\": \"emulate-foreign\", \"created_at\": \"2024-06-01T00:00:00Z\", "
		 "\"arch\": \"aarch64\", \"objects\": {\"%s\": \"%s\", \"%s\": \"%s\"}}",
		 arm[0].path, arm[0].hex, arm[1].path, arm[1].hex);
	vt_put_ref(cas_path, "emulate-foreign", old_json, (char[64]){ 0 });
	vt_put_ref(cas_path, "emulate-foreign", json, (char[64]){ 0 });
	volt_diag_clear(&d);
	ret = volt_resolve(&cas, VOLT_PROFILE_EMULATE_FOREIGN, "aarch64", base, &r, &d);
	cr_assert_eq(ret, 0, "resolve: %d (%s: %s)", ret, d.entry, d.reason);
	dir = vt_join(base, "emulate-foreign");
	cr_expect_str_eq(r.arch, "aarch64");
	p = vt_join(dir, "bin/qemu-system-aarch64");
	cr_expect_str_eq(r.binary, p);
	free(p);
	expect_file(dir, &arm[0], true);
	expect_file(dir, &arm[1], true);
	p = vt_join(dir, "bin/qemu-system-x86_64");
	cr_expect_neq(access(p, F_OK), 0, "the older ref was assembled");
	free(p);
	free(dir);
	free(base);
	free(old_json);
}

/* A ref without the binary the arch asks for: assembled, then -ENOEXEC. */
Test(assemble, resolve_without_binary_is_enoexec)
{
	char *json = put_files(N_FILES, "2024-05-01T12:00:00Z", NULL);
	char *base = vt_join(tmp, "qemu");
	struct volt_resolved r;
	struct volt_diag d;
	int ret;

	put_ref(json);
	volt_diag_clear(&d);
	ret = volt_resolve(&cas, VOLT_PROFILE_KVM_LINUX, "riscv64", base, &r, &d);
	cr_expect_eq(ret, -ENOEXEC, "resolve: %d", ret);
	cr_expect_not_null(strstr(d.entry, "qemu-system-riscv64"), "entry '%s'", d.entry);
	free(base);
	free(json);
}

Test(assemble, resolve_without_ref_is_enoent)
{
	char *json = put_files(N_FILES, "2024-05-01T12:00:00Z", NULL);
	char *base = vt_join(tmp, "qemu"), *dir;
	struct volt_resolved r;
	struct volt_diag d;
	int ret;

	put_ref(json); /* kvm-linux has one; kvm-uefi has none */
	volt_diag_clear(&d);
	ret = volt_resolve(&cas, VOLT_PROFILE_KVM_UEFI, NULL, base, &r, &d);
	cr_expect_eq(ret, -ENOENT, "resolve: %d", ret);
	cr_expect_neq(d.reason[0], '\0');
	dir = vt_join(base, "kvm-uefi");
	cr_expect_neq(access(dir, F_OK), 0, "%s was made", dir);
	cr_expect_eq(volt_resolve(&cas, VOLT_PROFILE_INVALID, NULL, base, &r, &d), -EINVAL);
	free(dir);
	free(base);
	free(json);
}
