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
#include "voltfs/remote.h"

/*
 * An object as first seen: its attributes never change (an object's bytes
 * never do). 40 bytes: a host can hold millions. The hash is not kept here:
 * it lives in the tree of the build that first named the object, and builds
 * live as long as the mount. Owners are few: an index into the owner table.
 */
struct voltfs_object {
	uint32_t serial, node; /* where it was first looked up: its hash, and log lines */
	int64_t size;
	int64_t mtime_sec;
	uint32_t mtime_nsec;
	uint16_t mode;
	uint16_t owner; /* index into voltfs_objects.owners */
	uint8_t flags;	/* VOLTFS_OBJ_* */
	int32_t slot;	/* its descriptor's slot, -1 when not open */
};

/*
 * Passthrough (backing.c): the objects open now, each with its open file
 * handles and their backing id while they have one (0: served by the
 * daemon). The kernel wants every open of an inode alike. Open addressing
 * on the record number, under the object table's lock; kept off the
 * records, which are many, while few objects are open at once.
 */
struct voltfs_open_obj {
	uint32_t rec1; /* record number + 1; 0 = empty */
	uint32_t opens;
	int32_t backing;
};

struct voltfs_open_objs {
	struct voltfs_open_obj *slots;
	uint32_t mask, count;
};

struct voltfs_owner {
	uid_t uid;
	gid_t gid;
};

#define VOLTFS_OBJ_READY 1u  /* the attributes are filled (from lstat of the object) */
#define VOLTFS_OBJ_NOPASS 4u /* the kernel refused a backing id for it: served by the daemon */

/* A cached object descriptor. */
struct voltfs_fd_slot {
	int fd;
	uint32_t users;	    /* open file handles on fd; 0 = idle, in the LRU */
	uint32_t rec;	    /* the object */
	int32_t prev, next; /* idle LRU, or the free list (next only); -1 ends */
};

#define VOLTFS_OBJ_CHUNK_BITS 12
#define VOLTFS_OBJ_CHUNKS (1u << 14) /* at most 2^26 objects in one mount's life */

struct voltfs_objects {
	pthread_mutex_t lock; /* the index, new records, descriptor slots */
	uint32_t *index;      /* open addressing on the hash: record numbers + 1, 0 = empty */
	uint32_t mask;
	uint32_t count; /* published with release: records below it are readable */
	/* Records never move and chunks are never replaced: readers need no lock. */
	struct voltfs_object *chunks[VOLTFS_OBJ_CHUNKS];
	/* Descriptor cache: max_fds slots. */
	struct voltfs_fd_slot *slots;
	uint32_t max_fds;
	int32_t free_head, idle_head, idle_tail;
	const struct volt_catalog *catalog; /* where hashes are looked up */
	struct voltfs_open_objs open;	    /* passthrough's per-inode state (backing.c) */
	/* The distinct (uid, gid) of objects (a store has one or two), in chunks that never move. */
	struct voltfs_owner *owners[256];
	uint32_t n_owners;
};

/* Counters shown in user.volt.stats; updated with relaxed atomics. */
struct voltfs_stats {
	uint64_t lookups;
	uint64_t opens;
	uint64_t bytes_served;
	uint64_t verify_failures;
	uint64_t cache_hits;	/* opens served by a cached descriptor */
	uint64_t verifications; /* objects hashed to check them */
	uint64_t own_fds;	/* opens given a descriptor of their own: every cached one in use */
	uint64_t reads;		/* READ requests the daemon answered */
	uint64_t pass_opens;	/* object opens the kernel reads itself (passthrough) */
	uint64_t fallback_opens; /* object opens served by the daemon */
};

/*
 * What a verification found about an object's store file, kept for as long
 * as that very file is there: the same device, inode, size and ctime.
 */
struct voltfs_verdict {
	uint32_t rec1; /* the object's record number + 1; 0 = an empty entry */
	bool good;     /* its content matched its name (else it did not) */
	uint32_t ctime_nsec;
	int64_t ctime_sec;
	int64_t size;
	dev_t dev;
	ino_t ino;
};

/* Verifier threads: at most this many hash at once, off the FUSE workers. */
#define VOLTFS_VERIFIERS 2
/* Objects up to this size are hashed in the worker: that costs less than a hand-off. */
#define VOLTFS_VERIFY_INLINE_MAX (1 << 20)

struct voltfs_verify_job;

struct voltfs_verifier {
	pthread_mutex_t lock;		 /* everything below */
	pthread_cond_t wake;		 /* a job was queued, or stop */
	struct voltfs_verdict *verdicts; /* open addressing on the record number */
	uint32_t mask, count;
	struct voltfs_verify_job *queue, *queue_tail; /* waiting for a thread */
	struct voltfs_verify_job *running;	      /* being hashed */
	pthread_t threads[VOLTFS_VERIFIERS];
	unsigned int n_threads;
	bool stop;
};

