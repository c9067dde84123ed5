// SPDX-License-Identifier: MIT
/*
 * Refs: naming, listing and choosing the manifest that serves a profile.
 * The reference takes whichever directory entry comes first; here the
 * newest valid ref wins, deterministically.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
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
 * host whose clock is wrong still has its profiles). Reported when the ref
 * is first read.
 */
#define FUTURE_SLACK_SEC (24 * 3600)

/*
 * What is learned about one ref file is kept by its name: the name carries
 * the id of the content, so a ref whose content changes under it cannot
 * load anyway (it is found out when it would serve: it is then loaded in
 * full). Its created_at comes from a read of its head; only the ref that
 * wins is loaded in full, with the stat it had then: one that fails to load
 * is read again only once that changes (a writer finishing it in place),
 * and the one serving is read again only if its file is replaced.
 */
enum memo_state {
	MEMO_UNKNOWN, /* not read yet, or its read failed for a passing reason */
	MEMO_RANKED,  /* created is its created_at: a candidate */
	MEMO_BAD,     /* refused; looked at again only if its stat changes */
};

struct memo_entry {
	char name[VOLT_REF_NAME_MAX];
	char id[VOLT_REF_ID_LEN + 1];
	enum memo_state state;
	struct timespec created;
	/* The file as it was when last loaded: a bad one is read again once this changes. */
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
};

struct volt_refs_memo {
	enum volt_profile profile;
	struct memo_entry *v; /* sorted by name, the refs of profile seen at the last choice */
	size_t n;
	struct volt_refs_stats stats;
};

int volt_refs_memo_new(struct volt_refs_memo **out, enum volt_profile p)
{
	struct volt_refs_memo *memo;

	*out = NULL;
	if (!volt_profile_name(p))
		return -EINVAL;
	memo = calloc(1, sizeof(*memo));
	if (!memo)
		return -ENOMEM;
	memo->profile = p;
	*out = memo;
	return 0;
}

void volt_refs_memo_free(struct volt_refs_memo *memo)
{
	if (!memo)
		return;
	free(memo->v);
	free(memo);
}

void volt_refs_memo_stats(const struct volt_refs_memo *memo, struct volt_refs_stats *st)
{
	*st = memo->stats;
}

static bool is_permanent(int err)
{
	/* What the bytes (or the file's type) say; anything else may pass. */
	return err == -EBADMSG || err == -EINVAL || err == -EFBIG;
}

static void remember_stat(struct memo_entry *e, const struct stat *st)
{
	e->ino = st->st_ino;
	e->size = st->st_size;
	e->mtime = st->st_mtim;
	e->ctime = st->st_ctim;
}

static bool same_file(const struct memo_entry *e, const struct stat *st)
{
	return e->ino == st->st_ino && e->size == st->st_size &&
	       e->mtime.tv_sec == st->st_mtim.tv_sec && e->mtime.tv_nsec == st->st_mtim.tv_nsec &&
	       e->ctime.tv_sec == st->st_ctim.tv_sec && e->ctime.tv_nsec == st->st_ctim.tv_nsec;
}

struct chooser {
	struct volt_refs_memo *memo;
	const struct volt_cas *cas;
	time_t now;
	volt_report_fn report;
	void *ctx;
};

static void report_future(const struct chooser *ch, const char *name, const char *created_at)
{
	struct volt_diag d;

	if (!ch->report)
		return;
	volt_diag_clear(&d);
	snprintf(d.file, sizeof(d.file), "%s", name);
	snprintf(d.reason, sizeof(d.reason),
		 "created_at %s is more than a day ahead of this host's clock: "
		 "ranked below every ref that is not",
		 created_at);
	ch->report(ch->ctx, &d);
}

/*
 * Load e in full into m. 0; or -errno, e remembered as bad (and reported)
 * when the bytes are at fault. The stat is taken first, so a change that
 * comes after it is seen as a change.
 */
