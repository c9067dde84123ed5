// SPDX-License-Identifier: MIT
/*
 * A pin that was looked up outlives its ref, as the README says ("a loaded
 * pin is kept for the life of the mount"): once refs/<profile>-<id>.json is
 * deleted, an open file of <profile>@<id> keeps reading, files of it never
 * looked up before open, and a new lookup of the pin itself (the kernel's
 * entry dropped) is still answered. A pin never looked up is gone with its ref.
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

static char *dir, *cas, *mnt;
static struct vt_mount m;
static int fd = -1;

static void teardown(void)
{
	if (fd >= 0)
		close(fd); /* or the daemon never exits */
	vt_mount_cleanup(&m);
	vt_rmtree(dir);
	free(cas);
	free(mnt);
	free(dir);
}

TestSuite(pin, .fini = teardown, .timeout = 60);

/* A kvm-linux build: bin/qemu-system-x86_64 and lib/libx.so hold tag. */
static void put_build(const char *created, const char *tag, char name[64], char pin[64])
{
	char bin[VOLT_HASH_HEX_MAX + 1], lib[VOLT_HASH_HEX_MAX + 1], body[32], json[512];

	snprintf(body, sizeof(body), "bin %s\n", tag);
	vt_put_object(cas, body, strlen(body), 0555, bin);
	snprintf(body, sizeof(body), "lib %s\n", tag);
	vt_put_object(cas, body, strlen(body), 0444, lib);
	snprintf(json, sizeof(json),
		 "{\"name\": \"kvm-linux\", \"created_at\": \"%s\", \"objects\": "
		 "{\"bin/qemu-system-x86_64\": \"%s\", \"lib/libx.so\": \"%s\"}}",
		 created, bin, lib);
	vt_put_ref(cas, "kvm-linux", json, name);
	snprintf(pin, 64, "kvm-linux@%.*s", VOLT_REF_ID_LEN, name + strlen("kvm-linux-"));
}

static char *read_at(const char *top, const char *rel)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s/%s", mnt, top, rel);
	return vt_read_file(path, NULL);
}

/* Wait (bounded, generously: 10 s) until kvm-linux serves ref name. */
static void wait_for_ref(const char *name)
{
	struct timespec start, now, pause = { 0, 2 * 1000 * 1000 };
	char path[4096], got[VOLT_REF_NAME_MAX];

	snprintf(path, sizeof(path), "%s/kvm-linux", mnt);
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		ssize_t n = getxattr(path, "user.volt.ref", got, sizeof(got) - 1);

		if (n > 0 && (got[n] = '\0', strcmp(got, name) == 0))
			return;
		clock_gettime(CLOCK_MONOTONIC, &now);
		cr_assert(now.tv_sec - start.tv_sec < 10, "kvm-linux does not serve %s after 10 s",
			  name);
		nanosleep(&pause, NULL);
	}
}

Test(pin, outlives_its_ref)
{
	char a[64], b[64], c[64], pin_a[64], pin_b[64], pin_c[64], buf[32], path[4096];
	char *body;
	struct stat st;
	ino_t pin_ino;
	long long before;
	int drop;

	dir = vt_tmpdir();
	cas = vt_join(dir, "cas");
	mnt = vt_join(dir, "mnt");
	vt_cas_init(cas);
	put_build("2026-01-01T00:00:00Z", "A", a, pin_a);
	put_build("2026-02-01T00:00:00Z", "B", b, pin_b);
	put_build("2026-03-01T00:00:00Z", "C", c, pin_c);
	vt_mount(&m, cas, mnt, NULL);
	wait_for_ref(c);

	/* Pin c (the newest, so the live profile shows when its deletion is seen); open a file. */
	snprintf(path, sizeof(path), "%s/%s", mnt, pin_c);
	cr_assert_eq(stat(path, &st), 0, "%s: %s", path, strerror(errno));
	pin_ino = st.st_ino;
	snprintf(path, sizeof(path), "%s/%s/bin/qemu-system-x86_64", mnt, pin_c);
	fd = open(path, O_RDONLY);
	cr_assert(fd >= 0, "%s: %s", path, strerror(errno));
	cr_assert_eq(pread(fd, buf, sizeof(buf), 0), 6);
	cr_assert(memcmp(buf, "bin C\n", 6) == 0);

	/* Its ref and b's go; the live profile falls back to a once the daemon has seen it. */
	vt_drop_ref(cas, c);
	vt_drop_ref(cas, b);
	wait_for_ref(a);

	/* The open file keeps reading; a file of the pin never looked up before opens. */
	cr_assert_eq(pread(fd, buf, sizeof(buf), 0), 6, "the open file: %s", strerror(errno));
	cr_assert(memcmp(buf, "bin C\n", 6) == 0, "the open file changed its bytes");
	body = read_at(pin_c, "lib/libx.so");
	cr_assert_not_null(body, "%s/lib/libx.so after its ref went: %s", pin_c, strerror(errno));
	cr_assert_str_eq(body, "lib C\n");
	free(body);
	/* A pin never looked up went with its ref. */
	snprintf(path, sizeof(path), "%s/%s", mnt, pin_b);
	cr_assert_eq(stat(path, &st), -1, "%s is served without its ref", pin_b);
	cr_assert_eq(errno, ENOENT);
	close(fd);
	fd = -1;

	/*
	 * A new lookup of the pin: the kernel keeps its entry for 30 days, so make it
	 * forget (drop_caches, as memory pressure would) and see that the daemon answered.
	 */
	drop = open("/proc/sys/vm/drop_caches", O_WRONLY);
	if (drop < 0 || write(drop, "2", 1) != 1) {
		cr_log_warn("cannot write /proc/sys/vm/drop_caches (%s): the new lookup of the "
			    "pin is not tested here",
			    strerror(errno));
	} else {
		before = vt_mount_stat(mnt, "lookups");
		body = read_at(pin_c, "bin/qemu-system-x86_64");
		cr_assert_not_null(body, "%s after its ref went and the kernel forgot it: %s",
				   pin_c, strerror(errno));
		cr_assert_str_eq(body, "bin C\n");
		free(body);
		cr_assert_gt(vt_mount_stat(mnt, "lookups"), before,
			     "the kernel kept its entry: no new lookup was made");
		snprintf(path, sizeof(path), "%s/%s", mnt, pin_c);
		cr_assert_eq(stat(path, &st), 0);
		cr_assert_eq(st.st_ino, pin_ino, "the pin is another folder now");
	}
	if (drop >= 0)
		close(drop);
	body = read_at("kvm-linux", "bin/qemu-system-x86_64");
	cr_assert_str_eq(body, "bin A\n");
	free(body);
	cr_assert_eq(vt_unmount(&m), 0);
}
