// SPDX-License-Identifier: MIT
/*
 * What stat(2) says: the attributes of the root, of a build's folders and
 * synthetic files, of objects, and of the "default" link.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "voltfs.h"

void voltfs_attr_of_node(const struct volt_loaded *l, uint32_t node, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = voltfs_ino_of_node(l, node);
	st->st_uid = getuid();
	st->st_gid = getgid();
	st->st_atim = st->st_mtim = st->st_ctim = l->created;
	if (volt_tree_kind(l->tree, node) == VOLT_NODE_DIR) {
		st->st_mode = S_IFDIR | 0555;
		st->st_nlink = 2 + volt_tree_subdirs(l->tree, node);
		st->st_size = 4096;
	} else {
		const struct volt_text *t = &l->synth[volt_tree_synth(l->tree, node)];

		st->st_mode = S_IFREG | 0444;
		st->st_nlink = 1;
		st->st_size = (off_t)t->len;
	}
	st->st_blocks = (st->st_size + 511) / 512;
}

void voltfs_attr_of_object(struct voltfs *fs, const struct voltfs_object *o, fuse_ino_t ino,
			   struct stat *st)
{
	const struct voltfs_owner *owner = voltfs_object_owner(fs, o);

	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_mode = o->mode;
	st->st_nlink = 1;
	st->st_uid = owner->uid;
	st->st_gid = owner->gid;
	st->st_size = o->size;
	st->st_blocks = (o->size + 511) / 512;
	st->st_mtim.tv_sec = o->mtime_sec;
	st->st_mtim.tv_nsec = o->mtime_nsec;
	st->st_atim = st->st_ctim = st->st_mtim;
}

int voltfs_attr_of_root(struct voltfs *fs, struct stat *st)
{
	struct timespec mtime;
	int ret = volt_catalog_refs_mtime(fs->catalog, &mtime);

	if (ret < 0)
		return ret;
	memset(st, 0, sizeof(*st));
	st->st_ino = FUSE_ROOT_ID;
	st->st_mode = S_IFDIR | 0555;
	st->st_nlink = 2 + VOLT_PROFILE_COUNT;
	st->st_uid = getuid();
	st->st_gid = getgid();
	st->st_size = 4096;
	st->st_atim = st->st_mtim = st->st_ctim = mtime;
	return 0;
}

/*
 * SelectProfile's choice for a workload that says nothing, among the
 * profiles present: KVM profiles only with KVM (-o kvm, by default
 * KVMAvailable: /dev/kvm). NULL when none is present.
 */
const char *voltfs_default_target(struct voltfs *fs)
{
	static const enum volt_profile with_kvm[] = { VOLT_PROFILE_KVM_LINUX, VOLT_PROFILE_KVM_UEFI,
						      VOLT_PROFILE_EMULATE_X86,
						      VOLT_PROFILE_EMULATE_FOREIGN };
	static const enum volt_profile without[] = { VOLT_PROFILE_EMULATE_X86,
						     VOLT_PROFILE_EMULATE_FOREIGN };
	bool kvm = fs->kvm == VOLTFS_KVM_AUTO ? volt_kvm_available() : fs->kvm == VOLTFS_KVM_YES;
	enum volt_profile first = volt_profile_select(NULL, NULL, NULL, kvm);
	const enum volt_profile *order = kvm ? with_kvm : without;
	size_t n = kvm ? 4 : 2;
	const struct volt_loaded *l;

	if (volt_catalog_get(fs->catalog, first, &l) == 0)
		return volt_profile_name(first);
	for (size_t i = 0; i < n; i++)
		if (volt_catalog_get(fs->catalog, order[i], &l) == 0)
			return volt_profile_name(order[i]);
	return NULL;
}

int voltfs_attr_of_default(struct voltfs *fs, const char *target, struct stat *st)
{
	int ret;

	if (!target)
		return -ENOENT;
	ret = voltfs_attr_of_root(fs, st);
	if (ret < 0)
		return ret;
	st->st_ino = VOLTFS_DEFAULT_INO;
	st->st_mode = S_IFLNK | 0777;
	st->st_nlink = 1;
	st->st_size = (off_t)strlen(target);
	st->st_blocks = 0;
	return 0;
}
