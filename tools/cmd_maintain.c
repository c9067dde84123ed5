// SPDX-License-Identifier: MIT
/*
 * volt-cas's commands that look after a store or a mount: verify, gc and
 * stats. The work is core's (maintain.h); here are options and words.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <time.h>

#include "voltfs/maintain.h"
#include "volt-cas.h"

/* verify */

static void report_corrupt(void *ctx, const struct volt_diag *d)
{
	const struct volt_cas *cas = ctx;

	printf("%s/objects/%s: %s\n", cas->path, d->file, d->reason);
}

int vc_cmd_verify(const struct command *cmd, const char *cas_path, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "jobs", required_argument, NULL, OPT_JOBS },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	struct volt_verify_stats st;
	struct timespec t0;
	struct volt_cas cas;
	long long jobs = 0;
	char size[32];
	int c, ret;

	while ((c = vc_next_opt(argc, argv, longopts)) != -1) {
		if (c == OPT_JOBS && vc_parse_count(optarg, 256, &jobs) == 0)
			continue;
		if (c == OPT_JOBS)
			return vc_usage_error(cmd, "--jobs takes a number from 0 to 256");
		if (c == OPT_HELP)
			return vc_help_ok(cmd);
		return vc_usage_error(cmd, NULL);
	}
	if (optind != argc)
		return vc_usage_error(cmd, "verify takes no arguments");
	if (vc_open_cas(&cas, cas_path, false))
		return EXIT_FAILURE;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ret = volt_cas_verify_all(&cas, (unsigned)jobs, &st, report_corrupt, &cas);
	volt_cas_release(&cas);
	if (ret < 0)
		return vc_fail("verify: objects/", NULL, ret);
	fflush(stdout);
	fprintf(stderr, "verify: %llu objects, %s in %.1f s: %llu corrupt\n",
		(unsigned long long)st.objects,
		vc_human_bytes((double)st.bytes, size, sizeof(size)), vc_seconds_since(&t0),
		(unsigned long long)st.corrupt);
	return st.corrupt ? EXIT_FAILURE : 0;
}

/* gc */

static void gc_item(void *ctx, const struct volt_gc_item *it)
{
	const struct volt_gc_opts *o = ctx;
	const char *what = it->kind == VOLT_GC_OBJECT ? "unreferenced"
			   : it->kind == VOLT_GC_REF  ? "older build"
						      : "stale temporary file";

	if (!o->force)
		printf("would remove %s/%s (%s, %llu bytes)\n", it->dir, it->name, what,
		       (unsigned long long)it->size);
	else if (it->err == 0)
		printf("removed %s/%s (%s, %llu bytes)\n", it->dir, it->name, what,
		       (unsigned long long)it->size);
	else
		fprintf(stderr, "volt-cas: gc: cannot remove %s/%s: %s\n", it->dir, it->name,
			strerror(-it->err));
}

static void gc_report(void *ctx, const struct volt_diag *d)
{
	(void)ctx;
	fprintf(stderr, "volt-cas: gc: refs/%s: %s (ignored)\n", d->file, d->reason);
}

int vc_cmd_gc(const struct command *cmd, const char *cas_path, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "force", no_argument, NULL, OPT_FORCE },
		{ "grace", required_argument, NULL, OPT_GRACE },
		{ "keep", required_argument, NULL, OPT_KEEP },
		{ "keep-days", required_argument, NULL, OPT_KEEP_DAYS },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	struct volt_gc_opts o = { .grace = VOLT_GC_GRACE_DEFAULT };
	struct volt_gc_stats st;
	struct volt_cas cas;
	struct volt_diag d;
	long long grace, keep;
	char size[32], why[1100];
	int c, ret;

	while ((c = vc_next_opt(argc, argv, longopts)) != -1) {
		if (c == OPT_FORCE) {
			o.force = true;
		} else if (c == OPT_GRACE) {
			if (vc_parse_count(optarg, (long long)1 << 40, &grace) < 0)
				return vc_usage_error(cmd, "--grace takes a number of seconds");
			o.grace = grace;
		} else if (c == OPT_KEEP) {
			if (vc_parse_count(optarg, UINT32_MAX, &keep) < 0 || keep < 1)
				return vc_usage_error(cmd, "--keep takes a number of builds, at "
							   "least 1");
			o.keep = (uint32_t)keep;
		} else if (c == OPT_KEEP_DAYS) {
			if (vc_parse_count(optarg, 1000000, &keep) < 0 || keep < 1)
				return vc_usage_error(cmd, "--keep-days takes a number of days, at "
							   "least 1");
			o.keep_seconds = keep * 86400;
		} else if (c == OPT_HELP) {
			return vc_help_ok(cmd);
		} else {
			return vc_usage_error(cmd, NULL);
		}
	}
	if (optind != argc)
		return vc_usage_error(cmd, "gc takes no arguments");
	if (vc_open_cas(&cas, cas_path, false))
		return EXIT_FAILURE;
	ret = volt_cas_gc(&cas, &o, gc_item, &o, &st, gc_report, &d);
	volt_cas_release(&cas);
	if (ret == -EBADMSG || ret == -ENOENT) {
		volt_diag_format(&d, why, sizeof(why));
		fprintf(stderr, "volt-cas: gc: refusing to remove anything: %s%s\n",
			ret == -EBADMSG ? "refs/" : "", why);
		if (ret == -EBADMSG)
			fputs("volt-cas: gc: the objects that ref names are unknown; repair or "
			      "remove it, then run gc again\n",
			      stderr);
		return EXIT_FAILURE;
	}
	if (ret < 0)
		return vc_fail("gc", &d, ret);
	fflush(stdout);
	if (o.keep || o.keep_seconds)
		fprintf(stderr, "gc: older builds pruned: %llu %s (of %llu refs)\n",
			(unsigned long long)st.pruned, o.force ? "removed" : "would go",
			(unsigned long long)st.refs);
	fprintf(stderr,
		"gc: refs: %llu, naming %llu objects (%llu missing); unreferenced: "
		"%llu (%s) %s, %llu recent kept; stale temporary files: %llu %s\n",
		(unsigned long long)(st.refs - st.pruned), (unsigned long long)st.referenced,
		(unsigned long long)st.missing, (unsigned long long)st.unreferenced,
		vc_human_bytes((double)st.unreferenced_bytes, size, sizeof(size)),
		o.force ? "removed" : "would go", (unsigned long long)st.recent,
		(unsigned long long)st.temporary, o.force ? "removed" : "would go");
	if (!o.force && st.unreferenced + st.temporary + st.pruned)
		fputs("gc: dry run; --force removes them\n", stderr);
	return st.failed ? EXIT_FAILURE : 0;
}

