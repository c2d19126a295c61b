/* SPDX-License-Identifier: MIT */
/*
 * Handler jobs: functions registered by name (exec_register()) that run inside
 * the executor, on a worker thread, with a `struct exec_ctx` through which they
 * read their request, report progress, write log lines and learn that they
 * should stop. Stopping is cooperative: a handler that is killed or over its
 * timeout sees exec_ctx_cancelled() turn true and should return soon; whatever
 * it returns then, the shard finishes CANCELLED or TIMED_OUT.
 *
 * The registry is an append-only list published with release stores and read
 * without locks, so looking up `noop` (registered first) costs one strcmp.
 */
#include "exec/internal.h"

#include "base/time.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_LINE_STACK 512

const struct exec_handler *exec_handler_find(struct exec_pool *p, const char *name)
{
	const struct exec_handler *h;

	for (h = atomic_load_explicit(&p->handlers, memory_order_acquire); h != NULL;
	     h = atomic_load_explicit(&h->next, memory_order_acquire))
		if (strcmp(h->name, name) == 0)
			return h;
	return NULL;
}

static int noop(struct exec_ctx *ctx, void *userdata, char **error)
{
	(void)ctx;
	(void)userdata;
	(void)error;
	return 0;
}

int exec_handler_register_builtins(struct exec_pool *p)
{
	return exec_register(p, "noop", noop, NULL);
}

void exec_handlers_free(struct exec_pool *p)
{
	struct exec_handler *h, *next;

	for (h = atomic_load(&p->handlers); h != NULL; h = next) {
		next = atomic_load(&h->next);
		free(h);
	}
	atomic_store(&p->handlers, NULL);
	p->handlers_tail = NULL;
}

void exec_handler_run(struct exec_ctx *ctx, struct exec_result *res)
{
	const struct job_spec *spec = ctx->task->req.spec;
	const struct exec_handler *h;
	enum exec_kill_kind kind;
	char *error = NULL;
	int rc;

	if (spec->handler == NULL) {
		exec_result_set(res, RUN_FAILED, -1, "the job names no handler");
		return;
	}
	h = exec_handler_find(ctx->pool, spec->handler);
	if (h == NULL) {
		exec_result_set(res, RUN_FAILED, -1, "no handler '%s' on this executor",
		                spec->handler);
		return;
	}
	rc = h->fn(ctx, h->userdata, &error);

	kind = exec_ctx_kill_kind(ctx);
	if (kind == EXEC_KILL_NONE && ctx->deadline_ms > 0 && time_mono_ms() >= ctx->deadline_ms)
		kind = exec_ctx_time_out(ctx);
	if (kind != EXEC_KILL_NONE)
		exec_result_killed(res, ctx, kind, -1);
	else if (rc == 0)
		exec_result_set(res, RUN_SUCCEEDED, 0, NULL);
	else if (error != NULL && error[0] != '\0')
		exec_result_set(res, RUN_FAILED, -1, "%s", error);
	else
		exec_result_set(res, RUN_FAILED, -1, "handler '%s' failed (%d)", spec->handler, rc);
	free(error);
}

/*
 * The request being run (the pool's copy, valid until the handler returns).
 */
const struct exec_request *exec_ctx_request(const struct exec_ctx *ctx)
{
	return &ctx->task->req;
}

/*
 * Reports progress: `fraction` in 0..1 (negative or NaN: unknown, above 1:
 * 1) and an optional text, copied by the receiver if it keeps it. Delivered
 * as an EXEC_EV_PROGRESS event on the handler's thread before this returns.
 */
void exec_ctx_progress(struct exec_ctx *ctx, double fraction, const char *text)
{
	exec_emit_progress(ctx, fraction, text);
}

/*
 * Writes one line to the shard's log (a newline is added when missing). Long
 * lines are split into log_chunk_max pieces. Delivered as EXEC_EV_LOG on the
 * handler's thread before this returns.
 */
void exec_ctx_log(struct exec_ctx *ctx, const char *fmt, ...)
{
	char stack[LOG_LINE_STACK], *line = stack;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(stack, sizeof(stack) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(stack) - 1) {
		line = malloc((size_t)n + 2);
		if (line == NULL) {
			/* Out of memory: keep the truncated line rather than nothing. */
			line = stack;
			n = (int)sizeof(stack) - 2;
		} else {
			va_start(ap, fmt);
			vsnprintf(line, (size_t)n + 1, fmt, ap);
			va_end(ap);
		}
	}
	if (n == 0 || line[n - 1] != '\n')
		line[n++] = '\n';
	exec_emit_log(ctx, line, (size_t)n);
	if (line != stack)
		free(line);
}

/*
 * True once the shard has been killed or has run past its timeout: the
 * handler should stop and return. Cheap enough to call in a tight loop.
 */
bool exec_ctx_cancelled(const struct exec_ctx *ctx)
{
	if (exec_ctx_kill_kind(ctx) != EXEC_KILL_NONE)
		return true;
	return ctx->deadline_ms > 0 && time_mono_ms() >= ctx->deadline_ms;
}
