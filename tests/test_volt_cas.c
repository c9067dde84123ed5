// SPDX-License-Identifier: MIT
/*
 * Tests for tools/volt-cas as people use it: exit codes (0 ok, 1 failure,
 * 2 usage) and --help everywhere, --json that parses and holds its fields,
 * verify finding a corrupt object, gc's dry run, --force and its refusals,
 * the build progress line only on a terminal, and stats on a mount.
 */
#include <errno.h>
#include <fcntl.h>
#include <pty.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <criterion/criterion.h>

#include "support.h"

static char *tmp, *cas, *src;
static struct vt_mount mount;

static void setup(void)
{
	tmp = vt_tmpdir();
	cas = vt_join(tmp, "cas");
	src = vt_join(tmp, "src");
}

static void teardown(void)
{
	vt_mount_cleanup(&mount);
	vt_rmtree(tmp);
	free(src);
	free(cas);
	free(tmp);
	tmp = cas = src = NULL;
}

TestSuite(volt_cas, .init = setup, .fini = teardown, .timeout = 60);

struct result {
	int status; /* exit code, or 128 + signal */
	char *out;
	char *err;
};

static void result_release(struct result *r)
{
	free(r->out);
	free(r->err);
	r->out = r->err = NULL;
}

static void exec_tool(char **argv)
{
	execv(VOLT_CAS_BIN, argv);
	_exit(127);
}

/*
 * Run volt-cas with the NULL-terminated arguments, stdin from /dev/null,
 * stdout and stderr into files (so neither is a terminal).
 */
static void run(struct result *r, const char *arg, ...)
{
	char *argv[32], *out_path = vt_join(tmp, "stdout"), *err_path = vt_join(tmp, "stderr");
	int argc = 0, status;
	va_list ap;
	pid_t pid;

	argv[argc++] = (char *)"volt-cas";
	va_start(ap, arg);
	for (const char *a = arg; a; a = va_arg(ap, const char *)) {
		cr_assert_lt(argc, 31);
		argv[argc++] = (char *)a;
	}
	va_end(ap);
	argv[argc] = NULL;
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int in = open("/dev/null", O_RDONLY);
		int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int err = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		dup2(in, 0);
		dup2(out, 1);
		dup2(err, 2);
		exec_tool(argv);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	r->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	r->out = vt_read_file(out_path, NULL);
	r->err = vt_read_file(err_path, NULL);
	cr_assert(r->out && r->err);
	free(out_path);
	free(err_path);
}

/* run, asserting the exit code; the result is released. */
#define expect_status(want, ...)                                             \
	do {                                                                 \
		struct result r_;                                            \
		run(&r_, __VA_ARGS__, NULL);                                 \
		cr_expect_eq(r_.status, want,                                \
			     "volt-cas %s: exit %d, want %d\nstdout: %s\n"   \
			     "stderr: %s",                                   \
			     #__VA_ARGS__, r_.status, want, r_.out, r_.err); \
		result_release(&r_);                                         \
	} while (0)

static void put_src(const char *rel, const char *content, mode_t mode)
{
	char *p = vt_join(src, rel);

	vt_write_file(p, content, strlen(content), mode);
	free(p);
}

/* Build src as profile; the ref's file name (in refs/) into name. */
static void build(const char *profile, char name[64])
{
	struct result r;
	char *last;

	run(&r, "--cas", cas, "build", profile, src, NULL);
	cr_assert_eq(r.status, 0, "build: %s", r.err);
	last = strrchr(r.out, '/');
	cr_assert_not_null(last);
	snprintf(name, 64, "%.*s", (int)strcspn(last + 1, "\n"), last + 1);
	result_release(&r);
}

/* A small profile source: a binary, a library, firmware. */
static void make_src(void)
{
	put_src("bin/qemu-system-x86_64", "#!/bin/sh\necho qemu\n", 0755);
	put_src("lib/libfoo.so.1", "libfoo bytes", 0644);
	put_src("firmware/bios.bin", "BIOS image", 0644);
}

static char *object_path(const char *hex)
{
	char *rel, *p;

	cr_assert(asprintf(&rel, "objects/%s", hex) > 0);
	p = vt_join(cas, rel);
	free(rel);
	return p;
}

static bool exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

static void set_age(const char *path, time_t seconds_ago)
{
	struct timespec t[2] = { { time(NULL) - seconds_ago, 0 }, { time(NULL) - seconds_ago, 0 } };

	cr_assert_eq(utimensat(AT_FDCWD, path, t, AT_SYMLINK_NOFOLLOW), 0, "%s: %s", path,
		     strerror(errno));
}

/* The hash under which bytes are stored, by storing them unreferenced. */
static void put_loose(const char *content, char hex[VOLT_HASH_HEX_MAX + 1])
{
	vt_put_object(cas, content, strlen(content), 0444, hex);
}

/* Exit codes and --help */

Test(volt_cas, usage_errors_exit_2)
{
	expect_status(2, "--bogus");
	expect_status(2, "frobnicate");
	expect_status(2, "--cas", "/nonexistent");
	expect_status(2, "build");
	expect_status(2, "build", "kvm-linux");
	expect_status(2, "build", "not-a-profile", "/tmp");
	expect_status(2, "build", "--arch");
	expect_status(2, "ls", "extra");
	expect_status(2, "ls", "--bogus");
	expect_status(2, "show");
	expect_status(2, "show", "no-such-profile");
	expect_status(2, "show", "kvm-linux", "kvm-uefi");
	expect_status(2, "assemble", "kvm-linux");
	expect_status(2, "verify", "--jobs", "many");
	expect_status(2, "verify", "extra");
	expect_status(2, "gc", "--grace", "-5");
	expect_status(2, "gc", "extra");
	expect_status(2, "stats");
	expect_status(2, "select", "extra");
	expect_status(2, "kvm", "extra");
	expect_status(2, "help", "frobnicate");
}

Test(volt_cas, usage_error_says_how_to_get_help)
{
	struct result r;

	run(&r, "gc", "--bogus", NULL);
	cr_expect_eq(r.status, 2);
	cr_expect_str_empty(r.out);
	cr_expect_not_null(strstr(r.err, "volt-cas gc: unrecognized option '--bogus'"), "%s",
			   r.err);
	cr_expect_not_null(strstr(r.err, "Try 'volt-cas gc --help'"), "%s", r.err);
	result_release(&r);
}

Test(volt_cas, failures_exit_1)
{
	char *missing = vt_join(tmp, "missing");

	expect_status(1, "--cas", missing, "ls");
	expect_status(1, "--cas", missing, "show", "kvm-linux");
	expect_status(1, "--cas", missing, "verify");
	expect_status(1, "--cas", missing, "gc");
	expect_status(1, "--cas", cas, "build", "kvm-linux", missing); /* no such source */
	expect_status(1, "--cas", cas, "show", "kvm-linux");	       /* no ref */
	expect_status(1, "--cas", cas, "assemble", "kvm-linux", missing);
	expect_status(1, "stats", tmp); /* not a mount */
	free(missing);
}

Test(volt_cas, help_on_every_command)
{
	static const char *const cmds[] = { "build", "ls",    "show",	"assemble", "verify",
					    "gc",    "stats", "select", "kvm",	    "help" };
	char *missing = vt_join(tmp, "missing");

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		const char *forms[][2] = { { cmds[i], "--help" },
					   { cmds[i], "-h" },
					   { "help", cmds[i] } };

		for (size_t f = 0; f < 3; f++) {
			struct result r;
			char want[64];

			/* --help needs no store: it works where there is none. */
			run(&r, "--cas", missing, forms[f][0], forms[f][1], NULL);
			snprintf(want, sizeof(want), "usage: volt-cas [--cas DIR] %s", cmds[i]);
			cr_expect_eq(r.status, 0, "%s %s: %d %s", forms[f][0], forms[f][1],
				     r.status, r.err);
			cr_expect_eq(strncmp(r.out, want, strlen(want)), 0, "%s %s: %s",
				     forms[f][0], forms[f][1], r.out);
			cr_expect_str_empty(r.err);
			result_release(&r);
		}
	}
	free(missing);
}

