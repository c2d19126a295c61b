/* SPDX-License-Identifier: MIT */
/*
 * bench/standalone and bench/remote: N jobs firing every second on a real
 * `clover server`.
 *
 * It writes N jobs with schedule `* * * * * ?` and the `noop` handler into a
 * fresh store, starts the server on it, lets it warm up, measures a window of
 * D whole seconds, stops the server with SIGTERM, and reads the run records
 * back from the database: a fire counts when its run is durably recorded.
 * Lateness is started_at - scheduled_at of each run. Prints one JSON line.
 *
 * With --executors K (bench/remote: K defaults to 1) the jobs target the label
 * pool=bench, which only K `clover worker` processes have: every run goes
 * over the wire protocol (CURVE) and back, with keys made by `clover keygen`.
 *
 * With --startup-only it measures only how long the server takes from exec to
 * "ready to fire" with N jobs in the store (the "1,000,000 jobs in 5 s" goal).
 */
#include "base/time.h"
#include "store/store.h"

#include "core/run.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef BENCH_REMOTE
#define BENCH_REMOTE 0 /* 1 for bench/remote: executors default to 1 */
#endif
#define EXECUTORS_MAX 16

struct opts {
	long n;
	long d;
	long warmup;
	long executors; /* remote `clover worker` processes; 0: the built-in executor */
	const char *capacity;
	const char *clover;
	const char *workers;
	bool startup_only;
	bool keep;
};

static void usage(FILE *f)
{
	fprintf(f, "usage: bench/%s [options]\n\n"
		   "Runs N jobs firing every second on a real clover server and prints one JSON "
		   "line.\n\n"
		   "  -n, --jobs N        jobs (default 1000)\n"
		   "  -d, --duration S    measured seconds (default 10)\n"
		   "  -w, --warmup S      seconds before measuring (default 3)\n"
		   "  -e, --executors K   run the jobs on K clover worker processes over the wire\n"
		   "                      protocol (default %d; 0: the built-in executor)\n"
		   "      --capacity N    each worker's --capacity (default 256)\n"
		   "      --clover PATH   the clover binary (default: ../clover beside this program)\n"
		   "      --workers N     the server's --workers (default: the server's default)\n"
		   "      --startup-only  measure only the start-up time with N jobs in the store\n"
		   "      --keep          keep the data directory and print its path\n",
		BENCH_REMOTE ? "remote" : "standalone", BENCH_REMOTE);
}

static int cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

static int64_t pct(const int64_t *v, size_t n, double p)
{
	size_t i;

	if (n == 0)
		return 0;
	i = (size_t)(p * (double)(n - 1) + 0.5);
	return v[i];
}

/* CPU seconds (user + system) and peak RSS (MiB) of a process, from /proc. */
static double proc_cpu(pid_t pid)
{
	char path[64], buf[4096];
	FILE *f;
	unsigned long ut = 0, st = 0;
	char *p;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (f == NULL)
		return 0;
	if (fgets(buf, sizeof(buf), f) == NULL) {
		fclose(f);
		return 0;
	}
	fclose(f);
	p = strrchr(buf, ')');
	if (p == NULL ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return 0;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static double proc_peak_rss_mb(pid_t pid)
{
	char path[64], line[256];
	FILE *f;
	long kb = 0;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
			break;
	}
	fclose(f);
	return (double)kb / 1024.0;
}

/*
 * Creates the store (schema and all) through the store API, then writes the N
 * jobs straight into its jobs table in one transaction, with the columns
 * store_job_put() writes: a million jobs take seconds instead of minutes.
 */
static int write_jobs(const char *dir, long n, bool remote)
{
	char path[PATH_MAX], name[32], spec[256];
	struct store_options so = {0};
	struct store *s;
	struct error_info e;
	sqlite3 *db;
	sqlite3_stmt *st;
	int64_t now = time_wall_ms();
	int rc = 0;

	snprintf(path, sizeof(path), "%s/clover.db", dir);
	so.path = path;
	if (store_open(&so, &s, &e)) {
		fprintf(stderr, "bench: %s\n", e.message);
		return -1;
	}
	store_close(s);
	if (sqlite3_open(path, &db) != SQLITE_OK ||
	    sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db,
			       "INSERT INTO jobs(name, spec, revision, created_at, updated_at, paused) "
			       "VALUES(?1, ?2, 1, ?3, ?3, 0)",
			       -1, &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "bench: %s\n", sqlite3_errmsg(db));
		sqlite3_close(db);
		return -1;
	}
	for (long i = 0; i < n && rc == 0; i++) {
		snprintf(name, sizeof(name), "bench.%07ld", i);
		snprintf(spec, sizeof(spec),
			 "{\"name\":\"%s\",\"schedule\":\"* * * * * ?\",%s\"run\":{\"handler\":"
			 "\"noop\"}}",
			 name, remote ? "\"target\":{\"labels\":{\"pool\":\"bench\"}}," : "");
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, spec, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, now);
		if (sqlite3_step(st) != SQLITE_DONE)
			rc = -1;
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	if (rc || sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		fprintf(stderr, "bench: cannot write the jobs: %s\n", sqlite3_errmsg(db));
		rc = -1;
	}
	sqlite3_close(db);
	return rc;
}

