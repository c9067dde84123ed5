// SPDX-License-Identifier: MIT
/*
 * volt-cas's commands on profiles: build (with its progress line), ls, show
 * (both also as JSON) and assemble.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "voltfs/assemble.h"
#include "voltfs/build.h"
#include "voltfs/refs.h"
#include "volt-cas.h"

static void report_refs(void *ctx, const struct volt_diag *d)
{
	char buf[1100];

	(void)ctx;
	volt_diag_format(d, buf, sizeof(buf));
	fprintf(stderr, "volt-cas: refs/%s\n", buf);
}

static int parse_profile(const char *name, enum volt_profile *p)
{
	*p = volt_profile_from_name(name, strlen(name));
	if (*p != VOLT_PROFILE_INVALID)
		return 0;
	fprintf(stderr,
		"volt-cas: '%s' is not a profile (kvm-linux, kvm-uefi, emulate-x86, "
		"emulate-foreign)\n",
		name);
	return -1;
}

static cJSON *json_string_or_null(const char *s)
{
	return s ? cJSON_CreateString(s) : cJSON_CreateNull();
}

/* build */

struct progress {
	struct timespec start;
	double last; /* seconds since start of the last line drawn, < 0 for none */
};

/* At most ten lines a second, each over the last: files, bytes, rate. */
static void build_progress(void *ctx, uint64_t files, uint64_t bytes)
{
	struct progress *p = ctx;
	double t = vc_seconds_since(&p->start);
	char size[32], rate[32];

	if (p->last >= 0 && t - p->last < 0.1)
		return;
	p->last = t;
	vc_human_bytes((double)bytes, size, sizeof(size));
	if (t >= 0.5)
		fprintf(stderr, "\r\033[K%llu files, %s, %s/s", (unsigned long long)files, size,
			vc_human_bytes((double)bytes / t, rate, sizeof(rate)));
	else
		fprintf(stderr, "\r\033[K%llu files, %s", (unsigned long long)files, size);
	fflush(stderr);
}

int vc_cmd_build(const struct command *cmd, const char *cas_path, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "arch", required_argument, NULL, OPT_ARCH },
		{ "qemu-version", required_argument, NULL, OPT_QEMU_VERSION },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	struct progress prog = { .last = -1 };
	struct volt_build_opts o = { 0 };
	struct volt_build_result r;
	struct volt_cas cas;
	struct volt_diag d;
	int c, ret;

	while ((c = vc_next_opt(argc, argv, longopts)) != -1) {
		if (c == OPT_ARCH)
			o.arch = optarg;
		else if (c == OPT_QEMU_VERSION)
			o.qemu_version = optarg;
		else if (c == OPT_HELP)
			return vc_help_ok(cmd);
		else
			return vc_usage_error(cmd, NULL);
	}
	if (argc - optind != 2)
		return vc_usage_error(cmd, "build takes PROFILE SRC_DIR");
	if (parse_profile(argv[optind], &o.profile) < 0)
		return EXIT_USAGE;
	o.src = argv[optind + 1];
	if (isatty(STDERR_FILENO)) {
		clock_gettime(CLOCK_MONOTONIC, &prog.start);
		o.progress = build_progress;
		o.progress_ctx = &prog;
	}
	if (vc_open_cas(&cas, cas_path, true))
		return EXIT_FAILURE;
	ret = volt_build(&cas, &o, &r, &d);
	if (prog.last >= 0)
		fputs("\r\033[K", stderr);
	if (ret < 0) {
		volt_cas_release(&cas);
		return vc_fail("build", &d, ret);
	}
	printf("%llu files, %llu new objects, %llu bytes\n", (unsigned long long)r.files,
	       (unsigned long long)r.new_objects, (unsigned long long)r.bytes);
	printf("%s/refs/%s\n", cas.path, r.ref_name);
	volt_cas_release(&cas);
	return 0;
}

/* ls */

