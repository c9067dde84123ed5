// SPDX-License-Identifier: MIT
/*
 * Manifest parsing and validation. cJSON builds the document; everything a
 * manifest may not do (SPEC "Bad input") is checked here, once, so the tree,
 * the assembly and the tools all see only manifests that keep to the rules.
 */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "voltfs/manifest.h"

/* Refuse path (len bytes, maybe not NUL-terminated): d->entry gets at most len bytes. */
static int refuse_path(struct volt_diag *d, const char *path, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int refuse_path(struct volt_diag *d, const char *path, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (!d)
		return -EINVAL;
	snprintf(d->entry, sizeof(d->entry), "%.*s",
		 (int)(len < sizeof(d->entry) ? len : sizeof(d->entry)), path);
	va_start(ap, fmt);
	vsnprintf(d->reason, sizeof(d->reason), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

int volt_path_check(const char *path, size_t len, struct volt_diag *d)
{
	size_t depth = 0, start = 0;

	if (len == 0)
		return refuse_path(d, path, 0, "empty path");
	if (memchr(path, '\0', len))
		return refuse_path(d, path, len, "path holds a NUL byte");
	if (len > VOLT_PATH_MAX)
		return refuse_path(d, path, len, "path longer than %d bytes", VOLT_PATH_MAX);
	if (path[0] == '/')
		return refuse_path(d, path, len, "absolute path");
	for (size_t i = 0; i <= len; i++) {
		const char *c = path + start;
		size_t n = i - start;

		if (i < len && path[i] != '/')
			continue;
		if (n == 0)
			return refuse_path(d, path, len, "empty path component");
		if ((n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return refuse_path(d, path, len, "'%.*s' component", (int)n, c);
		if (n > VOLT_NAME_MAX)
			return refuse_path(d, path, len, "component longer than %d bytes",
					   VOLT_NAME_MAX);
		if (++depth > VOLT_DEPTH_MAX)
			return refuse_path(d, path, len, "deeper than %d components",
					   VOLT_DEPTH_MAX);
		start = i + 1;
	}
	return 0;
}

static int parse_digits(const char *s, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t days_from_civil(int y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int days_in_month(int y, int m)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : mdays[m - 1];
}

int volt_time_parse_rfc3339(const char *s, struct timespec *ts)
{
	int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
	long nsec = 0;
	const char *p;

	if (strlen(s) < 20 || parse_digits(s, 4, &y) || s[4] != '-' ||
	    parse_digits(s + 5, 2, &mo) || s[7] != '-' || parse_digits(s + 8, 2, &d) ||
	    (s[10] != 'T' && s[10] != 't') || parse_digits(s + 11, 2, &h) || s[13] != ':' ||
	    parse_digits(s + 14, 2, &mi) || s[16] != ':' || parse_digits(s + 17, 2, &sec))
		return -EINVAL;
	if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 60)
		return -EINVAL;
	p = s + 19;
	if (*p == '.') {
		int digits = 0;

		for (p++; *p >= '0' && *p <= '9'; p++, digits++)
			if (digits < 9)
				nsec = nsec * 10 + (*p - '0');
		if (digits == 0)
			return -EINVAL;
		for (; digits < 9; digits++)
			nsec *= 10;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p == '-' ? -1 : 1;
		if (parse_digits(p + 1, 2, &oh) || p[3] != ':' || parse_digits(p + 4, 2, &om) ||
		    oh > 23 || om > 59)
			return -EINVAL;
		p += 6;
	} else {
		return -EINVAL;
	}
	if (*p)
		return -EINVAL;
	if (sec == 60)
		sec = 59; /* a leap second sorts with the second before it */
	ts->tv_sec = (time_t)(days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec -
			      sign * (oh * 3600 + om * 60));
	ts->tv_nsec = nsec;
	return 0;
}

void volt_time_format_rfc3339(const struct timespec *ts, char *buf, size_t size)
{
	struct tm tm;
	time_t t = ts->tv_sec;

	gmtime_r(&t, &tm);
	snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long)ts->tv_nsec);
}

/*
 * cJSON decodes "\u0000" into a NUL that silently ends the string, so such
 * a name would be served as a shorter one: refuse the escape before parsing.
 * Returns the offset of the escape, or -1.
 */
static ptrdiff_t nul_escape(const char *buf, size_t len)
{
	for (size_t i = 0; i + 1 < len; i++) {
		if (buf[i] != '\\')
			continue;
		if (buf[i + 1] == 'u' && i + 5 < len && memcmp(buf + i + 2, "0000", 4) == 0)
			return (ptrdiff_t)i;
		i++; /* skip the escaped character, so "\\u0000" is not a NUL */
	}
	return -1;
}

/* Name the JSON string around offset at (its raw text) for the diagnostic. */
static int refuse_nul(const char *buf, size_t len, size_t at, struct volt_diag *d)
{
	char entry[256];
	size_t start = at, end = at, n;

	while (start > 0 && !(buf[start - 1] == '"' && (start < 2 || buf[start - 2] != '\\')))
		start--;
	while (end < len && !(buf[end] == '"' && buf[end - 1] != '\\'))
		end++;
	n = end - start < sizeof(entry) - 1 ? end - start : sizeof(entry) - 1;
	memcpy(entry, buf + start, n);
	entry[n] = '\0';
	return volt_diag_set(d, -EINVAL, entry, "holds a NUL byte (\\u0000 at byte %zu)", at);
}

struct arena {
	char *base;
	size_t used;
};

static char *arena_put(struct arena *a, const char *s, size_t len)
{
	char *p = a->base + a->used;

	memcpy(p, s, len);
	p[len] = '\0';
	a->used += len + 1;
	return p;
}

static const char *const optional_strings[] = {
	"profile", "qemu_version", "build_date", "build_host", "arch",
};

static char **optional_field(struct volt_manifest *m, size_t i)
{
	char **fields[] = { &m->profile, &m->qemu_version, &m->build_date, &m->build_host,
			    &m->arch };

	return fields[i];
}

static int entry_cmp(const void *a, const void *b)
{
	const struct volt_manifest_entry *x = a, *y = b;

	return strcmp(x->path, y->path);
}

static bool is_word(const char *s, size_t len, const char *word)
{
	return strlen(word) == len && memcmp(s, word, len) == 0;
}

/*
 * Rules that involve more than one entry, in one pass over the sorted
 * entries: duplicates, reserved names, and a path that is also a folder.
 * Paths that begin with P are consecutive in sorted order, so a stack of the
 * entries that prefix the current one finds every file-and-folder clash with
 * one comparison per push and pop.
 */
static int check_entries(const struct volt_manifest *m, struct volt_diag *d)
{
	size_t *stack = NULL, depth = 0;
	int ret = 0;

	if (m->n_entries && !(stack = malloc(m->n_entries * sizeof(*stack))))
		return volt_diag_set(d, -ENOMEM, NULL, "out of memory");
	for (size_t i = 0; i < m->n_entries && ret == 0; i++) {
		const struct volt_manifest_entry *e = &m->entries[i];
		const char *slash = memchr(e->path, '/', e->path_len);
		size_t top = slash ? (size_t)(slash - e->path) : e->path_len;

		if (i > 0 && strcmp(m->entries[i - 1].path, e->path) == 0) {
			ret = volt_diag_set(d, -EINVAL, e->path, "path listed twice");
			break;
		}
		if (is_word(e->path, top, "args") || is_word(e->path, top, "env") ||
		    is_word(e->path, top, "unit")) {
			ret = volt_diag_set(d, -EINVAL, e->path,
					    "'%.*s' is reserved for the synthetic file", (int)top,
					    e->path);
			break;
		}
		if (!slash && (is_word(e->path, top, "bin") || is_word(e->path, top, "lib") ||
			       is_word(e->path, top, "firmware"))) {
			ret = volt_diag_set(d, -EINVAL, e->path, "'%s' must be a folder", e->path);
			break;
		}
		while (depth) {
			const struct volt_manifest_entry *p = &m->entries[stack[depth - 1]];

			if (p->path_len < e->path_len &&
			    memcmp(p->path, e->path, p->path_len) == 0) {
				if (e->path[p->path_len] == '/')
					ret = volt_diag_set(d, -EINVAL, p->path,
							    "path is both a file and a folder (%s)",
							    e->path);
				break;
			}
			depth--;
		}
		stack[depth++] = i;
	}
	free(stack);
	return ret;
}

/*
 * cJSON keeps the first of a repeated key, Go's encoding/json the last: a
 * key that means something must appear once. One pass, so that a manifest
 * with many unknown keys costs linear time.
 */
static int check_known_keys_once(const cJSON *root, struct volt_diag *d)
{
	static const char *const known[] = { "name",	   "created_at",   "objects",
					     "profile",	   "qemu_version", "build_date",
					     "build_host", "arch",	   "total_bytes" };
	enum { N = sizeof(known) / sizeof(*known) };
	int seen[N] = { 0 };
	const cJSON *it;

	cJSON_ArrayForEach(it, root) {
		for (int k = 0; k < N; k++) {
			if (strcmp(it->string, known[k]) == 0 && seen[k]++)
				return volt_diag_set(d, -EBADMSG, known[k], "key given twice");
		}
	}
	return 0;
}

static size_t arena_size(const cJSON *root, const cJSON *objects)
{
	size_t size = 0;
	const cJSON *it;

	cJSON_ArrayForEach(it, root)
		if (cJSON_IsString(it))
			size += strlen(it->valuestring) + 1;
	cJSON_ArrayForEach(it, objects)
		size += strlen(it->string) + 1;
	return size;
}

static int fill_fields(struct volt_manifest *m, const cJSON *root, struct arena *a,
		       struct volt_diag *d)
{
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(root, "name");
	const cJSON *created = cJSON_GetObjectItemCaseSensitive(root, "created_at");
	const cJSON *total = cJSON_GetObjectItemCaseSensitive(root, "total_bytes");

	if (!cJSON_IsString(name) || !name->valuestring[0])
		return volt_diag_set(d, -EBADMSG, "name", "missing or not a non-empty string");
	if (!cJSON_IsString(created))
		return volt_diag_set(d, -EBADMSG, "created_at", "missing or not a string");
	if (volt_time_parse_rfc3339(created->valuestring, &m->created) < 0)
		return volt_diag_set(d, -EBADMSG, "created_at", "not an RFC 3339 time: '%.64s'",
				     created->valuestring);
	m->name = arena_put(a, name->valuestring, strlen(name->valuestring));
	m->created_at = arena_put(a, created->valuestring, strlen(created->valuestring));
	for (size_t i = 0; i < sizeof(optional_strings) / sizeof(*optional_strings); i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, optional_strings[i]);

		if (!v || cJSON_IsNull(v))
			continue;
		if (!cJSON_IsString(v))
			return volt_diag_set(d, -EBADMSG, optional_strings[i], "not a string");
		*optional_field(m, i) = arena_put(a, v->valuestring, strlen(v->valuestring));
	}
	/* arch names the binary, bin/qemu-system-<arch>: a word, never a path. */
	if (m->arch && (!m->arch[0] || strlen(m->arch) > 32 ||
			m->arch[strspn(m->arch, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWX"
						"YZ"
						"0123456789_-")]))
		return volt_diag_set(d, -EBADMSG, "arch", "'%.40s' is not an architecture name",
				     m->arch);
	if (total && !cJSON_IsNull(total)) {
		if (!cJSON_IsNumber(total) || total->valuedouble < 0 ||
		    total->valuedouble > 9.0e15 ||
		    total->valuedouble != (double)(int64_t)total->valuedouble)
			return volt_diag_set(d, -EBADMSG, "total_bytes", "not a byte count");
		m->total_bytes = (int64_t)total->valuedouble;
	}
	return 0;
}

static int fill_entries(struct volt_manifest *m, const cJSON *objects, struct arena *a,
			struct volt_diag *d)
{
	const cJSON *it;
	size_t n = 0;
	int ret;

	cJSON_ArrayForEach(it, objects) {
		struct volt_manifest_entry *e = &m->entries[n];
		size_t len = strlen(it->string);

		ret = volt_path_check(it->string, len, d);
		if (ret < 0)
			return ret;
		if (!cJSON_IsString(it))
			return volt_diag_set(d, -EINVAL, it->string, "hash is not a string");
		if (volt_hash_parse(&e->hash, it->valuestring, strlen(it->valuestring)) < 0)
			return volt_diag_set(d, -EINVAL, it->string,
					     "'%.80s' is not an object name (32 or 64 lowercase "
					     "hex)",
					     it->valuestring);
		e->path = arena_put(a, it->string, len);
		e->path_len = (uint32_t)len;
		n++;
	}
	m->n_entries = n;
	/* volt-cas writes its manifests nearly sorted already: check before sorting. */
	for (size_t i = 1; i < n; i++) {
		if (strcmp(m->entries[i - 1].path, m->entries[i].path) > 0) {
			qsort(m->entries, n, sizeof(*m->entries), entry_cmp);
			break;
		}
	}
	return check_entries(m, d);
}

int volt_manifest_parse(struct volt_manifest *m, const char *buf, size_t len, struct volt_diag *d)
{
	const char *end = NULL;
	const cJSON *objects;
	cJSON *root = NULL;
	struct arena a = { 0 };
	ptrdiff_t nul;
	int count, ret;

	memset(m, 0, sizeof(*m));
	if (len > VOLT_MANIFEST_MAX_BYTES)
		return volt_diag_set(d, -EFBIG, NULL, "larger than %u bytes",
				     VOLT_MANIFEST_MAX_BYTES);
	if (memchr(buf, '\0', len))
		return volt_diag_set(d, -EINVAL, NULL, "holds a NUL byte at byte %td",
				     (const char *)memchr(buf, '\0', len) - buf);
	nul = nul_escape(buf, len);
	if (nul >= 0)
		return refuse_nul(buf, len, (size_t)nul, d);
	root = cJSON_ParseWithLengthOpts(buf, len, &end, false);
	if (!root) {
		ret = volt_diag_set(d, -EBADMSG, NULL, "not JSON (at byte %td)",
				    cJSON_GetErrorPtr() ? cJSON_GetErrorPtr() - buf : (ptrdiff_t)0);
		goto out;
	}
	for (; end < buf + len; end++) {
		if (!strchr(" \t\r\n", *end)) {
			ret = volt_diag_set(d, -EBADMSG, NULL, "data after the JSON document");
			goto out;
		}
	}
	if (!cJSON_IsObject(root)) {
		ret = volt_diag_set(d, -EBADMSG, NULL, "not a JSON object");
		goto out;
	}
	ret = check_known_keys_once(root, d);
	if (ret < 0)
		goto out;
	objects = cJSON_GetObjectItemCaseSensitive(root, "objects");
	if (!cJSON_IsObject(objects)) {
		ret = volt_diag_set(d, -EBADMSG, "objects", "missing or not an object");
		goto out;
	}
	count = cJSON_GetArraySize(objects);
	if ((unsigned)count > VOLT_MANIFEST_MAX_OBJECTS) {
		ret = volt_diag_set(d, -EFBIG, "objects", "more than %u entries",
				    VOLT_MANIFEST_MAX_OBJECTS);
		goto out;
	}
	ret = -ENOMEM;
	a.base = malloc(arena_size(root, objects) + 1);
	m->entries = calloc((size_t)count + 1, sizeof(*m->entries));
	if (!a.base || !m->entries)
		goto out;
	m->arena = a.base;
	ret = fill_fields(m, root, &a, d);
	if (ret == 0)
		ret = fill_entries(m, objects, &a, d);
out:
	cJSON_Delete(root);
	if (ret < 0) {
		if (ret == -ENOMEM)
			volt_diag_set(d, ret, NULL, "out of memory");
		a.base = NULL;
		volt_manifest_release(m);
	}
	return ret;
}

void volt_manifest_release(struct volt_manifest *m)
{
	free(m->entries);
	free(m->arena);
	memset(m, 0, sizeof(*m));
}

int volt_manifest_read(int dirfd, const char *name, char **out, size_t *len_out)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	int fd, ret;

	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return errno == ELOOP ? -EBADMSG : -errno;
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		goto out;
	}
	ret = -EBADMSG;
	if (!S_ISREG(st.st_mode))
		goto out;
	ret = -EFBIG;
	if ((uint64_t)st.st_size > VOLT_MANIFEST_MAX_BYTES)
		goto out;
	ret = -ENOMEM;
	buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		goto out;
	while (len < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + len, (size_t)st.st_size - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			goto out;
		}
		if (n == 0)
			break; /* shrank under us: parse what is there, the id check decides */
		len += (size_t)n;
	}
	*out = buf;
	*len_out = len;
	buf = NULL;
	ret = 0;
