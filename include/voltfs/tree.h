/* SPDX-License-Identifier: MIT */
/*
 * The tree index of one profile: every folder, object file and synthetic
 * file of <mnt>/<profile>/, built from a validated manifest in one pass.
 *
 * Nodes are numbered 0 (the profile folder) to count-1 in breadth-first
 * order, so the children of a folder are consecutive numbers: a directory
 * offset is a node number and readdir never walks a list. Names and hashes
 * sit in one arena; (parent, name) -> node is an open-addressing table keyed
 * by XXH3, so lookup is O(1). A built tree never changes: readers need no
 * lock.
 */
#ifndef VOLTFS_TREE_H
#define VOLTFS_TREE_H

#include <stddef.h>
#include <stdint.h>

#include "voltfs/cas.h"
#include "voltfs/diag.h"
#include "voltfs/manifest.h"

#define VOLT_TREE_ROOT 0u
#define VOLT_TREE_NONE UINT32_MAX

enum volt_node_kind {
	VOLT_NODE_DIR,
	VOLT_NODE_FILE,	 /* a CAS object */
	VOLT_NODE_SYNTH, /* args, env, unit */
};

enum volt_synth {
	VOLT_SYNTH_ARGS,
	VOLT_SYNTH_ENV,
	VOLT_SYNTH_UNIT,
	VOLT_SYNTH_COUNT,
};

struct volt_tree;

/*
 * Build the tree of m: bin/, lib/ and firmware/ always, every manifest path
 * with its parent folders, and args, env, unit at the top. -EINVAL (with d
 * naming the entry) when a path is both a file and a folder or uses a
 * reserved top-level name; -ENOMEM. m may be released afterwards.
 */
int volt_tree_build(struct volt_tree **out, const struct volt_manifest *m, struct volt_diag *d);
void volt_tree_free(struct volt_tree *t);

/* Number of nodes; of object files. */
uint32_t volt_tree_count(const struct volt_tree *t);
uint32_t volt_tree_files(const struct volt_tree *t);

/* Bytes of memory the tree holds. */
size_t volt_tree_footprint(const struct volt_tree *t);

/* The child of folder dir named by len bytes of name, or VOLT_TREE_NONE. */
uint32_t volt_tree_lookup(const struct volt_tree *t, uint32_t dir, const char *name, size_t len);

enum volt_node_kind volt_tree_kind(const struct volt_tree *t, uint32_t node);

/* The node's name (NUL-terminated, "" for the root) and its length. */
const char *volt_tree_name(const struct volt_tree *t, uint32_t node, size_t *len);

/* The parent folder; the root is its own parent. */
uint32_t volt_tree_parent(const struct volt_tree *t, uint32_t node);

/* A folder's children are nodes *first .. *first + *count - 1. */
void volt_tree_children(const struct volt_tree *t, uint32_t dir, uint32_t *first, uint32_t *count);

/* Number of child folders of dir (for st_nlink). */
uint32_t volt_tree_subdirs(const struct volt_tree *t, uint32_t dir);

/* The object of a file node. */
void volt_tree_hash(const struct volt_tree *t, uint32_t node, struct volt_hash *h);

/* Which synthetic file a synth node is. */
enum volt_synth volt_tree_synth(const struct volt_tree *t, uint32_t node);

/* The node's path relative to the profile folder. 0 or -ENAMETOOLONG. */
int volt_tree_path(const struct volt_tree *t, uint32_t node, char *buf, size_t size);

#endif
