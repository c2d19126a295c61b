/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the REST API over real HTTP (libcurl) against a real store:
 * the public health check, authentication and roles, jobs (create, apply,
 * If-Match, list/paging/search, pause/resume, trigger, delete, validation,
 * body limits), runs (list/filter/paging, detail, log, kill) and the cron
 * preview. Users and tokens are in test-api-auth.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "unit/test-api-harness.h"
#include "api/internal.h"
#include "base/time.h"
#include "core/run.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SPEC(name, sched)                                                                          \
	"{\"name\":\"" name "\",\"schedule\":\"" sched "\",\"run\":{\"shell\":\"echo hi\"}}"

/* Member `key` of the top-level object, or of "status" when key starts with "status.". */
static json_t *member(const struct resp *r, const char *key)
{
	if (strncmp(key, "status.", 7) == 0)
		return json_object_get(json_object_get(r->json, "status"), key + 7);
	return json_object_get(r->json, key);
}

static int64_t int_of(const struct resp *r, const char *key)
{
	json_t *v = member(r, key);

	assert_true(json_is_integer(v));
	return (int64_t)json_integer_value(v);
}

static const char *str_of(const struct resp *r, const char *key)
{
	json_t *v = member(r, key);

	assert_true(json_is_string(v));
	return json_string_value(v);
}

static void health_answers_without_auth(void **state)
{
	struct harness *h = *state;
	struct resp r;
	int64_t t;

	assert_int_equal(req(h, "GET", "/api/v1/health", NULL, NULL, NULL, &r), 200);
	assert_string_equal(str_of(&r, "status"), "ok");
	assert_string_equal(str_of(&r, "version"), CLOVER_VERSION);
	assert_string_equal(str_of(&r, "mode"), "standalone");
	assert_int_equal(time_parse_rfc3339(str_of(&r, "time"), &t), 0);
	assert_true(t > 0);
	assert_string_equal(r.content_type, "application/json");
	resp_free(&r);
}

static void missing_or_bad_token_is_401_and_recorded(void **state)
{
	struct harness *h = *state;
	struct store_event_filter f = {.level = -1, .source = "auth", .limit = 100};
	struct store_event *ev = NULL;
	size_t n0 = 0, n1 = 0;
	struct resp r;

	assert_int_equal(store_event_list(h->store, &f, &ev, &n0), 0);
	for (size_t i = 0; i < n0; i++)
		store_event_clear(&ev[i]);
	free(ev);

	assert_int_equal(req(h, "GET", "/api/v1/jobs", NULL, NULL, NULL, &r), 401);
	assert_string_equal(err_code(&r), "unauthorized");
	assert_non_null(strstr(r.www_auth, "Bearer"));
	resp_free(&r);
	assert_int_equal(req(h, "GET", "/api/v1/jobs", "not-a-token", NULL, NULL, &r), 401);
	resp_free(&r);
	/* Well-formed but unknown. */
	assert_int_equal(req(h, "GET", "/api/v1/jobs",
	                     "clv_0123456789abcdef_0123456789abcdef0123456789abcdef01234567", NULL,
	                     NULL, &r),
	                 401);
	resp_free(&r);
	assert_int_equal(req(h, "GET", "/api/v1/jobs", NULL, NULL, "Authorization: Basic YTpi", &r),
	                 401);
	resp_free(&r);
	/* Unknown paths do not reveal themselves to strangers. */
	assert_int_equal(req(h, "GET", "/api/v1/nothing-here", NULL, NULL, NULL, &r), 401);
	resp_free(&r);

	assert_int_equal(store_event_list(h->store, &f, &ev, &n1), 0);
	assert_true(n1 >= n0 + 5);
	assert_non_null(strstr(ev[0].message, "127.0.0.1"));
	/* The secret of a presented token is never written down. */
	for (size_t i = 0; i < n1; i++) {
		assert_null(strstr(ev[i].message, "0123456789abcdef01234567"));
		store_event_clear(&ev[i]);
	}
	free(ev);
}

static void unknown_paths_and_methods(void **state)
{
	struct harness *h = *state;
	struct resp r;

	assert_int_equal(req(h, "GET", "/api/v1/nothing-here", h->viewer, NULL, NULL, &r), 404);
	assert_string_equal(err_code(&r), "not_found");
	resp_free(&r);
	assert_int_equal(req(h, "GET", "/no-such-page.html", NULL, NULL, NULL, &r), 404);
	resp_free(&r);
	assert_int_equal(req(h, "PATCH", "/api/v1/jobs", h->admin, "{}", NULL, &r), 405);
	resp_free(&r);
	assert_int_equal(req(h, "GET", "/api/v1/jobs/bad%20name", h->viewer, NULL, NULL, &r), 400);
	assert_string_equal(err_field(&r), "name");
	resp_free(&r);
	assert_int_equal(req(h, "GET", "/api/v1/runs/abc", h->viewer, NULL, NULL, &r), 400);
	assert_string_equal(err_field(&r), "id");
	resp_free(&r);
	assert_int_equal(req(h, "GET", "/api/v1/runs/-3", h->viewer, NULL, NULL, &r), 400);
	resp_free(&r);
	assert_int_equal(req(h, "GET", "/api/v1/jobs?bogus=1", h->viewer, NULL, NULL, &r), 400);
	assert_string_equal(err_field(&r), "bogus");
	resp_free(&r);
	assert_int_equal(req(h, "GET", "/api/v1/jobs?limit=1&limit=2", h->viewer, NULL, NULL, &r),
	                 400);
	resp_free(&r);
	assert_int_equal(req(h, "GET",
	                     "/api/v1/jobs?a=1&b=1&c=1&d=1&e=1&f=1&g=1&h=1&i=1&j=1&k=1&l=1&m=1&n=1"
	                     "&o=1&p=1&q=1",
	                     h->viewer, NULL, NULL, &r),
	                 400);
	resp_free(&r);
}

