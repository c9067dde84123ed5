// SPDX-License-Identifier: MIT
/*
 * Confinement of the mounted daemon (it parses manifests that may be
 * hostile): PR_SET_NO_NEW_PRIVS, a Landlock domain through the raw system
 * calls, then capabilities; and the unmount helper forked before, since a
 * Landlock domain may not unmount.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/landlock.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "confine.h"
#include "voltfs.h"

/* What linux/landlock.h may be too old to say (ABI 3 to 6). */
#define FS_TRUNCATE (1ULL << 14)
#define FS_IOCTL_DEV (1ULL << 15)
#define NET_BIND_TCP (1ULL << 0)
#define NET_CONNECT_TCP (1ULL << 1)
#define RULE_NET_PORT 2
#define SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0)
#define SCOPE_SIGNAL (1ULL << 1)

/* struct landlock_ruleset_attr as of ABI 6; older kernels get a shorter size. */
struct ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net;
	uint64_t scoped;
};

struct net_port_attr {
	uint64_t allowed_access;
	uint64_t port;
};

#define FS_READ (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR)
#define FS_WRITE_V1                                                    \
	(LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_MAKE_REG | \
	 LANDLOCK_ACCESS_FS_REMOVE_FILE)

/* Every file system right the kernel's ABI knows: all of them refused but by a rule. */
static uint64_t fs_handled(int abi)
{
	uint64_t all = (LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1;

	if (abi >= 2)
		all |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		all |= FS_TRUNCATE;
	if (abi >= 5)
		all |= FS_IOCTL_DEV;
	return all;
}

static int add_path_rule(int ruleset, const char *path, uint64_t access)
{
	struct landlock_path_beneath_attr rule = { .allowed_access = access };
	int ret = 0;

	rule.parent_fd = open(path, O_PATH | O_CLOEXEC);
	if (rule.parent_fd < 0)
		return -errno;
	if (syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &rule, 0) < 0)
		ret = -errno;
	close(rule.parent_fd);
	return ret;
}

/* -DVOLTFS_SANITIZE=ON (tests only): gcc says __SANITIZE_ADDRESS__, clang __has_feature. */
#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED true
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED true
#endif
#endif
#ifndef SANITIZED
#define SANITIZED false
#endif

/*
 * A sanitizer build keeps what its runtime opens once confined: /proc
 * (LeakSanitizer reads its task/ and maps at exit) and the folder
 * of ASAN_OPTIONS' log_path, where scripts/test collects every report.
 */
static int add_sanitizer_rules(int ruleset, uint64_t write)
{
	const char *opts = getenv("ASAN_OPTIONS"), *p = opts ? strstr(opts, "log_path=") : NULL;
	char dir[PATH_MAX], *slash;
	int ret;

	if (!SANITIZED)
		return 0;
	/* All of /proc: its /proc/<pid> inode is made again each time it is looked up. */
	ret = add_path_rule(ruleset, "/proc", FS_READ);
	if (ret < 0 || !p)
		return ret;
	p += strlen("log_path=");
	snprintf(dir, sizeof(dir), "%.*s", (int)strcspn(p, ":"), p);
	slash = strrchr(dir, '/');
	if (!slash)
		return 0; /* stderr, stdout, or a name in the working folder: none to allow */
	slash[slash == dir] = '\0';
	return add_path_rule(ruleset, dir, write);
}

static int add_rules(int ruleset, int abi, const struct voltfs_confine *c)
{
	uint64_t write = FS_READ | FS_WRITE_V1;
	int ret;

	if (abi >= 2)
		write |= LANDLOCK_ACCESS_FS_REFER; /* a temporary file linked into place */
	if (abi >= 3)
		write |= FS_TRUNCATE;
	ret = add_path_rule(ruleset, c->store,
			    FS_READ | (c->exec_store ? LANDLOCK_ACCESS_FS_EXECUTE : 0));
	for (size_t i = 0; ret == 0 && c->writable && c->writable[i]; i++)
		ret = add_path_rule(ruleset, c->writable[i], write);
	for (size_t i = 0; ret == 0 && c->readable && c->readable[i]; i++) {
		/* A file or a folder; one this host lacks is nothing to allow. */
		ret = add_path_rule(ruleset, c->readable[i], FS_READ);
		if (ret == -EINVAL) /* a file: only the file rights apply */
			ret = add_path_rule(ruleset, c->readable[i], LANDLOCK_ACCESS_FS_READ_FILE);
		if (ret == -ENOENT)
			ret = 0;
	}
	if (ret == 0 && c->dev_fuse)
		ret = add_path_rule(ruleset, "/dev/fuse",
				    LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE |
					    (abi >= 5 ? FS_IOCTL_DEV : 0));
	if (ret == 0)
		ret = add_sanitizer_rules(ruleset, write);
	for (size_t i = 0; ret == 0 && abi >= 4 && c->connect_ports && c->connect_ports[i]; i++) {
		struct net_port_attr port = { NET_CONNECT_TCP, c->connect_ports[i] };

		if (syscall(SYS_landlock_add_rule, ruleset, RULE_NET_PORT, &port, 0) < 0)
			ret = -errno;
	}
	return ret;
}

