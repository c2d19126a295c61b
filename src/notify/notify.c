/* SPDX-License-Identifier: MIT */
/*
 * The notifier: its own thread, fed through a bounded queue, that runs the
 * grouper (group.c) on the monotonic clock and delivers what comes out of
 * it by e-mail (smtp.c) or webhook (webhook.c).
 *
 * A *delivery* is one message rendered once (so retries send the same bytes,
 * with the same Message-ID or X-Clover-Delivery id) with its attempt count.
 * A transient failure puts it in a retry heap, due after an exponential
 * backoff; the thread never sleeps on a backoff, so other messages keep
 * going meanwhile. Transfers themselves block the thread, each bounded by its
 * channel's timeout.
 *
 * Threads: notify_alert() runs on any thread and only touches the queue
 * under `mu`; everything else (grouper, retry heap, curl handles) belongs to
 * the notifier thread, which is also the only caller of on_report.
 */
#include "notify/internal.h"

#include "base/log.h"
#include "base/time.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define DETAIL_MAX ERROR_MSG_MAX

struct qnode {
	struct qnode *next;
	struct notify_alert *a; /* notify_alert_dup: one allocation */
};

struct delivery {
	struct heap_node hn; /* in `retries` while waiting */
	struct notify_msg *msg;
	char *payload; /* the rendered e-mail or JSON */
	size_t len;
	char *title;
	char id[96];
	int attempts, max_attempts;
};

struct notify {
	struct notify_options o; /* strings point at the copies below */
	char *smtp_url, *smtp_user, *smtp_password, *smtp_from, *ca_file;
	char from_addr[NOTIFY_ADDRESS_MAX + 1];
	const char *from_domain;

	pthread_mutex_t mu;
	pthread_cond_t cv; /* on CLOCK_MONOTONIC */
	struct qnode *qhead, *qtail;
	size_t qlen;
	bool stop;

	/* the notifier thread's own */
	pthread_t thread;
	struct notify_grouper *g;
	struct heap retries;
	CURL *smtp, *http;
	uint64_t seq;
	uint32_t salt;
};

void notify_options_init(struct notify_options *o)
{
	memset(o, 0, sizeof(*o));
	o->smtp_starttls = NOTIFY_STARTTLS_TRY;
	o->smtp_timeout_ms = 30000;
	o->smtp_retries = 2;
	o->webhook_timeout_ms = 10000;
	o->webhook_retries = 3;
	o->retry_backoff_ms = 1000;
	o->retry_backoff_max_ms = 60000;
	o->group_window_ms = 30000;
	o->rate_limit = 10;
	o->rate_period_ms = 10 * MS_PER_MIN;
	o->items_max = 50;
	o->groups_max = 10000;
	o->queue_max = 10000;
	o->flush_timeout_ms = 10000;
}

/* ---- reports ---- */

static void report(struct notify *n, const struct notify_msg *m, enum notify_outcome outcome,
                   const char *title, int attempt, int error, const char *detail)
{
	char addr[NOTIFY_URL_MAX + 16];
	struct notify_report r = {
	    .outcome = outcome,
	    .channel = m->channel,
	    .kind = m->kind,
	    .severity = m->severity,
	    .contact = m->contact,
	    .address = m->address,
	    .title = title ? title : "",
	    .job = m->job,
	    .node = m->node,
	    .run_id = m->run_id,
	    .count = m->count,
	    .attempt = attempt,
	    .error = error,
	    .detail = detail ? detail : "",
	    .at = time_wall_ms(),
	};

	if (m->channel == NOTIFY_WEBHOOK) {
		notify_url_redact(m->address, addr, sizeof(addr));
		r.address = addr;
	}
	log_at(outcome == NOTIFY_FAILED || outcome == NOTIFY_DROPPED ? LOG_DEBUG : LOG_TRACE,
	       "notify", "%s %s to %s: %s (attempt %d) %s", notify_outcome_name(outcome),
	       notify_channel_name(m->channel), r.address, r.title, attempt, r.detail);
	if (n->o.on_report)
		n->o.on_report(n->o.ctx, &r);
}

