/* SPDX-License-Identifier: MIT */
/*
 * volt-bench, the C harness behind scripts/bench: what its subcommands share
 * (clocks, samples and percentiles, page-cache control, children, mounts).
 * Every subcommand prints its result as one line of key=value words on
 * stdout, times in seconds, so the script can pick fields without parsing
 * prose; errors go to stderr and make the exit status non-zero.
 */
#ifndef VOLT_BENCH_H
#define VOLT_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* CLOCK_MONOTONIC in seconds. */
double bench_now(void);

/* sync(), then drop the page cache, dentries and inodes. 0 or -errno (needs root). */
int bench_drop_caches(void);

/* A growing list of measurements. */
struct bench_samples {
	double *v;
	size_t n, cap;
};

/* Append x; exits the program when out of memory (the harness has nothing to save). */
void bench_samples_add(struct bench_samples *s, double x);
void bench_samples_release(struct bench_samples *s);
/* The p-th percentile (0..100), linear between ranks; sorts s. NaN when empty. */
double bench_samples_pct(struct bench_samples *s, double p);
double bench_samples_mean(const struct bench_samples *s);
/* Print " <prefix>p50=.. <prefix>p90=.. <prefix>p99=.. <prefix>min=.. <prefix>max=.. ..." */
void bench_samples_print(struct bench_samples *s, const char *prefix);

/*
 * posix_spawn (vfork + execve) argv[0] (a path) with the environment plus
 * extra "NAME=VALUE" strings (NULL-terminated, may be NULL), stdout and
 * stderr to out_fd (-1: /dev/null). The child's pid, or -errno.
 */
pid_t bench_spawn(char *const argv[], char *const extra_env[], int out_fd);
/* waitpid: the exit status, 128 + signal, or -errno. */
int bench_wait(pid_t pid);
/* Spawn and wait: the exit status as bench_wait. */
int bench_run(char *const argv[], char *const extra_env[], int out_fd);

/*
 * Wait until mnt is a FUSE mount that answers statfs, waking on mount-table
 * changes (poll on /proc/self/mountinfo). 0; -ECHILD if pid (when > 0) exited
 * first; -ETIMEDOUT after timeout seconds.
 */
int bench_wait_mount(const char *mnt, pid_t pid, double timeout);
/* Unmount mnt (lazily when busy) and reap pid (when > 0), killing it after 10 s. */
int bench_unmount(const char *mnt, pid_t pid);

/* Read a file to its end with bufsize reads: bytes read, or -errno. */
int64_t bench_read_file(const char *path, void *buf, size_t bufsize);
/* mmap path and touch one byte of every 4 KiB page: its size, or -errno. */
int64_t bench_map_file(const char *path);

/* "4k", "128M", "1G", plain bytes: 0 or -EINVAL. */
int bench_parse_size(const char *s, uint64_t *out);
/* A positive count ("1000"): exits with a usage error otherwise. */
unsigned long bench_parse_count(const char *what, const char *s);

/* Print "volt-bench: <fmt>" and exit 1. */
__attribute__((noreturn, format(printf, 1, 2))) void bench_die(const char *fmt, ...);

/* Subcommands: argc/argv start at the subcommand's name; the exit status. */
int bench_cmd_gen(int argc, char *argv[]);
int bench_cmd_read(int argc, char *argv[]);
int bench_cmd_exec(int argc, char *argv[]);
int bench_cmd_lat(int argc, char *argv[]);
int bench_cmd_stat_walk(int argc, char *argv[]);
int bench_cmd_stat_list(int argc, char *argv[]);
int bench_cmd_resident(int argc, char *argv[]);
int bench_cmd_folios(int argc, char *argv[]);
int bench_cmd_first_use(int argc, char *argv[]);
int bench_cmd_first_use_eager(int argc, char *argv[]);

#endif
