// SPDX-License-Identifier: MIT
/*
 * The FUSE low-level operations. Each op decodes its inode, asks core or the
 * object table, and replies exactly once, in the op itself: helpers return
 * a negative errno and never reply. The one exception: an open whose object
 * must be hashed at length is answered by a verifier thread (verify.c).
 */
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "passthrough.h"
#include "voltfs.h"

/* A build never changes: what the kernel learns about it stays true. */
#define TREE_TIMEOUT (30.0 * 86400)
/* Which build serves a profile may change when refs/ does. */
#define ROOT_TIMEOUT 1.0

static struct voltfs *fs_of(fuse_req_t req)
{
	struct voltfs *fs = fuse_req_userdata(req);

	/* Any request after INIT means the kernel has taken INIT's answer. */
	if (__atomic_load_n(&fs->ra_pending, __ATOMIC_RELAXED))
		voltfs_set_readahead(fs);
	return fs;
}

/* "<profile>" follows the newest ref; "<profile>@<id>" is pinned to ref <profile>-<id>.json. */
static int voltfs_do_lookup_root(struct voltfs *fs, const char *name, struct fuse_entry_param *e)
{
	const char *at = strchr(name, '@');
	enum volt_profile p = volt_profile_from_name(name, at ? (size_t)(at - name) : strlen(name));
	const struct volt_loaded *l;
	int ret;

	e->entry_timeout = ROOT_TIMEOUT;
	if (strcmp(name, "default") == 0) {
		e->ino = VOLTFS_DEFAULT_INO;
		e->attr_timeout = ROOT_TIMEOUT;
		return voltfs_attr_of_default(fs, voltfs_default_target(fs), &e->attr);
	}
	if (p == VOLT_PROFILE_INVALID)
		return -ENOENT;
	if (at) {
		if (strlen(at + 1) != VOLT_REF_ID_LEN ||
		    strspn(at + 1, "0123456789abcdef") != VOLT_REF_ID_LEN)
			return -ENOENT;
		ret = volt_catalog_get_pinned(fs->catalog, p, at + 1, &l);
		/* Lazy mount: a pin not in refs/ yet may be in the registry. */
		if (ret == -ENOENT && voltfs_remote_pin(fs, p, at + 1) >= 0)
			ret = volt_catalog_get_pinned(fs->catalog, p, at + 1, &l);
		/* A pinned build never changes: the kernel may keep it. */
		e->entry_timeout = ret == 0 ? TREE_TIMEOUT : ROOT_TIMEOUT;
	} else {
		voltfs_remote_profile(fs, p);
		ret = volt_catalog_get(fs->catalog, p, &l);
	}
	if (ret < 0)
		return ret == -ENOENT ? ret : -EIO;
	e->ino = voltfs_ino_of_node(l, VOLT_TREE_ROOT);
	voltfs_attr_of_node(l, VOLT_TREE_ROOT, &e->attr);
	e->attr_timeout = TREE_TIMEOUT;
	return 0;
}

/* Fill e for node of build l: what a lookup of it answers. */
static int node_entry(struct voltfs *fs, const struct volt_loaded *l, uint32_t node,
		      struct fuse_entry_param *e)
{
	const struct voltfs_object *obj;
	int ret;

	e->entry_timeout = e->attr_timeout = TREE_TIMEOUT;
	if (volt_tree_kind(l->tree, node) != VOLT_NODE_FILE) {
		e->ino = voltfs_ino_of_node(l, node);
		voltfs_attr_of_node(l, node, &e->attr);
		return 0;
	}
	ret = voltfs_object_get(fs, l, node, &obj, &e->ino);
	if (ret < 0)
		return ret;
	voltfs_attr_of_object(fs, obj, e->ino, &e->attr);
	return 0;
}

/* Fill e for name in parent; -ENOENT leaves e->entry_timeout set for a cached miss. */
static int voltfs_do_lookup(struct voltfs *fs, fuse_ino_t parent, const char *name,
			    struct fuse_entry_param *e)
{
	struct voltfs_ino in;
	uint32_t child;
	int ret;

