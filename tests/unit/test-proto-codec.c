/* SPDX-License-Identifier: MIT */
/*
 * The wire codec (src/proto/codec.c, docs/protocol.md): every message kind
 * round-trips; every field's limit holds at the limit and fails one past it,
 * in the encoder (CLOVER_EINVAL / CLOVER_ETOOBIG) and in the decoder
 * (CLOVER_EPROTO), with the error naming the field; malformed frames (a
 * table of hand-made byte strings, every truncation of every kind, every
 * single-byte corruption) are rejected without crashing; batches split at
 * the frame and count limits; log chunks are LZ4-compressed above the
 * threshold; every allocation failure while decoding is a clean
 * CLOVER_ENOMEM.
 *
 * The decoder side of the limit table is fed by raw_encode(), a second,
 * unchecked writer of the documented layout written from docs/protocol.md.
 * For valid messages its bytes must equal proto_encode()'s, which checks the
 * encoder against the document, not against itself.
 */
#include "proto/msg.h"

#include "clover.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <setjmp.h>
#include <cmocka.h>

#define BIG (PROTO_LOG_CHUNK_MAX + 2)

static char *big; /* BIG 'x' characters and a NUL */

/* A string of n 'x' (a suffix of `big`). */
static const char *S(size_t n)
{
	return big + BIG - n;
}

/* ---- a second, unchecked writer of the documented layout ---- */

struct w {
	unsigned char *p;
	size_t len, cap;
};

static void w_put(struct w *w, const void *p, size_t n)
{
	if (w->len + n > w->cap) {
		w->cap = (w->len + n) * 2 + 64;
		w->p = realloc(w->p, w->cap);
		assert_non_null(w->p);
	}
	if (n)
		memcpy(w->p + w->len, p, n);
	w->len += n;
}

static void w_u8(struct w *w, unsigned v)
{
	unsigned char c = (unsigned char)v;

	w_put(w, &c, 1);
}

static void w_uv(struct w *w, uint64_t v)
{
	while (v >= 0x80) {
		w_u8(w, (unsigned)(v & 0x7f) | 0x80);
		v >>= 7;
	}
	w_u8(w, (unsigned)v);
}

