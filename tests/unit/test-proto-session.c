/* SPDX-License-Identifier: MIT */
/*
 * The session state machine and liveness (src/proto/session.c), on a virtual
 * clock: the executor's hello / welcome / heartbeat cycle and hello resends;
 * a silent peer declared dead exactly dead_after_ms after its last frame and
 * reported once; any frame counting as a sign of life and as a heartbeat;
 * kinds refused in the wrong state or direction; drain, bye, no_session and
 * re-hello after a reconnection; and a seeded simulation with random jitter
 * checking that a peer is dead if and only if a gap reached dead_after_ms.
 */
#include "proto/session.h"

#include "clover.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <setjmp.h>
#include <cmocka.h>

static struct proto_msg msg(enum proto_kind k)
{
	struct proto_msg m;

	memset(&m, 0, sizeof(m));
	m.kind = k;
	switch (k) {
	case PROTO_WELCOME:
		m.welcome = (struct proto_welcome){1, "s1", 1, 1000, 3000};
		break;
	case PROTO_HELLO:
		m.hello.min_version = m.hello.max_version = 1;
		m.hello.executor_id = "e1";
		m.hello.capacity = 4;
		break;
	default:
		break;
	}
	return m;
}

static struct proto_msg bye(enum proto_bye_reason r)
{
	struct proto_msg m = msg(PROTO_BYE);

	m.bye.reason = r;
	return m;
}

/* Drives a scheduler session into ACTIVE at `now`. */
static void sched_active(struct proto_session *s, int64_t now)
{
	struct proto_msg h = msg(PROTO_HELLO), w = msg(PROTO_WELCOME);

	proto_session_init(s, PROTO_ROLE_SCHEDULER, 1000, 3000, now);
	assert_int_equal(proto_session_recv(s, &h, now, NULL), 0);
	assert_int_equal(s->state, PROTO_SESS_HELLO);
	assert_int_equal(proto_session_send(s, &w, now), 0);
	assert_int_equal(s->state, PROTO_SESS_ACTIVE);
}

static void test_executor_cycle(void **state)
{
	struct proto_session s;
	struct proto_msg h = msg(PROTO_HELLO), w = msg(PROTO_WELCOME), hb = msg(PROTO_HEARTBEAT);

	(void)state;
	proto_session_init(&s, PROTO_ROLE_EXECUTOR, 0, 0, 0);
	assert_int_equal(s.heartbeat_ms, PROTO_HEARTBEAT_MS);
	assert_int_equal(s.dead_after_ms, PROTO_DEAD_AFTER_MS);
	assert_int_equal(proto_session_poll(&s, 0), PROTO_DUE_HELLO);
	assert_int_equal(proto_session_next(&s), 0);
	/* nothing but hello and bye before the welcome */
	assert_int_equal(proto_session_send(&s, &hb, 0), CLOVER_ESTATE);
	assert_int_equal(proto_session_send(&s, &h, 10), 0);
	assert_int_equal(s.state, PROTO_SESS_HELLO);
	assert_int_equal(proto_session_poll(&s, 3009), 0);
	assert_int_equal(proto_session_next(&s), 3010);
	/* unanswered for dead_after: send it again; not dead, just waiting */
	assert_int_equal(proto_session_poll(&s, 3010), PROTO_DUE_HELLO);
	assert_int_equal(proto_session_send(&s, &h, 3010), 0);
	assert_int_equal(proto_session_poll(&s, 3011), 0);
	/* the welcome sets the timings and the version */
	w.welcome.heartbeat_ms = 500;
	w.welcome.dead_after_ms = 2000;
	assert_int_equal(proto_session_recv(&s, &w, 3100, NULL), 0);
	assert_int_equal(s.state, PROTO_SESS_ACTIVE);
	assert_int_equal(s.version, 1);
	assert_int_equal(s.heartbeat_ms, 500);
	assert_int_equal(s.dead_after_ms, 2000);
	assert_int_equal(proto_session_next(&s), 3600);
	assert_int_equal(proto_session_poll(&s, 3599), 0);
	assert_int_equal(proto_session_poll(&s, 3600), PROTO_DUE_HEARTBEAT);
	proto_session_heartbeat(&s, &hb, 1767225600000, 2, 4, false);
	assert_int_equal(hb.kind, PROTO_HEARTBEAT);
	assert_int_equal(hb.heartbeat.seq, 0);
	assert_int_equal(hb.heartbeat.running, 2);
	assert_int_equal(proto_session_send(&s, &hb, 3600), 0);
	proto_session_heartbeat(&s, &hb, 1767225600000, 2, 4, false);
	assert_int_equal(hb.heartbeat.seq, 1);
	assert_int_equal(proto_session_poll(&s, 3700), 0);
	/* next is the earlier of the next heartbeat and death */
	assert_int_equal(proto_session_next(&s), 4100);
	assert_int_equal(proto_session_recv(&s, &hb, 3900, NULL), 0);
	assert_int_equal(proto_session_next(&s), 4100);
}

