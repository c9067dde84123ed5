// SPDX-License-Identifier: MIT
/*
 * The fuzz harnesses (see harness.h). Each one feeds the bytes to core and
 * then checks the answer against the contract with an oracle of its own: a
 * second, naive implementation of the path rules and the ref-name shape, a
 * walk of every node of a built tree, and a systemd-style unquoting of the
 * rendered unit compared word for word with the expected QEMU arguments.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"
#include "voltfs/diag.h"
#include "voltfs/manifest.h"
#include "voltfs/profile.h"
#include "voltfs/refs.h"
#include "voltfs/render.h"
#include "voltfs/tree.h"

__attribute__((noreturn)) static void check_failed(const char *file, int line, const char *what)
{
	fprintf(stderr, "fuzz: %s:%d: check failed: %s\n", file, line, what);
	abort();
}

#define CHECK(cond)                                              \
	do {                                                     \
		if (!(cond))                                     \
			check_failed(__FILE__, __LINE__, #cond); \
	} while (0)

/* A NUL-terminated copy of the fuzz bytes (it ends at the first NUL they hold). */
static char *cstr(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	CHECK(s != NULL);
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

static bool terminated(const char *buf, size_t size)
{
	return memchr(buf, '\0', size) != NULL;
}

/* A refusal: a documented errno, a reason, and a diagnostic that is all C strings. */
static void check_refusal(int ret, const struct volt_diag *d)
{
	CHECK(ret == -EINVAL || ret == -EBADMSG || ret == -EFBIG || ret == -ENOMEM);
	CHECK(terminated(d->file, sizeof(d->file)));
	CHECK(terminated(d->entry, sizeof(d->entry)));
	CHECK(terminated(d->reason, sizeof(d->reason)));
	CHECK(d->reason[0] != '\0');
}

/* ---- paths ------------------------------------------------------------- */

/* SPEC's path rules written the plain way, to compare volt_path_check with. */
static bool naive_path_ok(const char *p, size_t len)
{
	size_t depth = 0, i = 0;

	if (len == 0 || len > VOLT_PATH_MAX || memchr(p, '\0', len))
		return false;
	while (i <= len) {
		size_t start = i;

		while (i < len && p[i] != '/')
			i++;
		if (i == start || i - start > VOLT_NAME_MAX)
			return false;
		if (i - start == 1 && p[start] == '.')
			return false;
		if (i - start == 2 && p[start] == '.' && p[start + 1] == '.')
			return false;
		if (++depth > VOLT_DEPTH_MAX)
			return false;
		i++; /* past the '/' (or the end) */
	}
	return true;
}

int voltfs_fuzz_path(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	struct volt_diag d;
	int ret;

	/* The bytes as they are: (path, len) is not a C string. */
	volt_diag_clear(&d);
	ret = volt_path_check(p, size, &d);
	CHECK(ret == 0 || ret == -EINVAL);
	CHECK((ret == 0) == naive_path_ok(p, size));
	if (ret < 0)
		check_refusal(ret, &d);
	CHECK(volt_path_check(p, size, NULL) == ret);
	return 0;
}

/* ---- manifests --------------------------------------------------------- */

static bool is_zero(const struct volt_manifest *m)
{
	static const struct volt_manifest zero;

	return memcmp(m, &zero, sizeof(zero)) == 0;
}

static bool top_is(const char *path, const char *name)
{
	size_t n = strlen(name);

	return strncmp(path, name, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

/* Everything a parsed manifest promises, checked entry by entry. */
static void check_manifest(const struct volt_manifest *m)
{
	struct volt_file_counts c;
	struct timespec ts;
	char *prefix;

	CHECK(m->name && m->name[0]);
	CHECK(m->created_at && volt_time_parse_rfc3339(m->created_at, &ts) == 0);
	CHECK(ts.tv_sec == m->created.tv_sec && ts.tv_nsec == m->created.tv_nsec);
	if (m->arch) {
		CHECK(m->arch[0] && strlen(m->arch) <= 32);
		for (const char *a = m->arch; *a; a++)
			CHECK((*a >= 'a' && *a <= 'z') || (*a >= 'A' && *a <= 'Z') ||
			      (*a >= '0' && *a <= '9') || *a == '_' || *a == '-');
	}
	CHECK(m->total_bytes >= 0);
	CHECK(m->n_entries <= VOLT_MANIFEST_MAX_OBJECTS);
	CHECK(m->n_entries == 0 || m->entries);
	for (size_t i = 0; i < m->n_entries; i++) {
		const struct volt_manifest_entry *e = &m->entries[i];

		CHECK(e->path && strlen(e->path) == e->path_len);
		CHECK(naive_path_ok(e->path, e->path_len));
		CHECK(e->hash.len == VOLT_HASH_XXH128_LEN || e->hash.len == VOLT_HASH_SHA256_LEN);
		CHECK(i == 0 || strcmp(m->entries[i - 1].path, e->path) < 0);
		CHECK(volt_manifest_find(m, e->path) == e);
		CHECK(!top_is(e->path, "args") && !top_is(e->path, "env") &&
		      !top_is(e->path, "unit"));
		CHECK(strcmp(e->path, "bin") && strcmp(e->path, "lib") &&
		      strcmp(e->path, "firmware"));
		/* No folder on the way is also a file. */
		prefix = strdup(e->path);
		CHECK(prefix != NULL);
		for (char *s = strchr(prefix, '/'); s; s = strchr(s + 1, '/')) {
			*s = '\0';
			CHECK(volt_manifest_find(m, prefix) == NULL);
			*s = '/';
		}
		free(prefix);
	}
	volt_manifest_count_files(m, &c);
	CHECK(c.binaries + c.libraries + c.firmware <= m->n_entries);
}

/* Parse; on success check the result and leave it in m (else m is zero). */
static int parse(struct volt_manifest *m, const uint8_t *data, size_t size)
{
	struct volt_diag d;
	int ret;

	volt_diag_clear(&d);
	memset(m, 0xa5, sizeof(*m));
	ret = volt_manifest_parse(m, (const char *)data, size, &d);
	if (ret < 0) {
		check_refusal(ret, &d);
		CHECK(is_zero(m));
		return ret;
	}
	CHECK(ret == 0);
	check_manifest(m);
	return 0;
}

int voltfs_fuzz_manifest(const uint8_t *data, size_t size)
{
	struct volt_manifest m;
	struct timespec created;
	char created_at[64];

	if (parse(&m, data, size) == 0) {
		/* Ranking refs reads only the head: it must read what the parser does. */
		if (volt_manifest_peek_created((const char *)data, size, &created, created_at) ==
		    0) {
			CHECK(created.tv_sec == m.created.tv_sec &&
			      created.tv_nsec == m.created.tv_nsec);
			CHECK(strcmp(created_at, m.created_at) == 0);
		}
		volt_manifest_release(&m);
	}
	return 0;
}

/* ---- trees ------------------------------------------------------------- */

/* Walk e's path from the root one name at a time: it must end at its file. */
static void check_entry_in_tree(const struct volt_tree *t, const struct volt_manifest_entry *e,
				char *buf, size_t size)
{
	const char *p = e->path, *end = e->path + e->path_len;
	uint32_t node = VOLT_TREE_ROOT;
	struct volt_hash h;

	for (;;) {
		const char *slash = memchr(p, '/', (size_t)(end - p));
		size_t len = (size_t)((slash ? slash : end) - p);
		uint32_t next = volt_tree_lookup(t, node, p, len);

		CHECK(next != VOLT_TREE_NONE && next < volt_tree_count(t));
		CHECK(volt_tree_parent(t, next) == node);
		if (!slash) {
			node = next;
			break;
		}
		CHECK(volt_tree_kind(t, next) == VOLT_NODE_DIR);
		node = next;
		p = slash + 1;
	}
	CHECK(volt_tree_kind(t, node) == VOLT_NODE_FILE);
	volt_tree_hash(t, node, &h);
	CHECK(volt_hash_equal(&h, &e->hash));
	CHECK(volt_tree_path(t, node, buf, size) == 0);
	CHECK(strcmp(buf, e->path) == 0);
	/* One byte short of the path and its NUL. */
	CHECK(volt_tree_path(t, node, buf, e->path_len) == -ENAMETOOLONG);
	/* A file has no children. */
	CHECK(volt_tree_lookup(t, node, "x", 1) == VOLT_TREE_NONE);
}

/* Every folder, breadth first: children are consecutive and find their way back. */
static void check_folders(const struct volt_tree *t, const struct volt_manifest *m)
{
	uint32_t count = volt_tree_count(t), files = 0, seen = 1;
	bool top[6] = { false };
	static const char *const tops[6] = { "bin", "lib", "firmware", "args", "env", "unit" };

	CHECK(volt_tree_kind(t, VOLT_TREE_ROOT) == VOLT_NODE_DIR);
	CHECK(volt_tree_parent(t, VOLT_TREE_ROOT) == VOLT_TREE_ROOT);
	for (uint32_t dir = 0; dir < count; dir++) {
		uint32_t first, n, subdirs = 0;
		size_t len;

		CHECK(volt_tree_name(t, dir, &len) && strlen(volt_tree_name(t, dir, NULL)) == len);
		if (volt_tree_kind(t, dir) == VOLT_NODE_FILE)
			files++;
		if (volt_tree_kind(t, dir) != VOLT_NODE_DIR)
			continue;
		volt_tree_children(t, dir, &first, &n);
		CHECK(n == 0 || (first > dir && first < count && n <= count - first));
		for (uint32_t c = first; c < first + n; c++) {
			const char *name = volt_tree_name(t, c, &len);

			CHECK(volt_tree_parent(t, c) == dir);
			CHECK(len > 0 && len <= VOLT_NAME_MAX && !memchr(name, '/', len));
			CHECK(volt_tree_lookup(t, dir, name, len) == c);
			subdirs += volt_tree_kind(t, c) == VOLT_NODE_DIR;
			for (int i = 0; i < 6 && dir == VOLT_TREE_ROOT; i++) {
				if (strcmp(name, tops[i]) != 0)
					continue;
				CHECK(volt_tree_kind(t, c) ==
				      (i < 3 ? VOLT_NODE_DIR : VOLT_NODE_SYNTH));
				CHECK(i < 3 || (int)volt_tree_synth(t, c) == i - 3);
				top[i] = true;
			}
		}
		seen += n;
		CHECK(volt_tree_subdirs(t, dir) == subdirs);
		/* A name with a slash is never a child. */
		CHECK(volt_tree_lookup(t, dir, "a/b", 3) == VOLT_TREE_NONE);
	}
	for (int i = 0; i < 6; i++)
		CHECK(top[i]);
	CHECK(seen == count); /* every node is some folder's child, once */
	CHECK(files == volt_tree_files(t) && files == m->n_entries);
}

int voltfs_fuzz_tree(const uint8_t *data, size_t size)
{
	struct volt_manifest m;
	struct volt_tree *t = NULL;
	struct volt_diag d;
	char *buf;
	int ret;

	if (parse(&m, data, size) < 0)
		return 0;
	volt_diag_clear(&d);
	ret = volt_tree_build(&t, &m, &d);
	/* The validator already refused every manifest the tree could not hold. */
	if (ret == -ENOMEM) {
		volt_manifest_release(&m);
		return 0;
	}
	if (ret != 0)
		fprintf(stderr, "fuzz: tree refused a valid manifest: %s: %s\n", d.entry, d.reason);
	CHECK(ret == 0 && t != NULL);
	buf = malloc(VOLT_PATH_MAX + 1);
	CHECK(buf != NULL);
	for (size_t i = 0; i < m.n_entries; i++)
		check_entry_in_tree(t, &m.entries[i], buf, VOLT_PATH_MAX + 1);
	check_folders(t, &m);
	CHECK(volt_tree_footprint(t) > 0);
	free(buf);
	volt_tree_free(t);
	volt_manifest_release(&m);
	return 0;
}

/* ---- renderers --------------------------------------------------------- */

/*
 * Input layout: byte 0 the profile (one in six is not one), byte 1 which
 * strings are NULL (bit i), bytes 2-5 memory, 6-9 cpus (native order),
 * then name, arch, profile_dir, rootfs, kernel separated by NUL bytes.
 */
struct render_case {
	struct volt_render_input in;
	char *strings; /* owns the strings in in */
};

static void render_case_make(struct render_case *rc, const uint8_t *data, size_t size)
{
	const char **fields[5] = { &rc->in.name, &rc->in.arch, &rc->in.profile_dir, &rc->in.rootfs,
				   &rc->in.kernel };
	uint8_t nulls = size > 1 ? data[1] : 0;
	size_t off = size > 10 ? 10 : size, pos;
	int32_t v;

	memset(rc, 0, sizeof(*rc));
	rc->in.profile = (enum volt_profile)((size > 0 ? data[0] % 6 : 0) - 1);
	if (size >= 6) {
		memcpy(&v, data + 2, sizeof(v));
		rc->in.memory = v;
	}
	if (size >= 10) {
		memcpy(&v, data + 6, sizeof(v));
		rc->in.cpus = v;
	}
	rc->strings = cstr(data + off, size - off);
	pos = 0;
	for (int i = 0; i < 5; i++) {
		/* Past the end of the bytes, a string is empty (or NULL). */
		const char *s = pos <= size - off ? rc->strings + pos : "";

		*fields[i] = nulls & (1u << i) ? NULL : s;
		if (pos <= size - off)
			pos += strlen(s) + 1;
	}
}

/* Words: a growable list of malloc'ed strings. */
struct words {
	char **w;
	size_t n, cap;
};

__attribute__((format(printf, 2, 3))) static void words_add(struct words *ws, const char *fmt, ...)
{
	va_list ap;
	char *s;

	if (ws->n == ws->cap) {
		ws->cap = ws->cap ? 2 * ws->cap : 32;
		ws->w = realloc(ws->w, ws->cap * sizeof(*ws->w));
		CHECK(ws->w != NULL);
	}
	va_start(ap, fmt);
	CHECK(vasprintf(&s, fmt, ap) >= 0);
	va_end(ap);
	ws->w[ws->n++] = s;
}

static void words_free(struct words *ws)
{
	for (size_t i = 0; i < ws->n; i++)
		free(ws->w[i]);
	free(ws->w);
	memset(ws, 0, sizeof(*ws));
}

static int trimmed_len(const char *dir)
{
	size_t n = strlen(dir);

	while (n > 0 && dir[n - 1] == '/')
		n--;
	return (int)n;
}

/* The reference's BuildQEMUArgs (and, with kernel, SystemdUnitContent's extra words). */
static void expected_words(const struct volt_render_input *in, bool kernel, struct words *ws)
{
	int dl = trimmed_len(in->profile_dir);
	bool kvm = in->profile == VOLT_PROFILE_KVM_LINUX || in->profile == VOLT_PROFILE_KVM_UEFI;

	words_add(ws, "-name");
	words_add(ws, "volt-%s", in->name);
	words_add(ws, "-machine");
	words_add(ws, "q35,accel=%s", kvm ? "kvm" : "tcg");
	words_add(ws, "-m");
	words_add(ws, "%d", in->memory > 0 ? in->memory : 256);
	words_add(ws, "-smp");
	words_add(ws, "%d", in->cpus > 0 ? in->cpus : 1);
	words_add(ws, "-nographic");
	words_add(ws, "-no-reboot");
	words_add(ws, "-serial");
	words_add(ws, "mon:stdio");
	words_add(ws, "-net");
	words_add(ws, "none");
	words_add(ws, "-L");
	words_add(ws, "%.*s/firmware", dl, in->profile_dir);
	words_add(ws, "-cpu");
	words_add(ws, "%s", kvm ? "host" : "qemu64");
	if (in->rootfs && *in->rootfs) {
		words_add(ws, "-fsdev");
		words_add(ws, "local,id=rootdev,path=%s,security_model=none,readonly=on",
			  in->rootfs);
		words_add(ws, "-device");
		words_add(ws, "virtio-9p-pci,fsdev=rootdev,mount_tag=rootfs");
	}
	if (kernel && in->kernel && *in->kernel) {
		words_add(ws, "-kernel");
		words_add(ws, "%s", in->kernel);
		words_add(ws, "-append");
		words_add(ws, "root=rootfs rootfstype=9p rootflags=trans=virtio,version=9p2000.L "
			      "console=ttyS0 panic=1");
	}
}

/*
 * Is s (n bytes) UTF-8 as systemd's utf8_is_valid() says? By the table of
 * well-formed byte sequences (RFC 3629), then no noncharacter (U+FDD0..FDEF,
 * U+xFFFE/F), which systemd refuses too.
 */
static bool systemd_utf8(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		unsigned char b = s[i];
		size_t len = b < 0x80		      ? 1
			     : b >= 0xc2 && b <= 0xdf ? 2
			     : b >= 0xe0 && b <= 0xef ? 3
			     : b >= 0xf0 && b <= 0xf4 ? 4
						      : 0;
		unsigned char lo = 0x80, hi = 0xbf;
		uint32_t c = b;

		if (!len || i + len > n)
			return false;
		if (b == 0xe0)
			lo = 0xa0;
		else if (b == 0xed)
			hi = 0x9f;
		else if (b == 0xf0)
			lo = 0x90;
		else if (b == 0xf4)
			hi = 0x8f;
		if (len > 1) {
			c = b & (0xff >> (len + 1));
			if (s[i + 1] < lo || s[i + 1] > hi)
				return false;
			for (size_t k = 1; k < len; k++) {
				if (k > 1 && (s[i + k] < 0x80 || s[i + k] > 0xbf))
					return false;
				c = c << 6 | (s[i + k] & 0x3f);
			}
		}
		if ((c >= 0xfdd0 && c <= 0xfdef) || (c & 0xfffe) == 0xfffe)
			return false;
		i += len;
	}
	return true;
}

/* systemd's rules for ExecStart='s executable path, on the path it read. */
static bool systemd_exec_path_ok(const char *p)
{
	for (; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f || strchr("\"'\\", *p))
			return false;
	return true;
}

/*
 * What systemd makes of one word of a unit file (len bytes at s): a line
 * that is not UTF-8 is ignored and \r ends a line; then specifiers (%% is %,
 * a lone % is a specifier, so wrong here), then quotes and C escapes, then
 * in ExecStart= arguments $$ is $ (a lone $ is a variable).
 * Returns the word (malloc'ed) or NULL if systemd would not read it back as
 * one literal word.
 */
static char *systemd_word(const char *s, size_t len, bool dollars)
{
	char *a = malloc(len + 1), *b = malloc(len + 1);
	size_t n = 0, m = 0;

	CHECK(a && b);
	if (!systemd_utf8((const unsigned char *)s, len) || memchr(s, '\r', len))
		goto bad;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '%' && (i + 1 == len || s[++i] != '%'))
			goto bad;
		a[n++] = s[i];
	}
	if (n > 0 && a[0] == '"') {
		size_t i;

		for (i = 1; i < n && a[i] != '"'; i++) {
			if (a[i] == '\\') {
				if (i + 1 == n || (a[i + 1] != '\\' && a[i + 1] != '"'))
					goto bad;
				i++;
			}
			b[m++] = a[i];
		}
		if (i + 1 != n) /* no closing quote, or more after it */
			goto bad;
	} else {
		for (size_t i = 0; i < n; i++) {
			if (a[i] == '\0' || strchr(" \t\r\n\"'\\", a[i]))
				goto bad;
			b[m++] = a[i];
		}
		if (dollars && m > 0 && (b[0] == '#' || b[0] == ';'))
			goto bad;
	}
	n = 0;
	for (size_t i = 0; i < m; i++) {
		if (dollars && b[i] == '$' && (i + 1 == m || b[++i] != '$'))
			goto bad;
		a[n++] = b[i];
	}
	a[n] = '\0';
	free(b);
	return a;
bad:
	free(a);
	free(b);
	return NULL;
}

