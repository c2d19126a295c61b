/* SPDX-License-Identifier: MIT */
/*
 * clover.h - the public API of libclover, the clover client library.
 *
 * Everything an application needs to become a clover executor lives here: error
 * codes, and (see docs/client-library.md) the worker API with which it registers
 * handler functions for jobs. No other header of the project is public.
 *
 * Conventions: functions return 0 on success or a negative CLOVER_E* code.
 * Codes are never renumbered; new ones are appended.
 */
#ifndef CLOVER_H
#define CLOVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* X(name, value, message) */
#define CLOVER_ERRNO_MAP(X)                                                                        \
	X(EINVAL, -1, "invalid argument")                                                          \
	X(ENOMEM, -2, "out of memory")                                                             \
	X(ENOENT, -3, "not found")                                                                 \
	X(EEXIST, -4, "already exists")                                                            \
	X(ERANGE, -5, "out of range")                                                              \
	X(EIO, -6, "input/output error")                                                           \
	X(ETOOBIG, -7, "too big")                                                                  \
	X(EPARSE, -8, "syntax error")                                                              \
	X(ESTORE, -9, "store error")                                                               \
	X(ECONFLICT, -10, "conflict")                                                              \
	X(EPERM, -11, "permission denied")                                                         \
	X(EAUTH, -12, "authentication required")                                                   \
	X(ESTATE, -13, "operation not valid in this state")                                        \
	X(ETIMEDOUT, -14, "timed out")                                                             \
	X(ECANCELED, -15, "cancelled")                                                             \
	X(EAGAIN, -16, "try again")                                                                \
	X(ESYS, -17, "system call failed")                                                         \
	X(ENOTSUP, -18, "not supported")                                                           \
	X(EPROTO, -19, "protocol error")                                                           \
	X(ECONN, -20, "connection failed")

enum clover_errno {
#define CLOVER__ERR_ENUM(name, val, msg) CLOVER_##name = (val),
	CLOVER_ERRNO_MAP(CLOVER__ERR_ENUM)
#undef CLOVER__ERR_ENUM
};

/*
 * Returns a static, human-readable message for a CLOVER_E* code (or "unknown
 * error"). Thread-safe; the string must not be freed.
 */
const char *clover_strerror(int code);

/* Returns the name of a code ("EINVAL"), or "UNKNOWN". Thread-safe. */
const char *clover_errname(int code);

/* ---- the worker: an executor inside an application ---- */

/*
 * A worker connects to one or more schedulers over the wire protocol
 * (docs/protocol.md), says hello with its id, labels, capacity, handler names
 * and declared jobs, and runs the shards they dispatch to it on a bounded pool
 * of handler threads: shell commands, HTTP calls, the built-in `noop`, and the
 * application's own handler functions. Results are kept in a spool (a local
 * SQLite file) until a scheduler acknowledges them, so a worker that loses
 * every scheduler keeps running and delivers its results later, also after
 * its own restart. See docs/client-library.md.
 *
 * Threads: clover_worker_new(), _handle(), _declare_job(), _run() and _free()
 * are called from one thread (the owner); clover_worker_stop() and
 * clover_worker_drain() from any thread or a signal handler. Handlers run on
 * the worker's handler threads, several at a time: they must be thread-safe
 * with respect to each other and to the rest of the application.
 */
typedef struct clover_worker clover_worker;

#if defined(__GNUC__) || defined(__clang__)
#define CLOVER__PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define CLOVER__PRINTF(fmt, args)
#endif

/* What a handler receives: the shard it runs. Valid only during the call. */
typedef struct clover_ctx clover_ctx;

/*
 * A handler: runs one shard and returns 0 for success, or nonzero for
 * failure, preferably through `return clover_ctx_fail(ctx, "why");`. It should
 * check clover_ctx_cancelled() now and then and return soon once it is true
 * (the shard was killed or is over its timeout; whatever it returns then, the
 * shard is recorded as cancelled or timed out).
 */
typedef int (*clover_handler_fn)(clover_ctx *ctx, void *userdata);

/*
 * Options of clover_worker_new(). Zero-initialise, then fill: every field has
 * a default. Strings are copied by clover_worker_new(); the caller keeps
 * ownership of what it passes.
 */
typedef struct clover_worker_options {
	/* Scheduler endpoints "tcp://host:port" (1 - 64). Required. */
	const char *const *schedulers;
	size_t nschedulers;
	/* The schedulers' CURVE public key: Z85 text (40 characters), or a file
	 * holding it (a .pub file made by `clover keygen`). One is required. */
	const char *server_key;
	const char *server_key_file;
	/* The worker's own key pair: `key` is a base name NAME that names NAME.key
	 * (the secret key; NAME.pub, when present, must match it), or
	 * `secret_key` is the secret key's Z85 text. One is required. */
	const char *key;
	const char *secret_key;
	/* Labels "key=value" (at most 64) that jobs target. */
	const char *const *labels;
	size_t nlabels;
	/* Shards run at a time (handler threads): 1 - 65536, default 16. */
	int capacity;
	/* The executor id: printable ASCII, 1 - 128 bytes; default the host name. */
	const char *id;
	/* The spool file; NULL keeps the spool in memory (results are then lost
	 * when the process ends before delivering them). */
	const char *spool;
} clover_worker_options;

