// SPDX-License-Identifier: MIT
/*
 * Push and pull of profile builds (include/voltfs/transfer.h): a small pool
 * of threads, each with its own HTTP handle, over a build's distinct
 * objects; the calling thread reports progress and keeps the first error.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "voltfs/digest.h"
#include "voltfs/profile.h"
#include "voltfs/transfer.h"

#define JOBS_MAX 64

struct pool {
	pthread_mutex_t lock;
	pthread_cond_t done;
	size_t next, n, running;
	int err;
	struct volt_diag diag; /* of the first error */
	struct volt_transfer_stats *stats;
	struct volt_registry *r;
	int (*fn)(struct pool *p, struct volt_http *h, size_t i, struct volt_diag *d);
	void *ctx;
};

static void pool_count(struct pool *p, bool had, uint64_t bytes)
{
	pthread_mutex_lock(&p->lock);
	if (had)
		p->stats->blobs_had++;
	else
		p->stats->blobs_done++;
	p->stats->bytes_done += had ? 0 : bytes;
	pthread_mutex_unlock(&p->lock);
}

static void pool_fail(struct pool *p, int err, const struct volt_diag *d)
{
	pthread_mutex_lock(&p->lock);
	if (!p->err) {
		p->err = err;
		if (d)
			p->diag = *d;
	}
	pthread_mutex_unlock(&p->lock);
}

static void *pool_worker(void *arg)
{
	struct pool *p = arg;
	struct volt_http h;
	int ret = volt_http_init(&h, &p->r->http_opts);

	if (ret < 0)
		pool_fail(p, ret, NULL);
	for (;;) {
		struct volt_diag d;
		size_t i;

		pthread_mutex_lock(&p->lock);
		if (p->err || p->next >= p->n) {
			pthread_mutex_unlock(&p->lock);
			break;
		}
		i = p->next++;
		pthread_mutex_unlock(&p->lock);
		volt_diag_clear(&d);
		ret = p->fn(p, &h, i, &d);
		if (ret < 0)
			pool_fail(p, ret, &d);
	}
	volt_http_release(&h);
	pthread_mutex_lock(&p->lock);
	p->running--;
	pthread_cond_signal(&p->done);
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

/* fn over [0, n), jobs at a time; progress every 100 ms from this thread. */
static int pool_run(struct pool *p, int jobs, volt_transfer_progress_fn progress, void *ctx,
		    struct volt_diag *d)
{
	pthread_t threads[JOBS_MAX];
	size_t started = 0;

	if (jobs < 1)
		jobs = 1;
	if (jobs > JOBS_MAX)
		jobs = JOBS_MAX;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->done, NULL);
	for (; started < (size_t)jobs && started < p->n; started++) {
		p->running++;
		if (pthread_create(&threads[started], NULL, pool_worker, p) != 0) {
			p->running--;
			if (started == 0)
				p->err = -EAGAIN;
			break;
		}
	}
	pthread_mutex_lock(&p->lock);
	while (p->running) {
		struct timespec until;

		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 100000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&p->done, &p->lock, &until);
		if (progress) {
			struct volt_transfer_stats s = *p->stats;

			pthread_mutex_unlock(&p->lock);
			progress(ctx, &s);
			pthread_mutex_lock(&p->lock);
		}
	}
	pthread_mutex_unlock(&p->lock);
	for (size_t i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	pthread_cond_destroy(&p->done);
	pthread_mutex_destroy(&p->lock);
	if (p->err && d)
		*d = p->diag;
	return p->err;
}

/* push */

struct push_ctx {
	struct volt_cas *cas;
	struct volt_oci_blob *blobs;
};

