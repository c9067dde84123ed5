// SPDX-License-Identifier: MIT
/*
 * Tests for core/refs.c: ref file names, listing refs/, and choosing the ref
 * that serves a profile (newest created_at, ties to the greatest name, a
 * broken ref reported and skipped, never hiding an older good one).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "support.h"
#include "voltfs/refs.h"

#define H1 "6bba86c7e069f56d5a10b435f1c8e49c"

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

TestSuite(ref_name, .fini = check_leaks);
TestSuite(refs_best, .fini = check_leaks);
TestSuite(refs_each, .fini = check_leaks);

/* Ref names */

static void expect_name(const char *name, int err, enum volt_profile want, const char *want_id)
{
	enum volt_profile p = VOLT_PROFILE_INVALID;
	char id[VOLT_REF_ID_LEN + 1] = "";
	int ret = volt_ref_parse_name(name, &p, id);

	cr_expect_eq(ret, err, "'%s': %d, want %d", name, ret, err);
	if (err == 0 && ret == 0) {
		cr_expect_eq(p, want, "'%s'", name);
		cr_expect_str_eq(id, want_id, "'%s'", name);
	}
}

Test(ref_name, known_profiles_parse)
{
	expect_name("kvm-linux-0123abcd.json", 0, VOLT_PROFILE_KVM_LINUX, "0123abcd");
	expect_name("kvm-uefi-ffffffff.json", 0, VOLT_PROFILE_KVM_UEFI, "ffffffff");
	expect_name("emulate-x86-00000000.json", 0, VOLT_PROFILE_EMULATE_X86, "00000000");
	expect_name("emulate-foreign-89abcdef.json", 0, VOLT_PROFILE_EMULATE_FOREIGN, "89abcdef");
}

Test(ref_name, unknown_profile_is_enoent)
{
	expect_name("foo-0123abcd.json", -ENOENT, 0, NULL);
	expect_name("kvm-0123abcd.json", -ENOENT, 0, NULL);
	expect_name("kvm-linuxx-0123abcd.json", -ENOENT, 0, NULL);
	expect_name("KVM-LINUX-0123abcd.json", -ENOENT, 0, NULL);
	expect_name("emulate-arm-0123abcd.json", -ENOENT, 0, NULL);
	expect_name("x-kvm-linux-0123abcd.json", -ENOENT, 0, NULL);
}

Test(ref_name, malformed_is_einval)
{
	static const char *const bad[] = {
		"kvm-linux-0123abc.json",   /* 7 hex */
		"kvm-linux-0123abcde.json", /* 9 hex */
		"kvm-linux-0123ABCD.json",  /* uppercase */
		"kvm-linux-0123abcD.json",
		"kvm-linux-0123abcg.json", /* not hex */
		"kvm-linux-0123abcd",	   /* no .json */
		"kvm-linux-0123abcd.JSON",
		"kvm-linux-0123abcd.json~",
		"kvm-linux-0123abcd.json.tmp",
		"kvm-linux-0123abcd.jso",
		"kvm-linux_0123abcd.json", /* no dash before the id */
		"kvm-linux0123abcd.json",
		"0123abcd.json",
		"-0123abcd.json",
		".json",
		"",
		"README",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		expect_name(bad[i], -EINVAL, 0, NULL);
}

Test(ref_name, make_name_is_profile_and_content_id)
{
	char name[VOLT_REF_NAME_MAX];

	/* `printf 'hello\n' | xxhsum -H2` starts with 6bba86c7. */
	volt_ref_make_name(VOLT_PROFILE_KVM_LINUX, "hello\n", 6, name);
	cr_expect_str_eq(name, "kvm-linux-6bba86c7.json");
	volt_ref_make_name(VOLT_PROFILE_EMULATE_FOREIGN, "", 0, name);
	cr_expect_str_eq(name, "emulate-foreign-99aa06d3.json");
	expect_name(name, 0, VOLT_PROFILE_EMULATE_FOREIGN, "99aa06d3");
}

/* Fixtures: a store and a report callback that records what it is told */

static char *tmp;
static char *cas_path;
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
	tmp = cas_path = NULL;
}

#define MAX_REPORTS 16

struct reports {
	int n;
	struct volt_diag d[MAX_REPORTS];
};

static void record(void *ctx, const struct volt_diag *d)
{
	struct reports *r = ctx;

	cr_assert_lt(r->n, MAX_REPORTS);
	r->d[r->n++] = *d;
}

/* The one report must be about file. */
static void expect_one_report(const struct reports *r, const char *file)
{
	cr_expect_eq(r->n, 1, "%d reports, want 1 about %s (first: %s)", r->n, file,
		     r->n ? r->d[0].file : "");
	if (r->n >= 1) {
		cr_expect_str_eq(r->d[0].file, file);
		cr_expect_neq(r->d[0].reason[0], '\0', "no reason for %s", file);
	}
}

static char *manifest_json(const char *name, const char *created_at, const char *objects)
{
	char *json;

	cr_assert(asprintf(&json, "{\"name\":\"%s\",\"created_at\":\"%s\",\"objects\":{%s}}\n",
			   name, created_at, objects ? objects : "\"bin/qemu\":\"" H1 "\"") > 0);
	return json;
}

