// SPDX-License-Identifier: MIT
/*
 * Stopping and crashing. SIGTERM unmounts cleanly: the mount goes away and
 * the daemon exits 0. SIGKILL leaves a dead mount that answers ENOTCONN;
 * the README's recovery, `fusermount3 -u MOUNTPOINT` (-uz while something
 * still holds a file open there) and mounting again, brings the files back.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "support.h"

#define FUSE_SUPER_MAGIC 0x65735546
#define BODY "served again\n"

static char *dir, *cas, *mnt;
static struct vt_mount mount;

static void teardown(void)
{
	vt_mount_cleanup(&mount);
	vt_rmtree(dir);
	free(dir);
	free(cas);
	free(mnt);
	dir = cas = mnt = NULL;
}

TestSuite(crash, .fini = teardown, .timeout = 120);

static void world_make_with(const char *opts)
{
	char hex[VOLT_HASH_HEX_MAX + 1], ref[64], *json;

	dir = vt_tmpdir();
	cas = vt_join(dir, "cas");
	mnt = vt_join(dir, "mnt");
	vt_cas_init(cas);
	vt_put_object(cas, BODY, strlen(BODY), 0444, hex);
	cr_assert(asprintf(&json,
			   "{\"name\":\"kvm-linux\",\"created_at\":\"2026-01-02T03:04:05Z\","
			   "\"objects\":{\"lib/libx.so\":\"%s\"}}",
			   hex) > 0);
	vt_put_ref(cas, "kvm-linux", json, ref);
	free(json);
	vt_mount(&mount, cas, mnt, opts);
}

static void world_make(void)
{
	world_make_with(NULL);
}

static bool is_fuse_mount(const char *path)
{
	struct statfs sf;

	return statfs(path, &sf) == 0 && sf.f_type == FUSE_SUPER_MAGIC;
}

/* The file through the mount, byte for byte. */
static void expect_served(void)
{
	char *p = vt_join(mnt, "kvm-linux/lib/libx.so"), *body = vt_read_file(p, NULL);

	cr_assert_not_null(body, "%s: %s", p, strerror(errno));
	cr_assert_str_eq(body, BODY);
	free(body);
	free(p);
}

/* Wait (at most 10 s, no fixed sleep) for the daemon to end; its wait status. */
static int reap(pid_t pid)
{
	struct timespec pause = { 0, 5 * 1000 * 1000 };
	int status;

	for (int i = 0; i < 2000; i++) {
		pid_t got = waitpid(pid, &status, WNOHANG);

		cr_assert_neq(got, -1, "waitpid: %s", strerror(errno));
		if (got == pid)
			return status;
		nanosleep(&pause, NULL);
	}
	cr_assert_fail("voltfs (pid %d) did not exit within 10 s", (int)pid);
	return -1;
}

/* The daemon is gone and reaped: forget it, so teardown has nothing to kill. */
static void forget_daemon(void)
{
	free(mount.mnt);
	free(mount.log);
	mount.mnt = mount.log = NULL;
	mount.pid = 0;
}

static int run_quiet(const char *fmt, const char *arg)
{
	char *cmd;
	int status;

	cr_assert(asprintf(&cmd, fmt, arg) > 0);
	status = vt_run(cmd, NULL);
	free(cmd);
	return status;
}

Test(crash, sigterm_unmounts_and_exits_0)
{
	int status;

	world_make();
	expect_served();
	cr_assert_eq(kill(mount.pid, SIGTERM), 0);
	status = reap(mount.pid);
	forget_daemon();
	cr_assert(WIFEXITED(status), "voltfs died of signal %d on SIGTERM", WTERMSIG(status));
	cr_assert_eq(WEXITSTATUS(status), 0, "voltfs exited %d on SIGTERM", WEXITSTATUS(status));
	/* Gone, not dead: the mount point is a plain folder again. */
	cr_assert(!is_fuse_mount(mnt), "%s is still mounted after SIGTERM", mnt);
	cr_assert_eq(access(mnt, F_OK), 0, "%s", strerror(errno));
	cr_assert_neq(run_quiet("grep -qF ' %s ' /proc/self/mounts", mnt), 0,
		      "%s is still in the mount table", mnt);
	/* And it mounts again. */
	vt_mount(&mount, cas, mnt, NULL);
	expect_served();
	cr_assert_eq(vt_unmount(&mount), 0);
}

/* SIGKILL: what a user sees, then exactly the README's recovery. */
Test(crash, after_sigkill_fusermount_u_and_mount_again)
{
	struct stat st;
	char *p;
	int status;

	world_make();
	expect_served();
	cr_assert_eq(kill(mount.pid, SIGKILL), 0);
	status = reap(mount.pid);
	forget_daemon();
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

	/* Anything the kernel has not cached must ask the dead daemon. */
	p = vt_join(mnt, "kvm-uefi");
	cr_assert_eq(stat(p, &st), -1, "the dead mount still answers");
	cr_assert_eq(errno, ENOTCONN, "stat on a dead mount: %s, want ENOTCONN", strerror(errno));
	free(p);
	p = vt_join(mnt, "kvm-linux/lib/libx.so");
	cr_assert_eq(open(p, O_RDONLY), -1);
	cr_assert_eq(errno, ENOTCONN, "open on a dead mount: %s", strerror(errno));
	free(p);

	cr_assert_eq(run_quiet("fusermount3 -u '%s'", mnt), 0, "fusermount3 -u failed");
	cr_assert_eq(stat(mnt, &st), 0, "%s", strerror(errno));
	cr_assert(S_ISDIR(st.st_mode) && !is_fuse_mount(mnt));

	vt_mount(&mount, cas, mnt, NULL);
	expect_served();
	cr_assert_eq(vt_unmount(&mount), 0);
}

/* A file held open across the kill makes the dead mount busy: -u refuses, -uz works. */
Test(crash, after_sigkill_with_a_file_open_fusermount_uz)
{
	char *p, c;
	int fd, status;

	/* With passthrough the kernel reads the store itself: an open file outlives the daemon. */
	world_make_with("nopassthrough");
	p = vt_join(mnt, "kvm-linux/lib/libx.so");
	fd = open(p, O_RDONLY);
	cr_assert(fd >= 0, "%s", strerror(errno));
	free(p);
	cr_assert_eq(kill(mount.pid, SIGKILL), 0);
	status = reap(mount.pid);
	forget_daemon();
	cr_assert(WIFSIGNALED(status));
	/* The open file is dead too: its daemon is gone. */
	cr_assert_eq(pread(fd, &c, 1, 0), -1);
	cr_assert_eq(errno, ENOTCONN, "read on a dead mount: %s", strerror(errno));

	cr_assert_neq(run_quiet("fusermount3 -u '%s' 2>/dev/null", mnt), 0,
		      "a busy dead mount was unmounted without -z");
	cr_assert_eq(run_quiet("fusermount3 -uz '%s'", mnt), 0, "fusermount3 -uz failed");
	cr_assert(!is_fuse_mount(mnt));
	vt_mount(&mount, cas, mnt, NULL);
	expect_served();
	close(fd);
	cr_assert_eq(vt_unmount(&mount), 0);
}
