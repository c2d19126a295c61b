/* SPDX-License-Identifier: MIT */
/*
 * `clover server`: the standalone scheduler process. It wires the adapters to
 * the engine:
 *
 *   store (SQLite) <- run snapshots, events      engine (this thread only)
 *   built-in executor -> started/progress/finished -> inbox -> engine
 *   HTTP API threads  -> job changes, trigger, kill -> inbox -> engine
 *   remote thread (remote.c) <-> executors over the wire protocol:
 *       join/leave/started/progress/finished -> inbox -> engine
 *       engine DISPATCH/KILL for executors other than "local" -> remote
 *
 * The engine lives on the main thread, which sleeps in poll() until the next
 * timer, a message in the inbox (an eventfd), or a signal (a signalfd). Other
 * threads never touch the engine: they post messages. SIGTERM/SIGINT drain
 * (stop firing, let running shards finish within drain_grace, then kill and
 * record them); SIGHUP re-reads the configuration's reloadable keys.
 */
#include "api/api.h"
#include "base/fs.h"
#include "base/hash.h"
#include "base/log.h"
#include "base/time.h"
#include "core/engine.h"
#include "cron/tz.h"
#include "daemon/alerts.h"
#include "daemon/config.h"
#include "daemon/daemon.h"
#include "daemon/observe.h"
#include "daemon/remote.h"
#include "exec/exec.h"
#include "store/store.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOCAL_EXECUTOR "local"
#define PRUNE_EVERY_MS (3600 * 1000LL)
#define PRUNE_BATCH 5000
/*
 * How early an idle job's fire is prepared and handed to the executor, which
 * holds it until its instant: a burst of 100,000 fires is recorded and
 * dispatched before the second, not after it.
 */
#define FIRE_LEAD_MS 800

enum msg_kind {
	MSG_STARTED,
	MSG_PROGRESS,
	MSG_FINISHED,
	MSG_JOB_PUT,
	MSG_JOB_DEL,
	MSG_TRIGGER,
	MSG_KILL,
	MSG_EXEC_JOIN,  /* a remote executor said hello */
	MSG_EXEC_LEAVE, /* ... left or was lost */
	MSG_REFUSED,    /* ... did not take a dispatch */
	MSG_EXEC_ENABLE, /* operator: (run_id != 0) enable or disable executor `name` */
};

/* A synchronous request from an HTTP thread, answered by the engine thread. */
struct reply {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool done;
	int rc;
	int64_t run_id;
};

struct msg {
	struct msg *next;
	enum msg_kind kind;
	int64_t run_id;
	int shard, attempt;
	int64_t at;
	enum run_state state;
	int exit_code;
	double progress;
	char *text; /* message, job name or params */
	char *name;
	struct job_spec *spec;
	struct reply *reply;
	/* remote executors: `name` is the executor's id */
	uint32_t ticket;
	char **labels;
	size_t nlabels;
	int capacity;
	struct engine_ref *refs; /* MSG_EXEC_JOIN: what the executor runs */
	size_t nrefs;
};

struct server {
	struct config cfg;
	struct store *store;
	struct engine *engine;
	struct exec_pool *pool;
	struct api *api;
	struct remote *remote; /* NULL: no remote executors (or stopped) */
	bool remote_on;        /* rpc_listen is set: executors other than "local" exist */
	pthread_mutex_t xmu;   /* guards `disabled` and `expected` */
	char **disabled;       /* executor ids an operator disabled or drained */
	size_t ndisabled;
	/*
	 * Remote executors expected back after a restart, with the shards they
	 * had in flight: changed on the engine thread, listed by the API's.
	 */
	struct expected_exec {
		char *id;
		int shards;
	} *expected;
	size_t nexpected;
	int64_t expect_deadline; /* wall ms: then those still away are lost */
	int evfd, sigfd;
	pthread_mutex_t mu; /* guards inbox and closed */
	struct msg *inbox;  /* newest first */
	bool closed;        /* no more requests (trigger, kill) are taken */
	bool draining;
	int64_t next_prune;
	struct alerts *alerts; /* NULL until started */
	struct observe *obs;   /* the coordination tree and the API's snapshots */
	/* engine thread: the executor being left, while its actions are carried out */
	const char *lost_node;
	/* engine thread: job -> struct skip_note, to log and record skips sparingly */
	struct hmap skip_notes;
};

/* ------------------------------------------------------------------ */
/* inbox: any thread -> engine thread */

/*
 * Queues `m` for the engine thread. A request (a message waiting for a reply)
 * is refused once the inbox is closed at shutdown: returns false, and the
 * caller still owns `m`.
 */
static bool post(struct server *s, struct msg *m)
{
	uint64_t one = 1;
	bool was_empty;

	pthread_mutex_lock(&s->mu);
	if (m->reply && s->closed) {
		pthread_mutex_unlock(&s->mu);
		return false;
	}
	was_empty = s->inbox == NULL;
	m->next = s->inbox;
	s->inbox = m;
	pthread_mutex_unlock(&s->mu);
	/*
	 * The engine thread takes the whole list at once, so only the first
	 * message of a batch needs to wake it: under load this saves a system
	 * call per message.
	 */
	if (was_empty)
		(void)!write(s->evfd, &one, sizeof(one));
	return true;
}

static struct msg *take_all(struct server *s)
{
	struct msg *list, *fifo = NULL;
	uint64_t n;

	(void)!read(s->evfd, &n, sizeof(n));
	pthread_mutex_lock(&s->mu);
	list = s->inbox;
	s->inbox = NULL;
	pthread_mutex_unlock(&s->mu);
	while (list) {
		struct msg *next = list->next;

		list->next = fifo;
		fifo = list;
		list = next;
	}
	return fifo;
}

static void msg_free(struct msg *m)
{
	free(m->text);
	free(m->name);
	for (size_t i = 0; i < m->nlabels; i++)
		free(m->labels[i]);
	free(m->labels);
	free(m->refs);
	job_spec_unref(m->spec);
	free(m);
}

static void reply_wait(struct reply *r)
{
	pthread_mutex_lock(&r->mu);
	while (!r->done)
		pthread_cond_wait(&r->cv, &r->mu);
	pthread_mutex_unlock(&r->mu);
}

static void reply_send(struct reply *r, int rc, int64_t run_id)
{
	pthread_mutex_lock(&r->mu);
	r->rc = rc;
	r->run_id = run_id;
	r->done = true;
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->mu);
}

/* ------------------------------------------------------------------ */
/* executor and API callbacks (other threads) */

static void on_exec_event(void *ctx, const struct exec_event *ev)
{
	struct server *s = ctx;
	struct msg *m;

	if (ev->kind == EXEC_EV_LOG) {
		store_submit_log(s->store, ev->run_id, ev->shard, ev->attempt, ev->data, ev->len);
		return;
	}
	m = calloc(1, sizeof(*m));
	if (m == NULL) {
		log_at(LOG_ERROR, "exec", "out of memory: run=%lld shard=%d event lost",
		       (long long)ev->run_id, ev->shard);
		return;
	}
	m->kind = ev->kind == EXEC_EV_STARTED	 ? MSG_STARTED
		  : ev->kind == EXEC_EV_PROGRESS ? MSG_PROGRESS
						 : MSG_FINISHED;
	m->run_id = ev->run_id;
	m->shard = ev->shard;
	m->attempt = ev->attempt;
	m->at = ev->at;
	m->state = ev->state;
	m->exit_code = ev->exit_code;
	m->progress = ev->progress;
	m->text = ev->message ? strdup(ev->message) : NULL;
	post(s, m);
}

static void hook_job_changed(void *ctx, const char *name, struct job_spec *spec)
{
	struct server *s = ctx;
	struct msg *m = calloc(1, sizeof(*m));

	if (m == NULL || (m->name = strdup(name)) == NULL) {
		free(m);
		log_at(LOG_ERROR, "api", "out of memory: change of job=%s not applied until restart",
		       name);
		return;
	}
	m->kind = spec ? MSG_JOB_PUT : MSG_JOB_DEL;
	m->spec = spec ? job_spec_ref(spec) : NULL;
	post(s, m);
	observe_job_changed(s->obs);
}

