/* SPDX-License-Identifier: MIT */
/*
 * /api/v1/jobs: list, create (POST), apply (PUT, create or update, optionally
 * guarded by If-Match: <revision>), read, delete, pause, resume and manual
 * trigger. Every write goes to the store first and is then announced to the
 * daemon through hooks.job_changed with the new spec (NULL on deletion).
 *
 * Bodies are checked in two steps so clients get the right status: the JSON
 * syntax first (malformed: 400 bad_request), then the spec's meaning with
 * job_spec_parse (invalid: 422 invalid, with the field path).
 *
 * "paused" in a body: given, it sets the state; left out, the job keeps the
 * state it has (so re-applying a file does not resume a job paused for
 * maintenance).
 */
#include "api/internal.h"
#include "base/log.h"
#include "core/job.h"
#include "store/store.h"

#include <stdlib.h>
#include <string.h>

#define SEARCH_MAX         128
#define TRIGGER_PARAMS_MAX (64 * 1024)
#define PAUSE_RETRIES      5

/* Replies `status` with the stored job `name` as a JOB object. */
static void reply_job(struct api_req *rq, struct api_resp *rs, int status, const char *name,
                      const struct job_spec *spec)
{
	struct store_job j = {0};
	json_t *doc;
	int rc;

	rc = store_job_get(rq->api->store, name, &j);
	if (rc == CLOVER_ENOENT) {
		api_reply_error(rs, 404, "not_found", NULL, "no job named '%s'", name);
		return;
	}
	if (rc) {
		api_reply_rc(rs, rc, NULL);
		return;
	}
	doc = api_job_json(&j, spec, rq->now);
	if (doc == NULL) {
		store_job_clear(&j);
		api_reply_error(rs, 500, "internal", NULL, "cannot show job '%s'", name);
		return;
	}
	api_header_add(rs, "ETag", "\"%lld\"", (long long)j.revision);
	if (status == 201)
		api_header_add(rs, "Location", API_PREFIX "/jobs/%s", name);
	store_job_clear(&j);
	api_reply_json(rs, status, doc);
}

static void announce(struct api_req *rq, const char *name, struct job_spec *spec)
{
	if (rq->api->hooks.job_changed)
		rq->api->hooks.job_changed(rq->api->hooks.ctx, name, spec);
}

/*
 * Parses and validates the body as a job spec. Returns it (one reference), or
 * NULL after replying 400 (bad JSON), 413 (too big) or 422 (invalid, with the
 * field). *has_paused tells whether the body sets "paused".
 */
static struct job_spec *body_spec(struct api_req *rq, struct api_resp *rs, bool *has_paused)
{
	struct job_spec *spec = NULL;
	struct error_info e;
	json_t *doc;
	int rc;

	doc = api_body_object(rq, rs, NULL);
	if (doc == NULL)
		return NULL;
	*has_paused = json_object_get(doc, "paused") != NULL;
	json_decref(doc);
	error_clear(&e);
	rc = job_spec_parse(rq->body, rq->body_len, &spec, &e);
	if (rc == 0)
		return spec;
	if (rc == CLOVER_ETOOBIG)
		api_reply_error(rs, 413, "too_large", e.field, "%s",
		                e.message[0] ? e.message : "the job spec is too large");
	else if (rc == CLOVER_ENOMEM)
		api_reply_rc(rs, rc, &e);
	else
		api_reply_error(rs, 422, "invalid", e.field, "%s",
		                e.message[0] ? e.message : "invalid job spec");
	return NULL;
}

static json_t *job_item(const struct api_req *rq, const void *rec)
{
	return api_job_json(rec, NULL, rq->now);
}

/* GET /jobs?search=&paused=&label=k=v&contact=&last=&after=&limit=: one page of JOB
 * objects in name order, with "next" set to the last name when the page is full. 400 on
 * a bad parameter. `contact` keeps the jobs whose spec names that contact; `last` those
 * whose last outcome is that final state ("never": none). */
