// SPDX-License-Identifier: MIT
/*
 * What one local user cannot do to another on an allow_other,default_permissions
 * mount: here, hold every cached object descriptor open so that root's open of
 * QEMU fails, flood the log or grow the daemon by listing missing objects. The
 * attacker is a child that dropped to nobody.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "support.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

#define N_HELD 8

static char *dir, *cas, *mnt;
static struct vt_mount mount;
static pid_t attacker = -1;

static void teardown(void)
{
	/* A failed assertion leaves nobody's child holding its files: end it first. */
	if (attacker > 0) {
		kill(attacker, SIGKILL);
		waitpid(attacker, NULL, 0);
		attacker = -1;
	}
	vt_mount_cleanup(&mount);
	vt_rmtree(dir);
	free(dir);
	free(cas);
	free(mnt);
	dir = cas = mnt = NULL;
}

TestSuite(limits, .fini = teardown, .timeout = 120);

/* An empty store in a folder nobody can enter, or the test is skipped. */
static void store_make(void)
{
	if (geteuid() != 0)
		cr_skip_test("needs root to switch to nobody and to mount for other users");
	if (!getpwnam("nobody"))
		cr_skip_test("no user nobody here");
	if (!vt_have_fuse())
		cr_skip_test("no /dev/fuse");
	dir = vt_tmpdir();
	cr_assert_eq(chmod(dir, 0755), 0);
	cas = vt_join(dir, "cas");
	mnt = vt_join(dir, "mnt");
	vt_cas_init(cas);
}

/* kvm-linux with bin/qemu-system-x86_64 (a copy of /bin/echo) and lib/N (N_HELD objects). */
static char *world_make(const char *opts, char **qemu_bytes, size_t *qemu_len)
{
	char hex[VOLT_HASH_HEX_MAX + 1], ref[64], *json, *p;
	size_t len, n = 0;

	store_make();
	*qemu_bytes = vt_read_file("/bin/echo", qemu_len);
	cr_assert_not_null(*qemu_bytes);
	vt_put_object(cas, *qemu_bytes, *qemu_len, 0555, hex);
	json = malloc(65536);
	n = (size_t)snprintf(json, 65536,
			     "{\"name\":\"kvm-linux\",\"created_at\":\"2026-01-02T03:04:05Z\","
			     "\"objects\":{\"bin/qemu-system-x86_64\":\"%s\"",
			     hex);
	for (int i = 0; i < N_HELD; i++) {
		char body[32];

		len = (size_t)snprintf(body, sizeof(body), "object %d\n", i);
		vt_put_object(cas, body, len, 0444, hex);
		n += (size_t)snprintf(json + n, 65536 - n, ",\"lib/%d\":\"%s\"", i, hex);
	}
	snprintf(json + n, 65536 - n, "}}");
	vt_put_ref(cas, "kvm-linux", json, ref);
	free(json);
	vt_mount(&mount, cas, mnt, opts);
	p = vt_join(mnt, "kvm-linux/bin/qemu-system-x86_64");
	return p;
}

/* Become nobody, with no supplementary groups; _exit(99) if that fails. */
static void become_nobody(void)
{
	const struct passwd *pw = getpwnam("nobody");

	if (setgroups(0, NULL) < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0 ||
	    setuid(0) == 0)
		_exit(99);
}

/*
 * nobody opens N_HELD objects and holds them: every cached descriptor of
 * -o max_fds=N_HELD is in use. root's open of QEMU must still work, with the
 * right bytes, and the run of QEMU from the mount too.
 */
