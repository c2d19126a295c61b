/* SPDX-License-Identifier: MIT */
/*
 * Webhook alerts against a real HTTP receiver on loopback: libmicrohttpd,
 * started by the test on a kernel-chosen port, one thread per connection. It
 * records each request (body, headers, time) and can answer the first N
 * requests 503, answer everything with a given status, or hold the first
 * request past the client's timeout.
 *
 * Proves: the POST carries the documented JSON and headers; 503s are retried
 * with exponential backoff and the same delivery id until delivered; retries
 * run out into a failure; 400 and redirects fail at once; 429 and timeouts
 * are retried; a closed port is retried then fails; 500 executor-lost alerts
 * make one POST; the rate limit holds messages and sends one summary later;
 * notify_free() gives a message waiting for its retry one more attempt;
 * reports never show the URL's credentials, path or query.
 */
#include "notify-test.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_REQS 64

struct hreq {
	char *body, *kind, *delivery, *ctype, *auth, *agent;
	int64_t mono;
};

struct hook {
	struct MHD_Daemon *d;
	int port;
	char url[128];
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int fail_first;     /* answer 503 to the first N requests */
	int status;         /* when not 0, answer every request with it */
	const char *answer; /* body of non-2xx answers */
	int hold_first_ms;  /* keep the first request waiting this long */
	bool stopping;
	struct hreq r[MAX_REQS];
	int n;
};

static char *hdr(struct MHD_Connection *c, const char *name)
{
	const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);

	return v ? strdup(v) : NULL;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
	struct hook *h = cls;
	struct buf *b = *con_cls;
	struct MHD_Response *resp;
	const char *text = "ok";
	enum MHD_Result ret;
	int status = 200, idx, hold = 0;

	(void)url;
	(void)version;
	if (b == NULL) {
		b = malloc(sizeof(*b));
		if (b == NULL)
			return MHD_NO;
		buf_init(b, 1 << 20);
		*con_cls = b;
		return MHD_YES;
	}
	if (*upload_size) {
		if (buf_append(b, upload, *upload_size) != 0)
			return MHD_NO;
		*upload_size = 0;
		return MHD_YES;
	}
	pthread_mutex_lock(&h->mu);
	idx = h->n < MAX_REQS ? h->n++ : MAX_REQS - 1;
	h->r[idx] = (struct hreq){
	    .body = strdup(b->data ? b->data : ""),
	    .kind = hdr(c, "X-Clover-Alert"),
	    .delivery = hdr(c, "X-Clover-Delivery"),
	    .ctype = hdr(c, "Content-Type"),
	    .auth = hdr(c, "Authorization"),
	    .agent = hdr(c, "User-Agent"),
	    .mono = time_mono_ms(),
	};
	if (strcmp(method, "POST") != 0)
		status = 405;
	else if (h->status)
		status = h->status;
	else if (idx < h->fail_first)
		status = 503;
	if (idx == 0)
		hold = h->hold_first_ms;
	pthread_cond_broadcast(&h->cv);
	if (hold) {
		int64_t end = time_mono_ms() + hold;

		while (!h->stopping && time_mono_ms() < end) {
			struct timespec ts;

			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 10 * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&h->cv, &h->mu, &ts);
		}
	}
	pthread_mutex_unlock(&h->mu);
	if (status != 200)
		text = h->answer ? h->answer : "";
	resp = MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
	if (resp == NULL)
		return MHD_NO;
	if (status == 302)
		MHD_add_response_header(resp, "Location", "http://127.0.0.1:1/elsewhere");
	ret = MHD_queue_response(c, (unsigned)status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static void on_done(void *cls, struct MHD_Connection *c, void **con_cls,
                    enum MHD_RequestTerminationCode toe)
{
	struct buf *b = *con_cls;

	(void)cls;
	(void)c;
	(void)toe;
	if (b) {
		buf_free(b);
		free(b);
		*con_cls = NULL;
	}
}

static void hook_start(struct hook *h)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	const union MHD_DaemonInfo *di;

	pthread_mutex_init(&h->mu, NULL);
	pthread_cond_init(&h->cv, NULL);
	h->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0,
	                        NULL, NULL, on_request, h, MHD_OPTION_SOCK_ADDR, &a,
	                        MHD_OPTION_NOTIFY_COMPLETED, on_done, NULL, MHD_OPTION_END);
	assert_non_null(h->d);
	di = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
	assert_non_null(di);
	h->port = di->port;
	snprintf(h->url, sizeof(h->url), "http://127.0.0.1:%d/hook", h->port);
}

