/* SPDX-License-Identifier: MIT */
/*
 * The grouper: which alerts become which messages, and when. Pure: it reads
 * no clock (the caller passes "now", any monotonic millisecond count), does
 * no I/O and takes no locks, so tests drive it with a virtual clock.
 *
 * A *group* collects the alerts with one key (kind, scope, channel,
 * address), where the scope is the node for executor_lost/scheduler_lost and
 * the job for every other kind. It opens with its first alert at time t and
 * closes at t + window; then it becomes one message. Groups wait in a heap by
 * closing time (FIFO among equal times), so output order is deterministic.
 *
 * A *destination* (channel, address) has rate-limit state: the times of its
 * last `rate_limit` messages. It may send at `now` when it has sent fewer
 * than that, or the oldest of them is at least `rate_period` old; so no
 * `rate_period`-long interval ever holds more than `rate_limit` messages.
 * A message that may not go is *held*: folded into the destination's
 * summary, which goes out (and counts as a message) as soon as the
 * destination may send again. Once a destination has nothing pending and its
 * last message is a period old, its state is dropped.
 *
 * Memory is bounded: a message keeps at most `items_max` items (all alerts
 * are counted), and beyond `groups_max` open groups new alerts go straight
 * into their destination's summary, sent one window later at the soonest.
 */
#include "notify/internal.h"

#include "base/hash.h"

#include <stdlib.h>
#include <string.h>

struct group {
	struct heap_node hn;
	char *key; /* NULL when not in the map (window 0, or freed) */
	struct notify_msg *msg;
};

struct dest {
	struct heap_node hn; /* in dheap while a summary waits or sends are recent */
	char *key;
	int64_t *sends;      /* ring of the last `rate_limit` send times */
	size_t nsends, head; /* head: the oldest when the ring is full */
	struct notify_msg *summary;
	int64_t summary_not_before;
};

struct notify_grouper {
	struct notify_group_cfg cfg;
	struct hmap groups; /* key -> struct group */
	struct heap gheap;  /* open groups by closing time */
	struct hmap dests;  /* key -> struct dest */
	struct heap dheap;  /* destinations by their next event */
	uint64_t seq;
};

/* ---- messages ---- */

static void item_clear(struct notify_item *it)
{
	free(it->job);
	free(it->node);
	free(it->message);
}

void notify_msg_free(struct notify_msg *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->nitems; i++)
		item_clear(&m->items[i]);
	free(m->items);
	free(m->contact);
	free(m->address);
	free(m->job);
	free(m->node);
	free(m);
}

void notify_msg_list_free(struct notify_msg_list *l)
{
	struct notify_msg *m;

	while ((m = notify_msg_list_pop(l)) != NULL)
		notify_msg_free(m);
}

struct notify_msg *notify_msg_list_pop(struct notify_msg_list *l)
{
	struct notify_msg *m = l->head;

	if (m) {
		l->head = m->next;
		if (l->head == NULL)
			l->tail = NULL;
		l->n--;
		m->next = NULL;
	}
	return m;
}

static void list_push(struct notify_msg_list *l, struct notify_msg *m)
{
	m->next = NULL;
	if (l->tail)
		l->tail->next = m;
	else
		l->head = m;
	l->tail = m;
	l->n++;
}

static char *dup_or_null(const char *s, bool *failed)
{
	char *d;

	if (s == NULL)
		return NULL;
	d = strdup(s);
	if (d == NULL)
		*failed = true;
	return d;
}

