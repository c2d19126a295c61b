/* SPDX-License-Identifier: MIT */
/*
 * The alert vocabulary and the hygiene applied to everything that comes in.
 *
 * Kinds, severities, channels and outcomes have fixed names used in e-mails,
 * webhook bodies and reports. Alert text arrives from job output and
 * operators' input, so it is cleaned once on the way in: invalid UTF-8 bytes
 * become U+FFFD (jansson and mail readers both need valid UTF-8) and long
 * strings are cut at a character boundary. Addresses are checked strictly
 * before they reach a header or an SMTP command, since a CR or LF there would
 * let a job name inject headers or commands.
 */
#include "notify/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const kind_names[NOTIFY_KIND_COUNT] = {
    [NOTIFY_RUN_FAILED] = "run_failed",         [NOTIFY_RUN_TIMED_OUT] = "run_timed_out",
    [NOTIFY_RUN_MISFIRED] = "run_misfired",     [NOTIFY_RUN_SKIPPED] = "run_skipped",
    [NOTIFY_NO_EXECUTOR] = "no_executor",       [NOTIFY_EXECUTOR_LOST] = "executor_lost",
    [NOTIFY_SCHEDULER_LOST] = "scheduler_lost", [NOTIFY_SUMMARY] = "summary",
};

const char *notify_kind_name(enum notify_kind k)
{
	if ((int)k < 0 || k >= NOTIFY_KIND_COUNT)
		return "unknown";
	return kind_names[k];
}

int notify_kind_parse(const char *s, enum notify_kind *out)
{
	for (int k = 0; s && k < NOTIFY_SUMMARY; k++) {
		if (strcmp(s, kind_names[k]) == 0) {
			*out = (enum notify_kind)k;
			return 0;
		}
	}
	return CLOVER_EINVAL;
}

enum notify_severity notify_kind_severity(enum notify_kind k)
{
	switch (k) {
	case NOTIFY_RUN_MISFIRED:
	case NOTIFY_RUN_SKIPPED:
		return NOTIFY_SEV_WARNING;
	case NOTIFY_EXECUTOR_LOST:
	case NOTIFY_SCHEDULER_LOST:
		return NOTIFY_SEV_CRITICAL;
	default:
		return NOTIFY_SEV_ERROR;
	}
}

const char *notify_severity_name(enum notify_severity s)
{
	switch (s) {
	case NOTIFY_SEV_WARNING:
		return "warning";
	case NOTIFY_SEV_ERROR:
		return "error";
	case NOTIFY_SEV_CRITICAL:
		return "critical";
	}
	return "unknown";
}

bool notify_kind_by_node(enum notify_kind k)
{
	return k == NOTIFY_EXECUTOR_LOST || k == NOTIFY_SCHEDULER_LOST;
}

const char *notify_channel_name(enum notify_channel c)
{
	return c == NOTIFY_EMAIL ? "email" : c == NOTIFY_WEBHOOK ? "webhook" : "unknown";
}

const char *notify_outcome_name(enum notify_outcome o)
{
	switch (o) {
	case NOTIFY_DELIVERED:
		return "delivered";
	case NOTIFY_RETRYING:
		return "retrying";
	case NOTIFY_FAILED:
		return "failed";
	case NOTIFY_HELD:
		return "held";
	case NOTIFY_DROPPED:
		return "dropped";
	}
	return "unknown";
}

static const char *const starttls_names[] = {"none", "try", "require"};

int notify_starttls_parse(const char *s, enum notify_starttls *out)
{
	for (int i = 0; s && i < 3; i++) {
		if (strcmp(s, starttls_names[i]) == 0) {
			*out = (enum notify_starttls)i;
			return 0;
		}
	}
	return CLOVER_EINVAL;
}

const char *notify_starttls_name(enum notify_starttls t)
{
	return (int)t >= 0 && (int)t < 3 ? starttls_names[t] : "unknown";
}

/* Length of the well-formed UTF-8 sequence at p (RFC 3629), 0 if none. */
static size_t seq_len(const unsigned char *p)
{
	unsigned c = p[0], lo = 0x80, hi = 0xBF;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		return (p[1] & 0xC0) == 0x80 ? 2 : 0;
	if (c >= 0xE0 && c <= 0xEF) {
		if (c == 0xE0)
			lo = 0xA0; /* overlong */
		if (c == 0xED)
			hi = 0x9F; /* surrogates */
		return p[1] >= lo && p[1] <= hi && (p[2] & 0xC0) == 0x80 ? 3 : 0;
	}
	if (c >= 0xF0 && c <= 0xF4) {
		if (c == 0xF0)
			lo = 0x90;
		if (c == 0xF4)
			hi = 0x8F; /* above U+10FFFF */
		return p[1] >= lo && p[1] <= hi && (p[2] & 0xC0) == 0x80 && (p[3] & 0xC0) == 0x80
		           ? 4
		           : 0;
	}
	return 0;
}

size_t notify_text_clean(char *dst, const char *s, size_t max)
{
	static const char repl[] = "\xEF\xBF\xBD";
	const unsigned char *p = (const unsigned char *)s;
	size_t len = 0;

	while (*p) {
		size_t n = seq_len(p);
		const void *from = p;
		size_t take = n;

		if (n == 0) {
			from = repl;
			take = 3;
			n = 1;
		}
		if (take > max - len)
			break;
		if (dst)
			memcpy(dst + len, from, take);
		len += take;
		p += n;
	}
	if (dst)
		dst[len] = '\0';
	return len;
}

char *notify_text_dup(const char *s, size_t max)
{
	char *d;

	if (s == NULL)
		return NULL;
	d = malloc(notify_text_clean(NULL, s, max) + 1);
	if (d)
		notify_text_clean(d, s, max);
	return d;
}

