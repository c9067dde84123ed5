// SPDX-License-Identifier: MIT
/*
 * Opening objects: one descriptor per object, shared by every open file
 * handle (reads are pread/splice at an offset, so sharing is safe), kept
 * open while idle in an LRU, at most max_fds at once. An object is checked
 * against its name before its first byte is served; the check is
 * remembered with the descriptor, so a cached object is not hashed again.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "voltfs.h"

/* Idle-list links are record numbers + 1; 0 ends the list. */
static void idle_remove(struct voltfs_objects *t, struct voltfs_object *o)
{
	uint32_t self = o->rec + 1;

	if (o->idle_prev)
		voltfs_object_record(t, o->idle_prev - 1)->idle_next = o->idle_next;
	else if (t->idle_head == self)
		t->idle_head = o->idle_next;
	if (o->idle_next)
		voltfs_object_record(t, o->idle_next - 1)->idle_prev = o->idle_prev;
	else if (t->idle_tail == self)
		t->idle_tail = o->idle_prev;
	o->idle_prev = o->idle_next = 0;
}

static void idle_push(struct voltfs_objects *t, struct voltfs_object *o)
{
	uint32_t self = o->rec + 1;

	o->idle_prev = t->idle_tail;
	o->idle_next = 0;
	if (t->idle_tail)
		voltfs_object_record(t, t->idle_tail - 1)->idle_next = self;
	else
		t->idle_head = self;
	t->idle_tail = self;
}

/* Make room for one more descriptor (under the lock): the least recently used idle one goes. */
static bool make_room(struct voltfs_objects *t)
{
	struct voltfs_object *victim;

	if (t->open_fds < t->max_fds)
		return true;
	if (!t->idle_head)
		return false;
	victim = voltfs_object_record(t, t->idle_head - 1);
	idle_remove(t, victim);
	close(victim->fd);
	victim->fd = -1;
	t->open_fds--;
	return true;
}

static int log_bad(struct voltfs *fs, const struct voltfs_object *obj, int err)
{
	char where[512], hex[VOLT_HASH_HEX_MAX + 1];

	voltfs_object_where(fs, obj, where, sizeof(where));
	volt_hash_format(&obj->hash, hex);
	voltfs_log(LOG_ERR, "%s: object %s %s", where, hex,
		   err == -ENOENT ? "is missing"
		   : err == -EIO  ? "is corrupt: its content does not match its name"
		   : err == -ESTALE ? "changed size in the store"
				    : strerror(-err));
	return -EIO;
}

int voltfs_object_open(struct voltfs *fs, const struct voltfs_object *cobj)
{
	struct voltfs_objects *t = &fs->objects;
	struct voltfs_object *obj = voltfs_object_record(t, cobj->rec);
	struct stat st;
	int fd, ret;

	pthread_mutex_lock(&t->lock);
	if (obj->fd >= 0) {
		if (obj->users++ == 0)
			idle_remove(t, obj);
		fd = obj->fd;
		pthread_mutex_unlock(&t->lock);
		VOLTFS_COUNT(fs, cache_hits, 1);
		return fd;
	}
	if (!make_room(t)) {
		pthread_mutex_unlock(&t->lock);
		voltfs_log(LOG_WARNING, "all %u object descriptors in use (-o max_fds)", t->max_fds);
		return -EMFILE;
	}
	t->open_fds++; /* reserved: opened and checked outside the lock */
	pthread_mutex_unlock(&t->lock);

	fd = volt_cas_open_object(&fs->cas, &obj->hash, &st);
	ret = fd < 0 ? fd : 0;
	/* The size the kernel was told must stay true. */
	if (ret == 0 && st.st_size != obj->size)
		ret = -ESTALE;
	if (ret == 0 && fs->verify) {
		ret = volt_cas_verify_fd(fd, &obj->hash);
		if (ret == -EIO)
			VOLTFS_COUNT(fs, verify_failures, 1);
	}

	pthread_mutex_lock(&t->lock);
	if (ret < 0) {
		t->open_fds--;
		pthread_mutex_unlock(&t->lock);
		if (fd >= 0)
			close(fd);
		return log_bad(fs, obj, ret);
	}
	if (obj->fd >= 0) {
		/* Another open won the race: use its descriptor. */
		t->open_fds--;
		close(fd);
		if (obj->users++ == 0)
			idle_remove(t, obj);
		fd = obj->fd;
	} else {
		obj->fd = fd;
		obj->users = 1;
		obj->verified = fs->verify;
	}
	pthread_mutex_unlock(&t->lock);
	return fd;
}

void voltfs_object_close(struct voltfs *fs, const struct voltfs_object *cobj)
{
	struct voltfs_objects *t = &fs->objects;
	struct voltfs_object *obj = voltfs_object_record(t, cobj->rec);

	pthread_mutex_lock(&t->lock);
	if (obj->users && --obj->users == 0)
		idle_push(t, obj);
	pthread_mutex_unlock(&t->lock);
}

void voltfs_objects_close_all(struct voltfs_objects *t)
{
	for (uint32_t r = 0; r < t->count; r++) {
		struct voltfs_object *o = voltfs_object_record(t, r);

		if (o->fd >= 0)
			close(o->fd);
		o->fd = -1;
	}
	t->open_fds = 0;
	t->idle_head = t->idle_tail = 0;
}
