/* SPDX-License-Identifier: MIT */
/*
 * The ZeroMQ transport (see zmq.h and docs/protocol.md "Transport").
 *
 * Server: a ROUTER socket with CURVE, and a ZAP handler (RFC 27) on a thread
 * of its own, bound to inproc://zeromq.zap.01 in the server's private
 * context *before* the ROUTER binds, so that no handshake can ever complete
 * without it (libzmq without the draft ZMQ_ZAP_ENFORCE_DOMAIN accepts
 * everyone when no handler is bound). The handler answers 200 with the
 * client's key (Z85) as user id for allowed keys, 400 otherwise; received
 * messages carry that user id, which becomes proto_peer.key.
 *
 * Client: one DEALER per scheduler endpoint, each with a monitor socket
 * (PAIR over inproc) that reports handshake success, refusal and
 * disconnection, turned into PROTO_CLIENT_* events.
 *
 * Both ends own a private context and an eventfd for wake-ups. ZeroMQ errors
 * are translated into CLOVER_E* codes in zerr() only.
 */
#include "proto/zmq.h"

#include "base/log.h"
#include "base/time.h"
#include "clover.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <zmq.h>

#define SUB               "zmq"
#define ZAP_ENDPOINT      "inproc://zeromq.zap.01"
#define ZAP_DOMAIN        "clover"
#define HWM               10000
#define LINGER_MS         500
#define ZMTP_HEARTBEAT_MS 1000
#define ZMTP_TIMEOUT_MS   3000
#define RECONNECT_MAX_MS  2000
#define RETRY_FIRST_MS    1000 /* after a refused or failed handshake */
#define RETRY_MAX_MS      30000
#define REFUSAL_SLOTS     32    /* keys whose refusal was logged recently */
#define REFUSAL_QUIET_MS  60000 /* log a refused key at most this often */
#define MALFORMED_PER_SEC 10    /* malformed-frame log lines per second */
#define ENDPOINT_MAX      256

/* The one place ZeroMQ errors become clover codes. */
static int zerr(int err)
{
	switch (err) {
	case EAGAIN:
		return CLOVER_EAGAIN;
	case EINTR:
		return CLOVER_EAGAIN;
	case EHOSTUNREACH:
		return CLOVER_ENOENT;
	case EINVAL:
	case EPROTONOSUPPORT:
	case ENOCOMPATPROTO:
		return CLOVER_EINVAL;
	case EADDRINUSE:
		return CLOVER_EEXIST;
	case ENOMEM:
		return CLOVER_ENOMEM;
	case ENOTSUP:
		return CLOVER_ENOTSUP;
	default:
		return CLOVER_EIO;
	}
}

static int zfail(struct error_info *e, const char *what)
{
	int err = zmq_errno();

	return error_set(e, zerr(err), "", "%s: %s", what, zmq_strerror(err));
}

static int setopt_int(void *sock, int opt, int v)
{
	return zmq_setsockopt(sock, opt, &v, sizeof(v));
}

/* Options both ends share. */
static int common_opts(void *sock)
{
	int64_t maxmsg = PROTO_FRAME_MAX;

	if (setopt_int(sock, ZMQ_SNDHWM, HWM) != 0 || setopt_int(sock, ZMQ_RCVHWM, HWM) != 0 ||
	    setopt_int(sock, ZMQ_LINGER, LINGER_MS) != 0 ||
	    setopt_int(sock, ZMQ_HEARTBEAT_IVL, ZMTP_HEARTBEAT_MS) != 0 ||
	    setopt_int(sock, ZMQ_HEARTBEAT_TIMEOUT, ZMTP_TIMEOUT_MS) != 0 ||
	    zmq_setsockopt(sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof(maxmsg)) != 0)
		return -1;
	return 0;
}

static int wake_fd_new(struct error_info *e, int *fd)
{
	*fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (*fd < 0)
		return error_set(e, error_from_errno(errno), "", "eventfd: %s", strerror(errno));
	return 0;
}

static void wake_write(int fd)
{
	uint64_t one = 1;
	ssize_t n = write(fd, &one, sizeof(one));

	(void)n; /* EAGAIN: the counter is already non-zero, the owner wakes anyway */
}

static void wake_drain(int fd)
{
	uint64_t v;
	ssize_t n = read(fd, &v, sizeof(v));

	(void)n;
}

static int64_t deadline_of(int timeout_ms)
{
	return timeout_ms < 0 ? INT64_MAX : time_mono_ms() + timeout_ms;
}

static long remaining(int64_t deadline)
{
	int64_t now;

	if (deadline == INT64_MAX)
		return -1;
	now = time_mono_ms();
	return deadline > now ? (long)(deadline - now) : 0;
}

