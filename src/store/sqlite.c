/* SPDX-License-Identifier: MIT */
/*
 * The SQLite backend of the store (standalone mode); docs/storage.md describes
 * the schema and the choices made here.
 *
 * Connections. The database runs in WAL mode, so readers never block the
 * writer nor it them. There are three kinds of connection to the same file:
 *   - the *writer* connection, used only by the store's writer thread
 *     (write_batch: run snapshots and logs, one transaction per batch);
 *   - a small *pool* (at most POOL_MAX, opened on demand) for the synchronous
 *     calls of other threads: reads, and the rare writes (jobs, users, tokens,
 *     events, meta, prune). A caller borrows one connection for the duration
 *     of a call, so a callback of store_job_load_all() may itself call the
 *     store (it gets another connection);
 *   - the *checkpointer* connection of a background thread that runs a passive
 *     WAL checkpoint every `sync_ms`, which fsyncs the WAL: with
 *     synchronous=NORMAL a commit is only a write(2), so this bounds what a
 *     power loss can take to about `sync_ms`.
 * Every write transaction is BEGIN IMMEDIATE, so two writers queue on
 * busy_timeout instead of failing to upgrade a read lock.
 *
 * Statements: each connection prepares a statement of the fixed set below the
 * first time it needs it and keeps it (SQLITE_PREPARE_PERSISTENT) until it is
 * closed. Statements whose WHERE depends on a filter are prepared per call.
 * Every statement is reset as soon as it is used, so no read transaction stays
 * open by accident and pins the WAL.
 *
 * Errors: db_err() is the one place where a SQLite result code becomes a
 * CLOVER_E* code; it logs SQLite's own message.
 */
#include "store/backend.h"

#include "base/buf.h"
#include "base/fs.h"
#include "base/hash.h"
#include "base/log.h"
#include "base/time.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define POOL_MAX 4
/* Persisted in runs.jb: changing it needs a migration that recomputes the column. */
#define JOB_BUCKETS     16
#define FIRES_CHUNK     2048
#define FIRES_FLOOR_KEY "fires_floor"
#define POOL_BUSY_MS    5000
#define WRITER_BUSY_MS  30000
#define SQL_MAX         2048
#define LIKE_MAX        1024

/* Values stored in runs.trigger that take part in the (job, scheduled_at) rule. */
#define FIRE_TRIGGERS "(0, 3)" /* RUN_TRIG_SCHEDULE, RUN_TRIG_MISFIRE */
_Static_assert(RUN_TRIG_SCHEDULE == 0 && RUN_TRIG_MISFIRE == 3, "stored trigger values");
_Static_assert(RUN_PENDING == 0 && RUN_RUNNING == 1 && RUN_SUCCEEDED == 2, "stored state values");

/* ---- schema ---- */

/*
 * Migrations, applied in order; migrations[i] brings the schema to version
 * i + 1. Never edit one that has shipped: append a new one.
 */
/* clang-format off */
static const char *const migrations[] = {
	/* 1: the initial schema */
	"CREATE TABLE meta("
	"  key TEXT PRIMARY KEY,"
	"  value TEXT NOT NULL"
	") WITHOUT ROWID;"

	"CREATE TABLE jobs("
	"  name TEXT PRIMARY KEY,"
	"  spec TEXT NOT NULL,"
	"  revision INTEGER NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL,"
	"  paused INTEGER NOT NULL DEFAULT 0"
	") WITHOUT ROWID;"

	"CREATE TABLE runs("
	"  id INTEGER PRIMARY KEY,"
	"  job TEXT NOT NULL,"
	"  scheduled_at INTEGER NOT NULL,"
	"  trigger INTEGER NOT NULL,"
	"  state INTEGER NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  started_at INTEGER NOT NULL DEFAULT 0,"
	"  finished_at INTEGER NOT NULL DEFAULT 0,"
	"  params TEXT,"
	"  reason TEXT,"
	"  jb INTEGER NOT NULL" /* job bucket: hash_name(job) % JOB_BUCKETS */
	");"
	/*
	 * The guarantee: one run per (job, scheduled instant) among fired runs.
	 * Keyed by time first so new fires append at the end of the index
	 * (job first would put every insert on a random page).
	 */
	"CREATE UNIQUE INDEX runs_fire ON runs(scheduled_at, job) WHERE trigger IN " FIRE_TRIGGERS ";"
	/* Runs of a job: each bucket grows at its end; a listing scans one bucket. */
	"CREATE INDEX runs_job ON runs(jb, id, job);"
	/* Succeeded runs are the bulk and are listed by id; the index keeps the rest. */
	"CREATE INDEX runs_state ON runs(state, id) WHERE state <> 2;"
	/* Last scheduled instant fired per job, kept by the writer (see `struct fires`). */
	"CREATE TABLE job_fires("
	"  job TEXT PRIMARY KEY,"
	"  last_fire INTEGER NOT NULL"
	") WITHOUT ROWID;"

	"CREATE TABLE shards("
	"  run_id INTEGER NOT NULL,"
	"  idx INTEGER NOT NULL,"
	"  attempt INTEGER NOT NULL,"
	"  state INTEGER NOT NULL,"
	"  executor TEXT,"
	"  exit_code INTEGER NOT NULL,"
	"  started_at INTEGER NOT NULL,"
	"  finished_at INTEGER NOT NULL,"
	"  progress REAL NOT NULL,"
	"  message TEXT,"
	"  PRIMARY KEY(run_id, idx)"
	") WITHOUT ROWID;"

	"CREATE TABLE run_logs("
	"  run_id INTEGER NOT NULL,"
	"  shard INTEGER NOT NULL,"
	"  attempt INTEGER NOT NULL,"
	"  seq INTEGER NOT NULL,"
	"  data BLOB NOT NULL"
	");"
	"CREATE UNIQUE INDEX run_logs_key ON run_logs(run_id, shard, attempt, seq);"
	/* One row per shard attempt with output: bytes kept, bytes dropped, last seq. */
	"CREATE TABLE run_log_tails("
	"  run_id INTEGER NOT NULL,"
	"  shard INTEGER NOT NULL,"
	"  attempt INTEGER NOT NULL,"
	"  bytes INTEGER NOT NULL,"
	"  dropped INTEGER NOT NULL,"
	"  last_seq INTEGER NOT NULL,"
	"  PRIMARY KEY(run_id, shard, attempt)"
	") WITHOUT ROWID;"

	"CREATE TABLE events("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  at INTEGER NOT NULL,"
	"  level INTEGER NOT NULL,"
	"  source TEXT NOT NULL,"
	"  node TEXT,"
	"  job TEXT,"
	"  run_id INTEGER NOT NULL DEFAULT 0,"
	"  message TEXT NOT NULL"
	");"
	"CREATE INDEX events_at ON events(at);"
	"CREATE INDEX events_job ON events(job, id) WHERE job IS NOT NULL;"
	"CREATE INDEX events_source ON events(source, id);"

	"CREATE TABLE contacts("
	"  name TEXT PRIMARY KEY,"
	"  email TEXT,"
	"  webhook TEXT,"
	"  oncall INTEGER NOT NULL DEFAULT 0,"
	"  created_at INTEGER NOT NULL"
	");"
	"CREATE TABLE job_contacts("
	"  job TEXT NOT NULL REFERENCES jobs(name) ON DELETE CASCADE,"
	"  contact TEXT NOT NULL REFERENCES contacts(name) ON DELETE CASCADE,"
	"  PRIMARY KEY(job, contact)"
	") WITHOUT ROWID;"
	"CREATE INDEX job_contacts_contact ON job_contacts(contact);"

	"CREATE TABLE users("
	"  name TEXT PRIMARY KEY,"
	"  pwhash TEXT NOT NULL,"
	"  role INTEGER NOT NULL,"
	"  created_at INTEGER NOT NULL"
	");"
	"CREATE TABLE tokens("
	"  id TEXT PRIMARY KEY,"
	"  user TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,"
	"  name TEXT,"
	"  hash TEXT NOT NULL UNIQUE,"
	"  created_at INTEGER NOT NULL,"
	"  last_used_at INTEGER NOT NULL DEFAULT 0"
	");"
	"CREATE INDEX tokens_user ON tokens(user);",

	/* 2: console login sessions (only the hash of the cookie's secret is kept) */
	"CREATE TABLE sessions("
	"  hash TEXT PRIMARY KEY,"
	"  user TEXT NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  expires_at INTEGER NOT NULL"
	") WITHOUT ROWID;"
	"CREATE INDEX sessions_expires ON sessions(expires_at);",

	/*
	 * The run rollup (docs/storage.md "Run rollup"): runs counted once, when
	 * they reach a final state, per minute of their finish; lateness per
	 * bucket of store_lateness_bounds_ms. Runs already finished are counted
	 * here (their lateness is not).
	 */
	"CREATE TABLE run_minutes("
	"  minute INTEGER NOT NULL,"
	"  state INTEGER NOT NULL,"
	"  trigger INTEGER NOT NULL,"
	"  n INTEGER NOT NULL,"
	"  PRIMARY KEY(minute, state, trigger)"
	") WITHOUT ROWID;"
	"CREATE TABLE run_lateness("
	"  minute INTEGER NOT NULL,"
	"  bucket INTEGER NOT NULL,"
	"  n INTEGER NOT NULL,"
	"  PRIMARY KEY(minute, bucket)"
	") WITHOUT ROWID;"
	"INSERT INTO run_minutes(minute, state, trigger, n)"
	"  SELECT (CASE WHEN finished_at > 0 THEN finished_at ELSE created_at END) / 60000,"
	"  state, trigger, count(*) FROM runs WHERE state >= 2 GROUP BY 1, 2, 3;",

	/*
	 * 4: each job's last outcome, kept by the writer (see `struct last_runs`):
	 * its newest run (by id) that reached a final state. Filled from the runs
	 * already finished (max(id) picks the row of the other columns).
	 */
	"CREATE TABLE job_last_runs("
	"  job TEXT PRIMARY KEY,"
	"  run_id INTEGER NOT NULL,"
	"  state INTEGER NOT NULL,"
	"  finished_at INTEGER NOT NULL"
	") WITHOUT ROWID;"
	"INSERT INTO job_last_runs(job, run_id, state, finished_at)"
	"  SELECT job, max(id), state, finished_at FROM runs"
	"  WHERE state >= 2 AND job IN (SELECT name FROM jobs) GROUP BY job;",
};
/* clang-format on */
#define SCHEMA_VERSION ((int)(sizeof(migrations) / sizeof(migrations[0])))

/* ---- statements ---- */

#define RUN_COLS                                                                                   \
	"id, job, scheduled_at, trigger, state, created_at, started_at, finished_at, params, "     \
	"reason"
#define SHARD_COLS                                                                                 \
	"idx, attempt, state, executor, exit_code, started_at, finished_at, progress, message"
#define JOB_COLS   "name, spec, revision, created_at, updated_at, paused"
#define EVENT_COLS "id, at, level, source, node, job, run_id, message"
#define TOKEN_COLS "id, user, name, hash, created_at, last_used_at"
#define LOG_KEY    "run_id = ?1 AND shard = ?2 AND attempt = ?3"
/* A job with its last outcome (read_job), for a WHERE on j and l to follow. */
#define JOB_SEL                                                                                    \
	"j.name, j.spec, j.revision, j.created_at, j.updated_at, j.paused, l.run_id, l.state,"     \
	" l.finished_at FROM jobs j LEFT JOIN job_last_runs l ON l.job = j.name"

enum st_id {
	ST_BEGIN,
	ST_BEGIN_READ,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_JOB_REV,
	ST_JOB_INSERT,
	ST_JOB_UPDATE,
	ST_JOB_GET,
	ST_JOB_DELETE,
	ST_JOB_COUNT,
	ST_JOB_LOAD_ALL,
	ST_RUN_UPSERT,
	ST_RUN_FINISH,
	ST_ROLL_MINUTE,
	ST_ROLL_LATENESS,
	ST_PRUNE_MINUTES,
	ST_PRUNE_LATENESS,
	ST_FIRE_UPSERT,
	ST_FIRES_FOLD,
	ST_FIRES_SINCE,
	ST_FIRE_DELETE,
	ST_FIRES_ORPHANS,
	ST_LAST_RUN_UPSERT,
	ST_LAST_RUN_DELETE,
	ST_LAST_RUNS_ORPHANS,
	ST_META_DELETE,
	ST_SHARD_UPSERT,
	ST_RUN_GET,
	ST_SHARDS_GET,
	ST_RUN_MAX_ID,
	ST_RUN_UNFINISHED,
	ST_LOG_TAIL_ADD,
	ST_LOG_INSERT,
	ST_LOG_OLDEST,
	ST_LOG_DELETE_UPTO,
	ST_LOG_CUT,
	ST_LOG_TAIL_TRIM,
	ST_LOG_SEGMENTS,
	ST_LOG_SEGMENTS_SHARD,
	ST_LOG_CHUNKS,
	ST_LOG_CHUNK_DATA,
	ST_EVENT_ADD,
	ST_USER_PUT,
	ST_USER_GET,
	ST_USER_DELETE,
	ST_USER_TOKENS_DELETE,
	ST_USER_LIST,
	ST_TOKEN_PUT,
	ST_TOKEN_FIND,
	ST_TOKEN_LIST_ALL,
	ST_TOKEN_LIST_USER,
	ST_TOKEN_DELETE,
	ST_TOKEN_TOUCH,
	ST_SESSION_PUT,
	ST_SESSION_FIND,
	ST_SESSION_DELETE,
	ST_SESSION_EXPIRE,
	ST_META_GET,
	ST_META_SET,
	ST_PRUNE_SCAN,
	ST_PRUNE_RUN,
	ST_PRUNE_SHARDS,
	ST_PRUNE_LOGS,
	ST_PRUNE_LOG_TAILS,
	ST_PRUNE_EVENTS,
	ST_COUNT
};

