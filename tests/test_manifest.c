// SPDX-License-Identifier: MIT
/*
 * Tests for core/manifest.c: a full manifest parses into the right values,
 * and every rule of SPEC's "Bad input" refuses the manifest whole, with the
 * entry and the reason in the diagnostic and nothing left to release.
 * RFC 3339 times and loading from refs/ (id check, links, size bound) too.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "support.h"
#include "voltfs/manifest.h"

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

TestSuite(manifest, .fini = check_leaks);
TestSuite(manifest_bad, .fini = check_leaks);
TestSuite(manifest_path, .fini = check_leaks);
TestSuite(manifest_time, .fini = check_leaks);
TestSuite(manifest_load, .fini = check_leaks);

#define H1 "6bba86c7e069f56d5a10b435f1c8e49c"
#define H2 "99aa06d3014798d86001c324468d497f"
#define SHA "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define CREATED "2026-01-02T03:04:05Z"
#define CREATED_SEC 1767323045 /* date -ud 2026-01-02T03:04:05Z +%s */

/* A minimal manifest around an "objects" body. */
#define WITH_OBJECTS(body) "{\"name\":\"t\",\"created_at\":\"" CREATED "\",\"objects\":{" body "}}"

static bool is_zero(const struct volt_manifest *m)
{
	static const struct volt_manifest zero;

	return memcmp(m, &zero, sizeof(zero)) == 0;
}

static int parse(struct volt_manifest *m, const char *buf, size_t len, struct volt_diag *d)
{
	memset(m, 0xa5, sizeof(*m)); /* whatever was there must not survive a failure */
	volt_diag_clear(d);
	return volt_manifest_parse(m, buf, len, d);
}

static void parse_ok(struct volt_manifest *m, const char *json)
{
	struct volt_diag d;
	int ret = parse(m, json, strlen(json), &d);

	cr_assert_eq(ret, 0, "%d: %s: %s for %s", ret, d.entry, d.reason, json);
}

/*
 * Parse buf and expect err, with d.entry equal to entry (NULL: not checked)
 * and d.reason holding reason (NULL: not checked, but never empty). m must
 * hold nothing afterwards.
 */
static void expect_refused_len(const char *buf, size_t len, int err, const char *entry,
			       const char *reason)
{
	struct volt_manifest m;
	struct volt_diag d;
	int ret = parse(&m, buf, len, &d);

	cr_expect_eq(ret, err, "got %d (%s: %s), want %d for %.200s", ret, d.entry, d.reason, err,
		     buf);
	cr_expect(is_zero(&m), "m not left empty for %.200s", buf);
	cr_expect_neq(d.reason[0], '\0', "no reason given for %.200s", buf);
	if (entry)
		cr_expect_str_eq(d.entry, entry, "entry for %.200s (reason: %s)", buf, d.reason);
	if (reason)
		cr_expect_not_null(strstr(d.reason, reason), "reason '%s' lacks '%s'", d.reason,
				   reason);
	if (ret == 0)
		volt_manifest_release(&m);
}

static void expect_refused(const char *json, int err, const char *entry, const char *reason)
{
	expect_refused_len(json, strlen(json), err, entry, reason);
}

/* A valid manifest */

Test(manifest, full_manifest_parses)
{
	static const char json[] = "{\n"
				   "  \"name\": \"kvm-linux\",\n"
				   "  \"profile\": \"kvm-linux\",\n"
				   "  \"qemu_version\": \"9.2.0\",\n"
				   "  \"build_date\": \"2026-01-01\",\n"
				   "  \"build_host\": \"builder-1\",\n"
				   "  \"arch\": \"x86_64\",\n"
				   "  \"total_bytes\": 123456789012,\n"
				   "  \"created_at\": \"" CREATED "\",\n"
				   "  \"objects\": {\n"
				   "    \"lib/libz.so.1\": \"" H2 "\",\n"
				   "    \"bin/qemu-system-x86_64\": \"" H1 "\",\n"
				   "    \"firmware/bios-256k.bin\": \"" SHA "\",\n"
				   "    \"lib/libc.so.6\": \"" H1 "\",\n"
				   "    \"firmware/vgabios/stdvga.bin\": \"" H2 "\"\n"
				   "  }\n"
				   "}\n";
	static const char *const sorted[] = {
		"bin/qemu-system-x86_64", "firmware/bios-256k.bin", "firmware/vgabios/stdvga.bin",
		"lib/libc.so.6",	  "lib/libz.so.1",
	};
	struct volt_manifest m;
	const struct volt_manifest_entry *e;
	char hex[VOLT_HASH_HEX_MAX + 1];

	parse_ok(&m, json);
	cr_expect_str_eq(m.name, "kvm-linux");
	cr_expect_str_eq(m.created_at, CREATED);
	cr_expect_eq(m.created.tv_sec, CREATED_SEC);
	cr_expect_eq(m.created.tv_nsec, 0);
	cr_expect_str_eq(m.profile, "kvm-linux");
	cr_expect_str_eq(m.qemu_version, "9.2.0");
	cr_expect_str_eq(m.build_date, "2026-01-01");
	cr_expect_str_eq(m.build_host, "builder-1");
	cr_expect_str_eq(m.arch, "x86_64");
	cr_expect_eq(m.total_bytes, 123456789012LL);
	cr_assert_eq(m.n_entries, 5);
	for (size_t i = 0; i < m.n_entries; i++) {
		cr_expect_str_eq(m.entries[i].path, sorted[i]);
		cr_expect_eq(m.entries[i].path_len, strlen(sorted[i]));
	}

	e = volt_manifest_find(&m, "bin/qemu-system-x86_64");
	cr_assert_not_null(e);
	volt_hash_format(&e->hash, hex);
	cr_expect_str_eq(hex, H1);
	e = volt_manifest_find(&m, "firmware/bios-256k.bin");
	cr_assert_not_null(e);
	cr_expect_eq(e->hash.len, 32);
	volt_hash_format(&e->hash, hex);
	cr_expect_str_eq(hex, SHA);
	e = volt_manifest_find(&m, "lib/libz.so.1");
	cr_assert_not_null(e);
	volt_hash_format(&e->hash, hex);
	cr_expect_str_eq(hex, H2);
	cr_expect_null(volt_manifest_find(&m, "lib"), "a folder is no entry");
	cr_expect_null(volt_manifest_find(&m, "lib/"));
	cr_expect_null(volt_manifest_find(&m, "lib/libz.so"));
	cr_expect_null(volt_manifest_find(&m, "/bin/qemu-system-x86_64"));
	cr_expect_null(volt_manifest_find(&m, ""));
	volt_manifest_release(&m);
	cr_expect(is_zero(&m), "release leaves the struct empty");
}

