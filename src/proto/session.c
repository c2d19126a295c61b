/* SPDX-License-Identifier: MIT */
/*
 * Session state machine and liveness (see session.h and docs/protocol.md
 * "Sessions"). The tables of what may be sent and received in which state
 * are written out as switch statements per role, because they differ by
 * direction: a scheduler sends dispatch and receives result, an executor the
 * reverse, and a frame of the wrong direction is always a protocol error.
 */
#include "proto/session.h"

#include "clover.h"

#include <string.h>

void proto_session_init(struct proto_session *s, enum proto_role role, int64_t heartbeat_ms,
                        int64_t dead_after_ms, int64_t now)
{
	memset(s, 0, sizeof(*s));
	s->role = role;
	s->state = PROTO_SESS_IDLE;
	s->heartbeat_ms = heartbeat_ms > 0 ? heartbeat_ms : PROTO_HEARTBEAT_MS;
	s->dead_after_ms = dead_after_ms > 0 ? dead_after_ms : PROTO_DEAD_AFTER_MS;
	s->heard = now;
	s->sent = now;
}

const char *proto_session_state_name(enum proto_session_state st)
{
	static const char *const names[] = {"idle",     "hello",  "active",
	                                    "draining", "closed", "dead"};

	return (unsigned)st < sizeof(names) / sizeof(names[0]) ? names[st] : "unknown";
}

static bool live(const struct proto_session *s)
{
	return s->state == PROTO_SESS_ACTIVE || s->state == PROTO_SESS_DRAINING;
}

/* Kinds an executor may receive while ACTIVE or DRAINING. */
static bool executor_receives(enum proto_kind k)
{
	return k == PROTO_HEARTBEAT || k == PROTO_DISPATCH || k == PROTO_KILL ||
	       k == PROTO_RESULT_ACK || k == PROTO_DRAIN || k == PROTO_BYE;
}

/* Kinds a scheduler may receive while ACTIVE or DRAINING. */
static bool scheduler_receives(enum proto_kind k)
{
	return k == PROTO_HEARTBEAT || k == PROTO_ACK || k == PROTO_PROGRESS || k == PROTO_LOG ||
	       k == PROTO_RESULT || k == PROTO_HELLO || k == PROTO_BYE;
}

static int recv_executor(struct proto_session *s, const struct proto_msg *m, int64_t now)
{
	enum proto_kind k = m->kind;

	if (k == PROTO_BYE) {
		/* no_session: the scheduler forgot us; say hello again at once. */
		if (m->bye.reason == PROTO_BYE_NO_SESSION) {
			s->state = PROTO_SESS_IDLE;
			s->sent = now;
		} else {
			s->state = PROTO_SESS_CLOSED;
		}
		return 0;
	}
	switch (s->state) {
	case PROTO_SESS_HELLO:
		if (k != PROTO_WELCOME)
			return CLOVER_EPROTO;
		s->state = PROTO_SESS_ACTIVE;
		s->version = m->welcome.version;
		s->heartbeat_ms = m->welcome.heartbeat_ms;
		s->dead_after_ms = m->welcome.dead_after_ms;
		s->sent = now; /* the first heartbeat is due one interval from now */
		return 0;
	case PROTO_SESS_ACTIVE:
	case PROTO_SESS_DRAINING:
		if (!executor_receives(k))
			return CLOVER_EPROTO;
		if (k == PROTO_DRAIN)
			s->state = PROTO_SESS_DRAINING;
		return 0;
	default:
		return CLOVER_EPROTO;
	}
}

static int recv_scheduler(struct proto_session *s, const struct proto_msg *m)
{
	enum proto_kind k = m->kind;

	if (k == PROTO_HELLO) {
		/* A first hello, a repeated one, or one after a reconnection. */
		s->state = PROTO_SESS_HELLO;
		return 0;
	}
	if (s->state == PROTO_SESS_HELLO && k == PROTO_BYE) {
		s->state = PROTO_SESS_CLOSED;
		return 0;
	}
	if (!live(s))
		return CLOVER_EPROTO;
	if (!scheduler_receives(k))
		return CLOVER_EPROTO;
	if (k == PROTO_BYE)
		s->state = PROTO_SESS_CLOSED;
	else if (k == PROTO_HEARTBEAT && m->heartbeat.draining)
		s->state = PROTO_SESS_DRAINING;
	return 0;
}

int proto_session_recv(struct proto_session *s, const struct proto_msg *m, int64_t now,
                       struct error_info *e)
{
	enum proto_session_state before = s->state;
	int rc;

