/* SPDX-License-Identifier: MIT */
/*
 * The worker runtime: the executor side of the wire protocol
 * (docs/protocol.md), behind the clover_worker_* API of include/clover.h.
 *
 * One thread, the caller of clover_worker_run(), owns everything here: the
 * proto client (one DEALER per scheduler endpoint, src/proto/zmq.h), one
 * protocol session per endpoint (src/proto/session.h), the spool
 * (spool.h) and the table of in-flight attempts. Shards run on an exec pool
 * (exec.h) of `capacity` threads; its events are copied onto a queue under
 * `qlock` and the owner thread is woken with proto_client_wake().
 *
 * A loop turn: wait for a link event (or the next heartbeat, or a wake-up),
 * take every event that is ready, handle them (dispatch -> exec_submit, kill
 * -> exec_kill, result-ack -> spool delete, drain), turn the pool's events
 * into progress, log and result items, commit the spool in one transaction,
 * and only then send the batched acks, progress, output and results, one
 * frame per kind and scheduler (output: one frame per chunk). Results are
 * therefore durable before a scheduler can acknowledge them. A scheduler that
 * welcomes us (first time, after a reconnection, or after our restart) is
 * sent every spooled result that belongs to it, oldest first, 4096 a turn
 * (a cursor on the spool's storing order); results are idempotent by
 * (run, shard, attempt) on its side.
 *
 * Dispatched specs are parsed once per distinct text (a bounded cache).
 *
 * Log chunks and progress are not spooled: they are sent when a session is
 * up and dropped otherwise (the result carries the last progress text).
 */
#include "exec/worker.h"

#include "base/buf.h"
#include "base/hash.h"
#include "base/log.h"
#include "base/time.h"
#include "core/job.h"
#include "exec/exec.h"
#include "exec/spool.h"
#include "proto/session.h"
#include "proto/zmq.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#define SUB         "worker"
#define CTX_ERR_MAX 1024
#define TURN_EVENTS 1024 /* link events taken in one turn before flushing */
#define WAIT_MAX_MS 1000
#define DRAIN_NONE  INT64_MIN
#define DELIVER_MS  2000 /* after a self-drain's grace: time left to deliver results */
#define REHELLO_MS  30000 /* a scheduler that said bye on a live connection: hello again */

struct handler {
	struct handler *next;
	clover_handler_fn fn;
	void *userdata;
	char name[];
};

struct clover_ctx {
	struct exec_ctx *ex;
	char error[CTX_ERR_MAX];
};

/* A pool event copied off the pool's thread; `data` and `message` point into `buf`. */
struct wev {
	struct wev *next;
	struct exec_event ev;
	char buf[];
};

struct inflight {
	char key[64]; /* "run:shard:attempt" */
	int64_t run_id;
	int shard, attempt;
	uint32_t ticket;
	size_t link;  /* the endpoint that dispatched it */
	int64_t started_at;
	uint64_t log_off;
	uint64_t log_spooled; /* output spooled while its scheduler was away */
	uint64_t log_dropped; /* output beyond WORKER_LOG_SPOOL_MAX, not kept */
	struct job_spec *spec; /* a reference, for the job's name in log lines */
};

struct ack_out {
	size_t link;
	struct proto_ack_item it;
	char msg[320];
};

struct item_out {
	size_t link;
	union {
		struct proto_progress_item prog;
		struct proto_result_item res;
		struct proto_log log;
	};
};

/* Room for one item of any batched kind the worker sends. */
union any_item {
	struct proto_ack_item ack;
	struct proto_progress_item prog;
	struct proto_result_item res;
};

struct link {
	struct proto_session s;
	bool up;
	bool resend;          /* sending every spooled result of this link, a chunk a turn */
	bool resend_logs;     /* ... and, before them, its spooled output */
	int64_t logs_after;   /* the spool seq of output the resend has reached */
	int64_t resend_after; /* the spool seq the resend has reached */
	uint64_t resent;      /* results the resend has sent so far */
	int64_t closed_at;    /* monotonic ms of the scheduler's bye (CLOSED session) */
};

struct clover_worker {
	char *id;
	char host[256];
	uint64_t incarnation;
	struct proto_key secret, server_pub;
	char **endpoints;
	size_t nend;
	struct proto_kv *labels; /* key and val point into one malloc'd "k\0v" each */
	size_t nlabels;
	int capacity;
	struct handler *handlers;
	size_t nhandlers;
	char **jobs;
	size_t njobs, jobs_bytes;

	struct proto_client *cli;
	struct spool *sp;
	int64_t log_spool_bytes; /* output in the spool's logs table */
	struct link links[PROTO_CLIENT_ENDPOINTS_MAX];
	struct buf frame;

	atomic_bool stop;
	atomic_bool running;
	_Atomic int64_t drain_req; /* clover_worker_drain()'s grace, or DRAIN_NONE */
	_Atomic int64_t pending; /* results in the spool, as of the last commit */
	bool spool_changed;      /* results stored or acknowledged this turn */
	pthread_mutex_t qlock;
	struct wev *qhead, *qtail;

	/* Parsed specs by their text: a scheduler sends the same spec again and again. */
	struct hmap specs;
	size_t spec_bytes; /* text held by `specs` */

	/* State of one run(); owner thread only. */
	struct exec_pool *pool;
	struct hmap inflight;
	bool in_tx;
	bool draining, drain_killed, drained;
	bool self_drain; /* clover_worker_drain(), not a scheduler's drain */
	int64_t drain_deadline; /* monotonic ms; 0 none */
	struct ack_out *acks;
	size_t nacks, capacks;
	struct item_out *progs, *results, *logs;
	size_t nprogs, capprogs, nresults, capresults, nlogs, caplogs;
	struct worker_stats stats;
};

/* ---- small helpers ---- */

static int grow(void **v, size_t *cap, size_t n, size_t size)
{
	size_t ncap;
	void *nv;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 64;
	nv = realloc(*v, ncap * size);
	if (nv == NULL)
		return CLOVER_ENOMEM;
	*v = nv;
	*cap = ncap;
	return 0;
}

static void ref_key(char *out, size_t n, int64_t run_id, int shard, int attempt)
{
	snprintf(out, n, "%lld:%d:%d", (long long)run_id, shard, attempt);
}

struct spec_entry {
	struct job_spec *spec;
	char text[];
};

static void specs_clear(struct clover_worker *w)
{
	size_t it = 0;
	const char *key;
	void *val;

	while (hmap_next(&w->specs, &it, &key, &val)) {
		struct spec_entry *se = val;

		job_spec_unref(se->spec);
		free(se);
	}
	hmap_free(&w->specs);
	hmap_init(&w->specs);
	w->spec_bytes = 0;
}

/*
 * Parses a dispatched spec, or finds it parsed already. Returns a new
 * reference (job_spec_unref()), or NULL with `e` filled. The cache is
 * emptied when it reaches WORKER_SPEC_CACHE_MAX entries or
 * WORKER_SPEC_CACHE_BYTES of text, which bounds what dispatches can make it
 * hold.
 */
static struct job_spec *spec_get(struct clover_worker *w, const char *text, struct error_info *e)
{
	struct spec_entry *se = hmap_get(&w->specs, text);
	struct job_spec *spec = NULL;
	size_t len;

	if (se != NULL)
		return job_spec_ref(se->spec);
	len = strlen(text);
	if (job_spec_parse(text, len, &spec, e) != 0)
		return NULL;
	if (w->specs.n >= WORKER_SPEC_CACHE_MAX || w->spec_bytes + len > WORKER_SPEC_CACHE_BYTES)
		specs_clear(w);
	se = malloc(sizeof(*se) + len + 1);
	if (se == NULL)
		return spec; /* uncached is fine */
	memcpy(se->text, text, len + 1);
	se->spec = job_spec_ref(spec);
	if (hmap_put(&w->specs, se->text, se) != 0) {
		job_spec_unref(se->spec);
		free(se);
	} else {
		w->spec_bytes += len;
	}
	return spec;
}

static bool printable_id(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > PROTO_ID_MAX)
		return false;
	for (; *s; s++)
		if (*s < 0x21 || *s > 0x7e)
			return false;
	return true;
}

