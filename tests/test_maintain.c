// SPDX-License-Identifier: MIT
/*
 * Tests for core/maintain.c: verify on any number of threads reports the
 * same corrupt objects in name order; gc counts, keeps and removes what it
 * says, and removes nothing when a ref does not load.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "support.h"
#include "voltfs/maintain.h"

int __lsan_do_recoverable_leak_check(void) __attribute__((weak));

static char *tmp, *cas_path;
static struct volt_cas cas;

static void setup(void)
{
	tmp = vt_tmpdir();
	cas_path = vt_join(tmp, "cas");
	vt_cas_init(cas_path);
	cr_assert_eq(volt_cas_open(&cas, cas_path, false), 0);
}

static void teardown(void)
{
	volt_cas_release(&cas);
	vt_rmtree(tmp);
	free(cas_path);
	free(tmp);
	if (__lsan_do_recoverable_leak_check && __lsan_do_recoverable_leak_check()) {
		fprintf(stderr, "LeakSanitizer: this test leaks (report above)\n");
		abort();
	}
}

TestSuite(maintain, .init = setup, .fini = teardown);

struct seen {
	char names[16][256];
	char reasons[16][256];
	int n;
};

static void collect(void *ctx, const struct volt_diag *d)
{
	struct seen *s = ctx;

	cr_assert_lt(s->n, 16);
	snprintf(s->names[s->n], sizeof(s->names[0]), "%s", d->file);
	snprintf(s->reasons[s->n], sizeof(s->reasons[0]), "%s", d->reason);
	s->n++;
}

static char *object_path(const char *hex)
{
	char *rel, *p;

	cr_assert(asprintf(&rel, "objects/%s", hex) > 0);
	p = vt_join(cas_path, rel);
	free(rel);
	return p;
}

static void corrupt(const char *hex)
{
	char *p = object_path(hex);

	vt_write_file(p, "not what the name says", 22, 0444);
	free(p);
}

Test(maintain, verify_same_answer_on_any_number_of_threads)
{
	char hex[100][VOLT_HASH_HEX_MAX + 1];
	const char *bad[3];

	for (int i = 0; i < 100; i++) {
		char content[32];

		snprintf(content, sizeof(content), "object %d", i);
		vt_put_object(cas_path, content, strlen(content), 0444, hex[i]);
	}
	corrupt(hex[7]);
	corrupt(hex[42]);
	corrupt(hex[99]);
	bad[0] = hex[7];
	bad[1] = hex[42];
	bad[2] = hex[99];
	/* In name order. */
	for (int i = 0; i < 3; i++)
		for (int j = i + 1; j < 3; j++)
			if (strcmp(bad[i], bad[j]) > 0) {
				const char *t = bad[i];

				bad[i] = bad[j];
				bad[j] = t;
			}
	for (unsigned workers = 0; workers <= 16; workers += workers < 2 ? 1 : 7) {
		struct volt_verify_stats st;
		struct seen s = { .n = 0 };

		cr_assert_eq(volt_cas_verify_all(&cas, workers, &st, collect, &s), 0);
		cr_expect_eq(st.objects, 100, "%u workers", workers);
		cr_expect_eq(st.corrupt, 3);
		cr_expect_eq(st.vanished, 0);
		cr_assert_eq(s.n, 3);
		for (int i = 0; i < 3; i++) {
			cr_expect_str_eq(s.names[i], bad[i]);
			cr_expect_str_eq(s.reasons[i], "content does not match its name");
		}
	}
}

Test(maintain, verify_empty_store)
{
	struct volt_verify_stats st;

	cr_expect_eq(volt_cas_verify_all(&cas, 0, &st, NULL, NULL), 0);
	cr_expect_eq(st.objects, 0);
	cr_expect_eq(st.corrupt, 0);
}

struct items {
	char names[16][128];
	enum volt_gc_kind kinds[16];
	int n;
};

static void gc_collect(void *ctx, const struct volt_gc_item *it)
{
	struct items *s = ctx;

	cr_assert_lt(s->n, 16);
	cr_expect_eq(it->err, 0);
	snprintf(s->names[s->n], sizeof(s->names[0]), "%s/%s", it->dir, it->name);
	s->kinds[s->n++] = it->kind;
}

