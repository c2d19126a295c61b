/* SPDX-License-Identifier: MIT */
/*
 * Authentication: Argon2id password hashes, bearer tokens (generation, hashing,
 * lookup), role names, and the first-start bootstrap of the admin user. See
 * auth.h for the token format and docs/security.md for the rationale.
 *
 * Secrets (passwords, tokens) are never logged and are wiped from our own
 * buffers (sodium_memzero) once they have been hashed or written out.
 */
#include "api/auth.h"
#include "api/api.h"
#include "base/log.h"
#include "base/time.h"

#include <sodium.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TOKEN_ID_BYTES           (AUTH_TOKEN_ID_LEN / 2)
#define TOKEN_SECRET_BYTES       (AUTH_TOKEN_SECRET_LEN / 2)
#define BOOTSTRAP_PASSWORD_BYTES 18 /* 24 characters of URL-safe base64 */

int auth_init(void)
{
	/* sodium_init() is thread-safe and returns 1 when already done. */
	if (sodium_init() < 0) {
		log_at(LOG_ERROR, "auth", "libsodium failed to initialise");
		return CLOVER_ESYS;
	}
	return 0;
}

struct auth_pwlimits auth_pwlimits_min(void)
{
	struct auth_pwlimits l = {
	    .ops = crypto_pwhash_argon2id_OPSLIMIT_MIN,
	    .mem = crypto_pwhash_argon2id_MEMLIMIT_MIN,
	};
	return l;
}

int auth_password_hash(const char *password, const struct auth_pwlimits *lim, char **out)
{
	unsigned long long ops = crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE;
	size_t mem = crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE;
	char *h;

	*out = NULL;
	if (auth_init())
		return CLOVER_ESYS;
	if (lim && lim->ops)
		ops = lim->ops;
	if (lim && lim->mem)
		mem = lim->mem;
	h = calloc(1, crypto_pwhash_STRBYTES);
	if (h == NULL)
		return CLOVER_ENOMEM;
	if (crypto_pwhash_str_alg(h, password, strlen(password), ops, mem,
	                          crypto_pwhash_ALG_ARGON2ID13) != 0) {
		free(h);
		log_at(LOG_ERROR, "auth", "password hashing failed (ops=%llu mem=%zu)", ops, mem);
		return CLOVER_ESYS;
	}
	*out = h;
	return 0;
}

bool auth_password_verify(const char *hash, const char *password)
{
	if (hash == NULL || password == NULL || auth_init())
		return false;
	return crypto_pwhash_str_verify(hash, password, strlen(password)) == 0;
}

static bool is_lower_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	}
	return true;
}

bool auth_token_parse(const char *token, char *id)
{
	const char *p = token;

	if (token == NULL || strlen(token) != AUTH_TOKEN_LEN)
		return false;
	if (memcmp(p, AUTH_TOKEN_PREFIX, 4) != 0)
		return false;
	p += 4;
	if (!is_lower_hex(p, AUTH_TOKEN_ID_LEN) || p[AUTH_TOKEN_ID_LEN] != '_')
		return false;
	if (!is_lower_hex(p + AUTH_TOKEN_ID_LEN + 1, AUTH_TOKEN_SECRET_LEN))
		return false;
	if (id) {
		memcpy(id, p, AUTH_TOKEN_ID_LEN);
		id[AUTH_TOKEN_ID_LEN] = '\0';
	}
	return true;
}

void auth_token_hash(const char *token, char *hex)
{
	unsigned char h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, (const unsigned char *)token, strlen(token));
	sodium_bin2hex(hex, AUTH_HASH_HEX_LEN + 1, h, sizeof(h));
}

/* Fills `token` (AUTH_TOKEN_LEN + 1 bytes) and its `id` with fresh randomness. */
static void token_generate(char *token, char *id)
{
	unsigned char idb[TOKEN_ID_BYTES], sec[TOKEN_SECRET_BYTES];
	char sechex[AUTH_TOKEN_SECRET_LEN + 1];

	randombytes_buf(idb, sizeof(idb));
	randombytes_buf(sec, sizeof(sec));
	sodium_bin2hex(id, AUTH_TOKEN_ID_LEN + 1, idb, sizeof(idb));
	sodium_bin2hex(sechex, sizeof(sechex), sec, sizeof(sec));
	snprintf(token, AUTH_TOKEN_LEN + 1, "%s%s_%s", AUTH_TOKEN_PREFIX, id, sechex);
	sodium_memzero(sec, sizeof(sec));
	sodium_memzero(sechex, sizeof(sechex));
}

