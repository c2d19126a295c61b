/* SPDX-License-Identifier: MIT */
/* The API tests' harness; see test-api-harness.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "unit/test-api-harness.h"
#include "base/log.h"
#include "base/time.h"
#include "core/job.h"
#include "cron/tz.h"

#include <curl/curl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void on_job_changed(void *ctx, const char *name, struct job_spec *spec)
{
	struct harness *h = ctx;

	pthread_mutex_lock(&h->mu);
	h->changed_calls++;
	snprintf(h->changed_name, sizeof(h->changed_name), "%s", name);
	h->changed_null = spec == NULL;
	h->changed_paused = spec ? spec->paused : false;
	snprintf(h->changed_schedule, sizeof(h->changed_schedule), "%s",
	         spec && spec->schedule ? spec->schedule : "");
	/* A hook may keep the spec; this one takes and drops a reference to prove it can. */
	job_spec_unref(job_spec_ref(spec));
	pthread_mutex_unlock(&h->mu);
}

static int on_trigger(void *ctx, const char *job, const char *params, int64_t *run_id,
                      struct error_info *e)
{
	struct harness *h = ctx;
	struct store_job j = {0};
	int rc = store_job_get(h->store, job, &j);

	store_job_clear(&j);
	if (rc == CLOVER_ENOENT)
		return CLOVER_ENOENT;
	if (rc)
		return error_set(e, rc, NULL, "store failed");
	pthread_mutex_lock(&h->mu);
	h->trigger_calls++;
	snprintf(h->trigger_job, sizeof(h->trigger_job), "%s", job);
	snprintf(h->trigger_params, sizeof(h->trigger_params), "%s", params ? params : "");
	h->trigger_params_null = params == NULL;
	*run_id = h->next_run_id++;
	pthread_mutex_unlock(&h->mu);
	return 0;
}

/* Two executors: the built-in one and a remote one. */
static size_t on_executors(void *ctx, struct api_executor *out, size_t max)
{
	(void)ctx;
	if (max >= 2) {
		memset(out, 0, 2 * sizeof(*out));
		snprintf(out[0].id, sizeof(out[0].id), "local");
		snprintf(out[0].labels, sizeof(out[0].labels), "clover.local=true");
		snprintf(out[0].state, sizeof(out[0].state), "active");
		out[0].capacity = 64;
		out[0].enabled = true;
		snprintf(out[1].id, sizeof(out[1].id), "w1");
		snprintf(out[1].host, sizeof(out[1].host), "box1");
		snprintf(out[1].labels, sizeof(out[1].labels), "zone=a\nssd=yes");
		snprintf(out[1].version, sizeof(out[1].version), "clover 0.1.0");
		snprintf(out[1].state, sizeof(out[1].state), "draining");
		out[1].capacity = 8;
		out[1].running = 3;
		out[1].last_heartbeat = 1772953800000LL;
	}
	return 2;
}

static int on_executor_control(void *ctx, const char *id, const char *op, struct error_info *e)
{
	struct harness *h = ctx;

	(void)e;
	if (strcmp(id, "local") != 0 && strcmp(id, "w1") != 0)
		return CLOVER_ENOENT;
	if (strcmp(id, "local") == 0 && strcmp(op, "drain") == 0)
		return error_set(e, CLOVER_ESTATE, "id", "the built-in executor cannot leave");
	pthread_mutex_lock(&h->mu);
	h->control_calls++;
	snprintf(h->control_id, sizeof(h->control_id), "%s", id);
	snprintf(h->control_op, sizeof(h->control_op), "%s", op);
	pthread_mutex_unlock(&h->mu);
	return 0;
}

static int on_kill(void *ctx, int64_t run_id, struct error_info *e)
{
	struct harness *h = ctx;

	(void)e;
	if (run_id >= 1000000)
		return CLOVER_ENOENT;
	pthread_mutex_lock(&h->mu);
	if (run_id == h->kill_finished) {
		pthread_mutex_unlock(&h->mu);
		return CLOVER_ESTATE;
	}
	h->killed = run_id;
	pthread_mutex_unlock(&h->mu);
	return 0;
}

void make_user(struct harness *h, const char *name, enum store_role role, char *token)
{
	struct auth_pwlimits lim = auth_pwlimits_min();
	struct store_user u = {0};
	char *hash = NULL, *tok = NULL;

	assert_int_equal(auth_password_hash("password-of-test", &lim, &hash), 0);
	u.name = (char *)name;
	u.pwhash = hash;
	u.role = role;
	u.created_at = time_wall_ms();
	assert_int_equal(store_user_put(h->store, &u), 0);
	free(hash);
	assert_int_equal(auth_token_create(h->store, name, "test", time_wall_ms(), &tok, NULL), 0);
	memcpy(token, tok, AUTH_TOKEN_LEN + 1);
	free(tok);
}

