// SPDX-License-Identifier: MIT
/*
 * The real thing: the host's QEMU, ingested by scripts/ingest-qemu, runs
 * straight from the mount; the emulate-x86 profile boots with its own args
 * under TCG until SeaBIOS prints; and systemd-analyze accepts the rendered
 * unit. The host has the same QEMU installed, so the boot alone proves
 * nothing about where files came from: the booting QEMU's maps and what
 * strace saw it open show that its binary, libraries, modules and firmware
 * all came from the mount (only ld.so, PT_INTERP, is the host's).
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "support.h"

static char *dir, *cas, *mnt;
static struct vt_mount m;

static void ingest(void)
{
	char *cmd, *out = NULL;
	int status;

	dir = vt_tmpdir();
	cas = vt_join(dir, "cas");
	mnt = vt_join(dir, "mnt");
	cr_assert(asprintf(&cmd,
			   "'%s/scripts/ingest-qemu' --cas '%s' --volt-cas '%s' "
			   "--profiles 'emulate-x86 kvm-linux' 2>&1",
			   VOLTFS_SOURCE_DIR, cas, VOLT_CAS_BIN) > 0);
	status = vt_run(cmd, &out);
	cr_assert_eq(status, 0, "ingest-qemu failed:\n%s", out);
	free(out);
	free(cmd);
}

static void setup(void)
{
	ingest();
	vt_mount(&m, cas, mnt, NULL);
}

/* The traced QEMU and its strace, while they run: a failed assertion must not leave them. */
static pid_t running[2] = { -1, -1 };

static void teardown(void)
{
	for (int i = 0; i < 2; i++)
		if (running[i] > 0)
			kill(running[i], SIGKILL);
	vt_mount_cleanup(&m);
	vt_rmtree(dir);
}

TestSuite(qemu, .init = setup, .fini = teardown, .timeout = 180);

Test(qemu, version_from_the_mount)
{
	const char *profiles[] = { "emulate-x86", "kvm-linux" };

	for (int i = 0; i < 2; i++) {
		char *cmd, *out;

		cr_assert(asprintf(&cmd,
				   "cd '%s' && env -i $(cat '%s/%s/env') "
				   "'%s/%s/bin/qemu-system-x86_64' "
				   "--version 2>&1",
				   dir, mnt, profiles[i], mnt, profiles[i]) > 0);
		cr_assert_eq(vt_run(cmd, &out), 0, "%s: %s", cmd, out);
		cr_assert_not_null(strstr(out, "QEMU emulator version"), "%s", out);
		free(out);
		free(cmd);
	}
	cr_assert_eq(vt_unmount(&m), 0);
}

/* argv from the args file: one argument per line. */
static char **read_args(const char *path, const char *binary)
{
	char *text = vt_read_file(path, NULL), **argv;
	size_t n = 2;

	cr_assert_not_null(text);
	for (char *p = text; *p; p++)
		n += *p == '\n';
	argv = calloc(n + 1, sizeof(*argv));
	argv[0] = strdup(binary);
	n = 1;
	for (char *save, *line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		argv[n++] = strdup(line);
	free(text);
	return argv;
}

/* The program interpreter the ELF file at path names (malloc'ed). */
static char *elf_interp(const char *path)
{
	size_t len;
	char *bin = vt_read_file(path, &len), *interp = NULL;
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)bin;

	cr_assert_not_null(bin, "%s", path);
	cr_assert(len > sizeof(*eh) && memcmp(eh->e_ident, ELFMAG, SELFMAG) == 0 &&
			  eh->e_ident[EI_CLASS] == ELFCLASS64,
		  "%s is not a 64-bit ELF file", path);
	for (unsigned i = 0; i < eh->e_phnum; i++) {
		const Elf64_Phdr *ph =
			(const Elf64_Phdr *)(bin + eh->e_phoff + (size_t)i * eh->e_phentsize);

		if (ph->p_type == PT_INTERP && ph->p_offset + ph->p_filesz <= len)
			interp = strndup(bin + ph->p_offset, ph->p_filesz);
	}
	free(bin);
	cr_assert_not_null(interp, "%s has no PT_INTERP", path);
	return interp;
}

