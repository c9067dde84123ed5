// SPDX-License-Identifier: MIT
/*
 * Tests for core/cas.c: object names (known XXH3-128 vectors as `xxhsum -H2`
 * prints them, what parses and what does not), opening a store, refusing
 * anything in objects/ that is not a regular file, and atomic writes.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "support.h"
#include "voltfs/cas.h"

/*
 * Under VOLTFS_SANITIZE, ask LeakSanitizer after each test: Criterion ignores
 * a worker's exit code once its test has passed, so a leak must crash it.
 */
int __lsan_do_recoverable_leak_check(void) __attribute__((weak));

static void check_leaks(void)
{
	if (__lsan_do_recoverable_leak_check && __lsan_do_recoverable_leak_check()) {
		fprintf(stderr, "LeakSanitizer: this test leaks (report above)\n");
		abort();
	}
}

TestSuite(cas_hash, .fini = check_leaks);
TestSuite(cas_open, .fini = check_leaks);
TestSuite(cas_object, .fini = check_leaks);
TestSuite(cas_put, .fini = check_leaks);

/* `printf '' | xxhsum -H2` and `printf 'hello\n' | xxhsum -H2` (xxhsum 0.8). */
#define XXH128_EMPTY "99aa06d3014798d86001c324468d497f"
#define XXH128_HELLO "6bba86c7e069f56d5a10b435f1c8e49c"

static char *tmp;

static void setup(void)
{
	tmp = vt_tmpdir();
}

static void teardown(void)
{
	vt_rmtree(tmp);
	free(tmp);
	tmp = NULL;
}

/* Open descriptors of this process, to prove a failing call leaves none behind. */
static int count_fds(void)
{
	DIR *dir = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	cr_assert_not_null(dir);
	while ((de = readdir(dir)))
		if (de->d_name[0] != '.')
			n++;
	closedir(dir);
	return n;
}

/* Names in a folder other than "." and "..", as one space-separated string. */
static char *list_dir(const char *path, int *n_out)
{
	DIR *dir = opendir(path);
	struct dirent *de;
	char *all = calloc(1, 1);
	size_t len = 0;
	int n = 0;

	cr_assert_not_null(dir, "opendir %s: %s", path, strerror(errno));
	while ((de = readdir(dir))) {
		size_t l = strlen(de->d_name);

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		all = realloc(all, len + l + 2);
		memcpy(all + len, de->d_name, l);
		all[len + l] = ' ';
		all[len + l + 1] = '\0';
		len += l + 1;
		n++;
	}
	closedir(dir);
	*n_out = n;
	return all;
}

static void hash_of(const char *hex, struct volt_hash *h)
{
	cr_assert_eq(volt_hash_parse(h, hex, strlen(hex)), 0, "parse %s", hex);
}

static void expect_hex(const struct volt_hash *h, const char *want)
{
	char hex[VOLT_HASH_HEX_MAX + 1];

	volt_hash_format(h, hex);
	cr_expect_str_eq(hex, want);
}

/* Known vectors */

Test(cas_hash, xxh128_matches_xxhsum)
{
	struct volt_hash h;

	volt_hash_xxh128(&h, "", 0);
	cr_expect_eq(h.len, VOLT_HASH_XXH128_LEN);
	expect_hex(&h, XXH128_EMPTY);
	volt_hash_xxh128(&h, "hello\n", 6);
	cr_expect_eq(h.len, VOLT_HASH_XXH128_LEN);
	expect_hex(&h, XXH128_HELLO);
}

Test(cas_hash, xxh128_fd_matches_xxhsum, .init = setup, .fini = teardown)
{
	char *path = vt_join(tmp, "hello");
	struct volt_hash h;
	uint64_t size = 99;
	int fd;

	vt_write_str(path, "hello\n");
	fd = open(path, O_RDONLY);
	cr_assert(fd >= 0);
	/* From offset 0 whatever the file position. */
	cr_assert_eq(lseek(fd, 3, SEEK_SET), 3);
	cr_assert_eq(volt_hash_xxh128_fd(&h, fd, &size), 0);
	expect_hex(&h, XXH128_HELLO);
	cr_expect_eq(size, 6);
	close(fd);
	free(path);
}

