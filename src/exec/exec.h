/* SPDX-License-Identifier: MIT */
/*
 * The built-in executor: a bounded pool of worker threads that run shards of
 * jobs on this machine: shell commands (/bin/sh -c in their own process group),
 * HTTP calls (libcurl) and handler functions registered by name (`noop` is
 * built in). It reports what happens through one callback, called on the
 * worker threads: the receiver must hand events to its own thread (the daemon
 * posts them to the engine's queue).
 *
 * Events of one attempt come in order from one thread: STARTED, then LOG and
 * PROGRESS, then exactly one FINISHED per accepted request. The exception is
 * a request that never started (killed while queued, or still queued at
 * exec_pool_free()): its FINISHED alone is delivered on the thread calling
 * exec_kill() / exec_pool_free(), before that call returns. Pointers in an
 * event are valid only during the callback. The callback must not call
 * exec_pool_free().
 *
 * Timeouts and kills stop the whole process group: SIGTERM, then SIGKILL after
 * the grace period. See docs/executor.md.
 */
#ifndef CLOVER_EXEC_EXEC_H
#define CLOVER_EXEC_EXEC_H

#include "core/job.h"
#include "core/run.h"

#include <stddef.h>
#include <stdint.h>

struct exec_pool;

/* What to run: one attempt of one shard. Copied by exec_submit(). */
struct exec_request {
	int64_t run_id;
	int shard;
	int shard_count;
	int attempt;
	int64_t scheduled_at;
	struct job_spec *spec;   /* a reference is taken */
	const char *shard_param; /* or NULL */
	const char *params;      /* manual trigger params, or NULL */
	int64_t not_before;      /* wall-clock ms: do not start before (0: at once) */
};

enum exec_event_kind { EXEC_EV_STARTED, EXEC_EV_LOG, EXEC_EV_PROGRESS, EXEC_EV_FINISHED };

struct exec_event {
	enum exec_event_kind kind;
	int64_t run_id;
	int shard;
	int attempt;
	int64_t at; /* wall clock, ms */
	/* EXEC_EV_LOG */
	const char *data;
	size_t len;
	/* EXEC_EV_PROGRESS */
	double progress;
	/* EXEC_EV_FINISHED: state is SUCCEEDED, FAILED, TIMED_OUT or CANCELLED */
	enum run_state state;
	int exit_code;       /* -1 when none */
	const char *message; /* error or progress text, or NULL */
};

/* A handler function: returns 0 for success or sets *error (malloc'd) and returns nonzero. */
struct exec_ctx;
typedef int (*exec_handler_fn)(struct exec_ctx *ctx, void *userdata, char **error);

struct exec_options {
	int workers;           /* concurrent shards (default 64) */
	int queue_max;         /* requests waiting for a worker or their instant (default 100000) */
	int64_t kill_grace_ms; /* SIGTERM -> SIGKILL (default 5000) */
	size_t log_chunk_max;  /* largest EXEC_EV_LOG chunk (default 64 KiB) */
	void (*on_event)(void *ctx, const struct exec_event *ev);
	void *ctx;
};

int exec_pool_new(const struct exec_options *opt, struct exec_pool **out);
/* Kills what still runs (TERM, grace, KILL), reports it, joins the threads, frees. */
void exec_pool_free(struct exec_pool *p);

/* Registers a handler before the pool runs shards. CLOVER_EEXIST if taken. */
int exec_register(struct exec_pool *p, const char *name, exec_handler_fn fn, void *userdata);

/* Queues a request; CLOVER_EAGAIN when the queue is full. */
int exec_submit(struct exec_pool *p, const struct exec_request *req);

/*
 * Stops one attempt (queued or running): it finishes with state CANCELLED, or
 * TIMED_OUT when `timed_out`. CLOVER_ENOENT if the pool does not have it.
 */
int exec_kill(struct exec_pool *p, int64_t run_id, int shard, int attempt, bool timed_out);

/* Shards running or queued now. */
int exec_busy(struct exec_pool *p);

/* Inside a handler: */
const struct exec_request *exec_ctx_request(const struct exec_ctx *ctx);
void exec_ctx_progress(struct exec_ctx *ctx, double fraction, const char *text);
void exec_ctx_log(struct exec_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool exec_ctx_cancelled(const struct exec_ctx *ctx);

#endif
