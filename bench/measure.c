// SPDX-License-Identifier: MIT
/*
 * The measuring subcommands: sequential reads, timed execs, latency of a
 * listing or a small read by direct syscalls, stat walks, page-cache residency.
 * Each works on plain paths, so the same call measures voltfs, squashfuse and
 * the native file system alike.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"

static void cold(bool on)
{
	int ret;

	if (on && (ret = bench_drop_caches()) < 0)
		bench_die("drop_caches: %s (cold runs need root)", strerror(-ret));
}

/* read [--cold] [--runs R] [--warmup W] [--bs SIZE] FILE...: each run reads every FILE in turn. */
int bench_cmd_read(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "cold", no_argument, NULL, 'c' },
		{ "runs", required_argument, NULL, 'r' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "bs", required_argument, NULL, 'b' },
		{ "mmap", no_argument, NULL, 'm' },
		{ NULL, 0, NULL, 0 },
	};
	struct bench_samples s = { 0 };
	unsigned long runs = 3, warmup = 0;
	uint64_t bs = 1 << 20;
	int64_t bytes = 0;
	bool is_cold = false, map = false;
	void *buf;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			is_cold = true;
			break;
		case 'm':
			map = true;
			break;
		case 'r':
			runs = bench_parse_count("--runs", optarg);
			break;
		case 'w':
			warmup = strtoul(optarg, NULL, 10);
			break;
		case 'b':
			if (bench_parse_size(optarg, &bs) < 0 || !bs || bs > (1u << 30))
				bench_die("--bs: bad size '%s'", optarg);
			break;
		default:
			bench_die("usage: read [--cold] [--runs R] [--warmup W] [--bs SIZE] "
				  "[--mmap] FILE...");
		}
	}
	if (optind == argc)
		bench_die("read: no file given");
	if (posix_memalign(&buf, 4096, bs))
		bench_die("out of memory");
	for (unsigned long r = 0; r < warmup + runs; r++) {
		double t0;

		cold(is_cold);
		bytes = 0;
		t0 = bench_now();
		for (int i = optind; i < argc; i++) {
			int64_t n = map ? bench_map_file(argv[i])
					: bench_read_file(argv[i], buf, bs);

			if (n < 0)
				bench_die("%s: %s", argv[i], strerror((int)-n));
			bytes += n;
		}
		if (r >= warmup)
			bench_samples_add(&s, bench_now() - t0);
	}
	printf("bytes=%lld", (long long)bytes);
	bench_samples_print(&s, "");
	printf(" gibps=%.6g\n", (double)bytes / bench_samples_pct(&s, 50) / (1u << 30));
	bench_samples_release(&s);
	free(buf);
	return 0;
}

/* exec [--cold] [--runs R] [--warmup W] [--env NAME=VALUE]... -- PATH ARG... */
int bench_cmd_exec(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "cold", no_argument, NULL, 'c' },
		{ "runs", required_argument, NULL, 'r' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "env", required_argument, NULL, 'e' },
		{ NULL, 0, NULL, 0 },
	};
	struct bench_samples s = { 0 };
	unsigned long runs = 10, warmup = 0;
	char *env[16] = { NULL };
	size_t nenv = 0;
	bool is_cold = false;
	int c;

	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			is_cold = true;
			break;
		case 'r':
			runs = bench_parse_count("--runs", optarg);
			break;
		case 'w':
			warmup = strtoul(optarg, NULL, 10);
			break;
		case 'e':
			if (nenv + 1 >= sizeof(env) / sizeof(env[0]) || !strchr(optarg, '='))
				bench_die("--env: NAME=VALUE, at most 15");
			env[nenv++] = optarg;
			break;
		default:
			bench_die("usage: exec [--cold] [--runs R] [--warmup W] [--env N=V] -- "
				  "CMD...");
		}
	}
	if (optind == argc)
		bench_die("exec: no command given");
	for (unsigned long r = 0; r < warmup + runs; r++) {
		double t0;
		int status;

		cold(is_cold);
		t0 = bench_now();
		status = bench_run(argv + optind, nenv ? env : NULL, -1);
		if (r >= warmup)
			bench_samples_add(&s, bench_now() - t0);
		if (status != 0) {
			/* Once more with its output shown, to say why. */
			bench_run(argv + optind, nenv ? env : NULL, 2);
			bench_die("%s: exit status %d", argv[optind], status);
		}
	}
	printf("runs=%lu", runs);
	bench_samples_print(&s, "");
	putchar('\n');
	bench_samples_release(&s);
	return 0;
}

/* opendir + readdir to the end + closedir, as ls(1) lists: the entries seen. */
static long list_once(const char *path)
{
	DIR *d = opendir(path);
	long n = 0;

	if (!d)
		return -errno;
	errno = 0;
	while (readdir(d))
		n++;
	if (errno) {
		n = -errno;
	}
	closedir(d);
	return n;
}