/* 3 MiB crosses the 1 MiB read chunk three times: streaming equals one-shot. */
Test(cas_hash, xxh128_fd_equals_buffer_hash_across_chunks, .init = setup, .fini = teardown)
{
	size_t len = 3u << 20;
	char *buf = malloc(len), *path = vt_join(tmp, "big");
	struct volt_hash want, got;
	uint64_t size = 0;
	int fd;

	for (size_t i = 0; i < len; i++)
		buf[i] = (char)(i * 2654435761u >> 13);
	vt_write_file(path, buf, len, 0644);
	volt_hash_xxh128(&want, buf, len);
	fd = open(path, O_RDONLY);
	cr_assert(fd >= 0);
	cr_assert_eq(volt_hash_xxh128_fd(&got, fd, &size), 0);
	cr_expect(volt_hash_equal(&got, &want));
	cr_expect_eq(size, len);
	/* The size pointer may be NULL. */
	cr_assert_eq(volt_hash_xxh128_fd(&got, fd, NULL), 0);
	cr_expect(volt_hash_equal(&got, &want));
	close(fd);
	free(buf);
	free(path);
}

Test(cas_hash, xxh128_fd_bad_descriptor)
{
	struct volt_hash h;

	cr_expect_eq(volt_hash_xxh128_fd(&h, -1, NULL), -EBADF);
}

/* Object names */

