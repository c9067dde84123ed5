// SPDX-License-Identifier: MIT
/*
 * FUSE passthrough on a real mount: the kernel reads each verified object
 * from the store itself, and user.volt.stats proves its reads never reached
 * the daemon. -o nopassthrough, and a daemon without CAP_SYS_ADMIN in the
 * initial user namespace, fall back to the daemon's own path with the same
 * bytes. Many threads open one object while builds change; loops pass
 * max_fds; a corrupt object is refused before any backing id is made.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "support.h"

#define FUSE_SUPER_MAGIC 0x65735546
#define N_SMALL 40
#define BIG_LEN (3u * 1024 * 1024 + 123) /* pages and a tail */

/* The objects of the kvm-linux build, in memory, to compare with what the mount serves. */
struct object {
	char path[64];
	char *buf;
	size_t len;
	char hex[VOLT_HASH_HEX_MAX + 1];
};

static char *dir, *cas, *mnt;
static struct vt_mount mount;
static struct object objs[N_SMALL + 3]; /* empty, text, big, small... */
static int n_objs;
static unsigned builds; /* created_at seconds of the next ref */
static pid_t ns_pid;	/* a daemon in a user namespace of its own, or 0 */

static void teardown(void)
{
	if (ns_pid > 0) {
		kill(ns_pid, SIGKILL);
		waitpid(ns_pid, NULL, 0);
		ns_pid = 0;
	}
	vt_mount_cleanup(&mount);
	vt_rmtree(dir);
	free(dir);
	free(cas);
	free(mnt);
	dir = cas = mnt = NULL;
	for (int i = 0; i < n_objs; i++)
		free(objs[i].buf);
	n_objs = 0;
}

TestSuite(passthrough, .fini = teardown, .timeout = 240);

static void fill_random(char *buf, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++) {
		seed = seed * 1103515245u + 12345u;
		buf[i] = (char)(seed >> 16);
	}
}

static void add_object(const char *path, size_t len, unsigned seed)
{
	struct object *o = &objs[n_objs++];

	snprintf(o->path, sizeof(o->path), "%s", path);
	o->len = len;
	o->buf = malloc(len ? len : 1);
	fill_random(o->buf, len, seed);
	vt_put_object(cas, o->buf, len, 0444, o->hex);
}

/* A new kvm-linux build naming every object, and extra (a path or NULL) for a new tree. */
static void put_build(const char *extra, const char *extra_hex)
{
	char *json, *more, ref[64];

	cr_assert(asprintf(&json,
			   "{\"name\":\"kvm-linux\",\"created_at\":\"2026-01-02T03:%02u:%02uZ\","
			   "\"objects\":{",
			   builds / 60 % 60, builds % 60) > 0);
	builds++;
	for (int i = 0; i < n_objs; i++) {
		cr_assert(asprintf(&more, "%s%s\"%s\":\"%s\"", json, i ? "," : "", objs[i].path,
				   objs[i].hex) > 0);
		free(json);
		json = more;
	}
	if (extra) {
		cr_assert(asprintf(&more, "%s,\"%s\":\"%s\"", json, extra, extra_hex) > 0);
		free(json);
		json = more;
	}
	cr_assert(asprintf(&more, "%s}}", json) > 0);
	free(json);
	vt_put_ref(cas, "kvm-linux", more, ref);
	free(more);
}

/* The store: an empty object, a text, a big one and N_SMALL small ones, in one build. */
static void world_make(void)
{
	dir = vt_tmpdir();
	cas = vt_join(dir, "cas");
	mnt = vt_join(dir, "mnt");
	vt_cas_init(cas);
	add_object("lib/empty", 0, 1);
	add_object("bin/qemu-system-x86_64", 4000, 2);
	add_object("lib/big.bin", BIG_LEN, 3);
	for (int i = 0; i < N_SMALL; i++) {
		char path[64];

		snprintf(path, sizeof(path), "firmware/f%d.bin", i);
		add_object(path, 1000 + 4096 * (size_t)i, 10 + (unsigned)i);
	}
	put_build(NULL, NULL);
}

static char *mpath(const char *root, const char *rel)
{
	char *p;

	cr_assert(asprintf(&p, "%s/kvm-linux/%s", root, rel) > 0);
	return p;
}

/* Read o through the mount at root with read(2): its bytes, exactly. */
static void expect_bytes(const char *root, const struct object *o)
{
	char *p = mpath(root, o->path);
	size_t len;
	char *body = vt_read_file(p, &len);

	cr_assert_not_null(body, "%s: %s", p, strerror(errno));
	cr_assert_eq(len, o->len, "%s: %zu bytes, not %zu", p, len, o->len);
	cr_assert(memcmp(body, o->buf, len) == 0, "%s: other bytes", p);
	free(body);
	free(p);
}