/* Reports a message that never became a delivery, then frees it. */
static void report_msg(struct notify *n, struct notify_msg *m, enum notify_outcome outcome,
                       int error, const char *detail)
{
	struct buf title;

	buf_init(&title, NOTIFY_TITLE_MAX + 64);
	notify_msg_title(m, &title);
	report(n, m, outcome, title.data, 0, error, detail);
	buf_free(&title);
	notify_msg_free(m);
}

/* ---- deliveries ---- */

static void delivery_free(struct delivery *d)
{
	notify_msg_free(d->msg);
	free(d->payload);
	free(d->title);
	free(d);
}

static int render_email(struct notify *n, struct delivery *d, char *detail)
{
	struct buf subject, body, out;
	struct error_info e;
	char mid[sizeof(d->id) + NOTIFY_ADDRESS_MAX];
	int rc;

	if (n->smtp_url == NULL) {
		snprintf(detail, DETAIL_MAX, "e-mail is not configured (smtp_url)");
		return CLOVER_ENOTSUP;
	}
	buf_init(&subject, NOTIFY_TITLE_MAX + 64);
	/* 1000 items of the longest names fit; quoted-printable may triple */
	buf_init(&body, 1024 * 1024);
	buf_init(&out, 4 * 1024 * 1024);
	error_clear(&e);
	snprintf(mid, sizeof(mid), "%s@%s", d->id, n->from_domain);
	rc = buf_printf(&subject, "[clover] %s", d->title);
	if (rc == 0)
		rc = notify_msg_text(d->msg, &body);
	if (rc == 0) {
		struct notify_email em = {
		    .from = n->smtp_from,
		    .to = d->msg->address,
		    .to_name = d->msg->contact,
		    .subject = subject.data,
		    .body = body.data,
		    .date_ms = time_wall_ms(),
		    .message_id = mid,
		    .alert_kind = notify_kind_name(d->msg->kind),
		};

		rc = notify_email_render(&em, &out, &e);
		if (rc)
			snprintf(detail, DETAIL_MAX, "%s", e.message);
	} else {
		snprintf(detail, DETAIL_MAX, "cannot write the message: %s", clover_strerror(rc));
	}
	if (rc == 0) {
		d->len = out.len;
		d->payload = buf_steal(&out);
		if (d->payload == NULL)
			rc = CLOVER_ENOMEM;
	}
	buf_free(&subject);
	buf_free(&body);
	buf_free(&out);
	return rc;
}

static int render_webhook(struct delivery *d, char *detail)
{
	if (!notify_url_valid(d->msg->address)) {
		snprintf(detail, DETAIL_MAX, "not a valid webhook URL (http:// or https://)");
		return CLOVER_EINVAL;
	}
	d->payload = notify_webhook_json(d->msg, d->id);
	if (d->payload == NULL) {
		snprintf(detail, DETAIL_MAX, "cannot write the JSON body");
		return CLOVER_ENOMEM;
	}
	d->len = strlen(d->payload);
	return 0;
}

/* Turns a message to send into a rendered delivery; reports and frees the
 * message when it cannot be rendered. */
static struct delivery *delivery_new(struct notify *n, struct notify_msg *m)
{
	struct delivery *d = calloc(1, sizeof(*d));
	char detail[DETAIL_MAX] = "out of memory";
	struct buf title;
	int rc = CLOVER_ENOMEM;

