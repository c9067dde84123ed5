// SPDX-License-Identifier: MIT
/*
 * Time to first use of a profile (row 5 of the benchmark), both ways:
 *   voltfs: start `voltfs -f CAS MNT`, wait until the mount answers, read
 *           MNT/<profile>/unit, run MNT/<profile>/bin/qemu-system-x86_64;
 *   eager:  `volt-cas assemble PROFILE DEST` into an empty folder, then run
 *           DEST/bin/qemu-system-x86_64.
 * Undoing a run (unmount, rm -rf DEST) is not timed.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"

struct first_use {
	const char *daemon; /* voltfs or volt-cas */
	const char *opts;   /* voltfs -o, may be NULL */
	const char *cas, *where, *profile, *log;
	char *args[16]; /* more voltfs arguments (--arg), NULL-terminated */
	size_t nargs;
	unsigned long runs;
	bool cold;
};

static void parse(struct first_use *fu, int argc, char *argv[], const char *usage)
{
	static const struct option opts[] = {
		{ "voltfs", required_argument, NULL, 'v' },
		{ "volt-cas", required_argument, NULL, 'v' },
		{ "opts", required_argument, NULL, 'o' },
		{ "cas", required_argument, NULL, 'c' },
		{ "mnt", required_argument, NULL, 'm' },
		{ "dest", required_argument, NULL, 'm' },
		{ "profile", required_argument, NULL, 'p' },
		{ "runs", required_argument, NULL, 'r' },
		{ "log", required_argument, NULL, 'l' },
		{ "cold", no_argument, NULL, 'C' },
		{ "arg", required_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(fu, 0, sizeof(*fu));
	fu->runs = 3;
	fu->profile = "kvm-linux";
	fu->log = "/dev/null";
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'v':
			fu->daemon = optarg;
			break;
		case 'o':
			fu->opts = optarg;
			break;
		case 'c':
			fu->cas = optarg;
			break;
		case 'm':
			fu->where = optarg;
			break;
		case 'p':
			fu->profile = optarg;
			break;
		case 'r':
			fu->runs = bench_parse_count("--runs", optarg);
			break;
		case 'l':
			fu->log = optarg;
			break;
		case 'C':
			fu->cold = true;
			break;
		case 'a':
			if (fu->nargs + 1 >= sizeof(fu->args) / sizeof(fu->args[0]))
				bench_die("--arg: at most 15");
			fu->args[fu->nargs++] = optarg;
			break;
		default:
			bench_die("usage: %s", usage);
		}
	}
	if (optind != argc || !fu->daemon || !fu->cas || !fu->where)
		bench_die("usage: %s", usage);
}

static void run_binary(const char *base, const char *profile)
{
	char bin[4096];
	char *argv[] = { bin, (char *)"--version", NULL };
	int status;

	snprintf(bin, sizeof(bin), "%s%s%s/bin/qemu-system-x86_64", base, profile ? "/" : "",
		 profile ? profile : "");
	status = bench_run(argv, NULL, -1);
	if (status != 0)
		bench_die("%s --version: exit status %d", bin, status);
}

/* Before each run: the caches dropped (cold), or at least no writeback left over. */
static void drop(bool cold)
{
	int ret;

	if (!cold)
		sync();
	else if ((ret = bench_drop_caches()) < 0)
		bench_die("drop_caches: %s (cold runs need root)", strerror(-ret));
}

