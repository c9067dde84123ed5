// SPDX-License-Identifier: MIT
/*
 * `volt-bench gen`: write a synthetic profile straight into a CAS, in the
 * layout SPEC.md gives (objects/<XXH3-128 hex>, refs/<profile>-<id>.json),
 * without volt-cas's fsync per object, so 400 000 objects take seconds. The
 * bytes of a random object depend only on its path and size, so two profiles
 * that name the same path and size share one object.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "bench.h"

#define HEX_LEN 32
#define CHUNK (1u << 20)

struct entry {
	char *path;
	char hex[HEX_LEN + 1];
};

struct gen {
	int objects_fd;
	struct entry *e;
	size_t n, cap;
	uint64_t bytes;	    /* sum of the sizes of the manifest's entries */
	uint64_t new_count; /* objects written by this run */
};

static void hex_of(XXH128_hash_t h, char out[HEX_LEN + 1])
{
	XXH128_canonical_t c;

	XXH128_canonicalFromHash(&c, h);
	for (int i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", c.digest[i]);
}

static void add_entry(struct gen *g, const char *path, const char *hex, uint64_t size)
{
	if (g->n == g->cap) {
		size_t cap = g->cap ? 2 * g->cap : 1024;
		struct entry *e = realloc(g->e, cap * sizeof(*e));

		if (!e)
			bench_die("out of memory");
		g->e = e;
		g->cap = cap;
	}
	g->e[g->n].path = strdup(path);
	if (!g->e[g->n].path)
		bench_die("out of memory");
	memcpy(g->e[g->n].hex, hex, HEX_LEN + 1);
	g->n++;
	g->bytes += size;
}

static void write_all(int fd, const void *buf, size_t len, const char *what)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			bench_die("%s: write: %s", what, strerror(errno));
		}
		p += n;
		len -= (size_t)n;
	}
}

/* Store buf as an object of the given mode, unless it is there already. */
static void put_buffer(struct gen *g, const void *buf, size_t len, mode_t mode, char hex[])
{
	int fd;

	hex_of(XXH3_128bits(buf, len), hex);
	fd = openat(g->objects_fd, hex, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0) {
		if (errno == EEXIST)
			return;
		bench_die("objects/%s: %s", hex, strerror(errno));
	}
	write_all(fd, buf, len, hex);
	close(fd);
	g->new_count++;
}

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/* xoshiro256**: fast enough that writing, not generating, bounds the time. */
static void fill_random(uint64_t s[4], uint64_t *out, size_t words)
{
	for (size_t i = 0; i < words; i++) {
		uint64_t t = s[1] << 17;

		out[i] = rotl(s[1] * 5, 7) * 9;
		s[2] ^= s[0];
		s[3] ^= s[1];
		s[1] ^= s[2];
		s[0] ^= s[3];
		s[2] ^= t;
		s[3] = rotl(s[3], 45);
	}
}