static int request(struct server *s, enum msg_kind kind, const char *name, const char *params,
		   int64_t run_id, int64_t *out_id)
{
	struct reply r = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
	struct msg *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return CLOVER_ENOMEM;
	m->kind = kind;
	m->run_id = run_id;
	m->reply = &r;
	if ((name && (m->name = strdup(name)) == NULL) ||
	    (params && (m->text = strdup(params)) == NULL)) {
		msg_free(m);
		return CLOVER_ENOMEM;
	}
	if (!post(s, m)) {
		msg_free(m);
		return CLOVER_ESTATE;
	}
	reply_wait(&r);
	if (out_id)
		*out_id = r.run_id;
	pthread_mutex_destroy(&r.mu);
	pthread_cond_destroy(&r.cv);
	return r.rc;
}

static int hook_trigger(void *ctx, const char *job, const char *params, int64_t *run_id,
			struct error_info *e)
{
	int rc = request(ctx, MSG_TRIGGER, job, params, 0, run_id);

	if (rc == CLOVER_ENOENT)
		return error_set(e, rc, "name", "no job '%s'", job);
	if (rc == CLOVER_ESTATE)
		return error_set(e, rc, NULL, "the server is shutting down");
	if (rc)
		return error_set(e, rc, NULL, "%s", clover_strerror(rc));
	return 0;
}

static int hook_kill(void *ctx, int64_t run_id, struct error_info *e)
{
	int rc = request(ctx, MSG_KILL, NULL, NULL, run_id, NULL);

	if (rc == CLOVER_ENOENT)
		return error_set(e, rc, NULL, "run %lld is not active", (long long)run_id);
	if (rc)
		return error_set(e, rc, NULL, "%s", clover_strerror(rc));
	return 0;
}

/* ------------------------------------------------------------------ */
/* executors for the operations API (HTTP threads) */

#define DISABLED_MAX 4096

static bool is_disabled(struct server *s, const char *id)
{
	bool found = false;

	pthread_mutex_lock(&s->xmu);
	for (size_t i = 0; i < s->ndisabled && !found; i++)
		found = strcmp(s->disabled[i], id) == 0;
	pthread_mutex_unlock(&s->xmu);
	return found;
}

/* Records an operator's choice; it sticks to the id across reconnections. */
static int set_disabled(struct server *s, const char *id, bool disabled)
{
	int rc = 0;

	pthread_mutex_lock(&s->xmu);
	for (size_t i = 0; i < s->ndisabled; i++) {
		if (strcmp(s->disabled[i], id) == 0) {
			if (!disabled) {
				free(s->disabled[i]);
				s->disabled[i] = s->disabled[--s->ndisabled];
			}
			goto out;
		}
	}
	if (disabled) {
		char **v = s->ndisabled < DISABLED_MAX
				   ? realloc(s->disabled, (s->ndisabled + 1) * sizeof(*v))
				   : NULL;

		if (v == NULL || (v[s->ndisabled] = strdup(id)) == NULL) {
			if (v)
				s->disabled = v;
			rc = CLOVER_ENOMEM;
			goto out;
		}
		s->disabled = v;
		s->ndisabled++;
	}
out:
	pthread_mutex_unlock(&s->xmu);
	return rc;
}

static size_t hook_executors(void *ctx, struct api_executor *out, size_t max)
{
	struct server *s = ctx;
	struct remote_executor *rx = NULL;
	size_t n = 0, nr = 0;

	if (max > 0) {
		struct api_executor *x = &out[0];

		memset(x, 0, sizeof(*x));
		snprintf(x->id, sizeof(x->id), "%s", LOCAL_EXECUTOR);
		if (gethostname(x->host, sizeof(x->host) - 1))
			x->host[0] = '\0';
		snprintf(x->labels, sizeof(x->labels), "clover.local=true");
		snprintf(x->version, sizeof(x->version), "clover %s", CLOVER_VERSION);
		snprintf(x->state, sizeof(x->state), "active");
		x->capacity = s->cfg.workers;
		x->running = exec_busy(s->pool);
		x->last_heartbeat = time_wall_ms();
		x->enabled = !is_disabled(s, LOCAL_EXECUTOR);
	}
	n = 1;
	if (s->remote == NULL)
		return n;
	if (max > 1 && (rx = calloc(max - 1, sizeof(*rx))) == NULL)
		return n;
	nr = remote_executors(s->remote, rx, max > 1 ? max - 1 : 0);
	for (size_t i = 0; i < nr && n < max; i++, n++) {
		struct api_executor *x = &out[n];

		memset(x, 0, sizeof(*x));
		snprintf(x->id, sizeof(x->id), "%s", rx[i].id);
		snprintf(x->host, sizeof(x->host), "%s", rx[i].host);
		snprintf(x->labels, sizeof(x->labels), "%s", rx[i].labels);
		snprintf(x->version, sizeof(x->version), "%s", rx[i].version);
		snprintf(x->state, sizeof(x->state), "%s", rx[i].state);
		x->capacity = rx[i].capacity;
		x->running = rx[i].running;
		x->last_heartbeat = rx[i].last_heartbeat;
		x->enabled = !is_disabled(s, rx[i].id);
	}
	/* Then those awaited after a restart that have not said hello yet. */
	n = 1 + nr;
	pthread_mutex_lock(&s->xmu);
	for (size_t i = 0; i < s->nexpected; i++) {
		bool listed = false;

		for (size_t k = 0; k < nr && !listed; k++)
			listed = strcmp(rx[k].id, s->expected[i].id) == 0;
		if (listed)
			continue;
		if (n < max) {
			struct api_executor *x = &out[n];

			memset(x, 0, sizeof(*x));
			snprintf(x->id, sizeof(x->id), "%s", s->expected[i].id);
			snprintf(x->state, sizeof(x->state), "expected");
			x->running = s->expected[i].shards;
		}
		n++;
	}
	pthread_mutex_unlock(&s->xmu);
	free(rx);
	return n;
}

static size_t hook_next_fires(void *ctx, struct api_fire *out, size_t max)
{
	return observe_next_fires(((struct server *)ctx)->obs, out, max);
}

static void hook_metrics(void *ctx, struct api_metrics *out)
{
	observe_metrics(((struct server *)ctx)->obs, out);
}

static int request(struct server *s, enum msg_kind kind, const char *name, const char *params,
		   int64_t run_id, int64_t *out_id);

static int hook_executor_control(void *ctx, const char *id, const char *op, struct error_info *e)
{
	struct server *s = ctx;
	bool enable = strcmp(op, "enable") == 0, drain = strcmp(op, "drain") == 0;
	int rc;

	if (drain && strcmp(id, LOCAL_EXECUTOR) == 0)
		return error_set(e, CLOVER_ESTATE, "id",
				 "the built-in executor cannot leave; disable it instead");
	rc = request(s, MSG_EXEC_ENABLE, id, NULL, enable, NULL);
	if (rc == CLOVER_ENOENT)
		return error_set(e, rc, "id", "no executor '%s'", id);
	if (rc == CLOVER_ESTATE)
		return error_set(e, rc, NULL, "the server is shutting down");
	if (rc == 0)
		rc = set_disabled(s, id, !enable);
	if (rc == 0 && drain && s->remote)
		rc = remote_drain(s->remote, id);
	if (rc == CLOVER_ENOENT)
		return error_set(e, rc, "id", "executor '%s' has left", id);
	if (rc)
		return error_set(e, rc, NULL, "%s", clover_strerror(rc));
	return 0;
}

/* ------------------------------------------------------------------ */
/* remote executor callbacks (the remote thread) */

/* A message with `name` (may be NULL) and `text` (may be NULL) copied; NULL on no memory. */
static struct msg *msg_new(enum msg_kind kind, const char *name, const char *text)
{
	struct msg *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return NULL;
	m->kind = kind;
	if ((name && (m->name = strdup(name)) == NULL) ||
	    (text && (m->text = strdup(text)) == NULL)) {
		msg_free(m);
		return NULL;
	}
	return m;
}

static void remote_join(void *ctx, const char *id, const char *const *labels, size_t nlabels,
			int capacity, const struct proto_ref *running, size_t nrunning)
{
	struct msg *m = msg_new(MSG_EXEC_JOIN, id, NULL);

	observe_executor_join(((struct server *)ctx)->obs, id, labels, nlabels, capacity);

	if (m && nrunning && (m->refs = calloc(nrunning, sizeof(*m->refs))) == NULL) {
		msg_free(m);
		m = NULL;
	}
	for (size_t i = 0; m && i < nrunning; i++) {
		m->refs[i] = (struct engine_ref){running[i].run_id, running[i].shard,
						 running[i].attempt};
		m->nrefs++;
	}
	if (m && (m->labels = calloc(nlabels ? nlabels : 1, sizeof(*m->labels)))) {
		for (; m->nlabels < nlabels; m->nlabels++) {
			if ((m->labels[m->nlabels] = strdup(labels[m->nlabels])) == NULL)
				break;
		}
		if (m->nlabels == nlabels) {
			m->capacity = capacity;
			post(ctx, m);
			return;
		}
	}
	if (m)
		msg_free(m);
	log_at(LOG_ERROR, "remote", "out of memory: executor=%s not joined", id);
}

