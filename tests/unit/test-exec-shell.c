/* SPDX-License-Identifier: MIT */
/*
 * Shell jobs: the CLOVER_* environment and spec env over the server's, cwd
 * (and a missing cwd), exit statuses and signals, output captured in order
 * from stdout and stderr and cut into log_chunk_max chunks, timeouts and
 * kills that stop the whole process group (SIGTERM, then SIGKILL after the
 * grace for a group that ignores SIGTERM), leftover background processes, and
 * exec_pool_free() with shells running.
 *
 * The test process makes itself a child subreaper, so group members orphaned
 * by their shell are reparented to it and the executor can reap them: then
 * kill(-pgid, 0) failing with ESRCH proves that no member survived, even where
 * PID 1 does not reap zombies.
 */
#include "exec-test.h"

#include <errno.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#define GRACE_MS 200

/* A shell job spec; `script` is JSON-escaped here. `extra` is more members or "". */
static struct job_spec *shellspec(const char *extra, const char *script)
{
	struct buf b;
	struct job_spec *sp;

	buf_init(&b, 4096);
	for (const char *c = script; *c; c++) {
		if (*c == '"' || *c == '\\')
			assert_int_equal(buf_printf(&b, "\\%c", *c), 0);
		else if (*c == '\n')
			assert_int_equal(buf_appends(&b, "\\n"), 0);
		else
			assert_int_equal(buf_append(&b, c, 1), 0);
	}
	sp = mkspec("{\"name\":\"sh\",\"schedule\":\"@manual\"%s%s,\"run\":{\"shell\":\"%s\"}}",
	            extra[0] ? "," : "", extra, b.data);
	buf_free(&b);
	return sp;
}

/* Runs one shell job to the end on a fresh pool; returns its FINISHED event. */
static struct rec_ev run1(struct rec *r, struct job_spec *sp, size_t chunk)
{
	struct exec_pool *p = mkpool(r, 2, 0, GRACE_MS, chunk);
	struct rec_ev f;

	submit(p, sp, 1);
	f = rec_wait(r, 1, EXEC_EV_FINISHED, 10000);
	exec_pool_free(p);
	return f;
}

/* The process group id the shell printed as its first line ("$$"). */
static pid_t printed_pgid(struct rec *r, int64_t run_id)
{
	char *log = rec_log(r, run_id, NULL, NULL, NULL);
	long v = strtol(log, NULL, 10);

	if (v <= 1)
		fail_msg("run %lld printed no pid: '%s'", (long long)run_id, log);
	free(log);
	return (pid_t)v;
}

static void assert_group_gone(pid_t pgid)
{
	assert_int_equal(kill(-pgid, 0), -1);
	assert_int_equal(errno, ESRCH);
}