Test(cas_hash, parse_accepts_32_and_64_lowercase_hex)
{
	static const char sha[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85"
				  "5";
	struct volt_hash h;

	cr_assert_eq(volt_hash_parse(&h, XXH128_HELLO, 32), 0);
	cr_expect_eq(h.len, 16);
	cr_expect_eq(h.bytes[0], 0x6b);
	cr_expect_eq(h.bytes[15], 0x9c);
	cr_assert_eq(volt_hash_parse(&h, sha, 64), 0);
	cr_expect_eq(h.len, 32);
	cr_expect_eq(h.bytes[0], 0xe3);
	cr_expect_eq(h.bytes[31], 0x55);
	cr_assert_eq(volt_hash_parse(&h, "0123456789abcdef0123456789abcdef", 32), 0);
	cr_assert_eq(volt_hash_parse(&h, "ffffffffffffffffffffffffffffffff", 32), 0);
}

/* Only len bytes are read: an object name inside a longer string. */
Test(cas_hash, parse_reads_exactly_len_bytes)
{
	struct volt_hash h;

	cr_assert_eq(volt_hash_parse(&h, XXH128_HELLO "/trailing", 32), 0);
	expect_hex(&h, XXH128_HELLO);
}

Test(cas_hash, parse_refuses_what_is_not_an_object_name)
{
	static const char *const bad[] = {
		"6BBA86C7E069F56D5A10B435F1C8E49C",  /* uppercase */
		"6bba86c7e069f56d5a10b435f1c8e49C",  /* one uppercase digit */
		"6bba86c7e069f56d5a10b435f1c8e49",   /* 31 */
		"6bba86c7e069f56d5a10b435f1c8e49c0", /* 33 */
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85",    /* 63 */
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b8550",  /* 65 */
		"6bba86c7e069f56d5a10b435f1c8e4",				      /* 30 */
		"6bba86c7e069f56d5a10b435f1c8e49c00",				      /* 34 */
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b8",     /* 62 */
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85500", /* 66 */
		"6bba86c7e069f56d5a10b435f1c8e49c6bba86c7e069f56d5a10b435f1c8e49c00", /* 66 */
		"6b",
		"6bba86c7e069f56d5a10b435f1c8e49g", /* non-hex */
		"6bba86c7e069f56d5a10b435f1c8e4 c", /* space */
		"6bba86c7e069f56d/a10b435f1c8e49c", /* slash */
		"../x",
		"..",
		"",
		"0x6bba86c7e069f56d5a10b435f1c8e4", /* 32 chars with a prefix */
		"6bba86c7e069f56d5a10b435f1c8e4-9",
	};
	struct volt_hash h;

	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		cr_expect_eq(volt_hash_parse(&h, bad[i], strlen(bad[i])), -EINVAL, "'%s'", bad[i]);
}

/* A NUL inside the len bytes is not hex either. */
Test(cas_hash, parse_refuses_embedded_nul)
{
	struct volt_hash h;

	cr_expect_eq(volt_hash_parse(&h, "6bba86c7e069f56d\0a10b435f1c8e49c", 32), -EINVAL);
}

Test(cas_hash, format_round_trip)
{
	static const char *const names[] = {
		XXH128_EMPTY,
		XXH128_HELLO,
		"00000000000000000000000000000000",
		"0123456789abcdeffedcba9876543210",
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++) {
		struct volt_hash h, again;
		char hex[VOLT_HASH_HEX_MAX + 1];

		memset(hex, 'x', sizeof(hex));
		hash_of(names[i], &h);
		volt_hash_format(&h, hex);
		cr_expect_str_eq(hex, names[i]);
		hash_of(hex, &again);
		cr_expect(volt_hash_equal(&h, &again), "%s", names[i]);
	}
}

Test(cas_hash, equal_compares_length_and_bytes)
{
	struct volt_hash a, b;

	hash_of(XXH128_EMPTY, &a);
	hash_of(XXH128_HELLO, &b);
	cr_expect_not(volt_hash_equal(&a, &b));
	hash_of("99aa06d3014798d86001c324468d497f99aa06d3014798d86001c324468d497f", &b);
	cr_expect_not(volt_hash_equal(&a, &b), "a 32-byte name with a 16-byte prefix");
	hash_of(XXH128_EMPTY, &b);
	cr_expect(volt_hash_equal(&a, &b));
}

/* Opening a store */

Test(cas_open, missing_folder_is_enoent, .init = setup, .fini = teardown)
{
	char *path = vt_join(tmp, "nope");
	struct volt_cas cas;
	int before = count_fds();

	cr_expect_eq(volt_cas_open(&cas, path, false), -ENOENT);
	cr_expect_eq(cas.root_fd, -1);
	cr_expect_eq(cas.refs_fd, -1);
	cr_expect_eq(cas.objects_fd, -1);
	cr_expect_null(cas.path);
	cr_expect_eq(count_fds(), before, "a descriptor was left open");
	cr_expect_neq(access(path, F_OK), 0, "open without create made the folder");
	free(path);
}

Test(cas_open, folder_without_objects_is_enoent, .init = setup, .fini = teardown)
{
	char *refs = vt_join(tmp, "refs"), *objects = vt_join(tmp, "objects");
	struct volt_cas cas;
	int before = count_fds();

	cr_assert_eq(mkdir(refs, 0755), 0);
	cr_expect_eq(volt_cas_open(&cas, tmp, false), -ENOENT);
	cr_expect_eq(cas.root_fd, -1);
	cr_expect_eq(cas.refs_fd, -1);
	cr_expect_eq(cas.objects_fd, -1);
	cr_expect_null(cas.path);
	cr_expect_eq(count_fds(), before, "a descriptor was left open");
	cr_expect_neq(access(objects, F_OK), 0);
	free(refs);
	free(objects);
}

Test(cas_open, folder_without_refs_is_enoent, .init = setup, .fini = teardown)
{
	char *objects = vt_join(tmp, "objects");
	struct volt_cas cas;
	int before = count_fds();

	cr_assert_eq(mkdir(objects, 0755), 0);
	cr_expect_eq(volt_cas_open(&cas, tmp, false), -ENOENT);
	cr_expect_null(cas.path);
	cr_expect_eq(count_fds(), before, "a descriptor was left open");
	free(objects);
}

Test(cas_open, a_file_is_not_a_store, .init = setup, .fini = teardown)
{
	char *path = vt_join(tmp, "file");
	struct volt_cas cas;
	int before = count_fds();

	vt_write_str(path, "x");
	cr_expect_eq(volt_cas_open(&cas, path, false), -ENOTDIR);
	cr_expect_eq(volt_cas_open(&cas, path, true), -ENOTDIR);
	cr_expect_null(cas.path);
	cr_expect_eq(count_fds(), before, "a descriptor was left open");
	free(path);
}

Test(cas_open, create_makes_refs_and_objects, .init = setup, .fini = teardown)
{
	char *path = vt_join(tmp, "new/cas"), *parent = vt_join(tmp, "new");
	char *refs = vt_join(path, "refs"), *objects = vt_join(path, "objects");
	struct volt_cas cas;
	struct stat st;
	int before = count_fds();

	cr_assert_eq(mkdir(parent, 0755), 0);
	cr_assert_eq(volt_cas_open(&cas, path, true), 0);
	cr_expect_str_eq(cas.path, path);
	cr_expect(cas.root_fd >= 0 && cas.refs_fd >= 0 && cas.objects_fd >= 0);
	cr_assert_eq(stat(refs, &st), 0);
	cr_expect(S_ISDIR(st.st_mode));
	cr_assert_eq(stat(objects, &st), 0);
	cr_expect(S_ISDIR(st.st_mode));
	volt_cas_release(&cas);
	cr_expect_eq(count_fds(), before, "release left a descriptor open");
	cr_expect_null(cas.path);
	cr_expect_eq(cas.root_fd, -1);

	/* Opening an existing store with create changes nothing and succeeds. */
	cr_assert_eq(volt_cas_open(&cas, path, true), 0);
	volt_cas_release(&cas);
	cr_assert_eq(volt_cas_open(&cas, path, false), 0);
	volt_cas_release(&cas);
	free(path);
	free(parent);
	free(refs);
	free(objects);
}

/* Access to objects */

struct store {
	char *path;
	struct volt_cas cas;
};

static void store_open(struct store *s)
{
	s->path = vt_join(tmp, "cas");
	vt_cas_init(s->path);
	cr_assert_eq(volt_cas_open(&s->cas, s->path, false), 0);
}

static void store_close(struct store *s)
{
	volt_cas_release(&s->cas);
	free(s->path);
}

/* <cas>/objects/<hex> (malloc'ed). */
static char *object_path(const struct store *s, const char *hex)
{
	char *rel, *p;

	cr_assert(asprintf(&rel, "objects/%s", hex) > 0);
	p = vt_join(s->path, rel);
	free(rel);
	return p;
}

Test(cas_object, regular_file_opens, .init = setup, .fini = teardown)
{
	char hex[VOLT_HASH_HEX_MAX + 1], buf[16] = { 0 };
	struct store s;
	struct volt_hash h;
	struct stat st = { 0 }, st2 = { 0 };
	int fd;

	store_open(&s);
	vt_put_object(s.path, "hello\n", 6, 0555, hex);
	cr_assert_str_eq(hex, XXH128_HELLO);
	hash_of(hex, &h);
	cr_assert_eq(volt_cas_stat_object(&s.cas, &h, &st), 0);
	cr_expect(S_ISREG(st.st_mode));
	cr_expect_eq(st.st_size, 6);
	cr_expect_eq(st.st_mode & 07777, 0555);
	fd = volt_cas_open_object(&s.cas, &h, &st2);
	cr_assert(fd >= 0, "open_object: %d", fd);
	cr_expect_eq(st2.st_size, 6);
	cr_expect_eq(st2.st_ino, st.st_ino);
	cr_expect(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	cr_expect_eq(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDONLY);
	cr_expect_eq(pread(fd, buf, sizeof(buf), 0), 6);
	cr_expect_str_eq(buf, "hello\n");
	close(fd);
	store_close(&s);
}

Test(cas_object, missing_is_enoent, .init = setup, .fini = teardown)
{
	struct store s;
	struct volt_hash h;
	struct stat st;
	int before;

	store_open(&s);
	before = count_fds();
	hash_of(XXH128_HELLO, &h);
	cr_expect_eq(volt_cas_stat_object(&s.cas, &h, &st), -ENOENT);
	cr_expect_eq(volt_cas_open_object(&s.cas, &h, &st), -ENOENT);
	hash_of("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", &h);
	cr_expect_eq(volt_cas_stat_object(&s.cas, &h, &st), -ENOENT);
	cr_expect_eq(volt_cas_open_object(&s.cas, &h, &st), -ENOENT);
	cr_expect_eq(count_fds(), before);
	store_close(&s);
}

/* A SHA-256 name is an object name too, found the same way. */
Test(cas_object, sha256_name_opens, .init = setup, .fini = teardown)
{
	static const char sha[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85"
				  "5";
	struct store s;
	struct volt_hash h;
	struct stat st;
	char *p;
	int fd;

	store_open(&s);
	p = object_path(&s, sha);
	vt_write_file(p, "", 0, 0444);
	hash_of(sha, &h);
	cr_expect_eq(volt_cas_stat_object(&s.cas, &h, &st), 0);
	fd = volt_cas_open_object(&s.cas, &h, &st);
	cr_expect(fd >= 0);
	cr_expect_eq(st.st_size, 0);
	if (fd >= 0)
		close(fd);
	free(p);
	store_close(&s);
}

/* A link planted in objects/ is refused, never followed, even to a good object. */
Test(cas_object, symlink_is_eio_not_followed, .init = setup, .fini = teardown)
{
	char hex[VOLT_HASH_HEX_MAX + 1], *target = vt_join(tmp, "secret"), *link;
	struct store s;
	struct volt_hash h;
	struct stat st;
	int before;

	store_open(&s);
	vt_write_str(target, "secret");
	vt_put_object(s.path, "hello\n", 6, 0444, hex);
	hash_of(XXH128_EMPTY, &h);
	link = object_path(&s, XXH128_EMPTY);
	cr_assert_eq(symlink(target, link), 0);
	before = count_fds();
	cr_expect_eq(volt_cas_stat_object(&s.cas, &h, &st), -EIO);
	cr_expect_eq(volt_cas_open_object(&s.cas, &h, &st), -EIO);
	free(link);

	/* A relative link to another object of the store: refused all the same. */
	link = object_path(&s, "0123456789abcdef0123456789abcdef");
	cr_assert_eq(symlink(hex, link), 0);
	hash_of("0123456789abcdef0123456789abcdef", &h);
	cr_expect_eq(volt_cas_stat_object(&s.cas, &h, &st), -EIO);
	cr_expect_eq(volt_cas_open_object(&s.cas, &h, &st), -EIO);
	cr_expect_eq(count_fds(), before, "a descriptor was left open");
	free(link);
	free(target);
	store_close(&s);
}

Test(cas_object, directory_is_eio, .init = setup, .fini = teardown)
{
	struct store s;
	struct volt_hash h;
	struct stat st;
	char *p;
	int before;

	store_open(&s);
	p = object_path(&s, XXH128_HELLO);
	cr_assert_eq(mkdir(p, 0755), 0);
	hash_of(XXH128_HELLO, &h);
	before = count_fds();
	cr_expect_eq(volt_cas_stat_object(&s.cas, &h, &st), -EIO);
	cr_expect_eq(volt_cas_open_object(&s.cas, &h, &st), -EIO);
	cr_expect_eq(count_fds(), before, "a descriptor was left open");
	free(p);
	store_close(&s);
}

/* Nobody writes to the FIFO: an open that blocked would hit the timeout. */
Test(cas_object, fifo_is_eio_without_hanging, .init = setup, .fini = teardown, .timeout = 10)
{
	struct store s;
	struct volt_hash h;
	struct stat st;
	char *p;
	int before;

	store_open(&s);
	p = object_path(&s, XXH128_HELLO);
	cr_assert_eq(mkfifo(p, 0644), 0);
	hash_of(XXH128_HELLO, &h);
	before = count_fds();
	cr_expect_eq(volt_cas_stat_object(&s.cas, &h, &st), -EIO);
	cr_expect_eq(volt_cas_open_object(&s.cas, &h, &st), -EIO);
	cr_expect_eq(count_fds(), before, "a descriptor was left open");
	free(p);
	store_close(&s);
}

/*
 * Is name in dir opened (for reading or writing) by fn? inotify's IN_OPEN says,
 * and an O_PATH descriptor, which opens nothing, raises none (Linux >= 6.5).
 */
static bool opened_by(const char *dir, const char *name, void (*fn)(void *), void *arg)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	int ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	bool opened = false;
	ssize_t n;

	cr_assert(ifd >= 0);
	cr_assert(inotify_add_watch(ifd, dir, IN_OPEN) >= 0);
	fn(arg);
	while ((n = read(ifd, buf, sizeof(buf))) > 0)
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const void *)p;

			opened |= ev->len && strcmp(ev->name, name) == 0;
			p += sizeof(*ev) + ev->len;
		}
	close(ifd);
	return opened;
}

