// SPDX-License-Identifier: MIT
/*
 * Inode numbers, and the object table behind them.
 *
 * Four spaces, told apart by the number alone:
 *   1                        the mount root
 *   2 + record (< 2^32 - 1)  a CAS object, whichever profile or build names it
 *   2^32 - 1                 the "default" link at the root
 *   serial << 32 | node      node of the build loaded with that serial
 *                            (folders and synthetic files; serial >= 1)
 * Objects get the small numbers: they are what tools compare (du, tar, cp -a).
 *
 * An object is one inode wherever it appears, as the reference's hard links
 * make it, so the kernel caches its pages once. Its record is made on first
 * lookup (or listing) of it in the store and kept for the life of the mount; a build's nodes
 * live as long as the catalog keeps the build, which is as long as the mount.
 * Nothing is freed while mounted, so FORGET has nothing to do and a number
 * never changes meaning.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "voltfs.h"

#define OBJ_BASE 2u
#define CHUNK_BITS VOLTFS_OBJ_CHUNK_BITS
#define CHUNK_SIZE (1u << CHUNK_BITS)
#define OBJ_MAX (VOLTFS_OBJ_CHUNKS * CHUNK_SIZE) /* below UINT32_MAX, "default" */

int voltfs_objects_init(struct voltfs_objects *t, uint32_t max_fds, struct volt_catalog *catalog)
{
	memset(t, 0, sizeof(*t));
	t->catalog = catalog;
	t->max_fds = max_fds;
	t->mask = 1023;
	t->index = calloc((size_t)t->mask + 1, sizeof(*t->index));
	t->slots = calloc(max_fds, sizeof(*t->slots));
	if (!t->index || !t->slots) {
		free(t->index);
		free(t->slots);
		return -ENOMEM;
	}
	/* Every slot starts on the free list. */
	for (uint32_t i = 0; i < max_fds; i++) {
		t->slots[i].fd = -1;
		t->slots[i].next = i + 1 < max_fds ? (int32_t)i + 1 : -1;
	}
	t->free_head = 0;
	t->idle_head = t->idle_tail = -1;
	pthread_mutex_init(&t->lock, NULL);
	return 0;
}

void voltfs_objects_release(struct voltfs_objects *t)
{
	voltfs_backing_release(t);
	voltfs_objects_close_all(t);
	for (uint32_t i = 0; i < VOLTFS_OBJ_CHUNKS && t->chunks[i]; i++)
		free(t->chunks[i]);
	free(t->index);
	free(t->slots);
	for (uint32_t i = 0; i < 256 && t->owners[i]; i++)
		free(t->owners[i]);
	pthread_mutex_destroy(&t->lock);
}

static struct voltfs_object *record(const struct voltfs_objects *t, uint32_t i)
{
	struct voltfs_object *chunk =
		__atomic_load_n(&t->chunks[i >> CHUNK_BITS], __ATOMIC_ACQUIRE);

	return &chunk[i & (CHUNK_SIZE - 1)];
}

struct voltfs_object *voltfs_object_record(struct voltfs_objects *t, uint32_t r)
{
	return record(t, r);
}

static void hash_of(const struct voltfs_objects *t, const struct voltfs_object *o,
		    struct volt_hash *h)
{
	const struct volt_loaded *l =
		volt_catalog_by_serial((struct volt_catalog *)t->catalog, o->serial);

	volt_tree_hash(l->tree, o->node, h);
}

void voltfs_object_hash(struct voltfs *fs, const struct voltfs_object *o, struct volt_hash *h)
{
	hash_of(&fs->objects, o, h);
}

static uint32_t slot_of(const struct volt_hash *h, uint32_t mask)
{
	/* The name is already a good hash: its first bytes will do. */
	uint32_t v;

	memcpy(&v, h->bytes, sizeof(v));
	return v & mask;
}

/* Find h under the lock: its record number, or UINT32_MAX with *slot the free slot. */
static uint32_t find(const struct voltfs_objects *t, const struct volt_hash *h, uint32_t *slot)
{
	uint32_t s = slot_of(h, t->mask);

	for (;; s = (s + 1) & t->mask) {
		uint32_t r = t->index[s];
		struct volt_hash other;

		if (r == 0)
			break;
		hash_of(t, record(t, r - 1), &other);
		if (volt_hash_equal(&other, h))
			return r - 1;
	}
	*slot = s;
	return UINT32_MAX;
}

uint32_t voltfs_object_find(struct voltfs_objects *t, const struct volt_hash *h)
{
	uint32_t slot;

	return find(t, h, &slot);
}

static int grow(struct voltfs_objects *t)
{
	uint32_t mask = t->mask * 2 + 1;
	uint32_t *index = calloc((size_t)mask + 1, sizeof(*index));

	if (!index)
		return -ENOMEM;
	for (uint32_t r = 0; r < t->count; r++) {
		struct volt_hash h;
		uint32_t s;

		hash_of(t, record(t, r), &h);
		for (s = slot_of(&h, mask); index[s]; s = (s + 1) & mask)
			;
		index[s] = r + 1;
	}
	free(t->index);
	t->index = index;
	t->mask = mask;
	return 0;
}

