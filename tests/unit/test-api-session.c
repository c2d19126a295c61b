/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the console's sessions over real HTTP: POST /login sets an
 * HttpOnly, SameSite=Strict cookie and answers the CSRF token; a cookie
 * request that writes needs a matching X-CSRF-Token (403 otherwise); a
 * wrong password is a 401 recorded as an auth event; the cookie goes through
 * the same role checks as a token; logout and expiry end the session; bearer
 * tokens are unaffected; the console's files are served with their CSP; and
 * password guessing is cut off per client address.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "unit/test-api-harness.h"
#include "api/internal.h"
#include "base/log.h"
#include "base/time.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PASSWORD  "password-of-test" /* what make_user() gives every user */
#define JOB(name) "{\"name\":\"" name "\",\"schedule\":\"@manual\",\"run\":{\"shell\":\"true\"}}"

static const char *str(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : "";
}

/* A session of `user`: its cookie header line and CSRF token. */
struct sess {
	char cookie[160]; /* "Cookie: clover_session=..." */
	char csrf[80];
	char both[300]; /* cookie + "\nX-CSRF-Token: ..." */
};

static void login(struct harness *h, const char *user, struct sess *s)
{
	char body[256];
	struct resp r;
	const char *v, *end;

	snprintf(body, sizeof(body), "{\"user\":\"%s\",\"password\":\"" PASSWORD "\"}", user);
	assert_int_equal(req(h, "POST", "/api/v1/login", NULL, body, NULL, &r), 200);
	v = strstr(r.set_cookie, "clover_session=");
	assert_non_null(v);
	end = strchr(v, ';');
	assert_non_null(end);
	snprintf(s->cookie, sizeof(s->cookie), "Cookie: %.*s", (int)(end - v), v);
	snprintf(s->csrf, sizeof(s->csrf), "%s", str(r.json, "csrf"));
	snprintf(s->both, sizeof(s->both), "%s\nX-CSRF-Token: %s", s->cookie, s->csrf);
	resp_free(&r);
}

static void login_sets_a_strict_httponly_cookie_and_answers_csrf(void **state)
{
	struct harness *h = *state;
	struct sess s;
	struct resp r;

	assert_int_equal(req(h, "POST", "/api/v1/login", NULL,
	                     "{\"user\":\"oper\",\"password\":\"" PASSWORD "\"}", NULL, &r),
	                 200);
	assert_string_equal(str(r.json, "user"), "oper");
	assert_string_equal(str(r.json, "role"), "operator");
	assert_int_equal(strlen(str(r.json, "csrf")), 64);
	assert_non_null(strstr(r.set_cookie, "clover_session="));
	assert_non_null(strstr(r.set_cookie, "HttpOnly"));
	assert_non_null(strstr(r.set_cookie, "SameSite=Strict"));
	assert_non_null(strstr(r.set_cookie, "Path=/"));
	assert_non_null(strstr(r.set_cookie, "Max-Age=43200"));
	assert_null(strstr(r.set_cookie, "Secure")); /* plain HTTP */
	resp_free(&r);

	/* whoami by cookie gives the same CSRF token; by token, none. */
	login(h, "oper", &s);
	assert_int_equal(req(h, "GET", "/api/v1/whoami", NULL, NULL, s.cookie, &r), 200);
	assert_string_equal(str(r.json, "user"), "oper");
	assert_string_equal(str(r.json, "csrf"), s.csrf);
	resp_free(&r);
	assert_int_equal(req(h, "GET", "/api/v1/whoami", h->oper, NULL, NULL, &r), 200);
	assert_null(json_object_get(r.json, "csrf"));
	resp_free(&r);

	/* Behind a TLS proxy the cookie is Secure. */
	assert_int_equal(req(h, "POST", "/api/v1/login", NULL,
	                     "{\"user\":\"oper\",\"password\":\"" PASSWORD "\"}",
	                     "X-Forwarded-Proto: https", &r),
	                 200);
	assert_non_null(strstr(r.set_cookie, "; Secure"));
	resp_free(&r);
}