static void check_word(const char *s, size_t len, bool dollars, const char *want)
{
	char *w = systemd_word(s, len, dollars);

	if (!w || strcmp(w, want) != 0)
		fprintf(stderr, "fuzz: unit word '%.*s' reads back as '%s', want '%s'\n", (int)len,
			s, w ? w : "(not one word)", want);
	CHECK(w && strcmp(w, want) == 0);
	free(w);
}

/* The end of the unit word at p: past its closing quote, or at the next space. */
static const char *word_end(const char *p, const char *end)
{
	if (p < end && *p == '"') {
		for (p++; p < end && *p != '"'; p++)
			if (*p == '\\' && p + 1 < end)
				p++;
		return p < end ? p + 1 : end;
	}
	while (p < end && *p != ' ')
		p++;
	return p;
}

/*
 * ExecStart='s first line, [p, end): the executable path, which systemd may
 * take only as its rules say; and since it expands $ in argv[0] but not in the
 * path, a path with a $ comes as "@PATH ARGV0", and only such a path does.
 */
static void check_exec(const char *p, const char *end, const char *path)
{
	const char *w = word_end(p, end);
	char *at;

	CHECK(systemd_exec_path_ok(path));
	if (w == end) {
		CHECK(!strchr(path, '$'));
		check_word(p, (size_t)(end - p), false, path);
		return;
	}
	CHECK(strchr(path, '$') && *w == ' ');
	CHECK(asprintf(&at, "@%s", path) >= 0);
	check_word(p, (size_t)(w - p), false, at);
	check_word(w + 1, (size_t)(end - w - 1), true, path);
	free(at);
}

