/* SPDX-License-Identifier: MIT */
/*
 * Engine tests with a virtual clock: a small simulator plays the daemon. It
 * carries out the engine's actions (keeping the latest snapshot of every run,
 * as the store would), runs dispatched shards on simulated executors whose
 * outcome and duration each test chooses, and advances time from wake to
 * wake. Hours of schedule take milliseconds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/time.h"
#include "core/engine.h"
#include "core/shard.h"
#include "cron/cron.h"
#include "cron/tz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T0 1767225600000LL /* 2026-01-01T00:00:00Z */
#define MAX_RUNS 20000
#define MAX_PENDING 4096

/* A shard attempt running on a simulated executor. */
struct pending {
	int64_t run_id;
	int shard, attempt;
	int64_t start; /* not before (the dispatch's not_before) */
	int64_t end;
	enum run_state outcome;
	char executor[32];
	bool started;
	bool killed;
};

struct sim {
	struct engine *e;
	int64_t now;
	struct run_rec runs[MAX_RUNS]; /* latest snapshot by id - 1 */
	int64_t maxid;
	struct pending p[MAX_PENDING];
	int np;
	int dispatches, kills, events;
	char last_event[512];
	/* behaviour of the simulated executors */
	int64_t duration;
	enum run_state (*outcome)(struct sim *s, int64_t run_id, int shard, int attempt);
	enum run_state fixed;
	char last_params[128];
};

static enum run_state fixed_outcome(struct sim *s, int64_t run_id, int shard, int attempt)
{
	(void)run_id;
	(void)shard;
	(void)attempt;
	return s->fixed;
}

static struct job_spec *spec(const char *json)
{
	struct job_spec *sp = NULL;
	struct error_info err;
	int rc = job_spec_parse(json, strlen(json), &sp, &err);

	if (rc)
		fail_msg("spec: %s: %s", err.field, err.message);
	return sp;
}

static void drain(struct sim *s)
{
	size_t n;
	const struct engine_action *a = engine_actions(s->e, &n);

	for (size_t i = 0; i < n; i++) {
		switch (a[i].kind) {
		case ENGINE_ACT_RUN: {
			struct run_rec *slot = &s->runs[a[i].run->id - 1];

			assert_true(a[i].run->id < MAX_RUNS);
			run_rec_clear(slot);
			assert_int_equal(run_rec_copy(slot, a[i].run), 0);
			if (a[i].run->id > s->maxid)
				s->maxid = a[i].run->id;
			break;
		}
		case ENGINE_ACT_DISPATCH: {
			struct pending *p = &s->p[s->np++];

			assert_true(s->np < MAX_PENDING);
			memset(p, 0, sizeof(*p));
			p->run_id = a[i].run_id;
			p->shard = a[i].shard;
			p->attempt = a[i].attempt;
			p->start = a[i].not_before > s->now ? a[i].not_before : s->now;
			p->end = p->start + s->duration;
			p->outcome = s->outcome(s, a[i].run_id, a[i].shard, a[i].attempt);
			snprintf(p->executor, sizeof(p->executor), "%s", a[i].executor);
			snprintf(s->last_params, sizeof(s->last_params), "%s",
				 a[i].params ? a[i].params : "");
			s->dispatches++;
			break;
		}
		case ENGINE_ACT_KILL:
			for (int k = 0; k < s->np; k++) {
				if (s->p[k].run_id == a[i].run_id && s->p[k].shard == a[i].shard &&
				    s->p[k].attempt == a[i].attempt) {
					s->p[k].killed = true;
					s->p[k].end = s->now;
				}
			}
			s->kills++;
			break;
		case ENGINE_ACT_EVENT:
			s->events++;
			snprintf(s->last_event, sizeof(s->last_event), "%s", a[i].message);
			break;
		}
	}
	engine_actions_clear(s->e);
}

/* Starts and finishes simulated attempts that are due by `s->now`. */
static void run_executors(struct sim *s)
{
	for (int k = 0; k < s->np; k++) {
		struct pending *p = &s->p[k];

		if (!p->started && p->start <= s->now) {
			engine_shard_started(s->e, p->run_id, p->shard, p->attempt, s->now);
			p->started = true;
		}
	}
	for (int k = 0; k < s->np;) {
		struct pending *p = &s->p[k];

		if (p->end <= s->now && (p->started || p->killed)) {
			enum run_state st = p->killed ? RUN_CANCELLED : p->outcome;

			engine_shard_finished(s->e, p->run_id, p->shard, p->attempt, st,
					      st == RUN_SUCCEEDED ? 0 : 1,
					      st == RUN_SUCCEEDED ? NULL : "simulated failure",
					      s->now);
			s->p[k] = s->p[--s->np];
			continue;
		}
		k++;
	}
}

/* Advances virtual time to `until`, stepping from wake to wake. */
static void advance(struct sim *s, int64_t until)
{
	for (;;) {
		int64_t wake = engine_next_wake(s->e);

		for (int k = 0; k < s->np; k++) {
			int64_t t = s->p[k].started || s->p[k].killed ? s->p[k].end : s->p[k].start;

			if (t < wake)
				wake = t;
		}
		if (wake > until)
			break;
		if (wake > s->now)
			s->now = wake;
		engine_tick(s->e, s->now);
		drain(s);
		run_executors(s);
		drain(s);
	}
	s->now = until;
}

static struct sim *sim_new_lead(int executors, int64_t lead)
{
	struct sim *s = calloc(1, sizeof(*s));
	struct engine_options opt = {.seed = 42, .lead_ms = lead};
	const char *local[] = {"clover.local=true"};

	assert_non_null(s);
	assert_int_equal(engine_new(&opt, &s->e), 0);
	s->now = T0;
	s->duration = 100;
	s->outcome = fixed_outcome;
	s->fixed = RUN_SUCCEEDED;
	for (int i = 0; i < executors; i++) {
		char id[16];

		snprintf(id, sizeof(id), "x%d", i);
		assert_int_equal(engine_executor_join(s->e, id, local, 1, 8), 0);
	}
	return s;
}

static struct sim *sim_new(int executors)
{
	return sim_new_lead(executors, 0);
}

static void sim_free(struct sim *s)
{
	engine_free(s->e);
	for (int64_t i = 0; i < s->maxid; i++)
		run_rec_clear(&s->runs[i]);
	free(s);
}

static int count_state(struct sim *s, enum run_state st)
{
	int n = 0;

	for (int64_t i = 0; i < s->maxid; i++)
		n += s->runs[i].job && s->runs[i].state == st;
	return n;
}

static void put(struct sim *s, const char *json, int64_t since)
{
	assert_int_equal(engine_job_put(s->e, spec(json), since, s->now), 0);
	drain(s);
}

/* ------------------------------------------------------------------ */

static void every_second_for_an_hour_fires_each_instant_once(void **state)
{
	struct sim *s = sim_new(1);

	(void)state;
	put(s, "{\"name\":\"tick\",\"schedule\":\"* * * * * ?\",\"run\":{\"handler\":\"noop\"}}",
	    s->now);
	advance(s, T0 + 3600 * 1000 + 500); /* the last run takes 100 ms */
	assert_int_equal(count_state(s, RUN_SUCCEEDED), 3600);
	for (int64_t i = 0; i < s->maxid; i++) {
		assert_int_equal(s->runs[i].scheduled_at, T0 + (i + 1) * 1000);
		assert_int_equal(s->runs[i].trigger, RUN_TRIG_SCHEDULE);
		assert_int_equal(s->runs[i].shards[0].attempt, 1);
	}
	sim_free(s);
}