/* Write a ref for profile; its file name goes to name. */
static void put_ref(const char *profile, const char *mname, const char *created_at, char name[64])
{
	char *json = manifest_json(mname, created_at, NULL);

	vt_put_ref(cas_path, profile, json, name);
	free(json);
}

/* A file in refs/ with exactly this name and content. */
static void put_raw(const char *name, const char *content)
{
	char *rel, *p;

	cr_assert(asprintf(&rel, "refs/%s", name) > 0);
	p = vt_join(cas_path, rel);
	vt_write_str(p, content);
	free(rel);
	free(p);
}

static bool is_zero(const struct volt_manifest *m)
{
	static const struct volt_manifest zero;

	return memcmp(m, &zero, sizeof(zero)) == 0;
}

/*
 * Two kvm-linux refs created at older and newer, whose file names sort with
 * the newer one first (newer_first) or last: the manifest names are varied
 * until the content ids give that order. File names go to old_name/new_name.
 */
static void put_pair(const char *older, const char *newer, bool newer_first, char old_name[64],
		     char new_name[64])
{
	for (int k = 0; k < 100; k++) {
		char mname[32];

		snprintf(mname, sizeof(mname), "old-%d", k);
		put_ref("kvm-linux", mname, older, old_name);
		snprintf(mname, sizeof(mname), "new-%d", k);
		put_ref("kvm-linux", mname, newer, new_name);
		if ((strcmp(new_name, old_name) < 0) == newer_first)
			return;
		cr_assert_eq(unlinkat(cas.refs_fd, old_name, 0), 0);
		cr_assert_eq(unlinkat(cas.refs_fd, new_name, 0), 0);
	}
	cr_assert_fail("no pair of refs in the wanted name order");
}

/*
 * load_best for kvm-linux must pick want_name, whose manifest says
 * created_at want_created, and report nothing.
 */
static void expect_best(const char *want_name, const char *want_created)
{
	struct volt_manifest m;
	struct volt_ref ref;
	struct reports r = { 0 };
	int ret;

	memset(&ref, 0, sizeof(ref));
	ret = volt_refs_load_best(&cas, VOLT_PROFILE_KVM_LINUX, &m, &ref, record, &r);
	cr_assert_eq(ret, 0, "load_best: %d", ret);
	cr_expect_str_eq(ref.name, want_name);
	cr_expect_eq(ref.profile, VOLT_PROFILE_KVM_LINUX);
	cr_expect_eq(strncmp(ref.id, want_name + strlen("kvm-linux-"), 8), 0, "id %s", ref.id);
	cr_expect_str_eq(m.created_at, want_created);
	cr_expect_eq(r.n, 0, "a ref was reported: %s: %s", r.n ? r.d[0].file : "",
		     r.n ? r.d[0].reason : "");
	volt_manifest_release(&m);
}

Test(refs_best, newest_wins_when_its_name_sorts_first, .init = setup, .fini = teardown)
{
	char old_name[64], new_name[64];

	put_pair("2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z", true, old_name, new_name);
	expect_best(new_name, "2026-01-02T00:00:00Z");
}

Test(refs_best, newest_wins_when_its_name_sorts_last, .init = setup, .fini = teardown)
{
	char old_name[64], new_name[64];

	put_pair("2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z", false, old_name, new_name);
	expect_best(new_name, "2026-01-02T00:00:00Z");
}

Test(refs_best, fractions_of_a_second_count, .init = setup, .fini = teardown)
{
	char old_name[64], new_name[64];

	put_pair("2026-01-02T03:04:05.1Z", "2026-01-02T03:04:05.2Z", true, old_name, new_name);
	expect_best(new_name, "2026-01-02T03:04:05.2Z");
}

Test(refs_best, fractions_of_a_second_count_in_either_name_order, .init = setup, .fini = teardown)
{
	char old_name[64], new_name[64];

	put_pair("2026-01-02T03:04:05.1Z", "2026-01-02T03:04:05.2Z", false, old_name, new_name);
	expect_best(new_name, "2026-01-02T03:04:05.2Z");
}

/* 05:00+03:00 is 02:00 UTC: older, though its text sorts after 03:00Z. */
Test(refs_best, times_compare_as_instants_not_text, .init = setup, .fini = teardown)
{
	char old_name[64], new_name[64];

	put_pair("2026-01-02T05:00:00+03:00", "2026-01-02T03:00:00Z", true, old_name, new_name);
	expect_best(new_name, "2026-01-02T03:00:00Z");
}

/* Newest among many, in whatever order the folder lists them. */
Test(refs_best, newest_of_many, .init = setup, .fini = teardown)
{
	static const char *const times[] = {
		"2025-06-01T00:00:00Z",	     "2026-03-01T12:00:00Z",
		"2024-01-01T00:00:00Z",	     "2026-03-01T11:59:59.999999999Z",
		"2026-02-28T23:00:00-05:00",
	};
	char names[5][64];

	for (int i = 0; i < 5; i++) {
		char mname[16];

		snprintf(mname, sizeof(mname), "m%d", i);
		put_ref("kvm-linux", mname, times[i], names[i]);
	}
	/* 2026-02-28T23:00-05:00 is 2026-03-01T04:00Z: older than 12:00Z. */
	expect_best(names[1], times[1]);
}

