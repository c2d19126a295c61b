/* SPDX-License-Identifier: MIT */
/*
 * The HTTP server: libmicrohttpd with an internal polling thread and a pool of
 * worker threads, request routing, authentication and role checks, body
 * accumulation with a hard cap, query-parameter limits, and the JSON reply
 * helpers used by the resource files (jobs.c, runs.c, users.c, preview.c).
 *
 * A request goes through MHD's access handler several times: once when its
 * headers are in (we route, authenticate, authorise and validate the path and
 * query right away, so a stranger can never make us buffer a body), once per
 * chunk of body, and a last time when the body is complete (we call the
 * route's handler and queue its response). The per-request state lives in a
 * `struct conn` freed by MHD's completion callback.
 */
#include "api/internal.h"
#include "base/buf.h"
#include "base/log.h"
#include "base/time.h"
#include "core/job.h"
#include "store/store.h"

#include <microhttpd.h>

#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_THREADS      4
#define MAX_THREADS          256
#define CONNECTION_LIMIT     1024
#define CONNECTION_TIMEOUT_S 60
/*
 * A chunked body that overflows API_BODY_MAX is read to its end so the client
 * gets its 413; past this many more bytes the connection is dropped instead.
 */
#define DISCARD_MAX (16 * (size_t)API_BODY_MAX)

struct route {
	const char *method;
	const char *pattern; /* segments after /api/v1; "{name}", "{id}", "{token}" match one */
	int role;            /* minimum enum store_role, or -1: public */
	bool body;           /* takes a request body */
	const char *params;  /* allowed query parameters, comma-separated */
	api_handler *fn;
};

static api_handler health;

/* The request state of a console file (they need none of struct conn). */
static const char console_marker;

#define PUBLIC (-1)
/* Public with config metrics_public, else viewer (route_role()). */
#define METRICS (-2)
static const struct route routes[] = {
    {"GET", "health", PUBLIC, false, "", health},
    {"GET", "metrics", METRICS, false, "", api_metrics},
    {"GET", "stats", STORE_ROLE_VIEWER, false, "", api_stats},
    {"GET", "coord", STORE_ROLE_VIEWER, false, "path", api_coord_get},
    {"PUT", "coord", STORE_ROLE_ADMIN, true, "path", api_coord_put},
    {"DELETE", "coord", STORE_ROLE_ADMIN, false, "path,version", api_coord_delete},
    {"GET", "whoami", STORE_ROLE_VIEWER, false, "", api_whoami},
    {"POST", "login", PUBLIC, true, "", api_login},
    {"POST", "logout", STORE_ROLE_VIEWER, false, "", api_logout},
    {"GET", "jobs", STORE_ROLE_VIEWER, false, "search,paused,label,contact,last,after,limit",
     api_jobs_list},
    {"POST", "jobs", STORE_ROLE_OPERATOR, true, "", api_jobs_create},
    {"GET", "jobs/{name}", STORE_ROLE_VIEWER, false, "", api_job_get},
    {"PUT", "jobs/{name}", STORE_ROLE_OPERATOR, true, "", api_job_put},
    {"DELETE", "jobs/{name}", STORE_ROLE_OPERATOR, false, "", api_job_delete},
    {"POST", "jobs/{name}/trigger", STORE_ROLE_OPERATOR, true, "", api_job_trigger},
    {"POST", "jobs/{name}/pause", STORE_ROLE_OPERATOR, false, "", api_job_pause},
    {"POST", "jobs/{name}/resume", STORE_ROLE_OPERATOR, false, "", api_job_resume},
    {"GET", "runs", STORE_ROLE_VIEWER, false, "job,state,from,to,before,limit", api_runs_list},
    {"GET", "runs/{id}", STORE_ROLE_VIEWER, false, "", api_run_get},
    {"GET", "runs/{id}/log", STORE_ROLE_VIEWER, false, "shard,offset,limit", api_run_log},
    {"POST", "runs/{id}/kill", STORE_ROLE_OPERATOR, false, "", api_run_kill},
    {"GET", "cron/preview", STORE_ROLE_VIEWER, false, "expr,tz,n", api_cron_preview},
    {"GET", "cluster", STORE_ROLE_VIEWER, false, "", api_cluster},
    {"GET", "executors", STORE_ROLE_VIEWER, false, "", api_executors_list},
    {"POST", "executors/{name}/disable", STORE_ROLE_OPERATOR, false, "", api_executor_disable},
    {"POST", "executors/{name}/enable", STORE_ROLE_OPERATOR, false, "", api_executor_enable},
    {"POST", "executors/{name}/drain", STORE_ROLE_OPERATOR, false, "", api_executor_drain},
    {"GET", "contacts", STORE_ROLE_VIEWER, false, "search,oncall,after,limit", api_contacts_list},
    {"POST", "contacts", STORE_ROLE_OPERATOR, true, "", api_contacts_create},
    {"GET", "contacts/{name}", STORE_ROLE_VIEWER, false, "", api_contact_get},
    {"PUT", "contacts/{name}", STORE_ROLE_OPERATOR, true, "", api_contact_put},
    {"DELETE", "contacts/{name}", STORE_ROLE_OPERATOR, false, "", api_contact_delete},
    {"GET", "events", STORE_ROLE_VIEWER, false, "level,source,job,q,from,to,before,limit",
     api_events_list},
    {"GET", "users", STORE_ROLE_ADMIN, false, "", api_users_list},
    {"POST", "users", STORE_ROLE_ADMIN, true, "", api_users_create},
    {"DELETE", "users/{name}", STORE_ROLE_ADMIN, false, "", api_user_delete},
    {"GET", "tokens", STORE_ROLE_VIEWER, false, "", api_tokens_list},
    {"POST", "tokens", STORE_ROLE_VIEWER, true, "", api_tokens_create},
    {"DELETE", "tokens/{token}", STORE_ROLE_VIEWER, false, "", api_token_delete},
};
#define NROUTES (sizeof(routes) / sizeof(routes[0]))

