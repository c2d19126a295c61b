/* SPDX-License-Identifier: MIT */
/*
 * The interface between the store front (store.c) and a backend (sqlite.c,
 * later postgres.c). Not a public header: only src/store/ includes it.
 *
 * The front owns everything that does not depend on the database: argument
 * checks and defaults, the submission queue, coalescing, the writer thread and
 * its retry policy. A backend owns its connections and SQL. It implements
 * `struct store_ops`; every function except write_batch() may be called from
 * any thread at any time (the backend serialises what must be serialised);
 * write_batch() is called only from the writer thread, one call at a time.
 *
 * Queued records (`struct store_rec`) are single allocations: the run record's
 * shards and every string live in the same block, so queueing a snapshot costs
 * one malloc and one free.
 */
#ifndef CLOVER_STORE_BACKEND_H
#define CLOVER_STORE_BACKEND_H

#include "store/store.h"

#include <stddef.h>
#include <stdint.h>

enum store_rec_kind { STORE_REC_RUN, STORE_REC_LOG, STORE_REC_EVENT };

/* Output of one shard attempt, as queued. */
struct store_log_chunk {
	int64_t run_id;
	int shard;
	int attempt;
	int64_t dropped; /* bytes cut off before `data` when it was submitted (cap) */
	size_t len;
	const char *data; /* points into the same allocation */
};

/* One queued record. */
struct store_rec {
	enum store_rec_kind kind;
	union {
		struct run_rec run; /* STORE_REC_RUN: a snapshot */
		struct store_log_chunk log;
		struct store_event event; /* STORE_REC_EVENT: strings in the same allocation */
	} u;
};

/* What write_batch() did with the records it was given. */
struct store_batch_result {
	size_t written;    /* records written */
	size_t duplicates; /* runs dropped by the (job, scheduled_at) rule (logged) */
	size_t rejected;   /* other records the database refused (logged) */
	/* The rollup counted in the transaction (store_stats' members of the same names). */
	uint64_t finished[RUN_STATE_COUNT];
	uint64_t lateness[STORE_LATENESS_BUCKETS];
	uint64_t lateness_sum_ms;
};

/* Backend settings derived from store_options, defaults applied. */
struct store_config {
	const char *path;
	size_t log_cap; /* bytes kept per shard attempt */
	int sync_ms;    /* < 0: no background sync */
	bool sync_commit;
	int fold_ms; /* > 0 */
};

struct store_ops {
	const char *name;
	int (*open)(const struct store_config *cfg, void **be, struct error_info *e);
	void (*close)(void *be);

	/*
	 * Writes `n` records in one transaction. A record the database refuses (a
	 * constraint) is logged, counted in *res and skipped without aborting the
	 * others. Any other error rolls the whole transaction back and is returned;
	 * the front then retries the same records.
	 */
	int (*write_batch)(void *be, struct store_rec *const *recs, size_t n,
	                   struct store_batch_result *res);

	/*
	 * Background work of the writer, called from the writer thread (like
	 * write_batch, never at the same time) when its queue is empty: after a
	 * batch, then again when the *next_ms it set last time (>= 0) has passed
	 * with the queue still empty; -1: not until after the next batch. May be
	 * NULL.
	 */
	void (*idle)(void *be, int64_t *next_ms);

	int (*job_put)(void *be, const char *name, const char *spec, bool paused, int64_t now,
	               int64_t expect_revision, int64_t *revision, bool *created);
	int (*job_get)(void *be, const char *name, struct store_job *out);
	int (*job_delete)(void *be, const char *name);
	int (*job_list)(void *be, const struct store_job_filter *f, struct store_job **out,
	                size_t *n);
	int (*job_count)(void *be, int64_t *total, int64_t *paused);
	int (*job_load_all)(void *be,
	                    int (*fn)(void *ctx, const struct store_job *j, int64_t last_fire),
	                    void *ctx);

	int (*run_get)(void *be, int64_t id, struct run_rec *out);
	int (*run_list)(void *be, const struct store_run_filter *f, struct run_rec **out,
	                size_t *n);
	int (*run_max_id)(void *be, int64_t *id);
	int (*run_stats)(void *be, int64_t now, struct store_run_stats *out);
	int (*run_unfinished)(void *be, int (*fn)(void *ctx, const struct run_rec *r), void *ctx);
	int (*log_read)(void *be, int64_t run_id, int shard, int64_t offset, size_t max, char **out,
	                size_t *len, int64_t *next);

	int (*event_add)(void *be, const struct store_event *ev);
	int (*event_list)(void *be, const struct store_event_filter *f, struct store_event **out,
	                  size_t *n);

	int (*contact_put)(void *be, const struct store_contact *c, bool create_only, bool *created);
	int (*contact_get)(void *be, const char *name, struct store_contact *out);
	int (*contact_delete)(void *be, const char *name);
	int (*contact_list)(void *be, const struct store_contact_filter *f,
	                    struct store_contact **out, size_t *n);

	int (*user_put)(void *be, const struct store_user *u);
	int (*user_get)(void *be, const char *name, struct store_user *out);
	int (*user_delete)(void *be, const char *name);
	int (*user_list)(void *be, struct store_user **out, size_t *n);

	int (*token_put)(void *be, const struct store_token *t);
	int (*token_find)(void *be, const char *hash, struct store_token *out);
	int (*token_list)(void *be, const char *user, struct store_token **out, size_t *n);
	int (*token_delete)(void *be, const char *id);
	int (*token_touch)(void *be, const char *id, int64_t now);

	int (*session_put)(void *be, const struct store_session *ss);
	int (*session_find)(void *be, const char *hash, struct store_session *out);
	int (*session_delete)(void *be, const char *hash);

	int (*meta_get)(void *be, const char *key, char **val);
	int (*meta_set)(void *be, const char *key, const char *val);

	int (*prune)(void *be, int64_t before, int batch, int64_t *deleted);
};

extern const struct store_ops store_sqlite_ops;

/* The marker store_log_read() puts where a shard attempt's head was dropped. */
#define STORE_LOG_DROPPED_FMT "[... %lld bytes dropped ...]\n"

#endif
