/* SPDX-License-Identifier: MIT */
/*
 * Job specs: the JSON codec and the validator (see job.h and docs/job-spec.md).
 *
 * job_spec_parse() reads the JSON object an operator wrote, checks every member
 * against its type, value set and limit, and fills a `struct job_spec` for the
 * engine. It stops at the first problem and reports it with a field path that
 * joins member names with dots and array indexes with brackets
 * ("run.http.url", "shards.params[2]"), and a sentence that quotes the bad
 * value. Unknown members are errors everywhere (a typo must not silently turn
 * into a default), except the top-level "status", which GET responses add and
 * which clients send back when they edit a job they read.
 *
 * The spec keeps the compact JSON text of what was applied (without "status"),
 * so a job reads back exactly as it was written: defaults are not filled into
 * the text, only into the parsed fields. Specs are immutable and shared by
 * reference count.
 */
#include "core/job.h"
#include "base/duration.h"
#include "base/time.h"
#include "clover.h"
#include "cron/cron.h"
#include "cron/tz.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Limits of single fields; the whole text is capped by JOB_SPEC_MAX_BYTES. */
#define DESCRIPTION_MAX    4096
#define SHELL_MAX          (64 * 1024)
#define HANDLER_PARAMS_MAX (64 * 1024)
#define URL_MAX            8192
#define HEADERS_MAX        64
#define HEADER_NAME_MAX    256
#define HEADER_VALUE_MAX   8192
#define BODY_MAX           (64 * 1024)
#define EXPECT_MAX         64
#define ENV_MAX            256
#define ENV_KEY_MAX        256
#define CWD_MAX            4096
#define LABELS_MAX         64
#define LABEL_MAX          256
#define SHARD_PARAM_MAX    4096
#define NAMES_MAX          64 /* contacts, on_success */
#define DURATION_TEXT_MAX  64

#define NAME_RULE "use 1 to 128 letters, digits, '.', '_' or '-'"