struct conn {
	struct api_req rq;
	struct api_resp rs;
	const struct route *route;
	struct buf body;
	int body_rc;               /* CLOVER_ETOOBIG / CLOVER_ENOMEM once the body overflowed */
	size_t discarded;          /* body bytes read and thrown away */
	bool responded;            /* a response is queued */
	char path[API_PATH_MAX];   /* for logs */
	char segbuf[API_PATH_MAX]; /* the segments rq.seg points into */
	char remote[NI_MAXHOST];
	char method[8];
	bool query_bad; /* too many parameters, too long, or not UTF-8 */
	char query_err[160];
};

/* ---- replies ---- */

void api_reply_json(struct api_resp *rs, int status, json_t *doc)
{
	char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;

	json_decref(doc);
	free(rs->body);
	rs->body = NULL;
	if (text == NULL) {
		static const char oom[] = "{\"error\":{\"code\":\"internal\",\"message\":\"out of "
		                          "memory\",\"field\":null}}";

		log_at(LOG_ERROR, "api", "cannot build a JSON response: out of memory");
		rs->status = 500;
		rs->body = strdup(oom);
		rs->len = rs->body ? strlen(rs->body) : 0;
		rs->content_type = "application/json";
		return;
	}
	rs->status = status;
	rs->body = text;
	rs->len = strlen(text);
	rs->content_type = "application/json";
}

void api_reply_text(struct api_resp *rs, int status, const char *content_type, const char *data,
                    size_t len)
{
	char *copy = malloc(len + 1);

	if (copy == NULL) {
		api_reply_json(rs, 500, NULL);
		return;
	}
	if (len)
		memcpy(copy, data, len);
	copy[len] = '\0';
	free(rs->body);
	rs->status = status;
	rs->body = copy;
	rs->len = len;
	rs->content_type = content_type;
}

void api_reply_page(struct api_req *rq, struct api_resp *rs, const char *key, const void *recs,
                    size_t n, size_t size, api_item_json_fn *item, json_t *next)
{
	json_t *arr = json_array(), *doc = NULL;
	bool ok = arr != NULL;

	for (size_t i = 0; ok && i < n; i++) {
		json_t *j = item(rq, (const char *)recs + i * size);

		ok = j != NULL && json_array_append_new(arr, j) == 0;
	}
	if (ok)
		doc = json_pack("{s:o, s:o}", key, arr, "next", next ? next : json_null());
	else {
		json_decref(arr);
		json_decref(next);
	}
	if (doc == NULL) {
		api_reply_error(rs, 500, "internal", NULL, "cannot list %s", key);
		return;
	}
	api_reply_json(rs, 200, doc);
}

void api_reply_empty(struct api_resp *rs, int status)
{
	free(rs->body);
	rs->body = NULL;
	rs->len = 0;
	rs->status = status;
	rs->content_type = NULL;
}

