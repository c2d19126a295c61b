/* SPDX-License-Identifier: MIT */
/*
 * One webhook delivery: an HTTP(S) POST of a JSON body with libcurl.
 * Redirects are not followed (a webhook URL that moved is a configuration
 * error, and following would re-send the body elsewhere). A 2xx answer is
 * success; 408, 429 and 5xx, like network errors and timeouts, are
 * transient; any other status is permanent. The start of the answer's body
 * goes into the detail, since receivers often say there what was wrong.
 *
 * Connections are kept in the easy handle's cache between deliveries.
 */
#include "notify/internal.h"

#include <stdio.h>
#include <string.h>

#define ANSWER_KEEP 120 /* bytes of the answer's body quoted in the detail */

struct answer {
	char text[ANSWER_KEEP + 1];
	size_t len;
};

static size_t on_write(char *p, size_t size, size_t n, void *arg)
{
	struct answer *a = arg;
	size_t len = size * n, take = ANSWER_KEEP - a->len;

	if (take > len)
		take = len;
	memcpy(a->text + a->len, p, take);
	a->len += take;
	a->text[a->len] = '\0';
	return len;
}

static bool transient_status(long code)
{
	return code == 408 || code == 429 || code >= 500;
}

int notify_webhook_post(CURL *h, const struct notify_webhook *cfg, const char *url,
                        const char *body, const char *kind, const char *delivery_id,
                        struct notify_result *r)
{
	char errbuf[CURL_ERROR_SIZE] = "", hkind[64], hid[128], clean[ANSWER_KEEP + 1];
	const char *lines[] = {"Content-Type: application/json",
	                       "User-Agent: clover/" CLOVER_VERSION, hkind, hid, "Expect:"};
	struct answer ans = {.len = 0};
	struct curl_slist *hs = NULL, *t;
	CURLcode rc;

	memset(r, 0, sizeof(*r));
	snprintf(hkind, sizeof(hkind), "X-Clover-Alert: %s", kind);
	snprintf(hid, sizeof(hid), "X-Clover-Delivery: %s", delivery_id);
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		t = curl_slist_append(hs, lines[i]);
		if (t == NULL) {
			curl_slist_free_all(hs);
			r->error = CLOVER_ENOMEM;
			r->transient = true;
			snprintf(r->detail, sizeof(r->detail), "out of memory");
			return r->error;
		}
		hs = t;
	}
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_POST, 1L);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hs);
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &ans);
	if (cfg->ca_file && cfg->ca_file[0])
		curl_easy_setopt(h, CURLOPT_CAINFO, cfg->ca_file);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, cfg->timeout_ms);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);

	rc = curl_easy_perform(h);
	notify_curl_result(rc, errbuf, r);
	if (rc == CURLE_OK) {
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->code);
		notify_text_clean(clean, ans.text, ANSWER_KEEP);
		for (char *p = clean; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				*p = ' ';
		if (r->code >= 200 && r->code < 300) {
			snprintf(r->detail, sizeof(r->detail), "HTTP %ld", r->code);
		} else {
			r->error = CLOVER_EPROTO;
			r->transient = transient_status(r->code);
			snprintf(r->detail, sizeof(r->detail), "HTTP %ld%s%s", r->code,
			         clean[0] ? ": " : "", clean);
		}
	}
	/* No pointer into this frame may outlive the call. */
	curl_easy_reset(h);
	curl_slist_free_all(hs);
	return r->error;
}
