/* SPDX-License-Identifier: MIT */
/*
 * FUSE passthrough, where the libfuse in use has it (>= 3.17): the kernel
 * reads an object's store file itself, so its reads never reach the daemon.
 * CMake builds passthrough.c or, for an older libfuse, passthrough_none.c.
 */
#ifndef VOLTFS_PASSTHROUGH_H
#define VOLTFS_PASSTHROUGH_H

#include <stdbool.h>

#include <fuse_lowlevel.h>

/* Was this voltfs built with passthrough (a libfuse >= 3.17)? */
bool voltfs_pass_built(void);

/*
 * In INIT: ask for passthrough if the kernel offers it. True if it was asked
 * for. The caller must leave the writeback cache off.
 */
bool voltfs_pass_init(struct fuse_conn_info *conn);

/*
 * A backing id for fd (> 0), or -errno: -EPERM without CAP_SYS_ADMIN in the
 * initial user namespace, -EOPNOTSUPP in a build without passthrough. The
 * kernel holds its own reference on the file: fd may be closed after.
 */
int voltfs_pass_open(fuse_req_t req, int fd);
/* Forget a backing id: only once no open file of its inode uses it. */
void voltfs_pass_close(fuse_req_t req, int id);

/* Let the kernel read this open file through backing id (in the open reply). */
void voltfs_pass_reply(struct fuse_file_info *fi, int id);

#endif