static void w_sv(struct w *w, int64_t v)
{
	w_uv(w, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

static void w_u32(struct w *w, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		w_u8(w, (v >> (8 * i)) & 0xff);
}

static void w_f64(struct w *w, double d)
{
	uint64_t u;

	memcpy(&u, &d, 8);
	for (int i = 0; i < 8; i++)
		w_u8(w, (unsigned)(u >> (8 * i)) & 0xff);
}

static void w_str(struct w *w, const char *s)
{
	if (s == NULL) {
		w_uv(w, 0);
		return;
	}
	w_uv(w, strlen(s) + 1);
	w_put(w, s, strlen(s));
}

static void w_ref(struct w *w, int64_t run, int shard, int attempt, uint32_t ticket)
{
	w_uv(w, (uint64_t)run);
	w_uv(w, (uint64_t)(int64_t)shard);
	w_uv(w, (uint64_t)(int64_t)attempt);
	w_uv(w, ticket);
}

static void w_hdr(struct w *w, unsigned kind)
{
	w_u8(w, PROTO_MAGIC);
	w_u8(w, PROTO_VERSION);
	w_u8(w, kind);
}

static unsigned state_code(enum run_state s)
{
	switch (s) {
	case RUN_SUCCEEDED:
		return 1;
	case RUN_FAILED:
		return 2;
	case RUN_TIMED_OUT:
		return 3;
	case RUN_CANCELLED:
		return 4;
	default:
		return 0;
	}
}

/* Writes `m` as docs/protocol.md lays it out, checking nothing; log chunks raw. */
static void raw_encode(const struct proto_msg *m, struct w *w)
{
	w->len = 0;
	w_hdr(w, m->kind);
	switch (m->kind) {
	case PROTO_HELLO: {
		const struct proto_hello *h = &m->hello;

		w_uv(w, h->min_version);
		w_uv(w, h->max_version);
		w_str(w, h->executor_id);
		w_uv(w, h->incarnation);
		w_str(w, h->host);
		w_uv(w, h->pid);
		w_str(w, h->software);
		w_uv(w, h->capacity);
		w_u32(w, h->nlabels);
		for (uint32_t i = 0; i < h->nlabels; i++) {
			w_str(w, h->labels[i].key);
			w_str(w, h->labels[i].val);
		}
		w_u32(w, h->nhandlers);
		for (uint32_t i = 0; i < h->nhandlers; i++)
			w_str(w, h->handlers[i]);
		w_u32(w, h->njobs);
		for (uint32_t i = 0; i < h->njobs; i++)
			w_str(w, h->jobs[i]);
		w_u32(w, h->nrunning);
		for (uint32_t i = 0; i < h->nrunning; i++) {
			const struct proto_ref *r = &h->running[i];

			w_ref(w, r->run_id, r->shard, r->attempt, r->ticket);
		}
		break;
	}
	case PROTO_WELCOME:
		w_uv(w, m->welcome.version);
		w_str(w, m->welcome.scheduler_id);
		w_uv(w, m->welcome.incarnation);
		w_uv(w, m->welcome.heartbeat_ms);
		w_uv(w, m->welcome.dead_after_ms);
		break;
	case PROTO_HEARTBEAT:
		w_uv(w, m->heartbeat.seq);
		w_uv(w, (uint64_t)m->heartbeat.at);
		w_uv(w, m->heartbeat.running);
		w_uv(w, m->heartbeat.capacity);
		w_uv(w, m->heartbeat.draining);
		break;
	case PROTO_DISPATCH:
		w_u32(w, m->dispatch.n);
		for (uint32_t i = 0; i < m->dispatch.n; i++) {
			const struct proto_dispatch_item *it = &m->dispatch.items[i];

			w_ref(w, it->run_id, it->shard, it->attempt, it->ticket);
			w_uv(w, (uint64_t)(int64_t)it->shard_count);
			w_uv(w, (uint64_t)it->scheduled_at);
			w_uv(w, (uint64_t)it->not_before);
			w_str(w, it->job);
			w_str(w, it->spec);
			w_str(w, it->shard_param);
			w_str(w, it->params);
		}
		break;
	case PROTO_ACK:
		w_u32(w, m->ack.n);
		for (uint32_t i = 0; i < m->ack.n; i++) {
			const struct proto_ack_item *it = &m->ack.items[i];

			w_ref(w, it->run_id, it->shard, it->attempt, it->ticket);
			w_uv(w, (uint64_t)it->status);
			w_str(w, it->message);
		}
		break;
	case PROTO_PROGRESS:
		w_u32(w, m->progress.n);
		for (uint32_t i = 0; i < m->progress.n; i++) {
			const struct proto_progress_item *it = &m->progress.items[i];

			w_ref(w, it->run_id, it->shard, it->attempt, it->ticket);
			w_uv(w, (uint64_t)it->at);
			w_uv(w, it->started);
			w_f64(w, it->fraction);
			w_str(w, it->message);
		}
		break;
	case PROTO_LOG:
		w_ref(w, m->log.run_id, m->log.shard, m->log.attempt, m->log.ticket);
		w_uv(w, m->log.offset);
		w_uv(w, 0);
		w_uv(w, m->log.len);
		w_put(w, m->log.data, m->log.len);
		break;
	case PROTO_RESULT:
		w_u32(w, m->result.n);
		for (uint32_t i = 0; i < m->result.n; i++) {
			const struct proto_result_item *it = &m->result.items[i];

			w_ref(w, it->run_id, it->shard, it->attempt, it->ticket);
			w_uv(w, state_code(it->state));
			w_sv(w, it->exit_code);
			w_uv(w, (uint64_t)it->started_at);
			w_uv(w, (uint64_t)it->finished_at);
			w_str(w, it->message);
		}
		break;
	case PROTO_RESULT_ACK:
		w_u32(w, m->result_ack.n);
		for (uint32_t i = 0; i < m->result_ack.n; i++) {
			const struct proto_result_ack_item *it = &m->result_ack.items[i];

			w_ref(w, it->run_id, it->shard, it->attempt, it->ticket);
			w_uv(w, (uint64_t)it->status);
		}
		break;
	case PROTO_KILL:
		w_u32(w, m->kill.n);
		for (uint32_t i = 0; i < m->kill.n; i++) {
			const struct proto_kill_item *it = &m->kill.items[i];

			w_ref(w, it->run_id, it->shard, it->attempt, it->ticket);
			w_uv(w, it->timed_out);
		}
		break;
	case PROTO_DRAIN:
		w_uv(w, m->drain.deadline_ms);
		w_str(w, m->drain.reason);
		break;
	case PROTO_BYE:
		w_uv(w, (uint64_t)m->bye.reason);
		w_str(w, m->bye.message);
		break;
	}
}

/* ---- fixture: one valid message of each kind, in mutable storage ---- */

struct fx {
	struct proto_msg m;
	struct proto_kv labels[PROTO_LABELS_MAX + 1];
	const char *handlers[PROTO_HANDLERS_MAX + 1];
	const char *jobs[PROTO_JOBS_MAX + 1];
	struct proto_ref running[PROTO_RUNNING_MAX + 1];
	struct proto_dispatch_item disp[PROTO_BATCH_MAX + 1];
	struct proto_ack_item ack[PROTO_BATCH_MAX + 1];
	struct proto_progress_item prog[PROTO_BATCH_MAX + 1];
	struct proto_result_item res[PROTO_BATCH_MAX + 1];
	struct proto_result_ack_item rack[PROTO_BATCH_MAX + 1];
	struct proto_kill_item kill[PROTO_BATCH_MAX + 1];
};

static struct fx *fx;

static const char spec_json[] = "{\"name\":\"nightly-report\",\"schedule\":\"0 0 2 * * ?\","
                                "\"run\":{\"shell\":\"/usr/local/bin/report --all\"}}";
#define T0 INT64_C(1767225600000) /* 2026-01-01T00:00:00Z */

static void fx_fill(void)
{
	for (int i = 0; i <= PROTO_LABELS_MAX; i++)
		fx->labels[i] = (struct proto_kv){"zone", "eu-west-1"};
	for (int i = 0; i <= PROTO_HANDLERS_MAX; i++)
		fx->handlers[i] = "resize-images";
	for (int i = 0; i <= PROTO_JOBS_MAX; i++)
		fx->jobs[i] = "{\"name\":\"declared\"}";
	for (int i = 0; i <= PROTO_RUNNING_MAX; i++)
		fx->running[i] = (struct proto_ref){1000 + i, i % 7, 1 + i % 3, (uint32_t)i * 3};
	for (int i = 0; i <= PROTO_BATCH_MAX; i++) {
		fx->disp[i] = (struct proto_dispatch_item){
		    .run_id = 5000 + i,
		    .shard = i % 4,
		    .attempt = 1,
		    .ticket = 70000u + (uint32_t)i,
		    .shard_count = 4,
		    .scheduled_at = T0 + i,
		    .not_before = i % 2 ? T0 + 800 : 0,
		    .job = "nightly-report",
		    .spec = spec_json,
		    .shard_param = i % 3 ? "region=eu" : NULL,
		    .params = i % 5 ? NULL : "{\"full\":true}",
		};
		fx->ack[i] = (struct proto_ack_item){
		    5000 + i, 0, 1, 70000u + (uint32_t)i, PROTO_ACK_ACCEPTED, NULL};
		fx->prog[i] = (struct proto_progress_item){
		    5000 + i, 0, 1, 70000u + (uint32_t)i, T0 + 5, i == 0, 0.25, "2500 rows"};
		fx->res[i] = (struct proto_result_item){
		    5000 + i, 0, 1, 70000u + (uint32_t)i, RUN_SUCCEEDED, 0, T0 + 5, T0 + 900, NULL};
		fx->rack[i] = (struct proto_result_ack_item){5000 + i, 0, 1, 70000u + (uint32_t)i,
		                                             PROTO_RACK_RECORDED};
		fx->kill[i] = (struct proto_kill_item){5000 + i, 0, 1, 70000u + (uint32_t)i, false};
	}
}

/* Resets the fixture to the valid sample of `kind` (batches with one item). */
static struct proto_msg *fx_msg(enum proto_kind kind)
{
	struct proto_msg *m = &fx->m;

	fx_fill();
	memset(m, 0, sizeof(*m));
	m->kind = kind;
	switch (kind) {
	case PROTO_HELLO:
		m->hello = (struct proto_hello){
		    .min_version = 1,
		    .max_version = 1,
		    .executor_id = "exec-7.example.org",
		    .incarnation = UINT64_C(0xfeedfacecafebeef),
		    .host = "exec-7.example.org",
		    .pid = 4242,
		    .software = "clover 0.1.0",
		    .capacity = 64,
		    .labels = fx->labels,
		    .nlabels = 2,
		    .handlers = fx->handlers,
		    .nhandlers = 1,
		    .jobs = fx->jobs,
		    .njobs = 1,
		    .running = fx->running,
		    .nrunning = 3,
		};
		break;
	case PROTO_WELCOME:
		m->welcome = (struct proto_welcome){1, "sched-1", 99, 1000, 3000};
		break;
	case PROTO_HEARTBEAT:
		m->heartbeat = (struct proto_heartbeat){17, T0, 3, 64, false};
		break;
	case PROTO_DISPATCH:
		m->dispatch.items = fx->disp;
		m->dispatch.n = 1;
		break;
	case PROTO_ACK:
		m->ack.items = fx->ack;
		m->ack.n = 1;
		break;
	case PROTO_PROGRESS:
		m->progress.items = fx->prog;
		m->progress.n = 1;
		break;
	case PROTO_LOG:
		m->log = (struct proto_log){5000, 0, 1, 70000, 0, "hello\n", 6};
		break;
	case PROTO_RESULT:
		m->result.items = fx->res;
		m->result.n = 1;
		break;
	case PROTO_RESULT_ACK:
		m->result_ack.items = fx->rack;
		m->result_ack.n = 1;
		break;
	case PROTO_KILL:
		m->kill.items = fx->kill;
		m->kill.n = 1;
		break;
	case PROTO_DRAIN:
		m->drain = (struct proto_drain){30000, "maintenance"};
		break;
	case PROTO_BYE:
		m->bye = (struct proto_bye){PROTO_BYE_SHUTDOWN, "SIGTERM"};
		break;
	}
	return m;
}

static int setup(void **state)
{
	(void)state;
	big = malloc(BIG + 1);
	fx = calloc(1, sizeof(*fx));
	if (big == NULL || fx == NULL)
		return -1;
	memset(big, 'x', BIG);
	big[BIG] = '\0';
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	free(big);
	free(fx);
	return 0;
}

/* ---- helpers ---- */

/* Encodes, decodes, compares, re-encodes: the bytes must not change. Returns the frame size. */
static size_t roundtrip(const struct proto_msg *m)
{
	struct buf b1, b2;
	struct proto_msg d;
	struct error_info e;
	size_t len;
	int rc;

	buf_init(&b1, PROTO_FRAME_MAX);
	buf_init(&b2, PROTO_FRAME_MAX);
	rc = proto_encode(m, &b1);
	if (rc != 0)
		fail_msg("encode %s: %s", proto_kind_name(m->kind), clover_errname(rc));
	rc = proto_decode(b1.data, b1.len, &d, &e);
	if (rc != 0)
		fail_msg("decode %s: %s", proto_kind_name(m->kind), e.message);
	assert_int_equal(d.version, PROTO_VERSION);
	assert_true(proto_msg_equal(m, &d));
	assert_int_equal(proto_encode(&d, &b2), 0);
	assert_int_equal(b1.len, b2.len);
	assert_memory_equal(b1.data, b2.data, b1.len);
	len = b1.len;
	proto_msg_clear(&d);
	buf_free(&b1);
	buf_free(&b2);
	return len;
}

/* ---- round trips ---- */

static void test_roundtrip_every_kind(void **state)
{
	(void)state;
	for (int k = PROTO_HELLO; k <= PROTO_KIND_MAX; k++) {
		struct proto_msg *m = fx_msg((enum proto_kind)k);
		struct w w = {0};
		struct buf b;

		assert_string_not_equal(proto_kind_name(k), "unknown");
		roundtrip(m);
		/* the encoder writes what the document says */
		raw_encode(m, &w);
		buf_init(&b, PROTO_FRAME_MAX);
		assert_int_equal(proto_encode(m, &b), 0);
		assert_int_equal(b.len, w.len);
		assert_memory_equal(b.data, w.p, w.len);
		buf_free(&b);
		free(w.p);
	}
	assert_string_equal(proto_kind_name(0), "unknown");
	assert_string_equal(proto_kind_name(PROTO_KIND_MAX + 1), "unknown");
}

static void test_roundtrip_optional_and_empty(void **state)
{
	struct proto_msg *m;

	(void)state;
	m = fx_msg(PROTO_HELLO);
	m->hello.host = NULL;
	m->hello.software = "";
	m->hello.nlabels = m->hello.nhandlers = m->hello.njobs = m->hello.nrunning = 0;
	m->hello.labels = NULL;
	roundtrip(m);

	/* an absent string and an empty one differ */
	m = fx_msg(PROTO_DISPATCH);
	fx->disp[0].shard_param = "";
	fx->disp[0].params = NULL;
	{
		struct buf b;
		struct proto_msg d;

		buf_init(&b, PROTO_FRAME_MAX);
		assert_int_equal(proto_encode(m, &b), 0);
		assert_int_equal(proto_decode(b.data, b.len, &d, NULL), 0);
		assert_non_null(d.dispatch.items[0].shard_param);
		assert_string_equal(d.dispatch.items[0].shard_param, "");
		assert_null(d.dispatch.items[0].params);
		proto_msg_clear(&d);
		buf_free(&b);
	}

	m = fx_msg(PROTO_BYE);
	m->bye.message = NULL;
	roundtrip(m);
	m = fx_msg(PROTO_DRAIN);
	m->drain = (struct proto_drain){0, NULL};
	roundtrip(m);
}

static void test_roundtrip_batches_and_values(void **state)
{
	struct proto_msg *m;

	(void)state;
	m = fx_msg(PROTO_DISPATCH);
	m->dispatch.n = 100;
	roundtrip(m);
	m = fx_msg(PROTO_RESULT);
	fx->res[1] =
	    (struct proto_result_item){7, 3, 2, 9, RUN_FAILED, 1, T0, T0 + 1, "exit status 1"};
	fx->res[2] =
	    (struct proto_result_item){8, 0, 1, 10, RUN_TIMED_OUT, -1, T0, T0 + 2, "timed out"};
	fx->res[3] = (struct proto_result_item){9, 0, 1, 11, RUN_CANCELLED, -1, 0, T0 + 3, NULL};
	fx->res[4] = (struct proto_result_item){10, 0, 1, 12, RUN_FAILED, INT32_MIN, T0, T0, ""};
	m->result.n = 5;
	roundtrip(m);
	m = fx_msg(PROTO_PROGRESS);
	fx->prog[1].fraction = -1;
	fx->prog[2].fraction = 1;
	fx->prog[3].fraction = 0;
	fx->prog[4].fraction = 0.123456789;
	m->progress.n = 5;
	roundtrip(m);
	m = fx_msg(PROTO_ACK);
	for (int i = 0; i < 5; i++) {
		fx->ack[i].status = (enum proto_ack_status)i;
		fx->ack[i].message = i ? "no capacity" : NULL;
	}
	m->ack.n = 5;
	roundtrip(m);
	m = fx_msg(PROTO_KILL);
	fx->kill[1].timed_out = true;
	m->kill.n = 2;
	roundtrip(m);
	m = fx_msg(PROTO_RESULT_ACK);
	fx->rack[1].status = PROTO_RACK_STALE;
	fx->rack[2].status = PROTO_RACK_UNKNOWN;
	m->result_ack.n = 3;
	roundtrip(m);
	m = fx_msg(PROTO_HEARTBEAT);
	m->heartbeat = (struct proto_heartbeat){UINT64_MAX, PROTO_TIME_MAX, PROTO_CAPACITY_MAX,
	                                        PROTO_CAPACITY_MAX, true};
	roundtrip(m);
	m = fx_msg(PROTO_LOG);
	m->log.data = "a\0b\0\n";
	m->log.len = 5; /* output is bytes: NULs survive */
	roundtrip(m);
}

/* ---- limits: the table ---- */

struct row {
	const char *name;
	enum proto_kind kind;
	void (*mut)(struct proto_msg *m);
	int enc_rc;        /* 0: valid */
	const char *field; /* the path an error must name */
};

#define MUT(fn, body)                                                                              \
	static void fn(struct proto_msg *m)                                                        \
	{                                                                                          \
		(void)m;                                                                           \
		body;                                                                              \
	}

/* hello */
MUT(h_id128, m->hello.executor_id = S(128))
MUT(h_id129, m->hello.executor_id = S(129))
MUT(h_id0, m->hello.executor_id = "")
MUT(h_idnull, m->hello.executor_id = NULL)
MUT(h_idblank, m->hello.executor_id = "exec 7")
MUT(h_idctl, m->hello.executor_id = "exec\x7f")
MUT(h_host255, m->hello.host = S(255))
MUT(h_host256, m->hello.host = S(256))
MUT(h_sw64, m->hello.software = S(64))
MUT(h_sw65, m->hello.software = S(65))
MUT(h_cap_max, m->hello.capacity = PROTO_CAPACITY_MAX)
MUT(h_cap_over, m->hello.capacity = PROTO_CAPACITY_MAX + 1)
MUT(h_cap0, m->hello.capacity = 0)
MUT(h_minmax, m->hello.min_version = 2)
MUT(h_min0, m->hello.min_version = 0)
MUT(h_max255, m->hello.max_version = 255)
MUT(h_labels_max, m->hello.nlabels = PROTO_LABELS_MAX)
MUT(h_labels_over, m->hello.nlabels = PROTO_LABELS_MAX + 1)
MUT(h_lkey_max, fx->labels[1].key = S(PROTO_LABEL_MAX))
MUT(h_lkey_over, fx->labels[1].key = S(PROTO_LABEL_MAX + 1))
MUT(h_lkey_empty, fx->labels[1].key = "")
MUT(h_lval_max, fx->labels[0].val = S(PROTO_LABEL_MAX))
MUT(h_lval_over, fx->labels[0].val = S(PROTO_LABEL_MAX + 1))
MUT(h_lval_empty, fx->labels[0].val = "")
MUT(h_lval_null, fx->labels[0].val = NULL)
MUT(h_handlers_max, m->hello.nhandlers = PROTO_HANDLERS_MAX)
MUT(h_handlers_over, m->hello.nhandlers = PROTO_HANDLERS_MAX + 1)
MUT(h_handler_max, fx->handlers[0] = S(PROTO_HANDLER_MAX))
MUT(h_handler_over, fx->handlers[0] = S(PROTO_HANDLER_MAX + 1))
MUT(h_jobs_max, m->hello.njobs = PROTO_JOBS_MAX)
MUT(h_jobs_over, m->hello.njobs = PROTO_JOBS_MAX + 1)
MUT(h_job_max, fx->jobs[0] = S(JOB_SPEC_MAX_BYTES))
MUT(h_job_over, fx->jobs[0] = S(JOB_SPEC_MAX_BYTES + 1))
MUT(h_job_short, fx->jobs[0] = "x")
MUT(h_running_max, m->hello.nrunning = PROTO_RUNNING_MAX)
MUT(h_running_over, m->hello.nrunning = PROTO_RUNNING_MAX + 1)
MUT(h_running_attempt0, fx->running[2].attempt = 0)
/* welcome */
MUT(w_id128, m->welcome.scheduler_id = S(128))
MUT(w_id129, m->welcome.scheduler_id = S(129))
MUT(w_hb_min, m->welcome.heartbeat_ms = PROTO_HEARTBEAT_MIN_MS)
MUT(w_hb_under, m->welcome.heartbeat_ms = PROTO_HEARTBEAT_MIN_MS - 1)
MUT(w_hb_max, (m->welcome.heartbeat_ms = PROTO_HEARTBEAT_MAX_MS,
               m->welcome.dead_after_ms = PROTO_HEARTBEAT_MAX_MS))
MUT(w_hb_over, (m->welcome.heartbeat_ms = PROTO_HEARTBEAT_MAX_MS + 1,
                m->welcome.dead_after_ms = PROTO_HEARTBEAT_MAX_MS + 1))
MUT(w_dead_lt_hb, m->welcome.dead_after_ms = 999)
MUT(w_dead_max, m->welcome.dead_after_ms = PROTO_DEAD_AFTER_MAX_MS)
MUT(w_dead_over, m->welcome.dead_after_ms = PROTO_DEAD_AFTER_MAX_MS + 1)
MUT(w_version0, m->welcome.version = 0)
/* heartbeat */
MUT(hb_run_over, m->heartbeat.running = PROTO_CAPACITY_MAX + 1)
MUT(hb_at_over, m->heartbeat.at = PROTO_TIME_MAX + 1)
MUT(hb_at_neg, m->heartbeat.at = -1)
/* dispatch */
MUT(d_n_max, m->dispatch.n = PROTO_BATCH_MAX)
MUT(d_n_over, m->dispatch.n = PROTO_BATCH_MAX + 1)
MUT(d_n0, m->dispatch.n = 0)
MUT(d_run_max, fx->disp[0].run_id = INT64_MAX)
MUT(d_run_neg, fx->disp[0].run_id = -1)
MUT(d_shard_max, (fx->disp[0].shard = JOB_SHARDS_MAX - 1, fx->disp[0].shard_count = JOB_SHARDS_MAX))
MUT(d_shard_ge_count, (fx->disp[0].shard = 4, fx->disp[0].shard_count = 4))
MUT(d_shard_neg, fx->disp[0].shard = -1)
MUT(d_count_over, fx->disp[0].shard_count = JOB_SHARDS_MAX + 1)
MUT(d_count0, fx->disp[0].shard_count = 0)
MUT(d_att_max, fx->disp[0].attempt = PROTO_ATTEMPT_MAX)
MUT(d_att_over, fx->disp[0].attempt = PROTO_ATTEMPT_MAX + 1)
MUT(d_att0, fx->disp[0].attempt = 0)
MUT(d_ticket_max, fx->disp[0].ticket = UINT32_MAX)
MUT(d_sched_max, fx->disp[0].scheduled_at = PROTO_TIME_MAX)
MUT(d_sched_over, fx->disp[0].scheduled_at = PROTO_TIME_MAX + 1)
MUT(d_nb_over, fx->disp[0].not_before = PROTO_TIME_MAX + 1)
MUT(d_job_max, fx->disp[0].job = S(JOB_NAME_MAX))
MUT(d_job_over, fx->disp[0].job = S(JOB_NAME_MAX + 1))
MUT(d_job_empty, fx->disp[0].job = "")
MUT(d_job_null, fx->disp[0].job = NULL)
MUT(d_spec_max, fx->disp[0].spec = S(JOB_SPEC_MAX_BYTES))
MUT(d_spec_over, fx->disp[0].spec = S(JOB_SPEC_MAX_BYTES + 1))
MUT(d_spec_short, fx->disp[0].spec = "{")
MUT(d_sp_max, fx->disp[0].shard_param = S(PROTO_SHARD_PARAM_MAX))
MUT(d_sp_over, fx->disp[0].shard_param = S(PROTO_SHARD_PARAM_MAX + 1))
MUT(d_params_max, fx->disp[0].params = S(PROTO_PARAMS_MAX))
MUT(d_params_over, fx->disp[0].params = S(PROTO_PARAMS_MAX + 1))
MUT(d_item3_job_over, (m->dispatch.n = 5, fx->disp[3].job = S(JOB_NAME_MAX + 1)))
/* ack */
MUT(a_status_max, fx->ack[0].status = PROTO_ACK_DUPLICATE)
MUT(a_status_over, fx->ack[0].status = (enum proto_ack_status)(PROTO_ACK_DUPLICATE + 1))
MUT(a_msg_max, fx->ack[0].message = S(PROTO_TEXT_MAX))
MUT(a_msg_over, fx->ack[0].message = S(PROTO_TEXT_MAX + 1))
/* progress */
MUT(p_frac_unknown, fx->prog[0].fraction = -1)
MUT(p_frac_one, fx->prog[0].fraction = 1)
MUT(p_frac_over, fx->prog[0].fraction = 1.0000001)
MUT(p_frac_neg, fx->prog[0].fraction = -0.5)
MUT(p_frac_nan, fx->prog[0].fraction = NAN)
MUT(p_frac_inf, fx->prog[0].fraction = INFINITY)
MUT(p_msg_over, fx->prog[0].message = S(PROTO_TEXT_MAX + 1))
/* log */
MUT(l_len1, (m->log.data = "x", m->log.len = 1))
MUT(l_len_max, (m->log.data = big, m->log.len = PROTO_LOG_CHUNK_MAX))
MUT(l_len_over, (m->log.data = big, m->log.len = PROTO_LOG_CHUNK_MAX + 1))
MUT(l_len0, m->log.len = 0)
MUT(l_off_max, m->log.offset = PROTO_LOG_OFFSET_MAX)
MUT(l_off_over, m->log.offset = PROTO_LOG_OFFSET_MAX + 1)
MUT(l_att0, m->log.attempt = 0)
/* result */
MUT(r_failed, fx->res[0].state = RUN_FAILED)
MUT(r_timed_out, fx->res[0].state = RUN_TIMED_OUT)
MUT(r_cancelled, fx->res[0].state = RUN_CANCELLED)
MUT(r_pending, fx->res[0].state = RUN_PENDING)
MUT(r_lost, fx->res[0].state = RUN_LOST)
MUT(r_exit_min, fx->res[0].exit_code = INT32_MIN)
MUT(r_exit_max, fx->res[0].exit_code = INT32_MAX)
MUT(r_msg_max, fx->res[0].message = S(PROTO_TEXT_MAX))
MUT(r_msg_over, fx->res[0].message = S(PROTO_TEXT_MAX + 1))
MUT(r_fin_over, fx->res[0].finished_at = PROTO_TIME_MAX + 1)
MUT(r_n_over, m->result.n = PROTO_BATCH_MAX + 1)
/* result-ack, kill, drain, bye */
MUT(ra_status_max, fx->rack[0].status = PROTO_RACK_UNKNOWN)
MUT(ra_status_over, fx->rack[0].status = (enum proto_result_ack_status)(PROTO_RACK_UNKNOWN + 1))
MUT(k_timed_out, fx->kill[0].timed_out = true)
MUT(k_n0, m->kill.n = 0)
MUT(dr_deadline_max, m->drain.deadline_ms = UINT32_MAX)
MUT(dr_reason_max, m->drain.reason = S(PROTO_TEXT_MAX))
MUT(dr_reason_over, m->drain.reason = S(PROTO_TEXT_MAX + 1))
MUT(b_reason_max, m->bye.reason = PROTO_BYE_TIMEOUT)
MUT(b_reason_over, m->bye.reason = (enum proto_bye_reason)(PROTO_BYE_TIMEOUT + 1))
MUT(b_msg_max, m->bye.message = S(PROTO_TEXT_MAX))
MUT(b_msg_over, m->bye.message = S(PROTO_TEXT_MAX + 1))

#define OK   0
#define INV  CLOVER_EINVAL
#define BIGE CLOVER_ETOOBIG

static const struct row rows[] = {
    {"executor_id at 128", PROTO_HELLO, h_id128, OK, NULL},
    {"executor_id at 129", PROTO_HELLO, h_id129, BIGE, "hello.executor_id"},
    {"executor_id empty", PROTO_HELLO, h_id0, INV, "hello.executor_id"},
    {"executor_id absent", PROTO_HELLO, h_idnull, INV, "hello.executor_id"},
    {"executor_id with a blank", PROTO_HELLO, h_idblank, INV, "hello.executor_id"},
    {"executor_id with DEL", PROTO_HELLO, h_idctl, INV, "hello.executor_id"},
    {"host at 255", PROTO_HELLO, h_host255, OK, NULL},
    {"host at 256", PROTO_HELLO, h_host256, BIGE, "hello.host"},
    {"software at 64", PROTO_HELLO, h_sw64, OK, NULL},
    {"software at 65", PROTO_HELLO, h_sw65, BIGE, "hello.software"},
    {"capacity at max", PROTO_HELLO, h_cap_max, OK, NULL},
    {"capacity over max", PROTO_HELLO, h_cap_over, INV, "hello.capacity"},
    {"capacity 0", PROTO_HELLO, h_cap0, INV, "hello.capacity"},
    {"min_version > max_version", PROTO_HELLO, h_minmax, INV, "hello.max_version"},
    {"min_version 0", PROTO_HELLO, h_min0, INV, "hello.min_version"},
    {"max_version 255", PROTO_HELLO, h_max255, OK, NULL},
    {"labels at 64", PROTO_HELLO, h_labels_max, OK, NULL},
    {"labels at 65", PROTO_HELLO, h_labels_over, BIGE, "hello.labels"},
    {"label key at 256", PROTO_HELLO, h_lkey_max, OK, NULL},
    {"label key at 257", PROTO_HELLO, h_lkey_over, BIGE, "hello.labels[1].key"},
    {"label key empty", PROTO_HELLO, h_lkey_empty, INV, "hello.labels[1].key"},
    {"label value at 256", PROTO_HELLO, h_lval_max, OK, NULL},
    {"label value at 257", PROTO_HELLO, h_lval_over, BIGE, "hello.labels[0].val"},
    {"label value empty", PROTO_HELLO, h_lval_empty, OK, NULL},
    {"label value absent", PROTO_HELLO, h_lval_null, INV, "hello.labels[0].val"},
    {"handlers at 256", PROTO_HELLO, h_handlers_max, OK, NULL},
    {"handlers at 257", PROTO_HELLO, h_handlers_over, BIGE, "hello.handlers"},
    {"handler at 128", PROTO_HELLO, h_handler_max, OK, NULL},
    {"handler at 129", PROTO_HELLO, h_handler_over, BIGE, "hello.handlers[0]"},
    {"jobs at 1024", PROTO_HELLO, h_jobs_max, OK, NULL},
    {"jobs at 1025", PROTO_HELLO, h_jobs_over, BIGE, "hello.jobs"},
    {"job spec at 256 KiB", PROTO_HELLO, h_job_max, OK, NULL},
    {"job spec past 256 KiB", PROTO_HELLO, h_job_over, BIGE, "hello.jobs[0]"},
    {"job spec of 1 byte", PROTO_HELLO, h_job_short, INV, "hello.jobs[0]"},
    {"running at 65536", PROTO_HELLO, h_running_max, OK, NULL},
    {"running at 65537", PROTO_HELLO, h_running_over, BIGE, "hello.running"},
    {"running attempt 0", PROTO_HELLO, h_running_attempt0, INV, "hello.running[2].attempt"},
    {"scheduler_id at 128", PROTO_WELCOME, w_id128, OK, NULL},
    {"scheduler_id at 129", PROTO_WELCOME, w_id129, BIGE, "welcome.scheduler_id"},
    {"heartbeat at min", PROTO_WELCOME, w_hb_min, OK, NULL},
    {"heartbeat under min", PROTO_WELCOME, w_hb_under, INV, "welcome.heartbeat_ms"},
    {"heartbeat at max", PROTO_WELCOME, w_hb_max, OK, NULL},
    {"heartbeat over max", PROTO_WELCOME, w_hb_over, INV, "welcome.heartbeat_ms"},
    {"dead_after < heartbeat", PROTO_WELCOME, w_dead_lt_hb, INV, "welcome.dead_after_ms"},
    {"dead_after at max", PROTO_WELCOME, w_dead_max, OK, NULL},
    {"dead_after over max", PROTO_WELCOME, w_dead_over, INV, "welcome.dead_after_ms"},
    {"welcome version 0", PROTO_WELCOME, w_version0, INV, "welcome.version"},
    {"heartbeat running over", PROTO_HEARTBEAT, hb_run_over, INV, "heartbeat.running"},
    {"heartbeat at past 9999", PROTO_HEARTBEAT, hb_at_over, INV, "heartbeat.at"},
    {"heartbeat at negative", PROTO_HEARTBEAT, hb_at_neg, INV, "heartbeat.at"},
    {"dispatch of 4096", PROTO_DISPATCH, d_n_max, OK, NULL},
    {"dispatch of 4097", PROTO_DISPATCH, d_n_over, BIGE, "dispatch"},
    {"dispatch of 0", PROTO_DISPATCH, d_n0, INV, "dispatch"},
    {"run_id at max", PROTO_DISPATCH, d_run_max, OK, NULL},
    {"run_id negative", PROTO_DISPATCH, d_run_neg, INV, "dispatch[0].run_id"},
    {"shard 1023 of 1024", PROTO_DISPATCH, d_shard_max, OK, NULL},
    {"shard 4 of 4", PROTO_DISPATCH, d_shard_ge_count, INV, "dispatch[0].shard"},
    {"shard negative", PROTO_DISPATCH, d_shard_neg, INV, "dispatch[0].shard"},
    {"shard_count 1025", PROTO_DISPATCH, d_count_over, INV, "dispatch[0].shard_count"},
    {"shard_count 0", PROTO_DISPATCH, d_count0, INV, "dispatch[0].shard_count"},
    {"attempt at max", PROTO_DISPATCH, d_att_max, OK, NULL},
    {"attempt over max", PROTO_DISPATCH, d_att_over, INV, "dispatch[0].attempt"},
    {"attempt 0", PROTO_DISPATCH, d_att0, INV, "dispatch[0].attempt"},
    {"ticket at max", PROTO_DISPATCH, d_ticket_max, OK, NULL},
    {"scheduled_at at max", PROTO_DISPATCH, d_sched_max, OK, NULL},
    {"scheduled_at over max", PROTO_DISPATCH, d_sched_over, INV, "dispatch[0].scheduled_at"},
    {"not_before over max", PROTO_DISPATCH, d_nb_over, INV, "dispatch[0].not_before"},
    {"job at 128", PROTO_DISPATCH, d_job_max, OK, NULL},
    {"job at 129", PROTO_DISPATCH, d_job_over, BIGE, "dispatch[0].job"},
    {"job empty", PROTO_DISPATCH, d_job_empty, INV, "dispatch[0].job"},
    {"job absent", PROTO_DISPATCH, d_job_null, INV, "dispatch[0].job"},
    {"spec at 256 KiB", PROTO_DISPATCH, d_spec_max, OK, NULL},
    {"spec past 256 KiB", PROTO_DISPATCH, d_spec_over, BIGE, "dispatch[0].spec"},
    {"spec of 1 byte", PROTO_DISPATCH, d_spec_short, INV, "dispatch[0].spec"},
    {"shard_param at 4096", PROTO_DISPATCH, d_sp_max, OK, NULL},
    {"shard_param at 4097", PROTO_DISPATCH, d_sp_over, BIGE, "dispatch[0].shard_param"},
    {"params at 64 KiB", PROTO_DISPATCH, d_params_max, OK, NULL},
    {"params past 64 KiB", PROTO_DISPATCH, d_params_over, BIGE, "dispatch[0].params"},
    {"fourth item's job", PROTO_DISPATCH, d_item3_job_over, BIGE, "dispatch[3].job"},
    {"ack status duplicate", PROTO_ACK, a_status_max, OK, NULL},
    {"ack status unknown", PROTO_ACK, a_status_over, INV, "ack[0].status"},
    {"ack message at 4096", PROTO_ACK, a_msg_max, OK, NULL},
    {"ack message at 4097", PROTO_ACK, a_msg_over, BIGE, "ack[0].message"},
    {"fraction -1", PROTO_PROGRESS, p_frac_unknown, OK, NULL},
    {"fraction 1", PROTO_PROGRESS, p_frac_one, OK, NULL},
    {"fraction over 1", PROTO_PROGRESS, p_frac_over, INV, "progress[0].fraction"},
    {"fraction -0.5", PROTO_PROGRESS, p_frac_neg, INV, "progress[0].fraction"},
    {"fraction NaN", PROTO_PROGRESS, p_frac_nan, INV, "progress[0].fraction"},
    {"fraction infinite", PROTO_PROGRESS, p_frac_inf, INV, "progress[0].fraction"},
    {"progress message at 4097", PROTO_PROGRESS, p_msg_over, BIGE, "progress[0].message"},
    {"log of 1 byte", PROTO_LOG, l_len1, OK, NULL},
    {"log at 1 MiB", PROTO_LOG, l_len_max, OK, NULL},
    {"log past 1 MiB", PROTO_LOG, l_len_over, BIGE, "log.data"},
    {"log of 0 bytes", PROTO_LOG, l_len0, INV, "log.data"},
    {"log offset at 2^53", PROTO_LOG, l_off_max, OK, NULL},
    {"log offset past 2^53", PROTO_LOG, l_off_over, INV, "log.offset"},
    {"log attempt 0", PROTO_LOG, l_att0, INV, "log.attempt"},
    {"result failed", PROTO_RESULT, r_failed, OK, NULL},
    {"result timed_out", PROTO_RESULT, r_timed_out, OK, NULL},
    {"result cancelled", PROTO_RESULT, r_cancelled, OK, NULL},
    {"result pending", PROTO_RESULT, r_pending, INV, "result[0].state"},
    {"result lost", PROTO_RESULT, r_lost, INV, "result[0].state"},
    {"exit code INT32_MIN", PROTO_RESULT, r_exit_min, OK, NULL},
    {"exit code INT32_MAX", PROTO_RESULT, r_exit_max, OK, NULL},
    {"result message at 4096", PROTO_RESULT, r_msg_max, OK, NULL},
    {"result message at 4097", PROTO_RESULT, r_msg_over, BIGE, "result[0].message"},
    {"finished_at over max", PROTO_RESULT, r_fin_over, INV, "result[0].finished_at"},
    {"result of 4097", PROTO_RESULT, r_n_over, BIGE, "result"},
    {"result-ack unknown", PROTO_RESULT_ACK, ra_status_max, OK, NULL},
    {"result-ack status 3", PROTO_RESULT_ACK, ra_status_over, INV, "result-ack[0].status"},
    {"kill timed out", PROTO_KILL, k_timed_out, OK, NULL},
    {"kill of 0", PROTO_KILL, k_n0, INV, "kill"},
    {"drain deadline max", PROTO_DRAIN, dr_deadline_max, OK, NULL},
    {"drain reason at 4096", PROTO_DRAIN, dr_reason_max, OK, NULL},
    {"drain reason at 4097", PROTO_DRAIN, dr_reason_over, BIGE, "drain.reason"},
    {"bye timeout", PROTO_BYE, b_reason_max, OK, NULL},
    {"bye reason 6", PROTO_BYE, b_reason_over, INV, "bye.reason"},
    {"bye message at 4096", PROTO_BYE, b_msg_max, OK, NULL},
    {"bye message at 4097", PROTO_BYE, b_msg_over, BIGE, "bye.message"},
};

static void test_limits_table(void **state)
{
	struct buf b;
	struct w w = {0};

	(void)state;
	buf_init(&b, PROTO_FRAME_MAX);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		struct proto_msg *m = fx_msg(r->kind);
		struct proto_msg d;
		struct error_info e;
		uint32_t taken;
		int rc;

		r->mut(m);
		raw_encode(m, &w);
		rc = proto_decode(w.p, w.len, &d, &e);
		if (r->enc_rc == OK) {
			if (rc != 0)
				fail_msg("%s: decode: %s", r->name, e.message);
			assert_true(proto_msg_equal(m, &d));
			proto_msg_clear(&d);
			roundtrip(m);
			assert_int_equal(proto_encode(m, &b), 0);
			if (r->kind != PROTO_LOG || m->log.len < PROTO_LZ4_MIN) {
				assert_int_equal(b.len, w.len);
				assert_memory_equal(b.data, w.p, w.len);
			}
			continue;
		}
		/* the decoder refuses what the unchecked writer wrote */
		if (rc != CLOVER_EPROTO)
			fail_msg("%s: decode gave %s, want EPROTO", r->name, clover_errname(rc));
		if (strcmp(e.field, r->field) != 0)
			fail_msg("%s: decode blamed '%s' (%s), want '%s'", r->name, e.field,
			         e.message, r->field);
		assert_int_equal(strncmp(e.message, r->field, strlen(r->field)), 0);
		assert_int_equal(d.kind, 0); /* zeroed, owns nothing */
		/* the encoder refuses it too, naming the same field */
		rc = proto_encode_batch(m, &b, &taken, &e);
		if (r->kind == PROTO_DISPATCH && r->mut == d_n_over) {
			/* a batch encoder takes what fits instead */
			assert_int_equal(rc, 0);
			assert_int_equal(taken, PROTO_BATCH_MAX);
			rc = proto_encode(m, &b);
			assert_int_equal(rc, CLOVER_ETOOBIG);
			continue;
		}
		if (r->kind == PROTO_RESULT && r->mut == r_n_over) {
			assert_int_equal(rc, 0);
			assert_int_equal(taken, PROTO_BATCH_MAX);
			assert_int_equal(proto_encode(m, &b), CLOVER_ETOOBIG);
			continue;
		}
		if (rc != r->enc_rc)
			fail_msg("%s: encode gave %s (%s), want %s", r->name, clover_errname(rc),
			         e.message, clover_errname(r->enc_rc));
		if (strcmp(e.field, r->field) != 0)
			fail_msg("%s: encode blamed '%s' (%s), want '%s'", r->name, e.field,
			         e.message, r->field);
		assert_int_equal(b.len, 0);
		assert_int_equal(proto_encode(m, &b), r->enc_rc);
	}
	buf_free(&b);
	free(w.p);
}

/* ---- malformed frames ---- */

struct bad {
	const char *name;
	const unsigned char *bytes;
	size_t len;
	const char *field; /* NULL: don't care */
	const char *says;  /* a substring of the message */
};

#define HB     0xCB, 0x01
#define B(...) (const unsigned char[]){__VA_ARGS__}, sizeof((const unsigned char[]){__VA_ARGS__})

static const struct bad bads[] = {
    {"empty", (const unsigned char *)"", 0, "", "shorter than its 3-byte header"},
    {"two bytes", B(0xCB, 0x01), "", "shorter than"},
    {"bad magic", B(0x89, 0x01, 0x03, 0, 0, 0, 0, 0), "", "bad magic byte 0x89"},
    {"version 0", B(0xCB, 0x00, 0x03), "version", "unsupported protocol version 0"},
    {"version 2", B(0xCB, 0x02, 0x03), "version", "unsupported protocol version 2"},
    {"kind 0", B(HB, 0), "kind", "unknown message kind 0"},
    {"kind 13", B(HB, 13), "kind", "unknown message kind 13"},
    {"kind 255", B(HB, 255), "kind", "unknown message kind 255"},
    {"heartbeat with a trailing byte", B(HB, 3, 1, 2, 3, 4, 0, 0), "", "1 bytes left over"},
    {"heartbeat cut in a varint", B(HB, 3, 0x81), "heartbeat.seq", "truncated varint"},
    {"heartbeat missing fields", B(HB, 3, 1, 2), "heartbeat.running", "truncated"},
    {"non-minimal varint", B(HB, 3, 0x80, 0x00, 0, 0, 0, 0), "heartbeat.seq", "non-minimal"},
    {"varint over 64 bits", B(HB, 3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02),
     "heartbeat.seq", "overflows"},
    {"varint of 11 bytes",
     B(HB, 3, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01), "heartbeat.seq",
     "overflows"},
    {"bool 2", B(HB, 3, 1, 1, 1, 1, 2), "heartbeat.draining", "out of range 0..1"},
    {"string with NUL", B(HB, 12, 0, 4, 'a', 0, 'b'), "bye.message", "NUL byte at offset 1"},
    {"string past the end", B(HB, 12, 0, 9, 'a', 'b'), "bye.message", "truncated"},
    {"required string absent", B(HB, 2, 1, 0), "welcome.scheduler_id", "missing"},
    {"list count of 2^32-1", B(HB, 4, 0xff, 0xff, 0xff, 0xff), "dispatch", "over the limit"},
    {"list count the bytes cannot hold", B(HB, 4, 0x00, 0x10, 0, 0, 1, 2, 3), "dispatch",
     "cannot fit"},
    {"list count cut", B(HB, 10, 1, 0), "kill", "needs 4 bytes"},
    {"empty batch", B(HB, 10, 0, 0, 0, 0), "kill", "under the minimum"},
    {"ticket of 2^32", B(HB, 10, 1, 0, 0, 0, 1, 0, 1, 0x80, 0x80, 0x80, 0x80, 0x10, 0),
     "kill[0].ticket", "out of range"},
    {"exit code 2^31", B(HB, 8, 1, 0, 0, 0, 1, 0, 1, 1, 1, 0x80, 0x80, 0x80, 0x80, 0x10, 0, 0, 0),
     "result[0].exit_code", "out of range"},
    {"state 0", B(HB, 8, 1, 0, 0, 0, 1, 0, 1, 1, 0, 0, 0, 0, 0), "result[0].state",
     "unknown state 0"},
    {"state 5", B(HB, 8, 1, 0, 0, 0, 1, 0, 1, 1, 5, 0, 0, 0, 0), "result[0].state",
     "unknown state 5"},
    /* a 9-byte run id, so the item's count passes the bytes-left check */
    {"fraction cut",
     B(HB, 6, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0, 1, 1, 0, 0, 0xf0,
       0, 0),
     "progress[0].fraction", "needs 8 bytes"},
    {"log encoding 2", B(HB, 7, 1, 0, 1, 1, 0, 2, 1, 'x'), "log.data", "unknown encoding 2"},
    {"log of 0 bytes", B(HB, 7, 1, 0, 1, 1, 0, 0, 0), "log.data", "empty log chunk"},
    {"log longer than the frame", B(HB, 7, 1, 0, 1, 1, 0, 0, 5, 'x'), "log.data", "truncated"},
    {"LZ4 block bigger than its bound", B(HB, 7, 1, 0, 1, 1, 0, 1, 1, 100, 0), "log.data",
     "LZ4 block of 100 bytes"},
    {"LZ4 block cut", B(HB, 7, 1, 0, 1, 1, 0, 1, 4, 5, 0x40, 'a'), "log.data", "truncated"},
    /* a literal run of 4 bytes "abcd", but 8 promised */
    {"LZ4 block too short", B(HB, 7, 1, 0, 1, 1, 0, 1, 8, 5, 0x40, 'a', 'b', 'c', 'd'), "log.data",
     "does not give 8 bytes"},
    {"LZ4 block corrupt", B(HB, 7, 1, 0, 1, 1, 0, 1, 8, 3, 0x1f, 0xff, 0xff), "log.data",
     "corrupt"},
    {"shard not below shard_count",
     B(HB, 4, 1, 0, 0, 0, 1, 2, 1, 0, 2, 0, 0, 2, 'j', 3, '{', '}', 0, 0), "dispatch[0].shard",
     "not less than shard_count"},
    {"min_version above max_version",
     B(HB, 1, 2, 1, 2, 'e', 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
     "hello.max_version", "less than min_version"},
    {"executor_id not printable", B(HB, 1, 1, 1, 3, 'e', ' ', 0), "hello.executor_id",
     "not printable ASCII"},
};

static void test_malformed_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		const struct bad *t = &bads[i];
		struct proto_msg m;
		struct error_info e;
		unsigned char *copy =
		    malloc(t->len ? t->len : 1); /* exact size: ASan sees over-reads */
		int rc;

		assert_non_null(copy);
		memcpy(copy, t->bytes, t->len);
		rc = proto_decode(copy, t->len, &m, &e);
		free(copy);
		if (rc != CLOVER_EPROTO)
			fail_msg("%s: got %s, want EPROTO", t->name, clover_errname(rc));
		assert_int_equal(e.code, CLOVER_EPROTO);
		if (t->field && strcmp(e.field, t->field) != 0)
			fail_msg("%s: blamed '%s' (%s), want '%s'", t->name, e.field, e.message,
			         t->field);
		if (strstr(e.message, t->says) == NULL)
			fail_msg("%s: message '%s' lacks '%s'", t->name, e.message, t->says);
		assert_int_equal(m.kind, 0);
	}
}

