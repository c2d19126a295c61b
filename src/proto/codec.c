/* SPDX-License-Identifier: MIT */
/*
 * The frame codec (docs/protocol.md "Frames"). It is table-driven: each
 * message kind has a *schema*, a list of fields in wire order with their type,
 * where they live in struct proto_msg (or in a list item), and their limits.
 * One walker encodes, one decodes and one compares, all over the same tables,
 * so the encoder can never produce what the decoder refuses.
 *
 * Decoded strings are copied into one *arena* per frame, as large as the
 * frame: a string of L bytes occupies at least L+1 bytes on the wire (its
 * length prefix), which pays for its NUL. Lists are arrays allocated after
 * their count was checked against the bytes left. Every allocation of a
 * decoded message is recorded in its owned_ slots for proto_msg_clear().
 */
#include "proto/msg.h"

#include "clover.h"

#include <lz4.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEADER_LEN 3

enum ftype {
	T_UINT,    /* uvar */
	T_SINT,    /* svar */
	T_BOOL,    /* one byte, 0 or 1 */
	T_F64,     /* 8 bytes LE; -1 or 0..1 (progress fractions) */
	T_STATE,   /* uvar 1..4 <-> RUN_SUCCEEDED.. RUN_CANCELLED */
	T_STR,     /* uvar length+1 (0: absent), bytes */
	T_LIST,    /* u32 LE count, items (off: pointer, off2: uint32_t count) */
	T_LOGDATA, /* encoding, length, bytes (off: pointer, off2: size_t length) */
};

/* How a value is stored in the C struct. */
enum fstore { S_U8, S_INT, S_U32, S_I64, S_U64, S_BOOL, S_DBL, S_PTR };

#define F_OPT   1 /* string may be absent (NULL) */
#define F_PRINT 2 /* string must be printable ASCII without blanks */

struct schema;

struct field {
	const char *name;
	unsigned char type, store, flags;
	size_t off, off2;
	int64_t min;  /* integers: least value; strings: least length; lists: least count */
	uint64_t max; /* the greatest (for T_SINT read as int64_t) */
	const struct schema *sub;
};

struct schema {
	const struct field *f;
	size_t nf;
	size_t size; /* of one list item */
	/* A rule across fields: returns a message and sets *field, or NULL. */
	const char *(*check)(const char *base, const char **field);
};

/* enum values are stored through int pointers: make sure they are ints. */
_Static_assert(sizeof(enum proto_ack_status) == sizeof(int), "enum size");
_Static_assert(sizeof(enum proto_result_ack_status) == sizeof(int), "enum size");
_Static_assert(sizeof(enum proto_bye_reason) == sizeof(int), "enum size");
_Static_assert(sizeof(enum run_state) == sizeof(int), "enum size");

/* ---- schemas ---- */

#define UF(T, m, st, lo, hi)                                                                       \
	{                                                                                          \
		.name = #m, .type = T_UINT, .store = st, .off = offsetof(T, m), .min = lo,         \
		.max = hi                                                                          \
	}
#define SF(T, m, st, lo, hi)                                                                       \
	{                                                                                          \
		.name = #m, .type = T_SINT, .store = st, .off = offsetof(T, m), .min = lo,         \
		.max = (uint64_t)(hi)                                                              \
	}
#define BF(T, m)                                                                                   \
	{                                                                                          \
		.name = #m, .type = T_BOOL, .store = S_BOOL, .off = offsetof(T, m), .max = 1       \
	}
#define STRF(T, m, fl, lo, hi)                                                                     \
	{                                                                                          \
		.name = #m, .type = T_STR, .store = S_PTR, .flags = fl, .off = offsetof(T, m),     \
		.min = lo, .max = hi                                                               \
	}
#define LISTF(nm, T, m, cnt, lo, hi, sc)                                                           \
	{                                                                                          \
		.name = nm, .type = T_LIST, .store = S_PTR, .off = offsetof(T, m),                 \
		.off2 = offsetof(T, cnt), .min = lo, .max = hi, .sub = sc                          \
	}
#define TIMEF(T, m) UF(T, m, S_I64, 0, PROTO_TIME_MAX)
#define REFF(T)                                                                                    \
	UF(T, run_id, S_I64, 0, INT64_MAX), UF(T, shard, S_INT, 0, JOB_SHARDS_MAX - 1),            \
	    UF(T, attempt, S_INT, 1, PROTO_ATTEMPT_MAX), UF(T, ticket, S_U32, 0, UINT32_MAX)
#define LOGREFF(T)                                                                                 \
	UF(T, log.run_id, S_I64, 0, INT64_MAX), UF(T, log.shard, S_INT, 0, JOB_SHARDS_MAX - 1),    \
	    UF(T, log.attempt, S_INT, 1, PROTO_ATTEMPT_MAX),                                       \
	    UF(T, log.ticket, S_U32, 0, UINT32_MAX)
#define SCHEMA(arr, T, chk)                                                                        \
	{                                                                                          \
		arr, sizeof(arr) / sizeof(arr[0]), sizeof(T), chk                                  \
	}

typedef const char *str_t;

static const struct field kv_fields[] = {
    STRF(struct proto_kv, key, 0, 1, PROTO_LABEL_MAX),
    STRF(struct proto_kv, val, 0, 0, PROTO_LABEL_MAX),
};
static const struct schema kv_schema = SCHEMA(kv_fields, struct proto_kv, NULL);

static const struct field handler_fields[] = {
    {.name = "", .type = T_STR, .store = S_PTR, .min = 1, .max = PROTO_HANDLER_MAX},
};
static const struct schema handler_schema = SCHEMA(handler_fields, str_t, NULL);

