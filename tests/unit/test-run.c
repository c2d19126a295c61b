/* SPDX-License-Identifier: MIT */
/*
 * Tests of run records (src/core/run.c): the state and trigger names that the
 * store and the API use (they must never change), which states are final, and
 * deep copies of records that outlive their originals.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "clover.h"
#include "core/run.h"

#include <stdlib.h>
#include <string.h>

static void test_state_names_round_trip(void **state)
{
	static const char *const names[RUN_STATE_COUNT] = {
	    "pending",   "running",   "succeeded", "failed",
	    "timed_out", "cancelled", "skipped",   "lost",
	};

	(void)state;
	for (int i = 0; i < RUN_STATE_COUNT; i++) {
		enum run_state s = RUN_LOST;

		assert_string_equal(run_state_name((enum run_state)i), names[i]);
		assert_int_equal(run_state_parse(names[i], &s), 0);
		assert_int_equal(s, i);
	}
	assert_int_equal(RUN_PENDING, 0);
	assert_int_equal(RUN_LOST, 7);
}

static void test_state_parse_rejects_unknown(void **state)
{
	enum run_state s = RUN_RUNNING;

	(void)state;
	assert_int_equal(run_state_parse("done", &s), CLOVER_EINVAL);
	assert_int_equal(run_state_parse("", &s), CLOVER_EINVAL);
	assert_int_equal(run_state_parse("Running", &s), CLOVER_EINVAL);
	assert_int_equal(run_state_parse("running ", &s), CLOVER_EINVAL);
	assert_int_equal(run_state_parse("timed-out", &s), CLOVER_EINVAL);
	assert_int_equal(run_state_parse(NULL, &s), CLOVER_EINVAL);
	assert_int_equal(s, RUN_RUNNING); /* untouched on error */
	assert_string_equal(run_state_name((enum run_state)RUN_STATE_COUNT), "unknown");
	assert_string_equal(run_state_name((enum run_state)(-1)), "unknown");
}

static void test_trigger_names_round_trip(void **state)
{
	static const char *const names[RUN_TRIGGER_COUNT] = {
	    "schedule", "manual", "retry", "misfire", "chain",
	};

	(void)state;
	for (int i = 0; i < RUN_TRIGGER_COUNT; i++) {
		enum run_trigger t = RUN_TRIG_CHAIN;

		assert_string_equal(run_trigger_name((enum run_trigger)i), names[i]);
		assert_int_equal(run_trigger_parse(names[i], &t), 0);
		assert_int_equal(t, i);
	}
}

static void test_trigger_parse_rejects_unknown(void **state)
{
	enum run_trigger t = RUN_TRIG_RETRY;

	(void)state;
	assert_int_equal(run_trigger_parse("cron", &t), CLOVER_EINVAL);
	assert_int_equal(run_trigger_parse("MANUAL", &t), CLOVER_EINVAL);
	assert_int_equal(run_trigger_parse("", &t), CLOVER_EINVAL);
	assert_int_equal(run_trigger_parse(NULL, &t), CLOVER_EINVAL);
	assert_int_equal(t, RUN_TRIG_RETRY);
	assert_string_equal(run_trigger_name((enum run_trigger)RUN_TRIGGER_COUNT), "unknown");
	assert_string_equal(run_trigger_name((enum run_trigger)(-3)), "unknown");
}

static void test_final_states(void **state)
{
	(void)state;
	assert_false(run_state_final(RUN_PENDING));
	assert_false(run_state_final(RUN_RUNNING));
	assert_true(run_state_final(RUN_SUCCEEDED));
	assert_true(run_state_final(RUN_FAILED));
	assert_true(run_state_final(RUN_TIMED_OUT));
	assert_true(run_state_final(RUN_CANCELLED));
	assert_true(run_state_final(RUN_SKIPPED));
	assert_true(run_state_final(RUN_LOST));
	assert_false(run_state_final((enum run_state)RUN_STATE_COUNT));
}

/* A record with every string set, on the heap like the engine makes them. */
static void make_rec(struct run_rec *r)
{
	memset(r, 0, sizeof(*r));
	r->id = 42;
	r->job = strdup("report.daily");
	r->scheduled_at = 1796083200000LL;
	r->trigger = RUN_TRIG_MANUAL;
	r->state = RUN_RUNNING;
	r->created_at = 1796083200005LL;
	r->started_at = 1796083200010LL;
	r->finished_at = 0;
	r->params = strdup("{\"date\":\"2026-12-01\"}");
	r->reason = strdup("retrying");
	r->nshards = 3;
	r->shards = calloc(3, sizeof(*r->shards));
	assert_non_null(r->job);
	assert_non_null(r->params);
	assert_non_null(r->reason);
	assert_non_null(r->shards);
	for (int i = 0; i < 3; i++) {
		struct shard_rec *s = &r->shards[i];

		s->index = i;
		s->attempt = i + 1;
		s->state = i == 0 ? RUN_SUCCEEDED : RUN_RUNNING;
		s->exit_code = i == 0 ? 0 : -1;
		s->started_at = 1796083200010LL + i;
		s->finished_at = i == 0 ? 1796083201000LL : 0;
		s->progress = i == 0 ? 1.0 : -1.0;
		if (i != 2) {
			s->executor = strdup(i == 0 ? "exec-a" : "exec-b");
			assert_non_null(s->executor);
		}
		if (i == 1) {
			s->message = strdup("halfway");
			assert_non_null(s->message);
		}
	}
}