static const char unit_tail[] = "\nKillMode=mixed\nTimeoutStopSec=30\nRestart=no\n\n"
				"[Install]\nWantedBy=multi-user.target\n";

static void check_unit(const struct volt_render_input *in, const struct volt_text *t)
{
	struct words ws = { 0 };
	const char *p, *end, *exec;
	char *want;
	int dl = trimmed_len(in->profile_dir);
	size_t i = 0;

	CHECK(asprintf(&want,
		       "[Unit]\nDescription=Volt VM: %s (QEMU %s)\nAfter=network.target\n\n"
		       "[Service]\nType=simple\nEnvironment=",
		       in->name, volt_profile_name(in->profile)) >= 0);
	CHECK(strncmp(t->buf, want, strlen(want)) == 0);
	p = t->buf + strlen(want);
	free(want);
	CHECK(t->len >= sizeof(unit_tail) - 1);
	end = t->buf + t->len - (sizeof(unit_tail) - 1);
	CHECK(strcmp(end, unit_tail) == 0);

	/* Environment=, then ExecStart=BINARY \ and one argument per line. */
	exec = strstr(p, "\nExecStart=");
	CHECK(exec && exec < end);
	CHECK(asprintf(&want, "LD_LIBRARY_PATH=%.*s/lib", dl, in->profile_dir) >= 0);
	check_word(p, (size_t)(exec - p), false, want);
	free(want);
	p = exec + strlen("\nExecStart=");
	exec = strstr(p, " \\\n");
	CHECK(exec && exec < end);
	CHECK(asprintf(&want, "%.*s/bin/qemu-system-%s", dl, in->profile_dir,
		       in->arch && *in->arch ? in->arch : "x86_64") >= 0);
	check_exec(p, exec, want);
	free(want);
	p = exec + 3;
	expected_words(in, true, &ws);
	for (;;) {
		const char *sep = strstr(p, " \\\n ");
		const char *stop = sep && sep < end ? sep : end;

		CHECK(i < ws.n);
		check_word(p, (size_t)(stop - p), true, ws.w[i++]);
		if (stop == end)
			break;
		p = sep + 4;
	}
	CHECK(i == ws.n);
	words_free(&ws);
}

