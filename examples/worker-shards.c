/* SPDX-License-Identifier: MIT */
/*
 * worker-shards: an executor for a sharded job, the way a data job is split
 * over machines. The job "rollup-regions" has one shard per region (its
 * shards.params); each shard gets its region from clover_ctx_shard_param(),
 * the batch size from the job's run.params and an optional "date" from the
 * parameters of a manual trigger, works through its rows in batches while
 * reporting progress, stops when killed, and fails (to be retried by the
 * scheduler, on another executor when there is one) when its region is
 * "west" on a first attempt, to show retries. Start several copies with
 * different keys and ids to see the shards spread (strategy "average").
 *
 *   clover keygen sched; clover keygen a; clover keygen b
 *   cat a.pub b.pub > keys
 *   clover server --rpc-listen 127.0.0.1:7070 --server-key sched --executor-keys keys
 *   ./worker-shards tcp://127.0.0.1:7070 sched.pub a shards-a &   # spool: shards-a.spool
 *   ./worker-shards tcp://127.0.0.1:7070 sched.pub b shards-b &
 *   clover job trigger rollup-regions --params '{"date":"2026-03-08"}'
 */
#include <clover.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ROWS 1000

static clover_worker *worker;

/* The integer after "key": in a small JSON object, or `def`. */
static long json_int(const char *json, const char *key, long def)
{
	const char *p = json ? strstr(json, key) : NULL;

	if (p == NULL || (p = strchr(p + strlen(key), ':')) == NULL)
		return def;
	return strtol(p + 1, NULL, 10);
}

static int rollup(clover_ctx *ctx, void *userdata)
{
	const char *region = clover_ctx_shard_param(ctx);
	const char *params = clover_ctx_params(ctx);
	long batch = json_int(clover_ctx_handler_params(ctx), "\"batch\"", 100);

	(void)userdata;
	if (region == NULL)
		return clover_ctx_fail(ctx, "no region: the job needs shards.params");
	if (batch < 1 || batch > ROWS)
		return clover_ctx_fail(ctx, "batch %ld: must be 1 to %d", batch, ROWS);
	clover_ctx_log(ctx, "shard %d of %d: region %s, attempt %d, trigger params %s",
	               clover_ctx_shard(ctx), clover_ctx_shard_count(ctx), region,
	               clover_ctx_attempt(ctx), params ? params : "none");
	if (strcmp(region, "west") == 0 && clover_ctx_attempt(ctx) == 1)
		return clover_ctx_fail(ctx, "region %s: source not ready (will be retried)", region);
	for (long done = 0; done < ROWS; done += batch) {
		struct timespec ts = {0, 20 * 1000 * 1000};
		char text[64];

		if (clover_ctx_cancelled(ctx))
			return clover_ctx_fail(ctx, "stopped after %ld rows", done);
		nanosleep(&ts, NULL); /* the work of one batch */
		snprintf(text, sizeof(text), "%ld of %d rows", done + batch, ROWS);
		clover_ctx_progress(ctx, (double)(done + batch) / ROWS, text);
	}
	clover_ctx_log(ctx, "region %s: %d rows rolled up", region, ROWS);
	return 0;
}

static void on_signal(int sig)
{
	(void)sig;
	clover_worker_drain(worker, 10000); /* async-signal-safe */
}

int main(int argc, char **argv)
{
	static const char job[] =
	    "{\"name\":\"rollup-regions\",\"schedule\":\"0 0 2 * * ?\",\"timezone\":\"Europe/Paris\","
	    "\"run\":{\"handler\":\"rollup\",\"params\":\"{\\\"batch\\\": 250}\"},"
	    "\"target\":{\"labels\":{\"app\":\"rollup\"}},"
	    "\"shards\":{\"count\":4,\"params\":[\"north\",\"south\",\"east\",\"west\"]},"
	    "\"retry\":{\"max\":2,\"backoff\":\"1s\"}}";
	const char *labels[] = {"app=rollup"};
	char spool[256];
	clover_worker_options opt;
	struct sigaction sa;
	int rc;

	if (argc != 5) {
		fprintf(stderr, "usage: %s tcp://HOST:PORT SCHEDULER.pub KEYNAME ID\n", argv[0]);
		return 2;
	}
	memset(&opt, 0, sizeof(opt));
	opt.schedulers = (const char *const *)&argv[1];
	opt.nschedulers = 1;
	opt.server_key_file = argv[2];
	opt.key = argv[3];
	opt.id = argv[4];
	snprintf(spool, sizeof(spool), "%s.spool", argv[4]); /* undelivered results survive */
	opt.spool = spool;
	opt.labels = labels;
	opt.nlabels = 1;
	opt.capacity = 2;

	rc = clover_worker_new(&opt, &worker);
	if (rc == 0)
		rc = clover_worker_handle(worker, "rollup", rollup, NULL);
	if (rc == 0)
		rc = clover_worker_declare_job(worker, job);
	if (rc != 0) {
		fprintf(stderr, "worker-shards: %s\n", clover_strerror(rc));
		clover_worker_free(worker);
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	rc = clover_worker_run(worker);
	clover_worker_free(worker);
	if (rc != 0) {
		fprintf(stderr, "worker-shards: %s\n", clover_strerror(rc));
		return 1;
	}
	return 0;
}
