/* SPDX-License-Identifier: MIT */
/*
 * Benchmark of the store's write path and start-up read (SQLite backend).
 * Prints one JSON line. Phases, all in a fresh temporary directory:
 *   1. jobs:    N jobs created through store_job_put (one transaction each);
 *   2. burst:   R one-shard runs through store_submit_run as fast as the
 *               submitting thread can go, each submitted twice like a real
 *               run (running, then succeeded `inflight` runs later), then
 *               store_flush: runs/s durably written (committed);
 *   3. paced:   runs at a fixed rate for a few seconds: latency from submit
 *               to commit (percentiles), and the time of each group commit;
 *   4. load:    store_job_load_all over the N jobs after a reopen.
 * Run times are scheduled like N jobs firing every second, so every run is a
 * distinct (job, scheduled_at) fire and exercises the unique index.
 */
#include "base/time.h"
#include "store/store.h"

#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SPEC_FMT                                                                                   \
	"{\"name\":\"%s\",\"schedule\":\"*/1 * * * * ?\",\"timezone\":\"Europe/Paris\","           \
	"\"run\":{\"shell\":\"/usr/local/bin/report --daily --out /var/tmp/%s.csv\"},"             \
	"\"target\":{\"labels\":{\"clover.local\":\"true\"}},\"timeout\":\"10m\","                 \
	"\"retry\":{\"max\":3,\"backoff\":\"10s\"},\"misfire\":{\"policy\":\"fire_once\"}}"

struct opts {
	long jobs;
	long runs;
	long inflight;
	long rate;
	double secs;
	int batch_max;
	int delay_ms;
	int sync_ms;
	bool sync_commit;
	const char *dir;
};

/* Submission timestamps of the paced phase, indexed by sequence number. */
struct lat {
	pthread_mutex_t mu;
	bool on;
	uint64_t base;   /* sequence number before the phase */
	uint64_t done;   /* highest sequence number accounted for */
	int64_t *sub_ns; /* by seq - base - 1 */
	int64_t *lat_ns;
	size_t cap, n;
	int64_t *commit_ns;
	size_t ncommit, capcommit;
	int64_t writer_cpu_ns; /* the writer's CPU time during the phase */
	size_t records;
};

static void usage(FILE *fp)
{
	fprintf(fp,
	        "usage: store [options]\n"
	        "Benchmarks the store (SQLite): run snapshot writes, commit latency, job load.\n"
	        "Prints one JSON line.\n"
	        "  -n N            jobs (default 100000)\n"
	        "  -r R            runs in the burst phase (default 1000000)\n"
	        "  -l L            runs in flight: a run's final snapshot is submitted L runs\n"
	        "                  after its first (default 10000)\n"
	        "  --rate X        runs/s in the paced phase (default 100000)\n"
	        "  --secs S        length of the paced phase (default 3)\n"
	        "  --batch-max M   store batch_max (default: the store's)\n"
	        "  --delay MS      store batch_delay_ms (default: the store's)\n"
	        "  --sync-ms MS    background WAL sync interval (default: the store's)\n"
	        "  --sync-commit   fsync every commit (synchronous=FULL)\n"
	        "  --dir DIR       work in DIR (must not exist; kept) instead of a temporary one\n"
	        "  -h, --help      this text\n");
}

