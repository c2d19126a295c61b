/* SPDX-License-Identifier: MIT */
/*
 * /api/v1/users (admin only), /api/v1/tokens (everyone for their own tokens,
 * admins for all) and /api/v1/whoami.
 *
 * A token's secret appears exactly once, in the answer to its creation; the
 * store keeps only its SHA-256. Passwords are hashed with Argon2id at the cost
 * given in api_options. Neither is ever logged.
 */
#include "api/internal.h"
#include "base/log.h"
#include "core/job.h"
#include "store/store.h"

#include <sodium.h>

#include <stdlib.h>
#include <string.h>

static json_t *user_json(const struct store_user *u)
{
	return json_pack("{s:o, s:s, s:o}", "name", api_str_json(u->name), "role",
	                 auth_role_name(u->role), "created_at", api_time_json(u->created_at));
}

static json_t *token_json(const struct store_token *t)
{
	return json_pack("{s:s, s:o, s:o, s:o, s:o}", "id", t->id, "user", api_str_json(t->user),
	                 "name", api_str_json(t->name ? t->name : ""), "created_at",
	                 api_time_json(t->created_at), "last_used_at",
	                 api_time_json(t->last_used_at));
}

/* GET /whoami: the caller's user name and role. */
void api_whoami(struct api_req *rq, struct api_resp *rs)
{
	json_t *doc =
	    json_pack("{s:s, s:s}", "user", rq->who.user, "role", auth_role_name(rq->who.role));

	if (doc && rq->who.session)
		json_object_set_new(doc, "csrf", json_string(rq->who.csrf));
	api_reply_json(rs, 200, doc);
}

/* GET /users (admin): every user with role and creation time, never a hash. */
void api_users_list(struct api_req *rq, struct api_resp *rs)
{
	struct store_user *users = NULL;
	json_t *arr;
	size_t n = 0;
	bool ok;
	int rc;

	rc = store_user_list(rq->api->store, &users, &n);
	if (rc) {
		api_reply_rc(rs, rc, NULL);
		return;
	}
	arr = json_array();
	ok = arr != NULL;
	for (size_t i = 0; i < n; i++) {
		json_t *u = ok ? user_json(&users[i]) : NULL;

		if (u == NULL || json_array_append_new(arr, u) != 0)
			ok = false;
		store_user_clear(&users[i]);
	}
	free(users);
	if (!ok) {
		json_decref(arr);
		api_reply_error(rs, 500, "internal", NULL, "cannot list users");
		return;
	}
	api_reply_json(rs, 200, json_pack("{s:o}", "users", arr));
}

/*
 * Reads string member `key` of `doc` into *out (NULL when absent and not
 * `required`). Replies 422 and returns false when it has another type or is
 * missing though required.
 */
static bool member_string(json_t *doc, const char *key, bool required, const char **out,
                          struct api_resp *rs)
{
	json_t *v = json_object_get(doc, key);

	*out = NULL;
	if (v == NULL || json_is_null(v)) {
		if (required) {
			api_reply_error(rs, 422, "invalid", key, "%s is required", key);
			return false;
		}
		return true;
	}
	if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v)) {
		api_reply_error(rs, 422, "invalid", key, "%s must be a string", key);
		return false;
	}
	*out = json_string_value(v);
	return true;
}

/* Replies 422 and returns false when `doc` has a member not in the NULL-terminated `keys`. */
static bool only_members(json_t *doc, const char *const *keys, struct api_resp *rs)
{
	const char *key;
	json_t *v;

	json_object_foreach(doc, key, v)
	{
		bool known = false;

		for (size_t i = 0; keys[i] && !known; i++)
			known = strcmp(keys[i], key) == 0;
		if (!known) {
			api_reply_error(rs, 422, "invalid", key, "unknown member '%s'", key);
			return false;
		}
	}
	return true;
}

/* POST /users {"name","role","password"} (admin): 201 user, 409 when the name
 * is taken, 422 for a bad name, role or password (8-1024 bytes). */
