/* SPDX-License-Identifier: MIT */
/*
 * The job spec: what operators write (docs/job-spec.md) and what the engine
 * schedules. A spec is parsed from JSON by job_spec_parse(), which validates
 * every field and reports the first problem with its field path
 * ("retry.backoff"). The original JSON text is kept (`json`) so a job reads
 * back exactly as it was applied; the parsed fields are for the engine.
 *
 * A job_spec is immutable once parsed: to change a job, parse a new spec.
 * Immutability lets the engine, the executor and the store share one spec
 * through reference counting (job_spec_ref / job_spec_unref, thread-safe).
 */
#ifndef CLOVER_CORE_JOB_H
#define CLOVER_CORE_JOB_H

#include "base/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JOB_NAME_MAX 128
#define JOB_SPEC_MAX_BYTES (256 * 1024) /* a spec's JSON text */
#define JOB_SHARDS_MAX 1024
#define JOB_RETRY_MAX 100

enum job_run_kind { JOB_RUN_SHELL, JOB_RUN_HTTP, JOB_RUN_HANDLER };
enum job_concurrency { JOB_CONC_FORBID, JOB_CONC_ALLOW, JOB_CONC_REPLACE, JOB_CONC_SERIAL };
enum job_misfire { JOB_MISFIRE_FIRE_ONCE, JOB_MISFIRE_SKIP, JOB_MISFIRE_FIRE_ALL };
enum job_route {
	JOB_ROUTE_ROUND_ROBIN,
	JOB_ROUTE_RANDOM,
	JOB_ROUTE_FIRST,
	JOB_ROUTE_LAST,
	JOB_ROUTE_CONSISTENT_HASH,
	JOB_ROUTE_LEAST_BUSY,
	JOB_ROUTE_LEAST_RECENT,
	JOB_ROUTE_BROADCAST,
};
enum job_shard_strategy { JOB_SHARD_AVERAGE, JOB_SHARD_ODEVITY, JOB_SHARD_ROTATE };

struct job_kv {
	char *key;
	char *val;
};

struct job_http {
	char *method; /* default "GET" */
	char *url;
	struct job_kv *headers;
	size_t nheaders;
	char *body;    /* NULL: none */
	int *expect;   /* accepted statuses; default {200..299} when nexpect == 0 */
	size_t nexpect;
};

struct cron_expr;
struct tz;

struct job_spec {
	char *json; /* the spec as applied (compact JSON text, without "status") */

	char *name;
	char *description;
	char *schedule;
	char *timezone; /* default "UTC" */
	struct cron_expr *cron;
	const struct tz *tz;

	enum job_run_kind run_kind;
	char *shell;          /* JOB_RUN_SHELL */
	struct job_http http; /* JOB_RUN_HTTP */
	char *handler;        /* JOB_RUN_HANDLER */
	char *handler_params;

	struct job_kv *env;
	size_t nenv;
	char *cwd;

	struct job_kv *labels; /* target.labels */
	size_t nlabels;
	enum job_route route;

	int shard_count; /* >= 1 */
	char **shard_params;
	size_t nshard_params;
	enum job_shard_strategy shard_strategy;

	enum job_concurrency concurrency;
	enum job_misfire misfire;
	int64_t misfire_threshold_ms; /* default 60 s */
	int64_t timeout_ms;           /* 0: none */
	int retry_max;                /* 0: no retries */
	int64_t retry_backoff_ms;     /* default 10 s */
	int64_t retry_max_backoff_ms; /* default 5 min */
	bool failover;                /* default true */
	char **contacts;
	size_t ncontacts;
	char **on_success;
	size_t non_success;
	bool paused;

	int refs; /* atomic */
};

/*
 * Parses and validates a job spec from JSON text of at most JOB_SPEC_MAX_BYTES.
 * A top-level "status" member (read-only data a GET returns) is ignored;
 * any other unknown member is an error. On success *out holds a new spec with
 * one reference; on error returns CLOVER_EPARSE / CLOVER_EINVAL / CLOVER_ETOOBIG
 * and fills `e` with the field path and a message.
 */
int job_spec_parse(const char *json, size_t len, struct job_spec **out, struct error_info *e);

/*
 * Returns a new spec equal to `spec` but with `paused` set to the given value
 * (its JSON updated accordingly), or NULL when out of memory.
 */
struct job_spec *job_spec_with_paused(const struct job_spec *spec, bool paused);

struct job_spec *job_spec_ref(struct job_spec *spec);
void job_spec_unref(struct job_spec *spec); /* frees at zero; NULL is a no-op */

/* True when `name` matches [A-Za-z0-9._-]{1,128}. */
bool job_name_valid(const char *name);

const char *job_concurrency_name(enum job_concurrency c);
const char *job_misfire_name(enum job_misfire m);
const char *job_route_name(enum job_route r);
const char *job_shard_strategy_name(enum job_shard_strategy s);
/* "shell", "http" or "handler": the member of "run" a kind stands for. */
const char *job_run_kind_name(enum job_run_kind k);

#endif
