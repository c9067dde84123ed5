// SPDX-License-Identifier: MIT
/*
 * volt-cas push and pull against a real registry (Debian's docker-registry,
 * started here on 127.0.0.1), as an operator uses them: what is sent and
 * what is skipped, the artifact a stock client sees, a pull that gives the
 * same build back, pins and the moving tag, mirrors and copies, TLS and
 * credentials; and every way a registry can lie (a corrupt, longer or
 * shorter blob, a hostile manifest, a ref whose id is not its content's)
 * refused with the registry, digest and reason named, and nothing stored.
 */
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <criterion/criterion.h>

#include "registry.h"
#include "support.h"

static char *tmp, *cas, *src;
static struct vt_registry reg, front, front2;

static void setup(void)
{
	tmp = vt_tmpdir();
	cas = vt_join(tmp, "cas");
	src = vt_join(tmp, "src");
}

static void teardown(void)
{
	vt_registry_stop(&front2);
	vt_registry_stop(&front);
	vt_registry_stop(&reg);
	vt_rmtree(tmp);
	free(src);
	free(cas);
	free(tmp);
	tmp = cas = src = NULL;
}

TestSuite(registry, .init = setup, .fini = teardown, .timeout = 120);

struct result {
	int status;
	char *out;
	char *err;
};

static void result_release(struct result *r)
{
	free(r->out);
	free(r->err);
	memset(r, 0, sizeof(*r));
}

/* A front's log of requests (malloc'ed), or NULL. */
static char *read_log(const char *dir)
{
	char *p = vt_join(dir, "front.log"), *text = vt_read_file(p, NULL);

	free(p);
	return text;
}

/* Run a shell command; stdout and stderr apart. */
static struct result sh(const char *fmt, ...)
{
	struct result r = { 0 };
	char *cmd, *full, *errf = vt_join(tmp, "stderr");
	va_list ap;

	va_start(ap, fmt);
	cr_assert(vasprintf(&cmd, fmt, ap) > 0);
	va_end(ap);
	cr_assert(asprintf(&full, "%s 2>'%s'", cmd, errf) > 0);
	r.status = vt_run(full, &r.out);
	r.err = vt_read_file(errf, NULL);
	if (!r.err)
		r.err = strdup("");
	free(full);
	free(cmd);
	free(errf);
	return r;
}

/* volt-cas --cas STORE ARGS... */
static struct result volt_cas(const char *store, const char *fmt, ...)
{
	char *args;
	struct result r;
	va_list ap;

	va_start(ap, fmt);
	cr_assert(vasprintf(&args, fmt, ap) > 0);
	va_end(ap);
	r = sh("'" VOLT_CAS_BIN "' --cas '%s' %s", store, args);
	free(args);
	return r;
}

/* A profile of four paths and three distinct contents (two libraries alike). */
static void make_src(const char *dir, const char *flavour)
{
	char *p;

	p = vt_join(dir, "bin/qemu-system-x86_64");
	vt_write_str(p, flavour);
	chmod(p, 0755);
	free(p);
	p = vt_join(dir, "lib/liba.so.1");
	vt_write_str(p, "the same library bytes\n");
	free(p);
	p = vt_join(dir, "lib/libb.so.1");
	vt_write_str(p, "the same library bytes\n");
	free(p);
	p = vt_join(dir, "share/qemu/bios-256k.bin");
	vt_write_str(p, "firmware\n");
	free(p);
}

/* Build src as kvm-linux into store: the ref's file name. */
static char *build(const char *store, const char *flavour)
{
	struct result r;
	char *name;

	vt_rmtree(src);
	make_src(src, flavour);
	r = volt_cas(store, "build kvm-linux '%s'", src);
	cr_assert_eq(r.status, 0, "build: %s", r.err);
	name = strdup(strrchr(r.out, '/') + 1);
	name[strcspn(name, "\n")] = '\0';
	result_release(&r);
	return name;
}