static void remote_leave(void *ctx, const char *id)
{
	struct msg *m = msg_new(MSG_EXEC_LEAVE, id, NULL);

	observe_executor_leave(((struct server *)ctx)->obs, id);

	if (m == NULL) {
		log_at(LOG_ERROR, "remote", "out of memory: the leave of executor=%s is lost", id);
		return;
	}
	post(ctx, m);
}

static void remote_started(void *ctx, int64_t run_id, int shard, int attempt, int64_t at)
{
	struct msg *m = msg_new(MSG_STARTED, NULL, NULL);

	if (m == NULL)
		return;
	m->run_id = run_id;
	m->shard = shard;
	m->attempt = attempt;
	m->at = at;
	post(ctx, m);
}

static void remote_progress(void *ctx, int64_t run_id, int shard, int attempt, double fraction,
			    const char *message)
{
	struct msg *m = msg_new(MSG_PROGRESS, NULL, message);

	if (m == NULL)
		return;
	m->run_id = run_id;
	m->shard = shard;
	m->attempt = attempt;
	m->progress = fraction;
	post(ctx, m);
}

static void remote_finished(void *ctx, const char *id, uint32_t ticket, int64_t run_id, int shard,
			    int attempt, enum run_state state, int exit_code, const char *message,
			    int64_t at)
{
	struct msg *m = msg_new(MSG_FINISHED, id, message);

	if (m == NULL) {
		/* Not acknowledged: the executor sends it again after its next hello. */
		log_at(LOG_ERROR, "remote", "out of memory: run=%lld shard=%d result dropped",
		       (long long)run_id, shard);
		return;
	}
	m->ticket = ticket;
	m->run_id = run_id;
	m->shard = shard;
	m->attempt = attempt;
	m->state = state;
	m->exit_code = exit_code;
	m->at = at;
	post(ctx, m);
}

/*
 * Jobs an executor declares (docs/executors.md "Declared jobs"): a job that
 * does not exist is created; an existing one is updated from the declaration
 * only while nobody changed it since a declaration last wrote it (meta key
 * "declared:<job>" holds that revision). Once an operator changed it through
 * the API (edit, pause, resume), the stored job wins and the difference is
 * recorded as a warning event. Runs on the remote thread; store writes of
 * jobs are synchronous, and the engine learns of the job through the inbox.
 */
static void declare_one(struct server *s, const char *id, struct job_spec *spec)
{
	struct store_job j = {0};
	char key[160], *owned = NULL, msg[400];
	const char *what = NULL;
	int64_t rev = 0, declared = -1;
	bool created = false;
	enum store_level level = STORE_LEVEL_INFO;
	int rc;

	snprintf(key, sizeof(key), "declared:%s", spec->name);
	rc = store_job_get(s->store, spec->name, &j);
	if (rc == 0 && strcmp(j.spec, spec->json) == 0)
		goto out; /* as declared */
	if (rc == 0 && store_meta_get(s->store, key, &owned) == 0)
		declared = strtoll(owned, NULL, 10);
	if (rc == CLOVER_ENOENT || (rc == 0 && declared == j.revision)) {
		rc = store_job_put(s->store, spec->name, spec->json, rc == 0 ? j.paused : spec->paused,
				   time_wall_ms(), rc == 0 ? j.revision : 0, &rev, &created);
		if (rc == 0) {
			char v[24];

			snprintf(v, sizeof(v), "%lld", (long long)rev);
			store_meta_set(s->store, key, v);
			what = created ? "created" : "updated";
		}
	} else if (rc == 0) {
		snprintf(msg, sizeof(msg),
			 "the declaration of executor %s differs from the stored job, which was "
			 "changed through the API (revision %lld) and is kept",
			 id, (long long)j.revision);
		level = STORE_LEVEL_WARN;
	}
	if (rc) {
		log_at(LOG_ERROR, "remote", "job=%s declared by executor=%s not saved: %s",
		       spec->name, id, clover_strerror(rc));
		goto out;
	}
	if (what) {
		snprintf(msg, sizeof(msg), "job %s, declared by executor %s", what, id);
		hook_job_changed(s, spec->name, spec);
	}
	log_at(level == STORE_LEVEL_WARN ? LOG_WARN : LOG_INFO, "remote", "job=%s %s", spec->name,
	       msg);
	store_event_add(s->store, &(struct store_event){.at = time_wall_ms(),
							 .level = level,
							 .source = "remote",
							 .node = (char *)id,
							 .job = spec->name,
							 .message = msg});
out:
	free(owned);
	store_job_clear(&j);
}

static void remote_declare(void *ctx, const char *id, const char *const *jobs, size_t njobs)
{
	struct server *s = ctx;

	for (size_t i = 0; i < njobs; i++) {
		struct job_spec *spec;
		struct error_info e;

		if (job_spec_parse(jobs[i], strlen(jobs[i]), &spec, &e)) {
			log_at(LOG_WARN, "remote", "executor=%s declared an invalid job: %s: %s", id,
			       e.field, e.message);
			continue;
		}
		declare_one(s, id, spec);
		job_spec_unref(spec);
	}
}

static void remote_refused(void *ctx, int64_t run_id, int shard, int attempt, const char *why)
{
	struct msg *m = msg_new(MSG_REFUSED, NULL, why);

	if (m == NULL)
		return;
	m->run_id = run_id;
	m->shard = shard;
	m->attempt = attempt;
	post(ctx, m);
}

/* ------------------------------------------------------------------ */
/* the engine thread */

static enum store_level store_level_of(enum engine_event_level l)
{
	return l == ENGINE_EV_ERROR ? STORE_LEVEL_ERROR
	       : l == ENGINE_EV_WARN ? STORE_LEVEL_WARN
				     : STORE_LEVEL_INFO;
}

/* A dispatch the executor refused; reported to the engine after the batch. */
struct refused {
	int64_t run_id;
	int shard, attempt;
};

/*
 * Remembers a dispatch that was not taken, to fail it once the engine's
 * action batch is cleared (the engine must not be called while its actions
 * are being carried out). Out of memory, the shard stays dispatched and is
 * resolved by its timeout or at the next start.
 */
static void refused_add(struct refused **v, size_t *n, const struct engine_action *a)
{
	struct refused *r = realloc(*v, (*n + 1) * sizeof(**v));

	if (r == NULL) {
		log_at(LOG_ERROR, "engine", "out of memory: run=%lld shard=%d left dispatched",
		       (long long)a->run_id, a->shard);
		return;
	}
	*v = r;
	r[(*n)++] = (struct refused){a->run_id, a->shard, a->attempt};
}

/* Prefix of the engine's misfire summary event (engine.c, misfire()). */
#define MISFIRE_PREFIX "misfire:"
/* Reasons of runs that end without anything going wrong (engine.c). */
#define NO_EXECUTOR_PREFIX "no executor available"
#define WITHDRAWN_SUFFIX "before this instant"

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/*
 * Alerts (and the skip events) of a run that reached a final state other
 * than succeeded or cancelled. Only these runs get here, so the hot path of
 * succeeded runs pays one comparison. While an executor is being left
 * (lost_node), its runs are reported by the engine's events instead, as one
 * executor_lost group.
 */
/*
 * A job's skipped runs are logged and recorded as events at most once a
 * minute each (with how many were not): a per-second job that runs for ten
 * seconds under `forbid` skips nine instants in ten, and 100,000 of them
 * would otherwise write 90,000 events a second. The alert is raised for each
 * one all the same: the notifier groups them.
 */
#define SKIP_NOTE_MS 60000

struct skip_note {
	int64_t at;     /* when the last one was written */
	int64_t unsaid; /* skips since then that were not */
	char job[];
};

