/* SPDX-License-Identifier: MIT */
/*
 * HTTP for the registry client: one libcurl easy handle per struct
 * volt_http (one per thread; connections are reused), bounded in time
 * (connect and stall timeouts) and in memory (a response body kept in
 * memory has a cap; larger bodies stream to a sink). Redirects are
 * followed, http(s) only, and credentials are never sent to another host
 * than the one they were given for (libcurl drops an Authorization header
 * when a redirect changes host). Nothing here knows OCI.
 */
#ifndef VOLTFS_HTTP_H
#define VOLTFS_HTTP_H

#include <stddef.h>
#include <stdint.h>

struct volt_http_opts {
	long connect_timeout_ms; /* 0: 5000 */
	long stall_timeout_s;	 /* no byte for this long ends a transfer; 0: 30 */
	const char *ca_file;	 /* PEM bundle instead of the system's CAs, or NULL */
};

struct volt_http {
	void *curl; /* CURL *, owned */
	struct volt_http_opts opts;
	char error[256]; /* libcurl's words for the last transport failure */
};

/* Sink of a streamed body: 0 to go on, or a negative errno that ends the transfer. */
typedef int (*volt_http_sink_fn)(void *ctx, const void *buf, size_t len);

struct volt_http_req {
	const char *method;	    /* "GET", "HEAD", "PUT", "POST", "DELETE" */
	const char *url;	    /* http:// or https:// */
	const char *const *headers; /* "Name: value", NULL-terminated, or NULL */
	const char *authorization;  /* the Authorization header's value, or NULL */
	const void *body;	    /* request body from memory... */
	size_t body_len;
	int body_fd; /* ...or from a descriptor (-1: none), from offset 0 */
	uint64_t body_fd_len;
	size_t max_body;	/* bound on a body kept in memory (-EFBIG past it) */
	volt_http_sink_fn sink; /* stream the body here instead (2xx only) */
	void *sink_ctx;
};

struct volt_http_resp {
	long status;
	char *body; /* malloc'ed, NUL-terminated, when kept in memory */
	size_t len;
	uint64_t content_length; /* as the server said; UINT64_MAX if it did not */
	/* Headers the registry protocol needs, malloc'ed or NULL. */
	char *www_authenticate;
	char *location;
	char *content_type;
	char *docker_digest; /* Docker-Content-Digest */
	char *final_url;     /* after redirects */
};

/* 0 or -ENOMEM. */
int volt_http_init(struct volt_http *h, const struct volt_http_opts *opts);
void volt_http_release(struct volt_http *h);

/*
 * One request. 0 when a response came (whatever its status; resp filled,
 * release with volt_http_resp_release), else -ETIMEDOUT, -ECONNREFUSED,
 * -EHOSTUNREACH (no such host), -EPROTO (TLS or protocol), -EFBIG (body
 * over max_body), the sink's error, or -EIO; h->error says more.
 */
int volt_http_do(struct volt_http *h, const struct volt_http_req *req, struct volt_http_resp *resp);
void volt_http_resp_release(struct volt_http_resp *resp);

/* Percent-encode s for a query string into out (size bytes). 0 or -ENAMETOOLONG. */
int volt_http_escape(const char *s, char *out, size_t size);

#endif