/* Receives and drops the remaining parts of a multi-part message. */
static void drain_parts(void *sock)
{
	int more = 1;
	size_t sz = sizeof(more);

	while (zmq_getsockopt(sock, ZMQ_RCVMORE, &more, &sz) == 0 && more) {
		zmq_msg_t part;

		zmq_msg_init(&part);
		if (zmq_msg_recv(&part, sock, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&part);
			break;
		}
		zmq_msg_close(&part);
		sz = sizeof(more);
	}
}

/* ---- server ---- */

struct refusal {
	char key[PROTO_KEY_Z85_LEN + 1];
	int64_t at;
};

struct proto_server {
	void *ctx;
	void *router;
	void *zap;
	pthread_t zap_thread;
	bool zap_started;
	int wake_fd;
	char endpoint[ENDPOINT_MAX];
	struct buf out; /* encoding buffer (owner thread) */

	pthread_mutex_t mu;        /* guards allowed, nallowed */
	struct proto_key *allowed; /* sorted */
	size_t nallowed;

	atomic_uint_fast64_t accepted, refused, malformed;
	struct refusal recent[REFUSAL_SLOTS]; /* ZAP thread only */

	int64_t warn_window; /* owner thread: malformed-frame log rate */
	unsigned warn_count, warn_dropped;
};

static int key_cmp(const void *a, const void *b)
{
	return strcmp(((const struct proto_key *)a)->z85, ((const struct proto_key *)b)->z85);
}

static bool allowed_has(struct proto_server *s, const char *z85)
{
	struct proto_key k;
	bool found;

	snprintf(k.z85, sizeof(k.z85), "%s", z85);
	pthread_mutex_lock(&s->mu);
	found = s->nallowed > 0 && bsearch(&k, s->allowed, s->nallowed, sizeof(k), key_cmp) != NULL;
	pthread_mutex_unlock(&s->mu);
	return found;
}

/* True when a refusal of `key` should be logged now (not logged in the last minute). */
static bool refusal_should_log(struct proto_server *s, const char *key, int64_t now)
{
	size_t oldest = 0;

	for (size_t i = 0; i < REFUSAL_SLOTS; i++) {
		if (strcmp(s->recent[i].key, key) == 0) {
			if (now - s->recent[i].at < REFUSAL_QUIET_MS)
				return false;
			s->recent[i].at = now;
			return true;
		}
		if (s->recent[i].at < s->recent[oldest].at)
			oldest = i;
	}
	snprintf(s->recent[oldest].key, sizeof(s->recent[oldest].key), "%s", key);
	s->recent[oldest].at = now;
	return true;
}

static void zap_reply(void *sock, const zmq_msg_t *req_id, const char *status, const char *text,
                      const char *user)
{
	zmq_msg_t id;

	zmq_send(sock, "1.0", 3, ZMQ_SNDMORE);
	zmq_msg_init(&id);
	zmq_msg_copy(&id, (zmq_msg_t *)req_id);
	if (zmq_msg_send(&id, sock, ZMQ_SNDMORE) < 0)
		zmq_msg_close(&id);
	zmq_send(sock, status, strlen(status), ZMQ_SNDMORE);
	zmq_send(sock, text, strlen(text), ZMQ_SNDMORE);
	zmq_send(sock, user, strlen(user), ZMQ_SNDMORE);
	zmq_send(sock, "", 0, 0);
}

static bool part_is(zmq_msg_t *m, const char *s)
{
	size_t n = strlen(s);

	return zmq_msg_size(m) == n && memcmp(zmq_msg_data(m), s, n) == 0;
}

/*
 * The ZAP handler: requests are version, request id, domain, address,
 * routing id, mechanism, credentials...; for CURVE one credential, the
 * client's 32-byte public key.
 */
