/* SPDX-License-Identifier: MIT */
/*
 * API tests of what the server shows of itself: GET /stats (aggregates from
 * the store's rollup, the daemon's next fires), /coord (browse, edit with
 * versions, ephemeral nodes refused, events recorded, roles, path errors) and
 * /metrics (roles or metrics_public, the text format line by line, counters
 * that grow). A real store and a real HTTP server (test-api-harness.c) with a
 * coordination tree and stub daemon hooks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test-api-harness.h"

#include "base/time.h"
#include "coord/coord.h"
#include "core/run.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fx {
	struct harness *h;
	struct coord *coord;
	uint64_t fires; /* what the metrics hook reports */
};

static size_t next_fires(void *ctx, struct api_fire *out, size_t max)
{
	(void)ctx;
	if (max < 2)
		return 0;
	snprintf(out[0].job, sizeof(out[0].job), "soon");
	out[0].at = 1795257060000LL;
	snprintf(out[1].job, sizeof(out[1].job), "later");
	out[1].at = 1795257120000LL;
	return 2;
}

static size_t executors(void *ctx, struct api_executor *out, size_t max)
{
	(void)ctx;
	if (max < 2)
		return 0;
	memset(out, 0, 2 * sizeof(*out));
	snprintf(out[0].id, sizeof(out[0].id), "local");
	snprintf(out[0].state, sizeof(out[0].state), "active");
	out[0].enabled = true;
	out[0].capacity = 8;
	out[0].running = 3;
	snprintf(out[1].id, sizeof(out[1].id), "w1");
	snprintf(out[1].state, sizeof(out[1].state), "active");
	out[1].enabled = false;
	out[1].capacity = 4;
	return 2;
}

static void metrics(void *ctx, struct api_metrics *out)
{
	struct fx *f = ctx;

	out->fires = __atomic_add_fetch(&f->fires, 5, __ATOMIC_RELAXED);
	out->jobs = 2;
	out->leader = true;
	out->partitions_owned = out->partitions_total = 1;
	out->nalerts = 1;
	out->alerts[0].outcome = "delivered";
	out->alerts[0].n = 7;
}

/* Restarts the harness' API with a tree, the stub hooks and `metrics_public`. */
static void restart(struct fx *f, bool metrics_public)
{
	struct api_options ao = {0};
	struct error_info e;

	api_stop(f->h->api);
	ao.listen = "127.0.0.1:0";
	ao.store = f->h->store;
	ao.threads = 2;
	ao.coord = f->coord;
	ao.metrics_public = metrics_public;
	ao.hooks.ctx = f;
	ao.hooks.next_fires = next_fires;
	ao.hooks.executors = executors;
	ao.hooks.metrics = metrics;
	assert_int_equal(api_start(&ao, &f->h->api, &e), 0);
	snprintf(f->h->base, sizeof(f->h->base), "http://127.0.0.1:%d", api_port(f->h->api));
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	void *h = NULL;

	if (f == NULL || harness_setup(&h) || coord_open_local(&f->coord))
		return -1;
	f->h = h;
	restart(f, false);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	void *h = f->h;

	harness_teardown(&h);
	coord_close(f->coord);
	free(f);
	return 0;
}

static void submit(struct harness *h, int64_t id, enum run_state st, enum run_trigger trig,
                   int64_t at)
{
	char job[32];
	struct run_rec r = {
	    .id = id,
	    .scheduled_at = at,
	    .trigger = trig,
	    .state = st,
	    .created_at = at,
	    .started_at = st == RUN_SKIPPED ? 0 : at + 25,
	    .finished_at = at + 50,
	};

	snprintf(job, sizeof(job), "j%lld", (long long)id);
	r.job = job;
	assert_int_equal(store_submit_run(h->store, &r), 0);
}

