// SPDX-License-Identifier: MIT
/*
 * Tests for core/catalog.c: nothing is read before the first get, the best
 * ref is loaded once and shared (also between threads), synthetic texts are
 * rendered under the mount point, and a profile without a ref is tried
 * again once refs/ changes.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "support.h"
#include "voltfs/catalog.h"

#define MNT "/mnt/volt test"

static char *tmp, *cas_path;
static struct volt_cas cas;

static void setup(void)
{
	int ret;

	tmp = vt_tmpdir();
	cas_path = vt_join(tmp, "cas");
	vt_cas_init(cas_path);
	ret = volt_cas_open(&cas, cas_path, false);
	cr_assert_eq(ret, 0, "cas open: %d", ret);
}

static void teardown(void)
{
	volt_cas_release(&cas);
	vt_rmtree(tmp);
	free(cas_path);
	free(tmp);
}

TestSuite(catalog, .init = setup, .fini = teardown);

/* What the report callback saw. */
struct reports {
	pthread_mutex_t lock;
	int count;
	struct volt_diag d[16];
};

static void on_report(void *ctx, const struct volt_diag *d)
{
	struct reports *r = ctx;

	pthread_mutex_lock(&r->lock);
	if (r->count < 16)
		r->d[r->count] = *d;
	r->count++;
	pthread_mutex_unlock(&r->lock);
}

static bool reported(const struct reports *r, const char *file)
{
	for (int i = 0; i < r->count && i < 16; i++)
		if (!strcmp(r->d[i].file, file) && r->d[i].reason[0])
			return true;
	return false;
}

static struct volt_catalog *new_catalog(struct reports *rep, const char *mountpoint)
{
	struct volt_catalog_opts o = {
		.mountpoint = mountpoint,
		.render = { .memory = 512, .cpus = 2 },
		.report = rep ? on_report : NULL,
		.report_ctx = rep,
	};
	struct volt_catalog *c = NULL;
	int ret;

	if (rep) {
		memset(rep, 0, sizeof(*rep));
		pthread_mutex_init(&rep->lock, NULL);
	}
	ret = volt_catalog_new(&c, &cas, &o);
	cr_assert_eq(ret, 0, "catalog new: %d", ret);
	cr_assert_not_null(c);
	return c;
}

static void write_ref_file(const char *name, const char *content)
{
	char *refs = vt_join(cas_path, "refs"), *p = vt_join(refs, name);

	vt_write_str(p, content);
	free(p);
	free(refs);
}

struct obj {
	const char *path;
	const char *content;
	char hex[VOLT_HASH_HEX_MAX + 1];
};

/* Store objs and write a ref for profile; the ref's name goes to name. */
static void put_profile(const char *profile, const char *created, const char *arch,
			struct obj *objs, size_t n, char name[64])
{
	char json[4096], *p = json;
	size_t left = sizeof(json);
	int k;

	k = snprintf(p, left, "{\"name\": \"%s\", \"created_at\": \"%s\", ", profile, created);
	p += k;
	left -= (size_t)k;
	if (arch) {
		k = snprintf(p, left, "\"arch\": \"%s\", ", arch);
		p += k;
		left -= (size_t)k;
	}
	k = snprintf(p, left, "\"total_bytes\": 1234, \"qemu_version\": \"9.0.1\", \"objects\": {");
	p += k;
	left -= (size_t)k;
	for (size_t i = 0; i < n; i++) {
		vt_put_object(cas_path, objs[i].content, strlen(objs[i].content), 0444,
			      objs[i].hex);
		k = snprintf(p, left, "%s\"%s\": \"%s\"", i ? ", " : "", objs[i].path, objs[i].hex);
		p += k;
		left -= (size_t)k;
	}
	cr_assert_gt(snprintf(p, left, "}}"), 0);
	cr_assert_gt(left, 3);
	vt_put_ref(cas_path, profile, json, name);
}

