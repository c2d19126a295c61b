/* SPDX-License-Identifier: MIT */
/*
 * Authentication and authorisation for the API (docs/security.md).
 *
 * Passwords are hashed with Argon2id (libsodium crypto_pwhash_str); the cost is
 * a parameter (`struct auth_pwlimits`) so tests can use the minimum.
 *
 * A bearer token is "clv_<id>_<secret>": `id` is 16 hex digits (8 random
 * bytes), public and shown in listings; `secret` 40 hex digits (20 random
 * bytes). The store keeps the hex SHA-256 of the whole token string only, so
 * a request is authenticated by hashing what it presents and looking the hash
 * up (store_token_find); no secret comparison happens in this process, hence no
 * timing side channel to guard.
 *
 * Roles are ordered: viewer < operator < admin (enum store_role).
 * Everything here is thread-safe once auth_init() has succeeded.
 */
#ifndef CLOVER_API_AUTH_H
#define CLOVER_API_AUTH_H

#include "base/error.h"
#include "store/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AUTH_TOKEN_PREFIX      "clv_"
#define AUTH_TOKEN_ID_LEN      16 /* hex digits */
#define AUTH_TOKEN_SECRET_LEN  40 /* hex digits */
#define AUTH_TOKEN_LEN         (4 + AUTH_TOKEN_ID_LEN + 1 + AUTH_TOKEN_SECRET_LEN)
#define AUTH_HASH_HEX_LEN      64
#define AUTH_PASSWORD_MIN      8
#define AUTH_PASSWORD_MAX      1024
#define AUTH_USER_MAX          128 /* user names follow the job-name rule */
#define AUTH_TOKEN_NAME_MAX    128
#define AUTH_TOUCH_INTERVAL_MS (60 * 1000) /* last_used_at is written at most this often */

struct auth_pwlimits {
	unsigned long long ops; /* 0: crypto_pwhash_OPSLIMIT_INTERACTIVE */
	size_t mem;             /* 0: crypto_pwhash_MEMLIMIT_INTERACTIVE */
};

/*
 * Console sessions. The cookie AUTH_SESSION_COOKIE holds a random secret of
 * AUTH_SESSION_SECRET_LEN hex digits (32 bytes); the store keeps its hex
 * SHA-256 only. The session's CSRF token is derived from the secret
 * (hex SHA-256 of "clover-csrf:" + secret), so it needs no storage and is
 * known only to whoever holds the cookie's value, which script cannot read
 * (HttpOnly); a page must send it in AUTH_CSRF_HEADER on every request that
 * is not a GET or HEAD.
 */
#define AUTH_SESSION_COOKIE     "clover_session"
#define AUTH_CSRF_HEADER        "X-CSRF-Token"
#define AUTH_SESSION_SECRET_LEN 64
#define AUTH_SESSION_TTL_MS     (12 * 60 * 60 * 1000LL) /* fixed lifetime from login */

/* Who made a request. */
struct auth_identity {
	char user[AUTH_USER_MAX + 1];
	enum store_role role;
	char token_id[AUTH_TOKEN_ID_LEN + 1]; /* "" for a session */
	bool session;                         /* authenticated by the console's cookie */
	char csrf[AUTH_HASH_HEX_LEN + 1];     /* the session's CSRF token, or "" */
};

/* Initialises libsodium. Idempotent and thread-safe; 0 or CLOVER_ESYS. */
int auth_init(void);

/* The fastest limits libsodium accepts (for tests). */
struct auth_pwlimits auth_pwlimits_min(void);

/*
 * Hashes `password` with Argon2id at the given cost (NULL or zero members:
 * INTERACTIVE). *out is a malloc'd libsodium hash string the caller frees.
 * Returns 0, CLOVER_ENOMEM, or CLOVER_ESYS (libsodium refused, e.g. memory).
 */
int auth_password_hash(const char *password, const struct auth_pwlimits *lim, char **out);

/* True when `password` matches `hash` (a string from auth_password_hash). */
bool auth_password_verify(const char *hash, const char *password);

/*
 * True when `token` has the exact token shape; copies its public id into
 * `id` (AUTH_TOKEN_ID_LEN + 1 bytes) when `id` is not NULL.
 */
bool auth_token_parse(const char *token, char *id);

/* Writes the hex SHA-256 of `token` (AUTH_HASH_HEX_LEN + 1 bytes) into `hex`. */
void auth_token_hash(const char *token, char *hex);

/*
 * Creates a token for `user` labelled `name` and stores it. On success
 * *token is the malloc'd secret token (shown once, then forgotten; the caller
 * frees it, ideally after sodium_memzero) and `rec` (if not NULL) holds a copy
 * of the stored record (clear with store_token_clear). Returns 0 or a
 * CLOVER_E* code from the store or CLOVER_ENOMEM.
 */
int auth_token_create(struct store *s, const char *user, const char *name, int64_t now,
                      char **token, struct store_token *rec);

/*
 * Authenticates an Authorization header value ("Bearer <token>"; NULL when
 * absent). On success fills `who` and, when the token was last used more than
 * AUTH_TOUCH_INTERVAL_MS before `now`, records the use. Returns 0,
 * CLOVER_EAUTH with a message fit for the client (never the token), or a
 * store error. Does not log: the caller knows the remote address.
 */
int auth_authenticate(struct store *s, const char *authorization, int64_t now,
                      struct auth_identity *who, struct error_info *e);

/*
 * Checks `user` and `password` and opens a session: on success `secret`
 * (AUTH_SESSION_SECRET_LEN + 1 bytes) holds the cookie's value and `who` the
 * user, role and CSRF token. Returns 0, CLOVER_EAUTH (unknown user or wrong
 * password: one message for both, so user names cannot be probed) or a store
 * error. The password check costs one Argon2id hash whether the user exists
 * or not.
 */
int auth_login(struct store *s, const char *user, const char *password, int64_t now, char *secret,
               struct auth_identity *who, struct error_info *e);

/*
 * Authenticates the value of the session cookie. On success fills `who`
 * (with its CSRF token). Returns 0, CLOVER_EAUTH (malformed, unknown, expired
 * or logged-out session, or its user was deleted) or a store error.
 */
int auth_session_authenticate(struct store *s, const char *secret, int64_t now,
                              struct auth_identity *who, struct error_info *e);

/* Ends the session whose cookie holds `secret`; 0 or CLOVER_ENOENT. */
int auth_logout(struct store *s, const char *secret);

/* True when `token` is the CSRF token of `who`'s session (constant time). */
bool auth_csrf_ok(const struct auth_identity *who, const char *token);

/* "viewer", "operator", "admin". */
const char *auth_role_name(enum store_role role);
/* Parses a role name; 0 or CLOVER_EINVAL. */
int auth_role_parse(const char *name, enum store_role *out);

/* auth_bootstrap() with an explicit password cost (NULL: INTERACTIVE). */
int auth_bootstrap_with(struct store *s, const char *data_dir, const struct auth_pwlimits *lim,
                        struct error_info *e);

#endif
