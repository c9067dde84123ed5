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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
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

TestSuite(verify, .fini = teardown, .timeout = 120);

enum { A, B, C, N_FILES };
static const char *const files[N_FILES] = { "lib/a.bin", "lib/b.bin", "lib/c.bin" };
static char hexes[N_FILES][VOLT_HASH_HEX_MAX + 1];
#define FILE_LEN 100000

static void fill_random(char *buf, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++) {
		seed = seed * 1103515245u + 12345u;
		buf[i] = (char)(seed >> 16);
	}
}

/* kvm-linux with files[] (random bytes), mounted with opts. */
static void world_make(const char *opts)
{
	char *json, *buf = malloc(FILE_LEN), ref[64];

	dir = vt_tmpdir();
	cr_assert_eq(chmod(dir, 0755), 0);
	cas = vt_join(dir, "cas");
	mnt = vt_join(dir, "mnt");
	vt_cas_init(cas);
	for (int i = 0; i < N_FILES; i++) {
		fill_random(buf, FILE_LEN, (unsigned)i + 1);
		vt_put_object(cas, buf, FILE_LEN, 0444, hexes[i]);
	}
	free(buf);
	cr_assert(asprintf(&json,
			   "{\"name\":\"kvm-linux\",\"created_at\":\"2026-01-02T03:04:05Z\","
			   "\"objects\":{\"%s\":\"%s\",\"%s\":\"%s\",\"%s\":\"%s\"}}",
			   files[A], hexes[A], files[B], hexes[B], files[C], hexes[C]) > 0);
	vt_put_ref(cas, "kvm-linux", json, ref);
	free(json);
	vt_mount(&mount, cas, mnt, opts);
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

/* A counter of user.volt.stats. */
static long stat_value(const char *key)
{
	char buf[4096], *at;
	ssize_t n = getxattr(mnt, "user.volt.stats", buf, sizeof(buf) - 1);

	cr_assert(n > 0, "user.volt.stats: %s", strerror(errno));
	buf[n] = '\0';
	at = strstr(buf, key);
	cr_assert_not_null(at, "no %s in\n%s", key, buf);
	return strtol(at + strlen(key) + 1, NULL, 10);
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
	char *log = vt_mount_log(&mount);
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

	world_make(NULL);
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
	cr_expect_eq(stat_value("verifications"), 0, "a special file was hashed");
	close(ifd);
	free(objects);
	free(good);
	free(o);
	free(p);
	cr_assert_eq(vt_unmount(&mount), 0);
}
