// SPDX-License-Identifier: MIT
/*
 * volt-cas's registry commands: push a build to an OCI registry, pull one
 * into the store. Addresses, credentials and progress here; the protocol
 * and every check are core's (transfer.c, registry.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "voltfs/digest.h"
#include "voltfs/refs.h"
#include "voltfs/transfer.h"
#include "volt-cas.h"

struct reg_opts {
	long long jobs;
	const char *ca;
	const char *auth_file;
};

static const struct option reg_longopts[] = {
	{ "jobs", required_argument, NULL, OPT_JOBS },
	{ "ca", required_argument, NULL, OPT_CA },
	{ "auth-file", required_argument, NULL, OPT_AUTH_FILE },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

/* Options, then exactly two arguments: -1 to go on, else the exit status. */
static int parse_reg_args(const struct command *cmd, int argc, char **argv, struct reg_opts *o)
{
	int c;

	o->jobs = 4;
	while ((c = vc_next_opt(argc, argv, reg_longopts)) != -1) {
		if (c == OPT_JOBS) {
			if (vc_parse_count(optarg, 64, &o->jobs) < 0 || o->jobs < 1)
				return vc_usage_error(cmd, "--jobs wants 1 to 64, not '%s'",
						      optarg);
		} else if (c == OPT_CA) {
			o->ca = optarg;
		} else if (c == OPT_AUTH_FILE) {
			o->auth_file = optarg;
		} else if (c == OPT_HELP) {
			return vc_help_ok(cmd);
		} else {
			return vc_usage_error(cmd, NULL);
		}
	}
	if (argc - optind != 2)
		return vc_usage_error(cmd, "%s takes two arguments", cmd->name);
	return -1;
}

/* The registry at addr, with its credentials: 0 or EXIT_FAILURE / EXIT_USAGE. */
static int open_registry(const struct command *cmd, const char *addr, const struct reg_opts *o,
			 struct volt_registry *r)
{
	struct volt_registry_addr a;
	struct volt_http_opts ho = { .ca_file = o->ca };
	struct volt_creds creds;
	struct volt_diag d;
	const char *bad = NULL;
	int ret;

	volt_diag_clear(&d);
	if (volt_registry_parse_addr(addr, &a, &d) < 0)
		return vc_usage_error(cmd, "'%s': %s", addr, d.reason);
	ret = volt_auth_load_default(&creds, o->auth_file, a.host, &bad);
	if (ret < 0) {
		fprintf(stderr, "volt-cas: %s: not a credentials file (auths)\n", bad);
		return EXIT_FAILURE;
	}
	ret = volt_registry_open(r, &a, &ho, &creds);
	volt_auth_release(&creds);
	return ret < 0 ? vc_fail("registry", NULL, ret) : 0;
}

/* "PROFILE" or "PROFILE@ID" into the tag "PROFILE" or "PROFILE-ID". */
static int profile_tag(const struct command *cmd, const char *arg, char tag[VOLT_REF_NAME_MAX],
		       enum volt_profile *p, bool *pinned)
{
	const char *at = strchr(arg, '@');
	size_t plen = at ? (size_t)(at - arg) : strlen(arg);
	char name[VOLT_REF_NAME_MAX], id[VOLT_REF_ID_LEN + 1];

	*p = volt_profile_from_name(arg, plen);
	*pinned = at != NULL;
	if (*p == VOLT_PROFILE_INVALID)
		return vc_usage_error(cmd, "'%.*s' is not a profile", (int)plen, arg);
	if (!at) {
		snprintf(tag, VOLT_REF_NAME_MAX, "%s", volt_profile_name(*p));
		return -1;
	}
	snprintf(name, sizeof(name), "%s-%.16s.json", volt_profile_name(*p), at + 1);
	if (strlen(at + 1) != VOLT_REF_ID_LEN || volt_ref_parse_name(name, p, id) < 0)
		return vc_usage_error(cmd, "'%s' is not PROFILE@ID (ID: 8 lowercase hex)", arg);
	snprintf(tag, VOLT_REF_NAME_MAX, "%s-%s", volt_profile_name(*p), id);
	return -1;
}

struct progress {
	const char *verb;
	bool tty;
	bool drawn;
};

static void draw(void *ctx, const struct volt_transfer_stats *s)
{
	struct progress *p = ctx;
	char done[32], all[32];

	if (!p->tty)
		return;
	fprintf(stderr, "\r%s: %llu/%llu objects (%llu already there), %s of %s   ", p->verb,
		(unsigned long long)(s->blobs_done + s->blobs_had), (unsigned long long)s->blobs,
		(unsigned long long)s->blobs_had, vc_human_bytes((double)s->bytes_done, done, 32),
		vc_human_bytes((double)s->bytes, all, 32));
	p->drawn = true;
}

