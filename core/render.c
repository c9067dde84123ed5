// SPDX-License-Identifier: MIT
/*
 * Renderers for the synthetic files args, env and unit: the reference's
 * BuildQEMUArgs, EnvVars and SystemdUnitContent, byte for byte, except that
 * unit writes each word the way systemd must read it back.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "voltfs/refs.h"
#include "voltfs/render.h"
#include "voltfs/tree.h"

/* The -append line the reference adds after -kernel. */
#define KERNEL_APPEND                                                                      \
	"root=rootfs rootfstype=9p rootflags=trans=virtio,version=9p2000.L console=ttyS0 " \
	"panic=1"

/*
 * A growable text buffer with a sticky error: once an append fails, every
 * later one is a no-op and err keeps the first failure, so a renderer
 * appends freely and checks once, at the end.
 */
struct buf {
	char *p;
	size_t len;
	size_t cap;
	int err;
};

static void buf_put(struct buf *b, const char *s, size_t n)
{
	if (b->err)
		return;
	if (b->cap - b->len <= n) {
		size_t cap = b->cap ? b->cap : 256;
		char *p;

		while (cap - b->len <= n) {
			if (cap > SIZE_MAX / 2) {
				b->err = -ENOMEM;
				return;
			}
			cap *= 2;
		}
		p = realloc(b->p, cap);
		if (!p) {
			b->err = -ENOMEM;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void buf_puts(struct buf *b, const char *s)
{
	buf_put(b, s, strlen(s));
}

static void buf_putc(struct buf *b, char c)
{
	buf_put(b, &c, 1);
}

__attribute__((format(printf, 2, 0))) static void buf_vprintf(struct buf *b, const char *fmt,
							      va_list ap)
{
	char small[128];
	char *big;
	va_list ap2;
	int n;

	if (b->err)
		return;
	va_copy(ap2, ap);
	n = vsnprintf(small, sizeof(small), fmt, ap2);
	va_end(ap2);
	if (n < 0) {
		/* Only an encoding error or an int overflow of the length. */
		b->err = -EINVAL;
		return;
	}
	if ((size_t)n < sizeof(small)) {
		buf_put(b, small, (size_t)n);
		return;
	}
	big = malloc((size_t)n + 1);
	if (!big) {
		b->err = -ENOMEM;
		return;
	}
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	buf_put(b, big, (size_t)n);
	free(big);
}

/*
 * How words are written: as they are, or escaped for systemd. systemd
 * expands $ in the arguments of ExecStart= only: not in the executable path
 * (it is execve()d as written) nor in Environment= (systemd.exec(5)).
 */
enum quoting {
	QUOTE_NONE,
	QUOTE_ARG,   /* an ExecStart= argument: quotes, %% and $$ */
	QUOTE_PLAIN, /* the executable path, Environment=: quotes and %% */
};

/*
 * Write word as systemd.service(5) says, so that systemd hands it to the
 * program unchanged: whitespace, quotes and backslashes would split or
 * unescape it unless it is quoted (with \ and " escaped inside), % starts a
 * specifier, and in an argument $ a variable. Every argument in ExecStart=
 * starts a line of its own, where a leading # or ; makes systemd drop the
 * line as a comment and a lone ; ends the command: quoted, neither happens.
 */
static void put_word(struct buf *b, const char *w, size_t n, enum quoting q)
{
	bool quote = q == QUOTE_ARG && n > 0 && (w[0] == '#' || w[0] == ';');

	if (q == QUOTE_NONE) {
		buf_put(b, w, n);
		return;
	}
	for (size_t i = 0; i < n && !quote; i++)
		quote = w[i] && strchr(" \t\r'\"\\", w[i]);
	if (quote)
		buf_putc(b, '"');
	for (size_t i = 0; i < n; i++) {
		if (quote && (w[i] == '\\' || w[i] == '"'))
			buf_putc(b, '\\');
		else if (w[i] == '%' || (q == QUOTE_ARG && w[i] == '$'))
			buf_putc(b, w[i]);
		buf_putc(b, w[i]);
	}
	if (quote)
		buf_putc(b, '"');
}

/*
 * Format one word into scratch, then write it into out as q says. A failure
 * of either buffer ends up sticky in out.
 */
__attribute__((format(printf, 4, 0))) static void
put_vwordf(struct buf *out, struct buf *scratch, enum quoting q, const char *fmt, va_list ap)
{
	scratch->len = 0;
	buf_vprintf(scratch, fmt, ap);
	if (scratch->err) {
		out->err = out->err ? out->err : scratch->err;
		return;
	}
	put_word(out, scratch->p, scratch->len, q);
}

__attribute__((format(printf, 4, 5))) static void put_wordf(struct buf *out, struct buf *scratch,
							    enum quoting q, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	put_vwordf(out, scratch, q, fmt, ap);
	va_end(ap);
}

/* A QEMU argument list on its way into out, one word at a time. */
struct argv_writer {
	struct buf *out;
	struct buf *scratch;
	enum quoting quoting;
	const char *sep;  /* between two words */
	const char *term; /* after each word */
	size_t count;
};

__attribute__((format(printf, 2, 3))) static void add_arg(struct argv_writer *w, const char *fmt,
							  ...)
{
	va_list ap;

	if (w->count++)
		buf_puts(w->out, w->sep);
	va_start(ap, fmt);
	put_vwordf(w->out, w->scratch, w->quoting, fmt, ap);
	va_end(ap);
	buf_puts(w->out, w->term);
}

/* The length of profile_dir without trailing slashes, as filepath.Join cleans it. */
static int dir_len(const char *dir)
{
	size_t n = strlen(dir);

	while (n > 0 && dir[n - 1] == '/')
		n--;
	return (int)n;
}

static bool has_newline(const char *s)
{
	return s && strchr(s, '\n') != NULL;
}

/* Refuse what cannot be rendered; a newline in any string would forge lines. */
static int check_input(const struct volt_render_input *in)
{
	if (!in || !volt_profile_name(in->profile) || !in->name || !in->profile_dir)
		return -EINVAL;
	if (has_newline(in->name) || has_newline(in->profile_dir) || has_newline(in->rootfs) ||
	    has_newline(in->kernel) || has_newline(in->arch))
		return -EINVAL;
	/* Paths are printed with "%.*s", which takes an int length. */
	if (strlen(in->profile_dir) > INT_MAX)
		return -EINVAL;
	return 0;
}

/*
 * The length of one UTF-8 character at s (n bytes left), or 0 where systemd's
 * utf8_is_valid() says no: a bad or short sequence, an overlong form, a
 * surrogate, past U+10FFFF, or a noncharacter (U+FDD0..U+FDEF, U+xFFFE/F).
 */
static size_t utf8_char(const unsigned char *s, size_t n)
{
	size_t len;
	uint32_t c;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0)
		len = 2, c = s[0] & 0x1fu;
	else if ((s[0] & 0xf0) == 0xe0)
		len = 3, c = s[0] & 0x0fu;
	else if ((s[0] & 0xf8) == 0xf0)
		len = 4, c = s[0] & 0x07u;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3fu);
	}
	if ((len == 2 && c < 0x80) || (len == 3 && c < 0x800) || (len == 4 && c < 0x10000) ||
	    c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff) || (c >= 0xfdd0 && c <= 0xfdef) ||
	    (c & 0xfffe) == 0xfffe)
		return 0;
	return len;
}

