// SPDX-License-Identifier: MIT
/*
 * volt-cas: the CAS tool. A thin front end over core: ingest a folder as a
 * profile, list and show refs, assemble eagerly, verify and garbage-collect
 * the store, show a mount's statistics and answer SelectProfile. It parses
 * arguments and prints; everything else is core's. This file: the command
 * table, help, dispatch and the helpers every command uses.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "voltfs/profile.h"
#include "volt-cas.h"

static const struct command commands[];

static const char global_help[] =
	"volt-cas manages the content-addressed store that voltfs serves QEMU profiles\n"
	"from: <cas>/refs/<profile>-<id>.json manifests and <cas>/objects/<hash>.\n"
	"\n"
	"Options:\n"
	"  --cas DIR      the store (default $VOLT_CAS, then " VOLT_CAS_DEFAULT ")\n"
	"  -h, --help     this help; COMMAND --help (or help COMMAND) for one command\n"
	"  -V, --version  the version\n"
	"\n"
	"Exit status: 0 ok, 1 failure, 2 usage.\n";

static void print_usage(FILE *to)
{
	fputs("usage: volt-cas [--cas DIR] COMMAND [ARGS...]\n\nCommands:\n", to);
	for (const struct command *c = commands; c->name; c++)
		fprintf(to, "  %s%s%s\n", c->name, c->synopsis[0] ? " " : "", c->synopsis);
	fputc('\n', to);
	fputs(global_help, to);
}

static void print_command_help(const struct command *cmd, FILE *to)
{
	fprintf(to, "usage: volt-cas [--cas DIR] %s%s%s\n\n%s", cmd->name,
		cmd->synopsis[0] ? " " : "", cmd->synopsis, cmd->help);
}

int vc_help_ok(const struct command *cmd)
{
	print_command_help(cmd, stdout);
	return 0;
}

int vc_usage_error(const struct command *cmd, const char *fmt, ...)
{
	va_list ap;

	if (fmt) {
		fputs("volt-cas: ", stderr);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
	}
	if (cmd)
		fprintf(stderr, "usage: volt-cas [--cas DIR] %s%s%s\nTry 'volt-cas %s --help'.\n",
			cmd->name, cmd->synopsis[0] ? " " : "", cmd->synopsis, cmd->name);
	else
		print_usage(stderr);
	return EXIT_USAGE;
}

int vc_fail(const char *what, const struct volt_diag *d, int err)
{
	char buf[1100] = "";

	if (d)
		volt_diag_format(d, buf, sizeof(buf));
	fprintf(stderr, "volt-cas: %s: %s\n", what, buf[0] ? buf : strerror(-err));
	return EXIT_FAILURE;
}

int vc_open_cas(struct volt_cas *cas, const char *path, bool create)
{
	int ret = volt_cas_open(cas, path, create);

	if (ret < 0) {
		fprintf(stderr, "volt-cas: %s: not a CAS (need refs/ and objects/): %s\n", path,
			strerror(-ret));
		return EXIT_FAILURE;
	}
	return 0;
}

int vc_next_opt(int argc, char **argv, const struct option *longopts)
{
	return getopt_long(argc, argv, "h", longopts, NULL);
}

int vc_parse_count(const char *s, long long max, long long *out)
{
	char *end;

	errno = 0;
	*out = strtoll(s, &end, 10);
	return errno || end == s || *end || *out < 0 || *out > max ? -1 : 0;
}

const char *vc_human_bytes(double v, char *buf, size_t size)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	unsigned u = 0;

	while (v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024;
		u++;
	}
	snprintf(buf, size, u ? "%.1f %s" : "%.0f %s", v, units[u]);
	return buf;
}

double vc_seconds_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

int vc_print_json(cJSON *root)
{
	char *s = root ? cJSON_Print(root) : NULL;

	cJSON_Delete(root);
	if (!s) {
		fputs("volt-cas: out of memory\n", stderr);
		return EXIT_FAILURE;
	}
	puts(s);
	cJSON_free(s);
	return 0;
}

/* select, kvm, help */

