/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of authentication: Argon2id password hashes, the token format,
 * users and tokens over the API (roles, own vs others' tokens, revocation,
 * last use), whoami, and the first-start bootstrap of the admin user.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "unit/test-api-harness.h"
#include "base/log.h"
#include "base/time.h"

#include <curl/curl.h>
#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *str(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

static void passwords_hash_with_argon2id(void **state)
{
	struct auth_pwlimits lim = auth_pwlimits_min();
	char *h1 = NULL, *h2 = NULL;

	(void)state;
	assert_int_equal(auth_password_hash("correct horse", &lim, &h1), 0);
	assert_int_equal(auth_password_hash("correct horse", &lim, &h2), 0);
	assert_int_equal(strncmp(h1, "$argon2id$", 10), 0);
	assert_string_not_equal(h1, h2); /* salted */
	assert_true(auth_password_verify(h1, "correct horse"));
	assert_false(auth_password_verify(h1, "correct horse "));
	assert_false(auth_password_verify(h1, ""));
	assert_false(auth_password_verify(NULL, "x"));
	free(h1);
	free(h2);
}

static void tokens_have_one_exact_shape(void **state)
{
	char id[AUTH_TOKEN_ID_LEN + 1], hex[AUTH_HASH_HEX_LEN + 1];
	const char *good = "clv_0123456789abcdef_0123456789abcdef0123456789abcdef01234567";

	(void)state;
	assert_true(auth_token_parse(good, id));
	assert_string_equal(id, "0123456789abcdef");
	assert_false(
	    auth_token_parse("clv_0123456789abcdef_0123456789abcdef0123456789abcdef0123456", NULL));
	assert_false(auth_token_parse(
	    "clv_0123456789ABCDEF_0123456789abcdef0123456789abcdef01234567", NULL));
	assert_false(auth_token_parse(
	    "clx_0123456789abcdef_0123456789abcdef0123456789abcdef01234567", NULL));
	assert_false(auth_token_parse(
	    "clv_0123456789abcdef-0123456789abcdef0123456789abcdef01234567", NULL));
	assert_false(auth_token_parse("", NULL));
	assert_false(auth_token_parse(NULL, NULL));
	auth_token_hash(good, hex);
	assert_int_equal(strlen(hex), 64);
	/* SHA-256 of the whole token string, lower-case hex. */
	assert_string_equal(hex,
	                    "643304691bf26ea4f31e1340affebc80550dc48c5d424bf3b78e16800cd9184c");
}