void api_reply_error(struct api_resp *rs, int status, const char *code, const char *field,
                     const char *fmt, ...)
{
	char msg[ERROR_MSG_MAX + 64], fld[ERROR_FIELD_MAX];
	json_t *doc;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	api_utf8_sanitize(msg);
	if (field && *field) {
		snprintf(fld, sizeof(fld), "%s", field);
		api_utf8_sanitize(fld);
	}
	doc = json_pack("{s:{s:s, s:s, s:o}}", "error", "code", code, "message", msg, "field",
	                field && *field ? json_string(fld) : json_null());
	api_reply_json(rs, status, doc);
}

void api_reply_rc(struct api_resp *rs, int rc, const struct error_info *e)
{
	const char *msg = e && e->message[0] ? e->message : clover_strerror(rc);
	const char *field = e && e->field[0] ? e->field : NULL;
	int status;
	const char *code;

	switch (rc) {
	case CLOVER_EPARSE:
		status = 400, code = "bad_request";
		break;
	case CLOVER_EINVAL:
	case CLOVER_ERANGE:
		status = 422, code = "invalid";
		break;
	case CLOVER_ETOOBIG:
		status = 413, code = "too_large";
		break;
	case CLOVER_ENOENT:
		status = 404, code = "not_found";
		break;
	case CLOVER_EEXIST:
	case CLOVER_ECONFLICT:
	case CLOVER_ESTATE:
		status = 409, code = "conflict";
		break;
	case CLOVER_EPERM:
		status = 403, code = "forbidden";
		break;
	case CLOVER_EAUTH:
		status = 401, code = "unauthorized";
		break;
	case CLOVER_ENOTSUP:
		status = 501, code = "internal";
		break;
	default:
		log_at(LOG_ERROR, "api", "internal error: %s (%s)", msg, clover_errname(rc));
		api_reply_error(rs, 500, "internal", NULL,
		                "internal error (%s); see the server log", clover_errname(rc));
		return;
	}
	api_reply_error(rs, status, code, field, "%s", msg);
}

void api_header_add(struct api_resp *rs, const char *name, const char *fmt, ...)
{
	va_list ap;

	if (rs->nheaders >= API_HEADERS_MAX)
		return;
	rs->headers[rs->nheaders].name = name;
	va_start(ap, fmt);
	vsnprintf(rs->headers[rs->nheaders].value, sizeof(rs->headers[0].value), fmt, ap);
	va_end(ap);
	rs->nheaders++;
}

/* ---- request helpers ---- */

const char *api_query(const struct api_req *rq, const char *key)
{
	for (int i = 0; i < rq->nq; i++) {
		if (strcmp(rq->q[i].key, key) == 0)
			return rq->q[i].val;
	}
	return NULL;
}

bool api_query_int(const struct api_req *rq, struct api_resp *rs, const char *key, int64_t min,
                   int64_t max, int64_t def, int64_t *out)
{
	const char *v = api_query(rq, key);

	if (v == NULL) {
		*out = def;
		return true;
	}
	if (api_parse_int64(v, min, max, out) != 0) {
		api_reply_error(rs, 400, "bad_request", key,
		                "query parameter '%s' must be an integer in %lld-%lld", key,
		                (long long)min, (long long)max);
		return false;
	}
	return true;
}

bool api_query_name(const struct api_req *rq, struct api_resp *rs, const char *key,
                    const char *what, const char **out)
{
	const char *v = api_query(rq, key);

	*out = NULL;
	if (v == NULL || *v == '\0')
		return true;
	if (!job_name_valid(v)) {
		api_reply_error(rs, 400, "bad_request", key, "%s must be %s", key, what);
		return false;
	}
	*out = v;
	return true;
}

bool api_query_bool(const struct api_req *rq, struct api_resp *rs, const char *key, int *out)
{
	const char *v = api_query(rq, key);
	bool b;

	*out = -1;
	if (v == NULL)
		return true;
	if (api_parse_bool(v, &b) != 0) {
		api_reply_error(rs, 400, "bad_request", key, "%s must be true or false", key);
		return false;
	}
	*out = b ? 1 : 0;
	return true;
}

bool api_query_time(const struct api_req *rq, struct api_resp *rs, const char *key, int64_t *out)
{
	const char *v = api_query(rq, key);

	*out = 0;
	if (v == NULL)
		return true;
	if (time_parse_rfc3339(v, out) != 0) {
		api_reply_error(rs, 400, "bad_request", key,
		                "query parameter '%s' must be an RFC 3339 time such as "
		                "2026-03-08T07:30:00Z",
		                key);
		return false;
	}
	return true;
}