Test(volt_cas, global_help_and_version)
{
	static const char *const cmds[] = { "build", "ls",    "show",	"assemble", "verify",
					    "gc",    "stats", "select", "kvm" };
	struct result r;

	run(&r, "--help", NULL);
	cr_expect_eq(r.status, 0);
	cr_expect_str_empty(r.err);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		char want[32];

		snprintf(want, sizeof(want), "\n  %s", cmds[i]);
		cr_expect_not_null(strstr(r.out, want), "--help lists %s", cmds[i]);
	}
	cr_expect_not_null(strstr(r.out, "0 ok, 1 failure, 2 usage"));
	result_release(&r);
	run(&r, "--version", NULL);
	cr_expect_eq(r.status, 0);
	cr_expect_str_eq(r.out, "volt-cas " VOLTFS_VERSION "\n");
	result_release(&r);
}

/* --json */

static cJSON *parse_json(const char *text)
{
	cJSON *j = cJSON_Parse(text);

	cr_assert_not_null(j, "not JSON: %s", text);
	return j;
}

static void expect_string(const cJSON *o, const char *key, const char *want)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	cr_expect(cJSON_IsString(v), "%s is not a string", key);
	if (want && cJSON_IsString(v))
		cr_expect_str_eq(v->valuestring, want, "%s", key);
}

static void expect_number(const cJSON *o, const char *key, double want)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	cr_expect(cJSON_IsNumber(v), "%s is not a number", key);
	if (cJSON_IsNumber(v))
		cr_expect_eq(v->valuedouble, want, "%s: %g, want %g", key, v->valuedouble, want);
}

Test(volt_cas, ls_json)
{
	char older[64], newer[64], uefi[64], bad[64];
	struct result r;
	const cJSON *refs, *ref;
	cJSON *j;

	make_src();
	build("kvm-linux", older);
	put_src("lib/libbar.so.2", "libbar", 0644);
	build("kvm-linux", newer);
	build("kvm-uefi", uefi);
	vt_put_ref(cas, "emulate-x86", "{\"name\": \"emulate-x86\"}", bad); /* no objects */

	run(&r, "--cas", cas, "ls", "--json", NULL);
	cr_assert_eq(r.status, 0, "%s", r.err);
	j = parse_json(r.out);
	expect_string(j, "cas", cas);
	refs = cJSON_GetObjectItemCaseSensitive(j, "refs");
	cr_assert(cJSON_IsArray(refs));
	cr_assert_eq(cJSON_GetArraySize(refs), 4);
	/* In name order, as the table. */
	cJSON_ArrayForEach(ref, refs) {
		const char *name = cJSON_GetObjectItemCaseSensitive(ref, "ref")->valuestring;

		expect_string(ref, "profile", NULL);
		expect_string(ref, "id", NULL);
		expect_string(ref, "path", NULL);
		if (strcmp(name, bad) == 0) {
			expect_string(ref, "profile", "emulate-x86");
			expect_string(ref, "state", "refused");
			expect_string(ref, "reason", NULL);
			cr_expect_not_null(
				strstr(cJSON_GetObjectItem(ref, "reason")->valuestring, "objects"));
			continue;
		}
		expect_string(ref, "created_at", NULL);
		expect_number(ref, "bin", 1);
		expect_number(ref, "firmware", 1);
		if (strcmp(name, older) == 0) {
			expect_string(ref, "state", "older");
			expect_number(ref, "lib", 1);
			expect_number(ref, "files", 3);
			expect_number(ref, "total_bytes", 42);
		} else if (strcmp(name, newer) == 0) {
			expect_string(ref, "state", "serving");
			expect_string(ref, "profile", "kvm-linux");
			expect_number(ref, "lib", 2);
			expect_number(ref, "files", 4);
			expect_number(ref, "total_bytes", 48);
		} else {
			cr_expect_str_eq(name, uefi);
			expect_string(ref, "state", "serving");
			expect_string(ref, "profile", "kvm-uefi");
		}
	}
	cJSON_Delete(j);
	result_release(&r);
}

