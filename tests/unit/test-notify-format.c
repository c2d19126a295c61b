/* SPDX-License-Identifier: MIT */
/*
 * Message text and wire formats (src/notify/format.c, alert.c), no network.
 * Proves: an e-mail renders to the exact RFC 5322 bytes pinned here, with
 * CRLF line ends only; a CR or LF (or any control character) in any header
 * value is refused before anything is written; non-ASCII subjects and names
 * become RFC 2047 encoded-words that decode back, long ASCII subjects fold
 * and unfold back, lines stay within limits; bodies are 7bit or
 * quoted-printable and decode back; dates follow RFC 5322; titles, headlines
 * and text bodies for every kind; the webhook JSON for one alert, a group
 * and a summary; invalid UTF-8 is replaced and long text cut at a character;
 * addresses and URLs are checked and URLs redacted; names parse and print.
 */
#include "notify-test.h"

#include <jansson.h>

#define AT0 1772955000000LL /* 2026-03-08T07:30:00Z, a Sunday */

static struct notify_email email_base(void)
{
	struct notify_email m = {
	    .from = "Clover <clover@example.com>",
	    .to = "ann@example.com",
	    .to_name = "Ann Ops",
	    .subject = "[clover] job backup failed (run 42)",
	    .body = "job backup failed (run 42)\n\nexit status 1\n",
	    .date_ms = AT0,
	    .message_id = "1.2.3@example.com",
	    .alert_kind = "run_failed",
	};

	return m;
}

