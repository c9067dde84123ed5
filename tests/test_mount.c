// SPDX-License-Identifier: MIT
/*
 * voltfs on a real FUSE mount: the tree, bytes, modes, times and inodes a
 * user sees, read-only refusals, synthetic files, laziness, missing objects,
 * concurrent readers and a clean exit on unmount.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "support.h"
#include "voltfs/build.h"
#include "voltfs/manifest.h"
#include "voltfs/render.h"

struct world {
	char *dir, *cas, *mnt;
	char ref[2][VOLT_REF_NAME_MAX]; /* kvm-linux, emulate-x86 */
	struct volt_manifest m[2];
	struct vt_mount mount;
};

static const char *const profiles[2] = { "kvm-linux", "emulate-x86" };
static struct world *current;

/* A failed assertion skips world_free: unmount here so no daemon outlives its test. */
static void teardown(void)
{
	if (current) {
		vt_mount_cleanup(&current->mount);
		vt_rmtree(current->dir);
	}
}

TestSuite(mount, .fini = teardown, .timeout = 120);

static void fill_random(char *buf, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++) {
		seed = seed * 1103515245u + 12345u;
		buf[i] = (char)(seed >> 16);
	}
}

static void put_random(const char *root, const char *rel, size_t len, unsigned seed, mode_t mode)
{
	char *buf = malloc(len ? len : 1), *path = vt_join(root, rel);

	fill_random(buf, len, seed);
	vt_write_file(path, buf, len, mode);
	free(buf);
	free(path);
}

static void copy_file(const char *from, const char *root, const char *rel, mode_t mode)
{
	size_t len;
	char *buf = vt_read_file(from, &len), *path = vt_join(root, rel);

	cr_assert_not_null(buf, "%s", from);
	vt_write_file(path, buf, len, mode);
	free(buf);
	free(path);
}

static void build(struct world *w, int i, const char *src, const char *arch)
{
	struct volt_build_opts o = { .src = src, .arch = arch };
	struct volt_build_result r;
	struct volt_cas cas;
	struct volt_diag d;

	o.profile = volt_profile_from_name(profiles[i], strlen(profiles[i]));
	cr_assert_eq(volt_cas_open(&cas, w->cas, true), 0);
	cr_assert_eq(volt_build(&cas, &o, &r, &d), 0, "build: %s", d.reason);
	strcpy(w->ref[i], r.ref_name);
	cr_assert_eq(volt_manifest_load(&w->m[i], cas.refs_fd, r.ref_name, NULL, &d), 0);
	volt_cas_release(&cas);
}

/* Two profiles sharing their binary and a library, each with files of its own. */
static void world_make(struct world *w, const char *opts)
{
	char *a, *b;

	memset(w, 0, sizeof(*w));
	current = w;
	w->dir = vt_tmpdir();
	w->cas = vt_join(w->dir, "cas");
	w->mnt = vt_join(w->dir, "mnt");
	a = vt_join(w->dir, "src-a");
	b = vt_join(w->dir, "src-b");
	copy_file("/bin/echo", a, "bin/qemu-system-x86_64", 0755);
	copy_file("/bin/echo", b, "bin/qemu-system-x86_64", 0755);
	put_random(a, "lib/libshared.so.1", 200000, 1, 0644);
	put_random(b, "lib/libshared.so.1", 200000, 1, 0644);
	put_random(a, "lib/x86_64-linux-gnu/qemu/accel-tcg-x86_64.so", 30000, 2, 0644);
	put_random(a, "lib/big.bin", 16u << 20, 3, 0644);
	put_random(a, "firmware/bios-256k.bin", 262144, 4, 0644);
	put_random(a, "share/doc/empty", 0, 5, 0644);
	put_random(b, "firmware/other.rom", 5000, 6, 0644);
	build(w, 0, a, NULL);
	build(w, 1, b, "x86_64");
	free(a);
	free(b);
	vt_mount(&w->mount, w->cas, w->mnt, opts);
}

static void world_free(struct world *w)
{
	if (w->mount.mnt)
		cr_assert_eq(vt_unmount(&w->mount), 0, "voltfs did not exit 0 after unmount");
	for (int i = 0; i < 2; i++)
		volt_manifest_release(&w->m[i]);
	vt_rmtree(w->dir);
	free(w->cas);
	free(w->mnt);
	free(w->dir);
	current = NULL;
}

