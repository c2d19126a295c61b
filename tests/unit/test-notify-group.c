/* SPDX-License-Identifier: MIT */
/*
 * The grouper (src/notify/group.c) on a virtual clock: no thread, no network.
 * Proves: 500 executor-lost alerts make one message per recipient, naming
 * the jobs; groups close exactly at first alert + window; different kinds,
 * jobs and nodes are never merged; shared fields stay only while shared;
 * items are capped but every alert is counted; destinations are
 * deduplicated; window 0 turns grouping off; the rate limit holds messages
 * and sends one summary when a slot frees; a seeded random run never sends
 * more than `rate_limit` messages in any period and never loses an alert;
 * overflowing `groups_max` sends the excess as a summary; flush empties
 * everything; rate-limit state expires; the backoff doubles and is capped.
 */
#include "notify-test.h"

#define T0     1000000 /* virtual monotonic start */
#define WINDOW 30000
#define PERIOD 600000

static struct notify_grouper *grouper(int64_t window, int limit, int64_t period, size_t items,
                                      size_t groups)
{
	struct notify_group_cfg cfg = {window, limit, period, items, groups};
	struct notify_grouper *g;

	assert_int_equal(notify_grouper_new(&cfg, &g), 0);
	return g;
}

static size_t poll_at(struct notify_grouper *g, int64_t now, struct notify_msg_list *out)
{
	size_t before = out->n;

	notify_grouper_poll(g, now, out);
	return out->n - before;
}

static struct notify_msg *nth(struct notify_msg_list *l, size_t i)
{
	struct notify_msg *m = l->head;

	while (m && i--)
		m = m->next;
	assert_non_null(m);
	return m;
}

static char *headline(const struct notify_msg *m)
{
	struct buf b;

	buf_init(&b, 1 << 16);
	assert_int_equal(notify_msg_headline(m, &b), 0);
	return buf_steal(&b);
}

static const struct notify_contact oncall = {"on-call", "oncall@example.com",
                                             "http://hooks.example.com/alerts"};

static void test_executor_lost_500_one_message_per_recipient(void **state)
{
	struct notify_grouper *g = grouper(WINDOW, 10, PERIOD, 50, 10000);
	struct notify_msg_list out = {0};
	char job[32], owner[32], mail[64];
	size_t oncall_msgs = 0, owner_msgs = 0;
	char *line;

	(void)state;
	for (int i = 0; i < 500; i++) {
		struct notify_contact cs[2] = {{owner, mail, NULL}, oncall};
		struct notify_alert a = {.kind = NOTIFY_EXECUTOR_LOST,
		                         .job = job,
		                         .node = "exec-7",
		                         .run_id = 1000 + i,
		                         .at = 1772955000000LL + i,
		                         .message = "heartbeat lost",
		                         .contacts = cs,
		                         .ncontacts = 2};

		snprintf(job, sizeof(job), "job-%03d", i);
		snprintf(owner, sizeof(owner), "owner-%03d", i);
		snprintf(mail, sizeof(mail), "owner-%03d@example.com", i);
		assert_int_equal(notify_grouper_add(g, &a, T0 + i * 10), 0);
	}
	/* one group per destination: 500 owners + on-call e-mail + on-call webhook */
	assert_int_equal(notify_grouper_open(g), 502);
	assert_int_equal(notify_grouper_next(g), T0 + WINDOW);
	assert_int_equal(poll_at(g, T0 + WINDOW - 1, &out), 0);
	/* the on-call groups opened with the first alert; owner-i's at T0 + 10i */
	assert_int_equal(poll_at(g, T0 + WINDOW, &out), 3);
	assert_int_equal(poll_at(g, T0 + WINDOW + 4990, &out), 499);
	assert_int_equal(notify_grouper_open(g), 0);
	for (struct notify_msg *m = out.head; m; m = m->next) {
		assert_int_equal(m->disposition, NOTIFY_MSG_SEND);
		assert_int_equal(m->kind, NOTIFY_EXECUTOR_LOST);
		assert_string_equal(m->node, "exec-7");
		if (strcmp(m->contact, "on-call") == 0) {
			oncall_msgs++;
			assert_int_equal(m->count, 500);
			assert_int_equal(m->njobs, 500);
			assert_int_equal(m->nitems, 50);
			assert_null(m->job); /* 500 different jobs */
			assert_int_equal(m->run_id, 0);
			assert_int_equal(m->first_at, 1772955000000LL);
			assert_int_equal(m->last_at, 1772955000000LL + 499);
		} else {
			owner_msgs++;
			assert_int_equal(m->count, 1);
			assert_int_equal(m->channel, NOTIFY_EMAIL);
		}
	}
	assert_int_equal(oncall_msgs, 2);
	assert_int_equal(owner_msgs, 500);

	line = headline(nth(&out, 1)); /* FIFO: the on-call e-mail opened second */
	assert_string_equal(line, "executor exec-7 lost: 500 jobs affected: job-000, job-001, "
	                          "job-002, job-003, job-004, job-005, job-006, job-007, job-008, "
	                          "job-009 ... and 490 more");
	free(line);
	notify_msg_list_free(&out);
	notify_grouper_free(g);
}

