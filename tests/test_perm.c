// SPDX-License-Identifier: MIT
/*
 * Who may do what on a mount. With allow_other,default_permissions an
 * unprivileged user (nobody, no supplementary groups) reads, lists and
 * executes what the modes allow and never writes, whatever the call; without
 * allow_other, FUSE refuses every other user at the mount point itself. The
 * checks run in a child that dropped to nobody and report back on a pipe.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "support.h"

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

TestSuite(perm, .fini = teardown, .timeout = 120);

#define LIB_BODY "library bytes\n"

/*
 * kvm-linux with bin/qemu-system-x86_64 (a copy of /bin/echo, 0555) and
 * lib/libdata.so.1 (0444), mounted with opts. The folders on the way to the
 * mount point must let nobody through: vt_tmpdir() makes them 0700.
 */
static void world_make(const char *opts)
{
	char bin[VOLT_HASH_HEX_MAX + 1], lib[VOLT_HASH_HEX_MAX + 1], ref[64], *json, *echo;
	size_t len;

	if (geteuid() != 0)
		cr_skip_test("needs root to switch to nobody and to mount for other users");
	if (!getpwnam("nobody"))
		cr_skip_test("no user nobody here");
	dir = vt_tmpdir();
	cr_assert_eq(chmod(dir, 0755), 0);
	cas = vt_join(dir, "cas");
	mnt = vt_join(dir, "mnt");
	vt_cas_init(cas);
	echo = vt_read_file("/bin/echo", &len);
	cr_assert_not_null(echo);
	vt_put_object(cas, echo, len, 0555, bin);
	free(echo);
	vt_put_object(cas, LIB_BODY, strlen(LIB_BODY), 0444, lib);
	cr_assert(asprintf(&json,
			   "{\"name\":\"kvm-linux\",\"created_at\":\"2026-01-02T03:04:05Z\","
			   "\"objects\":{\"bin/qemu-system-x86_64\":\"%s\","
			   "\"lib/libdata.so.1\":\"%s\"}}",
			   bin, lib) > 0);
	vt_put_ref(cas, "kvm-linux", json, ref);
	free(json);
	vt_mount(&mount, cas, mnt, opts);
}

/* What the child found wrong, sent to the parent at exit. */
struct report {
	char text[8192];
	size_t len;
	int failures;
};

__attribute__((format(printf, 2, 3))) static void fail(struct report *r, const char *fmt, ...)
{
	va_list ap;
	int n;

	r->failures++;
	if (r->len + 2 >= sizeof(r->text))
		return;
	va_start(ap, fmt);
	n = vsnprintf(r->text + r->len, sizeof(r->text) - r->len - 1, fmt, ap);
	va_end(ap);
	if (n > 0)
		r->len += (size_t)n < sizeof(r->text) - r->len - 1 ? (size_t)n
								   : sizeof(r->text) - r->len - 2;
	r->text[r->len++] = '\n';
}

static char *at(const char *rel)
{
	return vt_join(mnt, rel);
}

/*
 * A write that must fail (ret is its return value). With EROFS: the read-only
 * mount refuses it before any permission is looked at, so nobody gets
 * exactly what root gets, and the daemon never hears of it.
 */
static void expect_refused(struct report *r, const char *what, int ret)
{
	int err = errno;

	if (ret >= 0)
		fail(r, "%s: succeeded as nobody", what);
	else if (err != EROFS)
		fail(r, "%s: %s, want EROFS", what, strerror(err));
}

/* A call that must fail with EACCES (ret is its return value). */
static void expect_eacces(struct report *r, const char *what, int ret)
{
	if (ret >= 0)
		fail(r, "%s: allowed, want EACCES", what);
	else if (errno != EACCES)
		fail(r, "%s: %s, want EACCES", what, strerror(errno));
}