struct ls_state {
	const struct volt_cas *cas;
	struct volt_ref best[VOLT_PROFILE_COUNT];
	cJSON *json; /* the array of refs with --json, else NULL */
	int err;
};

static cJSON *ls_json_ref(const struct ls_state *s, const struct volt_ref *r,
			  const struct volt_manifest *m, const char *why)
{
	struct volt_file_counts c;
	cJSON *o = cJSON_CreateObject();
	char path[4200];

	snprintf(path, sizeof(path), "%s/refs/%s", s->cas->path, r->name);
	if (!o || !cJSON_AddStringToObject(o, "profile", volt_profile_name(r->profile)) ||
	    !cJSON_AddStringToObject(o, "id", r->id) ||
	    !cJSON_AddStringToObject(o, "ref", r->name) ||
	    !cJSON_AddStringToObject(o, "path", path))
		goto fail;
	if (!m) {
		if (!cJSON_AddStringToObject(o, "state", "refused") ||
		    !cJSON_AddStringToObject(o, "reason", why))
			goto fail;
		return o;
	}
	volt_manifest_count_files(m, &c);
	if (!cJSON_AddStringToObject(o, "state",
				     strcmp(s->best[r->profile].name, r->name) == 0 ? "serving"
										    : "older") ||
	    !cJSON_AddStringToObject(o, "created_at", m->created_at) ||
	    !cJSON_AddItemToObject(o, "qemu_version", json_string_or_null(m->qemu_version)) ||
	    !cJSON_AddNumberToObject(o, "files", (double)m->n_entries) ||
	    !cJSON_AddNumberToObject(o, "bin", (double)c.binaries) ||
	    !cJSON_AddNumberToObject(o, "lib", (double)c.libraries) ||
	    !cJSON_AddNumberToObject(o, "firmware", (double)c.firmware) ||
	    !cJSON_AddNumberToObject(o, "total_bytes", (double)m->total_bytes))
		goto fail;
	return o;
fail:
	cJSON_Delete(o);
	return NULL;
}

static int ls_one(void *ctx, const struct volt_ref *r)
{
	struct ls_state *s = ctx;
	struct volt_file_counts c;
	struct volt_manifest m;
	struct volt_diag d;
	bool ok;
	char why[1100] = "";

	ok = volt_manifest_load(&m, s->cas->refs_fd, r->name, r->id, &d) == 0;
	if (!ok) {
		/* Without the file name: the line already says which ref. */
		d.file[0] = '\0';
		volt_diag_format(&d, why, sizeof(why));
	}
	if (s->json) {
		cJSON *o = ls_json_ref(s, r, ok ? &m : NULL, why);

		if (!o || !cJSON_AddItemToArray(s->json, o))
			s->err = -ENOMEM;
	} else if (!ok) {
		printf("%-16s %-8s %-32s %5s %5s %5s %14s  refused: %s\n",
		       volt_profile_name(r->profile), r->id, "-", "-", "-", "-", "-", why);
	} else {
		volt_manifest_count_files(&m, &c);
		printf("%-16s %-8s %-32s %5zu %5zu %5zu %14lld  %s\n",
		       volt_profile_name(r->profile), r->id, m.created_at, c.binaries, c.libraries,
		       c.firmware, (long long)m.total_bytes,
		       strcmp(s->best[r->profile].name, r->name) == 0 ? "serving" : "older");
	}
	if (ok)
		volt_manifest_release(&m);
	return s->err;
}