static void stats_come_from_the_rollup(void **state)
{
	struct fx *f = *state;
	struct harness *h = f->h;
	int64_t now = time_wall_ms();
	json_t *d, *m, *fl;
	struct resp r;

	assert_int_equal(store_job_put(h->store, "a", "{}", false, now, 0, NULL, NULL), 0);
	assert_int_equal(store_job_put(h->store, "b", "{}", true, now, 0, NULL, NULL), 0);
	for (int i = 1; i <= 5; i++)
		submit(h, i, RUN_SUCCEEDED, RUN_TRIG_SCHEDULE, now - 1000 * i);
	for (int i = 6; i <= 17; i++)
		submit(h, i, RUN_FAILED, RUN_TRIG_SCHEDULE, now - 1000 * i);
	submit(h, 18, RUN_TIMED_OUT, RUN_TRIG_MISFIRE, now - 2000);
	submit(h, 19, RUN_LOST, RUN_TRIG_SCHEDULE, now - 2000);
	submit(h, 20, RUN_SKIPPED, RUN_TRIG_MISFIRE, now - 2000);
	submit(h, 21, RUN_RUNNING, RUN_TRIG_MANUAL, now - 2000);
	assert_int_equal(store_flush(h->store), 0);
	assert_int_equal(coord_create(f->coord, "/clover/schedulers/s1", "{}", 2, COORD_EPHEMERAL,
	                              "scheduler:s1", true, NULL),
	                 0);

	assert_int_equal(req(h, "GET", "/api/v1/stats", NULL, NULL, NULL, &r), 401);
	resp_free(&r);
	assert_int_equal(req(h, "GET", "/api/v1/stats", h->viewer, NULL, NULL, &r), 200);
	d = r.json;
	assert_non_null(d);
	assert_int_equal(json_integer_value(json_object_get(d, "jobs")), 2);
	assert_int_equal(json_integer_value(json_object_get(d, "paused")), 1);
	assert_int_equal(json_integer_value(json_object_get(d, "running")), 1);
	assert_int_equal(json_integer_value(json_object_get(d, "failed_24h")), 14);
	assert_int_equal(json_integer_value(json_object_get(d, "misfired_24h")), 2);
	assert_int_equal(json_integer_value(json_object_get(d, "skipped_24h")), 1);
	assert_int_equal(json_integer_value(json_object_get(d, "executors")), 2);
	assert_int_equal(json_integer_value(json_object_get(d, "schedulers")), 1);
	assert_int_equal(json_array_size(json_object_get(d, "runs_per_minute")), 60);
	assert_int_equal(json_array_size(json_object_get(d, "runs_per_hour")), 24);
	assert_int_equal(json_array_size(json_object_get(d, "lateness")), 24);
	m = json_array_get(json_object_get(d, "runs_per_hour"), 23);
	assert_int_equal(json_integer_value(json_object_get(m, "succeeded")) +
	                     json_integer_value(json_object_get(m, "failed")),
	                 17);
	m = json_array_get(json_object_get(d, "lateness"), 23);
	assert_int_equal(json_integer_value(json_object_get(m, "n")), 19);
	assert_true(json_integer_value(json_object_get(m, "p50")) >= 20);
	assert_true(json_integer_value(json_object_get(m, "p50")) <= 30);
	fl = json_object_get(d, "latest_failures");
	assert_int_equal(json_array_size(fl), 10);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(fl, 0), "id")), 19);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(fl, 1), "id")), 18);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(fl, 2), "id")), 17);
	m = json_array_get(json_object_get(d, "next_fires"), 0);
	assert_string_equal(json_string_value(json_object_get(m, "job")), "soon");
	assert_string_equal(json_string_value(json_object_get(m, "at")),
	                    "2026-11-21T10:31:00.000Z");
	resp_free(&r);
}