static const struct field job_fields[] = {
    {.name = "", .type = T_STR, .store = S_PTR, .min = 2, .max = JOB_SPEC_MAX_BYTES},
};
static const struct schema job_schema = SCHEMA(job_fields, str_t, NULL);

static const struct field ref_fields[] = {REFF(struct proto_ref)};
static const struct schema ref_schema = SCHEMA(ref_fields, struct proto_ref, NULL);

static const char *check_hello(const char *base, const char **field)
{
	const struct proto_msg *m = (const struct proto_msg *)(const void *)base;

	*field = "hello.max_version";
	return m->hello.min_version > m->hello.max_version ? "less than min_version" : NULL;
}

#define H struct proto_msg
static const struct field hello_fields[] = {
    UF(H, hello.min_version, S_U8, 1, 255),
    UF(H, hello.max_version, S_U8, 1, 255),
    STRF(H, hello.executor_id, F_PRINT, 1, PROTO_ID_MAX),
    UF(H, hello.incarnation, S_U64, 0, UINT64_MAX),
    STRF(H, hello.host, F_OPT, 0, PROTO_HOST_MAX),
    UF(H, hello.pid, S_U32, 0, UINT32_MAX),
    STRF(H, hello.software, F_OPT, 0, PROTO_SOFTWARE_MAX),
    UF(H, hello.capacity, S_U32, 1, PROTO_CAPACITY_MAX),
    LISTF("hello.labels", H, hello.labels, hello.nlabels, 0, PROTO_LABELS_MAX, &kv_schema),
    LISTF("hello.handlers", H, hello.handlers, hello.nhandlers, 0, PROTO_HANDLERS_MAX,
          &handler_schema),
    LISTF("hello.jobs", H, hello.jobs, hello.njobs, 0, PROTO_JOBS_MAX, &job_schema),
    LISTF("hello.running", H, hello.running, hello.nrunning, 0, PROTO_RUNNING_MAX, &ref_schema),
};

static const char *check_welcome(const char *base, const char **field)
{
	const struct proto_msg *m = (const struct proto_msg *)(const void *)base;

	*field = "welcome.dead_after_ms";
	return m->welcome.dead_after_ms < m->welcome.heartbeat_ms ? "less than heartbeat_ms" : NULL;
}

static const struct field welcome_fields[] = {
    UF(H, welcome.version, S_U8, 1, 255),
    STRF(H, welcome.scheduler_id, F_PRINT, 1, PROTO_ID_MAX),
    UF(H, welcome.incarnation, S_U64, 0, UINT64_MAX),
    UF(H, welcome.heartbeat_ms, S_U32, PROTO_HEARTBEAT_MIN_MS, PROTO_HEARTBEAT_MAX_MS),
    UF(H, welcome.dead_after_ms, S_U32, PROTO_HEARTBEAT_MIN_MS, PROTO_DEAD_AFTER_MAX_MS),
};

static const struct field heartbeat_fields[] = {
    UF(H, heartbeat.seq, S_U64, 0, UINT64_MAX),
    TIMEF(H, heartbeat.at),
    UF(H, heartbeat.running, S_U32, 0, PROTO_CAPACITY_MAX),
    UF(H, heartbeat.capacity, S_U32, 0, PROTO_CAPACITY_MAX),
    BF(H, heartbeat.draining),
};

static const char *check_dispatch(const char *base, const char **field)
{
	const struct proto_dispatch_item *it =
	    (const struct proto_dispatch_item *)(const void *)base;

	*field = "shard";
	return it->shard >= it->shard_count ? "not less than shard_count" : NULL;
}

#define D struct proto_dispatch_item
static const struct field dispatch_item_fields[] = {
    REFF(D),
    UF(D, shard_count, S_INT, 1, JOB_SHARDS_MAX),
    TIMEF(D, scheduled_at),
    TIMEF(D, not_before),
    STRF(D, job, 0, 1, JOB_NAME_MAX),
    STRF(D, spec, 0, 2, JOB_SPEC_MAX_BYTES),
    STRF(D, shard_param, F_OPT, 0, PROTO_SHARD_PARAM_MAX),
    STRF(D, params, F_OPT, 0, PROTO_PARAMS_MAX),
};
#undef D
static const struct schema dispatch_item_schema =
    SCHEMA(dispatch_item_fields, struct proto_dispatch_item, check_dispatch);

static const struct field ack_item_fields[] = {
    REFF(struct proto_ack_item),
    UF(struct proto_ack_item, status, S_INT, 0, PROTO_ACK_DUPLICATE),
    STRF(struct proto_ack_item, message, F_OPT, 0, PROTO_TEXT_MAX),
};
static const struct schema ack_item_schema = SCHEMA(ack_item_fields, struct proto_ack_item, NULL);

static const struct field progress_item_fields[] = {
    REFF(struct proto_progress_item),
    TIMEF(struct proto_progress_item, at),
    BF(struct proto_progress_item, started),
    {.name = "fraction",
     .type = T_F64,
     .store = S_DBL,
     .off = offsetof(struct proto_progress_item, fraction)},
    STRF(struct proto_progress_item, message, F_OPT, 0, PROTO_TEXT_MAX),
};
static const struct schema progress_item_schema =
    SCHEMA(progress_item_fields, struct proto_progress_item, NULL);

static const struct field log_fields[] = {
    LOGREFF(H),
    UF(H, log.offset, S_U64, 0, PROTO_LOG_OFFSET_MAX),
    {.name = "log.data",
     .type = T_LOGDATA,
     .store = S_PTR,
     .off = offsetof(H, log.data),
     .off2 = offsetof(H, log.len),
     .min = 1,
     .max = PROTO_LOG_CHUNK_MAX},
};