	if (d == NULL) {
		report_msg(n, m, NOTIFY_FAILED, rc, detail);
		return NULL;
	}
	heap_node_init(&d->hn);
	d->msg = m;
	snprintf(d->id, sizeof(d->id), "%lld.%llu.%08x", (long long)time_wall_ms(),
	         (unsigned long long)++n->seq, (unsigned)n->salt);
	d->max_attempts =
	    1 + (m->channel == NOTIFY_EMAIL ? n->o.smtp_retries : n->o.webhook_retries);
	buf_init(&title, NOTIFY_TITLE_MAX + 64);
	if (notify_msg_title(m, &title) == 0)
		d->title = buf_steal(&title);
	buf_free(&title);
	if (d->title)
		rc = m->channel == NOTIFY_EMAIL ? render_email(n, d, detail)
		                                : render_webhook(d, detail);
	if (rc) {
		report(n, m, NOTIFY_FAILED, d->title, 0, rc, detail);
		delivery_free(d);
		return NULL;
	}
	return d;
}

/* One attempt of d, its transfer cut to `budget_ms` (0: the channel's
 * timeout). Then d is delivered, failed, or (unless `last`) due again. */
static void attempt(struct notify *n, struct delivery *d, int64_t budget_ms, bool last)
{
	struct notify_result r;
	CURL **h = d->msg->channel == NOTIFY_EMAIL ? &n->smtp : &n->http;
	long timeout =
	    d->msg->channel == NOTIFY_EMAIL ? n->o.smtp_timeout_ms : n->o.webhook_timeout_ms;

	if (budget_ms > 0 && budget_ms < timeout)
		timeout = (long)budget_ms;
	d->attempts++;
	if (*h == NULL)
		*h = curl_easy_init();
	if (*h == NULL) {
		memset(&r, 0, sizeof(r));
		r.error = CLOVER_ENOMEM;
		r.transient = true;
		snprintf(r.detail, sizeof(r.detail), "cannot create a curl handle");
	} else if (d->msg->channel == NOTIFY_EMAIL) {
		struct notify_smtp cfg = {
		    .url = n->smtp_url,
		    .user = n->smtp_user,
		    .password = n->smtp_password,
		    .from = n->from_addr,
		    .ca_file = n->ca_file,
		    .starttls = n->o.smtp_starttls,
		    .timeout_ms = timeout,
		};

		notify_smtp_send(*h, &cfg, d->msg->address, d->payload, d->len, &r);
	} else {
		struct notify_webhook cfg = {.ca_file = n->ca_file, .timeout_ms = timeout};

		notify_webhook_post(*h, &cfg, d->msg->address, d->payload,
		                    notify_kind_name(d->msg->kind), d->id, &r);
	}
	if (r.error == 0) {
		report(n, d->msg, NOTIFY_DELIVERED, d->title, d->attempts, 0, r.detail);
	} else if (r.transient && !last && d->attempts < d->max_attempts) {
		int64_t wait = notify_backoff_ms(d->attempts, n->o.retry_backoff_ms,
		                                 n->o.retry_backoff_max_ms);

		/* The wait starts after the report, so reports are at least
		 * `wait` apart too. */
		report(n, d->msg, NOTIFY_RETRYING, d->title, d->attempts, r.error, r.detail);
		if (heap_insert(&n->retries, &d->hn, time_mono_ms() + wait) == 0)
			return;
		report(n, d->msg, NOTIFY_FAILED, d->title, d->attempts, CLOVER_ENOMEM,
		       "out of memory: cannot schedule the retry");
	} else {
		report(n, d->msg, NOTIFY_FAILED, d->title, d->attempts, r.error, r.detail);
	}
	delivery_free(d);
}

/* A message out of the grouper: report a held one, deliver the others. */
static void dispatch(struct notify *n, struct notify_msg *m)
{
	struct delivery *d;

	if (m->disposition == NOTIFY_MSG_HELD) {
		report_msg(n, m, NOTIFY_HELD, 0, "over the rate limit: goes into a summary");
		return;
	}
	d = delivery_new(n, m);
	if (d)
		attempt(n, d, 0, false);
}

/* ---- the thread ---- */

static void take_alerts(struct notify *n, struct qnode *q, int64_t now)
{
	while (q) {
		struct qnode *next = q->next;
		int rc = notify_grouper_add(n->g, q->a, now);

		if (rc)
			log_at(LOG_WARN, "notify", "alert %s job=%s node=%s not fully taken: %s",
			       notify_kind_name(q->a->kind), q->a->job ? q->a->job : "-",
			       q->a->node ? q->a->node : "-", clover_strerror(rc));
		free(q->a);
		free(q);
		q = next;
	}
}

