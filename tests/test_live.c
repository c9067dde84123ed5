// SPDX-License-Identifier: MIT
/*
 * Live updates and pinned builds on a real mount: refs added, replaced by
 * atomic rename or removed show without a remount, each way a writer does it
 * (rename from outside refs/ or from a dot-file, hard link, written in place,
 * unlink, rename out, rename over) fast enough to tell inotify from the 1 s
 * fallback; open files keep their bytes; a broken newer ref never takes a
 * profile down; <profile>@<id> stays on its build, with args, env and unit
 * naming it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "support.h"
#include "voltfs/refs.h"

#define QEMU "kvm-linux/bin/qemu-system-x86_64"

static char *dir, *cas, *mnt;
static struct vt_mount m;
static int held_fd = -1; /* a file held open on the mount: closed before unmounting */

static void setup(void)
{
	dir = vt_tmpdir();
	cas = vt_join(dir, "cas");
	mnt = vt_join(dir, "mnt");
	vt_cas_init(cas);
}

static void teardown(void)
{
	if (held_fd >= 0)
		close(held_fd);
	held_fd = -1;
	/* a_folder_in_use_keeps_its_build may have failed inside the mount. */
	if (chdir("/") < 0)
		cr_log_warn("chdir /: %s", strerror(errno));
	vt_mount_cleanup(&m);
	vt_rmtree(dir);
	free(cas);
	free(mnt);
	free(dir);
}

TestSuite(live, .init = setup, .fini = teardown, .timeout = 60);

/* A ref for kvm-linux whose bin/qemu-system-x86_64 holds body; written by rename, as tools do. */
static void put_build(const char *created, const char *body, char name[64])
{
	char hex[VOLT_HASH_HEX_MAX + 1], json[512], *tmp, *final, *rel;

	vt_put_object(cas, body, strlen(body), 0555, hex);
	snprintf(json, sizeof(json),
		 "{\"name\": \"kvm-linux\", \"created_at\": \"%s\", \"objects\": "
		 "{\"bin/qemu-system-x86_64\": \"%s\"}}",
		 created, hex);
	vt_put_ref(cas, "kvm-linux", json, name);
	/* vt_put_ref wrote it in place; redo it as tmp + rename. */
	cr_assert(asprintf(&rel, "refs/%s", name) > 0);
	final = vt_join(cas, rel);
	tmp = vt_join(cas, "refs/.tmp-ref");
	cr_assert_eq(rename(final, tmp), 0);
	cr_assert_eq(rename(tmp, final), 0);
	free(rel);
	free(final);
	free(tmp);
}

static char *read_at(const char *rel)
{
	char *p = vt_join(mnt, rel), *body = vt_read_file(p, NULL);

	free(p);
	return body;
}

/* Poll (bounded: 1 s, the promise) until rel reads as want (NULL: is absent). */
static void expect_within_a_second(const char *rel, const char *want)
{
	struct timespec start, now, pause = { 0, 10 * 1000 * 1000 };
	char *got = NULL;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		got = read_at(rel);
		if (want ? got && strcmp(got, want) == 0 : !got)
			break;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if ((now.tv_sec - start.tv_sec) * 1000000000L + (now.tv_nsec - start.tv_nsec) >
		    1000000000L)
			cr_assert_fail("%s is '%s' a second later, want '%s'", rel,
				       got ? got : "(absent)", want ? want : "(absent)");
		free(got);
		nanosleep(&pause, NULL);
	}
	free(got);
}