static void test_dead_after_silence(void **state)
{
	struct proto_session s;
	struct proto_msg hb = msg(PROTO_HEARTBEAT);
	int64_t t;

	(void)state;
	sched_active(&s, 0);
	for (t = 1000; t <= 5000; t += 1000) {
		assert_int_equal(proto_session_recv(&s, &hb, t, NULL), 0);
		assert_int_equal(proto_session_poll(&s, t) & PROTO_DUE_DEAD, 0);
		assert_int_equal(proto_session_send(&s, &hb, t), 0);
	}
	/* the last frame came at 5000: dead at 8000, not a millisecond earlier */
	assert_int_equal(proto_session_poll(&s, 7999), PROTO_DUE_HEARTBEAT);
	assert_int_equal(s.state, PROTO_SESS_ACTIVE);
	assert_int_equal(proto_session_next(&s), 6000);
	assert_int_equal(proto_session_send(&s, &hb, 7999), 0);
	assert_int_equal(proto_session_next(&s), 8000);
	assert_int_equal(proto_session_poll(&s, 8000), PROTO_DUE_DEAD);
	assert_int_equal(s.state, PROTO_SESS_DEAD);
	assert_string_equal(proto_session_state_name(s.state), "dead");
	/* reported once */
	assert_int_equal(proto_session_poll(&s, 9000), 0);
	assert_int_equal(proto_session_next(&s), INT64_MAX);
	/* a late frame does not revive it; a hello does */
	assert_int_equal(proto_session_recv(&s, &hb, 9100, NULL), CLOVER_EPROTO);
	assert_int_equal(s.state, PROTO_SESS_DEAD);
	assert_int_equal(s.heard, 5000);
	{
		struct proto_msg h = msg(PROTO_HELLO), w = msg(PROTO_WELCOME);

		assert_int_equal(proto_session_recv(&s, &h, 9200, NULL), 0);
		assert_int_equal(s.state, PROTO_SESS_HELLO);
		assert_int_equal(proto_session_send(&s, &w, 9200), 0);
		assert_int_equal(s.state, PROTO_SESS_ACTIVE);
		assert_int_equal(proto_session_poll(&s, 12199) & PROTO_DUE_DEAD, 0);
		assert_int_equal(proto_session_poll(&s, 12200), PROTO_DUE_DEAD);
	}
}

/* A scheduler that never welcomes a hello gives up on it after dead_after too. */
static void test_unwelcomed_hello_dies(void **state)
{
	struct proto_session s;
	struct proto_msg h = msg(PROTO_HELLO);

	(void)state;
	proto_session_init(&s, PROTO_ROLE_SCHEDULER, 1000, 3000, 0);
	assert_int_equal(proto_session_poll(&s, 100000), 0); /* IDLE: nothing to do */
	assert_int_equal(proto_session_next(&s), INT64_MAX);
	assert_int_equal(proto_session_recv(&s, &h, 100, NULL), 0);
	assert_int_equal(proto_session_next(&s), 3100);
	assert_int_equal(proto_session_poll(&s, 3100), PROTO_DUE_DEAD);
}

