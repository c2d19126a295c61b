/* SPDX-License-Identifier: MIT */
/*
 * The store front: argument checks and defaults, dispatch to the backend
 * through `struct store_ops`, and the write path for run snapshots and logs.
 *
 * Write path. store_submit_run() and store_submit_log() copy the record into
 * one allocation and append it to the *pending* list under a mutex; they never
 * touch the disk. The pending list is a generation: a run id appears in it at
 * most once, because a newer snapshot of a run that is still pending replaces
 * the older one in place (coalescing, found through an id -> slot map).
 * The writer thread waits until the first pending record is `batch_delay_ms`
 * old (group commit), or `batch_max` records are pending, or someone flushes;
 * then it swaps the whole generation out and writes it in transactions of at
 * most `batch_max` records. A transaction that fails (disk full, I/O error) is
 * retried with back-off and, if it keeps failing, dropped with an ERROR line.
 *
 * Sequence numbers: every submission gets the next number; `committed` is the
 * highest number whose generation is settled. store_flush() waits until
 * `committed` reaches the number of submissions made before it was called.
 */
#include "store/backend.h"
#include "store/store.h"

#include "base/hash.h"
#include "base/log.h"
#include "base/time.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/*
 * Large, because a batch is only large when the writer is behind, and then
 * bigger transactions touch each index page fewer times per run (bench/store:
 * 100k runs of one instant, 919 B written per run at 4096, 375 at 65536).
 */
#define DEFAULT_BATCH_MAX      32768
#define DEFAULT_BATCH_DELAY_MS 5
#define DEFAULT_LOG_CAP        ((size_t)1 << 20)
#define DEFAULT_SYNC_MS        100
#define DEFAULT_FOLD_MS        5000
#define SHARDS_MAX             65536

/* Back-off between attempts at a failing transaction; then it is dropped. */
static const int retry_ms[] = {10, 100, 1000, 5000};
#define ATTEMPTS ((int)(sizeof(retry_ms) / sizeof(retry_ms[0])) + 1)

struct recvec {
	struct store_rec **v;
	size_t n, cap;
};

struct store {
	const struct store_ops *ops;
	void *be;
	int batch_max;
	int batch_delay_ms;
	size_t log_cap;
	void (*on_commit)(void *ctx, const struct store_commit_info *ci);
	void *on_commit_ctx;

	pthread_mutex_t mu;
	pthread_cond_t wake; /* the writer waits for records, a full batch, a flush or stop */
	pthread_cond_t done; /* flushers wait for `committed` to move */
	struct recvec pending;
	struct imap map; /* run id -> 1 + its index in `pending` (coalescing) */
	int64_t first_ns;    /* monotonic time the oldest pending record arrived */
	uint64_t submitted;  /* sequence number of the last submission */
	uint64_t committed;  /* every submission <= this is settled */
	uint64_t failed_seq; /* last sequence number of a dropped generation */
	int flushers;
	bool stop;
	struct store_stats st;

	pthread_t writer;
	bool writer_started;
};

/* ---- records ---- */

static size_t str_size(const char *s)
{
	return s ? strlen(s) + 1 : 0;
}

static char *put_str(char **p, const char *s)
{
	size_t n;
	char *r;

	if (s == NULL)
		return NULL;
	n = strlen(s) + 1;
	r = *p;
	memcpy(r, s, n);
	*p += n;
	return r;
}

/* Copies a run snapshot into one allocation. NULL when out of memory. */
static struct store_rec *rec_run_new(const struct run_rec *r)
{
	size_t nsh = (size_t)r->nshards;
	size_t sz = sizeof(struct store_rec) + nsh * sizeof(struct shard_rec);
	struct store_rec *rec;
	char *p;

	sz += str_size(r->job) + str_size(r->params) + str_size(r->reason);
	for (size_t i = 0; i < nsh; i++)
		sz += str_size(r->shards[i].executor) + str_size(r->shards[i].message);
	rec = malloc(sz);
	if (rec == NULL)
		return NULL;
	rec->kind = STORE_REC_RUN;
	rec->u.run = *r;
	rec->u.run.shards = nsh ? (struct shard_rec *)(rec + 1) : NULL;
	p = (char *)(rec + 1) + nsh * sizeof(struct shard_rec);
	for (size_t i = 0; i < nsh; i++) {
		struct shard_rec *sh = &rec->u.run.shards[i];

		*sh = r->shards[i];
		sh->executor = put_str(&p, r->shards[i].executor);
		sh->message = put_str(&p, r->shards[i].message);
	}
	rec->u.run.job = put_str(&p, r->job);
	rec->u.run.params = put_str(&p, r->params);
	rec->u.run.reason = put_str(&p, r->reason);
	return rec;
}

