// SPDX-License-Identifier: MIT
/*
 * A store filled on demand (include/voltfs/remote.h): the builds seen, the
 * downloads in flight, one HTTP handle per thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "voltfs/digest.h"
#include "voltfs/remote.h"
#include "voltfs/transfer.h"

/* An object in a bounded cache: its size and when it was last used. */
struct cached {
	struct volt_hash h;
	uint64_t size;
	uint64_t used; /* a tick; 0 = removed */
};

/* The bound on objects/ (-o cache_max): every object there, by name. */
struct cache {
	pthread_mutex_t lock;
	uint64_t max, total; /* total counts reservations of fetches under way */
	uint64_t tick;
	struct cached *e;
	size_t n, cap;
	uint32_t *index; /* open addressing on the name: entry + 1, 0 empty */
	uint32_t mask;
	volt_remote_release_fn release;
	void *ctx;
};

/* A build whose manifest this mount has read: its blobs by object name. */
struct build {
	struct build *next;
	char ref_name[VOLT_REF_NAME_MAX];
	struct volt_oci oci;
	struct volt_hash digest; /* of its OCI manifest */
	size_t mirror;		 /* where it came from */
};

/* The last build each tag was seen to name. */
struct tag {
	struct tag *next;
	char name[VOLT_REF_NAME_MAX];
	struct volt_hash digest;
};

/* One download, waited for by every caller that wants the same object. */
struct flight {
	struct flight *next;
	struct volt_hash h;
	unsigned waiters;
	bool done;
	int ret;
	struct volt_diag d;
};

struct volt_remote {
	struct volt_cas *cas;
	struct volt_registry *regs;
	size_t n_regs;
	pthread_key_t http_key;
	pthread_mutex_t lock; /* builds, tags, flights */
	pthread_cond_t landed;
	pthread_mutex_t sync_lock; /* one build fetch at a time: they are rare */
	struct build *builds;
	struct tag *tags;
	struct flight *flights;
	struct volt_remote_stats stats;
	/* The background prefetch: a build, how far it got, its threads. */
	pthread_cond_t work;
	struct build *pf_build;
	const struct volt_oci_blob **pf_order; /* its blobs by title */
	size_t pf_next, pf_n;
	pthread_t pf_threads[16];
	unsigned pf_started;
	bool pf_stop;
	struct cache cache;
};

#define COUNT(r, field, n) __atomic_fetch_add(&(r)->stats.field, (n), __ATOMIC_RELAXED)

static void http_free(void *p)
{
	volt_http_release(p);
	free(p);
}

/* This thread's handle, made on first use. NULL: no memory. */
static struct volt_http *thread_http(struct volt_remote *r)
{
	struct volt_http *h = pthread_getspecific(r->http_key);

	if (h)
		return h;
	h = calloc(1, sizeof(*h));
	if (!h || volt_http_init(h, &r->regs[0].http_opts) < 0) {
		free(h);
		return NULL;
	}
	if (pthread_setspecific(r->http_key, h) != 0) {
		http_free(h);
		return NULL;
	}
	return h;
}