/* A random object of size bytes seeded by path and size: written once, then renamed. */
static void put_random(struct gen *g, const char *path, uint64_t size)
{
	char tmp[64], hex[HEX_LEN + 1];
	uint64_t seed = XXH64(path, strlen(path), size), s[4], left = size;
	XXH3_state_t *st = XXH3_createState();
	uint64_t *buf = malloc(CHUNK);
	int fd;

	if (!st || !buf)
		bench_die("out of memory");
	for (int i = 0; i < 4; i++)
		s[i] = splitmix64(&seed);
	snprintf(tmp, sizeof(tmp), ".gen-%ld", (long)getpid());
	fd = openat(g->objects_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0444);
	if (fd < 0)
		bench_die("objects/%s: %s", tmp, strerror(errno));
	XXH3_128bits_reset(st);
	while (left) {
		size_t n = left < CHUNK ? (size_t)left : CHUNK;

		fill_random(s, buf, (n + 7) / 8);
		XXH3_128bits_update(st, buf, n);
		write_all(fd, buf, n, path);
		left -= n;
	}
	close(fd);
	hex_of(XXH3_128bits_digest(st), hex);
	if (faccessat(g->objects_fd, hex, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
		unlinkat(g->objects_fd, tmp, 0);
	} else {
		if (renameat(g->objects_fd, tmp, g->objects_fd, hex) < 0)
			bench_die("objects/%s: %s", hex, strerror(errno));
		g->new_count++;
	}
	add_entry(g, path, hex, size);
	XXH3_freeState(st);
	free(buf);
}

static void put_file(struct gen *g, const char *path, const char *src)
{
	char hex[HEX_LEN + 1];
	struct stat st;
	char *buf;
	int64_t n;
	int fd = open(src, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) < 0)
		bench_die("%s: %s", src, strerror(errno));
	close(fd);
	buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		bench_die("out of memory");
	n = bench_read_file(src, buf, (size_t)st.st_size + 1);
	if (n != st.st_size)
		bench_die("%s: short read", src);
	put_buffer(g, buf, (size_t)n, (st.st_mode & 0111) ? 0555 : 0444, hex);
	add_entry(g, path, hex, (uint64_t)n);
	free(buf);
}

/* n small objects whose bytes name the profile, so no two profiles share one. */
static void put_small(struct gen *g, const char *profile, unsigned long n, unsigned long fanout)
{
	char path[64], body[128], hex[HEX_LEN + 1];

	for (unsigned long i = 0; i < n; i++) {
		int len = snprintf(body, sizeof(body), "voltfs-bench %s object %lu\n", profile, i);

		put_buffer(g, body, (size_t)len, 0444, hex);
		snprintf(path, sizeof(path), "lib/g%04lu/o%07lu.so", i / fanout, i);
		add_entry(g, path, hex, (uint64_t)len);
	}
}

struct strbuf {
	char *buf;
	size_t len, cap;
};

static void sb_add(struct strbuf *sb, const char *s)
{
	size_t n = strlen(s);

	if (sb->len + n + 1 > sb->cap) {
		size_t cap = sb->cap ? sb->cap : 4096;

		while (sb->len + n + 1 > cap)
			cap *= 2;
		sb->buf = realloc(sb->buf, cap);
		if (!sb->buf)
			bench_die("out of memory");
		sb->cap = cap;
	}
	memcpy(sb->buf + sb->len, s, n + 1);
	sb->len += n;
}

