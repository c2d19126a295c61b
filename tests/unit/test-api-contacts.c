/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of /api/v1/contacts and /api/v1/events over real HTTP (libcurl)
 * against a real store: authentication and roles, contact validation
 * (errors naming the field), create/read/replace/delete, paging, search and
 * the on-call filter, the warning event of a job naming an unknown contact,
 * and the event log's filters (level, source, job, q, from/to) and keyset
 * paging.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "unit/test-api-harness.h"
#include "base/time.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *str_of(const struct resp *r, const char *key)
{
	json_t *v = json_object_get(r->json, key);

	assert_true(json_is_string(v));
	return json_string_value(v);
}

static size_t count_of(const struct resp *r, const char *key)
{
	json_t *v = json_object_get(r->json, key);

	assert_true(json_is_array(v));
	return json_array_size(v);
}

/* Expects `status` with error `code` on `field` for METHOD path body (as the operator). */
static void expect_error(struct harness *h, const char *method, const char *path,
                         const char *body, long status, const char *code, const char *field)
{
	struct resp r;

	assert_int_equal(req(h, method, path, h->oper, body, NULL, &r), status);
	assert_string_equal(err_code(&r), code);
	assert_string_equal(err_field(&r), field);
	resp_free(&r);
}

static void contacts_need_auth_and_the_operator_role_to_write(void **state)
{
	struct harness *h = *state;
	struct resp r;

	assert_int_equal(req(h, "GET", "/api/v1/contacts", NULL, NULL, NULL, &r), 401);
	resp_free(&r);
	assert_int_equal(req(h, "GET", "/api/v1/events", NULL, NULL, NULL, &r), 401);
	resp_free(&r);
	assert_int_equal(req(h, "GET", "/api/v1/contacts", h->viewer, NULL, NULL, &r), 200);
	resp_free(&r);
	assert_int_equal(req(h, "GET", "/api/v1/events", h->viewer, NULL, NULL, &r), 200);
	resp_free(&r);
	assert_int_equal(req(h, "POST", "/api/v1/contacts", h->viewer,
	                     "{\"name\":\"v\",\"email\":\"v@example.com\"}", NULL, &r),
	                 403);
	assert_string_equal(err_code(&r), "forbidden");
	resp_free(&r);
	assert_int_equal(req(h, "PUT", "/api/v1/contacts/v", h->viewer,
	                     "{\"email\":\"v@example.com\"}", NULL, &r),
	                 403);
	resp_free(&r);
	assert_int_equal(req(h, "DELETE", "/api/v1/contacts/v", h->viewer, NULL, NULL, &r), 403);
	resp_free(&r);
	/* The operator may write. */
	assert_int_equal(req(h, "POST", "/api/v1/contacts", h->oper,
	                     "{\"name\":\"op-made\",\"email\":\"op@example.com\"}", NULL, &r),
	                 201);
	resp_free(&r);
	assert_int_equal(req(h, "DELETE", "/api/v1/contacts/op-made", h->oper, NULL, NULL, &r), 204);
	resp_free(&r);
}