static int cmd_select(const struct command *cmd, const char *cas_path, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "mode", required_argument, NULL, OPT_MODE },
		{ "arch", required_argument, NULL, OPT_ARCH },
		{ "os", required_argument, NULL, OPT_OS },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	const char *mode = NULL, *arch = NULL, *os = NULL;
	int c;

	(void)cas_path;
	while ((c = vc_next_opt(argc, argv, longopts)) != -1) {
		if (c == OPT_MODE)
			mode = optarg;
		else if (c == OPT_ARCH)
			arch = optarg;
		else if (c == OPT_OS)
			os = optarg;
		else if (c == OPT_HELP)
			return vc_help_ok(cmd);
		else
			return vc_usage_error(cmd, NULL);
	}
	if (optind != argc)
		return vc_usage_error(cmd, "select takes only options");
	puts(volt_profile_name(volt_profile_select(mode, arch, os, volt_kvm_available())));
	return 0;
}

static int cmd_kvm(const struct command *cmd, const char *cas_path, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	(void)cas_path;
	while ((c = vc_next_opt(argc, argv, longopts)) != -1) {
		if (c == OPT_HELP)
			return vc_help_ok(cmd);
		return vc_usage_error(cmd, NULL);
	}
	if (optind != argc)
		return vc_usage_error(cmd, "kvm takes no arguments");
	return volt_kvm_available() ? 0 : EXIT_FAILURE;
}

