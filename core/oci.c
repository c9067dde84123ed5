// SPDX-License-Identifier: MIT
/*
 * The OCI image manifest of a profile build: built for push, parsed and
 * checked for pull. Everything in a manifest from a registry is bad input
 * until this file says otherwise; see include/voltfs/oci.h for the layout.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "voltfs/digest.h"
#include "voltfs/oci.h"
#include "voltfs/refs.h"

static int hash_cmp(const struct volt_hash *a, const struct volt_hash *b)
{
	if (a->len != b->len)
		return a->len < b->len ? -1 : 1;
	return memcmp(a->bytes, b->bytes, a->len);
}

struct first_use {
	struct volt_hash hash;
	size_t index; /* of the entry, in path order */
};

static int first_use_cmp(const void *pa, const void *pb)
{
	const struct first_use *a = pa, *b = pb;
	int c = hash_cmp(&a->hash, &b->hash);

	if (c)
		return c;
	return a->index < b->index ? -1 : a->index > b->index;
}

int volt_oci_objects(const struct volt_manifest *m, struct volt_oci_blob **out, size_t *n)
{
	struct first_use *uses = NULL;
	struct volt_oci_blob *blobs = NULL;
	size_t k = 0;

	*out = NULL;
	*n = 0;
	if (m->n_entries == 0)
		return 0;
	uses = calloc(m->n_entries, sizeof(*uses));
	blobs = calloc(m->n_entries, sizeof(*blobs));
	if (!uses || !blobs) {
		free(uses);
		free(blobs);
		return -ENOMEM;
	}
	for (size_t i = 0; i < m->n_entries; i++)
		uses[i] = (struct first_use){ m->entries[i].hash, i };
	/* By name, then path order: the first of each run is the object's first path. */
	qsort(uses, m->n_entries, sizeof(*uses), first_use_cmp);
	for (size_t i = 0; i < m->n_entries; i++) {
		if (i && volt_hash_equal(&uses[i].hash, &uses[i - 1].hash))
			continue;
		blobs[k].object = uses[i].hash;
		blobs[k].title = m->entries[uses[i].index].path;
		k++;
	}
	free(uses);
	*out = blobs;
	*n = k;
	return 0;
}

static cJSON *descriptor(const char *type, const struct volt_hash *digest, uint64_t size)
{
	char dig[VOLT_DIGEST_STR_MAX];
	cJSON *j = cJSON_CreateObject();

	volt_digest_format(digest, dig);
	if (!j || !cJSON_AddStringToObject(j, "mediaType", type) ||
	    !cJSON_AddStringToObject(j, "digest", dig) ||
	    !cJSON_AddNumberToObject(j, "size", (double)size)) {
		cJSON_Delete(j);
		return NULL;
	}
	return j;
}

static cJSON *object_layer(const struct volt_oci_blob *b)
{
	char hex[VOLT_HASH_HEX_MAX + 1];
	cJSON *j = descriptor(VOLT_OCI_OBJECT_TYPE, &b->digest, b->size);
	cJSON *ann = j ? cJSON_AddObjectToObject(j, "annotations") : NULL;

	volt_hash_format(&b->object, hex);
	if (!ann || !cJSON_AddStringToObject(ann, VOLT_OCI_ANN_TITLE, b->title) ||
	    !cJSON_AddStringToObject(ann, VOLT_OCI_ANN_OBJECT, hex) ||
	    !cJSON_AddStringToObject(ann, VOLT_OCI_ANN_MODE, b->mode & 0111 ? "0555" : "0444")) {
		cJSON_Delete(j);
		return NULL;
	}
	return j;
}

