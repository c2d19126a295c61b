/* SPDX-License-Identifier: MIT */
/*
 * Wire messages between schedulers and executors (docs/protocol.md), and
 * their codec. A *frame* is one encoded message: a three-byte header (magic,
 * version, kind) and the kind's body. *Batched* kinds (dispatch, ack,
 * progress, result, result-ack, kill) carry a list of items, so that one
 * frame moves many runs. An *attempt ref* is (run_id, shard, attempt,
 * ticket); the ticket is the number the scheduler gave the dispatch, echoed
 * in every report so that reports of a superseded dispatch are recognised.
 *
 * Ownership: a message built by the caller for proto_encode() points at the
 * caller's memory. A message filled by proto_decode() owns everything it
 * points at, until proto_msg_clear(). All functions here are pure (no I/O,
 * no globals) and thread-safe on distinct messages.
 */
#ifndef CLOVER_PROTO_MSG_H
#define CLOVER_PROTO_MSG_H

#include "base/buf.h"
#include "base/error.h"
#include "core/job.h"
#include "core/run.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROTO_MAGIC       0xCB
#define PROTO_VERSION     1 /* the newest version this build speaks */
#define PROTO_VERSION_MIN 1 /* the oldest */

/* Limits (docs/protocol.md "Limits"); both encoder and decoder enforce them. */
#define PROTO_FRAME_MAX         (4u * 1024 * 1024)
#define PROTO_BATCH_MAX         4096 /* items of a batched kind */
#define PROTO_ID_MAX            128  /* executor_id, scheduler_id */
#define PROTO_HOST_MAX          255
#define PROTO_SOFTWARE_MAX      64
#define PROTO_LABELS_MAX        64
#define PROTO_LABEL_MAX         256 /* a label's key or value */
#define PROTO_HANDLERS_MAX      256
#define PROTO_HANDLER_MAX       128
#define PROTO_JOBS_MAX          1024 /* job specs declared in a hello */
#define PROTO_RUNNING_MAX       65536
#define PROTO_CAPACITY_MAX      65536
#define PROTO_TEXT_MAX          4096 /* messages and reasons */
#define PROTO_SHARD_PARAM_MAX   4096
#define PROTO_PARAMS_MAX        (64 * 1024)
#define PROTO_ATTEMPT_MAX       1000000
#define PROTO_TIME_MAX          INT64_C(253402300799999) /* 9999-12-31T23:59:59.999Z */
#define PROTO_LOG_CHUNK_MAX     (1024 * 1024)
#define PROTO_LOG_OFFSET_MAX    (UINT64_C(1) << 53)
#define PROTO_LZ4_MIN           512 /* log chunks this long or longer are compressed */
#define PROTO_HEARTBEAT_MIN_MS  10
#define PROTO_HEARTBEAT_MAX_MS  60000
#define PROTO_DEAD_AFTER_MAX_MS 600000
#define PROTO_HEARTBEAT_MS      1000 /* defaults */
#define PROTO_DEAD_AFTER_MS     3000

enum proto_kind {
	PROTO_HELLO = 1,
	PROTO_WELCOME,
	PROTO_HEARTBEAT,
	PROTO_DISPATCH,
	PROTO_ACK,
	PROTO_PROGRESS,
	PROTO_LOG,
	PROTO_RESULT,
	PROTO_RESULT_ACK,
	PROTO_KILL,
	PROTO_DRAIN,
	PROTO_BYE,
};
#define PROTO_KIND_MAX PROTO_BYE

enum proto_ack_status {
	PROTO_ACK_ACCEPTED,
	PROTO_ACK_BUSY,
	PROTO_ACK_DRAINING,
	PROTO_ACK_INVALID,
	PROTO_ACK_DUPLICATE,
};

enum proto_result_ack_status { PROTO_RACK_RECORDED, PROTO_RACK_STALE, PROTO_RACK_UNKNOWN };

enum proto_bye_reason {
	PROTO_BYE_SHUTDOWN,
	PROTO_BYE_DRAINED,
	PROTO_BYE_VERSION,
	PROTO_BYE_REFUSED,
	PROTO_BYE_NO_SESSION,
	PROTO_BYE_TIMEOUT,
};

struct proto_kv {
	const char *key;
	const char *val;
};

/* An attempt, as named in hello's `running` list. */
struct proto_ref {
	int64_t run_id;
	int shard;
	int attempt;
	uint32_t ticket;
};

struct proto_hello {
	uint8_t min_version, max_version;
	const char *executor_id;
	uint64_t incarnation;
	const char *host; /* or NULL */
	uint32_t pid;
	const char *software; /* or NULL */
	uint32_t capacity;
	const struct proto_kv *labels;
	uint32_t nlabels;
	const char *const *handlers;
	uint32_t nhandlers;
	const char *const *jobs; /* declared job specs, JSON */
	uint32_t njobs;
	const struct proto_ref *running;
	uint32_t nrunning;
};

struct proto_welcome {
	uint8_t version;
	const char *scheduler_id;
	uint64_t incarnation;
	uint32_t heartbeat_ms;
	uint32_t dead_after_ms;
};

struct proto_heartbeat {
	uint64_t seq;
	int64_t at;
	uint32_t running;
	uint32_t capacity;
	bool draining;
};

struct proto_dispatch_item {
	int64_t run_id;
	int shard;
	int attempt;
	uint32_t ticket;
	int shard_count;
	int64_t scheduled_at;
	int64_t not_before; /* 0: at once */
	const char *job;
	const char *spec;        /* the job spec, JSON text */
	const char *shard_param; /* or NULL */
	const char *params;      /* or NULL */
};