/* Copies a token record; 0 or CLOVER_ENOMEM (then `dst` holds nothing). */
static int token_copy(struct store_token *dst, const struct store_token *src)
{
	memset(dst, 0, sizeof(*dst));
	dst->id = strdup(src->id);
	dst->user = strdup(src->user);
	dst->name = strdup(src->name ? src->name : "");
	dst->hash = strdup(src->hash);
	dst->created_at = src->created_at;
	dst->last_used_at = src->last_used_at;
	if (!dst->id || !dst->user || !dst->name || !dst->hash) {
		store_token_clear(dst);
		return CLOVER_ENOMEM;
	}
	return 0;
}

int auth_token_create(struct store *s, const char *user, const char *name, int64_t now,
                      char **token, struct store_token *rec)
{
	char id[AUTH_TOKEN_ID_LEN + 1], hash[AUTH_HASH_HEX_LEN + 1];
	struct store_token t;
	char *tok;
	int rc;

	*token = NULL;
	if (auth_init())
		return CLOVER_ESYS;
	tok = malloc(AUTH_TOKEN_LEN + 1);
	if (tok == NULL)
		return CLOVER_ENOMEM;
	token_generate(tok, id);
	auth_token_hash(tok, hash);
	t = (struct store_token){
	    .id = id,
	    .user = (char *)user,
	    .name = (char *)(name ? name : ""),
	    .hash = hash,
	    .created_at = now,
	    .last_used_at = 0,
	};
	rc = store_token_put(s, &t);
	if (rc == 0 && rec) {
		rc = token_copy(rec, &t);
		if (rc)
			(void)store_token_delete(s, id); /* nobody will ever see this one */
	}
	if (rc) {
		sodium_memzero(tok, AUTH_TOKEN_LEN + 1);
		free(tok);
		return rc;
	}
	*token = tok;
	return 0;
}

int auth_authenticate(struct store *s, const char *authorization, int64_t now,
                      struct auth_identity *who, struct error_info *e)
{
	char id[AUTH_TOKEN_ID_LEN + 1], hash[AUTH_HASH_HEX_LEN + 1];
	char token[AUTH_TOKEN_LEN + 1];
	struct store_token t = {0};
	struct store_user u = {0};
	const char *p;
	size_t n;
	int rc;

	memset(who, 0, sizeof(*who));
	if (authorization == NULL || *authorization == '\0')
		return error_set(e, CLOVER_EAUTH, NULL,
		                 "missing bearer token (Authorization: Bearer <token>)");
	if (strncasecmp(authorization, "Bearer ", 7) != 0)
		return error_set(e, CLOVER_EAUTH, NULL,
		                 "unsupported authorization scheme; use Bearer");
	p = authorization + 7;
	while (*p == ' ' || *p == '\t')
		p++;
	n = strlen(p);
	while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	if (n != AUTH_TOKEN_LEN)
		return error_set(e, CLOVER_EAUTH, NULL, "malformed token");
	memcpy(token, p, n);
	token[n] = '\0';
	if (!auth_token_parse(token, id)) {
		sodium_memzero(token, sizeof(token));
		return error_set(e, CLOVER_EAUTH, NULL, "malformed token");
	}
	auth_token_hash(token, hash);
	sodium_memzero(token, sizeof(token));

	rc = store_token_find(s, hash, &t);
	if (rc == CLOVER_ENOENT)
		return error_set(e, CLOVER_EAUTH, NULL, "invalid or revoked token (id %s)", id);
	if (rc)
		return error_set(e, rc, NULL, "cannot look the token up: %s", clover_strerror(rc));
	if (t.id == NULL || strcmp(t.id, id) != 0 || t.user == NULL) {
		rc = error_set(e, CLOVER_EAUTH, NULL, "invalid or revoked token (id %s)", id);
		goto out;
	}
	rc = store_user_get(s, t.user, &u);
	if (rc == CLOVER_ENOENT) {
		rc = error_set(e, CLOVER_EAUTH, NULL, "the user of token %s no longer exists", id);
		goto out;
	}
	if (rc) {
		rc = error_set(e, rc, NULL, "cannot look the user up: %s", clover_strerror(rc));
		goto out;
	}
	snprintf(who->user, sizeof(who->user), "%s", u.name);
	who->role = u.role;
	memcpy(who->token_id, id, sizeof(who->token_id));

