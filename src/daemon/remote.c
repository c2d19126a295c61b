/* SPDX-License-Identifier: MIT */
/*
 * The remote thread: the scheduler's end of the wire protocol (remote.h,
 * docs/protocol.md "Sessions"). It owns the proto_server and a table of
 * sessions, one per executor connection that said hello, each with its
 * struct proto_session for the state machine and liveness.
 *
 * Flow: frames in -> hooks (the daemon posts them to the engine's inbox);
 * engine actions out -> staged on the engine thread -> published to `q*`
 * under `mu` by remote_flush() -> batched into one dispatch / kill /
 * result-ack frame per executor per pass. A *ticket* numbers each dispatch;
 * it is echoed in reports and in the result-acks.
 *
 * Locks: `mu` guards the published queues and the drain requests; `smu`
 * guards the session table for readers on other threads (the API's
 * snapshot). The remote thread is the only writer of the table.
 */
#include "daemon/remote.h"
#include "api/api.h"
#include "base/buf.h"
#include "base/log.h"
#include "base/time.h"
#include "core/job.h"
#include "proto/msg.h"
#include "proto/session.h"
#include "proto/zmq.h"
#include "store/store.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SUB "remote"
#define SESSIONS_MAX 1024
#define KEYS_MAX 4096
#define RECV_BURST 4096 /* frames read before the queues are looked at again */
#define LOCAL_ID "local"

enum item_kind { IT_DISPATCH, IT_KILL, IT_ACK };

/* A staged or queued item for one executor. */
struct item {
	struct item *next;
	enum item_kind kind;
	char *executor;
	int64_t run_id;
	int shard, shard_count, attempt;
	int64_t scheduled_at, not_before;
	uint32_t ticket;
	bool flag; /* KILL: timed out; ACK: stale */
	struct job_spec *spec;
	char *params;
};

struct sess {
	struct proto_peer peer;
	struct proto_session ps;
	char id[PROTO_ID_MAX + 1];
	char host[PROTO_HOST_MAX + 1];
	char software[PROTO_SOFTWARE_MAX + 1];
	char **labels; /* "k=v" */
	size_t nlabels;
	int capacity, running;
	int64_t heard_wall;
	bool joined;
	/* the pass's batches (remote thread) */
	struct proto_dispatch_item *disp;
	size_t ndisp, capdisp;
	struct proto_kill_item *kills;
	size_t nkills, capkills;
	struct proto_result_ack_item *acks;
	size_t nacks, capacks;
};

struct drain_req {
	struct drain_req *next;
	char id[PROTO_ID_MAX + 1];
};

/*
 * Dispatch latency for /metrics: when each ticket's dispatch was put on the
 * wire, in a ring indexed by ticket (tickets grow by one per dispatch), so an
 * accepting ack finds its send time in O(1). A ticket overwritten before its
 * ack (SENT_RING dispatches later) is simply not measured. Remote thread only.
 */
#define SENT_RING 65536
struct sent {
	uint32_t ticket;
	int64_t at_ms; /* monotonic; 0: measured or never sent */
};

struct remote {
	struct proto_server *srv;
	struct store *store;
	struct remote_hooks hooks;
	char scheduler_id[PROTO_ID_MAX + 1];
	int64_t heartbeat_ms, dead_after_ms;
	uint64_t incarnation;
	uint32_t next_ticket; /* engine thread */
	pthread_t th;
	bool started;
	/* engine thread only */
	struct item *staged, **staged_tail;
	/* under mu */
	pthread_mutex_t mu;
	struct item *queue, **queue_tail;
	struct drain_req *drains;
	bool stopping;
	/* the session table: written by the remote thread under smu */
	pthread_mutex_t smu;
	struct sess **sess;
	size_t nsess;
	struct buf frame;
	struct sent sent[SENT_RING];
};

/* ------------------------------------------------------------------ */
/* items */

static void item_free(struct item *it)
{
	free(it->executor);
	free(it->params);
	job_spec_unref(it->spec);
	free(it);
}

static void items_free(struct item *it)
{
	while (it) {
		struct item *next = it->next;

		item_free(it);
		it = next;
	}
}

static struct item *item_new(struct remote *r, enum item_kind kind, const char *executor)
{
	struct item *it = calloc(1, sizeof(*it));

	if (it == NULL || (it->executor = strdup(executor)) == NULL) {
		free(it);
		return NULL;
	}
	it->kind = kind;
	(void)r;
	return it;
}