struct proto_ack_item {
	int64_t run_id;
	int shard;
	int attempt;
	uint32_t ticket;
	enum proto_ack_status status;
	const char *message; /* or NULL */
};

struct proto_progress_item {
	int64_t run_id;
	int shard;
	int attempt;
	uint32_t ticket;
	int64_t at;
	bool started;
	double fraction;     /* -1: unknown, else 0..1 */
	const char *message; /* or NULL */
};

struct proto_result_item {
	int64_t run_id;
	int shard;
	int attempt;
	uint32_t ticket;
	enum run_state state; /* SUCCEEDED, FAILED, TIMED_OUT or CANCELLED */
	int exit_code;        /* -1: none */
	int64_t started_at;   /* 0: never started */
	int64_t finished_at;
	const char *message; /* or NULL */
};

struct proto_result_ack_item {
	int64_t run_id;
	int shard;
	int attempt;
	uint32_t ticket;
	enum proto_result_ack_status status;
};

struct proto_kill_item {
	int64_t run_id;
	int shard;
	int attempt;
	uint32_t ticket;
	bool timed_out;
};

struct proto_log {
	int64_t run_id;
	int shard;
	int attempt;
	uint32_t ticket;
	uint64_t offset;  /* of this chunk in the attempt's output */
	const char *data; /* raw bytes (decoded: NUL-terminated, NULs may occur inside) */
	size_t len;       /* 1..PROTO_LOG_CHUNK_MAX */
};

struct proto_drain {
	uint32_t deadline_ms; /* 0: none */
	const char *reason;   /* or NULL */
};

struct proto_bye {
	enum proto_bye_reason reason;
	const char *message; /* or NULL */
};

/* Batched kinds: `n` (1..PROTO_BATCH_MAX) items. */
#define PROTO_BATCH(item_type)                                                                     \
	struct {                                                                                   \
		const item_type *items;                                                            \
		uint32_t n;                                                                        \
	}

#define PROTO_OWNED_MAX 8

struct proto_msg {
	enum proto_kind kind;
	uint8_t version; /* proto_decode: the frame's; proto_encode: 0 means PROTO_VERSION */
	union {
		struct proto_hello hello;
		struct proto_welcome welcome;
		struct proto_heartbeat heartbeat;
		PROTO_BATCH(struct proto_dispatch_item) dispatch;
		PROTO_BATCH(struct proto_ack_item) ack;
		PROTO_BATCH(struct proto_progress_item) progress;
		struct proto_log log;
		PROTO_BATCH(struct proto_result_item) result;
		PROTO_BATCH(struct proto_result_ack_item) result_ack;
		PROTO_BATCH(struct proto_kill_item) kill;
		struct proto_drain drain;
		struct proto_bye bye;
	};
	void *owned_[PROTO_OWNED_MAX]; /* private: what proto_decode() allocated */
};

/*
 * Encodes `m` as one frame into `out`, replacing what `out` held. Every field
 * is checked against the limits the decoder applies. Returns 0;
 * CLOVER_EINVAL (a field out of range, a required string missing, an unknown
 * kind or version), CLOVER_ETOOBIG (a string or list over its limit, the
 * frame over PROTO_FRAME_MAX or over out->max) or CLOVER_ENOMEM, and then
 * `out` is empty. `out` should be buf_init()ed with a max of at least
 * PROTO_FRAME_MAX. Thread-safe on distinct buffers.
 */
int proto_encode(const struct proto_msg *m, struct buf *out);

/*
 * As proto_encode(), for batched kinds only as many leading items as fit in
 * one frame (at most PROTO_BATCH_MAX, within PROTO_FRAME_MAX and out->max);
 * *taken says how many. The sender sends the frame and calls again with the
 * rest. Other kinds are encoded whole (*taken = 1). Fails, filling `e` (may
 * be NULL) with the field's path and the problem, when a field is invalid or
 * when not even one item fits.
 */
int proto_encode_batch(const struct proto_msg *m, struct buf *out, uint32_t *taken,
                       struct error_info *e);

/*
 * Decodes one frame of `len` bytes. On success fills `m` (which then owns its
 * strings and lists: free with proto_msg_clear()). On error returns
 * CLOVER_EPROTO (malformed, with `e` naming the field and the problem, e.g.
 * field "dispatch[3].spec", "dispatch[3].spec: 300000 bytes, over the limit
 * of 262144") or CLOVER_ENOMEM; `m` is then zeroed and owns nothing. Never
 * reads outside [data, data + len). Thread-safe.
 */
int proto_decode(const void *data, size_t len, struct proto_msg *m, struct error_info *e);

/*
 * Frees what a decoded message owns and zeroes it. On a message the caller
 * built (zero-initialised, then filled) it only zeroes. NULL is a no-op.
 */
void proto_msg_clear(struct proto_msg *m);

/*
 * True when two messages have the same kind and field values (strings by
 * content, NULL only equal to NULL). For tests and the fuzz target.
 */
bool proto_msg_equal(const struct proto_msg *a, const struct proto_msg *b);

/* "hello", "result-ack", ...; "unknown" for other values. Static strings. */
const char *proto_kind_name(int kind);

/* "recorded", "busy", "no_session", ...: names of the status enums. */
const char *proto_ack_status_name(enum proto_ack_status s);
const char *proto_result_ack_status_name(enum proto_result_ack_status s);
const char *proto_bye_reason_name(enum proto_bye_reason r);

/*
 * Picks the version for a session with a peer that speaks [peer_min,
 * peer_max]: the highest version both speak. Returns 0 and sets *out, or
 * CLOVER_ENOTSUP when there is none.
 */
int proto_negotiate(unsigned peer_min, unsigned peer_max, uint8_t *out);

#endif
