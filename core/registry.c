// SPDX-License-Identifier: MIT
/*
 * The distribution API client (include/voltfs/registry.h): addresses, the
 * auth dance on 401, retries, and each endpoint with its checks.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "voltfs/digest.h"
#include "voltfs/oci.h"
#include "voltfs/registry.h"

/* d->reason only: where() said which registry and which tag or digest. */
static int refuse(struct volt_diag *d, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int refuse(struct volt_diag *d, int err, const char *fmt, ...)
{
	va_list ap;

	if (!d)
		return err;
	va_start(ap, fmt);
	vsnprintf(d->reason, sizeof(d->reason), fmt, ap);
	va_end(ap);
	return err;
}

static bool is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* Repository components: [a-z0-9]+ joined by '.', '_' or '-' runs; '/' between them. */
static bool repo_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= VOLT_REGISTRY_REPO_MAX || !is_lower_alnum(s[0]) ||
	    !is_lower_alnum(s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (is_lower_alnum(c))
			continue;
		if (c != '.' && c != '_' && c != '-' && c != '/')
			return false;
		if (c == '/' && (!is_lower_alnum(s[i - 1]) || !is_lower_alnum(s[i + 1])))
			return false;
	}
	return true;
}

static bool host_ok(const char *s, size_t n)
{
	size_t i = 0;

	if (n == 0 || n >= VOLT_REGISTRY_HOST_MAX)
		return false;
	if (s[0] == '[') { /* [v6]:port */
		for (i = 1; i < n && s[i] != ']'; i++)
			if (!strchr("0123456789abcdefABCDEF:.", s[i]))
				return false;
		if (i == n || i == 1)
			return false;
		i++;
	} else {
		for (; i < n && s[i] != ':'; i++)
			if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
			      (s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '-'))
				return false;
		if (i == 0)
			return false;
	}
	if (i == n)
		return true;
	if (s[i] != ':' || i + 1 == n || n - i - 1 > 5)
		return false;
	for (i++; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

int volt_registry_parse_addr(const char *s, struct volt_registry_addr *a, struct volt_diag *d)
{
	const char *slash;

	memset(a, 0, sizeof(*a));
	if (strncmp(s, "http://", 7) == 0) {
		a->plain_http = true;
		s += 7;
	} else if (strncmp(s, "https://", 8) == 0) {
		s += 8;
	} else if (strstr(s, "://")) {
		return refuse(d, -EINVAL, "only http:// and https:// registries");
	}
	slash = strchr(s, '/');
	if (!slash)
		return refuse(d, -EINVAL, "no repository: want HOST[:PORT]/REPO");
	if (!host_ok(s, (size_t)(slash - s)))
		return refuse(d, -EINVAL, "not a host[:port]");
	memcpy(a->host, s, (size_t)(slash - s));
	if (!repo_ok(slash + 1))
		return refuse(d, -EINVAL,
			      "not a repository name (lowercase [a-z0-9._-] components)");
	strcpy(a->repo, slash + 1);
	return 0;
}

void volt_registry_format_addr(const struct volt_registry_addr *a, char *out, size_t size)
{
	/* Truncation only in a message buffer smaller than an address. */
	if ((size_t)snprintf(out, size, "%s%s/%s", a->plain_http ? "http://" : "", a->host,
			     a->repo) >= size &&
	    size)
		out[size - 1] = '\0';
}

bool volt_registry_tag_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > VOLT_REGISTRY_TAG_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool w = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			 (c >= '0' && c <= '9') || c == '_';

		if (!w && (i == 0 || (c != '.' && c != '-')))
			return false;
	}
	return true;
}

int volt_registry_open(struct volt_registry *r, const struct volt_registry_addr *a,
		       const struct volt_http_opts *opts, const struct volt_creds *creds)
{
	memset(r, 0, sizeof(*r));
	r->addr = *a;
	if (opts)
		r->http_opts = *opts;
	r->attempts = 3;
	r->backoff_ms = 200;
	if (creds && creds->user) {
		r->creds.user = strdup(creds->user);
		r->creds.password = strdup(creds->password);
		if (!r->creds.user || !r->creds.password) {
			volt_auth_release(&r->creds);
			return -ENOMEM;
		}
	}
	pthread_mutex_init(&r->lock, NULL);
	return 0;
}

void volt_registry_close(struct volt_registry *r)
{
	volt_auth_release(&r->creds);
	if (r->authorization)
		explicit_bzero(r->authorization, strlen(r->authorization));
	free(r->authorization);
	r->authorization = NULL;
	pthread_mutex_destroy(&r->lock);
}