int volt_remote_new(struct volt_remote **out, struct volt_cas *cas,
		    const struct volt_remote_opts *o, struct volt_diag *d)
{
	struct volt_remote *r = calloc(1, sizeof(*r));
	struct volt_http_opts ho = { .connect_timeout_ms = o->connect_timeout_ms,
				     .stall_timeout_s = o->stall_timeout_s,
				     .ca_file = o->ca_file };
	int ret = 0;

	*out = NULL;
	if (!r)
		return -ENOMEM;
	r->cas = cas;
	r->regs = calloc(o->n_addrs, sizeof(*r->regs));
	if (!r->regs || o->n_addrs == 0) {
		free(r->regs);
		free(r);
		return o->n_addrs ? -ENOMEM : -EINVAL;
	}
	for (; r->n_regs < o->n_addrs; r->n_regs++) {
		struct volt_registry_addr a;
		struct volt_creds creds;
		const char *bad = NULL;

		ret = volt_registry_parse_addr(o->addrs[r->n_regs], &a, d);
		if (ret < 0) {
			snprintf(d->file, sizeof(d->file), "registry=%s", o->addrs[r->n_regs]);
			break;
		}
		ret = volt_auth_load_default(&creds, o->auth_file, a.host, &bad);
		if (ret < 0) {
			volt_diag_set(d, -EINVAL, NULL, "%s: not a credentials file (auths)", bad);
			break;
		}
		ret = volt_registry_open(&r->regs[r->n_regs], &a, &ho, &creds);
		volt_auth_release(&creds);
		if (ret < 0)
			break;
		/* A mount answers a reader: fail over to the next mirror rather than wait long. */
		r->regs[r->n_regs].attempts = 2;
	}
	if (ret == 0 && pthread_key_create(&r->http_key, http_free) != 0)
		ret = -ENOMEM;
	if (ret < 0) {
		while (r->n_regs)
			volt_registry_close(&r->regs[--r->n_regs]);
		free(r->regs);
		free(r);
		return ret;
	}
	pthread_mutex_init(&r->lock, NULL);
	pthread_mutex_init(&r->sync_lock, NULL);
	pthread_cond_init(&r->landed, NULL);
	pthread_cond_init(&r->work, NULL);
	/* libcurl and libcrypto read their configuration now, while the caller can. */
	if (!thread_http(r)) {
		volt_remote_free(r);
		return -ENOMEM;
	}
	*out = r;
	return 0;
}

