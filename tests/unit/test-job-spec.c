/* SPDX-License-Identifier: MIT */
/*
 * Tests of the job spec codec (src/core/job.c): every field parsed into its
 * struct member, every default, every limit at and just past its bound, the
 * JSON text kept for read-back, pausing, and reference counting.
 *
 * Most rejected specs live in tests/data/jobs/invalid/ with their expected
 * code, field and message in expected.txt; accepted ones in
 * tests/data/jobs/valid/ (see the README there). Specs too big to keep as
 * files (limits) are built here. Inline JSON is written with single quotes,
 * which q() turns into double quotes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "base/buf.h"
#include "base/error.h"
#include "core/job.h"
#include "cron/tz.h"

#include <dirent.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef CLOVER_TEST_DATA_DIR
#define CLOVER_TEST_DATA_DIR "tests/data"
#endif

/* A copy of `s` with every ' turned into " (caller frees). */
static char *q(const char *s)
{
	char *d = strdup(s);

	assert_non_null(d);
	for (char *p = d; *p; p++) {
		if (*p == '\'')
			*p = '"';
	}
	return d;
}

static struct job_spec *parse_text(const char *json, size_t len)
{
	struct error_info e;
	struct job_spec *s = NULL;
	int rc = job_spec_parse(json, len, &s, &e);

	if (rc != 0)
		fail_msg("rejected (%s) %s\nspec: %.300s", clover_errname(rc), e.message, json);
	assert_non_null(s);
	assert_int_equal(e.code, 0);
	return s;
}

/* Parses single-quoted JSON that must be accepted. */
static struct job_spec *ok(const char *sq)
{
	char *json = q(sq);
	struct job_spec *s = parse_text(json, strlen(json));

	free(json);
	return s;
}

static void check_err(const char *json, size_t len, int code, const char *field, const char *frag)
{
	struct error_info e;
	struct job_spec *s = (struct job_spec *)&e; /* must be reset to NULL */
	int rc = job_spec_parse(json, len, &s, &e);

	if (rc != code)
		fail_msg("got %s (%s), want %s\nspec: %.300s", clover_errname(rc), e.message,
		         clover_errname(code), json);
	assert_null(s);
	assert_int_equal(e.code, code);
	if (field != NULL && strcmp(e.field, field) != 0)
		fail_msg("field '%s', want '%s' (message: %s)", e.field, field, e.message);
	if (strstr(e.message, frag) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", e.message, frag);
}

/* Parses single-quoted JSON that must be rejected with `code` on `field`. */
static void bad(const char *sq, int code, const char *field, const char *frag)
{
	char *json = q(sq);

	check_err(json, strlen(json), code, field, frag);
	free(json);
}

/* A minimal valid spec with `extra` members (single-quoted) appended. */
static char *with(const char *extra)
{
	char buf[1024];

	snprintf(buf, sizeof(buf),
	         "{'name':'job.a','schedule':'@manual','run':{'shell':'true'}%s%s}",
	         extra[0] ? "," : "", extra);
	return q(buf);
}

static struct job_spec *ok_with(const char *extra)
{
	char *json = with(extra);
	struct job_spec *s = parse_text(json, strlen(json));

	free(json);
	return s;
}

static void bad_with(const char *extra, const char *field, const char *frag)
{
	char *json = with(extra);

	check_err(json, strlen(json), CLOVER_EINVAL, field, frag);
	free(json);
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct buf b;
	char chunk[4096];
	size_t n;

	if (f == NULL)
		fail_msg("cannot open %s", path);
	buf_init(&b, 16 * 1024 * 1024);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		assert_int_equal(buf_append(&b, chunk, n), 0);
	fclose(f);
	*len = b.len;
	if (b.data == NULL)
		return strdup("");
	return buf_steal(&b);
}

static const char *data_dir(void)
{
	const char *d = getenv("CLOVER_TEST_DATA");

	return d != NULL && *d ? d : CLOVER_TEST_DATA_DIR;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted names of the *.json files of `dir` (NULL-terminated; caller frees). */
static char **list_json(const char *dir, size_t *count)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **v = NULL;
	size_t n = 0;

	if (d == NULL)
		fail_msg("cannot open %s (set CLOVER_TEST_DATA)", dir);
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name);

		if (l > 5 && strcmp(de->d_name + l - 5, ".json") == 0) {
			v = realloc(v, (n + 2) * sizeof(*v));
			assert_non_null(v);
			v[n] = strdup(de->d_name);
			assert_non_null(v[n]);
			n++;
		}
	}
	closedir(d);
	if (n > 0)
		qsort(v, n, sizeof(*v), cmp_str);
	*count = n;
	return v;
}