/* Append a record (under the lock): its number, or -ENOMEM. */
static int64_t append(struct voltfs_objects *t, const struct voltfs_object *o)
{
	uint32_t r = t->count;

	if (!t->chunks[r >> CHUNK_BITS]) {
		struct voltfs_object *chunk = malloc(CHUNK_SIZE * sizeof(*chunk));

		if (!chunk)
			return -ENOMEM;
		__atomic_store_n(&t->chunks[r >> CHUNK_BITS], chunk, __ATOMIC_RELEASE);
	}
	*record(t, r) = *o;
	__atomic_store_n(&t->count, r + 1, __ATOMIC_RELEASE);
	return r;
}

fuse_ino_t voltfs_ino_of_node(const struct volt_loaded *l, uint32_t node)
{
	return (fuse_ino_t)l->serial << 32 | node;
}

int voltfs_ino_decode(struct voltfs *fs, fuse_ino_t ino, struct voltfs_ino *out)
{
	memset(out, 0, sizeof(*out));
	if (ino == FUSE_ROOT_ID) {
		out->kind = VOLTFS_INO_ROOT;
		return 0;
	}
	if (ino == VOLTFS_DEFAULT_INO) {
		out->kind = VOLTFS_INO_DEFAULT;
		return 0;
	}
	if (ino >> 32 == 0) {
		uint64_t r = ino - OBJ_BASE;

		/* Lock-free: records below count are complete and never move. */
		out->obj = r < __atomic_load_n(&fs->objects.count, __ATOMIC_ACQUIRE)
				   ? record(&fs->objects, (uint32_t)r)
				   : NULL;
		/* Only a lookup hands out a usable object number. */
		if (out->obj &&
		    !(__atomic_load_n(&out->obj->flags, __ATOMIC_ACQUIRE) & VOLTFS_OBJ_READY))
			out->obj = NULL;
		out->kind = VOLTFS_INO_OBJECT;
		out->rec = (uint32_t)r;
		return out->obj ? 0 : -ESTALE;
	}
	out->kind = VOLTFS_INO_NODE;
	out->l = volt_catalog_by_serial(fs->catalog, (uint32_t)(ino >> 32));
	out->node = (uint32_t)ino;
	if (!out->l || out->node >= volt_tree_count(out->l->tree))
		return -ESTALE;
	return 0;
}

static void log_missing(const struct volt_loaded *l, uint32_t node, const struct volt_hash *h,
			int err)
{
	char path[VOLT_PATH_MAX + 1], hex[VOLT_HASH_HEX_MAX + 1];
	uint64_t key;

	if (volt_tree_path(l->tree, node, path, sizeof(path)) < 0)
		strcpy(path, "?");
	volt_hash_format(h, hex);
	/* FNV-1a of the cause and the whole name (a manifest may name any bytes). */
	key = 0xcbf29ce484222325ull ^ (uint64_t)-err;
	for (unsigned i = 0; i < h->len; i++)
		key = (key ^ h->bytes[i]) * 0x100000001b3ull;
	voltfs_log_once(VOLTFS_LOG_LOOKUP, key, LOG_ERR, "%s/%s: object %s %s", l->dirname, path,
			hex,
			err == -ENOENT ? "is missing"
			: err == -EIO  ? "is not a regular file"
				       : strerror(-err));
}

/* The record of h, made (not yet ready) if new and add: its number, -ENOENT, or -ENOMEM. */
static int64_t find_or_add(struct voltfs_objects *t, const struct volt_hash *h, uint32_t serial,
			   uint32_t node, bool add)
{
	struct voltfs_object o = { .serial = serial, .node = node, .slot = -1 };
	uint32_t slot, r;
	int64_t ret;

	pthread_mutex_lock(&t->lock);
	if (!add) {
		r = find(t, h, &slot);
		ret = r != UINT32_MAX ? (int64_t)r : -ENOENT;
		goto out;
	}
	/* Keep the table at most 3/4 full, so probing always ends. */
	if (t->count >= OBJ_MAX ||
	    (((uint64_t)t->count + 1) * 4 > ((uint64_t)t->mask + 1) * 3 && grow(t) < 0)) {
		ret = -ENOMEM;
		goto out;
	}
	r = find(t, h, &slot);
	if (r != UINT32_MAX) {
		ret = r;
		goto out;
	}
	ret = append(t, &o);
	if (ret >= 0)
		t->index[slot] = (uint32_t)ret + 1;
out:
	pthread_mutex_unlock(&t->lock);
	return ret;
}

#define MAX_OWNERS 65536 /* 256 chunks of 256 */

