// SPDX-License-Identifier: MIT
/*
 * voltfs command lines that must not mount: no mount point (or nothing at
 * all) is a usage error, exit 2 with the usage line; -o max_fds outside
 * 1..RLIMIT_NOFILE is refused with a message that names it. Nothing is left
 * mounted either way.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include <criterion/criterion.h>

#include "support.h"

#define FUSE_SUPER_MAGIC 0x65735546

static char *dir, *cas, *mnt;

static void setup(void)
{
	dir = vt_tmpdir();
	cas = vt_join(dir, "cas");
	mnt = vt_join(dir, "mnt");
	vt_cas_init(cas);
	mkdir(mnt, 0755);
}

static void teardown(void)
{
	vt_rmtree(dir);
	free(cas);
	free(mnt);
	free(dir);
}

TestSuite(options, .init = setup, .fini = teardown, .timeout = 60);

static bool mounted(const char *path)
{
	struct statfs sf;

	return statfs(path, &sf) == 0 && sf.f_type == FUSE_SUPER_MAGIC;
}

/* Run voltfs -f ARGS (bounded: a daemon that mounted serves until timeout stops it). */
static int run_voltfs(const char *args, char **out)
{
	char *cmd;
	int status;

	cr_assert(asprintf(&cmd, "timeout 5 '%s' -f %s 2>&1", VOLTFS_BIN, args) > 0);
	status = vt_run(cmd, out);
	free(cmd);
	return status;
}

Test(options, no_mount_point_is_a_usage_error)
{
	const char *fmt[] = { "'%s'", "", "-o max_fds=8 '%s'" };

	for (size_t i = 0; i < sizeof(fmt) / sizeof(*fmt); i++) {
		char *args, *out;
		int status;

		cr_assert(asprintf(&args, fmt[i], cas) >= 0);
		status = run_voltfs(args, &out);
		cr_expect_eq(status, 2, "voltfs -f %s: exit %d, want 2; it printed: %s", args,
			     status, out);
		cr_expect_not_null(strstr(out, "usage: voltfs"), "voltfs -f %s: no usage line: %s",
				   args, out);
		free(out);
		free(args);
	}
}

Test(options, max_fds_out_of_range_refused)
{
	static const char *const bad[] = { "max_fds=0", "max_fds=4294967295", "max_fds=-1" };

	if (!vt_have_fuse())
		cr_skip_test("/dev/fuse is not usable here");
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		char *args, *out;
		int status;

		cr_assert(asprintf(&args, "-o %s '%s' '%s'", bad[i], cas, mnt) > 0);
		status = run_voltfs(args, &out);
		cr_expect(status == 1 || status == 2,
			  "-o %s: exit %d, want a refusal; it printed: %s", bad[i], status, out);
		cr_expect_not_null(strstr(out, "max_fds must be between 1 and"),
				   "-o %s: no clear message: %s", bad[i], out);
		cr_expect_not(mounted(mnt), "-o %s left a mount", bad[i]);
		free(out);
		free(args);
	}
	/* The smallest value that is allowed mounts. */
	{
		struct vt_mount m;

		vt_mount(&m, cas, mnt, "max_fds=1");
		cr_assert_eq(vt_unmount(&m), 0);
	}
}