static void age(const char *path)
{
	struct timespec t[2] = { { time(NULL) - 7200, 0 }, { time(NULL) - 7200, 0 } };

	cr_assert_eq(utimensat(AT_FDCWD, path, t, AT_SYMLINK_NOFOLLOW), 0);
}

Test(maintain, gc_counts_and_removes)
{
	char used[VOLT_HASH_HEX_MAX + 1], old[VOLT_HASH_HEX_MAX + 1], young[VOLT_HASH_HEX_MAX + 1];
	char json[512], name[64], *p, *stranger;
	struct volt_gc_opts o = { .grace = VOLT_GC_GRACE_DEFAULT };
	struct volt_gc_stats st;
	struct volt_diag d;
	struct items items = { .n = 0 };

	vt_put_object(cas_path, "used", 4, 0555, used);
	vt_put_object(cas_path, "old!!", 5, 0444, old);
	vt_put_object(cas_path, "young", 5, 0444, young);
	p = object_path(old);
	age(p);
	free(p);
	snprintf(json, sizeof(json),
		 "{\"name\": \"kvm-linux\", \"created_at\": "
		 "\"2024-01-01T00:00:00Z\", \"objects\": {\"bin/qemu-system-x86_64\": \"%s\", "
		 "\"lib/gone.so\": \"%032d\"}}",
		 used, 0);
	vt_put_ref(cas_path, "kvm-linux", json, name);
	stranger = vt_join(cas_path, "refs/README");
	vt_write_str(stranger, "notes");
	free(stranger);

	cr_assert_eq(volt_cas_gc(&cas, &o, gc_collect, &items, &st, NULL, &d), 0);
	cr_expect_eq(st.refs, 1);
	cr_expect_eq(st.referenced, 2);
	cr_expect_eq(st.missing, 1);
	cr_expect_eq(st.objects, 3);
	cr_expect_eq(st.unreferenced, 1);
	cr_expect_eq(st.unreferenced_bytes, 5);
	cr_expect_eq(st.recent, 1);
	cr_expect_eq(st.temporary, 0);
	cr_expect_eq(st.failed, 0);
	cr_assert_eq(items.n, 1);
	cr_expect_eq(items.kinds[0], VOLT_GC_OBJECT);
	cr_expect_eq(strcmp(items.names[0] + strlen("objects/"), old), 0);

	/* Dry run: all still there. Now force, without a grace. */
	o.force = true;
	o.grace = 0;
	items.n = 0;
	cr_assert_eq(volt_cas_gc(&cas, &o, gc_collect, &items, &st, NULL, &d), 0);
	cr_expect_eq(st.unreferenced, 2);
	cr_expect_eq(st.recent, 0);
	cr_expect_eq(items.n, 2);
	p = object_path(used);
	cr_expect_eq(access(p, F_OK), 0);
	free(p);
	p = object_path(old);
	cr_expect_neq(access(p, F_OK), 0);
	free(p);
	p = object_path(young);
	cr_expect_neq(access(p, F_OK), 0);
	free(p);
}

static void count_reports(void *ctx, const struct volt_diag *d)
{
	(void)d;
	(*(int *)ctx)++;
}

static void no_items(void *ctx, const struct volt_gc_item *it)
{
	(void)ctx;
	cr_assert_fail("gc reported %s/%s while refusing", it->dir, it->name);
}

Test(maintain, gc_refuses_and_reports_strangers)
{
	char loose[VOLT_HASH_HEX_MAX + 1], name[64], *p;
	struct volt_gc_opts o = { .force = true, .grace = 0 };
	struct volt_gc_stats st;
	struct volt_diag d;
	int strangers = 0;

	vt_put_object(cas_path, "loose", 5, 0444, loose);
	/* No refs. */
	cr_expect_eq(volt_cas_gc(&cas, &o, no_items, &strangers, &st, count_reports, &d), -ENOENT);
	/* A stranger in refs/ is said, and names nothing. */
	p = vt_join(cas_path, "refs/notes.txt");
	vt_write_str(p, "x");
	free(p);
	cr_expect_eq(volt_cas_gc(&cas, &o, no_items, &strangers, &st, count_reports, &d), -ENOENT);
	cr_expect_eq(strangers, 1);
	/* A ref that does not parse. */
	vt_put_ref(cas_path, "kvm-linux", "[]", name);
	cr_expect_eq(volt_cas_gc(&cas, &o, no_items, &strangers, &st, count_reports, &d), -EBADMSG);
	cr_expect_str_eq(d.file, name);
	cr_expect_neq(d.reason[0], '\0');
	p = object_path(loose);
	cr_expect_eq(access(p, F_OK), 0);
	free(p);
}