static void viewer_reads_but_cannot_write(void **state)
{
	struct harness *h = *state;
	struct resp r;

	assert_int_equal(req(h, "GET", "/api/v1/jobs", h->viewer, NULL, NULL, &r), 200);
	resp_free(&r);
	assert_int_equal(req(h, "POST", "/api/v1/jobs", h->viewer, SPEC("v1", "@manual"), NULL, &r),
	                 403);
	assert_string_equal(err_code(&r), "forbidden");
	resp_free(&r);
	assert_int_equal(
	    req(h, "PUT", "/api/v1/jobs/v1", h->viewer, SPEC("v1", "@manual"), NULL, &r), 403);
	resp_free(&r);
	assert_int_equal(req(h, "POST", "/api/v1/jobs/v1/trigger", h->viewer, NULL, NULL, &r), 403);
	resp_free(&r);
	assert_int_equal(req(h, "POST", "/api/v1/runs/1/kill", h->viewer, NULL, NULL, &r), 403);
	resp_free(&r);
	assert_int_equal(req(h, "GET", "/api/v1/users", h->viewer, NULL, NULL, &r), 403);
	resp_free(&r);
}

static void operator_writes_jobs_but_not_users(void **state)
{
	struct harness *h = *state;
	struct resp r;

	assert_int_equal(req(h, "POST", "/api/v1/jobs", h->oper, SPEC("op1", "@manual"), NULL, &r),
	                 201);
	resp_free(&r);
	assert_int_equal(req(h, "DELETE", "/api/v1/jobs/op1", h->oper, NULL, NULL, &r), 204);
	resp_free(&r);
	assert_int_equal(req(h, "GET", "/api/v1/users", h->oper, NULL, NULL, &r), 403);
	resp_free(&r);
	assert_int_equal(req(h, "POST", "/api/v1/users", h->oper,
	                     "{\"name\":\"x\",\"role\":\"admin\",\"password\":\"12345678\"}", NULL,
	                     &r),
	                 403);
	resp_free(&r);
}

static void job_create_get_delete(void **state)
{
	struct harness *h = *state;
	const char *spec = "{\"name\":\"crud\",\"description\":\"d\",\"schedule\":\"0 0 3 * * ?\","
	                   "\"timezone\":\"UTC\",\"run\":{\"shell\":\"echo hi\"}}";
	const char *key;
	const char *order[] = {"name", "description", "schedule", "timezone", "run", "status"};
	json_t *v;
	int calls, i = 0;
	struct resp r;

	calls = h->changed_calls;
	assert_int_equal(req(h, "POST", "/api/v1/jobs", h->oper, spec, NULL, &r), 201);
	/* The spec as applied, same members in the same order, plus status. */
	json_object_foreach(r.json, key, v)
	{
		assert_true(i < 6);
		assert_string_equal(key, order[i]);
		i++;
	}
	assert_int_equal(i, 6);
	assert_string_equal(str_of(&r, "schedule"), "0 0 3 * * ?");
	assert_int_equal(int_of(&r, "status.revision"), 1);
	assert_false(json_is_true(member(&r, "status.paused")));
	assert_true(json_is_string(member(&r, "status.created_at")));
	assert_true(json_is_string(member(&r, "status.next_fire_at")));
	assert_non_null(strstr(str_of(&r, "status.next_fire_at"), "T03:00:00.000Z"));
	assert_string_equal(r.etag, "\"1\"");
	resp_free(&r);
	assert_int_equal(h->changed_calls, calls + 1);
	assert_string_equal(h->changed_name, "crud");
	assert_false(h->changed_null);
	assert_string_equal(h->changed_schedule, "0 0 3 * * ?");

	assert_int_equal(req(h, "POST", "/api/v1/jobs", h->oper, spec, NULL, &r), 409);
	assert_string_equal(err_code(&r), "conflict");
	resp_free(&r);
	assert_int_equal(h->changed_calls, calls + 1);

	assert_int_equal(req(h, "GET", "/api/v1/jobs/crud", h->viewer, NULL, NULL, &r), 200);
	assert_string_equal(str_of(&r, "name"), "crud");
	assert_string_equal(str_of(&r, "description"), "d");
	resp_free(&r);

	assert_int_equal(req(h, "DELETE", "/api/v1/jobs/crud", h->oper, NULL, NULL, &r), 204);
	assert_int_equal(r.len, 0);
	resp_free(&r);
	assert_int_equal(h->changed_calls, calls + 2);
	assert_string_equal(h->changed_name, "crud");
	assert_true(h->changed_null);
	assert_int_equal(req(h, "GET", "/api/v1/jobs/crud", h->viewer, NULL, NULL, &r), 404);
	assert_string_equal(err_code(&r), "not_found");
	resp_free(&r);
	assert_int_equal(req(h, "DELETE", "/api/v1/jobs/crud", h->oper, NULL, NULL, &r), 404);
	resp_free(&r);
}

static void job_put_creates_updates_and_honours_if_match(void **state)
{
	struct harness *h = *state;
	int calls = h->changed_calls;
	struct resp r;

	assert_int_equal(
	    req(h, "PUT", "/api/v1/jobs/app", h->oper, SPEC("app", "@every 1h"), NULL, &r), 201);
	assert_int_equal(int_of(&r, "status.revision"), 1);
	resp_free(&r);
	assert_int_equal(
	    req(h, "PUT", "/api/v1/jobs/app", h->oper, SPEC("app", "@every 2h"), NULL, &r), 200);
	assert_int_equal(int_of(&r, "status.revision"), 2);
	assert_string_equal(str_of(&r, "schedule"), "@every 2h");
	resp_free(&r);
	assert_int_equal(h->changed_calls, calls + 2);
	assert_string_equal(h->changed_schedule, "@every 2h");

	/* Applying the same spec again changes nothing. */
	assert_int_equal(
	    req(h, "PUT", "/api/v1/jobs/app", h->oper, SPEC("app", "@every 2h"), NULL, &r), 200);
	assert_int_equal(int_of(&r, "status.revision"), 2);
	resp_free(&r);
	assert_int_equal(h->changed_calls, calls + 2);

	assert_int_equal(
	    req(h, "PUT", "/api/v1/jobs/app", h->oper, SPEC("app", "@every 3h"), "If-Match: 1", &r),
	    409);
	assert_string_equal(err_code(&r), "conflict");
	resp_free(&r);
	assert_int_equal(req(h, "PUT", "/api/v1/jobs/app", h->oper, SPEC("app", "@every 3h"),
	                     "If-Match: \"2\"", &r),
	                 200);
	assert_int_equal(int_of(&r, "status.revision"), 3);
	resp_free(&r);
	assert_int_equal(req(h, "PUT", "/api/v1/jobs/app", h->oper, SPEC("app", "@every 3h"),
	                     "If-Match: soon", &r),
	                 400);
	resp_free(&r);
	assert_int_equal(
	    req(h, "PUT", "/api/v1/jobs/other-app", h->oper, SPEC("app", "@every 3h"), NULL, &r),
	    422);
	assert_string_equal(err_code(&r), "invalid");
	assert_string_equal(err_field(&r), "name");
	resp_free(&r);
	assert_int_equal(req(h, "PUT", "/api/v1/jobs/fresh", h->oper, SPEC("fresh", "@every 3h"),
	                     "If-Match: 4", &r),
	                 409);
	resp_free(&r);
	assert_int_equal(h->changed_calls, calls + 3);
	assert_int_equal(req(h, "DELETE", "/api/v1/jobs/app", h->oper, NULL, NULL, &r), 204);
	resp_free(&r);
}

