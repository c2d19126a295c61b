/* SPDX-License-Identifier: MIT */
/*
 * The notifier's API and thread (src/notify/notify.c) where no network is
 * needed: every failure here happens before a connection. Proves: defaults;
 * each bad option is refused naming its configuration key; notify_alert()
 * checks kind and scope and ignores alerts with no usable contact; e-mail
 * without smtp_url, an invalid address or webhook URL, and a job name that
 * would inject a header are each reported failed; a full queue answers
 * EAGAIN at once; messages over the rate limit are reported held and their
 * summary goes out; notify_free() closes open groups and tries them, or
 * reports them dropped when it has no time.
 */
#include "notify-test.h"

static const struct notify_contact ann_mail = {"ann", "ann@example.com", NULL};

static struct notify *start(struct notify_options *o, struct rec *rc)
{
	struct notify *n = NULL;
	struct error_info e;

	o->on_report = rec_report;
	o->ctx = rc;
	if (notify_new(o, &n, &e) != 0)
		fail_msg("notify_new: %s: %s", e.field, e.message);
	return n;
}

static void test_defaults(void **state)
{
	struct notify_options o;

	(void)state;
	notify_options_init(&o);
	assert_null(o.smtp_url);
	assert_int_equal(o.smtp_starttls, NOTIFY_STARTTLS_TRY);
	assert_int_equal(o.smtp_timeout_ms, 30000);
	assert_int_equal(o.smtp_retries, 2);
	assert_int_equal(o.webhook_timeout_ms, 10000);
	assert_int_equal(o.webhook_retries, 3);
	assert_int_equal(o.retry_backoff_ms, 1000);
	assert_int_equal(o.retry_backoff_max_ms, 60000);
	assert_int_equal(o.group_window_ms, 30000);
	assert_int_equal(o.rate_limit, 10);
	assert_int_equal(o.rate_period_ms, 600000);
	assert_int_equal(o.items_max, 50);
	assert_int_equal(o.flush_timeout_ms, 10000);
	notify_free(NULL);
}

static void bad_option(struct notify_options o, const char *field)
{
	struct notify *n = (struct notify *)&o; /* must be reset to NULL */
	struct error_info e;

	assert_int_equal(notify_new(&o, &n, &e), CLOVER_EINVAL);
	assert_null(n);
	assert_string_equal(e.field, field);
	assert_true(strlen(e.message) > 10);
}

static void test_bad_options_name_their_key(void **state)
{
	struct notify_options o, b;

	(void)state;
	notify_options_init(&o);
	b = o;
	b.smtp_url = "http://mail.example.com";
	bad_option(b, "smtp_url");
	b = o;
	b.smtp_url = "smtp://mail.example.com\r\nRCPT TO:<x@y>";
	bad_option(b, "smtp_url");
	b = o;
	b.smtp_url = "smtp://mail.example.com";
	bad_option(b, "smtp_from"); /* required with smtp_url */
	b.smtp_from = "Clover";
	bad_option(b, "smtp_from");
	b.smtp_from = "clover@example.com\nBcc: x@y";
	bad_option(b, "smtp_from");
	b = o;
	b.smtp_starttls = (enum notify_starttls)7;
	bad_option(b, "smtp_starttls");
	b = o;
	b.smtp_timeout_ms = 0;
	bad_option(b, "smtp_timeout");
	b = o;
	b.webhook_retries = 1000;
	bad_option(b, "webhook_retries");
	b = o;
	b.retry_backoff_max_ms = 10;
	bad_option(b, "alert_retry_backoff_max");
	b = o;
	b.group_window_ms = -1;
	bad_option(b, "alert_group_window");
	b = o;
	b.rate_limit = -1;
	bad_option(b, "alert_rate_limit");
	b = o;
	b.rate_period_ms = 0;
	bad_option(b, "alert_rate_period");
	b = o;
	b.items_max = 0;
	bad_option(b, "alert_items_max");
	b = o;
	b.queue_max = 0;
	bad_option(b, "alert_queue_max");
}

static void test_alert_checks(void **state)
{
	struct notify_options o;
	struct rec rc;
	struct notify *n;
	struct notify_alert a = alert_job(NOTIFY_RUN_FAILED, NULL, 1, &ann_mail, 1);
	struct notify_contact none = {"nobody", NULL, ""};

	(void)state;
	rec_init(&rc);
	notify_options_init(&o);
	o.group_window_ms = 0;
	n = start(&o, &rc);
	assert_int_equal(notify_alert(n, &a), CLOVER_EINVAL);
	a = alert_job(NOTIFY_SCHEDULER_LOST, "j", 1, &ann_mail, 1);
	a.node = NULL;
	assert_int_equal(notify_alert(n, &a), CLOVER_EINVAL);
	a = alert_job(NOTIFY_SUMMARY, "j", 1, &ann_mail, 1);
	assert_int_equal(notify_alert(n, &a), CLOVER_EINVAL);
	a = alert_job(NOTIFY_RUN_FAILED, "j", 1, &none, 1);
	assert_int_equal(notify_alert(n, &a), 0); /* nobody to tell */
	a.ncontacts = 0;
	assert_int_equal(notify_alert(n, &a), 0);
	notify_free(n);
	assert_int_equal(rc.n, 0);
	rec_clear(&rc);
}

