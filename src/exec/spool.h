/* SPDX-License-Identifier: MIT */
/*
 * The executor's spool (the seed's "temp DB"): a local SQLite file that keeps
 * what an executor must not lose when no scheduler is reachable, or when the
 * executor itself restarts:
 *
 * - *in-flight* shards: attempts accepted from a scheduler and not finished.
 *   After a restart they are not running any more; the worker turns each into
 *   a failed result ("the executor stopped while the shard ran").
 * - *results*: finished attempts whose result-ack has not come back. They are
 *   kept until the ack, and re-sent, oldest first, after every reconnection.
 * - *logs*: output an attempt wrote while its scheduler was unreachable,
 *   sent (before the results) once it is back, then deleted.
 *
 * An attempt is named by (run_id, shard, attempt); storing the same attempt's
 * result twice keeps the first (idempotent). A spool belongs to one thread
 * (the worker's loop); it is not thread-safe. Path NULL means an in-memory
 * spool that dies with the process.
 */
#ifndef CLOVER_EXEC_SPOOL_H
#define CLOVER_EXEC_SPOOL_H

#include "base/error.h"
#include "proto/msg.h"

#include <stddef.h>
#include <stdint.h>

struct spool;

/* A spooled result: the wire item and the scheduler endpoint it belongs to. */
struct spool_result {
	int64_t seq;                   /* storing order, increasing, never reused */
	struct proto_result_item item; /* item.message is owned by the record */
	char *endpoint;                /* or NULL: any scheduler */
};

/* A spooled chunk of output: the wire message and the endpoint it belongs to. */
struct spool_log {
	int64_t seq;          /* storing order */
	struct proto_log log; /* log.data is owned by the record */
	char *endpoint;       /* or NULL: any scheduler */
};

/* A shard that was in flight: what is known of it. */
struct spool_inflight {
	int64_t run_id;
	int shard;
	int attempt;
	uint32_t ticket;
	int64_t started_at; /* 0: not started */
	char *endpoint;     /* or NULL */
};

/*
 * Opens (creating if needed) the spool at `path` (NULL: in memory) and
 * applies its schema. On success *out is the spool (close with
 * spool_close()); on error returns CLOVER_ESTORE or CLOVER_ENOMEM with `e`
 * naming the path and SQLite's message.
 */
int spool_open(const char *path, struct spool **out, struct error_info *e);

/* Closes the spool. NULL is a no-op. */
void spool_close(struct spool *sp);

/*
 * Groups the writes until spool_commit() into one transaction (one disk
 * sync). Nesting is not supported. Both return 0 or CLOVER_ESTORE.
 */
int spool_begin(struct spool *sp);
int spool_commit(struct spool *sp);

/*
 * Records an accepted attempt as in flight (replacing an earlier record of
 * the same attempt). `endpoint` may be NULL. Returns 0 or CLOVER_ESTORE.
 */
int spool_inflight_put(struct spool *sp, int64_t run_id, int shard, int attempt,
                       uint32_t ticket, const char *endpoint);

/* Records that an in-flight attempt started at `at`. 0 or CLOVER_ESTORE. */
int spool_inflight_started(struct spool *sp, int64_t run_id, int shard, int attempt, int64_t at);

/* Forgets an in-flight attempt that was not started after all. 0 or CLOVER_ESTORE. */
int spool_inflight_del(struct spool *sp, int64_t run_id, int shard, int attempt);

/*
 * Lists the in-flight attempts, oldest first, into a malloc'd array *out of
 * *n records (free with spool_inflight_free()). 0, CLOVER_ESTORE or
 * CLOVER_ENOMEM (then *out is NULL).
 */
int spool_inflight_list(struct spool *sp, struct spool_inflight **out, size_t *n);
void spool_inflight_free(struct spool_inflight *v, size_t n);

/*
 * Stores a finished attempt's result and drops its in-flight record, in one
 * statement group. A result of an attempt that is already stored is ignored
 * (*added = false; may be NULL): the first one wins. Returns 0 or
 * CLOVER_ESTORE.
 */
int spool_result_put(struct spool *sp, const struct proto_result_item *r, const char *endpoint,
                     bool *added);

/* True when the spool holds a result or an in-flight record of the attempt. */
bool spool_has(struct spool *sp, int64_t run_id, int shard, int attempt);

/*
 * Deletes the result of an attempt (its result-ack came). Deleting one that
 * is not there is not an error. Returns 0 or CLOVER_ESTORE.
 */
int spool_result_ack(struct spool *sp, int64_t run_id, int shard, int attempt);

/*
 * Lists up to `max` unacknowledged results stored after the one numbered
 * `after_seq` (0: from the first), in the order they were stored, into a
 * malloc'd array *out of *n (free with spool_results_free()). A caller walks
 * a long backlog by passing the last seq it got. 0, CLOVER_ESTORE or
 * CLOVER_ENOMEM (then *out is NULL).
 */
int spool_results(struct spool *sp, int64_t after_seq, size_t max, struct spool_result **out,
                  size_t *n);
void spool_results_free(struct spool_result *v, size_t n);

/* Number of stored results, or a negative CLOVER_E* code. */
int64_t spool_result_count(struct spool *sp);

/*
 * Keeps a chunk of an attempt's output written while its scheduler was
 * unreachable (`l->data` is copied). Returns 0 or CLOVER_ESTORE.
 */
int spool_log_put(struct spool *sp, const struct proto_log *l, const char *endpoint);
/*
 * Lists up to `max` spooled chunks stored after `after_seq`, oldest first,
 * into a malloc'd array *out of *n (free with spool_logs_free()). 0,
 * CLOVER_ESTORE or CLOVER_ENOMEM (then *out is NULL).
 */
int spool_logs(struct spool *sp, int64_t after_seq, size_t max, struct spool_log **out, size_t *n);
void spool_logs_free(struct spool_log *v, size_t n);
/* Deletes spooled chunk `seq` (sent). 0 or CLOVER_ESTORE. */
int spool_log_del(struct spool *sp, int64_t seq);
/* Bytes of output spooled, or a negative CLOVER_E* code. */
int64_t spool_log_bytes(struct spool *sp);

#endif