/* 1 when a domain is in force, 0 where the kernel has no Landlock, else a negative errno. */
static int landlock_apply(const struct voltfs_confine *c)
{
	struct ruleset_attr attr = { 0 };
	size_t size = sizeof(attr.handled_access_fs);
	int abi, ruleset, ret;

	abi = (int)syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	if (abi < 0) {
		if (errno != ENOSYS && errno != EOPNOTSUPP)
			return -errno;
		voltfs_log(LOG_WARNING,
			   "the kernel has no Landlock (%s): serving without a file system "
			   "sandbox",
			   errno == ENOSYS ? "not built in" : "disabled at boot");
		return 0;
	}
	attr.handled_access_fs = fs_handled(abi);
	if (abi >= 4) {
		/* No TCP at all, or a connect to the registry's port only. */
		attr.handled_access_net = NET_BIND_TCP | NET_CONNECT_TCP;
		size = offsetof(struct ruleset_attr, scoped);
	}
	if (abi >= 6) {
		attr.scoped = SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL;
		size = sizeof(attr);
	}
	ruleset = (int)syscall(SYS_landlock_create_ruleset, &attr, size, 0);
	if (ruleset < 0)
		return -errno;
	ret = add_rules(ruleset, abi, c);
	if (ret == 0 && syscall(SYS_landlock_restrict_self, ruleset, 0) < 0)
		ret = -errno;
	close(ruleset);
	if (ret == 0)
		voltfs_log(LOG_DEBUG, "Landlock ABI %d: reads beneath %s only", abi, c->store);
	return ret < 0 ? ret : 1;
}

/*
 * Every set empty but CAP_SYS_ADMIN when asked (and held). The bounding set
 * too, so that no execve can bring a capability back; without CAP_SETPCAP
 * (not root) it cannot be lowered, and there is nothing in it to fear.
 */
static int caps_drop(bool keep_sys_admin)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = { { 0 } };
	uint64_t keep = keep_sys_admin ? 1ULL << CAP_SYS_ADMIN : 0, have;

	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return -errno;
	for (int cap = 0; cap < 64 && prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; cap++)
		if (!(keep & (1ULL << cap)) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 &&
		    errno != EPERM)
			return -errno;
	if (syscall(SYS_capget, &hdr, data) < 0)
		return -errno;
	have = data[0].permitted | (uint64_t)data[1].permitted << 32;
	keep &= have;
	for (int i = 0; i < _LINUX_CAPABILITY_U32S_3; i++) {
		data[i].effective = data[i].permitted = (uint32_t)(keep >> (32 * i));
		data[i].inheritable = 0;
	}
	if (syscall(SYS_capset, &hdr, data) < 0)
		return -errno;
	return 0;
}

int voltfs_confine_apply(const struct voltfs_confine *c)
{
	int ret;

	/*
	 * Load now what the C library would open later: /etc/localtime for
	 * syslog's stamps, and libgcc_s, which pthread_cancel (the watch's and
	 * libfuse's workers' end) dlopens and aborts without. Kept for good.
	 */
	tzset();
	if (!dlopen("libgcc_s.so.1", RTLD_NOW | RTLD_NODELETE))
		voltfs_log(LOG_WARNING, "libgcc_s.so.1: %s", dlerror());
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		ret = -errno;
		voltfs_log(LOG_ERR, "PR_SET_NO_NEW_PRIVS: %s", strerror(-ret));
		return ret;
	}
	ret = landlock_apply(c);
	if (ret < 0) {
		voltfs_log(LOG_ERR, "Landlock: %s", strerror(-ret));
		return ret;
	}
	ret = caps_drop(c->keep_sys_admin);
	if (ret < 0)
		voltfs_log(LOG_ERR, "dropping capabilities: %s", strerror(-ret));
	return ret;
}

__attribute__((noreturn)) static void unmounter_main(int fd, const char *mnt)
{
	char c;
	ssize_t n;

	/* The daemon's stop signals are its own; the helper ends with its pipe. */
	signal(SIGTERM, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	/* Above all not /dev/fuse: a copy held here would keep the session alive. */
	if (fd > 3)
		syscall(SYS_close_range, 3, fd - 1, 0);
	syscall(SYS_close_range, fd + 1, ~0U, 0);
	prctl(PR_SET_NAME, "voltfs-umount", 0, 0, 0);
	do
		n = read(fd, &c, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1)
		_exit(0); /* the daemon died: the mount stays, dead, as after any crash */
	if (umount2(mnt, MNT_DETACH) == 0)
		_exit(0);
	execlp("fusermount3", "fusermount3", "-u", "-q", "-z", "--", mnt, (char *)NULL);
	_exit(1);
}

int voltfs_unmounter_start(struct voltfs_unmounter *u, const char *mnt)
{
	int p[2], err;

	u->pid = -1;
	u->fd = -1;
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	u->pid = fork();
	if (u->pid == 0)
		unmounter_main(p[0], mnt);
	err = errno;
	close(p[0]);
	if (u->pid < 0) {
		close(p[1]);
		return -err;
	}
	u->fd = p[1];
	return 0;
}

void voltfs_unmounter_finish(struct voltfs_unmounter *u, int fuse_fd)
{
	struct pollfd pfd = { .fd = fuse_fd, .events = 0 };

	if (u->pid <= 0)
		return;
	/* POLLERR: unmounted from outside, or aborted; the mount point may hold another now. */
	if (fuse_fd >= 0 && !(poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLERR)) &&
	    write(u->fd, "u", 1) != 1)
		voltfs_log(LOG_ERR, "unmount helper: %s", strerror(errno));
	close(u->fd);
	while (waitpid(u->pid, NULL, 0) < 0 && errno == EINTR)
		;
	u->pid = -1;
	u->fd = -1;
}