static void test_oversized_frame(void **state)
{
	size_t len = PROTO_FRAME_MAX + 1;
	unsigned char *p = calloc(1, len);
	struct proto_msg m;
	struct error_info e;

	(void)state;
	assert_non_null(p);
	p[0] = PROTO_MAGIC;
	p[1] = PROTO_VERSION;
	p[2] = PROTO_HEARTBEAT;
	assert_int_equal(proto_decode(p, len, &m, &e), CLOVER_EPROTO);
	assert_non_null(strstr(e.message, "exceeds the limit of 4194304"));
	/* a frame exactly at the limit is read (and here has bytes left over) */
	assert_int_equal(proto_decode(p, len - 1, &m, &e), CLOVER_EPROTO);
	assert_non_null(strstr(e.message, "left over"));
	free(p);
}

/* Every prefix of every valid frame is rejected, and never read past. */
static void test_every_truncation(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, PROTO_FRAME_MAX);
	for (int k = PROTO_HELLO; k <= PROTO_KIND_MAX; k++) {
		struct proto_msg *m = fx_msg((enum proto_kind)k);

		if (k == PROTO_DISPATCH)
			m->dispatch.n = 3;
		if (k == PROTO_LOG) {
			m->log.data = big;
			m->log.len = 2000; /* LZ4 */
		}
		assert_int_equal(proto_encode(m, &b), 0);
		for (size_t len = 0; len < b.len; len++) {
			unsigned char *cut = malloc(len ? len : 1);
			struct proto_msg d;
			struct error_info e;

			assert_non_null(cut);
			memcpy(cut, b.data, len);
			if (proto_decode(cut, len, &d, &e) != CLOVER_EPROTO)
				fail_msg("%s cut at %zu of %zu decoded", proto_kind_name(k), len,
				         b.len);
			assert_true(e.message[0] != '\0');
			free(cut);
		}
	}
	buf_free(&b);
}

