/* SPDX-License-Identifier: MIT */
/*
 * The store: durable state (jobs, runs with their shards, run logs, events,
 * contacts, users, API tokens, metadata). One interface, one backend per file:
 * SQLite (sqlite.c, standalone) now, PostgreSQL later; store.c dispatches
 * through `struct store_ops`. All times are UTC epoch milliseconds.
 *
 * Threads: every function is thread-safe. Reads and the rare synchronous
 * writes (jobs, users, tokens, events) run on the caller's thread. Run records
 * and run logs, which arrive at up to 100,000 per second, go through
 * store_submit_run()/store_submit_log(): they are copied into a queue and
 * written by the store's own writer thread in batches (group commit), so the
 * engine's thread never waits on the disk. Several snapshots of the same run in
 * one batch are coalesced (the latest wins). store_flush() waits until all that
 * was submitted before it is durable.
 *
 * Guarantee: at most one run per (job, scheduled_at) among runs triggered by
 * the schedule or a misfire (a unique index); a second one is dropped and
 * logged, never written.
 *
 * Reads see what is committed: call store_flush() first to read your own
 * submissions. Returned records and arrays belong to the caller (the *_clear()
 * functions and free()); strings given to the store are copied. Errors are
 * negative CLOVER_E* codes: CLOVER_EINVAL for bad arguments, CLOVER_ENOENT
 * where noted, CLOVER_EAGAIN when the database stayed locked past the busy
 * timeout, CLOVER_EIO / CLOVER_ESTORE for the disk or the database (the log
 * has the database's own message), CLOVER_ENOMEM.
 */
#ifndef CLOVER_STORE_STORE_H
#define CLOVER_STORE_STORE_H

#include "base/error.h"
#include "core/run.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store;

/* What the writer reports after each group commit (see store_options.on_commit). */
struct store_commit_info {
	uint64_t seq;     /* every submission numbered <= seq is now written (or dropped) */
	size_t records;   /* records written, after coalescing */
	size_t txns;      /* transactions used */
	int64_t write_ns; /* time spent writing and committing */
	int64_t cpu_ns;   /* CPU time the writer thread spent on it */
};

struct store_options {
	const char *path;   /* SQLite file; created with its directory if missing */
	int batch_max;      /* most records per transaction (default 32768) */
	int batch_delay_ms; /* longest wait to fill a batch (0: default 5; < 0: no wait) */
	/* Bytes of log kept per shard attempt (default 1 MiB): the tail is kept. */
	size_t log_cap_per_shard;
	/*
	 * Power-loss window (SQLite). 0: commits are write(2)s and a background
	 * checkpointer fsyncs every `sync_ms` (default 100 ms; < 0: only when
	 * SQLite checkpoints on its own). `sync_commit`: fsync every commit instead
	 * (synchronous=FULL): nothing committed is ever lost, each batch costs an
	 * fsync. See docs/storage.md "Durability".
	 */
	int sync_ms;
	bool sync_commit;
	/*
	 * How often the writer folds the last fire of each job into the jobs'
	 * summary read by store_job_load_all() (default 5000 ms). Advanced;
	 * see docs/storage.md "Last fires".
	 */
	int fold_ms;
	/*
	 * Optional; called on the writer thread after each group commit, without
	 * any store lock held (it must not call store_flush()). Submissions
	 * (runs and logs together) are numbered 1, 2, ... in the order
	 * store_submit_run()/store_submit_log() took them.
	 */
	void (*on_commit)(void *ctx, const struct store_commit_info *ci);
	void *on_commit_ctx;
};

/*
 * Opens (creating and migrating as needed) and starts the writer thread.
 * Fails with CLOVER_EIO (cannot create or open the file), CLOVER_ESTORE (the
 * file is not a clover database, its schema is newer than this binary, or a
 * migration failed), CLOVER_ENOTSUP (a backend that is not built in, e.g. a
 * "postgres://" path) or CLOVER_ENOMEM; `e` (may be NULL) says why.
 */
int store_open(const struct store_options *opt, struct store **out, struct error_info *e);
/* Flushes, stops the writer and closes. NULL is a no-op. Not concurrent with other calls. */
void store_close(struct store *s);

