/* SPDX-License-Identifier: MIT */
/*
 * GET /stats: the console dashboard's aggregates (docs/api.md "Stats").
 *
 * Nothing here reads runs one by one: run counts and lateness come from the
 * store's rollup (store_run_stats(): a few thousand rollup rows whatever the
 * number of runs), the latest failures from three keyset reads of ten rows on
 * the runs_state index, the job counts from one count, the next fires from
 * the daemon's snapshot of the engine's timer heap (hooks.next_fires), the
 * executors from the daemon's registry and the schedulers from the
 * coordination tree.
 */
#include "api/internal.h"
#include "coord/coord.h"
#include "core/run.h"
#include "store/store.h"

#include <stdlib.h>
#include <string.h>

#define FAILURES_MAX 10
#define FIRES_MAX    10

/* Outcomes the charts show, in this order. */
static const enum run_state outcomes[] = {RUN_SUCCEEDED, RUN_FAILED, RUN_TIMED_OUT,
                                          RUN_SKIPPED,   RUN_LOST,   RUN_CANCELLED};
#define NOUTCOMES (sizeof(outcomes) / sizeof(outcomes[0]))

static json_t *counts_json(const struct store_run_counts *c, size_t n)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr && i < n; i++) {
		json_t *o = json_object();

		if (o == NULL || json_array_append_new(arr, o)) {
			json_decref(arr);
			return NULL;
		}
		json_object_set_new(o, "t", api_time_json(c[i].t));
		for (size_t k = 0; k < NOUTCOMES; k++)
			json_object_set_new(o, run_state_name(outcomes[k]),
			                    json_integer(c[i].n[outcomes[k]]));
	}
	return arr;
}

static json_t *lateness_json(const struct store_lateness *l, size_t n)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr && i < n; i++) {
		json_t *o = json_pack("{s:o, s:I, s:I, s:I, s:I}", "t", api_time_json(l[i].t), "n",
		                      (json_int_t)l[i].n, "p50", (json_int_t)l[i].p50, "p90",
		                      (json_int_t)l[i].p90, "p99", (json_int_t)l[i].p99);

		if (o == NULL || json_array_append_new(arr, o)) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

static int cmp_run_desc(const void *a, const void *b)
{
	const struct run_rec *x = a, *y = b;

	return x->id < y->id ? 1 : x->id > y->id ? -1 : 0;
}

/* The newest FAILURES_MAX runs that failed, timed out or were lost. */
static int failures_json(struct store *st, json_t **out)
{
	static const enum run_state bad[] = {RUN_FAILED, RUN_TIMED_OUT, RUN_LOST};
	struct run_rec all[3 * FAILURES_MAX];
	size_t nall = 0;
	int rc = 0;

	*out = NULL;
	for (size_t k = 0; k < 3 && rc == 0; k++) {
		struct store_run_filter f = {.state = (int)bad[k], .limit = FAILURES_MAX};
		struct run_rec *v = NULL;
		size_t n = 0;

		if ((rc = store_run_list(st, &f, &v, &n)))
			break;
		for (size_t i = 0; i < n; i++) {
			if (nall < 3 * FAILURES_MAX)
				all[nall++] = v[i];
			else
				run_rec_clear(&v[i]);
		}
		free(v);
	}
	qsort(all, nall, sizeof(all[0]), cmp_run_desc);
	if (rc == 0 && (*out = json_array()) == NULL)
		rc = CLOVER_ENOMEM;
	for (size_t i = 0; i < nall; i++) {
		if (rc == 0 && i < FAILURES_MAX &&
		    json_array_append_new(*out, api_run_json(&all[i])))
			rc = CLOVER_ENOMEM;
		run_rec_clear(&all[i]);
	}
	if (rc) {
		json_decref(*out);
		*out = NULL;
	}
	return rc;
}

static json_t *fires_json(struct api *a)
{
	struct api_fire f[FIRES_MAX];
	size_t n = a->hooks.next_fires ? a->hooks.next_fires(a->hooks.ctx, f, FIRES_MAX) : 0;
	json_t *arr = json_array();

	for (size_t i = 0; arr && i < n && i < FIRES_MAX; i++) {
		json_t *o = json_pack("{s:o, s:o}", "job", api_str_json(f[i].job), "at",
		                      api_time_json(f[i].at));

		if (o == NULL || json_array_append_new(arr, o)) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

/* Executors connected (the built-in one included); 0 when the daemon has none. */
static int64_t count_executors(struct api *a)
{
	struct api_executor *x;
	size_t n;

	if (a->hooks.executors == NULL)
		return 0;
	if ((x = calloc(API_EXECUTORS_MAX, sizeof(*x))) == NULL)
		return 0;
	n = a->hooks.executors(a->hooks.ctx, x, API_EXECUTORS_MAX);
	free(x);
	return (int64_t)n;
}

/* Schedulers published under /clover/schedulers; 1 (this one) without a tree. */
static int64_t count_schedulers(struct api *a)
{
	struct coord_node nd;
	int64_t n = 1;

	if (a->coord && coord_get(a->coord, "/clover/schedulers", &nd, NULL) == 0) {
		n = (int64_t)nd.st.nchildren;
		coord_node_clear(&nd);
	}
	return n;
}

void api_stats(struct api_req *rq, struct api_resp *rs)
{
	struct api *a = rq->api;
	struct store_run_stats *st = calloc(1, sizeof(*st));
	int64_t jobs = 0, paused = 0;
	json_t *doc = NULL, *failures = NULL;
	int rc;

	if (st == NULL) {
		api_reply_rc(rs, CLOVER_ENOMEM, NULL);
		return;
	}
	rc = store_run_stats(a->store, rq->now, st);
	if (rc == 0)
		rc = store_job_count(a->store, &jobs, &paused);
	if (rc == 0)
		rc = failures_json(a->store, &failures);
	if (rc) {
		free(st);
		api_reply_rc(rs, rc, NULL);
		return;
	}
	doc =
	    json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o*, s:o*, s:o*, s:o, s:o*}",
	              "jobs", (json_int_t)jobs, "paused", (json_int_t)paused, "running",
	              (json_int_t)st->running, "failed_24h",
	              (json_int_t)(st->finished_24h[RUN_FAILED] + st->finished_24h[RUN_TIMED_OUT] +
	                           st->finished_24h[RUN_LOST]),
	              "misfired_24h", (json_int_t)st->misfired_24h, "skipped_24h",
	              (json_int_t)st->finished_24h[RUN_SKIPPED], "executors",
	              (json_int_t)count_executors(a), "schedulers", (json_int_t)count_schedulers(a),
	              "runs_per_minute", counts_json(st->minutes, STORE_STATS_MINUTES),
	              "runs_per_hour", counts_json(st->hours, STORE_STATS_HOURS), "lateness",
	              lateness_json(st->lateness, STORE_STATS_HOURS), "latest_failures", failures,
	              "next_fires", fires_json(a));
	free(st);
	/* A NULL member ("o*") means out of memory: refuse rather than answer half. */
	if (doc &&
	    (!json_object_get(doc, "runs_per_minute") || !json_object_get(doc, "runs_per_hour") ||
	     !json_object_get(doc, "lateness") || !json_object_get(doc, "next_fires"))) {
		json_decref(doc);
		doc = NULL;
	}
	api_reply_json(rs, 200, doc);
}
