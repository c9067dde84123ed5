// SPDX-License-Identifier: MIT
/*
 * The lazy mount (-o registry=) on a real registry, as a fleet host uses
 * it: an empty cache mounted from the registry serves the build, fetching
 * only what is opened, once however many open it at once; what is cached
 * needs no network (a registry gone, a daemon restarted offline); a moved
 * tag is followed; a pin is fetched by its tag; a corrupt blob is EIO with
 * nothing stored; mirrors are tried in turn; and the host's QEMU runs from
 * a cache that started empty.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "registry.h"
#include "support.h"

static char *tmp, *src_cas, *cache, *mnt, *src;
static bool two_big;   /* publish() adds share/qemu/big2.rom */
static bool three_big; /* and big3.rom */
static struct vt_registry reg;
static struct vt_mount m;

static void setup(void)
{
	tmp = vt_tmpdir();
	src_cas = vt_join(tmp, "src-cas");
	cache = vt_join(tmp, "cache");
	mnt = vt_join(tmp, "mnt");
	src = vt_join(tmp, "src");
}

static void teardown(void)
{
	vt_mount_cleanup(&m);
	vt_registry_stop(&reg);
	vt_rmtree(tmp);
	free(src);
	free(mnt);
	free(cache);
	free(src_cas);
	free(tmp);
}

TestSuite(lazy, .init = setup, .fini = teardown, .timeout = 180);

static int run_ok(const char *fmt, const char *a, const char *b, const char *c)
{
	char *cmd, *out;
	int status;

	cr_assert(asprintf(&cmd, fmt, a, b, c) > 0);
	status = vt_run(cmd, &out);
	cr_assert_eq(status, 0, "%s:\n%s", cmd, out);
	free(out);
	free(cmd);
	return status;
}

/* A build of kvm-linux: a binary, two libraries alike, firmware, and a 4 MiB blob. */
static char *publish(const char *flavour)
{
	char *p, *cmd, *out, *ref;
	static char big[4 << 20];

	vt_rmtree(src);
	p = vt_join(src, "bin/qemu-system-x86_64");
	vt_write_str(p, flavour);
	chmod(p, 0755);
	free(p);
	p = vt_join(src, "lib/liba.so.1");
	vt_write_str(p, "the same library\n");
	free(p);
	p = vt_join(src, "lib/libb.so.1");
	vt_write_str(p, "the same library\n");
	free(p);
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)(i * 2654435761u >> 13);
	p = vt_join(src, "share/qemu/big.rom");
	vt_write_file(p, big, sizeof(big), 0644);
	free(p);
	if (two_big) {
		big[0] ^= 1; /* another 4 MiB object */
		p = vt_join(src, "share/qemu/big2.rom");
		vt_write_file(p, big, sizeof(big), 0644);
		free(p);
	}
	if (three_big) {
		big[1] ^= 1; /* a third */
		p = vt_join(src, "share/qemu/big3.rom");
		vt_write_file(p, big, sizeof(big), 0644);
		free(p);
	}
	cr_assert(asprintf(&cmd, "'" VOLT_CAS_BIN "' --cas '%s' build kvm-linux '%s' 2>&1", src_cas,
			   src) > 0);
	cr_assert_eq(vt_run(cmd, &out), 0, "%s", out);
	ref = strdup(strrchr(out, '/') + 1);
	ref[strcspn(ref, "\n")] = '\0';
	free(out);
	free(cmd);
	run_ok("'" VOLT_CAS_BIN "' --cas '%s' push kvm-linux '%s' >/dev/null 2>&1%s", src_cas,
	       reg.addr, "");
	return ref;
}

static char *file_in(const char *rel)
{
	return vt_join(mnt, rel);
}

/* Objects the cache holds, not a temporary file being fetched. */
static int objects_in_cache(void)
{
	char *dir = vt_join(cache, "objects");
	int n = vt_count_entries(dir, false);

	free(dir);
	return n;
}

static void mount_lazy(const char *extra)
{
	char *opts;

	cr_assert(asprintf(&opts, "registry=%s%s%s", reg.addr, extra ? "," : "",
			   extra ? extra : "") > 0);
	vt_mount(&m, cache, mnt, opts);
	free(opts);
}

