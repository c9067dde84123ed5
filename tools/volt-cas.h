/* SPDX-License-Identifier: MIT */
/*
 * volt-cas's own helpers, shared by its command files: the command table's
 * shape, exit codes, option parsing, messages and number formatting. Private
 * to tools/; nothing here is core's.
 */
#ifndef VOLT_CAS_TOOL_H
#define VOLT_CAS_TOOL_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "voltfs/cas.h"
#include "voltfs/diag.h"

/* Exit status of every command: 0 ok, EXIT_FAILURE (1), or this. */
enum { EXIT_USAGE = 2 };

struct command {
	const char *name;
	const char *synopsis; /* what follows "volt-cas [--cas DIR] " */
	const char *help;     /* what it does, then its options */
	/* argv[0] is the command; options may come among the arguments. An exit status. */
	int (*run)(const struct command *cmd, const char *cas_path, int argc, char **argv);
};

/* Long-option values; 'h' is also -h. */
enum {
	OPT_HELP = 'h',
	OPT_JSON = 0x100,
	OPT_ARCH,
	OPT_QEMU_VERSION,
	OPT_FORCE,
	OPT_GRACE,
	OPT_JOBS,
	OPT_MODE,
	OPT_OS,
	OPT_CA,
	OPT_AUTH_FILE,
	OPT_KEEP,
	OPT_KEEP_DAYS,
};

/* cmd's help on stdout; returns 0, the exit status of --help. */
int vc_help_ok(const struct command *cmd);

/*
 * A usage error in cmd (NULL: before any command): the message (may be NULL),
 * then the synopsis and where to look, on stderr. Returns EXIT_USAGE.
 */
int vc_usage_error(const struct command *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* "volt-cas: what: <d, or strerror(-err)>" on stderr. Returns EXIT_FAILURE. */
int vc_fail(const char *what, const struct volt_diag *d, int err);

/* Open the store at path (creating it with create), or say why not: 0 or EXIT_FAILURE. */
int vc_open_cas(struct volt_cas *cas, const char *path, bool create);

/* getopt_long over a command's arguments with -h: the option, -1 at the end, or '?'. */
int vc_next_opt(int argc, char **argv, const struct option *longopts);

/* A decimal integer in [0, max] into *out: 0, or -1 if s is not one. */
int vc_parse_count(const char *s, long long max, long long *out);

/* "1.5 MiB": v in the largest binary unit that keeps it >= 1. Returns buf. */
const char *vc_human_bytes(double v, char *buf, size_t size);

/* Seconds of CLOCK_MONOTONIC since t0. */
double vc_seconds_since(const struct timespec *t0);

/* Print root (NULL: out of memory) on stdout and free it: 0 or EXIT_FAILURE. */
int vc_print_json(cJSON *root);

/* The commands, one file each group: cmd_profiles.c and cmd_maintain.c. */
int vc_cmd_build(const struct command *cmd, const char *cas_path, int argc, char **argv);
int vc_cmd_ls(const struct command *cmd, const char *cas_path, int argc, char **argv);
int vc_cmd_show(const struct command *cmd, const char *cas_path, int argc, char **argv);
int vc_cmd_assemble(const struct command *cmd, const char *cas_path, int argc, char **argv);
int vc_cmd_verify(const struct command *cmd, const char *cas_path, int argc, char **argv);
int vc_cmd_gc(const struct command *cmd, const char *cas_path, int argc, char **argv);
int vc_cmd_push(const struct command *cmd, const char *cas_path, int argc, char **argv);
int vc_cmd_pull(const struct command *cmd, const char *cas_path, int argc, char **argv);
int vc_cmd_stats(const struct command *cmd, const char *cas_path, int argc, char **argv);

#endif
