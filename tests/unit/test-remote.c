/* SPDX-License-Identifier: MIT */
/*
 * The scheduler's remote thread (src/daemon/remote.c) against a real
 * executor-side proto_client over CURVE on tcp://127.0.0.1: hello gets a
 * welcome and a join, the executor shows in the snapshot, dispatches staged
 * by the engine thread arrive batched with tickets, a result reaches the
 * daemon's hook and its result-ack comes back only after remote_applied(),
 * a silent executor is declared lost (leave) after the configured timeout,
 * a bye leaves at once, an unknown key is refused, a malformed frame is
 * dropped while serving goes on, and a reconnection of the same executor
 * takes its session over without a leave.
 */
#include "daemon/remote.h"

#include "base/time.h"
#include "core/job.h"
#include "proto/zmq.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#define WAIT_MS 5000

/* What the hooks saw (they run on the remote thread). */
struct seen {
	pthread_mutex_t mu;
	int joins, leaves, results, refused, started;
	char join_id[130], join_labels[256], leave_id[130], result_id[130];
	uint32_t result_ticket;
	int64_t result_run;
	enum run_state result_state;
	int64_t leave_at;
};

static void h_join(void *ctx, const char *id, const char *const *labels, size_t n, int capacity,
		   const struct proto_ref *running, size_t nrunning)
{
	struct seen *s = ctx;

	(void)running, (void)nrunning;
	pthread_mutex_lock(&s->mu);
	s->joins++;
	snprintf(s->join_id, sizeof(s->join_id), "%s", id);
	snprintf(s->join_labels, sizeof(s->join_labels), "%s/%zu/%d", n ? labels[0] : "", n,
		 capacity);
	pthread_mutex_unlock(&s->mu);
}

static void h_leave(void *ctx, const char *id)
{
	struct seen *s = ctx;

	pthread_mutex_lock(&s->mu);
	s->leaves++;
	s->leave_at = time_mono_ms();
	snprintf(s->leave_id, sizeof(s->leave_id), "%s", id);
	pthread_mutex_unlock(&s->mu);
}

static void h_started(void *ctx, int64_t run_id, int shard, int attempt, int64_t at)
{
	struct seen *s = ctx;

	(void)run_id, (void)shard, (void)attempt, (void)at;
	pthread_mutex_lock(&s->mu);
	s->started++;
	pthread_mutex_unlock(&s->mu);
}

static void h_finished(void *ctx, const char *id, uint32_t ticket, int64_t run_id, int shard,
		       int attempt, enum run_state state, int exit_code, const char *message,
		       int64_t at)
{
	struct seen *s = ctx;

	(void)shard, (void)attempt, (void)exit_code, (void)message, (void)at;
	pthread_mutex_lock(&s->mu);
	s->results++;
	snprintf(s->result_id, sizeof(s->result_id), "%s", id);
	s->result_ticket = ticket;
	s->result_run = run_id;
	s->result_state = state;
	pthread_mutex_unlock(&s->mu);
}

static void h_refused(void *ctx, int64_t run_id, int shard, int attempt, const char *why)
{
	struct seen *s = ctx;

	(void)run_id, (void)shard, (void)attempt, (void)why;
	pthread_mutex_lock(&s->mu);
	s->refused++;
	pthread_mutex_unlock(&s->mu);
}

static int count_of(struct seen *s, const int *field)
{
	int v;

	pthread_mutex_lock(&s->mu);
	v = *field;
	pthread_mutex_unlock(&s->mu);
	return v;
}

static void wait_count(struct seen *s, const int *field, int want)
{
	int64_t end = time_mono_ms() + WAIT_MS;

	while (count_of(s, field) < want) {
		struct timespec ts = {0, 5 * 1000000L};

		assert_true(time_mono_ms() < end);
		nanosleep(&ts, NULL);
	}
}

/* Waits for a client message (link events skipped). */
static void wait_msg(struct proto_client *c, struct proto_client_event *ev)
{
	int64_t end = time_mono_ms() + WAIT_MS;
	struct error_info e;

	for (;;) {
		int rc;

		assert_true(time_mono_ms() < end);
		rc = proto_client_recv(c, ev, 100, &e);
		if (rc == CLOVER_ETIMEDOUT)
			continue;
		assert_int_equal(rc, 0);
		if (ev->kind == PROTO_CLIENT_MSG && ev->msg.kind != PROTO_HEARTBEAT)
			return;
		if (ev->kind == PROTO_CLIENT_MSG)
			proto_msg_clear(&ev->msg);
	}
}

