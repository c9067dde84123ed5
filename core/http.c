// SPDX-License-Identifier: MIT
/*
 * HTTP through libcurl's easy interface: the options every registry request
 * shares (timeouts, protocols, CA bundle, no signals), bodies from memory or
 * a descriptor, bodies to memory (bounded) or a sink, and the few response
 * headers the registry protocol reads.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>

#include "voltfs/http.h"

/* An error body (a registry's JSON error) is kept for the message, not more. */
#define ERROR_BODY_MAX (64u << 10)

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_status;

static void global_init(void)
{
	global_status = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int volt_http_init(struct volt_http *h, const struct volt_http_opts *opts)
{
	memset(h, 0, sizeof(*h));
	pthread_once(&global_once, global_init);
	if (global_status != CURLE_OK)
		return -ENOMEM;
	h->curl = curl_easy_init();
	if (!h->curl)
		return -ENOMEM;
	if (opts)
		h->opts = *opts;
	if (h->opts.connect_timeout_ms <= 0)
		h->opts.connect_timeout_ms = 5000;
	if (h->opts.stall_timeout_s <= 0)
		h->opts.stall_timeout_s = 30;
	return 0;
}

void volt_http_release(struct volt_http *h)
{
	if (h->curl)
		curl_easy_cleanup(h->curl);
	h->curl = NULL;
}

void volt_http_resp_release(struct volt_http_resp *resp)
{
	free(resp->body);
	free(resp->www_authenticate);
	free(resp->location);
	free(resp->content_type);
	free(resp->docker_digest);
	free(resp->final_url);
	memset(resp, 0, sizeof(*resp));
}

struct xfer {
	struct volt_http *h;
	const struct volt_http_req *req;
	struct volt_http_resp *resp;
	uint64_t sent; /* of the request body */
	size_t cap;    /* of resp->body */
	int err;       /* why a callback ended the transfer */
};

static size_t read_cb(char *buf, size_t size, size_t nmemb, void *ctx)
{
	struct xfer *x = ctx;
	const struct volt_http_req *req = x->req;
	size_t want = size * nmemb;
	uint64_t total = req->body_fd >= 0 ? req->body_fd_len : req->body_len;

	if (x->sent >= total)
		return 0;
	if (want > total - x->sent)
		want = (size_t)(total - x->sent);
	if (req->body_fd < 0) {
		memcpy(buf, (const char *)req->body + x->sent, want);
	} else {
		ssize_t n;

		do
			n = pread(req->body_fd, buf, want, (off_t)x->sent);
		while (n < 0 && errno == EINTR);
		if (n <= 0) {
			x->err = n < 0 ? -errno : -EIO; /* short: the file shrank */
			return CURL_READFUNC_ABORT;
		}
		want = (size_t)n;
	}
	x->sent += want;
	return want;
}

static bool success(long status)
{
	return status >= 200 && status < 300;
}

static size_t write_cb(char *buf, size_t size, size_t nmemb, void *ctx)
{
	struct xfer *x = ctx;
	size_t n = size * nmemb;
	size_t max = x->req->max_body;
	long status = 0;

	curl_easy_getinfo(x->h->curl, CURLINFO_RESPONSE_CODE, &status);
	if (x->req->sink && success(status)) {
		x->err = x->req->sink(x->req->sink_ctx, buf, n);
		return x->err ? 0 : n;
	}
	if (!success(status) && (max == 0 || max > ERROR_BODY_MAX))
		max = ERROR_BODY_MAX;
	if (x->resp->len + n > max) {
		if (!success(status))
			return n; /* an error body is for words only: cut it */
		x->err = -EFBIG;
		return 0;
	}
	if (x->resp->len + n + 1 > x->cap) {
		size_t cap = x->cap ? x->cap : 4096;
		char *p;

		while (cap < x->resp->len + n + 1)
			cap *= 2;
		p = realloc(x->resp->body, cap);
		if (!p) {
			x->err = -ENOMEM;
			return 0;
		}
		x->resp->body = p;
		x->cap = cap;
	}
	memcpy(x->resp->body + x->resp->len, buf, n);
	x->resp->len += n;
	x->resp->body[x->resp->len] = '\0';
	return n;
}

/* "Name: value\r\n" into *slot when the name matches (case-insensitive). */
static int take_header(const char *line, size_t len, const char *name, char **slot)
{
	size_t nl = strlen(name);
	const char *v, *end = line + len;

	if (len <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
		return 0;
	v = line + nl + 1;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
		end--;
	free(*slot);
	*slot = strndup(v, (size_t)(end - v));
	return *slot ? 1 : -ENOMEM;
}

static size_t header_cb(char *buf, size_t size, size_t nmemb, void *ctx)
{
	struct xfer *x = ctx;
	struct volt_http_resp *r = x->resp;
	size_t n = size * nmemb;
	int ret = 0;

	if (n >= 5 && memcmp(buf, "HTTP/", 5) == 0) {
		/* A new response (after a redirect or a 100): its headers only. */
		free(r->www_authenticate);
		free(r->location);
		free(r->content_type);
		free(r->docker_digest);
		r->www_authenticate = r->location = r->content_type = r->docker_digest = NULL;
		r->content_length = UINT64_MAX;
		return n;
	}
	if (!ret)
		ret = take_header(buf, n, "WWW-Authenticate", &r->www_authenticate);
	if (!ret)
		ret = take_header(buf, n, "Location", &r->location);
	if (!ret)
		ret = take_header(buf, n, "Content-Type", &r->content_type);
	if (!ret)
		ret = take_header(buf, n, "Docker-Content-Digest", &r->docker_digest);
	if (ret < 0) {
		x->err = ret;
		return 0;
	}
	return n;
}

static int map_error(CURLcode c)
{
	switch (c) {
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_COULDNT_CONNECT:
		return -ECONNREFUSED;
	case CURLE_COULDNT_RESOLVE_HOST:
		return -EHOSTUNREACH;
	case CURLE_TOO_MANY_REDIRECTS:
		return -ELOOP;
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_WEIRD_SERVER_REPLY:
		return -EPROTO;
	default:
		return -EIO;
	}
}

#define SET(opt, val)                                            \
	do {                                                     \
		if (curl_easy_setopt(c, opt, val) != CURLE_OK) { \
			ret = -ENOMEM;                           \
			goto out;                                \
		}                                                \
	} while (0)

int volt_http_do(struct volt_http *h, const struct volt_http_req *req, struct volt_http_resp *resp)
{
	struct xfer x = { .h = h, .req = req, .resp = resp };
	struct curl_slist *headers = NULL, *tmp;
	char auth[8192];
	CURL *c = h->curl;
	bool upload = req->body || req->body_fd >= 0;
	uint64_t body_len = req->body_fd >= 0 ? req->body_fd_len : req->body_len;
	char *url = NULL;
	CURLcode cc;
	int ret = 0;

	memset(resp, 0, sizeof(*resp));
	resp->content_length = UINT64_MAX;
	h->error[0] = '\0';
	curl_easy_reset(c); /* keeps the connection cache */

	for (const char *const *p = req->headers; p && *p; p++) {
		tmp = curl_slist_append(headers, *p);
		if (!tmp) {
			ret = -ENOMEM;
			goto out;
		}
		headers = tmp;
	}
	if (req->authorization) {
		if ((size_t)snprintf(auth, sizeof(auth), "Authorization: %s", req->authorization) >=
		    sizeof(auth)) {
			ret = -ENAMETOOLONG;
			goto out;
		}
		tmp = curl_slist_append(headers, auth);
		if (!tmp) {
			ret = -ENOMEM;
			goto out;
		}
		headers = tmp;
	}
	if (upload) {
		/* No 100-continue round trip: registries answer at once. */
		tmp = curl_slist_append(headers, "Expect:");
		if (!tmp) {
			ret = -ENOMEM;
			goto out;
		}
		headers = tmp;
	}

	SET(CURLOPT_URL, req->url);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_FOLLOWLOCATION, 1L);
	SET(CURLOPT_MAXREDIRS, 5L);
	/* Credentials stay with their host across redirects (libcurl's default, said). */
	SET(CURLOPT_UNRESTRICTED_AUTH, 0L);
	SET(CURLOPT_CONNECTTIMEOUT_MS, h->opts.connect_timeout_ms);
	SET(CURLOPT_LOW_SPEED_LIMIT, 1L);
	SET(CURLOPT_LOW_SPEED_TIME, h->opts.stall_timeout_s);
	SET(CURLOPT_ERRORBUFFER, h->error);
	if (h->opts.ca_file)
		SET(CURLOPT_CAINFO, h->opts.ca_file);
	SET(CURLOPT_HTTPHEADER, headers);
	SET(CURLOPT_HEADERFUNCTION, header_cb);
	SET(CURLOPT_HEADERDATA, &x);
	SET(CURLOPT_WRITEFUNCTION, write_cb);
	SET(CURLOPT_WRITEDATA, &x);
	if (strcmp(req->method, "HEAD") == 0) {
		SET(CURLOPT_NOBODY, 1L);
	} else if (strcmp(req->method, "PUT") == 0) {
		SET(CURLOPT_UPLOAD, 1L);
		SET(CURLOPT_INFILESIZE_LARGE, (curl_off_t)body_len);
	} else if (strcmp(req->method, "POST") == 0) {
		SET(CURLOPT_POST, 1L);
		SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
	} else if (strcmp(req->method, "GET") != 0) {
		SET(CURLOPT_CUSTOMREQUEST, req->method);
	}
	if (upload || strcmp(req->method, "PUT") == 0 || strcmp(req->method, "POST") == 0) {
		SET(CURLOPT_READFUNCTION, read_cb);
		SET(CURLOPT_READDATA, &x);
	}

	cc = curl_easy_perform(c);
	if (cc != CURLE_OK) {
		ret = x.err ? x.err : map_error(cc);
		if (!h->error[0])
			snprintf(h->error, sizeof(h->error), "%s", curl_easy_strerror(cc));
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
	{
		curl_off_t cl = -1;

		if (curl_easy_getinfo(c, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl) == CURLE_OK &&
		    cl >= 0)
			resp->content_length = (uint64_t)cl;
	}
	if (curl_easy_getinfo(c, CURLINFO_EFFECTIVE_URL, &url) == CURLE_OK && url) {
		resp->final_url = strdup(url);
		if (!resp->final_url)
			ret = -ENOMEM;
	}
out:
	curl_slist_free_all(headers);
	if (ret < 0)
		volt_http_resp_release(resp);
	return ret;
}

int volt_http_escape(const char *s, char *out, size_t size)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		bool plain = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			     (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_' ||
			     ch == '~';

		if (o + (plain ? 1 : 3) >= size)
			return -ENAMETOOLONG;
		if (plain) {
			out[o++] = (char)ch;
		} else {
			out[o++] = '%';
			out[o++] = hex[ch >> 4];
			out[o++] = hex[ch & 15];
		}
	}
	if (size == 0)
		return -ENAMETOOLONG;
	out[o] = '\0';
	return 0;
}