int volt_oci_build(const char *ref_name, const struct volt_oci_blob *ref,
		   const struct volt_oci_blob *objects, size_t n, const char *created_at,
		   char **json, size_t *len)
{
	struct volt_hash empty;
	cJSON *root, *layers, *layer, *ann;
	char refword[VOLT_REF_NAME_MAX];
	size_t rlen = strlen(ref_name);
	int ret = -ENOMEM;

	*json = NULL;
	if (ref->digest.len != VOLT_HASH_SHA256_LEN)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (objects[i].digest.len != VOLT_HASH_SHA256_LEN || !objects[i].title)
			return -EINVAL;
	if (volt_sha256_buf(&empty, VOLT_OCI_EMPTY_BLOB, 2) < 0)
		return -ENOMEM;
	snprintf(refword, sizeof(refword), "%.*s", rlen > 5 ? (int)(rlen - 5) : 0, ref_name);
	root = cJSON_CreateObject();
	if (!root || !cJSON_AddNumberToObject(root, "schemaVersion", 2) ||
	    !cJSON_AddStringToObject(root, "mediaType", VOLT_OCI_MANIFEST_TYPE) ||
	    !cJSON_AddStringToObject(root, "artifactType", VOLT_OCI_ARTIFACT_TYPE))
		goto out;
	layer = descriptor(VOLT_OCI_EMPTY_TYPE, &empty, 2);
	if (!layer || !cJSON_AddItemToObject(root, "config", layer))
		goto out_layer;
	layers = cJSON_AddArrayToObject(root, "layers");
	layer = descriptor(VOLT_OCI_REF_TYPE, &ref->digest, ref->size);
	ann = layer ? cJSON_AddObjectToObject(layer, "annotations") : NULL;
	if (!layers || !ann || !cJSON_AddStringToObject(ann, VOLT_OCI_ANN_TITLE, ref_name) ||
	    !cJSON_AddItemToArray(layers, layer))
		goto out_layer;
	for (size_t i = 0; i < n; i++) {
		layer = object_layer(&objects[i]);
		if (!layer || !cJSON_AddItemToArray(layers, layer))
			goto out_layer;
	}
	ann = cJSON_AddObjectToObject(root, "annotations");
	if (!ann || !cJSON_AddStringToObject(ann, VOLT_OCI_ANN_REF, refword) ||
	    (created_at && !cJSON_AddStringToObject(ann, VOLT_OCI_ANN_CREATED, created_at)))
		goto out;
	*json = cJSON_PrintUnformatted(root);
	if (*json) {
		*len = strlen(*json);
		ret = 0;
	}
	goto out;
out_layer:
	cJSON_Delete(layer);
out:
	cJSON_Delete(root);
	return ret;
}

/* Parsing. */

static int parse_desc(const cJSON *j, const char *want_type, uint64_t max, struct volt_oci_blob *b,
		      const char *which, struct volt_diag *d)
{
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(j, "mediaType");
	const cJSON *dig = cJSON_GetObjectItemCaseSensitive(j, "digest");
	const cJSON *size = cJSON_GetObjectItemCaseSensitive(j, "size");
	double v;

	if (!cJSON_IsObject(j))
		return volt_diag_set(d, -EBADMSG, which, "not a descriptor (an object)");
	if (!cJSON_IsString(type) || strcmp(type->valuestring, want_type) != 0)
		return volt_diag_set(d, -EBADMSG, which, "media type is not %s", want_type);
	if (!cJSON_IsString(dig) ||
	    volt_digest_parse(&b->digest, dig->valuestring, strlen(dig->valuestring)) < 0)
		return volt_diag_set(d, -EINVAL, which, "digest is not sha256:<64 lowercase hex>");
	if (!cJSON_IsNumber(size))
		return volt_diag_set(d, -EBADMSG, which, "size is not a number");
	v = size->valuedouble;
	if (!(v >= 0 && v <= (double)max) || v != (double)(uint64_t)v)
		return volt_diag_set(d, v > (double)max ? -EFBIG : -EINVAL, which,
				     "size is not a whole number of bytes up to %llu",
				     (unsigned long long)max);
	b->size = (uint64_t)v;
	return 0;
}

static const char *annotation(const cJSON *layer, const char *key)
{
	const cJSON *ann = cJSON_GetObjectItemCaseSensitive(layer, "annotations");
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(ann, key);

	return cJSON_IsObject(ann) && cJSON_IsString(v) ? v->valuestring : NULL;
}

static int parse_mode(const char *s, uint32_t *mode)
{
	uint32_t v = 0;

	if (!s || strlen(s) != 4 || s[0] != '0')
		return -EINVAL;
	for (int i = 1; i < 4; i++) {
		if (s[i] < '0' || s[i] > '7')
			return -EINVAL;
		v = v << 3 | (uint32_t)(s[i] - '0');
	}
	/* The store keeps objects read-only; only the execute bit survives. */
	*mode = v & 0111 ? 0555 : 0444;
	return 0;
}

static int parse_object(const cJSON *j, struct volt_oci_blob *b, const char *which,
			struct volt_diag *d)
{
	const char *title = annotation(j, VOLT_OCI_ANN_TITLE);
	const char *obj = annotation(j, VOLT_OCI_ANN_OBJECT);
	int ret = parse_desc(j, VOLT_OCI_OBJECT_TYPE, VOLT_OCI_BLOB_MAX, b, which, d);