static void assert_reads(const char *rel, const char *want)
{
	char *p = file_in(rel), *got = vt_read_file(p, NULL);

	cr_assert_not_null(got, "%s: %s", rel, strerror(errno));
	cr_assert_str_eq(got, want, "%s", rel);
	free(got);
	free(p);
}

Test(lazy, an_empty_cache_serves_the_build_fetching_only_what_is_opened)
{
	char *ref, *refpath, xa[256];
	struct stat st;
	ssize_t n;

	vt_registry_start(&reg, tmp, "reg", NULL);
	ref = publish("qemu v1\n");
	mount_lazy(NULL);

	/* The listing and stat come from the manifest: nothing is fetched for them. */
	{
		char *big = file_in("kvm-linux/share/qemu/big.rom");

		cr_assert_eq(stat(big, &st), 0, "%s", strerror(errno));
		cr_assert_eq(st.st_size, 4 << 20);
		free(big);
	}
	cr_assert_eq(objects_in_cache(), 0, "a stat fetched an object");
	cr_assert(asprintf(&refpath, "%s/refs/%s", cache, ref) > 0);
	cr_assert_eq(stat(refpath, &st), 0, "the ref is kept in refs/");

	assert_reads("kvm-linux/bin/qemu-system-x86_64", "qemu v1\n");
	cr_assert_eq(objects_in_cache(), 1, "one open, one object fetched");
	assert_reads("kvm-linux/lib/liba.so.1", "the same library\n");
	assert_reads("kvm-linux/lib/libb.so.1", "the same library\n");
	cr_assert_eq(objects_in_cache(), 2, "libb is liba's object: fetched once");
	cr_assert_eq(vt_mount_stat(mnt, "fetches"), 2);
	cr_assert_eq(vt_mount_stat(mnt, "fetch_failures"), 0);
	{
		char *bin = file_in("kvm-linux/bin/qemu-system-x86_64");

		cr_assert_eq(stat(bin, &st), 0);
		cr_assert_eq(st.st_mode & 0777, 0555, "the mode travels with the blob");
		free(bin);
	}
	{
		char *dir = file_in("kvm-linux");

		n = getxattr(dir, "user.volt.registry", xa, sizeof(xa) - 1);
		cr_assert_gt(n, 0);
		xa[n] = '\0';
		cr_assert_str_eq(xa, reg.addr);
		n = getxattr(dir, "user.volt.manifest_digest", xa, sizeof(xa) - 1);
		cr_assert_gt(n, 0);
		xa[n] = '\0';
		cr_assert(strncmp(xa, "sha256:", 7) == 0, "%s", xa);
		free(dir);
	}
	cr_assert_eq(vt_unmount(&m), 0);
	free(refpath);
	free(ref);
}

struct reader {
	const char *path;
	size_t len;
	int err;
};

static void *read_big(void *arg)
{
	struct reader *r = arg;
	char *got = vt_read_file(r->path, &r->len);

	r->err = got ? 0 : errno;
	free(got);
	return NULL;
}

Test(lazy, concurrent_opens_share_one_download)
{
	struct reader rd[8];
	pthread_t th[8];
	char *big;

	vt_registry_start(&reg, tmp, "reg", NULL);
	free(publish("qemu v1\n"));
	mount_lazy(NULL);
	big = file_in("kvm-linux/share/qemu/big.rom");
	for (int i = 0; i < 8; i++) {
		rd[i] = (struct reader){ big, 0, 0 };
		cr_assert_eq(pthread_create(&th[i], NULL, read_big, &rd[i]), 0);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(th[i], NULL);
		cr_assert_eq(rd[i].err, 0, "reader %d: %s", i, strerror(rd[i].err));
		cr_assert_eq(rd[i].len, (size_t)4 << 20, "reader %d", i);
	}
	cr_assert_eq(vt_mount_stat(mnt, "fetches"), 1, "eight opens, one download");
	cr_assert_eq(vt_mount_stat(mnt, "fetch_bytes"), 4 << 20);
	free(big);
}

