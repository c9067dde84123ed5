// SPDX-License-Identifier: MIT
/*
 * Opening objects: one descriptor per object, shared by every open file
 * handle (reads are pread/splice at an offset, so sharing is safe), kept
 * open while idle in an LRU, at most max_fds at once. An object is checked
 * against its name before its first byte is served; a cached descriptor is
 * not checked again, and once evicted the verdict (verify.c) spares the same
 * file a second hash, good or bad. When every cached descriptor is in use,
 * an open gets one of its own.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "voltfs.h"

/* The idle LRU and the free list link slot numbers; -1 ends a list. */
static void idle_remove(struct voltfs_objects *t, int32_t i)
{
	struct voltfs_fd_slot *s = &t->slots[i];

	if (s->prev >= 0)
		t->slots[s->prev].next = s->next;
	else
		t->idle_head = s->next;
	if (s->next >= 0)
		t->slots[s->next].prev = s->prev;
	else
		t->idle_tail = s->prev;
	s->prev = s->next = -1;
}

static void idle_push(struct voltfs_objects *t, int32_t i)
{
	struct voltfs_fd_slot *s = &t->slots[i];

	s->prev = t->idle_tail;
	s->next = -1;
	if (t->idle_tail >= 0)
		t->slots[t->idle_tail].next = i;
	else
		t->idle_head = i;
	t->idle_tail = i;
}

/* A slot for a new descriptor (under the lock): free, or the least recently used idle one. */
static int32_t take_slot(struct voltfs_objects *t)
{
	int32_t i = t->free_head;

	if (i >= 0) {
		t->free_head = t->slots[i].next;
		return i;
	}
	i = t->idle_head;
	if (i < 0)
		return -1;
	idle_remove(t, i);
	close(t->slots[i].fd);
	voltfs_object_record(t, t->slots[i].rec)->slot = -1;
	return i;
}

static void free_slot(struct voltfs_objects *t, int32_t i)
{
	t->slots[i].fd = -1;
	t->slots[i].next = t->free_head;
	t->free_head = i;
}

/* What is in place of an object that is not a regular file, for the log. */
static const char *type_name(mode_t mode)
{
	return S_ISLNK(mode)	? "a symbolic link"
	       : S_ISDIR(mode)	? "a folder"
	       : S_ISFIFO(mode) ? "a FIFO"
	       : S_ISCHR(mode)	? "a character device"
	       : S_ISBLK(mode)	? "a block device"
	       : S_ISSOCK(mode) ? "a socket"
				: "of an unknown type";
}

/* st: what the store holds under the name (st_mode 0 if it was not seen). */
static int log_bad(struct voltfs *fs, const struct voltfs_object *obj, const struct volt_hash *h,
		   int err, const struct stat *st)
{
	char where[512], hex[VOLT_HASH_HEX_MAX + 1];

	voltfs_object_where(fs, obj, where, sizeof(where));
	volt_hash_format(h, hex);
	if (err == -EIO && st->st_mode && !S_ISREG(st->st_mode))
		voltfs_log_limited(VOLTFS_LOG_OPEN, LOG_ERR,
				   "%s: object %s is %s, not a regular file: not opened", where,
				   hex, type_name(st->st_mode));
	else
		voltfs_log_limited(VOLTFS_LOG_OPEN, LOG_ERR, "%s: object %s %s", where, hex,
				   err == -ENOENT ? "is missing"
				   : err == -EIO ? "is corrupt: its content does not match its name"
				   : err == -ESTALE ? "changed in the store since it was looked up"
						    : strerror(-err));
	return -EIO;
}

/* Use obj's cached descriptor (under the lock): it, or -1 if there is none. */
static int reuse(struct voltfs_objects *t, struct voltfs_object *obj)
{
	struct voltfs_fd_slot *s;

	if (obj->slot < 0)
		return -1;
	s = &t->slots[obj->slot];
	if (s->users++ == 0)
		idle_remove(t, obj->slot);
	return s->fd;
}

/* Hash fd (the file behind st) against h, and remember what it found. 0, -EIO or -errno. */
static int verify(struct voltfs *fs, uint32_t rec, int fd, const struct volt_hash *h,
		  const struct stat *st)
{
	struct stat after;
	int ret;

	VOLTFS_COUNT(fs, verifications, 1);
	ret = volt_cas_verify_fd(fd, h);
	/* Changed while it was read: what was hashed is not what is there. */
	if ((ret == 0 || ret == -EIO) && (fstat(fd, &after) < 0 || after.st_size != st->st_size ||
					  after.st_ctim.tv_sec != st->st_ctim.tv_sec ||
					  after.st_ctim.tv_nsec != st->st_ctim.tv_nsec))
		return -ESTALE;
	if (ret == -EIO)
		VOLTFS_COUNT(fs, verify_failures, 1);
	/* A read error is no verdict: the next open tries again. */
	if (ret == 0 || ret == -EIO)
		voltfs_verdict_put(&fs->verifier, rec, st, ret == 0);
	return ret;
}

/*
 * Open obj's store file and check it, outside the lock: the descriptor, or
 * -errno (not logged), -EINPROGRESS when it needs a hash that may not run
 * here (see voltfs_object_open).
 */
