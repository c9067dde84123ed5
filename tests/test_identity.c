// SPDX-License-Identifier: MIT
/*
 * One inode per object, on a real mount, past every growth of the tables
 * behind the numbers. 7000 distinct objects are named by five profiles'
 * builds under other paths and in other orders: a live kvm-linux build,
 * two pins of older kvm-linux builds, emulate-x86, kvm-uefi, and 260
 * emulate-foreign builds published one after another. Every view must
 * give an object the number the first one gave, distinct objects distinct
 * numbers, also once a descriptor cache of 8 has been cycled through all
 * of them.
 *
 * Sizes, against the growth points (fs/inode.c, core/catalog.c, core/tree.c):
 * the object table's index is 1024 slots kept at most 3/4 full, so it grows
 * at 768, 1536, 3072 and 6144 records; records come in chunks of 4096, the
 * second one at record 4096. The catalog keeps builds in chunks of 256
 * serials (serial 256 opens the second) and grows its pin list by one per
 * pin. A tree index is sized once per build, a power of two over 1.5 nodes:
 * 7000 files reach 16384 slots (32768 while building).
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "support.h"
#include "voltfs/refs.h"

#define N 7000	       /* distinct objects */
#define UEFI_FROM 3500 /* kvm-uefi names objects UEFI_FROM..N-1 */
#define CHURN 260      /* emulate-foreign builds: past the catalog's 256 */
#define CHURN_FILES 30
#define MAX_FDS 8

static char *dir, *cas, *mnt;
static struct vt_mount m;
static char hex[N][VOLT_HASH_HEX_MAX + 1];
static ino_t ino[N];			/* what the live kvm-linux build says, first of all */
static char pin_old[32], pin_older[32]; /* kvm-linux@<id> */
/* What the test holds open: a failed assertion must close it, or the daemon never exits. */
static DIR *listing;
static int held[MAX_FDS / 2] = { -1, -1, -1, -1 };

static void teardown(void)
{
	if (listing)
		closedir(listing);
	for (int h = 0; h < MAX_FDS / 2; h++)
		if (held[h] >= 0)
			close(held[h]);
	vt_mount_cleanup(&m);
	vt_rmtree(dir);
	free(cas);
	free(mnt);
	free(dir);
}

TestSuite(identity, .fini = teardown, .timeout = 240);

/* A growing string. */
struct buf {
	char *p;
	size_t len, cap;
};

static void put(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		cr_assert(n >= 0);
		if (b->len + (size_t)n < b->cap)
			break;
		b->cap = b->cap * 2 + (size_t)n + 64;
		b->p = realloc(b->p, b->cap);
		cr_assert_not_null(b->p);
	}
	b->len += (size_t)n;
}

/* Where each build puts object i (NULL: it does not name it). */
typedef const char *(*where_fn)(int i, int arg, char *buf, size_t size);

static const char *live_path(int i, int arg, char *buf, size_t size)
{
	(void)arg;
	snprintf(buf, size, "lib/k%02d/o%04d", i / 100, i);
	return buf;
}

static const char *old_path(int i, int arg, char *buf, size_t size)
{
	(void)arg;
	snprintf(buf, size, "firmware/p%04d", i);
	return buf;
}

static const char *older_path(int i, int arg, char *buf, size_t size)
{
	(void)arg;
	snprintf(buf, size, "bin/e%04d", i);
	return buf;
}

static const char *x86_path(int i, int arg, char *buf, size_t size)
{
	(void)arg;
	snprintf(buf, size, "lib/g%02d/x%04d", i % 50, N - 1 - i);
	return buf;
}

static const char *uefi_path(int i, int arg, char *buf, size_t size)
{
	(void)arg;
	if (i < UEFI_FROM)
		return NULL;
	snprintf(buf, size, "share/u%04d", i);
	return buf;
}