/* Verify one object against its name, then send it unless the registry has it. */
static int push_one(struct pool *p, struct volt_http *h, size_t i, struct volt_diag *d)
{
	struct push_ctx *c = p->ctx;
	struct volt_oci_blob *b = &c->blobs[i];
	char name[VOLT_HASH_HEX_MAX + 1];
	struct stat st;
	int fd, ret;

	volt_hash_format(&b->object, name);
	snprintf(d->file, sizeof(d->file), "objects/%s", name);
	fd = volt_cas_open_object(c->cas, &b->object, &st);
	if (fd < 0)
		return volt_diag_set(d, fd, NULL, "cannot open: %s", strerror(-fd));
	ret = b->object.len == VOLT_HASH_XXH128_LEN ? volt_cas_verify_fd(fd, &b->object) : 0;
	if (ret == 0)
		ret = volt_hash_sha256_fd(&b->digest, fd, &b->size);
	if (ret == 0 && b->object.len == VOLT_HASH_SHA256_LEN &&
	    !volt_hash_equal(&b->digest, &b->object))
		ret = -EIO;
	if (ret < 0) {
		close(fd);
		return volt_diag_set(d, ret, NULL, "%s",
				     ret == -EIO ? "content does not match its name: not pushed"
						 : strerror(-ret));
	}
	b->mode = st.st_mode & 0111 ? 0555 : 0444;
	ret = volt_registry_blob_exists(p->r, h, &b->digest, NULL, d);
	if (ret == 0)
		ret = volt_registry_put_blob(p->r, h, &b->digest, fd, NULL, b->size, d);
	close(fd);
	if (ret >= 0)
		pool_count(p, ret == 1, b->size);
	return ret < 0 ? ret : 0;
}

/* A small blob from memory, unless the registry has it. */
static int push_buf(struct volt_registry *r, struct volt_http *h, const struct volt_hash *digest,
		    const void *buf, size_t len, struct volt_diag *d)
{
	int ret = volt_registry_blob_exists(r, h, digest, NULL, d);

	if (ret == 0)
		ret = volt_registry_put_blob(r, h, digest, -1, buf, len, d);
	return ret < 0 ? ret : 0;
}

int volt_transfer_push(struct volt_cas *cas, const char *ref_name, struct volt_registry *r,
		       int jobs, volt_transfer_progress_fn progress, void *ctx,
		       struct volt_transfer_stats *stats, struct volt_hash *digest,
		       struct volt_diag *d)
{
	struct volt_manifest m = { 0 };
	struct volt_oci_blob *blobs = NULL, refblob = { 0 };
	struct volt_hash empty;
	struct volt_http h = { 0 };
	char *buf = NULL, *json = NULL, name[VOLT_REF_NAME_MAX], tag[VOLT_REF_NAME_MAX], id[16];
	enum volt_profile prof;
	size_t len = 0, jlen = 0, n = 0;
	int ret;