static void wrong_password_is_401_and_recorded(void **state)
{
	struct harness *h = *state;
	struct store_event_filter f = {.level = -1, .source = "auth", .search = "login as"};
	struct store_event *ev = NULL;
	struct resp r;
	size_t n = 0;

	assert_int_equal(req(h, "POST", "/api/v1/login", NULL,
	                     "{\"user\":\"oper\",\"password\":\"not-the-password\"}", NULL, &r),
	                 401);
	assert_string_equal(err_code(&r), "unauthorized");
	assert_string_equal(r.set_cookie, "");
	resp_free(&r);
	/* An unknown user gets the very same answer. */
	assert_int_equal(req(h, "POST", "/api/v1/login", NULL,
	                     "{\"user\":\"nobody\",\"password\":\"not-the-password\"}", NULL, &r),
	                 401);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(r.json, "error"), "message")),
	    "wrong user name or password");
	resp_free(&r);
	assert_int_equal(store_event_list(h->store, &f, &ev, &n), 0);
	assert_true(n >= 2);
	assert_non_null(strstr(ev[0].message, "login as 'nobody'"));
	assert_null(strstr(ev[0].message, "not-the-password"));
	assert_non_null(strstr(ev[1].message, "login as 'oper'"));
	for (size_t i = 0; i < n; i++)
		store_event_clear(&ev[i]);
	free(ev);

	/* Malformed logins are 4xx, never a session. */
	assert_int_equal(req(h, "POST", "/api/v1/login", NULL, "{\"user\":\"oper\"}", NULL, &r),
	                 422);
	assert_string_equal(err_field(&r), "password");
	resp_free(&r);
	assert_int_equal(req(h, "POST", "/api/v1/login", NULL,
	                     "{\"user\":\"oper\",\"password\":"
	                     "\"x\",\"role\":\"admin\"}",
	                     NULL, &r),
	                 422);
	resp_free(&r);
}

static void cookie_writes_need_the_csrf_token(void **state)
{
	struct harness *h = *state;
	char hdr[400];
	struct sess s;
	struct resp r;

	login(h, "oper", &s);
	/* Reads need no CSRF token. */
	assert_int_equal(req(h, "GET", "/api/v1/jobs", NULL, NULL, s.cookie, &r), 200);
	resp_free(&r);
	/* A write without it, or with a wrong one, is refused before anything happens. */
	assert_int_equal(req(h, "POST", "/api/v1/jobs", NULL, JOB("csrf-1"), s.cookie, &r), 403);
	assert_string_equal(err_code(&r), "forbidden");
	assert_non_null(strstr(r.body, "X-CSRF-Token"));
	resp_free(&r);
	snprintf(hdr, sizeof(hdr), "%s\nX-CSRF-Token: %064d", s.cookie, 0);
	assert_int_equal(req(h, "POST", "/api/v1/jobs", NULL, JOB("csrf-1"), hdr, &r), 403);
	resp_free(&r);
	assert_int_equal(req(h, "GET", "/api/v1/jobs/csrf-1", h->viewer, NULL, NULL, &r), 404);
	resp_free(&r);
	/* The right one lets it through. */
	assert_int_equal(req(h, "POST", "/api/v1/jobs", NULL, JOB("csrf-1"), s.both, &r), 201);
	resp_free(&r);
	assert_int_equal(req(h, "DELETE", "/api/v1/jobs/csrf-1", NULL, NULL, s.both, &r), 204);
	resp_free(&r);
	/* Another session's token does not fit this cookie. */
	{
		struct sess other;

		login(h, "oper", &other);
		snprintf(hdr, sizeof(hdr), "%s\nX-CSRF-Token: %s", s.cookie, other.csrf);
		assert_int_equal(req(h, "POST", "/api/v1/jobs", NULL, JOB("csrf-2"), hdr, &r), 403);
		resp_free(&r);
	}
	/* A bearer token needs no CSRF token, whatever cookie comes along. */
	assert_int_equal(req(h, "POST", "/api/v1/jobs", h->oper, JOB("csrf-3"), s.cookie, &r), 201);
	resp_free(&r);
}

static void cookie_goes_through_role_checks(void **state)
{
	struct harness *h = *state;
	struct sess s;
	struct resp r;

	login(h, "viewer", &s);
	assert_int_equal(req(h, "POST", "/api/v1/jobs", NULL, JOB("by-viewer"), s.both, &r), 403);
	assert_non_null(strstr(r.body, "operator"));
	resp_free(&r);
	assert_int_equal(req(h, "GET", "/api/v1/users", NULL, NULL, s.cookie, &r), 403);
	resp_free(&r);
	login(h, "admin", &s);
	assert_int_equal(req(h, "GET", "/api/v1/users", NULL, NULL, s.cookie, &r), 200);
	resp_free(&r);
}

