// SPDX-License-Identifier: MIT
/*
 * What verification found, and where it runs. A verdict, good or bad, is
 * kept per object with what identifies the very file that was hashed:
 * device, inode, size and ctime (a file's owner can set its mtime back, not
 * its ctime). Large objects are hashed off the FUSE workers, by a few
 * verifier threads that answer the open themselves: one verification of an
 * object at a time, other opens of it waiting for its answer, and the
 * workers free for everyone else's requests.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "voltfs.h"

/* An open waiting for a verification. */
struct verify_wait {
	fuse_req_t req;
	struct fuse_file_info fi; /* a copy: the kernel's lives as long as the op call */
	struct verify_wait *next;
};

/* One object to verify, and the opens that wait for it (the first asked for it). */
struct voltfs_verify_job {
	uint32_t rec;
	struct verify_wait *first, *last;
	struct voltfs_verify_job *next; /* in the queue, or among the running */
};

int voltfs_verifier_init(struct voltfs_verifier *v)
{
	memset(v, 0, sizeof(*v));
	v->mask = 255;
	v->verdicts = calloc((size_t)v->mask + 1, sizeof(*v->verdicts));
	if (!v->verdicts)
		return -ENOMEM;
	pthread_mutex_init(&v->lock, NULL);
	pthread_cond_init(&v->wake, NULL);
	return 0;
}

void voltfs_verifier_release(struct voltfs_verifier *v)
{
	free(v->verdicts);
	pthread_cond_destroy(&v->wake);
	pthread_mutex_destroy(&v->lock);
}

/* rec's entry (under the lock): its own, or the empty one where it would go. */
static struct voltfs_verdict *slot_of(const struct voltfs_verifier *v, uint32_t rec)
{
	uint32_t i = (rec * 2654435761u) & v->mask;

	while (v->verdicts[i].rec1 && v->verdicts[i].rec1 != rec + 1)
		i = (i + 1) & v->mask;
	return &v->verdicts[i];
}

/* Double the table (under the lock); on ENOMEM it stays as it is. */
static int grow(struct voltfs_verifier *v)
{
	struct voltfs_verdict *old = v->verdicts;
	uint32_t old_mask = v->mask;

	v->verdicts = calloc(((size_t)old_mask + 1) * 2, sizeof(*v->verdicts));
	if (!v->verdicts) {
		v->verdicts = old;
		return -ENOMEM;
	}
	v->mask = old_mask * 2 + 1;
	for (uint32_t i = 0; i <= old_mask; i++)
		if (old[i].rec1)
			*slot_of(v, old[i].rec1 - 1) = old[i];
	free(old);
	return 0;
}

static bool same_file(const struct voltfs_verdict *d, const struct stat *st)
{
	return d->dev == st->st_dev && d->ino == st->st_ino && d->size == st->st_size &&
	       d->ctime_sec == st->st_ctim.tv_sec && d->ctime_nsec == (uint32_t)st->st_ctim.tv_nsec;
}

int voltfs_verdict_get(struct voltfs_verifier *v, uint32_t rec, const struct stat *st)
{
	const struct voltfs_verdict *d;
	int ret = 0;

	pthread_mutex_lock(&v->lock);
	d = slot_of(v, rec);
	if (d->rec1 && same_file(d, st))
		ret = d->good ? 1 : -EIO;
	pthread_mutex_unlock(&v->lock);
	return ret;
}

void voltfs_verdict_put(struct voltfs_verifier *v, uint32_t rec, const struct stat *st, bool good)
{
	struct voltfs_verdict *d;

	pthread_mutex_lock(&v->lock);
	d = slot_of(v, rec);
	/* At most half full, so probing ends; out of memory, the verdict is not kept. */
	if (d->rec1 || (v->count + 1) * 2 <= v->mask + 1 || grow(v) == 0) {
		d = slot_of(v, rec);
		if (!d->rec1)
			v->count++;
		*d = (struct voltfs_verdict){
			.rec1 = rec + 1,
			.good = good,
			.dev = st->st_dev,
			.ino = st->st_ino,
			.size = st->st_size,
			.ctime_sec = st->st_ctim.tv_sec,
			.ctime_nsec = (uint32_t)st->st_ctim.tv_nsec,
		};
	}
	pthread_mutex_unlock(&v->lock);
}

