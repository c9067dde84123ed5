// SPDX-License-Identifier: MIT
/*
 * The "default" link at the mount root, on real mounts: for each set of
 * profiles present and each -o kvm, the target written out by hand here
 * (README: the first present of kvm-linux, kvm-uefi, emulate-x86,
 * emulate-foreign; only the emulated two without KVM; none, no link), the
 * link moving as profiles appear and go, and bad -o kvm values refused.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "support.h"
#include "voltfs/build.h"

#define FUSE_SUPER_MAGIC 0x65735546

enum { KL = 1, KU = 2, EX = 4, EF = 8, ALL = 15 };

static const char *const names[4] = { "kvm-linux", "kvm-uefi", "emulate-x86", "emulate-foreign" };

struct world {
	char *dir, *cas, *mnt;
	char ref[4][VOLT_REF_NAME_MAX]; /* by bit of the mask, "" when not built */
	struct vt_mount mount;
};

static struct world *current;

static void teardown(void)
{
	if (current) {
		vt_mount_cleanup(&current->mount);
		vt_rmtree(current->dir);
	}
}

TestSuite(default_link, .fini = teardown, .timeout = 120);

/* A one-file build of profile i (its binary names the profile); its ref into w->ref[i]. */
static void build(struct world *w, int i)
{
	struct volt_build_opts o = { .src = NULL, .arch = "x86_64" };
	struct volt_build_result r;
	struct volt_cas cas;
	struct volt_diag d;
	char *src, *bin;

	cr_assert(asprintf(&src, "%s/src-%s", w->dir, names[i]) > 0);
	bin = vt_join(src, "bin/qemu-system-x86_64");
	vt_write_str(bin, names[i]);
	o.src = src;
	o.profile = volt_profile_from_name(names[i], strlen(names[i]));
	cr_assert_eq(volt_cas_open(&cas, w->cas, true), 0);
	cr_assert_eq(volt_build(&cas, &o, &r, &d), 0, "build %s: %s", names[i], d.reason);
	strcpy(w->ref[i], r.ref_name);
	volt_cas_release(&cas);
	free(bin);
	free(src);
}

static void unpublish(struct world *w, int i)
{
	vt_drop_ref(w->cas, w->ref[i]);
	w->ref[i][0] = '\0';
}

static void world_make(struct world *w, unsigned mask, const char *opts)
{
	memset(w, 0, sizeof(*w));
	current = w;
	w->dir = vt_tmpdir();
	w->cas = vt_join(w->dir, "cas");
	w->mnt = vt_join(w->dir, "mnt");
	vt_cas_init(w->cas);
	for (int i = 0; i < 4; i++)
		if (mask & (1u << i))
			build(w, i);
	vt_mount(&w->mount, w->cas, w->mnt, opts);
}

static void world_free(struct world *w)
{
	cr_assert_eq(vt_unmount(&w->mount), 0, "voltfs did not exit 0 after unmount");
	vt_rmtree(w->dir);
	free(w->cas);
	free(w->mnt);
	free(w->dir);
	current = NULL;
}

/* The root's names other than . and .., as "a b c" in listing order (malloc'ed). */
static char *root_listing(const struct world *w)
{
	DIR *d = opendir(w->mnt);
	char *out = calloc(1, 256);
	struct dirent *e;

	cr_assert_not_null(d, "opendir %s: %s", w->mnt, strerror(errno));
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (*out)
			strcat(out, " ");
		strcat(out, e->d_name);
	}
	closedir(d);
	return out;
}

/* What the root must list with mask present: the profiles in names[] order, then default. */
static char *want_listing(unsigned mask, const char *target)
{
	char *out = calloc(1, 256);

	for (int i = 0; i < 4; i++) {
		if (!(mask & (1u << i)))
			continue;
		if (*out)
			strcat(out, " ");
		strcat(out, names[i]);
	}
	if (*target)
		strcat(strcat(out, *out ? " " : ""), "default");
	return out;
}