json_t *api_body_object(const struct api_req *rq, struct api_resp *rs, bool *absent)
{
	json_error_t jerr;
	json_t *doc;
	size_t i = 0;

	if (absent)
		*absent = false;
	if (rq->body) {
		while (i < rq->body_len && (rq->body[i] == ' ' || rq->body[i] == '\t' ||
		                            rq->body[i] == '\r' || rq->body[i] == '\n'))
			i++;
	}
	if (rq->body == NULL || i == rq->body_len) {
		if (absent) {
			*absent = true;
			return NULL;
		}
		api_reply_error(rs, 400, "bad_request", NULL, "the request needs a JSON body");
		return NULL;
	}
	doc = json_loadb(rq->body, rq->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (doc == NULL) {
		api_reply_error(rs, 400, "bad_request", NULL,
		                "malformed JSON at line %d column %d: %s", jerr.line, jerr.column,
		                jerr.text);
		return NULL;
	}
	if (!json_is_object(doc)) {
		json_decref(doc);
		api_reply_error(rs, 400, "bad_request", NULL, "the body must be a JSON object");
		return NULL;
	}
	return doc;
}

bool api_require_role(const struct api_req *rq, struct api_resp *rs, enum store_role role)
{
	if (rq->who.role >= role)
		return true;
	api_reply_error(rs, 403, "forbidden", NULL, "this needs the %s role; you are %s",
	                auth_role_name(role), auth_role_name(rq->who.role));
	return false;
}

void api_event(const struct api_req *rq, enum store_level level, const char *source,
               const char *job, const char *fmt, ...)
{
	char msg[512];
	struct store_event ev;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ev = (struct store_event){
	    .at = rq->now,
	    .level = level,
	    .source = (char *)source,
	    .job = (char *)job,
	    .message = msg,
	};
	rc = store_event_add(rq->api->store, &ev);
	if (rc)
		log_at(LOG_WARN, "api", "cannot record event '%s': %s", msg, clover_strerror(rc));
}

/* ---- the public health check ---- */

static void health(struct api_req *rq, struct api_resp *rs)
{
	api_reply_json(rs, 200,
	               json_pack("{s:s, s:s, s:s, s:o}", "status", "ok", "version", CLOVER_VERSION,
	                         "mode", rq->api->mode, "time", api_time_json(rq->now)));
}

/* ---- routing ---- */

/* Matches `pattern` against the request's segments; checks nothing about them. */
static bool route_match(const char *pattern, const struct api_req *rq)
{
	const char *p = pattern;
	int i = 0;

	while (*p) {
		const char *end = strchr(p, '/');
		size_t n = end ? (size_t)(end - p) : strlen(p);

		if (i >= rq->nseg)
			return false;
		if (p[0] != '{' && (strlen(rq->seg[i]) != n || memcmp(p, rq->seg[i], n) != 0))
			return false;
		i++;
		p += n;
		if (*p == '/')
			p++;
	}
	return i == rq->nseg;
}

/*
 * Validates the variable segments of the matched route: job and user names
 * by the name rule, run ids as positive integers, token ids as 16 hex digits.
 * Replies 400 and returns false on the first bad one.
 */
static bool route_check_segments(const struct route *r, struct api_req *rq, struct api_resp *rs)
{
	const char *p = r->pattern;
	int i = 0;

	while (*p) {
		const char *end = strchr(p, '/');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		const char *s = rq->seg[i];

		if (strncmp(p, "{name}", n) == 0 && n == 6 && !job_name_valid(s)) {
			api_reply_error(
			    rs, 400, "bad_request", "name",
			    "'%.140s' is not a valid name ([A-Za-z0-9._-], 1-128 characters)", s);
			return false;
		}
		if (strncmp(p, "{id}", n) == 0 && n == 4) {
			int64_t id;

			if (!api_parse_id(s, &id)) {
				api_reply_error(rs, 400, "bad_request", "id",
				                "'%.40s' is not a run id (a positive integer)", s);
				return false;
			}
		}
		if (strncmp(p, "{token}", n) == 0 && n == 7) {
			bool ok = strlen(s) == AUTH_TOKEN_ID_LEN;

			for (size_t k = 0; ok && k < AUTH_TOKEN_ID_LEN; k++)
				ok = (s[k] >= '0' && s[k] <= '9') || (s[k] >= 'a' && s[k] <= 'f');
			if (!ok) {
				api_reply_error(rs, 400, "bad_request", "id",
				                "'%.40s' is not a token id (16 hex digits)", s);
				return false;
			}
		}
		i++;
		p += n;
		if (*p == '/')
			p++;
	}
	return true;
}

/* True when `key` is in the comma-separated list `allowed`. */
static bool param_allowed(const char *allowed, const char *key)
{
	size_t klen = strlen(key);
	const char *p = allowed;

	while (*p) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);

		if (n == klen && memcmp(p, key, n) == 0)
			return true;
		p += n;
		if (*p == ',')
			p++;
	}
	return false;
}