Test(limits, held_descriptors_do_not_starve_another_user)
{
	char *qemu_bytes, *qemu, *body, *cmd, *out;
	size_t qemu_len, len;
	int ready[2], hold[2], status;
	char c;
	pid_t pid;

	qemu = world_make("allow_other,default_permissions,max_fds=8", &qemu_bytes, &qemu_len);
	cr_assert_eq(pipe(ready), 0);
	cr_assert_eq(pipe(hold), 0);
	pid = attacker = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		int fds[N_HELD];

		close(ready[0]);
		close(hold[1]);
		become_nobody();
		for (int i = 0; i < N_HELD; i++) {
			char p[4096];

			snprintf(p, sizeof(p), "%s/kvm-linux/lib/%d", mnt, i);
			fds[i] = open(p, O_RDONLY);
			if (fds[i] < 0)
				_exit(10 + i);
		}
		if (write(ready[1], "r", 1) != 1)
			_exit(98);
		/* Hold them until the parent closes its end. */
		if (read(hold[0], &c, 1) < 0)
			_exit(97);
		for (int i = 0; i < N_HELD; i++)
			close(fds[i]);
		_exit(0);
	}
	close(ready[1]);
	close(hold[0]);
	cr_assert_eq(read(ready[0], &c, 1), 1, "nobody could not open %d objects", N_HELD);
	body = vt_read_file(qemu, &len);
	cr_assert_not_null(body, "root's open of QEMU while nobody holds %d: %s", N_HELD,
			   strerror(errno));
	cr_assert(len == qemu_len && memcmp(body, qemu_bytes, len) == 0, "wrong bytes");
	free(body);
	cr_assert(vt_mount_stat(mnt, "own_fds") >= 1, "QEMU was not given its own descriptor");
	/* And root runs it from the mount, still while nobody holds them. */
	cr_assert(asprintf(&cmd, "'%s' from the mount", qemu) > 0);
	cr_assert_eq(vt_run(cmd, &out), 0, "running QEMU from the mount failed");
	cr_assert_str_eq(out, "from the mount\n");
	free(cmd);
	free(out);
	close(hold[1]);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	attacker = -1;
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "nobody's child: status %d",
		  status);
	close(ready[0]);
	cr_assert_eq(vt_unmount(&mount), 0);
	free(qemu);
	free(qemu_bytes);
}

#define N_MISSING 20000