/* Starts the server; returns its pid and leaves its stdout readable on *out. */
static pid_t start_server(const struct opts *o, const char *dir, FILE **out)
{
	int fds[2];
	pid_t pid;

	if (pipe(fds))
		return -1;
	pid = fork();
	if (pid == 0) {
		char key[PATH_MAX + 16], keys[PATH_MAX + 16];
		const char *argv[20];
		int i = 0;

		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		argv[i++] = o->clover;
		argv[i++] = "server";
		argv[i++] = "--data";
		argv[i++] = dir;
		argv[i++] = "--listen";
		argv[i++] = "127.0.0.1:0";
		argv[i++] = "--log-level";
		argv[i++] = "warn";
		if (o->workers) {
			argv[i++] = "--workers";
			argv[i++] = o->workers;
		}
		if (o->executors > 0) {
			snprintf(key, sizeof(key), "%s/sched", dir);
			snprintf(keys, sizeof(keys), "%s/executors.keys", dir);
			argv[i++] = "--rpc-listen";
			argv[i++] = "127.0.0.1:0";
			argv[i++] = "--server-key";
			argv[i++] = key;
			argv[i++] = "--executor-keys";
			argv[i++] = keys;
		}
		argv[i] = NULL;
		execv(o->clover, (char *const *)argv);
		_exit(127);
	}
	close(fds[1]);
	*out = fdopen(fds[0], "r");
	return pid;
}

/*
 * Waits for the banner that says the server is ready; with remote executors,
 * until its executor endpoint (tcp://...) is printed, copied to `ep`.
 */
static int wait_ready(FILE *out, bool remote, char *ep, size_t n)
{
	char line[512];
	bool running = false;

	while (fgets(line, sizeof(line), out)) {
		char *tcp = strstr(line, "tcp://");

		running |= strstr(line, "is running") != NULL;
		if (tcp) {
			tcp[strcspn(tcp, " \n")] = '\0';
			snprintf(ep, n, "%s", tcp);
		}
		if (running && (!remote || ep[0]))
			return 0;
	}
	return -1;
}

/* Runs `clover keygen` for the scheduler and each worker, and the allow-list. */
static int make_keys(const struct opts *o, const char *dir)
{
	char cmd[PATH_MAX * 2 + 64];

	snprintf(cmd, sizeof(cmd), "cd '%s' && '%s' keygen sched >/dev/null", dir, o->clover);
	if (system(cmd) != 0)
		return -1;
	for (long i = 0; i < o->executors; i++) {
		snprintf(cmd, sizeof(cmd),
			 "cd '%s' && '%s' keygen w%ld >/dev/null && cat w%ld.pub >>executors.keys",
			 dir, o->clover, i, i);
		if (system(cmd) != 0)
			return -1;
	}
	return 0;
}