static void coord_is_browsed_and_edited_with_versions(void **state)
{
	struct fx *f = *state;
	struct harness *h = f->h;
	struct store_event *ev = NULL;
	struct store_event_filter ef = {.level = -1, .source = "coord"};
	size_t nev = 0;
	struct resp r;

	assert_int_equal(coord_create(f->coord, "/clover/config", "{\"a\":1}", 7, COORD_PERSISTENT,
	                              NULL, true, NULL),
	                 0);
	assert_int_equal(coord_create(f->coord, "/clover/executors/w1", "{}", 2, COORD_EPHEMERAL,
	                              "executor:w1", true, NULL),
	                 0);

	assert_int_equal(req(h, "GET", "/api/v1/coord", h->viewer, NULL, NULL, &r), 200);
	assert_string_equal(json_string_value(json_object_get(r.json, "path")), "/");
	assert_string_equal(
	    json_string_value(json_array_get(json_object_get(r.json, "children"), 0)), "clover");
	resp_free(&r);
	assert_int_equal(
	    req(h, "GET", "/api/v1/coord?path=/clover/config", h->viewer, NULL, NULL, &r), 200);
	assert_string_equal(json_string_value(json_object_get(r.json, "data")), "{\"a\":1}");
	assert_int_equal(json_integer_value(json_object_get(r.json, "version")), 0);
	assert_false(json_is_true(json_object_get(r.json, "ephemeral")));
	assert_true(json_is_null(json_object_get(r.json, "owner")));
	assert_non_null(json_string_value(json_object_get(r.json, "created_at")));
	resp_free(&r);
	assert_int_equal(
	    req(h, "GET", "/api/v1/coord?path=/clover/executors/w1", h->viewer, NULL, NULL, &r),
	    200);
	assert_true(json_is_true(json_object_get(r.json, "ephemeral")));
	assert_string_equal(json_string_value(json_object_get(r.json, "owner")), "executor:w1");
	resp_free(&r);
	assert_int_equal(req(h, "GET", "/api/v1/coord?path=/nope", h->viewer, NULL, NULL, &r), 404);
	resp_free(&r);
	assert_int_equal(req(h, "GET", "/api/v1/coord?path=clover", h->viewer, NULL, NULL, &r),
	                 400);
	assert_string_equal(err_field(&r), "path");
	resp_free(&r);
	assert_int_equal(req(h, "GET", "/api/v1/coord?path=/a%20b", h->viewer, NULL, NULL, &r),
	                 400);
	resp_free(&r);
	assert_int_equal(req(h, "GET", "/api/v1/coord?path=/a/../b", h->viewer, NULL, NULL, &r),
	                 400);
	resp_free(&r);

	/* Writes are the admin's. */
	assert_int_equal(req(h, "PUT", "/api/v1/coord?path=/clover/config", h->oper,
	                     "{\"data\":\"x\",\"version\":0}", NULL, &r),
	                 403);
	resp_free(&r);
	assert_int_equal(req(h, "PUT", "/api/v1/coord?path=/clover/config", h->admin,
	                     "{\"data\":\"x\",\"version\":3}", NULL, &r),
	                 409);
	assert_string_equal(err_field(&r), "version");
	resp_free(&r);
	assert_int_equal(req(h, "PUT", "/api/v1/coord?path=/clover/config", h->admin,
	                     "{\"data\":\"x\"}", NULL, &r),
	                 422);
	resp_free(&r);
	assert_int_equal(req(h, "PUT", "/api/v1/coord?path=/clover/config", h->admin,
	                     "{\"data\":\"x\",\"version\":0,\"zz\":1}", NULL, &r),
	                 400);
	resp_free(&r);
	assert_int_equal(req(h, "PUT", "/api/v1/coord?path=/clover/config", h->admin,
	                     "{\"data\":\"{\\\"a\\\":2}\",\"version\":0}", NULL, &r),
	                 200);
	assert_string_equal(json_string_value(json_object_get(r.json, "data")), "{\"a\":2}");
	assert_int_equal(json_integer_value(json_object_get(r.json, "version")), 1);
	resp_free(&r);
	assert_int_equal(req(h, "PUT", "/api/v1/coord?path=/clover/new/node", h->admin,
	                     "{\"data\":null,\"version\":-1}", NULL, &r),
	                 404);
	resp_free(&r);
	assert_int_equal(req(h, "PUT", "/api/v1/coord?path=/clover/new/node", h->admin,
	                     "{\"data\":\"n\",\"version\":-1,\"create\":true}", NULL, &r),
	                 200);
	resp_free(&r);

	/* A live session's node is not for hands. */
	assert_int_equal(req(h, "PUT", "/api/v1/coord?path=/clover/executors/w1", h->admin,
	                     "{\"data\":\"x\",\"version\":-1}", NULL, &r),
	                 409);
	assert_non_null(
	    strstr(json_string_value(json_object_get(json_object_get(r.json, "error"), "message")),
	           "executor:w1"));
	resp_free(&r);
	assert_int_equal(
	    req(h, "DELETE", "/api/v1/coord?path=/clover/executors/w1", h->admin, NULL, NULL, &r),
	    409);
	resp_free(&r);

	/* Delete: leaves only, with the version when given. */
	assert_int_equal(
	    req(h, "DELETE", "/api/v1/coord?path=/clover/new", h->admin, NULL, NULL, &r), 409);
	resp_free(&r);
	assert_int_equal(req(h, "DELETE", "/api/v1/coord?path=/clover/config&version=0", h->admin,
	                     NULL, NULL, &r),
	                 409);
	resp_free(&r);
	assert_int_equal(
	    req(h, "DELETE", "/api/v1/coord?path=/clover/config", h->viewer, NULL, NULL, &r), 403);
	resp_free(&r);
	assert_int_equal(req(h, "DELETE", "/api/v1/coord?path=/clover/config&version=1", h->admin,
	                     NULL, NULL, &r),
	                 204);
	resp_free(&r);
	assert_int_equal(req(h, "DELETE", "/api/v1/coord", h->admin, NULL, NULL, &r), 400);
	resp_free(&r);
	assert_int_equal(
	    req(h, "GET", "/api/v1/coord?path=/clover/config", h->viewer, NULL, NULL, &r), 404);
	resp_free(&r);

	/* Each change is an event. */
	assert_int_equal(store_event_list(h->store, &ef, &ev, &nev), 0);
	assert_int_equal(nev, 3);
	assert_non_null(strstr(ev[0].message, "deleted coordination node /clover/config"));
	assert_non_null(strstr(ev[2].message, "set coordination node /clover/config"));
	for (size_t i = 0; i < nev; i++)
		store_event_clear(&ev[i]);
	free(ev);
}

