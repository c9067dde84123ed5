/* SPDX-License-Identifier: MIT */
/*
 * Registries for the tests: Debian's docker-registry (distribution 2.8)
 * started on 127.0.0.1 with a storage folder of the test's own, plain or
 * TLS with a self-signed certificate, with or without htpasswd (Basic
 * auth), or as a pull-through mirror of another; and tests/fake_registry.py,
 * a front that passes requests on to a real one but can demand Bearer
 * tokens, alter blobs and manifests, stall, or redirect blobs to another
 * host, logging what it was sent. Helpers assert instead of returning errors.
 */
#ifndef VOLTFS_TEST_REGISTRY_H
#define VOLTFS_TEST_REGISTRY_H

#include <stdbool.h>
#include <sys/types.h>

struct vt_registry_opts {
	bool tls;	  /* HTTPS with <dir>/cert.pem (CN and SAN 127.0.0.1) */
	const char *user; /* with password: htpasswd (bcrypt), Basic auth */
	const char *password;
	const char *proxy_of; /* a mirror: pull-through cache of this URL */
};

struct vt_registry {
	pid_t pid;
	int port;
	char *dir;  /* config, storage/, log, certificate */
	char *url;  /* "http://127.0.0.1:PORT" or "https://..." */
	char *addr; /* REGISTRY/REPO for volt-cas and voltfs: URL + "/volt/qemu",
			   without "https://" for TLS */
	char *ca;   /* the certificate to trust (TLS), or NULL */
};

/* Is docker-registry installed? Registry tests skip (saying so) where it is not. */
bool vt_have_registry(void);
/* Start one in parent/name (made if missing) and wait until it answers. */
void vt_registry_start(struct vt_registry *r, const char *parent, const char *name,
		       const struct vt_registry_opts *o);
/* SIGTERM, reap, free; safe on a zeroed or stopped one. */
void vt_registry_stop(struct vt_registry *r);
/* The file that holds a blob's bytes in its storage ("sha256:<hex>"; malloc'ed). */
char *vt_registry_blob_path(const struct vt_registry *r, const char *digest);

/*
 * tests/fake_registry.py in front of upstream (a URL), with its options as
 * one string of arguments (may be NULL), in parent/name; its log of requests is
 * front.log there.
 */
void vt_front_start(struct vt_registry *r, const char *parent, const char *name,
		    const char *upstream, const char *args);

/* A free TCP port on 127.0.0.1 (bound and released: good enough for tests). */
int vt_free_port(void);

#endif