static void stage(struct remote *r, struct item *it)
{
	*r->staged_tail = it;
	r->staged_tail = &it->next;
}

int remote_dispatch(struct remote *r, const struct engine_action *a)
{
	struct item *it;

	if (a->params && strlen(a->params) > PROTO_PARAMS_MAX) {
		log_at(LOG_WARN, SUB, "job=%s run=%lld params over %d bytes: not dispatched",
		       a->spec->name, (long long)a->run_id, PROTO_PARAMS_MAX);
		return CLOVER_ETOOBIG;
	}
	if ((it = item_new(r, IT_DISPATCH, a->executor)) == NULL)
		return CLOVER_ENOMEM;
	it->run_id = a->run_id;
	it->shard = a->shard;
	it->shard_count = a->shard_count;
	it->attempt = a->attempt;
	it->scheduled_at = a->scheduled_at;
	it->not_before = a->not_before;
	it->ticket = ++r->next_ticket;
	it->spec = job_spec_ref(a->spec);
	/* The run's params live only until the actions are cleared. */
	if (a->params && (it->params = strdup(a->params)) == NULL) {
		item_free(it);
		return CLOVER_ENOMEM;
	}
	stage(r, it);
	return 0;
}

int remote_kill(struct remote *r, const struct engine_action *a)
{
	struct item *it = item_new(r, IT_KILL, a->executor);

	if (it == NULL)
		return CLOVER_ENOMEM;
	it->run_id = a->run_id;
	it->shard = a->shard;
	it->attempt = a->attempt;
	it->flag = a->timed_out;
	stage(r, it);
	return 0;
}

int remote_applied(struct remote *r, const char *id, uint32_t ticket, int64_t run_id, int shard,
                   int attempt, bool stale)
{
	struct item *it = item_new(r, IT_ACK, id);

	if (it == NULL)
		return CLOVER_ENOMEM;
	it->ticket = ticket;
	it->run_id = run_id;
	it->shard = shard;
	it->attempt = attempt;
	it->flag = stale;
	stage(r, it);
	return 0;
}

void remote_flush(struct remote *r)
{
	if (r->staged == NULL)
		return;
	pthread_mutex_lock(&r->mu);
	*r->queue_tail = r->staged;
	r->queue_tail = r->staged_tail;
	pthread_mutex_unlock(&r->mu);
	r->staged = NULL;
	r->staged_tail = &r->staged;
	proto_server_wake(r->srv);
}

int remote_drain(struct remote *r, const char *id)
{
	struct drain_req *d;
	bool found = false;

	pthread_mutex_lock(&r->smu);
	for (size_t i = 0; i < r->nsess && !found; i++)
		found = r->sess[i]->joined && strcmp(r->sess[i]->id, id) == 0;
	pthread_mutex_unlock(&r->smu);
	if (!found)
		return CLOVER_ENOENT;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return CLOVER_ENOMEM;
	snprintf(d->id, sizeof(d->id), "%s", id);
	pthread_mutex_lock(&r->mu);
	d->next = r->drains;
	r->drains = d;
	pthread_mutex_unlock(&r->mu);
	proto_server_wake(r->srv);
	return 0;
}

int remote_reload_keys(struct remote *r, const char *executor_keys, struct error_info *e)
{
	struct proto_key *keys = calloc(KEYS_MAX, sizeof(*keys));
	size_t n = 0;
	int rc;

	if (keys == NULL)
		return error_set(e, CLOVER_ENOMEM, NULL, "out of memory");
	rc = proto_keys_read(executor_keys, keys, KEYS_MAX, &n, e);
	if (rc == 0 && (rc = proto_server_allow(r->srv, keys, n)))
		error_set(e, rc, "executor_keys", "%s", clover_strerror(rc));
	if (rc == 0)
		log_at(LOG_INFO, SUB, "%zu executor key(s) accepted from %s", n, executor_keys);
	free(keys);
	return rc;
}

