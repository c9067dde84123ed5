// SPDX-License-Identifier: MIT
/*
 * Tests for core/digest.c and core/oci.c: SHA-256 against known vectors, the
 * "sha256:" digest string, the OCI manifest of a profile built and parsed
 * back, and hostile manifests (bad digests, huge sizes, path traversal in
 * titles, duplicate entries, a ref that does not match its blobs) refused
 * with a reason.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <criterion/criterion.h>

#include "support.h"
#include "voltfs/digest.h"
#include "voltfs/oci.h"

int __lsan_do_recoverable_leak_check(void) __attribute__((weak));

static void check_leaks(void)
{
	if (__lsan_do_recoverable_leak_check && __lsan_do_recoverable_leak_check()) {
		fprintf(stderr, "LeakSanitizer: this test leaks (report above)\n");
		abort();
	}
}

TestSuite(digest, .fini = check_leaks);
TestSuite(oci, .fini = check_leaks);
TestSuite(oci_hostile, .fini = check_leaks);

/* `printf '' | sha256sum`, `printf abc | sha256sum` (FIPS 180-2 vector). */
#define SHA_EMPTY "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SHA_ABC "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

static void hex_of(const struct volt_hash *h, char out[VOLT_HASH_HEX_MAX + 1])
{
	volt_hash_format(h, out);
}

Test(digest, known_vectors)
{
	char hex[VOLT_HASH_HEX_MAX + 1], dig[VOLT_DIGEST_STR_MAX];
	struct volt_hash h;
	struct volt_sha256 s;

	cr_assert_eq(volt_sha256_buf(&h, "", 0), 0);
	hex_of(&h, hex);
	cr_assert_str_eq(hex, SHA_EMPTY);
	/* Streaming in pieces gives the one-shot value. */
	cr_assert_eq(volt_sha256_init(&s), 0);
	cr_assert_eq(volt_sha256_update(&s, "a", 1), 0);
	cr_assert_eq(volt_sha256_update(&s, "bc", 2), 0);
	cr_assert_eq(volt_sha256_final(&s, &h), 0);
	hex_of(&h, hex);
	cr_assert_str_eq(hex, SHA_ABC);
	volt_digest_format(&h, dig);
	cr_assert_str_eq(dig, "sha256:" SHA_ABC);
	cr_assert_eq(volt_sha256_buf(&h, VOLT_OCI_EMPTY_BLOB, 2), 0);
	volt_digest_format(&h, dig);
	cr_assert_str_eq(dig, VOLT_OCI_EMPTY_DIGEST);
}

Test(digest, of_a_file)
{
	char *tmp = vt_tmpdir(), *path = vt_join(tmp, "f"), hex[VOLT_HASH_HEX_MAX + 1];
	struct volt_hash h;
	uint64_t size = 0;
	int fd;

	vt_write_str(path, "abc");
	fd = open(path, O_RDONLY);
	cr_assert_geq(fd, 0);
	cr_assert_eq(volt_hash_sha256_fd(&h, fd, &size), 0);
	close(fd);
	hex_of(&h, hex);
	cr_assert_str_eq(hex, SHA_ABC);
	cr_assert_eq(size, 3);
	vt_rmtree(tmp);
	free(path);
	free(tmp);
}

Test(digest, parse_refuses_what_is_not_one)
{
	static const char *const bad[] = {
		SHA_ABC,	   /* no algorithm */
		"sha512:" SHA_ABC, /* another one */
		"sha256:BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD",
		"sha256:ba7816bf8f01cfea414140de5dae2223", /* 32 hex is no SHA-256 */
		"sha256:" SHA_ABC "0",			   /* too long */
		"sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015a/",
	};
	struct volt_hash h;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_eq(volt_digest_parse(&h, bad[i], strlen(bad[i])), -EINVAL, "%s", bad[i]);
	cr_assert_eq(volt_digest_parse(&h, "sha256:" SHA_ABC, 71), 0);
	cr_assert_eq(h.len, 32);
}