static void job_list_filters_by_label(void **state)
{
	struct harness *h = *state;
	struct resp r;
	json_t *jobs;

	assert_int_equal(
	    req(h, "POST", "/api/v1/jobs", h->oper,
	        "{\"name\":\"lbl-a\",\"schedule\":\"@manual\",\"run\":{\"shell\":"
	        "\"true\"},\"target\":{\"labels\":{\"pool\":\"gpu\",\"zone.x\":\"a\"}}}",
	        NULL, &r),
	    201);
	resp_free(&r);
	assert_int_equal(req(h, "POST", "/api/v1/jobs", h->oper,
	                     "{\"name\":\"lbl-b\",\"schedule\":\"@manual\",\"run\":{\"shell\":"
	                     "\"true\"},\"target\":{\"labels\":{\"pool\":\"cpu\"}}}",
	                     NULL, &r),
	                 201);
	resp_free(&r);
	assert_int_equal(req(h, "GET", "/api/v1/jobs?label=pool=gpu", h->viewer, NULL, NULL, &r),
	                 200);
	jobs = json_object_get(r.json, "jobs");
	assert_int_equal(json_array_size(jobs), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(jobs, 0), "name")),
	                    "lbl-a");
	resp_free(&r);
	/* A key with a dot is one key, not a path. */
	assert_int_equal(req(h, "GET", "/api/v1/jobs?label=zone.x=a", h->viewer, NULL, NULL, &r),
	                 200);
	assert_int_equal(json_array_size(json_object_get(r.json, "jobs")), 1);
	resp_free(&r);
	assert_int_equal(req(h, "GET", "/api/v1/jobs?label=pool=tpu", h->viewer, NULL, NULL, &r),
	                 200);
	assert_int_equal(json_array_size(json_object_get(r.json, "jobs")), 0);
	resp_free(&r);
	assert_int_equal(req(h, "GET", "/api/v1/jobs?label=pool", h->viewer, NULL, NULL, &r), 400);
	assert_string_equal(err_field(&r), "label");
	resp_free(&r);
	assert_int_equal(req(h, "DELETE", "/api/v1/jobs/lbl-a", h->oper, NULL, NULL, &r), 204);
	resp_free(&r);
	assert_int_equal(req(h, "DELETE", "/api/v1/jobs/lbl-b", h->oper, NULL, NULL, &r), 204);
	resp_free(&r);
}

static void job_list_pages_filters_and_searches(void **state)
{
	struct harness *h = *state;
	const char *names[] = {"page-a", "page-b", "page-c", "page-d", "page-e"};
	char body[256], path[128];
	struct resp r;
	json_t *jobs;

	for (int i = 0; i < 5; i++) {
		snprintf(body, sizeof(body),
		         "{\"name\":\"%s\",\"schedule\":\"@manual\",\"run\":{\"shell\":\"true\"}}",
		         names[i]);
		assert_int_equal(req(h, "POST", "/api/v1/jobs", h->oper, body, NULL, &r), 201);
		resp_free(&r);
	}
	assert_int_equal(
	    req(h, "GET", "/api/v1/jobs?search=page-&limit=2", h->viewer, NULL, NULL, &r), 200);
	jobs = json_object_get(r.json, "jobs");
	assert_int_equal(json_array_size(jobs), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(jobs, 0), "name")),
	                    "page-a");
	assert_string_equal(str_of(&r, "next"), "page-b");
	resp_free(&r);
	assert_int_equal(req(h, "GET", "/api/v1/jobs?search=page-&limit=2&after=page-b", h->viewer,
	                     NULL, NULL, &r),
	                 200);
	jobs = json_object_get(r.json, "jobs");
	assert_int_equal(json_array_size(jobs), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(jobs, 0), "name")),
	                    "page-c");
	assert_string_equal(str_of(&r, "next"), "page-d");
	resp_free(&r);
	assert_int_equal(req(h, "GET", "/api/v1/jobs?search=page-&limit=2&after=page-d", h->viewer,
	                     NULL, NULL, &r),
	                 200);
	assert_int_equal(json_array_size(json_object_get(r.json, "jobs")), 1);
	assert_true(json_is_null(member(&r, "next")));
	resp_free(&r);

	assert_int_equal(req(h, "POST", "/api/v1/jobs/page-c/pause", h->oper, NULL, NULL, &r), 200);
	resp_free(&r);
	assert_int_equal(
	    req(h, "GET", "/api/v1/jobs?search=page-&paused=true", h->viewer, NULL, NULL, &r), 200);
	jobs = json_object_get(r.json, "jobs");
	assert_int_equal(json_array_size(jobs), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(jobs, 0), "name")),
	                    "page-c");
	resp_free(&r);
	assert_int_equal(
	    req(h, "GET", "/api/v1/jobs?search=page-&paused=false", h->viewer, NULL, NULL, &r),
	    200);
	assert_int_equal(json_array_size(json_object_get(r.json, "jobs")), 4);
	resp_free(&r);

	assert_int_equal(req(h, "GET", "/api/v1/jobs?limit=0", h->viewer, NULL, NULL, &r), 400);
	assert_string_equal(err_field(&r), "limit");
	resp_free(&r);
	assert_int_equal(req(h, "GET", "/api/v1/jobs?limit=1001", h->viewer, NULL, NULL, &r), 400);
	resp_free(&r);
	assert_int_equal(req(h, "GET", "/api/v1/jobs?paused=maybe", h->viewer, NULL, NULL, &r),
	                 400);
	resp_free(&r);
	for (int i = 0; i < 5; i++) {
		snprintf(path, sizeof(path), "/api/v1/jobs/%s", names[i]);
		assert_int_equal(req(h, "DELETE", path, h->oper, NULL, NULL, &r), 204);
		resp_free(&r);
	}
}