static enum MHD_Result collect_query(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
	struct conn *c = cls;

	(void)kind;
	if (c->query_bad)
		return MHD_NO;
	if (value == NULL)
		value = "";
	if (c->rq.nq >= API_QUERY_MAX) {
		snprintf(c->query_err, sizeof(c->query_err), "more than %d query parameters",
		         API_QUERY_MAX);
		c->query_bad = true;
		return MHD_NO;
	}
	if (strlen(key) > 64 || strlen(value) > API_QUERY_VALUE_MAX || !api_utf8_valid(key) ||
	    !api_utf8_valid(value)) {
		snprintf(c->query_err, sizeof(c->query_err),
		         "query parameters must be UTF-8, names at most 64 bytes, values at most "
		         "%d bytes",
		         API_QUERY_VALUE_MAX);
		c->query_bad = true;
		return MHD_NO;
	}
	c->rq.q[c->rq.nq].key = key;
	c->rq.q[c->rq.nq].val = value;
	c->rq.nq++;
	return MHD_YES;
}

/* Checks the query against the route's allowed parameters; replies 400 when bad. */
static bool check_query(struct conn *c)
{
	if (c->query_bad) {
		api_reply_error(&c->rs, 400, "bad_request", NULL, "%s", c->query_err);
		return false;
	}
	for (int i = 0; i < c->rq.nq; i++) {
		if (!param_allowed(c->route->params, c->rq.q[i].key)) {
			api_reply_error(&c->rs, 400, "bad_request", c->rq.q[i].key,
			                "unknown query parameter '%s'", c->rq.q[i].key);
			return false;
		}
		for (int j = 0; j < i; j++) {
			if (strcmp(c->rq.q[i].key, c->rq.q[j].key) == 0) {
				api_reply_error(&c->rs, 400, "bad_request", c->rq.q[i].key,
				                "query parameter '%s' is given twice",
				                c->rq.q[i].key);
				return false;
			}
		}
	}
	return true;
}

static void remote_address(struct MHD_Connection *mc, char *out, size_t n)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;
	socklen_t len;

	snprintf(out, n, "unknown");
	if (sa == NULL)
		return;
	len = sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	if (getnameinfo(sa, len, out, (socklen_t)n, NULL, 0, NI_NUMERICHOST) != 0)
		snprintf(out, n, "unknown");
}

void api_auth_failure(const struct api_req *rq, const char *msg)
{
	struct api *a = rq->api;
	bool record = false;
	int dropped = 0;

	pthread_mutex_lock(&a->ev_lock);
	if (rq->now - a->ev_window >= MS_PER_MIN) {
		dropped = a->ev_dropped;
		a->ev_window = rq->now;
		a->ev_count = 0;
		a->ev_dropped = 0;
	}
	if (a->ev_count < API_AUTH_EVENTS_PER_MIN) {
		a->ev_count++;
		record = true;
	} else {
		a->ev_dropped++;
	}
	pthread_mutex_unlock(&a->ev_lock);
	if (dropped)
		api_event(rq, STORE_LEVEL_WARN, "auth", NULL,
		          "%d more auth failures in the previous minute were not recorded",
		          dropped);
	if (record)
		api_event(rq, STORE_LEVEL_WARN, "auth", NULL, "auth failure from %s: %s",
		          rq->remote, msg);
}

/*
 * Logs and records an authentication failure; the token itself never
 * appears. Store events are throttled (see struct api); the first failure of
 * a new minute also reports how many of the last one went unrecorded.
 */
static void auth_failure(struct conn *c, const struct error_info *e)
{
	log_at(LOG_WARN, "api", "auth failure from %s: %s %s: %s", c->remote, c->method, c->path,
	       e->message);
	api_auth_failure(&c->rq, e->message);
}