static void work(struct notify *n)
{
	struct notify_msg_list l = {0};
	struct notify_msg *m;
	struct heap_node *hn;

	notify_grouper_poll(n->g, time_mono_ms(), &l);
	while ((m = notify_msg_list_pop(&l)) != NULL)
		dispatch(n, m);
	while ((hn = heap_min(&n->retries)) != NULL && hn->deadline <= time_mono_ms()) {
		heap_pop(&n->retries);
		attempt(n, container_of(hn, struct delivery, hn), 0, false);
	}
}

static int64_t next_wake(const struct notify *n)
{
	const struct heap_node *hn = heap_min(&n->retries);
	int64_t t = notify_grouper_next(n->g);

	if (hn && hn->deadline < t)
		t = hn->deadline;
	return t;
}

/* Waits on cv until `mono_deadline` (INT64_MAX: no deadline). mu held. */
static void wait_until(struct notify *n, int64_t mono_deadline)
{
	struct timespec ts;

	if (mono_deadline == INT64_MAX) {
		pthread_cond_wait(&n->cv, &n->mu);
		return;
	}
	if (mono_deadline <= time_mono_ms())
		return;
	ts.tv_sec = (time_t)(mono_deadline / 1000);
	ts.tv_nsec = (long)(mono_deadline % 1000) * 1000000L;
	pthread_cond_timedwait(&n->cv, &n->mu, &ts);
}

/* Shutdown: everything pending gets one attempt while time remains. */
static void flush(struct notify *n)
{
	int64_t deadline = time_mono_ms() + n->o.flush_timeout_ms;
	struct notify_msg_list l = {0};
	struct notify_msg *m;
	struct heap_node *hn;

	while ((hn = heap_pop(&n->retries)) != NULL) {
		struct delivery *d = container_of(hn, struct delivery, hn);
		int64_t left = deadline - time_mono_ms();

		if (left > 0) {
			attempt(n, d, left, true);
		} else {
			report(n, d->msg, NOTIFY_DROPPED, d->title, d->attempts, CLOVER_ECANCELED,
			       "shutting down: no time left for another attempt");
			delivery_free(d);
		}
	}
	notify_grouper_flush(n->g, time_mono_ms(), &l);
	while ((m = notify_msg_list_pop(&l)) != NULL) {
		int64_t left = deadline - time_mono_ms();
		struct delivery *d;

		if (m->disposition == NOTIFY_MSG_HELD) {
			report_msg(n, m, NOTIFY_HELD, 0,
			           "over the rate limit: goes into a summary");
		} else if (left <= 0) {
			report_msg(n, m, NOTIFY_DROPPED, CLOVER_ECANCELED,
			           "shutting down: no time left to send it");
		} else if ((d = delivery_new(n, m)) != NULL) {
			attempt(n, d, left, true);
		}
	}
}

static void *thread_main(void *arg)
{
	struct notify *n = arg;

	pthread_mutex_lock(&n->mu);
	for (;;) {
		struct qnode *q = n->qhead;
		bool stop = n->stop;

		n->qhead = n->qtail = NULL;
		n->qlen = 0;
		pthread_mutex_unlock(&n->mu);
		take_alerts(n, q, time_mono_ms());
		if (stop)
			break;
		work(n);
		pthread_mutex_lock(&n->mu);
		if (n->qhead == NULL && !n->stop)
			wait_until(n, next_wake(n));
	}
	flush(n);
	return NULL;
}

/* ---- the API ---- */

