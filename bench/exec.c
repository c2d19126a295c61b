/* SPDX-License-Identifier: MIT */
/*
 * Benchmark of the built-in executor (docs/executor.md). Prints one JSON line.
 * Phases, each on one pool:
 *   1. noop:  R runs of the built-in `noop` handler submitted by one thread as
 *             fast as it can, with at most W in flight (submitted but not yet
 *             FINISHED): runs/s from the first submit to the last FINISHED,
 *             and the latency from exec_submit() to the FINISHED callback;
 *   2. paced: noop runs submitted at a fixed rate (default 100,000/s, the
 *             scheduler's target) for a few seconds, in batches every 100 us
 *             like an engine tick: latency from submit to FINISHED;
 *   3. shell: S runs of the shell command `true` (posix_spawn of /bin/sh,
 *             supervision, reaping), at most `workers` in flight: spawns/s and
 *             latency percentiles.
 * The event callback does what a receiver must do at least (count, timestamp);
 * a real receiver (the daemon) also posts each event to its engine's queue.
 */
#include "base/time.h"
#include "core/job.h"
#include "exec/exec.h"

#include <getopt.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct phase {
	int64_t *sub_ns; /* by run id */
	int64_t *lat_ns;
	long n;
	atomic_long started, finished, failed;
	atomic_llong last_ns;
};

static void usage(FILE *fp)
{
	fprintf(fp, "usage: exec [options]\n"
	            "Benchmarks the built-in executor pool: noop handler runs and shell spawns.\n"
	            "Prints one JSON line.\n"
	            "  -r, --requests R  noop runs (default 1000000)\n"
	            "  -s, --shell S     shell runs of `true` (default 1000)\n"
	            "  -w, --workers N   pool workers (default 64, the executor's default)\n"
	            "  -W, --window W    noop runs in flight at most (default 4096)\n"
	            "  --rate X          noop runs/s in the paced phase (default 100000)\n"
	            "  --secs S          length of the paced phase in seconds (default 2)\n"
	            "  -h, --help        this text\n");
}

