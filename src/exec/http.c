/* SPDX-License-Identifier: MIT */
/*
 * HTTP jobs: one request with libcurl on the worker thread. Method, URL,
 * headers and body come from the spec; clover adds X-Clover-* headers naming
 * the run. The spec's timeout is CURLOPT_TIMEOUT_MS; redirects are not
 * followed (a 3xx is judged against `expect` like any status). The status
 * line and the response body, capped at HTTP_BODY_MAX, go to the shard's log.
 * The shard succeeds when the status is one of spec->http.expect (2xx when
 * none is given), and fails with "HTTP 503 (expected 2xx)" or curl's error.
 *
 * Each worker keeps one easy handle in its own multi handle, so connections
 * to the same host are reused across runs. The multi handle lets the worker
 * wait on its wake eventfd as well as curl's sockets, so a kill is noticed at
 * once; the xferinfo callback aborts a transfer in progress as well.
 */
#include "exec/internal.h"

#include "base/buf.h"
#include "base/log.h"
#include "base/time.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HTTP_BODY_MAX   (64 * 1024) /* response bytes kept for the log */
#define STATUS_LINE_MAX 256

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_FAILED_INIT;

static void global_init(void)
{
	global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int exec_http_global_init(void)
{
	pthread_once(&global_once, global_init);
	return global_rc == CURLE_OK ? 0 : CLOVER_ESYS;
}

void exec_http_worker_free(struct exec_worker *w)
{
	if (w->curl_multi && w->curl_easy)
		curl_multi_remove_handle(w->curl_multi, w->curl_easy);
	if (w->curl_easy)
		curl_easy_cleanup(w->curl_easy);
	if (w->curl_multi)
		curl_multi_cleanup(w->curl_multi);
	w->curl_easy = w->curl_multi = NULL;
}

struct xfer {
	struct exec_ctx *ctx;
	struct buf body;
	size_t dropped; /* body bytes beyond HTTP_BODY_MAX */
	char status[STATUS_LINE_MAX];
};

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	size_t len = size * n, room = x->body.max - x->body.len;
	size_t take = len < room ? len : room;

	if (take && buf_append(&x->body, p, take) != 0)
		take = 0;
	x->dropped += len - take;
	return len;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	size_t len = size * n;

	/* Each response's status line replaces the last (100 Continue, ...). */
	if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) {
		while (len > 0 && (p[len - 1] == '\r' || p[len - 1] == '\n'))
			len--;
		if (len >= sizeof(x->status))
			len = sizeof(x->status) - 1;
		memcpy(x->status, p, len);
		x->status[len] = '\0';
	}
	return size * n;
}

static int on_progress(void *arg, curl_off_t dlt, curl_off_t dln, curl_off_t ult, curl_off_t uln)
{
	struct xfer *x = arg;

	(void)dlt;
	(void)dln;
	(void)ult;
	(void)uln;
	return exec_ctx_kill_kind(x->ctx) != EXEC_KILL_NONE;
}

static bool status_expected(const struct job_http *h, long status)
{
	if (h->nexpect == 0)
		return status >= 200 && status <= 299;
	for (size_t i = 0; i < h->nexpect; i++)
		if (h->expect[i] == status)
			return true;
	return false;
}

static void expected_text(const struct job_http *h, char *out, size_t n)
{
	size_t off = 0;

	if (h->nexpect == 0) {
		snprintf(out, n, "2xx");
		return;
	}
	out[0] = '\0';
	for (size_t i = 0; i < h->nexpect && off < n; i++) {
		int w = snprintf(out + off, n - off, "%s%d", i ? ", " : "", h->expect[i]);

		if (w < 0)
			break;
		off += (size_t)w;
	}
}

