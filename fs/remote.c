// SPDX-License-Identifier: MIT
/*
 * The lazy mount's side of a registry (-o registry=): a profile's tag is
 * resolved at its first lookup and every registry_refresh seconds after
 * (a moved tag's ref lands in refs/ and takes the live-update path); an
 * object the store lacks is fetched when it is first wanted. Everything
 * that speaks to a registry is core's (core/remote.c); this file decides
 * when, and says what went wrong, once per change.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "voltfs.h"

/* Log a tag's trouble once, until it changes (a refresh repeats it every period). */
static void say(struct voltfs *fs, unsigned slot, int ret, const struct volt_diag *d)
{
	struct voltfs_remote *rm = &fs->remote;
	char buf[VOLTFS_REMOTE_ERROR_MAX] = "";

	if (ret >= 0) {
		rm->last_error[slot][0] = '\0';
		return;
	}
	volt_diag_format(d, buf, sizeof(buf));
	if (strcmp(buf, rm->last_error[slot]) == 0)
		return;
	memcpy(rm->last_error[slot], buf, sizeof(buf));
	if (ret == -ENOENT)
		voltfs_log(LOG_INFO, "registry: %s: no such tag", buf);
	else
		voltfs_log(LOG_WARNING, "registry: %s (a ref already in refs/ serves on)", buf);
}

/* Resolve profile p's tag (under its lock); a new ref makes the catalog choose again. */
static void sync_profile(struct voltfs *fs, enum volt_profile p)
{
	struct voltfs_remote *rm = &fs->remote;
	struct volt_diag d;
	int ret = volt_remote_sync(rm->r, volt_profile_name(p), &d);

	say(fs, (unsigned)p, ret, &d);
	if (ret == 1) {
		voltfs_log(LOG_INFO, "registry: %s moved: a new build is in refs/",
			   volt_profile_name(p));
		volt_catalog_invalidate(fs->catalog);
	}
	/* -o prefetch: the rest of a build that starts serving, before anyone asks. */
	if (rm->prefetch && ret >= 0 && (ret == 1 || !rm->synced[p])) {
		const struct volt_loaded *l;

		if (volt_catalog_get(fs->catalog, p, &l) == 0 &&
		    volt_remote_prefetch(rm->r, l->ref.name, rm->prefetch) < 0)
			voltfs_log(LOG_WARNING, "registry: cannot prefetch %s", l->dirname);
	}
	__atomic_store_n(&rm->synced[p], true, __ATOMIC_RELEASE);
}

void voltfs_remote_profile(struct voltfs *fs, enum volt_profile p)
{
	struct voltfs_remote *rm = &fs->remote;

	if (!rm->r || __atomic_load_n(&rm->synced[p], __ATOMIC_ACQUIRE))
		return;
	pthread_mutex_lock(&rm->profile_lock[p]);
	if (!rm->synced[p])
		sync_profile(fs, p);
	pthread_mutex_unlock(&rm->profile_lock[p]);
}

int voltfs_remote_pin(struct voltfs *fs, enum volt_profile p, const char *id)
{
	struct voltfs_remote *rm = &fs->remote;
	char tag[VOLT_REF_NAME_MAX];
	struct volt_diag d;
	int ret;

	if (!rm->r)
		return -ENOENT;
	snprintf(tag, sizeof(tag), "%s-%.8s", volt_profile_name(p), id);
	ret = volt_remote_sync(rm->r, tag, &d);
	say(fs, VOLT_PROFILE_COUNT, ret, &d);
	return ret;
}

int voltfs_remote_attr(struct voltfs *fs, const struct volt_loaded *l, const struct volt_hash *h,
		       struct stat *st)
{
	struct voltfs_remote *rm = &fs->remote;
	struct volt_diag d;
	uint64_t size;
	uint32_t mode;
	int ret;

	if (!rm->r)
		return -ENOENT;
	volt_diag_clear(&d);
	ret = volt_remote_blob(rm->r, l->ref.name, h, &size, &mode, &d);
	if (ret < 0)
		return ret;
	memset(st, 0, sizeof(*st));
	st->st_mode = S_IFREG | (mode & 0555);
	st->st_size = (off_t)size;
	st->st_uid = rm->uid;
	st->st_gid = rm->gid;
	st->st_mtim = l->created;
	return 0;
}

int voltfs_remote_fetch(struct voltfs *fs, const struct volt_loaded *l, const struct volt_hash *h)
{
	struct volt_diag d;
	char buf[1100];
	int ret;

	if (!fs->remote.r)
		return -ENOENT;
	ret = volt_remote_fetch(fs->remote.r, l->ref.name, h, &d);
	if (ret < 0) {
		volt_diag_format(&d, buf, sizeof(buf));
		voltfs_log_limited(VOLTFS_LOG_OPEN, LOG_ERR, "registry: fetch of %s failed: %s",
				   l->dirname, buf);
	}
	return ret;
}

static void *refresh_main(void *arg)
{
	struct voltfs *fs = arg;
	struct voltfs_remote *rm = &fs->remote;

	for (;;) {
		struct timespec until;

		for (int p = 0; p < VOLT_PROFILE_COUNT; p++) {
			pthread_mutex_lock(&rm->profile_lock[p]);
			sync_profile(fs, (enum volt_profile)p);
			pthread_mutex_unlock(&rm->profile_lock[p]);
		}
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += rm->refresh_s;
		pthread_mutex_lock(&rm->lock);
		while (!rm->stop && pthread_cond_timedwait(&rm->wake, &rm->lock, &until) == 0)
			;
		if (rm->stop) {
			pthread_mutex_unlock(&rm->lock);
			return NULL;
		}
		pthread_mutex_unlock(&rm->lock);
	}
}

int voltfs_remote_start(struct voltfs *fs)
{
	struct voltfs_remote *rm = &fs->remote;
	pthread_condattr_t ca;
	struct stat st;

	if (!rm->r)
		return 0;
	if (fstat(fs->cas.root_fd, &st) == 0) {
		rm->uid = st.st_uid;
		rm->gid = st.st_gid;
	}
	pthread_mutex_init(&rm->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&rm->wake, &ca);
	pthread_condattr_destroy(&ca);
	for (int p = 0; p < VOLT_PROFILE_COUNT; p++)
		pthread_mutex_init(&rm->profile_lock[p], NULL);
	if (pthread_create(&rm->thread, NULL, refresh_main, fs) != 0)
		return -EAGAIN;
	rm->running = true;
	return 0;
}

void voltfs_remote_stop(struct voltfs *fs)
{
	struct voltfs_remote *rm = &fs->remote;

	if (!rm->running)
		return;
	pthread_mutex_lock(&rm->lock);
	rm->stop = true;
	pthread_cond_signal(&rm->wake);
	pthread_mutex_unlock(&rm->lock);
	pthread_join(rm->thread, NULL);
	rm->running = false;
}