static struct obj x86[] = {
	{ "bin/qemu-system-x86_64", "x86 qemu", "" },
	{ "lib/libx.so", "libx", "" },
	{ "firmware/bios.bin", "bios", "" },
};

static struct obj arm[] = {
	{ "bin/qemu-system-aarch64", "arm qemu", "" },
	{ "lib/libarm.so", "libarm", "" },
	{ "lib/sub/libdeep.so", "libdeep", "" },
	{ "firmware/QEMU_EFI.fd", "efi", "" },
};

/* Let refs/ look changed even where mtime granularity is coarse: move it ahead. */
static void bump_refs_mtime(int seconds)
{
	struct timespec ts[2];
	char *refs = vt_join(cas_path, "refs");

	clock_gettime(CLOCK_REALTIME, &ts[0]);
	ts[0].tv_sec += seconds;
	ts[1] = ts[0];
	cr_assert_eq(utimensat(AT_FDCWD, refs, ts, 0), 0, "utimensat: %s", strerror(errno));
	free(refs);
}

Test(catalog, new_reads_nothing)
{
	struct reports rep;
	struct volt_catalog *c;
	const struct volt_loaded *l = NULL;
	int ret;

	write_ref_file("kvm-linux-00000000.json", "{ this is not json");
	write_ref_file("bogus-12345678.json", "{}");
	write_ref_file("notes.txt", "hello");
	c = new_catalog(&rep, MNT);
	cr_expect_eq(rep.count, 0, "catalog_new read refs/");
	ret = volt_catalog_get(c, VOLT_PROFILE_KVM_LINUX, &l);
	cr_expect_eq(ret, -ENOENT, "get: %d", ret);
	cr_expect_gt(rep.count, 0, "nothing reported");
	cr_expect(reported(&rep, "kvm-linux-00000000.json"), "broken ref not reported");
	cr_expect(reported(&rep, "bogus-12345678.json"), "unknown profile not reported");
	cr_expect(reported(&rep, "notes.txt"), "stray name not reported");
	volt_catalog_free(c);
}

static void expect_synth(const struct volt_loaded *l, const char *mnt, const char *profile,
			 const char *arch)
{
	struct volt_render_input in = {
		.profile = l->profile,
		.name = profile,
		.arch = arch,
		.memory = 512,
		.cpus = 2,
	};
	char dir[256], env[300], bin[300];

	snprintf(dir, sizeof(dir), "%s/%s", strcmp(mnt, "/") ? mnt : "", profile);
	in.profile_dir = dir;
	snprintf(env, sizeof(env), "LD_LIBRARY_PATH=%s/lib\n", dir);
	cr_assert_not_null(l->synth[VOLT_SYNTH_ENV].buf);
	cr_expect_str_eq(l->synth[VOLT_SYNTH_ENV].buf, env);
	cr_expect_eq(l->synth[VOLT_SYNTH_ENV].len, strlen(env));
	for (int i = 0; i < VOLT_SYNTH_COUNT; i++) {
		struct volt_text want = { 0 };

		cr_assert_eq(volt_render_synth(i, &in, &want), 0);
		cr_assert_not_null(l->synth[i].buf, "synth %d", i);
		cr_expect_eq(l->synth[i].len, want.len, "synth %d", i);
		cr_expect_str_eq(l->synth[i].buf, want.buf, "synth %d", i);
		free(want.buf);
	}
	snprintf(bin, sizeof(bin), "%s/bin/qemu-system-%s", dir, arch ? arch : "x86_64");
	cr_expect_not_null(strstr(l->synth[VOLT_SYNTH_UNIT].buf, bin), "unit lacks %s:\n%s", bin,
			   l->synth[VOLT_SYNTH_UNIT].buf);
	cr_expect_not_null(strstr(l->synth[VOLT_SYNTH_ARGS].buf, "512"), "memory not used:\n%s",
			   l->synth[VOLT_SYNTH_ARGS].buf);
}

