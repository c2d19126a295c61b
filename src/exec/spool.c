/* SPDX-License-Identifier: MIT */
/*
 * The executor's spool on SQLite (see spool.h for what it keeps and why).
 *
 * Three tables: `inflight` (accepted attempts not finished) and `results`
 * (finished attempts waiting for their result-ack), both keyed by
 * (run_id, shard, attempt), and `logs` (output written while the attempt's
 * scheduler was unreachable, in chunks, sent again when it is back). `results.seq` is an AUTOINCREMENT key, so the
 * order of re-delivery is the order of storing, also across restarts. The
 * file runs in WAL mode with synchronous=NORMAL: a committed result survives
 * a crash of the process; the worker groups the writes of one loop turn into
 * one transaction, so the cost of a commit is paid once per batch. SQLite
 * errors are translated into CLOVER_ESTORE here only, and logged.
 */
#include "exec/spool.h"

#include "base/log.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#define SUB "spool"

enum stmt {
	ST_INFLIGHT_PUT,
	ST_INFLIGHT_STARTED,
	ST_INFLIGHT_LIST,
	ST_INFLIGHT_DEL,
	ST_RESULT_PUT,
	ST_RESULT_DEL,
	ST_RESULT_LIST,
	ST_RESULT_COUNT,
	ST_HAS,
	ST_LOG_PUT,
	ST_LOG_LIST,
	ST_LOG_DEL,
	ST_LOG_BYTES,
	ST_BEGIN,
	ST_COMMIT,
	ST_COUNT_,
};

static const char *const sql_text[ST_COUNT_] = {
	[ST_INFLIGHT_PUT] = "INSERT OR REPLACE INTO inflight(run_id, shard, attempt, ticket, "
	                    "started_at, endpoint) VALUES (?1, ?2, ?3, ?4, 0, ?5)",
	[ST_INFLIGHT_STARTED] = "UPDATE inflight SET started_at = ?4 WHERE run_id = ?1 AND "
	                        "shard = ?2 AND attempt = ?3",
	[ST_INFLIGHT_LIST] = "SELECT run_id, shard, attempt, ticket, started_at, endpoint FROM "
	                     "inflight ORDER BY rowid",
	[ST_INFLIGHT_DEL] = "DELETE FROM inflight WHERE run_id = ?1 AND shard = ?2 AND attempt = ?3",
	[ST_RESULT_PUT] = "INSERT OR IGNORE INTO results(run_id, shard, attempt, ticket, state, "
	                  "exit_code, started_at, finished_at, message, endpoint) VALUES "
	                  "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
	[ST_RESULT_DEL] = "DELETE FROM results WHERE run_id = ?1 AND shard = ?2 AND attempt = ?3",
	[ST_RESULT_LIST] = "SELECT run_id, shard, attempt, ticket, state, exit_code, started_at, "
	                   "finished_at, message, endpoint, seq FROM results WHERE seq > ?2 "
	                   "ORDER BY seq LIMIT ?1",
	[ST_RESULT_COUNT] = "SELECT count(*) FROM results",
	[ST_HAS] = "SELECT 1 FROM results WHERE run_id = ?1 AND shard = ?2 AND attempt = ?3 "
	           "UNION ALL SELECT 1 FROM inflight WHERE run_id = ?1 AND shard = ?2 AND "
	           "attempt = ?3 LIMIT 1",
	[ST_LOG_PUT] = "INSERT INTO logs(run_id, shard, attempt, ticket, off, data, endpoint) "
	               "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[ST_LOG_LIST] = "SELECT run_id, shard, attempt, ticket, off, data, endpoint, seq FROM logs "
	                "WHERE seq > ?2 ORDER BY seq LIMIT ?1",
	[ST_LOG_DEL] = "DELETE FROM logs WHERE seq = ?1",
	[ST_LOG_BYTES] = "SELECT coalesce(sum(length(data)), 0) FROM logs",
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
};

static const char schema[] =
	"PRAGMA journal_mode=WAL;"
	"PRAGMA synchronous=NORMAL;"
	"CREATE TABLE IF NOT EXISTS inflight ("
	" run_id INTEGER NOT NULL, shard INTEGER NOT NULL, attempt INTEGER NOT NULL,"
	" ticket INTEGER NOT NULL, started_at INTEGER NOT NULL, endpoint TEXT,"
	" PRIMARY KEY (run_id, shard, attempt));"
	"CREATE TABLE IF NOT EXISTS results ("
	" seq INTEGER PRIMARY KEY AUTOINCREMENT,"
	" run_id INTEGER NOT NULL, shard INTEGER NOT NULL, attempt INTEGER NOT NULL,"
	" ticket INTEGER NOT NULL, state INTEGER NOT NULL, exit_code INTEGER NOT NULL,"
	" started_at INTEGER NOT NULL, finished_at INTEGER NOT NULL, message TEXT,"
	" endpoint TEXT, UNIQUE (run_id, shard, attempt));"
	"CREATE TABLE IF NOT EXISTS logs ("
	" seq INTEGER PRIMARY KEY AUTOINCREMENT,"
	" run_id INTEGER NOT NULL, shard INTEGER NOT NULL, attempt INTEGER NOT NULL,"
	" ticket INTEGER NOT NULL, off INTEGER NOT NULL, data BLOB NOT NULL, endpoint TEXT);";