static void test_copy_is_deep_and_equal(void **state)
{
	struct run_rec a, b;

	(void)state;
	make_rec(&a);
	assert_int_equal(run_rec_copy(&b, &a), 0);
	assert_int_equal(b.id, 42);
	assert_int_equal(b.scheduled_at, a.scheduled_at);
	assert_int_equal(b.trigger, RUN_TRIG_MANUAL);
	assert_int_equal(b.state, RUN_RUNNING);
	assert_int_equal(b.created_at, a.created_at);
	assert_int_equal(b.started_at, a.started_at);
	assert_int_equal(b.finished_at, 0);
	assert_int_equal(b.nshards, 3);
	assert_ptr_not_equal(b.job, a.job);
	assert_ptr_not_equal(b.params, a.params);
	assert_ptr_not_equal(b.reason, a.reason);
	assert_ptr_not_equal(b.shards, a.shards);
	assert_string_equal(b.job, "report.daily");
	assert_string_equal(b.params, a.params);
	assert_string_equal(b.reason, "retrying");
	for (int i = 0; i < 3; i++) {
		assert_int_equal(b.shards[i].index, i);
		assert_int_equal(b.shards[i].attempt, i + 1);
		assert_int_equal(b.shards[i].state, a.shards[i].state);
		assert_int_equal(b.shards[i].exit_code, a.shards[i].exit_code);
		assert_int_equal(b.shards[i].started_at, a.shards[i].started_at);
		assert_int_equal(b.shards[i].finished_at, a.shards[i].finished_at);
		assert_true(b.shards[i].progress == a.shards[i].progress);
	}
	assert_string_equal(b.shards[0].executor, "exec-a");
	assert_ptr_not_equal(b.shards[0].executor, a.shards[0].executor);
	assert_null(b.shards[0].message);
	assert_string_equal(b.shards[1].message, "halfway");
	assert_ptr_not_equal(b.shards[1].message, a.shards[1].message);
	assert_null(b.shards[2].executor);

	/* the copy outlives the original */
	run_rec_clear(&a);
	assert_string_equal(b.job, "report.daily");
	assert_string_equal(b.shards[1].executor, "exec-b");
	run_rec_clear(&b);
}

static void test_copy_of_sparse_record(void **state)
{
	struct run_rec a, b;

	(void)state;
	memset(&a, 0, sizeof(a));
	a.id = 7;
	a.state = RUN_SKIPPED;
	memset(&b, 0xff, sizeof(b)); /* garbage in dst is overwritten, not freed */
	assert_int_equal(run_rec_copy(&b, &a), 0);
	assert_int_equal(b.id, 7);
	assert_int_equal(b.state, RUN_SKIPPED);
	assert_null(b.job);
	assert_null(b.params);
	assert_null(b.reason);
	assert_null(b.shards);
	assert_int_equal(b.nshards, 0);
	run_rec_clear(&b);

	/* a shard count without shards copies as no shards */
	a.nshards = 4;
	assert_int_equal(run_rec_copy(&b, &a), 0);
	assert_null(b.shards);
	assert_int_equal(b.nshards, 0);
	run_rec_clear(&b);
}

static void test_clear_zeroes_and_is_idempotent(void **state)
{
	struct run_rec a;

	(void)state;
	make_rec(&a);
	run_rec_clear(&a);
	assert_null(a.job);
	assert_null(a.params);
	assert_null(a.reason);
	assert_null(a.shards);
	assert_int_equal(a.nshards, 0);
	assert_int_equal(a.id, 0);
	run_rec_clear(&a); /* a second clear frees nothing twice */
	run_rec_clear(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_state_names_round_trip),
	    cmocka_unit_test(test_state_parse_rejects_unknown),
	    cmocka_unit_test(test_trigger_names_round_trip),
	    cmocka_unit_test(test_trigger_parse_rejects_unknown),
	    cmocka_unit_test(test_final_states),
	    cmocka_unit_test(test_copy_is_deep_and_equal),
	    cmocka_unit_test(test_copy_of_sparse_record),
	    cmocka_unit_test(test_clear_zeroes_and_is_idempotent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
