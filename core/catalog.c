// SPDX-License-Identifier: MIT
/*
 * The catalog: lazy, thread-safe loading of the build that serves each
 * profile. Loads are published once and never freed while the catalog
 * lives, so readers hold plain pointers without locks.
 */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "voltfs/catalog.h"

#define CHUNK_BITS 8
#define CHUNK_SIZE (1u << CHUNK_BITS)
#define MAX_CHUNKS 256 /* 65 535 loads in one mount's life */

struct slot {
	pthread_mutex_t lock;
	const struct volt_loaded *current; /* NULL while no usable ref */
	bool evaluated;			   /* current was chosen at gen and mtime: */
	uint64_t gen;
	struct timespec mtime;
	struct volt_refs_memo *memo; /* what is known of the profile's refs (under lock) */
};

struct pin {
	char ref[VOLT_REF_NAME_MAX];
	const struct volt_loaded *l; /* NULL while its one load runs */
};

struct volt_catalog {
	const struct volt_cas *cas;
	struct volt_catalog_opts o;
	char *mountpoint;
	struct slot slots[VOLT_PROFILE_COUNT];
	pthread_mutex_t lock; /* serials, pins and the unknown-name scan */
	uint64_t gen;	      /* bumped by volt_catalog_invalidate */
	uint32_t next_serial;
	uint64_t pin_loads; /* refs read in full for pins */
	struct pin *pins;
	size_t n_pins;
	pthread_cond_t pin_done; /* a pin's load ended (under lock) */
	struct timespec scanned_mtime;
	bool scanned;
	/* Ignored names already reported, sorted: each is said once per mount, not per change. */
	char **junk;
	size_t n_junk;
	struct volt_loaded **chunks[MAX_CHUNKS];
};

int volt_catalog_new(struct volt_catalog **out, const struct volt_cas *cas,
		     const struct volt_catalog_opts *o)
{
	struct volt_catalog *c = calloc(1, sizeof(*c));

	*out = NULL;
	if (!c)
		return -ENOMEM;
	c->cas = cas;
	c->o = *o;
	c->mountpoint = strdup(o->mountpoint);
	if (!c->mountpoint) {
		free(c);
		return -ENOMEM;
	}
	c->o.mountpoint = c->mountpoint;
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->pin_done, NULL);
	for (int i = 0; i < VOLT_PROFILE_COUNT; i++) {
		pthread_mutex_init(&c->slots[i].lock, NULL);
		if (volt_refs_memo_new(&c->slots[i].memo, (enum volt_profile)i) < 0) {
			volt_catalog_free(c);
			return -ENOMEM;
		}
	}
	c->next_serial = 1;
	*out = c;
	return 0;
}

static void loaded_free(struct volt_loaded *l)
{
	if (!l)
		return;
	volt_tree_free(l->tree);
	for (int i = 0; i < VOLT_SYNTH_COUNT; i++)
		free(l->synth[i].buf);
	free(l->arch);
	free(l->qemu_version);
	free(l->meta);
	free(l);
}

void volt_catalog_free(struct volt_catalog *c)
{
	if (!c)
		return;
	for (int i = 0; i < MAX_CHUNKS && c->chunks[i]; i++) {
		for (uint32_t j = 0; j < CHUNK_SIZE; j++)
			loaded_free(c->chunks[i][j]);
		free(c->chunks[i]);
	}
	for (int i = 0; i < VOLT_PROFILE_COUNT; i++) {
		pthread_mutex_destroy(&c->slots[i].lock);
		volt_refs_memo_free(c->slots[i].memo);
	}
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->pin_done);
	for (size_t i = 0; i < c->n_junk; i++)
		free(c->junk[i]);
	free(c->junk);
	free(c->pins);
	free(c->mountpoint);
	free(c);
}

int volt_catalog_refs_mtime(const struct volt_catalog *c, struct timespec *ts)
{
	struct stat st;

	if (fstat(c->cas->refs_fd, &st) < 0)
		return -errno;
	*ts = st.st_mtim;
	return 0;
}

