// SPDX-License-Identifier: MIT
/*
 * Hostile input on a real mount: every kind of bad manifest of SPEC's "Bad
 * input" leaves its profile out (or falls back to an older good ref), the
 * log names file, entry and reason, and the daemon keeps serving the rest.
 * Bad objects (a folder, a FIFO, a link) give EIO on that file alone.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "support.h"

struct hostile {
	char what[40];
	char objects[700]; /* the "objects" value; @ stands for a real object's hash */
	char entry[300];   /* what the log line must name besides the file ("" = nothing) */
	char reason[64];   /* and why */
};

#define LONG_NAME                                                                                  \
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" \
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" \
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

static struct hostile cases[] = {
	{ "absolute path", "{\"/etc/passwd\": \"@\"}", "/etc/passwd", "absolute path" },
	{ "dot-dot", "{\"bin/../../escape\": \"@\"}", "bin/../../escape", "'..' component" },
	{ "dot", "{\"./bin/x\": \"@\"}", "./bin/x", "'.' component" },
	{ "empty component", "{\"bin//x\": \"@\"}", "bin//x", "empty path component" },
	{ "trailing slash", "{\"bin/x/\": \"@\"}", "bin/x/", "empty path component" },
	{ "empty path", "{\"\": \"@\"}", "", "empty path" },
	{ "NUL byte", "{\"bin/x\\u0000y\": \"@\"}", "", "NUL byte" },
	{ "over-long name", "{\"lib/" LONG_NAME "\": \"@\"}", LONG_NAME, "longer than 255" },
	{ "file and folder", "{\"lib/a\": \"@\", \"lib/a-b\": \"@\", \"lib/a/b\": \"@\"}", "lib/a",
	  "both a file and a folder" },
	{ "reserved args", "{\"args\": \"@\"}", "args", "reserved" },
	{ "reserved unit folder", "{\"unit/x\": \"@\"}", "unit/x", "reserved" },
	{ "bin as a file", "{\"bin\": \"@\"}", "bin", "must be a folder" },
	{ "hash is a path", "{\"bin/x\": \"../../../../etc/passwd\"}", "bin/x",
	  "not an object name" },
	{ "hash uppercase", "{\"bin/x\": \"ABCDEF0123456789ABCDEF0123456789\"}", "bin/x",
	  "not an object name" },
	{ "hash not a string", "{\"bin/x\": 12}", "bin/x", "not a string" },
	{ "same path twice", "{\"bin/x\": \"@\", \"bin/x\": \"@\"}", "bin/x", "listed twice" },
	{ "objects not an object", "[\"@\"]", "objects", "not an object" },
};

ParameterizedTestParameters(hostile, manifest)
{
	return cr_make_param_array(struct hostile, cases, sizeof(cases) / sizeof(cases[0]));
}

static char *dir;
static struct vt_mount mnt;

static void teardown(void)
{
	vt_mount_cleanup(&mnt);
	vt_rmtree(dir);
}

static void manifest_json(char *out, size_t size, const char *created, const char *objects,
			  const char *hex)
{
	char obj[2048];
	size_t j = 0;
	int n;

	for (size_t i = 0; objects[i] && j + 70 < sizeof(obj); i++) {
		if (objects[i] == '@') {
			j += (size_t)snprintf(obj + j, sizeof(obj) - j, "%s", hex);
		} else {
			obj[j++] = objects[i];
		}
	}
	obj[j] = '\0';
	/* A cut manifest would test another bad input than the one named. */
	n = snprintf(out, size, "{\"name\": \"x\", \"created_at\": \"%s\", \"objects\": %s}",
		     created, obj);
	cr_assert(n >= 0 && (size_t)n < size, "manifest of %d bytes does not fit in %zu", n, size);
}

static char *at(const char *rel)
{
	char *m = vt_join(dir, "mnt"), *p = vt_join(m, rel);

	free(m);
	return p;
}

