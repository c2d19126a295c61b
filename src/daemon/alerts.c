/* SPDX-License-Identifier: MIT */
/*
 * Alerts of `clover server`: a bounded queue fed by the engine's thread, a
 * thread that resolves each alert's recipients from the store and hands it
 * to the notifier, and the notifier's reports turned into events. See
 * alerts.h for the contract and docs/alerts.md for what is raised when.
 *
 * Recipients are resolved when the alert is handled, not when the job is
 * applied: the contacts named by the job's stored spec (`contacts`), plus
 * every on-call contact. A name with no contact is skipped (the API warned
 * when the job was applied). The on-call list and the contacts read are
 * cached for one batch of alerts only, so a change made through the API
 * applies to the next alert.
 */
#include "daemon/alerts.h"
#include "base/log.h"
#include "base/time.h"
#include "store/store.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ONCALL_MAX       1000 /* on-call contacts read per batch */
#define JOB_CONTACTS_MAX 64   /* as the job spec's own cap */
#define DROP_LOG_MS      60000

struct item {
	struct item *next;
	enum notify_kind kind;
	int64_t run_id, at;
	char *job, *node, *message; /* in the same allocation */
};

struct alerts {
	struct store *store;
	struct notify *notify;
	char node[128];
	pthread_t thread;
	bool started;
	pthread_mutex_t mu; /* queue, counters, stopping */
	pthread_cond_t cv;
	struct item *head, *tail;
	size_t queued;
	bool stopping;
	struct alerts_stats st;
	int64_t drop_logged; /* wall ms of the last drop log line */
	uint64_t drops_unlogged;
};

/* ---- reports -> events ---- */

static enum store_level report_level(enum notify_outcome o)
{
	switch (o) {
	case NOTIFY_DELIVERED:
		return STORE_LEVEL_INFO;
	case NOTIFY_RETRYING:
	case NOTIFY_HELD:
		return STORE_LEVEL_WARN;
	case NOTIFY_FAILED:
	case NOTIFY_DROPPED:
		return STORE_LEVEL_ERROR;
	}
	return STORE_LEVEL_ERROR;
}

/*
 * Called on the notifier's thread: one event per report ("alert delivered by
 * email to Ann <ann@example.com>: job backup failed (run 42) [SMTP 250]").
 * The store's writer queue takes it, so this never waits on the disk.
 */
static void on_report(void *ctx, const struct notify_report *r)
{
	struct alerts *a = ctx;
	enum store_level lvl = report_level(r->outcome);
	char msg[1024], att[32] = "";
	int rc;

	if (r->attempt > 1)
		snprintf(att, sizeof(att), ", attempt %d", r->attempt);
	snprintf(msg, sizeof(msg), "alert %s by %s to %s%s%s%s: %s [%s, %zu alert%s%s%s%s]",
		 notify_outcome_name(r->outcome), notify_channel_name(r->channel),
		 r->contact && r->contact[0] ? r->contact : "",
		 r->contact && r->contact[0] ? " <" : "", r->address ? r->address : "",
		 r->contact && r->contact[0] ? ">" : "", r->title ? r->title : "",
		 notify_kind_name(r->kind), r->count, r->count == 1 ? "" : "s", att,
		 r->detail && r->detail[0] ? "; " : "", r->detail ? r->detail : "");
	log_at(lvl == STORE_LEVEL_INFO ? LOG_INFO : lvl == STORE_LEVEL_WARN ? LOG_WARN : LOG_ERROR,
	       "notify", "job=%s node=%s run=%lld %s", r->job ? r->job : "-",
	       r->node ? r->node : "-", (long long)r->run_id, msg);
	pthread_mutex_lock(&a->mu);
	if ((int)r->outcome >= 0 && r->outcome <= NOTIFY_DROPPED)
		a->st.outcomes[r->outcome]++;
	pthread_mutex_unlock(&a->mu);
	rc = store_submit_event(a->store,
				&(struct store_event){.at = r->at ? r->at : time_wall_ms(),
						      .level = lvl,
						      .source = "notify",
						      .node = (char *)(r->node ? r->node : a->node),
						      .job = (char *)r->job,
						      .run_id = r->run_id > 0 ? r->run_id : 0,
						      .message = msg});
	if (rc)
		log_at(LOG_ERROR, "notify", "cannot record the report as an event: %s",
		       clover_strerror(rc));
}