static void check_args(const struct volt_render_input *in, const struct volt_text *t)
{
	struct words ws = { 0 };
	const char *p = t->buf;

	expected_words(in, false, &ws);
	for (size_t i = 0; i < ws.n; i++) {
		size_t n = strlen(ws.w[i]);

		CHECK(strncmp(p, ws.w[i], n) == 0 && p[n] == '\n');
		p += n + 1;
	}
	CHECK(*p == '\0' && (size_t)(p - t->buf) == t->len);
	words_free(&ws);
}

static bool has_newline(const char *s)
{
	return s && strchr(s, '\n');
}

static bool utf8_no_cr(const char *s)
{
	return !s || (systemd_utf8((const unsigned char *)s, strlen(s)) && !strchr(s, '\r'));
}

/*
 * What systemd takes, from the inputs: the executable path (the profile
 * folder, the arch) by its rules and within PATH_MAX, every string UTF-8
 * without \r.
 */
static bool unit_takes(const struct volt_render_input *in)
{
	const char *arch = in->arch && *in->arch ? in->arch : "x86_64";
	char *path;
	bool ok;

	if (!utf8_no_cr(in->name) || !utf8_no_cr(in->rootfs) || !utf8_no_cr(in->kernel) ||
	    !utf8_no_cr(in->profile_dir) || !utf8_no_cr(in->arch) ||
	    !systemd_exec_path_ok(in->profile_dir) || !systemd_exec_path_ok(arch))
		return false;
	CHECK(asprintf(&path, "%.*s/bin/qemu-system-%s", trimmed_len(in->profile_dir),
		       in->profile_dir, arch) >= 0);
	ok = strlen(path) < 4096; /* PATH_MAX */
	free(path);
	return ok;
}

