/* SPDX-License-Identifier: MIT */
/*
 * The worker runtime (src/exec/worker.c) against a minimal scheduler made of
 * a proto_server in this test (ROUTER + CURVE on 127.0.0.1, a free port):
 * the hello carries id, labels, capacity, handlers and declared jobs; noop,
 * shell and custom handler dispatches come back as results, with progress
 * and log messages; with two schedulers each result goes back to the one
 * that dispatched it; a kill cancels a running shard; a drain makes the worker
 * finish and leave (also when the application asks, clover_worker_drain(),
 * with and without a scheduler to deliver to); a scheduler silent for its
 * dead_after is greeted again, and so is one that declared the worker dead;
 * an unknown key is refused;
 * results made while the scheduler is gone are spooled and delivered once
 * when it is back, also a backlog larger than a re-send chunk; after a
 * restart of the worker its unacknowledged results are delivered again, and
 * a shard that was running is reported as failed. The `clover worker`
 * command: usage errors, a bad --jobs file, and a run with key files and a
 * --jobs file that SIGTERM drains.
 */
#include "base/log.h"
#include "base/time.h"
#include "clover.h"
#include "daemon/daemon.h"
#include "exec/spool.h"
#include "exec/worker.h"
#include "proto/zmq.h"

#include <signal.h>

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#define WAIT_MS 10000

#define NOOP_SPEC    "{\"name\":\"t-noop\",\"schedule\":\"@every 1h\",\"run\":{\"handler\":\"noop\"}}"
#define SHELL_SPEC   "{\"name\":\"t-shell\",\"schedule\":\"@every 1h\",\"run\":{\"shell\":\"echo out-$CLOVER_SHARD; exit 3\"}}"
#define HELLO_SPEC   "{\"name\":\"t-hello\",\"schedule\":\"@every 1h\",\"run\":{\"handler\":\"hello\",\"params\":\"hp\"}}"
#define SLEEPY_SPEC  "{\"name\":\"t-sleepy\",\"schedule\":\"@every 1h\",\"run\":{\"handler\":\"sleepy\"}}"
#define MISSING_SPEC "{\"name\":\"t-miss\",\"schedule\":\"@every 1h\",\"run\":{\"handler\":\"nope\"}}"

struct got_result {
	int64_t run_id;
	int shard, attempt;
	uint32_t ticket;
	enum run_state state;
	int exit_code;
	char message[256];
};

/* The test's scheduler and what it has seen. */
struct sched {
	struct proto_keypair key;
	struct proto_server *srv;
	char endpoint[128];
	struct proto_peer peer;
	bool have_peer;
	bool auto_ack; /* answer results with result-ack */
	bool welcome;  /* answer hello with welcome */
	bool welcomed; /* a welcome was sent: heartbeats are due */
	int64_t last_hb;
	uint64_t hb_seq;
	uint32_t ticket;

	int hellos;
	struct proto_msg hello; /* the last one, owned */
	int acks[5];            /* by status */
	char ack_msg[256];
	int progress, started;
	double fraction;
	char progress_msg[256];
	char log[4096];
	struct got_result results[64];
	int nresults;
	int byes;
	enum proto_bye_reason bye_reason;
	int heartbeats;
	bool draining_seen;
	int64_t started_runs[64];
	int nstarted_runs;
	int log_before_start; /* output of a run whose start was not reported yet */
	int64_t total_results; /* all result items; results[] keeps the first 64 */
	int64_t last_run;
	int out_of_order; /* a result whose run id was not above the previous one */
};

static struct proto_keypair worker_key;
static char dir[128];

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static struct proto_keypair keypair(void)
{
	struct proto_keypair kp;

	assert_int_equal(proto_keygen(&kp), 0);
	return kp;
}

static void sched_bind(struct sched *s, const char *endpoint)
{
	struct error_info e;
	int rc = proto_server_new(endpoint, &s->key.sec, &worker_key.pub, 1, &s->srv, &e);

	if (rc != 0)
		fail_msg("proto_server_new: %s", e.message);
	snprintf(s->endpoint, sizeof(s->endpoint), "%s", proto_server_endpoint(s->srv));
}

static void sched_up(struct sched *s)
{
	memset(s, 0, sizeof(*s));
	s->key = keypair();
	s->auto_ack = true;
	s->welcome = true;
	sched_bind(s, "tcp://127.0.0.1:*");
}

static void sched_down(struct sched *s)
{
	proto_server_free(s->srv);
	s->srv = NULL;
	s->have_peer = false;
	s->welcomed = false;
}

static void sched_free(struct sched *s)
{
	sched_down(s);
	proto_msg_clear(&s->hello);
}

static void sched_send(struct sched *s, const struct proto_msg *m)
{
	int rc;

	assert_true(s->have_peer);
	rc = proto_server_send(s->srv, &s->peer, m);
	if (rc != 0)
		fail_msg("send %s: %s", proto_kind_name((int)m->kind), clover_errname(rc));
}