static void test_only_oncall_gets_two_messages(void **state)
{
	struct notify_grouper *g = grouper(WINDOW, 10, PERIOD, 50, 10000);
	struct notify_msg_list out = {0};
	char job[32];

	(void)state;
	for (int i = 0; i < 500; i++) {
		struct notify_alert a = {.kind = NOTIFY_EXECUTOR_LOST,
		                         .job = job,
		                         .node = "exec-7",
		                         .at = 1,
		                         .contacts = &oncall,
		                         .ncontacts = 1};

		snprintf(job, sizeof(job), "job-%03d", i);
		assert_int_equal(notify_grouper_add(g, &a, T0), 0);
	}
	assert_int_equal(poll_at(g, T0 + WINDOW, &out), 2);
	assert_int_equal(nth(&out, 0)->channel, NOTIFY_EMAIL);
	assert_int_equal(nth(&out, 1)->channel, NOTIFY_WEBHOOK);
	assert_int_equal(nth(&out, 0)->count, 500);
	assert_int_equal(nth(&out, 1)->count, 500);
	notify_msg_list_free(&out);
	notify_grouper_free(g);
}

static void test_window_closes_at_first_plus_window(void **state)
{
	struct notify_contact c = {"ann", "ann@example.com", NULL};
	struct notify_grouper *g = grouper(WINDOW, 0, PERIOD, 50, 10000);
	struct notify_msg_list out = {0};
	struct notify_alert a = alert_job(NOTIFY_RUN_FAILED, "backup", 1, &c, 1);

	(void)state;
	assert_int_equal(notify_grouper_next(g), INT64_MAX);
	assert_int_equal(notify_grouper_add(g, &a, T0), 0);
	a.run_id = 2;
	assert_int_equal(notify_grouper_add(g, &a, T0 + WINDOW - 1), 0); /* joins */
	assert_int_equal(notify_grouper_next(g), T0 + WINDOW);
	assert_int_equal(poll_at(g, T0 + WINDOW - 1, &out), 0);
	assert_int_equal(poll_at(g, T0 + WINDOW, &out), 1);
	assert_int_equal(nth(&out, 0)->count, 2);
	/* after the group closed, the same key opens a new group */
	a.run_id = 3;
	assert_int_equal(notify_grouper_add(g, &a, T0 + WINDOW + 1), 0);
	assert_int_equal(poll_at(g, T0 + 2 * WINDOW, &out), 0);
	assert_int_equal(poll_at(g, T0 + 2 * WINDOW + 1, &out), 1);
	assert_int_equal(nth(&out, 1)->count, 1);
	assert_int_equal(nth(&out, 1)->run_id, 3);
	notify_msg_list_free(&out);
	notify_grouper_free(g);
}