static void forbid_skips_and_records_overlapping_fires(void **state)
{
	struct sim *s = sim_new(1);

	(void)state;
	s->duration = 2500; /* a run takes 2.5 s, the job fires every second */
	put(s, "{\"name\":\"slow\",\"schedule\":\"@every 1s\",\"run\":{\"shell\":\"sleep 2.5\"}}",
	    s->now);
	advance(s, T0 + 9000);
	/* Fires at 1,2,...,9 s: runs start at 1, 4, 7 (each blocks the next two). */
	assert_int_equal(count_state(s, RUN_SUCCEEDED) + s->np, 3);
	assert_int_equal(count_state(s, RUN_SKIPPED), 6);
	for (int64_t i = 0; i < s->maxid; i++) {
		if (s->runs[i].state == RUN_SKIPPED)
			assert_non_null(strstr(s->runs[i].reason, "concurrency: forbid"));
	}
	sim_free(s);
}

static void allow_runs_in_parallel(void **state)
{
	struct sim *s = sim_new(1);

	(void)state;
	s->duration = 2500;
	put(s,
	    "{\"name\":\"par\",\"schedule\":\"@every 1s\",\"concurrency\":\"allow\",\"run\":{"
	    "\"shell\":\"x\"}}",
	    s->now);
	advance(s, T0 + 9000);
	assert_int_equal(count_state(s, RUN_SKIPPED), 0);
	assert_int_equal(s->maxid, 9);
	sim_free(s);
}

static void replace_cancels_the_running_run(void **state)
{
	struct sim *s = sim_new(1);

	(void)state;
	s->duration = 2500;
	put(s,
	    "{\"name\":\"rep\",\"schedule\":\"@every 1s\",\"concurrency\":\"replace\",\"run\":{"
	    "\"shell\":\"x\"}}",
	    s->now);
	advance(s, T0 + 5000);
	assert_true(s->kills >= 3);
	assert_true(count_state(s, RUN_CANCELLED) >= 3);
	for (int64_t i = 0; i < s->maxid; i++) {
		if (s->runs[i].state == RUN_CANCELLED)
			assert_string_equal(s->runs[i].reason, "replaced by a newer run");
	}
	sim_free(s);
}

static void serial_queues_behind_the_running_run(void **state)
{
	struct sim *s = sim_new(1);

	(void)state;
	s->duration = 1500;
	put(s,
	    "{\"name\":\"ser\",\"schedule\":\"@every 1s\",\"concurrency\":\"serial\",\"run\":{"
	    "\"shell\":\"x\"}}",
	    s->now);
	advance(s, T0 + 4000);
	/* Nothing skipped, nothing overlapping: each run starts after the previous ends. */
	assert_int_equal(count_state(s, RUN_SKIPPED), 0);
	for (int64_t i = 1; i < s->maxid; i++) {
		if (s->runs[i].started_at && s->runs[i - 1].finished_at)
			assert_true(s->runs[i].started_at >= s->runs[i - 1].finished_at);
	}
	assert_true(count_state(s, RUN_PENDING) >= 1); /* queued ones wait, visible */
	sim_free(s);
}

static void misfire_fire_once_runs_once_and_records_the_rest(void **state)
{
	struct sim *s = sim_new(1);

	(void)state;
	/* Down for an hour: the minute job's last fire was an hour ago. */
	s->now = T0 + 3600 * 1000;
	put(s, "{\"name\":\"m\",\"schedule\":\"0 * * * * ?\",\"run\":{\"handler\":\"noop\"}}",
	    T0 - 1);
	advance(s, s->now + 1000);
	/* 61 instants: 00:00 .. 01:00 inclusive. */
	assert_int_equal(count_state(s, RUN_SKIPPED), 60);
	assert_int_equal(count_state(s, RUN_SUCCEEDED), 1);
	for (int64_t i = 0; i < s->maxid; i++) {
		assert_int_equal(s->runs[i].trigger, RUN_TRIG_MISFIRE);
		if (s->runs[i].state == RUN_SUCCEEDED)
			assert_int_equal(s->runs[i].scheduled_at, T0 + 3600 * 1000);
	}
	assert_non_null(strstr(s->last_event, "misfire") ? s->last_event : NULL);
	/* Then it carries on normally. */
	advance(s, T0 + 3720 * 1000 + 500);
	assert_int_equal(count_state(s, RUN_SUCCEEDED), 3);
	sim_free(s);
}

static void misfire_skip_records_every_missed_instant(void **state)
{
	struct sim *s = sim_new(1);

	(void)state;
	s->now = T0 + 600 * 1000;
	put(s,
	    "{\"name\":\"m\",\"schedule\":\"0 * * * * ?\",\"misfire\":{\"policy\":\"skip\"},"
	    "\"run\":{\"handler\":\"noop\"}}",
	    T0 - 1);
	advance(s, s->now + 10);
	assert_int_equal(count_state(s, RUN_SKIPPED), 11);
	assert_int_equal(count_state(s, RUN_SUCCEEDED), 0);
	sim_free(s);
}

static void misfire_fire_all_runs_each_missed_instant(void **state)
{
	struct sim *s = sim_new(1);

	(void)state;
	s->now = T0 + 600 * 1000;
	put(s,
	    "{\"name\":\"m\",\"schedule\":\"0 * * * * ?\",\"concurrency\":\"allow\","
	    "\"misfire\":{\"policy\":\"fire_all\"},\"run\":{\"handler\":\"noop\"}}",
	    T0 - 1);
	advance(s, s->now + 1000);
	assert_int_equal(count_state(s, RUN_SUCCEEDED), 11);
	sim_free(s);
}

static void misfire_within_threshold_is_a_normal_fire(void **state)
{
	struct sim *s = sim_new(1);

	(void)state;
	s->now = T0 + 30 * 1000; /* 30 s late, threshold 60 s */
	put(s, "{\"name\":\"m\",\"schedule\":\"0 * * * * ?\",\"run\":{\"handler\":\"noop\"}}",
	    T0 - 1);
	advance(s, s->now + 10);
	assert_int_equal(s->maxid, 1);
	assert_int_equal(s->runs[0].trigger, RUN_TRIG_SCHEDULE);
	assert_int_equal(s->runs[0].scheduled_at, T0);
	sim_free(s);
}

static void long_outage_caps_records_and_summarises(void **state)
{
	struct sim *s = sim_new(1);

	(void)state;
	s->now = T0 + 3600 * 1000; /* every second for an hour: 3601 instants */
	put(s, "{\"name\":\"m\",\"schedule\":\"* * * * * ?\",\"run\":{\"handler\":\"noop\"}}",
	    T0 - 1);
	engine_tick(s->e, s->now);
	drain(s);
	assert_int_equal(count_state(s, RUN_SKIPPED), 100);
	assert_non_null(strstr(s->last_event, "more than 100 fires from 2026-01-01T00:00:00Z to "
					       "2026-01-01T01:00:00Z"));
	/* fire_once: one run for the newest instant. */
	assert_int_equal(s->runs[s->maxid - 1].scheduled_at, T0 + 3600 * 1000);
	assert_int_equal(s->runs[s->maxid - 1].state, RUN_PENDING);
	sim_free(s);
}

