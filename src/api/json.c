/* SPDX-License-Identifier: MIT */
/*
 * JSON builders for the API's JOB and RUN objects (docs/api.md). A JOB is the
 * spec exactly as applied (jansson keeps object members in insertion order)
 * plus a read-only "status" member; a RUN is a run record with its shards.
 * Times are RFC 3339 UTC with milliseconds, or null when unset.
 */
#include "api/internal.h"
#include "base/log.h"
#include "base/time.h"
#include "core/job.h"
#include "core/run.h"
#include "cron/cron.h"
#include "store/store.h"

#include <stdlib.h>
#include <string.h>

json_t *api_str_json(const char *s)
{
	json_t *j;
	char *copy;

	if (s == NULL)
		return json_null();
	j = json_string(s);
	if (j)
		return j;
	copy = strdup(s); /* not UTF-8: send what we can */
	if (copy == NULL)
		return NULL;
	api_utf8_sanitize(copy);
	j = json_string(copy);
	free(copy);
	return j;
}

json_t *api_time_json(int64_t ms)
{
	char buf[40];

	if (ms == 0)
		return json_null();
	return json_string(time_format_rfc3339(ms, buf, sizeof(buf), true));
}

/* Sets o[key] = v (stolen), remembering a failure (v NULL or no memory) in *ok. */
static void put(json_t *o, const char *key, json_t *v, bool *ok)
{
	if (v == NULL || json_object_set_new(o, key, v) != 0)
		*ok = false;
}

int64_t api_next_fire(const struct job_spec *spec, int64_t now)
{
	int64_t next = 0;

	if (spec == NULL || spec->paused || spec->cron == NULL)
		return 0;
	if (cron_next(spec->cron, spec->tz, now, &next) != 0)
		return 0;
	return next;
}

json_t *api_job_json(const struct store_job *j, const struct job_spec *spec, int64_t now)
{
	struct job_spec *parsed = NULL;
	json_t *root, *status;
	int64_t next = 0;
	bool ok = true;

	root = json_loads(j->spec, 0, NULL);
	if (root == NULL || !json_is_object(root)) {
		log_at(LOG_ERROR, "api", "job=%s: the stored spec is not a JSON object", j->name);
		json_decref(root);
		return NULL;
	}
	if (spec == NULL && job_spec_parse(j->spec, strlen(j->spec), &parsed, NULL) == 0)
		spec = parsed;
	if (!j->paused)
		next = api_next_fire(spec, now);
	job_spec_unref(parsed);

	status = json_object();
	if (status == NULL) {
		json_decref(root);
		return NULL;
	}
	put(status, "revision", json_integer(j->revision), &ok);
	put(status, "created_at", api_time_json(j->created_at), &ok);
	put(status, "updated_at", api_time_json(j->updated_at), &ok);
	put(status, "paused", json_boolean(j->paused), &ok);
	put(status, "next_fire_at", api_time_json(next), &ok);
	if (j->last_run.id > 0) {
		json_t *lr = json_object();

		ok = ok && lr != NULL;
		put(lr, "id", json_integer(j->last_run.id), &ok);
		put(lr, "state", json_string(run_state_name(j->last_run.state)), &ok);
		put(lr, "finished_at", api_time_json(j->last_run.finished_at), &ok);
		put(status, "last_run", lr, &ok);
	} else {
		put(status, "last_run", json_null(), &ok);
	}
	put(root, "status", status, &ok);
	if (!ok) {
		json_decref(root);
		return NULL;
	}
	return root;
}

static json_t *shard_json(const struct shard_rec *s)
{
	json_t *o = json_object();
	bool ok = o != NULL;

	if (!ok)
		return NULL;
	put(o, "index", json_integer(s->index), &ok);
	put(o, "attempt", json_integer(s->attempt), &ok);
	put(o, "state", json_string(run_state_name(s->state)), &ok);
	put(o, "executor", api_str_json(s->executor), &ok);
	put(o, "exit_code", s->exit_code < 0 ? json_null() : json_integer(s->exit_code), &ok);
	put(o, "started_at", api_time_json(s->started_at), &ok);
	put(o, "finished_at", api_time_json(s->finished_at), &ok);
	put(o, "progress", s->progress < 0 ? json_null() : json_real(s->progress), &ok);
	put(o, "message", api_str_json(s->message), &ok);
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *api_run_json(const struct run_rec *r)
{
	json_t *o = json_object(), *shards = json_array();
	bool ok = o && shards;

	if (!ok) {
		json_decref(o);
		json_decref(shards);
		return NULL;
	}
	put(o, "id", json_integer(r->id), &ok);
	put(o, "job", api_str_json(r->job), &ok);
	put(o, "scheduled_at", api_time_json(r->scheduled_at), &ok);
	put(o, "trigger", json_string(run_trigger_name(r->trigger)), &ok);
	put(o, "state", json_string(run_state_name(r->state)), &ok);
	put(o, "created_at", api_time_json(r->created_at), &ok);
	put(o, "started_at", api_time_json(r->started_at), &ok);
	put(o, "finished_at", api_time_json(r->finished_at), &ok);
	put(o, "duration_ms",
	    r->started_at && r->finished_at ? json_integer(r->finished_at - r->started_at)
	                                    : json_null(),
	    &ok);
	put(o, "params", api_str_json(r->params), &ok);
	put(o, "reason", api_str_json(r->reason), &ok);
	for (int i = 0; ok && i < r->nshards; i++) {
		json_t *s = shard_json(&r->shards[i]);

		if (s == NULL || json_array_append_new(shards, s) != 0)
			ok = false;
	}
	put(o, "shards", shards, &ok);
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}