static void expect_tree(const struct volt_loaded *l, const struct obj *objs, size_t n)
{
	cr_assert_not_null(l->tree);
	cr_expect_eq(volt_tree_files(l->tree), n);
	for (size_t i = 0; i < n; i++) {
		uint32_t node = VOLT_TREE_ROOT;
		const char *p = objs[i].path;
		struct volt_hash h, want;

		while (node != VOLT_TREE_NONE) {
			const char *slash = strchr(p, '/');
			size_t len = slash ? (size_t)(slash - p) : strlen(p);

			node = volt_tree_lookup(l->tree, node, p, len);
			if (!slash)
				break;
			p = slash + 1;
		}
		cr_assert_neq(node, VOLT_TREE_NONE, "%s not in the tree", objs[i].path);
		cr_assert_eq(volt_tree_kind(l->tree, node), VOLT_NODE_FILE, "%s", objs[i].path);
		volt_tree_hash(l->tree, node, &h);
		cr_assert_eq(volt_hash_parse(&want, objs[i].hex, strlen(objs[i].hex)), 0);
		cr_expect(volt_hash_equal(&h, &want), "%s: wrong hash", objs[i].path);
	}
}

Test(catalog, get_loads_the_best_ref)
{
	struct reports rep;
	struct volt_catalog *c;
	const struct volt_loaded *l = NULL, *again = NULL;
	struct timespec created;
	char older[64], newer[64];
	int ret;

	put_profile("emulate-foreign", "2024-01-01T00:00:00Z", NULL, x86, 3, older);
	put_profile("emulate-foreign", "2024-06-01T08:30:00.5Z", "aarch64", arm, 4, newer);
	c = new_catalog(&rep, MNT);
	ret = volt_catalog_get(c, VOLT_PROFILE_EMULATE_FOREIGN, &l);
	cr_assert_eq(ret, 0, "get: %d", ret);
	cr_assert_not_null(l);
	cr_expect_eq(rep.count, 0, "a good store reported %d problems (first: %s: %s)", rep.count,
		     rep.d[0].file, rep.d[0].reason);
	cr_expect_eq(l->profile, VOLT_PROFILE_EMULATE_FOREIGN);
	cr_expect_str_eq(l->ref.name, newer);
	cr_expect_eq(l->ref.profile, VOLT_PROFILE_EMULATE_FOREIGN);
	cr_assert_eq(volt_time_parse_rfc3339("2024-06-01T08:30:00.5Z", &created), 0);
	cr_expect_eq(l->created.tv_sec, created.tv_sec);
	cr_expect_eq(l->created.tv_nsec, 500000000);
	cr_assert_not_null(l->arch);
	cr_expect_str_eq(l->arch, "aarch64");
	cr_assert_not_null(l->qemu_version);
	cr_expect_str_eq(l->qemu_version, "9.0.1");
	cr_expect_eq(l->total_bytes, 1234);
	cr_expect_eq(l->counts.binaries, 1);
	cr_expect_eq(l->counts.libraries, 2);
	cr_expect_eq(l->counts.firmware, 1);
	expect_tree(l, arm, 4);
	cr_expect_eq(volt_tree_lookup(l->tree, volt_tree_lookup(l->tree, VOLT_TREE_ROOT, "lib", 3),
				      "libx.so", 7),
		     VOLT_TREE_NONE, "the older ref's file is served");
	expect_synth(l, MNT, "emulate-foreign", "aarch64");

	ret = volt_catalog_get(c, VOLT_PROFILE_EMULATE_FOREIGN, &again);
	cr_expect_eq(ret, 0);
	cr_expect_eq(again, l, "second get loaded again");
	cr_expect_geq(l->serial, 1);
	cr_expect_eq(volt_catalog_by_serial(c, l->serial), l);
	cr_expect_null(volt_catalog_by_serial(c, 0));
	cr_expect_null(volt_catalog_by_serial(c, l->serial + 1));
	cr_expect_null(volt_catalog_by_serial(c, 1000));
	cr_expect_null(volt_catalog_by_serial(c, 100000));
	cr_expect_null(volt_catalog_by_serial(c, UINT32_MAX));
	volt_catalog_free(c);
}

