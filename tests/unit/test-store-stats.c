/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the run rollup (docs/storage.md "Run rollup"): a run is
 * counted once, when it first reaches a final state, whether its snapshots
 * were written in one batch (coalesced) or several, and however often its
 * final snapshot is written again; lateness percentiles come from the
 * buckets; the rollup survives a reopen and is pruned with the runs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "store-test.h"

#include "base/time.h"

#define MIN_MS 60000LL
/* A fixed "now": 2026-11-21T10:30:30Z. */
#define NOW 1795257030000LL

static void submit(struct fx *f, int64_t id, enum run_state state, enum run_trigger trig,
                   int64_t sched, int64_t started, int64_t finished)
{
	struct run_rec r = {
	    .id = id,
	    .job = "job",
	    .scheduled_at = sched,
	    .trigger = trig,
	    .state = state,
	    .created_at = sched,
	    .started_at = started,
	    .finished_at = finished,
	};
	char job[32];

	snprintf(job, sizeof(job), "job-%lld", (long long)id);
	r.job = job;
	assert_int_equal(store_submit_run(f->s, &r), 0);
}

static int64_t sum_n(const struct store_run_counts *c)
{
	int64_t n = 0;

	for (int i = 0; i < RUN_STATE_COUNT; i++)
		n += c->n[i];
	return n;
}

static void runs_are_counted_once_when_final(void **state)
{
	struct fx *f = *state;
	struct store_run_stats rs;
	struct store_stats st;
	int64_t t = NOW - 5 * MIN_MS; /* five minutes ago */

	/* 1: pending, then running, then succeeded, each in its own batch. */
	submit(f, 1, RUN_PENDING, RUN_TRIG_SCHEDULE, t, 0, 0);
	assert_int_equal(store_flush(f->s), 0);
	submit(f, 1, RUN_RUNNING, RUN_TRIG_SCHEDULE, t, t + 10, 0);
	assert_int_equal(store_flush(f->s), 0);
	submit(f, 1, RUN_SUCCEEDED, RUN_TRIG_SCHEDULE, t, t + 10, t + 100);
	assert_int_equal(store_flush(f->s), 0);
	/* 2: pending and failed coalesced in one batch. */
	submit(f, 2, RUN_PENDING, RUN_TRIG_SCHEDULE, t, 0, 0);
	submit(f, 2, RUN_FAILED, RUN_TRIG_SCHEDULE, t, t + 40, t + 200);
	/* 3: skipped from the start (no lateness); 4: a misfire, timed out. */
	submit(f, 3, RUN_SKIPPED, RUN_TRIG_SCHEDULE, t, 0, t + 1);
	submit(f, 4, RUN_TIMED_OUT, RUN_TRIG_MISFIRE, t - MIN_MS, t + 3000, t + 5000);
	assert_int_equal(store_flush(f->s), 0);
	/* Final snapshots written again (a recovery, a re-sent result): not counted. */
	submit(f, 1, RUN_SUCCEEDED, RUN_TRIG_SCHEDULE, t, t + 10, t + 100);
	submit(f, 2, RUN_FAILED, RUN_TRIG_SCHEDULE, t, t + 40, t + 200);
	assert_int_equal(store_flush(f->s), 0);
	submit(f, 2, RUN_FAILED, RUN_TRIG_SCHEDULE, t, t + 40, t + 200);
	assert_int_equal(store_flush(f->s), 0);
	/* 5: still running: not counted, but running. */
	submit(f, 5, RUN_RUNNING, RUN_TRIG_MANUAL, t, t + 1, 0);
	assert_int_equal(store_flush(f->s), 0);

	store_stats(f->s, &st);
	assert_int_equal(st.finished[RUN_SUCCEEDED], 1);
	assert_int_equal(st.finished[RUN_FAILED], 1);
	assert_int_equal(st.finished[RUN_SKIPPED], 1);
	assert_int_equal(st.finished[RUN_TIMED_OUT], 1);
	assert_int_equal(st.finished[RUN_RUNNING], 0);
	assert_int_equal(
	    st.lateness[store_bucket(store_lateness_bounds_ms, STORE_LATENESS_BUCKETS, 10)], 1);
	assert_int_equal(st.lateness_sum_ms, 10 + 40 + 3000 + MIN_MS);
	assert_true(st.commits >= 1);

	assert_int_equal(store_run_stats(f->s, NOW, &rs), 0);
	assert_int_equal(rs.running, 1);
	assert_int_equal(rs.finished_24h[RUN_SUCCEEDED], 1);
	assert_int_equal(rs.finished_24h[RUN_FAILED], 1);
	assert_int_equal(rs.finished_24h[RUN_SKIPPED], 1);
	assert_int_equal(rs.finished_24h[RUN_TIMED_OUT], 1);
	assert_int_equal(rs.misfired_24h, 1);
	/* Minute 59 is now's; the runs finished five minutes ago (run 4's at t+5s). */
	assert_int_equal(rs.minutes[59].t, NOW / MIN_MS * MIN_MS);
	assert_int_equal(rs.minutes[59 - 5].n[RUN_SUCCEEDED], 1);
	assert_int_equal(rs.minutes[59 - 5].n[RUN_FAILED], 1);
	assert_int_equal(sum_n(&rs.minutes[59 - 5]), 4);
	assert_int_equal(sum_n(&rs.minutes[59]), 0);
	assert_int_equal(sum_n(&rs.hours[23]), 4);
	assert_int_equal(rs.lateness[23].n, 3);
	assert_true(rs.lateness[23].p50 >= 20 && rs.lateness[23].p50 <= 70);
	assert_true(rs.lateness[23].p99 >= 60000 && rs.lateness[23].p99 <= 120000);
	assert_int_equal(rs.lateness[22].n, 0);

	/* Durable: the counts are in the database, not only in memory. */
	fx_reopen(f);
	assert_int_equal(store_run_stats(f->s, NOW, &rs), 0);
	assert_int_equal(sum_n(&rs.hours[23]), 4);
	assert_int_equal(rs.lateness[23].n, 3);
}