Test(lazy, what_is_cached_needs_no_registry)
{
	struct timespec t0, t1;
	char *firm, *log;
	int fd;

	vt_registry_start(&reg, tmp, "reg", NULL);
	free(publish("qemu v1\n"));
	mount_lazy("registry_timeout=2");
	assert_reads("kvm-linux/bin/qemu-system-x86_64", "qemu v1\n");
	vt_registry_stop(&reg); /* the registry is gone */
	reg.addr = NULL;

	assert_reads("kvm-linux/bin/qemu-system-x86_64", "qemu v1\n");
	firm = file_in("kvm-linux/lib/liba.so.1");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	fd = open(firm, O_RDONLY);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	cr_assert_lt(fd, 0, "an object never fetched cannot be served");
	cr_assert_eq(errno, EIO, "%s", strerror(errno));
	cr_assert_lt(t1.tv_sec - t0.tv_sec, 30, "the failure comes in bounded time");
	log = vt_mount_log(&m);
	cr_assert(strstr(log, "fetch of kvm-linux failed"), "%s", log);
	free(log);
	cr_assert_eq(vt_unmount(&m), 0);

	/* A restart while offline: the kept ref and the cached object serve. */
	vt_mount(&m, cache, mnt, "registry=http://127.0.0.1:9/volt/qemu,registry_timeout=1");
	assert_reads("kvm-linux/bin/qemu-system-x86_64", "qemu v1\n");
	cr_assert_eq(vt_unmount(&m), 0);
	free(firm);
}

Test(lazy, a_moved_tag_is_followed_and_a_pin_fetched_by_its_tag)
{
	char *v1, *v2, *pin;
	int i;

	vt_registry_start(&reg, tmp, "reg", NULL);
	v1 = publish("qemu v1\n");
	mount_lazy("registry_refresh=1");
	assert_reads("kvm-linux/bin/qemu-system-x86_64", "qemu v1\n");
	sleep(1); /* a later created_at */
	v2 = publish("qemu v2\n");
	cr_assert_str_neq(v1, v2);
	/* Within a few refresh periods the profile serves the new build. */
	for (i = 0; i < 100; i++) {
		char *p = file_in("kvm-linux/bin/qemu-system-x86_64"), *got = vt_read_file(p, NULL);
		bool moved = got && strcmp(got, "qemu v2\n") == 0;
		struct timespec pause = { 0, 100 * 1000 * 1000 };

		free(got);
		free(p);
		if (moved)
			break;
		nanosleep(&pause, NULL);
	}
	cr_assert_lt(i, 100, "the moved tag was not followed within 10 s");

	/* The old build by its pin: its ref is fetched by the pin tag, its objects on open. */
	cr_assert(asprintf(&pin, "kvm-linux@%.8s/bin/qemu-system-x86_64", v1 + 10) > 0);
	assert_reads(pin, "qemu v1\n");
	free(pin);
	cr_assert_eq(vt_unmount(&m), 0);
	free(v1);
	free(v2);
}

Test(lazy, a_corrupt_blob_is_eio_and_nothing_is_stored)
{
	char *digest_cmd, *out, *path, *log;
	size_t len;
	char *bytes;
	int fd;

	vt_registry_start(&reg, tmp, "reg", NULL);
	free(publish("qemu v1\n"));
	/* The binary's blob, corrupted in the registry's own storage. */
	cr_assert(asprintf(&digest_cmd,
			   "skopeo inspect --raw --tls-verify=false "
			   "docker://%s/volt/qemu:kvm-linux | "
			   "python3 -c 'import json,sys; print([l[\"digest\"] for l in "
			   "json.load(sys.stdin)[\"layers\"] if l[\"annotations\"]"
			   "[\"org.opencontainers.image.title\"] == "
			   "\"bin/qemu-system-x86_64\"][0])'",
			   reg.url + 7) > 0);
	cr_assert_eq(vt_run(digest_cmd, &out), 0, "%s", out);
	out[strcspn(out, "\n")] = '\0';
	path = vt_registry_blob_path(&reg, out);
	bytes = vt_read_file(path, &len);
	cr_assert_not_null(bytes);
	bytes[0] ^= 1;
	vt_write_file(path, bytes, len, 0644);

	mount_lazy(NULL);
	{
		char *bin = file_in("kvm-linux/bin/qemu-system-x86_64");

		fd = open(bin, O_RDONLY);
		cr_assert_lt(fd, 0, "a corrupt blob must not be served");
		cr_assert_eq(errno, EIO);
		free(bin);
	}
	cr_assert_eq(objects_in_cache(), 0, "nothing stored");
	cr_assert_eq(vt_mount_stat(mnt, "fetch_failures"), 1);
	log = vt_mount_log(&m);
	cr_assert(strstr(log, out), "the log names the digest: %s", log);
	cr_assert(strstr(log, "does not match its digest"), "%s", log);
	cr_assert(strstr(log, reg.addr + 7), "the log names the registry: %s", log);
	free(log);
	free(bytes);
	free(path);
	free(out);
	free(digest_cmd);
}

