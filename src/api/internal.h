/* SPDX-License-Identifier: MIT */
/*
 * Internals shared by the API's files: the server state, one request and its
 * response, the reply helpers every handler uses, the query and path parsers
 * (pure functions, fuzzed by fuzz/fuzz-api-parse.c) and the handlers of each
 * resource file.
 *
 * A handler gets a request that is already routed, authenticated, authorised
 * (the route's minimum role) and whose query parameters are known to be among
 * the route's allowed ones; it fills the response exactly once through one of
 * the api_reply_* helpers. Handlers run on MHD's threads.
 */
#ifndef CLOVER_API_INTERNAL_H
#define CLOVER_API_INTERNAL_H

#include "api/api.h"
#include "api/auth.h"
#include "base/error.h"

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define API_PREFIX              "/api/v1"
#define API_BODY_MAX            (1024 * 1024) /* request bodies; larger: 413 */
#define API_QUERY_MAX           16            /* query parameters per request */
#define API_QUERY_VALUE_MAX     1024          /* bytes per parameter value */
#define API_PATH_MAX            1024          /* bytes of the path */
#define API_SEGS_MAX            8             /* path segments after /api/v1 */
#define API_HEADERS_MAX         6             /* extra response headers */
#define API_DEFAULT_LISTEN      "127.0.0.1:8080"
#define API_AUTH_EVENTS_PER_MIN 100
#define API_LOGIN_FAILS_PER_MIN 10 /* failed logins per client address before 429 */
#define API_LOGIN_SLOTS         64 /* client addresses tracked for that */

/* Failed logins of one client address in the current minute (session.c). */
struct api_login_fails {
	char remote[64];
	int64_t window; /* start of the minute */
	int count;
};
#define API_STATUS_SLOTS        600 /* HTTP status codes counted for /metrics: 0-599 */

struct api {
	struct MHD_Daemon *mhd;
	struct store *store;
	struct api_hooks hooks;
	char mode[32];
	int port;
	struct auth_pwlimits pwlimits;
	/* Serialises check-then-create (POST /jobs, POST /users, PUT /jobs race). */
	pthread_mutex_t create_lock;
	/*
	 * Auth failures become store events at most API_AUTH_EVENTS_PER_MIN a
	 * minute, so a flood of bad requests cannot flood the store (the log
	 * line is always written).
	 */
	pthread_mutex_t ev_lock;
	int64_t ev_window; /* start of the current minute */
	int ev_count;      /* events recorded in it */
	int ev_dropped;    /* failures not recorded in it */
	/* Password guessing is slowed per client address (under ev_lock). */
	struct api_login_fails login_fails[API_LOGIN_SLOTS];
	struct coord *coord; /* or NULL */
	bool metrics_public;
	/* Requests answered, by status (api_metrics_count); atomics, no lock. */
	uint64_t http_status[API_STATUS_SLOTS];
};

struct api_query {
	const char *key;
	const char *val; /* "" for "?key" without '=' */
};

struct api_req {
	struct api *api;
	const char *method;            /* "GET", "POST", "PUT", "DELETE" (HEAD is routed as GET) */
	const char *seg[API_SEGS_MAX]; /* path segments after /api/v1 */
	int nseg;
	struct api_query q[API_QUERY_MAX];
	int nq;
	const char *body; /* NUL-terminated, or NULL when the request had none */
	size_t body_len;
	const char *if_match;     /* the If-Match header, or NULL */
	const char *session;      /* the console's session cookie, or NULL */
	const char *content_type; /* the Content-Type header, or NULL */
	bool https;               /* a proxy says the client used TLS (X-Forwarded-Proto) */
	struct auth_identity who; /* empty for public routes */
	const char *remote;       /* client address, numeric */
	int64_t now;              /* wall clock at arrival */
};

struct api_header {
	const char *name;
	char value[256];
};

struct api_resp {
	int status; /* 0 until a reply was set */
	char *body; /* malloc'd, or NULL */
	size_t len;
	const char *content_type;
	struct api_header headers[API_HEADERS_MAX];
	int nheaders;
};

/* ---- replies (server.c) ---- */

/* Replies `status` with JSON `doc` (stolen; NULL means out of memory: 500). */
void api_reply_json(struct api_resp *rs, int status, json_t *doc);
/* Replies `status` with a text body (copied). */
void api_reply_text(struct api_resp *rs, int status, const char *content_type, const char *data,
                    size_t len);