	if (ret < 0)
		return ret;
	if (!title)
		return volt_diag_set(d, -EINVAL, which, "no %s annotation", VOLT_OCI_ANN_TITLE);
	ret = volt_path_check(title, strlen(title), NULL);
	if (ret < 0)
		return volt_diag_set(d, -EINVAL, which,
				     "title '%.200s' is not a safe relative path", title);
	if (!obj || volt_hash_parse(&b->object, obj, strlen(obj)) < 0)
		return volt_diag_set(d, -EINVAL, which, "%s is not an object name",
				     VOLT_OCI_ANN_OBJECT);
	if (b->object.len == VOLT_HASH_SHA256_LEN && !volt_hash_equal(&b->object, &b->digest))
		return volt_diag_set(d, -EINVAL, which,
				     "SHA-256 object name differs from its digest");
	if (parse_mode(annotation(j, VOLT_OCI_ANN_MODE), &b->mode) < 0)
		return volt_diag_set(d, -EINVAL, which, "%s is not an octal mode like 0555",
				     VOLT_OCI_ANN_MODE);
	b->title = title; /* cJSON's for now; copied into the arena at the end */
	return 0;
}

static int by_digest(const void *pa, const void *pb)
{
	return hash_cmp(&((const struct volt_oci_blob *)pa)->digest,
			&((const struct volt_oci_blob *)pb)->digest);
}

static int by_title(const void *pa, const void *pb)
{
	return strcmp(((const struct volt_oci_blob *)pa)->title,
		      ((const struct volt_oci_blob *)pb)->title);
}

static int by_object(const void *pa, const void *pb)
{
	return hash_cmp(&((const struct volt_oci_blob *)pa)->object,
			&((const struct volt_oci_blob *)pb)->object);
}

/* Two layers for one blob, one object or one title: refused, never one of them picked. */
static int check_unique(struct volt_oci *o, struct volt_diag *d)
{
	struct volt_oci_blob *b = o->objects;
	char hex[VOLT_HASH_HEX_MAX + 1];
	size_t n = o->n_objects;

	qsort(b, n, sizeof(*b), by_digest);
	for (size_t i = 1; i < n; i++) {
		if (volt_hash_equal(&b[i].digest, &b[i - 1].digest)) {
			volt_hash_format(&b[i].digest, hex);
			return volt_diag_set(d, -EINVAL, b[i].title,
					     "blob sha256:%s is listed twice", hex);
		}
	}
	for (size_t i = 0; i < n; i++)
		if (volt_hash_equal(&b[i].digest, &o->ref.digest))
			return volt_diag_set(d, -EINVAL, b[i].title, "the ref's blob as an object");
	qsort(b, n, sizeof(*b), by_title);
	for (size_t i = 1; i < n; i++)
		if (strcmp(b[i].title, b[i - 1].title) == 0)
			return volt_diag_set(d, -EINVAL, b[i].title, "title is listed twice");
	qsort(b, n, sizeof(*b), by_object);
	for (size_t i = 1; i < n; i++) {
		if (volt_hash_equal(&b[i].object, &b[i - 1].object)) {
			volt_hash_format(&b[i].object, hex);
			return volt_diag_set(d, -EINVAL, b[i].title, "object %s is listed twice",
					     hex);
		}
	}
	return 0;
}

/* Titles point into cJSON's tree until here: move them into one arena o owns. */
static int keep_titles(struct volt_oci *o)
{
	size_t total = strlen(o->ref.title) + 1;
	char *p;

	for (size_t i = 0; i < o->n_objects; i++)
		total += strlen(o->objects[i].title) + 1;
	p = o->arena = malloc(total);
	if (!p)
		return -ENOMEM;
	for (size_t i = 0; i <= o->n_objects; i++) {
		struct volt_oci_blob *b = i ? &o->objects[i - 1] : &o->ref;
		size_t len = strlen(b->title) + 1;

		memcpy(p, b->title, len);
		b->title = p;
		p += len;
	}
	return 0;
}