static void where(const struct volt_registry *r, struct volt_diag *d, const char *entry)
{
	if (!d)
		return;
	volt_diag_clear(d);
	volt_registry_format_addr(&r->addr, d->file, sizeof(d->file));
	if (entry)
		snprintf(d->entry, sizeof(d->entry), "%s", entry);
}

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* The header value to send now, or NULL: a copy, since another thread may renew it. */
static char *current_auth(struct volt_registry *r)
{
	char *a = NULL;

	pthread_mutex_lock(&r->lock);
	if (r->authorization && r->expiry.tv_sec &&
	    now_s() >= (double)r->expiry.tv_sec + (double)r->expiry.tv_nsec / 1e9) {
		free(r->authorization); /* an expired token: the next 401 brings a new one */
		r->authorization = NULL;
	}
	if (r->authorization)
		a = strdup(r->authorization);
	pthread_mutex_unlock(&r->lock);
	return a;
}

static void set_auth(struct volt_registry *r, char *value, long expires_in)
{
	pthread_mutex_lock(&r->lock);
	free(r->authorization);
	r->authorization = value;
	memset(&r->expiry, 0, sizeof(r->expiry));
	if (expires_in > 0) {
		clock_gettime(CLOCK_MONOTONIC, &r->expiry);
		/* Renew a little early rather than have a request refused. */
		r->expiry.tv_sec += expires_in > 10 ? expires_in - 5 : expires_in;
	}
	pthread_mutex_unlock(&r->lock);
}

static void backoff(const struct volt_registry *r, int attempt)
{
	long ms = r->backoff_ms << (attempt - 1);
	struct timespec ts;

	ms += ms ? random() % ms : 0; /* jitter: hosts of a fleet do not retry in step */
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	nanosleep(&ts, NULL);
}

/* Get a token (Bearer) or use the credentials (Basic) the challenge asks for. */
static int authenticate(struct volt_registry *r, struct volt_http *h, const char *challenge,
			struct volt_diag *d)
{
	struct volt_challenge ch;
	char *basic = NULL, *token = NULL, *value = NULL;
	char url[2048], svc[512], scope[1024], want[VOLT_REGISTRY_REPO_MAX + 32];
	struct volt_http_req req = { .method = "GET", .body_fd = -1, .max_body = 64 << 10 };
	struct volt_http_resp resp;
	long expires = 0;
	int ret;

	if (!challenge || volt_auth_parse_challenge(challenge, &ch) < 0)
		return refuse(d, -EACCES,
			      "refused (401) without a challenge this "
			      "client speaks");
	if (r->creds.user) {
		basic = volt_auth_basic(&r->creds);
		if (!basic)
			return -ENOMEM;
	}
	if (ch.scheme == VOLT_AUTH_BASIC) {
		if (!basic)
			return refuse(d, -EACCES,
				      "needs credentials (Basic), and none are set for %s",
				      r->addr.host);
		set_auth(r, basic, 0);
		return 0;
	}
	snprintf(want, sizeof(want), "repository:%s:%s", r->addr.repo,
		 r->push ? "pull,push" : "pull");
	if (volt_http_escape(ch.service, svc, sizeof(svc)) < 0 ||
	    volt_http_escape(ch.scope[0] && !r->push ? ch.scope : want, scope, sizeof(scope)) < 0 ||
	    (size_t)snprintf(url, sizeof(url), "%s%cservice=%s&scope=%s", ch.realm,
			     strchr(ch.realm, '?') ? '&' : '?', svc, scope) >= sizeof(url)) {
		free(basic);
		return refuse(d, -EACCES, "token realm too long");
	}
	req.url = url;
	req.authorization = basic;
	ret = volt_http_do(h, &req, &resp);
	free(basic);
	if (ret < 0)
		return refuse(d, ret, "token server: %s", h->error);
	if (resp.status != 200) {
		ret = volt_diag_set(d,
				    resp.status == 401 || resp.status == 403 ? -EACCES : -EBADMSG,
				    NULL, "token server answered HTTP %ld", resp.status);
		volt_http_resp_release(&resp);
		return ret;
	}
	ret = volt_auth_parse_token(resp.body ? resp.body : "", resp.len, &token, &expires);
	volt_http_resp_release(&resp);
	if (ret < 0)
		return refuse(d, ret, "token server sent no token");
	if (asprintf(&value, "Bearer %s", token) < 0)
		value = NULL;
	explicit_bzero(token, strlen(token));
	free(token);
	if (!value)
		return -ENOMEM;
	set_auth(r, value, expires);
	return 0;
}