struct open_call {
	struct store *s;
	struct volt_hash h;
	int ret;
	struct stat st;
};

static void call_open_object(void *arg)
{
	struct open_call *c = arg;

	c->ret = volt_cas_open_object(&c->s->cas, &c->h, &c->st);
	if (c->ret >= 0)
		close(c->ret);
}

/*
 * A FIFO or a device node in place of an object is refused without being
 * opened (opening either can have effects of its own), and says what it is;
 * a regular object is opened, and the check sees it.
 */
Test(cas_object, special_files_refused_unopened, .init = setup, .fini = teardown, .timeout = 10)
{
	char hex[VOLT_HASH_HEX_MAX + 1], *objects, *p;
	struct store s;
	struct open_call c = { .s = &s };

	store_open(&s);
	objects = vt_join(s.path, "objects");
	vt_put_object(s.path, "hello\n", 6, 0444, hex);
	hash_of(hex, &c.h);
	cr_assert(opened_by(objects, hex, call_open_object, &c), "the watch sees no open");
	cr_assert(c.ret >= 0);

	p = object_path(&s, XXH128_EMPTY);
	cr_assert_eq(mkfifo(p, 0644), 0);
	hash_of(XXH128_EMPTY, &c.h);
	cr_expect_not(opened_by(objects, XXH128_EMPTY, call_open_object, &c), "a FIFO was opened "
									      "before its type was "
									      "checked");
	cr_expect_eq(c.ret, -EIO);
	cr_expect(S_ISFIFO(c.st.st_mode), "st says what it is: mode %o", c.st.st_mode);
	free(p);

	if (geteuid() == 0) {
		p = object_path(&s, "0123456789abcdef0123456789abcdef");
		cr_assert_eq(mknod(p, S_IFCHR | 0644, makedev(1, 3)), 0, "%s", strerror(errno));
		hash_of("0123456789abcdef0123456789abcdef", &c.h);
		cr_expect_not(opened_by(objects, "0123456789abcdef0123456789abcdef",
					call_open_object, &c),
			      "a device node was opened before its type was checked");
		cr_expect_eq(c.ret, -EIO);
		cr_expect(S_ISCHR(c.st.st_mode));
		free(p);
	}
	free(objects);
	store_close(&s);
}