	memset(e, 0, sizeof(*e));
	ret = voltfs_ino_decode(fs, parent, &in);
	if (ret < 0)
		return ret;
	if (in.kind == VOLTFS_INO_ROOT)
		return voltfs_do_lookup_root(fs, name, e);
	if (in.kind != VOLTFS_INO_NODE)
		return -ENOTDIR;
	e->entry_timeout = TREE_TIMEOUT;
	child = volt_tree_lookup(in.l->tree, in.node, name, strlen(name));
	if (child == VOLT_TREE_NONE)
		return volt_tree_kind(in.l->tree, in.node) == VOLT_NODE_DIR ? -ENOENT : -ENOTDIR;
	return node_entry(fs, in.l, child, e);
}

static void voltfs_op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e;
	int ret = voltfs_do_lookup(fs_of(req), parent, name, &e);

	VOLTFS_COUNT(fs_of(req), lookups, 1);
	if (ret == -ENOENT && e.entry_timeout > 0) {
		/* A negative entry: the kernel remembers the miss. */
		e.ino = 0;
		fuse_reply_entry(req, &e);
	} else if (ret < 0) {
		fuse_reply_err(req, -ret);
	} else {
		fuse_reply_entry(req, &e);
	}
}

static int voltfs_do_getattr(struct voltfs *fs, fuse_ino_t ino, struct stat *st, double *timeout)
{
	struct voltfs_ino in;
	int ret = voltfs_ino_decode(fs, ino, &in);

	if (ret < 0)
		return ret;
	*timeout = TREE_TIMEOUT;
	switch (in.kind) {
	case VOLTFS_INO_ROOT:
		*timeout = ROOT_TIMEOUT;
		return voltfs_attr_of_root(fs, st);
	case VOLTFS_INO_NODE:
		voltfs_attr_of_node(in.l, in.node, st);
		return 0;
	case VOLTFS_INO_OBJECT:
		voltfs_attr_of_object(fs, in.obj, ino, st);
		return 0;
	case VOLTFS_INO_DEFAULT:
		*timeout = ROOT_TIMEOUT;
		return voltfs_attr_of_default(fs, voltfs_default_target(fs), st);
	}
	return -EIO;
}

static void voltfs_op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct stat st;
	double timeout;
	int ret;

	(void)fi;
	ret = voltfs_do_getattr(fs_of(req), ino, &st, &timeout);
	if (ret < 0)
		fuse_reply_err(req, -ret);
	else
		fuse_reply_attr(req, &st, timeout);
}

/* The descriptor an object's fi->fh holds, without its VOLTFS_FH_* flags. */
static int fh_fd(const struct fuse_file_info *fi)
{
	return (int)(uint32_t)fi->fh;
}

/* Check an open of ino: 0 for a synthetic file (fi filled), 1 for an object (in filled), or -errno. */
static int voltfs_do_open(struct voltfs *fs, fuse_ino_t ino, struct fuse_file_info *fi,
			  struct voltfs_ino *in)
{
	int ret;

	if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC))
		return -EROFS;
	ret = voltfs_ino_decode(fs, ino, in);
	if (ret < 0)
		return ret;
	if (in->kind == VOLTFS_INO_ROOT ||
	    (in->kind == VOLTFS_INO_NODE && volt_tree_kind(in->l->tree, in->node) == VOLT_NODE_DIR))
		return -EISDIR;
	if (in->kind == VOLTFS_INO_DEFAULT)
		return -ELOOP;
	if (in->kind == VOLTFS_INO_OBJECT)
		return 1;
	/* Contents never change for this inode: keep the page cache across opens. */
	fi->keep_cache = 1;
	fi->fh = (uint64_t)-1;
	return 0;
}

void voltfs_reply_open_object(struct voltfs *fs, fuse_req_t req, struct fuse_file_info *fi,
			      uint32_t rec, int fd, bool own)
{
	int id;

	if (fd < 0) {
		fuse_reply_err(req, -fd);
		return;
	}
	/* An object's bytes never change: keep the page cache across opens. */
	fi->keep_cache = 1;
	fi->fh = (uint64_t)fd | (own ? VOLTFS_FH_OWN : 0);
	/* Verified first: a corrupt object never gets a backing id. */
	id = voltfs_backing_get(fs, req, rec, fd);
	if (id < 0) {
		if (own)
			voltfs_object_close_own(fs, fd, true);
		else
			voltfs_object_close(fs, rec, true);
		fuse_reply_err(req, -id);
		return;
	}
	if (fs->remote.cache_bounded) {
		struct volt_hash h;

		voltfs_object_hash(fs, voltfs_object_record(&fs->objects, rec), &h);
		volt_remote_touch(fs->remote.r, &h); /* -o cache_max: used just now */
	}
	if (id > 0) {
		/* The kernel fails an open with a backing id and keep_cache (EIO). */
		fi->keep_cache = 0;
		fi->fh |= VOLTFS_FH_PASS;
		voltfs_pass_reply(fi, id);
	}
	fuse_reply_open(req, fi);
}