out:
	free(buf);
	close(fd);
	return ret;
}

int volt_manifest_load(struct volt_manifest *m, int dirfd, const char *name, const char *id,
		       struct volt_diag *d)
{
	char *buf = NULL;
	size_t len = 0;
	int ret;

	memset(m, 0, sizeof(*m));
	volt_diag_clear(d);
	if (d)
		snprintf(d->file, sizeof(d->file), "%s", name);
	ret = volt_manifest_read(dirfd, name, &buf, &len);
	if (ret == -EBADMSG)
		return volt_diag_set(d, ret, NULL, "not a regular file");
	if (ret == -EFBIG)
		return volt_diag_set(d, ret, NULL, "larger than %u bytes", VOLT_MANIFEST_MAX_BYTES);
	if (ret < 0)
		return volt_diag_set(d, ret, NULL, "cannot read: %s", strerror(-ret));
	if (id) {
		struct volt_hash h;
		char hex[VOLT_HASH_HEX_MAX + 1];

		volt_hash_xxh128(&h, buf, len);
		volt_hash_format(&h, hex);
		if (strncmp(hex, id, 8) != 0) {
			ret = volt_diag_set(d, -EBADMSG, NULL,
					    "content does not match its id (XXH3-128 %s)", hex);
			goto out;
		}
	}
	ret = volt_manifest_parse(m, buf, len, d);
out:
	free(buf);
	return ret;
}

