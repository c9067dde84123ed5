// SPDX-License-Identifier: MIT
/*
 * The tree index of one profile (see voltfs/tree.h for its layout). Built
 * in two steps: nodes are made in manifest order with sibling lists, then
 * renumbered breadth-first so that each folder's children are consecutive
 * and the lists can go.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "voltfs/tree.h"

/* 24 bytes a node: a manifest of 100 000 paths is a few MiB. */
struct tnode {
	uint32_t parent;
	uint32_t name_off; /* NUL-terminated name in the arena */
	uint32_t a;	   /* dir: first child; file: hash offset; synth: which */
	uint32_t b;	   /* dir: number of children; file: hash length */
	uint32_t c;	   /* dir: number of child folders */
	uint16_t name_len;
	uint8_t kind;
};

struct volt_tree {
	struct tnode *nodes;
	uint32_t count, files;
	uint32_t *index; /* open addressing: node numbers, VOLT_TREE_NONE = empty */
	uint32_t mask;
	char *arena;
	size_t arena_used, arena_size;
};

static uint64_t slot_hash(uint32_t parent, const char *name, size_t len)
{
	return XXH3_64bits_withSeed(name, len, parent);
}

static uint32_t index_find(const struct volt_tree *t, uint32_t dir, const char *name, size_t len,
			   uint32_t *slot_out)
{
	uint32_t slot = (uint32_t)slot_hash(dir, name, len) & t->mask, n;

	/* The slot is written on a hit too (the node's own): callers and -O3's
	 * flow analysis then never see it unset. */
	for (;; slot = (slot + 1) & t->mask) {
		const struct tnode *node;

		n = t->index[slot];
		if (n == VOLT_TREE_NONE)
			break;
		node = &t->nodes[n];
		if (node->parent == dir && node->name_len == len &&
		    memcmp(t->arena + node->name_off, name, len) == 0)
			break;
	}
	if (slot_out)
		*slot_out = slot;
	return n;
}

static uint32_t arena_put(struct volt_tree *t, const void *p, size_t len, bool nul)
{
	uint32_t off = (uint32_t)t->arena_used;

	memcpy(t->arena + off, p, len);
	if (nul)
		t->arena[off + len] = '\0';
	t->arena_used += len + nul;
	return off;
}

/* Build-time links, dropped after renumbering. */
struct links {
	uint32_t *first, *last, *next;
};

static uint32_t add_node(struct volt_tree *t, struct links *l, uint32_t parent, const char *name,
			 size_t len, enum volt_node_kind kind, uint32_t slot)
{
	uint32_t n = t->count++;
	struct tnode *node = &t->nodes[n];

	memset(node, 0, sizeof(*node));
	node->parent = parent;
	node->name_off = arena_put(t, name, len, true);
	node->name_len = (uint16_t)len;
	node->kind = (uint8_t)kind;
	l->first[n] = l->last[n] = l->next[n] = VOLT_TREE_NONE;
	if (l->last[parent] == VOLT_TREE_NONE)
		l->first[parent] = n;
	else
		l->next[l->last[parent]] = n;
	l->last[parent] = n;
	t->nodes[parent].b++;
	if (kind == VOLT_NODE_DIR)
		t->nodes[parent].c++;
	t->index[slot] = n;
	return n;
}

/* The folder of the previous path: sorted paths mostly share it. */
struct last_dir {
	const char *path;
	size_t len; /* of "a/b" in "a/b/c"; 0 for the root */
	uint32_t node;
};

static int add_path(struct volt_tree *t, struct links *l, const struct volt_manifest_entry *e,
		    struct last_dir *last, struct volt_diag *d)
{
	uint32_t dir = VOLT_TREE_ROOT, slot;
	const char *p = e->path, *end = e->path + e->path_len;
	const char *base = memrchr(e->path, '/', e->path_len);
	size_t dir_len = base ? (size_t)(base - e->path) : 0;

	/* Same folder as the path before: skip straight to the last name. */
	if (dir_len && last->path && dir_len == last->len &&
	    memcmp(e->path, last->path, dir_len) == 0) {
		dir = last->node;
		p = base + 1;
	}
	for (;;) {
		const char *slash = memchr(p, '/', (size_t)(end - p));
		size_t len = (size_t)((slash ? slash : end) - p);
		uint32_t n = index_find(t, dir, p, len, &slot);

		if (!slash) {
			struct tnode *node;

			if (n != VOLT_TREE_NONE)
				return volt_diag_set(d, -EINVAL, e->path,
						     "path is both a file and a folder");
			n = add_node(t, l, dir, p, len, VOLT_NODE_FILE, slot);
			node = &t->nodes[n];
			node->a = arena_put(t, e->hash.bytes, e->hash.len, false);
			node->b = e->hash.len;
			t->files++;
			*last = (struct last_dir){ .path = e->path, .len = dir_len, .node = dir };
			return 0;
		}
		if (n == VOLT_TREE_NONE)
			n = add_node(t, l, dir, p, len, VOLT_NODE_DIR, slot);
		else if (t->nodes[n].kind != VOLT_NODE_DIR)
			return volt_diag_set(d, -EINVAL, e->path,
					     "a parent of this path is a file or reserved");
		dir = n;
		p = slash + 1;
	}
}