/*
 * Every file QEMU had mapped (maps, its /proc/<pid>/maps) is on the mount's device, with the inode
 * the mount gives its path: the binary, each library, the TCG module. The one
 * exception is the binary's PT_INTERP, which the kernel maps from the host
 * before LD_LIBRARY_PATH means anything; it is matched by device and inode.
 */
static void expect_maps_from_mount(char *maps, const char *binary, const char *profile_dir)
{
	char *interp = elf_interp(binary), *save, last[PATH_MAX] = "";
	struct stat mst, ist;
	unsigned libs = 0;
	bool saw_binary = false, saw_libc = false, saw_tcg = false;

	cr_assert_eq(stat(mnt, &mst), 0);
	cr_assert_eq(stat(interp, &ist), 0, "%s: %s", interp, strerror(errno));
	cr_assert_not_null(maps, "QEMU's maps could not be read: %s", strerror(errno));
	for (char *line = strtok_r(maps, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned maj, min;
		unsigned long ino;
		int at = 0;
		const char *path;
		struct stat st;

		cr_assert_eq(sscanf(line, "%*s %*s %*s %x:%x %lu %n", &maj, &min, &ino, &at), 3,
			     "%s", line);
		path = line + at;
		/* Anonymous memory, the stack, vdso, and memfd-backed guest RAM name no file. */
		if (path[0] != '/' || strncmp(path, "/memfd:", 7) == 0)
			continue;
		if (makedev(maj, min) == ist.st_dev && ino == ist.st_ino)
			continue;
		cr_assert(makedev(maj, min) == mst.st_dev,
			  "QEMU maps %s from device %02x:%02x, not from the mount (%02x:%02x)",
			  path, maj, min, major(mst.st_dev), minor(mst.st_dev));
		cr_assert_eq(strncmp(path, profile_dir, strlen(profile_dir)), 0,
			     "QEMU maps %s, outside %s", path, profile_dir);
		cr_assert_eq(stat(path, &st), 0, "%s: %s", path, strerror(errno));
		cr_assert(st.st_dev == mst.st_dev && st.st_ino == ino,
			  "%s: mapped inode %lu, the mount's is %lu", path, ino,
			  (unsigned long)st.st_ino);
		saw_binary |= strcmp(path, binary) == 0;
		saw_libc |= strstr(path, "/lib/libc.so.") != NULL;
		saw_tcg |= strstr(path, "/lib/x86_64-linux-gnu/qemu/accel-tcg-") != NULL;
		/* A file's mappings are adjacent: count each library once. */
		libs += strstr(path, "/lib/lib") != NULL && strcmp(path, last) != 0;
		snprintf(last, sizeof(last), "%s", path);
	}
	cr_assert(saw_binary, "%s is not mapped", binary);
	cr_assert(saw_libc, "no libc from %s/lib mapped", profile_dir);
	cr_assert(saw_tcg, "no TCG module from %s/lib/x86_64-linux-gnu/qemu mapped", profile_dir);
	cr_log_info("maps: the binary, the TCG module and %u libraries from the mount; "
		    "only %s from the host",
		    libs, interp);
	free(interp);
}

/* Does the profile ship a regular file named base (in lib/, its module folder or firmware/)? */
static bool profile_ships(const char *profile_dir, const char *base)
{
	static const char *const dirs[] = { "lib", "lib/x86_64-linux-gnu/qemu", "firmware" };

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		struct stat st;
		char *p;
		bool found;

		cr_assert(asprintf(&p, "%s/%s/%s", profile_dir, dirs[i], base) > 0);
		found = stat(p, &st) == 0 && S_ISREG(st.st_mode);
		free(p);
		if (found)
			return true;
	}
	return false;
}

/*
 * What strace saw QEMU open: no file of a name the profile ships was opened
 * from anywhere but the mount, and each of wanted (paths in the profile, NULL
 * ended) was opened from it. A path is the one QEMU gave, after
 * "<unfinished ...>" too.
 */
