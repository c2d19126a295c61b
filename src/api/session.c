/* SPDX-License-Identifier: MIT */
/*
 * /api/v1/login and /api/v1/logout: the console's cookie sessions
 * (docs/security.md "Console sessions").
 *
 * Login checks a user's password and sets the cookie AUTH_SESSION_COOKIE
 * (HttpOnly, SameSite=Strict, Path=/, Max-Age of the session's lifetime;
 * Secure when a TLS-terminating proxy says so with X-Forwarded-Proto: https).
 * The answer carries the session's CSRF token, which the page sends back in
 * X-CSRF-Token with every write (checked in server.c before routing).
 */
#include "api/internal.h"
#include "base/log.h"
#include "base/time.h"
#include "store/store.h"

#include <sodium.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>

/* True when the Content-Type is application/json (parameters allowed). */
static bool is_json(const char *ct)
{
	size_t n = strlen("application/json");

	return ct && strncasecmp(ct, "application/json", n) == 0 &&
	       (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

/*
 * The slot of client address `remote` in the failed-login table, taken over
 * when it holds another address (the table is small and hashed: an address
 * that fails often keeps its slot; collisions only forget old counts).
 * Called under ev_lock.
 */
static struct api_login_fails *fails_slot(struct api *a, const char *remote, int64_t now)
{
	uint32_t h = 2166136261u;
	struct api_login_fails *f;

	for (const char *p = remote; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	f = &a->login_fails[h % API_LOGIN_SLOTS];
	if (strcmp(f->remote, remote) != 0 || now - f->window >= MS_PER_MIN) {
		snprintf(f->remote, sizeof(f->remote), "%s", remote);
		f->window = now;
		f->count = 0;
	}
	return f;
}

/* True when `remote` has failed API_LOGIN_FAILS_PER_MIN logins this minute. */
static bool login_blocked(struct api *a, const char *remote, int64_t now)
{
	bool blocked;

	pthread_mutex_lock(&a->ev_lock);
	blocked = fails_slot(a, remote, now)->count >= API_LOGIN_FAILS_PER_MIN;
	pthread_mutex_unlock(&a->ev_lock);
	return blocked;
}

/* Counts a failed login (ok == false) or forgets the failures (ok). */
static void login_count(struct api *a, const char *remote, int64_t now, bool ok)
{
	struct api_login_fails *f;

	pthread_mutex_lock(&a->ev_lock);
	f = fails_slot(a, remote, now);
	f->count = ok ? 0 : f->count + 1;
	pthread_mutex_unlock(&a->ev_lock);
}

/*
 * POST /login {"user","password"}: 200 {"user","role","csrf"} with the
 * cookie; 401 for a wrong user or password (one message for both), logged
 * and recorded as an auth event like a bad token.
 */
void api_login(struct api_req *rq, struct api_resp *rs)
{
	char secret[AUTH_SESSION_SECRET_LEN + 1];
	struct auth_identity who;
	struct error_info e;
	const char *user, *password;
	json_t *body, *v;
	const char *key;
	int rc;

	error_clear(&e);
	/*
	 * A form on another site can post text/plain, never application/json
	 * without the browser asking us first (CORS): this keeps other sites from
	 * logging a browser in under an account of theirs.
	 */
	if (!is_json(rq->content_type)) {
		api_reply_error(rs, 400, "bad_request", NULL,
		                "login needs Content-Type: application/json");
		return;
	}
	body = api_body_object(rq, rs, NULL);
	if (body == NULL)
		return;
	json_object_foreach(body, key, v)
	{
		if (strcmp(key, "user") != 0 && strcmp(key, "password") != 0) {
			api_reply_error(rs, 422, "invalid", key, "unknown member '%s'", key);
			goto out;
		}
	}
	user = json_string_value(json_object_get(body, "user"));
	password = json_string_value(json_object_get(body, "password"));
	if (user == NULL || *user == '\0' || strlen(user) > AUTH_USER_MAX) {
		api_reply_error(rs, 422, "invalid", "user", "user must be a user name");
		goto out;
	}
	if (password == NULL || strlen(password) > AUTH_PASSWORD_MAX) {
		api_reply_error(rs, 422, "invalid", "password",
		                "password must be a string of at most %d bytes", AUTH_PASSWORD_MAX);
		goto out;
	}
	/*
	 * Checked before the password: a guesser gets no answer about it, and
	 * costs us no Argon2 hash, once over the limit.
	 */
	if (login_blocked(rq->api, rq->remote, rq->now)) {
		char msg[200];

		snprintf(msg, sizeof(msg), "login as '%.128s' refused: too many failed logins",
		         user);
		api_utf8_sanitize(msg);
		log_at(LOG_WARN, "api", "auth failure from %s: POST /login: %s", rq->remote, msg);
		api_auth_failure(rq, msg);
		api_header_add(rs, "Retry-After", "60");
		api_reply_error(rs, 429, "too_many", NULL,
		                "too many failed logins from your address; try again in a minute");
		goto out;
	}
	rc = auth_login(rq->api->store, user, password, rq->now, secret, &who, &e);
	if (rc == 0 || rc == CLOVER_EAUTH)
		login_count(rq->api, rq->remote, rq->now, rc == 0);
	if (rc == CLOVER_EAUTH) {
		char msg[256];

		snprintf(msg, sizeof(msg), "login as '%.128s': %.100s", user, e.message);
		api_utf8_sanitize(msg);
		log_at(LOG_WARN, "api", "auth failure from %s: POST /login: %s", rq->remote, msg);
		api_auth_failure(rq, msg);
		api_reply_error(rs, 401, "unauthorized", NULL, "%s", e.message);
		goto out;
	}
	if (rc) {
		api_reply_rc(rs, rc, &e);
		goto out;
	}
	log_at(LOG_INFO, "api", "login: user=%s from %s", who.user, rq->remote);
	api_event(rq, STORE_LEVEL_INFO, "auth", NULL, "login: user %s from %s", who.user,
	          rq->remote);
	api_header_add(rs, "Set-Cookie",
	               AUTH_SESSION_COOKIE "=%s; Path=/; HttpOnly; "
	                                   "SameSite=Strict; Max-Age=%lld%s",
	               secret, (long long)(AUTH_SESSION_TTL_MS / 1000),
	               rq->https ? "; Secure" : "");
	sodium_memzero(secret, sizeof(secret));
	api_reply_json(rs, 200,
	               json_pack("{s:s, s:s, s:s}", "user", who.user, "role",
	                         auth_role_name(who.role), "csrf", who.csrf));
out:
	json_decref(body);
}

/*
 * POST /logout: ends the session of the cookie (when the request came with
 * one) and clears the cookie. 204. A bearer token is not affected.
 */
void api_logout(struct api_req *rq, struct api_resp *rs)
{
	if (rq->who.session) {
		int rc = auth_logout(rq->api->store, rq->session);

		if (rc && rc != CLOVER_ENOENT) {
			api_reply_rc(rs, rc, NULL);
			return;
		}
		api_event(rq, STORE_LEVEL_INFO, "auth", NULL, "logout: user %s", rq->who.user);
	}
	api_header_add(rs, "Set-Cookie",
	               AUTH_SESSION_COOKIE "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
	api_reply_empty(rs, 204);
}