static void year_long_outage_fires_once_at_the_newest_instant(void **state)
{
	struct sim *s = sim_new(1);
	int64_t down = 400 * 86400 * 1000LL + 500; /* 34.56 million missed seconds */

	(void)state;
	s->now = T0 + down;
	put(s, "{\"name\":\"m\",\"schedule\":\"* * * * * ?\",\"run\":{\"handler\":\"noop\"}}",
	    T0 - 1);
	engine_tick(s->e, s->now);
	drain(s);
	assert_int_equal(count_state(s, RUN_SKIPPED), 100);
	assert_non_null(strstr(s->last_event, "more than 100 fires"));
	assert_non_null(strstr(s->last_event, "to 2027-02-05T00:00:00Z"));
	assert_int_equal(s->runs[s->maxid - 1].scheduled_at, T0 + down - 500);
	assert_int_equal(s->runs[s->maxid - 1].trigger, RUN_TRIG_MISFIRE);
	/* It carries on from there: the next fire is the next second. */
	int64_t next;

	assert_int_equal(engine_job_next_fire(s->e, "m", &next), 0);
	assert_int_equal(next, T0 + down - 500 + 1000);
	sim_free(s);
}

static enum run_state fail_twice(struct sim *s, int64_t run_id, int shard, int attempt)
{
	(void)s;
	(void)run_id;
	(void)shard;
	return attempt <= 2 ? RUN_FAILED : RUN_SUCCEEDED;
}

static void retry_backs_off_exponentially_then_succeeds(void **state)
{
	struct sim *s = sim_new(2);

	(void)state;
	s->outcome = fail_twice;
	s->duration = 0;
	put(s,
	    "{\"name\":\"r\",\"schedule\":\"@manual\",\"retry\":{\"max\":3,\"backoff\":\"10s\"},"
	    "\"run\":{\"shell\":\"x\"}}",
	    s->now);
	int64_t id;

	assert_int_equal(engine_trigger(s->e, "r", NULL, s->now, &id), 0);
	drain(s);
	advance(s, T0 + 9999);
	/* Waiting for its retry, the run is still in progress. */
	assert_int_equal(s->runs[id - 1].state, RUN_RUNNING);
	assert_int_equal(s->runs[id - 1].shards[0].state, RUN_PENDING);
	assert_non_null(strstr(s->runs[id - 1].shards[0].message, "retrying in 10s"));
	advance(s, T0 + 10000 + 19999);
	assert_int_equal(s->runs[id - 1].shards[0].attempt, 2);
	assert_int_equal(s->runs[id - 1].state, RUN_RUNNING);
	advance(s, T0 + 30000);
	assert_int_equal(s->runs[id - 1].state, RUN_SUCCEEDED);
	assert_int_equal(s->runs[id - 1].shards[0].attempt, 3);
	assert_int_equal(s->dispatches, 3);
	sim_free(s);
}

static void retries_exhausted_fail_the_run(void **state)
{
	struct sim *s = sim_new(1);

	(void)state;
	s->fixed = RUN_TIMED_OUT;
	put(s,
	    "{\"name\":\"r\",\"schedule\":\"@manual\",\"retry\":{\"max\":1,\"backoff\":\"1s\"},"
	    "\"run\":{\"shell\":\"x\"}}",
	    s->now);
	assert_int_equal(engine_trigger(s->e, "r", NULL, s->now, NULL), 0);
	drain(s);
	advance(s, T0 + 60000);
	assert_int_equal(s->runs[0].state, RUN_TIMED_OUT);
	assert_int_equal(s->runs[0].shards[0].attempt, 2);
	assert_non_null(s->runs[0].reason);
	sim_free(s);
}

static void on_success_chains_the_next_job(void **state)
{
	struct sim *s = sim_new(1);

	(void)state;
	put(s, "{\"name\":\"b\",\"schedule\":\"@manual\",\"run\":{\"handler\":\"noop\"}}", s->now);
	put(s,
	    "{\"name\":\"a\",\"schedule\":\"@manual\",\"on_success\":[\"b\"],\"run\":{\"handler\":"
	    "\"noop\"}}",
	    s->now);
	assert_int_equal(engine_trigger(s->e, "a", "p=1", s->now, NULL), 0);
	drain(s);
	assert_string_equal(s->last_params, "p=1");
	advance(s, T0 + 1000);
	assert_int_equal(s->maxid, 2);
	assert_string_equal(s->runs[1].job, "b");
	assert_int_equal(s->runs[1].trigger, RUN_TRIG_CHAIN);
	assert_int_equal(s->runs[1].state, RUN_SUCCEEDED);
	sim_free(s);
}

static void chain_does_not_follow_failure(void **state)
{
	struct sim *s = sim_new(1);

	(void)state;
	s->fixed = RUN_FAILED;
	put(s, "{\"name\":\"b\",\"schedule\":\"@manual\",\"run\":{\"handler\":\"noop\"}}", s->now);
	put(s,
	    "{\"name\":\"a\",\"schedule\":\"@manual\",\"on_success\":[\"b\"],\"run\":{\"handler\":"
	    "\"noop\"}}",
	    s->now);
	assert_int_equal(engine_trigger(s->e, "a", NULL, s->now, NULL), 0);
	drain(s);
	advance(s, T0 + 1000);
	assert_int_equal(s->maxid, 1);
	assert_int_equal(s->runs[0].state, RUN_FAILED);
	sim_free(s);
}

static void paused_job_does_not_fire_and_resume_starts_fresh(void **state)
{
	struct sim *s = sim_new(1);

	(void)state;
	put(s,
	    "{\"name\":\"p\",\"schedule\":\"@every 1s\",\"paused\":true,\"run\":{\"handler\":"
	    "\"noop\"}}",
	    s->now);
	advance(s, T0 + 10000);
	assert_int_equal(s->maxid, 0);
	assert_int_equal(engine_job_next_fire(s->e, "p", &(int64_t){0}), CLOVER_ENOENT);
	put(s, "{\"name\":\"p\",\"schedule\":\"@every 1s\",\"run\":{\"handler\":\"noop\"}}", s->now);
	advance(s, T0 + 13000);
	assert_int_equal(s->maxid, 3); /* 11, 12, 13 s: no catch-up of the paused time */
	sim_free(s);
}

static void schedule_change_takes_effect_without_restart(void **state)
{
	struct sim *s = sim_new(1);
	int64_t next;

	(void)state;
	put(s, "{\"name\":\"c\",\"schedule\":\"0 0 * * * ?\",\"run\":{\"handler\":\"noop\"}}", s->now);
	assert_int_equal(engine_job_next_fire(s->e, "c", &next), 0);
	assert_int_equal(next, T0 + 3600 * 1000);
	put(s, "{\"name\":\"c\",\"schedule\":\"*/10 * * * * ?\",\"run\":{\"handler\":\"noop\"}}",
	    s->now);
	assert_int_equal(engine_job_next_fire(s->e, "c", &next), 0);
	assert_int_equal(next, T0 + 10000);
	sim_free(s);
}