void volt_remote_free(struct volt_remote *r)
{
	struct volt_http *h;

	if (!r)
		return;
	pthread_mutex_lock(&r->lock);
	r->pf_stop = true;
	pthread_cond_broadcast(&r->work);
	pthread_mutex_unlock(&r->lock);
	for (unsigned i = 0; i < r->pf_started; i++)
		pthread_join(r->pf_threads[i], NULL);
	free(r->pf_order);
	pthread_cond_destroy(&r->work);
	if (r->cache.index) {
		free(r->cache.index);
		free(r->cache.e);
		pthread_mutex_destroy(&r->cache.lock);
	}
	h = pthread_getspecific(r->http_key);
	if (h) {
		pthread_setspecific(r->http_key, NULL);
		http_free(h);
	}
	pthread_key_delete(r->http_key); /* other threads' handles: freed as they exit */
	while (r->builds) {
		struct build *b = r->builds;

		r->builds = b->next;
		volt_oci_release(&b->oci);
		free(b);
	}
	while (r->tags) {
		struct tag *t = r->tags;

		r->tags = t->next;
		free(t);
	}
	for (size_t i = 0; i < r->n_regs; i++)
		volt_registry_close(&r->regs[i]);
	free(r->regs);
	pthread_cond_destroy(&r->landed);
	pthread_mutex_destroy(&r->sync_lock);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

/* Under the lock. */
static struct build *find_build(struct volt_remote *r, const char *ref_name)
{
	for (struct build *b = r->builds; b; b = b->next)
		if (strcmp(b->ref_name, ref_name) == 0)
			return b;
	return NULL;
}

static struct tag *find_tag(struct volt_remote *r, const char *name)
{
	for (struct tag *t = r->tags; t; t = t->next)
		if (strcmp(t->name, name) == 0)
			return t;
	return NULL;
}

/* Keep what fetch_build learned (under sync_lock): the build's blobs, and the tag's digest. */
static int remember(struct volt_remote *r, const char *tag, struct volt_remote_build *rb,
		    size_t mirror)
{
	struct build *b = NULL;
	struct tag *t;
	int ret = 0;

	pthread_mutex_lock(&r->lock);
	if (!find_build(r, rb->ref.name)) {
		b = calloc(1, sizeof(*b));
		if (b) {
			snprintf(b->ref_name, sizeof(b->ref_name), "%s", rb->ref.name);
			b->oci = rb->oci; /* moved */
			memset(&rb->oci, 0, sizeof(rb->oci));
			b->digest = rb->digest;
			b->mirror = mirror;
			b->next = r->builds;
			r->builds = b;
		} else {
			ret = -ENOMEM;
		}
	}
	t = find_tag(r, tag);
	if (!t && ret == 0) {
		t = calloc(1, sizeof(*t));
		if (t) {
			snprintf(t->name, sizeof(t->name), "%s", tag);
			t->next = r->tags;
			r->tags = t;
		} else {
			ret = -ENOMEM;
		}
	}
	if (t)
		t->digest = rb->digest;
	pthread_mutex_unlock(&r->lock);
	return ret;
}

/* Is refs/<name> there? */
static bool have_ref(struct volt_remote *r, const char *name)
{
	struct stat st;

	return fstatat(r->cas->refs_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
}

/* Fetch the build tag names from the first mirror that serves it (under sync_lock). */
static int fetch_build(struct volt_remote *r, struct volt_http *h, const char *tag, bool store_ref,
		       struct volt_remote_build *rb, size_t *mirror, struct volt_diag *d)
{
	int ret = -ENOENT, first = 0;
	struct volt_diag first_d;

	volt_diag_clear(&first_d);
	for (size_t i = 0; i < r->n_regs; i++) {
		ret = volt_transfer_fetch_build(r->cas, &r->regs[i], h, tag, store_ref, rb, d);
		if (ret == 0) {
			*mirror = i;
			COUNT(r, builds, 1);
			return 0;
		}
		if (!first) {
			first = ret;
			first_d = *d;
		}
	}
	*d = first_d;
	return first;
}

int volt_remote_sync(struct volt_remote *r, const char *tag, struct volt_diag *d)
{
	struct volt_http *h = thread_http(r);
	struct volt_remote_build rb;
	struct volt_hash digest;
	struct volt_diag first_d;
	bool same = false, found = false;
	char name[VOLT_REF_NAME_MAX];
	size_t mirror = 0;
	int ret = -ENOENT, first = 0;

	volt_diag_clear(d);
	if (!h)
		return -ENOMEM;
	pthread_mutex_lock(&r->sync_lock);
	/* Cheap first: HEAD gives the digest the tag names now. */
	for (size_t i = 0; i < r->n_regs && !found; i++) {
		COUNT(r, tag_checks, 1);
		ret = volt_registry_head_manifest(&r->regs[i], h, tag, &digest, d);
		if (ret == 0)
			found = true;
		else if (!first) {
			first = ret;
			first_d = *d;
		}
	}
	if (!found) {
		*d = first_d;
		ret = first;
		goto out;
	}
	pthread_mutex_lock(&r->lock);
	{
		struct tag *t = find_tag(r, tag);

		if (t && volt_hash_equal(&t->digest, &digest))
			for (struct build *b = r->builds; b; b = b->next)
				if (volt_hash_equal(&b->digest, &digest)) {
					snprintf(name, sizeof(name), "%s", b->ref_name);
					same = true;
				}
	}
	pthread_mutex_unlock(&r->lock);
	if (same && have_ref(r, name)) {
		ret = 0;
		goto out;
	}
	ret = fetch_build(r, h, tag, true, &rb, &mirror, d);
	if (ret == 0) {
		ret = remember(r, tag, &rb, mirror);
		volt_remote_build_release(&rb);
		if (ret == 0)
			ret = 1;
	}
out:
	pthread_mutex_unlock(&r->sync_lock);
	return ret;
}

/* The build of ref_name, its manifest fetched by the pin tag if this mount has not seen it. */
static struct build *build_of(struct volt_remote *r, const char *ref_name, struct volt_diag *d,
			      int *err)
{
	struct volt_remote_build rb;
	struct volt_http *h;
	struct build *b;
	char tag[VOLT_REF_NAME_MAX];
	size_t mirror = 0, len = strlen(ref_name);

	pthread_mutex_lock(&r->lock);
	b = find_build(r, ref_name);
	pthread_mutex_unlock(&r->lock);
	if (b)
		return b;
	h = thread_http(r);
	if (!h || len <= 5) {
		*err = h ? -EINVAL : -ENOMEM;
		return NULL;
	}
	snprintf(tag, sizeof(tag), "%.*s", (int)(len - 5), ref_name);
	pthread_mutex_lock(&r->sync_lock);
	pthread_mutex_lock(&r->lock);
	b = find_build(r, ref_name); /* another thread may have fetched it meanwhile */
	pthread_mutex_unlock(&r->lock);
	if (!b) {
		*err = fetch_build(r, h, tag, false, &rb, &mirror, d);
		if (*err == 0) {
			*err = remember(r, tag, &rb, mirror);
			volt_remote_build_release(&rb);
		}
		pthread_mutex_lock(&r->lock);
		b = *err == 0 ? find_build(r, ref_name) : NULL;
		pthread_mutex_unlock(&r->lock);
		if (*err == 0 && !b)
			*err = -ENOENT; /* the pin tag names another ref: not ours to trust */
	}
	pthread_mutex_unlock(&r->sync_lock);
	return b;
}

int volt_remote_blob(struct volt_remote *r, const char *ref_name, const struct volt_hash *h,
		     uint64_t *size, uint32_t *mode, struct volt_diag *d)
{
	const struct volt_oci_blob *blob;
	int err = 0;
	struct build *b = build_of(r, ref_name, d, &err);

	if (!b)
		return err;
	blob = volt_oci_find(&b->oci, h); /* builds are never freed: b stays valid */
	if (!blob)
		return -ENOENT;
	*size = blob->size;
	*mode = blob->mode;
	return 0;
}

/* cache: under its lock */

static uint32_t cache_slot(const struct cache *c, const struct volt_hash *h)
{
	uint32_t v;

	memcpy(&v, h->bytes, sizeof(v));
	for (uint32_t s = v & c->mask;; s = (s + 1) & c->mask)
		if (!c->index[s] || volt_hash_equal(&c->e[c->index[s] - 1].h, h))
			return s;
}

static int cache_index(struct cache *c)
{
	uint32_t mask = 1023;

	while (mask < 2 * c->cap)
		mask = mask * 2 + 1;
	free(c->index);
	c->index = calloc((size_t)mask + 1, sizeof(*c->index));
	if (!c->index)
		return -ENOMEM;
	c->mask = mask;
	for (size_t i = 0; i < c->n; i++)
		c->index[cache_slot(c, &c->e[i].h)] = (uint32_t)i + 1;
	return 0;
}

/* The entry of h, made (size 0, unused) if missing; NULL: no memory. */
static struct cached *cache_entry(struct cache *c, const struct volt_hash *h)
{
	uint32_t s = cache_slot(c, h);

	if (c->index[s])
		return &c->e[c->index[s] - 1];
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 1024;
		struct cached *e = realloc(c->e, cap * sizeof(*e));

		if (!e)
			return NULL;
		c->e = e;
		c->cap = cap;
		if (cache_index(c) < 0)
			return NULL;
		s = cache_slot(c, h);
	}
	c->e[c->n] = (struct cached){ .h = *h };
	c->index[s] = (uint32_t)++c->n;
	return &c->e[c->n - 1];
}

int volt_remote_set_cache(struct volt_remote *r, uint64_t max_bytes, volt_remote_release_fn release,
			  void *ctx)
{
	struct cache *c = &r->cache;
	int dfd = dup(r->cas->objects_fd);
	DIR *dir = dfd >= 0 ? fdopendir(dfd) : NULL;
	struct dirent *de;
	int ret = 0;

	if (!dir) {
		if (dfd >= 0)
			close(dfd);
		return -errno;
	}
	pthread_mutex_init(&c->lock, NULL);
	c->max = max_bytes;
	c->release = release;
	c->ctx = ctx;
	ret = cache_index(c);
	/* What is there already counts: a pull's objects, an earlier run's. */
	while (ret == 0 && (de = readdir(dir))) {
		struct volt_hash h;
		struct cached *e;
		struct stat st;

		if (volt_hash_parse(&h, de->d_name, strlen(de->d_name)) < 0 ||
		    volt_cas_stat_object(r->cas, &h, &st) < 0)
			continue;
		e = cache_entry(c, &h);
		if (!e) {
			ret = -ENOMEM;
			break;
		}
		e->size = (uint64_t)st.st_size;
		e->used = ++c->tick;
		c->total += e->size;
	}
	closedir(dir);
	return ret;
}

void volt_remote_touch(struct volt_remote *r, const struct volt_hash *h)
{
	struct cache *c = &r->cache;
	struct cached *e;

	if (!c->max)
		return;
	pthread_mutex_lock(&c->lock);
	e = cache_entry(c, h);
	if (e && e->used)
		e->used = ++c->tick;
	pthread_mutex_unlock(&c->lock);
}

/*
 * Room for size more bytes, reserved: the least recently used objects that
 * are not open are removed until it fits. 0, or -ENOSPC with d saying why.
 */
static int cache_reserve(struct volt_remote *r, const struct volt_hash *h, uint64_t size,
			 struct volt_diag *d)
{
	struct cache *c = &r->cache;
	int ret = 0;

	if (!c->max)
		return 0;
	pthread_mutex_lock(&c->lock);
	while (c->total + size > c->max) {
		struct cached *victim = NULL;
		char name[VOLT_HASH_HEX_MAX + 1];

		for (size_t i = 0; i < c->n; i++) {
			struct cached *e = &c->e[i];

			if (e->used && e->size && !volt_hash_equal(&e->h, h) &&
			    (!victim || e->used < victim->used) && e->used != UINT64_MAX)
				victim = e;
		}
		if (!victim) {
			ret = volt_diag_set(d, -ENOSPC, NULL,
					    "cache_max (%llu bytes) has no room for %llu more: the "
					    "rest "
					    "is open",
					    (unsigned long long)c->max, (unsigned long long)size);
			break;
		}
		if (c->release(c->ctx, &victim->h) < 0) {
			victim->used = UINT64_MAX; /* open: passed over in this round */
			continue;
		}
		volt_hash_format(&victim->h, name);
		if (unlinkat(r->cas->objects_fd, name, 0) < 0 && errno != ENOENT) {
			victim->used = UINT64_MAX;
			continue;
		}
		c->total -= victim->size;
		victim->used = 0;
		victim->size = 0;
		COUNT(r, evictions, 1);
	}
	/* Those passed over are in use: most recently used, for the next round. */
	for (size_t i = 0; i < c->n; i++)
		if (c->e[i].used == UINT64_MAX)
			c->e[i].used = ++c->tick;
	if (ret == 0)
		c->total += size;
	pthread_mutex_unlock(&c->lock);
	return ret;
}

/* A reserved fetch ended: stored (its entry now holds the size) or not (given back). */
static void cache_settle(struct volt_remote *r, const struct volt_hash *h, uint64_t size,
			 bool stored)
{
	struct cache *c = &r->cache;
	struct cached *e;

	if (!c->max)
		return;
	pthread_mutex_lock(&c->lock);
	e = stored ? cache_entry(c, h) : NULL;
	if (e && !e->size) {
		e->size = size;
		e->used = ++c->tick;
	} else {
		c->total -= size; /* not stored, or counted already */
	}
	pthread_mutex_unlock(&c->lock);
}

static int download_from(struct volt_remote *r, struct build *b, const struct volt_oci_blob *blob,
			 struct volt_http *http, struct volt_diag *d);

/* Download h (no lock held), within the cache's bound. */
static int download(struct volt_remote *r, struct build *b, const struct volt_hash *h,
		    struct volt_diag *d)
{
	const struct volt_oci_blob *blob = volt_oci_find(&b->oci, h);
	struct volt_http *http = thread_http(r);
	struct stat st;
	int ret;

	if (!blob)
		return volt_diag_set(d, -ENOENT, NULL, "not an object of %s", b->ref_name);
	if (!http)
		return -ENOMEM;
	if (volt_cas_stat_object(r->cas, h, &st) == 0 && (uint64_t)st.st_size == blob->size)
		return 0;
	ret = cache_reserve(r, h, blob->size, d);
	if (ret < 0) {
		COUNT(r, fetch_failures, 1);
		return ret;
	}
	ret = download_from(r, b, blob, http, d);
	cache_settle(r, h, blob->size, ret == 0);
	return ret;
}

/* The fetch itself: from b's mirror first, then the others. */
static int download_from(struct volt_remote *r, struct build *b, const struct volt_oci_blob *blob,
			 struct volt_http *http, struct volt_diag *d)
{
	struct volt_diag first_d;
	int ret = -ENOENT, first = 0;

	volt_diag_clear(&first_d);

	for (size_t k = 0; k < r->n_regs; k++) {
		size_t i = (b->mirror + k) % r->n_regs;
		uint64_t got = 0;

		ret = volt_transfer_fetch_object(r->cas, &r->regs[i], http, blob, &got, d);
		COUNT(r, fetch_bytes, got);
		if (ret == 0) {
			COUNT(r, fetches, 1);
			return 0;
		}
		if (!first) {
			first = ret;
			first_d = *d;
		}
	}
	COUNT(r, fetch_failures, 1);
	*d = first_d;
	return first;
}

int volt_remote_fetch(struct volt_remote *r, const char *ref_name, const struct volt_hash *h,
		      struct volt_diag *d)
{
	struct flight *f, **pp;
	struct build *b;
	int ret = 0;

	volt_diag_clear(d);
	b = build_of(r, ref_name, d, &ret);
	if (!b)
		return ret;
	pthread_mutex_lock(&r->lock);
	for (f = r->flights; f; f = f->next)
		if (volt_hash_equal(&f->h, h))
			break;
	if (f) {
		/* Someone is fetching it: wait for that answer, do not fetch it twice. */
		f->waiters++;
		while (!f->done)
			pthread_cond_wait(&r->landed, &r->lock);
		ret = f->ret;
		*d = f->d;
	} else {
		f = calloc(1, sizeof(*f));
		if (!f) {
			pthread_mutex_unlock(&r->lock);
			return -ENOMEM;
		}
		f->h = *h;
		f->waiters = 1;
		f->next = r->flights;
		r->flights = f;
		pthread_mutex_unlock(&r->lock);
		ret = download(r, b, h, &f->d);
		pthread_mutex_lock(&r->lock);
		f->ret = ret;
		f->done = true;
		*d = f->d;
		/* Out of the list at once: a later call after a failure tries again. */
		for (pp = &r->flights; *pp; pp = &(*pp)->next)
			if (*pp == f) {
				*pp = f->next;
				break;
			}
		pthread_cond_broadcast(&r->landed);
	}
	if (--f->waiters == 0)
		free(f);
	pthread_mutex_unlock(&r->lock);
	return ret;
}

static size_t add_port(uint16_t *out, size_t n, size_t max, uint16_t port)
{
	for (size_t i = 0; i < n; i++)
		if (out[i] == port)
			return n;
	if (n < max)
		out[n++] = port;
	return n;
}

size_t volt_remote_ports(const struct volt_remote *r, uint16_t *out, size_t max)
{
	size_t n = add_port(out, 0, max, 443);

	for (size_t i = 0; i < r->n_regs; i++) {
		const struct volt_registry_addr *a = &r->regs[i].addr;
		const char *colon = strrchr(a->host, ':');
		unsigned long port = a->plain_http ? 80 : 443;

		if (colon && !strchr(colon, ']'))
			port = strtoul(colon + 1, NULL, 10);
		n = add_port(out, n, max, (uint16_t)port);
	}
	if (n < max)
		out[n] = 0;
	return n;
}

static void *prefetch_main(void *arg)
{
	struct volt_remote *r = arg;

	pthread_mutex_lock(&r->lock);
	while (!r->pf_stop) {
		const struct volt_oci_blob *blob;
		struct build *b;
		struct volt_diag d;

		if (!r->pf_build || r->pf_next >= r->pf_n) {
			pthread_cond_wait(&r->work, &r->lock);
			continue;
		}
		b = r->pf_build;
		blob = r->pf_order[r->pf_next++];
		pthread_mutex_unlock(&r->lock);
		/* Failures are an open's to report, when it asks for the object itself. */
		if (volt_remote_fetch(r, b->ref_name, &blob->object, &d) == 0)
			COUNT(r, prefetched, 1);
		pthread_mutex_lock(&r->lock);
	}
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

static int by_title(const void *pa, const void *pb)
{
	return strcmp((*(const struct volt_oci_blob *const *)pa)->title,
		      (*(const struct volt_oci_blob *const *)pb)->title);
}

int volt_remote_prefetch(struct volt_remote *r, const char *ref_name, unsigned jobs)
{
	const struct volt_oci_blob **order;
	struct volt_diag d;
	struct build *b;
	int ret = 0;

	b = build_of(r, ref_name, &d, &ret);
	if (!b)
		return ret;
	order = calloc(b->oci.n_objects + 1, sizeof(*order));
	if (!order)
		return -ENOMEM;
	for (size_t i = 0; i < b->oci.n_objects; i++)
		order[i] = &b->oci.objects[i];
	qsort(order, b->oci.n_objects, sizeof(*order), by_title);
	if (jobs > sizeof(r->pf_threads) / sizeof(r->pf_threads[0]))
		jobs = sizeof(r->pf_threads) / sizeof(r->pf_threads[0]);
	pthread_mutex_lock(&r->lock);
	free(r->pf_order);
	r->pf_order = order;
	r->pf_build = b;
	r->pf_next = 0;
	r->pf_n = b->oci.n_objects;
	while (r->pf_started < jobs &&
	       pthread_create(&r->pf_threads[r->pf_started], NULL, prefetch_main, r) == 0)
		r->pf_started++;
	ret = r->pf_started ? 0 : -EAGAIN;
	pthread_cond_broadcast(&r->work);
	pthread_mutex_unlock(&r->lock);
	return ret;
}

void volt_remote_get_stats(struct volt_remote *r, struct volt_remote_stats *s)
{
	s->evictions = __atomic_load_n(&r->stats.evictions, __ATOMIC_RELAXED);
	if (r->cache.max) {
		pthread_mutex_lock(&r->cache.lock);
		s->cache_bytes = r->cache.total;
		pthread_mutex_unlock(&r->cache.lock);
	} else {
		s->cache_bytes = 0;
	}
	s->prefetched = __atomic_load_n(&r->stats.prefetched, __ATOMIC_RELAXED);
	s->fetches = __atomic_load_n(&r->stats.fetches, __ATOMIC_RELAXED);
	s->fetch_bytes = __atomic_load_n(&r->stats.fetch_bytes, __ATOMIC_RELAXED);
	s->fetch_failures = __atomic_load_n(&r->stats.fetch_failures, __ATOMIC_RELAXED);
	s->tag_checks = __atomic_load_n(&r->stats.tag_checks, __ATOMIC_RELAXED);
	s->builds = __atomic_load_n(&r->stats.builds, __ATOMIC_RELAXED);
}

int volt_remote_origin(struct volt_remote *r, const char *ref_name, char *addr, size_t addr_size,
		       char *digest, size_t digest_size)
{
	struct build *b;
	size_t mirror = 0;
	int ret = -ENOENT;

	pthread_mutex_lock(&r->lock);
	b = find_build(r, ref_name);
	if (b) {
		char dig[VOLT_DIGEST_STR_MAX];

		mirror = b->mirror;
		volt_digest_format(&b->digest, dig);
		snprintf(digest, digest_size, "%s", dig);
		ret = 0;
	}
	pthread_mutex_unlock(&r->lock);
	volt_registry_format_addr(&r->regs[mirror].addr, addr, addr_size);
	return ret;
}
