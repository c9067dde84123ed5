// SPDX-License-Identifier: MIT
/*
 * Helpers of the harness: clocks, percentiles, dropping the page cache,
 * spawning and reaping children, waiting for and removing FUSE mounts.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#ifndef FUSE_SUPER_MAGIC
#define FUSE_SUPER_MAGIC 0x65735546
#endif

extern char **environ;

void bench_die(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("volt-bench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int bench_drop_caches(void)
{
	int fd, ret = 0;

	sync();
	fd = open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, "3\n", 2) != 2)
		ret = -errno;
	close(fd);
	return ret;
}

void bench_samples_add(struct bench_samples *s, double x)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 64;
		double *v = realloc(s->v, cap * sizeof(*v));

		if (!v)
			bench_die("out of memory");
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = x;
}

void bench_samples_release(struct bench_samples *s)
{
	free(s->v);
	s->v = NULL;
	s->n = s->cap = 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

double bench_samples_pct(struct bench_samples *s, double p)
{
	double rank;
	size_t lo;

	if (!s->n)
		return NAN;
	qsort(s->v, s->n, sizeof(*s->v), cmp_double);
	rank = p / 100.0 * (double)(s->n - 1);
	lo = (size_t)rank;
	if (lo + 1 >= s->n)
		return s->v[s->n - 1];
	return s->v[lo] + (rank - (double)lo) * (s->v[lo + 1] - s->v[lo]);
}

double bench_samples_mean(const struct bench_samples *s)
{
	double sum = 0;

	for (size_t i = 0; i < s->n; i++)
		sum += s->v[i];
	return s->n ? sum / (double)s->n : NAN;
}

void bench_samples_print(struct bench_samples *s, const char *prefix)
{
	printf(" %sn=%zu %sp50=%.9g %sp90=%.9g %sp99=%.9g %smin=%.9g %smax=%.9g %smean=%.9g",
	       prefix, s->n, prefix, bench_samples_pct(s, 50), prefix, bench_samples_pct(s, 90),
	       prefix, bench_samples_pct(s, 99), prefix, bench_samples_pct(s, 0), prefix,
	       bench_samples_pct(s, 100), prefix, bench_samples_mean(s));
}

pid_t bench_spawn(char *const argv[], char *const extra_env[], int out_fd)
{
	posix_spawn_file_actions_t fa;
	char **envp = environ;
	size_t n = 0, k = 0;
	pid_t pid;
	int ret;

	if (extra_env) {
		while (environ[n])
			n++;
		while (extra_env[k])
			k++;
		envp = calloc(n + k + 1, sizeof(*envp));
		if (!envp)
			return -ENOMEM;
		/* The extra variables first: getenv() takes the first match. */
		memcpy(envp, extra_env, k * sizeof(*envp));
		memcpy(envp + k, environ, n * sizeof(*envp));
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	if (out_fd < 0) {
		posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
		posix_spawn_file_actions_adddup2(&fa, 1, 2);
	} else {
		posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
		posix_spawn_file_actions_adddup2(&fa, out_fd, 2);
	}
	ret = posix_spawn(&pid, argv[0], &fa, NULL, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	if (envp != environ)
		free(envp);
	return ret ? -ret : pid;
}

int bench_wait(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int bench_run(char *const argv[], char *const extra_env[], int out_fd)
{
	pid_t pid = bench_spawn(argv, extra_env, out_fd);

	return pid < 0 ? pid : bench_wait(pid);
}

static bool is_fuse_mount(const char *mnt)
{
	struct statfs sf;

	return statfs(mnt, &sf) == 0 && sf.f_type == FUSE_SUPER_MAGIC;
}

/* Whether pid has exited: reaped here if it is our child, else gone or a zombie. */
static bool exited(pid_t pid)
{
	char path[64], buf[512], *p;
	ssize_t n;
	int fd;

	if (waitpid(pid, NULL, WNOHANG) == pid)
		return true;
	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return true;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return true;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X');
}

int bench_wait_mount(const char *mnt, pid_t pid, double timeout)
{
	double end = bench_now() + timeout;
	struct pollfd pfd = { .fd = -1, .events = POLLPRI };
	int ret = -ETIMEDOUT;

	/* Opened before the first check, so a mount made in between still wakes us. */
	pfd.fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
	for (;;) {
		double left = end - bench_now();

		if (is_fuse_mount(mnt)) {
			ret = 0;
			break;
		}
		if (pid > 0 && exited(pid)) {
			ret = -ECHILD;
			break;
		}
		if (left <= 0)
			break;
		/* Woken by a mount-table change; the 10 ms bound rechecks the daemon. */
		if (pfd.fd < 0 || poll(&pfd, 1, left < 0.01 ? (int)(left * 1000) + 1 : 10) < 0) {
			struct timespec pause = { 0, 200 * 1000 };

			nanosleep(&pause, NULL);
		}
	}
	if (pfd.fd >= 0)
		close(pfd.fd);
	return ret;
}

int bench_unmount(const char *mnt, pid_t pid)
{
	int ret = 0;

	if (umount2(mnt, 0) < 0 && umount2(mnt, MNT_DETACH) < 0)
		ret = -errno;
	if (pid > 0) {
		for (int i = 0; i < 1000; i++) {
			int status;
			pid_t r = waitpid(pid, &status, WNOHANG);
			struct timespec pause = { 0, 10 * 1000 * 1000 };

			if (r == pid || (r < 0 && errno != EINTR))
				return ret;
			nanosleep(&pause, NULL);
		}
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		ret = ret ? ret : -ETIMEDOUT;
	}
	return ret;
}

int64_t bench_read_file(const char *path, void *buf, size_t bufsize)
{
	int64_t total = 0;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	while ((n = read(fd, buf, bufsize)) != 0) {
		if (n < 0) {
			int err = errno;

			if (err == EINTR)
				continue;
			close(fd);
			return -err;
		}
		total += n;
	}
	close(fd);
	return total;
}

int64_t bench_map_file(const char *path)
{
	volatile unsigned char sum = 0;
	struct stat st;
	unsigned char *map;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || st.st_size == 0) {
		int err = st.st_size == 0 ? 0 : errno;

		close(fd);
		return -err;
	}
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		int err = errno;

		close(fd);
		return -err;
	}
	/* One byte of every page: each page faulted in, as a mapped binary's are. */
	for (off_t off = 0; off < st.st_size; off += 4096)
		sum += map[off];
	(void)sum;
	munmap(map, (size_t)st.st_size);
	close(fd);
	return st.st_size;
}

int bench_parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	int shift = 0;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	switch (*end) {
	case 'k':
	case 'K':
		shift = 10;
		end++;
		break;
	case 'm':
	case 'M':
		shift = 20;
		end++;
		break;
	case 'g':
	case 'G':
		shift = 30;
		end++;
		break;
	}
	if (*end == 'i' && shift)
		end++;
	if (*end == 'B' || *end == 'b')
		end++;
	if (*end || (shift && v > (UINT64_MAX >> shift)))
		return -EINVAL;
	*out = (uint64_t)v << shift;
	return 0;
}

unsigned long bench_parse_count(const char *what, const char *s)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v == 0)
		bench_die("%s: not a positive number: '%s'", what, s);
	return v;
}