/* Reads the first key of a key file; 0 or a CLOVER_E* code (logged). */
static int read_key(const char *path, struct proto_key *out)
{
	struct error_info e;
	size_t n = 0;
	int rc = proto_keys_read(path, out, 1, &n, &e);

	if (rc == CLOVER_ETOOBIG)
		log_at(LOG_ERROR, SUB, "%s: one key expected", path);
	else if (rc != 0)
		log_at(LOG_ERROR, SUB, "%s: %s", path, e.message);
	return rc;
}

static int parse_key_text(const char *text, struct proto_key *out, const char *what)
{
	struct error_info e;
	int rc = proto_key_parse(text, strlen(text), out, &e);

	if (rc != 0)
		log_at(LOG_ERROR, SUB, "%s: %s", what, e.message);
	return rc;
}

/* ---- options ---- */

static int load_keys(struct clover_worker *w, const clover_worker_options *opt)
{
	int rc;

	if ((opt->server_key == NULL) == (opt->server_key_file == NULL)) {
		log_at(LOG_ERROR, SUB, "give the scheduler's public key: server_key or server_key_file");
		return CLOVER_EINVAL;
	}
	rc = opt->server_key ? parse_key_text(opt->server_key, &w->server_pub, "server key")
	                     : read_key(opt->server_key_file, &w->server_pub);
	if (rc != 0)
		return rc;
	if ((opt->key == NULL) == (opt->secret_key == NULL)) {
		log_at(LOG_ERROR, SUB, "give the worker's own key: key (NAME) or secret_key");
		return CLOVER_EINVAL;
	}
	if (opt->secret_key)
		return parse_key_text(opt->secret_key, &w->secret, "secret key");

	{
		size_t len = strlen(opt->key) + 5;
		char *path = malloc(len);
		struct proto_key pub, derived;

		if (path == NULL)
			return CLOVER_ENOMEM;
		snprintf(path, len, "%s.key", opt->key);
		rc = read_key(path, &w->secret);
		if (rc == 0) {
			snprintf(path, len, "%s.pub", opt->key);
			if (access(path, F_OK) == 0) {
				rc = read_key(path, &pub);
				if (rc == 0 && (rc = proto_key_public(&w->secret, &derived)) == 0 &&
				    strcmp(pub.z85, derived.z85) != 0) {
					log_at(LOG_ERROR, SUB, "%s does not match %s.key", path,
					       opt->key);
					rc = CLOVER_EINVAL;
				}
			}
		}
		free(path);
	}
	return rc;
}

static int load_labels(struct clover_worker *w, const clover_worker_options *opt)
{
	if (opt->nlabels > PROTO_LABELS_MAX) {
		log_at(LOG_ERROR, SUB, "%zu labels, at most %d", opt->nlabels, PROTO_LABELS_MAX);
		return CLOVER_ETOOBIG;
	}
	if (opt->nlabels == 0)
		return 0;
	w->labels = calloc(opt->nlabels, sizeof(*w->labels));
	if (w->labels == NULL)
		return CLOVER_ENOMEM;
	for (size_t i = 0; i < opt->nlabels; i++) {
		const char *l = opt->labels[i], *eq = l ? strchr(l, '=') : NULL;
		size_t kl, vl;
		char *k;

		if (eq == NULL || eq == l) {
			log_at(LOG_ERROR, SUB, "label '%s': key=value expected", l ? l : "(null)");
			return CLOVER_EINVAL;
		}
		kl = (size_t)(eq - l);
		vl = strlen(eq + 1);
		if (kl > PROTO_LABEL_MAX || vl > PROTO_LABEL_MAX) {
			log_at(LOG_ERROR, SUB, "label '%.40s...': over %d bytes", l,
			       PROTO_LABEL_MAX);
			return CLOVER_ETOOBIG;
		}
		k = malloc(kl + vl + 2);
		if (k == NULL)
			return CLOVER_ENOMEM;
		memcpy(k, l, kl);
		k[kl] = '\0';
		memcpy(k + kl + 1, eq + 1, vl + 1);
		w->labels[i].key = k;
		w->labels[i].val = k + kl + 1;
		w->nlabels = i + 1;
	}
	return 0;
}

static int load_endpoints(struct clover_worker *w, const clover_worker_options *opt)
{
	if (opt->nschedulers == 0 || opt->schedulers == NULL) {
		log_at(LOG_ERROR, SUB, "no scheduler endpoint");
		return CLOVER_EINVAL;
	}
	if (opt->nschedulers > PROTO_CLIENT_ENDPOINTS_MAX) {
		log_at(LOG_ERROR, SUB, "%zu schedulers, at most %d", opt->nschedulers,
		       PROTO_CLIENT_ENDPOINTS_MAX);
		return CLOVER_ETOOBIG;
	}
	w->endpoints = calloc(opt->nschedulers, sizeof(*w->endpoints));
	if (w->endpoints == NULL)
		return CLOVER_ENOMEM;
	for (size_t i = 0; i < opt->nschedulers; i++) {
		if (opt->schedulers[i] == NULL || opt->schedulers[i][0] == '\0') {
			log_at(LOG_ERROR, SUB, "scheduler %zu: empty endpoint", i + 1);
			return CLOVER_EINVAL;
		}
		if ((w->endpoints[i] = strdup(opt->schedulers[i])) == NULL)
			return CLOVER_ENOMEM;
		w->nend = i + 1;
	}
	return 0;
}

/* Publishes the spool's result count for worker_pending(). Owner thread. */
static void count_pending(struct clover_worker *w)
{
	int64_t n = spool_result_count(w->sp);

	if (n >= 0)
		atomic_store(&w->pending, n);
	w->spool_changed = false;
}

/* Turns attempts left in flight by an earlier process into failed results. */
static int recover_inflight(struct clover_worker *w)
{
	struct spool_inflight *v;
	size_t n;
	int rc = spool_inflight_list(w->sp, &v, &n);

	if (rc != 0 || n == 0)
		return rc;
	rc = spool_begin(w->sp);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		struct proto_result_item r = {
			.run_id = v[i].run_id,
			.shard = v[i].shard,
			.attempt = v[i].attempt,
			.ticket = v[i].ticket,
			.state = RUN_FAILED,
			.exit_code = -1,
			.started_at = v[i].started_at,
			.finished_at = time_wall_ms(),
			.message = "the executor stopped while the shard ran",
		};

		rc = spool_result_put(w->sp, &r, v[i].endpoint, NULL);
	}
	if (rc == 0)
		rc = spool_commit(w->sp);
	if (rc == 0)
		log_at(LOG_WARN, SUB, "%zu shard(s) were running when the executor stopped; "
		                      "reported as failed",
		       n);
	spool_inflight_free(v, n);
	return rc;
}

/*
 * Makes a worker; see include/clover.h. Every failure frees what was made
 * and logs why.
 */