static const struct field result_item_fields[] = {
    REFF(struct proto_result_item),
    {.name = "state",
     .type = T_STATE,
     .store = S_INT,
     .off = offsetof(struct proto_result_item, state)},
    SF(struct proto_result_item, exit_code, S_INT, INT32_MIN, INT32_MAX),
    TIMEF(struct proto_result_item, started_at),
    TIMEF(struct proto_result_item, finished_at),
    STRF(struct proto_result_item, message, F_OPT, 0, PROTO_TEXT_MAX),
};
static const struct schema result_item_schema =
    SCHEMA(result_item_fields, struct proto_result_item, NULL);

static const struct field result_ack_item_fields[] = {
    REFF(struct proto_result_ack_item),
    UF(struct proto_result_ack_item, status, S_INT, 0, PROTO_RACK_UNKNOWN),
};
static const struct schema result_ack_item_schema =
    SCHEMA(result_ack_item_fields, struct proto_result_ack_item, NULL);

static const struct field kill_item_fields[] = {
    REFF(struct proto_kill_item),
    BF(struct proto_kill_item, timed_out),
};
static const struct schema kill_item_schema =
    SCHEMA(kill_item_fields, struct proto_kill_item, NULL);

static const struct field drain_fields[] = {
    UF(H, drain.deadline_ms, S_U32, 0, UINT32_MAX),
    STRF(H, drain.reason, F_OPT, 0, PROTO_TEXT_MAX),
};

static const struct field bye_fields[] = {
    UF(H, bye.reason, S_INT, 0, PROTO_BYE_TIMEOUT),
    STRF(H, bye.message, F_OPT, 0, PROTO_TEXT_MAX),
};

#define BATCHF(nm, member, sc)                                                                     \
	static const struct field member##_fields[] = {                                            \
	    LISTF(nm, H, member.items, member.n, 1, PROTO_BATCH_MAX, sc)}
BATCHF("dispatch", dispatch, &dispatch_item_schema);
BATCHF("ack", ack, &ack_item_schema);
BATCHF("progress", progress, &progress_item_schema);
BATCHF("result", result, &result_item_schema);
BATCHF("result-ack", result_ack, &result_ack_item_schema);
BATCHF("kill", kill, &kill_item_schema);

static const struct schema kinds[PROTO_KIND_MAX + 1] = {
    [PROTO_HELLO] = SCHEMA(hello_fields, H, check_hello),
    [PROTO_WELCOME] = SCHEMA(welcome_fields, H, check_welcome),
    [PROTO_HEARTBEAT] = SCHEMA(heartbeat_fields, H, NULL),
    [PROTO_DISPATCH] = SCHEMA(dispatch_fields, H, NULL),
    [PROTO_ACK] = SCHEMA(ack_fields, H, NULL),
    [PROTO_PROGRESS] = SCHEMA(progress_fields, H, NULL),
    [PROTO_LOG] = SCHEMA(log_fields, H, NULL),
    [PROTO_RESULT] = SCHEMA(result_fields, H, NULL),
    [PROTO_RESULT_ACK] = SCHEMA(result_ack_fields, H, NULL),
    [PROTO_KILL] = SCHEMA(kill_fields, H, NULL),
    [PROTO_DRAIN] = SCHEMA(drain_fields, H, NULL),
    [PROTO_BYE] = SCHEMA(bye_fields, H, NULL),
};
#undef H

static const char *const kind_names[PROTO_KIND_MAX + 1] = {
    [PROTO_HELLO] = "hello",       [PROTO_WELCOME] = "welcome", [PROTO_HEARTBEAT] = "heartbeat",
    [PROTO_DISPATCH] = "dispatch", [PROTO_ACK] = "ack",         [PROTO_PROGRESS] = "progress",
    [PROTO_LOG] = "log",           [PROTO_RESULT] = "result",   [PROTO_RESULT_ACK] = "result-ack",
    [PROTO_KILL] = "kill",         [PROTO_DRAIN] = "drain",     [PROTO_BYE] = "bye",
};

/* Wire codes of result states (docs/protocol.md "result"); 0 is not a state. */
static const enum run_state wire_states[] = {RUN_PENDING, RUN_SUCCEEDED, RUN_FAILED, RUN_TIMED_OUT,
                                             RUN_CANCELLED};
#define WIRE_STATES 5

static bool is_batched(const struct schema *s)
{
	return s->nf == 1 && s->f[0].type == T_LIST && s->f[0].min == 1;
}

/* ---- access to struct fields ---- */

static int64_t load_int(const char *base, const struct field *f)
{
	const void *p = base + f->off;

	switch (f->store) {
	case S_U8:
		return *(const uint8_t *)p;
	case S_INT:
		return *(const int *)p;
	case S_U32:
		return *(const uint32_t *)p;
	case S_I64:
		return *(const int64_t *)p;
	case S_BOOL:
		return *(const bool *)p;
	default:
		return 0;
	}
}

static void store_int(char *base, const struct field *f, uint64_t v)
{
	void *p = base + f->off;

	switch (f->store) {
	case S_U8:
		*(uint8_t *)p = (uint8_t)v;
		break;
	case S_INT:
		*(int *)p = (int)(int64_t)v;
		break;
	case S_U32:
		*(uint32_t *)p = (uint32_t)v;
		break;
	case S_I64:
		*(int64_t *)p = (int64_t)v;
		break;
	case S_U64:
		*(uint64_t *)p = v;
		break;
	case S_BOOL:
		*(bool *)p = v != 0;
		break;
	default:
		break;
	}
}