/* Build k of emulate-foreign names CHURN_FILES objects spread over all of them. */
static int churn_object(int k, int j)
{
	return (k * 263 + j * 233) % N;
}

static const char *churn_path(int i, int k, char *buf, size_t size)
{
	for (int j = 0; j < CHURN_FILES; j++) {
		if (churn_object(k, j) == i) {
			snprintf(buf, size, "lib/w%02d", j);
			return buf;
		}
	}
	return NULL;
}

/* The manifest of profile's build created at created, naming what where says. */
static char *manifest(const char *profile, const char *created, where_fn where, int arg)
{
	struct buf b = { 0 };
	const char *sep = "";
	char path[64];

	put(&b, "{\"name\": \"%s\", \"created_at\": \"%s\", \"objects\": {", profile, created);
	for (int i = 0; i < N; i++) {
		if (!where(i, arg, path, sizeof(path)))
			continue;
		put(&b, "%s\n\"%s\": \"%s\"", sep, path, hex[i]);
		sep = ",";
	}
	put(&b, "}}\n");
	return b.p;
}

/* Publish a ref as tools do: written elsewhere, renamed into refs/. Its name into name. */
static void publish(const char *profile, const char *json, char name[VOLT_REF_NAME_MAX])
{
	char *tmp = vt_join(cas, "ref.tmp"), *rel, *final;

	volt_ref_make_name(volt_profile_from_name(profile, strlen(profile)), json, strlen(json),
			   name);
	vt_write_str(tmp, json);
	cr_assert(asprintf(&rel, "refs/%s", name) > 0);
	final = vt_join(cas, rel);
	cr_assert_eq(rename(tmp, final), 0);
	free(final);
	free(rel);
	free(tmp);
}

static void publish_build(const char *profile, const char *created, where_fn where, int arg,
			  char name[VOLT_REF_NAME_MAX])
{
	char *json = manifest(profile, created, where, arg);

	publish(profile, json, name);
	free(json);
}

/* kvm-linux-<id>.json -> kvm-linux@<id> */
static void pin_of(const char *ref, char *out, size_t size)
{
	snprintf(out, size, "kvm-linux@%.*s", VOLT_REF_ID_LEN, ref + strlen("kvm-linux-"));
}

/* The inode of <mnt>/<top>/<path of i>. */
static ino_t ino_at(const char *top, where_fn where, int arg, int i)
{
	char path[64], full[4096];
	struct stat st;

	cr_assert_not_null(where(i, arg, path, sizeof(path)));
	snprintf(full, sizeof(full), "%s/%s/%s", mnt, top, path);
	cr_assert_eq(stat(full, &st), 0, "%s: %s", full, strerror(errno));
	cr_assert(S_ISREG(st.st_mode), "%s is not a file", full);
	return st.st_ino;
}

/*
 * Object i seen through top/where has the number the live build gives it.
 * The live build's path is asked again at the same moment, so the check
 * holds even if the kernel forgot an inode in between.
 */
static void expect_same(const char *top, where_fn where, int arg, int i)
{
	ino_t got = ino_at(top, where, arg, i), want = ino_at("kvm-linux", live_path, 0, i);

	cr_assert_eq(got, want, "object %d (%s): inode %lu in %s, %lu in kvm-linux (first %lu)", i,
		     hex[i], (unsigned long)got, top, (unsigned long)want, (unsigned long)ino[i]);
}

static int cmp_ino(const void *a, const void *b)
{
	ino_t x = *(const ino_t *)a, y = *(const ino_t *)b;

	return x < y ? -1 : x > y;
}

/* Distinct objects, distinct numbers. */
static void expect_distinct(const ino_t *inos, const char *what)
{
	ino_t *sorted = malloc(N * sizeof(*sorted));

	memcpy(sorted, inos, N * sizeof(*sorted));
	qsort(sorted, N, sizeof(*sorted), cmp_ino);
	for (int i = 1; i < N; i++)
		cr_assert_neq(sorted[i], sorted[i - 1], "%s: two objects share inode %lu", what,
			      (unsigned long)sorted[i]);
	free(sorted);
}

