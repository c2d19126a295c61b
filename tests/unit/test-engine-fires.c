/* SPDX-License-Identifier: MIT */
/*
 * Unit test of engine_next_fires(): the k soonest fires read off the timer
 * heap without changing it agree with every job's own next fire
 * (engine_job_next_fire), whatever the order jobs were added in; paused and
 * manual jobs have none; the heap is left as it was (ticking afterwards fires
 * the same instants).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/engine.h"
#include "core/job.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NJOBS 500
#define T0    1795257030123LL /* 2026-11-21T10:30:30.123Z */

static void put(struct engine *e, const char *name, const char *schedule, bool paused)
{
	char json[256];
	struct job_spec *sp = NULL;
	struct error_info err;

	snprintf(json, sizeof(json),
	         "{\"name\":\"%s\",\"schedule\":\"%s\",\"run\":{\"shell\":\"true\"}%s}", name,
	         schedule, paused ? ",\"paused\":true" : "");
	if (job_spec_parse(json, strlen(json), &sp, &err))
		fail_msg("spec: %s: %s", err.field, err.message);
	assert_int_equal(engine_job_put(e, sp, T0, T0), 0); /* takes the reference */
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static void next_fires_match_every_jobs_own(void **state)
{
	struct engine_options eo = {.first_run_id = 1};
	struct engine_fire f[100], g[100];
	int64_t all[NJOBS], at;
	size_t n, m, nall = 0;
	struct engine *e;
	char name[32], sched[32];

	(void)state;
	assert_int_equal(engine_new(&eo, &e), 0);
	assert_int_equal(engine_next_fires(e, f, 10), 0);
	srand(7);
	for (int i = 0; i < NJOBS; i++) {
		snprintf(name, sizeof(name), "j%03d", i);
		snprintf(sched, sizeof(sched), "@every %ds", 3 + rand() % 5000);
		put(e, name, sched, i % 50 == 7);
	}
	put(e, "manual", "@manual", false);
	for (int i = 0; i < NJOBS; i++) {
		snprintf(name, sizeof(name), "j%03d", i);
		if (engine_job_next_fire(e, name, &at) == 0)
			all[nall++] = at;
		else
			assert_int_equal(i % 50, 7); /* only the paused ones have none */
	}
	assert_int_equal(nall, NJOBS - NJOBS / 50);
	qsort(all, nall, sizeof(all[0]), cmp_i64);

	n = engine_next_fires(e, f, 10);
	assert_int_equal(n, 10);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(f[i].at, all[i]);
		assert_int_equal(engine_job_next_fire(e, f[i].job, &at), 0);
		assert_int_equal(at, f[i].at);
		assert_true(strcmp(f[i].job, "manual") != 0);
	}
	/* At most 64 at a time; asking twice gives the same (the heap is unchanged). */
	n = engine_next_fires(e, f, 100);
	assert_int_equal(n, 64);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(f[i].at, all[i]);
	m = engine_next_fires(e, g, 100);
	assert_int_equal(m, n);
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(f[i].job, g[i].job);
		assert_int_equal(f[i].at, g[i].at);
	}
	assert_int_equal(engine_next_wake(e), all[0]);
	engine_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(next_fires_match_every_jobs_own),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