	if (now - t.last_used_at >= AUTH_TOUCH_INTERVAL_MS) {
		int trc;

		trc = store_token_touch(s, id, now);
		if (trc)
			log_at(LOG_DEBUG, "auth", "cannot record the use of token %s: %s", id,
			       clover_strerror(trc));
	}
	rc = 0;
out:
	store_token_clear(&t);
	store_user_clear(&u);
	return rc;
}

/* ---- console sessions ---- */

/* Writes the CSRF token of the session whose cookie holds `secret`. */
static void session_csrf(const char *secret, char *hex)
{
	unsigned char h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256_state st;

	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const unsigned char *)"clover-csrf:", 12);
	crypto_hash_sha256_update(&st, (const unsigned char *)secret, strlen(secret));
	crypto_hash_sha256_final(&st, h);
	sodium_bin2hex(hex, AUTH_HASH_HEX_LEN + 1, h, sizeof(h));
}

/*
 * A hash to verify against when the user does not exist, so that a wrong
 * user name costs as much time as a wrong password.
 */
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;
static char dummy_hash[crypto_pwhash_STRBYTES];

static void dummy_init(void)
{
	unsigned char pw[16];
	char hex[33];
	char *h = NULL;

	randombytes_buf(pw, sizeof(pw));
	sodium_bin2hex(hex, sizeof(hex), pw, sizeof(pw));
	if (auth_password_hash(hex, NULL, &h) == 0) {
		snprintf(dummy_hash, sizeof(dummy_hash), "%s", h);
		free(h);
	}
}

int auth_login(struct store *s, const char *user, const char *password, int64_t now, char *secret,
               struct auth_identity *who, struct error_info *e)
{
	unsigned char raw[AUTH_SESSION_SECRET_LEN / 2];
	char hash[AUTH_HASH_HEX_LEN + 1];
	struct store_user u = {0};
	struct store_session ss;
	bool ok;
	int rc;

	memset(who, 0, sizeof(*who));
	secret[0] = '\0';
	if (auth_init())
		return error_set(e, CLOVER_ESYS, NULL, "libsodium failed to initialise");
	rc = store_user_get(s, user, &u);
	if (rc == CLOVER_ENOENT) {
		pthread_once(&dummy_once, dummy_init);
		(void)auth_password_verify(dummy_hash, password);
		return error_set(e, CLOVER_EAUTH, NULL, "wrong user name or password");
	}
	if (rc)
		return error_set(e, rc, NULL, "cannot look the user up: %s", clover_strerror(rc));
	ok = auth_password_verify(u.pwhash, password);
	if (!ok) {
		rc = error_set(e, CLOVER_EAUTH, NULL, "wrong user name or password");
		goto out;
	}
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2hex(secret, AUTH_SESSION_SECRET_LEN + 1, raw, sizeof(raw));
	sodium_memzero(raw, sizeof(raw));
	auth_token_hash(secret, hash);
	ss = (struct store_session){
	    .hash = hash,
	    .user = u.name,
	    .created_at = now,
	    .expires_at = now + AUTH_SESSION_TTL_MS,
	};
	rc = store_session_put(s, &ss);
	if (rc) {
		sodium_memzero(secret, AUTH_SESSION_SECRET_LEN + 1);
		rc = error_set(e, rc, NULL, "cannot store the session: %s", clover_strerror(rc));
		goto out;
	}
	snprintf(who->user, sizeof(who->user), "%s", u.name);
	who->role = u.role;
	who->session = true;
	session_csrf(secret, who->csrf);
out:
	store_user_clear(&u);
	return rc;
}

int auth_session_authenticate(struct store *s, const char *secret, int64_t now,
                              struct auth_identity *who, struct error_info *e)
{
	char hash[AUTH_HASH_HEX_LEN + 1];
	struct store_session ss = {0};
	struct store_user u = {0};
	int rc;