int clover_worker_new(const clover_worker_options *opt, clover_worker **out)
{
	struct clover_worker *w;
	struct error_info e;
	int rc = CLOVER_ENOMEM;

	if (out == NULL)
		return CLOVER_EINVAL;
	*out = NULL;
	if (opt == NULL)
		return CLOVER_EINVAL;
	w = calloc(1, sizeof(*w));
	if (w == NULL)
		return CLOVER_ENOMEM;
	pthread_mutex_init(&w->qlock, NULL);
	atomic_init(&w->stop, false);
	atomic_init(&w->running, false);
	atomic_init(&w->pending, 0);
	atomic_init(&w->drain_req, DRAIN_NONE);
	buf_init(&w->frame, PROTO_FRAME_MAX);
	hmap_init(&w->inflight);
	hmap_init(&w->specs);

	if (opt->capacity < 0 || opt->capacity > PROTO_CAPACITY_MAX) {
		log_at(LOG_ERROR, SUB, "capacity %d: 1 - %d", opt->capacity, PROTO_CAPACITY_MAX);
		rc = CLOVER_EINVAL;
		goto fail;
	}
	w->capacity = opt->capacity ? opt->capacity : WORKER_CAPACITY_DEFAULT;
	if (gethostname(w->host, sizeof(w->host) - 1) != 0)
		snprintf(w->host, sizeof(w->host), "localhost");
	if (opt->id != NULL && !printable_id(opt->id)) {
		log_at(LOG_ERROR, SUB, "id '%s': 1 - %d printable characters, no blanks", opt->id,
		       PROTO_ID_MAX);
		rc = CLOVER_EINVAL;
		goto fail;
	}
	w->id = strdup(opt->id ? opt->id : (printable_id(w->host) ? w->host : "executor"));
	if (w->id == NULL)
		goto fail;
	if (getrandom(&w->incarnation, sizeof(w->incarnation), 0) != sizeof(w->incarnation))
		w->incarnation = (uint64_t)time_wall_ms() ^ ((uint64_t)getpid() << 32);
	if ((rc = load_endpoints(w, opt)) != 0 || (rc = load_keys(w, opt)) != 0 ||
	    (rc = load_labels(w, opt)) != 0)
		goto fail;
	rc = spool_open(opt->spool, &w->sp, &e);
	if (rc != 0) {
		log_at(LOG_ERROR, SUB, "%s", e.message);
		goto fail;
	}
	if ((rc = recover_inflight(w)) != 0)
		goto fail;
	count_pending(w);
	if ((w->log_spool_bytes = spool_log_bytes(w->sp)) < 0)
		w->log_spool_bytes = 0; /* logged; the cap then counts from here */
	rc = proto_client_new((const char *const *)w->endpoints, w->nend, &w->secret,
	                      &w->server_pub, &w->cli, &e);
	if (rc != 0) {
		log_at(LOG_ERROR, SUB, "%s", e.message);
		goto fail;
	}
	for (size_t i = 0; i < w->nend; i++)
		proto_session_init(&w->links[i].s, PROTO_ROLE_EXECUTOR, 0, 0, time_mono_ms());
	*out = w;
	return 0;
fail:
	clover_worker_free(w);
	return rc;
}

/* Frees the worker; see include/clover.h. */
void clover_worker_free(clover_worker *w)
{
	struct wev *q, *next;

	if (w == NULL)
		return;
	proto_client_free(w->cli);
	spool_close(w->sp);
	for (size_t i = 0; i < w->nend; i++)
		free(w->endpoints[i]);
	free(w->endpoints);
	for (size_t i = 0; i < w->nlabels; i++)
		free((char *)w->labels[i].key);
	free(w->labels);
	while (w->handlers) {
		struct handler *h = w->handlers;

		w->handlers = h->next;
		free(h);
	}
	for (size_t i = 0; i < w->njobs; i++)
		free(w->jobs[i]);
	free(w->jobs);
	for (q = w->qhead; q; q = next) {
		next = q->next;
		free(q);
	}
	hmap_free(&w->inflight);
	specs_clear(w);
	hmap_free(&w->specs);
	free(w->acks);
	free(w->progs);
	free(w->results);
	free(w->logs);
	buf_free(&w->frame);
	pthread_mutex_destroy(&w->qlock);
	free(w->id);
	free(w);
}

/* Registers a handler; see include/clover.h. */
int clover_worker_handle(clover_worker *w, const char *name, clover_handler_fn fn, void *userdata)
{
	struct handler *h;
	size_t len;

	if (w == NULL || name == NULL || fn == NULL)
		return CLOVER_EINVAL;
	len = strlen(name);
	if (len == 0 || len > PROTO_HANDLER_MAX)
		return CLOVER_EINVAL;
	if (atomic_load(&w->running))
		return CLOVER_ESTATE;
	if (strcmp(name, "noop") == 0)
		return CLOVER_EEXIST;
	for (h = w->handlers; h; h = h->next)
		if (strcmp(h->name, name) == 0)
			return CLOVER_EEXIST;
	if (w->nhandlers + 1 >= PROTO_HANDLERS_MAX)
		return CLOVER_ETOOBIG;
	h = malloc(sizeof(*h) + len + 1);
	if (h == NULL)
		return CLOVER_ENOMEM;
	h->fn = fn;
	h->userdata = userdata;
	memcpy(h->name, name, len + 1);
	h->next = w->handlers;
	w->handlers = h;
	w->nhandlers++;
	return 0;
}

/* Declares a job; see include/clover.h. */
int clover_worker_declare_job(clover_worker *w, const char *json)
{
	struct job_spec *spec = NULL;
	struct error_info e;
	char *copy, **nj;
	size_t len;
	int rc;

	if (w == NULL || json == NULL)
		return CLOVER_EINVAL;
	if (atomic_load(&w->running))
		return CLOVER_ESTATE;
	len = strlen(json);
	if (len > JOB_SPEC_MAX_BYTES)
		return CLOVER_ETOOBIG;
	rc = job_spec_parse(json, len, &spec, &e);
	if (rc != 0) {
		log_at(LOG_ERROR, SUB, "declared job: %s%s%s", e.field, e.field[0] ? ": " : "",
		       e.message);
		return rc;
	}
	len = strlen(spec->json);
	if (w->njobs >= PROTO_JOBS_MAX || w->jobs_bytes + len > WORKER_JOBS_BYTES_MAX) {
		log_at(LOG_ERROR, SUB, "declared job %s: over %d jobs or %u bytes of specs",
		       spec->name, PROTO_JOBS_MAX, WORKER_JOBS_BYTES_MAX);
		job_spec_unref(spec);
		return CLOVER_ETOOBIG;
	}
	copy = strdup(spec->json);
	job_spec_unref(spec);
	nj = copy ? realloc(w->jobs, (w->njobs + 1) * sizeof(*w->jobs)) : NULL;
	if (nj == NULL) {
		free(copy);
		return CLOVER_ENOMEM;
	}
	w->jobs = nj;
	w->jobs[w->njobs++] = copy;
	w->jobs_bytes += len;
	return 0;
}

/* Asks run() to return; see include/clover.h. Async-signal-safe. */
void clover_worker_stop(clover_worker *w)
{
	if (w == NULL)
		return;
	atomic_store(&w->stop, true);
	proto_client_wake(w->cli); /* one write(2) to an eventfd */
}

/* Asks run() to drain and return; see include/clover.h. Async-signal-safe. */
void clover_worker_drain(clover_worker *w, int64_t grace_ms)
{
	if (w == NULL)
		return;
	atomic_store(&w->drain_req, grace_ms < 0 ? -1 : grace_ms);
	proto_client_wake(w->cli);
}

void worker_stats(const clover_worker *w, struct worker_stats *out)
{
	*out = w->stats;
}

int64_t worker_pending(clover_worker *w)
{
	return atomic_load(&w->pending);
}


/* ---- the handler context ---- */

static const struct exec_request *req_of(const clover_ctx *ctx)
{
	return exec_ctx_request(ctx->ex);
}

/* The accessors below read the pool's copy of the request; see include/clover.h. */
const char *clover_ctx_job(const clover_ctx *ctx)
{
	return req_of(ctx)->spec->name;
}

int64_t clover_ctx_run_id(const clover_ctx *ctx)
{
	return req_of(ctx)->run_id;
}

int64_t clover_ctx_scheduled_at(const clover_ctx *ctx)
{
	return req_of(ctx)->scheduled_at;
}

int clover_ctx_shard(const clover_ctx *ctx)
{
	return req_of(ctx)->shard;
}

int clover_ctx_shard_count(const clover_ctx *ctx)
{
	return req_of(ctx)->shard_count;
}

const char *clover_ctx_shard_param(const clover_ctx *ctx)
{
	return req_of(ctx)->shard_param;
}

int clover_ctx_attempt(const clover_ctx *ctx)
{
	return req_of(ctx)->attempt;
}

const char *clover_ctx_params(const clover_ctx *ctx)
{
	return req_of(ctx)->params;
}

const char *clover_ctx_handler_params(const clover_ctx *ctx)
{
	return req_of(ctx)->spec->handler_params;
}

/* Progress of the shard; see include/clover.h. */
void clover_ctx_progress(clover_ctx *ctx, double fraction, const char *text)
{
	exec_ctx_progress(ctx->ex, fraction, text);
}