size_t remote_executors(struct remote *r, struct remote_executor *out, size_t max)
{
	size_t n = 0;

	pthread_mutex_lock(&r->smu);
	for (size_t i = 0; i < r->nsess; i++) {
		const struct sess *s = r->sess[i];
		struct remote_executor *x;
		size_t used = 0;

		if (!s->joined)
			continue;
		if (n >= max) {
			n++;
			continue;
		}
		x = &out[n++];
		memset(x, 0, sizeof(*x));
		snprintf(x->id, sizeof(x->id), "%s", s->id);
		snprintf(x->host, sizeof(x->host), "%s", s->host);
		snprintf(x->version, sizeof(x->version), "%s", s->software);
		snprintf(x->state, sizeof(x->state), "%s", proto_session_state_name(s->ps.state));
		for (size_t l = 0; l < s->nlabels && used < sizeof(x->labels); l++) {
			int w = snprintf(x->labels + used, sizeof(x->labels) - used, "%s%s",
			                 l ? "\n" : "", s->labels[l]);

			if (w < 0)
				break;
			used += (size_t)w;
		}
		x->capacity = s->capacity;
		x->running = s->running;
		x->last_heartbeat = s->heard_wall;
	}
	pthread_mutex_unlock(&r->smu);
	return n;
}

const char *remote_endpoint(const struct remote *r)
{
	return proto_server_endpoint(r->srv);
}

/* ------------------------------------------------------------------ */
/* sessions (remote thread) */

static void sess_free(struct sess *s)
{
	for (size_t i = 0; i < s->nlabels; i++)
		free(s->labels[i]);
	free(s->labels);
	free(s->disp);
	free(s->kills);
	free(s->acks);
	free(s);
}

static struct sess *sess_by_peer(struct remote *r, const struct proto_peer *p)
{
	for (size_t i = 0; i < r->nsess; i++) {
		struct sess *s = r->sess[i];

		if (s->peer.id_len == p->id_len && memcmp(s->peer.id, p->id, p->id_len) == 0)
			return s;
	}
	return NULL;
}

static struct sess *sess_by_id(struct remote *r, const char *id)
{
	for (size_t i = 0; i < r->nsess; i++) {
		if (r->sess[i]->joined && strcmp(r->sess[i]->id, id) == 0)
			return r->sess[i];
	}
	return NULL;
}

/* Removes a session; tells the engine the executor left when it had joined. */
static void sess_remove(struct remote *r, struct sess *s, bool leave)
{
	pthread_mutex_lock(&r->smu);
	for (size_t i = 0; i < r->nsess; i++) {
		if (r->sess[i] == s) {
			r->sess[i] = r->sess[--r->nsess];
			break;
		}
	}
	pthread_mutex_unlock(&r->smu);
	if (leave && s->joined && r->hooks.leave)
		r->hooks.leave(r->hooks.ctx, s->id);
	sess_free(s);
}

static void send_msg(struct remote *r, struct sess *s, const struct proto_msg *m)
{
	int rc;

	if (proto_session_send(&s->ps, m, time_mono_ms()))
		return;
	rc = proto_server_send(r->srv, &s->peer, m);
	if (rc)
		log_at(LOG_DEBUG, SUB, "executor=%s: %s not sent: %s", s->id[0] ? s->id : "-",
		       proto_kind_name(m->kind), clover_strerror(rc));
}

static void send_bye_peer(struct remote *r, const struct proto_peer *p, enum proto_bye_reason why,
                          const char *text)
{
	struct proto_msg m = {.kind = PROTO_BYE};

	m.bye.reason = why;
	m.bye.message = text;
	(void)proto_server_send(r->srv, p, &m);
}