/*
 * Makes a worker from `opt`: reads the keys, opens the spool (results left
 * by an earlier process of the same spool are delivered once connected) and
 * starts connecting to the schedulers in the background. Nothing runs until
 * clover_worker_run(). On success *out is the worker, owned by the caller
 * (clover_worker_free()). Errors: CLOVER_EINVAL (a bad option; the reason is
 * logged), CLOVER_EIO (a key file cannot be read), CLOVER_ESTORE (the spool),
 * CLOVER_ENOMEM; then *out is NULL. Call from the owner thread.
 */
int clover_worker_new(const clover_worker_options *opt, clover_worker **out);

/*
 * Registers handler function `fn` for jobs whose spec says
 * `"run": {"handler": "name"}`; `userdata` is passed to every call and stays
 * the caller's. `name`: 1 - 128 bytes, copied. Call before clover_worker_run().
 * Errors: CLOVER_EINVAL, CLOVER_EEXIST (the name is taken, e.g. "noop"),
 * CLOVER_ESTATE (the worker runs), CLOVER_ENOMEM.
 */
int clover_worker_handle(clover_worker *w, const char *name, clover_handler_fn fn,
                         void *userdata);

/*
 * Declares a job this application serves: `json` is a job spec
 * (docs/job-spec.md), validated and copied. Declared jobs travel in every
 * hello, and the scheduler creates them, or updates them unless an operator
 * changed them through the API (docs/executors.md). At most 1024 jobs and
 * 3 MiB of specs. Call before clover_worker_run(). Errors: CLOVER_EPARSE /
 * CLOVER_EINVAL (an invalid spec; logged), CLOVER_ETOOBIG, CLOVER_ESTATE,
 * CLOVER_ENOMEM.
 */
int clover_worker_declare_job(clover_worker *w, const char *json);

/*
 * Runs the worker on the calling thread until clover_worker_stop(), or until
 * it was drained (by a scheduler, or clover_worker_drain()) and everything it
 * ran has been delivered. On stop,
 * shards still running are cancelled, their results spooled (and sent when a
 * scheduler is connected), and every scheduler is told bye. Returns 0, or
 * CLOVER_ESTATE when called twice at once, CLOVER_ENOMEM / CLOVER_ESTORE /
 * CLOVER_EIO for failures that stop it. A worker may run again afterwards.
 */
int clover_worker_run(clover_worker *w);

/*
 * Asks clover_worker_run() to return. Thread-safe and async-signal-safe (an
 * atomic store and a write(2) to an eventfd); a stop before run() makes the
 * next run() return at once. NULL is a no-op.
 */
void clover_worker_stop(clover_worker *w);

/*
 * Asks clover_worker_run() to drain and return: take no new shards (the
 * schedulers are told at once), let the running ones finish, cancelling what
 * still runs `grace_ms` from now (negative: no limit), deliver the results,
 * say bye and return 0. Results that cannot be delivered (no scheduler
 * connected, or none acknowledged them within 2 s after the grace period)
 * stay in the spool for the next start. Thread-safe and async-signal-safe
 * (atomic stores and a write(2)). A later clover_worker_stop() still stops
 * at once. NULL is a no-op.
 */
void clover_worker_drain(clover_worker *w, int64_t grace_ms);

/*
 * Frees the worker, closing its connections and spool. Must not be called
 * while clover_worker_run() runs. NULL is a no-op.
 */
void clover_worker_free(clover_worker *w);

/* ---- inside a handler (all thread-safe for the handler's own ctx) ---- */

/* The job's name. Valid during the call. */
const char *clover_ctx_job(const clover_ctx *ctx);
/* The run's id in the scheduler's store. */
int64_t clover_ctx_run_id(const clover_ctx *ctx);
/* The instant the run was scheduled for: UTC epoch milliseconds. */
int64_t clover_ctx_scheduled_at(const clover_ctx *ctx);
/* This shard's index (0 .. shard_count - 1) and the run's number of shards. */
int clover_ctx_shard(const clover_ctx *ctx);
int clover_ctx_shard_count(const clover_ctx *ctx);
/* The job's parameter for this shard, or NULL. Valid during the call. */
const char *clover_ctx_shard_param(const clover_ctx *ctx);
/* 1 for the first execution of the shard, 2 for its first retry, ... */
int clover_ctx_attempt(const clover_ctx *ctx);
/* Parameters of a manual trigger (JSON text), or NULL. Valid during the call. */
const char *clover_ctx_params(const clover_ctx *ctx);
/* The handler's `params` from the job spec (JSON text), or NULL. */
const char *clover_ctx_handler_params(const clover_ctx *ctx);

/*
 * Reports progress: `fraction` 0..1 (negative: unknown) and an optional text
 * (copied; cut at 4096 bytes). Sent to the scheduler in the next batch.
 */
void clover_ctx_progress(clover_ctx *ctx, double fraction, const char *text);

/* Writes one line, printf-style, to the shard's log (a newline is added). */
void clover_ctx_log(clover_ctx *ctx, const char *fmt, ...) CLOVER__PRINTF(2, 3);

/* True once the shard was killed or ran over its timeout: return soon. */
bool clover_ctx_cancelled(const clover_ctx *ctx);

/*
 * Sets the shard's error message, printf-style (cut at 1 KiB), and returns
 * -1, for `return clover_ctx_fail(ctx, "no file %s", path);`. The last call
 * wins.
 */
int clover_ctx_fail(clover_ctx *ctx, const char *fmt, ...) CLOVER__PRINTF(2, 3);

#ifdef __cplusplus
}
#endif
#endif