/* Replies `status` with no body (204). */
void api_reply_empty(struct api_resp *rs, int status);
/*
 * Replies with an error body {"error":{"code","message","field"}}; `code` is
 * one of bad_request, invalid, unauthorized, forbidden, not_found, conflict,
 * too_large, internal; `field` may be NULL.
 */
void api_reply_error(struct api_resp *rs, int status, const char *code, const char *field,
                     const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/*
 * Replies with the error fitting CLOVER_E* code `rc`: EPARSE 400, EINVAL and
 * ERANGE 422, ETOOBIG 413, ENOENT 404, EEXIST/ECONFLICT/ESTATE 409, EPERM 403,
 * EAUTH 401, ENOTSUP 501, anything else 500 (logged, message kept generic).
 * The message and field come from `e` when it has them.
 */
void api_reply_rc(struct api_resp *rs, int rc, const struct error_info *e);
/* Adds a response header (at most API_HEADERS_MAX); `name` must be a literal. */
void api_header_add(struct api_resp *rs, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- request helpers (server.c) ---- */

/* The value of query parameter `key`, or NULL when absent. */
const char *api_query(const struct api_req *rq, const char *key);
/*
 * Reads integer parameter `key` into *out: `def` when absent; 400 (and false)
 * when not a decimal integer in [min, max].
 */
bool api_query_int(const struct api_req *rq, struct api_resp *rs, const char *key, int64_t min,
                   int64_t max, int64_t def, int64_t *out);
/*
 * Reads name parameter `key` (the job-name rule) into *out: NULL when absent
 * or empty; 400 "<key> must be <what>" (and false) when not a valid name.
 */
bool api_query_name(const struct api_req *rq, struct api_resp *rs, const char *key,
                    const char *what, const char **out);
/*
 * Reads "true"/"false" parameter `key` into *out as 1/0, or -1 when absent;
 * 400 (and false) when bad.
 */
bool api_query_bool(const struct api_req *rq, struct api_resp *rs, const char *key, int *out);
/* Reads an RFC 3339 parameter into *out (0 when absent); 400 (and false) when bad. */
bool api_query_time(const struct api_req *rq, struct api_resp *rs, const char *key, int64_t *out);
/*
 * Parses the body as a JSON object (duplicate members rejected). Returns it
 * (caller decrefs), or NULL after replying 400. An absent or empty body gives
 * NULL with *absent set (no reply) when `absent` is not NULL, else 400.
 */
json_t *api_body_object(const struct api_req *rq, struct api_resp *rs, bool *absent);
/* True (after replying 403) unless the caller has at least `role`. */
bool api_require_role(const struct api_req *rq, struct api_resp *rs, enum store_role role);
/*
 * Logs and records an authentication failure (`msg` is for the log and the
 * event, never a secret); events are throttled (see struct api).
 */
void api_auth_failure(const struct api_req *rq, const char *msg);
/* Makes the JSON of one listed record; NULL when out of memory. */
typedef json_t *api_item_json_fn(const struct api_req *rq, const void *rec);
/*
 * Replies 200 {"<key>": [the JSON of each of the `n` records of `size` bytes
 * at `recs`], "next": next}, `next` being stolen (NULL: JSON null; callers
 * pass the cursor of a full page); 500 when out of memory. The records stay
 * the caller's.
 */
void api_reply_page(struct api_req *rq, struct api_resp *rs, const char *key, const void *recs,
                    size_t n, size_t size, api_item_json_fn *item, json_t *next);
/* Records an event in the store's system log (failures are only logged). */
void api_event(const struct api_req *rq, enum store_level level, const char *source,
               const char *job, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* ---- pure parsers (parse.c) ---- */

/*
 * Parses a listen address "host:port": an IPv4 literal, "[IPv6 literal]", or
 * "localhost" (127.0.0.1), and a port 0-65535 (0: any free port).
 * Returns 0 or CLOVER_EINVAL with e filled (field "listen").
 */
int api_parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *len,
                     struct error_info *e);
/* Strict decimal integer in [min, max]: no sign unless min < 0, no spaces. */
int api_parse_int64(const char *s, int64_t min, int64_t max, int64_t *out);
/* "true" or "false". */
int api_parse_bool(const char *s, bool *out);
/*
 * Splits `path` (after the API prefix, e.g. "/jobs/x/trigger" or "" ) into
 * at most `max` segments, copying into `buf` (`n` bytes). One trailing slash
 * is ignored; empty segments, "." and ".." are rejected. Returns 0 or
 * CLOVER_EINVAL / CLOVER_ETOOBIG.
 */
int api_split_path(const char *path, char *buf, size_t n, const char **seg, int max, int *nseg);
/* True when `s` is a positive decimal int64 (an id in a path). */
bool api_parse_id(const char *s, int64_t *out);
/* True when `s` is valid UTF-8 (no overlongs, surrogates or values past U+10FFFF). */
bool api_utf8_valid(const char *s);
/* Replaces, in place, every byte that is not part of valid UTF-8 with '?'. */
void api_utf8_sanitize(char *s);

/* ---- JSON builders (json.c) ---- */

/* A JSON string (invalid UTF-8 replaced by '?'), or JSON null for NULL. */
json_t *api_str_json(const char *s);
/* RFC 3339 UTC with milliseconds, or JSON null when `ms` is 0. */
json_t *api_time_json(int64_t ms);
/*
 * The JOB object: the stored spec's members in order plus "status".
 * `spec` is the parsed spec (for next_fire_at), or NULL to parse it here.
 * Returns NULL when out of memory or the stored text is not a JSON object.
 */
json_t *api_job_json(const struct store_job *j, const struct job_spec *spec, int64_t now);
/* The RUN object. NULL when out of memory. */
json_t *api_run_json(const struct run_rec *r);
/* The next fire of a parsed spec after `now`, or 0 when none (paused, manual, ...). */
int64_t api_next_fire(const struct job_spec *spec, int64_t now);

/* ---- the console's files (console.c) ---- */

/* True when `url` is not under API_PREFIX (nor /metrics): a console file, or a 404 of it. */
bool api_console_url(const char *url);
/*
 * Queues the answer for console file `url` (GET or HEAD): "/" is the page,
 * "/ui/<file>" its scripts and styles, all embedded in the binary; with an
 * ETag (304 on If-None-Match), the console's Content-Security-Policy, and 404
 * or 405 otherwise. Returns MHD_YES or MHD_NO.
 */
struct MHD_Connection;
int api_console_serve(struct MHD_Connection *mc, const char *url, const char *method);

/* ---- handlers ---- */
typedef void api_handler(struct api_req *rq, struct api_resp *rs);

api_handler api_jobs_list, api_jobs_create, api_job_get, api_job_put, api_job_delete,
    api_job_trigger, api_job_pause, api_job_resume;
api_handler api_runs_list, api_run_get, api_run_log, api_run_kill;
api_handler api_cron_preview;
api_handler api_users_list, api_users_create, api_user_delete;
api_handler api_tokens_list, api_tokens_create, api_token_delete, api_whoami;
api_handler api_login, api_logout;
api_handler api_executors_list, api_cluster, api_executor_disable, api_executor_enable,
    api_executor_drain;
api_handler api_contacts_list, api_contacts_create, api_contact_get, api_contact_put,
    api_contact_delete;
api_handler api_events_list;
api_handler api_stats, api_metrics;
api_handler api_coord_get, api_coord_put, api_coord_delete;

/* ---- metrics (metrics.c) ---- */

/* Counts a reply with `status` for /metrics (one relaxed atomic add). */
void api_metrics_count(struct api *a, int status);

/* ---- contacts and events (contacts.c, events.c) ---- */

/* The CONTACT object; without `full` its webhook URL is cut to
 * "scheme://host[:port]/..." (for viewers). NULL when out of memory. */
json_t *api_contact_json(const struct store_contact *c, bool full);
/* The EVENT object. NULL when out of memory. */
json_t *api_event_json(const struct store_event *ev);
/* A plain ASCII local@domain of at most 254 bytes; else *why says what is wrong. */
bool api_email_valid(const char *s, const char **why);
/* An http:// or https:// URL with a host, at most 2048 printable ASCII bytes. */
bool api_webhook_valid(const char *s, const char **why);
/*
 * After a job was written: records a warning event for each contact its spec
 * names that does not exist (the job is accepted; see contacts.c).
 */
void api_job_contacts_check(struct api_req *rq, const struct job_spec *spec);

#endif
