// SPDX-License-Identifier: MIT
/*
 * Credential files and the auth protocol's words (include/voltfs/auth.h).
 * The files are the ones docker login and podman login write; their secrets
 * are decoded here and handed to the registry client, never to a message.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>

#include "voltfs/auth.h"

#define AUTH_FILE_MAX (1u << 20)

static int read_small(const char *path, char **out, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char *buf = NULL;
	size_t n = 0;
	int ret = 0;

	*out = NULL;
	if (fd < 0)
		return -errno;
	buf = malloc(AUTH_FILE_MAX + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	for (;;) {
		ssize_t r = read(fd, buf + n, AUTH_FILE_MAX + 1 - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			ret = -errno;
			break;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > AUTH_FILE_MAX) {
			ret = -EFBIG;
			break;
		}
	}
	close(fd);
	if (ret < 0) {
		free(buf);
		return ret;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}

/* Does a key of "auths" name host? "host", "scheme://host", each with any "/path". */
static int key_matches(const char *key, const char *host)
{
	size_t hl = strlen(host);

	if (strncmp(key, "https://", 8) == 0)
		key += 8;
	else if (strncmp(key, "http://", 7) == 0)
		key += 7;
	return strncmp(key, host, hl) == 0 && (key[hl] == '\0' || key[hl] == '/');
}

/* Decode base64 "user:password" into c. 0, or -EBADMSG. */
static int decode_auth(const char *b64, struct volt_creds *c)
{
	size_t len = strlen(b64);
	unsigned char *out;
	char *colon;
	int n;

	if (len == 0 || len % 4 || len > 16384)
		return -EBADMSG;
	out = malloc(len / 4 * 3 + 1);
	if (!out)
		return -ENOMEM;
	n = EVP_DecodeBlock(out, (const unsigned char *)b64, (int)len);
	if (n < 0) {
		free(out);
		return -EBADMSG;
	}
	/* EVP_DecodeBlock counts the padding as zero bytes. */
	if (len >= 1 && b64[len - 1] == '=')
		n--;
	if (len >= 2 && b64[len - 2] == '=')
		n--;
	out[n] = '\0';
	colon = memchr(out, ':', (size_t)n);
	if (!colon || strlen((char *)out) != (size_t)n) {
		free(out);
		return -EBADMSG;
	}
	*colon = '\0';
	c->user = strdup((char *)out);
	c->password = strdup(colon + 1);
	explicit_bzero(out, (size_t)n);
	free(out);
	if (!c->user || !c->password) {
		volt_auth_release(c);
		return -ENOMEM;
	}
	return 0;
}

static int load_one(struct volt_creds *c, const char *path, const char *host)
{
	char *buf;
	size_t len = 0;
	cJSON *root, *auths, *e;
	int ret = read_small(path, &buf, &len);

	if (ret == -ENOENT)
		return 0;
	if (ret < 0)
		return ret == -ENOMEM ? ret : -EBADMSG;
	root = cJSON_ParseWithLength(buf, len);
	explicit_bzero(buf, len);
	free(buf);
	if (!root || !cJSON_IsObject(root)) {
		cJSON_Delete(root);
		return -EBADMSG;
	}
	auths = cJSON_GetObjectItemCaseSensitive(root, "auths");
	if (auths && !cJSON_IsObject(auths))
		ret = -EBADMSG;
	if (ret < 0)
		auths = NULL;
	cJSON_ArrayForEach(e, auths) {
		cJSON *a;

		if (!key_matches(e->string, host))
			continue;
		a = cJSON_GetObjectItemCaseSensitive(e, "auth");
		if (!a)
			continue; /* a credential helper's entry: not ours to run */
		ret = cJSON_IsString(a) ? decode_auth(a->valuestring, c) : -EBADMSG;
		break;
	}
	cJSON_Delete(root);
	return ret;
}

int volt_auth_load(struct volt_creds *c, const char *const *files, const char *host,
		   const char **bad)
{
	c->user = c->password = NULL;
	*bad = NULL;
	for (; files && *files; files++) {
		int ret = load_one(c, *files, host);

		if (ret < 0) {
			*bad = *files;
			return ret;
		}
		if (c->user)
			return 0;
	}
	return 0;
}

int volt_auth_load_default(struct volt_creds *c, const char *file, const char *host,
			   const char **bad)
{
	static __thread char paths[4][4096];
	const char *files[5] = { 0 }, *env;
	size_t n = 0;

	if (file) {
		files[0] = file;
		return volt_auth_load(c, files, host, bad);
	}
	if ((env = getenv("REGISTRY_AUTH_FILE")) && *env)
		files[n++] = env;
	if ((env = getenv("XDG_RUNTIME_DIR")) && *env) {
		snprintf(paths[0], sizeof(paths[0]), "%s/containers/auth.json", env);
		files[n++] = paths[0];
	}
	if ((env = getenv("DOCKER_CONFIG")) && *env) {
		snprintf(paths[1], sizeof(paths[1]), "%s/config.json", env);
		files[n++] = paths[1];
	} else if ((env = getenv("HOME")) && *env) {
		snprintf(paths[1], sizeof(paths[1]), "%s/.docker/config.json", env);
		files[n++] = paths[1];
	}
	return volt_auth_load(c, files, host, bad);
}