/* The same instant written two ways, and a third ref: the greatest name wins. */
Test(refs_best, tie_goes_to_greatest_name, .init = setup, .fini = teardown)
{
	static const char *const times[] = { "2026-01-02T03:04:05Z", "2026-01-02T05:04:05+02:00",
					     "2026-01-02t03:04:05.000z" };
	char names[3][64], want_created[64] = "";
	const char *greatest = NULL;
	struct volt_manifest m;
	struct volt_ref ref;
	struct reports r = { 0 };

	for (int i = 0; i < 3; i++) {
		char mname[16];

		snprintf(mname, sizeof(mname), "tie%d", i);
		put_ref("kvm-linux", mname, times[i], names[i]);
		if (!greatest || strcmp(names[i], greatest) > 0) {
			greatest = names[i];
			snprintf(want_created, sizeof(want_created), "%s", times[i]);
		}
	}
	cr_assert_eq(volt_refs_load_best(&cas, VOLT_PROFILE_KVM_LINUX, &m, &ref, record, &r), 0);
	cr_expect_str_eq(ref.name, greatest);
	cr_expect_str_eq(m.created_at, want_created);
	cr_expect_eq(r.n, 0);
	volt_manifest_release(&m);
}

/*
 * A broken ref, newer than the good one by its created_at where it has one,
 * must not hide the good one, and is reported once, by file name.
 */
static void expect_broken_skipped(const char *good_name, const char *broken_name,
				  const char *broken_entry)
{
	struct volt_manifest m;
	struct volt_ref ref;
	struct reports r = { 0 };
	int ret;

	ret = volt_refs_load_best(&cas, VOLT_PROFILE_KVM_LINUX, &m, &ref, record, &r);
	cr_assert_eq(ret, 0, "the broken %s hid the good %s: %d", broken_name, good_name, ret);
	cr_expect_str_eq(ref.name, good_name);
	cr_expect_str_eq(m.created_at, "2026-01-01T00:00:00Z");
	expect_one_report(&r, broken_name);
	if (broken_entry && r.n >= 1)
		cr_expect_str_eq(r.d[0].entry, broken_entry);
	volt_manifest_release(&m);
}

Test(refs_best, broken_json_does_not_hide_older, .init = setup, .fini = teardown)
{
	char good[64], bad[64];

	put_ref("kvm-linux", "good", "2026-01-01T00:00:00Z", good);
	vt_put_ref(cas_path, "kvm-linux",
		   "{\"name\":\"bad\",\"created_at\":\"2026-06-01T00:00:00Z\",\"objects\":{", bad);
	expect_broken_skipped(good, bad, NULL);
}

Test(refs_best, bad_path_does_not_hide_older, .init = setup, .fini = teardown)
{
	char good[64], bad[64], *json;

	put_ref("kvm-linux", "good", "2026-01-01T00:00:00Z", good);
	json = manifest_json("bad", "2026-06-01T00:00:00Z",
			     "\"bin/qemu\":\"" H1 "\",\"../../etc/shadow\":\"" H1 "\"");
	vt_put_ref(cas_path, "kvm-linux", json, bad);
	free(json);
	expect_broken_skipped(good, bad, "../../etc/shadow");
}

Test(refs_best, bad_hash_does_not_hide_older, .init = setup, .fini = teardown)
{
	char good[64], bad[64], *json;

	put_ref("kvm-linux", "good", "2026-01-01T00:00:00Z", good);
	json = manifest_json("bad", "2026-06-01T00:00:00Z", "\"bin/qemu\":\"../objects/x\"");
	vt_put_ref(cas_path, "kvm-linux", json, bad);
	free(json);
	expect_broken_skipped(good, bad, "bin/qemu");
}

Test(refs_best, id_mismatch_does_not_hide_older, .init = setup, .fini = teardown)
{
	char good[64], real[64], *json;
	static const char fake[] = "kvm-linux-00000000.json";

	put_ref("kvm-linux", "good", "2026-01-01T00:00:00Z", good);
	json = manifest_json("bad", "2026-06-01T00:00:00Z", NULL);
	volt_ref_make_name(VOLT_PROFILE_KVM_LINUX, json, strlen(json), real);
	cr_assert_str_neq(real, fake);
	put_raw(fake, json);
	free(json);
	expect_broken_skipped(good, fake, NULL);
}

/* Also named ffffffff, the greatest id: it would win any tie. */
Test(refs_best, id_mismatch_greatest_name_does_not_win, .init = setup, .fini = teardown)
{
	char good[64], *json;
	static const char fake[] = "kvm-linux-ffffffff.json";

	put_ref("kvm-linux", "good", "2026-01-01T00:00:00Z", good);
	json = manifest_json("good", "2026-01-01T00:00:00Z", NULL);
	put_raw(fake, json);
	free(json);
	expect_broken_skipped(good, fake, NULL);
}