static void test_failures_before_any_connection(void **state)
{
	struct notify_contact cs[] = {
	    {"ann", "ann@example.com", "ftp://hooks.example.com/x"},
	    {"bob", "bob at example.com", NULL},
	};
	struct notify_options o;
	struct rec rc;
	struct notify *n;
	struct notify_alert a = alert_job(NOTIFY_RUN_FAILED, "backup", 42, cs, 2);
	const struct rep *p;

	(void)state;
	rec_init(&rc);
	notify_options_init(&o);
	o.group_window_ms = 0;
	n = start(&o, &rc); /* no smtp_url */
	assert_int_equal(notify_alert(n, &a), 0);
	rec_wait_finals(&rc, 3, 5000);
	notify_free(n);
	assert_int_equal(rc.n, 3);
	p = rec_get(&rc, -1, 0);
	assert_int_equal(p->outcome, NOTIFY_FAILED);
	assert_int_equal(p->channel, NOTIFY_EMAIL);
	assert_int_equal(p->error, CLOVER_ENOTSUP);
	assert_int_equal(p->attempt, 0);
	assert_non_null(strstr(p->detail, "smtp_url"));
	assert_string_equal(p->contact, "ann");
	assert_string_equal(p->address, "ann@example.com");
	assert_string_equal(p->title, "job backup failed (run 42)");
	assert_string_equal(p->job, "backup");
	assert_int_equal(p->run_id, 42);
	assert_int_equal(p->count, 1);
	assert_int_equal(p->kind, NOTIFY_RUN_FAILED);
	assert_int_equal(p->severity, NOTIFY_SEV_ERROR);
	p = rec_get(&rc, -1, 1);
	assert_int_equal(p->channel, NOTIFY_WEBHOOK);
	assert_int_equal(p->error, CLOVER_EINVAL);
	assert_string_equal(p->address, "(invalid URL)");
	p = rec_get(&rc, -1, 2);
	assert_string_equal(p->contact, "bob");
	assert_int_equal(p->error, CLOVER_ENOTSUP);
	rec_clear(&rc);
}

static void test_bad_address_and_injection_reported(void **state)
{
	struct notify_contact cs[] = {
	    {"bob", "bob at example.com", NULL},
	    {"eve", "eve@example.com", NULL},
	};
	struct notify_options o;
	struct rec rc;
	struct notify *n;
	struct notify_alert a = alert_job(NOTIFY_RUN_FAILED, "backup", 1, &cs[0], 1);
	const struct rep *p;

	(void)state;
	rec_init(&rc);
	notify_options_init(&o);
	o.group_window_ms = 0;
	o.smtp_url = "smtp://127.0.0.1:1"; /* never reached: rendering fails first */
	o.smtp_from = "clover@example.com";
	n = start(&o, &rc);
	assert_int_equal(notify_alert(n, &a), 0);
	a = alert_job(NOTIFY_RUN_FAILED, "evil\r\nBcc: all@example.com", 2, &cs[1], 1);
	assert_int_equal(notify_alert(n, &a), 0);
	rec_wait_finals(&rc, 2, 5000);
	notify_free(n);
	p = rec_get(&rc, -1, 0);
	assert_int_equal(p->outcome, NOTIFY_FAILED);
	assert_int_equal(p->error, CLOVER_EINVAL);
	assert_int_equal(p->attempt, 0);
	assert_non_null(strstr(p->detail, "not a valid e-mail address"));
	p = rec_get(&rc, -1, 1);
	assert_int_equal(p->outcome, NOTIFY_FAILED);
	assert_int_equal(p->error, CLOVER_EINVAL);
	assert_int_equal(p->attempt, 0);
	assert_non_null(strstr(p->detail, "header injection refused: Subject"));
	assert_int_equal(rc.n, 2);
	rec_clear(&rc);
}

/* A report callback that holds the notifier thread in its first call until
 * the test opens the gate. */
struct gate {
	struct rec rc;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool entered, open;
};

static void gated_report(void *ctx, const struct notify_report *r)
{
	struct gate *g = ctx;

	rec_report(&g->rc, r);
	pthread_mutex_lock(&g->mu);
	g->entered = true;
	pthread_cond_broadcast(&g->cv);
	while (!g->open)
		pthread_cond_wait(&g->cv, &g->mu);
	pthread_mutex_unlock(&g->mu);
}

