/* SPDX-License-Identifier: MIT */
/*
 * The scheduling engine; the contract is in engine.h.
 *
 * Inside: every job with a schedule has a fire timer in one min-heap keyed by
 * (instant, sequence); every shard waiting for a retry has a retry timer in
 * the same heap. A job keeps the list of its active runs (dispatched, or
 * queued behind a running one under the serial policy). Runs are found by id
 * in an open-addressing table. Actions accumulate in an array until the
 * caller clears them; runs that reached a final state are freed only then,
 * so the snapshots the actions point to stay valid.
 */
#include "core/engine.h"
#include "base/duration.h"
#include "base/hash.h"
#include "base/heap.h"
#include "base/time.h"
#include "core/shard.h"
#include "cron/cron.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum timer_kind { TIMER_FIRE, TIMER_RETRY };

struct timer {
	struct heap_node node;
	enum timer_kind kind;
};

struct erun;

struct ejob {
	struct timer fire; /* armed while the job has a next fire */
	struct job_spec *spec;
	int64_t last_fire; /* the last instant fired or recorded as skipped */
	struct erun *active; /* active runs, oldest first */
	int nrunning;        /* active runs that are not queued */
	int nqueued;         /* serial policy: runs waiting their turn */
	size_t rr;           /* round-robin cursor */
	bool removed;        /* deleted while runs were active: on the orphan list */
	struct ejob *next_orphan;
};

struct eshard {
	struct timer retry;
	struct erun *run;
	int index;
	int reroutes; /* dispatches refused by an executor and sent to another */
};

struct erun {
	struct run_rec rec; /* first: actions point at it */
	struct ejob *job;
	struct job_spec *spec;
	struct erun *prev, *next; /* the job's active list, or the dead list */
	struct eshard *xs;
	int open;    /* shards not in a final state */
	bool queued; /* waiting behind a running run (serial) */
	bool killing;
	bool persist_pending; /* an ENGINE_ACT_RUN for it is in the batch */
};

struct eexec {
	char *id;
	char **labels; /* "k=v" */
	size_t nlabels;
	int capacity;
	int running;
	int64_t last_dispatch;
	bool disabled; /* takes no new shards (engine_executor_set_enabled) */
	bool expected; /* a placeholder (engine_executor_expect) until it joins */
	bool reconcile; /* its recovered attempts await engine_executor_reconcile() */
};

struct engine {
	struct engine_options opt;
	struct heap timers; /* fires and retries, by instant */
	struct heap held;   /* timers taken early that must wait for their instant */
	struct hmap jobs; /* name -> struct ejob */
	struct imap runs; /* run id -> struct erun, active runs */
	struct eexec **execs; /* sorted by id */
	size_t nexecs;
	int64_t next_id;
	int64_t clock; /* the latest `now` engine_tick() was given */
	uint64_t rng;

	struct engine_action *acts;
	size_t nacts, capacts;
	char **strs; /* strings owned by the current batch of actions */
	size_t nstrs, capstrs;
	struct erun *dead; /* finished runs, freed when actions are cleared */
	struct ejob *orphans; /* removed jobs whose runs are still active */
	struct hmap interned; /* executor ids that records point to */
	struct engine_stats stats;
};

/* ------------------------------------------------------------------ */
/* actions */

static struct engine_action *act_push(struct engine *e, enum engine_action_kind kind)
{
	if (e->nacts == e->capacts) {
		size_t cap = e->capacts ? e->capacts * 2 : 256;
		struct engine_action *a = realloc(e->acts, cap * sizeof(*a));

		if (a == NULL)
			return NULL;
		e->acts = a;
		e->capacts = cap;
	}
	struct engine_action *a = &e->acts[e->nacts++];

	memset(a, 0, sizeof(*a));
	a->kind = kind;
	return a;
}