static char *render(const struct notify_email *m)
{
	struct buf b;
	struct error_info e;

	buf_init(&b, 4 << 20);
	if (notify_email_render(m, &b, &e) != 0)
		fail_msg("render: %s", e.message);
	return buf_steal(&b);
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

/* Every physical line of the header block is at most `max` bytes. */
static void assert_header_lines_within(const char *msg, size_t max)
{
	const char *end = strstr(msg, "\r\n\r\n");

	assert_non_null(end);
	for (const char *p = msg; p < end;) {
		const char *eol = strstr(p, "\r\n");

		if ((size_t)(eol - p) > max)
			fail_msg("header line of %td bytes: %.*s", eol - p, (int)(eol - p), p);
		p = eol + 2;
	}
}

static void test_email_exact_bytes(void **state)
{
	struct notify_email m = email_base();
	char *s = render(&m);

	(void)state;
	assert_string_equal(s, "Date: Sun, 08 Mar 2026 07:30:00 +0000\r\n"
	                       "From: Clover <clover@example.com>\r\n"
	                       "To: \"Ann Ops\" <ann@example.com>\r\n"
	                       "Subject: [clover] job backup failed (run 42)\r\n"
	                       "Message-ID: <1.2.3@example.com>\r\n"
	                       "MIME-Version: 1.0\r\n"
	                       "Content-Type: text/plain; charset=utf-8\r\n"
	                       "Content-Transfer-Encoding: 7bit\r\n"
	                       "Auto-Submitted: auto-generated\r\n"
	                       "X-Clover-Alert: run_failed\r\n"
	                       "\r\n"
	                       "job backup failed (run 42)\r\n"
	                       "\r\n"
	                       "exit status 1\r\n");
	free(s);
}

static void test_email_line_ends_normalised(void **state)
{
	struct notify_email m = email_base();
	char *s;

	(void)state;
	m.body = "a\nb\rc\r\nd";
	m.to_name = NULL;
	s = render(&m);
	assert_crlf_only(s);
	assert_non_null(strstr(s, "\r\nTo: ann@example.com\r\n"));
	assert_non_null(strstr(s, "\r\n\r\na\r\nb\r\nc\r\nd\r\n"));
	assert_int_equal(strlen(strstr(s, "\r\n\r\n")), strlen("\r\n\r\na\r\nb\r\nc\r\nd\r\n"));
	free(s);
}

static void refused(struct notify_email m, const char *field, bool injection)
{
	struct buf b;
	struct error_info e;

	buf_init(&b, 1 << 20);
	assert_int_equal(notify_email_render(&m, &b, &e), CLOVER_EINVAL);
	assert_int_equal(b.len, 0); /* nothing written */
	assert_string_equal(e.field, field);
	if (injection)
		assert_non_null(strstr(e.message, "header injection"));
	buf_free(&b);
}

static void test_header_injection_refused(void **state)
{
	struct notify_email m;

	(void)state;
	m = email_base();
	m.subject = "[clover] job x\r\nBcc: evil@example.com";
	refused(m, "Subject", true);
	m = email_base();
	m.subject = "[clover] job x\nBcc: evil@example.com";
	refused(m, "Subject", true);
	m = email_base();
	m.subject = "[clover] job x\rBcc: evil@example.com";
	refused(m, "Subject", true);
	m = email_base();
	m.to_name = "Ann\r\nBcc: evil@example.com";
	refused(m, "To", true);
	m = email_base();
	m.to = "ann@example.com\r\nBcc: evil@example.com";
	refused(m, "To", true);
	m = email_base();
	m.from = "clover@example.com\nBcc: evil@example.com";
	refused(m, "From", true);
	m = email_base();
	m.message_id = "1@x\r\nBcc: evil@example.com";
	refused(m, "Message-ID", true);
	m = email_base();
	m.alert_kind = "run_failed\r\nBcc: evil@example.com";
	refused(m, "X-Clover-Alert", true);
	/* other control characters have no business there either */
	m = email_base();
	m.subject = "a\tb";
	refused(m, "Subject", false);
	m = email_base();
	m.to_name = "a\x1b[31mred";
	refused(m, "To", false);
	/* and addresses must be addresses */
	m = email_base();
	m.to = "ann@example.com, evil@example.com";
	refused(m, "To", false);
	m = email_base();
	m.from = "Clover";
	refused(m, "From", false);
	m = email_base();
	m.from = "Clöver <c@example.com>";
	refused(m, "From", false);
	m = email_base();
	m.message_id = "<x@y>";
	refused(m, "Message-ID", false);
}

static void test_addresses(void **state)
{
	static const char *good[] = {"ops@example.com", "first.last+tag@sub.example.co",
	                             "a@localhost", "x_y-z@a-b.c"};
	static const char *bad[] = {
	    "",      "a",    "a@",    "@b",      "a b@c",   "a@b..c",
	    "a@.b",  "a@b.", "<a@b>", "a@b,c@d", "a\r\n@b", "\xc3\xa9@x.org",
	    "a@b@c", ".a@b", "a.@b",  "a..b@c",  "a@b_c",   "\"a\"@b"};
	char long_local[80], long_addr[300];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (!notify_email_valid(good[i]))
			fail_msg("'%s' should be valid", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (notify_email_valid(bad[i]))
			fail_msg("'%s' should be invalid", bad[i]);
	assert_false(notify_email_valid(NULL));
	memset(long_local, 'a', 65);
	snprintf(long_local + 65, sizeof(long_local) - 65, "@b.c");
	assert_false(notify_email_valid(long_local));
	memset(long_addr, 'b', sizeof(long_addr));
	memcpy(long_addr, "a@", 2);
	long_addr[255] = '\0'; /* 255 bytes */
	assert_false(notify_email_valid(long_addr));
	long_addr[254] = '\0';
	assert_true(notify_email_valid(long_addr));
}

static void test_non_ascii_subject_and_name(void **state)
{
	struct notify_email m = email_base();
	char *s;

	(void)state;
	m.subject = "[clover] job caf\xc3\xa9 failed";
	m.to_name = "Zo\xc3\xab Ops";
	s = render(&m);
	assert_non_null(
	    strstr(s, "\r\nSubject: =?utf-8?B?W2Nsb3Zlcl0gam9iIGNhZsOpIGZhaWxlZA==?=\r\n"));
	assert_non_null(strstr(s, "\r\nTo: =?utf-8?B?Wm/DqyBPcHM=?= <ann@example.com>\r\n"));
	free(s);
}

static int b64val(char c)
{
	const char *t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *p = c ? strchr(t, c) : NULL;

	return p ? (int)(p - t) : -1;
}

/* Decodes the encoded-words of an unfolded header value. */
static void decode_words(const char *v, struct buf *out)
{
	while ((v = strstr(v, "=?utf-8?B?")) != NULL) {
		const char *p = v + 10, *end = strstr(p, "?=");
		unsigned acc = 0;
		int bits = 0;

		assert_non_null(end);
		assert_true(end - v <= 75); /* RFC 2047: an encoded-word is at most 75 */
		for (; p < end; p++) {
			int x = b64val(*p);
			char c;

			if (x < 0)
				continue; /* padding */
			acc = (acc << 6) | (unsigned)x;
			bits += 6;
			if (bits >= 8) {
				bits -= 8;
				c = (char)((acc >> bits) & 0xff);
				assert_int_equal(buf_append(out, &c, 1), 0);
			}
		}
		v = end + 2;
	}
}

/* The value of header `name` with folding undone. */
static char *header_value(const char *msg, const char *name)
{
	struct buf b;
	char key[64];
	const char *p;

	snprintf(key, sizeof(key), "\r\n%s: ", name);
	p = strstr(msg, key);
	if (p == NULL && strncmp(msg, key + 2, strlen(key + 2)) == 0)
		p = msg - 2;
	assert_non_null(p);
	p += strlen(key);
	buf_init(&b, 1 << 16);
	for (;;) {
		const char *eol = strstr(p, "\r\n");

		assert_int_equal(buf_append(&b, p, (size_t)(eol - p)), 0);
		if (eol[2] != ' ' && eol[2] != '\t')
			break;
		p = eol + 2; /* unfold: drop the CRLF, keep the whitespace */
	}
	return buf_steal(&b);
}

static void test_long_subjects_fold_and_decode(void **state)
{
	struct notify_email m = email_base();
	struct buf subj, dec;
	char *s, *v;

	(void)state;
	/* 150 x U+00E9 and a 4-byte character: encoded-words on many lines */
	buf_init(&subj, 4096);
	for (int i = 0; i < 150; i++)
		assert_int_equal(buf_appends(&subj, "\xc3\xa9"), 0);
	assert_int_equal(buf_appends(&subj, "\xf0\x9f\x94\xa5 end"), 0);
	m.subject = subj.data;
	s = render(&m);
	assert_crlf_only(s);
	assert_header_lines_within(s, 78);
	v = header_value(s, "Subject");
	buf_init(&dec, 4096);
	decode_words(v, &dec);
	assert_string_equal(dec.data, subj.data);
	free(v);
	free(s);
	buf_free(&dec);

	/* plain ASCII: folded at spaces, unfolds to the same text */
	buf_reset(&subj);
	for (int i = 0; i < 40; i++)
		assert_int_equal(buf_printf(&subj, "%sword%d", i ? " " : "", i), 0);
	m.subject = subj.data;
	s = render(&m);
	assert_header_lines_within(s, 78);
	v = header_value(s, "Subject");
	assert_string_equal(v, subj.data);
	free(v);
	free(s);

	/* ASCII that looks like an encoded-word is encoded, not passed through */
	m.subject = "=?utf-8?B?ZXZpbA==?=";
	s = render(&m);
	v = header_value(s, "Subject");
	assert_string_not_equal(v, m.subject);
	buf_init(&dec, 256);
	decode_words(v, &dec);
	assert_string_equal(dec.data, m.subject);
	free(v);
	free(s);
	buf_free(&dec);
	buf_free(&subj);
}

static void test_display_name_quoted(void **state)
{
	struct notify_email m = email_base();
	char name[251], *s, *v;
	struct buf dec;

	(void)state;
	m.to_name = "Ann \"The Ops\" \\ Lee";
	s = render(&m);
	assert_non_null(
	    strstr(s, "\r\nTo: \"Ann \\\"The Ops\\\" \\\\ Lee\" <ann@example.com>\r\n"));
	free(s);

	/* a long name is not quoted on one line but encoded and folded */
	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	m.to_name = name;
	s = render(&m);
	assert_header_lines_within(s, 78);
	v = header_value(s, "To");
	buf_init(&dec, 1024);
	decode_words(v, &dec);
	assert_string_equal(dec.data, name);
	assert_non_null(strstr(v, "?= <ann@example.com>"));
	free(v);
	free(s);
	buf_free(&dec);

	/* trailing spaces never make a whitespace-only continuation line */
	for (size_t i = 0; i < sizeof(name) - 1; i++)
		name[i] = i >= 100 ? ' ' : i % 6 == 5 ? ' ' : 'w';
	m.subject = name;
	m.to_name = NULL;
	s = render(&m);
	assert_header_lines_within(s, 998);
	for (const char *p = strstr(s, "\r\nSubject: "); p && p < strstr(s, "\r\n\r\n");) {
		const char *eol = strstr(p + 2, "\r\n");

		if (strspn(p + 2, " \t") == (size_t)(eol - p - 2))
			fail_msg("a whitespace-only header line");
		p = eol;
	}
	free(s);
}

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Decodes a quoted-printable body (RFC 2045 6.7). */
static char *qp_decode(const char *s)
{
	struct buf b;

	buf_init(&b, 1 << 20);
	while (*s) {
		if (s[0] == '=' && s[1] == '\r' && s[2] == '\n') {
			s += 3;
		} else if (s[0] == '=') {
			char c;

			assert_true(hexval(s[1]) >= 0 && hexval(s[2]) >= 0);
			c = (char)(hexval(s[1]) * 16 + hexval(s[2]));
			assert_int_equal(buf_append(&b, &c, 1), 0);
			s += 3;
		} else {
			assert_int_equal(buf_append(&b, s, 1), 0);
			s++;
		}
	}
	return buf_steal(&b);
}

static void test_body_quoted_printable(void **state)
{
	struct notify_email m = email_base();
	struct buf body, want;
	char *s, *dec;
	const char *b;

	(void)state;
	buf_init(&body, 1 << 16);
	buf_init(&want, 1 << 16);
	assert_int_equal(buf_appends(&body, "na\xc3\xafve = ok \nline2\t\n"), 0);
	for (int i = 0; i < 2000; i++)
		assert_int_equal(buf_appends(&body, "a"), 0);
	assert_int_equal(buf_appends(&body, "\n.\n"), 0);
	assert_int_equal(buf_appends(&want, "na\xc3\xafve = ok \r\nline2\t\r\n"), 0);
	for (int i = 0; i < 2000; i++)
		assert_int_equal(buf_appends(&want, "a"), 0);
	assert_int_equal(buf_appends(&want, "\r\n.\r\n"), 0);
	m.body = body.data;
	s = render(&m);
	assert_crlf_only(s);
	assert_non_null(strstr(s, "\r\nContent-Transfer-Encoding: quoted-printable\r\n"));
	b = strstr(s, "\r\n\r\n") + 4;
	assert_true(strncmp(b, "na=C3=AFve =3D ok=20\r\nline2=09\r\n", 32) == 0);
	for (const char *p = b; *p;) {
		const char *eol = strstr(p, "\r\n");

		assert_true(eol - p <= 76);
		p = eol + 2;
	}
	dec = qp_decode(b);
	assert_string_equal(dec, want.data);
	free(dec);
	free(s);

	/* ASCII with a line over 998 bytes needs it too */
	buf_reset(&body);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(buf_appends(&body, "x"), 0);
	m.body = body.data;
	s = render(&m);
	assert_non_null(strstr(s, "\r\nContent-Transfer-Encoding: quoted-printable\r\n"));
	free(s);
	buf_free(&body);
	buf_free(&want);
}

static void test_date_format(void **state)
{
	char d[64];

	(void)state;
	notify_date_format(0, d, sizeof(d));
	assert_string_equal(d, "Thu, 01 Jan 1970 00:00:00 +0000");
	notify_date_format(AT0 + 999, d, sizeof(d));
	assert_string_equal(d, "Sun, 08 Mar 2026 07:30:00 +0000");
	notify_date_format(951782400000LL + 3723000, d, sizeof(d));
	assert_string_equal(d, "Tue, 29 Feb 2000 01:02:03 +0000");
	notify_date_format(4102444799000LL, d, sizeof(d));
	assert_string_equal(d, "Thu, 31 Dec 2099 23:59:59 +0000");
}

static void test_from_address(void **state)
{
	char a[300];

	(void)state;
	assert_int_equal(notify_from_address("Clover <c@x.org>", a, sizeof(a)), 0);
	assert_string_equal(a, "c@x.org");
	assert_int_equal(notify_from_address("c@x.org", a, sizeof(a)), 0);
	assert_string_equal(a, "c@x.org");
	assert_int_equal(notify_from_address("Clover <c@x.org> x", a, sizeof(a)), CLOVER_EINVAL);
	assert_int_equal(notify_from_address("Clover <>", a, sizeof(a)), CLOVER_EINVAL);
	assert_int_equal(notify_from_address("clover", a, sizeof(a)), CLOVER_EINVAL);
	assert_int_equal(notify_from_address(NULL, a, sizeof(a)), CLOVER_EINVAL);
	assert_int_equal(notify_from_address("c@x.org", a, 4), CLOVER_EINVAL);
}

/* One message of `count` alerts of `kind` for job/node, via the grouper. */
static struct notify_msg *make_msg(enum notify_kind kind, int count, const char *job,
                                   const char *node, size_t items_max)
{
	static const struct notify_contact c = {"on-call", "oncall@example.com", NULL};
	struct notify_group_cfg cfg = {60000, 0, 60000, items_max, 100};
	struct notify_msg_list out = {0};
	struct notify_grouper *g;
	struct notify_msg *m;
	char jobn[32];

	assert_int_equal(notify_grouper_new(&cfg, &g), 0);
	for (int i = 0; i < count; i++) {
		struct notify_alert a = {.kind = kind,
		                         .job = job,
		                         .node = node,
		                         .run_id = 1000 + i,
		                         .at = AT0 + i * 1000,
		                         .message = "heartbeat lost",
		                         .contacts = &c,
		                         .ncontacts = 1};

		if (job && strcmp(job, "*") == 0) {
			snprintf(jobn, sizeof(jobn), "job-%03d", i);
			a.job = jobn;
		}
		assert_int_equal(notify_grouper_add(g, &a, 0), 0);
	}
	notify_grouper_flush(g, 0, &out);
	assert_int_equal(out.n, 1);
	m = notify_msg_list_pop(&out);
	notify_grouper_free(g);
	return m;
}

static void assert_title(enum notify_kind kind, int count, const char *job, const char *node,
                         const char *want)
{
	struct notify_msg *m = make_msg(kind, count, job, node, 50);
	struct buf b;

	buf_init(&b, 4096);
	assert_int_equal(notify_msg_title(m, &b), 0);
	assert_string_equal(b.data, want);
	buf_free(&b);
	notify_msg_free(m);
}

static void test_titles_every_kind(void **state)
{
	(void)state;
	assert_title(NOTIFY_RUN_FAILED, 1, "a", "e", "job a failed (run 1000)");
	assert_title(NOTIFY_RUN_FAILED, 3, "a", "e", "job a failed 3 times");
	assert_title(NOTIFY_RUN_TIMED_OUT, 1, "a", "e", "job a timed out (run 1000)");
	assert_title(NOTIFY_RUN_TIMED_OUT, 3, "a", "e", "job a timed out 3 times");
	assert_title(NOTIFY_RUN_MISFIRED, 1, "a", NULL, "job a misfired (run 1000)");
	assert_title(NOTIFY_RUN_MISFIRED, 2, "a", NULL, "job a misfired 2 times");
	assert_title(NOTIFY_RUN_SKIPPED, 1, "a", NULL, "job a skipped a run (run 1000)");
	assert_title(NOTIFY_RUN_SKIPPED, 4, "a", NULL, "job a skipped 4 runs");
	assert_title(NOTIFY_NO_EXECUTOR, 1, "a", NULL, "no executor for job a (run 1000)");
	assert_title(NOTIFY_NO_EXECUTOR, 3, "a", NULL, "no executor for job a (3 runs)");
	assert_title(NOTIFY_EXECUTOR_LOST, 1, NULL, "exec-1", "executor exec-1 lost");
	assert_title(NOTIFY_EXECUTOR_LOST, 1, "a", "exec-1",
	             "executor exec-1 lost: 1 job affected");
	assert_title(NOTIFY_EXECUTOR_LOST, 3, "*", "exec-1",
	             "executor exec-1 lost: 3 jobs affected");
	assert_title(NOTIFY_SCHEDULER_LOST, 1, NULL, "sched-2", "scheduler sched-2 lost");
	assert_title(NOTIFY_SCHEDULER_LOST, 2, "*", "sched-2",
	             "scheduler sched-2 lost: 2 jobs affected");
}

static void test_title_cut_at_a_character(void **state)
{
	struct buf job, b;
	struct notify_msg *m;

	(void)state;
	buf_init(&job, 1024);
	assert_int_equal(buf_appends(&job, "x"), 0);
	for (int i = 0; i < 140; i++)
		assert_int_equal(buf_appends(&job, "\xc3\xa9"), 0); /* 281 bytes */
	m = make_msg(NOTIFY_NO_EXECUTOR, 3, job.data, NULL, 50);
	buf_init(&b, 4096);
	assert_int_equal(notify_msg_title(m, &b), 0);
	assert_int_equal(b.len, NOTIFY_TITLE_MAX - 1); /* 300 would split an e-acute */
	assert_int_equal(notify_text_clean(NULL, b.data, SIZE_MAX), b.len); /* valid UTF-8 */
	buf_free(&b);
	buf_free(&job);
	notify_msg_free(m);
}

static void test_text_body_grouped(void **state)
{
	struct notify_msg *m = make_msg(NOTIFY_EXECUTOR_LOST, 500, "*", "exec-7", 50);
	struct buf b;

	(void)state;
	buf_init(&b, 1 << 20);
	assert_int_equal(notify_msg_text(m, &b), 0);
	assert_true(strncmp(b.data,
	                    "executor exec-7 lost: 500 jobs affected: job-000, job-001, job-002, "
	                    "job-003, job-004, job-005, job-006, job-007, job-008, job-009 ... and "
	                    "490 more\n\n",
	                    strlen("executor exec-7 lost: 500 jobs affected: job-000, job-001, "
	                           "job-002, job-003, job-004, job-005, job-006, job-007, job-008, "
	                           "job-009 ... and 490 more\n\n")) == 0);
	assert_non_null(strstr(b.data, "\nKind:     executor_lost (critical)\n"));
	assert_non_null(strstr(b.data, "\nNode:     exec-7\n"));
	assert_null(strstr(b.data, "\nJob:"));
	assert_non_null(strstr(b.data, "\nAlerts:   500, from 2026-03-08T07:30:00.000Z to "
	                               "2026-03-08T07:38:19.000Z\n"));
	assert_non_null(strstr(b.data, "\nDetails:\n- 2026-03-08T07:30:00.000Z job job-000 run "
	                               "1000 on exec-7: heartbeat lost\n"));
	assert_non_null(strstr(b.data, "job job-049 run 1049 on exec-7: heartbeat lost\n"
	                               "... and 450 more\n"));
	assert_true(strcmp(b.data + b.len - strlen("\n-- \nclover alert for on-call\n"),
	                   "\n-- \nclover alert for on-call\n") == 0);
	buf_free(&b);
	notify_msg_free(m);
}

static void test_text_body_single_keeps_message(void **state)
{
	static const struct notify_contact c = {"", "ann@example.com", NULL};
	struct notify_group_cfg cfg = {1, 0, 60000, 50, 100};
	struct notify_alert a = alert_job(NOTIFY_RUN_FAILED, "backup", 42, &c, 1);
	struct notify_msg_list out = {0};
	struct notify_grouper *g;
	struct buf b;

	(void)state;
	a.message = "line one\nline\x1b two\ttabbed\n";
	assert_int_equal(notify_grouper_new(&cfg, &g), 0);
	assert_int_equal(notify_grouper_add(g, &a, 0), 0);
	notify_grouper_poll(g, 1, &out);
	assert_int_equal(out.n, 1);
	buf_init(&b, 1 << 20);
	assert_int_equal(notify_msg_text(out.head, &b), 0);
	assert_non_null(strstr(b.data,
	                       "job backup failed (run 42)\n\nline one\nline  two\ttabbed\n"
	                       "\n\nKind:     run_failed (error)\nJob:      backup\nNode:     "
	                       "exec-1\nRun:      42\nTime:     2026-03-08T07:30:00.042Z\n"));
	assert_null(strstr(b.data, "\nAlerts:"));
	assert_non_null(strstr(b.data, "clover alert for ann@example.com\n")); /* no name */
	buf_free(&b);
	notify_msg_list_free(&out);
	notify_grouper_free(g);
}

static json_t *parse(char *s)
{
	json_error_t err;
	json_t *j;

	assert_non_null(s);
	j = json_loads(s, 0, &err);
	if (j == NULL)
		fail_msg("invalid JSON (%s): %s", err.text, s);
	free(s);
	return j;
}

static const char *jstr(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	assert_true(json_is_string(v));
	return json_string_value(v);
}

static long long jint(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	assert_true(json_is_integer(v));
	return json_integer_value(v);
}

static void test_webhook_json_single(void **state)
{
	struct notify_msg *m = make_msg(NOTIFY_RUN_FAILED, 1, "backup", "exec-1", 50);
	json_t *j = parse(notify_webhook_json(m, "d-1")), *items, *it;

	(void)state;
	assert_int_equal(jint(j, "version"), 1);
	assert_string_equal(jstr(j, "id"), "d-1");
	assert_string_equal(jstr(j, "kind"), "run_failed");
	assert_string_equal(jstr(j, "severity"), "error");
	assert_string_equal(jstr(j, "title"), "job backup failed (run 1000)");
	assert_string_equal(jstr(j, "message"), "heartbeat lost");
	assert_string_equal(jstr(j, "job"), "backup");
	assert_string_equal(jstr(j, "node"), "exec-1");
	assert_int_equal(jint(j, "run_id"), 1000);
	assert_int_equal(jint(j, "count"), 1);
	assert_string_equal(jstr(j, "first_at"), "2026-03-08T07:30:00.000Z");
	assert_string_equal(jstr(j, "last_at"), "2026-03-08T07:30:00.000Z");
	assert_int_equal(jint(j, "items_omitted"), 0);
	assert_string_equal(jstr(j, "contact"), "on-call");
	assert_null(json_object_get(j, "counts"));
	items = json_object_get(j, "items");
	assert_int_equal(json_array_size(items), 1);
	it = json_array_get(items, 0);
	assert_string_equal(jstr(it, "job"), "backup");
	assert_string_equal(jstr(it, "node"), "exec-1");
	assert_int_equal(jint(it, "run_id"), 1000);
	assert_string_equal(jstr(it, "at"), "2026-03-08T07:30:00.000Z");
	assert_string_equal(jstr(it, "message"), "heartbeat lost");
	json_decref(j);
	notify_msg_free(m);
}

static void test_webhook_json_grouped(void **state)
{
	struct notify_msg *m = make_msg(NOTIFY_EXECUTOR_LOST, 500, "*", "exec-7", 50);
	json_t *j = parse(notify_webhook_json(m, "d-2"));

	(void)state;
	assert_string_equal(jstr(j, "kind"), "executor_lost");
	assert_string_equal(jstr(j, "severity"), "critical");
	assert_string_equal(jstr(j, "title"), "executor exec-7 lost: 500 jobs affected");
	assert_true(strncmp(jstr(j, "message"),
	                    "executor exec-7 lost: 500 jobs affected: job-000, ", 50) == 0);
	assert_true(json_is_null(json_object_get(j, "job")));
	assert_true(json_is_null(json_object_get(j, "run_id")));
	assert_string_equal(jstr(j, "node"), "exec-7");
	assert_int_equal(jint(j, "count"), 500);
	assert_int_equal(json_array_size(json_object_get(j, "items")), 50);
	assert_int_equal(jint(j, "items_omitted"), 450);
	assert_string_equal(jstr(j, "last_at"), "2026-03-08T07:38:19.000Z");
	json_decref(j);
	notify_msg_free(m);
}

static void test_webhook_json_summary(void **state)
{
	static const struct notify_contact c = {"ann", NULL, "http://h.example/x"};
	struct notify_group_cfg cfg = {10, 1, 100000, 2, 100};
	struct notify_msg_list out = {0};
	struct notify_grouper *g;
	struct notify_msg *s;
	json_t *j;

	(void)state;
	assert_int_equal(notify_grouper_new(&cfg, &g), 0);
	for (int i = 0; i < 4; i++) {
		struct notify_alert a = alert_job(i == 3 ? NOTIFY_RUN_SKIPPED : NOTIFY_RUN_FAILED,
		                                  i == 1 ? "b" : "a", i + 1, &c, 1);

		assert_int_equal(notify_grouper_add(g, &a, i * 100), 0);
		notify_grouper_poll(g, i * 100 + 10, &out);
	}
	notify_grouper_flush(g, 1000, &out);
	assert_int_equal(out.n, 5); /* 1 sent, 3 held, 1 summary */
	s = out.tail;
	assert_int_equal(s->kind, NOTIFY_SUMMARY);
	j = parse(notify_webhook_json(s, "d-3"));
	assert_string_equal(jstr(j, "kind"), "summary");
	assert_string_equal(jstr(j, "severity"), "error");
	assert_string_equal(jstr(j, "title"), "3 alerts held back by the rate limit");
	assert_string_equal(jstr(j, "message"), "3 alerts held back by the rate limit: "
	                                        "2 run_failed, 1 run_skipped");
	assert_int_equal(jint(j, "count"), 3);
	assert_int_equal(jint(json_object_get(j, "counts"), "run_failed"), 2);
	assert_int_equal(jint(json_object_get(j, "counts"), "run_skipped"), 1);
	assert_int_equal(json_array_size(json_object_get(j, "items")), 2);
	assert_int_equal(jint(j, "items_omitted"), 1);
	assert_string_equal(jstr(json_array_get(json_object_get(j, "items"), 0), "message"),
	                    "job b failed (run 2)");
	json_decref(j);
	notify_msg_list_free(&out);
	notify_grouper_free(g);
}

static void test_invalid_utf8_cleaned(void **state)
{
	static const struct notify_contact cs[] = {
	    {"n\xff", "ann@example.com", NULL},
	    {"nobody", NULL, NULL},
	    {"w", "", "http://h.example/x"},
	};
	struct notify_alert a = alert_job(NOTIFY_RUN_FAILED, "bad\xff\xfejob", 7, cs, 3), *d;
	struct notify_msg *m;
	struct notify_group_cfg cfg = {10, 0, 1000, 50, 100};
	struct notify_msg_list out = {0};
	struct notify_grouper *g;
	json_t *j;

	(void)state;
	a.message = "trunc\xc3";
	a.at = 0;
	d = notify_alert_dup(&a, 12345);
	assert_non_null(d);
	assert_string_equal(d->job, "bad\xef\xbf\xbd\xef\xbf\xbdjob");
	assert_string_equal(d->message, "trunc\xef\xbf\xbd");
	assert_int_equal(d->at, 12345);
	assert_int_equal(d->ncontacts, 2); /* "nobody" has no address */
	assert_string_equal(d->contacts[0].name, "n\xef\xbf\xbd");
	assert_null(d->contacts[1].email); /* "" is no address */
	assert_string_equal(d->contacts[1].webhook, "http://h.example/x");
	assert_int_equal(notify_grouper_new(&cfg, &g), 0);
	assert_int_equal(notify_grouper_add(g, d, 0), 0);
	notify_grouper_flush(g, 0, &out);
	assert_int_equal(out.n, 2);
	m = out.tail;
	j = parse(notify_webhook_json(m, "x"));
	assert_string_equal(jstr(j, "job"), "bad\xef\xbf\xbd\xef\xbf\xbdjob");
	json_decref(j);
	notify_msg_list_free(&out);
	notify_grouper_free(g);
	free(d);
}

static void test_text_clean(void **state)
{
	char out[64];

	(void)state;
	assert_int_equal(notify_text_clean(out, "\xc0\xaf", 64), 6); /* overlong */
	assert_string_equal(out, "\xef\xbf\xbd\xef\xbf\xbd");
	assert_int_equal(notify_text_clean(out, "\xed\xa0\x80", 64), 9);      /* surrogate */
	assert_int_equal(notify_text_clean(out, "\xf4\x90\x80\x80", 64), 12); /* > U+10FFFF */
	assert_int_equal(notify_text_clean(out, "\xf0\x9f\x94\xa5", 64), 4);  /* fine */
	assert_string_equal(out, "\xf0\x9f\x94\xa5");
	assert_int_equal(notify_text_clean(out, "a\xc3\xa9", 2), 1); /* no half character */
	assert_string_equal(out, "a");
	assert_int_equal(notify_text_clean(out, "a\xc3\xa9", 3), 3);
	assert_int_equal(notify_text_clean(NULL, "abc", 2), 2);
	assert_int_equal(notify_utf8_cut("a\xc3\xa9", 2), 1);
	assert_int_equal(notify_utf8_cut("a\xc3\xa9", 3), 3);
}

static void test_alert_dup_caps(void **state)
{
	struct notify_contact c = {"ann", NULL, NULL};
	struct notify_alert a = alert_job(NOTIFY_RUN_FAILED, "j", 1, &c, 1), *d;
	char *big = malloc(10000), *addr = malloc(400);

	(void)state;
	assert_non_null(big);
	assert_non_null(addr);
	memset(big, 'm', 9999);
	big[9999] = '\0';
	memset(addr, 'a', 399);
	addr[1] = '@';
	addr[399] = '\0';
	a.message = big;
	a.job = big;
	c.email = addr;
	d = notify_alert_dup(&a, 1);
	assert_non_null(d);
	assert_int_equal(strlen(d->message), NOTIFY_MESSAGE_MAX);
	assert_int_equal(strlen(d->job), NOTIFY_NAME_MAX);
	/* cut one past the limit so it fails its check instead of changing */
	assert_int_equal(strlen(d->contacts[0].email), NOTIFY_ADDRESS_MAX + 1);
	assert_false(notify_email_valid(d->contacts[0].email));
	assert_int_equal(d->at, 1772955000001LL); /* given, kept */
	free(d);
	free(big);
	free(addr);
}

static void test_urls(void **state)
{
	char r[256];

	(void)state;
	assert_true(notify_url_valid("http://127.0.0.1:8080/hook"));
	assert_true(notify_url_valid("HTTPS://hooks.example.com"));
	assert_false(notify_url_valid("ftp://x"));
	assert_false(notify_url_valid("http://"));
	assert_false(notify_url_valid("http:///path"));
	assert_false(notify_url_valid("http://a b"));
	assert_false(notify_url_valid("http://a\r\nX: y"));
	assert_false(notify_url_valid("javascript:alert(1)"));
	assert_false(notify_url_valid(NULL));
	notify_url_redact("https://user:pw@hooks.slack.com/services/T/B/secret?x=1", r, sizeof(r));
	assert_string_equal(r, "https://hooks.slack.com/...");
	notify_url_redact("http://127.0.0.1:8080", r, sizeof(r));
	assert_string_equal(r, "http://127.0.0.1:8080");
	notify_url_redact("http://h.example/", r, sizeof(r));
	assert_string_equal(r, "http://h.example");
	notify_url_redact("http://h.example?token=abc", r, sizeof(r));
	assert_string_equal(r, "http://h.example/...");
	notify_url_redact("nope", r, sizeof(r));
	assert_string_equal(r, "(invalid URL)");
}

static void test_names(void **state)
{
	enum notify_kind k;
	enum notify_starttls t;

	(void)state;
	for (int i = 0; i < NOTIFY_SUMMARY; i++) {
		assert_int_equal(notify_kind_parse(notify_kind_name((enum notify_kind)i), &k), 0);
		assert_int_equal(k, i);
	}
	assert_int_equal(notify_kind_parse("summary", &k), CLOVER_EINVAL);
	assert_int_equal(notify_kind_parse("nope", &k), CLOVER_EINVAL);
	assert_int_equal(notify_kind_parse(NULL, &k), CLOVER_EINVAL);
	assert_string_equal(notify_kind_name(NOTIFY_SUMMARY), "summary");
	assert_string_equal(notify_kind_name((enum notify_kind)99), "unknown");
	assert_string_equal(notify_severity_name(notify_kind_severity(NOTIFY_RUN_SKIPPED)),
	                    "warning");
	assert_string_equal(notify_severity_name(notify_kind_severity(NOTIFY_NO_EXECUTOR)),
	                    "error");
	assert_string_equal(notify_severity_name(notify_kind_severity(NOTIFY_SCHEDULER_LOST)),
	                    "critical");
	assert_true(notify_kind_by_node(NOTIFY_EXECUTOR_LOST));
	assert_false(notify_kind_by_node(NOTIFY_NO_EXECUTOR));
	assert_int_equal(notify_starttls_parse("require", &t), 0);
	assert_int_equal(t, NOTIFY_STARTTLS_REQUIRE);
	assert_int_equal(notify_starttls_parse("yes", &t), CLOVER_EINVAL);
	assert_string_equal(notify_starttls_name(NOTIFY_STARTTLS_TRY), "try");
	assert_string_equal(notify_channel_name(NOTIFY_WEBHOOK), "webhook");
	assert_string_equal(notify_outcome_name(NOTIFY_HELD), "held");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_email_exact_bytes),
	    cmocka_unit_test(test_email_line_ends_normalised),
	    cmocka_unit_test(test_header_injection_refused),
	    cmocka_unit_test(test_addresses),
	    cmocka_unit_test(test_non_ascii_subject_and_name),
	    cmocka_unit_test(test_long_subjects_fold_and_decode),
	    cmocka_unit_test(test_display_name_quoted),
	    cmocka_unit_test(test_body_quoted_printable),
	    cmocka_unit_test(test_date_format),
	    cmocka_unit_test(test_from_address),
	    cmocka_unit_test(test_titles_every_kind),
	    cmocka_unit_test(test_title_cut_at_a_character),
	    cmocka_unit_test(test_text_body_grouped),
	    cmocka_unit_test(test_text_body_single_keeps_message),
	    cmocka_unit_test(test_webhook_json_single),
	    cmocka_unit_test(test_webhook_json_grouped),
	    cmocka_unit_test(test_webhook_json_summary),
	    cmocka_unit_test(test_invalid_utf8_cleaned),
	    cmocka_unit_test(test_text_clean),
	    cmocka_unit_test(test_alert_dup_caps),
	    cmocka_unit_test(test_urls),
	    cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