static void logout_and_expiry_end_the_session(void **state)
{
	struct harness *h = *state;
	char secret[AUTH_SESSION_SECRET_LEN + 1], hdr[200];
	struct auth_identity who;
	struct error_info e;
	struct sess s;
	struct resp r;

	login(h, "oper", &s);
	/* Logout is a write: it needs the CSRF token too. */
	assert_int_equal(req(h, "POST", "/api/v1/logout", NULL, NULL, s.cookie, &r), 403);
	resp_free(&r);
	assert_int_equal(req(h, "POST", "/api/v1/logout", NULL, NULL, s.both, &r), 204);
	assert_non_null(strstr(r.set_cookie, "Max-Age=0"));
	resp_free(&r);
	assert_int_equal(req(h, "GET", "/api/v1/whoami", NULL, NULL, s.cookie, &r), 401);
	assert_string_equal(err_code(&r), "unauthorized");
	resp_free(&r);

	/* A session opened 12 hours and a minute ago has expired. */
	assert_int_equal(auth_login(h->store, "oper", PASSWORD,
	                            time_wall_ms() - AUTH_SESSION_TTL_MS - 60000, secret, &who, &e),
	                 0);
	snprintf(hdr, sizeof(hdr), "Cookie: clover_session=%s", secret);
	assert_int_equal(req(h, "GET", "/api/v1/whoami", NULL, NULL, hdr, &r), 401);
	assert_non_null(strstr(r.body, "expired"));
	resp_free(&r);
	/* A made-up cookie is refused. */
	assert_int_equal(
	    req(h, "GET", "/api/v1/whoami", NULL, NULL, "Cookie: clover_session=abc", &r), 401);
	resp_free(&r);
}

static void sessions_die_with_their_user(void **state)
{
	struct harness *h = *state;
	char tok[AUTH_TOKEN_LEN + 1];
	struct sess s;
	struct resp r;

	make_user(h, "short-lived", STORE_ROLE_VIEWER, tok);
	login(h, "short-lived", &s);
	assert_int_equal(req(h, "DELETE", "/api/v1/users/short-lived", h->admin, NULL, NULL, &r),
	                 204);
	resp_free(&r);
	usleep(3000);                                       /* creation times are in milliseconds */
	make_user(h, "short-lived", STORE_ROLE_ADMIN, tok); /* someone else, same name */
	assert_int_equal(req(h, "GET", "/api/v1/whoami", NULL, NULL, s.cookie, &r), 401);
	resp_free(&r);
}

static void console_files_are_embedded_with_csp(void **state)
{
	struct harness *h = *state;
	struct resp r;
	char inm[80];

	assert_int_equal(req(h, "GET", "/", NULL, NULL, NULL, &r), 200);
	assert_string_equal(r.content_type, "text/html; charset=utf-8");
	assert_non_null(strstr(r.body, "<html"));
	assert_true(strlen(r.etag) > 2);
	snprintf(inm, sizeof(inm), "If-None-Match: %s", r.etag);
	resp_free(&r);
	assert_int_equal(req(h, "GET", "/", NULL, NULL, inm, &r), 304);
	resp_free(&r);
	assert_int_equal(req(h, "GET", "/ui/app.js", NULL, NULL, NULL, &r), 200);
	assert_string_equal(r.content_type, "text/javascript; charset=utf-8");
	resp_free(&r);
	assert_int_equal(req(h, "GET", "/ui/nothing.js", NULL, NULL, NULL, &r), 404);
	resp_free(&r);
	assert_int_equal(req(h, "GET", "/ui/%2e%2e/index.html", NULL, NULL, NULL, &r), 404);
	resp_free(&r);
	assert_int_equal(req(h, "POST", "/", NULL, "{}", NULL, &r), 405);
	resp_free(&r);
}