/* Writing objects and refs */

/* A source file holding buf (read-only descriptor). */
static int source_fd(const char *name, const void *buf, size_t len)
{
	char *p = vt_join(tmp, name);
	int fd;

	vt_write_file(p, buf, len, 0644);
	fd = open(p, O_RDONLY);
	cr_assert(fd >= 0);
	free(p);
	return fd;
}

Test(cas_put, object_is_named_by_its_content, .init = setup, .fini = teardown)
{
	struct store s;
	struct volt_hash h;
	uint64_t size = 0;
	bool written = false;
	char hex[VOLT_HASH_HEX_MAX + 1], *p, *got;
	size_t len = 0;
	struct stat st;
	int fd, n;

	store_open(&s);
	fd = source_fd("src", "hello\n", 6);
	cr_assert_eq(volt_cas_put_fd(&s.cas, fd, false, &h, &size, &written), 0);
	cr_expect(written);
	cr_expect_eq(size, 6);
	volt_hash_format(&h, hex);
	cr_expect_str_eq(hex, XXH128_HELLO);
	p = object_path(&s, XXH128_HELLO);
	got = vt_read_file(p, &len);
	cr_assert_not_null(got, "%s: %s", p, strerror(errno));
	cr_expect_eq(len, 6);
	cr_expect_str_eq(got, "hello\n");
	cr_assert_eq(lstat(p, &st), 0);
	cr_expect(S_ISREG(st.st_mode));
	cr_expect_eq(st.st_mode & 07777, 0444, "mode %o", st.st_mode & 07777);
	free(got);
	free(p);
	free(list_dir(s.path, &n)); /* nothing strewn in <cas> either */
	cr_expect_eq(n, 2);
	p = vt_join(s.path, "objects");
	got = list_dir(p, &n);
	cr_expect_eq(n, 1, "objects/: %s", got);
	free(got);
	free(p);
	close(fd);
	store_close(&s);
}