static void on_hello(struct remote *r, const struct proto_peer *peer, struct proto_msg *m)
{
	const struct proto_hello *h = &m->hello;
	struct sess *s = sess_by_peer(r, peer), *old;
	struct proto_msg w = {.kind = PROTO_WELCOME};
	struct error_info e;
	char id[PROTO_ID_MAX + 1];
	uint8_t version;
	int64_t now = time_mono_ms();
	bool was_joined;

	if (proto_negotiate(h->min_version, h->max_version, &version)) {
		send_bye_peer(r, peer, PROTO_BYE_VERSION, "no common protocol version");
		return;
	}
	if (h->executor_id && h->executor_id[0])
		snprintf(id, sizeof(id), "%s", h->executor_id);
	else
		snprintf(id, sizeof(id), "key-%.12s", peer->key.z85);
	if (strcmp(id, LOCAL_ID) == 0) {
		log_at(LOG_WARN, SUB, "refused executor key %s: the id 'local' is reserved",
		       peer->key.z85);
		send_bye_peer(r, peer, PROTO_BYE_REFUSED, "the executor id 'local' is reserved");
		return;
	}
	old = sess_by_id(r, id);
	if (old && old != s && strcmp(old->peer.key.z85, peer->key.z85) != 0) {
		log_at(LOG_WARN, SUB, "refused executor=%s with key %s: the id is held by key %s", id,
		       peer->key.z85, old->peer.key.z85);
		send_bye_peer(r, peer, PROTO_BYE_REFUSED, "this executor id is held by another key");
		return;
	}
	if (s && s->joined && strcmp(s->id, id) != 0) {
		/* The same connection under a new id: the old executor leaves. */
		sess_remove(r, s, true);
		s = NULL;
	}
	if (s == NULL) {
		struct sess **v;

		if (r->nsess >= SESSIONS_MAX) {
			send_bye_peer(r, peer, PROTO_BYE_REFUSED, "too many executors");
			return;
		}
		if ((s = calloc(1, sizeof(*s))) == NULL)
			return;
		v = realloc(r->sess, (r->nsess + 1) * sizeof(*v));
		if (v == NULL) {
			free(s);
			return;
		}
		s->peer = *peer;
		proto_session_init(&s->ps, PROTO_ROLE_SCHEDULER, r->heartbeat_ms, r->dead_after_ms,
		                   now);
		pthread_mutex_lock(&r->smu);
		r->sess = v;
		r->sess[r->nsess++] = s;
		pthread_mutex_unlock(&r->smu);
	}
	if (proto_session_recv(&s->ps, m, now, &e))
		return;
	was_joined = s->joined;
	/* A reconnection of a known executor: the new connection takes over, no leave. */
	if (old && old != s) {
		pthread_mutex_lock(&r->smu);
		old->joined = false;
		pthread_mutex_unlock(&r->smu);
		sess_remove(r, old, false);
		was_joined = true;
	}
	{
		char **labels = calloc(h->nlabels ? h->nlabels : 1, sizeof(*labels));
		size_t nl = 0;

		if (labels == NULL)
			return;
		for (uint32_t i = 0; i < h->nlabels; i++) {
			size_t kl = strlen(h->labels[i].key), vl = strlen(h->labels[i].val);

			if ((labels[nl] = malloc(kl + vl + 2)) == NULL)
				break;
			memcpy(labels[nl], h->labels[i].key, kl);
			labels[nl][kl] = '=';
			memcpy(labels[nl] + kl + 1, h->labels[i].val, vl + 1);
			nl++;
		}
		pthread_mutex_lock(&r->smu);
		for (size_t i = 0; i < s->nlabels; i++)
			free(s->labels[i]);
		free(s->labels);
		s->labels = labels;
		s->nlabels = nl;
		snprintf(s->id, sizeof(s->id), "%s", id);
		snprintf(s->host, sizeof(s->host), "%s", h->host ? h->host : "");
		snprintf(s->software, sizeof(s->software), "%s", h->software ? h->software : "");
		s->capacity = (int)h->capacity;
		s->heard_wall = time_wall_ms();
		s->joined = true;
		pthread_mutex_unlock(&r->smu);
	}
	w.welcome.version = version;
	w.welcome.scheduler_id = r->scheduler_id;
	w.welcome.incarnation = r->incarnation;
	w.welcome.heartbeat_ms = (uint32_t)s->ps.heartbeat_ms;
	w.welcome.dead_after_ms = (uint32_t)s->ps.dead_after_ms;
	send_msg(r, s, &w);
	if (h->njobs && r->hooks.declare)
		r->hooks.declare(r->hooks.ctx, s->id, h->jobs, h->njobs);
	if (!was_joined) {
		log_at(LOG_INFO, SUB, "executor=%s joined (host %s, capacity %d, %s, key %s)", s->id,
		       s->host[0] ? s->host : "-", s->capacity,
		       s->software[0] ? s->software : "unknown software", peer->key.z85);
		if (r->hooks.join)
			r->hooks.join(r->hooks.ctx, s->id, (const char *const *)s->labels,
			              s->nlabels, s->capacity, h->running, h->nrunning);
	}
}

