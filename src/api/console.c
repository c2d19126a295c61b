/* SPDX-License-Identifier: MIT */
/*
 * Serves the web console (docs/console.md): the page at "/" and its files
 * under "/ui/", all from the table embedded in the binary (assets.h). The
 * console is a client of the REST API like any other; this file only hands
 * out its files.
 *
 * Every answer carries a Content-Security-Policy that lets the page load
 * scripts, styles, images and API calls from this server only (no inline
 * script, no other origin, no framing), and an ETag: the browser revalidates
 * with If-None-Match and gets a 304 when the file has not changed, so a new
 * binary's console is picked up at once without stale caches.
 */
#include "api/assets.h"
#include "api/internal.h"
#include "base/log.h"

#include <microhttpd.h>

#include <string.h>

#define UI_PREFIX "/ui/"

static const char csp[] = "default-src 'self'; script-src 'self'; style-src 'self'; "
                          "img-src 'self' data:; connect-src 'self'; object-src 'none'; "
                          "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

bool api_console_url(const char *url)
{
	size_t n = strlen(API_PREFIX);

	if (strcmp(url, "/metrics") == 0) /* Prometheus' path, served by the API (metrics.c) */
		return false;
	return !(strncmp(url, API_PREFIX, n) == 0 && (url[n] == '/' || url[n] == '\0'));
}

static const struct web_asset *find(const char *name)
{
	for (size_t i = 0; i < web_assets_count; i++) {
		if (strcmp(web_assets[i].name, name) == 0)
			return &web_assets[i];
	}
	return NULL;
}

static void common_headers(struct MHD_Response *resp)
{
	MHD_add_response_header(resp, "Content-Security-Policy", csp);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
}

static int reply_text(struct MHD_Connection *mc, unsigned int status, const char *text,
                      const char *allow)
{
	struct MHD_Response *resp =
	    MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ok;

	if (resp == NULL)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (allow)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
	common_headers(resp);
	ok = MHD_queue_response(mc, status, resp);
	MHD_destroy_response(resp);
	return ok;
}

int api_console_serve(struct MHD_Connection *mc, const char *url, const char *method)
{
	const struct web_asset *a = NULL;
	const char *inm;
	struct MHD_Response *resp;
	enum MHD_Result ok;
	unsigned int status = MHD_HTTP_OK;

	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return reply_text(mc, MHD_HTTP_METHOD_NOT_ALLOWED,
		                  "the console's files are read with GET\n", "GET, HEAD");
	if (strcmp(url, "/") == 0 || strcmp(url, "/index.html") == 0)
		a = find("index.html");
	else if (strncmp(url, UI_PREFIX, strlen(UI_PREFIX)) == 0 && !strstr(url, ".."))
		a = find(url + strlen(UI_PREFIX));
	if (a == NULL)
		return reply_text(
		    mc, MHD_HTTP_NOT_FOUND,
		    "no such page; the console is at / and the API under " API_PREFIX "/\n", NULL);
	inm = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH);
	if (inm && strcmp(inm, a->etag) == 0) {
		status = MHD_HTTP_NOT_MODIFIED;
		resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	} else {
		resp = MHD_create_response_from_buffer(a->len, (void *)a->data,
		                                       MHD_RESPMEM_PERSISTENT);
	}
	if (resp == NULL)
		return MHD_NO;
	if (status == MHD_HTTP_OK)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, a->type);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, a->etag);
	/* Revalidate every time: a 304 costs a round trip, never a stale console. */
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
	common_headers(resp);
	ok = MHD_queue_response(mc, status, resp);
	MHD_destroy_response(resp);
	log_at(LOG_DEBUG, "api", "console %s %s -> %u", method, url, status);
	return ok;
}