static void test_separate_kinds_jobs_nodes_not_merged(void **state)
{
	struct notify_contact c = {"ann", "ann@example.com", NULL};
	struct notify_grouper *g = grouper(WINDOW, 0, PERIOD, 50, 10000);
	struct notify_msg_list out = {0};
	struct notify_alert as[] = {
	    alert_job(NOTIFY_RUN_FAILED, "a", 1, &c, 1),
	    alert_job(NOTIFY_RUN_TIMED_OUT, "a", 2, &c, 1),
	    alert_job(NOTIFY_RUN_FAILED, "b", 3, &c, 1),
	    alert_job(NOTIFY_RUN_MISFIRED, "a", 4, &c, 1),
	    alert_job(NOTIFY_RUN_SKIPPED, "a", 5, &c, 1),
	    alert_job(NOTIFY_NO_EXECUTOR, "a", 6, &c, 1),
	    alert_job(NOTIFY_EXECUTOR_LOST, "a", 7, &c, 1),
	    alert_job(NOTIFY_EXECUTOR_LOST, "a", 8, &c, 1),
	    alert_job(NOTIFY_SCHEDULER_LOST, "a", 9, &c, 1),
	};

	(void)state;
	as[7].node = "exec-2"; /* executor_lost of another node */
	for (size_t i = 0; i < sizeof(as) / sizeof(as[0]); i++)
		assert_int_equal(notify_grouper_add(g, &as[i], T0), 0);
	assert_int_equal(poll_at(g, T0 + WINDOW, &out), 9);
	for (size_t i = 0; i < 9; i++) {
		assert_int_equal(nth(&out, i)->count, 1);
		assert_int_equal(nth(&out, i)->run_id, (int64_t)i + 1);
	}
	notify_msg_list_free(&out);
	notify_grouper_free(g);
}

static void test_job_kind_merges_runs_and_tracks_shared_fields(void **state)
{
	struct notify_contact c = {"ann", "ann@example.com", NULL};
	struct notify_grouper *g = grouper(WINDOW, 0, PERIOD, 50, 10000);
	struct notify_msg_list out = {0};
	struct notify_alert a = alert_job(NOTIFY_RUN_FAILED, "backup", 41, &c, 1);
	struct buf t;

	(void)state;
	assert_int_equal(notify_grouper_add(g, &a, T0), 0);
	assert_int_equal(poll_at(g, T0 + WINDOW, &out), 1);
	buf_init(&t, 1024);
	assert_int_equal(notify_msg_title(nth(&out, 0), &t), 0);
	assert_string_equal(t.data, "job backup failed (run 41)");
	assert_int_equal(nth(&out, 0)->run_id, 41);
	assert_string_equal(nth(&out, 0)->job, "backup");
	assert_string_equal(nth(&out, 0)->node, "exec-1");

	for (int i = 0; i < 3; i++) {
		a.run_id = 50 + i;
		a.node = i == 2 ? "exec-2" : "exec-1";
		assert_int_equal(notify_grouper_add(g, &a, T0 + WINDOW + 1), 0);
	}
	assert_int_equal(poll_at(g, T0 + 2 * WINDOW + 1, &out), 1);
	buf_reset(&t);
	assert_int_equal(notify_msg_title(nth(&out, 1), &t), 0);
	assert_string_equal(t.data, "job backup failed 3 times");
	assert_string_equal(nth(&out, 1)->job, "backup"); /* the key: always shared */
	assert_null(nth(&out, 1)->node);                  /* exec-1, exec-1, exec-2 */
	assert_int_equal(nth(&out, 1)->run_id, 0);        /* three runs */
	assert_int_equal(nth(&out, 1)->nitems, 3);
	assert_int_equal(nth(&out, 1)->items[2].run_id, 52);
	assert_string_equal(nth(&out, 1)->items[2].node, "exec-2");
	buf_free(&t);
	notify_msg_list_free(&out);
	notify_grouper_free(g);
}

static void test_items_capped_all_counted(void **state)
{
	struct notify_contact c = {"ann", NULL, "http://h.example/x"};
	struct notify_grouper *g = grouper(WINDOW, 0, PERIOD, 5, 10000);
	struct notify_msg_list out = {0};

	(void)state;
	for (int i = 0; i < 60; i++) {
		struct notify_alert a = alert_job(NOTIFY_RUN_TIMED_OUT, "etl", i + 1, &c, 1);

		assert_int_equal(notify_grouper_add(g, &a, T0 + i), 0);
	}
	assert_int_equal(poll_at(g, T0 + WINDOW, &out), 1);
	assert_int_equal(nth(&out, 0)->count, 60);
	assert_int_equal(nth(&out, 0)->nitems, 5);
	assert_int_equal(nth(&out, 0)->items[4].run_id, 5);
	notify_msg_list_free(&out);
	notify_grouper_free(g);
}

