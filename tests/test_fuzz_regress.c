// SPDX-License-Identifier: MIT
/*
 * The fuzz corpus in every build, clang or not: each seed of
 * tests/fuzz-corpus/<target>/ through its harness, and every file of
 * tests/fuzz-corpus/regressions/ (inputs that once crashed or broke an
 * invariant) through every harness. The harnesses are fuzz/harness.c, the
 * very code the libFuzzer targets run; a broken invariant abort()s, which
 * Criterion reports as a crash, and the sanitizer build catches the rest.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "harness.h"

int __lsan_do_recoverable_leak_check(void) __attribute__((weak));

static void check_leaks(void)
{
	if (__lsan_do_recoverable_leak_check && __lsan_do_recoverable_leak_check()) {
		fprintf(stderr, "LeakSanitizer: this test leaks (report above)\n");
		abort();
	}
}

/* One suite: Criterion 2.4's runner leaks when a second suite starts while the first runs. */
TestSuite(fuzz, .fini = check_leaks, .timeout = 120);

/* The whole file in a buffer of exactly its size, as libFuzzer hands it over. */
static uint8_t *read_exact(int dirfd, const char *name, size_t *len)
{
	struct stat st;
	uint8_t *buf;
	size_t got = 0;
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);

	cr_assert(fd >= 0, "%s: %s", name, strerror(errno));
	cr_assert_eq(fstat(fd, &st), 0);
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	cr_assert_not_null(buf);
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		cr_assert(n > 0, "%s: short read", name);
		got += (size_t)n;
	}
	close(fd);
	*len = got;
	return buf;
}

/*
 * Run every regular file under dir (dot files left out, folders walked)
 * through target, or through all targets when target is NULL. Returns how
 * many files ran.
 */
static size_t replay(const char *dir, const struct voltfs_fuzz_target *target)
{
	struct dirent **names;
	size_t files = 0;
	int n = scandir(dir, &names, NULL, alphasort);
	int dirfd;

	cr_assert(n >= 0, "%s: %s", dir, strerror(errno));
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	cr_assert(dirfd >= 0);
	for (int i = 0; i < n; i++) {
		const char *name = names[i]->d_name;
		struct stat st;

		if (name[0] == '.' || fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			free(names[i]);
			continue;
		}
		if (S_ISDIR(st.st_mode)) {
			char *sub;

			cr_assert(asprintf(&sub, "%s/%s", dir, name) > 0);
			files += replay(sub, target);
			free(sub);
		} else if (S_ISREG(st.st_mode)) {
			size_t len;
			uint8_t *buf = read_exact(dirfd, name, &len);
			const struct voltfs_fuzz_target *t = target ? target : voltfs_fuzz_targets;

			for (; t->name; t++) {
				/* Said before the run: a crash leaves no other trace of the input. */
				fprintf(stderr, "fuzz-regress: %s < %s/%s\n", t->name, dir, name);
				cr_assert_eq(t->run(buf, len), 0);
				if (target)
					break;
			}
			free(buf);
			files++;
		}
		free(names[i]);
	}
	free(names);
	close(dirfd);
	return files;
}

/*
 * Every target replays its own seeds, at least one: a target added to the
 * harness, an emptied or misnamed seed folder or a replay that skips its
 * files fails here instead of passing on nothing.
 */
Test(fuzz, corpus_every_target_replays_its_seeds)
{
	size_t targets = 0;

	for (const struct voltfs_fuzz_target *t = voltfs_fuzz_targets; t->name; t++) {
		char *dir;
		size_t files;

		cr_assert(asprintf(&dir, "%s/%s", VOLTFS_FUZZ_CORPUS, t->name) > 0);
		files = replay(dir, t);
		cr_assert_gt(files, 0, "%s: no seed replayed", dir);
		cr_log_info("%s: %zu seeds replayed", t->name, files);
		free(dir);
		targets++;
	}
	cr_assert_geq(targets, 5, "the harness lists %zu targets", targets);
}

Test(fuzz, regressions_every_file_through_every_target)
{
	size_t files = replay(VOLTFS_FUZZ_CORPUS "/regressions", NULL);

	cr_assert_gt(files, 0, "no regression input replayed");
	cr_log_info("%zu regression inputs replayed", files);
}