static bool same(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

static struct notify_msg *msg_new(struct notify_grouper *g, enum notify_kind kind,
                                  enum notify_channel ch, const char *contact, const char *address)
{
	struct notify_msg *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return NULL;
	m->seq = g->seq++;
	m->kind = kind;
	m->severity = notify_kind_severity(kind);
	m->channel = ch;
	m->contact = strdup(contact ? contact : "");
	m->address = strdup(address);
	if (m->contact == NULL || m->address == NULL) {
		notify_msg_free(m);
		return NULL;
	}
	return m;
}

/* Appends an item unless the list is full; an item that cannot be allocated
 * is left out (the alert is still counted). */
static void item_add(struct notify_msg *m, size_t items_max, const char *job, const char *node,
                     int64_t run_id, int64_t at, const char *message)
{
	struct notify_item it = {.run_id = run_id, .at = at};
	bool failed = false;

	if (m->nitems >= items_max)
		return;
	if (m->nitems == m->items_cap) {
		size_t cap = m->items_cap ? m->items_cap * 2 : 4;
		struct notify_item *v;

		if (cap > items_max)
			cap = items_max;
		v = realloc(m->items, cap * sizeof(*v));
		if (v == NULL)
			return;
		m->items = v;
		m->items_cap = cap;
	}
	it.job = dup_or_null(job, &failed);
	it.node = dup_or_null(node, &failed);
	it.message = dup_or_null(message, &failed);
	if (failed) {
		item_clear(&it);
		return;
	}
	m->items[m->nitems++] = it;
}

/* Merges alert `a` into `m`. Fails (CLOVER_ENOMEM) only on the first alert,
 * whose job and node name the message. */
static int msg_add(struct notify_msg *m, const struct notify_alert *a, size_t items_max)
{
	bool failed = false;

	if (m->count == 0) {
		m->job = dup_or_null(a->job, &failed);
		m->node = dup_or_null(a->node, &failed);
		if (failed)
			return CLOVER_ENOMEM;
		m->run_id = a->run_id;
		m->first_at = m->last_at = a->at;
	} else {
		if (!m->job_mixed && !same(m->job, a->job)) {
			free(m->job);
			m->job = NULL;
			m->job_mixed = true;
		}
		if (!m->node_mixed && !same(m->node, a->node)) {
			free(m->node);
			m->node = NULL;
			m->node_mixed = true;
		}
		if (!m->run_mixed && m->run_id != a->run_id) {
			m->run_id = 0;
			m->run_mixed = true;
		}
		if (a->at < m->first_at)
			m->first_at = a->at;
		if (a->at > m->last_at)
			m->last_at = a->at;
	}
	m->count++;
	if (a->job)
		m->njobs++;
	item_add(m, items_max, a->job, a->node, a->run_id, a->at, a->message);
	return 0;
}

/* Folds message `m` into summary `s`: counted by kind, listed by its title. */
static void summary_fold(struct notify_msg *s, const struct notify_msg *m, size_t items_max)
{
	struct buf title;

	if (s->held_msgs == 0 || m->first_at < s->first_at)
		s->first_at = m->first_at;
	if (s->held_msgs == 0 || m->last_at > s->last_at)
		s->last_at = m->last_at;
	if (m->severity > s->severity || s->held_msgs == 0)
		s->severity = m->severity;
	s->held_msgs++;
	s->count += m->count;
	s->njobs += m->njobs;
	s->kind_count[m->kind] += m->count;
	if (s->nitems >= items_max)
		return;
	buf_init(&title, NOTIFY_TITLE_MAX + 64);
	if (notify_msg_title(m, &title) == 0)
		item_add(s, items_max, m->job, m->node, m->run_id, m->first_at, title.data);
	buf_free(&title);
}

/* ---- destinations ---- */

static bool dest_can_send(const struct notify_grouper *g, const struct dest *d, int64_t now)
{
	size_t limit = (size_t)g->cfg.rate_limit;

	return limit == 0 || d->nsends < limit || d->sends[d->head] + g->cfg.rate_period_ms <= now;
}

static void dest_record(struct notify_grouper *g, struct dest *d, int64_t now)
{
	size_t limit = (size_t)g->cfg.rate_limit;

	if (limit == 0)
		return;
	if (d->nsends < limit) {
		d->sends[(d->head + d->nsends) % limit] = now;
		d->nsends++;
	} else {
		d->sends[d->head] = now;
		d->head = (d->head + 1) % limit;
	}
}

static void dest_free(struct notify_grouper *g, struct dest *d)
{
	heap_remove(&g->dheap, &d->hn);
	hmap_del(&g->dests, d->key);
	notify_msg_free(d->summary);
	free(d->sends);
	free(d->key);
	free(d);
}

/* Puts d back in the heap at its next event, or drops it when it has none.
 * Never fails: room in dheap was reserved when d was created. */
static void dest_schedule(struct notify_grouper *g, struct dest *d, int64_t now)
{
	size_t limit = (size_t)g->cfg.rate_limit;
	int64_t at;

	heap_remove(&g->dheap, &d->hn);
	if (d->summary) {
		at = dest_can_send(g, d, now) ? now : d->sends[d->head] + g->cfg.rate_period_ms;
		if (at < d->summary_not_before)
			at = d->summary_not_before;
	} else if (d->nsends > 0) {
		at = d->sends[(d->head + d->nsends - 1) % limit] + g->cfg.rate_period_ms;
		if (at <= now) {
			dest_free(g, d);
			return;
		}
	} else {
		dest_free(g, d);
		return;
	}
	heap_insert(&g->dheap, &d->hn, at);
}

static struct dest *dest_get(struct notify_grouper *g, enum notify_channel ch, const char *address)
{
	struct buf key;
	struct dest *d = NULL;

	buf_init(&key, NOTIFY_URL_MAX + 64);
	if (buf_printf(&key, "%d %s", (int)ch, address) != 0)
		goto out;
	d = hmap_get(&g->dests, key.data);
	if (d)
		goto out;
	d = calloc(1, sizeof(*d));
	if (d == NULL)
		goto out;
	heap_node_init(&d->hn);
	d->key = buf_steal(&key);
	if (g->cfg.rate_limit > 0)
		d->sends = calloc((size_t)g->cfg.rate_limit, sizeof(*d->sends));
	if (d->key == NULL || (g->cfg.rate_limit > 0 && d->sends == NULL) ||
	    heap_reserve(&g->dheap, g->dests.n + 1) != 0 || hmap_put(&g->dests, d->key, d) != 0) {
		free(d->sends);
		free(d->key);
		free(d);
		d = NULL;
	}
out:
	buf_free(&key);
	return d;
}

/* Folds m into d's summary, creating it (due at `not_before` at the
 * soonest). CLOVER_ENOMEM when there is no summary and none can be made. */
static int dest_hold(struct notify_grouper *g, struct dest *d, const struct notify_msg *m,
                     int64_t not_before)
{
	if (d->summary == NULL) {
		d->summary = msg_new(g, NOTIFY_SUMMARY, m->channel, m->contact, m->address);
		if (d->summary == NULL)
			return CLOVER_ENOMEM;
		d->summary_not_before = not_before;
	}
	summary_fold(d->summary, m, g->cfg.items_max);
	return 0;
}

/* ---- groups ---- */

static void group_free(struct notify_grouper *g, struct group *gr)
{
	heap_remove(&g->gheap, &gr->hn);
	if (gr->key)
		hmap_del(&g->groups, gr->key);
	notify_msg_free(gr->msg);
	free(gr->key);
	free(gr);
}

/* The window of group gr has closed: its message is sent or held. */
static void group_close(struct notify_grouper *g, struct group *gr, int64_t now,
                        struct notify_msg_list *out)
{
	struct notify_msg *m = gr->msg;
	struct dest *d;

	gr->msg = NULL;
	group_free(g, gr);
	m->disposition = NOTIFY_MSG_SEND;
	d = dest_get(g, m->channel, m->address);
	if (d == NULL) {
		/* Out of memory for the rate-limit state: send rather than lose. */
		list_push(out, m);
		return;
	}
	if (d->summary || !dest_can_send(g, d, now)) {
		if (dest_hold(g, d, m, now) == 0)
			m->disposition = NOTIFY_MSG_HELD;
	}
	if (m->disposition == NOTIFY_MSG_SEND)
		dest_record(g, d, now);
	list_push(out, m);
	dest_schedule(g, d, now);
}

/* A destination's event: its summary may go, or its state may expire. */
static void dest_due(struct notify_grouper *g, struct dest *d, int64_t now,
                     struct notify_msg_list *out)
{
	if (d->summary && dest_can_send(g, d, now) && d->summary_not_before <= now) {
		d->summary->disposition = NOTIFY_MSG_SEND;
		list_push(out, d->summary);
		d->summary = NULL;
		dest_record(g, d, now);
	}
	dest_schedule(g, d, now);
}

static int group_key(struct buf *key, const struct notify_alert *a, enum notify_channel ch,
                     const char *address)
{
	const char *scope = notify_kind_by_node(a->kind) ? a->node : a->job;

	return buf_printf(key, "%d %zu:%s %d %s", (int)a->kind, strlen(scope), scope, (int)ch,
	                  address);
}

/* Adds a to the group of one destination. */
static int add_one(struct notify_grouper *g, const struct notify_alert *a, enum notify_channel ch,
                   const char *contact, const char *address, int64_t now)
{
	struct buf key;
	struct group *gr = NULL;
	struct notify_msg *m = NULL;
	struct dest *d;
	int rc;

	buf_init(&key, NOTIFY_URL_MAX + NOTIFY_NAME_MAX + 64);
	if (g->cfg.window_ms > 0) {
		rc = group_key(&key, a, ch, address);
		if (rc)
			goto out;
		gr = hmap_get(&g->groups, key.data);
		if (gr) {
			rc = msg_add(gr->msg, a, g->cfg.items_max);
			goto out;
		}
	}
	rc = CLOVER_ENOMEM;
	m = msg_new(g, a->kind, ch, contact, address);
	if (m == NULL || msg_add(m, a, g->cfg.items_max) != 0)
		goto out;
	if (g->gheap.n >= g->cfg.groups_max) {
		/* Too many open groups: straight into the summary. */
		d = dest_get(g, ch, address);
		if (d == NULL)
			goto out;
		rc = dest_hold(g, d, m, now + g->cfg.window_ms);
		dest_schedule(g, d, now);
		goto out;
	}
	gr = calloc(1, sizeof(*gr));
	if (gr == NULL)
		goto out;
	heap_node_init(&gr->hn);
	if (key.len) {
		gr->key = buf_steal(&key);
		if (gr->key == NULL || hmap_put(&g->groups, gr->key, gr) != 0) {
			free(gr->key);
			free(gr);
			goto out;
		}
	}
	if (heap_insert(&g->gheap, &gr->hn, now + g->cfg.window_ms) != 0) {
		group_free(g, gr);
		goto out;
	}
	gr->msg = m;
	m = NULL;
	rc = 0;
out:
	notify_msg_free(m);
	buf_free(&key);
	return rc;
}

int notify_grouper_add(struct notify_grouper *g, const struct notify_alert *a, int64_t now)
{
	int rc = notify_alert_check(a);

	/* Each distinct (channel, address) once, in contact order. */
	for (size_t i = 0; rc == 0 && i < a->ncontacts; i++) {
		const struct notify_contact *c = &a->contacts[i];

		for (int ch = NOTIFY_EMAIL; rc == 0 && ch <= NOTIFY_WEBHOOK; ch++) {
			const char *addr = ch == NOTIFY_EMAIL ? c->email : c->webhook;
			bool seen = false;

			if (addr == NULL || addr[0] == '\0')
				continue;
			for (size_t j = 0; j < i && !seen; j++) {
				const struct notify_contact *o = &a->contacts[j];

				seen = same(ch == NOTIFY_EMAIL ? o->email : o->webhook, addr);
			}
			if (!seen)
				rc = add_one(g, a, (enum notify_channel)ch, c->name, addr, now);
		}
	}
	return rc;
}

int64_t notify_grouper_next(const struct notify_grouper *g)
{
	const struct heap_node *gn = heap_min(&g->gheap), *dn = heap_min(&g->dheap);
	int64_t t = INT64_MAX;

	if (gn)
		t = gn->deadline;
	if (dn && dn->deadline < t)
		t = dn->deadline;
	return t;
}

void notify_grouper_poll(struct notify_grouper *g, int64_t now, struct notify_msg_list *out)
{
	for (;;) {
		struct heap_node *gn = heap_min(&g->gheap), *dn = heap_min(&g->dheap);

		if (gn && gn->deadline <= now && (dn == NULL || gn->deadline <= dn->deadline)) {
			heap_pop(&g->gheap);
			group_close(g, container_of(gn, struct group, hn), now, out);
		} else if (dn && dn->deadline <= now) {
			heap_pop(&g->dheap);
			dest_due(g, container_of(dn, struct dest, hn), now, out);
		} else {
			break;
		}
	}
}

void notify_grouper_flush(struct notify_grouper *g, int64_t now, struct notify_msg_list *out)
{
	struct heap_node *n;

	while ((n = heap_pop(&g->gheap)) != NULL)
		group_close(g, container_of(n, struct group, hn), now, out);
	/* Every destination with a summary is in dheap; take them in order. */
	while ((n = heap_pop(&g->dheap)) != NULL) {
		struct dest *d = container_of(n, struct dest, hn);

		if (d->summary) {
			d->summary->disposition = NOTIFY_MSG_SEND;
			list_push(out, d->summary);
			d->summary = NULL;
		}
		dest_free(g, d);
	}
}

size_t notify_grouper_open(const struct notify_grouper *g)
{
	return g->gheap.n;
}

size_t notify_grouper_destinations(const struct notify_grouper *g)
{
	return g->dests.n;
}

int notify_grouper_new(const struct notify_group_cfg *cfg, struct notify_grouper **out)
{
	struct notify_grouper *g = calloc(1, sizeof(*g));

	*out = NULL;
	if (g == NULL)
		return CLOVER_ENOMEM;
	g->cfg = *cfg;
	if (g->cfg.window_ms < 0)
		g->cfg.window_ms = 0;
	if (g->cfg.rate_limit < 0)
		g->cfg.rate_limit = 0;
	if (g->cfg.items_max == 0)
		g->cfg.items_max = 1;
	if (g->cfg.groups_max == 0)
		g->cfg.groups_max = 1;
	hmap_init(&g->groups);
	hmap_init(&g->dests);
	heap_init(&g->gheap);
	heap_init(&g->dheap);
	*out = g;
	return 0;
}

void notify_grouper_free(struct notify_grouper *g)
{
	struct heap_node *n;
	const char *k;
	void *v;

	if (g == NULL)
		return;
	while ((n = heap_min(&g->gheap)) != NULL)
		group_free(g, container_of(n, struct group, hn));
	heap_free(&g->dheap); /* it points into the destinations */
	for (size_t i = 0; hmap_next(&g->dests, &i, &k, &v);) {
		struct dest *d = v;

		notify_msg_free(d->summary);
		free(d->sends);
		free(d->key);
		free(d);
	}
	hmap_free(&g->groups);
	hmap_free(&g->dests);
	heap_free(&g->gheap);
	free(g);
}

int64_t notify_backoff_ms(int retry, int64_t base, int64_t max)
{
	int64_t d = base;

	for (int i = 1; i < retry && d < max; i++)
		d *= 2;
	return d < max ? d : max;
}