/* Everything a user sees of the link when it points to target ("" for no link). */
static void expect_link(const struct world *w, unsigned mask, const char *target, const char *what)
{
	char *link = vt_join(w->mnt, "default"), buf[64], *list, *want;
	struct stat st, dst;
	ssize_t n;

	n = readlink(link, buf, sizeof(buf) - 1);
	if (!*target) {
		cr_assert(n < 0 && errno == ENOENT, "%s: readlink gave %zd (%.*s), want ENOENT",
			  what, n, n > 0 ? (int)n : 0, buf);
		/* Twice: the second answer may come from the kernel's cached miss. */
		for (int k = 0; k < 2; k++)
			cr_assert(lstat(link, &st) < 0 && errno == ENOENT,
				  "%s: lstat default: want ENOENT, got %s", what, strerror(errno));
	} else {
		cr_assert(n > 0, "%s: readlink default: %s (want -> %s)", what, strerror(errno),
			  target);
		buf[n] = '\0';
		cr_assert_str_eq(buf, target, "%s: default -> %s, want -> %s", what, buf, target);
		cr_assert_eq(lstat(link, &st), 0, "%s", what);
		cr_assert(S_ISLNK(st.st_mode), "%s: default is not a link", what);
		cr_assert_eq(st.st_size, (off_t)strlen(target), "%s", what);
		/* Followed, it is the profile's folder itself. */
		cr_assert_eq(stat(link, &st), 0, "%s: stat default: %s", what, strerror(errno));
		free(link);
		link = vt_join(w->mnt, target);
		cr_assert_eq(stat(link, &dst), 0, "%s: %s", what, strerror(errno));
		cr_assert_eq(st.st_ino, dst.st_ino, "%s: default/ is not %s/", what, target);
	}
	list = root_listing(w);
	want = want_listing(mask, target);
	cr_assert_str_eq(list, want, "%s: the root lists \"%s\", want \"%s\"", what, list, want);
	free(want);
	free(list);
	free(link);
}

struct link_case {
	char name[64];
	char kvm[8];	  /* -o kvm= */
	unsigned mask;	  /* profiles present */
	char with[20];	  /* the target where the host has KVM ("" no link) */
	char without[20]; /* where it has none; the same unless kvm=auto */
};

/* Each expectation written by hand, from the README's rule. */
static struct link_case cases[] = {
	{ "auto: all four", "auto", ALL, "kvm-linux", "emulate-x86" },
	{ "auto: kvm-uefi and emulate-foreign", "auto", KU | EF, "kvm-uefi", "emulate-foreign" },
	{ "auto: none", "auto", 0, "", "" },
	{ "yes: all four", "yes", ALL, "kvm-linux", "kvm-linux" },
	{ "yes: kvm-linux alone", "yes", KL, "kvm-linux", "kvm-linux" },
	{ "yes: kvm-uefi alone", "yes", KU, "kvm-uefi", "kvm-uefi" },
	{ "yes: emulate-x86 alone", "yes", EX, "emulate-x86", "emulate-x86" },
	{ "yes: emulate-foreign alone", "yes", EF, "emulate-foreign", "emulate-foreign" },
	{ "yes: kvm-linux missing", "yes", KU | EX | EF, "kvm-uefi", "kvm-uefi" },
	{ "yes: kvm-linux and kvm-uefi missing", "yes", EX | EF, "emulate-x86", "emulate-x86" },
	{ "yes: kvm-uefi and emulate-foreign", "yes", KU | EF, "kvm-uefi", "kvm-uefi" },
	{ "yes: kvm-linux and emulate-foreign", "yes", KL | EF, "kvm-linux", "kvm-linux" },
	{ "yes: none", "yes", 0, "", "" },
	{ "no: all four", "no", ALL, "emulate-x86", "emulate-x86" },
	{ "no: kvm-linux and emulate-foreign", "no", KL | EF, "emulate-foreign",
	  "emulate-foreign" },
	{ "no: kvm-uefi and emulate-x86", "no", KU | EX, "emulate-x86", "emulate-x86" },
	{ "no: emulate-foreign alone", "no", EF, "emulate-foreign", "emulate-foreign" },
	{ "no: kvm-linux alone", "no", KL, "", "" },
	{ "no: kvm-linux and kvm-uefi", "no", KL | KU, "", "" },
};