/*
 * The value of an integer field as unsigned; false when it is negative
 * (only possible for a caller-built message).
 */
static bool load_uint(const char *base, const struct field *f, uint64_t *v)
{
	int64_t i;

	if (f->store == S_U64) {
		*v = *(const uint64_t *)(const void *)(base + f->off);
		return true;
	}
	i = load_int(base, f);
	*v = (uint64_t)i;
	return i >= 0;
}

static const char *load_str(const char *base, const struct field *f)
{
	return *(const char *const *)(const void *)(base + f->off);
}

static bool fraction_ok(double v)
{
	return v == -1.0 || (v >= 0.0 && v <= 1.0);
}

/* ---- error paths ---- */

/* Where a walker is, to name fields in errors: "dispatch[3].spec". */
struct where {
	const struct field *list; /* the list being walked, or NULL */
	uint32_t index;
	struct error_info *e;
};

static void path_of(const struct where *w, const struct field *f, char *out, size_t n)
{
	if (w->list == NULL)
		snprintf(out, n, "%s", f->name);
	else if (f->name[0] == '\0')
		snprintf(out, n, "%s[%u]", w->list->name, w->index);
	else
		snprintf(out, n, "%s[%u].%s", w->list->name, w->index, f->name);
}

__attribute__((format(printf, 4, 5))) static int fail(const struct where *w, int code,
                                                      const struct field *f, const char *fmt, ...)
{
	char path[ERROR_FIELD_MAX], msg[ERROR_MSG_MAX];
	va_list ap;

	if (w->e == NULL)
		return code;
	path_of(w, f, path, sizeof(path));
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return error_set(w->e, code, path, "%s: %s", path, msg);
}

/* ---- encoder ---- */

struct enc {
	struct where w;
	struct buf *b;
	bool full; /* an append failed for want of room (not a field limit) */
};

static int put(struct enc *x, const void *p, size_t n)
{
	int rc = buf_append(x->b, p, n);

	if (rc == CLOVER_ETOOBIG)
		x->full = true;
	return rc;
}

static int put_uvar(struct enc *x, uint64_t v)
{
	unsigned char tmp[10];
	size_t n = 0;

	while (v >= 0x80) {
		tmp[n++] = (unsigned char)(v | 0x80);
		v >>= 7;
	}
	tmp[n++] = (unsigned char)v;
	return put(x, tmp, n);
}

static int put_u32le(struct enc *x, uint32_t v)
{
	unsigned char tmp[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
	                        (unsigned char)(v >> 24)};

	return put(x, tmp, 4);
}

static int enc_fields(struct enc *x, const struct schema *s, const char *base, bool batch,
                      uint32_t *taken);

static int enc_str(struct enc *x, const struct field *f, const char *s)
{
	size_t len;
	int rc;

	if (s == NULL) {
		if (!(f->flags & F_OPT))
			return fail(&x->w, CLOVER_EINVAL, f, "missing (required)");
		return put_uvar(x, 0);
	}
	len = strlen(s);
	if (len > f->max)
		return fail(&x->w, CLOVER_ETOOBIG, f, "%zu bytes, over the limit of %llu", len,
		            (unsigned long long)f->max);
	if ((int64_t)len < f->min)
		return fail(&x->w, CLOVER_EINVAL, f, "%zu bytes, under the minimum of %lld", len,
		            (long long)f->min);
	if (f->flags & F_PRINT) {
		for (size_t i = 0; i < len; i++) {
			if (s[i] < 0x21 || s[i] > 0x7e)
				return fail(&x->w, CLOVER_EINVAL, f,
				            "byte 0x%02x at %zu is not printable ASCII",
				            (unsigned char)s[i], i);
		}
	}
	if ((rc = put_uvar(x, (uint64_t)len + 1)) != 0)
		return rc;
	return put(x, s, len);
}

static int enc_logdata(struct enc *x, const struct field *f, const char *base)
{
	const char *data = load_str(base, f);
	size_t len = *(const size_t *)(const void *)(base + f->off2);
	char *z = NULL;
	int zlen = 0, rc;

	if (len > f->max)
		return fail(&x->w, CLOVER_ETOOBIG, f, "%zu bytes, over the limit of %llu", len,
		            (unsigned long long)f->max);
	if (len < 1 || data == NULL)
		return fail(&x->w, CLOVER_EINVAL, f, "empty log chunk");
	if (len >= PROTO_LZ4_MIN) {
		int bound = LZ4_compressBound((int)len);

		z = malloc((size_t)bound);
		if (z == NULL)
			return CLOVER_ENOMEM;
		zlen = LZ4_compress_default(data, z, (int)len, bound);
	}
	if (zlen > 0 && (size_t)zlen < len) {
		if ((rc = put_uvar(x, 1)) == 0 && (rc = put_uvar(x, len)) == 0 &&
		    (rc = put_uvar(x, (uint64_t)zlen)) == 0)
			rc = put(x, z, (size_t)zlen);
	} else if ((rc = put_uvar(x, 0)) == 0 && (rc = put_uvar(x, len)) == 0) {
		rc = put(x, data, len);
	}
	free(z);
	return rc;
}