/* True when `log` has `line` as a whole line. */
static bool has_line(const char *log, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = log; (p = strstr(p, line)) != NULL; p++)
		if ((p == log || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\0'))
			return true;
	return false;
}

static int count_prefix(const char *log, const char *prefix)
{
	int n = 0;
	size_t len = strlen(prefix);

	for (const char *p = log; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (strncmp(p, prefix, len) == 0)
			n++;
	return n;
}

static void test_env(void **state)
{
	struct rec r;
	struct exec_pool *p;
	struct job_spec *sp = shellspec("\"env\":{\"FOO\":\"from spec\"}", "env");
	struct exec_request req = {.run_id = 42,
	                           .shard = 1,
	                           .shard_count = 3,
	                           .attempt = 2,
	                           .scheduled_at = 1772955000000LL,
	                           .spec = sp,
	                           .shard_param = "beta",
	                           .params = "{\"k\":1}"};
	struct rec_ev f;
	char *log;

	(void)state;
	rec_init(&r);
	p = mkpool(&r, 1, 0, GRACE_MS, 0);
	assert_int_equal(exec_submit(p, &req), 0);
	req.run_id = 43;
	req.shard_param = NULL;
	req.params = NULL;
	req.scheduled_at = 1772955000123LL;
	assert_int_equal(exec_submit(p, &req), 0);
	f = rec_wait(&r, 43, EXEC_EV_FINISHED, 10000);
	rec_ev_free(&f);
	f = rec_wait(&r, 42, EXEC_EV_FINISHED, 0);
	assert_int_equal(f.state, RUN_SUCCEEDED);
	rec_ev_free(&f);

	log = rec_log(&r, 42, NULL, NULL, NULL);
	assert_true(has_line(log, "CLOVER_JOB=sh"));
	assert_true(has_line(log, "CLOVER_RUN_ID=42"));
	assert_true(has_line(log, "CLOVER_SCHEDULED_AT=2026-03-08T07:30:00Z"));
	assert_true(has_line(log, "CLOVER_SHARD=1"));
	assert_true(has_line(log, "CLOVER_SHARD_COUNT=3"));
	assert_true(has_line(log, "CLOVER_SHARD_PARAM=beta"));
	assert_true(has_line(log, "CLOVER_ATTEMPT=2"));
	assert_true(has_line(log, "CLOVER_PARAMS={\"k\":1}"));
	/* spec env and CLOVER_* win over the server's; each variable appears once */
	assert_true(has_line(log, "FOO=from spec"));
	assert_int_equal(count_prefix(log, "FOO="), 1);
	assert_int_equal(count_prefix(log, "CLOVER_RUN_ID="), 1);
	assert_true(has_line(log, "CLOVER_TEST_INHERITED=yes"));
	free(log);

	log = rec_log(&r, 43, NULL, NULL, NULL);
	assert_true(has_line(log, "CLOVER_SHARD_PARAM="));
	assert_true(has_line(log, "CLOVER_PARAMS="));
	assert_true(has_line(log, "CLOVER_SCHEDULED_AT=2026-03-08T07:30:00.123Z"));
	free(log);
	exec_pool_free(p);
	job_spec_unref(sp);
	rec_clear(&r);
}

static void test_cwd(void **state)
{
	struct rec r;
	struct job_spec *sp = shellspec("\"cwd\":\"/\"", "pwd; cat </dev/stdin; echo eof");
	struct rec_ev f;
	char *log;

	(void)state;
	rec_init(&r);
	f = run1(&r, sp, 0);
	assert_int_equal(f.state, RUN_SUCCEEDED);
	log = rec_log(&r, 1, NULL, NULL, NULL);
	assert_string_equal(log, "/\neof\n"); /* stdin is /dev/null */
	free(log);
	rec_ev_free(&f);
	job_spec_unref(sp);
	rec_clear(&r);

	rec_init(&r);
	sp = shellspec("\"cwd\":\"/nonexistent/clover-test\"", "true");
	f = run1(&r, sp, 0);
	assert_int_equal(f.state, RUN_FAILED);
	assert_int_equal(f.exit_code, -1);
	assert_string_equal(f.message, "cwd '/nonexistent/clover-test': No such file or directory");
	rec_ev_free(&f);
	job_spec_unref(sp);
	rec_clear(&r);
}

static void test_exit_status(void **state)
{
	static const struct {
		const char *script;
		enum run_state state;
		int code;
		const char *message;
	} cases[] = {
	    {"true", RUN_SUCCEEDED, 0, NULL},
	    {"exit 3", RUN_FAILED, 3, "exit status 3"},
	    {"exit 255", RUN_FAILED, 255, "exit status 255"},
	    {"kill -9 $$", RUN_FAILED, -1, "killed by signal SIGKILL"},
	    {"kill -s USR1 $$", RUN_FAILED, -1, "killed by signal SIGUSR1"},
	    {"no-such-command-clover", RUN_FAILED, 127, "exit status 127"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rec r;
		struct job_spec *sp = shellspec("", cases[i].script);
		struct rec_ev f;

		rec_init(&r);
		f = run1(&r, sp, 0);
		assert_int_equal(f.state, cases[i].state);
		assert_int_equal(f.exit_code, cases[i].code);
		if (cases[i].message)
			assert_string_equal(f.message, cases[i].message);
		else
			assert_null(f.message);
		rec_ev_free(&f);
		job_spec_unref(sp);
		rec_clear(&r);
	}
}

static void test_output_in_order(void **state)
{
	struct rec r;
	struct job_spec *sp =
	    shellspec("", "echo one; echo two >&2; echo three; sleep 0.1; echo four >&2");
	struct rec_ev f;
	char *log;

	(void)state;
	rec_init(&r);
	f = run1(&r, sp, 0);
	assert_int_equal(f.state, RUN_SUCCEEDED);
	log = rec_log(&r, 1, NULL, NULL, NULL);
	assert_string_equal(log, "one\ntwo\nthree\nfour\n");
	free(log);
	/* Every LOG comes between STARTED and FINISHED. */
	assert_int_equal(r.ev[0].kind, EXEC_EV_STARTED);
	assert_int_equal(r.ev[r.n - 1].kind, EXEC_EV_FINISHED);
	rec_ev_free(&f);
	job_spec_unref(sp);
	rec_clear(&r);
}

static void test_large_output_chunked(void **state)
{
	struct rec r;
	struct job_spec *sp = shellspec("", "seq 1 100000; seq 1 1000 >&2");
	struct rec_ev f;
	struct buf want;
	size_t len, nchunks, maxchunk;
	char *log;

	(void)state;
	rec_init(&r);
	f = run1(&r, sp, 4096);
	assert_int_equal(f.state, RUN_SUCCEEDED);
	buf_init(&want, 1 << 20);
	for (int i = 1; i <= 100000; i++)
		assert_int_equal(buf_printf(&want, "%d\n", i), 0);
	for (int i = 1; i <= 1000; i++)
		assert_int_equal(buf_printf(&want, "%d\n", i), 0);
	log = rec_log(&r, 1, &len, &nchunks, &maxchunk);
	assert_int_equal(len, want.len);
	assert_memory_equal(log, want.data, len);
	assert_true(maxchunk <= 4096);
	assert_true(nchunks >= len / 4096);
	free(log);
	buf_free(&want);
	rec_ev_free(&f);
	job_spec_unref(sp);
	rec_clear(&r);
}

static void test_timeout_kills_group(void **state)
{
	struct rec r;
	struct job_spec *sp =
	    shellspec("\"timeout\":\"300ms\"", "echo $$; sleep 100 & sleep 100; wait");
	struct rec_ev s, f;
	pid_t pgid;

	(void)state;
	rec_init(&r);
	f = run1(&r, sp, 0);
	s = rec_wait(&r, 1, EXEC_EV_STARTED, 0);
	assert_int_equal(f.state, RUN_TIMED_OUT);
	assert_string_equal(f.message, "timed out after 300ms");
	assert_true(f.at - s.at >= 295);
	assert_true(f.at - s.at < 300 + GRACE_MS + 1000); /* SIGTERM was enough */
	pgid = printed_pgid(&r, 1);
	assert_group_gone(pgid);
	rec_ev_free(&f);
	rec_ev_free(&s);
	job_spec_unref(sp);
	rec_clear(&r);
}

static void test_timeout_sigkill_after_grace(void **state)
{
	struct rec r;
	/* Ignored signals stay ignored across exec: the sleeps ignore SIGTERM too. */
	struct job_spec *sp = shellspec("\"timeout\":\"200ms\"",
	                                "trap '' TERM; echo $$; sleep 100 & sleep 100; wait");
	struct rec_ev s, f;

	(void)state;
	rec_init(&r);
	f = run1(&r, sp, 0);
	s = rec_wait(&r, 1, EXEC_EV_STARTED, 0);
	assert_int_equal(f.state, RUN_TIMED_OUT);
	assert_true(f.at - s.at >= 195 + GRACE_MS);
	assert_true(f.at - s.at < 200 + GRACE_MS + 2000);
	assert_group_gone(printed_pgid(&r, 1));
	rec_ev_free(&f);
	rec_ev_free(&s);
	job_spec_unref(sp);
	rec_clear(&r);
}

static void test_kill_running(void **state)
{
	struct rec r;
	struct exec_pool *p;
	struct job_spec *sp = shellspec("", "echo $$; sleep 100 & sleep 100; wait");
	struct rec_ev f;
	pid_t pgid1, pgid2;
	int64_t t0;

	(void)state;
	rec_init(&r);
	p = mkpool(&r, 2, 0, GRACE_MS, 0);
	submit(p, sp, 1);
	submit(p, sp, 2);
	rec_wait_log(&r, 1, "\n", 5000);
	rec_wait_log(&r, 2, "\n", 5000);
	pgid1 = printed_pgid(&r, 1);
	pgid2 = printed_pgid(&r, 2);

	t0 = time_mono_ms();
	assert_int_equal(exec_kill(p, 1, 0, 1, false), 0);
	f = rec_wait(&r, 1, EXEC_EV_FINISHED, 5000);
	assert_int_equal(f.state, RUN_CANCELLED);
	assert_string_equal(f.message, "cancelled");
	assert_true(time_mono_ms() - t0 < GRACE_MS);
	assert_group_gone(pgid1);
	rec_ev_free(&f);

	assert_int_equal(exec_kill(p, 2, 0, 1, true), 0);
	f = rec_wait(&r, 2, EXEC_EV_FINISHED, 5000);
	assert_int_equal(f.state, RUN_TIMED_OUT);
	assert_string_equal(f.message, "timed out");
	assert_group_gone(pgid2);
	rec_ev_free(&f);
	assert_int_equal(exec_busy(p), 0);
	exec_pool_free(p);
	job_spec_unref(sp);
	rec_clear(&r);
}

static void test_kill_queued_shell(void **state)
{
	struct rec r;
	struct exec_pool *p;
	struct job_spec *sp = shellspec("", "echo $$; sleep 100");
	struct rec_ev f;

	(void)state;
	rec_init(&r);
	p = mkpool(&r, 1, 0, GRACE_MS, 0);
	submit(p, sp, 1);
	submit(p, sp, 2);
	rec_wait_log(&r, 1, "\n", 5000);
	assert_int_equal(exec_kill(p, 2, 0, 1, false), 0);
	f = rec_wait(&r, 2, EXEC_EV_FINISHED, 0);
	assert_int_equal(f.state, RUN_CANCELLED);
	assert_int_equal(rec_count(&r, 2, EXEC_EV_STARTED), 0);
	rec_ev_free(&f);
	assert_int_equal(exec_kill(p, 1, 0, 1, false), 0);
	f = rec_wait(&r, 1, EXEC_EV_FINISHED, 5000);
	assert_int_equal(f.state, RUN_CANCELLED);
	assert_group_gone(printed_pgid(&r, 1));
	rec_ev_free(&f);
	exec_pool_free(p);
	job_spec_unref(sp);
	rec_clear(&r);
}

static void test_leftover_background_process(void **state)
{
	struct rec r;
	/* The shell exits at once; its background sleep holds the pipe open. */
	struct job_spec *sp = shellspec("", "echo $$; sleep 100 & echo done");
	struct rec_ev s, f;
	char *log;

	(void)state;
	rec_init(&r);
	f = run1(&r, sp, 0);
	s = rec_wait(&r, 1, EXEC_EV_STARTED, 0);
	assert_int_equal(f.state, RUN_SUCCEEDED);
	assert_true(f.at - s.at < 1000 + GRACE_MS);
	log = rec_log(&r, 1, NULL, NULL, NULL);
	assert_non_null(strstr(log, "\ndone\n"));
	free(log);
	assert_group_gone(printed_pgid(&r, 1)); /* the straggler was stopped */
	rec_ev_free(&f);
	rec_ev_free(&s);
	job_spec_unref(sp);
	rec_clear(&r);
}

static void test_escaped_process_does_not_hang(void **state)
{
	struct rec r;
	/* A descendant in another session keeps the pipe; reading stops anyway. */
	struct job_spec *sp = shellspec("", "setsid sleep 3 & echo done");
	struct rec_ev s, f;

	(void)state;
	rec_init(&r);
	f = run1(&r, sp, 0);
	s = rec_wait(&r, 1, EXEC_EV_STARTED, 0);
	assert_int_equal(f.state, RUN_SUCCEEDED);
	assert_true(f.at - s.at < 2000);
	rec_ev_free(&f);
	rec_ev_free(&s);
	job_spec_unref(sp);
	rec_clear(&r);
}

static void test_free_kills_running_shells(void **state)
{
	struct rec r;
	struct exec_pool *p;
	struct job_spec *sp = shellspec("", "echo $$; sleep 100 & sleep 100; wait");
	struct rec_ev f;
	pid_t pgid;

	(void)state;
	rec_init(&r);
	p = mkpool(&r, 1, 0, GRACE_MS, 0);
	submit(p, sp, 1);
	submit(p, sp, 2);
	rec_wait_log(&r, 1, "\n", 5000);
	pgid = printed_pgid(&r, 1);
	exec_pool_free(p);
	f = rec_wait(&r, 1, EXEC_EV_FINISHED, 0);
	assert_int_equal(f.state, RUN_CANCELLED);
	assert_string_equal(f.message, "cancelled: executor shutting down");
	rec_ev_free(&f);
	f = rec_wait(&r, 2, EXEC_EV_FINISHED, 0);
	assert_int_equal(f.state, RUN_CANCELLED);
	assert_int_equal(rec_count(&r, 2, EXEC_EV_STARTED), 0);
	rec_ev_free(&f);
	assert_group_gone(pgid);
	job_spec_unref(sp);
	rec_clear(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_env),
	    cmocka_unit_test(test_cwd),
	    cmocka_unit_test(test_exit_status),
	    cmocka_unit_test(test_output_in_order),
	    cmocka_unit_test(test_large_output_chunked),
	    cmocka_unit_test(test_timeout_kills_group),
	    cmocka_unit_test(test_timeout_sigkill_after_grace),
	    cmocka_unit_test(test_kill_running),
	    cmocka_unit_test(test_kill_queued_shell),
	    cmocka_unit_test(test_leftover_background_process),
	    cmocka_unit_test(test_escaped_process_does_not_hang),
	    cmocka_unit_test(test_free_kills_running_shells),
	};

	/* Before any thread exists: setenv is not thread-safe. */
	setenv("CLOVER_TEST_INHERITED", "yes", 1);
	setenv("FOO", "from server", 1);
	setenv("CLOVER_RUN_ID", "stale", 1);
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0)
		perror("prctl(PR_SET_CHILD_SUBREAPER)");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