static void contact_create_get_replace_delete(void **state)
{
	struct harness *h = *state;
	struct resp r;
	int64_t t;

	assert_int_equal(req(h, "POST", "/api/v1/contacts", h->admin,
	                     "{\"name\":\"ann\",\"email\":\"ann@example.com\","
	                     "\"webhook\":\"https://hooks.example.com/x?k=1\",\"oncall\":true}",
	                     NULL, &r),
	                 201);
	assert_string_equal(str_of(&r, "name"), "ann");
	assert_string_equal(str_of(&r, "email"), "ann@example.com");
	assert_string_equal(str_of(&r, "webhook"), "https://hooks.example.com/x?k=1");
	assert_true(json_is_true(json_object_get(r.json, "oncall")));
	assert_int_equal(time_parse_rfc3339(str_of(&r, "created_at"), &t), 0);
	resp_free(&r);

	/* The name is taken. */
	expect_error(h, "POST", "/api/v1/contacts", "{\"name\":\"ann\",\"email\":\"b@example.com\"}",
	             409, "conflict", "name");

	assert_int_equal(req(h, "GET", "/api/v1/contacts/ann", h->viewer, NULL, NULL, &r), 200);
	assert_string_equal(str_of(&r, "email"), "ann@example.com");
	/* A viewer does not see the webhook's path and query (its secret). */
	assert_string_equal(str_of(&r, "webhook"), "https://hooks.example.com/...");
	resp_free(&r);
	assert_int_equal(req(h, "GET", "/api/v1/contacts?search=ann", h->viewer, NULL, NULL, &r),
	                 200);
	assert_non_null(strstr(r.body, "\"https://hooks.example.com/...\""));
	assert_null(strstr(r.body, "k=1"));
	resp_free(&r);
	assert_int_equal(req(h, "GET", "/api/v1/contacts/ann", h->oper, NULL, NULL, &r), 200);
	assert_string_equal(str_of(&r, "webhook"), "https://hooks.example.com/x?k=1");
	resp_free(&r);

	/* PUT replaces the whole contact: the webhook left out goes away. */
	assert_int_equal(req(h, "PUT", "/api/v1/contacts/ann", h->oper,
	                     "{\"name\":\"ann\",\"email\":\"ann@example.org\"}", NULL, &r),
	                 200);
	assert_string_equal(str_of(&r, "email"), "ann@example.org");
	assert_true(json_is_null(json_object_get(r.json, "webhook")));
	assert_true(json_is_false(json_object_get(r.json, "oncall")));
	resp_free(&r);
	/* PUT of a new name creates it. */
	assert_int_equal(req(h, "PUT", "/api/v1/contacts/bob", h->oper,
	                     "{\"webhook\":\"http://u:pw@127.0.0.1:9/h\"}", NULL, &r),
	                 201);
	assert_string_equal(str_of(&r, "name"), "bob");
	resp_free(&r);
	assert_int_equal(req(h, "GET", "/api/v1/contacts/bob", h->viewer, NULL, NULL, &r), 200);
	assert_string_equal(str_of(&r, "webhook"), "http://127.0.0.1:9/...");
	resp_free(&r);

	assert_int_equal(req(h, "DELETE", "/api/v1/contacts/ann", h->oper, NULL, NULL, &r), 204);
	resp_free(&r);
	assert_int_equal(req(h, "DELETE", "/api/v1/contacts/bob", h->oper, NULL, NULL, &r), 204);
	resp_free(&r);
	assert_int_equal(req(h, "GET", "/api/v1/contacts/ann", h->viewer, NULL, NULL, &r), 404);
	assert_string_equal(err_code(&r), "not_found");
	resp_free(&r);
	assert_int_equal(req(h, "DELETE", "/api/v1/contacts/ann", h->oper, NULL, NULL, &r), 404);
	resp_free(&r);

	/* Each change is in the event log, with who made it. */
	assert_int_equal(req(h, "GET", "/api/v1/events?source=api&q=contact%20ann", h->viewer, NULL,
	                     NULL, &r),
	                 200);
	assert_true(count_of(&r, "events") >= 3);
	assert_non_null(strstr(r.body, "contact ann deleted by oper"));
	assert_non_null(strstr(r.body, "contact ann created by admin (on call)"));
	resp_free(&r);
}

