// SPDX-License-Identifier: MIT
/*
 * -o supervise, the holder: against a stand-in daemon that speaks the
 * notify protocol for real (tests/supervise_peer.c) it starts the daemon
 * again after a kill and a hand-over with the descriptors it stored, named
 * and in order, never two at once, exits with the daemon's status once the
 * store is empty, backs off and gives up on a crash loop, hears the daemon
 * only; voltfs -o supervise serves a real mount; systemd takes the service unit.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "support.h"

static char *dir;
static struct vt_mount m;

static void setup(void)
{
	dir = vt_tmpdir();
}

static void teardown(void)
{
	vt_mount_cleanup(&m);
	vt_rmtree(dir);
	free(dir);
}

struct holder {
	pid_t pid;
	char *log;
};

/* supervise-holder [-f] supervise-peer with PEER_PLAN=plan; its stderr into holder.log. */
static void holder_start(struct holder *h, const char *plan, bool foreground)
{
	h->log = vt_join(dir, "holder.log");
	h->pid = fork();
	cr_assert(h->pid >= 0);
	if (h->pid == 0) {
		int fd = open(h->log, O_WRONLY | O_CREAT | O_APPEND, 0644);

		dup2(fd, 1);
		dup2(fd, 2);
		setenv("PEER_DIR", dir, 1);
		setenv("PEER_PLAN", plan, 1);
		if (foreground)
			execl(SUPERVISE_HOLDER, "supervise-holder", "-f", SUPERVISE_PEER,
			      (char *)NULL);
		else
			execl(SUPERVISE_HOLDER, "supervise-holder", SUPERVISE_PEER, (char *)NULL);
		_exit(127);
	}
}

static char *peer_log(void)
{
	char *path = vt_join(dir, "log"), *s = vt_read_file(path, NULL);

	free(path);
	return s ? s : strdup("");
}

/* Bounded wait (10 s) for what to appear in the peer's log; the log then. */
static char *wait_peer(const char *what)
{
	for (int i = 0; i < 1000; i++) {
		char *s = peer_log();

		if (strstr(s, what))
			return s;
		free(s);
		nanosleep(&(struct timespec){ 0, 10 * 1000 * 1000 }, NULL);
	}
	cr_assert_fail("the peer never logged '%s':\n%s", what, peer_log());
	return NULL;
}

/* The pid of start n, from its "start n pid P" line. */
static pid_t peer_pid(unsigned int n)
{
	char key[32], *log, *p;
	pid_t pid = -1;

	snprintf(key, sizeof(key), "start %u pid ", n);
	log = wait_peer(key);
	p = strstr(log, key);
	pid = (pid_t)atoi(p + strlen(key));
	free(log);
	return pid;
}