/* A link in refs/ is not followed, even to a well-formed manifest with the right id. */
Test(refs_best, symlink_ref_does_not_hide_older, .init = setup, .fini = teardown)
{
	char good[64], link_name[64], *json, *target, *rel, *link;

	put_ref("kvm-linux", "good", "2026-01-01T00:00:00Z", good);
	json = manifest_json("linked", "2026-06-01T00:00:00Z", NULL);
	target = vt_join(tmp, "outside.json");
	vt_write_str(target, json);
	volt_ref_make_name(VOLT_PROFILE_KVM_LINUX, json, strlen(json), link_name);
	cr_assert(asprintf(&rel, "refs/%s", link_name) > 0);
	link = vt_join(cas_path, rel);
	cr_assert_eq(symlink(target, link), 0);
	expect_broken_skipped(good, link_name, NULL);
	free(json);
	free(target);
	free(rel);
	free(link);
}

Test(refs_best, folder_named_like_a_ref_does_not_hide_older, .init = setup, .fini = teardown)
{
	char good[64];

	put_ref("kvm-linux", "good", "2026-01-01T00:00:00Z", good);
	cr_assert_eq(mkdirat(cas.refs_fd, "kvm-linux-ffffffff.json", 0755), 0);
	expect_broken_skipped(good, "kvm-linux-ffffffff.json", NULL);
}

/* Several broken refs around a good one: each reported exactly once. */
Test(refs_best, every_broken_ref_reported_once, .init = setup, .fini = teardown)
{
	char good[64], bad1[64], bad2[64], *json;
	struct volt_manifest m;
	struct volt_ref ref;
	struct reports r = { 0 };
	bool seen1 = false, seen2 = false, seen3 = false;

	put_ref("kvm-linux", "good", "2026-01-01T00:00:00Z", good);
	vt_put_ref(cas_path, "kvm-linux", "[]", bad1);
	json = manifest_json("bad", "2026-06-01T00:00:00Z", "\"args\":\"" H1 "\"");
	vt_put_ref(cas_path, "kvm-linux", json, bad2);
	free(json);
	put_raw("kvm-linux-00000000.json", "{}");
	cr_assert_eq(volt_refs_load_best(&cas, VOLT_PROFILE_KVM_LINUX, &m, &ref, record, &r), 0);
	cr_expect_str_eq(ref.name, good);
	cr_expect_eq(r.n, 3);
	for (int i = 0; i < r.n; i++) {
		seen1 |= !strcmp(r.d[i].file, bad1);
		seen2 |= !strcmp(r.d[i].file, bad2);
		seen3 |= !strcmp(r.d[i].file, "kvm-linux-00000000.json");
	}
	cr_expect(seen1 && seen2 && seen3, "reports: %s, %s, %s", r.n > 0 ? r.d[0].file : "",
		  r.n > 1 ? r.d[1].file : "", r.n > 2 ? r.d[2].file : "");
	volt_manifest_release(&m);
}

Test(refs_best, only_broken_refs_is_enoent, .init = setup, .fini = teardown)
{
	char bad[64];
	struct volt_manifest m;
	struct volt_ref ref;
	struct reports r = { 0 };

	vt_put_ref(cas_path, "kvm-linux", "not json", bad);
	put_raw("kvm-linux-00000000.json", "{}");
	memset(&m, 0xa5, sizeof(m));
	cr_expect_eq(volt_refs_load_best(&cas, VOLT_PROFILE_KVM_LINUX, &m, &ref, record, &r),
		     -ENOENT);
	cr_expect(is_zero(&m), "m not left empty");
	cr_expect_eq(r.n, 2);
}

Test(refs_best, no_refs_is_enoent, .init = setup, .fini = teardown)
{
	struct volt_manifest m;
	struct volt_ref ref;
	struct reports r = { 0 };

	memset(&m, 0xa5, sizeof(m));
	cr_expect_eq(volt_refs_load_best(&cas, VOLT_PROFILE_KVM_LINUX, &m, &ref, record, &r),
		     -ENOENT);
	cr_expect(is_zero(&m), "m not left empty");
	cr_expect_eq(r.n, 0);
	/* report may be NULL. */
	cr_expect_eq(volt_refs_load_best(&cas, VOLT_PROFILE_KVM_UEFI, &m, &ref, NULL, NULL),
		     -ENOENT);
}