/* "kvm-linux-<id>.json" -> "<id>" (static). */
static const char *id_of(const char *ref)
{
	static char id[9];

	memcpy(id, ref + strlen("kvm-linux-"), 8);
	return id;
}

static void assert_store_empty(const char *store)
{
	char *refs = vt_join(store, "refs"), *objects = vt_join(store, "objects");

	cr_assert_leq(vt_count_entries(refs, true), 0, "a ref was stored");
	cr_assert_leq(vt_count_entries(objects, true), 0, "an object was stored");
	free(refs);
	free(objects);
}

/* The manifest a stock client sees for tag, parsed. */
static cJSON *manifest_of(const struct vt_registry *r, const char *tag)
{
	struct result res = sh("skopeo inspect --raw --tls-verify=false docker://%s/volt/qemu:%s",
			       r->url + strlen("http://"), tag);
	cJSON *j;

	cr_assert_eq(res.status, 0, "skopeo inspect: %s", res.err);
	j = cJSON_Parse(res.out);
	cr_assert_not_null(j);
	result_release(&res);
	return j;
}

Test(registry, push_sends_each_distinct_object_once_and_then_nothing)
{
	char *ref = build(cas, "qemu v1\n");
	struct result r;
	cJSON *m, *layers, *l;
	char tag[64];
	int titles = 0, exec = 0;

	vt_registry_start(&reg, tmp, "reg", NULL);
	r = volt_cas(cas, "push kvm-linux %s", reg.addr);
	cr_assert_eq(r.status, 0, "push: %s", r.err);
	cr_assert(strstr(r.out, "objects: 3 sent"), "three distinct objects: %s", r.out);
	cr_assert(strstr(r.out, "0 already there"), "%s", r.out);
	result_release(&r);

	r = volt_cas(cas, "push kvm-linux@%s %s", id_of(ref), reg.addr);
	cr_assert_eq(r.status, 0, "push again: %s", r.err);
	cr_assert(strstr(r.out, "objects: 0 sent"), "nothing new to send: %s", r.out);
	cr_assert(strstr(r.out, "3 already there"), "%s", r.out);
	result_release(&r);

	/* What `oras pull` / skopeo see: the ORAS layout, with the mode beside the title. */
	snprintf(tag, sizeof(tag), "kvm-linux-%s", id_of(ref));
	m = manifest_of(&reg, tag);
	cr_assert_str_eq(cJSON_GetObjectItem(m, "artifactType")->valuestring, "application/"
									      "vnd.volt.profile."
									      "v1");
	layers = cJSON_GetObjectItem(m, "layers");
	cr_assert_eq(cJSON_GetArraySize(layers), 4, "the ref and three objects");
	cJSON_ArrayForEach(l, layers) {
		cJSON *ann = cJSON_GetObjectItem(l, "annotations");
		const char *title =
			cJSON_GetObjectItem(ann, "org.opencontainers.image.title")->valuestring;
		cJSON *mode = cJSON_GetObjectItem(ann, "vnd.volt.mode");

		titles++;
		if (strcmp(title, "bin/qemu-system-x86_64") == 0) {
			cr_assert_str_eq(mode->valuestring, "0555");
			exec++;
		}
		cr_assert(strcmp(title, "lib/libb.so.1") != 0, "libb is liba's blob, not another");
	}
	cr_assert_eq(exec, 1);
	cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(layers, 0), "annotations")
				 ->child->valuestring,
			 ref, "the first layer is the ref, titled by its name");
	cJSON_Delete(m);
	/* The moving tag names the same manifest as the pin. */
	{
		cJSON *a = manifest_of(&reg, "kvm-linux"), *b = manifest_of(&reg, tag);
		char *sa = cJSON_PrintUnformatted(a), *sb = cJSON_PrintUnformatted(b);

		cr_assert_str_eq(sa, sb);
		free(sa);
		free(sb);
		cJSON_Delete(a);
		cJSON_Delete(b);
	}
	free(ref);
}