struct spool {
	sqlite3 *db;
	sqlite3_stmt *st[ST_COUNT_];
	char *path;
};

static int fail(struct spool *sp, const char *what)
{
	log_at(LOG_ERROR, SUB, "spool %s: %s: %s", sp->path ? sp->path : ":memory:", what,
	       sqlite3_errmsg(sp->db));
	return CLOVER_ESTORE;
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

int spool_open(const char *path, struct spool **out, struct error_info *e)
{
	struct spool *sp;
	char *err = NULL;
	int rc = CLOVER_ENOMEM;

	*out = NULL;
	sp = calloc(1, sizeof(*sp));
	if (sp == NULL)
		return error_set(e, rc, "spool", "out of memory");
	if (path != NULL && (sp->path = strdup(path)) == NULL) {
		free(sp);
		return error_set(e, rc, "spool", "out of memory");
	}
	if (sqlite3_open_v2(path ? path : ":memory:", &sp->db,
	                    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
	                    NULL) != SQLITE_OK) {
		rc = error_set(e, CLOVER_ESTORE, "spool", "%s: %s", path ? path : ":memory:",
		               sp->db ? sqlite3_errmsg(sp->db) : "out of memory");
		goto out;
	}
	sqlite3_busy_timeout(sp->db, 5000);
	if (sqlite3_exec(sp->db, schema, NULL, NULL, &err) != SQLITE_OK) {
		rc = error_set(e, CLOVER_ESTORE, "spool", "%s: %s", path ? path : ":memory:",
		               err ? err : sqlite3_errmsg(sp->db));
		sqlite3_free(err);
		goto out;
	}
	for (int i = 0; i < ST_COUNT_; i++)
		if (sqlite3_prepare_v3(sp->db, sql_text[i], -1, SQLITE_PREPARE_PERSISTENT, &sp->st[i],
		                       NULL) != SQLITE_OK) {
			rc = error_set(e, CLOVER_ESTORE, "spool", "%s: %s",
			               path ? path : ":memory:", sqlite3_errmsg(sp->db));
			goto out;
		}
	*out = sp;
	return 0;
out:
	spool_close(sp);
	return rc;
}

void spool_close(struct spool *sp)
{
	if (sp == NULL)
		return;
	for (int i = 0; i < ST_COUNT_; i++)
		sqlite3_finalize(sp->st[i]);
	sqlite3_close(sp->db);
	free(sp->path);
	free(sp);
}

/* Runs a statement that returns no rows; resets it. */
static int step_done(struct spool *sp, enum stmt s, const char *what)
{
	int rc = sqlite3_step(sp->st[s]);

	sqlite3_reset(sp->st[s]);
	sqlite3_clear_bindings(sp->st[s]);
	if (rc != SQLITE_DONE)
		return fail(sp, what);
	return 0;
}

static void bind_ref(sqlite3_stmt *st, int64_t run_id, int shard, int attempt)
{
	sqlite3_bind_int64(st, 1, run_id);
	sqlite3_bind_int(st, 2, shard);
	sqlite3_bind_int(st, 3, attempt);
}

int spool_begin(struct spool *sp)
{
	return step_done(sp, ST_BEGIN, "begin");
}

int spool_commit(struct spool *sp)
{
	return step_done(sp, ST_COMMIT, "commit");
}

int spool_inflight_put(struct spool *sp, int64_t run_id, int shard, int attempt,
                       uint32_t ticket, const char *endpoint)
{
	sqlite3_stmt *st = sp->st[ST_INFLIGHT_PUT];

	bind_ref(st, run_id, shard, attempt);
	sqlite3_bind_int64(st, 4, ticket);
	if (endpoint)
		sqlite3_bind_text(st, 5, endpoint, -1, SQLITE_STATIC);
	return step_done(sp, ST_INFLIGHT_PUT, "in-flight insert");
}

int spool_inflight_started(struct spool *sp, int64_t run_id, int shard, int attempt, int64_t at)
{
	sqlite3_stmt *st = sp->st[ST_INFLIGHT_STARTED];

	bind_ref(st, run_id, shard, attempt);
	sqlite3_bind_int64(st, 4, at);
	return step_done(sp, ST_INFLIGHT_STARTED, "in-flight update");
}

int spool_inflight_del(struct spool *sp, int64_t run_id, int shard, int attempt)
{
	bind_ref(sp->st[ST_INFLIGHT_DEL], run_id, shard, attempt);
	return step_done(sp, ST_INFLIGHT_DEL, "in-flight delete");
}

void spool_inflight_free(struct spool_inflight *v, size_t n)
{
	for (size_t i = 0; v != NULL && i < n; i++)
		free(v[i].endpoint);
	free(v);
}

int spool_inflight_list(struct spool *sp, struct spool_inflight **out, size_t *n)
{
	sqlite3_stmt *st = sp->st[ST_INFLIGHT_LIST];
	struct spool_inflight *v = NULL;
	size_t len = 0, cap = 0;
	int rc = 0, s;

	*out = NULL;
	*n = 0;
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		struct spool_inflight *r;

		if (len == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct spool_inflight *nv = realloc(v, ncap * sizeof(*v));

			if (nv == NULL) {
				rc = CLOVER_ENOMEM;
				break;
			}
			v = nv;
			cap = ncap;
		}
		r = &v[len];
		memset(r, 0, sizeof(*r));
		r->run_id = sqlite3_column_int64(st, 0);
		r->shard = sqlite3_column_int(st, 1);
		r->attempt = sqlite3_column_int(st, 2);
		r->ticket = (uint32_t)sqlite3_column_int64(st, 3);
		r->started_at = sqlite3_column_int64(st, 4);
		len++;
		if (sqlite3_column_type(st, 5) != SQLITE_NULL &&
		    (r->endpoint = strdup((const char *)sqlite3_column_text(st, 5))) == NULL) {
			rc = CLOVER_ENOMEM;
			break;
		}
	}
	if (rc == 0 && s != SQLITE_DONE)
		rc = fail(sp, "in-flight list");
	sqlite3_reset(st);
	if (rc != 0) {
		spool_inflight_free(v, len);
		return rc;
	}
	*out = v;
	*n = len;
	return 0;
}