/* True when `s` (n bytes) is a metric name: [a-zA-Z_:][a-zA-Z0-9_:]*. */
static bool metric_name(const char *s, size_t n)
{
	if (n == 0 || !(isalpha((unsigned char)s[0]) || s[0] == '_' || s[0] == ':'))
		return false;
	for (size_t i = 1; i < n; i++) {
		if (!(isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == ':'))
			return false;
	}
	return true;
}

/*
 * Checks the exposition line by line: HELP and TYPE precede a family's
 * samples, every sample is name{labels} value with a known family, and
 * returns the value of sample `want` (-1 when absent).
 */
static double check_exposition(const char *text, const char *want)
{
	char typed[128][64];
	size_t ntyped = 0;
	double found = -1;
	const char *p = text;

	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = (size_t)(nl - p), n = 0;
		char line[512];

		assert_non_null(nl); /* every line ends with \n */
		assert_true(len < sizeof(line));
		memcpy(line, p, len);
		line[len] = '\0';
		p = nl + 1;
		if (strncmp(line, "# HELP ", 7) == 0) {
			const char *sp = strchr(line + 7, ' ');

			assert_non_null(sp);
			assert_true(metric_name(line + 7, (size_t)(sp - line - 7)));
			continue;
		}
		if (strncmp(line, "# TYPE ", 7) == 0) {
			char name[64], type[32];

			assert_int_equal(sscanf(line + 7, "%63s %31s", name, type), 2);
			assert_true(metric_name(name, strlen(name)));
			assert_true(strcmp(type, "counter") == 0 || strcmp(type, "gauge") == 0 ||
			            strcmp(type, "histogram") == 0 || strcmp(type, "summary") == 0);
			assert_true(ntyped < 128);
			snprintf(typed[ntyped++], sizeof(typed[0]), "%s", name);
			continue;
		}
		assert_true(line[0] != '#' && line[0] != '\0');
		while (line[n] && line[n] != '{' && line[n] != ' ')
			n++;
		assert_true(metric_name(line, n));
		{
			bool known = false;
			char *val, *end;
			double v;

			for (size_t i = 0; i < ntyped && !known; i++) {
				size_t tl = strlen(typed[i]);

				known = strncmp(line, typed[i], tl) == 0 &&
				        (n == tl ||
				         (n > tl && (strcmp(line + tl, "_bucket") == 0 ||
				                     strncmp(line + tl, "_bucket{", 8) == 0 ||
				                     strncmp(line + tl, "_sum ", 5) == 0 ||
				                     strncmp(line + tl, "_count ", 7) == 0)));
			}
			assert_true(known);
			if (line[n] == '{') {
				char *close = strchr(line + n, '}');

				assert_non_null(close);
				val = close + 1;
			} else {
				val = line + n;
			}
			assert_true(*val == ' ');
			v = strtod(val + 1, &end);
			assert_true(end != val + 1 && *end == '\0');
			if (strncmp(line, want, strlen(want)) == 0 && line[strlen(want)] == ' ')
				found = v;
		}
	}
	return found;
}

