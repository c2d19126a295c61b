/* SPDX-License-Identifier: MIT */
/*
 * /api/v1/contacts: the people and systems alerts go to (docs/alerts.md).
 * A contact has a name, an e-mail address, a webhook URL (at least one of
 * the two) and an on-call flag: on-call contacts receive every alert, the
 * others only the alerts of the jobs whose spec names them in `contacts`.
 *
 * Everyone may read contacts (viewer); creating, changing and deleting them
 * needs the operator role, like jobs, since a contact decides where alerts
 * (which carry job names and error messages) are sent. Every change is
 * recorded as an event (source "api"). Viewers see webhook URLs cut to
 * "scheme://host[:port]/...": the path of a chat webhook is its secret.
 *
 * A job names its contacts in its spec; the daemon resolves the names when it
 * raises an alert, so a contact deleted or renamed simply stops receiving
 * that job's alerts. A job naming a contact that does not exist is accepted,
 * with a warning event (api_job_contacts_check), so jobs and contacts can be
 * applied in any order.
 */
#include "api/internal.h"
#include "base/log.h"
#include "core/job.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEARCH_MAX  128
#define EMAIL_MAX   254  /* RFC 5321's path limit, as the notifier */
#define WEBHOOK_MAX 2048 /* bytes of a webhook URL */

/*
 * Writes `url` cut to "scheme://host[:port]/..." (no user, path or query:
 * chat webhooks carry their secret there), as the notifier's reports do.
 */
static void redact_url(const char *url, char *out, size_t n)
{
	const char *host = strstr(url, "://"), *end, *at;

	if (host == NULL) {
		snprintf(out, n, "...");
		return;
	}
	host += 3;
	end = host + strcspn(host, "/?#");
	for (at = host; at < end; at++) {
		if (*at == '@')
			host = at + 1;
	}
	snprintf(out, n, "%.*s%.*s/...", (int)(strstr(url, "://") + 3 - url), url,
	         (int)(end - host), host);
}

json_t *api_contact_json(const struct store_contact *c, bool full)
{
	char red[WEBHOOK_MAX + 8];

	if (c->webhook && !full)
		redact_url(c->webhook, red, sizeof(red));
	return json_pack("{s:o, s:o, s:o, s:b, s:o}", "name", api_str_json(c->name), "email",
	                 api_str_json(c->email), "webhook",
	                 api_str_json(c->webhook && !full ? red : c->webhook), "oncall", c->oncall,
	                 "created_at", api_time_json(c->created_at));
}

/* True for characters allowed in the local part of a plain address. */
static bool local_char(unsigned char ch)
{
	if (ch <= ' ' || ch >= 0x7f)
		return false;
	return strchr("()<>[]:;@\\,\"", ch) == NULL;
}

bool api_email_valid(const char *s, const char **why)
{
	const char *at = strchr(s, '@');
	size_t n = strlen(s);

	if (n > EMAIL_MAX) {
		*why = "is longer than 254 bytes";
		return false;
	}
	if (at == NULL || at == s || strchr(at + 1, '@') != NULL || at[1] == '\0') {
		*why = "must be a plain address such as ops@example.com";
		return false;
	}
	for (const char *p = s; p < at; p++) {
		if (!local_char((unsigned char)*p)) {
			*why = "must be plain ASCII local@domain with no spaces, quotes or "
			       "display name";
			return false;
		}
	}
	if (at[1] == '.' || s[n - 1] == '.' || strstr(at, "..") != NULL) {
		*why = "has an invalid domain";
		return false;
	}
	for (const char *p = at + 1; *p; p++) {
		char ch = *p;

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '.' || ch == '-')) {
			*why = "has an invalid domain (letters, digits, '.' and '-' only)";
			return false;
		}
	}
	return true;
}

bool api_webhook_valid(const char *s, const char **why)
{
	const char *host;

	if (strlen(s) > WEBHOOK_MAX) {
		*why = "is longer than 2048 bytes";
		return false;
	}
	if (strncmp(s, "http://", 7) == 0)
		host = s + 7;
	else if (strncmp(s, "https://", 8) == 0)
		host = s + 8;
	else {
		*why = "must be an http:// or https:// URL";
		return false;
	}
	if (*host == '\0' || *host == '/' || *host == ':' || *host == '?' || *host == '#') {
		*why = "has no host";
		return false;
	}
	for (const char *p = s; *p; p++) {
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f) {
			*why = "must not contain spaces, control or non-ASCII characters";
			return false;
		}
	}
	return true;
}

/*
 * Reads the body into *c (strings borrowed from `doc`). `path_name` is the
 * name from the path (PUT) or NULL (POST: the body must name it). Replies 422
 * naming the field and returns false on a bad body.
 */