static void on_msg(struct remote *r, const struct proto_peer *peer, struct proto_msg *m)
{
	struct sess *s;
	struct error_info e;
	int64_t now = time_mono_ms();

	if (m->kind == PROTO_HELLO) {
		on_hello(r, peer, m);
		return;
	}
	s = sess_by_peer(r, peer);
	if (s == NULL) {
		if (m->kind != PROTO_BYE)
			send_bye_peer(r, peer, PROTO_BYE_NO_SESSION, "say hello first");
		return;
	}
	if (proto_session_recv(&s->ps, m, now, &e)) {
		log_at(LOG_DEBUG, SUB, "executor=%s: %s", s->id, e.message);
		if (s->ps.state == PROTO_SESS_IDLE)
			send_bye_peer(r, peer, PROTO_BYE_NO_SESSION, "say hello first");
		return;
	}
	s->heard_wall = time_wall_ms();
	switch (m->kind) {
	case PROTO_HEARTBEAT:
		pthread_mutex_lock(&r->smu);
		s->running = (int)m->heartbeat.running;
		if (m->heartbeat.capacity)
			s->capacity = (int)m->heartbeat.capacity;
		pthread_mutex_unlock(&r->smu);
		break;
	case PROTO_ACK:
		for (uint32_t i = 0; i < m->ack.n; i++) {
			const struct proto_ack_item *a = &m->ack.items[i];
			struct sent *sn = &r->sent[a->ticket % SENT_RING];

			if (sn->ticket == a->ticket && sn->at_ms) {
				if (a->status == PROTO_ACK_ACCEPTED)
					api_metrics_dispatch(time_mono_ms() - sn->at_ms);
				sn->at_ms = 0;
			}
			if (a->status == PROTO_ACK_ACCEPTED || a->status == PROTO_ACK_DUPLICATE)
				continue;
			log_at(LOG_INFO, SUB, "executor=%s run=%lld shard=%d attempt=%d refused: %s%s%s",
			       s->id, (long long)a->run_id, a->shard, a->attempt,
			       proto_ack_status_name(a->status), a->message ? ": " : "",
			       a->message ? a->message : "");
			if (r->hooks.refused)
				r->hooks.refused(r->hooks.ctx, a->run_id, a->shard, a->attempt,
				                 a->message ? a->message
				                            : proto_ack_status_name(a->status));
		}
		break;
	case PROTO_PROGRESS:
		for (uint32_t i = 0; i < m->progress.n; i++) {
			const struct proto_progress_item *p = &m->progress.items[i];

			if (p->started && r->hooks.started)
				r->hooks.started(r->hooks.ctx, p->run_id, p->shard, p->attempt, p->at);
			if ((p->fraction >= 0 || p->message) && r->hooks.progress)
				r->hooks.progress(r->hooks.ctx, p->run_id, p->shard, p->attempt,
				                  p->fraction, p->message);
		}
		break;
	case PROTO_LOG:
		if (r->store)
			store_submit_log(r->store, m->log.run_id, m->log.shard, m->log.attempt,
			                 m->log.data, m->log.len);
		break;
	case PROTO_RESULT:
		for (uint32_t i = 0; i < m->result.n; i++) {
			const struct proto_result_item *x = &m->result.items[i];

			if (r->hooks.finished)
				r->hooks.finished(r->hooks.ctx, s->id, x->ticket, x->run_id, x->shard,
				                  x->attempt, x->state, x->exit_code, x->message,
				                  x->finished_at ? x->finished_at : time_wall_ms());
		}
		break;
	case PROTO_BYE:
		log_at(LOG_INFO, SUB, "executor=%s left: %s%s%s", s->id,
		       proto_bye_reason_name(m->bye.reason), m->bye.message ? ": " : "",
		       m->bye.message ? m->bye.message : "");
		sess_remove(r, s, true);
		break;
	default:
		log_at(LOG_DEBUG, SUB, "executor=%s: unexpected %s ignored", s->id,
		       proto_kind_name(m->kind));
		break;
	}
}

/* ------------------------------------------------------------------ */
/* outgoing batches (remote thread) */

#define GROW(arr, n, cap)                                                                          \
	((n) < (cap) ? true : grow((void **)&(arr), &(cap), sizeof(*(arr))))

static bool grow(void **arr, size_t *cap, size_t size)
{
	size_t nc = *cap ? *cap * 2 : 64;
	void *p = realloc(*arr, nc * size);

	if (p == NULL)
		return false;
	*arr = p;
	*cap = nc;
	return true;
}

/* Tells the engine that `n` dispatch items were not delivered. */
static void refuse_all(struct remote *r, const void *items, size_t n, const char *why)
{
	const struct proto_dispatch_item *d = items;

	for (size_t i = 0; i < n && r->hooks.refused; i++)
		r->hooks.refused(r->hooks.ctx, d[i].run_id, d[i].shard, d[i].attempt, why);
}