	rc = s->role == PROTO_ROLE_EXECUTOR ? recv_executor(s, m, now) : recv_scheduler(s, m);
	/* A closed or dead session is revived only by what reopened it. */
	if (rc == 0 || (before != PROTO_SESS_CLOSED && before != PROTO_SESS_DEAD))
		s->heard = now;
	if (rc != 0)
		return error_set(e, rc, "kind", "%s received in state %s",
		                 proto_kind_name((int)m->kind), proto_session_state_name(before));
	return 0;
}

static int send_executor(struct proto_session *s, const struct proto_msg *m)
{
	switch (m->kind) {
	case PROTO_HELLO:
		/* First hello, a resend, or a new one after a reconnection. */
		if (s->state == PROTO_SESS_CLOSED)
			return CLOVER_ESTATE;
		s->state = PROTO_SESS_HELLO;
		return 0;
	case PROTO_BYE:
		s->state = PROTO_SESS_CLOSED;
		return 0;
	case PROTO_HEARTBEAT:
	case PROTO_ACK:
	case PROTO_PROGRESS:
	case PROTO_LOG:
	case PROTO_RESULT:
		if (!live(s))
			return CLOVER_ESTATE;
		if (m->kind == PROTO_HEARTBEAT && m->heartbeat.draining)
			s->state = PROTO_SESS_DRAINING;
		return 0;
	default:
		return CLOVER_ESTATE;
	}
}

static int send_scheduler(struct proto_session *s, const struct proto_msg *m)
{
	switch (m->kind) {
	case PROTO_WELCOME:
		if (s->state != PROTO_SESS_HELLO)
			return CLOVER_ESTATE;
		s->state = PROTO_SESS_ACTIVE;
		s->version = m->welcome.version;
		return 0;
	case PROTO_BYE:
		/* no_session answers a stranger and leaves the state alone. */
		if (m->bye.reason != PROTO_BYE_NO_SESSION)
			s->state = PROTO_SESS_CLOSED;
		return 0;
	case PROTO_DISPATCH:
		return s->state == PROTO_SESS_ACTIVE ? 0 : CLOVER_ESTATE;
	case PROTO_DRAIN:
		if (!live(s))
			return CLOVER_ESTATE;
		s->state = PROTO_SESS_DRAINING;
		return 0;
	case PROTO_HEARTBEAT:
	case PROTO_KILL:
	case PROTO_RESULT_ACK:
		return live(s) ? 0 : CLOVER_ESTATE;
	default:
		return CLOVER_ESTATE;
	}
}

int proto_session_send(struct proto_session *s, const struct proto_msg *m, int64_t now)
{
	int rc = s->role == PROTO_ROLE_EXECUTOR ? send_executor(s, m) : send_scheduler(s, m);

	if (rc == 0)
		s->sent = now;
	return rc;
}

unsigned proto_session_poll(struct proto_session *s, int64_t now)
{
	bool exec = s->role == PROTO_ROLE_EXECUTOR;

	switch (s->state) {
	case PROTO_SESS_IDLE:
		return exec ? PROTO_DUE_HELLO : 0;
	case PROTO_SESS_HELLO:
		if (exec)
			return now - s->sent >= s->dead_after_ms ? PROTO_DUE_HELLO : 0;
		if (now - s->heard >= s->dead_after_ms) {
			s->state = PROTO_SESS_DEAD;
			return PROTO_DUE_DEAD;
		}
		return 0;
	case PROTO_SESS_ACTIVE:
	case PROTO_SESS_DRAINING:
		if (now - s->heard >= s->dead_after_ms) {
			s->state = PROTO_SESS_DEAD;
			return PROTO_DUE_DEAD;
		}
		return now - s->sent >= s->heartbeat_ms ? PROTO_DUE_HEARTBEAT : 0;
	default:
		return 0;
	}
}

int64_t proto_session_next(const struct proto_session *s)
{
	int64_t dead = s->heard + s->dead_after_ms, beat = s->sent + s->heartbeat_ms;

	switch (s->state) {
	case PROTO_SESS_IDLE:
		return s->role == PROTO_ROLE_EXECUTOR ? s->sent : INT64_MAX;
	case PROTO_SESS_HELLO:
		return s->role == PROTO_ROLE_EXECUTOR ? s->sent + s->dead_after_ms : dead;
	case PROTO_SESS_ACTIVE:
	case PROTO_SESS_DRAINING:
		return dead < beat ? dead : beat;
	default:
		return INT64_MAX;
	}
}

void proto_session_heartbeat(struct proto_session *s, struct proto_msg *m, int64_t wall_ms,
                             uint32_t running, uint32_t capacity, bool draining)
{
	memset(m, 0, sizeof(*m));
	m->kind = PROTO_HEARTBEAT;
	m->version = s->version;
	m->heartbeat.seq = s->hb_seq++;
	m->heartbeat.at = wall_ms;
	m->heartbeat.running = running;
	m->heartbeat.capacity = capacity;
	m->heartbeat.draining = draining;
}