static void on_msg(struct sched *s, struct proto_msg *m)
{
	struct proto_msg out;

	memset(&out, 0, sizeof(out));
	switch (m->kind) {
	case PROTO_HELLO:
		s->hellos++;
		proto_msg_clear(&s->hello);
		s->hello = *m;
		memset(m, 0, sizeof(*m)); /* keep it */
		if (s->welcome) {
			out.kind = PROTO_WELCOME;
			out.welcome = (struct proto_welcome){1, "test-sched", 42, 100, 2000};
			sched_send(s, &out);
			s->welcomed = true;
		}
		return;
	case PROTO_ACK:
		for (uint32_t i = 0; i < m->ack.n; i++) {
			s->acks[m->ack.items[i].status]++;
			if (m->ack.items[i].message)
				snprintf(s->ack_msg, sizeof(s->ack_msg), "%s",
				         m->ack.items[i].message);
		}
		break;
	case PROTO_PROGRESS:
		for (uint32_t i = 0; i < m->progress.n; i++) {
			const struct proto_progress_item *p = &m->progress.items[i];

			s->progress++;
			if (p->started) {
				s->started++;
				if (s->nstarted_runs < 64)
					s->started_runs[s->nstarted_runs++] = p->run_id;
				continue;
			}
			s->fraction = p->fraction;
			if (p->message)
				snprintf(s->progress_msg, sizeof(s->progress_msg), "%s",
				         p->message);
		}
		break;
	case PROTO_LOG: {
		size_t have = strlen(s->log);
		bool seen = false;

		for (int i = 0; i < s->nstarted_runs; i++)
			seen |= s->started_runs[i] == m->log.run_id;
		s->log_before_start += !seen;

		snprintf(s->log + have, sizeof(s->log) - have, "%.*s", (int)m->log.len,
		         m->log.data);
		break;
	}
	case PROTO_RESULT: {
		struct proto_result_ack_item acks[PROTO_BATCH_MAX];

		for (uint32_t i = 0; i < m->result.n; i++) {
			const struct proto_result_item *r = &m->result.items[i];
			struct got_result *g = &s->results[s->nresults];

			acks[i] = (struct proto_result_ack_item){r->run_id, r->shard, r->attempt,
			                                         r->ticket, PROTO_RACK_RECORDED};
			s->total_results++;
			s->out_of_order += r->run_id <= s->last_run;
			s->last_run = r->run_id;
			if (s->nresults == 64)
				continue; /* counted only */
			s->nresults++;
			g->run_id = r->run_id;
			g->shard = r->shard;
			g->attempt = r->attempt;
			g->ticket = r->ticket;
			g->state = r->state;
			g->exit_code = r->exit_code;
			snprintf(g->message, sizeof(g->message), "%s", r->message ? r->message : "");
		}
		if (s->auto_ack) {
			out.kind = PROTO_RESULT_ACK;
			out.result_ack.items = acks;
			out.result_ack.n = m->result.n;
			sched_send(s, &out);
		}
		break;
	}
	case PROTO_HEARTBEAT:
		s->heartbeats++;
		if (m->heartbeat.draining)
			s->draining_seen = true;
		break;
	case PROTO_BYE:
		s->byes++;
		s->bye_reason = m->bye.reason;
		break;
	default:
		break;
	}
	proto_msg_clear(m);
}

/* Handles what arrives within `ms`. */
/* Like a real scheduler, heartbeats every 100 ms, so the worker never finds it silent. */
static void heartbeat(struct sched *s)
{
	struct proto_msg m;

	if (!s->have_peer || !s->welcomed || time_mono_ms() - s->last_hb < 100)
		return;
	s->last_hb = time_mono_ms();
	memset(&m, 0, sizeof(m));
	m.kind = PROTO_HEARTBEAT;
	m.heartbeat.seq = ++s->hb_seq;
	m.heartbeat.at = time_wall_ms();
	(void)proto_server_send(s->srv, &s->peer, &m); /* the peer may be gone */
}

static void pump(struct sched *s, int ms)
{
	int64_t end = time_mono_ms() + ms;

	for (;;) {
		heartbeat(s);
		struct proto_peer peer;
		struct proto_msg m;
		struct error_info e;
		int64_t left = end - time_mono_ms();
		int rc;

		if (left < 0)
			left = 0;
		memset(&m, 0, sizeof(m));
		rc = proto_server_recv(s->srv, &peer, &m, (int)left, &e);
		if (rc == CLOVER_ETIMEDOUT)
			return;
		if (rc != 0)
			continue;
		s->peer = peer;
		s->have_peer = true;
		on_msg(s, &m);
		if (left == 0)
			return;
	}
}