static bool body_contact(json_t *doc, const char *path_name, struct api_resp *rs,
                         struct store_contact *c)
{
	const char *key, *why;
	json_t *v;

	json_object_foreach(doc, key, v) {
		if (strcmp(key, "name") != 0 && strcmp(key, "email") != 0 &&
		    strcmp(key, "webhook") != 0 && strcmp(key, "oncall") != 0 &&
		    strcmp(key, "created_at") != 0) {
			api_reply_error(rs, 422, "invalid", key,
			                "unknown field '%s' (a contact has name, email, webhook, "
			                "oncall)",
			                key);
			return false;
		}
	}
	v = json_object_get(doc, "name");
	if (v && !json_is_string(v)) {
		api_reply_error(rs, 422, "invalid", "name", "name must be a string");
		return false;
	}
	c->name = (char *)(v ? json_string_value(v) : path_name);
	if (c->name == NULL) {
		api_reply_error(rs, 422, "invalid", "name", "name is required");
		return false;
	}
	if (!job_name_valid(c->name)) {
		api_reply_error(rs, 422, "invalid", "name",
		                "name must be 1 to 128 letters, digits, '.', '_' or '-'");
		return false;
	}
	if (path_name && strcmp(c->name, path_name) != 0) {
		api_reply_error(rs, 422, "invalid", "name",
		                "name '%s' differs from the name in the path '%s' (contacts cannot "
		                "be renamed)",
		                c->name, path_name);
		return false;
	}
	v = json_object_get(doc, "email");
	if (v && !json_is_null(v) && !json_is_string(v)) {
		api_reply_error(rs, 422, "invalid", "email", "email must be a string or null");
		return false;
	}
	c->email = v && json_is_string(v) && json_string_length(v) ? (char *)json_string_value(v)
	                                                            : NULL;
	if (c->email && !api_email_valid(c->email, &why)) {
		api_reply_error(rs, 422, "invalid", "email", "email %s", why);
		return false;
	}
	v = json_object_get(doc, "webhook");
	if (v && !json_is_null(v) && !json_is_string(v)) {
		api_reply_error(rs, 422, "invalid", "webhook", "webhook must be a string or null");
		return false;
	}
	c->webhook = v && json_is_string(v) && json_string_length(v)
	                 ? (char *)json_string_value(v)
	                 : NULL;
	if (c->webhook && !api_webhook_valid(c->webhook, &why)) {
		api_reply_error(rs, 422, "invalid", "webhook", "webhook %s", why);
		return false;
	}
	if (c->email == NULL && c->webhook == NULL) {
		api_reply_error(rs, 422, "invalid", "email",
		                "a contact needs an email address, a webhook URL or both");
		return false;
	}
	v = json_object_get(doc, "oncall");
	if (v && !json_is_boolean(v)) {
		api_reply_error(rs, 422, "invalid", "oncall", "oncall must be true or false");
		return false;
	}
	c->oncall = v ? json_is_true(v) : false;
	return true;
}

/* Replies `status` with the stored contact `name`. */
static void reply_contact(struct api_req *rq, struct api_resp *rs, int status, const char *name)
{
	struct store_contact c = {0};
	int rc;

	rc = store_contact_get(rq->api->store, name, &c);
	if (rc == CLOVER_ENOENT) {
		api_reply_error(rs, 404, "not_found", NULL, "no contact named '%s'", name);
		return;
	}
	if (rc) {
		api_reply_rc(rs, rc, NULL);
		return;
	}
	if (status == 201)
		api_header_add(rs, "Location", API_PREFIX "/contacts/%s", name);
	api_reply_json(rs, status, api_contact_json(&c, rq->who.role >= STORE_ROLE_OPERATOR));
	store_contact_clear(&c);
}

static json_t *contact_item(const struct api_req *rq, const void *rec)
{
	return api_contact_json(rec, rq->who.role >= STORE_ROLE_OPERATOR);
}

/* GET /contacts?search=&oncall=&after=&limit=: one page in name order, with
 * "next" set to the last name when the page is full. */
void api_contacts_list(struct api_req *rq, struct api_resp *rs)
{
	struct store_contact_filter f = {.oncall = -1};
	struct store_contact *cs = NULL;
	const char *v;
	int64_t limit;
	size_t n = 0;
	int rc;

	v = api_query(rq, "search");
	if (v && strlen(v) > SEARCH_MAX) {
		api_reply_error(rs, 400, "bad_request", "search", "search is at most %d bytes",
		                SEARCH_MAX);
		return;
	}
	f.search = v && *v ? v : NULL;
	if (!api_query_bool(rq, rs, "oncall", &f.oncall) ||
	    !api_query_name(rq, rs, "after", "a contact name", &f.after))
		return;
	if (!api_query_int(rq, rs, "limit", 1, 1000, 100, &limit))
		return;
	f.limit = (int)limit;

	rc = store_contact_list(rq->api->store, &f, &cs, &n);
	if (rc) {
		api_reply_rc(rs, rc, NULL);
		return;
	}
	api_reply_page(rq, rs, "contacts", cs, n, sizeof(*cs), contact_item,
	               n > 0 && n == (size_t)limit ? json_string(cs[n - 1].name) : NULL);
	for (size_t i = 0; i < n; i++)
		store_contact_clear(&cs[i]);
	free(cs);
}