/*
 * Fixed log-scale buckets (1-2-3-5-7 per decade) of run lateness and of
 * commit duration, in ms: bucket i counts values <= bounds[i] (and above
 * bounds[i - 1]); the last bound is INT64_MAX. Persisted in the rollup
 * (run_lateness.bucket): never change a bound, only append before the last.
 */
#define STORE_LATENESS_BUCKETS 31
#define STORE_COMMIT_BUCKETS   16
extern const int64_t store_lateness_bounds_ms[STORE_LATENESS_BUCKETS];
extern const int64_t store_commit_bounds_ms[STORE_COMMIT_BUCKETS];
/* The bucket of `ms` in `bounds` (n of them). */
int store_bucket(const int64_t *bounds, int n, int64_t ms);

/* Counters of the write path, for /metrics and benchmarks. */
struct store_stats {
	uint64_t submitted;  /* records submitted (run snapshots and log chunks) */
	uint64_t coalesced;  /* run snapshots replaced by a newer one before being written */
	uint64_t written;    /* records written */
	uint64_t duplicates; /* runs dropped by the (job, scheduled_at) rule */
	uint64_t rejected;   /* other records the database refused (a constraint; logged) */
	uint64_t failed;     /* records dropped because their batch could not be committed */
	uint64_t txns;       /* write transactions committed by the writer */
	uint64_t queued;     /* records waiting for the writer now */
	/*
	 * The run rollup (see "run statistics" below), counted by the writer in
	 * the transactions that record them: runs that reached each final state
	 * (indexed by enum run_state), their lateness (started_at - scheduled_at)
	 * per bucket of store_lateness_bounds_ms and its sum; group commits and
	 * their duration per bucket of store_commit_bounds_ms and its sum.
	 */
	uint64_t finished[RUN_STATE_COUNT];
	uint64_t lateness[STORE_LATENESS_BUCKETS];
	uint64_t lateness_sum_ms;
	uint64_t commits;
	uint64_t commit_ms[STORE_COMMIT_BUCKETS];
	uint64_t commit_sum_us;
};
/* Fills *st with a consistent snapshot of the counters. Thread-safe. */
void store_stats(struct store *s, struct store_stats *st);

/* ---- jobs ---- */
struct store_job {
	char *name;
	char *spec;       /* JSON text as applied */
	int64_t revision; /* 1 on creation, +1 on every change */
	int64_t created_at;
	int64_t updated_at;
	bool paused;
	/*
	 * The job's last outcome: its newest run (largest id) that reached a final
	 * state, as the store's writer last folded it (up to about fold_ms behind
	 * the runs; see docs/storage.md "Last runs"). id 0: none known. Filled by
	 * store_job_get() and store_job_list(), not by store_job_load_all().
	 */
	struct store_last_run {
		int64_t id;
		enum run_state state;
		int64_t finished_at;
	} last_run;
};
/* Frees what the record owns and zeroes it. NULL is a no-op. */
void store_job_clear(struct store_job *j);

/*
 * Creates or replaces job `name`. If `expect_revision` > 0 the write happens
 * only when the stored revision equals it (else CLOVER_ECONFLICT; a job that
 * does not exist has no revision to match). Sets *revision (may be NULL) to
 * the new revision. `created` (may be NULL) tells whether it is new.
 * A replaced job keeps its created_at; updated_at becomes `now`.
 */
int store_job_put(struct store *s, const char *name, const char *spec, bool paused, int64_t now,
                  int64_t expect_revision, int64_t *revision, bool *created);
/* Fills *out (clear it with store_job_clear). CLOVER_ENOENT when there is no such job. */
int store_job_get(struct store *s, const char *name, struct store_job *out);
/* Deletes the job and its contact links; its runs stay until pruned. CLOVER_ENOENT. */
int store_job_delete(struct store *s, const char *name);