static void kill_cancels_a_running_run(void **state)
{
	struct sim *s = sim_new(1);
	int64_t id;

	(void)state;
	s->duration = 100000;
	put(s, "{\"name\":\"k\",\"schedule\":\"@manual\",\"run\":{\"shell\":\"sleep 100\"}}",
	    s->now);
	assert_int_equal(engine_trigger(s->e, "k", NULL, s->now, &id), 0);
	drain(s);
	advance(s, T0 + 1000);
	assert_int_equal(engine_kill(s->e, id, s->now), 0);
	drain(s);
	assert_int_equal(s->kills, 1);
	advance(s, T0 + 2000);
	assert_int_equal(s->runs[id - 1].state, RUN_CANCELLED);
	assert_int_equal(engine_kill(s->e, id, s->now), CLOVER_ENOENT);
	assert_int_equal(engine_kill(s->e, 999, s->now), CLOVER_ENOENT);
	sim_free(s);
}

static void no_matching_executor_fails_the_run_with_a_reason(void **state)
{
	struct sim *s = sim_new(1);

	(void)state;
	put(s,
	    "{\"name\":\"gpu\",\"schedule\":\"@manual\",\"target\":{\"labels\":{\"gpu\":\"yes\"}},"
	    "\"run\":{\"shell\":\"x\"}}",
	    s->now);
	assert_int_equal(engine_trigger(s->e, "gpu", NULL, s->now, NULL), 0);
	drain(s);
	assert_int_equal(s->runs[0].state, RUN_FAILED);
	assert_non_null(strstr(s->runs[0].reason, "no executor available"));
	sim_free(s);
}

static void crash_recovery_loses_running_attempt_and_retries(void **state)
{
	struct sim *s = sim_new(1);
	struct shard_rec sh = {.index = 0, .attempt = 1, .state = RUN_RUNNING, .exit_code = -1};
	struct run_rec r = {.id = 7,
			    .job = "j",
			    .scheduled_at = T0,
			    .state = RUN_RUNNING,
			    .nshards = 1,
			    .shards = &sh};

	(void)state;
	put(s,
	    "{\"name\":\"j\",\"schedule\":\"@manual\",\"retry\":{\"max\":1,\"backoff\":\"1s\"},"
	    "\"run\":{\"shell\":\"x\"}}",
	    s->now);
	assert_int_equal(engine_recover_run(s->e, &r, s->now), 0);
	drain(s);
	assert_int_equal(s->runs[6].state, RUN_RUNNING);
	assert_non_null(strstr(s->runs[6].shards[0].message, "lost"));
	advance(s, T0 + 5000);
	assert_int_equal(s->runs[6].state, RUN_SUCCEEDED);
	assert_int_equal(s->runs[6].shards[0].attempt, 2);
	/* New runs continue after the recovered id. */
	assert_int_equal(engine_trigger(s->e, "j", NULL, s->now, &(int64_t){0}), 0);
	drain(s);
	assert_int_equal(s->maxid, 8);
	sim_free(s);
}

static void crash_recovery_without_retry_marks_lost(void **state)
{
	struct sim *s = sim_new(1);
	struct shard_rec sh = {.index = 0, .attempt = 1, .state = RUN_RUNNING, .exit_code = -1};
	struct run_rec r = {.id = 3,
			    .job = "j",
			    .scheduled_at = T0,
			    .state = RUN_RUNNING,
			    .nshards = 1,
			    .shards = &sh};

	(void)state;
	put(s, "{\"name\":\"j\",\"schedule\":\"@manual\",\"run\":{\"shell\":\"x\"}}", s->now);
	assert_int_equal(engine_recover_run(s->e, &r, s->now), 0);
	drain(s);
	assert_int_equal(s->runs[2].state, RUN_LOST);
	sim_free(s);
}

static void lost_executor_fails_over_or_loses_shards(void **state)
{
	struct sim *s = sim_new(2);
	int64_t a, b;

	(void)state;
	s->duration = 100000;
	put(s,
	    "{\"name\":\"fo\",\"schedule\":\"@manual\",\"target\":{\"route\":\"first\"},\"run\":{"
	    "\"shell\":\"x\"}}",
	    s->now);
	put(s,
	    "{\"name\":\"nofo\",\"schedule\":\"@manual\",\"failover\":false,\"target\":{\"route\":"
	    "\"first\"},\"run\":{\"shell\":\"x\"}}",
	    s->now);
	engine_trigger(s->e, "fo", NULL, s->now, &a);
	engine_trigger(s->e, "nofo", NULL, s->now, &b);
	drain(s);
	assert_string_equal(s->runs[a - 1].shards[0].executor, "x0");
	assert_int_equal(engine_executor_leave(s->e, "x0", s->now), 0);
	drain(s);
	assert_string_equal(s->runs[a - 1].shards[0].executor, "x1");
	assert_int_equal(s->runs[a - 1].shards[0].attempt, 2);
	assert_int_equal(s->runs[b - 1].state, RUN_LOST);
	sim_free(s);
}

static void disabled_executor_gets_no_new_shards(void **state)
{
	struct sim *s = sim_new(3);
	const char *rr = "{\"name\":\"rr\",\"schedule\":\"@manual\",\"concurrency\":\"allow\","
			 "\"run\":{\"shell\":\"x\"}}";
	int64_t id;

	(void)state;
	s->duration = 100000;
	put(s, rr, s->now);
	assert_int_equal(engine_executor_set_enabled(s->e, "nobody", false), CLOVER_ENOENT);
	assert_int_equal(engine_executor_set_enabled(s->e, "x1", false), 0);
	/* round robin over x0 and x2 only */
	for (int i = 0; i < 6; i++) {
		assert_int_equal(engine_trigger(s->e, "rr", NULL, s->now, &id), 0);
		drain(s);
		assert_string_not_equal(s->runs[id - 1].shards[0].executor, "x1");
	}
	/* A sharded run spreads over the enabled ones: average N=4, 2 -> [0,1][2,3]. */
	put(s,
	    "{\"name\":\"sh\",\"schedule\":\"@manual\",\"shards\":{\"count\":4},\"run\":{"
	    "\"shell\":\"x\"}}",
	    s->now);
	assert_int_equal(engine_trigger(s->e, "sh", NULL, s->now, &id), 0);
	drain(s);
	assert_string_equal(s->runs[id - 1].shards[0].executor, "x0");
	assert_string_equal(s->runs[id - 1].shards[3].executor, "x2");
	/* Enabled again: it gets work. */
	assert_int_equal(engine_executor_set_enabled(s->e, "x1", true), 0);
	{
		bool x1 = false;

		for (int i = 0; i < 3; i++) {
			assert_int_equal(engine_trigger(s->e, "rr", NULL, s->now, &id), 0);
			drain(s);
			x1 |= strcmp(s->runs[id - 1].shards[0].executor, "x1") == 0;
		}
		assert_true(x1);
	}
	/* Every executor disabled: "no executor available" on the run. */
	for (int i = 0; i < 3; i++) {
		char x[8];

		snprintf(x, sizeof(x), "x%d", i);
		assert_int_equal(engine_executor_set_enabled(s->e, x, false), 0);
	}
	assert_int_equal(engine_trigger(s->e, "rr", NULL, s->now, &id), 0);
	drain(s);
	assert_int_equal(s->runs[id - 1].state, RUN_FAILED);
	sim_free(s);
}