static int vec_push(struct recvec *v, struct store_rec *rec)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 1024;
		struct store_rec **nv = realloc(v->v, cap * sizeof(*nv));

		if (nv == NULL)
			return CLOVER_ENOMEM;
		v->v = nv;
		v->cap = cap;
	}
	v->v[v->n++] = rec;
	return 0;
}

/*
 * Appends (or, for a run already pending, substitutes) a record; called with
 * the mutex held. *old receives a replaced record for the caller to free.
 */
static int enqueue(struct store *s, struct store_rec *rec, struct store_rec **old)
{
	uintptr_t slot = 0; /* 1 + index of a pending snapshot of the same run */
	int rc;

	*old = NULL;
	if (rec->kind == STORE_REC_RUN)
		slot = (uintptr_t)imap_get(&s->map, rec->u.run.id);
	if (slot) {
		size_t idx = slot - 1;

		*old = s->pending.v[idx];
		s->pending.v[idx] = rec;
		s->st.coalesced++;
	} else {
		rc = vec_push(&s->pending, rec);
		if (rc)
			return rc;
		/* Failing to remember the slot only costs coalescing: upserts are in order. */
		if (rec->kind == STORE_REC_RUN)
			(void)imap_put(&s->map, rec->u.run.id, (void *)(uintptr_t)s->pending.n);
		if (s->pending.n == 1)
			s->first_ns = time_mono_ns();
	}
	s->submitted++;
	s->st.submitted++;
	if (s->pending.n == 1 || s->pending.n == (size_t)s->batch_max)
		pthread_cond_signal(&s->wake);
	return 0;
}

static int submit(struct store *s, struct store_rec *rec)
{
	struct store_rec *old;
	int rc;

	pthread_mutex_lock(&s->mu);
	rc = enqueue(s, rec, &old);
	pthread_mutex_unlock(&s->mu);
	if (rc)
		free(rec);
	free(old);
	return rc;
}

/*
 * Queues a copy of run snapshot `r` for the writer. Returns 0, CLOVER_EINVAL
 * (no job, id <= 0, a bad shard count) or CLOVER_ENOMEM. Thread-safe; never
 * waits on the disk.
 */
int store_submit_run(struct store *s, const struct run_rec *r)
{
	struct store_rec *rec;

	if (r == NULL || r->job == NULL || r->id <= 0 || r->nshards < 0 ||
	    r->nshards > SHARDS_MAX || (r->nshards > 0 && r->shards == NULL))
		return CLOVER_EINVAL;
	rec = rec_run_new(r);
	if (rec == NULL)
		return CLOVER_ENOMEM;
	return submit(s, rec);
}

/*
 * Queues a copy of `len` bytes of output of (run_id, shard, attempt). Only the
 * last log_cap_per_shard bytes of an oversized chunk are kept; the rest count
 * as dropped. Returns 0, CLOVER_EINVAL or CLOVER_ENOMEM. Thread-safe.
 */
int store_submit_log(struct store *s, int64_t run_id, int shard, int attempt, const char *data,
                     size_t len)
{
	struct store_rec *rec;
	int64_t dropped = 0;
	char *p;

	if (run_id <= 0 || shard < 0 || attempt < 0 || (data == NULL && len > 0))
		return CLOVER_EINVAL;
	if (len == 0)
		return 0;
	if (len > s->log_cap) {
		dropped = (int64_t)(len - s->log_cap);
		data += len - s->log_cap;
		len = s->log_cap;
	}
	rec = malloc(sizeof(*rec) + len);
	if (rec == NULL)
		return CLOVER_ENOMEM;
	p = (char *)(rec + 1);
	memcpy(p, data, len);
	rec->kind = STORE_REC_LOG;
	rec->u.log.run_id = run_id;
	rec->u.log.shard = shard;
	rec->u.log.attempt = attempt;
	rec->u.log.dropped = dropped;
	rec->u.log.len = len;
	rec->u.log.data = p;
	return submit(s, rec);
}

