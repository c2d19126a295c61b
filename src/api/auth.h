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

/* Who made a request. */
struct auth_identity {
	char user[AUTH_USER_MAX + 1];
	enum store_role role;
	char token_id[AUTH_TOKEN_ID_LEN + 1];
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

/* "viewer", "operator", "admin". */
const char *auth_role_name(enum store_role role);
/* Parses a role name; 0 or CLOVER_EINVAL. */
int auth_role_parse(const char *name, enum store_role *out);

/* auth_bootstrap() with an explicit password cost (NULL: INTERACTIVE). */
int auth_bootstrap_with(struct store *s, const char *data_dir, const struct auth_pwlimits *lim,
                        struct error_info *e);

#endif