/*
 * Every byte of a few frames replaced by several values: no crash, no leak,
 * and whatever still decodes re-encodes to something that decodes the same.
 */
static void test_corruptions(void **state)
{
	static const unsigned char vals[] = {0x00, 0x01, 0x02, 0x7f, 0x80, 0xff};
	struct buf b, b2;
	long decoded = 0, refused = 0;

	(void)state;
	buf_init(&b, PROTO_FRAME_MAX);
	buf_init(&b2, PROTO_FRAME_MAX);
	for (int k = PROTO_HELLO; k <= PROTO_KIND_MAX; k++) {
		struct proto_msg *m = fx_msg((enum proto_kind)k);

		if (k == PROTO_LOG) {
			m->log.data = spec_json;
			m->log.len = sizeof(spec_json) - 1;
		}
		assert_int_equal(proto_encode(m, &b), 0);
		for (size_t i = 0; i < b.len; i++) {
			for (size_t v = 0; v < sizeof(vals); v++) {
				unsigned char *p = malloc(b.len);
				struct proto_msg d, d2;
				struct error_info e;

				assert_non_null(p);
				memcpy(p, b.data, b.len);
				p[i] = vals[v];
				if (proto_decode(p, b.len, &d, &e) != 0) {
					assert_int_equal(e.code, CLOVER_EPROTO);
					refused++;
				} else {
					decoded++;
					assert_int_equal(proto_encode(&d, &b2), 0);
					assert_int_equal(proto_decode(b2.data, b2.len, &d2, &e), 0);
					assert_true(proto_msg_equal(&d, &d2));
					proto_msg_clear(&d2);
					proto_msg_clear(&d);
				}
				free(p);
			}
		}
	}
	assert_true(decoded > 100);
	assert_true(refused > 100);
	buf_free(&b);
	buf_free(&b2);
}

