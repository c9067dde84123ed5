// SPDX-License-Identifier: MIT
/* The sorted names of a folder: one listing for refs/, objects/ and ingest. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "names.h"

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void names_release(struct names *ns)
{
	for (size_t i = 0; i < ns->n; i++)
		free(ns->v[i]);
	free(ns->v);
	ns->v = NULL;
	ns->n = 0;
}

int names_list(int dirfd, bool skip_hidden, struct names *ns)
{
	size_t cap = 0;
	struct dirent *de;
	DIR *dir;
	int fd, ret = 0;

	ns->v = NULL;
	ns->n = 0;
	/* A descriptor of our own: closedir must not close the caller's. */
	fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	dir = fdopendir(fd);
	if (!dir) {
		ret = -errno;
		close(fd);
		return ret;
	}
	while ((errno = 0, de = readdir(dir))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
		    (skip_hidden && de->d_name[0] == '.'))
			continue;
		if (ns->n == cap) {
			char **grown = realloc(ns->v, (cap = cap ? 2 * cap : 64) * sizeof(*ns->v));

			if (!grown) {
				ret = -ENOMEM;
				break;
			}
			ns->v = grown;
		}
		ns->v[ns->n] = strdup(de->d_name);
		if (!ns->v[ns->n]) {
			ret = -ENOMEM;
			break;
		}
		ns->n++;
	}
	if (ret == 0 && errno)
		ret = -errno;
	closedir(dir);
	if (ret < 0)
		names_release(ns);
	else if (ns->n > 1) /* v is NULL when empty, and qsort's base must not be */
		qsort(ns->v, ns->n, sizeof(*ns->v), name_cmp);
	return ret;
}
