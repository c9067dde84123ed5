// SPDX-License-Identifier: MIT
/*
 * Passthrough for objects: one backing id per object inode, made from its
 * verified descriptor at the first open, shared by every open while any is
 * left, closed at the last release. The kernel fails open(2) with EIO when
 * an inode has passthrough and ordinary opens at once, or when a later open
 * names a backing id already closed: so the choice is made per inode, for
 * as long as it is open, and counted in a table of the objects open now.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "passthrough.h"
#include "voltfs.h"

bool voltfs_passthrough_on(const struct voltfs *fs)
{
	return __atomic_load_n(&fs->passthrough, __ATOMIC_RELAXED) != 0;
}

/* The kernel said no to a backing id for obj: for the mount (EPERM) or for obj alone. */
static void fall_back(struct voltfs *fs, struct voltfs_object *obj, int err)
{
	char where[512];

	if (err == -EPERM) {
		if (__atomic_exchange_n(&fs->passthrough, 0, __ATOMIC_RELAXED))
			voltfs_log(LOG_WARNING,
				   "passthrough refused (%s: CAP_SYS_ADMIN needed): every object "
				   "is served by the daemon",
				   strerror(-err));
		return;
	}
	__atomic_or_fetch(&obj->flags, VOLTFS_OBJ_NOPASS, __ATOMIC_RELAXED);
	voltfs_object_where(fs, obj, where, sizeof(where));
	voltfs_log_limited(VOLTFS_LOG_OPEN, LOG_WARNING,
			   "%s: passthrough refused (%s): this object is served by the daemon",
			   where, strerror(-err));
}

/* Where rec's entry is first looked for: Fibonacci hashing, the product's high bits. */
static uint32_t home_of(const struct voltfs_open_objs *o, uint32_t rec)
{
	return (uint32_t)(((uint64_t)(rec * 2654435761u) * (o->mask + 1)) >> 32);
}

/* rec's entry (under the lock): found, or the empty slot where it goes. */
static struct voltfs_open_obj *find(struct voltfs_open_objs *o, uint32_t rec)
{
	uint32_t i = home_of(o, rec);

	while (o->slots[i].rec1 && o->slots[i].rec1 != rec + 1)
		i = (i + 1) & o->mask;
	return &o->slots[i];
}

/* Room for one more entry, kept at most half full: 0 or -ENOMEM. */
static int grow(struct voltfs_open_objs *o)
{
	struct voltfs_open_objs n = { .count = o->count };
	uint32_t size = o->slots ? (o->mask + 1) * 2 : 64;

	if (o->slots && (o->count + 1) * 2 <= o->mask + 1)
		return 0;
	n.slots = calloc(size, sizeof(*n.slots));
	if (!n.slots)
		return -ENOMEM;
	n.mask = size - 1;
	for (uint32_t i = 0; o->slots && i <= o->mask; i++)
		if (o->slots[i].rec1)
			*find(&n, o->slots[i].rec1 - 1) = o->slots[i];
	free(o->slots);
	*o = n;
	return 0;
}

/* Take e out, moving back the entries after it that its slot displaced. */
static void remove_entry(struct voltfs_open_objs *o, struct voltfs_open_obj *e)
{
	uint32_t hole = (uint32_t)(e - o->slots), i = hole;

	for (;;) {
		uint32_t home;

		i = (i + 1) & o->mask;
		if (!o->slots[i].rec1)
			break;
		home = home_of(o, o->slots[i].rec1 - 1);
		/* Does home lie cyclically outside (hole, i]? Then the entry may fill the hole. */
		if ((i > hole && (home <= hole || home > i)) ||
		    (i < hole && home <= hole && home > i)) {
			o->slots[hole] = o->slots[i];
			hole = i;
		}
	}
	o->slots[hole] = (struct voltfs_open_obj){ 0 };
	o->count--;
}

int voltfs_backing_get(struct voltfs *fs, fuse_req_t req, uint32_t rec, int fd)
{
	struct voltfs_objects *t = &fs->objects;
	struct voltfs_open_obj *e;
	struct voltfs_object *obj;
	int id;

	pthread_mutex_lock(&t->lock);
	if (grow(&t->open) < 0) {
		pthread_mutex_unlock(&t->lock);
		return -ENOMEM;
	}
	obj = voltfs_object_record(t, rec);
	e = find(&t->open, rec);
	if (!e->rec1) {
		*e = (struct voltfs_open_obj){ .rec1 = rec + 1 };
		t->open.count++;
	}
	/*
	 * Under the table lock, the ioctl included (it only registers fd), so
	 * that no two first opens of an inode choose differently.
	 */
	if (e->opens == 0 && !(obj->flags & VOLTFS_OBJ_NOPASS) && voltfs_passthrough_on(fs)) {
		id = voltfs_pass_open(req, fd);
		if (id > 0)
			e->backing = id;
		else
			fall_back(fs, obj, id);
	}
	e->opens++;
	id = e->backing;
	pthread_mutex_unlock(&t->lock);
	VOLTFS_COUNT(fs, pass_opens, id > 0);
	VOLTFS_COUNT(fs, fallback_opens, id <= 0);
	return id;
}

void voltfs_backing_put(struct voltfs *fs, fuse_req_t req, uint32_t rec)
{
	struct voltfs_objects *t = &fs->objects;
	struct voltfs_open_obj *e;
	int id = 0;

	pthread_mutex_lock(&t->lock);
	e = t->open.slots ? find(&t->open, rec) : NULL;
	if (e && e->rec1 && --e->opens == 0) {
		id = e->backing;
		remove_entry(&t->open, e);
	}
	/*
	 * Closed under the lock: a first open racing this one must not register
	 * a second id for the inode before the kernel forgot this one.
	 */
	if (id > 0)
		voltfs_pass_close(req, id);
	pthread_mutex_unlock(&t->lock);
}

void voltfs_backing_release(struct voltfs_objects *t)
{
	free(t->open.slots);
	t->open = (struct voltfs_open_objs){ 0 };
}