/* Adds "Name: value" to the list; returns false when out of memory. */
static bool add_header(struct curl_slist **list, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static bool add_header(struct curl_slist **list, const char *name, const char *fmt, ...)
{
	struct curl_slist *l;
	struct buf b;
	va_list ap;
	char *val;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return false;
	val = malloc((size_t)n + 1);
	if (val == NULL)
		return false;
	va_start(ap, fmt);
	vsnprintf(val, (size_t)n + 1, fmt, ap);
	va_end(ap);
	buf_init(&b, (size_t)n + strlen(name) + 16);
	if (buf_printf(&b, "%s: %s", name, val) != 0) {
		free(val);
		buf_free(&b);
		return false;
	}
	free(val);
	l = curl_slist_append(*list, b.data);
	buf_free(&b);
	if (l == NULL)
		return false;
	*list = l;
	return true;
}

static struct curl_slist *build_headers(const struct exec_request *req)
{
	const struct job_spec *spec = req->spec;
	struct curl_slist *list = NULL;
	char when[40];
	bool ok;

	time_format_rfc3339(req->scheduled_at, when, sizeof(when), req->scheduled_at % 1000 != 0);
	ok = add_header(&list, "X-Clover-Job", "%s", spec->name ? spec->name : "") &&
	     add_header(&list, "X-Clover-Run-Id", "%lld", (long long)req->run_id) &&
	     add_header(&list, "X-Clover-Scheduled-At", "%s", when) &&
	     add_header(&list, "X-Clover-Shard", "%d", req->shard) &&
	     add_header(&list, "X-Clover-Shard-Count", "%d", req->shard_count) &&
	     add_header(&list, "X-Clover-Attempt", "%d", req->attempt);
	if (ok && req->shard_param && req->shard_param[0])
		ok = add_header(&list, "X-Clover-Shard-Param", "%s", req->shard_param);
	for (size_t i = 0; ok && i < spec->http.nheaders; i++)
		ok = add_header(&list, spec->http.headers[i].key, "%s",
		                spec->http.headers[i].val ? spec->http.headers[i].val : "");
	if (!ok) {
		curl_slist_free_all(list);
		return NULL;
	}
	return list;
}

/* Writes the status line and the kept body to the log. */
static void log_response(struct exec_ctx *ctx, struct xfer *x)
{
	char note[96];

	if (x->status[0]) {
		exec_emit_log(ctx, x->status, strlen(x->status));
		exec_emit_log(ctx, "\n", 1);
	}
	if (x->body.len) {
		exec_emit_log(ctx, x->body.data, x->body.len);
		if (x->body.data[x->body.len - 1] != '\n')
			exec_emit_log(ctx, "\n", 1);
	}
	if (x->dropped) {
		int n = snprintf(note, sizeof(note), "[clover: %zu more response bytes not kept]\n",
		                 x->dropped);

		exec_emit_log(ctx, note, (size_t)n);
	}
}

/* Runs the transfer; returns curl's result, or -1 when stopped by a kill. */
static int perform(struct exec_ctx *ctx, CURLM *m, CURL *e)
{
	struct curl_waitfd wake = {.fd = ctx->worker->wakefd, .events = CURL_WAIT_POLLIN};
	CURLMsg *msg;
	int running = 1, left, rc = CURLE_FAILED_INIT;

	if (curl_multi_add_handle(m, e) != CURLM_OK)
		return CURLE_FAILED_INIT;
	for (;;) {
		if (curl_multi_perform(m, &running) != CURLM_OK)
			break;
		if (running == 0)
			break;
		if (exec_ctx_kill_kind(ctx) != EXEC_KILL_NONE) {
			rc = -1;
			goto out;
		}
		wake.revents = 0;
		if (curl_multi_poll(m, &wake, 1, 1000, NULL) != CURLM_OK)
			break;
		if (wake.revents)
			exec_worker_drain_wake(ctx->worker);
	}
	while ((msg = curl_multi_info_read(m, &left)) != NULL)
		if (msg->msg == CURLMSG_DONE && msg->easy_handle == e)
			rc = (int)msg->data.result;
out:
	curl_multi_remove_handle(m, e);
	return rc;
}

void exec_http_run(struct exec_ctx *ctx, struct exec_result *res)
{
	const struct exec_request *req = &ctx->task->req;
	const struct job_http *h = &req->spec->http;
	struct exec_worker *w = ctx->worker;
	struct curl_slist *headers = NULL;
	char errbuf[CURL_ERROR_SIZE] = "", exp[128];
	struct xfer x = {.ctx = ctx};
	const char *method = h->method && h->method[0] ? h->method : "GET";
	enum exec_kill_kind kind;
	long status = 0;
	CURL *e;
	int rc;

	if (h->url == NULL || h->url[0] == '\0') {
		exec_result_set(res, RUN_FAILED, -1, "the job has no URL");
		return;
	}
	if (exec_http_global_init() != 0) {
		exec_result_set(res, RUN_FAILED, -1, "libcurl failed to initialise");
		return;
	}
	if (w->curl_multi == NULL)
		w->curl_multi = curl_multi_init();
	if (w->curl_easy == NULL)
		w->curl_easy = curl_easy_init();
	else
		curl_easy_reset(w->curl_easy);
	headers = build_headers(req);
	if (w->curl_multi == NULL || w->curl_easy == NULL || headers == NULL) {
		curl_slist_free_all(headers);
		exec_result_set(res, RUN_FAILED, -1, "out of memory");
		return;
	}
	buf_init(&x.body, HTTP_BODY_MAX);

	e = w->curl_easy;
	curl_easy_setopt(e, CURLOPT_URL, h->url);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_USERAGENT, "clover/" CLOVER_VERSION);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &x);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, &x);
	curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(e, CURLOPT_XFERINFODATA, &x);
	curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
	if (req->spec->timeout_ms > 0)
		curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)req->spec->timeout_ms);
	if (h->body) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(h->body));
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, h->body);
	}
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
	else if (strcmp(method, "GET") != 0 || h->body)
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);

	rc = perform(ctx, w->curl_multi, e);
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	log_response(ctx, &x);

	kind = exec_ctx_kill_kind(ctx);
	if (kind == EXEC_KILL_NONE && rc == CURLE_OPERATION_TIMEDOUT && req->spec->timeout_ms > 0)
		kind = exec_ctx_time_out(ctx);
	if (kind != EXEC_KILL_NONE) {
		exec_result_killed(res, ctx, kind, -1);
	} else if (rc != CURLE_OK) {
		exec_result_set(res, RUN_FAILED, -1, "%s",
		                errbuf[0] ? errbuf : curl_easy_strerror((CURLcode)rc));
	} else if (!status_expected(h, status)) {
		expected_text(h, exp, sizeof(exp));
		exec_result_set(res, RUN_FAILED, -1, "HTTP %ld (expected %s)", status, exp);
	} else {
		exec_result_set(res, RUN_SUCCEEDED, 0, NULL);
	}

	/* The handle outlives this run: drop pointers into this frame. */
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, NULL);
	curl_slist_free_all(headers);
	buf_free(&x.body);
}