/* Renumber breadth-first so each folder's children are consecutive. */
static int renumber(struct volt_tree *t, struct links *l)
{
	uint32_t *order = malloc(t->count * sizeof(*order));
	uint32_t *newno = malloc(t->count * sizeof(*newno));
	struct tnode *nodes = malloc(t->count * sizeof(*nodes));
	uint32_t *index, k = 1;
	size_t cap;
	int ret = -ENOMEM;

	if (!order || !newno || !nodes)
		goto out;
	order[0] = VOLT_TREE_ROOT;
	for (uint32_t i = 0; i < t->count; i++)
		for (uint32_t c = l->first[order[i]]; c != VOLT_TREE_NONE; c = l->next[c])
			order[k++] = c;
	for (uint32_t i = 0; i < t->count; i++)
		newno[order[i]] = i;
	for (uint32_t i = 0; i < t->count; i++) {
		uint32_t old = order[i];

		nodes[i] = t->nodes[old];
		nodes[i].parent = newno[t->nodes[old].parent];
		if (nodes[i].kind == VOLT_NODE_DIR)
			nodes[i].a = l->first[old] == VOLT_TREE_NONE ? 0 : newno[l->first[old]];
	}
	free(t->nodes);
	t->nodes = nodes;
	nodes = NULL;
	/*
	 * The build-time index was sized for every path component; the nodes are
	 * fewer (folders are shared): size the final index for them, at most 2/3 full.
	 */
	for (cap = 16; cap < (size_t)t->count + t->count / 2; cap <<= 1)
		;
	index = malloc(cap * sizeof(*index));
	if (!index)
		goto out;
	free(t->index);
	t->index = index;
	t->mask = (uint32_t)cap - 1;
	memset(t->index, 0xff, cap * sizeof(*t->index));
	for (uint32_t i = 1; i < t->count; i++) {
		const struct tnode *node = &t->nodes[i];
		uint32_t slot;

		index_find(t, node->parent, t->arena + node->name_off, node->name_len, &slot);
		t->index[slot] = i;
	}
	ret = 0;
out:
	free(order);
	free(newno);
	free(nodes);
	return ret;
}

static const char *const top_dirs[] = { "bin", "lib", "firmware" };
static const char *const synth_names[VOLT_SYNTH_COUNT] = { "args", "env", "unit" };

int volt_tree_build(struct volt_tree **out, const struct volt_manifest *m, struct volt_diag *d)
{
	struct links l = { 0 };
	struct last_dir last = { 0 };
	struct volt_tree *t;
	char *arena;
	size_t max_nodes = 1 + 3 + VOLT_SYNTH_COUNT, cap = 16;
	int ret = -ENOMEM;

	*out = NULL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return volt_diag_set(d, -ENOMEM, NULL, "out of memory");
	t->arena_size = 64;
	for (size_t i = 0; i < m->n_entries; i++) {
		const struct volt_manifest_entry *e = &m->entries[i];

		for (uint32_t j = 0; j < e->path_len; j++)
			max_nodes += e->path[j] == '/';
		max_nodes++;
		t->arena_size += e->path_len + 1 + e->hash.len;
	}
	if (max_nodes >= VOLT_TREE_NONE / 2 || t->arena_size >= UINT32_MAX) {
		ret = -EFBIG;
		goto fail;
	}
	while (cap < max_nodes + max_nodes / 2)
		cap <<= 1;
	t->mask = (uint32_t)cap - 1;
	t->nodes = malloc(max_nodes * sizeof(*t->nodes));
	t->index = malloc(cap * sizeof(*t->index));
	t->arena = malloc(t->arena_size);
	l.first = malloc(max_nodes * sizeof(uint32_t));
	l.last = malloc(max_nodes * sizeof(uint32_t));
	l.next = malloc(max_nodes * sizeof(uint32_t));
	if (!t->nodes || !t->index || !t->arena || !l.first || !l.last || !l.next)
		goto fail;
	memset(t->index, 0xff, cap * sizeof(*t->index));

	/* The root is nobody's child: it is not in the index. */
	t->count = 1;
	memset(&t->nodes[0], 0, sizeof(t->nodes[0]));
	t->nodes[0].name_off = arena_put(t, "", 0, true);
	l.first[0] = l.last[0] = l.next[0] = VOLT_TREE_NONE;
	for (int i = 0; i < 3; i++) {
		uint32_t slot;

		index_find(t, 0, top_dirs[i], strlen(top_dirs[i]), &slot);
		add_node(t, &l, 0, top_dirs[i], strlen(top_dirs[i]), VOLT_NODE_DIR, slot);
	}
	for (int i = 0; i < VOLT_SYNTH_COUNT; i++) {
		uint32_t slot, n;

		index_find(t, 0, synth_names[i], strlen(synth_names[i]), &slot);
		n = add_node(t, &l, 0, synth_names[i], strlen(synth_names[i]), VOLT_NODE_SYNTH,
			     slot);
		t->nodes[n].a = (uint32_t)i;
	}
	for (size_t i = 0; i < m->n_entries; i++) {
		ret = add_path(t, &l, &m->entries[i], &last, d);
		if (ret < 0)
			goto fail;
	}
	ret = renumber(t, &l);
	if (ret < 0)
		goto fail;
	/* The arena was sized for whole paths; it holds one name per node. */
	arena = realloc(t->arena, t->arena_used);
	if (arena) {
		t->arena = arena;
		t->arena_size = t->arena_used;
	}
	free(l.first);
	free(l.last);
	free(l.next);
	*out = t;
	return 0;
fail:
	if (ret == -ENOMEM)
		volt_diag_set(d, ret, NULL, "out of memory");
	else if (ret == -EFBIG)
		volt_diag_set(d, ret, NULL, "too many paths");
	free(l.first);
	free(l.last);
	free(l.next);
	volt_tree_free(t);
	return ret;
}