static void draw_end(struct progress *p)
{
	if (p->drawn)
		fputc('\n', stderr);
}

int vc_cmd_push(const struct command *cmd, const char *cas_path, int argc, char **argv)
{
	struct reg_opts o = { 0 };
	struct volt_registry r;
	struct volt_cas cas;
	struct volt_transfer_stats st;
	struct volt_ref ref;
	struct volt_manifest m;
	struct volt_hash digest;
	struct volt_diag d;
	struct progress pr = { "push", isatty(STDERR_FILENO), false };
	char tag[VOLT_REF_NAME_MAX], dig[VOLT_DIGEST_STR_MAX], where[600], sent[32];
	enum volt_profile p;
	bool pinned;
	int ret = parse_reg_args(cmd, argc, argv, &o);

	if (ret >= 0)
		return ret;
	if ((ret = profile_tag(cmd, argv[optind], tag, &p, &pinned)) >= 0)
		return ret;
	/* tag is a checked "<profile>-<id>": it fits. */
	if (pinned &&
	    (size_t)snprintf(ref.name, sizeof(ref.name), "%s.json", tag) >= sizeof(ref.name))
		return vc_usage_error(cmd, "'%s' is too long", tag);
	if (vc_open_cas(&cas, cas_path, false))
		return EXIT_FAILURE;
	if (!pinned) {
		ret = volt_refs_load_best(&cas, p, &m, &ref, NULL, NULL);
		if (ret < 0) {
			volt_cas_release(&cas);
			fprintf(stderr, "volt-cas: %s has no usable ref in %s\n", tag, cas_path);
			return EXIT_FAILURE;
		}
		volt_manifest_release(&m);
	}
	if ((ret = open_registry(cmd, argv[optind + 1], &o, &r)) != 0) {
		volt_cas_release(&cas);
		return ret;
	}
	ret = volt_transfer_push(&cas, ref.name, &r, (int)o.jobs, draw, &pr, &st, &digest, &d);
	draw_end(&pr);
	volt_registry_format_addr(&r.addr, where, sizeof(where));
	volt_registry_close(&r);
	volt_cas_release(&cas);
	if (ret < 0)
		return vc_fail("push", &d, ret);
	volt_digest_format(&digest, dig);
	printf("pushed %.*s to %s (%s)\n", (int)(strlen(ref.name) - 5), ref.name, where, dig);
	printf("objects: %llu sent (%s), %llu already there; tags: %s, %.*s\n",
	       (unsigned long long)st.blobs_done, vc_human_bytes((double)st.bytes_done, sent, 32),
	       (unsigned long long)st.blobs_had, volt_profile_name(p), (int)(strlen(ref.name) - 5),
	       ref.name);
	return 0;
}

int vc_cmd_pull(const struct command *cmd, const char *cas_path, int argc, char **argv)
{
	struct reg_opts o = { 0 };
	struct volt_registry r;
	struct volt_cas cas;
	struct volt_transfer_stats st;
	struct volt_ref ref;
	struct volt_diag d;
	struct progress pr = { "pull", isatty(STDERR_FILENO), false };
	char tag[VOLT_REF_NAME_MAX], got[32];
	enum volt_profile p;
	bool pinned;
	int ret = parse_reg_args(cmd, argc, argv, &o);

	if (ret >= 0)
		return ret;
	if ((ret = profile_tag(cmd, argv[optind + 1], tag, &p, &pinned)) >= 0)
		return ret;
	if ((ret = open_registry(cmd, argv[optind], &o, &r)) != 0)
		return ret;
	if (vc_open_cas(&cas, cas_path, true)) {
		volt_registry_close(&r);
		return EXIT_FAILURE;
	}
	ret = volt_transfer_pull(&cas, &r, tag, (int)o.jobs, draw, &pr, &st, &ref, &d);
	draw_end(&pr);
	volt_registry_close(&r);
	if (ret < 0) {
		volt_cas_release(&cas);
		return vc_fail("pull", &d, ret);
	}
	printf("objects: %llu fetched (%s), %llu already there\n",
	       (unsigned long long)st.blobs_done, vc_human_bytes((double)st.bytes_done, got, 32),
	       (unsigned long long)st.blobs_had);
	printf("%s/refs/%s\n", cas.path, ref.name);
	volt_cas_release(&cas);
	return 0;
}