/*
 * An object larger than VOLTFS_VERIFY_INLINE_MAX that needs hashing is
 * handed to a verifier thread, which answers: the one reply is not made in
 * this op then, and the worker is free for other requests.
 */
static void voltfs_op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct voltfs *fs = fs_of(req);
	struct voltfs_ino in;
	int ret = voltfs_do_open(fs, ino, fi, &in);
	bool own;
	int fd;

	VOLTFS_COUNT(fs, opens, 1);
	if (ret < 0) {
		fuse_reply_err(req, -ret);
		return;
	}
	if (ret == 0) {
		fuse_reply_open(req, fi);
		return;
	}
	fd = voltfs_object_open(fs, in.rec, &own, false);
	if (fd == -EINPROGRESS) {
		if (voltfs_verify_submit(fs, req, fi, in.rec) == 0)
			return;
		/* No verifier to take it: hashed here, the old way. */
		fd = voltfs_object_open(fs, in.rec, &own, true);
	}
	voltfs_reply_open_object(fs, req, fi, in.rec, fd, own);
}

/*
 * Drop the store's pages behind a long read (the last reader's close drops
 * the rest). Whole 32 MiB windows, once a read reaches their end: DONTNEED
 * leaves partly covered large folios alone, and each call may drain every
 * CPU's LRU batches, which costs too much to do per request. Called before
 * the reply: until the kernel has it, the read holds the file handle, so no
 * RELEASE can close fd and let its number be reused. This read's own bytes
 * are about to be spliced: they are spared, and dropped at the last close.
 */
static void drop_served(int fd, off_t off, size_t size)
{
	const off_t window = 32 << 20;
	off_t end = (off + (off_t)size) & ~(window - 1);

	if (end > (off & ~(window - 1)) && off > end - window)
		posix_fadvise(fd, end - window, off - (end - window), POSIX_FADV_DONTNEED);
}

static void voltfs_op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			   struct fuse_file_info *fi)
{
	struct fuse_bufvec buf = FUSE_BUFVEC_INIT(size);
	const struct volt_text *t;
	struct voltfs_ino in;
	int ret;

	VOLTFS_COUNT(fs_of(req), reads, 1);
	if (fi->fh != (uint64_t)-1) {
		/* What the read returns, not what it asked for (lock-free decode). */
		if (voltfs_ino_decode(fs_of(req), ino, &in) == 0 && off < in.obj->size)
			VOLTFS_COUNT(fs_of(req), bytes_served,
				     (uint64_t)(in.obj->size - off) < size
					     ? (uint64_t)(in.obj->size - off)
					     : size);
		/* Served from the object's own descriptor: spliced where the kernel can. */
		buf.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
		buf.buf[0].fd = fh_fd(fi);
		buf.buf[0].pos = off;
		/*
		 * What earlier reads served sits in the mount's page cache
		 * (keep_cache): keeping the store's copy too would cache every
		 * object twice.
		 */
		if (fs_of(req)->drop_cas_cache)
			drop_served(buf.buf[0].fd, off, size);
		fuse_reply_data(req, &buf, FUSE_BUF_SPLICE_MOVE);
		return;
	}
	ret = voltfs_ino_decode(fs_of(req), ino, &in);
	if (ret < 0) {
		fuse_reply_err(req, -ret);
		return;
	}
	t = &in.l->synth[volt_tree_synth(in.l->tree, in.node)];
	if ((size_t)off < t->len)
		VOLTFS_COUNT(fs_of(req), bytes_served,
			     t->len - (size_t)off < size ? t->len - (size_t)off : size);
	if ((size_t)off >= t->len)
		fuse_reply_buf(req, NULL, 0);
	else
		fuse_reply_buf(req, t->buf + off,
			       t->len - (size_t)off < size ? t->len - (size_t)off : size);
}

