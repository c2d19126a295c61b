/* SPDX-License-Identifier: MIT */
/*
 * E-mail alerts against a real SMTP server on loopback: Debian's
 * python3-aiosmtpd with the handler tests/support/smtp_sink.py, which writes
 * every message it accepts (and its envelope) to a directory. The test
 * starts the servers itself on free ports (plain, STARTTLS with AUTH, SMTPS,
 * with a self-signed certificate made by openssl for 127.0.0.1) and stops
 * them at the end.
 *
 * Proves: a message arrives with the RFC 5322 headers and the body exactly as
 * sent (lines starting with dots survive the dot-stuffing round trip, CRLF
 * only); 500 executor-lost alerts arrive as one e-mail; non-ASCII subject
 * and body arrive encoded; STARTTLS try works on a plain server and require
 * fails there without a retry; STARTTLS with AUTH delivers over TLS, a wrong
 * password fails without a retry, skipping STARTTLS where the server
 * requires it fails; SMTPS delivers, and fails on an untrusted certificate;
 * a 550 recipient fails at once, a 451 recipient and a closed port are
 * retried with backoff and then fail; notify_free() sends what is still
 * grouping.
 */
#include "notify-test.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef NOTIFY_SUPPORT_DIR
#error NOTIFY_SUPPORT_DIR must name tests/support
#endif

#define PYTHON "/usr/bin/python3"

static char tmp[256]; /* this run's private directory */
static char cert[300], key[300];
static int nsinks;

enum sink_mode { SINK_PLAIN, SINK_STARTTLS, SINK_SMTPS };

struct sink {
	pid_t pid;
	int port;
	char dir[300];
	char url[64];
};

static struct sink plain; /* shared by the tests that need nothing special */
static pid_t started[32]; /* every server, so a failed test leaves none behind */
static int nstarted;

