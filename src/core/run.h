/* SPDX-License-Identifier: MIT */
/*
 * Run records: the durable history of what happened. A run is one firing of a
 * job for one scheduled instant (or one manual/chain trigger); it has one or
 * more shards; each shard is executed by one or more attempts (retries and
 * failover add attempts), of which the record keeps the latest.
 *
 * These are plain value types shared by the engine (which produces them), the
 * store (which writes them) and the API (which reads them). Strings are owned
 * by the record; run_rec_free() frees them.
 */
#ifndef CLOVER_CORE_RUN_H
#define CLOVER_CORE_RUN_H

#include <stdbool.h>
#include <stdint.h>

enum run_state {
	RUN_PENDING,
	RUN_RUNNING,
	RUN_SUCCEEDED,
	RUN_FAILED,
	RUN_TIMED_OUT,
	RUN_CANCELLED,
	RUN_SKIPPED,
	RUN_LOST,
};
#define RUN_STATE_COUNT 8

enum run_trigger { RUN_TRIG_SCHEDULE, RUN_TRIG_MANUAL, RUN_TRIG_RETRY, RUN_TRIG_MISFIRE, RUN_TRIG_CHAIN };
#define RUN_TRIGGER_COUNT 5

struct shard_rec {
	int index;
	int attempt; /* 1 for the first execution */
	enum run_state state;
	char *executor; /* id of the executor of the latest attempt, or NULL */
	int exit_code;  /* -1 when there is none (not run, killed by a signal) */
	int64_t started_at; /* 0: not started */
	int64_t finished_at;
	double progress; /* 0..1, -1 unknown */
	char *message;   /* progress text or error, or NULL */
};

struct run_rec {
	int64_t id;
	char *job;
	int64_t scheduled_at;
	enum run_trigger trigger;
	enum run_state state;
	int64_t created_at;
	int64_t started_at; /* 0: not started */
	int64_t finished_at;
	char *params; /* manual trigger parameters, or NULL */
	char *reason; /* why skipped/failed/lost, or NULL */
	int nshards;
	struct shard_rec *shards;
};

const char *run_state_name(enum run_state s);
int run_state_parse(const char *name, enum run_state *out); /* 0 or CLOVER_EINVAL */
const char *run_trigger_name(enum run_trigger t);
int run_trigger_parse(const char *name, enum run_trigger *out);
/* True for succeeded, failed, timed_out, cancelled, skipped and lost. */
bool run_state_final(enum run_state s);

/* Deep copy; returns 0 or CLOVER_ENOMEM (then `dst` holds nothing to free). */
int run_rec_copy(struct run_rec *dst, const struct run_rec *src);
/* Frees what the record owns (not the record itself). */
void run_rec_clear(struct run_rec *r);

#endif