/* The first error code of a registry's JSON error body, for the message. */
static void error_code(const struct volt_http_resp *resp, char *out, size_t size)
{
	cJSON *root = resp->body ? cJSON_ParseWithLength(resp->body, resp->len) : NULL;
	cJSON *errs = cJSON_GetObjectItemCaseSensitive(root, "errors");
	cJSON *code = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(errs, 0), "code");
	size_t o = 0;

	out[0] = '\0';
	if (cJSON_IsString(code))
		for (const char *p = code->valuestring; *p && o + 1 < size && o < 40; p++)
			if ((*p >= 'A' && *p <= 'Z') || *p == '_')
				out[o++] = *p;
	out[o] = '\0';
	cJSON_Delete(root);
}

/* An answer the call did not want: its errno and words. */
static int status_error(const struct volt_http_resp *resp, const char *what, struct volt_diag *d)
{
	char code[48];
	int err = -EBADMSG;

	if (resp->status == 404)
		err = -ENOENT;
	else if (resp->status == 401 || resp->status == 403)
		err = -EACCES;
	else if (resp->status == 429 || resp->status >= 500)
		err = -EIO;
	error_code(resp, code, sizeof(code));
	return refuse(d, err, "%s: registry answered HTTP %ld%s%s", what, resp->status,
		      code[0] ? " " : "", code);
}

/*
 * One request with auth and retries: 0 with resp filled (any status but a
 * 401 that authenticating could not fix, and a 429/5xx after the last try).
 */
static int request(struct volt_registry *r, struct volt_http *h, struct volt_http_req *req,
		   struct volt_http_resp *resp, int (*reset)(void *), void *reset_ctx,
		   struct volt_diag *d)
{
	bool authed = false;
	int attempt = 1, ret;

	for (;;) {
		char *auth = current_auth(r);

		req->authorization = auth;
		ret = volt_http_do(h, req, resp);
		if (auth)
			explicit_bzero(auth, strlen(auth));
		free(auth);
		req->authorization = NULL;
		if (ret == 0 && resp->status == 401 && !authed) {
			authed = true;
			ret = authenticate(r, h, resp->www_authenticate, d);
			volt_http_resp_release(resp);
			if (ret < 0)
				return ret;
		} else {
			bool transient = ret == -ETIMEDOUT || ret == -ECONNREFUSED || ret == -EIO ||
					 (ret == 0 && (resp->status == 429 || resp->status >= 500));

			if (!transient || attempt >= r->attempts ||
			    (attempt > 0 && !reset && req->sink))
				break;
			if (ret == 0)
				volt_http_resp_release(resp);
			attempt++;
			backoff(r, attempt - 1);
		}
		if (reset && (ret = reset(reset_ctx)) < 0)
			return ret;
	}
	if (ret < 0)
		return refuse(d, ret, "%s", h->error[0] ? h->error : strerror(-ret));
	return 0;
}

static int url_for(const struct volt_registry *r, const char *kind, const char *ref, char *out,
		   size_t size)
{
	if ((size_t)snprintf(out, size, "%s://%s/v2/%s/%s/%s",
			     r->addr.plain_http ? "http" : "https", r->addr.host, r->addr.repo,
			     kind, ref) >= size)
		return -ENAMETOOLONG;
	return 0;
}

static const char *const accept_oci[] = { "Accept: " VOLT_OCI_MANIFEST_TYPE, NULL };

int volt_registry_get_manifest(struct volt_registry *r, struct volt_http *h, const char *reference,
			       size_t max, char **buf, size_t *len, struct volt_hash *digest,
			       struct volt_diag *d)
{
	struct volt_http_req req = {
		.method = "GET", .headers = accept_oci, .body_fd = -1, .max_body = max
	};
	struct volt_http_resp resp;
	struct volt_hash want;
	bool by_digest = strncmp(reference, VOLT_DIGEST_PREFIX, 7) == 0;
	char url[1024];
	int ret;

	*buf = NULL;
	where(r, d, reference);
	if (by_digest ? volt_digest_parse(&want, reference, strlen(reference)) < 0
		      : !volt_registry_tag_ok(reference))
		return refuse(d, -EINVAL, "not a tag or digest");
	if (url_for(r, "manifests", reference, url, sizeof(url)) < 0)
		return -ENAMETOOLONG;
	req.url = url;
	ret = request(r, h, &req, &resp, NULL, NULL, d);
	if (ret == -EFBIG)
		return refuse(d, -EFBIG, "manifest over %zu bytes", max);
	if (ret < 0)
		return ret;
	if (resp.status != 200) {
		ret = status_error(&resp, "manifest", d);
		volt_http_resp_release(&resp);
		return ret;
	}
	ret = volt_sha256_buf(digest, resp.body ? resp.body : "", resp.len);
	if (ret == 0 && by_digest && !volt_hash_equal(digest, &want))
		ret = refuse(d, -EBADMSG, "manifest does not match its digest");
	if (ret == 0) {
		*len = resp.len;
		*buf = resp.body ? resp.body : strdup("");
		resp.body = NULL;
		if (!*buf)
			ret = -ENOMEM;
	}
	volt_http_resp_release(&resp);
	return ret;
}