static void on_event(void *ctx, const struct exec_event *ev)
{
	struct phase *ph = ctx;
	int64_t now;

	switch (ev->kind) {
	case EXEC_EV_STARTED:
		atomic_fetch_add_explicit(&ph->started, 1, memory_order_relaxed);
		break;
	case EXEC_EV_FINISHED:
		now = time_mono_ns();
		ph->lat_ns[ev->run_id] = now - ph->sub_ns[ev->run_id];
		if (ev->state != RUN_SUCCEEDED)
			atomic_fetch_add_explicit(&ph->failed, 1, memory_order_relaxed);
		atomic_store_explicit(&ph->last_ns, now, memory_order_relaxed);
		atomic_fetch_add_explicit(&ph->finished, 1, memory_order_release);
		break;
	default:
		break;
	}
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/*
 * Runs one phase; returns the seconds from first submit to last FINISHED.
 * With `rate` > 0 the n runs are paced at that many per second; otherwise at
 * most `window` are in flight.
 */
static double run_phase(struct phase *ph, const char *json, long n, int workers, long window,
                        long rate)
{
	struct exec_options opt = {
	    .workers = workers, .queue_max = (int)window + 1, .on_event = on_event, .ctx = ph};
	struct exec_request req = {.shard_count = 1, .attempt = 1};
	struct exec_pool *p = NULL;
	struct job_spec *spec = NULL;
	struct error_info err;
	int64_t t0;
	int rc;

	if (job_spec_parse(json, strlen(json), &spec, &err) != 0) {
		fprintf(stderr, "exec: spec: %s: %s\n", err.field, err.message);
		exit(1);
	}
	ph->n = n;
	ph->sub_ns = calloc((size_t)n, sizeof(int64_t));
	ph->lat_ns = calloc((size_t)n, sizeof(int64_t));
	if (ph->sub_ns == NULL || ph->lat_ns == NULL) {
		fprintf(stderr, "exec: out of memory\n");
		exit(1);
	}
	if ((rc = exec_pool_new(&opt, &p)) != 0) {
		fprintf(stderr, "exec: exec_pool_new: %s\n", clover_strerror(rc));
		exit(1);
	}
	req.spec = spec;
	t0 = time_mono_ns();
	for (long i = 0; i < n; i++) {
		if (rate > 0) {
			struct timespec tick = {0, 100000};

			while ((time_mono_ns() - t0) * (double)rate / 1e9 < (double)i)
				nanosleep(&tick, NULL);
		}
		while (i - atomic_load_explicit(&ph->finished, memory_order_acquire) >= window)
			sched_yield();
		req.run_id = i;
		ph->sub_ns[i] = time_mono_ns();
		while ((rc = exec_submit(p, &req)) == CLOVER_EAGAIN)
			sched_yield();
		if (rc != 0) {
			fprintf(stderr, "exec: exec_submit: %s\n", clover_strerror(rc));
			exit(1);
		}
	}
	while (atomic_load_explicit(&ph->finished, memory_order_acquire) < n)
		sched_yield();
	exec_pool_free(p);
	job_spec_unref(spec);
	return (double)(atomic_load(&ph->last_ns) - t0) / 1e9;
}

static void percentiles(struct phase *ph, double unit, double *p50, double *p99)
{
	qsort(ph->lat_ns, (size_t)ph->n, sizeof(int64_t), cmp_i64);
	*p50 = (double)ph->lat_ns[(ph->n - 1) * 50 / 100] / unit;
	*p99 = (double)ph->lat_ns[(ph->n - 1) * 99 / 100] / unit;
}

static void phase_free(struct phase *ph)
{
	free(ph->sub_ns);
	free(ph->lat_ns);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"requests", required_argument, NULL, 'r'}, {"shell", required_argument, NULL, 's'},
	    {"workers", required_argument, NULL, 'w'},  {"window", required_argument, NULL, 'W'},
	    {"rate", required_argument, NULL, 'R'},     {"secs", required_argument, NULL, 'S'},
	    {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0},
	};
	long requests = 1000000, shells = 1000, window = 4096, rate = 100000, secs = 2;
	int workers = 64, c;
	struct phase noop = {0}, paced = {0}, sh = {0};
	double noop_s, sh_s, n50, n99, p50, p99, s50, s99;
	char *end;

	while ((c = getopt_long(argc, argv, "r:s:w:W:h", longopts, NULL)) != -1) {
		long v = 0;

		if (c == 'h') {
			usage(stdout);
			return 0;
		}
		if (c == '?' || optarg == NULL) {
			usage(stderr);
			return 2;
		}
		v = strtol(optarg, &end, 10);
		if (*end != '\0' || v < 1 || v > 100000000) {
			fprintf(stderr, "exec: bad value '%s' for -%c\n", optarg, c);
			return 2;
		}
		switch (c) {
		case 'r':
			requests = v;
			break;
		case 's':
			shells = v;
			break;
		case 'w':
			workers = v > 4096 ? 4096 : (int)v;
			break;
		case 'W':
			window = v;
			break;
		case 'R':
			rate = v;
			break;
		case 'S':
			secs = v;
			break;
		}
	}

	noop_s = run_phase(&noop,
	                   "{\"name\":\"bench-noop\",\"schedule\":\"@manual\","
	                   "\"run\":{\"handler\":\"noop\"}}",
	                   requests, workers, window, 0);
	run_phase(&paced,
	          "{\"name\":\"bench-noop\",\"schedule\":\"@manual\","
	          "\"run\":{\"handler\":\"noop\"}}",
	          rate * secs, workers, 1000000, rate);
	sh_s = run_phase(&sh,
	                 "{\"name\":\"bench-shell\",\"schedule\":\"@manual\","
	                 "\"run\":{\"shell\":\"true\"}}",
	                 shells, workers, workers, 0);
	if (atomic_load(&noop.failed) || atomic_load(&paced.failed) || atomic_load(&sh.failed) ||
	    atomic_load(&noop.started) != requests || atomic_load(&paced.started) != rate * secs ||
	    atomic_load(&sh.started) != shells) {
		fprintf(stderr, "exec: runs failed or went missing\n");
		return 1;
	}
	percentiles(&noop, 1e3, &n50, &n99);
	percentiles(&paced, 1e3, &p50, &p99);
	percentiles(&sh, 1e6, &s50, &s99);
	printf("{\"bench\":\"exec\",\"workers\":%d,"
	       "\"noop\":{\"requests\":%ld,\"window\":%ld,\"seconds\":%.3f,\"per_sec\":%.0f,"
	       "\"p50_us\":%.1f,\"p99_us\":%.1f},"
	       "\"paced\":{\"rate\":%ld,\"requests\":%ld,\"p50_us\":%.1f,\"p99_us\":%.1f},"
	       "\"shell\":{\"requests\":%ld,\"seconds\":%.3f,\"per_sec\":%.0f,"
	       "\"p50_ms\":%.2f,\"p99_ms\":%.2f}}\n",
	       workers, requests, window, noop_s, (double)requests / noop_s, n50, n99, rate,
	       rate * secs, p50, p99, shells, sh_s, (double)shells / sh_s, s50, s99);
	phase_free(&noop);
	phase_free(&paced);
	phase_free(&sh);
	return 0;
}