void api_jobs_list(struct api_req *rq, struct api_resp *rs)
{
	struct store_job_filter f = {.paused = -1};
	struct store_job *jobs = NULL;
	char label[512];
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
	if (!api_query_bool(rq, rs, "paused", &f.paused))
		return;
	v = api_query(rq, "label");
	if (v && *v) {
		const char *eq = strchr(v, '=');

		if (eq == NULL || eq == v || strlen(v) > sizeof(label) - 1) {
			api_reply_error(rs, 400, "bad_request", "label",
			                "label must be key=value (at most %zu bytes)",
			                sizeof(label) - 1);
			return;
		}
		snprintf(label, sizeof(label), "%s", v);
		label[eq - v] = '\0';
		f.label_key = label;
		f.label_value = label + (eq - v) + 1;
	}
	if (!api_query_name(rq, rs, "contact", "a contact name", &f.contact))
		return;
	v = api_query(rq, "last");
	if (v && *v) {
		enum run_state st;

		if (strcmp(v, "never") == 0) {
			f.last_state = STORE_LAST_NEVER;
		} else if (run_state_parse(v, &st) == 0 && run_state_final(st)) {
			f.last_state = (int)st;
		} else {
			api_reply_error(rs, 400, "bad_request", "last",
			                "last must be one of succeeded, failed, timed_out, "
			                "cancelled, skipped, lost, never");
			return;
		}
	}
	if (!api_query_name(rq, rs, "after", "a job name", &f.after))
		return;
	if (!api_query_int(rq, rs, "limit", 1, 1000, 100, &limit))
		return;
	f.limit = (int)limit;

	rc = store_job_list(rq->api->store, &f, &jobs, &n);
	if (rc) {
		api_reply_rc(rs, rc, NULL);
		return;
	}
	api_reply_page(rq, rs, "jobs", jobs, n, sizeof(*jobs), job_item,
	               n > 0 && n == (size_t)limit ? json_string(jobs[n - 1].name) : NULL);
	for (size_t i = 0; i < n; i++)
		store_job_clear(&jobs[i]);
	free(jobs);
}

/* POST /jobs: creates the job in the body; 201 JOB, 409 when the name is taken,
 * 400/413/422 for a bad body. Announces the new spec through hooks.job_changed. */
void api_jobs_create(struct api_req *rq, struct api_resp *rs)
{
	struct store_job cur = {0};
	struct job_spec *spec;
	int64_t rev = 0;
	bool has_paused;
	int rc;

	spec = body_spec(rq, rs, &has_paused);
	if (spec == NULL)
		return;
	/* The store has no create-only write: check and write under one lock. */
	pthread_mutex_lock(&rq->api->create_lock);
	rc = store_job_get(rq->api->store, spec->name, &cur);
	if (rc == 0)
		rc = CLOVER_EEXIST;
	else if (rc == CLOVER_ENOENT)
		rc = store_job_put(rq->api->store, spec->name, spec->json, spec->paused, rq->now, 0,
		                   &rev, NULL);
	pthread_mutex_unlock(&rq->api->create_lock);
	store_job_clear(&cur);
	if (rc == CLOVER_EEXIST) {
		api_reply_error(rs, 409, "conflict", "name",
		                "job '%s' already exists; use PUT /api/v1/jobs/%s to change it",
		                spec->name, spec->name);
	} else if (rc) {
		api_reply_rc(rs, rc, NULL);
	} else {
		log_at(LOG_INFO, "api", "job=%s created by %s (revision %lld)", spec->name,
		       rq->who.user, (long long)rev);
		api_event(rq, STORE_LEVEL_INFO, "api", spec->name, "job created by %s",
		          rq->who.user);
		api_job_contacts_check(rq, spec);
		announce(rq, spec->name, spec);
		reply_job(rq, rs, 201, spec->name, spec);
	}
	job_spec_unref(spec);
}

/* Parses If-Match: "3", "\"3\"" or W/"3". 0 when absent; -1 when malformed. */
static int64_t parse_if_match(const char *v)
{
	char tmp[32];
	size_t n;
	int64_t rev;

	if (v == NULL)
		return 0;
	if (strncmp(v, "W/", 2) == 0)
		v += 2;
	n = strlen(v);
	if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
		v++;
		n -= 2;
	}
	if (n == 0 || n >= sizeof(tmp))
		return -1;
	memcpy(tmp, v, n);
	tmp[n] = '\0';
	if (api_parse_int64(tmp, 1, INT64_MAX, &rev) != 0)
		return -1;
	return rev;
}

/* PUT /jobs/{name}: creates (201) or replaces (200) the job; If-Match: <revision>
 * makes the write conditional (409 on mismatch). Re-applying an identical spec
 * writes nothing and announces nothing. */
