/* SPDX-License-Identifier: MIT */
/*
 * Renderers for the synthetic files args, env and unit. For the same
 * inputs, the output is byte for byte what the reference's BuildQEMUArgs,
 * EnvVars and SystemdUnitContent return (see ../shared/SPEC.md), except that
 * unit quotes and escapes the arguments systemd would otherwise split or
 * expand.
 */
#ifndef VOLTFS_RENDER_H
#define VOLTFS_RENDER_H

#include <stddef.h>

#include "voltfs/profile.h"

struct volt_render_input {
	enum volt_profile profile;
	const char *name;	 /* workload name: "volt-<name>", Description */
	const char *arch;	 /* guest arch; NULL or "" = x86_64 */
	const char *profile_dir; /* absolute path of the profile folder */
	const char *rootfs;	 /* NULL or "" = none */
	const char *kernel;	 /* NULL or "" = none */
	int memory;		 /* MiB; <= 0 = 256 */
	int cpus;		 /* <= 0 = 1 */
};

/* The rendered text: malloc'ed, NUL-terminated, len bytes. */
struct volt_text {
	char *buf;
	size_t len;
};

/*
 * Each returns 0 with *out filled (free out->buf), -ENOMEM, or -EINVAL for
 * an input that cannot be rendered (invalid profile, NULL profile_dir or
 * name, a newline in a path or name: it would forge lines; for unit also
 * what systemd would refuse or read otherwise, see below).
 */
int volt_render_args(const struct volt_render_input *in, struct volt_text *out);
int volt_render_env(const struct volt_render_input *in, struct volt_text *out);
int volt_render_unit(const struct volt_render_input *in, struct volt_text *out);

/*
 * What unit can carry, for a check at start: a mount point (it starts
 * ExecStart='s executable path and Environment=: no control character, quote
 * or backslash, UTF-8, short enough for PATH_MAX), or an ExecStart= argument
 * such as a rootfs or kernel (UTF-8, no line break). NULL is no value, fine.
 * 0, or -EINVAL with *why set to a static sentence saying what systemd would
 * do with it. volt_render_unit refuses (-EINVAL) the same.
 */
int volt_render_check_mountpoint(const char *mnt, const char **why);
int volt_render_check_arg(const char *s, const char **why);

/* Render one synthetic file by index (enum volt_synth order: args, env, unit). */
int volt_render_synth(int which, const struct volt_render_input *in, struct volt_text *out);

#endif