void api_users_create(struct api_req *rq, struct api_resp *rs)
{
	static const char *const keys[] = {"name", "role", "password", NULL};
	const char *name, *role, *password;
	struct store_user u = {0}, cur = {0};
	enum store_role r;
	char *pwhash = NULL;
	json_t *doc;
	int rc;

	doc = api_body_object(rq, rs, NULL);
	if (doc == NULL)
		return;
	if (!only_members(doc, keys, rs) || !member_string(doc, "name", true, &name, rs) ||
	    !member_string(doc, "role", true, &role, rs) ||
	    !member_string(doc, "password", true, &password, rs))
		goto out;
	if (!job_name_valid(name)) {
		api_reply_error(rs, 422, "invalid", "name",
		                "a user name is 1-128 characters of A-Z a-z 0-9 . _ -");
		goto out;
	}
	if (auth_role_parse(role, &r) != 0) {
		api_reply_error(rs, 422, "invalid", "role",
		                "role must be viewer, operator or admin");
		goto out;
	}
	if (strlen(password) < AUTH_PASSWORD_MIN || strlen(password) > AUTH_PASSWORD_MAX) {
		api_reply_error(rs, 422, "invalid", "password", "a password has %d to %d bytes",
		                AUTH_PASSWORD_MIN, AUTH_PASSWORD_MAX);
		goto out;
	}
	rc = auth_password_hash(password, &rq->api->pwlimits, &pwhash);
	if (rc) {
		api_reply_rc(rs, rc, NULL);
		goto out;
	}
	u = (struct store_user){
	    .name = (char *)name,
	    .pwhash = pwhash,
	    .role = r,
	    .created_at = rq->now,
	};
	pthread_mutex_lock(&rq->api->create_lock);
	rc = store_user_get(rq->api->store, name, &cur);
	if (rc == 0)
		rc = CLOVER_EEXIST;
	else if (rc == CLOVER_ENOENT)
		rc = store_user_put(rq->api->store, &u);
	pthread_mutex_unlock(&rq->api->create_lock);
	store_user_clear(&cur);
	if (rc == CLOVER_EEXIST) {
		api_reply_error(rs, 409, "conflict", "name", "user '%s' already exists", name);
		goto out;
	}
	if (rc) {
		api_reply_rc(rs, rc, NULL);
		goto out;
	}
	log_at(LOG_INFO, "api", "user %s (%s) created by %s", name, role, rq->who.user);
	api_event(rq, STORE_LEVEL_INFO, "auth", NULL, "user %s (%s) created by %s", name, role,
	          rq->who.user);
	api_reply_json(rs, 201, user_json(&u));
out:
	free(pwhash);
	json_decref(doc); /* after user_json: name points into it */
}

/* DELETE /users/{name} (admin): 204 (the user's tokens go too), 404, or 409
 * when deleting yourself. */
void api_user_delete(struct api_req *rq, struct api_resp *rs)
{
	const char *name = rq->seg[1];
	int rc;

	if (strcmp(name, rq->who.user) == 0) {
		api_reply_error(rs, 409, "conflict", NULL, "you cannot delete yourself");
		return;
	}
	rc = store_user_delete(rq->api->store, name);
	if (rc == CLOVER_ENOENT) {
		api_reply_error(rs, 404, "not_found", NULL, "no user named '%s'", name);
		return;
	}
	if (rc) {
		api_reply_rc(rs, rc, NULL);
		return;
	}
	log_at(LOG_INFO, "api", "user %s deleted by %s", name, rq->who.user);
	api_event(rq, STORE_LEVEL_INFO, "auth", NULL, "user %s deleted by %s", name, rq->who.user);
	api_reply_empty(rs, 204);
}

/* The tokens the caller may see: all for an admin, else their own. */
static int visible_tokens(struct api_req *rq, struct store_token **out, size_t *n)
{
	return store_token_list(rq->api->store,
	                        rq->who.role == STORE_ROLE_ADMIN ? NULL : rq->who.user, out, n);
}

static void free_tokens(struct store_token *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		store_token_clear(&t[i]);
	free(t);
}

/* GET /tokens: the caller's tokens (an admin's: everyone's), without secrets. */
void api_tokens_list(struct api_req *rq, struct api_resp *rs)
{
	struct store_token *toks = NULL;
	json_t *arr;
	size_t n = 0;
	bool ok;
	int rc;

	rc = visible_tokens(rq, &toks, &n);
	if (rc) {
		api_reply_rc(rs, rc, NULL);
		return;
	}
	arr = json_array();
	ok = arr != NULL;
	for (size_t i = 0; ok && i < n; i++) {
		json_t *t = token_json(&toks[i]);

		if (t == NULL || json_array_append_new(arr, t) != 0)
			ok = false;
	}
	free_tokens(toks, n);
	if (!ok) {
		json_decref(arr);
		api_reply_error(rs, 500, "internal", NULL, "cannot list tokens");
		return;
	}
	api_reply_json(rs, 200, json_pack("{s:o}", "tokens", arr));
}