static void hook_stop(struct hook *h)
{
	pthread_mutex_lock(&h->mu);
	h->stopping = true;
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mu);
	MHD_stop_daemon(h->d);
	for (int i = 0; i < h->n; i++) {
		struct hreq *r = &h->r[i];

		free(r->body);
		free(r->kind);
		free(r->delivery);
		free(r->ctype);
		free(r->auth);
		free(r->agent);
	}
	pthread_mutex_destroy(&h->mu);
	pthread_cond_destroy(&h->cv);
}

static int hook_count(struct hook *h)
{
	int n;

	pthread_mutex_lock(&h->mu);
	n = h->n;
	pthread_mutex_unlock(&h->mu);
	return n;
}

struct fix {
	struct hook h;
	struct rec rc;
};

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	rec_init(&f->rc);
	hook_start(&f->h);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;

	hook_stop(&f->h);
	rec_clear(&f->rc);
	free(f);
	return 0;
}

static struct notify *start(struct fix *f, void (*tune)(struct notify_options *))
{
	struct notify_options o;
	struct notify *n;
	struct error_info e;

	notify_options_init(&o);
	o.group_window_ms = 20;
	o.retry_backoff_ms = 30;
	o.webhook_timeout_ms = 5000;
	o.on_report = rec_report;
	o.ctx = &f->rc;
	if (tune)
		tune(&o);
	if (notify_new(&o, &n, &e) != 0)
		fail_msg("notify_new: %s", e.message);
	return n;
}

/* One run_failed alert to url, then waits for its final report. */
static void send_one(struct fix *f, struct notify *n, const char *url)
{
	struct notify_contact c = {"hooky", NULL, url};
	struct notify_alert a = alert_job(NOTIFY_RUN_FAILED, "backup", 42, &c, 1);

	assert_int_equal(notify_alert(n, &a), 0);
	rec_wait_finals(&f->rc, 1, 20000);
}

static json_t *parse(const char *s)
{
	json_error_t err;
	json_t *j = json_loads(s, 0, &err);

	if (j == NULL)
		fail_msg("invalid JSON (%s): %s", err.text, s);
	return j;
}

static void test_post_json_and_headers(void **state)
{
	struct fix *f = *state;
	struct notify *n = start(f, NULL);
	const struct rep *p;
	json_t *j, *it;

	send_one(f, n, f->h.url);
	notify_free(n);
	p = rec_get(&f->rc, -1, 0);
	assert_int_equal(p->outcome, NOTIFY_DELIVERED);
	assert_int_equal(p->channel, NOTIFY_WEBHOOK);
	assert_int_equal(p->attempt, 1);
	assert_string_equal(p->detail, "HTTP 200");
	assert_string_equal(p->contact, "hooky");
	assert_int_equal(hook_count(&f->h), 1);
	assert_string_equal(f->h.r[0].ctype, "application/json");
	assert_string_equal(f->h.r[0].kind, "run_failed");
	assert_string_equal(f->h.r[0].agent, "clover/" CLOVER_VERSION);
	assert_non_null(f->h.r[0].delivery);
	j = parse(f->h.r[0].body);
	assert_int_equal(json_integer_value(json_object_get(j, "version")), 1);
	assert_string_equal(json_string_value(json_object_get(j, "id")), f->h.r[0].delivery);
	assert_string_equal(json_string_value(json_object_get(j, "kind")), "run_failed");
	assert_string_equal(json_string_value(json_object_get(j, "severity")), "error");
	assert_string_equal(json_string_value(json_object_get(j, "title")),
	                    "job backup failed (run 42)");
	assert_string_equal(json_string_value(json_object_get(j, "message")), "exit status 1");
	assert_string_equal(json_string_value(json_object_get(j, "job")), "backup");
	assert_string_equal(json_string_value(json_object_get(j, "node")), "exec-1");
	assert_int_equal(json_integer_value(json_object_get(j, "run_id")), 42);
	assert_int_equal(json_integer_value(json_object_get(j, "count")), 1);
	assert_string_equal(json_string_value(json_object_get(j, "first_at")),
	                    "2026-03-08T07:30:00.042Z");
	assert_string_equal(json_string_value(json_object_get(j, "contact")), "hooky");
	it = json_array_get(json_object_get(j, "items"), 0);
	assert_int_equal(json_integer_value(json_object_get(it, "run_id")), 42);
	json_decref(j);
}