Test(manifest, optional_fields_absent_or_null)
{
	struct volt_manifest m;

	parse_ok(&m, WITH_OBJECTS("\"bin/a\":\"" H1 "\""));
	cr_expect_str_eq(m.name, "t");
	cr_expect_null(m.profile);
	cr_expect_null(m.qemu_version);
	cr_expect_null(m.build_date);
	cr_expect_null(m.build_host);
	cr_expect_null(m.arch);
	cr_expect_eq(m.total_bytes, 0);
	cr_expect_eq(m.n_entries, 1);
	volt_manifest_release(&m);

	parse_ok(&m, "{\"name\":\"t\",\"created_at\":\"" CREATED "\",\"arch\":null,"
		     "\"total_bytes\":null,\"profile\":null,\"objects\":{}}");
	cr_expect_null(m.arch);
	cr_expect_null(m.profile);
	cr_expect_eq(m.total_bytes, 0);
	cr_expect_eq(m.n_entries, 0);
	cr_expect_null(volt_manifest_find(&m, "bin/a"));
	volt_manifest_release(&m);
}

/* Keys the format does not know are no reason to refuse a manifest. */
Test(manifest, unknown_fields_ignored)
{
	struct volt_manifest m;

	parse_ok(&m, "{\"name\":\"t\",\"comment\":[1,2,{}],\"created_at\":\"" CREATED
		     "\",\"objects\":{\"bin/a\":\"" H1 "\"},\"extra\":\"x\"}");
	cr_expect_str_eq(m.name, "t");
	cr_expect_eq(m.n_entries, 1);
	volt_manifest_release(&m);
}

Test(manifest, names_are_bytes_not_text)
{
	struct volt_manifest m;

	/* Escapes decode; spaces, dots inside a name and UTF-8 are fine. */
	parse_ok(&m, WITH_OBJECTS("\"lib/a b\":\"" H1 "\",\"lib/..x\":\"" H1 "\","
				  "\"lib/x..\":\"" H1 "\",\"lib/.hidden\":\"" H1 "\","
				  "\"lib/caf\\u00e9\":\"" H1 "\",\"lib/\\\"q\\\"\":\"" H1 "\""));
	cr_expect_eq(m.n_entries, 6);
	cr_expect_not_null(volt_manifest_find(&m, "lib/a b"));
	cr_expect_not_null(volt_manifest_find(&m, "lib/..x"));
	cr_expect_not_null(volt_manifest_find(&m, "lib/x.."));
	cr_expect_not_null(volt_manifest_find(&m, "lib/.hidden"));
	cr_expect_not_null(volt_manifest_find(&m, "lib/caf\xc3\xa9"));
	cr_expect_not_null(volt_manifest_find(&m, "lib/\"q\""));
	volt_manifest_release(&m);
}

/* Not a manifest: -EBADMSG, naming the field */

Test(manifest_bad, required_fields_missing)
{
	expect_refused("{\"created_at\":\"" CREATED "\",\"objects\":{}}", -EBADMSG, "name", NULL);
	expect_refused("{\"name\":\"t\",\"objects\":{}}", -EBADMSG, "created_at", NULL);
	expect_refused("{\"name\":\"t\",\"created_at\":\"" CREATED "\"}", -EBADMSG, "objects",
		       NULL);
	expect_refused("{}", -EBADMSG, NULL, NULL);
}

