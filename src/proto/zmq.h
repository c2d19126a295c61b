/* SPDX-License-Identifier: MIT */
/*
 * The ZeroMQ transport of the wire protocol (docs/protocol.md "Transport"),
 * and CURVE keys.
 *
 * A *server* (the scheduler's end) binds a ROUTER socket; a *client* (the
 * executor's end) holds one DEALER socket per scheduler *endpoint* it is
 * connected to. Every connection is CURVE-encrypted; the server accepts only
 * the client public keys it is given, through a ZAP handler thread of its
 * own, and logs the keys it refuses. A *peer* is one connection as the
 * server sees it: the routing id the ROUTER gave it and the public key it
 * authenticated with.
 *
 * Threads: a server or client belongs to one thread at a time (ZeroMQ
 * sockets are not thread-safe). Exceptions, callable from any thread:
 * proto_server_allow(), proto_server_stats(), proto_server_wake(),
 * proto_client_wake(). Every function returns 0 or a negative CLOVER_E*
 * code; ZeroMQ errors are translated here (zmq_strerror() text goes to `e`
 * or the log).
 */
#ifndef CLOVER_PROTO_ZMQ_H
#define CLOVER_PROTO_ZMQ_H

#include "base/error.h"
#include "proto/msg.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- keys ---- */

#define PROTO_KEY_Z85_LEN 40 /* a 32-byte Curve25519 key in Z85 */

struct proto_key {
	char z85[PROTO_KEY_Z85_LEN + 1]; /* NUL-terminated */
};

struct proto_keypair {
	struct proto_key pub;
	struct proto_key sec;
};

/* Makes a new CURVE key pair. CLOVER_ENOTSUP when libzmq lacks CURVE. Thread-safe. */
int proto_keygen(struct proto_keypair *out);

/* Derives the public key of a secret key. CLOVER_EINVAL for a malformed key. Thread-safe. */
int proto_key_public(const struct proto_key *secret, struct proto_key *pub);

/*
 * Parses one key: exactly 40 Z85 characters. CLOVER_EINVAL with `e` saying
 * what is wrong otherwise. Thread-safe.
 */
int proto_key_parse(const char *text, size_t len, struct proto_key *out, struct error_info *e);

/*
 * Reads a key file (docs/protocol.md "Keys"): one key per line, optionally
 * followed by blanks and a comment; `#` lines and blank lines are skipped.
 * Stores up to `max` keys in `keys` and their number in *n. Errors: CLOVER_EIO
 * (cannot read; `e` has the errno text), CLOVER_EINVAL (a bad line, `e` names
 * its number), CLOVER_ETOOBIG (more than `max` keys, or a file over 4 MiB).
 * A file with no key is CLOVER_EINVAL.
 */
int proto_keys_read(const char *path, struct proto_key *keys, size_t max, size_t *n,
                    struct error_info *e);

/*
 * Writes `base`.key (the secret key, mode 0600) and `base`.pub (the public
 * key followed by the file's base name as a comment, mode 0644). Refuses to
 * replace existing files (CLOVER_EEXIST) unless `force`. On error no file is
 * left half-written and `e` names the path. Not for concurrent use on the
 * same files.
 */
int proto_keypair_write(const char *base, const struct proto_keypair *kp, bool force,
                        struct error_info *e);

/* ---- server (scheduler side) ---- */

struct proto_server;

#define PROTO_PEER_ID_MAX 255

struct proto_peer {
	unsigned char id[PROTO_PEER_ID_MAX]; /* the ROUTER's routing id of the connection */
	size_t id_len;
	struct proto_key key; /* the public key the peer authenticated with */
};

struct proto_server_stats {
	uint64_t accepted;  /* handshakes with an allowed key */
	uint64_t refused;   /* handshakes refused */
	uint64_t malformed; /* frames that did not decode */
};

/*
 * Binds a ROUTER socket to `bind` ("tcp://0.0.0.0:7070"; port "*" picks a
 * free port, see proto_server_endpoint()) with CURVE server key `secret`,
 * accepting the `nallowed` client public keys of `allowed` (copied). Starts
 * the ZAP handler thread first, so no connection is ever accepted
 * unchecked. On success *out is the server (free with proto_server_free());
 * on error `e` says why (bad key, address in use, ...).
 */
int proto_server_new(const char *bind, const struct proto_key *secret,
                     const struct proto_key *allowed, size_t nallowed, struct proto_server **out,
                     struct error_info *e);

/* Closes the socket (dropping unsent frames after 500 ms), stops the ZAP thread. NULL is a no-op.
 */
void proto_server_free(struct proto_server *s);

/* The endpoint actually bound ("tcp://127.0.0.1:41234"). Valid until free. */
const char *proto_server_endpoint(const struct proto_server *s);

/*
 * Replaces the set of accepted client keys (copied); later handshakes use the
 * new set, established connections stay. Thread-safe. CLOVER_ENOMEM.
 */
int proto_server_allow(struct proto_server *s, const struct proto_key *allowed, size_t n);

/* Counters since start. Thread-safe. */
void proto_server_stats(struct proto_server *s, struct proto_server_stats *out);

/*
 * Receives one message, waiting up to `timeout_ms` (0: do not wait, -1:
 * forever). Returns 0 with *peer and *msg filled (the caller owns `msg`:
 * proto_msg_clear()); CLOVER_ETIMEDOUT when nothing came; CLOVER_EAGAIN when
 * woken by proto_server_wake() or a signal; CLOVER_EPROTO for a frame that
 * did not decode (logged at WARN, rate-limited; *peer says who sent it and
 * `e` what was wrong: the server keeps serving); CLOVER_EIO for a socket
 * failure.
 */