/*
 * What systemd takes in a unit (systemd.syntax(7), systemd.service(5),
 * checked with systemd-analyze verify): a line that is not UTF-8 is ignored
 * whole, and \r ends a line as \n does, quoted or not. ExecStart='s
 * executable path, which the mount point starts (as it starts Environment=),
 * may hold no control character, quote or backslash, quoted or not
 * ("Executable name contains special characters"). % and $ are escaped, so
 * they are fine.
 */
static const char *unit_refusal(const char *s, bool path)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n = s ? strlen(s) : 0;

	for (size_t i = 0, len; i < n; i += len) {
		if (u[i] == '\n' || u[i] == '\r')
			return "a line break would end the unit's line";
		if (path && (u[i] < 0x20 || u[i] == 0x7f))
			return "systemd refuses a control character in ExecStart='s executable "
			       "path";
		if (path && (u[i] == '"' || u[i] == '\'' || u[i] == '\\'))
			return "systemd refuses quotes and backslashes in ExecStart='s executable "
			       "path";
		len = utf8_char(u + i, n - i);
		if (!len)
			return "not UTF-8: systemd ignores a unit line that is not";
	}
	return NULL;
}

/* The longest profile folder name: "<profile>@<8 hex id>". */
static size_t profile_dir_name_max(void)
{
	size_t max = 0;

	for (int p = 0; volt_profile_name((enum volt_profile)p); p++)
		if (strlen(volt_profile_name((enum volt_profile)p)) > max)
			max = strlen(volt_profile_name((enum volt_profile)p));
	return max + 1 + VOLT_REF_ID_LEN;
}