/*
 * A ref with four paths and three distinct objects: bin/a and lib/a share
 * one (so it is one blob, titled by its first path, bin/a), and one object
 * is named by SHA-256 (its digest, then).
 */
#define OBJ_A "0123456789abcdef0123456789abcdef"
#define OBJ_B "fedcba9876543210fedcba9876543210"
#define REF_JSON                                                                        \
	"{\"name\":\"kvm-linux\",\"created_at\":\"2026-01-02T03:04:05Z\",\"objects\":{" \
	"\"lib/a\":\"" OBJ_A "\",\"bin/a\":\"" OBJ_A "\",\"firmware/b\":\"" OBJ_B "\"," \
	"\"lib/s\":\"" SHA_ABC "\"}}"

struct fixture {
	struct volt_manifest m;
	struct volt_oci_blob ref;
	struct volt_oci_blob *objects;
	size_t n;
	char *json;
	size_t len;
};

static void fixture_build(struct fixture *f)
{
	struct volt_diag d;

	memset(f, 0, sizeof(*f));
	cr_assert_eq(volt_manifest_parse(&f->m, REF_JSON, strlen(REF_JSON), &d), 0, "%s", d.reason);
	cr_assert_eq(volt_oci_objects(&f->m, &f->objects, &f->n), 0);
	for (size_t i = 0; i < f->n; i++) {
		/* Digests as if the objects' bytes were their names; SHA names are their own. */
		if (f->objects[i].object.len == 32)
			f->objects[i].digest = f->objects[i].object;
		else
			volt_sha256_buf(&f->objects[i].digest, f->objects[i].object.bytes, 16);
		f->objects[i].size = 1000 + i;
		f->objects[i].mode = i == 0 ? 0555 : 0444;
	}
	volt_sha256_buf(&f->ref.digest, REF_JSON, strlen(REF_JSON));
	f->ref.size = strlen(REF_JSON);
	cr_assert_eq(volt_oci_build("kvm-linux-12345678.json", &f->ref, f->objects, f->n,
				    f->m.created_at, &f->json, &f->len),
		     0);
}

static void fixture_release(struct fixture *f)
{
	free(f->objects);
	free(f->json);
	volt_manifest_release(&f->m);
}

Test(oci, objects_are_distinct_and_titled_by_their_first_path)
{
	struct fixture f;
	char hex[VOLT_HASH_HEX_MAX + 1];
	int seen_a = 0;

	fixture_build(&f);
	cr_assert_eq(f.n, 3, "three distinct objects among four paths, got %zu", f.n);
	for (size_t i = 0; i < f.n; i++) {
		hex_of(&f.objects[i].object, hex);
		if (strcmp(hex, OBJ_A) == 0) {
			seen_a++;
			cr_assert_str_eq(f.objects[i].title, "bin/a");
		}
	}
	cr_assert_eq(seen_a, 1);
	fixture_release(&f);
}

Test(oci, built_manifest_parses_back)
{
	struct fixture f;
	struct volt_oci o;
	struct volt_diag d;
	const struct volt_oci_blob *b;
	struct volt_hash a, sa;
	cJSON *root, *layers;

	fixture_build(&f);
	/* What a registry and oras need: OCI media type, artifactType, ORAS titles. */
	root = cJSON_Parse(f.json);
	cr_assert(root);
	cr_assert_str_eq(cJSON_GetObjectItem(root, "mediaType")->valuestring,
			 VOLT_OCI_MANIFEST_TYPE);
	cr_assert_str_eq(cJSON_GetObjectItem(root, "artifactType")->valuestring,
			 VOLT_OCI_ARTIFACT_TYPE);
	cr_assert_str_eq(
		cJSON_GetObjectItem(cJSON_GetObjectItem(root, "config"), "digest")->valuestring,
		VOLT_OCI_EMPTY_DIGEST);
	layers = cJSON_GetObjectItem(root, "layers");
	cr_assert_eq(cJSON_GetArraySize(layers), 4);
	cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(layers->child, "annotations"),
					     VOLT_OCI_ANN_TITLE)
				 ->valuestring,
			 "kvm-linux-12345678.json");
	cJSON_Delete(root);

	cr_assert_eq(volt_oci_parse(&o, f.json, f.len, &d), 0, "%s: %s", d.entry, d.reason);
	cr_assert_str_eq(o.ref.title, "kvm-linux-12345678.json");
	cr_assert(volt_hash_equal(&o.ref.digest, &f.ref.digest));
	cr_assert_eq(o.ref.size, strlen(REF_JSON));
	cr_assert_eq(o.n_objects, 3);
	volt_hash_parse(&a, OBJ_A, 32);
	b = volt_oci_find(&o, &a);
	cr_assert(b);
	cr_assert_str_eq(b->title, "bin/a");
	cr_assert_eq(b->mode, 0555);
	volt_sha256_buf(&sa, a.bytes, 16);
	cr_assert(volt_hash_equal(&b->digest, &sa));
	cr_assert_eq(volt_oci_check_ref(&o, &f.m, &d), 0, "%s", d.reason);
	volt_oci_release(&o);
	fixture_release(&f);
}