/* The owner index of (uid, gid), made if new (under the lock): it, or -ENOMEM. */
static int owner_of(struct voltfs_objects *t, uid_t uid, gid_t gid)
{
	uint32_t n = t->n_owners;

	for (uint32_t i = 0; i < n; i++) {
		const struct voltfs_owner *o = &t->owners[i >> 8][i & 255];

		if (o->uid == uid && o->gid == gid)
			return (int)i;
	}
	if (n == MAX_OWNERS)
		return -ENOMEM;
	if (!t->owners[n >> 8]) {
		struct voltfs_owner *chunk = calloc(256, sizeof(*chunk));

		if (!chunk)
			return -ENOMEM;
		__atomic_store_n(&t->owners[n >> 8], chunk, __ATOMIC_RELEASE);
	}
	t->owners[n >> 8][n & 255] = (struct voltfs_owner){ uid, gid };
	t->n_owners++;
	return (int)n;
}

const struct voltfs_owner *voltfs_object_owner(struct voltfs *fs, const struct voltfs_object *o)
{
	const struct voltfs_owner *chunk =
		__atomic_load_n(&fs->objects.owners[o->owner >> 8], __ATOMIC_ACQUIRE);

	return &chunk[o->owner & 255];
}

/* The record of file node of build l if it has one, its name into h: its number, or -ENOENT. */
static int64_t record_of(struct voltfs_objects *t, const struct volt_loaded *l, uint32_t node,
			 struct volt_hash *h)
{
	volt_tree_hash(l->tree, node, h);
	return find_or_add(t, h, l->serial, node, false);
}

/*
 * The object of file node of build l. A record is made only for an object the
 * store has (or a lazy mount's registry will): any user can list names of
 * missing ones, and records are kept (issue 13 item 5). A missing one is
 * stat'ed again at each ask; log says whether to say so.
 */
static int object_get(struct voltfs *fs, const struct volt_loaded *l, uint32_t node,
		      const struct voltfs_object **obj, fuse_ino_t *ino, bool log)
{
	struct voltfs_objects *t = &fs->objects;
	struct voltfs_object *o = NULL;
	struct volt_hash h;
	struct stat st;
	int64_t r;
	int ret;

	r = record_of(t, l, node, &h);
	if (r >= 0) {
		/* Records never move and READY is published last: no lock to look. */
		o = record(t, (uint32_t)r);
		if (__atomic_load_n(&o->flags, __ATOMIC_ACQUIRE) & VOLTFS_OBJ_READY)
			goto out;
	}
	/* First touch: lstat outside the lock; a racing thread fills the same values. */
	ret = volt_cas_stat_object(&fs->cas, &h, &st);
	/* Lazy mount: the manifest says what the object will be once fetched. */
	if (ret == -ENOENT && voltfs_remote_attr(fs, l, &h, &st) == 0)
		ret = 0;
	if (ret < 0) {
		if (log)
			log_missing(l, node, &h, ret);
		return -EIO;
	}
	if (!o) {
		r = find_or_add(t, &h, l->serial, node, true);
		if (r < 0)
			return (int)r;
		o = record(t, (uint32_t)r);
	}
	pthread_mutex_lock(&t->lock);
	if (!(o->flags & VOLTFS_OBJ_READY)) {
		int owner = owner_of(t, st.st_uid, st.st_gid);

		if (owner < 0) {
			pthread_mutex_unlock(&t->lock);
			return owner;
		}
		o->owner = (uint16_t)owner;
		o->mode = (uint16_t)(S_IFREG | (st.st_mode & 0555));
		o->size = st.st_size;
		o->mtime_sec = st.st_mtim.tv_sec;
		o->mtime_nsec = (uint32_t)st.st_mtim.tv_nsec;
		__atomic_or_fetch(&o->flags, VOLTFS_OBJ_READY, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&t->lock);
out:
	*ino = OBJ_BASE + (uint64_t)r;
	*obj = o;
	return 0;
}

int voltfs_object_get(struct voltfs *fs, const struct volt_loaded *l, uint32_t node,
		      const struct voltfs_object **obj, fuse_ino_t *ino)
{
	return object_get(fs, l, node, obj, ino, true);
}

int voltfs_object_ino(struct voltfs *fs, const struct volt_loaded *l, uint32_t node,
		      fuse_ino_t *ino)
{
	const struct voltfs_object *obj;

	return object_get(fs, l, node, &obj, ino, false);
}

void voltfs_object_where(struct voltfs *fs, const struct voltfs_object *obj, char *buf, size_t size)
{
	const struct volt_loaded *l = volt_catalog_by_serial(fs->catalog, obj->serial);
	size_t n;

	if (!l) {
		snprintf(buf, size, "?");
		return;
	}
	n = (size_t)snprintf(buf, size, "%s/", l->dirname);
	if (n >= size || volt_tree_path(l->tree, obj->node, buf + n, size - n) < 0)
		snprintf(buf, size, "%s/?", l->dirname);
}