Test(volt_cas, show_json)
{
	char name[64];
	struct result r;
	cJSON *j;

	put_src("bin/qemu-system-aarch64", "arm", 0755);
	run(&r, "--cas", cas, "build", "emulate-foreign", src, "--arch", "aarch64",
	    "--qemu-version", "8.2.1", NULL);
	cr_assert_eq(r.status, 0, "%s", r.err);
	snprintf(name, sizeof(name), "%s", strrchr(r.out, '/') + 1);
	name[strcspn(name, "\n")] = '\0';
	result_release(&r);

	run(&r, "--cas", cas, "show", "emulate-foreign", "--json", NULL);
	cr_assert_eq(r.status, 0, "%s", r.err);
	j = parse_json(r.out);
	expect_string(j, "profile", "emulate-foreign");
	expect_string(j, "ref", name);
	expect_string(j, "name", "emulate-foreign");
	expect_string(j, "created_at", NULL);
	expect_string(j, "arch", "aarch64");
	expect_string(j, "qemu_version", "8.2.1");
	expect_string(j, "build_host", NULL);
	expect_string(j, "binary", "bin/qemu-system-aarch64");
	expect_string(j, "accel", "tcg");
	cr_expect(cJSON_IsFalse(cJSON_GetObjectItem(j, "needs_kvm")));
	cr_expect(cJSON_IsTrue(cJSON_GetObjectItem(j, "needs_tcg")));
	expect_number(j, "files", 1);
	expect_number(j, "bin", 1);
	expect_number(j, "lib", 0);
	expect_number(j, "firmware", 0);
	expect_number(j, "total_bytes", 3);
	cJSON_Delete(j);
	result_release(&r);
}

Test(volt_cas, show_json_null_for_absent_fields)
{
	char hex[VOLT_HASH_HEX_MAX + 1], json[512], name[64];
	struct result r;
	cJSON *j;

	vt_cas_init(cas);
	put_loose("x", hex);
	snprintf(json, sizeof(json),
		 "{\"name\": \"kvm-linux\", \"created_at\": "
		 "\"2024-01-01T00:00:00Z\", \"objects\": {\"bin/qemu-system-x86_64\": \"%s\"}}",
		 hex);
	vt_put_ref(cas, "kvm-linux", json, name);
	run(&r, "--cas", cas, "show", "--json", "kvm-linux", NULL);
	cr_assert_eq(r.status, 0, "%s", r.err);
	j = parse_json(r.out);
	cr_expect(cJSON_IsNull(cJSON_GetObjectItem(j, "qemu_version")));
	cr_expect(cJSON_IsNull(cJSON_GetObjectItem(j, "build_host")));
	cr_expect(cJSON_IsNull(cJSON_GetObjectItem(j, "build_date")));
	expect_string(j, "arch", "x86_64");
	expect_number(j, "total_bytes", 0);
	cJSON_Delete(j);
	result_release(&r);
}

/* verify */

static void flip_byte(const char *path, off_t at)
{
	char c;
	int fd;

	cr_assert_eq(chmod(path, 0644), 0);
	fd = open(path, O_RDWR);
	cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
	cr_assert_eq(pread(fd, &c, 1, at), 1);
	c ^= 0x20;
	cr_assert_eq(pwrite(fd, &c, 1, at), 1);
	close(fd);
	cr_assert_eq(chmod(path, 0444), 0);
}

Test(volt_cas, verify_clean_store)
{
	char name[64];
	struct result r;

	make_src();
	build("kvm-linux", name);
	run(&r, "--cas", cas, "verify", NULL);
	cr_expect_eq(r.status, 0, "%s", r.err);
	cr_expect_str_empty(r.out);
	cr_expect_not_null(strstr(r.err, "3 objects"), "%s", r.err);
	cr_expect_not_null(strstr(r.err, "0 corrupt"), "%s", r.err);
	result_release(&r);
}