int volt_registry_head_manifest(struct volt_registry *r, struct volt_http *h, const char *tag,
				struct volt_hash *digest, struct volt_diag *d)
{
	struct volt_http_req req = { .method = "HEAD", .headers = accept_oci, .body_fd = -1 };
	struct volt_http_resp resp;
	char url[1024];
	int ret;

	where(r, d, tag);
	if (!volt_registry_tag_ok(tag))
		return refuse(d, -EINVAL, "not a tag");
	if (url_for(r, "manifests", tag, url, sizeof(url)) < 0)
		return -ENAMETOOLONG;
	req.url = url;
	ret = request(r, h, &req, &resp, NULL, NULL, d);
	if (ret < 0)
		return ret;
	if (resp.status != 200)
		ret = status_error(&resp, "manifest", d);
	else if (!resp.docker_digest ||
		 volt_digest_parse(digest, resp.docker_digest, strlen(resp.docker_digest)) < 0)
		ret = refuse(d, -EBADMSG, "no Docker-Content-Digest in the answer");
	volt_http_resp_release(&resp);
	return ret;
}

int volt_registry_put_manifest(struct volt_registry *r, struct volt_http *h, const char *tag,
			       const char *media_type, const void *buf, size_t len,
			       struct volt_diag *d)
{
	char url[1024], ctype[256];
	const char *headers[] = { ctype, NULL };
	struct volt_http_req req = { .method = "PUT",
				     .headers = headers,
				     .body = buf,
				     .body_len = len,
				     .body_fd = -1,
				     .max_body = 64 << 10 };
	struct volt_http_resp resp;
	int ret;

	where(r, d, tag);
	if (!volt_registry_tag_ok(tag))
		return refuse(d, -EINVAL, "not a tag");
	snprintf(ctype, sizeof(ctype), "Content-Type: %s", media_type);
	if (url_for(r, "manifests", tag, url, sizeof(url)) < 0)
		return -ENAMETOOLONG;
	req.url = url;
	ret = request(r, h, &req, &resp, NULL, NULL, d);
	if (ret < 0)
		return ret;
	if (resp.status != 201 && resp.status != 200)
		ret = status_error(&resp, "manifest upload", d);
	volt_http_resp_release(&resp);
	return ret;
}

int volt_registry_blob_exists(struct volt_registry *r, struct volt_http *h,
			      const struct volt_hash *digest, uint64_t *size, struct volt_diag *d)
{
	struct volt_http_req req = { .method = "HEAD", .body_fd = -1 };
	struct volt_http_resp resp;
	char dig[VOLT_DIGEST_STR_MAX], url[1024];
	int ret;

	volt_digest_format(digest, dig);
	where(r, d, dig);
	if (url_for(r, "blobs", dig, url, sizeof(url)) < 0)
		return -ENAMETOOLONG;
	req.url = url;
	ret = request(r, h, &req, &resp, NULL, NULL, d);
	if (ret < 0)
		return ret;
	if (resp.status == 200) {
		ret = 1;
		if (size)
			*size = resp.content_length;
	} else if (resp.status == 404) {
		ret = 0;
	} else {
		ret = status_error(&resp, "blob", d);
	}
	volt_http_resp_release(&resp);
	return ret;
}

int volt_registry_put_blob(struct volt_registry *r, struct volt_http *h,
			   const struct volt_hash *digest, int fd, const void *buf, uint64_t size,
			   struct volt_diag *d)
{
	struct volt_http_req req = {
		.method = "POST", .body = "", .body_fd = -1, .max_body = 64 << 10
	};
	static const char *const octets[] = { "Content-Type: application/octet-stream", NULL };
	struct volt_http_resp resp;
	char dig[VOLT_DIGEST_STR_MAX], url[4096], esc[128];
	int ret;