/* The manifest (paths are plain ASCII, nothing to escape), then the ref, atomically. */
static void write_ref(struct gen *g, int refs_fd, const char *profile, const char *refs_path)
{
	struct strbuf sb = { 0 };
	char line[256], created[64], hex[HEX_LEN + 1], name[96], tmp[64];
	struct timespec now;
	struct tm tm;
	int fd;

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(created, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(created + strlen(created), 32, ".%09ldZ", now.tv_nsec);
	snprintf(line, sizeof(line),
		 "{\n\t\"name\": \"%s\",\n\t\"profile\": \"%s\",\n\t\"created_at\": \"%s\",\n"
		 "\t\"build_host\": \"volt-bench\",\n\t\"arch\": \"x86_64\",\n"
		 "\t\"total_bytes\": %llu,\n\t\"objects\": {",
		 profile, profile, created, (unsigned long long)g->bytes);
	sb_add(&sb, line);
	for (size_t i = 0; i < g->n; i++) {
		snprintf(line, sizeof(line), "%s\n\t\t\"%s\": \"%s\"", i ? "," : "", g->e[i].path,
			 g->e[i].hex);
		sb_add(&sb, line);
	}
	sb_add(&sb, "\n\t}\n}\n");
	hex_of(XXH3_128bits(sb.buf, sb.len), hex);
	snprintf(name, sizeof(name), "%s-%.8s.json", profile, hex);
	/* A dot name: voltfs skips writers' temporary files silently. */
	snprintf(tmp, sizeof(tmp), ".gen-%ld.json", (long)getpid());
	fd = openat(refs_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		bench_die("refs/%s: %s", tmp, strerror(errno));
	write_all(fd, sb.buf, sb.len, name);
	close(fd);
	if (renameat(refs_fd, tmp, refs_fd, name) < 0)
		bench_die("refs/%s: %s", name, strerror(errno));
	printf("ref=%s/%s", refs_path, name);
	free(sb.buf);
}

static void write_list(const struct gen *g, const char *list, const char *prefix)
{
	FILE *f = fopen(list, "w");

	if (!f)
		bench_die("%s: %s", list, strerror(errno));
	for (size_t i = 0; i < g->n; i++)
		fprintf(f, "%s%s\n", prefix, g->e[i].path);
	if (fclose(f) != 0)
		bench_die("%s: %s", list, strerror(errno));
}

static void usage(void)
{
	fprintf(stderr, "usage: volt-bench gen CAS PROFILE [--exe FILE] [--random PATH=SIZE]...\n"
			"       [--small N] [--fanout K] [--list FILE] [--list-prefix P]\n");
	exit(2);
}

int bench_cmd_gen(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "exe", required_argument, NULL, 'e' },
		{ "random", required_argument, NULL, 'r' },
		{ "small", required_argument, NULL, 's' },
		{ "fanout", required_argument, NULL, 'f' },
		{ "list", required_argument, NULL, 'l' },
		{ "list-prefix", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	struct gen g = { .objects_fd = -1 };
	const char *exe = NULL, *list = NULL, *prefix = "", *cas, *profile;
	unsigned long small = 0, fanout = 1000;
	char **randoms = NULL, path[4096];
	size_t nrandom = 0;
	int c, refs_fd;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'e':
			exe = optarg;
			break;
		case 'r':
			randoms = realloc(randoms, (nrandom + 1) * sizeof(*randoms));
			if (!randoms)
				bench_die("out of memory");
			randoms[nrandom++] = optarg;
			break;
		case 's':
			small = bench_parse_count("--small", optarg);
			break;
		case 'f':
			fanout = bench_parse_count("--fanout", optarg);
			break;
		case 'l':
			list = optarg;
			break;
		case 'p':
			prefix = optarg;
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 2)
		usage();
	cas = argv[optind];
	profile = argv[optind + 1];
	snprintf(path, sizeof(path), "%s/objects", cas);
	/* mkdir -p */
	for (char *p = strchr(path + 1, '/');; p = strchr(p + 1, '/')) {
		if (p)
			*p = '\0';
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			bench_die("%s: %s", path, strerror(errno));
		if (!p)
			break;
		*p = '/';
	}
	g.objects_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	snprintf(path, sizeof(path), "%s/refs", cas);
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		bench_die("%s: %s", path, strerror(errno));
	refs_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (g.objects_fd < 0 || refs_fd < 0)
		bench_die("%s: %s", cas, strerror(errno));

	if (exe)
		put_file(&g, "bin/qemu-system-x86_64", exe);
	for (size_t i = 0; i < nrandom; i++) {
		char *eq = strchr(randoms[i], '=');
		uint64_t size;

		if (!eq || eq == randoms[i] || bench_parse_size(eq + 1, &size) < 0)
			bench_die("--random wants PATH=SIZE, not '%s'", randoms[i]);
		*eq = '\0';
		put_random(&g, randoms[i], size);
	}
	if (small)
		put_small(&g, profile, small, fanout);
	if (!g.n)
		bench_die("nothing to write: give --exe, --random or --small");
	write_ref(&g, refs_fd, profile, path);
	printf(" entries=%zu new_objects=%llu bytes=%llu\n", g.n, (unsigned long long)g.new_count,
	       (unsigned long long)g.bytes);
	if (list)
		write_list(&g, list, prefix);

	for (size_t i = 0; i < g.n; i++)
		free(g.e[i].path);
	free(g.e);
	free(randoms);
	close(g.objects_fd);
	close(refs_fd);
	return 0;
}