Test(volt_cas, verify_finds_corrupt_objects)
{
	char name[64], lib[VOLT_HASH_HEX_MAX + 1], fw[VOLT_HASH_HEX_MAX + 1];
	char *lib_path, *fw_path, want[256];
	struct result r;

	make_src();
	build("kvm-linux", name);
	for (int i = 0; i < 40; i++) { /* more objects than workers */
		char content[32], hex[VOLT_HASH_HEX_MAX + 1];

		snprintf(content, sizeof(content), "loose object %d", i);
		put_loose(content, hex);
	}
	vt_put_object(cas, "libfoo bytes", 12, 0444, lib); /* the same name as the build's */
	vt_put_object(cas, "BIOS image", 10, 0444, fw);
	lib_path = object_path(lib);
	fw_path = object_path(fw);
	flip_byte(lib_path, 3);
	cr_assert_eq(truncate(fw_path, 4), 0);

	for (int pass = 0; pass < 2; pass++) {
		run(&r, "--cas", cas, "verify", "--jobs", pass ? "1" : "0", NULL);
		cr_expect_eq(r.status, 1, "%s", r.err);
		snprintf(want, sizeof(want), "%s: content does not match its name\n", lib_path);
		cr_expect_not_null(strstr(r.out, want), "%s", r.out);
		snprintf(want, sizeof(want), "%s: content does not match its name\n", fw_path);
		cr_expect_not_null(strstr(r.out, want), "%s", r.out);
		cr_expect_not_null(strstr(r.err, "43 objects"), "%s", r.err);
		cr_expect_not_null(strstr(r.err, "2 corrupt"), "%s", r.err);
		/* One line per corrupt object, nothing else on stdout. */
		cr_expect_eq(strchr(strchr(r.out, '\n') + 1, '\n') + 1 - r.out, (long)strlen(r.out),
			     "%s", r.out);
		result_release(&r);
	}
	free(lib_path);
	free(fw_path);
}

Test(volt_cas, verify_sha256_objects_and_strangers)
{
	/* `printf abc | sha256sum` */
	static const char sha_abc[] = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f200"
				      "15ad";
	char *p, *link, want[256];
	struct result r;

	vt_cas_init(cas);
	p = object_path(sha_abc);
	vt_write_file(p, "abc", 3, 0444);
	run(&r, "--cas", cas, "verify", NULL);
	cr_expect_eq(r.status, 0, "%s%s", r.out, r.err);
	result_release(&r);

	/* Not object names: left alone. */
	free(p);
	p = object_path(".tmp-1-x");
	vt_write_file(p, "partial", 7, 0600);
	free(p);
	p = object_path("README");
	vt_write_file(p, "hello", 5, 0644);
	run(&r, "--cas", cas, "verify", NULL);
	cr_expect_eq(r.status, 0, "%s%s", r.out, r.err);
	cr_expect_not_null(strstr(r.err, "1 objects"), "%s", r.err);
	result_release(&r);

	/* A link named like an object is never followed: corrupt. */
	free(p);
	p = object_path(sha_abc);
	cr_assert_eq(unlink(p), 0);
	link = vt_join(tmp, "abc");
	vt_write_file(link, "abc", 3, 0444);
	cr_assert_eq(symlink(link, p), 0);
	run(&r, "--cas", cas, "verify", NULL);
	cr_expect_eq(r.status, 1);
	snprintf(want, sizeof(want), "%s: not a regular file\n", p);
	cr_expect_str_eq(r.out, want);
	result_release(&r);
	free(link);
	free(p);
}

/* gc */

Test(volt_cas, gc_dry_run_then_force)
{
	char name[64], loose[VOLT_HASH_HEX_MAX + 1], fresh[VOLT_HASH_HEX_MAX + 1];
	char lib[VOLT_HASH_HEX_MAX + 1], want[256];
	char *loose_path, *fresh_path, *lib_path, *tmp_old, *tmp_new, *ref_tmp, *assembled;
	struct result r;

	make_src();
	build("kvm-linux", name);
	put_loose("nobody names me", loose);
	put_loose("nor me, but I am new", fresh);
	vt_put_object(cas, "libfoo bytes", 12, 0444, lib);
	loose_path = object_path(loose);
	fresh_path = object_path(fresh);
	lib_path = object_path(lib);
	tmp_old = object_path(".tmp-99-dead");
	tmp_new = object_path(".tmp-98-live");
	ref_tmp = vt_join(cas, "refs/.tmp-97-kvm-linux-00000000.json");
	vt_write_file(tmp_old, "partial", 7, 0600);
	vt_write_file(tmp_new, "partial", 7, 0600);
	vt_write_file(ref_tmp, "{", 1, 0600);
	set_age(loose_path, 7200);
	set_age(lib_path, 7200);
	set_age(tmp_old, 7200);
	set_age(ref_tmp, 7200);

	/* Dry run: says what would go, removes nothing. */
	run(&r, "--cas", cas, "gc", NULL);
	cr_expect_eq(r.status, 0, "%s", r.err);
	snprintf(want, sizeof(want), "would remove objects/%s (unreferenced, 15 bytes)\n", loose);
	cr_expect_not_null(strstr(r.out, want), "%s", r.out);
	cr_expect_not_null(strstr(r.out, "would remove objects/.tmp-99-dead (stale temporary"),
			   "%s", r.out);
	cr_expect_not_null(strstr(r.out, "would remove refs/.tmp-97-kvm-linux-00000000.json"), "%s",
			   r.out);
	cr_expect_null(strstr(r.out, fresh), "within the grace: %s", r.out);
	cr_expect_null(strstr(r.out, lib), "referenced: %s", r.out);
	cr_expect_null(strstr(r.out, "live"), "%s", r.out);
	cr_expect_not_null(strstr(r.err, "--force"), "%s", r.err);
	result_release(&r);
	cr_expect(exists(loose_path) && exists(fresh_path) && exists(tmp_old) && exists(ref_tmp));

	/* --force: the same, removed. */
	run(&r, "--cas", cas, "gc", "--force", NULL);
	cr_expect_eq(r.status, 0, "%s", r.err);
	snprintf(want, sizeof(want), "removed objects/%s (unreferenced, 15 bytes)\n", loose);
	cr_expect_not_null(strstr(r.out, want), "%s", r.out);
	result_release(&r);
	cr_expect_not(exists(loose_path));
	cr_expect_not(exists(tmp_old));
	cr_expect_not(exists(ref_tmp));
	cr_expect(exists(fresh_path), "within the grace");
	cr_expect(exists(tmp_new), "within the grace");
	cr_expect(exists(lib_path), "referenced");

	/* --grace 0: the fresh one too; every referenced object stays. */
	run(&r, "--cas", cas, "gc", "--force", "--grace", "0", NULL);
	cr_expect_eq(r.status, 0, "%s", r.err);
	result_release(&r);
	cr_expect_not(exists(fresh_path));
	cr_expect_not(exists(tmp_new));
	expect_status(0, "--cas", cas, "verify");
	assembled = vt_join(tmp, "assembled");
	run(&r, "--cas", cas, "assemble", "kvm-linux", assembled, NULL);
	cr_expect_eq(r.status, 0, "every object the ref names is still there: %s", r.err);
	result_release(&r);
	free(assembled);

	/* Nothing left to collect. */
	run(&r, "--cas", cas, "gc", "--grace", "0", NULL);
	cr_expect_eq(r.status, 0);
	cr_expect_str_empty(r.out);
	result_release(&r);
	free(loose_path);
	free(fresh_path);
	free(lib_path);
	free(tmp_old);
	free(tmp_new);
	free(ref_tmp);
}