/* Sends a batched message in as many frames as it needs. */
static void send_batch(struct remote *r, struct sess *s, struct proto_msg *m, const void *items,
                       size_t n, size_t size)
{
	const char *p = items;

	if (proto_session_send(&s->ps, m, time_mono_ms())) {
		log_at(LOG_INFO, SUB, "executor=%s is %s: %zu %s item(s) not sent", s->id,
		       proto_session_state_name(s->ps.state), n, proto_kind_name(m->kind));
		if (m->kind == PROTO_DISPATCH)
			refuse_all(r, items, n, "the executor takes no new work");
		return;
	}
	while (n > 0) {
		struct error_info e;
		uint32_t taken = 0;
		int rc;

		/* The union's batches share their layout: items, then n. */
		m->dispatch.items = (const void *)p;
		m->dispatch.n = n > PROTO_BATCH_MAX ? PROTO_BATCH_MAX : (uint32_t)n;
		if (proto_encode_batch(m, &r->frame, &taken, &e) || taken == 0) {
			log_at(LOG_ERROR, SUB, "executor=%s: a %s item does not encode: %s", s->id,
			       proto_kind_name(m->kind), e.message);
			taken = 1; /* skip the bad item */
		} else if ((rc = proto_server_send_frame(r->srv, &s->peer, r->frame.data,
		                                         r->frame.len))) {
			log_at(LOG_WARN, SUB, "executor=%s: %u %s item(s) not sent: %s", s->id,
			       taken, proto_kind_name(m->kind), clover_strerror(rc));
			/*
			 * Not delivered (a full queue, or a connection that is gone:
			 * ROUTER_MANDATORY says so at once): back to routing. A gone
			 * connection may come back as a new one that takes the
			 * session over, so liveness alone would leave them hanging.
			 */
			if (m->kind == PROTO_DISPATCH &&
			    (rc == CLOVER_EAGAIN || rc == CLOVER_ENOENT))
				refuse_all(r, p, taken, "the executor's queue is full");
		}
		p += (size_t)taken * size;
		n -= taken;
	}
}

static void take_queue(struct remote *r, struct item **items, struct drain_req **drains)
{
	pthread_mutex_lock(&r->mu);
	*items = r->queue;
	r->queue = NULL;
	r->queue_tail = &r->queue;
	*drains = r->drains;
	r->drains = NULL;
	pthread_mutex_unlock(&r->mu);
}

static void send_queued(struct remote *r)
{
	struct item *items;
	struct drain_req *drains;
	bool acks = false;

	take_queue(r, &items, &drains);
	for (struct item *it = items; it; it = it->next) {
		struct sess *s = sess_by_id(r, it->executor);

		if (s == NULL) {
			if (it->kind == IT_DISPATCH)
				log_at(LOG_INFO, SUB,
				       "job=%s run=%lld shard=%d attempt=%d: executor=%s is gone; "
				       "the shard fails over when the engine learns it",
				       it->spec->name, (long long)it->run_id, it->shard, it->attempt,
				       it->executor);
			continue;
		}
		switch (it->kind) {
		case IT_DISPATCH:
			if (!GROW(s->disp, s->ndisp, s->capdisp))
				break;
			r->sent[it->ticket % SENT_RING] = (struct sent){it->ticket, time_mono_ms()};
			s->disp[s->ndisp++] = (struct proto_dispatch_item){
				.run_id = it->run_id,
				.shard = it->shard,
				.attempt = it->attempt,
				.ticket = it->ticket,
				.shard_count = it->shard_count,
				.scheduled_at = it->scheduled_at,
				.not_before = it->not_before,
				.job = it->spec->name,
				.spec = it->spec->json,
				.shard_param = (size_t)it->shard < it->spec->nshard_params
				                       ? it->spec->shard_params[it->shard]
				                       : NULL,
				.params = it->params,
			};
			break;
		case IT_KILL:
			if (!GROW(s->kills, s->nkills, s->capkills))
				break;
			s->kills[s->nkills++] = (struct proto_kill_item){
				.run_id = it->run_id,
				.shard = it->shard,
				.attempt = it->attempt,
				.timed_out = it->flag,
			};
			break;
		case IT_ACK:
			if (!GROW(s->acks, s->nacks, s->capacks))
				break;
			s->acks[s->nacks++] = (struct proto_result_ack_item){
				.run_id = it->run_id,
				.shard = it->shard,
				.attempt = it->attempt,
				.ticket = it->ticket,
				.status = it->flag ? PROTO_RACK_STALE : PROTO_RACK_RECORDED,
			};
			acks = true;
			break;
		}
	}
	/* Acknowledge only what is durable: the engine submitted these runs before. */
	if (acks && r->store)
		store_flush(r->store);
	for (size_t i = 0; i < r->nsess; i++) {
		struct sess *s = r->sess[i];
		struct proto_msg m = {0};

		if (s->ndisp) {
			m.kind = PROTO_DISPATCH;
			send_batch(r, s, &m, s->disp, s->ndisp, sizeof(*s->disp));
			s->ndisp = 0;
		}
		if (s->nkills) {
			m.kind = PROTO_KILL;
			send_batch(r, s, &m, s->kills, s->nkills, sizeof(*s->kills));
			s->nkills = 0;
		}
		if (s->nacks) {
			m.kind = PROTO_RESULT_ACK;
			send_batch(r, s, &m, s->acks, s->nacks, sizeof(*s->acks));
			s->nacks = 0;
		}
	}
	items_free(items);
	while (drains) {
		struct drain_req *d = drains;
		struct sess *s = sess_by_id(r, d->id);

		drains = d->next;
		if (s) {
			struct proto_msg m = {.kind = PROTO_DRAIN};

			m.drain.reason = "drain requested by an operator";
			log_at(LOG_INFO, SUB, "executor=%s: drain", s->id);
			send_msg(r, s, &m);
		}
		free(d);
	}
}