	volt_digest_format(digest, dig);
	where(r, d, dig);
	if ((size_t)snprintf(url, sizeof(url), "%s://%s/v2/%s/blobs/uploads/",
			     r->addr.plain_http ? "http" : "https", r->addr.host,
			     r->addr.repo) >= sizeof(url))
		return -ENAMETOOLONG;
	req.url = url;
	ret = request(r, h, &req, &resp, NULL, NULL, d);
	if (ret < 0)
		return ret;
	if (resp.status != 202 || !resp.location) {
		ret = status_error(&resp, "upload start", d);
		volt_http_resp_release(&resp);
		return ret;
	}
	/* The upload's address: absolute, or a path on the same registry. */
	volt_http_escape(dig, esc, sizeof(esc));
	if ((size_t)snprintf(url, sizeof(url), "%s%s%s%cdigest=%s",
			     resp.location[0] == '/' ? (r->addr.plain_http ? "http://" : "https://")
						     : "",
			     resp.location[0] == '/' ? r->addr.host : "", resp.location,
			     strchr(resp.location, '?') ? '&' : '?', esc) >= sizeof(url)) {
		volt_http_resp_release(&resp);
		return refuse(d, -EBADMSG, "upload address too long");
	}
	volt_http_resp_release(&resp);
	req = (struct volt_http_req){ .method = "PUT",
				      .url = url,
				      .headers = octets,
				      .body = fd < 0 ? buf : NULL,
				      .body_len = size,
				      .body_fd = fd,
				      .body_fd_len = size,
				      .max_body = 64 << 10 };
	if (fd < 0 && !buf)
		req.body = "";
	ret = request(r, h, &req, &resp, NULL, NULL, d);
	if (ret < 0)
		return ret;
	if (resp.status != 201)
		ret = status_error(&resp, "blob upload", d);
	volt_http_resp_release(&resp);
	return ret;
}

struct blob_sink {
	volt_http_sink_fn sink;
	int (*reset)(void *ctx);
	void *ctx;
	struct volt_sha256 sha;
	uint64_t got, size;
};

static int blob_sink_write(void *ctx, const void *buf, size_t len)
{
	struct blob_sink *b = ctx;

	if (len > b->size - b->got)
		return -EFBIG; /* longer than its descriptor: not this blob, whatever follows */
	b->got += len;
	if (volt_sha256_update(&b->sha, buf, len) < 0)
		return -ENOMEM;
	return b->sink(b->ctx, buf, len);
}

static int blob_sink_reset(void *ctx)
{
	struct blob_sink *b = ctx;
	int ret;

	volt_sha256_release(&b->sha);
	b->got = 0;
	ret = volt_sha256_init(&b->sha);
	if (ret == 0 && b->reset)
		ret = b->reset(b->ctx);
	return ret;
}

int volt_registry_get_blob(struct volt_registry *r, struct volt_http *h,
			   const struct volt_hash *digest, uint64_t size, volt_http_sink_fn sink,
			   int (*reset)(void *ctx), void *ctx, struct volt_diag *d)
{
	struct blob_sink b = { .sink = sink, .reset = reset, .ctx = ctx, .size = size };
	struct volt_http_req req = { .method = "GET",
				     .body_fd = -1,
				     .max_body = 64 << 10,
				     .sink = blob_sink_write,
				     .sink_ctx = &b };
	struct volt_http_resp resp;
	struct volt_hash got;
	char dig[VOLT_DIGEST_STR_MAX], url[1024];
	int ret;

	volt_digest_format(digest, dig);
	where(r, d, dig);
	if (url_for(r, "blobs", dig, url, sizeof(url)) < 0)
		return -ENAMETOOLONG;
	ret = volt_sha256_init(&b.sha);
	if (ret < 0)
		return ret;
	req.url = url;
	ret = request(r, h, &req, &resp, reset ? blob_sink_reset : NULL, &b, d);
	if (ret == -EFBIG) {
		ret = refuse(d, -EFBIG,
			     "blob is longer than the %llu bytes its "
			     "descriptor says",
			     (unsigned long long)size);
		goto out;
	}
	if (ret < 0)
		goto out;
	if (resp.status != 200) {
		ret = status_error(&resp, "blob", d);
	} else if (b.got != size) {
		ret = refuse(d, -EBADMSG, "blob is %llu bytes, its descriptor says %llu",
			     (unsigned long long)b.got, (unsigned long long)size);
	} else {
		ret = volt_sha256_final(&b.sha, &got);
		if (ret == 0 && !volt_hash_equal(&got, digest))
			ret = refuse(d, -EBADMSG, "content does not match its digest");
	}
	volt_http_resp_release(&resp);
out:
	volt_sha256_release(&b.sha);
	return ret;
}