static int enc_list(struct enc *x, const struct field *f, const char *base, bool batch,
                    uint32_t *taken)
{
	const char *items = load_str(base, f);
	uint32_t n = *(const uint32_t *)(const void *)(base + f->off2), i;
	const struct schema *s = f->sub;
	size_t count_at;
	int rc;

	if (batch && n > f->max)
		n = (uint32_t)f->max;
	if (n > f->max)
		return fail(&x->w, CLOVER_ETOOBIG, f, "%u items, over the limit of %llu", n,
		            (unsigned long long)f->max);
	if ((int64_t)n < f->min)
		return fail(&x->w, CLOVER_EINVAL, f, "%u items, under the minimum of %lld", n,
		            (long long)f->min);
	if (n > 0 && items == NULL)
		return fail(&x->w, CLOVER_EINVAL, f, "%u items but no array", n);
	count_at = x->b->len;
	if ((rc = put_u32le(x, n)) != 0)
		return rc;
	x->w.list = f;
	for (i = 0; i < n; i++) {
		size_t mark = x->b->len;

		x->w.index = i;
		rc = enc_fields(x, s, items + (size_t)i * s->size, false, NULL);
		if (rc == CLOVER_ETOOBIG && x->full && batch && i > 0) {
			x->b->len = mark;
			x->b->data[mark] = '\0';
			x->full = false;
			rc = 0;
			break;
		}
		if (rc != 0)
			break;
	}
	x->w.list = NULL;
	if (rc != 0)
		return rc;
	if (i != n) {
		unsigned char *c = (unsigned char *)x->b->data + count_at;

		c[0] = (unsigned char)i;
		c[1] = (unsigned char)(i >> 8);
		c[2] = (unsigned char)(i >> 16);
		c[3] = (unsigned char)(i >> 24);
	}
	if (taken)
		*taken = i;
	return 0;
}

static int enc_fields(struct enc *x, const struct schema *s, const char *base, bool batch,
                      uint32_t *taken)
{
	const char *why, *fname;
	int rc = 0;

	for (size_t k = 0; k < s->nf && rc == 0; k++) {
		const struct field *f = &s->f[k];
		uint64_t u;
		int64_t i;
		double d;
		unsigned char b8[8];

		switch (f->type) {
		case T_UINT:
		case T_BOOL:
			if (!load_uint(base, f, &u))
				return fail(&x->w, CLOVER_EINVAL, f, "%lld is negative",
				            (long long)load_int(base, f));
			if (u < (uint64_t)f->min || u > f->max)
				return fail(&x->w, CLOVER_EINVAL, f,
				            "%llu is out of range %lld..%llu",
				            (unsigned long long)u, (long long)f->min,
				            (unsigned long long)f->max);
			rc = put_uvar(x, u);
			break;
		case T_SINT:
			i = load_int(base, f);
			if (i < f->min || i > (int64_t)f->max)
				return fail(&x->w, CLOVER_EINVAL, f,
				            "%lld is out of range %lld..%lld", (long long)i,
				            (long long)f->min, (long long)f->max);
			rc = put_uvar(x, ((uint64_t)i << 1) ^ (uint64_t)(i >> 63));
			break;
		case T_F64:
			memcpy(&d, base + f->off, sizeof(d));
			if (!fraction_ok(d))
				return fail(&x->w, CLOVER_EINVAL, f, "%g is neither -1 nor in 0..1",
				            d);
			memcpy(&u, &d, sizeof(u));
			for (int j = 0; j < 8; j++)
				b8[j] = (unsigned char)(u >> (8 * j));
			rc = put(x, b8, 8);
			break;
		case T_STATE:
			i = load_int(base, f);
			u = 0;
			for (unsigned j = 1; j < WIRE_STATES; j++)
				if ((int64_t)wire_states[j] == i)
					u = j;
			if (u == 0)
				return fail(&x->w, CLOVER_EINVAL, f,
				            "state %lld is not succeeded, failed, timed_out or "
				            "cancelled",
				            (long long)i);
			rc = put_uvar(x, u);
			break;
		case T_STR:
			rc = enc_str(x, f, load_str(base, f));
			break;
		case T_LIST:
			rc = enc_list(x, f, base, batch, batch ? taken : NULL);
			break;
		case T_LOGDATA:
			rc = enc_logdata(x, f, base);
			break;
		}
	}
	if (rc == 0 && s->check && (why = s->check(base, &fname)) != NULL) {
		struct field named = {.name = fname};

		return fail(&x->w, CLOVER_EINVAL, &named, "%s", why);
	}
	return rc;
}

static int encode(const struct proto_msg *m, struct buf *out, bool batch, uint32_t *taken,
                  struct error_info *e)
{
	struct enc x = {.w = {.e = e}, .b = out};
	unsigned char hdr[HEADER_LEN];
	const struct schema *s;
	size_t max = out->max;
	int rc;

	*taken = 1;
	buf_reset(out);
	if (m->kind < PROTO_HELLO || m->kind > PROTO_KIND_MAX)
		return error_set(e, CLOVER_EINVAL, "kind", "unknown message kind %d", (int)m->kind);
	if (m->version != 0 && (m->version < PROTO_VERSION_MIN || m->version > PROTO_VERSION))
		return error_set(e, CLOVER_EINVAL, "version", "unsupported protocol version %u",
		                 m->version);
	s = &kinds[m->kind];
	hdr[0] = PROTO_MAGIC;
	hdr[1] = m->version ? m->version : PROTO_VERSION;
	hdr[2] = (unsigned char)m->kind;
	if (out->max > PROTO_FRAME_MAX)
		out->max = PROTO_FRAME_MAX;
	rc = put(&x, hdr, sizeof(hdr));
	if (rc == 0)
		rc = enc_fields(&x, s, (const char *)m, batch && is_batched(s), taken);
	out->max = max;
	if (rc == CLOVER_ETOOBIG && x.full)
		rc = error_set(e, CLOVER_ETOOBIG, "", "a %s frame would exceed %zu bytes",
		               kind_names[m->kind],
		               out->max < PROTO_FRAME_MAX ? out->max : (size_t)PROTO_FRAME_MAX);
	if (rc == CLOVER_ENOMEM)
		error_set(e, rc, "", "out of memory encoding a %s frame", kind_names[m->kind]);
	if (rc != 0)
		buf_reset(out);
	return rc;
}