/* One log line; see include/clover.h. */
void clover_ctx_log(clover_ctx *ctx, const char *fmt, ...)
{
	char stack[512], *line = stack;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(stack, sizeof(stack), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(stack)) {
		line = malloc((size_t)n + 1);
		if (line == NULL) {
			line = stack; /* keep the cut line rather than nothing */
		} else {
			va_start(ap, fmt);
			vsnprintf(line, (size_t)n + 1, fmt, ap);
			va_end(ap);
		}
	}
	exec_ctx_log(ctx->ex, "%s", line);
	if (line != stack)
		free(line);
}

/* See include/clover.h. */
bool clover_ctx_cancelled(const clover_ctx *ctx)
{
	return exec_ctx_cancelled(ctx->ex);
}

/* Sets the error message and returns -1; see include/clover.h. */
int clover_ctx_fail(clover_ctx *ctx, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (vsnprintf(ctx->error, sizeof(ctx->error), fmt, ap) < 0)
		ctx->error[0] = '\0';
	va_end(ap);
	return -1;
}

/* Runs an application handler inside the pool with a clover_ctx of its own. */
static int trampoline(struct exec_ctx *ex, void *userdata, char **error)
{
	const struct handler *h = userdata;
	struct clover_ctx *c = malloc(sizeof(*c));
	int rc;

	if (c == NULL) {
		*error = NULL;
		return CLOVER_ENOMEM;
	}
	c->ex = ex;
	c->error[0] = '\0';
	rc = h->fn(c, h->userdata);
	if (rc != 0 && c->error[0] != '\0')
		*error = strdup(c->error);
	free(c);
	return rc;
}

/* ---- pool events: copied on the pool's threads ---- */

static void on_event(void *arg, const struct exec_event *ev)
{
	struct clover_worker *w = arg;
	size_t dl = ev->kind == EXEC_EV_LOG ? ev->len : 0;
	size_t ml = ev->message ? strlen(ev->message) + 1 : 0;
	struct wev *q;
	bool was_empty;

	for (;;) {
		q = malloc(sizeof(*q) + dl + 1 + ml);
		if (q != NULL)
			break;
		if (ev->kind != EXEC_EV_FINISHED) {
			log_at(LOG_WARN, SUB, "out of memory: %s event of run=%lld dropped",
			       ev->kind == EXEC_EV_LOG ? "log" : "progress", (long long)ev->run_id);
			return;
		}
		/* A result must not be lost: wait for memory. */
		usleep(10000);
	}
	q->next = NULL;
	q->ev = *ev;
	if (dl) {
		memcpy(q->buf, ev->data, dl);
		q->ev.data = q->buf;
	}
	q->buf[dl] = '\0';
	if (ml) {
		memcpy(q->buf + dl + 1, ev->message, ml);
		q->ev.message = q->buf + dl + 1;
	}
	pthread_mutex_lock(&w->qlock);
	was_empty = w->qhead == NULL;
	if (w->qtail)
		w->qtail->next = q;
	else
		w->qhead = q;
	w->qtail = q;
	pthread_mutex_unlock(&w->qlock);
	if (was_empty)
		proto_client_wake(w->cli);
}

/* ---- sending ---- */

static bool link_live(const struct link *l)
{
	return l->up && (l->s.state == PROTO_SESS_ACTIVE || l->s.state == PROTO_SESS_DRAINING);
}

/* Starts sending every spooled result of the link again, from the oldest. */
static void resend_start(struct link *l)
{
	l->resend = true;
	l->resend_logs = true;
	l->logs_after = 0;
	l->resend_after = 0;
	l->resent = 0;
}

static int link_send(struct clover_worker *w, size_t i, const struct proto_msg *m)
{
	struct link *l = &w->links[i];
	int rc;

	if (!l->up)
		return CLOVER_EAGAIN;
	rc = proto_session_send(&l->s, m, time_mono_ms());
	if (rc != 0)
		return rc;
	rc = proto_client_send(w->cli, i, m);
	if (rc != 0 && rc != CLOVER_EAGAIN)
		log_at(LOG_WARN, SUB, "send %s to %s: %s", proto_kind_name((int)m->kind),
		       w->endpoints[i], clover_strerror(rc));
	return rc;
}

/* Sends `n` items of a batched kind to link i, as many frames as needed. */
static int send_items(struct clover_worker *w, size_t i, enum proto_kind kind, const void *items,
                      size_t size, size_t n)
{
	struct link *l = &w->links[i];
	size_t done = 0;

	while (done < n) {
		size_t left = n - done;
		uint32_t cnt = left > PROTO_BATCH_MAX ? PROTO_BATCH_MAX : (uint32_t)left, taken = 0;
		const void *at = (const char *)items + done * size;
		struct proto_msg m;
		struct error_info e;
		int rc;

		memset(&m, 0, sizeof(m));
		m.kind = kind;
		switch (kind) {
		case PROTO_ACK:
			m.ack.items = at;
			m.ack.n = cnt;
			break;
		case PROTO_PROGRESS:
			m.progress.items = at;
			m.progress.n = cnt;
			break;
		default:
			m.result.items = at;
			m.result.n = cnt;
			break;
		}
		rc = proto_encode_batch(&m, &w->frame, &taken, &e);
		if (rc != 0) {
			log_at(LOG_ERROR, SUB, "encode %s for %s: %s", proto_kind_name((int)kind),
			       w->endpoints[i], e.message);
			return rc;
		}
		if ((rc = proto_session_send(&l->s, &m, time_mono_ms())) != 0)
			return rc;
		rc = proto_client_send_frame(w->cli, i, w->frame.data, w->frame.len);
		if (rc != 0)
			return rc;
		done += taken;
	}
	return 0;
}

static void send_hello(struct clover_worker *w, size_t i)
{
	const char **handlers = NULL, **jobs = (const char **)w->jobs;
	struct proto_ref *running = NULL;
	struct spool_result *res = NULL;
	size_t nres = 0, nrun = 0, k = 0;
	struct proto_msg m;
	char software[32];
	int rc;

	handlers = malloc((w->nhandlers + 1) * sizeof(*handlers));
	if (handlers == NULL)
		goto out;
	handlers[k++] = "noop";
	for (const struct handler *h = w->handlers; h; h = h->next)
		handlers[k++] = h->name;
	if (spool_results(w->sp, 0, PROTO_RUNNING_MAX, &res, &nres) != 0)
		goto out;
	running = malloc((w->inflight.n + nres + 1) * sizeof(*running));
	if (running == NULL)
		goto out;
	{
		size_t it = 0;
		const char *key;
		void *val;

		while (hmap_next(&w->inflight, &it, &key, &val) && nrun < PROTO_RUNNING_MAX) {
			const struct inflight *f = val;

			running[nrun++] = (struct proto_ref){f->run_id, f->shard, f->attempt,
			                                     f->ticket};
		}
	}
	for (size_t j = 0; j < nres && nrun < PROTO_RUNNING_MAX; j++)
		running[nrun++] = (struct proto_ref){res[j].item.run_id, res[j].item.shard,
		                                     res[j].item.attempt, res[j].item.ticket};
	snprintf(software, sizeof(software), "clover %s", CLOVER_VERSION);
	memset(&m, 0, sizeof(m));
	m.kind = PROTO_HELLO;
	m.version = 1; /* hello always travels in a version-1 frame */
	m.hello = (struct proto_hello){
		.min_version = PROTO_VERSION_MIN,
		.max_version = PROTO_VERSION,
		.executor_id = w->id,
		.incarnation = w->incarnation,
		.host = w->host[0] ? w->host : NULL,
		.pid = (uint32_t)getpid(),
		.software = software,
		.capacity = (uint32_t)w->capacity,
		.labels = w->labels,
		.nlabels = (uint32_t)w->nlabels,
		.handlers = handlers,
		.nhandlers = (uint32_t)k,
		.jobs = (const char *const *)jobs,
		.njobs = (uint32_t)w->njobs,
		.running = running,
		.nrunning = (uint32_t)nrun,
	};
	rc = link_send(w, i, &m);
	if (rc == 0) {
		w->stats.hellos++;
		log_at(LOG_DEBUG, SUB, "hello sent to %s (%zu running or unacknowledged)",
		       w->endpoints[i], nrun);
	} else if (rc != CLOVER_EAGAIN) {
		log_at(LOG_ERROR, SUB, "hello to %s: %s", w->endpoints[i], clover_strerror(rc));
	}
out:
	free(handlers);
	free(running);
	spool_results_free(res, nres);
}