Test(cas_put, exec_keeps_execute_bits, .init = setup, .fini = teardown)
{
	struct store s;
	struct volt_hash h;
	bool written = false;
	struct stat st;
	int fd;

	store_open(&s);
	fd = source_fd("tool", "#!/bin/sh\n", 10);
	cr_assert_eq(volt_cas_put_fd(&s.cas, fd, true, &h, NULL, &written), 0);
	cr_expect(written);
	cr_expect_eq(volt_cas_stat_object(&s.cas, &h, &st), 0);
	cr_expect_eq(st.st_mode & 07777, 0555, "mode %o", st.st_mode & 07777);
	cr_expect_eq(st.st_size, 10);
	close(fd);
	store_close(&s);
}

/* The modes are exact whatever the umask. */
Test(cas_put, mode_ignores_umask, .init = setup, .fini = teardown)
{
	struct store s;
	struct volt_hash h;
	bool written;
	struct stat st;
	mode_t old = umask(0777);
	int fd;

	store_open(&s);
	fd = source_fd("a", "a", 1);
	cr_assert_eq(volt_cas_put_fd(&s.cas, fd, true, &h, NULL, &written), 0);
	umask(old);
	cr_assert_eq(volt_cas_stat_object(&s.cas, &h, &st), 0);
	cr_expect_eq(st.st_mode & 07777, 0555, "mode %o", st.st_mode & 07777);
	close(fd);
	store_close(&s);
}