/* ---- recipients ---- */

/* Contacts read during one batch (hits and misses), freed after it. */
struct cache {
	struct store_contact *oncall;
	size_t noncall;
	bool oncall_read;
	struct store_contact *known; /* name NULL in a miss: email/webhook NULL too */
	char **known_names;
	size_t nknown, capknown;
};

static void cache_clear(struct cache *c)
{
	for (size_t i = 0; i < c->noncall; i++)
		store_contact_clear(&c->oncall[i]);
	free(c->oncall);
	for (size_t i = 0; i < c->nknown; i++) {
		store_contact_clear(&c->known[i]);
		free(c->known_names[i]);
	}
	free(c->known);
	free(c->known_names);
	memset(c, 0, sizeof(*c));
}

/* The contact `name` (NULL when there is none or the store failed). */
static const struct store_contact *contact_of(struct alerts *a, struct cache *c, const char *name)
{
	struct store_contact ct = {0};
	int rc;

	for (size_t i = 0; i < c->nknown; i++) {
		if (strcmp(c->known_names[i], name) == 0)
			return c->known[i].name ? &c->known[i] : NULL;
	}
	rc = store_contact_get(a->store, name, &ct);
	if (rc && rc != CLOVER_ENOENT)
		log_at(LOG_WARN, "alerts", "cannot read contact=%s: %s", name, clover_strerror(rc));
	if (c->nknown == c->capknown) {
		size_t cap = c->capknown ? c->capknown * 2 : 16;
		struct store_contact *k = realloc(c->known, cap * sizeof(*k));
		char **kn;

		if (k == NULL) {
			store_contact_clear(&ct);
			return NULL;
		}
		c->known = k;
		kn = realloc(c->known_names, cap * sizeof(*kn));
		if (kn == NULL) {
			store_contact_clear(&ct);
			return NULL;
		}
		c->known_names = kn;
		c->capknown = cap;
	}
	if ((c->known_names[c->nknown] = strdup(name)) == NULL) {
		store_contact_clear(&ct);
		return NULL;
	}
	c->known[c->nknown] = ct;
	return c->known[c->nknown++].name ? &c->known[c->nknown - 1] : NULL;
}

/*
 * Fills `names` with the contacts job `job`'s stored spec names (pointers
 * into *doc, which the caller decrefs). Returns how many.
 */
static size_t job_contact_names(struct alerts *a, const char *job, json_t **doc,
				const char **names, size_t max)
{
	struct store_job j = {0};
	json_t *arr, *v;
	size_t i, n = 0;
	int rc;

	*doc = NULL;
	rc = store_job_get(a->store, job, &j);
	if (rc) {
		if (rc != CLOVER_ENOENT)
			log_at(LOG_WARN, "alerts", "job=%s: cannot read its contacts: %s", job,
			       clover_strerror(rc));
		return 0;
	}
	*doc = json_loads(j.spec, 0, NULL);
	store_job_clear(&j);
	arr = *doc ? json_object_get(*doc, "contacts") : NULL;
	json_array_foreach(arr, i, v) {
		if (json_is_string(v) && n < max)
			names[n++] = json_string_value(v);
	}
	return n;
}

static void add_recipient(struct notify_contact *to, size_t *n, size_t max,
			  const struct store_contact *ct)
{
	for (size_t i = 0; i < *n; i++) {
		if (strcmp(to[i].name, ct->name) == 0)
			return;
	}
	if (*n < max)
		to[(*n)++] = (struct notify_contact){ct->name, ct->email, ct->webhook};
}