struct voltfs_watch {
	int ifd;     /* inotify on refs/ */
	int stop[2]; /* a pipe that tells the thread to end */
	pthread_t thread;
	bool running;
};

/* A registry error as logged: kept whole, so a long one is not taken for a new one each time. */
#define VOLTFS_REMOTE_ERROR_MAX 1100

/* -o registry=: the lazy mount's registries and when to look at them again. */
struct voltfs_remote {
	struct volt_remote *r; /* NULL: no registry, the store is all there is */
	unsigned int refresh_s;
	unsigned int prefetch; /* background fetches at a time of a build that starts serving */
	bool cache_bounded;    /* -o cache_max: opens tell the cache what was used */
	uid_t uid;	       /* the store's owner: of objects not fetched yet */
	gid_t gid;
	bool synced[VOLT_PROFILE_COUNT]; /* its tag resolved once: lookups need not wait */
	pthread_mutex_t profile_lock[VOLT_PROFILE_COUNT];
	char last_error[VOLT_PROFILE_COUNT + 1]
		       [VOLTFS_REMOTE_ERROR_MAX]; /* said once until it changes */
	pthread_mutex_t lock;			  /* stop, wake */
	pthread_cond_t wake;
	bool stop, running;
	pthread_t thread;
};

/* -o kvm: auto asks /dev/kvm each time the default link is resolved. */
enum voltfs_kvm {
	VOLTFS_KVM_AUTO,
	VOLTFS_KVM_YES,
	VOLTFS_KVM_NO,
};

struct voltfs {
	struct volt_cas cas;
	struct volt_catalog *catalog;
	struct voltfs_objects objects;
	char *mountpoint; /* absolute */
	bool foreground;
	bool verify;	     /* check each object against its name before serving it */
	bool drop_cas_cache; /* drop the store's pages once served: cached once, in the mount */
	unsigned int readahead_kb; /* the mount's read-ahead, set after INIT */
	int ra_pending;		   /* not set yet */
	int ra_fd; /* its bdi's read_ahead_kb, opened at mount (a confined daemon cannot) */
	unsigned int max_read; /* -o max_read, 0 if not given */
	enum voltfs_kvm kvm;   /* may the default link pick a KVM profile */
	/*
	 * May objects be passed through? Off with -o nopassthrough or a libfuse
	 * older than 3.17, cleared when INIT does not offer it or the kernel
	 * refuses a backing id with EPERM. While it is on, the daemon needs
	 * CAP_SYS_ADMIN (voltfs_passthrough_on). Read and cleared atomically.
	 */
	int passthrough;
	struct fuse_session *se;
	struct voltfs_stats stats;
	struct voltfs_watch watch;
	struct voltfs_remote remote;
	struct voltfs_verifier verifier;
};

#define VOLTFS_COUNT(fs, field, n) __atomic_fetch_add(&(fs)->stats.field, (n), __ATOMIC_RELAXED)

/* inode.c: what an inode number stands for. */
enum voltfs_ino_kind {
	VOLTFS_INO_ROOT,
	VOLTFS_INO_NODE,    /* a folder or synthetic file of one loaded build */
	VOLTFS_INO_OBJECT,  /* a CAS object, in every profile and build alike */
	VOLTFS_INO_DEFAULT, /* the "default" link at the root */
};

#define VOLTFS_DEFAULT_INO ((fuse_ino_t)UINT32_MAX)

struct voltfs_ino {
	enum voltfs_ino_kind kind;
	const struct volt_loaded *l;	 /* NODE */
	uint32_t node;			 /* NODE */
	const struct voltfs_object *obj; /* OBJECT */
	uint32_t rec;			 /* OBJECT: its record number */
};

int voltfs_objects_init(struct voltfs_objects *t, uint32_t max_fds, struct volt_catalog *catalog);
void voltfs_objects_release(struct voltfs_objects *t);

/* The inode number of node of build l. */
fuse_ino_t voltfs_ino_of_node(const struct volt_loaded *l, uint32_t node);

/* Decode ino: 0, or -ESTALE for a number this mount never gave out. */
int voltfs_ino_decode(struct voltfs *fs, fuse_ino_t ino, struct voltfs_ino *out);

/*
 * The inode number of the object of file node of build l: as voltfs_object_get,
 * but -EIO for a missing object is not logged (its lookup says so).
 */
int voltfs_object_ino(struct voltfs *fs, const struct volt_loaded *l, uint32_t node,
		      fuse_ino_t *ino);