static void tune_retries3(struct notify_options *o)
{
	o->webhook_retries = 3;
}

static void test_503_retried_until_delivered(void **state)
{
	struct fix *f = *state;
	struct notify *n;

	f->h.fail_first = 2;
	f->h.answer = "busy";
	n = start(f, tune_retries3);
	send_one(f, n, f->h.url);
	notify_free(n);
	assert_int_equal(f->rc.n, 3);
	assert_int_equal(f->rc.r[0].outcome, NOTIFY_RETRYING);
	assert_int_equal(f->rc.r[0].error, CLOVER_EPROTO);
	assert_string_equal(f->rc.r[0].detail, "HTTP 503: busy");
	assert_int_equal(f->rc.r[1].outcome, NOTIFY_RETRYING);
	assert_int_equal(f->rc.r[2].outcome, NOTIFY_DELIVERED);
	assert_int_equal(f->rc.r[2].attempt, 3);
	assert_int_equal(hook_count(&f->h), 3);
	/* the same delivery each time, after 30 ms and then 60 ms */
	assert_string_equal(f->h.r[0].delivery, f->h.r[1].delivery);
	assert_string_equal(f->h.r[1].delivery, f->h.r[2].delivery);
	assert_string_equal(f->h.r[0].body, f->h.r[2].body);
	assert_true(f->h.r[1].mono - f->h.r[0].mono >= 30);
	assert_true(f->h.r[2].mono - f->h.r[1].mono >= 60);
}

static void tune_retries2(struct notify_options *o)
{
	o->webhook_retries = 2;
}

static void test_retries_run_out(void **state)
{
	struct fix *f = *state;
	struct notify *n;
	const struct rep *p;

	f->h.status = 503;
	f->h.answer = "down for maintenance";
	n = start(f, tune_retries2);
	send_one(f, n, f->h.url);
	notify_free(n);
	assert_int_equal(hook_count(&f->h), 3);
	assert_int_equal(rec_count(&f->rc, NOTIFY_RETRYING), 2);
	p = rec_get(&f->rc, NOTIFY_FAILED, 0);
	assert_non_null(p);
	assert_int_equal(p->attempt, 3);
	assert_int_equal(p->error, CLOVER_EPROTO);
	assert_string_equal(p->detail, "HTTP 503: down for maintenance");
}

static void test_client_errors_not_retried(void **state)
{
	struct fix *f = *state;
	struct notify *n;
	const struct rep *p;

	f->h.status = 400;
	f->h.answer = "bad payload\n";
	n = start(f, tune_retries3);
	send_one(f, n, f->h.url);
	notify_free(n);
	assert_int_equal(hook_count(&f->h), 1);
	assert_int_equal(f->rc.n, 1);
	p = rec_get(&f->rc, -1, 0);
	assert_int_equal(p->outcome, NOTIFY_FAILED);
	assert_int_equal(p->attempt, 1);
	assert_string_equal(p->detail, "HTTP 400: bad payload ");
}