	memset(stats, 0, sizeof(*stats));
	volt_diag_clear(d);
	snprintf(d->file, sizeof(d->file), "refs/%s", ref_name);
	if (volt_ref_parse_name(ref_name, &prof, id) < 0)
		return volt_diag_set(d, -EINVAL, NULL, "not a ref name <profile>-<id>.json");
	ret = volt_manifest_read(cas->refs_fd, ref_name, &buf, &len);
	if (ret < 0)
		return volt_diag_set(d, ret, NULL, "cannot read: %s", strerror(-ret));
	volt_ref_make_name(prof, buf, len, name);
	if (strcmp(name, ref_name) != 0) {
		ret = volt_diag_set(d, -EBADMSG, NULL, "content does not match its id");
		goto out;
	}
	ret = volt_manifest_parse(&m, buf, len, d);
	if (ret < 0)
		goto out;
	ret = volt_oci_objects(&m, &blobs, &n);
	if (ret < 0)
		goto out;
	stats->blobs = n;
	r->push = true;
	{
		struct push_ctx c = { cas, blobs };
		struct pool p = { .n = n, .stats = stats, .r = r, .fn = push_one, .ctx = &c };

		ret = pool_run(&p, jobs, progress, ctx, d);
	}
	if (ret < 0)
		goto out;
	for (size_t i = 0; i < n; i++)
		stats->bytes += blobs[i].size;
	ret = volt_http_init(&h, &r->http_opts);
	if (ret < 0)
		goto out;
	refblob.size = len;
	refblob.mode = 0644;
	refblob.title = ref_name;
	ret = volt_sha256_buf(&refblob.digest, buf, len);
	if (ret == 0)
		ret = push_buf(r, &h, &refblob.digest, buf, len, d);
	if (ret == 0)
		ret = volt_sha256_buf(&empty, VOLT_OCI_EMPTY_BLOB, strlen(VOLT_OCI_EMPTY_BLOB));
	if (ret == 0)
		ret = push_buf(r, &h, &empty, VOLT_OCI_EMPTY_BLOB, strlen(VOLT_OCI_EMPTY_BLOB), d);
	if (ret == 0)
		ret = volt_oci_build(ref_name, &refblob, blobs, n, m.created_at, &json, &jlen);
	if (ret == 0)
		ret = volt_sha256_buf(digest, json, jlen);
	/* The pin first: a moved "<profile>" tag never names a build without its pin. */
	snprintf(tag, sizeof(tag), "%.*s", (int)(strlen(ref_name) - 5), ref_name);
	if (ret == 0)
		ret = volt_registry_put_manifest(r, &h, tag, VOLT_OCI_MANIFEST_TYPE, json, jlen, d);
	if (ret == 0)
		ret = volt_registry_put_manifest(r, &h, volt_profile_name(prof),
						 VOLT_OCI_MANIFEST_TYPE, json, jlen, d);
	if (progress && ret == 0)
		progress(ctx, stats);
out:
	volt_http_release(&h);
	free(json);
	free(blobs);
	volt_manifest_release(&m);
	free(buf);
	return ret;
}

/* fetch */

struct mem_sink {
	char *buf;
	size_t len, cap;
};

static int mem_write(void *ctx, const void *buf, size_t len)
{
	struct mem_sink *s = ctx;

	if (len > s->cap - s->len)
		return -EFBIG;
	memcpy(s->buf + s->len, buf, len);
	s->len += len;
	return 0;
}

static int mem_reset(void *ctx)
{
	((struct mem_sink *)ctx)->len = 0;
	return 0;
}

void volt_remote_build_release(struct volt_remote_build *b)
{
	volt_oci_release(&b->oci);
	volt_manifest_release(&b->m);
	free(b->ref_bytes);
	memset(b, 0, sizeof(*b));
}

/* d->file: "registry/repo:tag", cut to fit. */
static void name_build(struct volt_diag *d, const char *where, const char *tag)
{
	if ((size_t)snprintf(d->file, sizeof(d->file), "%s:%s", where, tag) >= sizeof(d->file))
		d->file[sizeof(d->file) - 1] = '\0';
}

/* Which profile a tag names: "<profile>" or "<profile>-<id>" (pin to 1). */
static int parse_tag(const char *tag, enum volt_profile *p, bool *pin)
{
	char name[VOLT_REF_NAME_MAX], id[16];

	*p = volt_profile_from_name(tag, strlen(tag));
	*pin = false;
	if (*p != VOLT_PROFILE_INVALID)
		return 0;
	if ((size_t)snprintf(name, sizeof(name), "%s.json", tag) >= sizeof(name) ||
	    volt_ref_parse_name(name, p, id) < 0)
		return -EINVAL;
	*pin = true;
	return 0;
}

int volt_transfer_fetch_build(struct volt_cas *cas, struct volt_registry *r, struct volt_http *h,
			      const char *tag, bool store_ref, struct volt_remote_build *b,
			      struct volt_diag *d)
{
	struct mem_sink sink = { 0 };
	char *json = NULL, name[VOLT_REF_NAME_MAX], where[sizeof(d->file)];
	enum volt_profile want, got;
	size_t jlen = 0;
	bool pin;
	int ret;