static long count_lines(const char *text, const char *needle)
{
	long n = 0;

	for (const char *p = text; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

/* Run argv as nobody, output thrown away: its exit status. */
static int run_as_nobody(char *const argv[])
{
	int status;
	pid_t pid = fork();

	cr_assert(pid >= 0);
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		dup2(null, 2);
		become_nobody();
		execv(argv[0], argv);
		_exit(126);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/*
 * nobody lists, with ls -l, a folder of N_MISSING objects absent from the
 * store, twice, with the kernel's caches dropped between: the daemon's log
 * grows by a bounded number of lines (unlimited, that is 2 x N_MISSING), and
 * says how many it suppressed.
 */
Test(limits, missing_objects_do_not_flood_the_log, .timeout = 240)
{
	char ref[64], *json, *folder, *log;
	size_t cap = 64 + (size_t)N_MISSING * 64, n;
	long lines, said;

	store_make();
	json = malloc(cap);
	n = (size_t)snprintf(json, cap,
			     "{\"name\":\"kvm-linux\",\"created_at\":\"2026-01-02T03:04:05Z\","
			     "\"objects\":{");
	for (int i = 0; i < N_MISSING; i++)
		n += (size_t)snprintf(json + n, cap - n, "%s\"lib/m/%d\":\"%032x\"", i ? "," : "",
				      i, 0x10000 + i);
	snprintf(json + n, cap - n, "}}");
	vt_put_ref(cas, "kvm-linux", json, ref);
	free(json);
	vt_mount(&mount, cas, mnt, "allow_other,default_permissions");
	folder = vt_join(mnt, "kvm-linux/lib/m");
	for (int round = 0; round < 2; round++) {
		char ls[] = "/bin/ls", dash_l[] = "-l";
		char *argv[] = { ls, dash_l, folder, NULL };

		/* ls reports the unreadable entries: status 1 or 2, never a crash. */
		cr_assert_lt(run_as_nobody(argv), 3);
		cr_assert_eq(vt_run("sync; echo 3 > /proc/sys/vm/drop_caches", NULL), 0);
	}
	/* A second later one more line gets through, and with it the count: of an
	 * object not named yet (each is named once), the last listed. */
	nanosleep(&(struct timespec){ 1, 200 * 1000 * 1000 }, NULL);
	{
		char last[16], *p;
		struct stat st;

		snprintf(last, sizeof(last), "%d", N_MISSING - 1);
		p = vt_join(folder, last);
		cr_assert_eq(vt_run("echo 2 > /proc/sys/vm/drop_caches", NULL), 0);
		cr_assert_eq(lstat(p, &st), -1);
		free(p);
	}
	log = vt_mount_log(&mount);
	/* Seen once in CI: the log could not be read (a NULL here crashed the test). */
	cr_assert_not_null(log, "the daemon's log could not be read: %s", strerror(errno));
	lines = count_lines(log, "is missing");
	said = count_lines(log, "similar messages suppressed");
	cr_assert_geq(lines, 1, "no missing object was logged at all");
	/* 10 at once, then one a second: far below 2 x N_MISSING on any machine. */
	cr_assert_lt(lines, 400, "%ld lines for %d missing objects listed twice", lines, N_MISSING);
	cr_assert_geq(said, 1, "the suppressed lines were not counted");
	free(log);
	free(folder);
	cr_assert_eq(vt_unmount(&mount), 0);
}

#define N_UNRECORDED 100000

/* The daemon's resident set, in KiB. */
static long rss_kib(pid_t pid)
{
	char path[64], *status, *at;
	long kib;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	status = vt_read_file(path, NULL);
	cr_assert_not_null(status, "%s: %s", path, strerror(errno));
	at = strstr(status, "\nVmRSS:");
	cr_assert_not_null(at, "no VmRSS in %s", path);
	kib = strtol(at + strlen("\nVmRSS:"), NULL, 10);
	free(status);
	return kib;
}

/*
 * nobody lists, with ls -l and with plain ls, a folder of N_UNRECORDED objects
 * absent from the store (issue 13 item 5): the daemon keeps nothing for them, so
 * its resident set grows by far less than the ~110 bytes an object record and
 * its index slot cost each (5.6 MB here before records were kept for objects
 * found only). Each still answers EIO on lookup, as it did.
 */
Test(limits, missing_objects_keep_no_memory, .timeout = 240)
{
	char ref[64], *json, *folder, *p;
	size_t cap = 64 + (size_t)N_UNRECORDED * 64, n;
	long before, after;
	struct stat st;

	store_make();
	json = malloc(cap);
	n = (size_t)snprintf(json, cap,
			     "{\"name\":\"kvm-linux\",\"created_at\":\"2026-01-02T03:04:05Z\","
			     "\"objects\":{");
	for (int i = 0; i < N_UNRECORDED; i++)
		/* Names spread as real hashes are, so that records would fill the index evenly. */
		n += (size_t)snprintf(json + n, cap - n, "%s\"lib/m/%d\":\"%08x%024x\"",
				      i ? "," : "", i, (unsigned)i * 2654435761u, 0x10000 + i);
	snprintf(json + n, cap - n, "}}");
	vt_put_ref(cas, "kvm-linux", json, ref);
	free(json);
	vt_mount(&mount, cas, mnt, "allow_other,default_permissions");
	folder = vt_join(mnt, "kvm-linux/lib/m");
	/* The build loaded, and the workers a listing wakes started: then measure. */
	cr_assert_eq(stat(folder, &st), 0, "%s: %s", folder, strerror(errno));
	{
		char ls[] = "/bin/ls", dash_l[] = "-l", *small = vt_join(mnt, "kvm-linux/lib");
		char *argv[] = { ls, dash_l, small, NULL };

		cr_assert_lt(run_as_nobody(argv), 3);
		free(small);
	}
	before = rss_kib(mount.pid);
	for (int round = 0; round < 2; round++) {
		char ls[] = "/bin/ls", dash_l[] = "-l", dash_1[] = "-1";
		char *argv[] = { ls, round ? dash_1 : dash_l, folder, NULL };

		/* ls reports the unreadable entries: status 1 or 2, never a crash. */
		cr_assert_lt(run_as_nobody(argv), 3);
		cr_assert_eq(vt_run("sync; echo 3 > /proc/sys/vm/drop_caches", NULL), 0);
	}
	after = rss_kib(mount.pid);
	cr_log_info("daemon RSS %ld KiB before, %ld KiB after listing %d missing objects", before,
		    after, N_UNRECORDED);
	/* A fifth of what records cost (~56 bytes each), well above this run's noise;
	 * not under AddressSanitizer, whose quarantine keeps what the daemon frees. */
#ifndef UNDER_ASAN
	cr_assert_lt((after - before) * 1024, (long)N_UNRECORDED * 56 / 5,
		     "listing %d missing objects grew the daemon by %ld KiB", N_UNRECORDED,
		     after - before);
#endif
	/* The listing still names every one of them. */
	{
		DIR *d = opendir(folder);
		struct dirent *de;
		long names = 0;

		cr_assert_not_null(d, "%s: %s", folder, strerror(errno));
		while ((de = readdir(d)))
			if (de->d_name[0] != '.') {
				cr_assert_neq(de->d_ino, 0, "%s has no inode number", de->d_name);
				names++;
			}
		closedir(d);
		cr_assert_eq(names, N_UNRECORDED, "%ld names listed", names);
	}
	/* What a missing object answered before: EIO, not a file. */
	p = vt_join(folder, "7");
	cr_assert_eq(lstat(p, &st), -1, "%s is served", p);
	cr_assert_eq(errno, EIO, "%s: %s", p, strerror(errno));
	free(p);
	free(folder);
	cr_assert_eq(vt_unmount(&mount), 0);
}

#define N_FEW 5

/*
 * One line per cause and object (issue 13 item 4): nobody lists, with ls -l, a
 * folder of N_FEW missing objects twice, caches dropped between (each time a
 * listing and a lookup of each): each object is named in the log once, well
 * within the rate limit's burst, so only repeats can have been left out.
 */
Test(limits, missing_object_logged_once)
{
	char ref[64], json[1024], *folder, *log, hex[N_FEW][40];
	size_t n;

	store_make();
	n = (size_t)snprintf(json, sizeof(json),
			     "{\"name\":\"kvm-linux\",\"created_at\":\"2026-01-02T03:04:05Z\","
			     "\"objects\":{");
	for (int i = 0; i < N_FEW; i++) {
		snprintf(hex[i], sizeof(hex[i]), "%08x%024x", (unsigned)(i + 1) * 2654435761u, i);
		n += (size_t)snprintf(json + n, sizeof(json) - n, "%s\"lib/m/%d\":\"%s\"",
				      i ? "," : "", i, hex[i]);
	}
	snprintf(json + n, sizeof(json) - n, "}}");
	vt_put_ref(cas, "kvm-linux", json, ref);
	vt_mount(&mount, cas, mnt, "allow_other,default_permissions");
	folder = vt_join(mnt, "kvm-linux/lib/m");
	for (int round = 0; round < 2; round++) {
		char ls[] = "/bin/ls", dash_l[] = "-l";
		char *argv[] = { ls, dash_l, folder, NULL };

		cr_assert_lt(run_as_nobody(argv), 3);
		cr_assert_eq(vt_run("sync; echo 3 > /proc/sys/vm/drop_caches", NULL), 0);
	}
	log = vt_mount_log(&mount);
	cr_assert_not_null(log, "the daemon's log could not be read: %s", strerror(errno));
	for (int i = 0; i < N_FEW; i++)
		cr_assert_eq(count_lines(log, hex[i]), 1, "object %s named %ld times:\n%s", hex[i],
			     count_lines(log, hex[i]), log);
	cr_assert_eq(count_lines(log, "is missing"), N_FEW, "%s", log);
	free(log);
	free(folder);
	cr_assert_eq(vt_unmount(&mount), 0);
}