Test(live, added_replaced_removed)
{
	char a[64], b[64], bad[64], buf[16];
	char *p;
	ssize_t n;

	put_build("2026-01-01T00:00:00Z", "A\n", a);
	vt_mount(&m, cas, mnt, NULL);
	expect_within_a_second("kvm-linux/bin/qemu-system-x86_64", "A\n");
	p = vt_join(mnt, "kvm-linux/bin/qemu-system-x86_64");
	held_fd = open(p, O_RDONLY);
	cr_assert(held_fd >= 0);
	free(p);

	put_build("2026-02-01T00:00:00Z", "B\n", b);
	expect_within_a_second("kvm-linux/bin/qemu-system-x86_64", "B\n");
	/* The open file keeps reading the bytes it opened. */
	n = pread(held_fd, buf, sizeof(buf), 0);
	cr_assert_eq(n, 2);
	cr_assert(memcmp(buf, "A\n", 2) == 0, "an open file changed under its reader");

	/* A broken newer ref never takes down the working profile. */
	vt_put_ref(cas, "kvm-linux",
		   "{\"name\": \"kvm-linux\", \"created_at\": "
		   "\"2027-01-01T00:00:00Z\", \"objects\": {\"/etc/passwd\": \"00\"}}",
		   bad);
	expect_within_a_second("kvm-linux/bin/qemu-system-x86_64", "B\n");

	vt_drop_ref(cas, b);
	expect_within_a_second("kvm-linux/bin/qemu-system-x86_64", "A\n");
	vt_drop_ref(cas, a);
	expect_within_a_second("kvm-linux", NULL);
	expect_within_a_second("kvm-linux/bin/qemu-system-x86_64", NULL);
	close(held_fd);
	held_fd = -1;
	cr_assert_eq(vt_unmount(&m), 0);
}

Test(live, a_folder_in_use_keeps_its_build)
{
	char a[64], b[64], *p, *body;

	put_build("2026-01-01T00:00:00Z", "A\n", a);
	vt_mount(&m, cas, mnt, NULL);
	p = vt_join(mnt, "kvm-linux/bin");
	cr_assert_eq(chdir(p), 0);
	free(p);
	put_build("2026-02-01T00:00:00Z", "B\n", b);
	expect_within_a_second("kvm-linux/bin/qemu-system-x86_64", "B\n");
	/* A process inside the old folder still sees the old build. */
	body = vt_read_file("qemu-system-x86_64", NULL);
	cr_assert_not_null(body);
	cr_assert_str_eq(body, "A\n");
	free(body);
	cr_assert_eq(chdir("/"), 0);
	cr_assert_eq(vt_unmount(&m), 0);
}

Test(live, pinned_builds)
{
	char a[64], b[64], pin[64], *body, *want;
	struct stat st;

	put_build("2026-01-01T00:00:00Z", "A\n", a);
	put_build("2026-02-01T00:00:00Z", "B\n", b);
	/* kvm-linux-<id>.json -> kvm-linux@<id> */
	snprintf(pin, sizeof(pin), "kvm-linux@%.8s", a + strlen("kvm-linux-"));
	vt_mount(&m, cas, mnt, NULL);
	expect_within_a_second("kvm-linux/bin/qemu-system-x86_64", "B\n");
	body = read_at(strcat(strcpy((char[128]){ 0 }, pin), "/bin/qemu-system-x86_64"));
	cr_assert_not_null(body, "%s is not served", pin);
	cr_assert_str_eq(body, "A\n");
	free(body);

	/* Its synthetic files name the pinned folder; the profile's name the profile. */
	body = read_at(strcat(strcpy((char[128]){ 0 }, pin), "/env"));
	cr_assert(asprintf(&want, "LD_LIBRARY_PATH=%s/%s/lib\n", mnt, pin) > 0);
	cr_assert_str_eq(body, want);
	free(want);
	free(body);
	body = read_at(strcat(strcpy((char[128]){ 0 }, pin), "/unit"));
	cr_assert(asprintf(&want, "ExecStart=%s/%s/bin/qemu-system-x86_64 \\\n", mnt, pin) > 0);
	cr_assert_not_null(strstr(body, want), "%s", body);
	free(want);
	free(body);
	body = read_at("kvm-linux/env");
	cr_assert(asprintf(&want, "LD_LIBRARY_PATH=%s/kvm-linux/lib\n", mnt) > 0);
	cr_assert_str_eq(body, want);
	free(want);
	free(body);

	/* The profile moves on; the pin does not. */
	vt_drop_ref(cas, b);
	expect_within_a_second("kvm-linux/bin/qemu-system-x86_64", "A\n");
	put_build("2026-03-01T00:00:00Z", "C\n", b);
	expect_within_a_second("kvm-linux/bin/qemu-system-x86_64", "C\n");
	body = read_at(strcat(strcpy((char[128]){ 0 }, pin), "/bin/qemu-system-x86_64"));
	cr_assert_str_eq(body, "A\n");
	free(body);

	/* Unknown ids and malformed names are simply absent. */
	const char *absent[] = { "kvm-linux@00000000", "kvm-linux@0123", "kvm-linux@ABCDEF01",
				 "nope@00000000", "kvm-linux@" };
	for (int i = 0; i < 5; i++) {
		char *p = vt_join(mnt, absent[i]);

		cr_assert_eq(stat(p, &st), -1, "%s", absent[i]);
		cr_assert_eq(errno, ENOENT);
		free(p);
	}
	cr_assert_eq(vt_unmount(&m), 0);
}