static const char *const st_sql[ST_COUNT] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_BEGIN_READ] = "BEGIN",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_JOB_REV] = "SELECT revision FROM jobs WHERE name = ?1",
    [ST_JOB_INSERT] = "INSERT INTO jobs(" JOB_COLS ") VALUES(?1, ?2, 1, ?3, ?3, ?4)",
    [ST_JOB_UPDATE] = "UPDATE jobs SET spec = ?2, revision = revision + 1, updated_at = ?3,"
                      " paused = ?4 WHERE name = ?1 RETURNING revision",
    [ST_JOB_GET] = "SELECT " JOB_SEL " WHERE j.name = ?1",
    [ST_JOB_DELETE] = "DELETE FROM jobs WHERE name = ?1",
    [ST_JOB_COUNT] = "SELECT count(*), coalesce(sum(paused), 0) FROM jobs",
    [ST_JOB_LOAD_ALL] = "SELECT j.name, j.spec, j.revision, j.created_at, j.updated_at, j.paused,"
                        " coalesce(f.last_fire, 0) FROM jobs j"
                        " LEFT JOIN job_fires f ON f.job = j.name ORDER BY j.name",
    /* job, scheduled_at, trigger, created_at (and jb) are fixed by the first write. */
    [ST_RUN_UPSERT] = "INSERT INTO runs(" RUN_COLS ", jb)"
                      " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
                      " ON CONFLICT(id) DO UPDATE SET state = excluded.state,"
                      " started_at = excluded.started_at, finished_at = excluded.finished_at,"
                      " params = excluded.params, reason = excluded.reason",
    /*
     * A final snapshot: as ST_RUN_UPSERT, but a run already final is left as
     * it is, so a changed row means the run's first final state (the rollup
     * counts it).
     */
    [ST_RUN_FINISH] = "INSERT INTO runs(" RUN_COLS ", jb)"
                      " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
                      " ON CONFLICT(id) DO UPDATE SET state = excluded.state,"
                      " started_at = excluded.started_at, finished_at = excluded.finished_at,"
                      " params = excluded.params, reason = excluded.reason"
                      " WHERE runs.state < 2",
    [ST_ROLL_MINUTE] = "INSERT INTO run_minutes(minute, state, trigger, n) VALUES(?1, ?2, ?3, ?4)"
                       " ON CONFLICT DO UPDATE SET n = n + excluded.n",
    [ST_ROLL_LATENESS] = "INSERT INTO run_lateness(minute, bucket, n) VALUES(?1, ?2, ?3)"
                         " ON CONFLICT DO UPDATE SET n = n + excluded.n",
    [ST_PRUNE_MINUTES] = "DELETE FROM run_minutes WHERE minute < ?1",
    [ST_PRUNE_LATENESS] = "DELETE FROM run_lateness WHERE minute < ?1",
    [ST_FIRE_UPSERT] = "INSERT INTO job_fires(job, last_fire) VALUES(?1, ?2) ON CONFLICT(job)"
                       " DO UPDATE SET last_fire = max(last_fire, excluded.last_fire)",
    [ST_FIRES_FOLD] =
        "INSERT INTO job_fires(job, last_fire) SELECT job, max(scheduled_at) FROM runs"
        " WHERE id >= ?1 AND trigger IN " FIRE_TRIGGERS " GROUP BY job"
        " ON CONFLICT(job) DO UPDATE SET last_fire = max(last_fire, excluded.last_fire)",
    [ST_FIRES_SINCE] = "SELECT job, max(scheduled_at) FROM runs WHERE id >= ?1"
                       " AND trigger IN " FIRE_TRIGGERS " GROUP BY job",
    [ST_FIRE_DELETE] = "DELETE FROM job_fires WHERE job = ?1",
    [ST_FIRES_ORPHANS] = "DELETE FROM job_fires WHERE job NOT IN (SELECT name FROM jobs)",
    /* Newest wins: a row is replaced only by a run with a larger id. */
    [ST_LAST_RUN_UPSERT] = "INSERT INTO job_last_runs(job, run_id, state, finished_at)"
                           " VALUES(?1, ?2, ?3, ?4) ON CONFLICT(job) DO UPDATE SET"
                           " run_id = excluded.run_id, state = excluded.state,"
                           " finished_at = excluded.finished_at"
                           " WHERE excluded.run_id > job_last_runs.run_id",
    [ST_LAST_RUN_DELETE] = "DELETE FROM job_last_runs WHERE job = ?1",
    [ST_LAST_RUNS_ORPHANS] = "DELETE FROM job_last_runs WHERE job NOT IN (SELECT name FROM jobs)",
    [ST_META_DELETE] = "DELETE FROM meta WHERE key = ?1",
    [ST_SHARD_UPSERT] = "INSERT INTO shards(run_id, " SHARD_COLS ")"
                        " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
                        " ON CONFLICT(run_id, idx) DO UPDATE SET attempt = excluded.attempt,"
                        " state = excluded.state, executor = excluded.executor,"
                        " exit_code = excluded.exit_code, started_at = excluded.started_at,"
                        " finished_at = excluded.finished_at, progress = excluded.progress,"
                        " message = excluded.message",
    [ST_RUN_GET] = "SELECT " RUN_COLS " FROM runs WHERE id = ?1",
    [ST_SHARDS_GET] = "SELECT " SHARD_COLS " FROM shards WHERE run_id = ?1 ORDER BY idx",
    [ST_RUN_MAX_ID] = "SELECT coalesce(max(id), 0) FROM runs",
    /* "state <> 2" repeats the partial index's WHERE so the planner may use it. */
    [ST_RUN_UNFINISHED] = "SELECT " RUN_COLS " FROM runs WHERE state IN (0, 1) AND state <> 2"
                          " ORDER BY id",
    [ST_LOG_TAIL_ADD] =
        "INSERT INTO run_log_tails(run_id, shard, attempt, bytes, dropped, last_seq)"
        " VALUES(?1, ?2, ?3, ?4, ?5, 1) ON CONFLICT DO UPDATE SET"
        " bytes = bytes + excluded.bytes, dropped = dropped + excluded.dropped,"
        " last_seq = last_seq + 1 RETURNING bytes, last_seq",
    [ST_LOG_INSERT] =
        "INSERT INTO run_logs(run_id, shard, attempt, seq, data) VALUES(?1, ?2, ?3, ?4, ?5)",
    [ST_LOG_OLDEST] = "SELECT seq, length(data) FROM run_logs WHERE " LOG_KEY " ORDER BY seq",
    [ST_LOG_DELETE_UPTO] = "DELETE FROM run_logs WHERE " LOG_KEY " AND seq <= ?4",
    [ST_LOG_CUT] = "UPDATE run_logs SET data = substr(data, ?5) WHERE " LOG_KEY " AND seq = ?4",
    [ST_LOG_TAIL_TRIM] = "UPDATE run_log_tails SET bytes = bytes - ?4, dropped = dropped + ?4"
                         " WHERE " LOG_KEY,
    [ST_LOG_SEGMENTS] = "SELECT shard, attempt, bytes, dropped FROM run_log_tails WHERE run_id = ?1"
                        " ORDER BY shard, attempt",
    [ST_LOG_SEGMENTS_SHARD] = "SELECT shard, attempt, bytes, dropped FROM run_log_tails"
                              " WHERE run_id = ?1 AND shard = ?2 ORDER BY attempt",
    [ST_LOG_CHUNKS] = "SELECT seq, length(data) FROM run_logs WHERE " LOG_KEY " ORDER BY seq",
    [ST_LOG_CHUNK_DATA] = "SELECT data FROM run_logs WHERE " LOG_KEY " AND seq = ?4",
    [ST_EVENT_ADD] = "INSERT INTO events(" EVENT_COLS ") VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [ST_USER_PUT] =
        "INSERT INTO users(name, pwhash, role, created_at) VALUES(?1, ?2, ?3, ?4)"
        " ON CONFLICT(name) DO UPDATE SET pwhash = excluded.pwhash, role = excluded.role",
    [ST_USER_GET] = "SELECT name, pwhash, role, created_at FROM users WHERE name = ?1",
    [ST_USER_DELETE] = "DELETE FROM users WHERE name = ?1",
    [ST_USER_TOKENS_DELETE] = "DELETE FROM tokens WHERE user = ?1",
    [ST_USER_LIST] = "SELECT name, pwhash, role, created_at FROM users ORDER BY name",
    [ST_TOKEN_PUT] = "INSERT INTO tokens(" TOKEN_COLS ") VALUES(?1, ?2, ?3, ?4, ?5, ?6)"
                     " ON CONFLICT(id) DO UPDATE SET user = excluded.user, name = excluded.name,"
                     " hash = excluded.hash, created_at = excluded.created_at,"
                     " last_used_at = excluded.last_used_at",
    [ST_TOKEN_FIND] = "SELECT " TOKEN_COLS " FROM tokens WHERE hash = ?1",
    [ST_TOKEN_LIST_ALL] = "SELECT " TOKEN_COLS " FROM tokens ORDER BY created_at, id",
    [ST_TOKEN_LIST_USER] =
        "SELECT " TOKEN_COLS " FROM tokens WHERE user = ?1 ORDER BY created_at, id",
    [ST_TOKEN_DELETE] = "DELETE FROM tokens WHERE id = ?1",
    [ST_TOKEN_TOUCH] = "UPDATE tokens SET last_used_at = ?2 WHERE id = ?1",
    [ST_SESSION_PUT] = "INSERT INTO sessions(hash, user, created_at, expires_at)"
                       " VALUES(?1, ?2, ?3, ?4)",
    [ST_SESSION_FIND] = "SELECT hash, user, created_at, expires_at FROM sessions WHERE hash = ?1",
    [ST_SESSION_DELETE] = "DELETE FROM sessions WHERE hash = ?1",
    [ST_SESSION_EXPIRE] = "DELETE FROM sessions WHERE expires_at <= ?1",
    [ST_META_GET] = "SELECT value FROM meta WHERE key = ?1",
    [ST_META_SET] = "INSERT INTO meta(key, value) VALUES(?1, ?2)"
                    " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    [ST_PRUNE_SCAN] = "SELECT id, state, created_at, finished_at FROM runs WHERE id > ?1"
                      " ORDER BY id LIMIT ?2",
    [ST_PRUNE_RUN] = "DELETE FROM runs WHERE id = ?1",
    [ST_PRUNE_SHARDS] = "DELETE FROM shards WHERE run_id = ?1",
    [ST_PRUNE_LOGS] = "DELETE FROM run_logs WHERE run_id = ?1",
    [ST_PRUNE_LOG_TAILS] = "DELETE FROM run_log_tails WHERE run_id = ?1",
    [ST_PRUNE_EVENTS] = "DELETE FROM events WHERE id IN"
                        " (SELECT id FROM events WHERE at < ?1 ORDER BY at LIMIT ?2)",
};

/* ---- connections ---- */

struct conn {
	sqlite3 *db;
	sqlite3_stmt *st[ST_COUNT];
	struct conn *next; /* in the pool's idle list */
};

/*
 * Last fires. store_job_load_all() needs, per job, the largest scheduled_at of
 * its fired runs. Updating job_fires in every transaction would rewrite about
 * one random page per job per batch (an index on runs by job would do so per
 * run); so the writer folds what it wrote into memory and writes job_fires
 * behind, cheaply:
 *   - `live` maps job -> largest fire written since the last swap;
 *     `live_floor` is the smallest id of those runs;
 *   - every `fold_ms` (default 5 s), `live` becomes `flushing`, sorted by name, and each
 *     following transaction upserts the next FIRES_CHUNK entries (in name
 *     order, so a chunk touches a few adjacent pages);
 *   - meta "fires_floor" holds, written in the same transactions as the runs,
 *     a run id at or below that of every fired run not yet in job_fires.
 * Hence job_fires plus max(scheduled_at) over fired runs with id >= the floor
 * is exact at every commit, whether or not the process dies next. Opening
 * folds a left-over floor in; a clean close folds everything and removes it.
 */
struct fire {
	int64_t last;
	char name[];
};

struct fires {
	struct hmap live; /* name -> struct fire * */
	int64_t live_floor;
	struct fire **flushing; /* sorted by name, or NULL */
	size_t nflushing, pos;
	int64_t flushing_floor;
	int64_t pinned_floor; /* a fire that could not be remembered (out of memory) */
	int64_t meta_floor;   /* the value in meta; INT64_MAX: no row */
	int64_t swapped_ns;
	int64_t fold_ns;
	const struct run_rec **txn; /* fired runs written by the open transaction */
	size_t ntxn, captxn;
};

/*
 * The run rollup of one write transaction: runs that reached a final state,
 * per (finish minute, state, trigger), and their lateness per (minute,
 * bucket). Upserted into run_minutes / run_lateness just before COMMIT, so
 * the counts commit with the runs or not at all; a batch usually touches one
 * or two minutes, so a few small arrays suffice (when one fills up, it is
 * written early, still inside the transaction).
 */
#define ROLL_MAX 64
struct roll_minute {
	int64_t minute;
	int state, trigger;
	int64_t n;
};
struct roll_late {
	int64_t minute;
	int bucket;
	int64_t n;
};
struct rollup {
	struct roll_minute m[ROLL_MAX];
	size_t nm;
	struct roll_late l[ROLL_MAX];
	size_t nl;
};

/*
 * Last runs. The jobs listing shows, and filters by, each job's last outcome:
 * its newest run (largest id) that reached a final state. Finding it per job
 * when asked would scan a bucket of runs_job, so the writer keeps table
 * job_last_runs, behind the writes and as cheaply as the last fires, but
 * without their floor:
 *   - the rollup's upsert already tells when a run reaches its first final
 *     state; after the commit such runs go into `live` (job -> newest one);
 *   - every `fold_ms`, `live` becomes `flushing`, sorted by name, and the next
 *     transactions (batches, or idle ones when the queue is empty) upsert it
 *     FIRES_CHUNK entries at a time; the upsert keeps the larger run id, so
 *     order and repeats do not matter;
 *   - a clean close writes everything.
 * The table is thus up to about fold_ms (plus the chunks) behind the runs. A
 * crash loses what was not written; the job's next final run puts it right.
 */
struct last_run {
	int64_t id;
	int64_t finished_at;
	int state;
	char name[];
};

struct last_runs {
	struct hmap live;           /* name -> struct last_run * */
	struct last_run **flushing; /* sorted by name, or NULL */
	size_t nflushing, pos;
	int64_t swapped_ns;
	int64_t fold_ns;
	const struct run_rec **txn; /* runs the open transaction brought to a final state */
	size_t ntxn, captxn;
};

struct sq {
	char *path;
	size_t log_cap;
	bool sync_commit;
	struct conn *writer;
	struct fires fires;    /* the writer's */
	struct last_runs last; /* the writer's */
	struct rollup roll;    /* the writer's: what the open transaction finished */

	pthread_mutex_t mu; /* the pool */
	pthread_cond_t cv;
	struct conn *idle;
	int nconn; /* open pool connections, idle or borrowed */

	/* the checkpointer */
	struct conn *ckpt;
	int sync_ms;
	pthread_t ck_thread;
	bool ck_started;
	bool ck_stop;
	pthread_mutex_t ck_mu;
	pthread_cond_t ck_cv;
};

/*
 * The one translation of a SQLite result code into a CLOVER_E* code. Logs
 * SQLite's message with `what` (constraint violations at DEBUG: callers that
 * expect them log their own line).
 */
static int db_err(sqlite3 *db, int rc, const char *what)
{
	int level = LOG_ERROR;
	int code;

	switch (rc & 0xff) {
	case SQLITE_NOMEM:
		code = CLOVER_ENOMEM;
		break;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		code = CLOVER_EAGAIN;
		break;
	case SQLITE_IOERR:
	case SQLITE_FULL:
	case SQLITE_CANTOPEN:
	case SQLITE_PROTOCOL:
		code = CLOVER_EIO;
		break;
	case SQLITE_READONLY:
	case SQLITE_PERM:
	case SQLITE_AUTH:
		code = CLOVER_EPERM;
		break;
	case SQLITE_TOOBIG:
		code = CLOVER_ETOOBIG;
		break;
	case SQLITE_CONSTRAINT:
		level = LOG_DEBUG;
		switch (rc) {
		case SQLITE_CONSTRAINT_UNIQUE:
		case SQLITE_CONSTRAINT_PRIMARYKEY:
			code = CLOVER_EEXIST;
			break;
		case SQLITE_CONSTRAINT_FOREIGNKEY:
			code = CLOVER_ENOENT;
			break;
		case SQLITE_CONSTRAINT_NOTNULL:
		case SQLITE_CONSTRAINT_CHECK:
			code = CLOVER_EINVAL;
			break;
		default:
			code = CLOVER_ECONFLICT;
		}
		break;
	default: /* CORRUPT, NOTADB, SCHEMA, MISUSE, ... */
		code = CLOVER_ESTORE;
	}
	log_at(level, "store", "sqlite: %s: %s (%s)", what,
	       db && sqlite3_errcode(db) == rc ? sqlite3_errmsg(db) : sqlite3_errstr(rc),
	       clover_errname(code));
	return code;
}

static bool is_constraint(int rc)
{
	return (rc & 0xff) == SQLITE_CONSTRAINT;
}

/* The statement `id` of connection c, prepared on first use; NULL on error (*rc set). */
static sqlite3_stmt *stmt(struct conn *c, enum st_id id, int *rc)
{
	int r;

	if (c->st[id])
		return c->st[id];
	r = sqlite3_prepare_v3(c->db, st_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &c->st[id], NULL);
	if (r != SQLITE_OK) {
		*rc = db_err(c->db, r, st_sql[id]);
		return NULL;
	}
	return c->st[id];
}

/* Runs a statement that returns no row (BEGIN, COMMIT, ...). */
static int run_st(struct conn *c, enum st_id id)
{
	sqlite3_stmt *st;
	int rc = 0, r;

	st = stmt(c, id, &rc);
	if (st == NULL)
		return rc;
	r = sqlite3_step(st);
	sqlite3_reset(st);
	if (r != SQLITE_DONE && r != SQLITE_ROW)
		return db_err(c->db, r, st_sql[id]);
	return 0;
}

static void rollback(struct conn *c)
{
	if (!sqlite3_get_autocommit(c->db))
		(void)run_st(c, ST_ROLLBACK);
}

/* Ends a transaction: COMMIT when rc is 0, else ROLLBACK. Returns the outcome. */
static int finish(struct conn *c, int rc)
{
	if (rc == 0)
		rc = run_st(c, ST_COMMIT);
	if (rc)
		rollback(c);
	return rc;
}

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
	sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
}

/* Steps a statement expected to finish without rows; resets it. */
static int step_done(struct conn *c, sqlite3_stmt *st, const char *what)
{
	int r = sqlite3_step(st);

	sqlite3_reset(st);
	if (r != SQLITE_DONE && r != SQLITE_ROW)
		return db_err(c->db, r, what);
	return 0;
}