static void voltfs_op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct voltfs *fs = fs_of(req);
	/* What the daemon served may leave the store's cache; what the kernel read may not. */
	bool drop = !(fi->fh & VOLTFS_FH_PASS);
	struct voltfs_ino in;
	bool object = fi->fh != (uint64_t)-1 && voltfs_ino_decode(fs, ino, &in) == 0 &&
		      in.kind == VOLTFS_INO_OBJECT;

	if (object)
		voltfs_backing_put(fs, req, in.rec);
	/* A shared, cached descriptor is given back, not closed; an own one is closed. */
	if (fi->fh != (uint64_t)-1 && (fi->fh & VOLTFS_FH_OWN))
		voltfs_object_close_own(fs, fh_fd(fi), drop);
	else if (object)
		voltfs_object_close(fs, in.rec, drop);
	fuse_reply_err(req, 0);
}

static void voltfs_op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct voltfs_ino in;
	int ret = voltfs_ino_decode(fs_of(req), ino, &in);

	if (ret == 0 &&
	    (in.kind == VOLTFS_INO_OBJECT || in.kind == VOLTFS_INO_DEFAULT ||
	     (in.kind == VOLTFS_INO_NODE && volt_tree_kind(in.l->tree, in.node) != VOLT_NODE_DIR)))
		ret = -ENOTDIR;
	if (ret < 0) {
		fuse_reply_err(req, -ret);
		return;
	}
	fi->cache_readdir = in.kind == VOLTFS_INO_NODE; /* a build's listing never changes */
	fi->keep_cache = fi->cache_readdir;
	fuse_reply_open(req, fi);
}

struct dirbuf {
	fuse_req_t req;
	char *buf;
	size_t size, used;
	bool plus; /* readdirplus: each entry comes with what its lookup would answer */
};

/* Add one entry; false when the buffer is full. */
static bool dirbuf_add(struct dirbuf *b, const char *name, const struct fuse_entry_param *e,
		       off_t next)
{
	size_t n, room = b->size - b->used;

	if (b->plus)
		n = fuse_add_direntry_plus(b->req, b->buf + b->used, room, name, e, next);
	else
		n = fuse_add_direntry(b->req, b->buf + b->used, room, name, &e->attr, next);
	if (n > room)
		return false;
	b->used += n;
	return true;
}

/* An entry that only names an inode and its type: the kernel looks it up itself. */
static struct fuse_entry_param bare(fuse_ino_t ino, mode_t mode)
{
	return (struct fuse_entry_param){ .attr = { .st_ino = ino, .st_mode = mode } };
}

/* Directory offsets: 0 ".", 1 "..", then 2 + k for child k (a profile at the root). */
static int voltfs_do_readdir(struct voltfs *fs, fuse_ino_t ino, off_t off, struct dirbuf *b)
{
	struct fuse_entry_param e;
	struct voltfs_ino in;
	uint32_t first, count;
	const char *target;
	int ret = voltfs_ino_decode(fs, ino, &in);

	if (ret < 0)
		return ret;
	/* Any 64-bit offset a caller seeks to is answered at once: past the end (a
	 * "negative" off_t included) is nothing, never a wrapped index. */
	if (off < 0)
		return 0;
	/* The kernel never links "." or "..": bare entries will do, even in plus mode. */
	e = bare(ino, S_IFDIR);
	if (off == 0 && !dirbuf_add(b, ".", &e, 1))
		return 0;
	e = bare(FUSE_ROOT_ID, S_IFDIR);
	if (off <= 1 && !dirbuf_add(b, "..", &e, 2))
		return 0;
	if (in.kind == VOLTFS_INO_ROOT) {
		for (uint64_t p = off > 2 ? (uint64_t)off - 2 : 0; p < VOLT_PROFILE_COUNT; p++) {
			const struct volt_loaded *l;

			voltfs_remote_profile(fs, (enum volt_profile)p);
			if (volt_catalog_get(fs->catalog, (enum volt_profile)p, &l) < 0)
				continue;
			e = bare(voltfs_ino_of_node(l, VOLT_TREE_ROOT), S_IFDIR);
			if (b->plus) {
				voltfs_attr_of_node(l, VOLT_TREE_ROOT, &e.attr);
				e.ino = e.attr.st_ino;
				e.entry_timeout = ROOT_TIMEOUT;
				e.attr_timeout = TREE_TIMEOUT;
			}
			if (!dirbuf_add(b, l->dirname, &e, (off_t)p + 3))
				return 0;
		}
		/* Asked once: it loads every profile present. */
		target = off <= VOLT_PROFILE_COUNT + 2 ? voltfs_default_target(fs) : NULL;
		if (target) {
			e = bare(VOLTFS_DEFAULT_INO, S_IFLNK);
			if (b->plus && voltfs_attr_of_default(fs, target, &e.attr) == 0) {
				e.ino = VOLTFS_DEFAULT_INO;
				e.entry_timeout = e.attr_timeout = ROOT_TIMEOUT;
			}
			dirbuf_add(b, "default", &e, VOLT_PROFILE_COUNT + 3);
		}
		return 0;
	}
	volt_tree_children(in.l->tree, in.node, &first, &count);
	for (uint64_t k = off > 2 ? (uint64_t)off - 2 : 0; k < count; k++) {
		uint32_t child = first + (uint32_t)k;
		enum volt_node_kind kind = volt_tree_kind(in.l->tree, child);
		fuse_ino_t cino = voltfs_ino_of_node(in.l, child);

		if (b->plus) {
			memset(&e, 0, sizeof(e));
			/* A bad object gets no attributes here: its own lookup says EIO.
			 * It is still listed (glibc skips an entry numbered 0), under its
			 * node's number as in a plain listing. */
			if (node_entry(fs, in.l, child, &e) < 0)
				e = bare(cino, S_IFREG);
		} else {
			if (kind == VOLT_NODE_FILE) {
				ret = voltfs_object_ino(fs, in.l, child, &cino);
				/* Missing: no object number (its lookup says EIO); the node's
				 * own number, which no object has, names the entry. */
				if (ret < 0 && ret != -EIO)
					return b->used ? 0 : ret;
			}
			e = bare(cino, kind == VOLT_NODE_DIR ? S_IFDIR : S_IFREG);
		}
		if (!dirbuf_add(b, volt_tree_name(in.l->tree, child, NULL), &e, (off_t)k + 3))
			break;
	}
	return 0;
}