/*
 * Each way a writer publishes or removes a ref, timed against the fallback.
 * Without inotify a change shows only when the kernel's entry for the profile
 * (or its cached miss) expires: ROOT_TIMEOUT, 1 s after the lookup that made
 * it. So each change below is made right after a lookup the daemon answered,
 * and must show within LIVE_BOUND_MS of that lookup: inotify passes with room
 * to spare, the fallback cannot (its first chance is a second later).
 */
#define LIVE_BOUND_MS 700

static long ms_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t0->tv_sec) * 1000L + (now.tv_nsec - t0->tv_nsec) / 1000000L;
}

/*
 * Read QEMU until the kernel asks the daemon about kvm-linux again, each read
 * still giving want (NULL: absent): then its entry, or its miss, is fresh for
 * a second. Returns when that lookup was made (bounded: 3 s, past any entry's
 * expiry). The folder is held open (held_fd) until expect_by is done, so that
 * memory pressure (drop_caches, which other tests and benchmarks use) cannot
 * evict the entry and let the fallback look it up early.
 */
static struct timespec fresh_lookup(const char *want)
{
	struct timespec t0, pause = { 0, 5 * 1000 * 1000 };
	char *folder = vt_join(mnt, "kvm-linux");

	if (held_fd >= 0)
		close(held_fd);
	held_fd = -1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct timespec t;
		long long before = vt_mount_stat(mnt, "lookups");
		char *got;

		clock_gettime(CLOCK_MONOTONIC, &t);
		held_fd = open(folder, O_RDONLY | O_DIRECTORY);
		got = read_at(QEMU);
		cr_assert(want ? got && strcmp(got, want) == 0 : !got,
			  "%s is '%s' before the change, want '%s'", QEMU, got ? got : "(absent)",
			  want ? want : "(absent)");
		free(got);
		if (vt_mount_stat(mnt, "lookups") > before) {
			free(folder);
			return t;
		}
		if (held_fd >= 0)
			close(held_fd);
		held_fd = -1;
		cr_assert_lt(ms_since(&t0), 3000, "the kernel never looked kvm-linux up again");
		nanosleep(&pause, NULL);
	}
}

/* QEMU reads as want (NULL: is absent) within LIVE_BOUND_MS of t0. */
static void expect_by(const struct timespec *t0, const char *how, const char *want)
{
	struct timespec pause = { 0, 2 * 1000 * 1000 };

	for (;;) {
		char *got = read_at(QEMU);
		bool ok = want ? got && strcmp(got, want) == 0 : !got;
		long ms = ms_since(t0);

		if (ok) {
			free(got);
			cr_log_info("%s: seen after %ld ms", how, ms);
			if (held_fd >= 0)
				close(held_fd);
			held_fd = -1;
			return;
		}
		cr_assert_leq(ms, LIVE_BOUND_MS,
			      "%s: %s is '%s' %ld ms after the change, want '%s' (inotify missed "
			      "it: the fallback takes 1 s)",
			      how, QEMU, got ? got : "(absent)", ms, want ? want : "(absent)");
		free(got);
		nanosleep(&pause, NULL);
	}
}