void volt_auth_release(struct volt_creds *c)
{
	if (c->password)
		explicit_bzero(c->password, strlen(c->password));
	free(c->user);
	free(c->password);
	c->user = c->password = NULL;
}

char *volt_auth_basic(const struct volt_creds *c)
{
	size_t ul = strlen(c->user), pl = strlen(c->password), n = ul + 1 + pl;
	unsigned char *plain = malloc(n + 1);
	char *out = malloc(6 + (n + 2) / 3 * 4 + 1);

	if (!plain || !out) {
		free(plain);
		free(out);
		return NULL;
	}
	memcpy(plain, c->user, ul);
	plain[ul] = ':';
	memcpy(plain + ul + 1, c->password, pl);
	memcpy(out, "Basic ", 6);
	EVP_EncodeBlock((unsigned char *)out + 6, plain, (int)n);
	explicit_bzero(plain, n);
	free(plain);
	return out;
}

/* Copy a quoted or bare parameter value at *p into out; advance *p. */
static int take_value(const char **p, char *out, size_t size)
{
	const char *s = *p;
	size_t o = 0;

	if (*s == '"') {
		for (s++; *s && *s != '"'; s++) {
			if (*s == '\\' && s[1])
				s++;
			if (o + 1 >= size)
				return -EINVAL;
			out[o++] = *s;
		}
		if (*s != '"')
			return -EINVAL;
		s++;
	} else {
		for (; *s && *s != ',' && *s != ' '; s++) {
			if (o + 1 >= size)
				return -EINVAL;
			out[o++] = *s;
		}
	}
	out[o] = '\0';
	*p = s;
	return 0;
}

int volt_auth_parse_challenge(const char *hdr, struct volt_challenge *ch)
{
	const char *p = hdr;

	memset(ch, 0, sizeof(*ch));
	if (strncasecmp(p, "Bearer ", 7) == 0) {
		ch->scheme = VOLT_AUTH_BEARER;
		p += 7;
	} else if (strncasecmp(p, "Basic", 5) == 0 && (p[5] == ' ' || p[5] == '\0')) {
		ch->scheme = VOLT_AUTH_BASIC;
		return 0; /* its realm is only a name to show */
	} else {
		return -EINVAL;
	}
	while (*p) {
		char name[32], junk[1024], *out = junk;
		size_t nl = 0, size = sizeof(junk);

		while (*p == ' ' || *p == ',')
			p++;
		if (!*p)
			break;
		while (*p && *p != '=' && nl + 1 < sizeof(name))
			name[nl++] = *p++;
		name[nl] = '\0';
		if (*p != '=')
			return -EINVAL;
		p++;
		if (strcasecmp(name, "realm") == 0)
			out = ch->realm, size = sizeof(ch->realm);
		else if (strcasecmp(name, "service") == 0)
			out = ch->service, size = sizeof(ch->service);
		else if (strcasecmp(name, "scope") == 0)
			out = ch->scope, size = sizeof(ch->scope);
		if (take_value(&p, out, size) < 0)
			return -EINVAL;
	}
	if (strncmp(ch->realm, "https://", 8) != 0 && strncmp(ch->realm, "http://", 7) != 0)
		return -EINVAL;
	return 0;
}

int volt_auth_parse_token(const char *body, size_t len, char **token, long *expires_in)
{
	cJSON *root = cJSON_ParseWithLength(body, len);
	cJSON *t, *e;
	int ret = -EBADMSG;

	*token = NULL;
	*expires_in = 60;
	if (!root || !cJSON_IsObject(root))
		goto out;
	t = cJSON_GetObjectItemCaseSensitive(root, "token");
	if (!cJSON_IsString(t) || !t->valuestring[0])
		t = cJSON_GetObjectItemCaseSensitive(root, "access_token");
	if (!cJSON_IsString(t) || !t->valuestring[0] || strlen(t->valuestring) > 7000 ||
	    strpbrk(t->valuestring, "\r\n"))
		goto out;
	e = cJSON_GetObjectItemCaseSensitive(root, "expires_in");
	if (cJSON_IsNumber(e) && e->valuedouble >= 1 && e->valuedouble < 1e7)
		*expires_in = (long)e->valuedouble;
	*token = strdup(t->valuestring);
	ret = *token ? 0 : -ENOMEM;
out:
	cJSON_Delete(root);
	return ret;
}