static void store_keeps_only_hashes_and_prunes_expired_sessions(void **state)
{
	struct harness *h = *state;
	struct store_session ss = {0}, got;
	char secret[AUTH_SESSION_SECRET_LEN + 1], hash[AUTH_HASH_HEX_LEN + 1];
	struct auth_identity who;
	struct error_info e;
	int64_t now = time_wall_ms();

	/* What the store has is the hash of the cookie's secret, not the secret. */
	assert_int_equal(auth_login(h->store, "viewer", PASSWORD, now, secret, &who, &e), 0);
	assert_int_equal(store_session_find(h->store, secret, &got), CLOVER_ENOENT);
	auth_token_hash(secret, hash);
	assert_int_equal(store_session_find(h->store, hash, &got), 0);
	assert_string_equal(got.user, "viewer");
	assert_true(got.expires_at == now + AUTH_SESSION_TTL_MS);
	store_session_clear(&got);

	/* An expired session is deleted when the next one is stored. */
	ss.hash = "0000000000000000000000000000000000000000000000000000000000000001";
	ss.user = "viewer";
	ss.created_at = now - 2 * AUTH_SESSION_TTL_MS;
	ss.expires_at = now - AUTH_SESSION_TTL_MS;
	assert_int_equal(store_session_put(h->store, &ss), 0);
	assert_int_equal(store_session_find(h->store, ss.hash, &got), 0);
	store_session_clear(&got);
	assert_int_equal(auth_login(h->store, "viewer", PASSWORD, now, secret, &who, &e), 0);
	assert_int_equal(store_session_find(h->store, ss.hash, &got), CLOVER_ENOENT);
	assert_int_equal(auth_logout(h->store, secret), 0);
	assert_int_equal(auth_logout(h->store, secret), CLOVER_ENOENT);
	assert_int_equal(store_session_put(h->store, &(struct store_session){.hash = "x"}),
	                 CLOVER_EINVAL);
}

/* Runs last: it leaves 127.0.0.1 blocked for a minute. */
static void password_guessing_is_cut_off_per_address(void **state)
{
	struct harness *h = *state;
	struct store_event_filter f = {.level = -1, .source = "auth", .search = "too many"};
	struct store_event *ev = NULL;
	struct resp r;
	size_t n = 0;
	int i;

	for (i = 0; i < API_LOGIN_FAILS_PER_MIN; i++) {
		assert_int_equal(req(h, "POST", "/api/v1/login", NULL,
		                     "{\"user\":\"oper\",\"password\":\"guess-number-x\"}", NULL,
		                     &r),
		                 401);
		resp_free(&r);
	}
	/* Now even the right password is refused, without being checked. */
	assert_int_equal(req(h, "POST", "/api/v1/login", NULL,
	                     "{\"user\":\"oper\",\"password\":\"" PASSWORD "\"}", NULL, &r),
	                 429);
	assert_string_equal(err_code(&r), "too_many");
	assert_string_equal(r.set_cookie, "");
	resp_free(&r);
	assert_int_equal(store_event_list(h->store, &f, &ev, &n), 0);
	assert_int_equal(n, 1);
	assert_non_null(strstr(ev[0].message, "login as 'oper' refused"));
	store_event_clear(&ev[0]);
	free(ev);
	/* Tokens are not affected. */
	assert_int_equal(req(h, "GET", "/api/v1/whoami", h->oper, NULL, NULL, &r), 200);
	resp_free(&r);
}

int main(void)
{
	const struct CMUnitTest http[] = {
	    cmocka_unit_test(login_sets_a_strict_httponly_cookie_and_answers_csrf),
	    cmocka_unit_test(wrong_password_is_401_and_recorded),
	    cmocka_unit_test(cookie_writes_need_the_csrf_token),
	    cmocka_unit_test(cookie_goes_through_role_checks),
	    cmocka_unit_test(logout_and_expiry_end_the_session),
	    cmocka_unit_test(sessions_die_with_their_user),
	    cmocka_unit_test(console_files_are_embedded_with_csp),
	    cmocka_unit_test(store_keeps_only_hashes_and_prunes_expired_sessions),
	    cmocka_unit_test(password_guessing_is_cut_off_per_address),
	};
	int rc;

	log_set_level(LOG_LVL_ERROR);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = cmocka_run_group_tests_name("api-session", http, harness_setup, harness_teardown);
	curl_global_cleanup();
	return rc;
}