/* The minimum role of route `r` (NULL: unknown path, which needs a caller). */
static int route_role(const struct api *a, const struct route *r)
{
	if (r == NULL)
		return STORE_ROLE_VIEWER;
	if (r->role == METRICS)
		return a->metrics_public ? PUBLIC : STORE_ROLE_VIEWER;
	return r->role;
}

/*
 * First call of a request (headers complete): routes, authenticates,
 * authorises and validates. Sets c->rs when the request is answered already.
 */
static void begin(struct api *a, struct conn *c, struct MHD_Connection *mc, const char *url)
{
	const char *rest, *cl, *authz, *proto;
	const struct route *r = NULL;
	bool path_known = false;
	struct error_info e;
	int rc;

	error_clear(&e);
	if (strcmp(url, "/metrics") == 0) {
		rest = url; /* Prometheus' usual path: the route "metrics" of the API */
	} else if (strncmp(url, API_PREFIX, strlen(API_PREFIX)) != 0 ||
	           (url[strlen(API_PREFIX)] != '/' && url[strlen(API_PREFIX)] != '\0')) {
		api_reply_error(&c->rs, 404, "not_found", NULL,
		                "no such resource; the API lives under %s/", API_PREFIX);
		return;
	} else {
		rest = url + strlen(API_PREFIX);
	}
	rc = api_split_path(rest, c->segbuf, sizeof(c->segbuf), c->rq.seg, API_SEGS_MAX,
	                    &c->rq.nseg);
	if (rc) {
		api_reply_error(&c->rs, 404, "not_found", NULL, "no such resource");
		return;
	}
	for (size_t i = 0; i < NROUTES; i++) {
		if (!route_match(routes[i].pattern, &c->rq))
			continue;
		path_known = true;
		if (strcmp(routes[i].method, c->rq.method) == 0) {
			r = &routes[i];
			break;
		}
	}
	c->route = r;

	authz = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	c->rq.session = MHD_lookup_connection_value(mc, MHD_COOKIE_KIND, AUTH_SESSION_COOKIE);
	c->rq.content_type =
	    MHD_lookup_connection_value(mc, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
	proto = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "X-Forwarded-Proto");
	c->rq.https = proto && strcasecmp(proto, "https") == 0;
	if (route_role(a, r) != PUBLIC) {
		/* A bearer token wins over a cookie: scripts are never cookie sessions. */
		if (authz == NULL && c->rq.session != NULL)
			rc = auth_session_authenticate(a->store, c->rq.session, c->rq.now,
			                               &c->rq.who, &e);
		else
			rc = auth_authenticate(a->store, authz, c->rq.now, &c->rq.who, &e);
		if (rc == CLOVER_EAUTH) {
			auth_failure(c, &e);
			api_reply_error(&c->rs, 401, "unauthorized", NULL, "%s", e.message);
			api_header_add(&c->rs, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
			               "Bearer realm=\"clover\"");
			return;
		}
		if (rc) {
			api_reply_rc(&c->rs, rc, &e);
			return;
		}
	}
	if (r == NULL) {
		if (path_known)
			api_reply_error(&c->rs, 405, "bad_request", NULL,
			                "method %s is not allowed here", c->rq.method);
		else
			api_reply_error(&c->rs, 404, "not_found", NULL, "no such resource");
		return;
	}
	/*
	 * A cookie is sent by the browser whoever made the page that asks, so a
	 * write authenticated by one must prove it comes from our own page.
	 */
	if (c->rq.who.session && strcmp(c->rq.method, "GET") != 0 &&
	    !auth_csrf_ok(&c->rq.who,
	                  MHD_lookup_connection_value(mc, MHD_HEADER_KIND, AUTH_CSRF_HEADER))) {
		log_at(LOG_WARN, "api", "csrf refused: user=%s %s %s from %s", c->rq.who.user,
		       c->method, c->path, c->remote);
		api_reply_error(&c->rs, 403, "forbidden", NULL,
		                "a request made with the console's session cookie needs the "
		                "header " AUTH_CSRF_HEADER " with the csrf value of POST "
		                "/login or GET /whoami");
		return;
	}
	if (route_role(a, r) != PUBLIC &&
	    !api_require_role(&c->rq, &c->rs, (enum store_role)route_role(a, r))) {
		log_at(LOG_INFO, "api", "forbidden: user=%s role=%s %s %s", c->rq.who.user,
		       auth_role_name(c->rq.who.role), c->method, c->path);
		return;
	}
	if (!route_check_segments(r, &c->rq, &c->rs))
		return;
	MHD_get_connection_values(mc, MHD_GET_ARGUMENT_KIND, collect_query, c);
	if (!check_query(c))
		return;
	cl = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl && r->body) {
		int64_t len;

		if (api_parse_int64(cl, 0, INT64_MAX, &len) == 0 && len > API_BODY_MAX) {
			api_reply_error(&c->rs, 413, "too_large", NULL,
			                "the request body is larger than %d bytes", API_BODY_MAX);
			return;
		}
	}
	c->rq.if_match = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_MATCH);
}