static const char *const concurrency_names[] = {"forbid", "allow", "replace", "serial"};
static const char *const misfire_names[] = {"fire_once", "skip", "fire_all"};
static const char *const route_names[] = {
    "round_robin",     "random",     "first",        "last",
    "consistent_hash", "least_busy", "least_recent", "broadcast",
};
static const char *const strategy_names[] = {"average", "odevity", "rotate"};
static const char *const run_kind_names[] = {"shell", "http", "handler"};
static const char *const http_methods[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* The members each object may have, NULL-terminated. */
static const char *const top_fields[] = {
    "name",  "description", "schedule", "timezone",    "run",     "env",
    "cwd",   "target",      "shards",   "concurrency", "misfire", "timeout",
    "retry", "failover",    "contacts", "on_success",  "paused",  NULL,
};
static const char *const run_fields[] = {"shell", "http", "handler", "params", NULL};
static const char *const http_fields[] = {"method", "url", "headers", "body", "expect", NULL};
static const char *const target_fields[] = {"labels", "route", NULL};
static const char *const shards_fields[] = {"count", "params", "strategy", NULL};
static const char *const misfire_fields[] = {"policy", "threshold", NULL};
static const char *const retry_fields[] = {"max", "backoff", "max_backoff", NULL};

/* A field path ("shards.params[2]"), truncated if absurdly long. */
struct path {
	char s[ERROR_FIELD_MAX];
};

/* A value quoted for a message: 'text', shortened and with controls escaped. */
struct quoted {
	char s[96];
};

/*
 * Fills `e` with CLOVER_EINVAL, the field `path` and the message
 * "<path>: <text>" (just <text> when path is empty). Returns CLOVER_EINVAL.
 */
static int fail(struct error_info *e, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(struct error_info *e, const char *path, const char *fmt, ...)
{
	char msg[ERROR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (path == NULL || *path == '\0')
		return error_set(e, CLOVER_EINVAL, NULL, "%s", msg);
	return error_set(e, CLOVER_EINVAL, path, "%s: %s", path, msg);
}

static int oom(struct error_info *e)
{
	return error_set(e, CLOVER_ENOMEM, NULL, "out of memory while reading the job spec");
}

/*
 * Quotes `v` for a message: at most about 60 bytes of it (cut on a UTF-8
 * boundary, "..." marks the cut), control characters escaped, in single quotes.
 */
static const char *quote(struct quoted *q, const char *v)
{
	const size_t keep = 60;
	size_t n = strlen(v), o = 0, lim = n;
	bool cut;

	if (lim > keep) {
		lim = keep;
		while (lim > 0 && ((unsigned char)v[lim] & 0xC0) == 0x80)
			lim--;
	}
	cut = lim < n;
	q->s[o++] = '\'';
	for (size_t i = 0; i < lim; i++) {
		unsigned char c = (unsigned char)v[i];

		/* Escapes make the text grow: stop early, but never inside a character.
		 * At most 4 more bytes of this character plus "...'" fit after the check. */
		if (o > sizeof(q->s) - 12 && (c & 0xC0) != 0x80) {
			cut = true;
			break;
		}
		if (c < 0x20 || c == 0x7f) {
			const char *esc = c == '\n'   ? "\\n"
			                  : c == '\t' ? "\\t"
			                  : c == '\r' ? "\\r"
			                              : NULL;

			if (esc != NULL)
				o += (size_t)snprintf(q->s + o, sizeof(q->s) - o, "%s", esc);
			else
				o += (size_t)snprintf(q->s + o, sizeof(q->s) - o, "\\x%02x", c);
		} else {
			q->s[o++] = (char)c;
		}
	}
	if (cut)
		o += (size_t)snprintf(q->s + o, sizeof(q->s) - o, "...");
	q->s[o++] = '\'';
	q->s[o] = '\0';
	return q->s;
}

static const char *path_key(struct path *p, const char *parent, const char *key)
{
	if (parent == NULL || *parent == '\0')
		snprintf(p->s, sizeof(p->s), "%s", key);
	else
		snprintf(p->s, sizeof(p->s), "%s.%s", parent, key);
	return p->s;
}

static const char *path_index(struct path *p, const char *parent, size_t i)
{
	snprintf(p->s, sizeof(p->s), "%s[%zu]", parent, i);
	return p->s;
}

/* "a string", "an integer": the JSON type of `v` for "must be X, not Y". */
static const char *type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_REAL:
		return "a number with a fraction";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	case JSON_NULL:
		break;
	}
	return "null";
}

/* The member `key` of `obj`, or NULL when it is absent or null (= not given). */
static json_t *member(const json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	return json_is_null(v) ? NULL : v;
}

/* Joins `names` ("a, b, c") into `out` for messages. */
static const char *join_names(char *out, size_t n, const char *const *names, size_t count)
{
	size_t o = 0;

	out[0] = '\0';
	for (size_t i = 0; i < count && names[i] != NULL && o < n; i++) {
		int w = snprintf(out + o, n - o, "%s%s", i ? ", " : "", names[i]);

		if (w < 0)
			break;
		o += (size_t)w;
	}
	return out;
}

/*
 * Fails on the first member of `obj` that is not in `known` (NULL-terminated)
 * and is not `ignored` (may be NULL).
 */
static int check_fields(json_t *obj, const char *path, const char *const *known,
                        const char *ignored, struct error_info *e)
{
	for (void *it = json_object_iter(obj); it != NULL; it = json_object_iter_next(obj, it)) {
		const char *key = json_object_iter_key(it);
		bool ok = ignored != NULL && strcmp(key, ignored) == 0;
		char list[400];
		struct path p;

		for (size_t i = 0; !ok && known[i] != NULL; i++)
			ok = strcmp(key, known[i]) == 0;
		if (!ok)
			return fail(e, path_key(&p, path, key),
			            "unknown field (the fields here are: %s)",
			            join_names(list, sizeof(list), known, (size_t)-1));
	}
	return 0;
}

static int want_object(const json_t *v, const char *path, struct error_info *e)
{
	if (!json_is_object(v))
		return fail(e, path, "must be an object, not %s", type_name(v));
	return 0;
}

static int want_array(const json_t *v, const char *path, size_t max, struct error_info *e)
{
	if (!json_is_array(v))
		return fail(e, path, "must be an array, not %s", type_name(v));
	if (json_array_size(v) > max)
		return fail(e, path, "has %zu entries; the limit is %zu", json_array_size(v), max);
	return 0;
}

/* Checks that `v` is a string of at most `max` bytes and points *out at it. */
static int want_string(const json_t *v, const char *path, size_t max, const char **out,
                       struct error_info *e)
{
	if (!json_is_string(v))
		return fail(e, path, "must be a string, not %s", type_name(v));
	if (json_string_length(v) > max)
		return fail(e, path, "is %zu bytes long; the limit is %zu bytes",
		            json_string_length(v), max);
	*out = json_string_value(v);
	return 0;
}

static int want_nonempty_string(const json_t *v, const char *path, size_t max, const char **out,
                                struct error_info *e)
{
	int rc = want_string(v, path, max, out, e);

	if (rc == 0 && **out == '\0')
		return fail(e, path, "must not be empty");
	return rc;
}

static int want_int(const json_t *v, const char *path, long long min, long long max, int *out,
                    struct error_info *e)
{
	long long x;

	if (!json_is_integer(v))
		return fail(e, path, "must be an integer, not %s", type_name(v));
	x = json_integer_value(v);
	if (x < min || x > max)
		return fail(e, path, "%lld is out of range %lld-%lld", x, min, max);
	*out = (int)x;
	return 0;
}

static int want_bool(const json_t *v, const char *path, bool *out, struct error_info *e)
{
	if (!json_is_boolean(v))
		return fail(e, path, "must be true or false, not %s", type_name(v));
	*out = json_is_true(v);
	return 0;
}

/* A string that must be one of `names`; *out is its index. */
static int want_enum(const json_t *v, const char *path, const char *const *names, size_t count,
                     int *out, struct error_info *e)
{
	const char *s;
	struct quoted q;
	char list[200];
	int rc = want_string(v, path, 64, &s, e);

	if (rc != 0) {
		if (json_is_string(v))
			return fail(e, path, "%s is not one of: %s",
			            quote(&q, json_string_value(v)),
			            join_names(list, sizeof(list), names, count));
		return rc;
	}
	for (size_t i = 0; i < count; i++) {
		if (strcmp(s, names[i]) == 0) {
			*out = (int)i;
			return 0;
		}
	}
	return fail(e, path, "%s is not one of: %s", quote(&q, s),
	            join_names(list, sizeof(list), names, count));
}

/* A duration string ("90s", "10m") in milliseconds; see duration_parse(). */
static int want_duration(const json_t *v, const char *path, int64_t *out, struct error_info *e)
{
	struct error_info de;
	const char *s;

	if (!json_is_string(v))
		return fail(e, path, "must be a duration string such as \"90s\" or \"10m\", not %s",
		            type_name(v));
	s = json_string_value(v);
	if (json_string_length(v) > DURATION_TEXT_MAX) {
		struct quoted q;

		return fail(e, path, "%s is not a duration (use e.g. 500ms, 90s, 10m, 1h30m, 2d)",
		            quote(&q, s));
	}
	error_clear(&de);
	if (duration_parse(s, out, &de) != 0)
		return fail(e, path, "%s", de.message);
	return 0;
}

static int dup_str(char **dst, const char *s, struct error_info *e)
{
	*dst = strdup(s);
	return *dst == NULL ? oom(e) : 0;
}

/* True when `s` matches [A-Za-z0-9._-]{1,128}. */
bool job_name_valid(const char *name)
{
	size_t n = 0;

	if (name == NULL)
		return false;
	for (; name[n] != '\0'; n++) {
		unsigned char c = (unsigned char)name[n];

		if (n >= JOB_NAME_MAX)
			return false;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return n > 0;
}

/* A name of a job, contact or handler: a string matching job_name_valid(). */
static int want_name(const json_t *v, const char *path, const char *what, const char **out,
                     struct error_info *e)
{
	struct quoted q;

	if (!json_is_string(v))
		return fail(e, path, "must be a string, not %s", type_name(v));
	*out = json_string_value(v);
	if (!job_name_valid(*out))
		return fail(e, path, "%s is not a valid %s name (%s)", quote(&q, *out), what,
		            NAME_RULE);
	return 0;
}

/* Checks one key/value pair of a string map; `path` names the entry. */
typedef int (*kv_check_fn)(const char *path, const char *key, const char *val, size_t vlen,
                           struct error_info *e);

/*
 * Reads an object of string values (env, labels, headers) into a new array of
 * copies, checking the entry count and each pair with `check`.
 */
static int want_kv_map(json_t *v, const char *path, size_t max, kv_check_fn check,
                       struct job_kv **out, size_t *nout, struct error_info *e)
{
	size_t n = 0;
	int rc;

	rc = want_object(v, path, e);
	if (rc != 0)
		return rc;
	if (json_object_size(v) > max)
		return fail(e, path, "has %zu entries; the limit is %zu", json_object_size(v), max);
	if (json_object_size(v) == 0)
		return 0;
	*out = calloc(json_object_size(v), sizeof(**out));
	if (*out == NULL)
		return oom(e);
	for (void *it = json_object_iter(v); it != NULL; it = json_object_iter_next(v, it)) {
		const char *key = json_object_iter_key(it);
		json_t *val = json_object_iter_value(it);
		struct path p;
		const char *s;

		path_key(&p, path, key);
		if (!json_is_string(val))
			return fail(e, p.s, "must be a string, not %s", type_name(val));
		s = json_string_value(val);
		rc = check(p.s, key, s, json_string_length(val), e);
		if (rc != 0)
			return rc;
		(*out)[n].key = strdup(key);
		(*out)[n].val = strdup(s);
		n++;
		*nout = n;
		if ((*out)[n - 1].key == NULL || (*out)[n - 1].val == NULL)
			return oom(e);
	}
	return 0;
}

static int check_env(const char *path, const char *key, const char *val, size_t vlen,
                     struct error_info *e)
{
	struct quoted q;
	bool ok = key[0] != '\0' && !(key[0] >= '0' && key[0] <= '9');

	(void)val;
	(void)vlen;
	for (size_t i = 0; ok && key[i] != '\0'; i++) {
		unsigned char c = (unsigned char)key[i];

		ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		     c == '_';
	}
	if (!ok || strlen(key) > ENV_KEY_MAX)
		return fail(e, path,
		            "%s is not a valid environment variable name (use up to %d letters, "
		            "digits and '_', not starting with a digit)",
		            quote(&q, key), ENV_KEY_MAX);
	if (strncmp(key, "CLOVER_", 7) == 0)
		return fail(e, path,
		            "%s is reserved: names starting with CLOVER_ are set by clover itself",
		            quote(&q, key));
	return 0;
}

static int check_label(const char *path, const char *key, const char *val, size_t vlen,
                       struct error_info *e)
{
	struct quoted q;

	(void)val;
	if (key[0] == '\0')
		return fail(e, path, "a label name must not be empty");
	if (strlen(key) > LABEL_MAX)
		return fail(e, path, "the label name %s is %zu bytes long; the limit is %d bytes",
		            quote(&q, key), strlen(key), LABEL_MAX);
	if (vlen > LABEL_MAX)
		return fail(e, path, "the label value is %zu bytes long; the limit is %d bytes",
		            vlen, LABEL_MAX);
	return 0;
}

/* RFC 9110 token characters, the only ones allowed in a header name. */
static bool is_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static int check_header(const char *path, const char *key, const char *val, size_t vlen,
                        struct error_info *e)
{
	struct quoted q;
	size_t klen = strlen(key);
	bool ok = klen > 0 && klen <= HEADER_NAME_MAX;

	for (size_t i = 0; ok && i < klen; i++)
		ok = is_tchar((unsigned char)key[i]);
	if (!ok)
		return fail(e, path,
		            "%s is not a valid HTTP header name (use 1 to %d letters, digits and "
		            "!#$%%&'*+-.^_`|~)",
		            quote(&q, key), HEADER_NAME_MAX);
	if (vlen > HEADER_VALUE_MAX)
		return fail(e, path, "the value is %zu bytes long; the limit is %d bytes", vlen,
		            HEADER_VALUE_MAX);
	for (size_t i = 0; i < vlen; i++) {
		if (val[i] == '\r' || val[i] == '\n')
			return fail(e, path, "the value %s must not contain line breaks",
			            quote(&q, val));
	}
	return 0;
}

/* Reads an array of names (contacts, on_success) into a new array of copies. */
static int want_name_list(const json_t *v, const char *path, const char *what, char ***out,
                          size_t *nout, struct error_info *e)
{
	size_t n = json_array_size(v);
	int rc = want_array(v, path, NAMES_MAX, e);

	if (rc != 0 || n == 0)
		return rc;
	*out = calloc(n, sizeof(**out));
	if (*out == NULL)
		return oom(e);
	for (size_t i = 0; i < n; i++) {
		struct path p;
		const char *s;

		rc = want_name(json_array_get(v, i), path_index(&p, path, i), what, &s, e);
		if (rc != 0)
			return rc;
		rc = dup_str(&(*out)[i], s, e);
		*nout = i + 1;
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int parse_http(json_t *v, struct job_spec *s, struct error_info *e)
{
	struct job_http *h = &s->http;
	const char *path = "run.http";
	json_t *m;
	const char *str;
	int rc, idx;
	struct quoted q;

	rc = want_object(v, path, e);
	if (rc == 0)
		rc = check_fields(v, path, http_fields, NULL, e);
	if (rc != 0)
		return rc;

	str = "GET";
	if ((m = member(v, "method")) != NULL) {
		rc = want_enum(m, "run.http.method", http_methods, COUNT(http_methods), &idx, e);
		if (rc != 0)
			return rc;
		str = http_methods[idx];
	}
	rc = dup_str(&h->method, str, e);
	if (rc != 0)
		return rc;

	m = member(v, "url");
	if (m == NULL)
		return fail(e, "run.http.url", "is required (an http:// or https:// URL)");
	rc = want_nonempty_string(m, "run.http.url", URL_MAX, &str, e);
	if (rc != 0)
		return rc;
	{
		size_t skip = strncasecmp(str, "http://", 7) == 0    ? 7
		              : strncasecmp(str, "https://", 8) == 0 ? 8
		                                                     : 0;

		if (skip == 0)
			return fail(e, "run.http.url", "%s must start with http:// or https://",
			            quote(&q, str));
		if (str[skip] == '\0' || strchr("/?#", str[skip]) != NULL)
			return fail(e, "run.http.url", "%s has no host", quote(&q, str));
		for (const char *c = str; *c; c++) {
			if ((unsigned char)*c <= 0x20 || *c == 0x7f)
				return fail(e, "run.http.url",
				            "%s must not contain spaces or control characters "
				            "(percent-encode them)",
				            quote(&q, str));
		}
	}
	rc = dup_str(&h->url, str, e);
	if (rc != 0)
		return rc;

	if ((m = member(v, "headers")) != NULL) {
		rc = want_kv_map(m, "run.http.headers", HEADERS_MAX, check_header, &h->headers,
		                 &h->nheaders, e);
		if (rc != 0)
			return rc;
	}
	if ((m = member(v, "body")) != NULL) {
		rc = want_string(m, "run.http.body", BODY_MAX, &str, e);
		if (rc == 0)
			rc = dup_str(&h->body, str, e);
		if (rc != 0)
			return rc;
	}
	if ((m = member(v, "expect")) != NULL) {
		size_t n = json_array_size(m);

		rc = want_array(m, "run.http.expect", EXPECT_MAX, e);
		if (rc != 0)
			return rc;
		if (n > 0) {
			h->expect = calloc(n, sizeof(*h->expect));
			if (h->expect == NULL)
				return oom(e);
		}
		for (size_t i = 0; i < n; i++) {
			struct path p;

			rc = want_int(json_array_get(m, i), path_index(&p, "run.http.expect", i),
			              100, 599, &h->expect[i], e);
			if (rc != 0)
				return rc;
			h->nexpect = i + 1;
		}
	}
	return 0;
}

static int parse_run(json_t *v, struct job_spec *s, struct error_info *e)
{
	const char *kinds[3], *str;
	size_t nkinds = 0;
	json_t *m;
	int rc;

	rc = want_object(v, "run", e);
	if (rc == 0)
		rc = check_fields(v, "run", run_fields, NULL, e);
	if (rc != 0)
		return rc;
	for (size_t i = 0; i < COUNT(run_kind_names); i++) {
		if (member(v, run_kind_names[i]) != NULL) {
			kinds[nkinds++] = run_kind_names[i];
			s->run_kind = (enum job_run_kind)i;
		}
	}
	if (nkinds == 0)
		return fail(e, "run", "must have one of shell, http or handler");
	if (nkinds > 1)
		return fail(e, "run",
		            "has both %s and %s; give exactly one of shell, http or handler",
		            kinds[0], kinds[1]);
	if (member(v, "params") != NULL && s->run_kind != JOB_RUN_HANDLER)
		return fail(e, "run.params", "is only allowed with run.handler");

	switch (s->run_kind) {
	case JOB_RUN_SHELL:
		rc = want_nonempty_string(member(v, "shell"), "run.shell", SHELL_MAX, &str, e);
		if (rc == 0)
			rc = dup_str(&s->shell, str, e);
		return rc;
	case JOB_RUN_HTTP:
		return parse_http(member(v, "http"), s, e);
	case JOB_RUN_HANDLER:
		rc = want_name(member(v, "handler"), "run.handler", "handler", &str, e);
		if (rc == 0)
			rc = dup_str(&s->handler, str, e);
		if (rc == 0 && (m = member(v, "params")) != NULL) {
			rc = want_string(m, "run.params", HANDLER_PARAMS_MAX, &str, e);
			if (rc == 0)
				rc = dup_str(&s->handler_params, str, e);
		}
		return rc;
	}
	return 0;
}

static int parse_target(json_t *v, struct job_spec *s, struct error_info *e)
{
	json_t *m;
	int rc, idx;

	rc = want_object(v, "target", e);
	if (rc == 0)
		rc = check_fields(v, "target", target_fields, NULL, e);
	if (rc == 0 && (m = member(v, "labels")) != NULL)
		rc = want_kv_map(m, "target.labels", LABELS_MAX, check_label, &s->labels,
		                 &s->nlabels, e);
	if (rc == 0 && (m = member(v, "route")) != NULL) {
		rc = want_enum(m, "target.route", route_names, COUNT(route_names), &idx, e);
		s->route = (enum job_route)idx;
	}
	return rc;
}

static int parse_shards(json_t *v, struct job_spec *s, struct error_info *e)
{
	json_t *m;
	int rc, idx;

	rc = want_object(v, "shards", e);
	if (rc == 0)
		rc = check_fields(v, "shards", shards_fields, NULL, e);
	if (rc == 0 && (m = member(v, "count")) != NULL)
		rc = want_int(m, "shards.count", 1, JOB_SHARDS_MAX, &s->shard_count, e);
	if (rc == 0 && (m = member(v, "params")) != NULL) {
		size_t n = json_array_size(m);

		rc = want_array(m, "shards.params", JOB_SHARDS_MAX, e);
		if (rc != 0)
			return rc;
		if (n != (size_t)s->shard_count)
			return fail(e, "shards.params",
			            "has %zu entries but shards.count is %d (give one parameter "
			            "per shard)",
			            n, s->shard_count);
		s->shard_params = calloc(n, sizeof(*s->shard_params));
		if (s->shard_params == NULL)
			return oom(e);
		for (size_t i = 0; i < n; i++) {
			struct path p;
			const char *str;

			rc = want_string(json_array_get(m, i), path_index(&p, "shards.params", i),
			                 SHARD_PARAM_MAX, &str, e);
			if (rc == 0)
				rc = dup_str(&s->shard_params[i], str, e);
			if (rc != 0)
				return rc;
			s->nshard_params = i + 1;
		}
	}
	if (rc == 0 && (m = member(v, "strategy")) != NULL) {
		rc =
		    want_enum(m, "shards.strategy", strategy_names, COUNT(strategy_names), &idx, e);
		s->shard_strategy = (enum job_shard_strategy)idx;
	}
	return rc;
}

static int parse_misfire(json_t *v, struct job_spec *s, struct error_info *e)
{
	json_t *m;
	int rc, idx;

	rc = want_object(v, "misfire", e);
	if (rc == 0)
		rc = check_fields(v, "misfire", misfire_fields, NULL, e);
	if (rc == 0 && (m = member(v, "policy")) != NULL) {
		rc = want_enum(m, "misfire.policy", misfire_names, COUNT(misfire_names), &idx, e);
		s->misfire = (enum job_misfire)idx;
	}
	if (rc == 0 && (m = member(v, "threshold")) != NULL) {
		rc = want_duration(m, "misfire.threshold", &s->misfire_threshold_ms, e);
		if (rc == 0 && s->misfire_threshold_ms < MS_PER_SEC) {
			struct quoted q;

			return fail(e, "misfire.threshold", "%s is too short; the minimum is 1s",
			            quote(&q, json_string_value(m)));
		}
	}
	return rc;
}

static int parse_retry(json_t *v, struct job_spec *s, struct error_info *e)
{
	json_t *m;
	int rc;

	rc = want_object(v, "retry", e);
	if (rc == 0)
		rc = check_fields(v, "retry", retry_fields, NULL, e);
	if (rc == 0 && (m = member(v, "max")) != NULL)
		rc = want_int(m, "retry.max", 0, JOB_RETRY_MAX, &s->retry_max, e);
	if (rc == 0 && (m = member(v, "backoff")) != NULL)
		rc = want_duration(m, "retry.backoff", &s->retry_backoff_ms, e);
	if (rc == 0 && (m = member(v, "max_backoff")) != NULL)
		rc = want_duration(m, "retry.max_backoff", &s->retry_max_backoff_ms, e);
	if (rc == 0 && s->retry_backoff_ms > s->retry_max_backoff_ms) {
		char a[32], b[32];

		return fail(e, "retry.backoff", "'%s' is longer than retry.max_backoff '%s'",
		            duration_format(s->retry_backoff_ms, a, sizeof(a)),
		            duration_format(s->retry_max_backoff_ms, b, sizeof(b)));
	}
	return rc;
}

static int parse_schedule(json_t *root, struct job_spec *s, struct error_info *e)
{
	struct error_info ce;
	const json_t *m;
	const char *str;
	int rc;

	m = member(root, "schedule");
	if (m == NULL)
		return fail(e, "schedule",
		            "is required (a cron expression, @every <duration>, @at <instant> or "
		            "@manual)");
	rc = want_nonempty_string(m, "schedule", CRON_TEXT_MAX, &str, e);
	if (rc == 0)
		rc = dup_str(&s->schedule, str, e);
	if (rc != 0)
		return rc;
	error_clear(&ce);
	rc = cron_parse(str, &s->cron, &ce);
	if (rc == CLOVER_ENOMEM)
		return oom(e);
	if (rc != 0) {
		struct quoted q;

		return fail(e, "schedule", "%s is not a valid schedule: %s", quote(&q, str),
		            ce.message);
	}

	str = "UTC";
	if ((m = member(root, "timezone")) != NULL) {
		rc = want_nonempty_string(m, "timezone", TZ_NAME_MAX, &str, e);
		if (rc != 0)
			return rc;
	}
	rc = dup_str(&s->timezone, str, e);
	if (rc != 0)
		return rc;
	error_clear(&ce);
	rc = tz_get(str, &s->tz, &ce);
	if (rc == CLOVER_ENOMEM)
		return oom(e);
	if (rc != 0)
		return fail(e, "timezone", "%s", ce.message);
	return 0;
}

static void spec_free(struct job_spec *s)
{
	free(s->json);
	free(s->name);
	free(s->description);
	free(s->schedule);
	free(s->timezone);
	if (s->cron != NULL)
		cron_free(s->cron);
	free(s->shell);
	free(s->http.method);
	free(s->http.url);
	for (size_t i = 0; i < s->http.nheaders; i++) {
		free(s->http.headers[i].key);
		free(s->http.headers[i].val);
	}
	free(s->http.headers);
	free(s->http.body);
	free(s->http.expect);
	free(s->handler);
	free(s->handler_params);
	for (size_t i = 0; i < s->nenv; i++) {
		free(s->env[i].key);
		free(s->env[i].val);
	}
	free(s->env);
	free(s->cwd);
	for (size_t i = 0; i < s->nlabels; i++) {
		free(s->labels[i].key);
		free(s->labels[i].val);
	}
	free(s->labels);
	for (size_t i = 0; i < s->nshard_params; i++)
		free(s->shard_params[i]);
	free(s->shard_params);
	for (size_t i = 0; i < s->ncontacts; i++)
		free(s->contacts[i]);
	free(s->contacts);
	for (size_t i = 0; i < s->non_success; i++)
		free(s->on_success[i]);
	free(s->on_success);
	free(s);
}

/* Validates the fields of `root` (an object) into `s`, in documented order. */
static int parse_fields(json_t *root, struct job_spec *s, struct error_info *e)
{
	const char *str;
	json_t *m;
	int rc, idx;
	struct quoted q;

	rc = check_fields(root, "", top_fields, "status", e);
	if (rc != 0)
		return rc;

	m = member(root, "name");
	if (m == NULL)
		return fail(e, "name", "is required (%s)", NAME_RULE);
	rc = want_name(m, "name", "job", &str, e);
	if (rc == 0)
		rc = dup_str(&s->name, str, e);
	if (rc == 0 && (m = member(root, "description")) != NULL) {
		rc = want_string(m, "description", DESCRIPTION_MAX, &str, e);
		if (rc == 0)
			rc = dup_str(&s->description, str, e);
	}
	if (rc == 0)
		rc = parse_schedule(root, s, e);
	if (rc != 0)
		return rc;

	m = member(root, "run");
	if (m == NULL)
		return fail(e, "run", "is required (give one of shell, http or handler)");
	rc = parse_run(m, s, e);

	if (rc == 0 && (m = member(root, "env")) != NULL)
		rc = want_kv_map(m, "env", ENV_MAX, check_env, &s->env, &s->nenv, e);
	if (rc == 0 && (m = member(root, "cwd")) != NULL) {
		rc = want_nonempty_string(m, "cwd", CWD_MAX, &str, e);
		if (rc == 0 && str[0] != '/')
			return fail(e, "cwd", "%s is not an absolute path (it must start with '/')",
			            quote(&q, str));
		if (rc == 0)
			rc = dup_str(&s->cwd, str, e);
	}
	if (rc == 0 && (m = member(root, "target")) != NULL)
		rc = parse_target(m, s, e);
	if (rc == 0 && (m = member(root, "shards")) != NULL)
		rc = parse_shards(m, s, e);
	if (rc == 0 && (m = member(root, "concurrency")) != NULL) {
		rc = want_enum(m, "concurrency", concurrency_names, COUNT(concurrency_names), &idx,
		               e);
		s->concurrency = (enum job_concurrency)idx;
	}
	if (rc == 0 && (m = member(root, "misfire")) != NULL)
		rc = parse_misfire(m, s, e);
	if (rc == 0 && (m = member(root, "timeout")) != NULL)
		rc = want_duration(m, "timeout", &s->timeout_ms, e);
	if (rc == 0 && (m = member(root, "retry")) != NULL)
		rc = parse_retry(m, s, e);
	if (rc == 0 && (m = member(root, "failover")) != NULL)
		rc = want_bool(m, "failover", &s->failover, e);
	if (rc == 0 && (m = member(root, "contacts")) != NULL)
		rc = want_name_list(m, "contacts", "contact", &s->contacts, &s->ncontacts, e);
	if (rc == 0 && (m = member(root, "on_success")) != NULL) {
		rc = want_name_list(m, "on_success", "job", &s->on_success, &s->non_success, e);
		for (size_t i = 0; rc == 0 && i < s->non_success; i++) {
			struct path p;

			if (strcmp(s->on_success[i], s->name) == 0)
				return fail(e, path_index(&p, "on_success", i),
				            "%s is this job itself; a job cannot chain to itself",
				            quote(&q, s->name));
		}
	}
	if (rc == 0 && (m = member(root, "paused")) != NULL)
		rc = want_bool(m, "paused", &s->paused, e);
	return rc;
}

/*
 * Builds a spec from a parsed JSON object. `root` stays owned by the caller;
 * its "status" member is removed before the text is kept.
 */
/*
 * True when json_dumps(JSON_COMPACT) of the parsed `text` gives `text` back:
 * no white space outside strings, no escapes (jansson may write them
 * differently), no fractions or exponents (it may write the number
 * differently). Specs read back from the store are like that, so start-up
 * need not serialise a million specs again.
 */
static bool dumps_as_itself(const char *text, size_t len)
{
	bool in_string = false;

	for (size_t i = 0; i < len; i++) {
		char c = text[i];

		if (c == '\\' || c == '\0')
			return false;
		if (c == '"') {
			in_string = !in_string;
		} else if (!in_string) {
			bool after_digit = i > 0 && text[i - 1] >= '0' && text[i - 1] <= '9';

			if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '.' ||
			    ((c == 'e' || c == 'E') && after_digit) ||
			    (c == '-' && i + 1 < len && text[i + 1] == '0'))
				return false;
		}
	}
	return true;
}

/*
 * Builds a spec from a parsed document. `text`/`len` is the text it was
 * parsed from (NULL when there is none), kept as the spec's JSON when it is
 * already in the compact form.
 */
static int spec_from_json(json_t *root, const char *text, size_t len, struct job_spec **out,
			  struct error_info *e)
{
	struct job_spec *s;
	int rc;

	if (!json_is_object(root))
		return fail(e, "", "a job spec must be a JSON object, not %s", type_name(root));
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return oom(e);
	s->refs = 1;
	s->route = JOB_ROUTE_ROUND_ROBIN;
	s->shard_count = 1;
	s->shard_strategy = JOB_SHARD_AVERAGE;
	s->concurrency = JOB_CONC_FORBID;
	s->misfire = JOB_MISFIRE_FIRE_ONCE;
	s->misfire_threshold_ms = 60 * MS_PER_SEC;
	s->retry_backoff_ms = 10 * MS_PER_SEC;
	s->retry_max_backoff_ms = 5 * 60 * MS_PER_SEC;
	s->failover = true;

	rc = parse_fields(root, s, e);
	if (rc == 0) {
		if (text != NULL && json_object_get(root, "status") == NULL &&
		    dumps_as_itself(text, len))
			s->json = strndup(text, len);
		else {
			json_object_del(root, "status");
			s->json = json_dumps(root, JSON_COMPACT);
		}
		if (s->json == NULL)
			rc = oom(e);
	}
	if (rc != 0) {
		spec_free(s);
		return rc;
	}
	error_clear(e);
	*out = s;
	return 0;
}

/*
 * Parses and validates a job spec; see job.h. `json` need not be
 * NUL-terminated. Returns 0 with a new spec (one reference) in *out, or an
 * error with *out set to NULL: CLOVER_ETOOBIG when `len` exceeds
 * JOB_SPEC_MAX_BYTES, CLOVER_EPARSE when the text is not JSON (the message has
 * jansson's line and column), CLOVER_EINVAL when a field is wrong (`e->field`
 * holds its path), CLOVER_ENOMEM when memory ran out. Thread-safe.
 */
int job_spec_parse(const char *json, size_t len, struct job_spec **out, struct error_info *e)
{
	json_error_t jerr;
	json_t *root;
	int rc;

	error_clear(e);
	if (out == NULL)
		return error_set(e, CLOVER_EINVAL, NULL, "no place to put the job spec");
	*out = NULL;
	if (json == NULL)
		return error_set(e, CLOVER_EINVAL, NULL, "no job spec given");
	if (len > JOB_SPEC_MAX_BYTES)
		return error_set(e, CLOVER_ETOOBIG, NULL,
		                 "the job spec is %zu bytes long; the limit is %d bytes (256 KiB)",
		                 len, JOB_SPEC_MAX_BYTES);
	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	/* jansson leaves the error text empty when its first allocation fails */
	if (root == NULL &&
	    (json_error_code(&jerr) == json_error_out_of_memory || jerr.text[0] == '\0'))
		return oom(e);
	if (root == NULL)
		return error_set(e, CLOVER_EPARSE, NULL,
		                 "the job spec is not valid JSON: %s (line %d, column %d)",
		                 jerr.text, jerr.line, jerr.column);
	rc = spec_from_json(root, json, len, out, e);
	json_decref(root);
	return rc;
}

/*
 * Returns a new spec (one reference) equal to `spec` except for `paused`. The
 * JSON text changes as little as possible: "paused" is set to true (added at
 * the end when absent); when unpausing, an existing "paused" member becomes
 * false and an absent one stays absent, since false is the default. Returns
 * NULL when memory runs out. `spec` itself is not changed. Thread-safe.
 */
struct job_spec *job_spec_with_paused(const struct job_spec *spec, bool paused)
{
	struct job_spec *out = NULL;
	json_t *root;
	int rc = 0;

	if (spec == NULL || spec->json == NULL)
		return NULL;
	root = json_loads(spec->json, JSON_REJECT_DUPLICATES, NULL);
	if (root == NULL)
		return NULL;
	if (paused || json_object_get(root, "paused") != NULL)
		rc = json_object_set_new(root, "paused", json_boolean(paused));
	if (rc == 0)
		spec_from_json(root, NULL, 0, &out, NULL);
	json_decref(root);
	return out;
}

/* Adds a reference and returns `spec` (NULL passes through). Thread-safe. */
struct job_spec *job_spec_ref(struct job_spec *spec)
{
	if (spec != NULL)
		__atomic_fetch_add(&spec->refs, 1, __ATOMIC_RELAXED);
	return spec;
}

/*
 * Drops a reference; the last one frees the spec and everything it owns
 * (except `tz`, which belongs to the time-zone cache). NULL is a no-op.
 * Thread-safe.
 */
void job_spec_unref(struct job_spec *spec)
{
	if (spec != NULL && __atomic_sub_fetch(&spec->refs, 1, __ATOMIC_ACQ_REL) == 0)
		spec_free(spec);
}

static const char *name_of(const char *const *names, size_t count, int v)
{
	return v >= 0 && (size_t)v < count ? names[v] : "unknown";
}

/* The names below are the spellings of docs/job-spec.md; "unknown" if out of range. */
const char *job_concurrency_name(enum job_concurrency c)
{
	return name_of(concurrency_names, COUNT(concurrency_names), (int)c);
}

const char *job_misfire_name(enum job_misfire m)
{
	return name_of(misfire_names, COUNT(misfire_names), (int)m);
}

const char *job_route_name(enum job_route r)
{
	return name_of(route_names, COUNT(route_names), (int)r);
}

const char *job_shard_strategy_name(enum job_shard_strategy s)
{
	return name_of(strategy_names, COUNT(strategy_names), (int)s);
}

/* "shell", "http" or "handler": the member of "run" that `k` stands for. */
const char *job_run_kind_name(enum job_run_kind k)
{
	return name_of(run_kind_names, COUNT(run_kind_names), (int)k);
}