ParameterizedTest(struct hostile *h, hostile, manifest, .fini = teardown, .timeout = 60)
{
	char hex[VOLT_HASH_HEX_MAX + 1], json[4096], bad_uefi[64], bad_x86[64], good[64];
	char *cas, *m, *p, *log, *body;
	struct stat st;

	dir = vt_tmpdir();
	cas = vt_join(dir, "cas");
	m = vt_join(dir, "mnt");
	vt_cas_init(cas);
	vt_put_object(cas, "good\n", 5, 0555, hex);
	manifest_json(json, sizeof(json), "2020-01-01T00:00:00Z", "{\"bin/good\": \"@\"}", hex);
	vt_put_ref(cas, "kvm-linux", json, good);
	vt_put_ref(cas, "emulate-x86", json, good);
	manifest_json(json, sizeof(json), "2030-01-01T00:00:00Z", h->objects, hex);
	vt_put_ref(cas, "emulate-x86", json, bad_x86); /* newer than the good one */
	vt_put_ref(cas, "kvm-uefi", json, bad_uefi);   /* the only one */
	vt_mount(&mnt, cas, m, NULL);

	/* Left out: no usable ref. */
	p = at("kvm-uefi");
	cr_assert_eq(stat(p, &st), -1, "%s: a bad manifest was served", h->what);
	cr_assert_eq(errno, ENOENT);
	free(p);
	/* The newer bad ref never hides the older good one. */
	p = at("emulate-x86/bin/good");
	body = vt_read_file(p, NULL);
	cr_assert_not_null(body, "%s: the good older ref is hidden", h->what);
	cr_assert_str_eq(body, "good\n");
	free(body);
	free(p);
	/* Other profiles keep working. */
	p = at("kvm-linux/bin/good");
	cr_assert_eq(stat(p, &st), 0);
	free(p);
	/* Nothing of the bad manifest leaked into the served tree. */
	p = at("emulate-x86/bin/x");
	cr_assert_eq(stat(p, &st), -1);
	free(p);

	log = vt_mount_log(&mnt);
	cr_assert_not_null(strstr(log, bad_uefi), "%s: log does not name the file:\n%s", h->what,
			   log);
	cr_assert_not_null(strstr(log, bad_x86), "%s: log does not name the file:\n%s", h->what,
			   log);
	cr_assert_not_null(strstr(log, h->reason), "%s: log does not say why:\n%s", h->what, log);
	if (h->entry[0])
		cr_assert_not_null(strstr(log, h->entry), "%s: log does not name the entry:\n%s",
				   h->what, log);
	free(log);
	cr_assert_eq(vt_unmount(&mnt), 0);
	free(cas);
	free(m);
}

TestSuite(hostile_refs, .fini = teardown, .timeout = 60);

Test(hostile_refs, refs_that_are_not_manifests)
{
	char hex[VOLT_HASH_HEX_MAX + 1], json[512], good[64], bad[64], *cas, *m, *p, *log, *path;
	struct stat st;

	dir = vt_tmpdir();
	cas = vt_join(dir, "cas");
	m = vt_join(dir, "mnt");
	vt_cas_init(cas);
	vt_put_object(cas, "good\n", 5, 0555, hex);
	manifest_json(json, sizeof(json), "2020-01-01T00:00:00Z", "{\"bin/good\": \"@\"}", hex);
	vt_put_ref(cas, "kvm-linux", json, good);
	/* Not JSON; an id that does not match the bytes; a link; an unknown profile. */
	vt_put_ref(cas, "kvm-uefi", "{not json", bad);
	path = vt_join(cas, "refs/emulate-x86-00000000.json");
	vt_write_str(path, json);
	free(path);
	path = vt_join(cas, "refs/emulate-foreign-0000abcd.json");
	cr_assert_eq(symlink("../refs/kvm-linux-x.json", path), 0);
	free(path);
	vt_put_ref(cas, "riscv-special", json, good);
	vt_mount(&mnt, cas, m, NULL);

	const char *absent[] = { "kvm-uefi", "emulate-x86", "emulate-foreign", "riscv-special" };
	for (int i = 0; i < 4; i++) {
		p = at(absent[i]);
		cr_assert_eq(stat(p, &st), -1, "%s is served", absent[i]);
		cr_assert_eq(errno, ENOENT);
		free(p);
	}
	p = at("kvm-linux/bin/good");
	cr_assert_eq(stat(p, &st), 0);
	free(p);
	log = vt_mount_log(&mnt);
	cr_assert_not_null(strstr(log, bad), "%s", log);
	cr_assert_not_null(strstr(log, "not JSON"), "%s", log);
	cr_assert_not_null(strstr(log, "emulate-x86-00000000.json"), "%s", log);
	cr_assert_not_null(strstr(log, "does not match its id"), "%s", log);
	cr_assert_not_null(strstr(log, "emulate-foreign-0000abcd.json"), "%s", log);
	cr_assert_not_null(strstr(log, "riscv-special"), "%s", log);
	cr_assert_not_null(strstr(log, "not a known profile"), "%s", log);
	free(log);
	cr_assert_eq(vt_unmount(&mnt), 0);
	free(cas);
	free(m);
}

