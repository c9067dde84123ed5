/* SPDX-License-Identifier: MIT */
/*
 * Private to the FUSE binding: the daemon's state, inode numbers and the
 * object table, logging, and the operation table.
 */
#ifndef VOLTFS_FS_H
#define VOLTFS_FS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include <fuse_lowlevel.h>

#include "voltfs/cas.h"
#include "voltfs/catalog.h"

/* An object as first seen: its attributes never change (an object's bytes never do). */
struct voltfs_object {
	struct volt_hash hash;
	bool ready;            /* the fields below are filled (from lstat of the object) */
	uint32_t serial, node; /* where it was first looked up, for log lines */
	dev_t dev;
	ino_t cas_ino;
	mode_t mode;
	uid_t uid;
	gid_t gid;
	off_t size;
	blkcnt_t blocks;
	struct timespec mtime, ctime;
};

struct voltfs_objects {
	pthread_mutex_t lock;
	uint32_t *index; /* open addressing on the hash: record numbers + 1, 0 = empty */
	uint32_t mask, count;
	struct voltfs_object **chunks; /* records never move: readers need no lock */
	uint32_t n_chunks;
};

struct voltfs {
	struct volt_cas cas;
	struct volt_catalog *catalog;
	struct voltfs_objects objects;
	char *mountpoint; /* absolute */
	bool foreground;
	struct fuse_session *se;
};

/* inode.c: what an inode number stands for. */
enum voltfs_ino_kind {
	VOLTFS_INO_ROOT,
	VOLTFS_INO_NODE,   /* a folder or synthetic file of one loaded build */
	VOLTFS_INO_OBJECT, /* a CAS object, in every profile and build alike */
};

struct voltfs_ino {
	enum voltfs_ino_kind kind;
	const struct volt_loaded *l; /* NODE */
	uint32_t node;               /* NODE */
	const struct voltfs_object *obj; /* OBJECT */
};

int voltfs_objects_init(struct voltfs_objects *t);
void voltfs_objects_release(struct voltfs_objects *t);

/* The inode number of node of build l. */
fuse_ino_t voltfs_ino_of_node(const struct volt_loaded *l, uint32_t node);

/* Decode ino: 0, or -ESTALE for a number this mount never gave out. */
int voltfs_ino_decode(struct voltfs *fs, fuse_ino_t ino, struct voltfs_ino *out);

/* The inode number of the object of file node of build l, without touching the store. */
int voltfs_object_ino(struct voltfs *fs, const struct volt_loaded *l, uint32_t node,
		      fuse_ino_t *ino);

/*
 * The object of file node of build l, stat'ed in the store on first use.
 * Returns its inode number (> 0) and *obj, or -EIO for a missing or
 * non-regular object (logged with profile, path and hash), or -ENOMEM.
 */
int voltfs_object_get(struct voltfs *fs, const struct volt_loaded *l, uint32_t node,
		      const struct voltfs_object **obj, fuse_ino_t *ino);

/* log.c */
void voltfs_log_init(bool foreground);
void voltfs_log(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void voltfs_log_report(void *ctx, const struct volt_diag *d);
/* The path of an object for log lines: "<profile>/<path>". */
void voltfs_object_where(struct voltfs *fs, const struct voltfs_object *obj, char *buf,
			 size_t size);

/* ops.c */
extern const struct fuse_lowlevel_ops voltfs_ops;

#endif