static char *mpath(const struct world *w, const char *profile, const char *rel)
{
	char *p;

	cr_assert(asprintf(&p, "%s/%s%s%s", w->mnt, profile, rel ? "/" : "", rel ? rel : "") > 0);
	return p;
}

static char *object_path(const struct world *w, const struct volt_hash *h)
{
	char hex[VOLT_HASH_HEX_MAX + 1], *p;

	volt_hash_format(h, hex);
	cr_assert(asprintf(&p, "%s/objects/%s", w->cas, hex) > 0);
	return p;
}

Test(mount, tree_matches_manifest_byte_for_byte)
{
	struct world w;

	world_make(&w, NULL);
	for (int i = 0; i < 2; i++) {
		for (size_t e = 0; e < w.m[i].n_entries; e++) {
			const struct volt_manifest_entry *en = &w.m[i].entries[e];
			char *p = mpath(&w, profiles[i], en->path), *o = object_path(&w, &en->hash);
			size_t got_len, want_len;
			char *got = vt_read_file(p, &got_len), *want = vt_read_file(o, &want_len);

			cr_assert_not_null(got, "read %s: %s", p, strerror(errno));
			cr_assert_eq(got_len, want_len, "%s", p);
			cr_assert(memcmp(got, want, got_len) == 0, "%s differs from its object", p);
			free(got);
			free(want);
			free(p);
			free(o);
		}
	}
	world_free(&w);
}

static int count_entries(const char *dir, const char *must_have)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0, found = 0;

	cr_assert_not_null(d, "opendir %s: %s", dir, strerror(errno));
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		n++;
		found |= must_have && !strcmp(de->d_name, must_have);
	}
	closedir(d);
	cr_assert(!must_have || found, "%s has no %s", dir, must_have);
	return n;
}

Test(mount, listings)
{
	struct world w;
	char *p;

	world_make(&w, NULL);
	/* kvm-linux, emulate-x86 and the default link */
	cr_assert_eq(count_entries(w.mnt, "kvm-linux"), 3);
	p = mpath(&w, "kvm-linux", NULL);
	/* bin lib firmware args env unit share */
	cr_assert_eq(count_entries(p, "unit"), 7);
	free(p);
	p = mpath(&w, "emulate-x86", NULL);
	cr_assert_eq(count_entries(p, "firmware"), 6);
	free(p);
	p = mpath(&w, "kvm-linux", "lib");
	cr_assert_eq(count_entries(p, "libshared.so.1"), 3);
	free(p);
	p = mpath(&w, "kvm-linux", "lib/x86_64-linux-gnu/qemu");
	cr_assert_eq(count_entries(p, "accel-tcg-x86_64.so"), 1);
	free(p);
	world_free(&w);
}

