// SPDX-License-Identifier: MIT
/*
 * No passthrough: the libfuse in use is older than 3.17. Every object is
 * served by the daemon.
 */
#include <errno.h>

#include "passthrough.h"

bool voltfs_pass_built(void)
{
	return false;
}

bool voltfs_pass_init(struct fuse_conn_info *conn)
{
	(void)conn;
	return false;
}

int voltfs_pass_open(fuse_req_t req, int fd)
{
	(void)req, (void)fd;
	return -EOPNOTSUPP;
}

void voltfs_pass_close(fuse_req_t req, int id)
{
	(void)req, (void)id;
}

void voltfs_pass_reply(struct fuse_file_info *fi, int id)
{
	(void)fi, (void)id;
}