/* The same through mmap, every page touched. */
static void expect_mapped(const char *root, const struct object *o)
{
	char *p = mpath(root, o->path);
	int fd = open(p, O_RDONLY);
	void *map;

	cr_assert(fd >= 0, "%s: %s", p, strerror(errno));
	map = mmap(NULL, o->len, PROT_READ, MAP_PRIVATE, fd, 0);
	cr_assert(map != MAP_FAILED, "mmap %s: %s", p, strerror(errno));
	cr_assert(memcmp(map, o->buf, o->len) == 0, "%s: other bytes mapped", p);
	munmap(map, o->len);
	close(fd);
	free(p);
}

static void expect_all(const char *root)
{
	for (int i = 0; i < n_objs; i++)
		expect_bytes(root, &objs[i]);
}

/* The passthrough-only checks: skipped, saying why, where this build or kernel has none. */
static void need_passthrough(void)
{
	char *log;

	if (!VOLTFS_HAVE_PASSTHROUGH)
		cr_skip_test("voltfs was built against a libfuse older than 3.17: no passthrough");
	if (vt_mount_stat(mnt, "passthrough_opens") > 0)
		return;
	log = vt_mount_log(&mount);
	if (log && strstr(log, "the kernel offers no passthrough")) {
		free(log);
		cr_skip_test("this kernel offers no FUSE passthrough");
	}
	free(log);
}

Test(passthrough, reads_never_reach_the_daemon)
{
	char *args;
	long reads;

	world_make();
	vt_mount(&mount, cas, mnt, NULL);
	expect_bytes(mnt, &objs[1]);
	need_passthrough();
	expect_all(mnt);
	expect_mapped(mnt, &objs[2]);
	/* One open per object, one more per read above: each one the kernel's own. */
	cr_assert_eq(vt_mount_stat(mnt, "passthrough_opens"), n_objs + 2);
	cr_assert_eq(vt_mount_stat(mnt, "fallback_opens"), 0);
	cr_assert_eq(vt_mount_stat(mnt, "reads"), 0, "an object's read reached the daemon");
	cr_assert_eq(vt_mount_stat(mnt, "bytes_served"), 0);
	/* A synthetic file is still the daemon's: the counter counts. */
	args = mpath(mnt, "args");
	reads = vt_mount_stat(mnt, "reads");
	free(vt_read_file(args, NULL));
	cr_assert_gt(vt_mount_stat(mnt, "reads"), reads, "the read counter counts nothing");
	free(args);
	cr_assert_eq(vt_unmount(&mount), 0);
}

Test(passthrough, nopassthrough_serves_from_the_daemon)
{
	world_make();
	vt_mount(&mount, cas, mnt, "nopassthrough");
	expect_all(mnt);
	expect_mapped(mnt, &objs[2]);
	cr_assert_eq(vt_mount_stat(mnt, "passthrough_opens"), 0);
	cr_assert_eq(vt_mount_stat(mnt, "fallback_opens"), n_objs + 1);
	cr_assert_gt(vt_mount_stat(mnt, "reads"), 0);
	cr_assert_geq(vt_mount_stat(mnt, "bytes_served"), BIG_LEN);
	cr_assert_eq(vt_unmount(&mount), 0);
}

static bool is_fuse_mount(const char *path)
{
	struct statfs sf;

	return statfs(path, &sf) == 0 && sf.f_type == FUSE_SUPER_MAGIC;
}

/*
 * The daemon in a user and mount namespace of its own: root there, with
 * CAP_SYS_ADMIN in that namespace only, which FUSE_DEV_IOC_BACKING_OPEN does
 * not take. Its mount is reached through /proc/PID/root.
 */