	memset(b, 0, sizeof(*b));
	volt_diag_clear(d);
	volt_registry_format_addr(&r->addr, where, sizeof(where));
	name_build(d, where, tag);
	if (parse_tag(tag, &want, &pin) < 0)
		return volt_diag_set(d, -EINVAL, NULL, "not a tag <profile> or <profile>-<id>");
	ret = volt_registry_get_manifest(r, h, tag, VOLT_OCI_MANIFEST_MAX, &json, &jlen, &b->digest,
					 d);
	if (ret < 0)
		goto fail;
	ret = volt_oci_parse(&b->oci, json, jlen, d);
	free(json);
	if (ret < 0)
		goto fail_named;
	if (b->oci.ref.size > VOLT_MANIFEST_MAX_BYTES) {
		ret = volt_diag_set(d, -EFBIG, NULL, "ref blob over %u bytes",
				    VOLT_MANIFEST_MAX_BYTES);
		goto fail_named;
	}
	sink.cap = (size_t)b->oci.ref.size;
	sink.buf = malloc(sink.cap + 1);
	if (!sink.buf) {
		ret = -ENOMEM;
		goto fail_named;
	}
	ret = volt_registry_get_blob(r, h, &b->oci.ref.digest, b->oci.ref.size, mem_write,
				     mem_reset, &sink, d);
	if (ret < 0)
		goto fail_named;
	b->ref_bytes = sink.buf;
	b->ref_len = sink.len;
	sink.buf = NULL;
	if (volt_ref_parse_name(b->oci.ref.title, &got, b->ref.id) < 0 || got != want) {
		ret = volt_diag_set(d, -EINVAL, b->oci.ref.title, "the ref is not of profile %s",
				    volt_profile_name(want));
		goto fail_named;
	}
	volt_ref_make_name(got, b->ref_bytes, b->ref_len, name);
	if (strcmp(name, b->oci.ref.title) != 0 || (pin && strncmp(name, tag, strlen(tag)) != 0)) {
		ret = volt_diag_set(d, -EBADMSG, b->oci.ref.title,
				    "the ref's content does not match its id");
		goto fail_named;
	}
	b->ref.profile = got;
	snprintf(b->ref.name, sizeof(b->ref.name), "%s", name);
	ret = volt_manifest_parse(&b->m, b->ref_bytes, b->ref_len, d);
	if (ret == 0)
		ret = volt_oci_check_ref(&b->oci, &b->m, d);
	if (ret == 0 && store_ref)
		ret = volt_cas_put_ref(cas, b->ref.name, b->ref_bytes, b->ref_len);
	if (ret < 0)
		goto fail_named;
	return 0;
fail_named:
	/* Whatever the check wrote into d->file, the reader wants the registry and tag. */
	name_build(d, where, tag);
fail:
	free(sink.buf);
	volt_remote_build_release(b);
	return ret;
}

struct file_sink {
	int fd;
	uint64_t off;
	uint64_t *count;
};

