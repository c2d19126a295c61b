/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the executor tests (test-exec-*.c): a recorder that keeps
 * a copy of every event a pool delivers and lets a test wait for a shard's
 * FINISHED event, and spec construction from JSON. Header-only (static
 * functions) so each test program stays one file plus this.
 */
#ifndef CLOVER_TESTS_EXEC_TEST_H
#define CLOVER_TESTS_EXEC_TEST_H

#include "base/buf.h"
#include "base/time.h"
#include "exec/exec.h"

#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <setjmp.h>
#include <cmocka.h>

struct rec_ev {
	enum exec_event_kind kind;
	int64_t run_id;
	int shard;
	int attempt;
	int64_t at;
	enum run_state state;
	int exit_code;
	double progress;
	char *message; /* copy, or NULL */
	char *data;    /* LOG copy */
	size_t len;
};

struct rec {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct rec_ev *ev;
	size_t n, cap;
};

static inline void rec_init(struct rec *r)
{
	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
}

static inline void rec_clear(struct rec *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->ev[i].message);
		free(r->ev[i].data);
	}
	free(r->ev);
	pthread_cond_destroy(&r->cv);
	pthread_mutex_destroy(&r->mu);
}

static inline char *dup_or_null(const char *s, size_t n)
{
	char *p;

	if (s == NULL)
		return NULL;
	p = malloc(n + 1);
	assert_non_null(p);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

/* The on_event callback: records a deep copy. */
static inline void rec_on_event(void *ctx, const struct exec_event *ev)
{
	struct rec *r = ctx;
	struct rec_ev *e;

	pthread_mutex_lock(&r->mu);
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 64;
		struct rec_ev *p = realloc(r->ev, cap * sizeof(*p));

		if (p == NULL)
			abort();
		r->ev = p;
		r->cap = cap;
	}
	e = &r->ev[r->n++];
	memset(e, 0, sizeof(*e));
	e->kind = ev->kind;
	e->run_id = ev->run_id;
	e->shard = ev->shard;
	e->attempt = ev->attempt;
	e->at = ev->at;
	e->state = ev->state;
	e->exit_code = ev->exit_code;
	e->progress = ev->progress;
	e->message = ev->message ? dup_or_null(ev->message, strlen(ev->message)) : NULL;
	if (ev->kind == EXEC_EV_LOG) {
		e->data = dup_or_null(ev->data, ev->len);
		e->len = ev->len;
	}
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
}

static inline int rec_count(struct rec *r, int64_t run_id, enum exec_event_kind kind)
{
	int n = 0;

	pthread_mutex_lock(&r->mu);
	for (size_t i = 0; i < r->n; i++)
		if (r->ev[i].run_id == run_id && r->ev[i].kind == kind)
			n++;
	pthread_mutex_unlock(&r->mu);
	return n;
}

/*
 * Waits up to `ms` for an event of `kind` for `run_id`; returns a copy of the
 * first one (message copied; free with rec_ev_free), failing the test when
 * none arrives.
 */
static inline struct rec_ev rec_wait(struct rec *r, int64_t run_id, enum exec_event_kind kind,
                                     int ms)
{
	struct timespec ts;
	struct rec_ev out = {0};
	int rc = 0;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&r->mu);
	for (;;) {
		for (size_t i = 0; i < r->n; i++) {
			if (r->ev[i].run_id == run_id && r->ev[i].kind == kind) {
				out = r->ev[i];
				out.message = out.message
				                  ? dup_or_null(out.message, strlen(out.message))
				                  : NULL;
				out.data = NULL;
				pthread_mutex_unlock(&r->mu);
				return out;
			}
		}
		if (rc != 0)
			break;
		rc = pthread_cond_timedwait(&r->cv, &r->mu, &ts);
	}
	pthread_mutex_unlock(&r->mu);
	fail_msg("no event %d for run %lld within %d ms", (int)kind, (long long)run_id, ms);
	return out;
}

static inline void rec_ev_free(struct rec_ev *e)
{
	free(e->message);
	e->message = NULL;
}

/* The concatenated log of `run_id` (caller frees), with its chunk count and largest chunk. */
static inline char *rec_log(struct rec *r, int64_t run_id, size_t *len, size_t *nchunks,
                            size_t *maxchunk)
{
	struct buf b;
	size_t nc = 0, mc = 0;

	buf_init(&b, (size_t)1 << 30);
	pthread_mutex_lock(&r->mu);
	for (size_t i = 0; i < r->n; i++) {
		if (r->ev[i].run_id != run_id || r->ev[i].kind != EXEC_EV_LOG)
			continue;
		assert_int_equal(buf_append(&b, r->ev[i].data, r->ev[i].len), 0);
		nc++;
		if (r->ev[i].len > mc)
			mc = r->ev[i].len;
	}
	pthread_mutex_unlock(&r->mu);
	if (len)
		*len = b.len;
	if (nchunks)
		*nchunks = nc;
	if (maxchunk)
		*maxchunk = mc;
	return buf_steal(&b);
}

/* Waits until the log of `run_id` contains `needle` (for up to `ms`). */
static inline void rec_wait_log(struct rec *r, int64_t run_id, const char *needle, int ms)
{
	int64_t end = time_mono_ms() + ms;

	for (;;) {
		char *log = rec_log(r, run_id, NULL, NULL, NULL);
		bool found = strstr(log, needle) != NULL;

		free(log);
		if (found)
			return;
		if (time_mono_ms() >= end)
			fail_msg("log of run %lld never showed '%s'", (long long)run_id, needle);
		struct timespec ts = {0, 5 * 1000000L};
		nanosleep(&ts, NULL);
	}
}

/* Parses a job spec or fails the test. */
static inline struct job_spec *mkspec(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline struct job_spec *mkspec(const char *fmt, ...)
{
	struct job_spec *sp = NULL;
	struct error_info err;
	char json[8192];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(json, sizeof(json), fmt, ap);
	va_end(ap);
	assert_true(n > 0 && (size_t)n < sizeof(json));
	if (job_spec_parse(json, (size_t)n, &sp, &err) != 0)
		fail_msg("spec %s: %s: %s", json, err.field, err.message);
	return sp;
}

/* Submits one attempt of `spec` with run id `run_id`; fails the test on error. */
static inline void submit(struct exec_pool *p, struct job_spec *spec, int64_t run_id)
{
	struct exec_request req = {
	    .run_id = run_id,
	    .shard = 0,
	    .shard_count = 1,
	    .attempt = 1,
	    .scheduled_at = 1772955000000LL, /* 2026-03-08T07:30:00Z */
	    .spec = spec,
	};

	assert_int_equal(exec_submit(p, &req), 0);
}

static inline struct exec_pool *mkpool(struct rec *r, int workers, int queue_max, int64_t grace_ms,
                                       size_t chunk)
{
	struct exec_options opt = {
	    .workers = workers,
	    .queue_max = queue_max,
	    .kill_grace_ms = grace_ms,
	    .log_chunk_max = chunk,
	    .on_event = rec_on_event,
	    .ctx = r,
	};
	struct exec_pool *p = NULL;

	assert_int_equal(exec_pool_new(&opt, &p), 0);
	assert_non_null(p);
	return p;
}

static inline void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

#endif
