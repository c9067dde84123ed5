// SPDX-License-Identifier: MIT
/*
 * volt-bench: the C harness of scripts/bench, for what shell timing is too
 * coarse for. One subcommand per measurement; see usage() and bench.h.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "bench.h"

static int cmd_drop_caches(int argc, char *argv[])
{
	int ret;

	(void)argc, (void)argv;
	ret = bench_drop_caches();
	if (ret < 0)
		bench_die("drop_caches: %s", strerror(-ret));
	return 0;
}

static int cmd_wait_mount(int argc, char *argv[])
{
	int ret;

	if (argc < 2 || argc > 4)
		bench_die("usage: wait-mount MNT [PID [TIMEOUT]]");
	ret = bench_wait_mount(argv[1], argc > 2 ? (pid_t)bench_parse_count("PID", argv[2]) : 0,
			       argc > 3 ? (double)bench_parse_count("TIMEOUT", argv[3]) : 20);
	if (ret == -ECHILD)
		bench_die("%s: the daemon exited before mounting", argv[1]);
	if (ret < 0)
		bench_die("%s: not mounted: %s", argv[1], strerror(-ret));
	return 0;
}

static const struct {
	const char *name;
	int (*fn)(int argc, char *argv[]);
	const char *help;
} commands[] = {
	{ "gen", bench_cmd_gen,
	  "CAS PROFILE [--exe F] [--random PATH=SIZE]... [--small N] [--fanout K]\n"
	  "\t\t[--list FILE] [--list-prefix P]   write a synthetic profile into a CAS" },
	{ "read", bench_cmd_read,
	  "[--cold] [--runs R] [--warmup W] [--bs SIZE] [--mmap] FILE...\n"
	  "\t\tsequential read(2) of each FILE per run (--mmap: every page of a mapping)" },
	{ "exec", bench_cmd_exec,
	  "[--cold] [--runs R] [--warmup W] [--env N=V]... -- CMD ARG...\n"
	  "\t\tposix_spawn + waitpid, output to /dev/null" },
	{ "lat", bench_cmd_lat,
	  "ls|cat PATH [--runs N] [--warmup W]\n"
	  "\t\topendir/readdir/closedir or open/read/close, no exec" },
	{ "stat-walk", bench_cmd_stat_walk,
	  "DIR [--passes P] [--cold]   readdir + fstatat of all" },
	{ "stat-list", bench_cmd_stat_list, "LIST ROOT [--passes P] [--cold]   fstatat each path" },
	{ "resident", bench_cmd_resident, "FILE...   page-cache bytes (mmap + mincore)" },
	{ "folios", bench_cmd_folios, "FILE...   share of its cached pages in large folios" },
	{ "first-use", bench_cmd_first_use,
	  "--voltfs BIN --cas CAS --mnt MNT [--profile P] [--opts O] [--arg A]... [--runs R]\n"
	  "\t\t[--cold] [--log FILE]\n"
	  "\t\tmount, cat unit, exec bin/qemu-system-x86_64 --version" },
	{ "first-use-eager", bench_cmd_first_use_eager,
	  "--volt-cas BIN --cas CAS --dest DIR [--profile P] [--runs R] [--cold]\n"
	  "\t\tvolt-cas assemble, exec bin/qemu-system-x86_64 --version" },
	{ "drop-caches", cmd_drop_caches, "  sync; echo 3 > /proc/sys/vm/drop_caches" },
	{ "wait-mount", cmd_wait_mount, "MNT [PID [TIMEOUT]]   until MNT is a FUSE mount" },
};

static void usage(FILE *to)
{
	fprintf(to, "usage: volt-bench COMMAND ARGS...\n\n"
		    "Results are one line of key=value words, times in seconds.\n\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(to, "  %s %s\n", commands[i].name, commands[i].help);
}

int main(int argc, char *argv[])
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "volt-bench: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