/* stats */

/* The value of xattr name on path (malloc'ed, NUL-terminated) or NULL with errno set. */
static char *get_xattr(const char *path, const char *name)
{
	for (int tries = 0; tries < 4; tries++) {
		ssize_t size = getxattr(path, name, NULL, 0), n;
		char *buf;

		if (size < 0)
			return NULL;
		buf = malloc((size_t)size + 1);
		if (!buf)
			return NULL;
		n = getxattr(path, name, buf, (size_t)size);
		if (n >= 0) {
			buf[n] = '\0';
			return buf;
		}
		free(buf);
		if (errno != ERANGE) /* ERANGE: it grew in between */
			return NULL;
	}
	return NULL;
}

static int stats_error(const char *mnt, const char *name)
{
	int err = errno;

	if (err == ENODATA)
		fprintf(stderr,
			"volt-cas: %s: no %s: not the root of a voltfs mount (or a voltfs "
			"too old to keep statistics)\n",
			mnt, name);
	else if (err == ENOTSUP)
		fprintf(stderr,
			"volt-cas: %s: no extended attributes here: not a voltfs mount "
			"(or a voltfs too old to keep statistics)\n",
			mnt);
	else
		fprintf(stderr, "volt-cas: %s: %s: %s\n", mnt, name, strerror(err));
	return EXIT_FAILURE;
}

int vc_cmd_stats(const struct command *cmd, const char *cas_path, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	char *stats = NULL, *version = NULL, *line, *save = NULL;
	cJSON *root = NULL;
	const char *mnt;
	bool json = false;
	int c, ret = EXIT_FAILURE;

	(void)cas_path;
	while ((c = vc_next_opt(argc, argv, longopts)) != -1) {
		if (c == OPT_JSON)
			json = true;
		else if (c == OPT_HELP)
			return vc_help_ok(cmd);
		else
			return vc_usage_error(cmd, NULL);
	}
	if (argc - optind != 1)
		return vc_usage_error(cmd, "stats takes MOUNTPOINT");
	mnt = argv[optind];
	stats = get_xattr(mnt, "user.volt.stats");
	if (!stats)
		return stats_error(mnt, "user.volt.stats");
	version = get_xattr(mnt, "user.volt.version");
	if (!version) {
		ret = stats_error(mnt, "user.volt.version");
		goto out;
	}
	version[strcspn(version, "\n")] = '\0';
	if (json) {
		root = cJSON_CreateObject();
		if (!root || !cJSON_AddStringToObject(root, "version", version))
			goto nomem;
	} else {
		printf("%-18s %s\n", "version", version);
	}
	/* "key value\n" lines; a line that is not one is said, not hidden. */
	for (line = strtok_r(stats, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char key[64], size[32], *end;
		unsigned long long v;
		int klen = 0;

		if (sscanf(line, "%63s %n", key, &klen) != 1 || !klen || !line[klen] ||
		    line[klen] == '-' ||
		    (errno = 0, v = strtoull(line + klen, &end, 10), errno || *end)) {
			fprintf(stderr, "volt-cas: %s: user.volt.stats: not 'key value': %s\n", mnt,
				line);
			goto out;
		}
		if (json && !cJSON_AddNumberToObject(root, key, (double)v))
			goto nomem;
		if (json)
			continue;
		if (strcmp(key, "bytes_served") == 0)
			printf("%-18s %llu (%s)\n", key, v,
			       vc_human_bytes((double)v, size, sizeof(size)));
		else
			printf("%-18s %llu\n", key, v);
	}
	ret = json ? vc_print_json(root) : 0;
	root = NULL;
	goto out;
nomem:
	fputs("volt-cas: out of memory\n", stderr);
out:
	cJSON_Delete(root);
	free(stats);
	free(version);
	return ret;
}