/* The json of a kvm-linux build whose QEMU holds body (object stored); its ref name to name. */
static char *make_build(const char *created, const char *body, char name[64])
{
	char hex[VOLT_HASH_HEX_MAX + 1], *json;

	vt_put_object(cas, body, strlen(body), 0555, hex);
	cr_assert(asprintf(&json,
			   "{\"name\": \"kvm-linux\", \"created_at\": \"%s\", \"objects\": "
			   "{\"bin/qemu-system-x86_64\": \"%s\"}}",
			   created, hex) > 0);
	volt_ref_make_name(VOLT_PROFILE_KVM_LINUX, json, strlen(json), name);
	return json;
}

static char *ref_path(const char *name)
{
	char *rel, *p;

	cr_assert(asprintf(&rel, "refs/%s", name) > 0);
	p = vt_join(cas, rel);
	free(rel);
	return p;
}

/* A temporary file outside refs/, on the same filesystem: where tools stage. */
static char *staged(const char *json, const char *tag)
{
	char *stage = vt_join(dir, "stage"), *p = vt_join(stage, tag);

	mkdir(stage, 0755);
	vt_write_str(p, json);
	free(stage);
	return p;
}

enum publish_how { STAGED_OUTSIDE, DOT_FILE, HARD_LINK, IN_PLACE };
static const char *const how_names[] = { "renamed in from outside refs/",
					 "renamed from a dot-file in refs/",
					 "hard-linked in from outside refs/", "written in place" };

/* Publish ref name holding json, right after a fresh lookup that saw was. */
static struct timespec publish_live(enum publish_how how, const char *json, const char *name,
				    const char *was)
{
	char *final = ref_path(name), *tmp = NULL;
	struct timespec t0;
	int fd = -1;
	size_t half = strlen(json) / 2;

	if (how == STAGED_OUTSIDE || how == HARD_LINK) {
		tmp = staged(json, name);
	} else if (how == DOT_FILE) {
		char *rel;

		cr_assert(asprintf(&rel, "refs/.%s.tmp", name) > 0);
		tmp = vt_join(cas, rel);
		free(rel);
		vt_write_str(tmp, json);
	}
	t0 = fresh_lookup(was);
	switch (how) {
	case STAGED_OUTSIDE:
	case DOT_FILE:
		cr_assert_eq(rename(tmp, final), 0, "%s: %s", final, strerror(errno));
		break;
	case HARD_LINK:
		cr_assert_eq(link(tmp, final), 0, "%s: %s", final, strerror(errno));
		cr_assert_eq(unlink(tmp), 0);
		break;
	case IN_PLACE:
		/*
		 * Half the bytes, then a lookup while the ref is unreadable: the
		 * profile keeps its build, and only the close can tell the daemon
		 * the ref is whole (writing a file leaves refs/'s mtime alone).
		 */
		fd = open(final, O_WRONLY | O_CREAT | O_EXCL, 0644);
		cr_assert(fd >= 0, "%s: %s", final, strerror(errno));
		cr_assert_eq(write(fd, json, half), (ssize_t)half);
		t0 = fresh_lookup(was);
		cr_assert_eq(write(fd, json + half, strlen(json) - half),
			     (ssize_t)(strlen(json) - half));
		cr_assert_eq(close(fd), 0);
		break;
	}
	free(final);
	free(tmp);
	return t0;
}

static void publish_each_way(enum publish_how how)
{
	char a[64], b[64], *ja, *jb;
	struct timespec t0;

	ja = make_build("2026-01-01T00:00:00Z", "A\n", a);
	jb = make_build("2026-02-01T00:00:00Z", "B\n", b);
	vt_mount(&m, cas, mnt, NULL);
	/* The first ref of a profile the kernel has just been told is missing. */
	t0 = publish_live(how, ja, a, NULL);
	expect_by(&t0, how_names[how], "A\n");
	/* A newer ref of a profile the kernel has just looked up. */
	t0 = publish_live(how, jb, b, "A\n");
	expect_by(&t0, how_names[how], "B\n");
	free(ja);
	free(jb);
	cr_assert_eq(vt_unmount(&m), 0);
}