/*
 * The head read: a walk over the top-level object only, skipping every
 * value but created_at without building it. Each function returns 0, 1 when
 * the bytes end first (read more), or -EAGAIN when only cJSON can judge.
 */
#define HEAD_BYTES 16384

struct scan {
	const char *p, *end;
};

static void scan_ws(struct scan *s)
{
	/* cJSON takes every byte up to ' ' for white space. */
	while (s->p < s->end && (unsigned char)*s->p <= ' ')
		s->p++;
}

/* At an opening quote: past the closing one, with its text and whether it escapes. */
static int scan_string(struct scan *s, const char **text, size_t *len, bool *escaped)
{
	*text = ++s->p;
	*escaped = false;
	while (s->p < s->end) {
		if (*s->p == '"') {
			*len = (size_t)(s->p++ - *text);
			return 0;
		}
		if (*s->p == '\\') {
			*escaped = true;
			if (s->end - s->p < 2)
				return 1;
			s->p++;
		}
		s->p++;
	}
	return 1;
}

static int scan_skip_value(struct scan *s)
{
	int depth = 0;

	while (s->p < s->end) {
		const char *text;
		size_t len;
		bool escaped;

		if (*s->p == '"') {
			if (scan_string(s, &text, &len, &escaped))
				return 1;
			if (depth == 0)
				return 0;
			continue;
		}
		if (depth == 0 && (*s->p == ',' || *s->p == '}'))
			return 0; /* a number, true, false or null ended */
		if (*s->p == '{' || *s->p == '[') {
			depth++;
		} else if (*s->p == '}' || *s->p == ']') {
			if (--depth < 0)
				return -EAGAIN;
			if (depth == 0) {
				s->p++;
				return 0;
			}
		}
		s->p++;
	}
	return 1;
}