Test(lazy, mirrors_are_tried_in_turn)
{
	char *opts;

	vt_registry_start(&reg, tmp, "reg", NULL);
	free(publish("qemu v1\n"));
	/* The first mirror is down: nothing listens on port 9. */
	cr_assert(asprintf(&opts, "registry=http://127.0.0.1:9/volt/qemu,registry=%s", reg.addr) >
		  0);
	vt_mount(&m, cache, mnt, opts);
	assert_reads("kvm-linux/bin/qemu-system-x86_64", "qemu v1\n");
	cr_assert_eq(vt_unmount(&m), 0);
	free(opts);
}

Test(lazy, bad_registry_options_are_refused)
{
	char *cmd, *out;

	cr_assert(asprintf(&cmd, "'" VOLTFS_BIN "' -f -o registry=ftp://x/y '%s' '%s' 2>&1", cache,
			   tmp) > 0);
	cr_assert_neq(vt_run(cmd, &out), 0);
	cr_assert(strstr(out, "only http:// and https://"), "%s", out);
	free(out);
	free(cmd);
	cr_assert(asprintf(&cmd,
			   "'" VOLTFS_BIN "' -f -o registry=http://127.0.0.1:1/UPPER '%s' '%s' "
			   "2>&1",
			   cache, tmp) > 0);
	cr_assert_neq(vt_run(cmd, &out), 0);
	cr_assert(strstr(out, "not a repository name"), "%s", out);
	free(out);
	free(cmd);
}

/* The host's QEMU, pushed, then run from a mount whose cache started empty. */
Test(lazy, qemu_runs_from_an_empty_cache)
{
	char *cmd, *out;
	long long fetched;
	int objects;

	if (access("/usr/bin/qemu-system-x86_64", X_OK) != 0)
		cr_skip_test("no qemu-system-x86_64 on this host (scripts/setup installs it)");
	vt_registry_start(&reg, tmp, "reg", NULL);
	cr_assert(asprintf(&cmd,
			   "'%s/scripts/ingest-qemu' --cas '%s' --volt-cas '%s' "
			   "--profiles 'kvm-linux emulate-x86' >/dev/null 2>&1 && "
			   "'%s' --cas '%s' push kvm-linux '%s' 2>&1 && "
			   "'%s' --cas '%s' push emulate-x86 '%s' 2>&1",
			   VOLTFS_SOURCE_DIR, src_cas, VOLT_CAS_BIN, VOLT_CAS_BIN, src_cas,
			   reg.addr, VOLT_CAS_BIN, src_cas, reg.addr) > 0);
	cr_assert_eq(vt_run(cmd, &out), 0, "%s", out);
	free(out);
	free(cmd);
	mount_lazy(NULL);
	cr_assert(asprintf(&cmd,
			   "cd / && env -i $(cat '%s/kvm-linux/env') "
			   "'%s/kvm-linux/bin/qemu-system-x86_64' "
			   "--version 2>&1",
			   mnt, mnt) > 0);
	cr_assert_eq(vt_run(cmd, &out), 0, "%s", out);
	cr_assert(strstr(out, "QEMU emulator version"), "%s", out);
	free(out);
	free(cmd);
	fetched = vt_mount_stat(mnt, "fetches");
	objects = objects_in_cache();
	cr_assert_gt(fetched, 5, "the binary and its libraries came from the registry");
	cr_assert_eq(fetched, objects, "each fetched object is in the cache once");
	/* The figure the README quotes (cr_log_info leaks its message under LeakSanitizer). */
	fprintf(stderr, "qemu --version from an empty cache: %lld objects, %lld bytes fetched\n",
		fetched, vt_mount_stat(mnt, "fetch_bytes"));
	/* The SeaBIOS boot under TCG, from an empty folder (QEMU looks in its cwd first). */
	cr_assert(asprintf(&cmd,
			   "mkdir -p '%s/empty' && cd '%s/empty' && { env -i $(cat "
			   "'%s/emulate-x86/env') "
			   "'%s/emulate-x86/bin/qemu-system-x86_64' $(cat '%s/emulate-x86/args') "
			   ">out 2>&1 & q=$!; }; for i in $(seq 900); do "
			   "grep -qs 'SeaBIOS (version' out && break; sleep 0.1; done; kill $q; "
			   "wait $q; grep -o 'SeaBIOS (version' out || { cat out; exit 1; }",
			   tmp, tmp, mnt, mnt, mnt) > 0);
	cr_assert_eq(vt_run(cmd, &out), 0, "no SeaBIOS banner from the lazy mount: %s", out);
	free(out);
	free(cmd);
	cr_assert_gt(vt_mount_stat(mnt, "fetches"), fetched,
		     "the firmware and TCG came from the registry");
	cr_assert_eq(vt_unmount(&m), 0);
}