/* Newer refs of other profiles, unknown names and their broken refs change nothing. */
Test(refs_best, other_profiles_do_not_count, .init = setup, .fini = teardown)
{
	char good[64], other[64], unknown[64], x86[64];
	struct volt_manifest m;
	struct volt_ref ref;
	struct reports r = { 0 };

	put_ref("kvm-linux", "good", "2026-01-01T00:00:00Z", good);
	put_ref("kvm-uefi", "uefi", "2027-01-01T00:00:00Z", other);
	put_ref("emulate-x86", "x86", "2027-01-01T00:00:00Z", x86);
	put_ref("foo", "foo", "2028-01-01T00:00:00Z", unknown);
	vt_put_ref(cas_path, "kvm-uefi", "broken", other);
	expect_best(good, "2026-01-01T00:00:00Z");

	memset(&m, 0xa5, sizeof(m));
	cr_expect_eq(volt_refs_load_best(&cas, VOLT_PROFILE_EMULATE_FOREIGN, &m, &ref, record, &r),
		     -ENOENT);
	cr_expect(is_zero(&m));
	cr_expect_eq(r.n, 0, "unknown or other profiles' refs reported: %s",
		     r.n ? r.d[0].file : "");

	cr_assert_eq(volt_refs_load_best(&cas, VOLT_PROFILE_EMULATE_X86, &m, &ref, record, &r), 0);
	cr_expect_str_eq(ref.name, x86);
	cr_expect_eq(ref.profile, VOLT_PROFILE_EMULATE_X86);
	cr_expect_str_eq(m.name, "x86");
	volt_manifest_release(&m);
}

/* Writers' temporary files start with a dot: never candidates, never reported. */
Test(refs_best, dot_files_ignored, .init = setup, .fini = teardown)
{
	char good[64], *json;

	put_ref("kvm-linux", "good", "2026-01-01T00:00:00Z", good);
	json = manifest_json("tmp", "2027-01-01T00:00:00Z", NULL);
	put_raw(".tmp-1234-kvm-linux-00000000.json", json);
	free(json);
	put_raw(".kvm-linux-00000000.json", "{}");
	expect_best(good, "2026-01-01T00:00:00Z");
}

/* volt_refs_each */

#define MAX_SEEN 16

struct seen {
	int n;
	int stop_at; /* return 7 from the call with this index; -1 never */
	struct volt_ref r[MAX_SEEN];
};

static int collect(void *ctx, const struct volt_ref *r)
{
	struct seen *s = ctx;

	cr_assert_lt(s->n, MAX_SEEN);
	s->r[s->n] = *r;
	return s->n++ == s->stop_at ? 7 : 0;
}

static void touch(const char *name)
{
	put_raw(name, "{}");
}

Test(refs_each, known_refs_in_name_order_unknown_reported, .init = setup, .fini = teardown)
{
	static const char *const known[] = {
		"emulate-foreign-00000000.json", "emulate-x86-ffffffff.json",
		"kvm-linux-0123abcd.json",	 "kvm-linux-0123abce.json",
		"kvm-uefi-00000001.json",
	};
	static const enum volt_profile profiles[] = {
		VOLT_PROFILE_EMULATE_FOREIGN, VOLT_PROFILE_EMULATE_X86, VOLT_PROFILE_KVM_LINUX,
		VOLT_PROFILE_KVM_LINUX,	      VOLT_PROFILE_KVM_UEFI,
	};
	static const char *const unknown[] = {
		"README",
		"foo-0123abcd.json",
		"kvm-linux-0123ABCD.json",
		"kvm-linux-0123abcd.json~",
	};
	struct seen s = { .stop_at = -1 };
	struct reports r = { 0 };

	/* Made in an order unlike the sorted one. */
	touch(known[3]);
	touch(unknown[1]);
	touch(known[0]);
	touch(known[4]);
	touch(unknown[0]);
	touch(known[2]);
	touch(unknown[3]);
	touch(known[1]);
	touch(unknown[2]);
	touch(".tmp-42-kvm-linux-01234567.json");
	touch(".hidden");

	cr_assert_eq(volt_refs_each(&cas, collect, &s, record, &r), 0);
	cr_assert_eq(s.n, 5);
	for (int i = 0; i < 5; i++) {
		cr_expect_str_eq(s.r[i].name, known[i]);
		cr_expect_eq(s.r[i].profile, profiles[i], "%s", known[i]);
		cr_expect_eq(strncmp(s.r[i].id, known[i] + strlen(known[i]) - 13, 8), 0, "%s: %s",
			     known[i], s.r[i].id);
		cr_expect_eq(strlen(s.r[i].id), 8);
	}
	/* Each unknown name once; no dot file. */
	cr_expect_eq(r.n, 4, "%d reports", r.n);
	for (size_t u = 0; u < sizeof(unknown) / sizeof(*unknown); u++) {
		int count = 0;

		for (int i = 0; i < r.n; i++)
			count += !strcmp(r.d[i].file, unknown[u]);
		cr_expect_eq(count, 1, "%s reported %d times", unknown[u], count);
	}
	for (int i = 0; i < r.n; i++) {
		cr_expect_neq(r.d[i].file[0], '.', "dot file reported: %s", r.d[i].file);
		cr_expect_neq(r.d[i].reason[0], '\0', "no reason for %s", r.d[i].file);
	}
}

Test(refs_each, stops_at_first_nonzero, .init = setup, .fini = teardown)
{
	struct seen s = { .stop_at = 1 };

	touch("kvm-linux-00000001.json");
	touch("kvm-linux-00000002.json");
	touch("kvm-linux-00000003.json");
	cr_expect_eq(volt_refs_each(&cas, collect, &s, NULL, NULL), 7);
	cr_expect_eq(s.n, 2);
	cr_expect_str_eq(s.r[1].name, "kvm-linux-00000002.json");
}