/* ---- batching ---- */

static void test_batch_splits_by_size(void **state)
{
	enum { N = 9000, SPEC = 2000 };
	struct proto_dispatch_item *items = calloc(N, sizeof(*items));
	struct proto_msg m = {.kind = PROTO_DISPATCH};
	struct buf b;
	uint32_t done = 0, frames = 0;

	(void)state;
	assert_non_null(items);
	for (int i = 0; i < N; i++)
		items[i] = (struct proto_dispatch_item){.run_id = i,
		                                        .attempt = 1,
		                                        .shard_count = 1,
		                                        .ticket = (uint32_t)i,
		                                        .job = "j",
		                                        .spec = S(SPEC)};
	buf_init(&b, PROTO_FRAME_MAX);
	m.dispatch.items = items;
	m.dispatch.n = N;
	assert_int_equal(proto_encode(&m, &b), CLOVER_ETOOBIG); /* over 4096 items */
	while (done < N) {
		struct proto_msg part = m, d;
		struct error_info e;
		uint32_t taken;

		part.dispatch.items = items + done;
		part.dispatch.n = N - done;
		assert_int_equal(proto_encode_batch(&part, &b, &taken, &e), 0);
		assert_true(taken > 0);
		assert_true(b.len <= PROTO_FRAME_MAX);
		/* a full frame could not have taken one more item */
		if (done + taken < N)
			assert_true(b.len + SPEC + 10 > PROTO_FRAME_MAX ||
			            taken == PROTO_BATCH_MAX);
		assert_int_equal(proto_decode(b.data, b.len, &d, &e), 0);
		assert_int_equal(d.dispatch.n, taken);
		for (uint32_t i = 0; i < taken; i++) {
			assert_int_equal(d.dispatch.items[i].run_id, done + i);
			assert_int_equal(strlen(d.dispatch.items[i].spec), SPEC);
		}
		proto_msg_clear(&d);
		done += taken;
		frames++;
	}
	/* 2 KB items: about 2090 per 4 MiB frame, so size, not count, splits */
	assert_int_equal(frames, 5);
	buf_free(&b);
	free(items);
}