/*
 * The object of file node of build l, stat'ed in the store on first use.
 * Returns its inode number (> 0) and *obj, or -EIO for a missing or
 * non-regular object (logged with profile, path and hash; no record is kept
 * for it), or -ENOMEM.
 */
int voltfs_object_get(struct voltfs *fs, const struct volt_loaded *l, uint32_t node,
		      const struct voltfs_object **obj, fuse_ino_t *ino);

/* object.c: opening objects through the descriptor cache. */

/*
 * A descriptor on the object of rec for one open file handle: cached, or
 * opened (and verified first, unless -o noverify; a verdict on this very
 * store file is reused). -EIO for a missing, changed, corrupt or non-regular
 * object (logged), or -errno (-EMFILE when the process is out of
 * descriptors). Without may_hash, an object larger than
 * VOLTFS_VERIFY_INLINE_MAX that needs hashing gives -EINPROGRESS (nothing
 * held): hand the open to voltfs_verify_submit. When every one of the
 * max_fds cached descriptors is in use, the handle gets a descriptor of its
 * own (*own = true). Give a cached one back with voltfs_object_close, close
 * an own one with voltfs_object_close_own; drop: the daemon served the
 * object, so the store's pages may go (not when the kernel read the store
 * file itself: its pages are then the only copy cached). Thread-safe.
 */
int voltfs_object_open(struct voltfs *fs, uint32_t rec, bool *own, bool may_hash);
void voltfs_object_close(struct voltfs *fs, uint32_t rec, bool drop);
void voltfs_object_close_own(struct voltfs *fs, int fd, bool drop);

/*
 * fi->fh of an object: its descriptor, this bit if the handle owns it, and
 * VOLTFS_FH_PASS if the kernel reads the object itself (a backing id).
 */
#define VOLTFS_FH_OWN (1ull << 32)
#define VOLTFS_FH_PASS (1ull << 33)

/* backing.c: one backing id per object inode, shared by its opens. */

/*
 * Count a new open of rec, whose descriptor fd is verified, and pick how it
 * is served: a backing id (> 0) for fi->backing_id, or 0 for the daemon. An
 * inode with a backing id keeps it for every open until its last release;
 * one open by the daemon keeps the others by the daemon too. Logs once when
 * the mount or the object falls back. Thread-safe.
 */
int voltfs_backing_get(struct voltfs *fs, fuse_req_t req, uint32_t rec, int fd);
/* Free the table of open objects (at unmount). */
void voltfs_backing_release(struct voltfs_objects *t);
/* The release of one open counted by voltfs_backing_get: the last closes the backing id. */
void voltfs_backing_put(struct voltfs *fs, fuse_req_t req, uint32_t rec);

/*
 * Is passthrough still possible for this mount? The daemon must then keep
 * CAP_SYS_ADMIN (for FUSE_DEV_IOC_BACKING_OPEN). Before INIT: was it asked for.
 */
bool voltfs_passthrough_on(const struct voltfs *fs);

/* Close every cached descriptor (at unmount). */
void voltfs_objects_close_all(struct voltfs_objects *t);

/* The owner of o (lock-free: an owner entry never changes once made). */
const struct voltfs_owner *voltfs_object_owner(struct voltfs *fs, const struct voltfs_object *o);

/* The record number of the object named h, or UINT32_MAX; under the table lock. */
uint32_t voltfs_object_find(struct voltfs_objects *t, const struct volt_hash *h);
/*
 * -o cache_max's question (a volt_remote_release_fn, ctx the struct voltfs):
 * 0 when no file handle has h open (an idle cached descriptor is closed
 * first), -EBUSY when one has.
 */
int voltfs_object_let_go(void *ctx, const struct volt_hash *h);

/* The record behind an object number, under the table lock (object.c uses it). */
struct voltfs_object *voltfs_object_record(struct voltfs_objects *t, uint32_t r);
/* The object's name. */
void voltfs_object_hash(struct voltfs *fs, const struct voltfs_object *o, struct volt_hash *h);

/* verify.c: verdicts, and the verifier threads. */
int voltfs_verifier_init(struct voltfs_verifier *v);
void voltfs_verifier_release(struct voltfs_verifier *v);
/* 1: st is the file found good; -EIO: the file found bad; 0: no verdict on this file. */
int voltfs_verdict_get(struct voltfs_verifier *v, uint32_t rec, const struct stat *st);
/* Remember what hashing the file behind st found (not kept if out of memory). */
void voltfs_verdict_put(struct voltfs_verifier *v, uint32_t rec, const struct stat *st, bool good);
/*
 * Queue the open req of object rec for a verifier thread, which answers it
 * (voltfs_reply_open_object); an open of an object already queued or being
 * hashed waits for that one's answer. 0 (req is the verifier's now), or
 * -ENOMEM / -EAGAIN (no verifier thread): the caller still owns req.
 */