static void contact_validation_names_the_field(void **state)
{
	struct harness *h = *state;
	char big[3000], body[3200];

	expect_error(h, "POST", "/api/v1/contacts", "{\"email\":\"a@example.com\"}", 422, "invalid",
	             "name");
	expect_error(h, "POST", "/api/v1/contacts", "{\"name\":\"a b\",\"email\":\"a@example.com\"}",
	             422, "invalid", "name");
	expect_error(h, "POST", "/api/v1/contacts", "{\"name\":7,\"email\":\"a@example.com\"}", 422,
	             "invalid", "name");
	expect_error(h, "POST", "/api/v1/contacts", "{\"name\":\"a\"}", 422, "invalid", "email");
	expect_error(h, "POST", "/api/v1/contacts", "{\"name\":\"a\",\"email\":\"nobody\"}", 422,
	             "invalid", "email");
	expect_error(h, "POST", "/api/v1/contacts",
	             "{\"name\":\"a\",\"email\":\"Ann <a@example.com>\"}", 422, "invalid", "email");
	expect_error(h, "POST", "/api/v1/contacts", "{\"name\":\"a\",\"email\":\"a@b@example.com\"}",
	             422, "invalid", "email");
	expect_error(h, "POST", "/api/v1/contacts", "{\"name\":\"a\",\"email\":\"a@exa mple.com\"}",
	             422, "invalid", "email");
	expect_error(h, "POST", "/api/v1/contacts", "{\"name\":\"a\",\"email\":\"a@.example.com\"}",
	             422, "invalid", "email");
	expect_error(h, "POST", "/api/v1/contacts", "{\"name\":\"a\",\"email\":\"a@ex\\r\\nBcc: x\"}",
	             422, "invalid", "email");
	memset(big, 'a', 250);
	big[250] = '\0';
	snprintf(body, sizeof(body), "{\"name\":\"a\",\"email\":\"%s@example.com\"}", big);
	expect_error(h, "POST", "/api/v1/contacts", body, 422, "invalid", "email");
	expect_error(h, "POST", "/api/v1/contacts",
	             "{\"name\":\"a\",\"webhook\":\"ftp://example.com/x\"}", 422, "invalid",
	             "webhook");
	expect_error(h, "POST", "/api/v1/contacts", "{\"name\":\"a\",\"webhook\":\"https://\"}", 422,
	             "invalid", "webhook");
	expect_error(h, "POST", "/api/v1/contacts",
	             "{\"name\":\"a\",\"webhook\":\"http://example.com/a b\"}", 422, "invalid",
	             "webhook");
	memset(big, 'x', 2100);
	big[2100] = '\0';
	snprintf(body, sizeof(body), "{\"name\":\"a\",\"webhook\":\"https://example.com/%s\"}", big);
	expect_error(h, "POST", "/api/v1/contacts", body, 422, "invalid", "webhook");
	expect_error(h, "POST", "/api/v1/contacts", "{\"name\":\"a\",\"webhook\":5}", 422, "invalid",
	             "webhook");
	expect_error(h, "POST", "/api/v1/contacts",
	             "{\"name\":\"a\",\"email\":\"a@example.com\",\"oncall\":\"yes\"}", 422,
	             "invalid", "oncall");
	expect_error(h, "POST", "/api/v1/contacts",
	             "{\"name\":\"a\",\"email\":\"a@example.com\",\"phone\":\"1\"}", 422, "invalid",
	             "phone");
	/* PUT: the body's name must be the path's. */
	expect_error(h, "PUT", "/api/v1/contacts/a",
	             "{\"name\":\"b\",\"email\":\"a@example.com\"}", 422, "invalid", "name");
	/* Bad JSON is a 400. */
	expect_error(h, "POST", "/api/v1/contacts", "{\"name\":", 400, "bad_request", "");
	expect_error(h, "POST", "/api/v1/contacts", "[1]", 400, "bad_request", "");
}