/* Entries getdents64 returns after seeking DIR to OFF, and how long it took. */
static long entries_after_seek(const char *dir, off_t off, double *seconds)
{
	char buf[8192];
	struct timespec t0, t1;
	long n = 0, got;
	int fd = open(dir, O_RDONLY | O_DIRECTORY);

	cr_assert_geq(fd, 0, "open %s: %s", dir, strerror(errno));
	cr_assert_eq(lseek(fd, off, SEEK_SET), off, "lseek %s to %jd: %s", dir, (intmax_t)off,
		     strerror(errno));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while ((got = syscall(SYS_getdents64, fd, buf, sizeof(buf))) > 0) {
		for (long at = 0; at < got; n++)
			at += *(unsigned short *)(buf + at + 16); /* d_reclen */
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	cr_assert_geq(got, 0, "getdents64 %s after %jd: %s", dir, (intmax_t)off, strerror(errno));
	close(fd);
	*seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	return n;
}

/*
 * Any user may seek a folder anywhere: offsets past the end give nothing, at
 * once. A 32-bit cast once turned 0x80000002 into 2^31 loop turns at the root,
 * 0x80000001 into a signed overflow and 2^32 + 3 into the profiles again.
 */
Test(mount, listing_offsets_past_the_end)
{
	static const off_t offs[] = { 0x80000001,	    0x80000002,		  0xffffffff,
				      ((off_t)1 << 32) + 2, ((off_t)1 << 32) + 3, INT64_MAX };
	struct world w;
	double s;
	char *p;

	world_make(&w, NULL);
	p = mpath(&w, "kvm-linux", "lib");
	for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		cr_expect_eq(entries_after_seek(w.mnt, offs[i], &s), 0, "root after %jx",
			     (intmax_t)offs[i]);
		/* Generous: the broken code took seconds; a right one takes microseconds. */
		cr_expect_lt(s, 0.5, "root after %jx took %.3f s", (intmax_t)offs[i], s);
		cr_expect_eq(entries_after_seek(p, offs[i], &s), 0, "lib after %jx",
			     (intmax_t)offs[i]);
	}
	/* From the start: ., .., kvm-linux, emulate-x86, default. From just after
	 * kvm-linux (its next offset, 3): emulate-x86 and default. */
	cr_expect_eq(entries_after_seek(w.mnt, 0, &s), 5);
	cr_expect_eq(entries_after_seek(w.mnt, 3, &s), 2);
	cr_expect_eq(entries_after_seek(p, 0, &s), 5);
	free(p);
	world_free(&w);
}

