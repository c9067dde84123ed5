// SPDX-License-Identifier: MIT
/*
 * volt-cas: the CAS tool. A thin front end over core: ingest a folder as a
 * profile, list and show refs, assemble eagerly, and answer SelectProfile.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "voltfs/assemble.h"
#include "voltfs/build.h"
#include "voltfs/refs.h"

enum { EXIT_USAGE = 2 };

static const char usage_text[] =
	"usage: volt-cas [--cas DIR] COMMAND ...\n"
	"\n"
	"  build PROFILE SRC_DIR [--arch ARCH] [--qemu-version V]\n"
	"                          ingest SRC_DIR (links followed) as PROFILE; prints the ref path last\n"
	"  ls                      every ref: profile, id, created_at, file counts, bytes, state\n"
	"  show PROFILE            the ref that serves PROFILE and what it holds\n"
	"  assemble PROFILE DEST   hard-link PROFILE's objects into DEST (the eager assembly)\n"
	"  select [--mode M] [--arch A] [--os O]\n"
	"                          the profile SelectProfile picks for a workload\n"
	"  kvm                     exit 0 if /dev/kvm is usable, 1 if not\n"
	"\n"
	"--cas defaults to $VOLT_CAS, then " VOLT_CAS_DEFAULT ".\n"
	"Exit status: 0 ok, 1 failure, 2 usage.\n";

static int usage_error(const char *msg)
{
	if (msg)
		fprintf(stderr, "volt-cas: %s\n", msg);
	fputs(usage_text, stderr);
	return EXIT_USAGE;
}

static int fail(const char *what, const struct volt_diag *d, int err)
{
	char buf[1100] = "";

	if (d)
		volt_diag_format(d, buf, sizeof(buf));
	fprintf(stderr, "volt-cas: %s: %s\n", what, buf[0] ? buf : strerror(-err));
	return EXIT_FAILURE;
}

static void report_stderr(void *ctx, const struct volt_diag *d)
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
	fprintf(stderr, "volt-cas: '%s' is not a profile (kvm-linux, kvm-uefi, emulate-x86, "
			"emulate-foreign)\n", name);
	return -1;
}

static int cmd_build(struct volt_cas *cas, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "arch", required_argument, NULL, 'a' },
		{ "qemu-version", required_argument, NULL, 'q' },
		{ NULL, 0, NULL, 0 },
	};
	struct volt_build_opts o = { 0 };
	struct volt_build_result r;
	struct volt_diag d;
	int c, ret;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (c == 'a')
			o.arch = optarg;
		else if (c == 'q')
			o.qemu_version = optarg;
		else
			return usage_error(NULL);
	}
	if (argc - optind != 2)
		return usage_error("build takes PROFILE SRC_DIR");
	if (parse_profile(argv[optind], &o.profile) < 0)
		return EXIT_USAGE;
	o.src = argv[optind + 1];
	ret = volt_build(cas, &o, &r, &d);
	if (ret < 0)
		return fail("build", &d, ret);
	printf("%llu files, %llu new objects, %llu bytes\n", (unsigned long long)r.files,
	       (unsigned long long)r.new_objects, (unsigned long long)r.bytes);
	printf("%s/refs/%s\n", cas->path, r.ref_name);
	return 0;
}

struct ls_state {
	const struct volt_cas *cas;
	struct volt_ref best[VOLT_PROFILE_COUNT];
};

static int ls_one(void *ctx, const struct volt_ref *r)
{
	struct ls_state *s = ctx;
	struct volt_file_counts c;
	struct volt_manifest m;
	struct volt_diag d;
	char why[1100];

	if (volt_manifest_load(&m, s->cas->refs_fd, r->name, r->id, &d) < 0) {
		volt_diag_format(&d, why, sizeof(why));
		printf("%-16s %-8s %-32s %5s %5s %5s %14s  refused: %s\n", volt_profile_name(r->profile),
		       r->id, "-", "-", "-", "-", "-", why);
		return 0;
	}
	volt_manifest_count_files(&m, &c);
	printf("%-16s %-8s %-32s %5zu %5zu %5zu %14lld  %s\n", volt_profile_name(r->profile), r->id,
	       m.created_at, c.binaries, c.libraries, c.firmware, (long long)m.total_bytes,
	       strcmp(s->best[r->profile].name, r->name) == 0 ? "serving" : "older");
	volt_manifest_release(&m);
	return 0;
}

static int cmd_ls(struct volt_cas *cas, int argc, char **argv)
{
	struct ls_state s = { .cas = cas };
	int ret;

	(void)argv;
	if (argc != 1)
		return usage_error("ls takes no arguments");
	for (int p = 0; p < VOLT_PROFILE_COUNT; p++) {
		struct volt_manifest m;

		if (volt_refs_load_best(cas, (enum volt_profile)p, &m, &s.best[p], NULL, NULL) == 0)
			volt_manifest_release(&m);
	}
	printf("%-16s %-8s %-32s %5s %5s %5s %14s  %s\n", "PROFILE", "ID", "CREATED_AT", "BIN",
	       "LIB", "FW", "BYTES", "STATE");
	ret = volt_refs_each(cas, ls_one, &s, report_stderr, NULL);
	if (ret < 0)
		return fail("ls", NULL, ret);
	return 0;
}

static int cmd_show(struct volt_cas *cas, int argc, char **argv)
{
	struct volt_file_counts c;
	struct volt_manifest m;
	struct volt_ref ref;
	enum volt_profile p;
	char bin[128];
	int ret;

	if (argc != 2)
		return usage_error("show takes PROFILE");
	if (parse_profile(argv[1], &p) < 0)
		return EXIT_USAGE;
	ret = volt_refs_load_best(cas, p, &m, &ref, report_stderr, NULL);
	if (ret < 0) {
		fprintf(stderr, "volt-cas: QEMU profile %s not found in %s\n", argv[1], cas->path);
		return EXIT_FAILURE;
	}
	volt_manifest_count_files(&m, &c);
	volt_profile_binary_name(m.arch, bin, sizeof(bin));
	printf("profile:      %s\n", volt_profile_name(p));
	printf("ref:          %s/refs/%s\n", cas->path, ref.name);
	printf("name:         %s\n", m.name);
	printf("created_at:   %s\n", m.created_at);
	printf("arch:         %s\n", volt_profile_arch(m.arch));
	printf("qemu_version: %s\n", m.qemu_version ? m.qemu_version : "-");
	printf("build_host:   %s\n", m.build_host ? m.build_host : "-");
	printf("binary:       bin/%s\n", bin);
	printf("accel:        %s (%s)\n", volt_profile_accel_flag(p),
	       volt_profile_needs_kvm(p) ? "needs /dev/kvm" : "TCG, no KVM needed");
	printf("files:        %zu (bin %zu, lib %zu, firmware %zu)\n", m.n_entries, c.binaries,
	       c.libraries, c.firmware);
	printf("total_bytes:  %lld\n", (long long)m.total_bytes);
	volt_manifest_release(&m);
	return 0;
}

static int cmd_assemble(struct volt_cas *cas, int argc, char **argv)
{
	struct volt_assemble_stats stats;
	struct volt_manifest m;
	struct volt_ref ref;
	struct volt_diag d;
	enum volt_profile p;
	int ret;

	if (argc != 3)
		return usage_error("assemble takes PROFILE DEST");
	if (parse_profile(argv[1], &p) < 0)
		return EXIT_USAGE;
	ret = volt_refs_load_best(cas, p, &m, &ref, report_stderr, NULL);
	if (ret < 0) {
		fprintf(stderr, "volt-cas: QEMU profile %s not found in %s\n", argv[1], cas->path);
		return EXIT_FAILURE;
	}
	volt_diag_clear(&d);
	ret = volt_assemble(cas, &m, argv[2], &stats, &d);
	volt_manifest_release(&m);
	if (ret < 0)
		return fail("assemble", &d, ret);
	printf("%s: %zu linked, %zu copied from %s\n", argv[2], stats.linked, stats.copied,
	       ref.name);
	return 0;
}

static int cmd_select(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "mode", required_argument, NULL, 'm' },
		{ "arch", required_argument, NULL, 'a' },
		{ "os", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	const char *mode = NULL, *arch = NULL, *os = NULL;
	int c;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (c == 'm')
			mode = optarg;
		else if (c == 'a')
			arch = optarg;
		else if (c == 'o')
			os = optarg;
		else
			return usage_error(NULL);
	}
	if (optind != argc)
		return usage_error("select takes only options");
	puts(volt_profile_name(volt_profile_select(mode, arch, os, volt_kvm_available())));
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "cas", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = getenv("VOLT_CAS");
	const char *command;
	struct volt_cas cas;
	int c, ret;

	if (!path || !*path)
		path = VOLT_CAS_DEFAULT;
	while ((c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		if (c == 'c') {
			path = optarg;
		} else if (c == 'h') {
			fputs(usage_text, stdout);
			return 0;
		} else {
			return usage_error(NULL);
		}
	}
	if (optind >= argc)
		return usage_error("no command");
	command = argv[optind];
	argc -= optind;
	argv += optind;
	optind = 0; /* reinitialise getopt: subcommands take options after their arguments */
	if (strcmp(command, "select") == 0)
		return cmd_select(argc, argv);
	if (strcmp(command, "kvm") == 0)
		return volt_kvm_available() ? 0 : 1;
	if (strcmp(command, "build") && strcmp(command, "ls") && strcmp(command, "show") &&
	    strcmp(command, "assemble"))
		return usage_error("unknown command");
	ret = volt_cas_open(&cas, path, strcmp(command, "build") == 0);
	if (ret < 0) {
		fprintf(stderr, "volt-cas: %s: not a CAS (need refs/ and objects/): %s\n", path,
			strerror(-ret));
		return EXIT_FAILURE;
	}
	if (strcmp(command, "build") == 0)
		ret = cmd_build(&cas, argc, argv);
	else if (strcmp(command, "ls") == 0)
		ret = cmd_ls(&cas, argc, argv);
	else if (strcmp(command, "show") == 0)
		ret = cmd_show(&cas, argc, argv);
	else
		ret = cmd_assemble(&cas, argc, argv);
	volt_cas_release(&cas);
	return ret;
}