/* True when this skip of `job` is to be written; *unsaid: those it stands for too. */
static bool skip_note_due(struct server *s, const char *job, int64_t now, int64_t *unsaid)
{
	struct skip_note *n = hmap_get(&s->skip_notes, job);

	*unsaid = 0;
	if (n == NULL) {
		size_t len = strlen(job) + 1;

		if ((n = malloc(sizeof(*n) + len)) == NULL)
			return true;
		memcpy(n->job, job, len);
		n->unsaid = 0;
		if (hmap_put(&s->skip_notes, n->job, n) != 0) {
			free(n);
			return true;
		}
	} else if (now - n->at < SKIP_NOTE_MS) {
		n->unsaid++;
		return false;
	}
	*unsaid = n->unsaid;
	n->at = now;
	n->unsaid = 0;
	return true;
}

static void run_alert(struct server *s, const struct run_rec *r)
{
	const char *why = r->reason ? r->reason : "no reason given";
	char msg[600];
	enum notify_kind kind;
	int64_t unsaid;

	switch (r->state) {
	case RUN_FAILED:
		kind = strncmp(why, NO_EXECUTOR_PREFIX, strlen(NO_EXECUTOR_PREFIX)) == 0
			       ? NOTIFY_NO_EXECUTOR
			       : NOTIFY_RUN_FAILED;
		break;
	case RUN_TIMED_OUT:
		kind = NOTIFY_RUN_TIMED_OUT;
		break;
	case RUN_LOST:
		if (s->lost_node || s->draining)
			return;
		kind = NOTIFY_RUN_FAILED;
		break;
	case RUN_SKIPPED:
		/* Withdrawn fires (pause, change, stop) were never due: nothing to tell. */
		if (ends_with(why, WITHDRAWN_SUFFIX))
			return;
		/* A misfire's skipped instants are told once, by the engine's misfire event. */
		if (r->trigger == RUN_TRIG_MISFIRE)
			return;
		kind = NOTIFY_RUN_SKIPPED;
		if (skip_note_due(s, r->job, r->finished_at, &unsaid)) {
			if (unsaid > 0)
				snprintf(msg, sizeof(msg),
					 "run %lld skipped: %s (and %lld more in the last minute)",
					 (long long)r->id, why, (long long)unsaid);
			else
				snprintf(msg, sizeof(msg), "run %lld skipped: %s", (long long)r->id,
					 why);
			log_at(LOG_INFO, "engine", "job=%s %s", r->job, msg);
			store_submit_event(s->store,
					   &(struct store_event){.at = time_wall_ms(),
								 .level = STORE_LEVEL_WARN,
								 .source = "engine",
								 .node = LOCAL_EXECUTOR,
								 .job = r->job,
								 .run_id = r->id,
								 .message = msg});
		}
		break;
	default:
		return;
	}
	snprintf(msg, sizeof(msg), "run %lld %s: %s", (long long)r->id, run_state_name(r->state),
		 why);
	alerts_raise(s->alerts, kind, r->job, NULL, r->id, r->finished_at, msg);
}

static void carry_out(struct server *s)
{
	size_t n, nref = 0;
	const struct engine_action *a = engine_actions(s->engine, &n);
	struct refused *ref = NULL;

	for (size_t i = 0; i < n; i++) {
		switch (a[i].kind) {
		case ENGINE_ACT_RUN:
			if (store_submit_run(s->store, a[i].run))
				log_at(LOG_ERROR, "store", "out of memory: job=%s run=%lld not saved",
				       a[i].run->job, (long long)a[i].run->id);
			log_at(LOG_TRACE, "engine", "job=%s run=%lld state=%s", a[i].run->job,
			       (long long)a[i].run->id, run_state_name(a[i].run->state));
			if (a[i].run->state >= RUN_FAILED && a[i].run->state != RUN_CANCELLED)
				run_alert(s, a[i].run);
			break;
		case ENGINE_ACT_DISPATCH: {
			if (s->remote_on && strcmp(a[i].executor, LOCAL_EXECUTOR) != 0) {
				if (s->remote == NULL) {
					/* Stopping: the run stays unfinished, recovered at start. */
					log_at(LOG_INFO, "engine",
					       "job=%s run=%lld shard=%d: not dispatched to executor=%s, "
					       "the server is stopping",
					       a[i].spec->name, (long long)a[i].run_id, a[i].shard,
					       a[i].executor);
					break;
				}
				log_at(LOG_DEBUG, "engine",
				       "job=%s run=%lld shard=%d attempt=%d dispatch to executor=%s",
				       a[i].spec->name, (long long)a[i].run_id, a[i].shard,
				       a[i].attempt, a[i].executor);
				if (remote_dispatch(s->remote, &a[i]) != 0)
					refused_add(&ref, &nref, &a[i]);
				break;
			}
			struct exec_request req = {
				.run_id = a[i].run_id,
				.shard = a[i].shard,
				.shard_count = a[i].shard_count,
				.attempt = a[i].attempt,
				.scheduled_at = a[i].scheduled_at,
				.spec = a[i].spec,
				.shard_param = a[i].shard_param,
				.params = a[i].params,
				.not_before = a[i].not_before,
			};

			log_at(LOG_DEBUG, "engine", "job=%s run=%lld shard=%d attempt=%d dispatch",
			       a[i].spec->name, (long long)a[i].run_id, a[i].shard, a[i].attempt);
			if (exec_submit(s->pool, &req))
				refused_add(&ref, &nref, &a[i]);
			break;
		}
		case ENGINE_ACT_KILL:
			log_at(LOG_INFO, "engine", "run=%lld shard=%d attempt=%d kill%s",
			       (long long)a[i].run_id, a[i].shard, a[i].attempt,
			       a[i].timed_out ? " (timeout)" : "");
			if (s->remote_on && strcmp(a[i].executor, LOCAL_EXECUTOR) != 0) {
				if (s->remote)
					remote_kill(s->remote, &a[i]);
			} else {
				exec_kill(s->pool, a[i].run_id, a[i].shard, a[i].attempt,
					  a[i].timed_out);
			}
			break;
		case ENGINE_ACT_EVENT: {
			struct store_event ev = {
				.at = time_wall_ms(),
				.level = store_level_of(a[i].level),
				.source = "engine",
				.node = LOCAL_EXECUTOR,
				.job = (char *)a[i].job,
				.message = (char *)a[i].message,
			};

			log_at(a[i].level == ENGINE_EV_INFO ? LOG_INFO : LOG_WARN, "engine",
			       "job=%s %s", a[i].job ? a[i].job : "-", a[i].message);
			store_submit_event(s->store, &ev);
			if (s->lost_node && a[i].job)
				alerts_raise(s->alerts, NOTIFY_EXECUTOR_LOST, a[i].job, s->lost_node,
					     0, ev.at, a[i].message);
			else if (a[i].job &&
				 strncmp(a[i].message, MISFIRE_PREFIX, strlen(MISFIRE_PREFIX)) == 0)
				alerts_raise(s->alerts, NOTIFY_RUN_MISFIRED, a[i].job, NULL, 0, ev.at,
					     a[i].message);
			break;
		}
		}
	}
	engine_actions_clear(s->engine);
	/* Results applied above are durable once the store has these runs: ack them now. */
	if (s->remote)
		remote_flush(s->remote);
	for (size_t i = 0; i < nref; i++)
		engine_shard_finished(s->engine, ref[i].run_id, ref[i].shard, ref[i].attempt,
				      RUN_FAILED, -1, "the executor's queue is full", time_wall_ms());
	free(ref);
	if (nref)
		carry_out(s);
}