Test(mount, modes_and_times)
{
	struct world w;
	struct stat st, obj;
	char *p, *o;

	world_make(&w, NULL);
	for (size_t e = 0; e < w.m[0].n_entries; e++) {
		const struct volt_manifest_entry *en = &w.m[0].entries[e];

		p = mpath(&w, "kvm-linux", en->path);
		o = object_path(&w, &en->hash);
		cr_assert_eq(stat(p, &st), 0, "%s", p);
		cr_assert_eq(stat(o, &obj), 0);
		cr_assert(S_ISREG(st.st_mode));
		cr_assert_eq(st.st_mode & 07777, obj.st_mode & 0555, "%s: mode %o", p, st.st_mode);
		cr_assert_eq(st.st_size, obj.st_size);
		cr_assert_eq(st.st_mtim.tv_sec, obj.st_mtim.tv_sec, "%s: mtime", p);
		cr_assert_eq(st.st_mtim.tv_nsec, obj.st_mtim.tv_nsec);
		free(p);
		free(o);
	}
	p = mpath(&w, "kvm-linux", "bin/qemu-system-x86_64");
	cr_assert_eq(stat(p, &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0555);
	free(p);
	p = mpath(&w, "kvm-linux", "lib/libshared.so.1");
	cr_assert_eq(stat(p, &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0444);
	free(p);
	const char *dirs[] = { NULL, "bin", "lib", "firmware", "share/doc" };
	for (int i = 0; i < 5; i++) {
		p = mpath(&w, "kvm-linux", dirs[i]);
		cr_assert_eq(stat(p, &st), 0, "%s", p);
		cr_assert(S_ISDIR(st.st_mode));
		cr_assert_eq(st.st_mode & 07777, 0555, "%s", p);
		cr_assert_eq(st.st_mtim.tv_sec, w.m[0].created.tv_sec, "%s: mtime", p);
		cr_assert_eq(st.st_mtim.tv_nsec, w.m[0].created.tv_nsec);
		free(p);
	}
	const char *synth[] = { "args", "env", "unit" };
	for (int i = 0; i < 3; i++) {
		p = mpath(&w, "emulate-x86", synth[i]);
		cr_assert_eq(stat(p, &st), 0, "%s", p);
		cr_assert(S_ISREG(st.st_mode));
		cr_assert_eq(st.st_mode & 07777, 0444);
		cr_assert_eq(st.st_mtim.tv_sec, w.m[1].created.tv_sec);
		free(p);
	}
	world_free(&w);
}

Test(mount, one_inode_per_object)
{
	struct world w;
	struct stat a, b, c, d;
	char *p;

	world_make(&w, NULL);
	p = mpath(&w, "kvm-linux", "lib/libshared.so.1");
	cr_assert_eq(stat(p, &a), 0);
	free(p);
	p = mpath(&w, "emulate-x86", "lib/libshared.so.1");
	cr_assert_eq(stat(p, &b), 0);
	free(p);
	cr_assert_eq(a.st_ino, b.st_ino, "one object, two inodes");
	cr_assert_eq(a.st_dev, b.st_dev);
	p = mpath(&w, "kvm-linux", "bin/qemu-system-x86_64");
	cr_assert_eq(stat(p, &c), 0);
	free(p);
	p = mpath(&w, "emulate-x86", "bin/qemu-system-x86_64");
	cr_assert_eq(stat(p, &d), 0);
	free(p);
	cr_assert_eq(c.st_ino, d.st_ino);
	cr_assert_neq(a.st_ino, c.st_ino, "two objects, one inode");
	world_free(&w);
}

static void check_synth(const struct world *w, int i, const char *opts_rootfs, int memory)
{
	struct volt_render_input in = {
		.profile = volt_profile_from_name(profiles[i], strlen(profiles[i])),
		.name = profiles[i],
		.arch = w->m[i].arch,
		.rootfs = opts_rootfs,
		.memory = memory,
	};
	char dir[4096];
	const char *synth[] = { "args", "env", "unit" };

	snprintf(dir, sizeof(dir), "%s/%s", w->mnt, profiles[i]);
	in.profile_dir = dir;
	for (int s = 0; s < 3; s++) {
		struct volt_text want;
		struct stat st;
		size_t len;
		char *p = mpath(w, profiles[i], synth[s]), *got;

		cr_assert_eq(volt_render_synth(s, &in, &want), 0);
		got = vt_read_file(p, &len);
		cr_assert_not_null(got);
		cr_assert_str_eq(got, want.buf, "%s", p);
		cr_assert_eq(stat(p, &st), 0);
		cr_assert_eq((size_t)st.st_size, len, "%s: st_size is not the rendered length", p);
		free(want.buf);
		free(got);
		free(p);
	}
}

Test(mount, synthetic_files)
{
	struct world w;
	char *p, *unit;

	world_make(&w, NULL);
	check_synth(&w, 0, NULL, 0);
	check_synth(&w, 1, NULL, 0);
	p = mpath(&w, "kvm-linux", "unit");
	unit = vt_read_file(p, NULL);
	free(p);
	p = mpath(&w, "kvm-linux", "bin/qemu-system-x86_64");
	cr_assert_not_null(strstr(unit, p), "unit does not name the mounted binary:\n%s", unit);
	cr_assert_not_null(strstr(unit, "accel=kvm"));
	free(p);
	free(unit);
	world_free(&w);
}

Test(mount, render_options)
{
	struct world w;
	char *p, *args;

	world_make(&w, "memory=2048,rootfs=/srv/vm root");
	check_synth(&w, 1, "/srv/vm root", 2048);
	p = mpath(&w, "emulate-x86", "args");
	args = vt_read_file(p, NULL);
	cr_assert_not_null(strstr(args, "-m\n2048\n"), "%s", args);
	cr_assert_not_null(strstr(args, "path=/srv/vm root,"), "%s", args);
	free(args);
	free(p);
	world_free(&w);
}

Test(mount, read_only)
{
	struct world w;
	char *f, *d, *n;

	world_make(&w, NULL);
	f = mpath(&w, "kvm-linux", "lib/libshared.so.1");
	d = mpath(&w, "kvm-linux", "lib");
	n = mpath(&w, "kvm-linux", "lib/new");
	errno = 0;
	cr_assert_eq(open(f, O_WRONLY), -1);
	cr_assert_eq(errno, EROFS, "open for write: %s", strerror(errno));
	cr_assert_eq(open(f, O_RDWR), -1);
	cr_assert_eq(errno, EROFS);
	cr_assert_eq(open(n, O_WRONLY | O_CREAT, 0644), -1);
	cr_assert_eq(errno, EROFS);
	cr_assert_eq(truncate(f, 0), -1);
	cr_assert_eq(errno, EROFS);
	cr_assert_eq(chmod(f, 0777), -1);
	cr_assert_eq(errno, EROFS);
	cr_assert_eq(unlink(f), -1);
	cr_assert_eq(errno, EROFS);
	cr_assert_eq(mkdir(n, 0755), -1);
	cr_assert_eq(errno, EROFS);
	cr_assert_eq(rmdir(d), -1);
	cr_assert_eq(errno, EROFS);
	cr_assert_eq(rename(f, n), -1);
	cr_assert_eq(errno, EROFS);
	cr_assert_eq(symlink("x", n), -1);
	cr_assert_eq(errno, EROFS);
	free(f);
	free(d);
	free(n);
	world_free(&w);
}

Test(mount, missing_names)
{
	struct world w;
	struct stat st;
	char *p;

	world_make(&w, NULL);
	p = mpath(&w, "kvm-linux", "lib/nope.so");
	/* Twice: the second answer comes from the kernel's negative entry. */
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(stat(p, &st), -1);
		cr_assert_eq(errno, ENOENT);
	}
	free(p);
	p = mpath(&w, "kvm-uefi", NULL);
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(stat(p, &st), -1);
		cr_assert_eq(errno, ENOENT, "a profile without a ref");
	}
	free(p);
	p = mpath(&w, "not-a-profile", NULL);
	cr_assert_eq(stat(p, &st), -1);
	cr_assert_eq(errno, ENOENT);
	free(p);
	p = mpath(&w, "kvm-linux", "args/x");
	cr_assert_eq(stat(p, &st), -1);
	cr_assert_eq(errno, ENOTDIR);
	free(p);
	world_free(&w);
}

