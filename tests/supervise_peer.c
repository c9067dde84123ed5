// SPDX-License-Identifier: MIT
/*
 * A stand-in daemon for the holder's tests (test_supervise): it speaks the
 * daemon's side of the notify protocol for real (FDSTORE with SCM_RIGHTS,
 * READY, FDSTOREREMOVE, STOPPING; LISTEN_* at a takeover) and keeps a log
 * of what it was given. PEER_DIR holds its log and start counter; PEER_PLAN
 * is what each start does, comma-separated (the last repeats):
 *   serve  store (or check what it was given), READY=1, then SIGUSR1 exits
 *          0 with everything stored, SIGTERM removes everything and exits 0
 *   crash  store or check, then exit 3 before READY
 *   fail   say "peer cannot mount" on stderr, exit 4, storing nothing
 *   stray  as serve, but first a child of its own asks to remove "fuse"
 * The descriptors are memfds holding their own name: a takeover checks that
 * each one it got under a name is the file stored under that name.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *const names[] = { "fuse", "state", "voltfs-extra" };
#define N_NAMES 3

static char dir[4096];

static void say(const char *fmt, ...)
{
	char line[8192], path[4200];
	struct timespec ts;
	va_list ap;
	int n, fd;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	n = snprintf(line, sizeof(line), "%lld ",
		     (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	line[n++] = '\n';
	snprintf(path, sizeof(path), "%s/log", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
	if (fd >= 0) {
		if (write(fd, line, (size_t)n) != n)
			perror("peer log");
		close(fd);
	}
}

static int notify(const char *msg, int fd)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	union {
		char b[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { (void *)msg, strlen(msg) };
	struct msghdr mh = {
		.msg_name = &sa, .msg_namelen = sizeof(sa), .msg_iov = &iov, .msg_iovlen = 1
	};
	int s, ret;

	if (!path)
		return -1;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd >= 0) {
		mh.msg_control = ctl.b;
		mh.msg_controllen = sizeof(ctl.b);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ret = sendmsg(s, &mh, 0) < 0 ? -1 : 0;
	close(s);
	return ret;
}

static const char *plan_for(unsigned int start)
{
	static char tok[64];
	const char *plan = getenv("PEER_PLAN"), *p = plan ? plan : "serve";

	for (unsigned int i = 1; i < start && strchr(p, ','); i++)
		p = strchr(p, ',') + 1;
	snprintf(tok, sizeof(tok), "%.*s", (int)strcspn(p, ","), p);
	return tok;
}

/* The descriptors given at a takeover: each holds its own name. A line for the log. */
static void check_listen(char *out, size_t size)
{
	const char *pid = getenv("LISTEN_PID"), *n = getenv("LISTEN_FDS");
	char names_env[1024], *save, *name;
	int count = n ? atoi(n) : 0, i = 0;
	bool ok = pid && atoi(pid) == getpid() && count == N_NAMES;

	snprintf(names_env, sizeof(names_env), "%s", getenv("LISTEN_FDNAMES") ?: "");
	for (name = strtok_r(names_env, ":", &save); name; name = strtok_r(NULL, ":", &save), i++) {
		char buf[64] = "";
		ssize_t len = pread(3 + i, buf, sizeof(buf) - 1, 0);

		buf[len > 0 ? len : 0] = '\0';
		ok &= strcmp(buf, name) == 0 && i < N_NAMES && strcmp(name, names[i]) == 0;
	}
	snprintf(out, size, "listen=%s check=%s", getenv("LISTEN_FDNAMES") ?: "",
		 ok && i == count ? "ok" : "BAD");
}

static volatile sig_atomic_t got;

static void on_signal(int sig)
{
	got = sig;
}

int main(void)
{
	char path[4200], buf[64] = "0", check[1200] = "listen= check=first";
	unsigned int start;
	const char *plan;
	int fd, lock;
	sigset_t mask, old;

	snprintf(dir, sizeof(dir), "%s", getenv("PEER_DIR") ?: ".");
	snprintf(path, sizeof(path), "%s/lock", dir);
	lock = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (flock(lock, LOCK_EX | LOCK_NB) != 0)
		say("OVERLAP pid %d", (int)getpid());
	snprintf(path, sizeof(path), "%s/count", dir);
	fd = open(path, O_RDWR | O_CREAT, 0644);
	if (read(fd, buf, sizeof(buf) - 1) < 0)
		return 1;
	start = (unsigned int)atoi(buf) + 1;
	snprintf(buf, sizeof(buf), "%u\n", start);
	if (pwrite(fd, buf, strlen(buf), 0) < 0)
		return 1;
	close(fd);
	plan = plan_for(start);
	if (getenv("LISTEN_FDS"))
		check_listen(check, sizeof(check));
	say("start %u pid %d holder %d plan %s %s", start, (int)getpid(), (int)getppid(), plan,
	    check);
	if (strcmp(plan, "fail") == 0) {
		fprintf(stderr, "voltfs: peer cannot mount\n");
		return 4;
	}
	sigemptyset(&mask);
	sigaddset(&mask, SIGUSR1);
	sigaddset(&mask, SIGTERM);
	sigprocmask(SIG_BLOCK, &mask, &old);
	signal(SIGUSR1, on_signal);
	signal(SIGTERM, on_signal);
	if (!getenv("LISTEN_FDS")) {
		for (int i = 0; i < N_NAMES; i++) {
			char msg[128];

			fd = memfd_create(names[i], MFD_CLOEXEC);
			if (fd < 0 || write(fd, names[i], strlen(names[i])) < 0)
				return 1;
			snprintf(msg, sizeof(msg), "FDSTORE=1\nFDNAME=%s", names[i]);
			if (notify(msg, fd) < 0)
				return 1;
			close(fd);
		}
	} else {
		/* Stored again under its name: the holder replaces it where it stands. */
		notify("FDSTORE=1\nFDNAME=state", 4);
	}
	if (strcmp(plan, "crash") == 0) {
		say("crash %u", start);
		return 3;
	}
	if (strcmp(plan, "stray") == 0) {
		pid_t child = fork();

		if (child == 0)
			_exit(notify("FDSTOREREMOVE=1\nFDNAME=fuse", -1) == 0 ? 0 : 1);
		waitpid(child, NULL, 0);
	}
	snprintf(buf, sizeof(buf), "READY=1\nMAINPID=%d", (int)getpid());
	notify(buf, -1);
	say("ready %u", start);
	while (!got)
		sigsuspend(&old);
	if (got == SIGTERM) {
		for (int i = 0; i < N_NAMES; i++) {
			char msg[128];

			snprintf(msg, sizeof(msg), "FDSTOREREMOVE=1\nFDNAME=%s", names[i]);
			notify(msg, -1);
		}
		notify("STOPPING=1", -1);
	}
	say("exit %u %s", start, got == SIGTERM ? "stop" : "handover");
	return 0;
}