static void pause_and_resume_announce_the_new_spec(void **state)
{
	struct harness *h = *state;
	int calls;
	struct resp r;

	assert_int_equal(
	    req(h, "POST", "/api/v1/jobs", h->oper, SPEC("pz", "0 */5 * * * ?"), NULL, &r), 201);
	assert_true(json_is_string(member(&r, "status.next_fire_at")));
	resp_free(&r);
	calls = h->changed_calls;
	assert_int_equal(req(h, "POST", "/api/v1/jobs/pz/pause", h->oper, NULL, NULL, &r), 200);
	assert_true(json_is_true(member(&r, "status.paused")));
	assert_true(json_is_null(member(&r, "status.next_fire_at")));
	assert_int_equal(int_of(&r, "status.revision"), 2);
	resp_free(&r);
	assert_int_equal(h->changed_calls, calls + 1);
	assert_string_equal(h->changed_name, "pz");
	assert_true(h->changed_paused);

	/* Pausing a paused job changes nothing. */
	assert_int_equal(req(h, "POST", "/api/v1/jobs/pz/pause", h->oper, NULL, NULL, &r), 200);
	assert_int_equal(int_of(&r, "status.revision"), 2);
	resp_free(&r);
	assert_int_equal(h->changed_calls, calls + 1);

	/* Re-applying a spec that does not mention "paused" keeps the job paused. */
	assert_int_equal(
	    req(h, "PUT", "/api/v1/jobs/pz", h->oper, SPEC("pz", "0 */10 * * * ?"), NULL, &r), 200);
	assert_true(json_is_true(member(&r, "status.paused")));
	resp_free(&r);
	assert_int_equal(h->changed_calls, calls + 2);
	assert_true(h->changed_paused);

	assert_int_equal(req(h, "POST", "/api/v1/jobs/pz/resume", h->oper, NULL, NULL, &r), 200);
	assert_false(json_is_true(member(&r, "status.paused")));
	assert_true(json_is_string(member(&r, "status.next_fire_at")));
	resp_free(&r);
	assert_int_equal(h->changed_calls, calls + 3);
	assert_false(h->changed_paused);
	assert_string_equal(h->changed_schedule, "0 */10 * * * ?");

	assert_int_equal(req(h, "POST", "/api/v1/jobs/nope/pause", h->oper, NULL, NULL, &r), 404);
	resp_free(&r);
	assert_int_equal(req(h, "DELETE", "/api/v1/jobs/pz", h->oper, NULL, NULL, &r), 204);
	resp_free(&r);
}

static void trigger_calls_the_hook(void **state)
{
	struct harness *h = *state;
	int64_t first;
	struct resp r;

	assert_int_equal(req(h, "POST", "/api/v1/jobs", h->oper, SPEC("trig", "@manual"), NULL, &r),
	                 201);
	resp_free(&r);
	first = h->next_run_id;
	assert_int_equal(req(h, "POST", "/api/v1/jobs/trig/trigger", h->oper,
	                     "{\"params\":\"--full\"}", NULL, &r),
	                 202);
	assert_int_equal(int_of(&r, "run_id"), first);
	resp_free(&r);
	assert_string_equal(h->trigger_job, "trig");
	assert_string_equal(h->trigger_params, "--full");
	assert_false(h->trigger_params_null);

	assert_int_equal(req(h, "POST", "/api/v1/jobs/trig/trigger", h->oper, NULL, NULL, &r), 202);
	assert_int_equal(int_of(&r, "run_id"), first + 1);
	resp_free(&r);
	assert_true(h->trigger_params_null);

	assert_int_equal(
	    req(h, "POST", "/api/v1/jobs/trig/trigger", h->oper, "{\"params\":3}", NULL, &r), 422);
	assert_string_equal(err_field(&r), "params");
	resp_free(&r);
	assert_int_equal(
	    req(h, "POST", "/api/v1/jobs/trig/trigger", h->oper, "{\"when\":\"now\"}", NULL, &r),
	    422);
	resp_free(&r);
	assert_int_equal(req(h, "POST", "/api/v1/jobs/ghost/trigger", h->oper, NULL, NULL, &r),
	                 404);
	resp_free(&r);
	assert_int_equal(h->trigger_calls, 2);
	assert_int_equal(req(h, "DELETE", "/api/v1/jobs/trig", h->oper, NULL, NULL, &r), 204);
	resp_free(&r);
}

static void bad_bodies_are_400_422_413(void **state)
{
	struct harness *h = *state;
	size_t big = 1024 * 1024 + 100;
	char *body = malloc(big + 1);
	struct resp r;

	assert_int_equal(req(h, "POST", "/api/v1/jobs", h->oper, "{\"name\": ", NULL, &r), 400);
	assert_string_equal(err_code(&r), "bad_request");
	resp_free(&r);
	assert_int_equal(req(h, "POST", "/api/v1/jobs", h->oper, "[1,2]", NULL, &r), 400);
	resp_free(&r);
	assert_int_equal(req(h, "POST", "/api/v1/jobs", h->oper, NULL, NULL, &r), 400);
	resp_free(&r);
	assert_int_equal(req(h, "POST", "/api/v1/jobs", h->oper,
	                     "{\"name\":\"a\",\"name\":\"b\",\"schedule\":\"@manual\"}", NULL, &r),
	                 400);
	resp_free(&r);
	assert_int_equal(req(h, "POST", "/api/v1/jobs", h->oper,
	                     "{\"name\":\"val\",\"schedule\":\"@manual\",\"run\":{\"shell\":\"x\"},"
	                     "\"retry\":{\"max\":1,\"backoff\":\"soon\"}}",
	                     NULL, &r),
	                 422);
	assert_string_equal(err_code(&r), "invalid");
	assert_string_equal(err_field(&r), "retry.backoff");
	resp_free(&r);
	assert_int_equal(
	    req(h, "POST", "/api/v1/jobs", h->oper,
	        "{\"name\":\"val\",\"schedule\":\"0 0 32 * * ?\",\"run\":{\"shell\":\"x\"}}", NULL,
	        &r),
	    422);
	assert_string_equal(err_field(&r), "schedule");
	resp_free(&r);

	assert_non_null(body);
	memset(body, ' ', big);
	body[0] = '{';
	body[big - 1] = '}';
	body[big] = '\0';
	assert_int_equal(req(h, "POST", "/api/v1/jobs", h->oper, body, NULL, &r), 413);
	assert_string_equal(err_code(&r), "too_large");
	resp_free(&r);
	assert_int_equal(req(h, "PUT", "/api/v1/jobs/big", h->oper, body, "Expect:", &r), 413);
	resp_free(&r);
	free(body);
	assert_int_equal(req_chunked(h, "/api/v1/jobs", h->oper, big, &r), 413);
	assert_string_equal(err_code(&r), "too_large");
	resp_free(&r);
	/* An endless body is not read forever: the connection is dropped. */
	assert_int_equal(req_chunked(h, "/api/v1/jobs", h->oper, 40 * big, &r), 0);
	resp_free(&r);
	/* The server still works. */
	assert_int_equal(req(h, "GET", "/api/v1/health", NULL, NULL, NULL, &r), 200);
	resp_free(&r);
}