static void reply_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, bool plus)
{
	struct dirbuf b = { .req = req, .size = size, .plus = plus };
	int ret;

	b.buf = malloc(size);
	if (!b.buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	ret = voltfs_do_readdir(fs_of(req), ino, off, &b);
	if (ret < 0)
		fuse_reply_err(req, -ret);
	else
		fuse_reply_buf(req, b.buf, b.used);
	free(b.buf);
}

static void voltfs_op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			      struct fuse_file_info *fi)
{
	(void)fi;
	reply_readdir(req, ino, size, off, false);
}

static void voltfs_op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
				  struct fuse_file_info *fi)
{
	(void)fi;
	reply_readdir(req, ino, size, off, true);
}

static void voltfs_op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	const char *target = ino == VOLTFS_DEFAULT_INO ? voltfs_default_target(fs_of(req)) : NULL;

	if (target)
		fuse_reply_readlink(req, target);
	else
		fuse_reply_err(req, ino == VOLTFS_DEFAULT_INO ? ENOENT : EINVAL);
}

static void voltfs_op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	char buf[4096];
	int ret = voltfs_do_getxattr(fs_of(req), ino, name, buf, sizeof(buf));

	if (ret < 0)
		fuse_reply_err(req, -ret);
	else if (size == 0)
		fuse_reply_xattr(req, (size_t)ret);
	else if ((size_t)ret > size)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, buf, (size_t)ret);
}

static void voltfs_op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	char buf[4096];
	int ret = voltfs_do_listxattr(fs_of(req), ino, buf, sizeof(buf));

	if (ret < 0)
		fuse_reply_err(req, -ret);
	else if (size == 0)
		fuse_reply_xattr(req, (size_t)ret);
	else if ((size_t)ret > size || (size_t)ret > sizeof(buf))
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, buf, (size_t)ret);
}

static void voltfs_op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs sv;

	(void)ino;
	if (fstatvfs(fs_of(req)->cas.objects_fd, &sv) < 0) {
		fuse_reply_err(req, errno);
		return;
	}
	sv.f_namemax = VOLT_NAME_MAX;
	sv.f_bfree = sv.f_bavail = 0; /* read-only: nothing is free to write */
	sv.f_ffree = sv.f_favail = 0;
	fuse_reply_statfs(req, &sv);
}

