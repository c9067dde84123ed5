// SPDX-License-Identifier: MIT
/*
 * Ingest: walk a folder (following links), store each file as an object,
 * and write the manifest last, so a ref never names an object that is not
 * there yet.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "names.h"
#include "voltfs/build.h"

struct walk {
	struct volt_cas *cas;
	const struct volt_build_opts *o;
	struct volt_build_result *r;
	struct volt_diag *d;
	cJSON *objects;
	char path[VOLT_PATH_MAX + 2];
	/* Folders on the current path, to refuse a link cycle. */
	struct {
		dev_t dev;
		ino_t ino;
	} stack[VOLT_DEPTH_MAX + 2];
	int depth;
};

static int walk_dir(struct walk *w, int dirfd, size_t plen);

static int add_file(struct walk *w, int dirfd, const char *name, const struct stat *st)
{
	char hex[VOLT_HASH_HEX_MAX + 1];
	struct volt_hash h;
	uint64_t size;
	bool written;
	int fd, ret;

	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return volt_diag_set(w->d, -errno, w->path, "open: %s", strerror(errno));
	ret = volt_cas_put_fd(w->cas, fd, st->st_mode & 0111, &h, &size, &written);
	close(fd);
	if (ret < 0)
		return volt_diag_set(w->d, ret, w->path, "store: %s", strerror(-ret));
	volt_hash_format(&h, hex);
	if (!cJSON_AddStringToObject(w->objects, w->path, hex))
		return volt_diag_set(w->d, -ENOMEM, w->path, "out of memory");
	w->r->files++;
	w->r->new_objects += written;
	w->r->bytes += size;
	if (w->o->progress)
		w->o->progress(w->o->progress_ctx, w->r->files, w->r->bytes);
	return 0;
}

static int walk_entry(struct walk *w, int dirfd, const char *name, size_t plen)
{
	size_t nlen = strlen(name), len = plen + (plen ? 1 : 0) + nlen;
	struct stat st;
	int ret, fd;

	if (len > VOLT_PATH_MAX)
		return volt_diag_set(w->d, -ENAMETOOLONG, name, "path too long");
	if (plen)
		w->path[plen] = '/';
	memcpy(w->path + plen + (plen ? 1 : 0), name, nlen + 1);
	if (fstatat(dirfd, name, &st, 0) < 0)
		return volt_diag_set(w->d, -errno, w->path, "stat: %s", strerror(errno));
	if (S_ISREG(st.st_mode))
		return add_file(w, dirfd, name, &st);
	if (!S_ISDIR(st.st_mode))
		return volt_diag_set(w->d, -EINVAL, w->path, "not a regular file or folder");
	for (int i = 0; i < w->depth; i++)
		if (w->stack[i].dev == st.st_dev && w->stack[i].ino == st.st_ino)
			return volt_diag_set(w->d, -ELOOP, w->path, "links form a cycle");
	if (w->depth > VOLT_DEPTH_MAX)
		return volt_diag_set(w->d, -ELOOP, w->path, "too deep");
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return volt_diag_set(w->d, -errno, w->path, "open: %s", strerror(errno));
	w->stack[w->depth].dev = st.st_dev;
	w->stack[w->depth].ino = st.st_ino;
	w->depth++;
	ret = walk_dir(w, fd, len);
	w->depth--;
	return ret;
}

/* Walk one folder (and close dirfd) in name order, so that a build is reproducible. */
static int walk_dir(struct walk *w, int dirfd, size_t plen)
{
	struct names names;
	int ret;

	ret = names_list(dirfd, false, &names);
	if (ret < 0) {
		close(dirfd);
		return volt_diag_set(w->d, ret, w->path, "list: %s", strerror(-ret));
	}
	for (size_t i = 0; i < names.n && ret == 0; i++) {
		ret = walk_entry(w, dirfd, names.v[i], plen);
		w->path[plen] = '\0';
	}
	names_release(&names);
	close(dirfd);
	return ret;
}

static cJSON *make_manifest(const struct volt_build_opts *o, const struct volt_build_result *r)
{
	const char *profile = volt_profile_name(o->profile);
	char now[64], host[256] = "";
	struct timespec ts;
	cJSON *root = cJSON_CreateObject();

	clock_gettime(CLOCK_REALTIME, &ts);
	volt_time_format_rfc3339(&ts, now, sizeof(now));
	gethostname(host, sizeof(host) - 1);
	if (!root || !cJSON_AddStringToObject(root, "name", profile) ||
	    !cJSON_AddStringToObject(root, "created_at", now) ||
	    !cJSON_AddStringToObject(root, "profile", profile) ||
	    !cJSON_AddStringToObject(root, "build_date", now) ||
	    !cJSON_AddStringToObject(root, "build_host", host) ||
	    (o->arch && !cJSON_AddStringToObject(root, "arch", o->arch)) ||
	    (o->qemu_version && !cJSON_AddStringToObject(root, "qemu_version", o->qemu_version)) ||
	    !cJSON_AddNumberToObject(root, "total_bytes", (double)r->bytes)) {
		cJSON_Delete(root);
		return NULL;
	}
	return root;
}

int volt_build(struct volt_cas *cas, const struct volt_build_opts *o, struct volt_build_result *r,
	       struct volt_diag *d)
{
	struct walk *w = NULL;
	struct volt_manifest check;
	struct stat st;
	cJSON *root = NULL;
	char *json = NULL;
	int fd, ret;

	memset(r, 0, sizeof(*r));
	volt_diag_clear(d);
	if (!volt_profile_name(o->profile))
		return volt_diag_set(d, -EINVAL, NULL, "not a known profile");
	fd = open(o->src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return volt_diag_set(d, -errno, o->src, "%s", strerror(errno));
	ret = -ENOMEM;
	w = calloc(1, sizeof(*w));
	if (!w) {
		close(fd);
		goto out;
	}
	*w = (struct walk){ .cas = cas, .o = o, .r = r, .d = d };
	/* The source itself is on the path: a link back to it is a cycle too. */
	if (fstat(fd, &st) == 0) {
		w->stack[0].dev = st.st_dev;
		w->stack[0].ino = st.st_ino;
		w->depth = 1;
	}
	w->objects = cJSON_CreateObject();
	if (!w->objects) {
		close(fd);
		goto out;
	}
	ret = walk_dir(w, fd, 0);
	if (ret < 0)
		goto out;
	ret = -ENOMEM;
	root = make_manifest(o, r);
	if (!root)
		goto out;
	cJSON_AddItemToObject(root, "objects", w->objects);
	w->objects = NULL;
	json = cJSON_Print(root);
	if (!json)
		goto out;
	/* Never write a ref that voltfs would refuse (a top-level "args", say). */
	ret = volt_manifest_parse(&check, json, strlen(json), d);
	if (ret < 0)
		goto out;
	volt_manifest_release(&check);
	volt_ref_make_name(o->profile, json, strlen(json), r->ref_name);
	ret = volt_cas_put_ref(cas, r->ref_name, json, strlen(json));
	if (ret < 0)
		volt_diag_set(d, ret, r->ref_name, "write ref: %s", strerror(-ret));
out:
	if (ret == -ENOMEM && d && !d->reason[0])
		volt_diag_set(d, ret, NULL, "out of memory");
	cJSON_free(json);
	cJSON_Delete(root);
	if (w)
		cJSON_Delete(w->objects);
	free(w);
	return ret;
}
