// SPDX-License-Identifier: MIT
/* Test support: fixtures on temporary folders and real FUSE mounts. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "support.h"
#include "voltfs/refs.h"

#define FUSE_SUPER_MAGIC 0x65735546

char *vt_join(const char *a, const char *b)
{
	char *p;

	cr_assert(asprintf(&p, "%s/%s", a, b) > 0);
	return p;
}

char *vt_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	char *p;

	cr_assert(asprintf(&p, "%s/voltfs-test-XXXXXX", base && *base ? base : "/tmp") > 0);
	cr_assert_not_null(mkdtemp(p), "mkdtemp: %s", strerror(errno));
	return p;
}

void vt_rmtree(const char *path)
{
	char *cmd;

	if (!path)
		return;
	cr_assert(asprintf(&cmd, "rm -rf '%s'", path) > 0);
	if (system(cmd) != 0)
		cr_log_warn("could not remove %s", path);
	free(cmd);
}

static void mkdir_parents(const char *path)
{
	char *p = strdup(path);

	for (char *s = strchr(p + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		mkdir(p, 0755);
		*s = '/';
	}
	free(p);
}

void vt_write_file(const char *path, const void *buf, size_t len, mode_t mode)
{
	int fd;

	mkdir_parents(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	cr_assert(fd >= 0, "open %s: %s", path, strerror(errno));
	cr_assert_eq(write(fd, buf, len), (ssize_t)len);
	cr_assert_eq(fchmod(fd, mode), 0);
	close(fd);
}

void vt_write_str(const char *path, const char *s)
{
	vt_write_file(path, s, strlen(s), 0644);
}

char *vt_read_file(const char *path, size_t *len_out)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap + 1);
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0) {
		free(buf);
		return NULL;
	}
	while ((n = read(fd, buf + len, cap - len)) > 0) {
		len += (size_t)n;
		if (len == cap)
			buf = realloc(buf, (cap *= 2) + 1);
	}
	if (n < 0) {
		int err = errno;

		close(fd);
		free(buf);
		errno = err;
		return NULL;
	}
	close(fd);
	buf[len] = '\0';
	if (len_out)
		*len_out = len;
	return buf;
}

void vt_cas_init(const char *cas)
{
	char *refs = vt_join(cas, "refs"), *objects = vt_join(cas, "objects");

	mkdir(cas, 0755);
	cr_assert(mkdir(refs, 0755) == 0 || errno == EEXIST);
	cr_assert(mkdir(objects, 0755) == 0 || errno == EEXIST);
	free(refs);
	free(objects);
}

void vt_put_object(const char *cas, const void *buf, size_t len, mode_t mode,
		   char hex[VOLT_HASH_HEX_MAX + 1])
{
	struct volt_hash h;
	struct stat st;
	char *name, *path, *tmp;

	volt_hash_xxh128(&h, buf, len);
	volt_hash_format(&h, hex);
	cr_assert(asprintf(&name, "objects/%s", hex) > 0);
	path = vt_join(cas, name);
	/* As the real tool: written once, atomically, so a reader never sees it change. */
	if (lstat(path, &st) != 0) {
		cr_assert(asprintf(&tmp, "%s.tmp-%d", path, (int)getpid()) > 0);
		vt_write_file(tmp, buf, len, mode);
		cr_assert_eq(rename(tmp, path), 0);
		free(tmp);
	}
	free(name);
	free(path);
}

void vt_put_ref(const char *cas, const char *profile, const char *json, char name[64])
{
	enum volt_profile p = volt_profile_from_name(profile, strlen(profile));
	struct volt_hash h;
	char hex[VOLT_HASH_HEX_MAX + 1], *rel, *path;

	if (p != VOLT_PROFILE_INVALID) {
		volt_ref_make_name(p, json, strlen(json), name);
	} else {
		volt_hash_xxh128(&h, json, strlen(json));
		volt_hash_format(&h, hex);
		snprintf(name, 64, "%s-%.8s.json", profile, hex);
	}
	cr_assert(asprintf(&rel, "refs/%s", name) > 0);
	path = vt_join(cas, rel);
	vt_write_str(path, json);
	free(rel);
	free(path);
}

void vt_drop_ref(const char *cas, const char *name)
{
	char *path;

	cr_assert(asprintf(&path, "%s/refs/%s", cas, name) > 0);
	cr_assert_eq(unlink(path), 0, "%s: %s", path, strerror(errno));
	free(path);
}

bool vt_have_fuse(void)
{
	int fd = open("/dev/fuse", O_RDWR);

	if (fd < 0)
		return false;
	close(fd);
	return access("/usr/bin/fusermount3", X_OK) == 0 || access("/bin/fusermount3", X_OK) == 0;
}

static bool is_fuse_mount(const char *mnt)
{
	struct statfs sf;

	return statfs(mnt, &sf) == 0 && sf.f_type == FUSE_SUPER_MAGIC;
}

void vt_mount(struct vt_mount *m, const char *cas, const char *mnt, const char *opts)
{
	vt_mount_bin(m, VOLTFS_BIN, cas, mnt, opts);
}