Test(hostile_refs, objects_that_are_not_files)
{
	char hex[3][VOLT_HASH_HEX_MAX + 1], json[1024], name[64], *cas, *m, *p, *o;
	struct stat st;
	int fd;

	dir = vt_tmpdir();
	cas = vt_join(dir, "cas");
	m = vt_join(dir, "mnt");
	vt_cas_init(cas);
	vt_put_object(cas, "a\n", 2, 0444, hex[0]);
	vt_put_object(cas, "b\n", 2, 0444, hex[1]);
	vt_put_object(cas, "c\n", 2, 0444, hex[2]);
	snprintf(json, sizeof(json),
		 "{\"name\": \"x\", \"created_at\": \"2020-01-01T00:00:00Z\", \"objects\": "
		 "{\"lib/dir\": \"%s\", \"lib/fifo\": \"%s\", \"lib/ok\": \"%s\"}}",
		 hex[0], hex[1], hex[2]);
	vt_put_ref(cas, "kvm-linux", json, name);
	/* Replace two objects by a folder and a FIFO. */
	o = vt_join(cas, "objects");
	p = vt_join(o, hex[0]);
	cr_assert_eq(unlink(p), 0);
	cr_assert_eq(mkdir(p, 0755), 0);
	free(p);
	p = vt_join(o, hex[1]);
	cr_assert_eq(unlink(p), 0);
	cr_assert_eq(mkfifo(p, 0644), 0);
	free(p);
	free(o);
	vt_mount(&mnt, cas, m, NULL);
	p = at("kvm-linux/lib/dir");
	fd = open(p, O_RDONLY);
	cr_assert_eq(fd, -1);
	cr_assert_eq(errno, EIO, "a folder as object: %s", strerror(errno));
	free(p);
	p = at("kvm-linux/lib/fifo");
	fd = open(p, O_RDONLY); /* must not hang */
	cr_assert_eq(fd, -1);
	cr_assert_eq(errno, EIO, "a FIFO as object: %s", strerror(errno));
	free(p);
	p = at("kvm-linux/lib/ok");
	cr_assert_eq(stat(p, &st), 0);
	free(p);
	cr_assert_eq(vt_unmount(&mnt), 0);
	free(cas);
	free(m);
}

/* Corrupt (same size) and truncated objects: EIO on that file alone, unless -o noverify. */
static void corrupt_setup(char *cas, char hex[2][VOLT_HASH_HEX_MAX + 1])
{
	char json[1024], name[64], *o, *p;
	int fd;

	vt_cas_init(cas);
	vt_put_object(cas, "the right bytes\n", 16, 0444, hex[0]);
	vt_put_object(cas, "a longer object that gets truncated\n", 36, 0444, hex[1]);
	snprintf(json, sizeof(json),
		 "{\"name\": \"x\", \"created_at\": \"2020-01-01T00:00:00Z\", \"objects\": "
		 "{\"lib/flipped\": \"%s\", \"lib/short\": \"%s\"}}",
		 hex[0], hex[1]);
	vt_put_ref(cas, "kvm-linux", json, name);
	o = vt_join(cas, "objects");
	p = vt_join(o, hex[0]);
	fd = open(p, O_WRONLY);
	cr_assert(fd >= 0);
	cr_assert_eq(pwrite(fd, "T", 1, 0), 1); /* same size, one byte off */
	close(fd);
	free(p);
	p = vt_join(o, hex[1]);
	cr_assert_eq(truncate(p, 10), 0);
	free(p);
	free(o);
}