/* Records an event of the engine thread (through the writer queue) and logs it. */
static void engine_event(struct server *s, enum store_level level, const char *node,
			 const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void engine_event(struct server *s, enum store_level level, const char *node,
			 const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_at(level == STORE_LEVEL_INFO ? LOG_INFO : LOG_WARN, "engine", "%s", msg);
	store_submit_event(s->store, &(struct store_event){.at = time_wall_ms(),
							    .level = level,
							    .source = "cluster",
							    .node = (char *)node,
							    .message = msg});
}

/*
 * Leaves executor `id`: its shards fail over or are lost. The actions this
 * produces are carried out at once, apart from the others, so that every
 * job it hit is reported in one executor_lost alert group.
 */
static void executor_lost(struct server *s, const char *id, const char *why, int64_t now)
{
	int running = engine_executor_running(s->engine, id);

	engine_event(s, STORE_LEVEL_WARN, id, "executor %s %s; %d shard(s) were running there", id,
		     why, running);
	carry_out(s);
	s->lost_node = id;
	engine_executor_leave(s->engine, id, now);
	carry_out(s);
	s->lost_node = NULL;
}

static void handle(struct server *s, struct msg *m)
{
	int64_t now = time_wall_ms();
	int64_t id = 0;
	int rc;

	switch (m->kind) {
	case MSG_STARTED:
		engine_shard_started(s->engine, m->run_id, m->shard, m->attempt, m->at);
		break;
	case MSG_PROGRESS:
		engine_shard_progress(s->engine, m->run_id, m->shard, m->attempt, m->progress,
				      m->text);
		break;
	case MSG_FINISHED:
		log_at(m->state == RUN_SUCCEEDED ? LOG_DEBUG : LOG_INFO, "engine",
		       "run=%lld shard=%d attempt=%d %s%s%s", (long long)m->run_id, m->shard,
		       m->attempt, run_state_name(m->state), m->text ? ": " : "",
		       m->text ? m->text : "");
		rc = engine_shard_finished(s->engine, m->run_id, m->shard, m->attempt, m->state,
					   m->exit_code, m->text, m->at);
		if (m->name && s->remote) { /* from a remote executor: acknowledge it */
			if (rc == CLOVER_ENOENT)
				log_at(LOG_INFO, "engine",
				       "run=%lld shard=%d attempt=%d: late %s result from executor=%s "
				       "ignored (superseded or already recorded)",
				       (long long)m->run_id, m->shard, m->attempt,
				       run_state_name(m->state), m->name);
			remote_applied(s->remote, m->name, m->ticket, m->run_id, m->shard,
				       m->attempt, rc == CLOVER_ENOENT);
		}
		break;
	case MSG_REFUSED: /* back to routing: another executor, if any */
		engine_shard_refused(s->engine, m->run_id, m->shard, m->attempt, m->text, now);
		break;
	case MSG_EXEC_JOIN:
		rc = engine_executor_join(s->engine, m->name, (const char *const *)m->labels,
					  m->nlabels, m->capacity);
		if (rc)
			log_at(LOG_WARN, "engine", "executor=%s not joined: %s", m->name,
			       clover_strerror(rc));
		else if (is_disabled(s, m->name)) /* an operator's choice outlives a reconnection */
			engine_executor_set_enabled(s->engine, m->name, false);
		if (rc == 0)
			engine_event(s, STORE_LEVEL_INFO, m->name,
				     "executor %s joined (capacity %d, %zu label(s))", m->name,
				     m->capacity, m->nlabels);
		if (rc == 0) {
			/* Back after our restart: what it no longer runs fails over. */
			engine_executor_reconcile(s->engine, m->name, m->refs, m->nrefs, now);
			pthread_mutex_lock(&s->xmu);
			for (size_t i = 0; i < s->nexpected; i++) {
				if (strcmp(s->expected[i].id, m->name) == 0) {
					log_at(LOG_INFO, "engine",
					       "executor=%s is back, reporting %zu attempt(s)",
					       m->name, m->nrefs);
					free(s->expected[i].id);
					s->expected[i] = s->expected[--s->nexpected];
					break;
				}
			}
			pthread_mutex_unlock(&s->xmu);
		}
		break;
	case MSG_EXEC_ENABLE:
		rc = engine_executor_set_enabled(s->engine, m->name, m->run_id != 0);
		if (rc == 0)
			log_at(LOG_INFO, "engine", "executor=%s %s", m->name,
			       m->run_id ? "enabled" : "disabled");
		reply_send(m->reply, rc, 0);
		break;
	case MSG_EXEC_LEAVE:
		executor_lost(s, m->name, "left or was lost", now);
		break;
	case MSG_JOB_PUT:
		log_at(LOG_INFO, "engine", "job=%s applied", m->name);
		engine_job_put(s->engine, m->spec, now, now);
		m->spec = NULL; /* the engine took the reference */
		break;
	case MSG_JOB_DEL:
		log_at(LOG_INFO, "engine", "job=%s deleted", m->name);
		engine_job_remove(s->engine, m->name, now);
		break;
	case MSG_TRIGGER:
		rc = s->draining ? CLOVER_ESTATE
				 : engine_trigger(s->engine, m->name, m->text, now, &id);
		if (rc == 0)
			log_at(LOG_INFO, "engine", "job=%s run=%lld triggered by hand", m->name,
			       (long long)id);
		reply_send(m->reply, rc, id);
		break;
	case MSG_KILL:
		rc = engine_kill(s->engine, m->run_id, now);
		reply_send(m->reply, rc, 0);
		break;
	}
	msg_free(m);
}

static void process_inbox(struct server *s)
{
	for (struct msg *m = take_all(s), *next; m; m = next) {
		next = m->next;
		handle(s, m);
	}
}

/* ------------------------------------------------------------------ */
/* start-up */

/*
 * Start-up loading. Parsing a million job specs is most of the start-up time
 * and job_spec_parse() is thread-safe, so the store's rows (read on this
 * thread) are cut into batches that parser threads take from a queue; each
 * parser then puts its batch into the engine under `engine_mu` (nothing else
 * uses the engine before the main loop starts). Job order does not matter:
 * every job has its own timer.
 */
#define LOAD_BATCH 1024
#define LOAD_QUEUE_MAX 16 /* batches read ahead of the parsers */

struct load_item {
	char *text; /* the spec, NUL, then the job's name (one allocation) */
	size_t len;
	int64_t since;
};

struct load_batch {
	struct load_batch *next;
	size_t n;
	struct load_item items[LOAD_BATCH];
};

struct loader {
	struct server *s;
	int64_t now;
	pthread_mutex_t mu; /* queue, counters */
	pthread_cond_t cv;
	struct load_batch *head, *tail, *filling;
	size_t queued;
	bool done;
	int rc;
	pthread_mutex_t engine_mu;
	size_t loaded, bad;
	int64_t parse_ns; /* summed over the parser threads */
};

static void load_parse(struct loader *l, struct load_batch *b)
{
	struct job_spec *specs[LOAD_BATCH];
	int64_t t0 = time_mono_ns();
	size_t bad = 0;
	int rc = 0;

	for (size_t i = 0; i < b->n; i++) {
		struct error_info e;

		if (job_spec_parse(b->items[i].text, b->items[i].len, &specs[i], &e)) {
			/* It validated once but not now (e.g. a zone gone from tzdata). */
			log_at(LOG_ERROR, "engine", "job=%s not scheduled: %s: %s",
			       b->items[i].text + b->items[i].len + 1, e.field, e.message);
			specs[i] = NULL;
			bad++;
		}
	}
	pthread_mutex_lock(&l->engine_mu);
	for (size_t i = 0; i < b->n; i++) {
		if (specs[i] && engine_job_put(l->s->engine, specs[i], b->items[i].since, l->now))
			rc = CLOVER_ENOMEM;
	}
	pthread_mutex_unlock(&l->engine_mu);
	pthread_mutex_lock(&l->mu);
	l->loaded += b->n - bad;
	l->bad += bad;
	l->parse_ns += time_mono_ns() - t0;
	if (rc)
		l->rc = rc;
	pthread_mutex_unlock(&l->mu);
}

static void batch_free(struct load_batch *b)
{
	for (size_t i = 0; i < b->n; i++)
		free(b->items[i].text);
	free(b);
}

static void *load_worker(void *arg)
{
	struct loader *l = arg;

	for (;;) {
		struct load_batch *b;

		pthread_mutex_lock(&l->mu);
		while (l->head == NULL && !l->done)
			pthread_cond_wait(&l->cv, &l->mu);
		b = l->head;
		if (b) {
			l->head = b->next;
			if (l->head == NULL)
				l->tail = NULL;
			l->queued--;
			pthread_cond_broadcast(&l->cv); /* room for the reader */
		}
		pthread_mutex_unlock(&l->mu);
		if (b == NULL)
			return NULL;
		load_parse(l, b);
		batch_free(b);
	}
}

/* Hands the batch being filled to the parsers; waits while the queue is full. */
static void load_flush(struct loader *l)
{
	struct load_batch *b = l->filling;

	l->filling = NULL;
	if (b == NULL)
		return;
	pthread_mutex_lock(&l->mu);
	while (l->queued >= LOAD_QUEUE_MAX)
		pthread_cond_wait(&l->cv, &l->mu);
	if (l->tail)
		l->tail->next = b;
	else
		l->head = b;
	l->tail = b;
	l->queued++;
	pthread_cond_broadcast(&l->cv);
	pthread_mutex_unlock(&l->mu);
}

static int load_job(void *ctx, const struct store_job *j, int64_t last_fire)
{
	struct loader *l = ctx;
	struct load_item *it;

	if (l->filling == NULL && (l->filling = calloc(1, sizeof(*l->filling))) == NULL)
		return CLOVER_ENOMEM;
	it = &l->filling->items[l->filling->n];
	it->len = strlen(j->spec);
	size_t nlen = strlen(j->name);

	if ((it->text = malloc(it->len + nlen + 2)) == NULL)
		return CLOVER_ENOMEM;
	memcpy(it->text, j->spec, it->len + 1);
	memcpy(it->text + it->len + 1, j->name, nlen + 1);
	/* Fires continue after the last recorded one, or after the last change. */
	it->since = last_fire > j->updated_at ? last_fire : j->updated_at;
	if (++l->filling->n == LOAD_BATCH)
		load_flush(l);
	return 0;
}

/* Loads every stored job into the engine with one parser thread per core. */
static int load_jobs(struct server *s, int64_t now, size_t *loaded, size_t *bad, int64_t *parse_ns)
{
	struct loader l = {.s = s, .now = now};
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int nthreads = ncpu < 1 ? 1 : ncpu > 8 ? 8 : (int)ncpu, started = 0, rc;
	pthread_t th[8];

	pthread_mutex_init(&l.mu, NULL);
	pthread_mutex_init(&l.engine_mu, NULL);
	pthread_cond_init(&l.cv, NULL);
	for (; started < nthreads; started++) {
		if (pthread_create(&th[started], NULL, load_worker, &l))
			break;
	}
	if (started == 0) {
		rc = CLOVER_ESYS;
	} else {
		rc = store_job_load_all(s->store, load_job, &l);
		load_flush(&l);
	}
	pthread_mutex_lock(&l.mu);
	l.done = true;
	pthread_cond_broadcast(&l.cv);
	pthread_mutex_unlock(&l.mu);
	for (int i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	/* Left over only when the reader failed before the parsers started. */
	while (l.head) {
		struct load_batch *b = l.head;

		l.head = b->next;
		batch_free(b);
	}
	if (l.filling)
		batch_free(l.filling);
	pthread_cond_destroy(&l.cv);
	pthread_mutex_destroy(&l.engine_mu);
	pthread_mutex_destroy(&l.mu);
	*loaded = l.loaded;
	*bad = l.bad;
	*parse_ns = l.parse_ns;
	return rc ? rc : l.rc;
}

struct recovery {
	struct server *s;
	int64_t now;
};

/*
 * Notes a remote executor that had an attempt in flight, so recovery keeps
 * it. Runs before the API starts.
 */
static int expect_executor(struct server *s, const char *id)
{
	struct expected_exec *v;
	char *dup;

	for (size_t i = 0; i < s->nexpected; i++) {
		if (strcmp(s->expected[i].id, id) == 0) {
			s->expected[i].shards++;
			return 0;
		}
	}
	if ((v = realloc(s->expected, (s->nexpected + 1) * sizeof(*v))) == NULL)
		return CLOVER_ENOMEM;
	s->expected = v;
	if ((dup = strdup(id)) == NULL)
		return CLOVER_ENOMEM;
	v[s->nexpected++] = (struct expected_exec){dup, 1};
	return engine_executor_expect(s->engine, id);
}

static int recover_run(void *ctx, const struct run_rec *r)
{
	struct recovery *l = ctx;
	int rc = 0;

	/*
	 * With remote executors, their attempts are kept in flight: each
	 * executor reports them when it is back (engine_executor_expect()).
	 */
	for (int i = 0; l->s->cfg.rpc_listen[0] && rc == 0 && i < r->nshards; i++) {
		const struct shard_rec *sh = &r->shards[i];

		if (!run_state_final(sh->state) && sh->attempt > 0 && sh->executor &&
		    strcmp(sh->executor, LOCAL_EXECUTOR) != 0)
			rc = expect_executor(l->s, sh->executor);
	}
	if (rc)
		return rc;
	rc = engine_recover_run(l->s->engine, r, l->now);

	if (rc == CLOVER_ENOENT) {
		/* Its job is gone: nothing can retry it. Record it as lost. */
		struct run_rec lost;

		if (run_rec_copy(&lost, r))
			return CLOVER_ENOMEM;
		lost.state = RUN_LOST;
		lost.finished_at = l->now;
		for (int i = 0; i < lost.nshards; i++) {
			if (!run_state_final(lost.shards[i].state))
				lost.shards[i].state = RUN_LOST;
		}
		store_submit_run(l->s->store, &lost);
		run_rec_clear(&lost);
		rc = 0;
	}
	return rc;
}

static int start(struct server *s, struct error_info *e)
{
	char path[4200];
	int64_t maxid = 0, t0, parse_ns = 0;
	struct recovery rcv = {.s = s, .now = time_wall_ms()};
	size_t loaded = 0, bad = 0;
	struct engine_options eo = {0};
	struct store_options so = {0};
	struct exec_options xo = {0};
	struct api_options ao = {0};
	const char *local[] = {"clover.local=true"};
	int rc;

	if ((rc = fs_mkdirs(s->cfg.data)))
		return error_set(e, rc, "data", "cannot create %s: %s",
				 s->cfg.data, strerror(errno));
	snprintf(path, sizeof(path), "%s/clover.db", s->cfg.data);
	so.path = path;
	if ((rc = store_open(&so, &s->store, e)))
		return rc;
	if ((rc = auth_bootstrap(s->store, s->cfg.data, e)))
		return rc;
	if ((rc = alerts_new(&s->cfg, s->store, LOCAL_EXECUTOR, &s->alerts, e)))
		return rc;
	if ((rc = store_run_max_id(s->store, &maxid)))
		return error_set(e, rc, NULL, "cannot read the store: %s", clover_strerror(rc));
	eo.first_run_id = maxid + 1;
	eo.seed = (uint64_t)time_mono_ns();
	eo.lead_ms = FIRE_LEAD_MS;
	if ((rc = engine_new(&eo, &s->engine)))
		return error_set(e, rc, NULL, "out of memory");
	xo.workers = s->cfg.workers;
	xo.kill_grace_ms = s->cfg.kill_grace_ms;
	xo.on_event = on_exec_event;
	xo.ctx = s;
	if ((rc = exec_pool_new(&xo, &s->pool)))
		return error_set(e, rc, NULL, "cannot start the executor: %s", clover_strerror(rc));
	engine_executor_join(s->engine, LOCAL_EXECUTOR, local, 1, s->cfg.workers);

	t0 = time_mono_ms();
	if ((rc = load_jobs(s, rcv.now, &loaded, &bad, &parse_ns)))
		return error_set(e, rc, NULL, "cannot load jobs: %s", clover_strerror(rc));
	if ((rc = store_run_unfinished(s->store, recover_run, &rcv)))
		return error_set(e, rc, NULL, "cannot recover runs: %s", clover_strerror(rc));
	if (s->nexpected) {
		/* Long enough for executors to reconnect and say hello. */
		int64_t grace = 3 * s->cfg.executor_timeout_ms;

		s->expect_deadline = time_wall_ms() + (grace > 10000 ? grace : 10000);
		log_at(LOG_INFO, "main",
		       "%zu remote executor(s) had shards in flight; waiting for them until %lld ms "
		       "from now",
		       s->nexpected, (long long)(s->expect_deadline - time_wall_ms()));
	}
	log_at(LOG_INFO, "main", "loaded %zu jobs in %lld ms (%lld ms of parsing over the cores)%s",
	       loaded, (long long)(time_mono_ms() - t0), (long long)(parse_ns / 1000000),
	       bad ? "; some could not be scheduled" : "");
	carry_out(s);

	ao.listen = s->cfg.listen;
	ao.store = s->store;
	ao.mode = "standalone";
	ao.threads = s->cfg.http_threads;
	ao.hooks.ctx = s;
	ao.hooks.job_changed = hook_job_changed;
	ao.hooks.trigger = hook_trigger;
	ao.hooks.kill = hook_kill;
	ao.hooks.executors = hook_executors;
	ao.hooks.executor_control = hook_executor_control;
	ao.hooks.next_fires = hook_next_fires;
	ao.hooks.metrics = hook_metrics;
	ao.metrics_public = s->cfg.metrics_public;
	{
		struct observe_options oo = {
			.api_listen = s->cfg.listen,
			.rpc = s->cfg.rpc_listen[0] ? s->cfg.rpc_listen : NULL,
			.workers = s->cfg.workers,
			.retention_ms = s->cfg.retention_ms,
			.executor_timeout_ms = s->cfg.executor_timeout_ms,
			.alerts = s->alerts,
		};

		if ((rc = observe_new(&oo, &s->obs, e)))
			return rc;
	}
	/* Executors first: an API on port 0 must not take the executors' fixed port. */
	if (s->cfg.rpc_listen[0]) {
		struct remote_options ro = {
			.listen = s->cfg.rpc_listen,
			.server_key = s->cfg.server_key,
			.executor_keys = s->cfg.executor_keys,
			.dead_after_ms = s->cfg.executor_timeout_ms,
			.store = s->store,
			.hooks = {.ctx = s,
				  .join = remote_join,
				  .leave = remote_leave,
				  .started = remote_started,
				  .progress = remote_progress,
				  .finished = remote_finished,
				  .refused = remote_refused,
				  .declare = remote_declare},
		};

		if ((rc = remote_start(&ro, &s->remote, e)))
			return rc;
		s->remote_on = true;
	}
	ao.coord = observe_coord(s->obs);
	if ((rc = api_start(&ao, &s->api, e)))
		return rc;
	observe_api_port(s->obs, api_port(s->api));
	return 0;
}

static void print_banner(const struct server *s)
{
	char host[300], exe[4096] = "clover";
	const char *colon = strrchr(s->cfg.listen, ':');
	size_t hl = colon ? (size_t)(colon - s->cfg.listen) : 0;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n > 0)
		exe[n] = '\0';

	snprintf(host, sizeof(host), "%.*s", (int)hl, s->cfg.listen);
	if (strcmp(host, "0.0.0.0") == 0 || host[0] == '\0')
		snprintf(host, sizeof(host), "127.0.0.1");
	printf("clover %s (standalone) is running\n"
	       "  API:         http://%s:%d/api/v1/\n"
	       "  console:     http://%s:%d/ (user admin, password in %s/admin.password)\n"
	       "  data:        %s\n"
	       "  admin token: %s/admin.token\n"
	       "  try:         %s job apply -f examples/hello.json\n"
	       "  stop:        Ctrl-C\n",
	       CLOVER_VERSION, host, api_port(s->api), host, api_port(s->api), s->cfg.data,
	       s->cfg.data, s->cfg.data, exe);
	if (s->remote)
		printf("  executors:   %s\n", remote_endpoint(s->remote));
	fflush(stdout);
}

static void reload(struct server *s)
{
	struct config c;
	struct error_info e;

	config_defaults(&c);
	if ((s->cfg.config_file[0] && config_load_file(&c, s->cfg.config_file, &e)) ||
	    config_load_env(&c, &e)) {
		log_at(LOG_ERROR, "main", "reload failed, keeping the old configuration: %s",
		       e.message);
		return;
	}
	/* Reloadable keys; the others need a restart. */
	s->cfg.log_level = c.log_level;
	snprintf(s->cfg.trace, sizeof(s->cfg.trace), "%s", c.trace);
	s->cfg.retention_ms = c.retention_ms;
	s->cfg.drain_grace_ms = c.drain_grace_ms;
	log_set_level(s->cfg.log_level);
	log_set_trace(s->cfg.trace);
	if (s->remote) {
		/*
		 * New executors can be let in without a restart: the file is read
		 * again (the one of the file or environment, else the flag's).
		 */
		if (c.executor_keys[0])
			snprintf(s->cfg.executor_keys, sizeof(s->cfg.executor_keys), "%s",
				 c.executor_keys);
		if (remote_reload_keys(s->remote, s->cfg.executor_keys, &e))
			log_at(LOG_ERROR, "main", "executor keys not reloaded, keeping the old ones: %s",
			       e.message);
	}
	log_at(LOG_INFO, "main", "configuration reloaded");
	store_event_add(s->store, &(struct store_event){.at = time_wall_ms(),
							 .level = STORE_LEVEL_INFO,
							 .source = "main",
							 .node = LOCAL_EXECUTOR,
							 .message = "configuration reloaded"});
}

static void prune(struct server *s, int64_t now)
{
	int64_t deleted = 0;

	s->next_prune = now + PRUNE_EVERY_MS;
	if (s->cfg.retention_ms <= 0)
		return;
	if (store_prune(s->store, now - s->cfg.retention_ms, PRUNE_BATCH, &deleted) == 0 && deleted)
		log_at(LOG_INFO, "store", "pruned %lld runs and events older than the retention",
		       (long long)deleted);
}

/* Shards running on remote executors (the engine's count). */
static int remote_busy(struct server *s)
{
	if (s->remote == NULL)
		return 0;
	return engine_executor_running(s->engine, NULL) -
	       engine_executor_running(s->engine, LOCAL_EXECUTOR);
}

/*
 * The main loop. Returns when a signal asked to stop and the drain is over.
 */
static void loop(struct server *s)
{
	int64_t drain_deadline = 0;

	for (;;) {
		int64_t now = time_wall_ms();
		int64_t wake = s->draining ? now + 100 : engine_next_wake(s->engine);
		int timeout;
		struct pollfd fds[2] = {{s->evfd, POLLIN, 0}, {s->sigfd, POLLIN, 0}};

		if (wake > s->next_prune)
			wake = s->next_prune;
		if (s->nexpected && wake > s->expect_deadline)
			wake = s->expect_deadline;
		timeout = wake <= now ? 0 : wake - now > 1000 ? 1000 : (int)(wake - now);
		if (poll(fds, 2, timeout) < 0 && errno != EINTR)
			log_at(LOG_ERROR, "main", "poll: %s", strerror(errno));
		if (fds[1].revents & POLLIN) {
			struct signalfd_siginfo si;

			if (read(s->sigfd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo == SIGHUP) {
					reload(s);
				} else if (!s->draining) {
					log_at(LOG_INFO, "main",
					       "stopping: no new fires; %d shard(s) running, waiting "
					       "up to %llds",
					       exec_busy(s->pool) + remote_busy(s),
					       (long long)(s->cfg.drain_grace_ms / 1000));
					s->draining = true;
					drain_deadline = time_mono_ms() + s->cfg.drain_grace_ms;
					engine_withdraw_early(s->engine, "the server was stopping",
							      time_wall_ms());
				} else {
					log_at(LOG_WARN, "main", "second signal: stopping now");
					drain_deadline = 0;
				}
			}
		}
		process_inbox(s);
		now = time_wall_ms();
		if (!s->draining)
			engine_tick(s->engine, now);
		if (now >= s->next_prune)
			prune(s, now);
		if (s->nexpected && now >= s->expect_deadline) {
			/* Not back: their shards fail over (or are lost). */
			struct expected_exec *gone = s->expected;
			size_t ngone = s->nexpected;

			pthread_mutex_lock(&s->xmu);
			s->expected = NULL;
			s->nexpected = 0;
			pthread_mutex_unlock(&s->xmu);
			for (size_t i = 0; i < ngone; i++) {
				log_at(LOG_WARN, "engine",
				       "executor=%s did not come back after the restart; its shards "
				       "fail over",
				       gone[i].id);
				executor_lost(s, gone[i].id, "did not come back after the restart",
					      now);
				free(gone[i].id);
			}
			free(gone);
		}
		carry_out(s);
		observe_pass(s->obs, s->engine);
		/* Remote shards are waited for too: their results then need no retry. */
		if (s->draining && ((exec_busy(s->pool) == 0 && remote_busy(s) == 0) ||
				    time_mono_ms() >= drain_deadline))
			return;
	}
}

static void stop(struct server *s)
{
	/*
	 * The API waits for requests in flight, and a trigger or kill waits for
	 * the engine thread (this one): close the inbox to requests and answer
	 * those already queued before stopping the API.
	 */
	pthread_mutex_lock(&s->mu);
	s->closed = true;
	pthread_mutex_unlock(&s->mu);
	s->draining = true;
	if (s->engine) {
		process_inbox(s);
		carry_out(s);
	}
	api_stop(s->api);
	s->api = NULL;
	/* Its last reports (leaves, results) are in the inbox, drained below. */
	remote_stop(s->remote);
	s->remote = NULL;
	observe_free(s->obs); /* after the API and the remote thread, its readers */
	s->obs = NULL;
	if (s->pool) {
		/* Kills what still runs; its reports arrive through the inbox. */
		exec_pool_free(s->pool);
		s->pool = NULL;
		if (s->engine) {
			process_inbox(s);
			carry_out(s);
		}
	}
	/* Anything posted after the last pass (a late HTTP request) is dropped. */
	for (struct msg *m = take_all(s), *next; m; m = next) {
		next = m->next;
		if (m->reply)
			reply_send(m->reply, CLOVER_ESTATE, 0);
		msg_free(m);
	}
	engine_free(s->engine);
	s->engine = NULL;
	/* Before the store: its last reports become events. */
	alerts_free(s->alerts);
	s->alerts = NULL;
	if (s->store) {
		store_flush(s->store);
		store_close(s->store);
		s->store = NULL;
	}
	for (size_t i = 0; i < s->ndisabled; i++)
		free(s->disabled[i]);
	free(s->disabled);
	for (size_t i = 0; i < s->nexpected; i++)
		free(s->expected[i].id);
	free(s->expected);
	{
		const char *k;
		void *v;

		for (size_t i = 0; hmap_next(&s->skip_notes, &i, &k, &v);)
			free(v);
		hmap_free(&s->skip_notes);
	}
	if (s->evfd >= 0)
		close(s->evfd);
	if (s->sigfd >= 0)
		close(s->sigfd);
	tz_cleanup();
}

static void usage(FILE *f)
{
	fprintf(f, "usage: clover server [options]\n\n"
		   "Runs the scheduler with its built-in executor and HTTP API.\n\n"
		   "options (each also CLOVER_<KEY> in the environment and <key> in [server] of "
		   "the config file):\n"
		   "  --data DIR           data directory (default ~/.local/share/clover)\n"
		   "  --listen ADDR        API address (default 127.0.0.1:8080)\n"
		   "  --config FILE        INI configuration file\n"
		   "  --log-level LEVEL    trace, debug, info, warn, error, off (default info)\n"
		   "  --trace LIST         subsystems to trace: engine,store,exec,api or all\n"
		   "  --workers N          shards the built-in executor runs at once (default 64)\n"
		   "  --retention DUR      keep finished runs and events this long (default 30d)\n"
		   "  --drain-grace DUR    on SIGTERM, wait this long for running shards (default 30s)\n"
		   "  --kill-grace DUR     SIGTERM to SIGKILL delay for a shard (default 5s)\n"
		   "  --http-threads N     HTTP worker threads (default 4)\n"
		   "  --rpc-listen ADDR    address for remote executors, e.g. 127.0.0.1:7070\n"
		   "                       (default: none, only the built-in executor)\n"
		   "  --server-key PREFIX  the scheduler's key pair PREFIX.key/.pub (clover keygen)\n"
		   "  --executor-keys FILE accepted executor public keys, one per line\n"
		   "  --executor-timeout DUR  an executor silent this long is lost (default 3s)\n"
		   "  alerts (docs/alerts.md): --smtp-url URL, --smtp-from ADDR, --smtp-user U,\n"
		   "  --smtp-password P, --smtp-starttls none|try|require, --smtp-timeout DUR,\n"
		   "  --smtp-retries N, --alert-ca-file FILE, --webhook-timeout DUR,\n"
		   "  --webhook-retries N, --alert-retry-backoff DUR, --alert-retry-backoff-max DUR,\n"
		   "  --alert-group-window DUR, --alert-rate-limit N, --alert-rate-period DUR,\n"
		   "  --alert-items-max N, --alert-flush-timeout DUR, --alert-groups-max N,\n"
		   "  --alert-queue-max N\n"
		   "  --metrics-public true|false  /metrics without a token (default false)\n");
}

/* Parses flags over the file and environment; returns 0, 1 (help shown) or an error. */
static int parse_args(struct config *c, int argc, char **argv, struct error_info *e)
{
	static const struct option opts[] = {
		{"data", required_argument, NULL, 'd'},
		{"listen", required_argument, NULL, 'l'},
		{"config", required_argument, NULL, 'c'},
		{"log-level", required_argument, NULL, 'L'},
		{"trace", required_argument, NULL, 't'},
		{"workers", required_argument, NULL, 'w'},
		{"retention", required_argument, NULL, 'r'},
		{"drain-grace", required_argument, NULL, 'g'},
		{"kill-grace", required_argument, NULL, 'k'},
		{"http-threads", required_argument, NULL, 'H'},
		{"rpc-listen", required_argument, NULL, 'R'},
		{"server-key", required_argument, NULL, 'K'},
		{"executor-keys", required_argument, NULL, 'E'},
		{"executor-timeout", required_argument, NULL, 'T'},
		{"smtp-url", required_argument, NULL, 1000},
		{"smtp-user", required_argument, NULL, 1001},
		{"smtp-password", required_argument, NULL, 1002},
		{"smtp-from", required_argument, NULL, 1003},
		{"smtp-starttls", required_argument, NULL, 1004},
		{"smtp-timeout", required_argument, NULL, 1005},
		{"smtp-retries", required_argument, NULL, 1006},
		{"alert-ca-file", required_argument, NULL, 1007},
		{"webhook-timeout", required_argument, NULL, 1008},
		{"webhook-retries", required_argument, NULL, 1009},
		{"alert-retry-backoff", required_argument, NULL, 1010},
		{"alert-retry-backoff-max", required_argument, NULL, 1011},
		{"alert-group-window", required_argument, NULL, 1012},
		{"alert-rate-limit", required_argument, NULL, 1013},
		{"alert-rate-period", required_argument, NULL, 1014},
		{"alert-items-max", required_argument, NULL, 1015},
		{"alert-flush-timeout", required_argument, NULL, 1016},
		{"alert-groups-max", required_argument, NULL, 1017},
		{"alert-queue-max", required_argument, NULL, 1018},
		{"metrics-public", required_argument, NULL, 1019},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *file = NULL;
	int ch, rc;

	/* First pass: find --config, so flags can override the file. */
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (ch == 'c')
			file = optarg;
		if (ch == 'h') {
			usage(stdout);
			return 1;
		}
	}
	if (file) {
		snprintf(c->config_file, sizeof(c->config_file), "%s", file);
		if ((rc = config_load_file(c, file, e)))
			return rc;
	}
	if ((rc = config_load_env(c, e)))
		return rc;
	optind = 1;
	opterr = 1;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		const char *key = NULL;

		for (const struct option *o = opts; o->name; o++) {
			if (o->val == ch)
				key = o->name;
		}
		if (ch == '?')
			return error_set(e, CLOVER_EINVAL, NULL, "see 'clover server --help'");
		if (ch == 'c' || ch == 'h' || key == NULL)
			continue;
		char k[32];

		snprintf(k, sizeof(k), "%s", key);
		for (char *p = k; *p; p++)
			*p = *p == '-' ? '_' : *p;
		if ((rc = config_set(c, k, optarg, "command line", e)))
			return rc;
	}
	if (optind < argc)
		return error_set(e, CLOVER_EINVAL, NULL, "unexpected argument '%s'", argv[optind]);
	return 0;
}