static int parse(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
	    {"rate", required_argument, NULL, 'R'},
	    {"secs", required_argument, NULL, 'S'},
	    {"batch-max", required_argument, NULL, 'B'},
	    {"delay", required_argument, NULL, 'D'},
	    {"sync-ms", required_argument, NULL, 'Y'},
	    {"sync-commit", no_argument, NULL, 'F'},
	    {"dir", required_argument, NULL, 'd'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int c;

	while ((c = getopt_long(argc, argv, "n:r:l:h", lo, NULL)) != -1) {
		char *end = NULL;
		double v = 0;

		if (optarg) {
			errno = 0;
			v = strtod(optarg, &end);
			if (errno || end == optarg || *end || v < 0) {
				fprintf(stderr, "store: bad number '%s'\n", optarg);
				return -1;
			}
		}
		switch (c) {
		case 'n':
			o->jobs = (long)v;
			break;
		case 'r':
			o->runs = (long)v;
			break;
		case 'l':
			o->inflight = (long)v;
			break;
		case 'R':
			o->rate = (long)v;
			break;
		case 'S':
			o->secs = v;
			break;
		case 'B':
			o->batch_max = (int)v;
			break;
		case 'D':
			o->delay_ms = (int)v;
			break;
		case 'Y':
			o->sync_ms = (int)v;
			break;
		case 'F':
			o->sync_commit = true;
			break;
		case 'd':
			o->dir = argv[optind - 1];
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (o->jobs < 1 || o->runs < 1 || o->rate < 1 || o->secs <= 0) {
		fprintf(stderr, "store: -n, -r, --rate and --secs must be positive\n");
		return -1;
	}
	return 0;
}

static void on_commit(void *ctx, const struct store_commit_info *ci)
{
	struct lat *l = ctx;
	int64_t now = time_mono_ns();

	pthread_mutex_lock(&l->mu);
	if (l->on) {
		for (uint64_t s = l->done + 1; s <= ci->seq; s++) {
			size_t i = (size_t)(s - l->base - 1);

			if (s > l->base && i < l->n)
				l->lat_ns[i] = now - l->sub_ns[i];
		}
		if (l->ncommit < l->capcommit)
			l->commit_ns[l->ncommit++] = ci->write_ns;
		l->writer_cpu_ns += ci->cpu_ns;
		l->records += ci->records;
	}
	if (ci->seq > l->done)
		l->done = ci->seq;
	pthread_mutex_unlock(&l->mu);
}

static int cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* Percentile p (0..1) of a sorted array, in milliseconds. */
static double pct_ms(const int64_t *v, size_t n, double p)
{
	size_t i;

	if (n == 0)
		return 0;
	i = (size_t)(p * (double)(n - 1) + 0.5);
	return (double)v[i] / 1e6;
}

static void mkrun(struct run_rec *r, struct shard_rec *sh, int64_t id, const char *job,
                  int64_t sched, enum run_state state)
{
	memset(r, 0, sizeof(*r));
	memset(sh, 0, sizeof(*sh));
	r->id = id;
	r->job = (char *)job;
	r->scheduled_at = sched;
	r->trigger = RUN_TRIG_SCHEDULE;
	r->state = state;
	r->created_at = sched + 1;
	r->started_at = sched + 2;
	r->finished_at = state == RUN_SUCCEEDED ? sched + 40 : 0;
	r->nshards = 1;
	r->shards = sh;
	sh->attempt = 1;
	sh->state = state;
	sh->executor = "local";
	sh->exit_code = state == RUN_SUCCEEDED ? 0 : -1;
	sh->started_at = r->started_at;
	sh->finished_at = r->finished_at;
	sh->progress = -1;
}

struct gen {
	char **names;
	long njobs;
	int64_t base;
	int64_t next_id;
};

/* Run number k: job k % N, scheduled every second per job. */
static int submit_pair_part(struct store *s, const struct gen *g, int64_t k, enum run_state st)
{
	struct shard_rec sh;
	struct run_rec r;

	mkrun(&r, &sh, k + 1, g->names[k % g->njobs], g->base + (k / g->njobs) * 1000, st);
	return store_submit_run(s, &r);
}

static int load_cb(void *ctx, const struct store_job *j, int64_t last_fire)
{
	int64_t *acc = ctx;

	acc[0]++;
	acc[1] += (int64_t)strlen(j->spec) + (last_fire > 0);
	return 0;
}

/* Bytes this process has written through write(2) and friends (WAL, checkpoints). */
static int64_t io_written(void)
{
	char line[128];
	int64_t v = -1;
	FILE *fp = fopen("/proc/self/io", "r");

	if (fp == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp))
		if (sscanf(line, "wchar: %" SCNd64, &v) == 1)
			break;
	fclose(fp);
	return v;
}

/* CPU time of the whole process (all threads), in nanoseconds. */
static int64_t cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

int main(int argc, char **argv)
{
	struct opts o = {
	    .jobs = 100000, .runs = 1000000, .inflight = 10000, .rate = 100000, .secs = 3};
	struct lat l = {.mu = PTHREAD_MUTEX_INITIALIZER};
	struct store_options so = {0};
	struct store_stats st0, st1;
	struct error_info e;
	struct gen g = {0};
	struct store *s;
	char dir[256], path[320], spec[1024];
	int64_t t0, t_jobs, t_submit, t_burst, t_load, acc[2] = {0, 0};
	int64_t io0, cpu0, io_burst, cpu_burst;
	double paced_rate;
	struct stat sb;
	int64_t k, total;
	int rc;

	if (parse(argc, argv, &o))
		return 2;
	if (o.dir) {
		snprintf(dir, sizeof(dir), "%s", o.dir);
		if (mkdir(dir, 0700) != 0) {
			fprintf(stderr, "store: %s: %s\n", dir, strerror(errno));
			return 1;
		}
	} else {
		snprintf(dir, sizeof(dir), "/tmp/clover-bench-store-XXXXXX");
		if (mkdtemp(dir) == NULL) {
			perror("mkdtemp");
			return 1;
		}
	}
	snprintf(path, sizeof(path), "%s/clover.db", dir);
	so.path = path;
	so.batch_max = o.batch_max;
	so.batch_delay_ms = o.delay_ms;
	so.sync_ms = o.sync_ms;
	so.sync_commit = o.sync_commit;
	so.on_commit = on_commit;
	so.on_commit_ctx = &l;
	if ((rc = store_open(&so, &s, &e))) {
		fprintf(stderr, "store: %s\n", e.message);
		return 1;
	}

	/* 1. jobs */
	g.njobs = o.jobs;
	g.base = 1767225600000; /* 2026-01-01T00:00:00Z */
	g.names = calloc((size_t)o.jobs, sizeof(*g.names));
	if (g.names == NULL)
		return 1;
	t0 = time_mono_ns();
	for (long i = 0, p = o.jobs % 7919 ? 7919 : 7907; i < o.jobs; i++) {
		char name[32];

		/* A permutation (p is prime and does not divide N): inserts in no order. */
		snprintf(name, sizeof(name), "job-%07ld", (long)(((int64_t)i * p) % o.jobs));
		g.names[i] = strdup(name);
		if (g.names[i] == NULL)
			return 1;
		snprintf(spec, sizeof(spec), SPEC_FMT, name, name);
		if ((rc = store_job_put(s, name, spec, false, g.base, 0, NULL, NULL))) {
			fprintf(stderr, "store: job put: %s\n", clover_strerror(rc));
			return 1;
		}
	}
	t_jobs = time_mono_ns() - t0;

	/* 2. burst */
	store_stats(s, &st0);
	io0 = io_written();
	cpu0 = cpu_ns();
	t0 = time_mono_ns();
	for (k = 0; k < o.runs; k++) {
		rc = submit_pair_part(s, &g, k, RUN_RUNNING);
		if (rc == 0 && k >= o.inflight)
			rc = submit_pair_part(s, &g, k - o.inflight, RUN_SUCCEEDED);
		if (rc)
			return 1;
	}
	for (int64_t j = o.runs - o.inflight < 0 ? 0 : o.runs - o.inflight; j < o.runs; j++)
		if (submit_pair_part(s, &g, j, RUN_SUCCEEDED))
			return 1;
	t_submit = time_mono_ns() - t0;
	if (store_flush(s))
		return 1;
	t_burst = time_mono_ns() - t0;
	io_burst = io_written() - io0;
	cpu_burst = cpu_ns() - cpu0;
	store_stats(s, &st1);

	/* 3. paced: `rate` runs/s, a run finishing `inflight` runs after it started. */
	total = (int64_t)((double)o.rate * o.secs);
	l.cap = (size_t)(2 * total + 2);
	l.sub_ns = calloc(l.cap, sizeof(int64_t));
	l.lat_ns = calloc(l.cap, sizeof(int64_t));
	l.capcommit = 1 << 20;
	l.commit_ns = calloc(l.capcommit, sizeof(int64_t));
	if (l.sub_ns == NULL || l.lat_ns == NULL || l.commit_ns == NULL)
		return 1;
	pthread_mutex_lock(&l.mu);
	l.base = st1.submitted;
	l.done = st1.submitted;
	l.on = true;
	pthread_mutex_unlock(&l.mu);
	{
		int64_t first = o.runs, sent = 0, start = time_mono_ns(), now;

		while (sent < total) {
			int64_t due;

			now = time_mono_ns();
			due = (int64_t)((double)(now - start) * (double)o.rate / 1e9);
			if (due > total)
				due = total;
			if (due <= sent) {
				struct timespec ts = {0, 100000};

				nanosleep(&ts, NULL);
				continue;
			}
			for (; sent < due; sent++) {
				int64_t kk = first + sent;

				pthread_mutex_lock(&l.mu);
				l.sub_ns[l.n++] = time_mono_ns();
				pthread_mutex_unlock(&l.mu);
				if (submit_pair_part(s, &g, kk, RUN_RUNNING))
					return 1;
				if (sent >= o.inflight) {
					pthread_mutex_lock(&l.mu);
					l.sub_ns[l.n++] = time_mono_ns();
					pthread_mutex_unlock(&l.mu);
					if (submit_pair_part(s, &g, kk - o.inflight, RUN_SUCCEEDED))
						return 1;
				}
			}
		}
		paced_rate = (double)total / ((double)(time_mono_ns() - start) / 1e9);
		if (store_flush(s))
			return 1;
	}
	pthread_mutex_lock(&l.mu);
	l.on = false;
	pthread_mutex_unlock(&l.mu);
	qsort(l.lat_ns, l.n, sizeof(int64_t), cmp64);
	qsort(l.commit_ns, l.ncommit, sizeof(int64_t), cmp64);

	/* 4. load, after a reopen */
	store_close(s);
	so.on_commit = NULL;
	if ((rc = store_open(&so, &s, &e))) {
		fprintf(stderr, "store: %s\n", e.message);
		return 1;
	}
	t0 = time_mono_ns();
	if ((rc = store_job_load_all(s, load_cb, acc)) || acc[0] != o.jobs) {
		fprintf(stderr, "store: load: %s (%lld jobs)\n", clover_strerror(rc),
		        (long long)acc[0]);
		return 1;
	}
	t_load = time_mono_ns() - t0;
	store_close(s);
	if (stat(path, &sb) != 0)
		sb.st_size = 0;

	printf("{\"bench\":\"store\",\"backend\":\"sqlite\",\"sync\":\"%s\","
	       "\"jobs\":%ld,\"job_put_per_s\":%.0f,"
	       "\"runs\":%ld,\"inflight\":%ld,\"runs_per_s\":%.0f,\"snapshots_per_s\":%.0f,"
	       "\"submit_ns\":%.0f,\"cpu_us_per_run\":%.2f,\"written_bytes_per_run\":%.0f,"
	       "\"coalesced\":%" PRIu64 ",\"txns\":%" PRIu64 ","
	       "\"paced_runs_per_s\":%.0f,\"paced_writer_cpu_us_per_run\":%.2f,"
	       "\"paced_records_per_run\":%.2f,"
	       "\"latency_ms\":{\"p50\":%.2f,\"p99\":%.2f,\"p999\":%.2f,\"max\":%.2f},"
	       "\"commit_ms\":{\"p50\":%.2f,\"p99\":%.2f,\"max\":%.2f,\"n\":%zu},"
	       "\"load_all_s\":%.3f,\"db_mb\":%.0f}\n",
	       o.sync_commit ? "commit" : "background", o.jobs,
	       (double)o.jobs / ((double)t_jobs / 1e9), o.runs, o.inflight,
	       (double)o.runs / ((double)t_burst / 1e9),
	       2.0 * (double)o.runs / ((double)t_burst / 1e9),
	       (double)t_submit / (2.0 * (double)o.runs), (double)cpu_burst / 1e3 / (double)o.runs,
	       (double)io_burst / (double)o.runs, st1.coalesced - st0.coalesced,
	       st1.txns - st0.txns, paced_rate, (double)l.writer_cpu_ns / 1e3 / (double)total,
	       (double)l.records / (double)total, pct_ms(l.lat_ns, l.n, 0.5),
	       pct_ms(l.lat_ns, l.n, 0.99), pct_ms(l.lat_ns, l.n, 0.999),
	       pct_ms(l.lat_ns, l.n, 1.0), pct_ms(l.commit_ns, l.ncommit, 0.5),
	       pct_ms(l.commit_ns, l.ncommit, 0.99), pct_ms(l.commit_ns, l.ncommit, 1.0), l.ncommit,
	       (double)t_load / 1e9, (double)sb.st_size / 1048576.0);

	for (long i = 0; i < o.jobs; i++)
		free(g.names[i]);
	free(g.names);
	free(l.sub_ns);
	free(l.lat_ns);
	free(l.commit_ns);
	if (o.dir == NULL)
		nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
	return 0;
}