static void free_list(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* The compact text of `json` without its top-level "status" (caller frees). */
static char *expected_text(const char *json, size_t len)
{
	json_error_t jerr;
	json_t *root = json_loadb(json, len, 0, &jerr);
	char *out;

	assert_non_null(root);
	json_object_del(root, "status");
	out = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	assert_non_null(out);
	return out;
}

/* Just-enough access to a member of spec->json for the pausing tests. */
static json_t *json_of(const struct job_spec *s)
{
	json_t *root = json_loads(s->json, 0, NULL);

	assert_non_null(root);
	return root;
}

/* ---- accepted specs -------------------------------------------------- */

static void test_minimal_spec_gets_every_default(void **state)
{
	struct job_spec *s = ok("{'name':'a','schedule':'@manual','run':{'shell':'true'}}");

	(void)state;
	assert_string_equal(s->name, "a");
	assert_null(s->description);
	assert_string_equal(s->schedule, "@manual");
	assert_non_null(s->cron);
	assert_string_equal(s->timezone, "UTC");
	assert_non_null(s->tz);
	assert_int_equal(s->run_kind, JOB_RUN_SHELL);
	assert_string_equal(s->shell, "true");
	assert_null(s->http.method);
	assert_null(s->handler);
	assert_null(s->handler_params);
	assert_null(s->env);
	assert_int_equal(s->nenv, 0);
	assert_null(s->cwd);
	assert_null(s->labels);
	assert_int_equal(s->nlabels, 0);
	assert_int_equal(s->route, JOB_ROUTE_ROUND_ROBIN);
	assert_int_equal(s->shard_count, 1);
	assert_null(s->shard_params);
	assert_int_equal(s->nshard_params, 0);
	assert_int_equal(s->shard_strategy, JOB_SHARD_AVERAGE);
	assert_int_equal(s->concurrency, JOB_CONC_FORBID);
	assert_int_equal(s->misfire, JOB_MISFIRE_FIRE_ONCE);
	assert_int_equal(s->misfire_threshold_ms, 60000);
	assert_int_equal(s->timeout_ms, 0);
	assert_int_equal(s->retry_max, 0);
	assert_int_equal(s->retry_backoff_ms, 10000);
	assert_int_equal(s->retry_max_backoff_ms, 300000);
	assert_true(s->failover);
	assert_null(s->contacts);
	assert_int_equal(s->ncontacts, 0);
	assert_null(s->on_success);
	assert_int_equal(s->non_success, 0);
	assert_false(s->paused);
	assert_int_equal(s->refs, 1);
	assert_string_equal(
	    s->json, "{\"name\":\"a\",\"schedule\":\"@manual\",\"run\":{\"shell\":\"true\"}}");
	job_spec_unref(s);
}

static const char issue_example[] =
    "{'name': 'report.daily', 'description': 'Daily sales report.',"
    " 'schedule': '0 30 2 * * ?', 'timezone': 'Asia/Shanghai',"
    " 'run': {'shell': 'build-report --out /srv/out'},"
    " 'env': {'REPORT_DIR': '/srv/out', 'LANG': 'C.UTF-8'}, 'cwd': '/srv',"
    " 'target': {'labels': {'zone': 'east', 'disk': 'ssd'}, 'route': 'least_recent'},"
    " 'shards': {'count': 3, 'params': ['a','b','c'], 'strategy': 'odevity'},"
    " 'concurrency': 'serial', 'misfire': {'policy': 'fire_all', 'threshold': '2m'},"
    " 'timeout': '10m', 'retry': {'max': 3, 'backoff': '15s', 'max_backoff': '4m'},"
    " 'failover': false, 'contacts': ['ops', 'dba'], 'on_success': ['report.publish'],"
    " 'paused': true}";

static void test_every_field_is_parsed(void **state)
{
	struct job_spec *s = ok(issue_example);

	(void)state;
	assert_string_equal(s->name, "report.daily");
	assert_string_equal(s->description, "Daily sales report.");
	assert_string_equal(s->schedule, "0 30 2 * * ?");
	assert_non_null(s->cron);
	assert_string_equal(s->timezone, "Asia/Shanghai");
	assert_non_null(s->tz);
	assert_string_equal(tz_name(s->tz), "Asia/Shanghai");
	assert_int_equal(s->run_kind, JOB_RUN_SHELL);
	assert_string_equal(s->shell, "build-report --out /srv/out");
	assert_int_equal(s->nenv, 2);
	assert_string_equal(s->env[0].key, "REPORT_DIR");
	assert_string_equal(s->env[0].val, "/srv/out");
	assert_string_equal(s->env[1].key, "LANG");
	assert_string_equal(s->env[1].val, "C.UTF-8");
	assert_string_equal(s->cwd, "/srv");
	assert_int_equal(s->nlabels, 2);
	assert_string_equal(s->labels[0].key, "zone");
	assert_string_equal(s->labels[0].val, "east");
	assert_string_equal(s->labels[1].key, "disk");
	assert_string_equal(s->labels[1].val, "ssd");
	assert_int_equal(s->route, JOB_ROUTE_LEAST_RECENT);
	assert_int_equal(s->shard_count, 3);
	assert_int_equal(s->nshard_params, 3);
	assert_string_equal(s->shard_params[0], "a");
	assert_string_equal(s->shard_params[1], "b");
	assert_string_equal(s->shard_params[2], "c");
	assert_int_equal(s->shard_strategy, JOB_SHARD_ODEVITY);
	assert_int_equal(s->concurrency, JOB_CONC_SERIAL);
	assert_int_equal(s->misfire, JOB_MISFIRE_FIRE_ALL);
	assert_int_equal(s->misfire_threshold_ms, 120000);
	assert_int_equal(s->timeout_ms, 600000);
	assert_int_equal(s->retry_max, 3);
	assert_int_equal(s->retry_backoff_ms, 15000);
	assert_int_equal(s->retry_max_backoff_ms, 240000);
	assert_false(s->failover);
	assert_int_equal(s->ncontacts, 2);
	assert_string_equal(s->contacts[0], "ops");
	assert_string_equal(s->contacts[1], "dba");
	assert_int_equal(s->non_success, 1);
	assert_string_equal(s->on_success[0], "report.publish");
	assert_true(s->paused);
	job_spec_unref(s);
}

static void test_http_run(void **state)
{
	struct job_spec *s;

	(void)state;
	s = ok(
	    "{'name':'ping','schedule':'@every 30s','run':{'http':{'url':'https://x.example/h'}}}");
	assert_int_equal(s->run_kind, JOB_RUN_HTTP);
	assert_string_equal(s->http.method, "GET");
	assert_string_equal(s->http.url, "https://x.example/h");
	assert_null(s->http.headers);
	assert_int_equal(s->http.nheaders, 0);
	assert_null(s->http.body);
	assert_null(s->http.expect);
	assert_int_equal(s->http.nexpect, 0);
	assert_null(s->shell);
	job_spec_unref(s);

	s = ok("{'name':'ping','schedule':'@every 30s','run':{'http':{'method':'PATCH',"
	       "'url':'HTTP://x.example:8080/a?b=c','headers':{'Content-Type':'text/plain',"
	       "'X-Weird_!#$%&*+.^`|~':'v: w'},'body':'hi','expect':[100,204,599]}}}");
	assert_string_equal(s->http.method, "PATCH");
	assert_string_equal(s->http.url, "HTTP://x.example:8080/a?b=c");
	assert_int_equal(s->http.nheaders, 2);
	assert_string_equal(s->http.headers[0].key, "Content-Type");
	assert_string_equal(s->http.headers[0].val, "text/plain");
	assert_string_equal(s->http.headers[1].key, "X-Weird_!#$%&*+.^`|~");
	assert_string_equal(s->http.headers[1].val, "v: w");
	assert_string_equal(s->http.body, "hi");
	assert_int_equal(s->http.nexpect, 3);
	assert_int_equal(s->http.expect[0], 100);
	assert_int_equal(s->http.expect[1], 204);
	assert_int_equal(s->http.expect[2], 599);
	job_spec_unref(s);

	/* every method */
	static const char *const methods[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"};
	for (size_t i = 0; i < 6; i++) {
		char extra[256];

		snprintf(extra, sizeof(extra),
		         "{'name':'m','schedule':'@manual','run':{'http':{'method':'%s','url':"
		         "'http://h'}}}",
		         methods[i]);
		s = ok(extra);
		assert_string_equal(s->http.method, methods[i]);
		job_spec_unref(s);
	}
}

static void test_handler_run(void **state)
{
	struct job_spec *s;

	(void)state;
	s = ok("{'name':'h','schedule':'@manual','run':{'handler':'billing.close'}}");
	assert_int_equal(s->run_kind, JOB_RUN_HANDLER);
	assert_string_equal(s->handler, "billing.close");
	assert_null(s->handler_params);
	job_spec_unref(s);

	s = ok(
	    "{'name':'h','schedule':'@manual','run':{'handler':'h-1_x','params':'{\\'a\\':1}'}}");
	assert_string_equal(s->handler, "h-1_x");
	assert_string_equal(s->handler_params, "{\"a\":1}");
	job_spec_unref(s);
}

static void test_every_enum_value(void **state)
{
	static const char *const routes[] = {"round_robin",  "random",          "first",
	                                     "last",         "consistent_hash", "least_busy",
	                                     "least_recent", "broadcast"};
	static const char *const strategies[] = {"average", "odevity", "rotate"};
	static const char *const conc[] = {"forbid", "allow", "replace", "serial"};
	static const char *const misfire[] = {"fire_once", "skip", "fire_all"};
	char extra[128];
	struct job_spec *s;

	(void)state;
	for (int i = 0; i < 8; i++) {
		snprintf(extra, sizeof(extra), "'target':{'route':'%s'}", routes[i]);
		s = ok_with(extra);
		assert_int_equal(s->route, i);
		assert_string_equal(job_route_name(s->route), routes[i]);
		job_spec_unref(s);
	}
	for (int i = 0; i < 3; i++) {
		snprintf(extra, sizeof(extra), "'shards':{'strategy':'%s'}", strategies[i]);
		s = ok_with(extra);
		assert_int_equal(s->shard_strategy, i);
		assert_string_equal(job_shard_strategy_name(s->shard_strategy), strategies[i]);
		job_spec_unref(s);
	}
	for (int i = 0; i < 4; i++) {
		snprintf(extra, sizeof(extra), "'concurrency':'%s'", conc[i]);
		s = ok_with(extra);
		assert_int_equal(s->concurrency, i);
		assert_string_equal(job_concurrency_name(s->concurrency), conc[i]);
		job_spec_unref(s);
	}
	for (int i = 0; i < 3; i++) {
		snprintf(extra, sizeof(extra), "'misfire':{'policy':'%s'}", misfire[i]);
		s = ok_with(extra);
		assert_int_equal(s->misfire, i);
		assert_string_equal(job_misfire_name(s->misfire), misfire[i]);
		assert_int_equal(s->misfire_threshold_ms, 60000);
		job_spec_unref(s);
	}
	assert_string_equal(job_route_name((enum job_route)99), "unknown");
	assert_string_equal(job_shard_strategy_name((enum job_shard_strategy)(-1)), "unknown");
	assert_string_equal(job_concurrency_name((enum job_concurrency)4), "unknown");
	assert_string_equal(job_misfire_name((enum job_misfire)3), "unknown");
	assert_string_equal(job_run_kind_name(JOB_RUN_SHELL), "shell");
	assert_string_equal(job_run_kind_name(JOB_RUN_HTTP), "http");
	assert_string_equal(job_run_kind_name(JOB_RUN_HANDLER), "handler");
	assert_string_equal(job_run_kind_name((enum job_run_kind)3), "unknown");
}

static void test_schedules_of_every_kind(void **state)
{
	static const char *const schedules[] = {
	    "0 30 2 * * ?",
	    "*/5 * * * *",
	    "@every 30s",
	    "@at 2026-12-01T00:00:00Z",
	    "@manual",
	    "@daily",
	    "0 15 10 ? * MON-FRI 2026",
	};
	char extra[160];

	(void)state;
	for (size_t i = 0; i < sizeof(schedules) / sizeof(schedules[0]); i++) {
		struct job_spec *s;

		snprintf(extra, sizeof(extra),
		         "{'name':'s','schedule':'%s','run':{'shell':'true'}}", schedules[i]);
		s = ok(extra);
		assert_string_equal(s->schedule, schedules[i]);
		assert_non_null(s->cron);
		job_spec_unref(s);
	}
}

static void test_durations(void **state)
{
	struct job_spec *s;

	(void)state;
	s = ok_with("'timeout':'0','misfire':{'threshold':'1s'},"
	            "'retry':{'backoff':'0','max_backoff':'0'}");
	assert_int_equal(s->timeout_ms, 0);
	assert_int_equal(s->misfire_threshold_ms, 1000);
	assert_int_equal(s->retry_backoff_ms, 0);
	assert_int_equal(s->retry_max_backoff_ms, 0);
	job_spec_unref(s);

	s = ok_with("'timeout':'1h30m','misfire':{'threshold':'2d'},"
	            "'retry':{'max':100,'backoff':'5m','max_backoff':'5m'}");
	assert_int_equal(s->timeout_ms, 5400000);
	assert_int_equal(s->misfire_threshold_ms, 2 * 86400000LL);
	assert_int_equal(s->retry_max, 100);
	assert_int_equal(s->retry_backoff_ms, 300000);
	assert_int_equal(s->retry_max_backoff_ms, 300000);
	job_spec_unref(s);

	s = ok_with("'retry':{'backoff':'500ms'}");
	assert_int_equal(s->retry_backoff_ms, 500);
	assert_int_equal(s->retry_max_backoff_ms, 300000);
	job_spec_unref(s);

	s = ok_with("'retry':{'max_backoff':'1h'}");
	assert_int_equal(s->retry_backoff_ms, 10000);
	assert_int_equal(s->retry_max_backoff_ms, 3600000);
	job_spec_unref(s);

	bad_with("'misfire':{'threshold':'999ms'}", "misfire.threshold",
	         "misfire.threshold: '999ms' is too short; the minimum is 1s");
	bad_with("'retry':{'backoff':'5m1ms'}", "retry.backoff",
	         "'5m1ms' is longer than retry.max_backoff '5m'");
	bad_with("'timeout':''", "timeout", "timeout: empty duration");
}

static void test_null_means_absent(void **state)
{
	struct job_spec *s;

	(void)state;
	s = ok_with("'description':null,'timezone':null,'env':null,'cwd':null,"
	            "'target':{'labels':null,'route':null},'shards':{'count':null,'params':null,"
	            "'strategy':null},'concurrency':null,'misfire':null,'timeout':null,"
	            "'retry':{'max':null,'backoff':null,'max_backoff':null},'failover':null,"
	            "'contacts':null,'on_success':null,'paused':null");
	assert_null(s->description);
	assert_string_equal(s->timezone, "UTC");
	assert_int_equal(s->shard_count, 1);
	assert_int_equal(s->retry_backoff_ms, 10000);
	assert_true(s->failover);
	assert_false(s->paused);
	job_spec_unref(s);

	s = ok("{'name':'n','schedule':'@manual','run':{'shell':null,'http':null,'handler':'h',"
	       "'params':null}}");
	assert_int_equal(s->run_kind, JOB_RUN_HANDLER);
	assert_null(s->handler_params);
	job_spec_unref(s);

	s = ok("{'name':'n','schedule':'@manual','run':{'http':{'url':'http://h','method':null,"
	       "'headers':null,'body':null,'expect':null}}}");
	assert_string_equal(s->http.method, "GET");
	assert_null(s->http.body);
	job_spec_unref(s);
}

static void test_names(void **state)
{
	char name[JOB_NAME_MAX + 2];

	(void)state;
	assert_true(job_name_valid("a"));
	assert_true(job_name_valid("Report.daily-2_x"));
	assert_true(job_name_valid("..."));
	assert_true(job_name_valid("0"));
	assert_false(job_name_valid(NULL));
	assert_false(job_name_valid(""));
	assert_false(job_name_valid("a b"));
	assert_false(job_name_valid("a/b"));
	assert_false(job_name_valid("a:b"));
	assert_false(job_name_valid("caf\xc3\xa9"));
	assert_false(job_name_valid("tab\t"));
	memset(name, 'x', JOB_NAME_MAX);
	name[JOB_NAME_MAX] = '\0';
	assert_true(job_name_valid(name));
	name[JOB_NAME_MAX] = 'x';
	name[JOB_NAME_MAX + 1] = '\0';
	assert_false(job_name_valid(name));
}

static void test_env_and_cwd(void **state)
{
	struct job_spec *s;

	(void)state;
	s = ok_with("'env':{'_':'1','a':'','Path_2':'x=y','CLOVERX':'ok','clover_low':'ok'},"
	            "'cwd':'/'");
	assert_int_equal(s->nenv, 5);
	assert_string_equal(s->env[0].key, "_");
	assert_string_equal(s->env[1].val, "");
	assert_string_equal(s->env[2].val, "x=y");
	assert_string_equal(s->env[3].key, "CLOVERX");
	assert_string_equal(s->env[4].key, "clover_low");
	assert_string_equal(s->cwd, "/");
	job_spec_unref(s);
	bad_with("'env':{'CLOVER_':'x'}", "env.CLOVER_", "reserved");
	bad_with("'env':{'A B':'x'}", "env.A B", "'A B' is not a valid environment variable name");
}

/* ---- limits ---------------------------------------------------------- */

/* Builds {"name":"job.a",...,<member>} with `member` produced by printf. */
static char *build(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *build(const char *fmt, ...)
{
	struct buf b;
	va_list ap;
	char *body;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	assert_true(n >= 0);
	body = malloc((size_t)n + 1);
	assert_non_null(body);
	va_start(ap, fmt);
	vsnprintf(body, (size_t)n + 1, fmt, ap);
	va_end(ap);
	buf_init(&b, 64 * 1024 * 1024);
	assert_int_equal(buf_printf(&b, "{\"name\":\"job.a\",\"schedule\":\"@manual\",%s}", body),
	                 0);
	free(body);
	return buf_steal(&b);
}

static char *repeat(char c, size_t n)
{
	char *s = malloc(n + 1);

	assert_non_null(s);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

static void expect_ok(char *json)
{
	job_spec_unref(parse_text(json, strlen(json)));
	free(json);
}

static void expect_bad(char *json, int code, const char *field, const char *frag)
{
	check_err(json, strlen(json), code, field, frag);
	free(json);
}

static void test_limit_total_size(void **state)
{
	const char *head = "{\"name\":\"job.a\",\"schedule\":\"@manual\",\"run\":{\"shell\":\"x\"},"
	                   "\"env\":{\"PAD\":\"";
	const char *tail = "\"}}";
	size_t pad = JOB_SPEC_MAX_BYTES - strlen(head) - strlen(tail);
	char *p = repeat('p', pad + 1);
	struct buf b;

	(void)state;
	buf_init(&b, 2 * JOB_SPEC_MAX_BYTES);
	assert_int_equal(buf_printf(&b, "%s%.*s%s", head, (int)pad, p, tail), 0);
	assert_int_equal(b.len, JOB_SPEC_MAX_BYTES);
	job_spec_unref(parse_text(b.data, b.len));
	buf_reset(&b);
	assert_int_equal(buf_printf(&b, "%s%s%s", head, p, tail), 0);
	assert_int_equal(b.len, JOB_SPEC_MAX_BYTES + 1);
	check_err(b.data, b.len, CLOVER_ETOOBIG, "",
	          "the job spec is 262145 bytes long; the limit is 262144 bytes (256 KiB)");
	buf_free(&b);
	free(p);
	/* the size is checked before the text is even looked at */
	check_err("x", JOB_SPEC_MAX_BYTES + 1, CLOVER_ETOOBIG, "", "262145 bytes");
}

static void test_limit_strings(void **state)
{
	char *s;

	(void)state;
	s = repeat('d', 4096);
	expect_ok(build("\"run\":{\"shell\":\"x\"},\"description\":\"%s\"", s));
	expect_bad(build("\"run\":{\"shell\":\"x\"},\"description\":\"%sd\"", s), CLOVER_EINVAL,
	           "description", "description: is 4097 bytes long; the limit is 4096 bytes");
	free(s);

	s = repeat('s', 64 * 1024);
	expect_ok(build("\"run\":{\"shell\":\"%s\"}", s));
	expect_bad(build("\"run\":{\"shell\":\"%ss\"}", s), CLOVER_EINVAL, "run.shell",
	           "run.shell: is 65537 bytes long; the limit is 65536 bytes");
	expect_ok(build("\"run\":{\"handler\":\"h\",\"params\":\"%s\"}", s));
	expect_bad(build("\"run\":{\"handler\":\"h\",\"params\":\"%ss\"}", s), CLOVER_EINVAL,
	           "run.params", "is 65537 bytes long");
	expect_ok(build("\"run\":{\"http\":{\"url\":\"http://h\",\"body\":\"%s\"}}", s));
	expect_bad(build("\"run\":{\"http\":{\"url\":\"http://h\",\"body\":\"%ss\"}}", s),
	           CLOVER_EINVAL, "run.http.body", "is 65537 bytes long");
	free(s);

	s = repeat('u', 8192 - strlen("http://"));
	expect_ok(build("\"run\":{\"http\":{\"url\":\"http://%s\"}}", s));
	expect_bad(build("\"run\":{\"http\":{\"url\":\"http://%su\"}}", s), CLOVER_EINVAL,
	           "run.http.url", "is 8193 bytes long; the limit is 8192 bytes");
	free(s);

	s = repeat('c', 4095);
	expect_ok(build("\"run\":{\"shell\":\"x\"},\"cwd\":\"/%s\"", s));
	expect_bad(build("\"run\":{\"shell\":\"x\"},\"cwd\":\"/%sc\"", s), CLOVER_EINVAL, "cwd",
	           "is 4097 bytes long");
	free(s);

	s = repeat('p', 4096);
	expect_ok(build("\"run\":{\"shell\":\"x\"},\"shards\":{\"params\":[\"%s\"]}", s));
	expect_bad(build("\"run\":{\"shell\":\"x\"},\"shards\":{\"params\":[\"%sp\"]}", s),
	           CLOVER_EINVAL, "shards.params[0]", "is 4097 bytes long");
	free(s);

	s = repeat('A', 256);
	expect_ok(build("\"run\":{\"shell\":\"x\"},\"env\":{\"%s\":\"v\"}", s));
	expect_bad(build("\"run\":{\"shell\":\"x\"},\"env\":{\"%sA\":\"v\"}", s), CLOVER_EINVAL,
	           NULL, "is not a valid environment variable name");
	free(s);

	s = repeat('h', 256);
	expect_ok(build("\"run\":{\"http\":{\"url\":\"http://h\",\"headers\":{\"%s\":\"v\"}}}", s));
	expect_bad(
	    build("\"run\":{\"http\":{\"url\":\"http://h\",\"headers\":{\"%sh\":\"v\"}}}", s),
	    CLOVER_EINVAL, NULL, "is not a valid HTTP header name");
	free(s);
	s = repeat('v', 8192);
	expect_ok(build("\"run\":{\"http\":{\"url\":\"http://h\",\"headers\":{\"X\":\"%s\"}}}", s));
	expect_bad(
	    build("\"run\":{\"http\":{\"url\":\"http://h\",\"headers\":{\"X\":\"%sv\"}}}", s),
	    CLOVER_EINVAL, "run.http.headers.X", "the value is 8193 bytes long");
	free(s);
}

/* e.g. {"K0":"v","K1":"v",...} with `n` entries, keys "<prefix><i>". */
static char *object_of(size_t n, const char *prefix)
{
	struct buf b;

	buf_init(&b, 1024 * 1024);
	assert_int_equal(buf_appends(&b, "{"), 0);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(buf_printf(&b, "%s\"%s%zu\":\"v\"", i ? "," : "", prefix, i), 0);
	assert_int_equal(buf_appends(&b, "}"), 0);
	return buf_steal(&b);
}

/* e.g. ["x0","x1",...] or [200,200,...] */
static char *array_of(size_t n, const char *item_fmt)
{
	struct buf b;

	buf_init(&b, 1024 * 1024);
	assert_int_equal(buf_appends(&b, "["), 0);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(buf_appends(&b, i ? "," : ""), 0);
		assert_int_equal(buf_printf(&b, item_fmt, i), 0);
	}
	assert_int_equal(buf_appends(&b, "]"), 0);
	return buf_steal(&b);
}

static void test_limit_counts(void **state)
{
	char *a, *b;

	(void)state;
	a = object_of(256, "E");
	b = object_of(257, "E");
	expect_ok(build("\"run\":{\"shell\":\"x\"},\"env\":%s", a));
	expect_bad(build("\"run\":{\"shell\":\"x\"},\"env\":%s", b), CLOVER_EINVAL, "env",
	           "env: has 257 entries; the limit is 256");
	free(a);
	free(b);

	a = object_of(64, "l");
	b = object_of(65, "l");
	expect_ok(build("\"run\":{\"shell\":\"x\"},\"target\":{\"labels\":%s}", a));
	expect_bad(build("\"run\":{\"shell\":\"x\"},\"target\":{\"labels\":%s}", b), CLOVER_EINVAL,
	           "target.labels", "has 65 entries; the limit is 64");
	expect_ok(build("\"run\":{\"http\":{\"url\":\"http://h\",\"headers\":%s}}", a));
	expect_bad(build("\"run\":{\"http\":{\"url\":\"http://h\",\"headers\":%s}}", b),
	           CLOVER_EINVAL, "run.http.headers", "has 65 entries; the limit is 64");
	free(a);
	free(b);

	a = array_of(64, "\"n%zu\"");
	b = array_of(65, "\"n%zu\"");
	expect_ok(build("\"run\":{\"shell\":\"x\"},\"contacts\":%s,\"on_success\":%s", a, a));
	expect_bad(build("\"run\":{\"shell\":\"x\"},\"contacts\":%s", b), CLOVER_EINVAL, "contacts",
	           "contacts: has 65 entries; the limit is 64");
	expect_bad(build("\"run\":{\"shell\":\"x\"},\"on_success\":%s", b), CLOVER_EINVAL,
	           "on_success", "has 65 entries");
	free(a);
	free(b);

	a = array_of(64, "2%02zu");
	b = array_of(65, "2%02zu");
	expect_ok(build("\"run\":{\"http\":{\"url\":\"http://h\",\"expect\":%s}}", a));
	expect_bad(build("\"run\":{\"http\":{\"url\":\"http://h\",\"expect\":%s}}", b),
	           CLOVER_EINVAL, "run.http.expect", "has 65 entries; the limit is 64");
	free(a);
	free(b);
}

static void test_limit_shards(void **state)
{
	char *a = array_of(1024, "\"p%zu\"");
	char *b = array_of(1025, "\"p%zu\"");
	char *json;
	struct job_spec *s;

	(void)state;
	json = build("\"run\":{\"shell\":\"x\"},\"shards\":{\"count\":1024,\"params\":%s}", a);
	s = parse_text(json, strlen(json));
	assert_int_equal(s->shard_count, 1024);
	assert_int_equal(s->nshard_params, 1024);
	assert_string_equal(s->shard_params[0], "p0");
	assert_string_equal(s->shard_params[1023], "p1023");
	job_spec_unref(s);
	free(json);
	expect_bad(build("\"run\":{\"shell\":\"x\"},\"shards\":{\"count\":1024,\"params\":%s}", b),
	           CLOVER_EINVAL, "shards.params", "has 1025 entries; the limit is 1024");
	expect_ok(build("\"run\":{\"shell\":\"x\"},\"shards\":{\"count\":1}"));
	free(a);
	free(b);
}

static void test_limit_labels(void **state)
{
	char *k = repeat('k', 256), *v = repeat('v', 256);

	(void)state;
	expect_ok(build("\"run\":{\"shell\":\"x\"},\"target\":{\"labels\":{\"%s\":\"%s\"}}", k, v));
	expect_bad(build("\"run\":{\"shell\":\"x\"},\"target\":{\"labels\":{\"%sk\":\"v\"}}", k),
	           CLOVER_EINVAL, NULL, "is 257 bytes long; the limit is 256 bytes");
	expect_bad(build("\"run\":{\"shell\":\"x\"},\"target\":{\"labels\":{\"k\":\"%sv\"}}", v),
	           CLOVER_EINVAL, "target.labels.k",
	           "the label value is 257 bytes long; the limit is 256 bytes");
	free(k);
	free(v);
}

static void test_bounds_of_numbers(void **state)
{
	struct job_spec *s;

	(void)state;
	s = ok_with("'retry':{'max':0},'shards':{'count':1}");
	assert_int_equal(s->retry_max, 0);
	job_spec_unref(s);
	s = ok_with("'retry':{'max':100},'shards':{'count':1024}");
	assert_int_equal(s->retry_max, 100);
	assert_int_equal(s->shard_count, 1024);
	assert_null(s->shard_params);
	job_spec_unref(s);
	bad_with("'retry':{'max':1.0}", "retry.max", "retry.max: must be an integer");
	bad_with("'retry':{'max':true}", "retry.max", "must be an integer, not a boolean");
	bad_with("'shards':{'count':-9223372036854775808}", "shards.count",
	         "-9223372036854775808 is out of range 1-1024");
}

/* ---- messages -------------------------------------------------------- */

static void test_messages_quote_values_safely(void **state)
{
	char *name = repeat('x', 300);
	struct error_info e;
	struct job_spec *s;
	char *json;

	(void)state;
	/* long values are shortened, control characters escaped */
	json = build("\"run\":{\"shell\":\"x\"},\"cwd\":\"rel%s\"", name);
	assert_int_not_equal(job_spec_parse(json, strlen(json), &s, &e), 0);
	assert_non_null(strstr(e.message, "'relxxxx"));
	assert_non_null(strstr(e.message, "...' is not an absolute path"));
	assert_true(strlen(e.message) < 200);
	free(json);
	bad_with("'cwd':'a\\nb\\u0001'", "cwd", "'a\\nb\\x01' is not an absolute path");
	/* UTF-8 is not cut in the middle of a character */
	json = build("\"run\":{\"shell\":\"x\"},\"cwd\":\"%.59s\xc3\xa9\xc3\xa9\"", name);
	assert_int_not_equal(job_spec_parse(json, strlen(json), &s, &e), 0);
	assert_non_null(strstr(e.message, "x...'"));
	free(json);
	/* escapes grow the text: it is still cut, and marked as cut */
	{
		struct buf b;

		buf_init(&b, 4096);
		assert_int_equal(buf_appends(&b, "'cwd':'"), 0);
		for (int i = 0; i < 50; i++)
			assert_int_equal(buf_appends(&b, "\\u0001"), 0);
		assert_int_equal(buf_appends(&b, "'"), 0);
		json = with(b.data);
		buf_free(&b);
		assert_int_not_equal(job_spec_parse(json, strlen(json), &s, &e), 0);
		assert_non_null(strstr(e.message, "cwd: '\\x01\\x01"));
		assert_non_null(strstr(e.message, "\\x01...' is not an absolute path"));
		free(json);
	}
	/* the unknown-field message lists what is allowed */
	bad_with("'retry':{'maxx':1}", "retry.maxx",
	         "retry.maxx: unknown field (the fields here are: max, backoff, max_backoff)");
	bad_with("'colour':'red'", "colour", "colour: unknown field (the fields here are: name, ");
	free(name);
}

static void test_malformed_json(void **state)
{
	(void)state;
	bad("{'name': 'a',\n 'schedule': }", CLOVER_EPARSE, "", "the job spec is not valid JSON: ");
	bad("{'name': 'a',\n 'schedule': }", CLOVER_EPARSE, "", "(line 2, column 14)");
	check_err("", 0, CLOVER_EPARSE, "", "line 1, column 0");
	/* the length is honoured: the text need not be NUL-terminated */
	check_err("{\"name\":\"a\"}garbage", 12, CLOVER_EINVAL, "schedule", "is required");
	check_err("{}", 2, CLOVER_EINVAL, "name", "name: is required");
	bad("123", CLOVER_EPARSE, "", "not valid JSON");
	bad("null", CLOVER_EPARSE, "", "not valid JSON");
	bad("[{}]", CLOVER_EINVAL, "", "a job spec must be a JSON object, not an array");
}

static void test_bad_arguments(void **state)
{
	static const char good[] =
	    "{\"name\":\"a\",\"schedule\":\"@manual\",\"run\":{\"shell\":\"x\"}}";
	struct error_info e;
	struct job_spec *s = (struct job_spec *)&e;

	(void)state;
	assert_int_equal(job_spec_parse(NULL, 3, &s, &e), CLOVER_EINVAL);
	assert_null(s);
	assert_int_equal(job_spec_parse("{}", 2, NULL, &e), CLOVER_EINVAL);
	/* `e` may be NULL */
	assert_int_equal(job_spec_parse("{}", 2, &s, NULL), CLOVER_EINVAL);
	assert_int_equal(job_spec_parse("{", 1, &s, NULL), CLOVER_EPARSE);
	assert_int_equal(job_spec_parse(good, strlen(good), &s, NULL), 0);
	job_spec_unref(s);
	/* a previous error in `e` is cleared by success */
	error_set(&e, CLOVER_EIO, "x", "old");
	assert_int_equal(job_spec_parse(good, strlen(good), &s, &e), 0);
	assert_int_equal(e.code, 0);
	assert_string_equal(e.field, "");
	assert_string_equal(e.message, "");
	job_spec_unref(s);
}

/* ---- the JSON text ------------------------------------------------- */

static void test_json_text_is_kept(void **state)
{
	const char *in = "{ \"paused\" : false, \"run\": {\"shell\": \"a\\/b \\u00e9\"},\n"
	                 "  \"status\": {\"next\": 1}, \"name\": \"z\", \"schedule\": \"@manual\","
	                 " \"retry\": {\"max_backoff\": \"1h\", \"max\": 2} }";
	struct job_spec *s = parse_text(in, strlen(in)), *again;

	(void)state;
	/* compact, in the order written, without status, defaults not filled in */
	assert_string_equal(s->json, "{\"paused\":false,\"run\":{\"shell\":\"a/b \xc3\xa9\"},"
	                             "\"name\":\"z\",\"schedule\":\"@manual\",\"retry\":"
	                             "{\"max_backoff\":\"1h\",\"max\":2}}");
	again = parse_text(s->json, strlen(s->json));
	assert_string_equal(again->json, s->json);
	assert_int_equal(again->retry_max, 2);
	job_spec_unref(again);
	job_spec_unref(s);

	/* a status of any type is ignored */
	s = ok_with("'status':'whatever'");
	assert_null(strstr(s->json, "status"));
	job_spec_unref(s);
	s = ok_with("'status':null");
	assert_null(strstr(s->json, "status"));
	job_spec_unref(s);
}

static void test_valid_data_files(void **state)
{
	char dir[1024];
	size_t n;
	char **files;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/jobs/valid", data_dir());
	files = list_json(dir, &n);
	assert_true(n >= 10);
	for (size_t i = 0; i < n; i++) {
		char path[1200];
		size_t len;
		char *text, *want;
		struct job_spec *s, *again;
		struct error_info e;

		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		text = read_file(path, &len);
		s = NULL;
		if (job_spec_parse(text, len, &s, &e) != 0)
			fail_msg("%s: rejected: %s", files[i], e.message);
		want = expected_text(text, len);
		if (strcmp(s->json, want) != 0)
			fail_msg("%s: json text\n  %s\nwant\n  %s", files[i], s->json, want);
		again = parse_text(s->json, strlen(s->json));
		assert_string_equal(again->json, s->json);
		assert_string_equal(again->name, s->name);
		assert_int_equal(again->run_kind, s->run_kind);
		job_spec_unref(again);
		job_spec_unref(s);
		free(want);
		free(text);
	}
	free_list(files, n);
}

/* ---- the invalid corpus ---------------------------------------------- */

static char *trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n' || end[-1] == '\r'))
		*--end = '\0';
	return s;
}

static int code_by_name(const char *name)
{
	static const int codes[] = {CLOVER_EINVAL, CLOVER_EPARSE, CLOVER_ETOOBIG, CLOVER_ENOMEM};

	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		if (strcmp(clover_errname(codes[i]), name) == 0)
			return codes[i];
	}
	fail_msg("unknown code %s in expected.txt", name);
	return 0;
}

static void test_invalid_data_files(void **state)
{
	char dir[1024], path[1200], line[2048];
	size_t n, seen = 0;
	char **files;
	bool *listed;
	FILE *f;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/jobs/invalid", data_dir());
	files = list_json(dir, &n);
	assert_true(n >= 50);
	listed = calloc(n, sizeof(*listed));
	assert_non_null(listed);
	snprintf(path, sizeof(path), "%s/expected.txt", dir);
	f = fopen(path, "r");
	if (f == NULL)
		fail_msg("cannot open %s", path);
	while (fgets(line, sizeof(line), f) != NULL) {
		char *cols[4], *p = trim(line), *text, **hit;
		size_t len;
		int k = 0;

		if (*p == '\0' || *p == '#')
			continue;
		for (char *c = p; k < 4; k++) {
			char *bar = k < 3 ? strchr(c, '|') : NULL;

			if (k < 3 && bar == NULL)
				fail_msg("expected.txt: need 4 columns: %s", p);
			if (bar != NULL)
				*bar = '\0';
			cols[k] = trim(c);
			c = bar != NULL ? bar + 1 : c + strlen(c);
		}
		hit = bsearch(&cols[0], files, n, sizeof(*files), cmp_str);
		if (hit == NULL)
			fail_msg("expected.txt lists %s, which does not exist", cols[0]);
		if (listed[hit - files])
			fail_msg("expected.txt lists %s twice", cols[0]);
		listed[hit - files] = true;
		snprintf(path, sizeof(path), "%s/%s", dir, cols[0]);
		text = read_file(path, &len);
		print_message("  %s\n", cols[0]);
		check_err(text, len, code_by_name(cols[1]), cols[2], cols[3]);
		free(text);
		seen++;
	}
	fclose(f);
	for (size_t i = 0; i < n; i++) {
		if (!listed[i])
			fail_msg("%s has no line in expected.txt", files[i]);
	}
	assert_int_equal(seen, n);
	free(listed);
	free_list(files, n);
}

/* ---- pausing and references -------------------------------------------- */

static void test_paused_toggling(void **state)
{
	struct job_spec *s, *p, *u, *uu;
	json_t *root;

	(void)state;
	/* absent -> true: the member is added; the original is untouched */
	s = ok_with("'timeout':'5s'");
	p = job_spec_with_paused(s, true);
	assert_non_null(p);
	assert_ptr_not_equal(p, s);
	assert_true(p->paused);
	assert_false(s->paused);
	assert_null(strstr(s->json, "paused"));
	assert_string_equal(p->json, "{\"name\":\"job.a\",\"schedule\":\"@manual\",\"run\":"
	                             "{\"shell\":\"true\"},\"timeout\":\"5s\",\"paused\":true}");
	assert_int_equal(p->timeout_ms, 5000);
	assert_int_equal(p->refs, 1);
	assert_int_equal(s->refs, 1);

	/* true -> false: the member existed, so it becomes false in place */
	u = job_spec_with_paused(p, false);
	assert_false(u->paused);
	assert_string_equal(u->json, "{\"name\":\"job.a\",\"schedule\":\"@manual\",\"run\":"
	                             "{\"shell\":\"true\"},\"timeout\":\"5s\",\"paused\":false}");

	/* absent -> false: stays absent */
	uu = job_spec_with_paused(s, false);
	assert_false(uu->paused);
	assert_string_equal(uu->json, s->json);
	job_spec_unref(uu);

	/* false -> true keeps the member where it was */
	uu = job_spec_with_paused(u, true);
	root = json_of(uu);
	assert_true(json_is_true(json_object_get(root, "paused")));
	assert_string_equal(uu->json, p->json);
	json_decref(root);
	job_spec_unref(uu);

	/* a paused member in the middle stays in the middle */
	job_spec_unref(s);
	s = ok("{'name':'m','paused':true,'schedule':'@manual','run':{'shell':'x'}}");
	uu = job_spec_with_paused(s, false);
	assert_string_equal(uu->json, "{\"name\":\"m\",\"paused\":false,\"schedule\":\"@manual\","
	                              "\"run\":{\"shell\":\"x\"}}");
	job_spec_unref(uu);

	/* the copy is complete: every field survives */
	job_spec_unref(s);
	s = ok(issue_example);
	uu = job_spec_with_paused(s, false);
	assert_false(uu->paused);
	assert_string_equal(uu->name, "report.daily");
	assert_string_equal(uu->timezone, "Asia/Shanghai");
	assert_ptr_equal(uu->tz, s->tz);
	assert_non_null(uu->cron);
	assert_ptr_not_equal(uu->cron, s->cron);
	assert_int_equal(uu->shard_count, 3);
	assert_string_equal(uu->shard_params[2], "c");
	assert_string_equal(uu->on_success[0], "report.publish");
	assert_int_equal(uu->retry_max_backoff_ms, 240000);
	assert_false(uu->failover);
	job_spec_unref(uu);

	assert_null(job_spec_with_paused(NULL, true));
	job_spec_unref(s);
	job_spec_unref(p);
	job_spec_unref(u);
}

static void test_paused_near_the_size_limit(void **state)
{
	/* a spec at the size limit can still be paused, though its text grows */
	const char *head = "{\"name\":\"job.a\",\"schedule\":\"@manual\",\"run\":{\"shell\":\"x\"},"
	                   "\"env\":{\"PAD\":\"";
	const char *tail = "\"}}";
	size_t pad = JOB_SPEC_MAX_BYTES - strlen(head) - strlen(tail);
	char *p = repeat('p', pad);
	struct job_spec *s, *ps;
	struct buf b;

	(void)state;
	buf_init(&b, 2 * JOB_SPEC_MAX_BYTES);
	assert_int_equal(buf_printf(&b, "%s%s%s", head, p, tail), 0);
	assert_int_equal(b.len, JOB_SPEC_MAX_BYTES);
	s = parse_text(b.data, b.len);
	ps = job_spec_with_paused(s, true);
	assert_non_null(ps);
	assert_true(ps->paused);
	assert_true(strlen(ps->json) > JOB_SPEC_MAX_BYTES);
	job_spec_unref(ps);
	job_spec_unref(s);
	buf_free(&b);
	free(p);
}

static void test_refcount(void **state)
{
	struct job_spec *s = ok(issue_example);

	(void)state;
	assert_int_equal(s->refs, 1);
	assert_ptr_equal(job_spec_ref(s), s);
	assert_ptr_equal(job_spec_ref(s), s);
	assert_int_equal(s->refs, 3);
	job_spec_unref(s);
	job_spec_unref(s);
	assert_int_equal(s->refs, 1);
	assert_string_equal(s->name, "report.daily");
	job_spec_unref(s); /* freed: ASan/LSan would flag a leak or a double free */
	assert_null(job_spec_ref(NULL));
	job_spec_unref(NULL);
}

#define RACE_THREADS 4
#define RACE_ROUNDS  20000

static void *race(void *arg)
{
	struct job_spec *s = arg;

	for (int i = 0; i < RACE_ROUNDS; i++) {
		job_spec_ref(s);
		job_spec_unref(s);
	}
	job_spec_unref(s);
	return NULL;
}

static void test_refcount_across_threads(void **state)
{
	struct job_spec *s = ok(issue_example);
	pthread_t t[RACE_THREADS];

	(void)state;
	for (int i = 0; i < RACE_THREADS; i++) {
		job_spec_ref(s);
		assert_int_equal(pthread_create(&t[i], NULL, race, s), 0);
	}
	for (int i = 0; i < RACE_THREADS; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	assert_int_equal(s->refs, 1);
	job_spec_unref(s);
}

/* ---- allocation failures ------------------------------------------------
 *
 * The test is linked with --wrap for malloc, calloc, realloc and strdup (see
 * tests/unit/core.cmake), and jansson is told to allocate through the same
 * wrapper, so the n-th allocation made while parsing can be made to fail, as
 * curl's torture tests do. Every outcome must be a clean CLOVER_ENOMEM (or
 * success, once n passes the number of allocations) and, under ASan, no leak.
 */
void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);

static long alloc_countdown = -1; /* allocations before the failing one; -1: none fails */
static bool alloc_failed;

static bool alloc_should_fail(void)
{
	if (alloc_countdown < 0)
		return false;
	if (alloc_countdown-- == 0) {
		alloc_failed = true;
		return true;
	}
	return false;
}

void *__wrap_malloc(size_t n)
{
	return alloc_should_fail() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size)
{
	return alloc_should_fail() ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t n)
{
	return alloc_should_fail() ? NULL : __real_realloc(p, n);
}

char *__wrap_strdup(const char *s)
{
	return alloc_should_fail() ? NULL : __real_strdup(s);
}

/* jansson's allocator; it notes whether the failing allocation was jansson's. */
static bool alloc_failed_in_jansson;

static void *jansson_malloc(size_t n)
{
	bool before = alloc_failed;
	void *p = __wrap_malloc(n);

	if (!before && alloc_failed)
		alloc_failed_in_jansson = true;
	return p;
}

static void test_every_allocation_failure_is_clean(void **state)
{
	static const char *const specs[] = {
	    issue_example,
	    "{'name':'h','schedule':'*/5 * * * *','run':{'http':{'method':'POST','url':"
	    "'http://h/x','headers':{'A':'1','B':'2'},'body':'b','expect':[200,201]}},"
	    "'status':{'x':1}}",
	    "{'name':'h','schedule':'@every 1m','run':{'handler':'h','params':'p'}}",
	};
	long failures = 0;

	(void)state;
	json_set_alloc_funcs(jansson_malloc, free);
	for (size_t k = 0; k < sizeof(specs) / sizeof(specs[0]); k++) {
		char *json = q(specs[k]);
		struct job_spec *warm = parse_text(json, strlen(json)); /* loads the zone cache */

		for (long n = 0;; n++) {
			struct error_info e;
			struct job_spec *s = (struct job_spec *)&e;
			int rc;

			alloc_failed = alloc_failed_in_jansson = false;
			alloc_countdown = n;
			rc = job_spec_parse(json, strlen(json), &s, &e);
			alloc_countdown = -1;
			if (rc == 0) {
				/* a failure someone could work around, or none at all */
				assert_non_null(s);
				job_spec_unref(s);
				if (!alloc_failed)
					break;
				continue;
			}
			assert_true(alloc_failed);
			failures++;
			/* jansson's parser reports some of its allocation failures as
			 * syntax errors; nothing above it can tell them apart */
			if (rc == CLOVER_EPARSE && alloc_failed_in_jansson)
				rc = CLOVER_ENOMEM;
			if (rc != CLOVER_ENOMEM)
				fail_msg("allocation %ld failed: got %s (%s), want ENOMEM", n,
				         clover_errname(rc), e.message);
			assert_null(s);
		}
		for (long n = 0;; n++) {
			struct job_spec *p;

			alloc_failed = false;
			alloc_countdown = n;
			p = job_spec_with_paused(warm, true);
			alloc_countdown = -1;
			if (p != NULL) {
				assert_true(p->paused);
				job_spec_unref(p);
				if (!alloc_failed)
					break;
				continue;
			}
			assert_true(alloc_failed);
			failures++;
		}
		job_spec_unref(warm);
		free(json);
	}
	json_set_alloc_funcs(malloc, free);
	assert_true(failures > 50);
}

static int teardown_all(void **state)
{
	(void)state;
	tz_cleanup();
	return 0;
}

/* Whatever the input looks like, the kept text is what json_dumps(JSON_COMPACT) gives. */
static void kept_text_is_always_the_compact_form(void **state)
{
	static const char *const in[][2] = {
		{"{\"name\":\"a\",\"schedule\":\"@manual\",\"paused\":false,\"run\":{\"shell\":\"true\"}}",
		 "{\"name\":\"a\",\"schedule\":\"@manual\",\"paused\":false,\"run\":{\"shell\":\"true\"}}"},
		{"{\"name\": \"a\", \"schedule\": \"@manual\", \"run\": {\"shell\": \"x y\"}}",
		 "{\"name\":\"a\",\"schedule\":\"@manual\",\"run\":{\"shell\":\"x y\"}}"},
		{"{\"name\":\"a\",\"schedule\":\"@manual\",\"run\":{\"shell\":\"\\u00e9\\/\"}}",
		 "{\"name\":\"a\",\"schedule\":\"@manual\",\"run\":{\"shell\":\"\xc3\xa9/\"}}"},
		{"{\"name\":\"a\",\"schedule\":\"@manual\",\"retry\":{\"max\":-0},\"run\":{\"shell\":\"e\"}}",
		 "{\"name\":\"a\",\"schedule\":\"@manual\",\"retry\":{\"max\":0},\"run\":{\"shell\":\"e\"}}"},
		{"{\"status\":{},\"name\":\"a\",\"schedule\":\"@manual\",\"run\":{\"shell\":\"t\"}}",
		 "{\"name\":\"a\",\"schedule\":\"@manual\",\"run\":{\"shell\":\"t\"}}"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		struct job_spec *s = parse_text(in[i][0], strlen(in[i][0]));

		assert_non_null(s);
		assert_string_equal(s->json, in[i][1]);
		job_spec_unref(s);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(kept_text_is_always_the_compact_form),
	    cmocka_unit_test(test_minimal_spec_gets_every_default),
	    cmocka_unit_test(test_every_field_is_parsed),
	    cmocka_unit_test(test_http_run),
	    cmocka_unit_test(test_handler_run),
	    cmocka_unit_test(test_every_enum_value),
	    cmocka_unit_test(test_schedules_of_every_kind),
	    cmocka_unit_test(test_durations),
	    cmocka_unit_test(test_null_means_absent),
	    cmocka_unit_test(test_names),
	    cmocka_unit_test(test_env_and_cwd),
	    cmocka_unit_test(test_limit_total_size),
	    cmocka_unit_test(test_limit_strings),
	    cmocka_unit_test(test_limit_counts),
	    cmocka_unit_test(test_limit_shards),
	    cmocka_unit_test(test_limit_labels),
	    cmocka_unit_test(test_bounds_of_numbers),
	    cmocka_unit_test(test_messages_quote_values_safely),
	    cmocka_unit_test(test_malformed_json),
	    cmocka_unit_test(test_bad_arguments),
	    cmocka_unit_test(test_json_text_is_kept),
	    cmocka_unit_test(test_valid_data_files),
	    cmocka_unit_test(test_invalid_data_files),
	    cmocka_unit_test(test_paused_toggling),
	    cmocka_unit_test(test_paused_near_the_size_limit),
	    cmocka_unit_test(test_refcount),
	    cmocka_unit_test(test_refcount_across_threads),
	    cmocka_unit_test(test_every_allocation_failure_is_clean),
	};

	return cmocka_run_group_tests(tests, NULL, teardown_all);
}