void api_job_put(struct api_req *rq, struct api_resp *rs)
{
	const char *name = rq->seg[1];
	struct store_job cur = {0};
	struct job_spec *spec, *kept;
	int64_t expect, rev = 0;
	bool has_paused, created = false, exists;
	int rc;

	expect = parse_if_match(rq->if_match);
	if (expect < 0) {
		api_reply_error(rs, 400, "bad_request", "If-Match",
		                "If-Match must be a job revision (a positive integer)");
		return;
	}
	spec = body_spec(rq, rs, &has_paused);
	if (spec == NULL)
		return;
	if (strcmp(spec->name, name) != 0) {
		api_reply_error(rs, 422, "invalid", "name",
		                "the spec's name '%s' differs from the name in the path '%s'",
		                spec->name, name);
		goto out;
	}
	pthread_mutex_lock(&rq->api->create_lock);
	rc = store_job_get(rq->api->store, name, &cur);
	exists = rc == 0;
	if (rc == CLOVER_ENOENT)
		rc = 0;
	if (rc == 0 && expect > 0 && (!exists || cur.revision != expect)) {
		pthread_mutex_unlock(&rq->api->create_lock);
		if (exists)
			api_reply_error(rs, 409, "conflict", NULL,
			                "job '%s' is at revision %lld, not %lld (If-Match)", name,
			                (long long)cur.revision, (long long)expect);
		else
			api_reply_error(rs, 409, "conflict", NULL,
			                "job '%s' does not exist, so revision %lld cannot match",
			                name, (long long)expect);
		goto out;
	}
	if (rc == 0 && exists && !has_paused && cur.paused && !spec->paused) {
		kept = job_spec_with_paused(spec, true);
		if (kept == NULL)
			rc = CLOVER_ENOMEM;
		job_spec_unref(spec);
		spec = kept;
	}
	if (rc == 0 && exists && strcmp(cur.spec, spec->json) == 0 && cur.paused == spec->paused) {
		/* Nothing changes: no new revision, nothing to announce. */
		pthread_mutex_unlock(&rq->api->create_lock);
		reply_job(rq, rs, 200, name, spec);
		goto out;
	}
	if (rc == 0)
		rc = store_job_put(rq->api->store, name, spec->json, spec->paused, rq->now, expect,
		                   &rev, &created);
	pthread_mutex_unlock(&rq->api->create_lock);
	if (rc == CLOVER_ECONFLICT) {
		api_reply_error(rs, 409, "conflict", NULL,
		                "job '%s' changed meanwhile: its revision is not %lld (If-Match)",
		                name, (long long)expect);
		goto out;
	}
	if (rc) {
		api_reply_rc(rs, rc, NULL);
		goto out;
	}
	log_at(LOG_INFO, "api", "job=%s %s by %s (revision %lld)", name,
	       created ? "created" : "updated", rq->who.user, (long long)rev);
	api_event(rq, STORE_LEVEL_INFO, "api", name, "job %s by %s",
	          created ? "created" : "updated", rq->who.user);
	api_job_contacts_check(rq, spec);
	announce(rq, name, spec);
	reply_job(rq, rs, created ? 201 : 200, name, spec);
out:
	store_job_clear(&cur);
	job_spec_unref(spec);
}

/* GET /jobs/{name}: 200 JOB, or 404. */
void api_job_get(struct api_req *rq, struct api_resp *rs)
{
	reply_job(rq, rs, 200, rq->seg[1], NULL);
}

/* DELETE /jobs/{name}: 204, or 404; announces the deletion (spec NULL). */
void api_job_delete(struct api_req *rq, struct api_resp *rs)
{
	const char *name = rq->seg[1];
	int rc = store_job_delete(rq->api->store, name);

	if (rc == CLOVER_ENOENT) {
		api_reply_error(rs, 404, "not_found", NULL, "no job named '%s'", name);
		return;
	}
	if (rc) {
		api_reply_rc(rs, rc, NULL);
		return;
	}
	log_at(LOG_INFO, "api", "job=%s deleted by %s", name, rq->who.user);
	api_event(rq, STORE_LEVEL_INFO, "api", name, "job deleted by %s", rq->who.user);
	announce(rq, name, NULL);
	api_reply_empty(rs, 204);
}