/* lat ls|cat PATH [--runs N] [--warmup W]: latency by direct syscalls, no exec. */
int bench_cmd_lat(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "runs", required_argument, NULL, 'r' },
		{ "warmup", required_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 },
	};
	struct bench_samples s = { 0 };
	unsigned long runs = 1000, warmup = 10;
	char buf[65536];
	bool is_ls;
	long got = 0;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			runs = bench_parse_count("--runs", optarg);
			break;
		case 'w':
			warmup = strtoul(optarg, NULL, 10);
			break;
		default:
			bench_die("usage: lat ls|cat PATH [--runs N] [--warmup W]");
		}
	}
	if (argc - optind != 2 || (strcmp(argv[optind], "ls") && strcmp(argv[optind], "cat")))
		bench_die("usage: lat ls|cat PATH [--runs N] [--warmup W]");
	is_ls = !strcmp(argv[optind], "ls");
	for (unsigned long r = 0; r < warmup + runs; r++) {
		double t0 = bench_now();

		got = is_ls ? list_once(argv[optind + 1])
			    : (long)bench_read_file(argv[optind + 1], buf, sizeof(buf));
		if (r >= warmup)
			bench_samples_add(&s, bench_now() - t0);
		if (got <= 0)
			bench_die("%s: %s", argv[optind + 1], got ? strerror((int)-got) : "empty");
	}
	printf("%s=%ld", is_ls ? "entries" : "bytes", got);
	bench_samples_print(&s, "");
	putchar('\n');
	bench_samples_release(&s);
	return 0;
}

struct walk {
	uint64_t files, dirs;
};

/* Every entry below dirfd: readdir, then fstatat without following links, as find(1) -ls. */
static int walk_dir(int dirfd, struct walk *w)
{
	DIR *d = fdopendir(dirfd);
	struct dirent *de;
	int ret = 0;

	if (!d) {
		close(dirfd);
		return -errno;
	}
	while ((de = readdir(d))) {
		struct stat st;

		if (de->d_name[0] == '.' &&
		    (!de->d_name[1] || (de->d_name[1] == '.' && !de->d_name[2])))
			continue;
		if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			ret = -errno;
			break;
		}
		if (S_ISDIR(st.st_mode)) {
			int fd = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

			w->dirs++;
			if (fd < 0 || (ret = walk_dir(fd, w)) < 0) {
				ret = ret ? ret : -errno;
				break;
			}
		} else {
			w->files++;
		}
	}
	closedir(d);
	return ret;
}

/* stat-walk DIR [--passes P] [--cold]: --cold drops the caches before the first pass only. */
int bench_cmd_stat_walk(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "cold", no_argument, NULL, 'c' },
		{ "passes", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long passes = 2;
	bool is_cold = false;
	struct walk w = { 0 };
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			is_cold = true;
			break;
		case 'p':
			passes = bench_parse_count("--passes", optarg);
			break;
		default:
			bench_die("usage: stat-walk DIR [--passes P] [--cold]");
		}
	}
	if (argc - optind != 1)
		bench_die("usage: stat-walk DIR [--passes P] [--cold]");
	cold(is_cold);
	for (unsigned long p = 1; p <= passes; p++) {
		double t0 = bench_now();
		int fd = open(argv[optind], O_RDONLY | O_DIRECTORY | O_CLOEXEC), ret;

		memset(&w, 0, sizeof(w));
		ret = fd < 0 ? -errno : walk_dir(fd, &w);
		if (ret < 0)
			bench_die("%s: %s", argv[optind], strerror(-ret));
		printf("%spass%lu=%.9g", p > 1 ? " " : "", p, bench_now() - t0);
	}
	printf(" files=%llu dirs=%llu\n", (unsigned long long)w.files, (unsigned long long)w.dirs);
	return 0;
}