Test(passthrough, without_cap_sys_admin_the_mount_falls_back)
{
	struct timespec pause = { 0, 5 * 1000 * 1000 };
	char *root = NULL, *log, *line;
	int status, fd;

	if (vt_run("unshare -Urm true 2>/dev/null", NULL) != 0)
		cr_skip_test("no user namespaces here (unshare -Urm)");
	world_make();
	mkdir(mnt, 0755);
	cr_assert(asprintf(&log, "%s.log", mnt) > 0);
	ns_pid = fork();
	cr_assert(ns_pid >= 0);
	if (ns_pid == 0) {
		fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(fd, 1);
		dup2(fd, 2);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		/* LeakSanitizer cannot list the threads of a process in another user namespace. */
		setenv("ASAN_OPTIONS", "detect_leaks=0", 1);
		execlp("unshare", "unshare", "-Urm", "--propagation", "private", VOLTFS_BIN, "-f",
		       cas, mnt, (char *)NULL);
		_exit(127);
	}
	cr_assert(asprintf(&root, "/proc/%d/root%s", (int)ns_pid, mnt) > 0);
	for (int i = 0; i < 2000 && !is_fuse_mount(root); i++) {
		cr_assert_eq(waitpid(ns_pid, &status, WNOHANG), 0, "voltfs exited before mounting");
		nanosleep(&pause, NULL);
	}
	cr_assert(is_fuse_mount(root), "%s did not become a FUSE mount", root);
	cr_assert(!is_fuse_mount(mnt), "the mount leaked out of its namespace");
	expect_all(root);
	expect_mapped(root, &objs[2]);
	expect_all(root);
	cr_assert_eq(vt_mount_stat(root, "passthrough_opens"), 0);
	cr_assert_eq(vt_mount_stat(root, "fallback_opens"), 2 * n_objs + 1);
	cr_assert_gt(vt_mount_stat(root, "reads"), 0);
	/* Killed and reaped before its log is read: every line is in. */
	cr_assert_eq(kill(ns_pid, SIGTERM), 0);
	cr_assert_eq(waitpid(ns_pid, &status, 0), ns_pid);
	ns_pid = 0;
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %d", status);
	line = vt_read_file(log, NULL);
	cr_assert_not_null(line);
	if (VOLTFS_HAVE_PASSTHROUGH && !strstr(line, "the kernel offers no passthrough")) {
		/* Said once, for the whole mount, not once per object. */
		const char *at = strstr(line, "passthrough refused (Operation not permitted");

		cr_assert_not_null(at, "no fallback line: %s", line);
		cr_assert_null(strstr(at + 1, "passthrough refused"), "said twice: %s", line);
		cr_assert_not_null(strstr(at, "every object is served by the daemon"), "%s", line);
	}
	free(line);
	free(log);
	free(root);
}

struct opener {
	pthread_t thread;
	int rounds, failures;
	char why[256];
};

static bool stop_building;

/* Open, read a slice and the end, close; rounds times. */
static void *open_loop(void *arg)
{
	struct opener *op = arg;
	const struct object *o = &objs[2];
	char *p = mpath(mnt, o->path), buf[8192];

	for (int i = 0; i < op->rounds && !op->failures; i++) {
		int fd = open(p, O_RDONLY);
		off_t off = (off_t)((size_t)i * 65537 % (o->len - sizeof(buf)));
		ssize_t n;

		if (fd < 0) {
			op->failures++;
			snprintf(op->why, sizeof(op->why), "open: %s", strerror(errno));
			break;
		}
		n = pread(fd, buf, sizeof(buf), off);
		if (n != (ssize_t)sizeof(buf) || memcmp(buf, o->buf + off, sizeof(buf)) != 0) {
			op->failures++;
			snprintf(op->why, sizeof(op->why), "pread at %lld: %zd (%s)",
				 (long long)off, n, n < 0 ? strerror(errno) : "other bytes");
		}
		n = pread(fd, buf, sizeof(buf), (off_t)o->len - 100);
		if (n != 100 || memcmp(buf, o->buf + o->len - 100, 100) != 0) {
			op->failures++;
			snprintf(op->why, sizeof(op->why), "the tail: %zd", n);
		}
		close(fd);
	}
	free(p);
	return NULL;
}

/* New builds of the profile, each with one more object, while the openers run. */
static void *build_loop(void *arg)
{
	char path[64], hex[VOLT_HASH_HEX_MAX + 1], body[64];

	(void)arg;
	for (int i = 0; i < 40 && !__atomic_load_n(&stop_building, __ATOMIC_RELAXED); i++) {
		snprintf(body, sizeof(body), "build %d\n", i);
		vt_put_object(cas, body, strlen(body), 0444, hex);
		snprintf(path, sizeof(path), "lib/extra%d", i);
		put_build(path, hex);
	}
	return NULL;
}

