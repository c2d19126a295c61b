/* SPDX-License-Identifier: MIT */
/*
 * Internals of the notify layer shared by its files and its tests (not by
 * other layers, which use notify.h).
 *
 * alert.c      vocabulary (kinds, severities), alert copies, text cleaning,
 *              address and URL checks
 * group.c      the grouper: grouping windows and per-destination rate limits,
 *              pure (no clock, no I/O, no threads): fed alerts and "now",
 *              it hands out messages
 * format.c     message text: titles, e-mail body, RFC 5322 rendering with
 *              header-injection checks, webhook JSON; pure
 * transport.c  libcurl global init and error translation
 * smtp.c       one e-mail over SMTP
 * webhook.c    one webhook POST
 * notify.c     the notifier thread: queue, grouper, deliveries, retries, reports
 *
 * Threads: the functions below keep no global state (but notify_curl_init)
 * and may be called from any thread; an object (a grouper, a message, a curl
 * handle) must be used by one thread at a time. In the notifier, all of them
 * belong to its thread.
 */
#ifndef CLOVER_NOTIFY_INTERNAL_H
#define CLOVER_NOTIFY_INTERNAL_H

#include "notify/notify.h"

#include "base/buf.h"
#include "base/heap.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NOTIFY_NAME_MAX      256  /* bytes of a job, node or contact name */
#define NOTIFY_MESSAGE_MAX   4096 /* bytes of an alert's message */
#define NOTIFY_ADDRESS_MAX   254  /* an e-mail address (RFC 5321) */
#define NOTIFY_URL_MAX       2048 /* a webhook URL */
#define NOTIFY_CONTACTS_MAX  1000 /* contacts of one alert */
#define NOTIFY_NAMES_IN_LINE 10   /* job names in a message's first line */
#define NOTIFY_TITLE_MAX     300  /* bytes of a title (cut at a character) */
#define NOTIFY_ITEM_LINE_MAX 200  /* bytes of an item's message in a list */

/* ---- alert.c ---- */

/*
 * Copies `s` into `dst` (when not NULL) as valid UTF-8: each byte that does
 * not start a well-formed sequence becomes U+FFFD; the copy stops before the
 * character that would make it longer than `max` bytes. Returns the length
 * written (or that would be written), without the NUL that follows it.
 */
size_t notify_text_clean(char *dst, const char *s, size_t max);

/* A malloc'd cleaned copy of `s` (NULL for NULL, or on ENOMEM: check). */
char *notify_text_dup(const char *s, size_t max);

/* Length of the longest prefix of s[0..n) that does not cut a UTF-8 character. */
size_t notify_utf8_cut(const char *s, size_t n);

/* An addr-spec we are willing to put in a header and an SMTP command:
 * ASCII, local@domain, no spaces, controls or specials, at most 254 bytes. */
bool notify_email_valid(const char *s);
/* http:// or https:// (any case), a host, printable ASCII, at most 2048 bytes. */
bool notify_url_valid(const char *s);
/* Writes "scheme://host[:port]/..." (no user info, path or query) into out. */
void notify_url_redact(const char *url, char *out, size_t n);

/* Checks kind and scope (job for job kinds, node for node kinds): 0 or EINVAL. */
int notify_alert_check(const struct notify_alert *a);

/*
 * A deep, cleaned copy of `a` in one allocation (free() releases it); `at`
 * is set to `now_wall` when 0; contacts with neither address are left out.
 * NULL on ENOMEM.
 */
struct notify_alert *notify_alert_dup(const struct notify_alert *a, int64_t now_wall);

/* ---- messages (group.c builds them, format.c renders them) ---- */

struct notify_item {
	char *job, *node, *message; /* each may be NULL */
	int64_t run_id;
	int64_t at;
};

enum notify_disposition {
	NOTIFY_MSG_SEND = 0, /* deliver it */
	NOTIFY_MSG_HELD,     /* over the rate limit: report it, then free it */
};

struct notify_msg {
	struct notify_msg *next;
	uint64_t seq; /* order of creation in its grouper */
	enum notify_kind kind;
	enum notify_severity severity;
	enum notify_channel channel;
	enum notify_disposition disposition;
	char *contact; /* "" when the contact had no name */
	char *address;
	char *job, *node; /* shared by every merged alert, else NULL */
	int64_t run_id;   /* shared, else 0 */
	bool job_mixed, node_mixed, run_mixed;
	size_t count; /* alerts merged (for a summary: alerts held) */
	size_t njobs; /* alerts that named a job */
	int64_t first_at, last_at;
	struct notify_item *items; /* the first `items_max` alerts */
	size_t nitems, items_cap;
	/* summaries only */
	size_t held_msgs;                     /* messages folded in */
	size_t kind_count[NOTIFY_KIND_COUNT]; /* alerts per kind */
};

struct notify_msg_list {
	struct notify_msg *head, *tail;
	size_t n;
};

void notify_msg_free(struct notify_msg *m);
/* Frees every message of the list and empties it. */
void notify_msg_list_free(struct notify_msg_list *l);
/* Removes and returns the first message, or NULL. */
struct notify_msg *notify_msg_list_pop(struct notify_msg_list *l);

/* ---- group.c ---- */

struct notify_group_cfg {
	int64_t window_ms; /* 0: no grouping */
	int rate_limit;    /* 0: unlimited */
	int64_t rate_period_ms;
	size_t items_max;  /* >= 1 */
	size_t groups_max; /* >= 1 */
};

struct notify_grouper;

/* A new grouper (caller frees with notify_grouper_free). 0 or CLOVER_ENOMEM. */
int notify_grouper_new(const struct notify_group_cfg *cfg, struct notify_grouper **out);
/* Frees the grouper with everything still open. NULL is a no-op. */
void notify_grouper_free(struct notify_grouper *g);

