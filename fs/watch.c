// SPDX-License-Identifier: MIT
/*
 * Live updates: a thread watches refs/ with inotify. When a ref of a profile
 * appears, is replaced (atomic rename) or goes away, the catalog is told to
 * choose again and the kernel to forget the profile's folder entry and the
 * default link's, so the next path walk looks them up afresh. Nothing is
 * loaded here: loading stays lazy, in the lookup that follows. Open files keep their build and objects.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <syslog.h>
#include <unistd.h>

#include "voltfs.h"

#define REF_EVENTS (IN_CREATE | IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE)

static void forget_profile(struct voltfs *fs, enum volt_profile p)
{
	const char *name = volt_profile_name(p);

	/* -ENOENT: the kernel holds no entry for it, nothing to forget. */
	fuse_lowlevel_notify_inval_entry(fs->se, FUSE_ROOT_ID, name, strlen(name));
}

static void handle(struct voltfs *fs, const char *buf, ssize_t len)
{
	bool changed[VOLT_PROFILE_COUNT] = { false }, any = false;
	const struct inotify_event *ev;

	for (const char *p = buf; p < buf + len; p += sizeof(*ev) + ev->len) {
		enum volt_profile prof;
		char id[VOLT_REF_ID_LEN + 1];

		ev = (const struct inotify_event *)p;
		if (ev->mask & IN_Q_OVERFLOW) {
			/* Events were lost: assume every profile changed. */
			for (int i = 0; i < VOLT_PROFILE_COUNT; i++)
				changed[i] = true;
			any = true;
			continue;
		}
		if (!ev->len || ev->name[0] == '.')
			continue; /* writers' temporary files */
		any = true;
		if (volt_ref_parse_name(ev->name, &prof, id) == 0) {
			changed[prof] = true;
			voltfs_log(LOG_INFO, "%s: refs/%s (id %s) %s", volt_profile_name(prof),
				   ev->name, id,
				   ev->mask & (IN_DELETE | IN_MOVED_FROM) ? "removed" : "added");
		}
	}
	if (!any)
		return;
	volt_catalog_invalidate(fs->catalog);
	for (int i = 0; i < VOLT_PROFILE_COUNT; i++)
		if (changed[i])
			forget_profile(fs, (enum volt_profile)i);
	/* Any profile may move the default link, and its cached size with it. */
	fuse_lowlevel_notify_inval_entry(fs->se, FUSE_ROOT_ID, "default", strlen("default"));
	/* The root's mtime is refs/'s. */
	fuse_lowlevel_notify_inval_inode(fs->se, FUSE_ROOT_ID, 0, 0);
}

static void *watch_thread(void *arg)
{
	struct voltfs *fs = arg;
	char buf[16 * (sizeof(struct inotify_event) + NAME_MAX + 1)]
		__attribute__((aligned(__alignof__(struct inotify_event))));

	for (;;) {
		struct pollfd pfd[2] = {
			{ .fd = fs->watch.ifd, .events = POLLIN },
			{ .fd = fs->watch.stop[0], .events = POLLIN },
		};
		ssize_t n;

		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[1].revents)
			break;
		n = read(fs->watch.ifd, buf, sizeof(buf));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			break;
		handle(fs, buf, n);
	}
	return NULL;
}

int voltfs_watch_start(struct voltfs *fs, const char *refs_dir)
{
	struct voltfs_watch *w = &fs->watch;
	int ret;

	w->ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (w->ifd < 0)
		return -errno;
	if (inotify_add_watch(w->ifd, refs_dir, REF_EVENTS) < 0 || pipe2(w->stop, O_CLOEXEC) < 0) {
		ret = -errno;
		close(w->ifd);
		return ret;
	}
	ret = -pthread_create(&w->thread, NULL, watch_thread, fs);
	if (ret < 0) {
		close(w->ifd);
		close(w->stop[0]);
		close(w->stop[1]);
		return ret;
	}
	w->running = true;
	return 0;
}

void voltfs_watch_stop(struct voltfs *fs)
{
	struct voltfs_watch *w = &fs->watch;

	if (!w->running)
		return;
	if (write(w->stop[1], "x", 1) < 0)
		voltfs_log(LOG_WARNING, "stopping the refs/ watch: %s", strerror(errno));
	pthread_join(w->thread, NULL);
	close(w->ifd);
	close(w->stop[0]);
	close(w->stop[1]);
	w->running = false;
}