static void expect_opens_from_mount(const char *trace_path, const char *profile_dir,
				    const char *const *wanted)
{
	char *trace = vt_read_file(trace_path, NULL), *save, pending[64][PATH_MAX];
	int pending_pid[64] = { 0 };
	unsigned from_mount = 0, n_wanted = 0;
	bool seen[8] = { false };

	cr_assert_not_null(trace, "%s: %s", trace_path, strerror(errno));
	for (char *line = strtok_r(trace, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char path[PATH_MAX], *q, *eq;
		const char *base;
		int pid, at = 0, slot = -1;
		long fd;

		if (sscanf(line, "%d %n", &pid, &at) != 1)
			continue;
		q = line + at;
		if (strncmp(q, "<... open", 9) == 0) {
			/* The end of an open this pid began on an earlier line. */
			for (int i = 0; i < 64; i++)
				if (pending_pid[i] == pid)
					slot = i;
			if (slot < 0)
				continue;
			strcpy(path, pending[slot]);
			pending_pid[slot] = 0;
		} else {
			char *start = strchr(q, '"'), *end = start ? strchr(start + 1, '"') : NULL;

			if (strncmp(q, "open", 4) != 0 || !end)
				continue;
			snprintf(path, sizeof(path), "%.*s", (int)(end - start - 1), start + 1);
			if (strstr(q, "<unfinished ...>")) {
				for (int i = 0; i < 64 && slot < 0; i++)
					if (pending_pid[i] == 0)
						slot = i;
				cr_assert(slot >= 0, "too many unfinished opens in %s", trace_path);
				pending_pid[slot] = pid;
				strcpy(pending[slot], path);
				continue;
			}
		}
		eq = strrchr(q, '=');
		if (!eq || sscanf(eq, "= %ld", &fd) != 1 || fd < 0)
			continue; /* a failed open brought nothing in */
		base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
		if (strncmp(path, profile_dir, strlen(profile_dir)) == 0 &&
		    path[strlen(profile_dir)] == '/') {
			const char *rel = path + strlen(profile_dir) + 1;

			/* QEMU names its modules bin/../lib/x86_64-linux-gnu/qemu/NAME. */
			if (strncmp(rel, "bin/../", 7) == 0)
				rel += 7;
			from_mount++;
			for (unsigned i = 0; wanted[i]; i++)
				seen[i] |= strcmp(rel, wanted[i]) == 0;
			continue;
		}
		cr_assert(!profile_ships(profile_dir, base),
			  "QEMU opened %s (fd %ld): the profile has its own %s, in the mount", path,
			  fd, base);
	}
	while (wanted[n_wanted])
		n_wanted++;
	cr_assert(n_wanted <= sizeof(seen) / sizeof(seen[0]));
	for (unsigned i = 0; i < n_wanted; i++)
		cr_assert(seen[i], "QEMU did not open %s/%s", profile_dir, wanted[i]);
	cr_log_info("strace: %u files opened from the mount, none of the profile's elsewhere",
		    from_mount);
	free(trace);
}

/* The one child of pid (strace's tracee), or -1; asserts nothing (QEMU may be running). */
static pid_t only_child(pid_t pid)
{
	char *path, *text;
	int child = -1;

	if (asprintf(&path, "/proc/%d/task/%d/children", (int)pid, (int)pid) < 0)
		return -1;
	text = vt_read_file(path, NULL);
	if (!text || sscanf(text, "%d", &child) != 1)
		child = -1;
	free(text);
	free(path);
	return child;
}

/*
 * The emulate-x86 profile's own args and env, under strace, until SeaBIOS
 * prints; then, while QEMU still runs, where its mapped files and everything
 * it opened came from.
 */
Test(qemu, boots_to_seabios_under_tcg)
{
	char *binary, *args, *env, *lib, *text, *profile_dir, *trace, *maps = NULL, *maps_path;
	char buf[65536];
	static char a_strace[] = "strace", a_f[] = "-f", a_o[] = "-o", a_e[] = "-e",
		    a_trace[] = "trace=open,openat,openat2", a_end[] = "--";
	char **argv, **sargv;
	static const char *const wanted[] = { "firmware/bios-256k.bin",
					      "lib/x86_64-linux-gnu/qemu/accel-tcg-x86_64.so",
					      NULL };
	size_t len = 0, n_args = 0;
	struct timespec start, now;
	bool seen = false;
	int pipefd[2], status;
	pid_t pid, qemu = -1;

	cr_assert_eq(access("/usr/bin/strace", X_OK), 0,
		     "/usr/bin/strace: %s (scripts/setup installs it)", strerror(errno));
	cr_assert(asprintf(&profile_dir, "%s/emulate-x86", mnt) > 0);
	cr_assert(asprintf(&binary, "%s/bin/qemu-system-x86_64", profile_dir) > 0);
	cr_assert(asprintf(&args, "%s/args", profile_dir) > 0);
	cr_assert(asprintf(&env, "%s/env", profile_dir) > 0);
	cr_assert(asprintf(&trace, "%s/qemu.strace", dir) > 0);
	lib = vt_read_file(env, NULL);
	cr_assert_not_null(lib);
	lib[strcspn(lib, "\n")] = '\0';
	argv = read_args(args, binary);
	text = vt_read_file(args, NULL);
	cr_assert_not_null(text, "%s", args);
	cr_assert_not_null(strstr(text, "accel=tcg"), "%s", text);
	free(text);
	while (argv[n_args])
		n_args++;
	/* strace -f -o TRACE -e trace=open,openat,openat2 -- BINARY ARGS... */
	sargv = calloc(n_args + 9, sizeof(*sargv));
	sargv[0] = a_strace;
	sargv[1] = a_f;
	sargv[2] = a_o;
	sargv[3] = trace;
	sargv[4] = a_e;
	sargv[5] = a_trace;
	sargv[6] = a_end;
	memcpy(sargv + 7, argv, n_args * sizeof(*argv));
	cr_assert_eq(pipe(pipefd), 0);
	pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		char *envp[] = { lib, NULL };
		int null = open("/dev/null", O_RDONLY);

		dup2(null, 0);
		dup2(pipefd[1], 1);
		dup2(pipefd[1], 2);
		close(pipefd[0]);
		/* Not the host's firmware: QEMU looks in its cwd first, so make that empty. */
		if (chdir(dir) != 0)
			_exit(126);
		execve("/usr/bin/strace", sargv, envp);
		_exit(127);
	}
	running[0] = pid;
	close(pipefd[1]);
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (!seen && len < sizeof(buf) - 1) {
		struct pollfd pfd = { .fd = pipefd[0], .events = POLLIN };
		ssize_t n;

		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - start.tv_sec > 90)
			break;
		if (poll(&pfd, 1, 1000) <= 0)
			continue;
		n = read(pipefd[0], buf + len, sizeof(buf) - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		buf[len] = '\0';
		seen = strstr(buf, "SeaBIOS (version") != NULL;
	}
	buf[len] = '\0';
	/* QEMU still runs, with all it needed to reach the banner mapped: read its maps now. */
	if (seen)
		qemu = only_child(pid);
	running[1] = qemu;
	if (qemu > 0 && asprintf(&maps_path, "/proc/%d/maps", (int)qemu) > 0) {
		maps = vt_read_file(maps_path, NULL);
		free(maps_path);
	}
	/* strace ends once its tracee has: after waitpid, QEMU holds nothing in the mount. */
	kill(qemu > 0 ? qemu : pid, SIGKILL);
	waitpid(pid, &status, 0);
	running[0] = running[1] = -1;
	close(pipefd[0]);
	cr_assert(seen, "no SeaBIOS banner from QEMU run from the mount; it printed:\n%s", buf);
	cr_assert(qemu > 0,
		  "no QEMU process under strace (pid %d): no /proc/<pid>/task/<tid>/children?",
		  (int)pid);
	expect_maps_from_mount(maps, binary, profile_dir);
	cr_log_info("SeaBIOS after %.2f s (under strace)",
		    (double)(now.tv_sec - start.tv_sec) + (now.tv_nsec - start.tv_nsec) / 1e9);
	/* A tracee SIGKILLed mid-call leaves the trace ending mid-line: nothing lost before. */
	expect_opens_from_mount(trace, profile_dir, wanted);
	for (char **a = argv; *a; a++)
		free(*a);
	free(argv);
	free(sargv);
	free(binary);
	free(args);
	free(env);
	free(lib);
	free(trace);
	free(maps);
	free(profile_dir);
	cr_assert_eq(vt_unmount(&m), 0);
}