static void test_any_frame_is_a_sign_of_life(void **state)
{
	struct proto_session sched, exec;
	struct proto_msg res = msg(PROTO_RESULT), h = msg(PROTO_HELLO), w = msg(PROTO_WELCOME);
	struct proto_msg hb;
	int beats = 0;

	(void)state;
	sched_active(&sched, 0);
	proto_session_init(&exec, PROTO_ROLE_EXECUTOR, 0, 0, 0);
	assert_int_equal(proto_session_send(&exec, &h, 0), 0);
	assert_int_equal(proto_session_recv(&exec, &w, 0, NULL), 0);
	/*
	 * Results every 400 ms for a minute, the scheduler's heartbeats when
	 * due: both stay alive, and the executor never needs a heartbeat.
	 */
	for (int64_t t = 400; t <= 60000; t += 400) {
		unsigned due;

		assert_int_equal(proto_session_send(&exec, &res, t), 0);
		assert_int_equal(proto_session_recv(&sched, &res, t, NULL), 0);
		assert_int_equal(proto_session_poll(&exec, t), 0);
		due = proto_session_poll(&sched, t);
		assert_int_equal(due & PROTO_DUE_DEAD, 0);
		if (due & PROTO_DUE_HEARTBEAT) {
			proto_session_heartbeat(&sched, &hb, t, 0, 0, false);
			assert_int_equal(proto_session_send(&sched, &hb, t), 0);
			assert_int_equal(proto_session_recv(&exec, &hb, t, NULL), 0);
			beats++;
		}
	}
	assert_int_equal(sched.state, PROTO_SESS_ACTIVE);
	assert_int_equal(exec.state, PROTO_SESS_ACTIVE);
	assert_int_equal(beats, 50); /* 60 s of 1 s beats, due every third 400 ms step */
}

