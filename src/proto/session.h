/* SPDX-License-Identifier: MIT */
/*
 * The life of one executor session, seen from either end (docs/protocol.md
 * "Sessions"): which message kinds may be sent and received in which state,
 * and the heartbeat bookkeeping that declares a silent peer dead. Sans-I/O:
 * it reads no clock and touches no socket. Its owner feeds it every frame it
 * sends and receives with the monotonic time, and asks it what is due.
 *
 * Terms: *heard* is the last instant a frame came from the peer (any frame is
 * a sign of life); *sent* the last instant we sent one (any frame serves as a
 * heartbeat). A peer silent for dead_after_ms is *dead*.
 *
 * A struct proto_session is a plain value: no allocation, not thread-safe
 * (one owner, like the transport object it goes with).
 */
#ifndef CLOVER_PROTO_SESSION_H
#define CLOVER_PROTO_SESSION_H

#include "base/error.h"
#include "proto/msg.h"

#include <stdint.h>

enum proto_role { PROTO_ROLE_SCHEDULER, PROTO_ROLE_EXECUTOR };

enum proto_session_state {
	PROTO_SESS_IDLE,     /* connected, no hello yet */
	PROTO_SESS_HELLO,    /* hello sent (executor) or received (scheduler), no welcome yet */
	PROTO_SESS_ACTIVE,   /* welcomed */
	PROTO_SESS_DRAINING, /* active, but no new work */
	PROTO_SESS_CLOSED,   /* bye sent or received */
	PROTO_SESS_DEAD,     /* the peer was silent for dead_after_ms */
};

/* What proto_session_poll() says is due now (bits). */
enum proto_due {
	PROTO_DUE_HEARTBEAT = 1, /* send a heartbeat */
	PROTO_DUE_HELLO = 2,     /* (executor) send hello: none sent, or it went unanswered */
	PROTO_DUE_DEAD = 4,      /* the peer just became dead (reported once) */
};

struct proto_session {
	enum proto_role role;
	enum proto_session_state state;
	int64_t heartbeat_ms;
	int64_t dead_after_ms;
	int64_t heard;   /* monotonic ms */
	int64_t sent;    /* monotonic ms; the last hello for HELLO (executor) */
	uint8_t version; /* negotiated (0 before welcome) */
	uint64_t hb_seq; /* for the next heartbeat */
};

/*
 * Starts a session in IDLE at `now`, with the default timings
 * (PROTO_HEARTBEAT_MS, PROTO_DEAD_AFTER_MS) or the given ones when > 0. A
 * scheduler passes its configured timings (and sends them in its welcome);
 * an executor takes the welcome's. Also used to start over after a
 * reconnection.
 */
void proto_session_init(struct proto_session *s, enum proto_role role, int64_t heartbeat_ms,
                        int64_t dead_after_ms, int64_t now);

/*
 * Records a received frame. Returns 0, or CLOVER_EPROTO (with `e` naming the
 * kind and state, e.g. "dispatch received in state hello") when the peer may
 * not send that kind now; the frame should then be dropped (a scheduler
 * answers bye no_session to a peer without a session). Either way the frame
 * counts as a sign of life, except in CLOSED and DEAD, which only a new
 * hello (scheduler side) leaves. Transitions: see docs/protocol.md.
 */
int proto_session_recv(struct proto_session *s, const struct proto_msg *m, int64_t now,
                       struct error_info *e);

/*
 * Records a frame about to be sent. Returns 0, or CLOVER_ESTATE when this
 * side may not send that kind now (e.g. a dispatch to a session that is not
 * ACTIVE, anything but hello or bye before welcome); then nothing changed
 * and the frame should not be sent.
 */
int proto_session_send(struct proto_session *s, const struct proto_msg *m, int64_t now);

/*
 * What is due at `now` (PROTO_DUE_* bits, 0 for nothing). Marks the session
 * DEAD when the peer has been silent for dead_after_ms (reported once, as
 * PROTO_DUE_DEAD).
 */
unsigned proto_session_poll(struct proto_session *s, int64_t now);

/* The next instant proto_session_poll() has something to say, or INT64_MAX. */
int64_t proto_session_next(const struct proto_session *s);

/*
 * Fills a heartbeat message (kind, seq, at = `wall_ms`, load) and advances
 * the sequence number. The caller sends it (and records it with
 * proto_session_send()).
 */
void proto_session_heartbeat(struct proto_session *s, struct proto_msg *m, int64_t wall_ms,
                             uint32_t running, uint32_t capacity, bool draining);

/* "idle", "hello", "active", "draining", "closed", "dead". */
const char *proto_session_state_name(enum proto_session_state st);

#endif