static void admin_manages_users(void **state)
{
	struct harness *h = *state;
	char tok[AUTH_TOKEN_LEN + 1];
	struct resp r;
	json_t *users;
	bool seen = false;

	assert_int_equal(
	    req(h, "POST", "/api/v1/users", h->admin,
	        "{\"name\":\"bob\",\"role\":\"operator\",\"password\":\"hunter2hunter2\"}", NULL,
	        &r),
	    201);
	assert_string_equal(str(r.json, "name"), "bob");
	assert_string_equal(str(r.json, "role"), "operator");
	assert_non_null(str(r.json, "created_at"));
	assert_null(json_object_get(r.json, "password"));
	assert_null(json_object_get(r.json, "pwhash"));
	resp_free(&r);
	assert_int_equal(
	    req(h, "POST", "/api/v1/users", h->admin,
	        "{\"name\":\"bob\",\"role\":\"viewer\",\"password\":\"hunter2hunter2\"}", NULL, &r),
	    409);
	resp_free(&r);
	assert_int_equal(
	    req(h, "POST", "/api/v1/users", h->admin,
	        "{\"name\":\"carol\",\"role\":\"root\",\"password\":\"hunter2hunter2\"}", NULL, &r),
	    422);
	assert_string_equal(err_field(&r), "role");
	resp_free(&r);
	assert_int_equal(req(h, "POST", "/api/v1/users", h->admin,
	                     "{\"name\":\"carol\",\"role\":\"viewer\",\"password\":\"short\"}",
	                     NULL, &r),
	                 422);
	assert_string_equal(err_field(&r), "password");
	resp_free(&r);
	assert_int_equal(req(h, "POST", "/api/v1/users", h->admin,
	                     "{\"name\":\"c a\",\"role\":\"viewer\",\"password\":\"longenough\"}",
	                     NULL, &r),
	                 422);
	assert_string_equal(err_field(&r), "name");
	resp_free(&r);
	assert_int_equal(req(h, "POST", "/api/v1/users", h->admin,
	                     "{\"name\":\"carol\",\"role\":\"viewer\",\"password\":\"longenough\","
	                     "\"admin\":true}",
	                     NULL, &r),
	                 422);
	assert_string_equal(err_field(&r), "admin");
	resp_free(&r);

	/* The stored hash verifies the password given. */
	{
		struct store_user u = {0};

		assert_int_equal(store_user_get(h->store, "bob", &u), 0);
		assert_true(auth_password_verify(u.pwhash, "hunter2hunter2"));
		assert_int_equal(u.role, STORE_ROLE_OPERATOR);
		store_user_clear(&u);
	}

	assert_int_equal(req(h, "GET", "/api/v1/users", h->admin, NULL, NULL, &r), 200);
	users = json_object_get(r.json, "users");
	for (size_t i = 0; i < json_array_size(users); i++) {
		json_t *u = json_array_get(users, i);

		assert_null(json_object_get(u, "pwhash"));
		if (strcmp(str(u, "name"), "bob") == 0)
			seen = true;
	}
	assert_true(seen);
	resp_free(&r);

	/* A deleted user's tokens stop working. */
	{
		char *t = NULL;

		assert_int_equal(auth_token_create(h->store, "bob", "t2", time_wall_ms(), &t, NULL),
		                 0);
		memcpy(tok, t, sizeof(tok));
		free(t);
	}
	assert_int_equal(req(h, "GET", "/api/v1/whoami", tok, NULL, NULL, &r), 200);
	assert_string_equal(str(r.json, "user"), "bob");
	assert_string_equal(str(r.json, "role"), "operator");
	resp_free(&r);

	assert_int_equal(req(h, "DELETE", "/api/v1/users/admin", h->admin, NULL, NULL, &r), 409);
	resp_free(&r);
	assert_int_equal(req(h, "DELETE", "/api/v1/users/bob", h->admin, NULL, NULL, &r), 204);
	resp_free(&r);
	assert_int_equal(req(h, "DELETE", "/api/v1/users/bob", h->admin, NULL, NULL, &r), 404);
	resp_free(&r);
	assert_int_equal(req(h, "GET", "/api/v1/whoami", tok, NULL, NULL, &r), 401);
	resp_free(&r);
}

static void whoami_names_user_and_role(void **state)
{
	struct harness *h = *state;
	const char *toks[] = {h->admin, h->oper, h->viewer};
	const char *who[] = {"admin", "oper", "viewer"};
	const char *role[] = {"admin", "operator", "viewer"};
	struct resp r;

	for (int i = 0; i < 3; i++) {
		assert_int_equal(req(h, "GET", "/api/v1/whoami", toks[i], NULL, NULL, &r), 200);
		assert_string_equal(str(r.json, "user"), who[i]);
		assert_string_equal(str(r.json, "role"), role[i]);
		resp_free(&r);
	}
}

/* The token object with id `id` in a listing, or NULL. */
static json_t *find_token(json_t *list, const char *id)
{
	json_t *arr = json_object_get(list, "tokens");

	for (size_t i = 0; i < json_array_size(arr); i++) {
		const char *v = str(json_array_get(arr, i), "id");

		if (v && strcmp(v, id) == 0)
			return json_array_get(arr, i);
	}
	return NULL;
}