static void test_batch_splits_by_count(void **state)
{
	struct proto_msg *m = fx_msg(PROTO_RESULT);
	struct buf b;
	struct error_info e;
	uint32_t taken;

	(void)state;
	m->result.n = PROTO_BATCH_MAX + 1;
	buf_init(&b, PROTO_FRAME_MAX);
	assert_int_equal(proto_encode_batch(m, &b, &taken, &e), 0);
	assert_int_equal(taken, PROTO_BATCH_MAX);
	/* a non-batched kind is taken whole */
	m = fx_msg(PROTO_HELLO);
	assert_int_equal(proto_encode_batch(m, &b, &taken, &e), 0);
	assert_int_equal(taken, 1);
	buf_free(&b);
}

static void test_batch_small_buffer(void **state)
{
	struct proto_msg *m = fx_msg(PROTO_DISPATCH);
	struct buf b;
	struct error_info e;
	uint32_t taken = 99;

	(void)state;
	/* a buffer smaller than one item: nothing fits, which is an error */
	buf_init(&b, 40);
	m->dispatch.n = 3;
	assert_int_equal(proto_encode_batch(m, &b, &taken, &e), CLOVER_ETOOBIG);
	assert_non_null(strstr(e.message, "would exceed 40 bytes"));
	assert_int_equal(b.len, 0);
	buf_free(&b);
	/* room for exactly two items */
	buf_init(&b, PROTO_FRAME_MAX);
	m->dispatch.n = 2;
	assert_int_equal(proto_encode(m, &b), 0);
	b.max = b.len;
	m->dispatch.n = 3;
	assert_int_equal(proto_encode_batch(m, &b, &taken, &e), 0);
	assert_int_equal(taken, 2);
	assert_int_equal(b.len, b.max);
	buf_free(&b);
}

