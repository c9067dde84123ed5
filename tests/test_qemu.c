// SPDX-License-Identifier: MIT
/*
 * The real thing: the host's QEMU, ingested by scripts/ingest-qemu, runs
 * straight from the mount; the emulate-x86 profile boots with its own args
 * under TCG until SeaBIOS (from the mounted firmware/) prints; and
 * systemd-analyze accepts the rendered unit.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

static void teardown(void)
{
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

Test(qemu, boots_to_seabios_under_tcg)
{
	char *binary, *args, *env, *lib, *text, buf[65536];
	char **argv;
	size_t len = 0;
	struct timespec start, now;
	bool seen = false;
	int pipefd[2], status;
	pid_t pid;

	cr_assert(asprintf(&binary, "%s/emulate-x86/bin/qemu-system-x86_64", mnt) > 0);
	cr_assert(asprintf(&args, "%s/emulate-x86/args", mnt) > 0);
	cr_assert(asprintf(&env, "%s/emulate-x86/env", mnt) > 0);
	lib = vt_read_file(env, NULL);
	cr_assert_not_null(lib);
	lib[strcspn(lib, "\n")] = '\0';
	argv = read_args(args, binary);
	text = vt_read_file(args, NULL);
	cr_assert_not_null(strstr(text, "accel=tcg"), "%s", text);
	free(text);
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
		execve(binary, argv, envp);
		_exit(127);
	}
	close(pipefd[1]);
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (!seen && len < sizeof(buf) - 1) {
		struct pollfd pfd = { .fd = pipefd[0], .events = POLLIN };
		ssize_t n;

		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - start.tv_sec > 60)
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
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	close(pipefd[0]);
	buf[len] = '\0';
	for (char **a = argv; *a; a++)
		free(*a);
	free(argv);
	free(binary);
	free(args);
	free(env);
	free(lib);
	cr_assert(seen, "no SeaBIOS banner from QEMU run from the mount; it printed:\n%s", buf);
	cr_log_info("SeaBIOS after %.2f s",
		    (double)(now.tv_sec - start.tv_sec) + (now.tv_nsec - start.tv_nsec) / 1e9);
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