static int load_entry(struct chooser *ch, struct memo_entry *e, struct volt_manifest *m)
{
	struct volt_diag d;
	struct stat st;
	int ret;

	if (fstatat(ch->cas->refs_fd, e->name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		memset(&st, 0, sizeof(st)); /* never the same as a file's: read again */
	remember_stat(e, &st);
	ch->memo->stats.loads++;
	ret = volt_manifest_load(m, ch->cas->refs_fd, e->name, e->id, &d);
	if (ret == 0 || ret == -ENOENT)
		return ret; /* -ENOENT: gone since listed, said by no one */
	if (ch->report)
		ch->report(ch->ctx, &d);
	if (is_permanent(ret))
		e->state = MEMO_BAD;
	return ret;
}

/* Learn what ranking e needs: its created_at, or that it is bad. */
static int learn(struct chooser *ch, struct memo_entry *e)
{
	struct volt_manifest m;
	char created_at[64];
	struct stat st;
	int ret;

	if (e->state == MEMO_BAD) {
		if (fstatat(ch->cas->refs_fd, e->name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    same_file(e, &st))
			return 0;
		e->state = MEMO_UNKNOWN;
	}
	if (e->state != MEMO_UNKNOWN)
		return 0;
	ch->memo->stats.heads++;
	ret = volt_manifest_read_created(ch->cas->refs_fd, e->name, &e->created, created_at, &st);
	if (ret == -ENOENT)
		return 0;
	if (ret < 0) {
		/* The head cannot tell, or the file is not one: a full load says why. */
		ret = load_entry(ch, e, &m);
		if (ret == -ENOMEM)
			return ret;
		if (ret < 0)
			return 0;
		e->created = m.created;
		snprintf(created_at, sizeof(created_at), "%s", m.created_at);
		volt_manifest_release(&m);
	}
	e->state = MEMO_RANKED;
	if (e->created.tv_sec > ch->now + FUTURE_SLACK_SEC)
		report_future(ch, e->name, created_at);
	return 0;
}

bool volt_refs_rank_before(const struct timespec *a, const char *a_name, const struct timespec *b,
			   const char *b_name, time_t now)
{
	time_t limit = now + FUTURE_SLACK_SEC;
	bool fa = a->tv_sec > limit, fb = b->tv_sec > limit;

	if (fa != fb)
		return fb;
	if (a->tv_sec != b->tv_sec)
		return a->tv_sec > b->tv_sec;
	if (a->tv_nsec != b->tv_nsec)
		return a->tv_nsec > b->tv_nsec;
	return strcmp(a_name, b_name) > 0;
}

/* The memo's entries for the refs/ of now: kept by name, new names unknown, gone ones dropped. */
static int memo_update(struct volt_refs_memo *memo, const struct volt_cas *cas)
{
	struct names names;
	struct memo_entry *v;
	size_t n = 0, old = 0;
	int ret;

	/* Dot files are writers' temporary files: skipped without a word. */
	ret = names_list(cas->refs_fd, true, &names);
	if (ret < 0)
		return ret;
	v = calloc(names.n ? names.n : 1, sizeof(*v));
	if (!v) {
		names_release(&names);
		return -ENOMEM;
	}
	for (size_t i = 0; i < names.n; i++) {
		struct memo_entry *e = &v[n];
		enum volt_profile p;
		int cmp = 1;

		if (volt_ref_parse_name(names.v[i], &p, e->id) < 0 || p != memo->profile)
			continue;
		/* Both lists are in strcmp order: one walk pairs them. */
		while (old < memo->n && (cmp = strcmp(memo->v[old].name, names.v[i])) < 0)
			old++;
		if (old < memo->n && cmp == 0)
			*e = memo->v[old++];
		snprintf(e->name, sizeof(e->name), "%s", names.v[i]);
		n++;
	}
	names_release(&names);
	free(memo->v);
	memo->v = v;
	memo->n = n;
	return 0;
}

int volt_refs_choose(struct volt_refs_memo *memo, const struct volt_cas *cas, const char *keep,
		     struct volt_manifest *m, struct volt_ref *ref, volt_report_fn report,
		     void *ctx)
{
	struct chooser ch = { .memo = memo, .cas = cas, .report = report, .ctx = ctx };
	struct timespec now;
	int ret;

	memset(m, 0, sizeof(*m));
	clock_gettime(CLOCK_REALTIME, &now);
	ch.now = now.tv_sec;
	ret = memo_update(memo, cas);
	if (ret < 0)
		return ret;
	for (size_t i = 0; i < memo->n; i++) {
		ret = learn(&ch, &memo->v[i]);
		if (ret < 0)
			return ret;
	}
	/* Best first, one at a time: each round costs a pass, and the first usually serves. */
	for (;;) {
		struct memo_entry *best = NULL;

		for (size_t i = 0; i < memo->n; i++) {
			struct memo_entry *e = &memo->v[i];

			if (e->state == MEMO_RANKED &&
			    (!best || volt_refs_rank_before(&e->created, e->name, &best->created,
							    best->name, ch.now)))
				best = e;
		}
		if (!best)
			return -ENOENT;
		ref->profile = memo->profile;
		snprintf(ref->name, sizeof(ref->name), "%s", best->name);
		snprintf(ref->id, sizeof(ref->id), "%s", best->id);
		if (keep && strcmp(keep, best->name) == 0) {
			struct stat st;

			/* The file it was loaded from, unchanged: the same build. */
			if (fstatat(cas->refs_fd, best->name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			    same_file(best, &st))
				return 1;
			/*
			 * Replaced under its name (renamed over, rewritten): only its
			 * bytes can say whether it still is that build.
			 */
			ret = load_entry(&ch, best, m);
			if (ret == 0) {
				volt_manifest_release(m);
				return 1;
			}
		} else {
			ret = load_entry(&ch, best, m);
			if (ret == 0)
				return 0;
		}
		if (ret == -ENOMEM)
			return ret;
		if (best->state != MEMO_BAD)
			best->state = MEMO_UNKNOWN; /* passing trouble: read again next time */
	}
}

void volt_refs_memo_refuse(struct volt_refs_memo *memo, const char *name)
{
	for (size_t i = 0; i < memo->n; i++)
		if (strcmp(memo->v[i].name, name) == 0)
			memo->v[i].state = MEMO_BAD;
}

int volt_refs_load_best(const struct volt_cas *cas, enum volt_profile p, struct volt_manifest *m,
			struct volt_ref *ref, volt_report_fn report, void *ctx)
{
	struct volt_refs_memo *memo;
	int ret;

	memset(m, 0, sizeof(*m));
	ret = volt_refs_memo_new(&memo, p);
	if (ret < 0)
		return ret;
	/* Unknown names are reported by whoever lists the whole of refs/, not per profile. */
	ret = volt_refs_choose(memo, cas, NULL, m, ref, report, ctx);
	volt_refs_memo_free(memo);
	return ret;
}