/* ---- LZ4 ---- */

static void test_lz4(void **state)
{
	static char text[64 * 1024], noise[64 * 1024];
	struct proto_msg *m;
	struct proto_msg d;
	struct buf b;
	uint32_t x = 12345;
	size_t n;

	(void)state;
	for (size_t i = 0; i < sizeof(text); i++)
		text[i] = "2026-01-01T00:00:00Z processed row\n"[i % 35];
	for (size_t i = 0; i < sizeof(noise); i++) {
		x = x * 1103515245u + 12345u;
		noise[i] = (char)(x >> 16); /* with NULs */
	}
	buf_init(&b, PROTO_FRAME_MAX);

	m = fx_msg(PROTO_LOG);
	m->log.data = text;
	m->log.len = sizeof(text);
	n = roundtrip(m);
	assert_true(n < sizeof(text) / 10); /* compressed */

	m->log.data = noise;
	m->log.len = sizeof(noise);
	n = roundtrip(m);
	assert_true(n > sizeof(noise)); /* incompressible: sent raw */
	assert_int_equal(proto_encode(m, &b), 0);
	assert_int_equal(proto_decode(b.data, b.len, &d, NULL), 0);
	assert_int_equal(d.log.len, sizeof(noise));
	assert_memory_equal(d.log.data, noise, sizeof(noise));
	assert_int_equal(d.log.data[d.log.len], '\0');
	proto_msg_clear(&d);

	/* the threshold */
	m->log.data = text;
	m->log.len = PROTO_LZ4_MIN - 1;
	assert_true(roundtrip(m) > PROTO_LZ4_MIN - 1);
	m->log.len = PROTO_LZ4_MIN;
	assert_true(roundtrip(m) < PROTO_LZ4_MIN / 2);

	/* the largest chunk */
	m->log.data = big;
	m->log.len = PROTO_LOG_CHUNK_MAX;
	assert_true(roundtrip(m) < PROTO_LOG_CHUNK_MAX / 100);
	buf_free(&b);
}