/* Pruning (issue 11 item 3) */

/* An aged object of content s; its name to hex. */
static void put_old_object(const char *s, char hex[VOLT_HASH_HEX_MAX + 1])
{
	char *p;

	vt_put_object(cas_path, s, strlen(s), 0444, hex);
	p = object_path(hex);
	age(p);
	free(p);
}

/* A ref of profile created at created naming objects a and b (b may be NULL). */
static void put_build(const char *profile, const char *created, const char *a, const char *b,
		      char name[64])
{
	char json[512];

	snprintf(json, sizeof(json),
		 "{\"name\": \"%s\", \"created_at\": \"%s\", \"objects\": "
		 "{\"bin/qemu-system-x86_64\": \"%s\"%s%s%s}}",
		 profile, created, a, b ? ", \"lib/shared.so\": \"" : "", b ? b : "",
		 b ? "\"" : "");
	vt_put_ref(cas_path, profile, json, name);
}

static bool ref_exists(const char *name)
{
	return faccessat(cas.refs_fd, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

static bool object_exists(const char *hex)
{
	return faccessat(cas.objects_fd, hex, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

static bool item_is(const struct items *it, enum volt_gc_kind kind, const char *dir,
		    const char *name)
{
	char want[128];

	snprintf(want, sizeof(want), "%s/%s", dir, name);
	for (int i = 0; i < it->n; i++)
		if (it->kinds[i] == kind && strcmp(it->names[i], want) == 0)
			return true;
	return false;
}

/*
 * kvm-linux keeps builds of 2024-01, -02, -03 and one dated 9999 (it ranks
 * last, as voltfs ranks it); kvm-uefi one old build; a profile this
 * version does not know one. --keep 2 prunes kvm-linux's 2024-01 and 9999
 * builds and then the objects only they named; the shared object stays.
 */
Test(maintain, gc_keep_prunes_older_builds_then_their_objects)
{
	char a[VOLT_HASH_HEX_MAX + 1], b[VOLT_HASH_HEX_MAX + 1], c[VOLT_HASH_HEX_MAX + 1];
	char f[VOLT_HASH_HEX_MAX + 1], e[VOLT_HASH_HEX_MAX + 1], s[VOLT_HASH_HEX_MAX + 1];
	char u[VOLT_HASH_HEX_MAX + 1];
	char r1[64], r2[64], r3[64], rf[64], re[64], ru[64], ru2[64];
	struct volt_gc_opts o = { .keep = 2 };
	struct volt_gc_stats st;
	struct volt_diag d;
	struct items items = { .n = 0 };

	put_old_object("build 1", a);
	put_old_object("build 2", b);
	put_old_object("build 3", c);
	put_old_object("future build", f);
	put_old_object("uefi build", e);
	put_old_object("shared", s);
	put_old_object("unknown profile's", u);
	put_build("kvm-linux", "2024-01-01T00:00:00Z", a, s, r1);
	put_build("kvm-linux", "2024-02-01T00:00:00Z", b, s, r2);
	put_build("kvm-linux", "2024-03-01T00:00:00Z", c, s, r3);
	put_build("kvm-linux", "9999-12-31T00:00:00Z", f, NULL, rf);
	put_build("kvm-uefi", "2020-01-01T00:00:00Z", e, NULL, re);
	put_build("kvm-future", "2000-01-01T00:00:00Z", u, NULL, ru);
	put_build("kvm-future", "1999-01-01T00:00:00Z", u, NULL, ru2);

	/* Dry run: said, nothing removed. */
	cr_assert_eq(volt_cas_gc(&cas, &o, gc_collect, &items, &st, NULL, &d), 0, "%s", d.reason);
	cr_expect_eq(st.refs, 7);
	cr_expect_eq(st.pruned, 2);
	cr_expect_eq(st.unreferenced, 2);
	cr_expect_eq(items.n, 4);
	cr_expect(item_is(&items, VOLT_GC_REF, "refs", r1), "2024-01 not pruned");
	cr_expect(item_is(&items, VOLT_GC_REF, "refs", rf), "the future-dated build not pruned");
	cr_expect(item_is(&items, VOLT_GC_OBJECT, "objects", a));
	cr_expect(item_is(&items, VOLT_GC_OBJECT, "objects", f));
	cr_expect(ref_exists(r1) && ref_exists(rf) && object_exists(a) && object_exists(f), "a dry "
											    "run "
											    "remove"
											    "d "
											    "someth"
											    "ing");

	/* --keep 1: only the one that serves, for each profile; not the 9999 one. */
	o.keep = 1;
	items.n = 0;
	cr_assert_eq(volt_cas_gc(&cas, &o, gc_collect, &items, &st, NULL, &d), 0);
	cr_expect_eq(st.pruned, 3);
	cr_expect(!item_is(&items, VOLT_GC_REF, "refs", r3), "the build that serves was pruned");
	cr_expect(!item_is(&items, VOLT_GC_REF, "refs", re), "kvm-uefi's only build was pruned");
	cr_expect(!item_is(&items, VOLT_GC_REF, "refs", ru) &&
			  !item_is(&items, VOLT_GC_REF, "refs", ru2),
		  "an unknown profile's ref was pruned");

	/* --keep-days alone: every build older than it goes, but the one that serves. */
	o.keep = 0;
	o.keep_seconds = 86400;
	items.n = 0;
	cr_assert_eq(volt_cas_gc(&cas, &o, gc_collect, &items, &st, NULL, &d), 0);
	cr_expect_eq(st.pruned, 2, "the 9999 build is recent by date, so kept: %llu",
		     (unsigned long long)st.pruned);
	cr_expect(item_is(&items, VOLT_GC_REF, "refs", r1) &&
		  item_is(&items, VOLT_GC_REF, "refs", r2));

	/* --force --keep 2: refs first, then the objects only they named. */
	o = (struct volt_gc_opts){ .keep = 2, .force = true };
	items.n = 0;
	cr_assert_eq(volt_cas_gc(&cas, &o, gc_collect, &items, &st, NULL, &d), 0);
	cr_expect_eq(items.kinds[0], VOLT_GC_REF, "an object went before the refs naming it");
	cr_expect(!ref_exists(r1) && !ref_exists(rf));
	cr_expect(ref_exists(r2) && ref_exists(r3) && ref_exists(re) && ref_exists(ru) &&
		  ref_exists(ru2));
	cr_expect(!object_exists(a) && !object_exists(f));
	cr_expect(object_exists(b) && object_exists(c) && object_exists(s) && object_exists(e) &&
		  object_exists(u));

	/* Again: nothing more to prune. */
	items.n = 0;
	cr_assert_eq(volt_cas_gc(&cas, &o, gc_collect, &items, &st, NULL, &d), 0);
	cr_expect_eq(st.pruned, 0);
	cr_expect_eq(items.n, 0);
}

/* Pruning does not lift the refusal: a ref that does not load stops everything. */
Test(maintain, gc_keep_refuses_with_a_broken_ref)
{
	char a[VOLT_HASH_HEX_MAX + 1], r1[64], r2[64], bad[64];
	struct volt_gc_opts o = { .keep = 1, .force = true };
	struct volt_gc_stats st;
	struct volt_diag d;

	put_old_object("build", a);
	put_build("kvm-linux", "2024-01-01T00:00:00Z", a, NULL, r1);
	put_build("kvm-linux", "2024-02-01T00:00:00Z", a, NULL, r2);
	vt_put_ref(cas_path, "kvm-linux", "{\"name\": \"x\"", bad);
	cr_expect_eq(volt_cas_gc(&cas, &o, no_items, NULL, &st, NULL, &d), -EBADMSG);
	cr_expect_str_eq(d.file, bad);
	cr_expect(ref_exists(r1) && ref_exists(r2));
}