int spool_result_put(struct spool *sp, const struct proto_result_item *r, const char *endpoint,
                     bool *added)
{
	sqlite3_stmt *st = sp->st[ST_RESULT_PUT];
	int rc;

	bind_ref(st, r->run_id, r->shard, r->attempt);
	sqlite3_bind_int64(st, 4, r->ticket);
	sqlite3_bind_int(st, 5, (int)r->state);
	sqlite3_bind_int(st, 6, r->exit_code);
	sqlite3_bind_int64(st, 7, r->started_at);
	sqlite3_bind_int64(st, 8, r->finished_at);
	if (r->message)
		sqlite3_bind_text(st, 9, r->message, -1, SQLITE_STATIC);
	if (endpoint)
		sqlite3_bind_text(st, 10, endpoint, -1, SQLITE_STATIC);
	rc = step_done(sp, ST_RESULT_PUT, "result insert");
	if (rc != 0)
		return rc;
	if (added)
		*added = sqlite3_changes(sp->db) > 0;
	bind_ref(sp->st[ST_INFLIGHT_DEL], r->run_id, r->shard, r->attempt);
	return step_done(sp, ST_INFLIGHT_DEL, "in-flight delete");
}

bool spool_has(struct spool *sp, int64_t run_id, int shard, int attempt)
{
	sqlite3_stmt *st = sp->st[ST_HAS];
	bool has;

	bind_ref(st, run_id, shard, attempt);
	has = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_reset(st);
	return has;
}

int spool_result_ack(struct spool *sp, int64_t run_id, int shard, int attempt)
{
	bind_ref(sp->st[ST_RESULT_DEL], run_id, shard, attempt);
	return step_done(sp, ST_RESULT_DEL, "result delete");
}

void spool_results_free(struct spool_result *v, size_t n)
{
	for (size_t i = 0; v != NULL && i < n; i++) {
		free((char *)v[i].item.message);
		free(v[i].endpoint);
	}
	free(v);
}