static char *batch_str(struct engine *e, char *s)
{
	if (s == NULL)
		return NULL;
	if (e->nstrs == e->capstrs) {
		size_t cap = e->capstrs ? e->capstrs * 2 : 64;
		char **v = realloc(e->strs, cap * sizeof(*v));

		if (v == NULL) {
			free(s);
			return NULL;
		}
		e->strs = v;
		e->capstrs = cap;
	}
	e->strs[e->nstrs++] = s;
	return s;
}

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, f);
	if (vasprintf(&s, f, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}

static void event(struct engine *e, enum engine_event_level level, const char *job, char *msg)
{
	struct engine_action *a;

	if (batch_str(e, msg) == NULL)
		return;
	a = act_push(e, ENGINE_ACT_EVENT);
	if (a == NULL)
		return;
	a->level = level;
	a->job = job ? batch_str(e, strdup(job)) : NULL;
	a->message = msg;
}

static void persist(struct engine *e, struct erun *r)
{
	struct engine_action *a;

	if (r->persist_pending)
		return;
	a = act_push(e, ENGINE_ACT_RUN);
	if (a == NULL)
		return;
	a->run = &r->rec;
	r->persist_pending = true;
}

static void set_str(char **dst, char *s)
{
	free(*dst);
	*dst = s;
}

/* Takes a timer out of whichever heap holds it. */
static void timer_cancel(struct engine *e, struct timer *t)
{
	heap_remove(&e->timers, &t->node);
	heap_remove(&e->held, &t->node);
}

/* ------------------------------------------------------------------ */
/* runs */

/*
 * A run, its shard records and its per-shard timers are one allocation. Its
 * record borrows the job name from the run's spec and executor ids from the
 * engine's interned strings; it owns params, reason and shard messages.
 */
static void run_free(struct erun *r)
{
	if (r == NULL)
		return;
	free(r->rec.params);
	free(r->rec.reason);
	for (int i = 0; i < r->rec.nshards; i++)
		free(r->rec.shards[i].message);
	job_spec_unref(r->spec);
	free(r);
}

static struct erun *run_alloc(struct ejob *j, int nshards)
{
	struct erun *r = calloc(1, sizeof(*r) + (size_t)nshards * (sizeof(struct shard_rec) +
								   sizeof(struct eshard)));

	if (r == NULL)
		return NULL;
	r->rec.shards = (struct shard_rec *)(r + 1);
	r->xs = (struct eshard *)(r->rec.shards + nshards);
	r->rec.nshards = nshards;
	for (int i = 0; i < nshards; i++) {
		heap_node_init(&r->xs[i].retry.node);
		r->xs[i].retry.kind = TIMER_RETRY;
		r->xs[i].run = r;
		r->xs[i].index = i;
	}
	r->job = j;
	r->spec = job_spec_ref(j->spec);
	r->rec.job = r->spec->name;
	return r;
}

/* The engine's copy of an executor id: stable while the engine lives. */
static char *intern(struct engine *e, const char *id)
{
	char *s = hmap_get(&e->interned, id);

	if (s == NULL && (s = strdup(id)) != NULL && hmap_put(&e->interned, s, s)) {
		free(s);
		s = NULL;
	}
	return s;
}

static struct erun *run_new(struct engine *e, struct ejob *j, int64_t scheduled_at,
			    enum run_trigger trig, const char *params, int nshards, int64_t now)
{
	struct erun *r = run_alloc(j, nshards);

	if (r == NULL)
		return NULL;
	if (params && (r->rec.params = strdup(params)) == NULL) {
		run_free(r);
		return NULL;
	}
	r->rec.id = e->next_id++;
	r->rec.scheduled_at = scheduled_at;
	r->rec.trigger = trig;
	r->rec.state = RUN_PENDING;
	r->rec.created_at = now;
	for (int i = 0; i < nshards; i++) {
		struct shard_rec *sh = &r->rec.shards[i];

		sh->index = i;
		sh->state = RUN_PENDING;
		sh->exit_code = -1;
		sh->progress = -1;
	}
	r->open = nshards;
	return r;
}

/* Records an instant that will not run (a run in state skipped). */
static void record_skipped(struct engine *e, struct ejob *j, int64_t at, enum run_trigger trig,
			   char *reason, int64_t now)
{
	struct erun *r = run_new(e, j, at, trig, NULL, 1, now);

	if (r == NULL) {
		free(reason);
		return;
	}
	r->rec.state = RUN_SKIPPED;
	r->rec.shards[0].state = RUN_SKIPPED;
	r->rec.finished_at = now;
	r->rec.reason = reason;
	r->open = 0;
	e->stats.skipped++;
	persist(e, r);
	r->next = e->dead;
	e->dead = r;
}

static void active_link(struct ejob *j, struct erun *r)
{
	struct erun **pp = &j->active;
	struct erun *prev = NULL;

	while (*pp) {
		prev = *pp;
		pp = &(*pp)->next;
	}
	r->prev = prev;
	r->next = NULL;
	*pp = r;
}

static void active_unlink(struct ejob *j, struct erun *r)
{
	if (r->prev)
		r->prev->next = r->next;
	else
		j->active = r->next;
	if (r->next)
		r->next->prev = r->prev;
	r->prev = r->next = NULL;
}

static bool exec_matches(const struct eexec *x, const struct job_spec *spec)
{
	for (size_t i = 0; i < spec->nlabels; i++) {
		const struct job_kv *kv = &spec->labels[i];
		size_t klen = strlen(kv->key);
		bool found = false;

		for (size_t l = 0; l < x->nlabels && !found; l++) {
			const char *lab = x->labels[l];

			found = strncmp(lab, kv->key, klen) == 0 && lab[klen] == '=' &&
				strcmp(lab + klen + 1, kv->val) == 0;
		}
		if (!found)
			return false;
	}
	return true;
}

/* Collects the executors that match the job, in id order. */
static size_t match_execs(struct engine *e, const struct job_spec *spec, struct eexec **out)
{
	size_t n = 0;

	for (size_t i = 0; i < e->nexecs; i++) {
		if (!e->execs[i]->disabled && exec_matches(e->execs[i], spec))
			out[n++] = e->execs[i];
	}
	return n;
}

static uint64_t rng_next(struct engine *e)
{
	/* xorshift64*: deterministic from the seed, so simulations replay. */
	e->rng ^= e->rng >> 12;
	e->rng ^= e->rng << 25;
	e->rng ^= e->rng >> 27;
	return e->rng * 2685821657736338717ull;
}

/* Picks one of m[0..n-1] by the job's route, avoiding `avoid` when another exists. */
static struct eexec *route_pick(struct engine *e, struct ejob *j, struct eexec **m, size_t n,
				const char *avoid)
{
	struct eexec *cand[64];
	size_t k = 0;

	for (size_t i = 0; i < n && k < 64; i++) {
		if (!(avoid && n > 1 && strcmp(m[i]->id, avoid) == 0))
			cand[k++] = m[i];
	}
	if (k == 0)
		return NULL;
	switch (j->spec->route) {
	case JOB_ROUTE_FIRST:
		return cand[0];
	case JOB_ROUTE_LAST:
		return cand[k - 1];
	case JOB_ROUTE_RANDOM:
		return cand[rng_next(e) % k];
	case JOB_ROUTE_CONSISTENT_HASH:
		return cand[hash_name(j->spec->name) % k];
	case JOB_ROUTE_LEAST_BUSY: {
		/* The lowest running/capacity (cross-multiplied; capacity < 1 counts as 1). */
		struct eexec *best = cand[0];
		int64_t bc = best->capacity > 0 ? best->capacity : 1;

		for (size_t i = 1; i < k; i++) {
			int64_t c = cand[i]->capacity > 0 ? cand[i]->capacity : 1;

			if ((int64_t)cand[i]->running * bc < (int64_t)best->running * c) {
				best = cand[i];
				bc = c;
			}
		}
		return best;
	}
	case JOB_ROUTE_LEAST_RECENT: {
		struct eexec *best = cand[0];

		for (size_t i = 1; i < k; i++) {
			if (cand[i]->last_dispatch < best->last_dispatch)
				best = cand[i];
		}
		return best;
	}
	case JOB_ROUTE_ROUND_ROBIN:
	case JOB_ROUTE_BROADCAST:
	default:
		return cand[j->rr++ % k];
	}
}

static void finish_shard(struct engine *e, struct erun *r, int idx, enum run_state st,
			 char *msg, int64_t at, bool release);
static struct eexec *exec_find(struct engine *e, const char *id);

/* Sends one attempt of shard `idx` to executor `x`. */
static void dispatch(struct engine *e, struct erun *r, int idx, struct eexec *x, int64_t now)
{
	struct shard_rec *sh = &r->rec.shards[idx];
	struct engine_action *a;
	char *id = intern(e, x->id);

	if (id == NULL)
		return;
	sh->executor = id;
	sh->attempt++;
	sh->state = RUN_PENDING;
	sh->started_at = 0;
	sh->finished_at = 0;
	sh->exit_code = -1;
	x->running++;
	x->last_dispatch = now;
	a = act_push(e, ENGINE_ACT_DISPATCH);
	if (a == NULL)
		return;
	a->run_id = r->rec.id;
	a->shard = idx;
	a->shard_count = r->rec.nshards;
	a->attempt = sh->attempt;
	a->scheduled_at = r->rec.scheduled_at;
	a->spec = r->spec;
	a->shard_param = (size_t)idx < r->spec->nshard_params ? r->spec->shard_params[idx] : NULL;
	a->params = r->rec.params;
	a->executor = sh->executor;
	/* A fire taken early (lead time) must not start before its instant. */
	a->not_before = sh->attempt == 1 || r->rec.scheduled_at > now ? r->rec.scheduled_at : 0;
}

static char *no_executor_msg(const struct job_spec *spec)
{
	return spec->nlabels ? fmt("no executor available with the job's target labels")
			     : fmt("no executor available");
}

/* Dispatches every shard of a run that is starting now. */
static void start_run(struct engine *e, struct erun *r, int64_t now)
{
	struct eexec **m = e->nexecs ? calloc(e->nexecs, sizeof(*m)) : NULL;
	size_t n = m ? match_execs(e, r->spec, m) : 0;
	struct ejob *j = r->job;

	r->queued = false;
	j->nrunning++;
	e->stats.runs++;
	persist(e, r);
	if (n == 0) {
		char *msg = no_executor_msg(r->spec);

		event(e, ENGINE_EV_WARN, j->spec->name,
		      fmt("run %lld: %s", (long long)r->rec.id, msg ? msg : "no executor"));
		for (int i = 0; i < r->rec.nshards; i++)
			finish_shard(e, r, i, RUN_FAILED, i == 0 ? msg : (msg ? strdup(msg) : NULL), now,
				     false);
		free(m);
		return;
	}
	if (r->rec.nshards == 1) {
		dispatch(e, r, 0, route_pick(e, j, m, n, NULL), now);
	} else {
		int *who = malloc((size_t)r->rec.nshards * sizeof(*who));

		if (who == NULL) {
			free(m);
			return;
		}
		if (r->spec->route == JOB_ROUTE_BROADCAST) {
			for (int i = 0; i < r->rec.nshards; i++)
				who[i] = i % (int)n;
		} else {
			shard_assign(r->spec->shard_strategy, r->spec->name, r->rec.nshards, (int)n,
				     who);
		}
		for (int i = 0; i < r->rec.nshards; i++)
			dispatch(e, r, i, m[who[i]], now);
		free(who);
	}
	free(m);
}

static int shard_count_for(struct engine *e, const struct job_spec *spec)
{
	if (spec->route == JOB_ROUTE_BROADCAST) {
		size_t n = 0;

		for (size_t i = 0; i < e->nexecs; i++)
			n += exec_matches(e->execs[i], spec);
		return n ? (int)n : 1;
	}
	return spec->shard_count;
}

static void kill_run(struct engine *e, struct erun *r, const char *why, int64_t now);

/* A run fired ahead of its instant (lead time) that has not reached it yet. */
static bool run_early(const struct erun *r, int64_t now)
{
	return r->rec.state == RUN_PENDING && !r->queued && r->rec.scheduled_at > now;
}

/*
 * Takes back a run fired ahead of its instant: it cannot have started, so its
 * dispatched shards are cancelled at the executor (whose reports are then
 * ignored: the run is gone from the table) and the instant is recorded as
 * skipped with `why`.
 */
static void withdraw(struct engine *e, struct erun *r, char *why, int64_t now)
{
	struct ejob *j = r->job;

	for (int i = 0; i < r->rec.nshards; i++) {
		struct shard_rec *sh = &r->rec.shards[i];
		struct eexec *x = exec_find(e, sh->executor);
		struct engine_action *a;

		if (sh->attempt > 0 && !run_state_final(sh->state)) {
			if (x && x->running > 0)
				x->running--;
			a = act_push(e, ENGINE_ACT_KILL);
			if (a) {
				a->run_id = r->rec.id;
				a->shard = i;
				a->attempt = sh->attempt;
				a->executor = sh->executor;
			}
		}
		sh->state = RUN_SKIPPED;
		sh->finished_at = now;
	}
	r->open = 0;
	r->rec.state = RUN_SKIPPED;
	r->rec.finished_at = now;
	set_str(&r->rec.reason, why);
	e->stats.skipped++;
	persist(e, r);
	active_unlink(j, r);
	j->nrunning--;
	imap_del(&e->runs, r->rec.id);
	r->next = e->dead;
	e->dead = r;
}

/* Withdraws the job's runs fired ahead of instants still to come. */
static void withdraw_early(struct engine *e, struct ejob *j, const char *what, int64_t now)
{
	for (struct erun *r = j->active, *next; r; r = next) {
		next = r->next;
		if (run_early(r, now))
			withdraw(e, r, fmt("the job was %s before this instant", what), now);
	}
}

/*
 * One fire of a job: applies the concurrency policy and starts, queues or
 * skips a run. Returns the run's id (0 when out of memory).
 */
static int64_t fire(struct engine *e, struct ejob *j, int64_t at, enum run_trigger trig,
		    const char *params, int64_t now)
{
	struct erun *r;

	e->stats.fires++;
	if (j->active) {
		switch (j->spec->concurrency) {
		case JOB_CONC_FORBID: {
			int64_t id = e->next_id;

			record_skipped(e, j, at, trig,
				       run_early(j->active, now)
					       ? fmt("run %lld, scheduled for this job's next instant, "
						     "is about to start (concurrency: forbid)",
						     (long long)j->active->rec.id)
					       : fmt("run %lld was still running (concurrency: forbid)",
						     (long long)j->active->rec.id),
				       now);
			return id;
		}
		case JOB_CONC_SERIAL:
			if (j->nqueued >= e->opt.serial_queue_max) {
				int64_t id = e->next_id;

				record_skipped(e, j, at, trig,
					       fmt("serial queue is full (%d runs waiting)",
						   j->nqueued),
					       now);
				return id;
			}
			break;
		case JOB_CONC_REPLACE:
			for (struct erun *a = j->active; a;) {
				struct erun *next = a->next;

				kill_run(e, a, "replaced by a newer run", now);
				a = next;
			}
			break;
		case JOB_CONC_ALLOW:
			break;
		}
	}
	r = run_new(e, j, at, trig, params, shard_count_for(e, j->spec), now);
	if (r == NULL || imap_put(&e->runs, r->rec.id, r)) {
		run_free(r);
		event(e, ENGINE_EV_ERROR, j->spec->name, fmt("out of memory creating a run"));
		return 0;
	}
	active_link(j, r);
	if (j->spec->concurrency == JOB_CONC_SERIAL && j->nrunning > 0) {
		r->queued = true;
		j->nqueued++;
		persist(e, r);
	} else {
		start_run(e, r, now);
	}
	return r->rec.id;
}

static void job_free(struct engine *e, struct ejob *j)
{
	timer_cancel(e, &j->fire);
	job_spec_unref(j->spec);
	free(j);
}

static void start_next_queued(struct engine *e, struct ejob *j, int64_t now)
{
	for (struct erun *r = j->active; r; r = r->next) {
		if (r->queued) {
			j->nqueued--;
			start_run(e, r, now);
			return;
		}
	}
}

static enum run_state run_outcome(const struct erun *r)
{
	bool cancelled = false, timed_out = false, failed = false, lost = false;

	for (int i = 0; i < r->rec.nshards; i++) {
		switch (r->rec.shards[i].state) {
		case RUN_CANCELLED:
			cancelled = true;
			break;
		case RUN_TIMED_OUT:
			timed_out = true;
			break;
		case RUN_FAILED:
			failed = true;
			break;
		case RUN_LOST:
			lost = true;
			break;
		default:
			break;
		}
	}
	if (r->killing || cancelled)
		return RUN_CANCELLED;
	if (timed_out)
		return RUN_TIMED_OUT;
	if (failed)
		return RUN_FAILED;
	if (lost)
		return RUN_LOST;
	return RUN_SUCCEEDED;
}

static void timer_due(struct engine *e, struct timer *t, int64_t now);

/*
 * A job that goes idle while its next fire waits in `held` (it was busy when
 * the lead window opened, see engine_tick) takes that fire now, ahead of its
 * instant: the job is as idle as one whose fire was taken when the window
 * opened, and its executor can prepare the run instead of receiving it at the
 * instant in a burst. `at` is when the last run ended, as its executor saw
 * it: the fire is dated by the engine's clock when that is later.
 */
static void take_held_fire(struct engine *e, struct ejob *j, int64_t at)
{
	int64_t now = at > e->clock ? at : e->clock;

	if (!heap_contains(&e->held, &j->fire.node) || j->fire.node.deadline <= now)
		return;
	heap_remove(&e->held, &j->fire.node);
	timer_due(e, &j->fire, now);
}

static void finish_run(struct engine *e, struct erun *r, int64_t at)
{
	struct ejob *j = r->job;
	bool was_queued = r->queued;

	r->rec.state = run_outcome(r);
	r->rec.finished_at = at;
	if (r->rec.reason == NULL && r->rec.state != RUN_SUCCEEDED) {
		for (int i = 0; i < r->rec.nshards; i++) {
			const struct shard_rec *sh = &r->rec.shards[i];

			if (sh->state != RUN_SUCCEEDED && sh->message) {
				r->rec.reason = r->rec.nshards > 1
							? fmt("shard %d: %s", i, sh->message)
							: strdup(sh->message);
				break;
			}
		}
	}
	persist(e, r);
	if (r->rec.state == RUN_SUCCEEDED)
		e->stats.succeeded++;
	else
		e->stats.failed++;
	if (r->rec.state == RUN_FAILED || r->rec.state == RUN_TIMED_OUT ||
	    r->rec.state == RUN_LOST)
		event(e, ENGINE_EV_WARN, r->rec.job,
		      fmt("run %lld %s: %s", (long long)r->rec.id, run_state_name(r->rec.state),
			  r->rec.reason ? r->rec.reason : "no reason given"));

	active_unlink(j, r);
	if (was_queued)
		j->nqueued--;
	else
		j->nrunning--;
	imap_del(&e->runs, r->rec.id);
	r->next = e->dead;
	e->dead = r;

	if (r->rec.state == RUN_SUCCEEDED) {
		for (size_t i = 0; i < r->spec->non_success; i++) {
			const char *name = r->spec->on_success[i];
			struct ejob *next = hmap_get(&e->jobs, name);

			if (next == NULL) {
				event(e, ENGINE_EV_WARN, r->rec.job,
				      fmt("on_success: no job '%s' to chain to", name));
				continue;
			}
			fire(e, next, at, RUN_TRIG_CHAIN, NULL, at);
		}
	}
	if (j->removed) {
		if (j->active == NULL) {
			struct ejob **pp = &e->orphans;

			while (*pp != j)
				pp = &(*pp)->next_orphan;
			*pp = j->next_orphan;
			job_free(e, j);
		}
		return;
	}
	if (j->nrunning == 0)
		start_next_queued(e, j, at);
	if (j->active == NULL)
		take_held_fire(e, j, at);
}

static struct eexec *exec_find(struct engine *e, const char *id)
{
	for (size_t i = 0; id && i < e->nexecs; i++) {
		if (strcmp(e->execs[i]->id, id) == 0)
			return e->execs[i];
	}
	return NULL;
}

static int64_t backoff_ms(const struct job_spec *spec, int attempt)
{
	int64_t d = spec->retry_backoff_ms;

	for (int i = 1; i < attempt && d < spec->retry_max_backoff_ms; i++)
		d *= 2;
	return d < spec->retry_max_backoff_ms ? d : spec->retry_max_backoff_ms;
}

/*
 * A shard's current attempt ended in `st`. Retries it when the policy allows,
 * otherwise makes the shard final (and the run, when it was the last).
 * Takes ownership of `msg`. `release` frees the attempt's slot on its
 * executor (false when the attempt never reached one, or its process is gone).
 */
static void finish_shard(struct engine *e, struct erun *r, int idx, enum run_state st,
			 char *msg, int64_t at, bool release)
{
	struct shard_rec *sh = &r->rec.shards[idx];
	struct eexec *x = release ? exec_find(e, sh->executor) : NULL;

	if (x && x->running > 0)
		x->running--;
	sh->finished_at = at;
	if ((st == RUN_FAILED || st == RUN_TIMED_OUT || st == RUN_LOST) && !r->killing &&
	    sh->attempt > 0 && sh->attempt <= r->spec->retry_max && !r->job->removed) {
		int64_t delay = backoff_ms(r->spec, sh->attempt);
		char d[32];

		duration_format(delay, d, sizeof(d));
		set_str(&sh->message, fmt("attempt %d %s: %s; retrying in %s", sh->attempt,
					  run_state_name(st), msg ? msg : "no reason given", d));
		free(msg);
		sh->state = RUN_PENDING;
		heap_insert(&e->timers, &r->xs[idx].retry.node, at + delay);
		e->stats.retries++;
		persist(e, r);
		return;
	}
	sh->state = st;
	set_str(&sh->message, msg);
	r->open--;
	if (r->open == 0)
		finish_run(e, r, at);
	else
		persist(e, r);
}

static void kill_run(struct engine *e, struct erun *r, const char *why, int64_t now)
{
	r->killing = true;
	if (why && r->rec.reason == NULL)
		r->rec.reason = strdup(why);
	for (int i = 0; i < r->rec.nshards; i++) {
		struct shard_rec *sh = &r->rec.shards[i];
		struct engine_action *a;

		if (run_state_final(sh->state))
			continue;
		if (heap_node_active(&r->xs[i].retry.node) || r->queued || sh->attempt == 0) {
			timer_cancel(e, &r->xs[i].retry);
			sh->state = RUN_CANCELLED;
			sh->finished_at = now;
			r->open--;
			continue;
		}
		a = act_push(e, ENGINE_ACT_KILL);
		if (a == NULL)
			continue;
		a->run_id = r->rec.id;
		a->shard = i;
		a->attempt = sh->attempt;
		a->executor = sh->executor;
	}
	if (r->open == 0)
		finish_run(e, r, now);
	else
		persist(e, r);
}

/* ------------------------------------------------------------------ */
/* timers */

static void arm(struct engine *e, struct ejob *j, int64_t after)
{
	int64_t next;

	timer_cancel(e, &j->fire);
	if (j->spec->paused || j->removed)
		return;
	if (cron_next(j->spec->cron, j->spec->tz, after, &next) == 0)
		heap_insert(&e->timers, &j->fire.node, next);
}

/*
 * The fire timer of `j` is due at `now`. An instant reached within the
 * misfire threshold fires normally; later ones are misfires, handled by the
 * job's policy, and every missed instant is fired or recorded as skipped
 * (individually up to misfire_cap, beyond that in one event).
 */
static void fire_due(struct engine *e, struct ejob *j, int64_t now)
{
	const struct job_spec *spec = j->spec;
	int64_t at = j->fire.node.deadline;
	int64_t *missed, t, newest;
	int n = 0, cap = e->opt.misfire_cap;
	bool more = false;
	char a[40], b[40];

	if (now - at <= spec->misfire_threshold_ms) {
		j->last_fire = at;
		fire(e, j, at, RUN_TRIG_SCHEDULE, NULL, now);
		arm(e, j, at);
		return;
	}
	missed = malloc((size_t)cap * sizeof(*missed));
	if (missed == NULL)
		return;
	for (t = at; n < cap && t <= now;) {
		missed[n++] = t;
		if (cron_next(spec->cron, spec->tz, t, &t))
			break;
	}
	newest = missed[n - 1];
	/*
	 * Beyond the cap, the newest missed instant is one cron_prev() away: a
	 * long outage of a per-second job holds millions of instants, and a
	 * hundred thousand such jobs must not be walked instant by instant.
	 */
	if (n == cap && cron_next(spec->cron, spec->tz, newest, &t) == 0 && t <= now &&
	    cron_prev(spec->cron, spec->tz, now + 1, &t) == 0 && t > newest) {
		newest = t;
		more = true;
	}
	e->stats.misfired += (uint64_t)n + more;
	time_format_rfc3339(missed[0], a, sizeof(a), false);
	time_format_rfc3339(newest, b, sizeof(b), false);
	event(e, ENGINE_EV_WARN, spec->name,
	      more ? fmt("misfire: more than %d fires from %s to %s missed by more than the %llds "
			 "threshold (policy %s); the first %d are recorded one by one",
			 cap, a, b, (long long)(spec->misfire_threshold_ms / 1000),
			 job_misfire_name(spec->misfire), cap)
		   : fmt("misfire: %d fire(s) from %s to %s missed by more than the %llds "
			 "threshold (policy %s)",
			 n, a, b, (long long)(spec->misfire_threshold_ms / 1000),
			 job_misfire_name(spec->misfire)));
	for (int i = 0; i < n; i++) {
		switch (spec->misfire) {
		case JOB_MISFIRE_FIRE_ALL:
			fire(e, j, missed[i], RUN_TRIG_MISFIRE, NULL, now);
			break;
		case JOB_MISFIRE_FIRE_ONCE:
			if (i == n - 1 && !more) {
				fire(e, j, missed[i], RUN_TRIG_MISFIRE, NULL, now);
				break;
			}
			record_skipped(e, j, missed[i], RUN_TRIG_MISFIRE,
				       fmt("misfired; coalesced into one run (policy fire_once)"),
				       now);
			break;
		case JOB_MISFIRE_SKIP:
			record_skipped(e, j, missed[i], RUN_TRIG_MISFIRE,
				       fmt("misfired by %llds (policy skip)",
					   (long long)((now - missed[i]) / 1000)),
				       now);
			break;
		}
	}
	if (more && spec->misfire == JOB_MISFIRE_FIRE_ONCE)
		fire(e, j, newest, RUN_TRIG_MISFIRE, NULL, now);
	free(missed);
	j->last_fire = newest;
	arm(e, j, newest > now ? newest : now);
}

static void retry_due(struct engine *e, struct eshard *xs, int64_t now)
{
	struct erun *r = xs->run;
	struct eexec **m = calloc(e->nexecs ? e->nexecs : 1, sizeof(*m));
	size_t n = m ? match_execs(e, r->spec, m) : 0;
	struct eexec *x = n ? route_pick(e, r->job, m, n, r->rec.shards[xs->index].executor) : NULL;

	free(m);
	if (x == NULL) {
		finish_shard(e, r, xs->index, RUN_FAILED, no_executor_msg(r->spec), now, false);
		return;
	}
	dispatch(e, r, xs->index, x, now);
	persist(e, r);
}

/* ------------------------------------------------------------------ */
/* public API */

int engine_new(const struct engine_options *opt, struct engine **out)
{
	struct engine *e = calloc(1, sizeof(*e));

	if (e == NULL)
		return CLOVER_ENOMEM;
	if (opt)
		e->opt = *opt;
	if (e->opt.misfire_cap <= 0)
		e->opt.misfire_cap = 100;
	if (e->opt.serial_queue_max <= 0)
		e->opt.serial_queue_max = 16;
	e->next_id = e->opt.first_run_id > 0 ? e->opt.first_run_id : 1;
	e->rng = e->opt.seed ? e->opt.seed : 0x2545F4914F6CDD1Dull;
	heap_init(&e->timers);
	heap_init(&e->held);
	imap_init(&e->runs);
	hmap_init(&e->jobs);
	hmap_init(&e->interned);
	*out = e;
	return 0;
}

void engine_free(struct engine *e)
{
	const char *k;
	void *v;

	if (e == NULL)
		return;
	engine_actions_clear(e);
	{
		int64_t id;
		void *rv;

		for (size_t i = 0; imap_next(&e->runs, &i, &id, &rv);) {
			struct erun *r = rv;

			for (int s = 0; s < r->rec.nshards; s++)
				timer_cancel(e, &r->xs[s].retry);
			run_free(r);
		}
	}
	imap_free(&e->runs);
	for (size_t i = 0; hmap_next(&e->jobs, &i, &k, &v);)
		job_free(e, v);
	hmap_free(&e->jobs);
	while (e->orphans) {
		struct ejob *j = e->orphans;

		e->orphans = j->next_orphan;
		job_free(e, j);
	}
	heap_free(&e->timers);
	heap_free(&e->held);
	for (size_t i = 0; i < e->nexecs; i++) {
		for (size_t l = 0; l < e->execs[i]->nlabels; l++)
			free(e->execs[i]->labels[l]);
		free(e->execs[i]->labels);
		free(e->execs[i]->id);
		free(e->execs[i]);
	}
	free(e->execs);
	for (size_t i = 0; hmap_next(&e->interned, &i, &k, &v);)
		free(v);
	hmap_free(&e->interned);
	free(e->acts);
	free(e->strs);
	free(e);
}

void engine_actions_clear(struct engine *e)
{
	for (size_t i = 0; i < e->nacts; i++) {
		if (e->acts[i].kind == ENGINE_ACT_RUN)
			((struct erun *)(void *)e->acts[i].run)->persist_pending = false;
	}
	e->nacts = 0;
	for (size_t i = 0; i < e->nstrs; i++)
		free(e->strs[i]);
	e->nstrs = 0;
	while (e->dead) {
		struct erun *r = e->dead;

		e->dead = r->next;
		run_free(r);
	}
}

const struct engine_action *engine_actions(struct engine *e, size_t *n)
{
	*n = e->nacts;
	return e->acts;
}

int engine_job_put(struct engine *e, struct job_spec *spec, int64_t since, int64_t now)
{
	struct ejob *j = hmap_get(&e->jobs, spec->name);

	if (j == NULL) {
		j = calloc(1, sizeof(*j));
		if (j == NULL) {
			job_spec_unref(spec);
			return CLOVER_ENOMEM;
		}
		heap_node_init(&j->fire.node);
		j->fire.kind = TIMER_FIRE;
		j->spec = spec;
		if (hmap_put(&e->jobs, spec->name, j)) {
			free(j);
			job_spec_unref(spec);
			return CLOVER_ENOMEM;
		}
		j->last_fire = since;
		e->stats.jobs++;
	} else {
		/* The map's key lives in the spec: re-put it with the new one. */
		struct job_spec *old = j->spec;

		withdraw_early(e, j, spec->paused ? "paused" : "changed", now);
		j->spec = spec;
		hmap_put(&e->jobs, spec->name, j);
		job_spec_unref(old);
		if (since < j->last_fire)
			since = j->last_fire;
	}
	arm(e, j, since);
	return 0;
}

int engine_job_remove(struct engine *e, const char *name, int64_t now)
{
	struct ejob *j = hmap_get(&e->jobs, name);

	if (j == NULL)
		return CLOVER_ENOENT;
	hmap_del(&e->jobs, name);
	e->stats.jobs--;
	timer_cancel(e, &j->fire);
	withdraw_early(e, j, "deleted", now);
	j->removed = true;
	for (struct erun *r = j->active; r;) {
		struct erun *next = r->next;

		if (r->queued)
			kill_run(e, r, "job deleted", now);
		r = next;
	}
	if (j->active == NULL) {
		job_free(e, j);
	} else {
		j->next_orphan = e->orphans;
		e->orphans = j;
	}
	return 0;
}

static void timer_due(struct engine *e, struct timer *t, int64_t now)
{
	if (t->kind == TIMER_FIRE)
		fire_due(e, container_of(t, struct ejob, fire), now);
	else
		retry_due(e, container_of(t, struct eshard, retry), now);
}

/*
 * Fires are taken up to lead_ms before their instant, so that creating,
 * recording and dispatching a burst of runs happens before the instant and
 * the executor only has to start them on time (DISPATCH carries
 * not_before). Only a fire whose job has no active run is taken early: the
 * concurrency policy must see the job as it is at the instant. Retries and
 * fires of busy jobs wait in `held` for their exact instant, or, for a fire,
 * until its job goes idle (take_held_fire).
 */
int engine_tick(struct engine *e, int64_t now)
{
	struct heap_node *n;

	if (now > e->clock)
		e->clock = now;
	while ((n = heap_min(&e->timers)) != NULL && n->deadline <= now + e->opt.lead_ms) {
		struct timer *t = container_of(n, struct timer, node);

		heap_remove(&e->timers, n);
		if (n->deadline > now &&
		    (t->kind == TIMER_RETRY || container_of(t, struct ejob, fire)->active)) {
			heap_insert(&e->held, n, n->deadline);
			continue;
		}
		timer_due(e, t, now);
	}
	while ((n = heap_min(&e->held)) != NULL && n->deadline <= now) {
		heap_remove(&e->held, n);
		timer_due(e, container_of(n, struct timer, node), now);
	}
	return 0;
}

int64_t engine_next_wake(const struct engine *e)
{
	struct heap_node *t = heap_min(&e->timers), *h = heap_min(&e->held);
	int64_t wake = t ? t->deadline - e->opt.lead_ms : INT64_MAX;

	if (h && h->deadline < wake)
		wake = h->deadline;
	return wake;
}

int engine_job_next_fire(const struct engine *e, const char *name, int64_t *at)
{
	struct ejob *j = hmap_get(&e->jobs, name);

	if (j == NULL || !heap_node_active(&j->fire.node))
		return CLOVER_ENOENT;
	*at = j->fire.node.deadline;
	return 0;
}

int engine_trigger(struct engine *e, const char *name, const char *params, int64_t now,
		   int64_t *run_id)
{
	struct ejob *j = hmap_get(&e->jobs, name);
	int64_t id;

	if (j == NULL)
		return CLOVER_ENOENT;
	id = fire(e, j, now, RUN_TRIG_MANUAL, params, now);
	if (id == 0)
		return CLOVER_ENOMEM;
	if (run_id)
		*run_id = id;
	return 0;
}

int engine_kill(struct engine *e, int64_t run_id, int64_t now)
{
	struct erun *r = imap_get(&e->runs, run_id);

	if (r == NULL)
		return CLOVER_ENOENT;
	if (r->killing)
		return 0;
	kill_run(e, r, "killed on request", now);
	return 0;
}

/* The run and shard an executor reports on, or NULL for stale or unknown ones. */
static struct erun *reported(struct engine *e, int64_t run_id, int shard, int attempt)
{
	struct erun *r = imap_get(&e->runs, run_id);

	if (r == NULL || shard < 0 || shard >= r->rec.nshards)
		return NULL;
	if (r->rec.shards[shard].attempt != attempt || run_state_final(r->rec.shards[shard].state) ||
	    heap_node_active(&r->xs[shard].retry.node))
		return NULL;
	return r;
}

int engine_shard_started(struct engine *e, int64_t run_id, int shard, int attempt, int64_t at)
{
	struct erun *r = reported(e, run_id, shard, attempt);
	struct shard_rec *sh;

	if (r == NULL)
		return CLOVER_ENOENT;
	sh = &r->rec.shards[shard];
	sh->state = RUN_RUNNING;
	sh->started_at = at;
	if (r->rec.state == RUN_PENDING) {
		r->rec.state = RUN_RUNNING;
		r->rec.started_at = at;
	}
	persist(e, r);
	return 0;
}

int engine_shard_progress(struct engine *e, int64_t run_id, int shard, int attempt, double progress,
			  const char *message)
{
	struct erun *r = reported(e, run_id, shard, attempt);
	struct shard_rec *sh;

	if (r == NULL)
		return CLOVER_ENOENT;
	sh = &r->rec.shards[shard];
	sh->progress = progress < 0 ? -1 : progress > 1 ? 1 : progress;
	if (message)
		set_str(&sh->message, strdup(message));
	persist(e, r);
	return 0;
}

int engine_shard_finished(struct engine *e, int64_t run_id, int shard, int attempt,
			  enum run_state state, int exit_code, const char *message, int64_t at)
{
	struct erun *r = reported(e, run_id, shard, attempt);
	char *msg = NULL;

	if (r == NULL)
		return CLOVER_ENOENT;
	if (!run_state_final(state) || state == RUN_SKIPPED)
		return CLOVER_EINVAL;
	if (message && (msg = strdup(message)) == NULL)
		return CLOVER_ENOMEM;
	r->rec.shards[shard].exit_code = exit_code;
	if (state == RUN_SUCCEEDED)
		r->rec.shards[shard].progress = 1;
	finish_shard(e, r, shard, state, msg, at, true);
	return 0;
}

int engine_shard_refused(struct engine *e, int64_t run_id, int shard, int attempt,
			 const char *why, int64_t now)
{
	struct erun *r = reported(e, run_id, shard, attempt);
	struct shard_rec *sh;
	struct eexec *from, *to = NULL, **m;

	if (r == NULL)
		return CLOVER_ENOENT;
	sh = &r->rec.shards[shard];
	from = exec_find(e, sh->executor);
	if (r->xs[shard].reroutes < ENGINE_REROUTES_MAX && !r->killing &&
	    (m = calloc(e->nexecs ? e->nexecs : 1, sizeof(*m))) != NULL) {
		size_t n = match_execs(e, r->spec, m);

		if (n > 1)
			to = route_pick(e, r->job, m, n, sh->executor);
		free(m);
	}
	if (to == NULL || to == from)
		return engine_shard_finished(e, run_id, shard, attempt, RUN_FAILED, -1, why, now);
	if (from && from->running > 0)
		from->running--;
	r->xs[shard].reroutes++;
	event(e, ENGINE_EV_INFO, r->rec.job,
	      fmt("run %lld shard %d: executor %s did not take it (%s); sent to %s",
		  (long long)r->rec.id, shard, sh->executor ? sh->executor : "-",
		  why ? why : "no reason given", to->id));
	dispatch(e, r, shard, to, now);
	persist(e, r);
	return 0;
}

int engine_recover_run(struct engine *e, const struct run_rec *rec, int64_t now)
{
	struct ejob *j = hmap_get(&e->jobs, rec->job);
	struct erun *r;

	if (run_state_final(rec->state))
		return CLOVER_EINVAL;
	if (j == NULL)
		return CLOVER_ENOENT;
	if (rec->nshards < 1 || (r = run_alloc(j, rec->nshards)) == NULL)
		return rec->nshards < 1 ? CLOVER_EINVAL : CLOVER_ENOMEM;
	r->rec.id = rec->id;
	r->rec.scheduled_at = rec->scheduled_at;
	r->rec.trigger = rec->trigger;
	r->rec.state = rec->state;
	r->rec.created_at = rec->created_at;
	r->rec.started_at = rec->started_at;
	r->rec.finished_at = rec->finished_at;
	for (int i = 0; i < rec->nshards; i++) {
		const struct shard_rec *src = &rec->shards[i];
		struct shard_rec *sh = &r->rec.shards[i];

		*sh = *src;
		sh->message = NULL;
		sh->executor = NULL;
		if ((src->message && (sh->message = strdup(src->message)) == NULL) ||
		    (src->executor && (sh->executor = intern(e, src->executor)) == NULL))
			goto nomem;
		r->open += !run_state_final(sh->state);
	}
	if ((rec->params && (r->rec.params = strdup(rec->params)) == NULL) ||
	    (rec->reason && (r->rec.reason = strdup(rec->reason)) == NULL) ||
	    imap_put(&e->runs, r->rec.id, r))
		goto nomem;
	if (rec->id >= e->next_id)
		e->next_id = rec->id + 1;
	active_link(j, r);
	j->nrunning++;
	persist(e, r);
	if (r->open == 0) {
		finish_run(e, r, now);
		return 0;
	}
	event(e, ENGINE_EV_WARN, rec->job,
	      fmt("run %lld was left unfinished by a previous process; its unfinished shards are "
		  "lost, except those on executors expected back",
		  (long long)rec->id));
	for (int i = 0; i < r->rec.nshards && r->open > 0; i++) {
		struct shard_rec *sh = &r->rec.shards[i];
		struct eexec *x = sh->attempt > 0 && sh->executor ? exec_find(e, sh->executor) : NULL;

		if (run_state_final(sh->state))
			continue;
		if (x && x->expected) {
			x->running++; /* it runs there still, or will be reconciled */
			continue;
		}
		if (sh->attempt == 0)
			sh->attempt = 1; /* never dispatched: count it as the lost first attempt */
		finish_shard(e, r, i, RUN_LOST, strdup("the scheduler stopped while it ran"), now,
			     false);
	}
	return 0;
nomem:
	run_free(r);
	return CLOVER_ENOMEM;
}

static int exec_cmp(const void *a, const void *b)
{
	return strcmp((*(struct eexec *const *)a)->id, (*(struct eexec *const *)b)->id);
}

int engine_executor_join(struct engine *e, const char *id, const char *const *labels,
			 size_t nlabels, int capacity)
{
	struct eexec *x = exec_find(e, id), **v;

	if (x && x->expected) {
		/* The placeholder becomes the executor: labels and capacity from now. */
		char **nl = calloc(nlabels ? nlabels : 1, sizeof(*nl));
		size_t k = 0;

		if (nl == NULL)
			return CLOVER_ENOMEM;
		for (; k < nlabels; k++) {
			if ((nl[k] = strdup(labels[k])) == NULL) {
				while (k > 0)
					free(nl[--k]);
				free(nl);
				return CLOVER_ENOMEM;
			}
		}
		for (size_t l = 0; l < x->nlabels; l++)
			free(x->labels[l]);
		free(x->labels);
		x->labels = nl;
		x->nlabels = nlabels;
		x->capacity = capacity;
		x->expected = false;
		x->disabled = false;
		return 0;
	}
	if (x)
		return CLOVER_EEXIST;
	x = calloc(1, sizeof(*x));
	v = realloc(e->execs, (e->nexecs + 1) * sizeof(*v));
	if (x == NULL || v == NULL)
		goto nomem;
	e->execs = v;
	x->id = strdup(id);
	x->labels = calloc(nlabels ? nlabels : 1, sizeof(*x->labels));
	if (x->id == NULL || x->labels == NULL)
		goto nomem;
	for (size_t i = 0; i < nlabels; i++) {
		if ((x->labels[i] = strdup(labels[i])) == NULL)
			goto nomem;
		x->nlabels++;
	}
	x->capacity = capacity;
	e->execs[e->nexecs++] = x;
	qsort(e->execs, e->nexecs, sizeof(*e->execs), exec_cmp);
	return 0;
nomem:
	if (x) {
		for (size_t i = 0; i < x->nlabels; i++)
			free(x->labels[i]);
		free(x->labels);
		free(x->id);
		free(x);
	}
	return CLOVER_ENOMEM;
}

/* True when shard `s` of `r` is in flight on executor `id` (and not being killed). */
static bool on_executor(struct erun *r, int s, const char *id)
{
	struct shard_rec *sh = &r->rec.shards[s];

	return !run_state_final(sh->state) && !heap_node_active(&r->xs[s].retry.node) &&
	       sh->executor != NULL && strcmp(sh->executor, id) == 0 && !r->killing;
}

/*
 * A shard whose executor `id` lost it: failover re-dispatches it to a
 * matching executor; without failover (or any match) it is lost.
 */
/*
 * The active runs, in an array the caller frees (NULL with *n = 0 when there
 * are none or memory ran out). Walks that may end runs use it: ending a run
 * takes it out of the table, which moves other entries under a walk of the
 * table itself. Ended runs stay valid until the actions are cleared.
 */
static struct erun **active_runs(struct engine *e, size_t *n)
{
	struct erun **v = e->runs.n ? malloc(e->runs.n * sizeof(*v)) : NULL;
	int64_t id;
	void *r;

	*n = 0;
	for (size_t i = 0; v && imap_next(&e->runs, &i, &id, &r);)
		v[(*n)++] = r;
	return v;
}

static void lose_shard(struct engine *e, struct erun *r, int s, const char *id, int64_t now)
{
	if (r->spec->failover) {
		struct eexec **m = calloc(e->nexecs ? e->nexecs : 1, sizeof(*m));
		size_t n = m ? match_execs(e, r->spec, m) : 0;

		if (n) {
			event(e, ENGINE_EV_WARN, r->rec.job,
			      fmt("run %lld shard %d fails over from lost executor %s",
				  (long long)r->rec.id, s, id));
			dispatch(e, r, s, route_pick(e, r->job, m, n, id), now);
			persist(e, r);
			free(m);
			return;
		}
		free(m);
	}
	finish_shard(e, r, s, RUN_LOST, fmt("executor %s was lost", id), now, false);
}

int engine_executor_expect(struct engine *e, const char *id)
{
	struct eexec *x;
	int rc;

	if (exec_find(e, id))
		return 0;
	if ((rc = engine_executor_join(e, id, NULL, 0, 0)))
		return rc;
	x = exec_find(e, id);
	x->expected = true;
	x->reconcile = true;
	x->disabled = true;
	return 0;
}

int engine_executor_reconcile(struct engine *e, const char *id, const struct engine_ref *running,
			      size_t n, int64_t now)
{
	struct eexec *x = exec_find(e, id);

	if (x == NULL)
		return CLOVER_ENOENT;
	if (!x->reconcile)
		return 0;
	x->reconcile = false;
	size_t nrun;
	struct erun **runs = active_runs(e, &nrun);

	for (size_t i = 0; i < nrun; i++) {
		struct erun *r = runs[i];

		for (int s = 0; s < r->rec.nshards; s++) {
			bool listed = false;

			if (!on_executor(r, s, id))
				continue;
			for (size_t k = 0; k < n && !listed; k++)
				listed = running[k].run_id == r->rec.id && running[k].shard == s &&
					 running[k].attempt == r->rec.shards[s].attempt;
			if (listed)
				continue;
			if (x->running > 0)
				x->running--;
			lose_shard(e, r, s, id, now);
		}
	}
	free(runs);
	return 0;
}

int engine_executor_set_enabled(struct engine *e, const char *id, bool enabled)
{
	struct eexec *x = exec_find(e, id);

	if (x == NULL)
		return CLOVER_ENOENT;
	x->disabled = !enabled;
	return 0;
}

int engine_executor_running(const struct engine *e, const char *id)
{
	int n = 0;

	for (size_t i = 0; i < e->nexecs; i++) {
		if (id == NULL || strcmp(e->execs[i]->id, id) == 0)
			n += e->execs[i]->running;
	}
	return n;
}

int engine_executor_leave(struct engine *e, const char *id, int64_t now)
{
	struct eexec *x = NULL;
	struct erun **runs;
	size_t at = 0, nrun;

	for (; at < e->nexecs; at++) {
		if (strcmp(e->execs[at]->id, id) == 0) {
			x = e->execs[at];
			break;
		}
	}
	if (x == NULL)
		return CLOVER_ENOENT;
	runs = active_runs(e, &nrun);
	if (runs == NULL && e->runs.n)
		return CLOVER_ENOMEM; /* nothing changed: the caller may try again */
	memmove(&e->execs[at], &e->execs[at + 1], (e->nexecs - at - 1) * sizeof(*e->execs));
	e->nexecs--;
	/* Its attempts: failover re-dispatches them now; without failover they are lost. */
	for (size_t i = 0; i < nrun; i++) {
		for (int s = 0; s < runs[i]->rec.nshards; s++) {
			if (on_executor(runs[i], s, id))
				lose_shard(e, runs[i], s, id, now);
		}
	}
	free(runs);
	for (size_t l = 0; l < x->nlabels; l++)
		free(x->labels[l]);
	free(x->labels);
	free(x->id);
	free(x);
	return 0;
}

int engine_withdraw_early(struct engine *e, const char *why, int64_t now)
{
	size_t n;
	struct erun **v = active_runs(e, &n);

	if (v == NULL && e->runs.n)
		return CLOVER_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (run_early(v[i], now))
			withdraw(e, v[i], fmt("%s before this instant", why), now);
	}
	free(v);
	return 0;
}