Test(mount, exec_from_mount)
{
	struct world w;
	char *cmd, *out;

	world_make(&w, NULL);
	cr_assert(asprintf(&cmd, "'%s/kvm-linux/bin/qemu-system-x86_64' from-voltfs", w.mnt) > 0);
	cr_assert_eq(vt_run(cmd, &out), 0);
	cr_assert_str_eq(out, "from-voltfs\n");
	free(cmd);
	free(out);
	world_free(&w);
}

Test(mount, missing_object_is_eio_on_that_file_alone)
{
	struct world w;
	const struct volt_manifest_entry *fw;
	struct stat st;
	char *o, *o2, *p, *log, hex[VOLT_HASH_HEX_MAX + 1];
	int fd;

	world_make(&w, NULL);
	fw = volt_manifest_find(&w.m[0], "firmware/bios-256k.bin");
	cr_assert_not_null(fw);
	o = object_path(&w, &fw->hash);
	cr_assert_eq(unlink(o), 0);
	p = mpath(&w, "kvm-linux", "firmware/bios-256k.bin");
	fd = open(p, O_RDONLY);
	cr_assert_eq(fd, -1);
	cr_assert_eq(errno, EIO, "open of a missing object: %s", strerror(errno));
	free(p);
	/* The rest of the profile, and the other profile, still work. */
	p = mpath(&w, "kvm-linux", "lib/libshared.so.1");
	cr_assert_eq(stat(p, &st), 0);
	free(p);
	p = mpath(&w, "emulate-x86", "firmware/other.rom");
	o2 = vt_read_file(p, NULL);
	cr_assert_not_null(o2);
	free(o2);
	free(p);
	log = vt_mount_log(&w.mount);
	volt_hash_format(&fw->hash, hex);
	cr_assert_not_null(strstr(log, "kvm-linux"), "%s", log);
	cr_assert_not_null(strstr(log, "firmware/bios-256k.bin"), "%s", log);
	cr_assert_not_null(strstr(log, hex), "log does not name the hash: %s", log);
	free(log);
	free(o);
	world_free(&w);
}

Test(mount, object_replaced_by_link_is_eio)
{
	struct world w;
	const struct volt_manifest_entry *e;
	char *o, *p;

	world_make(&w, NULL);
	e = volt_manifest_find(&w.m[1], "firmware/other.rom");
	o = object_path(&w, &e->hash);
	cr_assert_eq(unlink(o), 0);
	cr_assert_eq(symlink("/etc/passwd", o), 0);
	p = mpath(&w, "emulate-x86", "firmware/other.rom");
	cr_assert_null(vt_read_file(p, NULL), "a link in objects/ was followed");
	cr_assert_eq(errno, EIO);
	free(p);
	free(o);
	world_free(&w);
}