/*
 * A module that needs a library the binary does not (USB redirection needs
 * libusbredirparser): `-device help` loads every device module, and the
 * profile's own usb-redirect module and its library must be what QEMU opened.
 * Without the library in lib/, the loader would take the host's.
 */
Test(qemu, modules_load_from_the_mount)
{
	static const char *const wanted[] = { "lib/x86_64-linux-gnu/qemu/hw-usb-redirect.so",
					      "lib/libusbredirparser.so.1",
					      "lib/x86_64-linux-gnu/qemu/hw-usb-host.so",
					      "lib/libusb-1.0.so.0", NULL };
	char *profile_dir, *trace, *cmd, *out;

	cr_assert_eq(access("/usr/bin/strace", X_OK), 0,
		     "/usr/bin/strace: %s (scripts/setup installs it)", strerror(errno));
	cr_assert(asprintf(&profile_dir, "%s/kvm-linux", mnt) > 0);
	cr_assert(asprintf(&trace, "%s/modules.strace", dir) > 0);
	/* The cwd is empty, as for the boot: QEMU looks there for modules too. */
	cr_assert(asprintf(&cmd,
			   "cd '%s' && env -i $(cat '%s/env') /usr/bin/strace -f -o '%s' "
			   "-e trace=open,openat,openat2 -- '%s/bin/qemu-system-x86_64' "
			   "-nodefaults -device help 2>&1",
			   dir, profile_dir, trace, profile_dir) > 0);
	cr_assert_eq(vt_run(cmd, &out), 0, "%s:\n%s", cmd, out);
	cr_assert_not_null(strstr(out, "name \"usb-redir\""), "no usb-redir device:\n%s", out);
	cr_assert_not_null(strstr(out, "name \"usb-host\""), "no usb-host device:\n%s", out);
	expect_opens_from_mount(trace, profile_dir, wanted);
	free(out);
	free(cmd);
	free(trace);
	free(profile_dir);
	cr_assert_eq(vt_unmount(&m), 0);
}