static void test_same_address_once_per_alert(void **state)
{
	struct notify_contact cs[] = {
	    {"a", "x@example.com", NULL},
	    {"b", "x@example.com", "http://h.example/w"},
	    {"c", NULL, "http://h.example/w"},
	    {"d", "", ""}, /* nothing */
	};
	struct notify_grouper *g = grouper(WINDOW, 0, PERIOD, 50, 10000);
	struct notify_msg_list out = {0};
	struct notify_alert a = alert_job(NOTIFY_RUN_FAILED, "backup", 1, cs, 4);

	(void)state;
	assert_int_equal(notify_grouper_add(g, &a, T0), 0);
	assert_int_equal(notify_grouper_open(g), 2);
	assert_int_equal(poll_at(g, T0 + WINDOW, &out), 2);
	assert_int_equal(nth(&out, 0)->channel, NOTIFY_EMAIL);
	assert_string_equal(nth(&out, 0)->contact, "a");
	assert_int_equal(nth(&out, 0)->count, 1);
	assert_int_equal(nth(&out, 1)->channel, NOTIFY_WEBHOOK);
	assert_string_equal(nth(&out, 1)->contact, "b");
	assert_int_equal(nth(&out, 1)->count, 1);
	notify_msg_list_free(&out);
	notify_grouper_free(g);
}

static void test_window_zero_no_grouping(void **state)
{
	struct notify_contact c = {"ann", "ann@example.com", NULL};
	struct notify_grouper *g = grouper(0, 0, PERIOD, 50, 10000);
	struct notify_msg_list out = {0};
	struct notify_alert a = alert_job(NOTIFY_RUN_FAILED, "backup", 1, &c, 1);

	(void)state;
	for (int i = 0; i < 3; i++)
		assert_int_equal(notify_grouper_add(g, &a, T0), 0);
	assert_int_equal(notify_grouper_next(g), T0);
	assert_int_equal(poll_at(g, T0, &out), 3);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(nth(&out, i)->count, 1);
	notify_msg_list_free(&out);
	notify_grouper_free(g);
}

static void test_rate_limit_holds_then_one_summary(void **state)
{
	struct notify_contact c = {"ann", "ann@example.com", NULL};
	struct notify_grouper *g = grouper(1000, 3, PERIOD, 50, 10000);
	struct notify_msg_list out = {0};
	struct notify_msg *s;
	char job[16], *line;

	(void)state;
	for (int i = 0; i < 10; i++) {
		struct notify_alert a =
		    alert_job(i < 8 ? NOTIFY_RUN_FAILED : NOTIFY_RUN_TIMED_OUT, job, i + 1, &c, 1);

		snprintf(job, sizeof(job), "j%d", i);
		assert_int_equal(notify_grouper_add(g, &a, T0 + i * 2000), 0);
		assert_int_equal(poll_at(g, T0 + i * 2000 + 1000, &out), 1);
		assert_int_equal(nth(&out, (size_t)i)->disposition,
		                 i < 3 ? NOTIFY_MSG_SEND : NOTIFY_MSG_HELD);
	}
	/* the summary waits for the first send (T0 + 1000) to be a period old */
	assert_int_equal(notify_grouper_destinations(g), 1);
	assert_int_equal(notify_grouper_next(g), T0 + 1000 + PERIOD);
	assert_int_equal(poll_at(g, T0 + 1000 + PERIOD - 1, &out), 0);
	assert_int_equal(poll_at(g, T0 + 1000 + PERIOD, &out), 1);
	s = nth(&out, 10);
	assert_int_equal(s->kind, NOTIFY_SUMMARY);
	assert_int_equal(s->disposition, NOTIFY_MSG_SEND);
	assert_int_equal(s->count, 7);
	assert_int_equal(s->held_msgs, 7);
	assert_int_equal(s->kind_count[NOTIFY_RUN_FAILED], 5);
	assert_int_equal(s->kind_count[NOTIFY_RUN_TIMED_OUT], 2);
	assert_int_equal(s->severity, NOTIFY_SEV_ERROR);
	assert_int_equal(s->nitems, 7);
	assert_string_equal(s->items[0].message, "job j3 failed (run 4)");
	assert_string_equal(s->items[6].message, "job j9 timed out (run 10)");
	line = headline(s);
	assert_string_equal(line, "7 alerts held back by the rate limit: 5 run_failed, "
	                          "2 run_timed_out");
	free(line);

	/* sends now at T0+3000, T0+5000 and the summary: the next may go once
	 * T0+3000 is a period old */
	{
		struct notify_alert a = alert_job(NOTIFY_RUN_FAILED, "late", 99, &c, 1);

		assert_int_equal(notify_grouper_add(g, &a, T0 + 2000 + PERIOD), 0);
		assert_int_equal(poll_at(g, T0 + 2000 + PERIOD + 1000, &out), 1);
		assert_int_equal(nth(&out, 11)->disposition, NOTIFY_MSG_SEND);
	}
	notify_msg_list_free(&out);
	notify_grouper_free(g);
}

