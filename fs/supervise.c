// SPDX-License-Identifier: MIT
/*
 * -o supervise: the holder. It speaks systemd's notify protocol from the
 * service manager's side (sd_notify(3), sd_listen_fds(3)), so the daemon
 * needs one way to be held: by systemd's fd store, or by this process.
 * The holder is never confined (it execs the daemon again and again) and
 * holds nothing of the mount but the descriptors the daemon stores.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "supervise.h"
#include "voltfs.h"

#define MAX_STORED 1024
/* The kernel passes at most 253 descriptors in one message (SCM_MAX_FD). */
#define MAX_PER_MESSAGE 253
#define NAME_MAX_LEN 255
/* The first pause after a death before READY; doubled at each one in a row. */
#define BACKOFF_MS 100

extern char **environ;

struct stored {
	char name[NAME_MAX_LEN + 1];
	int fd;
};

struct holder {
	const struct voltfs_supervise *s;
	char dir[PATH_MAX];
	char sock[PATH_MAX + 8];
	int notify_fd, sig_fd;
	int out_r, out_w; /* background: the daemons' stdout and stderr, read here */
	int ready_fd;	  /* background: tells the waiting caller, until READY */
	char out_buf[4096];
	size_t out_len;
	struct stored fds[MAX_STORED];
	unsigned int n;
	pid_t pid; /* the running daemon, or -1 */
	bool ready, stop_asked;
	unsigned int failures; /* deaths before READY in a row */
	int64_t restart_at;    /* ms on CLOCK_MONOTONIC, or -1: nothing to start */
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int find(const struct holder *h, const char *name)
{
	for (unsigned int i = 0; i < h->n; i++)
		if (strcmp(h->fds[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* Drop every descriptor stored under name, keeping the others in order. */
static void drop(struct holder *h, const char *name)
{
	unsigned int j = 0;

	for (unsigned int i = 0; i < h->n; i++) {
		if (strcmp(h->fds[i].name, name) == 0)
			close(h->fds[i].fd);
		else
			h->fds[j++] = h->fds[i];
	}
	h->n = j;
}

/* As systemd: printable, no ':' (the separator of LISTEN_FDNAMES), at most 255 bytes. */
static bool name_ok(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len > NAME_MAX_LEN)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f || *s == ':')
			return false;
	return true;
}

/* The caller waiting in the foreground: its exit status, once. */
static void tell_caller(struct holder *h, int status)
{
	unsigned char c = (unsigned char)status;
	int null;

	if (h->ready_fd < 0)
		return;
	if (write(h->ready_fd, &c, 1) != 1)
		voltfs_log(LOG_WARNING, "supervise: cannot tell the caller: %s", strerror(errno));
	close(h->ready_fd);
	h->ready_fd = -1;
	if (status != 0)
		return;
	/* Detached from here on, as fuse_daemonize leaves a daemon. */
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		close(null);
	}
	voltfs_log_init(false, h->s->level);
}

static void on_message(struct holder *h, char *msg, const int *fds, unsigned int n_fds)
{
	char name[NAME_MAX_LEN + 1] = "stored"; /* systemd's default FDNAME */
	bool store = false, remove = false, ready = false, stopping = false;

	for (char *line = strtok(msg, "\n"); line; line = strtok(NULL, "\n")) {
		if (strcmp(line, "FDSTORE=1") == 0)
			store = true;
		else if (strcmp(line, "FDSTOREREMOVE=1") == 0)
			remove = true;
		else if (strcmp(line, "READY=1") == 0)
			ready = true;
		else if (strcmp(line, "STOPPING=1") == 0)
			stopping = true;
		else if (strncmp(line, "FDNAME=", 7) == 0 && name_ok(line + 7))
			snprintf(name, sizeof(name), "%s", line + 7);
		else if (strncmp(line, "FDNAME=", 7) == 0)
			voltfs_log(LOG_WARNING, "supervise: refused a descriptor name: %s", line);
	}
	if (remove) {
		drop(h, name);
		voltfs_log(LOG_DEBUG, "supervise: %s dropped", name);
	}
	if (store && n_fds == 1 && find(h, name) >= 0) {
		/* One name, one entry: stored again, it is replaced where it stands. */
		close(h->fds[find(h, name)].fd);
		h->fds[find(h, name)].fd = fds[0];
	} else if (store && n_fds) {
		drop(h, name);
		for (unsigned int i = 0; i < n_fds; i++) {
			if (h->n == MAX_STORED) {
				voltfs_log(LOG_WARNING,
					   "supervise: %u descriptors stored: %s refused", h->n,
					   name);
				close(fds[i]);
				continue;
			}
			snprintf(h->fds[h->n].name, sizeof(h->fds[h->n].name), "%s", name);
			h->fds[h->n++].fd = fds[i];
		}
		voltfs_log(LOG_DEBUG, "supervise: %s stored", name);
	} else {
		for (unsigned int i = 0; i < n_fds; i++)
			close(fds[i]);
	}
	if (ready && !h->ready) {
		h->ready = true;
		h->failures = 0;
		voltfs_log(LOG_INFO, "supervise: daemon pid %d ready, %u descriptors stored",
			   (int)h->pid, h->n);
		tell_caller(h, 0);
	}
	if (stopping)
		voltfs_log(LOG_INFO, "supervise: daemon pid %d stopping", (int)h->pid);
}

/* Everything queued on the notify socket (a daemon's last words come before its exit). */
static void receive(struct holder *h)
{
	for (;;) {
		char buf[4097];
		union {
			char b[CMSG_SPACE(sizeof(int) * MAX_PER_MESSAGE) +
			       CMSG_SPACE(sizeof(struct ucred))];
			struct cmsghdr align;
		} ctl;
		struct iovec iov = { buf, sizeof(buf) - 1 };
		struct msghdr mh = { .msg_iov = &iov,
				     .msg_iovlen = 1,
				     .msg_control = ctl.b,
				     .msg_controllen = sizeof(ctl.b) };
		int fds[MAX_PER_MESSAGE];
		unsigned int n_fds = 0;
		struct ucred cred = { .pid = 0 };
		ssize_t len = recvmsg(h->notify_fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

		if (len < 0)
			return;
		buf[len] = '\0';
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
				unsigned int k =
					(unsigned int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));

				memcpy(fds + n_fds, CMSG_DATA(c), k * sizeof(int));
				n_fds += k;
			} else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
				memcpy(&cred, CMSG_DATA(c), sizeof(cred));
			}
		}
		/* NotifyAccess=main: the daemon's helpers and anyone else are not heard. */
		if (h->pid <= 0 || cred.pid != h->pid ||
		    (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
			voltfs_log(LOG_WARNING, "supervise: ignored a message from pid %d",
				   (int)cred.pid);
			for (unsigned int i = 0; i < n_fds; i++)
				close(fds[i]);
			continue;
		}
		on_message(h, buf, fds, n_fds);
	}
}

