/* SPDX-License-Identifier: MIT */
/*
 * What a message says, and its two wire forms. Pure functions of their
 * inputs (the Date and Message-ID come in as arguments), so tests can pin
 * exact output.
 *
 * Every message has a *title* (the Subject without "[clover] ": "job backup
 * failed (run 42)", "executor x lost: 500 jobs affected"), a *headline* (the
 * title, plus the affected jobs or the held-back counts: "...: a, b, c ...
 * and 497 more") and a plain-text body listing up to `items_max` alerts.
 *
 * E-mail: an RFC 5322 message with CRLF line ends. Header values that come
 * from outside (addresses, names, the subject, which holds job names) are
 * refused when they contain a CR, LF or other control character, so nothing
 * can add a header; non-ASCII names and subjects become RFC 2047
 * encoded-words. The body is 7bit when it is ASCII with lines of at most 998
 * bytes, quoted-printable otherwise. libcurl does the SMTP dot-stuffing.
 *
 * Webhook: one JSON object (docs/alerts.md), built with jansson.
 */
#include "notify/internal.h"

#include "base/time.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EMAIL_BODY_MAX  (1024 * 1024) /* see render_email in notify.c */
#define LINE_FOLD       78            /* RFC 5322: lines SHOULD be at most 78 characters */
#define LINE_MAX_7BIT   998           /* and MUST be at most 998 */
#define QP_LINE         76
#define NAME_QUOTED_MAX 200 /* longer display names become encoded-words */
#define EW_CHUNK        42  /* input bytes per encoded-word: 56 base64 chars, 68 in all */

/* ---- text ---- */

static int title_raw(const struct notify_msg *m, struct buf *b)
{
	const char *job = m->job ? m->job : "?", *node = m->node ? m->node : "?";
	bool one = m->count == 1;
	int rc = 0;

	switch (m->kind) {
	case NOTIFY_RUN_FAILED:
		rc = one ? buf_printf(b, "job %s failed", job)
		         : buf_printf(b, "job %s failed %zu times", job, m->count);
		break;
	case NOTIFY_RUN_TIMED_OUT:
		rc = one ? buf_printf(b, "job %s timed out", job)
		         : buf_printf(b, "job %s timed out %zu times", job, m->count);
		break;
	case NOTIFY_RUN_MISFIRED:
		rc = one ? buf_printf(b, "job %s misfired", job)
		         : buf_printf(b, "job %s misfired %zu times", job, m->count);
		break;
	case NOTIFY_RUN_SKIPPED:
		rc = one ? buf_printf(b, "job %s skipped a run", job)
		         : buf_printf(b, "job %s skipped %zu runs", job, m->count);
		break;
	case NOTIFY_NO_EXECUTOR:
		rc = one ? buf_printf(b, "no executor for job %s", job)
		         : buf_printf(b, "no executor for job %s (%zu runs)", job, m->count);
		break;
	case NOTIFY_EXECUTOR_LOST:
	case NOTIFY_SCHEDULER_LOST:
		rc = buf_printf(b, "%s %s lost",
		                m->kind == NOTIFY_EXECUTOR_LOST ? "executor" : "scheduler", node);
		if (rc == 0 && m->njobs)
			rc = buf_printf(b, ": %zu job%s affected", m->njobs,
			                m->njobs == 1 ? "" : "s");
		return rc;
	case NOTIFY_SUMMARY:
		return buf_printf(b, "%zu alert%s held back by the rate limit", m->count,
		                  m->count == 1 ? "" : "s");
	}
	if (rc == 0 && one && m->run_id)
		rc = buf_printf(b, " (run %lld)", (long long)m->run_id);
	return rc;
}

int notify_msg_title(const struct notify_msg *m, struct buf *out)
{
	struct buf b;
	int rc;

	buf_init(&b, NOTIFY_TITLE_MAX + NOTIFY_NAME_MAX + 64);
	rc = title_raw(m, &b);
	if (rc == 0)
		rc = buf_append(
		    out, b.data,
		    notify_utf8_cut(b.data, b.len < NOTIFY_TITLE_MAX ? b.len : NOTIFY_TITLE_MAX));
	buf_free(&b);
	return rc;
}