static void the_windows_move_with_now(void **state)
{
	struct fx *f = *state;
	struct store_run_stats rs;

	submit(f, 1, RUN_SUCCEEDED, RUN_TRIG_SCHEDULE, NOW - 90 * MIN_MS, NOW - 90 * MIN_MS,
	       NOW - 90 * MIN_MS);
	submit(f, 2, RUN_LOST, RUN_TRIG_SCHEDULE, NOW - 25 * 60 * MIN_MS, 0,
	       NOW - 25 * 60 * MIN_MS);
	submit(f, 3, RUN_CANCELLED, RUN_TRIG_SCHEDULE, NOW + 5 * MIN_MS, 0, NOW + 5 * MIN_MS);
	assert_int_equal(store_flush(f->s), 0);
	assert_int_equal(store_run_stats(f->s, NOW, &rs), 0);
	for (int i = 0; i < STORE_STATS_MINUTES; i++)
		assert_int_equal(sum_n(&rs.minutes[i]), 0); /* 90 min ago is outside */
	assert_int_equal(rs.finished_24h[RUN_SUCCEEDED], 1);
	assert_int_equal(rs.finished_24h[RUN_LOST], 0);      /* 25 h ago */
	assert_int_equal(rs.finished_24h[RUN_CANCELLED], 0); /* in the future */
	assert_int_equal(rs.hours[0].t, (NOW / 3600000 - 23) * 3600000);
	assert_int_equal(store_run_stats(f->s, NOW + 20 * 60 * MIN_MS, &rs), 0);
	assert_int_equal(rs.finished_24h[RUN_CANCELLED], 1);
	assert_int_equal(store_run_stats(f->s, 0, &rs), CLOVER_EINVAL);
}

static void duplicate_fires_are_not_counted(void **state)
{
	struct fx *f = *state;
	struct store_run_stats rs;
	struct run_rec r = {.id = 7,
	                    .job = "same",
	                    .scheduled_at = NOW - MIN_MS,
	                    .state = RUN_SUCCEEDED,
	                    .created_at = NOW - MIN_MS,
	                    .finished_at = NOW - MIN_MS};
	struct store_stats st;

	assert_int_equal(store_submit_run(f->s, &r), 0);
	r.id = 8; /* the same (job, instant): dropped by the unique rule */
	assert_int_equal(store_submit_run(f->s, &r), 0);
	assert_int_equal(store_flush(f->s), 0);
	store_stats(f->s, &st);
	assert_int_equal(st.duplicates, 1);
	assert_int_equal(st.finished[RUN_SUCCEEDED], 1);
	assert_int_equal(store_run_stats(f->s, NOW, &rs), 0);
	assert_int_equal(rs.finished_24h[RUN_SUCCEEDED], 1);
}

static void the_rollup_is_pruned_with_the_runs(void **state)
{
	struct fx *f = *state;
	struct store_run_stats rs;
	int64_t deleted = 0;

	submit(f, 1, RUN_SUCCEEDED, RUN_TRIG_SCHEDULE, NOW - 120 * MIN_MS, NOW - 120 * MIN_MS,
	       NOW - 120 * MIN_MS);
	submit(f, 2, RUN_SUCCEEDED, RUN_TRIG_SCHEDULE, NOW - 2 * MIN_MS, NOW - 2 * MIN_MS,
	       NOW - 2 * MIN_MS);
	assert_int_equal(store_flush(f->s), 0);
	assert_int_equal(store_prune(f->s, NOW - 60 * MIN_MS, 100, &deleted), 0);
	assert_int_equal(deleted, 1);
	assert_int_equal(store_run_stats(f->s, NOW, &rs), 0);
	assert_int_equal(rs.finished_24h[RUN_SUCCEEDED], 1);
	assert_int_equal(rs.lateness[23].n, 1);
}

static void buckets_are_log_scale_and_monotonic(void **state)
{
	(void)state;
	for (int i = 1; i < STORE_LATENESS_BUCKETS; i++)
		assert_true(store_lateness_bounds_ms[i] > store_lateness_bounds_ms[i - 1]);
	assert_int_equal(store_bucket(store_lateness_bounds_ms, STORE_LATENESS_BUCKETS, 0), 0);
	assert_int_equal(store_bucket(store_lateness_bounds_ms, STORE_LATENESS_BUCKETS, 1), 1);
	assert_int_equal(store_lateness_bounds_ms[store_bucket(store_lateness_bounds_ms,
	                                                       STORE_LATENESS_BUCKETS, 45)],
	                 50);
	assert_int_equal(store_bucket(store_lateness_bounds_ms, STORE_LATENESS_BUCKETS, INT64_MAX),
	                 STORE_LATENESS_BUCKETS - 1);
	assert_int_equal(store_bucket(store_commit_bounds_ms, STORE_COMMIT_BUCKETS, 3), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(runs_are_counted_once_when_final, fx_setup,
	                                    fx_teardown),
	    cmocka_unit_test_setup_teardown(the_windows_move_with_now, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(duplicate_fires_are_not_counted, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(the_rollup_is_pruned_with_the_runs, fx_setup,
	                                    fx_teardown),
	    cmocka_unit_test(buckets_are_log_scale_and_monotonic),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
