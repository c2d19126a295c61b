/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the store (SQLite backend), part one: opening and migrations,
 * jobs, events, users and tokens, metadata. Runs and logs are in
 * test-store-runs.c. Each test has its own temporary directory (store-test.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "store-test.h"

#include "base/log.h"

#include <sqlite3.h>
#include <sys/stat.h>

static void exec_sql(const char *path, const char *sql)
{
	sqlite3 *db;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

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

/* ---- opening and migrations ---- */

static void open_creates_private_file_and_migrates_from_empty(void **state)
{
	struct fx *f = *state;
	struct stat sb;
	char *v = NULL;

	assert_int_equal(stat(f->path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	store_close(f->s);
	f->s = NULL;
	assert_int_equal(query_int(f->path, "SELECT max(version) FROM schema_version"), 4);
	assert_int_equal(query_int(f->path,
	                           "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
	                           " AND name IN ('jobs', 'runs', 'shards', 'run_logs', 'events',"
	                           " 'contacts', 'job_contacts', 'users', 'tokens', 'meta',"
	                           " 'sessions')"),
	                 11);
	fx_open(f);
	/* Reopening an up-to-date database applies nothing. */
	assert_int_equal(store_meta_get(f->s, "anything", &v), CLOVER_ENOENT);
	assert_null(v);
}

static void reopen_keeps_data(void **state)
{
	struct fx *f = *state;
	struct store_job j;
	int64_t rev;

	assert_int_equal(store_job_put(f->s, "keep", "{\"a\":1}", false, 1000, 0, &rev, NULL), 0);
	assert_int_equal(store_meta_set(f->s, "cluster", "c1"), 0);
	fx_reopen(f);
	assert_int_equal(store_job_get(f->s, "keep", &j), 0);
	assert_string_equal(j.spec, "{\"a\":1}");
	store_job_clear(&j);
	fx_reopen(f);
	assert_int_equal(query_int(f->path, "SELECT count(*) FROM schema_version"), 4);
}

static void newer_schema_is_refused_with_a_clear_error(void **state)
{
	struct fx *f = *state;
	struct error_info e = {0};
	struct store *s = NULL;

	store_close(f->s);
	f->s = NULL;
	exec_sql(f->path, "INSERT INTO schema_version(version, applied_at) VALUES(99, 0)");
	assert_int_equal(store_open(&f->opt, &s, &e), CLOVER_ESTORE);
	assert_null(s);
	assert_non_null(strstr(e.message, "newer"));
	assert_non_null(strstr(e.message, "99"));
	assert_string_equal(e.field, "store.path");
	exec_sql(f->path, "DELETE FROM schema_version WHERE version = 99");
	fx_open(f);
}

static void foreign_database_is_refused(void **state)
{
	struct fx *f = *state;
	struct store_options o = {0};
	struct error_info e = {0};
	struct store *s = NULL;
	char path[160];

	snprintf(path, sizeof(path), "%s/other.db", f->dir);
	exec_sql(path, "CREATE TABLE foo(x)");
	o.path = path;
	assert_int_equal(store_open(&o, &s, &e), CLOVER_ESTORE);
	assert_non_null(strstr(e.message, "not a clover database"));

	snprintf(path, sizeof(path), "%s/garbage.db", f->dir);
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("this is not a database file, not at all, no sqlite header here......", fp);
	fclose(fp);
	assert_int_not_equal(store_open(&o, &s, &e), 0);
	assert_null(s);

	o.path = "postgres://localhost/clover";
	assert_int_equal(store_open(&o, &s, &e), CLOVER_ENOTSUP);
	o.path = NULL;
	assert_int_equal(store_open(&o, &s, &e), CLOVER_EINVAL);
}

/* ---- jobs ---- */

static void job_put_creates_then_bumps_revision(void **state)
{
	struct fx *f = *state;
	struct store_job j;
	int64_t rev = 0;
	bool created = false;

	assert_int_equal(store_job_put(f->s, "a", "{\"v\":1}", false, 1000, 0, &rev, &created), 0);
	assert_int_equal(rev, 1);
	assert_true(created);
	assert_int_equal(store_job_put(f->s, "a", "{\"v\":2}", true, 2000, 0, &rev, &created), 0);
	assert_int_equal(rev, 2);
	assert_false(created);
	assert_int_equal(store_job_get(f->s, "a", &j), 0);
	assert_string_equal(j.name, "a");
	assert_string_equal(j.spec, "{\"v\":2}");
	assert_int_equal(j.revision, 2);
	assert_int_equal(j.created_at, 1000);
	assert_int_equal(j.updated_at, 2000);
	assert_true(j.paused);
	store_job_clear(&j);
	assert_int_equal(store_job_get(f->s, "nope", &j), CLOVER_ENOENT);
}

static void job_put_with_stale_revision_conflicts(void **state)
{
	struct fx *f = *state;
	struct store_job j;
	int64_t rev = 0;

	assert_int_equal(store_job_put(f->s, "a", "{}", false, 1, 0, &rev, NULL), 0);
	assert_int_equal(store_job_put(f->s, "a", "{\"x\":1}", false, 2, 1, &rev, NULL), 0);
	assert_int_equal(rev, 2);
	/* Someone else already went from 1 to 2. */
	assert_int_equal(store_job_put(f->s, "a", "{\"x\":2}", false, 3, 1, &rev, NULL),
	                 CLOVER_ECONFLICT);
	assert_int_equal(store_job_get(f->s, "a", &j), 0);
	assert_string_equal(j.spec, "{\"x\":1}");
	assert_int_equal(j.revision, 2);
	store_job_clear(&j);
	/* An expected revision of a job that does not exist cannot match. */
	assert_int_equal(store_job_put(f->s, "b", "{}", false, 3, 1, &rev, NULL), CLOVER_ECONFLICT);
	assert_int_equal(store_job_get(f->s, "b", &j), CLOVER_ENOENT);
}

static void job_delete_removes_only_that_job(void **state)
{
	struct fx *f = *state;
	struct store_job j;

	assert_int_equal(store_job_put(f->s, "a", "{}", false, 1, 0, NULL, NULL), 0);
	assert_int_equal(store_job_put(f->s, "b", "{}", false, 1, 0, NULL, NULL), 0);
	assert_int_equal(store_job_delete(f->s, "a"), 0);
	assert_int_equal(store_job_delete(f->s, "a"), CLOVER_ENOENT);
	assert_int_equal(store_job_get(f->s, "a", &j), CLOVER_ENOENT);
	assert_int_equal(store_job_get(f->s, "b", &j), 0);
	store_job_clear(&j);
}

static void job_list_filters_and_pages_by_name(void **state)
{
	struct fx *f = *state;
	struct store_job_filter flt = {.paused = -1};
	struct store_job *js;
	int64_t total, paused;
	size_t n, seen = 0;
	char name[32];

	for (int i = 0; i < 25; i++) {
		snprintf(name, sizeof(name), "job-%02d%s", i, i % 5 == 0 ? "_x%" : "");
		assert_int_equal(store_job_put(f->s, name, "{}", i % 3 == 0, 1, 0, NULL, NULL), 0);
	}
	assert_int_equal(store_job_count(f->s, &total, &paused), 0);
	assert_int_equal(total, 25);
	assert_int_equal(paused, 9);

	/* Pages of 10, keyset on the name. */
	flt.limit = 10;
	char after[32] = "";
	for (int page = 0; page < 3; page++) {
		flt.after = page ? after : NULL;
		assert_int_equal(store_job_list(f->s, &flt, &js, &n), 0);
		assert_int_equal(n, page < 2 ? 10 : 5);
		for (size_t i = 0; i < n; i++) {
			snprintf(name, sizeof(name), "job-%02zu", seen + i);
			assert_memory_equal(js[i].name, name, 6);
			store_job_clear(&js[i]);
		}
		seen += n;
		snprintf(after, sizeof(after), "job-%02zu%s", seen - 1,
		         (seen - 1) % 5 == 0 ? "_x%" : "");
		free(js);
	}
	assert_int_equal(seen, 25);

	/* The search is a substring; LIKE's wildcards are taken literally. */
	memset(&flt, 0, sizeof(flt));
	flt.paused = -1;
	flt.search = "_X%";
	assert_int_equal(store_job_list(f->s, &flt, &js, &n), 0);
	assert_int_equal(n, 5);
	for (size_t i = 0; i < n; i++)
		store_job_clear(&js[i]);
	free(js);
	flt.search = "2";
	flt.paused =
	    1; /* job-02, job-12, job-20, job-21, job-22, job-23, job-24: paused 12, 21, 24 */
	assert_int_equal(store_job_list(f->s, &flt, &js, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(js[0].name, "job-12");
	assert_string_equal(js[1].name, "job-21");
	assert_string_equal(js[2].name, "job-24");
	for (size_t i = 0; i < n; i++)
		store_job_clear(&js[i]);
	free(js);
	flt.paused = 0;
	assert_int_equal(store_job_list(f->s, &flt, &js, &n), 0);
	assert_int_equal(n, 4);
	for (size_t i = 0; i < n; i++)
		store_job_clear(&js[i]);
	free(js);
	flt.paused = 7;
	assert_int_equal(store_job_list(f->s, &flt, &js, &n), CLOVER_EINVAL);
}

struct loaded {
	int n;
	char last[32];
	int64_t fire[4];
	int stop_at;
};

static int collect_job(void *ctx, const struct store_job *j, int64_t last_fire)
{
	struct loaded *l = ctx;

	if (l->n == l->stop_at)
		return 42;
	if (strcmp(j->name, l->last) <= 0 && l->n > 0)
		return -1; /* not in name order */
	snprintf(l->last, sizeof(l->last), "%s", j->name);
	if (l->n < 4)
		l->fire[l->n] = last_fire;
	l->n++;
	return 0;
}

static void job_load_all_streams_jobs_with_last_fire(void **state)
{
	struct fx *f = *state;
	struct loaded l = {.stop_at = -1};
	struct run_rec r = {0};
	int64_t id = 1;

	assert_int_equal(store_job_put(f->s, "c", "{}", false, 1, 0, NULL, NULL), 0);
	assert_int_equal(store_job_put(f->s, "a", "{}", false, 1, 0, NULL, NULL), 0);
	assert_int_equal(store_job_put(f->s, "b", "{}", true, 1, 0, NULL, NULL), 0);
	/* a: two scheduled runs and a later manual one (which does not count). */
	r.state = RUN_SUCCEEDED;
	r.job = "a";
	r.trigger = RUN_TRIG_SCHEDULE;
	r.scheduled_at = 5000;
	r.id = id++;
	assert_int_equal(store_submit_run(f->s, &r), 0);
	r.scheduled_at = 6000;
	r.trigger = RUN_TRIG_MISFIRE;
	r.id = id++;
	assert_int_equal(store_submit_run(f->s, &r), 0);
	r.scheduled_at = 9000;
	r.trigger = RUN_TRIG_MANUAL;
	r.id = id++;
	assert_int_equal(store_submit_run(f->s, &r), 0);
	/* c: one scheduled run. */
	r.job = "c";
	r.scheduled_at = 7000;
	r.trigger = RUN_TRIG_SCHEDULE;
	r.id = id++;
	assert_int_equal(store_submit_run(f->s, &r), 0);
	assert_int_equal(store_flush(f->s), 0);

	assert_int_equal(store_job_load_all(f->s, collect_job, &l), 0);
	assert_int_equal(l.n, 3);
	assert_int_equal(l.fire[0], 6000); /* a */
	assert_int_equal(l.fire[1], 0);    /* b */
	assert_int_equal(l.fire[2], 7000); /* c */

	/* A non-zero return stops the walk and is returned. */
	memset(&l, 0, sizeof(l));
	l.stop_at = 1;
	assert_int_equal(store_job_load_all(f->s, collect_job, &l), 42);
	assert_int_equal(l.n, 1);
}

/* A callback may call the store: it gets another pooled connection. */
static int nested_get(void *ctx, const struct store_job *j, int64_t last_fire)
{
	struct store *s = ctx;
	struct store_job g;
	int rc;

	(void)last_fire;
	rc = store_job_get(s, j->name, &g);
	if (rc == 0) {
		rc = strcmp(g.name, j->name) ? -1 : 0;
		store_job_clear(&g);
	}
	return rc;
}

static void job_load_all_callback_may_call_the_store(void **state)
{
	struct fx *f = *state;

	assert_int_equal(store_job_put(f->s, "a", "{}", false, 1, 0, NULL, NULL), 0);
	assert_int_equal(store_job_put(f->s, "b", "{}", false, 1, 0, NULL, NULL), 0);
	assert_int_equal(store_job_load_all(f->s, nested_get, f->s), 0);
}

/* ---- events ---- */

static void submitted_events_are_written_by_the_writer(void **state)
{
	struct fx *f = *state;
	struct store_event_filter flt = {.level = -1};
	struct store_event ev = {.at = 5000, .level = STORE_LEVEL_WARN, .source = "engine",
				 .job = "nightly", .run_id = 9, .message = "misfire: 3 fires"};
	struct store_event *evs;
	size_t n;

	assert_int_equal(store_submit_event(f->s, &ev), 0);
	ev.message = NULL;
	assert_int_equal(store_submit_event(f->s, &ev), CLOVER_EINVAL);
	assert_int_equal(store_flush(f->s), 0);
	assert_int_equal(store_event_list(f->s, &flt, &evs, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(evs[0].message, "misfire: 3 fires");
	assert_string_equal(evs[0].job, "nightly");
	assert_int_equal(evs[0].run_id, 9);
	assert_int_equal(evs[0].level, STORE_LEVEL_WARN);
	assert_null(evs[0].node);
	store_event_clear(&evs[0]);
	free(evs);
}

static void events_list_newest_first_with_filters(void **state)
{
	struct fx *f = *state;
	struct store_event_filter flt = {.level = -1};
	struct store_event ev = {0}, *evs;
	char msg[64];
	size_t n;

	for (int i = 1; i <= 30; i++) {
		snprintf(msg, sizeof(msg), "event %d%s", i, i % 10 == 0 ? " 100%_done" : "");
		ev.at = 1000 * i;
		ev.level = (enum store_level)(i % 3);
		ev.source = i % 2 ? "engine" : "api";
		ev.node = i % 2 ? "node-1" : NULL;
		ev.job = i % 4 == 0 ? "nightly" : NULL;
		ev.run_id = i % 4 == 0 ? i : 0;
		ev.message = msg;
		assert_int_equal(store_event_add(f->s, &ev), 0);
	}
	assert_int_equal(store_event_list(f->s, &flt, &evs, &n), 0);
	assert_int_equal(n, 30);
	assert_int_equal(evs[0].id, 30);
	assert_string_equal(evs[0].message, "event 30 100%_done");
	assert_int_equal(evs[0].at, 30000);
	assert_int_equal(evs[0].level, STORE_LEVEL_INFO);
	assert_string_equal(evs[0].source, "api");
	assert_null(evs[0].node);
	assert_string_equal(evs[1].node, "node-1");
	for (size_t i = 0; i < n; i++)
		store_event_clear(&evs[i]);
	free(evs);

	flt.level = STORE_LEVEL_ERROR;
	flt.source = "engine";
	flt.limit = 3;
	assert_int_equal(store_event_list(f->s, &flt, &evs, &n), 0);
	assert_int_equal(n, 3); /* i odd and i % 3 == 2: 29, 23, 17 */
	assert_int_equal(evs[0].id, 29);
	assert_int_equal(evs[2].id, 17);
	flt.before_id = evs[2].id;
	for (size_t i = 0; i < n; i++)
		store_event_clear(&evs[i]);
	free(evs);
	assert_int_equal(store_event_list(f->s, &flt, &evs, &n), 0);
	assert_int_equal(n, 2); /* 11 and 5 are left */
	assert_int_equal(evs[0].id, 11);
	assert_int_equal(evs[1].id, 5);
	for (size_t i = 0; i < n; i++)
		store_event_clear(&evs[i]);
	free(evs);

	memset(&flt, 0, sizeof(flt));
	flt.level = -1;
	flt.job = "nightly";
	assert_int_equal(store_event_list(f->s, &flt, &evs, &n), 0);
	assert_int_equal(n, 7);
	assert_int_equal(evs[0].run_id, 28);
	for (size_t i = 0; i < n; i++)
		store_event_clear(&evs[i]);
	free(evs);

	flt.job = NULL;
	flt.search = "0%_d"; /* literal, not wildcards */
	assert_int_equal(store_event_list(f->s, &flt, &evs, &n), 0);
	assert_int_equal(n, 3);
	for (size_t i = 0; i < n; i++)
		store_event_clear(&evs[i]);
	free(evs);

	ev.id = 1000; /* an explicit id is kept */
	ev.message = "explicit";
	assert_int_equal(store_event_add(f->s, &ev), 0);
	memset(&flt, 0, sizeof(flt));
	flt.level = -1;
	flt.limit = 1;
	assert_int_equal(store_event_list(f->s, &flt, &evs, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(evs[0].id, 1000);
	store_event_clear(&evs[0]);
	free(evs);
	ev.source = NULL;
	assert_int_equal(store_event_add(f->s, &ev), CLOVER_EINVAL);
}

/* ---- users and tokens ---- */

static void users_put_get_list_delete(void **state)
{
	struct fx *f = *state;
	struct store_user u = {
	    .name = "bob", .pwhash = "$argon2id$1", .role = STORE_ROLE_VIEWER, .created_at = 10};
	struct store_user g, *us;
	size_t n;

	assert_int_equal(store_user_put(f->s, &u), 0);
	u.name = "alice";
	u.role = STORE_ROLE_ADMIN;
	assert_int_equal(store_user_put(f->s, &u), 0);
	/* Replacing keeps the creation time. */
	u.pwhash = "$argon2id$2";
	u.role = STORE_ROLE_OPERATOR;
	u.created_at = 99;
	assert_int_equal(store_user_put(f->s, &u), 0);
	assert_int_equal(store_user_get(f->s, "alice", &g), 0);
	assert_string_equal(g.pwhash, "$argon2id$2");
	assert_int_equal(g.role, STORE_ROLE_OPERATOR);
	assert_int_equal(g.created_at, 10);
	store_user_clear(&g);
	assert_int_equal(store_user_list(f->s, &us, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(us[0].name, "alice");
	assert_string_equal(us[1].name, "bob");
	for (size_t i = 0; i < n; i++)
		store_user_clear(&us[i]);
	free(us);
	assert_int_equal(store_user_delete(f->s, "bob"), 0);
	assert_int_equal(store_user_delete(f->s, "bob"), CLOVER_ENOENT);
	assert_int_equal(store_user_get(f->s, "bob", &g), CLOVER_ENOENT);
	u.role = (enum store_role)7;
	assert_int_equal(store_user_put(f->s, &u), CLOVER_EINVAL);
}

static void tokens_find_touch_list_and_die_with_their_user(void **state)
{
	struct fx *f = *state;
	struct store_user u = {.name = "alice", .pwhash = "h", .role = STORE_ROLE_ADMIN};
	struct store_token t = {
	    .id = "t1", .user = "alice", .name = "ci", .hash = "aa11", .created_at = 5};
	struct store_token g, *ts;
	size_t n;

	/* A token needs its user. */
	assert_int_equal(store_token_put(f->s, &t), CLOVER_ENOENT);
	assert_int_equal(store_user_put(f->s, &u), 0);
	u.name = "bob";
	assert_int_equal(store_user_put(f->s, &u), 0);
	assert_int_equal(store_token_put(f->s, &t), 0);
	t.id = "t2";
	t.hash = "bb22";
	t.name = NULL;
	t.created_at = 6;
	assert_int_equal(store_token_put(f->s, &t), 0);
	t.id = "t3";
	t.user = "bob";
	t.hash = "cc33";
	assert_int_equal(store_token_put(f->s, &t), 0);
	/* Hashes are unique. */
	t.id = "t4";
	assert_int_equal(store_token_put(f->s, &t), CLOVER_EEXIST);

	assert_int_equal(store_token_find(f->s, "aa11", &g), 0);
	assert_string_equal(g.id, "t1");
	assert_string_equal(g.user, "alice");
	assert_string_equal(g.name, "ci");
	assert_int_equal(g.last_used_at, 0);
	store_token_clear(&g);
	assert_int_equal(store_token_touch(f->s, "t1", 777), 0);
	assert_int_equal(store_token_touch(f->s, "zz", 777), CLOVER_ENOENT);
	assert_int_equal(store_token_find(f->s, "aa11", &g), 0);
	assert_int_equal(g.last_used_at, 777);
	store_token_clear(&g);
	assert_int_equal(store_token_find(f->s, "ffff", &g), CLOVER_ENOENT);

	assert_int_equal(store_token_list(f->s, "alice", &ts, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(ts[0].id, "t1");
	assert_null(ts[1].name);
	for (size_t i = 0; i < n; i++)
		store_token_clear(&ts[i]);
	free(ts);
	assert_int_equal(store_token_list(f->s, NULL, &ts, &n), 0);
	assert_int_equal(n, 3);
	for (size_t i = 0; i < n; i++)
		store_token_clear(&ts[i]);
	free(ts);

	assert_int_equal(store_token_delete(f->s, "t3"), 0);
	assert_int_equal(store_token_delete(f->s, "t3"), CLOVER_ENOENT);
	assert_int_equal(store_user_delete(f->s, "alice"), 0);
	assert_int_equal(store_token_find(f->s, "aa11", &g), CLOVER_ENOENT);
	assert_int_equal(store_token_list(f->s, NULL, &ts, &n), 0);
	assert_int_equal(n, 0);
	free(ts);
}

/* ---- meta ---- */

static void meta_set_get_overwrite(void **state)
{
	struct fx *f = *state;
	char *v = NULL;

	assert_int_equal(store_meta_get(f->s, "k", &v), CLOVER_ENOENT);
	assert_int_equal(store_meta_set(f->s, "k", "one"), 0);
	assert_int_equal(store_meta_get(f->s, "k", &v), 0);
	assert_string_equal(v, "one");
	free(v);
	assert_int_equal(store_meta_set(f->s, "k", "two"), 0);
	assert_int_equal(store_meta_get(f->s, "k", &v), 0);
	assert_string_equal(v, "two");
	free(v);
	assert_int_equal(store_meta_set(f->s, "k", NULL), CLOVER_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    fx_test(open_creates_private_file_and_migrates_from_empty),
	    fx_test(reopen_keeps_data),
	    fx_test(newer_schema_is_refused_with_a_clear_error),
	    fx_test(foreign_database_is_refused),
	    fx_test(job_put_creates_then_bumps_revision),
	    fx_test(job_put_with_stale_revision_conflicts),
	    fx_test(job_delete_removes_only_that_job),
	    fx_test(job_list_filters_and_pages_by_name),
	    fx_test(job_load_all_streams_jobs_with_last_fire),
	    fx_test(job_load_all_callback_may_call_the_store),
	    fx_test(events_list_newest_first_with_filters),
	    fx_test(submitted_events_are_written_by_the_writer),
	    fx_test(users_put_get_list_delete),
	    fx_test(tokens_find_touch_list_and_die_with_their_user),
	    fx_test(meta_set_get_overwrite),
	};

	log_set_level(LOG_LVL_OFF);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
