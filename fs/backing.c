// SPDX-License-Identifier: MIT
/*
 * Passthrough for objects: one backing id per object inode, made from its
 * verified descriptor at the first open, shared by every open while any is
 * left, closed at the last release. The kernel fails open(2) with EIO when
 * an inode has passthrough and ordinary opens at once, or when a later open
 * names a backing id already closed: so the choice is made per inode, for
 * as long as it is open, and counted on the object's record.
 */
#include <errno.h>
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

int voltfs_backing_get(struct voltfs *fs, fuse_req_t req, uint32_t rec, int fd)
{
	struct voltfs_objects *t = &fs->objects;
	struct voltfs_object *obj;
	int id;

	pthread_mutex_lock(&t->lock);
	obj = voltfs_object_record(t, rec);
	/*
	 * Under the table lock, the ioctl included (it only registers fd), so
	 * that no two first opens of an inode choose differently.
	 */
	if (obj->opens == 0 && !(obj->flags & VOLTFS_OBJ_NOPASS) && voltfs_passthrough_on(fs)) {
		id = voltfs_pass_open(req, fd);
		if (id > 0)
			obj->backing = id;
		else
			fall_back(fs, obj, id);
	}
	obj->opens++;
	id = obj->backing;
	pthread_mutex_unlock(&t->lock);
	VOLTFS_COUNT(fs, pass_opens, id > 0);
	VOLTFS_COUNT(fs, fallback_opens, id <= 0);
	return id;
}

void voltfs_backing_put(struct voltfs *fs, fuse_req_t req, uint32_t rec)
{
	struct voltfs_objects *t = &fs->objects;
	struct voltfs_object *obj;
	int id = 0;

	pthread_mutex_lock(&t->lock);
	obj = voltfs_object_record(t, rec);
	if (obj->opens > 0 && --obj->opens == 0) {
		id = obj->backing;
		obj->backing = 0;
	}
	/*
	 * Closed under the lock: a first open racing this one must not register
	 * a second id for the inode before the kernel forgot this one.
	 */
	if (id > 0)
		voltfs_pass_close(req, id);
	pthread_mutex_unlock(&t->lock);
}
