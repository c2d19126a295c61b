/* SPDX-License-Identifier: MIT */
/*
 * The executor's spool (src/exec/spool.c): results survive a close and
 * reopen (an executor restart), come back in the order they were stored, are
 * idempotent by (run, shard, attempt), and an ack deletes exactly one; in-
 * flight records are listed after a restart and dropped by their result.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "exec/spool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char path[256];

static int setup(void **state)
{
	(void)state;
	snprintf(path, sizeof(path), "/tmp/clover-spool-test-%d.db", (int)getpid());
	unlink(path);
	return 0;
}

static int teardown(void **state)
{
	char p[300];

	(void)state;
	unlink(path);
	snprintf(p, sizeof(p), "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path);
	unlink(p);
	return 0;
}

static struct spool *open_spool(void)
{
	struct spool *sp = NULL;
	struct error_info e;

	if (spool_open(path, &sp, &e) != 0)
		fail_msg("spool_open: %s", e.message);
	return sp;
}

static struct proto_result_item result(int64_t run, int shard, int attempt, const char *msg)
{
	return (struct proto_result_item){.run_id = run,
	                                  .shard = shard,
	                                  .attempt = attempt,
	                                  .ticket = 7,
	                                  .state = RUN_SUCCEEDED,
	                                  .exit_code = 0,
	                                  .started_at = 1000,
	                                  .finished_at = 2000,
	                                  .message = msg};
}

static void test_restart_order_and_ack(void **state)
{
	struct spool *sp = open_spool();
	struct spool_result *v;
	struct proto_result_item r;
	bool added;
	size_t n;

	(void)state;
	/* Stored out of key order: delivery follows storing order. */
	r = result(30, 0, 1, "third-key-first");
	assert_int_equal(spool_result_put(sp, &r, "tcp://a:1", &added), 0);
	assert_true(added);
	r = result(10, 2, 1, NULL);
	assert_int_equal(spool_result_put(sp, &r, NULL, &added), 0);
	r = result(20, 0, 3, "x");
	assert_int_equal(spool_begin(sp), 0);
	assert_int_equal(spool_result_put(sp, &r, "tcp://b:2", &added), 0);
	assert_int_equal(spool_commit(sp), 0);
	/* The same attempt again: the first result wins. */
	r = result(30, 0, 1, "second copy");
	r.state = RUN_FAILED;
	assert_int_equal(spool_result_put(sp, &r, NULL, &added), 0);
	assert_false(added);
	spool_close(sp);

	sp = open_spool(); /* the executor restarted */
	assert_int_equal(spool_result_count(sp), 3);
	assert_int_equal(spool_results(sp, 0, 100, &v, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(v[0].item.run_id, 30);
	assert_string_equal(v[0].item.message, "third-key-first");
	assert_int_equal(v[0].item.state, RUN_SUCCEEDED);
	assert_string_equal(v[0].endpoint, "tcp://a:1");
	assert_int_equal(v[0].item.ticket, 7);
	assert_int_equal(v[0].item.started_at, 1000);
	assert_int_equal(v[0].item.finished_at, 2000);
	assert_int_equal(v[1].item.run_id, 10);
	assert_int_equal(v[1].item.shard, 2);
	assert_null(v[1].item.message);
	assert_null(v[1].endpoint);
	assert_int_equal(v[2].item.run_id, 20);
	assert_int_equal(v[2].item.attempt, 3);
	spool_results_free(v, n);

	/* max limits the list; after_seq walks on from where it stopped. */
	assert_int_equal(spool_results(sp, 0, 1, &v, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(v[0].item.run_id, 30);
	{
		int64_t last = v[0].seq;

		spool_results_free(v, n);
		assert_int_equal(spool_results(sp, last, 1, &v, &n), 0);
		assert_int_equal(n, 1);
		assert_int_equal(v[0].item.run_id, 10);
		assert_true(v[0].seq > last);
		last = v[0].seq;
		spool_results_free(v, n);
		assert_int_equal(spool_results(sp, last, 10, &v, &n), 0);
		assert_int_equal(n, 1);
		assert_int_equal(v[0].item.run_id, 20);
		last = v[0].seq;
		spool_results_free(v, n);
		assert_int_equal(spool_results(sp, last, 10, &v, &n), 0);
		assert_int_equal(n, 0);
		spool_results_free(v, n);
	}

	/* An ack deletes exactly that attempt; an unknown ack is no error. */
	assert_true(spool_has(sp, 10, 2, 1));
	assert_int_equal(spool_result_ack(sp, 10, 2, 1), 0);
	assert_false(spool_has(sp, 10, 2, 1));
	assert_int_equal(spool_result_ack(sp, 10, 2, 1), 0);
	assert_int_equal(spool_result_ack(sp, 20, 0, 2), 0);
	assert_int_equal(spool_result_count(sp), 2);
	spool_close(sp);

	sp = open_spool();
	assert_int_equal(spool_results(sp, 0, 100, &v, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(v[0].item.run_id, 30);
	assert_int_equal(v[1].item.run_id, 20);
	spool_results_free(v, n);
	/* A stored result after the restart goes after the older ones. */
	r = result(5, 0, 1, NULL);
	assert_int_equal(spool_result_put(sp, &r, NULL, &added), 0);
	assert_int_equal(spool_results(sp, 0, 100, &v, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(v[2].item.run_id, 5);
	spool_results_free(v, n);
	spool_close(sp);
}

static void test_inflight(void **state)
{
	struct spool *sp = open_spool();
	struct spool_inflight *f;
	struct proto_result_item r;
	size_t n;

	(void)state;
	assert_int_equal(spool_inflight_put(sp, 1, 0, 1, 11, "tcp://a:1"), 0);
	assert_int_equal(spool_inflight_put(sp, 2, 1, 1, 12, NULL), 0);
	assert_int_equal(spool_inflight_put(sp, 3, 0, 2, 13, NULL), 0);
	assert_int_equal(spool_inflight_started(sp, 1, 0, 1, 4242), 0);
	assert_int_equal(spool_inflight_del(sp, 3, 0, 2), 0);
	assert_true(spool_has(sp, 2, 1, 1));
	spool_close(sp);

	sp = open_spool();
	assert_int_equal(spool_inflight_list(sp, &f, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(f[0].run_id, 1);
	assert_int_equal(f[0].ticket, 11);
	assert_int_equal(f[0].started_at, 4242);
	assert_string_equal(f[0].endpoint, "tcp://a:1");
	assert_int_equal(f[1].run_id, 2);
	assert_int_equal(f[1].started_at, 0);
	assert_null(f[1].endpoint);
	spool_inflight_free(f, n);

	/* Its result replaces the in-flight record. */
	r = result(1, 0, 1, NULL);
	assert_int_equal(spool_result_put(sp, &r, NULL, NULL), 0);
	assert_int_equal(spool_inflight_list(sp, &f, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(f[0].run_id, 2);
	spool_inflight_free(f, n);
	assert_true(spool_has(sp, 1, 0, 1));
	spool_close(sp);
}

static void test_memory_and_bad_path(void **state)
{
	struct spool *sp = NULL;
	struct error_info e;
	struct proto_result_item r = result(1, 0, 1, NULL);

	(void)state;
	assert_int_equal(spool_open(NULL, &sp, &e), 0);
	assert_int_equal(spool_result_put(sp, &r, NULL, NULL), 0);
	assert_int_equal(spool_result_count(sp), 1);
	spool_close(sp);
	spool_close(NULL);
	assert_int_equal(spool_open("/nonexistent-dir/x/spool.db", &sp, &e), CLOVER_ESTORE);
	assert_null(sp);
	assert_non_null(strstr(e.message, "/nonexistent-dir/x/spool.db"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_restart_order_and_ack, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inflight, setup, teardown),
		cmocka_unit_test(test_memory_and_bad_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
