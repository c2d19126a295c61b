/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the store (SQLite backend), part two: the write path for run
 * snapshots and logs (queue, coalescing, group commit, the one-run-per-fire
 * rule), reading runs back, recovery, the log cap, retention, and several
 * threads submitting at once. Each test has its own temporary directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "store-test.h"

#include "base/log.h"

#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>

static int64_t query_int(const char *path, const char *sql)
{
	sqlite3_stmt *st;
	sqlite3 *db;
	int64_t v = -1;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

/* A snapshot with `nsh` shards (at most 4) in `sh`. */
static void mkrun(struct run_rec *r, struct shard_rec *sh, int64_t id, const char *job,
                  int64_t sched, enum run_trigger trig, enum run_state state, int nsh)
{
	memset(r, 0, sizeof(*r));
	r->id = id;
	r->job = (char *)job;
	r->scheduled_at = sched;
	r->trigger = trig;
	r->state = state;
	r->created_at = sched + 1;
	r->started_at = state == RUN_PENDING ? 0 : sched + 2;
	r->finished_at = run_state_final(state) ? sched + 3 : 0;
	r->nshards = nsh;
	r->shards = nsh ? sh : NULL;
	for (int i = 0; i < nsh; i++) {
		memset(&sh[i], 0, sizeof(sh[i]));
		sh[i].index = i;
		sh[i].attempt = 1;
		sh[i].state = state;
		sh[i].exit_code = run_state_final(state) ? 0 : -1;
		sh[i].progress = -1;
	}
}

static void free_runs(struct run_rec *rs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		run_rec_clear(&rs[i]);
	free(rs);
}

/* ---- snapshots ---- */

static void run_snapshot_round_trips_and_upserts(void **state)
{
	struct fx *f = *state;
	struct shard_rec sh[2];
	struct run_rec r, g;

	mkrun(&r, sh, 7, "backup", 60000, RUN_TRIG_MANUAL, RUN_RUNNING, 2);
	r.params = "{\"full\":true}";
	sh[0].executor = "exec-a";
	sh[0].message = "50%";
	sh[0].progress = 0.5;
	sh[1].executor = "exec-b";
	assert_int_equal(store_submit_run(f->s, &r), 0);
	assert_int_equal(store_flush(f->s), 0);
	assert_int_equal(store_run_get(f->s, 7, &g), 0);
	assert_int_equal(g.id, 7);
	assert_string_equal(g.job, "backup");
	assert_int_equal(g.scheduled_at, 60000);
	assert_int_equal(g.trigger, RUN_TRIG_MANUAL);
	assert_int_equal(g.state, RUN_RUNNING);
	assert_int_equal(g.created_at, 60001);
	assert_int_equal(g.started_at, 60002);
	assert_int_equal(g.finished_at, 0);
	assert_string_equal(g.params, "{\"full\":true}");
	assert_null(g.reason);
	assert_int_equal(g.nshards, 2);
	assert_string_equal(g.shards[0].executor, "exec-a");
	assert_string_equal(g.shards[0].message, "50%");
	assert_true(g.shards[0].progress > 0.49 && g.shards[0].progress < 0.51);
	assert_int_equal(g.shards[1].index, 1);
	assert_null(g.shards[1].message);
	run_rec_clear(&g);

	/* The final snapshot replaces state, times, reason and shards. */
	mkrun(&r, sh, 7, "backup", 60000, RUN_TRIG_MANUAL, RUN_FAILED, 2);
	r.reason = "shard 1 failed";
	sh[1].attempt = 3;
	sh[1].exit_code = 2;
	sh[1].executor = "exec-c";
	assert_int_equal(store_submit_run(f->s, &r), 0);
	/* No flush: closing drains the queue. */
	fx_reopen(f);
	assert_int_equal(store_run_get(f->s, 7, &g), 0);
	assert_int_equal(g.state, RUN_FAILED);
	assert_int_equal(g.finished_at, 60003);
	assert_string_equal(g.reason, "shard 1 failed");
	assert_null(g.params);
	assert_int_equal(g.shards[1].attempt, 3);
	assert_int_equal(g.shards[1].exit_code, 2);
	assert_string_equal(g.shards[1].executor, "exec-c");
	assert_null(g.shards[0].executor);
	run_rec_clear(&g);
	assert_int_equal(store_run_get(f->s, 8, &g), CLOVER_ENOENT);

	r.job = NULL;
	assert_int_equal(store_submit_run(f->s, &r), CLOVER_EINVAL);
	r.job = "x";
	r.id = 0;
	assert_int_equal(store_submit_run(f->s, &r), CLOVER_EINVAL);
}

static void sync_commit_mode_writes_and_reads_back(void **state)
{
	struct fx *f = *state;
	struct shard_rec sh[1];
	struct run_rec r, g;

	f->opt.sync_commit = true;
	fx_reopen(f);
	for (int i = 1; i <= 100; i++) {
		mkrun(&r, sh, i, "a", 1000 * i, RUN_TRIG_SCHEDULE, RUN_SUCCEEDED, 1);
		assert_int_equal(store_submit_run(f->s, &r), 0);
	}
	assert_int_equal(store_flush(f->s), 0);
	assert_int_equal(store_run_get(f->s, 100, &g), 0);
	assert_int_equal(g.scheduled_at, 100000);
	run_rec_clear(&g);
}

struct commits {
	pthread_mutex_t mu;
	int calls;
	uint64_t seq;
	size_t records;
};

static void on_commit(void *ctx, const struct store_commit_info *ci)
{
	struct commits *c = ctx;

	pthread_mutex_lock(&c->mu);
	c->calls++;
	c->seq = ci->seq;
	c->records += ci->records;
	pthread_mutex_unlock(&c->mu);
}

static void snapshots_of_a_run_coalesce_within_a_batch(void **state)
{
	struct fx *f = *state;
	struct commits cm = {.mu = PTHREAD_MUTEX_INITIALIZER};
	struct store_stats st;
	struct shard_rec sh[1];
	struct run_rec r, g;

	/* A long group-commit window: everything below lands in one batch. */
	f->opt.batch_delay_ms = 5000;
	f->opt.on_commit = on_commit;
	f->opt.on_commit_ctx = &cm;
	fx_reopen(f);
	mkrun(&r, sh, 1, "a", 1000, RUN_TRIG_SCHEDULE, RUN_PENDING, 1);
	assert_int_equal(store_submit_run(f->s, &r), 0);
	mkrun(&r, sh, 2, "b", 1000, RUN_TRIG_SCHEDULE, RUN_RUNNING, 1);
	assert_int_equal(store_submit_run(f->s, &r), 0);
	mkrun(&r, sh, 1, "a", 1000, RUN_TRIG_SCHEDULE, RUN_RUNNING, 1);
	assert_int_equal(store_submit_run(f->s, &r), 0);
	mkrun(&r, sh, 1, "a", 1000, RUN_TRIG_SCHEDULE, RUN_SUCCEEDED, 1);
	sh[0].message = "done";
	assert_int_equal(store_submit_run(f->s, &r), 0);
	assert_int_equal(store_submit_log(f->s, 1, 0, 1, "out\n", 4), 0);
	store_stats(f->s, &st);
	assert_int_equal(st.queued, 3);
	assert_int_equal(store_flush(f->s), 0);

	store_stats(f->s, &st);
	assert_int_equal(st.submitted, 5);
	assert_int_equal(st.coalesced, 2);
	assert_int_equal(st.written, 3);
	assert_int_equal(st.txns, 1);
	assert_int_equal(st.queued, 0);
	pthread_mutex_lock(&cm.mu);
	assert_int_equal(cm.calls, 1);
	assert_int_equal(cm.seq, 5);
	assert_int_equal(cm.records, 3);
	pthread_mutex_unlock(&cm.mu);
	assert_int_equal(store_run_get(f->s, 1, &g), 0);
	assert_int_equal(g.state, RUN_SUCCEEDED);
	assert_string_equal(g.shards[0].message, "done");
	run_rec_clear(&g);
	/* Nothing pending: returns at once. */
	assert_int_equal(store_flush(f->s), 0);
}

static void batches_split_at_batch_max(void **state)
{
	struct fx *f = *state;
	struct store_stats st;
	struct shard_rec sh[1];
	struct run_rec r;

	f->opt.batch_max = 10;
	f->opt.batch_delay_ms = 5000;
	fx_reopen(f);
	for (int i = 1; i <= 35; i++) {
		mkrun(&r, sh, i, "a", 1000 * i, RUN_TRIG_SCHEDULE, RUN_SUCCEEDED, 1);
		assert_int_equal(store_submit_run(f->s, &r), 0);
	}
	assert_int_equal(store_flush(f->s), 0);
	store_stats(f->s, &st);
	assert_int_equal(st.written, 35);
	assert_true(st.txns >= 4);
	assert_int_equal(query_int(f->path, "SELECT count(*) FROM runs"), 35);
}

static void duplicate_fire_is_dropped_and_logged_without_aborting_the_batch(void **state)
{
	struct fx *f = *state;
	char logpath[160], line[4096] = "";
	struct store_stats st;
	struct shard_rec sh[2];
	struct run_rec r, g;
	ssize_t n;
	int fd;

	snprintf(logpath, sizeof(logpath), "%s/log", f->dir);
	fd = open(logpath, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	log_set_fd(fd);
	log_set_level(LOG_LVL_ERROR);

	f->opt.batch_delay_ms = 5000; /* one batch */
	fx_reopen(f);
	mkrun(&r, sh, 1, "a", 1000, RUN_TRIG_SCHEDULE, RUN_RUNNING, 1);
	assert_int_equal(store_submit_run(f->s, &r), 0);
	mkrun(&r, sh, 2, "a", 1000, RUN_TRIG_MISFIRE, RUN_RUNNING, 2);
	assert_int_equal(store_submit_run(f->s, &r), 0);
	/* Manual runs are not fires: any number per instant. */
	mkrun(&r, sh, 3, "a", 1000, RUN_TRIG_MANUAL, RUN_RUNNING, 1);
	assert_int_equal(store_submit_run(f->s, &r), 0);
	mkrun(&r, sh, 4, "b", 1000, RUN_TRIG_SCHEDULE, RUN_RUNNING, 1);
	assert_int_equal(store_submit_run(f->s, &r), 0);
	assert_int_equal(store_flush(f->s), 0);
	log_set_level(LOG_LVL_OFF);
	log_set_fd(2);

	store_stats(f->s, &st);
	assert_int_equal(st.duplicates, 1);
	assert_int_equal(st.written, 3);
	assert_int_equal(store_run_get(f->s, 2, &g), CLOVER_ENOENT);
	assert_int_equal(query_int(f->path, "SELECT count(*) FROM shards WHERE run_id = 2"), 0);
	for (int id = 1; id <= 4; id += (id == 1 ? 2 : 1)) {
		assert_int_equal(store_run_get(f->s, id, &g), 0);
		run_rec_clear(&g);
	}
	n = pread(fd, line, sizeof(line) - 1, 0);
	close(fd);
	assert_true(n > 0);
	line[n] = '\0';
	assert_non_null(strstr(line, "ERROR"));
	assert_non_null(strstr(line, "job=a run=2 scheduled_at=1970-01-01T00:00:01.000Z"));
	assert_null(strstr(line, "run=3"));
}

/* ---- last fires (job_fires, its floor, crash recovery) ---- */

static void copy_file(const char *from, const char *to)
{
	char buf[65536];
	FILE *in = fopen(from, "rb"), *out;
	size_t n;

	if (in == NULL)
		return; /* no WAL: nothing to copy */
	out = fopen(to, "wb");
	assert_non_null(out);
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		assert_int_equal(fwrite(buf, 1, n, out), n);
	fclose(in);
	fclose(out);
}

/* Copies the database as a killed process leaves it: the file and its WAL. */
static void crash_copy(struct fx *f, const char *name, char *path, size_t size)
{
	char from[200], to[200];

	snprintf(path, size, "%s/%s.db", f->dir, name);
	copy_file(f->path, path);
	snprintf(from, sizeof(from), "%s-wal", f->path);
	snprintf(to, sizeof(to), "%s-wal", path);
	copy_file(from, to);
}

struct fires_seen {
	int64_t a, b, c;
};

static int note_fire(void *ctx, const struct store_job *j, int64_t last_fire)
{
	struct fires_seen *fs = ctx;

	if (strcmp(j->name, "a") == 0)
		fs->a = last_fire;
	else if (strcmp(j->name, "b") == 0)
		fs->b = last_fire;
	else if (strcmp(j->name, "c") == 0)
		fs->c = last_fire;
	return 0;
}

static void expect_fires(struct store *s, int64_t a, int64_t b, int64_t c)
{
	struct fires_seen fs = {-1, -1, -1};

	assert_int_equal(store_job_load_all(s, note_fire, &fs), 0);
	assert_int_equal(fs.a, a);
	assert_int_equal(fs.b, b);
	assert_int_equal(fs.c, c);
}

static void submit_fire(struct store *s, int64_t id, const char *job, int64_t at,
                        enum run_trigger trig)
{
	struct shard_rec sh[1];
	struct run_rec r;

	mkrun(&r, sh, id, job, at, trig, RUN_SUCCEEDED, 1);
	assert_int_equal(store_submit_run(s, &r), 0);
	assert_int_equal(store_flush(s), 0);
}

static void last_fires_are_exact_across_swaps_crashes_and_close(void **state)
{
	struct fx *f = *state;
	struct store_options o;
	struct store *s2;
	char path[200];

	f->opt.sync_ms = -1; /* no checkpoints: the copies below see a live WAL */
	f->opt.fold_ms = 300;
	fx_reopen(f);
	for (const char *j = "a"; *j <= 'c'; j = *j == 'a' ? "b" : *j == 'b' ? "c" : "d")
		assert_int_equal(store_job_put(f->s, j, "{}", false, 1, 0, NULL, NULL), 0);
	submit_fire(f->s, 1, "a", 1000, RUN_TRIG_SCHEDULE);
	submit_fire(f->s, 2, "b", 2000, RUN_TRIG_MISFIRE);
	/* Not folded into job_fires yet: the floor covers them. */
	assert_int_equal(query_int(f->path, "SELECT count(*) FROM job_fires"), 0);
	assert_int_equal(query_int(f->path, "SELECT value FROM meta WHERE key = 'fires_floor'"), 1);
	expect_fires(f->s, 1000, 2000, 0);

	/* A process killed now: the next one folds them in when it opens. */
	crash_copy(f, "crash1", path, sizeof(path));
	o = f->opt;
	o.path = path;
	assert_int_equal(store_open(&o, &s2, NULL), 0);
	assert_int_equal(query_int(path, "SELECT count(*) FROM job_fires"), 2);
	assert_int_equal(query_int(path, "SELECT count(*) FROM meta WHERE key = 'fires_floor'"), 0);
	expect_fires(s2, 1000, 2000, 0);
	store_close(s2);

	/* After fold_ms the writer swaps and folds in chunks; the floor moves up. */
	usleep(400 * 1000);
	submit_fire(f->s, 3, "a", 3000, RUN_TRIG_SCHEDULE); /* commits, then swaps */
	submit_fire(f->s, 4, "c", 4000, RUN_TRIG_SCHEDULE); /* writes the chunk */
	assert_int_equal(query_int(f->path, "SELECT last_fire FROM job_fires WHERE job = 'a'"),
	                 3000);
	assert_int_equal(query_int(f->path, "SELECT last_fire FROM job_fires WHERE job = 'b'"),
	                 2000);
	assert_int_equal(query_int(f->path, "SELECT count(*) FROM job_fires WHERE job = 'c'"), 0);
	assert_int_equal(query_int(f->path, "SELECT value FROM meta WHERE key = 'fires_floor'"), 4);
	/* Manual runs and dropped duplicates are not fires. */
	submit_fire(f->s, 5, "c", 9000, RUN_TRIG_MANUAL);
	submit_fire(f->s, 6, "a", 3000, RUN_TRIG_MISFIRE);
	expect_fires(f->s, 3000, 2000, 4000);

	crash_copy(f, "crash2", path, sizeof(path));
	o.path = path;
	assert_int_equal(store_open(&o, &s2, NULL), 0);
	expect_fires(s2, 3000, 2000, 4000);
	store_close(s2);

	/* A clean close folds everything and leaves no floor. */
	fx_reopen(f);
	assert_int_equal(query_int(f->path, "SELECT count(*) FROM meta WHERE key = 'fires_floor'"),
	                 0);
	assert_int_equal(query_int(f->path, "SELECT last_fire FROM job_fires WHERE job = 'c'"),
	                 4000);
	expect_fires(f->s, 3000, 2000, 4000);

	/* Deleting a job forgets its last fire. */
	assert_int_equal(store_job_delete(f->s, "c"), 0);
	assert_int_equal(query_int(f->path, "SELECT count(*) FROM job_fires WHERE job = 'c'"), 0);
}

/* ---- last runs (job_last_runs: each job's last outcome) ---- */

static void submit_final(struct store *s, int64_t id, const char *job, enum run_state state)
{
	struct shard_rec sh[1];
	struct run_rec r;

	mkrun(&r, sh, id, job, id * 1000, RUN_TRIG_MANUAL, state, 1);
	assert_int_equal(store_submit_run(s, &r), 0);
}

static struct store_last_run last_run_of(struct store *s, const char *job)
{
	struct store_last_run lr;
	struct store_job j;

	assert_int_equal(store_job_get(s, job, &j), 0);
	lr = j.last_run;
	store_job_clear(&j);
	return lr;
}

/* Waits (at most 10 s) until the writer has folded run `id` as the last run of `job`. */
static struct store_last_run wait_last_run(struct store *s, const char *job, int64_t id)
{
	struct store_last_run lr = {0};

	for (int i = 0; i < 1000; i++) {
		lr = last_run_of(s, job);
		if (lr.id == id)
			break;
		usleep(10 * 1000);
	}
	assert_int_equal(lr.id, id);
	return lr;
}

static void put_jobs(struct store *s, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		assert_int_equal(store_job_put(s, names[i], "{}", false, 1, 0, NULL, NULL), 0);
}

static void last_runs_follow_the_newest_final_run_across_folds_close_and_delete(void **state)
{
	static const char *const names[] = {"a", "b", "c"};
	struct fx *f = *state;
	struct store_last_run lr;
	struct shard_rec sh[1];
	struct run_rec r;
	sqlite3 *db;

	f->opt.fold_ms = 100;
	fx_reopen(f);
	put_jobs(f->s, names, 3);
	/* A run that has not finished is no outcome. */
	mkrun(&r, sh, 1, "a", 1000, RUN_TRIG_SCHEDULE, RUN_RUNNING, 1);
	assert_int_equal(store_submit_run(f->s, &r), 0);
	assert_int_equal(store_flush(f->s), 0);
	usleep(300 * 1000);
	assert_int_equal(last_run_of(f->s, "a").id, 0);

	/* Folded with no batch after it: the writer's idle work writes it. */
	submit_final(f->s, 1, "a", RUN_FAILED);
	submit_final(f->s, 2, "b", RUN_SUCCEEDED);
	assert_int_equal(store_flush(f->s), 0);
	lr = wait_last_run(f->s, "a", 1);
	assert_int_equal(lr.state, RUN_FAILED);
	assert_int_equal(lr.finished_at, 1003);
	assert_int_equal(wait_last_run(f->s, "b", 2).state, RUN_SUCCEEDED);
	assert_int_equal(last_run_of(f->s, "c").id, 0);

	/* The newest by id wins, whichever finishes last, in one fold or across folds. */
	submit_final(f->s, 5, "a", RUN_SUCCEEDED);
	submit_final(f->s, 4, "a", RUN_TIMED_OUT);
	assert_int_equal(store_flush(f->s), 0);
	assert_int_equal(wait_last_run(f->s, "a", 5).state, RUN_SUCCEEDED);
	submit_final(f->s, 3, "a", RUN_LOST);
	/* A run already final does not finish again. */
	submit_final(f->s, 5, "a", RUN_FAILED);
	submit_final(f->s, 6, "b", RUN_CANCELLED);
	assert_int_equal(store_flush(f->s), 0);
	assert_int_equal(wait_last_run(f->s, "b", 6).state, RUN_CANCELLED);
	lr = last_run_of(f->s, "a");
	assert_int_equal(lr.id, 5);
	assert_int_equal(lr.state, RUN_SUCCEEDED);

	/* A clean close writes what is not folded yet. */
	f->opt.fold_ms = 60000;
	fx_reopen(f);
	submit_final(f->s, 7, "c", RUN_SKIPPED);
	fx_reopen(f);
	assert_int_equal(last_run_of(f->s, "c").id, 7);
	assert_int_equal(last_run_of(f->s, "c").state, RUN_SKIPPED);
	assert_int_equal(last_run_of(f->s, "a").id, 5);

	/* Deleting a job forgets its last run; a job of that name starts with none. */
	assert_int_equal(store_job_delete(f->s, "a"), 0);
	assert_int_equal(query_int(f->path, "SELECT count(*) FROM job_last_runs WHERE job = 'a'"),
	                 0);
	put_jobs(f->s, names, 1);
	assert_int_equal(last_run_of(f->s, "a").id, 0);
	submit_final(f->s, 8, "a", RUN_FAILED);
	fx_reopen(f);
	assert_int_equal(last_run_of(f->s, "a").id, 8);

	/* Migration 4 fills the table from the runs already finished. */
	store_close(f->s);
	f->s = NULL;
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
	                              "DROP TABLE job_last_runs;"
	                              "DELETE FROM schema_version WHERE version = 4",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	sqlite3_close(db);
	fx_open(f);
	lr = last_run_of(f->s, "a");
	assert_int_equal(lr.id, 8);
	assert_int_equal(lr.state, RUN_FAILED);
	assert_int_equal(lr.finished_at, 8003);
	assert_int_equal(last_run_of(f->s, "b").id, 6);
	assert_int_equal(last_run_of(f->s, "c").id, 7);
}

static void last_runs_lost_in_a_crash_are_put_right_by_the_next_final_run(void **state)
{
	static const char *const names[] = {"a"};
	struct fx *f = *state;
	struct store_options o;
	struct store *s2;
	struct store_last_run lr;
	char path[200];

	f->opt.sync_ms = -1;
	f->opt.fold_ms = 60000; /* nothing is folded before a clean close */
	fx_reopen(f);
	put_jobs(f->s, names, 1);
	submit_final(f->s, 1, "a", RUN_FAILED);
	assert_int_equal(store_flush(f->s), 0);
	assert_int_equal(last_run_of(f->s, "a").id, 0);

	crash_copy(f, "crash", path, sizeof(path));
	o = f->opt;
	o.path = path;
	assert_int_equal(store_open(&o, &s2, NULL), 0);
	assert_int_equal(last_run_of(s2, "a").id, 0); /* lost */
	submit_final(s2, 2, "a", RUN_SUCCEEDED);
	store_close(s2);
	assert_int_equal(store_open(&o, &s2, NULL), 0);
	lr = last_run_of(s2, "a");
	assert_int_equal(lr.id, 2);
	assert_int_equal(lr.state, RUN_SUCCEEDED);
	store_close(s2);

	fx_reopen(f);
	assert_int_equal(last_run_of(f->s, "a").id, 1);
}

static void job_list_filters_by_last_outcome_with_paging(void **state)
{
	static const char *const names[] = {"j0", "j1", "j2", "j3", "j4",
	                                    "j5", "j6", "j7", "j8", "j9"};
	struct store_job_filter flt = {.paused = -1, .last_state = RUN_FAILED, .limit = 2};
	struct fx *f = *state;
	struct store_job *js;
	size_t n;

	put_jobs(f->s, names, 10);
	submit_final(f->s, 1, "j1", RUN_FAILED);
	submit_final(f->s, 2, "j2", RUN_SUCCEEDED);
	submit_final(f->s, 3, "j3", RUN_SUCCEEDED);
	submit_final(f->s, 4, "j3", RUN_FAILED);
	submit_final(f->s, 5, "j5", RUN_FAILED);
	submit_final(f->s, 6, "j7", RUN_FAILED);
	submit_final(f->s, 7, "j8", RUN_FAILED);
	submit_final(f->s, 8, "j8", RUN_TIMED_OUT);
	assert_int_equal(store_job_put(f->s, "j5", "{}", true, 2, 0, NULL, NULL), 0);
	fx_reopen(f); /* folds */

	assert_int_equal(store_job_list(f->s, &flt, &js, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(js[0].name, "j1");
	assert_int_equal(js[0].last_run.id, 1);
	assert_int_equal(js[0].last_run.state, RUN_FAILED);
	assert_string_equal(js[1].name, "j3");
	assert_int_equal(js[1].last_run.id, 4);
	flt.after = "j3";
	for (size_t i = 0; i < n; i++)
		store_job_clear(&js[i]);
	free(js);
	assert_int_equal(store_job_list(f->s, &flt, &js, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(js[0].name, "j5");
	assert_string_equal(js[1].name, "j7");
	for (size_t i = 0; i < n; i++)
		store_job_clear(&js[i]);
	free(js);
	flt.after = "j7";
	assert_int_equal(store_job_list(f->s, &flt, &js, &n), 0);
	assert_int_equal(n, 0);
	free(js);

	/* With the other filters. */
	flt.after = NULL;
	flt.paused = 0;
	flt.limit = 10;
	assert_int_equal(store_job_list(f->s, &flt, &js, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(js[0].name, "j1");
	assert_string_equal(js[1].name, "j3");
	assert_string_equal(js[2].name, "j7");
	for (size_t i = 0; i < n; i++)
		store_job_clear(&js[i]);
	free(js);

	/* Never finished, paged. */
	flt.paused = -1;
	flt.last_state = STORE_LAST_NEVER;
	flt.limit = 3;
	assert_int_equal(store_job_list(f->s, &flt, &js, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(js[0].name, "j0");
	assert_string_equal(js[1].name, "j4");
	assert_string_equal(js[2].name, "j6");
	assert_int_equal(js[0].last_run.id, 0);
	for (size_t i = 0; i < n; i++)
		store_job_clear(&js[i]);
	free(js);
	flt.after = "j6";
	assert_int_equal(store_job_list(f->s, &flt, &js, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(js[0].name, "j9");
	store_job_clear(&js[0]);
	free(js);

	/* Any: every job, with its last run. */
	flt.after = NULL;
	flt.last_state = 0;
	flt.limit = 100;
	assert_int_equal(store_job_list(f->s, &flt, &js, &n), 0);
	assert_int_equal(n, 10);
	assert_int_equal(js[8].last_run.id, 8);
	assert_int_equal(js[8].last_run.state, RUN_TIMED_OUT);
	for (size_t i = 0; i < n; i++)
		store_job_clear(&js[i]);
	free(js);

	/* Not a final state: refused. */
	flt.last_state = RUN_RUNNING;
	assert_int_equal(store_job_list(f->s, &flt, &js, &n), CLOVER_EINVAL);
	flt.last_state = 99;
	assert_int_equal(store_job_list(f->s, &flt, &js, &n), CLOVER_EINVAL);
}

/* ---- events through the queue ---- */

static void queued_events_are_written_and_a_taken_id_is_skipped(void **state)
{
	struct fx *f = *state;
	struct store_event ev = {.at = 5,
	                         .level = STORE_LEVEL_WARN,
	                         .source = "engine",
	                         .job = "a",
	                         .run_id = 3,
	                         .message = "misfired"};
	struct store_event_filter flt = {.level = -1};
	struct store_event *evs;
	struct store_stats st;
	struct shard_rec sh[1];
	struct run_rec r;
	size_t n;

	f->opt.batch_delay_ms = 5000; /* one batch: the bad event must not sink the others */
	fx_reopen(f);
	assert_int_equal(store_submit_event(f->s, &ev), 0);
	ev.id = 1; /* the id the first one gets */
	ev.message = "same id";
	assert_int_equal(store_submit_event(f->s, &ev), 0);
	mkrun(&r, sh, 3, "a", 1000, RUN_TRIG_SCHEDULE, RUN_FAILED, 1);
	assert_int_equal(store_submit_run(f->s, &r), 0);
	ev.id = 0;
	ev.message = "after";
	assert_int_equal(store_submit_event(f->s, &ev), 0);
	assert_int_equal(store_flush(f->s), 0);

	store_stats(f->s, &st);
	assert_int_equal(st.written, 3);
	assert_int_equal(st.rejected, 1);
	assert_int_equal(st.failed, 0);
	assert_int_equal(store_event_list(f->s, &flt, &evs, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(evs[0].message, "after");
	assert_string_equal(evs[1].message, "misfired");
	assert_string_equal(evs[1].job, "a");
	assert_int_equal(evs[1].run_id, 3);
	assert_int_equal(evs[1].level, STORE_LEVEL_WARN);
	for (size_t i = 0; i < n; i++)
		store_event_clear(&evs[i]);
	free(evs);
	ev.source = NULL;
	assert_int_equal(store_submit_event(f->s, &ev), CLOVER_EINVAL);
}

/* ---- reading runs ---- */

static void run_list_filters_and_pages_newest_first(void **state)
{
	struct fx *f = *state;
	struct store_run_filter flt = {.state = -1};
	struct shard_rec sh[1];
	struct run_rec r, *rs;
	int64_t maxid;
	size_t n;

	assert_int_equal(store_run_max_id(f->s, &maxid), 0);
	assert_int_equal(maxid, 0);
	/* 30 runs: job a when i is odd; failed when i % 5 == 0; scheduled at 1000 * i. */
	for (int i = 1; i <= 30; i++) {
		mkrun(&r, sh, i, i % 2 ? "a" : "b", 1000 * i, RUN_TRIG_SCHEDULE,
		      i % 5 == 0 ? RUN_FAILED : RUN_SUCCEEDED, 1);
		assert_int_equal(store_submit_run(f->s, &r), 0);
	}
	assert_int_equal(store_flush(f->s), 0);
	assert_int_equal(store_run_max_id(f->s, &maxid), 0);
	assert_int_equal(maxid, 30);

	assert_int_equal(store_run_list(f->s, NULL, &rs, &n), 0);
	assert_int_equal(n, 30);
	assert_int_equal(rs[0].id, 30);
	assert_int_equal(rs[29].id, 1);
	assert_int_equal(rs[0].nshards, 1);
	free_runs(rs, n);

	flt.job = "a";
	flt.limit = 4;
	assert_int_equal(store_run_list(f->s, &flt, &rs, &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(rs[0].id, 29);
	assert_int_equal(rs[3].id, 23);
	flt.before_id = rs[3].id;
	free_runs(rs, n);
	assert_int_equal(store_run_list(f->s, &flt, &rs, &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(rs[0].id, 21);
	free_runs(rs, n);

	memset(&flt, 0, sizeof(flt));
	flt.state = RUN_FAILED;
	assert_int_equal(store_run_list(f->s, &flt, &rs, &n), 0);
	assert_int_equal(n, 6);
	assert_int_equal(rs[0].id, 30);
	assert_int_equal(rs[0].state, RUN_FAILED);
	free_runs(rs, n);
	flt.state = RUN_SUCCEEDED;
	flt.job = "b";
	flt.from = 10000;
	flt.to = 20000; /* 10..19, even, not a multiple of 5: 12, 14, 16, 18 */
	assert_int_equal(store_run_list(f->s, &flt, &rs, &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(rs[0].id, 18);
	assert_int_equal(rs[3].id, 12);
	free_runs(rs, n);
	flt.state = 99;
	assert_int_equal(store_run_list(f->s, &flt, &rs, &n), CLOVER_EINVAL);
}

struct seen {
	int n;
	int64_t ids[8];
	int shards[8];
};

static int collect_run(void *ctx, const struct run_rec *r)
{
	struct seen *s = ctx;

	if (s->n < 8) {
		s->ids[s->n] = r->id;
		s->shards[s->n] = r->nshards;
	}
	s->n++;
	return 0;
}

static void unfinished_runs_are_returned_for_recovery(void **state)
{
	struct fx *f = *state;
	static const enum run_state states[] = {RUN_SUCCEEDED, RUN_RUNNING, RUN_FAILED, RUN_PENDING,
	                                        RUN_LOST,      RUN_RUNNING, RUN_SKIPPED};
	struct seen seen = {0};
	struct shard_rec sh[3];
	struct run_rec r;

	for (int i = 0; i < 7; i++) {
		mkrun(&r, sh, i + 1, "a", 1000 * i, RUN_TRIG_SCHEDULE, states[i], 3);
		assert_int_equal(store_submit_run(f->s, &r), 0);
	}
	assert_int_equal(store_flush(f->s), 0);
	assert_int_equal(store_run_unfinished(f->s, collect_run, &seen), 0);
	assert_int_equal(seen.n, 3);
	assert_int_equal(seen.ids[0], 2);
	assert_int_equal(seen.ids[1], 4);
	assert_int_equal(seen.ids[2], 6);
	assert_int_equal(seen.shards[0], 3);

	/* Once finished they are no longer returned. */
	mkrun(&r, sh, 4, "a", 3000, RUN_TRIG_SCHEDULE, RUN_CANCELLED, 3);
	assert_int_equal(store_submit_run(f->s, &r), 0);
	assert_int_equal(store_flush(f->s), 0);
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(store_run_unfinished(f->s, collect_run, &seen), 0);
	assert_int_equal(seen.n, 2);
}

/* ---- logs ---- */

static char *read_log(struct store *s, int64_t run, int shard, int64_t off, size_t max,
                      int64_t *next)
{
	char *out = NULL;
	size_t len = 0;

	assert_int_equal(store_log_read(s, run, shard, off, max, &out, &len, next), 0);
	assert_non_null(out);
	assert_int_equal(strlen(out), len);
	return out;
}

static void log_cap_keeps_the_tail_with_a_dropped_marker(void **state)
{
	struct fx *f = *state;
	char chunk[300], all[3000 + 200], want[1200], big[2500];
	int64_t next;
	char *out;

	f->opt.log_cap_per_shard = 1000;
	fx_reopen(f);
	/* Shard 0: ten chunks of 300 bytes; the cap keeps the last 1000. */
	for (int k = 0; k < 10; k++) {
		for (int i = 0; i < 300; i++)
			chunk[i] = (char)('a' + (k + i) % 26);
		memcpy(all + 300 * k, chunk, 300);
		assert_int_equal(store_submit_log(f->s, 9, 0, 1, chunk, sizeof(chunk)), 0);
		if (k % 3 == 0)
			assert_int_equal(store_flush(f->s), 0);
	}
	/* Shard 1: one chunk bigger than the cap. */
	for (int i = 0; i < 2500; i++)
		big[i] = (char)('A' + i % 26);
	assert_int_equal(store_submit_log(f->s, 9, 1, 1, big, sizeof(big)), 0);
	assert_int_equal(store_flush(f->s), 0);

	out = read_log(f->s, 9, 0, 0, 0, &next);
	snprintf(want, sizeof(want), "[... 2000 bytes dropped ...]\n%.1000s", all + 2000);
	assert_string_equal(out, want);
	assert_int_equal(next, 3000);
	free(out);
	assert_int_equal(query_int(f->path, "SELECT sum(length(data)) FROM run_logs"
	                                    " WHERE run_id = 9 AND shard = 0"),
	                 1000);

	/* Paging with small pages gives the same text, the marker only once. */
	{
		char acc[1200] = "";
		int64_t off = 0;

		for (int guard = 0; guard < 100; guard++) {
			out = read_log(f->s, 9, 0, off, 128, &next);
			assert_true(strlen(out) <= 128 + 40);
			strncat(acc, out, sizeof(acc) - strlen(acc) - 1);
			free(out);
			if (next == off)
				break;
			off = next;
		}
		assert_string_equal(acc, want);
	}

	/* A follower keeps its place when more output trims the head again. */
	for (int i = 0; i < 200; i++)
		chunk[i] = (char)('0' + i % 10);
	memcpy(all + 3000, chunk, 200);
	assert_int_equal(store_submit_log(f->s, 9, 0, 1, chunk, 200), 0);
	assert_int_equal(store_flush(f->s), 0);
	out = read_log(f->s, 9, 0, 3000, 0, &next);
	assert_int_equal(strlen(out), 200);
	assert_memory_equal(out, chunk, 200);
	assert_int_equal(next, 3200);
	free(out);
	/* Starting inside the dropped part: the marker says how much is missing from there. */
	out = read_log(f->s, 9, 0, 1500, 10, &next);
	snprintf(want, sizeof(want), "[... 700 bytes dropped ...]\n%.10s", all + 2200);
	assert_string_equal(out, want);
	assert_int_equal(next, 2210);
	free(out);

	/* The oversized chunk. */
	out = read_log(f->s, 9, 1, 0, 0, &next);
	snprintf(want, sizeof(want), "[... 1500 bytes dropped ...]\n%.1000s", big + 1500);
	assert_string_equal(out, want);
	free(out);

	/* All shards, in shard order. */
	out = read_log(f->s, 9, -1, 0, 0, &next);
	assert_int_equal(next, 3200 + 2500);
	assert_non_null(strstr(out, "[... 2200 bytes dropped ...]\n"));
	assert_non_null(strstr(out, "[... 1500 bytes dropped ...]\n"));
	assert_true(strstr(out, "2200 bytes") < strstr(out, "1500 bytes"));
	free(out);

	/* Past the end, and a run without output. */
	out = read_log(f->s, 9, 0, 5000, 0, &next);
	assert_string_equal(out, "");
	assert_int_equal(next, 5000);
	free(out);
	out = read_log(f->s, 12345, -1, 0, 0, &next);
	assert_string_equal(out, "");
	assert_int_equal(next, 0);
	free(out);
}

/* ---- retention ---- */

static void prune_deletes_old_finished_runs_and_events_in_batches(void **state)
{
	struct fx *f = *state;
	struct store_event ev = {.source = "engine", .message = "m"};
	struct shard_rec sh[2];
	struct run_rec r, g;
	int64_t deleted = -1, next;
	char *out;
	int id = 1;

	/* 10 old finished runs, one of them skipped (no finish time). */
	for (int i = 0; i < 10; i++) {
		mkrun(&r, sh, id++, "a", 1000 + i, RUN_TRIG_SCHEDULE, RUN_SUCCEEDED, 2);
		if (i == 4) {
			r.state = RUN_SKIPPED;
			r.finished_at = 0;
		}
		assert_int_equal(store_submit_run(f->s, &r), 0);
	}
	assert_int_equal(store_submit_log(f->s, 1, 0, 1, "old output", 10), 0);
	/* 2 old runs still going, 1 old run that finished recently, 3 new runs. */
	for (int i = 0; i < 2; i++) {
		mkrun(&r, sh, id++, "b", 2000 + i, RUN_TRIG_SCHEDULE, RUN_RUNNING, 1);
		assert_int_equal(store_submit_run(f->s, &r), 0);
	}
	mkrun(&r, sh, id++, "b", 3000, RUN_TRIG_SCHEDULE, RUN_FAILED, 1);
	r.finished_at = 60000;
	assert_int_equal(store_submit_run(f->s, &r), 0);
	for (int i = 0; i < 3; i++) {
		mkrun(&r, sh, id++, "c", 100000 + i, RUN_TRIG_SCHEDULE, RUN_SUCCEEDED, 1);
		assert_int_equal(store_submit_run(f->s, &r), 0);
	}
	assert_int_equal(store_flush(f->s), 0);
	for (int i = 0; i < 7; i++) {
		ev.at = i < 5 ? 500 + i : 200000;
		assert_int_equal(store_event_add(f->s, &ev), 0);
	}

	assert_int_equal(store_prune(f->s, 50000, 3, &deleted), 0);
	assert_int_equal(deleted, 10 + 5);
	assert_int_equal(query_int(f->path, "SELECT count(*) FROM runs"), 6);
	assert_int_equal(query_int(f->path, "SELECT count(*) FROM shards"), 6);
	assert_int_equal(query_int(f->path, "SELECT count(*) FROM events"), 2);
	assert_int_equal(query_int(f->path, "SELECT count(*) FROM run_logs"), 0);
	assert_int_equal(query_int(f->path, "SELECT count(*) FROM run_log_tails"), 0);
	assert_int_equal(store_run_get(f->s, 1, &g), CLOVER_ENOENT);
	assert_int_equal(store_run_get(f->s, 11, &g), 0);
	run_rec_clear(&g);
	out = read_log(f->s, 1, -1, 0, 0, &next);
	assert_string_equal(out, "");
	free(out);

	assert_int_equal(store_prune(f->s, 50000, 3, &deleted), 0);
	assert_int_equal(deleted, 0);
	/* Later, the recently finished one goes too; running ones never. */
	assert_int_equal(store_prune(f->s, 1000000, 2, &deleted), 0);
	assert_int_equal(deleted, 1 + 3 + 2);
	assert_int_equal(query_int(f->path, "SELECT count(*) FROM runs"), 2);
}

/* ---- concurrency ---- */

#define THREADS         4
#define RUNS_PER_THREAD 2500

struct worker {
	struct store *s;
	int t;
	int rc;
};

static void *submitter(void *arg)
{
	struct worker *w = arg;
	struct shard_rec sh[1];
	struct run_rec r;
	char name[16], line[32];

	snprintf(name, sizeof(name), "job-%d", w->t);
	for (int i = 0; i < RUNS_PER_THREAD && w->rc == 0; i++) {
		int64_t id = (int64_t)w->t * RUNS_PER_THREAD + i + 1;
		int n = snprintf(line, sizeof(line), "line %d\n", i);

		mkrun(&r, sh, id, name, 1000 * (int64_t)i, RUN_TRIG_SCHEDULE, RUN_RUNNING, 1);
		w->rc = store_submit_run(w->s, &r);
		if (w->rc == 0)
			w->rc = store_submit_log(w->s, id, 0, 1, line, (size_t)n);
		mkrun(&r, sh, id, name, 1000 * (int64_t)i, RUN_TRIG_SCHEDULE, RUN_SUCCEEDED, 1);
		if (w->rc == 0)
			w->rc = store_submit_run(w->s, &r);
		if (w->rc == 0 && i % 500 == 0)
			w->rc = store_flush(w->s);
	}
	return NULL;
}

static void *reader(void *arg)
{
	struct worker *w = arg;

	for (int i = 0; i < 50 && w->rc == 0; i++) {
		struct store_run_filter flt = {.state = -1, .limit = 20};
		struct run_rec *rs;
		size_t n;

		w->rc = store_run_list(w->s, &flt, &rs, &n);
		if (w->rc == 0)
			free_runs(rs, n);
	}
	return NULL;
}

static void concurrent_submitters_lose_nothing(void **state)
{
	struct fx *f = *state;
	struct worker w[THREADS + 1];
	pthread_t th[THREADS + 1];
	struct store_stats st;
	struct run_rec g;
	int64_t next;
	char *out;

	f->opt.batch_max = 256;
	fx_reopen(f);
	for (int t = 0; t <= THREADS; t++) {
		w[t] = (struct worker){.s = f->s, .t = t};
		assert_int_equal(
		    pthread_create(&th[t], NULL, t < THREADS ? submitter : reader, &w[t]), 0);
	}
	for (int t = 0; t <= THREADS; t++) {
		pthread_join(th[t], NULL);
		assert_int_equal(w[t].rc, 0);
	}
	assert_int_equal(store_flush(f->s), 0);
	store_stats(f->s, &st);
	assert_int_equal(st.submitted, THREADS * RUNS_PER_THREAD * 3);
	assert_int_equal(st.written + st.coalesced, st.submitted);
	assert_int_equal(st.failed, 0);
	assert_int_equal(st.duplicates, 0);
	assert_int_equal(query_int(f->path, "SELECT count(*) FROM runs WHERE state = 2"),
	                 THREADS * RUNS_PER_THREAD);
	assert_int_equal(query_int(f->path, "SELECT count(*) FROM run_logs"),
	                 THREADS * RUNS_PER_THREAD);
	assert_int_equal(store_run_get(f->s, RUNS_PER_THREAD + 7, &g), 0);
	assert_string_equal(g.job, "job-1");
	assert_int_equal(g.state, RUN_SUCCEEDED);
	run_rec_clear(&g);
	out = read_log(f->s, RUNS_PER_THREAD + 7, 0, 0, 0, &next);
	assert_string_equal(out, "line 6\n");
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    fx_test(run_snapshot_round_trips_and_upserts),
	    fx_test(sync_commit_mode_writes_and_reads_back),
	    fx_test(snapshots_of_a_run_coalesce_within_a_batch),
	    fx_test(batches_split_at_batch_max),
	    fx_test(duplicate_fire_is_dropped_and_logged_without_aborting_the_batch),
	    fx_test(last_fires_are_exact_across_swaps_crashes_and_close),
	    fx_test(last_runs_follow_the_newest_final_run_across_folds_close_and_delete),
	    fx_test(last_runs_lost_in_a_crash_are_put_right_by_the_next_final_run),
	    fx_test(job_list_filters_by_last_outcome_with_paging),
	    fx_test(queued_events_are_written_and_a_taken_id_is_skipped),
	    fx_test(run_list_filters_and_pages_newest_first),
	    fx_test(unfinished_runs_are_returned_for_recovery),
	    fx_test(log_cap_keeps_the_tail_with_a_dropped_marker),
	    fx_test(prune_deletes_old_finished_runs_and_events_in_batches),
	    fx_test(concurrent_submitters_lose_nothing),
	};

	log_set_level(LOG_LVL_OFF);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