int notify_msg_headline(const struct notify_msg *m, struct buf *out)
{
	int rc = notify_msg_title(m, out);
	size_t listed = 0;
	const char *sep = ": ";

	if (rc)
		return rc;
	if (m->kind == NOTIFY_SUMMARY) {
		for (int k = 0; rc == 0 && k < NOTIFY_SUMMARY; k++) {
			if (m->kind_count[k] == 0)
				continue;
			rc = buf_printf(out, "%s%zu %s", sep, m->kind_count[k],
			                notify_kind_name((enum notify_kind)k));
			sep = ", ";
		}
		return rc;
	}
	if (!notify_kind_by_node(m->kind) || m->njobs == 0)
		return 0;
	for (size_t i = 0; rc == 0 && i < m->nitems && listed < NOTIFY_NAMES_IN_LINE; i++) {
		if (m->items[i].job == NULL)
			continue;
		rc = buf_printf(out, "%s%s", sep, m->items[i].job);
		sep = ", ";
		listed++;
	}
	if (rc == 0 && m->njobs > listed)
		rc = buf_printf(out, " ... and %zu more", m->njobs - listed);
	return rc;
}

/* Appends s[0..n) with control characters (but LF and tab, unless
 * `one_line`) turned into spaces; `one_line` stops at the first line end. */
static int append_clean(struct buf *b, const char *s, size_t n, bool one_line)
{
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (one_line && (c == '\n' || c == '\r'))
			break;
		if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f || (one_line && c == '\t'))
			c = ' ';
		rc = buf_append(b, &c, 1);
	}
	return rc;
}

/* The first line of s, cleaned, cut to NOTIFY_ITEM_LINE_MAX with "...". */
static int append_line(struct buf *b, const char *s)
{
	size_t n = strcspn(s, "\r\n"), cut = n;
	int rc;

	if (cut > NOTIFY_ITEM_LINE_MAX)
		cut = notify_utf8_cut(s, NOTIFY_ITEM_LINE_MAX);
	rc = append_clean(b, s, cut, true);
	if (rc == 0 && cut < n)
		rc = buf_appends(b, "...");
	return rc;
}

static int item_line(struct buf *b, const struct notify_msg *m, const struct notify_item *it)
{
	char at[40];
	int rc;

	time_format_rfc3339(it->at, at, sizeof(at), true);
	rc = buf_printf(b, "- %s", at);
	if (m->kind != NOTIFY_SUMMARY) {
		if (rc == 0 && it->job)
			rc = buf_printf(b, " job %s", it->job);
		if (rc == 0 && it->run_id)
			rc = buf_printf(b, " run %lld", (long long)it->run_id);
		if (rc == 0 && it->node)
			rc = buf_printf(b, " on %s", it->node);
	}
	if (rc == 0 && it->message && it->message[0]) {
		rc = buf_appends(b, m->kind == NOTIFY_SUMMARY ? " " : ": ");
		if (rc == 0)
			rc = append_line(b, it->message);
	}
	return rc ? rc : buf_appends(b, "\n");
}