/* Runs argv, waits, returns its exit status (127 when it could not run). */
static int run(char *const argv[])
{
	int st;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execv(argv[0], argv);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static int free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

static bool port_open(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
	                        .sin_port = htons((uint16_t)port),
	                        .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	bool ok;

	assert_true(fd >= 0);
	ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return ok;
}

static void dump_log(const struct sink *s)
{
	char path[400], line[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/server.log", s->dir);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		fprintf(stderr, "smtp server: %s", line);
	if (f)
		fclose(f);
}

/* Starts aiosmtpd with the sink handler and waits until it listens. */
static void sink_start(struct sink *s, enum sink_mode mode, const char *user, const char *pass)
{
	for (int tries = 0;; tries++) {
		char listen[32], log[400];
		char *argv[20];
		int i = 0, st;
		int64_t end;

		s->port = free_port();
		snprintf(s->dir, sizeof(s->dir), "%s/sink%d", tmp, ++nsinks);
		assert_int_equal(mkdir(s->dir, 0700), 0);
		snprintf(listen, sizeof(listen), "127.0.0.1:%d", s->port);
		snprintf(log, sizeof(log), "%s/server.log", s->dir);
		snprintf(s->url, sizeof(s->url), "%s://127.0.0.1:%d",
		         mode == SINK_SMTPS ? "smtps" : "smtp", s->port);
		argv[i++] = PYTHON;
		argv[i++] = "-m";
		argv[i++] = "aiosmtpd";
		argv[i++] = "-n";
		argv[i++] = "-l";
		argv[i++] = listen;
		if (mode != SINK_PLAIN) {
			argv[i++] = mode == SINK_SMTPS ? "--smtpscert" : "--tlscert";
			argv[i++] = cert;
			argv[i++] = mode == SINK_SMTPS ? "--smtpskey" : "--tlskey";
			argv[i++] = key;
		}
		argv[i++] = "-c";
		argv[i++] = "smtp_sink.Sink";
		argv[i++] = s->dir;
		if (user) {
			argv[i++] = (char *)user;
			argv[i++] = (char *)pass;
		}
		argv[i] = NULL;

		s->pid = fork();
		assert_true(s->pid >= 0);
		if (s->pid == 0) {
			int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);

			if (fd >= 0) {
				dup2(fd, 1);
				dup2(fd, 2);
			}
			/* and none outlives a crashed test either */
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			setenv("PYTHONPATH", NOTIFY_SUPPORT_DIR, 1);
			execv(PYTHON, argv);
			_exit(127);
		}
		assert_true(nstarted < (int)(sizeof(started) / sizeof(started[0])));
		started[nstarted++] = s->pid;
		end = time_mono_ms() + 15000;
		while (!port_open(s->port)) {
			if (waitpid(s->pid, &st, WNOHANG) == s->pid) {
				dump_log(s);
				started[nstarted - 1] = 0;
				s->pid = 0;
				if (tries < 3)
					break; /* the port was taken meanwhile: again */
				fail_msg("the SMTP server exited (status %d)", st);
			}
			if (time_mono_ms() > end) {
				dump_log(s);
				fail_msg("the SMTP server did not listen on %d", s->port);
			}
			sleep_ms(20);
		}
		if (s->pid)
			return;
	}
}

static void reap(pid_t pid)
{
	for (int i = 0; i < nstarted; i++) {
		if (started[i] != pid)
			continue;
		kill(pid, SIGTERM);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		started[i] = 0;
	}
}

static void sink_stop(struct sink *s)
{
	if (s->pid > 0)
		reap(s->pid);
	s->pid = 0;
}

/* Messages whose envelope names `rcpt` (NULL: any), in arrival order. */
static size_t sink_count(const struct sink *s, const char *rcpt)
{
	size_t n = 0;

	for (int i = 1;; i++) {
		char path[400];
		json_t *j, *tos;
		size_t k;
		json_t *v;

		snprintf(path, sizeof(path), "%s/%06d.json", s->dir, i);
		if (access(path, F_OK) != 0)
			return n;
		j = json_load_file(path, 0, NULL);
		assert_non_null(j);
		tos = json_object_get(j, "rcpt_tos");
		json_array_foreach(tos, k, v)
		{
			if (rcpt == NULL || strcmp(json_string_value(v), rcpt) == 0) {
				n++;
				break;
			}
		}
		json_decref(j);
	}
}

struct mail {
	char *eml;
	json_t *env;
};

/* The `idx`-th message to `rcpt`; the caller frees with mail_free. */
static struct mail sink_get(const struct sink *s, const char *rcpt, size_t idx)
{
	struct mail m = {NULL, NULL};

	for (int i = 1;; i++) {
		char path[400];
		json_t *j, *v;
		size_t k;
		bool match = false;

		snprintf(path, sizeof(path), "%s/%06d.json", s->dir, i);
		j = json_load_file(path, 0, NULL);
		if (j == NULL)
			fail_msg("no message %zu to %s", idx, rcpt);
		json_array_foreach(json_object_get(j, "rcpt_tos"), k, v)
		{
			match = match || strcmp(json_string_value(v), rcpt) == 0;
		}
		if (match && idx-- == 0) {
			FILE *f;
			long len;

			snprintf(path, sizeof(path), "%s/%06d.eml", s->dir, i);
			f = fopen(path, "rb");
			assert_non_null(f);
			fseek(f, 0, SEEK_END);
			len = ftell(f);
			fseek(f, 0, SEEK_SET);
			m.eml = calloc(1, (size_t)len + 1);
			assert_non_null(m.eml);
			assert_int_equal(fread(m.eml, 1, (size_t)len, f), (size_t)len);
			fclose(f);
			m.env = j;
			return m;
		}
		json_decref(j);
	}
}

static void mail_free(struct mail *m)
{
	free(m->eml);
	json_decref(m->env);
}

static void assert_crlf_only(const char *s)
{
	for (const char *p = s; *p; p++) {
		if (*p == '\n' && (p == s || p[-1] != '\r'))
			fail_msg("bare LF at offset %td", p - s);
		if (*p == '\r' && p[1] != '\n')
			fail_msg("bare CR at offset %td", p - s);
	}
}

static struct notify_options opts(const struct sink *s, struct rec *rc)
{
	struct notify_options o;

	notify_options_init(&o);
	o.smtp_url = s ? s->url : NULL;
	o.smtp_from = "Clover <clover@example.com>";
	o.smtp_starttls = NOTIFY_STARTTLS_NONE;
	o.smtp_timeout_ms = 10000;
	o.group_window_ms = 50;
	o.retry_backoff_ms = 20;
	o.on_report = rec_report;
	o.ctx = rc;
	return o;
}

static struct notify *start(const struct notify_options *o)
{
	struct notify *n;
	struct error_info e;

	if (notify_new(o, &n, &e) != 0)
		fail_msg("notify_new: %s", e.message);
	return n;
}

/* Sends one run_failed alert to `to` and waits for its final report. */
static struct rep send_one(const struct notify_options *o, struct rec *rc, const char *to)
{
	struct notify_contact c = {"Ann Ops", to, NULL};
	struct notify_alert a = alert_job(NOTIFY_RUN_FAILED, "backup", 42, &c, 1);
	struct notify *n = start(o);
	struct rep last;

	assert_int_equal(notify_alert(n, &a), 0);
	rec_wait_finals(rc, 1, 30000);
	notify_free(n);
	last = rc->r[rc->n - 1];
	return last;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int group_setup(void **state)
{
	char *ver[] = {PYTHON, "-c", "import aiosmtpd", NULL};
	char days[] = "2";

	(void)state;
	if (run(ver) != 0) {
		fprintf(stderr, "python3-aiosmtpd is not installed: run scripts/install-deps\n");
		return -1;
	}
	snprintf(tmp, sizeof(tmp), "/tmp/clover-notify-smtp-XXXXXX");
	if (mkdtemp(tmp) == NULL)
		return -1;
	snprintf(cert, sizeof(cert), "%s/cert.pem", tmp);
	snprintf(key, sizeof(key), "%s/key.pem", tmp);
	{
		char *gen[] = {"/usr/bin/openssl",
		               "req",
		               "-x509",
		               "-newkey",
		               "ec",
		               "-pkeyopt",
		               "ec_paramgen_curve:prime256v1",
		               "-nodes",
		               "-keyout",
		               key,
		               "-out",
		               cert,
		               "-days",
		               days,
		               "-subj",
		               "/CN=localhost",
		               "-addext",
		               "subjectAltName=IP:127.0.0.1,DNS:localhost",
		               NULL};

		if (run(gen) != 0) {
			fprintf(stderr, "openssl could not make a test certificate\n");
			return -1;
		}
	}
	sink_start(&plain, SINK_PLAIN, NULL, NULL);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	sink_stop(&plain);
	for (int i = 0; i < nstarted; i++)
		if (started[i] > 0)
			reap(started[i]);
	if (tmp[0])
		nftw(tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

static int setup(void **state)
{
	struct rec *rc = malloc(sizeof(*rc));

	assert_non_null(rc);
	rec_init(rc);
	*state = rc;
	return 0;
}

static int teardown(void **state)
{
	rec_clear(*state);
	free(*state);
	return 0;
}

static void test_plain_delivery_exact(void **state)
{
	struct rec *rc = *state;
	struct notify_options o = opts(&plain, rc);
	struct notify_contact c = {"Ann Ops", "ann@example.com", NULL};
	struct notify_alert a = alert_job(NOTIFY_RUN_FAILED, "backup", 42, &c, 1);
	struct notify *n = start(&o);
	struct mail m;
	const struct rep *p;
	const char *body;

	a.message = ".hidden line\n..two dots\n.\nend";
	assert_int_equal(notify_alert(n, &a), 0);
	rec_wait_finals(rc, 1, 30000);
	notify_free(n);
	p = rec_get(rc, -1, 0);
	assert_int_equal(p->outcome, NOTIFY_DELIVERED);
	assert_int_equal(p->attempt, 1);
	assert_string_equal(p->detail, "SMTP 250");
	assert_string_equal(p->address, "ann@example.com");
	assert_int_equal(sink_count(&plain, "ann@example.com"), 1);

	m = sink_get(&plain, "ann@example.com", 0);
	assert_string_equal(json_string_value(json_object_get(m.env, "mail_from")),
	                    "clover@example.com");
	assert_false(json_is_true(json_object_get(m.env, "tls")));
	assert_crlf_only(m.eml);
	assert_true(strncmp(m.eml, "Date: ", 6) == 0);
	assert_non_null(strstr(m.eml, "\r\nFrom: Clover <clover@example.com>\r\n"));
	assert_non_null(strstr(m.eml, "\r\nTo: \"Ann Ops\" <ann@example.com>\r\n"));
	assert_non_null(strstr(m.eml, "\r\nSubject: [clover] job backup failed (run 42)\r\n"));
	assert_non_null(strstr(m.eml, "@example.com>\r\nMIME-Version: 1.0\r\n"));
	assert_non_null(strstr(m.eml, "\r\nMessage-ID: <"));
	assert_non_null(strstr(m.eml, "\r\nContent-Type: text/plain; charset=utf-8\r\n"));
	assert_non_null(strstr(m.eml, "\r\nContent-Transfer-Encoding: 7bit\r\n"));
	assert_non_null(strstr(m.eml, "\r\nAuto-Submitted: auto-generated\r\n"));
	assert_non_null(strstr(m.eml, "\r\nX-Clover-Alert: run_failed\r\n"));
	body = strstr(m.eml, "\r\n\r\n");
	assert_non_null(body);
	/* the dots came through the stuffing and unstuffing unchanged */
	assert_true(
	    strncmp(body,
	            "\r\n\r\njob backup failed (run 42)\r\n\r\n.hidden line\r\n..two "
	            "dots\r\n.\r\nend\r\n\r\nKind:     run_failed (error)\r\n",
	            strlen("\r\n\r\njob backup failed (run 42)\r\n\r\n.hidden line\r\n..two "
	                   "dots\r\n.\r\nend\r\n\r\nKind:     run_failed (error)\r\n")) == 0);
	mail_free(&m);
}

static void test_500_executor_lost_one_email(void **state)
{
	struct rec *rc = *state;
	struct notify_options o = opts(&plain, rc);
	struct notify_contact c = {"On call", "oncall-500@example.com", NULL};
	struct notify *n;
	struct mail m;
	char job[32];

	o.group_window_ms = 300;
	n = start(&o);
	for (int i = 0; i < 500; i++) {
		struct notify_alert a = alert_job(NOTIFY_EXECUTOR_LOST, job, 100 + i, &c, 1);

		a.node = "exec-9";
		snprintf(job, sizeof(job), "job-%03d", i);
		assert_int_equal(notify_alert(n, &a), 0);
	}
	rec_wait_finals(rc, 1, 30000);
	sleep_ms(400); /* nothing else comes */
	notify_free(n);
	assert_int_equal(rc->n, 1);
	assert_int_equal(rc->r[0].outcome, NOTIFY_DELIVERED);
	assert_int_equal(rc->r[0].count, 500);
	assert_int_equal(sink_count(&plain, "oncall-500@example.com"), 1);
	m = sink_get(&plain, "oncall-500@example.com", 0);
	assert_non_null(
	    strstr(m.eml, "\r\nSubject: [clover] executor exec-9 lost: 500 jobs affected\r\n"));
	assert_non_null(strstr(m.eml, "\r\n\r\nexecutor exec-9 lost: 500 jobs affected: job-000, "
	                              "job-001, job-002, job-003, job-004, job-005, job-006, "
	                              "job-007, job-008, job-009 ... and 490 more\r\n"));
	assert_non_null(strstr(m.eml, "\r\n... and 450 more\r\n"));
	mail_free(&m);
}

static void test_non_ascii_arrives_encoded(void **state)
{
	struct rec *rc = *state;
	struct notify_options o = opts(&plain, rc);
	struct notify_contact c = {"Zo\xc3\xab", "zoe@example.com", NULL};
	struct notify_alert a = alert_job(NOTIFY_RUN_TIMED_OUT, "caf\xc3\xa9", 5, &c, 1);
	struct notify *n = start(&o);
	struct mail m;

	a.message = "na\xc3\xafve";
	assert_int_equal(notify_alert(n, &a), 0);
	rec_wait_finals(rc, 1, 30000);
	notify_free(n);
	assert_int_equal(rc->r[0].outcome, NOTIFY_DELIVERED);
	m = sink_get(&plain, "zoe@example.com", 0);
	assert_non_null(strstr(m.eml, "\r\nSubject: =?utf-8?B?"));
	assert_non_null(strstr(m.eml, "\r\nTo: =?utf-8?B?Wm/Dqw==?= <zoe@example.com>\r\n"));
	assert_non_null(strstr(m.eml, "\r\nContent-Transfer-Encoding: quoted-printable\r\n"));
	assert_non_null(strstr(m.eml, "\r\nna=C3=AFve\r\n"));
	mail_free(&m);
}

static void test_starttls_try_on_plain_server(void **state)
{
	struct rec *rc = *state;
	struct notify_options o = opts(&plain, rc);
	struct rep p;

	o.smtp_starttls = NOTIFY_STARTTLS_TRY;
	p = send_one(&o, rc, "try@example.com");
	assert_int_equal(p.outcome, NOTIFY_DELIVERED);
	assert_int_equal(sink_count(&plain, "try@example.com"), 1);
}

static void test_starttls_require_on_plain_server_fails(void **state)
{
	struct rec *rc = *state;
	struct notify_options o = opts(&plain, rc);
	struct rep p;

	o.smtp_starttls = NOTIFY_STARTTLS_REQUIRE;
	p = send_one(&o, rc, "require@example.com");
	assert_int_equal(p.outcome, NOTIFY_FAILED);
	assert_int_equal(p.error, CLOVER_EPROTO);
	assert_int_equal(p.attempt, 1); /* permanent: not retried */
	assert_int_equal(rc->n, 1);
	assert_int_equal(sink_count(&plain, "require@example.com"), 0);
}

static void test_starttls_with_auth(void **state)
{
	struct rec *rc = *state;
	struct sink s;
	struct notify_options o;
	struct rep p;
	struct mail m;

	sink_start(&s, SINK_STARTTLS, "alice", "s3cret");
	o = opts(&s, rc);
	o.smtp_starttls = NOTIFY_STARTTLS_REQUIRE;
	o.ca_file = cert;
	o.smtp_user = "alice";
	o.smtp_password = "s3cret";
	p = send_one(&o, rc, "tls@example.com");
	assert_int_equal(p.outcome, NOTIFY_DELIVERED);
	m = sink_get(&s, "tls@example.com", 0);
	assert_true(json_is_true(json_object_get(m.env, "tls")));
	assert_string_equal(json_string_value(json_object_get(m.env, "login")), "alice");
	mail_free(&m);

	/* a wrong password is permanent */
	rec_clear(rc);
	rec_init(rc);
	o.smtp_password = "wrong";
	p = send_one(&o, rc, "tls@example.com");
	assert_int_equal(p.outcome, NOTIFY_FAILED);
	assert_int_equal(p.error, CLOVER_EAUTH);
	assert_int_equal(p.attempt, 1);

	/* this server wants STARTTLS before MAIL: without it, a 530 */
	rec_clear(rc);
	rec_init(rc);
	o.smtp_starttls = NOTIFY_STARTTLS_NONE;
	o.smtp_user = NULL;
	p = send_one(&o, rc, "tls@example.com");
	assert_int_equal(p.outcome, NOTIFY_FAILED);
	assert_int_equal(p.attempt, 1);
	assert_non_null(strstr(p.detail, "530"));
	assert_int_equal(sink_count(&s, NULL), 1);
	sink_stop(&s);
}

static void test_smtps(void **state)
{
	struct rec *rc = *state;
	struct sink s;
	struct notify_options o;
	struct rep p;
	struct mail m;

	sink_start(&s, SINK_SMTPS, NULL, NULL);
	o = opts(&s, rc);
	o.ca_file = cert;
	p = send_one(&o, rc, "smtps@example.com");
	assert_int_equal(p.outcome, NOTIFY_DELIVERED);
	m = sink_get(&s, "smtps@example.com", 0);
	assert_true(json_is_true(json_object_get(m.env, "tls")));
	mail_free(&m);

	/* without our CA the certificate is not trusted: permanent */
	rec_clear(rc);
	rec_init(rc);
	o.ca_file = NULL;
	p = send_one(&o, rc, "smtps@example.com");
	assert_int_equal(p.outcome, NOTIFY_FAILED);
	assert_int_equal(p.error, CLOVER_EPROTO);
	assert_int_equal(p.attempt, 1);
	assert_int_equal(sink_count(&s, NULL), 1);
	sink_stop(&s);
}

static void test_rejected_recipient_not_retried(void **state)
{
	struct rec *rc = *state;
	struct notify_options o = opts(&plain, rc);
	struct rep p = send_one(&o, rc, "reject@example.com");

	assert_int_equal(p.outcome, NOTIFY_FAILED);
	assert_int_equal(p.attempt, 1);
	assert_int_equal(p.error, CLOVER_EPROTO);
	assert_non_null(strstr(p.detail, "550"));
	assert_int_equal(rc->n, 1);
}

static void test_tempfail_recipient_retried(void **state)
{
	struct rec *rc = *state;
	struct notify_options o = opts(&plain, rc);
	struct rep p = send_one(&o, rc, "tempfail@example.com");

	assert_int_equal(p.outcome, NOTIFY_FAILED);
	assert_int_equal(p.attempt, 3); /* 1 + smtp_retries */
	assert_non_null(strstr(p.detail, "451"));
	assert_int_equal(rec_count(rc, NOTIFY_RETRYING), 2);
}

static void test_connection_refused_retried_with_backoff(void **state)
{
	struct rec *rc = *state;
	struct sink closed = {.pid = 0};
	struct notify_options o;
	struct rep p;

	closed.port = free_port();
	snprintf(closed.url, sizeof(closed.url), "smtp://127.0.0.1:%d", closed.port);
	o = opts(&closed, rc);
	o.retry_backoff_ms = 40;
	p = send_one(&o, rc, "nobody@example.com");
	assert_int_equal(p.outcome, NOTIFY_FAILED);
	assert_int_equal(p.error, CLOVER_ECONN);
	assert_int_equal(p.attempt, 3);
	assert_int_equal(rc->n, 3);
	assert_int_equal(rc->r[0].outcome, NOTIFY_RETRYING);
	assert_int_equal(rc->r[1].outcome, NOTIFY_RETRYING);
	/* backoff 40 ms, then 80 ms */
	assert_true(rc->r[1].mono - rc->r[0].mono >= 40);
	assert_true(rc->r[2].mono - rc->r[1].mono >= 80);
}

static void test_free_sends_what_is_grouping(void **state)
{
	struct rec *rc = *state;
	struct notify_options o = opts(&plain, rc);
	struct notify_contact c = {"Ann", "flush@example.com", NULL};
	struct notify_alert a = alert_job(NOTIFY_NO_EXECUTOR, "backup", 1, &c, 1);
	struct notify *n;

	o.group_window_ms = 60000;
	n = start(&o);
	assert_int_equal(notify_alert(n, &a), 0);
	a.run_id = 2;
	assert_int_equal(notify_alert(n, &a), 0);
	sleep_ms(50);
	assert_int_equal(rc->n, 0);
	notify_free(n);
	assert_int_equal(rc->n, 1);
	assert_int_equal(rc->r[0].outcome, NOTIFY_DELIVERED);
	assert_int_equal(rc->r[0].count, 2);
	assert_int_equal(sink_count(&plain, "flush@example.com"), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_plain_delivery_exact, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_500_executor_lost_one_email, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_non_ascii_arrives_encoded, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_starttls_try_on_plain_server, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_starttls_require_on_plain_server_fails, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_starttls_with_auth, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_smtps, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rejected_recipient_not_retried, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tempfail_recipient_retried, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_connection_refused_retried_with_backoff, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_free_sends_what_is_grouping, setup, teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