int notify_alert(struct notify *n, const struct notify_alert *a)
{
	struct notify_alert *copy;
	struct qnode *q;
	int rc = notify_alert_check(a);

	if (rc)
		return rc;
	copy = notify_alert_dup(a, time_wall_ms());
	if (copy == NULL)
		return CLOVER_ENOMEM;
	if (copy->ncontacts == 0) {
		free(copy);
		return 0;
	}
	q = malloc(sizeof(*q));
	if (q == NULL) {
		free(copy);
		return CLOVER_ENOMEM;
	}
	q->next = NULL;
	q->a = copy;
	pthread_mutex_lock(&n->mu);
	if (n->stop) {
		rc = CLOVER_ESTATE;
	} else if (n->qlen >= n->o.queue_max) {
		rc = CLOVER_EAGAIN;
	} else {
		if (n->qtail)
			n->qtail->next = q;
		else
			n->qhead = q;
		n->qtail = q;
		n->qlen++;
		pthread_cond_signal(&n->cv);
	}
	pthread_mutex_unlock(&n->mu);
	if (rc) {
		free(copy);
		free(q);
	}
	return rc;
}

static bool printable_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

static int range(struct error_info *e, const char *key, long long v, long long lo, long long hi,
                 const char *unit)
{
	if (v >= lo && v <= hi)
		return 0;
	return error_set(e, CLOVER_EINVAL, key, "%s must be from %lld to %lld%s, not %lld", key, lo,
	                 hi, unit, v);
}

static int check_options(const struct notify_options *o, struct error_info *e)
{
	const char *url = o->smtp_url;
	char addr[NOTIFY_ADDRESS_MAX + 1];
	int rc;

	if (url && url[0]) {
		if ((strncasecmp(url, "smtp://", 7) != 0 && strncasecmp(url, "smtps://", 8) != 0) ||
		    !printable_ascii(url) || strlen(url) > NOTIFY_URL_MAX || strchr(url, ' '))
			return error_set(e, CLOVER_EINVAL, "smtp_url",
			                 "smtp_url must look like smtp://host:port or "
			                 "smtps://host:port, not '%s'",
			                 url);
		if (o->smtp_from == NULL || !printable_ascii(o->smtp_from) ||
		    notify_from_address(o->smtp_from, addr, sizeof(addr)) != 0)
			return error_set(e, CLOVER_EINVAL, "smtp_from",
			                 "smtp_from must be an address such as clover@example.com "
			                 "or Clover <clover@example.com>, not '%s'",
			                 o->smtp_from ? o->smtp_from : "");
	}
	if ((int)o->smtp_starttls < 0 || o->smtp_starttls > NOTIFY_STARTTLS_REQUIRE)
		return error_set(e, CLOVER_EINVAL, "smtp_starttls",
		                 "smtp_starttls must be none, try or require");
	if ((rc = range(e, "smtp_timeout", o->smtp_timeout_ms, 1, 600000, " ms")) ||
	    (rc = range(e, "smtp_retries", o->smtp_retries, 0, 100, "")) ||
	    (rc = range(e, "webhook_timeout", o->webhook_timeout_ms, 1, 600000, " ms")) ||
	    (rc = range(e, "webhook_retries", o->webhook_retries, 0, 100, "")) ||
	    (rc = range(e, "alert_retry_backoff", o->retry_backoff_ms, 1, 3600000, " ms")) ||
	    (rc = range(e, "alert_retry_backoff_max", o->retry_backoff_max_ms, o->retry_backoff_ms,
	                86400000, " ms")) ||
	    (rc = range(e, "alert_group_window", o->group_window_ms, 0, 3600000, " ms")) ||
	    (rc = range(e, "alert_rate_limit", o->rate_limit, 0, 100000, "")) ||
	    (rc = range(e, "alert_rate_period", o->rate_period_ms, 1, 86400000, " ms")) ||
	    (rc = range(e, "alert_items_max", (long long)o->items_max, 1, 1000, "")) ||
	    (rc = range(e, "alert_groups_max", (long long)o->groups_max, 1, 10000000, "")) ||
	    (rc = range(e, "alert_queue_max", (long long)o->queue_max, 1, 10000000, "")) ||
	    (rc = range(e, "alert_flush_timeout", o->flush_timeout_ms, 0, 600000, " ms")))
		return rc;
	return 0;
}