Test(volt_cas, gc_keeps_objects_of_every_ref)
{
	char a[64], b[64], other[64], json[512], hex[VOLT_HASH_HEX_MAX + 1];
	char *old_only, *other_only;
	struct result r;

	put_src("bin/qemu-system-x86_64", "old binary", 0755);
	build("kvm-linux", a);
	put_src("bin/qemu-system-x86_64", "new binary", 0755);
	build("kvm-linux", b); /* a is older, but still a ref: its objects stay */
	put_loose("old binary", hex);
	old_only = object_path(hex);
	/* A ref of a profile this voltfs does not know still names objects. */
	put_loose("future", hex);
	other_only = object_path(hex);
	snprintf(json, sizeof(json),
		 "{\"name\": \"kvm-arm\", \"created_at\": "
		 "\"2024-01-01T00:00:00Z\", \"objects\": {\"bin/qemu-system-aarch64\": \"%s\"}}",
		 hex);
	vt_put_ref(cas, "kvm-arm", json, other);
	run(&r, "--cas", cas, "gc", "--force", "--grace", "0", NULL);
	cr_expect_eq(r.status, 0, "%s", r.err);
	cr_expect_str_empty(r.out);
	cr_expect_not_null(strstr(r.err, "refs: 3, naming 3 objects (0 missing)"), "%s", r.err);
	result_release(&r);
	cr_expect(exists(old_only));
	cr_expect(exists(other_only));
	free(old_only);
	free(other_only);
}

static void expect_gc_refuses(const char *why, const char *loose_path)
{
	for (int force = 0; force < 2; force++) {
		struct result r;

		if (force)
			run(&r, "--cas", cas, "gc", "--force", "--grace", "0", NULL);
		else
			run(&r, "--cas", cas, "gc", "--grace", "0", NULL);
		cr_expect_eq(r.status, 1, "%s", r.err);
		cr_expect_str_empty(r.out, "nothing listed: %s", r.out);
		cr_expect_not_null(strstr(r.err, "refusing to remove anything"), "%s", r.err);
		cr_expect_not_null(strstr(r.err, why), "%s", r.err);
		result_release(&r);
		cr_expect(exists(loose_path));
	}
}

Test(volt_cas, gc_refuses_with_a_broken_ref)
{
	char name[64], loose[VOLT_HASH_HEX_MAX + 1], bad[64], want[128];
	char *loose_path, *bad_path;

	make_src();
	build("kvm-linux", name);
	put_loose("nobody names me", loose);
	loose_path = object_path(loose);

	/* Not JSON, with the right id. */
	vt_put_ref(cas, "kvm-uefi", "{\"name\": \"kvm-uefi\", ", bad);
	snprintf(want, sizeof(want), "refs/%s: ", bad);
	expect_gc_refuses(want, loose_path);
	cr_assert(asprintf(&bad_path, "%s/refs/%s", cas, bad) > 0);
	cr_assert_eq(unlink(bad_path), 0);
	free(bad_path);

	/* Valid JSON under the wrong id: it could have been anything. */
	bad_path = vt_join(cas, "refs/kvm-uefi-00000000.json");
	vt_write_str(bad_path, "{\"name\": \"kvm-uefi\", \"created_at\": \"2024-01-01T00:00:00Z\", "
			       "\"objects\": {}}");
	expect_gc_refuses("kvm-uefi-00000000.json: content does not match its id", loose_path);
	cr_assert_eq(unlink(bad_path), 0);
	free(bad_path);

	/* A ref that is a link is not read. */
	bad_path = vt_join(cas, "refs/kvm-uefi-11111111.json");
	cr_assert_eq(symlink(name, bad_path), 0);
	expect_gc_refuses("kvm-uefi-11111111.json", loose_path);
	cr_assert_eq(unlink(bad_path), 0);
	free(bad_path);

	/* Repaired: now it collects. */
	expect_status(0, "--cas", cas, "gc", "--force", "--grace", "0");
	cr_expect_not(exists(loose_path));
	free(loose_path);
}