static void *zap_main(void *arg)
{
	struct proto_server *s = arg;
	enum { PARTS = 8 };

	for (;;) {
		zmq_msg_t part[PARTS];
		size_t n = 0;
		int more = 1;
		char key[PROTO_KEY_Z85_LEN + 1] = "", addr[64] = "?";
		bool ok = false;

		while (more && n < PARTS) {
			size_t sz = sizeof(more);

			zmq_msg_init(&part[n]);
			if (zmq_msg_recv(&part[n], s->zap, 0) < 0) {
				int err = zmq_errno();

				zmq_msg_close(&part[n]);
				for (size_t i = 0; i < n; i++)
					zmq_msg_close(&part[i]);
				if (err == EINTR)
					goto next;
				return NULL; /* ETERM: the server is going away */
			}
			n++;
			if (zmq_getsockopt(s->zap, ZMQ_RCVMORE, &more, &sz) != 0)
				more = 0;
		}
		if (more)
			drain_parts(s->zap);
		if (n >= 7 && part_is(&part[0], "1.0") && part_is(&part[5], "CURVE") &&
		    zmq_msg_size(&part[6]) == 32) {
			size_t alen = zmq_msg_size(&part[3]);

			if (alen >= sizeof(addr))
				alen = sizeof(addr) - 1;
			memcpy(addr, zmq_msg_data(&part[3]), alen);
			addr[alen] = '\0';
			zmq_z85_encode(key, zmq_msg_data(&part[6]), 32);
			ok = allowed_has(s, key);
		}
		if (n >= 2) {
			if (ok) {
				atomic_fetch_add(&s->accepted, 1);
				log_at(LOG_DEBUG, SUB, "accepted executor key %s from %s", key,
				       addr);
				zap_reply(s->zap, &part[1], "200", "OK", key);
			} else {
				atomic_fetch_add(&s->refused, 1);
				if (refusal_should_log(s, key, time_mono_ms()))
					log_at(
					    LOG_WARN, SUB,
					    "refused executor key %s from %s: not an allowed key "
					    "(logged once a minute per key)",
					    key[0] ? key : "(none)", addr);
				zap_reply(s->zap, &part[1], "400", "key not allowed", "");
			}
		}
		for (size_t i = 0; i < n; i++)
			zmq_msg_close(&part[i]);
	next:;
	}
}

static int set_allowed(struct proto_server *s, const struct proto_key *allowed, size_t n)
{
	struct proto_key *copy = NULL;

	if (n > 0) {
		copy = calloc(n, sizeof(*copy));
		if (copy == NULL)
			return CLOVER_ENOMEM;
		for (size_t i = 0; i < n; i++)
			snprintf(copy[i].z85, sizeof(copy[i].z85), "%s", allowed[i].z85);
		qsort(copy, n, sizeof(*copy), key_cmp);
	}
	pthread_mutex_lock(&s->mu);
	free(s->allowed);
	s->allowed = copy;
	s->nallowed = n;
	pthread_mutex_unlock(&s->mu);
	return 0;
}

int proto_server_allow(struct proto_server *s, const struct proto_key *allowed, size_t n)
{
	return set_allowed(s, allowed, n);
}

int proto_server_new(const char *bind, const struct proto_key *secret,
                     const struct proto_key *allowed, size_t nallowed, struct proto_server **out,
                     struct error_info *e)
{
	struct proto_server *s;
	struct proto_key pub;
	size_t len;
	int rc;

	*out = NULL;
	if (proto_key_public(secret, &pub) != 0)
		return error_set(e, CLOVER_EINVAL, "key",
		                 "the server secret key is not a valid key");
	for (size_t i = 0; i < nallowed; i++)
		if ((rc = proto_key_parse(allowed[i].z85,
		                          strnlen(allowed[i].z85, sizeof(allowed[i].z85)), &pub,
		                          e)) != 0)
			return rc;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return error_set(e, CLOVER_ENOMEM, "", "out of memory");
	s->wake_fd = -1;
	pthread_mutex_init(&s->mu, NULL);
	buf_init(&s->out, PROTO_FRAME_MAX);
	if ((rc = set_allowed(s, allowed, nallowed)) != 0) {
		error_set(e, rc, "", "out of memory");
		goto fail;
	}
	if ((rc = wake_fd_new(e, &s->wake_fd)) != 0)
		goto fail;
	s->ctx = zmq_ctx_new();
	if (s->ctx == NULL) {
		rc = zfail(e, "zmq_ctx_new");
		goto fail;
	}
	s->zap = zmq_socket(s->ctx, ZMQ_REP);
	if (s->zap == NULL || setopt_int(s->zap, ZMQ_LINGER, 0) != 0 ||
	    zmq_bind(s->zap, ZAP_ENDPOINT) != 0) {
		rc = zfail(e, "ZAP handler");
		goto fail;
	}
	if (pthread_create(&s->zap_thread, NULL, zap_main, s) != 0) {
		rc = error_set(e, CLOVER_ESYS, "", "cannot start the ZAP thread");
		goto fail;
	}
	s->zap_started = true;
	s->router = zmq_socket(s->ctx, ZMQ_ROUTER);
	if (s->router == NULL || common_opts(s->router) != 0 ||
	    setopt_int(s->router, ZMQ_CURVE_SERVER, 1) != 0 ||
	    zmq_setsockopt(s->router, ZMQ_CURVE_SECRETKEY, secret->z85, PROTO_KEY_Z85_LEN) != 0 ||
	    zmq_setsockopt(s->router, ZMQ_ZAP_DOMAIN, ZAP_DOMAIN, strlen(ZAP_DOMAIN)) != 0 ||
	    setopt_int(s->router, ZMQ_ROUTER_MANDATORY, 1) != 0) {
		rc = zfail(e, "ROUTER socket");
		goto fail;
	}
	if (zmq_bind(s->router, bind) != 0) {
		int err = zmq_errno();

		rc = error_set(e, zerr(err), "bind", "cannot bind %s: %s", bind, zmq_strerror(err));
		goto fail;
	}
	len = sizeof(s->endpoint);
	if (zmq_getsockopt(s->router, ZMQ_LAST_ENDPOINT, s->endpoint, &len) != 0)
		snprintf(s->endpoint, sizeof(s->endpoint), "%s", bind);
	log_at(LOG_INFO, SUB, "listening on %s (CURVE, %zu executor keys allowed)", s->endpoint,
	       nallowed);
	*out = s;
	return 0;
fail:
	proto_server_free(s);
	return rc;
}