int voltfs_fuzz_render(const uint8_t *data, size_t size)
{
	struct render_case rc;
	const struct volt_render_input *in = &rc.in;
	struct volt_text t[VOLT_SYNTH_COUNT] = { { 0 } }, none = { 0 };
	bool valid, unit_ok;
	char *want;
	int ret;

	render_case_make(&rc, data, size);
	valid = volt_profile_name(in->profile) && in->name && in->profile_dir &&
		!has_newline(in->name) && !has_newline(in->arch) && !has_newline(in->profile_dir) &&
		!has_newline(in->rootfs) && !has_newline(in->kernel);
	/* The binary, qemu-system-<arch>, must fit in a file name. */
	unit_ok = valid &&
		  strlen("qemu-system-") + strlen(in->arch ? in->arch : "") <= VOLT_NAME_MAX;
	/* And systemd must take every string where the unit puts it. */
	unit_ok = unit_ok && unit_takes(in);
	for (int which = 0; which < VOLT_SYNTH_COUNT; which++) {
		bool ok = which == VOLT_SYNTH_UNIT ? unit_ok : valid;

		ret = volt_render_synth(which, in, &t[which]);
		if (ret == -ENOMEM)
			goto out;
		CHECK(ret == (ok ? 0 : -EINVAL));
		if (ret == 0)
			CHECK(t[which].buf && strlen(t[which].buf) == t[which].len);
	}
	CHECK(volt_render_synth(VOLT_SYNTH_COUNT, in, &none) == -EINVAL && !none.buf);
	if (valid) {
		check_args(in, &t[VOLT_SYNTH_ARGS]);
		CHECK(asprintf(&want, "LD_LIBRARY_PATH=%.*s/lib\n", trimmed_len(in->profile_dir),
			       in->profile_dir) >= 0);
		CHECK(strcmp(t[VOLT_SYNTH_ENV].buf, want) == 0);
		free(want);
	}
	if (unit_ok)
		check_unit(in, &t[VOLT_SYNTH_UNIT]);
out:
	for (int which = 0; which < VOLT_SYNTH_COUNT; which++)
		free(t[which].buf);
	free(rc.strings);
	return 0;
}