int volt_render_check_mountpoint(const char *mnt, const char **why)
{
	/* "<mnt>/<profile>@<id>/bin/<binary>", the binary at most NAME_MAX. */
	size_t suffix = 1 + profile_dir_name_max() + strlen("/bin/") + VOLT_NAME_MAX;

	*why = unit_refusal(mnt, true);
	if (!*why && mnt && strlen(mnt) + suffix >= PATH_MAX)
		*why = "too long: the unit's executable path would pass PATH_MAX, which systemd "
		       "refuses";
	return *why ? -EINVAL : 0;
}

int volt_render_check_arg(const char *s, const char **why)
{
	*why = unit_refusal(s, false);
	return *why ? -EINVAL : 0;
}

/*
 * The unit's own rules on top: the exec path (profile folder, arch) as
 * volt_render_check_mountpoint says, the arguments' strings as
 * volt_render_check_arg does.
 */
static int check_unit_input(const struct volt_render_input *in, size_t exec_len)
{
	if (unit_refusal(in->profile_dir, true) || unit_refusal(in->arch, true) ||
	    unit_refusal(in->name, false) || unit_refusal(in->rootfs, false) ||
	    unit_refusal(in->kernel, false) || exec_len >= PATH_MAX)
		return -EINVAL;
	return 0;
}

/* BuildQEMUArgs, then (for unit) the kernel words SystemdUnitContent appends. */
static void write_argv(struct argv_writer *w, const struct volt_render_input *in, bool kernel)
{
	add_arg(w, "-name");
	add_arg(w, "volt-%s", in->name);
	add_arg(w, "-machine");
	add_arg(w, "q35,accel=%s", volt_profile_accel_flag(in->profile));
	add_arg(w, "-m");
	add_arg(w, "%d", in->memory > 0 ? in->memory : 256);
	add_arg(w, "-smp");
	add_arg(w, "%d", in->cpus > 0 ? in->cpus : 1);
	add_arg(w, "-nographic");
	add_arg(w, "-no-reboot");
	add_arg(w, "-serial");
	add_arg(w, "mon:stdio");
	add_arg(w, "-net");
	add_arg(w, "none");
	add_arg(w, "-L");
	add_arg(w, "%.*s/firmware", dir_len(in->profile_dir), in->profile_dir);
	add_arg(w, "-cpu");
	add_arg(w, "%s", volt_profile_needs_tcg(in->profile) ? "qemu64" : "host");
	if (in->rootfs && *in->rootfs) {
		add_arg(w, "-fsdev");
		add_arg(w, "local,id=rootdev,path=%s,security_model=none,readonly=on", in->rootfs);
		add_arg(w, "-device");
		add_arg(w, "virtio-9p-pci,fsdev=rootdev,mount_tag=rootfs");
	}
	if (kernel && in->kernel && *in->kernel) {
		add_arg(w, "-kernel");
		add_arg(w, "%s", in->kernel);
		add_arg(w, "-append");
		add_arg(w, "%s", KERNEL_APPEND);
	}
}

/* The one exit of every renderer: hand the text over, or free everything. */
static int finish(struct buf *b, struct buf *scratch, struct volt_text *out)
{
	free(scratch->p);
	if (b->err) {
		free(b->p);
		return b->err;
	}
	out->buf = b->p;
	out->len = b->len;
	return 0;
}