/* True when `s` has no control characters (a label shown in tables). */
static bool printable(const char *s)
{
	for (; *s; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	}
	return true;
}

/* POST /tokens {"name", "user"} (both optional; "user" other than yourself is
 * for admins only, else 403): 201 with the new token's secret, shown only here. */
void api_tokens_create(struct api_req *rq, struct api_resp *rs)
{
	static const char *const keys[] = {"name", "user", NULL};
	const char *name = NULL, *user = NULL;
	struct store_token rec = {0};
	struct store_user u = {0};
	char *token = NULL;
	json_t *doc, *out;
	bool absent;
	int rc;

	doc = api_body_object(rq, rs, &absent);
	if (doc == NULL && !absent)
		return;
	if (doc && (!only_members(doc, keys, rs) || !member_string(doc, "name", false, &name, rs) ||
	            !member_string(doc, "user", false, &user, rs)))
		goto out;
	if (name == NULL)
		name = "";
	if (strlen(name) > AUTH_TOKEN_NAME_MAX || !printable(name)) {
		api_reply_error(rs, 422, "invalid", "name",
		                "a token name is at most %d characters, without control characters",
		                AUTH_TOKEN_NAME_MAX);
		goto out;
	}
	if (user == NULL)
		user = rq->who.user;
	if (strcmp(user, rq->who.user) != 0) {
		if (rq->who.role != STORE_ROLE_ADMIN) {
			api_reply_error(rs, 403, "forbidden", "user",
			                "only an admin may create tokens for other users");
			goto out;
		}
		if (!job_name_valid(user)) {
			api_reply_error(rs, 422, "invalid", "user", "'%s' is not a user name",
			                user);
			goto out;
		}
		rc = store_user_get(rq->api->store, user, &u);
		store_user_clear(&u);
		if (rc == CLOVER_ENOENT) {
			api_reply_error(rs, 422, "invalid", "user", "no user named '%s'", user);
			goto out;
		}
		if (rc) {
			api_reply_rc(rs, rc, NULL);
			goto out;
		}
	}
	rc = auth_token_create(rq->api->store, user, name, rq->now, &token, &rec);
	if (rc) {
		api_reply_rc(rs, rc, NULL);
		goto out;
	}
	out = token_json(&rec);
	if (out && json_object_set_new(out, "token", json_string(token)) != 0) {
		json_decref(out);
		out = NULL;
	}
	log_at(LOG_INFO, "api", "token %s for %s created by %s", rec.id, user, rq->who.user);
	api_event(rq, STORE_LEVEL_INFO, "auth", NULL, "token %s for %s created by %s", rec.id, user,
	          rq->who.user);
	api_reply_json(rs, 201, out);
	sodium_memzero(token, strlen(token));
	free(token);
	store_token_clear(&rec);
out:
	json_decref(doc);
}

/* DELETE /tokens/{id}: revokes one of your tokens (an admin: anyone's); 204, or
 * 404 when there is no such token among those you may see. */
void api_token_delete(struct api_req *rq, struct api_resp *rs)
{
	const char *id = rq->seg[1];
	struct store_token *toks = NULL;
	size_t n = 0;
	bool found = false;
	int rc;

	rc = visible_tokens(rq, &toks, &n);
	if (rc) {
		api_reply_rc(rs, rc, NULL);
		return;
	}
	for (size_t i = 0; i < n && !found; i++)
		found = toks[i].id && strcmp(toks[i].id, id) == 0;
	free_tokens(toks, n);
	if (!found) { /* someone else's token looks just like a missing one */
		api_reply_error(rs, 404, "not_found", NULL, "no token %s", id);
		return;
	}
	rc = store_token_delete(rq->api->store, id);
	if (rc == CLOVER_ENOENT) {
		api_reply_error(rs, 404, "not_found", NULL, "no token %s", id);
		return;
	}
	if (rc) {
		api_reply_rc(rs, rc, NULL);
		return;
	}
	log_at(LOG_INFO, "api", "token %s revoked by %s", id, rq->who.user);
	api_event(rq, STORE_LEVEL_INFO, "auth", NULL, "token %s revoked by %s", id, rq->who.user);
	api_reply_empty(rs, 204);
}