/* ---- versions, names, clear ---- */

static void test_versions_and_names(void **state)
{
	uint8_t v = 0;
	struct proto_msg *m;
	struct buf b;
	struct error_info e;

	(void)state;
	assert_int_equal(proto_negotiate(1, 1, &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(proto_negotiate(1, 9, &v), 0);
	assert_int_equal(v, PROTO_VERSION);
	assert_int_equal(proto_negotiate(2, 9, &v), CLOVER_ENOTSUP);
	assert_int_equal(proto_negotiate(3, 2, &v), CLOVER_ENOTSUP);
	assert_int_equal(proto_negotiate(0, 0, &v), CLOVER_ENOTSUP);

	buf_init(&b, PROTO_FRAME_MAX);
	m = fx_msg(PROTO_BYE);
	m->version = 2;
	assert_int_equal(proto_encode_batch(m, &b, &(uint32_t){0}, &e), CLOVER_EINVAL);
	assert_string_equal(e.field, "version");
	m->version = 0;
	m->kind = (enum proto_kind)0;
	assert_int_equal(proto_encode(m, &b), CLOVER_EINVAL);
	m->kind = (enum proto_kind)(PROTO_KIND_MAX + 1);
	assert_int_equal(proto_encode(m, &b), CLOVER_EINVAL);
	buf_free(&b);

	assert_string_equal(proto_kind_name(PROTO_RESULT_ACK), "result-ack");
	assert_string_equal(proto_ack_status_name(PROTO_ACK_BUSY), "busy");
	assert_string_equal(proto_ack_status_name((enum proto_ack_status)9), "unknown");
	assert_string_equal(proto_result_ack_status_name(PROTO_RACK_STALE), "stale");
	assert_string_equal(proto_bye_reason_name(PROTO_BYE_NO_SESSION), "no_session");
	assert_string_equal(proto_bye_reason_name((enum proto_bye_reason)77), "unknown");
	proto_msg_clear(NULL);
}

/* ---- allocation failures (the test is linked with --wrap=malloc,calloc,realloc) ---- */

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);

static long alloc_countdown = -1;
static bool alloc_failed;

static bool alloc_should_fail(void)
{
	if (alloc_countdown < 0)
		return false;
	if (alloc_countdown-- == 0) {
		alloc_failed = true;
		return true;
	}
	return false;
}

void *__wrap_malloc(size_t n)
{
	return alloc_should_fail() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size)
{
	return alloc_should_fail() ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t n)
{
	return alloc_should_fail() ? NULL : __real_realloc(p, n);
}

static void test_allocation_failures(void **state)
{
	static const enum proto_kind kinds[] = {PROTO_HELLO, PROTO_DISPATCH, PROTO_LOG,
	                                        PROTO_RESULT};
	long failures = 0;

	(void)state;
	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		struct proto_msg *m = fx_msg(kinds[k]);
		struct buf b;

		if (kinds[k] == PROTO_LOG) {
			m->log.data = big;
			m->log.len = 4096;
		}
		buf_init(&b, PROTO_FRAME_MAX);
		assert_int_equal(proto_encode(m, &b), 0);
		for (long n = 0;; n++) {
			struct proto_msg d;
			struct error_info e;
			struct buf b2;
			int rc, rc2;

			alloc_failed = false;
			alloc_countdown = n;
			rc = proto_decode(b.data, b.len, &d, &e);
			buf_init(&b2, PROTO_FRAME_MAX);
			rc2 = proto_encode(m, &b2);
			alloc_countdown = -1;
			if (!alloc_failed) {
				assert_int_equal(rc, 0);
				assert_int_equal(rc2, 0);
				proto_msg_clear(&d);
				buf_free(&b2);
				break;
			}
			failures++;
			if (rc != 0) {
				assert_int_equal(rc, CLOVER_ENOMEM);
				assert_int_equal(e.code, CLOVER_ENOMEM);
				assert_int_equal(d.kind, 0);
			} else {
				assert_int_equal(rc2, CLOVER_ENOMEM);
				assert_int_equal(b2.len, 0);
				proto_msg_clear(&d);
			}
			buf_free(&b2);
		}
		buf_free(&b);
	}
	assert_true(failures >= 8);
}

/* With CLOVER_PROTO_SEEDS=dir, writes one frame per kind there (a fuzz corpus). */
static void test_write_seeds(void **state)
{
	const char *dir = getenv("CLOVER_PROTO_SEEDS");
	struct buf b;

	(void)state;
	if (dir == NULL)
		skip();
	mkdir(dir, 0755);
	buf_init(&b, PROTO_FRAME_MAX);
	for (int k = PROTO_HELLO; k <= PROTO_KIND_MAX; k++) {
		char path[4096];
		struct proto_msg *m = fx_msg((enum proto_kind)k);
		FILE *f;

		if (k == PROTO_LOG) {
			m->log.data = big;
			m->log.len = 600;
		}
		if (k == PROTO_DISPATCH)
			m->dispatch.n = 3;
		assert_int_equal(proto_encode(m, &b), 0);
		snprintf(path, sizeof(path), "%s/%s", dir, proto_kind_name(k));
		f = fopen(path, "wb");
		assert_non_null(f);
		assert_int_equal(fwrite(b.data, 1, b.len, f), b.len);
		fclose(f);
	}
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_roundtrip_every_kind),
	    cmocka_unit_test(test_roundtrip_optional_and_empty),
	    cmocka_unit_test(test_roundtrip_batches_and_values),
	    cmocka_unit_test(test_limits_table),
	    cmocka_unit_test(test_malformed_table),
	    cmocka_unit_test(test_oversized_frame),
	    cmocka_unit_test(test_every_truncation),
	    cmocka_unit_test(test_corruptions),
	    cmocka_unit_test(test_batch_splits_by_size),
	    cmocka_unit_test(test_batch_splits_by_count),
	    cmocka_unit_test(test_batch_small_buffer),
	    cmocka_unit_test(test_lz4),
	    cmocka_unit_test(test_versions_and_names),
	    cmocka_unit_test(test_allocation_failures),
	    cmocka_unit_test(test_write_seeds),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
