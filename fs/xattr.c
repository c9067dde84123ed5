// SPDX-License-Identifier: MIT
/*
 * Extended attributes, as CernVM-FS offers them: facts about what is served,
 * read-only. An object is one inode in every profile, so a file carries only
 * what is true of its object (user.volt.hash); facts of a build belong to its
 * folder, and the daemon's own to the root.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "voltfs/digest.h"
#include "voltfs.h"

#define PREFIX "user.volt."

/* The names of ino's attributes, NUL-separated, into buf; their total length. */
static size_t names_of(struct voltfs *fs, const struct voltfs_ino *in, char *buf, size_t size)
{
	size_t len = 0;

#define ADD(name)                                   \
	do {                                        \
		size_t n = strlen(name) + 1;        \
		if (len + n <= size)                \
			memcpy(buf + len, name, n); \
		len += n;                           \
	} while (0)

	switch (in->kind) {
	case VOLTFS_INO_ROOT:
		ADD(PREFIX "stats");
		ADD(PREFIX "version");
		break;
	case VOLTFS_INO_OBJECT:
		ADD(PREFIX "hash");
		break;
	case VOLTFS_INO_NODE:
		if (in->node != VOLT_TREE_ROOT)
			break;
		ADD(PREFIX "ref");
		if (fs->remote.r) {
			ADD(PREFIX "registry");
			ADD(PREFIX "manifest_digest");
		}
		for (const char *p = in->l->meta; p < in->l->meta + in->l->meta_len;) {
			char name[64];

			snprintf(name, sizeof(name), PREFIX "%s", p);
			ADD(name);
			p += strlen(p) + 1;
			p += strlen(p) + 1;
		}
		break;
	default:
		break;
	}
#undef ADD
	return len;
}

/* The lazy mount's counters in user.volt.stats: their length. */
static int registry_stats(struct voltfs *fs, char *buf, size_t size)
{
	struct volt_remote_stats r;

	if (!fs->remote.r)
		return 0;
	volt_remote_get_stats(fs->remote.r, &r);
	return snprintf(buf, size,
			"fetches %llu\nfetch_bytes %llu\nfetch_failures %llu\ntag_checks %llu\n"
			"builds_fetched %llu\nprefetched %llu\nevictions %llu\ncache_bytes %llu\n",
			(unsigned long long)r.fetches, (unsigned long long)r.fetch_bytes,
			(unsigned long long)r.fetch_failures, (unsigned long long)r.tag_checks,
			(unsigned long long)r.builds, (unsigned long long)r.prefetched,
			(unsigned long long)r.evictions, (unsigned long long)r.cache_bytes);
}

/* The value of attribute name of ino into buf (size >= 1024): its length, or -ENODATA. */
static int value_of(struct voltfs *fs, const struct voltfs_ino *in, const char *name, char *buf,
		    size_t size)
{
	const char *key = name + strlen(PREFIX), *v;
	struct volt_hash h;

	if (strncmp(name, PREFIX, strlen(PREFIX)) != 0)
		return -ENODATA;
	switch (in->kind) {
	case VOLTFS_INO_ROOT:
		if (strcmp(key, "version") == 0)
			return snprintf(buf, size, "%s", VOLTFS_VERSION);
		if (strcmp(key, "stats") == 0) {
			const struct voltfs_stats *s = &fs->stats;
			struct volt_refs_stats rs;

			volt_catalog_ref_stats(fs->catalog, &rs);

			int n = snprintf(
				buf, size,
				"lookups %llu\nopens %llu\nbytes_served %llu\n"
				"verify_failures %llu\nmanifests_loaded %u\ncache_hits %llu\n"
				"verifications %llu\nown_fds %llu\nref_heads_read %llu\n"
				"refs_parsed %llu\nreads %llu\npassthrough_opens %llu\n"
				"fallback_opens %llu\n",
				(unsigned long long)__atomic_load_n(&s->lookups, __ATOMIC_RELAXED),
				(unsigned long long)__atomic_load_n(&s->opens, __ATOMIC_RELAXED),
				(unsigned long long)__atomic_load_n(&s->bytes_served,
								    __ATOMIC_RELAXED),
				(unsigned long long)__atomic_load_n(&s->verify_failures,
								    __ATOMIC_RELAXED),
				volt_catalog_loads(fs->catalog),
				(unsigned long long)__atomic_load_n(&s->cache_hits,
								    __ATOMIC_RELAXED),
				(unsigned long long)__atomic_load_n(&s->verifications,
								    __ATOMIC_RELAXED),
				(unsigned long long)__atomic_load_n(&s->own_fds, __ATOMIC_RELAXED),
				(unsigned long long)rs.heads, (unsigned long long)rs.loads,
				(unsigned long long)__atomic_load_n(&s->reads, __ATOMIC_RELAXED),
				(unsigned long long)__atomic_load_n(&s->pass_opens,
								    __ATOMIC_RELAXED),
				(unsigned long long)__atomic_load_n(&s->fallback_opens,
								    __ATOMIC_RELAXED));

			/* The lazy mount's counters after the daemon's own. */
			if (n < 0 || (size_t)n >= size)
				return n;
			return n + registry_stats(fs, buf + n, size - (size_t)n);
		}
		return -ENODATA;
	case VOLTFS_INO_OBJECT:
		if (strcmp(key, "hash") != 0)
			return -ENODATA;
		voltfs_object_hash(fs, in->obj, &h);
		volt_hash_format(&h, buf);
		return (int)strlen(buf);
	case VOLTFS_INO_NODE:
		if (in->node != VOLT_TREE_ROOT)
			return -ENODATA;
		if (strcmp(key, "ref") == 0)
			return snprintf(buf, size, "%s", in->l->ref.name);
		if (fs->remote.r && (strcmp(key, "registry") == 0 || strcmp(key, "manifest_"
										 "digest") == 0)) {
			char addr[600], digest[VOLT_DIGEST_STR_MAX];

			/* Unknown digest: a ref kept from an earlier run, no object fetched yet. */
			if (volt_remote_origin(fs->remote.r, in->l->ref.name, addr, sizeof(addr),
					       digest, sizeof(digest)) < 0 &&
			    key[0] == 'm')
				return -ENODATA;
			return snprintf(buf, size, "%s", key[0] == 'r' ? addr : digest);
		}
		v = volt_loaded_meta(in->l, key);
		return v ? snprintf(buf, size, "%s", v) : -ENODATA;
	default:
		return -ENODATA;
	}
}

int voltfs_do_getxattr(struct voltfs *fs, fuse_ino_t ino, const char *name, char *buf, size_t size)
{
	struct voltfs_ino in;
	int ret = voltfs_ino_decode(fs, ino, &in);

	if (ret < 0)
		return ret;
	/*
	 * Only user.* holds anything here. Saying so for security.* and system.*
	 * lets ls(1) stop asking for SELinux labels and ACLs on this device,
	 * where ENODATA would cost two requests for every file it lists.
	 */
	if (strncmp(name, "user.", 5) != 0)
		return -EOPNOTSUPP;
	ret = value_of(fs, &in, name, buf, size);
	return ret >= (int)size ? -E2BIG : ret;
}

int voltfs_do_listxattr(struct voltfs *fs, fuse_ino_t ino, char *buf, size_t size)
{
	struct voltfs_ino in;
	int ret = voltfs_ino_decode(fs, ino, &in);

	if (ret < 0)
		return ret;
	return (int)names_of(fs, &in, buf, size);
}