int voltfs_verify_submit(struct voltfs *fs, fuse_req_t req, const struct fuse_file_info *fi,
			 uint32_t rec);
/* Start the threads (after daemonizing); stop them, refusing what is still queued. */
int voltfs_verifier_start(struct voltfs *fs);
void voltfs_verifier_stop(struct voltfs *fs);

/* attr.c: what stat says of each kind of inode. */
void voltfs_attr_of_node(const struct volt_loaded *l, uint32_t node, struct stat *st);
void voltfs_attr_of_object(struct voltfs *fs, const struct voltfs_object *o, fuse_ino_t ino,
			   struct stat *st);
int voltfs_attr_of_root(struct voltfs *fs, struct stat *st);
/* SelectProfile's choice among the profiles present, or NULL: the "default" link's target. */
const char *voltfs_default_target(struct voltfs *fs);
/* The link to target (what voltfs_default_target said; NULL gives -ENOENT). */
int voltfs_attr_of_default(struct voltfs *fs, const char *target, struct stat *st);

/* main.c: the mount's read-ahead, once INIT is done (the first request after it calls this). */
/* Open the mount's read_ahead_kb right after mounting; written once INIT is done. */
void voltfs_readahead_prepare(struct voltfs *fs);
void voltfs_set_readahead(struct voltfs *fs);

/* xattr.c: values into buf (at least 1 KiB): a length, -ENODATA, or -errno. */
int voltfs_do_getxattr(struct voltfs *fs, fuse_ino_t ino, const char *name, char *buf, size_t size);
/* All names, NUL-separated, into buf when they fit: their total length. */
int voltfs_do_listxattr(struct voltfs *fs, fuse_ino_t ino, char *buf, size_t size);

/* watch.c: live updates of refs/. */
int voltfs_watch_start(struct voltfs *fs, const char *refs_dir);
void voltfs_watch_stop(struct voltfs *fs);

/* remote.c: the lazy mount (-o registry=); each a no-op (or -ENOENT) without one. */
int voltfs_remote_start(struct voltfs *fs);
void voltfs_remote_stop(struct voltfs *fs);
/* Resolve p's tag once before its first lookup (the refresh thread does the rest). */
void voltfs_remote_profile(struct voltfs *fs, enum volt_profile p);
/* Fetch the pin <p>-<id> into refs/: 1 if it is there now, or -errno. */
int voltfs_remote_pin(struct voltfs *fs, enum volt_profile p, const char *id);
/* What stat says of object h of build l before it is fetched: 0 or -ENOENT. */
int voltfs_remote_attr(struct voltfs *fs, const struct volt_loaded *l, const struct volt_hash *h,
		       struct stat *st);
/* Fetch object h of build l into the store: 0, or -errno (logged). */
int voltfs_remote_fetch(struct voltfs *fs, const struct volt_loaded *l, const struct volt_hash *h);

/* log.c */
/* syslog priority of "error", "warning", "info" or "debug"; -1 for anything else. */
int voltfs_log_level(const char *name);
/* Where lines go (stderr in the foreground, else syslog) and the least urgent one kept. */
void voltfs_log_init(bool foreground, int level);
void voltfs_log(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Lines any user can cause, as often as they like: rate-limited per class. */
enum voltfs_log_class {
	VOLTFS_LOG_LOOKUP, /* a missing or non-regular object looked up */
	VOLTFS_LOG_OPEN,   /* an open that failed (corrupt, changed, out of descriptors) */
	VOLTFS_LOG_CLASSES
};
void voltfs_log_limited(enum voltfs_log_class c, int prio, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The same, said once per key (a cause and its object) while the key is remembered. */
void voltfs_log_once(enum voltfs_log_class c, uint64_t key, int prio, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void voltfs_log_report(void *ctx, const struct volt_diag *d);
/* The path of an object for log lines: "<profile>/<path>". */
void voltfs_object_where(struct voltfs *fs, const struct voltfs_object *obj, char *buf,
			 size_t size);

/* ops.c */
extern const struct fuse_lowlevel_ops voltfs_ops;
/*
 * Answer the open req of object rec: fd and own as voltfs_object_open gave
 * them (a negative fd is the error), through passthrough where the kernel
 * takes a backing id. From any thread: verifiers call it too.
 */
void voltfs_reply_open_object(struct voltfs *fs, fuse_req_t req, struct fuse_file_info *fi,
			      uint32_t rec, int fd, bool own);

#endif