Test(mount, lazy_manifest_parsing)
{
	struct world w;
	struct stat st;
	char name[64], *log, *p;

	memset(&w, 0, sizeof(w));
	world_make(&w, NULL);
	vt_unmount(&w.mount);
	/* A broken ref: whoever parses it says so in the log. */
	vt_put_ref(w.cas, "kvm-uefi",
		   "{\"name\": 1, \"created_at\": \"2026-01-01T00:00:00Z\", \"objects\": {}}",
		   name);
	vt_mount(&w.mount, w.cas, w.mnt, NULL);
	cr_assert_eq(stat(w.mnt, &st), 0);
	log = vt_mount_log(&w.mount);
	cr_assert_null(strstr(log, name), "mounting parsed a manifest: %s", log);
	free(log);
	p = mpath(&w, "kvm-uefi", NULL);
	cr_assert_eq(stat(p, &st), -1);
	cr_assert_eq(errno, ENOENT);
	free(p);
	log = vt_mount_log(&w.mount);
	cr_assert_not_null(strstr(log, name), "the refused ref is not named: %s", log);
	cr_assert_not_null(strstr(log, "name"), "%s", log);
	free(log);
	world_free(&w);
}

Test(mount, newest_ref_serves)
{
	struct world w;
	char name[64], *json, *p, *got, hex[VOLT_HASH_HEX_MAX + 1], now[32];
	time_t t = time(NULL) + 3600;

	world_make(&w, NULL);
	vt_unmount(&w.mount);
	vt_put_object(w.cas, "newer\n", 6, 0444, hex);
	/* An hour ahead: newer than the fixtures built now, within the day allowed ahead. */
	strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
	cr_assert(asprintf(&json,
			   "{\"name\":\"kvm-linux\",\"created_at\":\"%s\","
			   "\"objects\":{\"bin/qemu-system-x86_64\":\"%s\"}}",
			   now, hex) > 0);
	vt_put_ref(w.cas, "kvm-linux", json, name);
	free(json);
	/* A newer but broken ref never hides the good one. */
	vt_put_ref(w.cas, "kvm-linux",
		   "{\"name\":\"kvm-linux\",\"created_at\":\"3000-01-01T00:00:00Z\","
		   "\"objects\":{\"../x\":\"00\"}}",
		   name);
	vt_mount(&w.mount, w.cas, w.mnt, NULL);
	p = mpath(&w, "kvm-linux", "bin/qemu-system-x86_64");
	got = vt_read_file(p, NULL);
	cr_assert_str_eq(got, "newer\n");
	free(got);
	free(p);
	world_free(&w);
}

struct reader {
	const char *path;
	const char *want;
	size_t len;
	unsigned seed;
	int errors;
};

static void *read_randomly(void *arg)
{
	struct reader *r = arg;
	char buf[65536];
	int fd = open(r->path, O_RDONLY);

	if (fd < 0) {
		r->errors++;
		return NULL;
	}
	for (int i = 0; i < 400; i++) {
		size_t off, n;
		ssize_t got;

		r->seed = r->seed * 1103515245u + 12345u;
		off = (r->seed >> 4) % r->len;
		n = 1 + (r->seed % sizeof(buf));
		if (n > r->len - off)
			n = r->len - off;
		got = pread(fd, buf, n, (off_t)off);
		if (got != (ssize_t)n || memcmp(buf, r->want + off, n) != 0)
			r->errors++;
	}
	close(fd);
	return NULL;
}

Test(mount, concurrent_readers)
{
	struct world w;
	struct reader r[8];
	pthread_t t[8];
	char *paths[2], *want;
	size_t len;

	world_make(&w, NULL);
	paths[0] = mpath(&w, "kvm-linux", "lib/big.bin");
	paths[1] = mpath(&w, "kvm-linux", "lib/libshared.so.1");
	want = malloc(16u << 20);
	fill_random(want, 16u << 20, 3);
	for (int i = 0; i < 8; i++) {
		r[i] = (struct reader){
			.path = paths[0], .want = want, .len = 16u << 20, .seed = (unsigned)i
		};
		cr_assert_eq(pthread_create(&t[i], NULL, read_randomly, &r[i]), 0);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		cr_assert_eq(r[i].errors, 0, "reader %d saw %d wrong reads", i, r[i].errors);
	}
	(void)len;
	free(want);
	free(paths[0]);
	free(paths[1]);
	world_free(&w);
}

