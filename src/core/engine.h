/* SPDX-License-Identifier: MIT */
/*
 * The engine: clover's scheduling state machine. It is sans-I/O: it reads no
 * clock, touches no socket, file or database. Its caller (the daemon, or a
 * test with a virtual clock) tells it what happened -- time advanced to T, a
 * job was put or removed, a shard started or finished, an executor joined or
 * left -- always with the current wall-clock time `now` (UTC ms), and collects
 * what it must do next as actions: persist a run snapshot, dispatch a shard to
 * an executor, kill a shard, record an event. engine_next_wake() says when to
 * call engine_tick() again.
 *
 * Terms: a *fire* is one scheduled instant of a job; it becomes a *run* (or a
 * run recorded as skipped). A run has shards; a shard runs as one or more
 * *attempts* (retries). Policies (docs/job-spec.md): misfire (fire_once, skip,
 * fire_all), concurrency (forbid, allow, replace, serial), retry with
 * exponential backoff, on_success chains, pause.
 *
 * Not thread-safe: one thread owns an engine.
 */
#ifndef CLOVER_CORE_ENGINE_H
#define CLOVER_CORE_ENGINE_H

#include "core/job.h"
#include "core/run.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct engine;

struct engine_options {
	int64_t first_run_id;   /* ids continue after the store's largest */
	int misfire_cap;        /* fire_all runs / skipped records per misfire (default 100) */
	int serial_queue_max;   /* runs queued behind a running one (default 16) */
	uint64_t seed;          /* for the `random` route */
	int64_t lead_ms;        /* fire up to this early when the job is idle (default 0) */
};

enum engine_action_kind {
	ENGINE_ACT_RUN,      /* persist `run` (a snapshot of its current state) */
	ENGINE_ACT_DISPATCH, /* start an attempt of a shard on `executor` */
	ENGINE_ACT_KILL,     /* stop an attempt on `executor` */
	ENGINE_ACT_EVENT,    /* record `message` in the system event log */
};

enum engine_event_level { ENGINE_EV_INFO, ENGINE_EV_WARN, ENGINE_EV_ERROR };

/*
 * An action. Pointers stay valid until engine_actions_clear(); a RUN action
 * shows the run as it is now (several changes to one run between two clears
 * give one RUN action, at the place of the first).
 */
struct engine_action {
	enum engine_action_kind kind;
	const struct run_rec *run; /* RUN */
	/* DISPATCH and KILL */
	int64_t run_id;
	int shard;
	int shard_count;
	int attempt;
	int64_t scheduled_at;
	struct job_spec *spec;   /* DISPATCH: the run's spec (borrowed) */
	const char *shard_param; /* DISPATCH: or NULL */
	const char *params;      /* DISPATCH: manual trigger params, or NULL */
	const char *executor;
	int64_t not_before; /* DISPATCH: do not start before this instant (0: at once) */
	bool timed_out; /* KILL: because of the job's timeout */
	/* EVENT */
	enum engine_event_level level;
	const char *job;
	const char *message;
};

int engine_new(const struct engine_options *opt, struct engine **out);
void engine_free(struct engine *e); /* NULL is a no-op */

/*
 * Adds or replaces a job (the engine takes over the caller's reference to
 * `spec`). Fires are computed after `since`: the last instant the job was
 * fired, so instants between `since` and `now` are misfires handled by the
 * job's policy; pass `now` for a job that should start fresh. Runs already
 * active keep the spec they started with.
 */
int engine_job_put(struct engine *e, struct job_spec *spec, int64_t since, int64_t now);
/* Removes a job; its active runs finish, queued ones are cancelled. CLOVER_ENOENT. */
int engine_job_remove(struct engine *e, const char *name, int64_t now);

/* Fires what is due at `now` and runs due retries. */
int engine_tick(struct engine *e, int64_t now);
/* The earliest instant engine_tick() has work, or INT64_MAX. */
int64_t engine_next_wake(const struct engine *e);
/* The next scheduled fire of a job (CLOVER_ENOENT: unknown, paused or none). */
int engine_job_next_fire(const struct engine *e, const char *name, int64_t *at);

/* A fire to come, as engine_next_fires() lists it. */
struct engine_fire {
	const char *job; /* valid until the engine is next called */
	int64_t at;
};
/*
 * The next `max` scheduled fires of all jobs, soonest first (ties in timer
 * order), into `out`; returns how many. Costs O(max log max) plus the retries
 * met on the way (at most 4 * max + 64 timers are looked at), whatever the
 * number of jobs. Fires already taken ahead of their instant are not listed.
 */
size_t engine_next_fires(const struct engine *e, struct engine_fire *out, size_t max);

