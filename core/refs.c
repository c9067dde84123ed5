// SPDX-License-Identifier: MIT
/*
 * Refs: naming, listing and choosing the manifest that serves a profile.
 * The reference takes whichever directory entry comes first; here the
 * newest valid ref wins, deterministically.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "names.h"
#include "voltfs/refs.h"

int volt_ref_parse_name(const char *name, enum volt_profile *p, char id[VOLT_REF_ID_LEN + 1])
{
	size_t len = strlen(name), word;
	const char *hex;

	if (len < 1 + 1 + VOLT_REF_ID_LEN + 5 || strcmp(name + len - 5, ".json") != 0)
		return -EINVAL;
	hex = name + len - 5 - VOLT_REF_ID_LEN;
	if (hex[-1] != '-')
		return -EINVAL;
	for (int i = 0; i < VOLT_REF_ID_LEN; i++)
		if (!((hex[i] >= '0' && hex[i] <= '9') || (hex[i] >= 'a' && hex[i] <= 'f')))
			return -EINVAL;
	word = (size_t)(hex - 1 - name);
	*p = volt_profile_from_name(name, word);
	if (*p == VOLT_PROFILE_INVALID)
		return -ENOENT;
	memcpy(id, hex, VOLT_REF_ID_LEN);
	id[VOLT_REF_ID_LEN] = '\0';
	return 0;
}

void volt_ref_make_name(enum volt_profile p, const void *buf, size_t len,
			char name[VOLT_REF_NAME_MAX])
{
	struct volt_hash h;
	char hex[VOLT_HASH_HEX_MAX + 1];

	volt_hash_xxh128(&h, buf, len);
	volt_hash_format(&h, hex);
	snprintf(name, VOLT_REF_NAME_MAX, "%s-%.8s.json", volt_profile_name(p), hex);
}

static void report_name(volt_report_fn report, void *ctx, const char *name, int err)
{
	struct volt_diag d;

	if (!report)
		return;
	volt_diag_clear(&d);
	snprintf(d.file, sizeof(d.file), "%s", name);
	snprintf(d.reason, sizeof(d.reason), "%s",
		 err == -ENOENT ? "ignored: not a known profile"
				: "ignored: not named <profile>-<8 hex id>.json");
	report(ctx, &d);
}

int volt_refs_each(const struct volt_cas *cas, int (*fn)(void *ctx, const struct volt_ref *r),
		   void *ctx, volt_report_fn report, void *report_ctx)
{
	struct names names;
	int ret;

	/* Dot files are writers' temporary files: skipped without a word. */
	ret = names_list(cas->refs_fd, true, &names);
	if (ret < 0)
		return ret;
	for (size_t i = 0; i < names.n && ret == 0; i++) {
		struct volt_ref r;
		int err = volt_ref_parse_name(names.v[i], &r.profile, r.id);

		if (err < 0) {
			report_name(report, report_ctx, names.v[i], err);
			continue;
		}
		snprintf(r.name, sizeof(r.name), "%s", names.v[i]);
		ret = fn(ctx, &r);
	}
	names_release(&names);
	return ret;
}

/*
 * A ref dated more than a day ahead of this host's clock (9999-12-31, say)
 * would otherwise win over every later build forever: it ranks below every
 * ref that is not, and serves only while no other valid ref exists (so a
 * host whose clock is wrong still has its profiles). Reported each time
 * refs/ is read, once per change.
 */
#define FUTURE_SLACK_SEC (24 * 3600)

static bool newer(const struct volt_manifest *a, const struct volt_manifest *b)
{
	if (a->created.tv_sec != b->created.tv_sec)
		return a->created.tv_sec > b->created.tv_sec;
	return a->created.tv_nsec > b->created.tv_nsec;
}

struct best {
	enum volt_profile want;
	const struct volt_cas *cas;
	struct volt_manifest *m;
	struct volt_ref *ref;
	bool found;
	bool future;  /* the one found is dated ahead of the clock */
	time_t limit; /* later than this is in the future */
	volt_report_fn report;
	void *ctx;
};

static int consider(void *arg, const struct volt_ref *r)
{
	struct best *b = arg;
	struct volt_manifest m;
	struct volt_diag d;
	bool future;

	if (r->profile != b->want)
		return 0;
	if (volt_manifest_load(&m, b->cas->refs_fd, r->name, r->id, &d) < 0) {
		if (b->report)
			b->report(b->ctx, &d);
		return 0;
	}
	future = m.created.tv_sec > b->limit;
	if (future && b->report) {
		volt_diag_clear(&d);
		snprintf(d.file, sizeof(d.file), "%s", r->name);
		snprintf(d.reason, sizeof(d.reason),
			 "created_at %s is more than a day ahead of this host's clock: "
			 "ranked below every ref that is not",
			 m.created_at);
		b->report(b->ctx, &d);
	}
	/* Names come in ascending order, so on a tie the later name wins. */
	if (b->found && (future != b->future ? future : newer(b->m, &m))) {
		volt_manifest_release(&m);
		return 0;
	}
	if (b->found)
		volt_manifest_release(b->m);
	*b->m = m;
	*b->ref = *r;
	b->found = true;
	b->future = future;
	return 0;
}

int volt_refs_load_best(const struct volt_cas *cas, enum volt_profile p, struct volt_manifest *m,
			struct volt_ref *ref, volt_report_fn report, void *ctx)
{
	struct best b = { .want = p, .cas = cas, .m = m, .ref = ref, .report = report, .ctx = ctx };
	struct timespec now;
	int ret;

	clock_gettime(CLOCK_REALTIME, &now);
	b.limit = now.tv_sec + FUTURE_SLACK_SEC;

	memset(m, 0, sizeof(*m));
	/* Unknown names are reported by whoever lists the whole of refs/, not per profile. */
	ret = volt_refs_each(cas, consider, &b, NULL, NULL);
	if (ret < 0) {
		if (b.found)
			volt_manifest_release(m);
		return ret;
	}
	return b.found ? 0 : -ENOENT;
}