/* xorshift64*: a fixed seed gives the same run everywhere. */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

struct tally {
	int64_t *at[4]; /* when each SEND to destination d left */
	size_t n[4];
	size_t got[4]; /* alerts that reached d, directly or in a summary */
	size_t summaries;
};

/* Takes the messages polled at `now`; the contact's name is "d<i>". */
static void drain(struct notify_msg_list *out, int64_t now, struct tally *t)
{
	struct notify_msg *m;

	while ((m = notify_msg_list_pop(out)) != NULL) {
		int d = m->contact[1] - '0';

		if (m->disposition == NOTIFY_MSG_SEND) {
			t->at[d][t->n[d]++] = now;
			t->got[d] += m->count;
			t->summaries += m->kind == NOTIFY_SUMMARY;
		}
		notify_msg_free(m);
	}
}

/* A seeded random stream of alerts of every kind to four destinations: no
 * period-long interval holds more than LIMIT messages to one destination,
 * and every alert reaches its destination exactly once. */
static void test_rate_limit_random_invariants(void **state)
{
	enum { DESTS = 4, LIMIT = 4, ALERTS = 4000 };
	const int64_t period = 30000;
	struct notify_grouper *g = grouper(1500, LIMIT, period, 10, 10000);
	struct notify_contact cs[DESTS] = {{"d0", "d0@example.com", NULL},
	                                   {"d1", "d1@example.com", NULL},
	                                   {"d2", NULL, "http://h.example/2"},
	                                   {"d3", NULL, "http://h.example/3"}};
	struct notify_msg_list out = {0};
	struct tally t = {0};
	size_t added[DESTS] = {0};
	uint64_t seed = 0x5eed;
	int64_t now = T0;
	char job[16];

	(void)state;
	for (int d = 0; d < DESTS; d++) {
		t.at[d] = calloc(ALERTS, sizeof(int64_t));
		assert_non_null(t.at[d]);
	}
	for (int i = 0; i < ALERTS; i++) {
		int d = (int)(rnd(&seed) % DESTS), k = (int)(rnd(&seed) % NOTIFY_SUMMARY);
		struct notify_alert a = alert_job((enum notify_kind)k, job, i + 1, &cs[d], 1);

		snprintf(job, sizeof(job), "j%d", (int)(rnd(&seed) % 20));
		a.node = (rnd(&seed) & 1) ? "n1" : "n2";
		now += (int64_t)(rnd(&seed) % 800);
		assert_int_equal(notify_grouper_add(g, &a, now), 0);
		added[d]++;
		notify_grouper_poll(g, now, &out);
		drain(&out, now, &t);
	}
	/* run the clock out, no flush: everything leaves by the rules */
	while (notify_grouper_next(g) != INT64_MAX) {
		now = notify_grouper_next(g);
		notify_grouper_poll(g, now, &out);
		drain(&out, now, &t);
	}
	assert_int_equal(notify_grouper_destinations(g), 0);
	assert_true(t.summaries > 0); /* the limit was actually hit */
	for (int d = 0; d < DESTS; d++) {
		assert_int_equal(t.got[d], added[d]);
		for (size_t i = 0; i + LIMIT < t.n[d]; i++)
			if (t.at[d][i + LIMIT] - t.at[d][i] < period)
				fail_msg("destination %d: %d messages within %lld ms", d, LIMIT + 1,
				         (long long)(t.at[d][i + LIMIT] - t.at[d][i]));
		free(t.at[d]);
	}
	notify_grouper_free(g);
}