Test(manifest_bad, wrong_types)
{
	expect_refused("{\"name\":5,\"created_at\":\"" CREATED "\",\"objects\":{}}", -EBADMSG,
		       "name", NULL);
	expect_refused("{\"name\":\"\",\"created_at\":\"" CREATED "\",\"objects\":{}}", -EBADMSG,
		       "name", NULL);
	expect_refused("{\"name\":null,\"created_at\":\"" CREATED "\",\"objects\":{}}", -EBADMSG,
		       "name", NULL);
	expect_refused("{\"name\":\"t\",\"created_at\":1767323045,\"objects\":{}}", -EBADMSG,
		       "created_at", NULL);
	expect_refused("{\"name\":\"t\",\"created_at\":\"yesterday\",\"objects\":{}}", -EBADMSG,
		       "created_at", NULL);
	expect_refused("{\"name\":\"t\",\"created_at\":\"" CREATED "\",\"objects\":[]}", -EBADMSG,
		       "objects", NULL);
	expect_refused("{\"name\":\"t\",\"created_at\":\"" CREATED "\",\"objects\":\"x\"}",
		       -EBADMSG, "objects", NULL);
	expect_refused("{\"name\":\"t\",\"created_at\":\"" CREATED "\",\"objects\":null}", -EBADMSG,
		       "objects", NULL);
	expect_refused("{\"name\":\"t\",\"created_at\":\"" CREATED "\",\"profile\":1,"
		       "\"objects\":{}}",
		       -EBADMSG, "profile", NULL);
	expect_refused("{\"name\":\"t\",\"created_at\":\"" CREATED "\",\"qemu_version\":9.2,"
		       "\"objects\":{}}",
		       -EBADMSG, "qemu_version", NULL);
	expect_refused("{\"name\":\"t\",\"created_at\":\"" CREATED "\",\"build_host\":{},"
		       "\"objects\":{}}",
		       -EBADMSG, "build_host", NULL);
	expect_refused("{\"name\":\"t\",\"created_at\":\"" CREATED "\",\"arch\":[\"x86_64\"],"
		       "\"objects\":{}}",
		       -EBADMSG, "arch", NULL);
	expect_refused("{\"name\":\"t\",\"created_at\":\"" CREATED "\",\"total_bytes\":\"12\","
		       "\"objects\":{}}",
		       -EBADMSG, "total_bytes", NULL);
	expect_refused("{\"name\":\"t\",\"created_at\":\"" CREATED "\",\"total_bytes\":true,"
		       "\"objects\":{}}",
		       -EBADMSG, "total_bytes", NULL);
}

Test(manifest_bad, not_a_json_object)
{
	expect_refused("", -EBADMSG, "", NULL);
	expect_refused("   \n", -EBADMSG, "", NULL);
	expect_refused("name: t", -EBADMSG, "", NULL);
	expect_refused("{\"name\":\"t\",", -EBADMSG, "", NULL);
	expect_refused("[" WITH_OBJECTS("") "]", -EBADMSG, "", NULL);
	expect_refused("\"" CREATED "\"", -EBADMSG, "", NULL);
	expect_refused("null", -EBADMSG, "", NULL);
	expect_refused("42", -EBADMSG, "", NULL);
}

Test(manifest_bad, trailing_garbage)
{
	struct volt_manifest m;

	expect_refused(WITH_OBJECTS("") "x", -EBADMSG, "", NULL);
	expect_refused(WITH_OBJECTS("") " {}", -EBADMSG, "", NULL);
	expect_refused(WITH_OBJECTS("") WITH_OBJECTS(""), -EBADMSG, "", NULL);
	/* Whitespace after the document is no garbage. */
	parse_ok(&m, WITH_OBJECTS("") " \n\t\r\n");
	volt_manifest_release(&m);
}

/* Only len bytes are the manifest, whatever follows in memory. */
Test(manifest, parses_exactly_len_bytes)
{
	static const char buf[] = WITH_OBJECTS("\"bin/a\":\"" H1 "\"") "garbage";
	struct volt_manifest m;
	struct volt_diag d;

	cr_assert_eq(parse(&m, buf, sizeof(buf) - 1 - strlen("garbage"), &d), 0, "%s", d.reason);
	cr_expect_eq(m.n_entries, 1);
	volt_manifest_release(&m);
	/* And cut short, it is no longer JSON. */
	expect_refused_len(buf, 20, -EBADMSG, "", NULL);
}

Test(manifest_bad, arch_must_be_a_word)
{
	static const char *const bad[] = {
		"x86/64",   "../x",	 "",
		"aarch 64", "x86_64\\n", "qemu-system-x86_64-and-then-some-more-and-more"
	};
	struct volt_manifest m;

	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		char json[256];

		snprintf(json, sizeof(json),
			 "{\"name\":\"t\",\"created_at\":\"" CREATED "\",\"arch\":\"%s\","
			 "\"objects\":{}}",
			 bad[i]);
		expect_refused(json, -EBADMSG, "arch", NULL);
	}
	parse_ok(&m, "{\"name\":\"t\",\"created_at\":\"" CREATED "\",\"arch\":\"aarch64\","
		     "\"objects\":{}}");
	cr_expect_str_eq(m.arch, "aarch64");
	volt_manifest_release(&m);
}

Test(manifest_bad, total_bytes_must_be_a_byte_count)
{
	static const char *const bad[] = { "-1", "1.5", "0.001", "-0.5", "1e300" };
	static const struct {
		const char *text;
		int64_t value;
	} good[] = { { "0", 0 }, { "-0", 0 }, { "1e3", 1000 }, { "4294967297", 4294967297LL } };
	struct volt_manifest m;
	char json[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		snprintf(json, sizeof(json),
			 "{\"name\":\"t\",\"created_at\":\"" CREATED "\",\"total_bytes\":%s,"
			 "\"objects\":{}}",
			 bad[i]);
		expect_refused(json, -EBADMSG, "total_bytes", NULL);
	}
	for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++) {
		snprintf(json, sizeof(json),
			 "{\"name\":\"t\",\"created_at\":\"" CREATED "\",\"total_bytes\":%s,"
			 "\"objects\":{}}",
			 good[i].text);
		parse_ok(&m, json);
		cr_expect_eq(m.total_bytes, good[i].value, "%s", good[i].text);
		volt_manifest_release(&m);
	}
}