Test(registry, pull_gives_back_the_same_build)
{
	char *ref = build(cas, "qemu v1\n");
	char *other = vt_join(tmp, "other"), *a, *b, *pa, *pb;
	struct result r;
	struct stat st;

	vt_registry_start(&reg, tmp, "reg", NULL);
	r = volt_cas(cas, "push kvm-linux %s", reg.addr);
	cr_assert_eq(r.status, 0, "push: %s", r.err);
	result_release(&r);

	r = volt_cas(other, "pull %s kvm-linux", reg.addr);
	cr_assert_eq(r.status, 0, "pull: %s", r.err);
	cr_assert(strstr(r.out, "objects: 3 fetched"), "%s", r.out);
	cr_assert(strstr(r.out, ref), "the last line names the ref: %s", r.out);
	result_release(&r);

	/* The same ref, byte for byte, and the same objects with their modes. */
	cr_assert(asprintf(&pa, "%s/refs/%s", cas, ref) > 0);
	cr_assert(asprintf(&pb, "%s/refs/%s", other, ref) > 0);
	a = vt_read_file(pa, NULL);
	b = vt_read_file(pb, NULL);
	cr_assert(a && b);
	cr_assert_str_eq(a, b);
	free(a);
	free(b);
	r = sh("cd '%s/objects' && ls -l | awk '{print $1, $5, $9}' | sort > ../../a.txt && "
	       "cd '%s/objects' && ls -l | awk '{print $1, $5, $9}' | sort > ../../b.txt && "
	       "cmp ../../a.txt ../../b.txt && for f in *; do cmp \"$f\" '%s/objects/'\"$f\"; done",
	       cas, other, cas);
	cr_assert_eq(r.status, 0, "the objects differ: %s %s", r.out, r.err);
	result_release(&r);
	r = volt_cas(other, "verify");
	cr_assert_eq(r.status, 0, "verify of the pulled store: %s", r.out);
	result_release(&r);
	cr_assert(stat(pb, &st) == 0);

	/* Again: everything is there already. */
	r = volt_cas(other, "pull %s kvm-linux", reg.addr);
	cr_assert_eq(r.status, 0, "pull again: %s", r.err);
	cr_assert(strstr(r.out, "objects: 0 fetched"), "%s", r.out);
	result_release(&r);
	free(pa);
	free(pb);
	free(other);
	free(ref);
}

Test(registry, pull_follows_the_tag_and_keeps_the_pin)
{
	char *v1 = build(cas, "qemu v1\n"), *v2;
	char *other = vt_join(tmp, "other");
	struct result r;

	vt_registry_start(&reg, tmp, "reg", NULL);
	r = volt_cas(cas, "push kvm-linux %s", reg.addr);
	cr_assert_eq(r.status, 0, "push v1: %s", r.err);
	result_release(&r);
	sleep(1); /* created_at has nanoseconds, but the next build must be later */
	v2 = build(cas, "qemu v2\n");
	cr_assert_str_neq(v1, v2);
	r = volt_cas(cas, "push kvm-linux %s", reg.addr);
	cr_assert_eq(r.status, 0, "push v2: %s", r.err);
	cr_assert(strstr(r.out, "objects: 1 sent"), "only the new binary: %s", r.out);
	result_release(&r);

	r = volt_cas(other, "pull %s kvm-linux", reg.addr);
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert(strstr(r.out, v2), "the tag names the newest build: %s", r.out);
	result_release(&r);
	r = volt_cas(other, "pull %s kvm-linux@%s", reg.addr, id_of(v1));
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert(strstr(r.out, v1), "the pin names its build: %s", r.out);
	cr_assert(strstr(r.out, "objects: 1 fetched"), "v1's binary only: %s", r.out);
	result_release(&r);

	r = volt_cas(other, "pull %s kvm-linux@0badc0de", reg.addr);
	cr_assert_eq(r.status, 1, "an unknown pin fails");
	cr_assert(strstr(r.err, "kvm-linux-0badc0de"), "%s", r.err);
	cr_assert(strstr(r.err, "404"), "%s", r.err);
	result_release(&r);
	r = volt_cas(other, "pull %s kvm-linux@nothex!", reg.addr);
	cr_assert_eq(r.status, 2, "a bad pin is a usage error");
	result_release(&r);
	free(other);
	free(v1);
	free(v2);
}