int proto_encode(const struct proto_msg *m, struct buf *out)
{
	uint32_t taken;

	return encode(m, out, false, &taken, NULL);
}

int proto_encode_batch(const struct proto_msg *m, struct buf *out, uint32_t *taken,
                       struct error_info *e)
{
	return encode(m, out, true, taken, e);
}

/* ---- decoder ---- */

struct dec {
	struct where w;
	const unsigned char *p, *end;
	struct proto_msg *m;
	size_t frame_len;
	char *arena; /* strings; allocated at the first one */
	size_t arena_used;
	int nowned;
};

static int own(struct dec *d, void *p)
{
	if (d->nowned >= PROTO_OWNED_MAX) {
		free(p);
		return CLOVER_ENOMEM;
	}
	d->m->owned_[d->nowned++] = p;
	return 0;
}

static size_t left(const struct dec *d)
{
	return (size_t)(d->end - d->p);
}

static int get_uvar(struct dec *d, const struct field *f, uint64_t *v)
{
	uint64_t r = 0;

	for (unsigned n = 0; n < 10; n++) {
		unsigned char c;

		if (d->p == d->end)
			return fail(&d->w, CLOVER_EPROTO, f, "truncated varint (frame ends)");
		c = *d->p++;
		if (n == 9 && c > 1)
			return fail(&d->w, CLOVER_EPROTO, f, "varint overflows 64 bits");
		r |= (uint64_t)(c & 0x7f) << (7 * n);
		if (!(c & 0x80)) {
			if (c == 0 && n > 0)
				return fail(&d->w, CLOVER_EPROTO, f,
				            "non-minimal varint (%u bytes)", n + 1);
			*v = r;
			return 0;
		}
	}
	return fail(&d->w, CLOVER_EPROTO, f, "varint longer than 10 bytes");
}

static int get_str(struct dec *d, const struct field *f, char *base)
{
	const char **out = (const char **)(void *)(base + f->off);
	uint64_t l;
	size_t len;
	const unsigned char *nul;
	int rc;

	if ((rc = get_uvar(d, f, &l)) != 0)
		return rc;
	if (l == 0) {
		if (!(f->flags & F_OPT))
			return fail(&d->w, CLOVER_EPROTO, f, "missing (required)");
		*out = NULL;
		return 0;
	}
	len = (size_t)(l - 1);
	if (l - 1 > f->max)
		return fail(&d->w, CLOVER_EPROTO, f, "%llu bytes, over the limit of %llu",
		            (unsigned long long)(l - 1), (unsigned long long)f->max);
	if ((int64_t)len < f->min)
		return fail(&d->w, CLOVER_EPROTO, f, "%zu bytes, under the minimum of %lld", len,
		            (long long)f->min);
	if (len > left(d))
		return fail(&d->w, CLOVER_EPROTO, f, "truncated: %zu bytes of text, %zu left", len,
		            left(d));
	if ((nul = memchr(d->p, 0, len)) != NULL)
		return fail(&d->w, CLOVER_EPROTO, f, "NUL byte at offset %zu",
		            (size_t)(nul - d->p));
	if (f->flags & F_PRINT) {
		for (size_t i = 0; i < len; i++) {
			if (d->p[i] < 0x21 || d->p[i] > 0x7e)
				return fail(&d->w, CLOVER_EPROTO, f,
				            "byte 0x%02x at %zu is not printable ASCII", d->p[i],
				            i);
		}
	}
	if (d->arena == NULL) {
		d->arena = malloc(d->frame_len);
		if (d->arena == NULL || own(d, d->arena) != 0) {
			d->arena = NULL;
			return CLOVER_ENOMEM;
		}
	}
	/* Cannot overflow: every string used at least len + 1 frame bytes. */
	memcpy(d->arena + d->arena_used, d->p, len);
	d->arena[d->arena_used + len] = '\0';
	*out = d->arena + d->arena_used;
	d->arena_used += len + 1;
	d->p += len;
	return 0;
}

static int dec_fields(struct dec *d, const struct schema *s, char *base);

/* The fewest bytes one item of schema `s` occupies on the wire. */
static size_t min_wire(const struct schema *s)
{
	size_t n = 0;

	for (size_t k = 0; k < s->nf; k++)
		n += s->f[k].type == T_F64 ? 8 : s->f[k].type == T_LIST ? 4 : 1;
	return n;
}

static int dec_list(struct dec *d, const struct field *f, char *base)
{
	const struct schema *s = f->sub;
	uint32_t n;
	char *items;
	int rc = 0;

	if (left(d) < 4)
		return fail(&d->w, CLOVER_EPROTO, f,
		            "truncated: list count needs 4 bytes, %zu left", left(d));
	n = (uint32_t)d->p[0] | (uint32_t)d->p[1] << 8 | (uint32_t)d->p[2] << 16 |
	    (uint32_t)d->p[3] << 24;
	d->p += 4;
	if (n > f->max)
		return fail(&d->w, CLOVER_EPROTO, f, "%u items, over the limit of %llu", n,
		            (unsigned long long)f->max);
	if ((int64_t)n < f->min)
		return fail(&d->w, CLOVER_EPROTO, f, "%u items, under the minimum of %lld", n,
		            (long long)f->min);
	if (n > left(d) / min_wire(s))
		return fail(&d->w, CLOVER_EPROTO, f,
		            "truncated: %u items cannot fit in the %zu bytes left", n, left(d));
	if (n == 0)
		return 0;
	items = calloc(n, s->size);
	if (items == NULL || own(d, items) != 0)
		return CLOVER_ENOMEM;
	*(char **)(void *)(base + f->off) = items;
	*(uint32_t *)(void *)(base + f->off2) = n;
	d->w.list = f;
	for (uint32_t i = 0; i < n && rc == 0; i++) {
		d->w.index = i;
		rc = dec_fields(d, s, items + (size_t)i * s->size);
	}
	d->w.list = NULL;
	return rc;
}