static void tokens_create_list_revoke(void **state)
{
	struct harness *h = *state;
	char tok[AUTH_TOKEN_LEN + 1], id[AUTH_TOKEN_ID_LEN + 1], admin_id[AUTH_TOKEN_ID_LEN + 1];
	char path[128], used[40];
	struct resp r;
	json_t *t;

	assert_int_equal(req(h, "POST", "/api/v1/tokens", h->oper, "{\"name\":\"ci\"}", NULL, &r),
	                 201);
	assert_string_equal(str(r.json, "user"), "oper");
	assert_string_equal(str(r.json, "name"), "ci");
	assert_true(auth_token_parse(str(r.json, "token"), id));
	assert_string_equal(str(r.json, "id"), id);
	snprintf(tok, sizeof(tok), "%s", str(r.json, "token"));
	resp_free(&r);

	assert_int_equal(req(h, "GET", "/api/v1/whoami", tok, NULL, NULL, &r), 200);
	assert_string_equal(str(r.json, "user"), "oper");
	resp_free(&r);

	/* Listed without secret nor hash, with its last use recorded. */
	assert_int_equal(req(h, "GET", "/api/v1/tokens", h->oper, NULL, NULL, &r), 200);
	t = find_token(r.json, id);
	assert_non_null(t);
	assert_null(json_object_get(t, "token"));
	assert_null(json_object_get(t, "hash"));
	assert_non_null(str(t, "last_used_at"));
	assert_null(strstr(r.body, tok + 21)); /* the secret part */
	for (size_t i = 0; i < json_array_size(json_object_get(r.json, "tokens")); i++)
		assert_string_equal(
		    str(json_array_get(json_object_get(r.json, "tokens"), i), "user"), "oper");
	snprintf(used, sizeof(used), "%s", str(t, "last_used_at"));
	resp_free(&r);

	/* Used again within the minute: last_used_at is not rewritten. */
	assert_int_equal(req(h, "GET", "/api/v1/whoami", tok, NULL, NULL, &r), 200);
	resp_free(&r);
	assert_int_equal(req(h, "GET", "/api/v1/tokens", h->oper, NULL, NULL, &r), 200);
	assert_string_equal(str(find_token(r.json, id), "last_used_at"), used);
	resp_free(&r);

	/* Operators make tokens for themselves only; admins for anyone. */
	assert_int_equal(
	    req(h, "POST", "/api/v1/tokens", h->oper, "{\"user\":\"viewer\"}", NULL, &r), 403);
	resp_free(&r);
	assert_int_equal(req(h, "POST", "/api/v1/tokens", h->oper, "{\"user\":\"oper\"}", NULL, &r),
	                 201);
	resp_free(&r);
	assert_int_equal(req(h, "POST", "/api/v1/tokens", h->admin,
	                     "{\"name\":\"for viewer\",\"user\":\"viewer\"}", NULL, &r),
	                 201);
	assert_string_equal(str(r.json, "user"), "viewer");
	resp_free(&r);
	assert_int_equal(
	    req(h, "POST", "/api/v1/tokens", h->admin, "{\"user\":\"nobody\"}", NULL, &r), 422);
	assert_string_equal(err_field(&r), "user");
	resp_free(&r);
	assert_int_equal(req(h, "POST", "/api/v1/tokens", h->viewer, NULL, NULL, &r), 201);
	assert_string_equal(str(r.json, "user"), "viewer");
	resp_free(&r);

	/* An admin sees everyone's tokens; an operator cannot revoke the admin's. */
	assert_int_equal(req(h, "GET", "/api/v1/tokens", h->admin, NULL, NULL, &r), 200);
	assert_non_null(find_token(r.json, id));
	resp_free(&r);
	assert_true(auth_token_parse(h->admin, admin_id));
	snprintf(path, sizeof(path), "/api/v1/tokens/%s", admin_id);
	assert_int_equal(req(h, "DELETE", path, h->oper, NULL, NULL, &r), 404);
	resp_free(&r);
	assert_int_equal(req(h, "DELETE", "/api/v1/tokens/xyz", h->oper, NULL, NULL, &r), 400);
	resp_free(&r);

	snprintf(path, sizeof(path), "/api/v1/tokens/%s", id);
	assert_int_equal(req(h, "DELETE", path, h->oper, NULL, NULL, &r), 204);
	resp_free(&r);
	assert_int_equal(req(h, "GET", "/api/v1/whoami", tok, NULL, NULL, &r), 401);
	resp_free(&r);
	assert_int_equal(req(h, "DELETE", path, h->oper, NULL, NULL, &r), 404);
	resp_free(&r);
	/* The operator's own session token still works. */
	assert_int_equal(req(h, "GET", "/api/v1/whoami", h->oper, NULL, NULL, &r), 200);
	resp_free(&r);
}