static int scan_head(const char *buf, size_t len, struct timespec *created, char *out)
{
	struct scan s = { buf, buf + len };
	const char *text;
	size_t n;
	bool escaped;
	int ret;

	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		s.p += 3; /* as cJSON does */
	scan_ws(&s);
	if (s.p == s.end)
		return 1;
	if (*s.p++ != '{')
		return -EAGAIN;
	for (;;) {
		bool is_created;

		scan_ws(&s);
		if (s.p == s.end)
			return 1;
		if (*s.p != '"')
			return -EAGAIN; /* the object ended without it, or is not JSON */
		if (scan_string(&s, &text, &n, &escaped))
			return 1;
		if (escaped)
			return -EAGAIN; /* "created\u005fat" is created_at to cJSON */
		is_created = n == strlen("created_at") && memcmp(text, "created_at", n) == 0;
		scan_ws(&s);
		if (s.p == s.end)
			return 1;
		if (*s.p++ != ':')
			return -EAGAIN;
		scan_ws(&s);
		if (s.p == s.end)
			return 1;
		if (is_created) {
			char value[64];

			if (*s.p != '"')
				return -EAGAIN;
			if (scan_string(&s, &text, &n, &escaped))
				return 1;
			if (escaped || n >= sizeof(value))
				return -EAGAIN;
			memcpy(value, text, n);
			value[n] = '\0';
			if (volt_time_parse_rfc3339(value, created) < 0)
				return -EAGAIN;
			if (out)
				memcpy(out, value, n + 1);
			return 0;
		}
		ret = scan_skip_value(&s);
		if (ret)
			return ret;
		scan_ws(&s);
		if (s.p == s.end)
			return 1;
		if (*s.p++ != ',')
			return -EAGAIN;
	}
}