void vt_mount_bin(struct vt_mount *m, const char *bin, const char *cas, const char *mnt,
		  const char *opts)
{
	struct timespec pause = { 0, 5 * 1000 * 1000 };
	/* A second pass of a suite (ctest's *_nopassthrough) adds its options to every mount. */
	const char *extra = getenv("VOLTFS_TEST_MOUNT_OPTS");
	char *all = NULL;
	int status;

	if (!vt_have_fuse())
		cr_skip_test("/dev/fuse is not usable here");
	if (extra && *extra) {
		cr_assert(asprintf(&all, "%s%s%s", opts ? opts : "", opts ? "," : "", extra) > 0);
		opts = all;
	}
	memset(m, 0, sizeof(*m));
	m->mnt = strdup(mnt);
	cr_assert(asprintf(&m->log, "%s.log", mnt) > 0);
	mkdir(mnt, 0755);
	m->pid = fork();
	cr_assert(m->pid >= 0);
	if (m->pid == 0) {
		int fd = open(m->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int null = open("/dev/null", O_RDWR);

		/* Never hold the test runner's pipes; die (and unmount) with the test. */
		dup2(null, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (opts)
			execl(bin, "voltfs", "-f", "-o", opts, cas, mnt, (char *)NULL);
		else
			execl(bin, "voltfs", "-f", cas, mnt, (char *)NULL);
		_exit(127);
	}
	free(all);
	/* Bounded wait for the kernel to show the mount: at most 10 s. */
	for (int i = 0; i < 2000; i++) {
		if (is_fuse_mount(mnt))
			return;
		if (waitpid(m->pid, &status, WNOHANG) == m->pid) {
			char *log = vt_mount_log(m);

			cr_assert_fail("voltfs exited (status %d) before mounting: %s", status,
				       log ? log : "");
		}
		nanosleep(&pause, NULL);
	}
	kill(m->pid, SIGKILL);
	cr_assert_fail("%s did not become a FUSE mount", mnt);
}

void vt_mount_cleanup(struct vt_mount *m)
{
	char *cmd;

	if (!m->mnt)
		return;
	if (asprintf(&cmd, "fusermount3 -uz '%s' 2>/dev/null", m->mnt) > 0) {
		if (system(cmd) != 0)
			kill(m->pid, SIGKILL);
		free(cmd);
	}
	/*
	 * A lazy unmount waits for the last open file: a failed assertion may have
	 * left one open in this very process. Bounded: 5 s, then the daemon dies.
	 */
	for (int i = 0; i < 500 && waitpid(m->pid, NULL, WNOHANG) == 0; i++)
		nanosleep(&(struct timespec){ 0, 10 * 1000 * 1000 }, NULL);
	if (kill(m->pid, 0) == 0) {
		kill(m->pid, SIGKILL);
		waitpid(m->pid, NULL, 0);
	}
	free(m->mnt);
	free(m->log);
	m->mnt = m->log = NULL;
}

int vt_unmount(struct vt_mount *m)
{
	int status = -1;
	char *cmd;

	if (!m->mnt)
		return -1;
	cr_assert(asprintf(&cmd, "fusermount3 -u '%s'", m->mnt) > 0);
	if (system(cmd) != 0) {
		/* A reader still busy: lazy unmount so the test can end. */
		free(cmd);
		cr_assert(asprintf(&cmd, "fusermount3 -uz '%s'", m->mnt) > 0);
		if (system(cmd) != 0)
			cr_log_warn("could not unmount %s", m->mnt);
	}
	free(cmd);
	if (waitpid(m->pid, &status, 0) != m->pid)
		status = -1;
	free(m->mnt);
	free(m->log);
	m->mnt = m->log = NULL;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

char *vt_mount_log(const struct vt_mount *m)
{
	return vt_read_file(m->log, NULL);
}

long long vt_mount_stat(const char *mnt, const char *key)
{
	/* A newline first, so that every line, the first too, starts after one. */
	char buf[8192] = "\n", want[128];
	ssize_t n = getxattr(mnt, "user.volt.stats", buf + 1, sizeof(buf) - 2);
	const char *at;

	cr_assert(n > 0, "user.volt.stats of %s: %s", mnt, n < 0 ? strerror(errno) : "empty");
	buf[n + 1] = '\0';
	snprintf(want, sizeof(want), "\n%s ", key);
	at = strstr(buf, want);
	return at ? strtoll(at + strlen(want), NULL, 10) : -1;
}

int vt_count_entries(const char *dir, bool hidden)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
		    (hidden || e->d_name[0] != '.'))
			n++;
	closedir(d);
	return n;
}

int vt_run(const char *cmd, char **out)
{
	FILE *f = popen(cmd, "r");
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap + 1);
	size_t n;
	int status;

	cr_assert_not_null(f);
	while ((n = fread(buf + len, 1, cap - len, f)) > 0) {
		len += n;
		if (len == cap)
			buf = realloc(buf, (cap *= 2) + 1);
	}
	buf[len] = '\0';
	status = pclose(f);
	if (out)
		*out = buf;
	else
		free(buf);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}
