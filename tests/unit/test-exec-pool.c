/* SPDX-License-Identifier: MIT */
/*
 * Executor pool and handler jobs: event order (STARTED before FINISHED,
 * exactly one FINISHED per accepted request, FIFO start order), exec_busy(),
 * the bounded queue (CLOVER_EAGAIN), exec_kill() of queued and running
 * attempts, the handler registry (noop, unknown names, duplicates), the
 * handler context (request, progress, log, cancellation, timeout) and
 * exec_pool_free() with work still running and queued.
 */
#include "exec-test.h"

#include <stdatomic.h>

/* Loops until cancelled; reports once it runs, so tests can kill it then. */
static int blocker(struct exec_ctx *ctx, void *userdata, char **error)
{
	atomic_int *running = userdata;

	(void)error;
	if (running)
		atomic_fetch_add(running, 1);
	while (!exec_ctx_cancelled(ctx))
		sleep_ms(1);
	return 0;
}

/* Uses every part of the context, then fails when the shard parameter says so. */
static int chatty(struct exec_ctx *ctx, void *userdata, char **error)
{
	const struct exec_request *req = exec_ctx_request(ctx);
	char big[3000];

	(void)userdata;
	exec_ctx_log(ctx, "hello %d from %s", req->shard, req->shard_param);
	exec_ctx_progress(ctx, 0.5, "half way");
	exec_ctx_progress(ctx, 7.0, NULL);
	memset(big, 'y', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	exec_ctx_log(ctx, "%s\n", big);
	if (req->params && strcmp(req->params, "fail") == 0) {
		*error = strdup("boom: the widget broke");
		return 1;
	}
	return 0;
}

static void wait_idle(struct exec_pool *p)
{
	int64_t end = time_mono_ms() + 5000;

	while (exec_busy(p) != 0) {
		assert_true(time_mono_ms() < end);
		sleep_ms(1);
	}
}

static void test_noop(void **state)
{
	struct rec r;
	struct exec_pool *p;
	struct job_spec *sp = mkspec("{\"name\":\"n\",\"schedule\":\"@manual\","
	                             "\"run\":{\"handler\":\"noop\"}}");
	struct rec_ev s, f;

	(void)state;
	rec_init(&r);
	p = mkpool(&r, 2, 0, 0, 0);
	submit(p, sp, 1);
	f = rec_wait(&r, 1, EXEC_EV_FINISHED, 5000);
	s = rec_wait(&r, 1, EXEC_EV_STARTED, 0);
	assert_int_equal(f.state, RUN_SUCCEEDED);
	assert_int_equal(f.exit_code, 0);
	assert_null(f.message);
	assert_true(s.at <= f.at);
	assert_int_equal(f.shard, 0);
	assert_int_equal(f.attempt, 1);
	wait_idle(p);
	exec_pool_free(p);
	/* STARTED comes before FINISHED and each comes once. */
	assert_int_equal(r.n, 2);
	assert_int_equal(r.ev[0].kind, EXEC_EV_STARTED);
	assert_int_equal(r.ev[1].kind, EXEC_EV_FINISHED);
	rec_ev_free(&f);
	rec_ev_free(&s);
	job_spec_unref(sp);
	rec_clear(&r);
}

/* A shard dispatched ahead of its instant starts at the instant; a kill ends the wait. */
static void test_not_before(void **state)
{
	struct rec r;
	struct exec_pool *p;
	struct job_spec *sp = mkspec("{\"name\":\"n\",\"schedule\":\"@manual\","
	                             "\"run\":{\"handler\":\"noop\"}}");
	int64_t at = time_wall_ms() + 300;
	struct exec_request req = {.run_id = 1, .shard_count = 1, .attempt = 1, .spec = sp,
	                           .not_before = at};
	struct rec_ev s, f;

	(void)state;
	rec_init(&r);
	p = mkpool(&r, 2, 0, 0, 0);
	assert_int_equal(exec_submit(p, &req), 0);
	s = rec_wait(&r, 1, EXEC_EV_STARTED, 5000);
	assert_true(s.at >= at);
	f = rec_wait(&r, 1, EXEC_EV_FINISHED, 5000);
	assert_int_equal(f.state, RUN_SUCCEEDED);
	rec_ev_free(&s);
	rec_ev_free(&f);

	/* A kill while it waits for an instant far away ends it at once, unstarted. */
	req.run_id = 2;
	req.not_before = time_wall_ms() + 60000;
	assert_int_equal(exec_submit(p, &req), 0);
	sleep_ms(50);
	assert_int_equal(exec_kill(p, 2, 0, 1, false), 0);
	f = rec_wait(&r, 2, EXEC_EV_FINISHED, 2000);
	assert_int_equal(f.state, RUN_CANCELLED);
	assert_int_equal(rec_count(&r, 2, EXEC_EV_STARTED), 0);
	rec_ev_free(&f);
	wait_idle(p);
	exec_pool_free(p);
	job_spec_unref(sp);
	rec_clear(&r);
}

/*
 * Shards waiting for their instants occupy no worker: one worker runs a shard
 * due now while three wait, and the waiting ones start in instant order, not
 * submission order; freeing the pool cancels one still waiting.
 */
static void test_waiting_shards_leave_workers_free(void **state)
{
	struct rec r;
	struct exec_pool *p;
	struct job_spec *sp = mkspec("{\"name\":\"n\",\"schedule\":\"@manual\","
	                             "\"run\":{\"handler\":\"noop\"}}");
	int64_t now = time_wall_ms();
	struct exec_request req = {.shard_count = 1, .attempt = 1, .spec = sp};
	struct rec_ev a, b, c;

	(void)state;
	rec_init(&r);
	p = mkpool(&r, 1, 0, 0, 0);
	req.run_id = 1, req.not_before = now + 400;
	assert_int_equal(exec_submit(p, &req), 0);
	req.run_id = 2, req.not_before = now + 200;
	assert_int_equal(exec_submit(p, &req), 0);
	req.run_id = 3, req.not_before = now + 60000;
	assert_int_equal(exec_submit(p, &req), 0);
	req.run_id = 5, req.not_before = now + 300; /* before one already waiting */
	assert_int_equal(exec_submit(p, &req), 0);
	req.run_id = 4, req.not_before = 0;
	assert_int_equal(exec_submit(p, &req), 0);
	assert_int_equal(exec_kill(p, 5, 0, 1, false), 0);
	c = rec_wait(&r, 5, EXEC_EV_FINISHED, 0);
	assert_int_equal(c.state, RUN_CANCELLED);
	rec_ev_free(&c);
	c = rec_wait(&r, 4, EXEC_EV_FINISHED, 5000);
	assert_true(c.at < now + 200);
	a = rec_wait(&r, 1, EXEC_EV_STARTED, 5000);
	b = rec_wait(&r, 2, EXEC_EV_STARTED, 5000);
	assert_true(b.at >= now + 200);
	assert_true(a.at >= now + 400);
	assert_true(b.at <= a.at);
	rec_ev_free(&a);
	a = rec_wait(&r, 1, EXEC_EV_FINISHED, 5000);
	assert_int_equal(exec_busy(p), 1); /* run 3, still waiting */
	rec_ev_free(&a);
	rec_ev_free(&b);
	rec_ev_free(&c);
	exec_pool_free(p);
	c = rec_wait(&r, 3, EXEC_EV_FINISHED, 0);
	assert_int_equal(c.state, RUN_CANCELLED);
	assert_int_equal(rec_count(&r, 3, EXEC_EV_STARTED), 0);
	rec_ev_free(&c);
	job_spec_unref(sp);
	rec_clear(&r);
}

static void test_many_noops_exactly_once(void **state)
{
	enum { N = 20000 };
	struct rec r;
	struct exec_pool *p;
	struct job_spec *sp = mkspec("{\"name\":\"n\",\"schedule\":\"@manual\","
	                             "\"run\":{\"handler\":\"noop\"}}");
	static unsigned char started[N], finished[N];

	(void)state;
	rec_init(&r);
	p = mkpool(&r, 4, N, 0, 0);
	for (int i = 0; i < N; i++)
		submit(p, sp, i);
	wait_idle(p);
	exec_pool_free(p);
	memset(started, 0, sizeof(started));
	memset(finished, 0, sizeof(finished));
	for (size_t i = 0; i < r.n; i++) {
		int64_t id = r.ev[i].run_id;

		assert_true(id >= 0 && id < N);
		if (r.ev[i].kind == EXEC_EV_STARTED) {
			assert_int_equal(finished[id], 0);
			started[id]++;
		} else {
			assert_int_equal(r.ev[i].kind, EXEC_EV_FINISHED);
			assert_int_equal(r.ev[i].state, RUN_SUCCEEDED);
			finished[id]++;
		}
	}
	for (int i = 0; i < N; i++) {
		assert_int_equal(started[i], 1);
		assert_int_equal(finished[i], 1);
	}
	job_spec_unref(sp);
	rec_clear(&r);
}

static void test_fifo_order(void **state)
{
	struct rec r;
	struct exec_pool *p;
	struct job_spec *sp = mkspec("{\"name\":\"n\",\"schedule\":\"@manual\","
	                             "\"run\":{\"handler\":\"noop\"}}");
	int64_t next = 0;

	(void)state;
	rec_init(&r);
	p = mkpool(&r, 1, 0, 0, 0);
	for (int i = 0; i < 200; i++)
		submit(p, sp, i);
	wait_idle(p);
	exec_pool_free(p);
	for (size_t i = 0; i < r.n; i++)
		if (r.ev[i].kind == EXEC_EV_STARTED)
			assert_int_equal(r.ev[i].run_id, next++);
	assert_int_equal(next, 200);
	job_spec_unref(sp);
	rec_clear(&r);
}

static void test_unknown_handler(void **state)
{
	struct rec r;
	struct exec_pool *p;
	struct job_spec *sp = mkspec("{\"name\":\"u\",\"schedule\":\"@manual\","
	                             "\"run\":{\"handler\":\"nope\"}}");
	struct rec_ev f;

	(void)state;
	rec_init(&r);
	p = mkpool(&r, 1, 0, 0, 0);
	submit(p, sp, 5);
	f = rec_wait(&r, 5, EXEC_EV_FINISHED, 5000);
	assert_int_equal(f.state, RUN_FAILED);
	assert_int_equal(f.exit_code, -1);
	assert_string_equal(f.message, "no handler 'nope' on this executor");
	exec_pool_free(p);
	rec_ev_free(&f);
	job_spec_unref(sp);
	rec_clear(&r);
}

static void test_register(void **state)
{
	struct rec r;
	struct exec_pool *p;

	(void)state;
	rec_init(&r);
	p = mkpool(&r, 1, 0, 0, 0);
	assert_int_equal(exec_register(p, "noop", blocker, NULL), CLOVER_EEXIST);
	assert_int_equal(exec_register(p, "", blocker, NULL), CLOVER_EINVAL);
	assert_int_equal(exec_register(p, "x", NULL, NULL), CLOVER_EINVAL);
	assert_int_equal(exec_register(p, "x", blocker, NULL), 0);
	assert_int_equal(exec_register(p, "x", chatty, NULL), CLOVER_EEXIST);
	exec_pool_free(p);
	exec_pool_free(NULL);
	rec_clear(&r);
}

static void test_bad_options(void **state)
{
	struct exec_options opt = {0};
	struct exec_pool *p = (void *)1;

	(void)state;
	assert_int_equal(exec_pool_new(&opt, &p), CLOVER_EINVAL); /* no on_event */
	assert_null(p);
	opt.on_event = rec_on_event;
	opt.workers = -1;
	assert_int_equal(exec_pool_new(&opt, &p), CLOVER_EINVAL);
}

static void test_handler_context(void **state)
{
	struct rec r;
	struct exec_pool *p;
	struct job_spec *sp = mkspec("{\"name\":\"c\",\"schedule\":\"@manual\","
	                             "\"run\":{\"handler\":\"chatty\"}}");
	struct exec_request req = {.run_id = 9,
	                           .shard = 2,
	                           .shard_count = 4,
	                           .attempt = 3,
	                           .spec = sp,
	                           .shard_param = "beta"};
	struct rec_ev f, pr;
	char *log;
	size_t len, nchunks, maxchunk;
	int nprogress = 0;

	(void)state;
	rec_init(&r);
	p = mkpool(&r, 1, 0, 0, 1024);
	assert_int_equal(exec_register(p, "chatty", chatty, NULL), 0);
	assert_int_equal(exec_submit(p, &req), 0);
	req.run_id = 10;
	req.params = "fail";
	assert_int_equal(exec_submit(p, &req), 0);

	f = rec_wait(&r, 9, EXEC_EV_FINISHED, 5000);
	assert_int_equal(f.state, RUN_SUCCEEDED);
	assert_int_equal(f.shard, 2);
	assert_int_equal(f.attempt, 3);
	rec_ev_free(&f);
	pr = rec_wait(&r, 9, EXEC_EV_PROGRESS, 0);
	assert_true(pr.progress == 0.5);
	assert_string_equal(pr.message, "half way");
	rec_ev_free(&pr);
	pthread_mutex_lock(&r.mu);
	for (size_t i = 0; i < r.n; i++) {
		if (r.ev[i].run_id == 9 && r.ev[i].kind == EXEC_EV_PROGRESS) {
			nprogress++;
			if (nprogress == 2) { /* clamped into 0..1 */
				assert_true(r.ev[i].progress == 1.0);
				assert_null(r.ev[i].message);
			}
		}
	}
	pthread_mutex_unlock(&r.mu);
	assert_int_equal(nprogress, 2);

	/* One newline is added only when missing; the long line is split into chunks. */
	log = rec_log(&r, 9, &len, &nchunks, &maxchunk);
	assert_int_equal(len, strlen("hello 2 from beta\n") + 2999 + 1);
	assert_memory_equal(log, "hello 2 from beta\nyyy", 21);
	assert_int_equal(log[len - 1], '\n');
	assert_int_equal(log[len - 2], 'y');
	assert_true(maxchunk <= 1024);
	assert_true(nchunks >= 4);
	free(log);

	f = rec_wait(&r, 10, EXEC_EV_FINISHED, 5000);
	assert_int_equal(f.state, RUN_FAILED);
	assert_string_equal(f.message, "boom: the widget broke");
	rec_ev_free(&f);
	exec_pool_free(p);
	job_spec_unref(sp);
	rec_clear(&r);
}

static void test_kill_running_and_queued(void **state)
{
	struct rec r;
	struct exec_pool *p;
	struct job_spec *sp = mkspec("{\"name\":\"b\",\"schedule\":\"@manual\","
	                             "\"run\":{\"handler\":\"blocker\"}}");
	atomic_int running = 0;
	struct rec_ev f;
	int64_t t0;

	(void)state;
	rec_init(&r);
	p = mkpool(&r, 1, 0, 0, 0);
	assert_int_equal(exec_register(p, "blocker", blocker, &running), 0);
	submit(p, sp, 1);
	submit(p, sp, 2);
	submit(p, sp, 3);
	while (atomic_load(&running) == 0)
		sleep_ms(1);
	assert_int_equal(exec_busy(p), 3);

	/* Queued: finishes at once, before exec_kill returns, never started. */
	assert_int_equal(exec_kill(p, 2, 0, 1, false), 0);
	assert_int_equal(rec_count(&r, 2, EXEC_EV_FINISHED), 1);
	f = rec_wait(&r, 2, EXEC_EV_FINISHED, 0);
	assert_int_equal(f.state, RUN_CANCELLED);
	assert_string_equal(f.message, "cancelled before it started");
	rec_ev_free(&f);
	assert_int_equal(rec_count(&r, 2, EXEC_EV_STARTED), 0);
	assert_int_equal(exec_busy(p), 2);
	assert_int_equal(exec_kill(p, 2, 0, 1, false), CLOVER_ENOENT);
	assert_int_equal(exec_kill(p, 1, 0, 2, false), CLOVER_ENOENT); /* other attempt */

	/* Running: the handler sees the flag and the shard ends CANCELLED. */
	t0 = time_mono_ms();
	assert_int_equal(exec_kill(p, 1, 0, 1, false), 0);
	f = rec_wait(&r, 1, EXEC_EV_FINISHED, 5000);
	assert_int_equal(f.state, RUN_CANCELLED);
	assert_string_equal(f.message, "cancelled");
	assert_true(time_mono_ms() - t0 < 1000);
	rec_ev_free(&f);

	/* Then 3 starts; killed as timed out. */
	f = rec_wait(&r, 3, EXEC_EV_STARTED, 5000);
	rec_ev_free(&f);
	assert_int_equal(exec_kill(p, 3, 0, 1, true), 0);
	f = rec_wait(&r, 3, EXEC_EV_FINISHED, 5000);
	assert_int_equal(f.state, RUN_TIMED_OUT);
	rec_ev_free(&f);
	wait_idle(p);
	exec_pool_free(p);
	job_spec_unref(sp);
	rec_clear(&r);
}

static void test_handler_timeout(void **state)
{
	struct rec r;
	struct exec_pool *p;
	struct job_spec *sp =
	    mkspec("{\"name\":\"t\",\"schedule\":\"@manual\",\"timeout\":\"150ms\","
	           "\"run\":{\"handler\":\"blocker\"}}");
	struct rec_ev s, f;

	(void)state;
	rec_init(&r);
	p = mkpool(&r, 1, 0, 0, 0);
	assert_int_equal(exec_register(p, "blocker", blocker, NULL), 0);
	submit(p, sp, 1);
	f = rec_wait(&r, 1, EXEC_EV_FINISHED, 5000);
	s = rec_wait(&r, 1, EXEC_EV_STARTED, 0);
	assert_int_equal(f.state, RUN_TIMED_OUT);
	assert_string_equal(f.message, "timed out after 150ms");
	assert_true(f.at - s.at >= 145); /* ms clocks: allow rounding */
	rec_ev_free(&f);
	rec_ev_free(&s);
	exec_pool_free(p);
	job_spec_unref(sp);
	rec_clear(&r);
}

static void test_queue_full(void **state)
{
	struct rec r;
	struct exec_pool *p;
	struct job_spec *sp = mkspec("{\"name\":\"b\",\"schedule\":\"@manual\","
	                             "\"run\":{\"handler\":\"blocker\"}}");
	struct exec_request req = {.run_id = 4, .shard_count = 1, .attempt = 1, .spec = sp};
	atomic_int running = 0;

	(void)state;
	rec_init(&r);
	p = mkpool(&r, 1, 2, 0, 0);
	assert_int_equal(exec_register(p, "blocker", blocker, &running), 0);
	submit(p, sp, 1);
	while (atomic_load(&running) == 0)
		sleep_ms(1);
	submit(p, sp, 2);
	submit(p, sp, 3);
	assert_int_equal(exec_submit(p, &req), CLOVER_EAGAIN);
	assert_int_equal(exec_busy(p), 3);
	/* No event ever comes for a refused request. */
	exec_pool_free(p);
	assert_int_equal(rec_count(&r, 4, EXEC_EV_STARTED), 0);
	assert_int_equal(rec_count(&r, 4, EXEC_EV_FINISHED), 0);
	job_spec_unref(sp);
	rec_clear(&r);
}

static void test_free_reports_running_and_queued(void **state)
{
	struct rec r;
	struct exec_pool *p;
	struct job_spec *sp = mkspec("{\"name\":\"b\",\"schedule\":\"@manual\","
	                             "\"run\":{\"handler\":\"blocker\"}}");
	atomic_int running = 0;

	(void)state;
	rec_init(&r);
	p = mkpool(&r, 2, 0, 0, 0);
	assert_int_equal(exec_register(p, "blocker", blocker, &running), 0);
	for (int i = 1; i <= 5; i++)
		submit(p, sp, i);
	while (atomic_load(&running) < 2)
		sleep_ms(1);
	exec_pool_free(p);
	for (int i = 1; i <= 5; i++) {
		struct rec_ev f = rec_wait(&r, i, EXEC_EV_FINISHED, 0);

		assert_int_equal(rec_count(&r, i, EXEC_EV_FINISHED), 1);
		assert_int_equal(f.state, RUN_CANCELLED);
		assert_string_equal(f.message, "cancelled: executor shutting down");
		rec_ev_free(&f);
	}
	/* 1 and 2 were running; 3 to 5 were queued and never started. */
	for (int i = 1; i <= 5; i++)
		assert_int_equal(rec_count(&r, i, EXEC_EV_STARTED), i <= 2);
	job_spec_unref(sp);
	rec_clear(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_noop),
	    cmocka_unit_test(test_not_before),
	    cmocka_unit_test(test_waiting_shards_leave_workers_free),
	    cmocka_unit_test(test_many_noops_exactly_once),
	    cmocka_unit_test(test_fifo_order),
	    cmocka_unit_test(test_unknown_handler),
	    cmocka_unit_test(test_register),
	    cmocka_unit_test(test_bad_options),
	    cmocka_unit_test(test_handler_context),
	    cmocka_unit_test(test_kill_running_and_queued),
	    cmocka_unit_test(test_handler_timeout),
	    cmocka_unit_test(test_queue_full),
	    cmocka_unit_test(test_free_reports_running_and_queued),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