static int file_write(void *ctx, const void *buf, size_t len)
{
	struct file_sink *s = ctx;
	const char *p = buf;

	while (len) {
		ssize_t n = pwrite(s->fd, p, len, (off_t)s->off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
		s->off += (uint64_t)n;
		*s->count += (uint64_t)n;
	}
	return 0;
}

static int file_reset(void *ctx)
{
	struct file_sink *s = ctx;

	s->off = 0;
	return ftruncate(s->fd, 0) < 0 ? -errno : 0;
}

struct fetch_fill {
	struct volt_registry *r;
	struct volt_http *h;
	const struct volt_oci_blob *blob;
	uint64_t *count;
	struct volt_diag *d;
};

static int fetch_fill(int fd, void *ctx)
{
	struct fetch_fill *f = ctx;
	struct file_sink s = { fd, 0, f->count };

	return volt_registry_get_blob(f->r, f->h, &f->blob->digest, f->blob->size, file_write,
				      file_reset, &s, f->d);
}

int volt_transfer_fetch_object(struct volt_cas *cas, struct volt_registry *r, struct volt_http *h,
			       const struct volt_oci_blob *blob, uint64_t *fetched_bytes,
			       struct volt_diag *d)
{
	struct fetch_fill f = { r, h, blob, fetched_bytes, d };
	char name[VOLT_HASH_HEX_MAX + 1];
	int ret;

	volt_diag_clear(d);
	ret = volt_cas_put_object(cas, &blob->object, blob->mode & 0111, fetch_fill, &f);
	if (ret < 0 && !d->reason[0]) {
		volt_hash_format(&blob->object, name);
		volt_registry_format_addr(&r->addr, d->file, sizeof(d->file));
		volt_digest_format(&blob->digest, d->entry);
		volt_diag_set(d, ret, NULL, "%s",
			      ret == -EIO ? "the blob's content does not match the object's name"
					  : strerror(-ret));
	}
	if (ret < 0 && blob->title)
		snprintf(d->entry + strlen(d->entry), sizeof(d->entry) - strlen(d->entry), " (%s)",
			 blob->title);
	return ret;
}

struct pull_ctx {
	struct volt_cas *cas;
	const struct volt_oci *oci;
	ino_t *made; /* per object: the inode this pull wrote, 0 if none */
};

static int pull_one(struct pool *p, struct volt_http *h, size_t i, struct volt_diag *d)
{
	struct pull_ctx *c = p->ctx;
	const struct volt_oci_blob *b = &c->oci->objects[i];
	uint64_t got = 0;
	struct stat st;
	int ret = volt_cas_stat_object(c->cas, &b->object, &st);

	if (ret == 0 && (uint64_t)st.st_size == b->size) {
		pool_count(p, true, b->size);
		return 0;
	}
	ret = volt_transfer_fetch_object(c->cas, p->r, h, b, &got, d);
	if (ret == 0 && volt_cas_stat_object(c->cas, &b->object, &st) == 0)
		c->made[i] = st.st_ino;
	if (ret == 0)
		pool_count(p, false, got);
	return ret;
}

/* A pull that fails leaves the store as it found it: its own new objects go. */
static void pull_undo(const struct pull_ctx *c)
{
	for (size_t i = 0; i < c->oci->n_objects; i++) {
		char name[VOLT_HASH_HEX_MAX + 1];
		struct stat st;

		if (!c->made[i])
			continue;
		volt_hash_format(&c->oci->objects[i].object, name);
		/* Only what this pull wrote: another writer's copy since then stays. */
		if (fstatat(c->cas->objects_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    st.st_ino == c->made[i])
			unlinkat(c->cas->objects_fd, name, 0);
	}
}

int volt_transfer_pull(struct volt_cas *cas, struct volt_registry *r, const char *tag, int jobs,
		       volt_transfer_progress_fn progress, void *ctx,
		       struct volt_transfer_stats *stats, struct volt_ref *ref, struct volt_diag *d)
{
	struct volt_remote_build b;
	struct volt_http h;
	int ret;

	memset(stats, 0, sizeof(*stats));
	ret = volt_http_init(&h, &r->http_opts);
	if (ret < 0)
		return ret;
	ret = volt_transfer_fetch_build(cas, r, &h, tag, false, &b, d);
	volt_http_release(&h);
	if (ret < 0)
		return ret;
	stats->blobs = b.oci.n_objects;
	for (size_t i = 0; i < b.oci.n_objects; i++)
		stats->bytes += b.oci.objects[i].size;
	{
		struct pull_ctx c = { cas, &b.oci, calloc(b.oci.n_objects + 1, sizeof(ino_t)) };
		struct pool p = {
			.n = b.oci.n_objects, .stats = stats, .r = r, .fn = pull_one, .ctx = &c
		};

		ret = c.made ? pool_run(&p, jobs, progress, ctx, d) : -ENOMEM;
		if (ret == 0)
			ret = volt_cas_put_ref(cas, b.ref.name, b.ref_bytes, b.ref_len);
		if (ret < 0 && c.made)
			pull_undo(&c);
		free(c.made);
	}
	if (ret == 0) {
		*ref = b.ref;
		if (progress)
			progress(ctx, stats);
	}
	volt_remote_build_release(&b);
	return ret;
}