/*
 * Adds `a` (checked with notify_alert_check, UTF-8 strings) at time `now`
 * (any monotonic millisecond clock) to one group per distinct destination
 * of its contacts. Returns 0, CLOVER_EINVAL, or CLOVER_ENOMEM (then some
 * destinations may have taken the alert and others not).
 */
int notify_grouper_add(struct notify_grouper *g, const struct notify_alert *a, int64_t now);

/* The earliest time at which notify_grouper_poll() has something to do, or
 * INT64_MAX when nothing is pending. */
int64_t notify_grouper_next(const struct notify_grouper *g);

/*
 * Appends to `out`, in deadline order, every message due at `now`: groups
 * whose window has closed (NOTIFY_MSG_SEND, or NOTIFY_MSG_HELD when their
 * destination is over its rate limit) and summaries whose destination may
 * send again. The caller owns the messages.
 */
void notify_grouper_poll(struct notify_grouper *g, int64_t now, struct notify_msg_list *out);

/*
 * Like poll, but closes every open group now and hands out every pending
 * summary even over the rate limit (for shutdown).
 */
void notify_grouper_flush(struct notify_grouper *g, int64_t now, struct notify_msg_list *out);

/* Open groups, and destinations with rate-limit state (for tests). */
size_t notify_grouper_open(const struct notify_grouper *g);
size_t notify_grouper_destinations(const struct notify_grouper *g);

/* Delay before retry number `retry` (1-based): base * 2^(retry-1), capped. */
int64_t notify_backoff_ms(int retry, int64_t base, int64_t max);

/* ---- format.c ---- */

/* Appends the message's title: "job backup failed (run 42)",
 * "executor x lost: 500 jobs affected". 0 or CLOVER_ENOMEM/ETOOBIG. */
int notify_msg_title(const struct notify_msg *m, struct buf *out);
/* Appends the first line of the text: the title, then for node kinds the
 * affected jobs ("...: a, b, c ... and 497 more"), for summaries the counts. */
int notify_msg_headline(const struct notify_msg *m, struct buf *out);
/* Appends the plain-text body (LF line ends). */
int notify_msg_text(const struct notify_msg *m, struct buf *out);

struct notify_email {
	const char *from;       /* "addr" or "Name <addr>", printable ASCII */
	const char *to;         /* addr-spec */
	const char *to_name;    /* display name (UTF-8), or NULL/"" */
	const char *subject;    /* UTF-8 */
	const char *body;       /* UTF-8; LF, CRLF or CR line ends */
	int64_t date_ms;        /* for the Date header */
	const char *message_id; /* "id@domain", without the angle brackets */
	const char *alert_kind; /* X-Clover-Alert value, or NULL */
};

/*
 * Appends a complete RFC 5322 message with CRLF line ends: Date, From, To,
 * Subject (RFC 2047 encoded-words when not plain ASCII), Message-ID,
 * MIME-Version, Content-Type text/plain; charset=utf-8, and a body in 7bit
 * when it is ASCII with short lines, quoted-printable otherwise. Refuses
 * (CLOVER_EINVAL, `e` naming the header) a CR, LF or other control
 * character in any header value, and an invalid address. Dot-stuffing is
 * left to the SMTP client.
 */
int notify_email_render(const struct notify_email *m, struct buf *out, struct error_info *e);

/* The address inside "Name <addr>", or the whole of "addr", into out;
 * 0 or CLOVER_EINVAL when it is not a valid address. */
int notify_from_address(const char *from, char *out, size_t n);

/* Formats an RFC 5322 date: "Sun, 08 Mar 2026 07:30:00 +0000". */
void notify_date_format(int64_t ms, char *out, size_t n);

/* The webhook body (see docs/alerts.md), malloc'd, or NULL on ENOMEM. */
char *notify_webhook_json(const struct notify_msg *m, const char *delivery_id);

/* ---- transport.c, smtp.c, webhook.c ---- */

/* The outcome of one attempt. */
struct notify_result {
	int error;      /* 0 or CLOVER_E* */
	bool transient; /* worth another attempt */
	long code;      /* last SMTP reply or HTTP status, 0 when none */
	char detail[256];
};

/* curl_global_init once per process. 0 or CLOVER_ESYS. Thread-safe. */
int notify_curl_init(void);
/* Fills r from a curl result (and the SMTP/HTTP code in r->code). */
void notify_curl_result(CURLcode rc, const char *errbuf, struct notify_result *r);

struct notify_smtp {
	const char *url;
	const char *user, *password; /* user NULL: no AUTH */
	const char *from;            /* envelope sender, an addr-spec */
	const char *ca_file;
	enum notify_starttls starttls;
	long timeout_ms;
};

/*
 * Sends one message (`data`, CRLF lines, not dot-stuffed) to `rcpt` with
 * the easy handle `h` (reset first, connections kept). Fills r; returns
 * r->error. Blocks for at most cfg->timeout_ms. Not thread-safe for one `h`.
 */
int notify_smtp_send(CURL *h, const struct notify_smtp *cfg, const char *rcpt, const char *data,
                     size_t len, struct notify_result *r);

struct notify_webhook {
	const char *ca_file;
	long timeout_ms;
};

/*
 * POSTs `body` (JSON) to `url` with Content-Type application/json and the
 * headers X-Clover-Alert: `kind` and X-Clover-Delivery: `delivery_id`
 * (the same on every retry, for receivers that deduplicate). Redirects are
 * not followed. A 2xx is success; 408, 429, 5xx and network errors are
 * transient. Fills r; returns r->error.
 */
int notify_webhook_post(CURL *h, const struct notify_webhook *cfg, const char *url,
                        const char *body, const char *kind, const char *delivery_id,
                        struct notify_result *r);

#endif
