// SPDX-License-Identifier: MIT
/*
 * Logging: stderr in the foreground, syslog (daemon facility) once
 * daemonized. One event, one line: control characters from manifests are
 * escaped so that a hostile path cannot forge log lines.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

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

void voltfs_log(int prio, const char *fmt, ...)
{
	char raw[2048], line[4096];
	size_t j = 0;
	va_list ap;

	if (prio > max_prio)
		return;
	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
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

void voltfs_log_report(void *ctx, const struct volt_diag *d)
{
	char buf[1100];

	(void)ctx;
	volt_diag_format(d, buf, sizeof(buf));
	voltfs_log(LOG_WARNING, "refs/%s", buf);
}