/* Pause (want = true) or resume; idempotent. */
static void set_paused(struct api_req *rq, struct api_resp *rs, bool want)
{
	const char *name = rq->seg[1];
	struct job_spec *spec = NULL, *ns = NULL;
	struct store_job j = {0};
	struct error_info e;
	int rc = CLOVER_ECONFLICT;

	for (int i = 0; i < PAUSE_RETRIES && rc == CLOVER_ECONFLICT; i++) {
		store_job_clear(&j);
		job_spec_unref(spec);
		job_spec_unref(ns);
		spec = ns = NULL;
		rc = store_job_get(rq->api->store, name, &j);
		if (rc == CLOVER_ENOENT) {
			api_reply_error(rs, 404, "not_found", NULL, "no job named '%s'", name);
			goto out;
		}
		if (rc)
			break;
		if (j.paused == want) {
			reply_job(rq, rs, 200, name, NULL);
			goto out;
		}
		error_clear(&e);
		rc = job_spec_parse(j.spec, strlen(j.spec), &spec, &e);
		if (rc) {
			log_at(LOG_ERROR, "api", "job=%s: stored spec does not parse: %s", name,
			       e.message);
			rc = CLOVER_ESTORE;
			break;
		}
		ns = job_spec_with_paused(spec, want);
		if (ns == NULL) {
			rc = CLOVER_ENOMEM;
			break;
		}
		rc = store_job_put(rq->api->store, name, ns->json, want, rq->now, j.revision, NULL,
		                   NULL);
	}
	if (rc) {
		api_reply_rc(rs, rc, NULL);
		goto out;
	}
	log_at(LOG_INFO, "api", "job=%s %s by %s", name, want ? "paused" : "resumed", rq->who.user);
	api_event(rq, STORE_LEVEL_INFO, "api", name, "job %s by %s", want ? "paused" : "resumed",
	          rq->who.user);
	announce(rq, name, ns);
	reply_job(rq, rs, 200, name, ns);
out:
	store_job_clear(&j);
	job_spec_unref(spec);
	job_spec_unref(ns);
}

/* POST /jobs/{name}/pause: 200 JOB (paused); idempotent. */
void api_job_pause(struct api_req *rq, struct api_resp *rs)
{
	set_paused(rq, rs, true);
}

/* POST /jobs/{name}/resume: 200 JOB (active); idempotent. */
void api_job_resume(struct api_req *rq, struct api_resp *rs)
{
	set_paused(rq, rs, false);
}

/* POST /jobs/{name}/trigger with an optional body {"params": "..."}: asks the
 * daemon for a manual run; 202 {"run_id": N}, 404 when there is no such job. */
void api_job_trigger(struct api_req *rq, struct api_resp *rs)
{
	const char *name = rq->seg[1], *params = NULL, *key;
	struct error_info e;
	int64_t run_id = 0;
	json_t *doc, *val;
	bool absent;
	int rc;

	if (rq->api->hooks.trigger == NULL) {
		api_reply_error(rs, 501, "internal", NULL, "this server cannot trigger runs");
		return;
	}
	doc = api_body_object(rq, rs, &absent);
	if (doc == NULL && !absent)
		return;
	json_object_foreach(doc, key, val)
	{
		if (strcmp(key, "params") != 0) {
			api_reply_error(rs, 422, "invalid", key,
			                "unknown member '%s'; only \"params\"", key);
			goto out;
		}
		if (json_is_null(val))
			continue;
		if (!json_is_string(val)) {
			api_reply_error(rs, 422, "invalid", "params", "params must be a string");
			goto out;
		}
		if (json_string_length(val) > TRIGGER_PARAMS_MAX ||
		    strlen(json_string_value(val)) != json_string_length(val)) {
			api_reply_error(rs, 422, "invalid", "params",
			                "params must be text of at most %d bytes",
			                TRIGGER_PARAMS_MAX);
			goto out;
		}
		params = json_string_value(val);
	}
	error_clear(&e);
	rc = rq->api->hooks.trigger(rq->api->hooks.ctx, name, params, &run_id, &e);
	if (rc == CLOVER_ENOENT && e.message[0] == '\0')
		error_set(&e, rc, NULL, "no job named '%s'", name);
	if (rc) {
		api_reply_rc(rs, rc, &e);
		goto out;
	}
	log_at(LOG_INFO, "api", "job=%s run=%lld triggered by %s", name, (long long)run_id,
	       rq->who.user);
	api_event(rq, STORE_LEVEL_INFO, "api", name, "run %lld triggered by %s", (long long)run_id,
	          rq->who.user);
	api_reply_json(rs, 202, json_pack("{s:I}", "run_id", (json_int_t)run_id));
out:
	json_decref(doc);
}
