/* SPDX-License-Identifier: MIT */
/*
 * One e-mail over SMTP with libcurl. The URL picks the transport:
 * smtp://host:port (plain, upgraded with STARTTLS per `starttls`) or
 * smtps://host:port (TLS from the first byte); a path names the EHLO domain
 * (smtp://relay:25/clover.example.com). AUTH is used when a user is set, with
 * the best mechanism the server offers. libcurl dot-stuffs the data and ends
 * it with CRLF.CRLF; the message must already have CRLF line ends.
 *
 * Each message gets its own connection (CURLOPT_FORBID_REUSE): alerts are
 * rare, and a cached SMTP connection would be closed with a QUIT at the
 * handle's cleanup, where no timeout of ours applies.
 *
 * A 4xx reply is transient, a 5xx reply permanent; otherwise curl's code
 * decides (transport.c).
 */
#include "notify/internal.h"

#include <stdio.h>
#include <string.h>

struct reader {
	const char *p;
	size_t left;
};

static size_t on_read(char *dst, size_t size, size_t n, void *arg)
{
	struct reader *rd = arg;
	size_t take = size * n < rd->left ? size * n : rd->left;

	memcpy(dst, rd->p, take);
	rd->p += take;
	rd->left -= take;
	return take;
}

static long use_ssl(enum notify_starttls t)
{
	switch (t) {
	case NOTIFY_STARTTLS_TRY:
		return (long)CURLUSESSL_TRY;
	case NOTIFY_STARTTLS_REQUIRE:
		return (long)CURLUSESSL_ALL;
	default:
		return (long)CURLUSESSL_NONE;
	}
}

int notify_smtp_send(CURL *h, const struct notify_smtp *cfg, const char *rcpt, const char *data,
                     size_t len, struct notify_result *r)
{
	char errbuf[CURL_ERROR_SIZE] = "", from[NOTIFY_ADDRESS_MAX + 3], to[NOTIFY_ADDRESS_MAX + 3];
	struct reader rd = {data, len};
	struct curl_slist *rcpts;
	CURLcode rc;

	memset(r, 0, sizeof(*r));
	snprintf(from, sizeof(from), "<%s>", cfg->from);
	snprintf(to, sizeof(to), "<%s>", rcpt);
	rcpts = curl_slist_append(NULL, to);
	if (rcpts == NULL) {
		r->error = CLOVER_ENOMEM;
		r->transient = true;
		snprintf(r->detail, sizeof(r->detail), "out of memory");
		return r->error;
	}
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, cfg->url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	curl_easy_setopt(h, CURLOPT_MAIL_FROM, from);
	curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpts);
	curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
	curl_easy_setopt(h, CURLOPT_READDATA, &rd);
	curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(h, CURLOPT_USE_SSL, use_ssl(cfg->starttls));
	if (cfg->user && cfg->user[0]) {
		curl_easy_setopt(h, CURLOPT_USERNAME, cfg->user);
		curl_easy_setopt(h, CURLOPT_PASSWORD, cfg->password ? cfg->password : "");
	}
	if (cfg->ca_file && cfg->ca_file[0])
		curl_easy_setopt(h, CURLOPT_CAINFO, cfg->ca_file);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, cfg->timeout_ms);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, cfg->timeout_ms);
	curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);

	rc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->code);
	notify_curl_result(rc, errbuf, r);
	if (rc == CURLE_OK) {
		snprintf(r->detail, sizeof(r->detail), "SMTP %ld", r->code);
	} else if (r->code >= 400 && r->code < 600) {
		/* The server said no: its reply code decides. */
		r->transient = r->code < 500;
		if (r->error == CLOVER_EIO)
			r->error = CLOVER_EPROTO;
	}
	/* No pointer into this frame may outlive the call. */
	curl_easy_reset(h);
	curl_slist_free_all(rcpts);
	return r->error;
}
