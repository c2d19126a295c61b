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
};

struct store_options {
	const char *path;        /* SQLite file; created with its directory if missing */
	int batch_max;           /* most records per transaction (default 4096) */
	int batch_delay_ms;      /* longest wait to fill a batch (0: default 5; < 0: no wait) */
	size_t log_cap_per_shard; /* bytes of log kept per shard attempt (default 1 MiB, tail kept) */
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

/* Counters of the write path, for /metrics and benchmarks. */
struct store_stats {
	uint64_t submitted;  /* records submitted (run snapshots and log chunks) */
	uint64_t coalesced;  /* run snapshots replaced by a newer one before being written */
	uint64_t written;    /* records written */
	uint64_t duplicates; /* runs dropped by the (job, scheduled_at) rule */
	uint64_t failed;     /* records dropped because their batch could not be committed */
	uint64_t txns;       /* write transactions committed by the writer */
	uint64_t queued;     /* records waiting for the writer now */
};
/* Fills *st with a consistent snapshot of the counters. Thread-safe. */
void store_stats(struct store *s, struct store_stats *st);

/* ---- jobs ---- */
struct store_job {
	char *name;
	char *spec;  /* JSON text as applied */
	int64_t revision; /* 1 on creation, +1 on every change */
	int64_t created_at;
	int64_t updated_at;
	bool paused;
};
void store_job_clear(struct store_job *j);

/*
 * Creates or replaces job `name`. If `expect_revision` > 0 the write happens
 * only when the stored revision equals it (else CLOVER_ECONFLICT). Sets
 * *revision to the new revision. `created` (may be NULL) tells whether it is new.
 */
int store_job_put(struct store *s, const char *name, const char *spec, bool paused, int64_t now,
		  int64_t expect_revision, int64_t *revision, bool *created);
int store_job_get(struct store *s, const char *name, struct store_job *out); /* CLOVER_ENOENT */
int store_job_delete(struct store *s, const char *name);                   /* CLOVER_ENOENT */

struct store_job_filter {
	const char *search; /* substring of the name, or NULL */
	int paused;         /* -1 any, 0 active only, 1 paused only */
	const char *after;  /* keyset paging: names greater than this, or NULL */
	int limit;          /* default 100, max 1000 */
};
/* Lists jobs by name; *out is an array of *n records (free each, then the array). */
int store_job_list(struct store *s, const struct store_job_filter *f, struct store_job **out,
		   size_t *n);
int store_job_count(struct store *s, int64_t *total, int64_t *paused);

/*
 * Calls fn for every job, in name order, with its last scheduled instant
 * (largest scheduled_at of its runs triggered by schedule or misfire; 0 if none).
 * Used at start-up; must stream (1,000,000 jobs in well under 5 s).
 * A non-zero return from fn stops the walk and is returned.
 */
int store_job_load_all(struct store *s,
		       int (*fn)(void *ctx, const struct store_job *j, int64_t last_fire),
		       void *ctx);

/* ---- runs ---- */
/* Queues a snapshot (copied) for the writer. CLOVER_ENOMEM only. */
int store_submit_run(struct store *s, const struct run_rec *r);
/* Queues log output of one shard attempt (copied); trims to the per-shard cap. */
int store_submit_log(struct store *s, int64_t run_id, int shard, int attempt, const char *data,
		     size_t len);
/* Waits until everything submitted before the call is committed. */
int store_flush(struct store *s);

int store_run_get(struct store *s, int64_t id, struct run_rec *out); /* CLOVER_ENOENT */

struct store_run_filter {
	const char *job;     /* or NULL */
	int state;           /* enum run_state, or -1 */
	int64_t from, to;    /* scheduled_at range [from, to), 0 = open */
	int64_t before_id;   /* keyset paging: ids less than this, 0 = newest */
	int limit;           /* default 50, max 1000 */
};
/* Newest first. Shards are included. Free each with run_rec_clear, then free(*out). */
int store_run_list(struct store *s, const struct store_run_filter *f, struct run_rec **out,
		   size_t *n);
/* Largest run id ever written (0 when none): the engine continues after it. */
int store_run_max_id(struct store *s, int64_t *id);
/* Calls fn for every run not in a final state (recovery after a crash). */
int store_run_unfinished(struct store *s, int (*fn)(void *ctx, const struct run_rec *r), void *ctx);

/*
 * Reads a run's log: all shards' output in (shard, attempt, seq) order, or only
 * `shard` when >= 0, starting `offset` bytes in, at most `max` bytes.
 * *out is malloc'd and NUL-terminated; *next is the offset to continue from.
 */
int store_log_read(struct store *s, int64_t run_id, int shard, int64_t offset, size_t max,
		   char **out, size_t *len, int64_t *next);

/* ---- events (the system log) ---- */
enum store_level { STORE_LEVEL_INFO, STORE_LEVEL_WARN, STORE_LEVEL_ERROR };
struct store_event {
	int64_t id;
	int64_t at;
	enum store_level level;
	char *source; /* "engine", "api", "auth", ... */
	char *node;   /* scheduler/executor id, or NULL */
	char *job;    /* or NULL */
	int64_t run_id; /* 0 when none */
	char *message;
};
void store_event_clear(struct store_event *ev);
int store_event_add(struct store *s, const struct store_event *ev); /* id and `at` as given */
struct store_event_filter {
	int level;          /* minimum level, -1 any */
	const char *source, *job, *search; /* or NULL */
	int64_t before_id;  /* 0 = newest */
	int limit;          /* default 100, max 1000 */
};
int store_event_list(struct store *s, const struct store_event_filter *f, struct store_event **out,
		     size_t *n);

/* ---- users and tokens ---- */
enum store_role { STORE_ROLE_VIEWER, STORE_ROLE_OPERATOR, STORE_ROLE_ADMIN };
struct store_user {
	char *name;
	char *pwhash; /* Argon2id string from libsodium */
	enum store_role role;
	int64_t created_at;
};
void store_user_clear(struct store_user *u);
int store_user_put(struct store *s, const struct store_user *u); /* create or replace */
int store_user_get(struct store *s, const char *name, struct store_user *out);
int store_user_delete(struct store *s, const char *name); /* also revokes the user's tokens */
int store_user_list(struct store *s, struct store_user **out, size_t *n);

struct store_token {
	char *id;      /* public id shown in listings */
	char *user;
	char *name;    /* label given at creation */
	char *hash;    /* hex SHA-256 of the secret; the secret itself is never stored */
	int64_t created_at;
	int64_t last_used_at;
};
void store_token_clear(struct store_token *t);
int store_token_put(struct store *s, const struct store_token *t);
int store_token_find(struct store *s, const char *hash, struct store_token *out); /* CLOVER_ENOENT */
int store_token_list(struct store *s, const char *user, struct store_token **out, size_t *n); /* user NULL: all */
int store_token_delete(struct store *s, const char *id); /* CLOVER_ENOENT */
/* Sets a token's last_used_at to `now`. CLOVER_ENOENT if there is no such token. */
int store_token_touch(struct store *s, const char *id, int64_t now);

/* ---- metadata and retention ---- */
int store_meta_get(struct store *s, const char *key, char **val); /* CLOVER_ENOENT */
int store_meta_set(struct store *s, const char *key, const char *val);

/*
 * Deletes finished runs (with shards and logs) and events older than `before`,
 * at most `batch` rows per transaction so the writer is never held long.
 * *deleted counts runs and events removed.
 */
int store_prune(struct store *s, int64_t before, int batch, int64_t *deleted);

#endif