/* Wait (bounded, generously: 10 s) until <mnt>/<top> serves ref name. */
static void wait_for_ref(const char *top, const char *name)
{
	struct timespec start, now, pause = { 0, 1000 * 1000 };
	char path[4096], got[VOLT_REF_NAME_MAX];

	snprintf(path, sizeof(path), "%s/%s", mnt, top);
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		ssize_t n = getxattr(path, "user.volt.ref", got, sizeof(got) - 1);

		if (n > 0) {
			got[n] = '\0';
			if (strcmp(got, name) == 0)
				return;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		cr_assert(now.tv_sec - start.tv_sec < 10, "%s does not serve %s after 10 s", top,
			  name);
		nanosleep(&pause, NULL);
	}
}

/* Open object i through top/where, check its bytes and its number; the descriptor. */
static int open_object(const char *top, where_fn where, int arg, int i)
{
	char path[64], full[4096], want[16], got[16];
	struct stat st;
	int fd;
	ssize_t n;

	cr_assert_not_null(where(i, arg, path, sizeof(path)));
	snprintf(full, sizeof(full), "%s/%s/%s", mnt, top, path);
	fd = open(full, O_RDONLY);
	cr_assert(fd >= 0, "open %s: %s", full, strerror(errno));
	n = pread(fd, got, sizeof(got), 0);
	snprintf(want, sizeof(want), "o%04d\n", i);
	cr_assert(n == (ssize_t)strlen(want) && memcmp(got, want, (size_t)n) == 0,
		  "%s: wrong bytes", full);
	cr_assert_eq(fstat(fd, &st), 0);
	cr_assert_eq(st.st_ino, ino_at("kvm-linux", live_path, 0, i),
		     "%s: an open file has another inode than its path", full);
	return fd;
}