static void metrics_parse_and_grow(void **state)
{
	struct fx *f = *state;
	struct harness *h = f->h;
	double fires1, fires2, ok1, ok2;
	struct resp r;

	submit(h, 1, RUN_SUCCEEDED, RUN_TRIG_SCHEDULE, time_wall_ms() - 100);
	assert_int_equal(store_flush(h->store), 0);
	assert_int_equal(req(h, "GET", "/metrics", NULL, NULL, NULL, &r), 401);
	resp_free(&r);
	assert_int_equal(req(h, "GET", "/metrics", h->viewer, NULL, NULL, &r), 200);
	assert_non_null(strstr(r.content_type, "text/plain; version=0.0.4"));
	fires1 = check_exposition(r.body, "clover_fires_total");
	ok1 = check_exposition(r.body, "clover_http_requests_total{code=\"200\"}");
	assert_true(check_exposition(r.body, "clover_runs_total{outcome=\"succeeded\"}") == 1);
	assert_true(check_exposition(r.body, "clover_run_lateness_seconds_count") == 1);
	assert_true(check_exposition(r.body, "clover_run_lateness_seconds_bucket{le=\"+Inf\"}") ==
	            1);
	assert_true(check_exposition(r.body, "clover_executors{state=\"active\"}") == 1);
	assert_true(check_exposition(r.body, "clover_executors{state=\"disabled\"}") == 1);
	assert_true(check_exposition(r.body, "clover_running_shards") == 3);
	assert_true(check_exposition(r.body, "clover_leader") == 1);
	assert_true(
	    check_exposition(r.body, "clover_alert_deliveries_total{outcome=\"delivered\"}") == 7);
	assert_true(check_exposition(r.body, "clover_store_queue_depth") >= 0);
	assert_true(check_exposition(r.body, "clover_store_commit_seconds_count") >= 1);
	resp_free(&r);
	/* The API's own path too; then the counters have grown. */
	assert_int_equal(req(h, "GET", "/api/v1/metrics", h->viewer, NULL, NULL, &r), 200);
	fires2 = check_exposition(r.body, "clover_fires_total");
	ok2 = check_exposition(r.body, "clover_http_requests_total{code=\"200\"}");
	assert_true(fires2 > fires1);
	assert_true(ok2 > ok1);
	assert_true(check_exposition(r.body, "clover_http_requests_total{code=\"401\"}") >= 1);
	resp_free(&r);

	restart(f, true); /* metrics_public = true */
	assert_int_equal(req(h, "GET", "/metrics", NULL, NULL, NULL, &r), 200);
	resp_free(&r);
	assert_int_equal(req(h, "GET", "/api/v1/stats", NULL, NULL, NULL, &r), 401);
	resp_free(&r);
	assert_int_equal(req(h, "GET", "/metrics?x=1", NULL, NULL, NULL, &r), 400);
	resp_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(stats_come_from_the_rollup, setup, teardown),
	    cmocka_unit_test_setup_teardown(coord_is_browsed_and_edited_with_versions, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(metrics_parse_and_grow, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
