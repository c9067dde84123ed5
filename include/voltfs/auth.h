/* SPDX-License-Identifier: MIT */
/*
 * Registry credentials and the words of the auth protocol, without I/O on
 * the network: the Docker/Podman credential files (config.json, auth.json:
 * "auths" -> host -> base64 "user:password"), the WWW-Authenticate
 * challenge (Basic or Bearer with realm, service, scope) and a token
 * server's answer. The secrets live only in struct volt_creds and the
 * header values built from them; nothing here formats them into a message.
 */
#ifndef VOLTFS_AUTH_H
#define VOLTFS_AUTH_H

#include <stddef.h>

struct volt_creds {
	char *user; /* NULL: anonymous */
	char *password;
};

/*
 * The first credentials for host ("HOST[:PORT]") found in files, tried in
 * order (a missing file is skipped; NULL-terminated list). Keys match as
 * "host", "https://host", "http://host", with any path after them. 0 with
 * c filled (user NULL when none is found), or -EBADMSG naming the file in
 * *bad (pointing into files) when one is not such a file, or -ENOMEM.
 */
int volt_auth_load(struct volt_creds *c, const char *const *files, const char *host,
		   const char **bad);
/*
 * volt_auth_load over file when given, else the files docker and podman
 * read, in podman's order: $REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR/containers/
 * auth.json, $DOCKER_CONFIG/config.json, else $HOME/.docker/config.json.
 * *bad points into static storage of this call when set.
 */
int volt_auth_load_default(struct volt_creds *c, const char *file, const char *host,
			   const char **bad);
void volt_auth_release(struct volt_creds *c);

/* "Basic <base64(user:password)>" into a malloc'ed string, or NULL (no memory). */
char *volt_auth_basic(const struct volt_creds *c);

enum volt_auth_scheme { VOLT_AUTH_NONE, VOLT_AUTH_BASIC, VOLT_AUTH_BEARER };

struct volt_challenge {
	enum volt_auth_scheme scheme;
	char realm[1024];
	char service[256];
	char scope[512];
};

/* Parse a WWW-Authenticate value. 0, or -EINVAL (not one this client speaks). */
int volt_auth_parse_challenge(const char *hdr, struct volt_challenge *ch);

/*
 * A token server's JSON answer: "token" or "access_token", and
 * "expires_in" (seconds; 60 when absent, as the distribution spec says).
 * 0 with *token malloc'ed, or -EBADMSG.
 */
int volt_auth_parse_token(const char *body, size_t len, char **token, long *expires_in);

#endif