static void executor_running_counts_unfinished_shards(void **state)
{
	struct sim *s = sim_new(3);

	(void)state;
	s->duration = 5000;
	put(s,
	    "{\"name\":\"sh3\",\"schedule\":\"@manual\",\"shards\":{\"count\":3},\"run\":{"
	    "\"shell\":\"x\"}}",
	    s->now);
	assert_int_equal(engine_executor_running(s->e, NULL), 0);
	assert_int_equal(engine_trigger(s->e, "sh3", NULL, s->now, NULL), 0);
	drain(s);
	assert_int_equal(engine_executor_running(s->e, NULL), 3);
	assert_int_equal(engine_executor_running(s->e, "x1"), 1);
	assert_int_equal(engine_executor_running(s->e, "nobody"), 0);
	/* A lost executor's shard fails over: still 3 in flight, none on x1. */
	assert_int_equal(engine_executor_leave(s->e, "x1", s->now), 0);
	drain(s);
	assert_int_equal(engine_executor_running(s->e, NULL), 3);
	assert_int_equal(engine_executor_running(s->e, "x1"), 0);
	advance(s, s->now + 10000);
	assert_int_equal(engine_executor_running(s->e, NULL), 0);
	sim_free(s);
}

static void refused_dispatch_goes_to_another_executor(void **state)
{
	struct sim *s = sim_new(3);
	int64_t id;

	(void)state;
	s->duration = 100000;
	put(s,
	    "{\"name\":\"rf\",\"schedule\":\"@manual\",\"target\":{\"route\":\"first\"},"
	    "\"run\":{\"shell\":\"x\"}}",
	    s->now);
	assert_int_equal(engine_trigger(s->e, "rf", NULL, s->now, &id), 0);
	drain(s);
	assert_string_equal(s->runs[id - 1].shards[0].executor, "x0");
	assert_int_equal(engine_shard_refused(s->e, id, 0, 2, "busy", s->now), CLOVER_ENOENT);
	assert_int_equal(engine_shard_refused(s->e, id, 0, 1, "busy", s->now), 0);
	drain(s);
	/* Re-routed as attempt 2, away from x0; the slot on x0 is free again. */
	assert_int_equal(s->runs[id - 1].shards[0].attempt, 2);
	assert_string_not_equal(s->runs[id - 1].shards[0].executor, "x0");
	assert_int_equal(engine_executor_running(s->e, "x0"), 0);
	assert_int_equal(engine_executor_running(s->e, NULL), 1);
	assert_non_null(strstr(s->last_event, "did not take it (busy)"));
	/* After ENGINE_REROUTES_MAX re-routes the shard fails with the reason. */
	for (int a = 2; a <= 1 + ENGINE_REROUTES_MAX; a++) {
		assert_int_equal(engine_shard_refused(s->e, id, 0, a, "busy", s->now), 0);
		drain(s);
	}
	assert_int_equal(s->runs[id - 1].state, RUN_FAILED);
	assert_int_equal(engine_executor_running(s->e, NULL), 0);
	sim_free(s);
}

static void refused_early_fire_still_starts_at_its_instant(void **state)
{
	struct sim *s = sim_new_lead(2, 500);

	(void)state;
	s->duration = 100;
	put(s, "{\"name\":\"l\",\"schedule\":\"@every 1s\",\"run\":{\"shell\":\"x\"}}", s->now);
	advance(s, T0 + 600); /* fired and dispatched ahead of T0 + 1000 */
	assert_int_equal(s->np, 1);
	assert_int_equal(engine_shard_refused(s->e, 1, 0, 1, "busy", s->now), 0);
	drain(s);
	assert_int_equal(s->np, 2);
	assert_int_equal(s->p[1].attempt, 2);
	assert_int_equal(s->p[1].start, T0 + 1000);
	s->p[0].end = s->p[0].start = INT64_MAX; /* the refused attempt never runs */
	advance(s, T0 + 1200);
	assert_int_equal(s->runs[0].started_at, T0 + 1000);
	assert_int_equal(s->runs[0].state, RUN_SUCCEEDED);
	sim_free(s);
}

static void restart_keeps_attempts_of_expected_executors(void **state)
{
	struct sim *s = sim_new(2); /* x0, x1 */
	struct run_rec rec = {0};
	struct shard_rec sh[3] = {0};
	struct engine_ref still = {.run_id = 42, .shard = 0, .attempt = 1};
	const char *lab[] = {"pool=w"};

	(void)state;
	s->duration = 100000;
	put(s, "{\"name\":\"rj\",\"schedule\":\"@manual\",\"shards\":{\"count\":3},\"run\":{"
	       "\"shell\":\"x\"}}",
	    s->now);
	/* A run left by a previous process: shards 0 and 1 on remote r1, shard 2 on x0. */
	rec.id = 42;
	rec.job = "rj";
	rec.scheduled_at = s->now - 1000;
	rec.state = RUN_RUNNING;
	rec.nshards = 3;
	rec.shards = sh;
	for (int i = 0; i < 3; i++) {
		sh[i].state = RUN_RUNNING;
		sh[i].attempt = 1;
		sh[i].executor = i < 2 ? "r1" : "x0";
	}
	assert_int_equal(engine_executor_expect(s->e, "r1"), 0);
	assert_int_equal(engine_executor_expect(s->e, "x0"), 0); /* known: nothing */
	assert_int_equal(engine_recover_run(s->e, &rec, s->now), 0);
	drain(s);
	/* x0's shard is lost (the built-in kind), r1's two wait for r1. */
	assert_int_equal(s->runs[41].shards[2].state, RUN_LOST);
	assert_int_equal(s->runs[41].shards[0].state, RUN_RUNNING);
	assert_int_equal(engine_executor_running(s->e, "r1"), 2);
	/* The expected placeholder gets no new work. */
	assert_int_equal(engine_trigger(s->e, "rj", NULL, s->now, NULL), 0);
	drain(s);
	for (int i = 0; i < s->np; i++)
		assert_string_not_equal(s->p[i].executor, "r1");
	/* r1 comes back reporting shard 0 only: shard 1 was lost and fails over. */
	assert_int_equal(engine_executor_join(s->e, "r1", lab, 1, 8), 0);
	assert_int_equal(engine_executor_join(s->e, "r1", lab, 1, 8), CLOVER_EEXIST);
	assert_int_equal(engine_executor_reconcile(s->e, "r1", &still, 1, s->now), 0);
	drain(s);
	assert_int_equal(s->runs[41].shards[0].attempt, 1);
	assert_int_equal(s->runs[41].shards[1].attempt, 2);
	assert_string_not_equal(s->runs[41].shards[1].executor, "r1");
	/* Its result for shard 0 is accepted: no duplicate run of it. */
	assert_int_equal(engine_shard_finished(s->e, 42, 0, 1, RUN_SUCCEEDED, 0, NULL, s->now), 0);
	/* A second reconcile does nothing. */
	assert_int_equal(engine_executor_reconcile(s->e, "r1", NULL, 0, s->now), 0);
	assert_int_equal(engine_executor_reconcile(s->e, "nobody", NULL, 0, s->now), CLOVER_ENOENT);
	sim_free(s);
}