/* first-use --voltfs BIN --cas CAS --mnt MNT [--profile P] [--opts O] [--arg A]... [--runs R] [--cold] */
int bench_cmd_first_use(int argc, char *argv[])
{
	struct bench_samples total = { 0 }, mount = { 0 }, unit = { 0 }, exec = { 0 };
	struct first_use fu;
	char path[4096], buf[65536];

	parse(&fu, argc, argv,
	      "first-use --voltfs BIN --cas CAS --mnt MNT [--profile P] [--opts O] [--arg A]... "
	      "[--runs R] [--cold] [--log FILE]");
	snprintf(path, sizeof(path), "%s/%s/unit", fu.where, fu.profile);
	if (mkdir(fu.where, 0755) < 0 && errno != EEXIST)
		bench_die("%s: %s", fu.where, strerror(errno));
	for (unsigned long r = 0; r < fu.runs; r++) {
		char *dargv[24] = { (char *)fu.daemon, (char *)"-f" };
		size_t k = 2;
		double t0, t1, t2, t3;
		int64_t n;
		pid_t pid;
		int log, ret;

		for (size_t i = 0; i < fu.nargs; i++)
			dargv[k++] = fu.args[i];
		if (fu.opts) {
			dargv[k++] = (char *)"-o";
			dargv[k++] = (char *)fu.opts;
		}
		dargv[k++] = (char *)fu.cas;
		dargv[k++] = (char *)fu.where;
		dargv[k] = NULL;
		log = open(fu.log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (log < 0)
			bench_die("%s: %s", fu.log, strerror(errno));
		drop(fu.cold);
		t0 = bench_now();
		pid = bench_spawn(dargv, NULL, log);
		close(log);
		if (pid < 0)
			bench_die("%s: %s", fu.daemon, strerror((int)-pid));
		ret = bench_wait_mount(fu.where, pid, 20);
		if (ret < 0) {
			bench_unmount(fu.where, pid);
			bench_die("%s: no mount at %s: %s (log: %s)", fu.daemon, fu.where,
				  strerror(-ret), fu.log);
		}
		t1 = bench_now();
		n = bench_read_file(path, buf, sizeof(buf));
		t2 = bench_now();
		if (n <= 0) {
			bench_unmount(fu.where, pid);
			bench_die("%s: %s", path, n ? strerror((int)-n) : "empty");
		}
		run_binary(fu.where, fu.profile);
		t3 = bench_now();
		ret = bench_unmount(fu.where, pid);
		if (ret < 0)
			bench_die("unmount %s: %s", fu.where, strerror(-ret));
		bench_samples_add(&total, t3 - t0);
		bench_samples_add(&mount, t1 - t0);
		bench_samples_add(&unit, t2 - t1);
		bench_samples_add(&exec, t3 - t2);
	}
	printf("runs=%lu", fu.runs);
	bench_samples_print(&total, "");
	bench_samples_print(&mount, "mount_");
	bench_samples_print(&unit, "unit_");
	bench_samples_print(&exec, "exec_");
	putchar('\n');
	bench_samples_release(&total);
	bench_samples_release(&mount);
	bench_samples_release(&unit);
	bench_samples_release(&exec);
	return 0;
}

static void remove_tree(const char *dir)
{
	char *argv[] = { (char *)"/bin/rm", (char *)"-rf", (char *)"--", (char *)dir, NULL };

	if (bench_run(argv, NULL, 2) != 0)
		bench_die("rm -rf %s failed", dir);
}

/* first-use-eager --volt-cas BIN --cas CAS --dest DIR [--profile P] [--runs R] [--cold] */
int bench_cmd_first_use_eager(int argc, char *argv[])
{
	struct bench_samples total = { 0 }, assemble = { 0 }, exec = { 0 };
	struct first_use fu;

	parse(&fu, argc, argv,
	      "first-use-eager --volt-cas BIN --cas CAS --dest DIR [--profile P] [--runs R] "
	      "[--cold]");
	for (unsigned long r = 0; r < fu.runs; r++) {
		char *aargv[] = { (char *)fu.daemon,
				  (char *)"--cas",
				  (char *)fu.cas,
				  (char *)"assemble",
				  (char *)fu.profile,
				  (char *)fu.where,
				  NULL };
		double t0, t1, t2;
		int status;

		remove_tree(fu.where);
		if (mkdir(fu.where, 0755) < 0)
			bench_die("%s: %s", fu.where, strerror(errno));
		drop(fu.cold);
		t0 = bench_now();
		status = bench_run(aargv, NULL, -1);
		t1 = bench_now();
		if (status != 0) {
			bench_run(aargv, NULL, 2);
			bench_die("%s assemble: exit status %d", fu.daemon, status);
		}
		run_binary(fu.where, NULL);
		t2 = bench_now();
		bench_samples_add(&total, t2 - t0);
		bench_samples_add(&assemble, t1 - t0);
		bench_samples_add(&exec, t2 - t1);
	}
	remove_tree(fu.where);
	printf("runs=%lu", fu.runs);
	bench_samples_print(&total, "");
	bench_samples_print(&assemble, "assemble_");
	bench_samples_print(&exec, "exec_");
	putchar('\n');
	bench_samples_release(&total);
	bench_samples_release(&assemble);
	bench_samples_release(&exec);
	return 0;
}
