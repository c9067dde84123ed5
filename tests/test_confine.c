// SPDX-License-Identifier: MIT
/*
 * The confined daemon, seen from outside: /proc/PID/status says
 * NoNewPrivs 1 and no capability; its Landlock domain refuses an object that
 * leads outside the store even in a test-only build that skips the path
 * check (and -o noconfine shows that build would serve it); SIGTERM and
 * fusermount3 -u still unmount, through the helper that alone can.
 */
#include <dirent.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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
#define BODY "served from the store\n"
#define SECRET "root:x:0:0:a file outside the store\n"

static char *dir, *cas, *mnt;
static char secret_hex[VOLT_HASH_HEX_MAX + 1];
static struct vt_mount m;

static void teardown(void)
{
	vt_mount_cleanup(&m);
	vt_rmtree(dir);
	free(dir);
	free(cas);
	free(mnt);
	dir = cas = mnt = NULL;
}

TestSuite(confine, .fini = teardown, .timeout = 120);

/*
 * A store whose emulate-x86 serves lib/libx.so and bin/passwd, the latter an
 * objects/ link to a file outside the store whose content matches its name.
 */
static void world_make(void)
{
	char hex[VOLT_HASH_HEX_MAX + 1], ref[64], *json, *outside, *target, *link;

	dir = vt_tmpdir();
	cas = vt_join(dir, "cas");
	mnt = vt_join(dir, "mnt");
	outside = vt_join(dir, "elsewhere");
	vt_cas_init(cas);
	vt_cas_init(outside);
	vt_put_object(cas, BODY, strlen(BODY), 0444, hex);
	vt_put_object(outside, SECRET, strlen(SECRET), 0444, secret_hex);
	cr_assert(asprintf(&target, "%s/objects/%s", outside, secret_hex) > 0);
	cr_assert(asprintf(&link, "%s/objects/%s", cas, secret_hex) > 0);
	cr_assert_eq(symlink(target, link), 0, "%s: %s", link, strerror(errno));
	cr_assert(asprintf(&json,
			   "{\"name\":\"emulate-x86\",\"created_at\":\"2026-01-02T03:04:05Z\","
			   "\"objects\":{\"lib/libx.so\":\"%s\",\"bin/passwd\":\"%s\"}}",
			   hex, secret_hex) > 0);
	vt_put_ref(cas, "emulate-x86", json, ref);
	free(json);
	free(link);
	free(target);
	free(outside);
}

/* A request answered means the session loop runs: confinement is in force. */
static void expect_served(void)
{
	char *p = vt_join(mnt, "emulate-x86/lib/libx.so"), *body = vt_read_file(p, NULL);

	cr_assert_not_null(body, "%s: %s", p, strerror(errno));
	cr_assert_str_eq(body, BODY);
	free(body);
	free(p);
}

/* The value of "Key:" in /proc/<pid>/status (malloc'ed), or NULL. */
static char *status_field(pid_t pid, const char *key)
{
	char path[64], *text, *line, *end, *val = NULL;
	size_t klen = strlen(key);

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	text = vt_read_file(path, NULL);
	cr_assert_not_null(text, "%s: %s", path, strerror(errno));
	for (line = text; line && *line; line = end ? end + 1 : NULL) {
		end = strchr(line, '\n');
		if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
			line += klen + 1;
			line += strspn(line, " \t");
			val = strndup(line, end ? (size_t)(end - line) : strlen(line));
			break;
		}
	}
	free(text);
	return val;
}

/*
 * The unmount helper names itself after it closed what it inherited: until
 * then (a forked copy of a sanitizer build is slow to start) it is a copy of
 * the daemon. Wait (at most 10 s) for it to have done so.
 */
static void expect_helper_ready(pid_t helper)
{
	struct timespec pause = { 0, 10 * 1000 * 1000 };
	char *v = NULL;

	for (int i = 0; i < 1000; i++) {
		free(v);
		v = status_field(helper, "Name");
		if (v && strcmp(v, "voltfs-umount") == 0)
			break;
		nanosleep(&pause, NULL);
	}
	cr_assert_str_eq(v ? v : "", "voltfs-umount",
			 "/proc/%d/status Name: %s, want voltfs-umount", (int)helper,
			 v ? v : "(none)");
	free(v);
}

static void expect_status(pid_t pid, const char *key, const char *want)
{
	char *v = status_field(pid, key);

	cr_assert_not_null(v, "no %s in /proc/%d/status", key, (int)pid);
	cr_assert_str_eq(v, want, "/proc/%d/status %s: %s, want %s", (int)pid, key, v, want);
	free(v);
}

/* The daemon's one child, the unmount helper; -1 if none. */
static pid_t helper_of(pid_t pid)
{
	char path[64], *kids;
	long child = -1;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid, (int)pid);
	kids = vt_read_file(path, NULL);
	cr_assert_not_null(kids, "%s: %s", path, strerror(errno));
	if (*kids)
		child = strtol(kids, NULL, 10);
	free(kids);
	return (pid_t)child;
}