/* Reads a whole small file into buf; returns its length or -1. */
static long slurp(const char *path, char *buf, size_t n)
{
	FILE *f = fopen(path, "r");
	size_t k;

	if (f == NULL)
		return -1;
	k = fread(buf, 1, n - 1, f);
	buf[k] = '\0';
	fclose(f);
	return (long)k;
}

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static void bootstrap_creates_admin_files(void **state)
{
	char dir[] = "/tmp/clover-boot-XXXXXX", data[PATH_MAX], db[PATH_MAX + 16];
	char pw_path[PATH_MAX + 32], tok_path[PATH_MAX + 32], pw[128], tok[128], tok2[160];
	struct store_options so = {0};
	struct store_user *users = NULL;
	struct auth_identity who;
	struct store *s;
	struct error_info e;
	struct stat st;
	size_t n = 0;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(db, sizeof(db), "%s/clover.db", dir);
	snprintf(data, sizeof(data), "%s/data", dir); /* created by the bootstrap */
	so.path = db;
	assert_int_equal(store_open(&so, &s, &e), 0);

	assert_int_equal(auth_bootstrap(s, data, &e), 0);
	snprintf(pw_path, sizeof(pw_path), "%s/admin.password", data);
	snprintf(tok_path, sizeof(tok_path), "%s/admin.token", data);
	assert_int_equal(stat(pw_path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(stat(tok_path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(stat(data, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);

	assert_true(slurp(pw_path, pw, sizeof(pw)) > 8);
	assert_true(slurp(tok_path, tok, sizeof(tok)) == AUTH_TOKEN_LEN + 1);
	assert_int_equal(tok[AUTH_TOKEN_LEN], '\n');
	tok[AUTH_TOKEN_LEN] = '\0';
	pw[strcspn(pw, "\n")] = '\0';
	assert_true(strlen(pw) >= 16);

	/* The token authenticates as admin; the password is the admin's. */
	snprintf(tok2, sizeof(tok2), "Bearer %s", tok);
	assert_int_equal(auth_authenticate(s, tok2, time_wall_ms(), &who, &e), 0);
	assert_string_equal(who.user, "admin");
	assert_int_equal(who.role, STORE_ROLE_ADMIN);
	assert_int_equal(store_user_list(s, &users, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(users[0].name, "admin");
	assert_true(auth_password_verify(users[0].pwhash, pw));
	store_user_clear(&users[0]);
	free(users);

	/* No temporary files are left behind. */
	{
		DIR *d = opendir(data);
		struct dirent *de;
		int files = 0;

		assert_non_null(d);
		while ((de = readdir(d)) != NULL)
			files += de->d_name[0] != '.' || strncmp(de->d_name, ".admin", 6) == 0;
		closedir(d);
		assert_int_equal(files, 2);
	}

	/* And the token works over HTTP. */
	{
		struct api_options ao = {.listen = "127.0.0.1:0", .store = s, .threads = 1};
		struct harness hh;
		struct resp r;

		memset(&hh, 0, sizeof(hh));
		assert_int_equal(api_start(&ao, &hh.api, &e), 0);
		snprintf(hh.base, sizeof(hh.base), "http://127.0.0.1:%d", api_port(hh.api));
		assert_int_equal(req(&hh, "GET", "/api/v1/whoami", tok, NULL, NULL, &r), 200);
		assert_string_equal(str(r.json, "user"), "admin");
		assert_string_equal(str(r.json, "role"), "admin");
		resp_free(&r);
		api_stop(hh.api);
	}

	/* Second start: users exist, nothing changes. */
	assert_int_equal(auth_bootstrap(s, data, &e), 0);
	assert_true(slurp(tok_path, tok2, sizeof(tok2)) > 0);
	tok2[AUTH_TOKEN_LEN] = '\0';
	assert_string_equal(tok, tok2);

	/* The token file is gone but users exist: still nothing (documented). */
	assert_int_equal(unlink(tok_path), 0);
	assert_int_equal(auth_bootstrap(s, data, &e), 0);
	assert_int_not_equal(stat(tok_path, &st), 0);

	store_close(s);
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void bootstrap_leaves_a_store_with_users_alone(void **state)
{
	struct harness *h = *state;
	char data[PATH_MAX + 16], tok_path[PATH_MAX + 32];
	struct error_info e;
	struct stat st;

	snprintf(data, sizeof(data), "%s/data", h->dir);
	assert_int_equal(auth_bootstrap(h->store, data, &e), 0);
	snprintf(tok_path, sizeof(tok_path), "%s/admin.token", data);
	assert_int_not_equal(stat(tok_path, &st), 0);
}

int main(void)
{
	const struct CMUnitTest unit[] = {
	    cmocka_unit_test(passwords_hash_with_argon2id),
	    cmocka_unit_test(tokens_have_one_exact_shape),
	    cmocka_unit_test(bootstrap_creates_admin_files),
	};
	const struct CMUnitTest http[] = {
	    cmocka_unit_test(whoami_names_user_and_role),
	    cmocka_unit_test(admin_manages_users),
	    cmocka_unit_test(tokens_create_list_revoke),
	    cmocka_unit_test(bootstrap_leaves_a_store_with_users_alone),
	};
	int rc;

	log_set_level(LOG_LVL_WARN);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = cmocka_run_group_tests_name("auth", unit, NULL, NULL);
	rc |= cmocka_run_group_tests_name("auth-http", http, harness_setup, harness_teardown);
	curl_global_cleanup();
	return rc;
}
