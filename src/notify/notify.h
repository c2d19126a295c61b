/* SPDX-License-Identifier: MIT */
/*
 * The notify layer: alerts to people and systems, by e-mail (SMTP through
 * libcurl: plain, STARTTLS or SMTPS, with optional AUTH) and by webhook (a
 * JSON POST, retried with exponential backoff). docs/alerts.md is the
 * operator's view of everything here.
 *
 * Terms. An *alert* is one thing that went wrong (a run failed, an executor
 * was lost) with its *recipients*: contacts, each with an e-mail address, a
 * webhook URL or both. A *destination* is one address of one channel (an
 * e-mail address or a webhook URL); the same address named by two contacts
 * is one destination. A *message* is what is sent to one destination: one
 * alert, or several merged by grouping, or a rate-limit *summary*.
 *
 * Grouping and throttling. Alerts of the same kind about the same job (or,
 * for executor_lost and scheduler_lost, the same node) that reach the same
 * destination within `group_window_ms` of the first become one message, sent
 * when the window closes. Each destination receives at most `rate_limit`
 * messages in any `rate_period_ms`; messages beyond that are held and folded
 * into one summary, sent as soon as the limit allows. The logic is pure and
 * lives in group.c; delivery is smtp.c and webhook.c; notify.c runs them on
 * the notifier's own thread.
 *
 * Use: fill a `struct notify_options` (start from notify_options_init()),
 * notify_new(), then notify_alert() from any thread; every delivery, retry,
 * failure, hold and drop comes back through `on_report` (the daemon records
 * them as events). notify_free() delivers what is pending, within
 * `flush_timeout_ms`, and reports the rest as dropped.
 */
#ifndef CLOVER_NOTIFY_NOTIFY_H
#define CLOVER_NOTIFY_NOTIFY_H

#include "base/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What happened. The names ("run_failed") are part of the webhook format. */
enum notify_kind {
	NOTIFY_RUN_FAILED = 0, /* a run failed after its retries */
	NOTIFY_RUN_TIMED_OUT,  /* a run (or one of its shards) went over its timeout */
	NOTIFY_RUN_MISFIRED,   /* a fire was reached late (scheduler down, overload) */
	NOTIFY_RUN_SKIPPED,    /* a run was skipped (misfire policy, forbid) */
	NOTIFY_NO_EXECUTOR,    /* no executor matches the job's target */
	NOTIFY_EXECUTOR_LOST,  /* an executor went away; grouped by node */
	NOTIFY_SCHEDULER_LOST, /* a scheduler went away; grouped by node */
	NOTIFY_SUMMARY,        /* output only: a rate-limit summary */
};
#define NOTIFY_KIND_COUNT (NOTIFY_SUMMARY + 1)

enum notify_severity {
	NOTIFY_SEV_WARNING = 0,
	NOTIFY_SEV_ERROR,
	NOTIFY_SEV_CRITICAL,
};

/* "run_failed", ..., "summary"; "unknown" out of range. Thread-safe, static. */
const char *notify_kind_name(enum notify_kind k);
/* Parses a kind name (not "summary"). Returns 0 or CLOVER_EINVAL. */
int notify_kind_parse(const char *s, enum notify_kind *out);
/* run_misfired/run_skipped: warning; executor_lost/scheduler_lost: critical;
 * the others: error. */
enum notify_severity notify_kind_severity(enum notify_kind k);
/* "warning", "error", "critical". Thread-safe, static. */
const char *notify_severity_name(enum notify_severity s);
/* True for kinds grouped by node (executor_lost, scheduler_lost). */
bool notify_kind_by_node(enum notify_kind k);

/* A recipient. Either address may be NULL; a contact with neither is ignored. */
struct notify_contact {
	const char *name;    /* shown in the e-mail's To and in reports */
	const char *email;   /* addr-spec "ops@example.com", ASCII */
	const char *webhook; /* "http://..." or "https://..." */
};

/*
 * One alert. Job kinds (run_*, no_executor) need `job`; node kinds need
 * `node`. All strings are copied by notify_alert(); invalid UTF-8 is replaced
 * by U+FFFD and over-long strings are cut (names at 256 bytes, the message at
 * 4 KiB).
 */
struct notify_alert {
	enum notify_kind kind;
	const char *job;                       /* or NULL */
	const char *node;                      /* executor or scheduler id, or NULL */
	int64_t run_id;                        /* 0 when none */
	int64_t at;                            /* when it happened, UTC epoch ms; 0: now */
	const char *message;                   /* free text, may be multi-line; NULL: none */
	const struct notify_contact *contacts; /* the job's contacts + on-call */
	size_t ncontacts;
};

enum notify_channel {
	NOTIFY_EMAIL = 0,
	NOTIFY_WEBHOOK,
};
/* "email", "webhook". */
const char *notify_channel_name(enum notify_channel c);

enum notify_outcome {
	NOTIFY_DELIVERED = 0, /* accepted by the SMTP server / a 2xx answer */
	NOTIFY_RETRYING,      /* an attempt failed; another follows after a backoff */
	NOTIFY_FAILED,        /* given up: permanent error, retries exhausted, bad address */
	NOTIFY_HELD,          /* over the rate limit: folded into a later summary */
	NOTIFY_DROPPED,       /* never attempted: notify_free() ran out of time */
};
/* "delivered", "retrying", "failed", "held", "dropped". */
const char *notify_outcome_name(enum notify_outcome o);