/* (deadline, seq) order of heap entries, as the heap orders them. */
static bool entry_less(const struct heap_entry *a, const struct heap_entry *b)
{
	return a->deadline < b->deadline || (a->deadline == b->deadline && a->seq < b->seq);
}

size_t engine_next_fires(const struct engine *e, struct engine_fire *out, size_t max)
{
	/*
	 * The k smallest of a binary heap without changing it: a frontier of
	 * array positions, starting at the root; taking the least one adds its
	 * two children. The frontier never holds more than 1 + the budget.
	 */
	enum { BUDGET_MAX = 4 * 64 + 64 };
	size_t frontier[BUDGET_MAX + 2], nf = 0, n = 0, budget;
	const struct heap *h = &e->timers;

	if (max > 64)
		max = 64;
	budget = 4 * max + 64;
	if (h->n)
		frontier[nf++] = 0;
	while (nf && n < max && budget-- > 0) {
		size_t best = 0, i;
		const struct timer *t;

		for (size_t k = 1; k < nf; k++) {
			if (entry_less(&h->v[frontier[k]], &h->v[frontier[best]]))
				best = k;
		}
		i = frontier[best];
		frontier[best] = frontier[--nf];
		t = container_of(h->v[i].node, struct timer, node);
		if (t->kind == TIMER_FIRE) {
			const struct ejob *j = container_of(t, struct ejob, fire);

			out[n].job = j->spec->name;
			out[n].at = h->v[i].deadline;
			n++;
		}
		for (size_t c = 2 * i + 1; c <= 2 * i + 2 && c < h->n; c++)
			frontier[nf++] = c;
	}
	return n;
}

void engine_stats(const struct engine *e, struct engine_stats *out)
{
	*out = e->stats;
	out->active_runs = e->runs.n;
}