void volt_tree_free(struct volt_tree *t)
{
	if (!t)
		return;
	free(t->nodes);
	free(t->index);
	free(t->arena);
	free(t);
}

uint32_t volt_tree_count(const struct volt_tree *t)
{
	return t->count;
}

uint32_t volt_tree_files(const struct volt_tree *t)
{
	return t->files;
}

size_t volt_tree_footprint(const struct volt_tree *t)
{
	return sizeof(*t) + t->count * sizeof(*t->nodes) +
	       ((size_t)t->mask + 1) * sizeof(uint32_t) + t->arena_size;
}

uint32_t volt_tree_lookup(const struct volt_tree *t, uint32_t dir, const char *name, size_t len)
{
	if (dir >= t->count || t->nodes[dir].kind != VOLT_NODE_DIR || len > UINT16_MAX)
		return VOLT_TREE_NONE;
	return index_find(t, dir, name, len, NULL);
}

enum volt_node_kind volt_tree_kind(const struct volt_tree *t, uint32_t node)
{
	return (enum volt_node_kind)t->nodes[node].kind;
}

const char *volt_tree_name(const struct volt_tree *t, uint32_t node, size_t *len)
{
	if (len)
		*len = t->nodes[node].name_len;
	return t->arena + t->nodes[node].name_off;
}

uint32_t volt_tree_parent(const struct volt_tree *t, uint32_t node)
{
	return t->nodes[node].parent;
}

void volt_tree_children(const struct volt_tree *t, uint32_t dir, uint32_t *first, uint32_t *count)
{
	const struct tnode *node = &t->nodes[dir];

	*first = node->kind == VOLT_NODE_DIR ? node->a : 0;
	*count = node->kind == VOLT_NODE_DIR ? node->b : 0;
}

uint32_t volt_tree_subdirs(const struct volt_tree *t, uint32_t dir)
{
	return t->nodes[dir].kind == VOLT_NODE_DIR ? t->nodes[dir].c : 0;
}

void volt_tree_hash(const struct volt_tree *t, uint32_t node, struct volt_hash *h)
{
	const struct tnode *n = &t->nodes[node];

	h->len = (uint8_t)n->b;
	memcpy(h->bytes, t->arena + n->a, n->b);
}

enum volt_synth volt_tree_synth(const struct volt_tree *t, uint32_t node)
{
	return (enum volt_synth)t->nodes[node].a;
}

int volt_tree_path(const struct volt_tree *t, uint32_t node, char *buf, size_t size)
{
	size_t pos = size;

	if (size == 0)
		return -ENAMETOOLONG;
	buf[--pos] = '\0';
	while (node != VOLT_TREE_ROOT) {
		const struct tnode *n = &t->nodes[node];
		bool sep = pos != size - 1;

		if (pos < (size_t)n->name_len + (sep ? 1 : 0))
			return -ENAMETOOLONG;
		if (sep)
			buf[--pos] = '/';
		pos -= n->name_len;
		memcpy(buf + pos, t->arena + n->name_off, n->name_len);
		node = n->parent;
	}
	memmove(buf, buf + pos, size - pos);
	return 0;
}
