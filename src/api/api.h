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