Test(lazy, prefetch_fetches_the_build_in_the_background)
{
	struct timespec pause = { 0, 50 * 1000 * 1000 };
	struct stat st;
	char *dir;
	int i;

	vt_registry_start(&reg, tmp, "reg", NULL);
	free(publish("qemu v1\n"));
	mount_lazy("prefetch=2");
	dir = file_in("kvm-linux");
	cr_assert_eq(stat(dir, &st), 0, "%s", strerror(errno));
	/* Nothing opened: the three distinct objects arrive anyway. */
	for (i = 0; i < 200 && objects_in_cache() < 3; i++)
		nanosleep(&pause, NULL);
	cr_assert_eq(objects_in_cache(), 3, "the build was not prefetched within 10 s");
	cr_assert_eq(vt_mount_stat(mnt, "prefetched"), 3);
	cr_assert_eq(vt_mount_stat(mnt, "fetches"), 3);
	/* And an open then needs no fetch of its own. */
	assert_reads("kvm-linux/bin/qemu-system-x86_64", "qemu v1\n");
	cr_assert_eq(vt_mount_stat(mnt, "fetches"), 3);
	free(dir);
}

Test(lazy, short_lived_tokens_are_renewed)
{
	struct vt_registry front;
	char *opts, *af, *json, *log, *p;
	int tokens = 0;

	memset(&front, 0, sizeof(front));

	vt_registry_start(&reg, tmp, "reg", NULL);
	free(publish("qemu v1\n"));
	/* Tokens that live 2 s, from a token server that wants Basic credentials. */
	vt_front_start(&front, tmp, "front", reg.url, "--bearer 2 --token-user volt:pw");
	af = vt_join(tmp, "auth.json");
	cr_assert(asprintf(&json, "{\"auths\": {\"%s\": {\"auth\": \"dm9sdDpwdw==\"}}}",
			   front.url + strlen("http://")) > 0);
	vt_write_str(af, json);
	cr_assert(asprintf(&opts, "registry=%s,registry_auth=%s", front.addr, af) > 0);
	vt_mount(&m, cache, mnt, opts);
	assert_reads("kvm-linux/bin/qemu-system-x86_64", "qemu v1\n");
	sleep(3); /* the token has expired */
	assert_reads("kvm-linux/lib/liba.so.1", "the same library\n");
	p = vt_join(front.dir, "front.log");
	log = vt_read_file(p, NULL);
	free(p);
	cr_assert_not_null(log);
	for (p = log; (p = strstr(p, "GET /token")); p++)
		tokens++;
	cr_assert_geq(tokens, 2, "a new token after expiry: %s", log);
	free(log);
	log = vt_mount_log(&m);
	cr_assert_null(strstr(log, "volt:pw"), "credentials in the log");
	cr_assert_null(strstr(log, "dm9sdDpwdw"), "credentials in the log");
	cr_assert_eq(vt_unmount(&m), 0);
	vt_registry_stop(&front);
	free(log);
	free(opts);
	free(json);
	free(af);
}