static void put_run(struct harness *h, int64_t id, const char *job, enum run_state st,
                    int64_t sched)
{
	struct shard_rec sh = {
	    .index = 0,
	    .attempt = 1,
	    .state = st,
	    .executor = "local",
	    .exit_code = st == RUN_FAILED ? 3 : 0,
	    .started_at = sched + 10,
	    .finished_at = run_state_final(st) ? sched + 1510 : 0,
	    .progress = -1,
	    .message = NULL,
	};
	struct run_rec r = {
	    .id = id,
	    .job = (char *)job,
	    .scheduled_at = sched,
	    .trigger = RUN_TRIG_SCHEDULE,
	    .state = st,
	    .created_at = sched,
	    .started_at = sched + 10,
	    .finished_at = run_state_final(st) ? sched + 1510 : 0,
	    .nshards = 1,
	    .shards = &sh,
	};

	assert_int_equal(store_submit_run(h->store, &r), 0);
}

/* GET /jobs/{name} until its status.last_run has run `id` (the store folds it behind). */
static json_t *wait_last_run(struct harness *h, const char *name, int64_t id)
{
	char path[128];
	json_t *lr = NULL;
	struct resp r;

	snprintf(path, sizeof(path), "/api/v1/jobs/%s", name);
	for (int i = 0; i < 500; i++) {
		assert_int_equal(req(h, "GET", path, h->viewer, NULL, NULL, &r), 200);
		lr = json_object_get(json_object_get(r.json, "status"), "last_run");
		assert_non_null(lr);
		if (json_integer_value(json_object_get(lr, "id")) == id) {
			json_incref(lr);
			resp_free(&r);
			return lr;
		}
		resp_free(&r);
		usleep(10 * 1000);
	}
	fail_msg("job %s: last_run never became run %lld", name, (long long)id);
	return NULL;
}

/* The names in a GET /jobs answer, comma-separated. */
static void list_names(struct harness *h, const char *path, char *out, size_t size)
{
	struct resp r;
	json_t *jobs;

	assert_int_equal(req(h, "GET", path, h->viewer, NULL, NULL, &r), 200);
	jobs = json_object_get(r.json, "jobs");
	out[0] = '\0';
	for (size_t i = 0; i < json_array_size(jobs); i++) {
		const char *n = json_string_value(json_object_get(json_array_get(jobs, i), "name"));
		size_t len = strlen(out);

		snprintf(out + len, size - len, "%s%s", i ? "," : "", n);
	}
	resp_free(&r);
}

static void jobs_show_and_filter_by_last_run(void **state)
{
	struct harness *h = *state;
	const char *names[] = {"lr-a", "lr-b", "lr-c"};
	int64_t t0 = 1772953800000LL;
	char body[256], got[256];
	struct resp r;
	json_t *lr;

	for (size_t i = 0; i < 3; i++) {
		snprintf(body, sizeof(body),
		         "{\"name\":\"%s\",\"schedule\":\"@manual\",\"run\":{\"shell\":\"true\"}}",
		         names[i]);
		assert_int_equal(req(h, "POST", "/api/v1/jobs", h->oper, body, NULL, &r), 201);
		/* None yet. */
		assert_true(
		    json_is_null(json_object_get(json_object_get(r.json, "status"), "last_run")));
		resp_free(&r);
	}
	put_run(h, 901, "lr-a", RUN_SUCCEEDED, t0);
	put_run(h, 902, "lr-a", RUN_FAILED, t0 + 60000);
	put_run(h, 903, "lr-b", RUN_SUCCEEDED, t0 + 60000);
	put_run(h, 904, "lr-c", RUN_RUNNING, t0 + 60000);
	assert_int_equal(store_flush(h->store), 0);

	lr = wait_last_run(h, "lr-a", 902);
	assert_string_equal(json_string_value(json_object_get(lr, "state")), "failed");
	assert_string_equal(json_string_value(json_object_get(lr, "finished_at")),
	                    "2026-03-08T07:11:01.510Z");
	json_decref(lr);
	json_decref(wait_last_run(h, "lr-b", 903));

	list_names(h, "/api/v1/jobs?search=lr-&last=failed", got, sizeof(got));
	assert_string_equal(got, "lr-a");
	list_names(h, "/api/v1/jobs?search=lr-&last=succeeded", got, sizeof(got));
	assert_string_equal(got, "lr-b");
	list_names(h, "/api/v1/jobs?search=lr-&last=never", got, sizeof(got));
	assert_string_equal(got, "lr-c");
	list_names(h, "/api/v1/jobs?search=lr-&last=timed_out", got, sizeof(got));
	assert_string_equal(got, "");
	list_names(h, "/api/v1/jobs?search=lr-&last=", got, sizeof(got));
	assert_string_equal(got, "lr-a,lr-b,lr-c");
	/* With paging: the list carries the last run too. */
	assert_int_equal(
	    req(h, "GET", "/api/v1/jobs?search=lr-&limit=1", h->viewer, NULL, NULL, &r), 200);
	lr = json_object_get(
	    json_object_get(json_array_get(json_object_get(r.json, "jobs"), 0), "status"),
	    "last_run");
	assert_int_equal(json_integer_value(json_object_get(lr, "id")), 902);
	assert_string_equal(json_string_value(member(&r, "next")), "lr-a");
	resp_free(&r);
	list_names(h, "/api/v1/jobs?search=lr-&last=never&after=lr-a&limit=1", got, sizeof(got));
	assert_string_equal(got, "lr-c");

	/* Not a final state, or not a state: 400 naming the parameter. */
	assert_int_equal(req(h, "GET", "/api/v1/jobs?last=running", h->viewer, NULL, NULL, &r),
	                 400);
	assert_string_equal(err_field(&r), "last");
	resp_free(&r);
	assert_int_equal(req(h, "GET", "/api/v1/jobs?last=bogus", h->viewer, NULL, NULL, &r), 400);
	assert_string_equal(err_field(&r), "last");
	assert_string_equal(err_code(&r), "bad_request");
	resp_free(&r);

	for (size_t i = 0; i < 3; i++) {
		snprintf(body, sizeof(body), "/api/v1/jobs/%s", names[i]);
		assert_int_equal(req(h, "DELETE", body, h->oper, NULL, NULL, &r), 204);
		resp_free(&r);
	}
}