static void send_heartbeat(struct clover_worker *w, size_t i)
{
	struct proto_msg m;
	int busy = w->pool ? exec_busy(w->pool) : 0;

	memset(&m, 0, sizeof(m));
	proto_session_heartbeat(&w->links[i].s, &m, time_wall_ms(),
	                        (uint32_t)(busy > PROTO_CAPACITY_MAX ? PROTO_CAPACITY_MAX : busy),
	                        (uint32_t)w->capacity, w->draining);
	link_send(w, i, &m);
}

static void send_bye(struct clover_worker *w, size_t i, enum proto_bye_reason reason)
{
	struct proto_msg m;

	if (!link_live(&w->links[i]))
		return;
	memset(&m, 0, sizeof(m));
	m.kind = PROTO_BYE;
	m.bye.reason = reason;
	link_send(w, i, &m);
}

/* ---- the spool, one transaction per turn ---- */

static void tx(struct clover_worker *w)
{
	if (!w->in_tx && spool_begin(w->sp) == 0)
		w->in_tx = true;
}

static int tx_commit(struct clover_worker *w)
{
	if (!w->in_tx)
		return 0;
	w->in_tx = false;
	return spool_commit(w->sp);
}

/* ---- received messages ---- */

static void add_ack(struct clover_worker *w, size_t i, const struct proto_dispatch_item *d,
                    enum proto_ack_status st, const char *msg)
{
	struct ack_out *a;

	if (grow((void **)&w->acks, &w->capacks, w->nacks, sizeof(*w->acks)) != 0) {
		log_at(LOG_ERROR, SUB, "out of memory: ack of run=%lld dropped",
		       (long long)d->run_id);
		return;
	}
	a = &w->acks[w->nacks++];
	a->link = i;
	a->it = (struct proto_ack_item){d->run_id, d->shard, d->attempt, d->ticket, st, NULL};
	a->msg[0] = '\0';
	if (msg)
		snprintf(a->msg, sizeof(a->msg), "%s", msg);
}

static bool handler_known(const struct clover_worker *w, const char *name)
{
	if (strcmp(name, "noop") == 0)
		return true;
	for (const struct handler *h = w->handlers; h; h = h->next)
		if (strcmp(h->name, name) == 0)
			return true;
	return false;
}

static void dispatch_one(struct clover_worker *w, size_t i, const struct proto_dispatch_item *d)
{
	struct job_spec *spec = NULL;
	struct inflight *f = NULL;
	struct exec_request req;
	struct error_info e;
	char key[64], msg[300];
	int rc;

	w->stats.dispatched++;
	if (w->draining || atomic_load(&w->stop)) {
		add_ack(w, i, d, PROTO_ACK_DRAINING, NULL);
		return;
	}
	ref_key(key, sizeof(key), d->run_id, d->shard, d->attempt);
	if (hmap_get(&w->inflight, key)) {
		add_ack(w, i, d, PROTO_ACK_DUPLICATE, NULL);
		return;
	}
	if (spool_has(w->sp, d->run_id, d->shard, d->attempt)) {
		/* Finished, result not acknowledged: the scheduler may have missed it. */
		add_ack(w, i, d, PROTO_ACK_DUPLICATE, "finished; its result is sent again");
		resend_start(&w->links[i]);
		return;
	}
	spec = spec_get(w, d->spec, &e);
	if (spec == NULL) {
		snprintf(msg, sizeof(msg), "spec: %.100s%s%.180s", e.field, e.field[0] ? ": " : "",
		         e.message);
		add_ack(w, i, d, PROTO_ACK_INVALID, msg);
		return;
	}
	if (spec->run_kind == JOB_RUN_HANDLER && spec->handler &&
	    !handler_known(w, spec->handler)) {
		snprintf(msg, sizeof(msg), "no handler '%.200s' on this executor", spec->handler);
		add_ack(w, i, d, PROTO_ACK_INVALID, msg);
		goto out;
	}
	f = calloc(1, sizeof(*f));
	if (f == NULL) {
		add_ack(w, i, d, PROTO_ACK_BUSY, "out of memory");
		goto out;
	}
	memcpy(f->key, key, sizeof(key));
	f->run_id = d->run_id;
	f->shard = d->shard;
	f->attempt = d->attempt;
	f->ticket = d->ticket;
	f->link = i;
	f->spec = job_spec_ref(spec);
	if (hmap_put(&w->inflight, f->key, f) != 0) {
		job_spec_unref(f->spec);
		free(f);
		add_ack(w, i, d, PROTO_ACK_BUSY, "out of memory");
		goto out;
	}
	req = (struct exec_request){
		.run_id = d->run_id,
		.shard = d->shard,
		.shard_count = d->shard_count,
		.attempt = d->attempt,
		.scheduled_at = d->scheduled_at,
		.spec = spec,
		.shard_param = d->shard_param,
		.params = d->params,
		.not_before = d->not_before,
	};
	/* In flight in the spool before it can finish: a result always finds its record. */
	tx(w);
	spool_inflight_put(w->sp, d->run_id, d->shard, d->attempt, d->ticket, w->endpoints[i]);
	rc = exec_submit(w->pool, &req);
	if (rc != 0) {
		hmap_del(&w->inflight, f->key);
		job_spec_unref(f->spec);
		free(f);
		spool_inflight_del(w->sp, d->run_id, d->shard, d->attempt);
		add_ack(w, i, d, rc == CLOVER_EAGAIN ? PROTO_ACK_BUSY : PROTO_ACK_DRAINING,
		        clover_strerror(rc));
		goto out;
	}
	w->stats.accepted++;
	add_ack(w, i, d, PROTO_ACK_ACCEPTED, NULL);
	log_at(LOG_DEBUG, SUB, "job=%s run=%lld shard=%d attempt=%d accepted", d->job,
	       (long long)d->run_id, d->shard, d->attempt);
out:
	job_spec_unref(spec);
}

static void kill_one(struct clover_worker *w, const struct proto_kill_item *k)
{
	const struct inflight *f;
	char key[64];
	int rc;

	ref_key(key, sizeof(key), k->run_id, k->shard, k->attempt);
	f = hmap_get(&w->inflight, key);
	rc = exec_kill(w->pool, k->run_id, k->shard, k->attempt, k->timed_out);
	log_at(LOG_DEBUG, SUB, "job=%s run=%lld shard=%d attempt=%d kill%s: %s",
	       f ? f->spec->name : "?", (long long)k->run_id, k->shard, k->attempt,
	       k->timed_out ? " (timeout)" : "", rc == 0 ? "done" : clover_strerror(rc));
}

static void on_drain(struct clover_worker *w, size_t i, const struct proto_drain *d)
{
	if (!w->draining)
		log_at(LOG_INFO, SUB, "drained by %s%s%s: finishing %d shard(s), taking no new ones",
		       w->endpoints[i], d->reason ? ": " : "", d->reason ? d->reason : "",
		       exec_busy(w->pool));
	w->draining = true;
	if (d->deadline_ms > 0) {
		int64_t at = time_mono_ms() + d->deadline_ms;

		if (w->drain_deadline == 0 || at < w->drain_deadline)
			w->drain_deadline = at;
	}
}

