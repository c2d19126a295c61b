/* SPDX-License-Identifier: MIT */
/*
 * The executor pool: a FIFO queue of tasks bounded by queue_max and `workers`
 * threads that take them one at a time. This file owns the task life cycle:
 * exec_submit() copies the request into one allocation (the task) and takes a
 * spec reference; a worker pops it, emits STARTED, hands it to the runner for
 * its kind, emits FINISHED and frees it. exec_kill() either unlinks a queued
 * task (FINISHED CANCELLED at once, never STARTED) or flags a running one and
 * wakes its worker, which stops it (process group TERM, grace, KILL).
 *
 * A task whose not_before is ahead waits, not on a worker, in a list kept in
 * instant order (or, when it arrives out of order, in the `later` heap) until
 * the timer thread moves it to the queue (see timer_main).
 *
 * The hot path (one noop run) costs one malloc, one mutex hand-off on each
 * side and a condvar signal only when a worker is asleep.
 */
#include "exec/internal.h"

#include "base/duration.h"
#include "base/log.h"
#include "base/time.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_WORKERS       64
#define DEFAULT_QUEUE_MAX     100000
#define DEFAULT_KILL_GRACE_MS 5000
#define DEFAULT_LOG_CHUNK_MAX (64 * 1024)

void exec_result_set(struct exec_result *res, enum run_state state, int exit_code, const char *fmt,
                     ...)
{
	va_list ap;

	res->state = state;
	res->exit_code = exit_code;
	res->message[0] = '\0';
	if (fmt == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(res->message, sizeof(res->message), fmt, ap);
	va_end(ap);
}

void exec_result_killed(struct exec_result *res, const struct exec_ctx *ctx,
                        enum exec_kill_kind kind, int exit_code)
{
	char d[64];
	int64_t timeout = ctx->task->req.spec->timeout_ms;

	switch (kind) {
	case EXEC_KILL_TIMEOUT:
		if (timeout > 0)
			exec_result_set(res, RUN_TIMED_OUT, exit_code, "timed out after %s",
			                duration_format(timeout, d, sizeof(d)));
		else
			exec_result_set(res, RUN_TIMED_OUT, exit_code, "timed out");
		break;
	case EXEC_KILL_SHUTDOWN:
		exec_result_set(res, RUN_CANCELLED, exit_code, "cancelled: executor shutting down");
		break;
	default:
		exec_result_set(res, RUN_CANCELLED, exit_code, "cancelled");
		break;
	}
}

enum exec_kill_kind exec_ctx_kill_kind(const struct exec_ctx *ctx)
{
	return (enum exec_kill_kind)atomic_load_explicit(&ctx->task->kill, memory_order_acquire);
}

enum exec_kill_kind exec_ctx_time_out(struct exec_ctx *ctx)
{
	int expect = EXEC_KILL_NONE;

	if (atomic_compare_exchange_strong(&ctx->task->kill, &expect, EXEC_KILL_TIMEOUT))
		return EXEC_KILL_TIMEOUT;
	return (enum exec_kill_kind)expect;
}

void exec_worker_drain_wake(struct exec_worker *w)
{
	uint64_t v;

	while (read(w->wakefd, &v, sizeof(v)) > 0)
		;
}

static void wake(struct exec_worker *w)
{
	uint64_t one = 1;

	/* Nonblocking; a full counter already means "awake". */
	if (write(w->wakefd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_at(LOG_WARN, "exec", "cannot wake worker: %s", strerror(errno));
}

static void emit(struct exec_pool *p, const struct exec_task *t, struct exec_event *ev)
{
	ev->run_id = t->req.run_id;
	ev->shard = t->req.shard;
	ev->attempt = t->req.attempt;
	ev->at = time_wall_ms();
	p->opt.on_event(p->opt.ctx, ev);
}

void exec_emit_log(struct exec_ctx *ctx, const char *data, size_t len)
{
	size_t max = ctx->pool->opt.log_chunk_max;

	while (len > 0) {
		struct exec_event ev = {.kind = EXEC_EV_LOG, .exit_code = -1};
		size_t n = len < max ? len : max;

		ev.data = data;
		ev.len = n;
		emit(ctx->pool, ctx->task, &ev);
		data += n;
		len -= n;
	}
}

void exec_emit_progress(struct exec_ctx *ctx, double fraction, const char *text)
{
	struct exec_event ev = {.kind = EXEC_EV_PROGRESS, .exit_code = -1};

	if (!(fraction >= 0)) /* negative or NaN: unknown */
		fraction = -1;
	else if (fraction > 1)
		fraction = 1;
	ev.progress = fraction;
	ev.message = text;
	emit(ctx->pool, ctx->task, &ev);
}

static void emit_finished(struct exec_pool *p, struct exec_task *t, const struct exec_result *res)
{
	struct exec_event ev = {.kind = EXEC_EV_FINISHED};

	ev.state = res->state;
	ev.exit_code = res->exit_code;
	ev.message = res->message[0] ? res->message : NULL;
	atomic_store_explicit(&t->done, true, memory_order_relaxed);
	/* Before the event, so a receiver that sees FINISHED sees the count drop. */
	atomic_fetch_sub_explicit(&p->busy, 1, memory_order_release);
	emit(p, t, &ev);
}

static void task_free(struct exec_task *t)
{
	if (t == NULL)
		return;
	job_spec_unref(t->req.spec);
	free(t);
}

static void run_task(struct exec_worker *w, struct exec_task *t)
{
	struct exec_pool *p = w->pool;
	struct exec_ctx ctx = {.pool = p, .worker = w, .task = t};
	struct exec_event ev = {.kind = EXEC_EV_STARTED, .exit_code = -1};
	struct exec_result res;
	enum exec_kill_kind kind;

	if (t->req.spec->timeout_ms > 0)
		ctx.deadline_ms = time_mono_ms() + t->req.spec->timeout_ms;
	emit(p, t, &ev);

	kind = exec_ctx_kill_kind(&ctx);
	if (kind != EXEC_KILL_NONE) {
		exec_result_killed(&res, &ctx, kind, -1);
	} else {
		switch (t->req.spec->run_kind) {
		case JOB_RUN_SHELL:
			exec_shell_run(&ctx, &res);
			break;
		case JOB_RUN_HTTP:
			exec_http_run(&ctx, &res);
			break;
		case JOB_RUN_HANDLER:
			exec_handler_run(&ctx, &res);
			break;
		default:
			exec_result_set(&res, RUN_FAILED, -1, "unknown run kind %d",
			                (int)t->req.spec->run_kind);
			break;
		}
	}
	emit_finished(p, t, &res);
}

/*
 * Wakes a sleeping worker for the queue's head, unless one is already on its
 * way: at most one wake-up is pending, and each worker that wakes passes the
 * baton on (above) while work remains. A burst of submits thus costs one
 * futex wake per worker actually needed, not one per submit, and 64 workers
 * do not stampede two cores for a queue a few of them could drain. Called
 * with p->lock held.
 */
static void wake_one(struct exec_pool *p)
{
	if (p->head != NULL && p->idle > p->wakes && p->wakes == 0) {
		p->wakes++;
		pthread_cond_signal(&p->cond);
	}
}

/* Appends `t` to the FIFO. Called with p->lock held. */
static void fifo_push(struct exec_pool *p, struct exec_task *t)
{
	t->next = NULL;
	if (p->tail)
		p->tail->next = t;
	else
		p->head = t;
	p->tail = t;
}

/* The task waiting for the earliest instant, or NULL. Called with p->lock held. */
static struct exec_task *later_min(struct exec_pool *p)
{
	struct heap_node *n = heap_min(&p->later);

	if (n != NULL && (p->lhead == NULL || n->deadline < p->lhead->req.not_before))
		return container_of(n, struct exec_task, later);
	return p->lhead;
}

/* Takes `t`, found by later_min(), out of the waiting tasks. */
static void later_take_min(struct exec_pool *p, struct exec_task *t)
{
	if (t == p->lhead) {
		p->lhead = t->next;
		if (p->lhead == NULL)
			p->ltail = NULL;
	} else {
		heap_remove(&p->later, &t->later);
	}
}

/*
 * Moves the list's tasks that are due at `now` to the FIFO in one splice
 * unless the heap holds an earlier one (then later_min() interleaves them).
 * Returns how many moved. Called with p->lock held.
 */
static int later_list_due(struct exec_pool *p, int64_t now)
{
	struct heap_node *n = heap_min(&p->later);
	struct exec_task *last = NULL, *t;
	int moved = 0;

	if (n != NULL && n->deadline <= now)
		return 0;
	for (t = p->lhead; t != NULL && t->req.not_before <= now; t = t->next) {
		last = t;
		moved++;
	}
	if (last == NULL)
		return 0;
	if (p->tail)
		p->tail->next = p->lhead;
	else
		p->head = p->lhead;
	p->tail = last;
	p->lhead = last->next;
	last->next = NULL;
	if (p->lhead == NULL)
		p->ltail = NULL;
	return moved;
}

/*
 * The timer thread: moves each waiting task to the FIFO when its not_before
 * comes (the realtime clock, as not_before is wall-clock time), in instant
 * order: the due part of the list in one splice, tasks of the heap
 * TIMER_CHUNK at a time so that submitters and workers get the lock between
 * chunks of a burst.
 */
#define TIMER_CHUNK 256

static void *timer_main(void *arg)
{
	struct exec_pool *p = arg;

	pthread_mutex_lock(&p->lock);
	while (!p->stopping) {
		struct exec_task *t = NULL;
		int64_t now = time_wall_ms();
		int moved = later_list_due(p, now);

		while (moved < TIMER_CHUNK && (t = later_min(p)) != NULL &&
		       t->req.not_before <= now) {
			later_take_min(p, t);
			fifo_push(p, t);
			moved++;
		}
		if (moved > 0) {
			wake_one(p);
			pthread_mutex_unlock(&p->lock);
			pthread_mutex_lock(&p->lock);
		} else if (t == NULL) {
			pthread_cond_wait(&p->tcond, &p->lock);
		} else {
			struct timespec ts = {(time_t)(t->req.not_before / 1000),
			                      (long)(t->req.not_before % 1000) * 1000000L};

			pthread_cond_timedwait(&p->tcond, &p->lock, &ts);
		}
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

static void *worker_main(void *arg)
{
	struct exec_worker *w = arg;
	struct exec_pool *p = w->pool;
	struct exec_task *t, *done = NULL;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (p->head == NULL && !p->stopping) {
			p->idle++;
			pthread_cond_wait(&p->cond, &p->lock);
			p->idle--;
			if (p->wakes > 0)
				p->wakes--;
		}
		t = p->head;
		if (t == NULL)
			break; /* stopping, and exec_pool_free() took the queue */
		p->head = t->next;
		if (p->head == NULL)
			p->tail = NULL;
		p->queued--;
		w->task = t;
		wake_one(p); /* the next task's worker, if any sleeps */
		pthread_mutex_unlock(&p->lock);

		/* The previous task is freed outside the lock: unref may free a spec. */
		task_free(done);
		run_task(w, t);

		pthread_mutex_lock(&p->lock);
		w->task = NULL;
		done = t;
	}
	pthread_mutex_unlock(&p->lock);
	task_free(done);
	exec_http_worker_free(w);
	free(w->chunk);
	w->chunk = NULL;
	return NULL;
}

/* Stops and joins the first `started` threads, then frees the pool. */
static void pool_destroy(struct exec_pool *p, int started)
{
	pthread_mutex_lock(&p->lock);
	p->stopping = true;
	pthread_cond_broadcast(&p->cond);
	pthread_cond_signal(&p->tcond);
	pthread_mutex_unlock(&p->lock);
	if (p->timer_started)
		pthread_join(p->timer, NULL);
	for (int i = 0; i < started; i++)
		pthread_join(p->workers[i].thread, NULL);
	for (int i = 0; i < p->nworkers; i++)
		if (p->workers[i].wakefd >= 0)
			close(p->workers[i].wakefd);
	free(p->workers);
	exec_handlers_free(p);
	heap_free(&p->later);
	pthread_cond_destroy(&p->tcond);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	pthread_mutex_destroy(&p->reg_lock);
	free(p);
}

/*
 * Creates a pool and starts its worker threads (they block every asynchronous
 * signal, so process-directed signals go to the daemon's own threads). Zero
 * fields of `opt` take the defaults of exec.h; on_event is required. Returns
 * 0 and the pool in *out (free it with exec_pool_free()), or CLOVER_EINVAL,
 * CLOVER_ENOMEM or CLOVER_ESYS with *out set to NULL.
 */
int exec_pool_new(const struct exec_options *opt, struct exec_pool **out)
{
	struct exec_pool *p;
	sigset_t all, old;
	int rc = CLOVER_ENOMEM, started = 0;

	if (out == NULL)
		return CLOVER_EINVAL;
	*out = NULL;
	if (opt == NULL || opt->on_event == NULL || opt->workers < 0 || opt->queue_max < 0 ||
	    opt->kill_grace_ms < 0)
		return CLOVER_EINVAL;
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return CLOVER_ENOMEM;
	p->opt = *opt;
	if (p->opt.workers == 0)
		p->opt.workers = DEFAULT_WORKERS;
	if (p->opt.queue_max == 0)
		p->opt.queue_max = DEFAULT_QUEUE_MAX;
	if (p->opt.kill_grace_ms == 0)
		p->opt.kill_grace_ms = DEFAULT_KILL_GRACE_MS;
	if (p->opt.log_chunk_max == 0)
		p->opt.log_chunk_max = DEFAULT_LOG_CHUNK_MAX;
	atomic_init(&p->busy, 0);
	atomic_init(&p->handlers, NULL);
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	pthread_cond_init(&p->tcond, NULL);
	heap_init(&p->later);
	pthread_mutex_init(&p->reg_lock, NULL);

	p->workers = calloc((size_t)p->opt.workers, sizeof(*p->workers));
	if (p->workers == NULL)
		goto fail;
	p->nworkers = p->opt.workers;
	for (int i = 0; i < p->nworkers; i++)
		p->workers[i].wakefd = -1;
	for (int i = 0; i < p->nworkers; i++) {
		p->workers[i].pool = p;
		p->workers[i].wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (p->workers[i].wakefd < 0) {
			rc = error_from_errno(errno);
			goto fail;
		}
	}
	rc = exec_handler_register_builtins(p);
	if (rc)
		goto fail;
	/* Before any thread of ours exists: older libcurls need that. */
	if (exec_http_global_init())
		log_at(LOG_WARN, "exec", "libcurl failed to initialise: HTTP jobs will fail");

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (; started < p->nworkers; started++) {
		int err = pthread_create(&p->workers[started].thread, NULL, worker_main,
		                         &p->workers[started]);
		if (err) {
			rc = error_from_errno(err);
			break;
		}
	}
	if (started == p->nworkers) {
		int err = pthread_create(&p->timer, NULL, timer_main, p);

		if (err)
			rc = error_from_errno(err);
		p->timer_started = err == 0;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (started < p->nworkers || !p->timer_started)
		goto fail;
	*out = p;
	return 0;
fail:
	pool_destroy(p, started);
	return rc;
}

/*
 * Stops the pool: requests still queued finish CANCELLED ("executor shutting
 * down") on the calling thread; running ones are killed (process groups get
 * SIGTERM, then SIGKILL after kill_grace_ms) and report FINISHED from their
 * workers. Returns after every thread has been joined and everything freed,
 * so no event arrives afterwards. NULL is a no-op. Not to be called from
 * on_event, nor concurrently with other calls on the same pool.
 */
void exec_pool_free(struct exec_pool *p)
{
	struct exec_task *q, *next;
	struct exec_result res;
	int running = 0;

	if (p == NULL)
		return;
	pthread_mutex_lock(&p->lock);
	p->stopping = true;
	/* The tasks not yet due join the queue's, to be cancelled with them. */
	for (struct exec_task *t; (t = later_min(p)) != NULL;) {
		later_take_min(p, t);
		fifo_push(p, t);
	}
	q = p->head;
	p->head = p->tail = NULL;
	p->queued = 0;
	for (int i = 0; i < p->nworkers; i++) {
		struct exec_task *t = p->workers[i].task;
		int expect = EXEC_KILL_NONE;

		if (t == NULL || atomic_load_explicit(&t->done, memory_order_relaxed))
			continue;
		running++;
		atomic_compare_exchange_strong(&t->kill, &expect, EXEC_KILL_SHUTDOWN);
		wake(&p->workers[i]);
	}
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);

	if (q != NULL || running > 0)
		log_at(LOG_INFO, "exec", "shutting down: cancelling %d running shard(s)%s", running,
		       q ? " and the queue" : "");
	exec_result_set(&res, RUN_CANCELLED, -1, "cancelled: executor shutting down");
	for (; q != NULL; q = next) {
		next = q->next;
		emit_finished(p, q, &res);
		task_free(q);
	}
	pool_destroy(p, p->nworkers);
}

/*
 * Registers `fn` under `name` for handler jobs; `userdata` is passed to every
 * call. The name is copied. Meant for start-up, but safe at any time: a
 * handler registered while shards run serves the shards that start later.
 * Returns 0, CLOVER_EINVAL, CLOVER_EEXIST when the name is taken, or
 * CLOVER_ENOMEM.
 */
int exec_register(struct exec_pool *p, const char *name, exec_handler_fn fn, void *userdata)
{
	struct exec_handler *h;
	size_t n;
	int rc = 0;

	if (p == NULL || name == NULL || name[0] == '\0' || fn == NULL)
		return CLOVER_EINVAL;
	n = strlen(name);
	pthread_mutex_lock(&p->reg_lock);
	if (exec_handler_find(p, name) != NULL) {
		rc = CLOVER_EEXIST;
		goto out;
	}
	h = malloc(sizeof(*h) + n + 1);
	if (h == NULL) {
		rc = CLOVER_ENOMEM;
		goto out;
	}
	atomic_init(&h->next, NULL);
	h->fn = fn;
	h->userdata = userdata;
	memcpy(h->name, name, n + 1);
	/* Appended, so the built-in noop stays first for the hot path. */
	if (p->handlers_tail == NULL)
		atomic_store_explicit(&p->handlers, h, memory_order_release);
	else
		atomic_store_explicit(&p->handlers_tail->next, h, memory_order_release);
	p->handlers_tail = h;
out:
	pthread_mutex_unlock(&p->reg_lock);
	return rc;
}

/*
 * Queues a copy of `req` (strings copied, a reference to req->spec taken).
 * Thread-safe. Returns 0, after which exactly one FINISHED event will follow;
 * CLOVER_EAGAIN when queue_max requests are already waiting; CLOVER_EINVAL
 * for a request without a spec; CLOVER_ESTATE while the pool is being freed;
 * CLOVER_ENOMEM. On error no event is ever delivered for the request.
 */
int exec_submit(struct exec_pool *p, const struct exec_request *req)
{
	struct exec_task *t;
	size_t lp, lq;
	bool later;
	int rc = 0;

	if (p == NULL || req == NULL || req->spec == NULL)
		return CLOVER_EINVAL;
	lp = req->shard_param ? strlen(req->shard_param) + 1 : 0;
	lq = req->params ? strlen(req->params) + 1 : 0;
	t = malloc(sizeof(*t) + lp + lq);
	if (t == NULL)
		return CLOVER_ENOMEM;
	t->req = *req;
	atomic_init(&t->kill, EXEC_KILL_NONE);
	atomic_init(&t->done, false);
	if (lp) {
		memcpy(t->strs, req->shard_param, lp);
		t->req.shard_param = t->strs;
	}
	if (lq) {
		memcpy(t->strs + lp, req->params, lq);
		t->req.params = t->strs + lp;
	}

	heap_node_init(&t->later);
	later = t->req.not_before > time_wall_ms();

	pthread_mutex_lock(&p->lock);
	if (p->stopping)
		rc = CLOVER_ESTATE;
	else if (p->queued >= p->opt.queue_max)
		rc = CLOVER_EAGAIN;
	else if (later && p->ltail && t->req.not_before < p->ltail->req.not_before)
		rc = heap_insert(&p->later, &t->later, t->req.not_before);
	if (rc) {
		pthread_mutex_unlock(&p->lock);
		free(t);
		return rc;
	}
	t->req.spec = job_spec_ref(req->spec);
	p->queued++;
	atomic_fetch_add_explicit(&p->busy, 1, memory_order_relaxed);
	if (!later) {
		fifo_push(p, t);
		wake_one(p);
	} else {
		if (!heap_contains(&p->later, &t->later)) { /* in order: the list */
			t->next = NULL;
			if (p->ltail)
				p->ltail->next = t;
			else
				p->lhead = t;
			p->ltail = t;
		}
		if (later_min(p) == t)
			pthread_cond_signal(&p->tcond); /* a new earliest instant */
	}
	pthread_mutex_unlock(&p->lock);
	return 0;
}

static bool task_is(const struct exec_task *t, int64_t run_id, int shard, int attempt)
{
	return t->req.run_id == run_id && t->req.shard == shard && t->req.attempt == attempt;
}

/*
 * Stops the attempt (run_id, shard, attempt). A running one is flagged and its
 * worker woken; it reports FINISHED CANCELLED (TIMED_OUT when `timed_out`)
 * from its worker once its processes are gone. A queued one is removed and
 * reports FINISHED on the calling thread before this returns, with no
 * STARTED: so do not hold a lock that on_event takes when calling this.
 * The first reason given wins; a kill that races with the natural end may
 * find the result already decided. Thread-safe. Returns 0, or CLOVER_ENOENT
 * when the pool holds no such attempt (or its FINISHED is already on its
 * way). Finding a queued attempt is O(queue length).
 */
int exec_kill(struct exec_pool *p, int64_t run_id, int shard, int attempt, bool timed_out)
{
	enum exec_kill_kind kind = timed_out ? EXEC_KILL_TIMEOUT : EXEC_KILL_CANCEL;
	struct exec_task *t, *prev = NULL;
	struct exec_result res;

	if (p == NULL)
		return CLOVER_EINVAL;
	pthread_mutex_lock(&p->lock);
	for (int i = 0; i < p->nworkers; i++) {
		int expect = EXEC_KILL_NONE;

		t = p->workers[i].task;
		if (t == NULL || !task_is(t, run_id, shard, attempt) ||
		    atomic_load_explicit(&t->done, memory_order_relaxed))
			continue;
		atomic_compare_exchange_strong(&t->kill, &expect, kind);
		wake(&p->workers[i]);
		pthread_mutex_unlock(&p->lock);
		return 0;
	}
	for (t = p->head; t != NULL; prev = t, t = t->next)
		if (task_is(t, run_id, shard, attempt))
			break;
	if (t != NULL) {
		if (prev)
			prev->next = t->next;
		else
			p->head = t->next;
		if (p->tail == t)
			p->tail = prev;
	}
	if (t == NULL) {
		for (t = p->lhead, prev = NULL; t != NULL; prev = t, t = t->next)
			if (task_is(t, run_id, shard, attempt))
				break;
		if (t != NULL) {
			if (prev)
				prev->next = t->next;
			else
				p->lhead = t->next;
			if (p->ltail == t)
				p->ltail = prev;
		}
	}
	for (size_t i = 0; t == NULL && i < p->later.n; i++) {
		struct exec_task *c = container_of(p->later.v[i].node, struct exec_task, later);

		if (task_is(c, run_id, shard, attempt)) {
			heap_remove(&p->later, &c->later);
			t = c;
		}
	}
	if (t == NULL) {
		pthread_mutex_unlock(&p->lock);
		return CLOVER_ENOENT;
	}
	p->queued--;
	pthread_mutex_unlock(&p->lock);

	if (timed_out)
		exec_result_set(&res, RUN_TIMED_OUT, -1, "timed out before it started");
	else
		exec_result_set(&res, RUN_CANCELLED, -1, "cancelled before it started");
	emit_finished(p, t, &res);
	task_free(t);
	return 0;
}

/* Requests queued or running now (a snapshot). Thread-safe. */
int exec_busy(struct exec_pool *p)
{
	if (p == NULL)
		return 0;
	return atomic_load_explicit(&p->busy, memory_order_acquire);
}