Test(hostile_refs, corrupt_objects_are_refused)
{
	char hex[2][VOLT_HASH_HEX_MAX + 1], *cas, *m, *p, *log;

	dir = vt_tmpdir();
	cas = vt_join(dir, "cas");
	m = vt_join(dir, "mnt");
	corrupt_setup(cas, hex);
	vt_mount(&mnt, cas, m, NULL);
	p = at("kvm-linux/lib/flipped");
	cr_assert_null(vt_read_file(p, NULL), "a corrupt object was served");
	cr_assert_eq(errno, EIO);
	free(p);
	p = at("kvm-linux/lib/short");
	cr_assert_null(vt_read_file(p, NULL), "a truncated object was served");
	cr_assert_eq(errno, EIO);
	free(p);
	log = vt_mount_log(&mnt);
	cr_assert_not_null(strstr(log, "kvm-linux/lib/flipped"), "%s", log);
	cr_assert_not_null(strstr(log, hex[0]), "%s", log);
	cr_assert_not_null(strstr(log, "corrupt"), "%s", log);
	cr_assert_not_null(strstr(log, hex[1]), "%s", log);
	free(log);
	cr_assert_eq(vt_unmount(&mnt), 0);
	/* -o noverify trusts the store: the flipped byte is served as it is. */
	vt_mount(&mnt, cas, m, "noverify");
	p = at("kvm-linux/lib/flipped");
	log = vt_read_file(p, NULL);
	cr_assert_not_null(log);
	cr_assert_str_eq(log, "The right bytes\n");
	free(log);
	free(p);
	cr_assert_eq(vt_unmount(&mnt), 0);
	free(cas);
	free(m);
}

Test(hostile_refs, sha256_objects_are_verified)
{
	/* SHA-256 of "abc\n", as sha256sum prints it. */
	static const char sha[] = "edeaaff3f1774ad2888673770c6d64097e391bc362d7d6fb34982ddf0efd18c"
				  "b";
	char json[1024], name[64], *cas, *m, *p, *o, *body;

	dir = vt_tmpdir();
	cas = vt_join(dir, "cas");
	m = vt_join(dir, "mnt");
	vt_cas_init(cas);
	o = vt_join(cas, "objects/"
			 "edeaaff3f1774ad2888673770c6d64097e391bc362d7d6fb34982ddf0efd18cb");
	vt_write_file(o, "abc\n", 4, 0444);
	snprintf(json, sizeof(json),
		 "{\"name\": \"x\", \"created_at\": \"2020-01-01T00:00:00Z\", \"objects\": "
		 "{\"lib/a\": \"%s\"}}",
		 sha);
	vt_put_ref(cas, "kvm-linux", json, name);
	vt_mount(&mnt, cas, m, NULL);
	p = at("kvm-linux/lib/a");
	body = vt_read_file(p, NULL);
	cr_assert_not_null(body, "a good SHA-256 object was refused: %s", strerror(errno));
	cr_assert_str_eq(body, "abc\n");
	free(body);
	free(p);
	cr_assert_eq(vt_unmount(&mnt), 0);
	vt_write_file(o, "abd\n", 4, 0444);
	vt_mount(&mnt, cas, m, NULL);
	p = at("kvm-linux/lib/a");
	cr_assert_null(vt_read_file(p, NULL), "a corrupt SHA-256 object was served");
	cr_assert_eq(errno, EIO);
	free(p);
	cr_assert_eq(vt_unmount(&mnt), 0);
	free(o);
	free(cas);
	free(m);
}