Test(live, published_by_rename_from_outside_refs)
{
	publish_each_way(STAGED_OUTSIDE);
}

Test(live, published_by_rename_from_a_dot_file)
{
	publish_each_way(DOT_FILE);
}

Test(live, published_by_hard_link)
{
	publish_each_way(HARD_LINK);
}

Test(live, published_in_place)
{
	publish_each_way(IN_PLACE);
}

/* Remove refs b then a, by unlink or by rename out of refs/ (same filesystem). */
static void remove_each_way(bool by_rename)
{
	const char *how = by_rename ? "renamed out of refs/" : "unlinked";
	char a[64], b[64], *ja, *jb, *pa, *pb, *out_a, *out_b;
	struct timespec t0;

	ja = make_build("2026-01-01T00:00:00Z", "A\n", a);
	jb = make_build("2026-02-01T00:00:00Z", "B\n", b);
	pa = ref_path(a);
	pb = ref_path(b);
	vt_write_str(pa, ja);
	vt_write_str(pb, jb);
	out_a = staged("", "a");
	out_b = staged("", "b");
	vt_mount(&m, cas, mnt, NULL);
	t0 = fresh_lookup("B\n");
	cr_assert_eq(by_rename ? rename(pb, out_b) : unlink(pb), 0, "%s", strerror(errno));
	expect_by(&t0, how, "A\n");
	t0 = fresh_lookup("A\n");
	cr_assert_eq(by_rename ? rename(pa, out_a) : unlink(pa), 0, "%s", strerror(errno));
	expect_by(&t0, how, NULL);
	free(ja);
	free(jb);
	free(pa);
	free(pb);
	free(out_a);
	free(out_b);
	cr_assert_eq(vt_unmount(&m), 0);
}

Test(live, removed_by_unlink)
{
	remove_each_way(false);
}

Test(live, removed_by_rename_out_of_refs)
{
	remove_each_way(true);
}

/*
 * rename over an existing ref: with its own bytes again (a writer publishing
 * twice) the build stays, the same folder, not loaded again; with other bytes
 * the name no longer matches them, so the ref is refused and the older serves.
 */
Test(live, replaced_by_rename_over_it)
{
	char a[64], b[64], c[64], *ja, *jb, *jc, *pa, *pb, *tmp, *folder;
	struct stat before, after;
	struct timespec t0;

	ja = make_build("2026-01-01T00:00:00Z", "A\n", a);
	jb = make_build("2026-02-01T00:00:00Z", "B\n", b);
	jc = make_build("2026-03-01T00:00:00Z", "C\n", c);
	pa = ref_path(a);
	pb = ref_path(b);
	vt_write_str(pa, ja);
	vt_write_str(pb, jb);
	folder = vt_join(mnt, "kvm-linux");
	vt_mount(&m, cas, mnt, NULL);
	cr_assert_eq(stat(folder, &before), 0);

	tmp = staged(jb, "same");
	t0 = fresh_lookup("B\n");
	cr_assert_eq(rename(tmp, pb), 0);
	free(tmp);
	expect_by(&t0, "the same bytes renamed over the ref", "B\n");
	/* Until the kernel looks again (at the latest when the entry expires). */
	fresh_lookup("B\n");
	cr_assert_eq(stat(folder, &after), 0);
	cr_assert_eq(after.st_ino, before.st_ino, "publishing the same ref again made a new build");

	tmp = staged(jc, "other");
	t0 = fresh_lookup("B\n");
	cr_assert_eq(rename(tmp, pb), 0);
	free(tmp);
	expect_by(&t0, "other bytes renamed over the ref", "A\n");
	free(ja);
	free(jb);
	free(jc);
	free(pa);
	free(pb);
	free(folder);
	cr_assert_eq(vt_unmount(&m), 0);
}