/* Heartbeats due, dead executors; returns the next instant something is due. */
static int64_t poll_sessions(struct remote *r, int64_t now)
{
	int64_t next = INT64_MAX;

	for (size_t i = 0; i < r->nsess;) {
		struct sess *s = r->sess[i];
		unsigned due = proto_session_poll(&s->ps, now);

		if (due & PROTO_DUE_DEAD) {
			log_at(LOG_WARN, SUB, "executor=%s lost: silent for %lld ms", s->id,
			       (long long)s->ps.dead_after_ms);
			send_bye_peer(r, &s->peer, PROTO_BYE_TIMEOUT, "you were silent too long");
			sess_remove(r, s, true);
			continue; /* the last session moved to slot i */
		}
		if (s->ps.state == PROTO_SESS_CLOSED || s->ps.state == PROTO_SESS_DEAD) {
			sess_remove(r, s, true);
			continue;
		}
		if (due & PROTO_DUE_HEARTBEAT) {
			struct proto_msg hb = {0};

			proto_session_heartbeat(&s->ps, &hb, time_wall_ms(), 0, 0, false);
			send_msg(r, s, &hb);
		}
		if (proto_session_next(&s->ps) < next)
			next = proto_session_next(&s->ps);
		i++;
	}
	return next;
}

static void *thread_main(void *arg)
{
	struct remote *r = arg;
	int64_t next = time_mono_ms() + 1000;

	for (;;) {
		struct proto_peer peer;
		struct proto_msg m;
		struct error_info e;
		int64_t now = time_mono_ms();
		int timeout = next <= now ? 0 : next - now > 1000 ? 1000 : (int)(next - now);
		int rc = proto_server_recv(r->srv, &peer, &m, timeout, &e);
		bool stopping;

		for (int burst = 0; rc == 0 || rc == CLOVER_EPROTO; burst++) {
			if (rc == 0) {
				on_msg(r, &peer, &m);
				proto_msg_clear(&m);
			}
			if (burst >= RECV_BURST)
				break;
			rc = proto_server_recv(r->srv, &peer, &m, 0, &e);
		}
		if (rc == CLOVER_EIO) {
			log_at(LOG_ERROR, SUB, "receive: %s", e.message);
			struct timespec ts = {0, 100 * 1000000L};

			nanosleep(&ts, NULL);
		}
		pthread_mutex_lock(&r->mu);
		stopping = r->stopping;
		pthread_mutex_unlock(&r->mu);
		if (stopping)
			break;
		send_queued(r);
		next = poll_sessions(r, time_mono_ms());
	}
	for (size_t i = 0; i < r->nsess; i++)
		send_bye_peer(r, &r->sess[i]->peer, PROTO_BYE_SHUTDOWN, "the scheduler is stopping");
	return NULL;
}

/* ------------------------------------------------------------------ */
/* start and stop */

static int load_keys(const struct remote_options *o, struct proto_key *secret,
                     struct proto_key **allowed, size_t *nallowed, struct error_info *e)
{
	char path[4200];
	size_t n = 0;
	int rc;

