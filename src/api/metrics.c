/* SPDX-License-Identifier: MIT */
/*
 * GET /metrics: the Prometheus text exposition format 0.0.4 (every family
 * with # HELP and # TYPE), built on request from counters that others keep
 * cheaply:
 *   - the store's writer (store_stats): runs by outcome and their lateness
 *     histogram, commits and their duration, the queue, written records;
 *   - the daemon (hooks.metrics, a snapshot it refreshes on its own thread):
 *     fires, misfires, retries, active runs, jobs, leader, partitions, alert
 *     reports; hooks.executors: executors by state and running shards;
 *   - this file: HTTP replies by status (one relaxed atomic add per reply,
 *     in struct api) and the dispatch latency histogram of remote
 *     executors (process-wide atomics fed by api_metrics_dispatch()).
 * Nothing here walks runs or jobs: a scrape costs the same with 100,000 jobs.
 */
#include "api/internal.h"
#include "base/buf.h"
#include "base/log.h"
#include "store/store.h"

#include <stdlib.h>
#include <string.h>

#define METRICS_MAX (256 * 1024) /* bytes of one exposition */

/* Dispatch latency buckets, ms (le); the last is +Inf. */
static const int64_t dispatch_bounds_ms[] = {1,   2,   5,    10,   20,   50,       100,
                                             200, 500, 1000, 2000, 5000, INT64_MAX};
#define DISPATCH_BUCKETS (sizeof(dispatch_bounds_ms) / sizeof(dispatch_bounds_ms[0]))
static uint64_t dispatch_count[DISPATCH_BUCKETS];
static uint64_t dispatch_sum_ms;

void api_metrics_dispatch(int64_t ms)
{
	size_t b = 0;

	if (ms < 0)
		ms = 0;
	while (b + 1 < DISPATCH_BUCKETS && dispatch_bounds_ms[b] < ms)
		b++;
	__atomic_fetch_add(&dispatch_count[b], 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&dispatch_sum_ms, (uint64_t)ms, __ATOMIC_RELAXED);
}

void api_metrics_count(struct api *a, int status)
{
	if (status < 0 || status >= API_STATUS_SLOTS)
		status = 0;
	__atomic_fetch_add(&a->http_status[status], 1, __ATOMIC_RELAXED);
}

/* "# HELP" and "# TYPE" of a family. */
static int family(struct buf *b, const char *name, const char *type, const char *help)
{
	return buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static int sample(struct buf *b, const char *name, uint64_t v)
{
	return buf_printf(b, "%s %llu\n", name, (unsigned long long)v);
}

/* A `le` bound in seconds from ms ("+Inf" for INT64_MAX). */
static void le_seconds(int64_t ms, char *out, size_t n)
{
	if (ms == INT64_MAX)
		snprintf(out, n, "+Inf");
	else
		snprintf(out, n, "%lld.%03lld", (long long)(ms / 1000), (long long)(ms % 1000));
}

/* A histogram family in seconds from per-bucket counts (not cumulative) in ms bounds. */
static int histogram(struct buf *b, const char *name, const char *help, const int64_t *bounds,
                     const uint64_t *counts, size_t n, uint64_t sum_us)
{
	uint64_t cum = 0;
	char le[32];
	int rc = family(b, name, "histogram", help);

	for (size_t i = 0; i < n && rc == 0; i++) {
		cum += counts[i];
		le_seconds(bounds[i], le, sizeof(le));
		rc =
		    buf_printf(b, "%s_bucket{le=\"%s\"} %llu\n", name, le, (unsigned long long)cum);
	}
	if (bounds[n - 1] != INT64_MAX && rc == 0)
		rc = buf_printf(b, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)cum);
	if (rc == 0)
		rc = buf_printf(b, "%s_sum %llu.%06llu\n%s_count %llu\n", name,
		                (unsigned long long)(sum_us / 1000000),
		                (unsigned long long)(sum_us % 1000000), name,
		                (unsigned long long)cum);
	return rc;
}

