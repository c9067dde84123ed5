/* SPDX-License-Identifier: MIT */
/* Private to core: the sorted names of a folder, for refs/, objects/ and ingest. */
#ifndef VOLTFS_CORE_NAMES_H
#define VOLTFS_CORE_NAMES_H

#include <stdbool.h>
#include <stddef.h>

struct names {
	char **v;
	size_t n;
};

/*
 * Every entry of the folder dirfd (which stays the caller's) but "." and
 * "..", and but every dot file with skip_hidden, sorted with strcmp.
 * 0, or -errno with ns empty.
 */
int names_list(int dirfd, bool skip_hidden, struct names *ns);
void names_release(struct names *ns);

#endif