static void handle(struct alerts *a, struct cache *c, const struct item *it)
{
	struct notify_contact to[JOB_CONTACTS_MAX + ONCALL_MAX];
	const char *names[JOB_CONTACTS_MAX];
	size_t nto = 0, nnames = 0;
	json_t *doc = NULL;
	int rc;

	if (!c->oncall_read) {
		struct store_contact_filter f = {.oncall = 1, .limit = ONCALL_MAX};

		rc = store_contact_list(a->store, &f, &c->oncall, &c->noncall);
		if (rc)
			log_at(LOG_WARN, "alerts", "cannot read the on-call contacts: %s",
			       clover_strerror(rc));
		c->oncall_read = true;
	}
	if (it->job)
		nnames = job_contact_names(a, it->job, &doc, names, JOB_CONTACTS_MAX);
	for (size_t i = 0; i < nnames; i++) {
		const struct store_contact *ct = contact_of(a, c, names[i]);

		if (ct)
			add_recipient(to, &nto, sizeof(to) / sizeof(to[0]), ct);
		else
			log_at(LOG_DEBUG, "alerts", "job=%s names contact=%s, which does not exist",
			       it->job, names[i]);
	}
	for (size_t i = 0; i < c->noncall; i++)
		add_recipient(to, &nto, sizeof(to) / sizeof(to[0]), &c->oncall[i]);
	if (nto == 0) {
		pthread_mutex_lock(&a->mu);
		a->st.no_recipient++;
		pthread_mutex_unlock(&a->mu);
		log_at(LOG_DEBUG, "alerts", "job=%s node=%s run=%lld %s: no contact to tell",
		       it->job ? it->job : "-", it->node ? it->node : "-", (long long)it->run_id,
		       notify_kind_name(it->kind));
		json_decref(doc);
		return;
	}
	rc = notify_alert(a->notify, &(struct notify_alert){.kind = it->kind,
							    .job = it->job,
							    .node = it->node,
							    .run_id = it->run_id,
							    .at = it->at,
							    .message = it->message,
							    .contacts = to,
							    .ncontacts = nto});
	json_decref(doc);
	if (rc) {
		pthread_mutex_lock(&a->mu);
		a->st.dropped++;
		pthread_mutex_unlock(&a->mu);
		char msg[600];

		snprintf(msg, sizeof(msg), "%s alert dropped: %s", notify_kind_name(it->kind),
			 rc == CLOVER_EAGAIN ? "the notifier's queue is full (alert_queue_max)"
					     : clover_strerror(rc));
		log_at(LOG_ERROR, "alerts", "job=%s node=%s run=%lld %s", it->job ? it->job : "-",
		       it->node ? it->node : "-", (long long)it->run_id, msg);
		store_submit_event(a->store, &(struct store_event){.at = time_wall_ms(),
								    .level = STORE_LEVEL_ERROR,
								    .source = "notify",
								    .node = it->node ? it->node : a->node,
								    .job = it->job,
								    .run_id = it->run_id,
								    .message = msg});
	}
}

static void *thread_main(void *arg)
{
	struct alerts *a = arg;

	for (;;) {
		struct cache c = {0};
		struct item *batch;
		bool stop;

		pthread_mutex_lock(&a->mu);
		while (a->head == NULL && !a->stopping)
			pthread_cond_wait(&a->cv, &a->mu);
		batch = a->head;
		a->head = a->tail = NULL;
		a->queued = 0;
		stop = a->stopping;
		pthread_mutex_unlock(&a->mu);
		for (struct item *it = batch, *next; it; it = next) {
			next = it->next;
			handle(a, &c, it);
			free(it);
		}
		cache_clear(&c);
		if (stop && batch == NULL)
			return NULL;
	}
}

/* ---- the interface ---- */

int alerts_new(const struct config *cfg, struct store *store, const char *node,
	       struct alerts **out, struct error_info *e)
{
	struct notify_options o;
	struct alerts *a;
	int rc;

	*out = NULL;
	a = calloc(1, sizeof(*a));
	if (a == NULL)
		return error_set(e, CLOVER_ENOMEM, NULL, "out of memory");
	a->store = store;
	snprintf(a->node, sizeof(a->node), "%s", node ? node : "");
	pthread_mutex_init(&a->mu, NULL);
	pthread_cond_init(&a->cv, NULL);