/* Executors by state (label values are the daemon's fixed words) and running shards. */
static int executors(struct api *a, struct buf *b)
{
	static const char *const states[] = {"active", "draining", "disabled", "other"};
	uint64_t by[4] = {0}, running = 0, capacity = 0;
	struct api_executor *x;
	size_t n;
	int rc;

	if (a->hooks.executors == NULL)
		return 0;
	if ((x = calloc(API_EXECUTORS_MAX, sizeof(*x))) == NULL)
		return CLOVER_ENOMEM;
	n = a->hooks.executors(a->hooks.ctx, x, API_EXECUTORS_MAX);
	if (n > API_EXECUTORS_MAX)
		n = API_EXECUTORS_MAX;
	for (size_t i = 0; i < n; i++) {
		size_t k = 3;

		if (!x[i].enabled && strcmp(x[i].state, "draining") != 0)
			k = 2;
		else if (strcmp(x[i].state, "active") == 0)
			k = 0;
		else if (strcmp(x[i].state, "draining") == 0)
			k = 1;
		by[k]++;
		running += x[i].running > 0 ? (uint64_t)x[i].running : 0;
		capacity += x[i].capacity > 0 ? (uint64_t)x[i].capacity : 0;
	}
	free(x);
	rc = family(b, "clover_executors", "gauge",
	            "Executors connected to this scheduler (the built-in one included), by state.");
	for (size_t k = 0; k < 4 && rc == 0; k++)
		rc = buf_printf(b, "clover_executors{state=\"%s\"} %llu\n", states[k],
		                (unsigned long long)by[k]);
	if (rc == 0)
		rc = family(b, "clover_running_shards", "gauge",
		            "Shards running on executors now (their last report).");
	if (rc == 0)
		rc = sample(b, "clover_running_shards", running);
	if (rc == 0)
		rc = family(b, "clover_executor_capacity", "gauge",
		            "Shards the connected executors can run at once.");
	if (rc == 0)
		rc = sample(b, "clover_executor_capacity", capacity);
	return rc;
}

static int daemon_part(struct api *a, struct buf *b)
{
	struct api_metrics m = {0};
	int rc;

	if (a->hooks.metrics == NULL)
		return 0;
	a->hooks.metrics(a->hooks.ctx, &m);
	rc = family(b, "clover_fires_total", "counter",
	            "Runs fired by the schedule (misfire runs included) since start.");
	if (rc == 0)
		rc = sample(b, "clover_fires_total", m.fires);
	if (rc == 0)
		rc = family(b, "clover_misfires_total", "counter",
		            "Scheduled instants found missed (fired late or skipped) since start.");
	if (rc == 0)
		rc = sample(b, "clover_misfires_total", m.misfires);
	if (rc == 0)
		rc = family(b, "clover_retries_total", "counter",
		            "Shard attempts started again by a retry policy since start.");
	if (rc == 0)
		rc = sample(b, "clover_retries_total", m.retries);
	if (rc == 0)
		rc = family(b, "clover_active_runs", "gauge",
		            "Runs not in a final state (pending, running, queued, retrying).");
	if (rc == 0)
		rc = sample(b, "clover_active_runs", m.active_runs);
	if (rc == 0)
		rc = family(b, "clover_jobs", "gauge", "Jobs this scheduler schedules.");
	if (rc == 0)
		rc = sample(b, "clover_jobs", m.jobs);
	if (rc == 0)
		rc = family(b, "clover_leader", "gauge",
		            "1 when this scheduler is the cluster's leader (standalone: 1).");
	if (rc == 0)
		rc = sample(b, "clover_leader", m.leader ? 1 : 0);
	if (rc == 0)
		rc =
		    family(b, "clover_partitions_owned", "gauge",
		           "Partitions of the job space this scheduler owns (standalone: 1 of 1).");
	if (rc == 0)
		rc = sample(b, "clover_partitions_owned", (uint64_t)m.partitions_owned);
	if (rc == 0)
		rc = family(b, "clover_partitions", "gauge", "Partitions of the job space.");
	if (rc == 0)
		rc = sample(b, "clover_partitions", (uint64_t)m.partitions_total);
	if (rc == 0)
		rc = family(b, "clover_alert_deliveries_total", "counter",
		            "Reports of alert messages (e-mail, webhook) by outcome since start.");
	for (size_t i = 0; i < m.nalerts && i < API_METRICS_ALERTS && rc == 0; i++)
		rc = buf_printf(b, "clover_alert_deliveries_total{outcome=\"%s\"} %llu\n",
		                m.alerts[i].outcome, (unsigned long long)m.alerts[i].n);
	if (rc == 0)
		rc = family(b, "clover_alerts_dropped_total", "counter",
		            "Alerts refused because the alert queue was full.");
	if (rc == 0)
		rc = sample(b, "clover_alerts_dropped_total", m.alerts_dropped);
	return rc;
}

