/* SPDX-License-Identifier: MIT */
/*
 * The server's alerts: the bridge between the engine's thread, which sees
 * runs fail, time out, be skipped or lost, and the notifier (src/notify),
 * which groups, throttles and delivers. docs/alerts.md is the operator's
 * view.
 *
 * The engine's thread calls alerts_raise(), which copies the alert into a
 * bounded queue and returns at once: it never reads the store. The alerts
 * thread resolves the recipients -- the contacts named by the job's spec
 * (read from the store, as applied) plus every on-call contact -- and hands
 * the alert to the notifier. Every report of the notifier (delivered,
 * retrying, failed, held, dropped) becomes an event of source "notify"
 * through the store's writer queue, and a log line.
 */
#ifndef CLOVER_DAEMON_ALERTS_H
#define CLOVER_DAEMON_ALERTS_H

#include "base/error.h"
#include "daemon/config.h"
#include "notify/notify.h"

#include <stdint.h>

struct store;
struct alerts;

/* Alerts waiting for the alerts thread; beyond, alerts_raise() drops (counted). */
#define ALERTS_QUEUE_MAX 10000

/* Counters, for logs and /metrics. */
struct alerts_stats {
	uint64_t raised;                      /* accepted by alerts_raise() */
	uint64_t dropped;                     /* refused: queue full or out of memory */
	uint64_t no_recipient;                /* resolved to no contact at all */
	uint64_t outcomes[NOTIFY_DROPPED + 1]; /* reports by enum notify_outcome */
};

/*
 * Starts the notifier with the alert keys of `cfg` and the alerts thread.
 * `node` names this scheduler in events. On error returns CLOVER_EINVAL with
 * `e` naming the configuration key, or CLOVER_ENOMEM / CLOVER_ESYS; nothing
 * is started then. *out is released with alerts_free().
 */
int alerts_new(const struct config *cfg, struct store *store, const char *node,
	       struct alerts **out, struct error_info *e);

/*
 * Stops: alerts still queued are handed to the notifier, which then delivers
 * what is pending within alert_flush_timeout (see notify_free()); its last
 * reports are submitted to the store, so call this before store_close().
 * NULL is a no-op.
 */
void alerts_free(struct alerts *a);

/*
 * Queues an alert (strings copied; `job`, `node`, `message` may be NULL as
 * the kind allows). Never blocks on I/O; thread-safe. A full queue or a
 * failed allocation drops the alert, counts it and logs (at most once a
 * minute).
 */
void alerts_raise(struct alerts *a, enum notify_kind kind, const char *job, const char *node,
		  int64_t run_id, int64_t at, const char *message);

/* A snapshot of the counters. Thread-safe. */
void alerts_stats(struct alerts *a, struct alerts_stats *out);

#endif