static void executors_cluster_and_controls(void **state)
{
	struct harness *h = *state;
	struct resp r;
	json_t *xs, *w1;

	assert_int_equal(req(h, "GET", "/api/v1/executors", NULL, NULL, NULL, &r), 401);
	resp_free(&r);
	assert_int_equal(req(h, "GET", "/api/v1/executors", h->viewer, NULL, NULL, &r), 200);
	xs = json_object_get(r.json, "executors");
	assert_int_equal(json_array_size(xs), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(xs, 0), "id")),
	                    "local");
	w1 = json_array_get(xs, 1);
	assert_string_equal(json_string_value(json_object_get(w1, "id")), "w1");
	assert_string_equal(json_string_value(json_object_get(w1, "host")), "box1");
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(w1, "labels"), "ssd")), "yes");
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(w1, "labels"), "zone")), "a");
	assert_int_equal(json_integer_value(json_object_get(w1, "capacity")), 8);
	assert_int_equal(json_integer_value(json_object_get(w1, "running")), 3);
	assert_string_equal(json_string_value(json_object_get(w1, "last_heartbeat")),
	                    "2026-03-08T07:10:00.000Z");
	assert_string_equal(json_string_value(json_object_get(w1, "version")), "clover 0.1.0");
	assert_string_equal(json_string_value(json_object_get(w1, "state")), "draining");
	assert_false(json_is_true(json_object_get(w1, "enabled")));
	resp_free(&r);

	assert_int_equal(req(h, "GET", "/api/v1/cluster", h->viewer, NULL, NULL, &r), 200);
	assert_string_equal(json_string_value(json_object_get(r.json, "mode")), "standalone");
	assert_int_equal(json_array_size(json_object_get(r.json, "schedulers")), 1);
	assert_int_equal(json_array_size(json_object_get(r.json, "executors")), 2);
	resp_free(&r);

	/* Controls: operators only; unknown ids 404; the built-in one cannot drain. */
	assert_int_equal(req(h, "POST", "/api/v1/executors/w1/disable", h->viewer, NULL, NULL, &r),
	                 403);
	resp_free(&r);
	assert_int_equal(req(h, "POST", "/api/v1/executors/w1/disable", h->oper, NULL, NULL, &r),
	                 202);
	assert_string_equal(json_string_value(json_object_get(r.json, "requested")), "disable");
	resp_free(&r);
	assert_string_equal(h->control_id, "w1");
	assert_string_equal(h->control_op, "disable");
	assert_int_equal(req(h, "POST", "/api/v1/executors/w1/enable", h->oper, NULL, NULL, &r),
	                 202);
	resp_free(&r);
	assert_string_equal(h->control_op, "enable");
	assert_int_equal(req(h, "POST", "/api/v1/executors/w1/drain", h->admin, NULL, NULL, &r),
	                 202);
	resp_free(&r);
	assert_string_equal(h->control_op, "drain");
	assert_int_equal(req(h, "POST", "/api/v1/executors/ghost/drain", h->oper, NULL, NULL, &r),
	                 404);
	assert_string_equal(err_code(&r), "not_found");
	resp_free(&r);
	assert_int_equal(req(h, "POST", "/api/v1/executors/local/drain", h->oper, NULL, NULL, &r),
	                 409);
	resp_free(&r);
	assert_int_equal(req(h, "POST", "/api/v1/executors/w1/reboot", h->oper, NULL, NULL, &r),
	                 404);
	resp_free(&r);
	assert_int_equal(req(h, "GET", "/api/v1/executors/w1/drain", h->oper, NULL, NULL, &r),
	                 405);
	resp_free(&r);
}