static int open_checked(struct voltfs *fs, uint32_t rec, struct voltfs_object *obj,
			const struct volt_hash *h, struct stat *st, bool may_hash)
{
	int fd = volt_cas_open_object(&fs->cas, h, st);
	int ret;

	/* Lazy mount: fetched (and checked) into the store, then opened like any object. */
	if (fd == -ENOENT && fs->remote.r) {
		const struct volt_loaded *l = volt_catalog_by_serial(fs->catalog, obj->serial);

		ret = l ? voltfs_remote_fetch(fs, l, h) : -ENOENT;
		if (ret == 0)
			fd = volt_cas_open_object(&fs->cas, h, st);
		/*
		 * The fetch checked these bytes against the blob's digest and the
		 * object's name before naming them: that is this file's verdict, so
		 * it is not hashed a second time.
		 */
		if (fd >= 0 && fs->verify)
			voltfs_verdict_put(&fs->verifier, rec, st, true);
	}
	ret = fd < 0 ? fd : 0;

	/* The size the kernel was told must stay true. */
	if (ret == 0 && st->st_size != obj->size)
		ret = -ESTALE;
	if (ret == 0 && fs->verify) {
		/* A verdict on this very file (device, inode, size, ctime) stands. */
		ret = voltfs_verdict_get(&fs->verifier, rec, st);
		if (ret == 0 && !may_hash && st->st_size > VOLTFS_VERIFY_INLINE_MAX)
			ret = -EINPROGRESS;
		else if (ret == 0)
			ret = verify(fs, rec, fd, h, st);
		else if (ret > 0)
			ret = 0;
	}
	if (ret < 0 && fd >= 0)
		close(fd);
	return ret < 0 ? ret : fd;
}

int voltfs_object_open(struct voltfs *fs, uint32_t rec, bool *own, bool may_hash)
{
	struct voltfs_objects *t = &fs->objects;
	struct voltfs_object *obj;
	struct volt_hash h;
	struct stat st;
	int32_t slot;
	int fd;

	*own = false;
	pthread_mutex_lock(&t->lock);
	obj = voltfs_object_record(t, rec);
	fd = reuse(t, obj);
	if (fd >= 0) {
		pthread_mutex_unlock(&t->lock);
		VOLTFS_COUNT(fs, cache_hits, 1);
		return fd;
	}
	slot = take_slot(t); /* reserved: opened and checked outside the lock */
	pthread_mutex_unlock(&t->lock);

	voltfs_object_hash(fs, obj, &h);
	fd = open_checked(fs, rec, obj, &h, &st, may_hash);
	pthread_mutex_lock(&t->lock);
	if (fd < 0) {
		if (slot >= 0)
			free_slot(t, slot);
		pthread_mutex_unlock(&t->lock);
		return fd == -EINPROGRESS ? fd : log_bad(fs, obj, &h, fd, &st);
	}
	if (slot < 0) {
		/*
		 * Every cached descriptor is in use by open files. The cache is a
		 * cache, not a quota: this handle gets a descriptor of its own,
		 * closed at its release, so one user's open files cannot make
		 * another user's open fail.
		 */
		pthread_mutex_unlock(&t->lock);
		VOLTFS_COUNT(fs, own_fds, 1);
		*own = true;
		return fd;
	}
	if (obj->slot >= 0) {
		/* Another open won the race: use its descriptor. */
		free_slot(t, slot);
		close(fd);
		fd = reuse(t, obj);
	} else {
		t->slots[slot] = (struct voltfs_fd_slot){
			.fd = fd, .users = 1, .rec = rec, .prev = -1, .next = -1
		};
		obj->slot = slot;
	}
	pthread_mutex_unlock(&t->lock);
	return fd;
}

void voltfs_object_close(struct voltfs *fs, uint32_t rec, bool drop)
{
	struct voltfs_objects *t = &fs->objects;
	struct voltfs_fd_slot *s = NULL;
	struct voltfs_object *obj;
	int fd = -1;

	pthread_mutex_lock(&t->lock);
	obj = voltfs_object_record(t, rec);
	if (obj->slot >= 0 && t->slots[obj->slot].users)
		s = &t->slots[obj->slot];
	if (s && s->users == 1 && drop && fs->drop_cas_cache)
		fd = s->fd;
	else if (s && --s->users == 0)
		idle_push(t, obj->slot);
	pthread_mutex_unlock(&t->lock);
	if (fd < 0)
		return;
	/*
	 * The last reader is gone: what it read is in the mount's page cache, so
	 * the store's copy (read-ahead, the verification pass) can go. Dropped
	 * while this handle still counts as a user: an in-use slot is never
	 * evicted, so fd is still this object's descriptor, not a reused number.
	 */
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	pthread_mutex_lock(&t->lock);
	if (--s->users == 0)
		idle_push(t, obj->slot);
	pthread_mutex_unlock(&t->lock);
}

void voltfs_object_close_own(struct voltfs *fs, int fd, bool drop)
{
	if (drop && fs->drop_cas_cache)
		posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	close(fd);
}

void voltfs_objects_close_all(struct voltfs_objects *t)
{
	for (uint32_t i = 0; i < t->max_fds; i++) {
		if (t->slots[i].fd >= 0) {
			close(t->slots[i].fd);
			voltfs_object_record(t, t->slots[i].rec)->slot = -1;
		}
		t->slots[i].fd = -1;
	}
}

int voltfs_object_let_go(void *ctx, const struct volt_hash *h)
{
	struct voltfs *fs = ctx;
	struct voltfs_objects *t = &fs->objects;
	struct voltfs_object *obj;
	int ret = 0;
	uint32_t r;

	pthread_mutex_lock(&t->lock);
	r = voltfs_object_find(t, h);
	obj = r == UINT32_MAX ? NULL : voltfs_object_record(t, r);
	if (obj && obj->slot >= 0) {
		if (t->slots[obj->slot].users) {
			ret = -EBUSY;
		} else {
			/* Idle: the descriptor goes, so removing the file frees its space. */
			idle_remove(t, obj->slot);
			close(t->slots[obj->slot].fd);
			free_slot(t, obj->slot);
			obj->slot = -1;
		}
	}
	pthread_mutex_unlock(&t->lock);
	return ret;
}
