// SPDX-License-Identifier: MIT
/*
 * Verification on a real mount: what the store holds under an object's name
 * is checked before it is served, what is not a regular file is refused
 * without being opened, and what a verification found is remembered for as
 * long as the very same file (device, inode, size, ctime) is there, and no
 * longer.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "support.h"

static char *dir, *cas, *mnt;
static struct vt_mount vm;

static void teardown(void)
{
	vt_mount_cleanup(&vm);
	vt_rmtree(dir);
	free(dir);
	free(cas);
	free(mnt);
	dir = cas = mnt = NULL;
}

TestSuite(verify, .fini = teardown, .timeout = 120);

enum { A, B, C, BIG, HUGE, N_FILES };
static const char *const files[N_FILES] = { "lib/a.bin", "lib/b.bin", "lib/c.bin", "lib/big.bin",
					    "lib/huge.bin" };
static char hexes[N_FILES][VOLT_HASH_HEX_MAX + 1];
#define FILE_LEN 100000
#define BIG_LEN (4 << 20) /* past VOLTFS_VERIFY_INLINE_MAX: a verifier thread hashes it */
/* A name HUGE's content does not have. */
#define HUGE_NAME "0123456789abcdef0123456789abcdef"

static void fill_random(char *buf, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++) {
		seed = seed * 1103515245u + 12345u;
		buf[i] = (char)(seed >> 16);
	}
}

/*
 * kvm-linux with A, B, C (small), BIG (random bytes) and, when huge_len is
 * not 0, HUGE: a sparse file of huge_len bytes under a name that is not its
 * hash. Mounted with opts.
 */
static void world_make(const char *opts, off_t huge_len)
{
	char *json, *buf = malloc(BIG_LEN), ref[64], *p;
	size_t len;
	int fd;

	dir = vt_tmpdir();
	cr_assert_eq(chmod(dir, 0755), 0);
	cas = vt_join(dir, "cas");
	mnt = vt_join(dir, "mnt");
	vt_cas_init(cas);
	for (int i = A; i <= BIG; i++) {
		len = i == BIG ? BIG_LEN : FILE_LEN;
		fill_random(buf, len, (unsigned)i + 1);
		vt_put_object(cas, buf, len, 0444, hexes[i]);
	}
	free(buf);
	strcpy(hexes[HUGE], HUGE_NAME);
	if (huge_len) {
		cr_assert(asprintf(&p, "%s/objects/%s", cas, HUGE_NAME) > 0);
		fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0444);
		cr_assert(fd >= 0 && ftruncate(fd, huge_len) == 0, "%s", strerror(errno));
		close(fd);
		free(p);
	}
	cr_assert(asprintf(&json,
			   "{\"name\":\"kvm-linux\",\"created_at\":\"2026-01-02T03:04:05Z\","
			   "\"objects\":{\"%s\":\"%s\",\"%s\":\"%s\",\"%s\":\"%s\","
			   "\"%s\":\"%s\",\"%s\":\"%s\"}}",
			   files[A], hexes[A], files[B], hexes[B], files[C], hexes[C], files[BIG],
			   hexes[BIG], files[HUGE], hexes[HUGE]) > 0);
	vt_put_ref(cas, "kvm-linux", json, ref);
	free(json);
	vt_mount(&vm, cas, mnt, opts);
}

/* The mount's path of files[i] (malloc'ed). */
static char *mpath(int i)
{
	char *p;

	cr_assert(asprintf(&p, "%s/kvm-linux/%s", mnt, files[i]) > 0);
	return p;
}

/* The store's path of object hex (malloc'ed). */
static char *opath(const char *hex)
{
	char *p;

	cr_assert(asprintf(&p, "%s/objects/%s", cas, hex) > 0);
	return p;
}

/* Open and read files[i] through the mount: 0, or the errno of the open or read. */
static int read_file(int i)
{
	char *p = mpath(i), buf[65536];
	int fd = open(p, O_RDONLY), err = 0;
	ssize_t n;

	free(p);
	if (fd < 0)
		return errno;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		;
	if (n < 0)
		err = errno;
	close(fd);
	return err;
}

/* Does the daemon's log hold s? */
static bool log_has(const char *s)
{
	char *log = vt_mount_log(&vm);
	bool found = strstr(log, s) != NULL;

	free(log);
	return found;
}

/* Names in objects/ opened since the watch began, each followed by '\n', into out. */
static void opened_names(int ifd, char *out, size_t size)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	size_t len = 0;
	ssize_t n;

	out[0] = '\0';
	while ((n = read(ifd, buf, sizeof(buf))) > 0)
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const void *)p;

			if (ev->len)
				len += (size_t)snprintf(out + len, size - len, "%s\n", ev->name);
			if (len >= size)
				len = size - 1;
			p += sizeof(*ev) + ev->len;
		}
}

