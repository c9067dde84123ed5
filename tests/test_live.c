// SPDX-License-Identifier: MIT
/*
 * Live updates and pinned builds on a real mount: refs added, replaced by
 * atomic rename or removed show within a second without a remount; open
 * files keep their bytes; a broken newer ref never takes a profile down;
 * <profile>@<id> stays on its build, with args, env and unit naming it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "support.h"

static char *dir, *cas, *mnt;
static struct vt_mount m;

static void setup(void)
{
	dir = vt_tmpdir();
	cas = vt_join(dir, "cas");
	mnt = vt_join(dir, "mnt");
	vt_cas_init(cas);
}

static void teardown(void)
{
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
	int fd;
	ssize_t n;

	put_build("2026-01-01T00:00:00Z", "A\n", a);
	vt_mount(&m, cas, mnt, NULL);
	expect_within_a_second("kvm-linux/bin/qemu-system-x86_64", "A\n");
	p = vt_join(mnt, "kvm-linux/bin/qemu-system-x86_64");
	fd = open(p, O_RDONLY);
	cr_assert(fd >= 0);
	free(p);

	put_build("2026-02-01T00:00:00Z", "B\n", b);
	expect_within_a_second("kvm-linux/bin/qemu-system-x86_64", "B\n");
	/* The open file keeps reading the bytes it opened. */
	n = pread(fd, buf, sizeof(buf), 0);
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
	close(fd);
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