Test(identity, one_inode_per_object_past_every_growth)
{
	char live[VOLT_REF_NAME_MAX], old[VOLT_REF_NAME_MAX], older[VOLT_REF_NAME_MAX];
	char x86[VOLT_REF_NAME_MAX], uefi[VOLT_REF_NAME_MAX], prev[VOLT_REF_NAME_MAX] = "";
	char path[4096];
	ino_t *seen = malloc(N * sizeof(*seen));
	struct dirent *de;
	int listed = 0;

	dir = vt_tmpdir();
	cas = vt_join(dir, "cas");
	mnt = vt_join(dir, "mnt");
	vt_cas_init(cas);
	for (int i = 0; i < N; i++) {
		char body[16];

		snprintf(body, sizeof(body), "o%04d\n", i);
		vt_put_object(cas, body, strlen(body), 0444, hex[i]);
	}
	publish_build("kvm-linux", "2026-02-01T00:00:00Z", live_path, 0, live);
	publish_build("kvm-linux", "2026-01-01T00:00:00Z", old_path, 0, old);
	publish_build("kvm-linux", "2025-12-01T00:00:00Z", older_path, 0, older);
	publish_build("emulate-x86", "2026-01-15T00:00:00Z", x86_path, 0, x86);
	publish_build("kvm-uefi", "2026-01-20T00:00:00Z", uefi_path, 0, uefi);
	pin_of(old, pin_old, sizeof(pin_old));
	pin_of(older, pin_older, sizeof(pin_older));
	vt_mount(&m, cas, mnt, "max_fds=8"); /* MAX_FDS */
	wait_for_ref("kvm-linux", live);

	/* First look: the live build makes every record, through each growth of the table. */
	for (int i = 0; i < N; i++)
		ino[i] = ino_at("kvm-linux", live_path, 0, i);
	expect_distinct(ino, "kvm-linux");

	/* A pin of an older build of the same profile, listed (what find -inum, tar see) and walked. */
	snprintf(path, sizeof(path), "%s/%s/firmware", mnt, pin_old);
	listing = opendir(path);
	cr_assert_not_null(listing, "%s: %s", path, strerror(errno));
	while ((de = readdir(listing))) {
		int i;

		if (de->d_name[0] == '.')
			continue;
		cr_assert_eq(sscanf(de->d_name, "p%d", &i), 1, "%s", de->d_name);
		cr_assert(i >= 0 && i < N);
		cr_assert_eq(de->d_ino, ino_at("kvm-linux", live_path, 0, i),
			     "%s/%s: listed with inode %lu, kvm-linux has %lu", path, de->d_name,
			     (unsigned long)de->d_ino, (unsigned long)ino[i]);
		listed++;
	}
	closedir(listing);
	listing = NULL;
	cr_assert_eq(listed, N);
	for (int i = 0; i < N; i++)
		expect_same(pin_old, old_path, 0, i);

	/* Other profiles, other paths, other orders. */
	for (int i = 0; i < N; i++)
		expect_same("emulate-x86", x86_path, 0, i);
	for (int i = N - 1; i >= UEFI_FROM; i--)
		expect_same("kvm-uefi", uefi_path, 0, i);

	/* Build after build of emulate-foreign, each naming objects all others named first. */
	for (int k = 0; k < CHURN; k++) {
		char created[32], name[VOLT_REF_NAME_MAX];

		snprintf(created, sizeof(created), "2026-03-01T%02d:%02d:%02dZ", k / 3600,
			 k / 60 % 60, k % 60);
		publish_build("emulate-foreign", created, churn_path, k, name);
		wait_for_ref("emulate-foreign", name);
		for (int j = 0; j < CHURN_FILES; j++)
			expect_same("emulate-foreign", churn_path, k, churn_object(k, j));
		if (*prev)
			vt_drop_ref(cas, prev);
		strcpy(prev, name);
	}
	/* 5 builds and CHURN more: the catalog's second chunk of serials is in use. */
	cr_assert_geq(vt_mount_stat(mnt, "manifests_loaded"), 4 + CHURN);
	cr_assert_gt(vt_mount_stat(mnt, "manifests_loaded"), 256);

	/* Descriptors: some held, every object opened once, so the cache of 8 turns over. */
	for (int h = 0; h < MAX_FDS / 2; h++)
		held[h] = open_object(pin_old, old_path, 0, h * 1000);
	for (int i = 0; i < N; i++)
		close(open_object("emulate-x86", x86_path, 0, i));
	for (int h = 0; h < MAX_FDS / 2; h++) {
		char got[16], want[16];
		struct stat st;

		snprintf(want, sizeof(want), "o%04d\n", h * 1000);
		cr_assert_eq(pread(held[h], got, sizeof(got), 0), (ssize_t)strlen(want));
		cr_assert(memcmp(got, want, strlen(want)) == 0, "a held file changed its bytes");
		cr_assert_eq(fstat(held[h], &st), 0);
		cr_assert_eq(st.st_ino, ino[h * 1000], "a held file changed its inode");
		close(held[h]);
		held[h] = -1;
	}
	/* Evicted long ago, opened again. */
	for (int i = UEFI_FROM; i < UEFI_FROM + 3 * MAX_FDS; i++)
		close(open_object("kvm-uefi", uefi_path, 0, i));

	/* After the evictions: a pin never looked up before, every object through it. */
	for (int i = 0; i < N; i++) {
		expect_same(pin_older, older_path, 0, i);
		seen[i] = ino_at(pin_older, older_path, 0, i);
	}
	expect_distinct(seen, pin_older);
	/* And the first numbers still hold. */
	for (int i = 0; i < N; i++)
		cr_assert_eq(seen[i], ino[i], "object %d: inode %lu now, %lu first", i,
			     (unsigned long)seen[i], (unsigned long)ino[i]);
	free(seen);
	cr_assert_eq(vt_unmount(&m), 0);
}