/*
 * A FIFO, a device node, a link or a folder put in place of an object after
 * its lookup: the open is refused (EIO) without the daemon opening it (no
 * IN_OPEN on it: an O_PATH descriptor raises none), and the log says what it
 * is, not that its content is wrong.
 */
Test(verify, special_files_refused_unopened)
{
	static const struct {
		mode_t type;
		const char *said;
	} kinds[] = {
		{ S_IFIFO, "is a FIFO, not a regular file" },
		{ S_IFCHR, "is a character device, not a regular file" },
		{ S_IFLNK, "is a symbolic link, not a regular file" },
		{ S_IFDIR, "is a folder, not a regular file" },
	};
	char *p, *o, *good, *objects, names[8192];
	struct stat st;
	int ifd;

	world_make(NULL, 0);
	p = mpath(C);
	objects = vt_join(cas, "objects");
	o = opath(hexes[C]);
	good = opath(hexes[A]);
	cr_assert_eq(stat(p, &st), 0, "%s", strerror(errno)); /* looked up while regular */
	cr_assert_eq(st.st_size, FILE_LEN);
	ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	cr_assert(ifd >= 0);
	cr_assert(inotify_add_watch(ifd, objects, IN_OPEN) >= 0);
	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		cr_assert_eq(unlink(o) == 0 || rmdir(o) == 0, 1);
		if (kinds[k].type == S_IFLNK)
			cr_assert_eq(symlink(good, o), 0);
		else if (kinds[k].type == S_IFDIR)
			cr_assert_eq(mkdir(o, 0755), 0);
		else
			cr_assert_eq(mknod(o, kinds[k].type | 0644, makedev(1, 3)), 0, "%s",
				     strerror(errno));
		cr_expect_eq(read_file(C), EIO, "%s", kinds[k].said);
		opened_names(ifd, names, sizeof(names));
		cr_expect_null(strstr(names, hexes[C]), "the daemon opened what %s", kinds[k].said);
		cr_expect(log_has(kinds[k].said), "the log does not say the object %s",
			  kinds[k].said);
	}
	cr_expect_not(log_has("does not match its name"), "a special file called corrupt");
	cr_expect_eq(vt_mount_stat(mnt, "verifications"), 0, "a special file was hashed");
	close(ifd);
	free(objects);
	free(good);
	free(o);
	free(p);
	cr_assert_eq(vt_unmount(&vm), 0);
}

/*
 * With max_fds=1: read other until it holds the one cached descriptor, so
 * that no other object's is left. The kernel sends a RELEASE after close(2)
 * returns: until it is seen, other gets a descriptor of its own (own_fds).
 */
static void evict_with(int other)
{
	for (int i = 0; i < 400; i++) {
		long own = vt_mount_stat(mnt, "own_fds");

		cr_assert_eq(read_file(other), 0, "%s", files[other]);
		if (vt_mount_stat(mnt, "own_fds") == own)
			return;
		nanosleep(&(struct timespec){ 0, 5 * 1000 * 1000 }, NULL);
	}
	cr_assert_fail("%s never took the cached descriptor", files[other]);
}

/* Flip the first byte of the store file at path, in place (same inode, same size). */
static void flip_in_place(const char *path)
{
	int fd = open(path, O_RDWR);
	char c;

	cr_assert(fd >= 0, "%s: %s", path, strerror(errno));
	cr_assert_eq(pread(fd, &c, 1, 0), 1);
	c ^= 1;
	cr_assert_eq(pwrite(fd, &c, 1, 0), 1);
	close(fd);
}

/* Give path the access and modification times of was (touch -r). */
static void restore_times(const char *path, const struct stat *was)
{
	const struct timespec times[2] = { was->st_atim, was->st_mtim };

	cr_assert_eq(utimensat(AT_FDCWD, path, times, 0), 0, "%s", strerror(errno));
}

/* A copy of the store file at path, first byte flipped, at path.new (malloc'ed). */
static char *flipped_copy(const char *path)
{
	size_t len;
	char *buf = vt_read_file(path, &len), *copy;

	cr_assert_not_null(buf);
	buf[0] ^= 1;
	cr_assert(asprintf(&copy, "%s.new", path) > 0);
	vt_write_file(copy, buf, len, 0444);
	free(buf);
	return copy;
}

/* A was verified, its descriptor evicted and reopened without a hash: the verdict stood. */
static void verified_then_evicted(void)
{
	cr_assert_eq(read_file(A), 0);
	evict_with(B);
	cr_assert_eq(vt_mount_stat(mnt, "verifications"), 2);
	cr_assert_eq(read_file(A), 0);
	cr_assert_eq(vt_mount_stat(mnt, "verifications"), 2, "the same file was hashed again");
	evict_with(B);
}