int volt_render_args(const struct volt_render_input *in, struct volt_text *out)
{
	struct buf b = { 0 }, scratch = { 0 };
	struct argv_writer w = {
		.out = &b,
		.scratch = &scratch,
		.quoting = QUOTE_NONE,
		.sep = "",
		.term = "\n",
	};
	int ret = check_input(in);

	if (ret)
		return ret;
	write_argv(&w, in, false);
	return finish(&b, &scratch, out);
}

int volt_render_env(const struct volt_render_input *in, struct volt_text *out)
{
	struct buf b = { 0 }, scratch = { 0 };
	int ret = check_input(in);

	if (ret)
		return ret;
	buf_puts(&b, "LD_LIBRARY_PATH=");
	buf_put(&b, in->profile_dir, (size_t)dir_len(in->profile_dir));
	buf_puts(&b, "/lib\n");
	return finish(&b, &scratch, out);
}

/*
 * SystemdUnitContent's template. The reference joins the arguments with
 * " \\\n " and puts the first one at the start of its line, so every later
 * argument line is indented by exactly one space; keep that byte for byte.
 */
int volt_render_unit(const struct volt_render_input *in, struct volt_text *out)
{
	struct buf b = { 0 }, scratch = { 0 };
	struct argv_writer w = {
		.out = &b,
		.scratch = &scratch,
		.quoting = QUOTE_ARG,
		.sep = " \\\n ",
		.term = "",
	};
	char binary[VOLT_NAME_MAX + 1];
	int dlen;
	int ret = check_input(in);

	if (ret)
		return ret;
	/* A binary name longer than NAME_MAX names no file. */
	if (volt_profile_binary_name(in->arch, binary, sizeof(binary)))
		return -EINVAL;
	dlen = dir_len(in->profile_dir);
	ret = check_unit_input(in, (size_t)dlen + strlen("/bin/") + strlen(binary));
	if (ret)
		return ret;

	buf_puts(&b, "[Unit]\nDescription=Volt VM: ");
	buf_puts(&b, in->name);
	buf_puts(&b, " (QEMU ");
	buf_puts(&b, volt_profile_name(in->profile));
	buf_puts(&b, ")\nAfter=network.target\n\n[Service]\nType=simple\nEnvironment=");
	put_wordf(&b, &scratch, QUOTE_PLAIN, "LD_LIBRARY_PATH=%.*s/lib", dlen, in->profile_dir);
	buf_puts(&b, "\nExecStart=");
	/*
	 * systemd expands $ in every word of argv when it starts the service,
	 * argv[0] too, but not in the path it executes: with a $ in the path,
	 * "@PATH ARGV0" hands it argv[0] apart, written as an argument ($$).
	 */
	if (memchr(in->profile_dir, '$', (size_t)dlen) || strchr(binary, '$')) {
		put_wordf(&b, &scratch, QUOTE_PLAIN, "@%.*s/bin/%s", dlen, in->profile_dir, binary);
		buf_putc(&b, ' ');
		put_wordf(&b, &scratch, QUOTE_ARG, "%.*s/bin/%s", dlen, in->profile_dir, binary);
	} else {
		put_wordf(&b, &scratch, QUOTE_PLAIN, "%.*s/bin/%s", dlen, in->profile_dir, binary);
	}
	buf_puts(&b, " \\\n");
	write_argv(&w, in, true);
	buf_puts(&b, "\nKillMode=mixed\nTimeoutStopSec=30\nRestart=no\n\n"
		     "[Install]\nWantedBy=multi-user.target\n");
	return finish(&b, &scratch, out);
}

int volt_render_synth(int which, const struct volt_render_input *in, struct volt_text *out)
{
	switch (which) {
	case VOLT_SYNTH_ARGS:
		return volt_render_args(in, out);
	case VOLT_SYNTH_ENV:
		return volt_render_env(in, out);
	case VOLT_SYNTH_UNIT:
		return volt_render_unit(in, out);
	default:
		return -EINVAL;
	}
}