/* No arch in the manifest: x86_64; every profile its own load and serial. */
Test(catalog, profiles_load_apart)
{
	struct volt_catalog *c;
	const struct volt_loaded *a = NULL, *b = NULL;
	char name[64];

	put_profile("kvm-linux", "2024-03-01T00:00:00Z", NULL, x86, 3, name);
	put_profile("kvm-uefi", "2024-03-01T00:00:00Z", "aarch64", arm, 4, name);
	c = new_catalog(NULL, MNT);
	cr_assert_eq(volt_catalog_get(c, VOLT_PROFILE_KVM_LINUX, &a), 0);
	cr_assert_eq(volt_catalog_get(c, VOLT_PROFILE_KVM_UEFI, &b), 0);
	cr_expect_neq(a, b);
	cr_expect_neq(a->serial, b->serial);
	cr_expect_null(a->arch);
	expect_tree(a, x86, 3);
	expect_tree(b, arm, 4);
	expect_synth(a, MNT, "kvm-linux", NULL);
	expect_synth(b, MNT, "kvm-uefi", "aarch64");
	cr_expect_eq(volt_catalog_by_serial(c, a->serial), a);
	cr_expect_eq(volt_catalog_by_serial(c, b->serial), b);
	cr_expect_eq(volt_catalog_get(c, VOLT_PROFILE_INVALID, &a), -EINVAL);
	cr_expect_eq(volt_catalog_get(c, VOLT_PROFILE_COUNT, &a), -EINVAL);
	volt_catalog_free(c);
}

/* Mounted at "/": paths are /<profile>/..., not //<profile>/... */
Test(catalog, mountpoint_root)
{
	struct volt_catalog *c;
	const struct volt_loaded *l = NULL;
	char name[64];

	put_profile("kvm-linux", "2024-03-01T00:00:00Z", NULL, x86, 3, name);
	c = new_catalog(NULL, "/");
	cr_assert_eq(volt_catalog_get(c, VOLT_PROFILE_KVM_LINUX, &l), 0);
	cr_expect_str_eq(l->synth[VOLT_SYNTH_ENV].buf, "LD_LIBRARY_PATH=/kvm-linux/lib\n");
	volt_catalog_free(c);
}

Test(catalog, missing_profile_retried_after_refs_change)
{
	struct volt_catalog *c;
	const struct volt_loaded *l = NULL;
	struct timespec before, after;
	char name[64];
	struct stat st;
	int ret;

	put_profile("kvm-linux", "2024-03-01T00:00:00Z", NULL, x86, 3, name);
	c = new_catalog(NULL, MNT);
	cr_expect_eq(volt_catalog_get(c, VOLT_PROFILE_KVM_UEFI, &l), -ENOENT);
	cr_expect_eq(volt_catalog_get(c, VOLT_PROFILE_KVM_UEFI, &l), -ENOENT);
	cr_assert_eq(volt_catalog_refs_mtime(c, &before), 0);
	cr_assert_eq(fstat(cas.refs_fd, &st), 0);
	cr_expect(st.st_mtim.tv_sec == before.tv_sec && st.st_mtim.tv_nsec == before.tv_nsec);

	put_profile("kvm-uefi", "2024-03-02T00:00:00Z", NULL, x86, 3, name);
	bump_refs_mtime(10);
	cr_assert_eq(volt_catalog_refs_mtime(c, &after), 0);
	cr_expect(after.tv_sec != before.tv_sec || after.tv_nsec != before.tv_nsec);
	ret = volt_catalog_get(c, VOLT_PROFILE_KVM_UEFI, &l);
	cr_assert_eq(ret, 0, "get after adding a ref: %d", ret);
	cr_expect_str_eq(l->ref.name, name);
	expect_tree(l, x86, 3);
	volt_catalog_free(c);
}