/* The job of rec, queued or running (under the lock), or NULL. */
static struct voltfs_verify_job *job_of(const struct voltfs_verifier *v, uint32_t rec)
{
	for (struct voltfs_verify_job *j = v->queue; j; j = j->next)
		if (j->rec == rec)
			return j;
	for (struct voltfs_verify_job *j = v->running; j; j = j->next)
		if (j->rec == rec)
			return j;
	return NULL;
}

int voltfs_verify_submit(struct voltfs *fs, fuse_req_t req, const struct fuse_file_info *fi,
			 uint32_t rec)
{
	struct voltfs_verifier *v = &fs->verifier;
	struct verify_wait *w = malloc(sizeof(*w));
	struct voltfs_verify_job *j;

	if (!w)
		return -ENOMEM;
	*w = (struct verify_wait){ .req = req, .fi = *fi };
	pthread_mutex_lock(&v->lock);
	j = job_of(v, rec);
	if (!j && v->n_threads) {
		j = calloc(1, sizeof(*j));
		if (j) {
			j->rec = rec;
			/* First come, first served: the queue's tail is its last job. */
			if (v->queue_tail)
				v->queue_tail->next = j;
			else
				v->queue = j;
			v->queue_tail = j;
			pthread_cond_signal(&v->wake);
		}
	}
	if (j) {
		if (j->last)
			j->last->next = w;
		else
			j->first = w;
		j->last = w;
	}
	pthread_mutex_unlock(&v->lock);
	if (!j) {
		free(w);
		return v->n_threads ? -ENOMEM : -EAGAIN;
	}
	return 0;
}

/* Answer each open waiting on j: the first one's outcome is every waiter's. */
static void answer(struct voltfs *fs, struct voltfs_verify_job *j, int fd, bool own)
{
	struct verify_wait *w = j->first, *next;

	for (bool first = true; w; w = next, first = false) {
		bool got_own = own;
		int got = fd;

		next = w->next;
		/* The object is known now: a cached descriptor, or a good verdict. */
		if (!first && fd >= 0)
			got = voltfs_object_open(fs, j->rec, &got_own, true);
		voltfs_reply_open_object(fs, w->req, &w->fi, j->rec, got, got_own);
		free(w);
	}
	free(j);
}

static void *verifier_main(void *arg)
{
	struct voltfs *fs = arg;
	struct voltfs_verifier *v = &fs->verifier;
	struct voltfs_verify_job *j, **p;
	bool own;
	int fd;

	pthread_mutex_lock(&v->lock);
	for (;;) {
		while (!v->stop && !v->queue)
			pthread_cond_wait(&v->wake, &v->lock);
		if (v->stop)
			break;
		j = v->queue;
		v->queue = j->next;
		if (!v->queue)
			v->queue_tail = NULL;
		j->next = v->running;
		v->running = j;
		pthread_mutex_unlock(&v->lock);

		fd = voltfs_object_open(fs, j->rec, &own, true);

		pthread_mutex_lock(&v->lock);
		/* Off the running list before answering: a later open finds the verdict. */
		for (p = &v->running; *p != j; p = &(*p)->next)
			;
		*p = j->next;
		pthread_mutex_unlock(&v->lock);
		answer(fs, j, fd, own);
		pthread_mutex_lock(&v->lock);
	}
	pthread_mutex_unlock(&v->lock);
	return NULL;
}

int voltfs_verifier_start(struct voltfs *fs)
{
	struct voltfs_verifier *v = &fs->verifier;
	int ret = 0;

	pthread_mutex_lock(&v->lock);
	while (v->n_threads < VOLTFS_VERIFIERS) {
		ret = -pthread_create(&v->threads[v->n_threads], NULL, verifier_main, fs);
		if (ret < 0)
			break;
		v->n_threads++;
	}
	pthread_mutex_unlock(&v->lock);
	/* With at least one thread, large objects are verified, only more slowly. */
	return v->n_threads ? 0 : ret;
}

void voltfs_verifier_stop(struct voltfs *fs)
{
	struct voltfs_verifier *v = &fs->verifier;
	struct voltfs_verify_job *j;

	pthread_mutex_lock(&v->lock);
	v->stop = true;
	pthread_cond_broadcast(&v->wake);
	pthread_mutex_unlock(&v->lock);
	/* Each thread ends the verification it is in: a hash is not cut short. */
	for (unsigned int i = 0; i < v->n_threads; i++)
		pthread_join(v->threads[i], NULL);
	v->n_threads = 0;
	/* What was never started is refused: the mount is going away. */
	while ((j = v->queue)) {
		v->queue = j->next;
		answer(fs, j, -EIO, false);
	}
	v->queue_tail = NULL;
}