static const struct command *find_command(const char *name)
{
	for (const struct command *c = commands; c->name; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

static int cmd_help(const struct command *cmd, const char *cas_path, int argc, char **argv)
{
	const struct command *which;

	(void)cas_path;
	if (argc > 2)
		return vc_usage_error(cmd, "help takes at most one COMMAND");
	if (argc == 1) {
		print_usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
		return vc_help_ok(cmd);
	which = find_command(argv[1]);
	if (!which)
		return vc_usage_error(cmd, "no command '%s'", argv[1]);
	print_command_help(which, stdout);
	return 0;
}

static const struct command commands[] = {
	{ "build", "[--arch ARCH] [--qemu-version V] PROFILE SRC_DIR",
	  "Ingest SRC_DIR (links followed, names in order) as PROFILE: one XXH3-128 object\n"
	  "per distinct content, then the ref, last. The last line printed is the ref's\n"
	  "path. A progress line (files, bytes, rate) goes to stderr when it is a terminal.\n"
	  "\n"
	  "  --arch ARCH          the guest arch (picks bin/qemu-system-ARCH; default x86_64)\n"
	  "  --qemu-version V     recorded in the manifest\n",
	  vc_cmd_build },
	{ "ls", "[--json]",
	  "Every ref: profile, id, created_at, bin/lib/firmware counts, total bytes, and\n"
	  "whether it serves its profile, is older, or is refused (and why).\n"
	  "\n"
	  "  --json               one JSON object: {\"cas\": ..., \"refs\": [...]}\n",
	  vc_cmd_ls },
	{ "show", "[--json] PROFILE",
	  "The ref that serves PROFILE and a summary: arch, binary, accel, file counts.\n"
	  "\n"
	  "  --json               one JSON object\n",
	  vc_cmd_show },
	{ "assemble", "PROFILE DEST",
	  "Hard-link PROFILE's objects into DEST (copies where a link cannot be made): the\n"
	  "eager assembly, for hosts without FUSE.\n",
	  vc_cmd_assemble },
	{ "verify", "[--jobs N]",
	  "Rehash every object (XXH3-128 or SHA-256, as its name says) in parallel and list\n"
	  "the corrupt ones on stdout, one line each; exit 1 if there is any.\n"
	  "\n"
	  "  --jobs N             threads (default: one per online CPU)\n",
	  vc_cmd_verify },
	{ "gc", "[--force] [--grace SECONDS] [--keep N] [--keep-days D]",
	  "List the objects no ref names, and stale temporary files (.tmp-*) of writers\n"
	  "that died; with --force, remove them. If any ref fails to load, or there is no\n"
	  "ref at all, gc refuses to remove anything and exits 1. With --keep or\n"
	  "--keep-days, older builds are pruned first: of each profile's refs, ranked as\n"
	  "voltfs ranks them, those no option keeps go (never the one that serves), then\n"
	  "the objects only they named.\n"
	  "\n"
	  "  --force              remove (without it, a dry run)\n"
	  "  --grace SECONDS      keep what was modified less than this long ago (default 3600):\n"
	  "                       a running build writes its objects before its ref\n"
	  "  --keep N             keep the newest N builds of each profile (N >= 1)\n"
	  "  --keep-days D        keep the builds created in the last D days (D >= 1)\n",
	  vc_cmd_gc },
	{ "push", "[--jobs N] [--ca FILE] [--auth-file FILE] PROFILE[@ID] REGISTRY/REPO",
	  "Push the build that serves PROFILE (or the pin PROFILE@ID) to an OCI registry as\n"
	  "one artifact: its ref and one blob per distinct object, each verified against its\n"
	  "name first and sent only if the registry lacks it, then the manifest, tagged\n"
	  "PROFILE-ID and PROFILE. REGISTRY/REPO is HOST[:PORT]/REPO (HTTPS) or\n"
	  "http://HOST[:PORT]/REPO. Credentials: the auths of --auth-file, else of\n"
	  "$REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR/containers/auth.json, ~/.docker/config.json.\n"
	  "\n"
	  "  --jobs N             uploads at a time (default 4)\n"
	  "  --ca FILE            trust these CAs (PEM) instead of the system's\n"
	  "  --auth-file FILE     credentials (docker config.json / podman auth.json)\n",
	  vc_cmd_push },
	{ "pull", "[--jobs N] [--ca FILE] [--auth-file FILE] REGISTRY/REPO PROFILE[@ID]",
	  "Fetch the build tagged PROFILE (or PROFILE@ID) into the store: every object the\n"
	  "store lacks, verified against its digest and its name, then the ref, last. The\n"
	  "last line printed is the ref's path. Options as for push.\n",
	  vc_cmd_pull },
	{ "stats", "[--json] MOUNTPOINT",
	  "The statistics of the voltfs mounted at MOUNTPOINT (its root's user.volt.stats\n"
	  "and user.volt.version extended attributes) as a table.\n"
	  "\n"
	  "  --json               one JSON object\n",
	  vc_cmd_stats },
	{ "select", "[--mode M] [--arch A] [--os O]",
	  "The profile SelectProfile picks for a workload (KVMAvailable decides the\n"
	  "fallback).\n",
	  cmd_select },
	{ "kvm", "", "Exit 0 if /dev/kvm is a character device, 1 if not.\n", cmd_kvm },
	{ "help", "[COMMAND]", "This help, or COMMAND's.\n", cmd_help },
	{ NULL, NULL, NULL, NULL },
};

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "cas", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = getenv("VOLT_CAS");
	const struct command *cmd;
	static char prog[32];
	int c;

	if (!path || !*path)
		path = VOLT_CAS_DEFAULT;
	while ((c = getopt_long(argc, argv, "+hV", longopts, NULL)) != -1) {
		if (c == 'c') {
			path = optarg;
		} else if (c == 'h') {
			print_usage(stdout);
			return 0;
		} else if (c == 'V') {
			puts("volt-cas " VOLTFS_VERSION);
			return 0;
		} else {
			return vc_usage_error(NULL, NULL);
		}
	}
	if (optind >= argc)
		return vc_usage_error(NULL, "no command");
	cmd = find_command(argv[optind]);
	if (!cmd)
		return vc_usage_error(NULL, "unknown command '%s'", argv[optind]);
	argc -= optind;
	argv += optind;
	/* getopt's own messages then start "volt-cas build: ". */
	snprintf(prog, sizeof(prog), "volt-cas %s", cmd->name);
	argv[0] = prog;
	optind = 0; /* reinitialise getopt: subcommands take options among their arguments */
	return cmd->run(cmd, path, argc, argv);
}