/* Run prog arg with its stdout into out; its exit status, or -1. */
static int run(const char *prog, const char *arg, char *out, size_t size)
{
	int fds[2], status;
	ssize_t n;
	size_t len = 0;
	pid_t pid;

	if (pipe(fds) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		execl(prog, prog, arg, (char *)NULL);
		_exit(126);
	}
	close(fds[1]);
	while (len + 1 < size && (n = read(fds[0], out + len, size - len - 1)) > 0)
		len += (size_t)n;
	out[len] = '\0';
	close(fds[0]);
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static bool lists(struct report *r, const char *folder, const char *name)
{
	char *p = at(folder);
	DIR *d = opendir(p);
	struct dirent *de;
	bool found = false;

	if (!d)
		fail(r, "opendir %s: %s", folder, strerror(errno));
	while (d && (de = readdir(d)))
		found |= strcmp(de->d_name, name) == 0;
	if (d)
		closedir(d);
	free(p);
	return found;
}

/* As nobody, with allow_other,default_permissions: read, list and run; never write. */
static void nobody_on_shared_mount(struct report *r)
{
	char *bin = at("kvm-linux/bin/qemu-system-x86_64"), *lib = at("kvm-linux/lib/libdata.so.1");
	char *newf = at("kvm-linux/lib/new"), *newd = at("kvm-linux/newdir");
	char *other = at("kvm-linux/lib/other"), *args = at("kvm-linux/args"), *body;
	char *firmware = at("kvm-linux/firmware");
	char out[256];
	struct stat st;
	int fd, status;

	if (stat(mnt, &st) < 0)
		fail(r, "stat of the mount root: %s", strerror(errno));
	if (!lists(r, "", "kvm-linux") || !lists(r, "kvm-linux", "bin") ||
	    !lists(r, "kvm-linux/lib", "libdata.so.1"))
		fail(r, "a listing misses what the manifest holds");
	body = vt_read_file(lib, NULL);
	if (!body || strcmp(body, LIB_BODY) != 0)
		fail(r, "read of a 0444 object: %s", body ? "wrong bytes" : strerror(errno));
	free(body);
	body = vt_read_file(args, NULL);
	if (!body || !strstr(body, "-name\n"))
		fail(r, "read of args: %s", body ? "wrong bytes" : strerror(errno));
	free(body);
	status = run(bin, "hello from nobody", out, sizeof(out));
	if (status != 0 || strcmp(out, "hello from nobody\n") != 0)
		fail(r, "exec of the 0555 binary: status %d, output '%s'", status, out);
	/* default_permissions: the kernel applies the modes, so 0444 does not execute. */
	expect_eacces(r, "access(X_OK) of a 0444 object", access(lib, X_OK));
	status = run(lib, "x", out, sizeof(out));
	if (status != 126)
		fail(r, "exec of a 0444 object: status %d, want 126 (execve refused)", status);

	fd = open(lib, O_WRONLY);
	expect_refused(r, "open O_WRONLY", fd);
	if (fd >= 0)
		close(fd);
	fd = open(bin, O_RDWR);
	expect_refused(r, "open O_RDWR", fd);
	if (fd >= 0)
		close(fd);
	fd = open(lib, O_RDONLY | O_TRUNC);
	if (fd >= 0) {
		if (stat(lib, &st) == 0 && st.st_size == 0)
			fail(r, "open O_TRUNC emptied the file");
		close(fd);
	}
	fd = open(newf, O_WRONLY | O_CREAT | O_EXCL, 0644);
	expect_refused(r, "create", fd);
	if (fd >= 0)
		close(fd);
	expect_refused(r, "mkdir", mkdir(newd, 0755));
	expect_refused(r, "unlink", unlink(lib));
	expect_refused(r, "rmdir", rmdir(firmware));
	expect_refused(r, "rename", rename(lib, other));
	expect_refused(r, "chmod", chmod(lib, 0666));
	expect_refused(r, "truncate", truncate(lib, 0));
	expect_refused(r, "symlink", symlink("x", newf));
	expect_refused(r, "link", link(lib, newf));
	expect_refused(r, "access(W_OK)", access(lib, W_OK));
	if (stat(lib, &st) < 0 || st.st_size != (off_t)strlen(LIB_BODY) ||
	    (st.st_mode & 07777) != 0444)
		fail(r, "the object changed under the refused writes");
	free(bin);
	free(lib);
	free(newf);
	free(newd);
	free(other);
	free(args);
	free(firmware);
}

/* As nobody, without allow_other: refused at the mount point, before voltfs sees anything. */
static void nobody_on_private_mount(struct report *r)
{
	char *p = at("kvm-linux/lib/libdata.so.1");
	struct stat st;
	int fd;

	expect_eacces(r, "stat of the mount root", stat(mnt, &st));
	expect_eacces(r, "stat of an object", stat(p, &st));
	fd = open(p, O_RDONLY);
	expect_eacces(r, "open of an object", fd);
	if (fd >= 0)
		close(fd);
	free(p);
}

/*
 * Fork, become nobody for good (groups, gid, then uid), run fn, and hand its
 * report to the parent, which asserts on it. The child leaves by _exit: no
 * atexit handlers, no Criterion, no leak check in a process that is not the
 * test's.
 */
static void as_nobody(void (*fn)(struct report *r))
{
	struct passwd *pw = getpwnam("nobody");
	struct report r = { .len = 0 };
	int fds[2], status;
	ssize_t n;
	pid_t pid;

	cr_assert_not_null(pw);
	cr_assert_eq(pipe(fds), 0);
	pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		errno = 0;
		if (setgroups(0, NULL) < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0)
			fail(&r, "cannot become nobody: %s", strerror(errno));
		else if (setuid(0) == 0 || geteuid() != pw->pw_uid || getegid() != pw->pw_gid)
			fail(&r, "still privileged after dropping to nobody");
		else
			fn(&r);
		if (write(fds[1], r.text, r.len) < 0)
			_exit(2);
		_exit(r.failures ? 1 : 0);
	}
	close(fds[1]);
	while (r.len + 1 < sizeof(r.text) &&
	       (n = read(fds[0], r.text + r.len, sizeof(r.text) - r.len - 1)) > 0)
		r.len += (size_t)n;
	r.text[r.len] = '\0';
	close(fds[0]);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "as nobody:\n%s", r.text);
}

Test(perm, nobody_reads_and_runs_but_never_writes)
{
	world_make("allow_other,default_permissions");
	as_nobody(nobody_on_shared_mount);
	cr_assert_eq(vt_unmount(&mount), 0);
}

Test(perm, other_users_refused_without_allow_other)
{
	struct stat st;
	char *p;

	world_make(NULL);
	as_nobody(nobody_on_private_mount);
	/* The owner of the mount is not refused. */
	p = at("kvm-linux/lib/libdata.so.1");
	cr_assert_eq(stat(p, &st), 0, "%s", strerror(errno));
	free(p);
	cr_assert_eq(vt_unmount(&mount), 0);
}