static void voltfs_op_init(void *userdata, struct fuse_conn_info *conn)
{
	struct voltfs *fs = userdata;

	/* libfuse insists that INIT repeats the max_read mount option. */
	if (fs->max_read)
		conn->max_read = fs->max_read;
	/*
	 * Reads of at most 512 KiB: libfuse splices a reply through a pipe it can
	 * grow only to /proc/sys/fs/pipe-max-size (1 MiB, less than 1 MiB of data
	 * plus a header); past that it copies every reply, for good.
	 */
	conn->max_write = 512 * 1024;
	/* Objects never change: no need to drop pages when attributes are refreshed. */
	conn->want &= ~FUSE_CAP_AUTO_INVAL_DATA;
	if (conn->capable & FUSE_CAP_SPLICE_WRITE)
		conn->want |= FUSE_CAP_SPLICE_WRITE;
	if (conn->capable & FUSE_CAP_SPLICE_MOVE)
		conn->want |= FUSE_CAP_SPLICE_MOVE;
	if (conn->capable & FUSE_CAP_PARALLEL_DIROPS)
		conn->want |= FUSE_CAP_PARALLEL_DIROPS;
	/* Objects read by the kernel from the store, where it offers that. */
	if (voltfs_passthrough_on(fs) && !voltfs_pass_init(conn)) {
		__atomic_store_n(&fs->passthrough, 0, __ATOMIC_RELAXED);
		voltfs_log(LOG_INFO, "the kernel offers no passthrough: every object is served "
				     "by the daemon");
	}
}

/* Every writing operation: the tree is read-only whatever the mount flags say. */
static void voltfs_op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
			      struct fuse_file_info *fi)
{
	(void)ino, (void)attr, (void)to_set, (void)fi;
	fuse_reply_err(req, EROFS);
}

static void voltfs_op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
			    dev_t rdev)
{
	(void)parent, (void)name, (void)mode, (void)rdev;
	fuse_reply_err(req, EROFS);
}

static void voltfs_op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	(void)parent, (void)name, (void)mode;
	fuse_reply_err(req, EROFS);
}

static void voltfs_op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	(void)parent, (void)name;
	fuse_reply_err(req, EROFS);
}

static void voltfs_op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	(void)link, (void)parent, (void)name;
	fuse_reply_err(req, EROFS);
}

static void voltfs_op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
			     fuse_ino_t newparent, const char *newname, unsigned int flags)
{
	(void)parent, (void)name, (void)newparent, (void)newname, (void)flags;
	fuse_reply_err(req, EROFS);
}

static void voltfs_op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
			   const char *newname)
{
	(void)ino, (void)newparent, (void)newname;
	fuse_reply_err(req, EROFS);
}

static void voltfs_op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
			     struct fuse_file_info *fi)
{
	(void)parent, (void)name, (void)mode, (void)fi;
	fuse_reply_err(req, EROFS);
}

static void voltfs_op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
			    struct fuse_file_info *fi)
{
	(void)ino, (void)buf, (void)size, (void)off, (void)fi;
	fuse_reply_err(req, EROFS);
}

static void voltfs_op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
			       size_t size, int flags)
{
	(void)ino, (void)name, (void)value, (void)size, (void)flags;
	fuse_reply_err(req, EROFS);
}

static void voltfs_op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	(void)ino, (void)name;
	fuse_reply_err(req, EROFS);
}

static void voltfs_op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset,
				off_t length, struct fuse_file_info *fi)
{
	(void)ino, (void)mode, (void)offset, (void)length, (void)fi;
	fuse_reply_err(req, EROFS);
}

const struct fuse_lowlevel_ops voltfs_ops = {
	.init = voltfs_op_init,
	.lookup = voltfs_op_lookup,
	.getattr = voltfs_op_getattr,
	.open = voltfs_op_open,
	.read = voltfs_op_read,
	.release = voltfs_op_release,
	.opendir = voltfs_op_opendir,
	.readdir = voltfs_op_readdir,
	.readdirplus = voltfs_op_readdirplus,
	.statfs = voltfs_op_statfs,
	.readlink = voltfs_op_readlink,
	.getxattr = voltfs_op_getxattr,
	.listxattr = voltfs_op_listxattr,
	.setattr = voltfs_op_setattr,
	.mknod = voltfs_op_mknod,
	.mkdir = voltfs_op_mkdir,
	.unlink = voltfs_op_unlink,
	.rmdir = voltfs_op_unlink,
	.symlink = voltfs_op_symlink,
	.rename = voltfs_op_rename,
	.link = voltfs_op_link,
	.create = voltfs_op_create,
	.write = voltfs_op_write,
	.setxattr = voltfs_op_setxattr,
	.removexattr = voltfs_op_removexattr,
	.fallocate = voltfs_op_fallocate,
};