/* Rewritten in place (same inode, same size) with a new mtime: hashed again, refused. */
Test(verify, rewritten_in_place_with_new_mtime)
{
	char *o;
	struct stat st;

	world_make("max_fds=1", 0);
	o = opath(hexes[A]);
	verified_then_evicted();
	cr_assert_eq(stat(o, &st), 0);
	flip_in_place(o);
	st.st_mtim.tv_sec += 10;
	restore_times(o, &st);
	cr_assert_eq(read_file(A), EIO, "an object changed in place was served");
	cr_assert_eq(vt_mount_stat(mnt, "verifications"), 3);
	free(o);
	cr_assert_eq(vt_unmount(&vm), 0);
}

/*
 * Rewritten in place at the same size, its mtime put back (touch -r): the
 * inode, size and mtime are what was verified, only ctime tells. Hashed
 * again, refused.
 */
Test(verify, rewritten_in_place_with_mtime_restored)
{
	char *o;
	struct stat was, now;

	world_make("max_fds=1", 0);
	o = opath(hexes[A]);
	verified_then_evicted();
	cr_assert_eq(stat(o, &was), 0);
	flip_in_place(o);
	restore_times(o, &was);
	cr_assert_eq(stat(o, &now), 0);
	cr_assert(now.st_ino == was.st_ino && now.st_size == was.st_size &&
		  now.st_mtim.tv_sec == was.st_mtim.tv_sec &&
		  now.st_mtim.tv_nsec == was.st_mtim.tv_nsec);
	cr_assert_eq(read_file(A), EIO, "an object rewritten with touch -r was served unchecked");
	cr_assert_eq(vt_mount_stat(mnt, "verifications"), 3);
	free(o);
	cr_assert_eq(vt_unmount(&vm), 0);
}

/* Replaced by a copy of the same size and mtime (a new inode): hashed again, refused. */
Test(verify, replaced_by_same_size_same_mtime_copy)
{
	char *o, *copy;
	struct stat was;

	world_make("max_fds=1", 0);
	o = opath(hexes[A]);
	verified_then_evicted();
	cr_assert_eq(stat(o, &was), 0);
	copy = flipped_copy(o);
	restore_times(copy, &was);
	cr_assert_eq(rename(copy, o), 0);
	cr_assert_eq(read_file(A), EIO, "a replaced object was served unchecked");
	cr_assert_eq(vt_mount_stat(mnt, "verifications"), 3);
	free(copy);
	free(o);
	cr_assert_eq(vt_unmount(&vm), 0);
}

/*
 * Only the inode differs: a corrupt copy with the same size, mtime and even
 * ctime (both changed in the same clock tick) is bind-mounted over the
 * object's name. Hashed again, refused.
 */
Test(verify, another_inode_with_same_size_and_times)
{
	char *o, *copy;
	struct stat was, st;
	bool same = false;

	if (geteuid() != 0)
		cr_skip_test("needs root for a bind mount");
	world_make("max_fds=1", 0);
	o = opath(hexes[A]);
	cr_assert_eq(stat(o, &was), 0);
	copy = flipped_copy(o);
	restore_times(copy, &was);
	/* Two changes in one tick of the file system's clock get one ctime (bounded tries). */
	for (int i = 0; i < 1000 && !same; i++) {
		cr_assert_eq(chmod(o, 0444), 0);
		cr_assert_eq(chmod(copy, 0444), 0);
		cr_assert_eq(stat(o, &was), 0);
		cr_assert_eq(stat(copy, &st), 0);
		same = st.st_ctim.tv_sec == was.st_ctim.tv_sec &&
		       st.st_ctim.tv_nsec == was.st_ctim.tv_nsec;
	}
	cr_assert(same, "never one ctime for two files");
	cr_assert(st.st_dev == was.st_dev && st.st_ino != was.st_ino && st.st_size == was.st_size &&
		  st.st_mtim.tv_sec == was.st_mtim.tv_sec &&
		  st.st_mtim.tv_nsec == was.st_mtim.tv_nsec);
	verified_then_evicted();
	cr_assert_eq(mount(copy, o, NULL, MS_BIND, NULL), 0, "bind mount: %s", strerror(errno));
	cr_expect_eq(read_file(A), EIO, "another inode was served as the one verified");
	cr_expect_eq(vt_mount_stat(mnt, "verifications"), 3);
	cr_assert_eq(umount(o), 0);
	free(copy);
	free(o);
	cr_assert_eq(vt_unmount(&vm), 0);
}

