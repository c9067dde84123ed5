// SPDX-License-Identifier: MIT
/*
 * Store maintenance: verify rehashes every object on a pool of threads, gc
 * removes what no ref names. Both read objects/ and refs/ through the
 * store's descriptors, never by joined path, and never follow a link.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "names.h"
#include "voltfs/maintain.h"
#include "voltfs/manifest.h"
#include "voltfs/refs.h"

#define TMP_PREFIX ".tmp-" /* what cas.c's atomic writers name their temporary files */

/* verify */

struct verify_item {
	struct volt_hash hash;
	const char *name;
	uint64_t size;
	int err;       /* 0, or why it failed */
	bool not_file; /* err came from opening: not a regular file */
};

struct verify_pool {
	const struct volt_cas *cas;
	struct verify_item *items;
	size_t n;
	atomic_size_t next;
};

static void verify_one(const struct volt_cas *cas, struct verify_item *it)
{
	struct stat st;
	int fd;

	fd = volt_cas_open_object(cas, &it->hash, &st);
	if (fd < 0) {
		it->err = fd;
		it->not_file = fd == -EIO;
		return;
	}
	it->size = (uint64_t)st.st_size;
	it->err = volt_cas_verify_fd(fd, &it->hash);
	close(fd);
}

static void *verify_worker(void *arg)
{
	struct verify_pool *pool = arg;

	for (;;) {
		size_t i = atomic_fetch_add(&pool->next, 1);

		if (i >= pool->n)
			return NULL;
		verify_one(pool->cas, &pool->items[i]);
	}
}

static unsigned worker_count(unsigned asked, size_t n)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned w = asked ? asked : (cpus > 0 ? (unsigned)cpus : 1);

	if (w > 256)
		w = 256;
	if (w > n)
		w = (unsigned)n;
	return w ? w : 1;
}

static void verify_report(const struct verify_item *it, struct volt_verify_stats *stats,
			  volt_report_fn report, void *ctx)
{
	struct volt_diag d;

	if (it->err == -ENOENT && !it->not_file) {
		stats->vanished++;
		return;
	}
	stats->corrupt++;
	if (!report)
		return;
	volt_diag_clear(&d);
	snprintf(d.file, sizeof(d.file), "%s", it->name);
	if (it->not_file)
		snprintf(d.reason, sizeof(d.reason), "not a regular file");
	else if (it->err == -EIO)
		snprintf(d.reason, sizeof(d.reason), "content does not match its name");
	else
		snprintf(d.reason, sizeof(d.reason), "read: %s", strerror(-it->err));
	report(ctx, &d);
}

int volt_cas_verify_all(const struct volt_cas *cas, unsigned nworkers,
			struct volt_verify_stats *stats, volt_report_fn report, void *ctx)
{
	struct verify_pool pool = { .cas = cas };
	struct names ns;
	pthread_t *threads = NULL;
	unsigned started = 0, w;
	int ret;