int harness_setup(void **state)
{
	struct harness *h = calloc(1, sizeof(*h));
	struct store_options so = {0};
	struct api_options ao = {0};
	struct auth_pwlimits lim = auth_pwlimits_min();
	struct error_info e;
	char path[PATH_MAX + 16];

	assert_non_null(h);
	log_set_level(LOG_LVL_ERROR);
	pthread_mutex_init(&h->mu, NULL);
	h->next_run_id = 1;
	h->kill_finished = -1;
	snprintf(h->dir, sizeof(h->dir), "/tmp/clover-api-test-XXXXXX");
	assert_non_null(mkdtemp(h->dir));
	snprintf(path, sizeof(path), "%s/clover.db", h->dir);
	so.path = path;
	so.fold_ms = 50; /* the jobs' last runs show soon after a run finishes */
	assert_int_equal(store_open(&so, &h->store, &e), 0);

	ao.listen = "127.0.0.1:0";
	ao.store = h->store;
	ao.hooks.ctx = h;
	ao.hooks.job_changed = on_job_changed;
	ao.hooks.trigger = on_trigger;
	ao.hooks.kill = on_kill;
	ao.hooks.executors = on_executors;
	ao.hooks.executor_control = on_executor_control;
	ao.threads = 2;
	ao.pwhash_opslimit = lim.ops;
	ao.pwhash_memlimit = lim.mem;
	assert_int_equal(api_start(&ao, &h->api, &e), 0);
	assert_true(api_port(h->api) > 0);
	snprintf(h->base, sizeof(h->base), "http://127.0.0.1:%d", api_port(h->api));

	make_user(h, "admin", STORE_ROLE_ADMIN, h->admin);
	make_user(h, "oper", STORE_ROLE_OPERATOR, h->oper);
	make_user(h, "viewer", STORE_ROLE_VIEWER, h->viewer);
	*state = h;
	return 0;
}

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

int harness_teardown(void **state)
{
	struct harness *h = *state;

	api_stop(h->api);
	store_close(h->store);
	nftw(h->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	pthread_mutex_destroy(&h->mu);
	free(h);
	tz_cleanup();
	return 0;
}

struct sink {
	char *data;
	size_t len;
};

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	struct sink *s = ud;
	char *d = realloc(s->data, s->len + size * n + 1);

	if (d == NULL)
		return 0;
	memcpy(d + s->len, p, size * n);
	s->data = d;
	s->len += size * n;
	d[s->len] = '\0';
	return size * n;
}

/* Copies header `name`'s value (trimmed) into dst when `line` is that header. */
static void grab(const char *line, size_t n, const char *name, char *dst, size_t cap)
{
	size_t k = strlen(name);

	if (n > k + 1 && strncasecmp(line, name, k) == 0 && line[k] == ':') {
		const char *v = line + k + 1;
		size_t m = n - k - 1;

		while (m && (*v == ' '))
			v++, m--;
		while (m && (v[m - 1] == '\r' || v[m - 1] == '\n'))
			m--;
		if (m >= cap)
			m = cap - 1;
		memcpy(dst, v, m);
		dst[m] = '\0';
	}
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
	struct resp *r = ud;

	grab(p, size * n, "X-Clover-Next-Offset", r->next_offset, sizeof(r->next_offset));
	grab(p, size * n, "X-Clover-Run-State", r->run_state, sizeof(r->run_state));
	grab(p, size * n, "ETag", r->etag, sizeof(r->etag));
	grab(p, size * n, "WWW-Authenticate", r->www_auth, sizeof(r->www_auth));
	grab(p, size * n, "Content-Type", r->content_type, sizeof(r->content_type));
	grab(p, size * n, "Set-Cookie", r->set_cookie, sizeof(r->set_cookie));
	return size * n;
}

struct chunker {
	size_t left;
};

static size_t on_read(char *p, size_t size, size_t n, void *ud)
{
	struct chunker *c = ud;
	size_t k = size * n < c->left ? size * n : c->left;

	memset(p, 'x', k);
	c->left -= k;
	return k;
}

static long perform(struct harness *h, CURL *c, const char *path, const char *token,
                    struct curl_slist *hdrs, struct resp *r)
{
	char url[1200], auth[AUTH_TOKEN_LEN + 64];
	struct sink s = {0};
	CURLcode cc;

	memset(r, 0, sizeof(*r));
	snprintf(url, sizeof(url), "%s%s", h->base, path);
	if (token) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
		hdrs = curl_slist_append(hdrs, auth);
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	cc = curl_easy_perform(c);
	if (cc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	else /* no answer: the server dropped the connection */
		fprintf(stderr, "(no answer to %s: %s)\n", path, curl_easy_strerror(cc));
	r->body = s.data;
	r->len = s.len;
	if (s.data && strncmp(r->content_type, "application/json", 16) == 0)
		r->json = json_loads(s.data, 0, NULL);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	return r->status;
}

long req(struct harness *h, const char *method, const char *path, const char *token,
         const char *body, const char *header, struct resp *r)
{
	CURL *c = curl_easy_init();
	struct curl_slist *hdrs = NULL;

	assert_non_null(c);
	for (const char *p = header; p && *p;) { /* one or more lines, split at '\n' */
		const char *end = strchr(p, '\n');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		char line[512];

		snprintf(line, sizeof(line), "%.*s", (int)n, p);
		hdrs = curl_slist_append(hdrs, line);
		p += n + (end != NULL);
	}
	if (body) {
		hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	} else if (strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, 0L);
	}
	if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0)
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	return perform(h, c, path, token, hdrs, r);
}

long req_chunked(struct harness *h, const char *path, const char *token, size_t len, struct resp *r)
{
	CURL *c = curl_easy_init();
	struct curl_slist *hdrs = NULL;
	struct chunker ch = {.left = len};

	assert_non_null(c);
	hdrs = curl_slist_append(hdrs, "Transfer-Encoding: chunked");
	hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	curl_easy_setopt(c, CURLOPT_POST, 1L);
	curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
	curl_easy_setopt(c, CURLOPT_READDATA, &ch);
	return perform(h, c, path, token, hdrs, r);
}

void resp_free(struct resp *r)
{
	free(r->body);
	json_decref(r->json);
	memset(r, 0, sizeof(*r));
}

static const char *err_member(const struct resp *r, const char *key)
{
	json_t *v = json_object_get(json_object_get(r->json, "error"), key);

	return json_is_string(v) ? json_string_value(v) : "";
}

const char *err_code(const struct resp *r)
{
	return err_member(r, "code");
}

const char *err_field(const struct resp *r)
{
	return err_member(r, "field");
}