Test(mount, unmount_exits_zero)
{
	struct world w;

	world_make(&w, NULL);
	cr_assert_eq(vt_unmount(&w.mount), 0);
	world_free(&w);
}

static long stat_value(const char *mnt, const char *key);

Test(mount, descriptor_bound)
{
	struct world w;
	const char *files[] = { "lib/libshared.so.1", "firmware/bios-256k.bin", "lib/big.bin" };
	int fd[3];
	char *p;

	world_make(&w, "max_fds=2");
	/* At the bound: two objects open at once. */
	for (int i = 0; i < 2; i++) {
		p = mpath(&w, "kvm-linux", files[i]);
		fd[i] = open(p, O_RDONLY);
		cr_assert(fd[i] >= 0, "%s: %s", p, strerror(errno));
		free(p);
	}
	/*
	 * Past it: a third object, while both are in use, gets a descriptor of
	 * its own (the cache is not a quota), closed with its handle...
	 */
	p = mpath(&w, "kvm-linux", files[2]);
	fd[2] = open(p, O_RDONLY);
	cr_assert(fd[2] >= 0, "past max_fds: %s", strerror(errno));
	cr_assert_eq(stat_value(w.mnt, "own_fds"), 1);
	close(fd[2]);
	/* ...a second handle on an open object shares its descriptor... */
	free(p);
	p = mpath(&w, "emulate-x86", files[0]);
	fd[2] = open(p, O_RDONLY);
	cr_assert(fd[2] >= 0, "%s", strerror(errno));
	close(fd[2]);
	free(p);
	/*
	 * ...and once one is closed, its idle descriptor makes room: the third
	 * is cached, not given its own. The kernel sends RELEASE after close(2)
	 * returns: allow it a moment (bounded).
	 */
	close(fd[0]);
	p = mpath(&w, "kvm-linux", files[2]);
	for (int i = 0; i < 200; i++) {
		long own = stat_value(w.mnt, "own_fds");

		fd[2] = open(p, O_RDONLY);
		cr_assert(fd[2] >= 0, "%s", strerror(errno));
		if (stat_value(w.mnt, "own_fds") == own)
			break;
		close(fd[2]);
		fd[2] = -1;
		nanosleep(&(struct timespec){ 0, 5 * 1000 * 1000 }, NULL);
	}
	cr_assert(fd[2] >= 0, "an idle descriptor never made room");
	close(fd[2]);
	close(fd[1]);
	free(p);
	world_free(&w);
}

Test(mount, default_link)
{
	struct world w;
	char target[64], *p;
	ssize_t n;
	struct stat st;
	/* kvm-linux and emulate-x86 are present: the first where the host has KVM. */
	const char *want = stat("/dev/kvm", &st) == 0 && S_ISCHR(st.st_mode) ? "kvm-linux"
									     : "emulate-x86";

	world_make(&w, NULL);
	p = vt_join(w.mnt, "default");
	n = readlink(p, target, sizeof(target) - 1);
	cr_assert(n > 0, "readlink: %s", strerror(errno));
	target[n] = '\0';
	cr_assert_str_eq(target, want);
	free(p);
	p = vt_join(w.mnt, "default/bin/qemu-system-x86_64");
	cr_assert_eq(access(p, X_OK), 0);
	free(p);
	world_free(&w);
}

static char *xattr(const char *path, const char *name)
{
	char buf[4096];
	ssize_t n = getxattr(path, name, buf, sizeof(buf) - 1);

	if (n < 0)
		return NULL;
	buf[n] = '\0';
	return strdup(buf);
}