int spool_results(struct spool *sp, int64_t after_seq, size_t max, struct spool_result **out,
                  size_t *n)
{
	sqlite3_stmt *st = sp->st[ST_RESULT_LIST];
	struct spool_result *v = NULL;
	size_t len = 0, cap = 0;
	int rc = 0, s;

	*out = NULL;
	*n = 0;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)max);
	sqlite3_bind_int64(st, 2, after_seq);
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		struct spool_result *r;

		if (len == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct spool_result *nv = realloc(v, ncap * sizeof(*v));

			if (nv == NULL) {
				rc = CLOVER_ENOMEM;
				break;
			}
			v = nv;
			cap = ncap;
		}
		r = &v[len];
		memset(r, 0, sizeof(*r));
		r->item.run_id = sqlite3_column_int64(st, 0);
		r->item.shard = sqlite3_column_int(st, 1);
		r->item.attempt = sqlite3_column_int(st, 2);
		r->item.ticket = (uint32_t)sqlite3_column_int64(st, 3);
		r->item.state = (enum run_state)sqlite3_column_int(st, 4);
		r->item.exit_code = sqlite3_column_int(st, 5);
		r->item.started_at = sqlite3_column_int64(st, 6);
		r->item.finished_at = sqlite3_column_int64(st, 7);
		r->seq = sqlite3_column_int64(st, 10);
		len++;
		if (sqlite3_column_type(st, 8) != SQLITE_NULL &&
		    (r->item.message = dup_or_null((const char *)sqlite3_column_text(st, 8))) ==
		            NULL) {
			rc = CLOVER_ENOMEM;
			break;
		}
		if (sqlite3_column_type(st, 9) != SQLITE_NULL &&
		    (r->endpoint = strdup((const char *)sqlite3_column_text(st, 9))) == NULL) {
			rc = CLOVER_ENOMEM;
			break;
		}
	}
	if (rc == 0 && s != SQLITE_DONE)
		rc = fail(sp, "result list");
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != 0) {
		spool_results_free(v, len);
		return rc;
	}
	*out = v;
	*n = len;
	return 0;
}

int64_t spool_result_count(struct spool *sp)
{
	sqlite3_stmt *st = sp->st[ST_RESULT_COUNT];
	int64_t n = CLOVER_ESTORE;

	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	else
		fail(sp, "result count");
	sqlite3_reset(st);
	return n;
}

int spool_log_put(struct spool *sp, const struct proto_log *l, const char *endpoint)
{
	sqlite3_stmt *st = sp->st[ST_LOG_PUT];

	bind_ref(st, l->run_id, l->shard, l->attempt);
	sqlite3_bind_int64(st, 4, l->ticket);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)l->offset);
	sqlite3_bind_blob64(st, 6, l->data, l->len, SQLITE_STATIC);
	if (endpoint)
		sqlite3_bind_text(st, 7, endpoint, -1, SQLITE_STATIC);
	return step_done(sp, ST_LOG_PUT, "log insert");
}

void spool_logs_free(struct spool_log *v, size_t n)
{
	for (size_t i = 0; v != NULL && i < n; i++) {
		free((char *)v[i].log.data);
		free(v[i].endpoint);
	}
	free(v);
}

int spool_logs(struct spool *sp, int64_t after_seq, size_t max, struct spool_log **out, size_t *n)
{
	sqlite3_stmt *st = sp->st[ST_LOG_LIST];
	struct spool_log *v = NULL;
	size_t len = 0;
	int rc = 0, s;

	*out = NULL;
	*n = 0;
	if (max > 0 && (v = calloc(max, sizeof(*v))) == NULL)
		return CLOVER_ENOMEM;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)max);
	sqlite3_bind_int64(st, 2, after_seq);
	while (len < max && (s = sqlite3_step(st)) == SQLITE_ROW) {
		struct spool_log *r = &v[len++];
		size_t dl = (size_t)sqlite3_column_bytes(st, 5);
		char *data = malloc(dl + 1);

		r->log.run_id = sqlite3_column_int64(st, 0);
		r->log.shard = sqlite3_column_int(st, 1);
		r->log.attempt = sqlite3_column_int(st, 2);
		r->log.ticket = (uint32_t)sqlite3_column_int64(st, 3);
		r->log.offset = (uint64_t)sqlite3_column_int64(st, 4);
		r->seq = sqlite3_column_int64(st, 7);
		if (data == NULL) {
			rc = CLOVER_ENOMEM;
			break;
		}
		memcpy(data, sqlite3_column_blob(st, 5), dl);
		data[dl] = '\0';
		r->log.data = data;
		r->log.len = dl;
		if (sqlite3_column_type(st, 6) != SQLITE_NULL &&
		    (r->endpoint = strdup((const char *)sqlite3_column_text(st, 6))) == NULL) {
			rc = CLOVER_ENOMEM;
			break;
		}
	}
	if (rc == 0 && len < max && s != SQLITE_DONE)
		rc = fail(sp, "log list");
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != 0) {
		spool_logs_free(v, len);
		return rc;
	}
	*out = v;
	*n = len;
	return 0;
}

int spool_log_del(struct spool *sp, int64_t seq)
{
	sqlite3_bind_int64(sp->st[ST_LOG_DEL], 1, seq);
	return step_done(sp, ST_LOG_DEL, "log delete");
}

int64_t spool_log_bytes(struct spool *sp)
{
	sqlite3_stmt *st = sp->st[ST_LOG_BYTES];
	int64_t n = CLOVER_ESTORE;

	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	else
		fail(sp, "log bytes");
	sqlite3_reset(st);
	return n;
}