/* The test's own look at the host, not the daemon's: KVMAvailable as the README puts it. */
static bool host_has_kvm(void)
{
	struct stat st;

	return stat("/dev/kvm", &st) == 0 && S_ISCHR(st.st_mode);
}

ParameterizedTestParameters(default_link, target)
{
	return cr_make_param_array(struct link_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct link_case *c, default_link, target)
{
	struct world w;
	char opts[16];

	snprintf(opts, sizeof(opts), "kvm=%s", c->kvm);
	world_make(&w, c->mask, opts);
	expect_link(&w, c->mask, host_has_kvm() ? c->with : c->without, c->name);
	world_free(&w);
}

/* Poll (bounded: 10 s, far past inotify plus the root's 1 s entry cache) until default -> want. */
static void await_link(const struct world *w, unsigned mask, const char *want, const char *what)
{
	char *link = vt_join(w->mnt, "default"), buf[64];
	struct timespec pause = { 0, 20 * 1000 * 1000 };
	struct stat st;

	for (int i = 0; i < 500; i++) {
		ssize_t n = readlink(link, buf, sizeof(buf) - 1);

		if (*want ? n == (ssize_t)strlen(want) && memcmp(buf, want, (size_t)n) == 0
			  : n < 0 && errno == ENOENT && lstat(link, &st) < 0 && errno == ENOENT)
			break;
		nanosleep(&pause, NULL);
	}
	free(link);
	expect_link(w, mask, want, what);
}

Test(default_link, follows_profiles_as_they_come_and_go)
{
	struct world w;

	world_make(&w, EF, "kvm=yes");
	expect_link(&w, EF, "emulate-foreign", "emulate-foreign alone");
	build(&w, 2);
	await_link(&w, EX | EF, "emulate-x86", "emulate-x86 published");
	build(&w, 1);
	await_link(&w, KU | EX | EF, "kvm-uefi", "kvm-uefi published");
	build(&w, 0);
	await_link(&w, ALL, "kvm-linux", "kvm-linux published");
	unpublish(&w, 0);
	await_link(&w, KU | EX | EF, "kvm-uefi", "kvm-linux removed");
	unpublish(&w, 1);
	unpublish(&w, 2);
	await_link(&w, EF, "emulate-foreign", "kvm-uefi and emulate-x86 removed");
	unpublish(&w, 3);
	await_link(&w, 0, "", "the last profile removed");
	build(&w, 2);
	await_link(&w, EX, "emulate-x86", "emulate-x86 published on an empty store");
	world_free(&w);
}

static bool is_fuse_mount(const char *mnt)
{
	struct statfs sf;

	return statfs(mnt, &sf) == 0 && sf.f_type == FUSE_SUPER_MAGIC;
}

Test(default_link, bad_kvm_values_refused)
{
	static const char *const bad[] = { "kvm=maybe", "kvm=", "kvm=YES", "kvm=1", "kvm=yes " };
	char *dir = vt_tmpdir(), *cas = vt_join(dir, "cas"), *mnt = vt_join(dir, "mnt");

	if (!vt_have_fuse())
		cr_skip_test("/dev/fuse is not usable here");
	vt_cas_init(cas);
	mkdir(mnt, 0755);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *cmd, *out;
		int status;

		/* Bounded: a daemon that took the value would serve until timeout stops it. */
		cr_assert(asprintf(&cmd, "timeout 5 '%s' -f -o '%s' '%s' '%s' 2>&1", VOLTFS_BIN,
				   bad[i], cas, mnt) > 0);
		status = vt_run(cmd, &out);
		cr_expect_eq(status, 2, "-o '%s': exit %d, want 2; it printed: %s", bad[i], status,
			     out);
		cr_expect_not_null(strstr(out, "kvm must be auto, yes or no"),
				   "-o '%s': no clear message: %s", bad[i], out);
		cr_expect_not(is_fuse_mount(mnt), "-o '%s' left a mount", bad[i]);
		free(out);
		free(cmd);
	}
	vt_rmtree(dir);
	free(mnt);
	free(cas);
	free(dir);
}