size_t notify_utf8_cut(const char *s, size_t n)
{
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	return n;
}

bool notify_email_valid(const char *s)
{
	const char *at, *p;
	size_t len;

	if (s == NULL)
		return false;
	len = strlen(s);
	at = strchr(s, '@');
	if (len < 3 || len > NOTIFY_ADDRESS_MAX || at == NULL || strchr(at + 1, '@'))
		return false;
	if (at == s || at - s > 64 || at[1] == '\0')
		return false;
	/* local part: dot-atom of printable ASCII without specials */
	if (s[0] == '.' || at[-1] == '.')
		return false;
	for (p = s; p < at; p++) {
		unsigned char c = (unsigned char)*p;

		if (c <= 0x20 || c >= 0x7f || strchr("()<>[]:;@\\,\"", c))
			return false;
		if (c == '.' && p[1] == '.')
			return false;
	}
	/* domain: dot-separated labels of letters, digits and hyphens */
	for (p = at + 1; *p; p++) {
		unsigned char c = (unsigned char)*p;
		bool alnum =
		    (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');

		if (c == '.') {
			if (p == at + 1 || p[1] == '.' || p[1] == '\0')
				return false;
		} else if (!alnum && c != '-') {
			return false;
		}
	}
	return true;
}

/* Length of the scheme prefix ("http://", "https://") or 0. */
static size_t http_prefix(const char *s)
{
	if (strncasecmp(s, "http://", 7) == 0)
		return 7;
	if (strncasecmp(s, "https://", 8) == 0)
		return 8;
	return 0;
}

bool notify_url_valid(const char *s)
{
	size_t pre, len;

	if (s == NULL)
		return false;
	len = strlen(s);
	pre = http_prefix(s);
	if (pre == 0 || len > NOTIFY_URL_MAX || s[pre] == '\0' || strchr("/?#@:", s[pre]))
		return false;
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			return false;
	return true;
}

void notify_url_redact(const char *url, char *out, size_t n)
{
	const char *host, *end, *at;
	size_t pre;

	if (!notify_url_valid(url)) {
		snprintf(out, n, "(invalid URL)");
		return;
	}
	pre = http_prefix(url);
	host = url + pre;
	end = host + strcspn(host, "/?#");
	at = NULL;
	for (const char *p = host; p < end; p++)
		if (*p == '@')
			at = p;
	if (at)
		host = at + 1;
	snprintf(out, n, "%.*s%.*s%s", (int)pre, url, (int)(end - host), host,
	         *end && strcmp(end, "/") != 0 ? "/..." : "");
}

int notify_alert_check(const struct notify_alert *a)
{
	const char *scope;

	if (a == NULL || (int)a->kind < 0 || a->kind >= NOTIFY_SUMMARY)
		return CLOVER_EINVAL;
	scope = notify_kind_by_node(a->kind) ? a->node : a->job;
	if (scope == NULL || scope[0] == '\0')
		return CLOVER_EINVAL;
	if (a->ncontacts > NOTIFY_CONTACTS_MAX || (a->ncontacts && a->contacts == NULL))
		return CLOVER_EINVAL;
	return 0;
}

static bool usable(const struct notify_contact *c)
{
	return (c->email && c->email[0]) || (c->webhook && c->webhook[0]);
}

static size_t need(const char *s, size_t max)
{
	return s ? notify_text_clean(NULL, s, max) + 1 : 0;
}

/* Copies s (cleaned) at *p and advances *p; "" and NULL give NULL when
 * `empty_null`. */
static const char *put(char **p, const char *s, size_t max, bool empty_null)
{
	const char *r = *p;

	if (s == NULL || (empty_null && s[0] == '\0'))
		return NULL;
	*p += notify_text_clean(*p, s, max) + 1;
	return r;
}

struct notify_alert *notify_alert_dup(const struct notify_alert *a, int64_t now_wall)
{
	size_t size = sizeof(*a), nkeep = 0;
	struct notify_alert *d;
	struct notify_contact *cs;
	char *p;

	for (size_t i = 0; i < a->ncontacts; i++) {
		const struct notify_contact *c = &a->contacts[i];

		if (!usable(c))
			continue;
		nkeep++;
		size += sizeof(*c) + need(c->name, NOTIFY_NAME_MAX) +
		        need(c->email, NOTIFY_ADDRESS_MAX + 1) +
		        need(c->webhook, NOTIFY_URL_MAX + 1);
	}
	size += need(a->job, NOTIFY_NAME_MAX) + need(a->node, NOTIFY_NAME_MAX) +
	        need(a->message, NOTIFY_MESSAGE_MAX);
	d = malloc(size);
	if (d == NULL)
		return NULL;
	*d = *a;
	cs = (struct notify_contact *)(d + 1);
	p = (char *)(cs + nkeep);
	d->contacts = nkeep ? cs : NULL;
	d->ncontacts = nkeep;
	/* An over-long address is kept one byte too long so it fails its check
	 * later, with a report, instead of being cut into another address. */
	for (size_t i = 0, j = 0; i < a->ncontacts; i++) {
		const struct notify_contact *c = &a->contacts[i];

		if (!usable(c))
			continue;
		cs[j].name = put(&p, c->name, NOTIFY_NAME_MAX, false);
		cs[j].email = put(&p, c->email, NOTIFY_ADDRESS_MAX + 1, true);
		cs[j].webhook = put(&p, c->webhook, NOTIFY_URL_MAX + 1, true);
		j++;
	}
	d->job = put(&p, a->job, NOTIFY_NAME_MAX, false);
	d->node = put(&p, a->node, NOTIFY_NAME_MAX, false);
	d->message = put(&p, a->message, NOTIFY_MESSAGE_MAX, false);
	if (d->at == 0)
		d->at = now_wall;
	return d;
}