static int store_part(struct api *a, struct buf *b)
{
	struct store_stats st;
	int rc;

	store_stats(a->store, &st);
	rc = family(b, "clover_runs_total", "counter",
	            "Runs recorded in a final state, by outcome (counted once, when durable).");
	for (int s = 0; s < RUN_STATE_COUNT && rc == 0; s++) {
		if (run_state_final((enum run_state)s))
			rc = buf_printf(b, "clover_runs_total{outcome=\"%s\"} %llu\n",
			                run_state_name((enum run_state)s),
			                (unsigned long long)st.finished[s]);
	}
	if (rc == 0)
		rc = histogram(b, "clover_run_lateness_seconds",
		               "Start of a run minus its scheduled instant, of runs that started.",
		               store_lateness_bounds_ms, st.lateness, STORE_LATENESS_BUCKETS,
		               st.lateness_sum_ms * 1000);
	if (rc == 0)
		rc = histogram(b, "clover_store_commit_seconds",
		               "Duration of the store writer's group commits.",
		               store_commit_bounds_ms, st.commit_ms, STORE_COMMIT_BUCKETS,
		               st.commit_sum_us);
	if (rc == 0)
		rc = family(b, "clover_store_queue_depth", "gauge",
		            "Run snapshots, logs and events waiting for the store writer.");
	if (rc == 0)
		rc = sample(b, "clover_store_queue_depth", st.queued);
	if (rc == 0)
		rc = family(b, "clover_store_records_total", "counter",
		            "Records submitted to the store writer, by what became of them.");
	if (rc == 0)
		rc = buf_printf(b,
		                "clover_store_records_total{result=\"submitted\"} %llu\n"
		                "clover_store_records_total{result=\"coalesced\"} %llu\n"
		                "clover_store_records_total{result=\"written\"} %llu\n"
		                "clover_store_records_total{result=\"duplicate\"} %llu\n"
		                "clover_store_records_total{result=\"rejected\"} %llu\n"
		                "clover_store_records_total{result=\"failed\"} %llu\n",
		                (unsigned long long)st.submitted, (unsigned long long)st.coalesced,
		                (unsigned long long)st.written, (unsigned long long)st.duplicates,
		                (unsigned long long)st.rejected, (unsigned long long)st.failed);
	return rc;
}

static int http_part(struct api *a, struct buf *b)
{
	uint64_t disp[DISPATCH_BUCKETS];
	int rc = family(b, "clover_http_requests_total", "counter",
	                "API requests answered since start, by HTTP status.");

	for (int s = 0; s < API_STATUS_SLOTS && rc == 0; s++) {
		uint64_t n = __atomic_load_n(&a->http_status[s], __ATOMIC_RELAXED);

		if (n)
			rc = buf_printf(b, "clover_http_requests_total{code=\"%d\"} %llu\n", s,
			                (unsigned long long)n);
	}
	for (size_t i = 0; i < DISPATCH_BUCKETS; i++)
		disp[i] = __atomic_load_n(&dispatch_count[i], __ATOMIC_RELAXED);
	if (rc == 0)
		rc = histogram(b, "clover_dispatch_latency_seconds",
		               "Dispatch to a remote executor until it accepts it (its ack).",
		               dispatch_bounds_ms, disp, DISPATCH_BUCKETS,
		               __atomic_load_n(&dispatch_sum_ms, __ATOMIC_RELAXED) * 1000);
	return rc;
}

void api_metrics(struct api_req *rq, struct api_resp *rs)
{
	struct api *a = rq->api;
	struct buf b;
	int rc;

	buf_init(&b, METRICS_MAX);
	rc = family(&b, "clover_info", "gauge", "This scheduler's version and mode (always 1).");
	if (rc == 0)
		rc = buf_printf(&b, "clover_info{version=\"%s\",mode=\"%s\"} 1\n", CLOVER_VERSION,
		                a->mode);
	if (rc == 0)
		rc = daemon_part(a, &b);
	if (rc == 0)
		rc = executors(a, &b);
	if (rc == 0)
		rc = store_part(a, &b);
	if (rc == 0)
		rc = http_part(a, &b);
	if (rc) {
		buf_free(&b);
		api_reply_rc(rs, rc, NULL);
		return;
	}
	api_reply_text(rs, 200, "text/plain; version=0.0.4; charset=utf-8", b.data ? b.data : "",
	               b.len);
	buf_free(&b);
}