static int dec_logdata(struct dec *d, const struct field *f, char *base)
{
	uint64_t enc, len, zlen;
	char *out;
	int rc;

	if ((rc = get_uvar(d, f, &enc)) != 0 || (rc = get_uvar(d, f, &len)) != 0)
		return rc;
	if (enc > 1)
		return fail(&d->w, CLOVER_EPROTO, f, "unknown encoding %llu (0 raw, 1 LZ4)",
		            (unsigned long long)enc);
	if (len > f->max)
		return fail(&d->w, CLOVER_EPROTO, f, "%llu bytes, over the limit of %llu",
		            (unsigned long long)len, (unsigned long long)f->max);
	if (len < 1)
		return fail(&d->w, CLOVER_EPROTO, f, "empty log chunk");
	if (enc == 0) {
		if (len > left(d))
			return fail(&d->w, CLOVER_EPROTO, f, "truncated: %llu bytes, %zu left",
			            (unsigned long long)len, left(d));
		zlen = len;
	} else {
		if ((rc = get_uvar(d, f, &zlen)) != 0)
			return rc;
		if (zlen < 1 || zlen > (uint64_t)LZ4_compressBound((int)len))
			return fail(&d->w, CLOVER_EPROTO, f,
			            "LZ4 block of %llu bytes for %llu bytes of text",
			            (unsigned long long)zlen, (unsigned long long)len);
		if (zlen > left(d))
			return fail(&d->w, CLOVER_EPROTO, f,
			            "truncated: LZ4 block of %llu bytes, %zu left",
			            (unsigned long long)zlen, left(d));
	}
	out = malloc((size_t)len + 1);
	if (out == NULL || own(d, out) != 0)
		return CLOVER_ENOMEM;
	if (enc == 0) {
		memcpy(out, d->p, (size_t)len);
	} else if (LZ4_decompress_safe((const char *)d->p, out, (int)zlen, (int)len) != (int)len) {
		return fail(&d->w, CLOVER_EPROTO, f,
		            "LZ4 block is corrupt or does not give %llu bytes",
		            (unsigned long long)len);
	}
	out[len] = '\0';
	*(const char **)(void *)(base + f->off) = out;
	*(size_t *)(void *)(base + f->off2) = (size_t)len;
	d->p += zlen;
	return 0;
}