	memset(who, 0, sizeof(*who));
	if (secret == NULL || strlen(secret) != AUTH_SESSION_SECRET_LEN ||
	    !is_lower_hex(secret, AUTH_SESSION_SECRET_LEN))
		return error_set(e, CLOVER_EAUTH, NULL, "malformed session cookie; log in again");
	auth_token_hash(secret, hash);
	rc = store_session_find(s, hash, &ss);
	if (rc == CLOVER_ENOENT)
		return error_set(e, CLOVER_EAUTH, NULL, "unknown or ended session; log in again");
	if (rc)
		return error_set(e, rc, NULL, "cannot look the session up: %s",
		                 clover_strerror(rc));
	if (ss.expires_at <= now) {
		rc = error_set(e, CLOVER_EAUTH, NULL, "the session has expired; log in again");
		goto out;
	}
	rc = store_user_get(s, ss.user, &u);
	/* A user deleted then created again under the same name is someone else. */
	if (rc == CLOVER_ENOENT || (rc == 0 && u.created_at > ss.created_at)) {
		rc = error_set(e, CLOVER_EAUTH, NULL, "the user of this session no longer exists");
		goto out;
	}
	if (rc) {
		rc = error_set(e, rc, NULL, "cannot look the user up: %s", clover_strerror(rc));
		goto out;
	}
	snprintf(who->user, sizeof(who->user), "%s", u.name);
	who->role = u.role;
	who->session = true;
	session_csrf(secret, who->csrf);
out:
	store_session_clear(&ss);
	store_user_clear(&u);
	return rc;
}

int auth_logout(struct store *s, const char *secret)
{
	char hash[AUTH_HASH_HEX_LEN + 1];

	if (secret == NULL || strlen(secret) != AUTH_SESSION_SECRET_LEN)
		return CLOVER_ENOENT;
	auth_token_hash(secret, hash);
	return store_session_delete(s, hash);
}

bool auth_csrf_ok(const struct auth_identity *who, const char *token)
{
	if (!who->session || token == NULL || strlen(token) != AUTH_HASH_HEX_LEN ||
	    strlen(who->csrf) != AUTH_HASH_HEX_LEN)
		return false;
	return sodium_memcmp(who->csrf, token, AUTH_HASH_HEX_LEN) == 0;
}

static const char *const role_names[] = {
    [STORE_ROLE_VIEWER] = "viewer",
    [STORE_ROLE_OPERATOR] = "operator",
    [STORE_ROLE_ADMIN] = "admin",
};

const char *auth_role_name(enum store_role role)
{
	if ((unsigned)role < sizeof(role_names) / sizeof(role_names[0]))
		return role_names[role];
	return "unknown";
}

int auth_role_parse(const char *name, enum store_role *out)
{
	for (size_t i = 0; name && i < sizeof(role_names) / sizeof(role_names[0]); i++) {
		if (strcmp(name, role_names[i]) == 0) {
			*out = (enum store_role)i;
			return 0;
		}
	}
	return CLOVER_EINVAL;
}

/* Joins `dir` and `name` into `out` (PATH_MAX); CLOVER_ETOOBIG when too long. */
static int path_join(char *out, size_t n, const char *dir, const char *name)
{
	int len = snprintf(out, n, "%s/%s", dir, name);

	if (len < 0 || (size_t)len >= n)
		return CLOVER_ETOOBIG;
	return 0;
}

/*
 * Writes `data` to <dir>/<name> with mode 0600, atomically: a temporary file
 * in the same directory is written, synced and renamed over the target, and
 * the directory is synced so the rename survives a crash.
 */
static int write_secret_file(const char *dir, const char *name, const char *data,
                             struct error_info *e)
{
	char tmp[PATH_MAX], dst[PATH_MAX], tname[64];
	size_t len = strlen(data), off = 0;
	int fd = -1, dfd, rc;

	snprintf(tname, sizeof(tname), ".%s.XXXXXX", name);
	if (path_join(tmp, sizeof(tmp), dir, tname) || path_join(dst, sizeof(dst), dir, name))
		return error_set(e, CLOVER_ETOOBIG, "data_dir", "data directory path too long");
	fd = mkstemp(tmp);
	if (fd < 0)
		return error_set(e, error_from_errno(errno), "data_dir", "cannot create %s: %s",
		                 tmp, strerror(errno));
	if (fchmod(fd, 0600) != 0)
		goto fail;
	while (off < len) {
		ssize_t w = write(fd, data + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			goto fail;
		off += (size_t)w;
	}
	if (fsync(fd) != 0)
		goto fail;
	if (close(fd) != 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, dst) != 0)
		goto fail;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	return 0;
fail:
	rc = errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return error_set(e, error_from_errno(rc), "data_dir", "cannot write %s: %s", dst,
	                 strerror(rc));
}