static void contact_list_pages_searches_and_filters(void **state)
{
	struct harness *h = *state;
	char body[256], path[128];
	struct resp r;

	for (int i = 0; i < 25; i++) {
		snprintf(body, sizeof(body),
		         "{\"name\":\"p%02d\",\"email\":\"p%02d@%s.example.com\",\"oncall\":%s}", i, i,
		         i % 2 ? "odd" : "even", i % 5 == 0 ? "true" : "false");
		assert_int_equal(req(h, "POST", "/api/v1/contacts", h->oper, body, NULL, &r), 201);
		resp_free(&r);
	}
	/* Pages of 10 in name order, then the rest with next null. */
	assert_int_equal(req(h, "GET", "/api/v1/contacts?limit=10&search=p", h->viewer, NULL, NULL,
	                     &r),
	                 200);
	assert_int_equal(count_of(&r, "contacts"), 10);
	assert_string_equal(str_of(&r, "next"), "p09");
	resp_free(&r);
	assert_int_equal(req(h, "GET", "/api/v1/contacts?limit=10&search=p&after=p09", h->viewer,
	                     NULL, NULL, &r),
	                 200);
	assert_int_equal(count_of(&r, "contacts"), 10);
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(json_object_get(r.json, "contacts"), 0),
	                                      "name")),
	    "p10");
	resp_free(&r);
	assert_int_equal(req(h, "GET", "/api/v1/contacts?limit=10&search=p&after=p19", h->viewer,
	                     NULL, NULL, &r),
	                 200);
	assert_int_equal(count_of(&r, "contacts"), 5);
	assert_true(json_is_null(json_object_get(r.json, "next")));
	resp_free(&r);
	/* Search matches the e-mail address too, case-insensitively. */
	assert_int_equal(req(h, "GET", "/api/v1/contacts?search=ODD.example", h->viewer, NULL, NULL,
	                     &r),
	                 200);
	assert_int_equal(count_of(&r, "contacts"), 12);
	resp_free(&r);
	/* On call: p00, p05, p10, p15, p20. */
	assert_int_equal(req(h, "GET", "/api/v1/contacts?oncall=true&search=p", h->viewer, NULL,
	                     NULL, &r),
	                 200);
	assert_int_equal(count_of(&r, "contacts"), 5);
	resp_free(&r);
	assert_int_equal(req(h, "GET", "/api/v1/contacts?oncall=false&search=p", h->viewer, NULL,
	                     NULL, &r),
	                 200);
	assert_int_equal(count_of(&r, "contacts"), 20);
	resp_free(&r);
	/* Bad parameters are 400s naming the parameter. */
	static const char *const bad[][2] = {
	    {"/api/v1/contacts?limit=0", "limit"},   {"/api/v1/contacts?limit=1001", "limit"},
	    {"/api/v1/contacts?oncall=maybe", "oncall"}, {"/api/v1/contacts?after=a%20b", "after"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(req(h, "GET", bad[i][0], h->viewer, NULL, NULL, &r), 400);
		assert_string_equal(err_field(&r), bad[i][1]);
		resp_free(&r);
	}
	assert_int_equal(req(h, "GET", "/api/v1/contacts?color=red", h->viewer, NULL, NULL, &r),
	                 400);
	resp_free(&r);
	for (int i = 0; i < 25; i++) {
		snprintf(path, sizeof(path), "/api/v1/contacts/p%02d", i);
		assert_int_equal(req(h, "DELETE", path, h->oper, NULL, NULL, &r), 204);
		resp_free(&r);
	}
}

static void a_job_naming_an_unknown_contact_is_accepted_with_a_warning(void **state)
{
	struct harness *h = *state;
	struct resp r;

	assert_int_equal(req(h, "POST", "/api/v1/contacts", h->oper,
	                     "{\"name\":\"known\",\"email\":\"k@example.com\"}", NULL, &r),
	                 201);
	resp_free(&r);
	assert_int_equal(req(h, "POST", "/api/v1/jobs", h->oper,
	                     "{\"name\":\"cj\",\"schedule\":\"@manual\",\"contacts\":[\"known\","
	                     "\"ghost\"],\"run\":{\"shell\":\"true\"}}",
	                     NULL, &r),
	                 201);
	/* The console assigns contacts by editing the spec's array. */
	assert_int_equal(json_array_size(json_object_get(r.json, "contacts")), 2);
	resp_free(&r);
	assert_int_equal(req(h, "GET", "/api/v1/events?job=cj&level=warn", h->viewer, NULL, NULL,
	                     &r),
	                 200);
	assert_int_equal(count_of(&r, "events"), 1);
	assert_non_null(strstr(r.body, "names contact 'ghost', which does not exist"));
	assert_null(strstr(r.body, "'known'"));
	resp_free(&r);
	/* The jobs of a contact, for the console's contact page. */
	assert_int_equal(req(h, "POST", "/api/v1/jobs", h->oper,
	                     "{\"name\":\"cj2\",\"schedule\":\"@manual\",\"contacts\":[\"ghost\"],"
	                     "\"run\":{\"shell\":\"true\"}}",
	                     NULL, &r),
	                 201);
	resp_free(&r);
	assert_int_equal(req(h, "POST", "/api/v1/jobs", h->oper,
	                     "{\"name\":\"cj3\",\"schedule\":\"@manual\",\"run\":{\"shell\":"
	                     "\"echo known\"}}",
	                     NULL, &r),
	                 201);
	resp_free(&r);
	assert_int_equal(req(h, "GET", "/api/v1/jobs?contact=known", h->viewer, NULL, NULL, &r), 200);
	assert_int_equal(count_of(&r, "jobs"), 1);
	assert_string_equal(json_string_value(json_object_get(
	                        json_array_get(json_object_get(r.json, "jobs"), 0), "name")),
	                    "cj");
	resp_free(&r);
	assert_int_equal(req(h, "GET", "/api/v1/jobs?contact=ghost&limit=1", h->viewer, NULL, NULL,
	                     &r),
	                 200);
	assert_int_equal(count_of(&r, "jobs"), 1);
	assert_string_equal(str_of(&r, "next"), "cj");
	resp_free(&r);
	assert_int_equal(req(h, "GET", "/api/v1/jobs?contact=ghost&after=cj", h->viewer, NULL, NULL,
	                     &r),
	                 200);
	assert_int_equal(count_of(&r, "jobs"), 1);
	resp_free(&r);
	assert_int_equal(req(h, "GET", "/api/v1/jobs?contact=nobody", h->viewer, NULL, NULL, &r),
	                 200);
	assert_int_equal(count_of(&r, "jobs"), 0);
	resp_free(&r);
	assert_int_equal(req(h, "GET", "/api/v1/jobs?contact=a%20b", h->viewer, NULL, NULL, &r), 400);
	assert_string_equal(err_field(&r), "contact");
	resp_free(&r);
	assert_int_equal(req(h, "DELETE", "/api/v1/jobs/cj2", h->oper, NULL, NULL, &r), 204);
	resp_free(&r);
	assert_int_equal(req(h, "DELETE", "/api/v1/jobs/cj3", h->oper, NULL, NULL, &r), 204);
	resp_free(&r);
	/* Re-applied with the contact now existing: no new warning. */
	assert_int_equal(req(h, "POST", "/api/v1/contacts", h->oper,
	                     "{\"name\":\"ghost\",\"webhook\":\"http://127.0.0.1:9/\"}", NULL, &r),
	                 201);
	resp_free(&r);
	assert_int_equal(req(h, "PUT", "/api/v1/jobs/cj", h->oper,
	                     "{\"name\":\"cj\",\"schedule\":\"@manual\",\"contacts\":[\"known\","
	                     "\"ghost\"],\"run\":{\"shell\":\"echo\"}}",
	                     NULL, &r),
	                 200);
	resp_free(&r);
	assert_int_equal(req(h, "GET", "/api/v1/events?job=cj&level=warn", h->viewer, NULL, NULL,
	                     &r),
	                 200);
	assert_int_equal(count_of(&r, "events"), 1);
	resp_free(&r);
	assert_int_equal(req(h, "DELETE", "/api/v1/jobs/cj", h->oper, NULL, NULL, &r), 204);
	resp_free(&r);
}