Test(catalog, broken_refs_reported_and_skipped)
{
	struct reports rep;
	struct volt_catalog *c;
	const struct volt_loaded *l = NULL;
	char good[64], broken[64], bad_path[64];
	int ret;

	put_profile("kvm-uefi", "2024-03-01T00:00:00Z", NULL, x86, 3, good);
	/* the right id, but not a manifest; a manifest that breaks a rule; a wrong id */
	vt_put_ref(cas_path, "kvm-uefi", "{\"name\": \"kvm-uefi\"", broken);
	vt_put_ref(cas_path, "kvm-uefi",
		   "{\"name\": \"kvm-uefi\", \"created_at\": \"2026-06-01T00:00:00Z\", "
		   "\"objects\": {\"../escape\": \"0123456789abcdef0123456789abcdef\"}}",
		   bad_path);
	write_ref_file("kvm-uefi-deadbeef.json", "{\"name\": \"kvm-uefi\", \"created_at\": "
						 "\"2026-06-01T00:00:00Z\", "
						 "\"objects\": {}}");
	c = new_catalog(&rep, MNT);
	cr_expect_eq(rep.count, 0);
	ret = volt_catalog_get(c, VOLT_PROFILE_KVM_UEFI, &l);
	cr_assert_eq(ret, 0, "get: %d", ret);
	cr_expect_str_eq(l->ref.name, good, "a broken ref hid the good one");
	cr_expect(reported(&rep, broken), "%s not reported", broken);
	cr_expect(reported(&rep, bad_path), "%s not reported", bad_path);
	cr_expect(reported(&rep, "kvm-uefi-deadbeef.json"), "wrong id not reported");
	for (int i = 0; i < rep.count && i < 16; i++)
		if (!strcmp(rep.d[i].file, bad_path))
			cr_expect_str_eq(rep.d[i].entry, "../escape");
	volt_catalog_free(c);
}

#define N_THREADS 8

struct racer {
	struct volt_catalog *c;
	pthread_barrier_t *start;
	const char *pin; /* get_pinned of this id, or NULL: get */
	const struct volt_loaded *got;
	int ret;
};

static void *race(void *arg)
{
	struct racer *r = arg;

	pthread_barrier_wait(r->start);
	if (r->pin)
		r->ret = volt_catalog_get_pinned(r->c, VOLT_PROFILE_KVM_LINUX, r->pin, &r->got);
	else
		r->ret = volt_catalog_get(r->c, VOLT_PROFILE_KVM_LINUX, &r->got);
	return NULL;
}

Test(catalog, concurrent_gets_share_one_load)
{
	char name[64];

	put_profile("kvm-linux", "2024-03-01T00:00:00Z", NULL, x86, 3, name);
	/* Several rounds, each on a fresh catalog, to give the race a chance. */
	for (int round = 0; round < 20; round++) {
		struct volt_catalog *c = new_catalog(NULL, MNT);
		struct racer racers[N_THREADS];
		pthread_t threads[N_THREADS];
		pthread_barrier_t start;

		pthread_barrier_init(&start, NULL, N_THREADS);
		for (int i = 0; i < N_THREADS; i++) {
			racers[i] = (struct racer){ .c = c, .start = &start, .ret = -1 };
			cr_assert_eq(pthread_create(&threads[i], NULL, race, &racers[i]), 0);
		}
		for (int i = 0; i < N_THREADS; i++)
			pthread_join(threads[i], NULL);
		pthread_barrier_destroy(&start);
		for (int i = 0; i < N_THREADS; i++) {
			cr_assert_eq(racers[i].ret, 0, "round %d thread %d: %d", round, i,
				     racers[i].ret);
			cr_assert_eq(racers[i].got, racers[0].got, "round %d thread %d", round, i);
		}
		cr_expect_eq(racers[0].got->serial, 1, "round %d: loaded more than once", round);
		cr_expect_null(volt_catalog_by_serial(c, 2), "round %d: a second load", round);
		cr_expect_eq(volt_catalog_by_serial(c, 1), racers[0].got);
		volt_catalog_free(c);
	}
}