/*
 * Waits until everything submitted before the call is settled. Returns 0, or
 * CLOVER_ESTORE when records settled during the wait had to be dropped because
 * the database kept failing (each such loss is logged). Thread-safe.
 */
int store_flush(struct store *s)
{
	uint64_t target, start;
	int rc = 0;

	pthread_mutex_lock(&s->mu);
	target = s->submitted;
	start = s->committed;
	if (s->committed < target) {
		s->flushers++;
		pthread_cond_signal(&s->wake);
		while (s->committed < target)
			pthread_cond_wait(&s->done, &s->mu);
		s->flushers--;
		if (s->failed_seq > start)
			rc = CLOVER_ESTORE;
	}
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/* Copies the counters. Thread-safe. */
void store_stats(struct store *s, struct store_stats *st)
{
	pthread_mutex_lock(&s->mu);
	*st = s->st;
	st->queued = s->pending.n;
	pthread_mutex_unlock(&s->mu);
}

/* ---- writer thread ---- */

static int64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Writes one transaction's worth, retrying; returns 0 or the last error. */
static int write_chunk(struct store *s, struct store_rec *const *recs, size_t n,
                       struct store_batch_result *res)
{
	int rc = 0;

	for (int a = 0; a < ATTEMPTS; a++) {
		memset(res, 0, sizeof(*res));
		rc = s->ops->write_batch(s->be, recs, n, res);
		if (rc == 0)
			return 0;
		if (a + 1 < ATTEMPTS) {
			log_at(LOG_WARN, "store",
			       "writing a batch of %zu records failed (%s); retry in %d ms", n,
			       clover_strerror(rc), retry_ms[a]);
			sleep_ms(retry_ms[a]);
		}
	}
	log_at(LOG_ERROR, "store",
	       "dropped a batch of %zu run records and logs after %d attempts: %s", n, ATTEMPTS,
	       clover_strerror(rc));
	return rc;
}

/*
 * Waits for records to write. With `idle_at` > 0 (a monotonic instant) it
 * returns with none queued once that instant has passed: the backend's idle
 * work is due.
 */
static void wait_for_batch(struct store *s, int64_t idle_at)
{
	struct timespec ts;
	int64_t deadline;

	while (s->pending.n == 0 && !s->stop) {
		if (idle_at <= 0) {
			pthread_cond_wait(&s->wake, &s->mu);
			continue;
		}
		if (time_mono_ns() >= idle_at)
			return;
		ts.tv_sec = idle_at / 1000000000;
		ts.tv_nsec = idle_at % 1000000000;
		pthread_cond_timedwait(&s->wake, &s->mu, &ts);
	}
	if (s->batch_delay_ms <= 0)
		return;
	deadline = s->first_ns + (int64_t)s->batch_delay_ms * 1000000;
	while (s->pending.n > 0 && s->pending.n < (size_t)s->batch_max && !s->stop &&
	       s->flushers == 0 && time_mono_ns() < deadline) {
		ts.tv_sec = deadline / 1000000000;
		ts.tv_nsec = deadline % 1000000000;
		pthread_cond_timedwait(&s->wake, &s->mu, &ts);
	}
}

static void *writer_main(void *arg)
{
	struct store *s = arg;
	struct recvec work = {0};
	int64_t idle_at = 0; /* when the backend's idle work is due; 0: none */

	pthread_mutex_lock(&s->mu);
	for (;;) {
		struct store_commit_info ci = {0};
		struct recvec tmp;
		size_t written = 0, dups = 0, rejected = 0, failed = 0, txns = 0;
		struct store_batch_result roll = {0};
		int64_t t0, c0;
		int rc;

		wait_for_batch(s, idle_at);
		if (s->pending.n == 0 && s->stop)
			break;
		if (s->pending.n == 0) {
			int64_t next_ms = -1;

			pthread_mutex_unlock(&s->mu);
			s->ops->idle(s->be, &next_ms);
			pthread_mutex_lock(&s->mu);
			idle_at = next_ms < 0 ? 0 : time_mono_ns() + next_ms * 1000000;
			continue;
		}
		/* After this batch, the queue empty: ask the backend what it has to do. */
		idle_at = s->ops->idle ? 1 : 0;
		tmp = s->pending;
		s->pending = work;
		work = tmp;
		imap_clear(&s->map);
		ci.seq = s->submitted;
		pthread_mutex_unlock(&s->mu);

		t0 = time_mono_ns();
		c0 = thread_cpu_ns();
		for (size_t i = 0; i < work.n; i += (size_t)s->batch_max) {
			struct store_batch_result res;
			size_t m = work.n - i;

			if (m > (size_t)s->batch_max)
				m = (size_t)s->batch_max;
			rc = write_chunk(s, work.v + i, m, &res);
			if (rc) {
				failed += m;
				continue;
			}
			txns++;
			written += res.written;
			dups += res.duplicates;
			rejected += res.rejected;
			for (int k = 0; k < RUN_STATE_COUNT; k++)
				roll.finished[k] += res.finished[k];
			for (int k = 0; k < STORE_LATENESS_BUCKETS; k++)
				roll.lateness[k] += res.lateness[k];
			roll.lateness_sum_ms += res.lateness_sum_ms;
		}
		ci.write_ns = time_mono_ns() - t0;
		ci.cpu_ns = thread_cpu_ns() - c0;
		ci.records = written;
		ci.txns = txns;
		for (size_t i = 0; i < work.n; i++)
			free(work.v[i]);
		work.n = 0;
		if (s->on_commit)
			s->on_commit(s->on_commit_ctx, &ci);

		pthread_mutex_lock(&s->mu);
		s->committed = ci.seq;
		if (failed)
			s->failed_seq = ci.seq;
		s->st.written += written;
		s->st.duplicates += dups;
		s->st.rejected += rejected;
		s->st.failed += failed;
		s->st.txns += txns;
		for (int k = 0; k < RUN_STATE_COUNT; k++)
			s->st.finished[k] += roll.finished[k];
		for (int k = 0; k < STORE_LATENESS_BUCKETS; k++)
			s->st.lateness[k] += roll.lateness[k];
		s->st.lateness_sum_ms += roll.lateness_sum_ms;
		if (txns) {
			s->st.commits++;
			s->st.commit_ms[store_bucket(store_commit_bounds_ms, STORE_COMMIT_BUCKETS,
			                             (ci.write_ns + 999999) / 1000000)]++;
			s->st.commit_sum_us += (uint64_t)(ci.write_ns / 1000);
		}
		pthread_cond_broadcast(&s->done);
	}
	pthread_mutex_unlock(&s->mu);
	free(work.v);
	return NULL;
}

/* ---- open and close ---- */

static const struct store_ops *pick_backend(const char *path)
{
	if (strncmp(path, "postgres://", 11) == 0 || strncmp(path, "postgresql://", 13) == 0)
		return NULL;
	return &store_sqlite_ops;
}

/*
 * Opens the store described by `opt`, creating and migrating the database as
 * needed, and starts the writer thread. On success *out owns the store (free
 * with store_close()); on failure nothing is left open and `e` says why.
 */
int store_open(const struct store_options *opt, struct store **out, struct error_info *e)
{
	struct store_config cfg;
	pthread_condattr_t ca;
	struct store *s;
	int rc;

	*out = NULL;
	if (opt == NULL || opt->path == NULL || opt->path[0] == '\0')
		return error_set(e, CLOVER_EINVAL, "store.path", "a database path is required");
	if (opt->batch_max < 0)
		return error_set(e, CLOVER_EINVAL, "store.batch_max", "must not be negative");
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return error_set(e, CLOVER_ENOMEM, NULL, "out of memory");
	s->ops = pick_backend(opt->path);
	if (s->ops == NULL) {
		free(s);
		return error_set(e, CLOVER_ENOTSUP, "store.path",
		                 "the PostgreSQL backend is not built into this clover");
	}
	s->batch_max = opt->batch_max ? opt->batch_max : DEFAULT_BATCH_MAX;
	s->batch_delay_ms = opt->batch_delay_ms == 0 ? DEFAULT_BATCH_DELAY_MS : opt->batch_delay_ms;
	s->log_cap = opt->log_cap_per_shard ? opt->log_cap_per_shard : DEFAULT_LOG_CAP;
	s->on_commit = opt->on_commit;
	s->on_commit_ctx = opt->on_commit_ctx;
	imap_init(&s->map);

	cfg.path = opt->path;
	cfg.log_cap = s->log_cap;
	cfg.sync_ms = opt->sync_ms == 0 ? DEFAULT_SYNC_MS : opt->sync_ms;
	cfg.sync_commit = opt->sync_commit;
	cfg.fold_ms = opt->fold_ms > 0 ? opt->fold_ms : DEFAULT_FOLD_MS;
	rc = s->ops->open(&cfg, &s->be, e);
	if (rc) {
		free(s);
		return rc;
	}

	pthread_mutex_init(&s->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->wake, &ca);
	pthread_condattr_destroy(&ca);
	pthread_cond_init(&s->done, NULL);
	rc = pthread_create(&s->writer, NULL, writer_main, s);
	if (rc) {
		s->ops->close(s->be);
		pthread_cond_destroy(&s->wake);
		pthread_cond_destroy(&s->done);
		pthread_mutex_destroy(&s->mu);
		free(s);
		return error_set(e, CLOVER_ESYS, NULL, "cannot start the store writer: %s",
		                 strerror(rc));
	}
	pthread_setname_np(s->writer, "clover-store");
	s->writer_started = true;
	*out = s;
	return 0;
}

/* Writes what is queued, stops the writer, closes the backend, frees `s`. */
void store_close(struct store *s)
{
	if (s == NULL)
		return;
	pthread_mutex_lock(&s->mu);
	s->stop = true;
	pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&s->mu);
	if (s->writer_started)
		pthread_join(s->writer, NULL);
	s->ops->close(s->be);
	free(s->pending.v);
	imap_free(&s->map);
	pthread_cond_destroy(&s->wake);
	pthread_cond_destroy(&s->done);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

/* ---- synchronous calls: checks, defaults, dispatch ---- */

static int clamp_limit(int limit, int def, int max)
{
	if (limit <= 0)
		return def;
	return limit > max ? max : limit;
}

/* Frees the strings of a job record and zeroes it; NULL is a no-op. */
void store_job_clear(struct store_job *j)
{
	if (j == NULL)
		return;
	free(j->name);
	free(j->spec);
	memset(j, 0, sizeof(*j));
}

/* Checks the arguments and creates or replaces a job (store.h has the revision rules). */
int store_job_put(struct store *s, const char *name, const char *spec, bool paused, int64_t now,
                  int64_t expect_revision, int64_t *revision, bool *created)
{
	int64_t rev = 0;
	bool cr = false;
	int rc;

	if (name == NULL || name[0] == '\0' || spec == NULL)
		return CLOVER_EINVAL;
	rc = s->ops->job_put(s->be, name, spec, paused, now, expect_revision, &rev, &cr);
	if (rc == 0) {
		if (revision)
			*revision = rev;
		if (created)
			*created = cr;
	}
	return rc;
}

/* Reads one job into *out (zeroed first). CLOVER_ENOENT when absent. */
int store_job_get(struct store *s, const char *name, struct store_job *out)
{
	if (name == NULL || out == NULL)
		return CLOVER_EINVAL;
	memset(out, 0, sizeof(*out));
	return s->ops->job_get(s->be, name, out);
}

/* Deletes a job and its contact links. CLOVER_ENOENT when absent. */
int store_job_delete(struct store *s, const char *name)
{
	if (name == NULL)
		return CLOVER_EINVAL;
	return s->ops->job_delete(s->be, name);
}

/* Lists jobs by name with the filter's defaults and limits applied. */
int store_job_list(struct store *s, const struct store_job_filter *f, struct store_job **out,
                   size_t *n)
{
	struct store_job_filter ff = {.paused = -1};

	*out = NULL;
	*n = 0;
	if (f)
		ff = *f;
	ff.limit = clamp_limit(ff.limit, 100, 1000);
	if (ff.paused < -1 || ff.paused > 1)
		return CLOVER_EINVAL;
	if (ff.last_state != 0 && ff.last_state != STORE_LAST_NEVER &&
	    (ff.last_state < 0 || ff.last_state >= RUN_STATE_COUNT ||
	     !run_state_final((enum run_state)ff.last_state)))
		return CLOVER_EINVAL;
	return s->ops->job_list(s->be, &ff, out, n);
}

/* Counts jobs and paused jobs; either output may be NULL. */
int store_job_count(struct store *s, int64_t *total, int64_t *paused)
{
	int64_t t = 0, p = 0;
	int rc = s->ops->job_count(s->be, &t, &p);

	if (rc == 0) {
		if (total)
			*total = t;
		if (paused)
			*paused = p;
	}
	return rc;
}

/* Streams every job with its last fire to fn (see store.h). */
int store_job_load_all(struct store *s,
                       int (*fn)(void *ctx, const struct store_job *j, int64_t last_fire),
                       void *ctx)
{
	if (fn == NULL)
		return CLOVER_EINVAL;
	return s->ops->job_load_all(s->be, fn, ctx);
}

/* Reads one run with its shards into *out (zeroed first). CLOVER_ENOENT. */
int store_run_get(struct store *s, int64_t id, struct run_rec *out)
{
	if (out == NULL)
		return CLOVER_EINVAL;
	memset(out, 0, sizeof(*out));
	return s->ops->run_get(s->be, id, out);
}

/* Lists runs newest first with the filter's defaults and limits applied. */
int store_run_list(struct store *s, const struct store_run_filter *f, struct run_rec **out,
                   size_t *n)
{
	struct store_run_filter ff = {.state = -1};

	*out = NULL;
	*n = 0;
	if (f)
		ff = *f;
	ff.limit = clamp_limit(ff.limit, 50, 1000);
	if (ff.state < -1 || ff.state >= RUN_STATE_COUNT)
		return CLOVER_EINVAL;
	return s->ops->run_list(s->be, &ff, out, n);
}

/* Sets *id to the largest run id written (0 when none). */
int store_run_max_id(struct store *s, int64_t *id)
{
	*id = 0;
	return s->ops->run_max_id(s->be, id);
}

/* The rollup's buckets (store.h); the lateness bounds are persisted. */
const int64_t store_lateness_bounds_ms[STORE_LATENESS_BUCKETS] = {
    0,    1,    2,    3,     5,     7,     10,    20,     30,     50,     70,
    100,  200,  300,  500,   700,   1000,  2000,  3000,   5000,   7000,   10000,
    20000, 30000, 60000, 120000, 300000, 600000, 1800000, 3600000, INT64_MAX,
};
const int64_t store_commit_bounds_ms[STORE_COMMIT_BUCKETS] = {
    1, 2, 5, 10, 20, 30, 50, 70, 100, 200, 300, 500, 1000, 2000, 5000, INT64_MAX,
};

int store_bucket(const int64_t *bounds, int n, int64_t ms)
{
	int lo = 0, hi = n - 1;

	while (lo < hi) { /* the first bound >= ms */
		int mid = (lo + hi) / 2;

		if (bounds[mid] >= ms)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

int store_run_stats(struct store *s, int64_t now, struct store_run_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (now <= 0)
		return CLOVER_EINVAL;
	return s->ops->run_stats(s->be, now, out);
}

/* Calls fn for every run not in a final state, in id order. */
int store_run_unfinished(struct store *s, int (*fn)(void *ctx, const struct run_rec *r), void *ctx)
{
	if (fn == NULL)
		return CLOVER_EINVAL;
	return s->ops->run_unfinished(s->be, fn, ctx);
}

/* Reads log text of a run (see store.h for offsets and the drop marker). */
int store_log_read(struct store *s, int64_t run_id, int shard, int64_t offset, size_t max,
                   char **out, size_t *len, int64_t *next)
{
	*out = NULL;
	*len = 0;
	*next = offset;
	if (offset < 0)
		return CLOVER_EINVAL;
	if (max == 0)
		max = DEFAULT_LOG_CAP;
	return s->ops->log_read(s->be, run_id, shard, offset, max, out, len, next);
}

/* Frees the strings of an event and zeroes it; NULL is a no-op. */
void store_event_clear(struct store_event *ev)
{
	if (ev == NULL)
		return;
	free(ev->source);
	free(ev->node);
	free(ev->job);
	free(ev->message);
	memset(ev, 0, sizeof(*ev));
}

/* An event needs a source, a message, a known level and an id >= 0. */
static bool event_valid(const struct store_event *ev)
{
	return ev != NULL && ev->source != NULL && ev->message != NULL && ev->id >= 0 &&
	       ev->level >= STORE_LEVEL_INFO && ev->level <= STORE_LEVEL_ERROR;
}

/*
 * Queues a copy of an event for the writer thread, like a run snapshot: for
 * callers that must not wait on the disk (the engine's thread). Returns 0,
 * CLOVER_EINVAL or CLOVER_ENOMEM. Thread-safe.
 */
int store_submit_event(struct store *s, const struct store_event *ev)
{
	struct store_rec *rec;
	char *p;

	if (!event_valid(ev))
		return CLOVER_EINVAL;
	rec = malloc(sizeof(*rec) + str_size(ev->source) + str_size(ev->node) + str_size(ev->job) +
	             str_size(ev->message));
	if (rec == NULL)
		return CLOVER_ENOMEM;
	p = (char *)(rec + 1);
	rec->kind = STORE_REC_EVENT;
	rec->u.event = *ev;
	rec->u.event.source = put_str(&p, ev->source);
	rec->u.event.node = put_str(&p, ev->node);
	rec->u.event.job = put_str(&p, ev->job);
	rec->u.event.message = put_str(&p, ev->message);
	return submit(s, rec);
}

/* Checks and adds an event synchronously (source and message required). */
int store_event_add(struct store *s, const struct store_event *ev)
{
	if (!event_valid(ev))
		return CLOVER_EINVAL;
	return s->ops->event_add(s->be, ev);
}

/* Lists events newest first with the filter's defaults and limits applied. */
int store_event_list(struct store *s, const struct store_event_filter *f, struct store_event **out,
                     size_t *n)
{
	struct store_event_filter ff = {.level = -1};

	*out = NULL;
	*n = 0;
	if (f)
		ff = *f;
	ff.limit = clamp_limit(ff.limit, 100, 1000);
	return s->ops->event_list(s->be, &ff, out, n);
}

/* Frees the strings of a contact and zeroes it; NULL is a no-op. */
void store_contact_clear(struct store_contact *c)
{
	if (c == NULL)
		return;
	free(c->name);
	free(c->email);
	free(c->webhook);
	memset(c, 0, sizeof(*c));
}

/* Checks and creates or replaces a contact (see store.h). */
int store_contact_put(struct store *s, const struct store_contact *c, bool create_only,
                      bool *created)
{
	bool dummy;

	if (created == NULL)
		created = &dummy;
	*created = false;
	if (c == NULL || c->name == NULL || c->name[0] == '\0')
		return CLOVER_EINVAL;
	return s->ops->contact_put(s->be, c, create_only, created);
}

/* Reads one contact into *out (zeroed first). CLOVER_ENOENT. */
int store_contact_get(struct store *s, const char *name, struct store_contact *out)
{
	if (name == NULL || out == NULL)
		return CLOVER_EINVAL;
	memset(out, 0, sizeof(*out));
	return s->ops->contact_get(s->be, name, out);
}

/* Deletes a contact. CLOVER_ENOENT. */
int store_contact_delete(struct store *s, const char *name)
{
	if (name == NULL)
		return CLOVER_EINVAL;
	return s->ops->contact_delete(s->be, name);
}

/* Lists contacts by name with the filter's defaults and limits applied. */
int store_contact_list(struct store *s, const struct store_contact_filter *f,
                       struct store_contact **out, size_t *n)
{
	struct store_contact_filter ff = {.oncall = -1};

	*out = NULL;
	*n = 0;
	if (f)
		ff = *f;
	ff.limit = clamp_limit(ff.limit, 100, 1000);
	if (ff.oncall < -1 || ff.oncall > 1)
		return CLOVER_EINVAL;
	return s->ops->contact_list(s->be, &ff, out, n);
}

/* Frees the strings of a user record and zeroes it; NULL is a no-op. */
void store_user_clear(struct store_user *u)
{
	if (u == NULL)
		return;
	free(u->name);
	free(u->pwhash);
	memset(u, 0, sizeof(*u));
}

/* Checks and creates or replaces a user. */
int store_user_put(struct store *s, const struct store_user *u)
{
	if (u == NULL || u->name == NULL || u->name[0] == '\0' || u->pwhash == NULL ||
	    u->role < STORE_ROLE_VIEWER || u->role > STORE_ROLE_ADMIN)
		return CLOVER_EINVAL;
	return s->ops->user_put(s->be, u);
}

/* Reads one user into *out (zeroed first). CLOVER_ENOENT. */
int store_user_get(struct store *s, const char *name, struct store_user *out)
{
	if (name == NULL || out == NULL)
		return CLOVER_EINVAL;
	memset(out, 0, sizeof(*out));
	return s->ops->user_get(s->be, name, out);
}

/* Deletes a user and their tokens. CLOVER_ENOENT. */
int store_user_delete(struct store *s, const char *name)
{
	if (name == NULL)
		return CLOVER_EINVAL;
	return s->ops->user_delete(s->be, name);
}

/* Lists all users by name. */
int store_user_list(struct store *s, struct store_user **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	return s->ops->user_list(s->be, out, n);
}

/* Frees the strings of a token record and zeroes it; NULL is a no-op. */
void store_token_clear(struct store_token *t)
{
	if (t == NULL)
		return;
	free(t->id);
	free(t->user);
	free(t->name);
	free(t->hash);
	memset(t, 0, sizeof(*t));
}

/* Checks and creates or replaces (by id) a token. */
int store_token_put(struct store *s, const struct store_token *t)
{
	if (t == NULL || t->id == NULL || t->id[0] == '\0' || t->user == NULL || t->hash == NULL)
		return CLOVER_EINVAL;
	return s->ops->token_put(s->be, t);
}

/* Finds the token with this secret hash. CLOVER_ENOENT. */
int store_token_find(struct store *s, const char *hash, struct store_token *out)
{
	if (hash == NULL || out == NULL)
		return CLOVER_EINVAL;
	memset(out, 0, sizeof(*out));
	return s->ops->token_find(s->be, hash, out);
}

/* Lists the tokens of `user` (NULL: everyone's). */
int store_token_list(struct store *s, const char *user, struct store_token **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	return s->ops->token_list(s->be, user, out, n);
}

/* Revokes a token. CLOVER_ENOENT. */
int store_token_delete(struct store *s, const char *id)
{
	if (id == NULL)
		return CLOVER_EINVAL;
	return s->ops->token_delete(s->be, id);
}

/* Records that a token was used at `now`. CLOVER_ENOENT. */
int store_token_touch(struct store *s, const char *id, int64_t now)
{
	if (id == NULL)
		return CLOVER_EINVAL;
	return s->ops->token_touch(s->be, id, now);
}

/* Frees the strings of a session record and zeroes it; NULL is a no-op. */
void store_session_clear(struct store_session *ss)
{
	if (ss == NULL)
		return;
	free(ss->hash);
	free(ss->user);
	memset(ss, 0, sizeof(*ss));
}

/* Checks and stores a new session (expired ones are removed on the way). */
int store_session_put(struct store *s, const struct store_session *ss)
{
	if (ss == NULL || ss->hash == NULL || ss->user == NULL || ss->expires_at <= 0)
		return CLOVER_EINVAL;
	return s->ops->session_put(s->be, ss);
}

/* Finds the session whose secret hashes to `hash`. CLOVER_ENOENT. */
int store_session_find(struct store *s, const char *hash, struct store_session *out)
{
	if (hash == NULL || out == NULL)
		return CLOVER_EINVAL;
	memset(out, 0, sizeof(*out));
	return s->ops->session_find(s->be, hash, out);
}

/* Ends a session. CLOVER_ENOENT. */
int store_session_delete(struct store *s, const char *hash)
{
	if (hash == NULL)
		return CLOVER_EINVAL;
	return s->ops->session_delete(s->be, hash);
}

/* Reads a metadata value (*val malloc'd). CLOVER_ENOENT. */
int store_meta_get(struct store *s, const char *key, char **val)
{
	*val = NULL;
	if (key == NULL)
		return CLOVER_EINVAL;
	return s->ops->meta_get(s->be, key, val);
}

/* Sets a metadata value. */
int store_meta_set(struct store *s, const char *key, const char *val)
{
	if (key == NULL || val == NULL)
		return CLOVER_EINVAL;
	return s->ops->meta_set(s->be, key, val);
}

/* Deletes old finished runs and old events in batches (default batch 1000). */
int store_prune(struct store *s, int64_t before, int batch, int64_t *deleted)
{
	int64_t d = 0;
	int rc;

	if (batch <= 0)
		batch = 1000;
	rc = s->ops->prune(s->be, before, batch, &d);
	if (deleted)
		*deleted = d;
	return rc;
}