int proto_server_recv(struct proto_server *s, struct proto_peer *peer, struct proto_msg *msg,
                      int timeout_ms, struct error_info *e);

/*
 * Encodes `msg` and sends it to `peer`, without blocking. CLOVER_ENOENT: the
 * peer is not connected (any more); CLOVER_EAGAIN: its queue is full (high-
 * water mark), try later; CLOVER_EINVAL / CLOVER_ETOOBIG: `msg` does not
 * encode (split batches with proto_encode_batch() and
 * proto_server_send_frame()).
 */
int proto_server_send(struct proto_server *s, const struct proto_peer *peer,
                      const struct proto_msg *msg);

/* Sends an already encoded frame (same errors). Also for tests that send garbage. */
int proto_server_send_frame(struct proto_server *s, const struct proto_peer *peer, const void *data,
                            size_t len);

/*
 * A descriptor to poll() for POLLIN next to other descriptors. It is
 * edge-triggered: when it is readable, and after every send, call
 * proto_server_recv(..., 0) until CLOVER_ETIMEDOUT before sleeping again.
 * -1 on error.
 */
int proto_server_fd(const struct proto_server *s);

/* Makes a proto_server_recv() blocked on another thread return CLOVER_EAGAIN. Thread-safe. */
void proto_server_wake(struct proto_server *s);

/* The ROUTER socket, for zmq_poll() next to other ZeroMQ sockets. */
void *proto_server_socket(const struct proto_server *s);

/* ---- client (executor side) ---- */

struct proto_client;

#define PROTO_CLIENT_ENDPOINTS_MAX 64

enum proto_client_event_kind {
	PROTO_CLIENT_MSG,     /* `msg` came from `endpoint` */
	PROTO_CLIENT_UP,      /* handshake done: send hello now */
	PROTO_CLIENT_DOWN,    /* connection lost; ZeroMQ reconnects by itself */
	PROTO_CLIENT_REFUSED, /* the scheduler refused our key (ZAP status 400) */
	PROTO_CLIENT_FAILED,  /* handshake failed otherwise (wrong server key, ...) */
	/* After REFUSED or FAILED the client connects again after 1 s, doubling up to
	 * 30 s, as long as its owner calls proto_client_recv(). */
	PROTO_CLIENT_WAKE, /* proto_client_wake() was called */
};

struct proto_client_event {
	enum proto_client_event_kind kind;
	size_t endpoint;      /* index from proto_client_connect() */
	struct proto_msg msg; /* PROTO_CLIENT_MSG: owned by the caller, proto_msg_clear() */
};

/*
 * Makes a client with key pair secret `secret` (the public key is derived)
 * and connects it to the `n` endpoints (indexes 0..n-1), all with the
 * server public key `server_pub`. n may be 0: add endpoints with
 * proto_client_connect(). Connections are made in the background and
 * retried for ever. Free with proto_client_free().
 */
int proto_client_new(const char *const *endpoints, size_t n, const struct proto_key *secret,
                     const struct proto_key *server_pub, struct proto_client **out,
                     struct error_info *e);

/* Closes every connection (unsent frames get 500 ms). NULL is a no-op. */
void proto_client_free(struct proto_client *c);

/*
 * Connects to one more scheduler, with its own server key; *index (may be
 * NULL) names it in sends and events. Indexes of removed endpoints are reused.
 * CLOVER_ETOOBIG beyond PROTO_CLIENT_ENDPOINTS_MAX, CLOVER_EINVAL for a bad
 * endpoint.
 */
int proto_client_connect(struct proto_client *c, const char *endpoint,
                         const struct proto_key *server_pub, size_t *index, struct error_info *e);

/* Disconnects and forgets an endpoint. CLOVER_ENOENT for an unknown index. */
int proto_client_disconnect(struct proto_client *c, size_t index);

/* The endpoint text of an index, or NULL. */
const char *proto_client_endpoint(const struct proto_client *c, size_t index);

/*
 * Encodes `msg` and sends it to scheduler `index`, without blocking.
 * CLOVER_EAGAIN: not connected (ZMQ_IMMEDIATE: nothing is queued for a
 * scheduler we have no connection to) or its queue is full; CLOVER_ENOENT:
 * no such index; CLOVER_EINVAL / CLOVER_ETOOBIG: `msg` does not encode.
 */
int proto_client_send(struct proto_client *c, size_t index, const struct proto_msg *msg);

/* Sends an already encoded frame (same errors). */
int proto_client_send_frame(struct proto_client *c, size_t index, const void *data, size_t len);

/*
 * Waits up to `timeout_ms` (0: do not wait, -1: forever) for the next event:
 * a message from any scheduler, or a change of a connection's state (each
 * reported once per change; a refused key is also logged at WARN). Returns 0
 * with *ev filled; CLOVER_ETIMEDOUT; CLOVER_EAGAIN when interrupted by a
 * signal; CLOVER_EPROTO for a frame that did not decode (ev->endpoint says
 * from where, `e` what; logged at WARN); CLOVER_EIO.
 */
int proto_client_recv(struct proto_client *c, struct proto_client_event *ev, int timeout_ms,
                      struct error_info *e);

/* Makes a blocked proto_client_recv() return PROTO_CLIENT_WAKE. Thread-safe. */
void proto_client_wake(struct proto_client *c);

#endif