Test(refs_each, empty_refs, .init = setup, .fini = teardown)
{
	struct seen s = { .stop_at = -1 };
	struct reports r = { 0 };

	touch(".only-a-dot-file");
	cr_expect_eq(volt_refs_each(&cas, collect, &s, record, &r), 0);
	cr_expect_eq(s.n, 0);
	cr_expect_eq(r.n, 0);
}

/* The listing is made afresh on every call: a ref added later is seen. */
Test(refs_each, sees_new_refs, .init = setup, .fini = teardown)
{
	struct seen s = { .stop_at = -1 };

	touch("kvm-linux-00000002.json");
	cr_expect_eq(volt_refs_each(&cas, collect, &s, NULL, NULL), 0);
	cr_expect_eq(s.n, 1);
	touch("kvm-linux-00000001.json");
	s.n = 0;
	cr_expect_eq(volt_refs_each(&cas, collect, &s, NULL, NULL), 0);
	cr_assert_eq(s.n, 2);
	cr_expect_str_eq(s.r[0].name, "kvm-linux-00000001.json");
}

/*
 * A ref dated 9999-12-31 does not win over a build made today, whichever
 * name sorts first, and says why; alone, it still serves (a host with a
 * wrong clock keeps its profile).
 */
Test(refs_best, future_dated_ref_ranks_below_the_present, .init = setup, .fini = teardown)
{
	char now_created[32], old_name[64], new_name[64];
	struct volt_manifest m;
	struct volt_ref ref;
	struct reports r = { 0 };
	time_t t = time(NULL);

	strftime(now_created, sizeof(now_created), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
	put_pair(now_created, "9999-12-31T00:00:00Z", true, old_name, new_name);
	cr_assert_eq(volt_refs_load_best(&cas, VOLT_PROFILE_KVM_LINUX, &m, &ref, record, &r), 0);
	cr_expect_str_eq(ref.name, old_name, "the future-dated ref won");
	cr_expect_str_eq(m.created_at, now_created);
	expect_one_report(&r, new_name);
	cr_expect_not_null(strstr(r.d[0].reason, "ahead of this host's clock"), "%s",
			   r.d[0].reason);
	volt_manifest_release(&m);
	cr_assert_eq(unlinkat(cas.refs_fd, old_name, 0), 0);
	r.n = 0;
	cr_assert_eq(volt_refs_load_best(&cas, VOLT_PROFILE_KVM_LINUX, &m, &ref, record, &r), 0);
	cr_expect_str_eq(ref.name, new_name, "alone, the future-dated ref must still serve");
	volt_manifest_release(&m);
}

/* Choosing with a memo: what each choice reads (issue 11 item 2, issue 13 item 6). */

TestSuite(refs_memo, .init = setup, .fini = teardown);

/* Choose for kvm-linux with memo; the stats it added go to *heads / *loads. */
static int choose_counted(struct volt_refs_memo *memo, const char *keep, struct volt_ref *ref,
			  struct reports *r, uint64_t *heads, uint64_t *loads)
{
	struct volt_refs_stats before, after;
	struct volt_manifest m;
	int ret;

	volt_refs_memo_stats(memo, &before);
	ret = volt_refs_choose(memo, &cas, keep, &m, ref, record, r);
	volt_refs_memo_stats(memo, &after);
	*heads = after.heads - before.heads;
	*loads = after.loads - before.loads;
	if (ret == 0)
		volt_manifest_release(&m);
	else
		cr_expect(is_zero(&m), "m not left empty (%d)", ret);
	return ret;
}

static struct volt_refs_memo *new_memo(void)
{
	struct volt_refs_memo *memo;

	cr_assert_eq(volt_refs_memo_new(&memo, VOLT_PROFILE_KVM_LINUX), 0);
	return memo;
}

/* 50 builds kept: one head read each, one full load, and nothing more until refs/ changes. */
Test(refs_memo, only_the_winner_is_loaded, .fini = teardown)
{
	struct volt_refs_memo *memo = new_memo();
	char name[64], newest[64] = "", other[64];
	struct reports r = { 0 };
	struct volt_ref ref;
	uint64_t heads, loads;

	for (int i = 0; i < 50; i++) {
		char created[32];

		snprintf(created, sizeof(created), "2025-01-%02dT00:00:00Z", 1 + i % 28);
		if (i >= 28)
			snprintf(created, sizeof(created), "2025-02-%02dT00:00:00Z", i - 27);
		put_ref("kvm-linux", created, created, name);
		if (i == 49)
			snprintf(newest, sizeof(newest), "%s", name); /* 2025-02-22, the newest */
	}
	put_ref("kvm-uefi", "uefi", "2025-03-01T00:00:00Z", other);
	cr_assert_eq(choose_counted(memo, NULL, &ref, &r, &heads, &loads), 0);
	cr_expect_str_eq(ref.name, newest);
	cr_expect_eq(heads, 50, "heads read: %llu", (unsigned long long)heads);
	cr_expect_eq(loads, 1, "refs parsed in full: %llu", (unsigned long long)loads);
	cr_expect_eq(r.n, 0);

	/* Chosen again with nothing new: no ref file is opened, and the loaded one stays. */
	cr_expect_eq(choose_counted(memo, newest, &ref, &r, &heads, &loads), 1);
	cr_expect_str_eq(ref.name, newest);
	cr_expect_eq(heads + loads, 0, "unchanged refs/ read again: %llu heads, %llu loads",
		     (unsigned long long)heads, (unsigned long long)loads);

	/* A writer's dot file costs nothing either. */
	put_raw(".tmp-123456", "{\"name\":");
	cr_expect_eq(choose_counted(memo, newest, &ref, &r, &heads, &loads), 1);
	cr_expect_eq(heads + loads, 0, "a dot file made %llu heads, %llu loads read",
		     (unsigned long long)heads, (unsigned long long)loads);

	/* An older ref added: its head only. A newer one: its head and its load. */
	put_ref("kvm-linux", "old", "2024-01-01T00:00:00Z", name);
	cr_expect_eq(choose_counted(memo, newest, &ref, &r, &heads, &loads), 1);
	cr_expect_eq(heads, 1);
	cr_expect_eq(loads, 0);
	put_ref("kvm-linux", "new", "2025-06-01T00:00:00Z", name);
	cr_expect_eq(choose_counted(memo, newest, &ref, &r, &heads, &loads), 0);
	cr_expect_str_eq(ref.name, name);
	cr_expect_eq(heads, 1);
	cr_expect_eq(loads, 1);

	/* The winner removed: the next one is loaded, from what is known, no head read again. */
	cr_assert_eq(unlinkat(cas.refs_fd, name, 0), 0);
	cr_expect_eq(choose_counted(memo, name, &ref, &r, &heads, &loads), 0);
	cr_expect_str_eq(ref.name, newest);
	cr_expect_eq(heads, 0);
	cr_expect_eq(loads, 1);
	cr_expect_eq(r.n, 0);
	volt_refs_memo_free(memo);
}

/* The newest two are bad: the third serves, and the bad ones are said and read once. */
Test(refs_memo, bad_winners_fall_back_in_order_once, .fini = teardown)
{
	struct volt_refs_memo *memo = new_memo();
	char good[64], older[64], bad_path[64], *json;
	static const char fake[] = "kvm-linux-ffffffff.json";
	struct reports r = { 0 };
	struct volt_ref ref;
	uint64_t heads, loads;

	put_ref("kvm-linux", "older", "2025-01-01T00:00:00Z", older);
	put_ref("kvm-linux", "good", "2025-02-01T00:00:00Z", good);
	json = manifest_json("bad", "2025-03-01T00:00:00Z", "\"../x\":\"" H1 "\"");
	vt_put_ref(cas_path, "kvm-linux", json, bad_path);
	free(json);
	json = manifest_json("fake", "2025-04-01T00:00:00Z", NULL);
	put_raw(fake, json); /* the wrong id */
	free(json);
	cr_assert_eq(choose_counted(memo, NULL, &ref, &r, &heads, &loads), 0);
	cr_expect_str_eq(ref.name, good);
	cr_expect_eq(heads, 4);
	cr_expect_eq(loads, 3, "the fake, the bad path, then the good one: %llu",
		     (unsigned long long)loads);
	cr_assert_eq(r.n, 2);
	cr_expect_str_eq(r.d[0].file, fake);
	cr_expect_str_eq(r.d[1].file, bad_path);
	cr_expect_str_eq(r.d[1].entry, "../x");

	put_raw(".tmp-1", "");
	r.n = 0;
	cr_expect_eq(choose_counted(memo, good, &ref, &r, &heads, &loads), 1);
	cr_expect_eq(heads + loads, 0, "bad refs read again: %llu heads, %llu loads",
		     (unsigned long long)heads, (unsigned long long)loads);
	cr_expect_eq(r.n, 0, "a bad ref said again: %s", r.n ? r.d[0].file : "");
	volt_refs_memo_free(memo);
}

/* A ref caught half-written in place is read again once it is complete. */
Test(refs_memo, half_written_ref_read_again_once_complete, .fini = teardown)
{
	struct volt_refs_memo *memo = new_memo();
	char good[64], name[64], *json;
	struct reports r = { 0 };
	struct volt_ref ref;
	uint64_t heads, loads;
	struct timespec ts[2] = { { 0, UTIME_OMIT }, { 1000000000, 0 } };

	put_ref("kvm-linux", "good", "2025-01-01T00:00:00Z", good);
	json = manifest_json("later", "2025-02-01T00:00:00Z", NULL);
	volt_ref_make_name(VOLT_PROFILE_KVM_LINUX, json, strlen(json), name);
	put_raw(name, "{\"name\":\"later\",\"created_at\":\"2025-02-01T00:00:00Z\",\"obj");
	cr_assert_eq(choose_counted(memo, NULL, &ref, &r, &heads, &loads), 0);
	cr_expect_str_eq(ref.name, good);
	cr_expect_eq(r.n, 1);
	put_raw(name, json);
	/* Whatever the clock's granularity, the file looks changed. */
	cr_assert_eq(utimensat(cas.refs_fd, name, ts, 0), 0);
	cr_expect_eq(choose_counted(memo, good, &ref, &r, &heads, &loads), 0);
	cr_expect_str_eq(ref.name, name, "the completed ref was not read again");
	free(json);
	volt_refs_memo_free(memo);
}

/*
 * The head read ranks as the full parse would: created_at found past a
 * 16 KiB head, after a path named created_at, and spelled with an escape.
 */
Test(refs_memo, head_read_ranks_as_the_parse_does, .fini = teardown)
{
	struct volt_refs_memo *memo = new_memo();
	char late[64], trap[64], escaped[64], *objects, *json;
	struct reports r = { 0 };
	struct volt_ref ref;
	uint64_t heads, loads;
	size_t len = 0;

	/* 2025-03 placed after 40 KiB of objects. */
	objects = malloc(1 << 20);
	cr_assert_not_null(objects);
	for (int i = 0; i < 1000; i++)
		len += (size_t)sprintf(objects + len, "%s\"lib/l%04d.so\":\"" H1 "\"", i ? "," : "",
				       i);
	cr_assert(asprintf(&json, "{\"name\":\"late\",\"objects\":{%s},\"created_at\":\"%s\"}",
			   objects, "2025-03-01T00:00:00Z") > 0);
	vt_put_ref(cas_path, "kvm-linux", json, late);
	free(json);
	/* A file named created_at holds a "date" that would win if taken for the field. */
	json = strdup("{\"name\":\"trap\",\"objects\":{\"created_at\":\"" H1 "\",\"x\":{\"created_"
		      "at\":1}},"
		      "\"created_at\":\"2025-01-01T00:00:00Z\"}");
	vt_put_ref(cas_path, "kvm-linux", json, trap);
	free(json);
	cr_assert_eq(choose_counted(memo, NULL, &ref, &r, &heads, &loads), 0);
	cr_expect_str_eq(ref.name, late, "%s: %s", r.n ? r.d[0].file : "",
			 r.n ? r.d[0].reason : "");
	cr_expect_eq(loads, 1, "a created_at past the head costs a longer read, not a parse: %llu",
		     (unsigned long long)loads);
	/* "created\u005fat" is the key created_at to JSON: 2025-04 wins. */
	vt_put_ref(cas_path, "kvm-linux",
		   "{\"name\":\"esc\",\"created\\u005fat\":\"2025-04-01T00:00:00Z\",\"objects\":{}"
		   "}",
		   escaped);
	cr_expect_eq(choose_counted(memo, late, &ref, &r, &heads, &loads), 0);
	cr_expect_str_eq(ref.name, escaped);
	cr_expect_eq(loads, 2, "an escaped key is left to the parser: %llu",
		     (unsigned long long)loads);
	cr_expect_eq(r.n, 0);
	free(objects);
	volt_refs_memo_free(memo);
}

/*
 * The ref serving, replaced under its name: with its own bytes it still is
 * the same build (kept, after one parse); with other bytes it is refused
 * and the older one serves.
 */
Test(refs_memo, serving_ref_replaced_under_its_name, .fini = teardown)
{
	struct volt_refs_memo *memo = new_memo();
	char older[64], served[64], *json, *other;
	struct reports r = { 0 };
	struct volt_ref ref;
	uint64_t heads, loads;

	put_ref("kvm-linux", "older", "2025-01-01T00:00:00Z", older);
	json = manifest_json("served", "2025-02-01T00:00:00Z", NULL);
	vt_put_ref(cas_path, "kvm-linux", json, served);
	cr_assert_eq(choose_counted(memo, NULL, &ref, &r, &heads, &loads), 0);
	cr_expect_str_eq(ref.name, served);

	/* The same bytes again, as a new file renamed over it. */
	cr_assert_eq(unlinkat(cas.refs_fd, served, 0), 0);
	put_raw(served, json);
	cr_expect_eq(choose_counted(memo, served, &ref, &r, &heads, &loads), 1);
	cr_expect_str_eq(ref.name, served);
	cr_expect_eq(loads, 1, "its bytes must be read again: %llu", (unsigned long long)loads);
	cr_expect_eq(choose_counted(memo, served, &ref, &r, &heads, &loads), 1);
	cr_expect_eq(loads, 0, "unchanged since: %llu", (unsigned long long)loads);

	/* Other bytes under its name: they do not match it. */
	other = manifest_json("other", "2025-03-01T00:00:00Z", NULL);
	cr_assert_eq(unlinkat(cas.refs_fd, served, 0), 0);
	put_raw(served, other);
	cr_expect_eq(choose_counted(memo, served, &ref, &r, &heads, &loads), 0);
	cr_expect_str_eq(ref.name, older, "a ref whose bytes do not match its name served");
	cr_expect_eq(r.n, 1);
	free(other);
	free(json);
	volt_refs_memo_free(memo);
}