/* strdup of an optional string: NULL and "" give NULL. */
static int dup_opt(const char *s, char **out)
{
	*out = NULL;
	if (s == NULL || s[0] == '\0')
		return 0;
	*out = strdup(s);
	return *out ? 0 : CLOVER_ENOMEM;
}

static void notify_destroy(struct notify *n)
{
	notify_grouper_free(n->g);
	heap_free(&n->retries);
	if (n->smtp)
		curl_easy_cleanup(n->smtp);
	if (n->http)
		curl_easy_cleanup(n->http);
	free(n->smtp_url);
	free(n->smtp_user);
	free(n->smtp_password);
	free(n->smtp_from);
	free(n->ca_file);
	free(n);
}

int notify_new(const struct notify_options *o, struct notify **out, struct error_info *e)
{
	struct notify_group_cfg gc = {
	    .window_ms = o->group_window_ms,
	    .rate_limit = o->rate_limit,
	    .rate_period_ms = o->rate_period_ms,
	    .items_max = o->items_max,
	    .groups_max = o->groups_max,
	};
	pthread_condattr_t ca;
	struct notify *n;
	int rc;

	*out = NULL;
	rc = check_options(o, e);
	if (rc)
		return rc;
	rc = notify_curl_init();
	if (rc)
		return error_set(e, rc, NULL, "cannot initialise libcurl");
	n = calloc(1, sizeof(*n));
	if (n == NULL)
		return error_set(e, CLOVER_ENOMEM, NULL, "out of memory");
	n->o = *o;
	heap_init(&n->retries);
	if (dup_opt(o->smtp_url, &n->smtp_url) || dup_opt(o->smtp_user, &n->smtp_user) ||
	    dup_opt(o->smtp_password, &n->smtp_password) || dup_opt(o->smtp_from, &n->smtp_from) ||
	    dup_opt(o->ca_file, &n->ca_file) || notify_grouper_new(&gc, &n->g) != 0) {
		notify_destroy(n);
		return error_set(e, CLOVER_ENOMEM, NULL, "out of memory");
	}
	n->o.smtp_url = n->smtp_url;
	n->o.smtp_user = n->smtp_user;
	n->o.smtp_password = n->smtp_password;
	n->o.smtp_from = n->smtp_from;
	n->o.ca_file = n->ca_file;
	if (n->smtp_from &&
	    notify_from_address(n->smtp_from, n->from_addr, sizeof(n->from_addr)) == 0)
		n->from_domain = strchr(n->from_addr, '@') + 1;
	else
		n->from_domain = "clover.invalid";
	if (getrandom(&n->salt, sizeof(n->salt), GRND_NONBLOCK) != (ssize_t)sizeof(n->salt))
		n->salt = (uint32_t)time_mono_ns() ^ (uint32_t)getpid();

	pthread_mutex_init(&n->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&n->cv, &ca);
	pthread_condattr_destroy(&ca);
	rc = pthread_create(&n->thread, NULL, thread_main, n);
	if (rc != 0) {
		pthread_cond_destroy(&n->cv);
		pthread_mutex_destroy(&n->mu);
		notify_destroy(n);
		return error_set(e, CLOVER_ESYS, NULL, "cannot start the notifier thread: %s",
		                 strerror(rc));
	}
	*out = n;
	return 0;
}

void notify_free(struct notify *n)
{
	struct qnode *q;

	if (n == NULL)
		return;
	pthread_mutex_lock(&n->mu);
	n->stop = true;
	pthread_cond_signal(&n->cv);
	pthread_mutex_unlock(&n->mu);
	pthread_join(n->thread, NULL);
	/* The thread took the queue before it stopped; nothing can be left. */
	while ((q = n->qhead) != NULL) {
		n->qhead = q->next;
		free(q->a);
		free(q);
	}
	pthread_cond_destroy(&n->cv);
	pthread_mutex_destroy(&n->mu);
	notify_destroy(n);
}