/* *out = a copy of text column i, NULL when the column is NULL. */
static int col_dup(sqlite3_stmt *st, int i, char **out)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	*out = NULL;
	if (t == NULL)
		return sqlite3_column_type(st, i) == SQLITE_NULL ? 0 : CLOVER_ENOMEM;
	*out = strdup((const char *)t);
	return *out ? 0 : CLOVER_ENOMEM;
}

/* Makes room for one more element in a growing result array. */
static int grow(void **arr, size_t *cap, size_t n, size_t elem)
{
	size_t ncap;
	void *p;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 16;
	p = realloc(*arr, ncap * elem);
	if (p == NULL)
		return CLOVER_ENOMEM;
	memset((char *)p + *cap * elem, 0, (ncap - *cap) * elem);
	*arr = p;
	*cap = ncap;
	return 0;
}

static int pragma(sqlite3 *db, const char *sql)
{
	int r = sqlite3_exec(db, sql, NULL, NULL, NULL);

	return r == SQLITE_OK ? 0 : db_err(db, r, sql);
}

static int journal_mode_cb(void *ctx, int ncol, char **vals, char **names)
{
	(void)names;
	if (ncol > 0 && vals[0])
		snprintf(ctx, 16, "%s", vals[0]);
	return 0;
}

enum conn_kind { CONN_POOL, CONN_WRITER, CONN_CKPT };

static void conn_close(struct conn *c)
{
	if (c == NULL)
		return;
	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(c->st[i]);
	sqlite3_close(c->db);
	free(c);
}