static void test_groups_max_overflow_goes_to_summary(void **state)
{
	struct notify_contact c = {"ann", "ann@example.com", NULL};
	struct notify_grouper *g = grouper(1000, 10, PERIOD, 50, 2);
	struct notify_msg_list out = {0};
	char job[16];

	(void)state;
	for (int i = 0; i < 5; i++) {
		struct notify_alert a = alert_job(NOTIFY_RUN_FAILED, job, i + 1, &c, 1);

		snprintf(job, sizeof(job), "j%d", i);
		assert_int_equal(notify_grouper_add(g, &a, T0), 0);
	}
	assert_int_equal(notify_grouper_open(g), 2);
	assert_int_equal(poll_at(g, T0 + 999, &out), 0);
	/* While a summary is pending, the destination's messages join it. */
	assert_int_equal(poll_at(g, T0 + 1000, &out), 3);
	assert_int_equal(nth(&out, 0)->disposition, NOTIFY_MSG_HELD);
	assert_int_equal(nth(&out, 1)->disposition, NOTIFY_MSG_HELD);
	assert_int_equal(nth(&out, 2)->kind, NOTIFY_SUMMARY);
	assert_int_equal(nth(&out, 2)->disposition, NOTIFY_MSG_SEND);
	assert_int_equal(nth(&out, 2)->count, 5);
	assert_int_equal(nth(&out, 2)->held_msgs, 5);
	notify_msg_list_free(&out);
	notify_grouper_free(g);
}

static void test_flush_empties_everything(void **state)
{
	struct notify_contact c = {"ann", "ann@example.com", NULL};
	struct notify_grouper *g = grouper(WINDOW, 1, PERIOD, 50, 10000);
	struct notify_msg_list out = {0};
	struct notify_alert a = alert_job(NOTIFY_RUN_FAILED, "a", 1, &c, 1);

	(void)state;
	assert_int_equal(notify_grouper_add(g, &a, T0), 0);
	assert_int_equal(poll_at(g, T0 + WINDOW, &out), 1); /* sent: limit reached */
	a.job = "b";
	assert_int_equal(notify_grouper_add(g, &a, T0 + WINDOW), 0);
	assert_int_equal(poll_at(g, T0 + 2 * WINDOW, &out), 1); /* held */
	a.job = "c";
	assert_int_equal(notify_grouper_add(g, &a, T0 + 2 * WINDOW), 0); /* open */
	notify_grouper_flush(g, T0 + 2 * WINDOW + 5, &out);
	assert_int_equal(out.n, 4);
	assert_int_equal(nth(&out, 1)->disposition, NOTIFY_MSG_HELD);
	assert_int_equal(nth(&out, 2)->disposition, NOTIFY_MSG_HELD); /* c, over the limit */
	assert_int_equal(nth(&out, 3)->kind, NOTIFY_SUMMARY);         /* b and c */
	assert_int_equal(nth(&out, 3)->disposition, NOTIFY_MSG_SEND);
	assert_int_equal(nth(&out, 3)->count, 2);
	assert_int_equal(notify_grouper_open(g), 0);
	assert_int_equal(notify_grouper_destinations(g), 0);
	assert_int_equal(notify_grouper_next(g), INT64_MAX);
	notify_msg_list_free(&out);
	notify_grouper_free(g);
}

static void test_destination_state_expires(void **state)
{
	struct notify_contact c = {"ann", "ann@example.com", NULL};
	struct notify_grouper *g = grouper(1000, 2, PERIOD, 50, 10000);
	struct notify_msg_list out = {0};
	struct notify_alert a = alert_job(NOTIFY_RUN_FAILED, "a", 1, &c, 1);

	(void)state;
	assert_int_equal(notify_grouper_add(g, &a, T0), 0);
	assert_int_equal(poll_at(g, T0 + 1000, &out), 1);
	assert_int_equal(notify_grouper_destinations(g), 1);
	assert_int_equal(notify_grouper_next(g), T0 + 1000 + PERIOD);
	assert_int_equal(poll_at(g, T0 + 1000 + PERIOD, &out), 0);
	assert_int_equal(notify_grouper_destinations(g), 0);
	assert_int_equal(notify_grouper_next(g), INT64_MAX);
	notify_msg_list_free(&out);
	notify_grouper_free(g);
}