/*
 * What became of one message. Everything points into the notifier's memory
 * and is valid only during the on_report call.
 */
struct notify_report {
	enum notify_outcome outcome;
	enum notify_channel channel;
	enum notify_kind kind; /* NOTIFY_SUMMARY for a summary */
	enum notify_severity severity;
	const char *contact; /* the contact's name ("" when it had none) */
	const char *address; /* e-mail address, or the webhook URL redacted
	                        to scheme://host[:port]/... (no secrets) */
	const char *title;   /* one line: "executor x lost: 500 jobs affected" */
	const char *job;     /* shared by every merged alert, or NULL */
	const char *node;    /* same */
	int64_t run_id;      /* same; 0 when none or mixed */
	size_t count;        /* alerts in the message */
	int attempt;         /* attempts made so far (0 for held/dropped) */
	int error;           /* 0, or a CLOVER_E* code */
	const char *detail;  /* "250", "HTTP 503", curl's message, ... */
	int64_t at;          /* UTC epoch ms of the report */
};

enum notify_starttls {
	NOTIFY_STARTTLS_NONE = 0, /* never (smtps:// is TLS from the start anyway) */
	NOTIFY_STARTTLS_TRY,      /* when the server offers it */
	NOTIFY_STARTTLS_REQUIRE,  /* fail unless the session becomes TLS */
};
/* Parses "none", "try", "require". Returns 0 or CLOVER_EINVAL. */
int notify_starttls_parse(const char *s, enum notify_starttls *out);
/* "none", "try", "require"; "unknown" out of range. Thread-safe, static. */
const char *notify_starttls_name(enum notify_starttls t);

/*
 * Configuration. notify_options_init() sets the defaults noted here; every
 * value is then taken as given (0 means 0: no grouping, no retries, no rate
 * limit). Strings are copied by notify_new().
 */
struct notify_options {
	/* E-mail. NULL or "" smtp_url disables e-mail: e-mail destinations are
	 * then reported failed (CLOVER_ENOTSUP). */
	const char *smtp_url;      /* "smtp://host:port[/ehlo-name]" or "smtps://..." */
	const char *smtp_user;     /* NULL: no AUTH */
	const char *smtp_password; /* NULL: "" */
	const char *smtp_from;     /* "clover@example.com" or "Clover <clover@example.com>" */
	enum notify_starttls smtp_starttls; /* TRY */
	int smtp_timeout_ms;                /* 30000: a whole SMTP session */
	int smtp_retries;                   /* 2: attempts after the first one */
	const char *ca_file; /* PEM CA bundle for SMTP and webhook TLS; NULL: system */

	/* Webhooks. */
	int webhook_timeout_ms; /* 10000: one POST */
	int webhook_retries;    /* 3: attempts after the first one */

	/* Retries (both channels): the n-th retry waits backoff * 2^(n-1), at
	 * most backoff_max. */
	int retry_backoff_ms;     /* 1000 */
	int retry_backoff_max_ms; /* 60000 */

	/* Grouping and throttling. */
	int64_t group_window_ms; /* 30000; 0: every alert is its own message */
	int rate_limit;          /* 10 messages per destination per period; 0: no limit */
	int64_t rate_period_ms;  /* 600000 (10 min) */
	size_t items_max;        /* 50: alerts listed in one message (all are counted) */
	size_t groups_max;       /* 10000 open groups; beyond, alerts go to summaries */
	size_t queue_max;        /* 10000 alerts waiting for the thread */

	int flush_timeout_ms; /* 10000: how long notify_free() may deliver */

	/* Called on the notifier's thread, one call at a time. It may call
	 * notify_alert() but not notify_free(). NULL: no reports. */
	void (*on_report)(void *ctx, const struct notify_report *r);
	void *ctx;
};

/* Fills `o` with the defaults above. */
void notify_options_init(struct notify_options *o);

struct notify;

/*
 * Checks the options, copies them and starts the notifier thread. On success
 * *out owns the notifier (release it with notify_free()). On error returns
 * CLOVER_EINVAL with `e` naming the configuration key ("smtp_url",
 * "alert_group_window", ...) and why, or CLOVER_ENOMEM / CLOVER_ESYS; nothing
 * is started then and on_report is never called.
 */
int notify_new(const struct notify_options *o, struct notify **out, struct error_info *e);

/*
 * Stops the notifier. Alerts already accepted are not lost silently: open
 * groups are closed at once, held messages become their summaries (even over
 * the rate limit), and every message, including those waiting for a retry,
 * gets one more attempt, each cut short by what remains of
 * `flush_timeout_ms`. What is still left when that time is up is reported
 * NOTIFY_DROPPED. Blocks until done; on_report is not called afterwards.
 * NULL is a no-op. Not to be called concurrently with any other call on `n`.
 */
void notify_free(struct notify *n);

/*
 * Queues a copy of `a` for the notifier's thread and returns at once (it
 * takes a mutex, never waits for the network). Thread-safe.
 * Returns 0 (also when `a` names no usable contact: nothing is sent),
 * CLOVER_EINVAL (unknown kind; a job kind without job or a node kind without
 * node), CLOVER_EAGAIN (`queue_max` alerts already waiting), or
 * CLOVER_ENOMEM. On error nothing is queued and no report follows.
 */
int notify_alert(struct notify *n, const struct notify_alert *a);

#endif
