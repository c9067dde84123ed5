// SPDX-License-Identifier: MIT
/*
 * Passthrough with libfuse >= 3.17: backing ids are registered on the
 * session's /dev/fuse descriptor and named in open replies.
 */
#include <errno.h>

#include "passthrough.h"

bool voltfs_pass_built(void)
{
	return true;
}

bool voltfs_pass_init(struct fuse_conn_info *conn)
{
	if (!(conn->capable & FUSE_CAP_PASSTHROUGH))
		return false;
	conn->want |= FUSE_CAP_PASSTHROUGH;
	/* The kernel refuses passthrough together with the writeback cache. */
	conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
	return true;
}

int voltfs_pass_open(fuse_req_t req, int fd)
{
	int id;

	errno = 0;
	id = fuse_passthrough_open(req, fd);
	/* libfuse logs the failure and returns 0; errno is still the ioctl's. */
	if (id <= 0)
		return errno ? -errno : -EIO;
	return id;
}

void voltfs_pass_close(fuse_req_t req, int id)
{
	fuse_passthrough_close(req, id);
}

void voltfs_pass_reply(struct fuse_file_info *fi, int id)
{
	fi->backing_id = id;
}
