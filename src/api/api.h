/* SPDX-License-Identifier: MIT */
/*
 * The REST API server: JSON over HTTP under /api/v1 (docs/api.md), served by
 * libmicrohttpd from a pool of threads, authenticated with bearer tokens
 * (docs/security.md).
 *
 * The API reads and writes the store directly (jobs, runs, users, tokens) and
 * tells the daemon what changed through `struct api_hooks`, which it calls on
 * its HTTP threads. It never touches the engine: the daemon's hooks hand the
 * work over to the engine's thread.
 *
 * Terms: a *token* is the bearer secret "clv_<16 hex id>_<40 hex secret>"; the
 * store keeps only the hex SHA-256 of it. A *role* is viewer (read), operator
 * (read + job writes + run kill) or admin (everything).
 */
#ifndef CLOVER_API_API_H
#define CLOVER_API_API_H

#include "base/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct api;
struct store;
struct job_spec;
struct coord;

#define API_EXECUTORS_MAX 1024 /* executors one listing shows */

/* An executor as GET /executors shows it (filled by the daemon). */
struct api_executor {
	char id[129];
	char host[256];
	char labels[1024]; /* "k=v" lines, joined by newlines */
	char version[65];
	char state[16];    /* active, draining, ... */
	int capacity;
	int running;
	int64_t last_heartbeat; /* wall ms, 0: never */
	bool enabled;           /* false: disabled or draining, gets no new shards */
};

/* A fire to come, as GET /stats shows it (filled by the daemon). */
struct api_fire {
	char job[129];
	int64_t at; /* wall ms */
};

#define API_METRICS_ALERTS 8 /* alert outcomes /metrics shows */

/* The daemon's counters for /metrics (docs/operations.md "Monitoring"). */
struct api_metrics {
	uint64_t fires;          /* runs fired by the schedule (misfires included) */
	uint64_t misfires;       /* instants found missed */
	uint64_t retries;        /* attempts started again by the retry policy */
	uint64_t active_runs;    /* runs not in a final state in the engine */
	uint64_t jobs;           /* jobs the engine schedules */
	bool leader;             /* this scheduler leads (standalone: always) */
	int partitions_owned;    /* partitions this scheduler owns (standalone: 1) */
	int partitions_total;    /* partitions of the cluster (standalone: 1) */
	size_t nalerts;          /* alert reports by outcome (delivered, failed, ...) */
	struct {
		const char *outcome; /* a literal */
		uint64_t n;
	} alerts[API_METRICS_ALERTS];
	uint64_t alerts_dropped; /* alerts refused (queue full) */
};

struct api_hooks { /* implemented by the daemon; called on HTTP threads; all thread-safe */
	void *ctx;
	/*
	 * The job was created/updated/paused/resumed (spec != NULL, a reference the
	 * hook may keep via job_spec_ref) or deleted (spec == NULL); the store is
	 * already updated. May be NULL.
	 */
	void (*job_changed)(void *ctx, const char *name, struct job_spec *spec);
	/*
	 * Manual trigger with optional params (NULL: none); fills *run_id. Errors:
	 * CLOVER_ENOENT (no such job), others with e filled. NULL: triggering
	 * answers 501.
	 */
	int (*trigger)(void *ctx, const char *job, const char *params, int64_t *run_id,
	               struct error_info *e);
	/*
	 * Kill a running run: CLOVER_ENOENT, CLOVER_ESTATE (already finished).
	 * NULL: killing answers 501.
	 */
	int (*kill)(void *ctx, int64_t run_id, struct error_info *e);
	/*
	 * Fills up to `max` executors (the built-in one included) into `out` and
	 * returns how many there are. NULL: the executor routes answer 501.
	 */
	size_t (*executors)(void *ctx, struct api_executor *out, size_t max);
	/*
	 * `op` is "disable", "enable" or "drain" for executor `id`. Errors:
	 * CLOVER_ENOENT (no such executor), CLOVER_ESTATE (not possible now),
	 * with e filled. NULL: answers 501.
	 */
	int (*executor_control)(void *ctx, const char *id, const char *op, struct error_info *e);
	/*
	 * Fills up to `max` of the next scheduled fires, soonest first; returns
	 * how many. Must be cheap (the daemon keeps a snapshot). NULL: GET /stats
	 * shows none.
	 */
	size_t (*next_fires)(void *ctx, struct api_fire *out, size_t max);
	/* Fills the daemon's counters. NULL: /metrics shows only the API's and the store's. */
	void (*metrics)(void *ctx, struct api_metrics *out);
};

struct api_options {
	const char *listen;  /* "127.0.0.1:8080", "[::1]:8080", "0.0.0.0:80"; port 0 = pick one;
	                        NULL = "127.0.0.1:8080" */
	struct store *store; /* borrowed; must outlive the api */
	struct api_hooks hooks;
	const char *mode; /* "standalone" (NULL = "standalone"), shown by /health */
	int threads;      /* MHD thread pool size, default (0) 4 */
	/*
	 * Argon2id cost of the password hashes the API creates (POST /users).
	 * 0 = libsodium's INTERACTIVE limits; tests pass the MIN limits for speed.
	 */
	unsigned long long pwhash_opslimit;
	size_t pwhash_memlimit;
	/* The coordination tree GET/PUT/DELETE /coord show and edit (borrowed); NULL: 501. */
	struct coord *coord;
	/* /metrics answers without authentication (config metrics_public). */
	bool metrics_public;
};

/*
 * Binds the listen address and starts serving. On success *out owns the
 * server (stop it with api_stop). On error returns CLOVER_EINVAL (bad address
 * or options, e filled with field "listen"), CLOVER_ESYS (cannot bind,
 * e.g. the port is taken) or CLOVER_ENOMEM, and nothing is left running.
 */
int api_start(const struct api_options *opt, struct api **out, struct error_info *e);

/* The bound port (useful with port 0). Thread-safe. */
int api_port(const struct api *a);

/*
 * Stops accepting, waits for the requests in progress (and so for any hook
 * call they make) and frees the server. NULL is a no-op.
 */
void api_stop(struct api *a);

/*
 * Records one dispatch to a remote executor that took `ms` (from putting it on
 * the wire to the executor's ack accepting it) in the /metrics histogram
 * clover_dispatch_latency_seconds. Process-wide, lock-free, any thread.
 */
void api_metrics_dispatch(int64_t ms);

/*
 * Auth bootstrap, called by the daemon at start: if the store has no users,
 * creates user "admin" (role admin) with a random password written to
 * <data_dir>/admin.password and a token written to <data_dir>/admin.token
 * (both mode 0600, created atomically: write temp + rename; data_dir is
 * created with mode 0700 when missing). If users exist it does nothing, even
 * when admin.token is missing (an admin then makes a new token with the API
 * or the CLI). Returns 0, or a CLOVER_E* code with e filled.
 */
int auth_bootstrap(struct store *s, const char *data_dir, struct error_info *e);

#endif