static void on_msg(struct clover_worker *w, size_t i, const struct proto_msg *m)
{
	struct link *l = &w->links[i];
	struct error_info e;
	int rc = proto_session_recv(&l->s, m, time_mono_ms(), &e);

	if (rc != 0) {
		log_at(LOG_WARN, SUB, "from %s: %s; dropped", w->endpoints[i], e.message);
		return;
	}
	switch (m->kind) {
	case PROTO_WELCOME:
		log_at(LOG_INFO, SUB, "welcomed by %s (scheduler %s, heartbeat %u ms)",
		       w->endpoints[i], m->welcome.scheduler_id, m->welcome.heartbeat_ms);
		resend_start(l);
		break;
	case PROTO_DISPATCH:
		for (uint32_t j = 0; j < m->dispatch.n; j++)
			dispatch_one(w, i, &m->dispatch.items[j]);
		break;
	case PROTO_KILL:
		for (uint32_t j = 0; j < m->kill.n; j++)
			kill_one(w, &m->kill.items[j]);
		break;
	case PROTO_RESULT_ACK:
		tx(w);
		for (uint32_t j = 0; j < m->result_ack.n; j++) {
			const struct proto_result_ack_item *a = &m->result_ack.items[j];

			if (spool_result_ack(w->sp, a->run_id, a->shard, a->attempt) == 0)
				w->stats.acked++;
			w->spool_changed = true;
		}
		break;
	case PROTO_DRAIN:
		on_drain(w, i, &m->drain);
		break;
	case PROTO_BYE:
		if (m->bye.reason == PROTO_BYE_NO_SESSION) {
			log_at(LOG_INFO, SUB, "%s does not know us; hello again", w->endpoints[i]);
			send_hello(w, i);
		} else if (m->bye.reason == PROTO_BYE_TIMEOUT && !w->draining) {
			/* It took us for dead (a network hiccup): start a new session. */
			log_at(LOG_WARN, SUB, "%s declared us dead; hello again", w->endpoints[i]);
			proto_session_init(&l->s, PROTO_ROLE_EXECUTOR, 0, 0, time_mono_ms());
			send_hello(w, i);
		} else {
			log_at(m->bye.reason == PROTO_BYE_REFUSED || m->bye.reason == PROTO_BYE_VERSION
			               ? LOG_WARN
			               : LOG_INFO,
			       SUB, "%s said bye (%s%s%s); hello again after a reconnection or in %d s",
			       w->endpoints[i], proto_bye_reason_name(m->bye.reason),
			       m->bye.message ? ": " : "", m->bye.message ? m->bye.message : "",
			       REHELLO_MS / 1000);
			l->closed_at = time_mono_ms();
		}
		break;
	default:
		break;
	}
}

static void on_link_event(struct clover_worker *w, struct proto_client_event *ev)
{
	size_t i = ev->endpoint;
	struct link *l;

	if (ev->kind == PROTO_CLIENT_WAKE || i >= w->nend) {
		if (ev->kind == PROTO_CLIENT_MSG)
			proto_msg_clear(&ev->msg);
		return;
	}
	l = &w->links[i];
	switch (ev->kind) {
	case PROTO_CLIENT_UP:
		log_at(LOG_INFO, SUB, "connected to %s", w->endpoints[i]);
		l->up = true;
		proto_session_init(&l->s, PROTO_ROLE_EXECUTOR, 0, 0, time_mono_ms());
		send_hello(w, i);
		break;
	case PROTO_CLIENT_DOWN:
		log_at(LOG_INFO, SUB, "lost %s; results are kept in the spool", w->endpoints[i]);
		l->up = false;
		proto_session_init(&l->s, PROTO_ROLE_EXECUTOR, 0, 0, time_mono_ms());
		break;
	case PROTO_CLIENT_REFUSED:
	case PROTO_CLIENT_FAILED:
		l->up = false;
		log_at(LOG_WARN, SUB, "%s %s our connection; trying again later", w->endpoints[i],
		       ev->kind == PROTO_CLIENT_REFUSED ? "refused the key of" : "failed");
		break;
	case PROTO_CLIENT_MSG:
		on_msg(w, i, &ev->msg);
		proto_msg_clear(&ev->msg);
		break;
	default:
		break;
	}
}

/* ---- pool events -> items ---- */

static void cut(char *s, size_t max)
{
	if (s && strlen(s) > max)
		s[max] = '\0';
}

enum item_kind { ITEM_PROGRESS, ITEM_LOG, ITEM_RESULT };

static struct item_out *add_item(struct clover_worker *w, enum item_kind kind)
{
	struct item_out **v = kind == ITEM_RESULT ? &w->results
	                      : kind == ITEM_LOG  ? &w->logs
	                                          : &w->progs;
	size_t *n = kind == ITEM_RESULT ? &w->nresults : kind == ITEM_LOG ? &w->nlogs : &w->nprogs;
	size_t *cap = kind == ITEM_RESULT ? &w->capresults
	              : kind == ITEM_LOG  ? &w->caplogs
	                                  : &w->capprogs;

	if (grow((void **)v, cap, *n, sizeof(**v)) != 0)
		return NULL;
	memset(&(*v)[*n], 0, sizeof(**v));
	return &(*v)[(*n)++];
}

/*
 * Keeps a chunk of output written while the attempt's scheduler is
 * unreachable, up to WORKER_LOG_SPOOL_MAX per attempt and
 * WORKER_LOG_SPOOL_TOTAL in all; what does not fit is dropped (and said once
 * per attempt).
 */
static void spool_output(struct clover_worker *w, struct inflight *f, const struct proto_log *l)
{
	if (f->log_spooled + l->len > WORKER_LOG_SPOOL_MAX ||
	    w->log_spool_bytes + l->len > WORKER_LOG_SPOOL_TOTAL) {
		if (f->log_dropped == 0)
			log_at(LOG_WARN, SUB,
			       "job=%s run=%lld shard=%d attempt=%d: output written while no "
			       "scheduler is reachable is over the spool's limits; the rest is "
			       "dropped",
			       f->spec->name, (long long)f->run_id, f->shard, f->attempt);
		f->log_dropped += l->len;
		return;
	}
	tx(w);
	if (spool_log_put(w->sp, l, w->endpoints[f->link]) != 0)
		return; /* logged */
	f->log_spooled += l->len;
	w->log_spool_bytes += l->len;
}

/*
 * Queues a chunk of output for the flush (after the turn's progress items, so
 * a scheduler hears "started" before the output). The data stays in the
 * event until then.
 */
static void add_log(struct clover_worker *w, struct inflight *f, const struct exec_event *ev)
{
	uint64_t off = f->log_off;
	size_t len = ev->len > PROTO_LOG_CHUNK_MAX ? PROTO_LOG_CHUNK_MAX : ev->len;
	struct item_out *it;

	f->log_off += ev->len;
	if (len == 0 || off > PROTO_LOG_OFFSET_MAX)
		return;
	if (!link_live(&w->links[f->link])) {
		spool_output(w, f, &(struct proto_log){f->run_id, f->shard, f->attempt, f->ticket,
		                                       off, ev->data, len});
		return;
	}
	if ((it = add_item(w, ITEM_LOG)) == NULL)
		return;
	it->link = f->link;
	it->log = (struct proto_log){f->run_id, f->shard, f->attempt, f->ticket, off, ev->data, len};
}