/* Bytes of the objects in the cache, as the disk has them. */
static long long cache_bytes_on_disk(void)
{
	char *cmd, *out;
	long long n;

	cr_assert(asprintf(&cmd, "cat '%s'/objects/* 2>/dev/null | wc -c", cache) > 0);
	cr_assert_eq(vt_run(cmd, &out), 0);
	n = atoll(out);
	free(out);
	free(cmd);
	return n;
}

static size_t read_len(const char *rel)
{
	char *p = file_in(rel), *got;
	size_t len = 0;

	got = vt_read_file(p, &len);
	cr_assert_not_null(got, "%s: %s", rel, strerror(errno));
	free(got);
	free(p);
	return len;
}

Test(lazy, the_cache_stays_within_its_bound)
{
	char *ref, *refpath;
	struct stat st;

	two_big = true;
	vt_registry_start(&reg, tmp, "reg", NULL);
	ref = publish("qemu v1\n");
	mount_lazy("cache_max=6M");
	cr_assert_eq(read_len("kvm-linux/share/qemu/big.rom"), (size_t)4 << 20);
	cr_assert_eq(read_len("kvm-linux/share/qemu/big2.rom"), (size_t)4 << 20);
	/* Two 4 MiB objects do not fit in 6 MiB: the older one, closed, went. */
	cr_assert_leq(cache_bytes_on_disk(), 6 << 20);
	cr_assert_eq(vt_mount_stat(mnt, "evictions"), 1);
	cr_assert_leq(vt_mount_stat(mnt, "cache_bytes"), 6 << 20);
	/* Read again, it is fetched again; the ref stays whatever goes. */
	cr_assert_eq(read_len("kvm-linux/share/qemu/big.rom"), (size_t)4 << 20);
	cr_assert_eq(vt_mount_stat(mnt, "fetches"), 3);
	cr_assert_leq(cache_bytes_on_disk(), 6 << 20);
	cr_assert(asprintf(&refpath, "%s/refs/%s", cache, ref) > 0);
	cr_assert_eq(stat(refpath, &st), 0, "a ref is never evicted");
	cr_assert_eq(vt_unmount(&m), 0);
	free(refpath);
	free(ref);
}

/*
 * Wait (bounded: 10 s) until the daemon has answered n RELEASEs: the kernel
 * sends one after close(2) returns, and until it is answered the object
 * counts as open. The mount's -o debug log has each request and its answer.
 */
static void wait_released(int n)
{
	for (int i = 0; i < 500; i++) {
		char *log = vt_mount_log(&m), *p, done[64];
		int answered = 0;

		cr_assert_not_null(log);
		for (p = log; p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
			unsigned long long u;
			int end = 0;

			/* "unique: 12, opcode: RELEASE (18), ...", answered "   unique: 12, success" */
			sscanf(p, "unique: %llu, opcode: RELEASE (%n", &u, &end);
			if (end > 0) {
				snprintf(done, sizeof(done), "unique: %llu, success", u);
				answered += strstr(log, done) != NULL;
			}
		}
		free(log);
		if (answered >= n)
			return;
		nanosleep(&(struct timespec){ 0, 20 * 1000 * 1000 }, NULL);
	}
	cr_assert_fail("the daemon did not answer %d RELEASEs within 10 s", n);
}

/*
 * -o cache_max goes by the last open, not by the fetch: big.rom fetched
 * first but opened again after big2.rom stays when big3.rom needs room, and
 * big2.rom goes.
 */