void proto_server_free(struct proto_server *s)
{
	if (s == NULL)
		return;
	if (s->router)
		zmq_close(s->router);
	if (s->ctx)
		zmq_ctx_shutdown(s->ctx); /* the ZAP thread's recv returns ETERM */
	if (s->zap_started)
		pthread_join(s->zap_thread, NULL);
	if (s->zap)
		zmq_close(s->zap);
	if (s->ctx)
		zmq_ctx_term(s->ctx);
	if (s->wake_fd >= 0)
		close(s->wake_fd);
	buf_free(&s->out);
	free(s->allowed);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

const char *proto_server_endpoint(const struct proto_server *s)
{
	return s->endpoint;
}

void proto_server_stats(struct proto_server *s, struct proto_server_stats *out)
{
	out->accepted = atomic_load(&s->accepted);
	out->refused = atomic_load(&s->refused);
	out->malformed = atomic_load(&s->malformed);
}

int proto_server_fd(const struct proto_server *s)
{
	int fd = -1;
	size_t sz = sizeof(fd);

	if (zmq_getsockopt(s->router, ZMQ_FD, &fd, &sz) != 0)
		return -1;
	return fd;
}

void proto_server_wake(struct proto_server *s)
{
	wake_write(s->wake_fd);
}

void *proto_server_socket(const struct proto_server *s)
{
	return s->router;
}

static void log_malformed(struct proto_server *s, const struct proto_peer *peer,
                          const struct error_info *err)
{
	int64_t now = time_mono_ms();

	if (now - s->warn_window >= 1000) {
		if (s->warn_dropped > 0)
			log_at(LOG_WARN, SUB, "%u more malformed frames not logged",
			       s->warn_dropped);
		s->warn_window = now;
		s->warn_count = 0;
		s->warn_dropped = 0;
	}
	if (s->warn_count++ < MALFORMED_PER_SEC)
		log_at(LOG_WARN, SUB, "dropped a malformed frame from executor key %s: %s",
		       peer->key.z85[0] ? peer->key.z85 : "(none)", err->message);
	else
		s->warn_dropped++;
}

/* Receives one [routing id, body] message that is known or hoped to be there. */
static int server_take(struct proto_server *s, struct proto_peer *peer, struct proto_msg *msg,
                       struct error_info *e)
{
	zmq_msg_t id, body;
	const char *user;
	struct error_info de;
	int more = 0, rc;
	size_t sz = sizeof(more);

	zmq_msg_init(&id);
	if (zmq_msg_recv(&id, s->router, ZMQ_DONTWAIT) < 0) {
		int err = zmq_errno();

		zmq_msg_close(&id);
		if (err == EAGAIN)
			return CLOVER_ETIMEDOUT;
		return error_set(e, zerr(err), "", "receive: %s", zmq_strerror(err));
	}
	memset(peer, 0, sizeof(*peer));
	peer->id_len =
	    zmq_msg_size(&id) < PROTO_PEER_ID_MAX ? zmq_msg_size(&id) : PROTO_PEER_ID_MAX;
	memcpy(peer->id, zmq_msg_data(&id), peer->id_len);
	zmq_msg_close(&id);
	if (zmq_getsockopt(s->router, ZMQ_RCVMORE, &more, &sz) != 0 || !more)
		return error_set(e, CLOVER_EPROTO, "", "a message without a body");
	zmq_msg_init(&body);
	if (zmq_msg_recv(&body, s->router, ZMQ_DONTWAIT) < 0) {
		int err = zmq_errno();

		zmq_msg_close(&body);
		return error_set(e, zerr(err), "", "receive: %s", zmq_strerror(err));
	}
	user = zmq_msg_gets(&body, "User-Id");
	if (user)
		snprintf(peer->key.z85, sizeof(peer->key.z85), "%s", user);
	sz = sizeof(more);
	if (zmq_getsockopt(s->router, ZMQ_RCVMORE, &more, &sz) == 0 && more) {
		drain_parts(s->router);
		error_set(&de, CLOVER_EPROTO, "", "a multi-part message (a frame is one part)");
		rc = CLOVER_EPROTO;
	} else {
		rc = proto_decode(zmq_msg_data(&body), zmq_msg_size(&body), msg, &de);
	}
	zmq_msg_close(&body);
	if (rc == CLOVER_EPROTO) {
		atomic_fetch_add(&s->malformed, 1);
		log_malformed(s, peer, &de);
	}
	if (rc != 0 && e)
		*e = de;
	return rc;
}

int proto_server_recv(struct proto_server *s, struct proto_peer *peer, struct proto_msg *msg,
                      int timeout_ms, struct error_info *e)
{
	int64_t deadline = deadline_of(timeout_ms);

	memset(msg, 0, sizeof(*msg));
	for (;;) {
		zmq_pollitem_t items[2] = {{s->router, 0, ZMQ_POLLIN, 0},
		                           {NULL, s->wake_fd, ZMQ_POLLIN, 0}};
		int rc = server_take(s, peer, msg, e);
		long wait;

		if (rc != CLOVER_ETIMEDOUT)
			return rc;
		wait = remaining(deadline);
		if (wait == 0)
			return CLOVER_ETIMEDOUT;
		if (zmq_poll(items, 2, wait) < 0) {
			int err = zmq_errno();

			if (err == EINTR)
				return CLOVER_EAGAIN;
			return error_set(e, zerr(err), "", "poll: %s", zmq_strerror(err));
		}
		if (items[1].revents & ZMQ_POLLIN) {
			wake_drain(s->wake_fd);
			return CLOVER_EAGAIN;
		}
	}
}

int proto_server_send_frame(struct proto_server *s, const struct proto_peer *peer, const void *data,
                            size_t len)
{
	if (zmq_send(s->router, peer->id, peer->id_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
		return zerr(zmq_errno());
	if (zmq_send(s->router, data, len, ZMQ_DONTWAIT) < 0)
		return zerr(zmq_errno());
	return 0;
}

int proto_server_send(struct proto_server *s, const struct proto_peer *peer,
                      const struct proto_msg *msg)
{
	int rc = proto_encode(msg, &s->out);

	if (rc != 0)
		return rc;
	return proto_server_send_frame(s, peer, s->out.data, s->out.len);
}

/* ---- client ---- */

enum link_state { LINK_NEW, LINK_UP, LINK_DOWN, LINK_REFUSED, LINK_FAILED };

struct endpoint {
	bool used;
	void *dealer;
	void *mon;
	char addr[ENDPOINT_MAX];
	enum link_state state;
	int64_t retry_at;   /* REFUSED, FAILED: when to connect again (monotonic ms) */
	int64_t backoff_ms; /* the wait after the next failure */
};

struct proto_client {
	void *ctx;
	struct proto_key sec, pub;
	struct endpoint ep[PROTO_CLIENT_ENDPOINTS_MAX];
	size_t nep; /* slots in use or once used: 0..nep-1 */
	unsigned mon_seq;
	size_t rr; /* where the next receive starts looking */
	int wake_fd;
	struct buf out;
};

static void endpoint_close(struct endpoint *ep)
{
	if (ep->dealer) {
		zmq_socket_monitor(ep->dealer, NULL, 0);
		setopt_int(ep->dealer, ZMQ_LINGER, 0);
		zmq_close(ep->dealer);
	}
	if (ep->mon)
		zmq_close(ep->mon);
	memset(ep, 0, sizeof(*ep));
}

int proto_client_connect(struct proto_client *c, const char *endpoint,
                         const struct proto_key *server_pub, size_t *index, struct error_info *e)
{
	struct endpoint *ep = NULL;
	struct proto_key chk;
	char mon_addr[64];
	size_t i;
	int rc;

	if (strlen(endpoint) >= ENDPOINT_MAX)
		return error_set(e, CLOVER_EINVAL, "endpoint", "endpoint '%.64s...' is too long",
		                 endpoint);
	if ((rc = proto_key_parse(server_pub->z85,
	                          strnlen(server_pub->z85, sizeof(server_pub->z85)), &chk, e)) != 0)
		return rc;
	for (i = 0; i < PROTO_CLIENT_ENDPOINTS_MAX; i++) {
		if (!c->ep[i].used) {
			ep = &c->ep[i];
			break;
		}
	}
	if (ep == NULL)
		return error_set(e, CLOVER_ETOOBIG, "endpoint", "more than %d schedulers",
		                 PROTO_CLIENT_ENDPOINTS_MAX);
	ep->dealer = zmq_socket(c->ctx, ZMQ_DEALER);
	if (ep->dealer == NULL || common_opts(ep->dealer) != 0 ||
	    setopt_int(ep->dealer, ZMQ_IMMEDIATE, 1) != 0 ||
	    setopt_int(ep->dealer, ZMQ_RECONNECT_IVL_MAX, RECONNECT_MAX_MS) != 0 ||
	    zmq_setsockopt(ep->dealer, ZMQ_CURVE_SERVERKEY, server_pub->z85, PROTO_KEY_Z85_LEN) !=
	        0 ||
	    zmq_setsockopt(ep->dealer, ZMQ_CURVE_PUBLICKEY, c->pub.z85, PROTO_KEY_Z85_LEN) != 0 ||
	    zmq_setsockopt(ep->dealer, ZMQ_CURVE_SECRETKEY, c->sec.z85, PROTO_KEY_Z85_LEN) != 0) {
		rc = zfail(e, "DEALER socket");
		goto fail;
	}
	snprintf(mon_addr, sizeof(mon_addr), "inproc://proto-monitor-%u", c->mon_seq++);
	if (zmq_socket_monitor(ep->dealer, mon_addr,
	                       ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED |
	                           ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
	                           ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
	                           ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) != 0 ||
	    (ep->mon = zmq_socket(c->ctx, ZMQ_PAIR)) == NULL ||
	    setopt_int(ep->mon, ZMQ_LINGER, 0) != 0 || zmq_connect(ep->mon, mon_addr) != 0) {
		rc = zfail(e, "monitor socket");
		goto fail;
	}
	if (zmq_connect(ep->dealer, endpoint) != 0) {
		int err = zmq_errno();

		rc = error_set(e, zerr(err), "endpoint", "cannot connect to %s: %s", endpoint,
		               zmq_strerror(err));
		goto fail;
	}
	ep->used = true;
	ep->state = LINK_NEW;
	snprintf(ep->addr, sizeof(ep->addr), "%s", endpoint);
	if (i + 1 > c->nep)
		c->nep = i + 1;
	if (index)
		*index = i;
	return 0;
fail:
	endpoint_close(ep);
	return rc;
}

int proto_client_new(const char *const *endpoints, size_t n, const struct proto_key *secret,
                     const struct proto_key *server_pub, struct proto_client **out,
                     struct error_info *e)
{
	struct proto_client *c;
	int rc;

	*out = NULL;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return error_set(e, CLOVER_ENOMEM, "", "out of memory");
	c->wake_fd = -1;
	buf_init(&c->out, PROTO_FRAME_MAX);
	c->sec = *secret;
	c->sec.z85[PROTO_KEY_Z85_LEN] = '\0';
	if (proto_key_public(&c->sec, &c->pub) != 0) {
		rc = error_set(e, CLOVER_EINVAL, "key",
		               "the executor secret key is not a valid key");
		goto fail;
	}
	if ((rc = wake_fd_new(e, &c->wake_fd)) != 0)
		goto fail;
	c->ctx = zmq_ctx_new();
	if (c->ctx == NULL) {
		rc = zfail(e, "zmq_ctx_new");
		goto fail;
	}
	for (size_t i = 0; i < n; i++)
		if ((rc = proto_client_connect(c, endpoints[i], server_pub, NULL, e)) != 0)
			goto fail;
	*out = c;
	return 0;
fail:
	proto_client_free(c);
	return rc;
}

void proto_client_free(struct proto_client *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->nep; i++) {
		if (c->ep[i].used) {
			/* Keep the linger so a final bye gets out. */
			zmq_socket_monitor(c->ep[i].dealer, NULL, 0);
			zmq_close(c->ep[i].dealer);
			zmq_close(c->ep[i].mon);
		}
	}
	if (c->ctx)
		zmq_ctx_term(c->ctx);
	if (c->wake_fd >= 0)
		close(c->wake_fd);
	buf_free(&c->out);
	free(c);
}

int proto_client_disconnect(struct proto_client *c, size_t index)
{
	if (index >= PROTO_CLIENT_ENDPOINTS_MAX || !c->ep[index].used)
		return CLOVER_ENOENT;
	endpoint_close(&c->ep[index]);
	return 0;
}

const char *proto_client_endpoint(const struct proto_client *c, size_t index)
{
	if (index >= PROTO_CLIENT_ENDPOINTS_MAX || !c->ep[index].used)
		return NULL;
	return c->ep[index].addr;
}

int proto_client_send_frame(struct proto_client *c, size_t index, const void *data, size_t len)
{
	if (index >= PROTO_CLIENT_ENDPOINTS_MAX || !c->ep[index].used)
		return CLOVER_ENOENT;
	if (zmq_send(c->ep[index].dealer, data, len, ZMQ_DONTWAIT) < 0)
		return zerr(zmq_errno());
	return 0;
}

int proto_client_send(struct proto_client *c, size_t index, const struct proto_msg *msg)
{
	int rc;

	if (index >= PROTO_CLIENT_ENDPOINTS_MAX || !c->ep[index].used)
		return CLOVER_ENOENT;
	if ((rc = proto_encode(msg, &c->out)) != 0)
		return rc;
	return proto_client_send_frame(c, index, c->out.data, c->out.len);
}

void proto_client_wake(struct proto_client *c)
{
	wake_write(c->wake_fd);
}

/*
 * Reads one monitor event of endpoint i. Returns true and fills ev when it
 * changes the link state in a way the owner must hear about.
 */
static bool monitor_take(struct proto_client *c, size_t i, struct proto_client_event *ev)
{
	struct endpoint *ep = &c->ep[i];
	zmq_msg_t part;
	uint16_t event = 0;
	uint32_t value = 0;
	enum link_state to;

	zmq_msg_init(&part);
	if (zmq_msg_recv(&part, ep->mon, ZMQ_DONTWAIT) < 0) {
		zmq_msg_close(&part);
		return false;
	}
	if (zmq_msg_size(&part) >= 6) {
		memcpy(&event, zmq_msg_data(&part), 2);
		memcpy(&value, (const char *)zmq_msg_data(&part) + 2, 4);
	}
	zmq_msg_close(&part);
	drain_parts(ep->mon); /* the peer's address */
	switch (event) {
	case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
		to = LINK_UP;
		break;
	case ZMQ_EVENT_DISCONNECTED:
		/* A refused or failed handshake also disconnects: keep saying why. */
		if (ep->state != LINK_UP)
			return false;
		to = LINK_DOWN;
		break;
	case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
		to = LINK_REFUSED;
		break;
	case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
	case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
		to = LINK_FAILED;
		break;
	default:
		return false;
	}
	if (to == LINK_REFUSED || to == LINK_FAILED) {
		/*
		 * libzmq gives up on a connection whose handshake failed (it is
		 * a protocol error, not a network one): connect again later
		 * ourselves, so that a key allowed later gets in.
		 */
		if (ep->backoff_ms == 0)
			ep->backoff_ms = RETRY_FIRST_MS;
		ep->retry_at = time_mono_ms() + ep->backoff_ms;
		ep->backoff_ms =
		    ep->backoff_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : ep->backoff_ms * 2;
	} else if (to == LINK_UP) {
		ep->backoff_ms = 0;
		ep->retry_at = 0;
	}
	if (to == ep->state)
		return false;
	ep->state = to;
	memset(ev, 0, sizeof(*ev));
	ev->endpoint = i;
	switch (to) {
	case LINK_UP:
		ev->kind = PROTO_CLIENT_UP;
		log_at(LOG_INFO, SUB, "connected to scheduler %s", ep->addr);
		break;
	case LINK_DOWN:
		ev->kind = PROTO_CLIENT_DOWN;
		log_at(LOG_WARN, SUB, "lost the connection to scheduler %s; reconnecting",
		       ep->addr);
		break;
	case LINK_REFUSED:
		ev->kind = PROTO_CLIENT_REFUSED;
		log_at(LOG_WARN, SUB,
		       "scheduler %s refused this executor's key %s (ZAP status %u): add the "
		       "key to the scheduler's allowed keys",
		       ep->addr, c->pub.z85, value);
		break;
	default:
		ev->kind = PROTO_CLIENT_FAILED;
		log_at(LOG_WARN, SUB,
		       "handshake with scheduler %s failed (ZeroMQ event 0x%x, %u): is the "
		       "scheduler's public key right?",
		       ep->addr, event, value);
		break;
	}
	return true;
}

/* Connects again the endpoints whose handshake failed, when their time came. */
static void retry_due(struct proto_client *c, int64_t now)
{
	for (size_t i = 0; i < c->nep; i++) {
		struct endpoint *ep = &c->ep[i];

		if (!ep->used || ep->retry_at == 0 || ep->retry_at > now)
			continue;
		ep->retry_at = 0;
		zmq_disconnect(ep->dealer, ep->addr); /* ENOENT when libzmq dropped it already */
		if (zmq_connect(ep->dealer, ep->addr) != 0)
			log_at(LOG_WARN, SUB, "cannot connect again to %s: %s", ep->addr,
			       zmq_strerror(zmq_errno()));
	}
}

/* The earliest retry of a failed endpoint, or INT64_MAX. */
static int64_t next_retry(const struct proto_client *c)
{
	int64_t next = INT64_MAX;

	for (size_t i = 0; i < c->nep; i++)
		if (c->ep[i].used && c->ep[i].retry_at != 0 && c->ep[i].retry_at < next)
			next = c->ep[i].retry_at;
	return next;
}

/* One pass over every endpoint without waiting: 0 (event), ETIMEDOUT (none) or an error. */
static int client_take(struct proto_client *c, struct proto_client_event *ev, struct error_info *e)
{
	for (size_t i = 0; i < c->nep; i++)
		if (c->ep[i].used && monitor_take(c, i, ev))
			return 0;
	for (size_t k = 0; k < c->nep; k++) {
		size_t i = (c->rr + k) % c->nep;
		struct endpoint *ep = &c->ep[i];
		struct error_info de;
		zmq_msg_t body;
		int rc;

		if (!ep->used)
			continue;
		zmq_msg_init(&body);
		if (zmq_msg_recv(&body, ep->dealer, ZMQ_DONTWAIT) < 0) {
			int err = zmq_errno();

			zmq_msg_close(&body);
			if (err == EAGAIN)
				continue;
			return error_set(e, zerr(err), "", "receive from %s: %s", ep->addr,
			                 zmq_strerror(err));
		}
		c->rr = (i + 1) % c->nep;
		memset(ev, 0, sizeof(*ev));
		ev->kind = PROTO_CLIENT_MSG;
		ev->endpoint = i;
		if (zmq_msg_more(&body)) {
			drain_parts(ep->dealer);
			error_set(&de, CLOVER_EPROTO, "",
			          "a multi-part message (a frame is one part)");
			rc = CLOVER_EPROTO;
		} else {
			rc = proto_decode(zmq_msg_data(&body), zmq_msg_size(&body), &ev->msg, &de);
		}
		zmq_msg_close(&body);
		if (rc == CLOVER_EPROTO)
			log_at(LOG_WARN, SUB, "dropped a malformed frame from scheduler %s: %s",
			       ep->addr, de.message);
		if (rc != 0 && e)
			*e = de;
		return rc;
	}
	return CLOVER_ETIMEDOUT;
}

int proto_client_recv(struct proto_client *c, struct proto_client_event *ev, int timeout_ms,
                      struct error_info *e)
{
	zmq_pollitem_t items[2 * PROTO_CLIENT_ENDPOINTS_MAX + 1];
	int64_t deadline = deadline_of(timeout_ms);

	memset(ev, 0, sizeof(*ev));
	for (;;) {
		int rc;
		int n = 0;
		long wait;
		int64_t retry;

		retry_due(c, time_mono_ms());
		rc = client_take(c, ev, e);
		if (rc != CLOVER_ETIMEDOUT)
			return rc;
		items[n++] = (zmq_pollitem_t){NULL, c->wake_fd, ZMQ_POLLIN, 0};
		for (size_t i = 0; i < c->nep; i++) {
			if (!c->ep[i].used)
				continue;
			items[n++] = (zmq_pollitem_t){c->ep[i].dealer, 0, ZMQ_POLLIN, 0};
			items[n++] = (zmq_pollitem_t){c->ep[i].mon, 0, ZMQ_POLLIN, 0};
		}
		wait = remaining(deadline);
		if (wait == 0)
			return CLOVER_ETIMEDOUT;
		if ((retry = next_retry(c)) != INT64_MAX) {
			long until = (long)(retry - time_mono_ms());

			until = until < 0 ? 0 : until + 1;
			if (wait < 0 || until < wait)
				wait = until;
		}
		if (zmq_poll(items, n, wait) < 0) {
			int err = zmq_errno();

			if (err == EINTR)
				return CLOVER_EAGAIN;
			return error_set(e, zerr(err), "", "poll: %s", zmq_strerror(err));
		}
		if (items[0].revents & ZMQ_POLLIN) {
			wake_drain(c->wake_fd);
			memset(ev, 0, sizeof(*ev));
			ev->kind = PROTO_CLIENT_WAKE;
			return 0;
		}
	}
}