static void add_event(struct harness *h, int64_t at, enum store_level level, const char *source,
                      const char *job, int64_t run_id, const char *msg)
{
	struct store_event ev = {.at = at,
	                         .level = level,
	                         .source = (char *)source,
	                         .node = (char *)"n1",
	                         .job = (char *)job,
	                         .run_id = run_id,
	                         .message = (char *)msg};

	assert_int_equal(store_event_add(h->store, &ev), 0);
}

static void events_filter_and_page_newest_first(void **state)
{
	struct harness *h = *state;
	/* 2030-01-01T00:00:00Z and on, later than anything else the tests record. */
	const int64_t t0 = 1893456000000LL;
	struct resp r;
	json_t *ev;
	int64_t before, t;

	for (int i = 0; i < 30; i++) {
		char msg[64];

		snprintf(msg, sizeof(msg), "evt-%02d %s", i, i % 3 == 0 ? "disk full" : "fine");
		add_event(h, t0 + i * 1000, i % 10 == 0 ? STORE_LEVEL_ERROR
		                            : i % 2 ? STORE_LEVEL_WARN
		                                    : STORE_LEVEL_INFO,
		          i % 2 ? "engine" : "ftest", i % 4 == 0 ? "ejob" : NULL, i + 100, msg);
	}
	/* The newest first, with every member. */
	assert_int_equal(req(h, "GET", "/api/v1/events?from=2030-01-01T00:00:00Z&limit=1",
	                     h->viewer, NULL, NULL, &r),
	                 200);
	ev = json_array_get(json_object_get(r.json, "events"), 0);
	assert_string_equal(json_string_value(json_object_get(ev, "message")), "evt-29 fine");
	assert_string_equal(json_string_value(json_object_get(ev, "level")), "warn");
	assert_string_equal(json_string_value(json_object_get(ev, "source")), "engine");
	assert_string_equal(json_string_value(json_object_get(ev, "node")), "n1");
	assert_true(json_is_null(json_object_get(ev, "job")));
	assert_int_equal(json_integer_value(json_object_get(ev, "run_id")), 129);
	assert_int_equal(time_parse_rfc3339(json_string_value(json_object_get(ev, "at")), &t), 0);
	assert_int_equal(t, t0 + 29000);
	assert_true(json_is_integer(json_object_get(ev, "id")));
	resp_free(&r);

	/* Keyset paging: 30 events in pages of 12, 12, 6, no overlap. */
	before = 0;
	for (int page = 0, seen = 0; page < 3; page++) {
		char path[160];
		size_t n;

		if (before)
			snprintf(path, sizeof(path),
			         "/api/v1/events?from=2030-01-01T00:00:00Z&limit=12&before=%lld",
			         (long long)before);
		else
			snprintf(path, sizeof(path),
			         "/api/v1/events?from=2030-01-01T00:00:00Z&limit=12");
		assert_int_equal(req(h, "GET", path, h->viewer, NULL, NULL, &r), 200);
		n = count_of(&r, "events");
		assert_int_equal(n, page < 2 ? 12 : 6);
		ev = json_array_get(json_object_get(r.json, "events"), 0);
		{
			char want[32];

			snprintf(want, sizeof(want), "evt-%02d", 29 - seen);
			assert_memory_equal(json_string_value(json_object_get(ev, "message")), want,
			                    6);
		}
		seen += (int)n;
		if (page < 2)
			before = json_integer_value(json_object_get(r.json, "next"));
		else
			assert_true(json_is_null(json_object_get(r.json, "next")));
		resp_free(&r);
	}

	/* Filters. */
	static const struct {
		const char *query;
		size_t n;
	} cases[] = {
	    {"level=error", 3},                  /* 0, 10, 20 */
	    {"level=warn", 18},                  /* 15 odd + 0, 10, 20 */
	    {"level=info", 30},                  {"level=debug", 30},
	    {"source=ftest", 15},                {"job=ejob", 8}, /* 0, 4, ..., 28 */
	    {"q=disk%20full", 10},               {"q=DISK", 10},  /* case-insensitive */
	    {"source=engine&level=error", 0},    {"job=ejob&q=disk", 3}, /* 0, 12, 24 */
	    {"to=2030-01-01T00:00:10Z", 10},     {"from=2030-01-01T00:00:25Z", 5},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char path[256];

		snprintf(path, sizeof(path), "/api/v1/events?limit=1000&%s%s", cases[i].query,
		         strstr(cases[i].query, "from=") ? "" : "&from=2030-01-01T00:00:00Z");
		assert_int_equal(req(h, "GET", path, h->viewer, NULL, NULL, &r), 200);
		if (count_of(&r, "events") != cases[i].n)
			fail_msg("%s: %zu events, expected %zu", cases[i].query,
			         count_of(&r, "events"), cases[i].n);
		resp_free(&r);
	}

	/* Bad parameters are 400s naming the parameter. */
	static const char *const bad[][2] = {
	    {"/api/v1/events?level=loud", "level"},
	    {"/api/v1/events?limit=0", "limit"},
	    {"/api/v1/events?limit=1001", "limit"},
	    {"/api/v1/events?before=-1", "before"},
	    {"/api/v1/events?before=x", "before"},
	    {"/api/v1/events?from=yesterday", "from"},
	    {"/api/v1/events?to=2030-13-01T00:00:00Z", "to"},
	    {"/api/v1/events?from=2030-01-02T00:00:00Z&to=2030-01-01T00:00:00Z", "to"},
	    {"/api/v1/events?job=a%20b", "job"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(req(h, "GET", bad[i][0], h->viewer, NULL, NULL, &r), 400);
		assert_string_equal(err_code(&r), "bad_request");
		assert_string_equal(err_field(&r), bad[i][1]);
		resp_free(&r);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(contacts_need_auth_and_the_operator_role_to_write),
	    cmocka_unit_test(contact_create_get_replace_delete),
	    cmocka_unit_test(contact_validation_names_the_field),
	    cmocka_unit_test(contact_list_pages_searches_and_filters),
	    cmocka_unit_test(a_job_naming_an_unknown_contact_is_accepted_with_a_warning),
	    cmocka_unit_test(events_filter_and_page_newest_first),
	};
	int rc;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = cmocka_run_group_tests(tests, harness_setup, harness_teardown);
	curl_global_cleanup();
	return rc;
}