int vc_cmd_ls(const struct command *cmd, const char *cas_path, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	struct ls_state s = { 0 };
	struct volt_cas cas;
	cJSON *root = NULL;
	bool json = false;
	int c, ret;

	while ((c = vc_next_opt(argc, argv, longopts)) != -1) {
		if (c == OPT_JSON)
			json = true;
		else if (c == OPT_HELP)
			return vc_help_ok(cmd);
		else
			return vc_usage_error(cmd, NULL);
	}
	if (optind != argc)
		return vc_usage_error(cmd, "ls takes no arguments");
	if (vc_open_cas(&cas, cas_path, false))
		return EXIT_FAILURE;
	s.cas = &cas;
	for (int p = 0; p < VOLT_PROFILE_COUNT; p++) {
		struct volt_manifest m;

		if (volt_refs_load_best(&cas, (enum volt_profile)p, &m, &s.best[p], NULL, NULL) ==
		    0)
			volt_manifest_release(&m);
	}
	if (json) {
		root = cJSON_CreateObject();
		s.json = cJSON_AddArrayToObject(root, "refs");
		if (!s.json || !cJSON_AddStringToObject(root, "cas", cas.path)) {
			cJSON_Delete(root);
			volt_cas_release(&cas);
			return vc_fail("ls", NULL, -ENOMEM);
		}
	} else {
		printf("%-16s %-8s %-32s %5s %5s %5s %14s  %s\n", "PROFILE", "ID", "CREATED_AT",
		       "BIN", "LIB", "FW", "BYTES", "STATE");
	}
	ret = volt_refs_each(&cas, ls_one, &s, report_refs, NULL);
	volt_cas_release(&cas);
	if (ret < 0) {
		cJSON_Delete(root);
		return vc_fail("ls", NULL, ret);
	}
	return json ? vc_print_json(root) : 0;
}

/* show */