Test(volt_cas, gc_refuses_without_refs)
{
	char hex[VOLT_HASH_HEX_MAX + 1];
	char *p, *stranger;

	vt_cas_init(cas);
	put_loose("orphan", hex);
	p = object_path(hex);
	/* A file in refs/ that is not named like a ref names nothing. */
	stranger = vt_join(cas, "refs/NOTES");
	vt_write_str(stranger, "not a ref");
	expect_gc_refuses("refs/ holds no ref", p);
	free(stranger);
	free(p);
}

/* build */

Test(volt_cas, build_with_an_empty_folder)
{
	char name[64], *empty;

	make_src();
	empty = vt_join(src, "firmware/empty");
	cr_assert_eq(mkdir(empty, 0755), 0);
	build("kvm-linux", name); /* an empty folder holds no file: nothing to store */
	expect_status(0, "--cas", cas, "verify");
	free(empty);
}

/* build's progress line */

Test(volt_cas, build_progress_not_on_a_pipe)
{
	struct result r;

	make_src();
	run(&r, "--cas", cas, "build", "kvm-linux", src, NULL);
	cr_expect_eq(r.status, 0);
	cr_expect_str_empty(r.err, "stderr is a file: no progress line: %s", r.err);
	cr_expect_null(strchr(r.out, '\r'));
	result_release(&r);
}

Test(volt_cas, build_progress_on_a_terminal)
{
	char *argv[] = { (char *)"volt-cas",
			 (char *)"--cas",
			 cas,
			 (char *)"build",
			 (char *)"kvm-linux",
			 src,
			 NULL };
	char buf[4096], *out_path = vt_join(tmp, "stdout"), *out;
	size_t len = 0;
	int master, slave, status;
	pid_t pid;

	make_src();
	cr_assert_eq(openpty(&master, &slave, NULL, NULL, NULL), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		close(master);
		dup2(fd, 1);
		dup2(slave, 2);
		exec_tool(argv);
	}
	close(slave);
	for (;;) { /* until the child's end of the terminal closes (EIO) */
		ssize_t n = read(master, buf + len, sizeof(buf) - 1 - len);

		if (n <= 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	close(master);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	cr_expect_not_null(strstr(buf, "\r\033[K1 files, "), "%s", buf);
	/* The line is wiped at the end: the terminal is left clean for stdout. */
	cr_expect_eq(strcmp(buf + len - 4, "\r\033[K"), 0, "%s", buf);
	out = vt_read_file(out_path, NULL);
	cr_expect_not_null(strstr(out, "3 files, 3 new objects, 42 bytes\n"), "%s", out);
	free(out);
	free(out_path);
}

/* stats */

Test(volt_cas, stats_needs_a_voltfs_mount)
{
	struct result r;
	char *missing;

	vt_cas_init(cas);
	run(&r, "stats", cas, NULL);
	cr_expect_eq(r.status, 1);
	cr_expect_not_null(strstr(r.err, "user.volt.stats"), "%s", r.err);
	cr_expect_not_null(strstr(r.err, "not the root of a voltfs mount"), "%s", r.err);
	result_release(&r);
	run(&r, "stats", "/proc", NULL); /* no user xattrs at all */
	cr_expect_eq(r.status, 1);
	cr_expect_not_null(strstr(r.err, "not a voltfs mount"), "%s", r.err);
	result_release(&r);
	missing = vt_join(tmp, "missing");
	run(&r, "stats", missing, NULL);
	cr_expect_eq(r.status, 1);
	cr_expect_not_null(strstr(r.err, "No such file"), "%s", r.err);
	result_release(&r);
	free(missing);
}

Test(volt_cas, stats_of_a_mount)
{
	char name[64], *mnt, *bin, *data;
	struct result r;
	cJSON *j;

	make_src();
	build("kvm-linux", name);
	mnt = vt_join(tmp, "mnt");
	/* bytes_served counts what the daemon reads: with passthrough the kernel reads objects. */
	vt_mount(&mount, cas, mnt, "nopassthrough");
	bin = vt_join(mnt, "kvm-linux/bin/qemu-system-x86_64");
	data = vt_read_file(bin, NULL);
	cr_expect_str_eq(data, "#!/bin/sh\necho qemu\n");
	free(data);

	run(&r, "stats", mnt, NULL);
	cr_expect_eq(r.status, 0, "%s", r.err);
	cr_expect_eq(strncmp(r.out, "version            " VOLTFS_VERSION "\n",
			     strlen("version            " VOLTFS_VERSION "\n")),
		     0, "%s", r.out);
	for (const char *const *k =
		     (const char *const[]){ "lookups", "opens", "bytes_served", "verify_failures",
					    "manifests_loaded", "cache_hits", NULL };
	     *k; k++) {
		char want[64];

		snprintf(want, sizeof(want), "\n%-18s ", *k);
		cr_expect_not_null(strstr(r.out, want), "%s in %s", *k, r.out);
	}
	cr_expect_not_null(strstr(r.out, "\nmanifests_loaded   1\n"), "%s", r.out);
	cr_expect_not_null(strstr(r.out, "\nbytes_served       "), "%s", r.out);
	cr_expect_not_null(strstr(r.out, "B)\n"), "bytes also in binary units: %s", r.out);
	result_release(&r);

	run(&r, "stats", "--json", mnt, NULL);
	cr_expect_eq(r.status, 0, "%s", r.err);
	j = parse_json(r.out);
	expect_string(j, "version", VOLTFS_VERSION);
	cr_expect_geq(cJSON_GetObjectItem(j, "bytes_served")->valuedouble, 20);
	expect_number(j, "manifests_loaded", 1);
	expect_number(j, "opens", 1);
	cr_expect_geq(cJSON_GetObjectItem(j, "lookups")->valuedouble, 3);
	cJSON_Delete(j);
	result_release(&r);

	/* Below the root there are no statistics. */
	run(&r, "stats", bin, NULL);
	cr_expect_eq(r.status, 1);
	cr_expect_not_null(strstr(r.err, "not the root of a voltfs mount"), "%s", r.err);
	result_release(&r);
	cr_expect_eq(vt_unmount(&mount), 0);
	free(bin);
	free(mnt);
}

/* names of mnt's root, one a line (malloc'ed). */
static char *list_root(const char *mnt)
{
	char *cmd, *out = NULL;

	cr_assert(asprintf(&cmd, "ls -1 '%s'", mnt) > 0);
	cr_assert_eq(vt_run(cmd, &out), 0, "%s", cmd);
	free(cmd);
	return out;
}

/* The mount's stats as JSON, through volt-cas stats --json. */
static cJSON *mount_stats(const char *mnt)
{
	struct result r;
	cJSON *j;

	run(&r, "stats", "--json", mnt, NULL);
	cr_assert_eq(r.status, 0, "%s", r.err);
	j = parse_json(r.out);
	result_release(&r);
	return j;
}

/*
 * Ten builds kept: listing the root reads each one's head and parses one;
 * a writer's dot file then reads nothing, a new build only itself
 * (issue 11 item 2, issue 13 item 6), as `volt-cas stats` shows.
 */
Test(volt_cas, stats_count_refs_read)
{
	char name[64], *mnt, *dot, *ls;
	cJSON *j;
	int fd;

	make_src();
	for (int i = 0; i < 10; i++)
		build("kvm-linux", name);
	mnt = vt_join(tmp, "mnt");
	vt_mount(&mount, cas, mnt, NULL);
	ls = list_root(mnt);
	cr_expect_not_null(strstr(ls, "kvm-linux\n"), "%s", ls);
	free(ls);
	j = mount_stats(mnt);
	expect_number(j, "ref_heads_read", 10);
	expect_number(j, "refs_parsed", 1);
	cJSON_Delete(j);

	dot = vt_join(cas, "refs/.tmp-writer");
	fd = open(dot, O_WRONLY | O_CREAT | O_EXCL, 0644);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, "{\"name\":", 8), 8);
	close(fd);
	free(list_root(mnt));
	j = mount_stats(mnt);
	expect_number(j, "ref_heads_read", 10);
	expect_number(j, "refs_parsed", 1);
	cJSON_Delete(j);
	unlink(dot);
	free(dot);

	build("kvm-linux", name);
	free(list_root(mnt));
	j = mount_stats(mnt);
	expect_number(j, "ref_heads_read", 11);
	expect_number(j, "refs_parsed", 2);
	expect_number(j, "manifests_loaded", 2);
	cJSON_Delete(j);
	cr_expect_eq(vt_unmount(&mount), 0);
	free(mnt);
}