static void on_exec_event(struct clover_worker *w, struct wev *q)
{
	struct exec_event *ev = &q->ev;
	struct inflight *f;
	struct item_out *it;
	char key[64];

	ref_key(key, sizeof(key), ev->run_id, ev->shard, ev->attempt);
	f = hmap_get(&w->inflight, key);
	if (f == NULL) {
		log_at(LOG_WARN, SUB, "event of unknown run=%lld shard=%d attempt=%d",
		       (long long)ev->run_id, ev->shard, ev->attempt);
		return;
	}
	switch (ev->kind) {
	case EXEC_EV_STARTED:
	case EXEC_EV_PROGRESS:
		if (ev->kind == EXEC_EV_STARTED) {
			f->started_at = ev->at;
			tx(w);
			spool_inflight_started(w->sp, f->run_id, f->shard, f->attempt, ev->at);
		}
		if ((it = add_item(w, ITEM_PROGRESS)) == NULL)
			return;
		cut((char *)ev->message, PROTO_TEXT_MAX);
		it->link = f->link;
		it->prog = (struct proto_progress_item){
			.run_id = f->run_id,
			.shard = f->shard,
			.attempt = f->attempt,
			.ticket = f->ticket,
			.at = ev->at,
			.started = ev->kind == EXEC_EV_STARTED,
			.fraction = ev->kind == EXEC_EV_STARTED || isnan(ev->progress) ||
			                        ev->progress < 0
			                ? -1
			                : (ev->progress > 1 ? 1 : ev->progress),
			.message = ev->kind == EXEC_EV_PROGRESS ? ev->message : NULL,
		};
		break;
	case EXEC_EV_LOG:
		add_log(w, f, ev);
		break;
	case EXEC_EV_FINISHED: {
		struct proto_result_item r = {
			.run_id = f->run_id,
			.shard = f->shard,
			.attempt = f->attempt,
			.ticket = f->ticket,
			.state = ev->state,
			.exit_code = ev->exit_code,
			.started_at = f->started_at,
			.finished_at = ev->at,
			.message = ev->message,
		};
		bool added = false;

		cut((char *)ev->message, PROTO_TEXT_MAX);
		tx(w);
		if (spool_result_put(w->sp, &r, w->endpoints[f->link], &added) == 0 && added) {
			w->stats.results++;
			w->spool_changed = true;
			if ((it = add_item(w, ITEM_RESULT)) != NULL) {
				it->link = f->link;
				it->res = r;
			}
		}
		log_at(LOG_DEBUG, SUB, "job=%s run=%lld shard=%d attempt=%d %s", f->spec->name,
		       (long long)f->run_id, f->shard, f->attempt, run_state_name(ev->state));
		hmap_del(&w->inflight, f->key);
		job_spec_unref(f->spec);
		free(f);
		break;
	}
	}
}

/* Takes the pool's queue; the caller frees the list after the flush. */
static struct wev *take_events(struct clover_worker *w)
{
	struct wev *q;

	pthread_mutex_lock(&w->qlock);
	q = w->qhead;
	w->qhead = w->qtail = NULL;
	pthread_mutex_unlock(&w->qlock);
	return q;
}

/* True when a spooled record of `endpoint` goes to link i: its own, or of no endpoint we still have. */
static bool spooled_for(const struct clover_worker *w, size_t i, const char *endpoint)
{
	if (endpoint == NULL || strcmp(endpoint, w->endpoints[i]) == 0)
		return true;
	for (size_t x = 0; x < w->nend; x++)
		if (strcmp(endpoint, w->endpoints[x]) == 0)
			return false;
	return true;
}

/*
 * Sends the next chunk of the output spooled for link i, oldest first, and
 * deletes what was sent (output has no ack); done with a chunk shorter than
 * WORKER_RESEND_LOGS. A failed send is tried again next turn.
 */
static void resend_logs(struct clover_worker *w, size_t i)
{
	struct link *l = &w->links[i];
	struct spool_log *v = NULL;
	size_t n = 0, j = 0;

	if (spool_logs(w->sp, l->logs_after, WORKER_RESEND_LOGS, &v, &n) != 0)
		goto out; /* logged; next turn tries again */
	for (; j < n; j++) {
		if (spooled_for(w, i, v[j].endpoint)) {
			struct proto_msg m;

			memset(&m, 0, sizeof(m));
			m.kind = PROTO_LOG;
			m.log = v[j].log;
			if (link_send(w, i, &m) != 0)
				break;
			tx(w);
			if (spool_log_del(w->sp, v[j].seq) == 0)
				w->log_spool_bytes -= v[j].log.len;
		}
		l->logs_after = v[j].seq;
	}
	if (tx_commit(w) != 0) /* the deletes: flush() runs after the turn's commit */
		log_at(LOG_WARN, SUB, "spool commit failed; output may be sent twice");
	if (j == n && n < WORKER_RESEND_LOGS)
		l->resend_logs = false;
out:
	spool_logs_free(v, n);
}

/*
 * Sends the next chunk of the spooled results that belong to link i (or to
 * no endpoint we still have), oldest first, after its spooled output; the
 * resend ends with a chunk shorter than WORKER_RESEND_CHUNK. A failed send is
 * tried again next turn from the same place.
 */
static void resend(struct clover_worker *w, size_t i)
{
	struct link *l = &w->links[i];
	struct spool_result *v = NULL;
	struct proto_result_item *items = NULL;
	size_t n = 0, k = 0;

	if (l->resend_logs) {
		resend_logs(w, i);
		return; /* the results from the next turn */
	}
	if (spool_results(w->sp, l->resend_after, WORKER_RESEND_CHUNK, &v, &n) != 0)
		goto out; /* logged; next turn tries again */
	if (n > 0 && (items = malloc(n * sizeof(*items))) == NULL)
		goto out;
	for (size_t j = 0; j < n; j++) {
		if (spooled_for(w, i, v[j].endpoint))
			items[k++] = v[j].item;
	}
	if (k > 0 && send_items(w, i, PROTO_RESULT, items, sizeof(*items), k) != 0)
		goto out;
	w->stats.results_sent += k;
	l->resent += k;
	if (n > 0)
		l->resend_after = v[n - 1].seq;
	if (n < WORKER_RESEND_CHUNK) {
		l->resend = false;
		if (l->resent > 0)
			log_at(LOG_INFO, SUB, "%llu unacknowledged result(s) sent to %s",
			       (unsigned long long)l->resent, w->endpoints[i]);
	}
out:
	free(items);
	spool_results_free(v, n);
}

/*
 * Sends what the turn produced: per link, its acks, progress items, output
 * and results (or, after a welcome, every spooled result of the link), in
 * that order, so a scheduler hears of a dispatch's acceptance, then of its
 * start, then its output, then its end.
 */
static void flush(struct clover_worker *w)
{
	void *tmp = NULL;
	size_t tmpcap = 0;

	for (size_t i = 0; i < w->nend; i++) {
		struct link *l = &w->links[i];
		size_t k = 0;

		if (!link_live(l))
			continue;
		/* acks */
		for (size_t j = 0; j < w->nacks; j++) {
			struct ack_out *a = &w->acks[j];

			if (a->link != i)
				continue;
			if (grow(&tmp, &tmpcap, k, sizeof(union any_item)) != 0)
				break;
			((struct proto_ack_item *)tmp)[k] = a->it;
			((struct proto_ack_item *)tmp)[k].message = a->msg[0] ? a->msg : NULL;
			k++;
		}
		if (k)
			send_items(w, i, PROTO_ACK, tmp, sizeof(struct proto_ack_item), k);
		/* progress */
		k = 0;
		for (size_t j = 0; j < w->nprogs; j++) {
			if (w->progs[j].link != i)
				continue;
			if (grow(&tmp, &tmpcap, k, sizeof(union any_item)) != 0)
				break;
			((struct proto_progress_item *)tmp)[k++] = w->progs[j].prog;
		}
		if (k)
			send_items(w, i, PROTO_PROGRESS, tmp, sizeof(struct proto_progress_item), k);
		/* output, one frame per chunk */
		for (size_t j = 0; j < w->nlogs; j++) {
			struct proto_msg m;

			if (w->logs[j].link != i)
				continue;
			memset(&m, 0, sizeof(m));
			m.kind = PROTO_LOG;
			m.log = w->logs[j].log;
			link_send(w, i, &m);
		}
		/* results */
		if (l->resend) {
			resend(w, i);
			continue;
		}
		k = 0;
		for (size_t j = 0; j < w->nresults; j++) {
			if (w->results[j].link != i)
				continue;
			if (grow(&tmp, &tmpcap, k, sizeof(union any_item)) != 0)
				break;
			((struct proto_result_item *)tmp)[k++] = w->results[j].res;
		}
		if (k) {
			if (send_items(w, i, PROTO_RESULT, tmp, sizeof(struct proto_result_item),
			               k) == 0)
				w->stats.results_sent += k;
			else
				resend_start(l); /* they are in the spool; try again */
		}
	}
	free(tmp);
	w->nacks = w->nprogs = w->nresults = w->nlogs = 0;
}

/* ---- timers and the drain ---- */