int auth_bootstrap_with(struct store *s, const char *data_dir, const struct auth_pwlimits *lim,
                        struct error_info *e)
{
	unsigned char pwbin[BOOTSTRAP_PASSWORD_BYTES];
	char password[sodium_base64_ENCODED_LEN(BOOTSTRAP_PASSWORD_BYTES,
	                                        sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
	char token[AUTH_TOKEN_LEN + 1], id[AUTH_TOKEN_ID_LEN + 1], hash[AUTH_HASH_HEX_LEN + 1];
	char line[sizeof(password) + sizeof(token) + 2];
	struct store_user *users = NULL;
	struct store_user admin = {0};
	struct store_token t;
	struct store_event ev;
	char *pwhash = NULL;
	size_t n = 0;
	int64_t now;
	int rc;

	if (s == NULL || data_dir == NULL || *data_dir == '\0')
		return error_set(e, CLOVER_EINVAL, NULL,
		                 "auth bootstrap needs a store and a data directory");
	if (auth_init())
		return error_set(e, CLOVER_ESYS, NULL, "libsodium failed to initialise");
	rc = store_user_list(s, &users, &n);
	if (rc)
		return error_set(e, rc, NULL, "cannot list users: %s", clover_strerror(rc));
	for (size_t i = 0; i < n; i++)
		store_user_clear(&users[i]);
	free(users);
	if (n > 0)
		return 0;

	if (mkdir(data_dir, 0700) != 0 && errno != EEXIST)
		return error_set(e, error_from_errno(errno), "data_dir", "cannot create %s: %s",
		                 data_dir, strerror(errno));

	randombytes_buf(pwbin, sizeof(pwbin));
	sodium_bin2base64(password, sizeof(password), pwbin, sizeof(pwbin),
	                  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(pwbin, sizeof(pwbin));
	token_generate(token, id);
	auth_token_hash(token, hash);

	rc = auth_password_hash(password, lim, &pwhash);
	if (rc) {
		error_set(e, rc, NULL, "cannot hash the admin password: %s", clover_strerror(rc));
		goto out;
	}
	/*
	 * Files first: if we die before the store has the user, the next start
	 * sees no users and simply starts over.
	 */
	snprintf(line, sizeof(line), "%s\n", password);
	rc = write_secret_file(data_dir, "admin.password", line, e);
	if (rc)
		goto out;
	snprintf(line, sizeof(line), "%s\n", token);
	rc = write_secret_file(data_dir, "admin.token", line, e);
	if (rc)
		goto out;

	now = time_wall_ms();
	admin = (struct store_user){
	    .name = "admin",
	    .pwhash = pwhash,
	    .role = STORE_ROLE_ADMIN,
	    .created_at = now,
	};
	rc = store_user_put(s, &admin);
	if (rc) {
		error_set(e, rc, NULL, "cannot create user admin: %s", clover_strerror(rc));
		goto out;
	}
	t = (struct store_token){
	    .id = id,
	    .user = "admin",
	    .name = "bootstrap",
	    .hash = hash,
	    .created_at = now,
	};
	rc = store_token_put(s, &t);
	if (rc) {
		error_set(e, rc, NULL, "cannot store the admin token: %s", clover_strerror(rc));
		goto out;
	}
	ev = (struct store_event){
	    .at = now,
	    .level = STORE_LEVEL_INFO,
	    .source = "auth",
	    .message =
	        "bootstrap: created user admin with a password and a token in the data directory",
	};
	(void)store_event_add(s, &ev);
	log_at(LOG_INFO, "auth",
	       "created user admin; password in %s/admin.password, token in %s/admin.token",
	       data_dir, data_dir);
out:
	sodium_memzero(password, sizeof(password));
	sodium_memzero(token, sizeof(token));
	sodium_memzero(line, sizeof(line));
	free(pwhash);
	return rc;
}

int auth_bootstrap(struct store *s, const char *data_dir, struct error_info *e)
{
	return auth_bootstrap_with(s, data_dir, NULL, e);
}