#define WAIT_FOR(s, cond)                                                                          \
	do {                                                                                       \
		int64_t end_ = time_mono_ms() + WAIT_MS;                                           \
		while (!(cond) && time_mono_ms() < end_)                                           \
			pump((s), 20);                                                             \
		if (!(cond))                                                                       \
			fail_msg("timed out waiting for %s", #cond);                              \
	} while (0)

static void dispatch(struct sched *s, int64_t run, int shard, int count, const char *spec,
                     const char *param)
{
	struct proto_dispatch_item d = {
		.run_id = run,
		.shard = shard,
		.attempt = 1,
		.ticket = ++s->ticket,
		.shard_count = count,
		.scheduled_at = 1700000000000,
		.job = "t",
		.spec = spec,
		.shard_param = param,
		.params = "{\"p\":1}",
	};
	struct proto_msg m;

	memset(&m, 0, sizeof(m));
	m.kind = PROTO_DISPATCH;
	m.dispatch.items = &d;
	m.dispatch.n = 1;
	sched_send(s, &m);
}

static struct got_result *result_of(struct sched *s, int64_t run)
{
	for (int i = 0; i < s->nresults; i++)
		if (s->results[i].run_id == run)
			return &s->results[i];
	return NULL;
}

static int count_results(struct sched *s, int64_t run)
{
	int n = 0;

	for (int i = 0; i < s->nresults; i++)
		n += s->results[i].run_id == run;
	return n;
}

/* ---- handlers ---- */

static int hello_handler(clover_ctx *ctx, void *userdata)
{
	int *calls = userdata;

	__atomic_fetch_add(calls, 1, __ATOMIC_SEQ_CST);
	clover_ctx_log(ctx, "hello from %s shard %d/%d param=%s params=%s attempt=%d run=%lld",
	               clover_ctx_job(ctx), clover_ctx_shard(ctx), clover_ctx_shard_count(ctx),
	               clover_ctx_shard_param(ctx) ? clover_ctx_shard_param(ctx) : "-",
	               clover_ctx_params(ctx) ? clover_ctx_params(ctx) : "-",
	               clover_ctx_attempt(ctx), (long long)clover_ctx_run_id(ctx));
	clover_ctx_log(ctx, "handler params=%s",
	               clover_ctx_handler_params(ctx) ? clover_ctx_handler_params(ctx) : "-");
	clover_ctx_progress(ctx, 0.42, "4200 rows");
	if (clover_ctx_scheduled_at(ctx) != 1700000000000)
		return clover_ctx_fail(ctx, "bad scheduled_at");
	if (clover_ctx_shard_param(ctx) && strcmp(clover_ctx_shard_param(ctx), "fail") == 0)
		return clover_ctx_fail(ctx, "asked to fail (%d)", 7);
	return 0;
}

static int sleepy_handler(clover_ctx *ctx, void *userdata)
{
	(void)userdata;
	for (int i = 0; i < 1000 && !clover_ctx_cancelled(ctx); i++)
		sleep_ms(10);
	return 0;
}

/* ---- the worker on a thread ---- */

struct runner {
	clover_worker *w;
	pthread_t thread;
	int rc;
	int calls;
};

static void *run_thread(void *arg)
{
	struct runner *r = arg;

	r->rc = clover_worker_run(r->w);
	return NULL;
}

static void worker_make(struct runner *r, struct sched *s, const struct proto_keypair *kp,
                        const char *spool, int capacity)
{
	const char *eps[] = {s->endpoint};
	const char *labels[] = {"zone=eu", "gpu=true"};
	clover_worker_options o = {
		.schedulers = eps,
		.nschedulers = 1,
		.server_key = s->key.pub.z85,
		.secret_key = kp->sec.z85,
		.labels = labels,
		.nlabels = 2,
		.capacity = capacity,
		.id = "w-1",
		.spool = spool,
	};

	memset(r, 0, sizeof(*r));
	assert_int_equal(clover_worker_new(&o, &r->w), 0);
	assert_int_equal(clover_worker_handle(r->w, "hello", hello_handler, &r->calls), 0);
	assert_int_equal(clover_worker_handle(r->w, "sleepy", sleepy_handler, NULL), 0);
}

static void worker_start(struct runner *r)
{
	assert_int_equal(pthread_create(&r->thread, NULL, run_thread, r), 0);
}

static void worker_join(struct runner *r)
{
	clover_worker_stop(r->w);
	pthread_join(r->thread, NULL);
	assert_int_equal(r->rc, 0);
}

static void spool_path(char *out, size_t n, const char *name)
{
	snprintf(out, n, "%s/%s", dir, name);
}

/* ---- tests ---- */

static void test_hello_and_runs(void **state)
{
	struct sched s;
	struct runner r;
	struct got_result *g;
	bool has_hello = false;

	(void)state;
	sched_up(&s);
	worker_make(&r, &s, &worker_key, NULL, 4);
	assert_int_equal(clover_worker_declare_job(r.w, HELLO_SPEC), 0);
	assert_int_equal(clover_worker_declare_job(r.w, "{\"name\":\"bad\"}"), CLOVER_EINVAL);
	assert_int_equal(clover_worker_handle(r.w, "hello", hello_handler, NULL), CLOVER_EEXIST);
	assert_int_equal(clover_worker_handle(r.w, "noop", hello_handler, NULL), CLOVER_EEXIST);
	worker_start(&r);

	WAIT_FOR(&s, s.hellos >= 1);
	assert_string_equal(s.hello.hello.executor_id, "w-1");
	assert_int_equal(s.hello.hello.capacity, 4);
	assert_int_equal(s.hello.hello.nlabels, 2);
	assert_string_equal(s.hello.hello.labels[0].key, "zone");
	assert_string_equal(s.hello.hello.labels[0].val, "eu");
	assert_string_equal(s.hello.hello.labels[1].key, "gpu");
	assert_int_equal(s.hello.hello.njobs, 1);
	assert_non_null(strstr(s.hello.hello.jobs[0], "\"t-hello\""));
	for (uint32_t i = 0; i < s.hello.hello.nhandlers; i++)
		has_hello |= strcmp(s.hello.hello.handlers[i], "hello") == 0;
	assert_true(has_hello);
	assert_int_equal(s.hello.hello.nrunning, 0);

	/* noop */
	dispatch(&s, 1, 0, 1, NOOP_SPEC, NULL);
	WAIT_FOR(&s, result_of(&s, 1) != NULL);
	g = result_of(&s, 1);
	assert_int_equal(g->state, RUN_SUCCEEDED);
	assert_int_equal(g->ticket, 1);
	assert_int_equal(s.acks[PROTO_ACK_ACCEPTED], 1);

	/* shell: output as log, exit code */
	dispatch(&s, 2, 1, 2, SHELL_SPEC, NULL);
	WAIT_FOR(&s, result_of(&s, 2) != NULL);
	g = result_of(&s, 2);
	assert_int_equal(g->state, RUN_FAILED);
	assert_int_equal(g->exit_code, 3);
	WAIT_FOR(&s, strstr(s.log, "out-1") != NULL);

	/* custom handler: log, progress, context */
	dispatch(&s, 3, 2, 3, HELLO_SPEC, "p2");
	WAIT_FOR(&s, result_of(&s, 3) != NULL);
	assert_int_equal(result_of(&s, 3)->state, RUN_SUCCEEDED);
	assert_non_null(strstr(s.log, "hello from t-hello shard 2/3 param=p2 params={\"p\":1} "
	                              "attempt=1 run=3"));
	assert_non_null(strstr(s.log, "handler params=hp\n"));
	assert_true(s.started >= 3);
	assert_true(s.fraction > 0.41 && s.fraction < 0.43);
	assert_string_equal(s.progress_msg, "4200 rows");

	/* a handler's error message */
	dispatch(&s, 4, 0, 1, HELLO_SPEC, "fail");
	WAIT_FOR(&s, result_of(&s, 4) != NULL);
	assert_int_equal(result_of(&s, 4)->state, RUN_FAILED);
	assert_string_equal(result_of(&s, 4)->message, "asked to fail (7)");

	/* unknown handler, bad spec, duplicate */
	dispatch(&s, 5, 0, 1, MISSING_SPEC, NULL);
	WAIT_FOR(&s, s.acks[PROTO_ACK_INVALID] == 1);
	assert_non_null(strstr(s.ack_msg, "no handler 'nope'"));
	dispatch(&s, 6, 0, 1, "{\"name\":\"x\"}", NULL);
	WAIT_FOR(&s, s.acks[PROTO_ACK_INVALID] == 2);
	dispatch(&s, 1, 0, 1, NOOP_SPEC, NULL); /* its result is acked: gone from the spool */
	dispatch(&s, 7, 0, 1, SLEEPY_SPEC, NULL);
	dispatch(&s, 7, 0, 1, SLEEPY_SPEC, NULL);
	WAIT_FOR(&s, s.acks[PROTO_ACK_DUPLICATE] == 1);

	/* kill */
	WAIT_FOR(&s, s.started >= 6);
	{
		struct proto_kill_item k = {7, 0, 1, 0, false};
		struct proto_msg m;

		memset(&m, 0, sizeof(m));
		m.kind = PROTO_KILL;
		m.kill.items = &k;
		m.kill.n = 1;
		sched_send(&s, &m);
	}
	WAIT_FOR(&s, result_of(&s, 7) != NULL);
	assert_int_equal(result_of(&s, 7)->state, RUN_CANCELLED);
	assert_int_equal(r.calls, 2);
	assert_int_equal(s.log_before_start, 0);

	/* heartbeats flow; every result was acknowledged */
	WAIT_FOR(&s, s.heartbeats >= 2);
	worker_join(&r);
	assert_int_equal(worker_pending(r.w), 0);
	{
		struct worker_stats st;

		worker_stats(r.w, &st);
		assert_int_equal(st.acked, st.results);
	}
	pump(&s, 200);
	assert_int_equal(s.byes, 1);
	assert_int_equal(s.bye_reason, PROTO_BYE_SHUTDOWN);
	clover_worker_free(r.w);
	sched_free(&s);
}

static void test_two_schedulers(void **state)
{
	struct sched a, b;
	struct runner r;

	(void)state;
	sched_up(&a);
	sched_up(&b);
	/* Both schedulers share one key pair, as in a cluster. */
	sched_down(&b);
	b.key = a.key;
	sched_bind(&b, "tcp://127.0.0.1:*");
	{
		const char *eps[] = {a.endpoint, b.endpoint};
		clover_worker_options o = {
			.schedulers = eps,
			.nschedulers = 2,
			.server_key = a.key.pub.z85,
			.secret_key = worker_key.sec.z85,
			.id = "w-2",
		};

		memset(&r, 0, sizeof(r));
		assert_int_equal(clover_worker_new(&o, &r.w), 0);
	}
	worker_start(&r);
	WAIT_FOR(&a, a.hellos >= 1);
	WAIT_FOR(&b, b.hellos >= 1);
	dispatch(&a, 70, 0, 1, NOOP_SPEC, NULL);
	dispatch(&b, 71, 0, 1, NOOP_SPEC, NULL);
	WAIT_FOR(&a, result_of(&a, 70) != NULL);
	WAIT_FOR(&b, result_of(&b, 71) != NULL);
	/* Each result went to the scheduler that dispatched it, and only there. */
	pump(&a, 200);
	pump(&b, 200);
	assert_null(result_of(&a, 71));
	assert_null(result_of(&b, 70));
	assert_int_equal(a.nresults, 1);
	assert_int_equal(b.nresults, 1);
	worker_join(&r);
	clover_worker_free(r.w);
	sched_free(&a);
	sched_free(&b);
}

static void test_drain(void **state)
{
	struct sched s;
	struct runner r;
	struct proto_msg m;

	(void)state;
	sched_up(&s);
	worker_make(&r, &s, &worker_key, NULL, 2);
	worker_start(&r);
	WAIT_FOR(&s, s.hellos >= 1);
	dispatch(&s, 10, 0, 1, SLEEPY_SPEC, NULL);
	WAIT_FOR(&s, s.started >= 1);
	memset(&m, 0, sizeof(m));
	m.kind = PROTO_DRAIN;
	m.drain.deadline_ms = 300; /* then what still runs is cancelled */
	sched_send(&s, &m);
	pump(&s, 50);
	dispatch(&s, 11, 0, 1, NOOP_SPEC, NULL);
	WAIT_FOR(&s, s.acks[PROTO_ACK_DRAINING] == 1);
	WAIT_FOR(&s, result_of(&s, 10) != NULL);
	assert_int_equal(result_of(&s, 10)->state, RUN_CANCELLED);
	WAIT_FOR(&s, s.byes == 1);
	assert_int_equal(s.bye_reason, PROTO_BYE_DRAINED);
	/* run() returned by itself */
	pthread_join(r.thread, NULL);
	assert_int_equal(r.rc, 0);
	assert_null(result_of(&s, 11));
	clover_worker_free(r.w);
	sched_free(&s);
}

static void test_self_drain(void **state)
{
	struct sched s;
	struct runner r;

	(void)state;
	sched_up(&s);
	worker_make(&r, &s, &worker_key, NULL, 2);
	worker_start(&r);
	WAIT_FOR(&s, s.hellos >= 1);
	dispatch(&s, 80, 0, 1,
	         "{\"name\":\"t-short\",\"schedule\":\"@every 1h\",\"run\":{\"shell\":\"sleep 0.3\"}}",
	         NULL);
	WAIT_FOR(&s, s.started >= 1);
	clover_worker_drain(r.w, -1); /* no limit: the shard finishes */
	WAIT_FOR(&s, s.draining_seen);
	dispatch(&s, 81, 0, 1, NOOP_SPEC, NULL);
	WAIT_FOR(&s, s.acks[PROTO_ACK_DRAINING] == 1);
	WAIT_FOR(&s, s.byes == 1);
	assert_int_equal(s.bye_reason, PROTO_BYE_DRAINED);
	assert_int_equal(result_of(&s, 80)->state, RUN_SUCCEEDED);
	pthread_join(r.thread, NULL); /* run() returned by itself */
	assert_int_equal(r.rc, 0);

	/* Again, with a grace period the shard outlives: it is cancelled. */
	worker_start(&r);
	WAIT_FOR(&s, s.hellos >= 2);
	dispatch(&s, 82, 0, 1, SLEEPY_SPEC, NULL);
	WAIT_FOR(&s, s.started >= 2);
	clover_worker_drain(r.w, 100);
	WAIT_FOR(&s, s.byes == 2);
	assert_int_equal(result_of(&s, 82)->state, RUN_CANCELLED);
	pthread_join(r.thread, NULL);
	assert_int_equal(r.rc, 0);
	clover_worker_free(r.w);
	sched_free(&s);
}

static void test_self_drain_alone(void **state)
{
	char spool[256];
	struct sched s;
	struct runner r;

	(void)state;
	spool_path(spool, sizeof(spool), "alone.spool");
	sched_up(&s);
	worker_make(&r, &s, &worker_key, spool, 2);
	worker_start(&r);
	WAIT_FOR(&s, s.hellos >= 1);
	dispatch(&s, 90, 0, 1,
	         "{\"name\":\"t-short\",\"schedule\":\"@every 1h\",\"run\":{\"shell\":\"sleep 0.3\"}}",
	         NULL);
	WAIT_FOR(&s, s.started >= 1);
	sched_down(&s);
	/* No scheduler to deliver to: it leaves once the shard is done, result spooled. */
	clover_worker_drain(r.w, -1);
	pthread_join(r.thread, NULL);
	assert_int_equal(r.rc, 0);
	assert_int_equal(worker_pending(r.w), 1);
	clover_worker_free(r.w);
	sched_free(&s);
	unlink(spool);
}

static void test_silent_scheduler(void **state)
{
	struct sched s;
	struct runner r;
	int64_t t0;

	(void)state;
	sched_up(&s);
	worker_make(&r, &s, &worker_key, NULL, 1);
	worker_start(&r);
	WAIT_FOR(&s, s.hellos >= 1);
	/* The scheduler stops sending: after dead_after (2 s) the worker says hello again. */
	s.welcomed = false;
	t0 = time_mono_ms();
	WAIT_FOR(&s, s.hellos >= 2);
	assert_true(time_mono_ms() - t0 >= 1500);
	dispatch(&s, 95, 0, 1, NOOP_SPEC, NULL);
	WAIT_FOR(&s, result_of(&s, 95) != NULL);

	/* Declared dead by the scheduler: hello again at once. */
	{
		struct proto_msg m;

		memset(&m, 0, sizeof(m));
		m.kind = PROTO_BYE;
		m.bye.reason = PROTO_BYE_TIMEOUT;
		sched_send(&s, &m);
		WAIT_FOR(&s, s.hellos >= 3);
		/* Refused: no new hello before REHELLO_MS (30 s). */
		m.bye.reason = PROTO_BYE_REFUSED;
		sched_send(&s, &m);
		pump(&s, 500);
		assert_int_equal(s.hellos, 3);
	}
	worker_join(&r);
	clover_worker_free(r.w);
	sched_free(&s);
}

static void test_unknown_key_refused(void **state)
{
	struct proto_keypair stranger = keypair();
	struct proto_server_stats st;
	struct sched s;
	struct runner r;

	(void)state;
	sched_up(&s);
	worker_make(&r, &s, &stranger, NULL, 1);
	worker_start(&r);
	{
		int64_t end = time_mono_ms() + WAIT_MS;

		do {
			pump(&s, 50);
			proto_server_stats(s.srv, &st);
		} while (st.refused == 0 && time_mono_ms() < end);
	}
	assert_true(st.refused >= 1);
	pump(&s, 300);
	assert_int_equal(s.hellos, 0);
	worker_join(&r);
	clover_worker_free(r.w);
	sched_free(&s);
}

static void test_scheduler_gone_and_back(void **state)
{
	char spool[256], endpoint[128];
	struct sched s;
	struct runner r;

	(void)state;
	spool_path(spool, sizeof(spool), "gone.spool");
	sched_up(&s);
	worker_make(&r, &s, &worker_key, spool, 2);
	worker_start(&r);
	WAIT_FOR(&s, s.hellos >= 1);
	dispatch(&s, 20, 0, 1, SLEEPY_SPEC, NULL);
	WAIT_FOR(&s, s.started >= 1);

	/* The scheduler goes away; then the worker stops, which cancels the shard. */
	snprintf(endpoint, sizeof(endpoint), "%s", s.endpoint);
	sched_down(&s);
	sleep_ms(200);
	worker_join(&r); /* cancels the shard; its result is spooled, undelivered */
	assert_int_equal(worker_pending(r.w), 1);

	/* Back, on the same port; the worker runs again and delivers once. */
	sched_bind(&s, endpoint);
	worker_start(&r);
	WAIT_FOR(&s, s.nresults >= 1);
	pump(&s, 500);
	assert_int_equal(count_results(&s, 20), 1);
	assert_int_equal(result_of(&s, 20)->state, RUN_CANCELLED);
	WAIT_FOR(&s, worker_pending(r.w) == 0);
	worker_join(&r);
	clover_worker_free(r.w);
	sched_free(&s);
	unlink(spool);
}

static void test_results_spooled_while_gone(void **state)
{
	char spool[256], endpoint[128];
	struct sched s;
	struct runner r;

	(void)state;
	spool_path(spool, sizeof(spool), "away.spool");
	sched_up(&s);
	s.auto_ack = false;
	worker_make(&r, &s, &worker_key, spool, 2);
	worker_start(&r);
	WAIT_FOR(&s, s.hellos >= 1);
	/* A shell shard that outlives the scheduler's presence, and writes then. */
	dispatch(&s, 30, 0, 1,
	         "{\"name\":\"t-wait\",\"schedule\":\"@every 1h\","
	         "\"run\":{\"shell\":\"sleep 1; echo said while away\"}}",
	         NULL);
	WAIT_FOR(&s, s.started >= 1);
	snprintf(endpoint, sizeof(endpoint), "%s", s.endpoint);
	sched_down(&s);
	/* The shard ends while no scheduler is there: its result waits in the spool. */
	{
		int64_t end = time_mono_ms() + WAIT_MS;

		while (worker_pending(r.w) != 1 && time_mono_ms() < end)
			sleep_ms(20);
	}
	assert_int_equal(worker_pending(r.w), 1);

	sched_bind(&s, endpoint);
	s.auto_ack = true;
	WAIT_FOR(&s, s.nresults >= 1);
	pump(&s, 500);
	assert_int_equal(count_results(&s, 30), 1);
	assert_int_equal(result_of(&s, 30)->state, RUN_SUCCEEDED);
	/* Its output, written while the scheduler was gone, came with it. */
	assert_non_null(strstr(s.log, "said while away"));
	assert_true(s.hellos >= 2);
	worker_join(&r);
	assert_int_equal(worker_pending(r.w), 0);
	clover_worker_free(r.w);
	sched_free(&s);
	unlink(spool);
}

static void test_restart_redelivers(void **state)
{
	char spool[256];
	struct sched s;
	struct runner r;
	int64_t first;

	(void)state;
	spool_path(spool, sizeof(spool), "restart.spool");
	sched_up(&s);
	s.auto_ack = false; /* results are received but never acknowledged */
	worker_make(&r, &s, &worker_key, spool, 2);
	worker_start(&r);
	WAIT_FOR(&s, s.hellos >= 1);
	dispatch(&s, 40, 0, 1, NOOP_SPEC, NULL);
	dispatch(&s, 41, 0, 1, NOOP_SPEC, NULL);
	WAIT_FOR(&s, s.nresults >= 2);
	first = s.results[0].run_id; /* they run at once: either may finish first */
	/* A re-dispatch of a finished, unacknowledged attempt: duplicate, result again. */
	dispatch(&s, 40, 0, 1, NOOP_SPEC, NULL);
	WAIT_FOR(&s, s.acks[PROTO_ACK_DUPLICATE] == 1 && s.nresults >= 4);
	assert_non_null(strstr(s.ack_msg, "sent again"));
	worker_join(&r);
	clover_worker_free(r.w);

	/* A new process on the same spool: the hello names both, both come again. */
	s.nresults = 0;
	s.auto_ack = true;
	worker_make(&r, &s, &worker_key, spool, 2);
	assert_int_equal(worker_pending(r.w), 2);
	worker_start(&r);
	WAIT_FOR(&s, s.hellos >= 2 && s.nresults >= 2);
	assert_int_equal(s.hello.hello.nrunning, 2);
	assert_int_equal(s.results[0].run_id, first); /* in the order they were stored */
	assert_int_equal(s.results[1].run_id, first == 40 ? 41 : 40);
	WAIT_FOR(&s, worker_pending(r.w) == 0);
	pump(&s, 300);
	assert_int_equal(s.nresults, 2);
	worker_join(&r);
	clover_worker_free(r.w);
	sched_free(&s);
	unlink(spool);
}

static void test_restart_reports_lost_shard(void **state)
{
	char spool[256];
	struct spool *sp = NULL;
	struct error_info e;
	struct sched s;
	struct runner r;

	(void)state;
	spool_path(spool, sizeof(spool), "crash.spool");
	sched_up(&s);
	/* What a process killed mid-shard leaves behind. */
	assert_int_equal(spool_open(spool, &sp, &e), 0);
	assert_int_equal(spool_inflight_put(sp, 50, 1, 2, 9, s.endpoint), 0);
	assert_int_equal(spool_inflight_started(sp, 50, 1, 2, 1234), 0);
	spool_close(sp);

	worker_make(&r, &s, &worker_key, spool, 2);
	assert_int_equal(worker_pending(r.w), 1);
	worker_start(&r);
	WAIT_FOR(&s, s.nresults >= 1);
	assert_int_equal(s.hello.hello.nrunning, 1);
	assert_int_equal(s.hello.hello.running[0].run_id, 50);
	assert_int_equal(s.results[0].run_id, 50);
	assert_int_equal(s.results[0].shard, 1);
	assert_int_equal(s.results[0].attempt, 2);
	assert_int_equal(s.results[0].ticket, 9);
	assert_int_equal(s.results[0].state, RUN_FAILED);
	assert_non_null(strstr(s.results[0].message, "executor stopped"));
	WAIT_FOR(&s, worker_pending(r.w) == 0);
	worker_join(&r);
	clover_worker_free(r.w);
	sched_free(&s);
	unlink(spool);
}

static void test_large_backlog(void **state)
{
	enum { BACKLOG = 10000 };
	char spool[256];
	struct spool *sp = NULL;
	struct error_info e;
	struct sched s;
	struct runner r;

	(void)state;
	spool_path(spool, sizeof(spool), "backlog.spool");
	sched_up(&s);
	/* More results than one resend chunk, left by an earlier process. */
	assert_int_equal(spool_open(spool, &sp, &e), 0);
	assert_int_equal(spool_begin(sp), 0);
	for (int i = 1; i <= BACKLOG; i++) {
		struct proto_result_item it = {.run_id = i,
		                               .attempt = 1,
		                               .state = RUN_SUCCEEDED,
		                               .finished_at = 1000};

		assert_int_equal(spool_result_put(sp, &it, NULL, NULL), 0);
	}
	assert_int_equal(spool_commit(sp), 0);
	spool_close(sp);

	worker_make(&r, &s, &worker_key, spool, 2);
	assert_int_equal(worker_pending(r.w), BACKLOG);
	worker_start(&r);
	WAIT_FOR(&s, s.total_results >= BACKLOG);
	WAIT_FOR(&s, worker_pending(r.w) == 0);
	pump(&s, 300);
	/* Every one once, oldest first. */
	assert_int_equal(s.total_results, BACKLOG);
	assert_int_equal(s.out_of_order, 0);
	worker_join(&r);
	clover_worker_free(r.w);
	sched_free(&s);
	unlink(spool);
}

static int command(int argc, char **argv)
{
	int saved = dup(2), null = open("/dev/null", O_WRONLY), saved_out = dup(1), rc;

	dup2(null, 2);
	dup2(null, 1);
	rc = daemon_worker_main(argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(saved, 2);
	dup2(saved_out, 1);
	close(saved);
	close(saved_out);
	close(null);
	return rc;
}

static void test_command_usage(void **state)
{
	char *help[] = {"worker", "--help", NULL};
	char *none[] = {"worker", NULL};
	char *cap[] = {"worker", "--scheduler", "tcp://127.0.0.1:1", "--server-key", "x",
	               "--key", "y", "--capacity", "0", NULL};
	char *unknown[] = {"worker", "--bogus", "1", NULL};
	char *dangling[] = {"worker", "--scheduler", NULL};
	char *nokey[] = {"worker", "--scheduler", "tcp://127.0.0.1:1", "--server-key",
	                 "/nonexistent.pub", "--key", "/nonexistent", "--spool", ":memory:", NULL};

	(void)state;
	assert_int_equal(command(2, help), 0);
	assert_int_equal(command(1, none), 2);
	assert_int_equal(command(9, cap), 2);
	assert_int_equal(command(3, unknown), 2);
	assert_int_equal(command(2, dangling), 2);
	assert_int_equal(command(9, nokey), 1);
}

struct cmd_run {
	pthread_t thread;
	char *argv[32];
	int argc;
	int rc;
};

static void *cmd_thread(void *arg)
{
	struct cmd_run *c = arg;

	c->rc = daemon_worker_main(c->argc, c->argv);
	return NULL;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_command_runs(void **state)
{
	char base[256], spub[256], jobs[256], spool[256];
	struct proto_keypair server_only;
	struct cmd_run c;
	struct error_info e;
	struct sched s;

	(void)state;
	sched_up(&s);
	snprintf(base, sizeof(base), "%s/cmdkey", dir);
	snprintf(spub, sizeof(spub), "%s/sched", dir);
	assert_int_equal(proto_keypair_write(base, &worker_key, true, &e), 0);
	server_only = s.key;
	assert_int_equal(proto_keypair_write(spub, &server_only, true, &e), 0);
	snprintf(spub, sizeof(spub), "%s/sched.pub", dir);
	snprintf(jobs, sizeof(jobs), "%s/jobs.json", dir);
	write_file(jobs, "[" NOOP_SPEC ", " SHELL_SPEC "]");
	spool_path(spool, sizeof(spool), "cmd.spool");

	/* An invalid declared job, or a file that is not JSON, stops it at start. */
	{
		char bad[256];
		char *args[] = {"worker", "--scheduler", s.endpoint, "--server-key", spub,
		                "--key", base, "--spool", ":memory:", "--jobs", bad};

		snprintf(bad, sizeof(bad), "%s/bad.json", dir);
		write_file(bad, "[" NOOP_SPEC ", {\"name\":\"no-schedule\"}]");
		assert_int_equal(command(11, args), 1);
		write_file(bad, "not json");
		assert_int_equal(command(11, args), 1);
		write_file(bad, "42");
		assert_int_equal(command(11, args), 1);
		unlink(bad);
	}

	memset(&c, 0, sizeof(c));
	{
		char *args[] = {"worker", "--scheduler", s.endpoint, "--server-key", spub,
		                "--key", base, "--label", "zone=us", "--capacity", "3",
		                "--id", "cmd-1", "--spool", spool, "--jobs", jobs,
		                "--log-level", "warn", "--drain-grace", "5s"};

		c.argc = (int)(sizeof(args) / sizeof(args[0]));
		memcpy(c.argv, args, sizeof(args));
	}
	assert_int_equal(pthread_create(&c.thread, NULL, cmd_thread, &c), 0);
	WAIT_FOR(&s, s.hellos >= 1);
	assert_string_equal(s.hello.hello.executor_id, "cmd-1");
	assert_int_equal(s.hello.hello.capacity, 3);
	assert_int_equal(s.hello.hello.nlabels, 1);
	assert_string_equal(s.hello.hello.labels[0].val, "us");
	assert_int_equal(s.hello.hello.njobs, 2);
	assert_non_null(strstr(s.hello.hello.jobs[1], "t-shell"));
	dispatch(&s, 60, 0, 1, NOOP_SPEC, NULL);
	WAIT_FOR(&s, result_of(&s, 60) != NULL);
	assert_int_equal(result_of(&s, 60)->state, RUN_SUCCEEDED);

	/* SIGTERM drains through the handler (async-signal-safe): the running
	 * shard finishes and is delivered, then the command returns. */
	dispatch(&s, 61, 0, 1,
	         "{\"name\":\"t-short\",\"schedule\":\"@every 1h\",\"run\":{\"shell\":\"sleep 0.3\"}}",
	         NULL);
	WAIT_FOR(&s, s.started >= 2);
	kill(getpid(), SIGTERM);
	WAIT_FOR(&s, s.byes >= 1);
	pthread_join(c.thread, NULL);
	assert_int_equal(c.rc, 0);
	assert_int_equal(s.bye_reason, PROTO_BYE_DRAINED);
	assert_non_null(result_of(&s, 61));
	assert_int_equal(result_of(&s, 61)->state, RUN_SUCCEEDED);
	sched_free(&s);
	unlink(spool);
	snprintf(base, sizeof(base), "%s/cmdkey.key", dir);
	unlink(base);
	snprintf(base, sizeof(base), "%s/cmdkey.pub", dir);
	unlink(base);
	snprintf(base, sizeof(base), "%s/sched.key", dir);
	unlink(base);
	unlink(spub);
	unlink(jobs);
}

static void test_options(void **state)
{
	const char *eps[] = {"tcp://127.0.0.1:1"};
	const char *bad_labels[] = {"novalue"};
	struct proto_keypair srv = keypair();
	clover_worker_options o = {
		.schedulers = eps,
		.nschedulers = 1,
		.server_key = srv.pub.z85,
		.secret_key = worker_key.sec.z85,
	};
	clover_worker *w = (clover_worker *)1;

	(void)state;
	assert_int_equal(clover_worker_new(NULL, &w), CLOVER_EINVAL);
	o.nschedulers = 0;
	assert_int_equal(clover_worker_new(&o, &w), CLOVER_EINVAL);
	assert_null(w);
	o.nschedulers = 1;
	o.labels = bad_labels;
	o.nlabels = 1;
	assert_int_equal(clover_worker_new(&o, &w), CLOVER_EINVAL);
	o.nlabels = 0;
	o.id = "has space";
	assert_int_equal(clover_worker_new(&o, &w), CLOVER_EINVAL);
	o.id = NULL;
	o.server_key = "short";
	assert_int_equal(clover_worker_new(&o, &w), CLOVER_EINVAL);
	o.server_key = srv.pub.z85;
	o.capacity = -1;
	assert_int_equal(clover_worker_new(&o, &w), CLOVER_EINVAL);
	o.capacity = 0;
	o.secret_key = NULL;
	assert_int_equal(clover_worker_new(&o, &w), CLOVER_EINVAL);
	o.secret_key = worker_key.sec.z85;
	assert_int_equal(clover_worker_new(&o, &w), 0);
	/* A stop before run makes run return at once. */
	clover_worker_stop(w);
	assert_int_equal(clover_worker_run(w), 0);
	clover_worker_free(w);
	clover_worker_free(NULL);
	clover_worker_stop(NULL);
}

static int group_setup(void **state)
{
	(void)state;
	log_set_level(LOG_LVL_WARN);
	worker_key = keypair();
	snprintf(dir, sizeof(dir), "/tmp/clover-worker-test-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	return 0;
}

static int group_teardown(void **state)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	(void)state;
	/* What a failed test left behind (spools and their WAL files). */
	while (d != NULL && (de = readdir(d)) != NULL) {
		char p[512];

		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		unlink(p);
	}
	if (d != NULL)
		closedir(d);
	rmdir(dir);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_options),
		cmocka_unit_test(test_hello_and_runs),
		cmocka_unit_test(test_two_schedulers),
		cmocka_unit_test(test_drain),
		cmocka_unit_test(test_self_drain),
		cmocka_unit_test(test_self_drain_alone),
		cmocka_unit_test(test_silent_scheduler),
		cmocka_unit_test(test_unknown_key_refused),
		cmocka_unit_test(test_scheduler_gone_and_back),
		cmocka_unit_test(test_results_spooled_while_gone),
		cmocka_unit_test(test_restart_redelivers),
		cmocka_unit_test(test_restart_reports_lost_shard),
		cmocka_unit_test(test_large_backlog),
		cmocka_unit_test(test_command_usage),
		cmocka_unit_test(test_command_runs),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