/* Does any descriptor of pid lead to /dev/fuse? */
static bool holds_dev_fuse(pid_t pid)
{
	char path[64], link[PATH_MAX];
	struct dirent *e;
	bool found = false;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	cr_assert_not_null(d, "%s: %s", path, strerror(errno));
	while (!found && (e = readdir(d))) {
		char *fd = vt_join(path, e->d_name);
		ssize_t n = readlink(fd, link, sizeof(link) - 1);

		free(fd);
		if (n > 0) {
			link[n] = '\0';
			found = strcmp(link, "/dev/fuse") == 0;
		}
	}
	closedir(d);
	return found;
}

static bool is_fuse_mount(const char *path)
{
	struct statfs sf;

	return statfs(path, &sf) == 0 && sf.f_type == FUSE_SUPER_MAGIC;
}

/* Wait (at most 10 s, no fixed sleep) for pid to end; its wait status. */
static int reap(pid_t pid)
{
	struct timespec pause = { 0, 10 * 1000 * 1000 };
	int status;

	for (int i = 0; i < 1000; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return status;
		nanosleep(&pause, NULL);
	}
	cr_assert_fail("pid %d did not end within 10 s", (int)pid);
	return -1;
}

Test(confine, status_shows_no_new_privs_and_no_capabilities)
{
	pid_t helper;

	world_make();
	vt_mount(&m, cas, mnt, "nopassthrough");
	expect_served();
	expect_status(m.pid, "NoNewPrivs", "1");
	/* Without passthrough no feature needs a capability, root or not. */
	expect_status(m.pid, "CapEff", "0000000000000000");
	expect_status(m.pid, "CapPrm", "0000000000000000");
	expect_status(m.pid, "CapAmb", "0000000000000000");
	if (geteuid() == 0)
		expect_status(m.pid, "CapBnd", "0000000000000000");
	/* The helper that can unmount stays unconfined, and never holds the session. */
	helper = helper_of(m.pid);
	cr_assert_gt(helper, 0, "no unmount helper under the daemon");
	expect_helper_ready(helper);
	cr_assert(holds_dev_fuse(m.pid), "the daemon holds no /dev/fuse?");
	cr_assert_not(holds_dev_fuse(helper), "the unmount helper holds /dev/fuse");
	cr_assert_eq(vt_unmount(&m), 0);
	cr_assert_eq(kill(helper, 0), -1, "the helper outlived the daemon");
}

/* Passthrough registers backing files with CAP_SYS_ADMIN: that one is kept, as root. */
Test(confine, passthrough_keeps_cap_sys_admin_only)
{
	if (!VOLTFS_HAVE_PASSTHROUGH)
		cr_skip_test("voltfs was built against a libfuse older than 3.17: no passthrough");
	world_make();
	vt_mount(&m, cas, mnt, NULL);
	expect_served();
	expect_status(m.pid, "NoNewPrivs", "1");
	if (geteuid() == 0) {
		expect_status(m.pid, "CapEff", "0000000000200000");
		expect_status(m.pid, "CapBnd", "0000000000200000");
	}
	expect_status(m.pid, "CapAmb", "0000000000000000");
	cr_assert_eq(vt_unmount(&m), 0);
}

Test(confine, noconfine_keeps_what_it_had)
{
	char *had = status_field(getpid(), "CapEff");

	world_make();
	vt_mount(&m, cas, mnt, "noconfine");
	expect_served();
	expect_status(m.pid, "NoNewPrivs", "0");
	/* The daemon keeps the test's own capabilities: none dropped. */
	expect_status(m.pid, "CapEff", had);
	cr_assert_eq(helper_of(m.pid), -1, "an unmount helper without confinement");
	cr_assert_eq(vt_unmount(&m), 0);
	free(had);
}

/* Read path through the mount: the bytes, or NULL with errno. */
static char *read_through(const char *rel)
{
	char *p = vt_join(mnt, rel), *body = vt_read_file(p, NULL);
	int err = errno;

	free(p);
	errno = err;
	return body;
}

Test(confine, landlock_refuses_an_object_outside_the_store)
{
	char *body;

	world_make();
	/* The control: that build, unconfined, serves the planted object's bytes. */
	vt_mount_bin(&m, VOLTFS_NOCHECK_BIN, cas, mnt, "noconfine");
	body = read_through("emulate-x86/bin/passwd");
	cr_assert_not_null(body, "the test-only build does not follow objects/ links: %s",
			   strerror(errno));
	cr_assert_str_eq(body, SECRET);
	free(body);
	cr_assert_eq(vt_unmount(&m), 0);

	/* Confined, the kernel refuses: no path check was there to do it. */
	vt_mount_bin(&m, VOLTFS_NOCHECK_BIN, cas, mnt, NULL);
	expect_served();
	body = read_through("emulate-x86/bin/passwd");
	cr_assert_null(body, "a confined daemon served a file outside the store: %s", body);
	cr_assert(errno == EACCES || errno == EIO, "%s", strerror(errno));
	expect_served();
	cr_assert_eq(vt_unmount(&m), 0);

	/* The real build refuses the link itself, before Landlock is asked. */
	vt_mount(&m, cas, mnt, "noconfine");
	body = read_through("emulate-x86/bin/passwd");
	cr_assert_null(body, "voltfs followed a link in objects/: %s", body);
	cr_assert_eq(vt_unmount(&m), 0);
}