static void expected_executor_that_never_returns_fails_over(void **state)
{
	struct sim *s = sim_new(1);
	struct run_rec rec = {0};
	struct shard_rec sh = {0};

	(void)state;
	s->duration = 100;
	put(s, "{\"name\":\"rj\",\"schedule\":\"@manual\",\"run\":{\"shell\":\"x\"}}", s->now);
	rec.id = 7;
	rec.job = "rj";
	rec.scheduled_at = s->now - 1000;
	rec.state = RUN_RUNNING;
	rec.nshards = 1;
	rec.shards = &sh;
	sh.state = RUN_RUNNING;
	sh.attempt = 1;
	sh.executor = "gone";
	assert_int_equal(engine_executor_expect(s->e, "gone"), 0);
	assert_int_equal(engine_recover_run(s->e, &rec, s->now), 0);
	drain(s);
	assert_int_equal(engine_executor_leave(s->e, "gone", s->now), 0);
	drain(s);
	assert_string_equal(s->runs[6].shards[0].executor, "x0");
	assert_int_equal(s->runs[6].shards[0].attempt, 2);
	advance(s, s->now + 1000);
	assert_int_equal(s->runs[6].state, RUN_SUCCEEDED);
	sim_free(s);
}

static void lost_executor_loses_every_one_of_many_runs(void **state)
{
	struct sim *s = sim_new(1);

	(void)state;
	s->duration = 100000;
	put(s,
	    "{\"name\":\"many\",\"schedule\":\"@manual\",\"concurrency\":\"allow\","
	    "\"failover\":false,\"run\":{\"shell\":\"x\"}}",
	    s->now);
	/* Near the run table's highest load (4,000 of 8,192 slots), where entries collide. */
	for (int i = 0; i < 4000; i++)
		assert_int_equal(engine_trigger(s->e, "many", NULL, s->now, NULL), 0);
	drain(s);
	advance(s, T0 + 1000);
	/* Runs end (and leave the run table) while the loss is being applied. */
	assert_int_equal(engine_executor_leave(s->e, "x0", s->now), 0);
	drain(s);
	assert_int_equal(count_state(s, RUN_LOST), 4000);
	sim_free(s);
}

/*
 * Runs whose ids share a slot of the run table (the sparse ids of recovered
 * runs can): losing their executor must lose every one of them, although
 * each loss ends a run and removes it from the table being walked.
 */
static void lost_executor_loses_runs_whose_ids_collide(void **state)
{
	struct sim *s = sim_new(0);
	int64_t ids[10];
	int n = 0;

	(void)state;
	put(s,
	    "{\"name\":\"rec\",\"schedule\":\"@manual\",\"concurrency\":\"allow\","
	    "\"failover\":false,\"run\":{\"shell\":\"x\"}}",
	    s->now);
	assert_int_equal(engine_executor_expect(s->e, "gone"), 0);
	/* Ten ids in one slot of a 64-slot table (base/hash.c's Fibonacci hashing). */
	for (int64_t id = 1; n < 10 && id < MAX_RUNS; id++) {
		if (((((uint64_t)id * 0x9E3779B97F4A7C15ull) >> 32) & 63) == 5)
			ids[n++] = id;
	}
	assert_int_equal(n, 10);
	for (int i = 0; i < n; i++) {
		struct shard_rec sh = {.attempt = 1, .state = RUN_RUNNING, .executor = "gone",
				       .exit_code = -1};
		struct run_rec r = {.id = ids[i], .job = "rec", .scheduled_at = T0,
				    .state = RUN_RUNNING, .nshards = 1, .shards = &sh};

		assert_int_equal(engine_recover_run(s->e, &r, s->now), 0);
	}
	drain(s);
	assert_int_equal(engine_executor_leave(s->e, "gone", s->now), 0);
	drain(s);
	for (int i = 0; i < n; i++)
		assert_int_equal(s->runs[ids[i] - 1].state, RUN_LOST);
	sim_free(s);
}

static void sharded_run_spreads_over_executors(void **state)
{
	struct sim *s = sim_new(3);

	(void)state;
	put(s,
	    "{\"name\":\"sh\",\"schedule\":\"@manual\",\"shards\":{\"count\":8,\"params\":[\"a\",\"b\","
	    "\"c\",\"d\",\"e\",\"f\",\"g\",\"h\"]},\"run\":{\"shell\":\"x\"}}",
	    s->now);
	engine_trigger(s->e, "sh", NULL, s->now, NULL);
	drain(s);
	/* average, N=8, 3 executors: [0,1,6][2,3,7][4,5] */
	const char *want[] = {"x0", "x0", "x1", "x1", "x2", "x2", "x0", "x1"};

	for (int i = 0; i < 8; i++)
		assert_string_equal(s->runs[0].shards[i].executor, want[i]);
	advance(s, T0 + 1000);
	assert_int_equal(s->runs[0].state, RUN_SUCCEEDED);
	sim_free(s);
}

static void broadcast_runs_one_shard_per_executor(void **state)
{
	struct sim *s = sim_new(3);

	(void)state;
	put(s,
	    "{\"name\":\"bc\",\"schedule\":\"@manual\",\"target\":{\"route\":\"broadcast\"},\"run\":{"
	    "\"shell\":\"x\"}}",
	    s->now);
	engine_trigger(s->e, "bc", NULL, s->now, NULL);
	drain(s);
	assert_int_equal(s->runs[0].nshards, 3);
	assert_int_equal(s->dispatches, 3);
	sim_free(s);
}

static void removed_job_lets_running_finish_and_cancels_queued(void **state)
{
	struct sim *s = sim_new(1);

	(void)state;
	s->duration = 5000;
	put(s,
	    "{\"name\":\"rm\",\"schedule\":\"@manual\",\"concurrency\":\"serial\",\"run\":{\"shell\":"
	    "\"x\"}}",
	    s->now);
	engine_trigger(s->e, "rm", NULL, s->now, NULL);
	engine_trigger(s->e, "rm", NULL, s->now, NULL);
	drain(s);
	advance(s, T0 + 1000);
	assert_int_equal(engine_job_remove(s->e, "rm", s->now), 0);
	drain(s);
	assert_int_equal(s->runs[1].state, RUN_CANCELLED);
	advance(s, T0 + 10000);
	assert_int_equal(s->runs[0].state, RUN_SUCCEEDED);
	assert_int_equal(engine_job_remove(s->e, "rm", s->now), CLOVER_ENOENT);
	sim_free(s);
}

