/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the notify tests (test-notify-*.c): a recorder that keeps
 * a copy of every report a notifier makes and lets a test wait for them, and
 * short ways to build contacts and alerts. Header-only (static functions) so
 * each test program stays one file plus this.
 */
#ifndef CLOVER_TESTS_NOTIFY_TEST_H
#define CLOVER_TESTS_NOTIFY_TEST_H

#include "base/time.h"
#include "notify/internal.h"

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

struct rep {
	enum notify_outcome outcome;
	enum notify_channel channel;
	enum notify_kind kind;
	enum notify_severity severity;
	char *contact, *address, *title, *job, *node, *detail;
	int64_t run_id;
	size_t count;
	int attempt;
	int error;
	int64_t mono; /* when it was recorded */
};

struct rec {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct rep *r;
	size_t n, cap;
};

static inline char *rec_dup(const char *s)
{
	char *d = s ? strdup(s) : NULL;

	assert_true(s == NULL || d != NULL);
	return d;
}

static inline void rec_init(struct rec *rc)
{
	memset(rc, 0, sizeof(*rc));
	pthread_mutex_init(&rc->mu, NULL);
	pthread_cond_init(&rc->cv, NULL);
}

static inline void rec_clear(struct rec *rc)
{
	for (size_t i = 0; i < rc->n; i++) {
		struct rep *p = &rc->r[i];

		free(p->contact);
		free(p->address);
		free(p->title);
		free(p->job);
		free(p->node);
		free(p->detail);
	}
	free(rc->r);
	pthread_mutex_destroy(&rc->mu);
	pthread_cond_destroy(&rc->cv);
	memset(rc, 0, sizeof(*rc));
}

/* The on_report callback: ctx is a struct rec. */
static inline void rec_report(void *ctx, const struct notify_report *r)
{
	struct rec *rc = ctx;
	struct rep p = {
	    .outcome = r->outcome,
	    .channel = r->channel,
	    .kind = r->kind,
	    .severity = r->severity,
	    .contact = rec_dup(r->contact),
	    .address = rec_dup(r->address),
	    .title = rec_dup(r->title),
	    .job = rec_dup(r->job),
	    .node = rec_dup(r->node),
	    .detail = rec_dup(r->detail),
	    .run_id = r->run_id,
	    .count = r->count,
	    .attempt = r->attempt,
	    .error = r->error,
	    .mono = time_mono_ms(),
	};

	pthread_mutex_lock(&rc->mu);
	if (rc->n == rc->cap) {
		rc->cap = rc->cap ? rc->cap * 2 : 16;
		rc->r = realloc(rc->r, rc->cap * sizeof(*rc->r));
		assert_non_null(rc->r);
	}
	rc->r[rc->n++] = p;
	pthread_cond_broadcast(&rc->cv);
	pthread_mutex_unlock(&rc->mu);
}

static inline void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static inline bool rep_final(const struct rep *p)
{
	return p->outcome == NOTIFY_DELIVERED || p->outcome == NOTIFY_FAILED ||
	       p->outcome == NOTIFY_DROPPED;
}

/* Reports that end a message's life (delivered, failed, dropped). */
static inline size_t rec_finals(struct rec *rc)
{
	size_t k = 0;

	pthread_mutex_lock(&rc->mu);
	for (size_t i = 0; i < rc->n; i++)
		k += rep_final(&rc->r[i]);
	pthread_mutex_unlock(&rc->mu);
	return k;
}

static inline size_t rec_count(struct rec *rc, enum notify_outcome o)
{
	size_t k = 0;

	pthread_mutex_lock(&rc->mu);
	for (size_t i = 0; i < rc->n; i++)
		k += rc->r[i].outcome == o;
	pthread_mutex_unlock(&rc->mu);
	return k;
}

/* Waits until at least `n` final reports are in; fails the test after
 * `timeout_ms`. */
static inline void rec_wait_finals(struct rec *rc, size_t n, int timeout_ms)
{
	int64_t end = time_mono_ms() + timeout_ms;

	while (rec_finals(rc) < n) {
		if (time_mono_ms() > end)
			fail_msg("waited %d ms for %zu final reports, have %zu", timeout_ms, n,
			         rec_finals(rc));
		sleep_ms(5);
	}
}

/* The i-th report with outcome o (or any outcome when o < 0), or NULL. The
 * pointer is good until the next report: use it once the notifier is quiet. */
static inline const struct rep *rec_get(struct rec *rc, int o, size_t i)
{
	const struct rep *found = NULL;

	pthread_mutex_lock(&rc->mu);
	for (size_t k = 0; k < rc->n && !found; k++)
		if ((o < 0 || rc->r[k].outcome == (enum notify_outcome)o) && i-- == 0)
			found = &rc->r[k];
	pthread_mutex_unlock(&rc->mu);
	return found;
}

/* A run_failed alert for `job` to the given contacts. */
static inline struct notify_alert alert_job(enum notify_kind kind, const char *job, int64_t run_id,
                                            const struct notify_contact *cs, size_t n)
{
	struct notify_alert a = {
	    .kind = kind,
	    .job = job,
	    .node = "exec-1",
	    .run_id = run_id,
	    .at = 1772955000000LL + run_id,
	    .message = "exit status 1",
	    .contacts = cs,
	    .ncontacts = n,
	};

	return a;
}

#endif