/* gc --keep / --keep-days (issue 11 item 3) */

Test(volt_cas, gc_keep_usage_errors)
{
	vt_cas_init(cas);
	expect_status(2, "--cas", cas, "gc", "--keep", "0", NULL);
	expect_status(2, "--cas", cas, "gc", "--keep", "many", NULL);
	expect_status(2, "--cas", cas, "gc", "--keep-days", "0", NULL);
	expect_status(2, "--cas", cas, "gc", "--keep-days", "-3", NULL);
}

/* The id of ref file name, <profile>-<id>.json. */
static const char *ref_id(const char *name)
{
	return name + strlen(name) - strlen("xxxxxxxx.json");
}

/*
 * Two builds of kvm-linux, the older pinned in a mount with one of its
 * files open; gc --keep 1 --force prunes the older ref and its objects.
 * What the user then sees: the open file still reads right (voltfs holds
 * its descriptor), the pinned folder is still there (its build is loaded),
 * a file of it not opened before gives EIO (its object is gone), the
 * profile serves the newer build, and a new mount has no such pin.
 */
Test(volt_cas, gc_keep_prunes_a_pin_a_mount_serves)
{
	char v1[64], v2[64], pin[128], *mnt, *path, *bios, *again, *root, buf[128];
	struct result r;
	ssize_t n;
	int fd;

	make_src();
	put_src("lib/libfoo.so.1", "libfoo v1", 0644);
	put_src("firmware/bios.bin", "BIOS v1", 0644);
	build("kvm-linux", v1);
	put_src("lib/libfoo.so.1", "libfoo v2", 0644);
	put_src("firmware/bios.bin", "BIOS v2", 0644);
	build("kvm-linux", v2);
	mnt = vt_join(tmp, "mnt");
	vt_mount(&mount, cas, mnt, NULL);
	snprintf(pin, sizeof(pin), "kvm-linux@%.8s/lib/libfoo.so.1", ref_id(v1));
	path = vt_join(mnt, pin);
	fd = open(path, O_RDONLY);
	cr_assert_geq(fd, 0, "open %s: %s", path, strerror(errno));
	n = pread(fd, buf, sizeof(buf), 0);
	cr_assert_eq(n, 9);
	snprintf(pin, sizeof(pin), "kvm-linux@%.8s/firmware/bios.bin", ref_id(v1));
	bios = vt_join(mnt, pin);

	/* The dry run names the older build and its two objects; then --force. */
	run(&r, "--cas", cas, "gc", "--keep", "1", "--grace", "0", NULL);
	cr_expect_eq(r.status, 0, "%s", r.err);
	snprintf(buf, sizeof(buf), "would remove refs/%s (older build", v1);
	cr_expect_not_null(strstr(r.out, buf), "%s", r.out);
	cr_expect_null(strstr(r.out, v2), "the newer build would go: %s", r.out);
	cr_expect_not_null(strstr(r.err, "older builds pruned: 1 would go"), "%s", r.err);
	result_release(&r);
	run(&r, "--cas", cas, "gc", "--keep", "1", "--grace", "0", "--force", NULL);
	cr_expect_eq(r.status, 0, "%s", r.err);
	snprintf(buf, sizeof(buf), "removed refs/%s (older build", v1);
	cr_expect_not_null(strstr(r.out, buf), "%s", r.out);
	cr_expect_not_null(strstr(r.err, "older builds pruned: 1 removed"), "%s", r.err);
	result_release(&r);

	/* The open file, its pages dropped so the daemon reads it again. */
	cr_assert_eq(posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED), 0);
	memset(buf, 0, sizeof(buf));
	n = pread(fd, buf, sizeof(buf), 0);
	cr_expect_eq(n, 9, "pread after the prune: %zd (%s)", n, strerror(errno));
	cr_expect_eq(memcmp(buf, "libfoo v1", 9), 0, "the open file now reads '%.9s'", buf);
	close(fd);

	/* The pinned build is still loaded; a file not looked up before has no object now. */
	snprintf(pin, sizeof(pin), "kvm-linux@%.8s/lib", ref_id(v1));
	again = vt_join(mnt, pin);
	cr_expect_eq(access(again, F_OK), 0, "the pinned folder went with its ref: %s",
		     strerror(errno));
	free(again);
	fd = open(bios, O_RDONLY);
	cr_expect(fd < 0 && errno == EIO, "open of a pruned object: fd %d, %s", fd,
		  strerror(errno));
	if (fd >= 0)
		close(fd);
	snprintf(pin, sizeof(pin), "kvm-linux/lib/libfoo.so.1");
	again = vt_join(mnt, pin);
	root = vt_read_file(again, NULL);
	cr_expect_str_eq(root ? root : "(none)", "libfoo v2");
	free(root);
	free(again);
	cr_expect_eq(vt_unmount(&mount), 0);

	/* A new mount knows no such pin. */
	vt_mount(&mount, cas, mnt, NULL);
	cr_expect_neq(access(bios, F_OK), 0);
	cr_expect_eq(errno, ENOENT);
	cr_expect_eq(vt_unmount(&mount), 0);
	free(bios);
	free(path);
	free(mnt);
}