static bool same_time(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

static int count_ref(void *ctx, const struct volt_ref *r)
{
	(void)ctx;
	(void)r;
	return 0;
}

#define MAX_JUNK 4096 /* names remembered; past it, further ones go unsaid */

/* Report an ignored name the first time it is seen (under c->lock). */
static void report_junk(void *ctx, const struct volt_diag *d)
{
	struct volt_catalog *c = ctx;
	size_t lo = 0, hi = c->n_junk;
	char **v, *name;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int cmp = strcmp(c->junk[mid], d->file);

		if (cmp == 0)
			return;
		if (cmp < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (c->n_junk >= MAX_JUNK)
		return;
	v = realloc(c->junk, (c->n_junk + 1) * sizeof(*v));
	if (v)
		c->junk = v;
	name = v ? strdup(d->file) : NULL;
	if (name) {
		memmove(&v[lo + 1], &v[lo], (c->n_junk - lo) * sizeof(*v));
		v[lo] = name;
		c->n_junk++;
	}
	if (c->o.report)
		c->o.report(c->o.report_ctx, d);
}

/* Look for ignored names once per change of refs/; each is said once. */
static void scan_names(struct volt_catalog *c, const struct timespec *mtime)
{
	pthread_mutex_lock(&c->lock);
	if (!c->scanned || !same_time(&c->scanned_mtime, mtime)) {
		c->scanned = true;
		c->scanned_mtime = *mtime;
		volt_refs_each(c->cas, count_ref, NULL, report_junk, c);
	}
	pthread_mutex_unlock(&c->lock);
}

/* Give l a serial and publish it in the serial table. */
static int publish(struct volt_catalog *c, struct volt_loaded *l)
{
	uint32_t serial, chunk;
	int ret = 0;

	pthread_mutex_lock(&c->lock);
	serial = c->next_serial;
	chunk = serial >> CHUNK_BITS;
	if (chunk >= MAX_CHUNKS) {
		ret = -ENOSPC;
		goto out;
	}
	if (!c->chunks[chunk]) {
		struct volt_loaded **p = calloc(CHUNK_SIZE, sizeof(*p));

		if (!p) {
			ret = -ENOMEM;
			goto out;
		}
		__atomic_store_n(&c->chunks[chunk], p, __ATOMIC_RELEASE);
	}
	l->serial = serial;
	__atomic_store_n(&c->chunks[chunk][serial & (CHUNK_SIZE - 1)], l, __ATOMIC_RELEASE);
	c->next_serial++;
out:
	pthread_mutex_unlock(&c->lock);
	return ret;
}

static void report(struct volt_catalog *c, const struct volt_diag *d)
{
	if (c->o.report)
		c->o.report(c->o.report_ctx, d);
}

/* Keep the manifest's own fields, for whoever wants to show them (xattrs). */
static int keep_meta(struct volt_loaded *l, const struct volt_manifest *m)
{
	char total[32];
	const char *kv[][2] = {
		{ "name", m->name },
		{ "created_at", m->created_at },
		{ "profile", m->profile },
		{ "qemu_version", m->qemu_version },
		{ "build_date", m->build_date },
		{ "build_host", m->build_host },
		{ "arch", m->arch },
		{ "total_bytes", m->total_bytes ? total : NULL },
	};
	size_t len = 0;
	char *p;

	snprintf(total, sizeof(total), "%lld", (long long)m->total_bytes);
	for (size_t i = 0; i < sizeof(kv) / sizeof(*kv); i++)
		if (kv[i][1])
			len += strlen(kv[i][0]) + strlen(kv[i][1]) + 2;
	p = l->meta = malloc(len + 1);
	if (!p)
		return -ENOMEM;
	for (size_t i = 0; i < sizeof(kv) / sizeof(*kv); i++) {
		if (!kv[i][1])
			continue;
		p = stpcpy(p, kv[i][0]) + 1;
		p = stpcpy(p, kv[i][1]) + 1;
	}
	l->meta_len = len;
	return 0;
}

const char *volt_loaded_meta(const struct volt_loaded *l, const char *key)
{
	for (const char *p = l->meta; p < l->meta + l->meta_len;) {
		const char *value = p + strlen(p) + 1;

		if (strcmp(p, key) == 0)
			return value;
		p = value + strlen(value) + 1;
	}
	return NULL;
}

/* Make a build of m (from ref) under the folder name dirname, and publish it. */
static int build_loaded(struct volt_catalog *c, enum volt_profile p, const struct volt_manifest *m,
			const struct volt_ref *ref, const char *dirname, struct volt_loaded **out)
{
	struct volt_render_input in = c->o.render;
	struct volt_loaded *l;
	struct volt_diag d;
	char dir[4096];
	int ret;

	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->profile = p;
	l->ref = *ref;
	l->pinned = strchr(dirname, '@') != NULL;
	snprintf(l->dirname, sizeof(l->dirname), "%s", dirname);
	volt_diag_clear(&d);
	snprintf(d.file, sizeof(d.file), "%s", ref->name);
	ret = volt_tree_build(&l->tree, m, &d);
	if (ret < 0) {
		report(c, &d);
		goto fail;
	}
	l->created = m->created;
	l->total_bytes = m->total_bytes;
	volt_manifest_count_files(m, &l->counts);
	ret = -ENOMEM;
	if ((m->arch && !(l->arch = strdup(m->arch))) ||
	    (m->qemu_version && !(l->qemu_version = strdup(m->qemu_version))) ||
	    keep_meta(l, m) < 0)
		goto fail;
	snprintf(dir, sizeof(dir), "%s/%s", strcmp(c->mountpoint, "/") ? c->mountpoint : "",
		 dirname);
	in.profile = p;
	in.name = volt_profile_name(p);
	in.arch = l->arch;
	in.profile_dir = dir;
	for (int i = 0; i < VOLT_SYNTH_COUNT; i++) {
		ret = volt_render_synth(i, &in, &l->synth[i]);
		if (ret < 0) {
			volt_diag_set(&d, ret, NULL, "cannot render the synthetic files");
			report(c, &d);
			goto fail;
		}
	}
	ret = publish(c, l);
	if (ret < 0)
		goto fail;
	*out = l;
	return 0;
fail:
	loaded_free(l);
	return ret;
}

/* Choose the ref that serves s's profile now (under s->lock). */
static int choose(struct volt_catalog *c, enum volt_profile p, struct slot *s)
{
	const char *keep = s->current ? s->current->ref.name : NULL;
	struct volt_loaded *l = NULL;
	struct volt_manifest m;
	struct volt_ref ref;
	int ret;

	for (;;) {
		ret = volt_refs_choose(s->memo, c->cas, keep, &m, &ref, c->o.report,
				       c->o.report_ctx);
		if (ret == 1)
			return 0; /* the build loaded already still wins */
		if (ret < 0) {
			if (ret != -ENOMEM)
				__atomic_store_n(&s->current, NULL, __ATOMIC_RELEASE);
			return ret;
		}
		ret = build_loaded(c, p, &m, &ref, volt_profile_name(p), &l);
		volt_manifest_release(&m);
		/* Parsing leaves megabytes of freed JSON nodes: give them back to the system. */
		malloc_trim(0);
		if (ret == 0) {
			__atomic_store_n(&s->current, l, __ATOMIC_RELEASE);
			return 0;
		}
		if (ret == -ENOMEM || ret == -ENOSPC)
			return ret;
		/* Its tree was refused (reported): the next ref in order serves. */
		volt_refs_memo_refuse(s->memo, ref.name);
	}
}

int volt_catalog_get(struct volt_catalog *c, enum volt_profile p, const struct volt_loaded **out)
{
	struct timespec mtime;
	uint64_t gen;
	struct slot *s;
	int ret;

	if (!volt_profile_name(p))
		return -EINVAL;
	s = &c->slots[p];
	ret = volt_catalog_refs_mtime(c, &mtime);
	if (ret < 0)
		return ret;
	gen = __atomic_load_n(&c->gen, __ATOMIC_ACQUIRE);
	scan_names(c, &mtime);
	pthread_mutex_lock(&s->lock);
	if (!s->evaluated || s->gen != gen || !same_time(&s->mtime, &mtime)) {
		ret = choose(c, p, s);
		/* Out of memory is not an answer about refs/: try again next time. */
		s->evaluated = ret != -ENOMEM;
		s->gen = gen;
		s->mtime = mtime;
	}
	*out = s->current;
	pthread_mutex_unlock(&s->lock);
	if (!*out)
		return ret == -ENOMEM ? ret : -ENOENT;
	return 0;
}

/* The index of ref's pin (under c->lock), or -1. */
static ssize_t pin_find(const struct volt_catalog *c, const char *ref)
{
	for (size_t i = 0; i < c->n_pins; i++)
		if (strcmp(c->pins[i].ref, ref) == 0)
			return (ssize_t)i;
	return -1;
}

/* Read ref in full and build it as the folder <profile>@<id>. */
static int pin_load(struct volt_catalog *c, enum volt_profile p, const struct volt_ref *ref,
		    struct volt_loaded **out)
{
	char dirname[VOLT_REF_NAME_MAX];
	struct volt_manifest m;
	struct volt_diag d;
	int ret;

	__atomic_fetch_add(&c->pin_loads, 1, __ATOMIC_RELAXED);
	ret = volt_manifest_load(&m, c->cas->refs_fd, ref->name, ref->id, &d);
	if (ret < 0) {
		if (ret != -ENOENT)
			report(c, &d);
		return ret == -ENOENT || ret == -EBADMSG || ret == -EINVAL || ret == -EFBIG
			       ? -ENOENT
			       : ret;
	}
	snprintf(dirname, sizeof(dirname), "%s@%s", volt_profile_name(p), ref->id);
	ret = build_loaded(c, p, &m, ref, dirname, out);
	volt_manifest_release(&m);
	malloc_trim(0);
	return ret;
}

/*
 * One load per pin: the first caller loads it, others naming it meanwhile wait
 * for that load instead of building copies of their own (issue 13 item 5).
 */
int volt_catalog_get_pinned(struct volt_catalog *c, enum volt_profile p, const char *id,
			    const struct volt_loaded **out)
{
	struct volt_loaded *l = NULL;
	struct volt_ref ref = { .profile = p };
	struct pin *pins;
	ssize_t i;
	int ret;

	if (!volt_profile_name(p) || strlen(id) != VOLT_REF_ID_LEN)
		return -EINVAL;
	snprintf(ref.name, sizeof(ref.name), "%s-%s.json", volt_profile_name(p), id);
	snprintf(ref.id, sizeof(ref.id), "%s", id);
	pthread_mutex_lock(&c->lock);
	/* A failed load leaves no entry: a waiter then tries itself. */
	while ((i = pin_find(c, ref.name)) >= 0 && !c->pins[i].l)
		pthread_cond_wait(&c->pin_done, &c->lock);
	if (i >= 0) {
		*out = c->pins[i].l;
		pthread_mutex_unlock(&c->lock);
		return 0;
	}
	pins = realloc(c->pins, (c->n_pins + 1) * sizeof(*pins));
	if (!pins) {
		pthread_mutex_unlock(&c->lock);
		return -ENOMEM;
	}
	c->pins = pins;
	snprintf(pins[c->n_pins].ref, sizeof(pins[c->n_pins].ref), "%s", ref.name);
	pins[c->n_pins].l = NULL;
	c->n_pins++;
	pthread_mutex_unlock(&c->lock);

	ret = pin_load(c, p, &ref, &l);

	pthread_mutex_lock(&c->lock);
	i = pin_find(c, ref.name); /* others' failed entries may have moved it */
	if (ret == 0)
		c->pins[i].l = l;
	else
		c->pins[i] = c->pins[--c->n_pins];
	pthread_cond_broadcast(&c->pin_done);
	pthread_mutex_unlock(&c->lock);
	if (ret == 0)
		*out = l;
	return ret;
}

void volt_catalog_invalidate(struct volt_catalog *c)
{
	__atomic_fetch_add(&c->gen, 1, __ATOMIC_ACQ_REL);
	pthread_mutex_lock(&c->lock);
	c->scanned = false;
	pthread_mutex_unlock(&c->lock);
}

uint32_t volt_catalog_loads(struct volt_catalog *c)
{
	uint32_t n;

	pthread_mutex_lock(&c->lock);
	n = c->next_serial - 1;
	pthread_mutex_unlock(&c->lock);
	return n;
}

const struct volt_loaded *volt_catalog_by_serial(struct volt_catalog *c, uint32_t serial)
{
	uint32_t chunk = serial >> CHUNK_BITS;
	struct volt_loaded **p;

	if (chunk >= MAX_CHUNKS)
		return NULL;
	p = __atomic_load_n(&c->chunks[chunk], __ATOMIC_ACQUIRE);
	return p ? __atomic_load_n(&p[serial & (CHUNK_SIZE - 1)], __ATOMIC_ACQUIRE) : NULL;
}

void volt_catalog_ref_stats(struct volt_catalog *c, struct volt_refs_stats *st)
{
	st->heads = 0;
	st->loads = __atomic_load_n(&c->pin_loads, __ATOMIC_RELAXED);
	for (int i = 0; i < VOLT_PROFILE_COUNT; i++) {
		struct volt_refs_stats one;

		pthread_mutex_lock(&c->slots[i].lock);
		volt_refs_memo_stats(c->slots[i].memo, &one);
		pthread_mutex_unlock(&c->slots[i].lock);
		st->heads += one.heads;
		st->loads += one.loads;
	}
}