static void shard_strategies_match_the_design_vectors(void **state)
{
	int out[16];

	(void)state;
	shard_assign(JOB_SHARD_AVERAGE, "j", 9, 3, out);
	assert_memory_equal(out, ((int[]){0, 0, 0, 1, 1, 1, 2, 2, 2}), 9 * sizeof(int));
	shard_assign(JOB_SHARD_AVERAGE, "j", 8, 3, out);
	assert_memory_equal(out, ((int[]){0, 0, 1, 1, 2, 2, 0, 1}), 8 * sizeof(int));
	shard_assign(JOB_SHARD_AVERAGE, "j", 10, 3, out);
	assert_memory_equal(out, ((int[]){0, 0, 0, 1, 1, 1, 2, 2, 2, 0}), 10 * sizeof(int));
	shard_assign(JOB_SHARD_AVERAGE, "j", 2, 3, out);
	assert_memory_equal(out, ((int[]){0, 1}), 2 * sizeof(int));
	/* hash_name("a") = 0xe40c292c (even): odevity reverses the list. */
	shard_assign(JOB_SHARD_ODEVITY, "a", 2, 3, out);
	assert_memory_equal(out, ((int[]){2, 1}), 2 * sizeof(int));
	/* hash_name("b") = 0xe70c2de5 (odd): no reversal. */
	shard_assign(JOB_SHARD_ODEVITY, "b", 2, 3, out);
	assert_memory_equal(out, ((int[]){0, 1}), 2 * sizeof(int));
	/* rotate by 0xe40c292c % 3 = 1: positions 0,1 become executors 1,2. */
	shard_assign(JOB_SHARD_ROTATE, "a", 2, 3, out);
	assert_memory_equal(out, ((int[]){1, 2}), 2 * sizeof(int));
	/* and the remainder shard of N=4 lands on rotated position 0 = executor 1. */
	shard_assign(JOB_SHARD_ROTATE, "a", 4, 3, out);
	assert_memory_equal(out, ((int[]){1, 2, 0, 1}), 4 * sizeof(int));
}

/*
 * Seeded fault simulation: many jobs with random schedules, durations and
 * outcomes for six virtual hours. Whatever happens, no (job, instant) is run
 * twice, and every instant of every job is accounted for: fired or skipped.
 */
static uint64_t rnd_state;
static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

static enum run_state random_outcome(struct sim *s, int64_t run_id, int shard, int attempt)
{
	(void)run_id;
	(void)shard;
	(void)attempt;
	s->duration = (int64_t)(rnd() % 120000);
	return rnd() % 5 == 0 ? RUN_FAILED : RUN_SUCCEEDED;
}

static void seeded_simulation(int64_t lead)
{
	const char *sched[] = {"*/7 * * * * ?", "0 */3 * * * ?", "@every 45s", "15 * * * * ?",
			       "0 0/5 * * * ?"};
	const char *conc[] = {"forbid", "allow", "serial", "replace"};
	struct sim *s = sim_new_lead(3, lead);
	int64_t end = T0 + 6 * 3600 * 1000LL;

	rnd_state = 0x9E3779B97F4A7C15ull;
	s->outcome = random_outcome;
	for (int i = 0; i < 12; i++) {
		char json[512];

		snprintf(json, sizeof(json),
			 "{\"name\":\"j%d\",\"schedule\":\"%s\",\"concurrency\":\"%s\","
			 "\"retry\":{\"max\":1,\"backoff\":\"5s\"},\"run\":{\"shell\":\"x\"}}",
			 i, sched[i % 5], conc[i % 4]);
		put(s, json, s->now);
	}
	advance(s, end);
	for (int i = 0; i < 12; i++) {
		char name[8];
		struct cron_expr *c;
		const struct tz *utc;
		int64_t t = T0, expected = 0;

		snprintf(name, sizeof(name), "j%d", i);
		assert_int_equal(cron_parse(sched[i % 5], &c, NULL), 0);
		assert_int_equal(tz_get("UTC", &utc, NULL), 0);
		while (cron_next(c, utc, t, &t) == 0 && t <= end)
			expected++;
		cron_free(c);
		int64_t seen = 0;

		for (int64_t r = 0; r < s->maxid; r++) {
			if (s->runs[r].job == NULL || strcmp(s->runs[r].job, name) != 0)
				continue;
			seen++;
			for (int64_t q = r + 1; q < s->maxid; q++) {
				if (s->runs[q].job && strcmp(s->runs[q].job, name) == 0)
					assert_true(s->runs[q].scheduled_at != s->runs[r].scheduled_at);
			}
			/* Never started before its instant, however early it was fired. */
			if (s->runs[r].started_at)
				assert_true(s->runs[r].started_at >= s->runs[r].scheduled_at);
		}
		assert_int_equal(seen, expected);
	}
	sim_free(s);
}

static void seeded_simulation_never_duplicates_or_loses_an_instant(void **state)
{
	(void)state;
	seeded_simulation(0);
}

static void seeded_simulation_with_lead_time_keeps_every_guarantee(void **state)
{
	(void)state;
	seeded_simulation(700);
}

static void lead_time_fires_early_but_starts_on_time(void **state)
{
	struct sim *s = sim_new_lead(1, 500);

	(void)state;
	s->duration = 2500;
	put(s, "{\"name\":\"l\",\"schedule\":\"@every 1s\",\"run\":{\"shell\":\"x\"}}", s->now);
	assert_int_equal(engine_next_wake(s->e), T0 + 500);
	advance(s, T0 + 600);
	/* Created and dispatched before 1 s, not started yet. */
	assert_int_equal(s->maxid, 1);
	assert_int_equal(s->runs[0].scheduled_at, T0 + 1000);
	assert_true(s->runs[0].created_at < s->runs[0].scheduled_at);
	assert_int_equal(s->runs[0].state, RUN_PENDING);
	advance(s, T0 + 1000);
	assert_int_equal(s->runs[0].started_at, T0 + 1000);
	/* While it runs, the next fire waits for its instant: forbid sees the job as it is then. */
	advance(s, T0 + 1999);
	assert_int_equal(s->maxid, 1);
	advance(s, T0 + 2000);
	assert_int_equal(s->maxid, 2);
	assert_int_equal(s->runs[1].state, RUN_SKIPPED);
	sim_free(s);
}

static void job_going_idle_in_the_lead_window_fires_ahead(void **state)
{
	struct sim *s = sim_new_lead(1, 500);

	(void)state;
	s->duration = 700;
	put(s, "{\"name\":\"g\",\"schedule\":\"@every 1s\",\"run\":{\"shell\":\"x\"}}", s->now);
	advance(s, T0 + 1600);
	/* Busy when the window for 2 s opened (1.5 s): the fire is held. */
	assert_int_equal(s->maxid, 1);
	assert_int_equal(s->runs[0].state, RUN_RUNNING);
	/* Run 1 ends at 1.7 s: the held fire is taken then, ahead of its instant. */
	advance(s, T0 + 1750);
	assert_int_equal(s->runs[0].state, RUN_SUCCEEDED);
	assert_int_equal(s->maxid, 2);
	assert_int_equal(s->runs[1].scheduled_at, T0 + 2000);
	assert_int_equal(s->runs[1].created_at, T0 + 1700);
	assert_int_equal(s->runs[1].state, RUN_PENDING);
	advance(s, T0 + 2000);
	assert_int_equal(s->runs[1].started_at, T0 + 2000);
	assert_int_equal(s->runs[1].state, RUN_RUNNING);
	sim_free(s);
}