/*
 * Threads naming one pin at once share one load (issue 13 item 5). The kernel
 * sends one lookup per name at a time, so this is the daemon's own guard, for
 * any caller. The ref has 5 000 files so that a load lasts long enough to meet.
 */
Test(catalog, concurrent_pins_share_one_load)
{
	char hex[VOLT_HASH_HEX_MAX + 1], name[64], id[VOLT_REF_ID_LEN + 1], want[64], *json, *p;
	unsigned more = 0;

	vt_put_object(cas_path, "x", 1, 0444, hex);
	json = malloc(5000 * (VOLT_HASH_HEX_MAX + 32) + 256);
	cr_assert_not_null(json);
	p = json + sprintf(json, "{\"name\": \"kvm-linux\", \"created_at\": "
				 "\"2024-03-01T00:00:00Z\", \"objects\": {");
	for (int i = 0; i < 5000; i++)
		p += sprintf(p, "%s\"share/f%04d\": \"%s\"", i ? ", " : "", i, hex);
	strcpy(p, "}}");
	vt_put_ref(cas_path, "kvm-linux", json, name);
	free(json);
	snprintf(id, sizeof(id), "%.*s", VOLT_REF_ID_LEN, name + strlen("kvm-linux-"));
	snprintf(want, sizeof(want), "kvm-linux@%s", id);
	for (int round = 0; round < 10; round++) {
		struct volt_catalog *c = new_catalog(NULL, MNT);
		struct racer racers[N_THREADS];
		pthread_t threads[N_THREADS];
		pthread_barrier_t start;

		pthread_barrier_init(&start, NULL, N_THREADS);
		for (int i = 0; i < N_THREADS; i++) {
			racers[i] = (struct racer){ .c = c, .start = &start, .pin = id, .ret = -1 };
			cr_assert_eq(pthread_create(&threads[i], NULL, race, &racers[i]), 0);
		}
		for (int i = 0; i < N_THREADS; i++)
			pthread_join(threads[i], NULL);
		pthread_barrier_destroy(&start);
		for (int i = 0; i < N_THREADS; i++) {
			cr_assert_eq(racers[i].ret, 0, "round %d thread %d: %d", round, i,
				     racers[i].ret);
			cr_assert_eq(racers[i].got, racers[0].got, "round %d thread %d", round, i);
		}
		cr_assert_str_eq(racers[0].got->dirname, want, "round %d", round);
		more += volt_catalog_loads(c) - 1;
		volt_catalog_free(c);
	}
	cr_assert_eq(more, 0, "%d threads naming one pin at once built %u copies more in 10 rounds",
		     N_THREADS, more);
}

/* An ignored name is said once, not again at each change of refs/ (a writer's dot file). */
Test(catalog, ignored_name_reported_once)
{
	struct volt_catalog *c;
	const struct volt_loaded *l = NULL;
	struct reports rep;
	char name[64];
	int before;

	put_profile("kvm-linux", "2024-03-01T00:00:00Z", NULL, x86, 3, name);
	write_ref_file("notes.txt", "junk");
	c = new_catalog(&rep, MNT);
	cr_assert_eq(volt_catalog_get(c, VOLT_PROFILE_KVM_LINUX, &l), 0);
	cr_expect(reported(&rep, "notes.txt"), "stray name not reported");
	before = rep.count;
	for (int i = 0; i < 5; i++) {
		char dot[32];

		snprintf(dot, sizeof(dot), ".tmp-%d", i);
		write_ref_file(dot, "partial");
		bump_refs_mtime(10 + i);
		volt_catalog_invalidate(c);
		cr_assert_eq(volt_catalog_get(c, VOLT_PROFILE_KVM_LINUX, &l), 0);
	}
	cr_expect_eq(rep.count, before, "the same ignored name reported %d more times",
		     rep.count - before);
	write_ref_file("other.txt", "junk");
	bump_refs_mtime(20);
	cr_assert_eq(volt_catalog_get(c, VOLT_PROFILE_KVM_LINUX, &l), 0);
	cr_expect_eq(rep.count, before + 1, "a new ignored name is said once");
	volt_catalog_free(c);
}