	memset(stats, 0, sizeof(*stats));
	ret = names_list(cas->objects_fd, false, &ns);
	if (ret < 0)
		return ret;
	pool.items = calloc(ns.n ? ns.n : 1, sizeof(*pool.items));
	if (!pool.items) {
		ret = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < ns.n; i++) {
		struct verify_item *it = &pool.items[pool.n];

		if (volt_hash_parse(&it->hash, ns.v[i], strlen(ns.v[i])) < 0)
			continue; /* dot files and strangers: not objects */
		it->name = ns.v[i];
		pool.n++;
	}
	atomic_init(&pool.next, 0);
	w = worker_count(nworkers, pool.n);
	threads = calloc(w, sizeof(*threads));
	if (threads)
		for (; started < w; started++)
			if (pthread_create(&threads[started], NULL, verify_worker, &pool) != 0)
				break;
	/* Whatever no thread could be started for, this thread does. */
	verify_worker(&pool);
	for (unsigned i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	for (size_t i = 0; i < pool.n; i++) {
		const struct verify_item *it = &pool.items[i];

		stats->objects++;
		stats->bytes += it->size;
		if (it->err)
			verify_report(it, stats, report, ctx);
	}
out:
	free(threads);
	free(pool.items);
	names_release(&ns);
	return ret;
}

/* gc */

struct hash_set {
	struct volt_hash *v;
	size_t n, cap;
};

static int hash_cmp(const void *a, const void *b)
{
	const struct volt_hash *x = a, *y = b;

	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return memcmp(x->bytes, y->bytes, x->len);
}

static int hash_set_add_manifest(struct hash_set *s, const struct volt_manifest *m)
{
	if (s->n + m->n_entries > s->cap) {
		size_t cap = s->cap ? s->cap : 1024;
		struct volt_hash *grown;

		while (cap < s->n + m->n_entries)
			cap *= 2;
		grown = realloc(s->v, cap * sizeof(*s->v));
		if (!grown)
			return -ENOMEM;
		s->v = grown;
		s->cap = cap;
	}
	for (size_t i = 0; i < m->n_entries; i++)
		s->v[s->n++] = m->entries[i].hash;
	return 0;
}

/* Sort and drop duplicates: the distinct objects the refs name. */
static void hash_set_seal(struct hash_set *s)
{
	size_t out = 0;

	if (s->n > 1)
		qsort(s->v, s->n, sizeof(*s->v), hash_cmp);
	for (size_t i = 0; i < s->n; i++)
		if (out == 0 || hash_cmp(&s->v[out - 1], &s->v[i]) != 0)
			s->v[out++] = s->v[i];
	s->n = out;
}

/*
 * Is name shaped like a ref, <word>-<8 hex>.json? Then id gets the 8 hex.
 * Unknown profiles count: a newer voltfs's ref still names objects.
 */
static bool ref_shaped(const char *name, char id[VOLT_REF_ID_LEN + 1])
{
	enum volt_profile p;
	size_t len = strlen(name);
	int ret = volt_ref_parse_name(name, &p, id);

	if (ret == 0)
		return true;
	if (ret != -ENOENT)
		return false;
	memcpy(id, name + len - 5 - VOLT_REF_ID_LEN, VOLT_REF_ID_LEN);
	id[VOLT_REF_ID_LEN] = '\0';
	return true;
}

static void report_stranger(volt_report_fn report, void *ctx, const char *name)
{
	struct volt_diag d;

	if (!report)
		return;
	volt_diag_clear(&d);
	snprintf(d.file, sizeof(d.file), "%s", name);
	snprintf(d.reason, sizeof(d.reason), "not a ref name: names no object");
	report(ctx, &d);
}

/* One ref, as pruning ranks it. */
struct gc_ref {
	char name[VOLT_REF_NAME_MAX];
	char id[VOLT_REF_ID_LEN + 1];
	enum volt_profile profile; /* VOLT_PROFILE_INVALID: unknown to this version, kept */
	struct timespec created;
	bool prune;
};

struct gc_refs {
	struct gc_ref *v;
	size_t n;
	time_t now;
};

/* By profile, then as voltfs ranks them: the build that serves first. */
static int gc_ref_cmp(const void *a, const void *b, void *arg)
{
	const struct gc_ref *x = a, *y = b;
	time_t now = *(const time_t *)arg;

	if (x->profile != y->profile)
		return x->profile < y->profile ? -1 : 1;
	if (volt_refs_rank_before(&x->created, x->name, &y->created, y->name, now))
		return -1;
	return volt_refs_rank_before(&y->created, y->name, &x->created, x->name, now) ? 1 : 0;
}

/* Mark what o prunes: per known profile, what neither rule keeps, never the first. */
static void gc_rank(struct gc_refs *refs, const struct volt_gc_opts *o)
{
	size_t rank = 0;

	qsort_r(refs->v, refs->n, sizeof(*refs->v), gc_ref_cmp, &refs->now);
	for (size_t i = 0; i < refs->n; i++) {
		struct gc_ref *r = &refs->v[i];
		bool kept;

		rank = i > 0 && refs->v[i - 1].profile == r->profile ? rank + 1 : 0;
		if (r->profile == VOLT_PROFILE_INVALID)
			continue;
		kept = rank == 0 || (o->keep && rank < o->keep) ||
		       (o->keep_seconds && r->created.tv_sec >= refs->now - o->keep_seconds);
		r->prune = !kept;
	}
}

/*
 * Read every ref; a ref that does not load stops everything. Without
 * pruning, each goes into set at once; with it, each is only ranked here.
 */
static int gc_read_refs(const struct volt_cas *cas, bool pruning, struct hash_set *set,
			struct gc_refs *refs, struct volt_gc_stats *stats, volt_report_fn report,
			void *ctx, struct volt_diag *d)
{
	struct names ns;
	int ret;

	ret = names_list(cas->refs_fd, false, &ns);
	if (ret < 0)
		return volt_diag_set(d, ret, NULL, "list refs/: %s", strerror(-ret));
	if (pruning && ns.n && !(refs->v = calloc(ns.n, sizeof(*refs->v)))) {
		names_release(&ns);
		return volt_diag_set(d, -ENOMEM, NULL, "out of memory");
	}
	for (size_t i = 0; i < ns.n && ret == 0; i++) {
		char id[VOLT_REF_ID_LEN + 1];
		struct volt_manifest m;

		if (ns.v[i][0] == '.')
			continue; /* writers' temporary files: see gc_sweep */
		if (!ref_shaped(ns.v[i], id)) {
			report_stranger(report, ctx, ns.v[i]);
			continue;
		}
		ret = volt_manifest_load(&m, cas->refs_fd, ns.v[i], id, d);
		if (ret < 0) {
			ret = -EBADMSG;
			break;
		}
		if (pruning) {
			struct gc_ref *r = &refs->v[refs->n++];
			char ignored[VOLT_REF_ID_LEN + 1];

			snprintf(r->name, sizeof(r->name), "%s", ns.v[i]);
			snprintf(r->id, sizeof(r->id), "%s", id);
			if (volt_ref_parse_name(ns.v[i], &r->profile, ignored) < 0)
				r->profile = VOLT_PROFILE_INVALID;
			r->created = m.created;
		} else {
			ret = hash_set_add_manifest(set, &m);
			if (ret < 0)
				volt_diag_set(d, ret, NULL, "out of memory");
		}
		volt_manifest_release(&m);
		stats->refs++;
	}
	names_release(&ns);
	return ret;
}

/* The refs pruning keeps (and those it failed to remove) name what stays. */
static int gc_read_kept(const struct volt_cas *cas, const struct gc_refs *refs,
			struct hash_set *set, struct volt_diag *d)
{
	for (size_t i = 0; i < refs->n; i++) {
		struct volt_manifest m;
		int ret;

		if (refs->v[i].prune)
			continue;
		ret = volt_manifest_load(&m, cas->refs_fd, refs->v[i].name, refs->v[i].id, d);
		if (ret < 0) /* changed since it was read: stop rather than guess */
			return -EBADMSG;
		ret = hash_set_add_manifest(set, &m);
		volt_manifest_release(&m);
		if (ret < 0)
			return volt_diag_set(d, ret, NULL, "out of memory");
	}
	return 0;
}

struct gc_sweep {
	int dirfd;
	const char *dir;
	const struct volt_gc_opts *o;
	time_t cutoff; /* entries modified before this are old enough */
	void (*fn)(void *ctx, const struct volt_gc_item *it);
	void *ctx;
	struct volt_gc_stats *stats;
};

/* Hand one removable entry to fn, removing it first with force. */
static void gc_remove(struct gc_sweep *s, enum volt_gc_kind kind, const char *name,
		      const struct stat *st)
{
	struct volt_gc_item it = {
		.kind = kind, .dir = s->dir, .name = name, .size = (uint64_t)st->st_size
	};

	if (s->o->force && unlinkat(s->dirfd, name, 0) < 0) {
		it.err = -errno;
		s->stats->failed++;
	}
	if (s->fn)
		s->fn(s->ctx, &it);
}

/* refs/: the older builds ranking marked; one that cannot be removed is kept. */
static void gc_prune(struct gc_sweep *s, struct gc_refs *refs)
{
	for (size_t i = 0; i < refs->n; i++) {
		struct gc_ref *r = &refs->v[i];
		struct stat st;
		uint64_t failed = s->stats->failed;

		if (!r->prune)
			continue;
		if (fstatat(s->dirfd, r->name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			memset(&st, 0, sizeof(st));
		s->stats->pruned++;
		gc_remove(s, VOLT_GC_REF, r->name, &st);
		if (s->stats->failed != failed) {
			s->stats->pruned--;
			r->prune = false; /* still there: what it names stays */
		}
	}
}

static bool is_temporary(const char *name)
{
	return strncmp(name, TMP_PREFIX, strlen(TMP_PREFIX)) == 0;
}

/* refs/: only stale temporary files go. */
static int gc_sweep_refs(struct gc_sweep *s)
{
	struct names ns;
	int ret = names_list(s->dirfd, false, &ns);

	if (ret < 0)
		return ret;
	for (size_t i = 0; i < ns.n; i++) {
		struct stat st;

		if (!is_temporary(ns.v[i]) ||
		    fstatat(s->dirfd, ns.v[i], &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    S_ISDIR(st.st_mode) || st.st_mtime >= s->cutoff)
			continue;
		s->stats->temporary++;
		gc_remove(s, VOLT_GC_TEMPORARY, ns.v[i], &st);
	}
	names_release(&ns);
	return 0;
}

/* objects/: stale temporary files, and objects no ref names. */
static int gc_sweep_objects(struct gc_sweep *s, const struct hash_set *set, bool *seen)
{
	struct names ns;
	int ret = names_list(s->dirfd, false, &ns);

	if (ret < 0)
		return ret;
	for (size_t i = 0; i < ns.n; i++) {
		const struct volt_hash *found;
		struct volt_hash h;
		struct stat st;
		bool temporary = is_temporary(ns.v[i]);

		if (!temporary && volt_hash_parse(&h, ns.v[i], strlen(ns.v[i])) < 0)
			continue; /* not ours to judge */
		if (fstatat(s->dirfd, ns.v[i], &st, AT_SYMLINK_NOFOLLOW) < 0 || S_ISDIR(st.st_mode))
			continue;
		if (temporary) {
			if (st.st_mtime < s->cutoff) {
				s->stats->temporary++;
				gc_remove(s, VOLT_GC_TEMPORARY, ns.v[i], &st);
			}
			continue;
		}
		s->stats->objects++;
		found = set->n ? bsearch(&h, set->v, set->n, sizeof(h), hash_cmp) : NULL;
		if (found) {
			seen[found - set->v] = true;
			continue;
		}
		if (st.st_mtime >= s->cutoff) {
			s->stats->recent++;
			continue;
		}
		s->stats->unreferenced++;
		s->stats->unreferenced_bytes += (uint64_t)st.st_size;
		gc_remove(s, VOLT_GC_OBJECT, ns.v[i], &st);
	}
	names_release(&ns);
	return 0;
}

int volt_cas_gc(struct volt_cas *cas, const struct volt_gc_opts *o,
		void (*fn)(void *ctx, const struct volt_gc_item *it), void *ctx,
		struct volt_gc_stats *stats, volt_report_fn report, struct volt_diag *d)
{
	struct hash_set set = { 0 };
	struct gc_refs refs = { 0 };
	struct gc_sweep s = { .o = o, .fn = fn, .ctx = ctx, .stats = stats };
	bool pruning = o->keep || o->keep_seconds;
	bool *seen = NULL;
	int ret;

	memset(stats, 0, sizeof(*stats));
	volt_diag_clear(d);
	ret = gc_read_refs(cas, pruning, &set, &refs, stats, report, ctx, d);
	if (ret < 0)
		goto out;
	if (stats->refs == 0) {
		ret = volt_diag_set(d, -ENOENT, NULL, "refs/ holds no ref: every object would go");
		goto out;
	}
	if (pruning) {
		refs.now = time(NULL);
		gc_rank(&refs, o);
		s.dirfd = cas->refs_fd;
		s.dir = "refs";
		gc_prune(&s, &refs);
		ret = gc_read_kept(cas, &refs, &set, d);
		if (ret < 0)
			goto out;
	}
	hash_set_seal(&set);
	stats->referenced = set.n;
	seen = calloc(set.n ? set.n : 1, sizeof(*seen));
	if (!seen) {
		ret = volt_diag_set(d, -ENOMEM, NULL, "out of memory");
		goto out;
	}
	/* Decided once, up front; no grace makes everything old enough. */
	s.cutoff = o->grace > 0 ? time(NULL) - (time_t)o->grace : (time_t)INT64_MAX;
	s.dirfd = cas->objects_fd;
	s.dir = "objects";
	ret = gc_sweep_objects(&s, &set, seen);
	if (ret < 0) {
		volt_diag_set(d, ret, NULL, "list objects/: %s", strerror(-ret));
		goto out;
	}
	for (size_t i = 0; i < set.n; i++)
		stats->missing += !seen[i];
	s.dirfd = cas->refs_fd;
	s.dir = "refs";
	ret = gc_sweep_refs(&s);
	if (ret < 0)
		volt_diag_set(d, ret, NULL, "list refs/: %s", strerror(-ret));
out:
	free(seen);
	free(set.v);
	free(refs.v);
	return ret;
}