Test(cas_put, same_content_twice_is_written_once, .init = setup, .fini = teardown)
{
	struct store s;
	struct volt_hash h1, h2;
	bool written = false;
	struct stat before, after;
	uint64_t size = 0;
	char *objects;
	int fd1, fd2, n;

	store_open(&s);
	fd1 = source_fd("one", "same bytes", 10);
	fd2 = source_fd("two", "same bytes", 10);
	cr_assert_eq(volt_cas_put_fd(&s.cas, fd1, false, &h1, NULL, &written), 0);
	cr_assert(written);
	cr_assert_eq(volt_cas_stat_object(&s.cas, &h1, &before), 0);
	/* Even asked for another mode, the existing object is left as it is. */
	cr_assert_eq(volt_cas_put_fd(&s.cas, fd2, true, &h2, &size, &written), 0);
	cr_expect_not(written, "the second put wrote the object again");
	cr_expect(volt_hash_equal(&h1, &h2));
	cr_expect_eq(size, 10, "size is reported for an existing object too");
	cr_assert_eq(volt_cas_stat_object(&s.cas, &h2, &after), 0);
	cr_expect_eq(after.st_ino, before.st_ino, "the object was replaced");
	cr_expect_eq(after.st_mode, before.st_mode);
	cr_expect_eq(after.st_mtim.tv_sec, before.st_mtim.tv_sec);
	cr_expect_eq(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
	objects = vt_join(s.path, "objects");
	free(list_dir(objects, &n));
	cr_expect_eq(n, 1);
	free(objects);
	close(fd1);
	close(fd2);
	store_close(&s);
}

/* Many objects, one of them large: objects/ holds exactly the objects, no temporaries. */
Test(cas_put, no_temporary_files_left, .init = setup, .fini = teardown)
{
	size_t big = (3u << 20) + 17;
	char *buf = malloc(big), *objects, *names, hex[VOLT_HASH_HEX_MAX + 1];
	struct store s;
	struct volt_hash h;
	bool written;
	int n;

	for (size_t i = 0; i < big; i++)
		buf[i] = (char)(i % 251);
	store_open(&s);
	for (int i = 0; i < 5; i++) {
		char name[16];
		int fd;

		snprintf(name, sizeof(name), "src%d", i);
		fd = source_fd(name, buf, i == 4 ? big : (size_t)i * 1000);
		cr_assert_eq(volt_cas_put_fd(&s.cas, fd, i % 2, &h, NULL, &written), 0);
		cr_expect(written);
		close(fd);
	}
	objects = vt_join(s.path, "objects");
	names = list_dir(objects, &n);
	cr_expect_eq(n, 5, "objects/: %s", names);
	cr_expect_null(strchr(names, '.'), "objects/: %s", names);
	volt_hash_xxh128(&h, buf, big);
	volt_hash_format(&h, hex);
	cr_expect_not_null(strstr(names, hex), "objects/: %s", names);
	free(names);
	free(objects);
	free(buf);
	store_close(&s);
}

Test(cas_put, unreadable_source_fails_and_leaves_nothing, .init = setup, .fini = teardown)
{
	struct store s;
	struct volt_hash h;
	bool written = true;
	char *objects;
	int n;

	store_open(&s);
	cr_expect_eq(volt_cas_put_fd(&s.cas, -1, false, &h, NULL, &written), -EBADF);
	cr_expect_not(written);
	objects = vt_join(s.path, "objects");
	free(list_dir(objects, &n));
	cr_expect_eq(n, 0);
	free(objects);
	store_close(&s);
}

Test(cas_put, ref_replaces_atomically, .init = setup, .fini = teardown)
{
	static const char first[] = "{\"name\":\"first, a much longer manifest than the next\"}";
	static const char second[] = "{\"name\":\"second\"}";
	struct store s;
	char *ref, *refs, *got, *names, old[sizeof(first)] = { 0 };
	size_t len = 0;
	struct stat st;
	int fd, n;

	store_open(&s);
	ref = vt_join(s.path, "refs/kvm-linux-0123abcd.json");
	refs = vt_join(s.path, "refs");
	cr_assert_eq(volt_cas_put_ref(&s.cas, "kvm-linux-0123abcd.json", first, strlen(first)), 0);
	got = vt_read_file(ref, &len);
	cr_assert_not_null(got);
	cr_expect_eq(len, strlen(first));
	cr_expect_str_eq(got, first);
	free(got);
	cr_assert_eq(stat(ref, &st), 0);
	cr_expect_eq(st.st_mode & 07777, 0644, "mode %o", st.st_mode & 07777);

	/* A reader holding the old ref keeps the old bytes whole: a new file was renamed in. */
	fd = open(ref, O_RDONLY);
	cr_assert(fd >= 0);
	cr_assert_eq(volt_cas_put_ref(&s.cas, "kvm-linux-0123abcd.json", second, strlen(second)),
		     0);
	got = vt_read_file(ref, &len);
	cr_assert_not_null(got);
	cr_expect_eq(len, strlen(second), "old content not fully replaced: '%s'", got);
	cr_expect_str_eq(got, second);
	free(got);
	cr_expect_eq(pread(fd, old, sizeof(old) - 1, 0), (ssize_t)strlen(first));
	cr_expect_str_eq(old, first, "the old file was rewritten in place");
	close(fd);

	names = list_dir(refs, &n);
	cr_expect_eq(n, 1, "refs/: %s", names);
	cr_expect_str_eq(names, "kvm-linux-0123abcd.json ");
	free(names);
	free(refs);
	free(ref);
	store_close(&s);
}