/* ---- times and ref names ----------------------------------------------- */

static void check_time(const char *s)
{
	struct timespec ts, back;
	struct tm tm;
	time_t sec;
	char buf[64];

	if (volt_time_parse_rfc3339(s, &ts) != 0)
		return;
	CHECK(strlen(s) >= 20);
	CHECK(ts.tv_nsec >= 0 && ts.tv_nsec < 1000000000);
	/* What can be written back as RFC 3339 reads back as the same instant. */
	sec = ts.tv_sec;
	CHECK(gmtime_r(&sec, &tm) != NULL);
	if (tm.tm_year + 1900 < 1 || tm.tm_year + 1900 > 9999)
		return;
	volt_time_format_rfc3339(&ts, buf, sizeof(buf));
	CHECK(volt_time_parse_rfc3339(buf, &back) == 0);
	CHECK(back.tv_sec == ts.tv_sec && back.tv_nsec == ts.tv_nsec);
}

static bool is_lower_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static void check_ref_name(const char *s)
{
	size_t len = strlen(s);
	enum volt_profile p = VOLT_PROFILE_COUNT;
	char id[VOLT_REF_ID_LEN + 1];
	bool shaped = len >= 1 + 1 + VOLT_REF_ID_LEN + 5 && strcmp(s + len - 5, ".json") == 0 &&
		      s[len - 5 - VOLT_REF_ID_LEN - 1] == '-';
	int ret;

	for (size_t i = len - 5 - VOLT_REF_ID_LEN; shaped && i < len - 5; i++)
		shaped = is_lower_hex(s[i]);
	memset(id, 'X', sizeof(id));
	ret = volt_ref_parse_name(s, &p, id);
	if (!shaped) {
		CHECK(ret == -EINVAL);
		return;
	}
	CHECK(ret == 0 || ret == -ENOENT);
	if (ret == -ENOENT) {
		CHECK(p == VOLT_PROFILE_INVALID);
		return;
	}
	CHECK(volt_profile_name(p) != NULL);
	CHECK(id[VOLT_REF_ID_LEN] == '\0' && strlen(id) == VOLT_REF_ID_LEN);
	CHECK(len == strlen(volt_profile_name(p)) + 1 + VOLT_REF_ID_LEN + 5);
	CHECK(strncmp(s, volt_profile_name(p), strlen(volt_profile_name(p))) == 0);
	CHECK(memcmp(s + len - 5 - VOLT_REF_ID_LEN, id, VOLT_REF_ID_LEN) == 0);
}

int voltfs_fuzz_names(const uint8_t *data, size_t size)
{
	char *s = cstr(data, size);

	check_time(s);
	check_ref_name(s);
	free(s);
	return 0;
}

const struct voltfs_fuzz_target voltfs_fuzz_targets[] = {
	{ "manifest", voltfs_fuzz_manifest }, { "path", voltfs_fuzz_path },
	{ "tree", voltfs_fuzz_tree },	      { "render", voltfs_fuzz_render },
	{ "names", voltfs_fuzz_names },	      { NULL, NULL },
};