static cJSON *show_json(const struct volt_cas *cas, enum volt_profile p, const struct volt_ref *ref,
			const struct volt_manifest *m, const char *bin)
{
	struct volt_file_counts c;
	cJSON *o = cJSON_CreateObject();
	char path[4200], binary[160];

	volt_manifest_count_files(m, &c);
	snprintf(path, sizeof(path), "%s/refs/%s", cas->path, ref->name);
	snprintf(binary, sizeof(binary), "bin/%s", bin);
	if (!o || !cJSON_AddStringToObject(o, "profile", volt_profile_name(p)) ||
	    !cJSON_AddStringToObject(o, "ref", ref->name) ||
	    !cJSON_AddStringToObject(o, "path", path) ||
	    !cJSON_AddStringToObject(o, "id", ref->id) ||
	    !cJSON_AddStringToObject(o, "name", m->name) ||
	    !cJSON_AddStringToObject(o, "created_at", m->created_at) ||
	    !cJSON_AddStringToObject(o, "arch", volt_profile_arch(m->arch)) ||
	    !cJSON_AddItemToObject(o, "qemu_version", json_string_or_null(m->qemu_version)) ||
	    !cJSON_AddItemToObject(o, "build_date", json_string_or_null(m->build_date)) ||
	    !cJSON_AddItemToObject(o, "build_host", json_string_or_null(m->build_host)) ||
	    !cJSON_AddStringToObject(o, "binary", binary) ||
	    !cJSON_AddStringToObject(o, "accel", volt_profile_accel_flag(p)) ||
	    !cJSON_AddBoolToObject(o, "needs_kvm", volt_profile_needs_kvm(p)) ||
	    !cJSON_AddBoolToObject(o, "needs_tcg", volt_profile_needs_tcg(p)) ||
	    !cJSON_AddNumberToObject(o, "files", (double)m->n_entries) ||
	    !cJSON_AddNumberToObject(o, "bin", (double)c.binaries) ||
	    !cJSON_AddNumberToObject(o, "lib", (double)c.libraries) ||
	    !cJSON_AddNumberToObject(o, "firmware", (double)c.firmware) ||
	    !cJSON_AddNumberToObject(o, "total_bytes", (double)m->total_bytes)) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static void show_text(const struct volt_cas *cas, enum volt_profile p, const struct volt_ref *ref,
		      const struct volt_manifest *m, const char *bin)
{
	struct volt_file_counts c;

	volt_manifest_count_files(m, &c);
	printf("profile:      %s\n", volt_profile_name(p));
	printf("ref:          %s/refs/%s\n", cas->path, ref->name);
	printf("name:         %s\n", m->name);
	printf("created_at:   %s\n", m->created_at);
	printf("arch:         %s\n", volt_profile_arch(m->arch));
	printf("qemu_version: %s\n", m->qemu_version ? m->qemu_version : "-");
	printf("build_host:   %s\n", m->build_host ? m->build_host : "-");
	printf("binary:       bin/%s\n", bin);
	printf("accel:        %s (%s)\n", volt_profile_accel_flag(p),
	       volt_profile_needs_kvm(p) ? "needs /dev/kvm" : "TCG, no KVM needed");
	printf("files:        %zu (bin %zu, lib %zu, firmware %zu)\n", m->n_entries, c.binaries,
	       c.libraries, c.firmware);
	printf("total_bytes:  %lld\n", (long long)m->total_bytes);
}

/*
 * FindCASRef + LoadManifest for a named profile: 0 with cas open and m loaded
 * (release both), or the exit status, the reason said.
 */
static int load_profile(const char *cas_path, const char *name, enum volt_profile *p,
			struct volt_cas *cas, struct volt_manifest *m, struct volt_ref *ref)
{
	if (parse_profile(name, p) < 0)
		return EXIT_USAGE;
	if (vc_open_cas(cas, cas_path, false))
		return EXIT_FAILURE;
	if (volt_refs_load_best(cas, *p, m, ref, report_refs, NULL) < 0) {
		fprintf(stderr, "volt-cas: QEMU profile %s not found in %s\n", name, cas->path);
		volt_cas_release(cas);
		return EXIT_FAILURE;
	}
	return 0;
}

int vc_cmd_show(const struct command *cmd, const char *cas_path, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	struct volt_manifest m;
	struct volt_ref ref;
	struct volt_cas cas;
	enum volt_profile p;
	bool json = false;
	char bin[128];
	int c, ret;

	while ((c = vc_next_opt(argc, argv, longopts)) != -1) {
		if (c == OPT_JSON)
			json = true;
		else if (c == OPT_HELP)
			return vc_help_ok(cmd);
		else
			return vc_usage_error(cmd, NULL);
	}
	if (argc - optind != 1)
		return vc_usage_error(cmd, "show takes PROFILE");
	ret = load_profile(cas_path, argv[optind], &p, &cas, &m, &ref);
	if (ret)
		return ret;
	volt_profile_binary_name(m.arch, bin, sizeof(bin));
	ret = 0;
	if (json)
		ret = vc_print_json(show_json(&cas, p, &ref, &m, bin));
	else
		show_text(&cas, p, &ref, &m, bin);
	volt_manifest_release(&m);
	volt_cas_release(&cas);
	return ret;
}

/* assemble */

int vc_cmd_assemble(const struct command *cmd, const char *cas_path, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	struct volt_assemble_stats stats;
	struct volt_manifest m;
	struct volt_ref ref;
	struct volt_cas cas;
	struct volt_diag d;
	enum volt_profile p;
	int c, ret;

	while ((c = vc_next_opt(argc, argv, longopts)) != -1) {
		if (c == OPT_HELP)
			return vc_help_ok(cmd);
		return vc_usage_error(cmd, NULL);
	}
	if (argc - optind != 2)
		return vc_usage_error(cmd, "assemble takes PROFILE DEST");
	ret = load_profile(cas_path, argv[optind], &p, &cas, &m, &ref);
	if (ret)
		return ret;
	volt_diag_clear(&d);
	ret = volt_assemble(&cas, &m, argv[optind + 1], &stats, &d);
	volt_manifest_release(&m);
	volt_cas_release(&cas);
	if (ret < 0)
		return vc_fail("assemble", &d, ret);
	printf("%s: %zu linked, %zu copied from %s\n", argv[optind + 1], stats.linked, stats.copied,
	       ref.name);
	return 0;
}
