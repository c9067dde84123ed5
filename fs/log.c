// SPDX-License-Identifier: MIT
/*
 * Logging: stderr in the foreground, syslog (daemon facility) once
 * daemonized. One event, one line: control characters from manifests are
 * escaped so that a hostile path cannot forge log lines. Lines any user can
 * cause (a lookup of a missing object, a failed open) are rate-limited per
 * class, with a count of what was suppressed.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "voltfs.h"

static bool to_stderr = true;
static int max_prio = LOG_INFO;

int voltfs_log_level(const char *name)
{
	static const struct {
		const char *name;
		int prio;
	} levels[] = { { "error", LOG_ERR },
		       { "warning", LOG_WARNING },
		       { "info", LOG_INFO },
		       { "debug", LOG_DEBUG } };

	for (size_t i = 0; i < sizeof(levels) / sizeof(*levels); i++)
		if (strcmp(name, levels[i].name) == 0)
			return levels[i].prio;
	return -1;
}

void voltfs_log_init(bool foreground, int level)
{
	to_stderr = foreground;
	max_prio = level;
	if (!foreground)
		openlog("voltfs", LOG_PID, LOG_DAEMON);
}

static void vlog(int prio, const char *fmt, va_list ap)
{
	char raw[2048], line[4096];
	size_t j = 0;

	vsnprintf(raw, sizeof(raw), fmt, ap);
	for (size_t i = 0; raw[i] && j + 5 < sizeof(line); i++) {
		unsigned char c = (unsigned char)raw[i];

		if (c < 0x20 || c == 0x7f)
			j += (size_t)snprintf(line + j, sizeof(line) - j, "\\x%02x", c);
		else
			line[j++] = (char)c;
	}
	line[j] = '\0';
	if (to_stderr)
		fprintf(stderr, "voltfs: %s\n", line);
	else
		syslog(prio, "%s", line);
}

void voltfs_log(int prio, const char *fmt, ...)
{
	va_list ap;

	if (prio > max_prio)
		return;
	va_start(ap, fmt);
	vlog(prio, fmt, ap);
	va_end(ap);
}

/*
 * A token bucket per class: BURST lines at once, then one per second; what
 * does not fit is counted and the count said with the next line let through.
 */
#define BURST 10.0
#define PER_SEC 1.0

static struct bucket {
	pthread_mutex_t lock;
	bool started;
	double tokens;
	struct timespec last;
	unsigned long long suppressed;
} buckets[VOLTFS_LOG_CLASSES] = {
	[0 ... VOLTFS_LOG_CLASSES - 1] = { .lock = PTHREAD_MUTEX_INITIALIZER },
};

static const char *const class_names[VOLTFS_LOG_CLASSES] = {
	[VOLTFS_LOG_LOOKUP] = "lookups of missing or bad objects",
	[VOLTFS_LOG_OPEN] = "failed opens",
};

/*
 * What each class said lately, by key (a cause and an object): a line is said
 * once per key, its repeats counted with the suppressed. Direct-mapped, so
 * bounded: a key pushed out by others may be said again, still rate-limited.
 */
#define SEEN_SLOTS 4096
static uint64_t seen[VOLTFS_LOG_CLASSES][SEEN_SLOTS]; /* under its bucket's lock */

static void vlog_limited(enum voltfs_log_class c, uint64_t key, int prio, const char *fmt,
			 va_list ap)
{
	struct bucket *b = &buckets[c];
	uint64_t *slot = &seen[c][key % SEEN_SLOTS];
	unsigned long long suppressed;
	struct timespec now;

	if (prio > max_prio)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	pthread_mutex_lock(&b->lock);
	if (key && *slot == key) {
		b->suppressed++;
		pthread_mutex_unlock(&b->lock);
		return;
	}
	if (!b->started) {
		b->started = true;
		b->tokens = BURST;
	} else {
		b->tokens += ((double)(now.tv_sec - b->last.tv_sec) +
			      (double)(now.tv_nsec - b->last.tv_nsec) / 1e9) *
			     PER_SEC;
		if (b->tokens > BURST)
			b->tokens = BURST;
	}
	b->last = now;
	if (b->tokens < 1.0) {
		b->suppressed++;
		pthread_mutex_unlock(&b->lock);
		return;
	}
	b->tokens -= 1.0;
	if (key)
		*slot = key;
	suppressed = b->suppressed;
	b->suppressed = 0;
	pthread_mutex_unlock(&b->lock);
	if (suppressed)
		voltfs_log(prio, "%llu similar messages suppressed (%s)", suppressed,
			   class_names[c]);
	vlog(prio, fmt, ap);
}

void voltfs_log_limited(enum voltfs_log_class c, int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog_limited(c, 0, prio, fmt, ap);
	va_end(ap);
}

void voltfs_log_once(enum voltfs_log_class c, uint64_t key, int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog_limited(c, key ? key : 1, prio, fmt, ap);
	va_end(ap);
}

void voltfs_log_report(void *ctx, const struct volt_diag *d)
{
	char buf[1100];

	(void)ctx;
	volt_diag_format(d, buf, sizeof(buf));
	voltfs_log(LOG_WARNING, "refs/%s", buf);
}