/* Bounded wait (20 s) for the holder to exit: its status. */
static int holder_wait(struct holder *h)
{
	int status;

	for (int i = 0; i < 2000; i++) {
		if (waitpid(h->pid, &status, WNOHANG) == h->pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		nanosleep(&(struct timespec){ 0, 10 * 1000 * 1000 }, NULL);
	}
	kill(h->pid, SIGKILL);
	waitpid(h->pid, NULL, 0);
	cr_assert_fail("the holder did not exit");
	return -1;
}

static char *holder_log(struct holder *h)
{
	char *s = vt_read_file(h->log, NULL);

	return s ? s : strdup("");
}

TestSuite(supervise, .init = setup, .fini = teardown);

Test(supervise, restarts_with_the_stored_fds_named_and_in_order)
{
	struct holder h;
	char *log, *hlog, want[128];
	pid_t p1, p2, p3;

	holder_start(&h, "serve", true);
	free(wait_peer("ready 1"));
	p1 = peer_pid(1);
	/* A crash: started again with fuse, state, voltfs-extra at 3, 4, 5. */
	cr_assert_eq(kill(p1, SIGKILL), 0);
	free(wait_peer("ready 2"));
	p2 = peer_pid(2);
	cr_assert_neq(p1, p2);
	/* A hand-over: SIGUSR1 to the holder reaches the daemon, which exits 0. */
	cr_assert_eq(kill(h.pid, SIGUSR1), 0);
	free(wait_peer("ready 3"));
	p3 = peer_pid(3);
	/* A real stop: the daemon empties the store, the holder exits with its 0. */
	cr_assert_eq(kill(h.pid, SIGTERM), 0);
	cr_assert_eq(holder_wait(&h), 0, "holder log:\n%s", holder_log(&h));
	log = peer_log();
	hlog = holder_log(&h);
	cr_assert_null(strstr(log, "OVERLAP"), "two daemons at once:\n%s", log);
	cr_assert_null(strstr(log, "start 4"), "started again after the stop:\n%s", log);
	cr_assert_null(strstr(log, "check=BAD"), "a takeover got the wrong fds:\n%s", log);
	cr_assert_not_null(strstr(log, "start 2 pid"), "%s", log);
	cr_assert_not_null(strstr(log, "listen=fuse:state:voltfs-extra check=ok"), "%s", log);
	cr_assert_not_null(strstr(log, "exit 2 handover"), "%s", log);
	cr_assert_not_null(strstr(log, "exit 3 stop"), "%s", log);
	snprintf(want, sizeof(want), "daemon pid %d killed by signal 9 (SIGKILL)", (int)p1);
	cr_assert_not_null(strstr(hlog, want), "no '%s' in:\n%s", want, hlog);
	snprintf(want, sizeof(want), "started again as pid %d, taking over fuse:state:voltfs-extra",
		 (int)p2);
	cr_assert_not_null(strstr(hlog, want), "no '%s' in:\n%s", want, hlog);
	snprintf(want, sizeof(want), "daemon pid %d exited with status 0, the mount still stored",
		 (int)p2);
	cr_assert_not_null(strstr(hlog, want), "no '%s' in:\n%s", want, hlog);
	snprintf(want, sizeof(want), "started again as pid %d", (int)p3);
	cr_assert_not_null(strstr(hlog, want), "no '%s' in:\n%s", want, hlog);
	free(log);
	free(hlog);
	free(h.log);
}

Test(supervise, exits_with_the_daemons_status_once_the_store_is_empty)
{
	struct holder h;
	char *hlog;

	holder_start(&h, "fail", true);
	cr_assert_eq(holder_wait(&h), 4);
	hlog = holder_log(&h);
	cr_assert_not_null(strstr(hlog, "peer cannot mount"), "%s", hlog);
	free(hlog);
	free(h.log);
}

/* In the background, the caller returns once READY came, or with the failure and its words. */
Test(supervise, background_returns_at_ready_or_with_the_failure)
{
	struct holder h;
	char *log, *hlog, *p;
	pid_t holder, peer;

	holder_start(&h, "fail", false);
	cr_assert_eq(holder_wait(&h), 4);
	hlog = holder_log(&h);
	cr_assert_not_null(strstr(hlog, "peer cannot mount"), "%s", hlog);
	free(hlog);
	free(h.log);

	vt_rmtree(dir);
	free(dir);
	dir = vt_tmpdir();
	holder_start(&h, "serve", false);
	cr_assert_eq(holder_wait(&h), 0, "%s", holder_log(&h));
	log = peer_log();
	cr_assert_not_null(strstr(log, "ready 1"), "returned before READY:\n%s", log);
	p = strstr(log, " holder ");
	cr_assert_not_null(p);
	holder = (pid_t)atoi(p + 8);
	peer = peer_pid(1);
	cr_assert_eq(kill(holder, 0), 0, "the holder did not stay in the background");
	cr_assert_eq(kill(peer, 0), 0, "the daemon did not stay");
	cr_assert_eq(kill(holder, SIGTERM), 0);
	free(log);
	free(wait_peer("exit 1 stop"));
	for (int i = 0; i < 500 && kill(holder, 0) == 0; i++)
		nanosleep(&(struct timespec){ 0, 10 * 1000 * 1000 }, NULL);
	cr_assert_neq(kill(holder, 0), 0, "the holder stayed after the stop");
	free(h.log);
}

/* The ms of start n's line. */
static long long start_ms(const char *log, unsigned int n)
{
	char key[32];
	const char *p;

	snprintf(key, sizeof(key), " start %u pid", n);
	p = strstr(log, key);
	cr_assert_not_null(p, "no start %u:\n%s", n, log);
	while (p > log && p[-1] != '\n')
		p--;
	return atoll(p);
}

Test(supervise, a_crash_loop_backs_off_and_gives_up)
{
	struct holder h;
	char *log, *hlog;
	long long gap[8];

	holder_start(&h, "serve,crash", true);
	free(wait_peer("ready 1"));
	cr_assert_eq(kill(peer_pid(1), SIGKILL), 0);
	cr_assert_eq(holder_wait(&h), 1, "%s", holder_log(&h));
	log = peer_log();
	hlog = holder_log(&h);
	/* After the kill, starts 2 to 6 die before READY: pauses of 100, 200, 400, 800 ms. */
	cr_assert_not_null(strstr(log, "crash 6"), "%s", log);
	cr_assert_null(strstr(log, "start 7"), "not given up after 5:\n%s", log);
	for (unsigned int n = 3; n <= 6; n++) {
		gap[n] = start_ms(log, n) - start_ms(log, n - 1);
		cr_assert_geq(gap[n], (100LL << (n - 3)) * 9 / 10,
			      "start %u came %lld ms after:\n%s", n, gap[n], log);
	}
	cr_assert_not_null(strstr(hlog, "before READY, 5 times in a row: giving up"), "%s", hlog);
	cr_assert_not_null(strstr(hlog, "again in 800 ms"), "%s", hlog);
	free(log);
	free(hlog);
	free(h.log);
}

/* NotifyAccess=main: a child of the daemon cannot empty the store. */
Test(supervise, hears_only_the_daemon)
{
	struct holder h;
	char *hlog;

	holder_start(&h, "stray,serve", true);
	free(wait_peer("ready 1"));
	cr_assert_eq(kill(peer_pid(1), SIGKILL), 0);
	free(wait_peer("ready 2"));
	cr_assert_eq(kill(h.pid, SIGTERM), 0);
	cr_assert_eq(holder_wait(&h), 0);
	hlog = holder_log(&h);
	cr_assert_not_null(strstr(hlog, "ignored a message from pid"), "%s", hlog);
	free(hlog);
	free(h.log);
}

/* voltfs -o supervise: the holder runs voltfs again (-f, without supervise) and serves. */
Test(supervise, voltfs_serves_under_its_holder)
{
	char *cas = vt_join(dir, "cas"), *mnt = vt_join(dir, "mnt"), *cmd, *out, *log;
	char hex[VOLT_HASH_HEX_MAX + 1], name[64], json[512], *file, *body;

	vt_cas_init(cas);
	vt_put_object(cas, "hello\n", 6, 0444, hex);
	snprintf(json, sizeof(json),
		 "{\"name\":\"emulate-x86\",\"created_at\":\"2025-01-01T00:00:00Z\","
		 "\"objects\":{\"firmware/hello\":\"%s\"}}",
		 hex);
	vt_put_ref(cas, "emulate-x86", json, name);
	vt_mount(&m, cas, mnt, "supervise");
	file = vt_join(mnt, "emulate-x86/firmware/hello");
	body = vt_read_file(file, NULL);
	cr_assert_str_eq(body, "hello\n");
	free(body);
	/* The server is the holder's child, not the holder, and runs without supervise (-o gone). */
	cr_assert(asprintf(&cmd, "ps -o args= --ppid %d", (int)m.pid) > 0);
	cr_assert_eq(vt_run(cmd, &out), 0);
	cr_assert_not_null(strstr(out, "-f"), "the holder's child: %s", out);
	cr_assert_null(strstr(out, " -o"), "the holder's child: %s", out);
	log = vt_mount_log(&m);
	cr_assert_not_null(strstr(log, "supervise: started"), "%s", log);
	cr_assert_eq(vt_unmount(&m), 0, "%s", log);
	free(log);
	free(out);
	free(cmd);
	free(file);
	free(cas);
	free(mnt);
}

/* The shipped service unit, as systemd reads it (ExecStart= pointed at this build). */
Test(supervise, systemd_accepts_the_service_unit)
{
	char *text = vt_read_file(VOLTFS_SERVICE, NULL), *unit = vt_join(dir, "voltfs.service");
	char *cmd, *out;

	if (access("/usr/bin/systemd-analyze", X_OK) != 0)
		cr_skip_test("no systemd-analyze here");
	cr_assert_not_null(text);
	for (const char *const *l =
		     (const char *const[]){ "\nType=notify\n", "\nNotifyAccess=main\n",
					    "\nRestart=always\n", "\nFileDescriptorStoreMax=",
					    "\nExecStart=/usr/sbin/voltfs -f ", NULL };
	     *l; l++)
		cr_assert_not_null(strstr(text, *l), "the unit lacks %s", *l);
	cr_assert(asprintf(&cmd,
			   "sed 's|^ExecStart=/usr/sbin/voltfs |ExecStart=%s |' '%s' > '%s' && "
			   "systemd-analyze verify --man=no '%s' 2>&1",
			   VOLTFS_BIN, VOLTFS_SERVICE, unit, unit) > 0);
	cr_assert_eq(vt_run(cmd, &out), 0, "systemd-analyze refused:\n%s", out);
	cr_assert_null(strstr(out, "voltfs.service"), "systemd-analyze complained:\n%s", out);
	free(out);
	free(cmd);
	free(unit);
	free(text);
}