/* Push a build to reg; its manifest (skopeo's view) and the ref's name. */
static cJSON *pushed(char **ref)
{
	struct result r;

	*ref = build(cas, "qemu v1\n");
	vt_registry_start(&reg, tmp, "reg", NULL);
	r = volt_cas(cas, "push kvm-linux %s", reg.addr);
	cr_assert_eq(r.status, 0, "push: %s", r.err);
	result_release(&r);
	return manifest_of(&reg, "kvm-linux");
}

/* The digest of the layer titled title. */
static const char *layer_digest(cJSON *m, const char *title)
{
	cJSON *l;

	cJSON_ArrayForEach(l, cJSON_GetObjectItem(m, "layers")) {
		cJSON *t = cJSON_GetObjectItem(cJSON_GetObjectItem(l, "annotations"), "org."
										      "opencontaine"
										      "rs.image."
										      "title");

		if (strcmp(t->valuestring, title) == 0)
			return cJSON_GetObjectItem(l, "digest")->valuestring;
	}
	cr_assert_fail("no layer %s", title);
	return NULL;
}

/* A pull from addr fails, naming what, and stores nothing. */
static void assert_pull_refused(const char *addr, const char *what, const char *why)
{
	char *other = vt_join(tmp, "other");
	struct result r = volt_cas(other, "pull %s kvm-linux", addr);

	cr_assert_eq(r.status, 1, "refused: %s%s", r.out, r.err);
	cr_assert(strstr(r.err, "127.0.0.1:"), "names the registry: %s", r.err);
	if (what)
		cr_assert(strstr(r.err, what), "names %s: %s", what, r.err);
	cr_assert(strstr(r.err, why), "says '%s': %s", why, r.err);
	assert_store_empty(other);
	result_release(&r);
	vt_rmtree(other);
	free(other);
}

Test(registry, a_blob_corrupt_in_the_registry_is_refused_and_nothing_stored)
{
	char *ref;
	cJSON *m = pushed(&ref);
	const char *dig = layer_digest(m, "lib/liba.so.1");
	char *data = vt_registry_blob_path(&reg, dig);
	size_t len;
	char *bytes = vt_read_file(data, &len);

	cr_assert_not_null(bytes, "%s", data);
	bytes[0] ^= 1; /* same size, other bytes */
	vt_write_file(data, bytes, len, 0644);
	assert_pull_refused(reg.addr, dig, "does not match its digest");
	free(bytes);
	free(data);
	cJSON_Delete(m);
	free(ref);
}

Test(registry, a_front_that_alters_blobs_is_refused)
{
	static const char *const how[] = { "longer", "short", "flip" };
	static const char *const why[] = { "longer than", "its descriptor says",
					   "does not match its digest" };
	char *ref, *dir = vt_join(tmp, "front");
	cJSON *m = pushed(&ref);
	const char *bin = layer_digest(m, "bin/qemu-system-x86_64");

	for (int i = 0; i < 3; i++) {
		char *args;

		cr_assert(asprintf(&args, "--mutate %s=%s", bin, how[i]) > 0);
		vt_front_start(&front, tmp, "front", reg.url, args);
		assert_pull_refused(front.addr, bin, why[i]);
		vt_registry_stop(&front);
		free(args);
	}
	/* The ref's own blob, longer: refused before it is parsed. */
	{
		char *args;

		cr_assert(asprintf(&args, "--mutate %s=longer", layer_digest(m, ref)) > 0);
		vt_front_start(&front, tmp, "front", reg.url, args);
		assert_pull_refused(front.addr, NULL, "longer than");
		free(args);
	}
	free(dir);
	cJSON_Delete(m);
	free(ref);
}