/* The daemons' output in the background: to the caller's stderr until READY, then syslog. */
static void forward(struct holder *h)
{
	ssize_t n = read(h->out_r, h->out_buf + h->out_len, sizeof(h->out_buf) - 1 - h->out_len);
	char *start = h->out_buf, *nl;

	if (n <= 0)
		return;
	h->out_len += (size_t)n;
	h->out_buf[h->out_len] = '\0';
	while ((nl = strchr(start, '\n')) || h->out_len == sizeof(h->out_buf) - 1) {
		if (nl)
			*nl = '\0';
		if (h->ready_fd >= 0)
			fprintf(stderr, "%s\n", start);
		else
			syslog(LOG_INFO, "%s",
			       strncmp(start, "voltfs: ", 8) == 0 ? start + 8 : start);
		if (!nl) {
			start = h->out_buf + h->out_len;
			break;
		}
		start = nl + 1;
	}
	h->out_len -= (size_t)(start - h->out_buf);
	memmove(h->out_buf, start, h->out_len);
}

/*
 * Everything of environ but what this start sets, then those, from *ours on
 * (malloc'ed but listen_pid, which the child fills). NULL when out of memory.
 */
static char **child_env(const struct holder *h, char *listen_pid, size_t *ours)
{
	static const char *const set[] = { "NOTIFY_SOCKET=", "LISTEN_PID=", "LISTEN_FDS=",
					   "LISTEN_FDNAMES=" };
	size_t n = 0, j = 0, names = 16;
	char **env, *p;

	while (environ[n])
		n++;
	env = calloc(n + 5, sizeof(*env));
	if (!env)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		bool skip = false;

		for (size_t k = 0; k < sizeof(set) / sizeof(*set); k++)
			skip |= strncmp(environ[i], set[k], strlen(set[k])) == 0;
		if (!skip)
			env[j++] = environ[i];
	}
	*ours = j;
	if (asprintf(&env[j++], "NOTIFY_SOCKET=%s", h->sock) < 0)
		goto fail;
	if (h->n == 0)
		return env;
	for (unsigned int i = 0; i < h->n; i++)
		names += strlen(h->fds[i].name) + 1;
	env[j] = p = malloc(names);
	if (!p)
		goto fail;
	p += sprintf(p, "LISTEN_FDNAMES=");
	for (unsigned int i = 0; i < h->n; i++)
		p += sprintf(p, "%s%s", i ? ":" : "", h->fds[i].name);
	j++;
	if (asprintf(&env[j++], "LISTEN_FDS=%u", h->n) < 0)
		goto fail;
	env[j++] = listen_pid;
	return env;