/* POST /contacts: creates a contact; 201, 409 when the name is taken, 422. */
void api_contacts_create(struct api_req *rq, struct api_resp *rs)
{
	struct store_contact c = {0};
	json_t *doc = api_body_object(rq, rs, NULL);
	int rc;

	if (doc == NULL)
		return;
	if (!body_contact(doc, NULL, rs, &c)) {
		json_decref(doc);
		return;
	}
	c.created_at = rq->now;
	rc = store_contact_put(rq->api->store, &c, true, NULL);
	if (rc == CLOVER_EEXIST) {
		api_reply_error(rs, 409, "conflict", "name",
		                "contact '%s' already exists; use PUT /api/v1/contacts/%s to change it",
		                c.name, c.name);
	} else if (rc) {
		api_reply_rc(rs, rc, NULL);
	} else {
		log_at(LOG_INFO, "api", "contact=%s created by %s", c.name, rq->who.user);
		api_event(rq, STORE_LEVEL_INFO, "api", NULL, "contact %s created by %s%s", c.name,
		          rq->who.user, c.oncall ? " (on call)" : "");
		reply_contact(rq, rs, 201, c.name);
	}
	json_decref(doc);
}

/* GET /contacts/{name}. */
void api_contact_get(struct api_req *rq, struct api_resp *rs)
{
	reply_contact(rq, rs, 200, rq->seg[1]);
}

/* PUT /contacts/{name}: creates (201) or replaces (200) the whole contact:
 * an address left out of the body is removed. */
void api_contact_put(struct api_req *rq, struct api_resp *rs)
{
	struct store_contact c = {0};
	json_t *doc;
	bool created = false;
	int rc;

	if (!job_name_valid(rq->seg[1])) {
		api_reply_error(rs, 422, "invalid", "name",
		                "name must be 1 to 128 letters, digits, '.', '_' or '-'");
		return;
	}
	doc = api_body_object(rq, rs, NULL);
	if (doc == NULL)
		return;
	if (!body_contact(doc, rq->seg[1], rs, &c)) {
		json_decref(doc);
		return;
	}
	c.created_at = rq->now;
	rc = store_contact_put(rq->api->store, &c, false, &created);
	if (rc) {
		api_reply_rc(rs, rc, NULL);
	} else {
		log_at(LOG_INFO, "api", "contact=%s %s by %s", c.name,
		       created ? "created" : "changed", rq->who.user);
		api_event(rq, STORE_LEVEL_INFO, "api", NULL, "contact %s %s by %s%s", c.name,
		          created ? "created" : "changed", rq->who.user,
		          c.oncall ? " (on call)" : "");
		reply_contact(rq, rs, created ? 201 : 200, c.name);
	}
	json_decref(doc);
}

/* DELETE /contacts/{name}: 204, 404. Jobs naming it keep the name. */
void api_contact_delete(struct api_req *rq, struct api_resp *rs)
{
	int rc = store_contact_delete(rq->api->store, rq->seg[1]);

	if (rc == CLOVER_ENOENT) {
		api_reply_error(rs, 404, "not_found", NULL, "no contact named '%s'", rq->seg[1]);
		return;
	}
	if (rc) {
		api_reply_rc(rs, rc, NULL);
		return;
	}
	log_at(LOG_INFO, "api", "contact=%s deleted by %s", rq->seg[1], rq->who.user);
	api_event(rq, STORE_LEVEL_INFO, "api", NULL, "contact %s deleted by %s", rq->seg[1],
	          rq->who.user);
	api_reply_empty(rs, 204);
}

void api_job_contacts_check(struct api_req *rq, const struct job_spec *spec)
{
	for (size_t i = 0; i < spec->ncontacts; i++) {
		struct store_contact c = {0};
		int rc = store_contact_get(rq->api->store, spec->contacts[i], &c);

		store_contact_clear(&c);
		if (rc == CLOVER_ENOENT) {
			log_at(LOG_WARN, "api", "job=%s names contact=%s, which does not exist",
			       spec->name, spec->contacts[i]);
			api_event(rq, STORE_LEVEL_WARN, "api", spec->name,
			          "job %s names contact '%s', which does not exist: its alerts will not "
			          "reach it until it is created",
			          spec->name, spec->contacts[i]);
		}
	}
}