int notify_msg_text(const struct notify_msg *m, struct buf *out)
{
	char first[40], last[40];
	int rc;

	time_format_rfc3339(m->first_at, first, sizeof(first), true);
	time_format_rfc3339(m->last_at, last, sizeof(last), true);
	rc = notify_msg_headline(m, out);
	if (rc == 0)
		rc = buf_appends(out, "\n\n");
	if (rc == 0 && m->kind == NOTIFY_SUMMARY)
		rc = buf_appends(out, "This address reached its rate limit; these alerts were held "
		                      "back and are summed up here.\n\n");
	if (rc == 0 && m->count == 1 && m->nitems == 1 && m->items[0].message &&
	    m->items[0].message[0]) {
		const char *msg = m->items[0].message;

		rc = append_clean(out, msg, strlen(msg), false);
		if (rc == 0)
			rc = buf_appends(out, "\n\n");
	}
	if (rc == 0)
		rc = buf_printf(out, "Kind:     %s (%s)\n", notify_kind_name(m->kind),
		                notify_severity_name(m->severity));
	if (rc == 0 && m->kind != NOTIFY_SUMMARY) {
		if (rc == 0 && m->job)
			rc = buf_printf(out, "Job:      %s\n", m->job);
		if (rc == 0 && m->node)
			rc = buf_printf(out, "Node:     %s\n", m->node);
		if (rc == 0 && m->run_id)
			rc = buf_printf(out, "Run:      %lld\n", (long long)m->run_id);
	}
	if (rc == 0 && m->count == 1)
		rc = buf_printf(out, "Time:     %s\n", first);
	else if (rc == 0)
		rc = buf_printf(out, "Alerts:   %zu, from %s to %s\n", m->count, first, last);
	if (rc == 0 && (m->count > 1 || m->kind == NOTIFY_SUMMARY)) {
		rc = buf_appends(out, m->kind == NOTIFY_SUMMARY ? "\nHeld back:\n" : "\nDetails:\n");
		for (size_t i = 0; rc == 0 && i < m->nitems; i++)
			rc = item_line(out, m, &m->items[i]);
		if (rc == 0 && m->held_msgs > m->nitems)
			rc = buf_printf(out, "... and %zu more\n", m->held_msgs - m->nitems);
		else if (rc == 0 && m->kind != NOTIFY_SUMMARY && m->count > m->nitems)
			rc = buf_printf(out, "... and %zu more\n", m->count - m->nitems);
	}
	if (rc == 0)
		rc = buf_printf(out, "\n-- \nclover alert for %s\n",
		                m->contact[0] ? m->contact : m->address);
	return rc;
}

/* ---- e-mail ---- */

static const char *const wdays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

void notify_date_format(int64_t ms, char *out, size_t n)
{
	struct civil c;
	int64_t days = ms >= 0 ? ms / MS_PER_DAY : -((-ms + MS_PER_DAY - 1) / MS_PER_DAY);

	time_to_civil(ms, &c);
	snprintf(out, n, "%s, %02d %s %04lld %02d:%02d:%02d +0000", wdays[time_weekday(days)],
	         c.day, months[c.month - 1], (long long)c.year, c.hour, c.min, c.sec);
}

int notify_from_address(const char *from, char *out, size_t n)
{
	const char *lt = from ? strrchr(from, '<') : NULL, *gt;
	size_t len;

	if (from == NULL)
		return CLOVER_EINVAL;
	if (lt) {
		gt = strchr(lt, '>');
		if (gt == NULL || gt[1] != '\0')
			return CLOVER_EINVAL;
		from = lt + 1;
		len = (size_t)(gt - from);
	} else {
		len = strlen(from);
	}
	if (len >= n)
		return CLOVER_EINVAL;
	memcpy(out, from, len);
	out[len] = '\0';
	return notify_email_valid(out) ? 0 : CLOVER_EINVAL;
}

/* Refuses any control character in a header value: CR and LF would start a
 * new header (or end the header block), the others have no business there. */
static int check_header(const char *name, const char *v, bool ascii, struct error_info *e)
{
	for (const unsigned char *p = (const unsigned char *)v; p && *p; p++) {
		if (*p == '\r' || *p == '\n')
			return error_set(e, CLOVER_EINVAL, name,
			                 "header injection refused: %s contains a line break",
			                 name);
		if (*p < 0x20 || *p == 0x7f)
			return error_set(e, CLOVER_EINVAL, name, "%s contains a control character",
			                 name);
		if (ascii && *p >= 0x80)
			return error_set(e, CLOVER_EINVAL, name, "%s must be ASCII", name);
	}
	return 0;
}