static void wait_link(struct proto_client *c, enum proto_client_event_kind kind)
{
	int64_t end = time_mono_ms() + WAIT_MS;
	struct proto_client_event ev;
	struct error_info e;

	for (;;) {
		assert_true(time_mono_ms() < end);
		if (proto_client_recv(c, &ev, 100, &e) != 0)
			continue;
		if (ev.kind == PROTO_CLIENT_MSG)
			proto_msg_clear(&ev.msg);
		if (ev.kind == kind)
			return;
	}
}

struct fixture {
	char dir[64], base[128], keys[128];
	struct proto_keypair sched, exec;
	struct seen seen;
	struct remote *r;
	struct proto_client *cli;
};

static void setup(struct fixture *f, int64_t dead_after_ms)
{
	struct remote_options o = {0};
	struct error_info e;
	FILE *kf;
	const char *ep;

	memset(f, 0, sizeof(*f));
	pthread_mutex_init(&f->seen.mu, NULL);
	snprintf(f->dir, sizeof(f->dir), "/tmp/clover-remote-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->base, sizeof(f->base), "%s/sched", f->dir);
	snprintf(f->keys, sizeof(f->keys), "%s/executors.keys", f->dir);
	assert_int_equal(proto_keygen(&f->sched), 0);
	assert_int_equal(proto_keygen(&f->exec), 0);
	assert_int_equal(proto_keypair_write(f->base, &f->sched, false, &e), 0);
	kf = fopen(f->keys, "w");
	assert_non_null(kf);
	fprintf(kf, "%s e1\n", f->exec.pub.z85);
	fclose(kf);
	o.listen = "127.0.0.1:*";
	o.server_key = f->base;
	o.executor_keys = f->keys;
	o.dead_after_ms = dead_after_ms;
	o.hooks = (struct remote_hooks){.ctx = &f->seen,
					.join = h_join,
					.leave = h_leave,
					.started = h_started,
					.finished = h_finished,
					.refused = h_refused};
	if (remote_start(&o, &f->r, &e))
		fail_msg("remote_start: %s", e.message);
	ep = remote_endpoint(f->r);
	assert_int_equal(proto_client_new(&ep, 1, &f->exec.sec, &f->sched.pub, &f->cli, &e), 0);
	wait_link(f->cli, PROTO_CLIENT_UP);
}

static void teardown(struct fixture *f)
{
	char cmd[128];

	proto_client_free(f->cli);
	remote_stop(f->r);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	pthread_mutex_destroy(&f->seen.mu);
}

static void say_hello(struct fixture *f)
{
	struct proto_kv labels[] = {{"zone", "a"}};
	struct proto_msg m = {.kind = PROTO_HELLO};
	struct proto_client_event ev;

	m.hello.min_version = 1;
	m.hello.max_version = 1;
	m.hello.executor_id = "e1";
	m.hello.host = "box";
	m.hello.software = "clover test";
	m.hello.capacity = 4;
	m.hello.labels = labels;
	m.hello.nlabels = 1;
	assert_int_equal(proto_client_send(f->cli, 0, &m), 0);
	wait_msg(f->cli, &ev);
	assert_int_equal(ev.msg.kind, PROTO_WELCOME);
	assert_int_equal(ev.msg.welcome.version, 1);
	proto_msg_clear(&ev.msg);
	wait_count(&f->seen, &f->seen.joins, 1);
}

static void hello_dispatch_result_ack(void **state)
{
	struct fixture f;
	struct remote_executor x[4];
	struct job_spec *spec;
	struct error_info e;
	struct proto_client_event ev;
	const char *json = "{\"name\":\"j1\",\"schedule\":\"@manual\",\"run\":{\"shell\":\"true\"}}";
	struct engine_action a = {.kind = ENGINE_ACT_DISPATCH};
	struct proto_result_item res = {0};
	struct proto_msg m = {.kind = PROTO_RESULT};
	uint32_t ticket;

	(void)state;
	setup(&f, 0);
	say_hello(&f);
	assert_string_equal(f.seen.join_id, "e1");
	assert_string_equal(f.seen.join_labels, "zone=a/1/4");
	assert_int_equal(remote_executors(f.r, x, 4), 1);
	assert_string_equal(x[0].id, "e1");
	assert_string_equal(x[0].host, "box");
	assert_string_equal(x[0].labels, "zone=a");
	assert_string_equal(x[0].version, "clover test");
	assert_string_equal(x[0].state, "active");
	assert_int_equal(x[0].capacity, 4);

	/* Two dispatches staged in one engine pass arrive in one frame. */
	assert_int_equal(job_spec_parse(json, strlen(json), &spec, &e), 0);
	a.run_id = 7;
	a.shard_count = 2;
	a.attempt = 1;
	a.spec = spec;
	a.params = "{\"x\":1}";
	a.executor = "e1";
	assert_int_equal(remote_dispatch(f.r, &a), 0);
	a.shard = 1;
	assert_int_equal(remote_dispatch(f.r, &a), 0);
	/* Unknown executors are dropped (their leave fails the shard over). */
	a.executor = "nobody";
	assert_int_equal(remote_dispatch(f.r, &a), 0);
	job_spec_unref(spec); /* the staged items hold references */
	remote_flush(f.r);
	wait_msg(f.cli, &ev);
	assert_int_equal(ev.msg.kind, PROTO_DISPATCH);
	assert_int_equal(ev.msg.dispatch.n, 2);
	assert_string_equal(ev.msg.dispatch.items[0].job, "j1");
	assert_string_equal(ev.msg.dispatch.items[0].params, "{\"x\":1}");
	assert_int_equal(ev.msg.dispatch.items[1].shard, 1);
	assert_true(ev.msg.dispatch.items[0].ticket != ev.msg.dispatch.items[1].ticket);
	ticket = ev.msg.dispatch.items[0].ticket;
	proto_msg_clear(&ev.msg);

	/* The result reaches the daemon; its ack waits for remote_applied(). */
	res = (struct proto_result_item){.run_id = 7,
					 .shard = 0,
					 .attempt = 1,
					 .ticket = ticket,
					 .state = RUN_SUCCEEDED,
					 .exit_code = 0,
					 .finished_at = 1000};
	m.result.items = &res;
	m.result.n = 1;
	assert_int_equal(proto_client_send(f.cli, 0, &m), 0);
	wait_count(&f.seen, &f.seen.results, 1);
	assert_string_equal(f.seen.result_id, "e1");
	assert_int_equal(f.seen.result_ticket, ticket);
	assert_int_equal(f.seen.result_run, 7);
	assert_int_equal(f.seen.result_state, RUN_SUCCEEDED);
	assert_int_equal(remote_applied(f.r, "e1", ticket, 7, 0, 1, false), 0);
	assert_int_equal(remote_applied(f.r, "e1", ticket + 5, 7, 1, 1, true), 0);
	remote_flush(f.r);
	wait_msg(f.cli, &ev);
	assert_int_equal(ev.msg.kind, PROTO_RESULT_ACK);
	assert_int_equal(ev.msg.result_ack.n, 2);
	assert_int_equal(ev.msg.result_ack.items[0].ticket, ticket);
	assert_int_equal(ev.msg.result_ack.items[0].status, PROTO_RACK_RECORDED);
	assert_int_equal(ev.msg.result_ack.items[1].status, PROTO_RACK_STALE);
	proto_msg_clear(&ev.msg);

	/* Drain: the executor is told; bye leaves at once. */
	assert_int_equal(remote_drain(f.r, "nobody"), CLOVER_ENOENT);
	assert_int_equal(remote_drain(f.r, "e1"), 0);
	wait_msg(f.cli, &ev);
	assert_int_equal(ev.msg.kind, PROTO_DRAIN);
	proto_msg_clear(&ev.msg);
	m = (struct proto_msg){.kind = PROTO_BYE};
	m.bye.reason = PROTO_BYE_DRAINED;
	assert_int_equal(proto_client_send(f.cli, 0, &m), 0);
	wait_count(&f.seen, &f.seen.leaves, 1);
	assert_string_equal(f.seen.leave_id, "e1");
	assert_int_equal(remote_executors(f.r, x, 4), 0);
	teardown(&f);
}

static void silent_executor_is_lost(void **state)
{
	struct fixture f;
	int64_t t0;

	(void)state;
	setup(&f, 300);
	say_hello(&f);
	t0 = time_mono_ms();
	/* The client never answers heartbeats: lost after 300 ms of silence. */
	wait_count(&f.seen, &f.seen.leaves, 1);
	assert_true(f.seen.leave_at - t0 >= 250);
	assert_true(f.seen.leave_at - t0 < 2000);
	assert_string_equal(f.seen.leave_id, "e1");
	teardown(&f);
}

static void unknown_key_refused(void **state)
{
	struct fixture f;
	struct proto_keypair other;
	struct proto_client *c2;
	struct error_info e;
	const char *ep;

	(void)state;
	setup(&f, 0);
	assert_int_equal(proto_keygen(&other), 0);
	ep = remote_endpoint(f.r);
	assert_int_equal(proto_client_new(&ep, 1, &other.sec, &f.sched.pub, &c2, &e), 0);
	wait_link(c2, PROTO_CLIENT_REFUSED);
	proto_client_free(c2);
	assert_int_equal(count_of(&f.seen, &f.seen.joins), 0);
	teardown(&f);
}

static void frames_before_hello_get_bye(void **state)
{
	struct fixture f;
	struct proto_msg m = {.kind = PROTO_HEARTBEAT};
	struct proto_client_event ev;

	(void)state;
	setup(&f, 0);
	assert_int_equal(proto_client_send(f.cli, 0, &m), 0);
	wait_msg(f.cli, &ev);
	assert_int_equal(ev.msg.kind, PROTO_BYE);
	assert_int_equal(ev.msg.bye.reason, PROTO_BYE_NO_SESSION);
	proto_msg_clear(&ev.msg);
	teardown(&f);
}

static void malformed_frame_is_dropped_and_serving_goes_on(void **state)
{
	struct fixture f;
	static const unsigned char junk[] = {0xCB, 0x01, 0x63, 0xFF, 0xFF};

	(void)state;
	setup(&f, 0);
	assert_int_equal(proto_client_send_frame(f.cli, 0, junk, sizeof(junk)), 0);
	/* The next hello is served as usual. */
	say_hello(&f);
	assert_int_equal(count_of(&f.seen, &f.seen.joins), 1);
	teardown(&f);
}

static void reconnection_takes_over_without_a_leave(void **state)
{
	struct fixture f;
	struct proto_client *c2;
	struct remote_executor x[4];
	struct error_info e;
	const char *ep;

	(void)state;
	setup(&f, 0);
	say_hello(&f);
	/* The same executor (id and key) on a new connection, as after a network cut. */
	ep = remote_endpoint(f.r);
	assert_int_equal(proto_client_new(&ep, 1, &f.exec.sec, &f.sched.pub, &c2, &e), 0);
	wait_link(c2, PROTO_CLIENT_UP);
	{
		struct proto_client *first = f.cli;

		f.cli = c2;
		say_hello(&f); /* waits for the welcome; joins stays 1 */
		f.cli = first;
	}
	assert_int_equal(count_of(&f.seen, &f.seen.joins), 1);
	assert_int_equal(count_of(&f.seen, &f.seen.leaves), 0);
	assert_int_equal(remote_executors(f.r, x, 4), 1);
	proto_client_free(c2);
	teardown(&f);
}

static void dispatch_to_a_closed_connection_is_refused(void **state)
{
	struct fixture f;
	struct job_spec *spec;
	struct error_info e;
	const char *json = "{\"name\":\"j1\",\"schedule\":\"@manual\",\"run\":{\"shell\":\"true\"}}";
	struct engine_action a = {.kind = ENGINE_ACT_DISPATCH};
	struct timespec ts = {0, 200 * 1000000L};

	(void)state;
	setup(&f, 0); /* 3 s until declared dead: the send fails first */
	say_hello(&f);
	proto_client_free(f.cli);
	f.cli = NULL;
	nanosleep(&ts, NULL); /* the ROUTER sees the disconnection */
	assert_int_equal(job_spec_parse(json, strlen(json), &spec, &e), 0);
	a.run_id = 9;
	a.shard_count = 1;
	a.attempt = 1;
	a.spec = spec;
	a.executor = "e1";
	assert_int_equal(remote_dispatch(f.r, &a), 0);
	job_spec_unref(spec);
	remote_flush(f.r);
	/* Not delivered: back to the engine's routing, not left hanging. */
	wait_count(&f.seen, &f.seen.refused, 1);
	assert_int_equal(count_of(&f.seen, &f.seen.leaves), 0);
	teardown(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(hello_dispatch_result_ack),
		cmocka_unit_test(silent_executor_is_lost),
		cmocka_unit_test(unknown_key_refused),
		cmocka_unit_test(frames_before_hello_get_bye),
		cmocka_unit_test(malformed_frame_is_dropped_and_serving_goes_on),
		cmocka_unit_test(reconnection_takes_over_without_a_leave),
		cmocka_unit_test(dispatch_to_a_closed_connection_is_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