static void test_wrong_state_or_direction(void **state)
{
	struct proto_session s;
	struct proto_msg d = msg(PROTO_DISPATCH), r = msg(PROTO_RESULT), k = msg(PROTO_KILL);
	struct proto_msg h = msg(PROTO_HELLO), w = msg(PROTO_WELCOME), a = msg(PROTO_ACK);
	struct error_info e;

	(void)state;
	/* executor before welcome: only welcome and bye come in */
	proto_session_init(&s, PROTO_ROLE_EXECUTOR, 0, 0, 0);
	assert_int_equal(proto_session_recv(&s, &w, 0, &e), CLOVER_EPROTO); /* no hello yet */
	assert_int_equal(proto_session_send(&s, &h, 0), 0);
	assert_int_equal(proto_session_recv(&s, &d, 1, &e), CLOVER_EPROTO);
	assert_string_equal(e.message, "dispatch received in state hello");
	assert_string_equal(e.field, "kind");
	assert_int_equal(proto_session_send(&s, &r, 1), CLOVER_ESTATE);
	assert_int_equal(proto_session_recv(&s, &w, 2, NULL), 0);
	/* then: scheduler-to-executor kinds in, executor-to-scheduler kinds out */
	assert_int_equal(proto_session_recv(&s, &d, 3, NULL), 0);
	assert_int_equal(proto_session_recv(&s, &k, 3, NULL), 0);
	assert_int_equal(proto_session_recv(&s, &r, 3, &e), CLOVER_EPROTO);
	assert_int_equal(proto_session_recv(&s, &w, 3, &e), CLOVER_EPROTO);
	assert_int_equal(proto_session_send(&s, &r, 4), 0);
	assert_int_equal(proto_session_send(&s, &a, 4), 0);
	assert_int_equal(proto_session_send(&s, &d, 4), CLOVER_ESTATE);
	assert_int_equal(proto_session_send(&s, &w, 4), CLOVER_ESTATE);
	assert_int_equal(s.state, PROTO_SESS_ACTIVE);

	/* scheduler: nothing but hello from a stranger */
	proto_session_init(&s, PROTO_ROLE_SCHEDULER, 0, 0, 0);
	assert_int_equal(proto_session_recv(&s, &r, 0, &e), CLOVER_EPROTO);
	assert_string_equal(e.message, "result received in state idle");
	assert_int_equal(proto_session_send(&s, &d, 0), CLOVER_ESTATE);
	assert_int_equal(proto_session_send(&s, &w, 0), CLOVER_ESTATE); /* no hello to answer */
	{
		struct proto_msg ns = bye(PROTO_BYE_NO_SESSION);

		assert_int_equal(proto_session_send(&s, &ns, 0), 0);
		assert_int_equal(s.state, PROTO_SESS_IDLE);
	}
	assert_int_equal(proto_session_recv(&s, &h, 1, NULL), 0);
	assert_int_equal(proto_session_send(&s, &d, 1), CLOVER_ESTATE); /* not welcomed yet */
	assert_int_equal(proto_session_recv(&s, &r, 1, NULL), CLOVER_EPROTO);
	assert_int_equal(proto_session_send(&s, &w, 2), 0);
	assert_int_equal(proto_session_send(&s, &d, 3), 0);
	assert_int_equal(proto_session_recv(&s, &r, 3, NULL), 0);
	assert_int_equal(proto_session_recv(&s, &d, 3, NULL), CLOVER_EPROTO);
	assert_int_equal(proto_session_recv(&s, &w, 3, NULL), CLOVER_EPROTO);
	assert_int_equal(proto_session_send(&s, &r, 3), CLOVER_ESTATE);
	assert_int_equal(s.state, PROTO_SESS_ACTIVE);
}

static void test_drain_and_bye(void **state)
{
	struct proto_session s, x;
	struct proto_msg d = msg(PROTO_DISPATCH), k = msg(PROTO_KILL), dr = msg(PROTO_DRAIN);
	struct proto_msg hb = msg(PROTO_HEARTBEAT), h = msg(PROTO_HELLO), w = msg(PROTO_WELCOME);
	struct proto_msg rack = msg(PROTO_RESULT_ACK), sd = bye(PROTO_BYE_SHUTDOWN);
	struct proto_msg ns = bye(PROTO_BYE_NO_SESSION);

	(void)state;
	/* the scheduler drains an executor: no more dispatches, kills still go */
	sched_active(&s, 0);
	assert_int_equal(proto_session_send(&s, &dr, 1), 0);
	assert_int_equal(s.state, PROTO_SESS_DRAINING);
	assert_int_equal(proto_session_send(&s, &d, 2), CLOVER_ESTATE);
	assert_int_equal(proto_session_send(&s, &k, 2), 0);
	assert_int_equal(proto_session_send(&s, &rack, 2), 0);
	assert_int_equal(proto_session_recv(&s, &sd, 3, NULL), 0);
	assert_int_equal(s.state, PROTO_SESS_CLOSED);
	assert_int_equal(proto_session_poll(&s, 100000), 0);

	/* an executor that drains itself says so in its heartbeats */
	sched_active(&s, 0);
	hb.heartbeat.draining = true;
	assert_int_equal(proto_session_recv(&s, &hb, 1, NULL), 0);
	assert_int_equal(s.state, PROTO_SESS_DRAINING);
	assert_int_equal(proto_session_send(&s, &d, 2), CLOVER_ESTATE);

	/* the executor side of a drain */
	proto_session_init(&x, PROTO_ROLE_EXECUTOR, 0, 0, 0);
	assert_int_equal(proto_session_send(&x, &h, 0), 0);
	assert_int_equal(proto_session_recv(&x, &w, 0, NULL), 0);
	assert_int_equal(proto_session_recv(&x, &dr, 1, NULL), 0);
	assert_int_equal(x.state, PROTO_SESS_DRAINING);
	assert_int_equal(proto_session_recv(&x, &d, 1, NULL),
	                 0); /* in flight: it acks "draining" */
	assert_int_equal(proto_session_send(&x, &sd, 2), 0);
	assert_int_equal(x.state, PROTO_SESS_CLOSED);
	assert_int_equal(proto_session_send(&x, &h, 3), CLOVER_ESTATE);

	/* a scheduler that lost us (restart): hello again at once */
	proto_session_init(&x, PROTO_ROLE_EXECUTOR, 0, 0, 0);
	assert_int_equal(proto_session_send(&x, &h, 0), 0);
	assert_int_equal(proto_session_recv(&x, &w, 0, NULL), 0);
	assert_int_equal(proto_session_recv(&x, &ns, 500, NULL), 0);
	assert_int_equal(x.state, PROTO_SESS_IDLE);
	assert_int_equal(proto_session_poll(&x, 500), PROTO_DUE_HELLO);

	/* a reconnected executor says hello to an ACTIVE session: welcome again */
	sched_active(&s, 0);
	assert_int_equal(proto_session_recv(&s, &h, 10, NULL), 0);
	assert_int_equal(s.state, PROTO_SESS_HELLO);
	assert_int_equal(proto_session_send(&s, &d, 10), CLOVER_ESTATE);
	assert_int_equal(proto_session_send(&s, &w, 11), 0);
	assert_int_equal(proto_session_send(&s, &d, 12), 0);
	/* a bye while waiting for the welcome closes */
	assert_int_equal(proto_session_recv(&s, &h, 13, NULL), 0);
	assert_int_equal(proto_session_recv(&s, &sd, 14, NULL), 0);
	assert_int_equal(s.state, PROTO_SESS_CLOSED);
}