static bool plain_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

static int base64(struct buf *b, const unsigned char *p, size_t n)
{
	static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16;
		char q[4];

		if (i + 1 < n)
			v |= (unsigned)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		q[0] = t[(v >> 18) & 63];
		q[1] = t[(v >> 12) & 63];
		q[2] = i + 1 < n ? t[(v >> 6) & 63] : '=';
		q[3] = i + 2 < n ? t[v & 63] : '=';
		rc = buf_append(b, q, 4);
	}
	return rc;
}

/* RFC 2047 "B" encoded-words of at most 42 bytes of whole characters each,
 * folded onto continuation lines. */
static int encoded_words(struct buf *b, const char *s)
{
	size_t len = strlen(s);
	int rc = 0;

	for (size_t off = 0; rc == 0 && off < len;) {
		size_t n = len - off < EW_CHUNK ? len - off : notify_utf8_cut(s + off, EW_CHUNK);

		if (n == 0)
			n = 1; /* not UTF-8 at all: still terminate */
		if (off > 0)
			rc = buf_appends(b, "\r\n ");
		if (rc == 0)
			rc = buf_appends(b, "=?utf-8?B?");
		if (rc == 0)
			rc = base64(b, (const unsigned char *)s + off, n);
		if (rc == 0)
			rc = buf_appends(b, "?=");
		off += n;
	}
	return rc;
}

/* Plain ASCII folded at spaces so lines stay near 78 characters; `col` is
 * where the value starts on its line. Unfolding gives back the value. */
static int folded(struct buf *b, const char *s, size_t col)
{
	int rc = 0;

	while (rc == 0 && *s) {
		size_t sp = (*s == ' ') ? 1 : 0, w = strcspn(s + sp, " ");

		/* w > 0: a continuation line must not be all whitespace */
		if (sp && w > 0 && col + 1 + w > LINE_FOLD && col > 0) {
			rc = buf_appends(b, "\r\n");
			col = 0;
		}
		if (rc == 0)
			rc = buf_append(b, s, sp + w);
		col += sp + w;
		s += sp + w;
	}
	return rc;
}

/* A phrase for a display name or subject: as is when plain ASCII, else
 * encoded-words. Display names are quoted. */
static int header_text(struct buf *b, const char *s, bool quote, size_t col)
{
	int rc = 0;

	/* A quoted name is not folded: keep it short enough for one line. */
	if (!plain_ascii(s) || strstr(s, "=?") || strlen(s) > (quote ? NAME_QUOTED_MAX : 900))
		return encoded_words(b, s);
	if (!quote)
		return folded(b, s, col);
	rc = buf_appends(b, "\"");
	for (; rc == 0 && *s; s++) {
		if (*s == '"' || *s == '\\')
			rc = buf_appends(b, "\\");
		if (rc == 0)
			rc = buf_append(b, s, 1);
	}
	return rc ? rc : buf_appends(b, "\"");
}

/* LF, CR and CRLF become CRLF; the text ends with one. */
static int crlf(struct buf *b, const char *s)
{
	int rc = 0;

	for (; rc == 0 && *s; s++) {
		if (*s == '\r' || *s == '\n') {
			if (*s == '\r' && s[1] == '\n')
				s++;
			rc = buf_appends(b, "\r\n");
		} else {
			rc = buf_append(b, s, 1);
		}
	}
	if (rc == 0 && (b->len < 2 || memcmp(b->data + b->len - 2, "\r\n", 2) != 0))
		rc = buf_appends(b, "\r\n");
	return rc;
}

static bool needs_qp(const struct buf *b)
{
	size_t col = 0;

	for (size_t i = 0; i < b->len; i++) {
		unsigned char c = (unsigned char)b->data[i];

		if (c >= 0x80 || c == 0)
			return true;
		if (c == '\n')
			col = 0;
		else if (++col > LINE_MAX_7BIT)
			return true;
	}
	return false;
}