static void runs_list_get_log_and_kill(void **state)
{
	struct harness *h = *state;
	int64_t t0 = 1772953800000LL; /* 2026-03-08T07:10:00Z */
	struct resp r;
	json_t *runs, *sh;
	int64_t i;

	for (i = 1; i <= 5; i++)
		put_run(h, 100 + i, i % 2 ? "r-odd" : "r-even",
		        i == 5 ? RUN_RUNNING : RUN_SUCCEEDED, t0 + i * 60000);
	put_run(h, 106, "r-odd", RUN_FAILED, t0 + 6 * 60000);
	assert_int_equal(store_submit_log(h->store, 106, 0, 1, "hello\n", 6), 0);
	assert_int_equal(store_submit_log(h->store, 106, 0, 1, "world\n", 6), 0);
	assert_int_equal(store_flush(h->store), 0);

	assert_int_equal(req(h, "GET", "/api/v1/runs?limit=2", h->viewer, NULL, NULL, &r), 200);
	runs = json_object_get(r.json, "runs");
	assert_int_equal(json_array_size(runs), 2);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(runs, 0), "id")), 106);
	assert_int_equal(int_of(&r, "next"), 105);
	resp_free(&r);
	assert_int_equal(
	    req(h, "GET", "/api/v1/runs?before=105&limit=10", h->viewer, NULL, NULL, &r), 200);
	runs = json_object_get(r.json, "runs");
	assert_int_equal(json_array_size(runs), 4);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(runs, 0), "id")), 104);
	assert_true(json_is_null(member(&r, "next")));
	resp_free(&r);
	assert_int_equal(req(h, "GET", "/api/v1/runs?job=r-even", h->viewer, NULL, NULL, &r), 200);
	assert_int_equal(json_array_size(json_object_get(r.json, "runs")), 2);
	resp_free(&r);
	assert_int_equal(req(h, "GET", "/api/v1/runs?state=failed", h->viewer, NULL, NULL, &r),
	                 200);
	runs = json_object_get(r.json, "runs");
	assert_int_equal(json_array_size(runs), 1);
	resp_free(&r);
	assert_int_equal(req(h, "GET",
	                     "/api/v1/runs?from=2026-03-08T07:12:00Z&to=2026-03-08T07:14:00Z",
	                     h->viewer, NULL, NULL, &r),
	                 200);
	assert_int_equal(json_array_size(json_object_get(r.json, "runs")), 2);
	resp_free(&r);
	assert_int_equal(req(h, "GET", "/api/v1/runs?state=bogus", h->viewer, NULL, NULL, &r), 400);
	assert_string_equal(err_field(&r), "state");
	resp_free(&r);
	assert_int_equal(req(h, "GET", "/api/v1/runs?from=yesterday", h->viewer, NULL, NULL, &r),
	                 400);
	resp_free(&r);

	assert_int_equal(req(h, "GET", "/api/v1/runs/106", h->viewer, NULL, NULL, &r), 200);
	assert_int_equal(int_of(&r, "id"), 106);
	assert_string_equal(str_of(&r, "job"), "r-odd");
	assert_string_equal(str_of(&r, "state"), "failed");
	assert_string_equal(str_of(&r, "trigger"), "schedule");
	assert_string_equal(str_of(&r, "scheduled_at"), "2026-03-08T07:16:00.000Z");
	assert_int_equal(int_of(&r, "duration_ms"), 1500);
	assert_true(json_is_null(member(&r, "params")));
	sh = json_array_get(member(&r, "shards"), 0);
	assert_int_equal(json_integer_value(json_object_get(sh, "exit_code")), 3);
	assert_string_equal(json_string_value(json_object_get(sh, "executor")), "local");
	assert_true(json_is_null(json_object_get(sh, "progress")));
	resp_free(&r);
	assert_int_equal(req(h, "GET", "/api/v1/runs/105", h->viewer, NULL, NULL, &r), 200);
	assert_true(json_is_null(member(&r, "duration_ms")));
	assert_true(json_is_null(member(&r, "finished_at")));
	resp_free(&r);
	assert_int_equal(req(h, "GET", "/api/v1/runs/999", h->viewer, NULL, NULL, &r), 404);
	resp_free(&r);

	assert_int_equal(req(h, "GET", "/api/v1/runs/106/log", h->viewer, NULL, NULL, &r), 200);
	assert_string_equal(r.body, "hello\nworld\n");
	assert_string_equal(r.next_offset, "12");
	assert_string_equal(r.run_state, "failed");
	assert_non_null(strstr(r.content_type, "text/plain"));
	resp_free(&r);
	assert_int_equal(req(h, "GET", "/api/v1/runs/106/log?offset=6&limit=3&shard=0", h->viewer,
	                     NULL, NULL, &r),
	                 200);
	assert_string_equal(r.body, "wor");
	assert_string_equal(r.next_offset, "9");
	resp_free(&r);
	assert_int_equal(req(h, "GET", "/api/v1/runs/101/log", h->viewer, NULL, NULL, &r), 200);
	assert_int_equal(r.len, 0);
	resp_free(&r);
	assert_int_equal(req(h, "GET", "/api/v1/runs/999/log", h->viewer, NULL, NULL, &r), 404);
	resp_free(&r);
	assert_int_equal(req(h, "GET", "/api/v1/runs/106/log?limit=0", h->viewer, NULL, NULL, &r),
	                 400);
	resp_free(&r);

	h->kill_finished = 106;
	assert_int_equal(req(h, "POST", "/api/v1/runs/105/kill", h->oper, NULL, NULL, &r), 202);
	assert_int_equal(int_of(&r, "run_id"), 105);
	resp_free(&r);
	assert_int_equal(h->killed, 105);
	assert_int_equal(req(h, "POST", "/api/v1/runs/106/kill", h->oper, NULL, NULL, &r), 409);
	assert_string_equal(err_code(&r), "conflict");
	resp_free(&r);
	assert_int_equal(req(h, "POST", "/api/v1/runs/1000001/kill", h->oper, NULL, NULL, &r), 404);
	resp_free(&r);
}

static void cron_preview_describes_and_lists_fires(void **state)
{
	struct harness *h = *state;
	struct resp r;
	json_t *next;
	int64_t a, b;

	assert_int_equal(req(h, "GET",
	                     "/api/v1/cron/preview?expr=0%2030%207%20*%20*%20%3F&tz=UTC&n=3",
	                     h->viewer, NULL, NULL, &r),
	                 200);
	assert_string_equal(str_of(&r, "expr"), "0 30 7 * * ?");
	assert_string_equal(str_of(&r, "timezone"), "UTC");
	assert_string_equal(str_of(&r, "kind"), "cron");
	assert_true(strlen(str_of(&r, "description")) > 0);
	next = member(&r, "next");
	assert_int_equal(json_array_size(next), 3);
	assert_non_null(strstr(json_string_value(json_array_get(next, 0)), "T07:30:00Z"));
	assert_int_equal(time_parse_rfc3339(json_string_value(json_array_get(next, 0)), &a), 0);
	assert_int_equal(time_parse_rfc3339(json_string_value(json_array_get(next, 1)), &b), 0);
	assert_int_equal(b - a, 24 * 3600 * 1000LL);
	resp_free(&r);

	assert_int_equal(
	    req(h, "GET", "/api/v1/cron/preview?expr=%40every%2010m", h->viewer, NULL, NULL, &r),
	    200);
	assert_string_equal(str_of(&r, "kind"), "every");
	assert_int_equal(json_array_size(member(&r, "next")), 5);
	resp_free(&r);
	assert_int_equal(
	    req(h, "GET", "/api/v1/cron/preview?expr=%40manual", h->viewer, NULL, NULL, &r), 200);
	assert_string_equal(str_of(&r, "kind"), "manual");
	assert_int_equal(json_array_size(member(&r, "next")), 0);
	resp_free(&r);

	assert_int_equal(req(h, "GET", "/api/v1/cron/preview?expr=0%200%2032%20*%20*%20%3F",
	                     h->viewer, NULL, NULL, &r),
	                 422);
	assert_string_equal(err_field(&r), "expr");
	resp_free(&r);
	assert_int_equal(req(h, "GET", "/api/v1/cron/preview?expr=%40daily&tz=Mars%2FOlympus",
	                     h->viewer, NULL, NULL, &r),
	                 422);
	assert_string_equal(err_field(&r), "tz");
	resp_free(&r);
	assert_int_equal(req(h, "GET", "/api/v1/cron/preview", h->viewer, NULL, NULL, &r), 422);
	assert_string_equal(err_field(&r), "expr");
	resp_free(&r);
	assert_int_equal(
	    req(h, "GET", "/api/v1/cron/preview?expr=%40daily&n=51", h->viewer, NULL, NULL, &r),
	    400);
	assert_string_equal(err_field(&r), "n");
	resp_free(&r);
}