int volt_manifest_peek_created(const char *buf, size_t len, struct timespec *created,
			       char *created_at)
{
	int ret = scan_head(buf, len, created, created_at);

	return ret == 1 ? -EAGAIN : ret;
}

static ssize_t read_at(int fd, char *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = pread(fd, buf + got, len - got, (off_t)got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

int volt_manifest_read_created(int dirfd, const char *name, struct timespec *created,
			       char *created_at, struct stat *st)
{
	size_t want = HEAD_BYTES;
	char *buf = NULL;
	ssize_t n;
	int fd, ret;

	memset(st, 0, sizeof(*st));
	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return errno == ELOOP ? -EBADMSG : -errno;
	if (fstat(fd, st) < 0) {
		ret = -errno;
		goto out;
	}
	ret = -EBADMSG;
	if (!S_ISREG(st->st_mode))
		goto out;
	for (int pass = 0;; pass++) {
		ret = -ENOMEM;
		free(buf);
		buf = malloc(want);
		if (!buf)
			goto out;
		n = read_at(fd, buf, want);
		if (n < 0) {
			ret = (int)n;
			goto out;
		}
		ret = scan_head(buf, (size_t)n, created, created_at);
		if (ret != 1)
			goto out;
		/* The head was not enough: once more with the whole file, if it is not too big. */
		ret = -EAGAIN;
		if ((size_t)n < want || pass > 0 || (uint64_t)st->st_size > VOLT_MANIFEST_MAX_BYTES)
			goto out;
		want = (size_t)st->st_size + 1;
	}
out:
	free(buf);
	close(fd);
	return ret;
}

const struct volt_manifest_entry *volt_manifest_find(const struct volt_manifest *m,
						     const char *path)
{
	struct volt_manifest_entry key = { .path = path };

	return bsearch(&key, m->entries, m->n_entries, sizeof(*m->entries), entry_cmp);
}