static int parse_root(struct volt_oci *o, const cJSON *root, struct volt_diag *d)
{
	const cJSON *ver = cJSON_GetObjectItemCaseSensitive(root, "schemaVersion");
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(root, "mediaType");
	const cJSON *art = cJSON_GetObjectItemCaseSensitive(root, "artifactType");
	const cJSON *layers = cJSON_GetObjectItemCaseSensitive(root, "layers");
	struct volt_oci_blob config = { 0 };
	enum volt_profile p;
	char id[VOLT_REF_ID_LEN + 1], which[32];
	const cJSON *l;
	int n, ret;

	if (!cJSON_IsObject(root))
		return volt_diag_set(d, -EBADMSG, NULL, "not a JSON object");
	if (!cJSON_IsNumber(ver) || ver->valuedouble != 2)
		return volt_diag_set(d, -EBADMSG, NULL, "schemaVersion is not 2");
	if (!cJSON_IsString(type) || strcmp(type->valuestring, VOLT_OCI_MANIFEST_TYPE) != 0)
		return volt_diag_set(d, -EBADMSG, NULL, "mediaType is not %s",
				     VOLT_OCI_MANIFEST_TYPE);
	if (!cJSON_IsString(art) || strcmp(art->valuestring, VOLT_OCI_ARTIFACT_TYPE) != 0)
		return volt_diag_set(d, -EBADMSG, NULL, "artifactType is not %s (not a profile)",
				     VOLT_OCI_ARTIFACT_TYPE);
	ret = parse_desc(cJSON_GetObjectItemCaseSensitive(root, "config"), VOLT_OCI_EMPTY_TYPE, 2,
			 &config, "config", d);
	if (ret < 0)
		return ret;
	if (!cJSON_IsArray(layers) || (n = cJSON_GetArraySize(layers)) < 1)
		return volt_diag_set(d, -EBADMSG, NULL, "no layers (the ref is the first)");
	if ((unsigned)n > VOLT_OCI_LAYERS_MAX)
		return volt_diag_set(d, -EFBIG, NULL, "more than %u layers", VOLT_OCI_LAYERS_MAX);
	l = layers->child;
	ret = parse_desc(l, VOLT_OCI_REF_TYPE, VOLT_MANIFEST_MAX_BYTES, &o->ref, "layers[0]", d);
	if (ret < 0)
		return ret;
	o->ref.title = annotation(l, VOLT_OCI_ANN_TITLE);
	if (!o->ref.title || volt_ref_parse_name(o->ref.title, &p, id) < 0 ||
	    strlen(o->ref.title) >= VOLT_REF_NAME_MAX)
		return volt_diag_set(d, -EINVAL, "layers[0]",
				     "title is not a ref name <profile>-<id>.json of a known "
				     "profile");
	o->ref.mode = 0644;
	o->objects = calloc((size_t)n, sizeof(*o->objects));
	if (!o->objects)
		return -ENOMEM;
	for (l = l->next; l; l = l->next) {
		snprintf(which, sizeof(which), "layers[%zu]", o->n_objects + 1);
		ret = parse_object(l, &o->objects[o->n_objects], which, d);
		if (ret < 0)
			return ret;
		o->n_objects++;
	}
	ret = check_unique(o, d);
	return ret < 0 ? ret : keep_titles(o);
}

int volt_oci_parse(struct volt_oci *o, const char *buf, size_t len, struct volt_diag *d)
{
	const char *end = NULL;
	cJSON *root;
	int ret;

	memset(o, 0, sizeof(*o));
	if (len > VOLT_OCI_MANIFEST_MAX)
		return volt_diag_set(d, -EFBIG, NULL, "manifest larger than %u bytes",
				     VOLT_OCI_MANIFEST_MAX);
	if (memchr(buf, '\0', len))
		return volt_diag_set(d, -EBADMSG, NULL, "manifest holds a NUL byte");
	root = cJSON_ParseWithLengthOpts(buf, len, &end, false);
	if (!root)
		return volt_diag_set(d, -EBADMSG, NULL, "manifest is not JSON");
	ret = parse_root(o, root, d);
	cJSON_Delete(root);
	if (ret < 0)
		volt_oci_release(o);
	return ret;
}

void volt_oci_release(struct volt_oci *o)
{
	free(o->objects);
	free(o->arena);
	memset(o, 0, sizeof(*o));
}

const struct volt_oci_blob *volt_oci_find(const struct volt_oci *o, const struct volt_hash *object)
{
	struct volt_oci_blob key = { .object = *object };

	return o->n_objects ? bsearch(&key, o->objects, o->n_objects, sizeof(key), by_object)
			    : NULL;
}

int volt_oci_check_ref(const struct volt_oci *o, const struct volt_manifest *m, struct volt_diag *d)
{
	struct volt_oci_blob *distinct = NULL;
	char hex[VOLT_HASH_HEX_MAX + 1];
	size_t n = 0;
	int ret;

	for (size_t i = 0; i < m->n_entries; i++) {
		if (!volt_oci_find(o, &m->entries[i].hash)) {
			volt_hash_format(&m->entries[i].hash, hex);
			return volt_diag_set(d, -EINVAL, m->entries[i].path,
					     "object %s has no blob in the manifest", hex);
		}
	}
	ret = volt_oci_objects(m, &distinct, &n);
	free(distinct);
	if (ret < 0)
		return ret;
	/* Blobs are unique by object name and each of m's is there: equal counts, equal sets. */
	if (n != o->n_objects)
		return volt_diag_set(d, -EINVAL, NULL,
				     "%zu blobs for %zu objects: blobs the ref does not name",
				     o->n_objects, n);
	return 0;
}