fail:
	for (size_t i = *ours; i < j; i++)
		free(env[i]);
	free(env);
	return NULL;
}

static void free_env(char **env, size_t from, const char *listen_pid)
{
	for (size_t i = from; env[i]; i++)
		if (env[i] != listen_pid)
			free(env[i]);
	free(env);
}

static int start(struct holder *h)
{
	char listen_pid[32] = "LISTEN_PID=";
	size_t ours = 0;
	char **env = child_env(h, listen_pid, &ours);
	sigset_t none;
	pid_t pid;
	int err;

	if (!env)
		return -ENOMEM;
	pid = fork();
	if (pid == 0) {
		int tmp[MAX_STORED];

		/* The stored descriptors at 3, 4, ... in the order stored, as sd_listen_fds says. */
		for (unsigned int i = 0; i < h->n; i++)
			tmp[i] = fcntl(h->fds[i].fd, F_DUPFD_CLOEXEC, 3 + (int)h->n);
		for (unsigned int i = 0; i < h->n; i++)
			if (tmp[i] < 0 || dup2(tmp[i], 3 + (int)i) < 0)
				_exit(126);
		snprintf(listen_pid + 11, sizeof(listen_pid) - 11, "%d", (int)getpid());
		if (h->out_w >= 0) {
			dup2(h->out_w, 1);
			dup2(h->out_w, 2);
		}
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		execve(h->s->bin, h->s->argv, env);
		dprintf(2, "voltfs: supervise: cannot run %s: %s\n", h->s->bin, strerror(errno));
		_exit(127);
	}
	err = errno;
	free_env(env, ours, listen_pid);
	if (pid < 0)
		return -err;
	h->pid = pid;
	h->ready = false;
	return 0;
}

static void describe(int status, char *buf, size_t size)
{
	if (WIFSIGNALED(status))
		snprintf(buf, size, "killed by signal %d (SIG%s)", WTERMSIG(status),
			 sigabbrev_np(WTERMSIG(status)) ? sigabbrev_np(WTERMSIG(status)) : "?");
	else
		snprintf(buf, size, "exited with status %d", WEXITSTATUS(status));
}

/* The daemon is gone: start it again (now or after a pause), or the exit status (>= 0). */
static int daemon_gone(struct holder *h, int status)
{
	char how[64];
	pid_t was = h->pid;
	unsigned int pause;

	receive(h);
	h->pid = -1;
	describe(status, how, sizeof(how));
	if (find(h, "fuse") < 0) {
		voltfs_log(h->ready && status == 0 ? LOG_INFO : LOG_ERR,
			   "supervise: daemon pid %d %s, nothing stored: done", (int)was, how);
		return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
	}
	if (h->stop_asked) {
		voltfs_log(LOG_ERR,
			   "supervise: daemon pid %d %s after a stop was asked, the mount still "
			   "stored: not started again, the mount is left dead",
			   (int)was, how);
		return 1;
	}
	if (h->ready) {
		voltfs_log(LOG_WARNING, "supervise: daemon pid %d %s, the mount still stored",
			   (int)was, how);
		h->restart_at = now_ms();
		return -1;
	}
	if (++h->failures >= VOLTFS_SUPERVISE_TRIES) {
		voltfs_log(LOG_ERR,
			   "supervise: daemon pid %d %s before READY, %u times in a row: giving "
			   "up, the mount is left dead (ENOTCONN)",
			   (int)was, how, h->failures);
		return 1;
	}
	pause = BACKOFF_MS << (h->failures - 1);
	voltfs_log(LOG_ERR,
		   "supervise: daemon pid %d %s before READY (%u in a row): again in %u ms",
		   (int)was, how, h->failures, pause);
	h->restart_at = now_ms() + pause;
	return -1;
}