static int dec_fields(struct dec *d, const struct schema *s, char *base)
{
	const char *why, *fname;
	int rc = 0;

	for (size_t k = 0; k < s->nf && rc == 0; k++) {
		const struct field *f = &s->f[k];
		uint64_t u;
		int64_t i;
		double v;

		switch (f->type) {
		case T_UINT:
		case T_BOOL:
			if ((rc = get_uvar(d, f, &u)) != 0)
				break;
			if (u < (uint64_t)f->min || u > f->max)
				return fail(&d->w, CLOVER_EPROTO, f,
				            "%llu is out of range %lld..%llu",
				            (unsigned long long)u, (long long)f->min,
				            (unsigned long long)f->max);
			store_int(base, f, u);
			break;
		case T_SINT:
			if ((rc = get_uvar(d, f, &u)) != 0)
				break;
			i = (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
			if (i < f->min || i > (int64_t)f->max)
				return fail(&d->w, CLOVER_EPROTO, f,
				            "%lld is out of range %lld..%lld", (long long)i,
				            (long long)f->min, (long long)f->max);
			store_int(base, f, (uint64_t)i);
			break;
		case T_F64:
			if (left(d) < 8)
				return fail(&d->w, CLOVER_EPROTO, f,
				            "truncated: needs 8 bytes, %zu left", left(d));
			u = 0;
			for (int j = 0; j < 8; j++)
				u |= (uint64_t)d->p[j] << (8 * j);
			d->p += 8;
			memcpy(&v, &u, sizeof(v));
			if (!fraction_ok(v))
				return fail(&d->w, CLOVER_EPROTO, f, "%g is neither -1 nor in 0..1",
				            v);
			memcpy(base + f->off, &v, sizeof(v));
			break;
		case T_STATE:
			if ((rc = get_uvar(d, f, &u)) != 0)
				break;
			if (u < 1 || u >= WIRE_STATES)
				return fail(&d->w, CLOVER_EPROTO, f,
				            "unknown state %llu (1..4: succeeded, failed, "
				            "timed_out, cancelled)",
				            (unsigned long long)u);
			store_int(base, f, (uint64_t)wire_states[u]);
			break;
		case T_STR:
			rc = get_str(d, f, base);
			break;
		case T_LIST:
			rc = dec_list(d, f, base);
			break;
		case T_LOGDATA:
			rc = dec_logdata(d, f, base);
			break;
		}
	}
	if (rc == 0 && s->check && (why = s->check(base, &fname)) != NULL) {
		struct field named = {.name = fname};

		return fail(&d->w, CLOVER_EPROTO, &named, "%s", why);
	}
	return rc;
}

int proto_decode(const void *data, size_t len, struct proto_msg *m, struct error_info *e)
{
	const unsigned char *p = data;
	struct dec d = {.w = {.e = e}, .m = m, .frame_len = len};
	int rc;

	memset(m, 0, sizeof(*m));
	if (len > PROTO_FRAME_MAX)
		return error_set(e, CLOVER_EPROTO, "", "frame of %zu bytes exceeds the limit of %u",
		                 len, PROTO_FRAME_MAX);
	if (len < HEADER_LEN)
		return error_set(e, CLOVER_EPROTO, "",
		                 "frame of %zu bytes is shorter than its %d-byte header", len,
		                 HEADER_LEN);
	if (p[0] != PROTO_MAGIC)
		return error_set(e, CLOVER_EPROTO, "", "bad magic byte 0x%02x (not a clover frame)",
		                 p[0]);
	if (p[1] < PROTO_VERSION_MIN || p[1] > PROTO_VERSION)
		return error_set(e, CLOVER_EPROTO, "version",
		                 "unsupported protocol version %u (this build speaks %d to %d)",
		                 p[1], PROTO_VERSION_MIN, PROTO_VERSION);
	if (p[2] < PROTO_HELLO || p[2] > PROTO_KIND_MAX)
		return error_set(e, CLOVER_EPROTO, "kind", "unknown message kind %u", p[2]);
	m->kind = (enum proto_kind)p[2];
	m->version = p[1];
	d.p = p + HEADER_LEN;
	d.end = p + len;
	rc = dec_fields(&d, &kinds[m->kind], (char *)m);
	if (rc == 0 && d.p != d.end)
		rc = error_set(e, CLOVER_EPROTO, "", "%zu bytes left over after the %s body",
		               left(&d), kind_names[m->kind]);
	if (rc == CLOVER_ENOMEM)
		error_set(e, rc, "", "out of memory decoding a %s frame of %zu bytes",
		          kind_names[m->kind], len);
	if (rc != 0)
		proto_msg_clear(m);
	return rc;
}

void proto_msg_clear(struct proto_msg *m)
{
	if (m == NULL)
		return;
	for (int i = 0; i < PROTO_OWNED_MAX; i++)
		free(m->owned_[i]);
	memset(m, 0, sizeof(*m));
}

/* ---- comparison ---- */

static bool str_eq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static bool fields_equal(const struct schema *s, const char *a, const char *b)
{
	for (size_t k = 0; k < s->nf; k++) {
		const struct field *f = &s->f[k];
		uint64_t ua, ub;
		size_t la, lb;

		switch (f->type) {
		case T_UINT:
		case T_BOOL:
		case T_SINT:
		case T_STATE:
			if (f->store == S_U64) {
				load_uint(a, f, &ua);
				load_uint(b, f, &ub);
				if (ua != ub)
					return false;
			} else if (load_int(a, f) != load_int(b, f)) {
				return false;
			}
			break;
		case T_F64:
			if (memcmp(a + f->off, b + f->off, sizeof(double)) != 0)
				return false;
			break;
		case T_STR:
			if (!str_eq(load_str(a, f), load_str(b, f)))
				return false;
			break;
		case T_LIST: {
			uint32_t na = *(const uint32_t *)(const void *)(a + f->off2);
			uint32_t nb = *(const uint32_t *)(const void *)(b + f->off2);
			const char *ia = load_str(a, f), *ib = load_str(b, f);

			if (na != nb)
				return false;
			for (uint32_t i = 0; i < na; i++)
				if (!fields_equal(f->sub, ia + (size_t)i * f->sub->size,
				                  ib + (size_t)i * f->sub->size))
					return false;
			break;
		}
		case T_LOGDATA:
			la = *(const size_t *)(const void *)(a + f->off2);
			lb = *(const size_t *)(const void *)(b + f->off2);
			if (la != lb || (la > 0 && memcmp(load_str(a, f), load_str(b, f), la) != 0))
				return false;
			break;
		}
	}
	return true;
}

bool proto_msg_equal(const struct proto_msg *a, const struct proto_msg *b)
{
	unsigned va = a->version ? a->version : PROTO_VERSION;
	unsigned vb = b->version ? b->version : PROTO_VERSION;

	if (a->kind != b->kind || va != vb)
		return false;
	if (a->kind < PROTO_HELLO || a->kind > PROTO_KIND_MAX)
		return true;
	return fields_equal(&kinds[a->kind], (const char *)a, (const char *)b);
}

/* ---- names and versions ---- */

const char *proto_kind_name(int kind)
{
	if (kind < PROTO_HELLO || kind > PROTO_KIND_MAX)
		return "unknown";
	return kind_names[kind];
}

const char *proto_ack_status_name(enum proto_ack_status s)
{
	static const char *const names[] = {"accepted", "busy", "draining", "invalid", "duplicate"};

	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "unknown";
}

const char *proto_result_ack_status_name(enum proto_result_ack_status s)
{
	static const char *const names[] = {"recorded", "stale", "unknown"};

	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "unknown";
}

const char *proto_bye_reason_name(enum proto_bye_reason r)
{
	static const char *const names[] = {"shutdown", "drained",    "version",
	                                    "refused",  "no_session", "timeout"};

	return (unsigned)r < sizeof(names) / sizeof(names[0]) ? names[r] : "unknown";
}

int proto_negotiate(unsigned peer_min, unsigned peer_max, uint8_t *out)
{
	unsigned hi = peer_max < PROTO_VERSION ? peer_max : PROTO_VERSION;

	if (peer_min > peer_max || hi < PROTO_VERSION_MIN || hi < peer_min)
		return CLOVER_ENOTSUP;
	*out = (uint8_t)hi;
	return 0;
}