struct store_job_filter {
	const char *search; /* substring of the name (ASCII case-insensitive), or NULL */
	int paused;         /* -1 any, 0 active only, 1 paused only */
	/* target.labels[label_key] == label_value in the spec, or NULL (both) */
	const char *label_key, *label_value;
	/* jobs whose spec's `contacts` names this contact, or NULL */
	const char *contact;
	/*
	 * 0: any; a final enum run_state: jobs whose last outcome (`last_run`)
	 * is that state; STORE_LAST_NEVER: jobs with none.
	 */
	int last_state;
	const char *after; /* keyset paging: names greater than this, or NULL */
	int limit;         /* <= 0: 100; more than 1000: 1000 */
};
#define STORE_LAST_NEVER (-1)
/*
 * Lists jobs by name; *out is an array of *n records (free each, then the
 * array). `f` may be NULL (all, first page).
 */
int store_job_list(struct store *s, const struct store_job_filter *f, struct store_job **out,
                   size_t *n);
/* Counts all jobs and the paused ones (either pointer may be NULL). */
int store_job_count(struct store *s, int64_t *total, int64_t *paused);

/*
 * Calls fn for every job, in name order, with its last scheduled instant
 * (largest scheduled_at of its runs triggered by schedule or misfire; 0 if none).
 * Used at start-up; must stream (1,000,000 jobs in well under 5 s).
 * A non-zero return from fn stops the walk and is returned.
 * `j` and its strings are valid only during the call (copy what you keep);
 * fn may call the store (it runs on a connection of its own).
 */
int store_job_load_all(struct store *s,
                       int (*fn)(void *ctx, const struct store_job *j, int64_t last_fire),
                       void *ctx);

/* ---- runs ---- */
/*
 * Queues a snapshot (copied) for the writer; never waits on the disk.
 * CLOVER_EINVAL (no job, id <= 0, a bad shard count) or CLOVER_ENOMEM.
 * A run's job, scheduled_at, trigger and created_at are fixed by its first
 * write; later snapshots update the rest and replace its shards' rows.
 */
int store_submit_run(struct store *s, const struct run_rec *r);
/*
 * Queues log output of one shard attempt (copied); of a chunk longer than the
 * cap only its tail is kept. CLOVER_EINVAL or CLOVER_ENOMEM.
 */
int store_submit_log(struct store *s, int64_t run_id, int shard, int attempt, const char *data,
                     size_t len);
/*
 * Waits until everything submitted before the call is committed. Returns 0,
 * or CLOVER_ESTORE when records settled during the wait had to be dropped
 * because the database kept failing (each loss is logged).
 */
int store_flush(struct store *s);

/* Fills *out with the run and its shards (free with run_rec_clear). CLOVER_ENOENT. */
int store_run_get(struct store *s, int64_t id, struct run_rec *out);

struct store_run_filter {
	const char *job;   /* or NULL */
	int state;         /* enum run_state, or -1 */
	int64_t from, to;  /* scheduled_at range [from, to), 0 = open */
	int64_t before_id; /* keyset paging: ids less than this, 0 = newest */
	int limit;         /* <= 0: 50; more than 1000: 1000 */
};
/*
 * Newest (largest id) first. Shards are included. Free each with
 * run_rec_clear, then free(*out). `f` may be NULL.
 */
int store_run_list(struct store *s, const struct store_run_filter *f, struct run_rec **out,
                   size_t *n);
/* Largest run id ever written (0 when none): the engine continues after it. */
int store_run_max_id(struct store *s, int64_t *id);
/*
 * Calls fn for every run not in a final state, in id order, with its shards
 * (recovery after a crash); `r` is valid only during the call. A non-zero
 * return from fn stops the walk and is returned.
 */
int store_run_unfinished(struct store *s, int (*fn)(void *ctx, const struct run_rec *r), void *ctx);