static enum MHD_Result send_reply(struct MHD_Connection *mc, struct conn *c)
{
	struct MHD_Response *resp;
	enum MHD_Result ok;

	if (c->rs.status == 0)
		api_reply_error(&c->rs, 500, "internal", NULL, "the handler gave no reply");
	if (c->rs.body) {
		resp =
		    MHD_create_response_from_buffer(c->rs.len, c->rs.body, MHD_RESPMEM_MUST_FREE);
		if (resp)
			c->rs.body = NULL; /* MHD owns it now */
	} else {
		resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	}
	if (resp == NULL)
		return MHD_NO;
	if (c->rs.content_type)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, c->rs.content_type);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	for (int i = 0; i < c->rs.nheaders; i++)
		MHD_add_response_header(resp, c->rs.headers[i].name, c->rs.headers[i].value);
	ok = MHD_queue_response(mc, (unsigned int)c->rs.status, resp);
	api_metrics_count(c->rq.api, c->rs.status);
	MHD_destroy_response(resp);
	c->responded = true;
	log_at(LOG_DEBUG, "api", "%s %s -> %d user=%s remote=%s", c->method, c->path, c->rs.status,
	       c->rq.who.user[0] ? c->rq.who.user : "-", c->remote);
	return ok;
}

/* True when the request announces a body (a non-zero length, or chunks). */
static bool has_body(struct MHD_Connection *mc)
{
	const char *cl =
	    MHD_lookup_connection_value(mc, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);

	if (MHD_lookup_connection_value(mc, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING))
		return true;
	return cl != NULL && strcmp(cl, "0") != 0;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *mc, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **req_cls)
{
	struct api *a = cls;
	struct conn *c = *req_cls;

	(void)version;
	if (c == NULL && api_console_url(url)) {
		/*
		 * The console's files: answered in the second call, once MHD has
		 * the whole request (they take no body), like the API's replies.
		 */
		*req_cls = (void *)&console_marker;
		return MHD_YES;
	}
	if ((void *)c == (void *)&console_marker) {
		if (*upload_size) {
			*upload_size = 0;
			return MHD_YES;
		}
		return (enum MHD_Result)api_console_serve(mc, url, method);
	}
	if (c == NULL) {
		c = calloc(1, sizeof(*c));
		if (c == NULL)
			return MHD_NO;
		*req_cls = c;
		buf_init(&c->body, API_BODY_MAX);
		c->rq.api = a;
		c->rq.now = time_wall_ms();
		c->rq.remote = c->remote;
		snprintf(c->method, sizeof(c->method), "%s",
		         strcmp(method, "HEAD") == 0 ? "GET" : method);
		c->rq.method = c->method;
		snprintf(c->path, sizeof(c->path), "%s", url);
		remote_address(mc, c->remote, sizeof(c->remote));
		begin(a, c, mc, url);
		/*
		 * Answered already (401, 403, 404, 413...): when a body follows,
		 * answer now, so it is never read (MHD then closes the
		 * connection); otherwise answer in the last call, which keeps
		 * the connection alive.
		 */
		if (c->rs.status && has_body(mc))
			return send_reply(mc, c);
		return MHD_YES;
	}
	if (*upload_size) {
		if (!c->responded && c->rs.status == 0 && c->route->body && c->body_rc == 0)
			c->body_rc = buf_append(&c->body, upload, *upload_size);
		else if ((c->discarded += *upload_size) > DISCARD_MAX)
			return MHD_NO; /* an endless body: drop the connection */
		*upload_size = 0;      /* consumed (or discarded) */
		return MHD_YES;
	}
	if (c->responded)
		return MHD_YES;
	if (c->rs.status == 0) { /* not answered by begin() */
		if (c->body_rc == CLOVER_ETOOBIG) {
			api_reply_error(&c->rs, 413, "too_large", NULL,
			                "the request body is larger than %d bytes", API_BODY_MAX);
		} else if (c->body_rc) {
			api_reply_rc(&c->rs, c->body_rc, NULL);
		} else {
			c->rq.body = c->body.data;
			c->rq.body_len = c->body.len;
			c->route->fn(&c->rq, &c->rs);
		}
	}
	return send_reply(mc, c);
}