/* Serve json as the manifest of kvm-linux through a front; the pull must fail with why. */
static void hostile_manifest(const char *json, const char *why)
{
	char *dir = vt_join(tmp, "front"), *file = vt_join(tmp, "hostile.json"), *args;

	vt_write_str(file, json);
	cr_assert(asprintf(&args, "--manifest kvm-linux=%s", file) > 0);
	vt_front_start(&front, tmp, "front", reg.url, args);
	assert_pull_refused(front.addr, NULL, why);
	vt_registry_stop(&front);
	free(args);
	free(file);
	free(dir);
}

/* The pushed manifest with the layer titled title changed by edit. */
static char *edited(cJSON *m, const char *title, void (*edit)(cJSON *layer))
{
	cJSON *copy = cJSON_Duplicate(m, 1), *l;
	char *s;

	cJSON_ArrayForEach(l, cJSON_GetObjectItem(copy, "layers")) {
		cJSON *t = cJSON_GetObjectItem(cJSON_GetObjectItem(l, "annotations"), "org."
										      "opencontaine"
										      "rs.image."
										      "title");

		if (strcmp(t->valuestring, title) == 0)
			edit(l);
	}
	s = cJSON_PrintUnformatted(copy);
	cJSON_Delete(copy);
	return s;
}

static void title_escapes(cJSON *l)
{
	cJSON_ReplaceItemInObject(cJSON_GetObjectItem(l, "annotations"),
				  "org.opencontainers.image.title",
				  cJSON_CreateString("../../etc/passwd"));
}

static void size_lies(cJSON *l)
{
	cJSON_ReplaceItemInObject(l, "size", cJSON_CreateNumber(1e15));
}

static void object_swapped(cJSON *l)
{
	cJSON_ReplaceItemInObject(cJSON_GetObjectItem(l, "annotations"), "vnd.volt.object",
				  cJSON_CreateString("00000000000000000000000000000000"));
}

Test(registry, hostile_manifests_are_refused_and_nothing_stored)
{
	char *ref, *s, *big;
	cJSON *m = pushed(&ref);

	s = edited(m, "lib/liba.so.1", title_escapes);
	hostile_manifest(s, "not a safe relative path");
	free(s);
	s = edited(m, "lib/liba.so.1", size_lies);
	hostile_manifest(s, "size");
	free(s);
	s = edited(m, "lib/liba.so.1", object_swapped);
	hostile_manifest(s, "liba");
	free(s);
	hostile_manifest("{\"schemaVersion\": 2}", "not");
	/* Over the bound on a manifest's size (4 MiB), however valid its start. */
	big = malloc(5 << 20);
	memset(big, ' ', 5 << 20);
	big[0] = '{';
	big[(5 << 20) - 2] = '}';
	big[(5 << 20) - 1] = '\0';
	hostile_manifest(big, "over");
	free(big);
	cJSON_Delete(m);
	free(ref);
}

