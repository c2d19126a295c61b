/* SPDX-License-Identifier: MIT */
/*
 * Internals of the worker runtime (worker.c), the executor side of the wire
 * protocol behind the public clover_worker_* API of include/clover.h. Shared
 * with the `clover worker` command and the tests, nothing else.
 *
 * Terms: a *link* is the connection to one scheduler endpoint with its
 * protocol session; an *in-flight* attempt is one accepted from a dispatch
 * whose result has not been produced yet; a *pending* result is one stored in
 * the spool whose result-ack has not come back.
 */
#ifndef CLOVER_EXEC_WORKER_H
#define CLOVER_EXEC_WORKER_H

#include "clover.h"

#include <stdint.h>

#define WORKER_CAPACITY_DEFAULT 16
#define WORKER_JOBS_BYTES_MAX   (3u * 1024 * 1024) /* declared specs, all together */
#define WORKER_RESEND_CHUNK     4096               /* spooled results re-sent per loop turn */
#define WORKER_SPEC_CACHE_MAX   131072 /* parsed specs kept by their text (one per job served) */
#define WORKER_SPEC_CACHE_BYTES (16u * 1024 * 1024) /* and their text, all together */
#define WORKER_QUEUE_MAX        100000 /* accepted shards waiting for a handler thread */
#define WORKER_RESEND_LOGS      64     /* spooled output chunks re-sent per loop turn */
#define WORKER_LOG_SPOOL_MAX    (1024 * 1024)      /* output spooled per attempt, bytes */
#define WORKER_LOG_SPOOL_TOTAL  (64 * 1024 * 1024) /* output spooled in all, bytes */

/* Counters for tests and the command's log; read on the worker's thread or after run. */
struct worker_stats {
	uint64_t dispatched;  /* dispatch items received */
	uint64_t accepted;    /* of which accepted */
	uint64_t results;     /* results produced */
	uint64_t results_sent; /* result items sent (re-sends count again) */
	uint64_t acked;       /* result-acks received */
	uint64_t hellos;      /* hellos sent */
};

/* Copies the worker's counters. Not thread-safe against a running worker. */
void worker_stats(const clover_worker *w, struct worker_stats *out);

/*
 * Unacknowledged results in the spool, as of the end of the worker's last
 * loop turn. Thread-safe (an atomic the owner thread publishes).
 */
int64_t worker_pending(clover_worker *w);

#endif
