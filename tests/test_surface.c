// SPDX-License-Identifier: MIT
/*
 * What tools other than cat see on a mount: args, env and unit read at
 * every offset (O_DIRECT, so each read reaches the daemon with its offset
 * rather than the page cache's page 0) give the matching tail of the file;
 * statfs (df) says nothing is free to write, and names up to NAME_MAX.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "support.h"

static char *dir, *cas, *mnt;
static struct vt_mount m;

static void setup(void)
{
	char hex[VOLT_HASH_HEX_MAX + 1], json[512], ref[64];

	dir = vt_tmpdir();
	cas = vt_join(dir, "cas");
	mnt = vt_join(dir, "mnt");
	vt_cas_init(cas);
	vt_put_object(cas, "qemu\n", 5, 0555, hex);
	snprintf(json, sizeof(json),
		 "{\"name\": \"kvm-linux\", \"created_at\": \"2026-01-01T00:00:00Z\", "
		 "\"objects\": {\"bin/qemu-system-x86_64\": \"%s\"}}",
		 hex);
	vt_put_ref(cas, "kvm-linux", json, ref);
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

TestSuite(surface, .init = setup, .fini = teardown, .timeout = 60);

Test(surface, synthetic_files_read_at_every_offset)
{
	static const char *const names[] = { "args", "env", "unit" };

	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++) {
		char *rel, *path, *whole, got[8192];
		size_t len;
		int fd;

		cr_assert(asprintf(&rel, "kvm-linux/%s", names[i]) > 0);
		path = vt_join(mnt, rel);
		whole = vt_read_file(path, &len);
		cr_assert_not_null(whole, "%s: %s", path, strerror(errno));
		cr_assert_gt(len, 16, "%s is %zu bytes", path, len);
		cr_assert_lt(len, sizeof(got));
		fd = open(path, O_RDONLY | O_DIRECT);
		cr_assert_geq(fd, 0, "open %s O_DIRECT: %s", path, strerror(errno));
		for (size_t off = 0; off <= len + 1; off++) {
			size_t want = off < len ? len - off : 0;
			ssize_t n = pread(fd, got, sizeof(got), (off_t)off);

			cr_assert_eq(n, (ssize_t)want, "%s at %zu: %zd bytes, want %zu (%s)", path,
				     off, n, want, n < 0 ? strerror(errno) : "");
			cr_assert(memcmp(got, whole + off, want) == 0,
				  "%s at %zu: not the file's tail: '%.*s'", path, off, (int)n, got);
			/* A short read in the middle, as a line reader does. */
			if (want > 3) {
				n = pread(fd, got, 3, (off_t)off);
				cr_assert_eq(n, 3);
				cr_assert(memcmp(got, whole + off, 3) == 0, "%s: 3 bytes at %zu",
					  path, off);
			}
		}
		close(fd);
		free(whole);
		free(path);
		free(rel);
	}
}

Test(surface, statfs_says_nothing_is_free)
{
	struct statvfs sv;

	cr_assert_eq(statvfs(mnt, &sv), 0, "statvfs %s: %s", mnt, strerror(errno));
	cr_expect_eq(sv.f_bfree, 0, "f_bfree %ju on a read-only mount", (uintmax_t)sv.f_bfree);
	cr_expect_eq(sv.f_bavail, 0, "f_bavail %ju on a read-only mount: df shows it as free",
		     (uintmax_t)sv.f_bavail);
	cr_expect_eq(sv.f_ffree, 0, "f_ffree %ju", (uintmax_t)sv.f_ffree);
	cr_expect_eq(sv.f_favail, 0, "f_favail %ju", (uintmax_t)sv.f_favail);
	cr_expect_eq(sv.f_namemax, 255);
	cr_expect_gt(sv.f_blocks, 0, "f_blocks 0: the store's size is not shown");
}