/* RFC 2045 6.7 quoted-printable of CRLF text: lines of at most 76 chars,
 * "=" soft breaks, whitespace before a line end encoded. */
static int quoted_printable(struct buf *out, const struct buf *in)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t col = 0;
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < in->len; i++) {
		unsigned char c = (unsigned char)in->data[i];
		bool eol = i + 1 < in->len && in->data[i] == '\r' && in->data[i + 1] == '\n';
		bool at_end = i + 1 >= in->len || in->data[i + 1] == '\r';
		char tok[3];
		size_t n = 1;

		if (eol) {
			rc = buf_appends(out, "\r\n");
			col = 0;
			i++;
			continue;
		}
		if ((c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !at_end)) {
			tok[0] = (char)c;
		} else {
			tok[0] = '=';
			tok[1] = hex[c >> 4];
			tok[2] = hex[c & 15];
			n = 3;
		}
		if (col + n > QP_LINE - 1) {
			rc = buf_appends(out, "=\r\n");
			col = 0;
		}
		if (rc == 0)
			rc = buf_append(out, tok, n);
		col += n;
	}
	return rc;
}

/* Bytes written since the last CRLF in b. */
static size_t line_len(const struct buf *b)
{
	size_t i = b->len;

	while (i >= 2 && !(b->data[i - 2] == '\r' && b->data[i - 1] == '\n'))
		i--;
	return b->len - (i >= 2 ? i : 0);
}

int notify_email_render(const struct notify_email *m, struct buf *out, struct error_info *e)
{
	char addr[NOTIFY_ADDRESS_MAX + 1], date[64];
	struct buf body;
	bool qp;
	int rc;

	if ((rc = check_header("From", m->from, true, e)) ||
	    (rc = check_header("To", m->to, true, e)) ||
	    (rc = check_header("To", m->to_name, false, e)) ||
	    (rc = check_header("Subject", m->subject, false, e)) ||
	    (rc = check_header("Message-ID", m->message_id, true, e)) ||
	    (rc = check_header("X-Clover-Alert", m->alert_kind, true, e)))
		return rc;
	if (m->from == NULL || notify_from_address(m->from, addr, sizeof(addr)) != 0)
		return error_set(e, CLOVER_EINVAL, "From", "not a valid sender address: '%s'",
		                 m->from ? m->from : "");
	if (!notify_email_valid(m->to))
		return error_set(e, CLOVER_EINVAL, "To", "not a valid e-mail address: '%s'",
		                 m->to ? m->to : "");
	if (m->message_id == NULL || strpbrk(m->message_id, "<> ") || !strchr(m->message_id, '@'))
		return error_set(e, CLOVER_EINVAL, "Message-ID", "not a valid message id");

	buf_init(&body, EMAIL_BODY_MAX);
	rc = crlf(&body, m->body ? m->body : "");
	if (rc)
		goto out;
	qp = needs_qp(&body);
	notify_date_format(m->date_ms, date, sizeof(date));
	rc = buf_printf(out, "Date: %s\r\nFrom: %s\r\nTo: ", date, m->from);
	if (rc == 0 && m->to_name && m->to_name[0]) {
		rc = header_text(out, m->to_name, true, 4);
		if (rc == 0 && line_len(out) + 3 + strlen(m->to) > LINE_FOLD)
			rc = buf_appends(out, "\r\n");
		if (rc == 0)
			rc = buf_printf(out, " <%s>", m->to);
	} else if (rc == 0) {
		rc = buf_appends(out, m->to);
	}
	if (rc == 0)
		rc = buf_appends(out, "\r\nSubject: ");
	if (rc == 0)
		rc = header_text(out, m->subject ? m->subject : "", false, 9);
	if (rc == 0)
		rc = buf_printf(out,
		                "\r\nMessage-ID: <%s>\r\n"
		                "MIME-Version: 1.0\r\n"
		                "Content-Type: text/plain; charset=utf-8\r\n"
		                "Content-Transfer-Encoding: %s\r\n"
		                "Auto-Submitted: auto-generated\r\n",
		                m->message_id, qp ? "quoted-printable" : "7bit");
	if (rc == 0 && m->alert_kind)
		rc = buf_printf(out, "X-Clover-Alert: %s\r\n", m->alert_kind);
	if (rc == 0)
		rc = buf_appends(out, "\r\n");
	if (rc == 0)
		rc = qp ? quoted_printable(out, &body) : buf_append(out, body.data, body.len);
out:
	buf_free(&body);
	if (rc)
		error_set(e, rc, NULL, "cannot render the e-mail: %s", clover_strerror(rc));
	return rc;
}