static void test_queue_full_is_eagain(void **state)
{
	struct notify_contact bad = {"w", NULL, "ftp://x"};
	struct notify_options o;
	struct gate g = {.entered = false, .open = false};
	struct notify *n;
	struct error_info e;
	struct notify_alert a = alert_job(NOTIFY_RUN_FAILED, "j", 1, &bad, 1);
	int64_t t0;

	(void)state;
	rec_init(&g.rc);
	pthread_mutex_init(&g.mu, NULL);
	pthread_cond_init(&g.cv, NULL);
	notify_options_init(&o);
	o.group_window_ms = 0;
	o.queue_max = 1;
	o.on_report = gated_report;
	o.ctx = &g;
	assert_int_equal(notify_new(&o, &n, &e), 0);
	assert_int_equal(notify_alert(n, &a), 0);
	pthread_mutex_lock(&g.mu);
	while (!g.entered)
		pthread_cond_wait(&g.cv, &g.mu);
	pthread_mutex_unlock(&g.mu);
	/* the thread is stuck in on_report: one alert fits, the next does not */
	assert_int_equal(notify_alert(n, &a), 0);
	t0 = time_mono_ms();
	assert_int_equal(notify_alert(n, &a), CLOVER_EAGAIN);
	assert_true(time_mono_ms() - t0 < 1000); /* at once */
	pthread_mutex_lock(&g.mu);
	g.open = true;
	pthread_cond_broadcast(&g.cv);
	pthread_mutex_unlock(&g.mu);
	rec_wait_finals(&g.rc, 2, 5000);
	notify_free(n);
	assert_int_equal(g.rc.n, 2);
	rec_clear(&g.rc);
	pthread_mutex_destroy(&g.mu);
	pthread_cond_destroy(&g.cv);
}

static void test_rate_limit_held_then_summary(void **state)
{
	struct notify_contact c = {"w", NULL, "ftp://x"}; /* fails at once: no network */
	struct notify_options o;
	struct rec rc;
	struct notify *n;
	char job[16];
	const struct rep *p;

	(void)state;
	rec_init(&rc);
	notify_options_init(&o);
	o.group_window_ms = 0;
	o.rate_limit = 1;
	n = start(&o, &rc);
	for (int i = 0; i < 3; i++) {
		struct notify_alert a = alert_job(NOTIFY_RUN_TIMED_OUT, job, i + 1, &c, 1);

		snprintf(job, sizeof(job), "j%d", i);
		assert_int_equal(notify_alert(n, &a), 0);
		sleep_ms(20);
	}
	rec_wait_finals(&rc, 1, 5000);
	notify_free(n); /* the summary is due in 10 minutes: free sends it */
	assert_int_equal(rec_count(&rc, NOTIFY_HELD), 2);
	assert_int_equal(rec_count(&rc, NOTIFY_FAILED), 2);
	p = rec_get(&rc, NOTIFY_HELD, 0);
	assert_string_equal(p->title, "job j1 timed out (run 2)");
	p = rec_get(&rc, NOTIFY_FAILED, 1);
	assert_int_equal(p->kind, NOTIFY_SUMMARY);
	assert_int_equal(p->count, 2);
	assert_string_equal(p->title, "2 alerts held back by the rate limit");
	rec_clear(&rc);
}

static void test_free_flushes_open_groups(void **state)
{
	struct notify_options o;
	struct rec rc;
	struct notify *n;
	struct notify_alert a = alert_job(NOTIFY_RUN_FAILED, "backup", 7, &ann_mail, 1);

	(void)state;
	rec_init(&rc);
	notify_options_init(&o); /* 30 s window, no smtp_url */
	n = start(&o, &rc);
	assert_int_equal(notify_alert(n, &a), 0);
	assert_int_equal(notify_alert(n, &a), 0);
	sleep_ms(50);
	assert_int_equal(rc.n, 0); /* still grouping */
	notify_free(n);
	assert_int_equal(rc.n, 1);
	assert_int_equal(rc.r[0].outcome, NOTIFY_FAILED); /* attempted, not silently lost */
	assert_int_equal(rc.r[0].count, 2);
	rec_clear(&rc);
}

static void test_free_without_time_drops(void **state)
{
	struct notify_contact c = {"w", NULL, "http://127.0.0.1:1/hook"};
	struct notify_options o;
	struct rec rc;
	struct notify *n;
	struct notify_alert a = alert_job(NOTIFY_EXECUTOR_LOST, "backup", 7, &c, 1);

	(void)state;
	rec_init(&rc);
	notify_options_init(&o);
	o.flush_timeout_ms = 0;
	n = start(&o, &rc);
	assert_int_equal(notify_alert(n, &a), 0);
	sleep_ms(20);
	notify_free(n);
	assert_int_equal(rc.n, 1);
	assert_int_equal(rc.r[0].outcome, NOTIFY_DROPPED);
	assert_int_equal(rc.r[0].error, CLOVER_ECANCELED);
	assert_int_equal(rc.r[0].attempt, 0);
	assert_string_equal(rc.r[0].address, "http://127.0.0.1:1/...");
	assert_string_equal(rc.r[0].title, "executor exec-1 lost: 1 job affected");
	rec_clear(&rc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_bad_options_name_their_key),
	    cmocka_unit_test(test_alert_checks),
	    cmocka_unit_test(test_failures_before_any_connection),
	    cmocka_unit_test(test_bad_address_and_injection_reported),
	    cmocka_unit_test(test_queue_full_is_eagain),
	    cmocka_unit_test(test_rate_limit_held_then_summary),
	    cmocka_unit_test(test_free_flushes_open_groups),
	    cmocka_unit_test(test_free_without_time_drops),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