static void on_completed(void *cls, struct MHD_Connection *mc, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
	struct conn *c = *req_cls;

	(void)cls;
	(void)mc;
	(void)toe;
	if (c == NULL || (void *)c == (void *)&console_marker) {
		*req_cls = NULL;
		return;
	}
	buf_free(&c->body);
	free(c->rs.body);
	free(c);
	*req_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	log_at(LOG_WARN, "api", "microhttpd: %s", msg);
}

int api_start(const struct api_options *opt, struct api **out, struct error_info *e)
{
	const char *listen = opt && opt->listen ? opt->listen : API_DEFAULT_LISTEN;
	struct sockaddr_storage ss;
	socklen_t sslen;
	unsigned int flags, threads;
	const union MHD_DaemonInfo *di;
	struct api *a;
	int rc;

	*out = NULL;
	if (opt == NULL || opt->store == NULL)
		return error_set(e, CLOVER_EINVAL, "store", "the API needs a store");
	if (opt->threads < 0 || opt->threads > MAX_THREADS)
		return error_set(e, CLOVER_EINVAL, "threads", "threads must be 0 (default) to %d",
		                 MAX_THREADS);
	rc = api_parse_listen(listen, &ss, &sslen, e);
	if (rc)
		return rc;
	if (auth_init())
		return error_set(e, CLOVER_ESYS, NULL, "libsodium failed to initialise");
	a = calloc(1, sizeof(*a));
	if (a == NULL)
		return error_set(e, CLOVER_ENOMEM, NULL, "out of memory");
	if (pthread_mutex_init(&a->create_lock, NULL) != 0) {
		free(a);
		return error_set(e, CLOVER_ESYS, NULL, "cannot create a mutex");
	}
	if (pthread_mutex_init(&a->ev_lock, NULL) != 0) {
		pthread_mutex_destroy(&a->create_lock);
		free(a);
		return error_set(e, CLOVER_ESYS, NULL, "cannot create a mutex");
	}
	a->store = opt->store;
	a->hooks = opt->hooks;
	snprintf(a->mode, sizeof(a->mode), "%s", opt->mode ? opt->mode : "standalone");
	a->pwlimits.ops = opt->pwhash_opslimit;
	a->pwlimits.mem = opt->pwhash_memlimit;
	a->coord = opt->coord;
	a->metrics_public = opt->metrics_public;
	threads = opt->threads ? (unsigned int)opt->threads : DEFAULT_THREADS;

	flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	errno = 0;
	/* The logger goes first so that MHD reports option errors through it. */
	a->mhd = MHD_start_daemon(
	    flags, 0, NULL, NULL, on_request, a, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss, MHD_OPTION_NOTIFY_COMPLETED, on_completed,
	    a, MHD_OPTION_CONNECTION_LIMIT, (unsigned int)CONNECTION_LIMIT,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)CONNECTION_TIMEOUT_S,
	    /* One thread: the polling thread serves requests itself, no pool. */
	    threads > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END, threads, MHD_OPTION_END);
	if (a->mhd == NULL) {
		int err = errno;

		pthread_mutex_destroy(&a->create_lock);
		pthread_mutex_destroy(&a->ev_lock);
		free(a);
		return error_set(e, CLOVER_ESYS, "listen", "cannot listen on %s: %s", listen,
		                 err ? strerror(err) : "microhttpd refused to start");
	}
	di = MHD_get_daemon_info(a->mhd, MHD_DAEMON_INFO_BIND_PORT);
	a->port = di ? di->port : 0;
	log_at(LOG_INFO, "api", "listening on %s (port %d, %u threads)", listen, a->port, threads);
	*out = a;
	return 0;
}

int api_port(const struct api *a)
{
	return a ? a->port : 0;
}

void api_stop(struct api *a)
{
	if (a == NULL)
		return;
	MHD_stop_daemon(a->mhd);
	pthread_mutex_destroy(&a->create_lock);
	pthread_mutex_destroy(&a->ev_lock);
	free(a);
}