static void test_free_with_pending_state(void **state)
{
	struct notify_contact c = {"ann", "ann@example.com", "http://h.example/x"};
	struct notify_grouper *g = grouper(1000, 1, PERIOD, 50, 10000);
	struct notify_msg_list out = {0};
	struct notify_alert a = alert_job(NOTIFY_RUN_FAILED, "a", 1, &c, 1);

	(void)state;
	assert_int_equal(notify_grouper_add(g, &a, T0), 0);
	assert_int_equal(poll_at(g, T0 + 1000, &out), 2);
	a.job = "b";
	assert_int_equal(notify_grouper_add(g, &a, T0 + 1000), 0);
	assert_int_equal(poll_at(g, T0 + 2000, &out), 2); /* held: summaries pending */
	a.job = "c";
	assert_int_equal(notify_grouper_add(g, &a, T0 + 2000), 0); /* groups open */
	notify_msg_list_free(&out);
	notify_grouper_free(g); /* ASan: nothing leaks */
	notify_grouper_free(NULL);
}

static void test_invalid_alerts(void **state)
{
	struct notify_contact c = {"ann", "ann@example.com", NULL};
	struct notify_grouper *g = grouper(1000, 1, PERIOD, 50, 10000);
	struct notify_alert a = alert_job(NOTIFY_RUN_FAILED, NULL, 1, &c, 1);

	(void)state;
	assert_int_equal(notify_grouper_add(g, &a, T0), CLOVER_EINVAL); /* job kind, no job */
	a.job = "";
	assert_int_equal(notify_grouper_add(g, &a, T0), CLOVER_EINVAL);
	a = alert_job(NOTIFY_EXECUTOR_LOST, "j", 1, &c, 1);
	a.node = NULL;
	assert_int_equal(notify_grouper_add(g, &a, T0), CLOVER_EINVAL); /* node kind, no node */
	a = alert_job(NOTIFY_SUMMARY, "j", 1, &c, 1);
	assert_int_equal(notify_grouper_add(g, &a, T0), CLOVER_EINVAL); /* output only */
	a = alert_job((enum notify_kind) - 1, "j", 1, &c, 1);
	assert_int_equal(notify_grouper_add(g, &a, T0), CLOVER_EINVAL);
	a = alert_job(NOTIFY_RUN_FAILED, "j", 1, NULL, 1);
	assert_int_equal(notify_grouper_add(g, &a, T0), CLOVER_EINVAL); /* contacts NULL */
	assert_int_equal(notify_grouper_open(g), 0);
	notify_grouper_free(g);
}

static void test_backoff(void **state)
{
	(void)state;
	assert_int_equal(notify_backoff_ms(1, 1000, 60000), 1000);
	assert_int_equal(notify_backoff_ms(2, 1000, 60000), 2000);
	assert_int_equal(notify_backoff_ms(3, 1000, 60000), 4000);
	assert_int_equal(notify_backoff_ms(6, 1000, 60000), 32000);
	assert_int_equal(notify_backoff_ms(7, 1000, 60000), 60000);
	assert_int_equal(notify_backoff_ms(1000, 1000, 60000), 60000);
	assert_int_equal(notify_backoff_ms(1, 5000, 2000), 2000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_executor_lost_500_one_message_per_recipient),
	    cmocka_unit_test(test_only_oncall_gets_two_messages),
	    cmocka_unit_test(test_window_closes_at_first_plus_window),
	    cmocka_unit_test(test_separate_kinds_jobs_nodes_not_merged),
	    cmocka_unit_test(test_job_kind_merges_runs_and_tracks_shared_fields),
	    cmocka_unit_test(test_items_capped_all_counted),
	    cmocka_unit_test(test_same_address_once_per_alert),
	    cmocka_unit_test(test_window_zero_no_grouping),
	    cmocka_unit_test(test_rate_limit_holds_then_one_summary),
	    cmocka_unit_test(test_rate_limit_random_invariants),
	    cmocka_unit_test(test_groups_max_overflow_goes_to_summary),
	    cmocka_unit_test(test_flush_empties_everything),
	    cmocka_unit_test(test_destination_state_expires),
	    cmocka_unit_test(test_free_with_pending_state),
	    cmocka_unit_test(test_invalid_alerts),
	    cmocka_unit_test(test_backoff),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
