/* SPDX-License-Identifier: MIT */
/*
 * The fuzz harnesses: one function per parser of untrusted input, shared by
 * the libFuzzer targets (fuzz/fuzz_<name>.c, clang only) and by the
 * Criterion test that replays the seed corpus and every past crash
 * (tests/test_fuzz_regress.c, any compiler), so a crash found once is
 * checked by every build from then on.
 */
#ifndef VOLTFS_FUZZ_HARNESS_H
#define VOLTFS_FUZZ_HARNESS_H

#include <stddef.h>
#include <stdint.h>

/*
 * Each takes any bytes and returns 0. A broken invariant (output that
 * contradicts the input or the contract in include/voltfs/) prints what
 * and where to stderr and abort()s, which libFuzzer and Criterion both
 * report as a crash; so do the sanitizers.
 */
int voltfs_fuzz_manifest(const uint8_t *data, size_t size); /* volt_manifest_parse */
int voltfs_fuzz_path(const uint8_t *data, size_t size);	    /* volt_path_check */
int voltfs_fuzz_tree(const uint8_t *data, size_t size);	    /* parse, volt_tree_build, walk */
int voltfs_fuzz_render(const uint8_t *data, size_t size);   /* args, env, unit */
int voltfs_fuzz_names(const uint8_t *data, size_t size);    /* RFC 3339 times, ref names */

struct voltfs_fuzz_target {
	const char *name; /* "manifest": fuzz/fuzz_manifest.c, tests/fuzz-corpus/manifest/ */
	int (*run)(const uint8_t *data, size_t size);
};

/* Every harness, in a table ended by { NULL, NULL }. */
extern const struct voltfs_fuzz_target voltfs_fuzz_targets[];

#endif