static void test_redirect_not_followed(void **state)
{
	struct fix *f = *state;
	struct notify *n;

	f->h.status = 302;
	n = start(f, tune_retries3);
	send_one(f, n, f->h.url);
	notify_free(n);
	assert_int_equal(hook_count(&f->h), 1);
	assert_int_equal(f->rc.n, 1);
	assert_int_equal(f->rc.r[0].outcome, NOTIFY_FAILED);
	assert_string_equal(f->rc.r[0].detail, "HTTP 302");
}

static void tune_retries1(struct notify_options *o)
{
	o->webhook_retries = 1;
}

static void test_429_retried(void **state)
{
	struct fix *f = *state;
	struct notify *n;

	f->h.status = 429;
	n = start(f, tune_retries1);
	send_one(f, n, f->h.url);
	notify_free(n);
	assert_int_equal(hook_count(&f->h), 2);
	assert_int_equal(f->rc.r[1].outcome, NOTIFY_FAILED);
	assert_int_equal(f->rc.r[1].attempt, 2);
}

static void tune_timeout(struct notify_options *o)
{
	o->webhook_timeout_ms = 300;
}

static void test_timeout_retried(void **state)
{
	struct fix *f = *state;
	struct notify *n;

	f->h.hold_first_ms = 3000;
	n = start(f, tune_timeout);
	send_one(f, n, f->h.url);
	notify_free(n);
	assert_int_equal(f->rc.n, 2);
	assert_int_equal(f->rc.r[0].outcome, NOTIFY_RETRYING);
	assert_int_equal(f->rc.r[0].error, CLOVER_ETIMEDOUT);
	assert_int_equal(f->rc.r[1].outcome, NOTIFY_DELIVERED);
	assert_int_equal(f->rc.r[1].attempt, 2);
}

static void test_connection_refused(void **state)
{
	struct fix *f = *state;
	struct notify *n = start(f, tune_retries2);
	const struct rep *p;

	send_one(f, n, "http://127.0.0.1:1/hook");
	notify_free(n);
	assert_int_equal(rec_count(&f->rc, NOTIFY_RETRYING), 2);
	p = rec_get(&f->rc, NOTIFY_FAILED, 0);
	assert_int_equal(p->error, CLOVER_ECONN);
	assert_int_equal(p->attempt, 3);
}

static void tune_window(struct notify_options *o)
{
	o->group_window_ms = 300;
}

static void test_500_executor_lost_one_post(void **state)
{
	struct fix *f = *state;
	struct notify_contact c = {"on-call", NULL, f->h.url};
	struct notify *n = start(f, tune_window);
	char job[32];
	json_t *j;

	for (int i = 0; i < 500; i++) {
		struct notify_alert a = alert_job(NOTIFY_EXECUTOR_LOST, job, 100 + i, &c, 1);

		snprintf(job, sizeof(job), "job-%03d", i);
		assert_int_equal(notify_alert(n, &a), 0);
	}
	rec_wait_finals(&f->rc, 1, 20000);
	sleep_ms(400);
	notify_free(n);
	assert_int_equal(f->rc.n, 1);
	assert_int_equal(hook_count(&f->h), 1);
	j = parse(f->h.r[0].body);
	assert_string_equal(json_string_value(json_object_get(j, "kind")), "executor_lost");
	assert_string_equal(json_string_value(json_object_get(j, "severity")), "critical");
	assert_string_equal(json_string_value(json_object_get(j, "title")),
	                    "executor exec-1 lost: 500 jobs affected");
	assert_int_equal(json_integer_value(json_object_get(j, "count")), 500);
	assert_true(json_is_null(json_object_get(j, "job")));
	assert_string_equal(json_string_value(json_object_get(j, "node")), "exec-1");
	assert_int_equal(json_array_size(json_object_get(j, "items")), 50);
	assert_int_equal(json_integer_value(json_object_get(j, "items_omitted")), 450);
	json_decref(j);
}