/* ---- run statistics (the rollup; docs/storage.md "Run rollup") ---- */
#define STORE_STATS_MINUTES 60
#define STORE_STATS_HOURS   24
struct store_run_counts {
	int64_t t;                  /* start of the minute or hour (wall ms) */
	int64_t n[RUN_STATE_COUNT]; /* runs that reached each final state in it */
};
struct store_lateness {
	int64_t t;             /* start of the hour */
	int64_t n;             /* runs started in it (by finish time) */
	int64_t p50, p90, p99; /* ms, read from the buckets (0 when n is 0) */
};
struct store_run_stats {
	int64_t running;                      /* runs in state running now */
	int64_t finished_24h[RUN_STATE_COUNT]; /* final states over the last 24 h */
	int64_t misfired_24h;                 /* misfire-triggered runs finished in 24 h */
	struct store_run_counts minutes[STORE_STATS_MINUTES]; /* oldest first, the last is now's */
	struct store_run_counts hours[STORE_STATS_HOURS];
	struct store_lateness lateness[STORE_STATS_HOURS];
};
/*
 * Fills *out from the rollup for the 60 minutes and 24 hours up to `now`
 * (the current minute and hour included). The cost does not depend on how
 * many runs there are: a few thousand rollup rows and one index count.
 */
int store_run_stats(struct store *s, int64_t now, struct store_run_stats *out);

/*
 * Reads a run's log: all shards' output in (shard, attempt, seq) order, or only
 * `shard` when >= 0, starting `offset` bytes in, at most `max` bytes (0: 1 MiB).
 * *out is malloc'd and NUL-terminated; *next is the offset to continue from.
 * Where the cap dropped the head of a shard attempt's output, the text has a
 * line "[... N bytes dropped ...]\n" (not counted in `max`). Offsets count the
 * dropped bytes too, so a reader following one shard keeps its place while the
 * head is trimmed. A run without output reads as "" (not an error).
 */
int store_log_read(struct store *s, int64_t run_id, int shard, int64_t offset, size_t max,
                   char **out, size_t *len, int64_t *next);

/* ---- events (the system log) ---- */
enum store_level { STORE_LEVEL_INFO, STORE_LEVEL_WARN, STORE_LEVEL_ERROR };
struct store_event {
	int64_t id;
	int64_t at;
	enum store_level level;
	char *source;   /* "engine", "api", "auth", ... */
	char *node;     /* scheduler/executor id, or NULL */
	char *job;      /* or NULL */
	int64_t run_id; /* 0 when none */
	char *message;
};
/* Frees what the record owns and zeroes it. NULL is a no-op. */
void store_event_clear(struct store_event *ev);
/*
 * Adds an event with its `at`; `id` 0 lets the store number it, > 0 is kept
 * (CLOVER_EEXIST if taken). `source` and `message` are required.
 */
int store_event_add(struct store *s, const struct store_event *ev);
/*
 * The same through the writer's queue: the event is copied and written with
 * the next batch, so callers that must not wait on the disk (the engine's
 * thread) can record events. Returns 0, CLOVER_EINVAL or CLOVER_ENOMEM.
 */
int store_submit_event(struct store *s, const struct store_event *ev);
struct store_event_filter {
	int level;                         /* minimum level, -1 any */
	const char *source, *job, *search; /* or NULL; search: substring of the message */
	int64_t from, to;                  /* `at` range [from, to), 0 = open */
	int64_t before_id;                 /* 0 = newest */
	int limit;                         /* <= 0: 100; more than 1000: 1000 */
};
/* Newest first; free each with store_event_clear, then the array. `f` may be NULL. */
int store_event_list(struct store *s, const struct store_event_filter *f, struct store_event **out,
                     size_t *n);

/* ---- contacts (alert recipients) ---- */
struct store_contact {
	char *name;
	char *email;   /* or NULL */
	char *webhook; /* or NULL */
	bool oncall;   /* receives every alert (global on-call) */
	int64_t created_at;
};
/* Frees what the record owns and zeroes it. NULL is a no-op. */
void store_contact_clear(struct store_contact *c);
/*
 * Creates or replaces contact `c->name` (email, webhook, oncall; a replaced
 * contact keeps its created_at). With `create_only`, an existing contact is
 * left alone and CLOVER_EEXIST returned. `created` (may be NULL) tells whether
 * it is new. The store checks presence only; the API validates the values.
 */
int store_contact_put(struct store *s, const struct store_contact *c, bool create_only,
                      bool *created);