/* Bad entries: -EINVAL, naming the entry */

/* One entry with path (JSON text of the key) must be refused, naming want_entry. */
static void expect_bad_path(const char *key, const char *want_entry)
{
	char *json;

	cr_assert(asprintf(&json, WITH_OBJECTS("\"bin/ok\":\"%s\",\"%s\":\"%s\""), H1, key, H2) >
		  0);
	expect_refused(json, -EINVAL, want_entry, NULL);
	free(json);
}

Test(manifest_path, refused_paths_name_the_entry)
{
	static const char *const bad[] = {
		"/bin/qemu",
		"/",
		"..",
		"../x",
		"bin/..",
		"a/../b",
		"bin/../../etc",
		".",
		"./a",
		"a/./b",
		"a/.",
		"",
		"a//b",
		"a/",
		"bin/",
		"//",
		"lib//libc.so.6",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		expect_bad_path(bad[i], bad[i]);
}

/* "/x" is refused for what it is, an absolute path, not for its empty first component. */
Test(manifest_path, absolute_paths_say_so)
{
	static const char *const bad[] = { "/x", "/", "/bin/qemu-system-x86_64", "//x" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		struct volt_diag d;

		expect_bad_path(bad[i], bad[i]);
		cr_assert_eq(volt_path_check(bad[i], strlen(bad[i]), &d), -EINVAL, "%s", bad[i]);
		cr_expect_str_eq(d.reason, "absolute path", "%s", bad[i]);
	}
}

/*
 * cJSON keeps the first of a repeated key and Go's encoding/json the last:
 * each key that means something, given twice (the same value or not), is
 * refused, naming the key.
 */
Test(manifest_bad, a_known_key_given_twice)
{
	static const char *const twice[][2] = {
		{ "name", "\"name\":\"u\"" },
		{ "created_at", "\"created_at\":\"" CREATED "\"" },
		{ "objects", "\"objects\":{\"bin/x\":\"" H2 "\"}" },
		{ "profile", "\"profile\":\"a\",\"profile\":\"b\"" },
		{ "qemu_version", "\"qemu_version\":\"8.2\",\"qemu_version\":\"9.0\"" },
		{ "build_date", "\"build_date\":\"x\",\"build_date\":\"x\"" },
		{ "build_host", "\"build_host\":\"a\",\"build_host\":\"b\"" },
		{ "arch", "\"arch\":\"x86_64\",\"arch\":\"aarch64\"" },
		{ "total_bytes", "\"total_bytes\":1,\"total_bytes\":2" },
	};

	for (size_t i = 0; i < sizeof(twice) / sizeof(*twice); i++) {
		char *json;

		cr_assert(asprintf(&json,
				   "{\"name\":\"t\",\"created_at\":\"" CREATED
				   "\",\"objects\":{\"bin/ok\":\"" H1 "\"},%s}",
				   twice[i][1]) > 0);
		expect_refused(json, -EBADMSG, twice[i][0], "given twice");
		free(json);
	}
	/* Unknown keys mean nothing: repeating one is harmless. */
	{
		struct volt_manifest m;

		parse_ok(&m, "{\"name\":\"t\",\"created_at\":\"" CREATED "\",\"objects\":{},\"x-"
			     "note\":1,\"x-note\":2}");
		volt_manifest_release(&m);
	}
}

Test(manifest_path, nul_escape_in_key_refused)
{
	expect_refused(WITH_OBJECTS("\"bin/a\\u0000b\":\"" H1 "\""), -EINVAL, NULL, "NUL");
	/* cJSON would have cut "bin/a\u0000" to "bin/a": the entry must not pass as that. */
	expect_refused(WITH_OBJECTS("\"bin/a\\u0000\":\"" H1 "\""), -EINVAL, NULL, "NUL");
	expect_refused(WITH_OBJECTS("\"\\u0000\":\"" H1 "\""), -EINVAL, NULL, "NUL");
	/* An escaped backslash before a real NUL escape. */
	expect_refused(WITH_OBJECTS("\"bin/\\\\\\u0000\":\"" H1 "\""), -EINVAL, NULL, "NUL");
	/* A NUL escape in a value hides the same lie. */
	expect_refused("{\"name\":\"t\\u0000x\",\"created_at\":\"" CREATED "\",\"objects\":{}}",
		       -EINVAL, NULL, "NUL");
}

/* "\\u0000" is a backslash followed by "u0000": six ordinary bytes, no NUL. */
Test(manifest_path, escaped_backslash_is_not_nul)
{
	struct volt_manifest m;

	parse_ok(&m, WITH_OBJECTS("\"bin/a\\\\u0000b\":\"" H1 "\""));
	cr_assert_eq(m.n_entries, 1);
	cr_expect_str_eq(m.entries[0].path, "bin/a\\u0000b");
	cr_expect_eq(m.entries[0].path_len, strlen("bin/a\\u0000b"));
	volt_manifest_release(&m);

	parse_ok(&m, WITH_OBJECTS("\"bin/\\\\\\\\u0000\":\"" H1 "\""));
	cr_assert_eq(m.n_entries, 1);
	cr_expect_str_eq(m.entries[0].path, "bin/\\\\u0000");
	volt_manifest_release(&m);
}

Test(manifest_path, raw_nul_byte_refused)
{
	static const char buf[] = "{\"name\":\"t\",\"created_at\":\"" CREATED "\",\"objects\":{"
				  "\"bin/a\0b\":\"" H1 "\"}}";

	expect_refused_len(buf, sizeof(buf) - 1, -EINVAL, NULL, "NUL");
	/* Even after the document. */
	expect_refused_len(WITH_OBJECTS("") "\0", sizeof(WITH_OBJECTS("")), -EINVAL, NULL, NULL);
}

static char *repeat(char c, size_t n)
{
	char *s = malloc(n + 1);

	memset(s, c, n);
	s[n] = '\0';
	return s;
}

Test(manifest_path, component_length)
{
	char *n255 = repeat('x', 255), *n256 = repeat('x', 256), *json, *path;
	struct volt_manifest m;

	cr_assert(asprintf(&json, WITH_OBJECTS("\"lib/%s\":\"" H1 "\""), n255) > 0);
	parse_ok(&m, json);
	cr_assert(asprintf(&path, "lib/%s", n255) > 0);
	cr_expect_not_null(volt_manifest_find(&m, path));
	volt_manifest_release(&m);
	free(json);
	free(path);

	cr_assert(asprintf(&path, "lib/%s", n256) > 0);
	expect_bad_path(path, path);
	free(path);
	cr_assert(asprintf(&path, "%s/x", n256) > 0);
	expect_bad_path(path, path);
	free(path);
	free(n255);
	free(n256);
}

/* count components of 200 bytes and a last one of last bytes (malloc'ed). */
static char *long_path(size_t count, size_t last)
{
	size_t len = count * 201 + last;
	char *p = malloc(len + 1);

	memset(p, 'p', len);
	for (size_t i = 0; i < count; i++)
		p[i * 201 + 200] = '/';
	p[len] = '\0';
	return p;
}

Test(manifest_path, path_length)
{
	char *ok = long_path(20, 75), *bad = long_path(20, 76), *json;
	struct volt_manifest m;
	struct volt_manifest_entry *e;
	struct volt_diag d;

	cr_assert_eq(strlen(ok), VOLT_PATH_MAX);
	cr_assert(asprintf(&json, WITH_OBJECTS("\"%s\":\"" H1 "\""), ok) > 0);
	parse_ok(&m, json);
	cr_assert_eq(m.n_entries, 1);
	e = m.entries;
	cr_expect_eq(e->path_len, VOLT_PATH_MAX);
	cr_expect_not_null(volt_manifest_find(&m, ok));
	volt_manifest_release(&m);
	free(json);

	/* 4096 bytes: the entry is named as far as the diagnostic holds. */
	cr_assert(asprintf(&json, WITH_OBJECTS("\"%s\":\"" H1 "\""), bad) > 0);
	cr_expect_eq(parse(&m, json, strlen(json), &d), -EINVAL);
	cr_expect(is_zero(&m));
	cr_expect_eq(strncmp(d.entry, bad, sizeof(d.entry) - 1), 0, "entry %s", d.entry);
	cr_expect_neq(d.reason[0], '\0');
	free(json);
	free(ok);
	free(bad);
}

/* depth components "d/d/.../d" (malloc'ed). */
static char *deep_path(size_t depth)
{
	char *p = malloc(2 * depth);

	for (size_t i = 0; i < depth; i++) {
		p[2 * i] = 'd';
		p[2 * i + 1] = '/';
	}
	p[2 * depth - 1] = '\0';
	return p;
}

Test(manifest_path, depth)
{
	char *ok = deep_path(VOLT_DEPTH_MAX), *bad = deep_path(VOLT_DEPTH_MAX + 1), *json;
	struct volt_manifest m;

	cr_assert(asprintf(&json, WITH_OBJECTS("\"%s\":\"" H1 "\""), ok) > 0);
	parse_ok(&m, json);
	cr_expect_not_null(volt_manifest_find(&m, ok));
	volt_manifest_release(&m);
	free(json);
	expect_bad_path(bad, bad);
	free(ok);
	free(bad);
}

Test(manifest_path, file_and_folder)
{
	/* Both orders in the document: the refusal must not depend on it. */
	expect_refused(WITH_OBJECTS("\"bin/x\":\"" H1 "\",\"bin/x/y\":\"" H2 "\""), -EINVAL,
		       "bin/x", NULL);
	expect_refused(WITH_OBJECTS("\"bin/x/y\":\"" H1 "\",\"bin/x\":\"" H2 "\""), -EINVAL,
		       "bin/x", NULL);
	/* "a-b" sorts between "a" and "a/c" ('-' < '/'). */
	expect_refused(WITH_OBJECTS("\"a\":\"" H1 "\",\"a-b\":\"" H1 "\",\"a/c\":\"" H1 "\""),
		       -EINVAL, "a", NULL);
	expect_refused(WITH_OBJECTS("\"a/c\":\"" H1 "\",\"a.b\":\"" H1 "\",\"a!\":\"" H1 "\","
				    "\"a\":\"" H1 "\",\"a-b/x\":\"" H1 "\""),
		       -EINVAL, "a", NULL);
	/* Deep below the file, with many siblings in between. */
	expect_refused(WITH_OBJECTS("\"lib/x\":\"" H1 "\",\"lib/x-1\":\"" H1 "\","
				    "\"lib/x-2\":\"" H1 "\",\"lib/x.so\":\"" H1 "\","
				    "\"lib/x/a/b/c\":\"" H1 "\",\"lib/y\":\"" H1 "\""),
		       -EINVAL, "lib/x", NULL);
}

Test(manifest_path, prefixes_that_are_not_folders)
{
	struct volt_manifest m;

	parse_ok(&m,
		 WITH_OBJECTS("\"a\":\"" H1 "\",\"a-b\":\"" H1 "\",\"ab/c\":\"" H1 "\","
			      "\"a.d/e\":\"" H1 "\",\"lib/x\":\"" H1 "\",\"lib/xy/z\":\"" H1 "\""));
	cr_expect_eq(m.n_entries, 6);
	volt_manifest_release(&m);
}

Test(manifest_path, same_path_twice)
{
	expect_refused(WITH_OBJECTS("\"bin/x\":\"" H1 "\",\"bin/x\":\"" H2 "\""), -EINVAL, "bin/x",
		       NULL);
	expect_refused(WITH_OBJECTS("\"bin/x\":\"" H1 "\",\"lib/y\":\"" H1 "\",\"bin/x\":\"" H1
				    "\""),
		       -EINVAL, "bin/x", NULL);
	/* The same path spelled with an escape is the same path. */
	expect_refused(WITH_OBJECTS("\"bin/x\":\"" H1 "\",\"bin/\\u0078\":\"" H1 "\""), -EINVAL,
		       "bin/x", NULL);
}

Test(manifest_path, reserved_top_level_names)
{
	static const char *const bad[] = { "args", "env", "unit", "args/x", "env/a/b", "unit/u" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		expect_bad_path(bad[i], bad[i]);
}

Test(manifest_path, standard_folders_cannot_be_files)
{
	expect_bad_path("bin", "bin");
	expect_bad_path("lib", "lib");
	expect_bad_path("firmware", "firmware");
}

/* Reserved only at the top: deeper, or as part of a longer name, they are plain names. */
Test(manifest_path, reserved_names_elsewhere_are_fine)
{
	struct volt_manifest m;

	parse_ok(&m, WITH_OBJECTS("\"bin/args\":\"" H1 "\",\"lib/env\":\"" H1 "\","
				  "\"firmware/unit\":\"" H1 "\",\"args.txt\":\"" H1 "\","
				  "\"environment\":\"" H1 "\",\"units/a\":\"" H1 "\","
				  "\"binary\":\"" H1 "\",\"Args\":\"" H1 "\""));
	cr_expect_eq(m.n_entries, 8);
	volt_manifest_release(&m);
}

Test(manifest_path, hash_must_be_an_object_name)
{
	static const char *const bad[] = {
		"\"6BBA86C7E069F56D5A10B435F1C8E49C\"",	 /* uppercase */
		"\"6bba86c7e069f56d5a10b435f1c8e49\"",	 /* 31 */
		"\"6bba86c7e069f56d5a10b435f1c8e49c0\"", /* 33 */
		"\"../../etc/passwd\"",
		"\"\"",
		"\"" H1 "/\"",
		"\"sha256:" SHA "\"",
		"12345678901234567890123456789012",
		"null",
		"true",
		"{}",
		"[\"" H1 "\"]",
	};
	char *json;

	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		cr_assert(asprintf(&json, WITH_OBJECTS("\"bin/ok\":\"" H1 "\",\"lib/x\":%s"),
				   bad[i]) > 0);
		expect_refused(json, -EINVAL, "lib/x", NULL);
		free(json);
	}
}

/* RFC 3339 */

static void expect_time(const char *s, time_t sec, long nsec)
{
	struct timespec ts = { -1, -1 };

	cr_expect_eq(volt_time_parse_rfc3339(s, &ts), 0, "%s", s);
	cr_expect_eq(ts.tv_sec, sec, "%s: %lld", s, (long long)ts.tv_sec);
	cr_expect_eq(ts.tv_nsec, nsec, "%s: %ld", s, ts.tv_nsec);
}

Test(manifest_time, valid_times)
{
	expect_time("2026-01-02T03:04:05Z", CREATED_SEC, 0);
	expect_time("2026-01-02t03:04:05z", CREATED_SEC, 0);
	expect_time("2026-01-02T03:04:05.5Z", CREATED_SEC, 500000000);
	expect_time("2026-01-02T03:04:05.123456789Z", CREATED_SEC, 123456789);
	expect_time("2026-01-02T03:04:05.1234567891Z", CREATED_SEC, 123456789);
	/* +02:00 is two hours ahead of UTC: the same wall clock is two hours earlier. */
	expect_time("2026-01-02T03:04:05+02:00", CREATED_SEC - 7200, 0);
	expect_time("2026-01-02T03:04:05-02:30", CREATED_SEC + 9000, 0);
	expect_time("2026-01-02T03:04:05+00:00", CREATED_SEC, 0);
	expect_time("2026-01-02T03:04:05-00:00", CREATED_SEC, 0);
	expect_time("2026-01-02T03:04:05.25+02:00", CREATED_SEC - 7200, 250000000);
	/* Across a day boundary: 2026-01-01T23:00:00Z. */
	expect_time("2026-01-02T01:00:00+02:00", 1767308400, 0);
	expect_time("1970-01-01T00:00:00Z", 0, 0);
	expect_time("2024-02-29T00:00:00Z", 1709164800, 0);
	expect_time("2000-02-29T00:00:00Z", 951782400, 0);
	expect_time("2026-12-31T23:59:59Z", 1798761599, 0);
}

Test(manifest_time, invalid_times)
{
	static const char *const bad[] = {
		"2026-01-02T03:04:05",	 /* no zone */
		"2026-01-02T03:04:05.5", /* no zone after a fraction */
		"2026-01-02 03:04:05Z",	 /* space, not T */
		"2026-13-02T03:04:05Z",	 /* month 13 */
		"2026-00-02T03:04:05Z",	 /* month 0 */
		"2026-02-30T03:04:05Z",	 /* Feb 30 */
		"2026-02-29T03:04:05Z",	 /* not a leap year */
		"1900-02-29T00:00:00Z",	 /* not a leap year either */
		"2026-04-31T00:00:00Z",
		"2026-01-00T00:00:00Z",
		"2026-01-32T00:00:00Z",
		"2026-1-2T03:04:05Z",
		"2026-01-02T3:04:05Z",
		"2026-01-02T24:00:00Z",
		"2026-01-02T03:60:00Z",
		"2026-01-02T03:04:61Z",
		"2026-01-02T03:04:05.Z",  /* a dot without digits */
		"2026-01-02T03:04:05+02", /* offset without minutes */
		"2026-01-02T03:04:05+0200",
		"2026-01-02T03:04:05+24:00",
		"2026-01-02T03:04:05+02:60",
		"2026-01-02T03:04:05ZZ",
		"2026-01-02T03:04:05Z ",
		" 2026-01-02T03:04:05Z",
		"2026-01-02T03:04:05UTC",
		"2026/01/02T03:04:05Z",
		"",
		"2026",
	};
	struct timespec ts;

	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		cr_expect_eq(volt_time_parse_rfc3339(bad[i], &ts), -EINVAL, "'%s'", bad[i]);
}

Test(manifest_time, manifest_created_at_is_checked)
{
	struct volt_manifest m;

	parse_ok(&m, "{\"name\":\"t\",\"created_at\":\"2026-01-02T05:04:05.5+02:00\","
		     "\"objects\":{}}");
	cr_expect_str_eq(m.created_at, "2026-01-02T05:04:05.5+02:00", "kept as written");
	cr_expect_eq(m.created.tv_sec, CREATED_SEC);
	cr_expect_eq(m.created.tv_nsec, 500000000);
	volt_manifest_release(&m);
	expect_refused("{\"name\":\"t\",\"created_at\":\"2026-02-29T00:00:00Z\",\"objects\":{}}",
		       -EBADMSG, "created_at", NULL);
	expect_refused("{\"name\":\"t\",\"created_at\":\"2026-01-02T03:04:05\",\"objects\":{}}",
		       -EBADMSG, "created_at", NULL);
}

Test(manifest_time, format_round_trip)
{
	struct timespec ts = { CREATED_SEC, 123456789 }, back;
	char buf[40];

	volt_time_format_rfc3339(&ts, buf, sizeof(buf));
	cr_expect_str_eq(buf, "2026-01-02T03:04:05.123456789Z");
	cr_assert_eq(volt_time_parse_rfc3339(buf, &back), 0);
	cr_expect_eq(back.tv_sec, ts.tv_sec);
	cr_expect_eq(back.tv_nsec, ts.tv_nsec);
}

/* Loading from refs/ */

static char *tmp;
static int refs_dir;

static void setup(void)
{
	tmp = vt_tmpdir();
	refs_dir = open(tmp, O_RDONLY | O_DIRECTORY);
	cr_assert(refs_dir >= 0);
}

static void teardown(void)
{
	close(refs_dir);
	vt_rmtree(tmp);
	free(tmp);
	tmp = NULL;
}

static const char good_json[] = WITH_OBJECTS("\"bin/qemu-system-x86_64\":\"" H1 "\"");

/* The id of good_json: the first 8 hex of its XXH3-128. */
static void id_of(const char *buf, size_t len, char id[9])
{
	struct volt_hash h;
	char hex[VOLT_HASH_HEX_MAX + 1];

	volt_hash_xxh128(&h, buf, len);
	volt_hash_format(&h, hex);
	memcpy(id, hex, 8);
	id[8] = '\0';
}

static int load(struct volt_manifest *m, const char *name, const char *id, struct volt_diag *d)
{
	memset(m, 0xa5, sizeof(*m));
	memset(d, 0x5a, sizeof(*d));
	d->file[sizeof(d->file) - 1] = d->entry[sizeof(d->entry) - 1] = '\0';
	d->reason[sizeof(d->reason) - 1] = '\0';
	return volt_manifest_load(m, refs_dir, name, id, d);
}

Test(manifest_load, good_ref_loads, .init = setup, .fini = teardown)
{
	char *p = vt_join(tmp, "kvm-linux-x.json"), id[9];
	struct volt_manifest m;
	struct volt_diag d;

	vt_write_str(p, good_json);
	id_of(good_json, strlen(good_json), id);
	cr_assert_eq(load(&m, "kvm-linux-x.json", id, &d), 0, "%s", d.reason);
	cr_expect_str_eq(m.name, "t");
	cr_expect_eq(m.n_entries, 1);
	cr_expect_not_null(volt_manifest_find(&m, "bin/qemu-system-x86_64"));
	volt_manifest_release(&m);
	/* Without an id nothing is compared. */
	cr_assert_eq(load(&m, "kvm-linux-x.json", NULL, &d), 0, "%s", d.reason);
	volt_manifest_release(&m);
	free(p);
}

Test(manifest_load, id_mismatch_is_ebadmsg, .init = setup, .fini = teardown)
{
	char *p = vt_join(tmp, "kvm-linux-00000000.json"), id[9];
	struct volt_manifest m;
	struct volt_diag d;

	vt_write_str(p, good_json);
	id_of(good_json, strlen(good_json), id);
	cr_assert_neq(strcmp(id, "00000000"), 0);
	cr_expect_eq(load(&m, "kvm-linux-00000000.json", "00000000", &d), -EBADMSG);
	cr_expect(is_zero(&m));
	cr_expect_str_eq(d.file, "kvm-linux-00000000.json");
	cr_expect_str_eq(d.entry, "");
	cr_expect_neq(d.reason[0], '\0');
	/* One changed character. */
	id[7] = id[7] == '0' ? '1' : '0';
	cr_expect_eq(load(&m, "kvm-linux-00000000.json", id, &d), -EBADMSG);
	cr_expect(is_zero(&m));
	free(p);
}

Test(manifest_load, bad_content_names_file_and_entry, .init = setup, .fini = teardown)
{
	static const char json[] = WITH_OBJECTS("\"../etc/passwd\":\"" H1 "\"");
	char *p = vt_join(tmp, "ref.json"), id[9];
	struct volt_manifest m;
	struct volt_diag d;

	vt_write_str(p, json);
	id_of(json, strlen(json), id);
	cr_expect_eq(load(&m, "ref.json", id, &d), -EINVAL);
	cr_expect(is_zero(&m));
	cr_expect_str_eq(d.file, "ref.json");
	cr_expect_str_eq(d.entry, "../etc/passwd");
	cr_expect_neq(d.reason[0], '\0');
	free(p);
}

Test(manifest_load, symlink_ref_refused, .init = setup, .fini = teardown)
{
	char *p = vt_join(tmp, "real.json"), *link = vt_join(tmp, "link.json"), id[9];
	struct volt_manifest m;
	struct volt_diag d;
	int ret;

	vt_write_str(p, good_json);
	id_of(good_json, strlen(good_json), id);
	cr_assert_eq(symlink("real.json", link), 0);
	ret = load(&m, "link.json", id, &d);
	cr_expect_lt(ret, 0, "a link was followed");
	cr_expect(is_zero(&m));
	cr_expect_str_eq(d.file, "link.json");
	cr_expect_neq(d.reason[0], '\0');
	free(p);
	free(link);
}

Test(manifest_load, not_a_regular_file_refused, .init = setup, .fini = teardown, .timeout = 10)
{
	char *dir = vt_join(tmp, "dir.json"), *fifo = vt_join(tmp, "fifo.json");
	struct volt_manifest m;
	struct volt_diag d;

	cr_assert_eq(mkdir(dir, 0755), 0);
	cr_assert_eq(mkfifo(fifo, 0644), 0);
	cr_expect_lt(load(&m, "dir.json", NULL, &d), 0);
	cr_expect(is_zero(&m));
	cr_expect_str_eq(d.file, "dir.json");
	cr_expect_lt(load(&m, "fifo.json", NULL, &d), 0);
	cr_expect(is_zero(&m));
	cr_expect_str_eq(d.file, "fifo.json");
	free(dir);
	free(fifo);
}

Test(manifest_load, missing_ref_is_enoent, .init = setup, .fini = teardown)
{
	struct volt_manifest m;
	struct volt_diag d;

	cr_expect_eq(load(&m, "kvm-linux-01234567.json", "01234567", &d), -ENOENT);
	cr_expect(is_zero(&m));
	cr_expect_str_eq(d.file, "kvm-linux-01234567.json");
}

/* A sparse file one byte over the bound: refused from its size, not read. */
Test(manifest_load, oversized_ref_is_efbig, .init = setup, .fini = teardown)
{
	char *p = vt_join(tmp, "big.json");
	struct volt_manifest m;
	struct volt_diag d;
	int fd;

	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, "{", 1), 1);
	cr_assert_eq(ftruncate(fd, (off_t)VOLT_MANIFEST_MAX_BYTES + 1), 0);
	close(fd);
	cr_expect_eq(load(&m, "big.json", NULL, &d), -EFBIG);
	cr_expect(is_zero(&m));
	cr_expect_str_eq(d.file, "big.json");
	cr_expect_str_eq(d.entry, "");
	cr_expect_neq(d.reason[0], '\0');
	free(p);
}

Test(manifest, parse_of_oversized_buffer_is_efbig)
{
	size_t len = (size_t)VOLT_MANIFEST_MAX_BYTES + 1;
	char *buf = malloc(len);
	struct volt_manifest m;
	struct volt_diag d;

	cr_assert_not_null(buf);
	memset(buf, ' ', len);
	memcpy(buf, WITH_OBJECTS(""), strlen(WITH_OBJECTS("")));
	cr_expect_eq(parse(&m, buf, len, &d), -EFBIG);
	cr_expect(is_zero(&m));
	cr_expect_neq(d.reason[0], '\0');
	free(buf);
}

Test(manifest, diag_may_be_null)
{
	struct volt_manifest m;

	memset(&m, 0xa5, sizeof(m));
	cr_expect_eq(volt_manifest_parse(&m, WITH_OBJECTS("\"..\":\"" H1 "\""),
					 strlen(WITH_OBJECTS("\"..\":\"" H1 "\"")), NULL),
		     -EINVAL);
	cr_expect(is_zero(&m));
}