Test(confine, sigterm_still_unmounts)
{
	pid_t helper;
	int status;

	world_make();
	vt_mount(&m, cas, mnt, NULL);
	expect_served();
	helper = helper_of(m.pid);
	cr_assert_gt(helper, 0);
	cr_assert_eq(kill(m.pid, SIGTERM), 0);
	status = reap(m.pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "exit status %d", status);
	cr_assert_not(is_fuse_mount(mnt), "%s is still mounted after SIGTERM", mnt);
	cr_assert_eq(kill(helper, 0), -1, "the helper outlived the daemon");
	free(m.mnt);
	free(m.log);
	m.mnt = m.log = NULL;
}

Test(confine, sigkill_leaves_the_mount_as_a_crash_does)
{
	int status;

	world_make();
	vt_mount(&m, cas, mnt, NULL);
	expect_served();
	cr_assert_eq(kill(m.pid, SIGKILL), 0);
	status = reap(m.pid);
	cr_assert(WIFSIGNALED(status));
	/* The helper saw its pipe close and left the (dead) mount alone. */
	cr_assert(is_fuse_mount(mnt) || errno == ENOTCONN, "%s: %s", mnt, strerror(errno));
	cr_assert_eq(read_through("emulate-x86/lib/libx.so"), NULL);
	cr_assert_eq(errno, ENOTCONN, "%s", strerror(errno));
}

/* The mount's bdi read_ahead_kb (from mountinfo's major:minor), or -1. */
static long mount_read_ahead_kb(const char *path)
{
	char line[8192], dev[32], point[PATH_MAX], *sys, *val;
	bool found = false;
	long kb = -1;
	FILE *f = fopen("/proc/self/mountinfo", "re");

	cr_assert_not_null(f);
	while (!found && fgets(line, sizeof(line), f))
		found = sscanf(line, "%*d %*d %31s %*s %4095s", dev, point) == 2 &&
			strcmp(point, path) == 0;
	fclose(f);
	cr_assert(found, "%s not in mountinfo", path);
	cr_assert(asprintf(&sys, "/sys/class/bdi/%s/read_ahead_kb", dev) > 0);
	val = vt_read_file(sys, NULL);
	if (val)
		kb = strtol(val, NULL, 10);
	free(val);
	free(sys);
	return kb;
}

/*
 * What the daemon does after mounting still works confined: the read-ahead is
 * written once INIT is done (its file opened before), and with -o clone_fd
 * every libfuse worker opens /dev/fuse again.
 */
Test(confine, read_ahead_and_clone_fd_still_work)
{
	char *log;

	world_make();
	if (geteuid() != 0)
		cr_skip_test("read_ahead_kb is written by root only");
	vt_mount(&m, cas, mnt, "readahead_kb=4096,clone_fd");
	expect_served();
	expect_status(m.pid, "NoNewPrivs", "1");
	cr_expect_eq(mount_read_ahead_kb(m.mnt), 4096);
	log = vt_mount_log(&m);
	cr_expect_null(strstr(log, "/dev/fuse"), "the daemon's log: %s", log);
	free(log);
	cr_assert_eq(vt_unmount(&m), 0);
}

/* Make landlock_create_ruleset fail with ENOSYS in this process and its children. */
static void hide_landlock(void)
{
	struct sock_filter code[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_landlock_create_ruleset, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { sizeof(code) / sizeof(*code), code };

	cr_assert_eq(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0);
	cr_assert_eq(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog), 0, "%s", strerror(errno));
}

/* A kernel without Landlock: one line says so, the rest of the confinement holds, it serves. */
Test(confine, without_landlock_says_so_once_and_serves)
{
	const char *line = "the kernel has no Landlock (not built in)";
	char *log, *at;

#ifndef __x86_64__
	cr_skip_test("the seccomp filter here is for x86_64");
#endif
	world_make();
	hide_landlock();
	vt_mount(&m, cas, mnt, "nopassthrough");
	expect_served();
	expect_served();
	expect_status(m.pid, "NoNewPrivs", "1");
	expect_status(m.pid, "CapEff", "0000000000000000");
	log = vt_mount_log(&m);
	at = strstr(log, line);
	cr_assert_not_null(at, "the daemon's log: %s", log);
	cr_assert_null(strstr(at + 1, line), "said more than once: %s", log);
	free(log);
	cr_assert_eq(vt_unmount(&m), 0);
}