/* ---- webhook ---- */

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *time_json(int64_t ms)
{
	char t[40];

	return json_string(time_format_rfc3339(ms, t, sizeof(t), true));
}

/* json_object_set_new that remembers a failure (a NULL value included). */
static void set(json_t *o, const char *key, json_t *v, bool *ok)
{
	if (v == NULL || json_object_set_new(o, key, v) != 0)
		*ok = false;
}

static json_t *items_json(const struct notify_msg *m, bool *ok)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < m->nitems; i++) {
		const struct notify_item *it = &m->items[i];
		json_t *o = json_object();

		if (o == NULL || json_array_append_new(a, o) != 0) {
			*ok = false;
			break;
		}
		set(o, "job", str_or_null(it->job), ok);
		set(o, "node", str_or_null(it->node), ok);
		set(o, "run_id", it->run_id ? json_integer(it->run_id) : json_null(), ok);
		set(o, "at", time_json(it->at), ok);
		set(o, "message", str_or_null(it->message), ok);
	}
	return a;
}

char *notify_webhook_json(const struct notify_msg *m, const char *delivery_id)
{
	json_t *o = json_object(), *counts;
	struct buf title, line;
	size_t listed = m->kind == NOTIFY_SUMMARY ? m->held_msgs : m->count;
	char *s = NULL;
	bool ok = o != NULL;

	buf_init(&title, NOTIFY_TITLE_MAX + 64);
	buf_init(&line, 64 * 1024);
	if (notify_msg_title(m, &title) || notify_msg_headline(m, &line))
		ok = false;
	if (!ok)
		goto out;
	set(o, "version", json_integer(1), &ok);
	set(o, "id", json_string(delivery_id), &ok);
	set(o, "kind", json_string(notify_kind_name(m->kind)), &ok);
	set(o, "severity", json_string(notify_severity_name(m->severity)), &ok);
	set(o, "title", json_string(title.data), &ok);
	if (m->count == 1 && m->nitems == 1 && m->items[0].message && m->items[0].message[0])
		set(o, "message", json_string(m->items[0].message), &ok);
	else
		set(o, "message", json_string(line.data), &ok);
	set(o, "job", str_or_null(m->job), &ok);
	set(o, "node", str_or_null(m->node), &ok);
	set(o, "run_id", m->run_id ? json_integer(m->run_id) : json_null(), &ok);
	set(o, "count", json_integer((json_int_t)m->count), &ok);
	set(o, "first_at", time_json(m->first_at), &ok);
	set(o, "last_at", time_json(m->last_at), &ok);
	set(o, "items", items_json(m, &ok), &ok);
	set(o, "items_omitted", json_integer((json_int_t)(listed - m->nitems)), &ok);
	if (m->kind == NOTIFY_SUMMARY) {
		counts = json_object();
		for (int k = 0; counts && k < NOTIFY_SUMMARY; k++)
			if (m->kind_count[k])
				set(counts, notify_kind_name((enum notify_kind)k),
				    json_integer((json_int_t)m->kind_count[k]), &ok);
		set(o, "counts", counts, &ok);
	}
	set(o, "contact", json_string(m->contact), &ok);
	if (ok)
		s = json_dumps(o, JSON_COMPACT);
out:
	json_decref(o);
	buf_free(&title);
	buf_free(&line);
	return s;
}