static int open_notify(struct holder *h)
{
	const char *tmp = getenv("TMPDIR");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int one = 1;

	/* A path, not an abstract name: a confined daemon's Landlock scope refuses those. */
	snprintf(h->dir, sizeof(h->dir), "/run/voltfs-supervise.XXXXXX");
	if (!mkdtemp(h->dir)) {
		snprintf(h->dir, sizeof(h->dir), "%s/voltfs-supervise.XXXXXX",
			 tmp && *tmp ? tmp : "/tmp");
		if (!mkdtemp(h->dir)) {
			h->dir[0] = '\0';
			return -errno;
		}
	}
	snprintf(h->sock, sizeof(h->sock), "%s/notify", h->dir);
	if (strlen(h->sock) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, h->sock);
	h->notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (h->notify_fd < 0 || bind(h->notify_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    setsockopt(h->notify_fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0)
		return -errno;
	return 0;
}

static int loop(struct holder *h)
{
	for (;;) {
		struct pollfd p[3] = { { h->notify_fd, POLLIN, 0 },
				       { h->sig_fd, POLLIN, 0 },
				       { h->out_r, POLLIN, 0 } };
		int timeout = -1, ret, status;
		struct signalfd_siginfo si;

		if (h->restart_at >= 0) {
			int64_t left = h->restart_at - now_ms();

			timeout = left > 0 ? (int)left : 0;
		}
		if (poll(p, 3, timeout) < 0 && errno != EINTR)
			return 1;
		if (p[0].revents)
			receive(h);
		if (p[2].revents)
			forward(h);
		if (p[1].revents && read(h->sig_fd, &si, sizeof(si)) == sizeof(si)) {
			int sig = (int)si.ssi_signo;

			if (sig == SIGTERM || sig == SIGINT)
				h->stop_asked = true;
			if (sig != SIGCHLD && h->pid > 0) {
				kill(h->pid, sig);
			} else if (sig != SIGCHLD && h->stop_asked) {
				voltfs_log(LOG_ERR,
					   "supervise: SIG%s while no daemon runs: not "
					   "started again, the mount is left dead",
					   sigabbrev_np(sig));
				return 1;
			}
		}
		while (h->pid > 0 && waitpid(h->pid, &status, WNOHANG) == h->pid) {
			ret = daemon_gone(h, status);
			if (ret >= 0)
				return ret;
		}
		/* Someone else's child (none are expected): reaped all the same. */
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		if (h->restart_at >= 0 && now_ms() >= h->restart_at) {
			char names[256];
			size_t len = 0;

			h->restart_at = -1;
			ret = start(h);
			if (ret < 0) {
				voltfs_log(LOG_ERR, "supervise: cannot start %s: %s", h->s->bin,
					   strerror(-ret));
				return 1;
			}
			names[0] = '\0';
			for (unsigned int i = 0; i < h->n && len < sizeof(names); i++)
				len += (size_t)snprintf(names + len, sizeof(names) - len, "%s%s",
							i ? ":" : "", h->fds[i].name);
			voltfs_log(LOG_INFO, "supervise: started again as pid %d, taking over %s",
				   (int)h->pid, names);
		}
	}
}

/* Fork: the caller waits for READY (or the failure) while the child holds. */
static int detach(struct holder *h)
{
	int p[2], o[2];
	unsigned char c;
	pid_t pid;
	ssize_t n;

	if (pipe2(p, O_CLOEXEC) < 0 || pipe2(o, O_CLOEXEC | O_NONBLOCK) < 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		close(p[0]);
		h->ready_fd = p[1];
		h->out_r = o[0];
		h->out_w = o[1];
		setsid();
		return 0;
	}
	close(p[1]);
	close(o[0]);
	close(o[1]);
	do
		n = read(p[0], &c, 1);
	while (n < 0 && errno == EINTR);
	close(p[0]);
	return n == 1 ? 1 + c : 2; /* EOF: the holder died */
}

int voltfs_supervise(const struct voltfs_supervise *s)
{
	struct holder h = { .s = s,
			    .notify_fd = -1,
			    .sig_fd = -1,
			    .out_r = -1,
			    .out_w = -1,
			    .ready_fd = -1,
			    .pid = -1,
			    .restart_at = -1 };
	sigset_t mask;
	int status = 1, ret;

	voltfs_log_init(true, s->level);
	if (!s->foreground) {
		ret = detach(&h);
		if (ret < 0) {
			fprintf(stderr, "voltfs: supervise: %s\n", strerror(errno));
			return 1;
		}
		if (ret > 0)
			return ret - 1; /* the caller: the holder's verdict */
	}
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGUSR1);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	h.sig_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	ret = h.sig_fd < 0 ? -errno : open_notify(&h);
	if (ret == 0)
		ret = start(&h);
	if (ret < 0) {
		voltfs_log(LOG_ERR, "supervise: cannot start %s: %s", s->bin, strerror(-ret));
	} else {
		voltfs_log(LOG_INFO, "supervise: started %s as pid %d", s->bin, (int)h.pid);
		status = loop(&h);
	}
	tell_caller(&h, status);
	if (h.pid > 0)
		voltfs_log(LOG_WARNING, "supervise: leaving daemon pid %d running", (int)h.pid);
	for (unsigned int i = 0; i < h.n; i++)
		close(h.fds[i].fd);
	if (h.sock[0])
		unlink(h.sock);
	if (h.dir[0])
		rmdir(h.dir);
	return status;
}

/*
 * The daemon's path: argv[0] made absolute where it names one, else (found
 * on PATH, or by mount.fuse3's shell) the running file's path as it is now.
 * Either is a path, opened anew at each start: a file replaced there is the
 * next daemon.
 */
static char *find_bin(const char *argv0)
{
	char cwd[PATH_MAX], *out = NULL;
	ssize_t n;

	if (argv0[0] == '/')
		return strdup(argv0);
	if (strchr(argv0, '/')) {
		if (!getcwd(cwd, sizeof(cwd)) || asprintf(&out, "%s/%s", cwd, argv0) < 0)
			return NULL;
		return out;
	}
	out = malloc(PATH_MAX);
	n = out ? readlink("/proc/self/exe", out, PATH_MAX - 1) : -1;
	if (n <= 0) {
		free(out);
		return NULL;
	}
	out[n] = '\0';
	return out;
}

/* One -o list without its "supervise" entries (a '\' escapes a ','), or NULL if empty. */
static char *strip_supervise(const char *opts)
{
	char *out = malloc(strlen(opts) + 1), *o = out;

	if (!out)
		return NULL;
	for (const char *p = opts; *p;) {
		const char *q = p;
		size_t len;

		while (*q && *q != ',')
			q += (*q == '\\' && q[1]) ? 2 : 1;
		len = (size_t)(q - p);
		if (len && !(len == 9 && strncmp(p, "supervise", 9) == 0)) {
			if (o != out)
				*o++ = ',';
			memcpy(o, p, len);
			o += len;
		}
		p = *q ? q + 1 : q;
	}
	*o = '\0';
	if (o == out) {
		free(out);
		return NULL;
	}
	return out;
}

int voltfs_supervise_main(int argc, char *argv[], bool foreground, int level)
{
	struct voltfs_supervise s = { .foreground = foreground, .level = level };
	char **dargv = calloc((size_t)argc + 2, sizeof(*dargv));
	bool *owned = calloc((size_t)argc + 2, sizeof(*owned));
	char *bin = find_bin(argv[0]);
	int n = 0, status = 1;

	if (!bin)
		fprintf(stderr, "voltfs: supervise: cannot find my own binary: %s\n",
			strerror(errno));
	if (!bin || !dargv || !owned)
		goto out;
	dargv[n++] = argv[0];
	dargv[n++] = (char *)"-f";
	for (int i = 1; i < argc; i++) {
		const char *opts = NULL;

		if (strcmp(argv[i], "-o") == 0 && i + 1 < argc)
			opts = argv[++i];
		else if (strncmp(argv[i], "-o", 2) == 0)
			opts = argv[i] + 2;
		if (!opts) {
			dargv[n++] = argv[i];
			continue;
		}
		opts = strip_supervise(opts);
		if (opts && asprintf(&dargv[n], "-o%s", opts) < 0) {
			free((char *)opts);
			goto out;
		}
		owned[n] = opts != NULL;
		n += opts != NULL;
		free((char *)opts);
	}
	s.bin = bin;
	s.argv = dargv;
	status = voltfs_supervise(&s);
out:
	for (int i = 0; owned && i < n; i++)
		if (owned[i])
			free(dargv[i]);
	free(owned);
	free(dargv);
	free(bin);
	return status;
}