/* Manual trigger (trigger "manual"); params may be NULL. CLOVER_ENOENT. */
int engine_trigger(struct engine *e, const char *name, const char *params, int64_t now,
		   int64_t *run_id);
/* Kills a run's unfinished shards. CLOVER_ENOENT unknown, CLOVER_ESTATE finished. */
int engine_kill(struct engine *e, int64_t run_id, int64_t now);

/* Reports from executors. Stale attempts are ignored. */
int engine_shard_started(struct engine *e, int64_t run_id, int shard, int attempt, int64_t at);
int engine_shard_progress(struct engine *e, int64_t run_id, int shard, int attempt, double progress,
			  const char *message);
/* `state` is SUCCEEDED, FAILED, TIMED_OUT, CANCELLED or LOST. */
int engine_shard_finished(struct engine *e, int64_t run_id, int shard, int attempt,
			  enum run_state state, int exit_code, const char *message, int64_t at);

/*
 * The executor did not take a dispatched attempt (busy, draining, invalid, or
 * its queue was full): the shard goes back to routing and is dispatched, as a
 * new attempt, to another matching executor, at most ENGINE_REROUTES_MAX
 * times per shard; with no other executor it finishes FAILED with `why` (and
 * the retry policy applies). A fire taken early still starts at its instant.
 * CLOVER_ENOENT for a stale or unknown attempt.
 */
#define ENGINE_REROUTES_MAX 3
int engine_shard_refused(struct engine *e, int64_t run_id, int shard, int attempt,
			 const char *why, int64_t now);

/*
 * Takes back a run left unfinished by a previous process (crash recovery):
 * attempts that were running are lost; each lost shard is retried if its
 * job's retry policy allows, else the run ends `lost`. Call after the run's
 * job was put.
 */
int engine_recover_run(struct engine *e, const struct run_rec *r, int64_t now);

/*
 * Takes back every run fired ahead of an instant still to come (see
 * engine_options.lead_ms); each is recorded as skipped with the reason
 * "<why> before this instant". The daemon calls it when it stops firing.
 */
int engine_withdraw_early(struct engine *e, const char *why, int64_t now);

/*
 * Executors that can run shards. `labels` is "k=v" strings. CLOVER_EEXIST for
 * a known id, except an expected one (engine_executor_expect), which it fills.
 */
int engine_executor_join(struct engine *e, const char *id, const char *const *labels,
			 size_t nlabels, int capacity);
/*
 * Stops (enabled false) or resumes routing new shards to an executor; what
 * it runs finishes there. Routing, sharding, retries and failover skip a
 * disabled executor as if it did not match. CLOVER_ENOENT: unknown id.
 */
int engine_executor_set_enabled(struct engine *e, const char *id, bool enabled);
/*
 * Shards dispatched to executor `id` (NULL: to any executor) and not finished
 * yet; 0 for an unknown id.
 */
int engine_executor_running(const struct engine *e, const char *id);
/*
 * Scheduler restart without duplicates: before engine_recover_run(), the
 * daemon *expects* each remote executor that had attempts in flight. An
 * expected executor is a disabled placeholder (no labels, no new shards);
 * engine_recover_run() keeps its attempts in flight instead of losing them.
 * When the executor joins (engine_executor_join() fills the placeholder), the
 * daemon calls engine_executor_reconcile() with the attempts the executor
 * reports (its hello's running list): the recovered ones it does not report
 * were lost and fail over (or are lost). An executor that never comes back is
 * left with engine_executor_leave(), which fails them over. Expecting a known
 * executor does nothing. CLOVER_ENOMEM.
 */
int engine_executor_expect(struct engine *e, const char *id);
struct engine_ref {
	int64_t run_id;
	int shard;
	int attempt;
};
/* Only the first call after engine_executor_expect() does anything. CLOVER_ENOENT. */
int engine_executor_reconcile(struct engine *e, const char *id, const struct engine_ref *running,
			      size_t n, int64_t now);
/*
 * A lost executor: its shards fail over (or are lost, per the job's failover).
 * CLOVER_ENOENT for an unknown id; CLOVER_ENOMEM changes nothing.
 */
int engine_executor_leave(struct engine *e, const char *id, int64_t now);

/*
 * Hands out the actions produced since the last engine_actions_clear(), in
 * order. The array and everything it points to are owned by the engine and
 * stay valid until engine_actions_clear(), which the caller calls once it has
 * carried them out (or copied what it keeps).
 */
const struct engine_action *engine_actions(struct engine *e, size_t *n);
void engine_actions_clear(struct engine *e);

/* Counters for metrics and tests. */
struct engine_stats {
	uint64_t fires, runs, skipped, misfired, retries, succeeded, failed;
	size_t jobs, active_runs;
};
void engine_stats(const struct engine *e, struct engine_stats *out);

#endif