/* Take the good manifest, let edit() break it, and expect parse to refuse with err. */
static void expect_refused(void (*edit)(cJSON *root), int err, const char *reason_has)
{
	struct fixture f;
	struct volt_oci o;
	struct volt_diag d;
	cJSON *root;
	char *bad;
	int ret;

	fixture_build(&f);
	root = cJSON_Parse(f.json);
	edit(root);
	bad = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	volt_diag_clear(&d);
	memset(&o, 0x5a, sizeof(o));
	ret = volt_oci_parse(&o, bad, strlen(bad), &d);
	cr_assert_eq(ret, err, "got %d (%s: %s) for %s", ret, d.entry, d.reason, bad);
	cr_assert(strstr(d.reason, reason_has), "reason '%s' lacks '%s'", d.reason, reason_has);
	cr_assert_null(o.objects, "a refused manifest leaves nothing");
	free(bad);
	fixture_release(&f);
}

static cJSON *layer(cJSON *root, int i)
{
	return cJSON_GetArrayItem(cJSON_GetObjectItem(root, "layers"), i);
}

static void set_str(cJSON *obj, const char *key, const char *v)
{
	cJSON_ReplaceItemInObject(obj, key, cJSON_CreateString(v));
}

static void set_ann(cJSON *root, int i, const char *key, const char *v)
{
	set_str(cJSON_GetObjectItem(layer(root, i), "annotations"), key, v);
}