Test(mount, extended_attributes)
{
	struct world w;
	const struct volt_manifest_entry *e;
	char hex[VOLT_HASH_HEX_MAX + 1], names[4096], *p, *v;
	ssize_t n;

	world_make(&w, NULL);
	e = volt_manifest_find(&w.m[0], "lib/libshared.so.1");
	volt_hash_format(&e->hash, hex);
	p = mpath(&w, "emulate-x86", "lib/libshared.so.1");
	v = xattr(p, "user.volt.hash");
	cr_assert_not_null(v, "user.volt.hash: %s", strerror(errno));
	cr_assert_str_eq(v, hex);
	free(v);
	free(p);

	p = mpath(&w, "emulate-x86", NULL);
	v = xattr(p, "user.volt.ref");
	cr_assert_str_eq(v, w.ref[1]);
	free(v);
	v = xattr(p, "user.volt.created_at");
	cr_assert_str_eq(v, w.m[1].created_at);
	free(v);
	v = xattr(p, "user.volt.arch");
	cr_assert_str_eq(v, "x86_64");
	free(v);
	n = listxattr(p, names, sizeof(names));
	cr_assert(n > 0);
	cr_assert(memmem(names, (size_t)n, "user.volt.ref", 14) != NULL);
	cr_assert(memmem(names, (size_t)n, "user.volt.build_host", 21) != NULL);
	free(p);

	p = mpath(&w, "kvm-linux", "bin");
	cr_assert_null(xattr(p, "user.volt.ref"));
	cr_assert_eq(errno, ENODATA);
	free(p);

	v = xattr(w.mnt, "user.volt.version");
	cr_assert_not_null(v);
	free(v);
	v = xattr(w.mnt, "user.volt.stats");
	cr_assert_not_null(v);
	cr_assert_not_null(strstr(v, "lookups "), "%s", v);
	cr_assert_not_null(strstr(v, "manifests_loaded 2\n"), "%s", v);
	free(v);
	world_free(&w);
}

static long stat_value(const char *mnt, const char *key)
{
	char *v = xattr(mnt, "user.volt.stats"), *at;
	long n = -1;

	cr_assert_not_null(v);
	at = strstr(v, key);
	if (at)
		n = strtol(at + strlen(key) + 1, NULL, 10);
	free(v);
	return n;
}

/*
 * Read a file at the descriptor bound: the kernel sends the previous file's
 * RELEASE after close(2) returns, so an open may briefly meet EMFILE.
 */
static char *read_bounded(const char *path)
{
	char *body = NULL;

	for (int i = 0; i < 200; i++) {
		body = vt_read_file(path, NULL);
		if (body || errno != EMFILE)
			break;
		nanosleep(&(struct timespec){ 0, 5 * 1000 * 1000 }, NULL);
	}
	return body;
}

static void read_all(const char *path)
{
	char *body = read_bounded(path);

	cr_assert_not_null(body, "%s: %s", path, strerror(errno));
	free(body);
}

Test(mount, verified_once_until_the_object_changes)
{
	struct world w;
	const struct volt_manifest_entry *e;
	char *a, *b, *o, *tmp;
	size_t len;

	world_make(&w, "max_fds=1");
	a = mpath(&w, "kvm-linux", "firmware/bios-256k.bin");
	b = mpath(&w, "kvm-linux", "lib/libshared.so.1");
	read_all(a);
	read_all(b); /* takes A's descriptor: one slot */
	cr_assert_eq(stat_value(w.mnt, "verifications"), 2);
	/* The same file again, its descriptor gone: the same inode, size and mtime. */
	read_all(a);
	cr_assert_eq(stat_value(w.mnt, "verifications"), 2, "hashed again on reopen");
	/* Another file put in its place, same size, other bytes: checked, refused. */
	e = volt_manifest_find(&w.m[0], "firmware/bios-256k.bin");
	o = object_path(&w, &e->hash);
	tmp = vt_read_file(o, &len);
	tmp[0] ^= 1;
	free(b);
	cr_assert(asprintf(&b, "%s.new", o) > 0);
	vt_write_file(b, tmp, len, 0444);
	cr_assert_eq(rename(b, o), 0);
	free(b);
	b = mpath(&w, "kvm-linux", "lib/libshared.so.1");
	read_all(b); /* evicts A's descriptor again */
	cr_assert_null(read_bounded(a), "a replaced object was served unchecked");
	cr_assert_eq(errno, EIO);
	cr_assert_eq(stat_value(w.mnt, "verifications"), 3);
	free(tmp);
	free(o);
	free(a);
	free(b);
	world_free(&w);
}