struct racer {
	struct harness *h;
	long status;
};

static void *race_create(void *arg)
{
	struct racer *r = arg;
	struct resp rp;

	r->status =
	    req(r->h, "POST", "/api/v1/jobs", r->h->oper, SPEC("race", "@manual"), NULL, &rp);
	resp_free(&rp);
	return NULL;
}

static void concurrent_creates_make_one_job(void **state)
{
	struct harness *h = *state;
	struct racer rc[8];
	pthread_t t[8];
	int created = 0, conflicts = 0;
	struct resp r;

	for (int i = 0; i < 8; i++) {
		rc[i] = (struct racer){.h = h};
		assert_int_equal(pthread_create(&t[i], NULL, race_create, &rc[i]), 0);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		created += rc[i].status == 201;
		conflicts += rc[i].status == 409;
	}
	assert_int_equal(created, 1);
	assert_int_equal(conflicts, 7);
	assert_int_equal(req(h, "GET", "/api/v1/jobs/race", h->viewer, NULL, NULL, &r), 200);
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(r.json, "status"), "revision")), 1);
	resp_free(&r);
	assert_int_equal(req(h, "DELETE", "/api/v1/jobs/race", h->oper, NULL, NULL, &r), 204);
	resp_free(&r);
}

static void auth_failure_events_are_throttled(void **state)
{
	struct harness *h = *state;
	struct store_event_filter f = {.level = -1, .source = "auth", .limit = 1000};
	struct store_event *ev = NULL;
	size_t n = 0, failures = 0;
	struct resp r;

	/* Tests run well within a minute, so all of these fall in one window. */
	for (int i = 0; i < 120; i++) {
		assert_int_equal(req(h, "GET", "/api/v1/whoami", "bogus", NULL, NULL, &r), 401);
		resp_free(&r);
	}
	assert_int_equal(store_event_list(h->store, &f, &ev, &n), 0);
	for (size_t i = 0; i < n; i++) {
		failures += strncmp(ev[i].message, "auth failure from", 17) == 0;
		store_event_clear(&ev[i]);
	}
	free(ev);
	assert_int_equal(failures, API_AUTH_EVENTS_PER_MIN);
}

static void start_errors_and_ipv6(void **state)
{
	struct harness *h = *state, h6;
	struct api_options ao = {.store = h->store, .threads = 1};
	struct api *a = NULL;
	struct error_info e;
	char busy[32];
	struct resp r;
	int rc;

	ao.listen = "example.com:80";
	assert_int_equal(api_start(&ao, &a, &e), CLOVER_EINVAL);
	assert_string_equal(e.field, "listen");
	assert_null(a);
	snprintf(busy, sizeof(busy), "127.0.0.1:%d", api_port(h->api));
	ao.listen = busy;
	assert_int_equal(api_start(&ao, &a, &e), CLOVER_ESYS);
	assert_non_null(strstr(e.message, busy));
	assert_null(a);
	api_stop(NULL);

	ao.listen = "[::1]:0";
	rc = api_start(&ao, &a, &e);
	if (rc != 0) { /* no IPv6 loopback here */
		print_message("skipping IPv6: %s\n", e.message);
		return;
	}
	memset(&h6, 0, sizeof(h6));
	snprintf(h6.base, sizeof(h6.base), "http://[::1]:%d", api_port(a));
	assert_int_equal(req(&h6, "GET", "/api/v1/health", NULL, NULL, NULL, &r), 200);
	resp_free(&r);
	api_stop(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(health_answers_without_auth),
	    cmocka_unit_test(missing_or_bad_token_is_401_and_recorded),
	    cmocka_unit_test(unknown_paths_and_methods),
	    cmocka_unit_test(viewer_reads_but_cannot_write),
	    cmocka_unit_test(operator_writes_jobs_but_not_users),
	    cmocka_unit_test(job_create_get_delete),
	    cmocka_unit_test(job_put_creates_updates_and_honours_if_match),
	    cmocka_unit_test(job_list_pages_filters_and_searches),
	    cmocka_unit_test(job_list_filters_by_label),
	    cmocka_unit_test(pause_and_resume_announce_the_new_spec),
	    cmocka_unit_test(trigger_calls_the_hook),
	    cmocka_unit_test(bad_bodies_are_400_422_413),
	    cmocka_unit_test(runs_list_get_log_and_kill),
	    cmocka_unit_test(cron_preview_describes_and_lists_fires),
	    cmocka_unit_test(concurrent_creates_make_one_job),
	    cmocka_unit_test(auth_failure_events_are_throttled),
	    cmocka_unit_test(start_errors_and_ipv6),
	    cmocka_unit_test(executors_cluster_and_controls),
	    cmocka_unit_test(jobs_show_and_filter_by_last_run),
	};
	int rc;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = cmocka_run_group_tests(tests, harness_setup, harness_teardown);
	curl_global_cleanup();
	return rc;
}