/* least_busy weighs each executor's running shards by its capacity. */
static void least_busy_weighs_running_by_capacity(void **state)
{
	struct sim *s = sim_new(0);
	const char *lab[] = {"pool=p"};
	int on_big = 0, on_small = 0;

	(void)state;
	s->duration = 100000; /* everything keeps running */
	assert_int_equal(engine_executor_join(s->e, "small", lab, 1, 2), 0);
	assert_int_equal(engine_executor_join(s->e, "big", lab, 1, 8), 0);
	put(s, "{\"name\":\"lb\",\"schedule\":\"@manual\",\"concurrency\":\"allow\","
	       "\"target\":{\"labels\":{\"pool\":\"p\"},\"route\":\"least_busy\"},"
	       "\"run\":{\"shell\":\"x\"}}",
	    s->now);
	for (int i = 0; i < 10; i++) {
		assert_int_equal(engine_trigger(s->e, "lb", NULL, s->now, NULL), 0);
		drain(s);
	}
	for (int i = 0; i < s->np; i++) {
		on_big += strcmp(s->p[i].executor, "big") == 0;
		on_small += strcmp(s->p[i].executor, "small") == 0;
	}
	/* 10 shards over capacities 8 and 2: 8 and 2, not 5 and 5. */
	assert_int_equal(on_big, 8);
	assert_int_equal(on_small, 2);
	assert_int_equal(engine_executor_running(s->e, "big"), 8);
	sim_free(s);
}

static void stopping_withdraws_runs_fired_ahead(void **state)
{
	struct sim *s = sim_new_lead(1, 500);

	(void)state;
	s->duration = 2000;
	put(s, "{\"name\":\"a\",\"schedule\":\"@every 1s\",\"run\":{\"shell\":\"x\"}}", s->now);
	put(s, "{\"name\":\"b\",\"schedule\":\"@manual\",\"run\":{\"shell\":\"x\"}}", s->now);
	engine_trigger(s->e, "b", NULL, s->now, NULL); /* started: not withdrawn */
	drain(s);
	advance(s, T0 + 600);
	assert_int_equal(engine_withdraw_early(s->e, "the server was stopping", s->now), 0);
	drain(s);
	assert_int_equal(s->runs[1].state, RUN_SKIPPED);
	assert_string_equal(s->runs[1].reason, "the server was stopping before this instant");
	assert_int_equal(s->runs[0].state, RUN_RUNNING);
	sim_free(s);
}

static void job_change_withdraws_a_run_fired_ahead(void **state)
{
	struct sim *s = sim_new_lead(1, 500);
	int64_t id;

	(void)state;
	put(s, "{\"name\":\"w\",\"schedule\":\"@every 1s\",\"run\":{\"shell\":\"x\"}}", s->now);
	advance(s, T0 + 600); /* run 1 fired ahead for 1 s */
	assert_int_equal(s->runs[0].state, RUN_PENDING);
	/* A manual trigger now meets the imminent run (forbid), with a clear reason. */
	assert_int_equal(engine_trigger(s->e, "w", NULL, s->now, &id), 0);
	drain(s);
	assert_int_equal(s->runs[id - 1].state, RUN_SKIPPED);
	assert_non_null(strstr(s->runs[id - 1].reason, "about to start"));
	/* Changing the job takes the early run back before it can start. */
	put(s, "{\"name\":\"w\",\"schedule\":\"@manual\",\"run\":{\"shell\":\"y\"}}", s->now);
	assert_int_equal(s->kills, 1);
	assert_int_equal(s->runs[0].state, RUN_SKIPPED);
	assert_string_equal(s->runs[0].reason, "the job was changed before this instant");
	assert_int_equal(engine_trigger(s->e, "w", NULL, s->now, &id), 0);
	drain(s);
	advance(s, T0 + 5000);
	assert_int_equal(s->runs[id - 1].state, RUN_SUCCEEDED);
	assert_int_equal(s->maxid, 3);
	sim_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_second_for_an_hour_fires_each_instant_once),
		cmocka_unit_test(forbid_skips_and_records_overlapping_fires),
		cmocka_unit_test(allow_runs_in_parallel),
		cmocka_unit_test(replace_cancels_the_running_run),
		cmocka_unit_test(serial_queues_behind_the_running_run),
		cmocka_unit_test(misfire_fire_once_runs_once_and_records_the_rest),
		cmocka_unit_test(misfire_skip_records_every_missed_instant),
		cmocka_unit_test(misfire_fire_all_runs_each_missed_instant),
		cmocka_unit_test(misfire_within_threshold_is_a_normal_fire),
		cmocka_unit_test(long_outage_caps_records_and_summarises),
		cmocka_unit_test(year_long_outage_fires_once_at_the_newest_instant),
		cmocka_unit_test(retry_backs_off_exponentially_then_succeeds),
		cmocka_unit_test(retries_exhausted_fail_the_run),
		cmocka_unit_test(on_success_chains_the_next_job),
		cmocka_unit_test(chain_does_not_follow_failure),
		cmocka_unit_test(paused_job_does_not_fire_and_resume_starts_fresh),
		cmocka_unit_test(schedule_change_takes_effect_without_restart),
		cmocka_unit_test(kill_cancels_a_running_run),
		cmocka_unit_test(no_matching_executor_fails_the_run_with_a_reason),
		cmocka_unit_test(crash_recovery_loses_running_attempt_and_retries),
		cmocka_unit_test(crash_recovery_without_retry_marks_lost),
		cmocka_unit_test(lost_executor_fails_over_or_loses_shards),
		cmocka_unit_test(lost_executor_loses_every_one_of_many_runs),
		cmocka_unit_test(lost_executor_loses_runs_whose_ids_collide),
		cmocka_unit_test(sharded_run_spreads_over_executors),
		cmocka_unit_test(broadcast_runs_one_shard_per_executor),
		cmocka_unit_test(removed_job_lets_running_finish_and_cancels_queued),
		cmocka_unit_test(shard_strategies_match_the_design_vectors),
		cmocka_unit_test(seeded_simulation_never_duplicates_or_loses_an_instant),
		cmocka_unit_test(seeded_simulation_with_lead_time_keeps_every_guarantee),
		cmocka_unit_test(lead_time_fires_early_but_starts_on_time),
		cmocka_unit_test(job_going_idle_in_the_lead_window_fires_ahead),
		cmocka_unit_test(least_busy_weighs_running_by_capacity),
		cmocka_unit_test(disabled_executor_gets_no_new_shards),
		cmocka_unit_test(executor_running_counts_unfinished_shards),
		cmocka_unit_test(refused_dispatch_goes_to_another_executor),
		cmocka_unit_test(refused_early_fire_still_starts_at_its_instant),
		cmocka_unit_test(restart_keeps_attempts_of_expected_executors),
		cmocka_unit_test(expected_executor_that_never_returns_fails_over),
		cmocka_unit_test(job_change_withdraws_a_run_fired_ahead),
		cmocka_unit_test(stopping_withdraws_runs_fired_ahead),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);

	tz_cleanup();
	return rc;
}
