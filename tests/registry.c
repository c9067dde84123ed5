// SPDX-License-Identifier: MIT
/* Registries for the tests: see registry.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "registry.h"
#include "support.h"

bool vt_have_registry(void)
{
	return access("/usr/bin/docker-registry", X_OK) == 0;
}

int vt_free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	cr_assert(fd >= 0);
	cr_assert(bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
	cr_assert(getsockname(fd, (struct sockaddr *)&a, &len) == 0);
	close(fd);
	return ntohs(a.sin_port);
}

static bool answers(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;

	if (fd >= 0)
		close(fd);
	return ok;
}

/* Fork argv with its output into log; wait (10 s at most) until port answers. */
static void spawn(struct vt_registry *r, const char *const argv[], const char *log)
{
	struct timespec pause = { 0, 20 * 1000 * 1000 };
	int status;

	r->pid = fork();
	cr_assert(r->pid >= 0);
	if (r->pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		int null = open("/dev/null", O_RDONLY);

		dup2(null, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	for (int i = 0; i < 500; i++) {
		if (answers(r->port))
			return;
		if (waitpid(r->pid, &status, WNOHANG) == r->pid) {
			char *text = vt_read_file(log, NULL);

			r->pid = 0;
			cr_assert_fail("%s exited (status %d): %s", argv[0], status,
				       text ? text : "");
		}
		nanosleep(&pause, NULL);
	}
	cr_assert_fail("%s did not answer on port %d", argv[0], r->port);
}

static void make_cert(const char *dir)
{
	char *cmd;

	cr_assert(asprintf(&cmd,
			   "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 "
			   "-addext subjectAltName=IP:127.0.0.1 -keyout '%s/key.pem' "
			   "-out '%s/cert.pem' 2>/dev/null",
			   dir, dir) > 0);
	cr_assert_eq(vt_run(cmd, NULL), 0, "openssl could not make a certificate");
	free(cmd);
}

void vt_registry_start(struct vt_registry *r, const char *parent, const char *name,
		       const struct vt_registry_opts *o)
{
	static const struct vt_registry_opts none;
	char *config, *log, *text, *auth = NULL, *tls = NULL, *proxy = NULL, *dir;

	if (!vt_have_registry())
		cr_skip_test("docker-registry is not installed (scripts/setup installs it)");
	dir = vt_join(parent, name);
	if (!o)
		o = &none;
	memset(r, 0, sizeof(*r));
	mkdir(dir, 0755);
	r->dir = dir;
	r->port = vt_free_port();
	if (o->tls) {
		make_cert(dir);
		cr_assert(asprintf(&tls,
				   "  tls:\n    certificate: %s/cert.pem\n    key: %s/key.pem\n",
				   dir, dir) > 0);
		cr_assert(asprintf(&r->ca, "%s/cert.pem", dir) > 0);
	}
	if (o->user) {
		char *cmd;

		cr_assert(asprintf(&cmd, "htpasswd -Bbn '%s' '%s' > '%s/htpasswd'", o->user,
				   o->password, dir) > 0);
		cr_assert_eq(vt_run(cmd, NULL), 0, "htpasswd failed (apache2-utils)");
		free(cmd);
		cr_assert(asprintf(&auth,
				   "auth:\n  htpasswd:\n    realm: volt\n    path: %s/htpasswd\n",
				   dir) > 0);
	}
	if (o->proxy_of)
		cr_assert(asprintf(&proxy, "proxy:\n  remoteurl: %s\n", o->proxy_of) > 0);
	cr_assert(asprintf(&text,
			   "version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\n"
			   "storage:\n  filesystem:\n    rootdirectory: %s/storage\n"
			   "  delete:\n    enabled: true\n"
			   "http:\n  addr: 127.0.0.1:%d\n%s%s%s",
			   dir, r->port, tls ? tls : "", auth ? auth : "", proxy ? proxy : "") > 0);
	config = vt_join(dir, "config.yml");
	log = vt_join(dir, "registry.log");
	vt_write_str(config, text);
	cr_assert(asprintf(&r->url, "%s://127.0.0.1:%d", o->tls ? "https" : "http", r->port) > 0);
	cr_assert(asprintf(&r->addr, "%s127.0.0.1:%d/volt/qemu", o->tls ? "" : "http://", r->port) >
		  0);
	{
		const char *argv[] = { "docker-registry", "serve", config, NULL };

		spawn(r, argv, log);
	}
	free(text);
	free(config);
	free(log);
	free(tls);
	free(auth);
	free(proxy);
}

void vt_front_start(struct vt_registry *r, const char *parent, const char *name,
		    const char *upstream, const char *args)
{
	char *cmd, *log, *dir = vt_join(parent, name);

	memset(r, 0, sizeof(*r));
	mkdir(dir, 0755);
	r->dir = dir;
	r->port = vt_free_port();
	log = vt_join(dir, "front.out");
	cr_assert(asprintf(&cmd,
			   "exec python3 '" VOLTFS_SOURCE_DIR "/tests/fake_registry.py' --port %d "
			   "--upstream '%s' --log '%s/front.log' %s",
			   r->port, upstream, dir, args ? args : "") > 0);
	cr_assert(asprintf(&r->url, "http://127.0.0.1:%d", r->port) > 0);
	cr_assert(asprintf(&r->addr, "http://127.0.0.1:%d/volt/qemu", r->port) > 0);
	{
		const char *argv[] = { "sh", "-c", cmd, NULL };

		spawn(r, argv, log);
	}
	free(cmd);
	free(log);
}

void vt_registry_stop(struct vt_registry *r)
{
	if (r->pid > 0) {
		kill(r->pid, SIGTERM);
		waitpid(r->pid, NULL, 0);
	}
	free(r->dir);
	free(r->url);
	free(r->addr);
	free(r->ca);
	memset(r, 0, sizeof(*r));
}

char *vt_registry_blob_path(const struct vt_registry *r, const char *digest)
{
	const char *hex = digest + strlen("sha256:");
	char *p;

	cr_assert(asprintf(&p, "%s/storage/docker/registry/v2/blobs/sha256/%.2s/%s/data", r->dir,
			   hex, hex) > 0);
	return p;
}
