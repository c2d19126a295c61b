/* SPDX-License-Identifier: MIT */
/*
 * The scheduler's end of the wire protocol (docs/protocol.md): a thread of
 * its own that owns the ROUTER socket, speaks the session protocol with every
 * remote executor, and translates between protocol frames and the engine.
 *
 * Terms: a *session* is one executor connection that said hello; its
 * executor *id* is the hello's executor_id. The *engine thread* is the
 * daemon's main thread; it never touches the socket. It hands dispatches,
 * kills and result-acks to this module with remote_dispatch(),
 * remote_kill() and remote_applied() (staged without a lock), then calls
 * remote_flush() once per batch, which publishes them to the remote thread
 * under a mutex and wakes it. The remote thread reports back through
 * `struct remote_hooks`, which the daemon implements by posting to the
 * engine thread's inbox.
 *
 * A result is acknowledged to its executor only once durable: the engine
 * thread calls remote_applied() after it has submitted the run snapshot to
 * the store, and the remote thread calls store_flush() before it sends the
 * result-acks of a batch.
 */
#ifndef CLOVER_DAEMON_REMOTE_H
#define CLOVER_DAEMON_REMOTE_H

#include "base/error.h"
#include "core/engine.h"
#include "core/run.h"
#include "proto/msg.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct remote;
struct store;

/* Called on the remote thread; must not block for long. */
struct remote_hooks {
	void *ctx;
	/*
	 * An executor said hello (labels are "k=v"); `running` lists the attempts
	 * it runs or holds results of (for reconciliation after a restart).
	 */
	void (*join)(void *ctx, const char *id, const char *const *labels, size_t nlabels,
	             int capacity, const struct proto_ref *running, size_t nrunning);
	/* An executor left (bye), was declared dead, or was replaced. */
	void (*leave)(void *ctx, const char *id);
	void (*started)(void *ctx, int64_t run_id, int shard, int attempt, int64_t at);
	void (*progress)(void *ctx, int64_t run_id, int shard, int attempt, double fraction,
	                 const char *message);
	/*
	 * A result from executor `id`, dispatched with `ticket`; the daemon
	 * applies it and answers with remote_applied().
	 */
	void (*finished)(void *ctx, const char *id, uint32_t ticket, int64_t run_id, int shard,
	                 int attempt, enum run_state state, int exit_code, const char *message,
	                 int64_t at);
	/* The job specs (JSON) an executor declared in its hello; NULL: ignored. */
	void (*declare)(void *ctx, const char *id, const char *const *jobs, size_t njobs);
	/* The executor did not accept a dispatch (busy, draining, invalid). */
	void (*refused)(void *ctx, int64_t run_id, int shard, int attempt, const char *why);
};

struct remote_options {
	const char *listen;        /* "127.0.0.1:7070" or a ZeroMQ endpoint ("tcp://...") */
	const char *server_key;    /* path prefix of NAME.key / NAME.pub */
	const char *executor_keys; /* file of accepted executor public keys */
	const char *scheduler_id;  /* sent in welcome; NULL: "scheduler" */
	int64_t heartbeat_ms;      /* 0: PROTO_HEARTBEAT_MS */
	int64_t dead_after_ms;     /* 0: PROTO_DEAD_AFTER_MS */
	struct store *store;       /* borrowed: logs and the durability of results */
	struct remote_hooks hooks;
};

/* An executor as the operations API shows it. */
struct remote_executor {
	char id[129];
	char host[256];
	char labels[1024]; /* "k=v" lines, joined by newlines */
	char version[65];  /* the hello's software */
	char state[16];    /* the session's state: active, draining, ... */
	int capacity;
	int running;            /* from its last heartbeat */
	int64_t last_heartbeat; /* wall ms of the last frame heard */
};

/*
 * Reads the keys, binds the ROUTER and starts the remote thread. On error
 * `e` says why (a missing key file, an address in use) and nothing runs.
 */
int remote_start(const struct remote_options *opt, struct remote **out, struct error_info *e);

/*
 * Says bye (shutdown) to every executor, stops the thread and frees
 * everything; staged or queued items are dropped. NULL is a no-op. Call from
 * the engine thread, before the engine and the store are freed.
 */
void remote_stop(struct remote *r);

/* The endpoint bound ("tcp://127.0.0.1:7070"). Valid until remote_stop(). */
const char *remote_endpoint(const struct remote *r);

/*
 * Engine thread only: stage a DISPATCH or KILL action (copied; the spec is
 * referenced) for its executor. A dispatch for an executor without a session
 * is dropped with a log line: its leave is on its way to the engine, which
 * then fails the shard over. CLOVER_ENOMEM when it could not be staged.
 */
int remote_dispatch(struct remote *r, const struct engine_action *a);
int remote_kill(struct remote *r, const struct engine_action *a);

/*
 * Engine thread only: the result (executor `id`, `ticket`, run, shard,
 * attempt) has been applied (stale: ignored by the engine as superseded) and
 * its run submitted to the store; stage its result-ack.
 */
int remote_applied(struct remote *r, const char *id, uint32_t ticket, int64_t run_id, int shard,
                   int attempt, bool stale);

/* Engine thread only: hands what was staged to the remote thread and wakes it. */
void remote_flush(struct remote *r);

/*
 * Re-reads the file of accepted executor keys (SIGHUP): later handshakes use
 * the new set, connected executors stay. Thread-safe. On error (`e` says why)
 * the old set stays.
 */
int remote_reload_keys(struct remote *r, const char *executor_keys, struct error_info *e);

/*
 * Asks executor `id` to drain (finish its shards, take no new ones, then
 * leave). Thread-safe. CLOVER_ENOENT: no such executor.
 */
int remote_drain(struct remote *r, const char *id);

/*
 * Copies up to `max` executors into `out`; returns how many there are.
 * Thread-safe.
 */
size_t remote_executors(struct remote *r, struct remote_executor *out, size_t max);

#endif