Test(passthrough, concurrent_opens_of_one_object_while_builds_change)
{
	enum { THREADS = 6, ROUNDS = 150 };
	struct opener op[THREADS] = { 0 };
	pthread_t builder;
	long pass0, fall0;

	world_make();
	vt_mount(&mount, cas, mnt, NULL);
	expect_bytes(mnt, &objs[2]);
	need_passthrough();
	pass0 = vt_mount_stat(mnt, "passthrough_opens");
	fall0 = vt_mount_stat(mnt, "fallback_opens");
	cr_assert_eq(pthread_create(&builder, NULL, build_loop, NULL), 0);
	for (int i = 0; i < THREADS; i++) {
		op[i].rounds = ROUNDS;
		cr_assert_eq(pthread_create(&op[i].thread, NULL, open_loop, &op[i]), 0);
	}
	for (int i = 0; i < THREADS; i++)
		pthread_join(op[i].thread, NULL);
	__atomic_store_n(&stop_building, true, __ATOMIC_RELAXED);
	pthread_join(builder, NULL);
	for (int i = 0; i < THREADS; i++)
		cr_assert_eq(op[i].failures, 0, "thread %d: %s", i, op[i].why);
	/* Every open of the inode alike: the kernel's, none by the daemon. */
	cr_assert_eq(vt_mount_stat(mnt, "passthrough_opens") - pass0, THREADS * ROUNDS);
	cr_assert_eq(vt_mount_stat(mnt, "fallback_opens"), fall0);
	cr_assert_eq(vt_mount_stat(mnt, "reads"), 0, "an object's read reached the daemon");
	/* The last build is served, and the object is still the kernel's after every close. */
	expect_bytes(mnt, &objs[2]);
	cr_assert_eq(vt_unmount(&mount), 0);
}

Test(passthrough, open_read_close_loops_past_max_fds)
{
	enum { HELD = 36, ROUNDS = 20 }; /* past the table of open objects' first size too */
	int held[HELD];
	long opens = 0;

	world_make();
	vt_mount(&mount, cas, mnt, "max_fds=4");
	expect_bytes(mnt, &objs[3]);
	opens++;
	need_passthrough();
	for (int r = 0; r < ROUNDS; r++) {
		/* More objects open at once than descriptors cached: some get their own. */
		for (int i = 0; i < HELD; i++) {
			char *p = mpath(mnt, objs[3 + i].path);

			held[i] = open(p, O_RDONLY);
			cr_assert(held[i] >= 0, "round %d, %s: %s", r, p, strerror(errno));
			opens++;
			free(p);
		}
		/* While they are open, every object read again: shared ids and fresh ones. */
		for (int i = 0; i < n_objs; i++, opens++)
			expect_bytes(mnt, &objs[i]);
		/* Half of them closed: the others, still open, are found again, not made anew. */
		for (int i = 0; i < HELD; i += 2)
			close(held[i]);
		for (int i = 0; i < n_objs; i++, opens++)
			expect_bytes(mnt, &objs[i]);
		for (int i = 1; i < HELD; i += 2)
			close(held[i]);
	}
	cr_assert_geq(vt_mount_stat(mnt, "own_fds"), 1, "max_fds was never passed");
	cr_assert_eq(vt_mount_stat(mnt, "passthrough_opens"), opens);
	cr_assert_eq(vt_mount_stat(mnt, "fallback_opens"), 0);
	cr_assert_eq(vt_mount_stat(mnt, "reads"), 0);
	cr_assert_eq(vt_unmount(&mount), 0);
}

Test(passthrough, a_corrupt_object_is_refused_before_passthrough)
{
	char *o, *p;
	int fd;

	world_make();
	/* The same size, one byte other: only the hash can tell. */
	cr_assert(asprintf(&o, "%s/objects/%s", cas, objs[1].hex) > 0);
	fd = open(o, O_RDWR);
	cr_assert(fd >= 0, "%s: %s", o, strerror(errno));
	cr_assert_eq(pwrite(fd, objs[1].buf[7] == 'x' ? "y" : "x", 1, 7), 1);
	close(fd);
	vt_mount(&mount, cas, mnt, NULL);
	p = mpath(mnt, objs[1].path);
	for (int i = 0; i < 3; i++) {
		errno = 0;
		cr_assert_lt(open(p, O_RDONLY), 0, "a corrupt object was opened");
		cr_assert_eq(errno, EIO, "%s", strerror(errno));
	}
	cr_assert_geq(vt_mount_stat(mnt, "verify_failures"), 1);
	cr_assert_eq(vt_mount_stat(mnt, "passthrough_opens"), 0,
		     "a corrupt object got a backing id");
	cr_assert_eq(vt_mount_stat(mnt, "fallback_opens"), 0);
	/* Its neighbours are served as ever. */
	expect_bytes(mnt, &objs[2]);
	need_passthrough();
	cr_assert_eq(vt_mount_stat(mnt, "passthrough_opens"), 1);
	free(p);
	free(o);
	cr_assert_eq(vt_unmount(&mount), 0);
}