/*
 * The size the kernel was told at lookup must stay true: an object whose
 * store file changed size since is refused before anything is hashed, and
 * the log says so.
 */
Test(verify, size_changed_since_lookup)
{
	char *p, *o;
	struct stat st;
	int fd;

	world_make(NULL, 0);
	p = mpath(A);
	o = opath(hexes[A]);
	cr_assert_eq(stat(p, &st), 0);
	cr_assert_eq(st.st_size, FILE_LEN);
	fd = open(o, O_WRONLY | O_APPEND);
	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, "x", 1), 1);
	close(fd);
	cr_assert_eq(read_file(A), EIO, "an object of another size was served");
	cr_expect(log_has("changed in the store since it was looked up"));
	cr_expect_eq(vt_mount_stat(mnt, "verifications"), 0, "hashed though its size tells");
	free(o);
	free(p);
	cr_assert_eq(vt_unmount(&vm), 0);
}

/* Fork a child that becomes nobody for good and exits with fn()'s status; its pid. */
static pid_t spawn_nobody(int (*fn)(void))
{
	struct passwd *pw = getpwnam("nobody");
	pid_t pid;

	cr_assert_not_null(pw);
	pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		if (setgroups(0, NULL) < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0 ||
		    setuid(0) == 0)
			_exit(100);
		_exit(fn());
	}
	return pid;
}

/* nobody opens the corrupt HUGE three times: 0 if each open was refused (EIO). */
static int open_huge_thrice(void)
{
	char *p = mpath(HUGE);

	for (int i = 0; i < 3; i++) {
		int fd = open(p, O_RDONLY);

		if (fd >= 0)
			return 1;
		if (errno != EIO)
			return 2;
	}
	return 0;
}

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

#define ATTACKERS 16
#define HUGE_LEN (2ll << 30)

/*
 * Hashing as a denial of service, as nobody on a shared mount: 16 processes
 * open a 2 GiB object whose content does not match its name, three times
 * each, all at once. It is hashed once (one verification at a time per
 * object, and the failure remembered), every open is refused, and while the
 * hash runs root's open and read of other objects, a small one and one that
 * a verifier hashes, stays fast (a generous bound: the machine is shared).
 */
Test(verify, corrupt_huge_object_hashed_once_others_stay_fast)
{
	pid_t pids[ATTACKERS];
	double t0, took;
	int status;
	long failures;

	if (geteuid() != 0 || !getpwnam("nobody"))
		cr_skip_test("needs root and a user nobody");
	world_make("allow_other,default_permissions", HUGE_LEN);
	for (int i = 0; i < ATTACKERS; i++)
		pids[i] = spawn_nobody(open_huge_thrice);
	/*
	 * The hash has begun (bounded wait: each poll is a request of root's,
	 * timed too, since it waits for a worker like any other)...
	 */
	t0 = now_s();
	for (int i = 0; i < 2000 && vt_mount_stat(mnt, "verifications") == 0; i++)
		nanosleep(&(struct timespec){ 0, 5 * 1000 * 1000 }, NULL);
	cr_assert(vt_mount_stat(mnt, "verifications") >= 1, "the attack never reached a "
							    "verification");
	cr_assert_eq(vt_mount_stat(mnt, "verifications"), 1, "one object hashed %lld times at once",
		     vt_mount_stat(mnt, "verifications"));
	/* ...and another user's requests, opens and reads keep their speed meanwhile. */
	cr_assert_eq(read_file(B), 0);
	cr_assert_eq(read_file(BIG), 0);
	took = now_s() - t0;
	failures = vt_mount_stat(mnt, "verify_failures");
	cr_expect(took < 2.0, "root's requests took %.2f s during the attack", took);
	cr_expect_eq(failures, 0, "the huge hash ended before root's reads: no overlap to measure");
	for (int i = 0; i < ATTACKERS; i++) {
		cr_assert_eq(waitpid(pids[i], &status, 0), pids[i]);
		cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0,
			  "attacker %d: status %d (1: served, 2: not EIO, 100: not nobody)", i,
			  WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	}
	/* 48 opens of HUGE, one hash; B and BIG one each. */
	cr_expect_eq(vt_mount_stat(mnt, "verify_failures"), 1,
		     "the corrupt object was hashed again");
	cr_expect_eq(vt_mount_stat(mnt, "verifications"), 3);
	/* Remembered: refused at once, without a hash. */
	cr_expect_eq(read_file(HUGE), EIO);
	cr_expect_eq(vt_mount_stat(mnt, "verifications"), 3, "a known-bad object was hashed again");
	cr_assert_eq(vt_unmount(&vm), 0);
}
