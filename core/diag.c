// SPDX-License-Identifier: MIT
/* Diagnostics: where core writes down what it refused and why. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "voltfs/diag.h"

void volt_diag_clear(struct volt_diag *d)
{
	if (d)
		memset(d, 0, sizeof(*d));
}

int volt_diag_set(struct volt_diag *d, int err, const char *entry, const char *fmt, ...)
{
	va_list ap;

	if (!d)
		return err;
	snprintf(d->entry, sizeof(d->entry), "%s", entry ? entry : "");
	va_start(ap, fmt);
	vsnprintf(d->reason, sizeof(d->reason), fmt, ap);
	va_end(ap);
	return err;
}

void volt_diag_format(const struct volt_diag *d, char *buf, size_t size)
{
	snprintf(buf, size, "%s%s%s%s%s", d->file, d->file[0] ? ": " : "", d->entry,
		 d->entry[0] ? ": " : "", d->reason);
}