/* Starts worker `i` as a `clover worker` process on endpoint `ep`. */
static pid_t start_worker(const struct opts *o, const char *dir, long i, const char *ep)
{
	pid_t pid = fork();

	if (pid == 0) {
		char pub[PATH_MAX + 16], key[PATH_MAX + 16], id[32], spool[PATH_MAX + 32];
		int null = open("/dev/null", O_WRONLY);

		snprintf(pub, sizeof(pub), "%s/sched.pub", dir);
		snprintf(key, sizeof(key), "%s/w%ld", dir, i);
		snprintf(id, sizeof(id), "w%ld", i);
		snprintf(spool, sizeof(spool), "%s/w%ld.spool", dir, i);
		if (null >= 0) {
			dup2(null, 1);
			close(null);
		}
		execl(o->clover, o->clover, "worker", "--scheduler", ep, "--server-key", pub,
		      "--key", key, "--id", id, "--label", "pool=bench", "--capacity", o->capacity,
		      "--spool", spool, "--log-level", "warn", (char *)NULL);
		_exit(127);
	}
	return pid;
}

struct result {
	int64_t fires;
	int64_t succeeded;
	int64_t *lateness;
	size_t nlate;
};

static int read_runs(const char *dir, int64_t from, int64_t to, struct result *r)
{
	char path[PATH_MAX];
	sqlite3 *db;
	sqlite3_stmt *st;
	size_t cap = 1 << 16;

	snprintf(path, sizeof(path), "%s/clover.db", dir);
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		return -1;
	/* Every recorded fire of the window, and when it started. */
	if (sqlite3_prepare_v2(db,
			       "SELECT scheduled_at, started_at, state FROM runs "
			       "WHERE scheduled_at >= ?1 AND scheduled_at < ?2 AND trigger IN (0, 3)",
			       -1, &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "bench: %s\n", sqlite3_errmsg(db));
		sqlite3_close(db);
		return -1;
	}
	sqlite3_bind_int64(st, 1, from);
	sqlite3_bind_int64(st, 2, to);
	r->lateness = malloc(cap * sizeof(*r->lateness));
	while (r->lateness && sqlite3_step(st) == SQLITE_ROW) {
		int64_t sched = sqlite3_column_int64(st, 0), started = sqlite3_column_int64(st, 1);

		r->fires++;
		r->succeeded += sqlite3_column_int(st, 2) == RUN_SUCCEEDED;
		if (started == 0)
			continue;
		if (r->nlate == cap) {
			int64_t *v = realloc(r->lateness, 2 * cap * sizeof(*v));

			if (v == NULL)
				break;
			r->lateness = v;
			cap *= 2;
		}
		r->lateness[r->nlate++] = started - sched;
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	return r->lateness ? 0 : -1;
}

static void sleep_until(int64_t wall_ms)
{
	int64_t now;

	while ((now = time_wall_ms()) < wall_ms) {
		int64_t d = wall_ms - now;

		usleep((useconds_t)(d > 100 ? 100000 : d * 1000));
	}
}

static void rm_rf(const char *dir)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	(void)!system(cmd);
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{"jobs", required_argument, NULL, 'n'},
		{"duration", required_argument, NULL, 'd'},
		{"warmup", required_argument, NULL, 'w'},
		{"clover", required_argument, NULL, 'c'},
		{"workers", required_argument, NULL, 'W'},
		{"startup-only", no_argument, NULL, 'S'},
		{"keep", no_argument, NULL, 'k'},
		{"executors", required_argument, NULL, 'e'},
		{"capacity", required_argument, NULL, 'C'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct opts o = {.n = 1000, .d = 10, .warmup = 3, .executors = BENCH_REMOTE,
			 .capacity = "256"};
	pid_t wpid[EXECUTORS_MAX];
	double wcpu0 = 0, wcpu1 = 0;
	char ep[256] = "";
	char self[PATH_MAX], clover[PATH_MAX + 16], dir[] = "/tmp/clover-bench.XXXXXX";
	struct result r = {0};
	FILE *out = NULL;
	pid_t pid;
	int ch, status;
	int64_t t_exec, t_ready, from, to;
	double cpu0, cpu1, rss;

	while ((ch = getopt_long(argc, argv, "n:d:w:e:h", lopts, NULL)) != -1) {
		switch (ch) {
		case 'n':
			o.n = strtol(optarg, NULL, 10);
			break;
		case 'd':
			o.d = strtol(optarg, NULL, 10);
			break;
		case 'w':
			o.warmup = strtol(optarg, NULL, 10);
			break;
		case 'c':
			o.clover = optarg;
			break;
		case 'W':
			o.workers = optarg;
			break;
		case 'S':
			o.startup_only = true;
			break;
		case 'k':
			o.keep = true;
			break;
		case 'e':
			o.executors = strtol(optarg, NULL, 10);
			break;
		case 'C':
			o.capacity = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (o.n < 1 || o.d < 1 || o.warmup < 0 || o.executors < 0 || o.executors > EXECUTORS_MAX) {
		usage(stderr);
		return 2;
	}
	if (o.clover == NULL) {
		ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
		char *slash;

		if (len < 0)
			return 1;
		self[len] = '\0';
		slash = strrchr(self, '/');
		*slash = '\0';
		snprintf(clover, sizeof(clover), "%s/../clover", self);
		o.clover = clover;
	}
	if (mkdtemp(dir) == NULL || write_jobs(dir, o.n, o.executors > 0) ||
	    (o.executors > 0 && make_keys(&o, dir))) {
		fprintf(stderr, "bench: cannot prepare %s\n", dir);
		return 1;
	}

	t_exec = time_mono_ms();
	pid = start_server(&o, dir, &out);
	if (pid < 0 || wait_ready(out, o.executors > 0, ep, sizeof(ep))) {
		fprintf(stderr, "bench: the server did not start\n");
		return 1;
	}
	t_ready = time_mono_ms();
	for (long i = 0; i < o.executors; i++)
		wpid[i] = start_worker(&o, dir, i, ep);
	if (o.startup_only) {
		/* Only readiness is measured: no need to drain what it began to fire. */
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		printf("{\"system\":\"clover\",\"bench\":\"startup\",\"N\":%ld,\"ready_ms\":%lld}\n", o.n,
		       (long long)(t_ready - t_exec));
		if (!o.keep)
			rm_rf(dir);
		return 0;
	}
	from = (time_wall_ms() / 1000 + o.warmup + 1) * 1000;
	to = from + o.d * 1000;
	sleep_until(from);
	cpu0 = proc_cpu(pid);
	for (long i = 0; i < o.executors; i++)
		wcpu0 += proc_cpu(wpid[i]);
	sleep_until(to);
	cpu1 = proc_cpu(pid);
	for (long i = 0; i < o.executors; i++)
		wcpu1 += proc_cpu(wpid[i]);
	sleep_until(to + 2000); /* let the last fires finish and reach the disk */
	rss = proc_peak_rss_mb(pid);
	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
	fclose(out);
	for (long i = 0; i < o.executors; i++) {
		kill(wpid[i], SIGKILL);
		waitpid(wpid[i], &status, 0);
	}
	if (read_runs(dir, from, to, &r)) {
		fprintf(stderr, "bench: cannot read the runs\n");
		return 1;
	}
	qsort(r.lateness, r.nlate, sizeof(*r.lateness), cmp64);
	printf("{\"system\":\"clover\",\"N\":%ld,\"D\":%ld,\"executors\":%ld,"
	       "\"expected_fires\":%lld,\"actual_fires\":%lld,\"succeeded\":%lld,\"missed\":%lld,"
	       "\"runs_per_s\":%.0f,\"lateness_ms\":{\"p50\":%lld,\"p90\":%lld,\"p99\":%lld,"
	       "\"max\":%lld},\"cpu_seconds\":%.2f,\"executor_cpu_seconds\":%.2f,"
	       "\"peak_rss_mb\":%.1f,\"startup_ms\":%lld}\n",
	       o.n, o.d, o.executors, (long long)(o.n * o.d), (long long)r.fires,
	       (long long)r.succeeded, (long long)(o.n * o.d - r.fires),
	       (double)r.succeeded / (double)o.d, (long long)pct(r.lateness, r.nlate, 0.50),
	       (long long)pct(r.lateness, r.nlate, 0.90), (long long)pct(r.lateness, r.nlate, 0.99),
	       (long long)(r.nlate ? r.lateness[r.nlate - 1] : 0), cpu1 - cpu0, wcpu1 - wcpu0, rss,
	       (long long)(t_ready - t_exec));
	free(r.lateness);
	if (o.keep)
		fprintf(stderr, "bench: data kept in %s\n", dir);
	else
		rm_rf(dir);
	return 0;
}