/* What the catalog has read of refs/ so far. */
static struct volt_refs_stats ref_stats(struct volt_catalog *c)
{
	struct volt_refs_stats st;

	volt_catalog_ref_stats(c, &st);
	return st;
}

/*
 * A change of refs/ re-reads only what changed (issue 13 item 6): a
 * writer's dot file reads no ref, a new ref is read alone, and the builds
 * already chosen are not loaded again.
 */
Test(catalog, refs_change_rereads_only_what_changed)
{
	const struct volt_loaded *linux_l = NULL, *uefi_l = NULL, *l = NULL;
	struct volt_refs_stats st;
	struct volt_catalog *c;
	char name[64], uefi[64], newer[64];

	for (int i = 0; i < 5; i++) {
		char created[32];

		snprintf(created, sizeof(created), "2024-03-0%dT00:00:00Z", i + 1);
		put_profile("kvm-linux", created, NULL, x86, 3, name);
	}
	put_profile("kvm-uefi", "2024-03-01T00:00:00Z", NULL, x86, 3, uefi);
	c = new_catalog(NULL, MNT);
	cr_assert_eq(volt_catalog_get(c, VOLT_PROFILE_KVM_LINUX, &linux_l), 0);
	cr_assert_eq(volt_catalog_get(c, VOLT_PROFILE_KVM_UEFI, &uefi_l), 0);
	cr_expect_str_eq(linux_l->ref.name, name);
	st = ref_stats(c);
	cr_expect_eq(st.heads, 6, "heads read: %llu", (unsigned long long)st.heads);
	cr_expect_eq(st.loads, 2, "refs parsed: %llu", (unsigned long long)st.loads);

	for (int i = 0; i < 3; i++) {
		char dot[32];

		snprintf(dot, sizeof(dot), ".tmp-%d", i);
		write_ref_file(dot, "{\"name\": \"partial");
		bump_refs_mtime(10 + i);
		volt_catalog_invalidate(c);
		cr_assert_eq(volt_catalog_get(c, VOLT_PROFILE_KVM_LINUX, &l), 0);
		cr_expect_eq(l, linux_l, "a dot file changed the build served");
		cr_assert_eq(volt_catalog_get(c, VOLT_PROFILE_KVM_UEFI, &l), 0);
		cr_expect_eq(l, uefi_l);
	}
	st = ref_stats(c);
	cr_expect_eq(st.heads, 6, "dot files made refs read again: %llu heads",
		     (unsigned long long)st.heads);
	cr_expect_eq(st.loads, 2, "dot files made refs parsed again: %llu",
		     (unsigned long long)st.loads);
	cr_expect_eq(volt_catalog_loads(c), 2);

	put_profile("kvm-linux", "2024-04-01T00:00:00Z", NULL, arm, 4, newer);
	bump_refs_mtime(20);
	cr_assert_eq(volt_catalog_get(c, VOLT_PROFILE_KVM_LINUX, &l), 0);
	cr_expect_str_eq(l->ref.name, newer);
	cr_assert_eq(volt_catalog_get(c, VOLT_PROFILE_KVM_UEFI, &l), 0);
	cr_expect_eq(l, uefi_l);
	st = ref_stats(c);
	cr_expect_eq(st.heads, 7, "one new ref, %llu heads read", (unsigned long long)st.heads);
	cr_expect_eq(st.loads, 3, "one new ref, %llu refs parsed", (unsigned long long)st.loads);
	volt_catalog_free(c);
}