	if (o->server_key == NULL || o->server_key[0] == '\0')
		return error_set(e, CLOVER_EINVAL, "server_key",
		                 "rpc_listen needs server_key (a key pair made by 'clover keygen')");
	if (o->executor_keys == NULL || o->executor_keys[0] == '\0')
		return error_set(e, CLOVER_EINVAL, "executor_keys",
		                 "rpc_listen needs executor_keys (a file of executor .pub keys)");
	snprintf(path, sizeof(path), "%s.key", o->server_key);
	if ((rc = proto_keys_read(path, secret, 1, &n, e)))
		return rc;
	if ((*allowed = calloc(KEYS_MAX, sizeof(**allowed))) == NULL)
		return error_set(e, CLOVER_ENOMEM, NULL, "out of memory");
	if ((rc = proto_keys_read(o->executor_keys, *allowed, KEYS_MAX, nallowed, e))) {
		free(*allowed);
		*allowed = NULL;
		return rc;
	}
	return 0;
}

int remote_start(const struct remote_options *o, struct remote **out, struct error_info *e)
{
	struct remote *r = calloc(1, sizeof(*r));
	struct proto_key secret, *allowed = NULL;
	size_t nallowed = 0;
	char bind[300];
	int rc;

	*out = NULL;
	if (r == NULL)
		return error_set(e, CLOVER_ENOMEM, NULL, "out of memory");
	pthread_mutex_init(&r->mu, NULL);
	pthread_mutex_init(&r->smu, NULL);
	r->staged_tail = &r->staged;
	r->queue_tail = &r->queue;
	r->store = o->store;
	r->hooks = o->hooks;
	r->heartbeat_ms = o->heartbeat_ms > 0 ? o->heartbeat_ms : PROTO_HEARTBEAT_MS;
	r->dead_after_ms = o->dead_after_ms > 0 ? o->dead_after_ms : PROTO_DEAD_AFTER_MS;
	if (r->heartbeat_ms * 2 > r->dead_after_ms)
		r->heartbeat_ms = r->dead_after_ms / 3 > PROTO_HEARTBEAT_MIN_MS
		                          ? r->dead_after_ms / 3
		                          : PROTO_HEARTBEAT_MIN_MS;
	r->incarnation = (uint64_t)time_mono_ns() ^ ((uint64_t)time_wall_ms() << 20);
	snprintf(r->scheduler_id, sizeof(r->scheduler_id), "%s",
	         o->scheduler_id ? o->scheduler_id : "scheduler");
	buf_init(&r->frame, PROTO_FRAME_MAX);
	if ((rc = load_keys(o, &secret, &allowed, &nallowed, e)))
		goto fail;
	snprintf(bind, sizeof(bind), "%s%s", strstr(o->listen, "://") ? "" : "tcp://", o->listen);
	if ((rc = proto_server_new(bind, &secret, allowed, nallowed, &r->srv, e)))
		goto fail;
	if (pthread_create(&r->th, NULL, thread_main, r)) {
		rc = error_set(e, CLOVER_ESYS, NULL, "cannot start the remote thread");
		goto fail;
	}
	r->started = true;
	free(allowed);
	memset(&secret, 0, sizeof(secret));
	log_at(LOG_INFO, SUB, "listening for executors on %s (%zu executor key(s))",
	       proto_server_endpoint(r->srv), nallowed);
	*out = r;
	return 0;
fail:
	memset(&secret, 0, sizeof(secret));
	free(allowed);
	remote_stop(r);
	return rc;
}

void remote_stop(struct remote *r)
{
	struct item *items;
	struct drain_req *drains;

	if (r == NULL)
		return;
	if (r->started) {
		pthread_mutex_lock(&r->mu);
		r->stopping = true;
		pthread_mutex_unlock(&r->mu);
		proto_server_wake(r->srv);
		pthread_join(r->th, NULL);
	}
	proto_server_free(r->srv);
	take_queue(r, &items, &drains);
	items_free(items);
	items_free(r->staged);
	while (drains) {
		struct drain_req *d = drains;

		drains = d->next;
		free(d);
	}
	for (size_t i = 0; i < r->nsess; i++)
		sess_free(r->sess[i]);
	free(r->sess);
	buf_free(&r->frame);
	pthread_mutex_destroy(&r->mu);
	pthread_mutex_destroy(&r->smu);
	free(r);
}