/* Opens and configures a connection to q->path; `e` (may be NULL) gets SQLite's reason. */
static int conn_open(struct sq *q, enum conn_kind kind, struct conn **out, struct error_info *e)
{
	char mode[16] = "";
	char sql[128];
	struct conn *c;
	int r, rc;

	*out = NULL;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return CLOVER_ENOMEM;
	r = sqlite3_open_v2(q->path, &c->db,
	                    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (r != SQLITE_OK) {
		rc = db_err(c->db, r, q->path);
		goto fail;
	}
	sqlite3_extended_result_codes(c->db, 1);
	sqlite3_busy_timeout(c->db, kind == CONN_WRITER ? WRITER_BUSY_MS : POOL_BUSY_MS);
	r = sqlite3_exec(c->db, "PRAGMA journal_mode=WAL", journal_mode_cb, mode, NULL);
	if (r != SQLITE_OK) {
		rc = db_err(c->db, r, q->path);
		goto fail;
	}
	if (strcmp(mode, "wal") != 0) {
		log_at(LOG_ERROR, "store", "sqlite: %s: cannot use WAL mode (got '%s')", q->path,
		       mode);
		rc = CLOVER_ESTORE;
		goto fail;
	}
	rc = pragma(c->db, kind == CONN_WRITER && q->sync_commit ? "PRAGMA synchronous=FULL"
	                                                         : "PRAGMA synchronous=NORMAL");
	if (rc == 0)
		rc = pragma(c->db, "PRAGMA foreign_keys=ON");
	if (rc == 0)
		rc = pragma(c->db, "PRAGMA temp_store=MEMORY");
	if (rc == 0)
		rc = pragma(c->db, "PRAGMA journal_size_limit=67108864");
	if (rc == 0) {
		/*
		 * The checkpointer keeps the WAL short; the writer's automatic
		 * checkpoint is only a safety net (it would fsync on the writer).
		 */
		snprintf(sql, sizeof(sql), "PRAGMA wal_autocheckpoint=%d",
		         kind == CONN_WRITER && q->sync_ms >= 0 ? 16384 : 1000);
		rc = pragma(c->db, sql);
	}
	if (rc == 0)
		rc = pragma(c->db, kind == CONN_WRITER ? "PRAGMA cache_size=-65536"
		                                       : "PRAGMA cache_size=-16384");
	if (rc)
		goto fail;
	*out = c;
	return 0;
fail:
	if (rc != CLOVER_ESTORE || strcmp(mode, "wal") == 0 || mode[0] == '\0')
		error_set(e, rc, "store.path", "%s: %s", q->path,
		          c->db ? sqlite3_errmsg(c->db) : clover_strerror(rc));
	else
		error_set(e, rc, "store.path", "%s: the file system does not support WAL mode",
		          q->path);
	conn_close(c);
	return rc;
}

/* Borrows a pool connection, opening one if none is idle and fewer than POOL_MAX exist. */
static int acquire(struct sq *q, struct conn **out)
{
	int rc;

	pthread_mutex_lock(&q->mu);
	while (q->idle == NULL && q->nconn >= POOL_MAX)
		pthread_cond_wait(&q->cv, &q->mu);
	if (q->idle) {
		*out = q->idle;
		q->idle = (*out)->next;
		pthread_mutex_unlock(&q->mu);
		return 0;
	}
	q->nconn++;
	pthread_mutex_unlock(&q->mu);
	rc = conn_open(q, CONN_POOL, out, NULL);
	if (rc) {
		pthread_mutex_lock(&q->mu);
		q->nconn--;
		pthread_cond_signal(&q->cv);
		pthread_mutex_unlock(&q->mu);
	}
	return rc;
}

static void release(struct sq *q, struct conn *c)
{
	pthread_mutex_lock(&q->mu);
	c->next = q->idle;
	q->idle = c;
	pthread_cond_signal(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

/* ---- checkpointer ---- */

static void *ckpt_main(void *arg)
{
	struct sq *q = arg;
	struct timespec ts;

	pthread_mutex_lock(&q->ck_mu);
	while (!q->ck_stop) {
		int64_t at = time_mono_ns() + (int64_t)q->sync_ms * 1000000;
		int r;

		ts.tv_sec = at / 1000000000;
		ts.tv_nsec = at % 1000000000;
		while (!q->ck_stop && pthread_cond_timedwait(&q->ck_cv, &q->ck_mu, &ts) == 0)
			;
		if (q->ck_stop)
			break;
		pthread_mutex_unlock(&q->ck_mu);
		/* PASSIVE: never waits for readers or the writer; fsyncs the WAL first. */
		r = sqlite3_wal_checkpoint_v2(q->ckpt->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL,
		                              NULL);
		if (r != SQLITE_OK && (r & 0xff) != SQLITE_BUSY)
			(void)db_err(q->ckpt->db, r, "wal checkpoint");
		pthread_mutex_lock(&q->ck_mu);
	}
	pthread_mutex_unlock(&q->ck_mu);
	return NULL;
}

/* ---- open, migrate, close ---- */

static int query_int(struct conn *c, const char *sql, int64_t *v)
{
	sqlite3_stmt *st;
	int r;

	*v = 0;
	r = sqlite3_prepare_v2(c->db, sql, -1, &st, NULL);
	if (r != SQLITE_OK)
		return db_err(c->db, r, sql);
	r = sqlite3_step(st);
	if (r == SQLITE_ROW)
		*v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (r != SQLITE_ROW && r != SQLITE_DONE)
		return db_err(c->db, r, sql);
	return 0;
}

/* Brings the schema to SCHEMA_VERSION in one transaction. */
static int migrate(struct sq *q, struct conn *c, struct error_info *e)
{
	int64_t has_version, others, cur = 0;
	char what[64];
	int rc, r;

	rc = run_st(c, ST_BEGIN);
	if (rc)
		return error_set(e, rc, "store.path", "%s: %s", q->path, sqlite3_errmsg(c->db));
	rc = query_int(c, "SELECT count(*) FROM sqlite_master WHERE name = 'schema_version'",
	               &has_version);
	if (rc == 0)
		rc = query_int(c,
		               "SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'",
		               &others);
	if (rc) {
		error_set(e, rc, "store.path", "%s: %s", q->path, sqlite3_errmsg(c->db));
		goto out;
	}
	if (!has_version && others > 0) {
		rc = error_set(e, CLOVER_ESTORE, "store.path",
		               "%s: not a clover database (it has tables but no schema_version)",
		               q->path);
		goto out;
	}
	r = sqlite3_exec(c->db,
	                 "CREATE TABLE IF NOT EXISTS schema_version("
	                 " version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
	                 NULL, NULL, NULL);
	if (r != SQLITE_OK) {
		rc = db_err(c->db, r, "schema_version");
		error_set(e, rc, "store.path", "%s: %s", q->path, sqlite3_errmsg(c->db));
		goto out;
	}
	rc = query_int(c, "SELECT coalesce(max(version), 0) FROM schema_version", &cur);
	if (rc) {
		error_set(e, rc, "store.path", "%s: %s", q->path, sqlite3_errmsg(c->db));
		goto out;
	}
	if (cur > SCHEMA_VERSION) {
		rc = error_set(e, CLOVER_ESTORE, "store.path",
		               "%s: database schema version %lld is newer than this clover knows "
		               "(%d); upgrade clover",
		               q->path, (long long)cur, SCHEMA_VERSION);
		goto out;
	}
	for (int v = (int)cur + 1; v <= SCHEMA_VERSION; v++) {
		char sql[128];

		snprintf(what, sizeof(what), "migration %d", v);
		r = sqlite3_exec(c->db, migrations[v - 1], NULL, NULL, NULL);
		if (r == SQLITE_OK) {
			snprintf(sql, sizeof(sql),
			         "INSERT INTO schema_version(version, applied_at) VALUES(%d, %lld)",
			         v, (long long)time_wall_ms());
			r = sqlite3_exec(c->db, sql, NULL, NULL, NULL);
		}
		if (r != SQLITE_OK) {
			rc = db_err(c->db, r, what);
			error_set(e, rc, "store.path", "%s: %s failed: %s", q->path, what,
			          sqlite3_errmsg(c->db));
			goto out;
		}
	}
	rc = run_st(c, ST_COMMIT);
	if (rc) {
		error_set(e, rc, "store.path", "%s: %s", q->path, sqlite3_errmsg(c->db));
		goto out;
	}
	if (cur < SCHEMA_VERSION)
		log_at(LOG_INFO, "store", "%s: schema migrated from version %lld to %d", q->path,
		       (long long)cur, SCHEMA_VERSION);
	return 0;
out:
	rollback(c);
	return rc;
}

static void fires_init(struct fires *f);
static void fires_free(struct fires *f);
static void fires_fold_all(struct sq *q);
static void last_init(struct last_runs *l, int64_t fold_ns);
static void last_free(struct last_runs *l);
static void last_fold_all(struct sq *q);
static int fires_recover(struct conn *c);

static void sq_close(void *be)
{
	struct sq *q = be;

	if (q == NULL)
		return;
	if (q->ck_started) {
		pthread_mutex_lock(&q->ck_mu);
		q->ck_stop = true;
		pthread_cond_signal(&q->ck_cv);
		pthread_mutex_unlock(&q->ck_mu);
		pthread_join(q->ck_thread, NULL);
	}
	conn_close(q->ckpt);
	fires_fold_all(q);
	fires_free(&q->fires);
	last_fold_all(q);
	last_free(&q->last);
	conn_close(q->writer);
	while (q->idle) {
		struct conn *c = q->idle;

		q->idle = c->next;
		conn_close(c);
	}
	pthread_cond_destroy(&q->ck_cv);
	pthread_mutex_destroy(&q->ck_mu);
	pthread_cond_destroy(&q->cv);
	pthread_mutex_destroy(&q->mu);
	free(q->path);
	free(q);
}

static int sq_open(const struct store_config *cfg, void **be, struct error_info *e)
{
	pthread_condattr_t ca;
	struct conn *c = NULL;
	struct sq *q;
	int rc, fd;

	*be = NULL;
	if (!sqlite3_threadsafe())
		return error_set(e, CLOVER_ENOTSUP, NULL,
		                 "SQLite was built without thread support");
	q = calloc(1, sizeof(*q));
	if (q == NULL)
		return error_set(e, CLOVER_ENOMEM, NULL, "out of memory");
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->cv, NULL);
	pthread_mutex_init(&q->ck_mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&q->ck_cv, &ca);
	pthread_condattr_destroy(&ca);
	fires_init(&q->fires);
	q->fires.fold_ns = (int64_t)cfg->fold_ms * 1000000;
	last_init(&q->last, q->fires.fold_ns);
	q->log_cap = cfg->log_cap;
	q->sync_ms = cfg->sync_ms;
	q->sync_commit = cfg->sync_commit;
	q->path = strdup(cfg->path);
	if (q->path == NULL) {
		rc = error_set(e, CLOVER_ENOMEM, NULL, "out of memory");
		goto fail;
	}
	rc = fs_mkdirs_for(q->path);
	if (rc) {
		error_set(e, rc, "store.path", "%s: cannot create its directory: %s", q->path,
		          strerror(errno));
		goto fail;
	}
	/* The file holds password hashes: create it private (WAL and SHM inherit its mode). */
	fd = open(q->path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = error_set(e, CLOVER_EIO, "store.path", "%s: %s", q->path, strerror(errno));
		goto fail;
	}
	close(fd);

	rc = conn_open(q, CONN_POOL, &c, e);
	if (rc)
		goto fail;
	q->nconn = 1;
	rc = migrate(q, c, e);
	if (rc == 0 && (rc = fires_recover(c)) != 0)
		error_set(e, rc, "store.path", "%s: cannot recover the last fires: %s", q->path,
		          sqlite3_errmsg(c->db));
	if (rc) {
		conn_close(c);
		q->nconn = 0;
		goto fail;
	}
	q->idle = c;
	rc = conn_open(q, CONN_WRITER, &q->writer, e);
	if (rc == 0 && q->sync_ms >= 0)
		rc = conn_open(q, CONN_CKPT, &q->ckpt, e);
	if (rc)
		goto fail;
	if (q->ckpt) {
		rc = pthread_create(&q->ck_thread, NULL, ckpt_main, q);
		if (rc) {
			rc = error_set(e, CLOVER_ESYS, NULL, "cannot start the checkpointer: %s",
			               strerror(rc));
			goto fail;
		}
		pthread_setname_np(q->ck_thread, "clover-ckpt");
		q->ck_started = true;
	}
	*be = q;
	return 0;
fail:
	sq_close(q);
	return rc;
}

/* ---- writer: run snapshots and logs ---- */

static bool is_fire(enum run_trigger t)
{
	return t == RUN_TRIG_SCHEDULE || t == RUN_TRIG_MISFIRE;
}

static void bind_run(sqlite3_stmt *st, const struct run_rec *r)
{
	sqlite3_bind_int64(st, 1, r->id);
	bind_text(st, 2, r->job);
	sqlite3_bind_int64(st, 3, r->scheduled_at);
	sqlite3_bind_int(st, 4, (int)r->trigger);
	sqlite3_bind_int(st, 5, (int)r->state);
	sqlite3_bind_int64(st, 6, r->created_at);
	sqlite3_bind_int64(st, 7, r->started_at);
	sqlite3_bind_int64(st, 8, r->finished_at);
	bind_text(st, 9, r->params);
	bind_text(st, 10, r->reason);
	sqlite3_bind_int(st, 11, (int)(hash_name(r->job) % JOB_BUCKETS));
}

/*
 * Upserts a run and its shards; *written tells whether the run row was
 * accepted, *first whether this is the run's first final snapshot. A row
 * already in a final state is not changed again (a recovery or a re-sent
 * result writes the same final snapshot twice); its shards still are.
 */
static int write_run(struct conn *c, const struct run_rec *r, struct store_batch_result *res,
                     bool *written, bool *first)
{
	char when[40];
	sqlite3_stmt *st;
	bool final = run_state_final(r->state);
	int rc = 0, x;

	*written = false;
	*first = false;
	st = stmt(c, final ? ST_RUN_FINISH : ST_RUN_UPSERT, &rc);
	if (st == NULL)
		return rc;
	bind_run(st, r);
	x = sqlite3_step(st);
	*first = final && x == SQLITE_DONE && sqlite3_changes(c->db) > 0;
	sqlite3_reset(st);
	if (x != SQLITE_DONE) {
		if (!is_constraint(x))
			return db_err(c->db, x, "write run");
		rc = db_err(c->db, x, "write run");
		time_format_rfc3339(r->scheduled_at, when, sizeof(when), true);
		if (rc == CLOVER_EEXIST) {
			log_at(LOG_ERROR, "store",
			       "dropped run job=%s run=%lld scheduled_at=%s (%lld): a run for this "
			       "job "
			       "and scheduled instant already exists",
			       r->job, (long long)r->id, when, (long long)r->scheduled_at);
			res->duplicates++;
		} else {
			log_at(LOG_ERROR, "store",
			       "dropped run job=%s run=%lld scheduled_at=%s: %s", r->job,
			       (long long)r->id, when, sqlite3_errmsg(c->db));
			res->rejected++;
		}
		return 0;
	}
	*written = true;
	st = stmt(c, ST_SHARD_UPSERT, &rc);
	if (st == NULL)
		return rc;
	for (int i = 0; i < r->nshards; i++) {
		const struct shard_rec *sh = &r->shards[i];

		sqlite3_bind_int64(st, 1, r->id);
		sqlite3_bind_int(st, 2, sh->index);
		sqlite3_bind_int(st, 3, sh->attempt);
		sqlite3_bind_int(st, 4, (int)sh->state);
		bind_text(st, 5, sh->executor);
		sqlite3_bind_int(st, 6, sh->exit_code);
		sqlite3_bind_int64(st, 7, sh->started_at);
		sqlite3_bind_int64(st, 8, sh->finished_at);
		sqlite3_bind_double(st, 9, sh->progress);
		bind_text(st, 10, sh->message);
		x = sqlite3_step(st);
		sqlite3_reset(st);
		if (x != SQLITE_DONE && !is_constraint(x))
			return db_err(c->db, x, "write shard");
		if (x != SQLITE_DONE) {
			(void)db_err(c->db, x, "write shard");
			log_at(LOG_ERROR, "store", "dropped shard job=%s run=%lld shard=%d: %s",
			       r->job, (long long)r->id, sh->index, sqlite3_errmsg(c->db));
			res->rejected++;
		}
	}
	res->written++;
	return 0;
}

static void bind_log_key(sqlite3_stmt *st, int64_t run_id, int shard, int attempt)
{
	sqlite3_bind_int64(st, 1, run_id);
	sqlite3_bind_int(st, 2, shard);
	sqlite3_bind_int(st, 3, attempt);
}

/* Drops the oldest `excess` stored bytes of a shard attempt's log. */
static int trim_log(struct conn *c, const struct store_log_chunk *l, int64_t excess)
{
	int64_t removed = 0, upto = 0, cut_seq = 0, cut = 0;
	sqlite3_stmt *st;
	int rc = 0, x = SQLITE_DONE;

	st = stmt(c, ST_LOG_OLDEST, &rc);
	if (st == NULL)
		return rc;
	bind_log_key(st, l->run_id, l->shard, l->attempt);
	while (excess > 0 && (x = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t seq = sqlite3_column_int64(st, 0), len = sqlite3_column_int64(st, 1);

		if (len <= excess) {
			upto = seq;
			excess -= len;
			removed += len;
		} else {
			cut_seq = seq;
			cut = excess;
			removed += excess;
			excess = 0;
		}
	}
	if (excess > 0 && x != SQLITE_DONE) {
		sqlite3_reset(st);
		return db_err(c->db, x, "log trim");
	}
	sqlite3_reset(st);
	if (upto > 0) {
		st = stmt(c, ST_LOG_DELETE_UPTO, &rc);
		if (st == NULL)
			return rc;
		bind_log_key(st, l->run_id, l->shard, l->attempt);
		sqlite3_bind_int64(st, 4, upto);
		if ((rc = step_done(c, st, "log trim")) != 0)
			return rc;
	}
	if (cut > 0) {
		st = stmt(c, ST_LOG_CUT, &rc);
		if (st == NULL)
			return rc;
		bind_log_key(st, l->run_id, l->shard, l->attempt);
		sqlite3_bind_int64(st, 4, cut_seq);
		sqlite3_bind_int64(st, 5, cut + 1); /* substr() counts from 1 */
		if ((rc = step_done(c, st, "log trim")) != 0)
			return rc;
	}
	st = stmt(c, ST_LOG_TAIL_TRIM, &rc);
	if (st == NULL)
		return rc;
	bind_log_key(st, l->run_id, l->shard, l->attempt);
	sqlite3_bind_int64(st, 4, removed);
	return step_done(c, st, "log trim");
}

static int write_log(struct sq *q, struct conn *c, const struct store_log_chunk *l,
                     struct store_batch_result *res)
{
	int64_t bytes, seq;
	sqlite3_stmt *st;
	int rc = 0, x;

	st = stmt(c, ST_LOG_TAIL_ADD, &rc);
	if (st == NULL)
		return rc;
	bind_log_key(st, l->run_id, l->shard, l->attempt);
	sqlite3_bind_int64(st, 4, (int64_t)l->len);
	sqlite3_bind_int64(st, 5, l->dropped);
	x = sqlite3_step(st);
	if (x != SQLITE_ROW) {
		sqlite3_reset(st);
		return db_err(c->db, x, "write log");
	}
	bytes = sqlite3_column_int64(st, 0);
	seq = sqlite3_column_int64(st, 1);
	sqlite3_reset(st);

	st = stmt(c, ST_LOG_INSERT, &rc);
	if (st == NULL)
		return rc;
	bind_log_key(st, l->run_id, l->shard, l->attempt);
	sqlite3_bind_int64(st, 4, seq);
	sqlite3_bind_blob64(st, 5, l->data, l->len, SQLITE_STATIC);
	if ((rc = step_done(c, st, "write log")) != 0)
		return rc;
	if (bytes > (int64_t)q->log_cap && (rc = trim_log(c, l, bytes - (int64_t)q->log_cap)) != 0)
		return rc;
	res->written++;
	return 0;
}

/* ---- writer: last fires (see `struct fires`) ---- */

static int64_t min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

static int cmp_fire(const void *a, const void *b)
{
	return strcmp((*(struct fire *const *)a)->name, (*(struct fire *const *)b)->name);
}

static void fires_free(struct fires *f)
{
	const char *k;
	void *v;

	for (size_t i = 0; hmap_next(&f->live, &i, &k, &v);)
		free(v);
	hmap_free(&f->live);
	for (size_t i = 0; f->flushing && i < f->nflushing; i++)
		free(f->flushing[i]);
	free(f->flushing);
	free(f->txn);
	memset(f, 0, sizeof(*f));
}

static void fires_init(struct fires *f)
{
	memset(f, 0, sizeof(*f));
	hmap_init(&f->live);
	f->live_floor = f->flushing_floor = f->pinned_floor = f->meta_floor = INT64_MAX;
	f->swapped_ns = time_mono_ns();
}

static int set_floor(struct conn *c, int64_t floor)
{
	sqlite3_stmt *st;
	char v[24];
	int rc = 0;

	st = stmt(c, floor == INT64_MAX ? ST_META_DELETE : ST_META_SET, &rc);
	if (st == NULL)
		return rc;
	bind_text(st, 1, FIRES_FLOOR_KEY);
	if (floor != INT64_MAX) {
		snprintf(v, sizeof(v), "%lld", (long long)floor);
		bind_text(st, 2, v);
	}
	return step_done(c, st, "fires floor");
}

static int upsert_fire(struct conn *c, const char *job, int64_t last)
{
	sqlite3_stmt *st;
	int rc = 0;

	st = stmt(c, ST_FIRE_UPSERT, &rc);
	if (st == NULL)
		return rc;
	bind_text(st, 1, job);
	sqlite3_bind_int64(st, 2, last);
	return step_done(c, st, "job fires");
}

/*
 * Inside the batch's transaction: writes the next chunk of `flushing` and the
 * floor that covers what is not in job_fires after this transaction.
 */
static int fires_in_txn(struct fires *f, struct conn *c, size_t *pos, int64_t *floor)
{
	int64_t live = f->live_floor;
	int rc = 0;

	for (size_t i = 0; i < f->ntxn; i++)
		live = min64(live, f->txn[i]->id);
	*pos = f->pos;
	if (f->flushing) {
		size_t end =
		    f->pos + FIRES_CHUNK < f->nflushing ? f->pos + FIRES_CHUNK : f->nflushing;

		for (; *pos < end && rc == 0; (*pos)++)
			rc = upsert_fire(c, f->flushing[*pos]->name, f->flushing[*pos]->last);
		if (rc)
			return rc;
	}
	*floor = min64(live, f->pinned_floor);
	if (f->flushing && *pos < f->nflushing)
		*floor = min64(*floor, f->flushing_floor);
	return *floor != f->meta_floor ? set_floor(c, *floor) : 0;
}

/* After the commit: remembers the transaction's fires, moves on, maybe swaps. */
static void fires_after_commit(struct fires *f, size_t pos, int64_t floor)
{
	int64_t now;

	for (size_t i = 0; i < f->ntxn; i++) {
		const struct run_rec *r = f->txn[i];
		struct fire *e = hmap_get(&f->live, r->job);

		if (e == NULL) {
			size_t len = strlen(r->job) + 1;

			e = malloc(sizeof(*e) + len);
			if (e == NULL || hmap_put(&f->live, memcpy(e->name, r->job, len), e) != 0) {
				/* Cannot remember it: keep it under the floor for good. */
				free(e);
				f->pinned_floor = min64(f->pinned_floor, r->id);
				continue;
			}
			e->last = r->scheduled_at;
		} else if (r->scheduled_at > e->last) {
			e->last = r->scheduled_at;
		}
		f->live_floor = min64(f->live_floor, r->id);
	}
	f->ntxn = 0;
	f->meta_floor = floor;
	f->pos = pos;
	if (f->flushing && f->pos == f->nflushing) {
		for (size_t i = 0; i < f->nflushing; i++)
			free(f->flushing[i]);
		free(f->flushing);
		f->flushing = NULL;
		f->nflushing = f->pos = 0;
		f->flushing_floor = INT64_MAX;
	}
	now = time_mono_ns();
	if (f->flushing || f->live.n == 0 || now - f->swapped_ns < f->fold_ns)
		return;
	f->flushing = malloc(f->live.n * sizeof(*f->flushing));
	if (f->flushing == NULL)
		return; /* try again after the next batch */
	{
		const char *k;
		void *v;

		f->nflushing = 0;
		for (size_t i = 0; hmap_next(&f->live, &i, &k, &v);)
			f->flushing[f->nflushing++] = v;
	}
	qsort(f->flushing, f->nflushing, sizeof(*f->flushing), cmp_fire);
	f->pos = 0;
	f->flushing_floor = f->live_floor;
	hmap_free(&f->live);
	hmap_init(&f->live);
	f->live_floor = INT64_MAX;
	f->swapped_ns = now;
}

/* At close: writes everything remembered and drops the floor. */
static void fires_fold_all(struct sq *q)
{
	struct fires *f = &q->fires;
	struct conn *c = q->writer;
	const char *k;
	void *v;
	int rc;

	if (c == NULL || (f->live.n == 0 && f->flushing == NULL && f->meta_floor == INT64_MAX))
		return;
	rc = run_st(c, ST_BEGIN);
	for (size_t i = f->pos; rc == 0 && f->flushing && i < f->nflushing; i++)
		rc = upsert_fire(c, f->flushing[i]->name, f->flushing[i]->last);
	for (size_t i = 0; rc == 0 && hmap_next(&f->live, &i, &k, &v);)
		rc = upsert_fire(c, k, ((struct fire *)v)->last);
	if (rc == 0 && f->meta_floor != f->pinned_floor)
		rc = set_floor(c, f->pinned_floor);
	if (finish(c, rc) != 0)
		log_at(LOG_WARN, "store",
		       "could not record the last fires at close; the next start "
		       "recomputes them");
}

/* At open: folds the fires a previous process left under the floor. */
static int fires_recover(struct conn *c)
{
	sqlite3_stmt *st;
	int64_t floor = INT64_MAX;
	int rc, x;

	if ((rc = run_st(c, ST_BEGIN)) != 0)
		return rc;
	st = stmt(c, ST_META_GET, &rc);
	if (st) {
		bind_text(st, 1, FIRES_FLOOR_KEY);
		x = sqlite3_step(st);
		if (x == SQLITE_ROW)
			floor = sqlite3_column_int64(st, 0);
		else if (x != SQLITE_DONE)
			rc = db_err(c->db, x, "fires floor");
		sqlite3_reset(st);
	}
	if (rc == 0 && floor != INT64_MAX && (st = stmt(c, ST_FIRES_FOLD, &rc)) != NULL) {
		sqlite3_bind_int64(st, 1, floor);
		rc = step_done(c, st, "fold fires");
		if (rc == 0)
			rc = set_floor(c, INT64_MAX);
		if (rc == 0)
			log_at(LOG_INFO, "store",
			       "recovered the last fires of runs from id %lld on",
			       (long long)floor);
	}
	return finish(c, rc);
}

/* ---- writer: last runs (see `struct last_runs`) ---- */

static int cmp_last(const void *a, const void *b)
{
	return strcmp((*(struct last_run *const *)a)->name, (*(struct last_run *const *)b)->name);
}

static void last_free_flushing(struct last_runs *l)
{
	for (size_t i = 0; l->flushing && i < l->nflushing; i++)
		free(l->flushing[i]);
	free(l->flushing);
	l->flushing = NULL;
	l->nflushing = l->pos = 0;
}

static void last_free(struct last_runs *l)
{
	const char *k;
	void *v;

	for (size_t i = 0; hmap_next(&l->live, &i, &k, &v);)
		free(v);
	hmap_free(&l->live);
	last_free_flushing(l);
	free(l->txn);
	memset(l, 0, sizeof(*l));
}

static void last_init(struct last_runs *l, int64_t fold_ns)
{
	memset(l, 0, sizeof(*l));
	hmap_init(&l->live);
	l->fold_ns = fold_ns;
	l->swapped_ns = time_mono_ns();
}

/* Remembers, for after the commit, that the open transaction finished run `r`. */
static int last_note(struct last_runs *l, const struct run_rec *r)
{
	if (l->ntxn == l->captxn) {
		size_t cap = l->captxn ? l->captxn * 2 : 1024;
		const struct run_rec **t = realloc(l->txn, cap * sizeof(*t));

		if (t == NULL)
			return CLOVER_ENOMEM;
		l->txn = t;
		l->captxn = cap;
	}
	l->txn[l->ntxn++] = r;
	return 0;
}

static int upsert_last(struct conn *c, const struct last_run *e, const char *job)
{
	sqlite3_stmt *st;
	int rc = 0;

	st = stmt(c, ST_LAST_RUN_UPSERT, &rc);
	if (st == NULL)
		return rc;
	bind_text(st, 1, job);
	sqlite3_bind_int64(st, 2, e->id);
	sqlite3_bind_int(st, 3, e->state);
	sqlite3_bind_int64(st, 4, e->finished_at);
	return step_done(c, st, "job last runs");
}

/* Inside a writer transaction: writes the next chunk of `flushing`; *pos is where it stopped. */
static int last_in_txn(struct last_runs *l, struct conn *c, size_t *pos)
{
	size_t end;
	int rc = 0;

	*pos = l->pos;
	if (l->flushing == NULL)
		return 0;
	end = l->pos + FIRES_CHUNK < l->nflushing ? l->pos + FIRES_CHUNK : l->nflushing;
	for (; *pos < end && rc == 0; (*pos)++)
		rc = upsert_last(c, l->flushing[*pos], l->flushing[*pos]->name);
	return rc;
}

/* Makes `live` the next thing to write when fold_ns has passed and nothing is being written. */
static void last_swap(struct last_runs *l, int64_t now)
{
	const char *k;
	void *v;

	if (l->flushing || l->live.n == 0 || now - l->swapped_ns < l->fold_ns)
		return;
	l->flushing = malloc(l->live.n * sizeof(*l->flushing));
	if (l->flushing == NULL)
		return; /* try again later */
	l->nflushing = 0;
	for (size_t i = 0; hmap_next(&l->live, &i, &k, &v);)
		l->flushing[l->nflushing++] = v;
	qsort(l->flushing, l->nflushing, sizeof(*l->flushing), cmp_last);
	l->pos = 0;
	hmap_free(&l->live);
	hmap_init(&l->live);
	l->swapped_ns = now;
}

/* After the commit: remembers the transaction's final runs, moves on, maybe swaps. */
static void last_after_commit(struct last_runs *l, size_t pos)
{
	for (size_t i = 0; i < l->ntxn; i++) {
		const struct run_rec *r = l->txn[i];
		struct last_run *e = hmap_get(&l->live, r->job);

		if (e == NULL) {
			size_t len = strlen(r->job) + 1;

			e = malloc(sizeof(*e) + len);
			if (e == NULL || hmap_put(&l->live, memcpy(e->name, r->job, len), e) != 0) {
				/* Lost, as in a crash: the job's next final run puts it right. */
				free(e);
				continue;
			}
			e->id = 0;
		}
		if (r->id > e->id) {
			e->id = r->id;
			e->state = (int)r->state;
			e->finished_at = r->finished_at;
		}
	}
	l->ntxn = 0;
	l->pos = pos;
	if (l->flushing && l->pos == l->nflushing)
		last_free_flushing(l);
	last_swap(l, time_mono_ns());
}

/*
 * The writer's idle work (store_ops.idle): with the queue empty, writes what
 * is due of the last runs in a transaction of its own, so that the table is
 * not left behind when no batch comes.
 */
static void sq_idle(void *be, int64_t *next_ms)
{
	struct sq *q = be;
	struct last_runs *l = &q->last;
	struct conn *c = q->writer;
	int64_t now = time_mono_ns();
	size_t pos = 0;
	int rc;

	last_swap(l, now);
	if (l->flushing) {
		rc = run_st(c, ST_BEGIN);
		if (rc == 0)
			rc = last_in_txn(l, c, &pos);
		rc = finish(c, rc);
		if (rc) {
			/* Try again later; the next batch may also write it. */
			*next_ms = l->fold_ns / 1000000;
			return;
		}
		l->ntxn = 0;
		last_after_commit(l, pos);
	}
	if (l->flushing)
		*next_ms = 0;
	else if (l->live.n)
		*next_ms = (l->swapped_ns + l->fold_ns - now + 999999) / 1000000;
	else
		*next_ms = -1;
}

/* At close: writes everything remembered. */
static void last_fold_all(struct sq *q)
{
	struct last_runs *l = &q->last;
	struct conn *c = q->writer;
	const char *k;
	void *v;
	int rc;

	if (c == NULL || (l->live.n == 0 && l->flushing == NULL))
		return;
	rc = run_st(c, ST_BEGIN);
	for (size_t i = l->pos; rc == 0 && l->flushing && i < l->nflushing; i++)
		rc = upsert_last(c, l->flushing[i], l->flushing[i]->name);
	for (size_t i = 0; rc == 0 && hmap_next(&l->live, &i, &k, &v);)
		rc = upsert_last(c, v, k);
	if (finish(c, rc) != 0)
		log_at(LOG_WARN, "store",
		       "could not record the jobs' last runs at close; each job's next "
		       "final run puts its own right");
}

/* Inserts one event on connection `c` (the caller's transaction, if any). */
static int write_event(struct conn *c, const struct store_event *ev)
{
	sqlite3_stmt *st;
	int rc = 0;

	st = stmt(c, ST_EVENT_ADD, &rc);
	if (st == NULL)
		return rc;
	if (ev->id > 0)
		sqlite3_bind_int64(st, 1, ev->id);
	else
		sqlite3_bind_null(st, 1);
	sqlite3_bind_int64(st, 2, ev->at);
	sqlite3_bind_int(st, 3, (int)ev->level);
	bind_text(st, 4, ev->source);
	bind_text(st, 5, ev->node);
	bind_text(st, 6, ev->job);
	sqlite3_bind_int64(st, 7, ev->run_id);
	bind_text(st, 8, ev->message);
	return step_done(c, st, "event add");
}

/* ---- writer: the run rollup ---- */

/* Upserts what the rollup holds (inside the writer's transaction) and empties it. */
static int roll_write(struct conn *c, struct rollup *ro)
{
	sqlite3_stmt *st;
	int rc = 0;

	if (ro->nm && (st = stmt(c, ST_ROLL_MINUTE, &rc)) != NULL) {
		for (size_t i = 0; i < ro->nm && rc == 0; i++) {
			sqlite3_bind_int64(st, 1, ro->m[i].minute);
			sqlite3_bind_int(st, 2, ro->m[i].state);
			sqlite3_bind_int(st, 3, ro->m[i].trigger);
			sqlite3_bind_int64(st, 4, ro->m[i].n);
			rc = step_done(c, st, "write run rollup");
		}
	}
	if (rc == 0 && ro->nl && (st = stmt(c, ST_ROLL_LATENESS, &rc)) != NULL) {
		for (size_t i = 0; i < ro->nl && rc == 0; i++) {
			sqlite3_bind_int64(st, 1, ro->l[i].minute);
			sqlite3_bind_int(st, 2, ro->l[i].bucket);
			sqlite3_bind_int64(st, 3, ro->l[i].n);
			rc = step_done(c, st, "write lateness rollup");
		}
	}
	ro->nm = ro->nl = 0;
	return rc;
}

/* Counts run `r`, which has just reached its first final state, in the rollup. */
static int roll_add(struct conn *c, struct rollup *ro, const struct run_rec *r,
                    struct store_batch_result *res)
{
	int64_t at = r->finished_at > 0 ? r->finished_at : r->created_at;
	int64_t minute = (at > 0 ? at : r->scheduled_at) / MS_PER_MIN;
	size_t i;
	int rc;

	res->finished[r->state]++;
	for (i = 0; i < ro->nm; i++) {
		if (ro->m[i].minute == minute && ro->m[i].state == (int)r->state &&
		    ro->m[i].trigger == (int)r->trigger)
			break;
	}
	if (i == ROLL_MAX) {
		if ((rc = roll_write(c, ro)))
			return rc;
		i = 0;
	}
	if (i == ro->nm)
		ro->m[ro->nm++] = (struct roll_minute){minute, (int)r->state, (int)r->trigger, 0};
	ro->m[i].n++;
	if (r->started_at > 0 && r->state != RUN_SKIPPED) {
		int64_t late = r->started_at - r->scheduled_at;
		int b;

		if (late < 0)
			late = 0;
		b = store_bucket(store_lateness_bounds_ms, STORE_LATENESS_BUCKETS, late);
		res->lateness[b]++;
		res->lateness_sum_ms += (uint64_t)late;
		for (i = 0; i < ro->nl; i++) {
			if (ro->l[i].minute == minute && ro->l[i].bucket == b)
				break;
		}
		if (i == ROLL_MAX) {
			if ((rc = roll_write(c, ro)))
				return rc;
			i = 0;
		}
		if (i == ro->nl)
			ro->l[ro->nl++] = (struct roll_late){minute, b, 0};
		ro->l[i].n++;
	}
	return 0;
}

static int sq_write_batch(void *be, struct store_rec *const *recs, size_t n,
                          struct store_batch_result *res)
{
	struct sq *q = be;
	struct fires *f = &q->fires;
	struct conn *c = q->writer;
	int64_t floor = INT64_MAX;
	size_t pos = 0, lpos = 0;
	int rc;

	rc = run_st(c, ST_BEGIN);
	if (rc)
		return rc;
	f->ntxn = 0;
	q->last.ntxn = 0;
	q->roll.nm = q->roll.nl = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		const struct run_rec *r = &recs[i]->u.run;
		bool written, first;

		if (recs[i]->kind == STORE_REC_LOG) {
			rc = write_log(q, c, &recs[i]->u.log, res);
			continue;
		}
		if (recs[i]->kind == STORE_REC_EVENT) {
			rc = write_event(c, &recs[i]->u.event);
			if (rc == 0) {
				res->written++;
			} else if (is_constraint(sqlite3_extended_errcode(c->db))) {
				/* An id already taken: skip this event, keep the batch. */
				log_at(LOG_ERROR, "store", "dropped event id=%lld source=%s: %s",
				       (long long)recs[i]->u.event.id, recs[i]->u.event.source,
				       sqlite3_errmsg(c->db));
				res->rejected++;
				rc = 0;
			}
			continue;
		}
		rc = write_run(c, r, res, &written, &first);
		if (rc == 0 && written && first)
			rc = roll_add(c, &q->roll, r, res);
		if (rc == 0 && written && first)
			rc = last_note(&q->last, r);
		if (rc || !written || !is_fire(r->trigger))
			continue;
		if (f->ntxn == f->captxn) {
			size_t cap = f->captxn ? f->captxn * 2 : 1024;
			const struct run_rec **t = realloc(f->txn, cap * sizeof(*t));

			if (t == NULL) {
				rc = CLOVER_ENOMEM;
				break;
			}
			f->txn = t;
			f->captxn = cap;
		}
		f->txn[f->ntxn++] = r;
	}
	if (rc == 0)
		rc = roll_write(c, &q->roll);
	if (rc == 0)
		rc = fires_in_txn(f, c, &pos, &floor);
	if (rc == 0)
		rc = last_in_txn(&q->last, c, &lpos);
	rc = finish(c, rc);
	if (rc == 0) {
		fires_after_commit(f, pos, floor);
		last_after_commit(&q->last, lpos);
	}
	f->ntxn = 0;
	q->last.ntxn = 0;
	return rc;
}

/* ---- jobs ---- */

static int sq_job_put(void *be, const char *name, const char *spec, bool paused, int64_t now,
                      int64_t expect_revision, int64_t *revision, bool *created)
{
	struct sq *q = be;
	struct conn *c;
	sqlite3_stmt *st;
	int64_t cur = 0;
	int rc, x;

	rc = acquire(q, &c);
	if (rc)
		return rc;
	rc = run_st(c, ST_BEGIN);
	if (rc)
		goto out;
	st = stmt(c, ST_JOB_REV, &rc);
	if (st == NULL)
		goto out;
	bind_text(st, 1, name);
	x = sqlite3_step(st);
	if (x == SQLITE_ROW)
		cur = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (x != SQLITE_ROW && x != SQLITE_DONE) {
		rc = db_err(c->db, x, "job put");
		goto out;
	}
	if (expect_revision > 0 && cur != expect_revision) {
		rc = CLOVER_ECONFLICT;
		goto out;
	}
	st = stmt(c, cur ? ST_JOB_UPDATE : ST_JOB_INSERT, &rc);
	if (st == NULL)
		goto out;
	bind_text(st, 1, name);
	bind_text(st, 2, spec);
	sqlite3_bind_int64(st, 3, now);
	sqlite3_bind_int(st, 4, paused ? 1 : 0);
	x = sqlite3_step(st);
	*revision = cur ? (x == SQLITE_ROW ? sqlite3_column_int64(st, 0) : cur + 1) : 1;
	sqlite3_reset(st);
	if (x != SQLITE_ROW && x != SQLITE_DONE) {
		rc = db_err(c->db, x, "job put");
		goto out;
	}
	*created = cur == 0;
out:
	rc = finish(c, rc);
	release(q, c);
	return rc;
}

/*
 * Reads the one row that statement `id` selects for the text `key` with
 * `reader` into `out`. Returns what `reader` returns, CLOVER_ENOENT when there is
 * no such row, or the translated database error (`what` names it in the log).
 */
static int read_one(struct sq *q, enum st_id id, const char *key,
		    int (*reader)(sqlite3_stmt *st, void *out), void *out, const char *what)
{
	struct conn *c;
	sqlite3_stmt *st;
	int rc, x;

	if ((rc = acquire(q, &c)) != 0)
		return rc;
	st = stmt(c, id, &rc);
	if (st) {
		bind_text(st, 1, key);
		x = sqlite3_step(st);
		if (x == SQLITE_ROW)
			rc = reader(st, out);
		else if (x == SQLITE_DONE)
			rc = CLOVER_ENOENT;
		else
			rc = db_err(c->db, x, what);
		sqlite3_reset(st);
	}
	release(q, c);
	return rc;
}

static int read_job(sqlite3_stmt *st, void *out)
{
	struct store_job *j = out;
	int rc = col_dup(st, 0, &j->name);

	if (rc == 0)
		rc = col_dup(st, 1, &j->spec);
	j->revision = sqlite3_column_int64(st, 2);
	j->created_at = sqlite3_column_int64(st, 3);
	j->updated_at = sqlite3_column_int64(st, 4);
	j->paused = sqlite3_column_int(st, 5) != 0;
	/* NULLs (no row in job_last_runs) read as 0: none. */
	j->last_run.id = sqlite3_column_int64(st, 6);
	j->last_run.state = (enum run_state)sqlite3_column_int(st, 7);
	j->last_run.finished_at = sqlite3_column_int64(st, 8);
	if (rc)
		store_job_clear(j);
	return rc;
}

static int sq_job_get(void *be, const char *name, struct store_job *out)
{
	return read_one(be, ST_JOB_GET, name, read_job, out, "job get");
}

/* Runs a one-row write; CLOVER_ENOENT when it changed nothing. */
static int write_one(struct sq *q, enum st_id id, const char *key, bool has_int, int64_t v)
{
	struct conn *c;
	sqlite3_stmt *st;
	int rc;

	if ((rc = acquire(q, &c)) != 0)
		return rc;
	st = stmt(c, id, &rc);
	if (st) {
		bind_text(st, 1, key);
		if (has_int)
			sqlite3_bind_int64(st, 2, v);
		rc = step_done(c, st, st_sql[id]);
		if (rc == 0 && sqlite3_changes(c->db) == 0)
			rc = CLOVER_ENOENT;
	}
	release(q, c);
	return rc;
}

static int sq_job_delete(void *be, const char *name)
{
	struct sq *q = be;
	struct conn *c;
	sqlite3_stmt *st;
	int rc;

	if ((rc = acquire(q, &c)) != 0)
		return rc;
	if ((rc = run_st(c, ST_BEGIN)) != 0)
		goto out;
	st = stmt(c, ST_JOB_DELETE, &rc);
	if (st) {
		bind_text(st, 1, name);
		rc = step_done(c, st, "job delete");
		if (rc == 0 && sqlite3_changes(c->db) == 0)
			rc = CLOVER_ENOENT;
	}
	if (rc == 0 && (st = stmt(c, ST_FIRE_DELETE, &rc)) != NULL) {
		bind_text(st, 1, name);
		rc = step_done(c, st, "job delete");
	}
	if (rc == 0 && (st = stmt(c, ST_LAST_RUN_DELETE, &rc)) != NULL) {
		bind_text(st, 1, name);
		rc = step_done(c, st, "job delete");
	}
	rc = finish(c, rc);
out:
	release(q, c);
	return rc;
}

/* Appends a LIKE pattern matching `s` anywhere, with '\' as the escape. */
static int like_pattern(struct buf *b, const char *s)
{
	int rc = buf_append(b, "%", 1);

	for (; rc == 0 && *s; s++) {
		if (*s == '%' || *s == '_' || *s == '\\')
			rc = buf_append(b, "\\", 1);
		if (rc == 0)
			rc = buf_append(b, s, 1);
	}
	return rc ? rc : buf_append(b, "%", 1);
}

/* Prepares a statement built for one call. */
static int prepare_once(struct conn *c, const struct buf *sql, sqlite3_stmt **st)
{
	int r = sqlite3_prepare_v2(c->db, sql->data, (int)sql->len, st, NULL);

	return r == SQLITE_OK ? 0 : db_err(c->db, r, sql->data);
}

static int sq_job_list(void *be, const struct store_job_filter *f, struct store_job **out,
                       size_t *n)
{
	struct sq *q = be;
	struct buf sql, pat;
	sqlite3_stmt *st = NULL;
	struct conn *c = NULL;
	size_t cap = 0;
	int rc, x = SQLITE_DONE;

	buf_init(&sql, SQL_MAX);
	buf_init(&pat, LIKE_MAX * 2 + 2);
	rc = buf_appends(&sql, "SELECT " JOB_SEL " WHERE 1");
	if (rc == 0 && f->search && f->search[0]) {
		if (strlen(f->search) > LIKE_MAX) {
			rc = CLOVER_ETOOBIG;
			goto out;
		}
		rc = like_pattern(&pat, f->search);
		if (rc == 0)
			rc = buf_appends(&sql, " AND j.name LIKE ?1 ESCAPE '\\'");
	}
	if (rc == 0 && f->paused >= 0)
		rc = buf_appends(&sql, " AND j.paused = ?2");
	/*
	 * Like the others, a scan of jobs in name order (one lookup per job),
	 * stopped by LIMIT. coalesce() keeps it a LEFT JOIN: "l.state = ?8" would
	 * let SQLite scan job_last_runs and sort every match, first page or not.
	 */
	if (rc == 0 && f->last_state == STORE_LAST_NEVER)
		rc = buf_appends(&sql, " AND l.job IS NULL");
	else if (rc == 0 && f->last_state > 0)
		rc = buf_appends(&sql, " AND coalesce(l.state, 0) = ?8");
	/* A scan of the specs in name order, stopped by LIMIT: no index on labels. */
	if (rc == 0 && f->label_key && f->label_value)
		rc = buf_appends(&sql,
		                 " AND EXISTS (SELECT 1 FROM json_each(j.spec, '$.target.labels')"
		                 " WHERE key = ?5 AND value = ?6)");
	if (rc == 0 && f->contact)
		rc = buf_appends(&sql, " AND EXISTS (SELECT 1 FROM json_each(j.spec, '$.contacts')"
		                       " WHERE value = ?7)");
	if (rc == 0 && f->after)
		rc = buf_appends(&sql, " AND j.name > ?3");
	if (rc == 0)
		rc = buf_appends(&sql, " ORDER BY j.name LIMIT ?4");
	if (rc)
		goto out;
	if ((rc = acquire(q, &c)) != 0)
		goto out;
	if ((rc = prepare_once(c, &sql, &st)) != 0)
		goto out;
	if (pat.len)
		sqlite3_bind_text(st, 1, pat.data, (int)pat.len, SQLITE_STATIC);
	if (f->paused >= 0)
		sqlite3_bind_int(st, 2, f->paused);
	if (f->after)
		bind_text(st, 3, f->after);
	sqlite3_bind_int(st, 4, f->limit);
	if (f->label_key && f->label_value) {
		bind_text(st, 5, f->label_key);
		bind_text(st, 6, f->label_value);
	}
	if (f->contact)
		bind_text(st, 7, f->contact);
	if (f->last_state > 0)
		sqlite3_bind_int(st, 8, f->last_state);
	while ((x = sqlite3_step(st)) == SQLITE_ROW) {
		if ((rc = grow((void **)out, &cap, *n, sizeof(**out))) != 0)
			break;
		if ((rc = read_job(st, &(*out)[*n])) != 0)
			break;
		(*n)++;
	}
	if (rc == 0 && x != SQLITE_DONE)
		rc = db_err(c->db, x, "job list");
out:
	sqlite3_finalize(st);
	if (c)
		release(q, c);
	buf_free(&sql);
	buf_free(&pat);
	if (rc) {
		for (size_t k = 0; k < *n; k++)
			store_job_clear(&(*out)[k]);
		free(*out);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

static int sq_job_count(void *be, int64_t *total, int64_t *paused)
{
	struct sq *q = be;
	struct conn *c;
	sqlite3_stmt *st;
	int rc, x;

	if ((rc = acquire(q, &c)) != 0)
		return rc;
	st = stmt(c, ST_JOB_COUNT, &rc);
	if (st) {
		x = sqlite3_step(st);
		if (x == SQLITE_ROW) {
			*total = sqlite3_column_int64(st, 0);
			*paused = sqlite3_column_int64(st, 1);
		} else {
			rc = db_err(c->db, x, "job count");
		}
		sqlite3_reset(st);
	}
	release(q, c);
	return rc;
}

/*
 * Fires above the floor that the writer has not folded into job_fires yet
 * (see `struct fires`), read in the caller's transaction: name -> struct fire.
 */
static int recent_fires(struct conn *c, struct hmap *m)
{
	sqlite3_stmt *st;
	int64_t floor = INT64_MAX;
	int rc = 0, x;

	st = stmt(c, ST_META_GET, &rc);
	if (st == NULL)
		return rc;
	bind_text(st, 1, FIRES_FLOOR_KEY);
	x = sqlite3_step(st);
	if (x == SQLITE_ROW)
		floor = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (x != SQLITE_ROW && x != SQLITE_DONE)
		return db_err(c->db, x, "fires floor");
	if (floor == INT64_MAX)
		return 0;
	st = stmt(c, ST_FIRES_SINCE, &rc);
	if (st == NULL)
		return rc;
	sqlite3_bind_int64(st, 1, floor);
	while ((x = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		size_t len = name ? strlen(name) + 1 : 0;
		struct fire *e = len ? malloc(sizeof(*e) + len) : NULL;

		if (e == NULL || hmap_put(m, memcpy(e->name, name, len), e) != 0) {
			free(e);
			rc = CLOVER_ENOMEM;
			break;
		}
		e->last = sqlite3_column_int64(st, 1);
	}
	if (rc == 0 && x != SQLITE_DONE)
		rc = db_err(c->db, x, "recent fires");
	sqlite3_reset(st);
	return rc;
}

static int sq_job_load_all(void *be,
                           int (*fn)(void *ctx, const struct store_job *j, int64_t last_fire),
                           void *ctx)
{
	struct sq *q = be;
	struct store_job j;
	struct hmap recent;
	struct conn *c;
	sqlite3_stmt *st;
	const char *k;
	void *v;
	int rc, x = SQLITE_DONE;

	hmap_init(&recent);
	if ((rc = acquire(q, &c)) != 0)
		return rc;
	/* One snapshot: job_fires, the floor and the runs above it agree. */
	if ((rc = run_st(c, ST_BEGIN_READ)) != 0)
		goto out;
	if ((rc = recent_fires(c, &recent)) != 0)
		goto out;
	st = stmt(c, ST_JOB_LOAD_ALL, &rc);
	if (st == NULL)
		goto out;
	while ((x = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t last;

		/* Borrowed column memory, valid until the next step: no copies. */
		j.name = (char *)sqlite3_column_text(st, 0);
		j.spec = (char *)sqlite3_column_text(st, 1);
		if (j.name == NULL || j.spec == NULL) {
			rc = CLOVER_ENOMEM;
			break;
		}
		j.revision = sqlite3_column_int64(st, 2);
		j.created_at = sqlite3_column_int64(st, 3);
		j.updated_at = sqlite3_column_int64(st, 4);
		j.paused = sqlite3_column_int(st, 5) != 0;
		last = sqlite3_column_int64(st, 6);
		if (recent.n) {
			struct fire *e = hmap_get(&recent, j.name);

			if (e && e->last > last)
				last = e->last;
		}
		rc = fn(ctx, &j, last);
		if (rc)
			break;
	}
	if (rc == 0 && x != SQLITE_DONE)
		rc = db_err(c->db, x, "job load");
	sqlite3_reset(st);
out:
	/* A read transaction: COMMIT only ends it, whatever fn returned. */
	if (finish(c, 0) != 0 && rc == 0)
		rc = CLOVER_ESTORE;
	release(q, c);
	for (size_t i = 0; hmap_next(&recent, &i, &k, &v);)
		free(v);
	hmap_free(&recent);
	return rc;
}

/* ---- runs ---- */

static int read_shards(struct conn *c, struct run_rec *r)
{
	sqlite3_stmt *st;
	size_t cap = 0, n = 0;
	int rc = 0, x;

	st = stmt(c, ST_SHARDS_GET, &rc);
	if (st == NULL)
		return rc;
	sqlite3_bind_int64(st, 1, r->id);
	while ((x = sqlite3_step(st)) == SQLITE_ROW) {
		struct shard_rec *sh;

		if ((rc = grow((void **)&r->shards, &cap, n, sizeof(*r->shards))) != 0)
			break;
		sh = &r->shards[n++];
		r->nshards = (int)n;
		sh->index = sqlite3_column_int(st, 0);
		sh->attempt = sqlite3_column_int(st, 1);
		sh->state = (enum run_state)sqlite3_column_int(st, 2);
		sh->exit_code = sqlite3_column_int(st, 4);
		sh->started_at = sqlite3_column_int64(st, 5);
		sh->finished_at = sqlite3_column_int64(st, 6);
		sh->progress = sqlite3_column_double(st, 7);
		if ((rc = col_dup(st, 3, &sh->executor)) != 0 ||
		    (rc = col_dup(st, 8, &sh->message)) != 0)
			break;
	}
	if (rc == 0 && x != SQLITE_DONE)
		rc = db_err(c->db, x, "read shards");
	sqlite3_reset(st);
	return rc;
}

/* Fills r from a row of RUN_COLS and its shards; on error r holds nothing. */
static int read_run(struct conn *c, sqlite3_stmt *st, struct run_rec *r)
{
	int rc;

	memset(r, 0, sizeof(*r));
	r->id = sqlite3_column_int64(st, 0);
	r->scheduled_at = sqlite3_column_int64(st, 2);
	r->trigger = (enum run_trigger)sqlite3_column_int(st, 3);
	r->state = (enum run_state)sqlite3_column_int(st, 4);
	r->created_at = sqlite3_column_int64(st, 5);
	r->started_at = sqlite3_column_int64(st, 6);
	r->finished_at = sqlite3_column_int64(st, 7);
	rc = col_dup(st, 1, &r->job);
	if (rc == 0)
		rc = col_dup(st, 8, &r->params);
	if (rc == 0)
		rc = col_dup(st, 9, &r->reason);
	if (rc == 0)
		rc = read_shards(c, r);
	if (rc)
		run_rec_clear(r);
	return rc;
}

static int sq_run_get(void *be, int64_t id, struct run_rec *out)
{
	struct sq *q = be;
	struct conn *c;
	sqlite3_stmt *st;
	int rc, x;

	if ((rc = acquire(q, &c)) != 0)
		return rc;
	if ((rc = run_st(c, ST_BEGIN_READ)) != 0)
		goto out;
	st = stmt(c, ST_RUN_GET, &rc);
	if (st) {
		sqlite3_bind_int64(st, 1, id);
		x = sqlite3_step(st);
		if (x == SQLITE_ROW)
			rc = read_run(c, st, out);
		else if (x == SQLITE_DONE)
			rc = CLOVER_ENOENT;
		else
			rc = db_err(c->db, x, "run get");
		sqlite3_reset(st);
	}
	if (finish(c, 0) != 0 && rc == 0) {
		run_rec_clear(out);
		rc = CLOVER_ESTORE;
	}
out:
	release(q, c);
	return rc;
}

static int sq_run_list(void *be, const struct store_run_filter *f, struct run_rec **out, size_t *n)
{
	struct sq *q = be;
	struct buf sql;
	sqlite3_stmt *st = NULL;
	struct conn *c = NULL;
	size_t cap = 0;
	int rc, x;

	buf_init(&sql, SQL_MAX);
	rc = buf_appends(&sql, "SELECT " RUN_COLS " FROM runs WHERE 1");
	if (rc == 0 && f->job)
		rc = buf_appends(&sql, " AND jb = ?7 AND job = ?1");
	if (rc == 0 && f->state >= 0)
		rc =
		    buf_appends(&sql, f->state == RUN_SUCCEEDED ? " AND state = ?2"
		                                                : " AND state = ?2 AND state <> 2");
	if (rc == 0 && f->from)
		rc = buf_appends(&sql, " AND scheduled_at >= ?3");
	if (rc == 0 && f->to)
		rc = buf_appends(&sql, " AND scheduled_at < ?4");
	if (rc == 0 && f->before_id > 0)
		rc = buf_appends(&sql, " AND id < ?5");
	if (rc == 0)
		rc = buf_appends(&sql, " ORDER BY id DESC LIMIT ?6");
	if (rc)
		goto out;
	if ((rc = acquire(q, &c)) != 0)
		goto out;
	if ((rc = run_st(c, ST_BEGIN_READ)) != 0)
		goto out;
	if ((rc = prepare_once(c, &sql, &st)) != 0)
		goto out;
	bind_text(st, 1, f->job);
	sqlite3_bind_int(st, 2, f->state);
	sqlite3_bind_int64(st, 3, f->from);
	sqlite3_bind_int64(st, 4, f->to);
	sqlite3_bind_int64(st, 5, f->before_id);
	sqlite3_bind_int(st, 6, f->limit);
	if (f->job)
		sqlite3_bind_int(st, 7, (int)(hash_name(f->job) % JOB_BUCKETS));
	while ((x = sqlite3_step(st)) == SQLITE_ROW) {
		if ((rc = grow((void **)out, &cap, *n, sizeof(**out))) != 0)
			break;
		if ((rc = read_run(c, st, &(*out)[*n])) != 0)
			break;
		(*n)++;
	}
	if (rc == 0 && x != SQLITE_DONE)
		rc = db_err(c->db, x, "run list");
out:
	sqlite3_finalize(st);
	if (c) {
		rc = finish(c, rc);
		release(q, c);
	}
	buf_free(&sql);
	if (rc) {
		for (size_t k = 0; k < *n; k++)
			run_rec_clear(&(*out)[k]);
		free(*out);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

static int sq_run_max_id(void *be, int64_t *id)
{
	struct sq *q = be;
	struct conn *c;
	sqlite3_stmt *st;
	int rc, x;

	if ((rc = acquire(q, &c)) != 0)
		return rc;
	st = stmt(c, ST_RUN_MAX_ID, &rc);
	if (st) {
		x = sqlite3_step(st);
		if (x == SQLITE_ROW)
			*id = sqlite3_column_int64(st, 0);
		else
			rc = db_err(c->db, x, "run max id");
		sqlite3_reset(st);
	}
	release(q, c);
	return rc;
}

/* ---- run statistics (the rollup) ---- */

/*
 * The `q` quantile (0-1) of `total` values counted per lateness bucket:
 * linear within the bucket where it falls; the open last bucket gives its
 * lower bound.
 */
static int64_t bucket_quantile(const int64_t *n, int64_t total, double q)
{
	double want = q * (double)total, seen = 0;

	for (int b = 0; b < STORE_LATENESS_BUCKETS; b++) {
		int64_t lo = b ? store_lateness_bounds_ms[b - 1] : 0;
		int64_t hi = store_lateness_bounds_ms[b];

		if (n[b] == 0 || seen + (double)n[b] < want) {
			seen += (double)n[b];
			continue;
		}
		if (hi == INT64_MAX)
			return lo;
		return lo + (int64_t)((double)(hi - lo) * (want - seen) / (double)n[b] + 0.5);
	}
	return store_lateness_bounds_ms[STORE_LATENESS_BUCKETS - 2];
}

/* Prepares a literal statement on `c` (used once per call; not cached). */
static int prepare_stats(struct conn *c, const char *sql, sqlite3_stmt **st)
{
	int r = sqlite3_prepare_v2(c->db, sql, -1, st, NULL);

	return r == SQLITE_OK ? 0 : db_err(c->db, r, sql);
}

static int sq_run_stats(void *be, int64_t now, struct store_run_stats *out)
{
	struct sq *q = be;
	int64_t now_min = now / MS_PER_MIN, now_hour = now / MS_PER_HOUR;
	int64_t first_min = now_min - STORE_STATS_MINUTES + 1;
	int64_t first_hour = now_hour - STORE_STATS_HOURS + 1;
	int64_t day_min = now_min - 24 * 60 + 1; /* the 24 h window, in minutes */
	int64_t from = first_hour * 60 < day_min ? first_hour * 60 : day_min;
	int64_t late[STORE_STATS_HOURS][STORE_LATENESS_BUCKETS];
	sqlite3_stmt *st = NULL;
	struct conn *c;
	int rc, x;

	for (int i = 0; i < STORE_STATS_MINUTES; i++)
		out->minutes[i].t = (first_min + i) * MS_PER_MIN;
	for (int i = 0; i < STORE_STATS_HOURS; i++)
		out->hours[i].t = out->lateness[i].t = (first_hour + i) * MS_PER_HOUR;
	memset(late, 0, sizeof(late));
	if ((rc = acquire(q, &c)) != 0)
		return rc;
	rc = prepare_stats(c, "SELECT minute, state, trigger, n FROM run_minutes WHERE minute >= ?1",
	                   &st);
	if (rc == 0) {
		sqlite3_bind_int64(st, 1, from);
		while ((x = sqlite3_step(st)) == SQLITE_ROW) {
			int64_t m = sqlite3_column_int64(st, 0), n = sqlite3_column_int64(st, 3);
			int state = sqlite3_column_int(st, 1), trig = sqlite3_column_int(st, 2);

			if (state < 0 || state >= RUN_STATE_COUNT || m > now_min)
				continue;
			if (m >= day_min) {
				out->finished_24h[state] += n;
				if (trig == RUN_TRIG_MISFIRE)
					out->misfired_24h += n;
			}
			if (m >= first_min)
				out->minutes[m - first_min].n[state] += n;
			if (m / 60 >= first_hour)
				out->hours[m / 60 - first_hour].n[state] += n;
		}
		if (x != SQLITE_DONE)
			rc = db_err(c->db, x, "run stats");
		sqlite3_finalize(st);
	}
	if (rc == 0)
		rc = prepare_stats(c,
		                   "SELECT minute / 60, bucket, sum(n) FROM run_lateness"
		                   " WHERE minute >= ?1 AND minute <= ?2 GROUP BY 1, 2",
		                   &st);
	if (rc == 0) {
		sqlite3_bind_int64(st, 1, first_hour * 60);
		sqlite3_bind_int64(st, 2, now_min);
		while ((x = sqlite3_step(st)) == SQLITE_ROW) {
			int64_t h = sqlite3_column_int64(st, 0) - first_hour;
			int b = sqlite3_column_int(st, 1);

			if (h >= 0 && h < STORE_STATS_HOURS && b >= 0 && b < STORE_LATENESS_BUCKETS)
				late[h][b] += sqlite3_column_int64(st, 2);
		}
		if (x != SQLITE_DONE)
			rc = db_err(c->db, x, "lateness stats");
		sqlite3_finalize(st);
	}
	/* "state <> 2" lets the planner use the partial index runs_state. */
	if (rc == 0)
		rc = prepare_stats(c, "SELECT count(*) FROM runs WHERE state = 1 AND state <> 2", &st);
	if (rc == 0) {
		if ((x = sqlite3_step(st)) == SQLITE_ROW)
			out->running = sqlite3_column_int64(st, 0);
		else
			rc = db_err(c->db, x, "running runs");
		sqlite3_finalize(st);
	}
	release(q, c);
	for (int h = 0; h < STORE_STATS_HOURS; h++) {
		struct store_lateness *l = &out->lateness[h];

		for (int b = 0; b < STORE_LATENESS_BUCKETS; b++)
			l->n += late[h][b];
		if (l->n == 0)
			continue;
		l->p50 = bucket_quantile(late[h], l->n, 0.50);
		l->p90 = bucket_quantile(late[h], l->n, 0.90);
		l->p99 = bucket_quantile(late[h], l->n, 0.99);
	}
	return rc;
}

static int sq_run_unfinished(void *be, int (*fn)(void *ctx, const struct run_rec *r), void *ctx)
{
	struct sq *q = be;
	struct run_rec r;
	struct conn *c;
	sqlite3_stmt *st;
	int rc, x;

	if ((rc = acquire(q, &c)) != 0)
		return rc;
	if ((rc = run_st(c, ST_BEGIN_READ)) != 0)
		goto out;
	st = stmt(c, ST_RUN_UNFINISHED, &rc);
	if (st) {
		while ((x = sqlite3_step(st)) == SQLITE_ROW) {
			if ((rc = read_run(c, st, &r)) != 0)
				break;
			rc = fn(ctx, &r);
			run_rec_clear(&r);
			if (rc)
				break;
		}
		if (rc == 0 && x != SQLITE_DONE)
			rc = db_err(c->db, x, "unfinished runs");
		sqlite3_reset(st);
	}
	/* A read transaction: COMMIT only ends it, whatever fn returned. */
	if (finish(c, 0) != 0 && rc == 0)
		rc = CLOVER_ESTORE;
out:
	release(q, c);
	return rc;
}

/* ---- logs ---- */

struct segment {
	int shard, attempt;
	int64_t bytes, dropped;
};

/*
 * Copies stored bytes [from, from + want) of one shard attempt into b.
 * Chunk lengths come from length(data), which does not load the data.
 */
static int read_segment(struct conn *c, int64_t run_id, const struct segment *sg, int64_t from,
                        int64_t want, struct buf *b, int64_t *got)
{
	sqlite3_stmt *st, *dst;
	int64_t pos = 0;
	int rc = 0, x = SQLITE_DONE;

	*got = 0;
	st = stmt(c, ST_LOG_CHUNKS, &rc);
	if (st == NULL)
		return rc;
	dst = stmt(c, ST_LOG_CHUNK_DATA, &rc);
	if (dst == NULL)
		return rc;
	bind_log_key(st, run_id, sg->shard, sg->attempt);
	while (want > 0 && (x = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t seq = sqlite3_column_int64(st, 0), len = sqlite3_column_int64(st, 1);
		int64_t skip, take;
		const char *data;

		if (pos + len <= from) {
			pos += len;
			continue;
		}
		skip = from > pos ? from - pos : 0;
		take = len - skip < want ? len - skip : want;
		bind_log_key(dst, run_id, sg->shard, sg->attempt);
		sqlite3_bind_int64(dst, 4, seq);
		x = sqlite3_step(dst);
		if (x != SQLITE_ROW) {
			sqlite3_reset(dst);
			rc = db_err(c->db, x, "log read");
			break;
		}
		data = sqlite3_column_blob(dst, 0);
		if (sqlite3_column_bytes(dst, 0) < skip + take) {
			sqlite3_reset(dst);
			rc = CLOVER_ESTORE;
			break;
		}
		rc = buf_append(b, data + skip, (size_t)take);
		sqlite3_reset(dst);
		if (rc)
			break;
		*got += take;
		want -= take;
		pos += len;
		from = pos;
	}
	if (rc == 0 && want > 0 && x != SQLITE_DONE)
		rc = db_err(c->db, x, "log read");
	sqlite3_reset(st);
	return rc;
}

/*
 * Offsets count each shard attempt as `dropped + stored` bytes, so that a
 * reader following a growing log keeps its place when the head is trimmed;
 * the "[... N bytes dropped ...]" marker is extra and not counted.
 */
static int sq_log_read(void *be, int64_t run_id, int shard, int64_t offset, size_t max, char **out,
                       size_t *len, int64_t *next)
{
	struct sq *q = be;
	struct segment *segs = NULL;
	size_t nseg = 0, cap = 0;
	int64_t pos = 0, want = (int64_t)max;
	struct buf b;
	struct conn *c;
	sqlite3_stmt *st;
	int rc, x = SQLITE_DONE;

	buf_init(&b, 0);
	if ((rc = acquire(q, &c)) != 0)
		return rc;
	if ((rc = run_st(c, ST_BEGIN_READ)) != 0)
		goto out;
	st = stmt(c, shard >= 0 ? ST_LOG_SEGMENTS_SHARD : ST_LOG_SEGMENTS, &rc);
	if (st == NULL)
		goto out;
	sqlite3_bind_int64(st, 1, run_id);
	if (shard >= 0)
		sqlite3_bind_int(st, 2, shard);
	while ((x = sqlite3_step(st)) == SQLITE_ROW) {
		if ((rc = grow((void **)&segs, &cap, nseg, sizeof(*segs))) != 0)
			break;
		segs[nseg].shard = sqlite3_column_int(st, 0);
		segs[nseg].attempt = sqlite3_column_int(st, 1);
		segs[nseg].bytes = sqlite3_column_int64(st, 2);
		segs[nseg].dropped = sqlite3_column_int64(st, 3);
		nseg++;
	}
	if (rc == 0 && x != SQLITE_DONE)
		rc = db_err(c->db, x, "log read");
	sqlite3_reset(st);
	b.max = max + (nseg + 1) * 64; /* room for the markers */
	for (size_t i = 0; rc == 0 && i < nseg && want > 0; i++) {
		const struct segment *sg = &segs[i];
		int64_t end = pos + sg->dropped + sg->bytes, rel, got;

		if (offset >= end) {
			pos = end;
			continue;
		}
		rel = offset > pos ? offset - pos : 0;
		if (rel < sg->dropped) {
			rc = buf_printf(&b, STORE_LOG_DROPPED_FMT, (long long)(sg->dropped - rel));
			rel = sg->dropped;
		}
		if (rc == 0)
			rc = read_segment(c, run_id, sg, rel - sg->dropped, want, &b, &got);
		if (rc)
			break;
		want -= got;
		offset = pos + rel + got;
		pos = end;
	}
	if (rc == 0 && offset < pos && want > 0)
		offset = pos; /* trimmed while we read: nothing more to give */
out:
	rc = finish(c, rc);
	release(q, c);
	free(segs);
	if (rc) {
		buf_free(&b);
		return rc;
	}
	*len = b.len;
	*out = b.data ? buf_steal(&b) : strdup("");
	if (*out == NULL)
		return CLOVER_ENOMEM;
	*next = offset;
	return 0;
}

/* ---- events ---- */

static int sq_event_add(void *be, const struct store_event *ev)
{
	struct sq *q = be;
	struct conn *c;
	int rc;

	if ((rc = acquire(q, &c)) != 0)
		return rc;
	rc = write_event(c, ev);
	release(q, c);
	return rc;
}

static int read_event(sqlite3_stmt *st, struct store_event *ev)
{
	int rc;

	ev->id = sqlite3_column_int64(st, 0);
	ev->at = sqlite3_column_int64(st, 1);
	ev->level = (enum store_level)sqlite3_column_int(st, 2);
	ev->run_id = sqlite3_column_int64(st, 6);
	rc = col_dup(st, 3, &ev->source);
	if (rc == 0)
		rc = col_dup(st, 4, &ev->node);
	if (rc == 0)
		rc = col_dup(st, 5, &ev->job);
	if (rc == 0)
		rc = col_dup(st, 7, &ev->message);
	if (rc)
		store_event_clear(ev);
	return rc;
}

static int sq_event_list(void *be, const struct store_event_filter *f, struct store_event **out,
                         size_t *n)
{
	struct sq *q = be;
	struct buf sql, pat;
	sqlite3_stmt *st = NULL;
	struct conn *c = NULL;
	size_t cap = 0;
	int rc, x;

	buf_init(&sql, SQL_MAX);
	buf_init(&pat, LIKE_MAX * 2 + 2);
	rc = buf_appends(&sql, "SELECT " EVENT_COLS " FROM events WHERE 1");
	if (rc == 0 && f->level > 0)
		rc = buf_appends(&sql, " AND level >= ?1");
	if (rc == 0 && f->source)
		rc = buf_appends(&sql, " AND source = ?2");
	if (rc == 0 && f->job)
		rc = buf_appends(&sql, " AND job = ?3");
	if (rc == 0 && f->search && f->search[0]) {
		if (strlen(f->search) > LIKE_MAX) {
			rc = CLOVER_ETOOBIG;
			goto out;
		}
		rc = like_pattern(&pat, f->search);
		if (rc == 0)
			rc = buf_appends(&sql, " AND message LIKE ?4 ESCAPE '\\'");
	}
	if (rc == 0 && f->before_id > 0)
		rc = buf_appends(&sql, " AND id < ?5");
	if (rc == 0 && f->from > 0)
		rc = buf_appends(&sql, " AND at >= ?7");
	if (rc == 0 && f->to > 0)
		rc = buf_appends(&sql, " AND at < ?8");
	if (rc == 0)
		rc = buf_appends(&sql, " ORDER BY id DESC LIMIT ?6");
	if (rc)
		goto out;
	if ((rc = acquire(q, &c)) != 0)
		goto out;
	if ((rc = prepare_once(c, &sql, &st)) != 0)
		goto out;
	sqlite3_bind_int(st, 1, f->level);
	bind_text(st, 2, f->source);
	bind_text(st, 3, f->job);
	if (pat.len)
		sqlite3_bind_text(st, 4, pat.data, (int)pat.len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, f->before_id);
	sqlite3_bind_int(st, 6, f->limit);
	sqlite3_bind_int64(st, 7, f->from);
	sqlite3_bind_int64(st, 8, f->to);
	while ((x = sqlite3_step(st)) == SQLITE_ROW) {
		if ((rc = grow((void **)out, &cap, *n, sizeof(**out))) != 0)
			break;
		if ((rc = read_event(st, &(*out)[*n])) != 0)
			break;
		(*n)++;
	}
	if (rc == 0 && x != SQLITE_DONE)
		rc = db_err(c->db, x, "event list");
out:
	sqlite3_finalize(st);
	if (c)
		release(q, c);
	buf_free(&sql);
	buf_free(&pat);
	if (rc) {
		for (size_t k = 0; k < *n; k++)
			store_event_clear(&(*out)[k]);
		free(*out);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

/* ---- contacts ---- */

/*
 * Contacts are written and read by people, a few at a time: their statements
 * are prepared per call rather than cached on every connection.
 */
#define CONTACT_COLS "name, email, webhook, oncall, created_at"

static int read_contact(sqlite3_stmt *st, struct store_contact *ct)
{
	int rc = col_dup(st, 0, &ct->name);

	if (rc == 0)
		rc = col_dup(st, 1, &ct->email);
	if (rc == 0)
		rc = col_dup(st, 2, &ct->webhook);
	ct->oncall = sqlite3_column_int(st, 3) != 0;
	ct->created_at = sqlite3_column_int64(st, 4);
	if (rc)
		store_contact_clear(ct);
	return rc;
}

/* Prepares `sql` (a literal) on connection c. */
static int prepare_lit(struct conn *c, const char *sql, sqlite3_stmt **st)
{
	int r = sqlite3_prepare_v2(c->db, sql, -1, st, NULL);

	return r == SQLITE_OK ? 0 : db_err(c->db, r, sql);
}

static int sq_contact_put(void *be, const struct store_contact *ct, bool create_only,
			  bool *created)
{
	struct sq *q = be;
	struct conn *c;
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = acquire(q, &c)) != 0)
		return rc;
	if ((rc = run_st(c, ST_BEGIN)) != 0)
		goto out;
	rc = prepare_lit(c, "SELECT 1 FROM contacts WHERE name = ?1", &st);
	if (rc == 0) {
		int x;

		bind_text(st, 1, ct->name);
		x = sqlite3_step(st);
		if (x == SQLITE_ROW)
			*created = false;
		else if (x == SQLITE_DONE)
			*created = true;
		else
			rc = db_err(c->db, x, "contact put");
		sqlite3_finalize(st);
		st = NULL;
	}
	if (rc == 0 && create_only && !*created)
		rc = CLOVER_EEXIST;
	if (rc == 0)
		rc = prepare_lit(c,
				 "INSERT INTO contacts(" CONTACT_COLS ") VALUES(?1, ?2, ?3, ?4, ?5)"
				 " ON CONFLICT(name) DO UPDATE SET email = excluded.email,"
				 " webhook = excluded.webhook, oncall = excluded.oncall",
				 &st);
	if (rc == 0) {
		bind_text(st, 1, ct->name);
		bind_text(st, 2, ct->email);
		bind_text(st, 3, ct->webhook);
		sqlite3_bind_int(st, 4, ct->oncall ? 1 : 0);
		sqlite3_bind_int64(st, 5, ct->created_at);
		rc = step_done(c, st, "contact put");
	}
	sqlite3_finalize(st);
	rc = finish(c, rc);
	if (rc)
		*created = false;
out:
	release(q, c);
	return rc;
}

static int sq_contact_get(void *be, const char *name, struct store_contact *out)
{
	struct sq *q = be;
	struct conn *c;
	sqlite3_stmt *st = NULL;
	int rc, x;

	if ((rc = acquire(q, &c)) != 0)
		return rc;
	rc = prepare_lit(c, "SELECT " CONTACT_COLS " FROM contacts WHERE name = ?1", &st);
	if (rc == 0) {
		bind_text(st, 1, name);
		x = sqlite3_step(st);
		if (x == SQLITE_ROW)
			rc = read_contact(st, out);
		else if (x == SQLITE_DONE)
			rc = CLOVER_ENOENT;
		else
			rc = db_err(c->db, x, "contact get");
	}
	sqlite3_finalize(st);
	release(q, c);
	return rc;
}

static int sq_contact_delete(void *be, const char *name)
{
	struct sq *q = be;
	struct conn *c;
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = acquire(q, &c)) != 0)
		return rc;
	rc = prepare_lit(c, "DELETE FROM contacts WHERE name = ?1", &st);
	if (rc == 0) {
		bind_text(st, 1, name);
		rc = step_done(c, st, "contact delete");
		if (rc == 0 && sqlite3_changes(c->db) == 0)
			rc = CLOVER_ENOENT;
	}
	sqlite3_finalize(st);
	release(q, c);
	return rc;
}

static int sq_contact_list(void *be, const struct store_contact_filter *f,
			   struct store_contact **out, size_t *n)
{
	struct sq *q = be;
	struct buf sql, pat;
	sqlite3_stmt *st = NULL;
	struct conn *c = NULL;
	size_t cap = 0;
	int rc, x = SQLITE_DONE;

	buf_init(&sql, SQL_MAX);
	buf_init(&pat, LIKE_MAX * 2 + 2);
	rc = buf_appends(&sql, "SELECT " CONTACT_COLS " FROM contacts WHERE 1");
	if (rc == 0 && f->search && f->search[0]) {
		if (strlen(f->search) > LIKE_MAX) {
			rc = CLOVER_ETOOBIG;
			goto out;
		}
		rc = like_pattern(&pat, f->search);
		if (rc == 0)
			rc = buf_appends(&sql, " AND (name LIKE ?1 ESCAPE '\\'"
					       " OR email LIKE ?1 ESCAPE '\\')");
	}
	if (rc == 0 && f->oncall >= 0)
		rc = buf_appends(&sql, " AND oncall = ?2");
	if (rc == 0 && f->after)
		rc = buf_appends(&sql, " AND name > ?3");
	if (rc == 0)
		rc = buf_appends(&sql, " ORDER BY name LIMIT ?4");
	if (rc)
		goto out;
	if ((rc = acquire(q, &c)) != 0)
		goto out;
	if ((rc = prepare_once(c, &sql, &st)) != 0)
		goto out;
	if (pat.len)
		sqlite3_bind_text(st, 1, pat.data, (int)pat.len, SQLITE_STATIC);
	if (f->oncall >= 0)
		sqlite3_bind_int(st, 2, f->oncall);
	if (f->after)
		bind_text(st, 3, f->after);
	sqlite3_bind_int(st, 4, f->limit);
	while ((x = sqlite3_step(st)) == SQLITE_ROW) {
		if ((rc = grow((void **)out, &cap, *n, sizeof(**out))) != 0)
			break;
		if ((rc = read_contact(st, &(*out)[*n])) != 0)
			break;
		(*n)++;
	}
	if (rc == 0 && x != SQLITE_DONE)
		rc = db_err(c->db, x, "contact list");
out:
	sqlite3_finalize(st);
	if (c)
		release(q, c);
	buf_free(&sql);
	buf_free(&pat);
	if (rc) {
		for (size_t k = 0; k < *n; k++)
			store_contact_clear(&(*out)[k]);
		free(*out);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

/* ---- users and tokens ---- */

static int sq_user_put(void *be, const struct store_user *u)
{
	struct sq *q = be;
	struct conn *c;
	sqlite3_stmt *st;
	int rc;

	if ((rc = acquire(q, &c)) != 0)
		return rc;
	st = stmt(c, ST_USER_PUT, &rc);
	if (st) {
		bind_text(st, 1, u->name);
		bind_text(st, 2, u->pwhash);
		sqlite3_bind_int(st, 3, (int)u->role);
		sqlite3_bind_int64(st, 4, u->created_at);
		rc = step_done(c, st, "user put");
	}
	release(q, c);
	return rc;
}

static int read_user(sqlite3_stmt *st, void *out)
{
	struct store_user *u = out;
	int rc = col_dup(st, 0, &u->name);

	if (rc == 0)
		rc = col_dup(st, 1, &u->pwhash);
	u->role = (enum store_role)sqlite3_column_int(st, 2);
	u->created_at = sqlite3_column_int64(st, 3);
	if (rc)
		store_user_clear(u);
	return rc;
}

static int sq_user_get(void *be, const char *name, struct store_user *out)
{
	return read_one(be, ST_USER_GET, name, read_user, out, "user get");
}

static int sq_user_delete(void *be, const char *name)
{
	struct sq *q = be;
	struct conn *c;
	sqlite3_stmt *st;
	int rc;

	if ((rc = acquire(q, &c)) != 0)
		return rc;
	if ((rc = run_st(c, ST_BEGIN)) != 0)
		goto out;
	/* Explicit, not only ON DELETE CASCADE: revoking must not depend on a pragma. */
	st = stmt(c, ST_USER_TOKENS_DELETE, &rc);
	if (st) {
		bind_text(st, 1, name);
		rc = step_done(c, st, "user delete");
	}
	if (rc == 0 && (st = stmt(c, ST_USER_DELETE, &rc)) != NULL) {
		bind_text(st, 1, name);
		rc = step_done(c, st, "user delete");
		if (rc == 0 && sqlite3_changes(c->db) == 0)
			rc = CLOVER_ENOENT;
	}
	rc = finish(c, rc);
out:
	release(q, c);
	return rc;
}

static int sq_user_list(void *be, struct store_user **out, size_t *n)
{
	struct sq *q = be;
	struct conn *c;
	sqlite3_stmt *st;
	size_t cap = 0;
	int rc, x;

	if ((rc = acquire(q, &c)) != 0)
		return rc;
	st = stmt(c, ST_USER_LIST, &rc);
	if (st) {
		while ((x = sqlite3_step(st)) == SQLITE_ROW) {
			if ((rc = grow((void **)out, &cap, *n, sizeof(**out))) != 0)
				break;
			if ((rc = read_user(st, &(*out)[*n])) != 0)
				break;
			(*n)++;
		}
		if (rc == 0 && x != SQLITE_DONE)
			rc = db_err(c->db, x, "user list");
		sqlite3_reset(st);
	}
	release(q, c);
	if (rc) {
		for (size_t k = 0; k < *n; k++)
			store_user_clear(&(*out)[k]);
		free(*out);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

static int sq_token_put(void *be, const struct store_token *t)
{
	struct sq *q = be;
	struct conn *c;
	sqlite3_stmt *st;
	int rc;

	if ((rc = acquire(q, &c)) != 0)
		return rc;
	st = stmt(c, ST_TOKEN_PUT, &rc);
	if (st) {
		bind_text(st, 1, t->id);
		bind_text(st, 2, t->user);
		bind_text(st, 3, t->name);
		bind_text(st, 4, t->hash);
		sqlite3_bind_int64(st, 5, t->created_at);
		sqlite3_bind_int64(st, 6, t->last_used_at);
		rc = step_done(c, st, "token put");
	}
	release(q, c);
	return rc;
}

static int read_token(sqlite3_stmt *st, void *out)
{
	struct store_token *t = out;
	int rc = col_dup(st, 0, &t->id);

	if (rc == 0)
		rc = col_dup(st, 1, &t->user);
	if (rc == 0)
		rc = col_dup(st, 2, &t->name);
	if (rc == 0)
		rc = col_dup(st, 3, &t->hash);
	t->created_at = sqlite3_column_int64(st, 4);
	t->last_used_at = sqlite3_column_int64(st, 5);
	if (rc)
		store_token_clear(t);
	return rc;
}

static int sq_token_find(void *be, const char *hash, struct store_token *out)
{
	return read_one(be, ST_TOKEN_FIND, hash, read_token, out, "token find");
}

static int sq_token_list(void *be, const char *user, struct store_token **out, size_t *n)
{
	struct sq *q = be;
	struct conn *c;
	sqlite3_stmt *st;
	size_t cap = 0;
	int rc, x;

	if ((rc = acquire(q, &c)) != 0)
		return rc;
	st = stmt(c, user ? ST_TOKEN_LIST_USER : ST_TOKEN_LIST_ALL, &rc);
	if (st) {
		if (user)
			bind_text(st, 1, user);
		while ((x = sqlite3_step(st)) == SQLITE_ROW) {
			if ((rc = grow((void **)out, &cap, *n, sizeof(**out))) != 0)
				break;
			if ((rc = read_token(st, &(*out)[*n])) != 0)
				break;
			(*n)++;
		}
		if (rc == 0 && x != SQLITE_DONE)
			rc = db_err(c->db, x, "token list");
		sqlite3_reset(st);
	}
	release(q, c);
	if (rc) {
		for (size_t k = 0; k < *n; k++)
			store_token_clear(&(*out)[k]);
		free(*out);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

static int sq_token_delete(void *be, const char *id)
{
	return write_one(be, ST_TOKEN_DELETE, id, false, 0);
}

static int sq_token_touch(void *be, const char *id, int64_t now)
{
	return write_one(be, ST_TOKEN_TOUCH, id, true, now);
}

/* ---- console sessions ---- */

/* Stores a new session; the expired ones go in the same transaction. */
static int sq_session_put(void *be, const struct store_session *ss)
{
	struct sq *q = be;
	struct conn *c;
	sqlite3_stmt *st;
	int rc;

	if ((rc = acquire(q, &c)) != 0)
		return rc;
	if ((rc = run_st(c, ST_BEGIN)) != 0)
		goto out;
	st = stmt(c, ST_SESSION_EXPIRE, &rc);
	if (st) {
		sqlite3_bind_int64(st, 1, ss->created_at);
		rc = step_done(c, st, "session expire");
	}
	if (rc == 0 && (st = stmt(c, ST_SESSION_PUT, &rc)) != NULL) {
		bind_text(st, 1, ss->hash);
		bind_text(st, 2, ss->user);
		sqlite3_bind_int64(st, 3, ss->created_at);
		sqlite3_bind_int64(st, 4, ss->expires_at);
		rc = step_done(c, st, "session put");
	}
	rc = finish(c, rc);
out:
	release(q, c);
	return rc;
}

static int read_session(sqlite3_stmt *st, void *out)
{
	struct store_session *ss = out;
	int rc = col_dup(st, 0, &ss->hash);

	if (rc == 0)
		rc = col_dup(st, 1, &ss->user);
	ss->created_at = sqlite3_column_int64(st, 2);
	ss->expires_at = sqlite3_column_int64(st, 3);
	if (rc)
		store_session_clear(ss);
	return rc;
}

static int sq_session_find(void *be, const char *hash, struct store_session *out)
{
	return read_one(be, ST_SESSION_FIND, hash, read_session, out, "session find");
}

static int sq_session_delete(void *be, const char *hash)
{
	return write_one(be, ST_SESSION_DELETE, hash, false, 0);
}

/* ---- meta ---- */

static int read_text(sqlite3_stmt *st, void *out)
{
	return col_dup(st, 0, out);
}

static int sq_meta_get(void *be, const char *key, char **val)
{
	return read_one(be, ST_META_GET, key, read_text, val, "meta get");
}

static int sq_meta_set(void *be, const char *key, const char *val)
{
	struct sq *q = be;
	struct conn *c;
	sqlite3_stmt *st;
	int rc;

	if ((rc = acquire(q, &c)) != 0)
		return rc;
	st = stmt(c, ST_META_SET, &rc);
	if (st) {
		bind_text(st, 1, key);
		bind_text(st, 2, val);
		rc = step_done(c, st, "meta set");
	}
	release(q, c);
	return rc;
}

/* ---- retention ---- */

static int delete_run(struct conn *c, int64_t id)
{
	static const enum st_id del[] = {ST_PRUNE_SHARDS, ST_PRUNE_LOGS, ST_PRUNE_LOG_TAILS,
	                                 ST_PRUNE_RUN};
	int rc = 0;

	for (size_t i = 0; i < sizeof(del) / sizeof(del[0]) && rc == 0; i++) {
		sqlite3_stmt *st = stmt(c, del[i], &rc);

		if (st == NULL)
			break;
		sqlite3_bind_int64(st, 1, id);
		rc = step_done(c, st, "prune");
	}
	return rc;
}

/*
 * One transaction: looks at up to `batch` runs after *cursor (in id order,
 * which is creation order) and deletes the finished ones older than `before`.
 * *more is false once the scan reached the end or a run created at or after
 * `before` (all later ones are newer).
 */
static int prune_runs_once(struct conn *c, int64_t before, int batch, int64_t *cursor, int64_t *ids,
                           int64_t *deleted, bool *more)
{
	sqlite3_stmt *st;
	int rc, x, seen = 0, n = 0;

	*more = false;
	if ((rc = run_st(c, ST_BEGIN)) != 0)
		return rc;
	st = stmt(c, ST_PRUNE_SCAN, &rc);
	if (st == NULL)
		return finish(c, rc);
	sqlite3_bind_int64(st, 1, *cursor);
	sqlite3_bind_int(st, 2, batch);
	while ((x = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0);
		enum run_state state = (enum run_state)sqlite3_column_int(st, 1);
		int64_t created = sqlite3_column_int64(st, 2);
		int64_t finished = sqlite3_column_int64(st, 3);

		seen++;
		if (created >= before)
			break;
		*cursor = id;
		if (run_state_final(state) && (finished > 0 ? finished : created) < before)
			ids[n++] = id;
	}
	if (x == SQLITE_ROW)
		*more = false;
	else if (x == SQLITE_DONE)
		*more = seen == batch;
	else
		rc = db_err(c->db, x, "prune");
	sqlite3_reset(st);
	for (int i = 0; rc == 0 && i < n; i++)
		rc = delete_run(c, ids[i]);
	rc = finish(c, rc);
	if (rc == 0)
		*deleted += n;
	return rc;
}

static int sq_prune(void *be, int64_t before, int batch, int64_t *deleted)
{
	struct sq *q = be;
	int64_t cursor = 0, *ids;
	sqlite3_stmt *st;
	struct conn *c;
	bool more = true;
	int rc;

	ids = malloc((size_t)batch * sizeof(*ids));
	if (ids == NULL)
		return CLOVER_ENOMEM;
	if ((rc = acquire(q, &c)) != 0) {
		free(ids);
		return rc;
	}
	while (rc == 0 && more)
		rc = prune_runs_once(c, before, batch, &cursor, ids, deleted, &more);
	while (rc == 0) {
		int ch;

		if ((rc = run_st(c, ST_BEGIN)) != 0)
			break;
		st = stmt(c, ST_PRUNE_EVENTS, &rc);
		if (st) {
			sqlite3_bind_int64(st, 1, before);
			sqlite3_bind_int(st, 2, batch);
			rc = step_done(c, st, "prune events");
		}
		ch = rc == 0 ? sqlite3_changes(c->db) : 0;
		if ((rc = finish(c, rc)) != 0)
			break;
		*deleted += ch;
		if (ch < batch)
			break;
	}
	if (rc == 0 && (st = stmt(c, ST_FIRES_ORPHANS, &rc)) != NULL)
		rc = step_done(c, st, "prune job fires"); /* rows of deleted jobs */
	if (rc == 0 && (st = stmt(c, ST_LAST_RUNS_ORPHANS, &rc)) != NULL)
		rc = step_done(c, st, "prune job last runs");
	/* The rollup goes with the runs: whole minutes before `before`. */
	if (rc == 0 && (st = stmt(c, ST_PRUNE_MINUTES, &rc)) != NULL) {
		sqlite3_bind_int64(st, 1, before / MS_PER_MIN);
		rc = step_done(c, st, "prune run rollup");
	}
	if (rc == 0 && (st = stmt(c, ST_PRUNE_LATENESS, &rc)) != NULL) {
		sqlite3_bind_int64(st, 1, before / MS_PER_MIN);
		rc = step_done(c, st, "prune lateness rollup");
	}
	release(q, c);
	free(ids);
	if (rc == 0 && *deleted > 0)
		log_at(LOG_INFO, "store", "pruned %lld runs and events older than %lld",
		       (long long)*deleted, (long long)before);
	return rc;
}

const struct store_ops store_sqlite_ops = {
    .name = "sqlite",
    .open = sq_open,
    .close = sq_close,
    .write_batch = sq_write_batch,
    .idle = sq_idle,
    .job_put = sq_job_put,
    .job_get = sq_job_get,
    .job_delete = sq_job_delete,
    .job_list = sq_job_list,
    .job_count = sq_job_count,
    .job_load_all = sq_job_load_all,
    .run_get = sq_run_get,
    .run_list = sq_run_list,
    .run_max_id = sq_run_max_id,
    .run_unfinished = sq_run_unfinished,
    .run_stats = sq_run_stats,
    .log_read = sq_log_read,
    .event_add = sq_event_add,
    .event_list = sq_event_list,
    .contact_put = sq_contact_put,
    .contact_get = sq_contact_get,
    .contact_delete = sq_contact_delete,
    .contact_list = sq_contact_list,
    .user_put = sq_user_put,
    .user_get = sq_user_get,
    .user_delete = sq_user_delete,
    .user_list = sq_user_list,
    .token_put = sq_token_put,
    .token_find = sq_token_find,
    .token_list = sq_token_list,
    .token_delete = sq_token_delete,
    .token_touch = sq_token_touch,
    .session_put = sq_session_put,
    .session_find = sq_session_find,
    .session_delete = sq_session_delete,
    .meta_get = sq_meta_get,
    .meta_set = sq_meta_set,
    .prune = sq_prune,
};