int daemon_server_main(int argc, char **argv)
{
	struct server s = {.evfd = -1,
			   .sigfd = -1,
			   .mu = PTHREAD_MUTEX_INITIALIZER,
			   .xmu = PTHREAD_MUTEX_INITIALIZER};
	struct error_info e = {0};
	sigset_t set;
	int rc;

	config_defaults(&s.cfg);
	hmap_init(&s.skip_notes);
	rc = parse_args(&s.cfg, argc, argv, &e);
	if (rc == 1)
		return 0;
	if (rc) {
		fprintf(stderr, "clover server: %s\n", e.message);
		return 2;
	}
	log_set_level(s.cfg.log_level);
	log_set_trace(s.cfg.trace);

	/* Signals are read from a signalfd by the main loop; every thread blocks them. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	/*
	 * Processes a job leaves behind become our children rather than init's,
	 * so the executor reaps them as soon as it stops their process group.
	 */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	s.sigfd = signalfd(-1, &set, SFD_CLOEXEC);
	s.evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s.sigfd < 0 || s.evfd < 0) {
		fprintf(stderr, "clover server: %s\n", strerror(errno));
		stop(&s);
		return 1;
	}
	if (start(&s, &e)) {
		fprintf(stderr, "clover server: %s%s%s\n", e.field[0] ? e.field : "",
			e.field[0] ? ": " : "", e.message);
		stop(&s);
		return 1;
	}
	print_banner(&s);
	s.next_prune = time_wall_ms() + 60 * 1000;
	loop(&s);
	log_at(LOG_INFO, "main", "stopped");
	stop(&s);
	return 0;
}