/* Fills *out (clear it with store_contact_clear). CLOVER_ENOENT. */
int store_contact_get(struct store *s, const char *name, struct store_contact *out);
/* Deletes a contact. Jobs that name it keep the name (see docs/alerts.md). CLOVER_ENOENT. */
int store_contact_delete(struct store *s, const char *name);
struct store_contact_filter {
	const char *search; /* substring of the name or e-mail (ASCII case-insensitive), or NULL */
	int oncall;         /* -1 any, 0 not on call, 1 on call only */
	const char *after;  /* keyset paging: names greater than this, or NULL */
	int limit;          /* <= 0: 100; more than 1000: 1000 */
};
/* Lists contacts by name; free each with store_contact_clear, then the array. */
int store_contact_list(struct store *s, const struct store_contact_filter *f,
                       struct store_contact **out, size_t *n);

/* ---- users and tokens ---- */
enum store_role { STORE_ROLE_VIEWER, STORE_ROLE_OPERATOR, STORE_ROLE_ADMIN };
struct store_user {
	char *name;
	char *pwhash; /* Argon2id string from libsodium */
	enum store_role role;
	int64_t created_at;
};
/* Frees what the record owns and zeroes it. NULL is a no-op. */
void store_user_clear(struct store_user *u);
/* Creates or replaces (password hash and role; created_at stays the first one). */
int store_user_put(struct store *s, const struct store_user *u);
/* CLOVER_ENOENT when there is no such user. */
int store_user_get(struct store *s, const char *name, struct store_user *out);
/* Deletes the user and revokes all their tokens. CLOVER_ENOENT. */
int store_user_delete(struct store *s, const char *name);
/* All users by name; free each with store_user_clear, then the array. */
int store_user_list(struct store *s, struct store_user **out, size_t *n);

struct store_token {
	char *id; /* public id shown in listings */
	char *user;
	char *name; /* label given at creation */
	char *hash; /* hex SHA-256 of the secret; the secret itself is never stored */
	int64_t created_at;
	int64_t last_used_at;
};
/* Frees what the record owns and zeroes it. NULL is a no-op. */
void store_token_clear(struct store_token *t);
/*
 * Creates or replaces (by id) a token. CLOVER_ENOENT when its user does not
 * exist, CLOVER_EEXIST when another token has the same hash.
 */
int store_token_put(struct store *s, const struct store_token *t);
/* The token whose secret hashes to `hash`. CLOVER_ENOENT. */
int store_token_find(struct store *s, const char *hash, struct store_token *out);
/* Tokens of `user` (NULL: all) by creation time; free each, then the array. */
int store_token_list(struct store *s, const char *user, struct store_token **out, size_t *n);
/* Revokes a token. CLOVER_ENOENT. */
int store_token_delete(struct store *s, const char *id);
/* Sets a token's last_used_at to `now`. CLOVER_ENOENT if there is no such token. */
int store_token_touch(struct store *s, const char *id, int64_t now);

/* ---- console sessions ---- */
struct store_session {
	char *hash; /* hex SHA-256 of the cookie's secret; the secret itself is never stored */
	char *user;
	int64_t created_at;
	int64_t expires_at;
};
/* Frees what the record owns and zeroes it. NULL is a no-op. */
void store_session_clear(struct store_session *ss);
/*
 * Stores a new session, and deletes the sessions expired at its created_at.
 * CLOVER_EINVAL for a missing member.
 */
int store_session_put(struct store *s, const struct store_session *ss);
/* The session whose secret hashes to `hash`, expired or not. CLOVER_ENOENT. */
int store_session_find(struct store *s, const char *hash, struct store_session *out);
/* Ends a session (logout). CLOVER_ENOENT. */
int store_session_delete(struct store *s, const char *hash);

/* ---- metadata and retention ---- */
/* *val is malloc'd. CLOVER_ENOENT when the key is not set. */
int store_meta_get(struct store *s, const char *key, char **val);
/* Sets or replaces a key. */
int store_meta_set(struct store *s, const char *key, const char *val);

/*
 * Deletes finished runs (with shards and logs) and events older than `before`,
 * at most `batch` rows (<= 0: 1000) per transaction so the writer is never
 * held long. A run is old when it finished before `before` (or, without a
 * finish time, was created before it); runs not in a final state are kept.
 * *deleted (may be NULL) counts runs and events removed.
 */
int store_prune(struct store *s, int64_t before, int batch, int64_t *deleted);

#endif