static void verify_unit(const char *profile)
{
	char *unit, *service, *cmd, *out, *text;

	cr_assert(asprintf(&unit, "%s/%s/unit", mnt, profile) > 0);
	text = vt_read_file(unit, NULL);
	cr_assert_not_null(text);
	cr_assert(asprintf(&service, "%s/volt-%s.service", dir, profile) > 0);
	vt_write_str(service, text);
	cr_assert(asprintf(&cmd, "systemd-analyze verify '%s' 2>&1", service) > 0);
	cr_assert_eq(vt_run(cmd, &out), 0, "systemd-analyze refused:\n%s\n%s", out, text);
	cr_assert_null(strstr(out, service), "systemd-analyze complained about the unit:\n%s", out);
	free(out);
	free(cmd);
	free(service);
	free(text);
	free(unit);
}

Test(qemu, systemd_accepts_the_unit)
{
	verify_unit("emulate-x86");
	verify_unit("kvm-linux");
	cr_assert_eq(vt_unmount(&m), 0);
	/* Awkward inputs: a rootfs with a space, a kernel path with % and $. */
	vt_mount(&m, cas, mnt, "rootfs=/srv/my vm,kernel=/boot/vmlinuz-100%$x,memory=1024,cpus=2");
	verify_unit("emulate-x86");
	cr_assert_eq(vt_unmount(&m), 0);
}
