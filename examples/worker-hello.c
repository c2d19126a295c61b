/* SPDX-License-Identifier: MIT */
/*
 * worker-hello: the smallest application that is a clover executor. It
 * registers one handler, "hello", that logs a greeting, reports progress in
 * three steps and succeeds (or stops early when the shard is killed), and
 * declares a job that runs it every ten seconds. Then it serves schedulers
 * until SIGINT/SIGTERM, which drain it. See docs/client-library.md.
 *
 *   clover keygen sched; clover keygen app
 *   clover server --rpc-listen 127.0.0.1:7070 --server-key sched \
 *                 --executor-keys app.pub
 *   ./worker-hello tcp://127.0.0.1:7070 sched.pub app [app.spool]
 */
#include <clover.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static clover_worker *worker;

/* Runs on one of the worker's handler threads, several shards at a time. */
static int hello(clover_ctx *ctx, void *userdata)
{
	const char *greeting = userdata;

	clover_ctx_log(ctx, "%s from job %s, run %lld, shard %d of %d (attempt %d)", greeting,
	               clover_ctx_job(ctx), (long long)clover_ctx_run_id(ctx),
	               clover_ctx_shard(ctx), clover_ctx_shard_count(ctx),
	               clover_ctx_attempt(ctx));
	for (int step = 1; step <= 3; step++) {
		struct timespec ts = {0, 100 * 1000 * 1000};
		char text[32];

		if (clover_ctx_cancelled(ctx))
			return clover_ctx_fail(ctx, "stopped at step %d", step);
		nanosleep(&ts, NULL);
		snprintf(text, sizeof(text), "step %d of 3", step);
		clover_ctx_progress(ctx, step / 3.0, text);
	}
	return 0;
}

static volatile sig_atomic_t signals;

/* The first signal lets running shards finish (10 s at most); a second stops at once. */
static void on_signal(int sig)
{
	(void)sig;
	if (signals++ == 0)
		clover_worker_drain(worker, 10000); /* async-signal-safe */
	else
		clover_worker_stop(worker);
}

int main(int argc, char **argv)
{
	static const char job[] = "{\"name\":\"hello-c\",\"schedule\":\"*/10 * * * * ?\","
	                          "\"run\":{\"handler\":\"hello\"},"
	                          "\"target\":{\"labels\":{\"app\":\"hello\"}}}";
	const char *labels[] = {"app=hello"};
	clover_worker_options opt;
	struct sigaction sa;
	int rc;

	if (argc < 4 || argc > 5) {
		fprintf(stderr, "usage: %s tcp://HOST:PORT SCHEDULER.pub KEYNAME [SPOOL]\n", argv[0]);
		return 2;
	}
	memset(&opt, 0, sizeof(opt));
	opt.schedulers = (const char *const *)&argv[1];
	opt.nschedulers = 1;
	opt.server_key_file = argv[2];
	opt.key = argv[3];
	opt.spool = argc == 5 ? argv[4] : NULL;
	opt.labels = labels;
	opt.nlabels = 1;
	opt.capacity = 4;
	opt.id = "worker-hello";

	rc = clover_worker_new(&opt, &worker);
	if (rc == 0)
		rc = clover_worker_handle(worker, "hello", hello, "Hello");
	if (rc == 0)
		rc = clover_worker_declare_job(worker, job);
	if (rc != 0) {
		fprintf(stderr, "worker-hello: %s\n", clover_strerror(rc));
		clover_worker_free(worker);
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	rc = clover_worker_run(worker);

	sa.sa_handler = SIG_DFL;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	clover_worker_free(worker);
	if (rc != 0) {
		fprintf(stderr, "worker-hello: %s\n", clover_strerror(rc));
		return 1;
	}
	return 0;
}