static void edit_uppercase_digest(cJSON *root)
{
	set_str(layer(root, 1), "digest",
		"sha256:BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD");
}
static void edit_md5_digest(cJSON *root)
{
	set_str(layer(root, 2), "digest", "md5:0123456789abcdef0123456789abcdef");
}
static void edit_huge_size(cJSON *root)
{
	cJSON_ReplaceItemInObject(layer(root, 1), "size", cJSON_CreateNumber(1e20));
}
static void edit_negative_size(cJSON *root)
{
	cJSON_ReplaceItemInObject(layer(root, 1), "size", cJSON_CreateNumber(-1));
}
static void edit_fraction_size(cJSON *root)
{
	cJSON_ReplaceItemInObject(layer(root, 1), "size", cJSON_CreateNumber(1.5));
}
static void edit_huge_ref(cJSON *root)
{
	cJSON_ReplaceItemInObject(layer(root, 0), "size", cJSON_CreateNumber(1e9));
}
static void edit_string_size(cJSON *root)
{
	cJSON_ReplaceItemInObject(layer(root, 1), "size", cJSON_CreateString("12"));
}
static void edit_title_dotdot(cJSON *root)
{
	set_ann(root, 1, VOLT_OCI_ANN_TITLE, "../../etc/passwd");
}
static void edit_title_absolute(cJSON *root)
{
	set_ann(root, 2, VOLT_OCI_ANN_TITLE, "/etc/passwd");
}
static void edit_title_inner_dotdot(cJSON *root)
{
	set_ann(root, 3, VOLT_OCI_ANN_TITLE, "lib/../../x");
}
static void edit_ref_title_traversal(cJSON *root)
{
	set_ann(root, 0, VOLT_OCI_ANN_TITLE, "../kvm-linux-12345678.json");
}
static void edit_ref_title_unknown(cJSON *root)
{
	set_ann(root, 0, VOLT_OCI_ANN_TITLE, "rootkit-12345678.json");
}
static void edit_no_title(cJSON *root)
{
	cJSON_DeleteItemFromObject(cJSON_GetObjectItem(layer(root, 1), "annotations"),
				   VOLT_OCI_ANN_TITLE);
}
static void edit_bad_object(cJSON *root)
{
	set_ann(root, 1, VOLT_OCI_ANN_OBJECT, "../../x");
}
static void edit_sha_object_not_digest(cJSON *root)
{
	/* Give the SHA-256-named object's layer another object's digest. */
	for (int i = 1; i < 4; i++) {
		const char *o = cJSON_GetObjectItem(cJSON_GetObjectItem(layer(root, i), "annotation"
											"s"),
						    VOLT_OCI_ANN_OBJECT)
					->valuestring;
		if (strlen(o) == 64)
			set_str(layer(root, i), "digest", VOLT_OCI_EMPTY_DIGEST);
	}
}
static void edit_bad_mode(cJSON *root)
{
	set_ann(root, 1, VOLT_OCI_ANN_MODE, "rwxr-xr-x");
}
static void edit_duplicate_layer(cJSON *root)
{
	cJSON_AddItemToArray(cJSON_GetObjectItem(root, "layers"),
			     cJSON_Duplicate(layer(root, 2), true));
}
static void edit_duplicate_digest(cJSON *root)
{
	cJSON *dup = cJSON_Duplicate(layer(root, 2), true);

	set_str(cJSON_GetObjectItem(dup, "annotations"), VOLT_OCI_ANN_TITLE, "other");
	set_str(cJSON_GetObjectItem(dup, "annotations"), VOLT_OCI_ANN_OBJECT,
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	cJSON_AddItemToArray(cJSON_GetObjectItem(root, "layers"), dup);
}
static void edit_duplicate_title(cJSON *root)
{
	const char *t = cJSON_GetObjectItem(cJSON_GetObjectItem(layer(root, 1), "annotations"),
					    VOLT_OCI_ANN_TITLE)
				->valuestring;
	char *copy = strdup(t);

	set_ann(root, 2, VOLT_OCI_ANN_TITLE, copy);
	free(copy);
}
static void edit_ref_as_object(cJSON *root)
{
	set_str(layer(root, 1), "digest",
		cJSON_GetObjectItem(layer(root, 0), "digest")->valuestring);
}
static void edit_artifact_type(cJSON *root)
{
	set_str(root, "artifactType", "application/vnd.docker.image");
}
static void edit_media_type(cJSON *root)
{
	set_str(root, "mediaType", "application/vnd.docker.distribution.manifest.v2+json");
}
static void edit_no_layers(cJSON *root)
{
	cJSON_ReplaceItemInObject(root, "layers", cJSON_CreateArray());
}
static void edit_ref_layer_type(cJSON *root)
{
	set_str(layer(root, 0), "mediaType", VOLT_OCI_OBJECT_TYPE);
}
static void edit_schema(cJSON *root)
{
	cJSON_ReplaceItemInObject(root, "schemaVersion", cJSON_CreateNumber(1));
}

Test(oci_hostile, bad_digests)
{
	expect_refused(edit_uppercase_digest, -EINVAL, "digest");
	expect_refused(edit_md5_digest, -EINVAL, "digest");
	expect_refused(edit_sha_object_not_digest, -EINVAL, "differs from its digest");
}

Test(oci_hostile, sizes)
{
	expect_refused(edit_huge_size, -EFBIG, "size");
	expect_refused(edit_huge_ref, -EFBIG, "size");
	expect_refused(edit_negative_size, -EINVAL, "size");
	expect_refused(edit_fraction_size, -EINVAL, "size");
	expect_refused(edit_string_size, -EBADMSG, "size");
}

Test(oci_hostile, path_traversal_in_titles)
{
	expect_refused(edit_title_dotdot, -EINVAL, "safe relative path");
	expect_refused(edit_title_absolute, -EINVAL, "safe relative path");
	expect_refused(edit_title_inner_dotdot, -EINVAL, "safe relative path");
	expect_refused(edit_ref_title_traversal, -EINVAL, "ref name");
	expect_refused(edit_ref_title_unknown, -EINVAL, "ref name");
	expect_refused(edit_no_title, -EINVAL, "title");
	expect_refused(edit_bad_object, -EINVAL, "object name");
	expect_refused(edit_bad_mode, -EINVAL, "mode");
}

Test(oci_hostile, duplicate_entries)
{
	expect_refused(edit_duplicate_layer, -EINVAL, "twice");
	expect_refused(edit_duplicate_digest, -EINVAL, "blob sha256:");
	expect_refused(edit_duplicate_title, -EINVAL, "title is listed twice");
	expect_refused(edit_ref_as_object, -EINVAL, "ref's blob");
}

Test(oci_hostile, not_a_profile_manifest)
{
	expect_refused(edit_artifact_type, -EBADMSG, "artifactType");
	expect_refused(edit_media_type, -EBADMSG, "mediaType");
	expect_refused(edit_no_layers, -EBADMSG, "layers");
	expect_refused(edit_ref_layer_type, -EBADMSG, "media type");
	expect_refused(edit_schema, -EBADMSG, "schemaVersion");
}

Test(oci_hostile, garbage_and_bounds)
{
	struct volt_oci o;
	struct volt_diag d;
	size_t big = VOLT_OCI_MANIFEST_MAX + 1;
	char *buf = malloc(big);

	memset(buf, ' ', big);
	cr_assert_eq(volt_oci_parse(&o, buf, big, &d), -EFBIG);
	cr_assert_eq(volt_oci_parse(&o, "{\"a\":", 5, &d), -EBADMSG);
	cr_assert_eq(volt_oci_parse(&o, "[]", 2, &d), -EBADMSG);
	cr_assert_eq(volt_oci_parse(&o, "{}\0{}", 5, &d), -EBADMSG);
	free(buf);
}

/* A manifest that is well formed but does not match its ref: refused at check_ref. */
Test(oci_hostile, blobs_that_do_not_match_the_ref)
{
	static const char other[] = "{\"name\":\"kvm-linux\",\"created_at\":\"2026-01-02T03:04:"
				    "05Z\","
				    "\"objects\":{\"bin/a\":\"" OBJ_A "\"}}";
	static const char more[] = "{\"name\":\"kvm-linux\",\"created_at\":\"2026-01-02T03:04:"
				   "05Z\","
				   "\"objects\":{\"bin/a\":\"" OBJ_A "\",\"bin/c\":"
				   "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}}";
	struct fixture f;
	struct volt_manifest m;
	struct volt_oci o;
	struct volt_diag d;

	fixture_build(&f);
	cr_assert_eq(volt_oci_parse(&o, f.json, f.len, &d), 0);
	cr_assert_eq(volt_manifest_parse(&m, other, strlen(other), &d), 0);
	cr_assert_eq(volt_oci_check_ref(&o, &m, &d), -EINVAL);
	cr_assert(strstr(d.reason, "does not name"), "%s", d.reason);
	volt_manifest_release(&m);
	cr_assert_eq(volt_manifest_parse(&m, more, strlen(more), &d), 0);
	cr_assert_eq(volt_oci_check_ref(&o, &m, &d), -EINVAL);
	cr_assert(strstr(d.reason, "has no blob"), "%s", d.reason);
	cr_assert_str_eq(d.entry, "bin/c");
	volt_manifest_release(&m);
	volt_oci_release(&o);
	fixture_release(&f);
}
