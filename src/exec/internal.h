/* SPDX-License-Identifier: MIT */
/*
 * Internals of the built-in executor, shared by its files and by nothing else.
 *
 * Terms: a *task* is the pool's copy of one exec_request, from exec_submit()
 * until its FINISHED event has been delivered. A *worker* is one pool thread;
 * it takes tasks from the FIFO queue one at a time. A task submitted before
 * its not_before waits in a heap until the pool's timer thread moves it to
 * the FIFO at that instant. A *runner* executes a task
 * on its worker (shell.c, http.c, handler.c: one runner per file) and fills a
 * `struct exec_result`; pool.c emits STARTED before and FINISHED after it.
 *
 * Killing: exec_kill() and exec_pool_free() set the task's `kill` word (once:
 * the first reason wins) and poke the worker's eventfd `wakefd`, on which every
 * blocking runner also waits, so a kill is noticed at once.
 */
#ifndef CLOVER_EXEC_INTERNAL_H
#define CLOVER_EXEC_INTERNAL_H

#include "base/heap.h"
#include "exec/exec.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EXEC_MSG_MAX 1024 /* longest FINISHED message; longer ones are cut */

/* Why a task is being stopped; stored in exec_task.kill. */
enum exec_kill_kind {
	EXEC_KILL_NONE = 0,
	EXEC_KILL_CANCEL,   /* exec_kill(..., false) */
	EXEC_KILL_TIMEOUT,  /* spec timeout, or exec_kill(..., true) */
	EXEC_KILL_SHUTDOWN, /* exec_pool_free() */
};

struct exec_task {
	struct exec_task *next;  /* queue link (the FIFO, or the list of later tasks) */
	struct heap_node later;  /* in exec_pool.later while not yet due, if out of order */
	struct exec_request req; /* strings point into `strs`; holds a spec reference */
	atomic_int kill;         /* enum exec_kill_kind */
	atomic_bool done;        /* its FINISHED event is on its way */
	char strs[];             /* shard_param and params, NUL-terminated */
};

struct exec_worker {
	struct exec_pool *pool;
	pthread_t thread;
	int wakefd;             /* eventfd written by exec_kill() */
	struct exec_task *task; /* the task running now; under pool->lock */
	char *chunk;            /* log_chunk_max bytes for shell output, lazily */
	void *curl_easy;        /* http.c: kept per worker so connections are reused */
	void *curl_multi;
};

/* A handler registered by name; an append-only list read without locks. */
struct exec_handler {
	struct exec_handler *_Atomic next;
	exec_handler_fn fn;
	void *userdata;
	char name[];
};

struct exec_pool {
	struct exec_options opt; /* defaults filled in */
	pthread_mutex_t lock;    /* guards the queue, `idle`, `stopping`, workers[].task */
	pthread_cond_t cond;     /* workers wait here for tasks */
	struct exec_task *head, *tail;
	int queued; /* in the FIFO and in `later` */
	/*
	 * Tasks whose not_before is still ahead, by that instant: the timer thread
	 * moves them to the FIFO when it comes, so a burst of shards prepared for
	 * the same second occupies no worker until then and the workers are woken
	 * one by one, not all at once.
	 */
	struct heap later;
	/*
	 * Most tasks come in instant order (a scheduler's lead window): those wait
	 * in this list instead, appended and taken in O(1); `later` holds only
	 * the ones that arrive before an instant already listed.
	 */
	struct exec_task *lhead, *ltail;
	pthread_cond_t tcond; /* the timer thread waits here */
	pthread_t timer;
	bool timer_started;
	int idle;  /* workers waiting on `cond` */
	int wakes; /* signals sent that no worker has woken up for yet (0 or 1) */
	bool stopping;
	atomic_int busy; /* queued + running; decremented just before FINISHED */
	struct exec_worker *workers;
	int nworkers;

	pthread_mutex_t reg_lock; /* serialises exec_register() */
	struct exec_handler *_Atomic handlers;
	struct exec_handler *handlers_tail;
};

/* What a runner reports; pool.c turns it into the FINISHED event. */
struct exec_result {
	enum run_state state;
	int exit_code; /* -1 when none */
	char message[EXEC_MSG_MAX];
};

/* Handed to runners and to handler functions. */
struct exec_ctx {
	struct exec_pool *pool;
	struct exec_worker *worker;
	struct exec_task *task;
	int64_t deadline_ms; /* monotonic; 0 when the spec has no timeout */
};

/* Sets state, exit code and a printf-style message (NULL fmt: none). */
void exec_result_set(struct exec_result *res, enum run_state state, int exit_code, const char *fmt,
                     ...) __attribute__((format(printf, 4, 5)));

/*
 * Fills `res` for a task stopped for `kind` (CANCELLED, or TIMED_OUT with
 * "timed out after 10m"), keeping `exit_code`.
 */
void exec_result_killed(struct exec_result *res, const struct exec_ctx *ctx,
                        enum exec_kill_kind kind, int exit_code);

/* The task's kill reason now, or EXEC_KILL_NONE. Thread-safe. */
enum exec_kill_kind exec_ctx_kill_kind(const struct exec_ctx *ctx);

/*
 * Marks the task timed out unless another reason came first; returns the
 * reason that holds afterwards.
 */
enum exec_kill_kind exec_ctx_time_out(struct exec_ctx *ctx);

/* Empties the worker's eventfd after a wake-up. */
void exec_worker_drain_wake(struct exec_worker *w);

/* Delivers one EXEC_EV_LOG event per log_chunk_max bytes of `data`. */
void exec_emit_log(struct exec_ctx *ctx, const char *data, size_t len);

/* Delivers an EXEC_EV_PROGRESS event. */
void exec_emit_progress(struct exec_ctx *ctx, double fraction, const char *text);

/* The runners. Each fills `res`; none returns before its work has stopped. */
void exec_shell_run(struct exec_ctx *ctx, struct exec_result *res);
void exec_http_run(struct exec_ctx *ctx, struct exec_result *res);
void exec_handler_run(struct exec_ctx *ctx, struct exec_result *res);

/* Once per process: curl_global_init(). Thread-safe. Returns 0 or CLOVER_ESYS. */
int exec_http_global_init(void);
/* Frees the worker's curl handles; called by the worker as it exits. */
void exec_http_worker_free(struct exec_worker *w);

/* The registry: lookup (lock-free), the built-in `noop`, and teardown. */
const struct exec_handler *exec_handler_find(struct exec_pool *p, const char *name);
int exec_handler_register_builtins(struct exec_pool *p);
void exec_handlers_free(struct exec_pool *p);

#endif