static void tune_rate(struct notify_options *o)
{
	o->rate_limit = 2;
	o->rate_period_ms = 1000;
}

static void test_rate_limit_then_summary(void **state)
{
	struct fix *f = *state;
	struct notify_contact c = {"hooky", NULL, f->h.url};
	struct notify *n = start(f, tune_rate);
	char job[16];
	json_t *j;

	for (int i = 0; i < 5; i++) {
		struct notify_alert a = alert_job(NOTIFY_RUN_FAILED, job, i + 1, &c, 1);

		snprintf(job, sizeof(job), "j%d", i);
		assert_int_equal(notify_alert(n, &a), 0);
		sleep_ms(40); /* each its own group */
	}
	rec_wait_finals(&f->rc, 3, 10000); /* two alerts and, a period later, the summary */
	notify_free(n);
	assert_int_equal(hook_count(&f->h), 3);
	assert_int_equal(rec_count(&f->rc, NOTIFY_HELD), 3);
	assert_int_equal(rec_count(&f->rc, NOTIFY_DELIVERED), 3);
	j = parse(f->h.r[2].body);
	assert_string_equal(json_string_value(json_object_get(j, "kind")), "summary");
	assert_int_equal(json_integer_value(json_object_get(j, "count")), 3);
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(j, "counts"), "run_failed")), 3);
	/* a period after the first left the grouper, which was a little before
	 * the receiver saw it */
	assert_true(f->h.r[2].mono - f->h.r[0].mono >= 900);
	json_decref(j);
}

static void tune_long_backoff(struct notify_options *o)
{
	o->retry_backoff_ms = 60000;
}

static void test_free_gives_waiting_retry_one_more_attempt(void **state)
{
	struct fix *f = *state;
	struct notify_contact c = {"hooky", NULL, f->h.url};
	struct notify_alert a = alert_job(NOTIFY_RUN_FAILED, "backup", 1, &c, 1);
	struct notify *n;
	int64_t t0;

	f->h.fail_first = 1;
	n = start(f, tune_long_backoff);
	assert_int_equal(notify_alert(n, &a), 0);
	while (rec_count(&f->rc, NOTIFY_RETRYING) == 0)
		sleep_ms(5);
	t0 = time_mono_ms();
	notify_free(n);
	assert_true(time_mono_ms() - t0 < 5000);
	assert_int_equal(hook_count(&f->h), 2);
	assert_int_equal(f->rc.n, 2);
	assert_int_equal(f->rc.r[1].outcome, NOTIFY_DELIVERED);
	assert_int_equal(f->rc.r[1].attempt, 2);
}

static void test_reports_hide_url_secrets(void **state)
{
	struct fix *f = *state;
	struct notify *n = start(f, NULL);
	char url[256], want[64];

	snprintf(url, sizeof(url), "http://user:s3cret@127.0.0.1:%d/hook/T123?token=abc",
	         f->h.port);
	snprintf(want, sizeof(want), "http://127.0.0.1:%d/...", f->h.port);
	send_one(f, n, url);
	notify_free(n);
	assert_int_equal(f->rc.r[0].outcome, NOTIFY_DELIVERED);
	assert_string_equal(f->rc.r[0].address, want);
	assert_null(strstr(f->rc.r[0].detail, "s3cret"));
	/* the credentials did go to the receiver, as HTTP basic auth */
	assert_string_equal(f->h.r[0].auth, "Basic dXNlcjpzM2NyZXQ=");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_post_json_and_headers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_503_retried_until_delivered, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_retries_run_out, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_client_errors_not_retried, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_redirect_not_followed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_429_retried, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_timeout_retried, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_connection_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_500_executor_lost_one_post, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rate_limit_then_summary, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_free_gives_waiting_retry_one_more_attempt, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_reports_hide_url_secrets, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