static uint64_t rng = 0x9e3779b97f4a7c15u;

static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/*
 * Seeded simulation: an executor's heartbeats arrive every second, up to
 * 400 ms late, and once per round after a random stall. The scheduler
 * (polling every millisecond, frames first) must declare it dead exactly
 * dead_after_ms after the last frame when, and only when, the next frame
 * would come later than that.
 */
static void test_simulated_jitter(void **state)
{
	int deaths = 0;

	(void)state;
	for (int round = 0; round < 300; round++) {
		struct proto_session sched;
		struct proto_msg hb = msg(PROTO_HEARTBEAT);
		int64_t arrive = 0, last = 0, stall_at = (int64_t)(next_rand() % 60000);
		int64_t stall = (int64_t)(next_rand() % 5000);
		bool died = false, gap_big = false;

		sched_active(&sched, 0);
		for (int64_t t = 0; t < 70000 && !died; t++) {
			if (t == arrive) {
				assert_int_equal(proto_session_recv(&sched, &hb, t, NULL), 0);
				last = t;
				arrive = t + 1000 + (int64_t)(next_rand() % 400);
				if (stall_at >= 0 && t >= stall_at) {
					arrive += stall;
					stall_at = -1;
				}
				if (arrive - last > 3000)
					gap_big = true;
			}
			if (proto_session_poll(&sched, t) & PROTO_DUE_DEAD) {
				died = true;
				assert_int_equal(t - last, 3000);
			}
		}
		assert_int_equal(died, gap_big);
		deaths += died;
	}
	/* both outcomes happened */
	assert_true(deaths > 50 && deaths < 250);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_executor_cycle),
	    cmocka_unit_test(test_dead_after_silence),
	    cmocka_unit_test(test_unwelcomed_hello_dies),
	    cmocka_unit_test(test_any_frame_is_a_sign_of_life),
	    cmocka_unit_test(test_wrong_state_or_direction),
	    cmocka_unit_test(test_drain_and_bye),
	    cmocka_unit_test(test_simulated_jitter),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