	notify_options_init(&o);
	o.smtp_url = cfg->smtp_url[0] ? cfg->smtp_url : NULL;
	o.smtp_user = cfg->smtp_user[0] ? cfg->smtp_user : NULL;
	o.smtp_password = cfg->smtp_password[0] ? cfg->smtp_password : NULL;
	o.smtp_from = cfg->smtp_from[0] ? cfg->smtp_from : NULL;
	o.smtp_starttls = (enum notify_starttls)cfg->smtp_starttls;
	o.smtp_timeout_ms = (int)cfg->smtp_timeout_ms;
	o.smtp_retries = cfg->smtp_retries;
	o.ca_file = cfg->alert_ca_file[0] ? cfg->alert_ca_file : NULL;
	o.webhook_timeout_ms = (int)cfg->webhook_timeout_ms;
	o.webhook_retries = cfg->webhook_retries;
	o.retry_backoff_ms = (int)cfg->alert_retry_backoff_ms;
	o.retry_backoff_max_ms = (int)cfg->alert_retry_backoff_max_ms;
	o.group_window_ms = cfg->alert_group_window_ms;
	o.rate_limit = cfg->alert_rate_limit;
	o.rate_period_ms = cfg->alert_rate_period_ms;
	o.items_max = (size_t)cfg->alert_items_max;
	o.groups_max = (size_t)cfg->alert_groups_max;
	o.queue_max = (size_t)cfg->alert_queue_max;
	o.flush_timeout_ms = (int)cfg->alert_flush_timeout_ms;
	o.on_report = on_report;
	o.ctx = a;
	if ((rc = notify_new(&o, &a->notify, e)) != 0)
		goto fail;
	if (pthread_create(&a->thread, NULL, thread_main, a) != 0) {
		rc = error_set(e, CLOVER_ESYS, NULL, "cannot start the alerts thread");
		goto fail;
	}
	a->started = true;
	*out = a;
	return 0;
fail:
	notify_free(a->notify);
	pthread_cond_destroy(&a->cv);
	pthread_mutex_destroy(&a->mu);
	free(a);
	return rc;
}

void alerts_free(struct alerts *a)
{
	if (a == NULL)
		return;
	pthread_mutex_lock(&a->mu);
	a->stopping = true;
	pthread_cond_signal(&a->cv);
	pthread_mutex_unlock(&a->mu);
	if (a->started)
		pthread_join(a->thread, NULL);
	notify_free(a->notify);
	for (struct item *it = a->head, *next; it; it = next) {
		next = it->next;
		free(it);
	}
	pthread_cond_destroy(&a->cv);
	pthread_mutex_destroy(&a->mu);
	free(a);
}

static size_t str_size(const char *s)
{
	return s ? strlen(s) + 1 : 0;
}

static char *put_str(char **p, const char *s)
{
	char *r;

	if (s == NULL)
		return NULL;
	r = *p;
	memcpy(r, s, strlen(s) + 1);
	*p += strlen(s) + 1;
	return r;
}

void alerts_raise(struct alerts *a, enum notify_kind kind, const char *job, const char *node,
		  int64_t run_id, int64_t at, const char *message)
{
	struct item *it = NULL;
	bool full;
	char *p;

	if (a == NULL)
		return;
	pthread_mutex_lock(&a->mu);
	full = a->queued >= ALERTS_QUEUE_MAX || a->stopping;
	pthread_mutex_unlock(&a->mu);
	if (!full)
		it = malloc(sizeof(*it) + str_size(job) + str_size(node) + str_size(message));
	pthread_mutex_lock(&a->mu);
	if (it == NULL) {
		int64_t now = time_wall_ms();
		uint64_t n = 0;

		a->st.dropped++;
		a->drops_unlogged++;
		if (now - a->drop_logged >= DROP_LOG_MS) {
			n = a->drops_unlogged;
			a->drop_logged = now;
			a->drops_unlogged = 0;
		}
		pthread_mutex_unlock(&a->mu);
		if (n) {
			char msg[160];

			snprintf(msg, sizeof(msg),
				 "%llu alert(s) dropped: the alerts queue is full (%d) or memory ran "
				 "out",
				 (unsigned long long)n, ALERTS_QUEUE_MAX);
			log_at(LOG_ERROR, "alerts", "%s", msg);
			store_submit_event(a->store,
					   &(struct store_event){.at = now,
								 .level = STORE_LEVEL_ERROR,
								 .source = "notify",
								 .node = a->node,
								 .message = msg});
		}
		return;
	}
	p = (char *)(it + 1);
	it->next = NULL;
	it->kind = kind;
	it->run_id = run_id;
	it->at = at;
	it->job = put_str(&p, job);
	it->node = put_str(&p, node);
	it->message = put_str(&p, message);
	if (a->tail)
		a->tail->next = it;
	else
		a->head = it;
	a->tail = it;
	a->queued++;
	a->st.raised++;
	pthread_cond_signal(&a->cv);
	pthread_mutex_unlock(&a->mu);
}

void alerts_stats(struct alerts *a, struct alerts_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (a == NULL)
		return;
	pthread_mutex_lock(&a->mu);
	*out = a->st;
	pthread_mutex_unlock(&a->mu);
}