/* An object gc cannot remove (immutable: even root's unlink fails): said, and exit 1. */
Test(volt_cas, gc_exits_1_when_a_removal_fails)
{
	char stuck[VOLT_HASH_HEX_MAX + 1], gone[VOLT_HASH_HEX_MAX + 1], want[256], *cmd;
	char *stuck_path, *gone_path, name[64];
	struct result r;

	/* gc refuses to run without a ref: one build, whose objects stay. */
	make_src();
	build("kvm-linux", name);
	put_loose("unreferenced and immutable", stuck);
	put_loose("unreferenced", gone);
	stuck_path = object_path(stuck);
	gone_path = object_path(gone);
	cr_assert(asprintf(&cmd, "chattr +i '%s' 2>/dev/null", stuck_path) > 0);
	if (vt_run(cmd, NULL) != 0)
		cr_skip_test("chattr +i is not possible here (not root, or not ext4/xfs)");
	free(cmd);
	run(&r, "--cas", cas, "gc", "--force", "--grace", "0", NULL);
	cr_assert(asprintf(&cmd, "chattr -i '%s'", stuck_path) > 0);
	cr_assert_eq(vt_run(cmd, NULL), 0);
	free(cmd);
	cr_expect_eq(r.status, 1, "exit %d, want 1: %s", r.status, r.err);
	snprintf(want, sizeof(want), "volt-cas: gc: cannot remove objects/%s: ", stuck);
	cr_expect_not_null(strstr(r.err, want), "%s", r.err);
	/* The others are still removed. */
	snprintf(want, sizeof(want), "removed objects/%s ", gone);
	cr_expect_not_null(strstr(r.out, want), "%s", r.out);
	cr_expect_not(exists(gone_path));
	cr_expect(exists(stuck_path));
	result_release(&r);
	/* Once it can go, gc succeeds. */
	expect_status(0, "--cas", cas, "gc", "--force", "--grace", "0");
	cr_expect_not(exists(stuck_path));
	free(stuck_path);
	free(gone_path);
}

/* volt-cas kvm answers for this host: 0 exactly when /dev/kvm is a character device. */
Test(volt_cas, kvm_says_whether_dev_kvm_is_there)
{
	struct stat st;
	int want = stat("/dev/kvm", &st) == 0 && S_ISCHR(st.st_mode) ? 0 : 1;
	struct result r;

	run(&r, "kvm", NULL);
	cr_expect_eq(r.status, want, "volt-cas kvm: exit %d, but /dev/kvm %s", r.status,
		     want ? "is not a character device" : "is one");
	cr_expect_str_empty(r.out);
	result_release(&r);
}