Test(registry, a_registry_that_is_down_fails_in_bounded_time)
{
	char *other = vt_join(tmp, "other"), *addr;
	struct timespec t0, t1;
	struct result r;

	cr_assert(asprintf(&addr, "http://127.0.0.1:%d/volt/qemu", vt_free_port()) > 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = volt_cas(other, "pull %s kvm-linux", addr);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	cr_assert_eq(r.status, 1);
	cr_assert(strstr(r.err, "127.0.0.1"), "%s", r.err);
	cr_assert_lt(t1.tv_sec - t0.tv_sec, 20, "retries are bounded");
	assert_store_empty(other);
	result_release(&r);
	free(addr);
	free(other);
}

Test(registry, transient_failures_are_retried)
{
	char *ref, *dir = vt_join(tmp, "front"), *other = vt_join(tmp, "other");
	cJSON *m = pushed(&ref);
	struct result r;

	vt_front_start(&front, tmp, "front", reg.url, "--fail-blobs 2");
	r = volt_cas(other, "pull --jobs 1 %s kvm-linux", front.addr);
	cr_assert_eq(r.status, 0, "two 503s then success: %s", r.err);
	result_release(&r);
	free(other);
	free(dir);
	cJSON_Delete(m);
	free(ref);
}

/* An auth file for host with user:password. */
static char *auth_file(const char *host, const char *userpass)
{
	char *path = vt_join(tmp, "auth.json"), *json, *b64;
	struct result r = sh("printf %%s '%s' | base64 -w0", userpass);

	b64 = r.out;
	cr_assert(asprintf(&json, "{\"auths\": {\"%s\": {\"auth\": \"%s\"}}}", host, b64) > 0);
	vt_write_str(path, json);
	free(json);
	free(b64);
	free(r.err);
	return path;
}

Test(registry, bearer_tokens_from_the_challenge)
{
	char *ref, *dir = vt_join(tmp, "front"), *other = vt_join(tmp, "other"), *host, *af;
	cJSON *m = pushed(&ref);
	struct result r;
	char *log;

	vt_front_start(&front, tmp, "front", reg.url, "--bearer 30 --token-user volt:s3cret-pass");
	host = strdup(front.url + strlen("http://"));
	r = volt_cas(other, "pull %s kvm-linux", front.addr);
	cr_assert_eq(r.status, 1, "no credentials: the token server refuses");
	cr_assert(strstr(r.err, "token server answered HTTP 401"), "%s", r.err);
	result_release(&r);

	af = auth_file(host, "volt:s3cret-pass");
	r = volt_cas(other, "pull --auth-file '%s' %s kvm-linux", af, front.addr);
	cr_assert_eq(r.status, 0, "with credentials: %s", r.err);
	cr_assert_null(strstr(r.out, "s3cret"));
	cr_assert_null(strstr(r.err, "s3cret"));
	result_release(&r);
	log = read_log(dir);
	cr_assert(strstr(log, "GET /token"), "a token was asked for: %s", log);
	cr_assert(strstr(log, "/blobs/sha256:") && strstr(log, "auth=Bearer"),
		  "blobs were fetched with it: %s", log);
	free(log);
	free(af);
	free(host);
	free(other);
	free(dir);
	cJSON_Delete(m);
	free(ref);
}

Test(registry, redirected_blobs_get_no_credentials)
{
	char *ref, *other = vt_join(tmp, "other"), *host, *af, *args, *log;
	cJSON *m = pushed(&ref);
	struct result r;

	/* The blob store is another host ("localhost", not "127.0.0.1"), as S3 would be. */
	vt_front_start(&front2, tmp, "store", reg.url, NULL);
	cr_assert(asprintf(&args, "--bearer 30 --redirect-blobs http://localhost:%d", front2.port) >
		  0);
	vt_front_start(&front, tmp, "front", reg.url, args);
	host = strdup(front.url + strlen("http://"));
	af = auth_file(host, "volt:pw");
	r = volt_cas(other, "pull --auth-file '%s' %s kvm-linux", af, front.addr);
	cr_assert_eq(r.status, 0, "through the redirect: %s", r.err);
	result_release(&r);
	log = read_log(front2.dir);
	cr_assert(log && strstr(log, "GET /v2/volt/qemu/blobs/"), "blobs came from the store: %s",
		  log ? log : "");
	cr_assert_null(strstr(log, "auth=Bearer"), "a credential went to another host: %s", log);
	cr_assert_null(strstr(log, "auth=Basic"), "a credential went to another host: %s", log);
	free(log);
	free(args);
	free(af);
	free(host);
	free(other);
	cJSON_Delete(m);
	free(ref);
}

Test(registry, basic_auth_over_tls)
{
	struct vt_registry_opts o = { .tls = true, .user = "volt", .password = "tls-s3cret" };
	char *ref = build(cas, "qemu v1\n"), *other = vt_join(tmp, "other"), *af, *host;
	struct result r;

	vt_registry_start(&reg, tmp, "reg", &o);
	host = strdup(reg.url + strlen("https://"));
	cr_assert(strncmp(reg.addr, "127.0.0.1:", 10) == 0, "a bare address means HTTPS");
	r = volt_cas(cas, "push kvm-linux %s", reg.addr);
	cr_assert_eq(r.status, 1, "a self-signed certificate is not trusted by default");
	cr_assert(strstr(r.err, "certificate") || strstr(r.err, "SSL"), "%s", r.err);
	result_release(&r);
	r = volt_cas(cas, "push --ca '%s' kvm-linux %s", reg.ca, reg.addr);
	cr_assert_eq(r.status, 1, "no credentials");
	cr_assert(strstr(r.err, "needs credentials"), "%s", r.err);
	result_release(&r);
	af = auth_file(host, "volt:wrong");
	r = volt_cas(cas, "push --ca '%s' --auth-file '%s' kvm-linux %s", reg.ca, af, reg.addr);
	cr_assert_eq(r.status, 1, "wrong password");
	cr_assert(strstr(r.err, "401"), "%s", r.err);
	result_release(&r);
	free(af);
	af = auth_file(host, "volt:tls-s3cret");
	r = volt_cas(cas, "push --ca '%s' --auth-file '%s' kvm-linux %s", reg.ca, af, reg.addr);
	cr_assert_eq(r.status, 0, "push over TLS with Basic auth: %s", r.err);
	cr_assert_null(strstr(r.out, "s3cret"));
	result_release(&r);
	r = volt_cas(other, "pull --ca '%s' --auth-file '%s' %s kvm-linux", reg.ca, af, reg.addr);
	cr_assert_eq(r.status, 0, "pull: %s", r.err);
	cr_assert(strstr(r.out, ref), "%s", r.out);
	result_release(&r);
	free(host);
	free(af);
	free(other);
	free(ref);
}

Test(registry, a_skopeo_copy_and_a_mirror_serve_the_same_build)
{
	char *ref, *other = vt_join(tmp, "other"), *copy, *pa, *pb, *a, *b;
	cJSON *m = pushed(&ref);
	struct vt_registry_opts mirror = { .proxy_of = NULL };
	struct result r;

	r = sh("skopeo copy --src-tls-verify=false --dest-tls-verify=false "
	       "docker://%s/volt/qemu:kvm-linux docker://%s/volt/copy:kvm-linux",
	       reg.url + 7, reg.url + 7);
	cr_assert_eq(r.status, 0, "skopeo copy: %s", r.err);
	result_release(&r);
	cr_assert(asprintf(&copy, "%s/volt/copy", reg.url) > 0);
	r = volt_cas(other, "pull %s kvm-linux", copy);
	cr_assert_eq(r.status, 0, "pull from the copy: %s", r.err);
	result_release(&r);
	cr_assert(asprintf(&pa, "%s/refs/%s", cas, ref) > 0);
	cr_assert(asprintf(&pb, "%s/refs/%s", other, ref) > 0);
	a = vt_read_file(pa, NULL);
	b = vt_read_file(pb, NULL);
	cr_assert(a && b);
	cr_assert_str_eq(a, b, "the copy holds the same ref");
	free(a);
	free(b);
	vt_rmtree(other);

	/* A pull-through mirror in front of the registry. */
	mirror.proxy_of = reg.url;
	vt_registry_start(&front, tmp, "mirror", &mirror);
	r = volt_cas(other, "pull %s kvm-linux", front.addr);
	cr_assert_eq(r.status, 0, "pull through the mirror: %s", r.err);
	cr_assert(strstr(r.out, ref), "%s", r.out);
	result_release(&r);
	free(pa);
	free(pb);
	free(copy);
	free(other);
	cJSON_Delete(m);
	free(ref);
}
