/* SPDX-License-Identifier: MIT */
/*
 * bench/engine: the engine alone, with a virtual clock and no I/O.
 *
 * N jobs fire every second for D virtual seconds; every dispatched shard
 * starts and succeeds at once (as the noop handler would). Measures how many
 * fires per second of real time the engine sustains, each through its whole
 * life: fire, record, dispatch, started, finished, record. Prints one JSON line.
 */
#include "base/time.h"
#include "core/engine.h"
#include "cron/tz.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T0 1767225600000LL /* 2026-01-01T00:00:00Z */

static void usage(FILE *f)
{
	fprintf(f, "usage: bench/engine [-n|--jobs JOBS] [-d|--duration SECONDS]\n\n"
		   "Runs JOBS per-second jobs for SECONDS of virtual time through the engine\n"
		   "alone and prints one JSON line (default 100000 jobs, 20 s).\n");
}

/* Carries out the actions: every dispatch starts and succeeds at once. */
static size_t settle(struct engine *e, int64_t now)
{
	struct {
		int64_t run;
		int shard, attempt;
	} *d = NULL;
	size_t n, nd = 0, fires = 0;
	const struct engine_action *a = engine_actions(e, &n);

	d = malloc((n ? n : 1) * sizeof(*d));
	for (size_t i = 0; d && i < n; i++) {
		if (a[i].kind == ENGINE_ACT_DISPATCH) {
			d[nd].run = a[i].run_id;
			d[nd].shard = a[i].shard;
			d[nd].attempt = a[i].attempt;
			nd++;
		}
	}
	engine_actions_clear(e);
	for (size_t i = 0; i < nd; i++) {
		engine_shard_started(e, d[i].run, d[i].shard, d[i].attempt, now);
		engine_shard_finished(e, d[i].run, d[i].shard, d[i].attempt, RUN_SUCCEEDED, 0, NULL,
				      now);
		fires++;
	}
	free(d);
	engine_actions(e, &n);
	engine_actions_clear(e);
	return fires;
}

int main(int argc, char **argv)
{
	long njobs = 100000, secs = 20;
	struct engine *e;
	struct engine_options opt = {.seed = 1};
	const char *local[] = {"clover.local=true"};
	struct engine_stats st;
	size_t fires = 0;
	int64_t t0, t1, now = T0;
	int ch;

	static const struct option lopts[] = {
		{"jobs", required_argument, NULL, 'n'},
		{"duration", required_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};

	while ((ch = getopt_long(argc, argv, "n:d:h", lopts, NULL)) != -1) {
		switch (ch) {
		case 'n':
			njobs = strtol(optarg, NULL, 10);
			break;
		case 'd':
			secs = strtol(optarg, NULL, 10);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (njobs < 1 || secs < 1 || engine_new(&opt, &e)) {
		usage(stderr);
		return 2;
	}
	engine_executor_join(e, "local", local, 1, 64);
	for (long i = 0; i < njobs; i++) {
		char json[160];
		struct job_spec *spec;
		struct error_info err;

		snprintf(json, sizeof(json),
			 "{\"name\":\"b%07ld\",\"schedule\":\"* * * * * ?\",\"run\":{\"handler\":\"noop\"}}",
			 i);
		if (job_spec_parse(json, strlen(json), &spec, &err) ||
		    engine_job_put(e, spec, now, now)) {
			fprintf(stderr, "bench: %s\n", err.message);
			return 1;
		}
	}
	t0 = time_mono_ns();
	for (long s = 1; s <= secs; s++) {
		now = T0 + s * 1000;
		engine_tick(e, now);
		fires += settle(e, now);
	}
	t1 = time_mono_ns();
	engine_stats(e, &st);
	printf("{\"bench\":\"engine\",\"jobs\":%ld,\"virtual_seconds\":%ld,\"fires\":%zu,"
	       "\"succeeded\":%llu,\"wall_s\":%.3f,\"fires_per_s\":%.0f,\"ns_per_fire\":%.0f}\n",
	       njobs, secs, fires, (unsigned long long)st.succeeded, (double)(t1 - t0) / 1e9,
	       (double)fires / ((double)(t1 - t0) / 1e9), (double)(t1 - t0) / (double)fires);
	engine_free(e);
	tz_cleanup();
	return fires == (size_t)(njobs * secs) ? 0 : 1;
}