Test(lazy, the_cache_evicts_the_least_recently_opened)
{
	two_big = three_big = true;
	vt_registry_start(&reg, tmp, "reg", NULL);
	free(publish("qemu v1\n"));
	mount_lazy("cache_max=10M,debug");
	cr_assert_eq(read_len("kvm-linux/share/qemu/big.rom"), (size_t)4 << 20);
	cr_assert_eq(read_len("kvm-linux/share/qemu/big2.rom"), (size_t)4 << 20);
	wait_released(2);
	cr_assert_eq(read_len("kvm-linux/share/qemu/big.rom"), (size_t)4 << 20);
	cr_assert_eq(vt_mount_stat(mnt, "fetches"), 2, "big.rom was fetched again");
	wait_released(3); /* both closed: neither is passed over as open */
	cr_assert_eq(read_len("kvm-linux/share/qemu/big3.rom"), (size_t)4 << 20);
	cr_assert_eq(vt_mount_stat(mnt, "evictions"), 1, "12 MiB in 10: one object goes");
	cr_assert_eq(read_len("kvm-linux/share/qemu/big.rom"), (size_t)4 << 20);
	cr_assert_eq(vt_mount_stat(mnt, "fetches"), 3,
		     "big.rom, opened after big2.rom, was evicted before it");
	cr_assert_eq(read_len("kvm-linux/share/qemu/big2.rom"), (size_t)4 << 20);
	cr_assert_eq(vt_mount_stat(mnt, "fetches"), 4, "big2.rom was kept");
	cr_assert_eq(vt_unmount(&m), 0);
}

Test(lazy, an_open_object_is_never_evicted)
{
	char *big = NULL, *big2 = NULL, *log, buf[4096];
	int fd, fd2;

	two_big = true;
	vt_registry_start(&reg, tmp, "reg", NULL);
	free(publish("qemu v1\n"));
	mount_lazy("cache_max=6M");
	big = file_in("kvm-linux/share/qemu/big.rom");
	big2 = file_in("kvm-linux/share/qemu/big2.rom");
	fd = open(big, O_RDONLY);
	cr_assert_geq(fd, 0, "%s", strerror(errno));
	fd2 = open(big2, O_RDONLY);
	cr_assert_lt(fd2, 0, "no room while big.rom is open, and it must not go");
	cr_assert_eq(errno, EIO);
	cr_assert_eq(pread(fd, buf, sizeof(buf), 1 << 20), (ssize_t)sizeof(buf),
		     "the open one reads");
	log = vt_mount_log(&m);
	cr_assert(strstr(log, "cache_max"), "the log says why: %s", log);
	free(log);
	close(fd);
	/*
	 * Once closed, it makes room. The kernel sends RELEASE after close(2)
	 * has returned, so the daemon may still count it open for a moment.
	 */
	for (int i = 0; i < 100; i++) {
		struct timespec pause = { 0, 20 * 1000 * 1000 };

		fd2 = open(big2, O_RDONLY);
		if (fd2 >= 0 || errno != EIO)
			break;
		nanosleep(&pause, NULL);
	}
	cr_assert_geq(fd2, 0, "big2.rom after big.rom was closed: %s", strerror(errno));
	close(fd2);
	cr_assert_eq(read_len("kvm-linux/share/qemu/big2.rom"), (size_t)4 << 20);
	cr_assert_eq(vt_unmount(&m), 0);
	free(big);
	free(big2);
}

Test(lazy, a_full_disk_is_eio_and_no_torn_object)
{
	char *cmd, *out, *objects;
	bool torn = false;
	int fd;

	two_big = true;
	vt_registry_start(&reg, tmp, "reg", NULL);
	free(publish("qemu v1\n"));
	/* The cache on a 6 MiB file system: the second big object cannot fit. */
	mkdir(cache, 0755);
	cr_assert(asprintf(&cmd, "mount -t tmpfs -o size=6m tmpfs '%s'", cache) > 0);
	if (vt_run(cmd, NULL) != 0)
		cr_skip_test("cannot mount a tmpfs here");
	free(cmd);
	mount_lazy(NULL);
	cr_assert_eq(read_len("kvm-linux/share/qemu/big.rom"), (size_t)4 << 20);
	{
		char *p = file_in("kvm-linux/share/qemu/big2.rom");

		fd = open(p, O_RDONLY);
		cr_assert_lt(fd, 0, "a full disk cannot hold it");
		cr_assert_eq(errno, EIO, "%s", strerror(errno));
		free(p);
	}
	objects = vt_join(cache, "objects");
	{
		DIR *d = opendir(objects);
		struct dirent *e;

		cr_assert_not_null(d);
		while ((e = readdir(d)))
			torn |= strncmp(e->d_name, ".tmp-", 5) == 0;
		closedir(d);
	}
	cr_assert(!torn, "a temporary file was left behind");
	cr_assert_eq(vt_unmount(&m), 0);
	/* What is stored is whole, and volt-cas works on such a store. */
	cr_assert(asprintf(&cmd, "'" VOLT_CAS_BIN "' --cas '%s' verify 2>&1", cache) > 0);
	cr_assert_eq(vt_run(cmd, &out), 0, "verify: %s", out);
	free(out);
	free(cmd);
	cr_assert(asprintf(&cmd, "'" VOLT_CAS_BIN "' --cas '%s' gc 2>&1", cache) > 0);
	cr_assert_eq(vt_run(cmd, &out), 0, "gc of a cache that lacks objects its ref names: %s",
		     out);
	free(out);
	free(cmd);
	cr_assert(asprintf(&cmd, "umount '%s'", cache) > 0);
	vt_run(cmd, NULL);
	free(cmd);
	free(objects);
}