static int64_t timers(struct clover_worker *w, int64_t now)
{
	int64_t next = now + WAIT_MAX_MS;

	for (size_t i = 0; i < w->nend; i++) {
		struct link *l = &w->links[i];
		unsigned due;

		if (!l->up)
			continue;
		if (l->s.state == PROTO_SESS_CLOSED && !w->draining) {
			/* Refused, or told bye on a connection that stayed up: try again later. */
			if (now - l->closed_at >= REHELLO_MS) {
				proto_session_init(&l->s, PROTO_ROLE_EXECUTOR, 0, 0, now);
				send_hello(w, i);
			} else if (l->closed_at + REHELLO_MS < next) {
				next = l->closed_at + REHELLO_MS;
			}
			continue;
		}
		due = proto_session_poll(&l->s, now);
		if (due & PROTO_DUE_DEAD) {
			log_at(LOG_WARN, SUB, "%s is silent; hello again", w->endpoints[i]);
			proto_session_init(&l->s, PROTO_ROLE_EXECUTOR, 0, 0, now);
			due |= PROTO_DUE_HELLO;
		}
		if (due & PROTO_DUE_HELLO)
			send_hello(w, i);
		else if (due & PROTO_DUE_HEARTBEAT)
			send_heartbeat(w, i);
		if (proto_session_next(&l->s) < next)
			next = proto_session_next(&l->s);
	}
	if (w->draining && w->drain_deadline > 0 && now >= w->drain_deadline && !w->drain_killed) {
		size_t it = 0;
		const char *key;
		void *val;

		w->drain_killed = true;
		log_at(LOG_WARN, SUB, "drain deadline: cancelling %zu shard(s)", w->inflight.n);
		while (hmap_next(&w->inflight, &it, &key, &val)) {
			struct inflight *f = val;

			exec_kill(w->pool, f->run_id, f->shard, f->attempt, false);
		}
	}
	if (w->draining && w->drain_deadline > 0 && !w->drain_killed && w->drain_deadline < next)
		next = w->drain_deadline;
	return next;
}

/* Starts a drain the application asked for (clover_worker_drain()). */
static void self_drain(struct clover_worker *w, int64_t grace_ms)
{
	log_at(LOG_INFO, SUB, "draining: finishing %d shard(s)%s, taking no new ones",
	       exec_busy(w->pool), grace_ms >= 0 ? " within the grace period" : "");
	w->draining = true;
	w->self_drain = true;
	if (grace_ms >= 0) {
		int64_t at = time_mono_ms() + grace_ms;

		if (w->drain_deadline == 0 || at < w->drain_deadline)
			w->drain_deadline = at;
	}
	/* Tell the schedulers at once, so they stop routing to us. */
	for (size_t i = 0; i < w->nend; i++)
		if (link_live(&w->links[i]))
			send_heartbeat(w, i);
}

/*
 * A drained worker leaves once nothing runs and every result was
 * acknowledged. After a self-drain it also leaves when no scheduler is
 * connected to take the results, or DELIVER_MS after the grace period: the
 * results stay in the spool for the next start.
 */
static bool drain_done(struct clover_worker *w)
{
	bool live = false;

	if (!w->draining || w->inflight.n > 0 || exec_busy(w->pool) > 0)
		return false;
	for (size_t i = 0; i < w->nend; i++)
		live |= link_live(&w->links[i]);
	if (atomic_load(&w->pending) != 0) {
		if (!w->self_drain)
			return false;
		if (live && !(w->drain_deadline > 0 &&
		              time_mono_ms() >= w->drain_deadline + DELIVER_MS))
			return false;
		log_at(LOG_WARN, SUB, "drained with %lld result(s) undelivered; they stay in the "
		                      "spool",
		       (long long)atomic_load(&w->pending));
	} else {
		log_at(LOG_INFO, SUB, "drained: every result delivered; leaving");
	}
	for (size_t i = 0; i < w->nend; i++)
		send_bye(w, i, PROTO_BYE_DRAINED);
	return true;
}

/* ---- run ---- */

static int pool_start(struct clover_worker *w)
{
	struct exec_options eo = {
		.workers = w->capacity,
		.queue_max = WORKER_QUEUE_MAX,
		.on_event = on_event,
		.ctx = w,
	};
	int rc = exec_pool_new(&eo, &w->pool);

	for (struct handler *h = w->handlers; rc == 0 && h; h = h->next)
		rc = exec_register(w->pool, h->name, trampoline, h);
	return rc;
}

/* One turn's pool events: spool them, then send what the turn produced. */
static void turn_end(struct clover_worker *w)
{
	struct wev *q = take_events(w), *next;

	for (struct wev *x = q; x; x = x->next)
		on_exec_event(w, x);
	if (tx_commit(w) != 0)
		log_at(LOG_ERROR, SUB, "spool commit failed; results may be re-run");
	if (w->spool_changed)
		count_pending(w);
	flush(w);
	for (; q; q = next) {
		next = q->next;
		free(q);
	}
}

/* Runs the worker; see include/clover.h. */
int clover_worker_run(clover_worker *w)
{
	int rc;

	if (w == NULL)
		return CLOVER_EINVAL;
	if (atomic_exchange(&w->running, true))
		return CLOVER_ESTATE;
	w->draining = w->drain_killed = w->self_drain = false;
	w->drain_deadline = 0;
	rc = pool_start(w);
	if (rc != 0) {
		log_at(LOG_ERROR, SUB, "executor pool: %s", clover_strerror(rc));
		exec_pool_free(w->pool);
		w->pool = NULL;
		atomic_store(&w->running, false);
		return rc;
	}
	log_at(LOG_INFO, SUB, "executor %s: capacity %d, %zu handler(s), %zu declared job(s), "
	                      "%zu scheduler(s)",
	       w->id, w->capacity, w->nhandlers + 1, w->njobs, w->nend);
	/* Links that came up during an earlier run() say hello again. */
	for (size_t i = 0; i < w->nend; i++)
		if (w->links[i].up) {
			proto_session_init(&w->links[i].s, PROTO_ROLE_EXECUTOR, 0, 0, time_mono_ms());
			send_hello(w, i);
		}
	rc = 0;
	while (!atomic_load(&w->stop)) {
		int64_t now, next, grace = atomic_exchange(&w->drain_req, DRAIN_NONE);
		struct proto_client_event ev;
		struct error_info e;
		int wait, r;

		if (grace != DRAIN_NONE)
			self_drain(w, grace);
		now = time_mono_ms();
		next = timers(w, now);
		if (w->self_drain && w->drain_deadline > 0 && w->drain_deadline + DELIVER_MS < next)
			next = w->drain_deadline + DELIVER_MS;
		wait = next > now ? (int)(next - now) : 0;
		for (size_t i = 0; i < w->nend; i++)
			if (w->links[i].resend && link_live(&w->links[i]))
				wait = 0; /* more of a backlog to send */

		for (int k = 0; k < TURN_EVENTS && !atomic_load(&w->stop); k++) {
			memset(&ev, 0, sizeof(ev));
			r = proto_client_recv(w->cli, &ev, k == 0 ? wait : 0, &e);
			if (r == 0) {
				on_link_event(w, &ev);
				if (ev.kind == PROTO_CLIENT_WAKE)
					break;
				continue;
			}
			if (r == CLOVER_EIO) {
				log_at(LOG_ERROR, SUB, "receive: %s", e.message);
				usleep(100000);
			}
			if (r != CLOVER_EPROTO)
				break;
		}
		turn_end(w);
		if (drain_done(w)) {
			w->drained = true;
			break;
		}
	}
	/* Cancel what still runs; their results go to the spool. */
	exec_pool_free(w->pool);
	w->pool = NULL;
	turn_end(w);
	{
		size_t it = 0;
		const char *key;
		void *val;

		while (hmap_next(&w->inflight, &it, &key, &val)) {
			job_spec_unref(((struct inflight *)val)->spec);
			free(val);
		}
		hmap_free(&w->inflight);
		hmap_init(&w->inflight);
	}
	if (!w->drained)
		for (size_t i = 0; i < w->nend; i++)
			send_bye(w, i, PROTO_BYE_SHUTDOWN);
	atomic_store(&w->stop, false);
	atomic_store(&w->drain_req, DRAIN_NONE);
	w->drained = false;
	atomic_store(&w->running, false);
	log_at(LOG_INFO, SUB, "executor %s stopped", w->id);
	return rc;
}