/* stat-list LIST ROOT [--passes P] [--cold]: fstatat(ROOT, path) for each line of LIST. */
int bench_cmd_stat_list(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "cold", no_argument, NULL, 'c' },
		{ "passes", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long passes = 2;
	bool is_cold = false;
	char *text = NULL, **paths = NULL;
	size_t n = 0, cap = 0, len = 0;
	FILE *f;
	int c, root;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			is_cold = true;
			break;
		case 'p':
			passes = bench_parse_count("--passes", optarg);
			break;
		default:
			bench_die("usage: stat-list LIST ROOT [--passes P] [--cold]");
		}
	}
	if (argc - optind != 2)
		bench_die("usage: stat-list LIST ROOT [--passes P] [--cold]");
	f = fopen(argv[optind], "r");
	if (!f)
		bench_die("%s: %s", argv[optind], strerror(errno));
	/* The whole list in memory first, so the passes time only the stats. */
	while (getline(&text, &len, f) > 0) {
		text[strcspn(text, "\n")] = '\0';
		if (!*text)
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 1024;
			paths = realloc(paths, cap * sizeof(*paths));
			if (!paths)
				bench_die("out of memory");
		}
		if (!(paths[n++] = strdup(text)))
			bench_die("out of memory");
	}
	free(text);
	fclose(f);
	cold(is_cold);
	root = open(argv[optind + 1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		bench_die("%s: %s", argv[optind + 1], strerror(errno));
	for (unsigned long p = 1; p <= passes; p++) {
		double t0 = bench_now();
		struct stat st;

		for (size_t i = 0; i < n; i++)
			if (fstatat(root, paths[i], &st, AT_SYMLINK_NOFOLLOW) < 0)
				bench_die("%s/%s: %s", argv[optind + 1], paths[i], strerror(errno));
		printf("%spass%lu=%.9g", p > 1 ? " " : "", p, bench_now() - t0);
	}
	printf(" stats=%zu\n", n);
	close(root);
	for (size_t i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
	return 0;
}

/* Bytes of path in the page cache (mmap + mincore: nothing is read), or -errno. */
static int64_t resident_bytes(const char *path, int64_t *size)
{
	long page = sysconf(_SC_PAGESIZE);
	unsigned char *vec;
	struct stat st;
	int64_t bytes = 0;
	void *map;
	size_t pages;
	int fd = open(path, O_RDONLY | O_CLOEXEC), err;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		err = errno;
		close(fd);
		return -err;
	}
	*size = st.st_size;
	if (!st.st_size) {
		close(fd);
		return 0;
	}
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	err = errno;
	close(fd);
	if (map == MAP_FAILED)
		return -err;
	pages = ((size_t)st.st_size + (size_t)page - 1) / (size_t)page;
	vec = malloc(pages);
	if (!vec || mincore(map, (size_t)st.st_size, vec) < 0) {
		err = vec ? errno : ENOMEM;
		free(vec);
		munmap(map, (size_t)st.st_size);
		return -err;
	}
	for (size_t i = 0; i < pages; i++)
		bytes += (vec[i] & 1) ? page : 0;
	free(vec);
	munmap(map, (size_t)st.st_size);
	return bytes > st.st_size ? st.st_size : bytes;
}

/* resident FILE...: "resident=<sum> size=<sum> r1=<FILE 1> ..." */
int bench_cmd_resident(int argc, char *argv[])
{
	int64_t total = 0, total_size = 0;

	if (argc < 2)
		bench_die("usage: resident FILE...");
	for (int i = 1; i < argc; i++) {
		int64_t size = 0, r = resident_bytes(argv[i], &size);

		if (r < 0)
			bench_die("%s: %s", argv[i], strerror((int)-r));
		total += r;
		total_size += size;
		printf("r%d=%lld ", i, (long long)r);
	}
	printf("resident=%lld size=%lld\n", (long long)total, (long long)total_size);
	return 0;
}

/*
 * Of the pages that back path in the page cache, how many sit in large folios
 * (compound pages): map it privately read-only (the page-cache pages
 * themselves while nothing writes), fault every page in, then read each PFN
 * from /proc/self/pagemap and its flags from /proc/kpageflags (root only).
 */
static int folio_counts(const char *path, uint64_t *pages, uint64_t *large)
{
	long page = sysconf(_SC_PAGESIZE);
	int fd = open(path, O_RDONLY | O_CLOEXEC), pm = -1, kf = -1, ret = 0;
	volatile const unsigned char *map;
	struct stat st;
	size_t n;

	if (fd < 0 || fstat(fd, &st) < 0) {
		ret = -errno;
		if (fd >= 0)
			close(fd);
		return ret;
	}
	n = ((size_t)st.st_size + (size_t)page - 1) / (size_t)page;
	map = n ? mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
	close(fd);
	if (map == MAP_FAILED)
		return -errno;
	pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	kf = open("/proc/kpageflags", O_RDONLY | O_CLOEXEC);
	if (pm < 0 || kf < 0)
		ret = -errno;
	for (size_t i = 0; i < n && !ret; i++) {
		uint64_t entry, flags, pfn;
		off_t at = (off_t)(((uintptr_t)map / (uintptr_t)page + i) * 8);

		(void)map[i * (size_t)page];
		if (pread(pm, &entry, 8, at) != 8) {
			ret = -EIO;
			break;
		}
		if (!(entry >> 63)) /* not present */
			continue;
		pfn = entry & ((1ull << 55) - 1);
		if (!pfn || pread(kf, &flags, 8, (off_t)(pfn * 8)) != 8) {
			ret = -EPERM; /* PFNs read as 0 without CAP_SYS_ADMIN */
			break;
		}
		(*pages)++;
		/* KPF_COMPOUND_HEAD 15, KPF_COMPOUND_TAIL 16 */
		if (flags & (3ull << 15))
			(*large)++;
	}
	if (pm >= 0)
		close(pm);
	if (kf >= 0)
		close(kf);
	if (n)
		munmap((void *)map, (size_t)st.st_size);
	return ret;
}

/* folios FILE...: "pages=<present> large=<in large folios> share=<large / pages>" */
int bench_cmd_folios(int argc, char *argv[])
{
	uint64_t pages = 0, large = 0;

	if (argc < 2)
		bench_die("usage: folios FILE...");
	for (int i = 1; i < argc; i++) {
		int ret = folio_counts(argv[i], &pages, &large);

		if (ret < 0)
			bench_die("%s: %s", argv[i], strerror(-ret));
	}
	printf("pages=%llu large=%llu share=%.4f\n", (unsigned long long)pages,
	       (unsigned long long)large, pages ? (double)large / (double)pages : 0.0);
	return 0;
}