Test(lazy, a_pull_through_mirror_and_a_skopeo_copy_serve_mounts)
{
	struct vt_registry_opts o = { 0 };
	struct vt_registry mirror;
	char *opts, *cmd, *out;

	vt_registry_start(&reg, tmp, "reg", NULL);
	free(publish("qemu v1\n"));
	o.proxy_of = reg.url;
	vt_registry_start(&mirror, tmp, "mirror", &o);
	cr_assert(asprintf(&opts, "registry=%s", mirror.addr) > 0);
	vt_mount(&m, cache, mnt, opts);
	assert_reads("kvm-linux/bin/qemu-system-x86_64", "qemu v1\n");
	cr_assert_eq(vt_unmount(&m), 0);
	vt_registry_stop(&mirror);
	free(opts);

	/* A copy made by a stock client, into another repository: a fresh cache mounts it. */
	cr_assert(asprintf(&cmd,
			   "skopeo copy --src-tls-verify=false --dest-tls-verify=false "
			   "docker://%s/volt/qemu:kvm-linux docker://%s/volt/copy:kvm-linux 2>&1",
			   reg.url + 7, reg.url + 7) > 0);
	cr_assert_eq(vt_run(cmd, &out), 0, "%s", out);
	free(out);
	free(cmd);
	vt_rmtree(cache);
	cr_assert(asprintf(&opts, "registry=%s/volt/copy", reg.url) > 0);
	vt_mount(&m, cache, mnt, opts);
	assert_reads("kvm-linux/lib/libb.so.1", "the same library\n");
	cr_assert_eq(vt_unmount(&m), 0);
	free(opts);
}

Test(lazy, basic_auth_over_tls)
{
	struct vt_registry_opts o = { .tls = true, .user = "volt", .password = "pw" };
	char *opts, *af, *json, *log;

	vt_registry_start(&reg, tmp, "reg", &o);
	{
		/* publish() pushes to reg.addr without credentials: push by hand. */
		char *cmd, *out, *p = vt_join(src, "bin/qemu-system-x86_64");

		vt_write_str(p, "qemu tls\n");
		chmod(p, 0755);
		free(p);
		af = vt_join(tmp, "auth.json");
		cr_assert(asprintf(&json, "{\"auths\": {\"%s\": {\"auth\": \"dm9sdDpwdw==\"}}}",
				   reg.url + strlen("https://")) > 0);
		vt_write_str(af, json);
		cr_assert(asprintf(&cmd,
				   "'" VOLT_CAS_BIN "' --cas '%s' build kvm-linux '%s' >/dev/null "
				   "&& "
				   "'" VOLT_CAS_BIN "' --cas '%s' push --ca '%s' --auth-file '%s' "
				   "kvm-linux '%s' 2>&1",
				   src_cas, src, src_cas, reg.ca, af, reg.addr) > 0);
		cr_assert_eq(vt_run(cmd, &out), 0, "%s", out);
		free(out);
		free(cmd);
	}
	cr_assert(asprintf(&opts, "registry=%s,registry_ca=%s,registry_auth=%s", reg.addr, reg.ca,
			   af) > 0);
	vt_mount(&m, cache, mnt, opts);
	assert_reads("kvm-linux/bin/qemu-system-x86_64", "qemu tls\n");
	log = vt_mount_log(&m);
	cr_assert_null(strstr(log, "dm9sdDpwdw"), "credentials in the log");
	free(log);
	cr_assert_eq(vt_unmount(&m), 0);
	free(opts);
	free(json);
	free(af);
}
